import numpy as np
import pytest
from sklearn.datasets import load_iris, make_blobs
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.svm import SVC

from skrep.active import MarginSampler, RandomSampler, UncertaintySampler
from skrep.active._strategies import margins

BATCH_STRATEGIES = ["top_k", "kcenter", "cluster_margin", "proportional"]


def _pool(n=300, n_classes=4, seed=0, ties=False):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    P = rng.dirichlet(np.ones(n_classes), size=n)
    if ties:  # few distinct margins: many ties
        P = np.round(P, 1)
        P /= P.sum(axis=1, keepdims=True)
    y = np.full(n, -1)
    labelled = rng.choice(n, n // 5, replace=False)
    y[labelled] = rng.integers(n_classes, size=labelled.shape[0])
    return X, y, P


def _brute_force_margin(P):
    S = np.sort(P, axis=1)
    return S[:, -1] - S[:, -2]


@pytest.mark.parametrize("batch_size", [1, 7, 50])
@pytest.mark.parametrize("ties", [False, True])
def test_top_k_equals_brute_force_argsort(batch_size, ties):
    X, y, P = _pool(ties=ties)
    idx = MarginSampler(random_state=0).query(X, y, scores=P, batch_size=batch_size)
    m = _brute_force_margin(P)
    pool = np.flatnonzero(y == -1)
    assert idx.shape == (batch_size,)
    assert np.unique(idx).shape == (batch_size,)
    assert np.all(y[idx] == -1)
    # the batch holds the smallest margins: nothing left out is smaller
    rest = np.setdiff1d(pool, idx)
    assert m[idx].max() <= m[rest].min()
    # most informative first
    assert np.all(np.diff(m[idx]) >= 0)
    if not ties:  # then it is exactly the argsort
        order = pool[np.argsort(m[pool], kind="stable")][:batch_size]
        np.testing.assert_array_equal(idx, order)


def test_ties_broken_at_random_and_reproducibly():
    X = np.zeros((100, 2))
    P = np.full((100, 2), 0.5)
    y = np.full(100, -1)
    picks = [
        MarginSampler(random_state=s).query(X, y, scores=P, batch_size=5)
        for s in range(200)
    ]
    np.testing.assert_array_equal(
        picks[0], MarginSampler(random_state=0).query(X, y, scores=P, batch_size=5)
    )
    counts = np.bincount(np.concatenate(picks), minlength=100)
    # 1000 picks over 100 tied rows: uniform, each row expected 10 times
    assert counts.min() >= 1 and counts.max() <= 25
    assert len({tuple(p) for p in picks}) == 200


@pytest.mark.parametrize("batch_strategy", BATCH_STRATEGIES)
@pytest.mark.parametrize("missing", [-1, np.nan])
def test_every_batch_is_exact_and_unlabelled(batch_strategy, missing):
    X, y, P = _pool()
    y = y.astype(float)
    y[y == -1] = missing
    sampler = MarginSampler(
        batch_strategy=batch_strategy, missing_label=missing, random_state=0
    )
    for batch_size in (1, 10, 40):
        idx = sampler.query(X, y, scores=P, batch_size=batch_size)
        assert idx.shape == (batch_size,)
        assert np.unique(idx).shape == (batch_size,)
        assert np.all(np.isnan(y[idx]) if missing != missing else y[idx] == -1)
    # candidates restrict the choice
    cand = np.flatnonzero(np.isnan(y) if missing != missing else y == -1)[:30]
    idx = sampler.query(X, y, scores=P, batch_size=10, candidates=cand)
    assert set(idx) <= set(cand) and len(set(idx)) == 10


def test_scores_match_estimator_and_nothing_is_refit():
    X, y = load_iris(return_X_y=True)
    y_part = np.full_like(y, -1)
    y_part[::10] = y[::10]
    clf = LogisticRegression().fit(X[y_part != -1], y[y_part != -1])
    coef = clf.coef_.copy()
    s = MarginSampler(random_state=0)
    a = s.query(X, y_part, clf, batch_size=8)
    b = s.query(X, y_part, scores=clf.predict_proba(X), batch_size=8)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(clf.coef_, coef)


def test_margin_binary_and_decision_function():
    p = np.array([0.1, 0.45, 0.7, 0.5])
    np.testing.assert_allclose(margins(p, proba=True), np.abs(2 * p - 1))
    np.testing.assert_allclose(margins(np.column_stack([1 - p, p])), np.abs(2 * p - 1))
    f = np.array([-2.0, 0.3, -0.1, 1.0])
    np.testing.assert_allclose(margins(f), np.abs(f))
    D = np.array([[3.0, 1.0, -1.0], [0.0, 0.5, 0.4], [2.0, 2.0, 1.0]])
    np.testing.assert_allclose(margins(D), [2.0, 0.1, 0.0])


def test_large_pool_kernel_matches_numpy():
    rng = np.random.default_rng(0)
    P = rng.dirichlet(np.ones(5), size=30_000)
    np.testing.assert_allclose(margins(P), _brute_force_margin(P))


def test_svc_ranks_by_decision_function():
    X, y = make_blobs(200, centers=2, random_state=0)
    svc = SVC().fit(X[:40], y[:40])
    y_part = np.full(200, -1)
    y_part[:40] = y[:40]
    idx = MarginSampler().query(X, y_part, svc, batch_size=10)
    f = np.abs(svc.decision_function(X))
    pool = np.arange(40, 200)
    np.testing.assert_array_equal(idx, pool[np.argsort(f[pool])][:10])


def test_uncertainty_measures():
    P = np.array(
        [[0.5, 0.3, 0.2], [0.4, 0.4, 0.2], [0.9, 0.05, 0.05], [0.34, 0.33, 0.33]]
    )
    X = np.zeros((4, 1))
    lc = UncertaintySampler(random_state=0).query(X, None, scores=P, batch_size=4)
    np.testing.assert_array_equal(lc, [3, 1, 0, 2])
    ent = UncertaintySampler(method="entropy").query(X, None, scores=P, batch_size=4)
    H = -(P * np.log(P)).sum(axis=1)
    np.testing.assert_array_equal(ent, np.argsort(-H))
    # binary: all three rank alike
    p = np.random.default_rng(0).random(50)
    B = np.column_stack([1 - p, p])
    Xb = np.zeros((50, 1))
    ref = MarginSampler().query(Xb, None, scores=B, batch_size=10)
    for method in ("least_confidence", "entropy"):
        got = UncertaintySampler(method=method).query(Xb, None, scores=B, batch_size=10)
        np.testing.assert_array_equal(got, ref)


def test_random_sampler_uniform_over_unlabelled():
    X, y, _ = _pool(n=50)
    counts = np.zeros(50)
    rs = np.random.RandomState(0)
    for _ in range(400):
        counts[RandomSampler(random_state=rs).query(X, y, batch_size=5)] += 1
    assert counts[y != -1].sum() == 0
    pool = y == -1
    expected = 400 * 5 / pool.sum()
    assert np.all(np.abs(counts[pool] - expected) < 5 * np.sqrt(expected))


def _naive_kcenter(Xc, X_lab, k):
    d = np.min(((Xc[:, None] - X_lab[None]) ** 2).sum(-1), axis=1)
    chosen = []
    for _ in range(k):
        i = int(np.argmax(d))
        chosen.append(i)
        d = np.minimum(d, ((Xc - Xc[i]) ** 2).sum(-1))
        d[chosen] = -1
    return np.array(chosen)


def test_kcenter_is_farthest_first_and_spreads_the_batch():
    X, y, P = _pool(n=400)
    pool = np.flatnonzero(y == -1)
    lab = np.flatnonzero(y != -1)
    idx = MarginSampler(
        batch_strategy="kcenter", candidate_factor=None, random_state=0
    ).query(X, y, scores=P, batch_size=15)
    np.testing.assert_array_equal(idx, pool[_naive_kcenter(X[pool], X[lab], 15)])
    # margin-filtered: among the 10 * k lowest margins, better spread than top-k
    m = _brute_force_margin(P)
    cand = pool[np.argsort(m[pool])][:150]
    kc = MarginSampler(batch_strategy="kcenter", random_state=0).query(
        X, y, scores=P, batch_size=15
    )
    top = MarginSampler(random_state=0).query(X, y, scores=P, batch_size=15)
    assert set(kc) <= set(cand)

    def min_gap(idx):
        D = ((X[idx][:, None] - X[idx][None]) ** 2).sum(-1)
        return D[np.triu_indices(len(idx), 1)].min()

    assert min_gap(kc) > min_gap(top)


def test_cluster_margin_round_robin_over_clusters():
    X, labels = make_blobs(600, centers=6, cluster_std=0.3, random_state=0)
    rng = np.random.default_rng(0)
    P = rng.dirichlet(np.ones(3), size=600)
    y = np.full(600, -1)
    s = MarginSampler(batch_strategy="cluster_margin", n_clusters=6, random_state=0)
    s.fit(X)
    assert s.cluster_labels_.shape == (600,)
    idx = s.query(X, y, scores=P, batch_size=6)
    # six clusters, six picks: one per cluster (the candidates cover them all)
    assert np.unique(s.cluster_labels_[idx]).shape == (6,)
    # unfitted: clusters the candidates at query time, still exact and unique
    idx2 = MarginSampler(batch_strategy="cluster_margin", random_state=0).query(
        X, y, scores=P, batch_size=12
    )
    assert np.unique(idx2).shape == (12,)


def test_proportional_respects_cluster_shares():
    X, _ = make_blobs(
        n_samples=[400, 100, 100], centers=[[0, 0], [10, 0], [0, 10]], random_state=0
    )
    P = np.full((600, 2), 0.5)
    P[:400] = [0.5, 0.5]  # the big cluster is the most uncertain
    P[400:] = [0.8, 0.2]
    s = MarginSampler(batch_strategy="proportional", n_clusters=3, random_state=0)
    s.fit(X)
    idx = s.query(X, None, scores=P, batch_size=30)
    _, counts = np.unique(s.cluster_labels_[idx], return_counts=True)
    # top-k would take all 30 from the big cluster; shares are 2/3, 1/6, 1/6
    assert sorted(counts.tolist()) == [5, 5, 20]


def test_bad_input():
    X, y, P = _pool(n=40)
    s = MarginSampler()
    with pytest.raises(ValueError, match="no unlabelled rows"):
        s.query(X, np.zeros(40), scores=P)
    with pytest.raises(ValueError, match="larger than the number of unlabelled"):
        s.query(X, y, scores=P, batch_size=1000)
    reg = LinearRegression().fit(X, P[:, 0])
    with pytest.raises(ValueError, match="neither predict_proba nor decision_function"):
        s.query(X, y, reg)
    with pytest.raises(ValueError, match="has no predict_proba"):
        MarginSampler(response_method="predict_proba").query(X, y, reg)
    clf = LogisticRegression().fit(X, np.where(X[:, 0] > 0, 1, -1))
    with pytest.raises(ValueError, match="also missing_label"):
        s.query(X, y, clf)
    with pytest.raises(ValueError, match="needs a fitted estimator or"):
        s.query(X, y)
    with pytest.raises(ValueError, match="labelled rows"):
        s.query(X, y, scores=P, candidates=np.flatnonzero(y != -1))
    with pytest.raises(ValueError, match="NaN or infinity"):
        s.query(X, y, scores=np.full_like(P, np.nan))
    with pytest.raises(ValueError, match="rows but X has"):
        s.query(X, y, scores=P[:5])
    with pytest.raises(ValueError, match="batch_size must be a positive"):
        s.query(X, y, scores=P, batch_size=0)
    with pytest.raises(ValueError, match="batch_strategy"):
        MarginSampler(batch_strategy="nope").query(X, y, scores=P)


def test_kcenter_kernel_parallel_path_matches_naive():
    # pools with n * d >= 4e6 take the parallel update path
    from skrep.active._kernels import farthest_first

    rng = np.random.default_rng(0)
    X = rng.standard_normal((200_000, 20))
    rows = np.arange(200_000)
    first = int(rng.integers(200_000))
    chosen = farthest_first(
        X,
        rows,
        np.full(200_000, np.inf),
        first,
        4,
        rng.random(200_000),
    )
    d = np.full(200_000, np.inf)
    expected = [first]
    for _ in range(3):
        d = np.minimum(d, ((X - X[expected[-1]]) ** 2).sum(axis=1))
        d[expected] = -1
        expected.append(int(np.argmax(d)))
    np.testing.assert_array_equal(chosen, expected)


def test_dataframe_pool_and_sparse_pool():
    import pandas as pd
    import scipy.sparse as sp

    X, y = load_iris(return_X_y=True, as_frame=True)
    y_part = np.full(150, -1)
    y_part[::15] = y.to_numpy()[::15]
    clf = LogisticRegression(max_iter=500).fit(X[y_part != -1], y[y_part != -1])
    for batch_strategy in BATCH_STRATEGIES:
        s = MarginSampler(batch_strategy=batch_strategy, random_state=0)
        idx = s.query(X, y_part, clf, batch_size=5)
        assert isinstance(X, pd.DataFrame) and np.unique(idx).shape == (5,)
        assert np.all(y_part[idx] == -1)
    Xs = sp.csr_matrix(X.to_numpy())
    clf_s = LogisticRegression(max_iter=500).fit(Xs[y_part != -1], y[y_part != -1])
    Xn = X.to_numpy()
    clf_n = LogisticRegression(max_iter=500).fit(Xn[y_part != -1], y[y_part != -1])
    dense = MarginSampler(random_state=0).query(Xn, y_part, clf_n, batch_size=5)
    sparse = MarginSampler(random_state=0).query(Xs, y_part, clf_s, batch_size=5)
    assert len(set(dense) & set(sparse)) >= 4


def test_array_api_scores():
    xp = pytest.importorskip("array_api_strict")
    from sklearn import config_context

    X, y, P = _pool()
    expected = MarginSampler(random_state=0).query(X, y, scores=P, batch_size=9)
    with config_context(array_api_dispatch=True):
        got = MarginSampler(random_state=0).query(
            X, y, scores=xp.asarray(P), batch_size=9
        )
    np.testing.assert_array_equal(got, expected)


def test_list_of_lists_pool_for_every_batch_strategy():
    X, y, P = _pool(n=120)
    for batch_strategy in BATCH_STRATEGIES:
        s = MarginSampler(batch_strategy=batch_strategy, random_state=0)
        got = s.query(X.tolist(), y.tolist(), scores=P, batch_size=6)
        np.testing.assert_array_equal(got, s.query(X, y, scores=P, batch_size=6))


@pytest.mark.parametrize("batch_strategy", ["cluster_margin", "proportional"])
def test_clusters_of_another_pool_of_the_same_length_are_not_reused(batch_strategy):
    X_a, _ = make_blobs(300, centers=6, cluster_std=0.3, random_state=0)
    X_b, _ = make_blobs(300, centers=6, cluster_std=0.3, random_state=1)
    P = np.random.default_rng(0).dirichlet(np.ones(3), size=300)
    kw = {
        "batch_strategy": batch_strategy,
        "n_clusters": 6,
        "candidate_factor": None,
        "random_state": 0,
    }
    stale = MarginSampler(**kw).fit(X_a)
    got = stale.query(X_b, None, scores=P, batch_size=12)
    expected = MarginSampler(**kw).query(X_b, None, scores=P, batch_size=12)
    np.testing.assert_array_equal(got, expected)
    # the pool it was fitted on (same values, another array) still reuses it
    fitted = MarginSampler(**kw).fit(X_b)
    first = fitted.query(X_b, None, scores=P, batch_size=12)
    fitted._cluster = None  # reusing the fit must not cluster again
    np.testing.assert_array_equal(
        fitted.query(X_b.copy(), None, scores=P, batch_size=12), first
    )
    del fitted._cluster


def test_query_refuses_three_dimensional_and_missing_values():
    from sklearn.ensemble import HistGradientBoostingClassifier

    from skrep.active import LeverageScoreSampler

    X, y, P = _pool(n=80)
    X3 = X.reshape(80, 3, 1)
    for s in (
        MarginSampler(),
        MarginSampler(batch_strategy="kcenter"),
        RandomSampler(),
        LeverageScoreSampler(),
    ):
        no_scores = isinstance(s, LeverageScoreSampler | RandomSampler)
        kw = {} if no_scores else {"scores": P}
        with pytest.raises(ValueError, match="X must be 2-D.*shape \\(80, 3, 1\\)"):
            s.query(X3, y, batch_size=2, **kw)
    X_nan = X.copy()
    X_nan[np.flatnonzero(y == -1)[::4], 1] = np.nan
    # nothing that accepts NaN reads X: refused
    for s in (MarginSampler(), RandomSampler()):
        kw = {"scores": P} if isinstance(s, MarginSampler) else {}
        with pytest.raises(ValueError, match="X contains NaN"):
            s.query(X_nan, y, batch_size=2, **kw)
    # distances between rows: refused whatever the estimator
    for batch_strategy in ("kcenter", "cluster_margin", "proportional"):
        with pytest.raises(ValueError, match=f"{batch_strategy}.*NaN"):
            MarginSampler(batch_strategy=batch_strategy, candidate_factor=None).query(
                X_nan, y, scores=P, batch_size=4
            )
    # an estimator that accepts NaN scores the pool as it is
    lab = y != -1
    hgb = HistGradientBoostingClassifier(max_iter=5).fit(X_nan[lab], y[lab])
    for s in (MarginSampler(random_state=0), RandomSampler(random_state=0)):
        idx = s.query(X_nan, y, hgb, batch_size=5)
        assert np.all(y[idx] == -1)
    # one that refuses it says so, whether it scores X or not
    clf = LogisticRegression().fit(X[lab], y[lab])
    with pytest.raises(ValueError, match="NaN"):
        MarginSampler().query(X_nan, y, clf, batch_size=2)
    with pytest.raises(ValueError, match="LogisticRegression does not accept"):
        RandomSampler().query(X_nan, y, clf, batch_size=2)
    # an imputing pipeline accepts it, though its tags do not say so
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline

    imputing = make_pipeline(SimpleImputer(), LogisticRegression())
    imputing.fit(X_nan[lab], y[lab])
    for s in (MarginSampler(random_state=0), RandomSampler(random_state=0)):
        idx = s.query(X_nan, y, imputing, batch_size=5)
        assert np.all(y[idx] == -1)


def test_missing_label_convention_is_one_for_every_sampler():
    from skrep.active import LeverageScoreSampler

    X, y, P = _pool(n=60)
    names = np.array(["a", "b", "c", "d"])
    y_str = np.where(y == -1, "", names[np.maximum(y, 0)])
    for s in (MarginSampler(), UncertaintySampler(), RandomSampler()):
        kw = {} if isinstance(s, RandomSampler) else {"scores": P}
        assert s.missing_label == LeverageScoreSampler().missing_label
        with pytest.raises(ValueError, match="missing_label=-1.*string"):
            s.query(X, y_str, batch_size=2, **kw)
        idx = s.set_params(missing_label="").query(X, y_str, batch_size=3, **kw)
        assert np.all(y_str[idx] == "")


class _RecordingLogisticRegression(LogisticRegression):
    """Logs every array its predict_proba receives."""

    def predict_proba(self, X):
        self.seen_.append(X)
        return super().predict_proba(X)


def test_query_scores_the_pool_in_chunks_without_copying_it(monkeypatch):
    # The realistic path (ActiveLearner, simulate): labelled rows are marked in
    # y. The pool is scored in place, chunk by chunk (memory O(chunk), not
    # O(pool)), and the labelled rows' scores are masked.
    from skrep.active import _strategies

    rng = np.random.default_rng(0)
    X = rng.normal(size=(5000, 4))
    y_true = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 1)
    y = np.full(5000, -1)
    lab = rng.choice(5000, 300, replace=False)
    y[lab] = y_true[lab]
    clf = _RecordingLogisticRegression().fit(X[lab], y[lab])
    clf.seen_ = []
    expected = MarginSampler(random_state=0).query(
        X, y, scores=clf.predict_proba(X), batch_size=50
    )
    chunk = 1024
    monkeypatch.setattr(_strategies, "_CHUNK_BYTES", chunk * X.shape[1] * 8)
    clf.seen_ = []
    got = MarginSampler(random_state=0).query(X, y, clf, batch_size=50)
    np.testing.assert_array_equal(got, expected)
    assert sum(c.shape[0] for c in clf.seen_) == 5000
    assert max(c.shape[0] for c in clf.seen_) <= chunk
    assert all(np.shares_memory(c, X) for c in clf.seen_)
    # a small pool (most rows labelled) is gathered chunk by chunk
    y_few = y_true.copy()
    y_few[:700] = -1
    clf.seen_ = []
    idx = MarginSampler(random_state=0).query(X, y_few, clf, batch_size=50)
    assert sum(c.shape[0] for c in clf.seen_) == 700
    assert max(c.shape[0] for c in clf.seen_) <= chunk
    assert np.all(idx < 700)


@pytest.mark.parametrize("ties", [False, True])
def test_top_k_of_a_large_pool_is_exact(ties):
    # large pools take a sampled threshold before the partition: same rows
    from skrep.active._batch import _at_or_above_sampled_threshold, top_k

    rng = np.random.default_rng(0)
    u = rng.random(140_000)
    if ties:
        u = np.round(u, 3)
    u[rng.choice(140_000, 1000, replace=False)] = -np.inf  # masked rows
    for k in (1, 37, 1500):
        assert _at_or_above_sampled_threshold(u, k) is not None  # the fast path
        idx = top_k(u, k, np.random.RandomState(0))
        assert np.unique(idx).shape == (k,)
        rest = np.setdiff1d(np.arange(u.shape[0]), idx)
        assert u[idx].min() >= u[rest].max()
        assert np.all(np.diff(u[idx]) <= 0)
        if not ties:
            np.testing.assert_array_equal(idx, np.argsort(-u, kind="stable")[:k])
    # sorted utilities (an unlucky sample) still give the exact rows
    s = np.sort(u)
    idx = top_k(s, 20, np.random.RandomState(0))
    np.testing.assert_array_equal(s[idx], s[::-1][:20])


def test_candidates_in_any_order_covering_the_pool():
    # candidates that are every row, shuffled: utilities stay with their rows
    X, _, P = _pool(n=50)
    cand = np.random.default_rng(0).permutation(50)
    idx = MarginSampler(random_state=0).query(
        X, None, scores=P, batch_size=5, candidates=cand
    )
    np.testing.assert_array_equal(idx, np.argsort(_brute_force_margin(P))[:5])


@pytest.mark.parametrize("batch_strategy", BATCH_STRATEGIES[1:])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_diversity_batches_do_not_depend_on_the_scale_of_x(batch_strategy, dtype):
    # Distances only compare with each other: a power-of-two rescaling of X
    # (exact) must give the same batch, from 2**-600 to 2**600 (2**+-100 in
    # float32), queried afresh or on the fitted pool. At 1e200 the squared
    # distances overflowed: k-center took the first candidates, average
    # linkage refused the distances.
    X, y, P = _pool(n=200)
    X = X.astype(dtype)
    e = 600 if dtype == np.float64 else 100

    def batch(scale, fit):
        s = MarginSampler(
            batch_strategy=batch_strategy, candidate_factor=None, random_state=0
        )
        Xs = X * dtype(2.0**scale)
        if fit:
            s.fit(Xs, y)
        return s.query(Xs, y, scores=P, batch_size=6)

    for fit in (False, True):
        reference = batch(0, fit)
        for scale in (-e, e):
            np.testing.assert_array_equal(batch(scale, fit), reference)
