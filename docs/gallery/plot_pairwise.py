"""
A distance matrix and an embedding
==================================

``omtcore.pairwise`` solves every pair of a collection (on threads here; a
Dask cluster with ``client=``), each entry a certified bracket. Eighteen
small images of three shapes at random places: the W1 matrix, and a
classical multidimensional-scaling embedding of it beside the shapes' true
centres. W1 is a distance between where mass lies (plus what changing the
shape costs), so the embedding mostly follows the images' layout, up to a
rotation or reflection; a pixel-by-pixel distance between non-overlapping
shapes would see every pair as equally far.
"""
import matplotlib.pyplot as plt
import numpy as np

import omtcore

n, per_class = 24, 6
rng = np.random.default_rng(0)
y, x = np.mgrid[:n, :n] / n


def shape(kind, cy, cx):
    if kind == 0:  # a disc
        img = np.hypot(y - cy, x - cx) < 0.12
    elif kind == 1:  # a horizontal bar
        img = (abs(y - cy) < 0.04) & (abs(x - cx) < 0.25)
    else:  # a vertical bar
        img = (abs(x - cx) < 0.04) & (abs(y - cy) < 0.25)
    return img + 1e-3


labels = np.repeat(np.arange(3), per_class)
centres = rng.uniform(0.3, 0.7, size=(len(labels), 2))
X = np.array([shape(k, cy, cx) for k, (cy, cx) in zip(labels, centres)])
X /= X.sum(axis=(1, 2), keepdims=True)

res = omtcore.pairwise(X, h=1 / n, norm="anisotropic")
print(f"{len(X) * (len(X) - 1) // 2} pairs in {res.seconds:.2f} s; largest relative gap "
      f"{np.max((res.distance - res.lower_bound)[res.distance > 0] / res.distance[res.distance > 0]):.1e}")

# Classical MDS: the top eigenvectors of the double-centred squared distances.
D2 = res.distance ** 2
J = np.eye(len(X)) - 1 / len(X)
w, v = np.linalg.eigh(-0.5 * J @ D2 @ J)
embedding = v[:, -2:] * np.sqrt(np.maximum(w[-2:], 0))

fig, axes = plt.subplots(1, 4, figsize=(15, 3.9), constrained_layout=True)
axes[0].imshow(np.hstack([X[i] for i in (0, per_class, 2 * per_class)]), cmap="magma")
axes[0].set_title("one image of each shape")
axes[0].set_axis_off()
im = axes[1].imshow(res.distance, cmap="viridis")
axes[1].set_title("W1 distance matrix")
fig.colorbar(im, ax=axes[1], shrink=0.8)
for k, name in enumerate(("discs", "horizontal bars", "vertical bars")):
    axes[2].scatter(*embedding[labels == k].T, label=name)
    axes[3].scatter(centres[labels == k, 1], centres[labels == k, 0], label=name)
axes[2].set_title("embedding of the W1 matrix (classical MDS)")
axes[3].set_title("the shapes' centres (x, y)")
axes[3].invert_yaxis()
axes[3].legend(fontsize=8)
