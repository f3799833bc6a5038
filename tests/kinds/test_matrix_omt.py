"""Matrix OMT against a conic reference ("3. Matrix OMT").

references_vm.matrix_cvxpy solves the same discrete problem as a conic program
(SOCP for the Frobenius norm, SDP for the nuclear norm) and certifies its own
point. Every solve goes through check_matrix_certificate: flux and in-cell flux
exactly feasible (trace norm), Hermitian, distance = their cost, potential
dual feasible and giving lower_bound, the reference inside [lower_bound, distance].
"""

import functools

import numpy as np
import pytest

import omtcore
from references import emd_l1
from references_vm import check_matrix_certificate, gell_mann, matrix_cvxpy

MAX_ITER = 100_000
TOL = 1e-5
REL = 1e-3


def psd_field(shape, k, rng, complex_=True, rank=None):
    rank = k if rank is None else rank
    X = rng.normal(size=shape + (k, rank))
    if complex_:
        X = X + 1j * rng.normal(size=shape + (k, rank))
    return X @ np.conj(np.swapaxes(X, -1, -2))


def pair(shape, k, seed, complex_=True):
    rng = np.random.default_rng(seed)
    A = psd_field(shape, k, rng, complex_)
    B = psd_field(shape, k, rng, complex_)
    B *= np.trace(A, axis1=-2, axis2=-1).sum().real / np.trace(B, axis1=-2, axis2=-1).sum().real
    return A, B


def solve(A, B, backend, dtype, tol=TOL, **kw):
    res = omtcore.matrix_omt(A, B, tol=tol, max_iter=MAX_ITER, backend=backend, dtype=dtype, **kw)
    assert res.converged, (res.gap, res.residual, res.iterations)
    return res


CASES = {
    # name: (grid, k, complex inputs, alpha)
    "pauli-complex": ((3, 3), 2, True, 1.0),
    "pauli-real": ((4, 3), 2, False, 0.5),
    "gellmann-complex": ((3, 2), 3, True, 1.0),
    "gellmann-real": ((3, 3), 3, False, 2.0),
}


@functools.lru_cache(maxsize=None)
def _reference(case, matrix_norm):
    shape, k, complex_, alpha = CASES[case]
    A, B = pair(shape, k, seed=len(case), complex_=complex_)
    return A, B, alpha, matrix_cvxpy(A, B, alpha=alpha, matrix_norm=matrix_norm)


@pytest.mark.parametrize("matrix_norm", ["frobenius", "nuclear"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_equals_conic(backend, dtype, case, matrix_norm):
    A, B, alpha, exact = _reference(case, matrix_norm)
    res = solve(A, B, backend, dtype, alpha=alpha, matrix_norm=matrix_norm)
    check_matrix_certificate(res, A, B, alpha=alpha, matrix_norm=matrix_norm, exact=exact,
                             exact_rtol=1e-7, tol=TOL)
    assert res.distance == pytest.approx(exact, rel=REL)
    k = A.shape[-1]
    assert res.flux.dtype == np.complex128 and res.flux.shape == (2,) + A.shape
    assert res.exchange.shape == (k * k - 1,) + A.shape[:-2] + (k, k)
    assert res.potential.shape == A.shape


@functools.lru_cache(maxsize=None)
def _masked_reference(matrix_norm):
    mask = np.ones((4, 4), dtype=bool)
    mask[1:3, 1] = False
    A, B = pair((4, 4), 2, seed=11)
    A[~mask] = 0
    B[~mask] = 0
    B *= np.trace(A, axis1=-2, axis2=-1).sum().real / np.trace(B, axis1=-2, axis2=-1).sum().real
    h = (1.0, 0.6)
    return A, B, mask, h, matrix_cvxpy(A, B, alpha=0.7, h=h, mask=mask, matrix_norm=matrix_norm)


@pytest.mark.parametrize("matrix_norm", ["frobenius", "nuclear"])
def test_masked_per_axis_spacing(backend, dtype, matrix_norm):
    A, B, mask, h, exact = _masked_reference(matrix_norm)
    res = solve(A, B, backend, dtype, alpha=0.7, h=h, mask=mask, matrix_norm=matrix_norm)
    check_matrix_certificate(res, A, B, alpha=0.7, h=h, mask=mask, matrix_norm=matrix_norm,
                             exact=exact, exact_rtol=1e-7, tol=TOL)


@pytest.mark.parametrize("matrix_norm", ["frobenius", "nuclear"])
def test_explicit_L_and_free_exchange(backend, dtype, matrix_norm):
    # Only the real Pauli matrices X and Z: in-cell flux i [L, W] stays real.
    A, B = pair((3, 3), 2, seed=5, complex_=False)
    L = np.array(gell_mann(2))[[0, 2]]
    for alpha in (0.0, 1.5):
        exact = matrix_cvxpy(A, B, L=L, alpha=alpha, matrix_norm=matrix_norm)
        res = solve(A, B, backend, dtype, L=L, alpha=alpha, matrix_norm=matrix_norm)
        check_matrix_certificate(res, A, B, L=L, alpha=alpha, matrix_norm=matrix_norm, exact=exact,
                                 exact_rtol=1e-7, tol=TOL)


@pytest.mark.parametrize("matrix_norm", ["frobenius", "nuclear"])
def test_k4_equals_conic(backend, dtype, matrix_norm):
    A, B = pair((2, 2), 4, seed=4)
    exact = matrix_cvxpy(A, B, alpha=1.0, matrix_norm=matrix_norm)
    res = solve(A, B, backend, dtype, alpha=1.0, matrix_norm=matrix_norm)
    check_matrix_certificate(res, A, B, alpha=1.0, matrix_norm=matrix_norm, exact=exact,
                             exact_rtol=1e-7, tol=TOL)
    assert res.exchange.shape == (15, 2, 2, 4, 4)


@pytest.mark.parametrize("matrix_norm", ["frobenius", "nuclear"])
def test_plain_pdhg_agrees(backend, matrix_norm):
    A, B = pair((3, 3), 2, seed=8)
    auto = solve(A, B, backend, "float64", matrix_norm=matrix_norm, tol=1e-4)
    plain = solve(A, B, backend, "float64", matrix_norm=matrix_norm, tol=1e-4, method="pdhg")
    for r in (auto, plain):
        check_matrix_certificate(r, A, B, matrix_norm=matrix_norm, tol=1e-4)
    assert max(auto.lower_bound, plain.lower_bound) <= min(auto.distance, plain.distance) * (1 + 1e-12)
    assert plain.distance == pytest.approx(auto.distance, rel=2e-4)


@pytest.mark.parametrize("matrix_norm,norm", [("frobenius", "isotropic"), ("nuclear", "anisotropic")])
def test_one_by_one_is_scalar(backend, dtype, matrix_norm, norm):
    rng = np.random.default_rng(2)
    a, b = rng.random((5, 6)), rng.random((5, 6))
    b *= a.sum() / b.sum()
    scalar = omtcore.scalar_omt(a, b, norm=norm, tol=1e-7, dtype="float64", max_iter=MAX_ITER)
    res = solve(a[..., None, None], b[..., None, None], backend, dtype, matrix_norm=matrix_norm)
    check_matrix_certificate(res, a[..., None, None], b[..., None, None], matrix_norm=matrix_norm, tol=TOL)
    assert res.exchange.shape == (0, 5, 6, 1, 1)
    assert scalar.lower_bound * (1 - 1e-9) <= res.distance
    assert res.lower_bound <= scalar.distance * (1 + 1e-9)


@pytest.mark.parametrize("matrix_norm", ["frobenius", "nuclear"])
def test_single_cell_by_hand(backend, dtype, matrix_norm):
    # One cell, A = diag(1, 0), B = diag(0, 1): A - B = Z must come from the
    # in-cell term with Pauli L. W_X = -Y/2 gives i [X, -Y/2] = Z at cost
    # alpha ||Y/2||: Frobenius alpha / sqrt 2, nuclear alpha. The dual
    # Phi = -c Z attains it: ||i [X, Phi]|| = ||2 c Y|| <= alpha gives
    # c = alpha / (2 sqrt 2) (Frobenius) or alpha / 2 (nuclear), objective
    # tr(Phi (B - A)) = 2 c.
    alpha = 0.8
    A = np.diag([1.0, 0.0])[None]
    B = np.diag([0.0, 1.0])[None]
    exact = alpha / np.sqrt(2) if matrix_norm == "frobenius" else alpha
    res = solve(A, B, backend, dtype, alpha=alpha, matrix_norm=matrix_norm)
    check_matrix_certificate(res, A, B, alpha=alpha, matrix_norm=matrix_norm, exact=exact,
                             exact_rtol=1e-12, tol=TOL)


@pytest.mark.parametrize("matrix_norm", ["frobenius", "nuclear"])
def test_two_cells_by_hand(backend, dtype, matrix_norm):
    # A = P in cell 0, B = P in cell 1, P PSD: move P across one face,
    # h ||P||_F (Frobenius) or h ||P||_* = h tr P (nuclear). Exchange cannot
    # help: whatever it does in a cell, the spatial flux must carry trace 1.
    h = 0.5
    P = np.array([[2.0, 1.0 - 1.0j], [1.0 + 1.0j, 1.5]])
    A = np.stack([P, np.zeros((2, 2))])
    B = np.stack([np.zeros((2, 2)), P])
    norm = np.linalg.norm(P) if matrix_norm == "frobenius" else np.trace(P).real
    res = solve(A, B, backend, dtype, h=h, matrix_norm=matrix_norm)
    check_matrix_certificate(res, A, B, h=h, matrix_norm=matrix_norm, exact=h * norm,
                             exact_rtol=1e-12, tol=TOL)


def test_nuclear_rank_one_field_is_scalar_anisotropic(backend, dtype):
    # A = f P, B = g P with one fixed rank-one projector P = v v^*, k = 2
    # (Pauli): the nuclear distance is the scalar anisotropic W1 of f and g,
    # on a grid far beyond the conic reference's reach. Upper bound: U_s = F_s P
    # (F the scalar optimal flux) costs sum h_s |F_s| ||P||_* = W1. Lower bound:
    # Phi = (phi - c) P (phi the scalar optimal potential, 1-Lipschitz in the
    # L1 metric, c the middle of its range) has spatial ||.||_op = |d phi| and
    # in-cell ||i [L_l, Phi]||_op <= 2 |phi - c| <= diameter <= alpha.
    shape, h = (24, 20), 0.5
    rng = np.random.default_rng(7)
    v = rng.normal(size=2) + 1j * rng.normal(size=2)
    v /= np.linalg.norm(v)
    P = np.outer(v, np.conj(v))
    f, g = rng.random(shape) + 0.1, rng.random(shape) + 0.1
    g *= f.sum() / g.sum()
    alpha = h * sum(n - 1 for n in shape)  # the grid's L1 diameter
    A, B = f[..., None, None] * P, g[..., None, None] * P
    res = solve(A, B, backend, dtype, h=h, alpha=alpha, matrix_norm="nuclear")
    check_matrix_certificate(res, A, B, h=h, alpha=alpha, matrix_norm="nuclear",
                             exact=emd_l1(f, g, h), exact_rtol=REL, tol=TOL)


# ---------------------------------------------------------------- bad input


def raises_invalid(match, A, B, backend, **kw):
    with pytest.raises(omtcore.InvalidInputError, match=match):
        omtcore.matrix_omt(A, B, backend=backend, **kw)


def test_matrix_shape_mismatch(backend):
    A, B = pair((3, 3), 2, seed=0)
    raises_invalid("same shape", A, pair((3, 3), 3, seed=0)[1], backend)
    raises_invalid(r"\(\*grid, k, k\)", A[..., :1], B[..., :1], backend)


def test_non_hermitian(backend):
    A, B = pair((3, 3), 2, seed=0)
    A[1, 1, 0, 1] += 0.5
    raises_invalid("not Hermitian", A, B, backend)


def test_indefinite(backend):
    A, B = pair((3, 3), 2, seed=0)
    A[2, 0] = np.diag([1.0, -0.5])
    raises_invalid("not positive semidefinite", A, B, backend)


def test_unequal_trace(backend):
    A, B = pair((3, 3), 2, seed=0)
    raises_invalid("unequal total trace", A, 1.1 * B, backend)


def test_commutant_imbalance(backend):
    # Diagonal inputs, only the diagonal L = Z: nothing moves mass between the
    # diagonal entries, so equal traces with different diagonals are infeasible.
    rng = np.random.default_rng(0)
    A = np.zeros((3, 3, 2, 2))
    B = np.zeros((3, 3, 2, 2))
    A[..., 0, 0], A[..., 1, 1] = rng.random((3, 3)), rng.random((3, 3))
    B[..., 0, 0], B[..., 1, 1] = rng.random((3, 3)), rng.random((3, 3))
    B *= np.trace(A, axis1=-2, axis2=-1).sum() / np.trace(B, axis1=-2, axis2=-1).sum()
    raises_invalid("commutant", A, B, backend, L=[np.diag([1.0, -1.0])])


def test_imbalance_per_masked_part(backend):
    mask = np.ones((3, 4), dtype=bool)
    mask[:, 1] = False  # two parts
    A, B = pair((3, 4), 2, seed=0)
    A[~mask] = 0
    B[~mask] = 0
    B[:, :1] *= 2.0
    raises_invalid("part", A, B, backend, mask=mask, normalize=True)


def test_L_wrong_size(backend):
    A, B = pair((3, 3), 2, seed=0)
    raises_invalid("L must be", A, B, backend, L=[np.eye(3)])


def test_L_not_hermitian(backend):
    A, B = pair((3, 3), 2, seed=0)
    raises_invalid(r"L\[1\] is not Hermitian", A, B, backend,
                   L=[np.eye(2), np.array([[0, 1.0], [0, 0]])])


def test_unknown_matrix_norm(backend):
    A, B = pair((3, 3), 2, seed=0)
    raises_invalid("unknown matrix norm", A, B, backend, matrix_norm="spectral")


def test_k_too_large(backend):
    raises_invalid("between 1 and 8", np.eye(9)[None], np.eye(9)[None], backend)


def test_negative_alpha(backend):
    A, B = pair((3, 3), 2, seed=0)
    raises_invalid("alpha", A, B, backend, alpha=-1.0)


def test_mass_outside_mask(backend):
    A, B = pair((3, 3), 2, seed=0)
    mask = np.ones((3, 3), dtype=bool)
    mask[0, 0] = False
    raises_invalid("outside the mask", A, B, backend, mask=mask)


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_gell_mann_helper_matches_the_reference(k):
    ours = omtcore.gell_mann(k)
    ref = np.array(gell_mann(k), dtype=complex).reshape(-1, k, k)
    assert ours.shape == (k * k - 1, k, k)
    np.testing.assert_allclose(ours, ref, atol=1e-15)
