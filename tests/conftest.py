import copy
import os

import pytest
from hypothesis import settings

settings.register_profile("ci", derandomize=True, deadline=None, max_examples=40)
settings.register_profile("dev", deadline=None, max_examples=40)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

BASE = {
    "scenario": "t",
    "start": "2026-01-05",   # a Monday
    "horizon": "10d",
    "seed": 1,
    "replicas": 2,
    "companies": [{"name": "a"}],
    "sites": [{"name": "s1", "owner": "a", "critical_it_mw": 100.0, "pue": 1.0,
               "energy_price": {"flat_usd_per_mwh": 50.0}, "carbon": {"flat_kg_per_mwh": 400.0}}],
    "node_types": [{"name": "g", "gpus_per_node": 1, "gpu_idle_w": 100.0, "gpu_max_w": 500.0}],
    "deployments": [],
    "tenants": [],
}


@pytest.fixture
def base():
    """A minimal valid scenario mapping to extend in a test."""
    return copy.deepcopy(BASE)
