"""The references check each other, and check_certificate rejects bad results.

These tests do not call omtcore's solver: they make sure the oracles used by
the other test files are right and strict.
"""

import dataclasses

import numpy as np
import pytest

from references import (
    FakeResult,
    beckmann_cvxpy,
    check_certificate,
    cvxpy_isotropic,
    emd_l1,
    rebalance,
)


def rand_pair(shape, seed, mask=None):
    rng = np.random.default_rng(seed)
    a = rng.random(shape)
    b = rng.random(shape) * (rng.random(shape) < 0.6)
    if mask is not None:
        a, b = a * mask, b * mask
    return a, rebalance(a, b, mask)


def test_emd_1d_closed_form():
    a, b = rand_pair((30,), 0)
    assert emd_l1(a, b, 0.7) == pytest.approx(0.7 * np.abs(np.cumsum(a - b)).sum(),
                                              rel=1e-12)


@pytest.mark.parametrize("case", ["plain", "h", "mask", "two_parts", "3d"])
def test_anisotropic_conic_equals_emd(case):
    mask = None
    h = 1.0
    shape = (7, 8)
    if case == "h":
        h = (0.5, 2.0)
    elif case == "mask":
        mask = np.ones(shape, dtype=bool)
        mask[1:6, 3:5] = False
        h = (1.0, 0.3)
    elif case == "two_parts":
        mask = np.ones(shape, dtype=bool)
        mask[:, 4] = False
    elif case == "3d":
        shape = (4, 3, 5)
        h = (1.0, 0.5, 2.0)
    a, b = rand_pair(shape, 1, mask)
    exact = emd_l1(a, b, h, mask=mask)
    assert beckmann_cvxpy(a, b, h, mask, norm="anisotropic") == pytest.approx(
        exact, rel=1e-7)
    if mask is not None and case == "mask":
        assert exact > 1.01 * emd_l1(a, b, h)  # the mask matters


def test_isotropic_diagonals():
    a = np.zeros((2, 2))
    b = np.zeros((2, 2))
    a[0, 0] = b[1, 1] = 1.0
    assert cvxpy_isotropic(a, b) == pytest.approx(1 + 1 / np.sqrt(2), rel=1e-8)
    a = np.zeros((2, 2))
    b = np.zeros((2, 2))
    a[1, 0] = b[0, 1] = 1.0
    assert cvxpy_isotropic(a, b) == pytest.approx(np.sqrt(2), rel=1e-8)


def test_isotropic_translation():
    a = np.zeros((8, 7))
    a[1:3, 1:4] = np.arange(1, 7).reshape(2, 3)
    b = np.roll(a, 4, axis=0)
    assert cvxpy_isotropic(a, b, (0.6, 1.7)) == pytest.approx(0.6 * 4 * a.sum(),
                                                              rel=1e-8)


def optimal_1d(a, b, h):
    """Exact primal and dual of a 1D problem, as a Result would carry them."""
    F = np.zeros((1, a.size))
    F[0, :-1] = np.cumsum(a - b)[:-1]
    phi = np.concatenate([[0.0], np.cumsum(h * np.sign(F[0, :-1]))])
    dist = float(h * np.abs(F).sum())
    lb = float(np.sum(phi * (b - a)))
    return FakeResult(dist, lb, (dist - lb) / dist, 0.0, F, None, phi, True)


def test_certificate_accepts_exact_1d():
    a, b = rand_pair((12,), 2)
    res = optimal_1d(a, b, 0.5)
    exact = 0.5 * np.abs(np.cumsum(a - b)).sum()
    assert res.lower_bound == pytest.approx(exact, rel=1e-12)
    for norm in ("isotropic", "anisotropic"):
        check_certificate(res, a, b, 0.5, norm, exact=exact, tol=1e-4)


@pytest.mark.parametrize("defect", [
    "flux_infeasible", "flux_on_last_face", "distance_too_low", "potential_too_steep",
    "lower_bound_wrong", "gap_wrong", "exact_outside", "float32_flux",
    "converged_but_gap_large",
])
def test_certificate_rejects(defect):
    a, b = rand_pair((12,), 3)
    h = 0.5
    res = optimal_1d(a, b, h)
    exact = h * np.abs(np.cumsum(a - b)).sum()
    kw = {}
    tol = None
    if defect == "flux_infeasible":
        F = res.flux.copy()
        F[0, 4] += 1e-7 * a.sum()
        res = dataclasses.replace(res, flux=F)
    elif defect == "flux_on_last_face":
        F = res.flux.copy()
        F[0, -1] = 1e-3
        res = dataclasses.replace(res, flux=F)
    elif defect == "distance_too_low":
        res = dataclasses.replace(res, distance=res.distance * (1 - 1e-6))
    elif defect == "potential_too_steep":
        phi = res.potential * (1 + 1e-6)
        lb = float(np.sum(phi * (b - a)))
        res = dataclasses.replace(res, potential=phi, lower_bound=lb,
                                  gap=(res.distance - lb) / res.distance)
    elif defect == "lower_bound_wrong":
        res = dataclasses.replace(res, lower_bound=res.lower_bound * (1 - 1e-6))
    elif defect == "gap_wrong":
        res = dataclasses.replace(res, gap=1e-3)
    elif defect == "exact_outside":
        kw["exact"] = exact * (1 + 1e-6)
    elif defect == "float32_flux":
        res = dataclasses.replace(res, flux=res.flux.astype(np.float32))
    elif defect == "converged_but_gap_large":
        phi = res.potential * 0.99  # still feasible, bound 1% low
        lb = float(np.sum(phi * (b - a)))
        res = dataclasses.replace(res, potential=phi, lower_bound=lb,
                                  gap=(res.distance - lb) / res.distance)
        check_certificate(res, a, b, h, "anisotropic")  # valid but for tol
        tol = 1e-4
    with pytest.raises(AssertionError):
        check_certificate(res, a, b, h, "anisotropic", tol=tol, **kw)
