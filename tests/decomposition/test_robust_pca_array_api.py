"""RobustPCA on the array-API path (array-api-strict here, CuPy on a GPU)."""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn import config_context
from sklearn.exceptions import ConvergenceWarning

from skrep.datasets import make_low_rank_sparse
from skrep.decomposition import RobustPCA
from skrep.utils._array_api import to_numpy
from skrep.utils._compat import _array_api_for_tests
from skrep.utils._testing import array_api_params, check_array_api_equivalence

RANK = 3
METHODS = [
    ("pcp", {}),
    # 60 x 40 takes the dense SVD under "auto": exercise the range finder.
    ("pcp", {"svd_solver": "randomized"}),
    ("fixed_rank", {"n_components": RANK}),
    ("altproj", {"n_components": RANK}),
    ("stable", {}),
]


def _data(dtype=np.float64):
    return make_low_rank_sparse(60, 40, RANK, 0.05, dtype=dtype, random_state=0)


def _rel(a, b):
    return np.linalg.norm(a - b) / np.linalg.norm(b)


@pytest.mark.parametrize("method, params", METHODS)
@pytest.mark.parametrize("array_namespace, device_name, dtype_name", array_api_params())
def test_array_api_equals_numpy(
    method, params, array_namespace, device_name, dtype_name
):
    M, _, _ = _data()
    est = RobustPCA(method, random_state=0, **params)
    est_np, est_xp = check_array_api_equivalence(
        est,
        M,
        array_namespace=array_namespace,
        device_name=device_name,
        dtype_name=dtype_name,
        attributes=(
            "low_rank_",
            "sparse_",
            "outlier_mask_",
            "components_",
            "singular_values_",
            "mean_",
        ),
        methods=("transform", "fit_transform"),
    )
    xp, _ = _array_api_for_tests(array_namespace, device_name, dtype_name)
    # Same stopping rule and rank, and exactly the same support of S.
    assert est_xp.n_iter_ == est_np.n_iter_
    assert est_xp.rank_ == est_np.rank_ == est_xp.n_components_ == RANK
    mask = to_numpy(est_xp.outlier_mask_, xp)
    assert mask.dtype == np.bool_
    assert np.array_equal(mask, est_np.outlier_mask_)
    L_xp = to_numpy(est_xp.low_rank_, xp)
    tol = 1e-5 if dtype_name == "float32" else 1e-10
    assert _rel(L_xp, est_np.low_rank_) < tol


@pytest.mark.parametrize("method, params", METHODS)
def test_exact_recovery_array_api_strict(method, params):
    # Candes et al. (2011): L0 and the support of S0, on the array-API path.
    xp, device = _array_api_for_tests("array_api_strict", "device1", "float64")
    M, L, S = _data()
    with config_context(array_api_dispatch=True):
        est = RobustPCA(method, random_state=0, **params).fit(
            xp.asarray(M, device=device)
        )
        assert est.low_rank_.device == device
    assert est.rank_ == RANK
    assert _rel(to_numpy(est.low_rank_, xp), L) < 1e-6
    assert np.array_equal(to_numpy(est.outlier_mask_, xp), S != 0)
    assert_allclose(to_numpy(est.low_rank_ + est.sparse_, xp), M, atol=1e-5)


@pytest.mark.parametrize("array_namespace, device_name, dtype_name", array_api_params())
def test_transform_inverse_round_trip_in_xp(array_namespace, device_name, dtype_name):
    xp, device = _array_api_for_tests(array_namespace, device_name, dtype_name)
    dtype = np.dtype(dtype_name or "float64")
    M, L, _ = _data(dtype)
    atol = 1e-4 if dtype == np.float32 else 1e-8
    M_xp = xp.asarray(M, device=device)
    L_xp = xp.asarray(L, device=device)
    with config_context(array_api_dispatch=True):
        est = RobustPCA(random_state=0)
        Z = est.fit_transform(M_xp)
        # The clean rows project on the scores of the low-rank part...
        Z_clean = est.transform(L_xp)
        # ...and the scores map back to the low-rank part, all in xp.
        back = est.inverse_transform(Z)
        for out in (Z, Z_clean, back):
            assert type(out) is type(M_xp)
            assert out.device == M_xp.device
            assert out.dtype == M_xp.dtype
        names = est.get_feature_names_out()
        # Inputs in another namespace than the fit's are refused, clearly.
        with pytest.raises(ValueError, match=r"RobustPCA.transform\(\) must use"):
            est.transform(M)
        with pytest.raises(
            ValueError, match=r"RobustPCA.inverse_transform\(\) must use"
        ):
            est.inverse_transform(to_numpy(Z, xp))
    assert Z.shape == (60, RANK)
    # L is recovered to the tolerance of the fit only.
    assert_allclose(to_numpy(Z_clean, xp), to_numpy(Z, xp), atol=1e-4)
    assert_allclose(to_numpy(back, xp), to_numpy(est.low_rank_, xp), atol=atol)
    C = to_numpy(est.components_, xp)
    assert_allclose(C @ C.T, np.eye(RANK), atol=atol)
    assert names.tolist() == [f"robustpca{i}" for i in range(RANK)]


def test_zero_matrix_array_api_strict():
    xp, device = _array_api_for_tests("array_api_strict", "device1", "float64")
    with config_context(array_api_dispatch=True):
        est = RobustPCA().fit(xp.zeros((5, 4), device=device))
        Z = est.transform(xp.ones((2, 4), device=device))
    assert est.rank_ == 0
    assert Z.shape == (2, 0)
    assert est.components_.shape == (0, 4)
    assert est.mean_.device == device


@pytest.mark.parametrize("method, params", [METHODS[0], METHODS[3]])
def test_convergence_warning_array_api_strict(method, params, capsys):
    xp, device = _array_api_for_tests("array_api_strict", "device1", "float64")
    M, _, _ = _data()
    with config_context(array_api_dispatch=True):
        with pytest.warns(ConvergenceWarning, match="did not converge"):
            est = RobustPCA(method, max_iter=2, verbose=1, **params).fit(
                xp.asarray(M, device=device)
            )
    assert est.n_iter_ == 2
    assert "[RobustPCA]" in capsys.readouterr().out


@pytest.mark.parametrize("method, params", METHODS)
def test_missing_entries_and_new_rows_array_api_strict(method, params):
    # NaN (unobserved) entries and the l1 regression of new rows on the
    # array-API path, against numpy.
    xp, device = _array_api_for_tests("array_api_strict", "device1", "float64")
    M, L, _ = make_low_rank_sparse(200, 80, RANK, 0.05, random_state=1)
    X = np.where(np.random.RandomState(0).rand(*M.shape) < 0.1, np.nan, M)
    est_np = RobustPCA(method, random_state=0, **params).fit(X[:150])
    with config_context(array_api_dispatch=True):
        est = RobustPCA(method, random_state=0, **params).fit(
            xp.asarray(X[:150], device=device)
        )
        low_rank, sparse = est.decompose(xp.asarray(X[150:], device=device))
    assert _rel(to_numpy(est.low_rank_, xp), est_np.low_rank_) < 1e-8
    assert _rel(to_numpy(low_rank, xp), L[150:]) < 1e-5
    assert np.array_equal(np.isnan(to_numpy(sparse, xp)), np.isnan(X[150:]))


@pytest.mark.parametrize("array_namespace, device_name, dtype_name", array_api_params())
def test_extreme_magnitudes_in_xp(array_namespace, device_name, dtype_name):
    # The rescaling to units of the largest entry, and back, on the array-API
    # path: the same decomposition and scores as numpy at 1e-200 and 1e200
    # (float32: 1e-30 and 1e30), none zero or non-finite.
    xp, device = _array_api_for_tests(array_namespace, device_name, dtype_name)
    dtype = np.dtype(dtype_name or "float64")
    M = _data(dtype)[0]
    tol = 1e-5 if dtype == np.float32 else 1e-10
    for factor in (1e-30, 1e30) if dtype == np.float32 else (1e-200, 1e200):
        X = M * dtype.type(factor)
        est_np = RobustPCA(random_state=0).fit(X)
        with config_context(array_api_dispatch=True):
            est = RobustPCA(random_state=0).fit(xp.asarray(X, device=device))
            Z = to_numpy(est.transform(xp.asarray(X, device=device)), xp)
        assert est.n_components_ == est_np.n_components_ == RANK
        L = to_numpy(est.low_rank_, xp)
        assert _rel(L / factor, est_np.low_rank_ / factor) < tol
        assert np.isfinite(Z).all()
        assert _rel(Z / factor, est_np.transform(X) / factor) < 10 * tol
