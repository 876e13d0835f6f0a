"""Tests of ProportionalOdds and of what it shares with PRESTO (labels, errors)."""

import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import expit
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import check_classifiers_train

from skrep.ordinal import PRESTO, PRESTOCV, ProportionalOdds


def _ordinal_data(n=400, p=4, cuts=(-1.0, 0.5, 2.0), seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) * (1.0 + np.arange(p)) + np.arange(p)
    beta = rng.normal(size=p) / (1.0 + np.arange(p))
    latent = X @ beta + rng.logistic(size=n)
    return X, np.digitize(latent, np.asarray(cuts) + np.mean(X @ beta))


def _mean_nll(model, X, y_codes):
    proba = model.predict_proba(X)
    return -np.mean(np.log(proba[np.arange(len(y_codes)), y_codes]))


def test_matches_statsmodels_ordered_model():
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    X, y = _ordinal_data()
    model = ProportionalOdds(tol=1e-14).fit(X, y)
    assert_allclose(model.coef_, np.tile(model.coef_[0], (3, 1)))
    assert np.all(np.diff(model.intercept_) > 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = OrderedModel(y, X, distr="logit").fit(
            method="bfgs", disp=0, maxiter=10000, gtol=1e-10
        )
    p = X.shape[1]
    # statsmodels: P(y <= k) = F(theta_k - x @ beta), so beta = -coef.
    assert_allclose(model.coef_[0], -res.params[:p], atol=1e-5, rtol=1e-5)
    thresholds = res.model.transform_threshold_params(res.params)[1:-1]
    assert_allclose(model.intercept_, thresholds, atol=1e-5, rtol=1e-5)
    assert_allclose(model.predict_proba(X), res.predict(X), atol=1e-6)
    assert_allclose(model.objective_, -res.llf / len(y), rtol=1e-9)


def test_l2_penalty_shrinks_and_is_stationary():
    X, y = _ordinal_data()
    unpenalised = ProportionalOdds().fit(X, y)
    penalised = ProportionalOdds(alpha=0.5).fit(X, y)
    scale = X.std(axis=0)
    norm = np.linalg.norm(penalised.coef_[0] * scale)
    assert norm < np.linalg.norm(unpenalised.coef_[0] * scale)
    # Objective at the fit is not improved by small moves of the slopes.
    Xs = (X - X.mean(0)) / scale
    beta = penalised.coef_[0] * scale
    alpha_s = penalised.intercept_ + penalised.coef_[0] @ X.mean(0)

    def objective(b):
        cum = expit(alpha_s[None, :] + (Xs @ b)[:, None])
        cum = np.hstack([np.zeros((len(y), 1)), cum, np.ones((len(y), 1))])
        nll = -np.mean(
            np.log(cum[np.arange(len(y)), y + 1] - cum[np.arange(len(y)), y])
        )
        return nll + 0.25 * b @ b

    base = objective(beta)
    for j in range(len(beta)):
        for eps in (1e-4, -1e-4):
            b = beta.copy()
            b[j] += eps
            assert objective(b) >= base - 1e-12


@pytest.mark.parametrize("Estimator", [ProportionalOdds, PRESTO])
def test_label_encodings_and_order(Estimator):
    X, codes = _ordinal_data()
    names = np.array(["low", "mid", "high", "top"])
    reference = Estimator().fit(X, codes)
    proba = reference.predict_proba(X)
    # Shifted integers, strings with an explicit order, ordered categoricals.
    fits = [
        (Estimator().fit(X, 10 * codes + 3), 10 * np.arange(4) + 3),
        (Estimator(classes=names).fit(X, names[codes]), names),
        (
            Estimator().fit(
                X,
                pd.Series(pd.Categorical(names[codes], categories=names, ordered=True)),
            ),
            names,
        ),
    ]
    for model, classes in fits:
        assert_array_equal(model.classes_, classes)
        assert_allclose(model.predict_proba(X), proba, atol=1e-8)
        assert_array_equal(model.predict(X), classes[reference.predict(X)])
    # Strings without an order are sorted, which is another ordinal model,
    # and the user is told.
    with pytest.warns(UserWarning, match="alphabetical"):
        lexicographic = Estimator().fit(X, names[codes])
    assert_array_equal(lexicographic.classes_, np.sort(names))


def test_reversed_class_order_mirrors_the_fit():
    X, y = _ordinal_data()
    forward = ProportionalOdds().fit(X, y)
    backward = ProportionalOdds(classes=[3, 2, 1, 0]).fit(X, y)
    assert_allclose(
        backward.predict_proba(X), forward.predict_proba(X)[:, ::-1], atol=1e-8
    )
    assert_allclose(backward.coef_, -forward.coef_[::-1], atol=1e-6)
    assert_allclose(backward.intercept_, -forward.intercept_[::-1], atol=1e-6)


def test_decision_function_is_the_exceedance_logit():
    X, y = _ordinal_data()
    model = ProportionalOdds().fit(X, y)
    assert_allclose(model.decision_function(X), -(X @ model.coef_.T + model.intercept_))
    binary = ProportionalOdds().fit(X, y > 1)
    scores = binary.decision_function(X)
    assert scores.shape == (len(y),)
    assert_array_equal(binary.classes_[(scores > 0).astype(int)], binary.predict(X))


class _BinaryProportionalOdds(ProportionalOdds):
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags


class _BinaryPRESTO(PRESTO):
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags


@pytest.mark.parametrize(
    "estimator",
    [_BinaryProportionalOdds(alpha=1e-3), _BinaryPRESTO(lam=1e-3, n_lambdas=5)],
)
def test_binary_half_of_check_classifiers_train(estimator):
    # The multiclass half is an expected failure (see skrep/utils/_testing.py).
    check_classifiers_train(type(estimator).__name__, estimator)
    check_classifiers_train(type(estimator).__name__, estimator, readonly_memmap=True)


@pytest.mark.parametrize("Estimator", [ProportionalOdds, PRESTO, PRESTOCV])
def test_bad_input_errors(Estimator):
    X, y = _ordinal_data(n=120)
    with pytest.raises(ValueError, match="at least 2 classes"):
        Estimator().fit(X, np.zeros(len(X), dtype=int))
    with pytest.raises(ValueError, match="Unknown label type"):
        Estimator().fit(X, y + 0.5 * np.random.default_rng(0).uniform(size=len(y)))
    X_nan = X.copy()
    X_nan[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        Estimator().fit(X_nan, y)
    with pytest.raises(ValueError, match="do not occur in y"):
        Estimator(classes=[0, 1, 2, 3, 4]).fit(X, y)
    with pytest.raises(ValueError, match="not in classes"):
        Estimator(classes=[0, 1, 2]).fit(X, y)
    with pytest.raises(ValueError, match="unique"):
        Estimator(classes=[0, 1, 1, 2, 3]).fit(X, y)


def test_constant_feature_and_pipeline_grid_search():
    X, y = _ordinal_data()
    X = np.column_stack([X, np.full(len(X), 7.0)])
    model = ProportionalOdds().fit(X, y)
    assert model.coef_[0, -1] == 0.0
    search = GridSearchCV(
        make_pipeline(StandardScaler(), ProportionalOdds()),
        {"proportionalodds__alpha": [0.0, 1.0]},
        cv=3,
    ).fit(X, y)
    assert search.best_estimator_.predict_proba(X).shape == (len(X), 4)
    assert clone(model).get_params() == model.get_params()


def test_float32_and_pandas_features():
    X, y = _ordinal_data()
    model = ProportionalOdds().fit(X, y)
    model32 = ProportionalOdds().fit(X.astype(np.float32), y)
    assert_allclose(model32.predict_proba(X), model.predict_proba(X), atol=1e-5)
    frame = pd.DataFrame(X, columns=[f"f{j}" for j in range(X.shape[1])])
    named = ProportionalOdds().fit(frame, y)
    assert_array_equal(named.feature_names_in_, frame.columns)
    assert_allclose(named.predict_proba(frame), model.predict_proba(X))


def test_objective_is_mean_negative_log_likelihood():
    X, y = _ordinal_data()
    model = ProportionalOdds().fit(X, y)
    assert_allclose(model.objective_, _mean_nll(model, X, y), rtol=1e-10)


def test_verbose_prints_one_line_per_iteration_and_n_iter_counts_them(capsys):
    X, y = _ordinal_data()
    model = ProportionalOdds(verbose=1).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == model.n_iter_ < model.max_iter
    for it, line in enumerate(lines, 1):
        assert line.startswith(f"[ProportionalOdds] iter {it}/{model.max_iter}: ")
    # The last iteration finds the Newton decrement below tol and stops.
    assert lines[-1].startswith(
        f"[ProportionalOdds] iter {model.n_iter_}/{model.max_iter}: "
        f"objective={model.objective_:.7g}, "
    )
    assert "step=0," in lines[-1]
    assert ProportionalOdds().fit(X, y).n_iter_ == model.n_iter_
    assert capsys.readouterr().out == ""
    # Stopped by max_iter: exactly max_iter iterations run and printed.
    with pytest.warns(ConvergenceWarning):
        short = ProportionalOdds(max_iter=2, verbose=1).fit(X, y)
    assert short.n_iter_ == 2
    assert len(capsys.readouterr().out.splitlines()) == 2
    # Finding convergence in the last allowed iteration is converging.
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        exact = ProportionalOdds(max_iter=model.n_iter_).fit(X, y)
    assert exact.n_iter_ == exact.max_iter
    assert_allclose(exact.coef_, model.coef_, rtol=1e-12)


def test_collinear_features_do_not_break_newton():
    # Two rows, two collinear features after standardisation: the Hessian is
    # singular to rounding, which the Cholesky test let through to solve.
    X = np.array([[-1.04e6, 5.94e26], [1.10e6, -5.12e26]], dtype=np.float32)
    model = ProportionalOdds().fit(X, [2, 1])
    assert np.all(np.isfinite(model.predict_proba(X)))


@pytest.mark.parametrize("scale", [1e-200, 1e-100, 1e150])
def test_slopes_are_scale_equivariant(scale):
    # A feature at 1e-100 was taken for a constant (an absolute 1e-12 cut):
    # its slope came back 0 with no warning.
    rng = np.random.RandomState(0)
    X = rng.standard_normal((200, 2))
    y = np.digitize(X @ [1.0, -0.5] + rng.logistic(size=200), [-1.0, 0.0, 1.0])
    reference = ProportionalOdds().fit(X, y)
    scaled = ProportionalOdds().fit(X * scale, y)
    assert_allclose(scaled.coef_ * scale, reference.coef_, rtol=1e-6)
    assert_allclose(scaled.intercept_, reference.intercept_, rtol=1e-6)
