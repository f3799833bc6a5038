#!/usr/bin/env bash
# Checks of the CUDA backend on a machine with an NVIDIA GPU, nvcc and this
# checkout, without network, in one command: build and install omtcore with
# CUDA required; small solves of every kind against the CPU; the Python tests
# with the cpu and cuda backends required; compute-sanitizer (memcheck,
# initcheck, racecheck) on small solves; then the benchmarks (CPU beside CUDA,
# CUDA alone up to 2048², the paper's plain PDHG in CuPy).
#
#   OUT=logs BUDGET_S=450 bash benchmarks/gpu/run_gpu_checks.sh [STAGE...]
#
# STAGEs (default: all, in this order): build small pytest sanitizer bench pdhg
# (pdhg: the paper's plain PDHG in CuPy, then what CuPy inputs cost).
# ABLATION=0 leaves out the graphs-off solves and the loop rates.
#
# BUDGET_S bounds the whole run: each stage gets at most what is left, so the
# script ends (and its logs are complete) inside a lease. Python packages the
# machine lacks may be carried as wheels in ./.whl (installed to /tmp/site).
# (benchmarks/gpu/fetch_test_wheels.sh fetches them.)
# Logs: $OUT/<stage>.log (default ./gpu-logs); the exit status is that of the
# first failed stage.
set -uo pipefail
cd "$(dirname "$0")/../.."
LOG=${OUT:-$PWD/gpu-logs}
PY=${PYTHON:-python3}
BUDGET_S=${BUDGET_S:-3600}
mkdir -p "$LOG"
STAGES=" ${*:-build small pytest sanitizer bench pdhg} "
ABLATION=${ABLATION:-1}
want() { [[ $STAGES == *" $1 "* ]]; }
status=0
# stage NAME MAX_SECONDS COMMAND...: runs it within min(MAX, what is left),
# appends to $LOG/NAME.log, remembers the first failure.
stage() {
  local name=$1 max=$2 t0=$SECONDS rc left
  shift 2
  left=$((BUDGET_S - SECONDS - 5))
  [ "$left" -lt "$max" ] && max=$left
  if [ "$max" -le 10 ]; then
    echo "== $name: skipped, out of time budget"
    [ $status -eq 0 ] && status=124
    return 124
  fi
  echo "== $name (<= $max s): $*"
  echo "== $*" >>"$LOG/$name.log"
  timeout -k 5 "$max" "$@" >>"$LOG/$name.log" 2>&1
  rc=$?
  echo "   rc=$rc, $((SECONDS - t0)) s"
  tail -n 4 "$LOG/$name.log" | cut -c1-300
  if [ $rc -ne 0 ] && [ $status -eq 0 ]; then status=$rc; fi
  return $rc
}

if [ -d .whl ] && ls .whl/*.whl >/dev/null 2>&1; then
  stage build 60 $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl
  export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi
stage env 20 sh -c 'nvidia-smi; nvcc --version; cmake --version; '"$PY"' --version; echo "CXX=${CXX:-}"'
# This GPU only (nvcc is the slow part of the build); OMTCORE_WITH_CUDA=ON fails
# the build if nvcc is missing instead of silently leaving CUDA out.
export CUDAARCHS=${CUDAARCHS:-native} OMTCORE_WITH_CUDA=ON CMAKE_BUILD_PARALLEL_LEVEL=$(nproc)
# Offline: build in this environment when its build requirements are installed
# (pip's isolated build would download them).
if ! want build; then
  :
elif $PY -c 'import scikit_build_core, Cython, cython_cmake' 2>/dev/null; then
  stage build 300 $PY -m pip install -v --no-deps --no-build-isolation . || exit $status
else
  stage build 300 $PY -m pip install -v . || exit $status
fi

# Small solves of each kind and dtype, on compile-time shapes (scalar 1-3 axes,
# RGB, Pauli, Gell-Mann) and on a shape read at run time (k = 2 channels).
# Arguments: iterations, then "compare" to also solve on the CPU and require
# the same distance.
SMALL=/tmp/small_solves.py
cat >"$SMALL" <<'PY'
import os
import sys
import warnings

import numpy as np
import omtcore

max_iter = int(sys.argv[1])
compare = sys.argv[2:] == ["compare"]
warnings.simplefilter("ignore", omtcore.ConvergenceWarning)
rng = np.random.default_rng(0)
print(*omtcore.backends(), sep="\n", flush=True)


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
        g = solve(a, b, backend=os.environ.get("SMALL_BACKEND", "cuda"), **run)
        line = f"{dtype} {name}: {g.backend} {g.distance:.6g} [{g.lower_bound:.6g}] it {g.iterations}"
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
want small && stage small_solves 90 $PY "$SMALL" 150 compare
# The Poisson solve in work-group memory (omt_dct_rows), GPUs' default until measured: stages.
want small && stage small_solves 60 env OMTCORE_DEVICE_TRANSFORM=rows $PY "$SMALL" 150 compare

# The whole suite, cpu and cuda required (opencl runs too where the image has
# NVIDIA's OpenCL driver); xdist where installed, few OpenMP threads per worker.
XDIST=()
$PY -c 'import xdist' 2>/dev/null && XDIST=(-n 8)
want pytest && stage pytest 240 env OMTCORE_REQUIRE_BACKENDS=cpu,cuda OMP_NUM_THREADS=2 \
  $PY -m pytest -q -rs -p no:cacheprovider "${XDIST[@]}" --durations=10 tests

SAN=$(command -v compute-sanitizer || ls /usr/local/cuda*/bin/compute-sanitizer 2>/dev/null | head -n 1)
if ! want sanitizer; then
  :
elif [ -n "$SAN" ]; then
  stage sanitizer 60 "$SAN" --tool memcheck --error-exitcode 99 $PY "$SMALL" 10
  stage sanitizer 40 "$SAN" --tool initcheck --error-exitcode 99 $PY "$SMALL" 3
  stage sanitizer 40 "$SAN" --tool racecheck --error-exitcode 99 $PY "$SMALL" 3
  stage sanitizer 60 env OMTCORE_DEVICE_TRANSFORM=rows "$SAN" --tool memcheck --error-exitcode 99 $PY "$SMALL" 3
  stage sanitizer 40 env OMTCORE_DEVICE_TRANSFORM=rows "$SAN" --tool racecheck --error-exitcode 99 $PY "$SMALL" 3
else
  echo "compute-sanitizer not found: sanitizer stages skipped" | tee "$LOG/sanitizer.log"
fi

# Timings (benchmarks/RESULTS.md): CUDA at the issue's sizes, with and without
# graphs (OMTCORE_CUDA_GRAPHS=0: a launch per kernel), then the CPU backend on
# the same host at 256² as the peer.
BENCH="$PY benchmarks/bench_backends.py --no-ortools"
if want bench; then
  # First the two device transforms side by side (which one GPUs should default to).
  stage bench 120 $BENCH --sizes 512 1024 --backends cuda --transforms stages rows \
    --cases scalar-aniso rgb-aniso matrix2-frob
  stage bench 90 $BENCH --sizes 256 512 --backends cuda
  [ "$ABLATION" = 1 ] && stage bench 60 env OMTCORE_CUDA_GRAPHS=0 $BENCH --sizes 256 512 --backends cuda \
    --cases scalar-aniso scalar-iso rgb-aniso
  stage bench 60 $BENCH --sizes 1024 --backends cuda --cases scalar-aniso scalar-iso rgb-aniso
  stage bench 60 $BENCH --sizes 2048 --backends cuda --cases scalar-aniso scalar-iso
  stage bench 60 $BENCH --sizes 256 --backends cpu --cases scalar-aniso scalar-iso rgb-aniso matrix2-frob
  # Batches: the CPU batch beside the GPU's (problems stepped together there,
  # one launch per step), and single solves on each backend beside them.
  stage bench 120 $PY benchmarks/bench_batch.py --count 1024 --sizes 64 128 --backends cpu cuda --singles 32
  [ "$ABLATION" = 1 ] && stage bench 120 $PY benchmarks/gpu/loop_rate.py --sizes 128 256 1024 2048 --iterations 300 \
    --transforms stages rows
fi
if want pdhg && $PY -c 'import cupy' 2>/dev/null; then
  stage pdhg 90 $PY benchmarks/pdhg_reference.py --xp cupy --sizes 256 512 1024 --backend cuda --max-iter 50000
  stage interop 60 $PY benchmarks/gpu/interop_overhead.py --sizes 512 2048
fi
echo "status $status after $SECONDS s; logs in $LOG"
exit $status
