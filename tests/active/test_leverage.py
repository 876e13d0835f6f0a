import numpy as np
import pytest
from sklearn.preprocessing import PolynomialFeatures

from skrep.active import LeverageScoreSampler
from skrep.active._leverage import inclusion_probabilities, leverage_scores


def _grid(m=30):
    g = np.linspace(-1, 1, m)
    return np.array(np.meshgrid(g, g)).reshape(2, -1).T


def test_leverage_scores_are_the_hat_diagonal():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(60, 5))
    H = A @ np.linalg.solve(A.T @ A, A.T)
    np.testing.assert_allclose(leverage_scores(A), np.diag(H), atol=1e-12)
    # rank-deficient: a repeated column does not change them; sum = rank
    A2 = np.column_stack([A, A[:, :2]])
    np.testing.assert_allclose(leverage_scores(A2), np.diag(H), atol=1e-10)
    np.testing.assert_allclose(leverage_scores(A2).sum(), 5)


def test_inclusion_probabilities_capped_and_sum_to_k():
    rng = np.random.default_rng(0)
    w = rng.exponential(size=200) ** 3  # heavy tail: several caps
    for k in (1, 10, 50, 150):
        p = inclusion_probabilities(w, k)
        np.testing.assert_allclose(p.sum(), k)
        assert p.max() <= 1.0 and p.min() >= 0
        free = p < 1
        ratio = p[free] / w[free]
        np.testing.assert_allclose(ratio, ratio[0])  # proportional where not capped
        if free.sum() < 200:  # capped rows have the largest weights
            assert w[~free].min() >= w[free].max()
    with pytest.raises(ValueError, match="positive leverage"):
        inclusion_probabilities([1.0, 0.0, 0.0], 2)


@pytest.mark.parametrize("tree", ["coordinate", "pca"])
def test_pivotal_inclusion_frequencies_match_p_and_size_is_exact(tree):
    rng = np.random.default_rng(1)
    X = rng.uniform(-1, 1, size=(40, 2))
    w = rng.exponential(size=40) ** 2
    k = 8
    p = inclusion_probabilities(w, k)
    assert np.sum(p == 1) >= 1  # the capping is exercised
    sampler = LeverageScoreSampler(tree=tree, random_state=np.random.RandomState(0))
    sampler.fit(X)
    R = 10_000
    counts = np.zeros(40)
    for _ in range(R):
        idx = sampler.query(X, batch_size=k, scores=w)
        assert idx.shape == (k,)  # |S| = k, always
        counts[idx] += 1
    freq = counts / R
    se = np.sqrt(np.maximum(p * (1 - p), 1e-12) / R)
    assert np.max(np.abs(freq - p) / se) < 4.5
    np.testing.assert_array_equal(freq[p == 1], 1.0)


def test_bernoulli_inclusion_frequencies():
    rng = np.random.default_rng(2)
    X = rng.uniform(-1, 1, size=(30, 2))
    sampler = LeverageScoreSampler(method="bernoulli", random_state=0)
    p = sampler.inclusion_probabilities(X, batch_size=6)
    np.testing.assert_allclose(p.sum(), 6)
    R = 4000
    counts, sizes = np.zeros(30), []
    sampler.set_params(random_state=np.random.RandomState(0))
    for _ in range(R):
        idx, p_idx = sampler.query(X, batch_size=6, return_probabilities=True)
        np.testing.assert_allclose(p_idx, p[idx])
        counts[idx] += 1
        sizes.append(idx.shape[0])
    assert np.max(np.abs(counts / R - p) / np.sqrt(p * (1 - p) / R + 1e-12)) < 4.5
    assert len(set(sizes)) > 3  # the size varies: independent sampling
    assert abs(np.mean(sizes) - 6) < 0.2


def _median_error(method, k, X, A, b, trials):
    sampler = LeverageScoreSampler(
        PolynomialFeatures(6), method=method, random_state=np.random.RandomState(0)
    ).fit(X)
    errors = []
    for _ in range(trials):
        idx, p = sampler.query(X, batch_size=k, return_probabilities=True)
        w = 1 / np.sqrt(p)
        coef = np.linalg.lstsq(A[idx] * w[:, None], b[idx] * w, rcond=None)[0]
        errors.append(np.mean((A @ coef - b) ** 2) / np.mean(b**2))
    return np.median(errors)


def test_pivotal_needs_fewer_samples_than_bernoulli():
    # Shimizu et al.: pivotal leverage sampling reaches the error of
    # independent leverage sampling with markedly fewer samples (up to 50%).
    X = _grid(30)
    A = PolynomialFeatures(6).fit_transform(X)  # d = 28
    b = np.exp(-(X[:, 0] ** 2) - 0.5 * X[:, 1]) * np.cos(2 * X[:, 0] + X[:, 1])
    piv_42 = _median_error("pivotal", 42, X, A, b, 200)
    ber_42 = _median_error("bernoulli", 42, X, A, b, 200)
    ber_56 = _median_error("bernoulli", 56, X, A, b, 200)
    assert piv_42 < 0.6 * ber_42
    # 25% fewer samples than Bernoulli for the same error
    assert piv_42 < ber_56


def test_pivotal_sample_is_spatially_spread():
    X = _grid(20)
    gaps = {}
    for method in ("pivotal", "bernoulli"):
        s = LeverageScoreSampler(method=method, random_state=0).fit(X)
        rs = np.random.RandomState(0)
        s.set_params(random_state=rs)
        g = []
        for _ in range(100):
            idx = s.query(X, batch_size=20, scores=np.ones(400))
            D = ((X[idx][:, None] - X[idx][None]) ** 2).sum(-1)
            np.fill_diagonal(D, np.inf)
            g.append(np.sqrt(D.min(axis=1)).mean())
        gaps[method] = np.mean(g)
    assert gaps["pivotal"] > 1.1 * gaps["bernoulli"]


def test_labelled_rows_and_candidates_are_not_drawn():
    X = _grid(10)
    y = np.full(100, np.nan)
    y[:50] = 1.0
    s = LeverageScoreSampler(PolynomialFeatures(2), random_state=0)
    idx = s.query(X, y, batch_size=10)
    assert idx.shape == (10,) and idx.min() >= 50
    p = s.inclusion_probabilities(X, y, batch_size=10)
    assert np.all(p[:50] == 0)
    np.testing.assert_allclose(p.sum(), 10)
    cand = np.arange(60, 90)
    idx = s.query(X, y, batch_size=5, candidates=cand)
    assert set(idx) <= set(cand)


def test_bad_input():
    X = _grid(5)
    s = LeverageScoreSampler()
    with pytest.raises(ValueError, match="larger than the number"):
        s.query(X, batch_size=26)
    with pytest.raises(ValueError, match="no unlabelled rows"):
        s.query(X, np.ones(25), batch_size=2)
    with pytest.raises(ValueError, match="positive leverage"):
        s.query(X, batch_size=3, scores=np.r_[1.0, 1.0, np.zeros(23)])
    with pytest.raises(ValueError, match="scores must have shape"):
        s.query(X, batch_size=3, scores=np.ones(3))
    X_nan = X.copy()
    X_nan[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        s.query(X_nan, batch_size=3)


def test_fit_does_not_trust_the_callers_array_later(monkeypatch):
    # the pool changes in place after fit: the leverage scores and the tree
    # of the old values must not be reused
    X = _grid(12)
    rng = np.random.default_rng(0)
    X_new = rng.uniform(-1, 1, size=X.shape) ** 3  # other leverage scores
    sampler = LeverageScoreSampler(PolynomialFeatures(3), random_state=0).fit(X)
    X[:] = X_new
    fresh = LeverageScoreSampler(PolynomialFeatures(3), random_state=0)
    np.testing.assert_allclose(
        sampler.inclusion_probabilities(X, batch_size=20),
        fresh.inclusion_probabilities(X_new, batch_size=20),
    )
    np.testing.assert_array_equal(
        sampler.query(X, batch_size=20), fresh.query(X_new, batch_size=20)
    )
    # the same pool again does reuse the fit: no leverage scores recomputed
    sampler.fit(X_new)
    from skrep.active import _leverage

    def recomputed(A):
        raise AssertionError("the fit of this pool was not reused")

    monkeypatch.setattr(_leverage, "leverage_scores", recomputed)
    assert sampler.query(X_new, batch_size=20).shape == (20,)


def test_one_missing_label_convention_with_the_strategies():
    from skrep.active import MarginSampler

    assert (
        LeverageScoreSampler().get_params()["missing_label"]
        == MarginSampler().get_params()["missing_label"]
    )
    X = _grid(10)
    y = np.full(100, -1.0)  # the strategies' marker of unlabelled rows
    y[:40] = np.linspace(0, 1, 40)
    with pytest.warns(UserWarning, match="real-valued target"):
        idx = LeverageScoreSampler(PolynomialFeatures(2), random_state=0).query(
            X, y, batch_size=10
        )
    assert idx.min() >= 40
    # string targets with "" for the unlabelled rows and a numeric marker:
    # no row can be unlabelled, say so
    y_str = np.where(np.arange(100) < 40, "x", "")
    with pytest.raises(ValueError, match="missing_label=-1.*string"):
        LeverageScoreSampler().query(X, y_str, batch_size=3)


@pytest.mark.parametrize("tree", ["coordinate", "pca"])
def test_draw_does_not_depend_on_the_scale_of_x(tree):
    # Leverage scores, medians and principal directions are scale-free: a
    # power-of-two rescaling of X (exact) draws the same rows. The pca
    # tree's sums of squares overflowed at 2**600.
    X = np.random.default_rng(0).normal(size=(300, 3))
    draws = [
        LeverageScoreSampler(tree=tree, random_state=0).query(
            X * 2.0**scale, batch_size=8
        )
        for scale in (0, -600, 600)
    ]
    np.testing.assert_array_equal(draws[1], draws[0])
    np.testing.assert_array_equal(draws[2], draws[0])


def test_features_that_overflow_are_refused():
    X = _grid(5) * 1e200
    sampler = LeverageScoreSampler(PolynomialFeatures(3))
    with pytest.raises(ValueError, match="features PolynomialFeatures of X"):
        with np.errstate(all="ignore"):
            sampler.query(X, batch_size=3)


def test_a_marker_among_real_valued_targets_is_flagged():
    # -1 (the default marker) among targets with fractions may be a real
    # target taken for unlabelled: a warning that names the count and the
    # fix; NaN markers, integer-valued targets and no y are unambiguous.
    import warnings

    X = _grid(10)
    marked = np.arange(100) >= 60
    y = np.where(marked, -1.0, np.linspace(-3.05, 2.95, 100))
    sampler = LeverageScoreSampler(random_state=0)
    with pytest.warns(UserWarning, match=r"40 values of y equal missing_label=-1"):
        p = sampler.inclusion_probabilities(X, y, batch_size=5)
    assert np.all(p[~marked] == 0)  # the marked rows are still the pool
    with pytest.warns(UserWarning, match="missing_label=np.nan"):
        sampler.query(X, y, batch_size=5)
    y_nan = np.where(marked, np.nan, y)
    y_counts = np.where(np.arange(100) < 50, -1.0, np.arange(100) % 4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        LeverageScoreSampler(missing_label=np.nan).query(X, y_nan, batch_size=5)
        sampler.query(X, y_counts, batch_size=5)
        sampler.query(X, None, batch_size=5)
        # NaN marks rows without a word, whatever the marker
        sampler.query(X, y_nan, batch_size=5)
