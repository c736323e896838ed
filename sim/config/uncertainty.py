"""Uncertain inputs: any number in a scenario may be given as a distribution, drawn once
per replica.

    sites:
      - name: dc1
        pue: {dist: normal, mean: 1.3, sd: 0.05, min: 1.0}

Distributions: normal {mean, sd}; lognormal {mean, sigma} (`mean` is the mean of the
value, `sigma` the standard deviation of its log, as for job durations); uniform {low,
high}; triangular {low, mode, high}; choice {values, weights (optional)}. Any of them
may add `min` and `max`, which clip the draw. Where the schema takes whole numbers
(such as `nodes`), draws are rounded.

Draws are made in the raw YAML mapping before validation, so a draw the schema rejects
is reported at its YAML path. Each place draws from its own named stream (seed,
replica, "param/<path>"): a config and its baseline that share a place draw the same
value in the same replica (common random numbers), and adding an uncertain input never
changes the draws of another. A mapping with `dist` where the schema itself takes a
distribution (a workload's `gpus` and `duration_h`) is a job-size distribution, not an
uncertain input; its numbers may still be uncertain.
"""
from __future__ import annotations

import math
import types
from dataclasses import dataclass
from typing import Annotated, Union, get_args, get_origin

import numpy as np
from pydantic import BaseModel

from ..rng import stream
from .schema import Scenario
from .yamlpath import assign, render

DISTS = {  # name -> (required keys, optional keys)
    "normal": ({"mean", "sd"}, set()),
    "lognormal": ({"mean", "sigma"}, set()),
    "uniform": ({"low", "high"}, set()),
    "triangular": ({"low", "mode", "high"}, set()),
    "choice": ({"values"}, {"weights"}),
}
BOUNDS = {"min", "max"}
# top-level keys that set the shape of a run (its clock, seed, replicas): never uncertain
FIXED = {"scenario", "baseline", "start", "horizon", "seed", "replicas", "include", "sweep"}


@dataclass(frozen=True)
class Param:
    path: str        # YAML path, list items by index: sites[0].pue
    spec: dict
    whole: bool      # the schema takes whole numbers here: draws are rounded


# ---------------------------------------------------------------- where the schema takes what

def _flatten(annotation) -> list:
    """The plain types an annotation admits (unions and Annotated unwrapped)."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _flatten(get_args(annotation)[0])
    if origin is Union or origin is types.UnionType:
        return [t for arg in get_args(annotation) for t in _flatten(arg)]
    return [annotation]


def types_at(steps) -> list:
    """The types the schema admits at a path (empty where the path is not in the schema)."""
    found = [Scenario]
    for step in steps:
        nxt = []
        for t in found:
            origin = get_origin(t)
            if isinstance(t, type) and issubclass(t, BaseModel):
                if isinstance(step, str) and step in t.model_fields:
                    nxt += _flatten(t.model_fields[step].annotation)
            elif origin is list:   # by index, or by an item's name
                nxt += _flatten(get_args(t)[0])
            elif origin is dict:
                nxt += _flatten(get_args(t)[1])
        found = nxt
    return found


def _takes_distribution(found) -> bool:
    return any(isinstance(t, type) and issubclass(t, BaseModel) and "dist" in t.model_fields for t in found)


def takes_whole_numbers(found) -> bool:
    return any(t is int for t in found) and not any(t is float for t in found)


# ---------------------------------------------------------------- finding and checking

def find(raw: dict) -> list[Param]:
    """Every uncertain input of a raw scenario mapping, in file order."""
    out = []

    def walk(node, steps):
        if isinstance(node, dict):
            if "dist" in node and steps:
                found = types_at(steps)
                if not _takes_distribution(found) and (found or node.get("dist") in DISTS):
                    out.append(Param(render(steps), node, takes_whole_numbers(found)))
                    return
            for key, value in node.items():
                walk(value, [*steps, key])
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, [*steps, i])

    walk(raw, [])
    return out


def _number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def problem(p: Param) -> str | None:
    """What is wrong with an uncertain input's specification, naming its YAML path; or None."""
    spec, path = p.spec, p.path
    top = path.split(".")[0].split("[")[0]
    if top in FIXED:
        return f"{path}: cannot be uncertain (it sets the shape of the run); give one value"
    name = spec.get("dist")
    if name not in DISTS:
        return f"{path}.dist: unknown distribution {name!r} (expected one of {', '.join(DISTS)})"
    need, optional = DISTS[name]
    keys = set(spec) - {"dist"}
    for key in sorted(keys - need - optional - BOUNDS):
        return f"{path}.{key}: unknown key for dist {name} (expected {', '.join(sorted(need | optional | BOUNDS))})"
    if need - keys:
        return f"{path}: dist {name} needs {', '.join(sorted(need - keys))}"
    for key in sorted(keys - {"values", "weights"}):
        if not _number(spec[key]):
            return f"{path}.{key}: expected a number, got {spec[key]!r}"
    if "min" in spec and "max" in spec and spec["min"] > spec["max"]:
        return f"{path}: min {spec['min']} is above max {spec['max']}"
    if name == "normal" and spec["sd"] < 0:
        return f"{path}.sd: must be 0 or more, got {spec['sd']}"
    if name == "lognormal" and (spec["mean"] <= 0 or spec["sigma"] < 0):
        return f"{path}: lognormal needs mean > 0 and sigma >= 0, got mean {spec['mean']}, sigma {spec['sigma']}"
    if name == "uniform" and spec["low"] > spec["high"]:
        return f"{path}: low {spec['low']} is above high {spec['high']}"
    if name == "triangular" and not spec["low"] <= spec["mode"] <= spec["high"] or \
            name == "triangular" and spec["low"] == spec["high"]:
        return f"{path}: triangular needs low <= mode <= high and low < high"
    if name == "choice":
        values, weights = spec["values"], spec.get("weights")
        if not isinstance(values, list) or not values or \
                not all(_number(v) or isinstance(v, str) for v in values):
            return f"{path}.values: expected a non-empty list of numbers or names"
        if weights is not None and (not isinstance(weights, list) or len(weights) != len(values)
                                    or not all(_number(w) and w >= 0 for w in weights) or sum(weights) <= 0):
            return f"{path}.weights: expected {len(values)} non-negative numbers, not all zero"
        if keys & BOUNDS and not all(_number(v) for v in values):
            return f"{path}: min and max need numeric values"
    return None


# ---------------------------------------------------------------- drawing

def draw(p: Param, seed: int, replica: int):
    """One replica's value of an uncertain input, from its own named stream."""
    spec = p.spec
    rng = stream(seed, replica, f"param/{p.path}")
    name = spec["dist"]
    if name == "choice":
        values = spec["values"]
        w = np.asarray(spec.get("weights") or [1.0] * len(values), dtype=np.float64)
        value = values[int(rng.choice(len(values), p=w / w.sum()))]
        if not _number(value):
            return value
    elif name == "normal":
        value = rng.normal(spec["mean"], spec["sd"])
    elif name == "lognormal":
        value = rng.lognormal(math.log(spec["mean"]) - spec["sigma"] ** 2 / 2, spec["sigma"])
    elif name == "uniform":
        value = rng.uniform(spec["low"], spec["high"])
    else:
        value = rng.triangular(spec["low"], spec["mode"], spec["high"])
    value = float(np.clip(value, spec.get("min", -np.inf), spec.get("max", np.inf)))
    return int(math.floor(value + 0.5)) if p.whole else value


def sample(raw: dict, params: list[Param], seed: int, replica: int) -> tuple[dict, dict]:
    """The mapping with every uncertain input replaced by this replica's draw, and the draws."""
    values = {p.path: draw(p, seed, replica) for p in params}
    out = raw
    for path, value in values.items():
        out = assign(out, path, value)   # a copy: the caller's mapping is never changed
    return out, values
