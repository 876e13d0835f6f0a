"""
==========================================================
PRESTO: estimating the probability of a rare ordinal class
==========================================================

Faletto and Bien (ICML 2023) estimate the probability of a rare last class
of an ordinal outcome by borrowing strength from the common transitions:
PRESTO fits one slope per cumulative logit, with a lasso on the *changes* of
the slopes between adjacent thresholds, so the rare threshold's slope is
the common slope plus a few sparse corrections.

This example reruns their sparse-differences simulation (sec. 4.1) at a
small scale: n = 2500 rows, p = 10 uniform features, K = 4 classes, the last
of which holds about 1% of the rows. Over replicates, it compares the
in-sample squared error of the estimated rare-class probability of

- :class:`~skrep.ordinal.PRESTOCV` (penalty chosen by 5-fold Brier score),
- the proportional-odds model (:class:`~skrep.ordinal.ProportionalOdds`),
  which forces all slopes to be equal,
- a logistic regression of "rare class" against the rest, which estimates
  the rare threshold's slope from the rare rows alone.

The paper reports median error ratios PRESTO / PO of about 0.65-0.9 and
PRESTO / logit of about 0.3-0.75 (700 replicates).

Before PRESTO, each replicate runs Brant's test of proportional odds
(:func:`~skrep.ordinal.brant_test`) on the proportional-odds fit: PRESTO is
worth fitting where it rejects. The worked example on real data is
:ref:`sphx_glr_auto_examples_plot_ordinal_brant_presto.py`.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.linear_model import LogisticRegression

from skrep.datasets import make_rare_ordinal
from skrep.ordinal import PRESTOCV, ProportionalOdds, brant_test

n_replicates = 20
errors = {"PRESTO": [], "proportional odds": [], "logistic (rare vs rest)": []}
brant_p_values = []
for seed in range(n_replicates):
    X, y, proba = make_rare_ordinal(
        n_samples=2500,
        n_features=10,
        n_classes=4,
        rare_prob=0.01,
        sparsity=0.5,
        random_state=seed,
    )
    true_rare = proba[:, -1]
    po = ProportionalOdds().fit(X, y)
    brant_p_values.append(brant_test(po, X, y).p_value)
    presto = PRESTOCV(n_lambdas=10, random_state=seed).fit(X, y)
    logit = LogisticRegression(C=1e10, max_iter=1000).fit(X, y == 3)
    estimates = [
        presto.predict_proba(X)[:, -1],
        po.predict_proba(X)[:, -1],
        logit.predict_proba(X)[:, 1],
    ]
    for name, estimate in zip(errors, estimates, strict=True):
        errors[name].append(np.mean((estimate - true_rare) ** 2))

rejected = np.mean(np.array(brant_p_values) < 0.05)
print(f"Brant's test rejects proportional odds in {rejected:.0%} of the replicates")
medians = {name: np.median(values) for name, values in errors.items()}
for name, median in medians.items():
    print(f"{name:>24}: median squared error {median:.2e}")
print(
    "median ratio PRESTO / PO = "
    f"{medians['PRESTO'] / medians['proportional odds']:.2f}, "
    "PRESTO / logit = "
    f"{medians['PRESTO'] / medians['logistic (rare vs rest)']:.2f}"
)

# %%
# The box plots of the squared error over replicates (log scale).
fig, ax = plt.subplots(figsize=(6, 4))
ax.boxplot(list(errors.values()), tick_labels=list(errors))
ax.set_yscale("log")
ax.set_ylabel("mean squared error of P(rare class)")
ax.set_title(f"Rare class (~1% of rows), {n_replicates} replicates")
fig.tight_layout()
plt.show()
