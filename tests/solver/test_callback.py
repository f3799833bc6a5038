"""The progress callback of every solve function: called with (iteration,
gap, residual) at every check, a False return stops the solve early with a
still-certified result (no ConvergenceWarning), and an exception raised in it
reaches the caller."""

import numpy as np
import pytest

import omtcore
from references import check_certificate
from references_vm import check_matrix_certificate, check_vector_certificate


def _problems():
    rng = np.random.default_rng(0)
    a, b = rng.random((48, 48)), rng.random((48, 48))
    b *= a.sum() / b.sum()
    va, vb = rng.random((24, 24, 3)), rng.random((24, 24, 3))
    vb *= va.sum() / vb.sum()
    X = rng.normal(size=(12, 12, 2, 2)) + 1j * rng.normal(size=(12, 12, 2, 2))
    Y = rng.normal(size=(12, 12, 2, 2)) + 1j * rng.normal(size=(12, 12, 2, 2))
    A = X @ np.conj(np.swapaxes(X, -1, -2))
    B = Y @ np.conj(np.swapaxes(Y, -1, -2))
    B *= np.trace(A, axis1=-2, axis2=-1).sum().real / np.trace(B, axis1=-2, axis2=-1).sum().real
    return {
        "scalar": (lambda **kw: omtcore.scalar_omt(a, b, **kw),
                   lambda r: check_certificate(r, a, b, 1.0, "isotropic")),
        "vector": (lambda **kw: omtcore.vector_omt(va, vb, **kw),
                   lambda r: check_vector_certificate(r, va, vb)),
        "matrix": (lambda **kw: omtcore.matrix_omt(A, B, **kw),
                   lambda r: check_matrix_certificate(r, A, B)),
    }


PROBLEMS = _problems()


@pytest.mark.parametrize("kind", sorted(PROBLEMS))
def test_callback_sees_progress_and_stops_early(backend, kind):
    solve, check = PROBLEMS[kind]
    calls = []

    def callback(iteration, gap, residual):
        calls.append((iteration, gap, residual))
        return len(calls) < 3  # stop at the third call

    res = solve(tol=1e-12, max_iter=100_000, backend=backend, callback=callback)  # no warning
    assert len(calls) == 3
    iterations = [c[0] for c in calls]
    assert iterations == sorted(iterations) and iterations[0] >= 1
    assert all(0 <= g <= 1 and r >= 0 for _, g, r in calls)
    assert not res.converged and res.iterations == iterations[-1] < 100_000
    check(res)  # stopped early, still exactly feasible with a valid bound


@pytest.mark.parametrize("kind", sorted(PROBLEMS))
def test_callback_exception_reaches_the_caller(backend, kind):
    solve, _ = PROBLEMS[kind]

    def callback(iteration, gap, residual):
        raise RuntimeError("stop from the callback")

    with pytest.raises(RuntimeError, match="stop from the callback"):
        solve(tol=1e-12, max_iter=100_000, backend=backend, callback=callback)


def test_callback_returning_none_keeps_going():
    solve, _ = PROBLEMS["scalar"]
    seen = []
    res = solve(tol=1e-4, callback=lambda it, gap, res: seen.append(it))
    assert res.converged and seen
