"""Every available backend on the same problems, side by side in one run.

Cases (float32, certified gap --tol): scalar anisotropic on integer-rounded
Gaussian mixtures with OR-Tools' exact min-cost flow as the peer on the same
masses, scalar isotropic on the same masses, RGB vector anisotropic
(k = 3, all pairs, alpha = 1) and matrix k = 2 and k = 3 Frobenius (Pauli,
Gell-Mann). Each
backend first solves a tiny problem of the same kind, so that the OpenCL
kernels' run-time compilation is not timed. The table gives seconds,
iterations, milliseconds per iteration, the least memory traffic of one
iteration over that time (GB/s; on CUDA also as a share of the device's
measured device-to-device copy bandwidth), and the relative difference of the distance
to the first backend's (or to OR-Tools').

    python benchmarks/bench_backends.py                      # 64 128 256, every available backend
    python benchmarks/bench_backends.py --sizes 512 --backends cpu cuda --cases scalar-aniso
    python benchmarks/bench_backends.py --backends opencl --transforms stages rows   # both device transforms
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_fields import field_bytes_per_iteration, rgb_masses, tensor_fields  # noqa: E402
from bench_scalar import densities  # noqa: E402
from common import MASS_UNITS, copy_bandwidth_gbs, device_copy_bandwidth_gbs, machine_header, ortools_l1  # noqa: E402

CASES = ("scalar-aniso", "scalar-iso", "rgb-aniso", "matrix2-frob", "matrix3-frob")


def problem(case: str, n: int):
    """(solve function, keyword arguments, planes, exchange columns) for one case."""
    import omtcore
    if case.startswith("scalar"):
        a, b = densities(n, seed=1)
        norm = "anisotropic" if case == "scalar-aniso" else "isotropic"
        return omtcore.scalar_omt, dict(a=a / MASS_UNITS, b=b / MASS_UNITS, h=1.0 / n, norm=norm), 1, 0
    if case == "rgb-aniso":
        a, b = rgb_masses(n)
        total = float(a.sum())
        return (omtcore.vector_omt, dict(a=a / total, b=b / total, h=1.0 / n, alpha=1.0 / n,
                                         norm="anisotropic"), 3, 3)
    k = 2 if case == "matrix2-frob" else 3
    A, B = tensor_fields(n, k)
    return (omtcore.matrix_omt, dict(A=A, B=B, h=1.0 / n, alpha=1.0, matrix_norm="frobenius"),
            k * k, k * k * (k * k - 1))


def main() -> None:
    import omtcore
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[64, 128, 256])
    p.add_argument("--cases", nargs="+", choices=CASES, default=list(CASES))
    p.add_argument("--backends", nargs="+", default=None, help="default: every available one")
    p.add_argument("--tol", type=float, default=1e-4)
    p.add_argument("--no-ortools", action="store_true")
    p.add_argument("--transforms", nargs="+", choices=["auto", "stages", "rows"], default=["auto"],
                   help="OMTCORE_DEVICE_TRANSFORM values to run each device backend with")
    args = p.parse_args()
    infos = {i.name: i for i in omtcore.backends()}
    names = args.backends or [n for n in ("cpu", "opencl", "cuda") if infos[n].available]
    bandwidth = copy_bandwidth_gbs()
    print(machine_header(bandwidth))
    for name in names:
        info = infos[name]
        print(f"# {name}: " + (", ".join(info.devices) if info.available else f"unavailable ({info.reason})"))
    device_bandwidth = device_copy_bandwidth_gbs() if "cuda" in names else None
    if device_bandwidth:
        print(f"# cuda: measured device-to-device copy bandwidth {device_bandwidth:.0f} GB/s (CuPy)")
    print(f"# float32, tol {args.tol:g}; GB/s = least traffic of an iteration (bench_fields.py) / time")
    print()
    print("| case | n | solver | seconds | iterations | ms/it | GB/s | rel. diff |")
    print("|---|---|---|---|---|---|---|---|")
    warnings.simplefilter("ignore", omtcore.ConvergenceWarning)
    for case in args.cases:
        for n in args.sizes:
            solve, kw, planes, cols = problem(case, n)
            reference = None
            if case == "scalar-aniso" and not args.no_ortools:
                a, b = densities(n, seed=1)
                value, seconds = ortools_l1(a, b)
                reference = value / n
                print(f"| {case} | {n} | OR-Tools | {seconds:.2f} | | | | exact |", flush=True)
            runs = [(name, t) for name in names for t in (args.transforms if name != "cpu" else ["auto"])]
            for name, transform in runs:
                os.environ["OMTCORE_DEVICE_TRANSFORM"] = transform
                tiny, tiny_kw, _, _ = problem(case, 8)
                tiny(**tiny_kw, backend=name, tol=1e-2)  # compile and cache kernels
                r = solve(**kw, backend=name, tol=args.tol, dtype="float32")
                ms = 1e3 * r.seconds / max(r.iterations, 1)
                traffic = field_bytes_per_iteration(n * n, 2, planes, cols, 4) / (ms * 1e-3) / 1e9
                share = f" ({100 * traffic / device_bandwidth:.0f}%)" if name == "cuda" and device_bandwidth else ""
                if reference is None:
                    reference = r.distance
                diff = abs(r.distance - reference) / reference
                label = name
                if name == "cuda" and os.environ.get("OMTCORE_CUDA_GRAPHS") == "0":
                    label = "cuda, no graphs"  # every kernel launched on its own (the ablation)
                if transform != "auto":
                    label += f", {transform}"
                print(f"| {case} | {n} | {label} | {r.seconds:.2f} | {r.iterations} | {ms:.2f} | "
                      f"{traffic:.1f}{share} | {diff:.1e} |", flush=True)
    os.environ.pop("OMTCORE_DEVICE_TRANSFORM", None)


if __name__ == "__main__":
    main()
