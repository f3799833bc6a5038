"""omtcore.pairwise: distance matrices, each entry a certified solve.

Against POT's exact ot.emd2 for every pair (anisotropic, where W1 is the
L1-ground-cost transport), and against one solve per pair for the other
kinds; on threads and on a Dask cluster; inputs validated before any work.
"""

import numpy as np
import pytest

import omtcore

from references import emd_l1

TIGHT = dict(norm="anisotropic", tol=1e-7, dtype="float64")


def histograms(rng, count, shape, total=1.0):
    X = rng.random((count,) + shape) ** 3  # uneven, with near-empty cells
    return X / X.reshape(count, -1).sum(axis=1).reshape((count,) + (1,) * len(shape)) * total


def test_within_one_collection_is_symmetric_and_exact():
    rng = np.random.default_rng(0)
    X = histograms(rng, 5, (6, 7))
    res = omtcore.pairwise(X, **TIGHT)
    assert res.distance.shape == (5, 5) and res.converged.all()
    np.testing.assert_array_equal(res.distance, res.distance.T)
    np.testing.assert_array_equal(np.diag(res.distance), 0)
    for i in range(5):
        for j in range(i + 1, 5):
            exact = emd_l1(X[i], X[j])
            assert res.lower_bound[i, j] <= exact * (1 + 1e-9) <= res.distance[i, j] * (1 + 2e-9)
            assert res.distance[i, j] == pytest.approx(exact, rel=2e-7)


def test_between_two_collections_with_normalize_on_threads_and_dask():
    distributed = pytest.importorskip("distributed", reason="the client path needs dask[distributed]")
    rng = np.random.default_rng(1)
    X = histograms(rng, 3, (5, 5), total=2.0)
    Y = histograms(rng, 4, (5, 5), total=7.0)
    res = omtcore.pairwise(X, Y, normalize=True, workers=2, **TIGHT)
    assert res.distance.shape == (3, 4)
    for i in range(3):
        for j in range(4):
            exact = emd_l1(X[i] / 2.0, Y[j] / 7.0)
            assert res.lower_bound[i, j] <= exact * (1 + 1e-9) <= res.distance[i, j] * (1 + 2e-9)
    # A LocalCluster of two worker processes: the same certified matrix, bit
    # for bit (the CPU backend is deterministic, one thread per problem).
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        remote = omtcore.pairwise(X, Y, normalize=True, client=client, progress=True, **TIGHT)
    np.testing.assert_array_equal(remote.distance, res.distance)
    np.testing.assert_array_equal(remote.lower_bound, res.lower_bound)


def test_triangle_inequality_within_the_brackets_and_blocks_of_the_symmetric_matrix():
    rng = np.random.default_rng(5)
    X = histograms(rng, 7, (6, 6))
    res = omtcore.pairwise(X, norm="anisotropic", tol=1e-4, progress=True)
    # W(i, k) <= W(i, j) + W(j, k), so lower(i, k) <= distance(i, j) + distance(j, k).
    bound = res.distance[:, :, None] + res.distance[None, :, :]  # [i, j, k]
    assert (res.lower_bound[:, None, :] <= bound * (1 + 1e-12)).all()
    # The rectangular case is the symmetric matrix's block, bit for bit.
    block = omtcore.pairwise(X[:3], X[3:], norm="anisotropic", tol=1e-4)
    np.testing.assert_array_equal(block.distance, res.distance[:3, 3:])
    np.testing.assert_array_equal(block.lower_bound, res.lower_bound[:3, 3:])
    # Its entries are the batch's, which are the single solves' (one thread).
    for i, j in [(0, 4), (2, 6)]:
        single = omtcore.scalar_omt(X[i], X[j], norm="anisotropic", tol=1e-4, threads=1)
        assert res.distance[i, j] == single.distance and res.lower_bound[j, i] == single.lower_bound


@pytest.mark.parametrize("kind", ["vector", "matrix"])
def test_vector_and_matrix_entries_are_those_of_single_solves(kind):
    rng = np.random.default_rng(2)
    if kind == "vector":
        X = histograms(rng, 3, (4, 5, 3))
        solve = omtcore.vector_omt
    else:
        Z = rng.standard_normal((3, 4, 4, 2, 2)) + 1j * rng.standard_normal((3, 4, 4, 2, 2))
        X = Z @ np.swapaxes(Z.conj(), -1, -2) + 0.1 * np.eye(2)
        X /= np.trace(X, axis1=-2, axis2=-1).real.sum(axis=(1, 2))[:, None, None, None, None]
        solve = omtcore.matrix_omt
    res = omtcore.pairwise(X, kind=kind, alpha=0.5, tol=1e-6)
    for i, j in [(0, 1), (0, 2), (1, 2)]:
        single = solve(X[i], X[j], alpha=0.5, tol=1e-6, threads=1)
        assert res.distance[i, j] == single.distance and res.lower_bound[j, i] == single.lower_bound


def test_unbalanced_pairs_need_no_equal_totals():
    rng = np.random.default_rng(3)
    X = histograms(rng, 3, (5, 5)) * np.array([1.0, 2.0, 3.0])[:, None, None]
    res = omtcore.pairwise(X, unbalanced=0.4, norm="anisotropic")
    assert res.converged.all() and (res.distance[np.triu_indices(3, 1)] > 0).all()


def test_bad_collections_are_rejected_before_any_work_naming_the_problems():
    rng = np.random.default_rng(4)
    X = histograms(rng, 4, (5, 5))
    bad = X.copy()
    bad[2, 1, 1] = -1.0
    with pytest.raises(omtcore.InvalidInputError, match=r"X\[2\] has negative or non-finite values"):
        omtcore.pairwise(bad)
    uneven = X.copy()
    uneven[3] *= 2
    with pytest.raises(omtcore.InvalidInputError, match=r"3 pairs have unequal total mass, e\.g\. X\[0\].*X\[3\]"):
        omtcore.pairwise(uneven)
    with pytest.raises(omtcore.InvalidInputError, match="one shape"):
        omtcore.pairwise(X, X[:, :4])
    with pytest.raises(omtcore.InvalidInputError, match="kind"):
        omtcore.pairwise(X, kind="tensor")
    with pytest.raises(omtcore.InvalidInputError, match=r"shape \(count, \*grid, k\)"):
        omtcore.pairwise(X[:, 0, 0], kind="vector")
    with pytest.raises(omtcore.InvalidInputError, match="callback"):
        omtcore.pairwise(X, callback=print)
    with pytest.raises(omtcore.InvalidInputError, match="not both"):
        omtcore.pairwise(X, workers=2, threads=1)
    with pytest.raises(omtcore.InvalidInputError, match="workers"):
        omtcore.pairwise(X, workers=0)


THREADS_CHILD = r"""
import sys
import numpy as np, omtcore
threads = None if sys.argv[1] == "all" else int(sys.argv[1])
seen = []
def count(iteration, gap, residual):
    seen.append(next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("Threads:")))
n = 384
y, x = np.mgrid[:n, :n] / n
a = np.exp(-((y - .3) ** 2 + (x - .3) ** 2) / .01) + 1e-3
b = np.exp(-((y - .6) ** 2 + (x - .7) ** 2) / .02) + 1e-3
b *= a.sum() / b.sum()
r = omtcore.scalar_omt(a, b, backend="cpu", threads=threads, callback=count, max_iter=100)
print(max(seen), r.distance)
"""


@pytest.mark.skipif(not hasattr(__import__("os"), "sched_getaffinity") or len(__import__("os").sched_getaffinity(0)) < 2,
                    reason="needs 2 or more cores to see a thread count change")
def test_threads_bounds_the_threads_a_solve_starts():
    import subprocess
    import sys
    import warnings

    import os

    # Without the thread limits Dask's LocalCluster leaves in os.environ
    # (OMP_NUM_THREADS=1 and the like) for its worker processes.
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}

    def run(arg):
        out = subprocess.run([sys.executable, "-W", "ignore", "-c", THREADS_CHILD, arg], capture_output=True,
                             text=True, timeout=300, env=env)
        assert out.returncode == 0, out.stderr
        threads, distance = out.stdout.split()
        return int(threads), float(distance)

    one, d1 = run("1")
    every, d_all = run("all")
    assert one < every  # OpenMP started its team only without the limit
    assert d1 == pytest.approx(d_all, rel=1e-5)
    with pytest.raises(omtcore.InvalidInputError, match="threads"):
        omtcore.scalar_omt(np.ones((4, 4)), np.ones((4, 4)), threads=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert omtcore.vector_omt(np.ones((4, 4, 2)), np.ones((4, 4, 2)), threads=1).distance == 0
