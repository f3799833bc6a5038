"""The installed C++ package: cmake --install the core (component "cpp") into
a temporary prefix, build examples/cpp against it with find_package, run it.
Nothing Python is involved in that build or run."""

import os
import re
import shutil

import pytest

from conftest import backend_info, required_backends
from cpp_build import ROOT, _run, _skip_or_fail, configure_core


def test_installed_package_builds_and_runs_the_example(tmp_path):
    if not (ROOT / "examples" / "cpp" / "CMakeLists.txt").exists():
        _skip_or_fail("the source tree is not beside the tests")
    gen = ["-G", "Ninja"] if shutil.which("ninja") else []
    jobs = str(os.cpu_count() or 2)
    build, prefix, example = tmp_path / "core", tmp_path / "prefix", tmp_path / "example"
    cmake = configure_core(build, tests=False, opencl=True)  # the package carries the backends built
    out = _run([cmake, "--build", str(build), "-j", jobs])
    assert out.returncode == 0, out.stdout + out.stderr
    out = _run([cmake, "--install", str(build), "--prefix", str(prefix), "--component", "cpp"])
    assert out.returncode == 0, out.stdout + out.stderr
    assert list(prefix.glob("**/omtcoreConfig.cmake")) and list(prefix.glob("**/omtcoreConfigVersion.cmake"))
    assert (prefix / "include" / "omtcore" / "omtcore.hpp").exists()

    check_components(cmake, prefix, tmp_path / "probe")

    out = _run([cmake, "-S", str(ROOT / "examples" / "cpp"), "-B", str(example),
                f"-DCMAKE_PREFIX_PATH={prefix}", "-DCMAKE_BUILD_TYPE=Release", *gen])
    assert out.returncode == 0, out.stdout + out.stderr
    out = _run([cmake, "--build", str(example), "-j", jobs])
    assert out.returncode == 0, out.stdout + out.stderr
    exe = example / "omtcore_example"

    def solve_with(backend):
        out = _run([str(exe), backend])
        assert out.returncode == 0, out.stdout + out.stderr
        values = {}
        for kind, dist, lo, hi in re.findall(
                r"(scalar|vector): distance ([0-9.e+-]+), certified bracket \[([0-9.e+-]+), ([0-9.e+-]+)\]",
                out.stdout):
            values[kind] = (float(dist), float(lo), float(hi))
        assert set(values) == {"scalar", "vector"}, out.stdout
        for dist, lo, hi in values.values():
            assert lo <= hi and dist == hi and (hi - lo) <= 1e-5 * hi
        # A bump moved 12 cells of h = 1/48 under the L1 norm: 0.25 (up to the
        # bumps' truncation at the border, far below the tolerance).
        assert values["scalar"][0] == pytest.approx(0.25, rel=1e-4)
        return values

    cpu = solve_with("cpu")
    available, _ = backend_info("opencl")
    if available or "opencl" in required_backends():
        ocl = solve_with("opencl")
        for kind in cpu:
            assert ocl[kind][0] == pytest.approx(cpu[kind][0], rel=2e-5)

    # An unknown backend is a clear error and a non-zero exit, not a crash.
    out = _run([str(exe), "quantum"])
    assert out.returncode == 1 and "unknown backend 'quantum'" in out.stderr


PROBE = """cmake_minimum_required(VERSION 3.21)
project(probe LANGUAGES CXX)
find_package(omtcore CONFIG REQUIRED COMPONENTS ${WANT})
message(STATUS "omtcore backends: ${omtcore_BACKENDS}")
"""


def check_components(cmake, prefix, probe):
    """The package's backends are components: those built are found (the core
    above has cpu and opencl, no cuda), others fail at configure time."""
    probe.mkdir()
    (probe / "CMakeLists.txt").write_text(PROBE)

    def configure(want, name):
        return _run([cmake, "-S", str(probe), "-B", str(probe / name), f"-DCMAKE_PREFIX_PATH={prefix}",
                     f"-DWANT={want}"])

    out = configure("cpu;opencl", "ok")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "omtcore backends: cpu;opencl" in out.stdout
    out = configure("cuda", "no-cuda")
    assert out.returncode != 0
    assert "built without the cuda backend (it has: cpu;opencl)" in out.stdout + out.stderr
    out = configure("quantum", "unknown")
    assert out.returncode != 0 and "unknown component 'quantum'" in out.stdout + out.stderr
