"""Vector OMT against exact references ("2. Vector OMT").

Anisotropic: POT's exact EMD with ground cost L1 + alpha d_G (references_vm.vector_emd).
Isotropic: the conic program solved by CLARABEL (references_vm.vector_cvxpy).
Every solve goes through check_vector_certificate: flux and exchange exactly
feasible, distance = their cost, potential dual feasible and giving
lower_bound, the exact value inside [lower_bound, distance].
"""

import functools

import numpy as np
import pytest

import omtcore
from references import emd_l1
from references_vm import check_vector_certificate, vector_cvxpy, vector_emd

MAX_ITER = 100_000  # stopping there is a ConvergenceWarning -> error
TOL = 1e-5
REL = 1e-3  # distance vs the exact value

GRAPHS = {
    "path": ([(0, 1), (1, 2)], None),
    "triangle": (None, None),                       # the default: all pairs
    "weighted": ([(0, 1), (1, 2), (0, 2)], [1.0, 0.5, 2.0]),
}


def pair(shape, k, seed, mask=None):
    rng = np.random.default_rng(seed)
    a = rng.random(shape + (k,)) * (rng.random(shape + (k,)) < 0.7)
    b = rng.random(shape + (k,))
    if mask is not None:
        a[~mask] = 0
        b[~mask] = 0
    return a, b * (a.sum() / b.sum())


def ring_mask(shape):
    m = np.ones(shape, dtype=bool)
    m[1:-1, 2] = False  # a wall with a gap at both ends: one part, geodesic paths
    return m


def solve(a, b, backend, dtype, tol=TOL, **kw):
    res = omtcore.vector_omt(a, b, tol=tol, max_iter=MAX_ITER, backend=backend, dtype=dtype, **kw)
    assert res.converged, (res.gap, res.residual, res.iterations)
    return res


@functools.lru_cache(maxsize=None)
def _emd(graph, alpha, masked, h):
    edges, weights = GRAPHS[graph]
    mask = ring_mask((5, 6)) if masked else None
    a, b = pair((5, 6), 3, seed=7, mask=mask)
    return a, b, mask, vector_emd(a, b, edges=edges, weights=weights, alpha=alpha, h=h, mask=mask)


@pytest.mark.parametrize("graph", sorted(GRAPHS))
@pytest.mark.parametrize("alpha", [0.0, 0.1, 1.0, 5.0])
@pytest.mark.parametrize("masked", [False, True], ids=["full", "mask"])
def test_anisotropic_equals_emd(backend, dtype, graph, alpha, masked):
    h = (1.0, 0.7) if masked else 1.0
    a, b, mask, exact = _emd(graph, alpha, masked, h)
    edges, weights = GRAPHS[graph]
    res = solve(a, b, backend, dtype, edges=edges, weights=weights, alpha=alpha, h=h,
                norm="anisotropic", mask=mask)
    check_vector_certificate(res, a, b, edges=edges, weights=weights, alpha=alpha, h=h,
                             norm="anisotropic", mask=mask, exact=exact, exact_rtol=1e-9, tol=TOL)
    assert res.distance == pytest.approx(exact, rel=REL)
    assert res.flux.shape == (2, 5, 6, 3)
    n_edges = 3 if edges is None else len(edges)
    assert res.exchange.shape == (n_edges, 5, 6) and res.potential.shape == (5, 6, 3)


def test_anisotropic_1d_and_3d(backend, dtype):
    for shape in [(12,), (3, 3, 4)]:
        a, b = pair(shape, 2, seed=len(shape))
        exact = vector_emd(a, b, alpha=0.3, h=0.5)
        res = solve(a, b, backend, dtype, alpha=0.3, h=0.5, norm="anisotropic")
        check_vector_certificate(res, a, b, alpha=0.3, h=0.5, norm="anisotropic", exact=exact, tol=TOL)


@functools.lru_cache(maxsize=None)
def _conic(k, alpha, masked, shape=(5, 4)):
    mask = ring_mask(shape) if masked else None
    a, b = pair(shape, k, seed=k, mask=mask)
    return a, b, mask, vector_cvxpy(a, b, alpha=alpha, mask=mask, norm="isotropic")


@pytest.mark.parametrize("k", [2, 3])
@pytest.mark.parametrize("alpha", [0.0, 0.5, 2.0])
def test_isotropic_equals_conic(backend, dtype, k, alpha):
    a, b, mask, exact = _conic(k, alpha, False)
    res = solve(a, b, backend, dtype, alpha=alpha)
    check_vector_certificate(res, a, b, alpha=alpha, norm="isotropic", exact=exact,
                             exact_rtol=1e-7, tol=TOL)
    assert res.distance == pytest.approx(exact, rel=REL)


def test_isotropic_masked_equals_conic(backend, dtype):
    a, b, mask, exact = _conic(3, 1.0, True, shape=(5, 6))
    res = solve(a, b, backend, dtype, alpha=1.0, mask=mask)
    check_vector_certificate(res, a, b, alpha=1.0, mask=mask, exact=exact, exact_rtol=1e-7, tol=TOL)


def photo_like(n, seed):
    """Smooth RGB images whose channels share most of their structure, as
    photographs do: the case where the isotropic lower bound used to lag."""
    from scipy.ndimage import gaussian_filter
    rng = np.random.default_rng(seed)
    base = gaussian_filter(rng.random((n, n)), n / 16)
    base = (base - base.min()) / np.ptp(base)
    img = np.stack([base * (0.6 + 0.8 * gaussian_filter(rng.random((n, n)), n / 8)) for _ in range(3)], -1)
    return (img + 0.02) / (img + 0.02).sum()


@functools.lru_cache(maxsize=None)
def _photo_pair(seed, n=32):
    a, b = photo_like(n, 2 * seed), photo_like(n, 2 * seed + 1)
    return a, b, vector_cvxpy(a, b, alpha=2.0 / n, norm="isotropic")


@pytest.mark.parametrize("seed", [0, 2])
def test_isotropic_photographs_certify_early(backend, dtype, seed):
    # The lower bound comes from one potential for all channels at once
    # (spatial and exchange constraints on the graph of cells and channels):
    # a few hundred iterations certify 1e-4, where channels made feasible one
    # at a time and scaled together needed 3,000 to 5,600 on these pairs.
    a, b, exact = _photo_pair(seed)
    res = omtcore.vector_omt(a, b, alpha=2.0 / 32, tol=1e-4, max_iter=1500, backend=backend, dtype=dtype)
    assert res.converged, (res.gap, res.residual, res.iterations)
    check_vector_certificate(res, a, b, alpha=2.0 / 32, norm="isotropic", exact=exact, exact_rtol=1e-7,
                             tol=1e-4)


@pytest.mark.parametrize("norm", ["isotropic", "anisotropic"])
def test_one_channel_is_scalar(backend, dtype, norm):
    rng = np.random.default_rng(3)
    a, b = rng.random((6, 5)), rng.random((6, 5))
    b *= a.sum() / b.sum()
    scalar = omtcore.scalar_omt(a, b, norm=norm, tol=1e-7, dtype="float64", max_iter=MAX_ITER)
    res = solve(a[..., None], b[..., None], backend, dtype, norm=norm)
    check_vector_certificate(res, a[..., None], b[..., None], norm=norm, tol=TOL)
    assert res.exchange.shape == (0, 6, 5)
    assert scalar.lower_bound * (1 - 1e-9) <= res.distance
    assert res.lower_bound <= scalar.distance * (1 + 1e-9)
    assert res.distance == pytest.approx(scalar.distance, rel=REL)


def test_no_edges_is_separate_scalar_problems(backend, dtype):
    rng = np.random.default_rng(4)
    a, b = rng.random((5, 5, 3)), rng.random((5, 5, 3))
    b *= a.sum(axis=(0, 1)) / b.sum(axis=(0, 1))  # balanced per channel
    exact = sum(emd_l1(a[..., c], b[..., c]) for c in range(3))
    res = solve(a, b, backend, dtype, edges=[], norm="anisotropic")
    check_vector_certificate(res, a, b, edges=[], norm="anisotropic", exact=exact, tol=TOL)


def test_free_exchange_is_scalar_of_channel_sums(backend, dtype):
    rng = np.random.default_rng(5)
    a, b = rng.random((5, 5, 3)), rng.random((5, 5, 3))
    b *= a.sum() / b.sum()
    exact = emd_l1(a.sum(-1), b.sum(-1))
    res = solve(a, b, backend, dtype, alpha=0.0, norm="anisotropic")
    check_vector_certificate(res, a, b, alpha=0.0, norm="anisotropic", exact=exact, tol=TOL)
    # alpha = 0: the potential is the same on every channel of a cell
    assert np.allclose(res.potential, res.potential[..., :1], rtol=0, atol=1e-12)


@pytest.mark.parametrize("norm", ["isotropic", "anisotropic"])
def test_two_cells_by_hand(backend, dtype, norm):
    # 1D, two cells of spacing h, two channels joined by one edge of weight w:
    # a unit in (cell 0, channel 0) must end in (cell 1, channel 1), so it
    # moves once in space (cost h, either norm in 1D) and changes channel
    # once (alpha w): value h + alpha w. The potential phi(0, 0) = 0,
    # phi(1, 0) = h, phi(1, 1) = h + alpha w is feasible with that objective.
    h, alpha, w = 0.5, 0.3, 2.0
    a = np.array([[1.0, 0.0], [0.0, 0.0]])
    b = np.array([[0.0, 0.0], [0.0, 1.0]])
    res = solve(a, b, backend, dtype, edges=[(0, 1)], weights=[w], alpha=alpha, h=h, norm=norm)
    check_vector_certificate(res, a, b, edges=[(0, 1)], weights=[w], alpha=alpha, h=h, norm=norm,
                             exact=h + alpha * w, tol=TOL)
    # Only the channel change: a unit in channel 0 of cell 0 becomes channel 1
    # there, through the 2-edge path 0-2-1 (weights 1 + 1) rather than the
    # direct edge of weight 3: value 2 alpha.
    a = np.array([[1.0, 0.0, 0.0]])
    b = np.array([[0.0, 1.0, 0.0]])
    edges, weights = [(0, 1), (0, 2), (2, 1)], [3.0, 1.0, 1.0]
    res = solve(a, b, backend, dtype, edges=edges, weights=weights, alpha=alpha, norm=norm)
    check_vector_certificate(res, a, b, edges=edges, weights=weights, alpha=alpha, norm=norm,
                             exact=2 * alpha, tol=TOL)


@pytest.mark.parametrize("norm", ["isotropic", "anisotropic"])
def test_plain_pdhg_agrees(backend, norm):
    a, b = pair((4, 5), 3, seed=9)
    auto = solve(a, b, backend, "float64", alpha=0.5, norm=norm, tol=1e-4)
    plain = solve(a, b, backend, "float64", alpha=0.5, norm=norm, tol=1e-4, method="pdhg")
    for r in (auto, plain):
        check_vector_certificate(r, a, b, alpha=0.5, norm=norm, tol=1e-4)
    assert plain.method == "pdhg" and auto.method == "auto"
    # Both brackets hold the optimum, so they overlap.
    assert max(auto.lower_bound, plain.lower_bound) <= min(auto.distance, plain.distance) * (1 + 1e-12)
    assert plain.distance == pytest.approx(auto.distance, rel=2e-4)


def test_layouts_and_types(backend):
    a, b = pair((4, 3), 3, seed=1)
    res = omtcore.vector_omt(a, 2 * b, backend=backend, edges=[(1, 2), (0, 1)], alpha=0.5,
                             tol=1e-3, normalize=True)
    assert res.flux.dtype == np.float64 and res.flux.shape == (2, 4, 3, 3)
    assert res.exchange.shape == (2, 4, 3)
    assert res.potential.shape == (4, 3, 3)


# ---------------------------------------------------------------- bad input


def raises_invalid(match, a, b, backend, **kw):
    with pytest.raises(omtcore.InvalidInputError, match=match):
        omtcore.vector_omt(a, b, backend=backend, **kw)


def test_channel_count_mismatch(backend):
    a, b = pair((4, 4), 3, seed=0)
    raises_invalid("same shape", a, b[..., :2], backend)


def test_edge_names_unknown_channel(backend):
    a, b = pair((4, 4), 3, seed=0)
    raises_invalid("outside 0..2", a, b, backend, edges=[(0, 3)])
    raises_invalid("outside 0..2", a, b, backend, edges=[(-1, 2)])


def test_self_loop(backend):
    a, b = pair((4, 4), 3, seed=0)
    raises_invalid("self loop", a, b, backend, edges=[(0, 1), (2, 2)])


def test_edges_not_pairs(backend):
    a, b = pair((4, 4), 3, seed=0)
    raises_invalid("pairs", a, b, backend, edges=[(0, 1, 2)])


def test_weights_wrong_length(backend):
    a, b = pair((4, 4), 3, seed=0)
    raises_invalid("one value per edge", a, b, backend, weights=[1.0, 2.0])


@pytest.mark.parametrize("w", [0.0, -1.0, float("nan")])
def test_weights_not_positive(backend, w):
    a, b = pair((4, 4), 3, seed=0)
    raises_invalid("positive", a, b, backend, weights=[1.0, w, 1.0])


@pytest.mark.parametrize("alpha", [-0.1, float("inf"), float("nan")])
def test_bad_alpha(backend, alpha):
    a, b = pair((4, 4), 3, seed=0)
    raises_invalid("alpha", a, b, backend, alpha=alpha)


def test_imbalance_per_component(backend):
    # Channels {0, 1} joined, channel 2 alone: equal grand totals, but
    # channel 2 carries different mass in a and b.
    rng = np.random.default_rng(0)
    a, b = rng.random((4, 4, 3)), rng.random((4, 4, 3))
    b *= a.sum() / b.sum()
    raises_invalid(r"unbalanced channel component \{(0, 1|2)\}", a, b, backend, edges=[(0, 1)])


def test_imbalance_per_masked_part(backend):
    mask = np.ones((4, 5), dtype=bool)
    mask[:, 2] = False  # two parts
    a, b = pair((4, 5), 2, seed=0, mask=mask)
    b[:, :2] *= 1.5
    b *= a.sum() / b.sum()
    raises_invalid("part", a, b, backend, mask=mask)


def test_negative_and_nan_mass(backend):
    a, b = pair((4, 4), 2, seed=0)
    a[1, 2, 1] = -0.5
    raises_invalid("negative mass", a, b, backend)
    a[1, 2, 1] = np.nan
    raises_invalid("non-finite", a, b, backend)


def test_mass_outside_mask(backend):
    a, b = pair((4, 4), 2, seed=0)
    mask = np.ones((4, 4), dtype=bool)
    mask[0, 0] = False
    raises_invalid("outside the mask", a, b, backend, mask=mask)


def test_grid_shape(backend):
    raises_invalid("grid axes", np.ones(3), np.ones(3), backend)
