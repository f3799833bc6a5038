"""
Quantum states: qubit density matrices (k = 2)
==============================================

A field of qubit density matrices (2 x 2 Hermitian, positive semidefinite),
drawn as Bloch vectors: the arrow is the in-plane part (x, y) of
``(tr(rho X), tr(rho Y), tr(rho Z)) / tr(rho)`` and the colour its z part.
Matrix-valued W1 with the Pauli matrices moves the states in space and
rotates them inside a cell at price ``alpha``.
"""
import matplotlib.pyplot as plt
import numpy as np

import omtcore
from omtcore.plot import draw_bloch

n = 12
X, Y, Z = omtcore.gell_mann(2)  # Pauli X, Y, Z


def state(theta, phi, purity=0.9):
    r = purity * np.array([np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi), np.cos(theta)])
    return (np.eye(2) + r[0] * X + r[1] * Y + r[2] * Z) / 2


y, x = np.mgrid[:n, :n] / n
A = np.array([[state(np.pi * x[i, j], 0.0) for j in range(n)] for i in range(n)])
B = np.array([[state(np.pi / 2, 2 * np.pi * y[i, j]) for j in range(n)] for i in range(n)])
weight = np.exp(-((x - 0.5) ** 2 + (y - 0.5) ** 2) / 0.1)[..., None, None]
A, B = A * weight, B * weight  # equal traces per cell: balanced

res = omtcore.matrix_omt(A, B, alpha=0.3, h=1 / n)
print(res)


fig, axes = plt.subplots(1, 3, figsize=(11, 3.8), constrained_layout=True)
for ax, rho, title in ((axes[0], A, "source states"), (axes[1], B, "target states")):
    q = draw_bloch(ax, rho)
    ax.set_title(title)
    ax.set_axis_off()
fig.colorbar(q, ax=axes[:2], shrink=0.8, label="Bloch z")
im = axes[2].imshow(np.abs(res.exchange).sum(axis=(0, -2, -1)), cmap="viridis")
axes[2].set_title("in-cell rotation (|W| summed)")
axes[2].set_axis_off()
fig.colorbar(im, ax=axes[2], shrink=0.8)
fig.suptitle(f"matrix W1 in [{res.lower_bound:.4f}, {res.distance:.4f}]")
