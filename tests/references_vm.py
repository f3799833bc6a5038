"""Independent references for the vector and matrix OMT problems omtcore solves.

Nothing here calls omtcore.  Contents:

* ``default_edges``, ``gell_mann``: the default channel graph and the default
  list ``L`` (generalised Gell-Mann matrices, Pauli for ``k = 2``);
* ``vector_emd``: exact value of the anisotropic vector problem by POT's network
  simplex on the lifted ground cost ``L1 path cost + alpha * d_G``;
* ``vector_cvxpy``: the discrete vector Beckmann problem (section 2) as a conic
  program solved by CLARABEL (either spatial norm);
* ``matrix_cvxpy``: the discrete matrix problem (section 3) as a conic program
  (SOC for Frobenius, SDP for nuclear), solved by CLARABEL, SCS as fallback;
* ``check_vector_certificate``, ``check_matrix_certificate``: verify everything
  a returned result claims (feasibility, cost, dual feasibility, bound, gap).

Conventions: vector inputs ``(*grid, k)``, channel last;
matrix inputs ``(*grid, k, k)``.  Vector flux ``F (d, *grid, k)``, exchange
``G (n_edges, *grid)``, potential ``phi (*grid, k)``; matrix flux
``U (d, *grid, k, k)``, in-cell flux ``W (N, *grid, k, k)``, potential
``Phi (*grid, k, k)``, all complex.

Hermitian ``k x k`` matrices are handled in real coordinates ``x in R^{k^2}``
with respect to an orthonormal basis (inner product ``Re tr(X^* Y)``), so
``||X||_F = ||x||_2`` and the constraint map is a real sparse matrix.  The
nuclear norm goes through the real embedding ``emb(X) = [[Re X, -Im X],
[Im X, Re X]]`` (symmetric, the eigenvalues of ``X`` twice, so
``||emb X||_* = 2 ||X||_*``): ``||X||_* = min tr P - tr X`` over real symmetric
``2k x 2k`` ``P >= 0`` with ``P - emb(X) >= 0`` (``P - N = emb X``,
``(tr P + tr N) / 2``).

Every conic value is certified before it is returned: the solver's primal
point is repaired to exact feasibility (its cost is an upper bound) and its
multipliers are made dual feasible (their objective is a lower bound); the
two must agree to ``cert_rtol`` (default 1e-8), so the returned value is
within that of the true optimum whatever the solver status said.
"""

import collections
import warnings

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import shortest_path

from references import (
    _emd_exact,
    active_faces,
    divergence,
    flux_cost,
    gradient,
    grid_graph,
    mask_parts,
    min_cost_flow,
    spacing,
)

# value: cost of ``flux``/``exchange`` (exactly feasible, repaired); lower_bound:
# dual objective of ``potential`` (dual feasible, scaled); solver: which one.
VectorSolution = collections.namedtuple(
    "VectorSolution", "value lower_bound flux exchange potential solver")
MatrixSolution = collections.namedtuple(
    "MatrixSolution", "value lower_bound flux exchange potential solver")


# ---------------------------------------------------------------- channel graph


def default_edges(k):
    """All pairs ``(i, j)``, ``i < j``, in lexicographic order."""
    return [(i, j) for i in range(k) for j in range(i + 1, k)]


def _graph(k, edges, weights):
    """Validated ``(edges as list of int pairs, weights as float array)``."""
    edges = default_edges(k) if edges is None else [tuple(int(v) for v in e)
                                                    for e in edges]
    for e in edges:
        if len(e) != 2 or e[0] == e[1] or min(e) < 0 or max(e) >= k:
            raise ValueError(f"bad edge {e} for {k} channels")
    if weights is None:
        w = np.ones(len(edges))
    else:
        w = np.asarray(weights, dtype=np.float64).reshape(-1)
        if w.size != len(edges):
            raise ValueError(f"{w.size} weights for {len(edges)} edges")
        if not np.all(np.isfinite(w)) or np.any(w <= 0):
            raise ValueError("edge weights must be finite and > 0")
    return edges, w


def channel_distances(k, edges=None, weights=None):
    """``d_G``: weighted shortest-path distances between channels (inf across
    components), by Floyd-Warshall on the ``k x k`` matrix."""
    edges, w = _graph(k, edges, weights)
    D = np.full((k, k), np.inf)
    np.fill_diagonal(D, 0.0)
    for (s, t), c in zip(edges, w):
        D[s, t] = D[t, s] = min(D[s, t], c)
    for m in range(k):
        D = np.minimum(D, D[:, m:m + 1] + D[m:m + 1, :])
    return D


def channel_components(k, edges=None):
    """Connected components of the channel graph: list of sorted index arrays."""
    D = channel_distances(k, edges)
    comps, seen = [], np.zeros(k, dtype=bool)
    for c in range(k):
        if not seen[c]:
            comp = np.flatnonzero(np.isfinite(D[c]))
            seen[comp] = True
            comps.append(comp)
    return comps


def rebalance_vector(a, b, edges=None, mask=None, tol=None):
    """``b`` scaled on each (connected part, channel component) block so its
    total equals ``a``'s there.  ``tol``: if given, a relative difference of
    the totals above it is a ValueError (tolerated imbalance);
    ``None`` scales whatever the difference (as ``references.rebalance``)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.array(b, dtype=np.float64)
    grid, k = a.shape[:-1], a.shape[-1]
    a2 = a.reshape(-1, k)
    b2 = b.reshape(-1, k)
    for cells in mask_parts(grid, mask):
        for comp in channel_components(k, edges):
            sa = a2[np.ix_(cells, comp)].sum()
            sb = b2[np.ix_(cells, comp)].sum()
            if sa == sb:
                continue
            if sb <= 0 or (tol is not None and abs(sa - sb) > tol * max(sa, sb)):
                raise ValueError(
                    f"unbalanced totals {sa!r} vs {sb!r} on channels "
                    f"{comp.tolist()} of a part of {cells.size} cells")
            b2[np.ix_(cells, comp)] *= sa / sb
    return b


def _check_vector_inputs(a, b, mask):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim < 2 or a.ndim > 4:
        raise ValueError(f"shapes {a.shape} / {b.shape}: need (*grid, k), d in 1..3")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise ValueError("non-finite mass")
    if np.any(a < 0) or np.any(b < 0):
        raise ValueError("negative mass")
    m = np.ones(a.shape[:-1], dtype=bool) if mask is None else np.asarray(mask, bool)
    if m.shape != a.shape[:-1]:
        raise ValueError(f"mask shape {m.shape} != grid {a.shape[:-1]}")
    if np.any(a[~m]) or np.any(b[~m]):
        raise ValueError("mass outside the mask")
    return a, b, m


# ---------------------------------------------------------------- vector: exact


def vector_emd(a, b, edges=None, weights=None, alpha=1.0, h=1.0, mask=None,
               imbalance_tol=None):
    """Exact anisotropic vector W1 by POT's ``emd2``.

    Ground cost ``C((i, c), (j, c')) = path(i, j) + alpha * d_G(c, c')``,
    ``path`` the weighted L1 distance (shortest path through the mask when
    given).  Each (connected part, channel component) block is balanced by
    scaling ``b`` and solved separately; the values are summed.
    """
    a, b, m = _check_vector_inputs(a, b, mask)
    grid, k = a.shape[:-1], a.shape[-1]
    d = len(grid)
    hs = spacing(h, d)
    alpha = float(alpha)
    if alpha < 0:
        raise ValueError("alpha < 0")
    edges, w = _graph(k, edges, weights)
    b = rebalance_vector(a, b, edges, mask, imbalance_tol)
    Dc = channel_distances(k, edges, w)
    a2 = a.reshape(-1, k)
    b2 = b.reshape(-1, k)
    if mask is None:
        idx = np.indices(grid).reshape(d, -1)
        Dfull = np.zeros((idx.shape[1], idx.shape[1]))
        for s in range(d):
            Dfull += hs[s] * np.abs(idx[s][:, None] - idx[s][None, :])
    else:
        Gg = grid_graph(grid, hs, m)
    total = 0.0
    for cells in mask_parts(grid, mask):
        if mask is None:
            Dg = Dfull[np.ix_(cells, cells)]
        else:
            Dg = shortest_path(Gg, method="D", directed=False, indices=cells)[:, cells]
        assert np.all(np.isfinite(Dg))
        for comp in channel_components(k, edges):
            Dcc = Dc[np.ix_(comp, comp)]
            assert np.all(np.isfinite(Dcc))
            nc, kc = cells.size, comp.size
            C = (Dg[:, None, :, None] + alpha * Dcc[None, :, None, :]).reshape(
                nc * kc, nc * kc)
            aa = a2[np.ix_(cells, comp)].ravel()
            bb = b2[np.ix_(cells, comp)].ravel()
            total += _emd_exact(aa, bb, C)
    return total


def vector_min_cost_flow(a, b, alpha=1.0, h=1.0):
    """The same value as ``vector_emd`` (all channel pairs, weight 1, no mask)
    as a min-cost flow on the product graph (``references.min_cost_flow``):
    node (cell, channel); arcs both ways along every face in every channel
    (cost h_s) and between every pair of channels in every cell (cost alpha).
    For grids too large for ``vector_emd``'s dense cost matrix."""
    a, b, _ = _check_vector_inputs(a, b, None)
    grid, k = a.shape[:-1], a.shape[-1]
    edges, _ = _graph(k, None, None)
    b = rebalance_vector(a, b, edges)
    cells = int(np.prod(grid))
    G = grid_graph(grid, h).tocoo()
    tails, heads, costs = [], [], []
    for c in range(k):  # spatial arcs of channel c
        tails.append(G.row * k + c)
        heads.append(G.col * k + c)
        costs.append(G.data)
    base = np.arange(cells) * k
    for s, t in edges:  # in-cell arcs, both ways
        for u, v in ((s, t), (t, s)):
            tails.append(base + u)
            heads.append(base + v)
            costs.append(np.full(cells, float(alpha)))
    return min_cost_flow(*map(np.concatenate, (tails, heads, costs)), (a - b).ravel())


# ---------------------------------------------------------------- conic helpers


_CLARABEL_OPTS = dict(tol_gap_abs=1e-11, tol_gap_rel=1e-11, tol_feas=1e-11,
                      tol_ktratio=1e-9, max_iter=500)
# Measured on random nuclear SDPs (8x8, k = 3): CLARABEL stalls just short of
# 1e-11 either way, with certified gaps ~1e-10 with faer's LDL, up to ~1e-7
# with the default qdldl.


def _certified_solve(prob, certify, cert_rtol, tiny):
    """Solve ``prob`` with CLARABEL (tight tolerances), else SCS (tight eps).

    After each solve ``certify()`` turns the solver's point into an exactly
    feasible primal (value ``ub``) and a dual feasible potential (``lb``) and
    returns ``(ub, lb, payload)``; the first attempt with
    ``ub - lb <= cert_rtol * |ub| + tiny`` is returned as
    ``(ub, lb, payload, solver)``.  The true optimum lies in ``[lb, ub]``.
    An infeasibility verdict raises ValueError; no certified attempt
    AssertionError.
    """
    import cvxpy as cp

    infeasible = (cp.INFEASIBLE, cp.INFEASIBLE_INACCURATE)
    attempts = [
        ("CLARABEL", dict(_CLARABEL_OPTS, direct_solve_method="faer")),
        ("CLARABEL", dict(_CLARABEL_OPTS)),
        ("SCS", dict(eps_abs=1e-10, eps_rel=1e-10, max_iters=200_000)),
    ]
    notes = []
    for name, opts in attempts:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Solution may be inaccurate")
            warnings.filterwarnings("ignore", message=".*dimension greater than 2")
            try:
                prob.solve(solver=name, **opts)
                status = prob.status
            except cp.error.SolverError as err:
                status = f"solver error {err}"
        if status in infeasible:
            raise ValueError(f"problem infeasible ({name} status {status})")
        if status in (cp.UNBOUNDED, cp.UNBOUNDED_INACCURATE):
            raise AssertionError(f"{name}: {status} (a bug in the model)")
        # whatever the status (e.g. CLARABEL stalling just short of its
        # tolerances), the certificate decides whether the point is good enough
        try:
            ub, lb, payload = certify()
        except (TypeError, AttributeError, ValueError) as err:  # no values
            notes.append(f"{name}: {status}, no solution ({err})")
            continue
        if ub - lb <= cert_rtol * abs(ub) + tiny:
            return ub, lb, payload, name
        notes.append(f"{name}: {status}, certified interval [{lb!r}, {ub!r}]")
    raise AssertionError("no certified solution: " + "; ".join(notes))


def _spanning_route(F, r, grid, mask):
    """Route a residual along a BFS spanning tree of each connected part.

    ``F (d, *grid, q)`` (float) is changed in place so that ``div F``
    (per trailing component) increases by ``r (*grid, q)`` on every cell but
    each part's root, which keeps the part's total of ``r``.  Returns
    ``[(root flat index, leftover (q,))]``.
    """
    from scipy.sparse.csgraph import breadth_first_order

    d = len(grid)
    n = int(np.prod(grid))
    q = r.shape[-1]
    r = np.array(r, dtype=np.float64).reshape(n, q)
    Fv = F.reshape(d, n, q)
    assert np.shares_memory(Fv, F)
    adj = grid_graph(grid, 1.0, mask)
    out = []
    for part in mask_parts(grid, mask):
        root = int(part[0])
        order, pred = breadth_first_order(adj, root, directed=False,
                                          return_predecessors=True)
        for c in order[:0:-1]:  # leaves first, root last (excluded)
            p = pred[c]
            ci = np.unravel_index(c, grid)
            pi = np.unravel_index(p, grid)
            s = next(ax for ax in range(d) if ci[ax] != pi[ax])
            if pi[s] == ci[s] + 1:  # face c -> p
                Fv[s, c] += r[c]
            else:  # face p -> c
                Fv[s, p] -= r[c]
            r[p] += r[c]
            r[c] = 0.0
        out.append((root, r[root].copy()))
    return out


def _face_maps(grid, mask):
    """Per axis ``s``: flat (C-order) index of the source cell of each active face."""
    n = int(np.prod(grid))
    idx = np.arange(n).reshape(grid)
    act = active_faces(grid, mask)
    srcs = [idx[act[s]] for s in range(len(grid))]
    strides = [int(np.prod(grid[s + 1:])) for s in range(len(grid))]
    return act, srcs, strides


def _row_reducer(nrows, first_rows, keep_blocks):
    """Sparse ``R`` (rows x nrows): identity except that the rows ``first_rows[j]``
    (an index array) are replaced by ``keep_blocks[j]^T @`` those rows."""
    drop = np.zeros(nrows, dtype=bool)
    blocks_r, blocks_c, blocks_v = [], [], []
    nb = 0
    for rows, Q in zip(first_rows, keep_blocks):
        drop[rows] = True
        Q = np.asarray(Q, dtype=np.float64).reshape(len(rows), -1)
        for j in range(Q.shape[1]):
            blocks_r.append(np.full(len(rows), nb))
            blocks_c.append(np.asarray(rows))
            blocks_v.append(Q[:, j])
            nb += 1
    keep = np.flatnonzero(~drop)
    r = [np.arange(keep.size)] + [x + keep.size for x in blocks_r]
    c = [keep] + blocks_c
    v = [np.ones(keep.size)] + blocks_v
    return sp.csr_matrix((np.concatenate(v), (np.concatenate(r), np.concatenate(c))),
                         shape=(keep.size + nb, nrows))


# ---------------------------------------------------------------- vector: conic


def vector_cvxpy(a, b, edges=None, weights=None, alpha=1.0, h=1.0, mask=None,
                 norm="isotropic", imbalance_tol=None, return_solution=False,
                 cert_rtol=1e-8):
    """Optimal value of the discrete vector problem (2.), CLARABEL.

    Variables: ``F`` on active faces (per channel), ``G_e`` on domain cells.
    Constraint ``(div F)(i, c) + sum_{s_e = c} G_e(i) - sum_{t_e = c} G_e(i)
    = a(i, c) - b(i, c)`` on domain cells, one redundant row dropped per
    (part, channel component).  Masses are scaled to total 1 for conditioning.

    The solver's point is certified: the flux is repaired to exact
    feasibility along spanning trees (value = its cost, an upper bound) and the
    constraint multipliers are scaled to dual feasibility (lower bound); the
    two must agree to ``cert_rtol`` (else SCS is tried, then AssertionError).
    Returns the upper bound; ``return_solution=True`` returns
    ``VectorSolution(value, lower_bound, flux (d, *grid, k), exchange
    (n_edges, *grid), potential (*grid, k), solver)``, a valid certificate.
    """
    import cvxpy as cp

    a, b, m = _check_vector_inputs(a, b, mask)
    grid, k = a.shape[:-1], a.shape[-1]
    d = len(grid)
    hs = spacing(h, d)
    alpha = float(alpha)
    if alpha < 0:
        raise ValueError("alpha < 0")
    if norm not in ("isotropic", "anisotropic"):
        raise ValueError(norm)
    edges, w = _graph(k, edges, weights)
    ne = len(edges)
    b = rebalance_vector(a, b, edges, mask, imbalance_tol)
    total = float(a.sum())

    def out(value):
        if not return_solution:
            return value
        return VectorSolution(value, value, np.zeros((d,) + a.shape),
                              np.zeros((ne,) + grid), np.zeros(a.shape), None)

    if total == 0:
        return out(0.0)
    an = a / total
    bn = b / total
    n = int(np.prod(grid))
    cells = np.flatnonzero(m.ravel())  # domain cells, flat C-order
    nc = cells.size
    pos = np.full(n, -1)
    pos[cells] = np.arange(nc)
    nrows = nc * k  # row (pos(i), c) -> pos(i) * k + c
    act, srcs, strides = _face_maps(grid, m)

    fvars, divs, cellmaps = [], [], []
    for s in range(d):
        src = srcs[s]
        nf = src.size
        if nf == 0:
            fvars.append(None)
            continue
        f = cp.Variable(nf * k)  # (face, c)
        col = np.arange(nf * k)
        rs = (pos[src][:, None] * k + np.arange(k)).ravel()
        rd = (pos[src + strides[s]][:, None] * k + np.arange(k)).ravel()
        D = sp.csr_matrix((np.concatenate([np.ones(nf * k), -np.ones(nf * k)]),
                           (np.concatenate([rs, rd]), np.concatenate([col, col]))),
                          shape=(nrows, nf * k))
        # position of h_s F_s(i, c) in the (cell, c, s) stacked vector
        P = sp.csr_matrix((np.full(nf * k, hs[s]), (rs * d + s, col)),
                          shape=(nrows * d, nf * k))
        fvars.append(f)
        divs.append(D @ f)
        cellmaps.append(P @ f)
    g = None
    if ne:
        g = cp.Variable(ne * nc)  # (e, cell)
        r, c, v = [], [], []
        for e, (se, te) in enumerate(edges):
            col = e * nc + np.arange(nc)
            r += [np.arange(nc) * k + se, np.arange(nc) * k + te]
            c += [col, col]
            v += [np.ones(nc), -np.ones(nc)]
        DG = sp.csr_matrix((np.concatenate(v), (np.concatenate(r), np.concatenate(c))),
                           shape=(nrows, ne * nc))
        divs.append(DG @ g)
    if not divs:  # no unknowns: nothing can move, balanced blocks are equal
        rhs = (an - bn)[m]
        if np.abs(rhs).max(initial=0.0) > 1e-12:
            raise ValueError("infeasible: nothing can move and a != b")
        return out(0.0)

    rhs = (an - bn).reshape(-1, k)[cells].ravel()
    first = []
    for part in mask_parts(grid, m):
        for comp in channel_components(k, edges):
            first.append(np.array([pos[part[0]] * k + comp[0]]))
    R = _row_reducer(nrows, first, [np.zeros((1, 0))] * len(first))

    cost = 0
    if cellmaps:
        Y = sum(cellmaps)
        if norm == "isotropic":
            cost = cost + cp.sum(cp.norm(cp.reshape(Y, (nrows, d), order="C"), 2,
                                         axis=1))
        else:
            cost = cost + cp.norm1(Y)
    if ne and alpha > 0:
        cost = cost + alpha * cp.norm1(cp.multiply(np.repeat(w, nc), g))
    con = R @ sum(divs) == R @ rhs
    prob = cp.Problem(cp.Minimize(cost), [con])

    def certify():
        F = np.zeros((d,) + a.shape)
        for s in range(d):
            if fvars[s] is not None:
                F[s][act[s]] = fvars[s].value.reshape(-1, k)
        G = np.zeros((ne,) + grid)
        if ne:
            G.reshape(ne, n)[:, cells] = g.value.reshape(ne, nc)
        y = R.T @ np.asarray(con.dual_value, dtype=np.float64).ravel()
        phi = np.zeros(a.shape)
        phi.reshape(n, k)[cells] = y.reshape(nc, k)
        return _vector_certify(F, G, phi, an, bn, edges, w, alpha, hs, norm, m)

    diam = sum(hs[s] * grid[s] for s in range(d)) + alpha * float(w.sum())
    ub, lb, (F, G, phi), solver = _certified_solve(prob, certify, cert_rtol,
                                                   1e-13 * diam)
    if not return_solution:
        return ub * total
    return VectorSolution(ub * total, lb * total, F * total, G * total, phi, solver)


def _vector_certify(F, G, phi, a, b, edges, w, alpha, hs, norm, m):
    """Repair ``(F, G)`` to exact feasibility (spanning trees of the parts and
    of the channel graph) and scale ``phi`` to dual feasibility.  Returns
    ``(cost, dual objective, (F, G, phi))``."""
    grid, k = a.shape[:-1], a.shape[-1]
    n = int(np.prod(grid))
    ne = len(edges)
    F = np.where(active_faces(grid, m)[..., None], F, 0.0)
    G = np.where(m[None], G, 0.0)
    r = (a - b) - vector_flux_divergence(F) - exchange_divergence(G, edges, k)
    Gv = G.reshape(ne, n)
    adj = {c: [] for c in range(k)}
    for e, (s, t) in enumerate(edges):
        adj[s].append((t, e))
        adj[t].append((s, e))
    for root, left in _spanning_route(F, r, grid, m):
        for comp in channel_components(k, edges):
            order, pred = [int(comp[0])], {int(comp[0]): None}
            for c in order:
                for nb, e in adj[c]:
                    if nb not in pred:
                        pred[nb] = (c, e)
                        order.append(nb)
            for c in order[:0:-1]:
                p, e = pred[c]
                if edges[e][0] == c:  # G_e adds to channel c = s_e
                    Gv[e, root] += left[c]
                else:  # c = t_e
                    Gv[e, root] -= left[c]
                left[p] += left[c]
                left[c] = 0.0
    ub = vector_cost(F, G, w, alpha, hs, norm)

    phi = np.where(m[..., None], phi, 0.0)
    if alpha == 0:  # channel constraint is equality: average each component
        for comp in channel_components(k, edges):
            phi[..., comp] = phi[..., comp].mean(axis=-1, keepdims=True)
    ratio = _vector_dual_ratio(phi, edges, w, alpha, hs, norm, m)
    if ratio > 1:
        phi = phi / ratio
    lb = float(np.sum(phi * (b - a)))
    return ub, lb, (F, G, phi)


def _vector_dual_ratio(phi, edges, w, alpha, hs, norm, m):
    """Largest constraint ratio of ``phi``: spatial ``N*(grad phi)`` and, for
    ``alpha > 0``, ``|phi(t_e) - phi(s_e)| / (alpha c_e)``."""
    grid, k = phi.shape[:-1], phi.shape[-1]
    d = len(grid)
    act = active_faces(grid, m)
    gphi = np.stack([gradient(phi[..., c]) for c in range(k)], axis=-1)
    q = gphi * act[..., None] / np.asarray(hs).reshape((-1,) + (1,) * (d + 1))
    if norm == "isotropic":
        ratio = float(np.sqrt((q * q).sum(axis=0)).max(initial=0.0))
    else:
        ratio = float(np.abs(q).max(initial=0.0))
    if alpha > 0:
        for e, (s, t) in enumerate(edges):
            diff = np.abs(phi[..., t] - phi[..., s])[m]
            ratio = max(ratio, float(diff.max(initial=0.0)) / (alpha * w[e]))
    return ratio


# ---------------------------------------------------------------- matrices


def gell_mann(k):
    """Generalised Gell-Mann matrices: ``k^2 - 1`` traceless Hermitian ``k x k``.

    Order: symmetric ``E_jl + E_lj`` (``j < l`` lexicographic), antisymmetric
    ``-i E_jl + i E_lj`` (same order), diagonal
    ``sqrt(2 / (m (m + 1))) (sum_{j < m} E_jj - m E_mm)``, ``m = 1 .. k-1``.
    ``tr(L_a L_b) = 2 delta_ab``; ``k = 2`` gives Pauli X, Y, Z.
    """
    pairs = default_edges(k)
    out = []
    for j, l in pairs:
        M = np.zeros((k, k), dtype=np.complex128)
        M[j, l] = M[l, j] = 1.0
        out.append(M)
    for j, l in pairs:
        M = np.zeros((k, k), dtype=np.complex128)
        M[j, l] = -1j
        M[l, j] = 1j
        out.append(M)
    for mm in range(1, k):
        diag = np.zeros(k)
        diag[:mm] = 1.0
        diag[mm] = -mm
        out.append(np.diag(np.sqrt(2.0 / (mm * (mm + 1))) * diag).astype(np.complex128))
    return out


def herm_basis(k):
    """Orthonormal basis (``Re tr(X^* Y)``) of Hermitian ``k x k``: array ``(k^2, k, k)``.

    Order: ``E_jj``; ``(E_jl + E_lj)/sqrt 2``; ``(-i E_jl + i E_lj)/sqrt 2``.
    """
    out = []
    for j in range(k):
        M = np.zeros((k, k), dtype=np.complex128)
        M[j, j] = 1.0
        out.append(M)
    r = 1 / np.sqrt(2.0)
    for j, l in default_edges(k):
        M = np.zeros((k, k), dtype=np.complex128)
        M[j, l] = M[l, j] = r
        out.append(M)
    for j, l in default_edges(k):
        M = np.zeros((k, k), dtype=np.complex128)
        M[j, l] = -1j * r
        M[l, j] = 1j * r
        out.append(M)
    return np.array(out).reshape(k * k, k, k)


def to_coords(X, basis):
    """Real coordinates ``Re tr(B_p X)`` of (batched) Hermitian ``X``: ``(..., m)``."""
    return np.einsum("pab,...ba->...p", basis, X).real


def from_coords(x, basis):
    """Hermitian matrices from coordinates: ``(..., k, k)`` complex."""
    return np.einsum("...p,pab->...ab", x, basis)


def commutator(L, X):
    """``i (L X - X L)`` for a single ``L`` and (batched) ``X``."""
    return 1j * (L @ X - X @ L)


def _commutator_maps(L, basis):
    """Real ``m x m`` matrices ``T_l``: coordinates of ``i [L_l, B_p]`` (column p)."""
    return [to_coords(commutator(Ll, basis), basis).T for Ll in L]


def _orth_split(K, tol=1e-10):
    """Orthonormal bases of range(K) and of its complement (null(K^T))."""
    m = K.shape[0]
    if K.size == 0:
        return np.zeros((m, 0)), np.eye(m)
    Uu, sv, _ = np.linalg.svd(K, full_matrices=True)
    r = int(np.sum(sv > tol * max(1.0, sv.max(initial=0.0))))
    return Uu[:, :r], Uu[:, r:]


def commutant_basis(L, k):
    """Orthonormal coordinates (columns, ``(k^2, dim)``) of the Hermitian matrices
    commuting with every ``L_l``."""
    basis = herm_basis(k)
    T = _commutator_maps(L, basis)
    K = np.hstack(T) if T else np.zeros((k * k, 0))
    return _orth_split(K)[1]


def _check_matrix_inputs(A, B, mask, L):
    A = np.asarray(A)
    B = np.asarray(B)
    if A.shape != B.shape or A.ndim < 3 or A.ndim > 5 or A.shape[-1] != A.shape[-2]:
        raise ValueError(f"shapes {A.shape} / {B.shape}: need (*grid, k, k)")
    A = A.astype(np.complex128)
    B = B.astype(np.complex128)
    grid, k = A.shape[:-2], A.shape[-1]
    for name, X in (("A", A), ("B", B)):
        if not np.all(np.isfinite(X)):
            raise ValueError(f"non-finite {name}")
        scale = np.abs(X).max(initial=0.0)
        if np.abs(X - np.swapaxes(X.conj(), -1, -2)).max(initial=0.0) > 1e-12 * scale:
            raise ValueError(f"{name} not Hermitian")
        ev = np.linalg.eigvalsh(X)
        if ev.size and ev.min() < -1e-8 * max(ev.max(), 0.0):
            raise ValueError(f"{name} indefinite")
    m = np.ones(grid, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    if m.shape != grid:
        raise ValueError(f"mask shape {m.shape} != grid {grid}")
    if np.any(A[~m]) or np.any(B[~m]):
        raise ValueError("mass outside the mask")
    L = gell_mann(k) if L is None else [np.asarray(x, dtype=np.complex128) for x in L]
    for x in L:
        if x.shape != (k, k) or np.abs(x - x.conj().T).max() > 1e-12 * np.abs(x).max():
            raise ValueError("each L_l must be a Hermitian k x k matrix")
    # make the inputs exactly Hermitian
    A = (A + np.swapaxes(A.conj(), -1, -2)) / 2
    B = (B + np.swapaxes(B.conj(), -1, -2)) / 2
    return A, B, m, L


def rebalance_matrix(A, B, mask=None, tol=None):
    """``B`` scaled on each connected part so its total trace equals ``A``'s.

    ``tol``: relative difference of the traces above which it is a ValueError
    (``None``: scale whatever the difference)."""
    A = np.asarray(A, dtype=np.complex128)
    B = np.array(B, dtype=np.complex128)
    grid, k = A.shape[:-2], A.shape[-1]
    tA = np.trace(A, axis1=-2, axis2=-1).real.ravel()
    tB = np.trace(B, axis1=-2, axis2=-1).real.ravel()
    B2 = B.reshape(-1, k, k)
    for cells in mask_parts(grid, mask):
        sa, sb = tA[cells].sum(), tB[cells].sum()
        if sa == sb:
            continue
        if sb <= 0 or (tol is not None and abs(sa - sb) > tol * max(sa, sb)):
            raise ValueError(f"unbalanced total traces {sa!r} vs {sb!r} on a part "
                             f"of {cells.size} cells")
        B2[cells] *= sa / sb
    return B


def _emb_matrix(basis):
    """``(m, 4k^2)``: flattened real embedding ``[[Re X, -Im X], [Im X, Re X]]``
    of each basis matrix."""
    re, im = basis.real, basis.imag
    E = np.block([[re, -im], [im, re]])  # (m, 2k, 2k)
    return E.reshape(basis.shape[0], -1)


def matrix_cvxpy(A, B, L=None, alpha=1.0, h=1.0, mask=None, matrix_norm="frobenius",
                 imbalance_tol=1e-6, presolve_check=True, return_solution=False,
                 cert_rtol=1e-8):
    """Optimal value of the discrete matrix problem (3.).

    ``B`` is rebalanced (trace scaled per part) when the traces differ by at
    most ``imbalance_tol`` relative, else ValueError.  With
    ``presolve_check=True`` the remaining balance condition (``sum (A - B)``
    orthogonal to the commutant of ``L`` per part) is checked first
    (ValueError if violated) and the redundant rows are projected out; with
    ``False`` all rows are kept and the solver's infeasibility verdict is
    turned into ValueError.

    As in ``vector_cvxpy`` the solver's point is certified (flux repaired to
    exact feasibility: upper bound; multipliers made dual feasible: lower
    bound; both within ``cert_rtol``) and the upper bound is returned;
    ``return_solution=True`` returns ``MatrixSolution(value, lower_bound,
    flux U (d, *grid, k, k), exchange W (N, *grid, k, k), potential Phi
    (*grid, k, k), solver)``, complex Hermitian, a valid certificate.
    """
    import cvxpy as cp

    A, B, m, L = _check_matrix_inputs(A, B, mask, L)
    grid, k = A.shape[:-2], A.shape[-1]
    d = len(grid)
    hs = spacing(h, d)
    alpha = float(alpha)
    if alpha < 0:
        raise ValueError("alpha < 0")
    if matrix_norm not in ("frobenius", "nuclear"):
        raise ValueError(matrix_norm)
    NL = len(L)
    B = rebalance_matrix(A, B, m, imbalance_tol)
    total = float(np.trace(A, axis1=-2, axis2=-1).real.sum())

    def out(value):
        if not return_solution:
            return value
        z = np.zeros(A.shape, np.complex128)
        return MatrixSolution(value, value, np.zeros((d,) + A.shape, np.complex128),
                              np.zeros((NL,) + A.shape, np.complex128), z, None)

    if total == 0:  # PSD with zero trace: A = 0, and B = 0 after rebalancing
        return out(0.0)
    basis = herm_basis(k)
    mq = k * k
    a = to_coords(A, basis) / total  # (*grid, m)
    bq = to_coords(B, basis) / total
    n = int(np.prod(grid))
    cells = np.flatnonzero(m.ravel())
    nc = cells.size
    pos = np.full(n, -1)
    pos[cells] = np.arange(nc)
    nrows = nc * mq
    rhs = (a - bq).reshape(n, mq)[cells].ravel()
    T = _commutator_maps(L, basis)
    K = np.hstack(T) if T else np.zeros((mq, 0))
    Qr, Qc = _orth_split(K)  # range of the in-cell map, commutant

    parts = mask_parts(grid, m)
    if presolve_check:
        for part in parts:
            tot = (a - bq).reshape(n, mq)[part].sum(axis=0)
            off = np.abs(Qc.T @ tot).max(initial=0.0)
            if off > 1e-9:
                raise ValueError(
                    f"infeasible: sum (A - B) over a part has a component {off:.3e} "
                    "(relative to the total trace) along a matrix commuting with all L")
        first = [pos[part[0]] * mq + np.arange(mq) for part in parts]
        R = _row_reducer(nrows, first, [Qr] * len(parts))
    else:
        R = sp.identity(nrows, format="csr")

    act, srcs, strides = _face_maps(grid, m)
    uvars, divs, umaps, ublocks = [], [], [], []
    for s in range(d):
        src = srcs[s]
        nf = src.size
        if nf == 0:
            uvars.append(None)
            continue
        u = cp.Variable(nf * mq)  # (face, q)
        col = np.arange(nf * mq)
        rs = (pos[src][:, None] * mq + np.arange(mq)).ravel()
        rd = (pos[src + strides[s]][:, None] * mq + np.arange(mq)).ravel()
        D = sp.csr_matrix((np.concatenate([np.ones(nf * mq), -np.ones(nf * mq)]),
                           (np.concatenate([rs, rd]), np.concatenate([col, col]))),
                          shape=(nrows, nf * mq))
        uvars.append(u)
        divs.append(D @ u)
        if matrix_norm == "frobenius":
            # h_s U_s(i) at (cell, s, q) of the per-cell stacked vector
            qq = np.tile(np.arange(mq), nf)
            ridx = (np.repeat(pos[src], mq) * d + s) * mq + qq
            P = sp.csr_matrix((np.full(nf * mq, hs[s]), (ridx, col)),
                              shape=(nc * d * mq, nf * mq))
            umaps.append(P @ u)
        else:
            ublocks.append((cp.reshape(u, (nf, mq), order="C"), np.full(nf, hs[s])))
    wvar = None
    if NL:
        wvar = cp.Variable(NL * nc * mq)  # (l, cell, q)
        DW = sp.hstack([sp.kron(sp.identity(nc), sp.csr_matrix(Tl)) for Tl in T],
                       format="csr")
        divs.append(DW @ wvar)
    if not divs:
        if np.abs(rhs).max(initial=0.0) > 1e-12:
            raise ValueError("infeasible: nothing can move and A != B")
        return out(0.0)

    cost = 0
    if matrix_norm == "frobenius":
        if umaps:
            Y = cp.reshape(sum(umaps), (nc, d * mq), order="C")
            cost = cost + cp.sum(cp.norm(Y, 2, axis=1))
        if NL and alpha > 0:
            cost = cost + alpha * cp.sum(cp.norm(
                cp.reshape(wvar, (NL * nc, mq), order="C"), 2, axis=1))
        cons = []
    else:
        if NL and alpha > 0:
            ublocks.append((cp.reshape(wvar, (NL * nc, mq), order="C"),
                            np.full(NL * nc, alpha)))
        cons = []
        if ublocks:
            X = cp.vstack([blk for blk, _ in ublocks])  # (nmat, m)
            omega = np.concatenate([om for _, om in ublocks])
            nmat = omega.size
            # omega ||X||_* = omega min_{P'} tr P' - tr X  s.t.  P' >= 0,
            # P' - emb(X) >= 0, P' a real symmetric 2k x 2k matrix (no complex
            # structure imposed: measured far more accurate with CLARABEL
            # than an embedded Hermitian P, which stalls ~1e-5 off)
            E = _emb_matrix(basis)
            tr = np.array([1.0 if q < k else 0.0 for q in range(mq)])
            n2 = 2 * k
            iu = np.triu_indices(n2)
            nsym = iu[0].size
            S = np.zeros((nsym, n2, n2))
            S[np.arange(nsym), iu[0], iu[1]] = 1.0
            S[np.arange(nsym), iu[1], iu[0]] = 1.0
            S = S.reshape(nsym, -1)
            trS = (iu[0] == iu[1]).astype(np.float64)
            Pv = cp.Variable((nmat, nsym))
            shp = (nmat, n2, n2)
            cons += [cp.PSD(cp.reshape(Pv @ S, shp, order="C")),
                     cp.PSD(cp.reshape(Pv @ S - X @ E, shp, order="C"))]
            cost = cost + omega @ (Pv @ trS - X @ tr)
    con = R @ sum(divs) == R @ rhs
    prob = cp.Problem(cp.Minimize(cost), [con] + cons)

    def certify():
        Uc = np.zeros((d,) + grid + (mq,))
        for s in range(d):
            if uvars[s] is not None:
                Uc[s][act[s]] = uvars[s].value.reshape(-1, mq)
        Wc = np.zeros((NL,) + grid + (mq,))
        if NL:
            Wc.reshape(NL, n, mq)[:, cells] = wvar.value.reshape(NL, nc, mq)
        y = R.T @ np.asarray(con.dual_value, dtype=np.float64).ravel()
        yc = np.zeros(grid + (mq,))
        yc.reshape(n, mq)[cells] = y.reshape(nc, mq)
        return _matrix_certify(Uc, Wc, yc, a, bq, T, L, Qc, basis, alpha, hs,
                               matrix_norm, m)

    diam = sum(hs[s] * grid[s] for s in range(d)) + alpha * max(NL, 1)
    ub, lb, (U, W, Phi), solver = _certified_solve(prob, certify, cert_rtol,
                                                   1e-13 * diam)
    if not return_solution:
        return ub * total
    return MatrixSolution(ub * total, lb * total, U * total, W * total, Phi, solver)


def _matrix_certify(Uc, Wc, y, a, b, T, L, Qc, basis, alpha, hs, matrix_norm, m):
    """Repair ``(U, W)`` (coordinates) to exact feasibility: spanning tree of
    each part, then the part's total solved in-cell at the root; make the
    potential dual feasible (``alpha = 0``: projected on the commutant per
    cell; then scaled).  Returns ``(cost, dual objective, (U, W, Phi))``."""
    grid, mq = a.shape[:-1], a.shape[-1]
    n = int(np.prod(grid))
    NL = len(T)
    act = active_faces(grid, m)
    Uc = np.where(act[..., None], Uc, 0.0)
    Wc = np.where(m[None, ..., None], Wc, 0.0)
    lhs = vector_flux_divergence(Uc)
    for l in range(NL):
        lhs = lhs + Wc[l] @ T[l].T
    r = (a - b) - lhs
    if NL:
        K = np.hstack(T)
        Wv = Wc.reshape(NL, n, mq)
    for root, left in _spanning_route(Uc, r, grid, m):
        if NL:
            fix = np.linalg.lstsq(K, left, rcond=None)[0]
            Wv[:, root] += fix.reshape(NL, mq)
    U = from_coords(Uc, basis)
    W = from_coords(Wc, basis)
    ub = matrix_cost(U, W, alpha, hs, matrix_norm)

    y = np.where(m[..., None], y, 0.0)
    if alpha == 0:
        y = y @ Qc @ Qc.T
    Phi = from_coords(y, basis)
    ratio = _matrix_dual_ratio(Phi, L, alpha, hs, matrix_norm, m)
    if ratio > 1:
        Phi = Phi / ratio
    lb = float(np.sum(Phi * np.swapaxes(from_coords(b - a, basis), -1, -2)).real)
    return ub, lb, (U, W, Phi)


def _matrix_dual_ratio(Phi, L, alpha, hs, matrix_norm, m):
    """Largest constraint ratio of ``Phi`` (spatial, and in-cell / alpha)."""
    grid = Phi.shape[:-2]
    d = len(grid)
    g = matrix_gradient(Phi) * active_faces(grid, m)[..., None, None]
    hsb = np.asarray(hs).reshape((-1,) + (1,) * d)
    if matrix_norm == "frobenius":
        ratio = float(np.sqrt((frob_norm(g) ** 2 / hsb ** 2).sum(axis=0)).max(
            initial=0.0))
        cell_norm = frob_norm
    else:
        ratio = float((op_norm(g) / hsb).max(initial=0.0))
        cell_norm = op_norm
    if alpha > 0:
        for Ll in L:
            v = cell_norm(commutator(Ll, Phi))[m]
            ratio = max(ratio, float(v.max(initial=0.0)) / alpha)
    return ratio


# ---------------------------------------------------------------- certificates


def _get(res, name, default=None):
    return getattr(res, name, default)


def _check_bookkeeping(res, tol):
    assert np.isfinite(res.residual) and res.residual >= 0, res.residual
    assert isinstance(res.converged, (bool, np.bool_)), type(res.converged)
    it = _get(res, "iterations")
    if it is not None:
        assert int(it) == it and it >= 0, it
    sec = _get(res, "seconds")
    if sec is not None:
        assert sec >= 0, sec
    if tol is not None and res.converged:
        assert res.gap <= tol, f"converged, but gap {res.gap!r} > tol {tol!r}"
        assert res.residual <= tol, (
            f"converged, but residual {res.residual!r} > tol {tol!r}")


def _check_bound_gap_exact(res, dual_obj, cost, rtol, tiny, exact, exact_rtol):
    assert np.isfinite(res.distance)
    assert abs(cost - res.distance) <= rtol * abs(cost) + tiny, (
        f"cost of the returned flux {cost!r} != distance {res.distance!r}")
    assert np.isfinite(res.lower_bound)
    assert abs(dual_obj - res.lower_bound) <= rtol * abs(dual_obj) + tiny, (
        f"dual objective {dual_obj!r} != lower_bound {res.lower_bound!r}")
    assert res.lower_bound <= res.distance * (1 + 1e-12) + tiny, (
        res.lower_bound, res.distance)
    if res.distance == 0:
        assert res.gap == 0, f"distance 0 but gap {res.gap!r}"
    else:
        want = (res.distance - res.lower_bound) / res.distance
        assert abs(res.gap - want) <= 1e-9 * abs(want) + 1e-14, (
            f"gap {res.gap!r} != (distance - lower_bound) / distance = {want!r}")
    if exact is not None:
        slack = exact_rtol * abs(exact) + tiny
        assert res.lower_bound <= exact + slack, (
            f"lower_bound {res.lower_bound!r} above the exact optimum {exact!r}")
        assert exact <= res.distance + slack, (
            f"distance {res.distance!r} below the exact optimum {exact!r}")


def exchange_divergence(G, edges, k):
    """``sum_{s_e = c} G_e(i) - sum_{t_e = c} G_e(i)``: shape ``(*grid, k)``."""
    G = np.asarray(G, dtype=np.float64)
    out = np.zeros(G.shape[1:] + (k,))
    for e, (s, t) in enumerate(edges):
        out[..., s] += G[e]
        out[..., t] -= G[e]
    return out


def vector_flux_divergence(F):
    """``(div F)(i, c)`` for ``F (d, *grid, k)``."""
    F = np.asarray(F, dtype=np.float64)
    k = F.shape[-1]
    return np.stack([divergence(F[..., c]) for c in range(k)], axis=-1)


def vector_cost(F, G, weights, alpha, h, norm):
    """``sum_i [sum_c N(F(i, c)) + alpha sum_e c_e |G_e(i)|]``."""
    F = np.asarray(F, dtype=np.float64)
    c = sum(flux_cost(F[..., ch], h, norm) for ch in range(F.shape[-1]))
    G = np.asarray(G, dtype=np.float64)
    if G.shape[0]:
        w = np.asarray(weights, dtype=np.float64).reshape((-1,) + (1,) * (G.ndim - 1))
        c += float(alpha) * float(np.sum(w * np.abs(G)))
    return float(c)


def check_vector_certificate(res, a, b, edges=None, weights=None, alpha=1.0, h=1.0,
                             norm="isotropic", mask=None, exact=None, rtol=1e-9,
                             exact_rtol=1e-9, feas_tol=1e-9, dual_tol=1e-9, tol=None):
    """Assert everything ``res`` claims about the vector problem.

    ``b`` is rebalanced per (part, component) by scaling first (a no-op for
    balanced inputs).  ``exact``: the true optimum, known to ``exact_rtol``.
    ``tol``: when given and ``res.converged``, gap and residual must be <= it.
    """
    a, b, m = _check_vector_inputs(a, b, mask)
    grid, k = a.shape[:-1], a.shape[-1]
    d = len(grid)
    hs = spacing(h, d)
    alpha = float(alpha)
    edges, w = _graph(k, edges, weights)
    ne = len(edges)
    b = rebalance_vector(a, b, edges, mask)
    total = float(a.sum())
    diam = sum(hs[s] * grid[s] for s in range(d)) + alpha * float(w.sum())
    scale = total * diam
    tiny = 1e-13 * scale + 1e-300

    F, G, phi = res.flux, res.exchange, res.potential
    for name, X, shape in (("flux", F, (d,) + a.shape), ("exchange", G, (ne,) + grid),
                           ("potential", phi, a.shape)):
        assert isinstance(X, np.ndarray), (name, type(X))
        assert X.dtype == np.float64, f"{name} dtype {X.dtype}, want float64"
        assert X.shape == shape, (name, X.shape, shape)
        assert np.all(np.isfinite(X)), name

    # ---- primal: support, exact feasibility, cost
    act = active_faces(grid, m)
    bad = np.abs(F[~act]).max(initial=0.0)
    assert bad == 0.0, f"flux {bad:g} on an inactive face"
    bad = np.abs(G[:, ~m]).max(initial=0.0)
    assert bad == 0.0, f"exchange {bad:g} outside the mask"
    lhs = vector_flux_divergence(F) + exchange_divergence(G, edges, k)
    viol = np.abs(lhs - (a - b)).sum()
    assert viol <= feas_tol * total + 1e-300, (
        f"constraint violated: summed violation {viol:.3e}, total mass {total:.3e}")
    cost = vector_cost(F, G, w, alpha, hs, norm)

    # ---- dual feasibility
    assert np.all(phi[~m] == 0.0), "potential non-zero outside the mask"
    gphi = np.stack([gradient(phi[..., c]) for c in range(k)], axis=-1)
    gphi = gphi * act[..., None]
    q = gphi / np.asarray(hs).reshape((-1,) + (1,) * (d + 1))
    if norm == "isotropic":
        ratio = np.sqrt((q * q).sum(axis=0))
    elif norm == "anisotropic":
        ratio = np.abs(q).max(axis=0)
    else:
        raise ValueError(norm)
    assert ratio.max(initial=0.0) <= 1.0 + dual_tol, (
        f"potential not dual feasible: max N*(grad phi) = {ratio.max():.12g}")
    tiny_phi = 1e-13 * diam
    for e, (s, t) in enumerate(edges):
        diff = np.abs(phi[..., t] - phi[..., s])[m]
        lim = alpha * w[e] * (1 + dual_tol) + tiny_phi
        assert diff.max(initial=0.0) <= lim, (
            f"channel constraint of edge {(s, t)} violated: {diff.max():.12g} > "
            f"alpha c_e = {alpha * w[e]:.12g}")
    dual_obj = float(np.sum(phi * (b - a)))
    _check_bound_gap_exact(res, dual_obj, cost, rtol, tiny, exact, exact_rtol)
    _check_bookkeeping(res, tol)


def matrix_divergence(U):
    """``sum_s U_s(i) - U_s(i - e_s)`` for ``U (d, *grid, k, k)``."""
    U = np.asarray(U)
    d = U.shape[0]
    out = np.zeros(U.shape[1:], dtype=U.dtype)
    for s in range(d):
        out += U[s]
        src = [slice(None)] * (d + 2)
        dst = [slice(None)] * (d + 2)
        src[s] = slice(0, U.shape[1 + s] - 1)
        dst[s] = slice(1, U.shape[1 + s])
        out[tuple(dst)] -= U[s][tuple(src)]
    return out


def matrix_gradient(Phi):
    """``(grad Phi)_s(i) = Phi(i + e_s) - Phi(i)`` (zero on the last slice)."""
    Phi = np.asarray(Phi)
    d = Phi.ndim - 2
    g = np.zeros((d,) + Phi.shape, dtype=Phi.dtype)
    for s in range(d):
        lo = [slice(None)] * (d + 2)
        hi = [slice(None)] * (d + 2)
        lo[s] = slice(0, Phi.shape[s] - 1)
        hi[s] = slice(1, Phi.shape[s])
        g[s][tuple(lo)] = Phi[tuple(hi)] - Phi[tuple(lo)]
    return g


def nuclear_norm(X):
    """Batched ``||X||_*`` (sum of singular values; sum |eig| for Hermitian)."""
    return np.linalg.svd(X, compute_uv=False).sum(axis=-1)


def op_norm(X):
    """Batched largest singular value."""
    return np.linalg.svd(X, compute_uv=False).max(axis=-1, initial=0.0)


def frob_norm(X):
    return np.sqrt((np.abs(X) ** 2).sum(axis=(-2, -1)))


def matrix_cost(U, W, alpha, h, matrix_norm):
    """``sum_i [N_U(U(i)) + alpha sum_l ||W_l(i)||_w]`` (3.)."""
    U = np.asarray(U)
    d = U.shape[0]
    hs = np.asarray(spacing(h, d)).reshape((-1,) + (1,) * (U.ndim - 3))
    if matrix_norm == "frobenius":
        c = np.sqrt((hs ** 2 * frob_norm(U) ** 2).sum(axis=0)).sum()
        c += float(alpha) * frob_norm(W).sum() if np.size(W) else 0.0
    elif matrix_norm == "nuclear":
        c = (hs * nuclear_norm(U)).sum()
        c += float(alpha) * nuclear_norm(W).sum() if np.size(W) else 0.0
    else:
        raise ValueError(matrix_norm)
    return float(c)


def check_matrix_certificate(res, A, B, L=None, alpha=1.0, h=1.0,
                             matrix_norm="frobenius", mask=None, exact=None,
                             rtol=1e-9, exact_rtol=1e-9, feas_tol=1e-9,
                             dual_tol=1e-9, herm_tol=1e-12, tol=None):
    """Assert everything ``res`` claims about the matrix problem.

    ``B`` is rebalanced (trace scaled per part) first.  Feasibility is measured
    as the summed trace norm of the constraint violation over the total trace.
    Returned flux, exchange and potential must be complex128 and Hermitian
    (to ``herm_tol`` relative to their largest entry).
    """
    A, B, m, L = _check_matrix_inputs(A, B, mask, L)
    grid = A.shape[:-2]
    d = len(grid)
    hs = spacing(h, d)
    alpha = float(alpha)
    NL = len(L)
    B = rebalance_matrix(A, B, m)
    total = float(np.trace(A, axis1=-2, axis2=-1).real.sum())
    diam = sum(hs[s] * grid[s] for s in range(d)) + alpha * max(NL, 1)
    scale = total * diam
    tiny = 1e-13 * scale + 1e-300

    U, W, Phi = res.flux, res.exchange, res.potential
    for name, X, shape in (("flux", U, (d,) + A.shape), ("exchange", W, (NL,) + A.shape),
                           ("potential", Phi, A.shape)):
        assert isinstance(X, np.ndarray), (name, type(X))
        assert X.dtype == np.complex128, f"{name} dtype {X.dtype}, want complex128"
        assert X.shape == shape, (name, X.shape, shape)
        assert np.all(np.isfinite(X)), name
        herm = np.abs(X - np.swapaxes(X.conj(), -1, -2)).max(initial=0.0)
        assert herm <= herm_tol * np.abs(X).max(initial=0.0), (
            f"{name} not Hermitian: {herm:.3e}")

    # ---- primal
    act = active_faces(grid, m)
    bad = np.abs(U[~act]).max(initial=0.0)
    assert bad == 0.0, f"flux {bad:g} on an inactive face"
    bad = np.abs(W[:, ~m]).max(initial=0.0)
    assert bad == 0.0, f"in-cell flux {bad:g} outside the mask"
    lhs = matrix_divergence(U)
    for l in range(NL):
        lhs = lhs + commutator(L[l], W[l])
    viol = nuclear_norm(lhs - (A - B)).sum()
    assert viol <= feas_tol * total + 1e-300, (
        f"constraint violated: summed trace norm {viol:.3e}, total trace {total:.3e}")
    cost = matrix_cost(U, W, alpha, hs, matrix_norm)

    # ---- dual
    assert np.all(Phi[~m] == 0.0), "potential non-zero outside the mask"
    g = matrix_gradient(Phi) * act[..., None, None]
    hsb = np.asarray(hs).reshape((-1,) + (1,) * d)
    if matrix_norm == "frobenius":
        ratio = np.sqrt((frob_norm(g) ** 2 / hsb ** 2).sum(axis=0))
        cell_norm = frob_norm
    elif matrix_norm == "nuclear":
        ratio = (op_norm(g) / hsb).max(axis=0)
        cell_norm = op_norm
    else:
        raise ValueError(matrix_norm)
    assert ratio.max(initial=0.0) <= 1.0 + dual_tol, (
        f"potential not dual feasible: spatial ratio {ratio.max():.12g}")
    tiny_phi = 1e-13 * diam
    for l in range(NL):
        v = cell_norm(commutator(L[l], Phi))[m]
        assert v.max(initial=0.0) <= alpha * (1 + dual_tol) + tiny_phi, (
            f"in-cell constraint {l} violated: {v.max():.12g} > alpha = {alpha!r}")
    dual_obj = float(np.sum(Phi * np.swapaxes(B - A, -1, -2)).real)
    _check_bound_gap_exact(res, dual_obj, cost, rtol, tiny, exact, exact_rtol)
    _check_bookkeeping(res, tol)
