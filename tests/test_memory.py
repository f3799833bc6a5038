"""Peak memory of a large CPU solve: a 1024² scalar float32 solve stays under
100 MB beyond its inputs (issue 8), result arrays included. Measured in a
child process through the kernel's peak-RSS counter (reset just before the
solve), so nothing the test runner holds counts."""

import subprocess
import sys

import pytest

CHILD = r"""
import numpy as np, omtcore
n = 1024
x = (np.arange(n) + 0.5) / n
X, Y = np.meshgrid(x, x, indexing="ij")
a = np.exp(-((X - 0.3) ** 2 + (Y - 0.35) ** 2) / 0.02) + 0.05
b = np.exp(-((X - 0.65) ** 2 + (Y - 0.6) ** 2) / 0.03) + 0.05
b *= a.sum() / b.sum()
omtcore.scalar_omt(np.ones((4, 4)), np.ones((4, 4)), backend="cpu")  # load everything first
def kb(key):
    return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith(key))
open("/proc/self/clear_refs", "w").write("5")  # resets VmHWM to the current RSS
before = kb("VmRSS:")
r = omtcore.scalar_omt(a, b, h=1.0 / n, norm="anisotropic", backend="cpu", dtype="float32", tol=1e-4)
print((kb("VmHWM:") - before) / 1024, r.converged, r.gap, r.flux.nbytes + r.potential.nbytes)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc (Linux)")
def test_1024_scalar_float32_cpu_peak_under_100_mb():
    try:
        open("/proc/self/clear_refs", "w").close()
    except OSError:
        pytest.skip("/proc/self/clear_refs is not writable here (peak RSS cannot be reset)")
    out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    peak_mb, converged, gap, result_bytes = out.stdout.split()
    assert converged == "True" and float(gap) <= 1e-4
    assert int(result_bytes) == 3 * 1024 * 1024 * 8  # flux (2 axes) and potential, float64
    assert float(peak_mb) < 100, f"peak {float(peak_mb):.0f} MB beyond the inputs"
