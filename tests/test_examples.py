"""The runnable examples under examples/ run and do what they say."""

import importlib.util
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


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
