import numpy as np
import pytest
from scipy.linalg import subspace_angles
from sklearn import config_context
from sklearn.datasets import load_digits
from sklearn.decomposition import KernelPCA
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.metrics.pairwise import pairwise_kernels
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skrep.decomposition import DualKernelPCA


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    return rng.randn(400, 6) * np.r_[3.0, 2.0, 1.0, 1.0, 0.5, 0.5]


def _assert_matches_sklearn(ours, ref, X_new):
    scale = ref.eigenvalues_[0]
    np.testing.assert_allclose(ours.eigenvalues_, ref.eigenvalues_, atol=1e-6 * scale)
    A, B = ref.transform(X_new), ours.transform(X_new)
    signs = np.sign(np.sum(A * B, axis=0))
    np.testing.assert_allclose(B * signs, A, atol=1e-6 * np.abs(A).max())


@pytest.mark.parametrize(
    "kernel, params",
    [
        ("rbf", {"gamma": 0.05}),
        ("poly", {"gamma": 0.1, "degree": 2, "coef0": 1.0}),
        ("linear", {}),
        ("cosine", {}),
        ("sigmoid", {"gamma": 0.01, "coef0": 0.0}),
    ],
)
def test_squared_loss_is_kernel_pca(data, kernel, params):
    ref = KernelPCA(4, kernel=kernel, eigen_solver="dense", **params).fit(data)
    ours = DualKernelPCA(4, kernel=kernel, random_state=0, **params).fit(data)
    _assert_matches_sklearn(ours, ref, data[:40])
    assert ours.n_support_ == data.shape[0]
    # At the optimum the dual objective is minus half the top eigenvalues.
    assert ours.objective_ == pytest.approx(-0.5 * ref.eigenvalues_.sum())


def test_laplacian_and_callable_kernels_match_eigendecomposition(data):
    X = data[:120]
    K = pairwise_kernels(X, metric="laplacian", gamma=0.1)
    K = K - K.mean(0) - K.mean(1)[:, None] + K.mean()
    top = np.linalg.eigvalsh(K)[::-1][:3]
    for kernel, kwargs in [
        ("laplacian", {"gamma": 0.1}),
        (lambda a, b: np.exp(-0.1 * np.abs(a - b).sum()), {}),
    ]:
        ours = DualKernelPCA(3, kernel=kernel, random_state=0, **kwargs).fit(X)
        np.testing.assert_allclose(ours.eigenvalues_, top, rtol=1e-8)


def test_precomputed_kernel(data):
    K = pairwise_kernels(data, metric="rbf", gamma=0.05)
    ref = KernelPCA(4, kernel="precomputed", eigen_solver="dense").fit(K)
    ours = DualKernelPCA(4, kernel="precomputed", random_state=0).fit(K)
    _assert_matches_sklearn(ours, ref, K[:30])
    assert ours.explained_variance_ratio_.sum() < 1


def test_never_needs_the_gram_matrix(data):
    # With a working memory too small for the n x n matrix the products are
    # computed from tiles of rows: same solution (both solved far below the
    # default tol, so that the comparison is of the products, not of two
    # stopping points).
    ref = DualKernelPCA(4, gamma=0.05, tol=1e-13, random_state=0).fit(data)
    with config_context(working_memory=0.05):
        blocked = DualKernelPCA(4, gamma=0.05, tol=1e-13, random_state=0).fit(data)
    assert blocked.n_features_in_ == 6
    np.testing.assert_allclose(blocked.eigenvalues_, ref.eigenvalues_, rtol=1e-8)
    np.testing.assert_allclose(
        np.abs(blocked.transform(data[:20])),
        np.abs(ref.transform(data[:20])),
        atol=1e-8,
    )
    np.testing.assert_allclose(
        blocked.explained_variance_ratio_, ref.explained_variance_ratio_, rtol=1e-8
    )


def test_gradient_solver_reaches_the_same_subspace(data):
    ref = DualKernelPCA(3, gamma=0.05, random_state=0).fit(data)
    dca = DualKernelPCA(
        3, gamma=0.05, solver="gradient", tol=1e-12, max_iter=3000, random_state=0
    ).fit(data)
    np.testing.assert_allclose(dca.eigenvalues_, ref.eigenvalues_, rtol=1e-3)
    angles = subspace_angles(ref.transform(data), dca.transform(data))
    assert np.sin(angles.max()) < 1e-2


def test_nystroem_approximates_exact_solution(data):
    exact = DualKernelPCA(3, gamma=0.05, random_state=0).fit(data)
    approx = DualKernelPCA(
        3, gamma=0.05, solver="nystroem", n_landmarks=100, random_state=0
    ).fit(data)
    np.testing.assert_allclose(approx.eigenvalues_, exact.eigenvalues_, rtol=0.05)
    angles = subspace_angles(exact.transform(data), approx.transform(data))
    assert np.sin(angles.max()) < 0.1
    assert approx.X_fit_.shape == (100, 6)


def test_huber_loss_resists_outlying_rows():
    # 10% of the rows are gross outliers in random directions; the Huber
    # variant with kappa at the median dual-row norm (rows capped at the
    # bulk's size; the default radius caps only rows outside the bulk in
    # feature space, and these are not: see test_dual_kernel_pca_robustness)
    # stays closer to the inliers' own kernel PCA.
    ratios = []
    for seed in range(3):
        rng = np.random.RandomState(seed)
        inliers = rng.randn(270, 10) * np.r_[3.0, 2.0, np.full(8, 0.5)]
        outliers = rng.randn(30, 10)
        outliers *= 12 / np.linalg.norm(outliers, axis=1, keepdims=True)
        X = np.vstack([inliers, outliers])
        truth = DualKernelPCA(2, kernel="linear", random_state=0).fit(inliers)
        reference = truth.transform(inliers)
        squared = DualKernelPCA(2, kernel="linear", random_state=0).fit(X)
        dual_rows = squared.eigenvectors_ * np.sqrt(squared.eigenvalues_)
        kappa = {
            "squared": "auto",
            "huber": np.median(np.linalg.norm(dual_rows, axis=1)),
        }
        errors = [
            np.sin(
                subspace_angles(
                    reference,
                    DualKernelPCA(
                        2,
                        kernel="linear",
                        loss=loss,
                        loss_param=kappa[loss],
                        random_state=0,
                    )
                    .fit(X)
                    .transform(inliers),
                ).max()
            )
            for loss in ("squared", "huber")
        ]
        ratios.append(errors[1] / errors[0])
    # About 25% smaller principal-angle error on every seed.
    assert max(ratios) < 0.9
    assert np.mean(ratios) < 0.85


def test_epsilon_insensitive_loss_is_sparse_and_keeps_variance():
    X, _ = load_digits(return_X_y=True)
    X = X[:400]
    dense = DualKernelPCA(5, gamma=1e-3, random_state=0).fit(X)
    sparse = DualKernelPCA(
        5, gamma=1e-3, loss="epsilon_insensitive", random_state=0
    ).fit(X)
    assert sparse.n_support_ < 0.6 * X.shape[0]
    assert sparse.dual_coef_.shape == (sparse.n_support_, 5)
    kept = (
        sparse.explained_variance_ratio_.sum() / dense.explained_variance_ratio_.sum()
    )
    assert kept > 0.75
    # transform only uses the support points, and equals the centred-kernel
    # projection over all the training points.
    K = pairwise_kernels(X[:50], X, metric="rbf", gamma=1e-3)
    K_train = pairwise_kernels(X, metric="rbf", gamma=1e-3)
    Kc = K - K.mean(1)[:, None] - K_train.mean(0) + K_train.mean()
    full = np.zeros((X.shape[0], 5))
    full[sparse.support_] = sparse.dual_coef_
    np.testing.assert_allclose(sparse.transform(X[:50]), Kc @ full, atol=1e-8)


def test_inverse_transform_and_pipeline(data):
    model = make_pipeline(
        StandardScaler(),
        DualKernelPCA(5, gamma=0.1, fit_inverse_transform=True, random_state=0),
    ).fit(data)
    kpca = model[-1]
    Z = model.transform(data)
    back = kpca.inverse_transform(Z)
    ref = KernelPCA(5, kernel="rbf", gamma=0.1, fit_inverse_transform=True).fit(
        model[0].transform(data)
    )
    ref_back = ref.inverse_transform(ref.transform(model[0].transform(data)))
    np.testing.assert_allclose(back, ref_back, atol=1e-6)
    assert kpca.get_feature_names_out().tolist()[:2] == [
        "dualkernelpca0",
        "dualkernelpca1",
    ]


def test_inverse_transform_uses_the_fitted_kernel_like_sklearn(data):
    X = data[:150]
    params = {"kernel": "poly", "gamma": 0.1, "degree": 2, "coef0": 1.0}
    ours = DualKernelPCA(4, fit_inverse_transform=True, random_state=0, **params)
    ref = KernelPCA(4, fit_inverse_transform=True, eigen_solver="dense", **params)
    back = ours.fit(X).inverse_transform(ours.transform(X))
    ref_back = ref.fit(X).inverse_transform(ref.transform(X))
    np.testing.assert_allclose(back, ref_back, atol=1e-6 * np.abs(ref_back).max())


def test_float32_preserved_and_input_untouched(data):
    X = data.astype(np.float32)
    copy = X.copy()
    Z = DualKernelPCA(2, gamma=0.05, random_state=0).fit_transform(X)
    assert Z.dtype == np.float32
    np.testing.assert_array_equal(X, copy)


def test_convergence_warning(data):
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        DualKernelPCA(3, solver="gradient", max_iter=2, random_state=0).fit(data)


@pytest.mark.parametrize(
    "params, X, match",
    [
        ({"kernel": "gaussian"}, None, "kernel"),
        ({"n_components": 500}, None, "n_components=500 must be at most n_samples"),
        ({"gamma": -1.0}, None, "gamma"),
        ({}, np.array([[0.0, np.nan], [1.0, 2.0], [2.0, 1.0]]), "NaN"),
        ({"kernel": "precomputed"}, np.ones((3, 2)), "square kernel matrix"),
        (
            {"kernel": "precomputed", "fit_inverse_transform": True},
            np.eye(3),
            "precomputed",
        ),
        (
            {"loss": "epsilon_insensitive", "loss_param": 1e6},
            None,
            "zeroes every dual row",
        ),
    ],
)
def test_bad_input(data, params, X, match):
    with pytest.raises(ValueError, match=match):
        DualKernelPCA(**params).fit(data if X is None else X)


def test_inverse_transform_needs_fit_inverse_transform(data):
    # As scikit-learn's KernelPCA: NotFittedError, also before any fit.
    with pytest.raises(NotFittedError):
        DualKernelPCA(2).inverse_transform(data[:, :2])
    kpca = DualKernelPCA(2).fit(data)
    with pytest.raises(NotFittedError, match="fit_inverse_transform"):
        kpca.inverse_transform(kpca.transform(data))
    # The error is an AttributeError too: hasattr is False, as before.
    assert not hasattr(kpca, "inverse_transform")


@pytest.mark.parametrize(
    "kernel, params",
    [
        ("rbf", {"gamma": 0.3}),
        ("poly", {"gamma": 0.2, "degree": 2.5, "coef0": 1.0}),
        ("linear", {}),
        ("cosine", {}),
        ("sigmoid", {"gamma": 0.05, "coef0": -0.5}),
        ("laplacian", {"gamma": 0.1}),
    ],
)
@pytest.mark.parametrize("working_memory", [1024, 0.05])
@pytest.mark.parametrize("n_jobs", [1, 2])
def test_gram_products_from_upper_tiles(kernel, params, working_memory, n_jobs):
    # Several row panels and column tiles (n = 1,300 is not a multiple of
    # either), the matrix kept or re-evaluated, one or two threads: the
    # products with the centred Gram matrix, its column means and trace
    # equal those of scikit-learn's full kernel matrix.
    from skrep.decomposition._dual_kernel_pca import _CentredGram, _KernelTiles

    rng = np.random.default_rng(0)
    X = rng.uniform(0.1, 1.0, size=(1300, 4))
    X[7] = 0.0  # a zero row and a near-zero one, left unnormalised by cosine
    X[8] = 1e-17
    est = DualKernelPCA(kernel=kernel, **params)
    est.gamma_ = params.get("gamma", 0.25)
    K = pairwise_kernels(X, metric=kernel, filter_params=True, **params)
    C = np.eye(len(X)) - 1.0 / len(X)
    V = rng.standard_normal((len(X), 3))
    with config_context(working_memory=working_memory):
        gram = _CentredGram(
            _KernelTiles(est, est._kernel, X, np), len(X), np, "cpu", X.dtype, n_jobs
        )
        assert gram.streaming == (working_memory < 1)
        GV = gram(V)
    scale = np.abs(K).max() * len(X)
    np.testing.assert_allclose(GV, C @ K @ C @ V, atol=1e-12 * scale)
    np.testing.assert_allclose(gram.col_mean, K.mean(axis=0), atol=1e-14 * scale)
    if not gram.streaming:
        np.testing.assert_allclose(gram.trace, np.trace(K), rtol=1e-12)
    centred_trace = np.trace(C @ K @ C)
    np.testing.assert_allclose(
        est._centred_trace(gram, X, np), centred_trace, rtol=1e-10
    )


def test_precomputed_kernel_is_left_untouched(data):
    K = pairwise_kernels(data, metric="rbf", gamma=0.05)
    before = K.copy()
    ours = DualKernelPCA(4, kernel="precomputed", random_state=0).fit(K)
    np.testing.assert_array_equal(K, before)
    ref = DualKernelPCA(4, gamma=0.05, random_state=0).fit(data)
    np.testing.assert_allclose(ours.eigenvalues_, ref.eigenvalues_, rtol=1e-8)


@pytest.mark.parametrize("kernel", ["rbf", "linear", "cosine", "laplacian"])
def test_sparse_input_matches_dense_and_stays_matrix_free(data, kernel):
    # TF-IDF-like sparse rows: the kernel tiles are products of sparse row
    # panels, also when the Gram matrix does not fit in working_memory.
    from scipy import sparse

    X = np.where(np.abs(data) > 1.0, data, 0.0)[:200]
    dense = DualKernelPCA(3, kernel=kernel, gamma=0.1, random_state=0).fit(X)
    with config_context(working_memory=0.05):
        sp = DualKernelPCA(3, kernel=kernel, gamma=0.1, random_state=0)
        sp.fit(sparse.csr_matrix(X))
    np.testing.assert_allclose(sp.eigenvalues_, dense.eigenvalues_, rtol=1e-8)
    np.testing.assert_allclose(
        np.abs(sp.transform(sparse.csr_matrix(X[:20]))),
        np.abs(dense.transform(X[:20])),
        atol=1e-8,
    )


@pytest.mark.parametrize("scale", [1e150, 1e-150])
@pytest.mark.parametrize("loss", ["squared", "huber"])
def test_rbf_at_extreme_magnitudes_is_the_same_kernel(data, scale, loss):
    # exp(-gamma |x - y|^2) is the same on (X, gamma) and (s X, gamma / s^2):
    # computed in units of the largest entry, the fit and scores agree.
    X = data[:120]
    ref = DualKernelPCA(3, gamma=0.1, loss=loss, random_state=0).fit(X)
    Xs = X * scale
    before = Xs.copy()
    est = DualKernelPCA(3, gamma=0.1 / scale**2, loss=loss, random_state=0)
    Z = est.fit_transform(Xs)
    np.testing.assert_array_equal(Xs, before)
    np.testing.assert_allclose(est.eigenvalues_, ref.eigenvalues_, rtol=1e-6)
    np.testing.assert_allclose(Z, ref.transform(X), atol=1e-6 * np.abs(Z).max())


def test_rbf_default_gamma_on_huge_duplicated_rows():
    # gamma = 1 / n_features on entries near 1e200: the kernel is 1 between
    # equal rows and 0 between the others, and the scores are finite.
    X = np.random.RandomState(0).standard_normal((30, 3)) * 1e200
    X[10:20] = X[0]
    for dtype in (np.float64, np.float32):
        Xd = X.astype(dtype) if dtype == np.float64 else (X * 1e-170).astype(dtype)
        est = DualKernelPCA(2, random_state=0)
        Z = est.fit_transform(Xd)
        assert np.all(np.isfinite(Z)) and Z.dtype == dtype
        assert np.all(np.isfinite(est.transform(Xd)))
        # The duplicated rows score alike.
        np.testing.assert_allclose(Z[10:20], np.broadcast_to(Z[0], (10, 2)), atol=1e-6)


@pytest.mark.parametrize("kernel", ["linear", "poly"])
def test_overflowing_kernel_is_refused(kernel):
    X = np.random.RandomState(0).standard_normal((40, 3)) * 1e200
    with pytest.raises(ValueError, match="kernel overflows"):
        DualKernelPCA(2, kernel=kernel, random_state=0).fit(X)


@pytest.mark.parametrize("loss, unit", [("squared", "restart"), ("huber", "iter")])
def test_verbose_lines_count_iterations(data, loss, unit, capsys):
    est = DualKernelPCA(3, gamma=0.1, loss=loss, max_iter=50, verbose=1)
    est.set_params(random_state=0).fit(data[:350])
    lines = capsys.readouterr().out.splitlines()
    assert lines and all(line.startswith("[DualKernelPCA] ") for line in lines)
    counted = [line for line in lines if line.startswith(f"[DualKernelPCA] {unit} ")]
    assert len(counted) == est.n_iter_ <= 50
    assert counted[-1].startswith(f"[DualKernelPCA] {unit} {est.n_iter_}/50: ")
    DualKernelPCA(3, gamma=0.1, loss=loss, random_state=0).fit(data[:350])
    assert capsys.readouterr().out == ""
