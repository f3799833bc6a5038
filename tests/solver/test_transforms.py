"""The Poisson solve's transforms for every grid length, on every backend.

The FFT behind the solve takes mixed-radix stages for lengths whose prime
factors are at most 31, and Bluestein's chirp-z transform for a larger prime
factor; an axis of 64 cells or more whose length has a prime factor above 5
is instead solved on a rectangle extended to the next 2-3-5-smooth length
(zero outside the grid). The CPU transform is checked against the DFT's
definition and the dense DCT, and the extended solve against the dense solve
of the extended rectangle, by the C++ tests (cpp/tests/test_fft.cpp,
test_poisson.cpp); here

* a device backend's iterates after a few plain PDHG iterations, which pass
  through one Poisson solve each, equal the CPU backend's to rounding, on
  lengths of every kind (smooth, generic odd radices, chirp-z primes and
  prime multiples), in 1 to 3 dimensions;
* whole solves on prime lengths match exact references: the 1-D closed form
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
]


def _pair(shape, seed):
    rng = np.random.default_rng(seed)
    a, b = rng.random(shape), rng.random(shape)
    return a, b * (a.sum() / b.sum())


def _iterate(a, b, backend, dtype, iterations):
    with pytest.warns(omtcore.ConvergenceWarning):
        return omtcore.scalar_omt(a, b, norm="isotropic", tol=1e-12, method="pdhg", max_iter=iterations,
                                  backend=backend, dtype=dtype)


@pytest.mark.parametrize("dtype,rtol", [("float64", 1e-12), ("float32", 2e-5)])
@pytest.mark.parametrize("shape", [s for s, _ in ITERATE_SHAPES], ids=[w for _, w in ITERATE_SHAPES])
@pytest.mark.parametrize("name", DEVICE_BACKENDS)
def test_device_iterates_equal_cpu(name, shape, dtype, rtol):
    backend = use_backend(name)
    a, b = _pair(shape, len(shape))
    for iterations in (1, 5):
        dev = _iterate(a, b, backend, dtype, iterations)
        cpu = _iterate(a, b, "cpu", dtype, iterations)
        scale = np.abs(cpu.potential).max()
        assert scale > 0
        assert np.abs(dev.potential - cpu.potential).max() <= rtol * scale, iterations
        assert np.abs(dev.flux - cpu.flux).max() <= rtol * np.abs(cpu.flux).max(), iterations


@pytest.mark.parametrize("n", [37, 127, 509, 2 * 509, 1021])
def test_prime_lengths_in_one_dimension_match_the_closed_form(backend, dtype, n):
    a, b = _pair((n,), n)
    h = 1.0 / n
    exact = h * np.abs(np.cumsum(a - b)).sum()
    res = omtcore.scalar_omt(a, b, h=h, tol=TOL[dtype], backend=backend, dtype=dtype)
    assert res.converged
    assert res.lower_bound <= exact * (1 + 1e-9) and exact <= res.distance * (1 + 1e-9)
    assert abs(res.distance - exact) <= 2 * TOL[dtype] * exact


@pytest.mark.parametrize("shape", [(37, 41), (43, 38)])
def test_prime_sided_grids_match_pot(backend, dtype, shape):
    a, b = _pair(shape, 3)
    exact = emd_l1(a, b, 1.0)
    res = omtcore.scalar_omt(a, b, norm="anisotropic", tol=TOL[dtype], backend=backend, dtype=dtype)
    assert res.converged
    assert res.lower_bound <= exact * (1 + 1e-9) and exact <= res.distance * (1 + 1e-9)
    assert abs(res.distance - exact) <= 2 * TOL[dtype] * exact
