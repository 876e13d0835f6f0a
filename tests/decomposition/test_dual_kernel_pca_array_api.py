"""DualKernelPCA on array-API inputs (array-api-strict; CuPy where a GPU is)."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn import config_context
from sklearn.metrics.pairwise import pairwise_kernels

from skrep.decomposition import DualKernelPCA
from skrep.utils._array_api import get_namespace_and_device, to_numpy
from skrep.utils._compat import _array_api_for_tests
from skrep.utils._testing import array_api_params, check_array_api_equivalence

PARAMS = pytest.mark.parametrize(
    "array_namespace, device_name, dtype_name", array_api_params()
)


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    X = rng.standard_normal((80, 5))
    X[:, 0] *= 3.0
    return X


def _assert_on(array, xp, device, dtype, what):
    with config_context(array_api_dispatch=True):
        got_xp, _, got_device = get_namespace_and_device(array)
    assert got_xp.__name__ == xp.__name__, what
    assert str(got_device) == str(device or got_device), what
    assert to_numpy(array, xp).dtype == dtype, what


def _assert_close_up_to_sign(got, expected, rtol, what):
    # Columns are defined up to sign: align each on the reference first.
    signs = np.where(np.sum(got * expected, axis=0) < 0, -1.0, 1.0)
    atol = rtol * max(1.0, np.abs(expected).max())
    assert_allclose(got * signs, expected, rtol=rtol, atol=atol, err_msg=what)


def _check(estimator, X, array_namespace, device_name, dtype_name, inverse=False):
    """Fit on numpy and on ``xp``; compare everything the brief names."""
    dtype = np.dtype(dtype_name or "float64")
    rtol = 1e-6 if dtype == np.float64 else 1e-4
    X = np.asarray(X, dtype=dtype)
    # The numpy path computes in float64 whatever the input: its fitted
    # arrays are float64, and scikit-learn's array-API checks want the same
    # dtypes on the xp path; only X_fit_ and transform() keep the input dtype.
    attributes = ("X_fit_", "support_")
    if dtype == np.float64:
        attributes += ("eigenvalues_", "explained_variance_ratio_")
    est_np, est_xp = check_array_api_equivalence(
        estimator,
        X,
        array_namespace=array_namespace,
        device_name=device_name,
        dtype_name=dtype_name,
        attributes=attributes,
        rtol=rtol,
        atol=0.0 if dtype == np.float64 else 1e-6,
    )
    xp, device = _array_api_for_tests(array_namespace, device_name, dtype_name)
    assert est_xp.n_support_ == est_np.n_support_
    assert est_xp.n_iter_ == est_np.n_iter_
    for name in (
        "eigenvalues_",
        "explained_variance_ratio_",
        "dual_coef_",
        "eigenvectors_",
    ):
        expected = getattr(est_np, name)
        got = getattr(est_xp, name)
        _assert_on(got, xp, device, expected.dtype, name)
        if name in ("eigenvalues_", "explained_variance_ratio_"):
            assert_allclose(to_numpy(got, xp), expected, rtol=1e-6, err_msg=name)
        else:
            _assert_close_up_to_sign(to_numpy(got, xp), expected, 1e-6, name)

    X_xp = xp.asarray(X, device=device)
    with config_context(array_api_dispatch=True):
        scores = est_xp.transform(X_xp)
        pre_images = est_xp.inverse_transform(scores) if inverse else None
    _assert_on(scores, xp, device, dtype, "transform()")
    expected_scores = est_np.transform(X)
    _assert_close_up_to_sign(to_numpy(scores, xp), expected_scores, rtol, "transform()")
    if inverse:
        expected = est_np.inverse_transform(est_np.transform(X))
        _assert_on(pre_images, xp, device, expected.dtype, "inverse_transform()")
        assert_allclose(
            to_numpy(pre_images, xp),
            expected,
            rtol=rtol,
            atol=rtol,
            err_msg="inverse_transform()",
        )
    return est_np, est_xp


@PARAMS
@pytest.mark.parametrize(
    "kernel, params",
    [
        ("rbf", {"gamma": 0.1}),
        ("laplacian", {"gamma": 0.1}),
        ("poly", {"gamma": 0.2, "degree": 3, "coef0": 1.0}),
        ("linear", {}),
        ("cosine", {}),
        ("sigmoid", {"gamma": 0.01, "coef0": 0.5}),
    ],
)
def test_kernels_match_numpy(
    data, kernel, params, array_namespace, device_name, dtype_name
):
    est = DualKernelPCA(3, kernel=kernel, random_state=0, **params)
    _check(est, data, array_namespace, device_name, dtype_name)


@PARAMS
def test_callable_kernel_runs_on_host_blocks(
    data, array_namespace, device_name, dtype_name
):
    def kernel(a, b):
        return np.exp(-0.1 * np.sum((a - b) ** 2))

    est = DualKernelPCA(2, kernel=kernel, random_state=0)
    _check(est, data[:40], array_namespace, device_name, dtype_name)


@PARAMS
def test_precomputed_kernel(data, array_namespace, device_name, dtype_name):
    K = pairwise_kernels(data, metric="rbf", gamma=0.1)
    est = DualKernelPCA(3, kernel="precomputed", random_state=0)
    _check(est, K, array_namespace, device_name, dtype_name)


@PARAMS
@pytest.mark.parametrize(
    "loss, solver, loss_param",
    [
        ("squared", "lanczos", "auto"),
        ("squared", "gradient", "auto"),
        ("squared", "nystroem", "auto"),
        ("huber", "auto", "auto"),
        ("huber", "gradient", 0.5),
        ("huber", "nystroem", "auto"),
        ("epsilon_insensitive", "lanczos", "auto"),
        ("epsilon_insensitive", "gradient", 0.5),
    ],
)
def test_losses_and_solvers_match_numpy(
    data, loss, solver, loss_param, array_namespace, device_name, dtype_name
):
    est = DualKernelPCA(
        3,
        gamma=0.1,
        loss=loss,
        loss_param=loss_param,
        solver=solver,
        n_landmarks=40,
        max_iter=2000,
        tol=1e-10,
        random_state=0,
    )
    est_np, est_xp = _check(est, data, array_namespace, device_name, dtype_name)
    if loss == "epsilon_insensitive":
        # The sparse loss keeps only some rows: the same ones on both paths.
        assert 0 < est_xp.n_support_ < data.shape[0]
        assert est_xp._loss_radius_ == pytest.approx(est_np._loss_radius_)


@PARAMS
@pytest.mark.parametrize(
    "kernel, loss", [("rbf", "squared"), ("rbf", "huber"), ("linear", "squared")]
)
def test_block_krylov_on_row_blocks(
    kernel, loss, array_namespace, device_name, dtype_name
):
    # n above the dense threshold (restarted block Krylov with Cholesky QR;
    # the rank-3 linear kernel makes the Krylov blocks rank deficient, which
    # takes the xp.linalg.qr completion) and a working memory below the
    # n x n matrix (products by row blocks).
    rng = np.random.RandomState(1)
    X = rng.standard_normal((320, 3))
    est = DualKernelPCA(3, kernel=kernel, gamma=0.2, loss=loss, random_state=0)
    with config_context(working_memory=0.3):
        _check(est, X, array_namespace, device_name, dtype_name)


@PARAMS
@pytest.mark.parametrize("solver", ["auto", "nystroem"])
def test_inverse_transform_matches_numpy(
    data, solver, array_namespace, device_name, dtype_name
):
    est = DualKernelPCA(
        3,
        gamma=0.1,
        solver=solver,
        n_landmarks=40,
        fit_inverse_transform=True,
        random_state=0,
    )
    _check(est, data, array_namespace, device_name, dtype_name, inverse=True)


@PARAMS
def test_transform_needs_the_fit_namespace(
    data, array_namespace, device_name, dtype_name
):
    xp, device = _array_api_for_tests(array_namespace, device_name, dtype_name)
    X_xp = xp.asarray(data.astype(dtype_name or "float64"), device=device)
    with config_context(array_api_dispatch=True):
        est = DualKernelPCA(2, random_state=0).fit(X_xp)
        with pytest.raises(ValueError, match="must use the same namespace"):
            est.transform(data)


def test_tags_declare_array_api_support():
    assert DualKernelPCA().__sklearn_tags__().array_api_support


def test_support_indices_are_int64(data):
    xp, device = _array_api_for_tests("array_api_strict", "CPU_DEVICE", "float64")
    est = DualKernelPCA(2, loss="epsilon_insensitive", random_state=0)
    with config_context(array_api_dispatch=True):
        est.fit(xp.asarray(data, device=device))
    support = to_numpy(est.support_, xp)
    assert support.dtype == np.int64
    assert_array_equal(support, np.sort(support))
