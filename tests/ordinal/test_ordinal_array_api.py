"""Array-API (CuPy, array-api-strict) support of the cumulative-logit models.

The solvers run on the host; the fitted arrays live on the input's device,
where the predictions are computed. They must match the numpy fit.
"""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn import config_context

from skrep.datasets import make_rare_ordinal
from skrep.ordinal import PRESTO, PRESTOCV, CrossingWarning, ProportionalOdds
from skrep.utils._array_api import get_namespace_and_device, to_numpy
from skrep.utils._compat import _array_api_for_tests
from skrep.utils._testing import array_api_params, check_array_api_equivalence

PARAMS = pytest.mark.parametrize(
    "array_namespace, device_name, dtype_name", array_api_params()
)
METHODS = ("decision_function", "predict_proba", "predict_log_proba", "predict")


def _data():
    X, y, _ = make_rare_ordinal(
        300,
        n_features=4,
        n_classes=4,
        rare_prob=0.05,
        sparsity=0.25,
        coef=1.0,
        random_state=0,
    )
    return X, y


def _host(array):
    with config_context(array_api_dispatch=True):
        return to_numpy(array)


@PARAMS
@pytest.mark.parametrize(
    "estimator, attributes",
    [
        (ProportionalOdds(alpha=1e-3), ("coef_", "intercept_")),
        # The probit CDF is evaluated on the host (no erf in the array API).
        (ProportionalOdds(link="probit"), ("coef_", "intercept_")),
        (ProportionalOdds(link="cloglog"), ("coef_", "intercept_")),
        (ProportionalOdds(link="cauchit"), ("coef_", "intercept_")),
        (
            PRESTO(lam=1e-3, n_lambdas=4),
            ("coef_", "intercept_", "coef_path_", "intercept_path_", "n_iter_"),
        ),
        (
            PRESTOCV(n_lambdas=3, cv=3, random_state=0),
            ("coef_", "intercept_", "coef_path_", "cv_scores_", "n_iter_"),
        ),
    ],
    ids=["ProportionalOdds", "probit", "cloglog", "cauchit", "PRESTO", "PRESTOCV"],
)
def test_ordinal_array_api(
    estimator, attributes, array_namespace, device_name, dtype_name
):
    X, y = _data()
    # cv_scores_ and lambdas_ keep the solver's float64; compare them loosely.
    floats = tuple(a for a in attributes if a != "cv_scores_")
    est_np, est_xp = check_array_api_equivalence(
        estimator,
        X,
        y,
        array_namespace=array_namespace,
        device_name=device_name,
        dtype_name=dtype_name,
        attributes=floats,
        methods=METHODS,
    )
    assert isinstance(est_xp.classes_, np.ndarray)
    assert_array_equal(est_xp.classes_, est_np.classes_)
    if isinstance(est_np.n_iter_, np.ndarray):
        assert _host(est_xp.n_iter_).dtype == est_np.n_iter_.dtype
    if hasattr(est_np, "lambdas_"):
        assert_allclose(_host(est_xp.lambdas_), est_np.lambdas_, rtol=1e-4)
    if hasattr(est_np, "cv_scores_"):
        assert_allclose(_host(est_xp.cv_scores_), est_np.cv_scores_, rtol=1e-3)
        assert est_xp.lambda_ == pytest.approx(est_np.lambda_, rel=1e-4)
    xp, device = _array_api_for_tests(array_namespace, device_name, dtype_name)
    X_xp = xp.asarray(X.astype(dtype_name), device=device)
    with config_context(array_api_dispatch=True):
        score = est_xp.score(X_xp, xp.asarray(y, device=device))
        proba = est_xp.predict_proba(X_xp)
    assert isinstance(score, float)
    assert score == pytest.approx(est_np.score(X.astype(dtype_name), y), abs=1e-6)
    # A meaningful fit: far better than the majority class.
    assert score > np.mean(y == np.bincount(y).argmax()) + 0.05
    assert_allclose(_host(proba).sum(axis=1), 1.0, rtol=1e-5)


@PARAMS
def test_ordinal_array_api_string_labels(array_namespace, device_name, dtype_name):
    # String classes: predict returns numpy labels, the rest stays on device.
    xp, device = _array_api_for_tests(array_namespace, device_name, dtype_name)
    X, y = _data()
    X = X.astype(dtype_name)
    labels = np.array(["low", "mid", "high", "top"])[y]
    order = ["low", "mid", "high", "top"]
    expected = ProportionalOdds(classes=order).fit(X, labels)
    X_xp = xp.asarray(X, device=device)
    with config_context(array_api_dispatch=True):
        model = ProportionalOdds(classes=order).fit(X_xp, labels)
        pred = model.predict(X_xp)
        proba = model.predict_proba(X_xp)
        assert get_namespace_and_device(proba)[0].__name__ == xp.__name__
        assert model.score(X_xp, labels) == pytest.approx(expected.score(X, labels))
    assert isinstance(pred, np.ndarray)
    assert_array_equal(pred, expected.predict(X))


@PARAMS
def test_ordinal_array_api_binary_decision_function(
    array_namespace, device_name, dtype_name
):
    xp, device = _array_api_for_tests(array_namespace, device_name, dtype_name)
    X, y = _data()
    y = (y > 1).astype(int)
    _, est_xp = check_array_api_equivalence(
        ProportionalOdds(),
        X,
        y,
        array_namespace=array_namespace,
        device_name=device_name,
        dtype_name=dtype_name,
        methods=("decision_function", "predict"),
    )
    with config_context(array_api_dispatch=True):
        scores = est_xp.decision_function(
            xp.asarray(X.astype(dtype_name), device=device)
        )
    assert scores.shape == (X.shape[0],)


@PARAMS
def test_ordinal_array_api_crossing_warning(array_namespace, device_name, dtype_name):
    # Crossing cumulative probabilities are repaired on the device as on numpy.
    xp, device = _array_api_for_tests(array_namespace, device_name, dtype_name)
    X, y = _data()
    X = X.astype(dtype_name)
    model = PRESTO(lam=0.0, n_lambdas=3).fit(X, y)
    X_far = 10 * X  # far outside the training box: the slopes cross
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CrossingWarning)
        expected = model.predict_proba(X_far)
    with config_context(array_api_dispatch=True):
        model_xp = PRESTO(lam=0.0, n_lambdas=3).fit(xp.asarray(X, device=device), y)
        with pytest.warns(CrossingWarning, match="rows had crossing"):
            proba = model_xp.predict_proba(xp.asarray(X_far, device=device))
    proba = _host(proba)
    assert proba.min() >= 0
    assert_allclose(proba, expected, rtol=1e-3, atol=1e-4)


def test_ordinal_array_api_y_on_another_device():
    # y may come from another device (or namespace) than X: labels go to host.
    xp, device = _array_api_for_tests("array_api_strict", "device1", "float32")
    other = xp.Device("CPU_DEVICE")
    X, y = _data()
    X = X.astype(np.float32)
    expected = ProportionalOdds().fit(X, y)
    with config_context(array_api_dispatch=True):
        model = ProportionalOdds().fit(
            xp.asarray(X, device=device), xp.asarray(y, device=other)
        )
        pred = model.predict(xp.asarray(X, device=device))
        assert str(get_namespace_and_device(pred)[2]) == str(device)
    assert_array_equal(_host(pred), expected.predict(X))
