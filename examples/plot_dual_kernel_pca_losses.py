"""
=====================================================
Kernel PCA by dualization: squared, robust and sparse
=====================================================

:class:`~skrep.decomposition.DualKernelPCA` solves kernel PCA through its
difference-of-convex dual (Tonin et al., ICML 2023). With the squared loss it
is classical kernel PCA, equal to scikit-learn's
:class:`~sklearn.decomposition.KernelPCA`; the Huber-type loss caps the
influence of each sample, the epsilon-insensitive loss sets whole dual rows to
zero so that new points are projected with a fraction of the training points.

Here the data are two concentric circles, plus 10 % of outlying rows that
form a tight group away from them: the case where classical kernel PCA spends
a component on the outliers. The Huber loss's default radius
(``loss_param="auto"``) is a robust upper bound of the rows' norms in feature
space: it leaves clean data exactly as the squared loss does, and caps only
rows far outside the bulk. A tight group is not outside the bulk (under an rbf
kernel every row has norm at most 1), so the default changes nothing here; a
radius at the median norm of the squared-loss dual rows caps the group's
influence. (Isolated outliers under a narrow rbf kernel are nearly orthogonal
to everything in feature space and barely move kernel PCA; there a small
radius only costs accuracy.)
"""

# %%
# Data: concentric circles with outliers
# --------------------------------------
import matplotlib.pyplot as plt
import numpy as np
from scipy.linalg import subspace_angles
from sklearn.datasets import make_circles

from skrep.decomposition import DualKernelPCA

rng = np.random.RandomState(0)
inliers, labels = make_circles(n_samples=450, factor=0.3, noise=0.05, random_state=0)
outliers = rng.randn(50, 2) * 0.3 + np.array([3.0, 3.0])
X = np.vstack([inliers, outliers])
is_outlier = np.r_[np.zeros(len(inliers), bool), np.ones(len(outliers), bool)]

# %%
# The three losses
# ----------------
# The reference is kernel PCA of the inliers alone; the error of a model is
# the sine of the largest principal angle between its projection of the
# inliers and the reference's (0: same subspace, 1: orthogonal).
params = {"n_components": 2, "kernel": "rbf", "gamma": 0.5, "random_state": 0}
reference = DualKernelPCA(**params).fit(inliers).transform(inliers)
squared = DualKernelPCA(**params).fit(X)
dual_rows = squared.eigenvectors_ * np.sqrt(squared.eigenvalues_)
median_norm = np.median(np.linalg.norm(dual_rows, axis=1))
models = {
    "squared (kernel PCA)": squared,
    "Huber, default radius": DualKernelPCA(loss="huber", **params),
    "Huber, median radius": DualKernelPCA(
        loss="huber", loss_param=median_norm, **params
    ),
    "epsilon-insensitive (sparse)": DualKernelPCA(loss="epsilon_insensitive", **params),
}

fig, axes = plt.subplots(1, 4, figsize=(18, 4.5))
for ax, (name, model) in zip(axes, models.items(), strict=True):
    Z = model.fit(X).transform(inliers)
    error = np.sin(subspace_angles(reference, Z).max())
    ax.scatter(Z[:, 0], Z[:, 1], c=labels, cmap="coolwarm", s=6)
    ax.set_title(f"{name}\nangle error {error:.3f}, {model.n_support_} support points")
    ax.set_xticks([])
    ax.set_yticks([])
    print(f"{name:30s} error {error:.3f}  support {model.n_support_:4d}")
fig.suptitle("Inliers projected on the first two components (fit with outliers)")
plt.show()

# %%
# Sparse expansions
# -----------------
# The epsilon-insensitive loss keeps only the support points; transform costs
# are proportional to their number. The support points are drawn in black.
sparse = models["epsilon-insensitive (sparse)"]
fig, ax = plt.subplots(figsize=(5, 5))
ax.scatter(X[~is_outlier, 0], X[~is_outlier, 1], c="lightgray", s=6, label="inliers")
ax.scatter(X[is_outlier, 0], X[is_outlier, 1], c="orange", s=8, label="outliers")
ax.scatter(*X[sparse.support_].T, c="black", s=4, label="support points")
ax.legend(loc="upper right")
ax.set_title(f"{sparse.n_support_} of {len(X)} points carry the components")
plt.show()
