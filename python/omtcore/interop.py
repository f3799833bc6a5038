"""Device arrays and device handles from other libraries (all optional).

``device=`` accepts, besides an index into ``backends()``'s device list, a
``pyopencl.Device``, ``Context`` or ``CommandQueue``. Inputs may be
``pyopencl.array.Array`` objects (backend "opencl", on their queue) or CUDA
arrays: CuPy arrays, PyTorch CUDA tensors, pycuda ``GPUArray``s (backend
"cuda", on their device and the caller's current stream). Results then come
back as arrays of the same family on the same device. The inputs are copied
to the host once: validation, rebalancing and certificates run there in
double precision. These libraries are imported only when such an object is
passed in, never otherwise.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, replace
from typing import Any, Callable, Optional

import numpy as np

from .errors import InvalidInputError


@dataclass
class Placement:
    """Where a solve runs: a backend name, a device index (-1: default) or a
    native queue handle, and the queue results go back to (None: numpy)."""

    backend: str
    device: int = -1
    native_queue: int = 0
    result_to: Optional[Callable[[np.ndarray], Any]] = None  # moves a result array to the inputs' device
    keepalive: Any = None  # the object that owns native_queue, alive for the solve


def _pyopencl_kind(obj) -> Optional[str]:
    """'device', 'context', 'queue' or 'array' for pyopencl objects, else None,
    without importing pyopencl unless the object comes from it."""
    module = type(obj).__module__ or ""
    if not module.startswith("pyopencl"):
        return None
    import pyopencl as cl
    import pyopencl.array as cla

    for kind, cls in (("device", cl.Device), ("context", cl.Context),
                      ("queue", cl.CommandQueue), ("array", cla.Array)):
        if isinstance(obj, cls):
            return kind
    return None


def _cuda_family(obj) -> Optional[str]:
    """'cupy', 'torch' or 'pycuda' for CUDA arrays of those libraries, 'other'
    for any other object with __cuda_array_interface__, else None."""
    module = type(obj).__module__ or ""
    if module.startswith("cupy"):
        return "cupy"
    if module.startswith("torch"):
        return "torch" if getattr(obj, "is_cuda", False) else None
    if module.startswith("pycuda"):
        return "pycuda"
    try:
        return "other" if hasattr(obj, "__cuda_array_interface__") else None
    except Exception:  # some libraries raise other errors for host arrays
        return None


def _cuda_placement(arrays, backend, device) -> Placement:
    families = {_cuda_family(x) for x in arrays}
    if None in families or len(families) > 1:
        raise InvalidInputError("the inputs mix CUDA arrays with other arrays, or arrays of different libraries")
    (family,) = families
    if family == "other":
        raise InvalidInputError("CUDA arrays are accepted from CuPy, PyTorch and pycuda; "
                                "convert others with numpy.asarray or cupy.asarray")
    if backend not in ("auto", "cuda"):
        raise InvalidInputError(f"CUDA arrays are solved by backend 'cuda', not {backend!r}")
    if device is not None:
        raise InvalidInputError("pass either device= or CUDA arrays (their device is used), not both")
    first = arrays[0]
    if family == "cupy":
        import cupy

        ids = {x.device.id for x in arrays}
        if len(ids) > 1:
            raise InvalidInputError(f"the CuPy inputs live on different devices {sorted(ids)}")
        index = first.device.id
        with cupy.cuda.Device(index):
            stream = cupy.cuda.get_current_stream().ptr

        def back(arr):
            with cupy.cuda.Device(index):
                return cupy.asarray(arr)
    elif family == "torch":
        import torch

        ids = {x.device.index for x in arrays}
        if len(ids) > 1:
            raise InvalidInputError(f"the PyTorch inputs live on different devices {sorted(ids)}")
        index = first.device.index
        stream = torch.cuda.current_stream(first.device).cuda_stream

        def back(arr):
            return torch.as_tensor(np.ascontiguousarray(arr), device=first.device)
    else:
        import pycuda.gpuarray as gpuarray

        index, stream = -1, 0  # pycuda works in its current context

        def back(arr):
            return gpuarray.to_gpu(np.ascontiguousarray(arr))
    # The caller's stream; the legacy default stream (0) cannot be named, so
    # the device is then given instead and the solve uses a stream of its own.
    if stream:
        return Placement("cuda", native_queue=int(stream), result_to=back)
    return Placement("cuda", device=index, result_to=back)


def _queue_for(obj, kind):
    import pyopencl as cl

    if kind == "queue":
        return obj
    if kind == "context":
        return cl.CommandQueue(obj)
    return cl.CommandQueue(cl.Context([obj]))


def placement(backend: str, device, arrays) -> Placement:
    """Resolves backend and device= against the input arrays' own devices."""
    if not isinstance(backend, str):
        raise InvalidInputError(f"backend must be a string; got {backend!r}")
    if any(_cuda_family(x) for x in arrays):
        return _cuda_placement(list(arrays), backend, device)
    queues = [x.queue for x in arrays if _pyopencl_kind(x) == "array"]
    if queues:
        if len({q.int_ptr for q in queues}) > 1:
            raise InvalidInputError("the pyopencl input arrays live on different command queues")
        if backend not in ("auto", "opencl"):
            raise InvalidInputError(f"pyopencl arrays are solved by backend 'opencl', not {backend!r}")
        if device is not None:
            raise InvalidInputError("pass either device= or pyopencl arrays (their queue is used), not both")
        import pyopencl.array as cla

        queue = queues[0]
        return Placement("opencl", native_queue=queue.int_ptr, keepalive=queue,
                         result_to=lambda arr: cla.to_device(queue, np.ascontiguousarray(arr)))
    if device is None:
        return Placement(backend)
    kind = _pyopencl_kind(device)
    if kind in ("device", "context", "queue"):
        if backend not in ("auto", "opencl"):
            raise InvalidInputError(f"a pyopencl {kind} selects backend 'opencl', not {backend!r}")
        queue = _queue_for(device, kind)
        return Placement("opencl", native_queue=queue.int_ptr, keepalive=queue)
    if isinstance(device, bool) or not isinstance(device, numbers.Integral) or device < 0:
        raise InvalidInputError(
            f"device must be a non-negative index, a pyopencl Device/Context/CommandQueue, or None; "
            f"got {device!r}")
    return Placement(backend, device=int(device))


def to_host(x):
    """A numpy view or copy of x (device arrays are copied from the device)."""
    if _pyopencl_kind(x) == "array":
        return x.get()
    family = _cuda_family(x)
    if family in ("cupy", "pycuda"):
        return x.get()
    if family == "torch":
        return x.detach().cpu().numpy()
    return x


def results_to_device(result, place: Placement):
    """Moves the result's arrays to the inputs' device when the inputs were device arrays."""
    if place.result_to is None:
        return result

    def move(arr):
        return None if arr is None else place.result_to(arr)

    return replace(result, flux=move(result.flux), exchange=move(result.exchange),
                   potential=move(result.potential))
