"""
A gradient flow of W1 (PyTorch)
===============================

``examples/gradient_flow.py``: a softmax image descends the certified W1
distance to a target with Adam, each step one solve through
``omtcore.torch`` started from the previous step's solution (``init=``).
The gradient is the solve's dual potential.
"""
import runpy
import tempfile
from pathlib import Path

examples = Path.cwd().resolve().parents[1] / "examples"  # the gallery runs in docs/gallery
flow = runpy.run_path(str(examples / "gradient_flow.py"))
with tempfile.TemporaryDirectory() as tmp:
    frames = flow["main"](["--size", "32", "--steps", "60", "--plot", str(Path(tmp) / "flow.png")])
