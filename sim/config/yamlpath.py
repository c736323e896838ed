"""YAML paths such as `deployments[0].nodes` or `sites[dc1].pue`: parse them, and read or
write the place they name in a raw (not yet validated) scenario mapping.

`[N]` indexes a list; `[NAME]` picks the list item whose `name` is NAME, or a mapping
key that is not a plain identifier (such as a date in a `{date: MW}` schedule).
"""
from __future__ import annotations

import copy
import re

_STEP = re.compile(r"\.?([A-Za-z_][A-Za-z0-9_]*)|\[([^\[\]]+)\]")


class PathError(ValueError):
    """A YAML path that is malformed or names no place in the mapping."""


def parse(path: str) -> list[str | int]:
    steps, pos = [], 0
    for m in _STEP.finditer(path):
        if m.start() != pos or (m.group(0).startswith(".") and not steps):
            break
        key, index = m.groups()
        steps.append(key if key is not None else int(index) if index.strip().isdigit() else index.strip())
        pos = m.end()
    if pos != len(path) or not steps or not isinstance(steps[0], str):
        raise PathError(f"{path!r} is not a YAML path such as deployments[0].nodes or sites[dc1].pue")
    return steps


def render(steps) -> str:
    """The text form of a path, as config errors print it."""
    out = ""
    for step in steps:
        if isinstance(step, int):
            out += f"[{step}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", str(step)):
            out += ("." if out else "") + str(step)
        else:
            out += f"[{step}]"
    return out


def _child(node, step, path: str):
    """The container key or index that `step` names inside `node`."""
    if isinstance(node, list):
        if isinstance(step, int):
            if step < len(node):
                return step
            raise PathError(f"{path}: index {step} is past the end of a list of {len(node)}")
        for i, item in enumerate(node):
            if isinstance(item, dict) and item.get("name") == step:
                return i
        raise PathError(f"{path}: no item named {step!r}")
    if isinstance(node, dict):
        if step in node:
            return step
        raise PathError(f"{path}: no key {step!r} here")
    raise PathError(f"{path}: {render([step])} is inside a plain value")


def get(data: dict, path: str):
    node = data
    for step in parse(path):
        node = node[_child(node, step, path)]
    return node


def has_parent(data: dict, path: str) -> bool:
    """Whether the mapping or list that would hold the value exists (the value itself may
    be left to its default)."""
    steps = parse(path)
    try:
        node = data
        for step in steps[:-1]:
            node = node[_child(node, step, path)]
    except PathError:
        return False
    return isinstance(node, dict) or (isinstance(node, list) and isinstance(steps[-1], int)
                                      and steps[-1] < len(node))


def missing_mappings(data: dict, path: str) -> list[list]:
    """Prefixes of the path, above its last step, that name mappings not in `data` (a mapping
    left to its defaults); assign() creates them."""
    steps, node, out = parse(path), data, []
    for i, step in enumerate(steps[:-1]):
        if isinstance(node, dict) and isinstance(step, str) and step not in node:
            out.append(steps[:i + 1])
            node = {}
            continue
        node = node[_child(node, step, path)]
    return out


def assign(data: dict, path: str, value) -> dict:
    """A copy of `data` with `value` at `path` (missing mapping keys on the way are added)."""
    out = copy.deepcopy(data)
    steps = parse(path)
    node = out
    for step in steps[:-1]:
        if isinstance(node, dict) and isinstance(step, str) and step not in node:
            node[step] = {}
        node = node[_child(node, step, path)]
    last = steps[-1]
    if isinstance(node, dict):
        node[last] = copy.deepcopy(value)
    else:
        node[_child(node, last, path)] = copy.deepcopy(value)
    return out

