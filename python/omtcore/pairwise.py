"""Distance matrices: W1 between every pair of a collection (or two).

``pairwise(X)`` gives the symmetric matrix of the distances between the
problems ``X[i]``, ``pairwise(X, Y)`` the rectangular one, in the spirit of
``scipy.spatial.distance.pdist`` / ``cdist``. Each entry is one certified
solve (its bracket ``[lower_bound, distance]``); the solves run on a thread
pool of this process (the solver releases the GIL) or on a Dask cluster
(``client=``).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Optional

import numpy as np

from . import api
from .errors import InvalidInputError

__all__ = ["pairwise", "PairwiseResult"]

_TRAILING = {"scalar": 0, "vector": 1, "matrix": 2}  # axes after the grid's
# Problems at least this many cells run their own threads (OpenMP): one such
# solve at a time keeps the machine from oversubscription.
_PARALLEL_CELLS = 1 << 15


@dataclass(frozen=True)
class PairwiseResult:
    """Distances between the problems of X and Y (or X and itself).

    Attributes
    ----------
    distance : numpy.ndarray
        ``(m, n)`` float64: the certified upper bound of each pair (0 on the
        diagonal of ``pairwise(X)``).
    lower_bound : numpy.ndarray
        ``(m, n)`` float64: the rigorous lower bound of each pair.
    converged : numpy.ndarray
        ``(m, n)`` bool: each solve met its tolerance.
    seconds : float
        The whole call.
    """

    distance: np.ndarray
    lower_bound: np.ndarray
    converged: np.ndarray
    seconds: float


def _collection(X, name: str, kind: str) -> np.ndarray:
    arr = np.asarray(X)
    if arr.dtype.kind not in "biufc":
        raise InvalidInputError(f"{name} must be a numeric array of problems; got dtype {arr.dtype}")
    least = 2 + _TRAILING[kind]
    if arr.ndim < least or arr.ndim > least + 2:
        raise InvalidInputError(f"{name} must have shape (count, *grid" + ", k" * _TRAILING[kind] +
                                f") with 1 to 3 grid axes for kind {kind!r}; got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise InvalidInputError(f"{name} holds no problems (shape {arr.shape})")
    return arr


def _totals(arr: np.ndarray, kind: str) -> np.ndarray:
    if kind == "matrix":
        return np.trace(arr, axis1=-2, axis2=-1).real.reshape(len(arr), -1).sum(axis=1)
    return arr.reshape(len(arr), -1).sum(axis=1)


def _check(X: np.ndarray, Y: np.ndarray, kind: str, balanced: bool, same: bool) -> None:
    """Everything that can be checked before any work: values and balance, naming indices."""
    for name, arr in (("X", X), ("Y", Y)) if not same else (("X", X),):
        values = arr.real if np.iscomplexobj(arr) else arr
        bad = ~np.isfinite(values).reshape(len(arr), -1).all(axis=1)
        if kind != "matrix":
            bad |= (values < 0).reshape(len(arr), -1).any(axis=1)
        if bad.any():
            raise InvalidInputError(f"{name}[{', '.join(map(str, np.flatnonzero(bad)[:10]))}] "
                                    f"{'has' if bad.sum() == 1 else 'have'} negative or non-finite values")
    if not balanced:
        return
    tx, ty = _totals(X, kind), _totals(Y, kind)
    scale = np.maximum(tx[:, None], ty[None, :])
    off = np.abs(tx[:, None] - ty[None, :]) > 1e-6 * scale
    if same:
        off = np.triu(off, 1)  # each pair once
    if off.any():
        i, j = np.argwhere(off)[0]
        raise InvalidInputError(
            f"{int(off.sum())} pairs have unequal total mass, e.g. X[{i}] sums to {tx[i]:.10g} and "
            f"{'X' if same else 'Y'}[{j}] to {ty[j]:.10g}; pass normalize=True to compare shapes only, "
            f"or unbalanced=lam")


def _solve_pair(solve, a, b, kw):
    r = solve(a, b, **kw)
    return r.distance, r.lower_bound, r.converged


def pairwise(X, Y=None, *, kind: str = "scalar", client=None, progress: bool = False,
             workers: Optional[int] = None, **solve_kw) -> PairwiseResult:
    """W1 between every problem of ``X`` and every problem of ``Y`` (default: ``X``).

    Parameters
    ----------
    X : array_like
        ``(m, *grid)`` for scalar problems, ``(m, *grid, k)`` vector,
        ``(m, *grid, k, k)`` matrix.
    Y : array_like, optional
        ``(n, ...)`` of the same trailing shape; None: the distances within
        ``X`` (a symmetric matrix, each pair solved once, 0 on the diagonal).
    kind : {"scalar", "vector", "matrix"}
        The solve function: :func:`omtcore.scalar_omt`, ``vector_omt`` or
        ``matrix_omt``.
    client : dask.distributed.Client, optional
        Solve the pairs on this cluster (the collections are scattered to
        the workers once); None: threads of this process.
    progress : bool
        Show a progress bar (tqdm).
    workers : int, optional
        Threads of this process (without ``client``); default: the CPU count
        for grids below 32768 cells, else 1 (larger solves use the cores
        themselves). With more than one, each solve keeps to one core
        (``threads=1``) unless ``threads`` is given.
    **solve_kw
        Keyword arguments of the solve function (``norm``, ``tol``,
        ``normalize``, ``unbalanced``, ``backend``, ...), the same for every
        pair.

    Returns
    -------
    PairwiseResult
        ``distance`` and ``lower_bound`` ``(m, n)``, ``converged``.

    Raises
    ------
    InvalidInputError
        Before any solve: bad shapes, negative or non-finite values (naming
        the problems), pairs of unequal total mass for balanced problems.
    """
    start = time.perf_counter()
    if kind not in api.SOLVERS:
        raise InvalidInputError(f"kind must be 'scalar', 'vector' or 'matrix'; got {kind!r}")
    for forbidden in ("callback", "init"):
        if forbidden in solve_kw:
            raise InvalidInputError(f"pairwise does not take {forbidden}= (one per pair)")
    same = Y is None
    X = _collection(X, "X", kind)
    Y = X if same else _collection(Y, "Y", kind)
    if X.shape[1:] != Y.shape[1:]:
        raise InvalidInputError(f"X and Y must hold problems of one shape; got {X.shape[1:]} and {Y.shape[1:]}")
    balanced = not solve_kw.get("normalize", False) and solve_kw.get("unbalanced") is None
    _check(X, Y, kind, balanced, same)
    m, n = len(X), len(Y)
    pairs = [(i, j) for i in range(m) for j in range(i + 1, m)] if same else \
        [(i, j) for i in range(m) for j in range(n)]
    solve = api.SOLVERS[kind]
    distance = np.zeros((m, n))
    lower = np.zeros((m, n))
    converged = np.ones((m, n), bool)
    bar = None
    if progress:
        try:
            from tqdm.auto import tqdm
        except ImportError:
            raise InvalidInputError("progress=True needs tqdm (pip install tqdm)") from None
        bar = tqdm(total=len(pairs), desc="omtcore.pairwise", unit="pair")

    def store(pair, value):
        (i, j), (d, lb, ok) = pair, value
        distance[i, j], lower[i, j], converged[i, j] = d, lb, ok
        if same:
            distance[j, i], lower[j, i], converged[j, i] = d, lb, ok
        if bar is not None:
            bar.update()

    try:
        if client is not None:
            from distributed import as_completed

            xs = client.scatter(X, broadcast=True)
            ys = xs if same else client.scatter(Y, broadcast=True)
            futures = {}
            for i, j in pairs:
                f = client.submit(_solve_remote, kind, xs, ys, i, j, solve_kw, pure=False)
                futures[f] = (i, j)
            for f in as_completed(futures):
                store(futures[f], f.result())
        else:
            from concurrent.futures import ThreadPoolExecutor

            cells = int(np.prod(X.shape[1:X.ndim - _TRAILING[kind]]))
            threads = workers if workers is not None else (os.cpu_count() or 1) if cells < _PARALLEL_CELLS else 1
            if threads < 1:
                raise InvalidInputError(f"workers must be a positive integer; got {workers!r}")
            if threads > 1 and "threads" not in solve_kw:
                solve_kw = dict(solve_kw, threads=1)  # one core per solve: side by side, no oversubscription
            with ThreadPoolExecutor(max_workers=threads) as pool:
                results = pool.map(lambda p: (p, _solve_pair(solve, X[p[0]], Y[p[1]], solve_kw)), pairs)
                for pair, value in results:
                    store(pair, value)
    finally:
        if bar is not None:
            bar.close()
    return PairwiseResult(distance, lower, converged, time.perf_counter() - start)


def _solve_remote(kind, X, Y, i, j, solve_kw):
    """One pair on a Dask worker (module-level: picklable)."""
    return _solve_pair(api.SOLVERS[kind], X[i], Y[j], solve_kw)
