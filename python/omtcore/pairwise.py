"""Distance matrices: W1 between every pair of a collection (or two).

``pairwise(X)`` gives the symmetric matrix of the distances between the
problems ``X[i]``, ``pairwise(X, Y)`` the rectangular one, in the spirit of
``scipy.spatial.distance.pdist`` / ``cdist``. Each entry is one certified
solve (its bracket ``[lower_bound, distance]``); the solves run on a thread
pool of this process (the solver releases the GIL) or on a Dask cluster
(``client=``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Optional

import numpy as np

from . import api
from .errors import InvalidInputError

__all__ = ["pairwise", "PairwiseResult"]

_TRAILING = {"scalar": 0, "vector": 1, "matrix": 2}  # axes after the grid's
# Pairs per batch: at least this many (so that a batch's last problems leave
# few threads idle), at most this many or this many bytes of stacked inputs.
_SMALLEST_CHUNK = 16
_LARGEST_CHUNK = 1024
_CHUNK_BYTES = 64 << 20
# How often a Dask task looks for the client's stop (Ctrl-C).
_STOP_POLL_SECONDS = 0.5


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


def _solve_chunk(kind, X, Y, chunk, solve_kw, callback=None):
    """The pairs ``chunk`` ((i, j) rows) as one batch: (distance, lower_bound, converged)."""
    i, j = chunk[:, 0], chunk[:, 1]
    r = api.SOLVERS[kind](X[i], Y[j], batch=1, fields=False, callback=callback, **solve_kw)
    return r.distance, r.lower_bound, r.converged


def _solve_remote(kind, X, Y, chunk, solve_kw, stop_name):
    """A chunk on a Dask worker (module-level: picklable), one thread per
    task: the worker's own thread pool runs its tasks side by side. The
    client sets the Dask Event ``stop_name`` on Ctrl-C: a thread of this
    task watches it, and the batch's callback then stops the solves at their
    next check (cancelling a future alone would leave them running)."""
    import threading

    from distributed import Event, get_client

    event = Event(stop_name, client=get_client())
    stopped, finished = threading.Event(), threading.Event()

    def watch():
        while not finished.is_set():
            if event.wait(timeout=_STOP_POLL_SECONDS):
                stopped.set()
                return

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        return _solve_chunk(kind, X, Y, chunk, dict(solve_kw, threads=solve_kw.get("threads") or 1),
                            callback=lambda *progress: not stopped.is_set())
    finally:
        finished.set()
        watcher.join()


def pairwise(X, Y=None, *, kind: str = "scalar", client=None, progress: bool = False,
             workers: Optional[int] = None, **solve_kw) -> PairwiseResult:
    """W1 between every problem of ``X`` and every problem of ``Y`` (default: ``X``).

    The pairs are solved as batches (``batch=1`` of the solve function):
    each entry is the certified solve of its pair, the same as a single
    solve with ``threads=1`` for grids under 32768 cells.

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
        Solve the pairs on this cluster, in chunks of pairs, one batch per
        task and one thread per task (the collections are scattered to the
        workers once); Ctrl-C (or a failed chunk) stops the solves on the
        workers within about a second; None: this process.
    progress : bool
        Show a progress bar (tqdm) of the pairs done, on stderr.
    workers : int, optional
        Without ``client``: the CPU threads of this process the solves use
        (``threads=`` of the batches); default every core.
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
    for forbidden in ("callback", "init", "batch", "fields", "progress"):
        if forbidden in solve_kw:
            raise InvalidInputError(f"pairwise does not take {forbidden}= (it solves the pairs as batches itself)")
    if workers is not None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise InvalidInputError(f"workers must be a positive integer; got {workers!r}")
        if "threads" in solve_kw:
            raise InvalidInputError("give workers= or threads=, not both (workers is the batches' threads)")
        solve_kw = dict(solve_kw, threads=workers)
    same = Y is None
    X = _collection(X, "X", kind)
    Y = X if same else _collection(Y, "Y", kind)
    if X.shape[1:] != Y.shape[1:]:
        raise InvalidInputError(f"X and Y must hold problems of one shape; got {X.shape[1:]} and {Y.shape[1:]}")
    balanced = not solve_kw.get("normalize", False) and solve_kw.get("unbalanced") is None
    _check(X, Y, kind, balanced, same)
    m, n = len(X), len(Y)
    pairs = np.argwhere(np.triu(np.ones((m, m), bool), 1)) if same else np.argwhere(np.ones((m, n), bool))
    distance = np.zeros((m, n))
    lower = np.zeros((m, n))
    converged = np.ones((m, n), bool)
    bar = api._progress_bar(len(pairs), "omtcore.pairwise") if progress else None
    if bar is not None:
        bar.unit = "pair"

    def store(chunk, values):
        d, lb, ok = values
        i, j = chunk[:, 0], chunk[:, 1]
        distance[i, j], lower[i, j], converged[i, j] = d, lb, ok
        if same:
            distance[j, i], lower[j, i], converged[j, i] = d, lb, ok
        if bar is not None:
            bar.update(len(chunk))

    try:
        if client is not None:
            import uuid

            from distributed import Event, as_completed

            threads = sum(client.nthreads().values()) or 1
            chunks = np.array_split(pairs, max(1, min(len(pairs), 4 * threads, -(-len(pairs) // _SMALLEST_CHUNK))))
            xs = client.scatter(X, broadcast=True)
            ys = xs if same else client.scatter(Y, broadcast=True)
            stop = Event(f"omtcore-pairwise-{uuid.uuid4().hex}", client=client)
            futures = {client.submit(_solve_remote, kind, xs, ys, chunk, solve_kw, stop.name, pure=False): chunk
                       for chunk in chunks}
            try:
                for f in as_completed(futures):
                    store(futures[f], f.result())
            except BaseException:  # Ctrl-C, or a failed chunk: stop the rest on the workers too
                stop.set()
                client.cancel(list(futures))
                raise
        else:
            # Chunks bound the inputs stacked for one batch, and let the bar move.
            per_pair = 2 * X[0].nbytes
            size = int(np.clip(min(len(pairs) // 50, _CHUNK_BYTES // max(per_pair, 1)), _SMALLEST_CHUNK, _LARGEST_CHUNK))
            for first in range(0, len(pairs), size):
                chunk = pairs[first:first + size]
                store(chunk, _solve_chunk(kind, X, Y, chunk, solve_kw))
    finally:
        if bar is not None:
            bar.close()
    return PairwiseResult(distance, lower, converged, time.perf_counter() - start)
