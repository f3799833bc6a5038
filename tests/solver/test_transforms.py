"""The Poisson solve's transforms for every grid length, on every backend.

The FFT behind the solve takes mixed-radix stages for lengths whose prime
factors are at most 31, and Bluestein's chirp-z transform for a larger prime
factor; an axis of 64 cells or more whose length has a prime factor above 5
is instead solved on a rectangle extended to the next 2-3-5-smooth length
(zero outside the grid). The CPU transform is checked against the DFT's
definition and the dense DCT, and the extended solve against the dense solve
of the extended rectangle, by the C++ tests (cpp/tests/test_fft.cpp,
test_poisson.cpp). The device backends have two transforms
(OMTCORE_DEVICE_TRANSFORM): ``stages``, one launch per FFT stage, and
``rows``, whole lines in work-group memory (lengths 2^a 3^b 5^c 7^d whose
tile fits, the other axes by stages). Here, for both,

* a device backend's iterates after a few preconditioned PDHG iterations,
  each of which passes through one Poisson solve, equal the CPU backend's to
  rounding, on lengths of every kind (smooth, generic odd radices, chirp-z
  primes and prime multiples, long rows), in 1 to 3 dimensions, for every
  kind (planes with their own shifts and modes) and for batches;
* whole solves on prime lengths (and on 48 x 35, both axes by rows) match
  exact references on both transforms: the 1-D closed form
  h sum |cumsum(a - b)| and POT's exact earth mover's distance in 2-D.
"""

import numpy as np
import pytest

import omtcore
from conftest import use_backend
from references import emd_l1

DEVICE_BACKENDS = ("opencl", "cuda")
TOL = {"float64": 1e-6, "float32": 1e-5}  # certified relative gap; float32 rounds at about 1e-6

# (shape, what its lengths exercise)
ITERATE_SHAPES = [
    ((60, 45), "3- and 5-smooth"),
    ((26, 77), "generic radix 13, 77 extended to 80"),
    ((62, 59), "generic radix 31, chirp-z prime 59"),
    ((37, 41), "chirp-z primes"),
    ((74, 123), "extended rectangle 75 x 125"),
    ((509,), "a long prime extended to 512"),
    ((5, 37, 3), "chirp-z on the middle axis of three"),
    ((2, 3, 127), "127 extended to 128 on the last axis"),
    ((67, 3, 4), "67 extended to 72 on the first axis"),
    ((7, 49), "radix 7"),
    ((1000, 6), "1000 = 4 2 5 5 5 on a strided axis, tiles of 4 columns of 6"),
    ((1024,), "a long row, one line per work-group"),
    ((4096,), "rows of 4096: by rows in float32, by stages in float64 (work-group memory)"),
]
TRANSFORMS = ("stages", "rows")


@pytest.fixture(params=TRANSFORMS)
def transform(request, monkeypatch):
    monkeypatch.setenv("OMTCORE_DEVICE_TRANSFORM", request.param)
    return request.param


def _pair(shape, seed):
    rng = np.random.default_rng(seed)
    a, b = rng.random(shape), rng.random(shape)
    return a, b * (a.sum() / b.sum())


def _iterate(a, b, backend, dtype, iterations, solve=omtcore.scalar_omt, method="preconditioned", **kw):
    with pytest.warns(omtcore.ConvergenceWarning):
        return solve(a, b, tol=1e-12, method=method, max_iter=iterations, backend=backend,
                     dtype=dtype, **kw)


def _assert_iterates_equal(dev, cpu, rtol, what):
    for field in ("potential", "flux", "exchange"):
        want = getattr(cpu, field, None)
        if want is None:
            continue
        scale = np.abs(want).max()
        assert scale > 0, (field, what)
        assert np.abs(getattr(dev, field) - want).max() <= rtol * scale, (field, what)


# float32: the two backends' roundings part by a few 1e-6 per iteration, more on rows of 1,000 and longer
DTYPE_RTOL = [("float64", 1e-12), ("float32", 2e-5)]


@pytest.mark.parametrize("dtype,rtol", DTYPE_RTOL)
@pytest.mark.parametrize("shape", [s for s, _ in ITERATE_SHAPES], ids=[w for _, w in ITERATE_SHAPES])
@pytest.mark.parametrize("name", DEVICE_BACKENDS)
def test_device_iterates_equal_cpu(name, transform, shape, dtype, rtol):
    backend = use_backend(name)
    if dtype == "float32" and max(shape) >= 1000:
        rtol = 1e-4
    a, b = _pair(shape, len(shape))
    for iterations in (1, 5):
        dev = _iterate(a, b, backend, dtype, iterations, norm="isotropic")
        cpu = _iterate(a, b, "cpu", dtype, iterations, norm="isotropic")
        _assert_iterates_equal(dev, cpu, rtol, iterations)


@pytest.mark.parametrize("dtype,rtol", DTYPE_RTOL)
@pytest.mark.parametrize("shape", [(60, 45), (512,), (5, 12, 8), (26, 77)])
@pytest.mark.parametrize("name", DEVICE_BACKENDS)
def test_device_halpern_iterates_equal_cpu(name, transform, shape, dtype, rtol):
    """The anisotropic loop's Halpern steps (anchored dual updates) after the Poisson solve."""
    backend = use_backend(name)
    a, b = _pair(shape, 7)
    for iterations in (1, 6):
        dev = _iterate(a, b, backend, dtype, iterations, norm="anisotropic", method="adaptive")
        cpu = _iterate(a, b, "cpu", dtype, iterations, norm="anisotropic", method="adaptive")
        _assert_iterates_equal(dev, cpu, rtol, iterations)


def _psd_pair(shape, k, seed):
    rng = np.random.default_rng(seed)
    X, Y = (rng.normal(size=shape + (k, k)) + 1j * rng.normal(size=shape + (k, k)) for _ in range(2))
    A, B = X @ np.conj(np.swapaxes(X, -1, -2)), Y @ np.conj(np.swapaxes(Y, -1, -2))
    return A, B * (np.trace(A, axis1=-2, axis2=-1).sum().real / np.trace(B, axis1=-2, axis2=-1).sum().real)


# (what, solve, inputs, keywords): planes with their own shift (vector: the
# exchange graph's eigenvalues) and modes, and a batch whose lines run across problems.
FIELD_CASES = [
    ("vector k=3", omtcore.vector_omt, lambda: _pair((24, 20, 3), 1), dict(alpha=0.7)),
    ("matrix k=2", omtcore.matrix_omt, lambda: _psd_pair((20, 12), 2, 2), dict(alpha=0.5)),
    ("batch of 3", omtcore.scalar_omt, lambda: _pair((3, 36, 20), 3), dict(batch=1, normalize=True)),
]


@pytest.mark.parametrize("dtype,rtol", DTYPE_RTOL)
@pytest.mark.parametrize("what,solve,inputs,kw", FIELD_CASES, ids=[c[0] for c in FIELD_CASES])
@pytest.mark.parametrize("name", DEVICE_BACKENDS)
def test_device_field_and_batch_iterates_equal_cpu(name, transform, what, solve, inputs, kw, dtype, rtol):
    backend = use_backend(name)
    a, b = inputs()
    dev = _iterate(a, b, backend, dtype, 3, solve, **kw)
    cpu = _iterate(a, b, "cpu", dtype, 3, solve, **kw)
    _assert_iterates_equal(dev, cpu, rtol, what)


@pytest.mark.parametrize("name", DEVICE_BACKENDS)
def test_an_unknown_device_transform_is_an_input_error(name, monkeypatch):
    backend = use_backend(name)
    monkeypatch.setenv("OMTCORE_DEVICE_TRANSFORM", "columns")
    a, b = _pair((8, 8), 0)
    with pytest.raises(omtcore.InvalidInputError, match="OMTCORE_DEVICE_TRANSFORM"):
        omtcore.scalar_omt(a, b, backend=backend)


@pytest.mark.parametrize("n", [37, 127, 509, 2 * 509, 1021])
def test_prime_lengths_in_one_dimension_match_the_closed_form(backend, transform, dtype, n):
    a, b = _pair((n,), n)
    h = 1.0 / n
    exact = h * np.abs(np.cumsum(a - b)).sum()
    res = omtcore.scalar_omt(a, b, h=h, tol=TOL[dtype], backend=backend, dtype=dtype)
    assert res.converged
    assert res.lower_bound <= exact * (1 + 1e-9) and exact <= res.distance * (1 + 1e-9)
    assert abs(res.distance - exact) <= 2 * TOL[dtype] * exact


@pytest.mark.parametrize("shape", [(37, 41), (43, 38), (48, 35)])
def test_prime_sided_grids_match_pot(backend, transform, dtype, shape):
    a, b = _pair(shape, 3)
    exact = emd_l1(a, b, 1.0)
    res = omtcore.scalar_omt(a, b, norm="anisotropic", tol=TOL[dtype], backend=backend, dtype=dtype)
    assert res.converged
    assert res.lower_bound <= exact * (1 + 1e-9) and exact <= res.distance * (1 + 1e-9)
    assert abs(res.distance - exact) <= 2 * TOL[dtype] * exact
