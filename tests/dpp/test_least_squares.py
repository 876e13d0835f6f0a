import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.polynomial.legendre import leggauss
from sklearn.base import clone
from sklearn.datasets import load_diabetes
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import KFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from skrep.datasets import make_function_approximation
from skrep.dpp import DPPLeastSquares, PolynomialBasis

# Composite Gauss-Legendre on [-1, 0] and [0, 1] (exact enough for |x|), for
# the L2 norm of the uniform probability measure on [-1, 1].
_x, _w = leggauss(200)
XQ = np.concatenate([(_x - 1) / 2, (_x + 1) / 2])[:, None]
WQ = np.concatenate([_w, _w]) / 4


def _l2(values):
    return math.sqrt(np.sum(WQ * values**2))


def _best_error(f, basis):
    F = basis.transform(XQ)
    coef = F.T @ (WQ * f(XQ))
    return _l2(f(XQ) - F @ coef)


@pytest.mark.parametrize("function", ["runge", "abs"])
def test_quasi_optimality_in_expectation(function):
    # E ||f - f_hat||^2 <= C min_v ||f - v||^2 already at n = O(m log m) for
    # volume sampling and repeated DPPs; i.i.d. Christoffel sampling at the
    # same n has heavy tails, and uniform sampling is far worse.
    _, _, f = make_function_approximation(function, 5, return_function=True)
    m = 8
    basis = PolynomialBasis(m - 1).fit(np.zeros((1, 1)))
    best2 = _best_error(f, basis) ** 2
    n = math.ceil(m * math.log(m))  # 17
    rng = np.random.RandomState(0)
    ratio = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for sampler in ["volume", "repeated_dpp", "christoffel", "uniform"]:
            model = DPPLeastSquares(
                basis, sampler=sampler, n_samples=n, random_state=rng
            )
            err2 = [
                _l2(model.fit_function(f).predict(XQ) - f(XQ)) ** 2 for _ in range(60)
            ]
            ratio[sampler] = np.mean(err2) / best2
    assert ratio["volume"] < 5, ratio
    assert ratio["repeated_dpp"] < 5, ratio
    assert ratio["christoffel"] > ratio["volume"], ratio
    assert ratio["uniform"] > 10 * ratio["volume"], ratio


def test_fit_on_a_pool_selects_rows_and_approximates():
    X, y = make_function_approximation("runge", 2000, random_state=0)
    model = DPPLeastSquares(PolynomialBasis(12), n_samples=40, random_state=0)
    model.fit(X, y)
    assert model.support_.shape == (40,) and model.weights_.shape == (40,)
    assert model.n_basis_ == 13 and model.stability_ < 1
    assert np.all((model.support_ >= 0) & (model.support_ < 2000))
    # Same as a weighted least squares on the selected rows alone.
    F = model.basis_.transform(X[model.support_])
    ref = LinearRegression(fit_intercept=False).fit(
        F, y[model.support_], sample_weight=model.weights_
    )
    np.testing.assert_allclose(model.coef_, ref.coef_, atol=1e-8)
    assert np.sqrt(np.mean((model.predict(X) - y) ** 2)) < 0.1
    # The uniform baseline with unit weights is worse on average on this pool
    # (and often warns of its unstable design).
    err = {}
    warnings.simplefilter("ignore", UserWarning)  # restored by pytest
    for sampler in ["volume", "uniform"]:
        err[sampler] = np.mean(
            [
                np.mean(
                    (
                        clone(model)
                        .set_params(sampler=sampler, random_state=s)
                        .fit(X, y)
                        .predict(X)
                        - y
                    )
                    ** 2
                )
                for s in range(10)
            ]
        )
    assert err["volume"] < err["uniform"], err


def test_linear_basis_recovers_exact_model_and_multioutput():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(300, 4))
    beta = np.array([1.0, -2.0, 0.5, 3.0])
    Y = np.column_stack([X @ beta + 1.5, X @ -beta])
    for sampler in ["volume", "dpp", "repeated_dpp", "christoffel", "uniform"]:
        model = DPPLeastSquares(sampler=sampler, random_state=0).fit(X, Y[:, 0])
        np.testing.assert_allclose(model.coef_, beta, atol=1e-8)
        assert model.intercept_ == pytest.approx(1.5)
        n = {"dpp": 5}.get(sampler, 10)
        assert len(model.support_) == n
    model = DPPLeastSquares(random_state=0).fit(X, Y)
    assert model.coef_.shape == (2, 4) and model.predict(X).shape == (300, 2)
    np.testing.assert_allclose(model.predict(X), Y, atol=1e-8)


def test_select_does_not_fit():
    X = np.random.RandomState(0).uniform(-1, 1, size=(100, 2))
    model = DPPLeastSquares(PolynomialBasis(2), sampler="dpp", random_state=0)
    idx, w = model.select(X)
    assert len(set(idx.tolist())) == 6 and np.all(w > 0)
    assert not hasattr(model, "coef_")


def test_stability_warning_and_attribute():
    _, _, f = make_function_approximation("exp", 5, return_function=True)
    model = DPPLeastSquares(PolynomialBasis(9), sampler="uniform", random_state=0)
    with pytest.warns(UserWarning, match=r"Unstable design.*\|\|G - I\|\|"):
        model.fit_function(f, 10)
    assert model.stability_ > 0.5 and model.error_factor_ > 3
    model = DPPLeastSquares(PolynomialBasis(3), n_samples=400, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.fit_function(f)
    assert model.stability_ < 0.5 and model.support_.shape == (400, 1)


def test_fit_function_in_two_dimensions():
    _, _, f = make_function_approximation(
        "gaussian", 5, n_features=2, return_function=True
    )
    basis = PolynomialBasis(6, index_set="total")
    model = DPPLeastSquares(basis, n_samples=60, random_state=0)
    model.fit_function(f, n_features=2)
    X = np.random.RandomState(1).uniform(-1, 1, size=(500, 2))
    assert np.max(np.abs(model.predict(X) - f(X))) < 0.05


def test_bad_input():
    X, y = make_function_approximation("runge", 30, random_state=0)
    with pytest.raises(ValueError, match="n_samples=5 is smaller than"):
        DPPLeastSquares(PolynomialBasis(9), n_samples=5).fit(X, y)
    with pytest.raises(ValueError, match="m=21 functions.*n_samples=20"):
        DPPLeastSquares(PolynomialBasis(20)).fit(X[:20], y[:20])
    with pytest.raises(ValueError, match="non-finite value"):
        DPPLeastSquares(PolynomialBasis(3)).fit_function(
            lambda X: np.where(X[:, 0] > 0, np.inf, 0.0)
        )
    with pytest.raises(ValueError, match="outside"):
        DPPLeastSquares(PolynomialBasis(3)).fit(X * 3, y)
    model = DPPLeastSquares(PolynomialBasis(3, domain="raise"), random_state=0)
    with pytest.raises(ValueError, match="outside"):
        model.fit(X, y).predict(X + 2)
    with pytest.raises(ValueError, match="basis=None"):
        DPPLeastSquares().fit_function(np.sin)
    with pytest.raises(ValueError, match="basis must be"):
        DPPLeastSquares(basis="legendre").fit(X, y)
    with pytest.raises(ValueError, match="shape"):
        DPPLeastSquares(PolynomialBasis(3)).fit_function(lambda X: X[:3, 0])
    with pytest.raises(ValueError, match="sampler"):
        DPPLeastSquares(sampler="greedy").fit(X, y)


@pytest.mark.parametrize("family", ["chebyshev", "hermite"])
def test_fit_function_other_measures(family):
    # Smooth function, degree 10: near-exact on the measure's bulk.
    basis = PolynomialBasis(10, family=family)
    model = DPPLeastSquares(basis, n_samples=40, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        model.fit_function(lambda X: np.sin(X[:, 0]))
    x = np.linspace(-1, 1, 50)[:, None]
    assert np.max(np.abs(model.predict(x) - np.sin(x[:, 0]))) < 1e-3
    if family == "hermite":
        assert np.abs(model.support_).max() > 1  # points from the Gaussian law


def _fit_quietly(model, *args, **kwargs):
    """Fit, returning the model and whether it emitted a UserWarning."""
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        model = model.fit_function(*args, **kwargs)
    return model, any(issubclass(r.category, UserWarning) for r in record)


@pytest.mark.parametrize("n_features, degree", [(1, 9), (2, 6), (4, 3)])
def test_default_fits_do_not_warn_and_bad_fits_do(n_features, degree):
    # Default fits (volume sampling, n = 2 m; m = 10, 28, 35) are
    # quasi-optimal and must not warn; uniform sampling with n = m is not, and
    # must. error_factor_ estimates ||f - f_hat|| / min_v ||f - v||.
    _, _, f = make_function_approximation(
        "runge", 5, n_features=n_features, return_function=True
    )
    rng = np.random.RandomState(0)
    X_test = rng.uniform(-1, 1, size=(4000, n_features))
    basis = PolynomialBasis(degree).fit(X_test)
    F_test, y_test = basis.transform(X_test), f(X_test)
    best = np.linalg.lstsq(F_test, y_test, rcond=None)[1][0]
    m = F_test.shape[1]

    def ratio(model):
        return np.sqrt(np.sum((model.predict(X_test) - y_test) ** 2) / best)

    good, bad = [], []
    for seed in range(30):
        model, warned = _fit_quietly(
            DPPLeastSquares(basis, random_state=seed), f, n_features=n_features
        )
        assert not warned and model.error_factor_ < 3
        good.append(ratio(model))
        model, warned = _fit_quietly(
            DPPLeastSquares(basis, sampler="uniform", n_samples=m, random_state=seed),
            f,
            n_features=n_features,
        )
        bad.append((warned, model.error_factor_, ratio(model)))
    assert np.median(good) < 1.6 and np.max(good) < 6, good
    warned, factor, bad_ratio = np.array(bad).T
    assert warned.mean() >= 0.9, factor
    assert np.all(warned == (factor > 3))
    assert np.median(bad_ratio[warned == 1]) > 3 * np.median(good)


def test_default_pool_fits_on_real_data_do_not_warn():
    # diabetes (442 rows, 10 features): the linear model on 22 selected rows,
    # better on all rows than on 22 uniform ones (which may warn).
    X, y = load_diabetes(return_X_y=True)
    scores = {"volume": [], "uniform": []}
    for seed in range(20):
        model = DPPLeastSquares(random_state=seed)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            model.fit(X, y)
        assert model.support_.shape == (22,) and model.error_factor_ < 3
        scores["volume"].append(model.score(X, y))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            model.set_params(sampler="uniform").fit(X, y)
        scores["uniform"].append(model.score(X, y))
    assert np.median(scores["volume"]) > np.median(scores["uniform"]), scores


def test_cross_validation_after_a_scaler():
    # A MinMaxScaler fitted on the training folds leaves test rows just
    # outside [-1, 1]; the basis' default domain="clip" lets CV run.
    X, y = load_diabetes(return_X_y=True)
    X = X[:, [2, 8]]
    cv = KFold(5, shuffle=True, random_state=0)
    model = DPPLeastSquares(PolynomialBasis(3), n_samples=60, random_state=0)
    pipe = make_pipeline(MinMaxScaler((-1, 1)), model)
    scores = cross_val_score(pipe, X, y, cv=cv, error_score="raise")
    ref = cross_val_score(LinearRegression(), X, y, cv=cv)
    # 60 labelled rows per fold against least squares on all ~350 of them.
    assert np.all(np.isfinite(scores)) and np.mean(scores) > np.mean(ref) - 0.15
    strict = pipe.set_params(dppleastsquares__basis=PolynomialBasis(3, domain="raise"))
    with pytest.raises(ValueError, match="lies outside"):
        cross_val_score(strict, X, y, cv=cv, error_score="raise")


@pytest.mark.parametrize("scale, offset", [(1e-7, 0.0), (1e7, 0.0), (1e-7, 1.0)])
def test_feature_scale_does_not_drop_features(scale, offset):
    # Features at 1e-7 (or 1 + 1e-7 z) span the same space as at scale 1:
    # the fit is the same as on the rescaled data (LinearRegression: R^2 1).
    rng = np.random.RandomState(0)
    Z = rng.uniform(size=(500, 3))
    y = Z @ np.array([1.0, -2.0, 3.0]) + 0.01 * rng.standard_normal(500)
    X = offset + scale * Z
    model = DPPLeastSquares(random_state=0).fit(X, y)
    ref = DPPLeastSquares(random_state=0).fit(Z, y)
    assert model.n_basis_ == 4
    np.testing.assert_array_equal(model.support_, ref.support_)
    np.testing.assert_allclose(model.predict(X), ref.predict(Z), atol=1e-6)
    assert model.score(X, y) > 0.999


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    n_rows=st.integers(1, 60),
    n_features=st.integers(1, 6),
    x_exp=st.sampled_from([-300, -200, -100, -7, 0, 7, 100, 150, 200, 300]),
    y_exp=st.sampled_from([-200, 0, 200]),
    dtype=st.sampled_from([np.float32, np.float64]),
    constant_column=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_extreme_magnitudes_give_finite_predictions_or_value_error(
    n_rows, n_features, x_exp, y_exp, dtype, constant_column, seed
):
    rng = np.random.RandomState(seed)
    if dtype == np.float32:  # within its range: 1e-45 to 3e38
        x_exp = int(np.clip(x_exp, -30, 30))
    X = (rng.standard_normal((n_rows, n_features)) * 10.0**x_exp).astype(dtype)
    if constant_column:
        X[:, 0] = X[0, 0]
    y = rng.standard_normal(n_rows) * 10.0**y_exp
    X0, y0 = X.copy(), y.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        try:
            pred = DPPLeastSquares(random_state=0).fit(X, y).predict(X)
        except ValueError as exc:
            assert str(exc)
        else:
            assert np.all(np.isfinite(pred))
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(y, y0)


def test_verbose_prints_the_steps_of_fit_and_fit_function(capsys):
    X, y = load_diabetes(return_X_y=True)
    quiet = DPPLeastSquares(n_samples=33, random_state=0).fit(X, y)
    assert capsys.readouterr().out == ""
    model = DPPLeastSquares(n_samples=33, random_state=0, verbose=1).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    ours = [line for line in lines if line.startswith("[DPPLeastSquares]")]
    assert [line.split(":")[0] for line in ours] == [
        f"[DPPLeastSquares] step {i}/3" for i in (1, 2, 3)
    ]
    assert f"rows={X.shape[0]}, features=11, rank={model.n_basis_}" in ours[0]
    assert "points=33, sampler=volume" in ours[1]
    assert f"error_factor={model.error_factor_:.7g}" in ours[2]
    # The sampler's rounds come between the features and the sample.
    assert lines[1].startswith("[VolumeSampler] round 1/2")
    assert np.array_equal(model.support_, quiet.support_)

    DPPLeastSquares(PolynomialBasis(5), verbose=1, random_state=0).fit_function(np.sin)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("[DPPLeastSquares] step 1/3: features=6, rank=6")
    assert lines[-1].startswith("[DPPLeastSquares] step 3/3: error_factor=")
