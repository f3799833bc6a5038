"""
Colour images: transport with channel exchange
==============================================

Two small RGB images, compared by vector-valued W1: mass moves in space
within each colour channel, and inside a pixel it may change channel at a
price ``alpha`` per unit (here along every pair of channels). The figure
shows the images in colour, the spatial flux of each channel, and where
mass changed colour (the exchange, summed over the channel pairs).
"""
import matplotlib.pyplot as plt
import numpy as np

import omtcore
from omtcore.plot import rgb

n = 40
y, x = np.mgrid[:n, :n] / n


def disc(cy, cx, r):
    return 1.0 / (1.0 + np.exp((np.hypot(y - cy, x - cx) - r) * 60))


# A red and a green disc, and a blue bar; the target moves the red disc and
# turns the bar green.
a = np.stack([disc(0.3, 0.3, 0.15), disc(0.7, 0.7, 0.12), 0.8 * disc(0.75, 0.25, 0.1)], axis=-1) + 0.02
b = np.stack([disc(0.35, 0.6, 0.15), disc(0.7, 0.7, 0.12) + 0.8 * disc(0.75, 0.25, 0.1), 0 * x], axis=-1) + 0.02
b *= a.sum() / b.sum()

res = omtcore.vector_omt(a, b, alpha=0.05, h=1 / n, norm="isotropic")
print(res)

fig, axes = plt.subplots(2, 3, figsize=(10, 6.6), constrained_layout=True)
for ax, img, title in ((axes[0, 0], a, "source"), (axes[0, 1], b, "target")):
    ax.imshow(rgb(img, max(a.max(), b.max())))
    ax.set_title(title)
exchange = np.abs(res.exchange).sum(axis=0)
im = axes[0, 2].imshow(exchange, cmap="viridis")
axes[0, 2].set_title("mass changing channel (|G| summed)")
fig.colorbar(im, ax=axes[0, 2], shrink=0.8)
for c, (ax, name, cmap) in enumerate(zip(axes[1], ("red", "green", "blue"), ("Reds", "Greens", "Blues"))):
    speed = np.hypot(res.flux[0, ..., c], res.flux[1, ..., c])
    ax.imshow(speed, cmap=cmap)
    step = 4
    rows, cols = np.mgrid[0:n:step, 0:n:step]
    ax.quiver(cols, rows, res.flux[1, ::step, ::step, c], res.flux[0, ::step, ::step, c],
              angles="xy", scale_units="xy", color="k", width=0.005)
    ax.set_title(f"{name} channel: spatial flux")
for ax in axes.ravel():
    ax.set_axis_off()
fig.suptitle(f"vector W1 in [{res.lower_bound:.4f}, {res.distance:.4f}]")
