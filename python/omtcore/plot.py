"""Figures of 2-D solves (pip install 'omtcore[plot]').

``plot_result`` draws one solve to a file: the two inputs as they are (grey
masses; RGB images in colour; qubit states as Bloch vectors; larger tensors
as ellipses), the transport flux as arrows over the mass it moves, the
in-cell exchange of vector and matrix problems, and the potential, with the
certified bracket in the title. The drawing helpers (``rgb``,
``draw_flux``, ``draw_tensors``, ``draw_bloch``) are the gallery's too.
Raises ImportError without matplotlib and InvalidInputError for grids it
cannot draw; the command line (cli.py) reports either on one line.
"""

from __future__ import annotations

import numpy as np

from .errors import InvalidInputError

__all__ = ["plot_result", "rgb", "draw_flux", "draw_tensors", "draw_bloch"]


def _pyplot():
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(f"plots need matplotlib: pip install 'omtcore[plot]' ({exc})") from None
    return plt


def _cell_mass(x: np.ndarray, kind: str) -> np.ndarray:
    """Mass per cell: the value, the channel sum, or the trace."""
    if kind == "scalar":
        return np.asarray(x, dtype=float)
    if kind == "vector":
        return np.asarray(x, dtype=float).sum(axis=-1)
    return np.real(np.trace(x, axis1=-2, axis2=-1))


def rgb(x: np.ndarray, scale: float | None = None) -> np.ndarray:
    """A 3-channel mass field ``(*grid, 3)`` as an RGB image in [0, 1] (divided by
    ``scale``, default its largest value)."""
    x = np.asarray(x, dtype=float)
    top = scale if scale is not None else x.max()
    return np.clip(x / (top if top > 0 else 1.0), 0, 1)


def draw_flux(ax, flux: np.ndarray, background: np.ndarray, arrows: int = 20) -> None:
    """Arrows of a 2-D flux (2, n0, n1) over a background image; F_s(i) is the
    mass moved from cell i to i + e_s (axis 1 to the right, axis 0 down)."""
    n0, n1 = background.shape[:2]
    ax.imshow(background, cmap="Greys_r" if background.ndim == 2 else None,
              alpha=0.5 if background.ndim == 2 else 1.0)
    step = max(1, max(n0, n1) // arrows)
    rows, cols = np.mgrid[0:n0:step, 0:n1:step]
    u, v = flux[1][::step, ::step], flux[0][::step, ::step]
    speed = np.hypot(u, v)
    if speed.max() > 0:
        q = ax.quiver(cols, rows, u, v, speed, cmap="viridis", angles="xy", scale_units="xy",
                      scale=speed.max() / (1.6 * step), width=0.006)
        ax.figure.colorbar(q, ax=ax, shrink=0.8, label="mass per face")
    ax.set_xlim(-0.5, n1 - 0.5)
    ax.set_ylim(n0 - 0.5, -0.5)


def draw_tensors(ax, T: np.ndarray):
    """Positive semidefinite tensors (n0, n1, k, k) as the ellipses of their
    (0, 1) block, coloured by the share of the trace outside that block."""
    from matplotlib.collections import EllipseCollection

    T = np.real(np.asarray(T))
    n0, n1 = T.shape[:2]
    w, v = np.linalg.eigh(T[..., :2, :2])
    top = max(w.max(), 1e-300)
    angles = np.degrees(np.arctan2(v[..., 1, 1], v[..., 0, 1]))
    trace = np.trace(T, axis1=-2, axis2=-1)
    outside = np.where(trace > 0, 1 - (T[..., 0, 0] + T[..., 1, 1]) / np.where(trace > 0, trace, 1), 0)
    rows, cols = np.mgrid[:n0, :n1]
    ells = EllipseCollection(0.9 * w[..., 1].ravel() / top, 0.9 * w[..., 0].ravel() / top, angles.ravel(),
                             units="xy", offsets=np.column_stack([cols.ravel(), rows.ravel()]),
                             offset_transform=ax.transData, array=outside.ravel(), cmap="plasma")
    ells.set_clim(0, 1)
    ax.add_collection(ells)
    ax.set_xlim(-1, n1)
    ax.set_ylim(n0, -1)
    ax.set_aspect("equal")
    return ells


def draw_bloch(ax, rho: np.ndarray):
    """Qubit states (n0, n1, 2, 2) as Bloch vectors: arrows of the (x, y) part of
    (tr(rho X), tr(rho Y), tr(rho Z)) / tr(rho), coloured by the z part."""
    rho = np.asarray(rho, dtype=complex)
    n0, n1 = rho.shape[:2]
    pauli = (np.array([[0, 1], [1, 0]]), np.array([[0, -1j], [1j, 0]]), np.array([[1, 0], [0, -1]]))
    trace = np.trace(rho, axis1=-2, axis2=-1).real
    safe = np.where(trace > 0, trace, 1)
    bx, by, bz = (np.where(trace > 0, np.einsum("...kl,lk->...", rho, P).real / safe, 0) for P in pauli)
    rows, cols = np.mgrid[:n0, :n1]
    q = ax.quiver(cols, rows, bx, -by, bz, cmap="coolwarm", clim=(-1, 1), angles="xy", scale_units="xy",
                  scale=1.2, width=0.008)
    ax.set_xlim(-1, n1)
    ax.set_ylim(n0, -1)
    ax.set_aspect("equal")
    return q


def _draw_input(ax, x: np.ndarray, kind: str, scale: float, title: str) -> None:
    fig = ax.figure
    if kind == "vector" and x.shape[-1] == 3:
        ax.imshow(rgb(x, scale))
        title += " (RGB)"
    elif kind == "matrix" and x.shape[-1] == 2:
        fig.colorbar(draw_bloch(ax, x), ax=ax, shrink=0.8, label="Bloch z")
        title += " (Bloch vectors)"
    elif kind == "matrix":
        fig.colorbar(draw_tensors(ax, x), ax=ax, shrink=0.8, label="trace outside the (0, 1) block")
        title += " (tensors)"
    else:
        im = ax.imshow(_cell_mass(x, kind), cmap="magma", vmin=0, vmax=scale)
        fig.colorbar(im, ax=ax, shrink=0.8)
        if kind != "scalar":
            title += " (channel sum)"
    ax.set_title(title)


def plot_result(path: str, a: np.ndarray, b: np.ndarray, res, kind: str) -> None:
    """Draws the solve of a and b (kind "scalar", "vector" or "matrix") to the image file path."""
    ma, mb = _cell_mass(a, kind), _cell_mass(b, kind)
    if ma.ndim != 2:
        raise InvalidInputError(f"plots draw 2-D grids; this grid has {ma.ndim} axes")
    plt = _pyplot()
    # The net spatial flux per cell: channels summed, or the trace for matrices.
    flux = res.flux
    if kind == "vector":
        flux = flux.sum(axis=-1)
    elif kind == "matrix":
        flux = np.real(np.trace(flux, axis1=-2, axis2=-1))
    in_cell = res.exchange is not None and np.size(res.exchange) > 0
    panels = 5 if in_cell else 4
    fig, axes = plt.subplots(2, 3 if in_cell else 2, figsize=(15 if in_cell else 10, 9), constrained_layout=True)
    axes = axes.ravel()
    scale = max(np.max(a if kind == "vector" else ma), np.max(b if kind == "vector" else mb))
    _draw_input(axes[0], np.asarray(a), kind, scale if kind != "matrix" else 0, "source")
    _draw_input(axes[1], np.asarray(b), kind, scale if kind != "matrix" else 0, "target")
    draw_flux(axes[2], flux, ma)
    axes[2].set_title("transport flux over the source mass")
    if in_cell:
        exchange = np.abs(res.exchange)
        exchange = exchange.sum(axis=0) if kind == "vector" else exchange.sum(axis=(0, -2, -1))
        im = axes[3].imshow(exchange, cmap="viridis")
        axes[3].set_title("in-cell exchange (" + ("|G| over the channel pairs" if kind == "vector"
                                                   else "|W| over the L_l") + ")")
        fig.colorbar(im, ax=axes[3], shrink=0.8)
    potential = _cell_mass(res.potential, kind) / (a.shape[-1] if kind == "vector" else 1)
    ax = axes[panels - 1]
    im = ax.imshow(potential, cmap="coolwarm")
    ax.set_title("potential" + ("" if kind == "scalar" else " (channel mean)" if kind == "vector" else " (trace)"))
    fig.colorbar(im, ax=ax, shrink=0.8)
    for extra in axes[panels:]:
        extra.set_axis_off()
    fig.suptitle(f"{kind} OMT: distance {res.distance:.6g}, certified [{res.lower_bound:.6g}, "
                 f"{res.distance:.6g}], {res.iterations} iterations, {res.backend}")
    fig.savefig(path, dpi=100)
    plt.close(fig)
