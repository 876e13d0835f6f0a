"""Tests of RobustPCA (principal component pursuit and fixed-rank AltProj)."""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from skrep.datasets import make_low_rank_sparse
from skrep.decomposition import RobustPCA


def ialm_full_svd(M, tol=1e-7, max_iter=1000):
    """Inexact ALM of Lin, Chen & Ma written plainly, one full SVD a step."""
    m, n = M.shape
    lam = 1.0 / np.sqrt(max(m, n))
    norm_two = np.linalg.norm(M, 2)
    Y = M / max(norm_two, np.abs(M).max() / lam)
    mu = 1.25 / norm_two
    mu_bar = mu * 1e7
    L = np.zeros_like(M)
    for _ in range(max_iter):
        T = M - L + Y / mu
        S = np.sign(T) * np.maximum(np.abs(T) - lam / mu, 0)
        U, s, Vt = np.linalg.svd(M - S + Y / mu, full_matrices=False)
        L = (U * np.maximum(s - 1 / mu, 0)) @ Vt
        Z = M - L - S
        Y = Y + mu * Z
        if np.linalg.norm(Z) / np.linalg.norm(M) < tol:
            break
        mu = min(mu * 1.5, mu_bar)
    return L, S


def rel(a, b):
    return np.linalg.norm(a - b) / np.linalg.norm(b)


CASES = [((200, 200), 10, 0.05), ((500, 500), 25, 0.1), ((2000, 500), 5, 0.05)]


@pytest.mark.parametrize(
    "shape, rank, sparsity, method",
    [(*case, method) for case in CASES for method in ("pcp", "fixed_rank")]
    # Rank 25 with 10 % corruptions is outside AltProj's regime (about
    # n / (mu^2 r) corruptions per row at most); PCP handles it.
    + [(*case, "altproj") for case in CASES if case[1] != 25],
)
def test_exact_recovery(shape, rank, sparsity, method):
    # Candes et al. (2011, sec. 4): L0 and the support of S0 recovered.
    M, L, S = make_low_rank_sparse(*shape, rank, sparsity, random_state=0)
    kwargs = {"n_components": rank} if method != "pcp" else {}
    est = RobustPCA(method, random_state=0, **kwargs).fit(M)
    assert rel(est.low_rank_, L) < 1e-6
    assert est.rank_ == rank
    assert np.array_equal(est.outlier_mask_, S != 0)
    assert_allclose(est.low_rank_ + est.sparse_, M, atol=1e-5)


def test_agrees_with_full_svd_reference():
    M, _, _ = make_low_rank_sparse(150, 120, 6, 0.08, random_state=1)
    L_ref, S_ref = ialm_full_svd(M)
    est = RobustPCA(random_state=0).fit(M)
    assert rel(est.low_rank_, L_ref) < 1e-6
    assert rel(est.sparse_, S_ref) < 1e-6
    # The partial SVD thresholds exactly: the same path as dense SVDs.
    est_full = RobustPCA(svd_solver="full").fit(M)
    assert est.n_iter_ == est_full.n_iter_
    assert rel(est.low_rank_, est_full.low_rank_) < 1e-6
    est_rand = RobustPCA(svd_solver="randomized", random_state=0).fit(M)
    assert rel(est_rand.low_rank_, L_ref) < 1e-6


def test_components_transform_and_inverse():
    M, L, S = make_low_rank_sparse(120, 60, 4, 0.05, random_state=2)
    est = RobustPCA(random_state=0)
    Z = est.fit_transform(M)
    assert Z.shape == (120, est.n_components_) == (120, 4)
    assert_allclose(Z, (est.low_rank_ - est.mean_) @ est.components_.T, atol=1e-8)
    # The clean rows project to the scores of the low-rank part...
    assert_allclose(est.transform(L), Z, atol=1e-5)
    # ...and scores map back to the low-rank part.
    assert_allclose(est.inverse_transform(Z), est.low_rank_, atol=1e-8)
    assert_allclose(est.components_ @ est.components_.T, np.eye(4), atol=1e-10)
    assert_allclose(est.mean_, L.mean(axis=0), atol=1e-5)
    s = np.linalg.svd(L - L.mean(axis=0), compute_uv=False)[:4]
    assert_allclose(est.singular_values_, s, rtol=1e-5)
    assert est.get_feature_names_out().tolist() == [f"robustpca{i}" for i in range(4)]
    # n_components caps the components kept for transform.
    est2 = RobustPCA(n_components=2, random_state=0).fit(M)
    assert est2.transform(M).shape == (120, 2)
    assert est2.rank_ == 4


def test_float32_preserved():
    M, L, _ = make_low_rank_sparse(100, 80, 3, 0.05, dtype=np.float32, random_state=0)
    for method in ("pcp", "fixed_rank", "altproj"):
        est = RobustPCA(method, n_components=3, random_state=0).fit(M)
        assert est.low_rank_.dtype == np.float32
        assert est.components_.dtype == np.float32
        assert est.transform(M).dtype == np.float32
        assert rel(est.low_rank_, L) < 1e-4


def test_fixed_rank_methods_cap_the_rank_on_noisy_data():
    M, L, _ = make_low_rank_sparse(150, 100, 4, 0.05, noise=1e-3, random_state=4)
    for method in ("fixed_rank", "altproj"):
        est = RobustPCA(method, n_components=4, random_state=0).fit(M)
        assert est.rank_ == 4
        assert rel(est.low_rank_, L) < 0.05


def test_in_pipeline_and_input_untouched():
    M, _, _ = make_low_rank_sparse(60, 40, 2, 0.05, random_state=3)
    M0 = M.copy()
    pipe = make_pipeline(FunctionTransformer(), RobustPCA(random_state=0))
    assert pipe.fit_transform(M).shape == (60, 2)
    assert_allclose(M, M0)


def test_bad_input():
    M, _, _ = make_low_rank_sparse(30, 20, 2, 0.05, random_state=0)
    with pytest.raises(ValueError, match="n_components=25 must be at most"):
        RobustPCA(n_components=25).fit(M)
    with pytest.raises(ValueError, match="set n_components"):
        RobustPCA("fixed_rank").fit(M)
    M[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        RobustPCA().fit(M)
    with pytest.raises(ValueError, match="method"):
        RobustPCA("svd").fit(M)


def test_convergence_warning_and_verbose(capsys):
    M, _, _ = make_low_rank_sparse(40, 30, 2, 0.05, random_state=0)
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        est = RobustPCA(max_iter=2, verbose=1).fit(M)
    assert est.n_iter_ == 2
    assert "iter" in capsys.readouterr().out


def test_zero_matrix():
    est = RobustPCA().fit(np.zeros((5, 4)))
    assert est.rank_ == 0
    assert est.transform(np.ones((2, 4))).shape == (2, 0)
