"""The vector / matrix references check each other, the scalar references and
hand-derived values, and the certificate checkers reject bad results.

Nothing here calls omtcore: these tests make sure the oracles used by the
vector and matrix tests are right and strict.
"""

import dataclasses

import numpy as np
import pytest

from references import FakeResult, beckmann_cvxpy, cvxpy_isotropic, emd_l1
from references_vm import (
    channel_distances,
    check_matrix_certificate,
    check_vector_certificate,
    commutant_basis,
    default_edges,
    gell_mann,
    herm_basis,
    matrix_cvxpy,
    rebalance_matrix,
    rebalance_vector,
    vector_cvxpy,
    vector_emd,
)

SX = np.array([[0, 1], [1, 0]], dtype=complex)
SY = np.array([[0, -1j], [1j, 0]])
SZ = np.array([[1, 0], [0, -1]], dtype=complex)


def as_result(sol):
    """A FakeResult carrying a reference's certified solution."""
    gap = 0.0 if sol.value == 0 else (sol.value - sol.lower_bound) / sol.value
    return FakeResult(sol.value, sol.lower_bound, gap, 0.0, sol.flux, sol.exchange,
                      sol.potential, True)


def with_lb(res, potential, lb):
    gap = (res.distance - lb) / res.distance
    return dataclasses.replace(res, potential=potential, lower_bound=lb, gap=gap)


def rand_vec(shape, k, seed, mask=None, edges=None):
    rng = np.random.default_rng(seed)
    a = rng.random(shape + (k,))
    b = rng.random(shape + (k,)) * (rng.random(shape + (k,)) < 0.6)
    if mask is not None:
        a = a * mask[..., None]
        b = b * mask[..., None]
    return a, rebalance_vector(a, b, edges, mask)


def rand_psd(shape, k, seed, real=False, mask=None):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal(shape + (k, k))
    if not real:
        X = X + 1j * rng.standard_normal(shape + (k, k))
    P = X @ np.swapaxes(X.conj(), -1, -2) / k
    if mask is not None:
        P = P * mask[..., None, None]
    return P


def rand_mat_pair(shape, k, seed, real=False, mask=None):
    A = rand_psd(shape, k, seed, real, mask)
    B = rand_psd(shape, k, seed + 1000, real, mask)
    B = B * (np.random.default_rng(seed).random(shape) < 0.6)[..., None, None]
    return A, rebalance_matrix(A, B, mask)


# ---------------------------------------------------------------- structures


def test_default_edges():
    assert default_edges(1) == []
    assert default_edges(2) == [(0, 1)]
    assert default_edges(3) == [(0, 1), (0, 2), (1, 2)]
    assert default_edges(4) == [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]


def test_gell_mann_pauli():
    L = gell_mann(2)
    assert len(L) == 3
    for got, want in zip(L, (SX, SY, SZ)):
        assert got.dtype == np.complex128
        np.testing.assert_array_equal(got, want)
    assert gell_mann(1) == []


def test_gell_mann_k3_is_the_standard_set():
    # standard lambda_1..lambda_8, reordered: symmetric, antisymmetric, diagonal
    lam = np.zeros((9, 3, 3), dtype=complex)
    lam[1][0, 1] = lam[1][1, 0] = 1
    lam[2][0, 1], lam[2][1, 0] = -1j, 1j
    lam[3] = np.diag([1, -1, 0])
    lam[4][0, 2] = lam[4][2, 0] = 1
    lam[5][0, 2], lam[5][2, 0] = -1j, 1j
    lam[6][1, 2] = lam[6][2, 1] = 1
    lam[7][1, 2], lam[7][2, 1] = -1j, 1j
    lam[8] = np.diag([1, 1, -2]) / np.sqrt(3)
    want = [lam[i] for i in (1, 4, 6, 2, 5, 7, 3, 8)]
    for got, w in zip(gell_mann(3), want):
        np.testing.assert_allclose(got, w, atol=1e-15)


@pytest.mark.parametrize("k", [2, 3, 4, 5])
def test_gell_mann_properties(k):
    L = np.array(gell_mann(k))
    assert L.shape == (k * k - 1, k, k)
    np.testing.assert_array_equal(L, np.swapaxes(L.conj(), -1, -2))
    np.testing.assert_allclose(np.trace(L, axis1=1, axis2=2), 0, atol=1e-15)
    gram = np.einsum("aij,bji->ab", L, L)
    np.testing.assert_allclose(gram, 2 * np.eye(k * k - 1), atol=1e-14)
    # irreducible: only multiples of the identity commute with every L_l
    C = commutant_basis(list(L), k)
    assert C.shape == (k * k, 1)
    basis = herm_basis(k)
    X = np.einsum("p,pab->ab", C[:, 0], basis)
    np.testing.assert_allclose(X / X[0, 0], np.eye(k), atol=1e-12)
    # the basis used for coordinates is orthonormal for Re tr(X^* Y)
    G = np.einsum("pja,qja->pq", basis.conj(), basis).real
    np.testing.assert_allclose(G, np.eye(k * k), atol=1e-15)
    # a diagonal-only L has a larger commutant (all diagonal matrices)
    assert commutant_basis(list(L[-(k - 1):]), k).shape[1] == k


def test_channel_distances():
    D = channel_distances(3, [(0, 1), (1, 2), (0, 2)], [5.0, 1.0, 1.0])
    np.testing.assert_array_equal(D, [[0, 2, 1], [2, 0, 1], [1, 1, 0]])
    D = channel_distances(4, [(0, 1), (2, 3)], [2.0, 0.5])
    assert D[0, 1] == 2.0 and D[2, 3] == 0.5 and np.isinf(D[0, 2])
    with pytest.raises(ValueError):
        channel_distances(3, [(0, 3)])
    with pytest.raises(ValueError):
        channel_distances(3, [(1, 1)])


# ------------------------------------------------- (1) vector: conic == exact

VECTOR_CASES = {
    # name: shape, k, edges, weights, h, mask-builder
    "1d_path": ((7,), 3, [(0, 1), (1, 2)], None, 0.7, None),
    "2d_triangle": ((4, 5), 3, None, None, (0.5, 2.0), None),
    "2d_weighted_mask": ((5, 4), 3, None, [1.0, 3.0, 0.5], (1.0, 0.3), "hole"),
    "two_parts_two_components": ((4, 5), 4, [(0, 1), (2, 3)], [2.0, 0.5], 1.0,
                                 "split"),
    "3d": ((3, 3, 2), 2, [(0, 1)], [1.5], (1.0, 0.5, 2.0), None),
}


def vector_case(name, seed=0):
    shape, k, edges, w, h, mk = VECTOR_CASES[name]
    mask = None
    if mk == "hole":
        mask = np.ones(shape, dtype=bool)
        mask[1:4, 1:3] = False
        mask[1:4, 1] = True  # a U-shaped obstacle: paths go around
    elif mk == "split":
        mask = np.ones(shape, dtype=bool)
        mask[:, 2] = False
    a, b = rand_vec(shape, k, seed, mask, edges)
    return a, b, edges, w, h, mask


@pytest.mark.parametrize("alpha", [0.0, 0.1, 1.0, 5.0])
@pytest.mark.parametrize("case", list(VECTOR_CASES))
def test_vector_anisotropic_conic_equals_emd(case, alpha):
    a, b, edges, w, h, mask = vector_case(case)
    exact = vector_emd(a, b, edges, w, alpha, h, mask)
    sol = vector_cvxpy(a, b, edges, w, alpha, h, mask, norm="anisotropic",
                       return_solution=True)
    assert sol.value == pytest.approx(exact, rel=1e-6)
    # the conic solution is a valid certificate of the exact value
    check_vector_certificate(as_result(sol), a, b, edges, w, alpha, h,
                             "anisotropic", mask, exact=exact, exact_rtol=1e-9)
    # isotropic: per cell N_iso <= N_aniso <= sqrt(d) N_iso (equal in 1D),
    # the channel term is the same
    iso = vector_cvxpy(a, b, edges, w, alpha, h, mask)
    d = a.ndim - 1
    assert iso <= exact * (1 + 1e-7)
    assert exact <= np.sqrt(d) * iso * (1 + 1e-7)


@pytest.mark.parametrize("case", ["2d_weighted_mask", "two_parts_two_components"])
def test_vector_isotropic_certificate(case):
    a, b, edges, w, h, mask = vector_case(case, seed=3)
    sol = vector_cvxpy(a, b, edges, w, 0.4, h, mask, return_solution=True)
    check_vector_certificate(as_result(sol), a, b, edges, w, 0.4, h, "isotropic",
                             mask, exact=sol.value, exact_rtol=1e-8, tol=1e-8)
    # a slightly too steep potential is caught by the isotropic dual norm
    phi = sol.potential * (1 + 1e-6)
    bad = with_lb(as_result(sol), phi, float(np.sum(phi * (b - a))))
    with pytest.raises(AssertionError, match="not dual feasible"):
        check_vector_certificate(bad, a, b, edges, w, 0.4, h, "isotropic", mask)
    aniso = vector_cvxpy(a, b, edges, w, 0.4, h, mask, norm="anisotropic")
    # per cell N_iso <= N_aniso <= sqrt(d) N_iso
    assert sol.value <= aniso * (1 + 1e-8)
    assert aniso <= np.sqrt(2) * sol.value * (1 + 1e-8)
    assert sol.value < aniso * (1 - 1e-3)


def test_vector_parameters_matter():
    """The tests above are not vacuous: alpha, the graph and the mask change
    the value, and exchange between channels is used."""
    a, b, edges, w, h, mask = vector_case("2d_weighted_mask")
    vals = [vector_emd(a, b, edges, w, al, h, mask) for al in (0.0, 0.1, 1.0, 5.0)]
    assert all(v1 < v2 * (1 - 1e-3) for v1, v2 in zip(vals, vals[1:]))
    # per-channel balanced inputs: keeping channels apart is feasible (an
    # upper bound) and optimal once alpha c_min exceeds every path length
    # (swap the targets of two cross-channel moves); cheap exchange helps.
    a1, b1 = rand_vec(a.shape[:-1], 3, 2, mask, edges=[])
    sep = sum(emd_l1(a1[..., c], b1[..., c], h, mask) for c in range(3))
    assert vector_emd(a1, b1, edges, w, 100.0, h, mask) == pytest.approx(sep,
                                                                         rel=1e-9)
    assert vector_emd(a1, b1, edges, w, 0.1, h, mask) < sep * (1 - 1e-2)
    assert vector_emd(a, b, edges, [1.0, 1.0, 1.0], 1.0, h, mask) != pytest.approx(
        vals[2], rel=1e-3)  # weights matter
    # the obstacle matters: without the mask, paths are shorter
    assert vector_emd(a, b, edges, w, 1.0, h, None) < vals[2] * (1 - 1e-3)


# ----------------------------------------- (2) vector vs the scalar references


@pytest.mark.parametrize("mask_kind", [None, "split"])
def test_vector_k1_is_scalar(mask_kind):
    shape, h = (5, 4), (0.6, 1.3)
    mask = None
    if mask_kind:
        mask = np.ones(shape, dtype=bool)
        mask[2, :3] = False
    a, b = rand_vec(shape, 1, 7, mask)
    exact = emd_l1(a[..., 0], b[..., 0], h, mask)
    assert vector_emd(a, b, [], None, 1.0, h, mask) == pytest.approx(exact, rel=1e-12)
    assert vector_cvxpy(a, b, [], None, 1.0, h, mask, norm="anisotropic") == \
        pytest.approx(exact, rel=1e-7)
    assert vector_cvxpy(a, b, [], None, 1.0, h, mask) == pytest.approx(
        cvxpy_isotropic(a[..., 0], b[..., 0], h, mask), rel=1e-7)


@pytest.mark.parametrize("norm", ["isotropic", "anisotropic"])
def test_vector_no_edges_is_sum_of_scalar(norm):
    shape, h, k = (4, 4), (1.0, 0.5), 3
    rng = np.random.default_rng(11)
    a = rng.random(shape + (k,))
    b = rng.random(shape + (k,))  # unbalanced per channel: rebalanced per channel
    want = sum(beckmann_cvxpy(a[..., c], b[..., c], h, norm=norm) for c in range(k))
    assert vector_cvxpy(a, b, [], None, 2.0, h, norm=norm) == pytest.approx(
        want, rel=1e-7)
    if norm == "anisotropic":
        assert vector_emd(a, b, [], None, 2.0, h) == pytest.approx(want, rel=1e-7)


@pytest.mark.parametrize("norm", ["isotropic", "anisotropic"])
def test_vector_alpha0_is_scalar_of_channel_sums(norm):
    shape, h, k = (4, 5), (0.8, 1.1), 4
    edges = [(0, 1), (1, 2)]  # components {0, 1, 2} and {3}
    a, b = rand_vec(shape, k, 5, edges=edges)
    want = (beckmann_cvxpy(a[..., :3].sum(-1), b[..., :3].sum(-1), h, norm=norm)
            + beckmann_cvxpy(a[..., 3], b[..., 3], h, norm=norm))
    sol = vector_cvxpy(a, b, edges, [1.0, 7.0], 0.0, h, norm=norm,
                       return_solution=True)
    assert sol.value == pytest.approx(want, rel=1e-7)
    check_vector_certificate(as_result(sol), a, b, edges, [1.0, 7.0], 0.0, h, norm,
                             exact=want, exact_rtol=1e-7)
    # alpha = 0 potential: equal across the channels of a component
    phi = sol.potential
    assert np.array_equal(phi[..., 0], phi[..., 1]) and np.array_equal(
        phi[..., 0], phi[..., 2])
    if norm == "anisotropic":
        assert vector_emd(a, b, edges, None, 0.0, h) == pytest.approx(want, rel=1e-7)


# -------------------------------------------------- (3) hand-derived values


@pytest.mark.parametrize("alpha", [0.0, 0.3, 2.0])
@pytest.mark.parametrize("h", [1.0, 0.7])
def test_vector_two_cells_hand(alpha, h):
    # 1D, two cells, k = 2, one edge of weight c = 1.5.  Unit mass in channel 0
    # of cell 0 must end in channel 1 of cell 1: it crosses the face once (h)
    # and changes channel once (alpha c), in whichever cell: h + alpha c.
    # Dual: phi(0,0) = 0, phi(1,0) = h, phi(0,1) = alpha c, phi(1,1) = h + alpha c
    # meets every constraint with equality and gives the same value.
    c = 1.5
    a = np.zeros((2, 2))
    b = np.zeros((2, 2))
    a[0, 0] = b[1, 1] = 1.0
    want = h + alpha * c
    for norm in ("isotropic", "anisotropic"):  # 1D: the norms coincide
        assert vector_cvxpy(a, b, [(0, 1)], [c], alpha, h, norm=norm) == \
            pytest.approx(want, rel=1e-8, abs=1e-12)
    assert vector_emd(a, b, [(0, 1)], [c], alpha, h) == pytest.approx(want, abs=1e-12)
    # the hand-built exact certificate passes the checker
    F = np.zeros((1, 2, 2))
    F[0, 0, 0] = 1.0
    G = np.array([[0.0, 1.0]])  # in cell 1, channel 0 -> 1
    phi = np.array([[0.0, alpha * c], [h, h + alpha * c]])
    lb = float(np.sum(phi * (b - a)))
    res = FakeResult(want, lb, (want - lb) / want, 0.0, F, G, phi, True)
    check_vector_certificate(res, a, b, [(0, 1)], [c], alpha, h, "anisotropic",
                             exact=want, tol=1e-12)


def test_vector_isotropic_diagonal_hand_certificate():
    # 2x2 grid, one channel, unit mass (0,0) -> (1,1), h = 1.  Flux t along
    # axis 0 and 1 - t along axis 1 out of (0,0), then on to (1,1): cost
    # sqrt(t^2 + (1-t)^2) + 1, least at t = 1/2: 1 + 1/sqrt 2.  Dual phi(0,0) = 0,
    # phi(1,0) = phi(0,1) = 1/sqrt 2, phi(1,1) = 1 + 1/sqrt 2: cell (0,0) has
    # gradient (1/sqrt 2, 1/sqrt 2), isotropic dual norm 1; the others 1.
    a = np.zeros((2, 2, 1))
    b = np.zeros((2, 2, 1))
    a[0, 0] = b[1, 1] = 1.0
    r = 1 / np.sqrt(2)
    want = 1 + r
    F = np.zeros((2, 2, 2, 1))
    F[0, 0, 0] = F[1, 0, 0] = 0.5
    F[1, 1, 0] = F[0, 0, 1] = 0.5
    phi = np.array([[0.0, r], [r, 1 + r]])[..., None]
    G = np.zeros((0, 2, 2))
    res = FakeResult(want, want, 0.0, 0.0, F, G, phi, True)
    check_vector_certificate(res, a, b, [], None, 1.0, 1.0, "isotropic",
                             exact=want, tol=1e-12)
    assert vector_cvxpy(a, b, [], None, 1.0) == pytest.approx(want, rel=1e-8)
    # gradient (0.9, 0.9) at (0,0): within the max norm, not the isotropic one
    phi = np.array([[0.0, 0.9], [0.9, 1.9]])[..., None]
    bad = with_lb(res, phi, 1.9)
    with pytest.raises(AssertionError, match="not dual feasible"):
        check_vector_certificate(bad, a, b, [], None, 1.0, 1.0, "isotropic")


@pytest.mark.parametrize("alpha", [0.2, 0.7, 1.0, 3.0])
def test_vector_swap_hand(alpha):
    # cell 0 has channel 0, cell 1 channel 1; targets swapped.  Either move both
    # across the face (2h) or change channel in both cells (2 alpha c).
    # Dual phi(0,0) = phi(1,1) = 0, phi(0,1) = phi(1,0) = t = min(h, alpha c):
    # feasible, objective 2t.  Value min(2h, 2 alpha c).
    h, c = 0.8, 1.0
    a = np.array([[1.0, 0.0], [0.0, 1.0]])
    b = np.array([[0.0, 1.0], [1.0, 0.0]])
    want = min(2 * h, 2 * alpha * c)
    assert vector_cvxpy(a, b, [(0, 1)], [c], alpha, h) == pytest.approx(want, rel=1e-8)
    assert vector_emd(a, b, [(0, 1)], [c], alpha, h) == pytest.approx(want, rel=1e-12)


def test_vector_channel_detour_hand():
    # Triangle with c(0,1) = 5, c(1,2) = c(0,2) = 1: d_G(0, 1) = 2 via channel 2.
    edges, w = [(0, 1), (1, 2), (0, 2)], [5.0, 1.0, 1.0]
    alpha, h = 0.7, 0.9
    a = np.zeros((1, 3))
    b = np.zeros((1, 3))
    a[0, 0] = b[0, 1] = 2.0  # one cell: 2 units, 0 -> 1 in-cell: 2 * alpha * 2
    assert vector_cvxpy(a, b, edges, w, alpha) == pytest.approx(4 * alpha, rel=1e-8)
    assert vector_emd(a, b, edges, w, alpha) == pytest.approx(4 * alpha, rel=1e-12)
    a = np.zeros((2, 3))
    b = np.zeros((2, 3))
    a[0, 0] = b[1, 1] = 1.0  # two cells: h + 2 alpha
    want = h + 2 * alpha
    for norm in ("isotropic", "anisotropic"):
        assert vector_cvxpy(a, b, edges, w, alpha, h, norm=norm) == pytest.approx(
            want, rel=1e-8)
    assert vector_emd(a, b, edges, w, alpha, h) == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize("alpha", [0.5, 2.0])
def test_matrix_single_cell_pauli_hand(alpha):
    # One cell, A = diag(1, 0), B = diag(0, 1), L = Pauli: sum_l i[s_l, W_l]
    # must equal A - B = s_z.  Writing W_l = w_l0 I + w_l . s and using
    # [s_a, s_b] = 2i eps_abc s_c:
    #   i[s_x, W_x] = -2 W_x^y s_z + 2 W_x^z s_y,
    #   i[s_y, W_y] =  2 W_y^x s_z - 2 W_y^z s_x,
    #   i[s_z, W_z] = -2 W_z^x s_y + 2 W_z^y s_x,
    # so the s_z coefficient needs 2 (W_y^x - W_x^y) = 1; every other component
    # only adds cost.  With W_x = -t s_y, W_y = u s_x, t + u = 1/2:
    #   Frobenius: ||w . s||_F = sqrt(2) |w|  ->  alpha sqrt(2) (t + u) = alpha / sqrt 2
    #   nuclear:   ||w . s||_* = 2 |w|        ->  alpha 2 (t + u)       = alpha.
    # Duals: Phi = -p s_z, objective Re tr(Phi (B - A)) = 2p; i[s_x, Phi] =
    # -2p s_y (and i[s_y, Phi] = 2p s_x, i[s_z, Phi] = 0): Frobenius norm
    # 2 sqrt(2) p <= alpha gives p = alpha / (2 sqrt 2), value alpha / sqrt 2;
    # operator norm 2p <= alpha gives p = alpha / 2, value alpha.  They match.
    A = np.zeros((1, 2, 2))
    B = np.zeros((1, 2, 2))
    A[0, 0, 0] = B[0, 1, 1] = 1.0
    for nm, want in (("frobenius", alpha / np.sqrt(2)), ("nuclear", alpha)):
        sol = matrix_cvxpy(A, B, None, alpha, 1.0, matrix_norm=nm,
                           return_solution=True)
        assert sol.value == pytest.approx(want, rel=1e-7)
        check_matrix_certificate(as_result(sol), A, B, None, alpha, 1.0, nm,
                                 exact=want, exact_rtol=1e-8)
    # and exchange is free at alpha = 0
    assert matrix_cvxpy(A, B, None, 0.0, matrix_norm="nuclear") == pytest.approx(
        0, abs=1e-9)


@pytest.mark.parametrize("nm", ["frobenius", "nuclear"])
def test_matrix_single_cell_hand_certificate(nm):
    # The optimal pair derived above, written out: W_x = -s_y / 4,
    # W_y = s_x / 4 gives i[s_x, W_x] + i[s_y, W_y] = s_z / 2 + s_z / 2 = A - B
    # (this pins the sign convention of the commutator term), cost
    # alpha (||s_y / 4|| + ||s_x / 4||) = alpha / sqrt 2 (Frobenius), alpha
    # (nuclear); Phi = -p s_z with p = alpha / (2 sqrt 2), resp. alpha / 2.
    alpha = 0.8
    A = np.zeros((1, 2, 2))
    B = np.zeros((1, 2, 2))
    A[0, 0, 0] = B[0, 1, 1] = 1.0
    W = np.zeros((3, 1, 2, 2), dtype=complex)
    W[0, 0] = -SY / 4
    W[1, 0] = SX / 4
    want = alpha / np.sqrt(2) if nm == "frobenius" else alpha
    p = alpha / (2 * np.sqrt(2)) if nm == "frobenius" else alpha / 2
    Phi = (-p * SZ)[None]
    lb = float(np.trace(Phi[0] @ (B[0] - A[0])).real)
    assert lb == pytest.approx(want, rel=1e-15)
    res = FakeResult(want, lb, (want - lb) / want, 0.0,
                     np.zeros((1, 1, 2, 2), dtype=complex), W, Phi, True)
    check_matrix_certificate(res, A, B, None, alpha, 1.0, nm, exact=want, tol=1e-12)
    # the opposite sign of W violates the constraint as written
    with pytest.raises(AssertionError, match="constraint violated"):
        check_matrix_certificate(dataclasses.replace(res, exchange=-W), A, B, None,
                                 alpha, 1.0, nm)


@pytest.mark.parametrize("k,real", [(2, False), (3, False), (3, True)])
def test_matrix_two_cells_hand(k, real):
    # A(0) = B(1) = P (PSD), A(1) = B(0) = 0, 1D spacing h.  Trace is
    # conserved and only moves across the face, so U_0(0) has trace tr P.
    # Nuclear: ||U||_* >= |tr U| = tr P = ||P||_*, so the value is h tr P for
    # every alpha (U = P; dual Phi(0) = 0, Phi(1) = h I: commutes with all L).
    # Frobenius, alpha large: U = P costs h ||P||_F; dual Phi(1) = h P / ||P||_F
    # is feasible once alpha >= h max_l ||[L_l, P]||_F / ||P||_F, objective
    # h tr(P P) / ||P||_F = h ||P||_F.
    # Frobenius, alpha = 0: U = (tr P / k) I and free in-cell exchange of the
    # traceless rest, cost h tr P / sqrt k; dual Phi(1) = h I / sqrt k.
    h = 0.6
    P = rand_psd((), k, 21 + k, real=real)
    A = np.zeros((2, k, k), dtype=P.dtype)
    B = np.zeros((2, k, k), dtype=P.dtype)
    A[0] = B[1] = P
    L = gell_mann(k)
    frob = np.linalg.norm(P)
    tr = np.trace(P).real
    big = 1.01 * h * max(np.linalg.norm(Ll @ P - P @ Ll) for Ll in L) / frob
    for alpha in (0.0, 0.3, big):
        assert matrix_cvxpy(A, B, L, alpha, h, matrix_norm="nuclear") == \
            pytest.approx(h * tr, rel=1e-7)
    assert matrix_cvxpy(A, B, L, big, h) == pytest.approx(h * frob, rel=1e-7)
    assert matrix_cvxpy(A, B, L, 0.0, h) == pytest.approx(h * tr / np.sqrt(k),
                                                          rel=1e-7)
    mid = matrix_cvxpy(A, B, L, big / 20, h)
    assert h * tr / np.sqrt(k) * (1 + 1e-4) < mid < h * frob * (1 - 1e-4)


# ----------------------------------------------- (4) matrix vs scalar, balance


@pytest.mark.parametrize("mask_kind", [None, "split"])
def test_matrix_k1_is_scalar(mask_kind):
    shape, h = (4, 5), (0.7, 1.2)
    mask = None
    if mask_kind:
        mask = np.ones(shape, dtype=bool)
        mask[:, 2] = False
    a, b = rand_vec(shape, 1, 13, mask)
    A, B = a[..., None], b[..., None]
    assert gell_mann(1) == []
    assert matrix_cvxpy(A, B, None, 1.0, h, mask) == pytest.approx(
        cvxpy_isotropic(a[..., 0], b[..., 0], h, mask), rel=1e-7)
    assert matrix_cvxpy(A, B, [], 1.0, h, mask, matrix_norm="nuclear") == \
        pytest.approx(emd_l1(a[..., 0], b[..., 0], h, mask), rel=1e-7)


def test_matrix_diagonal_inputs_diagonal_L():
    # Diagonal inputs, L = the diagonal Gell-Mann matrices: every commutator
    # i[L_l, W] has zero diagonal, so each diagonal entry is conserved
    # separately.  With balanced diagonals, pinching (keeping the diagonal of
    # U) keeps feasibility and lowers the nuclear norm, so the value is the
    # sum of scalar L1 problems of the diagonal entries.
    shape, h, k = (4, 4), (1.0, 0.6), 3
    a, b = rand_vec(shape, k, 17, edges=[])  # balanced per channel
    A = np.einsum("...c,cd->...cd", a, np.eye(k))
    B = np.einsum("...c,cd->...cd", b, np.eye(k))
    Ldiag = gell_mann(k)[-(k - 1):]
    want = sum(emd_l1(a[..., c], b[..., c], h) for c in range(k))
    assert matrix_cvxpy(A, B, Ldiag, 1.0, h, matrix_norm="nuclear") == \
        pytest.approx(want, rel=1e-7)
    # the full Gell-Mann set can only help
    assert matrix_cvxpy(A, B, None, 1.0, h, matrix_norm="nuclear") <= want * (1 + 1e-8)

    # equal total trace but different diagonal totals: infeasible with
    # diagonal L (ValueError both from the balance check and from the solver)
    b2 = np.roll(a, 1, axis=-1)[::-1]
    B2 = np.einsum("...c,cd->...cd", b2, np.eye(k))
    assert np.trace(B2.sum(axis=(0, 1))) == pytest.approx(np.trace(A.sum(axis=(0, 1))))
    with pytest.raises(ValueError, match="infeasible"):
        matrix_cvxpy(A, B2, Ldiag, 1.0, h, matrix_norm="nuclear")
    with pytest.raises(ValueError, match="infeasible"):
        matrix_cvxpy(A, B2, Ldiag, 1.0, h, presolve_check=False)
    # ... but feasible with the full set (exchange moves mass between entries)
    assert matrix_cvxpy(A, B2, None, 1.0, h, matrix_norm="nuclear") > 0


def test_matrix_presolve_check_is_only_an_optimisation():
    A, B = rand_mat_pair((3, 3), 2, 31)
    for nm in ("frobenius", "nuclear"):
        v1 = matrix_cvxpy(A, B, None, 0.5, 0.4, matrix_norm=nm)
        v2 = matrix_cvxpy(A, B, None, 0.5, 0.4, matrix_norm=nm, presolve_check=False)
        assert v1 == pytest.approx(v2, rel=1e-7)


def test_imbalance_rules():
    A, B = rand_mat_pair((3, 3), 2, 41)
    v = matrix_cvxpy(A, B, alpha=0.5)
    assert matrix_cvxpy(A, B * (1 + 5e-7), alpha=0.5) == pytest.approx(v, rel=1e-7)
    with pytest.raises(ValueError, match="unbalanced"):
        matrix_cvxpy(A, B * (1 + 1e-4), alpha=0.5)
    a, b = rand_vec((3, 3), 2, 42)
    with pytest.raises(ValueError, match="unbalanced"):
        vector_cvxpy(a, b * (1 + 1e-4), imbalance_tol=1e-6)
    # default (as references.rebalance): scaled whatever the difference
    assert vector_emd(a, b * 3.0) == pytest.approx(vector_emd(a, b), rel=1e-12)
    b0 = b.copy()
    b0[..., 1] = 0.0
    with pytest.raises(ValueError, match="unbalanced"):
        vector_emd(a, b0, edges=[])  # channel 1 has mass only in a


def test_matrix_certificate_from_reference():
    # the reference's own (repaired, scaled) solution passes the checker,
    # for a complex and a real problem, a mask, both norms and alpha = 0
    mask = np.ones((3, 4), dtype=bool)
    mask[1, 1:3] = False
    for seed, k, real in ((51, 2, False), (52, 3, True)):
        A, B = rand_mat_pair((3, 4), k, seed, real=real, mask=mask)
        for nm in ("frobenius", "nuclear"):
            for alpha in (0.0, 0.7):
                sol = matrix_cvxpy(A, B, None, alpha, (0.5, 1.0), mask, nm,
                                   return_solution=True)
                check_matrix_certificate(as_result(sol), A, B, None, alpha,
                                         (0.5, 1.0), nm, mask, exact=sol.value,
                                         exact_rtol=1e-8, tol=1e-8)
                assert sol.lower_bound > 0


# ------------------------------------------ (5) the checkers reject bad results


def vector_valid():
    a, b, edges, w, h, mask = vector_case("2d_weighted_mask", seed=9)
    alpha = 0.5
    exact = vector_emd(a, b, edges, w, alpha, h, mask)
    sol = vector_cvxpy(a, b, edges, w, alpha, h, mask, norm="anisotropic",
                       return_solution=True)
    return as_result(sol), (a, b, edges, w, alpha, h, "anisotropic", mask), exact


VECTOR_DEFECTS = {
    "flux_infeasible": "constraint violated",
    "exchange_infeasible": "constraint violated",
    "flux_on_inactive_face": "inactive face",
    "exchange_outside_mask": "outside the mask",
    "distance_too_low": "cost of the returned flux",
    "potential_too_steep": "not dual feasible",
    "channel_constraint": "channel constraint",
    "potential_outside_mask": "potential non-zero outside",
    "lower_bound_wrong": "lower_bound",
    "gap_wrong": "gap",
    "exact_above_distance": "below the exact optimum",
    "exact_below_lower_bound": "above the exact optimum",
    "float32_flux": "dtype",
    "converged_but_gap_large": "converged",
}


def test_vector_checker_accepts_valid():
    res, args, exact = vector_valid()
    check_vector_certificate(res, *args, exact=exact, tol=1e-8)


@pytest.mark.parametrize("defect", list(VECTOR_DEFECTS))
def test_vector_checker_rejects(defect):
    res, args, exact = vector_valid()
    a, b, edges, w, alpha, h, norm, mask = args
    total = a.sum()
    F, G, phi = res.flux.copy(), res.exchange.copy(), res.potential.copy()
    kw = {"exact": exact}
    tol = None
    if defect == "flux_infeasible":
        F[0, 0, 0, 1] += 1e-7 * total
        res = dataclasses.replace(res, flux=F)
    elif defect == "exchange_infeasible":
        G[1, 0, 0] += 1e-7 * total
        res = dataclasses.replace(res, exchange=G)
    elif defect == "flux_on_inactive_face":
        F[0, -1, 0, 0] = 1e-3
        res = dataclasses.replace(res, flux=F)
    elif defect == "exchange_outside_mask":
        i = np.argwhere(~mask)[0]
        G[0, i[0], i[1]] = 1e-3
        res = dataclasses.replace(res, exchange=G)
    elif defect == "distance_too_low":
        res = dataclasses.replace(res, distance=res.distance * (1 - 1e-6))
    elif defect == "potential_too_steep":
        phi = phi * (1 + 1e-6)
        res = with_lb(res, phi, float(np.sum(phi * (b - a))))
    elif defect == "channel_constraint":
        # raise channel 2 by a constant on the domain: spatial gradients are
        # unchanged, the channel difference of edge (1, 2) exceeds alpha c
        s, t = default_edges(3)[2]
        assert edges is None and w[2] == 0.5
        excess = alpha * w[2] * (1 + 1e-6) - (phi[..., t] - phi[..., s])[mask].max()
        phi[..., t] += excess * mask
        res = with_lb(res, phi, float(np.sum(phi * (b - a))))
    elif defect == "potential_outside_mask":
        i = np.argwhere(~mask)[0]
        phi[i[0], i[1], 0] = 1e-3
        res = with_lb(res, phi, float(np.sum(phi * (b - a))))
    elif defect == "lower_bound_wrong":
        res = dataclasses.replace(res, lower_bound=res.lower_bound * (1 - 1e-6))
    elif defect == "gap_wrong":
        res = dataclasses.replace(res, gap=1e-3)
    elif defect == "exact_above_distance":
        kw["exact"] = exact * (1 + 1e-6)
    elif defect == "exact_below_lower_bound":
        kw["exact"] = exact * (1 - 1e-6)
    elif defect == "float32_flux":
        res = dataclasses.replace(res, flux=F.astype(np.float32))
    elif defect == "converged_but_gap_large":
        phi = phi * 0.99  # still feasible, bound 1% low
        res = with_lb(res, phi, float(np.sum(phi * (b - a))))
        check_vector_certificate(res, *args, **kw)  # valid but for tol
        tol = 1e-4
    with pytest.raises(AssertionError, match=VECTOR_DEFECTS[defect]):
        check_vector_certificate(res, *args, tol=tol, **kw)


def test_vector_checker_alpha0_needs_equal_channels():
    a, b, edges, w, h, mask = vector_case("1d_path", seed=4)
    sol = vector_cvxpy(a, b, edges, w, 0.0, h, mask, return_solution=True)
    res = as_result(sol)
    check_vector_certificate(res, a, b, edges, w, 0.0, h, "isotropic", mask)
    phi = sol.potential.copy()
    phi[..., 1] += 1e-9  # a constant: spatially harmless, breaks equality
    res = with_lb(res, phi, float(np.sum(phi * (b - a))))
    with pytest.raises(AssertionError, match="channel constraint"):
        check_vector_certificate(res, a, b, edges, w, 0.0, h, "isotropic", mask)


def matrix_valid(nm):
    mask = np.ones((3, 3), dtype=bool)
    mask[2, 2] = False
    A, B = rand_mat_pair((3, 3), 2, 61, mask=mask)
    alpha, h = 0.6, (1.0, 0.5)
    sol = matrix_cvxpy(A, B, None, alpha, h, mask, nm, return_solution=True)
    return as_result(sol), (A, B, None, alpha, h, nm, mask), sol.value


MATRIX_DEFECTS = {
    "flux_infeasible": "constraint violated",
    "exchange_infeasible": "constraint violated",
    "flux_not_hermitian": "not Hermitian",
    "flux_on_inactive_face": "inactive face",
    "exchange_outside_mask": "outside the mask",
    "distance_too_low": "cost of the returned flux",
    "potential_too_steep": "not dual feasible",
    "in_cell_constraint": "in-cell constraint",
    "potential_not_hermitian": "not Hermitian",
    "potential_outside_mask": "potential non-zero outside",
    "lower_bound_wrong": "lower_bound",
    "gap_wrong": "gap",
    "exact_above_distance": "below the exact optimum",
    "exact_below_lower_bound": "above the exact optimum",
    "complex64_flux": "dtype",
}


@pytest.mark.parametrize("nm", ["frobenius", "nuclear"])
def test_matrix_checker_accepts_valid(nm):
    res, args, exact = matrix_valid(nm)
    check_matrix_certificate(res, *args, exact=exact, exact_rtol=1e-8, tol=1e-8)


@pytest.mark.parametrize("nm", ["frobenius", "nuclear"])
@pytest.mark.parametrize("defect", list(MATRIX_DEFECTS))
def test_matrix_checker_rejects(defect, nm):
    res, args, exact = matrix_valid(nm)
    A, B, L, alpha, h, _, mask = args
    total = np.trace(A, axis1=-2, axis2=-1).real.sum()
    U, W, Phi = res.flux.copy(), res.exchange.copy(), res.potential.copy()
    kw = {"exact": exact, "exact_rtol": 1e-8}

    def lb_of(P):
        return float(np.sum(P * np.swapaxes(B - A, -1, -2)).real)

    if defect == "flux_infeasible":
        U[0, 0, 1] += 1e-7 * total * SX
        res = dataclasses.replace(res, flux=U)
    elif defect == "exchange_infeasible":
        W[0, 1, 1] += 1e-7 * total * SZ
        res = dataclasses.replace(res, exchange=W)
    elif defect == "flux_not_hermitian":
        U[0, 0, 0, 0, 1] += 1e-6 * total
        res = dataclasses.replace(res, flux=U)
    elif defect == "flux_on_inactive_face":
        U[0, -1, 0] = 1e-3 * SX
        res = dataclasses.replace(res, flux=U)
    elif defect == "exchange_outside_mask":
        W[0, 2, 2] = 1e-3 * SZ
        res = dataclasses.replace(res, exchange=W)
    elif defect == "distance_too_low":
        res = dataclasses.replace(res, distance=res.distance * (1 - 1e-6))
    elif defect == "potential_too_steep":
        Phi = Phi * (1 + 1e-6)
        res = with_lb(res, Phi, lb_of(Phi))
    elif defect == "in_cell_constraint":
        # a constant added on the domain leaves the gradient alone
        Phi = Phi + 10 * alpha * SZ * mask[..., None, None]
        res = with_lb(res, Phi, lb_of(Phi))
    elif defect == "potential_not_hermitian":
        Phi[0, 0, 0, 1] += 1e-6
        res = with_lb(res, Phi, lb_of(Phi))
    elif defect == "potential_outside_mask":
        Phi[2, 2] = 1e-3 * np.eye(2)
        res = with_lb(res, Phi, lb_of(Phi))
    elif defect == "lower_bound_wrong":
        res = dataclasses.replace(res, lower_bound=res.lower_bound * (1 - 1e-6))
    elif defect == "gap_wrong":
        res = dataclasses.replace(res, gap=1e-3)
    elif defect == "exact_above_distance":
        kw["exact"] = exact * (1 + 1e-6)
    elif defect == "exact_below_lower_bound":
        kw["exact"] = exact * (1 - 1e-6)
    elif defect == "complex64_flux":
        res = dataclasses.replace(res, flux=U.astype(np.complex64))
    with pytest.raises(AssertionError, match=MATRIX_DEFECTS[defect]):
        check_matrix_certificate(res, *args, **kw)
