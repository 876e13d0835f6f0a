"""Benchmarks of ``skrep.active`` against its peers.

Estimators (issue 9): ``MarginSampler``, ``UncertaintySampler``,
``RandomSampler``, ``LeverageScoreSampler``, ``ActiveLearner`` and
``simulate``.  The floor timed in the same run is the classifier's own
``predict_proba`` on the pool: scikit-learn's ``LogisticRegression``, fitted on
1,000 labelled rows, over a pool of 1,000,000 rows with 20 features (issues 9
and 19: a margin query must cost at most 1.3x that).  The query takes the
path of ``ActiveLearner`` and ``simulate``: 5,000 rows of the pool are
labelled, marked in ``y`` (-1 elsewhere), so the query scores the pool and
masks the labelled rows.  Also timed in the same run: the same query through
``ActiveLearner.query``, scikit-activeml's margin query
(``UncertaintySampling(method="margin_sampling")`` with the same fitted model,
``fit_clf=False``, the same labelled rows), a k-center batch of 1,000 from
the same pool, and pivotal leverage-score sampling of k = 1,000 from
1,000,000 rows in d = 2 against independent (Bernoulli) leverage-score
sampling.

Every query returns a batch of 1,000 rows (``time_predict`` times the query).
``track_score``: the error of pivotal vs Bernoulli leverage-score sampling
(``PivotalErrorBench``, lower is better) and the area under the learning
curve of margin vs random sampling on digits (``MarginLearningCurveBench``,
higher is better).
"""

import numpy as np
from sklearn.base import BaseEstimator, clone

from .common import Data, Predictor, Scored, import_or_skip, peers, rng

BATCH = 1_000
#: Labelled rows of the queried pool, marked in ``y`` as ActiveLearner and
#: simulate mark them.
N_LABELLED = 5_000


def _partial_labels(n):
    """Labels of a pool of ``n`` rows: -1 but for ``N_LABELLED`` rows."""
    y = np.full(n, -1)
    labelled = rng(1).choice(n, min(N_LABELLED, n // 4), replace=False)
    y[labelled] = labelled % 3
    return y


class MarginQuery(BaseEstimator):
    """Fits the classifier; ``predict(X, y)`` is one margin query over ``X``.

    ``library="skrep-active-learner"`` fits an ``ActiveLearner`` and queries
    through it.
    """

    def __init__(self, library="skrep", batch_strategy="top_k", candidate_factor=10):
        self.library = library
        self.batch_strategy = batch_strategy
        self.candidate_factor = candidate_factor

    def fit(self, X, y):
        from sklearn.linear_model import LogisticRegression

        if self.library == "scikit-activeml":
            from skactiveml.classifier import SklearnClassifier

            self.clf_ = SklearnClassifier(
                LogisticRegression(), classes=np.unique(y), random_state=0
            ).fit(X, y)
        elif self.library == "skrep-active-learner":
            from skrep.active import ActiveLearner, MarginSampler

            self.clf_ = ActiveLearner(
                LogisticRegression(), MarginSampler(random_state=0)
            ).fit(X, y)
        else:
            self.clf_ = LogisticRegression().fit(X, y)
        return self

    def predict(self, X, y=None):
        """The query; ``y`` marks labelled rows (-1: unlabelled), None: none."""
        k = min(BATCH, X.shape[0] // 2)
        if self.library == "scikit-activeml":
            from skactiveml.pool import UncertaintySampling

            qs = UncertaintySampling(method="margin_sampling", random_state=0)
            y_nan = np.full(X.shape[0], np.nan)
            if y is not None:
                y_nan[y != -1] = y[y != -1]
            return qs.query(X, y_nan, self.clf_, fit_clf=False, batch_size=k)
        if self.library == "skrep-active-learner":
            return self.clf_.query(X, y, batch_size=k)
        from skrep.active import MarginSampler

        sampler = MarginSampler(
            batch_strategy=self.batch_strategy,
            candidate_factor=self.candidate_factor,
            random_state=0,
        )
        return sampler.query(X, y, self.clf_, batch_size=k)


def _pool(n_pool, n_labelled=1_000, n_features=20, n_classes=3):
    gen = rng(0)
    centres = gen.standard_normal((n_classes, n_features))
    n = n_labelled + n_pool
    y = gen.integers(n_classes, size=n)
    X = gen.standard_normal((n, n_features)) + centres[y]
    m = n_labelled
    return Data(X[:m], y[:m], X[m:], y[m:])


class MarginQueryBench(Predictor):
    """Time one query over a 1,000,000-row pool with 5,000 rows labelled.

    ``skrep``: ``MarginSampler().query(X, y, clf, batch_size=1000)`` with the
    labelled rows marked in ``y`` (it scores the pool with ``predict_proba``
    chunk by chunk and masks the labelled rows' scores);
    ``skrep-active-learner``: the same query through ``ActiveLearner.query``;
    ``sklearn-predict-proba``: the classifier's own ``predict_proba`` on the
    pool, the floor (target: skrep / floor <= 1.3); ``scikit-activeml``: its
    margin query with the same fitted classifier and labelled rows.
    """

    param_names = ["library", "n_pool"]
    params = (
        peers("sklearn-predict-proba", "skrep-active-learner", "scikit-activeml"),
        [1_000_000],
    )
    predict_method = "predict_proba"
    timeout = 600.0

    def make_data(self, p):
        return _pool(p["n_pool"])

    def make_estimator(self, p):
        if p["library"] == "sklearn-predict-proba":
            from sklearn.linear_model import LogisticRegression

            return LogisticRegression()
        if p["library"] == "scikit-activeml":
            import_or_skip("skactiveml.pool", "UncertaintySampling")
            return MarginQuery("scikit-activeml")
        import_or_skip("skrep.active", "MarginSampler")
        return MarginQuery(p["library"])

    def setup(self, fitted, *params):
        super().setup(fitted, *params)
        self.y_pool = _partial_labels(self.data.X_test.shape[0])

    def predict(self, estimator, X):
        if isinstance(estimator, MarginQuery):
            y = getattr(self, "y_pool", None)
            if y is None or y.shape[0] != X.shape[0]:  # the warm-up's rows
                y = _partial_labels(X.shape[0])
            return estimator.predict(X, y)
        return estimator.predict_proba(X)


class KCenterBatchBench(Predictor):
    """A k-center (farthest-first) batch of 1,000 from a 1,000,000-row pool.

    ``candidates``: ``"margin-filtered"`` runs farthest-first over the 10,000
    lowest-margin rows (the default), ``"whole-pool"`` over all 1,000,000
    rows (Sener & Savarese's k-center greedy). The pool is unlabelled; the
    time includes the classifier's ``predict_proba`` on it. No peer library
    runs k-center on a pool of this size.
    """

    param_names = ["library", "candidates"]
    params = (peers(), ["margin-filtered", "whole-pool"])
    timeout = 900.0

    def make_data(self, p):
        return _pool(1_000_000)

    def make_estimator(self, p):
        import_or_skip("skrep.active", "MarginSampler")
        factor = 10 if p["candidates"] == "margin-filtered" else None
        return MarginQuery("skrep", batch_strategy="kcenter", candidate_factor=factor)

    def predict(self, estimator, X):
        return estimator.predict(X)


class PivotalSamplingBench(Predictor):
    """Leverage-score sampling of k = 1,000 from 1,000,000 points of [-1, 1]^2.

    ``time_fit``: the leverage scores of a cubic polynomial basis (d = 10);
    ``time_predict``: one draw from a fresh copy of the fitted sampler -- for
    ``skrep`` (pivotal) that includes building the spatial tree, for
    ``bernoulli`` (independent leverage-score sampling) it is one pass.
    """

    param_names = ["library", "n_pool"]
    params = (peers("bernoulli"), [1_000_000])
    timeout = 600.0

    def make_data(self, p):
        X = rng(0).uniform(-1, 1, size=(p["n_pool"], 2))
        return Data(X, None)

    def make_estimator(self, p):
        from sklearn.preprocessing import PolynomialFeatures

        Sampler = import_or_skip("skrep.active", "LeverageScoreSampler")
        method = "bernoulli" if p["library"] == "bernoulli" else "pivotal"
        return Sampler(PolynomialFeatures(3), method=method, random_state=0)

    def predict(self, estimator, X):
        # a fresh copy: the pivotal tree is built anew each time
        k = min(BATCH, X.shape[0] // 2)
        scores = estimator.leverage_scores_[: X.shape[0]]
        return clone(estimator).query(X, batch_size=k, scores=scores)


class PivotalErrorBench(Scored):
    """Accuracy of leverage-score sampling: lower is better.

    ``track_score``: median relative error of the weighted least-squares fit
    of a smooth function on a 30 x 30 grid of [-1, 1]^2 by a degree-6
    polynomial (d = 28) from k = 42 samples, over 100 draws; ``skrep`` is
    pivotal sampling, ``bernoulli`` independent leverage-score sampling.
    """

    param_names = ["library"]
    params = (peers("bernoulli"),)
    warmup_n_samples = 0

    def make_data(self, p):
        g = np.linspace(-1, 1, 30)
        X = np.array(np.meshgrid(g, g)).reshape(2, -1).T
        y = np.exp(-(X[:, 0] ** 2) - 0.5 * X[:, 1]) * np.cos(2 * X[:, 0] + X[:, 1])
        return Data(X, y)

    def make_estimator(self, p):
        from sklearn.preprocessing import PolynomialFeatures

        Sampler = import_or_skip("skrep.active", "LeverageScoreSampler")
        method = "bernoulli" if p["library"] == "bernoulli" else "pivotal"
        return Sampler(PolynomialFeatures(6), method=method, random_state=0)

    def fit(self, estimator, data):
        return estimator.fit(data.X)

    def score(self, estimator, X, y):
        A = estimator.features.fit_transform(X)
        sampler = clone(estimator).set_params(random_state=np.random.RandomState(0))
        errors = []
        for _ in range(100):
            idx, p = sampler.query(X, batch_size=42, return_probabilities=True)
            w = 1 / np.sqrt(p)
            coef = np.linalg.lstsq(A[idx] * w[:, None], y[idx] * w, rcond=None)[0]
            errors.append(np.mean((A @ coef - y) ** 2) / np.mean(y**2))
        return float(np.median(errors))


class MarginLearningCurveBench(Scored):
    """Area under the learning curve on digits: higher is better.

    ``track_score``: mean test accuracy of a logistic regression over 20 to
    120 labels (``simulate``, 3 repeats, batches of 10); ``skrep`` queries by
    margin, ``random-sampling`` at random (the passive baseline).
    ``time_fit`` times the whole simulation.
    """

    param_names = ["library"]
    params = (peers("random-sampling"),)
    warmup_n_samples = 0

    def make_data(self, p):
        from sklearn.datasets import load_digits

        X, y = load_digits(return_X_y=True)
        return Data(X / 16.0, y)

    def make_estimator(self, p):
        Sampler = import_or_skip(
            "skrep.active",
            "RandomSampler" if p["library"] == "random-sampling" else "MarginSampler",
        )
        return SimulatedRun(Sampler())

    def score(self, estimator, X, y):
        return estimator.auc_


class SimulatedRun(BaseEstimator):
    """``fit`` runs :func:`skrep.active.simulate`; ``auc_`` is its area."""

    def __init__(self, strategy=None):
        self.strategy = strategy

    def fit(self, X, y):
        from sklearn.linear_model import LogisticRegression

        from skrep.active import simulate

        result = simulate(
            self.strategy,
            LogisticRegression(max_iter=500),
            X,
            y,
            initial=20,
            budget=100,
            batch_size=10,
            n_repeats=3,
            baseline=None,
            random_state=0,
        )
        self.auc_ = float(result.auc["auc"].mean())
        return self
