"""Device arrays and device handles from other libraries (all optional).

``device=`` accepts, besides an index into ``backends()``'s device list, a
``pyopencl.Device``, ``Context`` or ``CommandQueue``; inputs may be
``pyopencl.array.Array`` objects, and results then come back as pyopencl
arrays on the same queue. pyopencl is imported only when such an object is
passed in, never otherwise.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, replace
from typing import Any, Optional

import numpy as np

from .errors import InvalidInputError


@dataclass
class Placement:
    """Where a solve runs: a backend name, a device index (-1: default) or a
    native queue handle, and the queue results go back to (None: numpy)."""

    backend: str
    device: int = -1
    native_queue: int = 0
    result_queue: Any = None
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
    queues = [x.queue for x in arrays if _pyopencl_kind(x) == "array"]
    if queues:
        if len({q.int_ptr for q in queues}) > 1:
            raise InvalidInputError("the pyopencl input arrays live on different command queues")
        if backend not in ("auto", "opencl"):
            raise InvalidInputError(f"pyopencl arrays are solved by backend 'opencl', not {backend!r}")
        if device is not None:
            raise InvalidInputError("pass either device= or pyopencl arrays (their queue is used), not both")
        return Placement("opencl", native_queue=queues[0].int_ptr, result_queue=queues[0],
                         keepalive=queues[0])
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
    """A numpy view or copy of x (pyopencl arrays are copied from the device)."""
    if _pyopencl_kind(x) == "array":
        return x.get()
    return x


def finish(result, place: Placement):
    """Moves the result's arrays to the inputs' device when the inputs were device arrays."""
    if place.result_queue is None:
        return result
    import pyopencl.array as cla

    def move(arr):
        return None if arr is None else cla.to_device(place.result_queue, np.ascontiguousarray(arr))

    return replace(result, flux=move(result.flux), exchange=move(result.exchange),
                   potential=move(result.potential))
