"""skrep.ordinal in ordinary scikit-learn workflows (issue 19): shuffled CV
folds, label order, sample weights, separable data, CV error messages."""

import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import expit
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score
from sklearn.utils.estimator_checks import (
    check_sample_weight_equivalence_on_dense_data,
)

from skrep.ordinal import PRESTO, PRESTOCV, ProportionalOdds


def _data(n=300, p=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    beta = np.array([1.0, -0.7, 0.4, 0.2, -0.1])[:p]
    cum = expit(np.array([-1.0, 0.3, 1.5]) - (X @ beta)[:, None])
    return X, (rng.uniform(size=(n, 1)) > cum).sum(axis=1)


def test_presto_cv_shuffles_its_default_folds_with_random_state():
    X, y = _data()
    kwargs = {"n_lambdas": 4, "tol": 1e-10}
    model = PRESTOCV(cv=3, random_state=0, **kwargs).fit(X, y)
    splitter = StratifiedKFold(3, shuffle=True, random_state=0)
    explicit = PRESTOCV(cv=splitter, **kwargs).fit(X, y)
    assert_allclose(model.cv_scores_, explicit.cv_scores_, rtol=1e-10)
    unshuffled = PRESTOCV(cv=StratifiedKFold(3), **kwargs).fit(X, y)
    assert not np.allclose(model.cv_scores_, unshuffled.cv_scores_)
    again = PRESTOCV(cv=3, random_state=0, **kwargs).fit(X, y)
    assert_array_equal(again.cv_scores_, model.cv_scores_)


@pytest.mark.parametrize("Estimator", [ProportionalOdds, PRESTO])
def test_unordered_string_labels_warn_and_orders_are_honoured(Estimator):
    X, codes = _data()
    names = np.array(["low", "medium", "high", "top"])
    with pytest.warns(UserWarning, match="alphabetical"):
        alphabetical = Estimator().fit(X, names[codes])
    assert_array_equal(alphabetical.classes_, np.sort(names))
    unordered = pd.Series(pd.Categorical(names[codes], categories=names))
    with pytest.warns(UserWarning, match="alphabetical|not ordered"):
        Estimator().fit(X, unordered)
    reference = Estimator().fit(X, codes)
    ordered = pd.Series(pd.Categorical(names[codes], categories=names, ordered=True))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fits = [
            Estimator().fit(X, ordered),
            Estimator(classes=names).fit(X, names[codes]),
        ]
    for model in fits:
        assert_array_equal(model.classes_, names)
        assert_allclose(model.predict_proba(X), reference.predict_proba(X), atol=1e-8)
    # The order survives scikit-learn's cross-validation splits.
    assert_allclose(
        cross_val_score(Estimator(), X, ordered, cv=3),
        cross_val_score(Estimator(), X, codes, cv=3),
    )


def _duplicated(X, y, weights):
    return np.repeat(X, weights, axis=0), np.repeat(y, weights)


@pytest.mark.parametrize(
    "estimator",
    [ProportionalOdds(tol=1e-14), PRESTO(lam=0.01, n_lambdas=5, tol=1e-12)],
    ids=["ProportionalOdds", "PRESTO"],
)
def test_sample_weight_equals_row_duplication(estimator):
    X, y = _data(n=150)
    weights = np.random.default_rng(1).integers(0, 4, size=len(y))
    weighted = estimator.fit(X, y, sample_weight=weights)
    coef, intercept = weighted.coef_.copy(), weighted.intercept_.copy()
    repeated = estimator.fit(*_duplicated(X, y, weights))
    assert_allclose(coef, repeated.coef_, rtol=1e-6, atol=1e-8)
    assert_allclose(intercept, repeated.intercept_, rtol=1e-6, atol=1e-8)
    unit = estimator.fit(X, y, sample_weight=np.full(len(y), 1.0)).coef_.copy()
    assert_allclose(unit, estimator.fit(X, y).coef_, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    "weights, message",
    [
        (-np.ones(150), "Negative values in data passed to `sample_weight`"),
        (np.zeros(150), "at least one non-zero"),
        (np.ones(149), "sample_weight.shape"),
        (np.r_[np.nan, np.ones(149)], "sample_weight"),
        (np.ones((150, 1)), "1D array"),
    ],
    ids=["negative", "all_zero", "length", "nan", "2d"],
)
def test_bad_sample_weight_is_refused_by_name(weights, message):
    # scikit-learn's own validation, with non-negative weights required.
    X, y = _data(n=150)
    with pytest.raises(ValueError, match=message):
        ProportionalOdds().fit(X, y, sample_weight=weights)


def test_scalar_sample_weight_is_every_row_weighted_alike():
    X, y = _data(n=150)
    scalar = PRESTO(lam=0.01, n_lambdas=3).fit(X, y, sample_weight=2.0)
    assert_array_equal(scalar.coef_, PRESTO(lam=0.01, n_lambdas=3).fit(X, y).coef_)


def test_presto_cv_sample_weight_equals_row_duplication():
    X, y = _data(n=150)
    weights = np.random.default_rng(2).integers(1, 4, size=len(y))
    X_rep, y_rep = _duplicated(X, y, weights)
    owner = np.repeat(np.arange(len(y)), weights)
    folds = list(KFold(3, shuffle=True, random_state=0).split(X))
    # The same folds of original rows: each row's copies stay together.
    folds_rep = [
        (np.flatnonzero(np.isin(owner, tr)), np.flatnonzero(np.isin(owner, te)))
        for tr, te in folds
    ]
    kwargs = {"n_lambdas": 4, "tol": 1e-12}
    weighted = PRESTOCV(cv=folds, **kwargs).fit(X, y, sample_weight=weights)
    repeated = PRESTOCV(cv=folds_rep, **kwargs).fit(X_rep, y_rep)
    assert_allclose(weighted.lambdas_, repeated.lambdas_, rtol=1e-8)
    assert_allclose(weighted.cv_scores_, repeated.cv_scores_, rtol=1e-6)
    assert weighted.lambda_ == repeated.lambda_
    assert_allclose(weighted.coef_, repeated.coef_, rtol=1e-6, atol=1e-8)


def test_separable_data_warns_that_the_mle_does_not_exist():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2))
    y = np.digitize(X[:, 0], [-0.5, 0.5])  # the first feature orders y exactly
    with pytest.warns(UserWarning, match="separat"):
        model = ProportionalOdds().fit(X, y)
    table = model.summary()
    assert np.isinf(table.loc["x0", "std err"])
    # Overlapping classes: no warning.
    X_overlap, y_overlap = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ProportionalOdds().fit(X_overlap, y_overlap)


@pytest.mark.parametrize("cv", [5, StratifiedKFold(5, shuffle=True, random_state=0)])
def test_presto_cv_names_the_too_rare_class_under_a_stratified_splitter(cv):
    X, y = _data()
    y = y.copy()
    y[0] = 4  # a class with a single row
    with pytest.raises(ValueError, match=r"class 4 has only 1 row") as error:
        PRESTOCV(n_lambdas=3, cv=cv).fit(X, y)
    assert "stratified splitter" not in str(error.value)
    # A plain KFold that drops a common class from a training part is told
    # to stratify.
    order = np.argsort(y, kind="stable")
    with pytest.raises(ValueError, match="stratified splitter"):
        PRESTOCV(n_lambdas=3, cv=KFold(5)).fit(X[order][:-1], y[order][:-1])


@pytest.mark.parametrize(
    "estimator",
    [
        pytest.param(PRESTO(lam=0.05, n_lambdas=5), id="PRESTO-0.05"),
        pytest.param(PRESTO(lam=0.1, n_lambdas=5), id="PRESTO-0.1"),
        pytest.param(PRESTO(lam=0.2, n_lambdas=5), id="PRESTO-0.2"),
        pytest.param(PRESTOCV(n_lambdas=4, lambda_min_ratio=0.2), id="PRESTOCV"),
    ],
)
def test_sklearn_weight_equivalence_check_at_larger_penalties(estimator):
    # tests/test_common.py runs the check at INIT_PARAMS' small penalty; here
    # at larger ones, where fewer rows tie on the monotone boundary.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        check_sample_weight_equivalence_on_dense_data(
            type(estimator).__name__, estimator
        )
