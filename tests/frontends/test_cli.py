"""The command line: `omtcore demo` (the main job) prints a certified distance
that matches POT's exact value, `omtcore devices` lists every backend, and bad
arguments exit 2 with a message instead of a traceback."""

import re
import subprocess
import sys

import numpy as np
import pytest

import omtcore
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


# ---------------------------------------------------------------- omtcore solve


def _png(path, array, mode):
    from PIL import Image
    Image.fromarray(np.asarray(array, dtype=np.uint8), mode=mode).save(path)


def _grey_pair(tmp_path, n=12):
    a = np.full((n, n), 10.0)
    b = np.full((n, n), 10.0)
    a[2:5, 2:5] = 250
    b[7:10, 6:9] = 250
    _png(tmp_path / "a.png", a, "L")
    _png(tmp_path / "b.png", b, "L")
    return a, b


def test_solve_grey_pngs_json_matches_exact(tmp_path):
    import json
    a, b = _grey_pair(tmp_path)
    out = run("solve", str(tmp_path / "a.png"), str(tmp_path / "b.png"), "--norm", "anisotropic",
              "--normalize", "--tol", "1e-6", "--dtype", "float64", "--json")
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout)
    # The CLI's default backend is the API's "auto" (cpu here, cuda on a GPU machine).
    auto = omtcore.scalar_omt(np.ones((2, 2)), np.ones((2, 2))).backend
    assert res["kind"] == "scalar" and res["converged"] and res["backend"] == auto
    exact = emd_l1(a / a.sum(), b / b.sum())
    assert res["lower_bound"] <= exact * (1 + 1e-9) and exact <= res["distance"] * (1 + 1e-9)
    assert out.stderr == ""  # no progress line when stderr is not a terminal


def test_solve_colour_pngs_is_vector_omt(tmp_path):
    from references_vm import vector_emd
    rng = np.random.default_rng(0)
    a = rng.integers(1, 255, (8, 9, 3))
    b = rng.integers(1, 255, (8, 9, 3))
    _png(tmp_path / "a.png", a, "RGB")
    _png(tmp_path / "b.png", b, "RGB")
    out = run("solve", str(tmp_path / "a.png"), str(tmp_path / "b.png"), "--norm", "anisotropic",
              "--alpha", "0.5", "--normalize", "--tol", "1e-6", "--dtype", "float64", "--progress")
    assert out.returncode == 0, out.stderr
    assert "vector OMT" in out.stdout and "iteration" in out.stderr  # --progress forces the line
    lower, upper = map(float, re.search(r"certified\s+\[([^,]+), ([^\]]+)\]", out.stdout).groups())
    af, bf = a / a.sum(), b / b.sum()
    exact = vector_emd(af, bf, alpha=0.5)
    assert lower <= exact * (1 + 1e-7) and exact <= upper * (1 + 1e-7)


def test_solve_npy_matrix_fields(tmp_path):
    A = np.zeros((4, 4, 2, 2), complex)
    B = np.zeros((4, 4, 2, 2), complex)
    A[0, 0] = [[1, 0.5j], [-0.5j, 1]]
    B[3, 2] = [[1, 0.5j], [-0.5j, 1]]
    np.save(tmp_path / "A.npy", A)
    np.savez(tmp_path / "B.npz", B=B)
    out = run("solve", str(tmp_path / "A.npy"), str(tmp_path / "B.npz"), "--matrix-norm", "nuclear",
              "--tol", "1e-6", "--dtype", "float64")
    assert out.returncode == 0, out.stderr
    assert "matrix OMT" in out.stdout
    distance = float(re.search(r"distance\s+([0-9.eE+-]+)", out.stdout).group(1))
    # Nuclear norm: the trace (2) moved 3 + 2 cells along the L1 grid metric.
    assert distance == pytest.approx(2 * 5, rel=1e-4)


def test_solve_plot_is_a_png_of_the_expected_size(tmp_path):
    from PIL import Image
    _grey_pair(tmp_path, n=16)
    plot = tmp_path / "out.png"
    out = run("solve", str(tmp_path / "a.png"), str(tmp_path / "b.png"), "--normalize", "--plot", str(plot))
    assert out.returncode == 0, out.stderr
    with Image.open(plot) as img:
        assert img.format == "PNG" and img.size == (1000, 900)


@pytest.mark.parametrize("case", ["missing", "not-an-image", "sizes", "unbalanced"])
def test_solve_bad_inputs_exit_with_one_line(tmp_path, case):
    _grey_pair(tmp_path)
    a, b = str(tmp_path / "a.png"), str(tmp_path / "b.png")
    args = {"missing": [str(tmp_path / "nope.png"), b],
            "not-an-image": [str(tmp_path / "junk.png"), b],
            "sizes": [a, str(tmp_path / "small.png")],
            "unbalanced": [a, str(tmp_path / "heavy.png")]}[case]
    (tmp_path / "junk.png").write_text("not a png")
    _png(tmp_path / "small.png", np.ones((5, 5)), "L")
    _png(tmp_path / "heavy.png", np.full((12, 12), 200), "L")  # more total mass, no --normalize
    out = run("solve", *args)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("omtcore: error:"), out.stderr
    assert "Traceback" not in out.stderr


def test_solve_unbalanced_npy_matches_the_dummy_cell_transport(tmp_path):
    import json

    from references_unbalanced import dummy_cell_emd

    rng = np.random.default_rng(3)
    a, b = rng.random((7, 6)), 3 * rng.random((7, 6))
    np.save(tmp_path / "a.npy", a)
    np.save(tmp_path / "b.npy", b)
    out = run("solve", str(tmp_path / "a.npy"), str(tmp_path / "b.npy"), "--norm", "anisotropic",
              "--unbalanced", "0.8", "--tol", "1e-6", "--dtype", "float64", "--json")
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout)
    exact = dummy_cell_emd(a, b, 0.8)
    assert res["unbalanced"] == 0.8 and res["converged"]
    assert res["lower_bound"] <= exact * (1 + 1e-9) and exact <= res["distance"] * (1 + 1e-9)
    out = run("solve", str(tmp_path / "a.npy"), str(tmp_path / "b.npy"), "--unbalanced", "-1")
    assert out.returncode == 2 and "unbalanced" in out.stderr and "Traceback" not in out.stderr


def test_pairwise_writes_the_certified_matrix_as_npy_and_csv(tmp_path):
    rng = np.random.default_rng(7)
    arrays = []
    for q in range(4):
        x = rng.random((6, 6)) ** 3
        arrays.append(x / x.sum())
        np.save(tmp_path / f"x{q}.npy", arrays[-1])
    files = [str(tmp_path / f"x{q}.npy") for q in range(4)]
    out = run("pairwise", *files, "-o", str(tmp_path / "d.npy"), "--norm", "anisotropic", "--tol", "1e-5",
              "--dtype", "float64", "--progress")
    assert out.returncode == 0, out.stderr
    assert "6 pairs" in out.stdout and "16 of 16 entries" in out.stdout
    assert "omtcore.pairwise" in out.stderr  # the progress bar
    D = np.load(tmp_path / "d.npy")
    assert D.shape == (4, 4)
    np.testing.assert_array_equal(D, D.T)
    np.testing.assert_array_equal(np.diag(D), 0)
    for i in range(4):
        for j in range(i + 1, 4):
            assert D[i, j] == pytest.approx(emd_l1(arrays[i], arrays[j]), rel=2e-5)
    out = run("pairwise", *files, "-o", str(tmp_path / "d.csv"), "--norm", "anisotropic", "--tol", "1e-5",
              "--dtype", "float64")
    assert out.returncode == 0, out.stderr
    np.testing.assert_array_equal(np.loadtxt(tmp_path / "d.csv", delimiter=","), D)
    bad = run("pairwise", files[0], "-o", str(tmp_path / "d.txt"))
    assert bad.returncode == 2 and "at least two" in bad.stderr
    np.save(tmp_path / "other.npy", np.ones((5, 5)) / 25)
    bad = run("pairwise", files[0], str(tmp_path / "other.npy"), "-o", str(tmp_path / "d.npy"))
    assert bad.returncode == 2 and "one shape" in bad.stderr and "Traceback" not in bad.stderr
    bad = run("pairwise", *files, "-o", str(tmp_path / "d.txt"))
    assert bad.returncode == 2 and ".npy or .csv" in bad.stderr
