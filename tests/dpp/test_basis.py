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
    basis = PolynomialBasis(3, domain="raise").fit(np.zeros((2, 1)))
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


@pytest.mark.parametrize(
    "degree, n_features, count", [(12, 10, "646,646"), (60, 4, "635,376")]
)
def test_output_size_guard_names_the_count(degree, n_features, count):
    # Refused at fit, before any multi-index is enumerated or column allocated.
    with pytest.raises(ValueError, match=f"{count} output features.*max_output_"):
        PolynomialBasis(degree).fit(np.zeros((1, n_features)))


def test_output_size_guard_is_overridable():
    # degree 20 on 4 features: comb(24, 4) = 10,626 columns.
    X = np.zeros((2, 4))
    with pytest.raises(ValueError, match="10,626 output features"):
        PolynomialBasis(20).fit(X)
    with pytest.raises(ValueError, match="10,626 output features"):
        PolynomialBasis(20, max_output_features=10_000).fit(X)
    for limit in [None, 10_626]:
        basis = PolynomialBasis(20, max_output_features=limit).fit(X)
        assert basis.transform(X).shape == (2, math.comb(24, 4))
    # The hyperbolic cross is counted exactly, not bounded by the total degree.
    count = PolynomialBasis(20, index_set="hyperbolic").fit(X).n_output_features_
    assert count < 10_000
    with pytest.raises(ValueError, match=f"{count:,} output features"):
        PolynomialBasis(20, index_set="hyperbolic", max_output_features=count - 1).fit(
            X
        )


@pytest.mark.parametrize("family", ["legendre", "chebyshev"])
def test_domain_policy_at_transform(family):
    X_fit = np.random.RandomState(0).uniform(-1, 1, size=(20, 2))
    X = np.array([[-1.2, 0.3], [0.5, 1.0 + 1e-3], [0.1, -0.2]])
    # Default "clip": points outside are moved to the nearest point of the
    # domain (a scaler fitted on other folds leaves a few just outside).
    basis = PolynomialBasis(4, family=family).fit(X_fit)
    np.testing.assert_array_equal(
        basis.transform(X), basis.transform(np.clip(X, -1, 1))
    )
    # "extrapolate": the polynomials themselves, evaluated outside.
    ext = PolynomialBasis(4, family=family, domain="extrapolate").fit(X_fit)
    uni = [
        np.polynomial.Legendre.basis(k)(X) * math.sqrt(2 * k + 1)
        if family == "legendre"
        else np.polynomial.Chebyshev.basis(k)(X) * (math.sqrt(2) if k else 1)
        for k in range(5)
    ]
    expected = np.column_stack(
        [
            np.prod([uni[k][:, j] for j, k in enumerate(a)], axis=0)
            for a in ext.multi_indices_
        ]
    )
    np.testing.assert_allclose(ext.transform(X), expected, rtol=1e-12)
    assert not np.allclose(ext.transform(X)[:2], basis.transform(X)[:2])
    # "raise": a clear error naming the entry.
    strict = PolynomialBasis(4, family=family, domain="raise").fit(X_fit)
    with pytest.raises(ValueError, match=r"X\[0, 0\] = -1.2 lies outside"):
        strict.transform(X)
    # The data a basis is fitted on must lie in the domain (unless extrapolating).
    with pytest.raises(ValueError, match="outside"):
        PolynomialBasis(4, family=family).fit(X)
    ext.fit(X)


@pytest.mark.parametrize(
    "params", [{"family": "hermite"}, {"domain": "extrapolate"}], ids=str
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_overflowing_features_raise(params, dtype):
    # Degree-3 polynomials of 1e150 (float64) or 1e15 (float32) overflow:
    # a ValueError naming the entry, never an inf or NaN output.
    big = 1e150 if dtype == np.float64 else 1e15
    X = np.array([[0.5], [big], [-0.5]], dtype=dtype)
    basis = PolynomialBasis(3, **params).fit(X[[0, 2]])
    with pytest.raises(ValueError, match=r"overflow.*X\[1, 0\]"):
        basis.transform(X)
    # Tiny entries underflow harmlessly: finite features.
    tiny = 1e-200 if dtype == np.float64 else 1e-40
    assert np.all(np.isfinite(basis.transform(np.full((2, 1), tiny, dtype=dtype))))
