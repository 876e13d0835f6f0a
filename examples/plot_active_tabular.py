"""
==========================================================
Active learning on a data frame with missing values
==========================================================

Tabular data is the setting of Bahri et al. (2022). Here the breast cancer
data set (bundled with scikit-learn) comes as a pandas data frame with 15% of
its cells missing and one string column; the model is a pipeline that
one-hot encodes that column by name and hands the rest, missing values
included, to a :class:`~sklearn.ensemble.HistGradientBoostingClassifier`.
:class:`skrep.active.ActiveLearner` and :func:`skrep.active.simulate` pass the
data frame through to the model as scikit-learn's meta-estimators do: nothing
is converted to a float array on the way.
"""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.compose import make_column_transformer
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder
from threadpoolctl import threadpool_limits

from skrep.active import ActiveLearner, MarginSampler, simulate

# Many small fits: one thread each is fastest.
threadpool_limits(limits=1)

X, y = load_breast_cancer(return_X_y=True, as_frame=True)
rng = np.random.default_rng(0)
X = X.mask(rng.random(X.shape) < 0.15)  # 15% of the cells missing
# a string column, as tabular data often has one
X["size"] = pd.cut(
    X.pop("mean area"), [0, 500, 1000, np.inf], labels=["small", "medium", "large"]
).astype(str)

model = make_pipeline(
    make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore"), ["size"]), remainder="passthrough"
    ),
    HistGradientBoostingClassifier(max_iter=50, random_state=0),
)

# %%
# One round by hand: fit on 20 labelled rows, query 10 more.
first = rng.choice(y.shape[0], 20, replace=False)
y_partial = np.full(y.shape[0], -1)  # -1: not labelled yet
y_partial[first] = y.to_numpy()[first]
learner = ActiveLearner(model, MarginSampler(random_state=0), batch_size=10)
learner.fit(X, y_partial)
idx = learner.query(X, y_partial)
learner.teach(X.iloc[idx], y.iloc[idx])
print(f"rows to label next: {idx.tolist()}")
held = learner.X_train_
print(f"labelled rows held: a {type(held).__name__} of shape {held.shape}")

# %%
# Margin against random sampling, replayed on the known labels.
result = simulate(
    MarginSampler(),
    model,
    X,
    y,
    initial=20,
    budget=80,
    batch_size=10,
    n_repeats=4,
    random_state=0,
)
summary = result.summary()
print(summary.round(3))
print(f"win rate of margin sampling against random: {result.win_rate:.2f}")

fig, ax = plt.subplots(figsize=(6, 4))
curves = result.curve.groupby(["strategy", "n_labels"])["score"].mean()
for name in ("MarginSampler", "random"):
    c = curves.loc[name]
    ax.plot(c.index, c.to_numpy(), marker="o", ms=3, label=name)
ax.set_xlabel("number of labels")
ax.set_ylabel("test accuracy")
ax.set_title("breast cancer, 15% missing, a string column (mean of 4 repeats)")
ax.legend()
fig.tight_layout()
plt.show()
