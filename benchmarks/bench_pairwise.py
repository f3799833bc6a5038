"""Distance matrices: omtcore.pairwise (threads) beside POT's exact ot.emd2
pair by pair (on each image's support), on small sparse images of unit mass.

    python benchmarks/bench_pairwise.py --count 60 --size 28
"""
import argparse
import time
import warnings

import numpy as np

import omtcore
from common import copy_bandwidth_gbs, machine_header


def digits(count, n, rng):
    """Sparse, digit-like images: a few thick strokes on an empty background."""
    X = np.zeros((count, n, n))
    y, x = np.mgrid[:n, :n]
    for image in X:
        for _ in range(3):
            (y0, x0), (y1, x1) = rng.integers(4, n - 4, size=(2, 2))
            t = np.linspace(0, 1, 4 * n)[:, None, None]
            py, px = y0 + t * (y1 - y0), x0 + t * (x1 - x0)
            image += (np.exp(-((y - py) ** 2 + (x - px) ** 2) / 1.5).max(axis=0) > 0.3)
    return X / X.reshape(count, -1).sum(axis=1)[:, None, None]


def mixtures(count, n, rng):
    """Dense images: sums of a few Gaussians, every cell carrying mass."""
    y, x = np.mgrid[:n, :n] / n
    X = np.zeros((count, n, n))
    for image in X:
        for cy, cx, r in rng.uniform([0.2, 0.2, 0.05], [0.8, 0.8, 0.2], size=(3, 3)):
            image += np.exp(-((y - cy) ** 2 + (x - cx) ** 2) / (2 * r * r))
    return X / X.reshape(count, -1).sum(axis=1)[:, None, None]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=60)
    parser.add_argument("--size", type=int, default=28)
    parser.add_argument("--pot-pairs", type=int, default=200, help="pairs POT solves (timed per pair)")
    parser.add_argument("--tol", type=float, default=1e-4)
    parser.add_argument("--images", choices=["sparse", "dense"], default="sparse",
                        help="digit-like strokes on an empty background, or Gaussian mixtures")
    args = parser.parse_args()
    print(machine_header(copy_bandwidth_gbs()))
    rng = np.random.default_rng(0)
    X = (digits if args.images == "sparse" else mixtures)(args.count, args.size, rng)
    pairs = args.count * (args.count - 1) // 2
    print(f"{args.count} {args.images} images {args.size}², {pairs} pairs, anisotropic, float32, certified gap {args.tol:g}")
    print("| solver | seconds | ms per pair | agreement with POT |")
    print("|---|---|---|---|")
    warnings.simplefilter("ignore", omtcore.ConvergenceWarning)
    results = {}
    for workers in (1, 2):
        res = omtcore.pairwise(X, norm="anisotropic", tol=args.tol, workers=workers)
        results[workers] = res
        print(f"| omtcore.pairwise, {workers} thread{'s' if workers > 1 else ''} | {res.seconds:.2f} | "
              f"{1e3 * res.seconds / pairs:.2f} | — |", flush=True)
    import ot

    idx = np.indices((args.size, args.size)).reshape(2, -1).T
    C = ot.dist(idx, idx, metric="cityblock")
    chosen = [(i, j) for i in range(args.count) for j in range(i + 1, args.count)][: args.pot_pairs]
    t = time.perf_counter()
    worst = 0.0
    for i, j in chosen:
        # POT on the images' supports only, as a user would (its cost grows with the cells).
        a, b = X[i].ravel(), X[j].ravel()
        sa, sb = a > 0, b > 0
        exact = ot.emd2(a[sa], b[sb], C[np.ix_(sa, sb)], numItermax=10_000_000)
        res = results[2]
        assert res.lower_bound[i, j] <= exact * (1 + 1e-9) <= res.distance[i, j] * (1 + 1e-9) + 1e-12
        worst = max(worst, abs(res.distance[i, j] / exact - 1))
    per_pair = (time.perf_counter() - t) / len(chosen)
    print(f"| POT ot.emd2, pair by pair ({len(chosen)} pairs timed) | {per_pair * pairs:.2f} (projected) | "
          f"{1e3 * per_pair:.2f} | every bracket contains POT's value; largest rel. diff {worst:.1e} |")


if __name__ == "__main__":
    main()
