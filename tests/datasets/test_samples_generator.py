"""Tests of the paper data generators: each checks the property it promises."""

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.spatial.distance import pdist
from scipy.stats import binom, chisquare
from sklearn.decomposition import PCA

from skrep.datasets import (
    make_contaminated_gaussian,
    make_function_approximation,
    make_heterogeneous_mixture,
    make_low_rank_sparse,
    make_rare_ordinal,
)

# ---------------------------------------------------------------------------
# make_low_rank_sparse
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "n_samples, n_features, rank, sparsity",
    [(60, 40, 5, 0.1), (40, 60, 1, 0.05), (30, 30, 30, 0.0), (20, 25, 3, 1.0)],
)
def test_low_rank_sparse_rank_and_support(n_samples, n_features, rank, sparsity):
    M, L, S = make_low_rank_sparse(
        n_samples, n_features, rank, sparsity, random_state=0
    )
    assert M.shape == L.shape == S.shape == (n_samples, n_features)
    assert np.linalg.matrix_rank(L) == rank
    assert np.count_nonzero(S) == round(sparsity * n_samples * n_features)
    assert_array_equal(np.unique(np.abs(S[S != 0])), [1.0] if sparsity else [])
    assert_array_equal(M, L + S)


def test_low_rank_sparse_scaling_magnitude_signs():
    # Paper's scaling: entries of X, Y ~ N(0, 1/n), so Var(L_ij) = r / n**2.
    n, r = 200, 10
    _, L, S = make_low_rank_sparse(n, n, r, 0.2, magnitude=3.0, random_state=0)
    assert L.var() == pytest.approx(r / n**2, rel=0.15)
    values = S[S != 0]
    assert_array_equal(np.unique(values), [-3.0, 3.0])
    # Random signs: about half positive (binomial tolerance, 5 sd).
    k = values.size
    assert abs((values > 0).sum() - k / 2) < 5 * math.sqrt(k / 4)


@pytest.mark.parametrize("sparsity", [0.05, 0.5])
def test_low_rank_sparse_uniform_positions(sparsity):
    # Each entry is equally likely to be corrupted (both sampling paths):
    # chi-square test of the hit counts over repeated draws.
    rng = np.random.RandomState(0)
    hits = np.zeros((10, 10))
    n_draws = 1000
    for _ in range(n_draws):
        _, _, S = make_low_rank_sparse(10, 10, 1, sparsity, random_state=rng)
        hits += S != 0
    assert hits.sum() == n_draws * round(sparsity * 100)
    _, p_value = chisquare(hits.ravel())
    assert p_value > 1e-4


def test_low_rank_sparse_noise_dtype_reproducible():
    M, L, S = make_low_rank_sparse(30, 20, 2, 0.1, noise=0.5, random_state=1)
    residual = M - L - S
    assert residual.std() == pytest.approx(0.5, rel=0.2)
    a = make_low_rank_sparse(30, 20, 2, 0.1, dtype=np.float32, random_state=3)
    b = make_low_rank_sparse(30, 20, 2, 0.1, dtype=np.float32, random_state=3)
    c = make_low_rank_sparse(30, 20, 2, 0.1, dtype=np.float32, random_state=4)
    for x, y in zip(a, b, strict=True):
        assert x.dtype == np.float32
        assert_array_equal(x, y)
    assert np.linalg.matrix_rank(a[1]) == 2
    assert not np.array_equal(a[0], c[0])


def test_low_rank_sparse_errors():
    with pytest.raises(ValueError, match="rank=11 must be at most"):
        make_low_rank_sparse(10, 20, 11)
    with pytest.raises(ValueError, match="dtype"):
        make_low_rank_sparse(10, 10, 2, dtype=np.int64)
    with pytest.raises(ValueError, match="sparsity"):
        make_low_rank_sparse(10, 10, 2, sparsity=1.5)


# ---------------------------------------------------------------------------
# make_contaminated_gaussian
# ---------------------------------------------------------------------------


def _sin_principal_angles(A, B):
    """Sines of the principal angles between the row spaces of A and B."""
    cos = np.linalg.svd(A @ B.T, compute_uv=False)
    return np.sqrt(np.clip(1.0 - cos**2, 0.0, None))


@pytest.mark.parametrize("eps, n_outliers", [(0.1, 100), (0.29, 290), (0.0, 0)])
def test_contaminated_gaussian_outlier_count(eps, n_outliers):
    X, components, mask = make_contaminated_gaussian(1000, 20, eps, random_state=0)
    assert X.shape == (1000, 20)
    assert mask.dtype == bool and mask.sum() == n_outliers
    # Rows are shuffled: outliers are not all at the end.
    if n_outliers:
        assert not mask[-n_outliers:].all()


@pytest.mark.parametrize("n_components, spike", [(1, 4.0), (3, [9.0, 6.0, 4.0])])
def test_contaminated_gaussian_components(n_components, spike):
    X, components, mask = make_contaminated_gaussian(
        2000, 30, 0.1, n_components=n_components, spike=spike, random_state=0
    )
    assert components.shape == (n_components, 30)
    assert_allclose(components @ components.T, np.eye(n_components), atol=1e-12)
    # The inliers' sample covariance has `components` as its top eigenspace.
    inliers = X[~mask]
    _, eigvecs = np.linalg.eigh(np.cov(inliers.T))
    top = eigvecs[:, -n_components:].T
    assert _sin_principal_angles(components, top).max() < 0.25
    # ... with the promised spiked variances along each component.
    variances = np.var(inliers @ components.T, axis=0)
    assert_allclose(variances, 1.0 + np.asarray(spike), rtol=0.2)


def test_contaminated_gaussian_tilts_pca():
    # The property the robust PCA tests rely on: with eps = 0.1, ordinary PCA's
    # top direction is nearly orthogonal to the truth.
    for seed in range(3):
        X, components, mask = make_contaminated_gaussian(
            1000, 50, 0.1, random_state=seed
        )
        top = PCA(n_components=1).fit(X).components_
        assert _sin_principal_angles(components, top)[0] > 0.9
        # Outliers lie at +-a along a direction orthogonal to the components.
        assert_allclose(X[mask] @ components.T, 0.0, atol=5.0)
        a2 = 2.0 * (1 + 4.0) / 0.1
        direction = top[0]
        proj = X[mask] @ direction
        assert np.mean(proj**2) == pytest.approx(a2, rel=0.05)
        # Half the outliers on each side.
        assert abs(np.sum(proj > 0) - 50) <= 1
        # Without outliers PCA finds the truth.
        top_inliers = PCA(n_components=1).fit(X[~mask]).components_
        assert _sin_principal_angles(components, top_inliers)[0] < 0.3


def test_contaminated_gaussian_reproducible_and_errors():
    a = make_contaminated_gaussian(100, 5, 0.2, random_state=0)
    b = make_contaminated_gaussian(100, 5, 0.2, random_state=0)
    for x, y in zip(a, b, strict=True):
        assert_array_equal(x, y)
    with pytest.raises(ValueError, match="n_components=2"):
        make_contaminated_gaussian(100, 5, 0.1, n_components=2, spike=[1.0])
    with pytest.raises(ValueError, match="must be < n_features"):
        make_contaminated_gaussian(100, 3, 0.1, n_components=3)
    with pytest.raises(ValueError, match="spike"):
        make_contaminated_gaussian(100, 5, 0.1, n_components=2, spike=[1.0, -1.0])
    with pytest.raises(ValueError, match="eps"):
        make_contaminated_gaussian(100, 5, 0.5)
    # No outliers: n_components == n_features is possible.
    X, components, mask = make_contaminated_gaussian(
        50, 3, 0.0, n_components=3, random_state=0
    )
    assert not mask.any()
    assert_allclose(components @ components.T, np.eye(3), atol=1e-12)


# ---------------------------------------------------------------------------
# make_heterogeneous_mixture
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "n_features, n_clusters", [(10, 3), (3, 3), (2, 5), (1, 4), (4, 1)]
)
def test_heterogeneous_mixture_centres_and_balance(n_features, n_clusters):
    X, y, means, covs = make_heterogeneous_mixture(
        103, n_features, n_clusters, 3.5, return_params=True, random_state=0
    )
    assert X.shape == (103, n_features)
    assert means.shape == (n_clusters, n_features)
    assert covs.shape == (n_clusters, n_features, n_features)
    counts = np.bincount(y, minlength=n_clusters)
    assert counts.max() - counts.min() <= 1 and counts.sum() == 103
    if n_clusters > 1:
        assert pdist(means).min() == pytest.approx(3.5, rel=1e-12)
    # Rows are shuffled.
    assert not np.all(np.diff(y) >= 0) or n_clusters == 1


def test_heterogeneous_mixture_weights_largest_remainder():
    _, y = make_heterogeneous_mixture(
        10, 2, 3, weights=[0.45, 0.35, 0.2], random_state=0
    )
    # Quotas 4.5, 3.5, 2: the leftover point goes to the first largest
    # remainder.
    assert_array_equal(np.bincount(y), [5, 3, 2])
    _, y = make_heterogeneous_mixture(1000, 2, 3, weights=[1, 2, 7], random_state=0)
    assert_array_equal(np.bincount(y), [100, 200, 700])


@pytest.mark.parametrize("covariances", ["spherical", "diagonal", "full"])
def test_heterogeneous_mixture_covariance_shapes(covariances):
    d = 5
    X, y, means, covs = make_heterogeneous_mixture(
        6000, d, 3, 6.0, covariances=covariances, return_params=True, random_state=0
    )
    for k, scale in enumerate([1.0, 2.0, 4.0]):
        # Default scales 1, 2, 4: det(Sigma_k)^(1/d) = scale**2.
        sign, logdet = np.linalg.slogdet(covs[k])
        assert sign > 0
        assert math.exp(logdet / d) == pytest.approx(scale**2, rel=1e-10)
        emp = np.cov(X[y == k].T)
        assert np.linalg.norm(emp - covs[k]) < 0.15 * np.linalg.norm(covs[k])
        assert_allclose(X[y == k].mean(axis=0), means[k], atol=0.25 * scale)
        off_diagonal = covs[k] - np.diag(np.diag(covs[k]))
        spectrum = np.linalg.eigvalsh(covs[k])
        if covariances == "spherical":
            assert_allclose(covs[k], scale**2 * np.eye(d))
        elif covariances == "diagonal":
            assert_array_equal(off_diagonal, 0.0)
            assert spectrum.max() / spectrum.min() > 1.5
        else:
            assert np.abs(off_diagonal).max() > 0.05 * scale**2
            assert spectrum.max() / spectrum.min() > 1.5


def test_heterogeneous_mixture_reproducible_and_errors():
    a = make_heterogeneous_mixture(50, 3, 2, covariances="full", random_state=0)
    b = make_heterogeneous_mixture(50, 3, 2, covariances="full", random_state=0)
    for x, y in zip(a, b, strict=True):
        assert_array_equal(x, y)
    X, y, _, covs = make_heterogeneous_mixture(
        50, 3, 2, scales=[3.0, 0.5], return_params=True, random_state=0
    )
    assert_allclose(covs[0], 9.0 * np.eye(3))
    assert_allclose(covs[1], 0.25 * np.eye(3))
    with pytest.raises(ValueError, match="would be empty"):
        make_heterogeneous_mixture(2, 2, 3)
    with pytest.raises(ValueError, match="scales"):
        make_heterogeneous_mixture(30, 2, 3, scales=[1.0, 2.0])
    with pytest.raises(ValueError, match="scales"):
        make_heterogeneous_mixture(30, 2, 2, scales=[1.0, 0.0])
    with pytest.raises(ValueError, match="weights"):
        make_heterogeneous_mixture(30, 2, 2, weights=[1.0, -1.0])
    with pytest.raises(ValueError, match="covariances"):
        make_heterogeneous_mixture(30, 2, 2, covariances="tied")


# ---------------------------------------------------------------------------
# make_rare_ordinal
# ---------------------------------------------------------------------------


def test_rare_ordinal_probabilities_valid():
    X, y, proba, intercepts, coefs = make_rare_ordinal(
        2500, 10, 4, 0.01, 0.5, return_coef=True, random_state=0
    )
    assert X.shape == (2500, 10) and y.shape == (2500,) and proba.shape == (2500, 4)
    assert X.min() >= -1 and X.max() <= 1
    assert set(np.unique(y)) <= {0, 1, 2, 3}
    assert (proba >= 0).all()
    assert_allclose(proba.sum(axis=1), 1.0)
    # proba is the model's: cumulative logits sigmoid(alpha_k + x @ beta_k).
    cumulative = 1.0 / (1.0 + np.exp(-(intercepts + X @ coefs)))
    assert_allclose(np.cumsum(proba, axis=1)[:, :-1], cumulative, atol=1e-12)
    # Intercept gaps exceed the L1 norm of the weight differences, so the
    # cumulative probabilities are monotone on the whole box.
    gaps = np.diff(intercepts)
    l1 = np.abs(np.diff(coefs, axis=1)).sum(axis=0)
    assert (gaps > l1).all()


@pytest.mark.parametrize(
    "n_classes, rare_prob, sparsity", [(4, 0.01, 0.5), (3, 0.05, 2 / 3), (2, 0.2, 0.0)]
)
def test_rare_ordinal_rare_share(n_classes, rare_prob, sparsity):
    n = 20000
    X, y, proba = make_rare_ordinal(
        n, 10, n_classes, rare_prob, sparsity, random_state=0
    )
    # The expected rare share is rare_prob: the mean true probability is
    # within Monte Carlo error of it ...
    p_last = proba[:, -1]
    assert abs(p_last.mean() - rare_prob) < 5 * p_last.std() / math.sqrt(n)
    # ... and so is the observed frequency (binomial tolerance).
    count = int(np.sum(y == n_classes - 1))
    lo, hi = binom.ppf([1e-4, 1 - 1e-4], n, rare_prob)
    assert lo <= count <= hi
    # Labels follow proba: observed class shares match mean probabilities.
    shares = np.bincount(y, minlength=n_classes) / n
    assert_allclose(shares, proba.mean(axis=0), atol=4 * math.sqrt(0.25 / n))


def test_rare_ordinal_sparse_differences():
    p = 2000
    _, _, _, intercepts, coefs = make_rare_ordinal(
        50, p, 4, 0.01, 0.7, coef=0.3, return_coef=True, random_state=0
    )
    first = coefs[:, 0]
    diffs = np.diff(coefs, axis=1)
    # beta_1 entries are coef with probability 1 - sparsity, else 0.
    assert set(np.unique(first)) <= {0.0, 0.3}
    tol = 5 * math.sqrt(0.7 * 0.3 / p)
    assert np.mean(first == 0) == pytest.approx(0.7, abs=tol)
    # Each difference entry is +-coef with probability 1 - sparsity.
    assert_allclose(np.unique(np.round(diffs, 12)), [-0.3, 0.0, 0.3])
    for k in range(diffs.shape[1]):
        assert np.mean(diffs[:, k] == 0) == pytest.approx(0.7, abs=tol)
        nonzero = diffs[:, k][diffs[:, k] != 0]
        assert abs(np.mean(nonzero > 0) - 0.5) < 5 * math.sqrt(0.25 / nonzero.size)
    assert np.all(np.diff(intercepts) > 0)
    # sparsity=1: proportional odds with no signal at all.
    _, _, _, _, coefs = make_rare_ordinal(
        50, 5, 3, 0.05, 1.0, return_coef=True, random_state=0
    )
    assert_array_equal(coefs, 0.0)


def test_rare_ordinal_reproducible():
    a = make_rare_ordinal(300, 4, 3, 0.05, random_state=7)
    b = make_rare_ordinal(300, 4, 3, 0.05, random_state=7)
    c = make_rare_ordinal(300, 4, 3, 0.05, random_state=8)
    for x, y in zip(a, b, strict=True):
        assert_array_equal(x, y)
    assert not np.array_equal(a[0], c[0])
    with pytest.raises(ValueError, match="rare_prob"):
        make_rare_ordinal(100, 4, 3, rare_prob=1.0)
    with pytest.raises(ValueError, match="n_classes"):
        make_rare_ordinal(100, 4, 1)


# ---------------------------------------------------------------------------
# make_function_approximation
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "function, points, values",
    [
        ("runge", [[0.0], [0.2], [1.0]], [1.0, 0.5, 1 / 26]),
        ("abs", [[-0.5], [0.0], [1.0]], [0.5, 0.0, 1.0]),
        ("gaussian", [[0.0], [1.0]], [1.0, math.exp(-1)]),
        ("exp", [[0.0], [1.0], [-1.0]], [1.0, math.e, 1 / math.e]),
        ("step", [[-0.1], [0.0], [0.3]], [0.0, 1.0, 1.0]),
    ],
)
def test_function_approximation_known_values(function, points, values):
    X, y, f = make_function_approximation(
        function, 20, return_function=True, random_state=0
    )
    assert X.shape == (20, 1) and y.shape == (20,)
    assert_allclose(f(np.asarray(points)), values, rtol=1e-12, atol=1e-15)
    assert_allclose(f(np.asarray(points)[:, 0]), values, rtol=1e-12, atol=1e-15)
    assert_allclose(y, f(X))


def test_function_approximation_multivariate_values():
    _, _, f = make_function_approximation(
        "runge", 5, n_features=2, return_function=True, random_state=0
    )
    assert_allclose(f([[0.1, 0.1], [0.0, 0.2]]), [1 / 1.5, 0.5])
    _, _, f = make_function_approximation(
        "abs", 5, n_features=3, return_function=True, random_state=0
    )
    assert_allclose(f([[-0.5, 0.25, 0.0]]), [0.75])
    with pytest.raises(ValueError, match=r"shape \(n_points, 3\)"):
        f([[0.0, 0.0]])


@pytest.mark.parametrize("sampling", ["uniform", "chebyshev"])
def test_function_approximation_domain_and_sampling(sampling):
    X, y = make_function_approximation(
        "gaussian", 4000, n_features=2, sampling=sampling, random_state=0
    )
    assert X.shape == (4000, 2) and y.shape == (4000,)
    assert X.min() >= -1 and X.max() <= 1
    # Uniform: P(|x| > 0.9) = 0.1; arcsine: 1 - 2 asin(0.9) / pi ~ 0.287.
    expected = 0.1 if sampling == "uniform" else 1 - 2 * math.asin(0.9) / math.pi
    tail = np.mean(np.abs(X) > 0.9)
    assert tail == pytest.approx(expected, abs=5 * math.sqrt(0.25 / X.size))
    assert_allclose(np.mean(X, axis=0), 0.0, atol=0.06)


def test_function_approximation_noise_callable_reproducible():
    X, y, f = make_function_approximation(
        "exp", 3000, noise=0.1, return_function=True, random_state=0
    )
    assert (y - f(X)).std() == pytest.approx(0.1, rel=0.1)
    a = make_function_approximation("step", 30, n_features=2, random_state=5)
    b = make_function_approximation("step", 30, n_features=2, random_state=5)
    assert_array_equal(a[0], b[0])
    assert_array_equal(a[1], b[1])
    X, y = make_function_approximation(
        lambda Z: np.cos(Z[:, 0]) * Z[:, 1], 10, n_features=2, random_state=0
    )
    assert_allclose(y, np.cos(X[:, 0]) * X[:, 1])


def test_function_approximation_errors():
    with pytest.raises(ValueError, match="runge") as exc:
        make_function_approximation("rung")
    for name in ["abs", "gaussian", "exp", "step"]:
        assert name in str(exc.value)
    with pytest.raises(ValueError, match="non-finite"):
        make_function_approximation(lambda Z: 1.0 / Z[:, 0] * 0.0 + np.inf, 10)
    with np.errstate(invalid="ignore"), pytest.raises(ValueError, match="non-finite"):
        make_function_approximation(lambda Z: np.log(Z[:, 0]), 50, random_state=0)
    with pytest.raises(ValueError, match="shape"):
        make_function_approximation(lambda Z: Z, 10, n_features=2)
    with pytest.raises(ValueError, match="sampling"):
        make_function_approximation("runge", 10, sampling="grid")


# ---------------------------------------------------------------------------
# make_sparse_signal_classification
# ---------------------------------------------------------------------------


def test_sparse_signal_classification_structure():
    from skrep.datasets import make_sparse_signal_classification

    X, y = make_sparse_signal_classification(4000, 30, signal=3.0, random_state=0)
    assert X.shape == (4000, 30) and set(np.unique(y)) == {0, 1}
    # The label is the sign of x_1 (no label noise), and |x_1| is half-normal
    # with scale `signal` whatever the class (no gap between the classes).
    assert_array_equal(X[:, 0] > 0, y == 1)
    assert abs(np.abs(X[:, 0]).mean() - 3.0 * math.sqrt(2 / math.pi)) < 0.1
    assert np.abs(X[:, 0]).min() < 0.01
    # The other coordinates are standard normal noise, independent of y.
    noise = X[:, 1:]
    assert abs(noise.std() - 1.0) < 0.02
    assert np.abs(noise[y == 1].mean(axis=0) - noise[y == 0].mean(axis=0)).max() < 0.2
    X2, y2 = make_sparse_signal_classification(4000, 30, signal=3.0, random_state=0)
    assert_array_equal(X, X2) and assert_array_equal(y, y2)


# ---------------------------------------------------------------------------
# make_surveillance_video
# ---------------------------------------------------------------------------


def test_surveillance_video_background_foreground_and_tampering():
    from skrep.datasets import make_surveillance_video

    M, background, foreground, bad, (h, w) = make_surveillance_video(
        30, step=16, block=4, tampered=0.2, random_state=0
    )
    assert M.shape == foreground.shape == (30, h * w) and background.shape == (h * w,)
    assert bad.sum() == 6 and not foreground[bad].any()
    clean = ~bad
    # Untouched frames: the background except under the moving blocks.
    assert_array_equal(
        np.where(foreground, background, M)[clean],
        np.broadcast_to(background, (clean.sum(), h * w)),
    )
    assert foreground[clean].any(axis=1).all()
    # Tampered frames: half dark (lens covered), half the shifted scene.
    tampered = M[bad]
    dark = tampered.max(axis=1) <= 0.1
    assert dark.sum() == 3
    image = background.reshape(h, w)
    for frame in tampered[~dark]:
        shifts = [
            (a, b)
            for a in range(2, 5)
            for b in range(2, 5)
            if np.array_equal(frame, np.roll(image, (a, b), axis=(0, 1)).ravel())
        ]
        assert shifts
    again = make_surveillance_video(30, step=16, block=4, tampered=0.2, random_state=0)
    assert_array_equal(again[0], M)
