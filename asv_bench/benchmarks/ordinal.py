"""Benchmarks of ``skrep.ordinal`` against its peers.

Estimators (issue 8): ``ProportionalOdds``, ``PRESTO`` and ``PRESTOCV``.
Issue 8 compares ``ProportionalOdds`` with mord's ``LogisticAT`` (``alpha=0``,
maximum likelihood) and statsmodels' ``OrderedModel`` (``distr="logit"``,
``method="bfgs"``) on ordinal data with a rare last class: n = 200,000,
p = 50, K = 5. statsmodels takes minutes at this size, so it has its own
benchmark class run once (``number = repeat = 1``); the floor timed beside
mord is scikit-learn's ``LogisticRegression`` on the rare threshold alone
(rare class against the rest). The full PRESTO path (100 lambdas, down to
1e-2 lambda_max) is timed on the same data, and the whole 5-fold ``PRESTOCV``
(20 lambdas) on n = 100,000 (issue 8's target: within 10x one mord fit).

The data are ``make_rare_ordinal(n, 50, 5, rare_prob=0.01, sparsity=0.9)``:
with 50 features a denser truth (``sparsity=0.1``) leaves the first classes
empty, since the generator spaces the intercepts by the L1 norms of the
slope changes. ``track_score`` is the mean squared error of the estimated
probability of the rare class against the true one, on 20,000 test rows:
lower is better. mord (``pip install mord``) belongs to the ``bench`` extra;
its rows are skipped when it is not installed.

Measured once (2-core shared machine, ``OPENBLAS_NUM_THREADS=1``, the same
data and estimators timed with ``time.process_time`` in a script): skrep /
mord = 0.26-0.55 for ``ProportionalOdds`` (0.34-0.70 s against 1.28-1.31 s,
mean negative log-likelihood 0.7798340066 against mord's 0.7802054584);
skrep / statsmodels about 0.01 (0.9 s against 89 s CPU); the PRESTO path =
8.2 mord fits; the whole ``PRESTOCV`` at n = 100,000 = 8.9 mord fits.
Run: ``cd asv_bench && ../.venv/bin/asv run --environment existing --quick
--bench ordinal`` (statsmodels alone takes minutes).

Issue 21 adds ``LinkBench`` (every link of ``ProportionalOdds`` against
``OrderedModel`` with the same link, and mord's ``LogisticAT`` for logit,
the only link mord has) and ``StandardErrorBench`` (the unpenalised fit,
which computes the standard errors, against ``alpha=1e-12``, which does
not). Measured once without asv (the classes' data and estimators, best of
3 fits, statsmodels once; 2-core shared machine, one BLAS thread): skrep /
statsmodels = 0.021 (logit), 0.033 (probit), 0.038 (cloglog), 0.031
(loglog), 0.045 (cauchit); skrep / mord = 0.31 (logit); equal test
log-likelihoods except mord's (2e-5 lower). The standard errors cost under
a millisecond of a 2.2 s fit (cProfile of the fit; the two fits' wall times
differ only by the machine's noise, 1.1-3.4 s) and ``summary()`` 7 ms.

``PRESTOBoundaryBench`` times one PRESTO fit whose optimum lies where
training rows tie (its boundary solver) against cvxpy on the same problem.
"""

import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from .common import Data, Predictor, Scored, SkipBenchmark, import_or_skip, peers


class RareThresholdLogistic(ClassifierMixin, BaseEstimator):
    """The floor: a logistic regression of "rare (last) class" against the rest.

    ``predict_proba`` returns two columns, P(not rare) and P(rare), so that
    its last column is comparable with an ordinal model's last class.
    """

    def fit(self, X, y):
        from sklearn.linear_model import LogisticRegression

        self.classes_ = np.unique(y)
        self.logistic_ = LogisticRegression().fit(X, y == self.classes_[-1])
        return self

    def predict_proba(self, X):
        return self.logistic_.predict_proba(X)


class OrderedLogit(ClassifierMixin, BaseEstimator):
    """statsmodels' ``OrderedModel`` as an estimator (logit link by default).

    ``link`` is one of ProportionalOdds' links, mapped to statsmodels'
    ``distr`` (a scipy distribution for cloglog, loglog and cauchit).
    """

    def __init__(self, link="logit"):
        self.link = link

    def fit(self, X, y):
        OrderedModel = import_or_skip(
            "statsmodels.miscmodels.ordinal_model", "OrderedModel"
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.res_ = OrderedModel(y, X, distr=_statsmodels_distr(self.link)).fit(
                method="bfgs", disp=0, maxiter=1000
            )
        return self

    def predict_proba(self, X):
        return np.asarray(self.res_.predict(X))


def _rare_data(n, n_test, n_features, n_classes):
    from skrep.datasets import make_rare_ordinal

    X, y, proba = make_rare_ordinal(
        n + n_test, n_features, n_classes, 0.01, 0.9, random_state=0
    )
    return Data(X[:n], y[:n], X[n:], y[n:]), proba[n:, -1]


class RareOrdinalBench(Predictor, Scored):
    """Fit on 200,000 rows; score = MSE of P(rare class) (lower is better)."""

    param_names = ["library", "n_samples"]
    params = (peers("mord", "sklearn-logistic"), [200_000])
    predict_method = "predict_proba"
    n_features = 50
    n_classes = 5
    n_test = 20_000

    def make_data(self, p):
        data, self.rare_proba = _rare_data(
            p["n_samples"], self.n_test, self.n_features, self.n_classes
        )
        return data

    def make_estimator(self, p):
        if p["library"] == "sklearn-logistic":
            return RareThresholdLogistic()
        if p["library"] == "mord":
            return import_or_skip("mord", "LogisticAT")(alpha=0.0)
        return import_or_skip("skrep.ordinal", "ProportionalOdds")()

    def score(self, estimator, X, y):
        rare = self.predict(estimator, X)[:, -1]
        return float(np.mean((rare - self.rare_proba) ** 2))


class OrderedModelBench(RareOrdinalBench):
    """statsmodels' OrderedModel beside ProportionalOdds, timed once each."""

    params = (peers("statsmodels"), [200_000])
    number = 1
    repeat = 1
    warmup_time = 0
    timeout = 900.0

    def make_estimator(self, p):
        if p["library"] == "statsmodels":
            import_or_skip("statsmodels")
            return OrderedLogit()
        return import_or_skip("skrep.ordinal", "ProportionalOdds")()


class PRESTOPathBench(RareOrdinalBench):
    """The PRESTO path of 100 lambdas down to 1e-2 lambda_max, 200,000 rows.

    The peer is the proportional-odds fit of mord on the same data: the ratio
    says how many mord fits the whole path costs.
    """

    params = (peers("mord"), [200_000])
    n_lambdas = 100
    warmup_n_samples = 5_000  # enough rows of the rare class to fit it

    def make_estimator(self, p):
        if p["library"] == "mord":
            return import_or_skip("mord", "LogisticAT")(alpha=0.0)
        PRESTO = import_or_skip("skrep.ordinal", "PRESTO")
        data = self.make_data(p)
        lmax = PRESTO(lam=1e9).fit(data.X[:20_000], data.y[:20_000]).lambda_max_
        return PRESTO(lam=1e-2 * lmax, n_lambdas=self.n_lambdas)


class PRESTOCVBench(RareOrdinalBench):
    """The whole 5-fold PRESTOCV (20 lambdas, then the refit), 100,000 rows.

    Issue 8's target: within 10x the time of one mord fit (the peer here).
    """

    params = (peers("mord"), [100_000])
    warmup_n_samples = 5_000  # every CV fold needs rows of the rare class

    def make_estimator(self, p):
        if p["library"] == "mord":
            return import_or_skip("mord", "LogisticAT")(alpha=0.0)
        return import_or_skip("skrep.ordinal", "PRESTOCV")(n_lambdas=20, cv=5)


def _statsmodels_distr(link):
    from scipy import stats

    class CLogLog(stats.rv_continuous):
        # 1 - exp(-exp(x)); scipy's gumbel_l, written as statsmodels' tests do
        def _cdf(self, x):
            return -np.expm1(-np.exp(x))

        def _ppf(self, q):
            return np.log(-np.log1p(-q))

    return {
        "logit": "logit",
        "probit": "probit",
        "cloglog": CLogLog(),
        "loglog": stats.gumbel_r,
        "cauchit": stats.cauchy,
    }[link]


def _link_data(n, n_test, link):
    """Four classes, ten features, drawn from the proportional-odds model of
    ``link`` itself (latent ``x @ beta`` plus the link's error)."""
    from skrep.ordinal._links import get_link

    rng = np.random.default_rng(0)
    X = rng.normal(size=(n + n_test, 10))
    eta = np.array([-1.0, 0.0, 1.0]) - (X @ np.linspace(-0.5, 0.5, 10))[:, None]
    cum = get_link(link).cdf(eta)
    y = (rng.uniform(size=(len(X), 1)) > cum).sum(axis=1)
    return Data(X[:n], y[:n], X[n:], y[n:])


class LinkBench(Predictor, Scored):
    """``ProportionalOdds(link=...)`` against statsmodels' ``OrderedModel``
    with the same link, and mord's ``LogisticAT`` for the logit link (mord
    has no other link), on 20,000 rows from that link's model (p = 10,
    K = 4). Score: mean log-likelihood on 20,000 test rows (higher is
    better; the same optimum gives the same score)."""

    param_names = ["library", "link"]
    params = (
        peers("statsmodels", "mord"),
        ["logit", "probit", "cloglog", "loglog", "cauchit"],
    )
    predict_method = "predict_proba"
    n_samples = 20_000
    timeout = 600.0

    def make_data(self, p):
        return _link_data(self.n_samples, 20_000, p["link"])

    def make_estimator(self, p):
        if p["library"] == "statsmodels":
            import_or_skip("statsmodels")
            return OrderedLogit(link=p["link"])
        if p["library"] == "mord":
            if p["link"] != "logit":
                raise SkipBenchmark(f"mord has no {p['link']} link")
            return import_or_skip("mord", "LogisticAT")(alpha=0.0)
        return import_or_skip("skrep.ordinal", "ProportionalOdds")(link=p["link"])

    def score(self, estimator, X, y):
        proba = self.predict(estimator, X)
        return float(np.mean(np.log(proba[np.arange(len(y)), y])))


class StandardErrorBench(Predictor):
    """The cost of the standard errors: the unpenalised fit (``alpha=0``,
    which inverts the observed information and checks for separation)
    against the same fit with ``alpha=1e-12`` (no standard errors, the same
    Newton path), 200,000 rows, p = 50, K = 5; ``summary()`` timed apart."""

    param_names = ["library", "n_samples"]
    params = (peers("no-standard-errors"), [200_000])
    predict_method = "predict_proba"

    def make_data(self, p):
        data, _ = _rare_data(p["n_samples"], 1000, 50, 5)
        return data

    def make_estimator(self, p):
        ProportionalOdds = import_or_skip("skrep.ordinal", "ProportionalOdds")
        if p["library"] == "no-standard-errors":
            return ProportionalOdds(alpha=1e-12)
        return ProportionalOdds()

    def time_summary(self, *args):
        if self.estimator.alpha == 0:
            self.estimator.summary()


class CvxpyPRESTO(BaseEstimator):
    """PRESTO's problem at one ``lam`` (``w1 = 1``) solved by cvxpy with
    Clarabel: the mean loss plus the fused penalty on standardised features,
    subject to every training row's cumulative predictors being ordered."""

    def __init__(self, lam=1e-3):
        self.lam = lam

    def fit(self, X, y):
        cp = import_or_skip("cvxpy")
        Xs = (X - X.mean(axis=0)) / X.std(axis=0)
        n, p = Xs.shape
        K = int(y.max()) + 1
        psi = cp.Variable((K - 1, p))
        alpha = cp.Variable((1, K - 1))
        eta = Xs @ cp.cumsum(psi, axis=0).T + np.ones((n, 1)) @ alpha
        loss = cp.sum(cp.logistic(-eta[y == 0, 0])) + cp.sum(
            cp.logistic(eta[y == K - 1, K - 2])
        )
        for c in range(1, K - 1):
            a, b = eta[y == c, c - 1], eta[y == c, c]
            loss += cp.sum(-cp.log(1 - cp.exp(a - b)) + cp.logistic(-b))
            loss += cp.sum(cp.logistic(a))
        problem = cp.Problem(
            cp.Minimize(loss / n + self.lam * cp.sum(cp.abs(psi))),
            [eta[:, k] >= eta[:, k - 1] for k in range(1, K - 1)],
        )
        self.objective_ = problem.solve(solver="CLARABEL")
        return self


class PRESTOBoundaryBench(Scored):
    """One ``PRESTO`` fit (``lam=1e-3``, ``n_lambdas=1``) whose optimum lies
    where training rows' cumulative predictors tie, against cvxpy (Clarabel)
    on the same problem. Random labels on features of scales 0.1-10 (the
    case ``"n x p x K"``): rows tie at the optimum. Score: the objective
    (lower is better; PRESTO's is cvxpy's at tolerance 1e-11 to 1e-12
    relative, cvxpy's at its default tolerances 1e-10 to 3e-9 above).

    Measured once without asv (2-core shared machine, one thread,
    ``time.process_time``, the classes' data and estimators): skrep / cvxpy
    = 0.66 / 0.99 s (500 x 40 x 6) and 1.77 / 2.37 s (200 x 100 x 5).
    """

    param_names = ["library", "case"]
    params = (peers("cvxpy"), ["500x40x6", "200x100x5"])
    warmup_n_samples = 60

    def make_data(self, p):
        n, n_features, K = map(int, p["case"].split("x"))
        generator = np.random.default_rng(n)
        X = generator.normal(size=(n, n_features))
        X *= generator.uniform(0.1, 10, n_features)
        return Data(X, generator.integers(0, K, n))

    def make_estimator(self, p):
        if p["library"] == "cvxpy":
            import_or_skip("cvxpy")
            return CvxpyPRESTO(lam=1e-3)
        return import_or_skip("skrep.ordinal", "PRESTO")(lam=1e-3, n_lambdas=1)

    def score(self, estimator, X, y):
        return float(estimator.objective_)
