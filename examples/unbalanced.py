"""Unbalanced transport: two images with different total mass, compared
without normalising them.

The target has a blob the source lacks and carries more mass. With
unbalanced=lam, mass may appear or vanish at lam per unit, so the solve
moves what is cheap to move and destroys the rest of a (where
Result.source > 0: div F + s = a - b) or creates what b lacks (< 0). A small lam creates and destroys everything; a large one
moves as much as it can.

    python examples/unbalanced.py --size 64 --plot unbalanced.png
"""

import argparse

import numpy as np

import omtcore


def blob(size, centre, radius):
    y, x = np.mgrid[:size, :size] / size
    return np.exp(-((y - centre[0]) ** 2 + (x - centre[1]) ** 2) / (2 * radius ** 2))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--plot", help="save the inputs and the source of each price to this PNG")
    args = parser.parse_args(argv)

    n = args.size
    a = blob(n, (0.35, 0.3), 0.08)
    b = 1.2 * blob(n, (0.45, 0.4), 0.08) + 0.8 * blob(n, (0.75, 0.75), 0.05)
    a, b = a / a.sum(), b / a.sum()  # a has unit mass, b more
    print(f"total mass: a {a.sum():.3f}, b {b.sum():.3f}")
    results = {}
    for lam in (0.05, 0.2, 1.0):
        res = omtcore.scalar_omt(a, b, h=1 / n, unbalanced=lam, tol=1e-4)
        destroyed, created = res.source.clip(min=0).sum(), -res.source.clip(max=0).sum()
        print(f"lam {lam:5.2f}: W = {res.distance:.5f}  [{res.lower_bound:.5f}, {res.distance:.5f}]  "
              f"created {created:.3f}, destroyed {destroyed:.3f}, {res.iterations} iterations, "
              f"{res.seconds:.2f} s")
        results[lam] = res
    normalized = omtcore.scalar_omt(a, b, h=1 / n, normalize=True, tol=1e-4)
    print(f"balanced after normalising both to unit mass: W = {normalized.distance:.5f}")

    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, 2 + len(results), figsize=(3.2 * (2 + len(results)), 3.2))
        axes[0].imshow(a, cmap="magma")
        axes[0].set_title(f"a (mass {a.sum():.2f})")
        axes[1].imshow(b, cmap="magma")
        axes[1].set_title(f"b (mass {b.sum():.2f})")
        for ax, (lam, res) in zip(axes[2:], results.items()):
            limit = np.abs(res.source).max() or 1.0
            ax.imshow(-res.source, cmap="RdBu_r", vmin=-limit, vmax=limit)
            ax.set_title(f"source, lam = {lam:g}\nW in [{res.lower_bound:.4f}, {res.distance:.4f}]", fontsize=9)
        for ax in axes:
            ax.set_axis_off()
        fig.tight_layout()
        fig.savefig(args.plot, dpi=80)
        print(f"saved {args.plot} (source: red created, blue destroyed)")
    return results


if __name__ == "__main__":
    main()
