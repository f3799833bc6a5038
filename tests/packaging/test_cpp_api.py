"""The C++ API without Python: configure the core with its doctest suite,
build it and run it through ctest (cpp/tests/test_solve.cpp)."""

import os
import shutil

from cpp_build import _run, configure_core


def test_cpp_api_through_ctest(tmp_path):
    # The closed-form cases run on every backend that can run here, and fail
    # for one in OMTCORE_REQUIRE_BACKENDS that cannot: OpenCL is built (it
    # costs nothing at build time), CUDA only where it is required (nvcc is slow).
    required = os.environ.get("OMTCORE_REQUIRE_BACKENDS", "").split(",")
    build = tmp_path / "build"
    cmake = configure_core(build, tests=True, opencl=True, cuda="cuda" in required)
    out = _run([cmake, "--build", str(build), "-j", str(os.cpu_count() or 2)])
    assert out.returncode == 0, "build failed:\n" + out.stdout + out.stderr
    out = _run([shutil.which("ctest"), "--test-dir", str(build), "--output-on-failure"])
    assert out.returncode == 0, "ctest failed:\n" + out.stdout + out.stderr
    assert "100% tests passed" in out.stdout
