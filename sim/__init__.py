"""fleetsim: a discrete-event model of GPU fleets, tenant contracts, energy and finance."""
__version__ = "0.1.0"
