"""One W1 gradient step (value and gradient) beside the peers a user would pick.

omtcore.torch (certified, float32 iterates, gap 1e-4) against POT's exact
ot.emd2 with its gradient (dense cost matrix: small grids only) and
GeomLoss's Sinkhorn loss (p = 1, entropic, tensorized, at blurs of a pixel
and a quarter pixel), all on the same pair of images with unit mass on
[0, 1]^2 (h = 1/n). The entropic value's bias is shown beside the certified
bracket; POT's value is the exact anisotropic (L1) or Euclidean-cost one.

    python benchmarks/bench_gradients.py --sizes 32 64 128 256 512
"""
import argparse
import time
import warnings

import numpy as np
import torch

import omtcore
import omtcore.torch as ot1
from common import copy_bandwidth_gbs, machine_header


def images(n):
    y, x = np.mgrid[:n, :n] / n

    def blob(cy, cx, r):
        return np.exp(-((y - cy) ** 2 + (x - cx) ** 2) / (2 * r ** 2))

    a = blob(0.3, 0.35, 0.08) + 0.6 * blob(0.7, 0.3, 0.05) + 1e-3
    b = blob(0.6, 0.65, 0.1) + 0.4 * blob(0.25, 0.7, 0.06) + 1e-3
    return a / a.sum(), b / b.sum()


def timed(f, repeats=3):
    best, out = np.inf, None
    for _ in range(repeats):
        t = time.perf_counter()
        out = f()
        best = min(best, time.perf_counter() - t)
    return best, out


def omtcore_step(a, b, n, norm):
    def run():
        x = torch.tensor(a, requires_grad=True)
        d, res = ot1.scalar_omt(x, torch.tensor(b), h=1 / n, norm=norm, return_result=True)
        d.backward()
        return res, x.grad
    return timed(run)


def pot_step(a, b, n, metric):
    import ot

    idx = np.indices((n, n)).reshape(2, -1).T / n
    M = torch.tensor(ot.dist(idx, idx, metric="cityblock" if metric == "l1" else "euclidean"))

    def run():
        x = torch.tensor(a.ravel(), requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            value = ot.emd2(x, torch.tensor(b.ravel()), M, numItermax=10_000_000)
        value.backward()
        return float(value.detach()), x.grad
    return timed(run, repeats=1)


def geomloss_step(a, b, n, blur_px):
    from geomloss import SamplesLoss

    idx = torch.tensor(np.indices((n, n)).reshape(2, -1).T / n, dtype=torch.float32)
    loss = SamplesLoss("sinkhorn", p=1, blur=blur_px / n, backend="tensorized")

    def run():
        x = torch.tensor(a.ravel(), dtype=torch.float32, requires_grad=True)
        value = loss(x, idx, torch.tensor(b.ravel(), dtype=torch.float32), idx)
        value.backward()
        return float(value.detach()), x.grad
    return timed(run, repeats=1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[32, 64, 128, 256, 512])
    parser.add_argument("--pot-max", type=int, default=64, help="largest side for POT's dense cost matrix")
    parser.add_argument("--geomloss-max", type=int, default=128, help="largest side for GeomLoss (tensorized)")
    args = parser.parse_args()
    print(machine_header(copy_bandwidth_gbs()))
    print("seconds for value + gradient (best of 3 for omtcore); values on [0,1]^2, unit masses")
    print("| n | solver | seconds | value | certified bracket / exact | value / omtcore - 1 |")
    print("|---|---|---|---|---|---|")
    for n in args.sizes:
        a, b = images(n)
        ours = {}
        for norm in ("anisotropic", "isotropic"):
            seconds, (res, _) = omtcore_step(a, b, n, norm)
            ours[norm] = res
            print(f"| {n} | omtcore.torch {norm} | {seconds:.3f} | {res.distance:.6f} | "
                  f"[{res.lower_bound:.6f}, {res.distance:.6f}] | — |", flush=True)
        iso = ours["isotropic"]
        if n <= args.pot_max:
            for metric, ref in (("l1", ours["anisotropic"]), ("euclidean", iso)):
                seconds, (value, _) = pot_step(a, b, n, metric)
                print(f"| {n} | POT emd2 ({metric} cost) | {seconds:.3f} | {value:.6f} | exact | "
                      f"{value / ref.distance - 1:+.2e} vs omtcore {'anisotropic' if metric == 'l1' else 'isotropic'} |",
                      flush=True)
        if n <= args.geomloss_max:
            for blur in (1.0, 0.25):
                try:
                    seconds, (value, _) = geomloss_step(a, b, n, blur)
                except (ImportError, RuntimeError) as exc:  # not installed, or out of memory
                    print(f"| {n} | GeomLoss Sinkhorn blur {blur} px | — | — | {type(exc).__name__} | — |")
                    continue
                print(f"| {n} | GeomLoss Sinkhorn p=1, blur {blur} px | {seconds:.3f} | {value:.6f} | entropic | "
                      f"{value / iso.distance - 1:+.2e} vs omtcore isotropic |", flush=True)


if __name__ == "__main__":
    warnings.simplefilter("ignore", omtcore.ConvergenceWarning)
    main()
