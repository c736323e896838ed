"""Loading a scenario (as in Ciw: read -> fill defaults -> validate -> check): YAML without
implicit timestamps, `include:` merged (mappings merge, lists replace), input paths anchored
to the file that wrote them, pydantic errors turned into one line with the YAML path, then the
cross-checks and a first read of every input file, so a bad file fails before any run.
Every failure raises `ConfigError`.
"""
from __future__ import annotations

import datetime as dt
import difflib
import re
from pathlib import Path

import numpy as np
import yaml
from pydantic import BaseModel, ValidationError

from ..errors import ConfigError
from ..inputs.nodelists import load_node_list
from ..inputs.series import typical_year
from ..inputs.traces import load_trace
from .checks import cross_check, cross_problems
from . import schema
from .schema import Scenario, SeasonalPue
from .uncertainty import types_at

# the keys whose `{path: ...}` names an input file: anchored to the file that wrote them, and
# part of a replica's cache key (an edited input file is simulated again)
FILE_KEYS = ("series", "trace", "temperature_series", "nodes_from")
# limits on what a scenario file may hold, checked before anything walks it
MAX_VALUES = 1_000_000       # values after YAML aliases are expanded (a "billion laughs" file)
MAX_DEPTH = 64               # nested mappings and lists
MAX_INCLUDE_DEPTH = 32       # files including files


class YamlLoader(yaml.SafeLoader):
    """Safe YAML without implicit timestamps (dates stay text until the schema parses them,
    so an impossible date is reported with its YAML path), with YAML 1.2's floats (`1e6`,
    `2.0e6`: YAML 1.1 leaves them text), and refusing a key given twice in one mapping (the
    last one would silently win)."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen: dict = {}
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=deep)
                try:
                    first = seen.setdefault(key, key_node.start_mark.line + 1)
                except TypeError:
                    continue   # an unhashable key: the base class reports it
                if first != key_node.start_mark.line + 1:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key!r} (first given on line {first})", key_node.start_mark)
        return super().construct_mapping(node, deep=deep)


YamlLoader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
YamlLoader.add_implicit_resolver(   # after the integer resolver, so `12` stays an integer
    "tag:yaml.org,2002:float", re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$"),
    list("-+0123456789."))


def _one_line(text) -> str:
    return " ".join(str(text).split())


def _read_yaml(path: Path, where: str) -> dict:
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    try:
        data = yaml.load(text, Loader=YamlLoader)
    except RecursionError:
        raise ConfigError(f"{path}: nested more than Python can read (at most {MAX_DEPTH} levels)") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}{line}: invalid YAML: {_one_line(getattr(exc, 'problem', None) or exc)}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    _check_size(data, path)
    return data


def _check_size(data, path: Path) -> None:
    """Refuse a tree nested deeper than MAX_DEPTH or holding more than MAX_VALUES values once
    its aliases are expanded. Shared (aliased) nodes are measured once each, so this costs the
    file's size, not the expansion's."""
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    open_: set[int] = set()      # entered, not yet measured: met again below itself, a recursive alias
    stack = [(data, False)]
    while stack:
        node, done = stack.pop()
        if id(node) in size:
            continue
        children = list(node.values()) if isinstance(node, dict) else node if isinstance(node, list) else []
        if not done:
            if id(node) in open_:
                raise ConfigError(f"{path}: a YAML alias refers to itself (a structure that never ends)")
            open_.add(id(node))
            stack.append((node, True))
            stack.extend((c, False) for c in children if isinstance(c, (dict, list)) and id(c) not in size)
            continue
        kids = [c for c in children if isinstance(c, (dict, list))]
        size[id(node)] = 1 + len(children) - len(kids) + sum(size[id(c)] for c in kids)
        depth[id(node)] = 1 + max((depth[id(c)] for c in kids), default=0)
        if depth[id(node)] > MAX_DEPTH:
            raise ConfigError(f"{path}: nested more than {MAX_DEPTH} levels deep")
        if size[id(node)] > MAX_VALUES:
            raise ConfigError(f"{path}: more than {MAX_VALUES:,} values once its YAML aliases are expanded")


def _deep_merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _anchor_series_paths(node, base: Path) -> None:
    """Make every `series: {path: ...}` and `trace: {path: ...}` relative to the file
    that wrote it."""
    if isinstance(node, dict):
        for key in FILE_KEYS:
            ref = node.get(key)
            if isinstance(ref, dict) and isinstance(ref.get("path"), str):
                ref["path"] = str((base / ref["path"]).resolve())
        for value in node.values():
            _anchor_series_paths(value, base)
    elif isinstance(node, list):
        for value in node:
            _anchor_series_paths(value, base)


def resolve_includes(path: Path, chain: tuple[Path, ...] = ()) -> dict:
    path = path.resolve()
    if path in chain:
        raise ConfigError(f"{path}: include cycle: {' -> '.join(p.name for p in chain + (path,))}")
    if len(chain) >= MAX_INCLUDE_DEPTH:
        raise ConfigError(f"{path}: included through more than {MAX_INCLUDE_DEPTH} files")
    data = _read_yaml(path, chain[-1].name if chain else "config")
    _anchor_series_paths(data, path.parent)
    includes = data.pop("include", None)
    if includes is None:
        return data
    if isinstance(includes, str):
        includes = [includes]
    if not isinstance(includes, list) or not all(isinstance(i, str) for i in includes):
        raise ConfigError(f"{path}: include: expected a file name or a list of file names")
    merged: dict = {}
    for inc in includes:
        merged = _deep_merge(merged, resolve_includes(path.parent / inc, chain + (path,)))
    return _deep_merge(merged, data)


_TYPE_LABEL = re.compile(r"^(constrained-|function-|dict\[|list\[|float$|int$|str$|bool$|date$)")
_MODEL_NAMES = frozenset(name for name, value in vars(schema).items()
                         if isinstance(value, type) and issubclass(value, BaseModel))


def _is_label(part) -> bool:
    """pydantic's names for union members and validators in an error's location: not YAML keys."""
    return isinstance(part, str) and (bool(_TYPE_LABEL.match(part)) or part in _MODEL_NAMES)


def _yaml_path(loc) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _is_label(part):
            continue  # pydantic's labels for union members and validators, not YAML keys
        elif isinstance(part, str) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", part):
            out += ("." if out else "") + part
        else:  # a mapping key such as a date
            m = re.fullmatch(r"datetime\.date\((\d+), (\d+), (\d+)\)", str(part))
            out += f"[{dt.date(*map(int, m.groups()))}]" if m else f"[{part}]"
    return out or "(top level)"


def _branch_point(loc) -> str:
    """Where a union splits (the YAML path before pydantic's first branch label): errors of
    one union's branches say one thing about one place."""
    for i, part in enumerate(loc):
        if _is_label(part):
            return _yaml_path(loc[:i])
    return _yaml_path(loc) + "\0" + str(len(loc))


def _rank(err) -> tuple:
    """Deepest first; at one depth, what the value broke (a bound, a rule) before what type
    another branch wanted ("PUE must be at least 1", not "instance of SeasonalPue")."""
    return len(_yaml_path(err["loc"])), not (err["type"].endswith("_type") or err["type"] == "is_instance_of")


def _suggestion(loc) -> str:
    """`did you mean ...?` for an unknown key, from the keys the schema takes there."""
    steps = [p for p in loc[:-1] if not _is_label(p)]
    keys = {k for t in types_at(steps) if isinstance(t, type) and issubclass(t, BaseModel) for k in t.model_fields}
    close = difflib.get_close_matches(str(loc[-1]), sorted(keys), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else " (check the spelling)"


def _message(err) -> str:
    msg = re.sub(r"^(Value error|Assertion failed), ", "", err["msg"])
    if err["type"] == "extra_forbidden":
        msg = "unknown key" + _suggestion(err["loc"])
    elif err["type"] == "missing":
        msg = "required key is missing"
    value = err.get("input")
    quiet = err["type"] in ("missing", "extra_forbidden") or isinstance(value, (dict, list)) or "got " in msg
    return f"{_yaml_path(err['loc'])}: {_one_line(msg)}{'' if quiet else f' (got {value!r})'}"


def validation_messages(exc: ValidationError, limit: int = 50) -> list[str]:
    """One line per place the file is wrong, in file order (pydantic reports fields in schema
    order, which is the order of their sections), at most `limit`."""
    groups: dict[str, list] = {}
    for err in exc.errors():
        groups.setdefault(_branch_point(err["loc"]), []).append(err)
    return [_message(max(errs, key=_rank)) for errs in list(groups.values())[:limit]]


def _first_error(exc: ValidationError) -> str:
    return validation_messages(exc, limit=1)[0]


def load_scenario(path: str | Path) -> Scenario:
    """Load, validate and cross-check a scenario file. Raises ConfigError. A `sweep:` section
    is a plan for runs of the scenario (sim.experiment.sweep), not part of it: it is left out here."""
    path = Path(path)
    data = resolve_includes(path)
    data.pop("sweep", None)
    return scenario_from_dict(data, where=str(path))


def _count_listed_nodes(data: dict, where: str) -> dict:
    """Fill `nodes` of every deployment that gives `nodes_from` (a copy of the mapping).
    Anything malformed around it is left for validation to report."""
    deployments = data.get("deployments") if isinstance(data, dict) else None
    if not isinstance(deployments, list) or not any(isinstance(d, dict) and "nodes_from" in d for d in deployments):
        return data
    gpus_per_node = {n.get("name"): n.get("gpus_per_node") for n in data.get("node_types") or [] if isinstance(n, dict)}
    data = dict(data, deployments=[dict(d) if isinstance(d, dict) else d for d in deployments])
    for i, dep in enumerate(data["deployments"]):
        ref = dep.get("nodes_from") if isinstance(dep, dict) else None
        if not isinstance(ref, dict) or not isinstance(ref.get("path"), str):
            continue
        here = f"{where}: deployments[{i}]"
        if "nodes" in dep:
            raise ConfigError(f"{here}: give nodes or nodes_from, not both")
        n = gpus_per_node.get(dep.get("node_type"))
        if not isinstance(n, int):
            continue   # unknown node type: cross_check names it
        listed = load_node_list(ref["path"])
        shape = listed.shape()
        models = ref.get("models") or sorted(shape)
        unknown = [m for m in models if m not in shape]
        if unknown:
            raise ConfigError(f"{here}.nodes_from.models: {', '.join(map(repr, unknown))} not in the node list "
                              f"(it has {', '.join(sorted(shape))})")
        count = int(listed.matching(n, models).sum())
        if count == 0:
            raise ConfigError(f"{here}.nodes_from: no {', '.join(models)} node in the node list has {n} GPUs "
                              f"(node_type {dep.get('node_type')!r}); it has " +
                              "; ".join(f"{m}: {sorted(shape[m])}" for m in models))
        dep["nodes"] = count
    return data


def scenario_problems(data: dict, where: str = "config") -> list[str]:
    """Every problem of an already-read scenario mapping, one line each (empty: it is valid):
    all schema errors, else all cross-reference problems, else the first bad input file."""
    try:
        data = _count_listed_nodes(data, where)
        scenario = Scenario.model_validate(data)
    except ConfigError as exc:
        return [str(exc)]
    except ValidationError as exc:
        return [f"{where}: {message}" for message in validation_messages(exc)]
    problems = [f"{where}: {problem}" for problem in cross_problems(scenario)]
    if not problems:
        try:
            _load_series(scenario, where)
        except ConfigError as exc:
            problems.append(str(exc))
    return problems


def scenario_from_dict(data: dict, where: str = "config") -> Scenario:
    """Validate and cross-check an already-read scenario mapping. Raises ConfigError."""
    data = _count_listed_nodes(data, where)
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{where}: {_first_error(exc)}") from None
    problem = cross_check(scenario)
    if problem:
        raise ConfigError(f"{where}: {problem}")
    _load_series(scenario, where)
    return scenario


def _load_series(s: Scenario, where: str) -> None:
    """Read every hourly series and trace now, so a bad file fails before any simulation; a
    trace's `select:` must name tenants the trace has (else it would replay nothing), and a
    trace whose jobs share GPUs needs a node type that shares them or `whole_gpus`."""
    for site in s.sites:
        for spec in (site.energy_price.series, site.carbon.series):
            if spec is not None:
                typical_year(spec.path, spec.column, spec.timestamp_column, timezone=spec.timezone)
        if isinstance(site.pue, SeasonalPue):
            t = site.pue.temperature_series
            typical_year(t.path, t.column, t.timestamp_column, allow_negative=True, timezone=t.timezone)
    for i, tenant in enumerate(s.tenants):
        if tenant.workload is not None and tenant.workload.trace is not None:
            t = tenant.workload.trace
            trace = load_trace(t.path, t.format, t.skip_bad_rows)
            known = set(trace.tenant.tolist())
            missing = [name for name in t.select or [] if name not in known]
            if missing:
                shown = ", ".join(sorted(known)[:10]) + (", ..." if len(known) > 10 else "")
                raise ConfigError(f"{where}: tenants[{i}].workload.trace.select: {', '.join(map(repr, missing))} "
                                  f"not in {t.path} (its tenants: {shown})")
            node_type = s.node_type(tenant.workload.node_type)
            kept = np.isin(trace.tenant, np.asarray(t.select, dtype=object)) if t.select else True
            shared = int(((trace.gpu_milli < 1000) & kept).sum()) if trace.gpu_milli is not None else 0
            if shared and not t.whole_gpus and not node_type.gpu_sharing:
                raise ConfigError(f"{where}: tenants[{i}].workload.trace: {shared:,} jobs of {t.path} share a GPU, "
                                  f"but node type {node_type.name!r} does not share GPUs (set gpu_sharing: true on "
                                  f"it, or whole_gpus: true on the trace to give each a whole GPU)")
