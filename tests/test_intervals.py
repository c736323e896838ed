"""Intervals that respect their metric's range and cover the truth; probabilities across
replicas with their own intervals; rank correlation with ties; per-replica values saved."""
from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim import api
from sim.experiment.stats import paired_comparison, proportion_ci95, rank_correlation, summarize
from sim.metrics import interval_bounds

ROOT = Path(__file__).resolve().parents[1]
TRIALS = 2000


def coverage(draw, truth: float, metric: str, n: int, seed: int) -> float:
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(TRIALS):
        lo, hi = summarize({metric: draw(rng, n)})[metric]["ci95"]
        hits += lo <= truth <= hi
    return hits / TRIALS


@pytest.mark.parametrize("a, b, n", [(20, 2, 30), (2, 20, 30), (5, 5, 10)])
def test_fraction_intervals_cover_the_mean(a, b, n):
    """Fractions near either bound (Beta), truncated to [0, 1]: 93-97% coverage."""
    got = coverage(lambda rng, k: rng.beta(a, b, k), a / (a + b), "gpu_utilization", n, seed=a * 100 + b)
    assert 0.93 <= got <= 0.97, got


def test_nonnegative_total_intervals_cover_the_mean():
    """A skewed non-negative total (gamma, shape 4) over 30 replicas, truncated at 0. (More skewed
    totals over few replicas cover less: an exponential over 10 replicas about 90%.)"""
    got = coverage(lambda rng, k: rng.gamma(4.0, 2.5e6, k), 1e7, "sla_credits_usd", 30, seed=4)
    assert 0.93 <= got <= 0.97, got


@pytest.mark.parametrize("p, n", [(0.1, 60), (0.5, 20), (0.25, 100)])
def test_wilson_intervals_cover_a_probability(p, n):
    """Wilson's coverage oscillates with p and n around 95% (92.9% at p = 0.3, n = 40)."""
    k = np.random.default_rng(int(p * 1000) + n).binomial(n, p, TRIALS)
    lo, hi = proportion_ci95(k, n)
    got = ((lo <= p) & (p <= hi)).mean()
    assert 0.93 <= got <= 0.97, got


def test_two_of_four_replicas_short_is_a_wide_interval():
    lo, hi = proportion_ci95(np.array([2, 0, 4]), 4)
    assert lo[0] == pytest.approx(0.150, abs=1e-3) and hi[0] == pytest.approx(0.850, abs=1e-3)
    assert lo[1] == 0.0 and 0 < hi[1] < 0.5 and hi[2] == pytest.approx(1.0) and lo[2] > 0.5


values = st.lists(st.floats(0.0, 1.0), min_size=1, max_size=12)


@given(values, values)
def test_fraction_intervals_never_leave_their_range(x, y):
    s = summarize({"sla_attainment": np.array(x)})["sla_attainment"]
    lo, hi = s["ci95"]
    assert lo is None or 0.0 <= lo <= s["mean"] <= hi <= 1.0
    n = min(len(x), len(y))
    d = paired_comparison({"sla_attainment": np.array(x[:n])}, {"sla_attainment": np.array(y[:n])})["sla_attainment"]
    lo, hi = d["ci95"]
    assert lo is None or -1.0 <= lo <= d["delta"] <= hi <= 1.0


@given(st.lists(st.floats(0.0, 1e12), min_size=1, max_size=12))
def test_nonnegative_intervals_never_go_below_zero(x):
    lo, hi = summarize({"sla_credits_usd": np.array(x)})["sla_credits_usd"]["ci95"]
    assert lo is None or lo >= 0.0


def test_the_issue_example_credits_no_longer_go_negative():
    """One replica $966M, the others 0: a t interval reached -$470M."""
    s = summarize({"sla_credits_usd": np.array([966e6, 0.0, 0.0, 0.0])})["sla_credits_usd"]
    assert s["ci95"][0] == 0.0 and s["ci95"][1] > 966e6 / 4
    assert interval_bounds("npv_usd") == (-math.inf, math.inf)
    assert interval_bounds("gpu_utilization[openai]", difference=True) == (-1.0, 1.0)


def test_rank_correlation_averages_ties_whatever_the_row_order():
    x, y = np.array([1.0, 1.0, 2.0, 3.0]), np.array([1.0, 2.0, 3.0, 4.0])
    # average ranks of x: 1.5, 1.5, 3, 4; Pearson's r on ranks = 4.5 / sqrt(4.5 * 5)
    assert rank_correlation(x, y) == pytest.approx(4.5 / math.sqrt(22.5), rel=1e-12)
    assert rank_correlation(x[::-1], y[::-1]) == pytest.approx(rank_correlation(x, y), rel=1e-12)
    assert math.isnan(rank_correlation(np.ones(4), y))


def test_replicas_csv_holds_every_replica_of_every_metric(tmp_path):
    exp = api.run(ROOT / "configs" / "examples" / "tiny.yaml", replicas=3, out=tmp_path)
    folder = tmp_path / exp.name
    with open(folder / "replicas.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    summary = json.loads((folder / "summary.json").read_text())
    metrics = summary["variants"][exp.name]["metrics"]
    assert {r["metric"] for r in rows} == set(metrics)
    assert {r["replica"] for r in rows} == {"0", "1", "2"} and {r["seed"] for r in rows} == {str(exp.seed)}
    for name, m in metrics.items():
        got = [float(r["value"]) for r in rows if r["metric"] == name and r["value"] != ""]
        if m["mean"] is not None:
            assert np.mean(got) == pytest.approx(m["mean"], rel=1e-12, abs=1e-12), name
