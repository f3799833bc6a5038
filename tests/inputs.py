"""Test inputs shared by several test files: masses, masks, and the exact
value of a scalar problem by the reference of its norm."""

import numpy as np

from references import cvxpy_isotropic, emd_l1, rebalance

CVX_RTOL = 1e-7  # accuracy of the CLARABEL reference


def gaussian(shape, centre, sigma):
    grids = np.indices(shape).astype(float)
    r2 = sum((g - c) ** 2 for g, c in zip(grids, centre))
    return np.exp(-r2 / (2 * sigma**2))


def make_pair(kind, shape, seed, mask=None):
    """(a, b) of the same total (on each connected part), zero outside ``mask``."""
    rng = np.random.default_rng(seed)
    if kind == "random":
        a = rng.random(shape)
        b = rng.random(shape)
    elif kind == "sparse":  # most cells empty: degenerate, many ties
        a = rng.random(shape) * (rng.random(shape) < 0.3)
        b = rng.random(shape) * (rng.random(shape) < 0.3)
        a.flat[0] += 0.5
        b.flat[-1] += 0.5
    elif kind == "structured":  # a blob and a point mass against a shifted blob
        n = np.array(shape, dtype=float)
        a = gaussian(shape, 0.3 * (n - 1), max(1.0, n.min() / 6))
        b = gaussian(shape, 0.7 * (n - 1), max(1.0, n.min() / 5))
        a.flat[rng.integers(a.size)] += a.sum() / 3
    else:
        raise ValueError(kind)
    if mask is not None:
        a = a * mask
        b = b * mask
    a = a / a.sum() * 2.5
    return a, rebalance(a, b, mask)


def l_shape(n=12, w=4):
    m = np.zeros((n, n), dtype=bool)
    m[:, :w] = True
    m[-w:, :] = True
    return m


def c_shape(n=12, w=4):
    m = np.zeros((n, n), dtype=bool)
    m[:w, :] = True
    m[-w:, :] = True
    m[:, :w] = True
    return m


def ring(n=12, r_in=2.6, r_out=5.6):
    c = (n - 1) / 2
    i, j = np.indices((n, n))
    r = np.hypot(i - c, j - c)
    return (r >= r_in) & (r <= r_out)


def two_parts(shape=(10, 12)):
    m = np.zeros(shape, dtype=bool)
    m[1:9, 0:5] = True
    m[0:10, 7:12] = True
    m[3, 8] = False  # a hole in the second part
    return m


def wall_3d(shape=(6, 6, 4)):
    m = np.ones(shape, dtype=bool)
    m[:, 3, :] = False
    m[0, 3, 0] = True  # the only passage, in a corner
    return m


def with_units(a, b, mask, parts_total):
    """Second part of a two-part mask gets ``parts_total`` times the first's mass."""
    a = a.copy()
    b = b.copy()
    a[:, 6:] *= parts_total
    b[:, 6:] *= parts_total
    return a, rebalance(a, b, mask)


def exact_value(a, b, h, norm, mask=None):
    if norm == "anisotropic":
        return emd_l1(a, b, h, mask=mask), 1e-9
    return cvxpy_isotropic(a, b, h, mask=mask), CVX_RTOL
