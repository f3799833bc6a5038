"""Device arrays and device handles from other libraries (all optional).

``device=`` accepts, besides an index into ``backends()``'s device list, a
``pyopencl.Device``, ``Context`` or ``CommandQueue``. Inputs may be
``pyopencl.array.Array`` objects (backend "opencl", on their queue) or CUDA
arrays (backend "cuda"): CuPy arrays, PyTorch CUDA tensors, pycuda
``GPUArray``s. CUDA arrays are recognised by protocol, DLPack
(``__dlpack_device__``) first and ``__cuda_array_interface__`` as the fallback;
the solve runs on their device, and on the stream the array interface names
where it names one. Results then come back as arrays of the same library on
the same device. The inputs are copied to the host once (DLPack's copy to the
host where the producer offers it): validation, rebalancing and certificates
run there in double precision. These libraries are imported only when such an
object is passed in, never otherwise.
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


# DLPack device types (dlpack.h) whose memory a CUDA device reads.
_DLPACK_CUDA, _DLPACK_CUDA_MANAGED = 2, 13


@dataclass(frozen=True)
class CudaArrayInfo:
    """What an object's protocols say about it as a CUDA array."""

    device: int  # its CUDA device; -1 where only __cuda_array_interface__ speaks (it names none)
    stream: int  # the producer's stream its data is ready on; 0: none named (or a default stream)


def cuda_array_info(obj) -> Optional[CudaArrayInfo]:
    """obj as a CUDA array, or None if it is not one. DLPack first
    (``__dlpack_device__``: a CUDA or managed-memory device), else the CUDA
    array interface (``__cuda_array_interface__``); the interface's ``stream``
    (version 3) is the stream to run on where it names one (neither 1, the
    legacy default stream, nor 2, the per-thread one, which cannot be handed
    on). No library is imported."""
    device = None
    dlpack_device = getattr(obj, "__dlpack_device__", None)
    if callable(dlpack_device):
        try:
            kind, index = dlpack_device()
        except Exception:  # a producer that cannot export this object
            kind = index = None
        if kind in (_DLPACK_CUDA, _DLPACK_CUDA_MANAGED):
            device = int(index)
        elif kind is not None:
            return None  # host memory (numpy, PyTorch CPU tensors, ...) or another kind of device
    try:
        interface = obj.__cuda_array_interface__
    except Exception:  # absent, or refused (host tensors, tensors that require grad)
        interface = None
    if not isinstance(interface, dict):
        interface = None
    if device is None and interface is None:
        return None
    stream = interface.get("stream") if interface is not None else None
    stream = int(stream) if isinstance(stream, numbers.Integral) and stream > 2 else 0
    return CudaArrayInfo(device=-1 if device is None else device, stream=stream)


def _library(obj) -> str:
    return (type(obj).__module__ or "").split(".")[0]


def _result_maker(first, device: int) -> Callable[[np.ndarray], Any]:
    """Results go back as arrays of the inputs' own library. No protocol makes
    an array on a device, so this is the one place that knows the libraries."""
    library = _library(first)
    if library == "cupy":
        import cupy

        def back(arr):
            with cupy.cuda.Device(device if device >= 0 else first.device.id):
                return cupy.asarray(arr)
    elif library == "torch":
        import torch

        def back(arr):
            return torch.as_tensor(np.ascontiguousarray(arr), device=first.device)
    elif library == "pycuda":
        import pycuda.gpuarray as gpuarray

        def back(arr):
            return gpuarray.to_gpu(np.ascontiguousarray(arr))
    else:
        raise InvalidInputError(
            f"CUDA arrays are accepted from CuPy, PyTorch and pycuda, not {type(first).__name__} "
            f"(from {library or 'an unknown module'}): omtcore cannot make result arrays of its "
            f"library; convert the inputs with numpy.asarray or cupy.asarray")
    return back


def _cuda_placement(arrays, infos, backend, device) -> Placement:
    if any(info is None for info in infos):
        raise InvalidInputError("the inputs mix CUDA arrays with other arrays")
    if len({_library(x) for x in arrays}) > 1:
        raise InvalidInputError("the inputs mix CUDA arrays of different libraries")
    if backend not in ("auto", "cuda"):
        raise InvalidInputError(f"CUDA arrays are solved by backend 'cuda', not {backend!r}")
    if device is not None:
        raise InvalidInputError("pass either device= or CUDA arrays (their device is used), not both")
    devices = {info.device for info in infos}
    if len(devices) > 1:
        raise InvalidInputError(f"the CUDA inputs live on different devices {sorted(devices)}")
    (index,) = devices
    back = _result_maker(arrays[0], index)
    # The producer's stream; a default stream cannot be named, so the device
    # is then given instead and the solve uses a stream of its own (index -1:
    # the current device, as pycuda's current context).
    streams = {info.stream for info in infos} - {0}
    if len(streams) == 1:
        return Placement("cuda", native_queue=streams.pop(), result_to=back)
    return Placement("cuda", device=index, result_to=back)


def _cuda_to_host(x) -> np.ndarray:
    """A host copy of a CUDA array: by DLPack where the producer copies to the
    host on request (DLPack 1.0, numpy >= 2.1), else by its own copy method
    (CuPy and pycuda arrays: get(); PyTorch tensors: cpu())."""
    if callable(getattr(x, "__dlpack__", None)):
        try:
            return np.from_dlpack(x, device="cpu", copy=True)
        except (TypeError, ValueError, BufferError, NotImplementedError, RuntimeError):
            pass  # an older producer or numpy: DLPack then only shares memory in place
    if callable(getattr(x, "get", None)):
        return np.asarray(x.get())
    if callable(getattr(x, "cpu", None)):
        detach = getattr(x, "detach", None)  # tensors that require grad
        return np.asarray((detach() if callable(detach) else x).cpu())
    raise InvalidInputError(f"cannot copy the CUDA array {type(x).__name__} to the host: it offers "
                            f"no DLPack copy to the host, get() or cpu()")


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
    arrays = list(arrays)
    infos = [cuda_array_info(x) for x in arrays]
    if any(info is not None for info in infos):
        return _cuda_placement(arrays, infos, backend, device)
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
    if cuda_array_info(x) is not None:
        return _cuda_to_host(x)
    return x


def results_to_device(result, place: Placement):
    """Moves the result's arrays to the inputs' device when the inputs were device arrays."""
    if place.result_to is None:
        return result

    def move(arr):
        return None if arr is None else place.result_to(arr)

    return replace(result, flux=move(result.flux), exchange=move(result.exchange),
                   potential=move(result.potential), source=move(result.source))
