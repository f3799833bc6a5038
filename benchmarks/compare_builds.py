"""Two builds of omtcore side by side in one run: the same solves, alternating
between the builds, best of --repeat, for a change that must not cost speed.

Each build is a Python interpreter with that build of omtcore installed (for
example a venv per commit). Every measurement runs in a fresh subprocess of
that interpreter, so the builds never share a process; the order alternates
(old, new, old, new, ...). Two kinds of rows:

  iterations  a fixed number of iterations (method "adaptive", tol too small
              to stop, --iterations): milliseconds per iteration
  solve       a whole certified solve (method "auto", tol 1e-4): seconds

    python benchmarks/compare_builds.py --old /tmp/venv-old/bin/python --new /tmp/venv/bin/python
    python benchmarks/compare_builds.py --old A --new B --backends cpu opencl --repeat 3
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import copy_bandwidth_gbs, machine_header  # noqa: E402

# (kind, grid side): scalar and RGB at 256²-1024², matrix k = 2, 3 at 128²-256².
DEFAULT_CASES = ("scalar:256", "scalar:512", "scalar:1024", "rgb:256", "rgb:512", "rgb:1024",
                 "matrix2:128", "matrix2:256", "matrix3:128", "matrix3:256")

WORKER = r"""
import json, sys, time, warnings
import numpy as np
import omtcore
kind, n, backend, mode, iterations = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
rng = np.random.default_rng(7)
x, y = np.meshgrid(np.linspace(0, 1, n), np.linspace(0, 1, n), indexing="ij")
def blob(cx, cy, s):
    return np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * s * s))
a = blob(0.3, 0.3, 0.1) + 0.5 * blob(0.7, 0.4, 0.05) + 0.01
b = blob(0.6, 0.7, 0.08) + 0.5 * blob(0.3, 0.6, 0.06) + 0.01
if kind == "scalar":
    solve, args = omtcore.scalar_omt, (a / a.sum(), b / b.sum())
    kw = dict(norm="anisotropic")
elif kind == "rgb":
    A = np.stack([a, b, a * b], axis=-1)
    B = np.stack([b, a * b, a], axis=-1)
    solve, args, kw = omtcore.vector_omt, (A / A.sum(), B / B.sum()), dict(norm="anisotropic")
else:
    k = int(kind[-1])
    def field(u, v):
        M = np.zeros((n, n, k, k))
        for i in range(k):
            M[..., i, i] = u if i % 2 == 0 else v
        M[..., 0, 1] = M[..., 1, 0] = 0.3 * np.minimum(u, v)
        return M
    A, B = field(a, b), field(b, a)
    tr = lambda M: np.trace(M, axis1=-2, axis2=-1).sum()
    solve, args, kw = omtcore.matrix_omt, (A / tr(A), B / tr(B)), dict(matrix_norm="frobenius")
if mode == "iterations":
    kw.update(method="adaptive", tol=1e-14, max_iter=iterations)
else:
    kw.update(method="auto", tol=1e-4)
small = tuple(z[: 8, : 8] for z in args)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    solve(*small, backend=backend, dtype="float32", normalize=True, **kw)  # OpenCL compiles its kernels here
    t = time.perf_counter()
    r = solve(*args, backend=backend, dtype="float32", **kw)
    seconds = time.perf_counter() - t
print(json.dumps(dict(seconds=seconds, iterations=int(r.iterations), distance=float(r.distance))))
"""


def measure(python: str, kind: str, n: int, backend: str, mode: str, iterations: int) -> dict:
    out = subprocess.run([python, "-c", WORKER, kind, str(n), backend, mode, str(iterations)],
                         capture_output=True, text=True, cwd="/")
    if out.returncode != 0:
        raise RuntimeError(f"{python} {kind} {n} {backend} {mode} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--old", required=True, help="Python interpreter with the old build")
    parser.add_argument("--new", required=True, help="Python interpreter with the new build")
    parser.add_argument("--backends", nargs="+", default=["cpu"])
    parser.add_argument("--cases", nargs="+", default=list(DEFAULT_CASES), help="kind:side, kind in scalar rgb matrix2 matrix3")
    parser.add_argument("--modes", nargs="+", default=["iterations", "solve"], choices=["iterations", "solve"])
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    opts = parser.parse_args()
    print(machine_header(copy_bandwidth_gbs()))
    print(f"old: {opts.old}\nnew: {opts.new}\nbest of {opts.repeat}, alternating old/new; float32\n")
    print("| backend | case | mode | old | new | new/old | iterations old/new |")
    print("|---|---|---|---|---|---|---|")
    for backend in opts.backends:
        for mode in opts.modes:
            for case in opts.cases:
                if mode == "solve" and case.startswith("matrix"):
                    continue
                kind, side = case.split(":")
                best = {"old": None, "new": None}
                for _ in range(opts.repeat):
                    for name in ("old", "new"):
                        r = measure(getattr(opts, name), kind, int(side), backend, mode, opts.iterations)
                        if best[name] is None or r["seconds"] < best[name]["seconds"]:
                            best[name] = r
                o, w = best["old"], best["new"]
                if mode == "iterations":
                    cell = lambda r: f"{1e3 * r['seconds'] / r['iterations']:.2f} ms/it"
                else:
                    cell = lambda r: f"{r['seconds']:.2f} s"
                ratio = (w["seconds"] / w["iterations"]) / (o["seconds"] / o["iterations"]) if mode == "iterations" \
                    else w["seconds"] / o["seconds"]
                print(f"| {backend} | {kind} {side}² | {mode} | {cell(o)} | {cell(w)} | {ratio:.3f} | "
                      f"{o['iterations']}/{w['iterations']} |", flush=True)


if __name__ == "__main__":
    main()
