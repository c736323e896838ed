"""Hostile configs through the command line: hypothesis mutates the tiny example (types swapped,
numbers out of range, keys misspelled or duplicated, lists emptied, nesting deepened) and every
case either runs (exit 0) or is refused as bad input (exit 2, one line, nothing written): never
an internal error (exit 1), never a hang."""
from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[1]
TINY = yaml.safe_load((ROOT / "configs" / "examples" / "tiny.yaml").read_text())
CASE_TIMEOUT_S = 60


def places(node, path=()):
    """Every (path, value) in the tree, mappings and lists included."""
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from places(value, path + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from places(value, path + (i,))


PLACES = [p for p, _ in places(TINY) if p]
ODD_VALUES = [True, False, None, 0, -1, 1e308, -1e308, 10 ** 12, 1e-300, "", "x" * 300, "nan", "inf", [], {},
              [1, 2], {"dist": "normal"}, "2026-13-45", "12y", "-5d", 0.5, 7]


def at(tree, path):
    for key in path[:-1]:
        tree = tree[key]
    return tree, path[-1]


@st.composite
def mutated(draw):
    config = copy.deepcopy(TINY)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(PLACES))
        try:
            parent, key = at(config, path)
            parent[key]
        except (KeyError, IndexError, TypeError):
            continue   # an earlier mutation removed this place
        kind = draw(st.sampled_from(["value", "misspell", "drop", "empty", "deepen"]))
        if kind == "value":
            parent[key] = draw(st.sampled_from(ODD_VALUES))
        elif kind == "misspell" and isinstance(key, str):
            parent[key + draw(st.sampled_from(["_", "s", "x"]))] = parent.pop(key)
        elif kind == "drop":
            if isinstance(parent, dict):
                del parent[key]
            elif len(parent) > 0:
                parent.pop(key)
        elif kind == "empty":
            parent[key] = [] if isinstance(parent[key], list) else {}
        elif kind == "deepen":
            parent[key] = {"value": parent[key]}
    text = yaml.safe_dump(config, sort_keys=False)
    if draw(st.booleans()):   # a key given twice at the top level
        first = text.splitlines()[0]
        text = text + first + "\n"
    return text


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_a_mutated_config_runs_or_is_refused_in_one_line(tmp_path_factory, text):
    folder = tmp_path_factory.mktemp("fuzz")
    cfg = folder / "scenario.yaml"
    cfg.write_text(text)
    out = folder / "out"
    proc = subprocess.run([sys.executable, "-m", "sim", str(cfg), "--out", str(out), "--quiet", "--replicas", "1",
                           "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=CASE_TIMEOUT_S)
    report = f"rc={proc.returncode}\nstderr:\n{proc.stderr}\nconfig:\n{text}"
    assert proc.returncode in (0, 2), report
    if proc.returncode == 2:
        assert proc.stderr.strip() and "\n" not in proc.stderr.strip() and "Traceback" not in proc.stderr, report
        assert not out.exists() or not any(out.iterdir()), report
