"""Seconds to a certified answer: omtcore's default method against exact
min-cost flow (OR-Tools, measured live on the same integer masses), and an
ablation of the method.

Cases (anisotropic unless noted): uniform noise, smooth Gaussian mixtures,
photographs (scikit-image's camera -> astronaut, grayscale, block-averaged),
3D noise, and the isotropic shift of a square by D cells (exact value
h * D * mass). Every solve runs in its own subprocess (peak memory = its VmHWM).

    python benchmarks/bench_accelerated.py                        # 64..512, 32^3
    python benchmarks/bench_accelerated.py --sizes 1024 --cases noise
    python benchmarks/bench_accelerated.py --ablation-only
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (copy_bandwidth_gbs, loop_bytes_per_iteration, machine_header,  # noqa: E402
                    ortools_l1, peak_rss_mb, quantize)


def block_average(img: np.ndarray, n: int) -> np.ndarray:
    f = img.shape[0] // n
    return img[: n * f, : n * f].reshape(n, f, n, f).mean(axis=(1, 3))


def masses(case: str, n: int, dim: int = 2, seed: int = 0):
    """Integer masses (a, b) and the norm for a case on an n^dim grid."""
    rng = np.random.default_rng(seed)
    shape = (n,) * dim
    if case == "noise":
        return quantize(rng.random(shape) + 1e-3), quantize(rng.random(shape) + 1e-3), "anisotropic"
    if case == "mixture":
        grids = np.indices(shape) / n

        def mix():
            f = np.full(shape, 0.05)
            for _ in range(3):
                c = rng.uniform(0.15, 0.85, dim)
                s = rng.uniform(0.05, 0.15)
                f += rng.uniform(0.5, 1.5) * np.exp(-sum((g - ci) ** 2 for g, ci in zip(grids, c)) / (2 * s * s))
            return f

        return quantize(mix()), quantize(mix()), "anisotropic"
    if case == "photo":
        from skimage import color, data
        a = block_average(data.camera().astype(float), n) + 1.0
        b = block_average(color.rgb2gray(data.astronaut()) * 255.0, n) + 1.0
        return quantize(a), quantize(b), "anisotropic"
    if case == "shift":  # a square of side n/8 moved n/8 cells along axis 0
        w = max(n // 8, 1)
        a = np.zeros(shape)
        b = np.zeros(shape)
        a[n // 4: n // 4 + w, n // 4: n // 4 + w] = 1
        b[n // 4 + w: n // 4 + 2 * w, n // 4: n // 4 + w] = 1
        return quantize(a), quantize(b), "isotropic"
    raise ValueError(case)


def worker(args) -> None:
    a, b, norm = masses(args.case, args.n, args.dim)
    if args.solver == "ortools":
        value, seconds = ortools_l1(a, b)
        out = {"distance": value / args.n, "seconds": seconds}
    elif args.solver == "exact":  # closed form of the shift: h D mass, D = n/8 cells
        out = {"distance": max(args.n // 8, 1) / args.n, "seconds": 0.0}
    else:
        import warnings
        import omtcore
        warnings.simplefilter("ignore", omtcore.ConvergenceWarning)  # capped ablation runs
        total = float(a.sum())
        r = omtcore.scalar_omt(a / total, b / total, h=1.0 / args.n, norm=norm, tol=args.tol,
                               method=args.solver, max_iter=args.max_iter or None,
                               backend="cpu", dtype=args.dtype)
        out = {"distance": r.distance, "lower_bound": r.lower_bound, "gap": r.gap,
               "iterations": r.iterations, "seconds": r.seconds, "converged": r.converged,
               "levels": r.levels}
    out["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(out))


def measure(solver, case, n, dim, args, max_iter=0) -> dict:
    cmd = [sys.executable, __file__, "--worker", "--solver", solver, "--case", case, "--n", str(n),
           "--dim", str(dim), "--tol", str(args.tol), "--dtype", args.dtype,
           "--max-iter", str(max_iter)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main_table(args, bandwidth) -> None:
    itemsize = np.dtype(args.dtype).itemsize
    print(f"\n## omtcore (method auto, cpu, {args.dtype}, certified gap {args.tol:g}) vs exact\n")
    print("| case | grid | norm | iterations | omtcore s | omtcore MB | ms/iter | GB/s moved "
          "| exact peer | peer s | peer MB | speed-up | rel. error | gap |")
    print("|---" * 14 + "|")
    runs = [(c, n, 2) for c in args.cases if c != "noise3d" for n in args.sizes]
    if "noise3d" in args.cases:
        runs += [("noise", n, 3) for n in args.sizes3d]
    for case, n, dim in runs:
        if case == "photo" and n > 512:
            continue  # the sample images are 512^2
        peer = "exact" if case == "shift" else "ortools"
        om = measure("auto", case, n, dim, args)
        ex = measure(peer, case, n, dim, args) if not args.no_peer else {"distance": float("nan"), "seconds": float("nan"), "peak_rss_mb": float("nan")}
        norm = "isotropic" if case == "shift" else "anisotropic"
        grid = "x".join([str(n)] * dim)
        if "error" in om or "error" in ex:
            print(f"| {case} | {grid} | {norm} | error: {om.get('error', '')} {ex.get('error', '')} |")
            continue
        per_iter = om["seconds"] / max(om["iterations"], 1)
        gbs = loop_bytes_per_iteration(n**dim, dim, itemsize) / per_iter / 1e9
        rel = abs(om["distance"] - ex["distance"]) / ex["distance"]
        speed = f"{ex['seconds'] / om['seconds']:.1f}x" if ex["seconds"] > 0 else "-"  # nan > 0 is False
        conv = "" if om["converged"] else " (cap)"
        grids = f" ({om['levels']} grids)" if om["levels"] > 1 else ""
        print(f"| {case} | {grid} | {norm} | {om['iterations']}{grids}{conv} | {om['seconds']:.2f} | "
              f"{om['peak_rss_mb']:.0f} | {1e3 * per_iter:.2f} | {gbs:.1f} ({100 * gbs / bandwidth:.0f}%) | "
              f"{'OR-Tools' if peer == 'ortools' else 'h D mass'} | {ex['seconds']:.2f} | "
              f"{ex['peak_rss_mb']:.0f} | {speed} | {rel:.1e} | {om['gap']:.1e} |", flush=True)


def ablation(args) -> None:
    print(f"\n## Ablation: iterations and seconds to certified gap {args.tol:g} "
          f"(plain PDHG capped at {args.plain_cap} iterations)\n")
    print("| case | grid | plain PDHG | + Poisson preconditioner | + adaptive primal weight, "
          "+ Halpern restarts if anisotropic (adaptive) | + multilevel warm start (auto) |")
    print("|---|---|---|---|---|---|")
    for case in args.cases:
        if case == "noise3d":
            continue
        for n in args.ablation_sizes:
            cells = []
            for method, cap in (("pdhg", args.plain_cap), ("preconditioned", 20 * args.plain_cap),
                                ("adaptive", 0), ("auto", 0)):
                r = measure(method, case, n, 2, args, max_iter=cap)
                if "error" in r:
                    cells.append("error")
                    continue
                mark = "" if r["converged"] else f" (cap; gap {r['gap']:.1e})"
                grids = f" (+{r['levels'] - 1} coarse grids)" if r.get("levels", 1) > 1 else ""
                cells.append(f"{r['iterations']} it{grids}, {r['seconds']:.2f} s{mark}")
            print(f"| {case} | {n}x{n} | " + " | ".join(cells) + " |", flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=int, nargs="+", default=[64, 128, 256, 512])
    p.add_argument("--sizes3d", type=int, nargs="+", default=[32])
    p.add_argument("--cases", nargs="+", default=["noise", "mixture", "photo", "shift", "noise3d"],
                   choices=["noise", "mixture", "photo", "shift", "noise3d"])
    p.add_argument("--ablation-sizes", type=int, nargs="+", default=[64, 256])
    p.add_argument("--plain-cap", type=int, default=5000)
    p.add_argument("--ablation-only", action="store_true")
    p.add_argument("--no-ablation", action="store_true")
    p.add_argument("--no-peer", action="store_true", help="omtcore only (peer columns nan)")
    p.add_argument("--tol", type=float, default=1e-4)
    p.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    # worker mode (one solve per subprocess)
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--solver", help=argparse.SUPPRESS)
    p.add_argument("--case", help=argparse.SUPPRESS)
    p.add_argument("--n", type=int, help=argparse.SUPPRESS)
    p.add_argument("--dim", type=int, default=2, help=argparse.SUPPRESS)
    p.add_argument("--max-iter", type=int, default=0, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        worker(args)
        return
    bandwidth = copy_bandwidth_gbs()
    print(machine_header(bandwidth))
    if not args.ablation_only:
        main_table(args, bandwidth)
    if not args.no_ablation:
        ablation(args)


if __name__ == "__main__":
    main()
