"""A command's plan before anything is validated per replica: the config and its baseline as
raw mappings (includes resolved) with their uncertain inputs, seed, replicas and the sweep
plan (`sweep:` and `--sweep`), each checked with a one-line `ConfigError`."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import BaseModel

from ..errors import ConfigError
from . import uncertainty, yamlpath
from .loading import YamlLoader, resolve_includes, scenario_from_dict
from .schema import Scenario


@dataclass
class Variant:
    """A variant as configured: its raw mapping (includes resolved) and its uncertain inputs."""
    where: str
    raw: dict
    params: list

    @classmethod
    def from_raw(cls, raw: dict, where: str) -> "Variant":
        params = uncertainty.find(raw)
        for p in params:
            if problem := uncertainty.problem(p):
                raise ConfigError(f"{where}: {problem}")
        return cls(where, raw, params)

    def with_values(self, point: dict, label: str) -> "Variant":
        """This variant with the point's values set where this variant has a place for them."""
        raw = self.raw
        for path, value in point.items():
            if settable(raw, path):
                raw = yamlpath.assign(raw, path, value)
        return Variant.from_raw(raw, f"{self.where} ({label})" if label else self.where)

    def scenarios(self, seed: int, replicas: int) -> tuple[list[Scenario], dict[str, list]]:
        """Each replica's validated scenario (one shared object without uncertain inputs), and the draws."""
        if not self.params:
            return [scenario_from_dict(self.raw, self.where)] * replicas, {}
        out, samples = [], {p.path: [] for p in self.params}
        for k in range(replicas):
            raw, values = uncertainty.sample(self.raw, self.params, seed, k)
            try:
                out.append(scenario_from_dict(raw, self.where))
            except ConfigError as exc:
                drawn = sorted((p for p in values if p in str(exc)), key=len)
                hint = f" (drawn for replica {k}; bound {drawn[-1]} with min and max)" \
                    if drawn else ""
                raise ConfigError(f"{exc}{hint}") from None
            for path, value in values.items():
                samples[path].append(value)
        return out, samples


def settable(raw: dict, path: str) -> bool:
    """Whether a variant has a place for a value at `path`: its parent exists, or is missing
    only where the schema would fill a whole section from defaults (such as `scheduler`)."""
    try:
        missing = yamlpath.missing_mappings(raw, path)
    except yamlpath.PathError:
        return False
    for prefix in missing:
        models = [t for t in uncertainty.types_at(prefix) if isinstance(t, type) and issubclass(t, BaseModel)]
        if not any(all(not f.is_required() for f in m.model_fields.values()) for m in models):
            return False
    return bool(missing) or yamlpath.has_parent(raw, path)


@dataclass
class Setup:
    """A command's plan: the config and its baseline, seed, replicas and any sweep."""
    config: Path
    variants: list[Variant]            # the config, then its baseline if any
    seed: int
    replicas: int
    sweep: dict[str, list]             # YAML path -> values (empty: no sweep)


def _config_int(raw: dict, key: str) -> int:
    value = raw.get(key, Scenario.model_fields[key].default)
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
    return value if ok else Scenario.model_fields[key].default  # validation reports the bad value


def _skip_bad_trace_rows(raw: dict) -> dict:
    """`--skip-bad-rows`: every trace workload counts its bad rows instead of failing on them."""
    for tenant in raw.get("tenants") or []:
        workload = tenant.get("workload") if isinstance(tenant, dict) else None
        if isinstance(workload, dict) and isinstance(workload.get("trace"), dict):
            workload["trace"]["skip_bad_rows"] = True
    return raw


def setup(config: str | Path, seed: int | None = None, replicas: int | None = None,
          baseline: str | Path | None = None, sweep: dict[str, list] | None = None,
          use_baseline: bool = True, skip_bad_rows: bool = False) -> Setup:
    """Read the config (and its baseline); check uncertain inputs and the sweep. Raises ConfigError."""
    path = Path(config)
    raw = resolve_includes(path)
    if skip_bad_rows:
        _skip_bad_trace_rows(raw)
    plan = raw.pop("sweep", None)
    variants = [Variant.from_raw(raw, str(path))]
    base = Path(baseline) if baseline is not None else \
        (path.parent / raw["baseline"]).resolve() if isinstance(raw.get("baseline"), str) else None
    if base is not None and use_baseline:
        base_raw = resolve_includes(base)
        base_raw.pop("sweep", None)  # the config's sweep applies to both
        if skip_bad_rows:
            _skip_bad_trace_rows(base_raw)
        variants.append(Variant.from_raw(base_raw, str(base)))
    return Setup(path, variants, _config_int(raw, "seed") if seed is None else seed,
                 _config_int(raw, "replicas") if replicas is None else replicas,
                 _check_sweep(path, variants, plan, sweep or {}))


def _check_sweep(path: Path, variants: list[Variant], plan, flags: dict) -> dict[str, list]:
    if plan is None:
        plan = {}
    if not isinstance(plan, dict):
        raise ConfigError(f"{path}: sweep: expected a mapping of YAML path to a list of values")
    plan = {**plan, **flags}
    for key, values in plan.items():
        if not isinstance(values, list) or not values:
            raise ConfigError(f"{path}: sweep: {key}: expected a non-empty list of values")
        try:
            yamlpath.parse(str(key))
        except yamlpath.PathError as exc:
            raise ConfigError(f"{path}: sweep: {exc}") from None
        if not any(settable(v.raw, str(key)) for v in variants):
            raise ConfigError(f"{path}: sweep: {key}: no such place in the config")
    return {str(k): v for k, v in plan.items()}


def parse_flag(text: str) -> tuple[str, list]:
    """`--sweep KEY=V1,V2,...`: values are read as YAML scalars (numbers, names, durations)."""
    key, sep, values = text.partition("=")
    key = key.strip()
    if not sep or not key or not values.strip():
        raise ConfigError(f"--sweep: expected KEY=V1,V2,..., got {text!r}")
    try:
        yamlpath.parse(key)
    except yamlpath.PathError as exc:
        raise ConfigError(f"--sweep: {exc}") from None
    try:
        return key, [_scalar(v.strip()) for v in values.split(",")]
    except yaml.YAMLError:
        raise ConfigError(f"--sweep: {key}: cannot read the values {values!r}") from None


def _scalar(text: str):
    """A number if it reads as one (1e6 included, which YAML 1.1 leaves as text), else YAML
    read as config files are (dates stay text for the schema to parse)."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return yaml.load(text, Loader=YamlLoader)
