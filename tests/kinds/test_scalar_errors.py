"""Input validation of scalar_omt ("Tolerated imbalance").

Every bad input raises omtcore.InvalidInputError (a ValueError) whose message
names the problem; an unavailable backend raises BackendUnavailableError (a
RuntimeError) carrying omtcore's reason.
"""

import re

import numpy as np
import pytest

import omtcore
from conftest import BACKEND_NAMES, backend_info
from references import check_certificate, emd_l1, rebalance


def pair(shape=(5, 6), seed=0):
    rng = np.random.default_rng(seed)
    a = rng.random(shape) + 0.1
    b = rng.random(shape) + 0.1
    return a, b * (a.sum() / b.sum())


def raises_invalid(match, a, b, backend, **kw):
    with pytest.raises(omtcore.InvalidInputError, match=match) as info:
        omtcore.scalar_omt(a, b, backend=backend, **kw)
    assert isinstance(info.value, ValueError)
    return info.value


def test_exception_hierarchy():
    assert issubclass(omtcore.InvalidInputError, ValueError)
    assert issubclass(omtcore.BackendUnavailableError, RuntimeError)
    assert issubclass(omtcore.DeviceMemoryError, MemoryError)
    assert issubclass(omtcore.DeviceError, RuntimeError)
    assert not issubclass(omtcore.DeviceError, omtcore.BackendUnavailableError)
    assert issubclass(omtcore.ConvergenceWarning, UserWarning)


# ---------------------------------------------------------------- masses


def test_nan_mass(backend):
    a, b = pair()
    a[2, 3] = np.nan
    raises_invalid(r"(?i)nan|finite", a, b, backend)


def test_inf_mass(backend):
    a, b = pair()
    b[0, 0] = np.inf
    raises_invalid(r"(?i)inf|finite", a, b, backend)


def test_negative_mass(backend):
    a, b = pair()
    a[1, 1] = -0.25
    a[1, 2] += 0.25  # same total: only the sign is wrong
    raises_invalid(r"(?i)negative", a, b, backend)


def test_unequal_totals_names_both(backend):
    a = np.array([[0.5, 1.0], [0.0, 0.0]])  # total 1.5
    b = np.array([[0.0, 0.0], [2.0, 0.5]])  # total 2.5
    err = raises_invalid(r"(?i)total|balance|mass", a, b, backend)
    msg = str(err)
    assert re.search(r"(?<![\d.])1\.50*(e\+?0+)?(?![\d])", msg), msg
    assert re.search(r"(?<![\d.])2\.50*(e\+?0+)?(?![\d])", msg), msg


def test_imbalance_above_threshold(backend):
    a, b = pair()
    raises_invalid(r"(?i)total|balance|mass", a, b * (1 + 1e-4), backend)


@pytest.mark.parametrize("rel", [1e-9, -5e-7])
@pytest.mark.parametrize("norm", ["anisotropic", "isotropic"])
def test_tiny_imbalance_is_rebalanced(backend, norm, rel):
    a, b = pair((7, 6), seed=3)
    b_user = b * (1 + rel)
    res = omtcore.scalar_omt(a, b_user, norm=norm, backend=backend, dtype="float64",
                             tol=1e-5, max_iter=100_000)
    # the flux is feasible for b scaled to a's total
    b_fixed = rebalance(a, b_user)
    exact = emd_l1(a, b_fixed, 1.0) if norm == "anisotropic" else None
    check_certificate(res, a, b_fixed, 1.0, norm, exact=exact, tol=1e-5)


def test_tiny_imbalance_rebalanced_per_part(backend):
    mask = np.zeros((6, 9), dtype=bool)
    mask[:, :4] = True
    mask[:, 5:] = True
    a, b = pair((6, 9), seed=4)
    a[~mask] = 0
    b[~mask] = 0
    b = rebalance(a, b, mask)
    b[:, 5:] *= 3.0
    a[:, 5:] *= 3.0
    b[:, :4] *= 1 - 2e-9  # each part off by a tiny, different amount
    b[:, 5:] *= 1 + 3e-9
    res = omtcore.scalar_omt(a, b, norm="anisotropic", mask=mask, backend=backend,
                             dtype="float64", tol=1e-5, max_iter=100_000)
    b_fixed = rebalance(a, b, mask)
    check_certificate(res, a, b_fixed, 1.0, "anisotropic", mask=mask,
                      exact=emd_l1(a, b_fixed, 1.0, mask=mask), tol=1e-5)


def test_complex_input(backend):
    a, b = pair()
    raises_invalid(r"(?i)complex|real", a.astype(complex), b, backend)


# ---------------------------------------------------------------- shapes


def test_shape_mismatch(backend):
    a, _ = pair((5, 6))
    _, b = pair((6, 5))
    b *= a.sum() / b.sum()
    raises_invalid(r"(?i)shape", a, b, backend)


def test_zero_dim(backend):
    raises_invalid(r"(?i)dim|axes|axis|shape|scalar", np.array(1.0), np.array(1.0),
                   backend)


def test_four_dim(backend):
    a, b = pair((2, 2, 2, 2))
    raises_invalid(r"(?i)dim|axes|axis", a, b, backend)


def test_empty_grid(backend):
    a = np.zeros((0, 3))
    raises_invalid(r"(?i)empty|size|zero|shape", a, a.copy(), backend)


# ---------------------------------------------------------------- mask


def test_mass_outside_mask(backend):
    a, b = pair((5, 6))
    mask = np.ones((5, 6), dtype=bool)
    mask[0, 0] = False  # a and b both have mass there
    raises_invalid(r"(?i)mask|outside|domain", a, b, backend, mask=mask)


def test_mask_parts_unbalanced(backend):
    mask = np.zeros((6, 9), dtype=bool)
    mask[:, :4] = True
    mask[:, 5:] = True
    a = np.zeros((6, 9))
    b = np.zeros((6, 9))
    a[0, 0] = 2.0   # 2 in the left part, 1 in the right
    a[0, 8] = 1.0
    b[5, 3] = 1.0   # 1 in the left part, 2 in the right: same grand total
    b[5, 5] = 2.0
    raises_invalid(r"(?i)part|component|connected|region|balance", a, b, backend,
                   mask=mask)


def test_mask_wrong_shape(backend):
    a, b = pair((5, 6))
    raises_invalid(r"(?i)mask", a, b, backend, mask=np.ones((6, 5), dtype=bool))


# ---------------------------------------------------------------- options


def test_unknown_norm(backend):
    a, b = pair()
    raises_invalid(r"(?i)norm", a, b, backend, norm="euclidean")


@pytest.mark.parametrize("h", [0.0, -1.0, (1.0, 0.0), (1.0, -2.0)])
def test_h_not_positive(backend, h):
    a, b = pair()
    raises_invalid(r"(?i)\bh\b|spacing", a, b, backend, h=h)


@pytest.mark.parametrize("h", [(), (1.0, 1.0, 1.0), (1.0, 1.0, 1.0, 1.0)])
def test_h_wrong_length(backend, h):
    a, b = pair()
    raises_invalid(r"(?i)\bh\b|spacing", a, b, backend, h=h)


@pytest.mark.parametrize("h", [np.nan, (1.0, np.nan), np.inf])
def test_h_not_finite(backend, h):
    a, b = pair()
    raises_invalid(r"(?i)\bh\b|spacing", a, b, backend, h=h)


@pytest.mark.parametrize("tol", [0.0, -1e-4, np.nan])
def test_bad_tol(backend, tol):
    a, b = pair()
    raises_invalid(r"(?i)\btol", a, b, backend, tol=tol)


@pytest.mark.parametrize("max_iter", [0, -5, 2.5])
def test_bad_max_iter(backend, max_iter):
    a, b = pair()
    raises_invalid(r"(?i)max_iter", a, b, backend, max_iter=max_iter)


@pytest.mark.parametrize("dtype", ["float16", "int32", "double precision"])
def test_bad_dtype(backend, dtype):
    a, b = pair()
    raises_invalid(r"(?i)dtype", a, b, backend, dtype=dtype)


def test_unknown_method(backend):
    a, b = pair()
    raises_invalid(r"(?i)method", a, b, backend, method="simplex")


def test_unknown_backend():
    a, b = pair()
    raises_invalid(r"(?i)backend.*vulkan|vulkan.*backend", a, b, "vulkan")


@pytest.mark.parametrize("name", BACKEND_NAMES)
def test_unavailable_backend(name):
    available, reason = backend_info(name)
    if available:
        pytest.skip(f"backend {name!r} is available here")
    a, b = pair()
    with pytest.raises(omtcore.BackendUnavailableError) as info:
        omtcore.scalar_omt(a, b, backend=name)
    assert isinstance(info.value, RuntimeError)
    msg = str(info.value)
    assert name in msg.lower(), msg
    assert reason and reason in msg, (reason, msg)


def test_bad_device_index():
    a, b = pair()
    raises_invalid(r"(?i)device", a, b, "cpu", device=99)


# ---------------------------------------------------------------- stopping early


@pytest.mark.parametrize("norm", ["anisotropic", "isotropic"])
def test_max_iter_reached_warns(backend, dtype, norm):
    a, b = pair((16, 16), seed=9)
    with pytest.warns(omtcore.ConvergenceWarning):
        res = omtcore.scalar_omt(a, b, norm=norm, tol=1e-6, max_iter=3,
                                 backend=backend, dtype=dtype)
    assert res.converged is False or res.converged == np.False_
    assert res.iterations == 3
    assert res.gap > 1e-6
    # still an exactly feasible flux and a rigorous bracket
    exact = emd_l1(a, b, 1.0) if norm == "anisotropic" else None
    check_certificate(res, a, b, 1.0, norm, exact=exact)
