"""Time per cell at every grid size: sides from about 480 to 1030 (primes,
sides with awkward factors, common photograph aspect ratios) against the
nearest power-of-two grid, measured in the same run.

Each shape solves one pair of scikit-image photographs (camera, astronaut in
grey) resized to it, to a certified gap, both norms, one subprocess per solve.
The reference of a shape (n0, n1) is (2^round(log2 n0), 2^round(log2 n1)); the
ratio column is (seconds / cells) / (reference seconds / reference cells).
Iterations are printed beside it: a ratio mixes the cost of an iteration with
how many the shape needs.

    python benchmarks/bench_sizes.py                     # the full sweep
    python benchmarks/bench_sizes.py --shapes 509x509 --norms anisotropic
    python benchmarks/bench_sizes.py --python /other/venv/bin/python   # another build
    python benchmarks/bench_sizes.py --plot benchmarks/plots/sizes.png
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys

from common import copy_bandwidth_gbs, machine_header

DEFAULT_SHAPES = [
    # squares: primes, awkward factors (7, 11, 13, 17, 31), smooth sides
    "480x480", "496x496", "500x500", "509x509", "512x512", "520x520", "521x521", "600x600",
    "720x720", "751x751", "768x768", "800x800", "997x997", "1000x1000", "1021x1021", "1024x1024",
    "1030x1030",
    # photographs: 4:3, 3:2, 16:9, portrait
    "480x640", "600x800", "683x1024", "576x1024", "768x1024", "1024x768", "540x960",
]


def photographs(shape):
    import numpy as np
    from skimage import color, data
    from skimage.transform import resize
    a = resize(data.camera().astype(float), shape, anti_aliasing=True) + 1.0
    b = resize(color.rgb2gray(data.astronaut()) * 255.0, shape, anti_aliasing=True) + 1.0
    return a / a.sum(), b / b.sum()


def worker(args) -> None:
    import omtcore
    shape = tuple(int(s) for s in args.shape.split("x"))
    a, b = photographs(shape)
    r = omtcore.scalar_omt(a, b, norm=args.norm, tol=args.tol, dtype=args.dtype, backend=args.backend)
    print(json.dumps({"seconds": r.seconds, "iterations": r.iterations, "levels": r.levels,
                      "converged": r.converged, "gap": r.gap, "distance": r.distance}))


def reference(shape: str) -> str:
    return "x".join(str(2 ** round(math.log2(int(s)))) for s in shape.split("x"))


def cells(shape: str) -> int:
    return math.prod(int(s) for s in shape.split("x"))


def measure(python, shape, norm, args) -> dict:
    cmd = [python, __file__, "--worker", "--shape", shape, "--norm", norm, "--tol", str(args.tol),
           "--dtype", args.dtype, "--backend", args.backend]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout)
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shapes", nargs="+", default=DEFAULT_SHAPES)
    p.add_argument("--norms", nargs="+", default=["anisotropic", "isotropic"],
                   choices=["anisotropic", "isotropic"])
    p.add_argument("--tol", type=float, default=1e-4)
    p.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    p.add_argument("--backend", default="cpu")
    p.add_argument("--python", default=sys.executable, help="interpreter of the build to measure")
    p.add_argument("--timeout", type=float, default=1800, help="seconds per solve")
    p.add_argument("--plot", help="write a plot of the ratios to this PNG")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--shape", help=argparse.SUPPRESS)
    p.add_argument("--norm", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        worker(args)
        return
    print(machine_header(copy_bandwidth_gbs()))
    print(f"\nomtcore scalar_omt, backend {args.backend}, {args.dtype}, certified gap {args.tol:g}, "
          f"photograph pair resized; build: {args.python}\n")
    print("| shape | norm | iterations (grids) | seconds | ns per cell | reference | ref. iterations "
          "| ref. seconds | per-cell ratio |")
    print("|---" * 9 + "|")
    done: dict = {}
    rows = []
    for norm in args.norms:
        for shape in args.shapes:
            ref = reference(shape)
            for s in (ref, shape):
                if (s, norm) not in done:
                    done[(s, norm)] = measure(args.python, s, norm, args)
            r, q = done[(shape, norm)], done[(ref, norm)]
            if "error" in r or "error" in q:
                print(f"| {shape} | {norm} | error: {r.get('error', '')} {q.get('error', '')} |", flush=True)
                continue
            per_cell = r["seconds"] / cells(shape)
            ratio = per_cell / (q["seconds"] / cells(ref))
            cap = "" if r["converged"] else " (cap)"
            rows.append((shape, norm, ratio))
            print(f"| {shape} | {norm} | {r['iterations']} ({r['levels']}){cap} | {r['seconds']:.2f} | "
                  f"{1e9 * per_cell:.0f} | {ref} | {q['iterations']} | {q['seconds']:.2f} | {ratio:.2f} |",
                  flush=True)
    for norm in args.norms:
        ratios = [x for _, n, x in rows if n == norm]
        if ratios:
            print(f"\n{norm}: worst per-cell ratio {max(ratios):.2f}, median {sorted(ratios)[len(ratios) // 2]:.2f}")
    if args.plot and rows:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(9, 3.8))
        for norm, marker in (("anisotropic", "o"), ("isotropic", "s")):
            pts = [(cells(s) ** 0.5, x, s) for s, n, x in rows if n == norm]
            if pts:
                ax.scatter([p[0] for p in pts], [p[1] for p in pts], marker=marker, label=norm)
        ax.axhline(1.0, color="grey", lw=0.8)
        ax.axhline(2.0, color="grey", lw=0.8, ls="--")
        ax.set_xlabel("sqrt(cells)")
        ax.set_ylabel("time per cell / nearest power of two")
        ax.set_title(f"scalar_omt on photographs, {args.backend}, {args.dtype}, gap {args.tol:g}")
        ax.legend()
        fig.tight_layout()
        fig.savefig(args.plot, dpi=110)
        print(f"\nplot: {args.plot}")


if __name__ == "__main__":
    main()
