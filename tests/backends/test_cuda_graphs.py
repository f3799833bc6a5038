"""CUDA graphs change the launches, not the arithmetic: the CUDA backend runs
each batch of iterations as one graph launch, and OMTCORE_CUDA_GRAPHS=0
launches every kernel on its own. The same solve both ways must give the same
numbers bit for bit (a fixed number of iterations, so that no timing-based
decision differs), and those numbers match the CPU backend's to rounding.
Skips with the reason where CUDA is unavailable."""

import warnings

import numpy as np
import pytest

import omtcore
from conftest import use_backend


def psd(rng, shape, k):
    x = rng.standard_normal(shape + (k, k)) + 1j * rng.standard_normal(shape + (k, k))
    return x @ np.conj(np.swapaxes(x, -1, -2))


def problem(kind):
    rng = np.random.default_rng(3)
    if kind.startswith("scalar"):
        a, b = rng.random((40, 36)), rng.random((40, 36))
        norm = kind.split()[1]
        return omtcore.scalar_omt, (a, b), dict(norm=norm)
    if kind == "vector":
        return omtcore.vector_omt, (rng.random((24, 20, 3)), rng.random((24, 20, 3))), dict(norm="anisotropic")
    return omtcore.matrix_omt, (psd(rng, (12, 10), 2), psd(rng, (12, 10), 2)), dict(matrix_norm="nuclear")


def fixed_run(solve, args, kw, backend):
    # tol far below float32 reach: the loop runs all max_iter iterations and
    # certifies once, at the end, whatever the timings.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", omtcore.ConvergenceWarning)
        return solve(*args, **kw, backend=backend, dtype="float32", normalize=True, tol=1e-14, max_iter=400)


@pytest.mark.parametrize("kind", ["scalar anisotropic", "scalar isotropic", "vector", "matrix"])
def test_graphs_give_the_same_numbers(kind, monkeypatch):
    use_backend("cuda")
    solve, args, kw = problem(kind)
    monkeypatch.delenv("OMTCORE_CUDA_GRAPHS", raising=False)
    graphs = fixed_run(solve, args, kw, "cuda")
    monkeypatch.setenv("OMTCORE_CUDA_GRAPHS", "0")
    launches = fixed_run(solve, args, kw, "cuda")
    cpu = fixed_run(solve, args, kw, "cpu")
    assert graphs.iterations == launches.iterations == cpu.iterations == 400
    assert graphs.distance == launches.distance
    assert graphs.lower_bound == launches.lower_bound
    np.testing.assert_array_equal(np.asarray(graphs.flux), np.asarray(launches.flux))
    # The certificate is computed in double on the host from float32 iterates:
    # CUDA and CPU differ by float32 rounding accumulated over the iterations.
    assert graphs.distance == pytest.approx(cpu.distance, rel=1e-4)
    assert graphs.lower_bound == pytest.approx(cpu.lower_bound, rel=1e-3, abs=1e-6)
