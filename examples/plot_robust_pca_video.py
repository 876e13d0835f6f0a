"""
==========================================================
Background and foreground of a video with RobustPCA
==========================================================

A surveillance camera films a static scene while objects move through it.
Stacking the frames as the rows of a matrix ``M``, the static background is
a rank-one matrix and the moving objects occupy few pixels of each frame:
``M = L + S`` with ``L`` low-rank and ``S`` sparse. Principal component
pursuit (:class:`skrep.decomposition.RobustPCA`) recovers both parts exactly;
ordinary PCA smears the moving objects into its "background".

The scene is scikit-learn's bundled ``china.jpg`` photograph (grayscale,
subsampled), with two textured blocks moving across it.
"""

# %%
# A synthetic surveillance video
# ------------------------------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_sample_image
from sklearn.decomposition import PCA

from skrep.decomposition import RobustPCA

rng = np.random.RandomState(0)
background = load_sample_image("china.jpg").mean(axis=2)[::8, ::8] / 255.0
h, w = background.shape
n_frames, block = 80, 10
frames = np.repeat(background[None], n_frames, axis=0)
moving = np.zeros(frames.shape, dtype=bool)
for f in range(n_frames):
    col = int(f * (w - block) / (n_frames - 1))
    row = int(f * (h - block) / (n_frames - 1))
    moving[f, h // 3 : h // 3 + block, col : col + block] = True
    moving[f, row : row + block, w // 2 : w // 2 + block] = True
frames[moving] = rng.uniform(0, 1, size=moving.sum())
M = frames.reshape(n_frames, -1)
print(f"video matrix: {M.shape[0]} frames x {M.shape[1]} pixels")

# %%
# Decompose
# ---------
rpca = RobustPCA(random_state=0).fit(M)
pca = PCA(n_components=1).fit(M)
L_pca = pca.inverse_transform(pca.transform(M))

truth = np.broadcast_to(background.ravel(), M.shape)
for name, L in [("RobustPCA", rpca.low_rank_), ("PCA, 1 component", L_pca)]:
    err = np.linalg.norm(L - truth) / np.linalg.norm(truth)
    print(f"{name:18s} background relative error: {err:.1e}")
print(f"RobustPCA: rank {rpca.rank_}, {rpca.n_iter_} iterations")
detected = rpca.outlier_mask_
precision = (detected & moving.reshape(n_frames, -1)).sum() / detected.sum()
recall = (detected & moving.reshape(n_frames, -1)).sum() / moving.sum()
print(f"foreground pixels: precision {precision:.3f}, recall {recall:.3f}")

# %%
# The frames, the low-rank part, the sparse part and PCA's background
# -------------------------------------------------------------------
shown = [10, 40, 70]
fig, axes = plt.subplots(len(shown), 4, figsize=(10, 2.2 * len(shown)))
titles = ["frame", "RobustPCA: L", "RobustPCA: |S|", "PCA (1 component)"]
for i, f in enumerate(shown):
    images = [M[f], rpca.low_rank_[f], np.abs(rpca.sparse_[f]), L_pca[f]]
    for ax, image, title in zip(axes[i], images, titles, strict=True):
        ax.imshow(image.reshape(h, w), cmap="gray")
        ax.set_axis_off()
        if i == 0:
            ax.set_title(title)
fig.tight_layout()
plt.show()
