"""The parity matrix: every device backend against the CPU backend.

Each problem kind (scalar, vector, matrix) x norm x dtype x device backend
("opencl", "cuda") is solved on that backend and on the CPU backend with the
same inputs and options.  The CPU backend is the oracle; it is never compared
with itself.  Both solves certify a bracket [lower_bound, distance] around the
same optimum with relative gap <= TOL, so:

* both converge;
* each lower_bound is at most the other's distance (up to double rounding,
  BRACKET_RTOL): the brackets overlap, each contains the other's answer;
* the distances agree to DIST_RTOL = 2 * TOL relative to the CPU's (both lie
  within TOL * distance of the optimum);
* flux, exchange and potential have the same shapes and dtypes;
* the device result passes the independent certificate check of the kind
  (references.check_certificate / references_vm.check_*_certificate; for the
  anisotropic scalar cases with POT's exact value);

Device backends that are unavailable skip with omtcore.backends()'s reason, or
fail where OMTCORE_REQUIRE_BACKENDS names them (conftest.use_backend).
Grids are small (about 12x12 to 16x16, a 3-D scalar case of 8x7x6) so the
whole matrix runs in seconds on PoCL.
"""

import numpy as np
import pytest

import omtcore
from conftest import DTYPES, use_backend
from references import check_certificate, emd_l1
from references_vm import check_matrix_certificate, check_vector_certificate

DEVICE_BACKENDS = ("opencl", "cuda")
TOL = 1e-5            # solve tolerance: certified relative gap and residual
DIST_RTOL = 2 * TOL   # |distance(device) - distance(cpu)| / distance(cpu)
BRACKET_RTOL = 1e-12  # double rounding of the certificates, nothing more
MAX_ITER = 100_000    # stopping there is a ConvergenceWarning -> error


# ------------------------------------------------------------------ problems

def _rng(seed):
    return np.random.default_rng(seed)


def _balance(a, b):
    return a, b * (a.sum() / b.sum())


def wall_mask(shape):
    """A wall across the grid with a gap at both ends: one connected part."""
    m = np.ones(shape, dtype=bool)
    m[1:-1, shape[1] // 2] = False
    return m


def psd_field(shape, k, rng):
    X = rng.normal(size=shape + (k, k)) + 1j * rng.normal(size=shape + (k, k))
    return X @ np.conj(np.swapaxes(X, -1, -2)) / k


def scalar_problem(variant, norm):
    if variant == "2d":
        shape, h, mask = (16, 14), (0.5, 1.0), None
    elif variant == "masked":
        shape, h, mask = (14, 14), 1.0, wall_mask((14, 14))
    else:  # "3d"
        shape, h, mask = (8, 7, 6), (1.0, 0.5, 0.8), None
    rng = _rng(len(shape) * 10 + (mask is not None))
    a, b = rng.random(shape), rng.random(shape)
    if mask is not None:
        a[~mask] = 0
        b[~mask] = 0
    a, b = _balance(a, b)
    kw = dict(norm=norm, h=h, mask=mask)

    def certify(res):
        exact = emd_l1(a, b, h, mask) if norm == "anisotropic" else None
        check_certificate(res, a, b, h, norm, mask=mask, exact=exact, tol=TOL)

    return omtcore.scalar_omt, (a, b), kw, certify


def vector_problem(variant, norm):
    shape, k, alpha = (13, 12), 3, 0.7
    mask = wall_mask(shape) if variant == "masked" else None
    rng = _rng(4)
    a = rng.random(shape + (k,)) * (rng.random(shape + (k,)) < 0.7)
    b = rng.random(shape + (k,))
    if mask is not None:
        a[~mask] = 0
        b[~mask] = 0
    a, b = _balance(a, b)
    kw = dict(norm=norm, alpha=alpha, mask=mask)

    def certify(res):
        check_vector_certificate(res, a, b, alpha=alpha, norm=norm, mask=mask, tol=TOL)

    return omtcore.vector_omt, (a, b), kw, certify


def matrix_problem(variant, matrix_norm):
    shape, k, alpha = (12, 12), 2, 0.5
    mask = wall_mask(shape) if variant == "masked" else None
    rng = _rng(5)
    A, B = psd_field(shape, k, rng), psd_field(shape, k, rng)
    if mask is not None:
        A[~mask] = 0
        B[~mask] = 0
    B *= np.trace(A, axis1=-2, axis2=-1).sum().real / np.trace(B, axis1=-2, axis2=-1).sum().real
    kw = dict(matrix_norm=matrix_norm, alpha=alpha, mask=mask)

    def certify(res):
        check_matrix_certificate(res, A, B, alpha=alpha, matrix_norm=matrix_norm, mask=mask,
                                 tol=TOL)

    return omtcore.matrix_omt, (A, B), kw, certify


PROBLEMS = {"scalar": scalar_problem, "vector": vector_problem, "matrix": matrix_problem}

# (kind, variant, norm); scalar/vector norms are "norm", matrix norms "matrix_norm"
CASES = (
    [("scalar", v, n) for v in ("2d", "masked", "3d") for n in ("isotropic", "anisotropic")]
    + [("vector", v, n) for v in ("2d", "masked") for n in ("isotropic", "anisotropic")]
    + [("matrix", v, n) for v in ("2d", "masked") for n in ("frobenius", "nuclear")]
)


def case_id(case):
    return "-".join(case)


# ------------------------------------------------------------------ solving

_cpu_results = {}


def solve(case, dtype, backend):
    kind, variant, norm = case
    fn, args, kw, certify = PROBLEMS[kind](variant, norm)
    res = fn(*args, **kw, tol=TOL, max_iter=MAX_ITER, backend=backend, dtype=dtype)
    return res, certify


def cpu_result(case, dtype):
    # One CPU solve per (case, dtype), shared by the device backends.
    key = (case, dtype)
    if key not in _cpu_results:
        _cpu_results[key] = solve(case, dtype, "cpu")[0]
    return _cpu_results[key]


def shape_of(x):
    return None if x is None else (tuple(x.shape), str(x.dtype))


def assert_parity(dev, cpu):
    assert dev.backend != "cpu", "the CPU backend is the oracle, never compared with itself"
    assert cpu.backend == "cpu"
    assert dev.converged, (dev.gap, dev.residual, dev.iterations)
    assert cpu.converged, (cpu.gap, cpu.residual, cpu.iterations)
    for name in ("flux", "exchange", "potential"):
        assert shape_of(getattr(dev, name)) == shape_of(getattr(cpu, name)), name
    # Each certified bracket contains the other backend's answer.
    slack = BRACKET_RTOL * max(abs(cpu.distance), abs(dev.distance)) + 1e-300
    assert dev.lower_bound <= cpu.distance + slack, (dev.lower_bound, cpu.distance)
    assert cpu.lower_bound <= dev.distance + slack, (cpu.lower_bound, dev.distance)
    diff = abs(dev.distance - cpu.distance)
    assert diff <= DIST_RTOL * abs(cpu.distance), (
        f"{dev.backend} distance {dev.distance!r} vs cpu {cpu.distance!r}: "
        f"relative difference {diff / abs(cpu.distance):.3e} > {DIST_RTOL:g}")


@pytest.fixture(params=DEVICE_BACKENDS)
def device_backend(request):
    return use_backend(request.param)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_device_matches_cpu(device_backend, dtype, case):
    dev, certify = solve(case, dtype, device_backend)
    assert dev.backend == device_backend and dev.dtype == dtype
    cpu = cpu_result(case, dtype)
    assert cpu.dtype == dtype
    assert_parity(dev, cpu)
    certify(dev)
    # Iteration counts are not compared: backends round differently.


REPEAT_CASES = [("scalar", "masked", "isotropic"), ("scalar", "2d", "anisotropic"),
                ("vector", "2d", "isotropic"), ("matrix", "2d", "frobenius")]


@pytest.mark.parametrize("case", REPEAT_CASES, ids=case_id)
@pytest.mark.parametrize("name", ("cpu",) + DEVICE_BACKENDS)
def test_same_input_same_answer_bit_for_bit(name, case):
    # Certificates are scheduled by counted work, not by time: the same input
    # on the same backend repeats exactly, on a loaded machine too.
    backend = use_backend(name)
    first, _ = solve(case, "float32", backend)
    again, _ = solve(case, "float32", backend)
    assert (first.iterations, first.distance, first.lower_bound, first.gap, first.residual) == (
        again.iterations, again.distance, again.lower_bound, again.gap, again.residual)
    for field in ("flux", "exchange", "potential"):
        x, y = getattr(first, field), getattr(again, field)
        assert (x is None) == (y is None), field
        if x is not None:
            assert np.array_equal(x, y), field


def test_matrix_covers_every_kind_and_norm():
    # The matrix above must not silently lose a kind, a norm or a variant.
    assert {c[0] for c in CASES} == set(PROBLEMS)
    assert {c[2] for c in CASES if c[0] != "matrix"} == {"isotropic", "anisotropic"}
    assert {c[2] for c in CASES if c[0] == "matrix"} == {"frobenius", "nuclear"}
    assert {c[1] for c in CASES if c[0] == "scalar"} >= {"masked", "3d"}
    assert "cpu" not in DEVICE_BACKENDS
