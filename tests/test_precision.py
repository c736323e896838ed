"""Adaptive replicas (sim/experiment/precision.py): batches until the interval is as narrow as
asked, or the cap; the same bytes on rerun; bad targets are one-line errors."""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from sim.cli.main import main
from sim.config.variants import setup
from sim.errors import ConfigError
from sim.experiment.precision import achieved, next_replicas, parse_precision, run_to_precision
from sim.experiment.runner import add_breakevens, run_setup

TINY = Path(__file__).resolve().parent.parent / "configs" / "examples" / "tiny.yaml"


def test_targets_parse_relative_and_absolute_with_the_metrics_unit():
    t = parse_precision("revenue_usd=0.05")
    assert (t.metric, t.half_width, t.relative) == ("revenue_usd", 0.05, True)
    t = parse_precision("mean_wait_h=0.01h")
    assert (t.half_width, t.relative) == (0.01, False)
    for bad, why in (("revenue_usd", "expected METRIC="), ("nothing=0.1", "unknown metric 'nothing'"),
                     ("revenue_usd=0", "positive"), ("revenue_usd=3h", "is in 'USD', not 'h'")):
        with pytest.raises(ConfigError, match=why):
            parse_precision(bad)


def test_the_next_batch_follows_one_over_root_replicas_within_bounds():
    assert next_replicas(4, 1.5, 100) == 9            # 4 x 1.5^2
    assert next_replicas(4, 1.01, 100) == 6           # at least 2 more
    assert next_replicas(4, 10.0, 100) == 16          # at most 4 times as many
    assert next_replicas(4, math.inf, 10) == 10       # within the cap


def _runs(tmp_path, targets, cap):
    plan = setup(TINY, None, 3, None)
    seen = []

    def run(batch):
        exp = run_setup(batch, cache_root=tmp_path / "cache", with_breakevens=False)
        seen.append((batch.replicas, [achieved(exp, t) for t in targets]))
        return exp
    return run_to_precision(plan, targets, cap, run, add_breakevens), seen


def test_replicas_stop_at_the_first_batch_that_meets_the_target(tmp_path):
    target = parse_precision("revenue_usd=0.05")
    exp, seen = _runs(tmp_path, [target], 200)
    (last_r, (last,)) = seen[-1]
    assert exp.replicas == last_r == exp.precision["replicas"] and len(seen) >= 2
    assert last <= 0.05 and all(m > 0.05 for _, (m,) in seen[:-1])
    assert exp.precision["stopped"] == "every target met" and exp.precision["targets"][0]["met"]
    row = exp.summary["variants"]["tiny"]["metrics"]["revenue_usd"]
    assert (row["ci95"][1] - row["ci95"][0]) / 2 / abs(row["mean"]) == pytest.approx(last, rel=1e-12)


def test_the_cap_stops_the_batches_and_says_the_target_was_not_met(tmp_path):
    exp, seen = _runs(tmp_path, [parse_precision("revenue_usd=1e-9")], 7)
    assert [r for r, _ in seen] == [3, 7]
    assert exp.precision["stopped"].startswith("max_replicas reached") and not exp.precision["targets"][0]["met"]


def test_adaptive_runs_from_the_command_line_are_byte_identical_on_rerun(tmp_path, capsys):
    args = [str(TINY), "--precision", "revenue_usd=0.05", "--max-replicas", "12", "--quiet"]
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    assert main([*args, "--out", str(tmp_path / "b"), "--no-cache"]) == 0
    a, b = ((tmp_path / x / "tiny" / "summary.json").read_bytes() for x in ("a", "b"))
    assert a == b
    precision = json.loads(a)["precision"]
    assert precision["targets"][0]["metric"] == "revenue_usd" and precision["replicas"] <= 12
    assert main([*args[:-1], "--out", str(tmp_path / "c"), "--max-replicas", "2"]) == 2
    assert "--max-replicas: 2 is below the 3 replicas" in capsys.readouterr().err


def test_a_replica_cap_without_a_target_is_a_flag_error(tmp_path, capsys):
    assert main([str(TINY), "--max-replicas", "9", "--out", str(tmp_path)]) == 2
    assert "--max-replicas needs --precision" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())
