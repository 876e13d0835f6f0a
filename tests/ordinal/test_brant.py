"""The Brant test of proportional odds (Brant 1990): size, power, the
likelihood-ratio test it approximates, and bad input."""

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy.special import expit
from scipy.stats import chi2

from skrep.ordinal import PRESTO, ProportionalOdds, brant_test


def _simulate(seed, n=400, delta=0.0, link_cdf=expit):
    """Four classes, two features; the first feature's slope changes by
    ``delta`` at the last cut-point (``delta=0``: proportional odds)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    slopes = np.tile([-0.8, 0.5], (3, 1))
    slopes[2, 0] += delta
    cum = np.maximum.accumulate(link_cdf(np.array([-1.0, 0.0, 1.0]) + X @ slopes.T), 1)
    return X, (rng.uniform(size=(n, 1)) > cum).sum(axis=1)


def _likelihood_ratio(X, y):
    """LR statistic of proportional odds against the non-parallel model."""
    parallel = ProportionalOdds().fit(X, y)
    free = PRESTO(lam=0.0).fit(X, y)
    return 2 * len(y) * (parallel.objective_ - free.objective_)


def test_size_power_and_agreement_with_the_likelihood_ratio_test():
    # Size: under proportional odds, 200 seeds, nominal 5% (binomial sd 1.5%).
    null = [_simulate(seed) for seed in range(200)]
    results = [brant_test(ProportionalOdds().fit(X, y), X, y) for X, y in null]
    p_values = np.array([r.p_value for r in results])
    assert 0.02 <= np.mean(p_values < 0.05) <= 0.09
    statistics = np.array([r.statistic for r in results])
    assert abs(statistics.mean() - 4) < 0.5  # chi-squared, 4 degrees of freedom
    assert all(r.df == 4 for r in results)
    # Power against one slope that changes at one cut-point, 50 seeds.
    alternative = [_simulate(seed, delta=0.6) for seed in range(1000, 1050)]
    power = [brant_test(ProportionalOdds().fit(X, y), X, y) for X, y in alternative]
    assert np.mean([r.p_value < 0.05 for r in power]) >= 0.85
    # The changing feature is the one the per-feature tests flag.
    flagged = [r.per_feature["p_value"].to_numpy() for r in power]
    assert np.mean([f[0] < 0.05 for f in flagged]) >= 0.85
    assert np.mean([f[1] < 0.05 for f in flagged]) <= 0.15
    # The likelihood-ratio test of the same hypothesis: close statistics,
    # the same decisions on most data sets (first 40 of each).
    for data, brant in ((null, results), (alternative, power)):
        lr = np.array([_likelihood_ratio(X, y) for X, y in data[:40]])
        wald = np.array([r.statistic for r in brant[:40]])
        assert np.corrcoef(lr, wald)[0, 1] > 0.85
        agree = (chi2.sf(lr, 4) < 0.05) == (chi2.sf(wald, 4) < 0.05)
        assert np.mean(agree) >= 0.9


@pytest.mark.parametrize("link", ["probit", "cloglog"])
def test_other_links_keep_the_size(link):
    from skrep.ordinal._links import get_link

    cdf = get_link(link).cdf
    p_values = []
    for seed in range(100):
        X, y = _simulate(seed, link_cdf=cdf)
        p_values.append(brant_test(ProportionalOdds(link=link).fit(X, y), X, y).p_value)
    assert 0.01 <= np.mean(np.array(p_values) < 0.05) <= 0.11


def test_invariant_to_feature_scale_and_reports_names():
    X, y = _simulate(7, delta=0.4)
    base = brant_test(ProportionalOdds().fit(X, y), X, y)
    frame = pd.DataFrame(
        np.column_stack([X * [1e3, 1e-3] + [4.0, -9.0], np.ones(len(y))]),
        columns=["dose", "age", "const"],
    )
    scaled = brant_test(ProportionalOdds().fit(frame, y), frame, y)
    assert_allclose(scaled.statistic, base.statistic, rtol=1e-5)
    assert list(scaled.per_feature.index) == ["dose", "age", "const"]
    assert_allclose(
        scaled.per_feature["statistic"].iloc[:2],
        base.per_feature["statistic"],
        rtol=1e-5,
    )
    assert np.isnan(scaled.per_feature.loc["const", "p_value"])
    # The separate fits' slopes, in coef_'s convention.
    assert scaled.coef.shape == (3, 3)
    # Extreme scales: a feature at 1e-191 still varies (it was taken for a
    # constant: NaN p-value), and 1e150 does not overflow.
    for scale in (1e-191, 1e150):
        Xs = X * scale
        result = brant_test(ProportionalOdds().fit(Xs, y), Xs, y)
        assert_allclose(result.statistic, base.statistic, rtol=1e-6)


def test_bad_input_errors():
    X, y = _simulate(0)
    model = ProportionalOdds().fit(X, y)
    with pytest.raises(ValueError, match="not fitted on this X and y"):
        brant_test(model, X[:-10], y[:-10])
    with pytest.raises(ValueError, match="not fitted on this X and y"):
        brant_test(model, X + 0.1, y)
    with pytest.raises(ValueError, match="features"):
        brant_test(model, X[:, :1], y)
    with pytest.raises(ValueError, match="rows"):
        brant_test(model, X, y[:-1])
    with pytest.raises(ValueError, match=r"classes \[3\].*no row"):
        brant_test(model, X[y < 3], y[y < 3])
    with pytest.raises(ValueError, match="not in classes"):
        brant_test(model, X, np.where(y == 3, 7, y))
    with pytest.raises(ValueError, match="alpha=0"):
        brant_test(ProportionalOdds(alpha=0.1).fit(X, y), X, y)
    with pytest.raises(ValueError, match="at least 3 classes"):
        brant_test(ProportionalOdds().fit(X, y > 1), X, y > 1)
    with pytest.raises(TypeError, match="ProportionalOdds"):
        brant_test(PRESTO().fit(X, y), X, y)
    with pytest.raises(ValueError, match="sample_weight"):
        weights = np.random.default_rng(0).uniform(0.5, 2.0, size=len(y))
        brant_test(ProportionalOdds().fit(X, y, sample_weight=weights), X, y)
    constant = np.ones((len(y), 1))
    with pytest.raises(ValueError, match="No feature of X varies"):
        brant_test(ProportionalOdds().fit(constant, y), constant, y)


def test_a_row_the_fit_deems_near_impossible_is_its_training_data():
    # One top-class row far out on the low side: its lower cumulative
    # probability F(a) rounds to 1, so log(1 - F(a)) is -inf, while the fit's
    # tail-accurate loss (log S(a)) is finite. The check that X and y are
    # the fit's training data must compute the loss the same way, not refuse.
    # (The logit link: with lighter tails the fit pulls such a row closer.)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 2))
    y = np.digitize(X @ [2.0, -1.0] + rng.logistic(size=400), [-1.0, 0.0, 1.0])
    X = np.vstack([X, [-40.0, 0.0]])
    y = np.append(y, 3)
    model = ProportionalOdds().fit(X, y)
    a = model.intercept_[-1] + X[-1] @ model.coef_[-1]
    assert expit(a) == 1.0  # the naive loss would be infinite
    result = brant_test(model, X, y)
    assert np.isfinite(result.statistic) and 0 <= result.p_value <= 1
    with pytest.raises(ValueError, match="not fitted on this X and y"):
        brant_test(model, X[:-1], y[:-1])


def test_statistic_is_non_negative_and_rejects_when_slopes_differ_strongly():
    # The separate fits' curves cross when the slopes differ a lot; the
    # covariance used to lose positive definiteness there (wine: -195.9,
    # p = 1 while every feature was significant).
    from sklearn.datasets import load_wine

    X, y = load_wine(return_X_y=True)
    X = X[:, :5]
    result = brant_test(ProportionalOdds().fit(X, y), X, y)
    assert result.statistic >= 0
    assert result.p_value < 1e-3
    assert (result.per_feature["statistic"] >= 0).all()
