"""Derivatives of the distance: the solve's centred potential against exact references.

Directional derivatives along random balance-keeping directions are compared
with central finite differences of exact distances (POT's network simplex
for the anisotropic norm, CLARABEL through cvxpy for the isotropic norm and
matrix fields), and with POT's own gradient of ``emd2`` (its dual
potentials, centred). Solves run in float64 at tol 1e-10, so that the
potential is the optimal one to about 1e-9 (differences of a solve at tol
1e-4 would be noise).
"""

import numpy as np
import pytest

import omtcore
from omtcore._gradients import commutant_basis, input_gradients

from references import beckmann_cvxpy, emd_l1
from references_vm import matrix_cvxpy, vector_emd

TIGHT = dict(tol=1e-10, dtype="float64", max_iter=400_000)


def balanced_pair(rng, shape, floor=0.1):
    a = rng.random(shape) + floor
    b = rng.random(shape) + floor
    return a, b * (a.sum() / b.sum())


def zero_sum(rng, shape, groups=None):
    """A random direction with zero sum over each group of entries (all: one group)."""
    d = rng.standard_normal(shape)
    if groups is None:
        return d - d.mean()
    for g in np.unique(groups[groups >= 0]):
        d[groups == g] -= d[groups == g].mean()
    d[groups < 0] = 0
    return d


def central_difference(f, x, d, step):
    return (f(x + step * d) - f(x - step * d)) / (2 * step)


def test_scalar_anisotropic_gradient_is_pots_dual_and_the_derivative_of_the_exact_distance(backend):
    import ot

    rng = np.random.default_rng(1)
    shape = (6, 7)
    a, b = balanced_pair(rng, shape)
    res = omtcore.scalar_omt(a, b, norm="anisotropic", backend=backend, **TIGHT)
    grad_a, grad_b = input_gradients("scalar", res, a, b)
    # POT: W = max sum u a + sum v b, so u is dW/da; its gradient centres u and v.
    idx = np.indices(shape).reshape(2, -1).T
    C = np.abs(idx[:, None, :] - idx[None, :, :]).sum(-1).astype(float)
    _, log = ot.emd(a.ravel(), b.ravel(), C, log=True, numItermax=10_000_000)
    np.testing.assert_allclose(grad_a.ravel(), log["u"] - log["u"].mean(), atol=1e-7)
    np.testing.assert_allclose(grad_b.ravel(), log["v"] - log["v"].mean(), atol=1e-7)
    assert abs(grad_a.sum()) < 1e-9 and abs(grad_b.sum()) < 1e-9
    for _ in range(3):
        d = zero_sum(rng, shape)
        fd_a = central_difference(lambda x: emd_l1(x, b), a, d, 1e-6)
        fd_b = central_difference(lambda x: emd_l1(a, x), b, d, 1e-6)
        assert np.sum(grad_a * d) == pytest.approx(fd_a, rel=1e-6, abs=1e-6)
        assert np.sum(grad_b * d) == pytest.approx(fd_b, rel=1e-6, abs=1e-6)


def test_scalar_gradient_is_centred_on_each_part_of_a_mask_and_zero_outside():
    rng = np.random.default_rng(2)
    shape = (5, 9)
    mask = np.ones(shape, bool)
    mask[:, 4] = False  # two rectangles, 5 x 4 each
    a, b = balanced_pair(rng, shape)
    a[~mask] = b[~mask] = 0
    for part in (mask & (np.arange(9) < 4), mask & (np.arange(9) > 4)):
        b[part] *= a[part].sum() / b[part].sum()
    h = (1.0, 0.5)
    res = omtcore.scalar_omt(a, b, norm="anisotropic", mask=mask, h=h, **TIGHT)
    grad_a, _ = input_gradients("scalar", res, a, b, mask=mask)
    groups = np.where(mask, (np.arange(9) > 4).astype(int) + np.zeros(shape, int), -1)
    assert np.all(grad_a[~mask] == 0)
    for q in (0, 1):
        assert abs(grad_a[groups == q].sum()) < 1e-9
    for _ in range(3):
        d = zero_sum(rng, shape, groups)
        fd = central_difference(lambda x: emd_l1(x, b, h=h, mask=mask), a, d, 1e-6)
        assert np.sum(grad_a * d) == pytest.approx(fd, rel=1e-6, abs=1e-6)


def test_scalar_isotropic_gradient_is_the_derivative_of_the_conic_optimum():
    rng = np.random.default_rng(3)
    shape = (5, 6)
    a, b = balanced_pair(rng, shape)
    res = omtcore.scalar_omt(a, b, norm="isotropic", **TIGHT)
    grad_a, grad_b = input_gradients("scalar", res, a, b)
    for _ in range(2):
        d = zero_sum(rng, shape)
        fd_a = central_difference(lambda x: beckmann_cvxpy(x, b), a, d, 1e-3)
        fd_b = central_difference(lambda x: beckmann_cvxpy(a, x), b, d, 1e-3)
        assert np.sum(grad_a * d) == pytest.approx(fd_a, rel=1e-4, abs=1e-4)
        assert np.sum(grad_b * d) == pytest.approx(fd_b, rel=1e-4, abs=1e-4)


def test_normalized_gradient_is_that_of_the_scaled_function():
    rng = np.random.default_rng(4)
    shape = (5, 5)
    a = rng.random(shape) + 0.1
    b = 3 * rng.random(shape) + 0.1  # other total: normalize compares shapes only
    res = omtcore.scalar_omt(a, b, norm="anisotropic", normalize=True, **TIGHT)
    grad_a, grad_b = input_gradients("scalar", res, a, b, normalize=True)

    def normalized(x, y):
        return emd_l1(x / x.sum(), y / y.sum())

    assert np.sum(grad_a * a) == pytest.approx(0, abs=1e-9)  # invariant under scaling a
    for _ in range(3):
        d = rng.standard_normal(shape)  # any direction: the scaling keeps the balance
        fd_a = central_difference(lambda x: normalized(x, b), a, d, 1e-6)
        fd_b = central_difference(lambda x: normalized(a, x), b, d, 1e-6)
        assert np.sum(grad_a * d) == pytest.approx(fd_a, rel=1e-6, abs=1e-7)
        assert np.sum(grad_b * d) == pytest.approx(fd_b, rel=1e-6, abs=1e-7)


@pytest.mark.parametrize("edges, components", [(None, [0, 0, 0]), ([(0, 1)], [0, 0, 1]), ([], [0, 1, 2])],
                         ids=["all-pairs", "one-edge", "no-edges"])
def test_vector_gradient_is_centred_per_channel_component(edges, components):
    rng = np.random.default_rng(5)
    grid, k = (4, 5), 3
    a = rng.random(grid + (k,)) + 0.1
    b = rng.random(grid + (k,)) + 0.1
    comp = np.array(components)
    for c in np.unique(comp):
        b[..., comp == c] *= a[..., comp == c].sum() / b[..., comp == c].sum()
    kw = dict(edges=edges, alpha=0.7, h=(1.0, 0.8))
    res = omtcore.vector_omt(a, b, norm="anisotropic", **kw, **TIGHT)
    grad_a, grad_b = input_gradients("vector", res, a, b, edges=edges)
    groups = np.broadcast_to(comp, a.shape)
    for c in np.unique(comp):
        assert abs(grad_a[groups == c].sum()) < 1e-9
    for _ in range(3):
        d = zero_sum(rng, a.shape, groups.copy())
        fd_a = central_difference(lambda x: vector_emd(x, b, **kw), a, d, 1e-6)
        fd_b = central_difference(lambda x: vector_emd(a, x, **kw), b, d, 1e-6)
        assert np.sum(grad_a * d) == pytest.approx(fd_a, rel=1e-6, abs=1e-6)
        assert np.sum(grad_b * d) == pytest.approx(fd_b, rel=1e-6, abs=1e-6)


def random_psd(rng, grid, k, real=False):
    X = rng.standard_normal(grid + (k, k))
    if not real:
        X = X + 1j * rng.standard_normal(grid + (k, k))
    return X @ np.swapaxes(X.conj(), -1, -2) / k + 0.2 * np.eye(k)


def hermitian_direction(rng, grid, k, real=False):
    """A random Hermitian direction keeping the total trace (Gell-Mann L's balance)."""
    X = rng.standard_normal(grid + (k, k))
    if not real:
        X = X + 1j * rng.standard_normal(grid + (k, k))
    D = (X + np.swapaxes(X.conj(), -1, -2)) / 2
    return D - np.trace(D, axis1=-2, axis2=-1).real.mean() / k * np.eye(k)


@pytest.mark.parametrize("real", [False, True], ids=["complex", "real-symmetric"])
def test_matrix_gradient_is_the_derivative_of_the_conic_optimum(real):
    rng = np.random.default_rng(6)
    grid, k = (3, 3), 2
    A = random_psd(rng, grid, k, real)
    B = random_psd(rng, grid, k, real)
    B *= np.trace(A, axis1=-2, axis2=-1).real.sum() / np.trace(B, axis1=-2, axis2=-1).real.sum()
    res = omtcore.matrix_omt(A, B, alpha=0.6, **TIGHT)
    grad_A, grad_B = input_gradients("matrix", res, A, B)
    assert np.iscomplexobj(grad_A) == (not real)
    # Centred: the mean's trace part (the commutant of Pauli L) removed.
    assert abs(np.trace(grad_A, axis1=-2, axis2=-1).sum()) < 1e-9
    for _ in range(2):
        D = hermitian_direction(rng, grid, k, real)
        fd_A = central_difference(lambda X: matrix_cvxpy(X, B, alpha=0.6), A, D, 1e-3)
        fd_B = central_difference(lambda X: matrix_cvxpy(A, X, alpha=0.6), B, D, 1e-3)
        # dW = Re tr(G^* D) summed over cells.
        assert np.sum(grad_A.conj() * D).real == pytest.approx(fd_A, rel=1e-4, abs=1e-4)
        assert np.sum(grad_B.conj() * D).real == pytest.approx(fd_B, rel=1e-4, abs=1e-4)


def test_commutant_basis_of_default_and_reducible_generators():
    # Pauli: only the identity commutes; no L: every Hermitian matrix; the
    # diagonal Pauli Z alone: the diagonal matrices.
    pauli = omtcore.gell_mann(2)
    (E,) = commutant_basis(pauli, 2)
    np.testing.assert_allclose(E, np.eye(2) / np.sqrt(2), atol=1e-12)
    assert len(commutant_basis(np.zeros((0, 3, 3)), 3)) == 9
    Ez = commutant_basis(pauli[2:], 2)
    assert len(Ez) == 2
    for X in Ez:
        assert abs(X[0, 1]) < 1e-12 and abs(X[1, 0]) < 1e-12


def test_matrix_gradient_with_a_reducible_L_removes_every_conserved_direction():
    # L = [Z] commutes with the diagonal matrices: each diagonal entry's total
    # is conserved on its own, so the gradient's diagonal sums to zero per entry.
    rng = np.random.default_rng(7)
    grid, k = (4,), 2
    A = random_psd(rng, grid, k)
    B = random_psd(rng, grid, k)
    for j in range(k):  # balance each diagonal total by adding to the lighter side
        excess = (A[..., j, j] - B[..., j, j]).real.sum()
        (B if excess > 0 else A)[..., j, j] += abs(excess) / grid[0]
    L = omtcore.gell_mann(2)[2:]
    res = omtcore.matrix_omt(A, B, L=L, alpha=0.5, **TIGHT)
    grad_A, grad_B = input_gradients("matrix", res, A, B, L=L)
    np.testing.assert_allclose(np.diagonal(grad_A, axis1=-2, axis2=-1).sum(0), 0, atol=1e-9)
    np.testing.assert_allclose(grad_B, -grad_A)
    phi = res.potential
    centred = phi - np.diag(np.diagonal(phi, axis1=-2, axis2=-1).mean(0))
    np.testing.assert_allclose(grad_B, centred, atol=1e-12)


def test_gradient_does_not_depend_on_the_potentials_constants():
    # A balanced problem's potential is defined up to a constant per balance
    # part; the reported gradient is the centred one whatever constant the
    # potential carries (here added per mask part, per channel component, and
    # as a multiple of the identity).
    from dataclasses import replace

    rng = np.random.default_rng(8)
    mask = np.ones((4, 7), bool)
    mask[:, 3] = False
    a, b = balanced_pair(rng, (4, 7))
    a[~mask] = b[~mask] = 0
    for part in (np.arange(7) < 3, np.arange(7) > 3):
        b[:, part] *= a[:, part].sum() / b[:, part].sum()
    res = omtcore.scalar_omt(a, b, mask=mask)
    shifted = replace(res, potential=np.where(mask, res.potential + np.where(np.arange(7) < 3, 5.0, -2.0), 0))
    for x, y in zip(input_gradients("scalar", res, a, b, mask=mask),
                    input_gradients("scalar", shifted, a, b, mask=mask)):
        np.testing.assert_allclose(x, y, atol=1e-12)

    a = rng.random((3, 4, 3)) + 0.1
    b = rng.random((3, 4, 3)) + 0.1
    b[..., :2] *= a[..., :2].sum() / b[..., :2].sum()
    b[..., 2] *= a[..., 2].sum() / b[..., 2].sum()
    res = omtcore.vector_omt(a, b, edges=[(0, 1)])
    shifted = replace(res, potential=res.potential + np.array([1.0, 1.0, -3.0]))
    for x, y in zip(input_gradients("vector", res, a, b, edges=[(0, 1)]),
                    input_gradients("vector", shifted, a, b, edges=[(0, 1)])):
        np.testing.assert_allclose(x, y, atol=1e-12)

    A = random_psd(rng, (3, 3), 2)
    B = random_psd(rng, (3, 3), 2)
    B *= np.trace(A, axis1=-2, axis2=-1).real.sum() / np.trace(B, axis1=-2, axis2=-1).real.sum()
    res = omtcore.matrix_omt(A, B)
    shifted = replace(res, potential=res.potential + 0.7 * np.eye(2))
    for x, y in zip(input_gradients("matrix", res, A, B), input_gradients("matrix", shifted, A, B)):
        np.testing.assert_allclose(x, y, atol=1e-12)
