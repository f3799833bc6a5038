"""Building the C++ core from the tests (shared by the packaging and
eigensolver tests): cmake, ctest and doctest found or the test skipped (or
failed where OMTCORE_REQUIRE_CPP_TESTS asks for them)."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REQUIRED = os.environ.get("OMTCORE_REQUIRE_CPP_TESTS", "") not in ("", "0")


def _skip_or_fail(reason):
    if REQUIRED:
        pytest.fail(f"C++ tests required (OMTCORE_REQUIRE_CPP_TESTS) but {reason}")
    pytest.skip(reason)


def _run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def configure_core(build, *, tests, opencl=False, cuda=False):
    """cmake-configure the core alone (no Python; OpenCL if asked: it needs
    nothing at build time; CUDA if asked and nvcc is found) into ``build``;
    skips or fails the test when cmake or doctest is missing. Returns the
    cmake executable."""
    if not (ROOT / "CMakeLists.txt").exists():
        _skip_or_fail("the source tree is not beside the tests")
    cmake = shutil.which("cmake")
    if not cmake or (tests and not shutil.which("ctest")):
        _skip_or_fail("cmake/ctest not found on PATH")
    configure = [cmake, "-S", str(ROOT), "-B", str(build), "-DCMAKE_BUILD_TYPE=Release",
                 "-DOMTCORE_BUILD_PYTHON=OFF", f"-DOMTCORE_BUILD_TESTS={'ON' if tests else 'OFF'}",
                 f"-DOMTCORE_WITH_OPENCL={'ON' if opencl else 'OFF'}",
                 f"-DOMTCORE_WITH_CUDA={'AUTO' if cuda else 'OFF'}"]
    if shutil.which("ninja"):
        configure += ["-G", "Ninja"]
    out = _run(configure)
    if out.returncode != 0:
        if "doctest" in out.stdout + out.stderr:
            _skip_or_fail("doctest is not installed (Debian: apt-get install doctest-dev)")
        pytest.fail("cmake configure failed:\n" + out.stdout + out.stderr)
    return cmake
