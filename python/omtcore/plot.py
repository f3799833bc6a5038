"""One figure of a 2-D solve: source and target mass, the transport flux as
arrows over the mass it moves, and the potential. Needs matplotlib
(pip install 'omtcore[plot]'). Stands on its own: raises ImportError without
matplotlib and InvalidInputError for grids it cannot draw; the command line
(cli.py) reports either on one line."""

from __future__ import annotations

import numpy as np

from .errors import InvalidInputError


def _cell_mass(x: np.ndarray, kind: str) -> np.ndarray:
    """Mass per cell: the value, the channel sum, or the trace."""
    if kind == "scalar":
        return np.asarray(x, dtype=float)
    if kind == "vector":
        return np.asarray(x, dtype=float).sum(axis=-1)
    return np.real(np.trace(x, axis1=-2, axis2=-1))


def plot_result(path: str, a: np.ndarray, b: np.ndarray, res, kind: str) -> None:
    """Draws the solve of a and b (kind "scalar", "vector" or "matrix") to the image file path."""
    ma, mb = _cell_mass(a, kind), _cell_mass(b, kind)
    if ma.ndim != 2:
        raise InvalidInputError(f"plots draw 2-D grids; this grid has {ma.ndim} axes")
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(f"plots need matplotlib: pip install 'omtcore[plot]' ({exc})") from None
    # Net flux per cell (channels summed, or the trace for matrices); F_s(i)
    # is the mass moved from cell i to i + e_s, drawn at the cell as a vector
    # (column = axis 1 to the right, row = axis 0 downwards, as the image).
    flux = res.flux
    if kind == "vector":
        flux = flux.sum(axis=-1)
    elif kind == "matrix":
        flux = np.real(np.trace(flux, axis1=-2, axis2=-1))
    potential = _cell_mass(res.potential, kind) / (1 if kind == "scalar" else
                                                   (a.shape[-1] if kind == "vector" else 1))
    n0, n1 = ma.shape
    fig, axes = plt.subplots(2, 2, figsize=(10, 9), constrained_layout=True)
    vmax = max(ma.max(), mb.max())
    for ax, m, title in ((axes[0, 0], ma, "source mass (input units)"),
                         (axes[0, 1], mb, "target mass (input units)")):
        im = ax.imshow(m, cmap="magma", vmin=0, vmax=vmax)
        ax.set_title(title)
        fig.colorbar(im, ax=ax, shrink=0.8)
    ax = axes[1, 0]
    ax.imshow(ma, cmap="Greys_r", alpha=0.5)  # the source mass being moved
    step = max(1, max(n0, n1) // 20)  # at most about 20 x 20 arrows
    rows, cols = np.mgrid[0:n0:step, 0:n1:step]
    u = flux[1][::step, ::step]   # along axis 1: to the right
    v = flux[0][::step, ::step]   # along axis 0: downwards in the image
    speed = np.hypot(u, v)
    if speed.max() > 0:
        quiver = ax.quiver(cols, rows, u, v, speed, cmap="viridis", angles="xy", scale_units="xy",
                           scale=speed.max() / (1.6 * step), width=0.006)
        fig.colorbar(quiver, ax=ax, shrink=0.8, label="mass per face")
    ax.set_xlim(-0.5, n1 - 0.5)
    ax.set_ylim(n0 - 0.5, -0.5)
    ax.set_title("transport flux over the source mass")
    ax = axes[1, 1]
    im = ax.imshow(potential, cmap="coolwarm")
    ax.set_title("potential" + ("" if kind == "scalar" else " (channel mean)" if kind == "vector" else " (trace)"))
    fig.colorbar(im, ax=ax, shrink=0.8)
    fig.suptitle(f"{kind} OMT: distance {res.distance:.6g}, certified [{res.lower_bound:.6g}, "
                 f"{res.distance:.6g}], {res.iterations} iterations, {res.backend}")
    fig.savefig(path, dpi=100)
    plt.close(fig)
