"""Closed forms for M/M/c queues (used by the tests)."""
import math


def erlang_c(c: int, a: float) -> float:
    """Probability an arrival waits in M/M/c with offered load a = lambda/mu < c."""
    top = a ** c / math.factorial(c) * c / (c - a)
    return top / (sum(a ** k / math.factorial(k) for k in range(c)) + top)


def mmc_mean_wait(c: int, lam: float, mu: float) -> float:
    return erlang_c(c, lam / mu) / (c * mu - lam)


def priority_mmc_waits(c: int, lams: list[float], mu: float) -> list[float]:
    """Non-preemptive priority M/M/c, equal service rates (Cobham): class k waits
    W0 / ((1 - s_{k-1})(1 - s_k)), W0 = C(c, a) / (c mu), s_k = sum_{i<=k} lam_i / (c mu)."""
    w0 = erlang_c(c, sum(lams) / mu) / (c * mu)
    out, s_prev = [], 0.0
    for lam in lams:
        s = s_prev + lam / (c * mu)
        out.append(w0 / ((1 - s_prev) * (1 - s)))
        s_prev = s
    return out
