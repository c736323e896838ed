"""Build the SimPy world of one variant and replica, run it, return flat records.

Schedulers: one over every node (`pooled`) or one per owning company
(`per_company`, owners resolved through a merger if there is one). Events:
deployments coming online, reservation steps, job arrivals (one process
walking the pre-drawn, time-sorted job table), job completions.
"""
from __future__ import annotations

import numpy as np
import simpy

from kernels.power import utilization_profile

from ..config.schema import Scenario
from ..config.types import reservation_levels
from ..errors import InvariantError
from ..rng import stream
from .delays import delay_spec, deployment_delay_h
from .outages import maintenance, maintenance_of, outages
from .records import JobTable, Recorder, RunResult
from .scheduler import Reservation, Scheduler, StrandingMeter
from .shared_pool import SharedPool, node_capacity
from .workload import job_stream


def scheduler_key(s: Scenario, company: str) -> str:
    return "pooled" if s.scheduler.scope == "pooled" else s.owner_of(company)


def engine_inputs(s: Scenario) -> dict:
    """What `simulate` reads of a scenario, as plain data. Two scenarios with the same engine
    inputs give the same records for the same seed and replica (a merger that changes who owns
    the sites, not the fleet, its schedulers or its demand), so an experiment simulates them
    once. Left out: the scenario's names, seed and replica count (simulate takes the seed and
    replica it runs); companies, the merger, breakevens and the scheduler's scope, which enter only as the
    scheduler each deployment and tenant belongs to, numbered in the order the schedulers
    finish (so one pooled scheduler and one company's scheduler over the same nodes agree)."""
    data = s.model_dump(mode="json", exclude={"scenario": True, "baseline": True, "seed": True, "replicas": True,
                                              "companies": True, "merger": True, "breakevens": True,
                                              "scheduler": {"scope"}})
    deployments = [scheduler_key(s, s.deployment_owner(d)) for d in s.deployments]
    tenants = [scheduler_key(s, t.provider) for t in s.tenants]
    number = {key: i for i, key in enumerate(sorted(set(deployments) | set(tenants)))}
    data["deployment_schedulers"] = [number[key] for key in deployments]
    specs = {site.name: delay_spec(s, site.name) for site in s.sites}   # a merger may change them
    data["delivery_delays"] = {name: spec.model_dump(mode="json") for name, spec in specs.items() if spec}
    data["tenant_schedulers"] = [number[key] for key in tenants]
    return data


def reserved_in_use(s: Scenario, tenant, seed: int, replica: int) -> np.ndarray:
    """Share of a lending reservation's GPUs in use by hour: its utilization profile, drawn
    from the same stream as the accounting's (so both see the same hours)."""
    p = tenant.reservation.utilization
    noise = stream(seed, replica, f"util/{tenant.name}").standard_normal(s.n_hours)
    return utilization_profile(noise[None, :], start_weekday=s.start.weekday(), **p.model_dump())[0]


def _job_table(s: Scenario, seed: int, replica: int) -> JobTable:
    parts = []
    for t_idx, tenant in enumerate(s.tenants):
        if tenant.workload is None:
            continue
        js = job_stream(s, tenant.name, tenant.workload, seed, replica)
        parts.append((t_idx, tenant.workload, js))
    if not parts:
        return JobTable([], [], [], [], [], [], [])
    submit = np.concatenate([js.submit_h for _, _, js in parts])
    order = np.argsort(submit, kind="stable")  # ties keep tenant order: deterministic
    cat = lambda key: np.concatenate([getattr(js, key) for _, _, js in parts])[order]
    tenant_idx = np.concatenate([np.full(js.submit_h.size, t) for t, _, js in parts])[order]
    workloads = {t: w for t, w, _ in parts}

    def per_job(field):
        """A workload setting for every job (looked up per tenant, then spread)."""
        by_tenant = np.empty(len(s.tenants), dtype=object)
        for t, w in workloads.items():
            by_tenant[t] = field(w)
        return by_tenant[tenant_idx].tolist()

    duration = cat("duration_h")
    factor = np.asarray(per_job(lambda w: w.runtime_estimate_factor), dtype=np.float64)
    # a trace's own estimates where it has them (never below the real duration), else the factor
    given = np.concatenate([js.estimate_h if js.estimate_h is not None else np.full(js.submit_h.size, np.nan)
                            for _, _, js in parts])[order]
    estimate = np.where(np.isnan(given), duration * factor, np.maximum(given, duration))
    resources = None
    if any(js.gpu_milli is not None for _, _, js in parts):
        def column(key, default):
            return np.concatenate([getattr(js, key) if getattr(js, key) is not None
                                   else np.full(js.submit_h.size, default, np.int64) for _, _, js in parts])[order]
        resources = (column("gpu_milli", 1000), column("cpu_milli", 0), column("memory_mib", 0))
    table = JobTable(submit[order], cat("gpus"), duration, tenant_idx.tolist(),
                     per_job(lambda w: w.node_type), per_job(lambda w: s.scheduler.rank(w.tier)),
                     per_job(lambda w: w.utilization), estimate_h=estimate,
                     checkpoint_h=per_job(lambda w: w.checkpoint_interval_h or float("nan")),
                     in_pod=per_job(lambda w: w.gang_in_pod), resources=resources)
    return table


def simulate(s: Scenario, seed: int, replica: int) -> RunResult:
    env = simpy.Environment()
    meter = StrandingMeter()
    rec = Recorder()
    jobs = _job_table(s, seed, replica)
    schedulers: dict[str, Scheduler] = {}

    weights = [t.fair_share_weight for t in s.tenants]

    def scheduler_for(company: str) -> Scheduler:
        key = scheduler_key(s, company)
        if key not in schedulers:
            schedulers[key] = Scheduler(env, s.scheduler, jobs, rec, meter, weights)
        return schedulers[key]

    node_types = {n.name: n for n in s.node_types}

    def pool_of(sched: Scheduler, nt):
        if not nt.gpu_sharing:
            return sched.pool(nt.name, nt.gpus_per_node)
        make = lambda: SharedPool(nt.name, nt.gpus_per_node, s.scheduler.sharing_placement,
                                  stream(seed, replica, f"placement/{nt.name}"))
        pool = sched.pool(nt.name, nt.gpus_per_node, make)
        pool.attach(jobs)
        return pool

    for idx, dep in enumerate(s.deployments):
        nt = node_types[dep.node_type]
        sched = scheduler_for(s.deployment_owner(dep))
        if nt.gpu_sharing:
            pool_of(sched, nt).plan_nodes(dep.site, dep.nodes, idx, *node_capacity(nt, dep))
        else:
            pool_of(sched, nt).plan_nodes(dep.site, dep.nodes, nt.nodes_per_pod)
        sched.track_nodes |= (nt.failures_per_gpu_year > 0 or nt.interruptions_per_gpu_year > 0
                              or bool(maintenance_of(s, dep)) or s.retire_h(dep) < s.horizon_h)
    tenant_scheduler = []
    for tenant in s.tenants:
        sched = scheduler_for(tenant.provider)
        for demand in (tenant.reservation, tenant.workload):
            if demand is not None:
                pool_of(sched, node_types[demand.node_type])
        tenant_scheduler.append(sched)

    def at(hours: float):
        return env.timeout(max(0.0, hours - env.now))

    def deployment_online(idx, dep):
        # the host's late delivery: same draws in every variant; the wait is down time
        due_h = max(0.0, s.hours_from_start(s.deployment_start(dep)))
        if s.retire_h(dep) <= 0:
            return   # retired before the start
        delay_h = deployment_delay_h(s, seed, replica, dep)
        yield at(due_h + delay_h)
        nt = node_types[dep.node_type]
        rec.down(due_h, min(due_h + delay_h, s.retire_h(dep), s.horizon_h), idx, dep.nodes * nt.gpus_per_node)
        sched = scheduler_for(s.deployment_owner(dep))
        spares = (int(s.site(dep.site).spare_fraction * dep.nodes)
                  if nt.failures_per_gpu_year > 0 and nt.whole_node_outages else 0)
        in_service, spare_nodes = sched.nodes_online(nt.name, dep.site, dep.nodes, idx, nt.nodes_per_pod, spares)
        nodes = in_service + spare_nodes
        running = []
        if nt.failures_per_gpu_year > 0:
            running.append(env.process(outages(env, sched, nt, in_service, spare_nodes,
                                               stream(seed, replica, f"failures/{idx}"),
                                               nt.failures_per_gpu_year, nt.repair_h)))
        if nt.interruptions_per_gpu_year > 0:
            running.append(env.process(outages(env, sched, nt, in_service, None,
                                               stream(seed, replica, f"interruptions/{idx}"),
                                               nt.interruptions_per_gpu_year, nt.interruption_recovery_h)))
        for m in maintenance_of(s, dep):
            env.process(maintenance(env, sched, nt.name, in_service, s.hours_from_start(m.start), m))
        retire_h = s.retire_h(dep)
        if retire_h < s.horizon_h:
            yield at(retire_h)
            for process in running:
                process.interrupt()
            sched.retire_nodes(nt.name, nodes)

    def reservation_steps(sched, res, r, in_use):
        """The contracted levels; lending idle GPUs, also the GPUs in use each hour
        (`in_use`: the share by hour, or None when the reservation does not lend)."""
        levels = reservation_levels(s, r)
        for start_h, end_h, gpus in levels:
            yield at(start_h)
            if in_use is None:
                sched.set_reservation(res, gpus)
                continue
            h0, h1 = max(0, int(start_h)), min(int(np.ceil(end_h)), s.n_hours)
            held = np.rint(gpus * in_use[h0:h1]).astype(np.int64)
            changes = np.flatnonzero(np.diff(held, prepend=-1))   # one event per change, not per hour
            for i in changes.tolist():
                yield at(h0 + i)
                sched.set_reservation(res, int(held[i]), guaranteed=gpus)
        if r.term is not None and levels:
            yield at(levels[-1][1])   # the term ends
            sched.set_reservation(res, 0)

    def arrivals():
        for job in range(len(jobs)):
            delay = jobs.submit[job] - env.now
            if delay > 0:
                yield env.timeout(delay)
            tenant_scheduler[jobs.tenant[job]].submit(job)

    for idx, dep in enumerate(s.deployments):
        env.process(deployment_online(idx, dep))
    for t_idx, tenant in enumerate(s.tenants):
        if tenant.reservation is not None:
            r = tenant.reservation
            res = Reservation(t_idx, r.node_type, r.site)
            in_use = reserved_in_use(s, tenant, seed, replica) if r.lend_idle else None
            env.process(reservation_steps(tenant_scheduler[t_idx], res, r, in_use))
    env.process(arrivals())
    env.run(until=s.horizon_h)
    for key in sorted(schedulers):
        schedulers[key].finish(s.horizon_h)
    _check_conservation(jobs, schedulers.values())

    site_index = {site.name: i for i, site in enumerate(s.sites)}
    return RunResult(
        seed=seed,
        replica=replica,
        jobs={
            "submit_h": np.asarray(jobs.submit), "start_h": np.asarray(jobs.start),
            "end_h": np.asarray(jobs.end), "gpus": np.asarray(jobs.gpus, dtype=np.int64),
            "gpu_share": np.asarray(jobs.share, dtype=np.float64),
            "duration_h": np.asarray(jobs.duration),
            "tenant": np.asarray(jobs.tenant, dtype=np.int64),
            "site": np.asarray([site_index.get(x, -1) for x in jobs.site], dtype=np.int64),
            "state": np.asarray(jobs.state, dtype=np.int64),
            "preemptions": np.asarray(jobs.preemptions, dtype=np.int64),
            "restarts": np.asarray(jobs.restarts, dtype=np.int64),
            "badput_gpu_h": np.asarray(jobs.badput),
            "attained_gpu_h": np.asarray([jobs.attained_at(j, s.horizon_h) for j in range(len(jobs))]),
            "tier": np.asarray(jobs.tier, dtype=np.int64),
        },
        intervals=rec.arrays(),
        stranded_gpu_h=meter.stranded_gpu_h,
        stranded_daily_gpu_h=np.array([meter.daily.get(d, 0.0) for d in range(-(-s.n_hours // 24))]),
    )


def _check_conservation(jobs: JobTable, schedulers) -> None:
    """Every job that arrived is completed, running, queued or rejected exactly once."""
    states = np.bincount(np.asarray(jobs.state, dtype=np.int64) + 1, minlength=5)
    running = sum(len(sc.running) for sc in schedulers)
    queued = sum(sc.queued() for sc in schedulers)
    if states[0]:
        raise InvariantError(f"{states[0]} jobs never arrived before the horizon")
    if states[1 + JobTable.RUNNING] != running or states[1 + JobTable.QUEUED] != queued:
        raise InvariantError("job states disagree with the schedulers' queues and running sets")
    if states.sum() != len(jobs):
        raise InvariantError("job count changed during the run")
