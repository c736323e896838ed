"""Scenario configuration: YAML -> validated, immutable pydantic models.

Flow (as in Ciw): read YAML, resolve `include:`, fill defaults, validate every
field with a message that names its YAML path, then check cross-references
(sites, node types, companies, power fit) before anything is simulated.
Every failure raises `ConfigError`, which the command line turns into one
line and exit code 2.

Units live in field names: `_mw`, `_w`, `_h`, `_usd`, `_per_year`.
Dates are `YYYY-MM-DD` or `YYYY-MM` (first of month); durations are numbers of
hours or strings such as `12y`, `90d`, `2w`, `6h`, `30min` (a year is 365 days).
"""
from __future__ import annotations

import datetime as dt
import math
import re
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import (BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator,
                      model_validator)

HOURS_PER_YEAR = 8760.0
MAX_JOB_GPUS = 1_000_000
MAX_JOBS_PER_REPLICA = 50_000_000


class ConfigError(Exception):
    """Bad input: one line naming where (file, YAML path) and what was expected."""


# ---------------------------------------------------------------- scalar types

def parse_date(value) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        m = re.fullmatch(r"(\d{4})-(\d{2})(?:-(\d{2}))?", value.strip())
        if m:
            try:
                return dt.date(int(m[1]), int(m[2]), int(m[3] or 1))
            except ValueError:
                pass
    raise ValueError(f"expected a date YYYY-MM-DD or YYYY-MM, got {value!r}")


_DURATION_UNITS_H = {"y": HOURS_PER_YEAR, "w": 168.0, "d": 24.0, "h": 1.0, "min": 1 / 60}


def parse_duration_h(value) -> float:
    if isinstance(value, bool):
        raise ValueError(f"expected a duration such as 12y, 90d, 6h or a number of hours, got {value!r}")
    if isinstance(value, (int, float)):
        hours = float(value)
    elif isinstance(value, str):
        m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*(y|w|d|h|min)\s*", value)
        if not m:
            raise ValueError(f"expected a duration such as 12y, 90d, 6h or a number of hours, got {value!r}")
        hours = float(m[1]) * _DURATION_UNITS_H[m[2]]
    else:
        raise ValueError(f"expected a duration such as 12y, 90d, 6h or a number of hours, got {value!r}")
    if not math.isfinite(hours) or hours <= 0:
        raise ValueError(f"expected a positive duration, got {value!r}")
    return hours


Date = Annotated[dt.date, BeforeValidator(parse_date)]
DurationH = Annotated[float, BeforeValidator(parse_duration_h)]
Name = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")]
NonNeg = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Pos = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Fraction = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]


def _schedule(value):
    """A level that steps at dates: a number (from the start) or {date: level}."""
    if isinstance(value, dict):
        out = {}
        for key, level in value.items():
            out[parse_date(key)] = level
        if not out:
            raise ValueError("expected at least one {date: value} step")
        return out
    return value


Schedule = Annotated[NonNeg | dict[Date, NonNeg], BeforeValidator(_schedule)]


def schedule_steps(schedule, default_date: dt.date) -> list[tuple[dt.date, float]]:
    """Sorted (date, level) steps of a Schedule; a bare number starts at default_date."""
    if isinstance(schedule, dict):
        return sorted(schedule.items())
    return [(default_date, float(schedule))]


def reservation_levels(s: "Scenario", r: "Reservation") -> list[tuple[float, float, int]]:
    """(start_h, end_h, GPUs) of a reservation's contracted levels, in hours from the scenario
    start (they may begin before it and end past the horizon); nothing after the term."""
    start = r.start or s.start
    end_h = s.hours_from_start(start) + r.term if r.term is not None else s.horizon_h
    steps = [(s.hours_from_start(max(day, start)), int(round(g))) for day, g in schedule_steps(r.gpus, start)]
    levels = []
    for k, (a, gpus) in enumerate(steps):
        b = min(end_h, steps[k + 1][0]) if k + 1 < len(steps) else end_h
        if b > a:
            levels.append((a, b, gpus))
    return levels


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ---------------------------------------------------------------- sites and energy

class HourlySeries(Strict):
    """A CSV with a timestamp column; values are taken by hour of the year."""
    path: str
    column: str
    timestamp_column: str = "timestamp"


class TimeOfUse(Strict):
    peak_usd_per_mwh: NonNeg
    offpeak_usd_per_mwh: NonNeg
    peak_start_hour: Annotated[int, Field(ge=0, le=23)] = 14
    peak_end_hour: Annotated[int, Field(ge=1, le=24)] = 20
    weekdays_only: bool = True

    @model_validator(mode="after")
    def _window(self):
        if self.peak_end_hour <= self.peak_start_hour:
            raise ValueError("peak_end_hour must be after peak_start_hour")
        return self


class EnergyPrice(Strict):
    """Exactly one of: flat, time of use, hourly series."""
    flat_usd_per_mwh: NonNeg | None = None
    time_of_use: TimeOfUse | None = None
    series: HourlySeries | None = None

    @model_validator(mode="after")
    def _one(self):
        if sum(x is not None for x in (self.flat_usd_per_mwh, self.time_of_use, self.series)) != 1:
            raise ValueError("give exactly one of flat_usd_per_mwh, time_of_use, series")
        return self


class CarbonIntensity(Strict):
    flat_kg_per_mwh: NonNeg | None = None
    series: HourlySeries | None = None

    @model_validator(mode="after")
    def _one(self):
        if (self.flat_kg_per_mwh is None) == (self.series is None):
            raise ValueError("give exactly one of flat_kg_per_mwh, series")
        return self


class LegacyConversion(Strict):
    """Convert a legacy load to GPU-ready capacity: from `start` the load winds down linearly
    over `months` while `capex_usd_per_mw` is spent evenly; converted MW then earn
    `converted_usd_per_mw_year` (0: not sold; they never become deployments in the engine)."""
    start: Date
    months: Annotated[int, Field(ge=1, le=240)]
    capex_usd_per_mw: NonNeg
    converted_usd_per_mw_year: NonNeg = 0.0


class LegacyLoad(Strict):
    """A non-GPU load at a site (e.g. bitcoin mining), modelled for its money only: `mw` is
    its whole electrical draw, paid at its own power price; not in the engine or energy metrics."""
    name: Name
    mw: Pos
    revenue_usd_per_mw_year: NonNeg
    power_usd_per_mwh: NonNeg
    opex_usd_per_mw_year: NonNeg = 0.0
    conversion: LegacyConversion | None = None


class SeasonalPue(Strict):
    """PUE from the outdoor temperature: `min` while free cooling suffices, rising by
    `per_c_above` for each degree C above `free_cooling_below_c` (chillers take over)."""
    min: Annotated[float, Field(ge=1.0, le=3.0)]
    per_c_above: Annotated[float, Field(ge=0, le=0.5)] = 0.01
    free_cooling_below_c: Annotated[float, Field(ge=-50, le=50)] = 18.0
    temperature_series: HourlySeries


class Site(Strict):
    name: Name
    owner: Name
    critical_it_mw: Schedule
    pue: Annotated[float, Field(ge=1.0, le=3.0)] | SeasonalPue = 1.3
    energy_price: EnergyPrice
    carbon: CarbonIntensity
    opex_usd_per_kw_month: NonNeg = 0.0
    spare_fraction: Annotated[float, Field(ge=0, lt=1)] = 0.0    # nodes held back to replace failed ones
    state: str | None = None
    legacy_loads: list[LegacyLoad] = []


# ---------------------------------------------------------------- hardware

class NodeType(Strict):
    name: Name
    gpus_per_node: Annotated[int, Field(ge=1, le=1024)]
    gpu_idle_w: NonNeg
    gpu_max_w: Pos
    node_base_w: NonNeg = 0.0
    node_dynamic_w: NonNeg = 0.0
    power_curve: Literal["linear", "sqrt", "square", "cubic"] = "linear"
    capex_usd_per_gpu: NonNeg = 0.0
    depreciation_years: Pos = 6.0
    nodes_per_pod: Annotated[int, Field(ge=1)] | None = None   # network domain for gang jobs
    # Hardware failures: the node is repaired (a spare takes its place meanwhile, if the site has one).
    failures_per_gpu_year: Annotated[float, Field(ge=0, le=1000)] = 0.0
    repair_h: DurationH = 96.0
    # Interruptions (a fault that a reboot or drain clears): the node's jobs restart from their
    # checkpoints and the node is back after a short recovery; no spare is used.
    interruptions_per_gpu_year: Annotated[float, Field(ge=0, le=1000)] = 0.0
    interruption_recovery_h: DurationH = 1.0
    # GPUs one outage takes out (default: the whole node). Smaller for a rack-scale node, such
    # as a 4-GPU compute tray of a 72-GPU NVL72 rack: the node's jobs restart, the rest of it
    # keeps serving. Spares are whole nodes, so there are none for a smaller failure domain.
    failure_domain_gpus: Annotated[int, Field(ge=1)] | None = None

    @field_validator("gpu_max_w")
    @classmethod
    def _max_above_idle(cls, gpu_max_w: float, info) -> float:
        idle = info.data.get("gpu_idle_w")
        if idle is not None and idle > gpu_max_w:
            raise ValueError(f"must be at least gpu_idle_w ({idle:g}), got {gpu_max_w:g}")
        return gpu_max_w

    @field_validator("failure_domain_gpus")
    @classmethod
    def _domain_within_node(cls, domain: int | None, info) -> int | None:
        n = info.data.get("gpus_per_node")
        if domain is not None and n is not None and domain > n:
            raise ValueError(f"must be at most gpus_per_node ({n}), got {domain}")
        return domain

    @property
    def whole_node_outages(self) -> bool:
        return self.failure_domain_gpus in (None, self.gpus_per_node)

    @property
    def node_max_w(self) -> float:
        return self.gpus_per_node * self.gpu_max_w + self.node_base_w + self.node_dynamic_w


class NodeListRef(Strict):
    """Count a deployment's nodes in a cluster's node list (FGD's openb lists, PAI 2020's
    machine spec): the GPU nodes with the node type's GPUs per node, of these GPU models
    (all models when not given)."""
    path: str
    models: Annotated[list[str], Field(min_length=1)] | None = None


class Deployment(Strict):
    site: Name
    node_type: Name
    nodes: Annotated[int, Field(ge=1)]
    nodes_from: NodeListRef | None = None   # read into `nodes` before validation
    start: Date | None = None
    owner: Name | None = None


# ---------------------------------------------------------------- demand

class Distribution(Strict):
    """fixed {value}; exponential {mean}; lognormal {mean, sigma (of log)}; empirical {values, weights}."""
    dist: Literal["fixed", "exponential", "lognormal", "empirical"]
    value: Pos | None = None
    mean: Pos | None = None
    sigma: Pos | None = None
    values: list[Pos] | None = None
    weights: list[NonNeg] | None = None

    @model_validator(mode="after")
    def _fields(self):
        need = {"fixed": {"value"}, "exponential": {"mean"}, "lognormal": {"mean", "sigma"},
                "empirical": {"values"}}[self.dist]
        given = {k for k in ("value", "mean", "sigma", "values", "weights") if getattr(self, k) is not None}
        missing = need - given
        extra = given - need - ({"weights"} if self.dist == "empirical" else set())
        if missing:
            raise ValueError(f"dist {self.dist} needs {', '.join(sorted(missing))}")
        if extra:
            raise ValueError(f"dist {self.dist} takes no {', '.join(sorted(extra))}")
        if self.dist == "empirical":
            if not self.values:
                raise ValueError("empirical values must not be empty")
            if self.weights is not None:
                if len(self.weights) != len(self.values):
                    raise ValueError(f"{len(self.weights)} weights for {len(self.values)} values")
                if sum(self.weights) <= 0:
                    raise ValueError("empirical weights must not all be zero")
        return self


class UtilizationProfile(Strict):
    """Hourly GPU utilization of reserved capacity: mean with diurnal and weekly shape plus noise."""
    mean: Fraction = 0.7
    diurnal_amplitude: Fraction = 0.0
    weekly_amplitude: Fraction = 0.0
    noise_sd: Fraction = 0.0
    peak_hour: Annotated[float, Field(ge=0, lt=24)] = 14.0


class Sla(Strict):
    """Each month, reserved GPU-hours not delivered beyond (1 - availability_target) of the
    month's contracted GPU-hours are credited at credit_multiple x price, up to
    credit_cap_share of the month's bill. Defaults: every undelivered GPU-hour at its price."""
    availability_target: Fraction = 1.0
    credit_multiple: Annotated[float, Field(ge=0, le=100)] = 1.0
    credit_cap_share: Fraction = 1.0


class Reservation(Strict):
    node_type: Name
    gpus: Schedule
    site: Name | None = None
    start: Date | None = None
    term: DurationH | None = None
    price_usd_per_gpu_hour: NonNeg = 0.0
    contract_value_usd: NonNeg | None = None   # instead of a price: value / contracted GPU-hours
    take_or_pay: bool = True                   # False: pays delivered GPU-hours x mean utilization
    prepayment_share: Fraction = 0.0           # of the contract value, paid in cash at its start
    sla: Sla = Sla()
    utilization: UtilizationProfile = UtilizationProfile()
    # Lend idle reserved GPUs to spot work: the profile then says what share of the reserved
    # GPUs the tenant uses each hour (those run at full load); the rest run other tenants'
    # spot jobs, preempted as the tenant's use comes back. Non-spot work never takes them.
    lend_idle: bool = False

    @model_validator(mode="after")
    def _pricing(self):
        if self.contract_value_usd is not None:
            if self.price_usd_per_gpu_hour:
                raise ValueError("give price_usd_per_gpu_hour or contract_value_usd, not both")
            if self.term is None:
                raise ValueError("contract_value_usd needs a term to spread the value over")
        if self.prepayment_share and not self.take_or_pay:
            raise ValueError("prepayment_share needs take_or_pay: true (a prepayment settles contracted bills)")
        return self


TRACE_FORMATS = ("swf", "philly", "alibaba_openb")


class TraceSource(Strict):
    """Replay a job log: submit times (offset so the trace's first job lands at `start`,
    stretched by `time_scale`) and durations exactly as recorded."""
    path: str
    format: Literal[TRACE_FORMATS]
    time_scale: Pos = 1.0
    start: Date | None = None
    select: list[str] | None = None     # the trace's tenants (virtual clusters, users) to keep
    skip_bad_rows: bool = False


class Workload(Strict):
    """A job stream: synthetic (Poisson arrivals with growth, diurnal and weekly shape;
    GPU-count and duration distributions) or a replayed `trace`."""
    node_type: Name
    tier: Literal["on_demand", "spot"] = "on_demand"
    trace: TraceSource | None = None
    arrival_rate_per_h: Annotated[float, Field(gt=0, le=1e6)] | None = None
    growth_per_year: Annotated[float, Field(gt=-1, le=10)] = 0.0
    diurnal_amplitude: Fraction = 0.0
    weekly_amplitude: Fraction = 0.0
    peak_hour: Annotated[float, Field(ge=0, lt=24)] = 14.0
    gpus: Distribution | None = None
    duration_h: Distribution | None = None
    utilization: Fraction = 0.8
    price_usd_per_gpu_hour: NonNeg = 0.0
    price_decline_per_year: Annotated[float, Field(ge=0, lt=1)] = 0.0   # market price falls this share a year
    max_wait_h: Pos | None = None
    runtime_estimate_factor: Annotated[float, Field(ge=1, le=1000)] = 1.0  # users' estimate / real duration
    checkpoint_interval_h: DurationH | None = None   # a failure loses the work since the last checkpoint
    gang_in_pod: bool = False                        # multi-node jobs need one network domain
    start: Date | None = None
    end: Date | None = None

    @model_validator(mode="after")
    def _synthetic_or_trace(self):
        synthetic = {"arrival_rate_per_h": self.arrival_rate_per_h, "gpus": self.gpus, "duration_h": self.duration_h}
        if self.trace is not None:
            given = sorted(k for k, v in synthetic.items() if v is not None)
            if given:
                raise ValueError(f"a trace workload takes its jobs from the trace; remove {', '.join(given)}")
        else:
            missing = sorted(k for k, v in synthetic.items() if v is None)
            if missing:
                raise ValueError(f"needs {', '.join(missing)} (or a trace)")
        return self

    @field_validator("gpus")
    @classmethod
    def _whole_gpus(cls, gpus: Distribution) -> Distribution:
        if gpus.dist not in ("fixed", "empirical"):
            raise ValueError("takes dist fixed or empirical (whole GPUs)")
        counts = [gpus.value] if gpus.dist == "fixed" else gpus.values
        if any(c != int(c) or c > MAX_JOB_GPUS for c in counts):
            raise ValueError(f"must be whole numbers of GPUs up to {MAX_JOB_GPUS:,}, got {counts}")
        return gpus


class Tenant(Strict):
    name: Name
    provider: Name
    fair_share_weight: Pos = 1.0
    reservation: Reservation | None = None
    workload: Workload | None = None

    @model_validator(mode="after")
    def _has_demand(self):
        if self.reservation is None and self.workload is None:
            raise ValueError("a tenant needs a reservation, a workload or both")
        return self


# ---------------------------------------------------------------- companies and contracts

class FloatingRate(Strict):
    """A floating annual rate: the company's `sofr` plus this spread."""
    sofr_plus: float


def _rate(value):
    """An annual rate: a number (0.0775) or floating ({sofr_plus: 0.0225})."""
    if isinstance(value, dict):
        spread = value.get("sofr_plus")
        if set(value) != {"sofr_plus"} or isinstance(spread, bool) or not isinstance(spread, (int, float)) \
                or not -0.05 <= spread <= 1:
            raise ValueError(f"expected {{sofr_plus: spread}} with a spread from -0.05 to 1, got {value!r}")
        return FloatingRate(sofr_plus=float(spread))
    if isinstance(value, FloatingRate):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ValueError(f"expected an annual rate from 0 to 1 or {{sofr_plus: spread}}, got {value!r}")
    return float(value)


Rate = Annotated[float | FloatingRate, BeforeValidator(_rate)]


class Loan(Strict):
    name: Name
    principal_usd: Pos
    rate: Rate
    maturity: Date
    start: Date | None = None
    amortization: Literal["amortizing", "bullet"] = "bullet"
    gpu_collateral: bool = False     # secured on the company's GPUs: counts in loan-to-collateral


class GpuFinancing(Strict):
    """Each deployment's GPU capex is financed at `ltv` by an amortizing loan from its start,
    secured on those GPUs."""
    ltv: Annotated[float, Field(ge=0, le=1)]
    rate: Rate
    term: DurationH


class Covenants(Strict):
    """Debt covenants; a month breaches when the trailing DSCR is below `min_dscr` or GPU-secured
    debt over the GPUs' resale value is above `max_loan_to_collateral`."""
    min_dscr: Pos | None = None
    max_loan_to_collateral: Pos | None = None


class Company(Strict):
    name: Name
    discount_rate: Annotated[float, Field(ge=0, le=1)] = 0.10
    opex_usd_per_year: NonNeg = 0.0
    opex_usd_per_mw_year: NonNeg = 0.0       # per MW of critical IT of the GPUs it owns, once online
    gpu_resale_decline_per_year: Annotated[float, Field(ge=0, lt=1)] = 0.0   # collateral value falls
    sofr: Annotated[float, Field(ge=0, le=1)] | None = None   # base of its floating rates
    debt: list[Loan] = []
    gpu_financing: GpuFinancing | None = None
    covenants: Covenants = Covenants()


class DeliveryDelay(Strict):
    """Per replica, the host delivers the site late with `probability`, by an exponential
    delay of mean `mean_delay`: the client's capacity there and its billing start late."""
    probability: Fraction
    mean_delay: DurationH


class HostingContract(Strict):
    host: Name
    client: Name
    site: Name
    billable_mw: Schedule
    contract_mw: Pos | None = None             # the ramp may not go beyond it
    fee_usd_per_kw_month: NonNeg
    escalator_per_year: Annotated[float, Field(ge=0, le=1)] = 0.0
    start: Date | None = None
    term: DurationH
    renewal_options: list[DurationH] = []      # terms of the renewal options, in order
    renewals_exercised: Annotated[int, Field(ge=0)] = 0
    power: Literal["pass_through", "included"] = "pass_through"
    client_fitout_usd_per_mw: NonNeg = 0.0     # fit-out the client funds per billable MW added
    fitout_netting_share: Fraction = 0.5       # of each fee netted until the fit-out is repaid
    delivery_delay: DeliveryDelay | None = None


class Merger(Strict):
    """The merged variant: `members` become one company `into`; their contracts turn intercompany."""
    into: Name
    members: Annotated[list[Name], Field(min_length=2)]
    integration_cost_usd: NonNeg = 0.0
    synergy_usd_per_year: NonNeg = 0.0
    synergy_ramp_years: NonNeg = 0.0
    price_usd: NonNeg = 0.0
    claimed_savings_usd_per_year: NonNeg | None = None    # what the buyer said; the report compares
    convert_legacy_loads: LegacyConversion | None = None  # for members' legacy loads without a plan


class Maintenance(Strict):
    """Planned maintenance: a share of a site's nodes goes offline for a while. Jobs on
    them are preempted and resume elsewhere or later, without losing work."""
    site: Name
    start: Date
    duration: DurationH
    node_fraction: Fraction = 1.0
    node_type: Name | None = None


class SchedulerConfig(Strict):
    policy: Name = "fifo"              # a name in sim.policies.POLICIES (users may add their own)
    placement: Literal["best_fit", "first_fit", "frag_aware"] = "best_fit"
    scope: Literal["pooled", "per_company"] = "per_company"
    preemption: bool = True            # `priority`: on-demand may preempt spot
    backfill_window: Annotated[int, Field(ge=1, le=100000)] = 64
    las_thresholds_gpu_h: Annotated[list[Pos], Field(min_length=1)] = [10.0, 100.0, 1000.0]

    @field_validator("las_thresholds_gpu_h")
    @classmethod
    def _increasing(cls, v: list[float]) -> list[float]:
        if any(b <= a for a, b in zip(v, v[1:])):
            raise ValueError(f"must increase, got {v}")
        return v


class Scenario(Strict):
    scenario: Name
    baseline: str | None = None
    start: Date
    horizon: Annotated[DurationH, Field(le=100 * HOURS_PER_YEAR)]
    seed: Annotated[int, Field(ge=0)] = 0
    replicas: Annotated[int, Field(ge=1, le=100000)] = 4
    companies: Annotated[list[Company], Field(min_length=1)]
    sites: Annotated[list[Site], Field(min_length=1)]
    node_types: Annotated[list[NodeType], Field(min_length=1)]
    deployments: list[Deployment] = []
    tenants: list[Tenant] = []
    hosting_contracts: list[HostingContract] = []
    maintenance: list[Maintenance] = []
    scheduler: SchedulerConfig = SchedulerConfig()
    merger: Merger | None = None

    # -- derived helpers used by the model
    def hours_from_start(self, day: dt.date) -> float:
        return (day - self.start).days * 24.0

    @property
    def horizon_h(self) -> float:
        return float(self.horizon)

    @property
    def n_hours(self) -> int:
        return int(math.ceil(self.horizon_h))

    def owner_of(self, company: str) -> str:
        """The company that owns `company`'s assets in this variant (itself unless merged)."""
        if self.merger and company in self.merger.members:
            return self.merger.into
        return company

    def node_type(self, name: str) -> NodeType:
        return next(n for n in self.node_types if n.name == name)

    def site(self, name: str) -> Site:
        return next(s for s in self.sites if s.name == name)

    def configured_owner(self, dep: Deployment) -> str:
        """The company the config names as the deployment's owner (its terms apply), before
        any merger."""
        return dep.owner or self.site(dep.site).owner

    def deployment_owner(self, dep: Deployment) -> str:
        return self.owner_of(self.configured_owner(dep))

    def deployment_start(self, dep: Deployment) -> dt.date:
        return dep.start or self.start


# ---------------------------------------------------------------- loading

class _Loader(yaml.SafeLoader):
    """Safe YAML without implicit timestamps: dates stay text until the schema parses
    them, so an impossible date is reported with its YAML path."""


_Loader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}


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
        data = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}{line}: invalid YAML: {_one_line(getattr(exc, 'problem', None) or exc)}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return data


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
        for key in ("series", "trace", "temperature_series", "nodes_from"):
            ref = node.get(key)
            if isinstance(ref, dict) and isinstance(ref.get("path"), str):
                ref["path"] = str((base / ref["path"]).resolve())
        for value in node.values():
            _anchor_series_paths(value, base)
    elif isinstance(node, list):
        for value in node:
            _anchor_series_paths(value, base)


def _resolve_includes(path: Path, chain: tuple[Path, ...] = ()) -> dict:
    path = path.resolve()
    if path in chain:
        raise ConfigError(f"{path}: include cycle: {' -> '.join(p.name for p in chain + (path,))}")
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
        merged = _deep_merge(merged, _resolve_includes(path.parent / inc, chain + (path,)))
    return _deep_merge(merged, data)


_TYPE_LABEL = re.compile(r"^(constrained-|function-|dict\[|list\[|float$|int$|str$|bool$|date$)")


def _yaml_path(loc) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(part, str) and _TYPE_LABEL.match(part):
            continue  # pydantic's labels for union members and validators, not YAML keys
        elif isinstance(part, str) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", part):
            out += ("." if out else "") + part
        else:  # a mapping key such as a date
            m = re.fullmatch(r"datetime\.date\((\d+), (\d+), (\d+)\)", str(part))
            out += f"[{dt.date(*map(int, m.groups()))}]" if m else f"[{part}]"
    return out or "(top level)"


def _first_error(exc: ValidationError) -> str:
    """The error to show: the first field's, and within a union the deepest branch's."""
    errors = exc.errors()
    field = _yaml_path(errors[0]["loc"][:1])
    same_field = [e for e in errors if _yaml_path(e["loc"][:1]) == field]
    err = max(same_field, key=lambda e: len(_yaml_path(e["loc"])))
    msg = re.sub(r"^(Value error|Assertion failed), ", "", err["msg"])
    if err["type"] == "extra_forbidden":
        msg = "unknown key (check the spelling)"
    elif err["type"] == "missing":
        msg = "required key is missing"
    value = err.get("input")
    quiet = err["type"] in ("missing", "extra_forbidden") or isinstance(value, (dict, list)) or "got " in msg
    return f"{_yaml_path(err['loc'])}: {_one_line(msg)}{'' if quiet else f' (got {value!r})'}"


def load_scenario(path: str | Path) -> Scenario:
    """Load, validate and cross-check a scenario file. Raises ConfigError. A `sweep:` section
    is a plan for runs of the scenario (sim.sweep), not part of it: it is left out here."""
    path = Path(path)
    data = _resolve_includes(path)
    data.pop("sweep", None)
    return scenario_from_dict(data, where=str(path))


def _count_listed_nodes(data: dict, where: str) -> dict:
    """Fill `nodes` of every deployment that gives `nodes_from` (a copy of the mapping).
    Anything malformed around it is left for validation to report."""
    deployments = data.get("deployments") if isinstance(data, dict) else None
    if not isinstance(deployments, list) or not any(isinstance(d, dict) and "nodes_from" in d for d in deployments):
        return data
    from .traces import load_node_list
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
        shape = load_node_list(ref["path"]).shape()
        models = ref.get("models") or sorted(shape)
        unknown = [m for m in models if m not in shape]
        if unknown:
            raise ConfigError(f"{here}.nodes_from.models: {', '.join(map(repr, unknown))} not in the node list "
                              f"(it has {', '.join(sorted(shape))})")
        count = sum(shape[m].get(n, 0) for m in models)
        if count == 0:
            raise ConfigError(f"{here}.nodes_from: no {', '.join(models)} node in the node list has {n} GPUs "
                              f"(node_type {dep.get('node_type')!r}); it has " +
                              "; ".join(f"{m}: {sorted(shape[m])}" for m in models))
        dep["nodes"] = count
    return data


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
    _load_series(scenario)
    return scenario


def _load_series(s: Scenario) -> None:
    """Read every hourly series and trace now, so a bad file fails before any simulation."""
    from .series import typical_year
    for site in s.sites:
        for spec in (site.energy_price.series, site.carbon.series):
            if spec is not None:
                typical_year(spec.path, spec.column, spec.timestamp_column)
        if isinstance(site.pue, SeasonalPue):
            t = site.pue.temperature_series
            typical_year(t.path, t.column, t.timestamp_column, allow_negative=True)
    for tenant in s.tenants:
        if tenant.workload is not None and tenant.workload.trace is not None:
            from .traces import load_trace
            t = tenant.workload.trace
            load_trace(t.path, t.format, t.skip_bad_rows)


# ---------------------------------------------------------------- cross-reference checks

def _unique(items, what: str) -> str | None:
    seen = set()
    for i, item in enumerate(items):
        if item.name in seen:
            return f"{what}[{i}].name: duplicate name {item.name!r}"
        seen.add(item.name)
    return None


def _ref(value, names, where: str, what: str) -> str | None:
    if value not in names:
        return f"{where}: unknown {what} {value!r} (expected one of {', '.join(sorted(names))})"
    return None


def _level_at(steps: list[tuple[dt.date, float]], day: dt.date) -> float:
    level = 0.0
    for when, value in steps:
        if when <= day:
            level = value
    return level


def cross_check(s: Scenario) -> str | None:
    """The first cross-reference problem of a validated scenario, or None."""
    for items, what in ((s.companies, "companies"), (s.sites, "sites"), (s.node_types, "node_types"),
                        (s.tenants, "tenants")):
        if problem := _unique(items, what):
            return problem
    companies = {c.name for c in s.companies}
    sites = {x.name for x in s.sites}
    node_types = {n.name for n in s.node_types}
    checks = []
    for i, site in enumerate(s.sites):
        checks.append(_ref(site.owner, companies, f"sites[{i}].owner", "company"))
    for i, d in enumerate(s.deployments):
        checks.append(_ref(d.site, sites, f"deployments[{i}].site", "site"))
        checks.append(_ref(d.node_type, node_types, f"deployments[{i}].node_type", "node type"))
        if d.owner is not None:
            checks.append(_ref(d.owner, companies, f"deployments[{i}].owner", "company"))
    for i, t in enumerate(s.tenants):
        checks.append(_ref(t.provider, companies, f"tenants[{i}].provider", "company"))
        if t.reservation:
            checks.append(_ref(t.reservation.node_type, node_types, f"tenants[{i}].reservation.node_type", "node type"))
            if t.reservation.site is not None:
                checks.append(_ref(t.reservation.site, sites, f"tenants[{i}].reservation.site", "site"))
        if t.workload:
            checks.append(_ref(t.workload.node_type, node_types, f"tenants[{i}].workload.node_type", "node type"))
            w = t.workload
            if w.end and w.end <= (w.start or s.start):
                checks.append(f"tenants[{i}].workload.end: {w.end} is not after the workload's start")
            if w.trace is not None:
                continue
            window_h = s.horizon_h - max(0.0, s.hours_from_start(w.start or s.start))
            jobs = w.arrival_rate_per_h * max(1.0, (1 + w.growth_per_year) ** (s.horizon_h / HOURS_PER_YEAR)) * window_h
            if jobs > MAX_JOBS_PER_REPLICA:
                checks.append(f"tenants[{i}].workload.arrival_rate_per_h: about {jobs:,.0f} jobs per replica, "
                              f"more than the {MAX_JOBS_PER_REPLICA:,} this tool holds in memory")
    for i, h in enumerate(s.hosting_contracts):
        checks.append(_ref(h.host, companies, f"hosting_contracts[{i}].host", "company"))
        checks.append(_ref(h.client, companies, f"hosting_contracts[{i}].client", "company"))
        checks.append(_ref(h.site, sites, f"hosting_contracts[{i}].site", "site"))
        if h.host == h.client:
            checks.append(f"hosting_contracts[{i}].client: host and client are the same company {h.host!r}")
        if h.contract_mw is not None:
            for day, mw in schedule_steps(h.billable_mw, h.start or s.start):
                if mw > h.contract_mw * (1 + 1e-9):
                    when = f"[{day}]" if isinstance(h.billable_mw, dict) else ""
                    checks.append(f"hosting_contracts[{i}].billable_mw{when}: the ramp reaches {mw:g} MW, beyond "
                                  f"contract_mw {h.contract_mw:g}")
                    break
        if h.renewals_exercised > len(h.renewal_options):
            checks.append(f"hosting_contracts[{i}].renewals_exercised: {h.renewals_exercised} exercised but only "
                          f"{len(h.renewal_options)} renewal_options")
    if s.merger:
        checks.append(_ref(s.merger.into, companies, "merger.into", "company"))
        for j, m in enumerate(s.merger.members):
            checks.append(_ref(m, companies, f"merger.members[{j}]", "company"))
        if len(set(s.merger.members)) != len(s.merger.members):
            checks.append("merger.members: a company is listed twice")
        if s.merger.into not in s.merger.members:
            checks.append(f"merger.into: {s.merger.into!r} must be one of merger.members")
    for i, m in enumerate(s.maintenance):
        checks.append(_ref(m.site, sites, f"maintenance[{i}].site", "site"))
        if m.node_type is not None:
            checks.append(_ref(m.node_type, node_types, f"maintenance[{i}].node_type", "node type"))
    from .policies import POLICIES
    if s.scheduler.policy not in POLICIES:
        checks.append(f"scheduler.policy: unknown policy {s.scheduler.policy!r} "
                      f"(expected one of {', '.join(sorted(POLICIES))})")
    for i, c in enumerate(s.companies):
        for j, loan in enumerate(c.debt):
            if loan.maturity <= (loan.start or s.start):
                checks.append(f"companies[{i}].debt[{j}].maturity: {loan.maturity} is not after the loan's start")
        floating = [f"debt[{j}].rate" for j, loan in enumerate(c.debt) if not isinstance(loan.rate, float)]
        if c.gpu_financing is not None and not isinstance(c.gpu_financing.rate, float):
            floating.append("gpu_financing.rate")
        if floating and c.sofr is None:
            checks.append(f"companies[{i}].{floating[0]}: a floating rate (sofr_plus) needs companies[{i}].sofr")
    for problem in checks:
        if problem:
            return problem
    return _power_fit(s)


def _power_fit(s: Scenario) -> str | None:
    """Every deployment's node max power must fit its site's critical-IT MW at every date."""
    for site in s.sites:
        tranches = schedule_steps(site.critical_it_mw, s.start)
        deps = [(i, d) for i, d in enumerate(s.deployments) if d.site == site.name]
        dates = sorted({s.deployment_start(d) for _, d in deps} | {when for when, _ in tranches})
        for day in dates:
            online = [(i, d) for i, d in deps if s.deployment_start(d) <= day]
            if not online:
                continue
            need_mw = sum(d.nodes * s.node_type(d.node_type).node_max_w for _, d in online) / 1e6
            have_mw = _level_at(tranches, day)
            if need_mw > have_mw * (1 + 1e-9):
                i, d = online[-1]
                return (f"deployments[{i}]: nodes at site {site.name!r} need {need_mw:.3f} MW of critical IT "
                        f"on {max(day, s.start)} but the site has {have_mw:g} MW online then "
                        f"(sites[{s.sites.index(site)}].critical_it_mw)")
    return None
