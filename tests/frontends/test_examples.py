"""The runnable examples under examples/ run and do what they say."""

import importlib.util
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def load(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_gradient_flow_descends_w1_and_plots(tmp_path):
    pytest.importorskip("torch", reason="the example needs PyTorch")
    frames = load("gradient_flow").main(["--size", "24", "--steps", "30", "--plot", str(tmp_path / "flow.png")])
    values = [value for _, _, value in frames]
    assert values[-1] < 0.8 * values[0]
    assert (tmp_path / "flow.png").stat().st_size > 1000


def test_unbalanced_example_creates_what_b_lacks(tmp_path):
    results = load("unbalanced").main(["--size", "32", "--plot", str(tmp_path / "unbalanced.png")])
    for res in results.values():
        assert res.converged and res.source is not None
    small, large = results[0.05], results[1.0]
    assert small.distance < large.distance  # a dearer source costs more
    assert -large.source.clip(max=0).sum() == pytest.approx(-large.source.sum(), rel=1e-3)  # only creates
    assert (tmp_path / "unbalanced.png").stat().st_size > 1000
