"""
==========================
From a laptop to a cluster
==========================

The scikit-learn code that runs on a laptop runs on a dask cluster with the
estimators unchanged. Here the "cluster" is a
:class:`distributed.LocalCluster` of two workers on this machine; on a real
cluster only the line that makes the client changes
(``Client("tcp://scheduler-address:8786")``). Three patterns:

1. **Model selection**: :class:`~sklearn.model_selection.GridSearchCV` sends
   its fits to the workers through ``joblib.parallel_backend("dask")``;
2. **Prediction and scoring of data larger than memory**:
   :class:`dask_ml.wrappers.ParallelPostFit` maps ``predict``,
   ``predict_proba`` and ``transform`` over the chunks of a dask array,
   since they are row-independent once the model is fitted;
3. **Fitting a stream**: :class:`dask_ml.wrappers.Incremental` feeds the
   chunks one after the other to ``partial_fit``, here of
   :class:`skrep.decomposition.OutlierRobustPCA`.

See :doc:`/scaling` for what each pattern promises.
"""

# %%
# Start the cluster
# -----------------
# Two workers of one thread each. They are threads of this process
# (``processes=False``) so that this file runs as it is, as a script and in
# the documentation build: worker *processes* (the default, and what skrep's
# tests run on) re-import a script's ``__main__``, so a script that starts
# them puts its code under ``if __name__ == "__main__":``. The estimators do
# not care: they pickle, and the tests check the same results on processes.
import dask.array as da
import joblib
import matplotlib.pyplot as plt
import numpy as np
from dask_ml.wrappers import Incremental, ParallelPostFit
from distributed import Client, LocalCluster
from scipy.special import expit
from sklearn.decomposition import PCA
from sklearn.model_selection import GridSearchCV

from skrep.datasets import make_contaminated_gaussian, make_rare_ordinal
from skrep.decomposition import OutlierRobustPCA
from skrep.ordinal import PRESTO

cluster = LocalCluster(
    n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
)
client = Client(cluster)
print(client)

# %%
# 1. A grid search on the workers
# -------------------------------
# PRESTO (an ordinal model whose rare last class borrows strength from the
# common ones) has one penalty to choose. The search is written as on a
# laptop; inside ``parallel_backend("dask")`` its fits run on the cluster,
# and the result is the same.
X, y, _, intercepts, beta = make_rare_ordinal(
    1000, n_features=5, rare_prob=0.05, return_coef=True, random_state=0
)
search = GridSearchCV(PRESTO(n_lambdas=5), {"lam": [1e-3, 1e-2, 1e-1]}, cv=3)

search.fit(X, y)
print("laptop: ", search.best_params_, search.cv_results_["mean_test_score"])

with joblib.parallel_backend("dask"):
    search.fit(X, y)
print("cluster:", search.best_params_, search.cv_results_["mean_test_score"])

# %%
# 2. Scoring a large dask array chunk by chunk
# --------------------------------------------
# Two million rows drawn from the same model, created on the workers chunk
# by chunk: the laptop never holds them. :class:`~dask_ml.wrappers.
# ParallelPostFit` wraps the fitted model (it does not refit it) and maps
# ``predict`` and ``predict_proba`` over the chunks; its ``score`` reduces
# the chunks' accuracies with dask.
n_rows, chunk_rows = 2_000_000, 200_000
rng = da.random.default_rng(1)
X_big = rng.uniform(-1.0, 1.0, size=(n_rows, X.shape[1]), chunks=(chunk_rows, -1))


def draw_labels(X_chunk, block_info=None):
    """Labels of one chunk from the true cumulative-logit model."""
    seed = block_info[0]["chunk-location"][0]
    cumulative = expit(intercepts + X_chunk @ beta)
    u = np.random.default_rng(seed).uniform(size=len(X_chunk))
    return (u[:, None] > cumulative).sum(axis=1)


y_big = X_big.map_blocks(draw_labels, drop_axis=1, dtype=np.int64)

model = ParallelPostFit(search.best_estimator_, scoring="accuracy")
proba = model.predict_proba(X_big)  # lazy: nothing has run yet
print(f"{X_big.numblocks[0]} chunks of {chunk_rows} rows")
print("accuracy on the big array:", round(model.score(X_big, y_big), 4))
print("share of the rare class, true and predicted:")
print(
    np.round(da.compute((y_big == 3).mean(), proba[:, 3].mean()), 4),
)

# %%
# 3. Streaming partial_fit of outlier-robust PCA
# ----------------------------------------------
# 10 % of the rows are outliers placed to tilt the top principal direction.
# :class:`~dask_ml.wrappers.Incremental` passes the chunks in turn to
# ``OutlierRobustPCA.partial_fit``, which filters each chunk and merges a
# summary of size ``O(n_features * (n_components + 8))``, never
# ``O(n_samples)``. ``Incremental.partial_fit`` on one chunk at a time lets us
# follow the error as the stream goes by. (Incremental asks for a scorer
# when the estimator has no ``score``; the variance the component keeps is
# the natural one.)
X_stream, truth, _ = make_contaminated_gaussian(
    20_000, n_features=20, eps=0.1, random_state=0
)
X_stream_dask = da.from_array(X_stream, chunks=(2_000, -1))


def kept_variance(estimator, X, y=None):
    return float(np.mean(estimator.transform(X) ** 2))


def sin_angle(components):
    return np.sqrt(max(0.0, 1.0 - float(components[0] @ truth[0]) ** 2))


stream = Incremental(
    OutlierRobustPCA(n_components=1, eps=0.1, random_state=0),
    scoring=kept_variance,
)
rows_seen, errors = [], []
for i, chunk in enumerate(X_stream_dask.blocks):
    stream.partial_fit(chunk)
    rows_seen.append((i + 1) * chunk.shape[0])
    errors.append(sin_angle(stream.estimator_.components_))

pca_error = sin_angle(PCA(1).fit(X_stream).components_)
batch_error = sin_angle(
    OutlierRobustPCA(n_components=1, eps=0.1, random_state=0).fit(X_stream).components_
)
print(f"streamed: {errors[-1]:.3f}  batch fit: {batch_error:.3f}  PCA: {pca_error:.3f}")

fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(rows_seen, errors, "o-", label="OutlierRobustPCA, streamed (Incremental)")
ax.axhline(batch_error, color="C1", ls="--", label="OutlierRobustPCA.fit, all rows")
ax.axhline(pca_error, color="C3", ls=":", label="PCA, all rows")
ax.set_xlabel("rows seen")
ax.set_ylabel("sin(angle to the true direction)")
ax.set_yscale("log")
ax.legend()
fig.tight_layout()

# %%
# Clean up
# --------
client.close()
cluster.close()
