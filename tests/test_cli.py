"""The command line: `omtcore demo` (the main job) prints a certified distance
that matches POT's exact value, `omtcore devices` lists every backend, and bad
arguments exit 2 with a message instead of a traceback."""

import re
import subprocess
import sys

import pytest

from omtcore.cli import demo_densities
from references import emd_l1


def run(*args):
    return subprocess.run([sys.executable, "-m", "omtcore", *args], capture_output=True, text=True,
                          timeout=300)


def test_demo_matches_exact_emd():
    n = 24
    out = run("demo", "--size", str(n), "--norm", "anisotropic", "--tol", "1e-5", "--dtype", "float64")
    assert out.returncode == 0, out.stderr
    distance = float(re.search(r"distance\s+([0-9.eE+-]+)", out.stdout).group(1))
    lower, upper = map(float, re.search(r"certified\s+\[([^,]+), ([^\]]+)\]", out.stdout).groups())
    assert "converged" in out.stdout and "NOT" not in out.stdout
    a, b = demo_densities(n)
    exact = emd_l1(a, b, 1.0 / n)
    assert lower <= exact * (1 + 1e-5) and exact <= upper * (1 + 1e-5)
    assert distance == pytest.approx(exact, rel=1e-4)


def test_default_demo_runs():
    out = run("demo")
    assert out.returncode == 0, out.stderr
    for field in ("distance", "certified", "iterations", "time", "backend"):
        assert field in out.stdout


def test_devices_lists_every_backend():
    out = run("devices")
    assert out.returncode == 0, out.stderr
    for name in ("cpu", "opencl", "cuda"):
        assert re.search(rf"^{name}\s", out.stdout, re.M), out.stdout


def test_unknown_backend_is_a_clean_error():
    out = run("demo", "--size", "16", "--backend", "tpu")
    assert out.returncode == 2
    assert "unknown backend" in out.stderr and "Traceback" not in out.stderr
