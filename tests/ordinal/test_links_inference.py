"""ProportionalOdds' links and inference (issue 21) against R's MASS::polr
(results stored by statsmodels for its own tests) and statsmodels'
OrderedModel."""

import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy import stats
from sklearn.exceptions import NotFittedError

from skrep.ordinal import PerfectSeparationWarning, ProportionalOdds
from skrep.ordinal._links import LINKS, get_link

R = pytest.importorskip("statsmodels.miscmodels.tests.results.results_ordinal_model")
OrderedModel = pytest.importorskip("statsmodels.miscmodels.ordinal_model").OrderedModel
UCLA = R.data_store.df
FEATURES = ["pared", "public", "gpa"]


class _CLogLog(stats.rv_continuous):
    # statsmodels' own test defines the cloglog distribution this way.
    def _ppf(self, q):
        return np.log(-np.log1p(-q))

    def _cdf(self, x):
        return -np.expm1(-np.exp(x))


def _statsmodels_distr(link):
    return {
        "logit": "logit",
        "probit": "probit",
        "cloglog": _CLogLog(),
        "loglog": stats.gumbel_r,
        "cauchit": stats.cauchy,
    }[link]


@pytest.mark.parametrize(
    "link, res",
    [
        ("logit", R.res_ord_logit),
        ("probit", R.res_ord_probit),
        ("cloglog", R.res_ord_cloglog),
    ],
)
def test_agrees_with_r_polr_on_ucla(link, res):
    model = ProportionalOdds(link=link).fit(UCLA[FEATURES], UCLA["apply"])
    table = model.summary()
    slopes = table.iloc[:3]
    # statsmodels' own tolerances against the same R results; polr reports
    # -coef_ (its F(zeta_k - x @ b)).
    assert_allclose(-slopes["coef"], res.coefficients_val, atol=2e-4)
    assert_allclose(slopes["std err"], res.coefficients_stdE, rtol=3e-3, atol=1e-5)
    assert_allclose(-slopes["z"], res.coefficients_tval, rtol=3e-3, atol=7e-4)
    assert_allclose(slopes["P>|z|"], res.coefficients_pval, rtol=9e-3, atol=1e-5)
    # R's logit optimum is itself 6e-4 from the maximum (statsmodels'
    # Newton fit lands where we do); its BFGS stops near R's point.
    assert_allclose(model.intercept_, res.thresholds, atol=7e-4)
    assert_allclose(model.predict_proba(UCLA[FEATURES])[:7], res.prob_pred, atol=5e-5)
    assert list(table.index) == FEATURES + [
        "unlikely/somewhat likely",
        "somewhat likely/very likely",
    ]


@pytest.mark.parametrize("link", LINKS)
def test_agrees_with_ordered_model_for_every_link(link):
    X = UCLA[FEATURES].to_numpy(float)
    y = UCLA["apply"].cat.codes.to_numpy()
    model = ProportionalOdds(link=link, tol=1e-14).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = OrderedModel(y, X, distr=_statsmodels_distr(link)).fit(
            method="bfgs", disp=0, maxiter=10000, gtol=1e-9
        )
    # At least as good an optimum, and the same point.
    assert -model.objective_ * len(y) >= res.llf - 1e-8
    assert_allclose(model.objective_, -res.llf / len(y), rtol=1e-8)
    assert_allclose(model.coef_[0], -res.params[:3], atol=5e-7)
    thresholds = res.model.transform_threshold_params(res.params)[1:-1]
    assert_allclose(model.intercept_, thresholds, atol=5e-7)
    assert_allclose(model.predict_proba(X), res.predict(), atol=2e-7)
    # Standard errors: slopes directly; thresholds through the delta method
    # of statsmodels' (theta_1, log increments) parametrisation.
    table = model.summary()
    # (statsmodels' errors come from a numerical Hessian.)
    assert_allclose(table["std err"].iloc[:3], res.bse[:3], rtol=2e-5)
    increments = np.exp(res.params[4:])
    jac = np.tril(np.ones((2, 2)))
    jac[:, 1:] *= increments
    cov_thresholds = jac @ res.cov_params()[3:, 3:] @ jac.T
    assert_allclose(
        table["std err"].iloc[3:], np.sqrt(np.diag(cov_thresholds)), rtol=2e-5
    )


@pytest.mark.parametrize("link", LINKS)
def test_link_derivatives_and_probabilities(link):
    F = get_link(link)
    x = np.linspace(-30, 30, 601)
    # f, q = f'/f against finite differences; log F and log S in the tails.
    h = 1e-5
    mid = np.abs(x) < 8
    assert_allclose(
        (F.cdf(x[mid] + h) - F.cdf(x[mid] - h)) / (2 * h),
        F.pdf(x[mid]),
        rtol=1e-6,
        atol=1e-10,
    )
    assert_allclose(
        (F.logpdf(x[mid] + h) - F.logpdf(x[mid] - h)) / (2 * h),
        F.q(x[mid]),
        rtol=1e-5,
        atol=1e-8,
    )
    assert_allclose(np.exp(F.logcdf(x)) + np.exp(F.logsf(x)), 1.0, rtol=1e-12)
    assert_allclose(
        F.cdf(F.ppf(np.array([1e-6, 0.3, 0.5, 0.9]))), [1e-6, 0.3, 0.5, 0.9]
    )
    # Probabilities of every class, monotone in the thresholds, on wide data.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 3)) * [1.0, 3.0, 10.0]
    y = np.digitize(X @ [1.0, -0.3, 0.05] + rng.logistic(size=400), [-1, 0.5, 2])
    model = ProportionalOdds(link=link).fit(X, y)
    proba = model.predict_proba(100 * X)
    assert np.all(proba >= 0)
    assert_allclose(proba.sum(axis=1), 1.0)
    assert np.all(np.diff(model.intercept_) > 0)


def test_standard_errors_on_the_original_scale_and_weights():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(500, 2))
    y = np.digitize(X @ [1.0, -0.5] + rng.logistic(size=500), [-1.0, 1.0])
    base = ProportionalOdds().fit(X, y).summary()
    scaled = ProportionalOdds().fit(X * [1e3, 1e-3] + [5.0, -2.0], y).summary()
    # Rescaled features: slopes and their errors rescale, z is unchanged.
    assert_allclose(scaled["std err"].iloc[:2] * [1e3, 1e-3], base["std err"].iloc[:2])
    assert_allclose(scaled["z"].iloc[:2], base["z"].iloc[:2], rtol=1e-6)
    # Frequency weights: weight 2 everywhere halves the variance.
    doubled = ProportionalOdds().fit(X, y, sample_weight=np.full(500, 2.0)).summary()
    assert_allclose(doubled["std err"], base["std err"] / np.sqrt(2), rtol=1e-8)
    # Data frame names, other levels, a constant feature without an error.
    frame = pd.DataFrame(np.column_stack([X, np.ones(500)]), columns=["a", "b", "c"])
    table = ProportionalOdds().fit(frame, y).summary(level=0.9)
    assert list(table.columns) == ["coef", "std err", "z", "P>|z|", "[0.050", "0.950]"]
    assert list(table.index[:3]) == ["a", "b", "c"] and np.isnan(
        table.loc["c", "std err"]
    )
    half = 1.6448536269514722 * table["std err"].iloc[:2]
    assert_allclose(table["0.950]"].iloc[:2] - table["coef"].iloc[:2], half)


def test_wald_intervals_cover_at_the_nominal_rate():
    # The standard errors are right: 95% intervals cover the true slope in
    # about 95% of 200 simulated data sets (binomial sd 1.5%).
    beta = np.array([0.8, -0.4])
    covered = []
    for seed in range(200):
        rng = np.random.default_rng(seed)
        X = rng.normal(size=(200, 2))
        y = np.digitize(X @ beta + rng.logistic(size=200), [-1.0, 0.0, 1.5])
        table = ProportionalOdds().fit(X, y).summary()
        # Ours: P(y <= k) = F(alpha_k + x @ coef): coef = -beta.
        covered.append(
            (table["[0.025"].iloc[:2] <= -beta) & (-beta <= table["0.975]"].iloc[:2])
        )
    rate = np.mean(covered)
    assert 0.92 <= rate <= 0.98, rate


def test_bad_input_errors_for_links_and_summary():
    X = UCLA[FEATURES]
    y = UCLA["apply"]
    with pytest.raises(ValueError, match="link"):
        ProportionalOdds(link="logistic").fit(X, y)
    with pytest.raises(NotFittedError):
        ProportionalOdds().summary()
    with pytest.raises(ValueError, match="alpha=0"):
        ProportionalOdds(alpha=1.0).fit(X, y).summary()
    with pytest.raises(ValueError, match="level"):
        ProportionalOdds().fit(X, y).summary(level=95)
    with pytest.raises(ValueError, match="sample_weight"):
        ProportionalOdds().fit(X, y, sample_weight=-np.ones(len(y)))
    with pytest.raises(ValueError, match="zero total sample_weight"):
        ProportionalOdds().fit(X, y, sample_weight=(y.cat.codes != 2).to_numpy(float))


@pytest.mark.parametrize("link", ["logit", "probit", "cloglog"])
def test_quasi_separation_names_the_diverging_parameter(link):
    # A binary feature present only in the lowest class: its slope alone
    # diverges; the other estimates and their errors stay finite.
    rng = np.random.default_rng(5)
    X = rng.normal(size=(300, 3))
    X[:, 2] = rng.uniform(size=300) < 0.2
    y = np.digitize(X[:, :2] @ [1.0, -0.5] + rng.logistic(size=300), [-0.5, 0.5])
    y[X[:, 2] == 1] = 0
    with pytest.warns(PerfectSeparationWarning, match=r"\['x2'\]"):
        table = ProportionalOdds(link=link).fit(X, y).summary()
    assert np.isinf(table.loc["x2", "std err"])
    assert table.loc["x2", "P>|z|"] == 1.0
    assert np.isinf(table.loc["x2", "0.975]"]) or np.isinf(table.loc["x2", "[0.025"])
    finite = table.drop(index="x2")
    assert np.all(np.isfinite(finite["std err"])) and np.all(finite["std err"] < 1)
