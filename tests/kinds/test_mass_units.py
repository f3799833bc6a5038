"""W1 is homogeneous in the masses, W(s a, s b) = s W(a, b): every kind
solves masses of any unit, from 1e-300 to 1e+200, to the same certified
answer scaled by s (the solve works in a power-of-two unit near the largest
mass and scales the answer back).

* s a power of two: the scaling is exact, so the solve is the same bit for
  bit: iterations, distance / s, lower_bound / s, flux / s and the potential
  equal the unscaled solve's exactly.
* s = 1e-300, 1e-200, 1e+200: the inputs round, so the answer agrees with
  s times the unscaled one to the solve's tolerance, and for the anisotropic
  scalar problem its bracket contains s times POT's exact value.
"""

import numpy as np
import pytest

import omtcore
from conftest import use_backend
from references import emd_l1

TOL = 1e-5
MAX_ITER = 100_000


def scalar_pair():
    rng = np.random.default_rng(11)
    a, b = rng.random((12, 10)), rng.random((12, 10))
    return a, b * (a.sum() / b.sum())


def vector_pair():
    rng = np.random.default_rng(12)
    a, b = rng.random((10, 9, 3)), rng.random((10, 9, 3))
    return a, b * (a.sum() / b.sum())


def matrix_pair():
    rng = np.random.default_rng(13)

    def psd():
        X = rng.normal(size=(8, 8, 2, 2)) + 1j * rng.normal(size=(8, 8, 2, 2))
        return X @ np.conj(np.swapaxes(X, -1, -2))

    A, B = psd(), psd()
    tr = lambda M: np.trace(M, axis1=-2, axis2=-1).sum().real  # noqa: E731
    return A, B * (tr(A) / tr(B))


CASES = {
    "scalar-iso": (omtcore.scalar_omt, scalar_pair, dict(norm="isotropic")),
    "scalar-aniso": (omtcore.scalar_omt, scalar_pair, dict(norm="anisotropic")),
    "vector": (omtcore.vector_omt, vector_pair, dict(alpha=0.5)),
    "matrix": (omtcore.matrix_omt, matrix_pair, dict(alpha=0.5)),
}


def solve(case, scale, backend):
    fn, pair, kw = CASES[case]
    a, b = pair()
    return fn(a * scale, b * scale, **kw, tol=TOL, max_iter=MAX_ITER, backend=backend,
              dtype="float64")


@pytest.fixture(params=["cpu", "opencl"])
def backend(request):
    return use_backend(request.param)


@pytest.mark.parametrize("exponent", [-996, -700, 600])
@pytest.mark.parametrize("case", CASES)
def test_power_of_two_unit_is_exact(case, exponent, backend):
    scale = 2.0 ** exponent
    base, scaled = solve(case, 1.0, backend), solve(case, scale, backend)
    assert base.converged and scaled.converged
    assert scaled.iterations == base.iterations
    assert scaled.distance == base.distance * scale
    assert scaled.lower_bound == base.lower_bound * scale
    assert np.array_equal(scaled.flux, base.flux * scale)
    assert np.array_equal(scaled.potential, base.potential)


@pytest.mark.parametrize("scale", [1e-300, 1e-200, 1e200])
@pytest.mark.parametrize("case", CASES)
def test_any_unit_gives_the_scaled_answer(case, scale, backend):
    base, scaled = solve(case, 1.0, backend), solve(case, scale, backend)
    assert scaled.converged, (scaled.gap, scaled.residual, scaled.iterations)
    assert np.isfinite(scaled.distance) and scaled.distance > 0
    assert scaled.lower_bound <= scaled.distance
    assert abs(scaled.distance / scale - base.distance) <= 2 * TOL * base.distance
    if case == "scalar-aniso":
        a, b = scalar_pair()
        exact = emd_l1(a, b)
        slack = 1e-9 * exact
        assert scaled.lower_bound / scale <= exact + slack
        assert exact <= scaled.distance / scale + slack


@pytest.mark.parametrize("case", CASES)
def test_normalize_ignores_each_input_own_unit(case, backend):
    # normalize=True compares shapes: each input's own scale drops out, and
    # the answer is the normalized problem's (not scaled back).
    fn, pair, kw = CASES[case]
    a, b = pair()
    run = lambda x, y: fn(x, y, **kw, normalize=True, tol=TOL, max_iter=MAX_ITER,  # noqa: E731
                          backend=backend, dtype="float64")
    base, scaled = run(a, b), run(a * 2.0 ** -900, b * 1e150)
    assert base.converged and scaled.converged
    assert abs(scaled.distance - base.distance) <= 2 * TOL * base.distance
