"""Array-API (CuPy, array-api-strict) support of PolynomialBasis and DPPLeastSquares.

The samplers run on the host; the features, their orthonormalisation and the
weighted least squares run on the input's device. With the same seed the
array-API fit selects the same rows as the numpy one and matches it.
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn import config_context
from sklearn.preprocessing import SplineTransformer

from skrep.datasets import make_function_approximation
from skrep.dpp import DPPLeastSquares, PolynomialBasis
from skrep.utils._array_api import get_namespace_and_device, to_numpy
from skrep.utils._compat import _array_api_for_tests
from skrep.utils._testing import array_api_params, check_array_api_equivalence

# Small samples: the stability warning (||G - I|| > 1/2) is expected here.
pytestmark = pytest.mark.filterwarnings("ignore:.*may be unstable:UserWarning")

PARAMS = pytest.mark.parametrize(
    "array_namespace, device_name, dtype_name", array_api_params()
)


def _host(array):
    with config_context(array_api_dispatch=True):
        return to_numpy(array)


def _pool(n=200, n_features=2, seed=0):
    X, y = make_function_approximation(
        "gaussian", n, n_features=n_features, noise=0.01, random_state=seed
    )
    return X, y


@PARAMS
@pytest.mark.parametrize("family", ["legendre", "chebyshev", "hermite"])
@pytest.mark.parametrize("index_set", ["total", "hyperbolic"])
def test_polynomial_basis_array_api(
    family, index_set, array_namespace, device_name, dtype_name
):
    X, _ = _pool(50, n_features=3)
    basis = PolynomialBasis(4, family=family, index_set=index_set)
    est_np, est_xp = check_array_api_equivalence(
        basis,
        X,
        array_namespace=array_namespace,
        device_name=device_name,
        dtype_name=dtype_name,
        attributes=("multi_indices_",),
        methods=("transform", "fit_transform"),
    )
    assert _host(est_xp.multi_indices_).dtype == np.int64
    assert est_xp.n_output_features_ == est_np.n_output_features_


@PARAMS
def test_polynomial_basis_array_api_rejects_points_outside(
    array_namespace, device_name, dtype_name
):
    xp, device = _array_api_for_tests(array_namespace, device_name, dtype_name)
    X = np.zeros((4, 2), dtype=dtype_name)
    X[2, 1] = 1.5
    with config_context(array_api_dispatch=True):
        with pytest.raises(ValueError, match=r"X\[2, 1\] = 1.5 lies outside"):
            PolynomialBasis(2).fit(xp.asarray(X, device=device))


@PARAMS
@pytest.mark.parametrize(
    "sampler", ["volume", "dpp", "repeated_dpp", "christoffel", "uniform"]
)
def test_dpp_least_squares_array_api(sampler, array_namespace, device_name, dtype_name):
    X, y = _pool()
    model = DPPLeastSquares(
        PolynomialBasis(4), sampler=sampler, n_samples=40, random_state=0
    )
    est_np, est_xp = check_array_api_equivalence(
        model,
        X,
        y,
        array_namespace=array_namespace,
        device_name=device_name,
        dtype_name=dtype_name,
        attributes=("coef_", "weights_", "support_"),
        methods=("predict",),
    )
    assert_array_equal(_host(est_xp.support_), est_np.support_)
    assert est_xp.n_basis_ == est_np.n_basis_ == 15
    assert est_xp.stability_ == pytest.approx(est_np.stability_, rel=1e-6)
    assert est_xp.error_factor_ == pytest.approx(est_np.error_factor_, rel=1e-6)
    assert est_xp.intercept_ == 0.0
    # A meaningful fit: the Gaussian is approximated from 15 to 40 points.
    assert np.sqrt(np.mean((est_np.predict(X) - y) ** 2)) < 0.05


@PARAMS
def test_dpp_least_squares_array_api_linear_multi_target(
    array_namespace, device_name, dtype_name
):
    # basis=None: linear features, an intercept per target.
    rng = np.random.RandomState(0)
    X = rng.normal(size=(100, 3))
    Y = X @ rng.normal(size=(3, 2)) + [1.0, -2.0] + 0.01 * rng.normal(size=(100, 2))
    est_np, est_xp = check_array_api_equivalence(
        DPPLeastSquares(random_state=0, n_samples=12),
        X,
        Y,
        array_namespace=array_namespace,
        device_name=device_name,
        dtype_name=dtype_name,
        attributes=("coef_", "intercept_", "weights_"),
        methods=("predict",),
    )
    assert_allclose(est_np.intercept_, [1.0, -2.0], atol=0.05)
    # One target: a float intercept, as with numpy.
    _, est_xp = check_array_api_equivalence(
        DPPLeastSquares(random_state=0, n_samples=12),
        X,
        Y[:, 0],
        array_namespace=array_namespace,
        device_name=device_name,
        dtype_name=dtype_name,
        attributes=("coef_",),
        methods=("predict",),
    )
    assert isinstance(est_xp.intercept_, float)


@PARAMS
def test_dpp_least_squares_array_api_host_basis(
    array_namespace, device_name, dtype_name
):
    # A basis without array-API support is fitted and evaluated on the host;
    # the solve and the prediction stay on the device.
    X, y = _pool(n_features=1)
    check_array_api_equivalence(
        DPPLeastSquares(SplineTransformer(n_knots=5), n_samples=30, random_state=0),
        X,
        y,
        array_namespace=array_namespace,
        device_name=device_name,
        dtype_name=dtype_name,
        attributes=("coef_", "weights_"),
        methods=("predict",),
    )


@PARAMS
def test_dpp_least_squares_array_api_select(array_namespace, device_name, dtype_name):
    xp, device = _array_api_for_tests(array_namespace, device_name, dtype_name)
    X, _ = _pool()
    model = DPPLeastSquares(PolynomialBasis(3), random_state=0)
    idx_np, w_np = model.select(X.astype(dtype_name))
    with config_context(array_api_dispatch=True):
        idx, w = model.select(xp.asarray(X.astype(dtype_name), device=device))
        for array in (idx, w):
            array_xp, _, array_device = get_namespace_and_device(array)
            assert array_xp.__name__ == xp.__name__
            assert str(array_device) == str(device)
    assert_array_equal(_host(idx), idx_np)
    assert_allclose(_host(w), w_np, rtol=1e-6)


def test_dpp_least_squares_array_api_y_on_another_device():
    # y may come from another device (or namespace) than X: labels go to host.
    xp, device = _array_api_for_tests("array_api_strict", "device1", "float32")
    other = xp.Device("CPU_DEVICE")
    X, y = _pool()
    X32 = X.astype(np.float32)
    expected = DPPLeastSquares(PolynomialBasis(3), random_state=0).fit(X32, y)
    with config_context(array_api_dispatch=True):
        model = DPPLeastSquares(PolynomialBasis(3), random_state=0).fit(
            xp.asarray(X32, device=device), xp.asarray(y, device=other)
        )
        pred = model.predict(xp.asarray(X32, device=device))
        assert str(get_namespace_and_device(pred)[2]) == str(device)
    assert_allclose(_host(pred), expected.predict(X32), rtol=1e-3, atol=1e-4)
