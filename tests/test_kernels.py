"""Every kernel against a direct Python loop on small arrays (DESIGN §5, §9), on every
backend: NumPy; array-api-strict on its CPU device and on its non-CPU `device1`,
where mixing devices is an error and any conversion to a Python scalar inside a
kernel (a hidden host round trip) is made one; CuPy when a GPU is present.

    FLEETSIM_REQUIRE_GPU=1 python -m pytest tests/test_kernels.py -k backend-cupy

runs the CuPy cases on a GPU machine, where a missing GPU is then a failure, not a skip.
"""
from __future__ import annotations

import contextlib
import importlib.util
import math
import os

import array_api_strict as strict
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kernels import BackendError, get_backend, namespace_of, to_host
from kernels._backend import scatter_add, to_device
from kernels.energy import energy_by_bin, seasonal_pue, tenant_energy_by_bin
from kernels.failures import cycles_needed, gpus_available, nodes_down
from kernels.occupancy import hourly_occupancy, sum_by_bin
from kernels.power import (POWER_CURVES, add_reserved_load, it_power_w, per_gpu_coefficients, power_curve,
                           utilization_profile)
from kernels.stats import mean_ci95, percentile, t_quantile_975

REQUIRE_GPU = os.environ.get("FLEETSIM_REQUIRE_GPU") == "1"
StrictArray = type(strict.asarray(0.0))


def _gpu_here() -> bool:
    try:
        return get_backend("cupy")[0] == "cupy"
    except BackendError:
        return False


class Backend:
    """Puts host arrays on one namespace and device, and brings results back."""

    def __init__(self, name: str):
        self.name = name

    def __repr__(self):
        return self.name

    @property
    def xp(self):
        if self.name == "numpy":
            return np
        if self.name == "cupy":
            return get_backend("cupy")[1]   # raises BackendError here if there is no GPU
        return strict

    @property
    def device(self):
        return strict.Device("device1") if self.name == "strict-device1" else None

    def __call__(self, a, dtype=None):
        a = np.asarray(a, dtype=dtype)
        if self.name == "numpy":
            return a
        if self.name == "cupy":
            return self.xp.asarray(a)
        return strict.asarray(a, device=self.device)

    @contextlib.contextmanager
    def no_host_sync(self):
        """On the non-CPU device: any Python scalar from an array raises, as does any
        shape that depends on the data."""
        if self.name != "strict-device1":
            yield
            return

        def refuse(self_, *args, **kwargs):
            raise AssertionError("a kernel converted a device array to a host value")
        names = ("__float__", "__bool__", "__int__", "__index__", "__complex__", "__dlpack__", "to_device")
        saved = {n: getattr(StrictArray, n) for n in names}
        strict.set_array_api_strict_flags(data_dependent_shapes=False, boolean_indexing=False)
        try:
            for n in names:
                setattr(StrictArray, n, refuse)
            yield
        finally:
            for n, f in saved.items():
                setattr(StrictArray, n, f)
            strict.reset_array_api_strict_flags()


_cupy_skip = pytest.mark.skipif(not REQUIRE_GPU and (importlib.util.find_spec("cupy") is None or not _gpu_here()),
                                reason="no GPU here (FLEETSIM_REQUIRE_GPU=1 makes this a failure)")
BACKENDS = [pytest.param(Backend("numpy"), id="backend-numpy"), pytest.param(Backend("strict"), id="backend-strict"),
            pytest.param(Backend("strict-device1"), id="backend-strict-device1"),
            pytest.param(Backend("cupy"), id="backend-cupy", marks=_cupy_skip)]
on_every_backend = pytest.mark.parametrize("b", BACKENDS)


def host(a) -> np.ndarray:
    return to_host(a)


# ---------------------------------------------------------------- backend module

def test_backend_choice_numpy_and_bad_names():
    assert get_backend("numpy")[0] == "numpy"
    with pytest.raises(BackendError, match="auto, numpy or cupy"):
        get_backend("tpu")


@pytest.mark.skipif(_gpu_here(), reason="a GPU is present")
def test_backend_cupy_without_gpu_is_a_clear_error_and_auto_is_numpy():
    with pytest.raises(BackendError, match="--backend cupy"):
        get_backend("cupy")
    assert get_backend("auto") == ("numpy", np)


@on_every_backend
def test_backend_namespace_transfer_and_scatter(b):
    index = b(np.array([3, 0, 3, 1, 3], dtype=np.int64))
    weights = b(np.array([1.5, 2.0, -0.5, 4.0, 1.0]))
    with b.no_host_sync():
        assert namespace_of(index, weights) is b.xp
        out = scatter_add(index, weights, 5)
        empty = scatter_add(b(np.empty(0, dtype=np.int64)), b(np.empty(0)), 3)
        moved = to_device(np.arange(3.0), index)
    np.testing.assert_array_equal(host(out), [2.0, 4.0, 0.0, 2.0, 0.0])
    np.testing.assert_array_equal(host(empty), [0.0, 0.0, 0.0])
    assert namespace_of(moved) is b.xp
    got = to_host({"a": out, "b": moved})
    assert set(got) == {"a", "b"} and isinstance(got["b"], np.ndarray)
    np.testing.assert_array_equal(got["b"], [0.0, 1.0, 2.0])


@on_every_backend
def test_scatter_add_gives_numpys_bits_on_cupy_and_the_same_every_run(b):
    """Many weights into few bins, in an order where addition order shows in the last bits:
    CuPy adds each bin's run in input order as bincount does (no atomics), so its sums are
    NumPy's exactly and repeat; the standard's running-sum twin is equal within rounding."""
    rng = np.random.default_rng(3)
    index = rng.integers(0, 7, 20_000)
    weights = rng.lognormal(0.0, 3.0, 20_000) * rng.choice([-1.0, 1.0], 20_000)
    want = np.bincount(index, weights=weights, minlength=7)
    runs = [host(scatter_add(b(index), b(weights), 7)) for _ in range(3)]
    if b.name in ("numpy", "cupy"):
        for got in runs:
            np.testing.assert_array_equal(got, want)
    else:
        np.testing.assert_allclose(runs[0], want, rtol=1e-9, atol=1e-9 * np.abs(weights).sum())


def test_backend_strict_devices_do_not_mix():
    a = strict.asarray([1.0], device=strict.Device("device1"))
    with pytest.raises(ValueError):
        hourly_occupancy(a, a + 1.0, a, strict.asarray([0]), 1, 3)


# ---------------------------------------------------------------- occupancy

def occupancy_loop(starts, ends, weights, cells, n_cells, n_hours):
    out = np.zeros((n_cells, n_hours))
    for s, e, w, c in zip(starts, ends, weights, cells):
        for h in range(n_hours):
            out[c, h] += w * max(0.0, min(e, h + 1) - max(s, h))
    return out


intervals = st.lists(st.tuples(st.floats(-3, 30), st.floats(0, 12), st.floats(0.1, 9), st.integers(0, 2)),
                     min_size=1, max_size=20)


def _arrays(rows):
    s = np.array([r[0] for r in rows])
    return s, s + np.array([r[1] for r in rows]), np.array([r[2] for r in rows]), \
        np.array([r[3] for r in rows], dtype=np.int64)


@on_every_backend
@given(rows=intervals)
def test_occupancy_matches_loop(b, rows):
    s, e, w, c = _arrays(rows)
    with b.no_host_sync():
        got = hourly_occupancy(b(s), b(e), b(w), b(c), 3, 24)
        two = hourly_occupancy(b(s), b(e), b(np.stack([w, 2 * w])), b(c), 3, 24)
    want = occupancy_loop(s, e, w, c, 3, 24)
    np.testing.assert_allclose(host(got), want, atol=1e-9)
    np.testing.assert_allclose(host(two), np.stack([want, 2 * want]), atol=1e-9)


@on_every_backend
@given(rows=intervals, frac=st.floats(0.01, 0.99))
def test_splitting_intervals_never_changes_occupancy_or_energy(b, rows, frac):
    """Energy is the integral of power: an interval split at any point gives the same
    hourly occupancy, and so the same energy, cost and carbon."""
    s, e, w, c = _arrays(rows)
    cut = s + frac * (e - s)
    G, H = 3, 24
    coef = [b(np.array(v)) for v in ([150.0, 300.0, 90.0], [600.0, 900.0, 400.0], [50.0, 80.0, 20.0])]
    series = [b(np.full((G, 1), 1.3)), b(np.linspace(20, 90, G * H).reshape(G, H)), b(np.full((G, H), 400.0))]

    def energy(starts, ends, weights, cells):
        occ = hourly_occupancy(b(starts), b(ends), b(weights), b(cells), G, H)
        online = occ + 10.0
        busy = occ[None, ...]
        return occ, energy_by_bin(online, 0.7 * busy, 0.6 * busy, *coef, *series, [0, 5, 24])

    with b.no_host_sync():
        whole = energy(s, e, w, c)
        split = energy(np.concatenate([s, cut]), np.concatenate([cut, e]), np.concatenate([w, w]),
                       np.concatenate([c, c]))
    for one, other in zip(whole, split):
        np.testing.assert_allclose(host(one), host(other), rtol=1e-12, atol=1e-9)


@on_every_backend
def test_occupancy_edges_at_and_beyond_the_horizon(b):
    s, e = np.array([-5.0, 2.5, 23.5, 30.0]), np.array([1.5, 24.0, 40.0, 31.0])
    w, c = np.array([1.0, 2.0, 4.0, 8.0]), np.zeros(4, dtype=np.int64)
    with b.no_host_sync():
        got = hourly_occupancy(b(s), b(e), b(w), b(c), 1, 24)
    np.testing.assert_allclose(host(got), occupancy_loop(s, e, w, c, 1, 24), atol=1e-12)


@on_every_backend
def test_sum_by_bin_matches_loop(b):
    rng = np.random.default_rng(1)
    values = rng.random((2, 3, 50))
    bins = np.repeat(np.arange(5), [7, 13, 0, 24, 6]).astype(np.int64)
    with b.no_host_sync():
        got = sum_by_bin(b(values), b(bins), 5)
    want = np.zeros((2, 3, 5))
    for i in range(2):
        for j in range(3):
            for h in range(50):
                want[i, j, bins[h]] += values[i, j, h]
    np.testing.assert_allclose(host(got), want, rtol=1e-12)


# ---------------------------------------------------------------- power

@on_every_backend
def test_power_curves(b):
    u = np.array([-0.5, 0.0, 0.25, 0.5, 1.0, 1.5])
    want = {"linear": lambda x: x, "sqrt": math.sqrt, "square": lambda x: x * x, "cubic": lambda x: x ** 3}
    for curve in POWER_CURVES:
        with b.no_host_sync():
            got = power_curve(b(u), curve)
        np.testing.assert_allclose(host(got), [want[curve](min(max(x, 0.0), 1.0)) for x in u], rtol=1e-15)
    with pytest.raises(ValueError, match="unknown power curve"):
        power_curve(b(u), "quartic")


def _profile_loop(noise, mean, diurnal_amplitude, weekly_amplitude, peak_hour, start_weekday, noise_sd):
    out = np.empty_like(noise)
    for r in range(noise.shape[0]):
        for h in range(noise.shape[1]):
            diurnal = 1 + diurnal_amplitude * math.cos(2 * math.pi * (h % 24 - peak_hour) / 24)
            day = (h // 24 + start_weekday) % 7
            weekly = 1 - weekly_amplitude if day >= 5 else 1 + 0.4 * weekly_amplitude
            out[r, h] = min(max(mean * diurnal * weekly + noise_sd * noise[r, h], 0.0), 1.0)
    return out


PROFILE = dict(mean=0.7, diurnal_amplitude=0.2, weekly_amplitude=0.1, peak_hour=15.0, noise_sd=0.3)


@on_every_backend
def test_utilization_profile_matches_loop(b):
    noise = np.random.default_rng(2).standard_normal((2, 24 * 9))
    with b.no_host_sync():
        got = utilization_profile(b(noise), start_weekday=3, **PROFILE)
    want = _profile_loop(noise, start_weekday=3, **PROFILE)
    np.testing.assert_allclose(host(got), want, rtol=1e-13, atol=1e-15)
    assert (want == 0).any() and (want == 1).any()      # the noise reaches both clips


@pytest.mark.parametrize("curve", POWER_CURVES)
@on_every_backend
def test_reserved_load_matches_loop(b, curve):
    """The fused reservation kernel: profile, curve and the three sums, in place."""
    rng = np.random.default_rng(3)
    R, G, H = 2, 3, 24 * 8
    base = [rng.random((R, G, H)) * 10 for _ in range(3)]
    occ = np.round(rng.random((R, H)) * 40)
    noise = rng.standard_normal((R, H))
    arrays = [b(a.copy()) for a in base]
    with b.no_host_sync():
        add_reserved_load(*arrays, 1, b(occ), b(noise), PROFILE, 6, curve)
    u = _profile_loop(noise, start_weekday=6, **PROFILE)
    f = {"linear": u, "sqrt": np.sqrt(u), "square": u * u, "cubic": u * u * u}[curve]
    want = [a.copy() for a in base]
    for r in range(R):
        for h in range(H):
            want[0][r, 1, h] += occ[r, h]
            want[1][r, 1, h] += occ[r, h] * f[r, h]
            want[2][r, 1, h] += occ[r, h] * u[r, h]
    for got, expected in zip(arrays, want):
        np.testing.assert_allclose(host(got), expected, rtol=1e-13)


@on_every_backend
def test_it_power_with_node_overhead(b):
    """A node of 8 GPUs, idle 100 W and max 700 W, base 1000 W and dynamic 1200 W."""
    static, curve, linear = per_gpu_coefficients(b([100.0]), b([700.0]), b([1000.0]), b([1200.0]), b([8.0]))
    online, busy = b(np.full((1, 2), 80.0)), b(np.array([[[40.0, 80.0]]]))   # half, then all busy
    with b.no_host_sync():
        got = it_power_w(online, busy * 0.25, busy * 0.5, static, curve, linear)   # u = 0.5, f(u) = 0.25
    gpu = [80 * 100 + g * 600 * 0.25 for g in (40, 80)]
    node = [10 * 1000 + g / 8 * 1200 * 0.5 for g in (40, 80)]
    np.testing.assert_allclose(host(got), [[[gpu[0] + node[0], gpu[1] + node[1]]]], rtol=1e-15)


# ---------------------------------------------------------------- energy

def energy_loop(online, bc, bl, static, curve, linear, pue, price, carbon, edges):
    R, G, H = bc.shape
    out = np.zeros((4, R, G, len(edges) - 1))
    for r in range(R):
        for g in range(G):
            for k in range(len(edges) - 1):
                for h in range(edges[k], edges[k + 1]):
                    on = online[r, g, h] if online.ndim == 3 else online[g, h]
                    it = on * static[g] + bc[r, g, h] * curve[g] + bl[r, g, h] * linear[g]
                    fac = it * pue[g, h if pue.shape[1] > 1 else 0]
                    out[:, r, g, k] += np.array([it, fac, fac * price[g, h], fac * carbon[g, h]]) / 1e6
    return out


def _energy_case(per_replica_online: bool, seasonal: bool):
    rng = np.random.default_rng(4)
    R, G, H = 3, 2, 60
    online = rng.random((R, G, H) if per_replica_online else (G, H)) * 100
    bc, bl = rng.random((R, G, H)) * 50, rng.random((R, G, H)) * 60
    coef = (np.array([300.0, 150.0]), np.array([900.0, 600.0]), np.array([80.0, 40.0]))
    pue = 1.1 + 0.3 * rng.random((G, H)) if seasonal else np.array([[1.25], [1.4]])
    price, carbon = 30 + 70 * rng.random((G, H)), 200 + 300 * rng.random((G, H))
    return online, bc, bl, coef, pue, price, carbon, [0, 1, 24, 24, 59, 60]


@pytest.mark.parametrize("per_replica_online", [False, True])
@pytest.mark.parametrize("seasonal", [False, True])
@on_every_backend
def test_energy_by_bin_matches_loop(b, per_replica_online, seasonal):
    online, bc, bl, coef, pue, price, carbon, edges = _energy_case(per_replica_online, seasonal)
    with b.no_host_sync():
        got = energy_by_bin(b(online), b(bc), b(bl), *map(b, coef), b(pue), b(price), b(carbon), edges)
    np.testing.assert_allclose(host(got), energy_loop(online, bc, bl, *coef, pue, price, carbon, edges),
                               rtol=1e-12, atol=1e-15)


@on_every_backend
def test_energy_by_bin_of_nothing_is_zeros(b):
    none = b(np.empty((2, 0, 5)))
    coef = [b(np.empty(0))] * 3
    series = [b(np.empty((0, 1)))] * 3
    with b.no_host_sync():
        got = energy_by_bin(b(np.empty((0, 5))), none, none, *coef, *series, [0, 5])
    assert host(got).shape == (4, 2, 0, 1)


@on_every_backend
def test_tenant_energy_shares_sum_to_the_site_total(b):
    rng = np.random.default_rng(5)
    R, T, G, H = 2, 3, 2, 48
    online = np.full((G, H), 100.0)
    alloc = rng.random((R, T, G, H)) * 30                    # at most 90 of 100 GPUs held
    util = rng.random((R, T, G, H))
    bc, bl = alloc * util ** 2, alloc * util
    coef = (np.array([300.0, 150.0]), np.array([900.0, 600.0]), np.array([80.0, 40.0]))
    series = (np.array([[1.2], [1.5]]), 40 + rng.random((G, H)) * 50, 300 + rng.random((G, H)) * 100)
    edges = [0, 24, 48]
    with b.no_host_sync():
        shares = tenant_energy_by_bin(b(online), b(alloc), b(bc), b(bl), *map(b, coef), *map(b, series), edges)
        total = energy_by_bin(b(online), b(bc.sum(axis=1)), b(bl.sum(axis=1)), *map(b, coef), *map(b, series),
                              edges)
    shares, total = host(shares), host(total)
    assert shares.shape == (4, R, T + 1, G, 2)
    np.testing.assert_allclose(shares.sum(axis=2), total, rtol=1e-12)
    # a tenant's share is the static draw of its GPUs plus its own dynamic draw
    one = energy_loop(alloc[:, 1], bc[:, 1], bl[:, 1], *coef, *series, edges)
    np.testing.assert_allclose(shares[:, :, 1], one, rtol=1e-12)


@on_every_backend
def test_seasonal_pue(b):
    temp = np.array([[-5.0, 10.0, 18.0, 25.0, 38.0]])
    with b.no_host_sync():
        got = seasonal_pue(b(temp), 1.1, 0.01, 18.0)
    np.testing.assert_allclose(host(got), [[1.1 + 0.01 * max(t - 18.0, 0.0) for t in temp[0]]], rtol=1e-15)


# ---------------------------------------------------------------- failures

def down_loop(up, repair, nodes, mtbf, repair_h, start, n_hours):
    R, G, N, K = up.shape
    out = np.zeros((R, G, n_hours))
    for r in range(R):
        for g in range(G):
            for n in range(nodes[g]):
                t = start[g]
                for k in range(K):
                    fail = t + up[r, g, n, k] * mtbf[g]
                    back = fail + repair[r, g, n, k] * repair_h[g]
                    for h in range(n_hours):
                        out[r, g, h] += max(0.0, min(back, h + 1) - max(fail, h))
                    t = back
    return out


@on_every_backend
def test_nodes_down_matches_loop(b):
    rng = np.random.default_rng(6)
    R, G, N, K, H = 2, 2, 3, 6, 72
    up, repair = rng.exponential(size=(R, G, N, K)), rng.exponential(size=(R, G, N, K))
    nodes, mtbf, repair_h, start = np.array([3, 2]), np.array([20.0, 35.0]), np.array([4.0, 9.5]), np.array([0.0, 10.5])
    with b.no_host_sync():
        got = nodes_down(b(up), b(repair), b(nodes, np.int64), b(mtbf), b(repair_h), b(start), H)
        available = gpus_available(b(np.full((G, H), 24.0)), got, b(np.array([8, 8])))
    want = down_loop(up, repair, nodes, mtbf, repair_h, start, H)
    np.testing.assert_allclose(host(got), want, atol=1e-9)
    np.testing.assert_allclose(host(available), 24.0 - 8 * want, atol=1e-9)
    assert want[:, 1, :10].sum() == 0 and want.max() > 0      # nothing fails before it is online


@pytest.mark.parametrize("b", [Backend("numpy"), Backend("strict-device1")],
                         ids=["backend-numpy", "backend-strict-device1"])
def test_availability_is_mtbf_over_mtbf_plus_repair(b):
    """Exponential up and repair times from an all-up start: the expected fraction of
    nodes down, averaged over [0, T], is q (1 - (1 - exp(-sT)) / (sT)) with
    q = repair / (MTBF + repair) and s = 1/MTBF + 1/repair. Groups are independent
    samples: the tolerance is 4 standard errors of their mean."""
    R, G, N, H = 4, 100, 10, 1000
    mtbf_h, repair_h = 100.0, 10.0
    K = cycles_needed(H, mtbf_h)
    rng = np.random.default_rng(7)
    up, repair = rng.standard_exponential((R, G, N, K)), rng.standard_exponential((R, G, N, K))
    with b.no_host_sync():
        down = nodes_down(b(up), b(repair), b(np.full(G, N), np.int64), b(np.full(G, mtbf_h)),
                          b(np.full(G, repair_h)), b(np.zeros(G)), H)
    fraction = host(down).mean(axis=2).ravel() / N          # (R * G,) independent samples
    q, s = repair_h / (mtbf_h + repair_h), 1 / mtbf_h + 1 / repair_h
    expected = q * (1 - (1 - math.exp(-s * H)) / (s * H))
    se = fraction.std(ddof=1) / math.sqrt(fraction.size)
    assert abs(fraction.mean() - expected) < 4 * se, (fraction.mean(), expected, se)
    assert 0.08 < fraction.mean() < 0.10


def test_availability_with_fixed_repair_time():
    """Fixed repairs (draws of ones): after the start-up transient the fraction down is
    repair / (MTBF + repair), within 4 standard errors over independent groups."""
    R, G, N, H, warm = 2, 100, 10, 6000, 1000
    mtbf_h, repair_h = 100.0, 10.0
    K = cycles_needed(H, mtbf_h)
    rng = np.random.default_rng(8)
    down = nodes_down(rng.standard_exponential((R, G, N, K)), np.ones((R, G, N, K)), np.full(G, N),
                      np.full(G, mtbf_h), np.full(G, repair_h), np.zeros(G), H)
    fraction = down[:, :, warm:].mean(axis=2).ravel() / N
    se = fraction.std(ddof=1) / math.sqrt(fraction.size)
    assert abs(fraction.mean() - repair_h / (mtbf_h + repair_h)) < 4 * se


def test_cycles_needed_cover_the_horizon():
    rng = np.random.default_rng(9)
    K = cycles_needed(500.0, 20.0)
    ends = np.cumsum(rng.exponential(20.0, (5000, K)), axis=1)[:, -1]
    assert ends.min() > 500.0


# ---------------------------------------------------------------- statistics

@on_every_backend
def test_mean_ci95_matches_direct_computation(b):
    samples = np.random.default_rng(10).random((7, 3)) * 100
    with b.no_host_sync():
        mean, lo, hi = mean_ci95(b(samples))
    m = samples.sum(axis=0) / 7
    sd = np.sqrt(((samples - m) ** 2).sum(axis=0) / 6)
    np.testing.assert_allclose(host(mean), m, rtol=1e-14)
    np.testing.assert_allclose(host(hi) - host(mean), 2.447 * sd / math.sqrt(7), rtol=1e-12)
    np.testing.assert_allclose(host(mean) - host(lo), 2.447 * sd / math.sqrt(7), rtol=1e-12)
    np.testing.assert_allclose(host(hi) - host(mean), 2.447 * samples.std(axis=0, ddof=1) / math.sqrt(7),
                               rtol=1e-14)
    one = mean_ci95(b(samples[:1]))
    assert np.isnan(host(one[1])).all() and np.isnan(host(one[2])).all()


def test_mean_ci95_covers_the_true_mean_95_percent_of_the_time():
    n, trials = 5, 4000
    samples = np.random.default_rng(11).normal(3.0, 2.0, (n, trials))
    _, lo, hi = mean_ci95(samples)
    coverage = ((lo <= 3.0) & (3.0 <= hi)).mean()
    assert abs(coverage - 0.95) < 4 * math.sqrt(0.95 * 0.05 / trials)


def test_t_quantiles():
    assert t_quantile_975(1) == 12.706 and t_quantile_975(30) == 2.042
    values = [t_quantile_975(df) for df in range(1, 400)]
    assert all(a > b for a, b in zip(values, values[1:]))
    assert 2.021 < t_quantile_975(35) < 2.042
    assert abs(t_quantile_975(10 ** 6) - 1.96) < 1e-3
    with pytest.raises(ValueError):
        t_quantile_975(0)


@on_every_backend
def test_percentile_is_numpys_linear_method(b):
    rng = np.random.default_rng(12)
    for n in (1, 2, 3, 4, 7, 20):
        samples = rng.random((n, 3)) * 10
        for q in (0, 1, 5, 25, 33.3, 50, 95, 99, 100):
            with b.no_host_sync():
                got = percentile(b(samples), q)
            np.testing.assert_array_equal(host(got), np.percentile(samples, q, axis=0))
    assert np.isnan(host(percentile(b(np.empty((0, 2))), 50))).all()
    with pytest.raises(ValueError):
        percentile(b(samples), 101)
