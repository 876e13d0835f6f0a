"""SDPKMeans and the non-negative low-rank SDP solver."""

import math
import re
import warnings

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import adjusted_rand_score
from sklearn.preprocessing import StandardScaler

from skrep.cluster import SDPKMeans
from skrep.cluster._nlr import solve_nlr
from skrep.datasets import make_heterogeneous_mixture


def chen_yang_cutoff(n, p, K, sigma=1.0):
    """Separation above which the K-means SDP recovers the partition exactly."""
    return math.sqrt(
        4 * sigma**2 * (1 + math.sqrt(1 + K * p / (n * math.log(n)))) * math.log(n)
    )


def isotropic(n, p, K, factor, seed):
    sep = factor * chen_yang_cutoff(n, p, K)
    return make_heterogeneous_mixture(
        n, p, K, sep, scales=np.ones(K), random_state=seed
    )


def test_nlr_matches_exact_sdp_solver():
    # Same objective as an interior/conic solver (cvxpy + SCS) and same labels.
    pytest.importorskip("cvxpy")
    X, y = isotropic(60, 5, 3, 1.2, seed=0)
    exact = SDPKMeans(3, solver="exact-if-small", random_state=0).fit(X)
    nlr = SDPKMeans(3, tol=1e-6, random_state=0).fit(X)
    assert nlr.factor_.shape == (60, 6) and exact.factor_ is None
    assert nlr.objective_ == pytest.approx(exact.objective_, rel=1e-4)
    assert adjusted_rand_score(exact.labels_, nlr.labels_) == 1.0
    assert adjusted_rand_score(y, nlr.labels_) == 1.0


def test_exact_recovery_where_lloyd_fails():
    # Above the Chen–Yang cutoff the SDP returns the true partition from any
    # start. Two far-apart pairs of clusters: Lloyd's algorithm started with
    # three centres in one pair and one in the other stays in a local optimum.
    K, n, p = 4, 200, 10
    sep = 1.1 * chen_yang_cutoff(n, p, K)
    means = np.zeros((K, p))
    means[[1, 3], 0] = sep
    means[[2, 3], 1] = 5 * sep
    rng = np.random.default_rng(1)
    y = np.repeat(np.arange(K), n // K)
    X = means[y] + rng.standard_normal((n, p))
    bad_init = np.vstack([X[y == 0][:2], X[y == 1][:1], X[y == 2][:1]])
    lloyd = KMeans(K, init=bad_init, n_init=1).fit(X)
    assert adjusted_rand_score(y, lloyd.labels_) < 0.9
    for seed in range(3):
        sdp = SDPKMeans(K, random_state=seed).fit(X)
        assert adjusted_rand_score(y, sdp.labels_) == 1.0
        # the solution is the membership matrix: B 1 = 1 and rank K
        Z_rowsum = sdp.factor_ @ sdp.factor_.sum(axis=0)
        np.testing.assert_allclose(Z_rowsum, 1.0, atol=1e-2)
        assert sdp.n_iter_ < sdp.max_iter
    np.testing.assert_array_equal(sdp.predict(X), sdp.labels_)
    assert sdp.inertia_ <= lloyd.inertia_


def test_objective_is_scale_and_translation_equivariant():
    X, _ = isotropic(90, 4, 3, 1.2, seed=2)
    a = SDPKMeans(3, random_state=0).fit(X)
    b = SDPKMeans(3, random_state=0).fit(10.0 * X + 3.0)
    assert b.objective_ == pytest.approx(100.0 * a.objective_, rel=1e-6)
    np.testing.assert_array_equal(a.labels_, b.labels_)


def test_sketch_and_lift():
    X, y = isotropic(3000, 5, 3, 1.5, seed=3)
    model = SDPKMeans(3, sketch=0.05, random_state=0).fit(X)
    assert model.factor_.shape == (150, 6)
    assert adjusted_rand_score(y, model.labels_) == 1.0


def test_float32_and_single_cluster():
    X, y = isotropic(60, 3, 2, 1.5, seed=4)
    model = SDPKMeans(2, random_state=0).fit(X.astype(np.float32))
    assert model.cluster_centers_.dtype == np.float32
    assert adjusted_rand_score(y, model.labels_) == 1.0
    one = SDPKMeans(1).fit(X)
    assert np.all(one.labels_ == 0)


@pytest.mark.parametrize(
    "X, params, match",
    [
        (np.random.default_rng(0).normal(size=(5, 2)), {"n_clusters": 6}, "n_samples"),
        (np.ones((10, 3)), {"n_clusters": 2}, "identical"),
        (np.array([[0.0, np.nan], [1.0, 2.0], [3.0, 1.0]]), {"n_clusters": 2}, "NaN"),
        (np.zeros((4, 2)) + np.arange(4)[:, None], {"n_clusters": 0}, "n_clusters"),
        (np.zeros((4, 2)) + np.arange(4)[:, None], {"solver": "cvx"}, "solver"),
    ],
)
def test_bad_input(X, params, match):
    with pytest.raises(ValueError, match=match):
        SDPKMeans(**params).fit(X)


def test_max_iter_warns_and_verbose_prints(capsys):
    X, _ = isotropic(300, 5, 3, 1.0, seed=5)
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        SDPKMeans(3, max_iter=5, random_state=0).fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        SDPKMeans(3, max_iter=200, tol=1e-12, verbose=1, random_state=0).fit(X)
    out = capsys.readouterr().out
    assert re.search(
        r"^\[SDPKMeans\] iter 100/200: objective=\S+, violation=", out, re.M
    )


def test_la_sdp_with_equal_spherical_covariances_is_peng_wei():
    # With Sigma_k = sigma^2 I for every k the LA-SDP objective differs from
    # the Peng–Wei objective of Z = sum_k B_k by a constant: both solvers
    # reach the same <X X^T, Z> and the same partition.
    X, y = isotropic(120, 6, 3, 1.2, seed=6)
    Xc = X - X.mean(axis=0)
    scale2 = np.mean(np.sum(Xc**2, axis=1))
    Xs = Xc / math.sqrt(scale2)
    K, r, sigma2 = 3, 2, 0.7
    omegas = np.stack([np.eye(6) / sigma2] * K)
    c_point = np.sum(Xs**2, axis=1) / sigma2 + 6 * math.log(sigma2)
    c = np.repeat(c_point[:, None], K, axis=1)
    rng = np.random.default_rng(0)
    la = solve_nlr(
        Xs,
        traces=np.ones(K),
        rank=r,
        U0=rng.random((120, K * r)),
        omegas=omegas,
        c=c,
        tol=1e-7,
        max_iter=20000,
    )
    Ublocks = la.U.reshape(120, K, r)
    Z_times_A = [Xs.T @ Ublocks[:, k] for k in range(K)]
    la_objective = sum(np.sum(G**2) for G in Z_times_A) * scale2
    pw = SDPKMeans(K, tol=1e-7, random_state=0).fit(X)
    assert la_objective == pytest.approx(pw.objective_, rel=1e-4)
    rowsums = np.stack([Ublocks[:, k] @ Ublocks[:, k].sum(0) for k in range(K)], 1)
    assert adjusted_rand_score(pw.labels_, rowsums.argmax(1)) == 1.0
    assert adjusted_rand_score(y, pw.labels_) == 1.0


def test_certify_at_the_optimum_and_under_solved():
    # Standardised iris: at the optimum (2e-5 from cvxpy + SCS's objective)
    # the dual certificate closes to within max(tol, 1e-3) and converged_ is
    # true (with the row-sum multiplier fixed it stayed at 1.3e-3); a solve
    # stopped after 5 iterations is reported as not converged, with advice
    # about max_iter (the cause) and no gap (its point is not feasible).
    X = StandardScaler().fit_transform(load_iris(return_X_y=True)[0])
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model = SDPKMeans(3, tol=1e-6, certify=True, random_state=0).fit(X)
    assert model.converged_ and 0.0 <= model.duality_gap_ <= 1e-3
    with pytest.warns(ConvergenceWarning, match="increase max_iter"):
        short = SDPKMeans(3, max_iter=5, certify=True, random_state=0).fit(X)
    assert not short.converged_ and np.isnan(short.duality_gap_)
