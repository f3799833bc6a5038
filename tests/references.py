"""Independent references for the scalar OMT problems omtcore solves.

Nothing here calls omtcore.  ``emd_l1`` is POT's exact network simplex,
``min_cost_flow_l1`` the same value as a min-cost flow (HiGHS) for larger grids,
``beckmann_cvxpy`` / ``cvxpy_isotropic`` the discrete flux problem written as a
conic program, and ``check_certificate`` verifies everything a returned
``Result`` claims (feasibility, cost, dual feasibility, bound, gap).
"""

import dataclasses
import warnings

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components, shortest_path


# ---------------------------------------------------------------- grid helpers


@dataclasses.dataclass(frozen=True)
class FakeResult:
    """What the certificate checks read from a Result, built by hand so that
    the checks themselves can be tested on known solutions and defects."""
    distance: float
    lower_bound: float
    gap: float
    residual: float
    flux: np.ndarray
    exchange: object
    potential: np.ndarray
    converged: bool
    iterations: int = 10
    seconds: float = 0.0
    backend: str = "fake"
    device: str = "fake"
    dtype: str = "float64"


def spacing(h, d):
    """``h`` as a tuple of ``d`` floats (one number: the same on every axis)."""
    if np.ndim(h) == 0:
        return (float(h),) * d
    hs = tuple(float(x) for x in h)
    assert len(hs) == d
    return hs


def active_faces(shape, mask=None):
    """Boolean array ``(d, *shape)``: True where face ``i -> i + e_s`` carries flux."""
    d = len(shape)
    m = np.ones(shape, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    act = np.zeros((d,) + tuple(shape), dtype=bool)
    for s in range(d):
        lo = [slice(None)] * d
        hi = [slice(None)] * d
        lo[s] = slice(0, shape[s] - 1)
        hi[s] = slice(1, shape[s])
        act[s][tuple(lo)] = m[tuple(lo)] & m[tuple(hi)]
    return act


def divergence(F):
    """``(div F)(i) = sum_s F_s(i) - F_s(i - e_s)`` (net outflow of cell i)."""
    F = np.asarray(F, dtype=np.float64)
    d = F.shape[0]
    out = np.zeros(F.shape[1:], dtype=np.float64)
    for s in range(d):
        out += F[s]
        shifted = np.zeros_like(F[s])
        src = [slice(None)] * d
        dst = [slice(None)] * d
        src[s] = slice(0, F.shape[1 + s] - 1)
        dst[s] = slice(1, F.shape[1 + s])
        shifted[tuple(dst)] = F[s][tuple(src)]
        out -= shifted
    return out


def gradient(phi):
    """``(grad phi)_s(i) = phi(i + e_s) - phi(i)`` for ``i_s < n_s - 1``, else 0."""
    phi = np.asarray(phi, dtype=np.float64)
    d = phi.ndim
    g = np.zeros((d,) + phi.shape, dtype=np.float64)
    for s in range(d):
        lo = [slice(None)] * d
        hi = [slice(None)] * d
        lo[s] = slice(0, phi.shape[s] - 1)
        hi[s] = slice(1, phi.shape[s])
        g[s][tuple(lo)] = phi[tuple(hi)] - phi[tuple(lo)]
    return g


def flux_cost(F, h, norm):
    """``sum_i N(F(i))`` with N the spatial norm."""
    F = np.asarray(F, dtype=np.float64)
    hs = np.asarray(spacing(h, F.shape[0])).reshape((-1,) + (1,) * (F.ndim - 1))
    w = hs * F
    if norm == "isotropic":
        return float(np.sqrt((w * w).sum(axis=0)).sum())
    if norm == "anisotropic":
        return float(np.abs(w).sum())
    raise ValueError(norm)


def dual_ratio(phi, h, norm, mask=None):
    """Per-cell ``N*(grad phi)(i)``, counting only active faces."""
    phi = np.asarray(phi, dtype=np.float64)
    d = phi.ndim
    g = gradient(phi) * active_faces(phi.shape, mask)
    hs = np.asarray(spacing(h, d)).reshape((-1,) + (1,) * d)
    q = g / hs
    if norm == "isotropic":
        return np.sqrt((q * q).sum(axis=0))
    if norm == "anisotropic":
        return np.abs(q).max(axis=0)
    raise ValueError(norm)


def grid_graph(shape, h, mask=None):
    """Sparse symmetric adjacency of the mask's cells (edge weight h_s), on all cells."""
    d = len(shape)
    hs = spacing(h, d)
    n = int(np.prod(shape))
    idx = np.arange(n).reshape(shape)
    act = active_faces(shape, mask)
    rows, cols, vals = [], [], []
    for s in range(d):
        lo = [slice(None)] * d
        hi = [slice(None)] * d
        lo[s] = slice(0, shape[s] - 1)
        hi[s] = slice(1, shape[s])
        sel = act[s][tuple(lo)]
        r = idx[tuple(lo)][sel]
        c = idx[tuple(hi)][sel]
        rows += [r, c]
        cols += [c, r]
        vals += [np.full(r.size, hs[s])] * 2
    rows = np.concatenate(rows) if rows else np.zeros(0, int)
    cols = np.concatenate(cols) if cols else np.zeros(0, int)
    vals = np.concatenate(vals) if vals else np.zeros(0)
    return sp.csr_matrix((vals, (rows, cols)), shape=(n, n))


def mask_parts(shape, mask=None):
    """List of flat index arrays, one per connected part of the domain."""
    n = int(np.prod(shape))
    if mask is None:
        return [np.arange(n)]
    m = np.asarray(mask, dtype=bool).ravel()
    ncomp, labels = connected_components(grid_graph(shape, 1.0, mask), directed=False)
    parts = []
    for c in range(ncomp):
        cells = np.flatnonzero((labels == c) & m)
        if cells.size:
            parts.append(cells)
    return parts


def rebalance(a, b, mask=None):
    """``b`` scaled on each connected part so its total equals ``a``'s there."""
    a = np.asarray(a, dtype=np.float64)
    b = np.array(b, dtype=np.float64)
    flat = b.reshape(-1)
    av = a.ravel()
    for cells in mask_parts(a.shape, mask):
        sb = flat[cells].sum()
        if sb > 0:
            flat[cells] *= av[cells].sum() / sb
    return b


# ---------------------------------------------------------------- references


def _emd_exact(a, b, C):
    """POT's exact EMD of two histograms of equal total; truncation is an error."""
    import ot

    total = a.sum()
    if total == 0:
        return 0.0
    a = a / total
    b = b / b.sum()
    b = b * (a.sum() / b.sum())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        val = ot.emd2(a, b, C, numItermax=10_000_000)
    return float(val) * total


def emd_l1(a, b, h=1.0, mask=None):
    """Exact W1 with the (weighted) L1 / in-domain shortest-path ground cost.

    ``a`` and ``b`` are made exactly balanced (per connected part of the mask)
    by scaling ``b``; each part is solved separately with POT's ``emd2``.
    """
    a = np.asarray(a, dtype=np.float64)
    b = rebalance(a, b, mask)
    shape = a.shape
    d = a.ndim
    hs = spacing(h, d)
    if mask is None:
        idx = np.indices(shape).reshape(d, -1)
        C = np.zeros((idx.shape[1], idx.shape[1]))
        for s in range(d):
            C += hs[s] * np.abs(idx[s][:, None] - idx[s][None, :])
        return _emd_exact(a.ravel(), b.ravel(), C)
    m = np.asarray(mask, dtype=bool)
    assert not np.any(a[~m]) and not np.any(b[~m]), "mass outside the mask"
    G = grid_graph(shape, hs, m)
    total = 0.0
    for cells in mask_parts(shape, m):
        D = shortest_path(G, method="D", directed=False, indices=cells)[:, cells]
        assert np.all(np.isfinite(D))
        total += _emd_exact(a.ravel()[cells], b.ravel()[cells], D)
    return total


def min_cost_flow(tails, heads, costs, supply):
    """Optimal value of the min-cost flow with arcs tails -> heads (unbounded,
    costs >= 0) and net outflow ``supply`` per node, as a sparse LP (HiGHS)."""
    from scipy.optimize import linprog

    arcs = np.arange(len(tails))
    incidence = sp.csr_matrix((np.r_[np.ones(arcs.size), -np.ones(arcs.size)],
                               (np.r_[tails, heads], np.r_[arcs, arcs])), shape=(supply.size, arcs.size))
    out = linprog(costs, A_eq=incidence, b_eq=supply, bounds=(0, None), method="highs")
    assert out.status == 0, out.message
    return float(out.fun)


def min_cost_flow_l1(a, b, h=1.0, mask=None):
    """Exact W1 under the (weighted) L1 / in-domain shortest-path ground cost as
    a min-cost flow on the grid graph (arcs both ways along each active face,
    cost h_s): the reference for grids too large for ``emd_l1``'s dense cost
    matrix (64^2 and up)."""
    a = np.asarray(a, dtype=np.float64)
    b = rebalance(a, b, mask)
    G = grid_graph(a.shape, h, mask).tocoo()  # both directions of every active face
    return min_cost_flow(G.row, G.col, G.data, (a - b).ravel())


def beckmann_cvxpy(a, b, h=1.0, mask=None, norm="isotropic"):
    """Optimal value of the discrete flux problem, by CLARABEL.

    Variables: one flux per active face; cost ``sum_i N(F(i))`` grouping each
    cell's forward faces; constraint ``div F = a - b`` on domain cells (one
    redundant row dropped per connected part).  Masses are scaled to total 1
    for conditioning and the value scaled back.
    """
    import cvxpy as cp

    a = np.asarray(a, dtype=np.float64)
    b = rebalance(a, b, mask)
    total = a.sum()
    if total == 0:
        return 0.0
    a = a / total
    b = b / total
    shape = a.shape
    d = a.ndim
    hs = spacing(h, d)
    n = int(np.prod(shape))
    idx = np.arange(n).reshape(shape)
    act = active_faces(shape, mask)
    fluxes, cellmaps, divs = [], [], []
    for s in range(d):
        src = idx[act[s]]  # cell i of each active face
        stride = int(np.prod(shape[s + 1:]))
        dst = src + stride  # cell i + e_s
        k = src.size
        if k == 0:
            continue
        f = cp.Variable(k)
        P = sp.csr_matrix((np.full(k, hs[s]), (src, np.arange(k))), shape=(n, k))
        D = sp.csr_matrix(
            (np.concatenate([np.ones(k), -np.ones(k)]),
             (np.concatenate([src, dst]), np.concatenate([np.arange(k)] * 2))),
            shape=(n, k),
        )
        fluxes.append(f)
        cellmaps.append(P @ f)
        divs.append(D @ f)
    rhs = (a - b).ravel()
    keep = []
    for cells in mask_parts(shape, mask):
        keep.extend(cells[1:].tolist())
    keep = np.array(sorted(keep), dtype=int)
    if not fluxes:
        return 0.0
    if norm == "isotropic":
        cost = cp.sum(cp.norm(cp.vstack(cellmaps), 2, axis=0))
    elif norm == "anisotropic":
        cost = sum(cp.norm1(c) for c in cellmaps)
    else:
        raise ValueError(norm)
    divF = sum(divs)
    prob = cp.Problem(cp.Minimize(cost), [divF[keep] == rhs[keep]])
    prob.solve(
        solver=cp.CLARABEL,
        tol_gap_abs=1e-11,
        tol_gap_rel=1e-11,
        tol_feas=1e-11,
        max_iter=500,
    )
    assert prob.status == cp.OPTIMAL, prob.status
    return float(prob.value) * total


def cvxpy_isotropic(a, b, h=1.0, mask=None):
    """Optimal value of the discrete isotropic problem (1.)."""
    return beckmann_cvxpy(a, b, h, mask, norm="isotropic")


# ---------------------------------------------------------------- certificate


def check_certificate(res, a, b, h, norm, mask=None, exact=None, rtol=1e-9,
                      exact_rtol=1e-9, feas_tol=1e-9, tol=None):
    """Assert everything ``res`` claims about the problem (a, b, h, norm, mask).

    ``a``, ``b``: the problem actually solved (already rebalanced / normalized
    where the library is documented to do so).  ``exact``: the true optimum,
    known to relative accuracy ``exact_rtol``.  ``tol``: when given and
    ``res.converged``, gap and residual must be at or below it.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    shape = a.shape
    d = a.ndim
    hs = spacing(h, d)
    m = np.ones(shape, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    total = float(a.sum())
    # largest possible cost of moving the total mass across the whole grid
    scale = total * sum(hs[s] * shape[s] for s in range(d))
    tiny = 1e-13 * scale + 1e-300

    # ---- returned arrays
    F = res.flux
    assert isinstance(F, np.ndarray), type(F)
    assert F.dtype == np.float64, F.dtype
    assert F.shape == (d,) + shape, (F.shape, shape)
    assert np.all(np.isfinite(F))
    phi = res.potential
    assert isinstance(phi, np.ndarray), type(phi)
    assert phi.dtype == np.float64, phi.dtype
    assert phi.shape == shape, (phi.shape, shape)
    assert np.all(np.isfinite(phi))
    assert res.exchange is None

    # ---- primal: exactly feasible, zero on inactive faces
    act = active_faces(shape, m)
    bad = np.abs(F[~act]).max(initial=0.0)
    assert bad == 0.0, f"flux {bad:g} on an inactive face (last slice or leaving the mask)"
    viol = np.abs(divergence(F) - (a - b)).sum()
    assert viol <= feas_tol * total + 1e-300, (
        f"div F != a - b: summed violation {viol:.3e}, total mass {total:.3e}")

    # ---- distance is the cost of the returned flux
    cost = flux_cost(F, hs, norm)
    assert np.isfinite(res.distance)
    assert abs(cost - res.distance) <= rtol * abs(cost) + tiny, (
        f"cost of flux {cost!r} != distance {res.distance!r}")

    # ---- dual: potential zero outside the mask, feasible, gives lower_bound
    assert np.all(phi[~m] == 0.0), "potential non-zero outside the mask"
    ratio = dual_ratio(phi, hs, norm, m)
    assert ratio.max(initial=0.0) <= 1.0 + 1e-9, (
        f"potential not dual feasible: max N*(grad phi) = {ratio.max():.12g}")
    dual_obj = float(np.sum(phi * (b - a)))
    assert np.isfinite(res.lower_bound)
    assert abs(dual_obj - res.lower_bound) <= rtol * abs(dual_obj) + tiny, (
        f"sum phi (b - a) = {dual_obj!r} != lower_bound {res.lower_bound!r}")
    assert res.lower_bound <= res.distance * (1 + 1e-12) + tiny, (
        res.lower_bound, res.distance)

    # ---- gap, residual, bookkeeping
    if res.distance == 0:
        assert res.gap == 0
    else:
        want = (res.distance - res.lower_bound) / res.distance
        assert abs(res.gap - want) <= 1e-9 * abs(want) + 1e-14, (res.gap, want)
    assert np.isfinite(res.residual) and res.residual >= 0
    assert isinstance(res.converged, (bool, np.bool_))
    assert int(res.iterations) == res.iterations and res.iterations >= 0
    assert res.seconds >= 0
    if tol is not None and res.converged:
        assert res.gap <= tol, (res.gap, tol)
        assert res.residual <= tol, (res.residual, tol)

    # ---- the true optimum lies in [lower_bound, distance]
    if exact is not None:
        slack = exact_rtol * abs(exact) + tiny
        assert res.lower_bound <= exact + slack, (
            f"lower_bound {res.lower_bound!r} above the exact optimum {exact!r}")
        assert exact <= res.distance + slack, (
            f"distance {res.distance!r} below the exact optimum {exact!r}")
