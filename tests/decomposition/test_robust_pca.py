"""Tests of RobustPCA (principal component pursuit and fixed-rank AltProj)."""

import re
import warnings

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
    with pytest.raises(ValueError, match="method"):
        RobustPCA("svd").fit(M)
    # NaN is an unobserved entry; infinity, empty rows or columns and too
    # few observed entries are refused, on fit and on new rows.
    bad = M.copy()
    bad[0, 0] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        RobustPCA().fit(bad)
    for index, what in (((3, slice(None)), "row"), ((slice(None), 4), "column")):
        bad = M.copy()
        bad[index] = np.nan
        with pytest.raises(ValueError, match=f"a {what} with no observed entry"):
            RobustPCA().fit(bad)
    bad = np.full_like(M, np.nan)  # two entries a row, three a column
    rows = np.arange(30)
    bad[rows, rows % 20], bad[rows, (rows + 1) % 20] = 1.0, 2.0
    with pytest.raises(ValueError, match="degrees of freedom of a rank-2"):
        RobustPCA("altproj", n_components=2).fit(bad)
    est = RobustPCA(random_state=0).fit(M)
    with pytest.raises(ValueError, match="infinity"):
        est.transform(np.full((1, 20), np.inf))
    with pytest.raises(ValueError, match="a row with no observed entry"):
        est.decompose(np.full((1, 20), np.nan))


def test_convergence_warning_and_verbose(capsys):
    M, _, _ = make_low_rank_sparse(40, 30, 2, 0.05, random_state=0)
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        est = RobustPCA(max_iter=2, verbose=1).fit(M)
    assert est.n_iter_ == 2
    assert "iter" in capsys.readouterr().out


PROGRESS = re.compile(
    r"^\[RobustPCA\] (iter|pilot) \d+/\d+: "
    r"(residual=\S+, rank=\d+|threshold=\S+, stage=\d+), \d+\.\d\ds$"
)


@pytest.mark.parametrize("method", ["pcp", "stable", "fixed_rank", "altproj"])
def test_one_progress_line_per_iteration(method, capsys):
    # Every iteration run prints one line in the shared format, the converging
    # one included; n_iter_ counts them and never exceeds max_iter. (Stable
    # PCP's pilot run, which estimates delta, prints its own "pilot" lines.)
    M, _, _ = make_low_rank_sparse(40, 30, 2, 0.05, random_state=0)
    for max_iter in (3, 1000):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est = RobustPCA(
                method, n_components=2, max_iter=max_iter, verbose=1, random_state=0
            ).fit(M)
        lines = capsys.readouterr().out.splitlines()
        assert all(PROGRESS.match(line) for line in lines), lines[:3]
        iters = [line for line in lines if " iter " in line]
        assert len(iters) == est.n_iter_ <= max_iter
        assert iters[-1].startswith(f"[RobustPCA] iter {est.n_iter_}/{max_iter}:")
        assert any(" pilot " in line for line in lines) == (method == "stable")
    assert est.n_iter_ < 1000  # the last fit converged


@pytest.mark.parametrize("method", ["pcp", "stable", "fixed_rank", "altproj"])
@pytest.mark.parametrize(
    "dtype, factor",
    [(np.float64, 1e-200), (np.float64, 1e200)]
    + [(np.float32, 1e-30), (np.float32, 1e30)],
)
def test_scale_equivariance_at_extreme_magnitudes(method, dtype, factor):
    # PCP and its variants give c L(X) on c X (likewise S, delta_, the scores
    # of new rows): at 1e-200 the norms used to underflow to 0 (n_components_
    # = 0, issue 20), at 1e200 they overflowed (NaN from transform).
    M, _, _ = make_low_rank_sparse(40, 30, 2, 0.05, random_state=1)
    M = M.astype(dtype)
    params = {"n_components": 2, "random_state": 0}
    est = RobustPCA(method, **params).fit(M)
    scaled = RobustPCA(method, **params).fit(M * dtype(factor))
    assert est.n_components_ == scaled.n_components_ == 2
    assert scaled.low_rank_.dtype == dtype
    rtol = 1e-5 if dtype == np.float32 else 1e-9
    assert rel(scaled.low_rank_ / dtype(factor), est.low_rank_) < rtol
    assert_allclose(
        scaled.singular_values_ / dtype(factor), est.singular_values_, rtol=rtol
    )
    if method == "stable":
        # Noise-free data: delta_ is at the rounding level of ||M||_F.
        norm = float(np.linalg.norm(M.astype(np.float64)))
        assert abs(scaled.delta_ / factor - est.delta_) < rtol * norm
    Z = scaled.transform(M * dtype(factor))
    assert np.isfinite(Z).all()
    assert rel(Z / dtype(factor), est.transform(M)) < 10 * rtol


def test_given_mu_is_in_the_units_of_X():
    M, _, _ = make_low_rank_sparse(40, 30, 2, 0.05, random_state=2)
    mu = 0.1 / np.linalg.norm(M, 2)
    est = RobustPCA(mu=mu, random_state=0).fit(M)
    scaled = RobustPCA(mu=mu / 1e150, random_state=0).fit(M * 1e150)
    assert est.n_iter_ == scaled.n_iter_
    assert rel(scaled.low_rank_ / 1e150, est.low_rank_) < 1e-9


def test_float32_overflow_is_refused():
    # Entries of +-2e38 fit in float32, the singular value of a 20 x 5
    # rank-one matrix of them (2e38 * 10) does not.
    rng = np.random.RandomState(0)
    signs = np.outer(rng.choice([-1, 1], 20), rng.choice([-1, 1], 5))
    with pytest.raises(ValueError, match="singular values of X cannot be repr"):
        RobustPCA(random_state=0).fit((2e38 * signs).astype(np.float32))
    # Rows 2e38 below a mean of 2e38 are 4e38 from it.
    X = (2e38 * (1 + 0.01 * rng.standard_normal((20, 5)))).astype(np.float32)
    est = RobustPCA(random_state=0).fit(X)
    assert np.isfinite(est.singular_values_).all()
    with pytest.raises(ValueError, match="X - mean_ cannot be represented in float32"):
        est.transform(-X)


def test_zero_matrix():
    est = RobustPCA().fit(np.zeros((5, 4)))
    assert est.rank_ == 0
    assert est.transform(np.ones((2, 4))).shape == (2, 0)


FIXED_RANK = {"pcp": {}, "stable": {}, "fixed_rank": {"n_components": 5}}
FIXED_RANK["altproj"] = FIXED_RANK["fixed_rank"]


@pytest.mark.parametrize("method", ["pcp", "stable", "fixed_rank", "altproj"])
def test_new_rows_recovered(method):
    # Fit on some rows, decompose new rows corrupted the same way: their
    # clean part comes back to the accuracy of the fit (a least-squares
    # projection spreads each gross entry over the row: error of order 1).
    M, L, S = make_low_rank_sparse(600, 200, 5, 0.05, random_state=0)
    est = RobustPCA(method, random_state=0, **FIXED_RANK[method]).fit(M[:300])
    fit_error = rel(est.low_rank_, L[:300])
    assert fit_error < 1e-5
    low_rank, sparse = est.decompose(M[300:])
    assert rel(low_rank, L[300:]) < max(3 * fit_error, 1e-6)
    assert_allclose(low_rank + sparse, M[300:], atol=1e-10)
    assert np.array_equal(np.abs(sparse) > 1e-4, S[300:] != 0)
    assert_allclose(est.inverse_transform(est.transform(M[300:])), low_rank)
    least_squares = (M[300:] - est.mean_) @ est.components_.T @ est.components_
    assert rel(least_squares + est.mean_, L[300:]) > 0.5
    # Clean rows are left as they are.
    clean = est.inverse_transform(est.transform(L[300:]))
    assert rel(clean, L[300:]) < max(3 * fit_error, 1e-6)


def test_row_decomposition_is_the_l1_regression():
    # Against an exact linear program (scipy's HiGHS) on rows with dense noise
    # and gross entries, where the l1 fit is not the clean row: the inexact
    # ALM's growing penalty stops it within 1e-3 of the optimal objective.
    from scipy.optimize import linprog

    M, _, _ = make_low_rank_sparse(200, 60, 3, 0.05, noise=0.01, random_state=1)
    est = RobustPCA("fixed_rank", n_components=3, random_state=0).fit(M[:150])
    Z = est.transform(M[150:160])
    V, k, n = est.components_, 3, M.shape[1]
    for z, x in zip(Z, M[150:160] - est.mean_, strict=True):
        # min 1't  s.t.  -t <= x - V'z <= t, variables (z, t).
        c = np.r_[np.zeros(k), np.ones(n)]
        A = np.block([[-V.T, -np.eye(n)], [V.T, -np.eye(n)]])
        bounds = [(None, None)] * k + [(0, None)] * n
        res = linprog(c, A_ub=A, b_ub=np.r_[-x, x], bounds=bounds)
        assert res.fun <= np.abs(x - z @ V).sum() <= res.fun * (1 + 1e-3)


@pytest.mark.parametrize("method", ["pcp", "fixed_rank", "altproj"])
def test_missing_entries(method):
    # 20 % of the entries unobserved (NaN) and 5 % gross: L is recovered
    # everywhere, the corrupted observed entries are found, and new rows
    # with missing entries are decomposed too.
    M, L, S = make_low_rank_sparse(500, 200, 5, 0.05, random_state=2)
    missing = np.random.RandomState(3).rand(*M.shape) < 0.2
    X = np.where(missing, np.nan, M)
    X0 = X.copy()
    est = RobustPCA(method, random_state=0, **FIXED_RANK[method]).fit(X[:400])
    assert_allclose(X, X0)  # input untouched
    assert rel(est.low_rank_, L[:400]) < 1e-5
    assert est.rank_ == 5
    assert np.isfinite(est.low_rank_).all()
    assert np.array_equal(np.isnan(est.sparse_), missing[:400])
    assert np.array_equal(est.outlier_mask_, (S[:400] != 0) & ~missing[:400])
    low_rank, sparse = est.decompose(X[400:])
    assert rel(low_rank, L[400:]) < 1e-5
    assert np.array_equal(np.isnan(sparse), missing[400:])


def noisy_case(seed):
    # The case: dense noise at 7 % of ||L||_F on top of 5 % gross.
    M, L, S = make_low_rank_sparse(300, 200, 10, 0.05, random_state=seed)
    sigma = 0.07 * np.linalg.norm(L) / np.sqrt(M.size)
    return M + sigma * np.random.RandomState(seed + 10).randn(*M.shape), L, sigma


def test_stable_pcp_on_dense_noise():
    # Zhou et al. (2010): the error of stable PCP is at the noise level, with
    # the noise level estimated from the data; PCP fits the noise instead
    # (rank about 120).
    for seed in range(3):
        M, L, sigma = noisy_case(seed)
        est = RobustPCA("stable", random_state=0).fit(M)
        assert est.rank_ == 10
        assert rel(est.low_rank_, L) < 0.07 * 0.65
        delta = sigma * np.sqrt(M.size + np.sqrt(8 * M.size))
        assert abs(est.delta_ / delta - 1) < 0.05
    with pytest.warns(ConvergenceWarning):
        pcp = RobustPCA(random_state=0, max_iter=20).fit(M)
    assert pcp.rank_ > 50


def test_stable_pcp_agrees_with_cvxpy():
    # The program solved exactly by cvxpy, then the same truncation of the
    # singular values below the noise's spectral norm.
    cp = pytest.importorskip("cvxpy")
    M0, _, _ = make_low_rank_sparse(40, 30, 2, 0.05, random_state=0)
    M = M0 + 0.01 * np.random.RandomState(0).randn(*M0.shape)
    delta, lam = 0.3, 1 / np.sqrt(40)
    est = RobustPCA("stable", delta=delta, random_state=0).fit(M)
    L, S = cp.Variable(M.shape), cp.Variable(M.shape)
    objective = cp.normNuc(L) + lam * cp.sum(cp.abs(S))
    problem = cp.Problem(cp.Minimize(objective), [cp.norm(M - L - S, "fro") <= delta])
    problem.solve()
    U, s, Vt = np.linalg.svd(L.value, full_matrices=False)
    sigma = delta / np.sqrt(M.size + np.sqrt(8 * M.size))
    keep = s > sigma * (np.sqrt(40) + np.sqrt(30))
    assert est.rank_ == keep.sum() == 2
    assert rel(est.low_rank_, (U[:, keep] * s[keep]) @ Vt[keep]) < 0.01
    assert rel(est.sparse_, S.value) < 0.01


def test_stable_pcp_without_noise_is_pcp():
    M, L, _ = make_low_rank_sparse(200, 150, 5, 0.05, random_state=4)
    est = RobustPCA("stable", random_state=0).fit(M)
    assert rel(est.low_rank_, L) < 1e-5
    assert est.rank_ == 5


def test_elementwise_steps_in_row_blocks_on_threads():
    # Large matrices split the ALM's elementwise steps into row blocks run on
    # threads: the same numbers as one block, masked or not, stable or not.
    from skrep.decomposition._robust_pca import _dual_step, _in_blocks, _sparse_step

    rng = np.random.RandomState(0)
    MZ, W0, L, L_new, dZ = (rng.standard_normal((7, 5)) for _ in range(5))
    observed = rng.rand(7, 5) > 0.2
    blocks = [slice(0, 3), slice(3, 7)]
    for mask, change in ((None, None), (observed, dZ)):
        results = []
        for split in ([slice(0, 7)], blocks):
            T, A, W = np.empty((7, 5)), np.empty((7, 5)), W0.copy()
            _in_blocks(_sparse_step, split, 2, MZ, W, L, 0.5, mask, T, A)
            A_before = A.copy()
            sq = sum(_in_blocks(_dual_step, split, 2, A, L_new, W, 0.7, change))
            results.append((T, A_before, A, W, sq))
        for one, threaded in zip(*results, strict=True):
            assert_allclose(threaded, one, rtol=1e-14)
        T, A_before, D, W, sq = results[0]
        C = np.clip(T, -0.5, 0.5) * (1 if mask is None else mask)
        assert_allclose(A_before, L + C)
        R = A_before - L_new - (0 if change is None else change) - W0
        assert_allclose(sq, (R**2).sum())
        assert_allclose(W, 0.7 * (R + W0))


@pytest.mark.parametrize("method", ["pcp", "stable"])
def test_fit_in_uneven_row_blocks_on_threads(monkeypatch, method):
    # A whole fit whose elementwise steps run in three uneven row blocks on
    # threads gives the fit of one block (the squared residual summed by
    # block: equal to rounding), masked or not.
    from skrep.decomposition import _robust_pca

    M, _, _ = make_low_rank_sparse(90, 40, 2, 0.05, random_state=0)
    M = M + 1e-3 * np.random.RandomState(1).standard_normal(M.shape)
    Mm = np.where(np.random.RandomState(2).rand(*M.shape) < 0.1, np.nan, M)
    fits = []
    for uneven in (False, True):
        if uneven:
            monkeypatch.setattr(
                _robust_pca,
                "_row_blocks",
                lambda m, n, n_jobs, ops: [
                    slice(0, 7),
                    slice(7, m - 5),
                    slice(m - 5, m),
                ],
            )
        fits.append(
            [RobustPCA(method, n_jobs=2, random_state=0).fit(X) for X in (M, Mm)]
        )
    for one, blocked in zip(*fits, strict=True):
        assert blocked.n_iter_ == one.n_iter_
        scale = np.abs(one.low_rank_).max()
        assert_allclose(blocked.low_rank_, one.low_rank_, rtol=0, atol=1e-12 * scale)
        assert_allclose(blocked.sparse_, one.sparse_, rtol=0, atol=1e-12 * scale)
