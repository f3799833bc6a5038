#!/usr/bin/env bash
# Checks of the CUDA backend on a machine with an NVIDIA GPU, nvcc and this
# checkout, without network: build and install omtcore with CUDA required,
# the Python tests with the cpu and cuda backends required, small solves of
# every kind against the CPU, then compute-sanitizer (memcheck, racecheck) on
# them. Logs go to $OUT (default ./gpu-logs); the exit status is that of the
# first failed stage. Usage: bash benchmarks/gpu/run_gpu_checks.sh
set -uo pipefail
cd "$(dirname "$0")/../.."
LOG=${OUT:-$PWD/gpu-logs}
mkdir -p "$LOG"
status=0
stage() {  # stage NAME COMMAND...: runs it, logs to $LOG/NAME.log, remembers a failure
  local name=$1 t0=$SECONDS rc
  shift
  echo "== $name: $*"
  "$@" >"$LOG/$name.log" 2>&1
  rc=$?
  echo "   rc=$rc, $((SECONDS - t0)) s (log: $LOG/$name.log)"
  tail -n 5 "$LOG/$name.log"
  if [ $rc -ne 0 ] && [ $status -eq 0 ]; then status=$rc; fi
  return $rc
}

stage env sh -c 'nvidia-smi; nvcc --version; cmake --version; python --version'
# This GPU only (nvcc is the slow part of the build); OMTCORE_WITH_CUDA=ON fails
# the build if nvcc is missing instead of silently leaving CUDA out.
export CUDAARCHS=${CUDAARCHS:-native} OMTCORE_WITH_CUDA=ON
# Offline: build in this environment when its build requirements are installed
# (pip's isolated build would download them).
if python -c 'import scikit_build_core, Cython, cython_cmake' 2>/dev/null; then
  stage install python -m pip install -v --no-deps --no-build-isolation . || exit $status
else
  stage install python -m pip install -v . || exit $status
fi
stage backends python -c 'import omtcore; [print(i) for i in omtcore.backends()]'

stage pytest env OMTCORE_REQUIRE_BACKENDS=cpu,cuda python -m pytest -q -rs -p no:cacheprovider tests

# Small solves of each kind and dtype, on compile-time shapes (scalar 1-3 axes,
# RGB, Pauli, Gell-Mann) and on a shape read at run time (k = 2 channels).
# Arguments: iterations, then "compare" to also solve on the CPU and require
# the same distance.
cat >"$LOG/small_solves.py" <<'PY'
import sys
import warnings

import numpy as np
import omtcore

max_iter = int(sys.argv[1])
compare = sys.argv[2:] == ["compare"]
warnings.simplefilter("ignore", omtcore.ConvergenceWarning)
rng = np.random.default_rng(0)


def psd(shape, k):
    x = rng.standard_normal(shape + (k, k)) + 1j * rng.standard_normal(shape + (k, k))
    return x @ np.conj(np.swapaxes(x, -1, -2))


cases = []
for shape in [(9,), (12, 10), (5, 6, 7)]:
    for norm in ("isotropic", "anisotropic"):
        cases.append((f"scalar {shape} {norm}", omtcore.scalar_omt,
                      (rng.random(shape), rng.random(shape)), dict(norm=norm)))
for k in (3, 2):
    for norm in ("isotropic", "anisotropic"):
        cases.append((f"vector k={k} {norm}", omtcore.vector_omt,
                      (rng.random((12, 10, k)), rng.random((12, 10, k))), dict(norm=norm)))
for k in (2, 3):
    for mnorm in ("frobenius", "nuclear"):
        cases.append((f"matrix k={k} {mnorm}", omtcore.matrix_omt,
                      (psd((8, 7), k), psd((8, 7), k)), dict(matrix_norm=mnorm)))
bad = 0
for dtype in ("float32", "float64"):
    for name, solve, (a, b), kw in cases:
        run = dict(normalize=True, tol=1e-3, max_iter=max_iter, dtype=dtype, **kw)
        g = solve(a, b, backend="cuda", **run)
        line = f"{dtype} {name}: cuda {g.distance:.6g} [{g.lower_bound:.6g}] it {g.iterations} on {g.device}"
        if compare:
            c = solve(a, b, backend="cpu", **run)
            diff = abs(g.distance - c.distance) / abs(c.distance)
            ok = diff <= 1e-2 and np.isfinite(g.lower_bound)  # both within tol, or equal iterations
            bad += not ok
            line += f"; cpu {c.distance:.6g} [{c.lower_bound:.6g}] it {c.iterations}; rel diff {diff:.1e}"
            line += "" if ok else "  MISMATCH"
        print(line, flush=True)
sys.exit(1 if bad else 0)
PY
stage small_solves python "$LOG/small_solves.py" 150 compare

SAN=$(command -v compute-sanitizer || ls /usr/local/cuda*/bin/compute-sanitizer 2>/dev/null | head -n 1)
if [ -n "$SAN" ]; then
  for tool in memcheck racecheck; do
    stage "sanitizer_$tool" "$SAN" --tool "$tool" --error-exitcode 99 python "$LOG/small_solves.py" 30
  done
else
  echo "compute-sanitizer not found: sanitizer stages skipped" | tee "$LOG/sanitizer_skipped.log"
fi
# Timings, CPU and CUDA side by side on the same problems (benchmarks/RESULTS.md).
stage bench_small python benchmarks/bench_backends.py --sizes 256 512 --backends cpu cuda --no-ortools
stage bench_large python benchmarks/bench_backends.py --sizes 1024 2048 --backends cuda --no-ortools \
  --cases scalar-aniso scalar-iso rgb-aniso
# The paper's plain PDHG in CuPy (unfused) beside omtcore's CUDA backend.
if python -c 'import cupy' 2>/dev/null; then
  stage pdhg_cupy python benchmarks/pdhg_reference.py --xp cupy --sizes 256 512 1024 --backend cuda \
    --max-iter 50000
fi
echo "status $status; logs in $LOG"
exit $status
