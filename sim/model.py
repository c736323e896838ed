"""Build the SimPy world of one variant and replica, run it, return flat records.

Schedulers: one over every node (`pooled`) or one per owning company
(`per_company`, owners resolved through a merger if there is one). Events:
deployments coming online, reservation steps, job arrivals (one process
walking the pre-drawn, time-sorted job table), job completions.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import simpy

from .config import Scenario, schedule_steps
from .fleet import InvariantError
from .records import JobTable, Recorder
from .scheduler import TIER_RANK, Reservation, Scheduler, StrandingMeter
from .workload import job_stream


@dataclass
class RunResult:
    seed: int
    replica: int
    jobs: dict[str, np.ndarray]
    intervals: dict[str, np.ndarray]
    stranded_gpu_h: float


def scheduler_key(s: Scenario, company: str) -> str:
    return "pooled" if s.scheduler.scope == "pooled" else s.owner_of(company)


def _job_table(s: Scenario, seed: int, replica: int) -> tuple[JobTable, list[int]]:
    parts = []
    for t_idx, tenant in enumerate(s.tenants):
        if tenant.workload is None:
            continue
        js = job_stream(s, tenant.name, tenant.workload, seed, replica)
        parts.append((t_idx, tenant.workload, js))
    if not parts:
        return JobTable([], [], [], [], [], [], []), []
    submit = np.concatenate([js.submit_h for _, _, js in parts])
    tenant_idx = np.concatenate([np.full(js.submit_h.size, t) for t, _, js in parts])
    order = np.argsort(submit, kind="stable")  # ties keep tenant order: deterministic
    gpus = np.concatenate([js.gpus for _, _, js in parts])[order]
    duration = np.concatenate([js.duration_h for _, _, js in parts])[order]
    tenant_idx = tenant_idx[order]
    workloads = {t: w for t, w, _ in parts}
    node_type = [workloads[t].node_type for t in tenant_idx]
    tier = [TIER_RANK[workloads[t].tier] for t in tenant_idx]
    util = [workloads[t].utilization for t in tenant_idx]
    table = JobTable(submit[order], gpus, duration, tenant_idx.tolist(), node_type, tier, util)
    return table, tenant_idx.tolist()


def simulate(s: Scenario, seed: int, replica: int) -> RunResult:
    env = simpy.Environment()
    meter = StrandingMeter()
    rec = Recorder()
    jobs, job_tenant = _job_table(s, seed, replica)
    schedulers: dict[str, Scheduler] = {}

    def scheduler_for(company: str) -> Scheduler:
        key = scheduler_key(s, company)
        if key not in schedulers:
            schedulers[key] = Scheduler(env, s.scheduler.policy, jobs, rec, meter)
        return schedulers[key]

    node_types = {n.name: n for n in s.node_types}
    for dep in s.deployments:
        nt = node_types[dep.node_type]
        scheduler_for(s.deployment_owner(dep)).pool(nt.name, nt.gpus_per_node).plan_nodes(dep.site, dep.nodes)
    tenant_scheduler = []
    for tenant in s.tenants:
        sched = scheduler_for(tenant.provider)
        for demand in (tenant.reservation, tenant.workload):
            if demand is not None:
                nt = node_types[demand.node_type]
                sched.pool(nt.name, nt.gpus_per_node)
        tenant_scheduler.append(sched)

    def at(hours: float):
        return env.timeout(max(0.0, hours - env.now))

    def deployment_online(idx, dep):
        yield at(s.hours_from_start(s.deployment_start(dep)))
        scheduler_for(s.deployment_owner(dep)).nodes_online(dep.node_type, dep.site, dep.nodes, idx)

    def reservation_steps(sched, res, r):
        start = r.start or s.start
        steps = [(max(day, start), int(round(gpus))) for day, gpus in schedule_steps(r.gpus, start)]
        if r.term is not None:
            steps.append((None, 0))
        for day, gpus in steps:
            hours = s.hours_from_start(start) + r.term if day is None else s.hours_from_start(day)
            yield at(hours)
            sched.set_reservation(res, gpus)

    def arrivals():
        for job in range(len(jobs)):
            delay = jobs.submit[job] - env.now
            if delay > 0:
                yield env.timeout(delay)
            tenant_scheduler[job_tenant[job]].submit(job)

    for idx, dep in enumerate(s.deployments):
        env.process(deployment_online(idx, dep))
    for t_idx, tenant in enumerate(s.tenants):
        if tenant.reservation is not None:
            r = tenant.reservation
            res = Reservation(t_idx, r.node_type, r.site)
            env.process(reservation_steps(tenant_scheduler[t_idx], res, r))
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
            "duration_h": np.asarray(jobs.duration),
            "tenant": np.asarray(jobs.tenant, dtype=np.int64),
            "site": np.asarray([site_index.get(x, -1) for x in jobs.site], dtype=np.int64),
            "state": np.asarray(jobs.state, dtype=np.int64),
        },
        intervals=rec.arrays(),
        stranded_gpu_h=meter.stranded_gpu_h,
    )


def _check_conservation(jobs: JobTable, schedulers) -> None:
    """Every job that arrived is completed, running, queued or rejected exactly once."""
    states = np.bincount(np.asarray(jobs.state, dtype=np.int64) + 1, minlength=5)
    running = sum(len(sc.running) for sc in schedulers)
    queued = sum(len(q) for sc in schedulers for q in sc.queues.values())
    if states[0]:
        raise InvariantError(f"{states[0]} jobs never arrived before the horizon")
    if states[1 + JobTable.RUNNING] != running or states[1 + JobTable.QUEUED] != queued:
        raise InvariantError("job states disagree with the schedulers' queues and running sets")
    if states.sum() != len(jobs):
        raise InvariantError("job count changed during the run")
