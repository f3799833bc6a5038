"""The public Python API: solve functions, results and backend discovery."""

from __future__ import annotations

import numbers
import warnings
from dataclasses import dataclass, field
from typing import Optional, Sequence, Union

import numpy as np

from . import _core
from .errors import ConvergenceWarning, InvalidInputError

__all__ = ["Result", "BackendInfo", "scalar_omt", "backends"]


@dataclass(frozen=True)
class Result:
    """What a solve returns (formulation.md, "What a solve returns").

    The true distance lies in ``[lower_bound, distance]``: ``distance`` is the
    cost of ``flux``, which is exactly feasible, and ``lower_bound`` the dual
    objective of ``potential``, which is dual feasible.
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

    def __repr__(self) -> str:
        return (f"Result(distance={self.distance:.10g}, lower_bound={self.lower_bound:.10g}, "
                f"gap={self.gap:.3g}, residual={self.residual:.3g}, iterations={self.iterations}, "
                f"converged={self.converged}, seconds={self.seconds:.3g}, backend={self.backend!r}, "
                f"dtype={self.dtype!r})")


@dataclass(frozen=True)
class BackendInfo:
    name: str
    available: bool
    reason: str
    devices: list = field(default_factory=list)


def backends() -> list[BackendInfo]:
    """Every backend omtcore knows, in the order backend="auto" prefers them."""
    return [BackendInfo(*entry) for entry in _core.list_backends()]


def _masses(x, name: str) -> np.ndarray:
    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
        raise InvalidInputError(f"{name} must be a real numeric array; got dtype {arr.dtype}")
    return np.asarray(arr, dtype=np.float64, order="C")  # (ascontiguousarray makes 0-d arrays 1-d)


def _grid_shape(a: np.ndarray, b: np.ndarray) -> tuple:
    if a.shape != b.shape:
        raise InvalidInputError(f"a and b must have the same shape; got {a.shape} and {b.shape}")
    if not 1 <= a.ndim <= 3:
        raise InvalidInputError(f"grids must have 1 to 3 axes; got an array of shape {a.shape}")
    if a.size == 0:
        raise InvalidInputError(f"grid is empty: shape {a.shape}")
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


def _spacing(h, ndim: int) -> list:
    values = [h] if isinstance(h, numbers.Number) or np.ndim(h) == 0 else list(np.ravel(h))
    for x in values:
        if isinstance(x, (bool, np.bool_)) or not isinstance(x, (numbers.Real, np.number)):
            raise InvalidInputError(f"spacing h must be real numbers; got {h!r}")
    if len(values) not in (1, ndim):
        raise InvalidInputError(
            f"spacing h must be one number or one per axis ({ndim}); got {len(values)} values")
    return [float(x) for x in values]


def _options(tol, max_iter, dtype, device, shape):
    if isinstance(tol, bool) or not isinstance(tol, numbers.Real) or not (0 < float(tol) < 1):
        raise InvalidInputError(f"tol must be a number in (0, 1); got {tol!r}")
    if max_iter is None:
        max_iter = _core.max_iter_default(shape)
    elif isinstance(max_iter, bool) or not isinstance(max_iter, numbers.Integral) or max_iter < 1:
        raise InvalidInputError(f"max_iter must be a positive integer or None; got {max_iter!r}")
    if dtype is None:
        dtype = "float32"
    try:
        dtype_name = np.dtype(dtype).name
    except TypeError:
        raise InvalidInputError(f"unknown dtype {dtype!r}; expected 'float32' or 'float64'") from None
    if dtype_name not in ("float32", "float64"):
        raise InvalidInputError(f"unknown dtype {dtype!r}; expected 'float32' or 'float64'")
    if device is None:
        device = -1
    elif isinstance(device, bool) or not isinstance(device, numbers.Integral) or device < 0:
        raise InvalidInputError(f"device must be a non-negative index or None; got {device!r}")
    return float(tol), int(max_iter), dtype_name, int(device)


def _finish(raw: dict, shape: tuple, tol: float) -> Result:
    d = len(shape)
    stopped = raw.pop("stopped_by_callback")
    result = Result(flux=raw.pop("flux").reshape((d,) + shape),
                    potential=raw.pop("potential").reshape(shape), exchange=None, **raw)
    if not result.converged and not stopped:
        warnings.warn(
            f"omtcore stopped after {result.iterations} iterations with gap {result.gap:.3g} and "
            f"residual {result.residual:.3g} (tol {tol:g}); the bracket [lower_bound, distance] "
            f"is still rigorous. Raise max_iter for a tighter answer.",
            ConvergenceWarning, stacklevel=3)
    return result


def scalar_omt(a, b, *, h: Union[float, Sequence[float]] = 1.0, norm: str = "isotropic",
               mask=None, normalize: bool = False, tol: float = 1e-4,
               max_iter: Optional[int] = None, method: str = "auto", backend: str = "auto",
               device: Optional[int] = None, dtype=None, callback=None) -> Result:
    """W1 optimal transport between two mass distributions on a grid.

    a, b: non-negative masses per cell, same shape, 1 to 3 axes.
    h: grid spacing, one number or one per axis.
    norm: "isotropic" (approximately Euclidean ground cost) or "anisotropic"
        (exactly the L1 ground cost sum_s h_s |i_s - j_s|).
    mask: optional boolean array, the cells of the domain; mass must balance on
        each connected part.
    normalize: scale a and b to unit total mass first.
    tol: target for the certified relative gap and the relative residual.
    max_iter: iteration limit; None means 10000 + 100 * (longest side).
    method: "auto" (Poisson-preconditioned PDHG with adaptive primal weight);
        "preconditioned" (the same, fixed weight) and "pdhg" (plain PDHG) are
        kept for comparison.
    backend: "auto", "cpu", "opencl" or "cuda"; device: index into its devices.
    dtype: iterate precision, "float32" (default) or "float64"; certificates
        and the returned flux are always float64.
    callback: called as callback(iteration, gap, residual) at every check;
        returning False stops the solve.
    """
    a = _masses(a, "a")
    b = _masses(b, "b")
    shape = _grid_shape(a, b)
    m = _mask(mask, shape)
    spacing = _spacing(h, len(shape))
    tol, max_iter, dtype_name, dev = _options(tol, max_iter, dtype, device, shape)
    if not isinstance(norm, str):
        raise InvalidInputError(f"norm must be a string; got {norm!r}")
    if not isinstance(method, str):
        raise InvalidInputError(f"method must be a string; got {method!r}")
    if not isinstance(backend, str):
        raise InvalidInputError(f"backend must be a string; got {backend!r}")
    raw = _core.solve_scalar_problem(a.ravel(), b.ravel(), shape, spacing, m, norm,
                                     bool(normalize), tol, max_iter, method, backend, dev,
                                     dtype_name, callback)
    return _finish(raw, shape, tol)
