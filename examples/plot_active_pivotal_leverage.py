"""
===================================================================
Pivotal versus independent leverage-score sampling for regression
===================================================================

To fit a degree-6 polynomial in two variables (28 coefficients) from few
evaluations of a smooth function on a 40 x 40 grid, rows are drawn with
probabilities proportional to their leverage scores and fitted by weighted
least squares (weights ``1 / p``). :class:`skrep.active.LeverageScoreSampler`
draws them either independently (Bernoulli) or by pivotal sampling over a
spatial tree, with the same inclusion probabilities. The pivotal sample is
spread over the square and reaches the same error with markedly fewer
samples (Shimizu et al., ICLR 2024).
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.preprocessing import PolynomialFeatures

from skrep.active import LeverageScoreSampler

g = np.linspace(-1, 1, 40)
X = np.array(np.meshgrid(g, g)).reshape(2, -1).T
target = np.exp(-(X[:, 0] ** 2) - 0.5 * X[:, 1]) * np.cos(2 * X[:, 0] + X[:, 1])
features = PolynomialFeatures(6)
A = features.fit_transform(X)


def median_error(method, k, trials=150):
    sampler = LeverageScoreSampler(
        features, method=method, random_state=np.random.RandomState(0)
    ).fit(X)
    errors = []
    for _ in range(trials):
        idx, p = sampler.query(X, batch_size=k, return_probabilities=True)
        w = 1 / np.sqrt(p)
        coef = np.linalg.lstsq(A[idx] * w[:, None], target[idx] * w, rcond=None)[0]
        errors.append(np.mean((A @ coef - target) ** 2) / np.mean(target**2))
    return np.median(errors)


ks = [34, 42, 56, 70, 84]
errors = {m: [median_error(m, k) for k in ks] for m in ("bernoulli", "pivotal")}
for k, b, p in zip(ks, errors["bernoulli"], errors["pivotal"], strict=True):
    print(f"k = {k:3d}: Bernoulli {b:.2e}  pivotal {p:.2e}")

fig, axes = plt.subplots(1, 3, figsize=(12, 3.8))
for method, style in (("bernoulli", "s--"), ("pivotal", "o-")):
    axes[0].semilogy(ks, errors[method], style, label=method)
axes[0].set_xlabel("number of samples k")
axes[0].set_ylabel("median relative error")
axes[0].legend()
for ax, method in zip(axes[1:], ("bernoulli", "pivotal"), strict=True):
    idx = LeverageScoreSampler(features, method=method, random_state=1).query(
        X, batch_size=42
    )
    ax.scatter(X[:, 0], X[:, 1], s=1, c="0.8")
    ax.scatter(X[idx, 0], X[idx, 1], s=15)
    ax.set_title(f"{method}: {idx.shape[0]} samples")
    ax.set_aspect("equal")
fig.tight_layout()
plt.show()
