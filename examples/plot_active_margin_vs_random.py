"""
==========================================================
Margin sampling, random sampling and diverse batches
==========================================================

Learning curves of a logistic regression on the digits data set (bundled
with scikit-learn) when the labels are chosen by margin sampling, by margin
sampling with batch diversity (margin-filtered k-center and Cluster-Margin),
and uniformly at random. :func:`skrep.active.simulate` replays each run
against the known labels, on the same test splits and initial labelled sets,
and reports the area under each learning curve.

Margin sampling beats random sampling on tabular data (Bahri et al., 2022).
"""

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from skrep.active import MarginSampler, simulate

# Hundreds of tiny fits: one BLAS thread each is fastest.
threadpool_limits(limits=1, user_api="blas")

X, y = load_digits(return_X_y=True)
X = StandardScaler().fit_transform(X)

strategies = {
    "margin (top-k)": MarginSampler(),
    "margin + k-center": MarginSampler(batch_strategy="kcenter"),
    "Cluster-Margin": MarginSampler(batch_strategy="cluster_margin"),
}
settings = {
    "initial": 20,
    "budget": 200,
    "batch_size": 20,
    "n_repeats": 3,
    "random_state": 0,
}

fig, ax = plt.subplots(figsize=(6, 4))
random_curve = None
for name, strategy in strategies.items():
    result = simulate(strategy, LogisticRegression(max_iter=500), X, y, **settings)
    curve = result.curve
    own = curve[curve.strategy != "random"].groupby("n_labels")["score"].mean()
    ax.plot(own.index, own.to_numpy(), marker="o", ms=3, label=name)
    auc = result.summary()["mean"]
    print(
        f"{name:>18}: area {auc.drop('random').iloc[0]:.3f}  "
        f"(random {auc['random']:.3f}), win rate {result.win_rate:.2f}"
    )
    if random_curve is None:
        random_curve = curve[curve.strategy == "random"].groupby("n_labels")["score"]
        random_curve = random_curve.mean()

ax.plot(random_curve.index, random_curve.to_numpy(), "k--", label="random")
ax.set_xlabel("number of labels")
ax.set_ylabel("test accuracy")
ax.set_title("digits: active learning curves (mean of 3 repeats)")
ax.legend()
fig.tight_layout()
plt.show()
