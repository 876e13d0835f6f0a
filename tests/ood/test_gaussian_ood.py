"""Tests of GaussianMixtureOODDetector: exactness, the model choice, the
calibrated threshold on new rows, streaming, extreme magnitudes, and the
papers' OOD claims at small scale on bundled data."""

import pickle
import re
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import stats
from sklearn.base import clone
from sklearn.covariance import OAS, EllipticEnvelope, LedoitWolf
from sklearn.datasets import (
    load_breast_cancer,
    load_diabetes,
    load_digits,
    load_iris,
    load_wine,
)
from sklearn.decomposition import FactorAnalysis
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score, roc_curve
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import train_test_split
from sklearn.neighbors import LocalOutlierFactor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import QuantileTransformer, StandardScaler
from sklearn.svm import OneClassSVM

from skrep.ood import GaussianMixtureOODDetector, _gaussian_ood, _model, _moments
from skrep.ood._tour import ood_protocols

# Most fits here have fewer than the 370 rows that contamination='auto'
# needs to be calibrated, and warn so; the warning is tested in
# test_flag_rate_on_new_gaussian_rows_matches_contamination (pytest.warns
# records it whatever the filters).
pytestmark = pytest.mark.filterwarnings(
    "ignore:contamination=.* rows to be calibrated:UserWarning"
)


def _data(n=400, d=6, n_classes=4, seed=0):
    rng = np.random.RandomState(seed)
    A = rng.randn(d, d)
    y = rng.randint(n_classes, size=n)
    centers = 3 * rng.randn(n_classes, d)
    X = rng.randn(n, d) @ A + centers[y] + 5.0
    return X, y


def _direct_sq(X, mean, cov):
    diff = X - mean
    return np.einsum("ij,ij->i", diff, np.linalg.solve(cov, diff.T).T)


@pytest.fixture(scope="module")
def digits_split():
    # In-distribution: digits 0-4 (half for training); OOD: digits 5-9.
    X, y = load_digits(return_X_y=True)
    inside = y < 5
    X_tr, X_te, y_tr, _ = train_test_split(
        X[inside], y[inside], test_size=0.5, random_state=0, stratify=y[inside]
    )
    X_eval = np.r_[X_te, X[~inside]]
    is_in = np.r_[np.ones(len(X_te)), np.zeros((~inside).sum())]
    return X_tr, y_tr, X_eval, is_in, X, y


def _fpr_at_95_tpr(is_in, score):
    fpr, tpr, _ = roc_curve(is_in, score)
    return fpr[np.searchsorted(tpr, 0.95)]


# --------------------------------------------------------------- exactness
def test_single_gaussian_matches_sklearn_ledoit_wolf_and_oas():
    X, _ = _data()
    kw = {"reg_covar": 0.0, "shrinkage_target": "identity"}
    det = GaussianMixtureOODDetector(**kw).fit(X)
    lw = LedoitWolf().fit(X)
    assert_allclose(det.covariances_[0], lw.covariance_, rtol=1e-12, atol=1e-12)
    assert_allclose(det.shrinkage_[0, 0], lw.shrinkage_, rtol=1e-12)
    assert_allclose(det.score_samples(X), -lw.mahalanobis(X), rtol=1e-10)
    det = GaussianMixtureOODDetector(shrinkage="oas", **kw).fit(X)
    assert_allclose(det.covariances_[0], OAS().fit(X).covariance_, atol=1e-12)
    # The diagonal target: Ledoit-Wolf on standardised features, in X's units.
    det = GaussianMixtureOODDetector(reg_covar=0.0, shrinkage_target="diagonal")
    det.fit(X)
    sd = X.std(axis=0)
    lw = LedoitWolf().fit(X / sd)
    assert_allclose(det.covariances_[0], lw.covariance_ * np.outer(sd, sd), rtol=1e-10)
    assert_allclose(det.shrinkage_[0, 0], lw.shrinkage_, rtol=1e-10)
    det = GaussianMixtureOODDetector(shrinkage=0.3, **kw).fit(X)
    S = np.cov(X.T, bias=True)
    target = 0.7 * S + 0.3 * np.trace(S) / 6 * np.eye(6)
    assert_allclose(det.covariances_[0], target, atol=1e-12)


def _by_class_and_fold(per_group, n_classes, n_folds):
    # group_moments' statistics of the groups class * n_folds + fold, with
    # leading shape (n_classes, n_folds) as _moments.Folds takes them.
    return {
        key: (
            [m.reshape(n_classes, n_folds, *m.shape[1:]) for m in value]
            if isinstance(value, list)
            else value.reshape(n_classes, n_folds, *value.shape[1:])
        )
        for key, value in per_group.items()
    }


def test_fold_complements_are_the_statistics_of_the_other_folds():
    # The statistics of every fold but j (the sums of all folds less fold
    # j's, about each class's mean), of two folds (merged) and of all folds
    # equal those computed directly from the rows.
    rng = np.random.RandomState(0)
    X = rng.standard_normal((300, 5)) * [1, 2, 3, 4, 5] + 7
    y, fold = rng.randint(3, size=300), rng.randint(4, size=300)
    bounds = (0, 2, 5)
    per_group = _moments.group_moments(X, y * 4 + fold, 12, bounds, np, None)
    folds = _by_class_and_fold(per_group, 3, 4)
    sums = _moments.Folds(folds)
    cases = [(fold != j, sums.without([j])) for j in range(4)]
    cases += [(fold % 2 == 1, sums.union([1, 3])), (fold >= 0, sums.total())]
    # fit's folds, computed from the rows one at a time, are the same bits.
    counts = {key: folds[key] for key in ("n", "mean")}
    lazy = _moments.RowFolds(counts, X, y, fold, bounds, True, np, None)
    for j in range(4):
        got, expected = lazy.without([j]), sums.without([j])
        for key in ("n", "mean"):
            assert_array_equal(got[key], expected[key])
        for key in ("M2", "F", "G"):
            for a, b in zip(got[key], expected[key], strict=True):
                assert_array_equal(a, b)
    for j, (rows, got) in enumerate(cases):
        expected = _moments.group_moments(X[rows], y[rows], 3, bounds, np, None)
        assert_array_equal(got["n"], expected["n"])
        assert_allclose(got["mean"], expected["mean"], rtol=1e-12)
        for key in ("M2", "F", "G"):
            for a, b in zip(got[key], expected[key], strict=True):
                assert_allclose(a, b, rtol=1e-10, atol=1e-8, err_msg=f"{j} {key}")


def test_fold_complements_exact_when_a_dropped_fold_holds_a_far_outlier():
    # One wild row of class 0 in fold 0 holds nearly all its spread: the
    # sums of all folds less fold 0's would lose the rest (a negative sum of
    # fourth powers at 1e6); the complement is merged from the kept folds.
    # Class 1 (no outlier) takes the difference of sums.
    rng = np.random.RandomState(0)
    y, fold = np.arange(400) % 2, (np.arange(400) // 2) % 4
    taken, original = [], _moments.group_moments

    def counted(X, *args, **kwargs):
        taken.append(X.shape[0])
        return original(X, *args, **kwargs)

    for wild in (1e4, 1e6):
        X = rng.standard_normal((400, 3))
        X[0] = wild  # class 0, fold 0
        per_group = _moments.group_moments(X, y * 4 + fold, 8, (0, 3), np, None)
        folds = _by_class_and_fold(per_group, 2, 4)
        got = _moments.Folds(folds).without([0])
        rows = fold != 0
        expected = _moments.group_moments(X[rows], y[rows], 2, (0, 3), np, None)
        for key in ("M2", "F", "G"):
            e = expected[key][0]
            assert_allclose(got[key][0], e, rtol=1e-9, atol=1e-9 * np.abs(e).max())
        assert_allclose(got["mean"], expected["mean"], rtol=1e-12)
        # fit's folds from the rows: the same bits, and the kept folds of
        # class 0 merged from its rows only (100 rows of fold 0, then 150).
        counts = {key: folds[key] for key in ("n", "mean")}
        lazy = _moments.RowFolds(counts, X, y, fold, (0, 3), True, np, None)
        taken.clear()
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(_moments, "group_moments", counted)
            lazy_got = lazy.without([0])
        assert sum(taken) == 250
        for key in ("n", "mean"):
            assert_array_equal(lazy_got[key], got[key])
        for key in ("M2", "F", "G"):
            for a, b in zip(lazy_got[key], got[key], strict=True):
                assert_array_equal(a, b)


def test_model_choice_auroc_is_roc_auc_score_with_ties():
    rng = np.random.RandomState(0)
    for _ in range(5):
        scores, positive = rng.randint(5, size=60) * 1.0, rng.rand(60) < 0.4
        got = _gaussian_ood._auroc(positive, scores)
        assert got == pytest.approx(roc_auc_score(positive, scores), abs=1e-12)


@pytest.mark.parametrize("covariance_type", ["tied", "full", "diag", "spherical"])
def test_fast_paths_match_direct_per_class_computation(covariance_type):
    # The whitening + one matrix product path equals the direct per-class
    # Mahalanobis distance (maximum-likelihood covariances) to 1e-10, and
    # class_score='log_density' adds each class's log-determinant (relative
    # to their mean): twice the class log-density, up to a constant.
    X, y = _data()
    kw = {
        "covariance_type": covariance_type,
        "shrinkage": None,
        "reg_covar": 0.0,
        "shrinkage_target": "identity",  # 'spherical' is relative to the target
    }
    det = GaussianMixtureOODDetector(class_score="mahalanobis", **kw).fit(X, y)
    classes = np.unique(y)
    means = np.array([X[y == c].mean(0) for c in classes])
    centred = X - means[np.searchsorted(classes, y)]
    tied = centred.T @ centred / len(X)
    covs = []
    for c in classes:
        S = np.cov(X[y == c].T, bias=True)
        covs.append(
            {
                "tied": tied,
                "full": S,
                "diag": np.diag(np.diag(S)),
                "spherical": np.trace(S) / 6 * np.eye(6),
            }[covariance_type]
        )
    direct = np.stack(
        [_direct_sq(X, m, S) for m, S in zip(means, covs, strict=True)], axis=1
    )
    assert_allclose(det.mahalanobis(X)[:, :, 0], direct, rtol=1e-10, atol=1e-10)
    assert_allclose(det.score_samples(X), -direct.min(axis=1), rtol=1e-10, atol=1e-10)
    assert_allclose(det.means_[:, 0], means, atol=1e-12)
    density = GaussianMixtureOODDetector(class_score="log_density", **kw).fit(X, y)
    log_det = np.array([np.linalg.slogdet(S)[1] for S in covs])
    log_pdf = np.stack(
        [
            stats.multivariate_normal(m, S).logpdf(X)
            for m, S in zip(means, covs, strict=True)
        ],
        axis=1,
    )
    assert_allclose(
        density.score_samples(X),
        -(direct + log_det - log_det.mean()).min(axis=1),
        rtol=1e-9,
        atol=1e-9,
    )
    assert_allclose(
        density.score_samples(X),
        2 * log_pdf.max(axis=1) + 6 * np.log(2 * np.pi) + log_det.mean(),
        rtol=1e-9,
        atol=1e-9,
    )


def test_feature_blocks_joint_and_separate_aggregation():
    X, y = _data(d=6)
    kw = {
        "covariance_type": "full",
        "shrinkage_target": "identity",
        "class_score": "mahalanobis",
    }
    det = GaussianMixtureOODDetector(
        feature_blocks=[2, 4], block_aggregation="joint", **kw
    ).fit(X, y)
    parts = [
        GaussianMixtureOODDetector(**kw).fit(X[:, s], y)
        for s in (slice(0, 2), slice(2, 6))
    ]
    sq = np.stack(
        [
            p.mahalanobis(X[:, s])[:, :, 0]
            for p, s in zip(parts, (slice(0, 2), slice(2, 6)), strict=True)
        ],
        axis=2,
    )
    assert_allclose(det.mahalanobis(X), sq, rtol=1e-10)
    assert_allclose(det.score_samples(X), -sq.sum(axis=2).min(axis=1), rtol=1e-10)
    det.set_params(block_aggregation="separate").fit(X, y)
    assert_allclose(det.score_samples(X), -sq.min(axis=1).sum(axis=1), rtol=1e-10)
    assert det.df_ == 6 and len(det.covariances_) == 2
    det = GaussianMixtureOODDetector(feature_blocks=3).fit(X)
    assert_array_equal(det.block_bounds_, [0, 2, 4, 6])


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_mixture_log_likelihood_matches_density(covariance_type):
    # n_components > 1: EM per class; the score is the class log-density.
    rng = np.random.RandomState(1)
    X = np.r_[rng.randn(150, 3), rng.randn(150, 3) + 4]
    det = GaussianMixtureOODDetector(
        # 'spherical' variances are in X's units with the identity target.
        2,
        covariance_type=covariance_type,
        shrinkage_target="identity",
        random_state=0,
    ).fit(X)
    cov = det.covariances_[0][0]
    w = det.weights_[0, :, 0]
    dens = 0.0
    for m in range(2):
        if covariance_type == "full":
            C = cov[m]
        elif covariance_type == "tied":
            C = cov
        elif covariance_type == "diag":
            C = np.diag(cov[m])
        else:
            C = cov[m] * np.eye(3)
        dens = dens + w[m] * stats.multivariate_normal(det.means_[0, m], C).pdf(X)
    assert_allclose(det.score_samples(X), np.log(dens), rtol=1e-9)
    # The score is the mixture's log-likelihood, and the label says so.
    assert det.class_score_ == "log_density"
    assert det.mahalanobis(X).shape == (300, 1, 1)
    # And the fit is sklearn's EM on the centred data.
    gm = GaussianMixture(2, covariance_type=covariance_type, random_state=0).fit(X)
    assert abs(np.mean(det.score_samples(X)) - gm.score(X)) < 0.05
    assert det.n_iter_ >= 1


def test_mixtures_per_block_have_their_own_weights():
    # With feature blocks, each block is its own mixture: the joint score is
    # the sum of the blocks' class log-likelihoods.
    rng = np.random.RandomState(2)
    X = np.c_[
        np.r_[rng.randn(200, 2), rng.randn(100, 2) + 5],
        np.r_[rng.randn(50, 2), rng.randn(250, 2) - 5],
    ]
    kw = {"covariance_type": "full", "random_state": 0}
    det = GaussianMixtureOODDetector(2, feature_blocks=[2, 2], **kw).fit(X)
    assert det.weights_.shape == (1, 2, 2)
    assert_allclose(det.weights_.sum(axis=1), 1.0)
    total = 0.0
    for b, cols in enumerate((slice(0, 2), slice(2, 4))):
        dens = sum(
            det.weights_[0, m, b]
            * stats.multivariate_normal(
                det.means_[0, m, cols], det.covariances_[b][0, m]
            ).pdf(X[:, cols])
            for m in range(2)
        )
        total = total + np.log(dens)
    assert_allclose(det.score_samples(X), total, rtol=1e-9)


def test_float32_is_scored_in_float32():
    X, y = _data()
    det = GaussianMixtureOODDetector(covariance_type="full").fit(X, y)
    s64 = det.score_samples(X)
    s32 = det.score_samples(X.astype(np.float32))
    assert s32.dtype == np.float32
    assert det.mahalanobis(X.astype(np.float32)).dtype == np.float32
    assert_allclose(s32, s64, rtol=1e-3)
    det32 = GaussianMixtureOODDetector().fit(X.astype(np.float32), y)
    assert det32.score_samples(X.astype(np.float32)).dtype == np.float32


@pytest.mark.parametrize("n_jobs", [1, 2, None])
def test_chunked_threaded_scoring_equals_one_chunk(monkeypatch, n_jobs):
    X, y = _data(n=300)
    det = GaussianMixtureOODDetector(
        covariance_type="full", feature_blocks=2, n_jobs=n_jobs
    ).fit(X, y)
    whole = det.score_samples(X)
    whole_sq = det.mahalanobis(X)
    monkeypatch.setattr(_model, "_CHUNK_BYTES", 1)  # 64-row chunks
    assert_allclose(det.score_samples(X), whole, rtol=1e-12)
    assert_allclose(det.mahalanobis(X), whole_sq, rtol=1e-12)


# ------------------------------------------------- calibrated thresholds
def _rate_tolerance(q, n_calibration, n_test):
    # Three standard deviations of the flag rate: the binomial error of the
    # test rows plus that of the calibration quantile.
    return 3.0 * np.sqrt(q * (1 - q) * (1 / n_calibration + 1 / n_test))


def test_flag_rate_on_new_gaussian_rows_matches_contamination():
    # Split-conformal calibration: new in-distribution rows (never the
    # training rows) are flagged at the stated rate; 'auto' is 0.27%.
    rng = np.random.RandomState(0)
    d = 8
    A = rng.randn(d, d)
    X = rng.randn(5_000, d) @ A + 1.0
    X_new = rng.randn(200_000, d) @ A + 1.0
    for contamination, q in (("auto", 0.0027), (0.05, 0.05)):
        det = GaussianMixtureOODDetector(contamination=contamination).fit(X)
        assert det.contamination_ == q  # 0.0027, not 1 - 0.9973
        rate = np.mean(det.predict(X_new) == -1)
        assert abs(rate - q) < _rate_tolerance(q, len(X), len(X_new)), rate
    # Conformal p-values of new rows are uniform, and p <= contamination is
    # exactly the rows predict flags.
    p = det.score_to_pvalue(X_new[:20_000])
    assert stats.kstest(p, "uniform").pvalue > 1e-3
    assert_array_equal(p <= 0.05, det.predict(X_new[:20_000]) == -1)
    assert det.calibration_scores_.shape == (len(X),)
    assert np.all(np.diff(det.calibration_scores_) >= 0)
    # With 150 rows no calibration score is as rare as 0.27%: 'auto' is then
    # the rate 1 / (n + 1) = 1 / 151, whose threshold is the smallest of the
    # out-of-fold scores. Fitting does not warn: the rate is calibrated. The
    # flags of 60 seeds pooled, each seed's m new rows sharing its
    # threshold, whose own rate is spread as Beta(1, n): the variance of a
    # seed's count is m q (1 - q) + m (m - 1) q^2 n / (n + 2). Three
    # standard deviations are 0.26 percentage points: the 0.36% of the
    # earlier extrapolated threshold fails (z = -3.4).
    n, m, seeds = 150, 2_000, 60
    flags = 0
    for seed in range(seeds):
        rng = np.random.RandomState(seed)
        A = rng.randn(4, 4)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            det = GaussianMixtureOODDetector().fit(rng.randn(n, 4) @ A)
        assert det.offset_ == det.calibration_scores_[0]
        assert det.contamination_ == 1 / (n + 1)
        flags += np.sum(det.predict(rng.randn(m, 4) @ A) == -1)
    q = 1 / (n + 1)
    variance = seeds * (m * q * (1 - q) + m * (m - 1) * q * q * n / (n + 2))
    assert abs(flags - seeds * m * q) < 3 * np.sqrt(variance), flags
    # A rarer contamination than 1 / (n + 1) extrapolates the tail of the
    # distances, which is not calibrated: fitting warns.
    with pytest.warns(UserWarning, match="needs at least 999 rows"):
        det = GaussianMixtureOODDetector(contamination=0.001).fit(rng.randn(150, 4))
    assert det.offset_ < det.calibration_scores_[0]
    assert det.contamination_ == 0.001
    # 'auto' below 370 rows is the threshold, calibration scores and
    # p-values of the float rate 1 / (n + 1), also where (1 / (n + 1)) (n +
    # 1) rounds below 1 in floating point (n = 48), which does not warn.
    X = rng.randn(48, 4)
    auto = GaussianMixtureOODDetector().fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rate = GaussianMixtureOODDetector(contamination=1 / 49).fit(X)
    assert rate.offset_ == auto.offset_ == auto.calibration_scores_[0]
    assert_array_equal(rate.calibration_scores_, auto.calibration_scores_)
    assert_array_equal(rate.score_to_pvalue(X), auto.score_to_pvalue(X))
    assert rate.contamination_ == auto.contamination_ == 1 / 49
    # Mixtures (EM fits) calibrate 'auto' below 370 rows the same way, from
    # their folds' scores, and do not warn.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        det = GaussianMixtureOODDetector(n_components=2, random_state=0)
        det.fit(rng.randn(150, 4))
    assert det.offset_ == det.calibration_scores_[0]
    assert det.contamination_ == 1 / 151


def test_auto_flags_its_stated_rate_on_new_rows_of_small_real_data():
    # Issue 18, item 3: below 370 rows 'auto' is the rate 1 / (n + 1), and
    # new in-distribution rows of real data are flagged at that rate. Iris,
    # each class alone: 25 training rows (1 / 26 = 3.8%), the other 25 rows
    # scored, ten splits. The flags of one split share its threshold, whose
    # own rate is spread as Beta(1, n): the variance of a split's count of m
    # flags is m q (1 - q) + m (m - 1) q^2 n / (n + 2). The extrapolated
    # 0.27% of the earlier calibration flagged 5 rows here (z = -3.3).
    X, y = load_iris(return_X_y=True)
    flags = expected = variance = 0.0
    for seed in range(10):
        for c in range(3):
            fit, new = train_test_split(X[y == c], test_size=0.5, random_state=seed)
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # a calibrated rate: no warning
                det = GaussianMixtureOODDetector().fit(fit)
            n, m, q = len(fit), len(new), det.contamination_
            assert q == 1 / (n + 1)
            flagged = det.predict(new) == -1
            # score_to_pvalue agrees: the flagged rows are those with p <= q.
            assert_array_equal(flagged, det.score_to_pvalue(new) <= q)
            flags += flagged.sum()
            expected += m * q
            variance += m * q * (1 - q) + m * (m - 1) * q * q * n / (n + 2)
    assert abs(flags - expected) < 2.5 * np.sqrt(variance), (flags, expected)


def test_auto_on_benign_breast_cancer_is_calibrated_but_for_two_twin_extremes():
    # Issue 18, item 3, on the breast-cancer protocol (benign tumours, 178
    # training rows, 30 features, its stratified half splits). Over 400
    # splits 'auto' flags 0.39% +- 0.04 of the held-out rows against 1 / 179
    # = 0.56%: two near-duplicate extreme rows (positions 18 and 69 of the
    # benign rows) each moderate the other's score when in the model, and
    # an out-of-fold model never holds the new row: with one training and
    # the other held out, the held-out one was flagged in 10 of 197 splits
    # (in 184 of 184 with both held out). Without them the rate is 0.50%
    # +- 0.04 against 0.56% (one_class_flag_rates in asv_bench). Reduced form,
    # 20 splits: without the pair, the pooled flags within three standard
    # deviations of 1 / (n + 1) (each split's threshold has the rate
    # Beta(1, n)); with it, never above (the threshold errs on the safe side).
    # Seeds 0-19: 27 flags where 20 are expected without the pair, 0 with it.
    X, y = load_breast_cancer(return_X_y=True)
    benign = X[y == 1]
    for rows, two_sided in (
        (np.delete(benign, [18, 69], axis=0), True),
        (benign, False),
    ):
        flags = expected = variance = 0.0
        for seed in range(20):
            fit, new = train_test_split(
                rows, test_size=0.5, random_state=seed, stratify=np.ones(len(rows))
            )
            det = GaussianMixtureOODDetector().fit(fit)
            n, m, q = len(fit), len(new), det.contamination_
            assert q == 1 / (n + 1)
            flags += np.sum(det.predict(new) == -1)
            expected += m * q
            variance += m * q * (1 - q) + m * (m - 1) * q * q * n / (n + 2)
        z = (flags - expected) / np.sqrt(variance)
        assert z < 3 and (z > -3 or not two_sided), (flags, expected)


def test_offset_is_the_conformal_quantile_of_out_of_fold_scores():
    X, y = _data()
    det = GaussianMixtureOODDetector(contamination=0.1).fit(X, y)
    # The 0.1 (n + 1)-th smallest score, between order statistics k and
    # k + 1 in proportion to the fractional part (so that a new row is
    # flagged with probability 0.1, not floor(0.1 (n + 1)) / (n + 1)).
    cal = det.calibration_scores_
    position = 0.1 * (len(X) + 1)
    k = int(np.floor(position))
    low, high = cal[k - 1], cal[k]
    assert_allclose(det.offset_, low + (position - k) * (high - low), rtol=1e-12)
    # The p-values interpolate the ranks the same way: a score between
    # calibration scores j and j + 1 gets (j + its fraction of the gap) /
    # (n + 1), and p <= 0.1 are exactly the rows predict flags.
    s = det.score_samples(X)
    p = det.score_to_pvalue(X)
    inside = (s >= cal[0]) & (s < cal[-1])
    j = np.searchsorted(cal, s[inside], side="right")
    gap = (s[inside] - cal[j - 1]) / (cal[j] - cal[j - 1])
    assert_allclose(p[inside], (j + gap) / (len(cal) + 1), rtol=1e-12)
    assert_array_equal(p[s > cal[-1]], 1.0)
    assert_array_equal(p <= 0.1, det.predict(X) == -1)
    assert_allclose(det.decision_function(X), det.score_samples(X) - det.offset_)
    # Out-of-fold scores are lower than in-sample ones (the model has not
    # seen the row): fewer than 10% of the training rows are flagged.
    assert np.mean(det.predict(X) == -1) < 0.1
    assert np.median(det.calibration_scores_) < np.median(det.score_samples(X))


def test_flag_rate_matches_contamination_between_order_statistics():
    # With n = 74 training rows 0.05 (n + 1) = 3.75: the 3rd smallest
    # out-of-fold score alone flags 3 / 75 = 4% of new rows (less, as the
    # folds' models have fewer rows); the offset interpolated between the
    # 3rd and 4th flags 5%. New Gaussian rows (never the training rows),
    # 100 seeds pooled.
    flagged, step, n_cal, n_new = 0, 0, 0, 0
    for seed in range(100):
        rng = np.random.RandomState(seed)
        A = rng.randn(2, 2)
        det = GaussianMixtureOODDetector(contamination=0.05, n_factors=None)
        det.fit(rng.randn(74, 2) @ A)
        s = det.score_samples(rng.randn(2_000, 2) @ A)
        flagged += np.sum(s < det.offset_)
        step += np.sum(s < det.calibration_scores_[2])
        n_cal, n_new = n_cal + 74, n_new + s.size
    tolerance = _rate_tolerance(0.05, n_cal, n_new)
    assert abs(flagged / n_new - 0.05) < tolerance, flagged / n_new
    assert step / n_new < 0.05 - tolerance, step / n_new


# ------------------------------------------------ the model chosen from data
def test_tied_candidates_choose_the_same_target_at_any_scale(monkeypatch):
    # On standardised features both targets are one model: the first
    # candidate within rounding of the best is chosen whatever the scale of
    # X. NaN scores are passed over; if all are NaN, the first candidate.
    X, y = load_wine(return_X_y=True)
    Z, y = StandardScaler().fit_transform(X[y < 2]), y[y < 2]
    det = GaussianMixtureOODDetector(contamination=0.05)
    for scale in (1.0, 3.0, 1e150, 2.0**-40):
        assert det.fit(Z * scale, y).shrinkage_target_ == "identity", scale
    heldout = _model.heldout_log_likelihood
    for nan in ([0], "all"):

        def with_nan(*args, nan=nan):
            values = np.array(heldout(*args), dtype=float)
            values[slice(None) if nan == "all" else nan] = np.nan
            return values

        monkeypatch.setattr(_model, "heldout_log_likelihood", with_nan)
        det.fit(Z, y)
        found = det.selection_scores_
        valid = [key for key, v in found.items() if not np.isnan(v)]
        assert len(valid) == (len(found) - 1 if nan == [0] else 0)
        expected = max(valid, key=found.get) if valid else next(iter(found))
        chosen = (det.covariance_type_, det.shrinkage_target_, det.n_factors_)
        assert chosen + (det.class_score_,) == expected


def test_mixed_scale_features_rank_rows_as_the_standardised_fit():
    # Wine: feature standard deviations from 0.12 to 314. The diagonal target
    # makes the fit on raw features the fit on standardised ones; the
    # defaults choose it from the data, and rank every row as the defaults
    # do on standardised features.
    X, y = load_wine(return_X_y=True)
    X_tr, X_te, y_tr, _ = train_test_split(X, y, test_size=0.5, random_state=0)
    scaler = StandardScaler().fit(X_tr)
    Z_tr, Z_te = scaler.transform(X_tr), scaler.transform(X_te)
    raw = GaussianMixtureOODDetector(shrinkage_target="diagonal").fit(X_tr, y_tr)
    std = GaussianMixtureOODDetector(shrinkage_target="identity").fit(Z_tr, y_tr)
    assert raw.covariance_type_ == std.covariance_type_
    assert_allclose(raw.score_samples(X_te), std.score_samples(Z_te), rtol=1e-8)
    raw = GaussianMixtureOODDetector().fit(X_tr, y_tr)
    std = GaussianMixtureOODDetector().fit(Z_tr, y_tr)
    assert raw.shrinkage_target_ == "diagonal"
    assert_allclose(raw.score_samples(X_te), std.score_samples(Z_te), rtol=1e-8)
    # The folds' models standardise by all rows' deviations, as
    # StandardScaler did: the same model choice, out-of-fold scores and
    # offset, over several splits (the choice among near-tied candidates
    # included).
    assert_allclose(raw.offset_, std.offset_, rtol=1e-8)
    for seed in range(1, 4):
        X_tr, X_te, y_tr, _ = train_test_split(X, y, test_size=0.5, random_state=seed)
        scaler = StandardScaler().fit(X_tr)
        raw = GaussianMixtureOODDetector().fit(X_tr, y_tr)
        std = GaussianMixtureOODDetector().fit(scaler.transform(X_tr), y_tr)
        assert (raw.covariance_type_, raw.class_score_) == (
            std.covariance_type_,
            std.class_score_,
        )
        assert_allclose(
            raw.score_samples(X_te),
            std.score_samples(scaler.transform(X_te)),
            rtol=1e-8,
        )
        assert_allclose(raw.offset_, std.offset_, rtol=1e-8)
    # With the identity target on raw features, proline (sd 314) sets the
    # target and the scores no longer rank rows as the standardised fit.
    identity = GaussianMixtureOODDetector(shrinkage_target="identity")
    identity.fit(X_tr, y_tr)
    rho = stats.spearmanr(identity.score_samples(X_te), std.score_samples(Z_te))[0]
    assert rho < 0.9


def test_factor_model_choice_scores_each_class_score_with_its_own_model():
    # The model choice builds one model per fold for both class scores; the
    # log-density candidate of a factor model must still be scored with its
    # classes' log-determinants (it was scored as the Mahalanobis candidate,
    # 0.962 for both, and the choice fell to the Mahalanobis score).
    X, y = load_wine(return_X_y=True)
    det = GaussianMixtureOODDetector(n_factors=2).fit(X, y)
    scores = det.selection_scores_
    log_density = scores[("full", "diagonal", 2, "log_density")]
    mahalanobis = scores[("full", "diagonal", 2, "mahalanobis")]
    assert log_density > mahalanobis
    assert det.class_score_ == "log_density"


def test_model_choice_memory_bound_and_few_classes(monkeypatch):
    def chosen(det):
        return (
            det.covariance_type_,
            det.shrinkage_target_,
            det.n_factors_,
            det.class_score_,
        )

    X, y = _data()
    det = GaussianMixtureOODDetector(class_score="mahalanobis").fit(X, y)
    # 3 classes or more: shrunk covariances only (no factor model).
    assert set(det.selection_scores_) == {
        (c, t, None, "mahalanobis")
        for c in ("tied", "full")
        for t in ("identity", "diagonal")
    }
    best = max(det.selection_scores_, key=det.selection_scores_.get)
    assert chosen(det) == best
    # class_score='auto': per-class covariances also with the log-density.
    det = GaussianMixtureOODDetector().fit(X, y)
    assert set(det.selection_scores_) == {
        (c, t, None, s)
        for c in ("tied", "full")
        for t in ("identity", "diagonal")
        for s in ("mahalanobis", "log_density")
        if c == "full" or s == "mahalanobis"
    }
    assert chosen(det) == max(det.selection_scores_, key=det.selection_scores_.get)
    # Per-class covariances are not candidates beyond the memory bound.
    monkeypatch.setattr(_gaussian_ood, "_AUTO_FULL_BYTES", 1)
    det = GaussianMixtureOODDetector().fit(X, y)
    assert {c for c, _, _, _ in det.selection_scores_} == {"tied"}
    # Fewer than 3 classes: tied, the shrinkage target or a factor model
    # (1, 2, 4, ... factors, up to half the 6 features) by held-out
    # log-likelihood.
    det = GaussianMixtureOODDetector().fit(X[y < 2], y[y < 2])
    assert set(det.selection_scores_) == {
        ("tied", "identity", None, "mahalanobis"),
        ("tied", "diagonal", None, "mahalanobis"),
        ("tied", "diagonal", 1, "mahalanobis"),
        ("tied", "diagonal", 2, "mahalanobis"),
    }
    assert np.all(np.isfinite(list(det.selection_scores_.values())))
    assert chosen(det) == max(det.selection_scores_, key=det.selection_scores_.get)
    # No factor model beyond its feature bound, which is on the features of
    # all blocks together (the cost of a candidate grows with each block),
    # or with a fixed target.
    monkeypatch.setattr(_gaussian_ood, "_AUTO_FACTOR_FEATURES", 5)
    det = GaussianMixtureOODDetector().fit(X[y < 2], y[y < 2])
    assert {k for _, _, k, _ in det.selection_scores_} == {None}
    det = GaussianMixtureOODDetector(feature_blocks=2).fit(X[y < 2], y[y < 2])
    assert {k for _, _, k, _ in det.selection_scores_} == {None}
    monkeypatch.setattr(_gaussian_ood, "_AUTO_FACTOR_FEATURES", 6)
    det = GaussianMixtureOODDetector(feature_blocks=2).fit(X[y < 2], y[y < 2])
    assert {k for _, _, k, _ in det.selection_scores_} == {None, 1}
    det = GaussianMixtureOODDetector(shrinkage_target="diagonal").fit(X[y < 2])
    assert det.selection_scores_ == {} and det.n_factors_ is None


def test_fit_memory_is_the_statistics_estimated_before_allocation(monkeypatch):
    # Many classes: the (class, fold) statistics would dominate fit's
    # memory. Past a bound (64 MiB; lowered here to 0), fit computes their
    # matrices one fold at a time from the rows and keeps only their counts
    # and means (and the rows): its traced peak
    # is below all folds' statistics (it was 1.7 times them when fit kept
    # them) and its pickle a small part of them. partial_fit, continuing
    # the fit, rebuilds all of them: what nbytes estimates (a third without
    # the fourth-order ones, which only the Ledoit-Wolf coefficient needs).
    # Past the bound fit refuses before allocating them where the classes'
    # pooled statistics cannot stand in (per-class covariances).
    import tracemalloc

    C, d = 30, 48
    rng = np.random.RandomState(0)
    X = rng.standard_normal((10 * C, d)) + np.repeat(rng.randn(C, d), 10, axis=0)
    y = np.repeat(np.arange(C), 10)

    def fit(covariance_type="tied", **params):
        det = GaussianMixtureOODDetector(covariance_type=covariance_type, **params)
        tracemalloc.start()
        try:
            det.fit(X, y)
        finally:
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        return det, peak

    monkeypatch.setattr(_gaussian_ood, "_ROW_FOLDS_BYTES", 0)
    fit(shrinkage="oas")  # imports and compiled kernels out of the count
    stored = {}
    for shrinkage in ("ledoit_wolf", "oas"):
        det, peak = fit(shrinkage=shrinkage)
        fourth = shrinkage == "ledoit_wolf"
        assert set(det._folds) == {"n", "mean"}
        all_folds = _moments.nbytes(det._folds["n"].shape, det._edges, fourth)
        one_fold = _moments.nbytes((C,), det._edges, fourth)
        # About 7 times one fold's (the sums of all folds, a complement, a
        # fold, the candidate models), where all folds are 10.
        assert peak < all_folds == 10 * one_fold
        assert len(pickle.dumps(det)) < all_folds / 4
        det.partial_fit(X[:20], y[:20])
        folds = det._folds
        stored[shrinkage] = sum(
            sum(m.nbytes for m in v) if isinstance(v, list) else v.nbytes
            for v in folds.values()
        )
        assert set(folds) == {"n", "mean", "M2"} | ({"F", "G"} if fourth else set())
        assert stored[shrinkage] == all_folds
    assert stored["oas"] < 0.4 * stored["ledoit_wolf"]
    bound = stored["oas"] - 1
    monkeypatch.setattr(_gaussian_ood, "_STATISTICS_BYTES", bound)
    with pytest.raises(ValueError, match="feature_blocks, lower cv, or use shrinkage"):
        fit("full")
    # Refused before the statistics were allocated.
    tracemalloc.start()
    with pytest.raises(ValueError, match="GiB") as refused:
        GaussianMixtureOODDetector(covariance_type="full", shrinkage="oas").fit(X, y)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < stored["oas"] / 4
    # The advice names the fewest feature_blocks that fit (and no 'oas', in
    # use already): one fewer is refused, the named number fits the bound.
    assert "'oas'" not in str(refused.value)
    blocks = int(re.search(r"feature_blocks=(\d+) fits", str(refused.value))[1])
    with pytest.raises(ValueError, match="GiB"):
        fit("full", shrinkage="oas", feature_blocks=blocks - 1)
    det, _ = fit(shrinkage="oas", feature_blocks=blocks)
    assert _moments.nbytes(det._folds["n"].shape, det._edges, False) <= bound
    # Two blocks of 24 features: half the sum of squared block sizes.
    det, _ = fit(shrinkage="oas", feature_blocks=2)
    assert_array_equal(np.diff(det.block_bounds_), [24, 24])
    # A stream begun without the fourth-order statistics cannot switch to
    # Ledoit-Wolf; the refused chunk leaves the detector as it was.
    det.set_params(shrinkage="ledoit_wolf")
    before = det.score_samples(X[:5])
    with pytest.raises(ValueError, match="fourth-order statistics"):
        det.partial_fit(X[:20], y[:20])
    assert_array_equal(det.score_samples(X[:5]), before)


def test_past_the_bound_a_tied_model_is_fitted_from_pooled_statistics(monkeypatch):
    # Statistics over the bound with a tied candidate: fit warns and fits a
    # tied covariance from the classes' pooled statistics, O(cv d^2 + C cv d)
    # floats. Its model of all rows is the exact tied fit; the cross-fitted
    # models' Ledoit-Wolf coefficients are approximate (rows about their
    # class's mean over all rows): the scores are the exact fit's, only the
    # offset moves (digits, 0-4 in, 5-9 out); with 'oas' (which needs no
    # fourth-order statistics) everything is exact.
    X, y = load_digits(return_X_y=True)
    inside = y < 5
    X_fit, X_new, y_fit, _ = train_test_split(
        X[inside], y[inside], test_size=0.5, random_state=0, stratify=y[inside]
    )
    X_test = np.r_[X_new, X[~inside]]
    is_in = np.r_[np.ones(len(X_new)), np.zeros(np.sum(~inside))]
    for shrinkage in ("ledoit_wolf", "oas"):
        exact = GaussianMixtureOODDetector(covariance_type="tied", shrinkage=shrinkage)
        exact.fit(X_fit, y_fit)
        fourth = shrinkage == "ledoit_wolf"
        size = _moments.nbytes(exact._folds["n"].shape, exact._edges, fourth)
        monkeypatch.setattr(_gaussian_ood, "_STATISTICS_BYTES", size // 2)
        for ctype in ("tied", "auto"):
            det = GaussianMixtureOODDetector(covariance_type=ctype, shrinkage=shrinkage)
            with pytest.warns(UserWarning, match="pooled statistics") as record:
                det.fit(X_fit, y_fit)
            assert len(record) == 1 and record[0].filename == __file__
            assert "feature_blocks=" in str(record[0].message)
            assert det.covariance_type_ == "tied"
            assert {c for c, *_ in det.selection_scores_} <= {"tied"}
            assert_allclose(det.shrinkage_, exact.shrinkage_, rtol=1e-12)
            assert_allclose(det.means_, exact.means_, rtol=1e-12, atol=1e-12)
            scores, reference = det.score_samples(X_test), exact.score_samples(X_test)
            assert_allclose(scores, reference, rtol=1e-9)
            auroc = roc_auc_score(is_in, scores)
            assert abs(auroc - roc_auc_score(is_in, reference)) < 0.005
            if shrinkage == "oas":
                assert_allclose(det.offset_, exact.offset_, rtol=1e-9)
            # The kept statistics: per fold two d x d matrices (one with
            # 'oas'), per class and fold a count and a mean, per class a
            # centre.
            C, K = det._folds["n"].shape
            d = X.shape[1]
            kept = sum(
                sum(m.nbytes for m in v) if isinstance(v, list) else v.nbytes
                for v in det._folds.values()
            )
            matrices = 2 if fourth else 1
            assert kept == 8 * (matrices * K * d * d + C * K * (d + 1) + C * d)
            assert kept == _moments.nbytes((C, K), det._edges, fourth, pooled=True)
            with pytest.raises(ValueError, match="pooled statistics"):
                det.partial_fit(X_fit[:10], y_fit[:10])
        # Per-class covariances, or a relative distance (a background
        # Gaussian of all rows), still need the per-class statistics.
        for params in ({"covariance_type": "full"}, {"relative": True}):
            with pytest.raises(ValueError, match="GiB"):
                GaussianMixtureOODDetector(shrinkage=shrinkage, **params).fit(
                    X_fit, y_fit
                )
        monkeypatch.undo()
    # 100 classes of 512 features at the real bound: 6.3 GiB of per-class
    # statistics, 42 MB pooled.
    lead, bounds = (100, 10), (0, 512)
    assert _moments.nbytes(lead, bounds) > _gaussian_ood._STATISTICS_BYTES
    assert _moments.nbytes(lead, bounds, pooled=True) < 2**26


def test_factor_covariance_is_factor_analysis_maximum_likelihood():
    # The factor model of a covariance is scikit-learn's FactorAnalysis fit
    # of the rows (the same maximum-likelihood model: same log-likelihood,
    # same covariance up to the stopping rule), equivariant under a change
    # of the features' units; the detector's n_factors model is that
    # covariance, scored by its Mahalanobis distance.
    rng = np.random.RandomState(3)
    loadings, noise = 2 * rng.randn(8, 2), rng.uniform(0.5, 2.0, 8)
    X = rng.randn(300, 2) @ loadings.T + noise * rng.randn(300, 8) + 5.0
    S = np.cov(X.T, bias=True)
    units = np.geomspace(1e-3, 1e3, 8)
    for k in (1, 2):
        fa = FactorAnalysis(k, tol=1e-6, max_iter=5000).fit(X)
        cov, psi = _model.factor_covariance(S, k, tol=1e-11, max_iter=5000)
        loglik = stats.multivariate_normal(X.mean(axis=0), cov).logpdf(X).mean()
        assert_allclose(loglik, fa.score(X), rtol=1e-7)
        assert_allclose(cov, fa.get_covariance(), rtol=1e-3, atol=1e-3)
        assert_allclose(psi, fa.noise_variance_, rtol=1e-2)
        scaled, _ = _model.factor_covariance(
            S * np.outer(units, units), k, tol=1e-11, max_iter=5000
        )
        assert_allclose(scaled / np.outer(units, units), cov, rtol=1e-6)
    det = GaussianMixtureOODDetector(n_factors=2, reg_covar=0.0).fit(X)
    assert det.n_factors_ == 2 and det.shrinkage_[0, 0] == 0.0
    # The detector stops when a row's log-likelihood gains less than 1e-4.
    cov = det.covariances_[0]
    loglik = stats.multivariate_normal(X.mean(axis=0), cov).logpdf(X).mean()
    assert fa.score(X) - 1e-3 < loglik < fa.score(X) + 1e-9
    assert_allclose(
        det.score_samples(X), -_direct_sq(X, X.mean(axis=0), det.covariances_[0])
    )
    # Equivariant with its default reg_covar whatever shrinkage_target says
    # (the identity target's regularisation had made it depend on units).
    for target in ("identity", "diagonal"):
        det = GaussianMixtureOODDetector(n_factors=2, shrinkage_target=target)
        scores = det.fit(X).score_samples(X)
        assert det.shrinkage_target_ == "diagonal"
        assert_allclose(det.fit(X * units).score_samples(X * units), scores)


def test_defaults_on_bundled_protocols():
    # One pass over the protocols of the guide (one seed here; the example
    # averages three):
    # * AUROC: the defaults are at least as good as the best of
    #   EllipticEnvelope, LOF, IsolationForest and OneClassSVM on digits and
    #   wine (raw and standardised), averaged over the splits. Breast cancer
    #   (one split): at least EllipticEnvelope and OneClassSVM here; LOF and
    #   IsolationForest, closer, over ten seeds in the next test.
    # * Breast cancer reversed (malignant in, benign out): the defaults lose
    #   to LOF, IsolationForest and OneClassSVM (0.71 against 0.79-0.86 over
    #   ten seeds, documented), not to the Gaussian EllipticEnvelope. The cause
    #   is the marginals: the malignant features are right-skewed, bounded
    #   below near -2 standard deviations, and most benign rows lie below
    #   that bound, where the symmetric Gaussian still puts mass. Mapping
    #   each feature to normal quantiles first (the guide's remedy; it costs
    #   about 0.02 on the benign-in direction) beats every peer there.
    # * Digits: per-class covariances and the identity target are chosen,
    #   scored by the class log-density, and no split gets worse than with
    #   the old default (tied, identity); the log-density detects better on
    #   average than the distance of the same models.
    # * Flag rates on the held-out in-distribution rows, pooled over the
    #   splits: contamination=0.05, and 'auto' (0.27%, via the conformal
    #   p-values, equivalent to predict) on digits, where the rows suffice
    #   for that quantile. The in-sample offsets of issue 18 flagged 10-43%
    #   and 2.4-6.4% of these rows.
    peers = {
        "EllipticEnvelope": lambda: EllipticEnvelope(random_state=0),
        "LOF": lambda: LocalOutlierFactor(novelty=True),
        "IsolationForest": lambda: IsolationForest(random_state=0),
        "OneClassSVM": OneClassSVM,
    }
    auroc, pooled = {}, {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MCD on the constant pixels
        for case in ood_protocols(seeds=(0,)):
            protocol, split, _, X_tr, y_tr, X_eval, is_in = case
            det = GaussianMixtureOODDetector(contamination=0.05).fit(X_tr, y_tr)
            scores = {"skrep": det.score_samples(X_eval)}
            for name, make in peers.items():
                scores[name] = make().fit(X_tr).score_samples(X_eval)
            for name, score in scores.items():
                auroc.setdefault((protocol, name), []).append(
                    roc_auc_score(is_in, score)
                )
            flags = {0.05: det.predict(X_eval[is_in]) == -1}
            if protocol == "breast cancer reversed":
                marginals = QuantileTransformer(
                    output_distribution="normal", n_quantiles=len(X_tr)
                )
                remedy = make_pipeline(marginals, GaussianMixtureOODDetector())
                auroc[protocol, "normal quantiles"] = [
                    roc_auc_score(is_in, remedy.fit(X_tr).score_samples(X_eval))
                ]
            if protocol == "digits":
                chosen = (det.covariance_type_, det.shrinkage_target_)
                assert chosen == ("full", "identity"), split
                old = GaussianMixtureOODDetector(
                    covariance_type="tied", shrinkage_target="identity"
                ).fit(X_tr, y_tr)
                old_auroc = roc_auc_score(is_in, old.score_samples(X_eval))
                assert auroc[protocol, "skrep"][-1] >= old_auroc, split
                assert det.class_score_ == "log_density", split
                distance = GaussianMixtureOODDetector(class_score="mahalanobis")
                distance.fit(X_tr, y_tr)
                auroc.setdefault((protocol, "mahalanobis"), []).append(
                    roc_auc_score(is_in, distance.score_samples(X_eval))
                )
                flags[0.0027] = det.score_to_pvalue(X_eval[is_in]) <= 0.0027
            if protocol == "wine standardised":
                continue  # the same rows and model as 'wine raw'
            for q, flagged in flags.items():
                n_cal, n_test, hits = pooled.get((protocol, q), (0, 0, 0))
                pooled[protocol, q] = (
                    n_cal + len(X_tr),
                    n_test + flagged.size,
                    hits + flagged.sum(),
                )
    mean = {key: np.mean(value) for key, value in auroc.items()}
    for protocol in ("digits", "wine raw", "wine standardised"):
        best = max(mean[protocol, name] for name in peers)
        assert mean[protocol, "skrep"] >= best, (protocol, mean)
    assert mean["digits", "skrep"] > mean["digits", "mahalanobis"], mean
    for name in ("EllipticEnvelope", "OneClassSVM"):
        assert mean["breast cancer", "skrep"] >= mean["breast cancer", name], mean
    reverse = {name: mean["breast cancer reversed", name] for name in peers}
    assert mean["breast cancer reversed", "skrep"] > reverse["EllipticEnvelope"]
    assert mean["breast cancer reversed", "normal quantiles"] > max(reverse.values())
    for (protocol, q), (n_cal, n_test, hits) in pooled.items():
        rate = hits / n_test
        assert abs(rate - q) < _rate_tolerance(q, n_cal, n_test), (protocol, q, rate)


def test_breast_cancer_defaults_choose_a_factor_model_and_match_lof():
    # Breast cancer, benign tumours in-distribution (no labels), malignant
    # held out; ten seeds of the split. Held-out log-likelihood prefers a
    # factor model (8 factors of the 30 features) to the Ledoit-Wolf
    # covariances in most splits, and that choice is what the defaults
    # deliver: a mean AUROC above the shrunk covariances alone
    # (n_factors=None; +0.0125 +- 0.0011 over these seeds, positive in each)
    # and above IsolationForest's. Against LOF it is a tie, not a win: the
    # paired difference of AUROCs (same split) is +0.0029 +- 0.0027 (s.e.)
    # over these ten seeds, LOF ahead in 4; +0.0017 +- 0.0020 over 30, LOF
    # ahead in 12. What the test proves: LOF is not ahead by more than two
    # standard errors of the paired difference (no fixed tolerance).
    peers = {
        "LOF": lambda: LocalOutlierFactor(novelty=True),
        "IsolationForest": lambda: IsolationForest(random_state=0),
    }
    auroc, factors = {}, []
    for case in ood_protocols(seeds=range(10)):
        protocol, _, _, X_tr, y_tr, X_eval, is_in = case
        if protocol != "breast cancer":
            continue
        det = GaussianMixtureOODDetector().fit(X_tr, y_tr)
        factors.append(det.n_factors_)
        shrunk = GaussianMixtureOODDetector(n_factors=None).fit(X_tr, y_tr)
        scores = {
            "skrep": det.score_samples(X_eval),
            "n_factors=None": shrunk.score_samples(X_eval),
        }
        for name, make in peers.items():
            scores[name] = make().fit(X_tr).score_samples(X_eval)
        for name, score in scores.items():
            auroc.setdefault(name, []).append(roc_auc_score(is_in, score))
    assert sum(k is not None for k in factors) >= 8, factors
    mean = {name: np.mean(value) for name, value in auroc.items()}
    assert mean["skrep"] - mean["n_factors=None"] > 0.008, mean
    assert mean["skrep"] > mean["IsolationForest"], mean
    paired = np.subtract(auroc["skrep"], auroc["LOF"])
    error = np.std(paired, ddof=1) / np.sqrt(paired.size)
    assert paired.size == 10 and paired.mean() > -2 * error, (paired.mean(), error)


def test_relative_mahalanobis_is_class_minus_background_distance():
    # Ren et al.: RMD_c(x) = D_c(x) - D_0(x), D_0 the distance to one
    # Gaussian of all in-distribution rows; score = -min_c RMD_c.
    X, y = _data()
    kw = {"covariance_type": "tied", "shrinkage_target": "identity", "reg_covar": 0.0}
    det = GaussianMixtureOODDetector(relative=True, **kw).fit(X, y)
    background = GaussianMixtureOODDetector(**kw).fit(X)
    d_c = det.mahalanobis(X)[:, :, 0]
    d_0 = background.mahalanobis(X)[:, 0, 0]
    assert_allclose(det.score_samples(X), -(d_c - d_0[:, None]).min(axis=1), rtol=1e-9)
    with pytest.raises(ValueError, match="relative=True needs at least 2 classes"):
        GaussianMixtureOODDetector(relative=True).fit(X)


# ------------------------------------------------------- extreme magnitudes
@pytest.mark.parametrize("scale", [1e150, 1e-200, 1e-300, 1e300])
@pytest.mark.parametrize(
    "params, labels",
    [
        ({"covariance_type": "full"}, True),
        ({"covariance_type": "full", "class_score": "log_density"}, True),
        ({}, False),  # one class: factor models compete
    ],
    ids=["full", "log-density", "factors"],
)
def test_extreme_magnitudes_give_the_same_finite_scores(scale, params, labels):
    X, y = _data(n=300)
    # An all-zero feature (digits has three) must not set the unit of the
    # others: at 1e-200 their squares would underflow.
    X = np.c_[X[:, :3], np.zeros(len(X)), X[:, 3:]]
    y = y if labels else None
    ref = GaussianMixtureOODDetector(**params).fit(X, y)
    det = GaussianMixtureOODDetector(**params).fit(X * scale, y)

    # The same choice: held-out log-likelihoods (of X / a power of two)
    # shift by one constant, leave-one-class-out AUROCs are equal.
    def relative(scores):
        return {key: value - max(scores.values()) for key, value in scores.items()}

    assert relative(det.selection_scores_) == pytest.approx(
        relative(ref.selection_scores_), abs=1e-9
    )
    scores = det.score_samples(X * scale)
    assert np.all(np.isfinite(scores))
    assert_allclose(scores, ref.score_samples(X), rtol=1e-9)
    assert det.offset_ == pytest.approx(ref.offset_, rel=1e-9)
    if "class_score" in params:
        # The relative log-determinants are taken in the scaled coordinates,
        # before the log Jacobian of X's units (about -9e3 at 1e300) enters.
        assert_allclose(det._model["log_det"], ref._model["log_det"], atol=1e-13)
    stream = GaussianMixtureOODDetector(**params)
    first, rest = slice(0, 150), slice(150, None)
    stream.partial_fit(X[first] * scale, None if y is None else y[first])
    stream.partial_fit(X[rest] * scale, None if y is None else y[rest])
    assert_allclose(stream.score_samples(X * scale), scores, rtol=1e-9)


@pytest.mark.parametrize("scale", [1e-300, 2.0**-990, 1e-200, 1e300])
def test_digits_at_extreme_magnitudes_give_the_scores_of_digits(digits_split, scale):
    # Digits has all-zero pixels and pixels of very different spreads; the
    # scores (squared distances in the model's scaled coordinates) and the
    # threshold do not depend on X's magnitude.
    X, y, X_test = digits_split[:3]
    ref = GaussianMixtureOODDetector().fit(X, y)
    det = GaussianMixtureOODDetector().fit(X * scale, y)
    assert det.covariance_type_ == ref.covariance_type_
    assert det.shrinkage_target_ == ref.shrinkage_target_
    scores = det.score_samples(X_test * scale)
    assert np.all(np.isfinite(scores))
    assert_allclose(scores, ref.score_samples(X_test), rtol=1e-9)
    assert det.offset_ == pytest.approx(ref.offset_, rel=1e-9)
    # A constant feature of 1e5 takes no part in the unit of the others
    # (their squares would underflow at 1e-200), with either target.
    for target in ("identity", "diagonal"):
        ref = GaussianMixtureOODDetector(shrinkage_target=target)
        ref.fit(np.c_[X, np.full(len(X), 1e5)], y)
        det = GaussianMixtureOODDetector(shrinkage_target=target)
        det.fit(np.c_[X * scale, np.full(len(X), 1e5)], y)
        scores = det.score_samples(np.c_[X_test * scale, np.full(len(X_test), 1e5)])
        expected = ref.score_samples(np.c_[X_test, np.full(len(X_test), 1e5)])
        assert_allclose(scores, expected, rtol=1e-9)


@pytest.mark.parametrize("constant", [1e22, 1e100])
def test_a_large_constant_feature_does_not_swamp_the_scores(constant):
    # Diabetes standardised, with a constant feature far larger than the
    # others' spread: the rounding of its mean (an ulp of it) must not be
    # scaled up into a departure that swamps every score (it made all the
    # scores equal, about -2e15 at 1e22 and -8.5e170 at 1e100); the scores
    # are those of the fit with a constant of 1e5, and shifted rows are
    # flagged.
    X = StandardScaler().fit_transform(load_diabetes(return_X_y=True)[0])
    shifted = X.copy()
    shifted[:, :5] += 6.0
    for target in ("identity", "diagonal"):
        ref = GaussianMixtureOODDetector(shrinkage_target=target, contamination=0.05)
        ref.fit(np.c_[X, np.full(len(X), 1e5)])
        det = GaussianMixtureOODDetector(shrinkage_target=target, contamination=0.05)
        det.fit(np.c_[X, np.full(len(X), constant)])
        scores = det.score_samples(np.c_[X, np.full(len(X), constant)])
        assert_allclose(
            scores, ref.score_samples(np.c_[X, np.full(len(X), 1e5)]), rtol=1e-9
        )
        assert len(np.unique(scores)) == len(X)
        assert det.offset_ == pytest.approx(ref.offset_, rel=1e-9)
        flagged = det.predict(np.c_[shifted, np.full(len(X), constant)]) == -1
        assert flagged.mean() > 0.9


def test_rows_that_do_not_vary_within_classes_raise_naming_the_cause():
    # Two rows of one class (the first digits, sorted by label): each
    # cross-fitted model has one row, whatever the shrinkage.
    X, y = load_digits(return_X_y=True)
    order = np.argsort(y, kind="stable")
    for shrinkage in ("ledoit_wolf", "oas", 0.5):
        det = GaussianMixtureOODDetector(shrinkage=shrinkage)
        with pytest.raises(ValueError, match="do not vary within their classes"):
            det.partial_fit(X[order[:2]], y[order[:2]])
        assert not hasattr(det, "offset_")
        # A block of constant features, however many rows.
        X_const = np.c_[X[:, :4], np.ones((len(X), 2))]
        det = GaussianMixtureOODDetector(shrinkage=shrinkage, feature_blocks=[4, 2])
        with pytest.raises(ValueError, match=r"block 1 \(features 4 to 5\)"):
            det.fit(X_const, y)


def test_overflowing_covariances_raise_when_read_and_far_rows_score_lowest():
    # At 1e300 the covariances do not fit in float64 in X's units: the
    # model lives in scaled coordinates, so fit, the scores and the means
    # are those of X; reading covariances_ raises a ValueError that says so.
    X, y = _data(n=300)
    det = GaussianMixtureOODDetector().fit(X * 1e300, y)
    ref = GaussianMixtureOODDetector().fit(X, y)
    assert_allclose(det.means_, ref.means_ * 1e300, rtol=1e-9)
    with pytest.raises(ValueError, match="overflows float64.*scores are unaffected"):
        _ = det.covariances_
    assert all(np.all(np.isfinite(c)) for c in ref.covariances_)
    det = ref
    far = np.full((2, X.shape[1]), 1e300)
    # The squared distance overflows: the score is the most negative finite
    # float, below every finite score.
    assert_array_equal(det.score_samples(far), np.finfo(np.float64).min)
    assert np.all(np.isfinite(det.decision_function(far)))
    assert_array_equal(det.predict(far), -1)
    assert not np.any(np.isnan(det.score_to_pvalue(far)))


@pytest.mark.parametrize(
    "params",
    [
        {"covariance_type": "diag", "n_components": 2, "random_state": 0},
        {"covariance_type": "full", "subspace": "low_variance"},
        {},
    ],
)
def test_float32_training_rows_score_finite(params):
    # Squared in X's units, these rows overflow float32 (1e46 > 3.4e38):
    # scoring rescales each chunk first, and the statistics are float64.
    rng = np.random.RandomState(0)
    X = (rng.standard_normal((40, 2)) * [1e23, 3e22]).astype(np.float32)
    X_before = X.copy()
    det = GaussianMixtureOODDetector(**params).fit(X)
    scores = det.score_samples(X)
    assert scores.dtype == np.float32
    assert np.all(np.isfinite(scores)) and np.all(scores > -1e3)
    assert np.all(np.isfinite(det.decision_function(X)))
    assert_array_equal(X, X_before)
    far = np.full((1, X.shape[1]), 3e38, dtype=np.float32)
    assert np.all(np.isfinite(det.score_samples(far)))
    assert det.score_samples(far)[0] < scores.min()
    # Rows at 1e-7: the far row's squared distance overflows, and it
    # scores the most negative finite float32.
    small = GaussianMixtureOODDetector(**params).fit(X * np.float32(1e-30))
    assert_array_equal(small.score_samples(far), np.finfo(np.float32).min)
    assert np.all(np.isfinite(small.decision_function(far)))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_per_feature_magnitudes_do_not_change_diagonal_target_scores(dtype):
    # The diagonal target standardises the features: scores do not depend
    # on each feature's unit, even across 300 orders of magnitude (float64;
    # 60 for float32), where one global rescaling underflows the fourth
    # powers of the small features.
    X, y = _data(n=300)
    bound = 150 if dtype == np.float64 else 30
    units = 10.0 ** np.linspace(-bound, bound, X.shape[1])
    params = {"shrinkage_target": "diagonal", "covariance_type": "full"}
    ref = GaussianMixtureOODDetector(**params).fit(X, y)
    det = GaussianMixtureOODDetector(**params).fit((X * units).astype(dtype), y)
    scores = det.score_samples((X * units).astype(dtype))
    assert np.all(np.isfinite(scores))
    rtol = 1e-9 if dtype == np.float64 else 1e-3
    assert_allclose(scores, ref.score_samples(X), rtol=rtol, atol=rtol)
    assert_allclose(det.offset_, ref.offset_, rtol=rtol)


def test_overflowing_projected_covariance_scores_and_raises_when_read():
    # The kept principal coordinates' covariance in X's units overflows
    # float64 (entries near 1e200): the scores are those of X, and reading
    # covariances_ raises a ValueError, never an OverflowError.
    X, y = _data(n=300)
    params = {
        "covariance_type": "full",
        "subspace": "low_variance",
        "shrinkage_target": "identity",
    }
    det = GaussianMixtureOODDetector(**params).fit(X * 1e200, y)
    ref = GaussianMixtureOODDetector(**params).fit(X, y)
    assert_allclose(det.score_samples(X * 1e200), ref.score_samples(X), rtol=1e-9)
    with pytest.raises(ValueError, match="overflows float64.*Divide X"):
        _ = det.covariances_


# ------------------------------------------------------------- streaming
@pytest.mark.parametrize(
    "params",
    [
        {},
        {"covariance_type": "full", "feature_blocks": [2, 4]},
        {"covariance_type": "diag", "subspace": "top", "variance_threshold": 0.9},
        {"shrinkage": "oas", "subspace": "low_variance", "variance_threshold": 0.8},
    ],
)
def test_partial_fit_over_chunks_equals_fit(params):
    X, y = _data(n=500)
    stream = GaussianMixtureOODDetector(**params)
    order = np.argsort(y, kind="stable")  # classes appear one after the other
    for chunk in np.array_split(order, 9):
        stream.partial_fit(X[chunk], y[chunk])
    # partial_fit keeps its model choice until a class's rows have doubled;
    # given that choice, the model and the out-of-fold calibration (the
    # same folds) are those of fit on all rows.
    chosen = {
        "covariance_type": stream.covariance_type_,
        "shrinkage_target": stream.shrinkage_target_,
        "n_factors": stream.n_factors_,
        "class_score": stream.class_score_,
    }
    full = GaussianMixtureOODDetector(**(params | chosen)).fit(X, y)
    assert_array_equal(stream.classes_, full.classes_)
    assert_array_equal(stream.class_count_, full.class_count_)
    assert_allclose(stream.shrinkage_, full.shrinkage_, rtol=1e-10, atol=1e-12)
    assert_allclose(stream.means_, full.means_, rtol=1e-10)
    assert_allclose(
        stream.score_samples(X), full.score_samples(X), rtol=1e-10, atol=1e-10
    )
    assert_allclose(stream.calibration_scores_, full.calibration_scores_, rtol=1e-9)
    assert_allclose(stream.offset_, full.offset_, rtol=1e-9)


def test_a_refused_partial_fit_chunk_leaves_the_model_as_it_was():
    # relative=True refuses a model of one class: that chunk's rows must not
    # stay in the statistics (they did: class_count_ [50 50 50] after it).
    X, y = _data(n=300)
    detector = GaussianMixtureOODDetector(relative=True)
    with pytest.raises(ValueError, match="at least 2 classes"):
        detector.partial_fit(X[y == 0], y[y == 0])
    assert not hasattr(detector, "classes_")
    rest = y > 0
    detector.partial_fit(X[rest], y[rest])
    full = GaussianMixtureOODDetector(
        relative=True,
        covariance_type=detector.covariance_type_,
        shrinkage_target=detector.shrinkage_target_,
        n_factors=detector.n_factors_,
        class_score=detector.class_score_,
    ).fit(X[rest], y[rest])
    assert_array_equal(detector.class_count_, full.class_count_)
    assert_allclose(detector.score_samples(X), full.score_samples(X), rtol=1e-10)


def test_a_chunk_refused_after_a_good_one_leaves_the_fitted_state_unchanged():
    # Refused at validation (NaN, feature count, y given then not) and
    # late, after the chunk's statistics were merged: a new class of 3
    # rows whose unshrunk covariance is singular.
    X, y = _data(n=150, n_classes=3)
    params = {
        "covariance_type": "full",
        "shrinkage_target": "diagonal",
        "class_score": "mahalanobis",
        "shrinkage": None,
        "reg_covar": 0.0,
    }
    detector = GaussianMixtureOODDetector(**params)
    seen = y < 2
    detector.partial_fit(X[seen], y[seen])
    before = pickle.dumps(detector)
    scores = detector.score_samples(X)
    new = np.flatnonzero(y == 2)
    X_nan = X[new[:10]].copy()
    X_nan[0, 0] = np.nan
    refused = [
        ((X_nan, y[new[:10]]), "NaN"),
        ((X[new[:10], :3], y[new[:10]]), "features"),
        ((X[new[:10]],), "y in some calls"),
        ((X[new[:3]], y[new[:3]]), "singular"),
    ]
    for args, message in refused:
        with pytest.raises(ValueError, match=message):
            detector.partial_fit(*args)
        assert pickle.dumps(detector) == before
        assert_array_equal(detector.score_samples(X), scores)
    # The next good chunk gives what it gives without the refused ones.
    detector.partial_fit(X[new], y[new])
    clean = GaussianMixtureOODDetector(**params).partial_fit(X[seen], y[seen])
    clean.partial_fit(X[new], y[new])
    assert_array_equal(detector.class_count_, clean.class_count_)
    assert_array_equal(detector.score_samples(X), clean.score_samples(X))
    assert detector.offset_ == clean.offset_


def test_a_chunk_whose_cross_fitted_rows_do_not_vary_is_refused():
    # 20 identical rows but rows 0 and 10, both in fold 0: every fold's
    # complement has rows, but the model without fold 0 has no spread. The
    # chunk is refused (state rolled back), not accepted with the error
    # deferred to the first read of offset_.
    X = np.ones((20, 3))
    X[0], X[10] = [2.0, 3.0, 4.0], [0.0, 5.0, 1.0]
    det = GaussianMixtureOODDetector(shrinkage=0.5)
    with pytest.raises(ValueError, match=r"cross-fitted model \(all but fold 0\)"):
        det.partial_fit(X)
    assert not hasattr(det, "classes_") and not hasattr(det, "offset_")
    # The next chunk starts the stream as on a new detector.
    good = np.random.RandomState(0).standard_normal((40, 3))
    det.partial_fit(good)
    fresh = GaussianMixtureOODDetector(shrinkage=0.5).partial_fit(good)
    assert_array_equal(det.score_samples(good), fresh.score_samples(good))
    assert det.offset_ == fresh.offset_


def test_the_fitted_detector_does_not_hold_a_view_of_the_callers_rows():
    # fit and partial_fit keep rows (the calibration buffer, and fit's rows
    # rebuild the statistics when partial_fit continues it): changing the
    # caller's array afterwards changes nothing.
    X, y = _data(n=200)
    ref = GaussianMixtureOODDetector().fit(X, y)
    ref.partial_fit(X[:30], y[:30])
    buf = X.copy()
    det = GaussianMixtureOODDetector().fit(buf, y)
    buf[:] = 0.0
    det.partial_fit(X[:30], y[:30])
    assert_array_equal(det.score_samples(X), ref.score_samples(X))
    assert det.offset_ == ref.offset_
    # partial_fit calibrates when offset_ is read, on its buffer.
    ref = GaussianMixtureOODDetector().partial_fit(X, y)
    det = GaussianMixtureOODDetector().partial_fit(buf := X.copy(), y)
    buf[:] = 0.0
    assert det.offset_ == ref.offset_
    assert_array_equal(det.calibration_scores_, ref.calibration_scores_)


def test_a_failed_fit_keeps_no_scaled_copy_of_the_rows(monkeypatch):
    # fit computing the fold matrices from its rows (RowFolds) and then
    # refused (relative=True with one class): neither its scaled rows nor
    # the folds that read them stay on the detector.
    monkeypatch.setattr(_gaussian_ood, "_ROW_FOLDS_BYTES", 0)
    X, _ = _data(n=100)
    det = GaussianMixtureOODDetector(relative=True)
    with pytest.raises(ValueError, match="at least 2 classes"):
        det.fit(X * 3.0)
    assert det._rows is None and "_fold_sums" not in vars(det)


def test_partial_fit_calibrates_once_when_the_threshold_is_read(monkeypatch):
    # Single rows: partial_fit keeps the statistics and the model up to date
    # and calibrates the threshold (2 cv models scoring the buffer) only when
    # offset_, contamination_ or calibration_scores_ is read, with the
    # contamination of the last call; the result is that of calibrating at
    # every call.
    X, y = _data(n=300)
    eager = GaussianMixtureOODDetector(contamination=0.1).partial_fit(X[:200], y[:200])
    lazy = clone(eager).partial_fit(X[:200], y[:200])
    calls = []
    original = GaussianMixtureOODDetector._out_of_fold

    def counted(self, *args):
        calls.append(1)
        return original(self, *args)

    monkeypatch.setattr(GaussianMixtureOODDetector, "_out_of_fold", counted)
    for i in range(200, 220):
        eager.partial_fit(X[i : i + 1], y[i : i + 1])
        _ = eager.offset_
        lazy.partial_fit(X[i : i + 1], y[i : i + 1])
    assert len(calls) == 20
    lazy.set_params(contamination=0.2)  # after the last call: not used
    assert lazy.contamination_ == eager.contamination_ == 0.1
    assert len(calls) == 21  # the rate alone calibrates too
    assert lazy.offset_ == eager.offset_
    assert_array_equal(lazy.calibration_scores_, eager.calibration_scores_)
    assert len(calls) == 21
    assert_array_equal(lazy.decision_function(X), eager.decision_function(X))
    assert_array_equal(lazy.predict(X), eager.predict(X))
    assert len(calls) == 21
    restored = pickle.loads(pickle.dumps(lazy.partial_fit(X[220:230], y[220:230])))
    assert_array_equal(restored.score_to_pvalue(X), lazy.score_to_pvalue(X))
    # Threads reading at once (ParallelPostFit): one calibration.
    lazy.partial_fit(X[230:231], y[230:231])
    before = len(calls)
    with ThreadPoolExecutor(4) as pool:
        found = list(pool.map(lambda _: lazy.decision_function(X[:50]), range(8)))
    assert len(calls) == before + 1
    for values in found:
        assert_array_equal(values, found[0])
    assert not hasattr(GaussianMixtureOODDetector(), "offset_")


def test_detectors_calibrate_without_waiting_on_each_other(monkeypatch):
    # Each detector has its own lock: while one calibrates (held here until
    # released), another's threshold is read, and the first's copies too.
    X, y = _data(n=200)
    a = GaussianMixtureOODDetector().partial_fit(X, y)
    b = clone(a).partial_fit(X, y)
    entered, release = threading.Event(), threading.Event()
    original = GaussianMixtureOODDetector._calibrate_stream

    def held(self):
        if self is a:
            entered.set()
            release.wait(20)
        return original(self)

    monkeypatch.setattr(GaussianMixtureOODDetector, "_calibrate_stream", held)
    with ThreadPoolExecutor(2) as pool:
        try:
            first = pool.submit(lambda: a.offset_)
            assert entered.wait(20)
            offset = pool.submit(lambda: b.offset_).result(timeout=10)
            copy = pickle.loads(pickle.dumps(b.partial_fit(X[:5], y[:5])))
            assert copy.offset_ == b.offset_
        finally:
            release.set()
        assert first.result() == offset


def test_partial_fit_chunks_of_growing_magnitude_equal_fit():
    # Later chunks whose features are 2**700 or 2**-700 times larger than
    # the first chunk's (and a feature that is zero until then): the earlier
    # statistics are brought to the new units, so the stream is fit's.
    X, y = _data(n=300)
    X = X.copy()
    X[100:200, 0] *= 2.0**700
    X[200:, 1] *= 2.0**-700
    X[:200, 2] = 0.0
    X[200:, 2] *= 2.0**-700
    stream = GaussianMixtureOODDetector()
    for chunk in np.array_split(np.arange(300), 3):
        stream.partial_fit(X[chunk], y[chunk])
    chosen = {
        "covariance_type": stream.covariance_type_,
        "shrinkage_target": stream.shrinkage_target_,
        "n_factors": stream.n_factors_,
        "class_score": stream.class_score_,
    }
    full = GaussianMixtureOODDetector(**chosen).fit(X, y)
    scores = stream.score_samples(X)
    assert np.all(np.isfinite(scores))
    assert_allclose(scores, full.score_samples(X), rtol=1e-9, atol=1e-9)


def test_partial_fit_chooses_the_model_again_only_when_a_class_doubles(
    monkeypatch,
):
    # Digits 0-4 in 20 shuffled chunks: the model choice (the expensive part
    # of fit) runs at the first call, when a class appears, and when a
    # class's rows have doubled since the last choice -- a handful of times,
    # not 20 -- and ends at fit's choice.
    X, y = load_digits(return_X_y=True)
    order = np.random.RandomState(0).permutation(np.flatnonzero(y < 5))
    X, y = X[order], y[order]
    calls = []
    choose = _gaussian_ood.GaussianMixtureOODDetector._choose

    def counted(self, *args):
        calls.append(args)
        return choose(self, *args)

    monkeypatch.setattr(_gaussian_ood.GaussianMixtureOODDetector, "_choose", counted)
    stream = GaussianMixtureOODDetector()
    chunks = np.array_split(np.arange(len(y)), 20)
    expected, seen, at_choice = [], {}, {}
    for i, chunk in enumerate(chunks):
        stream.partial_fit(X[chunk], y[chunk])
        for c in y[chunk]:
            seen[c] = seen.get(c, 0) + 1
        if any(n >= 2 * at_choice.get(c, 0) for c, n in seen.items()):
            expected.append(i)
            at_choice = dict(seen)
    assert len(calls) == len(expected) <= 6, expected
    full = GaussianMixtureOODDetector().fit(X, y)
    assert len(calls) == len(expected) + 1
    assert (
        stream.covariance_type_,
        stream.shrinkage_target_,
        stream.n_factors_,
        stream.class_score_,
    ) == (
        full.covariance_type_,
        full.shrinkage_target_,
        full.n_factors_,
        full.class_score_,
    )
    assert_allclose(stream.score_samples(X), full.score_samples(X), rtol=1e-9)
    assert_allclose(stream.offset_, full.offset_, rtol=1e-9)


def test_partial_fit_without_labels_and_continuing_fit():
    X, _ = _data(n=300)
    det = GaussianMixtureOODDetector().fit(X[:100])
    det.partial_fit(X[100:200]).partial_fit(X[200:])
    ref = GaussianMixtureOODDetector().fit(X)
    assert_allclose(det.score_samples(X), ref.score_samples(X), rtol=1e-10)
    with pytest.raises(ValueError, match="in some calls and not in others"):
        det.partial_fit(X[:10], np.zeros(10))
    with pytest.raises(ValueError, match="not in `classes`"):
        GaussianMixtureOODDetector().partial_fit(X[:10], np.arange(10), classes=[0, 1])
    assert not hasattr(GaussianMixtureOODDetector(n_components=2), "partial_fit")


def test_continuing_a_fit_of_more_rows_than_the_buffer_rebuilds_its_statistics():
    # 5,200 rows of 20 classes x 20 features: more rows than the
    # calibration buffer, fewer floats than the (class, fold) statistics, so
    # fit keeps all its rows (not the statistics); partial_fit continuing it
    # rebuilds the statistics of all of them, those that a stream beginning
    # with the same rows holds.
    rng = np.random.RandomState(0)
    y = np.arange(5200) % 20
    X = rng.standard_normal((5200, 20)) + 3 * rng.standard_normal((20, 20))[y]
    params = {"covariance_type": "tied", "contamination": 0.1}
    det = GaussianMixtureOODDetector(**params).fit(X[:5100], y[:5100])
    assert set(det._folds) == {"n", "mean"} and len(det._buffer["y"]) == 5100
    det.partial_fit(X[5100:], y[5100:])
    stream = GaussianMixtureOODDetector(**params).partial_fit(X[:5100], y[:5100])
    stream.partial_fit(X[5100:], y[5100:])
    for key in ("n", "mean"):
        assert_array_equal(det._folds[key], stream._folds[key])
    assert_array_equal(det._folds["M2"][0], stream._folds["M2"][0])
    assert_array_equal(det._buffer["X"], X[200:])
    assert_allclose(det.score_samples(X), stream.score_samples(X), rtol=1e-10)
    assert det.offset_ == pytest.approx(stream.offset_, rel=1e-10)


# -------------------------------------------- the papers' claims, digits
def test_digits_class_conditional_beats_single_gaussian_and_baselines(digits_split):
    # Lee et al.: class-conditional Gaussians beat one Gaussian of all the
    # in-distribution data; per-class covariances (HVCM) do better still and
    # beat scikit-learn's EllipticEnvelope, GaussianMixture and LOF.
    X_tr, y_tr, X_eval, is_in, _, _ = digits_split
    single = GaussianMixtureOODDetector().fit(X_tr)
    tied = GaussianMixtureOODDetector(covariance_type="tied").fit(X_tr, y_tr)
    full = GaussianMixtureOODDetector(covariance_type="full").fit(X_tr, y_tr)
    auroc = {
        name: roc_auc_score(is_in, est.score_samples(X_eval))
        for name, est in [("single", single), ("tied", tied), ("full", full)]
    }
    fpr95 = {
        name: _fpr_at_95_tpr(is_in, est.score_samples(X_eval))
        for name, est in [("single", single), ("tied", tied), ("full", full)]
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MCD warns on the constant pixels
        baselines = {
            "EllipticEnvelope": EllipticEnvelope(random_state=0).fit(X_tr),
            "GaussianMixture": GaussianMixture(5, random_state=0).fit(X_tr),
            "LOF": LocalOutlierFactor(novelty=True).fit(X_tr),
        }
    for name, est in baselines.items():
        auroc[name] = roc_auc_score(is_in, est.score_samples(X_eval))
        fpr95[name] = _fpr_at_95_tpr(is_in, est.score_samples(X_eval))
    assert auroc["tied"] > auroc["single"] + 0.01
    assert fpr95["tied"] < fpr95["single"]
    assert auroc["full"] > 0.97
    for name in baselines:
        assert auroc["full"] > auroc[name], (name, auroc)
        assert fpr95["full"] < fpr95[name], (name, fpr95)


def test_digits_hvcm_feature_chunks_and_mixtures(digits_split):
    # HVCM-style chunks and per-class mixtures both separate the unseen digits.
    X_tr, y_tr, X_eval, is_in, _, _ = digits_split
    chunks = GaussianMixtureOODDetector(covariance_type="full", feature_blocks=4)
    mixture = GaussianMixtureOODDetector(
        2, covariance_type="full", reg_covar=1.0, random_state=0
    )
    for est in (chunks, mixture):
        est.fit(X_tr, y_tr)
        assert roc_auc_score(is_in, est.score_samples(X_eval)) > 0.95


def test_digits_feature_ensemble_logistic_regression(digits_split):
    # Lee et al.'s feature ensemble: with a block that carries no information
    # (noise, like an uninformative layer), summing block scores hurts; the
    # logistic regression trained on known outliers (digits 5, 6; rows
    # labelled -1) learns to ignore it, and generalises to digits 7-9.
    X_tr, y_tr, _, _, X, y = digits_split
    rng = np.random.RandomState(0)
    noise = lambda n: rng.standard_cauchy(size=(n, 32))  # noqa: E731
    known = np.isin(y, [5, 6])
    test_out = y >= 7
    _, X_te, _, _ = train_test_split(
        X[y < 5], y[y < 5], test_size=0.5, random_state=0, stratify=y[y < 5]
    )
    X_eval = np.c_[np.r_[X_te, X[test_out]], noise(len(X_te) + test_out.sum())]
    is_in = np.r_[np.ones(len(X_te)), np.zeros(test_out.sum())]
    X_fit = np.c_[np.r_[X_tr, X[known]], noise(len(X_tr) + known.sum())]
    y_fit = np.r_[y_tr, -np.ones(known.sum(), dtype=int)]
    params = {"covariance_type": "tied", "feature_blocks": [64, 32]}
    summed = GaussianMixtureOODDetector(block_aggregation="separate", **params)
    summed.fit(X_fit[: len(X_tr)], y_tr)
    ensemble = GaussianMixtureOODDetector(**params).fit(X_fit, y_fit)
    assert summed.combiner_ is None and ensemble.combiner_ is not None
    auc_sum = roc_auc_score(is_in, summed.score_samples(X_eval))
    auc_ens = roc_auc_score(is_in, ensemble.score_samples(X_eval))
    pixels_only = GaussianMixtureOODDetector(covariance_type="tied").fit(X_tr, y_tr)
    auc_pixels = roc_auc_score(is_in, pixels_only.score_samples(X_eval[:, :64]))
    assert auc_ens > auc_sum + 0.01
    assert auc_ens > auc_pixels - 0.005
    # 'auto' with a logistic regression: the 0.27% quantile of training scores.
    assert np.mean(ensemble.predict(X_fit[: len(X_tr)]) == -1) < 0.01


def test_low_variance_subspace_detects_shifts_along_small_directions():
    # Rippel et al.'s NPCA: anomalies that move along directions in which
    # normal data hardly vary are caught by the low-variance components and
    # missed by the leading ones.
    rng = np.random.RandomState(0)
    scales = np.r_[np.full(4, 10.0), np.full(4, 0.3)]
    X = rng.randn(2000, 8) * scales
    X_out = rng.randn(500, 8) * scales
    X_out[:, 4:] += 1.0
    X_eval = np.r_[rng.randn(500, 8) * scales, X_out]
    is_in = np.r_[np.ones(500), np.zeros(500)]
    # The spectrum of the raw features (the diagonal target would standardise
    # them, and all directions would then have the same variance).
    kw = {"variance_threshold": 0.99, "shrinkage_target": "identity"}
    low = GaussianMixtureOODDetector(subspace="low_variance", **kw)
    top = GaussianMixtureOODDetector(subspace="top", **kw)
    low.fit(X)
    top.fit(X)
    assert low.df_ == 5 and top.df_ == 4  # the overlap is the crossing one
    assert low.subspace_components_[0].shape == (5, 8)
    assert roc_auc_score(is_in, low.score_samples(X_eval)) > 0.9
    assert roc_auc_score(is_in, top.score_samples(X_eval)) < 0.6


# ------------------------------------------------------------- robustness
def test_more_features_than_samples_and_singular_covariances():
    rng = np.random.RandomState(0)
    X = rng.randn(20, 50)
    y = np.repeat([0, 1], 10)
    # 'full' chooses the shrunk covariance (n_factors_ None) over factor
    # models, which are slow to converge here: given, it is the same model.
    full = {"covariance_type": "full", "n_factors": None}
    for params in ({}, full, {"shrinkage": None}):
        det = GaussianMixtureOODDetector(**params).fit(X, y)
        assert np.all(np.isfinite(det.score_samples(X)))
    with pytest.raises(ValueError, match="singular.*shrinkage.*reg_covar"):
        GaussianMixtureOODDetector(shrinkage=None, reg_covar=0.0, n_factors=None).fit(
            X, y
        )
    # With n_factors='auto' the singular candidate loses to a factor model.
    det = GaussianMixtureOODDetector(shrinkage=None, reg_covar=0.0).fit(X, y)
    assert det.n_factors_ is not None
    assert np.all(np.isfinite(det.score_samples(X)))
    X_const = np.c_[X, np.zeros(20)]  # a constant feature: singular for n > d too
    det = GaussianMixtureOODDetector(covariance_type="diag").fit(X_const)
    assert np.all(np.isfinite(det.score_samples(X_const)))
    with pytest.raises(ValueError, match="variance .* is zero"):
        GaussianMixtureOODDetector(
            covariance_type="diag", shrinkage=None, reg_covar=0.0
        ).fit(X_const)


def test_bad_input_errors():
    X, y = _data(n=60)
    D = GaussianMixtureOODDetector
    X_nan = X.copy()
    X_nan[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        D().fit(X_nan)
    with pytest.raises(ValueError, match="NaN"):
        D().fit(X).score_samples(X_nan)
    with pytest.raises(ValueError, match="add up to n_features=6"):
        D(feature_blocks=[2, 2]).fit(X)
    with pytest.raises(ValueError, match="feature_blocks=7 must be at most"):
        D(feature_blocks=7).fit(X)
    with pytest.raises(ValueError, match="feature_blocks must be an int or"):
        D(feature_blocks=[[1, 2]]).fit(X)
    with pytest.raises(ValueError, match="features"):
        D().fit(X).score_samples(X[:, :3])
    y_out = y.copy()
    y_out[:5] = -1
    with pytest.raises(ValueError, match="block_aggregation='joint'"):
        D(block_aggregation="joint").fit(X, y_out)
    with pytest.raises(ValueError, match="in-distribution"):
        D().fit(X[:5], -np.ones(5))
    with pytest.raises(ValueError, match="known outliers"):
        D().partial_fit(X, y_out)
    with pytest.raises(ValueError, match="at least 5 samples per class"):
        D(5, random_state=0).fit(X[:12], np.arange(12) % 3)
    with pytest.raises(ValueError, match="vary"):
        D(subspace="top").fit(np.ones((10, 3)))
    with pytest.raises(ValueError, match="contamination"):
        D(contamination=0.7).fit(X)
    with pytest.raises(ValueError, match="covariance_type"):
        D(covariance_type="banded").fit(X)
    with pytest.raises(ValueError, match="1 sample"):
        D().fit(X[:1])
    # partial_fit's first call refuses what fit refuses.
    for bad in (X[:1], X_nan):
        with pytest.raises(ValueError) as fit_error:
            D().fit(bad)
        with pytest.raises(ValueError) as stream_error:
            D().partial_fit(bad)
        assert str(stream_error.value) == str(fit_error.value)
    with pytest.raises(ValueError, match="cv"):
        D(cv=1).fit(X)
    with pytest.raises(ValueError, match="n_factors applies to 'tied' and 'full'"):
        D(n_factors=2, covariance_type="diag").fit(X)
    with pytest.raises(ValueError, match="n_factors applies.*n_components=2"):
        D(2, n_factors=2).fit(X)
    with pytest.raises(ValueError, match="smaller than the features.*block \\(3\\)"):
        D(n_factors=3, feature_blocks=[3, 3]).fit(X)
    with pytest.raises(ValueError, match="n_factors"):
        D(n_factors=0).fit(X)
    # A bool passes the constraints as the int 1 (True == 1).
    for name in ("n_factors", "n_components", "max_iter"):
        for method in ("fit", "partial_fit"):
            with pytest.raises(ValueError, match=f"'{name}' parameter .* Got True"):
                getattr(D(**{name: True}), method)(X)
    with pytest.raises(ValueError, match="class_score='mahalanobis' applies to"):
        D(2, class_score="mahalanobis").fit(X)


def test_string_labels_pickle_and_verbose(capsys):
    X, y = _data(n=100)
    labels = np.array(["cat", "dog", "eel", "fox"])[y]
    det = GaussianMixtureOODDetector(verbose=1).fit(X, labels)
    assert_array_equal(det.classes_, ["cat", "dog", "eel", "fox"])
    assert "[GaussianMixtureOODDetector] step 3/3: offset=" in capsys.readouterr().out
    again = pickle.loads(pickle.dumps(det))
    assert_array_equal(again.score_samples(X), det.score_samples(X))


def test_verbose_prints_steps_candidates_folds_and_em_iterations(capsys):
    import re

    X, y = _data(n=120, n_classes=3)
    GaussianMixtureOODDetector().fit(X, y)
    assert capsys.readouterr().out == ""
    GaussianMixtureOODDetector(verbose=1).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    # The shared format: [Name] unit i/total: name=value, ..., elapsed.
    form = re.compile(
        r"^\[GaussianMixtureOODDetector\] (\w+) (\d+)/(\d+): .*, \d+\.\d\ds$"
    )
    units = [form.match(line).group(1) for line in lines]
    # tied/full x identity/diagonal candidates, and full x identity/diagonal
    # scored by the log-density; 10 calibration folds (the 5 folds of the
    # choice, each split in two), 3 steps, nothing else.
    assert units.count("candidate") == 6 and units.count("fold") == 10
    assert set(units) == {"candidate", "fold", "step"}
    assert [line.split(":")[0].split()[-1] for line in lines if "step" in line] == [
        "1/3",
        "2/3",
        "3/3",
    ]
    det = GaussianMixtureOODDetector(
        n_components=2, covariance_type="diag", max_iter=3, tol=0, random_state=0
    )
    det.set_params(verbose=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # EM stopped at max_iter
        det.fit(X, y)
    iters = [line for line in capsys.readouterr().out.splitlines() if " iter " in line]
    # One line per EM iteration, per class, for the final model and the 5
    # out-of-fold ones; never beyond max_iter.
    assert len(iters) == 3 * 3 * 6
    assert all(form.match(line).group(3) == "3" for line in iters)
    assert {form.match(line).group(2) for line in iters} == {"1", "2", "3"}
    assert det.n_iter_ == 3


def test_dataframe_fit_with_float_contamination_does_not_warn():
    # The offset is a quantile of out-of-fold scores: scoring the validated
    # array again must not warn that the DataFrame's names are gone.
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.standard_normal((200, 3)), columns=list("abc"))
    y = np.repeat([0, 1], 100)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        detector = GaussianMixtureOODDetector(contamination=0.1).fit(X, y)
        detector.partial_fit(X, y)
    # The same rows twice: tied calibration scores (the interpolation runs
    # between distinct scores, at their ranks), an offset between the order
    # statistics around 0.1 (n + 1), and p <= 0.1 where predict flags.
    cal = detector.calibration_scores_
    k = int(np.floor(0.1 * (cal.size + 1)))
    assert cal[k - 1] <= detector.offset_ <= cal[k]
    assert_array_equal(detector.score_to_pvalue(X) <= 0.1, detector.predict(X) == -1)
    # Below the smallest score (tied here) the p-value is 1 / (n + 1), so a
    # quantile position below the tie's rank still flags the same rows as
    # p <= contamination (the p-value was the tie's rank, 2 / (n + 1)).
    detector.set_params(contamination=1.5 / (cal.size + 1))
    detector.fit(X, y).partial_fit(X, y)
    new = pd.DataFrame(rng.standard_normal((2_000, 3)) * 1.5, columns=list("abc"))
    flagged = detector.predict(new) == -1
    p = detector.score_to_pvalue(new)
    assert flagged.any()
    assert_array_equal(p <= detector.contamination, flagged)
    assert_allclose(p[flagged], 1 / (cal.size + 1))


def test_partial_fit_declared_class_without_rows_then_its_rows():
    # classes= may name a class whose rows come later: the next call merges
    # them (the statistics kept a row for it; classes_ did not).
    rng = np.random.RandomState(0)
    y = np.repeat([0, 1, 2], 100)
    X = rng.randn(300, 3) + 4.0 * y[:, None]
    det = GaussianMixtureOODDetector()
    det.partial_fit(X[:200], y[:200], classes=[0, 1, 2])
    assert_array_equal(det.classes_, [0, 1])
    det.partial_fit(X[200:], y[200:], classes=[0, 1, 2])
    full = GaussianMixtureOODDetector().fit(X, y)
    assert_array_equal(det.classes_, [0, 1, 2])
    assert_allclose(det.means_, full.means_, rtol=1e-10)
    assert_allclose(det.score_samples(X), full.score_samples(X), rtol=1e-9)
