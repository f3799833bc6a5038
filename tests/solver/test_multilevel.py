"""The multilevel warm start of method "auto" (cpp/src/core/multilevel.cpp),
for scalar, vector and matrix problems: on grids large enough for a coarse
level it is used (``levels >= 2``), the answer keeps its full certificate and
equals the independent reference (min-cost flow on the grid graph or the
product graph, the isotropic conic program, closed forms), the single-grid
method ("adaptive") brackets the same optimum (vector isotropic and matrix
fields: no reference at 64², so the full certificate check and that
agreement), and it saves fine iterations. An axis of 32 cells or more is
halved (odd sides too: the last block holds one cell), a shorter one kept; a
coarse level needs 32² cells in all, so 64² (one coarse level of 32²) and
32³ are the smallest squares and cubes that have one."""

import functools

import numpy as np
import pytest

import omtcore
from references import check_certificate, cvxpy_isotropic, min_cost_flow_l1
from references_vm import check_matrix_certificate, check_vector_certificate, vector_min_cost_flow
from inputs import c_shape, gaussian

TIGHT = 1e-6
N = 64


def mixture(shape, mask=None):
    """Two smooth bumps on a floor: most of a - b survives block sums."""
    a = gaussian(shape, (0.3 * shape[0], 0.3 * shape[1]), 0.1 * shape[0]) + 0.05
    b = gaussian(shape, (0.7 * shape[0], 0.65 * shape[1]), 0.12 * shape[0]) + 0.05
    if mask is not None:
        a, b = a * mask, b * mask
    return a, b * (a.sum() / b.sum())


ANISOTROPIC = {  # name: (mask, h)
    "full_h_per_axis": (None, (1.0, 0.7)),
    "c_shape": (c_shape(N, 20), 1.0),
}


@functools.lru_cache(maxsize=None)
def min_cost_flow(name):
    mask, h = ANISOTROPIC[name]
    return min_cost_flow_l1(*mixture((N, N), mask), h, mask)


@pytest.mark.parametrize("name", list(ANISOTROPIC))
def test_anisotropic_warm_start_equals_min_cost_flow(backend, name):
    mask, h = ANISOTROPIC[name]
    a, b = mixture((N, N), mask)
    res = omtcore.scalar_omt(a, b, h=h, mask=mask, norm="anisotropic", tol=TIGHT, dtype="float64",
                             backend=backend)
    assert res.levels >= 2 and res.method == "auto"
    check_certificate(res, a, b, h, "anisotropic", mask=mask, exact=min_cost_flow(name), tol=TIGHT)


@pytest.mark.parametrize("norm,shape,h,axis,shift", [
    ("isotropic", (N, N), (0.7, 1.3), 0, 9),
    ("anisotropic", (N, N), (0.7, 1.3), 1, 9),
    ("anisotropic", (32, 32, 32), 1.0, 2, 5),  # 3D: a coarse face is 4 fine faces
    ("anisotropic", (67, 63), 1.0, 0, 7),        # odd sides: the last block holds one cell
    ("isotropic", (71, 30), (1.0, 0.8), 1, 5),   # odd, and a short side kept
    ("anisotropic", (300, 12), 1.0, 0, 40),      # thin: only the long axis is halved
    ("anisotropic", (33, 35, 31), 1.0, 0, 5),    # 3D, odd sides, one axis kept
])
def test_warm_start_translation(backend, norm, shape, h, axis, shift):
    # A shape moved by D cells along axis s costs h_s * D * mass, both norms.
    rng = np.random.default_rng(shift)
    a = np.zeros(shape)
    box = tuple(slice(n // 4, n // 4 + n // 8) for n in shape)
    a[box] = rng.random(a[box].shape) + 0.5
    b = np.roll(a, shift, axis=axis)
    hs = (h,) * len(shape) if np.ndim(h) == 0 else h
    exact = hs[axis] * shift * a.sum()
    res = omtcore.scalar_omt(a, b, h=h, norm=norm, tol=TIGHT, dtype="float64", backend=backend)
    assert res.levels >= 2
    check_certificate(res, a, b, h, norm, exact=exact, exact_rtol=1e-12, tol=TIGHT)


ISOTROPIC_MASKS = {"full": None, "c_shape": c_shape(N, 20)}


@functools.lru_cache(maxsize=None)
def conic_isotropic(name):
    mask = ISOTROPIC_MASKS[name]
    return cvxpy_isotropic(*mixture((N, N), mask), 1.0, mask)


@pytest.mark.parametrize("name", list(ISOTROPIC_MASKS))
def test_isotropic_warm_start_and_single_grid_bracket_the_conic_optimum(backend, name):
    mask = ISOTROPIC_MASKS[name]
    a, b = mixture((N, N), mask)
    runs = [omtcore.scalar_omt(a, b, mask=mask, norm="isotropic", tol=TIGHT, dtype="float64",
                               backend=backend, method=method) for method in ("auto", "adaptive")]
    assert [r.levels >= 2 for r in runs] == [True, False]
    for r in runs:  # CLARABEL's optimum, to ~1e-10 (measured), inside each bracket
        check_certificate(r, a, b, 1.0, "isotropic", mask=mask, exact=conic_isotropic(name), exact_rtol=1e-8,
                          tol=TIGHT)
    auto, single = runs
    assert auto.lower_bound <= single.distance * (1 + 1e-12)
    assert single.lower_bound <= auto.distance * (1 + 1e-12)


@pytest.mark.parametrize("case", ["shift_isotropic", "mixture_anisotropic"])
def test_warm_start_saves_fine_iterations(backend, case):
    """What the warm start is for (float32, gap 1e-4, 128²): measured on the CPU
    backend, a square moved by n/8 cells needs 75 fine iterations instead of
    375, a smooth mixture 225 instead of 550; asserted: at most 60%."""
    n = 128
    if case == "shift_isotropic":
        a = np.zeros((n, n))
        a[32:48, 32:48] = 1.0
        b = np.roll(a, 16, axis=0)
        norm = "isotropic"
    else:
        a, b = mixture((n, n))
        norm = "anisotropic"
    auto, single = (omtcore.scalar_omt(a, b, h=1.0 / n, norm=norm, backend=backend, method=m)
                    for m in ("auto", "adaptive"))
    assert auto.converged and single.converged
    assert (auto.levels, single.levels) == (3, 1)
    assert auto.iterations <= 0.6 * single.iterations, (auto.iterations, single.iterations)
    assert auto.lower_bound <= single.distance * (1 + 1e-9)
    assert single.lower_bound <= auto.distance * (1 + 1e-9)


def test_python_callback_sees_only_the_requested_grid(backend):
    a, b = mixture((N, N))
    calls = []
    res = omtcore.scalar_omt(a, b, norm="anisotropic", backend=backend,
                             callback=lambda it, gap, residual: calls.append(it))
    assert res.levels >= 2 and res.converged
    assert calls and calls[0] >= 1 and calls == sorted(calls) and calls[-1] <= res.iterations


ODD_SHAPES = [(67, 63), (33, 130)]


@functools.lru_cache(maxsize=None)
def min_cost_flow_odd(shape):
    return min_cost_flow_l1(*mixture(shape), 1.0, None)


@pytest.mark.parametrize("shape", ODD_SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_odd_sides_warm_start_equals_min_cost_flow(backend, shape):
    a, b = mixture(shape)
    res = omtcore.scalar_omt(a, b, norm="anisotropic", tol=TIGHT, dtype="float64", backend=backend)
    assert res.levels >= 2
    check_certificate(res, a, b, 1.0, "anisotropic", exact=min_cost_flow_odd(shape), tol=TIGHT)


@pytest.mark.parametrize("what", ["noise", "thin_small", "small", "adaptive", "pdhg"])
def test_no_coarse_level(what):
    """Where a coarse level would not pay or is not asked for, one grid is solved
    (thin_small: only the long axis could be halved, to 32 x 20 = 640 cells,
    under the 32² a coarse level needs)."""
    rng = np.random.default_rng(0)
    shape = {"thin_small": (N, 20), "small": (48, 48)}.get(what, (N, N))
    if what == "noise":  # a - b cancels within blocks: half of it is left per level
        a, b = rng.random(shape), rng.random(shape)
        b *= a.sum() / b.sum()
    else:
        a, b = mixture(shape)
    method = what if what in ("adaptive", "pdhg") else "auto"
    res = omtcore.scalar_omt(a, b, norm="anisotropic", backend="cpu", method=method, max_iter=100_000)
    assert res.converged and res.levels == 1


def rgb_like(n):
    """Three smooth channels, each its own bumps: mass moves in space and
    between channels."""
    shape = (n, n)
    a = np.stack([gaussian(shape, (0.3 * n + 5 * c, 0.3 * n), 0.1 * n) for c in range(3)], -1) + 0.05
    b = np.stack([gaussian(shape, (0.7 * n, 0.6 * n - 5 * c), 0.12 * n) for c in range(3)], -1) + 0.05
    return a, b * (a.sum() / b.sum())


@functools.lru_cache(maxsize=None)
def vector_reference():
    return vector_min_cost_flow(*rgb_like(N), alpha=2.0)


def test_vector_warm_start_equals_min_cost_flow(backend):
    a, b = rgb_like(N)
    res = omtcore.vector_omt(a, b, alpha=2.0, norm="anisotropic", tol=TIGHT, dtype="float64",
                             backend=backend)
    assert res.levels >= 2
    check_vector_certificate(res, a, b, alpha=2.0, norm="anisotropic", exact=vector_reference(), tol=TIGHT)


def smooth_psd(n, seed):
    from scipy.ndimage import gaussian_filter
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n, 2, 2)) + 1j * rng.normal(size=(n, n, 2, 2))
    X = gaussian_filter(X.real, (n / 16, n / 16, 0, 0)) + 1j * gaussian_filter(X.imag, (n / 16, n / 16, 0, 0))
    return X @ np.conj(np.swapaxes(X, -1, -2)) + 0.1 * np.eye(2)


@pytest.mark.parametrize("kind", ["vector_isotropic", "matrix_frobenius"])  # nuclear: the same warm start
def test_field_warm_start_and_single_grid_bracket_the_same_optimum(backend, kind):
    if kind == "vector_isotropic":
        a, b = rgb_like(N)
        solve = lambda method: omtcore.vector_omt(a, b, alpha=2.0, norm="isotropic", tol=1e-4,  # noqa: E731
                                                  dtype="float64", backend=backend, method=method)
        check = lambda r: check_vector_certificate(r, a, b, alpha=2.0, norm="isotropic", tol=1e-4)  # noqa: E731
    else:
        norm = kind.split("_")[1]
        A, B = smooth_psd(N, 1), smooth_psd(N, 2)
        B *= np.trace(A, axis1=-2, axis2=-1).real.sum() / np.trace(B, axis1=-2, axis2=-1).real.sum()
        solve = lambda method: omtcore.matrix_omt(A, B, alpha=3.0, matrix_norm=norm, tol=1e-5,  # noqa: E731
                                                  dtype="float64", backend=backend, method=method)
        check = lambda r: check_matrix_certificate(r, A, B, alpha=3.0, matrix_norm=norm, tol=1e-5)  # noqa: E731
    auto, single = solve("auto"), solve("adaptive")
    assert (auto.levels >= 2, single.levels) == (True, 1)
    for r in (auto, single):
        check(r)
    assert auto.lower_bound <= single.distance * (1 + 1e-12)
    assert single.lower_bound <= auto.distance * (1 + 1e-12)


def test_vector_warm_start_saves_fine_iterations(backend):
    """RGB-like fields, 64², float32, gap 1e-4: measured on the CPU backend
    (photographs, bench_fields.py) 525 -> 275 fine iterations; asserted: 70%."""
    a, b = rgb_like(N)
    auto, single = (omtcore.vector_omt(a, b, h=1.0 / N, alpha=2.0 / N, norm="anisotropic", backend=backend,
                                       method=m) for m in ("auto", "adaptive"))
    assert auto.converged and single.converged and auto.levels == 2
    assert auto.iterations <= 0.7 * single.iterations, (auto.iterations, single.iterations)
