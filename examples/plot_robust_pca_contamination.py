"""
===================================================================
Principal subspace under contamination: PCA, MinCovDet, robust PCA
===================================================================

An ``eps`` fraction of the rows of a spiked Gaussian sample are replaced by
outliers placed to tilt the top principal direction
(:func:`skrep.datasets.make_contaminated_gaussian`). We measure the sine of
the largest principal angle between the estimated and the true subspace for

- scikit-learn's :class:`~sklearn.decomposition.PCA`, which the outliers
  steer to their own direction as soon as ``eps`` is a few percent;
- the eigenvectors of scikit-learn's :class:`~sklearn.covariance.MinCovDet`
  robust covariance (FastMCD), robust but slow in high dimension;
- :class:`skrep.decomposition.OutlierRobustPCA` (filtering, nearly-linear
  time), in batch mode with the true ``eps``, with ``eps="auto"`` (the
  contamination is estimated from the data, see the printed ``eps_``), and
  in streaming (``partial_fit``) mode.

Diakonikolas, Kane, Pensia & Pittas (2023) show that the error of filtering
grows like ``eps log(1/eps)``, the best possible order.
"""

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.covariance import MinCovDet
from sklearn.decomposition import PCA

from skrep.datasets import make_contaminated_gaussian
from skrep.decomposition import OutlierRobustPCA


def sin_angle(A, B):
    Qa = np.linalg.qr(np.atleast_2d(A).T)[0]
    Qb = np.linalg.qr(np.atleast_2d(B).T)[0]
    cos = np.linalg.svd(Qa.T @ Qb, compute_uv=False).min()
    return np.sqrt(max(0.0, 1.0 - cos**2))


n_samples, n_features, k = 2000, 20, 2
epsilons = [0.0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.25]
names = ["PCA", "MinCovDet", "OutlierRobustPCA", "eps='auto'", "streaming"]
errors = {name: [] for name in names}
seconds = dict.fromkeys(names, 0.0)
estimated = {}


def fit_components(name, X, eps):
    if name == "PCA":
        return PCA(k).fit(X).components_
    if name == "MinCovDet":
        covariance = MinCovDet(random_state=0).fit(X).covariance_
        return np.linalg.eigh(covariance)[1][:, -k:].T
    if name == "eps='auto'":
        est = OutlierRobustPCA(k, eps="auto", random_state=0).fit(X)
        estimated[eps] = est.eps_
        return est.components_
    est = OutlierRobustPCA(k, eps=max(eps, 0.01), random_state=0)
    if name == "OutlierRobustPCA":
        return est.fit(X).components_
    for start in range(0, n_samples, 1000):  # one pass, chunks of 1000 rows
        est.partial_fit(X[start : start + 1000])
    return est.components_


for eps in epsilons:
    X, U, _ = make_contaminated_gaussian(
        n_samples, n_features, eps, n_components=k, random_state=0
    )
    for name in names:
        start = time.perf_counter()
        components = fit_components(name, X, eps)
        seconds[name] += time.perf_counter() - start
        errors[name].append(sin_angle(components, U))

print("eps   eps_  " + "  ".join(f"{name:>16s}" for name in names))
for i, eps in enumerate(epsilons):
    print(
        f"{eps:4.2f}  {estimated[eps]:4.2f}  "
        + "  ".join(f"{errors[name][i]:16.3f}" for name in names)
    )
print("time  " + "  ".join(f"{seconds[name]:15.2f}s" for name in names))

# %%
fig, ax = plt.subplots(figsize=(6, 4))
for name, values in errors.items():
    ax.plot(epsilons, values, "o-", label=name)
grid = np.linspace(0.01, 0.25, 50)
ax.plot(grid, grid * np.log(1 / grid), "k:", label="eps log(1/eps)")
ax.set_xlabel("fraction of outliers eps")
ax.set_ylabel("sin of largest principal angle")
ax.set_title(f"n={n_samples}, d={n_features}, k={k}")
ax.legend()
fig.tight_layout()
plt.show()
