"""
=======================================================================
When margin sampling loses to random sampling: high dimension (Tifrea)
=======================================================================

Tifrea, Clarysse & Yang, "Margin-based sampling in high dimensions: when
being active is less efficient than staying passive" (ICML 2023), prove that
for logistic regression with fewer labels than features, passive (uniform
random) sampling beats margin-based active learning -- even with noiseless
labels and even when the queries are the points closest to the *true*
(Bayes-optimal) decision boundary -- and that small class separation makes
it worse.

This example replays that setting with :func:`skrep.active.simulate`. The
data follow the structure of the paper's theoretical model (the exact
constants are ours): a 1-sparse ground truth, the label is the sign of the
first coordinate, ``x_1 = y * signal * |z|`` (the two classes touch at the
boundary: no gap, no label noise), and the other ``d - 1`` coordinates are
independent standard Gaussian noise. The classifier is a weakly regularised
logistic regression (``C=100``, close to the max-margin classifier of the
paper's analysis). Ten random labels start each run, then 100 labels are
bought in batches of 10; 20 repeats.

* **Low dimension** (d = 10, more labels than features): margin sampling
  wins clearly, as usual.
* **High dimension** (d = 1000, 10 to 110 labels): random sampling wins in
  every repeat; the 100 labels margin sampling picks hardly improve on the
  10 random ones, and sampling at the Bayes boundary (the paper's idealised
  margin sampler) is worse still.

Why: with more features than labels, every labelled point is a support
vector and the fitted weight vector is close to a weighted sum of
``y_i x_i``. A point near the boundary has a tiny ``|x_1|``: it adds almost
no signal to the first weight but a full share of noise to the other
``d - 1``. Margin sampling finds such points (its queries have a mean
``|x_1|`` below 2, random ones about 8), so its weight vector ends up less
aligned with the truth. In low dimension the boundary points are the support
vectors that pin the boundary down, which is why margin sampling helps there.
With a weak signal (``signal=1``) the model is too poor to find the boundary,
its queries are nearly random, and margin sampling no longer loses (it ties
or stays slightly ahead). See the section "When margin sampling is the wrong
choice" of the active-learning user guide for the measured numbers.

Before using margin sampling on wide data (more features than the labels you
can afford), replay it with :func:`~skrep.active.simulate` on the labels you
already have and look at the win rate.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.base import BaseEstimator
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from skrep.active import MarginSampler, simulate
from skrep.datasets import make_sparse_signal_classification

# Hundreds of tiny fits: one BLAS thread each is fastest.
threadpool_limits(limits=1, user_api="blas")


class BayesBoundarySampler(BaseEstimator):
    """The paper's idealised margin sampler: closest to the true boundary."""

    def __init__(self, missing_label=-1):
        self.missing_label = missing_label

    def query(self, X, y, estimator=None, *, batch_size=1):
        unlabelled = np.flatnonzero(y == self.missing_label)
        order = np.argsort(np.abs(X[unlabelled, 0]), kind="stable")
        return unlabelled[order[:batch_size]]


setting = {
    "initial": 10,
    "budget": 100,
    "batch_size": 10,
    "n_repeats": 20,
    "random_state": 0,
}
clf = LogisticRegression(C=100.0, max_iter=1000)


def curves(result, name):
    c = result.curve[result.curve["strategy"] == name]
    g = c.groupby("n_labels")["score"]
    return g.mean(), g.sem()


# %%
# Two regimes: learning curves
# ----------------------------
fig, axes = plt.subplots(1, 2, figsize=(9, 3.6), sharey=False)
for ax, d in zip(axes, [10, 1000], strict=True):
    X, y = make_sparse_signal_classification(2000, d, random_state=0)
    res = simulate(MarginSampler(), clf, X, y, **setting)
    oracle = simulate(BayesBoundarySampler(), clf, X, y, baseline=None, **setting)
    for r, name, label in [
        (res, "MarginSampler", "margin"),
        (res, "random", "random (passive)"),
        (oracle, "BayesBoundarySampler", "true-boundary sampling"),
    ]:
        mean, sem = curves(r, name)
        ax.plot(mean.index, mean, label=label)
        ax.fill_between(mean.index, mean - sem, mean + sem, alpha=0.25)
    auc = res.summary()["mean"]
    print(
        f"d = {d:4d}: area margin {auc['MarginSampler']:.3f}, random "
        f"{auc['random']:.3f}, true boundary {oracle.summary()['mean'].iloc[0]:.3f}"
        f"; margin wins {res.win_rate:.0%} of the repeats"
    )
    ax.set_title(f"d = {d}")
    ax.set_xlabel("labels")
axes[0].set_ylabel("test accuracy")
axes[0].legend(loc="lower right")
fig.suptitle("1-sparse signal, noiseless labels, logistic regression (C=100)")
fig.tight_layout()

# %%
# The gain of margin sampling as the dimension grows
# --------------------------------------------------
# Same budget; positive = margin sampling better (area under the curve).
dims = [10, 30, 100, 300, 1000]
fig, ax = plt.subplots(figsize=(5, 3.5))
for signal in [10.0, 1.0]:
    gains, errs = [], []
    for d in dims:
        X, y = make_sparse_signal_classification(2000, d, signal=signal, random_state=0)
        a = simulate(MarginSampler(), clf, X, y, **setting).auc
        diff = (
            a.pivot(index="repeat", columns="strategy", values="auc")
            .eval("MarginSampler - random")
            .to_numpy()
        )
        gains.append(diff.mean())
        errs.append(diff.std(ddof=1) / np.sqrt(diff.size))
        print(f"signal {signal:4.1f}, d = {d:4d}: gain {diff.mean():+.4f}")
    ax.errorbar(dims, gains, yerr=errs, marker="o", capsize=3, label=f"signal={signal}")
ax.set_xscale("log")
ax.axhline(0, color="k", lw=0.8)
ax.set_xlabel("dimension d (110 labels)")
ax.set_ylabel("area gain of margin over random")
ax.legend()
fig.tight_layout()
plt.show()
