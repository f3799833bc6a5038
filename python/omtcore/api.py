"""The public Python API: solve functions, results and backend discovery."""

from __future__ import annotations

import numbers
import time
import warnings
from dataclasses import dataclass, field
from typing import Optional, Sequence, Union

import numpy as np

from . import _core
from .errors import ConvergenceWarning, InvalidInputError
from .interop import placement, results_to_device, to_host

__all__ = ["Result", "BackendInfo", "scalar_omt", "vector_omt", "matrix_omt", "gell_mann", "backends"]


@dataclass(frozen=True)
class Result:
    """What a solve returns: a certified bracket around the optimal cost.

    The true distance lies in ``[lower_bound, distance]``: ``distance`` is the
    cost of ``flux``, which is exactly feasible, and ``lower_bound`` the dual
    objective of ``potential``, which is dual feasible.

    A batch (``batch=1``) gives one Result for the whole call: ``distance``,
    ``lower_bound``, ``gap``, ``residual``, ``iterations``, ``converged``
    and ``levels`` are then arrays ``(B,)`` and ``flux``, ``exchange``,
    ``potential`` and ``source`` have a leading axis ``B``.

    Attributes
    ----------
    distance : float
        Cost of the returned flux (and exchange and source): an upper bound.
    lower_bound : float
        Dual objective of ``potential``: a rigorous lower bound.
    gap : float
        ``(distance - lower_bound) / distance``; 0 when ``distance`` is 0.
    residual : float
        Constraint violation, before the repair, of the iterate the returned
        flux was repaired from, relative to the total mass.
    flux : numpy.ndarray
        Scalar ``(d, *grid)`` (face ``i -> i + e_s`` stored at cell ``i``),
        vector ``(d, *grid, k)``, matrix ``(d, *grid, k, k)`` complex; float64.
    exchange : numpy.ndarray or None
        None for scalar problems; vector ``(n_edges, *grid)``; matrix
        ``(N, *grid, k, k)`` complex.
    potential : numpy.ndarray
        The dual-feasible potential giving ``lower_bound``, the shape of one
        input; 0 outside the mask.
    iterations : int
        Iterations on the given grid.
    converged : bool
        ``gap`` and ``residual`` both at or below ``tol``.
    seconds : float
        The whole call, validation and coarse grids included.
    backend, device, dtype, method : str
        What ran.
    levels : int
        Grids solved: 1 plus the coarse grids of the multilevel warm start.
    source : numpy.ndarray or None
        Unbalanced solves: the source ``s`` (``div F + s = a - b``: mass of
        ``a`` removed where positive, mass of ``b`` supplied where negative),
        the shape of one input; None for balanced solves.
    """

    distance: float
    lower_bound: float
    gap: float
    residual: float
    flux: np.ndarray
    exchange: Optional[np.ndarray]
    potential: np.ndarray
    iterations: int
    converged: bool
    seconds: float
    backend: str
    device: str
    dtype: str
    method: str = "auto"
    levels: int = 1  # grids solved: 1 + the coarse grids of the multilevel warm start
    source: Optional[np.ndarray] = None  # unbalanced solves: mass removed (> 0) or added (< 0) per cell

    def __repr__(self) -> str:
        if np.ndim(self.distance):  # a batch
            return (f"Result(batch of {len(self.distance)}, distance={self.distance!r}, "
                    f"converged={int(np.sum(self.converged))} of {len(self.distance)}, "
                    f"seconds={self.seconds:.3g}, backend={self.backend!r}, dtype={self.dtype!r})")
        return (f"Result(distance={self.distance:.10g}, lower_bound={self.lower_bound:.10g}, "
                f"gap={self.gap:.3g}, residual={self.residual:.3g}, iterations={self.iterations}, "
                f"converged={self.converged}, seconds={self.seconds:.3g}, backend={self.backend!r}, "
                f"dtype={self.dtype!r})")


@dataclass(frozen=True)
class BackendInfo:
    """A backend: its name, whether it can run here, why not, and its devices."""

    name: str
    available: bool
    reason: str
    devices: list = field(default_factory=list)


def backends() -> list[BackendInfo]:
    """Every backend omtcore knows, in the order ``backend="auto"`` prefers them.

    Returns
    -------
    list of BackendInfo
        Each with ``name``, ``available``, ``reason`` (why not, if not) and
        ``devices``.
    """
    return [BackendInfo(*entry) for entry in _core.list_backends()]


def _masses(x, name: str) -> np.ndarray:
    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
        raise InvalidInputError(f"{name} must be a real numeric array; got dtype {arr.dtype}")
    # float32 masses are read as they are (no float64 copy); others as float64.
    # (ascontiguousarray makes 0-d arrays 1-d.)
    return np.asarray(arr, dtype=np.float32 if arr.dtype == np.float32 else np.float64, order="C")


def _same_shape(a: np.ndarray, b: np.ndarray, names: str = "a and b") -> tuple:
    # The core sees pointers only: whether the two shapes agree is the one
    # shape check made here (the grid itself is checked by the core).
    if a.shape != b.shape:
        raise InvalidInputError(f"{names} must have the same shape; got {a.shape} and {b.shape}")
    return a.shape


def _mask(mask, shape) -> Optional[np.ndarray]:
    if mask is None:
        return None
    m = np.asarray(mask)
    if m.shape != shape:
        raise InvalidInputError(f"mask must have the grid's shape {shape}; got {m.shape}")
    if m.dtype != np.bool_:
        if m.dtype.kind not in "iu" or not np.isin(m, (0, 1)).all():
            raise InvalidInputError(f"mask must be boolean (or 0/1 integers); got dtype {m.dtype}")
    return np.asarray(m, dtype=np.uint8, order="C").ravel()


def _batched(batch) -> bool:
    if isinstance(batch, (bool, np.bool_)) or (isinstance(batch, numbers.Integral) and batch in (0, 1)):
        return bool(batch)
    raise InvalidInputError(f"batch must be 0 (one problem) or 1 (a leading axis of problems); got {batch!r}")


def _problems(full_shape: tuple, batched: bool, names: str, layout: str) -> tuple:
    """(count, one problem's shape): count None for a single problem."""
    if not batched:
        return None, full_shape
    if len(full_shape) < 2 or full_shape[0] == 0:
        raise InvalidInputError(f"with batch=1, {names} must have shape (B, {layout}) with B >= 1 problems; "
                                f"got shape {full_shape}")
    return full_shape[0], full_shape[1:]


def _batch_mask(mask, shape, count):
    """A mask shared by every problem (the grid's shape) or one per problem
    ((B, *grid)): the flat mask and the cells between two problems' masks."""
    if mask is None or count is None or np.shape(mask) != (count,) + tuple(shape):
        return _mask(mask, shape), 0
    return _mask(mask, (count,) + tuple(shape)), int(np.prod(shape))


def _progress_bar(total: int, desc: str):
    """A tqdm bar on stderr (also when stderr is a file), or an error naming the package."""
    try:
        from tqdm.auto import tqdm
    except ImportError:
        raise InvalidInputError("progress=True needs tqdm (pip install tqdm)") from None
    return tqdm(total=total, desc=desc, unit="problem")


class _Batch:
    """What a solve function hands the core for a batch, and the bar it updates."""

    def __init__(self, count, values, mask_step, fields, progress, desc):
        if not isinstance(fields, (bool, np.bool_)):
            raise InvalidInputError(f"fields must be True or False; got {fields!r}")
        if not isinstance(progress, (bool, np.bool_)):
            raise InvalidInputError(f"progress must be True or False; got {progress!r}")
        self.count = count
        self.bar = _progress_bar(count, desc) if progress and count is not None else None
        if progress and count is None:
            raise InvalidInputError("progress=True reports problems done: it needs batch=1")
        self.core = None if count is None else (count, values // count, mask_step, bool(fields), self._report)

    def _report(self, done):
        if self.bar is not None and done > self.bar.n:
            self.bar.update(done - self.bar.n)

    def close(self):
        if self.bar is not None:
            self.bar.close()


# Conversions only: the core checks every value (ranges, lengths, names) once
# and its messages name the argument and the value.

def _real(x, name: str) -> float:
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, (numbers.Real, np.number)):
        raise InvalidInputError(f"{name} must be a real number; got {x!r}")
    return float(x)


def _spacing(h) -> list:
    values = [h] if isinstance(h, numbers.Number) or np.ndim(h) == 0 else list(np.ravel(h))
    for x in values:
        if isinstance(x, (bool, np.bool_)) or not isinstance(x, (numbers.Real, np.number)):
            raise InvalidInputError(f"spacing h must be real numbers; got {h!r}")
    return [float(x) for x in values]


def _options(tol, max_iter, dtype, shape):
    # max_iter: the core reads 0 as "each grid's own default"; None here means
    # the default of the grid asked for, on every grid solved.
    if max_iter is None:
        max_iter = _core.max_iter_default(shape)
    elif isinstance(max_iter, bool) or not isinstance(max_iter, numbers.Integral) or max_iter < 1:
        raise InvalidInputError(f"max_iter must be a positive integer or None; got {max_iter!r}")
    # dtype: numpy's names and types (np.float64, "double", ...) become the core's names.
    if dtype is None:
        dtype = "float32"
    try:
        dtype_name = np.dtype(dtype).name
    except TypeError:
        if not isinstance(dtype, str):
            raise InvalidInputError(f"unknown dtype {dtype!r}; expected 'float32' or 'float64'") from None
        dtype_name = dtype  # the core names what it expects
    return _real(tol, "tol"), int(max_iter), dtype_name


def _shaped(values, shape):
    if shape is None:
        return None
    if shape[-1] == "complex":
        return values.reshape(shape[:-1] + (2,)).view(np.complex128)[..., 0]
    return values.reshape(shape)


def _finish(raw, shapes: tuple, tol: float, fields: bool = True, seconds: Optional[float] = None) -> Result:
    """Builds the Result; ``shapes`` = (flux, exchange or None, potential) shapes,
    complex results given with their trailing (re, im) axis (the source has
    the potential's). ``raw``: one solve's dict, or a batch's list of them
    (then ``seconds`` is the whole call's)."""
    if isinstance(raw, list):
        return _finish_batch(raw, shapes, tol, fields, seconds)
    stopped = raw.pop("stopped_by_callback")
    flux_shape, exchange_shape, potential_shape = shapes
    source = raw.pop("source")
    if not fields:
        flux_shape = exchange_shape = potential_shape = None
    result = Result(flux=_shaped(raw.pop("flux"), flux_shape),
                    exchange=_shaped(raw.pop("exchange"), exchange_shape),
                    potential=_shaped(raw.pop("potential"), potential_shape),
                    source=None if source is None or not fields else _shaped(source, potential_shape), **raw)
    if not result.converged and not stopped:
        warnings.warn(
            f"omtcore stopped after {result.iterations} iterations with gap {result.gap:.3g} and "
            f"residual {result.residual:.3g} (tol {tol:g}); the bracket [lower_bound, distance] "
            f"is still rigorous. Raise max_iter for a tighter answer.",
            ConvergenceWarning, stacklevel=3)
    return result


def _finish_batch(raws: list, shapes: tuple, tol: float, fields: bool, seconds: float) -> Result:
    """A batch's Result: per-problem numbers as (B,) arrays, fields with a leading axis."""
    def column(name, dtype):
        return np.array([r[name] for r in raws], dtype=dtype)

    def stacked(name, shape):
        if not fields or shape is None:
            return None
        # A problem the callback stopped before it started has no fields: NaN.
        size = 2 * int(np.prod(shape[:-1])) if shape[-1] == "complex" else int(np.prod(shape))
        return np.stack([_shaped(r[name] if r[name] is not None and r[name].size else np.full(size, np.nan), shape)
                         for r in raws])

    flux_shape, exchange_shape, potential_shape = shapes
    unbalanced = any(r["source"] is not None for r in raws)
    converged = column("converged", bool)
    stopped = column("stopped_by_callback", bool)
    result = Result(distance=column("distance", float), lower_bound=column("lower_bound", float),
                    gap=column("gap", float), residual=column("residual", float),
                    flux=stacked("flux", flux_shape), exchange=stacked("exchange", exchange_shape),
                    potential=stacked("potential", potential_shape),
                    source=stacked("source", potential_shape) if unbalanced else None,
                    iterations=column("iterations", np.int64), converged=converged, seconds=seconds,
                    backend=raws[0]["backend"], device=raws[0]["device"], dtype=raws[0]["dtype"],
                    method=raws[0]["method"], levels=column("levels", np.int64))
    late = np.flatnonzero(~converged & ~stopped)
    if late.size:
        warnings.warn(
            f"omtcore: {late.size} of {len(raws)} problems (indices {', '.join(map(str, late[:10]))}"
            f"{', ...' if late.size > 10 else ''}) stopped at max_iter before meeting tol {tol:g}; "
            f"their brackets [lower_bound, distance] are still rigorous. Raise max_iter for tighter answers.",
            ConvergenceWarning, stacklevel=3)
    return result


def _initial(init, count=None):
    """A warm start as the core takes it: (flux, exchange, potential, source)
    flat float64; for a batch of ``count`` problems a list of one such per
    problem, from the Result of a batch of as many."""
    if init is None:
        return None
    if not isinstance(init, Result):
        raise InvalidInputError(f"init must be the Result of an earlier solve, or None; got {type(init).__name__}")
    if init.flux is None or init.potential is None:
        raise InvalidInputError("init must carry its fields (a Result solved with fields=True)")

    def flat(x):
        if x is None:
            return np.zeros(0)
        arr = np.asarray(x)
        if np.iscomplexobj(arr):
            arr = np.ascontiguousarray(arr, dtype=np.complex128).view(np.float64)
        return np.ascontiguousarray(arr, dtype=np.float64).ravel()

    fields = [None if x is None else np.asarray(to_host(x))
              for x in (init.flux, init.exchange, init.potential, init.source)]
    if count is None:
        return tuple(flat(x) for x in fields)
    if np.ndim(init.distance) != 1 or len(init.distance) != count:
        got = "a single solve" if np.ndim(init.distance) == 0 else f"a batch of {len(init.distance)}"
        raise InvalidInputError(f"init of a batch of {count} problems must be the Result of a batch of {count}; "
                                f"got {got}")
    return [tuple(flat(None if x is None else x[q]) for x in fields) for q in range(count)]


def _unbalanced(lam):
    """None (balanced) or the price per unit of mass created or destroyed; the core checks its range."""
    return None if lam is None else _real(lam, "unbalanced")


def _threads(threads) -> int:
    """None (every core) or a positive count; the core reads 0 as every core."""
    if threads is None:
        return 0
    if isinstance(threads, bool) or not isinstance(threads, numbers.Integral) or threads < 1:
        raise InvalidInputError(f"threads must be a positive integer or None; got {threads!r}")
    return int(threads)


def _check_strings(**named):
    for name, value in named.items():
        if not isinstance(value, str):
            raise InvalidInputError(f"{name} must be a string; got {value!r}")


def scalar_omt(a, b, *, h: Union[float, Sequence[float]] = 1.0, norm: str = "isotropic",
               mask=None, normalize: bool = False, tol: float = 1e-4,
               max_iter: Optional[int] = None, method: str = "auto", backend: str = "auto",
               device: Optional[int] = None, dtype=None, callback=None, init=None,
               unbalanced: Optional[float] = None, threads: Optional[int] = None, batch: int = 0,
               fields: bool = True, progress: bool = False) -> Result:
    """W1 optimal transport between two mass distributions on a grid.

    Parameters
    ----------
    a, b : array_like
        Non-negative masses per cell, same shape, 1 to 3 axes, equal totals
        (to a relative 1e-6; with a mask, on each connected part). float32
        arrays are read as they are, other real arrays as float64. Device
        arrays (pyopencl, CuPy, PyTorch CUDA, pycuda) are solved on their
        device, and the result's arrays come back there.
    h : float or sequence of float
        Grid spacing, one number or one per axis.
    norm : {"isotropic", "anisotropic"}
        Isotropic: the Euclidean norm of each cell's flux (approximately
        Euclidean ground cost); anisotropic: exactly the L1 ground cost
        ``sum_s h_s |i_s - j_s|``.
    mask : array_like of bool, optional
        The cells of the domain; mass must balance on each connected part.
    normalize : bool
        Scale ``a`` and ``b`` to unit total mass first.
    tol : float
        Target for the certified relative gap and the relative residual.
    max_iter : int, optional
        Iteration limit on each grid solved (the warm start's coarse grids
        too); None means ``10000 + 100 * (longest side)``.
    method : {"auto", "adaptive", "preconditioned", "pdhg"}
        "auto": Poisson-preconditioned PDHG with adaptive primal weight,
        warm-started from the same problem on coarser grids; "adaptive" the
        same on this grid alone; "preconditioned" (fixed weight) and "pdhg"
        (plain PDHG) are kept for comparison.
    backend : {"auto", "cpu", "opencl", "cuda"}
        "auto" takes CUDA, then OpenCL when it has a GPU or accelerator,
        then the CPU backend.
    device : int or pyopencl object, optional
        Index into the backend's devices (``backends()``), default its first
        GPU; or a pyopencl Device, Context or CommandQueue (backend "opencl").
    dtype : {"float32", "float64"}, optional
        Iterate precision (None: float32); certificates and the returned
        flux are always float64.
    callback : callable, optional
        Called as ``callback(iteration, gap, residual)`` at every check;
        returning False stops the solve.
    init : Result, optional
        A result of an earlier solve of a problem of the same kind and shape
        (a sequence of similar images, a gradient flow): the iteration starts
        from its flux and potential instead of the multilevel warm start. The
        answer is certified as always.
    unbalanced : float, optional
        None (balanced transport) or a price ``lam > 0``: mass may also be
        created or destroyed at ``lam`` per unit (a source ``s`` with
        ``div F + s = a - b`` costs ``lam * sum |s|``), so ``a`` and ``b``
        need not balance.
    threads : int, optional
        CPU threads this solve may use (None: every core), so that several
        solves side by side do not oversubscribe the machine.
    batch : {0, 1}
        1: ``a`` and ``b`` (and ``mask``, if it has the leading axis) hold
        ``B`` independent problems of one grid, ``(B, *grid)``, solved in one
        call, each converging, stopping and certified on its own; its answer
        is the one a single solve with ``threads=1`` gives. The Result's
        numbers become arrays ``(B,)`` and its arrays gain a leading axis;
        ``seconds``, ``backend``, ``device``, ``dtype`` and ``method``
        describe the call. On the CPU backend small problems (under 32768
        cells) run side by side, one thread each, larger ones one at a time
        on every thread (``threads`` bounds the call); on a device one at a
        time. Every problem is validated before any work, and an error names
        the problems' indices. ``callback`` is then called as
        ``callback(problem, iteration, gap, residual)``; returning False
        stops the batch (problems not started come back with distance inf,
        lower bound 0, iterations 0 and NaN fields). ``init`` is then the
        Result of an earlier batch of as many problems (one start each).
    fields : bool
        False: the Result's ``flux``, ``exchange``, ``potential`` and
        ``source`` are None (a batch then keeps no fields while it runs).
    progress : bool
        With ``batch=1``: a tqdm progress bar of the problems done, on stderr.

    Returns
    -------
    Result
        The certified bracket ``[lower_bound, distance]``, the flux
        ``(d, *grid)``, the potential (the grid's shape) and, for unbalanced
        solves, the source; with ``batch=1`` each with a leading axis ``B``.

    Raises
    ------
    InvalidInputError
        Bad masses, shapes, mask, spacing or options (the message names them).
    BackendUnavailableError
        The requested backend cannot run here.
    DeviceMemoryError
        The device cannot hold the problem (checked before allocating).
    """
    start = time.perf_counter()
    batched = _batched(batch)
    place = placement(backend, device, (a, b))
    a = _masses(to_host(a), "a")
    b = _masses(to_host(b), "b")
    count, shape = _problems(_same_shape(a, b), batched, "a and b", "*grid")
    m, mask_step = _batch_mask(mask, shape, count)
    spacing = _spacing(h)
    tol, max_iter, dtype_name = _options(tol, max_iter, dtype, shape)
    _check_strings(norm=norm, method=method)
    run = _Batch(count, a.size, mask_step, fields, progress, "omtcore.scalar_omt")
    try:
        raw = _core.solve_scalar_problem(a.ravel(), b.ravel(), shape, spacing, m, norm,
                                         bool(normalize), tol, max_iter, method, place.backend,
                                         place.device, dtype_name, callback, place.native_queue, _initial(init, count),
                                         _unbalanced(unbalanced), _threads(threads), run.core)
    finally:
        run.close()
    return results_to_device(_finish(raw, ((len(shape),) + shape, None, shape), tol, fields,
                                     time.perf_counter() - start), place)


def _edges(edges, k: int):
    """None (all pairs) or a flat list of channel indices, two per edge."""
    if edges is None:
        return None
    try:
        arr = np.asarray(edges)
    except (TypeError, ValueError):
        raise InvalidInputError(f"edges must be a sequence of (s, t) channel pairs; got {edges!r}") from None
    if arr.size == 0:
        return []
    if arr.ndim != 2 or arr.shape[1] != 2 or arr.dtype.kind not in "iu":
        raise InvalidInputError(
            f"edges must be a sequence of (s, t) pairs of integer channel indices; got {edges!r}")
    return [int(x) for x in arr.ravel()]


def _weights(weights):
    if weights is None:
        return None
    arr = np.asarray(weights)
    if arr.ndim != 1 or arr.dtype.kind not in "biuf" or arr.dtype.kind == "b":
        raise InvalidInputError(f"weights must be a 1-D sequence of positive numbers; got {weights!r}")
    return [float(x) for x in arr]


def vector_omt(a, b, *, edges=None, weights=None, alpha: float = 1.0,
               h: Union[float, Sequence[float]] = 1.0, norm: str = "isotropic", mask=None,
               normalize: bool = False, tol: float = 1e-4, max_iter: Optional[int] = None,
               method: str = "auto", backend: str = "auto", device: Optional[int] = None,
               dtype=None, callback=None, init=None, unbalanced: Optional[float] = None,
               threads: Optional[int] = None, batch: int = 0, fields: bool = True,
               progress: bool = False) -> Result:
    """Vector-valued W1 transport: ``k`` channels per cell.

    Mass moves in space per channel and, inside a cell, between channels
    along the edges of a channel graph at ``alpha * weight`` per unit.

    Parameters
    ----------
    a, b : array_like
        Non-negative masses of shape ``(*grid, k)``, channel last (1 to 3
        grid axes), balanced on every component of the channel graph.
    edges : sequence of (int, int), optional
        Channel pairs ``(s, t)`` along which mass may change channel inside a
        cell; None means all pairs (0, 1), (0, 2), ..., (1, 2), ...; ``[]``
        means none (``k`` separate scalar problems).
    weights : sequence of float, optional
        One positive price factor per edge (default 1): moving one unit
        along edge ``e`` costs ``alpha * weights[e]``.
    alpha : float
        Price of moving mass between channels, >= 0 (0: free exchange).
    h, norm, mask, normalize, tol, max_iter, method, backend, device, dtype, callback, init, unbalanced, threads
        As for :func:`scalar_omt` (the source of an unbalanced problem is per
        channel).
    batch, fields, progress
        As for :func:`scalar_omt`; a batch is ``(B, *grid, k)``.

    Returns
    -------
    Result
        ``flux`` F ``(d, *grid, k)``, ``exchange`` G ``(n_edges, *grid)`` (the
        mass moved from ``s_e`` to ``t_e`` inside each cell), ``potential``
        ``(*grid, k)``.
    """
    start = time.perf_counter()
    batched = _batched(batch)
    place = placement(backend, device, (a, b))
    a = _masses(to_host(a), "a")
    b = _masses(to_host(b), "b")
    count, one = _problems(_same_shape(a, b), batched, "a and b", "*grid, k")
    if not 2 <= len(one) <= 4:  # layout: which axes are the grid's
        raise InvalidInputError(
            f"a and b must have shape {'(B, *grid, k)' if batched else '(*grid, k)'} with 1 to 3 grid axes; "
            f"got shape {a.shape}")
    shape, k = one[:-1], one[-1]
    m, mask_step = _batch_mask(mask, shape, count)
    spacing = _spacing(h)
    tol, max_iter, dtype_name = _options(tol, max_iter, dtype, shape)
    _check_strings(norm=norm, method=method)
    flat_edges = _edges(edges, k)
    run = _Batch(count, a.size, mask_step, fields, progress, "omtcore.vector_omt")
    try:
        raw = _core.solve_vector_problem(a.ravel(), b.ravel(), shape, k, flat_edges, _weights(weights),
                                         _real(alpha, "alpha"), spacing, m, norm, bool(normalize), tol,
                                         max_iter, method, place.backend, place.device, dtype_name,
                                         callback, place.native_queue, _initial(init, count),
                                         _unbalanced(unbalanced), _threads(threads), run.core)
    finally:
        run.close()
    n_edges = k * (k - 1) // 2 if flat_edges is None else len(flat_edges) // 2
    return results_to_device(
        _finish(raw, ((len(shape),) + shape + (k,), (n_edges,) + shape, shape + (k,)), tol, fields,
                time.perf_counter() - start), place)


def _matrices(x, name: str) -> np.ndarray:
    arr = np.asarray(x)
    if arr.dtype.kind not in "biufc":
        raise InvalidInputError(f"{name} must be a real or complex numeric array; got dtype {arr.dtype}")
    # float32 and complex64 matrices are read as complex64 (the core reads float32
    # pairs), others as complex128.
    single = arr.dtype in (np.float32, np.complex64)
    return np.ascontiguousarray(arr, dtype=np.complex64 if single else np.complex128)


def _pairs(x: np.ndarray) -> np.ndarray:
    """A contiguous complex array as its interleaved (re, im) real numbers."""
    return x.view(np.float32 if x.dtype == np.complex64 else np.float64).ravel()


def gell_mann(k: int) -> np.ndarray:
    """The generalised Gell-Mann matrices, the default ``L`` of :func:`matrix_omt`.

    Parameters
    ----------
    k : int
        The matrix size.

    Returns
    -------
    numpy.ndarray
        ``k^2 - 1`` Hermitian matrices with ``tr(L_a L_b) = 2 delta_ab``,
        shape ``(k^2 - 1, k, k)``, complex128: the symmetric ones, the
        antisymmetric ones, then the diagonal ones; Pauli X, Y, Z for k = 2.
    """
    if isinstance(k, bool) or not isinstance(k, numbers.Integral):
        raise InvalidInputError(f"k must be an integer; got {k!r}")
    return _core.gell_mann(int(k)).reshape(-1, k, k, 2).view(np.complex128)[..., 0]


def matrix_omt(A, B, *, L=None, alpha: float = 1.0, h: Union[float, Sequence[float]] = 1.0,
               matrix_norm: str = "frobenius", mask=None, normalize: bool = False,
               tol: float = 1e-4, max_iter: Optional[int] = None, method: str = "auto",
               backend: str = "auto", device: Optional[int] = None, dtype=None,
               callback=None, init=None, unbalanced: Optional[float] = None,
               threads: Optional[int] = None, batch: int = 0, fields: bool = True,
               progress: bool = False) -> Result:
    """Matrix-valued W1 transport: a Hermitian PSD matrix per cell.

    Mass moves in space and changes inside a cell through the quantum
    gradient ``i [L_l, W_l]``, at ``alpha`` per unit.

    Parameters
    ----------
    A, B : array_like
        Hermitian positive semidefinite matrices of shape ``(*grid, k, k)``,
        complex or real symmetric, ``k`` from 1 to 8; ``sum(A - B)`` must be
        orthogonal to every matrix commuting with all ``L_l`` (equal total
        traces for the default ``L``).
    L : array_like, optional
        Hermitian ``k x k`` matrices defining the in-cell exchange; None means
        ``gell_mann(k)`` (Pauli for k = 2, none for k = 1).
    alpha : float
        Price of in-cell exchange, >= 0.
    matrix_norm : {"frobenius", "nuclear"}
        Frobenius: spatial cost ``sqrt(sum_s h_s^2 ||U_s||_F^2)``, exchange
        ``alpha ||W_l||_F``; nuclear: ``sum_s h_s ||U_s||_*`` and
        ``alpha ||W_l||_*``.
    h, mask, normalize, tol, max_iter, method, backend, device, dtype, callback, init, unbalanced, threads
        As for :func:`scalar_omt` (the source of an unbalanced problem is a
        Hermitian matrix per cell, priced in ``matrix_norm``).
    batch, fields, progress
        As for :func:`scalar_omt`; a batch is ``(B, *grid, k, k)``.

    Returns
    -------
    Result
        ``flux`` U ``(d, *grid, k, k)``, ``exchange`` W ``(N, *grid, k, k)``
        and ``potential`` Phi ``(*grid, k, k)``, complex128.
    """
    start = time.perf_counter()
    batched = _batched(batch)
    place = placement(backend, device, (A, B))
    A = _matrices(to_host(A), "A")
    B = _matrices(to_host(B), "B")
    count, one = _problems(_same_shape(A, B, "A and B"), batched, "A and B", "*grid, k, k")
    if not 3 <= len(one) <= 5 or one[-1] != one[-2]:  # layout: which axes are the grid's
        raise InvalidInputError(
            f"A and B must have shape {'(B, *grid, k, k)' if batched else '(*grid, k, k)'} with 1 to 3 grid "
            f"axes; got shape {A.shape}")
    shape, k = one[:-2], one[-1]
    m, mask_step = _batch_mask(mask, shape, count)
    spacing = _spacing(h)
    tol, max_iter, dtype_name = _options(tol, max_iter, dtype, shape)
    _check_strings(matrix_norm=matrix_norm, method=method)
    flat_L = None
    n_L = k * k - 1
    if L is not None:
        Ls = _matrices(L, "L")
        if Ls.size == 0:
            Ls = np.zeros((0, k, k), complex)
        if Ls.ndim == 2:
            Ls = Ls[None]
        if Ls.ndim != 3 or Ls.shape[1:] != (k, k):
            raise InvalidInputError(
                f"L must be a sequence of {k} x {k} matrices (the inputs' k); got shape {Ls.shape}")
        n_L = Ls.shape[0]
        flat_L = np.ascontiguousarray(Ls, dtype=np.complex128).view(np.float64).ravel()
    run = _Batch(count, 2 * A.size, mask_step, fields, progress, "omtcore.matrix_omt")
    try:
        raw = _core.solve_matrix_problem(_pairs(A), _pairs(B), shape,
                                         k, flat_L, _real(alpha, "alpha"), spacing, m, matrix_norm,
                                         bool(normalize), tol, max_iter, method, place.backend,
                                         place.device, dtype_name, callback, place.native_queue, _initial(init, count),
                                         _unbalanced(unbalanced), _threads(threads), run.core)
    finally:
        run.close()
    d = len(shape)
    return results_to_device(_finish(raw, ((d,) + shape + (k, k, "complex"), (n_L,) + shape + (k, k, "complex"),
                                           shape + (k, k, "complex")), tol, fields, time.perf_counter() - start),
                             place)


# The solve function of each problem kind (omtcore.torch, omtcore.jax and
# omtcore.pairwise dispatch on it).
SOLVERS = {"scalar": scalar_omt, "vector": vector_omt, "matrix": matrix_omt}
