"""OutlierRobustPCA at the boundary of its guarantee (issue 16).

Reduced forms of the sweep that ``outlier_adversaries.py`` runs in full
(>= 50 seeds per case, its figures are in the user guide).
"""

import warnings

import numpy as np
import pytest
from outlier_adversaries import bulk_spread, near_flip, sin_to, t_inliers, top_tail
from sklearn.datasets import (
    load_breast_cancer,
    load_diabetes,
    load_digits,
    load_iris,
    load_wine,
)
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from skrep.datasets import make_contaminated_gaussian
from skrep.decomposition import OutlierRobustPCA


def errors(make, d, eps, mags, seeds, filter="power", k=1):
    out = []
    for mag in mags:
        for seed in seeds:
            X, U, _ = make(2000, d, eps, mag, seed=seed)
            est = OutlierRobustPCA(k, eps=eps, filter=filter, random_state=seed)
            out.append(sin_to(est.fit(X).components_, U))
    return np.asarray(out)


@pytest.mark.parametrize("d", [20, 100])
@pytest.mark.parametrize("eps", [0.05, 0.1, 0.2, 0.3])
def test_near_flip_from_just_past_the_flip_to_ten_times(d, eps):
    # Outliers N(0, I) +- t v, t from 1.05 to 10 times the size at which
    # PCA flips from u to v: PCA's answer is v, ours stays at u. At eps 0.3
    # the filter used to balance the variances along u and v, and certify
    # the top eigenvector, then any mix of u and v along which the outliers
    # hide in the inliers' spread (failures 6-38 % from 1.05 to 1.2 times
    # the flip): the second phase checks the most inflated direction.
    mags, seeds = (1.05, 1.2, 2.0, 10.0), range(3)
    ours = errors(near_flip, d, eps, mags, seeds)
    eigen = errors(near_flip, d, eps, mags, seeds, filter="eigen")
    X, U, _ = near_flip(2000, d, eps, 1.05, seed=0)
    assert sin_to(PCA(1).fit(X).components_, U) > 0.5
    assert np.all(ours < 0.3), ours
    assert np.median(ours) <= 1.5 * np.median(eigen)


def test_second_phase_finds_a_tight_cluster_along_the_next_direction():
    # eps = 0.3 of the rows at one point t v, 1.2 times the flip size of
    # symmetric outliers, where the cluster balances the variances along u
    # and v. The cluster deflates the robust variance along u, which then
    # looks the most inflated: filtering along it removed inliers up to the
    # cap and the first certified weights were kept (sin 0.36-0.82 on these
    # seeds; the gate, computed about the coordinate-wise median, also
    # skipped the second phase on half of such runs). The second phase now
    # starts again along the next most inflated direction, v, and removes
    # most of the cluster's weight: certified, no warning.
    for seed in range(4):
        X, U, outliers = near_flip(2000, 20, 0.3, 1.2, clustered=True, seed=seed)
        est = OutlierRobustPCA(eps=0.3, random_state=seed)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            est.fit(X)
        assert est._certified
        assert sin_to(est.components_, U) < 0.1
        assert est.inlier_weights_[outliers].mean() < 0.25
        assert est.inlier_weights_[~outliers].mean() > 0.9


def test_second_phase_that_cannot_certify_keeps_the_first_weights():
    # The same data with max_iter=8: the first phase certifies all rows (the
    # cluster hides along the balanced top eigenvector), and the second phase
    # does not certify in the rounds left. The first certified weights are
    # kept (here every row: PCA's answer), with a warning, and the fit is
    # not certified, so that partial_fit filters such a block again.
    X, _, _ = near_flip(2000, 20, 0.3, 1.2, clustered=True, seed=0)
    est = OutlierRobustPCA(eps=0.3, max_iter=8, random_state=0)
    with pytest.warns(ConvergenceWarning, match="first certified weights"):
        est.fit(X)
    assert not est._certified
    assert est.n_iter_ == 8
    np.testing.assert_array_equal(est.inlier_weights_, 1.0)
    assert sin_to(est.components_, PCA(1).fit(X).components_) < 1e-6


@pytest.mark.parametrize(
    "load, k, eps",
    [
        (load_wine, 1, 0.1),
        (load_digits, 1, 0.1),
        (load_digits, 2, 0.1),
        # Checked along the most inflated direction of each pair of
        # consecutive eigenvectors (k > 1), the second phase removed 22 % of
        # these rows (sin 0.93 to PCA): the pairs' directions, whose ratio of
        # weighted to robust variance was 0.91-1.0, failed the Gaussian tail
        # test. Only the top pair is checked, along an inflated direction.
        (load_digits, 2, 0.2),
    ],
)
def test_second_phase_leaves_clean_real_data_alone(load, k, eps):
    # Where the top eigenvalues are apart (standardised wine: ratio 0.55;
    # digits k = 2: 0.84, below the gate 0.88 at eps 0.1) the second phase
    # does not run: it removed 8 % and 5 % of these rows, sin 0.24 and 0.21
    # to PCA, whose tail test along the selected direction cannot tell
    # their tails from outliers. Digits k = 1 (ratio 0.94) runs it and
    # removes nothing.
    X = (
        StandardScaler().fit_transform(load().data)
        if load is load_wine
        else load().data
    )
    with warnings.catch_warnings():
        # Not by the fallback: a phase that reached its cap and kept the
        # first weights would warn.
        warnings.simplefilter("error", ConvergenceWarning)
        est = OutlierRobustPCA(k, eps=eps, random_state=0).fit(X)
    assert sin_to(est.components_, PCA(k).fit(X).components_) < 0.05
    assert est.inlier_weights_.sum() >= 0.99 * X.shape[0]


def test_warns_when_the_cap_stops_the_filter():
    # Standardised breast cancer (skewed, heavy-tailed features): at
    # eps = 0.1 the filter removes 2 eps of the weight without certifying
    # (sin 0.24 to PCA): it says so. Contaminated Gaussian data: no warning.
    X = StandardScaler().fit_transform(load_breast_cancer().data)
    with pytest.warns(ConvergenceWarning, match="stopped at its cap.*Raise eps"):
        OutlierRobustPCA(eps=0.1, random_state=0).fit(X)
    # eps="auto" (k = 2: its estimate 0.05, cap 0.1): the advice names the
    # estimate, not a parameter the user did not set.
    est = OutlierRobustPCA(2, eps="auto", random_state=0)
    with pytest.warns(ConvergenceWarning, match=r"above the estimate.*\(0\.05\)"):
        est.fit(X)
    X, _, _ = make_contaminated_gaussian(2000, 20, eps=0.1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        OutlierRobustPCA(eps=0.1, random_state=0).fit(X)


def fit_messages(est, X):
    """Fit ``est`` on ``X``; the messages of every warning it raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(X)
    return [str(w.message) for w in caught]


def clustered(*args, **kwargs):
    return near_flip(*args, clustered=True, **kwargs)


def t3_below_their_flip(*args, **kwargs):
    # Magnitudes relative to the Gaussian flip: t3 inliers' covariance is 3
    # times their scatter, so PCA flips at sqrt(3) = 1.73 times it (1.05,
    # 1.2 and 1.5 here are 0.61, 0.69 and 0.87 times PCA's flip); see
    # t_inliers and test_t3_inliers_past_their_own_flip.
    return near_flip(*args, dof=3, **kwargs)


@pytest.mark.parametrize(
    "make, d, eps_grid, mags",
    [
        # All outliers at one point t v: before the robust centre (weighted
        # medians along the top eigenvectors) the coordinate-wise median
        # moved towards them and eps = 0.2 failed on every seed from 1.2 to
        # 2 times the flip size.
        (clustered, 20, (0.1, 0.2), (1.05, 1.5, 3.0)),
        (clustered, 100, (0.2,), (1.5, 3.0)),
        # Heavy-tailed inliers (multivariate t, 3 dof; 1.05 and 3 times the
        # Gaussian flip, 0.61 and 1.73 times their own) and an adversary that
        # deletes the inliers' top tail along u: hold up to eps = 0.1 (the
        # measured rates at 0.2 are in the user guide).
        (t3_below_their_flip, 20, (0.05, 0.1), (1.05, 3.0)),
        (top_tail, 20, (0.05, 0.1), (1.05, 3.0)),
        # Top tail at eps = 0.2: 20-30 % failures at 1.05-1.2 times the flip
        # before the second phase, 0 % of 20 seeds after it.
        (top_tail, 20, (0.2,), (1.05, 1.2)),
    ],
)
def test_other_adversaries(make, d, eps_grid, mags):
    for eps in eps_grid:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # t inliers
            ours = errors(make, d, eps, mags, range(2))
        assert np.all(ours < 0.3), (eps, ours)
    X, U, _ = make(2000, d, eps_grid[-1], mags[-1], seed=0)
    assert sin_to(PCA(1).fit(X).components_, U) > 0.5


def test_heavy_tailed_inliers_at_eps_02_below_their_flip():
    # Multivariate t inliers (3 dof) fail the Gaussian tail test along every
    # direction: the filter removed their tail along u, the top direction,
    # until v won (sin 0.74-0.94 on seeds 0 and 1 at 1.05-1.2 times the
    # Gaussian flip, 0.61-0.69 times the inliers' own, where PCA is right;
    # 52 % of 50 seeds failed at 1.05 times, PCA 18 %). The bulk's
    # directions now calibrate the inliers' tail once the top two
    # eigenvalues are close, and the heaviest rows go in full: as good as
    # PCA on the inliers alone (the oracle, itself noisy at 3 dof).
    for mag in (1.05, 1.2, 1.5):
        for seed in range(4):
            X, U, outliers = t3_below_their_flip(2000, 20, 0.2, mag, seed=seed)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                est = OutlierRobustPCA(eps=0.2, random_state=seed).fit(X)
            ours = sin_to(est.components_, U)
            oracle = sin_to(PCA(1).fit(X[~outliers]).components_, U)
            assert ours < min(0.3, oracle + 0.05), (mag, seed, ours, oracle)


def test_heavy_tailed_inliers_in_the_second_phase():
    # t inliers (3 dof), eps = 0.1, 1.05 times the Gaussian flip (0.61 times
    # theirs, PCA still right; at their own flip: the test below): the second phase
    # filtered along v, removed the outliers, then the inliers' tails along
    # v (the bulk's calibration was off once v's eigenvalue left the gate)
    # up to the cap, and the first certified weights were kept: sin 0.34 on
    # seed 35 (0.12 for PCA on the inliers alone). The calibration now runs
    # in every round of the second phase.
    for seed in (0, 1, 35):
        X, U, outliers = t3_below_their_flip(2000, 20, 0.1, 1.05, seed=seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est = OutlierRobustPCA(eps=0.1, random_state=seed).fit(X)
        ours = sin_to(est.components_, U)
        oracle = sin_to(PCA(1).fit(X[~outliers]).components_, U)
        assert ours < min(0.3, oracle + 0.05), (seed, ours, oracle)


def test_t3_inliers_past_their_own_flip():
    # t3 inliers at 1.05 to 10 times the flip of their covariance (PCA's
    # true flip, t_inliers), eps 0.2 and 0.3, d = 20: PCA's answer is v
    # (sin > 0.5 on 88 % of 200 seeds at 1.05 times, 77 % at 1.0; here sin
    # 0.35-1 on every fit), ours stays at u, and its median error is within
    # 1.5 times filter="eigen"'s. The 50-seed rates (d = 20 and 100) are in
    # the user guide. Before the step bound five cells failed (d = 20, eps
    # 0.3 at 1.05 and 1.2 times; d = 100, 0.2 at 1.05; 0.3 at 1.05 and 1.2):
    # 6, 1, 2, 3 and 2 of 50 seeds; since, 0, 0, 1, 0 and 0 (d = 100, 0.2 at
    # 1.05 times, seed 17: sine 0.48, with the warning that the components
    # are not determined); none on seeds 0, 1.
    mags, seeds = (1.05, 1.2, 2.0, 10.0), range(2)
    for eps in (0.2, 0.3):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # ConvergenceWarning too
            ours = errors(t_inliers, 20, eps, mags, seeds)
            eigen = errors(t_inliers, 20, eps, mags, seeds, filter="eigen")
        assert np.all(ours < 0.3), (eps, ours)
        assert np.median(ours) <= 1.5 * np.median(eigen), (eps, ours, eigen)
        for mag in mags:  # PCA fails on every one of these fits
            for seed in seeds:
                X, U, _ = t_inliers(2000, 20, eps, mag, seed=seed)
                assert sin_to(PCA(1).fit(X).components_, U) > 0.3, (eps, mag)


@pytest.mark.parametrize("eps, mag", [(0.1, 1.05), (0.2, 2.0)])
def test_outliers_spread_in_the_bulk_do_not_hide_the_near_flip_ones(eps, mag):
    # Half of the outliers far out (70 times the noise) in random directions
    # of the bulk, the rest near the flip along v: the bulk looked heavy-
    # tailed (tail factors 4-28) and the outliers along v passed with it
    # (seeds 0 and 1 here: sine 0.9-1.0) until the factor was capped.
    for seed in range(2):
        X, U, _ = bulk_spread(2000, 20, eps, mag, seed=seed)
        est = OutlierRobustPCA(eps=eps, random_state=seed).fit(X)
        assert sin_to(est.components_, U) < 0.3, seed
        assert sin_to(PCA(1).fit(X).components_, U) > 0.5


def test_deflation_against_the_near_flip_adversary():
    # k = 2: spikes 4 and 3 along u_1, u_2; outliers past the flip of u_2,
    # so PCA's top-2 subspace contains v. Each deflation stage is certified.
    # (This test used to fit n_components=1, and so checked only that the
    # top component lies in span(u_1, u_2).)
    for eps in (0.1, 0.2):
        ours = errors(
            lambda *a, **kw: near_flip(*a, k=2, **kw),
            20,
            eps,
            (1.05, 2.0),
            range(2),
            k=2,
        )
        X, U, _ = near_flip(2000, 20, eps, 1.05, k=2, seed=0)
        assert sin_to(PCA(2).fit(X).components_, U) > 0.9
        assert np.all(ours < 0.3), ours


def test_deflation_at_eps_03_checks_the_top_pair():
    # eps = 0.3, spikes 4 and 3, +- t v outliers past the flip of u_2: they
    # sit at the centre of u_1 and u_2 and shrink their robust variances
    # about as much as they inflate v's, so the most inflated direction of
    # the top 3 was a mix of u_1 and u_2 and the fit certified v in the top
    # 2 (74-82 % failures at 1.05-1.2 times the flip, 50 seeds; sin 0.95-1.00
    # on these seeds). The second phase and deflation stage 1 now check the
    # top pair (the k = 1 problem), where v is the most inflated direction
    # (by a search over angles: the scatter's quadratic form misplaced it).
    # Failures are still 24-32 % there (User Guide): a reduced form.
    for magnitude, seed in ((1.05, 3), (1.2, 4), (1.2, 6)):
        X, U, outliers = near_flip(2000, 20, 0.3, magnitude, k=2, seed=seed)
        est = OutlierRobustPCA(2, eps=0.3, random_state=seed).fit(X)
        assert sin_to(est.components_, U) < 0.3
        w = est.inlier_weights_
        assert w[outliers].mean() < w[~outliers].mean() - 0.1
        assert sin_to(PCA(2).fit(X).components_, U) > 0.9


def test_eigen_filter_checks_the_pair_k_k_plus_1():
    # filter="eigen", k = 2, eps = 0.2, +- t v outliers past the flip of u_2:
    # the block's top-2 scores certified with lambda_3 / lambda_2 0.94-0.98
    # (v tied with u_2) while lambda_2 / lambda_1, 0.80-0.82, was below the
    # top pair's gate (0.84): 6-14 % failures at 1.05-2 times the flip (50
    # seeds; sin 0.48-0.62 on these seeds). The pair k, k + 1 is checked too.
    for magnitude, seed in ((1.05, 14), (1.2, 18), (2.0, 1)):
        X, U, outliers = near_flip(2000, 20, 0.2, magnitude, k=2, seed=seed)
        est = OutlierRobustPCA(2, eps=0.2, filter="eigen", random_state=seed)
        assert sin_to(est.fit(X).components_, U) < 0.3
        w = est.inlier_weights_
        assert w[outliers].mean() < w[~outliers].mean() - 0.5
        assert sin_to(PCA(2).fit(X).components_, U) > 0.5
    # Clean standardised digits, whose pair 2, 3 exceeds the Gaussian tail
    # by 7 standard errors (heavy tails): at the top pair's margin (6) the
    # check took them to sin 0.89 from PCA; the pair enters at 15.
    X = StandardScaler().fit_transform(load_digits().data)
    X = X[:, X.std(axis=0) > 0]
    est = OutlierRobustPCA(2, eps=0.2, filter="eigen", random_state=0).fit(X)
    assert sin_to(est.components_, PCA(2).fit(X).components_) < 0.05
    assert est.inlier_weights_.sum() >= 0.99 * X.shape[0]


def test_certificate_does_not_rest_on_a_random_draw():
    # The failure: one draw of sketches under-weighted v and
    # certified the data clean. Scores now come from the eigenpairs of the
    # weighted covariance: every random_state gives the same answer.
    X, U, _ = near_flip(2000, 20, 0.2, 1.1, seed=1)
    comps = [
        OutlierRobustPCA(eps=0.2, random_state=r).fit(X).components_ for r in range(5)
    ]
    for c in comps:
        np.testing.assert_allclose(c, comps[0], atol=1e-10)
    assert sin_to(comps[0], U) < 0.3


def test_matrix_free_path_recertifies_with_fresh_columns(monkeypatch, capsys):
    # d > 512: eigenpairs by block power iteration. A stage that passes the
    # tail test is certified only with eigenpairs recomputed from a block
    # half made of fresh Gaussian columns, its rows scored again.
    from skrep.decomposition import _outlier_robust_pca as mod

    top_eig = mod._WeightedCovariance.top_eig

    def spy(self, b, *, rng, V0=None, n_iter=4):
        if self._eig is None:  # a block power iteration (printed in order)
            kept = 0 if V0 is None else V0.shape[1]
            print(f"eig: fresh={0 < kept < b}")
        return top_eig(self, b, rng=rng, V0=V0, n_iter=n_iter)

    monkeypatch.setattr(mod._WeightedCovariance, "top_eig", spy)
    X, U, _ = near_flip(3000, 600, 0.1, 1.2, seed=0)
    est = OutlierRobustPCA(eps=0.1, random_state=0, verbose=1).fit(X)
    assert sin_to(est.components_, U) < 0.6 < sin_to(PCA(1).fit(X).components_, U)
    events = []  # ("eig", fresh) or (stage, passed, scored on fresh eigenpairs)
    fresh = False
    for line in capsys.readouterr().out.splitlines():
        if line.startswith("eig:"):
            fresh = line.endswith("True")
            continue
        fields = dict(f.strip().split("=") for f in line.split(":")[1].split(",")[:4])
        passed = float(fields["tail"]) <= float(fields["certify_at"])
        events.append((fields["stage"], passed, fresh))
    assert est._certified
    nexts = events[1:] + [("end",)]
    certified = [
        e for e, nxt in zip(events, nexts, strict=True) if e[1] and nxt[0] != e[0]
    ]
    # The power and the block stages, certified in a row at the end.
    assert {e[0] for e in certified[-2:]} == {"0", "block"}, events
    assert all(fresh for *_, fresh in certified), events
    # ... after a pass on the iterated block that was not enough.
    assert any(passed and not fresh for _, passed, fresh in events), events


def stream(X, chunk, **params):
    est = OutlierRobustPCA(random_state=0, **params)
    for start in range(0, X.shape[0], chunk):
        est.partial_fit(X[start : start + chunk])
    return est


def test_streaming_does_not_depend_on_the_chunk_size():
    # The case: 1 or 5 rows at a time gave |cos| 0.015, now every
    # chunk size gives the same blocks, hence the same model.
    X, U, _ = make_contaminated_gaussian(4000, 20, eps=0.1, random_state=0)
    ests = [stream(X, c, eps=0.1) for c in (1, 5, 100, 4000)]
    for est in ests[1:]:
        np.testing.assert_allclose(est.components_, ests[0].components_, atol=1e-10)
        np.testing.assert_allclose(est.inlier_weights_, ests[0].inlier_weights_)
        assert est.noise_variance_ == pytest.approx(ests[0].noise_variance_)
    batch = OutlierRobustPCA(eps=0.1, random_state=0).fit(X)
    assert sin_to(ests[0].components_, U) < 0.1
    assert abs(sin_to(ests[0].components_, U) - sin_to(batch.components_, U)) < 0.05
    # The buffer of an incomplete block is bounded: O(block * d) memory.
    assert ests[0]._buffer.shape == (1000, 20)


def test_incomplete_block_enters_when_read():
    # 500 rows wait for their block. The model read holds all of them,
    # whatever the chunk size (it held those of its last refit, when their
    # number doubled: 400 at chunks of 100, 256 at single rows).
    X, U, _ = make_contaminated_gaussian(1500, 20, eps=0.1, random_state=1)
    ests = [stream(X, c, eps=0.1) for c in (1, 100, 1500)]
    for est in ests[1:]:
        np.testing.assert_allclose(est.components_, ests[0].components_, atol=1e-10)
        np.testing.assert_allclose(est.mean_, ests[0].mean_, atol=1e-10)
    assert ests[0]._n_buffered == 500
    assert ests[0].n_samples_seen_ == 1500
    assert sin_to(ests[0].components_, U) < 0.15


@pytest.mark.parametrize("load", [load_wine, load_diabetes])
def test_short_sorted_stream_of_single_rows_is_one_chunk(load):
    # A user's trial: a data set with far rows added, sorted by its first
    # column and fed one row at a time. Shorter than a block, the model
    # was the fit of its first 128 rows (of 197 for standardised wine:
    # sine 0.74 to PCA on the wine rows, 0.004 in one chunk; diabetes 0.35
    # against 0.012), silently. Read after the stream, it holds every row.
    X = StandardScaler().fit_transform(load().data)
    Xc = with_far_outliers(X, seed=0)
    Xc = Xc[np.argsort(Xc[:, 0], kind="stable")]
    single, whole = (stream(Xc, c, n_components=2) for c in (1, Xc.shape[0]))
    np.testing.assert_allclose(single.components_, whole.components_, atol=1e-10)
    assert sin_to(single.components_, PCA(2).fit(X).components_) < 0.05


def test_bursty_stream_is_refiltered_and_warned():
    # All 400 outliers in the first 1000 rows (the burst; partial_fit
    # gave sin 1.000): that block cannot be certified within 2 eps of
    # removed weight; it is filtered again up to half of its weight, and
    # partial_fit warns. Spread over the stream, no warning.
    X, U, out = make_contaminated_gaussian(4000, 20, eps=0.1, random_state=0)
    X = np.concatenate([X[out], X[~out]])
    X[:1000] = X[np.random.default_rng(0).permutation(1000)]
    for chunk in (100, 500):
        with pytest.warns(UserWarning, match="filtered again"):
            burst = stream(X, chunk, eps=0.1)
        assert sin_to(burst.components_, U) < 0.1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        shuffled = stream(X[np.random.default_rng(1).permutation(4000)], 100, eps=0.1)
    assert sin_to(shuffled.components_, U) < 0.1


def test_eps_auto_on_digits_is_pca():
    X = load_digits().data
    est = OutlierRobustPCA(eps="auto", random_state=0).fit(X)
    assert est.eps_ <= 0.05
    assert sin_to(est.components_, PCA(1).fit(X).components_) < 0.05


def top_tail_law(eps, magnitude, grid, spike=4.0):
    """Density, on ``grid`` x ``grid`` in the (u, v) plane, of the population
    law that ``top_tail`` samples (the other coordinates are N(0, 1) under
    every law below, so total variation is decided in this plane)."""
    from scipy import stats

    q = stats.norm.isf(eps / 2)  # |u^T x| / sd above which inliers are deleted
    kept = (1 + spike) * (2 * stats.norm.cdf(q) - 1 - 2 * q * stats.norm.pdf(q))
    t = magnitude * np.sqrt((kept + eps - 1) / eps)  # flip_magnitude's, n -> inf
    XU, XV = np.meshgrid(grid, grid, indexing="ij")
    sd = np.sqrt(1 + spike)
    inliers = stats.norm.pdf(XU, scale=sd) * (np.abs(XU) < q * sd) * stats.norm.pdf(XV)
    outliers = stats.norm.pdf(XU) * (stats.norm.pdf(XV - t) + stats.norm.pdf(XV + t))
    return inliers + 0.5 * eps * outliers, XU, XV


@pytest.mark.parametrize("magnitude", [1.05, 2.0])
def test_top_tail_at_eps_03_is_not_identifiable(magnitude):
    # The top-tail adversary at eps = 0.3 (95-100 % failures up to twice the
    # flip size): its law P is within total variation eps of N(0, I + 4 u u^T)
    # by construction, and also of a Gaussian N(0, diag(a, b)) in the (u, v)
    # plane with b = 2 max(a, 1), whose top direction is v with a 2x gap. The
    # same data is then an eps-corruption of either Gaussian; as u and v are
    # orthogonal, any answer is at sine >= 1/sqrt(2) from one of them: no
    # estimator can succeed on both. (Not so from 5 times the flip on: best
    # overlap 0.64 < 1 - eps; failures there are ours.)
    from scipy import optimize, stats

    eps = 0.3
    # The law is the sampler's: second moments along u and v within 4
    # standard errors of 20,000 rows (along v, the error of the sample's t
    # too: it comes from the kept rows' variance along u, and d(t^2) = d(kept)
    # magnitude^2 / eps). On a 3x finer grid: the 0.075 step of the grid
    # below lowers E (u^T x)^2 by 0.025, 2 standard errors.
    X, U, outliers = top_tail(20_000, 2, eps, magnitude, seed=0)
    fine = np.linspace(-12, 12, 961)
    P, XU, XV = top_tail_law(eps, magnitude, fine)
    for along, grid_coord, spread in (
        (U[0], XU, 0.0),
        (np.array([-U[0, 1], U[0, 0]]), XV, magnitude**2),
    ):
        sq = (X @ along) ** 2
        kept = np.where(outliers, 0.0, (X @ U[0]) ** 2)
        se = np.sqrt((sq.var() + spread**2 * kept.var()) / len(X))
        law = (P * grid_coord**2).sum() / P.sum()
        assert abs(sq.mean() - law) < 4 * se

    grid = np.linspace(-12, 12, 321)
    cell = (grid[1] - grid[0]) ** 2
    P, XU, XV = top_tail_law(eps, magnitude, grid)

    def overlap(a, b):  # 1 - TV(P, N(0, diag(a, b)))
        G = stats.norm.pdf(XU, scale=np.sqrt(a)) * stats.norm.pdf(XV, scale=np.sqrt(b))
        return np.minimum(P, G).sum() * cell

    assert overlap(5.0, 1.0) == pytest.approx(1 - eps, abs=0.02)  # the truth
    best = optimize.minimize_scalar(
        lambda la: -overlap(np.exp(la), 2 * max(np.exp(la), 1.0)),
        bounds=(-2, 2),
        method="bounded",
    )
    assert -best.fun > 1 - eps + 0.05  # TV < eps, with room for the grid


def test_warns_where_the_top_directions_are_not_determined():
    # The top tail at eps = 0.3, 1.05 times the flip (not identifiable, see
    # above): the certified variances along u and v end within eps log(1/eps)
    # / 4 of each other (ratios 0.91-0.97), and fit warns. (At twice the flip
    # the certified covariance has a clear top direction, ratios 0.54-0.92,
    # and most failures there stay silent.) partial_fit checks its running
    # summary likewise once a block is complete (here two blocks of 1,000).
    for seed in range(3):
        X, U, _ = top_tail(2000, 20, 0.3, 1.05, seed=seed)
        for method in ("fit", "partial_fit"):
            est = OutlierRobustPCA(eps=0.3, random_state=seed)
            with pytest.warns(UserWarning, match="not determined by the data"):
                getattr(est, method)(X)
    # A stream warns once, not on every block (four here, in 40 chunks).
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est = OutlierRobustPCA(eps=0.3, random_state=seed)
        for chunk in np.split(np.vstack([X, X[::-1]]), 40):
            est.partial_fit(chunk)
    assert sum("not determined" in str(w.message) for w in caught) == 1


def test_warns_where_the_top_tail_is_cut_past_the_gap():
    # The top tail at eps = 0.3, d = 20, 1.5 and 2 times the flip (not
    # identifiable up to twice the flip, see above): the certified variance
    # along u ends at 0.54-0.83 of that along v, a clear gap, and 90-98 % of
    # 50 seeds failed silently (here 8 of 8). Along u the weighted variance
    # is 0.76-0.94 of its robust one (a Gaussian's tail cut off) and the
    # robust variances are within eps log(1/eps) of each other: fit warns,
    # and partial_fit (its blocks' shapes pooled) warns the same whatever
    # the chunk size. Seed 1 stays silent: along u, 0.89 of its robust
    # variance, within the 3 standard errors of a Gaussian's.
    silent, fails = 0, 0
    for mag in (1.5, 2.0):
        for seed in range(4):
            X, U, _ = top_tail(2000, 20, 0.3, mag, seed=seed)
            est = OutlierRobustPCA(eps=0.3, random_state=seed)
            warned = any("not determined" in m for m in fit_messages(est, X))
            failed = sin_to(est.components_, U) > 0.3
            fails += failed
            silent += failed and not warned
            if mag == 1.5:
                for chunk in (100, 2000):
                    with warnings.catch_warnings(record=True) as caught:
                        warnings.simplefilter("always")
                        stream = OutlierRobustPCA(eps=0.3, random_state=seed)
                        for start in range(0, 2000, chunk):
                            stream.partial_fit(X[start : start + chunk])
                    messages = [str(w.message) for w in caught]
                    assert any("not determined" in m for m in messages) == warned
    assert fails >= 7
    assert silent <= 2


def test_cut_tail_warning_nearer_the_flip_and_after_fit():
    # At 1.2 times the flip, seeds 5 and 10 end with the (k+1)-th ratio
    # below 1 - 3 standard errors but not below the k-th's by sqrt(2) times
    # them: a bound from the k-th's ratio alone, even above 1, left them
    # silent (and seeds 4 and 15; 1 and 4 stay silent). And a stream
    # continuing a fit that warned for another reason pools fit's rows into
    # its shape: its later blocks alone read "determined", and it warned
    # again.
    for seed in (5, 10):
        X, U, _ = top_tail(2000, 20, 0.3, 1.2, seed=seed)
        est = OutlierRobustPCA(eps=0.3, random_state=seed)
        messages = fit_messages(est, X)
        assert sin_to(est.components_, U) > 0.3
        assert any("not determined" in m for m in messages)
    X, _, _ = top_tail(4000, 20, 0.3, 3.0, seed=1)
    est = OutlierRobustPCA(eps=0.3, random_state=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(X[:2000])
        for start in range(2000, 4000, 500):
            est.partial_fit(X[start : start + 500])
    assert len([w for w in caught if "not determined" in str(w.message)]) == 1


@pytest.mark.parametrize(
    "case",
    ["clustered", "raw digits k=1", "standardised digits k=2", "t30 200,000 rows"],
)
def test_no_cut_tail_warning_where_the_tail_is_not_the_outliers(case):
    # The check above reads two shapes that clean or mended fits also show.
    # Clustered outliers at eps = 0.3 near the flip (seeds 0 and 2; the fit
    # is right, sin 0.08-0.09): the cluster at u's centre deflates its
    # robust variance (weighted 2.2-2.6 times robust), reversing the robust
    # order. Raw digits at k = 1: the second direction's tail is lighter
    # (0.69) than deleting the top eps of a Gaussian leaves (0.72-0.85 at eps
    # 0.05-0.2). Standardised digits at k = 2: the second direction is
    # heavier-tailed (1.18-1.21) than a Gaussian or the top tail adversary's
    # (at most 1.14). None of these warned before the check; none does now
    # (on the full digits: 1,500-row subsamples of the standardised ones warn
    # on 2 of 16 fits at k = 2, eps 0.2 and 0.3, a third direction of their
    # own lighter, 0.76 of its robust variance against 0.95 along the
    # second). Clean t30 rows, 200,000 x 10 (standard deviations 2 and 1.8
    # on the top two): the filter trims 3-6 % of the weight, lowering the
    # weighted-to-robust ratio along both directions alike (0.976-0.986 and
    # 0.984-0.991), more than 3 standard errors below 1 at this n (0.987);
    # their ratio (0.992-0.995) is not (0.982), and fit no longer warns (it
    # did before the comparison).
    if case == "clustered":
        fits = [
            (near_flip(2000, 20, 0.3, 1.05, clustered=True, seed=seed)[0], 1, 0.3)
            for seed in (0, 2)
        ]
    elif case == "raw digits k=1":
        fits = [(load_digits().data, 1, eps) for eps in (0.05, 0.1, 0.2)]
    elif case == "t30 200,000 rows":
        scales = np.ones(10)
        scales[:2] = 2.0, 1.8
        X = np.random.default_rng(2).standard_t(30, size=(200_000, 10)) * scales
        fits = [(X, 1, eps) for eps in (0.1, 0.2)]
    else:
        X = load_digits().data
        X = StandardScaler().fit_transform(X[:, X.std(axis=0) > 0])
        fits = [(X, 2, eps) for eps in (0.1, 0.2, 0.3)]
    for X, k, eps in fits:
        messages = fit_messages(OutlierRobustPCA(k, eps=eps, random_state=0), X)
        assert not any("not determined" in m for m in messages), (eps, messages)


def test_warns_where_the_sampling_error_decides():
    # The top tail at eps = 0.2 and d = 100: the kept inliers' variance along
    # u is 2.2 times the noise, and 2,000 rows leave the top eigenvector's
    # sine at about 0.3 whatever the estimator (PCA on the inliers alone
    # fails on 48 % of 50 seeds, ours on 76 % at 1.05 times the flip, all
    # silently before). The sampling error predicted from the certified
    # eigenvalues (a spiked covariance at d / n) is 0.28-0.36 there: fit
    # warns. Where it is small, no warning: the near-flip outliers at
    # d = 100 (at most 0.27), clean data with a spike of 4 at n = 500 (sine
    # 0.23 for PCA); a spike of 2 there (PCA's sine 0.35) warns.
    failed = 0
    for seed in range(3):
        X, U, _ = top_tail(2000, 100, 0.2, 1.05, seed=seed)
        est = OutlierRobustPCA(eps=0.2, random_state=seed)
        messages = fit_messages(est, X)
        if sin_to(est.components_, U) > 0.3:
            failed += 1
            assert any("sampling error" in m for m in messages), seed
    assert failed >= 2
    # (near-flip at d = 100: test_no_undetermined_warning_where_the_second_phase_mends)
    for spike, warns in ((4.0, False), (2.0, True)):
        rng = np.random.default_rng(0)
        X = rng.standard_normal((500, 100))
        X[:, 0] *= np.sqrt(1 + spike)
        messages = fit_messages(OutlierRobustPCA(eps=0.1, random_state=0), X)
        assert any("sampling error" in m for m in messages) == warns


def test_stream_warns_the_same_whatever_the_chunk_size():
    # Clustered outliers at eps = 0.3, 4,000 rows: a block whose second
    # phase restarted takes the restart's gate, and keeps it once merged.
    # The gate used to be that of the blocks completed by the same call:
    # fed all at once the stream warned, one or 100 rows at a time (the last
    # block not restarted) it did not.
    # Calls that complete earlier blocks may warn too, where the running
    # summary is then itself not determined (after 2,000 rows: sine 0.999
    # to u, with a warning; after 3,000: 0.05): the call that completes the
    # stream warns once whatever the chunk size.
    X, _, _ = near_flip(4000, 20, 0.3, 1.05, clustered=True, seed=30)
    for chunk in (1, 100, 4000):
        est = OutlierRobustPCA(eps=0.3, random_state=30)
        for start in range(0, 4000, chunk):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                est.partial_fit(X[start : start + chunk])
        assert sum("not determined" in str(w.message) for w in caught) == 1, chunk


@pytest.mark.parametrize(
    "n, d, rank, k",
    [(2000, 20, 2, 3), (500, 10, 2, 4), (1000, 50, 1, 2), (2000, 2, 0, 1)],
)
def test_no_undetermined_warning_past_the_rank_of_clean_data(n, d, rank, k):
    # Clean Gaussian data, signal of rank `rank` (variance 9), n_components
    # past it, or isotropic 2-D data: the (k+1)-th variance is noise, within
    # the Marchenko-Pastur edge of the noise variance, and nothing orders
    # those directions. The noise variance is the mean of the d - k
    # eigenvalues below the top k; with the mean of those below the top
    # k + 8 (the smallest ones) 19 of these 24 fits warned (2-D: 4 of 6).
    # partial_fit checks its running summary once a block of 1,000 rows is
    # complete (not at n = 500).
    for seed in range(3):
        X = np.random.default_rng(seed).standard_normal((n, d))
        X[:, :rank] *= 3.0
        for eps, method in (
            (0.1, "fit"),
            (0.3, "fit"),
            (0.3, "partial_fit"),
        ):
            with warnings.catch_warnings():
                warnings.simplefilter("error", UserWarning)
                est = OutlierRobustPCA(k, eps=eps, random_state=seed)
                getattr(est, method)(X)


def test_clustered_outliers_near_the_flip():
    # eps = 0.3 of the rows at one point t v, 1.05-1.1 times the flip size
    # of symmetric outliers (PCA is still right). The cluster deflates the
    # robust variance along u, filtering along u reaches the cap and the
    # second phase restarts; on 4-6 % of the seeds the restart filtered the
    # inliers' tails along the top eigenvector again and certified v at
    # ratios 0.86-0.90, under the warning's 0.91, silently (here seed 1 at
    # 1.05 times and seed 10 at 1.1: sin 0.95 and 0.93, no warning). A third
    # try scores along the next most inflated direction first, and is kept
    # when it ends outside the gate; after a restart, the warning takes the
    # second phase's gate (0.82), so a failure does not go unsaid: seed 22 at
    # 1.1 times still fails (sin 0.93, ratio 0.90), now with the warning.
    failed = 0
    for mag, seeds in ((1.05, range(4)), (1.1, [8, 9, 10, 11, 22])):
        for seed in seeds:
            X, U, _ = near_flip(2000, 20, 0.3, mag, clustered=True, seed=seed)
            est = OutlierRobustPCA(eps=0.3, random_state=seed)
            messages = fit_messages(est, X)
            if sin_to(est.components_, U) > 0.3:
                failed += 1
                assert any("not determined by the data" in m for m in messages), (
                    mag,
                    seed,
                )
    assert failed <= 1


def test_the_second_phase_gives_up_once_its_tail_mass_doubled():
    # Clustered outliers at eps 0.3, 1.05 times the flip: filtering along u
    # (deflated by the cluster) raised the tail mass round after round up to
    # the cap, 29-41 rounds before the restart mended the fit (seeds 3, 5,
    # 6, 8); the first try now gives up once that mass doubled: 15-21.
    for seed in (3, 5, 6, 8):
        X, U, _ = near_flip(2000, 20, 0.3, 1.05, clustered=True, seed=seed)
        est = OutlierRobustPCA(eps=0.3, random_state=seed)
        fit_messages(est, X)
        assert est._restarted and est.n_iter_ <= 24, (seed, est.n_iter_)
        assert sin_to(est.components_, U) < 0.1


@pytest.mark.parametrize("d, seeds", [(20, range(3)), (100, range(2))])
def test_no_undetermined_warning_where_the_second_phase_mends(d, seeds):
    # The near-flip runs at eps = 0.3 end with the (k+1)-th certified
    # variance at most 0.83 of the k-th: below the warning's 0.91; at d = 100
    # their predicted sampling sine is at most 0.27, below 0.3.
    for seed in seeds:
        X, U, _ = near_flip(2000, d, 0.3, 1.2, seed=seed)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            est = OutlierRobustPCA(eps=0.3, random_state=seed).fit(X)
        assert sin_to(est.components_, U) < 0.3


def test_a_step_past_the_cap_is_shortened_to_it():
    # Two tight clusters (scikit-learn's common-check blobs): the first step
    # would remove more than the cap 2 eps; it used to stop the filter with
    # nothing removed, now it removes exactly the cap, and fit warns.
    from sklearn.datasets import make_blobs

    X, _ = make_blobs(
        n_samples=30, centers=[[0, 0], [1, 1]], cluster_std=0.1, random_state=0
    )
    with pytest.warns(ConvergenceWarning, match="stopped at its cap"):
        est = OutlierRobustPCA(eps=0.1, random_state=0).fit(X)
    assert est.inlier_weights_.sum() == pytest.approx(0.8 * 30)


def test_burst_path_passes_on_unrelated_warnings(monkeypatch):
    # partial_fit records the warnings of a block's first filtering to
    # decide on a burst; those it does not handle (here one planted in that
    # filtering only, not in the burst's second one) must still reach the
    # user, burst or not. They were dropped on a burst.
    X, _, out = make_contaminated_gaussian(4000, 20, eps=0.1, random_state=0)
    burst = np.concatenate([X[out], X[~out]])[:1000]  # 400 outliers
    filter_, calls = OutlierRobustPCA._filter, []

    def noisy(self, *args, **kwargs):
        if not calls:
            warnings.warn("unrelated", RuntimeWarning, stacklevel=2)
        calls.append(None)
        return filter_(self, *args, **kwargs)

    monkeypatch.setattr(OutlierRobustPCA, "_filter", noisy)
    for rows, is_burst in ((burst, True), (X[:1000], False)):
        calls.clear()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            OutlierRobustPCA(eps=0.1, random_state=0).partial_fit(rows)
        messages = [str(w.message) for w in caught]
        assert messages.count("unrelated") == 1, messages
        assert any("filtered again" in m for m in messages) == is_burst
        assert len(calls) == 1 + is_burst


@pytest.mark.parametrize("d, seeds", [(20, (9, 42, 49)), (100, (37,))])
def test_heavy_tailed_inliers_at_eps_03_at_the_true_flip(d, seeds):
    # t3 inliers, eps = 0.3 at 1.05 times PCA's true flip. The step was the
    # excess over the threshold divided by the largest one, an inlier's t3
    # tail 15-30 times the 10th largest: every round removed 0.1-0.6 % of
    # the weight and max_iter ended with outliers left (sin 0.40-0.95 on
    # seeds 9, 42 and 49 at d = 20, 0.79 on seed 37 at d = 100; 6 and 3 of
    # 50 seeds failed). The divisor is now at most 5 times the 10th largest,
    # 3 times in the second phase (0 and 0 of 50 failed).
    for seed in seeds:
        X, U, _ = t_inliers(2000, d, 0.3, 1.05, seed=seed)
        if seed == seeds[0]:
            assert sin_to(PCA(1).fit(X).components_, U) > 0.5
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est = OutlierRobustPCA(eps=0.3, random_state=seed).fit(X)
        assert sin_to(est.components_, U) < 0.3, seed


def with_far_outliers(X, seed):
    """``X`` and a ninth as many rows at 3 times its largest distance to
    the mean, in directions of the positive orthant."""
    Z = np.abs(
        np.random.default_rng(seed).standard_normal((X.shape[0] // 9, X.shape[1]))
    )
    r = 3 * np.linalg.norm(X - X.mean(0), axis=1).max()
    return np.vstack([X, X.mean(0) + r * Z / np.linalg.norm(Z, axis=1, keepdims=True)])


@pytest.mark.parametrize("load", [load_breast_cancer, load_wine])
@pytest.mark.parametrize("k", [2, 3])
@pytest.mark.parametrize("eps", [0.1, "auto"])
def test_deflation_on_raw_features_of_mixed_scales(load, k, eps):
    # Raw features (scales 1e-3 to 1e3) and outliers, a tenth of the
    # inliers' number, at 3 times the largest distance to the mean, in directions of the
    # positive orthant: a new user's first try. Stage 0 filtered the
    # inliers' skewed tail along the top direction until max_iter and the
    # later stages never ran, or ran with steps scaled by rows already
    # removed: components 2 and 3 at |cos| 0.02-0.5 to PCA on the inliers,
    # mostly without a warning. Every component is now PCA's.
    X = load().data
    Xc = with_far_outliers(X, seed=0)
    with warnings.catch_warnings():
        # The inliers are far from Gaussian: it may say it did not certify.
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = OutlierRobustPCA(k, eps=eps, random_state=0).fit(Xc)
    cos = np.abs(np.sum(est.components_ * PCA(k).fit(X).components_, axis=1))
    assert np.all(cos > 0.95), cos
    assert est.inlier_weights_[X.shape[0] :].max() < 0.01
    assert sin_to(PCA(k).fit(Xc).components_, PCA(k).fit(X).components_) > 0.5


@pytest.mark.parametrize(
    "X",
    [
        load_iris().data,
        StandardScaler().fit_transform(load_wine().data),
        load_diabetes().data,
    ],
    ids=["iris", "wine standardised", "diabetes"],
)
@pytest.mark.parametrize("seed", [0, 1])
def test_far_rows_keep_no_part_of_their_weight(X, seed):
    # At 150-440 rows the tail test's standard error admitted the far rows
    # with a fraction of their weight after the first step (1-6 rows' worth
    # in all): the top component at sine 0.14-0.56 to PCA on the data
    # alone, without a warning. Rows partly removed beyond twice the
    # largest distance of the rows kept whole now go.
    Xc = with_far_outliers(X, seed)
    est = OutlierRobustPCA(random_state=seed).fit(Xc)
    assert np.all(est.inlier_weights_[X.shape[0] :] == 0)
    assert est.inlier_weights_[: X.shape[0]].mean() > 0.99
    assert sin_to(est.components_, PCA(1).fit(X).components_) < 0.05


@pytest.mark.parametrize("dense", [True, False])
def test_stages_left_at_max_iter_are_tested(monkeypatch, dense):
    # Raw breast cancer with far rows, k = 2, eps = 0.1: the filter reaches
    # max_iter trimming the inliers' skewed tail, and the stages its last
    # test has not reached are tested after it (past max_iter, without
    # filtering; the matrix-free path, whose passing stage is first
    # rechecked with fresh columns, needs one round more): certified, as
    # before that test, but now only with every stage passed.
    from skrep.decomposition import _outlier_robust_pca as mod

    if not dense:
        monkeypatch.setattr(mod, "_MAX_DENSE_FEATURES", 0)
    X = load_breast_cancer().data
    Xc = with_far_outliers(X, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est = OutlierRobustPCA(2, eps=0.1, random_state=0).fit(Xc)
    assert est.n_iter_ == est.max_iter
    cos = np.abs(np.sum(est.components_ * PCA(2).fit(X).components_, axis=1))
    assert np.all(cos > 0.95), cos


def test_far_rows_step_stays_within_the_cap():
    # t inliers (3 dof) stop at the cap, 2 eps of the weight removed; rows
    # past twice the largest kept distance are then mostly the inliers'
    # tail, and dropping them took the removed weight to 0.24.
    X, _, _ = t_inliers(1000, 20, 0.1, 0.8, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = OutlierRobustPCA(2, eps=0.1, random_state=0).fit(X)
    assert 1 - est.inlier_weights_.mean() <= 0.2 + 1e-9


def test_far_rows_step_does_not_depend_on_the_offset():
    # float64 rows 5e7 times their spread from the origin are filtered
    # where they are: the residual from squared norms cancelled to rounding
    # there, and no far row was dropped (40 at smaller offsets).
    X, _, _ = make_contaminated_gaussian(400, 30, 0.1, random_state=0)
    zero = [
        OutlierRobustPCA(random_state=0).fit(X + offset).inlier_weights_ == 0
        for offset in (0.0, 5e7)
    ]
    assert zero[0].sum() > 0
    np.testing.assert_array_equal(zero[0], zero[1])
