"""Scalar OMT against exact references ("1. Scalar OMT").

Anisotropic: POT's exact EMD with the L1 / in-domain shortest-path cost.
Isotropic: closed forms (1D, translations, 2x2 diagonals) and a conic
program solved by CLARABEL.  Every solve goes through ``check_certificate``:
flux exactly feasible, distance = its cost, potential dual feasible and giving
lower_bound, and the exact value inside [lower_bound, distance].
"""

import zlib

import numpy as np
import pytest

import omtcore
from inputs import (CVX_RTOL, c_shape, exact_value, l_shape, make_pair, ring, two_parts, wall_3d,
                    with_units)
from references import check_certificate, cvxpy_isotropic, emd_l1, rebalance

MAX_ITER = 100_000  # generous; stopping there is a ConvergenceWarning -> error
TOL = 1e-5
REL = 1e-3  # distance vs the exact value


def solve(a, b, backend, *, norm, h=1.0, mask=None, tol=TOL, dtype="float64",
          max_iter=MAX_ITER, **kw):
    res = omtcore.scalar_omt(a, b, h=h, norm=norm, mask=mask, tol=tol,
                             max_iter=max_iter, backend=backend, dtype=dtype, **kw)
    assert res.converged, (res.gap, res.residual, res.iterations)
    assert res.gap <= tol and res.residual <= tol, (res.gap, res.residual)
    return res


def assert_exact(res, a, b, h, norm, exact, mask=None, exact_rtol=1e-9, tol=TOL):
    check_certificate(res, a, b, h, norm, mask=mask, exact=exact,
                      exact_rtol=exact_rtol, tol=tol)
    assert res.distance == pytest.approx(exact, rel=REL), (res.distance, exact)


# ---------------------------------------------------------------- anisotropic = exact EMD

GRIDS = {
    "1d": ((24,), 0.7),
    "2d_square": ((12, 12), 1.0),
    "2d_rect": ((9, 14), 1.0),
    "2d_h_per_axis": ((10, 12), (0.5, 2.0)),
    "2d_16": ((16, 16), 0.25),
    "3d": ((6, 5, 4), (1.0, 0.7, 1.3)),
}


@pytest.mark.parametrize("kind", ["random", "sparse", "structured"])
@pytest.mark.parametrize("grid", list(GRIDS))
def test_anisotropic_equals_emd(backend, grid, kind):
    shape, h = GRIDS[grid]
    a, b = make_pair(kind, shape, seed=zlib.crc32(f"{grid}/{kind}".encode()))
    exact = emd_l1(a, b, h)
    res = solve(a, b, backend, norm="anisotropic", h=h)
    assert_exact(res, a, b, h, "anisotropic", exact)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_anisotropic_3d_random_seeds(backend, seed):
    rng = np.random.default_rng(seed)
    a = rng.random((6, 5, 4))
    b = rng.random((6, 5, 4))
    b *= a.sum() / b.sum()
    h = (1.0, 0.7, 1.3)
    exact = emd_l1(a, b, h)
    res = solve(a, b, backend, norm="anisotropic", h=h)
    assert_exact(res, a, b, h, "anisotropic", exact)


MASKS = {  # name: (mask, h, whether the structured case must leave L1 paths)
    "l_shape": (l_shape, 1.0, False),  # orthogonally convex: geodesic = L1
    "c_shape": (c_shape, 1.0, True),
    "c_shape_h": (c_shape, (0.5, 2.0), True),
    "ring": (ring, 1.0, True),
    "wall_3d": (wall_3d, (1.0, 0.8, 1.5), True),
}


@pytest.mark.parametrize("kind", ["random", "structured"])
@pytest.mark.parametrize("name", list(MASKS))
def test_anisotropic_mask_geodesic(backend, name, kind):
    make_mask, h, detour = MASKS[name]
    mask = make_mask()
    a, b = make_pair(kind, mask.shape, seed=7, mask=mask)
    exact = emd_l1(a, b, h, mask=mask)
    if kind == "structured" and detour:
        # the domain must matter, else this test cannot tell geodesic from L1
        assert exact > 1.03 * emd_l1(a, b, h)
    res = solve(a, b, backend, norm="anisotropic", h=h, mask=mask)
    assert_exact(res, a, b, h, "anisotropic", exact, mask=mask)


def test_anisotropic_around_the_ring(backend):
    # mass at the left of the ring goes to the right: around, not across
    mask = ring()
    a = np.zeros(mask.shape)
    b = np.zeros(mask.shape)
    a[5, 0] = a[6, 0] = 1.0
    b[5, 11] = b[6, 11] = 1.0
    assert mask[a > 0].all() and mask[b > 0].all()
    exact = emd_l1(a, b, 1.0, mask=mask)
    assert exact > 1.2 * emd_l1(a, b, 1.0)
    res = solve(a, b, backend, norm="anisotropic", mask=mask)
    assert_exact(res, a, b, 1.0, "anisotropic", exact, mask=mask)


@pytest.mark.parametrize("norm", ["anisotropic", "isotropic"])
@pytest.mark.parametrize("kind", ["random", "structured"])
def test_two_part_mask(backend, norm, kind):
    mask = two_parts()
    a, b = make_pair(kind, mask.shape, seed=11, mask=mask)
    a, b = with_units(a, b, mask, parts_total=3.0)
    h = (0.8, 1.2)
    exact = (emd_l1(a, b, h, mask=mask) if norm == "anisotropic"
             else cvxpy_isotropic(a, b, h, mask=mask))
    res = solve(a, b, backend, norm=norm, h=h, mask=mask)
    assert_exact(res, a, b, h, norm, exact, mask=mask,
                 exact_rtol=1e-9 if norm == "anisotropic" else CVX_RTOL)


# ---------------------------------------------------------------- isotropic, closed forms


@pytest.mark.parametrize("norm", ["isotropic", "anisotropic"])
@pytest.mark.parametrize("h", [1.0, 0.3, 2.5])
def test_1d_closed_form(backend, norm, h):
    rng = np.random.default_rng(3)
    a = rng.random(40)
    b = rng.random(40) * (rng.random(40) < 0.5)
    b *= a.sum() / b.sum()
    exact = h * np.abs(np.cumsum(a - b)).sum()
    res = solve(a, b, backend, norm=norm, h=h)
    assert_exact(res, a, b, h, norm, exact, exact_rtol=1e-12)


def translated_shape(shape, axis, shift, seed):
    rng = np.random.default_rng(seed)
    a = np.zeros(shape)
    box = tuple(slice(1, 4) for _ in shape)
    a[box] = rng.random(a[box].shape) + 0.1
    b = np.roll(a, shift, axis=axis)
    return a, b


@pytest.mark.parametrize("norm", ["isotropic", "anisotropic"])
@pytest.mark.parametrize("shape,h,axis,shift", [
    ((14, 12), (0.7, 1.3), 0, 5),
    ((14, 12), (0.7, 1.3), 1, 7),
    ((6, 5, 9), (1.0, 1.0, 0.6), 2, 3),
])
def test_translation(backend, norm, shape, h, axis, shift):
    # A shape moved by D cells along axis s costs h_s * D * mass, both norms:
    # the potential h_s * i_s certifies it.
    a, b = translated_shape(shape, axis, shift, seed=axis + shift)
    exact = h[axis] * shift * a.sum()
    assert exact == pytest.approx(emd_l1(a, b, h), rel=1e-12)
    res = solve(a, b, backend, norm=norm, h=h)
    assert_exact(res, a, b, h, norm, exact, exact_rtol=1e-12)


@pytest.mark.parametrize("src,dst,exact", [
    ((0, 0), (1, 1), 1 + 1 / np.sqrt(2)),
    ((1, 1), (0, 0), 1 + 1 / np.sqrt(2)),
    ((1, 0), (0, 1), np.sqrt(2)),
    ((0, 1), (1, 0), np.sqrt(2)),
])
def test_isotropic_diagonal_not_reflection_symmetric(backend, src, dst, exact):
    # The isotropic norm: forward faces are grouped per cell
    a = np.zeros((2, 2))
    b = np.zeros((2, 2))
    a[src] = 1.0
    b[dst] = 1.0
    res = solve(a, b, backend, norm="isotropic")
    assert_exact(res, a, b, 1.0, "isotropic", exact, exact_rtol=1e-12)


# ---------------------------------------------------------------- isotropic, conic reference


def cvx_case(name):
    if name == "random":
        a, b = make_pair("random", (8, 8), seed=21)
        return a, b, 1.0, None
    if name == "structured":
        a, b = make_pair("structured", (8, 8), seed=22)
        return a, b, 1.0, None
    if name == "h_per_axis":
        a, b = make_pair("random", (8, 8), seed=23)
        return a, b, (0.5, 2.0), None
    if name == "rect_h":
        a, b = make_pair("sparse", (7, 9), seed=24)
        return a, b, (1.5, 0.4), None
    if name == "mask":
        mask = l_shape(8, 3)
        a, b = make_pair("structured", (8, 8), seed=25, mask=mask)
        return a, b, 1.0, mask
    if name == "ring_h":
        mask = ring(8, 1.6, 3.8)
        a, b = make_pair("random", (8, 8), seed=26, mask=mask)
        return a, b, (1.0, 0.6), mask
    if name == "3d":
        a, b = make_pair("random", (4, 4, 3), seed=27)
        return a, b, (1.0, 0.5, 2.0), None
    raise ValueError(name)


@pytest.mark.parametrize("name", ["random", "structured", "h_per_axis", "rect_h",
                                  "mask", "ring_h", "3d"])
def test_isotropic_equals_conic_program(backend, name):
    a, b, h, mask = cvx_case(name)
    exact = cvxpy_isotropic(a, b, h, mask=mask)
    res = solve(a, b, backend, norm="isotropic", h=h, mask=mask)
    assert_exact(res, a, b, h, "isotropic", exact, mask=mask, exact_rtol=CVX_RTOL)


def test_isotropic_swap_symmetric(backend):
    # swapping a and b gives the same value: the brackets must intersect
    a, b = make_pair("structured", (10, 9), seed=31)
    r1 = solve(a, b, backend, norm="isotropic")
    r2 = solve(b, a, backend, norm="isotropic")
    check_certificate(r1, a, b, 1.0, "isotropic", tol=TOL)
    check_certificate(r2, b, a, 1.0, "isotropic", tol=TOL)
    assert r1.lower_bound <= r2.distance * (1 + 1e-12)
    assert r2.lower_bound <= r1.distance * (1 + 1e-12)


# ---------------------------------------------------------------- dtype, method


@pytest.mark.parametrize("norm", ["anisotropic", "isotropic"])
def test_dtype_vs_exact(backend, dtype, norm):
    a, b = make_pair("random", (10, 10), seed=41)
    h = (1.0, 0.5)
    exact, ertol = exact_value(a, b, h, norm)
    res = solve(a, b, backend, norm=norm, h=h, dtype=dtype, tol=1e-4)
    assert res.dtype == dtype
    assert_exact(res, a, b, h, norm, exact, exact_rtol=ertol, tol=1e-4)


@pytest.mark.parametrize("norm", ["anisotropic", "isotropic"])
def test_float32_matches_float64(backend, norm):
    mask = l_shape(10, 4)
    a, b = make_pair("structured", (10, 10), seed=42, mask=mask)
    r32 = solve(a, b, backend, norm=norm, mask=mask, dtype="float32", tol=1e-4)
    r64 = solve(a, b, backend, norm=norm, mask=mask, dtype="float64", tol=1e-4)
    for r in (r32, r64):
        check_certificate(r, a, b, 1.0, norm, mask=mask, tol=1e-4)
    assert (r32.dtype, r64.dtype) == ("float32", "float64")
    assert r32.distance == pytest.approx(r64.distance, rel=REL)
    # both bracket the same optimum
    assert r32.lower_bound <= r64.distance * (1 + 1e-12)
    assert r64.lower_bound <= r32.distance * (1 + 1e-12)


@pytest.mark.parametrize("norm", ["anisotropic", "isotropic"])
def test_plain_pdhg_matches_auto(backend, norm):
    a, b = make_pair("random", (6, 6), seed=51)
    h = (1.0, 1.5)
    exact, ertol = exact_value(a, b, h, norm)
    r_auto = solve(a, b, backend, norm=norm, h=h, method="auto", tol=1e-4)
    r_pdhg = solve(a, b, backend, norm=norm, h=h, method="pdhg", tol=1e-4,
                   max_iter=500_000)
    for r in (r_auto, r_pdhg):
        assert_exact(r, a, b, h, norm, exact, exact_rtol=ertol, tol=1e-4)
    assert r_pdhg.distance == pytest.approx(r_auto.distance, rel=REL)


# ---------------------------------------------------------------- trivial, normalize, units


@pytest.mark.parametrize("norm", ["anisotropic", "isotropic"])
@pytest.mark.parametrize("masked", [False, True])
def test_equal_inputs_cost_nothing(backend, dtype, norm, masked):
    mask = ring() if masked else None
    a, _ = make_pair("random", (12, 12), seed=61, mask=mask)
    res = solve(a, a.copy(), backend, norm=norm, mask=mask, dtype=dtype, tol=1e-4)
    check_certificate(res, a, a, 1.0, norm, mask=mask, exact=0.0)
    assert res.distance == 0.0
    assert res.gap == 0.0
    assert res.lower_bound == 0.0


@pytest.mark.parametrize("norm", ["anisotropic", "isotropic"])
def test_normalize(backend, norm):
    rng = np.random.default_rng(71)
    a = rng.random((8, 9)) * 3.0
    b = rng.random((8, 9)) * 7.0  # totals differ by far more than 1e-6
    an, bn = a / a.sum(), b / b.sum()
    exact, ertol = exact_value(an, bn, 1.0, norm)
    res = solve(a, b, backend, norm=norm, normalize=True)
    bn = rebalance(an, bn)
    assert_exact(res, an, bn, 1.0, norm, exact, exact_rtol=ertol)
    direct = solve(an, bn, backend, norm=norm)
    assert res.distance == pytest.approx(direct.distance, rel=REL)
    assert res.lower_bound <= direct.distance * (1 + 1e-12)
    assert direct.lower_bound <= res.distance * (1 + 1e-12)


@pytest.mark.parametrize("norm", ["anisotropic", "isotropic"])
@pytest.mark.parametrize("unit", [1e-6, 1e6])
def test_mass_units(backend, norm, unit):
    mask = l_shape(8, 3)
    a, b = make_pair("structured", (8, 8), seed=81, mask=mask)
    a, b = a / a.sum(), b / b.sum()
    exact1, ertol = exact_value(a, b, 0.5, norm, mask=mask)
    a, b = a * unit, rebalance(a * unit, b * unit, mask)
    res = solve(a, b, backend, norm=norm, h=0.5, mask=mask)
    assert_exact(res, a, b, 0.5, norm, exact1 * unit, mask=mask, exact_rtol=ertol)
