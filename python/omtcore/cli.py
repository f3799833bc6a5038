"""The omtcore command line: `omtcore demo`, `omtcore devices`."""

from __future__ import annotations

import argparse
import sys

import numpy as np

from . import api
from .errors import BackendUnavailableError, InvalidInputError


def demo_densities(n: int = 96) -> tuple[np.ndarray, np.ndarray]:
    """Two smooth 2D densities on an n x n grid: a blob and a pair of blobs."""
    y, x = np.mgrid[0:n, 0:n] / n

    def bump(cy, cx, s):
        return np.exp(-((y - cy) ** 2 + (x - cx) ** 2) / (2 * s * s))

    a = bump(0.3, 0.3, 0.08)
    b = bump(0.7, 0.55, 0.06) + 0.6 * bump(0.35, 0.75, 0.05)
    return a / a.sum(), b / b.sum()


def _demo(args) -> int:
    a, b = demo_densities(args.size)
    print(f"omtcore demo: W1 between two {args.size}x{args.size} densities of unit mass "
          f"({args.norm} norm, grid spacing 1/{args.size})")
    res = api.scalar_omt(a, b, h=1.0 / args.size, norm=args.norm, tol=args.tol,
                         backend=args.backend, dtype=args.dtype)
    print(f"  distance     {res.distance:.6f}")
    print(f"  certified    [{res.lower_bound:.6f}, {res.distance:.6f}]  (relative gap {res.gap:.2e})")
    print(f"  iterations   {res.iterations}  ({'converged' if res.converged else 'NOT converged'})")
    print(f"  time         {res.seconds:.3f} s")
    print(f"  backend      {res.backend} / {res.device} / {res.dtype}")
    return 0


def _devices(args) -> int:
    for info in api.backends():
        state = "available" if info.available else f"unavailable: {info.reason}"
        print(f"{info.name:8s} {state}")
        for i, dev in enumerate(info.devices):
            print(f"         [{i}] {dev}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="omtcore", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("demo", help="solve a built-in 2D example and print the certified distance")
    p.add_argument("--size", type=int, default=96, help="grid side (default 96)")
    p.add_argument("--norm", choices=("isotropic", "anisotropic"), default="isotropic")
    p.add_argument("--tol", type=float, default=1e-4)
    p.add_argument("--backend", default="auto")
    p.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    p.set_defaults(run=_demo)
    p = sub.add_parser("devices", help="list backends, devices and why any is unavailable")
    p.set_defaults(run=_devices)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except (InvalidInputError, BackendUnavailableError) as exc:
        print(f"omtcore: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
