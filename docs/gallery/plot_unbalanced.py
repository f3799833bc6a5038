"""
Unbalanced transport: images of different total mass
====================================================

``examples/unbalanced.py``: with ``unbalanced=lam`` mass may appear or
vanish at ``lam`` per unit, so two images need not carry the same mass. The
target has a blob the source lacks; the figure shows where mass is created
(red) or destroyed (blue) at three prices.
"""
import runpy
import tempfile
from pathlib import Path

examples = Path.cwd().resolve().parents[1] / "examples"  # the gallery runs in docs/gallery
unbalanced = runpy.run_path(str(examples / "unbalanced.py"))
with tempfile.TemporaryDirectory() as tmp:
    results = unbalanced["main"](["--size", "48", "--plot", str(Path(tmp) / "unbalanced.png")])
