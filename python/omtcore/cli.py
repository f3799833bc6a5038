"""The omtcore command line: `omtcore demo`, `omtcore solve`, `omtcore pairwise`, `omtcore devices`."""

from __future__ import annotations

import argparse
import json
import os
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


class CliError(Exception):
    """A problem with the command's inputs: one line on stderr, exit status 2."""


def _read_image(path: str) -> np.ndarray:
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError:
        raise CliError("reading images needs Pillow: pip install 'omtcore[image]'") from None
    try:
        with Image.open(path) as img:
            # Grey images are scalar masses; anything else is read as RGB
            # (palette expanded, alpha dropped): three channels.
            if img.mode in ("1", "L", "LA", "I", "I;16", "F"):
                return np.asarray(img.convert("L" if img.mode == "LA" else img.mode).convert("F"),
                                  dtype=np.float64)
            return np.asarray(img.convert("RGB"), dtype=np.float64)
    except FileNotFoundError:
        raise CliError(f"{path}: no such file") from None
    except (UnidentifiedImageError, OSError) as exc:
        raise CliError(f"{path}: not a readable image ({exc})") from None


def read_masses(path: str) -> np.ndarray:
    """An image (grey: (h, w); colour: (h, w, 3)) or an array from .npy / .npz
    (the first array in the file) as float64 or complex128 masses."""
    ext = os.path.splitext(path)[1].lower()
    if ext in (".npy", ".npz"):
        try:
            data = np.load(path, allow_pickle=False)
        except FileNotFoundError:
            raise CliError(f"{path}: no such file") from None
        except (OSError, ValueError) as exc:
            raise CliError(f"{path}: not a readable numpy file ({exc})") from None
        if ext == ".npz":
            if not data.files:
                raise CliError(f"{path}: the archive holds no array")
            data = data[data.files[0]]
        if data.dtype.kind not in "biufc":
            raise CliError(f"{path}: expected a numeric array, got dtype {data.dtype}")
        return np.asarray(data)
    return _read_image(path)


def problem_kind(a: np.ndarray, requested: str) -> str:
    """scalar: 1-3 grid axes; vector: (*grid, k); matrix: (*grid, k, k).
    'auto' reads 2-D arrays as scalar, complex or (..., k, k) arrays of 4+ axes
    or with equal last two axes as matrix, 3-D arrays as channel-last vector."""
    if requested != "auto":
        return requested
    if a.ndim <= 2:
        return "scalar"
    if np.iscomplexobj(a) or (a.shape[-1] == a.shape[-2] and a.ndim >= 4):
        return "matrix"
    if a.ndim == 3 and a.shape[-1] == a.shape[-2] and np.allclose(a, np.swapaxes(a, -1, -2)):
        return "matrix"
    return "vector"


class _Progress:
    """Iteration, gap and residual on one terminal line (callback of a solve)."""

    def __init__(self, stream, enabled: bool):
        self.stream, self.enabled, self.shown = stream, enabled, False

    def __call__(self, iteration, gap, residual):
        if self.enabled:
            self.stream.write(f"\r  iteration {iteration:7d}   gap {gap:9.2e}   residual {residual:9.2e}")
            self.stream.flush()
            self.shown = True
        return True

    def close(self):
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()


def _solve(args) -> int:
    a, b = read_masses(args.source), read_masses(args.target)
    if a.shape != b.shape:
        raise CliError(f"source and target differ in shape: {a.shape} and {b.shape}")
    kind = problem_kind(a, args.kind)
    progress = _Progress(sys.stderr, args.progress or (not args.json and sys.stderr.isatty()))
    common = dict(h=args.h, mask=None, normalize=args.normalize, tol=args.tol, max_iter=args.max_iter,
                  backend=args.backend, device=args.device, dtype=args.dtype, callback=progress,
                  unbalanced=args.unbalanced)
    try:
        if kind == "scalar":
            res = api.scalar_omt(a, b, norm=args.norm, **common)
        elif kind == "vector":
            edges = None
            if args.graph == "path":
                edges = [(c, c + 1) for c in range(a.shape[-1] - 1)]
            elif args.graph == "none":
                edges = []
            res = api.vector_omt(a, b, edges=edges, alpha=args.alpha, norm=args.norm, **common)
        else:
            res = api.matrix_omt(a, b, alpha=args.alpha, matrix_norm=args.matrix_norm, **common)
    finally:
        progress.close()
    summary = {"kind": kind, "shape": list(a.shape), "distance": res.distance,
               "lower_bound": res.lower_bound, "gap": res.gap, "residual": res.residual,
               "iterations": res.iterations, "converged": res.converged, "seconds": res.seconds,
               "backend": res.backend, "device": res.device, "dtype": res.dtype,
               "unbalanced": args.unbalanced}
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"omtcore solve: {kind} OMT on a grid of shape {a.shape}")
        print(f"  distance     {res.distance:.8g}")
        print(f"  certified    [{res.lower_bound:.8g}, {res.distance:.8g}]  (relative gap {res.gap:.2e})")
        print(f"  iterations   {res.iterations}  ({'converged' if res.converged else 'NOT converged'})")
        print(f"  time         {res.seconds:.3f} s")
        print(f"  backend      {res.backend} / {res.device} / {res.dtype}")
    if args.plot:
        from .plot import plot_result
        try:
            plot_result(args.plot, a, b, res, kind)
        except (ImportError, InvalidInputError) as exc:
            raise CliError(f"--plot: {exc}") from None
    return 0


def _pairwise(args) -> int:
    from .pairwise import pairwise

    if len(args.files) < 2:
        raise CliError("pairwise needs at least two images or arrays")
    out_ext = os.path.splitext(args.output)[1].lower()
    if out_ext not in (".npy", ".csv"):
        raise CliError(f"-o {args.output}: the distance matrix is written as .npy or .csv")
    arrays = [read_masses(path) for path in args.files]
    for path, arr in zip(args.files[1:], arrays[1:]):
        if arr.shape != arrays[0].shape:
            raise CliError(f"{path} has shape {arr.shape}, {args.files[0]} has {arrays[0].shape}: "
                           "every input must have one shape")
    kind = problem_kind(arrays[0], args.kind)
    X = np.stack(arrays)
    kw = dict(h=args.h, normalize=args.normalize, tol=args.tol, max_iter=args.max_iter,
              backend=args.backend, dtype=args.dtype, unbalanced=args.unbalanced, alpha=args.alpha,
              norm=args.norm, matrix_norm=args.matrix_norm)
    if kind != "matrix":
        kw.pop("matrix_norm")
    else:
        kw.pop("norm")
    if kind == "scalar":
        kw.pop("alpha")
    res = pairwise(X, kind=kind, progress=args.progress, workers=args.threads, **kw)
    if out_ext == ".npy":
        np.save(args.output, res.distance)
    else:
        np.savetxt(args.output, res.distance, delimiter=",", fmt="%.17g")
    gap = float(np.max(res.distance - res.lower_bound)) if len(X) else 0.0
    print(f"omtcore pairwise: {len(X)} {kind} problems of shape {arrays[0].shape}, "
          f"{len(X) * (len(X) - 1) // 2} pairs in {res.seconds:.2f} s")
    print(f"  largest distance - lower_bound   {gap:.3g}")
    print(f"  converged                        {int(res.converged.sum())} of {res.converged.size} entries")
    print(f"  written                          {args.output}")
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
    p = sub.add_parser("solve", help="transport between two images or arrays (grey: scalar, colour: "
                                     "vector over RGB, .npy/.npz: scalar, vector or matrix fields)")
    p.add_argument("source", help="image (PNG, JPEG, TIFF, ...) or .npy/.npz array")
    p.add_argument("target", help="same kind and shape as the source")
    p.add_argument("--kind", choices=("auto", "scalar", "vector", "matrix"), default="auto",
                   help="problem kind (auto: from the array's shape and dtype)")
    p.add_argument("--norm", choices=("isotropic", "anisotropic"), default="isotropic",
                   help="spatial norm of scalar and vector problems")
    p.add_argument("--matrix-norm", choices=("frobenius", "nuclear"), default="frobenius")
    p.add_argument("--alpha", type=float, default=1.0, help="price of exchange between channels")
    p.add_argument("--graph", choices=("all", "path", "none"), default="all",
                   help="channel graph of vector problems: all pairs, a path 0-1-2-..., or none")
    p.add_argument("--h", type=float, default=1.0, help="grid spacing")
    p.add_argument("--normalize", action="store_true", help="scale both inputs to unit mass")
    p.add_argument("--unbalanced", type=float, default=None, metavar="LAM",
                   help="unbalanced transport: mass may appear or vanish at LAM per unit")
    p.add_argument("--tol", type=float, default=1e-4)
    p.add_argument("--max-iter", type=int, default=None)
    p.add_argument("--backend", default="auto")
    p.add_argument("--device", type=int, default=None)
    p.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    p.add_argument("--progress", action="store_true",
                   help="show iterations and gap on stderr (default: only on a terminal)")
    p.add_argument("--plot", metavar="PNG", help="draw source, target, flux and potential to this file")
    p.set_defaults(run=_solve)
    p = sub.add_parser("pairwise", help="the distance matrix of several images or arrays of one shape")
    p.add_argument("files", nargs="+", metavar="FILE", help="images or .npy/.npz arrays, all of one shape")
    p.add_argument("-o", "--output", required=True, help="where the matrix goes: .npy or .csv")
    p.add_argument("--kind", choices=("auto", "scalar", "vector", "matrix"), default="auto")
    p.add_argument("--norm", choices=("isotropic", "anisotropic"), default="isotropic")
    p.add_argument("--matrix-norm", choices=("frobenius", "nuclear"), default="frobenius")
    p.add_argument("--alpha", type=float, default=1.0, help="price of exchange between channels")
    p.add_argument("--h", type=float, default=1.0, help="grid spacing")
    p.add_argument("--normalize", action="store_true", help="scale every input to unit mass")
    p.add_argument("--unbalanced", type=float, default=None, metavar="LAM")
    p.add_argument("--tol", type=float, default=1e-4)
    p.add_argument("--max-iter", type=int, default=None)
    p.add_argument("--backend", default="auto")
    p.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    p.add_argument("--threads", type=int, default=None, help="CPU threads (default: every core)")
    p.add_argument("--progress", action="store_true", help="a progress bar of the pairs on stderr")
    p.set_defaults(run=_pairwise)
    p = sub.add_parser("devices", help="list backends, devices and why any is unavailable")
    p.set_defaults(run=_devices)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except (InvalidInputError, BackendUnavailableError, CliError) as exc:
        print(f"omtcore: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("omtcore: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
