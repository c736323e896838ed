"""`python -m sim fit TRACE --format F`: fit the synthetic workload to a job log.

Writes a `workload:` YAML block that validates against `sim.config.schema.Workload`, so a
planner can replace a trace by a synthetic stream and grow it forward
(`growth_per_year` is left at 0 for them to set).

- Arrivals. The synthetic model is a mean rate shaped by a mean-preserving diurnal
  cosine (amplitude, peak hour) and a weekday/weekend factor (weekdays 1 + 0.4a,
  weekends 1 - a); it does not take a free hour-of-week table. So the fit takes the
  mean rate over the trace's span, the first harmonic of the hour-of-day rates, and
  the weekday/weekend ratio; the measured hour-of-week table is printed as a
  comment. Traces without a calendar (Alibaba openb counts seconds from its start)
  are read as if they began on a Monday at 00:00, and the block says so.
- GPU counts: the empirical mix, every count with its number of jobs.
- Durations: lognormal and exponential by maximum likelihood, the one with the
  higher log-likelihood chosen (or as `--durations` says); an empirical version
  (100 equal-count bins, each at its mean, so the mean is kept) is printed as a
  comment to paste instead.

Exit codes: 0 ok, 2 bad input (trace, flags).
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


MIN_DURATION_S = 1.0     # logs round to whole seconds; a 0 s job is "under half a second"


BINS = 100


@dataclass
class Fit:
    jobs: int
    span_h: float
    rate_per_h: float
    diurnal_amplitude: float
    peak_hour: float
    weekly_amplitude: float
    weekend_busier: bool
    hour_of_week_rate: np.ndarray     # (7, 24) arrivals per hour, Monday first
    gpu_values: list[int]
    gpu_weights: list[int]
    lognormal_mean_h: float
    lognormal_sigma: float
    exponential_mean_h: float
    loglik_lognormal: float
    loglik_exponential: float
    duration_bins_h: np.ndarray       # mean of each of BINS equal-count groups of the sorted durations
    trace_gpu_h: float                # sum of GPUs x duration over the fitted jobs
    calendar: bool


def _hour_exposure(first_h: float, last_h: float) -> np.ndarray:
    """Whole clock hours (since 1970, local) covered by [first_h, last_h], as integers."""
    return np.arange(math.floor(first_h), math.floor(last_h) + 1, dtype=np.int64)


def hour_of_week(hours_since_1970: np.ndarray) -> np.ndarray:
    """0 = Monday 00:00-01:00 ... 167 = Sunday 23:00 (1970-01-01 was a Thursday)."""
    hours = np.floor(hours_since_1970).astype(np.int64)
    return ((hours // 24 + 3) % 7) * 24 + hours % 24


def fit_trace(submit_s: np.ndarray, duration_s: np.ndarray, gpus: np.ndarray,
              clock_origin_s: float | None) -> Fit:
    n = submit_s.size
    if n < 2:
        raise ValueError(f"{n} job(s): a fit needs at least 2")
    calendar = clock_origin_s is not None
    # a trace without a calendar is placed at a Monday 00:00 (1970-01-05)
    clock_h = (submit_s + (clock_origin_s if calendar else 4 * 86400.0)) / 3600.0
    first_h, last_h = clock_h.min(), clock_h.max()
    span_h = last_h - first_h
    if span_h <= 0:
        raise ValueError("every job has the same submit time: no arrival rate to fit")

    # rates by hour of week: arrivals over the hours of that slot the trace covers
    slots = hour_of_week(_hour_exposure(first_h, last_h).astype(np.float64))
    exposure = np.bincount(slots, minlength=168).astype(np.float64)
    arrivals = np.bincount(hour_of_week(clock_h), minlength=168).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        how = np.where(exposure > 0, arrivals / exposure, np.nan).reshape(7, 24)
        by_hour = arrivals.reshape(7, 24).sum(0) / exposure.reshape(7, 24).sum(0)
        by_day = arrivals.reshape(7, 24).sum(1) / exposure.reshape(7, 24).sum(1)

    # diurnal: first Fourier harmonic of the hour-of-day rates (hour h covers [h, h+1): centre h + 0.5)
    ok = np.isfinite(by_hour)
    rel = by_hour[ok] / by_hour[ok].mean()
    phase = 2 * np.pi * (np.arange(24)[ok] + 0.5) / 24
    a, b = 2 * np.mean(rel * np.cos(phase)), 2 * np.mean(rel * np.sin(phase))
    amplitude = float(min(1.0, math.hypot(a, b)))
    peak = float((math.atan2(b, a) * 24 / (2 * np.pi)) % 24) if amplitude > 0 else 14.0

    # weekly: weekdays run at m(1 + 0.4a), weekends at m(1 - a), m = (5 weekday + 2 weekend) / 7
    weekday = np.nanmean(by_day[:5]) if np.isfinite(by_day[:5]).any() else np.nan
    weekend = np.nanmean(by_day[5:]) if np.isfinite(by_day[5:]).any() else np.nan
    weekly, busier = 0.0, False
    if np.isfinite(weekday) and np.isfinite(weekend):
        m = (5 * weekday + 2 * weekend) / 7
        weekly = (weekday - weekend) / (1.4 * m)
        busier = weekly < 0
        weekly = float(min(1.0, max(0.0, weekly)))

    values, counts = np.unique(gpus.astype(np.int64), return_counts=True)

    d_h = np.maximum(duration_s, MIN_DURATION_S) / 3600.0
    logs = np.log(d_h)
    mu, sigma = float(logs.mean()), float(logs.std())
    exp_mean = float(d_h.mean())
    ll_exp = -n * math.log(exp_mean) - n
    ll_ln = (-float(logs.sum()) - n * math.log(sigma * math.sqrt(2 * math.pi)) - n / 2) if sigma > 0 else -math.inf
    # equal-count bins at their means: the empirical version keeps the trace's mean duration
    bins = np.array([part.mean() for part in np.array_split(np.sort(d_h), min(BINS, n))])

    return Fit(jobs=n, span_h=float(span_h), rate_per_h=n / float(span_h), diurnal_amplitude=amplitude,
               peak_hour=peak, weekly_amplitude=weekly, weekend_busier=busier, hour_of_week_rate=how,
               gpu_values=values.tolist(), gpu_weights=counts.tolist(),
               lognormal_mean_h=math.exp(mu + sigma ** 2 / 2), lognormal_sigma=sigma, exponential_mean_h=exp_mean,
               loglik_lognormal=ll_ln, loglik_exponential=ll_exp, duration_bins_h=bins, calendar=calendar,
               trace_gpu_h=float((gpus * np.maximum(duration_s, 0)).sum()) / 3600.0)


def _g(x: float) -> str:
    """A number as YAML, 6 significant digits, never 0 for a positive value."""
    text = f"{x:.6g}"
    return text if float(text) > 0 or x <= 0 else f"{x:.3e}"


def _chosen(fit: Fit, choice: str) -> str:
    if choice == "auto":  # sigma 0 (every job took the same time) writes a fixed duration
        better = fit.loglik_lognormal >= fit.loglik_exponential or fit.lognormal_sigma == 0
        return "lognormal" if better else "exponential"
    return choice


def model_gpu_h(fit: Fit, choice: str) -> float:
    """GPU-hours the block implies over the trace's span: jobs x mean GPUs x mean duration (independent)."""
    mean_gpus = float(np.average(fit.gpu_values, weights=fit.gpu_weights))
    mean_h = {"lognormal": fit.lognormal_mean_h, "exponential": fit.exponential_mean_h,
              "empirical": float(fit.duration_bins_h.mean())}[_chosen(fit, choice)]
    return fit.jobs * mean_gpus * mean_h


def duration_block(fit: Fit, choice: str) -> str:
    choice = _chosen(fit, choice)
    if choice == "lognormal":
        if fit.lognormal_sigma == 0:  # every job took the same time
            return f"{{dist: fixed, value: {_g(fit.exponential_mean_h)}}}"
        return f"{{dist: lognormal, mean: {_g(fit.lognormal_mean_h)}, sigma: {_g(fit.lognormal_sigma)}}}"
    if choice == "exponential":
        return f"{{dist: exponential, mean: {_g(fit.exponential_mean_h)}}}"
    return f"{{dist: empirical, values: [{', '.join(_g(v) for v in fit.duration_bins_h)}]}}"


def render(fit: Fit, *, trace_path: str, fmt: str, node_type: str, durations: str, command: str,
           rows_skipped: int, rows_left_out: int, selected: list[str] | None, first_clock_s: float | None) -> str:
    span_d = fit.span_h / 24
    when = ""
    if first_clock_s is not None:
        t0 = dt.datetime(1970, 1, 1) + dt.timedelta(seconds=first_clock_s)
        t1 = t0 + dt.timedelta(hours=fit.span_h)
        when = f" submitted {t0:%Y-%m-%d %H:%M} to {t1:%Y-%m-%d %H:%M},"
    chosen = _chosen(fit, durations)
    implied = model_gpu_h(fit, durations)
    lines = [
        f"# Workload fitted by: {command}",
        f"# trace: {trace_path} ({fmt}): {fit.jobs:,} jobs{when} over {span_d:.1f} days"
        + (f", tenants {', '.join(selected)}" if selected else "")
        + f"; {rows_skipped} bad rows skipped, {rows_left_out} rows not GPU jobs left out",
        "# arrivals: the synthetic model is a mean rate with a diurnal cosine and a weekday/weekend factor,",
        "#   not a free hour-of-week table: fitted as the first harmonic of the hour-of-day rates and the",
        "#   weekday/weekend ratio (the measured hour-of-week table is at the end).",
    ]
    if not fit.calendar:
        lines.append("#   This trace has no calendar: it was read as if it began on a Monday at 00:00, so the hour of")
        lines.append("#   day and the day of week are relative to its start, not to clock time.")
    if fit.weekend_busier:
        lines.append("#   Weekends were busier than weekdays, which the model cannot express: weekly_amplitude 0.")
    lines += [
        "#   growth_per_year is not fitted: set it to grow the workload forward.",
        f"# GPU-hours: the trace's jobs hold {fit.trace_gpu_h:,.0f}; this block implies about {implied:,.0f} over the"
        f" same span ({implied / fit.trace_gpu_h:.2f}x)" if fit.trace_gpu_h > 0 else "# GPU-hours: none in the trace",
    ]
    if fit.trace_gpu_h > 0 and abs(implied / fit.trace_gpu_h - 1) > 0.1:
        lines += [
            "#   The model draws GPU count and duration independently (and a lognormal fit may miss the tail's",
            "#   mean). To keep how duration varies with job size, fit size classes separately (--gpus 1-1,",
            "#   --gpus 2-8, --gpus 9-100000) as one tenant each, and compare the empirical durations below.",
        ]
    lines += [
        f"# durations (h): lognormal log-likelihood {fit.loglik_lognormal:,.0f}, exponential "
        f"{fit.loglik_exponential:,.0f} ({fit.jobs:,} jobs): {chosen} written below. Mean duration (h):",
        f"#   trace {fit.exponential_mean_h:.4g}, lognormal fit {fit.lognormal_mean_h:.4g}, exponential fit "
        f"{fit.exponential_mean_h:.4g}, empirical bins {fit.duration_bins_h.mean():.4g} (GPU-hours scale with it).",
        "workload:",
        f"  node_type: {node_type}",
        f"  arrival_rate_per_h: {_g(fit.rate_per_h)}",
        "  growth_per_year: 0.0",
        f"  diurnal_amplitude: {fit.diurnal_amplitude:.4f}",
        f"  peak_hour: {fit.peak_hour:.2f}",
        f"  weekly_amplitude: {fit.weekly_amplitude:.4f}",
        f"  gpus: {{dist: empirical, values: {fit.gpu_values}, weights: {fit.gpu_weights}}}",
        f"  duration_h: {duration_block(fit, durations)}",
        f"# the durations as an empirical distribution ({fit.duration_bins_h.size} equal-count bins, each at its mean,",
        "# equal weights); to use it, replace duration_h above with:",
        f"#   duration_h: {duration_block(fit, 'empirical')}",
        "# alternatives:",
        f"#   duration_h: {duration_block(fit, 'lognormal')}",
        f"#   duration_h: {duration_block(fit, 'exponential')}",
        "# measured arrivals per hour by hour of week (rows Monday to Sunday, columns hours 0 to 23;"
        " n/a: not covered):",
    ]
    for day, row in zip(DAYS, fit.hour_of_week_rate):
        lines.append(f"#   {day}: " + " ".join("n/a" if not np.isfinite(v) else f"{v:.3g}" for v in row))
    return "\n".join(lines) + "\n"
