"""
==========================================================
Background modelling of a video: RobustPCA and RobustSVD
==========================================================

A surveillance camera films a static scene while objects move through it.
Stacking the frames as the rows of a matrix ``M``, the static background is
a rank-one matrix and the moving objects occupy few pixels of each frame:
``M = L + S`` with ``L`` low-rank and ``S`` sparse. Some frames are
tampered with: the lens is covered, or the camera is knocked aside.

Users fit a background model on the first frames and apply it to the next
ones as they arrive. Here every method is fitted on the first 80 frames and
separates the next 40 with ``decompose`` (``transform`` for the robust
coordinates), which splits each new frame by an l1 regression on the
fitted background: a moving object (a few gross pixels) does not leak into
the background, as it would with a least-squares projection.

Compared: scikit-learn's :class:`~sklearn.decomposition.TruncatedSVD` (the
plain SVD), :class:`skrep.decomposition.RobustPCA` (principal component
pursuit, its stable variant and AltProj) and
:class:`skrep.decomposition.RobustSVD` (rSVDdpd, the density power
divergence SVD of Roy, Basu & Ghosh, proposed for exactly this task). The
scene is scikit-learn's bundled ``china.jpg`` photograph (grayscale,
subsampled).
"""

# %%
# A synthetic surveillance video with tampered frames
# ---------------------------------------------------
import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.decomposition import TruncatedSVD

from skrep.datasets import make_surveillance_video
from skrep.decomposition import RobustPCA, RobustSVD

M, background, foreground, tampered, shape = make_surveillance_video(
    120, tampered=0.2, random_state=0
)
early, late = M[:80], M[80:]
untouched = ~tampered
print(f"{M.shape[0]} frames of {M.shape[1]} pixels, {tampered.sum()} tampered")


def background_error(L, rows):
    """Relative error of the background on the given (untouched) frames."""
    return np.linalg.norm(L[rows] - background) / (
        np.linalg.norm(background) * np.sqrt(rows.sum())
    )


# %%
# Fit on the early frames, separate the later ones
# ------------------------------------------------
# Each model is fitted on frames 0-79 (with their tampered frames); the
# background error is measured on the untouched frames, on the training
# frames (the model's own low-rank part) and on the 40 later frames (the
# decomposition of new frames).
models = {
    "SVD (TruncatedSVD, 1)": TruncatedSVD(1, random_state=0),
    "RobustPCA (PCP)": RobustPCA(random_state=0),
    "RobustPCA (stable PCP)": RobustPCA("stable", random_state=0),
    "RobustPCA (AltProj, 1)": RobustPCA("altproj", n_components=1, random_state=0),
    "RobustSVD (rSVDdpd, 1)": RobustSVD(1, random_state=0),
}
later = {}
print(f"{'method':24s} {'fit s':>6s} {'train err':>10s} {'later err':>10s}")
for name, model in models.items():
    start = time.perf_counter()
    model.fit(early)
    seconds = time.perf_counter() - start
    if hasattr(model, "decompose"):
        train_L = model.low_rank_
        later[name] = model.decompose(late)[0]
    else:  # the SVD: least-squares projection on its component
        train_L = model.inverse_transform(model.transform(early))
        later[name] = model.inverse_transform(model.transform(late))
    train_err = background_error(train_L, untouched[:80])
    late_err = background_error(later[name], untouched[80:])
    print(f"{name:24s} {seconds:6.2f} {train_err:10.2e} {late_err:10.2e}")

# %%
# The later frames and each method's background
# ---------------------------------------------
# Rows: two untouched frames and a tampered one. The SVD and rSVDdpd keep
# ghosts of the moving blocks in their background (rSVDdpd gives weight
# near 1 to errors under about one interquartile range of the data, the
# size of these objects); PCP and AltProj do not.
shown = [int(np.flatnonzero(untouched[80:])[0]), 39, int(np.argmax(tampered[80:]))]
fig, axes = plt.subplots(len(shown), len(models) + 1, figsize=(13, 2.0 * len(shown)))
for row, f in enumerate(shown):
    images = [late[f]] + [later[name][f] for name in models]
    titles = ["frame"] + list(models)
    for ax, image, title in zip(axes[row], images, titles, strict=True):
        ax.imshow(image.reshape(shape), cmap="gray", vmin=0, vmax=1)
        ax.set_axis_off()
        if row == 0:
            ax.set_title(title, fontsize=8)
fig.tight_layout()

# %%
# Foreground of the later frames
# ------------------------------
# ``|frame - background|`` for the same frames: the sparse part that
# ``decompose`` returns for the robust models (the residual of the projection
# for the SVD).
fig, axes = plt.subplots(len(shown), len(models), figsize=(11, 2.0 * len(shown)))
for row, f in enumerate(shown):
    for ax, name in zip(axes[row], models, strict=True):
        ax.imshow(np.abs(late[f] - later[name][f]).reshape(shape), cmap="gray")
        ax.set_axis_off()
        if row == 0:
            ax.set_title(name, fontsize=8)
fig.tight_layout()
plt.show()
