import math
import warnings

import numpy as np
import pytest
from numpy.polynomial.legendre import leggauss
from sklearn.base import clone
from sklearn.linear_model import LinearRegression

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
    # The uniform baseline with unit weights is worse on average on this pool.
    err = {}
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
    with pytest.warns(UserWarning, match=r"\|\|G - I\|\|"):
        model.fit_function(f, 10)
    assert model.stability_ > 0.5
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
    model = DPPLeastSquares(PolynomialBasis(3), random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="outside"):
        model.predict(X + 2)
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
