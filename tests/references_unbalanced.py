"""Independent references for unbalanced transport (a source s at price lam per unit).

- ``dummy_cell_emd``: the anisotropic scalar problem as balanced optimal
  transport with one extra cell at cost lam from every cell (POT's exact
  network simplex);
- ``source_lp``: the anisotropic scalar LP on face fluxes plus s = s+ - s-
  (HiGHS through scipy), masks included;
- ``source_conic``: scalar, vector and matrix problems, either norm, as conic
  programs (cvxpy / CLARABEL): face fluxes, in-cell exchange and the source,
  built from sparse divergence matrices, no solver structure shared with
  omtcore.
"""

import warnings

import numpy as np
import scipy.sparse as sp

from references_vm import herm_basis, to_coords


def _spacing(h, d):
    return [float(h)] * d if np.ndim(h) == 0 else [float(x) for x in h]


def faces(shape, mask=None):
    """Active faces (cell i, axis s): both cells in the domain.

    Returns (divergence matrix cells x faces, per-axis selection matrices
    cells x faces mapping each face to the cell it leaves, the face axes)."""
    shape = tuple(shape)
    n = int(np.prod(shape))
    inside = np.ones(shape, bool) if mask is None else np.asarray(mask, bool)
    idx = np.arange(n).reshape(shape)
    rows, cols, vals, axes, tails = [], [], [], [], []
    f = 0
    for s in range(len(shape)):
        lo = [slice(None)] * len(shape)
        hi = [slice(None)] * len(shape)
        lo[s] = slice(0, shape[s] - 1)
        hi[s] = slice(1, shape[s])
        tail, head = idx[tuple(lo)].ravel(), idx[tuple(hi)].ravel()
        ok = inside.ravel()[tail] & inside.ravel()[head]
        for i, j in zip(tail[ok], head[ok]):
            rows += [i, j]
            cols += [f, f]
            vals += [1.0, -1.0]  # F leaves i, enters j: div F(i) += F, div F(j) -= F
            axes.append(s)
            tails.append(i)
            f += 1
    D = sp.csr_matrix((vals, (rows, cols)), shape=(n, f))
    axes, tails = np.array(axes, int), np.array(tails, int)
    select = [sp.csr_matrix((np.ones(np.sum(axes == s)), (tails[axes == s], np.flatnonzero(axes == s))),
                            shape=(n, f)) for s in range(len(shape))]
    return D, select, axes


def dummy_cell_emd(a, b, lam, h=1.0):
    """Anisotropic scalar unbalanced W1 on the full grid: balanced OT with a
    dummy cell at cost lam from every cell, masses [a, sum b] and [b, sum a]."""
    import ot

    a, b = np.asarray(a, float), np.asarray(b, float)
    hs = _spacing(h, a.ndim)
    idx = np.indices(a.shape).reshape(a.ndim, -1)
    n = a.size
    C = np.zeros((n + 1, n + 1))
    for s in range(a.ndim):
        C[:n, :n] += hs[s] * np.abs(idx[s][:, None] - idx[s][None, :])
    C[:n, n] = C[n, :n] = lam
    x, y = np.append(a.ravel(), b.sum()), np.append(b.ravel(), a.sum())
    scale = x.sum()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return float(ot.emd2(x / scale, y / scale, C, numItermax=10_000_000)) * scale


def source_lp(a, b, lam, h=1.0, mask=None):
    """Anisotropic scalar unbalanced W1 as an LP (HiGHS): min sum h|F| + lam sum|s|,
    div F + s = a - b on the domain, s = 0 outside."""
    from scipy.optimize import linprog

    a, b = np.asarray(a, float), np.asarray(b, float)
    hs = _spacing(h, a.ndim)
    D, _, axes = faces(a.shape, mask)
    inside = np.ones(a.size, bool) if mask is None else np.asarray(mask, bool).ravel()
    cells = np.flatnonzero(inside)
    S = sp.identity(a.size, format="csr")[:, cells]
    nf, ns = D.shape[1], len(cells)
    A_eq = sp.hstack([D, -D, S, -S]).tocsr()[cells]
    cost = np.concatenate([np.array(hs)[axes], np.array(hs)[axes], np.full(2 * ns, lam)])
    scale = max(a.sum(), b.sum(), 1e-300)
    res = linprog(cost, A_eq=A_eq, b_eq=(a - b).ravel()[cells] / scale, bounds=(0, None), method="highs",
                  options=dict(primal_feasibility_tolerance=1e-10, dual_feasibility_tolerance=1e-10))
    assert res.status == 0, res.message
    return float(res.fun) * scale


def source_conic(kind, a, b, lam, h=1.0, mask=None, norm="isotropic", edges=None, weights=None,
                 alpha=1.0, L=None, matrix_norm="frobenius"):
    """Unbalanced W1 of every kind as a conic program (CLARABEL); returns its optimal value.

    kind "scalar" (a, b of the grid's shape), "vector" ((*grid, k)) or
    "matrix" ((*grid, k, k) Hermitian; L default the Gell-Mann matrices).
    """
    import cvxpy as cp

    a, b = np.asarray(a), np.asarray(b)
    if kind == "scalar":
        a, b = a[..., None], b[..., None]
    grid = a.shape[:-1] if kind != "matrix" else a.shape[:-2]
    d = len(grid)
    hs = _spacing(h, d)
    D, select, axes = faces(grid, mask)
    n = int(np.prod(grid))
    inside = np.ones(n, bool) if mask is None else np.asarray(mask, bool).ravel()
    cells = np.flatnonzero(inside)
    scale = max(float(np.abs(a).sum()), float(np.abs(b).sum()), 1e-300)

    if kind == "matrix":
        k = a.shape[-1]
        basis = herm_basis(k)
        planes = k * k
        net = to_coords((a - b).reshape(n, k, k), basis) / scale  # (n, P)
        if L is None:
            import omtcore

            L = omtcore.gell_mann(k)
        L = np.asarray(L, complex).reshape(-1, k, k)
        # In-cell coupling: coordinates of i [L_l, E_j] for each basis element E_j.
        coupling = [np.array([to_coords(1j * (Ll @ E - E @ Ll), basis) for E in basis]).T for Ll in L]  # (P, P)
    else:
        planes = a.shape[-1]
        net = (a - b).reshape(n, planes).astype(float) / scale
        if kind == "vector":
            pairs = [(s, t) for s in range(planes) for t in range(s + 1, planes)] if edges is None else \
                [tuple(e) for e in edges]
            w = np.ones(len(pairs)) if weights is None else np.asarray(weights, float)
        else:
            pairs, w = [], np.ones(0)

    F = cp.Variable((D.shape[1], planes))  # face fluxes per plane (coordinates for matrices)
    s = cp.Variable((len(cells), planes))  # the source on domain cells
    constraint = D @ F
    cost = 0
    # Spatial cost per cell of its forward faces.
    per_axis = [hs[t] * (select[t] @ F) for t in range(d)]  # (n, P) each
    if kind == "matrix":
        if matrix_norm == "frobenius":
            stacked = cp.hstack(per_axis)  # (n, d P): sqrt(sum_s h_s^2 ||U_s||_F^2)
            cost += cp.sum(cp.norm(stacked, 2, axis=1))
        else:
            for t in range(d):
                for i in range(n):
                    X = sum(per_axis[t][i, p] * basis[p] for p in range(planes))
                    cost += cp.normNuc(X)
    elif norm == "isotropic":
        for p in range(planes):
            cost += cp.sum(cp.norm(cp.hstack([per_axis[t][:, p:p + 1] for t in range(d)]), 2, axis=1))
    else:
        cost += sum(cp.sum(cp.abs(per_axis[t])) for t in range(d))
    # In-cell exchange.
    if kind == "vector" and pairs:
        G = cp.Variable((n, len(pairs)))
        Cg = np.zeros((len(pairs), planes))
        for e, (u, v) in enumerate(pairs):
            Cg[e, u], Cg[e, v] = 1, -1
        constraint = constraint + G @ Cg
        cost += alpha * cp.sum(cp.abs(G) @ w)
    if kind == "matrix" and len(L):
        for Cl in coupling:
            W = cp.Variable((n, planes))
            constraint = constraint + W @ Cl.T
            if matrix_norm == "frobenius":
                cost += alpha * cp.sum(cp.norm(W, 2, axis=1))
            else:
                for i in range(n):
                    cost += alpha * cp.normNuc(sum(W[i, p] * basis[p] for p in range(planes)))
    # The source.
    if kind == "matrix" and matrix_norm == "nuclear":
        for c in range(len(cells)):
            cost += lam * cp.normNuc(sum(s[c, p] * basis[p] for p in range(planes)))
    elif kind == "matrix":
        cost += lam * cp.sum(cp.norm(s, 2, axis=1))
    else:
        cost += lam * cp.sum(cp.abs(s))
    constraints = [constraint[cells] + s == net[cells]]
    problem = cp.Problem(cp.Minimize(cost), constraints)
    problem.solve(solver=cp.CLARABEL, tol_gap_abs=1e-10, tol_gap_rel=1e-10, tol_feas=1e-10)
    assert problem.status == cp.OPTIMAL, problem.status
    return float(problem.value) * scale
