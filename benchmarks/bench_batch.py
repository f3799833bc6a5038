"""Batches: B problems of one grid in one call (batch=1), per backend and size,
with the loop's least memory traffic against the copy bandwidth. On a GPU
machine run it with --backends cpu cuda: the CPU batch and the GPU batch in
the same run, as the many-problems issue asks (1,024 problems of 64² and 128²).

    python benchmarks/bench_batch.py --count 1024 --sizes 64 128 --backends cpu [cuda]

"one by one": the first --singles problems (0: none) as single solves on the
same backend in the same run, per problem; on OpenCL and CUDA the batch steps
its problems together (one launch per step for all of them), so the ratio is
what that gains.
"""
import argparse
import time
import warnings

import numpy as np

import omtcore
from bench_pairwise import mixtures
from common import copy_bandwidth_gbs, device_copy_bandwidth_gbs, loop_bytes_per_iteration, machine_header


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1024)
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 128])
    parser.add_argument("--backends", nargs="+", default=["cpu"])
    parser.add_argument("--tol", type=float, default=1e-4)
    parser.add_argument("--norm", default="anisotropic")
    parser.add_argument("--singles", type=int, default=32)
    args = parser.parse_args()
    host = copy_bandwidth_gbs()
    device = device_copy_bandwidth_gbs() if any(b != "cpu" for b in args.backends) else None
    print(machine_header(host) + (f"; device copy bandwidth {device:.0f} GB/s" if device else ""))
    print(f"{args.count} pairs of Gaussian mixtures per size, unit mass, {args.norm}, float32, "
          f"certified gap {args.tol:g}, fields=False")
    print("| backend | grid | seconds | ms per problem | mean iterations | GB/s (least traffic) | share of copy bandwidth "
          "| one by one: ms per problem | batch gain |")
    print("|---|---|---|---|---|---|---|---|---|")
    warnings.simplefilter("ignore", omtcore.ConvergenceWarning)
    for n in args.sizes:
        X = mixtures(2 * args.count, n, np.random.default_rng(n))
        A, B = X[: args.count], X[args.count:]
        for backend in args.backends:
            omtcore.scalar_omt(A[:2], B[:2], batch=1, fields=False, norm=args.norm, backend=backend)  # warm-up
            t = time.perf_counter()
            r = omtcore.scalar_omt(A, B, batch=1, fields=False, norm=args.norm, tol=args.tol, backend=backend)
            seconds = time.perf_counter() - t
            traffic = loop_bytes_per_iteration(n * n, 2, 4) * float(r.iterations.sum())
            rate = traffic / seconds / 1e9
            peak = host if backend == "cpu" else device
            share = f"{rate / peak:.1%}" if peak else "—"
            single_ms, gain = "—", "—"
            if args.singles:
                count = min(args.singles, args.count)
                t = time.perf_counter()
                for q in range(count):
                    omtcore.scalar_omt(A[q], B[q], fields=False, norm=args.norm, tol=args.tol, backend=backend)
                per = (time.perf_counter() - t) / count
                single_ms, gain = f"{1e3 * per:.3f}", f"{per / (seconds / args.count):.2f}×"
            print(f"| {backend} ({r.device}) | {n}² | {seconds:.2f} | {1e3 * seconds / args.count:.3f} | "
                  f"{r.iterations.mean():.0f} | {rate:.1f} | {share} | {single_ms} | {gain} |", flush=True)


if __name__ == "__main__":
    main()
