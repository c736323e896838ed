"""The one module that imports NumPy or CuPy: backend choice, namespaces, transfers.

`auto` means CuPy when it imports and sees a device, else NumPy. Kernels never
import either library: they call `namespace_of` on their inputs and write
array-API standard code, so any standard namespace (array-api-strict in the
tests, on its CPU and non-CPU devices) runs them. The few operations that the
standard lacks, or that NumPy 1.x / CuPy 13 spell differently, live here, as do
the compiled CuPy kernels' constructors.
"""
from __future__ import annotations

import functools
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


def is_cupy(a) -> bool:
    return type(a).__module__.split(".")[0] == "cupy"


def _classic(a) -> bool:
    """NumPy or CuPy: libraries with the classic spellings (cumsum, concatenate, .astype)."""
    return isinstance(a, numpy.ndarray) or is_cupy(a)


def namespace_of(*arrays):
    """The namespace of the arrays (Python scalars and None are ignored)."""
    for a in arrays:
        if is_cupy(a):
            return importlib.import_module("cupy")
    for a in arrays:
        if not isinstance(a, numpy.ndarray) and hasattr(a, "__array_namespace__"):
            return a.__array_namespace__()
    return numpy


def on(a) -> dict:
    """Keyword arguments that create a new array on the device of `a`
    (NumPy is always on the host; CuPy creates on the current device)."""
    return {} if _classic(a) else {"device": a.device}


def to_device(host, like):
    """A host array on the namespace and device of `like`."""
    if isinstance(like, numpy.ndarray):
        return numpy.asarray(host)
    if is_cupy(like):
        return importlib.import_module("cupy").asarray(host)
    return like.__array_namespace__().asarray(host, device=like.device)


def to_host(arrays):
    """NumPy copies of an array or of a dict of arrays; for CuPy, a whole dict comes
    back in one device-to-host transfer (as float64)."""
    if not isinstance(arrays, dict):
        return to_host({"a": arrays})["a"]
    if any(is_cupy(a) for a in arrays.values()):
        cupy = importlib.import_module("cupy")
        flat = cupy.concatenate([cupy.ravel(a).astype(cupy.float64) for a in arrays.values()]).get()
        out, at = {}, 0
        for key, a in arrays.items():
            out[key] = flat[at:at + a.size].reshape(a.shape)
            at += a.size
        return out
    return {key: _host_one(a) for key, a in arrays.items()}


def _host_one(a) -> numpy.ndarray:
    if isinstance(a, numpy.ndarray) or not hasattr(a, "to_device"):
        return numpy.asarray(a)
    cpu = a.__array_namespace__().__array_namespace_info__().default_device()
    return numpy.asarray(a.to_device(cpu))


# ---------------------------------------------------------------- what the standard lacks or spells anew

def astype(x, dtype):
    """x as dtype, without a copy when it already is."""
    return x.astype(dtype, copy=False) if _classic(x) else namespace_of(x).astype(x, dtype, copy=False)


def concat(arrays, axis: int = 0):
    xp = namespace_of(*arrays)
    return xp.concatenate(arrays, axis=axis) if _classic(arrays[0]) else xp.concat(arrays, axis=axis)


def cumsum(x, axis: int):
    xp = namespace_of(x)
    return xp.cumsum(x, axis=axis) if _classic(x) else xp.cumulative_sum(x, axis=axis)


def scatter_add(index, weights, n: int):
    """out[k] = sum of weights[j] over j with index[j] == k, for k in [0, n), added in the
    order of j as NumPy's bincount adds them, so CuPy gives NumPy's bits, the same every run.
    index: int64 in [0, n); weights: float64 of the same length."""
    xp = namespace_of(index, weights)
    if isinstance(index, numpy.ndarray):
        return astype(xp.bincount(index, weights=weights, minlength=n), xp.float64)
    # sorted by index, stably (each bin keeps the order of j; CuPy's argsort is always stable)
    order = xp.argsort(index) if is_cupy(index) else xp.argsort(index, stable=True)
    sorted_index, sorted_weights = xp.take(index, order), xp.take(weights, order)
    edges = xp.searchsorted(sorted_index, xp.arange(n + 1, dtype=index.dtype, **on(index)))
    if is_cupy(index):   # one thread per bin adds its run in order: no atomics, no host round trip
        out = xp.empty(n, dtype=xp.float64)
        launch(_SEGMENT_SUM_CUDA, "fleetsim_segment_sum", max(1, -(-n // 256)), 256,
               xp.ascontiguousarray(sorted_weights), xp.ascontiguousarray(edges.astype(xp.int64)), out, n)
        return out
    # The standard has no scatter: difference the running sum at each bin's edges.
    running = xp.cumulative_sum(sorted_weights, include_initial=True)
    return xp.take(running, edges[1:]) - xp.take(running, edges[:-1])


_SEGMENT_SUM_CUDA = r"""
extern "C" __global__ void fleetsim_segment_sum(const double* weights, const long long* edges, double* out,
                                                const long long n)
{
    const long long k = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (k >= n) return;
    double total = 0.0;
    for (long long j = edges[k]; j < edges[k + 1]; ++j) total += weights[j];
    out[k] = total;
}
"""


# ---------------------------------------------------------------- compiled CuPy kernels

# Without contraction into fused multiply-adds, each element's arithmetic rounds
# exactly as its NumPy twin's does; only the order of summation differs.
_NVCC_OPTIONS = ("--fmad=false",)


@functools.cache
def elementwise_kernel(in_params: str, out_params: str, operation: str, name: str):
    cupy = importlib.import_module("cupy")
    return cupy.ElementwiseKernel(in_params, out_params, operation, name, options=_NVCC_OPTIONS)


@functools.cache
def _raw_kernel(source: str, name: str):
    cupy = importlib.import_module("cupy")
    return cupy.RawKernel(source, name, options=_NVCC_OPTIONS)


def launch(source: str, name: str, blocks: int, threads: int, *args) -> None:
    """Run a CUDA C kernel on C-contiguous CuPy arrays; Python ints pass as
    `long long`, floats as `double`."""
    cast = []
    for a in args:
        if isinstance(a, int):
            cast.append(numpy.int64(a))
        elif isinstance(a, float):
            cast.append(numpy.float64(a))
        elif not a.flags.c_contiguous:  # a copy would lose what the kernel writes
            raise ValueError(f"{name}: arrays must be C-contiguous")
        else:
            cast.append(a)
    _raw_kernel(source, name)((blocks,), (threads,), tuple(cast))
