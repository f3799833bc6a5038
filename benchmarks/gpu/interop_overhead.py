"""What CUDA-array inputs cost: the same solve from numpy and from CuPy arrays.

CuPy (and PyTorch, pycuda) inputs are copied to the host once, because
validation, per-part rebalancing and the double-precision certificate run
there; the results go back as CuPy arrays. This prints, per size, the wall
time of the whole call with numpy inputs and with CuPy inputs (best of
--repeats), their difference, and the bare device-to-host copy of both
inputs plus the host-to-device copy of the results, for scale.

    python benchmarks/gpu/interop_overhead.py --sizes 512 2048
"""
import argparse
import os
import sys
import time
import warnings

import numpy as np
import omtcore

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from bench_backends import problem  # noqa: E402


def best_wall(call, repeats):
    best, result = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = call()
        best = min(best, time.perf_counter() - t0)
    return best, result


def main():
    import cupy

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[512, 2048])
    p.add_argument("--case", default="scalar-aniso")
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    warnings.simplefilter("ignore", omtcore.ConvergenceWarning)
    print(f"# {args.case}, float32 iterate, tol 1e-4, inputs float32; wall seconds of the whole call, best of {args.repeats}")
    print("| n | numpy in, numpy out | CuPy in, CuPy out | difference | bare copies (D2H inputs + H2D results) |")
    print("|---|---|---|---|---|")
    for n in args.sizes:
        solve, kw, _, _ = problem(args.case, n)
        host = {k: (np.asarray(v, dtype=np.float32) if isinstance(v, np.ndarray) else v) for k, v in kw.items()}
        dev = {k: (cupy.asarray(v) if isinstance(v, np.ndarray) else v) for k, v in host.items()}
        solve(**host, backend="cuda", tol=1e-2)  # warm-up
        t_np, r_np = best_wall(lambda: solve(**host, backend="cuda"), args.repeats)

        def on_device():
            r = solve(**dev, backend="cuda")
            cupy.cuda.get_current_stream().synchronize()
            return r

        t_cp, r_cp = best_wall(on_device, args.repeats)
        assert r_np.distance == r_cp.distance and isinstance(r_cp.flux, cupy.ndarray)

        def copies():
            arrays = [v.get() for v in dev.values() if isinstance(v, cupy.ndarray)]
            back = [cupy.asarray(x) for x in (r_np.flux, r_np.potential)]
            cupy.cuda.get_current_stream().synchronize()
            return arrays, back

        t_copy, _ = best_wall(copies, args.repeats)
        print(f"| {n} | {t_np:.3f} | {t_cp:.3f} | {t_cp - t_np:+.3f} | {t_copy:.3f} |", flush=True)


if __name__ == "__main__":
    main()
