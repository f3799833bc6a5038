"""The isotropic norm (the default) against the anisotropic one on the same
inputs: seconds and iterations to a certified gap, and their ratio.

Cases: grey photographs (scikit-image camera -> astronaut), uniform noise,
RGB photographs (astronaut -> chelsea, alpha = 2/n), and vector point masses,
noise and a masked domain (k = 3). Each row is one solve in this process, CPU
backend, float32 iterates, certified gap 1e-4.

    python benchmarks/bench_isotropic.py
    PYTHONPATH=/path/to/old/build python benchmarks/bench_isotropic.py --sizes 64 256
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import copy_bandwidth_gbs, machine_header  # noqa: E402


def _normed(x):
    return x / x.sum()


def inputs(case: str, n: int):
    """(kind, a, b, keywords) of a case on an n x n grid."""
    from scipy.ndimage import gaussian_filter
    from skimage import color, data, transform
    rng = np.random.default_rng(0)
    resize = lambda img: transform.resize(img, (n, n), anti_aliasing=True).astype(np.float64) + 1e-3  # noqa: E731
    if case == "grey photographs":
        return "scalar", _normed(resize(data.camera())), _normed(resize(color.rgb2gray(data.astronaut()))), {}
    if case == "noise":
        return "scalar", _normed(rng.random((n, n)) + 1e-3), _normed(rng.random((n, n)) + 1e-3), {}
    vector = {"alpha": 2.0 / n}
    if case == "RGB photographs":
        return "vector", _normed(resize(data.astronaut())), _normed(resize(data.chelsea())), vector
    if case == "RGB noise":
        return "vector", _normed(rng.random((n, n, 3)) + 1e-3), _normed(rng.random((n, n, 3)) + 1e-3), vector
    if case == "RGB point masses":
        a = np.full((n, n, 3), 1e-4)
        b = a.copy()
        a[n // 4, n // 4] = [1, 0.5, 0.2]
        b[3 * n // 4, n // 2] = [0.2, 0.5, 1]
        return "vector", _normed(a), _normed(b), vector
    if case == "RGB masked":
        mask = np.ones((n, n), bool)
        mask[n // 4: 3 * n // 4, n // 2] = False
        a = gaussian_filter(rng.random((n, n, 3)), (n / 16, n / 16, 0)) * mask[..., None]
        b = gaussian_filter(rng.random((n, n, 3)), (n / 16, n / 16, 0)) * mask[..., None]
        return "vector", _normed(a), _normed(b), dict(vector, mask=mask)
    raise ValueError(case)


CASES = ["grey photographs", "noise", "RGB photographs", "RGB noise", "RGB point masses", "RGB masked"]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cases", nargs="+", default=CASES, choices=CASES)
    p.add_argument("--sizes", type=int, nargs="+", default=[64, 256, 512])
    p.add_argument("--tol", type=float, default=1e-4)
    p.add_argument("--max-iter", type=int, default=30000)
    args = p.parse_args()
    import warnings

    import omtcore
    warnings.simplefilter("ignore", omtcore.ConvergenceWarning)
    print(machine_header(copy_bandwidth_gbs()))
    print(f"omtcore from {os.path.dirname(omtcore.__file__)}")
    print("| case | n | anisotropic it | anisotropic s | isotropic it | isotropic s | iso / aniso |")
    print("|---|---|---|---|---|---|---|")
    for case in args.cases:
        for n in args.sizes:
            kind, a, b, kw = inputs(case, n)
            solve = omtcore.scalar_omt if kind == "scalar" else omtcore.vector_omt
            row = []
            for norm in ["anisotropic", "isotropic"]:
                t = time.perf_counter()
                r = solve(a, b, norm=norm, tol=args.tol, dtype="float32", max_iter=args.max_iter, **kw)
                t = time.perf_counter() - t
                row.append((r.iterations if r.converged else f"{r.iterations}, gap {r.gap:.1e}", t))
            (ia, ta), (ii, ti) = row
            print(f"| {case} | {n}² | {ia} | {ta:.2f} | {ii} | {ti:.2f} | {ti / ta:.2f} |", flush=True)


if __name__ == "__main__":
    main()
