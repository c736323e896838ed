"""Simulate once what is the same: variants whose engine inputs are equal (a merger that
changes who owns the sites, not the fleet, schedulers or demand) share one engine run per
replica, with results byte-identical to simulating each."""
import copy
import json

import sim.engine.model as model
import sim.experiment.executors as executors
import sim.experiment.runner as runner
from sim.config.loading import scenario_from_dict


def _landlord_pair(base, host_nodes: int = 0):
    """A cloud renting a host's site, standalone and merged into the cloud (the host running
    `host_nodes` GPU nodes of its own)."""
    base["horizon"] = "20d"
    base["companies"] = [{"name": "cloud"}, {"name": "host"}]
    base["sites"][0]["owner"] = "host"
    base["deployments"] = [{"site": "s1", "node_type": "g", "nodes": 6, "owner": "cloud"}]
    if host_nodes:
        base["deployments"].append({"site": "s1", "node_type": "g", "nodes": host_nodes, "owner": "host"})
    base["tenants"] = [{"name": "t", "provider": "cloud", "workload": {
        "node_type": "g", "arrival_rate_per_h": 5.0, "gpus": {"dist": "fixed", "value": 1},
        "duration_h": {"dist": "exponential", "mean": 1.0}, "price_usd_per_gpu_hour": 2.0}}]
    base["hosting_contracts"] = [{"host": "host", "client": "cloud", "site": "s1", "billable_mw": 0.01,
                                  "fee_usd_per_kw_month": 150.0, "term": "5y"}]
    standalone = scenario_from_dict(dict(copy.deepcopy(base), scenario="standalone"))
    merged = scenario_from_dict(dict(copy.deepcopy(base), scenario="merged",
                                     merger={"into": "cloud", "members": ["cloud", "host"]}))
    return merged, standalone


def _summaries(results):
    return json.dumps([{k: v.tolist() for k, v in sorted(r.metrics.items())} for r in results])


def test_a_merger_of_landlords_is_simulated_once(base, monkeypatch):
    merged, standalone = _landlord_pair(base)
    assert model.engine_inputs(merged) == model.engine_inputs(standalone)
    calls = []
    real = executors.simulate
    monkeypatch.setattr(executors, "simulate", lambda s, seed, k: calls.append(s.scenario) or real(s, seed, k))
    _, shared = runner.run_variants([merged, standalone], seed=5, replicas=3, workers=1)
    assert len(calls) == 3
    # forced apart (every variant its own engine run): the same bytes
    monkeypatch.setattr(runner, "engine_inputs", lambda s: {**model.engine_inputs(s), "name": s.scenario})
    calls.clear()
    _, apart = runner.run_variants([merged, standalone], seed=5, replicas=3, workers=1)
    assert len(calls) == 6
    assert _summaries(shared) == _summaries(apart)
    assert shared[0].metrics["hosting_fees_usd"].tolist() != shared[1].metrics["hosting_fees_usd"].tolist()


def test_one_scheduler_or_two_is_an_engine_input(base):
    """Pooled or one company's scheduler over the same nodes: the same engine run. Once the host
    runs GPUs of its own, merging (or pooling) puts them under one scheduler: not the same."""
    merged, standalone = _landlord_pair(copy.deepcopy(base))
    pooled = merged.model_copy(update={"scheduler": merged.scheduler.model_copy(update={"scope": "pooled"})})
    assert model.engine_inputs(pooled) == model.engine_inputs(standalone)
    merged, standalone = _landlord_pair(base, host_nodes=2)
    assert model.engine_inputs(merged) != model.engine_inputs(standalone)
