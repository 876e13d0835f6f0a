"""The array-API path (CuPy, array-api-strict) of SDPKMeans and ILASDPClustering.

Each test fits the numpy path and the array-API path on the same small
heterogeneous mixture and compares them: the same partition, the same
fitted arrays (in the input's namespace, device and dtype), the objective
within 1e-6 relative. CuPy cases skip where there is no GPU.
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn import config_context
from sklearn.metrics import adjusted_rand_score

from skrep.cluster import ILASDPClustering, SDPKMeans
from skrep.cluster._nlr import project
from skrep.datasets import make_heterogeneous_mixture
from skrep.utils._array_api import get_namespace_and_device, to_numpy
from skrep.utils._compat import _array_api_for_tests
from skrep.utils._testing import array_api_params, check_array_api_equivalence

PARAMS = array_api_params()
IDS = [f"{ns}-{device}-{dtype}" for ns, device, dtype in PARAMS]


def _mixture(dtype_name, random_state=1):
    """n = 90, K = 3 clusters of scales 1, 1.5 and 2, well separated."""
    X, y = make_heterogeneous_mixture(
        90, 4, 3, separation=12.0, scales=(1.0, 1.5, 2.0), random_state=random_state
    )
    return X.astype(dtype_name or "float64"), y


def _assert_same_partition(labels_np, labels_xp, xp, truth):
    labels_xp = to_numpy(labels_xp, xp)
    assert labels_xp.dtype == labels_np.dtype == np.intp
    assert adjusted_rand_score(labels_np, labels_xp) == 1.0
    # well separated: both are the true partition
    assert adjusted_rand_score(truth, labels_np) == 1.0


def _assert_on_device(array, xp, device, dtype=None):
    with config_context(array_api_dispatch=True):
        got_xp, _, got_device = get_namespace_and_device(array)
    assert got_xp.__name__ == xp.__name__
    assert str(got_device) == str(device or got_device)
    if dtype is not None:
        assert to_numpy(array, xp).dtype == dtype


@pytest.mark.parametrize("array_namespace, device_name, dtype_name", PARAMS, ids=IDS)
@pytest.mark.parametrize("sketch", [None, 0.5])
def test_sdp_kmeans_array_api_matches_numpy(
    array_namespace, device_name, dtype_name, sketch
):
    X, truth = _mixture(dtype_name)
    # tol=1e-6: the solver's path depends on rounding, so its objective agrees
    # with the numpy path's to the solver's accuracy
    est = SDPKMeans(3, tol=1e-6, sketch=sketch, random_state=0)
    est_np, est_xp = check_array_api_equivalence(
        est,
        X,
        array_namespace=array_namespace,
        device_name=device_name,
        dtype_name=dtype_name,
        attributes=("labels_", "cluster_centers_"),
        methods=("predict",),
    )
    xp, device = _array_api_for_tests(array_namespace, device_name, dtype_name)
    _assert_same_partition(est_np.labels_, est_xp.labels_, xp, truth)
    assert_allclose(est_xp.objective_, est_np.objective_, rtol=1e-6)
    assert_allclose(est_xp.inertia_, est_np.inertia_, rtol=1e-6)
    assert_allclose(est_xp.scale_, est_np.scale_, rtol=1e-12)
    # the factor stays in the working precision, as on numpy
    _assert_on_device(est_xp.factor_, xp, device, est_np.factor_.dtype)
    assert est_xp.factor_.shape == est_np.factor_.shape


@pytest.mark.parametrize("array_namespace, device_name, dtype_name", PARAMS, ids=IDS)
@pytest.mark.parametrize("covariance_type", ["full", "diag", "spherical", "tied"])
def test_ilasdp_array_api_matches_numpy(
    array_namespace, device_name, dtype_name, covariance_type
):
    X, truth = _mixture(dtype_name)
    # (a small solver budget: the test is the equivalence of the namespaces,
    # and array_api_strict's steps cost milliseconds each)
    est = ILASDPClustering(
        3, covariance_type=covariance_type, random_state=0, solver_max_iter=1000
    )
    est_np, est_xp = check_array_api_equivalence(
        est,
        X,
        array_namespace=array_namespace,
        device_name=device_name,
        dtype_name=dtype_name,
        attributes=("labels_", "means_", "covariances_", "precisions_cholesky_"),
        methods=("predict",),
    )
    xp, device = _array_api_for_tests(array_namespace, device_name, dtype_name)
    _assert_same_partition(est_np.labels_, est_xp.labels_, xp, truth)
    assert_allclose(est_xp.objective_, est_np.objective_, rtol=1e-6)
    assert est_xp.n_iter_ == est_np.n_iter_
    assert est_xp.covariance_type_ == covariance_type
    _assert_on_device(est_xp.weights_, xp, device, est_np.weights_.dtype)
    assert_allclose(to_numpy(est_xp.weights_, xp), est_np.weights_)

    # log-likelihoods of new data, in the namespace of the input
    X_new, _ = _mixture(dtype_name, random_state=2)
    X_new_xp = xp.asarray(X_new, device=device)
    with config_context(array_api_dispatch=True):
        log_density = est_xp.score_samples(X_new_xp)
        score = est_xp.score(X_new_xp)
        labels_new = est_xp.predict(X_new_xp)
    expected = est_np.score_samples(X_new)
    _assert_on_device(log_density, xp, device, expected.dtype)
    assert_allclose(to_numpy(log_density, xp), expected, rtol=1e-6)
    assert isinstance(score, float)
    assert_allclose(score, est_np.score(X_new), rtol=1e-6)
    assert_array_equal(to_numpy(labels_new, xp), est_np.predict(X_new))


@pytest.mark.parametrize("array_namespace, device_name, dtype_name", PARAMS, ids=IDS)
def test_ilasdp_array_api_kmeans_init_spectral_rounding(
    array_namespace, device_name, dtype_name
):
    # the k-means++ start runs on host with the same random state; spectral
    # rounding (top singular vector of each factor) on the device
    X, truth = _mixture(dtype_name, random_state=3)
    est = ILASDPClustering(3, init="k-means++", rounding="spectral", random_state=0)
    est_np, est_xp = check_array_api_equivalence(
        est,
        X,
        array_namespace=array_namespace,
        device_name=device_name,
        dtype_name=dtype_name,
        attributes=("labels_", "means_", "covariances_"),
        methods=("predict",),
    )
    xp, _ = _array_api_for_tests(array_namespace, device_name, dtype_name)
    _assert_same_partition(est_np.labels_, est_xp.labels_, xp, truth)
    assert_allclose(est_xp.objective_, est_np.objective_, rtol=1e-6)


@pytest.mark.parametrize("array_namespace, device_name, dtype_name", PARAMS, ids=IDS)
def test_array_api_single_cluster_and_constant_data(
    array_namespace, device_name, dtype_name
):
    X, _ = _mixture(dtype_name)
    for est in (SDPKMeans(1), ILASDPClustering(1, covariance_type="diag")):
        check_array_api_equivalence(
            est,
            X,
            array_namespace=array_namespace,
            device_name=device_name,
            dtype_name=dtype_name,
            attributes=("labels_",),
            methods=("predict",),
        )
    xp, device = _array_api_for_tests(array_namespace, device_name, dtype_name)
    X_const = xp.ones(
        (10, 3), dtype=getattr(xp, dtype_name or "float64"), device=device
    )
    with config_context(array_api_dispatch=True):
        for est in (SDPKMeans(2), ILASDPClustering(2)):
            with pytest.raises(ValueError, match="identical"):
                est.fit(X_const)


@pytest.mark.parametrize("array_namespace, device_name, dtype_name", PARAMS, ids=IDS)
def test_array_api_projection_matches_numpy(array_namespace, device_name, dtype_name):
    # clipping at zero, rescaling each block to its trace, and a block
    # clipped to zero restarting from the uniform point
    xp, device = _array_api_for_tests(array_namespace, device_name, dtype_name)
    rng = np.random.RandomState(0)
    V = rng.standard_normal((7, 6))
    V[:, 4:] = -np.abs(V[:, 4:])
    traces = np.array([1.0, 2.0, 3.0])
    expected = project(V.copy(), traces, 2)
    got = project(
        xp.asarray(V, device=device), xp.asarray(traces, device=device), 2, xp=xp
    )
    _assert_on_device(got, xp, device, np.float64)
    assert_allclose(to_numpy(got, xp), expected, rtol=1e-12)
    assert_allclose(expected[:, 4:], np.sqrt(3.0 / 14))
