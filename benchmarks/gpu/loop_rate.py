"""Milliseconds per iteration of the solve loop alone, CUDA graphs on and off,
for each device transform (OMTCORE_DEVICE_TRANSFORM: stages, rows).

A whole-solve time mixes the loop with setup, transfers and the host-side
certificate. Here each case runs twice with a tol no float32 solve reaches,
for N and 2N iterations (one certificate each, at the end): the difference is
N iterations of the loop and nothing else.

    python benchmarks/gpu/loop_rate.py --sizes 128 256 512 1024 --iterations 500 \
        --transforms stages rows
"""
import argparse
import os
import sys
import time
import warnings

import omtcore

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from bench_backends import problem  # noqa: E402


def seconds(solve, kw, backend, iterations):
    t0 = time.perf_counter()
    solve(**kw, backend=backend, dtype="float32", tol=1e-14, max_iter=iterations)
    return time.perf_counter() - t0


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[128, 256, 512, 1024])
    p.add_argument("--cases", nargs="+", default=["scalar-aniso", "scalar-iso", "rgb-aniso"])
    p.add_argument("--iterations", type=int, default=500)
    p.add_argument("--backends", nargs="+", default=["cuda"])
    p.add_argument("--transforms", nargs="+", default=["stages"], choices=["stages", "rows"])
    args = p.parse_args()
    warnings.simplefilter("ignore", omtcore.ConvergenceWarning)
    n_it = args.iterations
    print(f"# loop ms/it = (t({2 * n_it} it) - t({n_it} it)) / {n_it}, float32")
    print("| case | n | backend | transform | graphs | loop ms/it |")
    print("|---|---|---|---|---|---|")
    for case in args.cases:
        for n in args.sizes:
            solve, kw, _, _ = problem(case, n)
            for backend in args.backends:
                for transform in args.transforms if backend != "cpu" else ["-"]:
                    for graphs in (["1", "0"] if backend == "cuda" else ["-"]):
                        os.environ["OMTCORE_CUDA_GRAPHS"] = graphs
                        os.environ["OMTCORE_DEVICE_TRANSFORM"] = transform if transform != "-" else "stages"
                        seconds(solve, kw, backend, 20)  # warm-up: caches, clocks
                        short = min(seconds(solve, kw, backend, n_it) for _ in range(2))
                        long = min(seconds(solve, kw, backend, 2 * n_it) for _ in range(2))
                        ms = 1e3 * (long - short) / n_it
                        print(f"| {case} | {n} | {backend} | {transform} | {graphs} | {ms:.3f} |", flush=True)
    os.environ.pop("OMTCORE_CUDA_GRAPHS", None)
    os.environ.pop("OMTCORE_DEVICE_TRANSFORM", None)


if __name__ == "__main__":
    main()
