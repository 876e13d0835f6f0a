import math

import numpy as np
import pytest
from numpy.polynomial.hermite_e import hermegauss
from numpy.polynomial.legendre import leggauss
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from skrep.dpp import PolynomialBasis


def _quadrature(family, n=60):
    if family == "legendre":
        x, w = leggauss(n)
        return x, w / 2
    if family == "chebyshev":
        k = np.arange(1, n + 1)
        return np.cos((2 * k - 1) * np.pi / (2 * n)), np.full(n, 1.0 / n)
    x, w = hermegauss(n)
    return x, w / math.sqrt(2 * math.pi)


@pytest.mark.parametrize("family", ["legendre", "chebyshev", "hermite"])
@pytest.mark.parametrize("index_set", ["total", "hyperbolic", "tensor"])
def test_features_are_orthonormal_for_the_measure(family, index_set):
    # Gram matrix by exact tensor Gauss quadrature of mu on [-1, 1]^2 or R^2.
    x, w = _quadrature(family)
    X = np.stack(np.meshgrid(x, x), -1).reshape(-1, 2)
    W = np.outer(w, w).ravel()
    basis = PolynomialBasis(degree=5, family=family, index_set=index_set).fit(X)
    F = basis.transform(X)
    gram = F.T @ (W[:, None] * F)
    np.testing.assert_allclose(gram, np.eye(F.shape[1]), atol=1e-10)
    assert np.all(basis.multi_indices_[0] == 0)


@pytest.mark.parametrize(
    "index_set, degree, d, expected",
    [
        ("total", 4, 3, math.comb(7, 3)),
        ("tensor", 3, 2, 16),
        # (a + 1)(b + 1) <= 4: 00 10 01 20 02 30 03 11
        ("hyperbolic", 3, 2, 8),
        ("hyperbolic", 7, 6, None),
    ],
)
def test_index_set_sizes(index_set, degree, d, expected):
    basis = PolynomialBasis(degree, index_set=index_set).fit(np.zeros((1, d)))
    alpha = basis.multi_indices_
    assert len({tuple(a) for a in alpha}) == len(alpha)
    if index_set == "hyperbolic":
        assert np.all(np.prod(alpha + 1, axis=1) <= degree + 1)
        assert len(alpha) < math.comb(degree + d, d)
    if expected is not None:
        assert basis.n_output_features_ == expected
    assert np.all(np.diff(alpha.sum(1)) >= 0)


def test_points_outside_domain_raise():
    basis = PolynomialBasis(3).fit(np.zeros((2, 1)))
    with pytest.raises(ValueError, match=r"outside.*\[-1, 1\]|\[-1, 1\].*outside"):
        basis.transform(np.array([[1.5]]))
    with pytest.raises(ValueError, match="outside"):
        PolynomialBasis(2, family="chebyshev").fit(np.array([[-2.0]]))
    # Hermite is defined on the whole line.
    PolynomialBasis(2, family="hermite").fit_transform(np.array([[-20.0]]))


def test_float32_pipeline_and_feature_names():
    X = np.random.RandomState(0).uniform(-3, 3, size=(20, 2)).astype(np.float32)
    pipe = make_pipeline(MinMaxScaler((-1, 1)), PolynomialBasis(2))
    F = pipe.fit_transform(X)
    assert F.dtype == np.float32 and F.shape == (20, 6)
    np.testing.assert_allclose(F[:, 0], 1.0)
    names = pipe[-1].get_feature_names_out()
    assert len(names) == 6


def test_optimal_measure_is_christoffel_density():
    # E_rho[w phi phi^T] = I: the Christoffel weights make rho-draws unbiased.
    rng = np.random.RandomState(0)
    for family in ["legendre", "chebyshev", "hermite"]:
        basis = PolynomialBasis(4, family=family).fit(np.zeros((1, 2)))
        X = basis._sample_optimal(40_000, rng)
        F = basis._evaluate(X)
        w = F.shape[1] / np.einsum("ij,ij->i", F, F)
        gram = (F * w[:, None]).T @ F / len(X)
        np.testing.assert_allclose(gram, np.eye(F.shape[1]), atol=0.05)
