"""Iterations to a certified gap on masked domains, beside the full rectangle.

With a mask the dual step's Poisson solve is the full rectangle's (README,
"Current limits"). This measures what that costs: blocks of mass moved
around a C-shaped domain (top arm to bottom arm, through the left one),
noise in the C-shape and in an annulus, and for comparison blocks moved on
the full rectangle (by 3/4 of its side; corner to corner).

    python benchmarks/bench_masks.py --sizes 64 128 --methods adaptive auto
"""
import argparse
import time
import warnings

import numpy as np
import omtcore


def c_shape(n):
    w = n // 4
    m = np.zeros((n, n), bool)
    m[:w, :] = m[-w:, :] = m[:, :w] = True
    return m


def annulus(n):
    c = (n - 1) / 2
    i, j = np.indices((n, n))
    r = np.hypot(i - c, j - c)
    return (r >= 0.25 * n) & (r <= 0.45 * n)


def case(name, n, rng):
    w = n // 4
    a, b, m = np.zeros((n, n)), np.zeros((n, n)), None
    if name == "C-shape, block around":
        m = c_shape(n)
        a[:w, -w:], b[-w:, -w:] = 1, 1
    elif name == "C-shape, noise":
        m = c_shape(n)
        a, b = rng.random((n, n)) * m, rng.random((n, n)) * m
    elif name == "annulus, noise":
        m = annulus(n)
        a, b = rng.random((n, n)) * m, rng.random((n, n)) * m
    elif name == "rectangle, block by 3n/4":
        a[:w, -w:], b[-w:, -w:] = 1, 1
    else:  # "rectangle, block corner to corner"
        a[:w, :w], b[-w:, -w:] = 1, 1
    b *= a.sum() / b.sum()
    return a, b, m


CASES = ("C-shape, block around", "C-shape, noise", "annulus, noise",
         "rectangle, block by 3n/4", "rectangle, block corner to corner")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[64, 128])
    p.add_argument("--tol", type=float, default=1e-4)
    p.add_argument("--backend", default="cpu")
    p.add_argument("--methods", nargs="+", default=["adaptive", "auto"],
                   help="side by side; adaptive = auto without the multilevel warm start")
    args = p.parse_args()
    warnings.simplefilter("ignore", omtcore.ConvergenceWarning)
    print(f"# {args.backend}, float32, certified gap {args.tol:g}, h = 1/n")
    print("| case | n | norm | " + " | ".join(f"{m}: iterations, gap, seconds" for m in args.methods) + " |")
    print("|---|---|---|" + "---|" * len(args.methods))
    for name in CASES:
        for n in args.sizes:
            for norm in ("anisotropic", "isotropic"):
                a, b, m = case(name, n, np.random.default_rng(0))
                cells = []
                for method in args.methods:
                    t0 = time.perf_counter()
                    r = omtcore.scalar_omt(a, b, mask=m, norm=norm, h=1.0 / n, tol=args.tol,
                                           backend=args.backend, max_iter=30000, method=method)
                    grids = f" (+{r.levels - 1} coarse)" if r.levels > 1 else ""
                    cells.append(f"{r.iterations}{grids}, {r.gap:.1e}, {time.perf_counter() - t0:.2f}")
                print(f"| {name} | {n} | {norm} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
