"""Bulk array math on NumPy or CuPy. Functions take their namespace from their inputs."""
from ._backend import BackendError, get_backend, namespace_of, to_host

__all__ = ["BackendError", "get_backend", "namespace_of", "to_host"]
