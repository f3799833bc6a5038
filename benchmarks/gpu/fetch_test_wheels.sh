#!/usr/bin/env bash
# Downloads, on a machine with PyPI, the wheels that run_gpu_checks.sh installs
# on an offline GPU machine (its image has numpy, scipy, pytest, CuPy, PyTorch,
# CMake and nvcc, but not the test references or our build requirements):
# POT and cvxpy with its solvers (the suite's exact references), and
# scikit-build-core, Cython and cython-cmake (the offline build). Python 3.12,
# manylinux x86-64, by default into ./.whl (add `/.whl/` to .git/info/exclude
# and carry it). The versions are those the suite was run with there on
# 2026-11-26; POT 0.9.5 and scs 3.2.7 because later wheels are 33-43 MB.
#   bash benchmarks/gpu/fetch_test_wheels.sh [DIR] [PYTHON_VERSION]
set -euo pipefail
dir=${1:-.whl}
py=${2:-3.12}
mkdir -p "$dir"
for spec in POT==0.9.5 cvxpy==1.9.3 clarabel==0.11.1 osqp==1.1.3 scs==3.2.7 highspy==1.16.0 \
            qdldl==0.1.9.post1 sparsediffpy==0.6.1 cffi==2.1.1 pycparser==3.12 \
            scikit-build-core==1.1.2 Cython==3.3.1 cython-cmake==0.3.0; do
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version "$py" --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_24_x86_64 \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d "$dir" "$spec"
done
du -sh "$dir"
