"""
=====================================================================
Clustering a heterogeneous Gaussian mixture with iLA-SDP
=====================================================================

Three Gaussian clusters with very different spreads (standard deviations 1,
2 and 4), 100 points each, in 10 dimensions with centres ``4 e_k`` and in 40
dimensions with centres ``6 e_k``: the settings of Zhuang, Chen & Yang
(2023). K-means and the Peng-Wei SDP (:class:`skrep.cluster.SDPKMeans`)
assume one shared spherical covariance and cut the wide cluster apart.
:class:`skrep.cluster.ILASDPClustering` starts from the SDP's partition,
estimates a covariance per cluster, solves the likelihood-adjusted SDP and
repeats until the labels stop changing.

Like with like, as the paper compares: every method with one start, EM
(scikit-learn's ``GaussianMixture``) and iLA-SDP with the same (diagonal)
covariances, and the median error over
ten seeds (data and starts), not one lucky draw. In 10 dimensions iLA-SDP
and single-start EM are level; in 40, with few points per dimension,
single-start EM often stops in a poor fixed point and iLA-SDP does not.

The error is the share of mis-clustered points (minimised over the label
permutations); the scatter shows the first two principal components of the
first seed in 40 dimensions.
"""

import time

import matplotlib.pyplot as plt
import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.mixture import GaussianMixture

from skrep.cluster import ILASDPClustering, SDPKMeans
from skrep.datasets import make_heterogeneous_mixture


def error_rate(y, labels):
    counts = np.zeros((3, 3))
    np.add.at(counts, (y, labels), 1)
    rows, cols = linear_sum_assignment(-counts)
    return 1.0 - counts[rows, cols].sum() / len(y)


def make(seed, p, mu):
    # centres mu e_k: the generator's separation is the distance between centres
    return make_heterogeneous_mixture(
        300, p, 3, mu * np.sqrt(2), scales=[1, 2, 4], random_state=seed
    )


def models(seed, covariance_type):
    return {
        "K-means": KMeans(3, n_init=1, random_state=seed),
        "Peng-Wei SDP": SDPKMeans(3, random_state=seed),
        f"EM ({covariance_type})": GaussianMixture(
            3, covariance_type=covariance_type, n_init=1, random_state=seed
        ),
        f"iLA-SDP ({covariance_type})": ILASDPClustering(
            3, covariance_type=covariance_type, random_state=seed
        ),
    }


first = {}
for p, mu, covariance_type in [(10, 4.0, "diag"), (40, 6.0, "diag")]:
    print(f"p = {p}, centres {mu} e_k:")
    errors = {name: [] for name in models(0, covariance_type)}
    seconds = dict.fromkeys(errors, 0.0)
    for seed in range(10):
        X, y = make(seed, p, mu)
        for name, model in models(seed, covariance_type).items():
            start = time.perf_counter()
            labels = model.fit_predict(X)
            seconds[name] += time.perf_counter() - start
            errors[name].append(error_rate(y, labels))
            if seed == 0 and p == 40:
                first[name] = labels
    for name, e in errors.items():
        print(
            f"  {name:20s} median error {np.median(e):.3f} (quartiles "
            f"{np.quantile(e, 0.25):.3f}-{np.quantile(e, 0.75):.3f}), "
            f"{seconds[name] / 10:.2f} s per fit"
        )

# %%
# The partitions of the first seed in 40 dimensions, on the first two
# principal components

X, y = make(0, 40, 6.0)
Z = PCA(2).fit_transform(X)
fig, axes = plt.subplots(1, 5, figsize=(17, 3.6), sharex=True, sharey=True)
for ax, (name, labels) in zip(axes, [("truth", y), *first.items()], strict=True):
    ax.scatter(Z[:, 0], Z[:, 1], c=labels, s=10, cmap="viridis")
    title = name if name == "truth" else f"{name}\nerror {error_rate(y, labels):.2f}"
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
fig.tight_layout()
plt.show()

# %%
# The fitted model
# ----------------
#
# iLA-SDP estimates one Gaussian per cluster; ``covariance_type="auto"``
# takes the type of lowest BIC at the starting partition (here the true,
# spherical, structure). The rounds stop on a fixed partition
# (``converged_``); the clusters' spreads match the true ones (1, 2, 4).

model = ILASDPClustering(3, random_state=0).fit(X)
print("covariance type:", model.covariance_type_, "- rounds:", model.n_iter_)
print("converged:", model.converged_)
spreads = [np.sqrt(X[model.labels_ == k].var(axis=0).mean()) for k in range(3)]
print("estimated spreads:", np.round(spreads, 2))
