"""The commands that read configs and simulate nothing: `validate` (every problem at once),
`diff` (two resolved configs by YAML path) and `schema` (the JSON Schema of a scenario file)."""
from __future__ import annotations

import json
import sys

from ..errors import ConfigError


def inspect(args) -> int:
    """`validate`, `diff` and `schema`: read configs, simulate nothing, write nothing."""
    try:
        if args.command == "schema":
            from ..config.schema import Scenario
            print(json.dumps(Scenario.model_json_schema(), indent=2))
            return 0
        if args.command == "diff":
            return _diff(args)
        return _validate(args)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _validate(args) -> int:
    from ..config import uncertainty
    from ..config.loading import scenario_problems
    from ..config.variants import setup
    from ..experiment.runner import scenarios_of
    plan = setup(args.config, baseline=args.baseline)   # YAML, includes, uncertain inputs, the sweep
    problems = []
    for v in plan.variants:
        raw = uncertainty.sample(v.raw, v.params, plan.seed, 0)[0] if v.params else v.raw
        found = scenario_problems(raw, v.where)
        if not found:
            try:
                scenarios_of(v, plan.seed, plan.replicas)   # every replica's draws, and the engine's door
            except ConfigError as exc:
                found = [str(exc)]
        problems += found
    for problem in problems[:50]:
        print(f"error: {problem}", file=sys.stderr)
    if problems:
        return 2
    print(f"ok: {', '.join(v.where for v in plan.variants)}")
    return 0


def _resolved(path: str) -> dict:
    from ..config.variants import setup
    from ..experiment.runner import scenarios_of
    plan = setup(path, use_baseline=False)
    return scenarios_of(plan.variants[0], plan.seed, 1)[0][0].model_dump(mode="json")


def _flat(node, path: str = "") -> dict:
    if isinstance(node, dict):
        return {k: v for key, value in node.items() for k, v in _flat(value, f"{path}.{key}" if path else key).items()}
    if isinstance(node, list) and node and any(isinstance(x, (dict, list)) for x in node):
        return {k: v for i, value in enumerate(node) for k, v in _flat(value, f"{path}[{i}]").items()}
    return {path: node}


def _diff(args) -> int:
    """Every resolved value that differs (uncertain inputs as replica 0 draws them)."""
    a, b = _flat(_resolved(args.a)), _flat(_resolved(args.b))
    absent = "(absent)"
    paths = sorted(set(a) | set(b), key=lambda p: (p not in a, p))
    lines = [f"{path}: {json.dumps(a.get(path, absent))} -> {json.dumps(b.get(path, absent))}"
             for path in paths if a.get(path, absent) != b.get(path, absent)]
    print("\n".join(lines) if lines else f"no differences between {args.a} and {args.b}")
    return 0
