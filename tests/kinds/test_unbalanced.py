"""Unbalanced transport (unbalanced=lam): mass created or destroyed at lam per unit.

Against independent references: the dummy-cell construction with POT and an
LP on face fluxes plus sources (HiGHS) for the anisotropic scalar problem,
conic programs (CLARABEL) for the isotropic, vector and matrix problems, and
the closed-form limits (small lam: nothing moves; large lam: the balanced
distance). Every answer's bracket must contain the reference, and the
returned flux and source must satisfy the constraint exactly.
"""

import numpy as np
import pytest

import omtcore
from omtcore._gradients import input_gradients

from references import divergence, flux_cost
from references_unbalanced import dummy_cell_emd, source_conic, source_lp
from references_vm import (exchange_divergence, matrix_cost, matrix_divergence, vector_cost,
                           vector_flux_divergence)


def unequal(rng, shape):
    return rng.random(shape), 2.5 * rng.random(shape)


def psd(rng, shape, k):
    X = rng.standard_normal(shape + (k, k)) + 1j * rng.standard_normal(shape + (k, k))
    return X @ np.swapaxes(X.conj(), -1, -2) / k


def assert_brackets(res, exact, rtol):
    assert res.lower_bound <= exact * (1 + 1e-9) + 1e-12, (res, exact)
    assert exact <= res.distance * (1 + 1e-9) + 1e-12, (res, exact)
    assert res.distance == pytest.approx(exact, rel=rtol)


@pytest.mark.parametrize("lam", [0.3, 1.2, 4.0])
def test_scalar_anisotropic_is_the_dummy_cell_transport(lam, backend, dtype):
    rng = np.random.default_rng(0)
    a, b = unequal(rng, (6, 7))
    res = omtcore.scalar_omt(a, b, norm="anisotropic", unbalanced=lam, tol=1e-6, dtype=dtype, backend=backend)
    assert res.converged and res.source.shape == a.shape
    assert_brackets(res, dummy_cell_emd(a, b, lam), 3e-6)


def test_scalar_with_a_mask_and_spacing_is_the_lp(backend):
    rng = np.random.default_rng(1)
    mask = np.ones((7, 9), bool)
    mask[2:6, 4] = False
    mask[0, :] = False
    a, b = unequal(rng, mask.shape)
    a[~mask] = b[~mask] = 0
    h = (1.0, 0.6)
    res = omtcore.scalar_omt(a, b, norm="anisotropic", unbalanced=0.9, mask=mask, h=h, tol=1e-6, backend=backend)
    assert np.all(res.source[~mask] == 0) and np.all(res.potential[~mask] == 0)
    assert_brackets(res, source_lp(a, b, 0.9, h=h, mask=mask), 3e-6)


@pytest.mark.parametrize("case", ["scalar-isotropic", "vector-anisotropic", "vector-isotropic", "vector-alpha0",
                                  "matrix-frobenius", "matrix-nuclear"])
def test_every_kind_and_norm_is_the_conic_optimum(case, backend):
    rng = np.random.default_rng(2)
    kind, variant = case.split("-")
    tight = dict(tol=1e-6, dtype="float64", backend=backend)
    if kind == "scalar":
        a, b = unequal(rng, (5, 6))
        res = omtcore.scalar_omt(a, b, norm="isotropic", unbalanced=1.1, h=(1.0, 0.7), **tight)
        exact = source_conic("scalar", a, b, 1.1, h=(1.0, 0.7), norm="isotropic")
    elif kind == "vector":
        a, b = unequal(rng, (4, 5, 3))
        alpha = 0.0 if variant == "alpha0" else 0.6
        norm = "isotropic" if variant == "isotropic" else "anisotropic"
        kw = dict(edges=[(0, 1), (1, 2)], weights=[1.0, 2.0], alpha=alpha, norm=norm)
        res = omtcore.vector_omt(a, b, unbalanced=1.4, **kw, **tight)
        assert res.source.shape == a.shape and res.exchange.shape == (2, 4, 5)
        exact = source_conic("vector", a, b, 1.4, **kw)
    else:
        A, B = psd(rng, (3, 3), 2), 2 * psd(rng, (3, 3), 2)
        res = omtcore.matrix_omt(A, B, unbalanced=0.9, alpha=0.7, matrix_norm=variant, **tight)
        assert res.source.shape == A.shape and np.iscomplexobj(res.source)
        np.testing.assert_allclose(res.source, np.swapaxes(res.source.conj(), -1, -2), atol=1e-12)
        exact = source_conic("matrix", A, B, 0.9, alpha=0.7, matrix_norm=variant)
    assert_brackets(res, exact, 3e-6)


def test_flux_and_source_satisfy_the_constraint_exactly_and_cost_the_distance():
    rng = np.random.default_rng(3)
    a, b = unequal(rng, (9, 8))
    res = omtcore.scalar_omt(a, b, unbalanced=2.0)  # float32 iterates, default tol
    np.testing.assert_allclose(divergence(res.flux) + res.source, a - b, atol=1e-12 * a.sum())
    cost = flux_cost(res.flux, 1.0, "isotropic") + 2.0 * np.abs(res.source).sum()
    assert res.distance == pytest.approx(cost, rel=1e-12)

    a, b = unequal(rng, (6, 5, 3))
    res = omtcore.vector_omt(a, b, unbalanced=1.5, alpha=0.5, norm="anisotropic")
    edges = [(0, 1), (0, 2), (1, 2)]
    lhs = vector_flux_divergence(res.flux) + exchange_divergence(res.exchange, edges, 3) + res.source
    np.testing.assert_allclose(lhs, a - b, atol=1e-12 * a.sum())
    cost = vector_cost(res.flux, res.exchange, [1, 1, 1], 0.5, 1.0, "anisotropic") + 1.5 * np.abs(res.source).sum()
    assert res.distance == pytest.approx(cost, rel=1e-12)

    A, B = psd(rng, (5, 4), 2), 3 * psd(rng, (5, 4), 2)
    res = omtcore.matrix_omt(A, B, unbalanced=0.8, alpha=0.5)
    L = omtcore.gell_mann(2)
    commutators = sum(1j * (L[l] @ res.exchange[l] - res.exchange[l] @ L[l]) for l in range(3))
    np.testing.assert_allclose(matrix_divergence(res.flux) + commutators + res.source, A - B,
                               atol=1e-12 * np.trace(A, axis1=-2, axis2=-1).real.sum())
    frobenius = np.sqrt((np.abs(res.source) ** 2).sum(axis=(-2, -1))).sum()
    assert res.distance == pytest.approx(matrix_cost(res.flux, res.exchange, 0.5, 1.0, "frobenius") +
                                         0.8 * frobenius, rel=1e-12)


@pytest.mark.parametrize("case", ["anisotropic", "isotropic", "vector", "frobenius", "nuclear"])
def test_small_prices_move_nothing(case):
    # Below the contract's thresholds the answer is lam * sum |a - b| exactly.
    rng = np.random.default_rng(4)
    h = (1.0, 0.5)
    if case in ("anisotropic", "isotropic"):
        a, b = unequal(rng, (6, 6))
        lam = min(h) / 2 if case == "anisotropic" else 1 / (2 * np.sqrt(sum(x ** -2 for x in h)))
        res = omtcore.scalar_omt(a, b, norm=case, unbalanced=lam, h=h, tol=1e-7, dtype="float64")
        exact = lam * np.abs(a - b).sum()
    elif case == "vector":
        a, b = unequal(rng, (5, 5, 3))
        lam = min(1 / (2 * np.sqrt(sum(x ** -2 for x in h))), 0.3 * 1.0 / 2)
        res = omtcore.vector_omt(a, b, alpha=0.3, unbalanced=lam, h=h, tol=1e-7, dtype="float64")
        exact = lam * np.abs(a - b).sum()
    else:
        A, B = psd(rng, (4, 4), 2), 2 * psd(rng, (4, 4), 2)
        L_op = np.abs(np.linalg.eigvalsh(omtcore.gell_mann(2))).max()
        spatial = min(h) / 2 if case == "nuclear" else 1 / (2 * np.sqrt(sum(x ** -2 for x in h)))
        lam = min(spatial, 0.8 / (2 * L_op))
        res = omtcore.matrix_omt(A, B, alpha=0.8, unbalanced=lam, h=h, matrix_norm=case, tol=1e-7, dtype="float64")
        D = A - B
        norms = np.abs(np.linalg.eigvalsh(D)).sum(-1) if case == "nuclear" else np.sqrt((np.abs(D) ** 2).sum((-2, -1)))
        exact = lam * norms.sum()
    assert_brackets(res, exact, 2e-7)


@pytest.mark.parametrize("kind", ["scalar", "vector", "matrix"])
def test_large_prices_give_the_balanced_distance(kind):
    rng = np.random.default_rng(5)
    grid = (6, 5)
    diameter = sum(n - 1 for n in grid)  # the largest L1 path, which bounds the isotropic one too
    if kind == "matrix":
        A, B = psd(rng, grid, 2), psd(rng, grid, 2)
        B *= np.trace(A, axis1=-2, axis2=-1).real.sum() / np.trace(B, axis1=-2, axis2=-1).real.sum()
        lam = diameter + 10.0  # well above any path plus in-cell change at alpha = 0.5
        balanced = omtcore.matrix_omt(A, B, alpha=0.5, tol=1e-7, dtype="float64")
        res = omtcore.matrix_omt(A, B, alpha=0.5, unbalanced=lam, tol=1e-7, dtype="float64")
    else:
        shape = grid if kind == "scalar" else grid + (3,)
        a, b = rng.random(shape), rng.random(shape)
        b *= a.sum() / b.sum()
        solve = omtcore.scalar_omt if kind == "scalar" else omtcore.vector_omt
        kw = {} if kind == "scalar" else dict(alpha=0.5)  # vector: all pairs, one component
        lam = diameter / 2 + (0.5 if kind == "vector" else 0)
        balanced = solve(a, b, tol=1e-7, dtype="float64", **kw)
        res = solve(a, b, unbalanced=lam, tol=1e-7, dtype="float64", **kw)
    # Both brackets contain the same optimum.
    assert res.lower_bound <= balanced.distance * (1 + 1e-9)
    assert balanced.lower_bound <= res.distance * (1 + 1e-9)
    assert res.distance == pytest.approx(balanced.distance, rel=3e-7)


def test_normalize_compares_shapes_and_warm_starts_work():
    rng = np.random.default_rng(6)
    a, b = unequal(rng, (8, 8))
    res = omtcore.scalar_omt(a, b, unbalanced=0.7, normalize=True, norm="anisotropic", tol=1e-6)
    assert_brackets(res, dummy_cell_emd(a / a.sum(), b / b.sum(), 0.7), 3e-6)
    again = omtcore.scalar_omt(a, b, unbalanced=0.7, normalize=True, norm="anisotropic", tol=1e-6, init=res)
    assert again.iterations == 0
    # A balanced solution is a valid start for an unbalanced problem (source 0).
    b2 = b * a.sum() / b.sum()
    balanced = omtcore.scalar_omt(a, b2, norm="anisotropic", tol=1e-6)
    warm = omtcore.scalar_omt(a, b2, norm="anisotropic", unbalanced=50.0, tol=1e-6, init=balanced)
    assert warm.converged
    assert_brackets(warm, dummy_cell_emd(a, b2, 50.0), 3e-6)


def test_gradient_is_the_potential_itself():
    # No balance to keep: any direction, and W's derivative is -phi (a), +phi (b).
    rng = np.random.default_rng(7)
    a, b = unequal(rng, (5, 6))
    a += 0.1
    b += 0.1
    res = omtcore.scalar_omt(a, b, norm="anisotropic", unbalanced=1.3, tol=1e-10, dtype="float64",
                             max_iter=400_000)
    grad_a, grad_b = input_gradients("scalar", res, a, b, unbalanced=1.3)
    np.testing.assert_array_equal(grad_b, res.potential)
    assert np.abs(res.potential).max() <= 1.3 * (1 + 1e-12)
    for _ in range(3):
        d = rng.standard_normal(a.shape)
        step = 1e-6
        fd_a = (dummy_cell_emd(a + step * d, b, 1.3) - dummy_cell_emd(a - step * d, b, 1.3)) / (2 * step)
        fd_b = (dummy_cell_emd(a, b + step * d, 1.3) - dummy_cell_emd(a, b - step * d, 1.3)) / (2 * step)
        assert np.sum(grad_a * d) == pytest.approx(fd_a, rel=1e-6, abs=1e-6)
        assert np.sum(grad_b * d) == pytest.approx(fd_b, rel=1e-6, abs=1e-6)


@pytest.mark.parametrize("lam", [0, -1.0, float("inf"), float("nan"), True, "1"])
def test_bad_prices_are_invalid_input_errors(lam):
    a, b = np.ones((4, 4)), 2 * np.ones((4, 4))
    with pytest.raises(omtcore.InvalidInputError, match="unbalanced"):
        omtcore.scalar_omt(a, b, unbalanced=lam)
    with pytest.raises(omtcore.InvalidInputError, match="unbalanced"):
        omtcore.vector_omt(a[..., None], b[..., None], unbalanced=lam)
    with pytest.raises(omtcore.InvalidInputError, match="unbalanced"):
        omtcore.matrix_omt(a[..., None, None], b[..., None, None], unbalanced=lam)


def test_balanced_solves_return_no_source_and_still_check_the_balance():
    a, b = np.ones((4, 4)), 2 * np.ones((4, 4))
    assert omtcore.scalar_omt(a, a).source is None
    with pytest.raises(omtcore.InvalidInputError, match="unequal total mass"):
        omtcore.scalar_omt(a, b)
    res = omtcore.scalar_omt(a, b, unbalanced=1.0)
    assert res.distance == pytest.approx(16.0)  # every cell needs one more unit: created in place
