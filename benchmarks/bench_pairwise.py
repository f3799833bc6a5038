"""Distance matrices: omtcore.pairwise (batches) beside a loop of single
solves, POT's exact ot.emd2 pair by pair (on each image's support) and
OR-Tools' min-cost flow on the grid graph, on small images of unit mass.

    python benchmarks/bench_pairwise.py --count 60 --size 28 [--images dense]
"""
import argparse
import os
import time
import warnings

import numpy as np

import omtcore
from common import copy_bandwidth_gbs, machine_header, ortools_l1, quantize


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
    parser.add_argument("--loop-pairs", type=int, default=300, help="pairs the single-solve loop solves (timed per pair)")
    parser.add_argument("--pot-pairs", type=int, default=200, help="pairs POT solves (timed per pair)")
    parser.add_argument("--ortools-pairs", type=int, default=30, help="pairs OR-Tools solves (timed per pair)")
    parser.add_argument("--tol", type=float, default=1e-4)
    parser.add_argument("--images", choices=["sparse", "dense"], default="sparse",
                        help="digit-like strokes on an empty background, or Gaussian mixtures")
    args = parser.parse_args()
    print(machine_header(copy_bandwidth_gbs()))
    rng = np.random.default_rng(0)
    X = (digits if args.images == "sparse" else mixtures)(args.count, args.size, rng)
    pairs = [(i, j) for i in range(args.count) for j in range(i + 1, args.count)]
    print(f"{args.count} {args.images} images {args.size}², {len(pairs)} pairs, anisotropic, float32, "
          f"certified gap {args.tol:g}")
    warnings.simplefilter("ignore", omtcore.ConvergenceWarning)
    kw = dict(norm="anisotropic", tol=args.tol)

    # The single-solve loop a user writes today: one call per pair, default options.
    chosen = pairs[: args.loop_pairs]
    t = time.perf_counter()
    for i, j in chosen:
        omtcore.scalar_omt(X[i], X[j], **kw)
    loop = (time.perf_counter() - t) / len(chosen)
    rows = [("loop of single solves (default threads)", loop, len(chosen), "—")]
    res = None
    for workers in (1, None):
        res = omtcore.pairwise(X, workers=workers, **kw)
        rows.append((f"omtcore.pairwise (batches, {workers or os.cpu_count()} thread{'' if workers == 1 else 's'})",
                     res.seconds / len(pairs), len(pairs), "—"))
    import ot

    idx = np.indices((args.size, args.size)).reshape(2, -1).T
    C = ot.dist(idx, idx, metric="cityblock")
    worst = 0.0
    t = time.perf_counter()
    for i, j in pairs[: args.pot_pairs]:
        # POT on the images' supports only, as a user would (its cost grows with the cells).
        a, b = X[i].ravel(), X[j].ravel()
        sa, sb = a > 0, b > 0
        exact = ot.emd2(a[sa], b[sb], C[np.ix_(sa, sb)], numItermax=10_000_000)
        assert res.lower_bound[i, j] <= exact * (1 + 1e-9) <= res.distance[i, j] * (1 + 1e-9) + 1e-12
        worst = max(worst, abs(res.distance[i, j] / exact - 1))
    rows.append(("POT ot.emd2 on the supports", (time.perf_counter() - t) / args.pot_pairs, args.pot_pairs,
                 f"every bracket holds POT's value; largest rel. diff {worst:.1e}"))
    seconds, worst = 0.0, 0.0
    for i, j in pairs[: args.ortools_pairs]:
        value, dt = ortools_l1(quantize(X[i]), quantize(X[j]))  # mass quantised to 1e-6
        seconds += dt
        worst = max(worst, abs(res.distance[i, j] / value - 1))
    rows.append(("OR-Tools min-cost flow on the grid graph", seconds / args.ortools_pairs, args.ortools_pairs,
                 f"largest rel. diff {worst:.1e} (masses quantised to 1e-6)"))
    print("| solver | pairs timed | ms per pair | vs the single-solve loop | agreement |")
    print("|---|---|---|---|---|")
    for name, per_pair, timed, note in rows:
        print(f"| {name} | {timed} | {1e3 * per_pair:.3f} | {loop / per_pair:.2f}× | {note} |")


if __name__ == "__main__":
    main()
