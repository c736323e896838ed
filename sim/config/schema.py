"""The scenario schema: every section of a scenario file as an immutable pydantic model.

Units live in field names: `_mw`, `_w`, `_h`, `_usd`, `_per_year`. Validation messages name
the field, so `loading` can turn them into one line with the YAML path.
"""
from __future__ import annotations

import datetime as dt
import math
from zoneinfo import ZoneInfo
from typing import Annotated, Literal

import numpy as np
from pydantic import BeforeValidator, Field, PrivateAttr, field_validator, model_validator

from ..inputs.traces import TRACE_FORMATS
from .types import (
    HOURS_PER_YEAR,
    MAX_SHARING_GPUS,
    SHARING_PLACEMENTS,
    MAX_JOB_GPUS,
    MAX_REPLICAS,
    Date,
    DurationH,
    Fraction,
    Name,
    NonNeg,
    Pos,
    Schedule,
    Strict,
)

# ---------------------------------------------------------------- sites and energy

class HourlySeries(Strict):
    """A CSV with a timestamp column; values are taken by hour of the year. `timezone` (an IANA
    name such as America/Chicago) reads wall-clock timestamps as that zone's local time."""
    path: str
    column: str
    timestamp_column: str = "timestamp"
    timezone: str | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                ZoneInfo(v)
            except (ValueError, KeyError, OSError):
                raise ValueError(f"unknown time zone {v!r} (an IANA name such as America/Chicago)") from None
        return v


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
    """Convert a legacy load to critical IT: from `start` the load winds down linearly over
    `months` while `capex_usd_per_mw` (per MW of the load) is spent evenly; the load's power
    then feeds critical IT at `pue_after` (mw / pue_after MW of it). Each month's converted
    MW join `into_site`'s critical IT and are used as the policy says:
    - `use: lease`: leased to third parties at `lease_usd_per_kw_month`, each month's MW
      billing after `lease_up_months` (a host that sells power, not GPUs);
    - `use: gpus`: the owner fills them with its own GPUs: at once (`fill: at_once`, nodes of
      its roadmap's SKU for that date, after its `procurement_lead_time`; sim.plan.fleet) or as
      signings with `build: true` need them (`fill: on_demand`; sim.plan.signings).
    `into_site` may be left out for a lease (the MW are money only, as the load was)."""
    start: Date
    months: Annotated[int, Field(ge=1, le=240)]
    capex_usd_per_mw: NonNeg
    pue_after: Annotated[float, Field(ge=1.0, le=3.0)] = 1.3
    use: Literal["lease", "gpus"] = "lease"
    into_site: Name | None = None
    fill: Literal["at_once", "on_demand"] = "at_once"   # use gpus: now, or as signings with build need them
    lease_usd_per_kw_month: NonNeg = 0.0
    lease_up_months: Annotated[int, Field(ge=0, le=240)] = 0

    @model_validator(mode="after")
    def _use(self):
        if self.use == "gpus":
            if self.into_site is None:
                raise ValueError("use: gpus needs into_site (the site whose critical IT the converted MW join)")
            if self.lease_usd_per_kw_month or self.lease_up_months:
                raise ValueError("use: gpus takes no lease_usd_per_kw_month or lease_up_months (nothing is leased)")
        return self


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


class Expansion(Strict):
    """An option to add `mw` of critical IT to a site: exercised (whole) by its owner's build-out
    when a signing with `build: true` finds no free MW (sim.plan.signings), online `lead_time`
    after, for `capex_usd_per_mw` paid when exercised."""
    mw: Pos
    capex_usd_per_mw: NonNeg
    lead_time: DurationH
    earliest: Date | None = None       # not exercised before


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
    expansions: list[Expansion] = []
    capex_usd: dict[Date, NonNeg] = {}   # its owner's build capex by date (plans add exercised expansions)


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
    # GPU sharing, as in Alibaba's GPU-sharing cluster (Kubernetes pods): a job may ask for a share
    # of one GPU (several share it) plus CPU cores and memory, every job fits on one node, and
    # `scheduler.sharing_placement` places it over the whole resource vector. The node's CPU and
    # memory (none given: not a constraint) are also read per node from a deployment's `nodes_from`.
    gpu_sharing: bool = False
    cpu_cores: Pos | None = None
    memory_gib: Pos | None = None
    # economic life: a deployment's GPUs retire this many years after it comes online, are
    # sold at their resale value, and free their MW (a refresh fills them: Company.roadmap)
    economic_life_years: Annotated[float, Field(gt=0, le=50)] | None = None

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

    @model_validator(mode="after")
    def _sharing(self):
        if not self.gpu_sharing:
            given = [k for k in ("cpu_cores", "memory_gib") if getattr(self, k) is not None]
            if given:
                raise ValueError(f"{given[0]} is a constraint of GPU-sharing nodes only: set gpu_sharing: true")
            return self
        if self.gpus_per_node > MAX_SHARING_GPUS:
            raise ValueError(f"a GPU-sharing node has at most {MAX_SHARING_GPUS} GPUs, got gpus_per_node "
                             f"{self.gpus_per_node}")
        if not self.whole_node_outages:
            raise ValueError("a GPU-sharing node fails as a whole: remove failure_domain_gpus")
        return self

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
    retire: Date | None = None       # its GPUs leave service (and are sold) then; else the node type's life


# ---------------------------------------------------------------- demand

class Distribution(Strict):
    """fixed {value}; exponential {mean}; lognormal {mean, sigma (of log)}; empirical {values, weights}."""
    dist: Literal["fixed", "exponential", "lognormal", "empirical"]
    value: Pos | None = None
    mean: Pos | None = None
    sigma: Pos | None = None
    values: list[Pos] | None = None
    weights: list[NonNeg] | None = None

    def sample(self, rng, n: int):
        """n draws (float64 NumPy array) from `rng`."""
        if self.dist == "fixed":
            return np.full(n, self.value, dtype=np.float64)
        if self.dist == "exponential":
            return rng.exponential(self.mean, n)
        if self.dist == "lognormal":
            mu = np.log(self.mean) - self.sigma ** 2 / 2  # so that the mean is `mean`
            return rng.lognormal(mu, self.sigma, n)
        values = np.asarray(self.values, dtype=np.float64)
        weights = np.asarray(self.weights if self.weights is not None else [1.0] * len(values), dtype=np.float64)
        return values[rng.choice(len(values), size=n, p=weights / weights.sum())]

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


class Renewal(Strict):
    """When the term ends, with `probability` (drawn per replica) the tenant renews the last
    level of its reservation for `term` at the market price of its SKU on that day, less
    `discount` (sim.plan.market), as a second tenant named `<tenant>_renewal`."""
    probability: Fraction
    term: DurationH
    discount: Annotated[float, Field(ge=0, lt=1)] = 0.0


class Reservation(Strict):
    node_type: Name
    gpus: Schedule
    site: Name | None = None
    start: Date | None = None
    term: DurationH | None = None
    price_usd_per_gpu_hour: Schedule = 0.0     # or {date: price} (the market's signings, sim.plan)
    contract_value_usd: NonNeg | None = None   # instead of a price: value / contracted GPU-hours
    take_or_pay: bool = True                   # False: pays delivered GPU-hours x mean utilization
    prepayment_share: Fraction = 0.0           # of the contract value, paid in cash at its start
    sla: Sla = Sla()
    utilization: UtilizationProfile = UtilizationProfile()
    # Lend idle reserved GPUs to spot work: the profile then says what share of the reserved
    # GPUs the tenant uses each hour (those run at full load); the rest run other tenants'
    # spot jobs, preempted as the tenant's use comes back. Non-spot work never takes them.
    lend_idle: bool = False
    renewal: Renewal | None = None

    @model_validator(mode="after")
    def _pricing(self):
        if isinstance(self.price_usd_per_gpu_hour, dict) and (self.contract_value_usd is not None
                                                              or self.prepayment_share):
            raise ValueError("a price that steps at dates takes no contract_value_usd or prepayment_share")
        if self.renewal is not None and self.term is None:
            raise ValueError("renewal needs a term (it starts when the term ends)")
        if self.contract_value_usd is not None:
            if self.price_usd_per_gpu_hour:
                raise ValueError("give price_usd_per_gpu_hour or contract_value_usd, not both")
            if self.term is None:
                raise ValueError("contract_value_usd needs a term to spread the value over")
        if self.prepayment_share and not self.take_or_pay:
            raise ValueError("prepayment_share needs take_or_pay: true (a prepayment settles contracted bills)")
        return self


class TraceSource(Strict):
    """Replay a job log: submit times (offset so the trace's first job lands at `start`,
    stretched by `time_scale`) and durations exactly as recorded."""
    path: str
    format: Literal[TRACE_FORMATS]
    time_scale: Pos = 1.0
    start: Date | None = None
    select: list[str] | None = None     # the trace's tenants (virtual clusters, users) to keep
    skip_bad_rows: bool = False
    # A trace's GPU-sharing pods take a whole GPU each and ask no CPU or memory (as on a node
    # type without sharing); by default they keep their share, CPU and memory.
    whole_gpus: bool = False


class Workload(Strict):
    """A job stream: synthetic (Poisson arrivals with growth, diurnal and weekly shape;
    GPU-count and duration distributions) or a replayed `trace`."""
    node_type: Name
    tier: Name = "on_demand"           # its priority class: a name in scheduler.classes
    trace: TraceSource | None = None
    arrival_rate_per_h: Annotated[float, Field(gt=0, le=1e6)] | None = None
    growth_per_year: Annotated[float, Field(gt=-1, le=10)] = 0.0
    diurnal_amplitude: Fraction = 0.0
    weekly_amplitude: Fraction = 0.0
    peak_hour: Annotated[float, Field(ge=0, lt=24)] = 14.0
    gpus: Distribution | None = None         # whole GPUs, or a share of one (0.25) on a GPU-sharing node type
    cpu_cores: Distribution | None = None    # per job, on a GPU-sharing node type (none: asks no CPU)
    memory_gib: Distribution | None = None   # per job, likewise
    duration_h: Distribution | None = None
    utilization: Fraction = 0.8
    price_usd_per_gpu_hour: NonNeg = 0.0
    price_decline_per_year: Annotated[float, Field(ge=0, lt=1)] = 0.0   # market price falls this share a year
    # instead of the two above: the market path of its node type (market.prices) x (1 + premium)
    market_premium: Annotated[float, Field(gt=-1, le=10)] | None = None
    max_wait_h: Pos | None = None
    runtime_estimate_factor: Annotated[float, Field(ge=1, le=1000)] = 1.0  # users' estimate / real duration
    checkpoint_interval_h: DurationH | None = None   # a failure loses the work since the last checkpoint
    gang_in_pod: bool = False                        # multi-node jobs need one network domain
    start: Date | None = None
    end: Date | None = None

    @model_validator(mode="after")
    def _one_price(self):
        if self.market_premium is not None and (self.price_usd_per_gpu_hour or self.price_decline_per_year):
            raise ValueError("give price_usd_per_gpu_hour (and price_decline_per_year) or market_premium, not both")
        return self

    @model_validator(mode="after")
    def _synthetic_or_trace(self):
        synthetic = {"arrival_rate_per_h": self.arrival_rate_per_h, "gpus": self.gpus, "duration_h": self.duration_h}
        if self.trace is not None:
            given = sorted(k for k, v in {**synthetic, "cpu_cores": self.cpu_cores,
                                          "memory_gib": self.memory_gib}.items() if v is not None)
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
            raise ValueError("takes dist fixed or empirical (whole GPUs, or shares of one GPU)")
        counts = [gpus.value] if gpus.dist == "fixed" else gpus.values
        share = [c for c in counts if c < 1]
        if any(round(c * 1000) != c * 1000 for c in share):
            raise ValueError(f"a share of one GPU is in thousandths (0.001 to 0.999), got {share}")
        if any(c != int(c) or c > MAX_JOB_GPUS for c in counts if c >= 1):
            raise ValueError(f"must be whole numbers of GPUs up to {MAX_JOB_GPUS:,} or shares of one GPU "
                             f"below 1, got {counts}")
        return gpus

    @property
    def shares_gpus(self) -> bool:
        """Its synthetic jobs may ask for a share of one GPU."""
        counts = [] if self.gpus is None else [self.gpus.value] if self.gpus.dist == "fixed" else self.gpus.values
        return any(c < 1 for c in counts)


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


# ---------------------------------------------------------------- the market: prices and new demand

class MarketPrice(Strict):
    """The rental price of one SKU (USD per GPU-hour, reserved): `usd_per_gpu_hour` on `at`,
    falling `decline_per_year` as the SKU ages and by `generation_drops` share on each date a
    newer generation arrives, with lognormal monthly shocks of `volatility` a year, drawn
    per replica (sim.plan.market)."""
    node_type: Name
    usd_per_gpu_hour: Pos
    at: Date
    decline_per_year: Annotated[float, Field(ge=0, lt=1)] = 0.0
    generation_drops: dict[Date, Annotated[float, Field(ge=0, lt=1)]] = {}
    volatility: Annotated[float, Field(ge=0, le=3)] = 0.0


class Signings(Strict):
    """New reservation contracts for one SKU (demand beyond the backlog): Poisson signings,
    `per_year` at the start growing `growth_per_year`, each for `gpus` (drawn, whole GPUs) over
    `term` at the market price on its signing day less `discount`. A signing starts on the
    first day within `patience` when the provider's uncommitted GPUs of the SKU cover it for
    its whole term; otherwise it is lost (counted once, in GPU-hours and revenue). The served
    ones form one tenant named `name` (sim.plan.signings)."""
    name: Name
    provider: Name
    node_type: Name
    site: Name | None = None
    per_year: Annotated[float, Field(gt=0, le=100_000)]
    growth_per_year: Annotated[float, Field(gt=-1, le=10)] = 0.0
    start: Date | None = None
    end: Date | None = None
    gpus: Distribution
    term: DurationH
    discount: Annotated[float, Field(ge=0, lt=1)] = 0.0
    patience: Annotated[float, Field(ge=0)] | DurationH = 0.0
    build: bool = False          # the provider buys GPUs for it into free MW when it lacks them
    take_or_pay: bool = True
    sla: Sla = Sla()
    utilization: UtilizationProfile = UtilizationProfile()


class Market(Strict):
    prices: list[MarketPrice] = []
    signings: list[Signings] = []


class MarketPaths(Strict):
    """Money over many market paths (sim.money.paths): `count` paths, path p taking the
    operations of engine replica p mod replicas and drawing its own market: lognormal monthly
    shocks (mean 1) of `gpu_price_volatility` a year on revenue priced at the market each month
    (on-demand and spot) and of `power_price_volatility` on energy bills; an arithmetic random
    walk of `sofr_volatility` a year (0.01 = 100 bp) added to the base of floating loans (not
    below 0); and tenants that stop paying after a default, `tenant_default_per_year` each (an
    annual probability; its renewals go with it)."""
    count: Annotated[int, Field(ge=1, le=1_000_000)] = 2000
    gpu_price_volatility: Annotated[float, Field(ge=0, le=3)] = 0.0
    power_price_volatility: Annotated[float, Field(ge=0, le=3)] = 0.0
    sofr_volatility: Annotated[float, Field(ge=0, le=0.2)] = 0.0
    tenant_default_per_year: dict[Name, Annotated[float, Field(ge=0, le=1)]] = {}


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
    debt over the GPUs' resale value is above `max_loan_to_collateral`. `on_breach: sweep` sends
    all cash to the lenders while in breach, and a month that then runs out of cash is a default;
    `advance_rate` is the borrowing base: GPU-secured debt above it x the GPUs' resale value is
    paid down at once (sim/money/debt.py)."""
    min_dscr: Pos | None = None
    max_loan_to_collateral: Pos | None = None
    on_breach: Literal["flag", "sweep"] = "flag"
    advance_rate: Annotated[float, Field(gt=0, le=2)] | None = None


class TerminalValue(Strict):
    """What a company is worth at the horizon, by one `method`: `exit_multiple`: `ebitda_multiple`
    x its EBITDA of the last 12 months; `gordon`: the last 12 months' free cash flow grown at
    `growth` a year, capitalized at (discount rate - growth); `per_mw`: `usd_per_mw` x the MW of
    critical IT (and of converted legacy load) of the sites it owns at the horizon."""
    method: Literal["exit_multiple", "gordon", "per_mw"]
    ebitda_multiple: Annotated[float, Field(gt=0, le=100)] | None = None
    growth: Annotated[float, Field(ge=-0.5, lt=1)] | None = None
    usd_per_mw: NonNeg | None = None

    @model_validator(mode="after")
    def _one_method(self):
        need = {"exit_multiple": "ebitda_multiple", "gordon": "growth", "per_mw": "usd_per_mw"}
        if getattr(self, need[self.method]) is None:
            raise ValueError(f"method {self.method} needs {need[self.method]}")
        extra = [k for m, k in need.items() if m != self.method and getattr(self, k) is not None]
        if extra:
            raise ValueError(f"method {self.method} takes no {', '.join(extra)}")
        return self


class RoadmapStep(Strict):
    start: Date
    node_type: Name


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
    cash_usd: NonNeg = 0.0                        # at the start; what a cash sweep can take
    terminal_value: TerminalValue | None = None   # none: NPV stops at the horizon
    # the SKU it buys for new MW and refreshes, by date (the step in force on the day it orders)
    roadmap: list[RoadmapStep] = []
    procurement_lead_time: DurationH = 2190.0     # order to online: 3 months (assumption)
    refresh: bool = False                         # retired GPUs' MW get nodes of the roadmap's SKU

    @model_validator(mode="after")
    def _growth_below_discount(self):
        tv = self.terminal_value
        if tv is not None and tv.method == "gordon" and tv.growth >= self.discount_rate:
            raise ValueError(f"terminal_value.growth ({tv.growth:g}) must be below discount_rate "
                             f"({self.discount_rate:g}) for a Gordon terminal value")
        if self.refresh and not self.roadmap:
            raise ValueError("refresh needs a roadmap (the SKU that replaces retired GPUs)")
        return self


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


class Collar(Strict):
    """Within [min_price_usd, max_price_usd] of the buyer's price at close the exchange ratio is
    fixed; outside it the ratio moves so that a target share gets the ratio x the nearer bound."""
    min_price_usd: Pos
    max_price_usd: Pos

    @model_validator(mode="after")
    def _band(self):
        if self.max_price_usd <= self.min_price_usd:
            raise ValueError("max_price_usd must be above min_price_usd")
        return self


class Offer(Strict):
    """A stock (and cash) offer for the target's shares, valued per share of each holder group.
    The buyer's share price at `close` is lognormal from `buyer_share_price_usd` at `signing`
    with `buyer_price_volatility` a year (no drift: the market's price is its expectation)."""
    target: Name                        # the company whose holders are offered
    exchange_ratio: Pos                 # buyer shares per target share
    target_shares: Pos                  # fully diluted
    buyer_shares: Pos                   # before the deal
    buyer_share_price_usd: Pos          # at signing
    buyer_price_volatility: Annotated[float, Field(ge=0, le=5)] = 0.0
    signing: Date
    close: Date
    collar: Collar | None = None
    cash_per_share_usd: NonNeg = 0.0
    termination_fee_usd: NonNeg = 0.0   # paid by the target if its holders reject (0 where only other events trigger it)
    deal_costs_usd: NonNeg = 0.0        # the buyer's, at close

    @model_validator(mode="after")
    def _dates(self):
        if self.close < self.signing:
            raise ValueError(f"close {self.close} is before signing {self.signing}")
        return self


class Merger(Strict):
    """The merged variant: `members` become one company `into`; their contracts turn intercompany."""
    into: Name
    members: Annotated[list[Name], Field(min_length=2)]
    integration_cost_usd: NonNeg = 0.0
    synergy_usd_per_year: NonNeg = 0.0
    synergy_ramp_years: NonNeg = 0.0
    price_usd: NonNeg = 0.0
    claimed_savings_usd_per_year: NonNeg | None = None    # what the buyer said; the report compares
    convert_legacy_loads: LegacyConversion | None = None  # for members' legacy loads (replaces their own plan)
    delivery_delay: DeliveryDelay | None = None          # replaces hosting contracts' delays between members
    offer: Offer | None = None                           # the offer to the target's holders, per share


class Maintenance(Strict):
    """Planned maintenance: a share of a site's nodes goes offline for a while. Jobs on
    them are preempted and resume elsewhere or later, without losing work."""
    site: Name
    start: Date
    duration: DurationH
    node_fraction: Fraction = 1.0
    node_type: Name | None = None


class PriorityClass(Strict):
    """A class of jobs: `priority` starts higher classes first; preemptible classes give their
    GPUs back to higher classes and to reservations, and may run on GPUs a reservation lends."""
    name: Name
    preemptible: bool = False


DEFAULT_CLASSES = [PriorityClass(name="on_demand"), PriorityClass(name="spot", preemptible=True)]


class SchedulerConfig(Strict):
    policy: Name = "fifo"              # a name in sim.engine.policies.POLICIES (users may add their own)
    placement: Literal["best_fit", "first_fit", "frag_aware"] = "best_fit"
    # on GPU-sharing node types: a rule of `sim.engine.packing` over CPU, memory and GPU shares
    sharing_placement: Literal[SHARING_PLACEMENTS] = "fgd"
    scope: Literal["pooled", "per_company"] = "per_company"
    preemption: bool = True            # `priority`: a blocked job may preempt lower preemptible classes
    classes: Annotated[list[PriorityClass], Field(min_length=1, max_length=64)] = DEFAULT_CLASSES   # highest first
    backfill_window: Annotated[int, Field(ge=1, le=100000)] = 64
    las_thresholds_gpu_h: Annotated[list[Pos], Field(min_length=1)] = [10.0, 100.0, 1000.0]

    @field_validator("las_thresholds_gpu_h")
    @classmethod
    def _increasing(cls, v: list[float]) -> list[float]:
        if any(b <= a for a, b in zip(v, v[1:])):
            raise ValueError(f"must increase, got {v}")
        return v

    @field_validator("classes")
    @classmethod
    def _unique_classes(cls, v: list[PriorityClass]) -> list[PriorityClass]:
        names = [c.name for c in v]
        if len(set(names)) != len(names):
            raise ValueError(f"class names must be unique, got {names}")
        return v

    # -- priority classes as the engine sees them: rank 1 is the highest (0: reservations)
    def rank(self, name: str) -> int:
        return 1 + [c.name for c in self.classes].index(name)

    def class_name(self, rank: int) -> str:
        return self.classes[rank - 1].name

    @property
    def preemptible(self) -> tuple[bool, ...]:
        """By rank (index 0, reservations, is never preemptible)."""
        return (False, *(c.preemptible for c in self.classes))


class BreakevenSpec(Strict):
    """Where the paired difference of `metric` (this variant minus its baseline; a deal metric
    itself) changes sign as the money input at `path` moves within [low, high]."""
    path: str
    low: float
    high: float
    metric: Name = "npv_usd"

    @model_validator(mode="after")
    def _range(self):
        if not (math.isfinite(self.low) and math.isfinite(self.high) and self.low < self.high):
            raise ValueError(f"low ({self.low:g}) must be below high ({self.high:g}), both finite")
        return self


class Scenario(Strict):
    scenario: Name
    baseline: str | None = None
    start: Date
    horizon: Annotated[DurationH, Field(le=100 * HOURS_PER_YEAR)]
    warmup: DurationH | None = None     # job metrics leave out jobs submitted before it
    seed: Annotated[int, Field(ge=0)] = 0
    replicas: Annotated[int, Field(ge=1, le=MAX_REPLICAS)] = 4
    companies: Annotated[list[Company], Field(min_length=1)]
    sites: Annotated[list[Site], Field(min_length=1)]
    node_types: Annotated[list[NodeType], Field(min_length=1)]
    deployments: list[Deployment] = []
    tenants: list[Tenant] = []
    hosting_contracts: list[HostingContract] = []
    maintenance: list[Maintenance] = []
    scheduler: SchedulerConfig = SchedulerConfig()
    merger: Merger | None = None
    market: Market = Market()
    paths: MarketPaths | None = None       # money over many market paths (sim.money.paths)
    breakevens: list[BreakevenSpec] = []   # with a baseline: the inputs' values that flip the answer
    # set by sim.plan for one replica: the demand it could not serve (sim.plan.signings.Lost)
    _lost_demand: tuple = PrivateAttr(default=())

    @model_validator(mode="after")
    def _warmup_before_horizon(self):
        if self.warmup is not None and self.warmup >= self.horizon:
            raise ValueError(f"warmup: {self.warmup:g} h is not before the horizon ({self.horizon:g} h)")
        return self

    # -- derived helpers used by the model
    def hours_from_start(self, day: dt.date) -> float:
        return (day - self.start).days * 24.0

    @property
    def horizon_h(self) -> float:
        return float(self.horizon)

    @property
    def warmup_h(self) -> float:
        return float(self.warmup or 0.0)

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

    def deployment_retire(self, dep: Deployment) -> dt.date | None:
        """When its GPUs leave service: its own `retire`, else its node type's economic life
        after its start (years of 365 days), else never."""
        if dep.retire is not None:
            return dep.retire
        life = self.node_type(dep.node_type).economic_life_years
        return None if life is None else self.deployment_start(dep) + dt.timedelta(days=round(life * 365))

    def conversion_of(self, site: Site, load: LegacyLoad) -> LegacyConversion | None:
        """A legacy load's conversion plan: the merger's for its members' loads (the merged
        company decides), else the load's own."""
        if self.merger is not None and self.merger.convert_legacy_loads is not None \
                and site.owner in self.merger.members:
            return self.merger.convert_legacy_loads
        return load.conversion

    def retire_h(self, dep: Deployment) -> float:
        """When a deployment's GPUs leave service, in hours from the start (inf: never)."""
        retire = self.deployment_retire(dep)
        return math.inf if retire is None else self.hours_from_start(retire)

    def in_service(self, dep: Deployment, day: dt.date) -> bool:
        retire = self.deployment_retire(dep)
        return self.deployment_start(dep) <= day and (retire is None or day < retire)
