"""Array-API (CuPy / array-api-strict) path of GaussianMixtureOODDetector.

Fit runs on host (the moments are summed on device), scoring on device: every
scoring method must return arrays of the input's namespace, device and dtype,
equal to the numpy path.
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn import config_context

from skrep.ood import GaussianMixtureOODDetector, _model
from skrep.utils._array_api import get_namespace_and_device, to_numpy
from skrep.utils._compat import _array_api_for_tests, array_namespace
from skrep.utils._testing import array_api_params, check_array_api_equivalence

ARRAY_API_PARAMS = array_api_params()
METHODS = ("score_samples", "decision_function", "predict", "mahalanobis")
ATTRIBUTES = ("location_", "means_", "weights_", "shrinkage_")

# Most fits here have fewer than the 370 rows that contamination='auto'
# needs to be calibrated, and warn so; test_gaussian_ood.py tests the
# warning.
pytestmark = pytest.mark.filterwarnings(
    "ignore:contamination=.* rows to be calibrated:UserWarning"
)


def _blobs(n=240, d=6, n_classes=3, seed=0):
    rng = np.random.RandomState(seed)
    y = rng.randint(n_classes, size=n)
    centers = 4.0 * rng.randn(n_classes, d)
    X = rng.randn(n, d) @ rng.randn(d, d) + centers[y] + 2.0
    return X, y


def _xp_and_device(namespace, device_name, dtype_name):
    xp, device = _array_api_for_tests(namespace, device_name, dtype_name)
    return xp, device, np.dtype(dtype_name or "float64")


def _equivalence(params, namespace, device_name, dtype_name, X, y, **kwargs):
    # Fitted float attributes are float64 for any input dtype, as in the
    # numpy fit: compare them only on float64 runs (the helper checks that
    # float results have the input's dtype).
    float64 = np.dtype(dtype_name or "float64") == np.float64
    return check_array_api_equivalence(
        GaussianMixtureOODDetector(**params),
        X,
        y,
        array_namespace=namespace,
        device_name=device_name,
        dtype_name=dtype_name,
        attributes=ATTRIBUTES if float64 else (),
        methods=METHODS,
        **kwargs,
    )


@pytest.mark.parametrize("namespace, device_name, dtype_name", ARRAY_API_PARAMS)
@pytest.mark.parametrize("subspace", [None, "top", "low_variance"])
@pytest.mark.parametrize("covariance_type", ["tied", "full", "diag", "spherical"])
def test_closed_form_scoring_matches_numpy(
    covariance_type, subspace, namespace, device_name, dtype_name
):
    X, y = _blobs()
    params = {
        "covariance_type": covariance_type,
        "subspace": subspace,
        "variance_threshold": 0.9,
    }
    est_np, est_xp = _equivalence(params, namespace, device_name, dtype_name, X, y)
    xp, _, dtype = _xp_and_device(namespace, device_name, dtype_name)
    # The offset is an out-of-fold score: computed on device in X's dtype.
    rtol = 1e-4 if dtype == np.float32 else 1e-10
    assert_allclose(est_xp.offset_, est_np.offset_, rtol=rtol)
    assert est_xp.covariance_type_ == est_np.covariance_type_
    assert est_xp.shrinkage_target_ == est_np.shrinkage_target_
    assert est_xp.df_ == est_np.df_
    for got, expected in zip(est_xp.covariances_, est_np.covariances_, strict=True):
        assert_allclose(to_numpy(got, xp), expected, rtol=1e-10, atol=1e-12)
    for got, expected in zip(
        est_xp.subspace_components_, est_np.subspace_components_, strict=True
    ):
        if expected is None:
            assert got is None
        else:  # the same eigh on host: the same signs
            assert_allclose(to_numpy(got, xp), expected, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("namespace, device_name, dtype_name", ARRAY_API_PARAMS)
@pytest.mark.parametrize(
    "params",
    [
        {"covariance_type": "full"},
        {"covariance_type": "tied", "feature_blocks": 2},
        {"covariance_type": "diag", "subspace": "top", "variance_threshold": 0.9},
        {"covariance_type": "spherical", "block_aggregation": "separate"},
    ],
    ids=["full", "tied-blocks", "diag-top", "spherical-separate"],
)
def test_mixture_scoring_matches_numpy(params, namespace, device_name, dtype_name):
    # EM runs on host with the same seeds: the same mixtures; the class
    # log-likelihoods (log-sum-exp over components) are computed on device.
    X, y = _blobs()
    params = {"n_components": 2, "random_state": 0, "contamination": 0.05, **params}
    est_np, est_xp = _equivalence(params, namespace, device_name, dtype_name, X, y)
    assert est_xp.n_iter_ == est_np.n_iter_
    assert_allclose(est_xp.offset_, est_np.offset_, rtol=1e-4)


@pytest.mark.parametrize("namespace, device_name, dtype_name", ARRAY_API_PARAMS)
def test_known_outliers_logistic_combination_on_device(
    namespace, device_name, dtype_name
):
    # Rows labelled -1 train the logistic regression of the block scores (on
    # host); scoring applies it on device.
    X, y = _blobs(n=300)
    rng = np.random.RandomState(1)
    X_out = rng.uniform(-12, 12, size=(40, X.shape[1]))
    X_all, y_all = np.r_[X, X_out], np.r_[y, -np.ones(40, dtype=int)]
    params = {"feature_blocks": [2, 4], "contamination": 0.1}
    est_np, est_xp = _equivalence(
        params, namespace, device_name, dtype_name, X_all, y_all
    )
    assert est_xp.combiner_ is not None
    assert_allclose(
        est_xp.combiner_[-1].coef_, est_np.combiner_[-1].coef_, rtol=1e-4, atol=1e-6
    )


@pytest.mark.parametrize("namespace, device_name, dtype_name", ARRAY_API_PARAMS)
@pytest.mark.parametrize(
    "params",
    [
        {},
        {"covariance_type": "full", "feature_blocks": [2, 4]},
        {"covariance_type": "diag", "subspace": "top", "variance_threshold": 0.9},
        {"shrinkage": "oas", "subspace": "low_variance", "variance_threshold": 0.8},
    ],
)
def test_partial_fit_over_chunks_matches_numpy(
    params, namespace, device_name, dtype_name
):
    xp, device, dtype = _xp_and_device(namespace, device_name, dtype_name)
    X, y = _blobs(n=300)
    X = X.astype(dtype)
    order = np.argsort(y, kind="stable")  # classes appear one after the other
    chunks = np.array_split(order, 5)
    stream_np = GaussianMixtureOODDetector(**params)
    for chunk in chunks:
        stream_np.partial_fit(X[chunk], y[chunk])
    full_np = GaussianMixtureOODDetector(**params).fit(X, y)
    X_xp = xp.asarray(X, device=device)
    stream_xp = GaussianMixtureOODDetector(**params)
    with config_context(array_api_dispatch=True):
        for chunk in chunks:
            X_chunk = xp.asarray(X[chunk], device=device)
            stream_xp.partial_fit(X_chunk, xp.asarray(y[chunk], device=device))
        scores = stream_xp.score_samples(X_xp)
        _, _, scores_device = get_namespace_and_device(scores)
        assert str(scores_device) == str(device)
        for name in ("location_", "means_", "shrinkage_", "class_count_"):
            attr_xp, _, attr_device = get_namespace_and_device(getattr(stream_xp, name))
            assert attr_xp.__name__ == xp.__name__, name
            assert str(attr_device) == str(device), name
    assert_array_equal(stream_xp.classes_, stream_np.classes_)
    class_count = to_numpy(stream_xp.class_count_, xp)
    assert class_count.dtype == np.int64
    assert_array_equal(class_count, full_np.class_count_)
    assert_allclose(to_numpy(stream_xp.means_, xp), stream_np.means_, rtol=1e-10)
    assert_allclose(
        to_numpy(stream_xp.shrinkage_, xp), stream_np.shrinkage_, rtol=1e-8, atol=1e-12
    )
    rtol = 1e-4 if dtype == np.float32 else 1e-9
    scores = to_numpy(scores, xp)
    assert scores.dtype == dtype
    assert_allclose(scores, stream_np.score_samples(X), rtol=rtol, atol=rtol)
    assert_allclose(scores, full_np.score_samples(X), rtol=rtol, atol=rtol)
    # Out-of-fold calibration of the whole (short) stream, as fit does.
    assert_allclose(stream_xp.offset_, full_np.offset_, rtol=rtol)


@pytest.mark.parametrize("namespace, device_name, dtype_name", ARRAY_API_PARAMS)
def test_fitted_arrays_live_on_device_in_float64(namespace, device_name, dtype_name):
    # Every array attribute (lists of arrays included) is in X's namespace, on
    # X's device, with the numpy fit's dtype; classes_ stays numpy.
    xp, device, dtype = _xp_and_device(namespace, device_name, dtype_name)
    X, y = _blobs()
    labels = np.array(["a", "b", "c"])[y]  # string labels: host only
    params = {"covariance_type": "full", "subspace": "top", "variance_threshold": 0.9}
    est_np = GaussianMixtureOODDetector(**params).fit(X.astype(dtype), labels)
    with config_context(array_api_dispatch=True):
        est = GaussianMixtureOODDetector(**params).fit(
            xp.asarray(X, dtype=getattr(xp, dtype.name), device=device), labels
        )
        arrays = {
            name: value
            for name, value in vars(est).items()
            if name.endswith("_") and name != "classes_"
            if not isinstance(value, (int, float, str, dict, type(None)))
            and name not in ("combiner_",)
        }
        arrays |= {f"covariances_[{i}]": c for i, c in enumerate(est.covariances_)}
        arrays |= {
            f"subspace_components_[{i}]": c
            for i, c in enumerate(est.subspace_components_)
        }
        del arrays["subspace_components_"]  # covariances_: computed when read
        assert set(arrays) >= {"location_", "means_", "class_count_", "block_bounds_"}
        for name, value in arrays.items():
            value_xp, _, value_device = get_namespace_and_device(value)
            assert value_xp.__name__ == xp.__name__, name
            assert str(value_device) == str(device), name
    # covariances_ is computed when read: in the fitted arrays' namespace
    # even when read with dispatch off.
    for c in est.covariances_:
        assert array_namespace(c).__name__ == xp.__name__
    assert isinstance(est.classes_, np.ndarray)
    assert_array_equal(est.classes_, ["a", "b", "c"])
    for name in ("location_", "means_", "weights_", "shrinkage_", "block_bounds_"):
        got = to_numpy(getattr(est, name), xp)
        expected = getattr(est_np, name)
        assert got.dtype == expected.dtype, name
        assert_allclose(got, expected, rtol=1e-6, atol=1e-8, err_msg=name)


@pytest.mark.parametrize("namespace, device_name, dtype_name", ARRAY_API_PARAMS)
def test_chunked_device_scoring_and_pvalues(
    monkeypatch, namespace, device_name, dtype_name
):
    xp, device, dtype = _xp_and_device(namespace, device_name, dtype_name)
    X, y = _blobs(n=300)
    X = X.astype(dtype)
    params = {"covariance_type": "full", "feature_blocks": 2, "n_components": 2}
    est_np = GaussianMixtureOODDetector(random_state=0, **params).fit(X, y)
    X_xp = xp.asarray(X, device=device)
    with config_context(array_api_dispatch=True):
        est = GaussianMixtureOODDetector(random_state=0, **params).fit(X_xp, y)
        whole = est.score_samples(X_xp)
        whole_sq = est.mahalanobis(X_xp)
        pvalues = est.score_to_pvalue(X_xp)
        monkeypatch.setattr(_model, "_DEVICE_CHUNK_BYTES", 1)  # 64 rows
        chunked = est.score_samples(X_xp)
        chunked_sq = est.mahalanobis(X_xp)
    assert_allclose(to_numpy(chunked, xp), to_numpy(whole, xp), rtol=1e-6)
    assert_allclose(to_numpy(chunked_sq, xp), to_numpy(whole_sq, xp), rtol=1e-6)
    rtol = 1e-3 if dtype == np.float32 else 1e-9
    assert_allclose(to_numpy(whole, xp), est_np.score_samples(X), rtol=rtol)
    assert_allclose(
        to_numpy(pvalues, xp), est_np.score_to_pvalue(X), rtol=rtol, atol=1e-6
    )


def test_scoring_refuses_another_namespace():
    xp, device, _ = _xp_and_device("array_api_strict", "CPU_DEVICE", "float64")
    X, y = _blobs()
    with config_context(array_api_dispatch=True):
        est = GaussianMixtureOODDetector().fit(xp.asarray(X, device=device), y)
        for method in ("score_samples", "decision_function", "predict"):
            with pytest.raises(ValueError, match=rf"\.{method}\(\) must use the same"):
                getattr(est, method)(X)
        est_np = GaussianMixtureOODDetector().fit(X, y)
        with pytest.raises(ValueError, match="same namespace"):
            est_np.predict(xp.asarray(X, device=device))


@pytest.mark.parametrize("namespace, device_name, dtype_name", ARRAY_API_PARAMS)
@pytest.mark.parametrize(
    "params, scale",
    [
        ({"relative": True}, 1.0),
        ({"shrinkage_target": "diagonal", "subspace": "top"}, 1.0),
        ({"covariance_type": "full"}, 1e35),  # beyond 2^100: rescaled
        # Per-class covariances, so that the log-determinants differ (the
        # tied covariance that the choice would pick here ranks alike).
        (
            {"class_score": "log_density", "covariance_type": "full", "relative": True},
            1e35,
        ),
        ({"n_factors": 2}, 1.0),
    ],
    ids=["relative", "diagonal-top", "magnitude", "log-density", "factors"],
)
def test_defaults_choice_relative_and_magnitudes_match_numpy(
    params, scale, namespace, device_name, dtype_name
):
    # The model choice, the out-of-fold calibration, the relative distance
    # and the magnitude rescaling run on device as on numpy.
    X, y = _blobs()
    params = {"variance_threshold": 0.9, **params}
    est_np, est_xp = _equivalence(
        params, namespace, device_name, dtype_name, X * scale, y
    )
    _, _, dtype = _xp_and_device(namespace, device_name, dtype_name)
    assert est_xp.covariance_type_ == est_np.covariance_type_
    assert est_xp.shrinkage_target_ == est_np.shrinkage_target_
    assert est_xp.class_score_ == est_np.class_score_
    rtol = 1e-4 if dtype == np.float32 else 1e-10
    assert_allclose(est_xp.offset_, est_np.offset_, rtol=rtol)
