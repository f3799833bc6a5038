"""Batches (batch=1): B problems of one grid in one call.

Each problem's answer must be the one its single solve gives (bit for bit on
the CPU backend with threads=1, the batch's one thread per problem), every
bracket must hold an independent reference value (POT's exact emd2, cvxpy /
CLARABEL for the isotropic scalar problems), and bad input must be refused
before any work with the problems' indices named.
"""


import numpy as np
import pytest

import omtcore
from references import cvxpy_isotropic, emd_l1, min_cost_flow_l1
from references_vm import vector_emd
from conftest import use_backend

RNG = np.random.default_rng(20261203)


def pairs(count, shape, rng=RNG):
    a = rng.random((count, *shape)) ** 3
    b = rng.random((count, *shape)) ** 3
    a /= a.reshape(count, -1).sum(axis=1).reshape((count,) + (1,) * len(shape))
    b /= b.reshape(count, -1).sum(axis=1).reshape((count,) + (1,) * len(shape))
    return a, b


def psd_pairs(count, grid, k, rng=RNG):
    def one():
        X = rng.normal(size=(*grid, k, k)) + 1j * rng.normal(size=(*grid, k, k))
        M = X @ np.conj(np.swapaxes(X, -1, -2))
        return M / np.trace(M, axis1=-2, axis2=-1).real.sum()
    return np.stack([one() for _ in range(count)]), np.stack([one() for _ in range(count)])


def single_options(backend):
    # The batch runs each small CPU problem on one thread.
    return dict(threads=1) if backend == "cpu" else {}


def assert_same(batch, singles, fields=True):
    for q, one in enumerate(singles):
        assert batch.distance[q] == one.distance
        assert batch.lower_bound[q] == one.lower_bound
        assert batch.gap[q] == one.gap
        assert batch.residual[q] == one.residual
        assert batch.iterations[q] == one.iterations
        assert batch.converged[q] == one.converged
        assert batch.levels[q] == one.levels
        if fields:
            np.testing.assert_array_equal(batch.flux[q], one.flux)
            np.testing.assert_array_equal(batch.potential[q], one.potential)
            if one.exchange is not None:
                np.testing.assert_array_equal(batch.exchange[q], one.exchange)
            if one.source is not None:
                np.testing.assert_array_equal(batch.source[q], one.source)


@pytest.mark.parametrize("norm", ["anisotropic", "isotropic"])
def test_scalar_batch_equals_single_solves_and_holds_references(backend, norm):
    a, b = pairs(5, (9, 7))
    a[3] = b[3]  # a == b: distance 0 and gap 0, like a single solve
    kw = dict(norm=norm, tol=1e-5, dtype="float64", backend=backend)
    res = omtcore.scalar_omt(a, b, batch=1, **kw)
    assert res.distance.shape == res.lower_bound.shape == res.iterations.shape == (5,)
    assert res.flux.shape == (5, 2, 9, 7) and res.potential.shape == (5, 9, 7) and res.exchange is None
    assert res.converged.dtype == bool and res.converged.all()
    assert res.backend == backend and isinstance(res.seconds, float)
    assert res.distance[3] == 0 and res.gap[3] == 0
    assert_same(res, [omtcore.scalar_omt(a[q], b[q], **kw, **single_options(backend)) for q in range(5)])
    for q in (0, 1, 4):
        exact = emd_l1(a[q], b[q]) if norm == "anisotropic" else cvxpy_isotropic(a[q], b[q])
        slack = 1e-9 if norm == "anisotropic" else 1e-6  # CLARABEL's optimum to its own tolerance
        assert res.lower_bound[q] <= exact * (1 + slack) and exact * (1 - slack) <= res.distance[q]


@pytest.mark.parametrize("norm", ["anisotropic", "isotropic"])
def test_vector_batch_equals_single_solves(backend, norm):
    a, b = pairs(4, (6, 5, 3))
    kw = dict(norm=norm, alpha=0.5, tol=1e-5, dtype="float64", backend=backend)
    res = omtcore.vector_omt(a, b, batch=1, **kw)
    assert res.flux.shape == (4, 2, 6, 5, 3) and res.exchange.shape == (4, 3, 6, 5)
    assert res.potential.shape == (4, 6, 5, 3)
    assert_same(res, [omtcore.vector_omt(a[q], b[q], **kw, **single_options(backend)) for q in range(4)])
    if norm == "anisotropic":
        for q in range(4):
            exact = vector_emd(a[q], b[q], alpha=0.5)
            assert res.lower_bound[q] <= exact * (1 + 1e-9) and exact * (1 - 1e-9) <= res.distance[q]


@pytest.mark.parametrize("matrix_norm", ["frobenius", "nuclear"])
def test_matrix_batch_equals_single_solves(backend, matrix_norm):
    A, B = psd_pairs(3, (5, 4), 2)
    kw = dict(matrix_norm=matrix_norm, tol=1e-4, dtype="float64", backend=backend)
    res = omtcore.matrix_omt(A, B, batch=1, **kw)
    assert res.flux.shape == (3, 2, 5, 4, 2, 2) and res.flux.dtype == np.complex128
    assert res.exchange.shape == (3, 3, 5, 4, 2, 2) and res.potential.shape == (3, 5, 4, 2, 2)
    assert_same(res, [omtcore.matrix_omt(A[q], B[q], **kw, **single_options(backend)) for q in range(3)])


def test_unbalanced_masked_float32_batch_equals_single_solves():
    a, b = pairs(4, (8, 8))
    b[1] *= 1.7  # need not balance
    mask = np.ones((4, 8, 8), bool)
    mask[:, 3, 1:7] = False
    mask[2, :, 4] = False  # a per-problem mask
    a[~mask] = 0
    b[~mask] = 0
    kw = dict(norm="anisotropic", unbalanced=3.0, tol=1e-4)
    res = omtcore.scalar_omt(a.astype(np.float32), b.astype(np.float32), mask=mask, batch=1, **kw)
    assert res.source.shape == (4, 8, 8)
    assert_same(res, [omtcore.scalar_omt(a[q].astype(np.float32), b[q].astype(np.float32), mask=mask[q],
                                         threads=1, **kw) for q in range(4)])
    # One mask for every problem (the grid's shape) is the same as repeating it.
    shared = mask[0]
    one = omtcore.scalar_omt(a, b * shared, mask=shared, batch=1, fields=False, **kw)
    many = omtcore.scalar_omt(a, b * shared, mask=np.broadcast_to(shared, mask.shape), batch=1, fields=False, **kw)
    np.testing.assert_array_equal(one.distance, many.distance)


def test_fields_false_keeps_the_numbers_and_drops_the_arrays():
    a, b = pairs(3, (10, 10))
    full = omtcore.scalar_omt(a, b, norm="anisotropic", batch=1)
    bare = omtcore.scalar_omt(a, b, norm="anisotropic", batch=1, fields=False)
    assert bare.flux is None and bare.potential is None and bare.exchange is None and bare.source is None
    np.testing.assert_array_equal(bare.distance, full.distance)
    np.testing.assert_array_equal(bare.lower_bound, full.lower_bound)
    single = omtcore.scalar_omt(a[0], b[0], norm="anisotropic", fields=False)
    assert single.flux is None and single.potential is None and single.distance > 0


def test_bad_problems_are_named_before_any_work():
    a, b = pairs(6, (5, 5))
    a[2, 1, 1] = -1.0
    b[4] *= 2.0
    calls = []
    with pytest.raises(omtcore.InvalidInputError, match=r"problems 2, 4: problem 2: .*negative") as info:
        omtcore.scalar_omt(a, b, batch=1, callback=lambda *args: calls.append(args))
    assert "problem 2" in str(info.value)
    assert calls == []  # nothing ran
    with pytest.raises(omtcore.InvalidInputError, match="batch must be 0"):
        omtcore.scalar_omt(a, b, batch=2)
    with pytest.raises(omtcore.InvalidInputError, match=r"shape \(B, \*grid\)"):
        omtcore.scalar_omt(a[0, 0], b[0, 0], batch=1)
    with pytest.raises(omtcore.InvalidInputError, match="B >= 1"):
        omtcore.scalar_omt(a[:0], b[:0], batch=1)
    with pytest.raises(omtcore.InvalidInputError, match=r"\(B, \*grid, k\)"):
        omtcore.vector_omt(a[:, 0], b[:, 0], batch=1)
    with pytest.raises(omtcore.InvalidInputError, match="mask"):
        omtcore.scalar_omt(a, b, batch=1, mask=np.ones((3, 5, 5), bool))
    with pytest.raises(omtcore.InvalidInputError, match="progress=True .* batch=1"):
        omtcore.scalar_omt(a[0], b[0], progress=True)
    with pytest.raises(omtcore.InvalidInputError, match="fields"):
        omtcore.scalar_omt(a[0], b[0], fields="no")
    ok_a, ok_b = pairs(2, (5, 5))
    start = omtcore.scalar_omt(ok_a[0], ok_b[0])
    with pytest.raises(omtcore.InvalidInputError, match="batch of 2 .* got a single solve"):
        omtcore.scalar_omt(ok_a, ok_b, batch=1, init=start)
    three = omtcore.scalar_omt(*pairs(3, (5, 5)), batch=1)
    with pytest.raises(omtcore.InvalidInputError, match="batch of 3"):
        omtcore.scalar_omt(ok_a, ok_b, batch=1, init=three)
    bare = omtcore.scalar_omt(ok_a, ok_b, batch=1, fields=False)
    with pytest.raises(omtcore.InvalidInputError, match="fields=True"):
        omtcore.scalar_omt(ok_a, ok_b, batch=1, init=bare)
    other = omtcore.scalar_omt(*pairs(2, (5, 6)), batch=1)
    with pytest.raises(omtcore.InvalidInputError, match="problem 0 of|problems 0, 1"):
        omtcore.scalar_omt(ok_a, ok_b, batch=1, init=other)  # another grid: refused before any work


def test_callback_reports_each_problem_and_stops_the_batch():
    a, b = pairs(6, (12, 12))
    seen = set()

    def note(problem, iteration, gap, residual):
        assert iteration > 0 and 0 <= gap <= 1 and residual >= 0
        seen.add(problem)

    res = omtcore.scalar_omt(a, b, norm="anisotropic", batch=1, callback=note)
    assert seen == set(range(6)) and res.converged.all()

    stopped = omtcore.scalar_omt(a, b, norm="anisotropic", batch=1, threads=1, callback=lambda *args: False)
    assert not stopped.converged.any()
    assert np.isinf(stopped.distance).sum() >= 4  # not started: the bracket [0, inf]
    assert (stopped.lower_bound <= res.distance * (1 + 1e-9)).all()
    assert (stopped.distance >= res.lower_bound * (1 - 1e-9)).all()

    def fail(*args):
        raise ZeroDivisionError("from the callback")

    with pytest.raises(ZeroDivisionError, match="from the callback"):
        omtcore.scalar_omt(a, b, batch=1, callback=fail)


def test_progress_bar_appears_and_changes_nothing(capsys):
    a, b = pairs(5, (8, 8))
    quiet = omtcore.scalar_omt(a, b, norm="anisotropic", batch=1)
    shown = omtcore.scalar_omt(a, b, norm="anisotropic", batch=1, progress=True)
    err = capsys.readouterr().err
    assert "omtcore.scalar_omt" in err and "5/5" in err
    np.testing.assert_array_equal(quiet.distance, shown.distance)
    np.testing.assert_array_equal(quiet.flux, shown.flux)


def test_max_iter_warning_names_the_problems():
    a, b = pairs(4, (16, 16))
    a[1] = b[1]
    with pytest.warns(omtcore.ConvergenceWarning, match=r"3 of 4 problems \(indices 0, 2, 3\)"):
        res = omtcore.scalar_omt(a, b, norm="isotropic", batch=1, max_iter=5, method="adaptive")
    assert res.converged.tolist() == [False, True, False, False]
    assert (res.lower_bound <= res.distance).all()


def test_warm_starts_one_per_problem_of_an_earlier_batch():
    # A gradient-flow step: the next batch starts from the last one's results.
    a, b = pairs(4, (12, 12))
    kw = dict(norm="anisotropic", tol=1e-6, dtype="float64")
    first = omtcore.scalar_omt(a, b, batch=1, **kw)
    step = 0.02 * (b - a)
    cold = omtcore.scalar_omt(a + step, b, batch=1, **kw)
    warm = omtcore.scalar_omt(a + step, b, batch=1, init=first, **kw)
    assert warm.converged.all()
    for q in range(4):
        exact = emd_l1(a[q] + step[q], b[q])
        assert warm.lower_bound[q] <= exact * (1 + 1e-9) and exact * (1 - 1e-9) <= warm.distance[q]
        # the same as that problem's single warm-started solve
        single = omtcore.scalar_omt(a[q] + step[q], b[q], threads=1,
                                    init=omtcore.scalar_omt(a[q], b[q], threads=1, **kw), **kw)
        assert warm.distance[q] == single.distance and warm.iterations[q] == single.iterations
    assert warm.iterations.sum() < cold.iterations.sum()


@pytest.mark.parametrize("name", ["opencl", "cuda"])
def test_device_batches_step_together_as_single_solves(name):
    # Device backends step a batch's problems of one operator together (one
    # launch per step for all of them); problems of another mask form a run
    # of their own. Each answer must still be its single solve's, bit for
    # bit: a == b, warm starts, per-problem masks, the multilevel warm start
    # (72 x 66 has a coarse level), float32.
    backend = use_backend(name)
    i, j = np.indices((72, 66))
    a = np.stack([np.exp(-((i - 20 - 3 * q) ** 2 + (j - 25) ** 2) / 60.0) + 0.02 for q in range(5)])
    b = np.stack([np.exp(-((i - 50) ** 2 + (j - 40 + 2 * q) ** 2) / 90.0) + 0.02 for q in range(5)])
    mask = np.ones((5, 72, 66), bool)
    mask[1, 10:60, 30] = False  # problems 1 and 4 share a mask, the others the rectangle
    mask[4] = mask[1]
    a[~mask] = 0
    b[~mask] = 0
    a /= a.reshape(5, -1).sum(axis=1)[:, None, None]
    b /= b.reshape(5, -1).sum(axis=1)[:, None, None]
    a[3] = b[3]
    kw = dict(norm="anisotropic", tol=1e-4, backend=backend)
    res = omtcore.scalar_omt(a, b, mask=mask, batch=1, **kw)
    singles = [omtcore.scalar_omt(a[q], b[q], mask=mask[q], **kw) for q in range(5)]
    assert_same(res, singles)
    assert res.levels.max() >= 2 and res.iterations[3] == 0 and res.distance[3] == 0
    # The exact value (min-cost flow on the masked grid graph, HiGHS) inside each bracket.
    exact = np.array([min_cost_flow_l1(a[q], b[q], mask=mask[q]) for q in range(5)])

    def holds_exact(r):
        return (r.lower_bound <= exact * (1 + 1e-6)).all() and (exact * (1 - 1e-6) <= r.distance).all()

    assert holds_exact(res)
    # Warm starts from that batch, one per problem, as their single warm-started solves.
    warm = omtcore.scalar_omt(a, b, mask=mask, batch=1, init=res, **kw)
    for q in range(5):
        single = omtcore.scalar_omt(a[q], b[q], mask=mask[q], init=singles[q], **kw)
        assert warm.distance[q] == single.distance and warm.iterations[q] == single.iterations
    assert holds_exact(warm)
    # A callback that stops: every problem stopped, with a rigorous bracket.
    stopped = omtcore.scalar_omt(a, b, mask=mask, batch=1, callback=lambda *args: False, **kw)
    assert (stopped.iterations <= 25).all()  # every problem stopped at the first check
    assert (stopped.lower_bound <= res.distance * (1 + 1e-9)).all()
    assert (stopped.distance >= res.lower_bound * (1 - 1e-9)).all()
    assert holds_exact(stopped)
