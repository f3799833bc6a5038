"""init=: a solve started from an earlier Result, certified as always."""

from dataclasses import replace

import numpy as np
import pytest

import omtcore

from references import emd_l1
from references_vm import vector_emd


def balanced(rng, shape):
    a = rng.random(shape) + 0.05
    b = rng.random(shape) + 0.05
    return a, b * (a.sum() / b.sum())


def psd_pair(rng, grid, k):
    X = rng.standard_normal((2,) + grid + (k, k)) + 1j * rng.standard_normal((2,) + grid + (k, k))
    A, B = X @ np.swapaxes(X.conj(), -1, -2) + 0.1 * np.eye(k)
    return A, B * (np.trace(A, axis1=-2, axis2=-1).real.sum() / np.trace(B, axis1=-2, axis2=-1).real.sum())


def test_a_start_that_meets_tol_is_certified_and_returned(backend):
    rng = np.random.default_rng(0)
    a, b = balanced(rng, (24, 20))
    first = omtcore.scalar_omt(a, b, norm="anisotropic", tol=1e-5, backend=backend)
    again = omtcore.scalar_omt(a, b, norm="anisotropic", tol=1e-5, backend=backend, init=first)
    assert again.iterations == 0 and again.converged and again.levels == 1
    exact = emd_l1(a, b)
    assert again.lower_bound <= exact * (1 + 1e-9) and exact <= again.distance * (1 + 1e-9)
    assert again.distance == pytest.approx(first.distance, rel=1e-5)


@pytest.mark.parametrize("kind", ["scalar", "vector", "matrix"])
def test_a_nearby_problem_started_from_a_solution_is_certified(kind, backend):
    rng = np.random.default_rng(1)
    if kind == "matrix":
        A, B = psd_pair(rng, (10, 12), 2)
        first = omtcore.matrix_omt(A, B, tol=1e-5, backend=backend)
        A2 = A + 0.01 * np.eye(2) * rng.random((10, 12, 1, 1))
        B2 = B * (np.trace(A2, axis1=-2, axis2=-1).real.sum() / np.trace(B, axis1=-2, axis2=-1).real.sum())
        cold = omtcore.matrix_omt(A2, B2, tol=1e-6, dtype="float64", backend=backend)
        warm = omtcore.matrix_omt(A2, B2, tol=1e-6, dtype="float64", backend=backend, init=first)
        for r in (cold, warm):  # the two brackets overlap: both contain the optimum
            assert warm.lower_bound <= r.distance * (1 + 1e-9) and r.lower_bound <= warm.distance * (1 + 1e-9)
        return
    shape = (16, 14) if kind == "scalar" else (8, 9, 3)
    a, b = balanced(rng, shape)
    solve = omtcore.scalar_omt if kind == "scalar" else omtcore.vector_omt
    first = solve(a, b, norm="anisotropic", tol=1e-5, backend=backend)
    a2 = a * (1 + 0.01 * rng.random(shape))
    a2 *= a.sum() / a2.sum()
    warm = solve(a2, b, norm="anisotropic", tol=1e-6, dtype="float64", backend=backend, init=first)
    assert warm.converged and warm.iterations > 0
    exact = emd_l1(a2, b) if kind == "scalar" else vector_emd(a2, b)
    assert warm.lower_bound <= exact * (1 + 1e-9) and exact <= warm.distance * (1 + 1e-9)
    assert warm.distance == pytest.approx(exact, rel=2e-6)


def test_values_outside_the_domain_are_ignored():
    rng = np.random.default_rng(2)
    mask = np.ones((12, 12), bool)
    mask[3:9, 5:7] = False
    a, b = balanced(rng, (12, 12))
    a[~mask] = b[~mask] = 0
    b *= a.sum() / b.sum()
    first = omtcore.scalar_omt(a, b, mask=mask, norm="anisotropic", tol=1e-5)
    flux = first.flux.copy()
    flux[:, ~mask] = 1e6  # faces leaving a cell outside the domain
    flux[0, -1, :] = flux[1, :, -1] = 1e6  # faces leaving the grid
    start = replace(first, flux=flux, potential=np.where(mask, first.potential, 1e6))
    warm = omtcore.scalar_omt(a, b, mask=mask, norm="anisotropic", tol=1e-5, init=start)
    exact = emd_l1(a, b, mask=mask)
    assert warm.iterations == 0
    assert warm.lower_bound <= exact * (1 + 1e-9) and exact <= warm.distance * (1 + 1e-9)


def test_a_start_of_another_shape_or_kind_is_an_invalid_input_error():
    rng = np.random.default_rng(3)
    a, b = balanced(rng, (8, 8))
    other = omtcore.scalar_omt(*balanced(rng, (8, 9)))
    with pytest.raises(omtcore.InvalidInputError, match=r"warm start \(init.*its flux has 144 values.*has 128"):
        omtcore.scalar_omt(a, b, init=other)
    with pytest.raises(omtcore.InvalidInputError, match="init must be the Result"):
        omtcore.scalar_omt(a, b, init={"flux": other.flux})
    scalar = omtcore.scalar_omt(a, b)
    with pytest.raises(omtcore.InvalidInputError, match="vector problem"):
        omtcore.vector_omt(np.stack([a, a], -1), np.stack([b, b], -1), init=scalar)
