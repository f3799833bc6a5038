"""The derivative of a solve's distance with respect to its inputs.

By duality W(a, b) = max_phi sum phi (b - a) over dual-feasible phi, so
dW/da = -phi and dW/db = +phi wherever the optimal potential is unique (and
subgradients elsewhere; the returned potential, dual feasible with objective
``lower_bound``, gives an eps-subgradient with eps = distance - lower_bound).

A balanced problem is defined only where its balance conditions hold, so the
gradient reported is the one inside that set: phi with its component along
the conserved directions removed (a constant per connected part of the
domain; per part and channel-graph component for vector problems; for
matrix problems the part mean projected onto the matrices that commute with
every L_l, which for Pauli / Gell-Mann L is tr(Phi) / k times the identity).
With ``normalize=True`` the function is W(a / sum a, b / sum b) (total trace
for matrices) and its gradient follows by the chain rule through the
scaling. Unbalanced problems keep no balance: their gradient is phi itself. The torch and jax front ends (omtcore.torch, omtcore.jax) use this.
"""

from __future__ import annotations

import numpy as np

from . import _core
from .api import _mask, gell_mann
from .interop import to_host

__all__ = ["input_gradients", "gradients_of_solve"]


def _parts(grid: tuple, mask) -> tuple[np.ndarray, int]:
    """Each cell's connected part (-1 outside the mask) and the number of parts."""
    m = _mask(mask, grid)
    if m is None:
        return np.zeros(grid, np.int32), 1
    labels = _core.domain_parts(grid, m).reshape(grid)
    return labels, int(labels.max()) + 1


def _channel_components(k: int, edges) -> np.ndarray:
    """The connected component of each channel in the channel graph."""
    pairs = [(s, t) for s in range(k) for t in range(s + 1, k)] if edges is None else \
        [tuple(int(x) for x in e) for e in np.asarray(edges, dtype=np.int64).reshape(-1, 2)]
    root = list(range(k))

    def find(c):
        while root[c] != c:
            root[c] = root[root[c]]
            c = root[c]
        return c

    for s, t in pairs:
        root[find(s)] = find(t)
    _, component = np.unique([find(c) for c in range(k)], return_inverse=True)
    return component.ravel()


def _centre_groups(phi: np.ndarray, groups: np.ndarray, n_groups: int) -> np.ndarray:
    """phi minus its mean over each group of entries (group -1: set to 0)."""
    flat, g = phi.ravel(), groups.ravel()
    inside = g >= 0
    sums = np.bincount(g[inside], weights=flat[inside], minlength=n_groups)
    counts = np.bincount(g[inside], minlength=n_groups)
    out = np.zeros_like(flat)
    out[inside] = flat[inside] - (sums / np.maximum(counts, 1))[g[inside]]
    return out.reshape(phi.shape)


def _hermitian_basis(k: int) -> np.ndarray:
    """An orthonormal basis of the k x k Hermitian matrices in Re tr(X^* Y), (k^2, k, k)."""
    basis = []
    for j in range(k):
        e = np.zeros((k, k), complex)
        e[j, j] = 1
        basis.append(e)
    for j in range(k):
        for l in range(j + 1, k):
            s = np.zeros((k, k), complex)
            s[j, l] = s[l, j] = 1 / np.sqrt(2)
            a = np.zeros((k, k), complex)
            a[j, l], a[l, j] = -1j / np.sqrt(2), 1j / np.sqrt(2)
            basis += [s, a]
    return np.array(basis)


def commutant_basis(L: np.ndarray, k: int) -> np.ndarray:
    """An orthonormal basis (in Re tr(X^* Y)) of the Hermitian k x k matrices
    that commute with every L_l: the directions a matrix problem conserves."""
    basis = _hermitian_basis(k)
    if len(L) == 0:
        return basis
    # The real-linear map X -> ([L_l, X])_l on the Hermitian basis, realified.
    columns = [np.concatenate([(Ll @ X - X @ Ll).ravel() for Ll in L]) for X in basis]
    M = np.array(columns).T
    M = np.concatenate([M.real, M.imag])
    _, sv, vt = np.linalg.svd(M)
    null = vt[np.sum(sv > 1e-10 * max(sv.max(), 1.0)):]
    return np.einsum("jp,pkl->jkl", null, basis)


def _real_dtype(x: np.ndarray):
    return np.float32 if x.dtype in (np.float32, np.complex64) else np.float64


def input_gradients(kind: str, result, a, b, *, mask=None, edges=None, L=None,
                    normalize: bool = False, unbalanced=None) -> tuple[np.ndarray, np.ndarray]:
    """(dW/da, dW/db) of ``result.distance`` as numpy float64 arrays
    (complex128 for complex matrix inputs, real for real symmetric ones), of
    the inputs' shapes; ``a``, ``b`` and the keywords are those of the solve
    that returned ``result`` (``kind``: "scalar", "vector" or "matrix")."""
    a = np.asarray(to_host(a))
    b = np.asarray(to_host(b))
    phi = np.asarray(to_host(result.potential))
    if unbalanced is not None:
        # No balance to keep: every perturbation is allowed, phi itself is the gradient.
        grid = a.shape if kind == "scalar" else a.shape[:-1] if kind == "vector" else a.shape[:-2]
        parts, _ = _parts(grid, mask)
        g = phi.astype(np.complex128 if kind == "matrix" else np.float64)
    elif kind == "scalar":
        grid = a.shape
        parts, n_parts = _parts(grid, mask)
        g = _centre_groups(phi.astype(np.float64), parts, n_parts)
    elif kind == "vector":
        grid, k = a.shape[:-1], a.shape[-1]
        parts, n_parts = _parts(grid, mask)
        comp = _channel_components(k, edges)
        n_comp = int(comp.max()) + 1
        groups = np.where(parts[..., None] >= 0, parts[..., None] * n_comp + comp, -1)
        g = _centre_groups(phi.astype(np.float64), groups, n_parts * n_comp)
    elif kind == "matrix":
        grid, k = a.shape[:-2], a.shape[-1]
        parts, n_parts = _parts(grid, mask)
        Ls = gell_mann(k) if L is None else np.asarray(L, dtype=np.complex128).reshape(-1, k, k)
        E = commutant_basis(Ls, k)
        g = phi.astype(np.complex128).copy()
        for q in range(n_parts):
            cells = parts == q
            mean = g[cells].mean(axis=0)
            coords = np.einsum("jkl,kl->j", E.conj(), mean).real  # Re tr(E_j^* mean)
            g[cells] -= np.einsum("j,jkl->kl", coords, E)
        g[parts < 0] = 0
    else:
        raise ValueError(f"unknown problem kind {kind!r}")

    grad_a, grad_b = -g, g
    if normalize:
        outside = (parts < 0).reshape(grid + (1,) * (a.ndim - len(grid)))
        grad_a = np.where(outside, 0, _through_scaling(grad_a, a, kind))
        grad_b = np.where(outside, 0, _through_scaling(grad_b, b, kind))
    if kind == "matrix":
        if not np.iscomplexobj(a):
            grad_a = grad_a.real
        if not np.iscomplexobj(b):
            grad_b = grad_b.real
    return grad_a, grad_b


def _through_scaling(g: np.ndarray, x: np.ndarray, kind: str) -> np.ndarray:
    """The gradient of x -> W(x / T(x)) given g = dW at the scaled point; T the
    total mass (total trace for matrices)."""
    x = x.astype(np.complex128 if kind == "matrix" else np.float64)
    if kind == "matrix":
        k = x.shape[-1]
        total = np.trace(x, axis1=-2, axis2=-1).real.sum()
        inner = np.sum((g.conj() * x).real)  # Re <g, x>
        return g / total - (inner / total ** 2) * np.eye(k)
    total = x.sum()
    return g / total - np.sum(g * x) / total ** 2


class _OneProblem:
    """One problem's potential of a batch's Result, as input_gradients reads it."""

    def __init__(self, potential):
        self.potential = potential


def gradients_of_solve(kind: str, result, a, b, options: dict) -> tuple[np.ndarray, np.ndarray]:
    """input_gradients for a solve called with the keyword arguments
    ``options``; with ``batch=1`` per problem, stacked (a leading axis)."""
    def one(res, x, y, mask):
        return input_gradients(kind, res, x, y, mask=mask, edges=options.get("edges"), L=options.get("L"),
                               normalize=options.get("normalize", False), unbalanced=options.get("unbalanced"))

    if not options.get("batch"):
        return one(result, a, b, options.get("mask"))
    a, b = np.asarray(to_host(a)), np.asarray(to_host(b))
    mask = options.get("mask")
    batch_grid = a.shape[:a.ndim - {"scalar": 0, "vector": 1, "matrix": 2}[kind]]  # (B, *grid)
    per_problem = mask is not None and np.shape(mask) == batch_grid  # else one mask for all
    phi = np.asarray(to_host(result.potential))  # once, not per problem (it may live on a device)
    grads = [one(_OneProblem(phi[q]), a[q], b[q], np.asarray(mask)[q] if per_problem else mask)
             for q in range(len(a))]
    return np.stack([g[0] for g in grads]), np.stack([g[1] for g in grads])
