"""Anisotropic scalar W1 on n x n grids: omtcore (CPU) against exact peers.

Every solver runs in its own subprocess (peak memory is that process's
VmHWM) on the same integer-rounded masses: POT's dense network simplex
`ot.emd2` with the L1 cost matrix, and OR-Tools' min-cost flow on the grid
graph. omtcore runs to a certified relative gap of --tol. The table gives
times, peak memory, omtcore's relative difference to the exact value, its time
per iteration, and the bytes its loop moves per iteration against the
machine's measured copy bandwidth.

    python benchmarks/bench_scalar.py                 # 32, 48, 64, 96
    python benchmarks/bench_scalar.py --sizes 64 128 --peers ortools
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
from common import (MASS_UNITS, copy_bandwidth_gbs, loop_bytes_per_iteration,  # noqa: E402
                    machine_header, ortools_l1, peak_rss_mb, quantize)


def densities(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two balanced integer densities: a few random Gaussian bumps each, plus a floor."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:n, 0:n] / n

    def smooth():
        f = np.full((n, n), 0.05)
        for _ in range(3):
            cy, cx = rng.uniform(0.15, 0.85, 2)
            s = rng.uniform(0.05, 0.15)
            f += rng.uniform(0.5, 1.5) * np.exp(-((y - cy) ** 2 + (x - cx) ** 2) / (2 * s * s))
        return f

    return quantize(smooth()), quantize(smooth())


def run_omtcore(a, b, n, args):
    import omtcore
    res = omtcore.scalar_omt(a / MASS_UNITS, b / MASS_UNITS, h=1.0 / n, norm="anisotropic",
                             tol=args.tol, backend="cpu", dtype=args.dtype)
    return {"distance": res.distance, "lower_bound": res.lower_bound, "iterations": res.iterations,
            "seconds": res.seconds, "converged": res.converged, "device": res.device}


def run_pot(a, b, n, args):
    import warnings
    import ot
    ii, jj = np.divmod(np.arange(n * n), n)
    cost = (np.abs(ii[:, None] - ii[None, :]) + np.abs(jj[:, None] - jj[None, :])).astype(np.float64)
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numItermax reached would be a wrong "exact" value
        value = ot.emd2(a.ravel().astype(np.float64), b.ravel().astype(np.float64), cost,
                        numItermax=10**9)
    return {"distance": value / MASS_UNITS / n, "seconds": time.perf_counter() - t}


def run_ortools(a, b, n, args):
    value, seconds = ortools_l1(a, b)
    return {"distance": value / n, "seconds": seconds}


SOLVERS = {"omtcore": run_omtcore, "pot": run_pot, "ortools": run_ortools}


def worker(args) -> None:
    a, b = densities(args.n, args.seed)
    out = SOLVERS[args.worker](a, b, args.n, args)
    out["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(out))


def measure(solver: str, n: int, args) -> dict:
    cmd = [sys.executable, __file__, "--worker", solver, "--n", str(n), "--seed", str(args.seed),
           "--tol", str(args.tol), "--dtype", args.dtype]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "failed"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=int, nargs="+", default=[32, 48, 64, 96])
    p.add_argument("--peers", nargs="+", default=["pot", "ortools"], choices=["pot", "ortools"])
    p.add_argument("--tol", type=float, default=1e-4)
    p.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--worker", choices=list(SOLVERS), help=argparse.SUPPRESS)
    p.add_argument("--n", type=int, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        worker(args)
        return

    bandwidth = copy_bandwidth_gbs()
    itemsize = np.dtype(args.dtype).itemsize
    print(machine_header(bandwidth))
    print(f"# anisotropic, omtcore cpu {args.dtype} to gap {args.tol:g}; masses rounded to "
          f"{MASS_UNITS} units")
    peer_cols = "".join(f" | {q} s | {q} MB" for q in args.peers)
    print(f"| n | omtcore s | omtcore MB | iters | ms/iter | MB/iter | GB/s (% of copy){peer_cols} "
          f"| rel. diff | certified gap |")
    print("|---" * (9 + 2 * len(args.peers)) + "|")
    device = ""
    for n in args.sizes:
        om = measure("omtcore", n, args)
        peers = {q: measure(q, n, args) for q in args.peers}
        exact = next((r["distance"] for r in peers.values() if "distance" in r), None)
        if "error" in om:
            print(f"| {n} | error: {om['error']} |")
            continue
        device = om["device"]
        per_iter = om["seconds"] / max(om["iterations"], 1)
        nbytes = loop_bytes_per_iteration(n * n, 2, itemsize)
        gbs = nbytes / per_iter / 1e9
        cells = "".join(
            f" | {r['seconds']:.3f} | {r['peak_rss_mb']:.0f}" if "seconds" in r else f" | {r['error'][:40]} | -"
            for r in peers.values())
        rel = f"{abs(om['distance'] - exact) / exact:.1e}" if exact else "-"
        gap = (om["distance"] - om["lower_bound"]) / om["distance"]
        conv = "" if om["converged"] else " (not converged)"
        print(f"| {n}² | {om['seconds']:.3f} | {om['peak_rss_mb']:.0f} | {om['iterations']}{conv} | "
              f"{1e3 * per_iter:.3f} | {nbytes / 1e6:.2f} | {gbs:.2f} ({100 * gbs / bandwidth:.0f}%)"
              f"{cells} | {rel} | {gap:.1e} |", flush=True)
    print(f"# omtcore device: {device}")


if __name__ == "__main__":
    main()
