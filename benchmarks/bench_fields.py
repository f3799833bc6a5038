"""Vector (RGB) and matrix OMT: time per iteration, iterations and seconds to a
certified gap, bytes moved per iteration against the measured copy bandwidth,
and for anisotropic RGB the exact peer: OR-Tools min-cost flow on the product
graph (grid x channels, channel arcs of cost alpha in every cell), measured
live on the same integer masses.

Cases:
  rgb     scikit-image's astronaut -> coffee (RGB, block-averaged), k = 3,
          all channel pairs (triangle graph), alpha = 1, both norms
  tensor  smooth Hermitian PSD fields, k = 2 and 3, Gell-Mann L, alpha = 1,
          Frobenius and nuclear norms

Every solve runs in its own subprocess (peak memory = its VmHWM).

    python benchmarks/bench_fields.py                     # rgb 64..256, tensor 32..128
    python benchmarks/bench_fields.py --cases rgb --sizes 64 128 --no-peer
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import copy_bandwidth_gbs, machine_header, peak_rss_mb, quantize  # noqa: E402

ALPHA = 1.0


def block_average(img: np.ndarray, n: int) -> np.ndarray:
    """n x n from the image's top-left square: averages of f x f blocks, or,
    for n beyond the image's shorter side, bilinear upsampling of the square."""
    side = min(img.shape[0], img.shape[1])
    f = side // n
    if f == 0:
        from skimage.transform import resize
        return resize(img[:side, :side], (n, n) + img.shape[2:], order=1, anti_aliasing=False)
    img = img[: n * f, : n * f]
    return img.reshape(n, f, n, f, *img.shape[2:]).mean(axis=(1, 3))


def rgb_masses(n: int):
    """Integer RGB masses (n, n, 3), equal totals: photographs plus a floor."""
    from skimage import data
    a = block_average(data.astronaut().astype(float), n) + 1.0
    b = block_average(data.coffee().astype(float), n) + 1.0
    return quantize(a), quantize(b)


def tensor_fields(n: int, k: int, seed: int = 0):
    """Smooth PSD fields: X X^* + 0.1 I with X a Gaussian-blurred complex field;
    B is built the same way from another seed; traces equalised."""
    from scipy.ndimage import gaussian_filter
    rng = np.random.default_rng(seed)

    def field():
        X = rng.normal(size=(n, n, k, k)) + 1j * rng.normal(size=(n, n, k, k))
        sigma = (n / 16, n / 16, 0, 0)
        X = gaussian_filter(X.real, sigma) + 1j * gaussian_filter(X.imag, sigma)
        return X @ np.conj(np.swapaxes(X, -1, -2)) + 0.1 * np.eye(k)

    A, B = field(), field()
    tr = lambda M: np.trace(M, axis1=-2, axis2=-1).real.sum()  # noqa: E731
    return A / tr(A), B / tr(B)


def ortools_product(a: np.ndarray, b: np.ndarray, alpha: int) -> tuple[float, float]:
    """Exact anisotropic vector W1 in grid units of integer masses (n, n, k),
    all channel pairs at integer price alpha: min-cost flow on the product graph."""
    from ortools.graph.python import min_cost_flow
    k = a.shape[-1]
    idx = np.arange(a.size).reshape(a.shape)
    tails, heads, costs = [], [], []
    for s in range(a.ndim - 1):
        lo = [slice(None)] * a.ndim
        hi = [slice(None)] * a.ndim
        lo[s] = slice(0, -1)
        hi[s] = slice(1, None)
        for t, h in ((lo, hi), (hi, lo)):
            tails.append(idx[tuple(t)].ravel())
            heads.append(idx[tuple(h)].ravel())
            costs.append(np.ones(tails[-1].size, dtype=np.int64))
    for c in range(k):
        for e in range(k):
            if c != e:
                tails.append(idx[..., c].ravel())
                heads.append(idx[..., e].ravel())
                costs.append(np.full(tails[-1].size, alpha, dtype=np.int64))
    tails, heads, costs = np.concatenate(tails), np.concatenate(heads), np.concatenate(costs)
    t = time.perf_counter()
    mcf = min_cost_flow.SimpleMinCostFlow()
    total = int(a.sum())
    mcf.add_arcs_with_capacity_and_unit_cost(tails, heads, np.full(len(tails), total), costs)
    mcf.set_nodes_supplies(np.arange(a.size), (a - b).ravel())
    if mcf.solve() != mcf.OPTIMAL:
        raise RuntimeError("OR-Tools min-cost flow did not reach optimality")
    return mcf.optimal_cost() / total, time.perf_counter() - t


def field_bytes_per_iteration(n_cells: int, d: int, planes: int, cols: int, itemsize: int) -> int:
    """Least memory traffic of one iteration of the CPU field loop
    (cpp/src/backends/cpu/cpu_field_backend.cpp): primal step reads phi
    (double), v (P d) and x (cols), writes v, vbar, x, xbar; the residual reads
    vbar, xbar, rhs and writes r; the mode transforms read and write r twice;
    the Poisson solve reads and writes each plane once per axis and direction
    plus a scaling pass; the potential update reads phi (double) and r and
    writes phi (double). Checks are left out."""
    floats = (3 * planes * d + 3 * cols) + (planes * d + cols + 2 * planes) + 4 * planes \
        + planes * (8 * d + 3) + planes
    return n_cells * (itemsize * floats + 8 * 3 * planes + 2)


def worker(args) -> None:
    n = args.n
    if args.case == "rgb":
        a, b = rgb_masses(n)
        if args.solver == "ortools":
            value, seconds = ortools_product(a, b, int(ALPHA))
            out = {"distance": value / n, "seconds": seconds}  # h = 1/n, alpha scaled with it
        else:
            import warnings
            import omtcore
            warnings.simplefilter("ignore", omtcore.ConvergenceWarning)
            total = float(a.sum())
            r = omtcore.vector_omt(a / total, b / total, h=1.0 / n, alpha=ALPHA / n, norm=args.norm,
                                   tol=args.tol, max_iter=args.max_iter)
            out = {"distance": r.distance, "lower": r.lower_bound, "gap": r.gap,
                   "iterations": r.iterations, "seconds": r.seconds, "levels": r.levels}
    else:
        import warnings
        import omtcore
        warnings.simplefilter("ignore", omtcore.ConvergenceWarning)  # the capped timing runs
        A, B = tensor_fields(n, args.k)
        r = omtcore.matrix_omt(A, B, h=1.0 / n, alpha=ALPHA, matrix_norm=args.norm, tol=args.tol,
                               max_iter=args.max_iter)
        out = {"distance": r.distance, "lower": r.lower_bound, "gap": r.gap,
               "iterations": r.iterations, "seconds": r.seconds, "levels": r.levels}
    out["rss_mb"] = peak_rss_mb()
    print(json.dumps(out))


def run(**kw) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--worker"]
    for key, value in kw.items():
        cmd += [f"--{key.replace('_', '-')}", str(value)]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cases", nargs="+", default=["rgb", "tensor"], choices=["rgb", "tensor"])
    p.add_argument("--sizes", nargs="+", type=int, default=None,
                   help="grid sides (default: rgb 64 128 256, tensor 32 64 128)")
    p.add_argument("--tol", type=float, default=1e-4)
    p.add_argument("--no-peer", action="store_true", help="skip OR-Tools")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--case", default="rgb", help=argparse.SUPPRESS)
    p.add_argument("--solver", default="omtcore", help=argparse.SUPPRESS)
    p.add_argument("--n", type=int, default=64, help=argparse.SUPPRESS)
    p.add_argument("--k", type=int, default=2, help=argparse.SUPPRESS)
    p.add_argument("--norm", default="anisotropic", help=argparse.SUPPRESS)
    p.add_argument("--max-iter", type=int, default=100000, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        return worker(args)

    bandwidth = copy_bandwidth_gbs()
    print(machine_header(bandwidth))
    print(f"# float32, tol {args.tol:g}, alpha {ALPHA:g}; ms/it from runs of 50 and 250 iterations; "
          f"GB/s = least bytes per iteration / time per iteration")
    print("| case | grid | norm | k | iterations | seconds | gap | ms/it | MB/it | GB/s | peak MB | "
          "OR-Tools s | rel. error | speed-up |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for case in args.cases:
        sizes = args.sizes or ([64, 128, 256] if case == "rgb" else [32, 64, 128])
        configs = ([("anisotropic", 3), ("isotropic", 3)] if case == "rgb" else
                   [(norm, k) for k in (2, 3) for norm in ("frobenius", "nuclear")])
        for n in sizes:
            for norm, k in configs:
                common = dict(case=case, n=n, k=k, norm=norm, tol=args.tol)
                # Time per iteration: the difference of two capped runs whose
                # tolerance is out of reach (no certificates until the cap).
                capped = dict(common, tol=1e-12)
                short, long = run(max_iter=50, **capped), run(max_iter=250, **capped)
                full = run(**common)
                ms = (long["seconds"] - short["seconds"]) / 200 * 1e3
                planes, cols = (3, 3) if case == "rgb" else (k * k, (k * k - 1) * k * k)
                mb = field_bytes_per_iteration(n * n, 2, planes, cols, 4) / 1e6
                peer = ""
                if case == "rgb" and norm == "anisotropic" and not args.no_peer:
                    ref = run(case=case, n=n, solver="ortools")
                    err = abs(full["distance"] - ref["distance"]) / ref["distance"]
                    peer = f"{ref['seconds']:.2f} | {err:.1e} | {ref['seconds'] / full['seconds']:.0f}x"
                else:
                    peer = "— | — | —"
                grids = f" ({full['levels']} grids)" if full.get("levels", 1) > 1 else ""
                print(f"| {case} | {n}² | {norm} | {k} | {full['iterations']}{grids} | {full['seconds']:.2f} | "
                      f"{full['gap']:.1e} | {ms:.2f} | {mb:.1f} | {mb / ms:.1f} | "
                      f"{full['rss_mb']:.0f} | {peer} |", flush=True)


if __name__ == "__main__":
    main()
