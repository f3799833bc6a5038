"""The per-cell Hermitian eigensolver (cpp/src/kernels/hermitian_eig.h) against
numpy, through the ``omtcore_eig_probe`` executable (cpp/tests/eig_probe.cpp).

The probe is configured exactly as tests/cpp_build.py configures the C++
tests (same skip/fail rules), but only its target is built. Each matrix goes
through in float and in double; the reference is numpy in double on the matrix
rounded to the probe's precision, so rounding the input is not counted as error.

Tolerances, relative to ||A||_2 (= max |eigenvalue|):
  eigenvalues, prox entries, operator norm:  TOL[precision] * k
  nuclear norm (a sum of k eigenvalues):      TOL[precision] * k * k
with TOL = 1e-14 for double (about 45 eps) and 1e-5 for float (about 84 eps).
Seen: within 2 k eps ||A|| in both precisions (numpy's own error included).
Tight enough to fail a solver that stops its sweeps at 1000 eps ||A||_F.
"""

import os

import numpy as np
import pytest

from cpp_build import _run, configure_core

TOL = {"double": 1e-14, "float": 1e-5}
DTYPE = {"double": np.complex128, "float": np.complex64}
REAL = {"double": np.float64, "float": np.float32}
MAX_K = 8


@pytest.fixture(scope="module")
def probe(tmp_path_factory):
    """Path of a freshly built omtcore_eig_probe."""
    build = tmp_path_factory.mktemp("eig_probe") / "build"
    cmake = configure_core(build, tests=True)
    out = _run([cmake, "--build", str(build), "--target", "omtcore_eig_probe",
                "-j", str(os.cpu_count() or 2)])
    assert out.returncode == 0, "build failed:\n" + out.stdout + out.stderr
    found = [p for p in build.rglob("omtcore_eig_probe*") if p.is_file() and os.access(p, os.X_OK)]
    assert found, f"omtcore_eig_probe not found under {build}"
    return found[0]


# ---------------------------------------------------------------- the probe

def run_probe(probe, precision, cases):
    """cases: list of (A, t). Returns one (w, X, nuclear, op) per case."""
    parts = [precision, str(len(cases))]
    for a, t in cases:
        k = a.shape[0]
        parts.append(f"{k} {float(t)!r}")
        parts.append(" ".join(repr(float(x)) for x in a.real.ravel()))
        parts.append(" ".join(repr(float(x)) for x in a.imag.ravel()))
    out = _run([str(probe)], input="\n".join(parts) + "\n")
    assert out.returncode == 0, f"probe failed ({out.returncode}):\n{out.stderr}"
    lines = out.stdout.splitlines()
    assert len(lines) == 3 * len(cases), f"expected {3 * len(cases)} lines, got {len(lines)}"
    results = []
    for i, (a, _) in enumerate(cases):
        k = a.shape[0]
        eig, prox, norms = (lines[3 * i + j].split() for j in range(3))
        assert (eig[0], prox[0], norms[0]) == ("eig", "prox", "norms")
        w = np.array([float(x) for x in eig[1:]])
        x = np.array([float(v) for v in prox[1:]])
        assert w.shape == (k,) and x.shape == (2 * k * k,) and len(norms) == 3
        xm = x[: k * k].reshape(k, k) + 1j * x[k * k:].reshape(k, k)
        results.append((w, xm, float(norms[1]), float(norms[2])))
    return results


# ---------------------------------------------------------------- references

def as_seen(a, t, precision):
    """The matrix and threshold as the probe holds them, back in double."""
    return a.astype(DTYPE[precision]).astype(np.complex128), float(REAL[precision](t))


def soft(x, t):
    return np.sign(x) * np.maximum(np.abs(x) - t, 0.0)


def check(case, result, precision):
    """Raise AssertionError unless result matches numpy for this case."""
    a, t = as_seen(*case, precision)
    w, x, nuclear, op = result
    k = a.shape[0]
    ref_w, ref_v = np.linalg.eigh(a)
    norm = np.max(np.abs(ref_w))
    tol = TOL[precision] * k * norm
    assert np.all(np.isfinite(w)) and np.all(np.isfinite(x)), "non-finite output"
    assert np.all(np.diff(w) >= 0), f"eigenvalues not ascending: {w}"
    # The reference eigenvalues of the matrix the probe saw
    np.testing.assert_allclose(w, np.linalg.eigvalsh(a), rtol=0, atol=tol, err_msg="eigenvalues")
    ref_x = (ref_v * soft(ref_w, t)) @ ref_v.conj().T
    np.testing.assert_allclose(x, ref_x, rtol=0, atol=tol, err_msg=f"nuclear prox, t = {t}")
    # exactly Hermitian, by construction in the solver
    assert np.array_equal(x.real, x.real.T), "prox: real part not exactly symmetric"
    assert np.array_equal(x.imag, -x.imag.T), "prox: imaginary part not exactly antisymmetric"
    assert np.all(np.diag(x.imag) == 0), "prox: imaginary diagonal not exactly 0"
    assert abs(nuclear - np.sum(np.abs(ref_w))) <= TOL[precision] * k * k * norm, "nuclear norm"
    assert abs(op - norm) <= tol, "operator norm"


# ---------------------------------------------------------------- matrices

def random_unitary(rng, k, real):
    z = rng.standard_normal((k, k))
    if not real:
        z = z + 1j * rng.standard_normal((k, k))
    q, r = np.linalg.qr(z)
    return q * (np.diag(r) / np.abs(np.diag(r)))  # the Haar measure


def hermitian(m):
    return ((m + m.conj().T) / 2).astype(np.complex128)


def spectral(u, lam):
    return hermitian((u * np.asarray(lam, float)) @ u.conj().T)


def make_cases(precision, seed=20240611):
    """(A, t) pairs: random, repeated, zero, rank-one, real and scaled, k = 1..8.
    Thresholds are fractions of ||A||_2 so that the prox zeroes some eigenvalues
    and shrinks others."""
    rng = np.random.default_rng(seed)
    scales = [1e-20, 1e20] if precision == "float" else [1e-300, 1e-30, 1e30, 1e300]
    cases = []

    def add(a, fracs=(0.0, 0.35, 0.8, 1.5)):
        norm = np.max(np.abs(np.linalg.eigvalsh(a))) if a.size else 0.0
        for f in fracs:
            cases.append((a, f * norm))

    for k in range(1, MAX_K + 1):
        for real in (False, True):
            for _ in range(4):  # random Hermitian
                m = rng.standard_normal((k, k))
                if not real:
                    m = m + 1j * rng.standard_normal((k, k))
                add(hermitian(m), fracs=(rng.uniform(0, 1.2),))
            u = random_unitary(rng, k, real)
            add(spectral(u, np.full(k, 2.5)))                               # multiple of I
            add(spectral(u, [(-1.0 if j < k // 2 else 3.0) for j in range(k)]))  # two clusters
            add(spectral(u, [(0.0 if j % 2 else rng.uniform(-2, 2)) for j in range(k)]))  # zeros
            x = rng.standard_normal(k) + (0 if real else 1j * rng.standard_normal(k))
            add(hermitian(np.outer(x, x.conj())))                           # rank one
        cases.append((np.zeros((k, k), complex), 0.0))                      # zero matrix
        cases.append((np.zeros((k, k), complex), 1.0))
        cases.append((np.diag(rng.integers(-3, 4, size=k).astype(float)).astype(complex), 1.0))
        base = hermitian(rng.standard_normal((k, k)) + 1j * rng.standard_normal((k, k)))
        for s in scales:
            add(base * s, fracs=(0.5,))
            lam = s * rng.uniform(-1, 1, size=k)
            lam[: k // 2] = lam[0]  # repeated
            add(spectral(random_unitary(rng, k, False), lam), fracs=(0.5,))
    return cases


# ---------------------------------------------------------------- tests

@pytest.mark.parametrize("precision", ["double", "float"])
def test_probe_matches_numpy(probe, precision):
    cases = make_cases(precision)
    results = run_probe(probe, precision, cases)
    worst = 0.0
    for i, (case, result) in enumerate(zip(cases, results)):
        try:
            check(case, result, precision)
        except AssertionError as e:
            raise AssertionError(f"case {i} (k = {case[0].shape[0]}, t = {case[1]:.3g}): {e}") from None
        a, _ = as_seen(*case, precision)
        norm = np.max(np.abs(np.linalg.eigvalsh(a)))
        if norm > 0:
            err = np.max(np.abs(result[0] - np.linalg.eigvalsh(a))) / (norm * a.shape[0])
            worst = max(worst, err / np.finfo(REAL[precision]).eps)
    # The thresholds must exercise the prox: some results zero, some shrunk.
    nonzero = sum(np.any(r[1] != 0) for r in results)
    assert 0 < nonzero < len(results)
    print(f"{precision}: {len(cases)} matrices, worst eigenvalue error {worst:.3g} k eps ||A||")


def test_checker_rejects_wrong_answers(probe):
    """A checker that accepts anything is no test: corrupt correct answers."""
    rng = np.random.default_rng(7)
    k = 4
    a = spectral(random_unitary(rng, k, False), [-2.0, -0.5, 0.25, 1.5])
    for precision in ("double", "float"):
        t = 0.4
        (good,) = run_probe(probe, precision, [(a, t)])
        check((a, t), good, precision)
        w, x, nuc, op = good
        tol = TOL[precision] * k * 2.0
        wrong = [
            (w + np.array([0, 0, 0, 3 * tol]), x, nuc, op),           # one eigenvalue off
            (w[::-1], x, nuc, op),                                    # wrong order
            (w, x + 3 * tol * np.eye(k), nuc, op),                    # prox off
            (w, x.conj(), nuc, op),                                   # prox conjugated
            (w, (x + x.T) / 2, nuc, op),                              # not Hermitian
            (w, x, nuc + 0.1, op),                                    # nuclear norm off
            (w, x, nuc, op * (1 + 1e-3)),                             # operator norm off
        ]
        for bad in wrong:
            with pytest.raises(AssertionError):
                check((a, t), bad, precision)
        # nor the probe's own answer for a threshold 1% off
        (shifted,) = run_probe(probe, precision, [(a, t * 1.01)])
        with pytest.raises(AssertionError):
            check((a, t), shifted, precision)


@pytest.mark.parametrize("text", [
    "single 1 1 0 1 0",            # unknown precision
    "double 1 9 0" + " 0" * 162,   # k above OMT_MAX_K
    "double 1 0 0",                # k = 0
    "double 2 1 0 1 0",            # input ends early
    "double 1 1 0 x 0",            # not a number
    "double 1 1 0 1 0 extra",      # trailing input
])
def test_probe_rejects_malformed_input(probe, text):
    out = _run([str(probe)], input=text)
    assert out.returncode == 2 and "omtcore_eig_probe:" in out.stderr, (out.returncode, out.stderr)
