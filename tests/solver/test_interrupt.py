"""Long solves stay interruptible: SIGINT during a solve or a batch raises
KeyboardInterrupt in the caller within 2 s (the loop checks for signals about
every 0.1 s with the GIL released; a batch's calling thread does), and the
process goes on."""

import signal
import subprocess
import sys
import time

import pytest

CHILD = r"""
import signal, sys, time
import numpy as np
import omtcore
# A background job of a non-interactive shell inherits SIGINT ignored, and
# Python then keeps it ignored: install the usual handler explicitly.
signal.signal(signal.SIGINT, signal.default_int_handler)
batched = sys.argv[2] == "batch"
# One large problem, or a batch of small ones running side by side on
# worker threads (which cannot see signals: the calling thread must).
n, shape = (384, ()) if not batched else (48, (16,))
rng = np.random.default_rng(0)
a, b = rng.random(shape + (n, n)), rng.random(shape + (n, n))
a /= a.sum(axis=(-1, -2), keepdims=True); b /= b.sum(axis=(-1, -2), keepdims=True)
print("solving", flush=True)
try:
    omtcore.scalar_omt(a, b, norm="isotropic", tol=1e-14, max_iter=10**7, backend=sys.argv[1],
                       batch=int(batched))
except KeyboardInterrupt:
    print(f"interrupted {time.monotonic():.6f}", flush=True)
    r = omtcore.scalar_omt(np.eye(8), np.eye(8)[::-1].copy(), norm="anisotropic", backend=sys.argv[1])
    print("afterwards", r.converged, flush=True)
    sys.exit(0)
print("finished without interruption", flush=True)
sys.exit(1)
"""


def interrupt(args, wait, timeout):
    """Runs a child that prints "solving" before its long work, sends it
    SIGINT `wait` seconds later; returns its output lines and when the
    signal was sent (time.monotonic, which the child prints too)."""
    proc = subprocess.Popen([sys.executable, "-c", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout.readline().strip() == "solving"
        time.sleep(wait)
        assert proc.poll() is None, "the work ended before the signal: " + proc.stderr.read()
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, f"child failed ({proc.returncode}):\n{out}\n{err}"
    return out.strip().splitlines(), sent


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process is POSIX only")
@pytest.mark.parametrize("mode", ["single", "batch"])
def test_sigint_interrupts_a_long_solve(backend, mode):
    # 1.5 s: well inside the solve (it would run for minutes).
    lines, sent = interrupt([CHILD, backend, mode], wait=1.5, timeout=10)
    out = "\n".join(lines)
    assert lines[-2].startswith("interrupted"), out
    assert float(lines[-2].split()[1]) - sent < 2.0
    assert lines[-1] == "afterwards True"  # the process goes on


DASK_CHILD = r"""
import signal, time
import numpy as np
import distributed
import omtcore
signal.signal(signal.SIGINT, signal.default_int_handler)
rng = np.random.default_rng(0)
X = rng.random((3, 48, 48))
X /= X.sum(axis=(1, 2), keepdims=True)
with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                              dashboard_address=None) as cluster, distributed.Client(cluster) as client:
    print("solving", flush=True)
    try:
        omtcore.pairwise(X, client=client, norm="isotropic", tol=1e-14, max_iter=10**7)
    except KeyboardInterrupt:
        print(f"interrupted {time.monotonic():.6f}", flush=True)
    # The worker's only thread is free again once the solves stopped.
    start = time.monotonic()
    assert client.submit(lambda: 1).result(timeout=30) == 1
    print(f"worker free after {time.monotonic() - start:.3f}", flush=True)
"""


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process is POSIX only")
def test_sigint_stops_pairwise_on_a_dask_cluster_and_its_workers():
    pytest.importorskip("distributed", reason="the client path needs dask[distributed]")
    # 3 s: the tasks reach the worker and run (each for minutes).
    lines, sent = interrupt([DASK_CHILD], wait=3.0, timeout=60)
    out = "\n".join(lines)
    assert lines[-2].startswith("interrupted") and float(lines[-2].split()[1]) - sent < 2.0, out
    assert lines[-1].startswith("worker free after") and float(lines[-1].split()[-1]) < 3.0, out
