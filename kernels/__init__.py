"""Bulk array math on NumPy or CuPy (or any array-API namespace). Functions take
their namespace from their inputs; `_backend` alone imports NumPy and CuPy."""
from ._backend import BackendError, get_backend, namespace_of, to_host

__all__ = ["BackendError", "get_backend", "namespace_of", "to_host"]
