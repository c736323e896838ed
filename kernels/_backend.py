"""The one module that chooses between NumPy and CuPy.

`auto` means CuPy when it imports and sees a device, else NumPy. Kernels never
import either library; they call `namespace_of` on their inputs.
"""
from __future__ import annotations

import importlib

import numpy


class BackendError(Exception):
    """A backend was asked for that this machine cannot provide (bad input, exit 2)."""


def _cupy_or_none():
    try:
        cupy = importlib.import_module("cupy")
        if cupy.cuda.runtime.getDeviceCount() > 0:
            return cupy
    except Exception:  # no package, no driver, no device: all mean "not here"
        return None
    return None


def get_backend(name: str = "auto") -> tuple[str, object]:
    """(backend name, array namespace) for `auto`, `numpy` or `cupy`."""
    if name == "numpy":
        return "numpy", numpy
    if name in ("cupy", "auto"):
        cupy = _cupy_or_none()
        if cupy is not None:
            return "cupy", cupy
        if name == "cupy":
            raise BackendError("--backend cupy: CuPy is not installed or sees no GPU on this machine "
                               "(install the 'gpu' extra on a GPU machine, or use --backend numpy)")
        return "numpy", numpy
    raise BackendError(f"--backend: expected auto, numpy or cupy, got {name!r}")


def namespace_of(*arrays):
    for a in arrays:
        if type(a).__module__.split(".")[0] == "cupy":
            return importlib.import_module("cupy")
    return numpy


def to_host(a) -> numpy.ndarray:
    """One transfer back to the host (a no-op for NumPy)."""
    if type(a).__module__.split(".")[0] == "cupy":
        return a.get()
    return numpy.asarray(a)
