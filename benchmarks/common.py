"""Shared pieces of the benchmarks: integer test masses, the exact OR-Tools
peer on the grid graph, per-process peak memory, and the machine's copy
bandwidth."""

from __future__ import annotations

import datetime
import os
import platform
import resource
import time

import numpy as np

MASS_UNITS = 10**6  # integer mass per density, shared by every solver


def quantize(f: np.ndarray, units: int = MASS_UNITS) -> np.ndarray:
    """Non-negative f as integers summing exactly to ``units`` (largest cells rounded up)."""
    m = np.floor(f / f.sum() * units).astype(np.int64)
    m.flat[np.argsort(-(f.ravel()), kind="stable")[: units - m.sum()]] += 1
    return m


def ortools_l1(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Exact anisotropic W1 in grid units (h = 1) of integer masses by OR-Tools'
    min-cost flow on the grid graph; returns (cost / total mass, seconds)."""
    from ortools.graph.python import min_cost_flow
    idx = np.arange(a.size).reshape(a.shape)
    tails, heads = [], []
    for s in range(a.ndim):
        lo = [slice(None)] * a.ndim
        hi = [slice(None)] * a.ndim
        lo[s] = slice(0, -1)
        hi[s] = slice(1, None)
        tails += [idx[tuple(lo)].ravel(), idx[tuple(hi)].ravel()]
        heads += [idx[tuple(hi)].ravel(), idx[tuple(lo)].ravel()]
    tails, heads = np.concatenate(tails), np.concatenate(heads)
    t = time.perf_counter()
    mcf = min_cost_flow.SimpleMinCostFlow()
    total = int(a.sum())
    mcf.add_arcs_with_capacity_and_unit_cost(tails, heads, np.full(len(tails), total),
                                             np.ones(len(tails), dtype=np.int64))
    mcf.set_nodes_supplies(np.arange(a.size), (a - b).ravel())
    status = mcf.solve()
    if status != mcf.OPTIMAL:
        raise RuntimeError(f"OR-Tools min-cost flow status {status}")
    return mcf.optimal_cost() / total, time.perf_counter() - t


def peak_rss_mb() -> float:
    """This process's peak resident memory. VmHWM starts afresh at exec, unlike
    ru_maxrss, which Linux carries over from the parent."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def copy_bandwidth_gbs(megabytes: int = 512, repeats: int = 5) -> float:
    """Best-of copy bandwidth (bytes read + written) of a large numpy array."""
    src = np.ones(megabytes * 2**20 // 8)
    dst = np.empty_like(src)
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        np.copyto(dst, src)
        best = min(best, time.perf_counter() - t)
    return 2 * src.nbytes / best / 1e9


def device_copy_bandwidth_gbs(megabytes: int = 1024, repeats: int = 20) -> float | None:
    """Best-of device-to-device copy bandwidth (bytes read + written) of the
    current CUDA device through CuPy, timed with CUDA events; None without CuPy
    or a device."""
    try:
        import cupy
        src = cupy.ones(megabytes * 2**20 // 8)
    except Exception:
        return None
    dst = cupy.empty_like(src)
    start, stop = cupy.cuda.Event(), cupy.cuda.Event()
    best = float("inf")
    for _ in range(repeats):
        start.record()
        cupy.copyto(dst, src)
        stop.record()
        stop.synchronize()
        best = min(best, cupy.cuda.get_elapsed_time(start, stop) * 1e-3)
    return 2 * src.nbytes / best / 1e9


def loop_bytes_per_iteration(n_cells: int, d: int, itemsize: int) -> int:
    """Least memory traffic of one iteration of the CPU loop
    (cpp/src/backends/cpu): the potential is double whatever the dtype.
    Primal step reads phi (8 B), bits (1 B), v (d) and writes v, vbar (2d);
    divergence reads vbar (d), rhs, bits and writes r; the Poisson solve
    reads and writes the field once per axis and direction (4d passes of
    2 floats) plus one scaling pass (3 floats); the potential update reads
    phi (8 B), r and writes phi (8 B). Convergence checks are left out."""
    floats = 3 * d + (d + 2) + (8 * d + 3) + 1
    return n_cells * (itemsize * floats + 8 + 1 + 1 + 16)


def machine_header(bandwidth: float) -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return (f"# {datetime.date.today()}  {cpu}, {os.cpu_count()} logical CPUs, python "
            f"{platform.python_version()}; measured copy bandwidth {bandwidth:.1f} GB/s")
