"""The paper's plain PDHG (Ryu, Chen, Li, Osher 2018) for isotropic scalar W1,
written directly in array operations, unfused: the peer that shows what
omtcore's fused, preconditioned loop buys on the same device. Runs on numpy
(CPU) or CuPy (GPU) with the same code.

    min_F sum_i h |F(i)|_2  s.t.  div F = a - b      (uniform h)
    F   <- shrink(F + mu grad phi, mu h)
    phi <- phi + tau (div(2 F_new - F_old) - (a - b))

with mu tau ||div||^2 < 1 (||div||^2 <= 4 d). It has no certificate: it stops
when its cost is within --tol of omtcore's certified distance on the same
input (an oracle stop, favourable to the peer), or at --max-iter, and the
table shows iterations, seconds and the final relative error.

    python benchmarks/pdhg_reference.py --sizes 32 64                 # numpy
    python benchmarks/pdhg_reference.py --xp cupy --sizes 256 512 --backend cuda
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_scalar import densities  # noqa: E402
from common import MASS_UNITS, machine_header, copy_bandwidth_gbs  # noqa: E402


def grad(xp, phi):
    g = xp.zeros((2,) + phi.shape, dtype=phi.dtype)
    g[0, :-1] = phi[1:] - phi[:-1]
    g[1, :, :-1] = phi[:, 1:] - phi[:, :-1]
    return g


def div(xp, F):
    out = F[0] + F[1]
    out[1:] -= F[0, :-1]
    out[:, 1:] -= F[1, :, :-1]
    return out


def pdhg(xp, a, b, h, target, tol, max_iter, ratio, check_every=100, sync=lambda: None):
    """Plain PDHG on the device of xp; returns (iterations, seconds, cost)."""
    rhs = a - b
    F = xp.zeros((2,) + a.shape, dtype=a.dtype)
    phi = xp.zeros_like(a)
    step = np.sqrt(0.99 / 8.0)           # mu tau ||div||^2 < 1 in 2D
    mu, tau = step * ratio, step / ratio
    cost = float("inf")
    sync()
    t0 = time.perf_counter()
    it = 0
    for it in range(1, max_iter + 1):
        W = F + mu * grad(xp, phi)
        norm = xp.sqrt(W[0] ** 2 + W[1] ** 2)
        F_new = W * xp.maximum(1 - mu * h / xp.maximum(norm, 1e-30), 0)
        phi += tau * (div(xp, 2 * F_new - F) - rhs)
        F = F_new
        if it % check_every == 0:
            cost = float(h * xp.sqrt(F[0] ** 2 + F[1] ** 2).sum())
            if abs(cost - target) <= tol * target:
                break
    sync()
    return it, time.perf_counter() - t0, cost


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--xp", choices=("numpy", "cupy"), default="numpy")
    p.add_argument("--sizes", type=int, nargs="+", default=[32, 64])
    p.add_argument("--tol", type=float, default=1e-3)
    p.add_argument("--max-iter", type=int, default=100_000)
    p.add_argument("--ratio", type=float, default=1.0, help="sqrt(mu / tau)")
    p.add_argument("--backend", default="cpu", help="omtcore backend for the reference distance")
    args = p.parse_args()
    import omtcore
    if args.xp == "cupy":
        import cupy as xp

        def sync():
            xp.cuda.get_current_stream().synchronize()
    else:
        xp = np

        def sync():
            pass
    print(machine_header(copy_bandwidth_gbs()))
    print(f"# plain PDHG in {args.xp} (float32, unfused) vs omtcore backend {args.backend} "
          f"(certified gap 1e-5); stop when the PDHG cost is within {args.tol:g} of omtcore's")
    print()
    print("| n | omtcore s | omtcore it | PDHG s | PDHG it | PDHG rel. error | PDHG ms/it |")
    print("|---|---|---|---|---|---|---|")
    for n in args.sizes:
        a, b = densities(n, seed=1)
        a, b = a / MASS_UNITS * n * n, b / MASS_UNITS * n * n  # about 1 per cell
        h = 1.0 / n
        ref = omtcore.scalar_omt(a, b, h=h, norm="isotropic", tol=1e-5, backend=args.backend,
                                 dtype="float32")
        it, secs, cost = pdhg(xp, xp.asarray(a, dtype=xp.float32), xp.asarray(b, dtype=xp.float32), h,
                              ref.distance, args.tol, args.max_iter, args.ratio, sync=sync)
        err = abs(cost - ref.distance) / ref.distance
        print(f"| {n} | {ref.seconds:.2f} | {ref.iterations} | {secs:.2f} | {it} | {err:.1e} | "
              f"{1e3 * secs / it:.2f} |", flush=True)


if __name__ == "__main__":
    main()
