"""
=====================================================================
When margin sampling does not help: high dimension, small separation
=====================================================================

Tifrea, Clarysse & Yang (ICML 2023) prove that for logistic regression in
high dimension, margin-based active learning can be *less* efficient than
passive (uniform random) sampling, even without label noise, and that this
is worse when the classes are barely separated. Their 20 high-dimensional
data sets show the same.

Here two Gaussian-like classes differ only along the first coordinate (the
labels are its sign: no noise), all other coordinates are pure noise. With
ten dimensions margin sampling wins; as the dimension grows with the same
labelling budget of 110 labels, its advantage over random sampling shrinks
to nothing, and at d = 1000 random sampling is slightly ahead in this small
replay (the paper shows larger reversals on real high-dimensional data).
Before using active learning on a new problem, replay it with
:func:`skrep.active.simulate` on the labels you already have and look at the
win rate.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from skrep.active import MarginSampler, simulate

# Hundreds of tiny fits: one BLAS thread each is fastest.
threadpool_limits(limits=1, user_api="blas")


def two_classes(n, d, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(2, size=n)
    X = rng.standard_normal((n, d))
    X[:, 0] = (2 * y - 1) * np.abs(rng.standard_normal(n))  # noiseless labels
    return X, y


dims = [10, 100, 1000]
gains, wins = [], []
for d in dims:
    X, y = two_classes(2000, d)
    result = simulate(
        MarginSampler(),
        LogisticRegression(),
        X,
        y,
        initial=10,
        budget=100,
        batch_size=10,
        n_repeats=4,
        random_state=0,
    )
    auc = result.summary()["mean"]
    gains.append(auc["MarginSampler"] - auc["random"])
    wins.append(result.win_rate)
    print(
        f"d = {d:5d}: margin {auc['MarginSampler']:.3f}, random {auc['random']:.3f}, "
        f"win rate {result.win_rate:.2f}"
    )

fig, ax = plt.subplots(figsize=(5, 3.5))
ax.semilogx(dims, gains, "o-")
ax.axhline(0, color="k", lw=0.8)
ax.set_xlabel("dimension d")
ax.set_ylabel("area gain of margin over random")
ax.set_title("110 labels, noiseless linear classes")
fig.tight_layout()
plt.show()
