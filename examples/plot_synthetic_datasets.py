"""
=========================================
The synthetic settings of skrep's papers
=========================================

:mod:`skrep.datasets` reproduces the simulated data of each paper that skrep
implements, so that its experiments can be rerun. This example draws one data
set from each generator and shows the property it is built to have.
"""

# %%
# Low rank plus sparse (principal component pursuit)
# --------------------------------------------------
# :func:`~skrep.datasets.make_low_rank_sparse` follows Candès, Li, Ma and
# Wright (2011): ``L = X Y^T`` of rank ``r`` with Gaussian factors, plus a
# matrix ``S`` whose non-zero entries (here 5 %) are random signs at uniform
# positions. Robust PCA must recover ``L`` and ``S`` from ``M = L + S``.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.decomposition import PCA

from skrep.datasets import (
    make_contaminated_gaussian,
    make_function_approximation,
    make_heterogeneous_mixture,
    make_low_rank_sparse,
    make_rare_ordinal,
)

M, L, S = make_low_rank_sparse(100, 100, rank=5, sparsity=0.05, random_state=0)
print(f"rank(L) = {np.linalg.matrix_rank(L)}, non-zeros of S = {np.count_nonzero(S)}")

fig, axes = plt.subplots(1, 3, figsize=(10, 3.4))
titles = ("M = L + S", "L (rank 5)", "S (5 % non-zero)")
for ax, matrix, title in zip(axes, (M, L, S), titles, strict=True):
    limit = np.abs(matrix).max()
    ax.imshow(matrix, cmap="RdBu_r", vmin=-limit, vmax=limit)
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
fig.tight_layout()

# %%
# A spiked Gaussian with adversarial outliers
# -------------------------------------------
# :func:`~skrep.datasets.make_contaminated_gaussian` draws inliers from
# ``N(0, I + 4 u u^T)`` and replaces 10 % of the rows by outliers at ``+-a``
# along a direction ``v`` orthogonal to ``u``. They carry enough variance
# along ``v`` that ordinary PCA's top component points along ``v``, almost
# orthogonal to the true ``u``: the failure robust PCA repairs.
X, components, outlier_mask = make_contaminated_gaussian(
    1000, 20, eps=0.1, random_state=0
)
u = components[0]
pca_direction = PCA(n_components=1).fit(X).components_[0]
# The plane spanned by u and PCA's direction (which is close to v).
v = pca_direction - (pca_direction @ u) * u
v /= np.linalg.norm(v)
coords = X @ np.column_stack([u, v])
print(f"|cos(PCA direction, truth)| = {abs(pca_direction @ u):.3f}")

fig, ax = plt.subplots(figsize=(5, 5))
ax.scatter(*coords[~outlier_mask].T, s=4, alpha=0.4, label="inliers")
ax.scatter(*coords[outlier_mask].T, s=6, color="C3", label="outliers")
for direction, name, color in ((u, "true u", "k"), (pca_direction, "PCA", "C1")):
    arrow = 8 * np.array([direction @ u, direction @ v])
    ax.plot([-arrow[0], arrow[0]], [-arrow[1], arrow[1]], color=color, label=name)
ax.set_xlabel("coordinate along the true component u")
ax.set_ylabel("coordinate along v")
ax.set_aspect("equal")
ax.legend(loc="upper left")

# %%
# Clusters with heterogeneous covariances
# ---------------------------------------
# :func:`~skrep.datasets.make_heterogeneous_mixture` places the centres at
# the given minimum distance and gives each cluster its own covariance
# scale (1, 2, 4 by default), the setting of Zhuang, Chen and Yang (2023)
# where K-means and the Peng-Wei SDP fail and iLA-SDP does not.
X, y, means, covariances = make_heterogeneous_mixture(
    600,
    2,
    n_clusters=3,
    separation=6.0,
    covariances="full",
    return_params=True,
    random_state=0,
)
fig, ax = plt.subplots(figsize=(5, 5))
ax.scatter(X[:, 0], X[:, 1], c=y, s=6, cmap="viridis")
ax.scatter(means[:, 0], means[:, 1], marker="x", s=80, color="C3")
ax.set_aspect("equal")
ax.set_title("three clusters, scales 1, 2 and 4")

# %%
# Ordinal labels with a rare class
# --------------------------------
# :func:`~skrep.datasets.make_rare_ordinal` follows Faletto and Bien (2023,
# sec. 4.1): cumulative logits whose weight vectors differ in a few
# coordinates, and a last intercept chosen so that the last class has an
# expected share of ``rare_prob`` (here 1 %).
X, y, proba = make_rare_ordinal(
    2500, 10, n_classes=4, rare_prob=0.01, sparsity=0.5, random_state=0
)
shares = np.bincount(y, minlength=4) / len(y)
print("observed class shares:", np.round(shares, 4))
print(f"mean true probability of the rare class: {proba[:, -1].mean():.4f}")

fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(10, 3.4))
ax0.bar(range(4), shares, color=["C0", "C0", "C0", "C3"])
ax0.set_xticks(range(4))
ax0.set_xlabel("class")
ax0.set_ylabel("observed share")
ax1.hist(proba[:, -1], bins=40, color="C3")
ax1.set_xlabel("true P(rare class | x)")
ax1.set_ylabel("count")
fig.tight_layout()

# %%
# Test functions for least-squares approximation
# ----------------------------------------------
# :func:`~skrep.datasets.make_function_approximation` samples test functions
# on ``[-1, 1]^d``, uniformly or from the arcsine (Chebyshev) density, which
# puts more points near the boundary. ``return_function=True`` also returns
# the noiseless function, for computing ``L^2`` errors on a fine grid.
fig, ax = plt.subplots(figsize=(7, 3.4))
grid = np.linspace(-1, 1, 400)
for sampling, offset, color in (("uniform", 0.0, "C0"), ("chebyshev", -0.1, "C2")):
    X, y, runge = make_function_approximation(
        "runge", 40, sampling=sampling, return_function=True, random_state=0
    )
    ax.scatter(X[:, 0], y + offset, s=12, color=color, label=f"{sampling} samples")
ax.plot(grid, runge(grid), color="k", label="1 / (1 + 25 x^2)")
ax.set_xlabel("x")
ax.legend()
ax.set_title("the Runge function (chebyshev samples shifted down)")
plt.show()
