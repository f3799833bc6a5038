"""Unbalanced transport (unbalanced=lam) beside the balanced solve and an exact peer.

For each input pair and price: omtcore's unbalanced solve (both norms), the
balanced solve of the same pair rescaled to equal mass, and OR-Tools'
min-cost flow on the grid graph plus one node that supplies or absorbs mass
at lam per unit (exact, integer masses, anisotropic), all on the same masses.

    python benchmarks/bench_unbalanced.py --sizes 128 256 --lams 0.05 0.3 1.0
"""
import argparse
import time
import warnings

import numpy as np

import omtcore
from common import copy_bandwidth_gbs, machine_header, quantize


def inputs(n, rng):
    y, x = np.mgrid[:n, :n] / n

    def blob(cy, cx, r):
        return np.exp(-((y - cy) ** 2 + (x - cx) ** 2) / (2 * r ** 2))

    return {
        "blobs": (blob(0.3, 0.3, 0.07), 1.5 * blob(0.6, 0.7, 0.1)),
        "noise": (rng.random((n, n)), 2 * rng.random((n, n))),
    }


def ortools_unbalanced(a, b, lam_cells):
    """Exact anisotropic unbalanced W1 in grid units of integer masses a, b:
    min-cost flow on the grid graph plus a node joined to every cell at cost
    lam_cells (an integer number of cells) in both directions. (cost, seconds)."""
    from ortools.graph.python import min_cost_flow

    idx = np.arange(a.size).reshape(a.shape)
    tails, heads = [], []
    for s in range(a.ndim):
        lo = [slice(None)] * a.ndim
        hi = [slice(None)] * a.ndim
        lo[s], hi[s] = slice(0, -1), slice(1, None)
        tails += [idx[tuple(lo)].ravel(), idx[tuple(hi)].ravel()]
        heads += [idx[tuple(hi)].ravel(), idx[tuple(lo)].ravel()]
    extra = a.size
    cells = np.arange(a.size)
    tails += [cells, np.full(a.size, extra)]
    heads += [np.full(a.size, extra), cells]
    tails, heads = np.concatenate(tails), np.concatenate(heads)
    grid_arcs = len(tails) - 2 * a.size
    costs = np.concatenate([np.ones(grid_arcs, np.int64), np.full(2 * a.size, lam_cells, np.int64)])
    t = time.perf_counter()
    mcf = min_cost_flow.SimpleMinCostFlow()
    total = int(max(a.sum(), b.sum()))
    mcf.add_arcs_with_capacity_and_unit_cost(tails, heads, np.full(len(tails), total), costs)
    supplies = np.append((a - b).ravel(), b.sum() - a.sum())
    mcf.set_nodes_supplies(np.arange(a.size + 1), supplies)
    if mcf.solve() != mcf.OPTIMAL:
        raise RuntimeError("OR-Tools min-cost flow failed")
    return float(mcf.optimal_cost()), time.perf_counter() - t


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 256])
    parser.add_argument("--lams", type=float, nargs="+", default=[0.05, 0.3, 1.0],
                        help="prices per unit of mass, in units of the domain's side (h = 1/n)")
    parser.add_argument("--no-peer", action="store_true", help="skip OR-Tools")
    args = parser.parse_args()
    print(machine_header(copy_bandwidth_gbs()))
    print("float32 iterates, certified gap 1e-4; OR-Tools: exact, integer masses (10^6 units per input)")
    print("| input | n | lam | aniso s (its) | iso s (its) | balanced aniso s / iso s | OR-Tools s | omtcore / exact - 1 |")
    print("|---|---|---|---|---|---|---|---|")
    warnings.simplefilter("ignore", omtcore.ConvergenceWarning)
    for n in args.sizes:
        for name, (fa, fb) in inputs(n, np.random.default_rng(0)).items():
            # Integer masses: a one million units, b in proportion to its own total.
            a = quantize(fa).astype(float)
            b = quantize(fb, int(round(1e6 * fb.sum() / fa.sum()))).astype(float)
            for lam in args.lams:
                lam_cells = max(1, int(round(lam * n)))  # the price in cells (h = 1)
                row = []
                for norm in ("anisotropic", "isotropic"):
                    r = omtcore.scalar_omt(a, b, norm=norm, unbalanced=float(lam_cells))
                    row.append(r)
                bal = [omtcore.scalar_omt(a, b * (a.sum() / b.sum()), norm=norm) for norm in
                       ("anisotropic", "isotropic")]
                peer = "—"
                err = "—"
                if not args.no_peer:
                    exact, seconds = ortools_unbalanced(a.astype(np.int64), b.astype(np.int64), lam_cells)
                    peer = f"{seconds:.2f}"
                    err = f"{row[0].distance / exact - 1:.1e}"
                    assert row[0].lower_bound <= exact * (1 + 1e-9) <= row[0].distance * (1 + 2e-9)
                print(f"| {name} | {n} | {lam_cells}/{n} | {row[0].seconds:.2f} ({row[0].iterations}) | "
                      f"{row[1].seconds:.2f} ({row[1].iterations}) | {bal[0].seconds:.2f} / {bal[1].seconds:.2f} | "
                      f"{peer} | {err} |", flush=True)


if __name__ == "__main__":
    main()
