"""Property-based tests: random problems of every kind, checked against exact
references.

Hypothesis draws the kind, the grid (1 to 3 axes; sides that are odd, prime,
thin or 1), a mask or none, per-axis spacings, the unit of mass (a factor
from about 1e-270 to 1e+270) and sparse or dense masses, for each dtype. Each
draw is a valid problem (b rebalanced per connected part of the mask), so each must
return a converged, certified answer whose bracket [lower_bound, distance]
contains the exact value: POT's network simplex for anisotropic scalar and
vector problems, cvxpy (Clarabel) for isotropic and matrix ones, computed on
the unscaled masses and multiplied by the unit (W1 is homogeneous). A crash,
a hang (the deadline), a ConvergenceWarning (an error in this suite) or a
bracket that misses the reference fails the test. The examples are
derandomized and bounded so that CI runs the same few dozen every time.
"""

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

import omtcore  # noqa: E402
from conftest import DTYPES  # noqa: E402
from references import cvxpy_isotropic, emd_l1, mask_parts, rebalance  # noqa: E402
from references_vm import (matrix_cvxpy, rebalance_matrix, rebalance_vector,  # noqa: E402
                           vector_cvxpy, vector_emd)

SIDES = [1, 2, 3, 4, 5, 7, 8, 11, 13]
TOL = {"float64": 1e-6, "float32": 1e-4}
EXACT_RTOL = {"pot": 1e-9, "cvxpy": 1e-6}  # how well each reference knows the optimum
SETTINGS = dict(deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@st.composite
def grids(draw, max_cells):
    d = draw(st.integers(1, 3))
    if d == 1:
        shape = (draw(st.sampled_from([2, 3, 5, 17, 31, 37, 41])),)  # primes past the direct radices too
    else:
        shape = tuple(draw(st.sampled_from(SIDES)) for _ in range(d))
        while np.prod(shape) > max_cells or np.prod(shape) < 2:
            shape = tuple(draw(st.sampled_from(SIDES[:6])) for _ in range(d))
    h = tuple(draw(st.sampled_from([0.5, 1.0, 1.7, 3.0])) for _ in range(d))
    mask = None
    if draw(st.booleans()) and np.prod(shape) >= 4:
        seed = draw(st.integers(0, 2**31 - 1))
        mask = np.random.default_rng(seed).random(shape) < 0.75
        if not mask.any():
            mask.flat[0] = True
    return shape, h, mask


@st.composite
def problems(draw, kind):
    max_cells = {"scalar": 48, "vector": 30, "matrix": 20}[kind]
    shape, h, mask = draw(grids(max_cells))
    k = {"scalar": None, "vector": draw(st.integers(1, 3)), "matrix": 2}[kind]
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    sparse = draw(st.booleans())
    cell_shape = shape + ((k,) if kind == "vector" else ())

    def masses():
        if kind == "matrix":
            X = rng.normal(size=shape + (k, k)) + 1j * rng.normal(size=shape + (k, k))
            A = X @ np.conj(np.swapaxes(X, -1, -2)) / k
            if sparse:
                A[rng.random(shape) < 0.5] = 0
            return A
        a = rng.random(cell_shape)
        if sparse:
            a *= rng.random(cell_shape) < 0.3
        return a

    a, b = masses(), masses()
    m = np.ones(shape, bool) if mask is None else mask
    a[~m] = 0
    b[~m] = 0
    # Every connected part of the domain carries mass in a and in b.
    for cells in mask_parts(shape, mask):
        first = np.unravel_index(cells[0], shape)
        for x in (a, b):
            per_cell = np.trace(x, axis1=-2, axis2=-1).real if kind == "matrix" else x
            if per_cell.reshape(int(np.prod(shape)), -1)[cells].sum() == 0:
                x[first] = np.eye(k) if kind == "matrix" else 1.0
    if kind == "scalar":
        b = rebalance(a, b, mask)
    elif kind == "vector":
        b = rebalance_vector(a, b, None, mask)
    else:
        b = rebalance_matrix(a, b, mask)
    scale = float(2.0 ** draw(st.integers(-900, 900)) * draw(st.floats(1.0, 2.0)))
    return dict(a=a, b=b, h=h, mask=mask, scale=scale)


def check(res, exact, scale, tol, exact_rtol):
    assert res.converged, (res.gap, res.residual, res.iterations)
    assert np.isfinite(res.distance) and np.isfinite(res.lower_bound)
    value = exact * scale
    slack = exact_rtol * value + 1e-300
    assert res.lower_bound <= value + slack, (res.lower_bound, value)
    assert value <= res.distance + slack, (value, res.distance)
    assert abs(res.distance - value) <= 2 * tol * value + slack, (res.distance, value)
    if exact == 0:
        assert res.distance == 0 and res.gap == 0


@pytest.mark.parametrize("dtype", DTYPES)
@settings(max_examples=25, **SETTINGS)
@given(p=problems("scalar"), norm=st.sampled_from(["anisotropic", "isotropic"]))
def test_scalar_problems_match_exact_references(dtype, p, norm):
    a, b, h, mask, scale = p["a"], p["b"], p["h"], p["mask"], p["scale"]
    res = omtcore.scalar_omt(a * scale, b * scale, h=h, mask=mask, norm=norm, tol=TOL[dtype],
                             dtype=dtype, backend="cpu")
    if norm == "anisotropic":
        check(res, emd_l1(a, b, h, mask), scale, TOL[dtype], EXACT_RTOL["pot"])
    else:
        check(res, cvxpy_isotropic(a, b, h, mask), scale, TOL[dtype], EXACT_RTOL["cvxpy"])


@pytest.mark.parametrize("dtype", DTYPES)
@settings(max_examples=15, **SETTINGS)
@given(p=problems("vector"), norm=st.sampled_from(["anisotropic", "isotropic"]),
       alpha=st.sampled_from([0.3, 1.0, 2.5]))
def test_vector_problems_match_exact_references(dtype, p, norm, alpha):
    a, b, h, mask, scale = p["a"], p["b"], p["h"], p["mask"], p["scale"]
    res = omtcore.vector_omt(a * scale, b * scale, alpha=alpha, h=h, mask=mask, norm=norm,
                             tol=TOL[dtype], dtype=dtype, backend="cpu")
    if norm == "anisotropic":
        exact, rtol = vector_emd(a, b, alpha=alpha, h=h, mask=mask), EXACT_RTOL["pot"]
    else:
        exact, rtol = vector_cvxpy(a, b, alpha=alpha, h=h, mask=mask, norm="isotropic"), EXACT_RTOL["cvxpy"]
    check(res, exact, scale, TOL[dtype], rtol)


@pytest.mark.parametrize("dtype", DTYPES)
@settings(max_examples=10, **SETTINGS)
@given(p=problems("matrix"), matrix_norm=st.sampled_from(["frobenius", "nuclear"]),
       alpha=st.sampled_from([0.5, 2.0]))
def test_matrix_problems_match_exact_references(dtype, p, matrix_norm, alpha):
    A, B, h, mask, scale = p["a"], p["b"], p["h"], p["mask"], p["scale"]
    res = omtcore.matrix_omt(A * scale, B * scale, alpha=alpha, h=h, mask=mask, matrix_norm=matrix_norm,
                             tol=TOL[dtype], dtype=dtype, backend="cpu")
    exact = matrix_cvxpy(A, B, alpha=alpha, h=h, mask=mask, matrix_norm=matrix_norm)
    check(res, exact, scale, TOL[dtype], EXACT_RTOL["cvxpy"])


CORRUPTIONS = ["negative", "nan", "inf", "unbalanced", "shape", "outside_mask", "spacing", "tol"]


@settings(max_examples=40, **SETTINGS)
@given(p=problems("scalar"), corruption=st.sampled_from(CORRUPTIONS), seed=st.integers(0, 2**31 - 1))
def test_invalid_scalar_input_is_an_invalid_input_error(p, corruption, seed):
    # One defect in an otherwise valid problem: a clear error, never a crash or a number.
    a, b, h, mask = p["a"].copy(), p["b"].copy(), p["h"], p["mask"]
    rng = np.random.default_rng(seed)
    inside = np.flatnonzero(np.ones(a.shape, bool) if mask is None else mask)
    at = np.unravel_index(rng.choice(inside), a.shape)
    tol = 1e-4
    if corruption == "negative":
        a[at] = -1.0
    elif corruption == "nan":
        b[at] = np.nan
    elif corruption == "inf":
        a[at] = np.inf
    elif corruption == "unbalanced":
        b *= 1.5
    elif corruption == "shape":
        b = b[..., :-1] if b.shape[-1] > 1 else np.concatenate([b, b], axis=-1)
    elif corruption == "outside_mask":
        if mask is None or mask.all():
            mask = np.ones(a.shape, bool)
            mask.flat[inside[-1]] = False  # grids have 2 cells or more: one stays inside
        a[np.unravel_index(np.flatnonzero(~mask)[0], a.shape)] += 1.0
    elif corruption == "spacing":
        h = (0.0,) + tuple(h[1:])
    else:
        tol = -1.0
    with pytest.raises(omtcore.InvalidInputError):
        omtcore.scalar_omt(a, b, h=h, mask=mask, tol=tol, backend="cpu")
