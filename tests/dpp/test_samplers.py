import copy

import numpy as np
import pytest
from scipy import stats

from skrep.dpp import (
    ChristoffelSampler,
    PolynomialBasis,
    ProjectionDPPSampler,
    RepeatedDPPSampler,
    VolumeSampler,
)
from skrep.dpp._samplers import _UniformSampler


def _pool(n=8, m=3, seed=0):
    F = np.random.RandomState(seed).normal(size=(n, m))
    Q, _ = np.linalg.qr(F)
    return F, Q @ Q.T


def test_projection_dpp_inclusion_and_pair_probabilities():
    # P(i in S) = K_ii and P(i, j in S) = K_ii K_jj - K_ij^2 for the marginal
    # kernel K = Q Q^T of the (not orthonormal) features' span.
    F, K = _pool()
    sampler = ProjectionDPPSampler(random_state=np.random.RandomState(1))
    n_rep = 3000
    counts = np.zeros(len(F))
    pairs = np.zeros((len(F), len(F)))
    for _ in range(n_rep):
        idx = sampler.sample(F)
        assert len(idx) == 3 and len(set(idx.tolist())) == 3
        counts[idx] += 1
        pairs[np.ix_(idx, idx)] += 1
    p = np.diag(K)
    assert np.isclose(p.sum(), 3)
    freq = counts / n_rep
    assert np.all(np.abs(freq - p) <= 4.5 * np.sqrt(p * (1 - p) / n_rep) + 1e-3)
    p2 = np.outer(p, p) - K**2
    iu = np.triu_indices(len(F), 1)
    freq2 = pairs[iu] / n_rep
    se = np.sqrt(p2[iu] * (1 - p2[iu]) / n_rep) + 1e-3
    assert np.all(np.abs(freq2 - p2[iu]) <= 4.5 * se)
    assert np.all(np.diag(pairs) == counts)


def test_volume_and_christoffel_expected_counts():
    # Volume sampling = m DPP points + (n - m) i.i.d. leverage points:
    # E[#draws of row j] = K_jj (1 + (n - m) / m); Christoffel: n K_jj / m.
    F, K = _pool(n=10, m=3, seed=2)
    p = np.diag(K)
    rng = np.random.RandomState(3)
    n_rep, n = 2000, 7
    for sampler, expected in [
        (VolumeSampler(n_samples=n, random_state=rng), p * (1 + (n - 3) / 3)),
        (ChristoffelSampler(n_samples=n, random_state=rng), n * p / 3),
        (RepeatedDPPSampler(n_repeats=2, random_state=rng), 2 * p),
    ]:
        counts = np.zeros(len(F))
        for _ in range(n_rep):
            idx = sampler.sample(F)
            np.add.at(counts, idx, 1)
        np.testing.assert_allclose(counts / n_rep, expected, atol=0.06)


def _rho_cdf(basis):
    grid = np.linspace(-1, 1, 20001)
    F = basis.transform(grid[:, None])
    dens = np.einsum("ij,ij->i", F, F) / (2 * F.shape[1])
    cdf = np.concatenate(([0.0], np.cumsum((dens[1:] + dens[:-1]) / 2 * np.diff(grid))))
    return lambda x: np.interp(x, grid, cdf / cdf[-1])


def test_continuous_first_point_follows_rho():
    basis = PolynomialBasis(5).fit(np.zeros((1, 1)))
    cdf = _rho_cdf(basis)
    rng = np.random.RandomState(0)
    dpp = ProjectionDPPSampler(random_state=rng)
    first = np.array([dpp.sample_continuous(basis)[0, 0] for _ in range(400)])
    assert stats.kstest(first, cdf).pvalue > 1e-3
    iid = ChristoffelSampler(n_samples=400, random_state=rng)
    assert stats.kstest(iid.sample_continuous(basis)[:, 0], cdf).pvalue > 1e-3
    # rho is not mu: the uniform law is rejected.
    uni = stats.kstest(iid.sample_continuous(basis, 2000)[:, 0], "uniform", (-1, 2))
    assert uni.pvalue < 1e-3


def test_continuous_dpp_is_a_repulsive_unisolvent_set():
    # m DPP points determine the polynomial space: det of the m x m feature
    # matrix is nonzero, and its expected squared value is m! (DPP normaliser
    # for orthonormal features), larger than for i.i.d. rho points.
    basis = PolynomialBasis(2, family="chebyshev").fit(np.zeros((1, 2)))
    m = basis.n_output_features_
    rng = np.random.RandomState(0)
    X = ProjectionDPPSampler(random_state=rng).sample_continuous(basis)
    assert X.shape == (m, 2) and np.all(np.abs(X) <= 1)
    vol_dpp, vol_iid = [], []
    iid = ChristoffelSampler(random_state=rng)
    dpp = ProjectionDPPSampler(random_state=rng)
    for _ in range(300):
        for sampler, out in [(dpp, vol_dpp), (iid, vol_iid)]:
            X, w = sampler.sample_continuous(basis, return_weights=True)
            F = basis.transform(X) * np.sqrt(w / m)[:, None]
            out.append(np.linalg.slogdet(F)[1])
    assert np.median(vol_dpp) > np.median(vol_iid) + 0.5


def test_hermite_continuous_sampling():
    basis = PolynomialBasis(4, family="hermite").fit(np.zeros((1, 1)))
    X, w = VolumeSampler(10, random_state=0).sample_continuous(
        basis, return_weights=True
    )
    assert X.shape == (10, 1) and np.all(np.isfinite(X)) and np.all(w > 0)


def test_random_state_reproducible():
    F = np.random.RandomState(0).normal(size=(50, 4))
    a = VolumeSampler(9, random_state=5).sample(F)
    b = VolumeSampler(9, random_state=5).sample(F)
    np.testing.assert_array_equal(a, b)


def test_orthonormal_features_give_weights():
    Q, _ = np.linalg.qr(np.random.RandomState(0).normal(size=(40, 4)))
    idx, w = ChristoffelSampler(8, random_state=0).sample(Q, return_weights=True)
    np.testing.assert_allclose(w, 4 / (40 * np.sum(Q[idx] ** 2, 1)))


def test_rank_deficient_features_sample_the_rank():
    F = np.random.RandomState(0).normal(size=(30, 3))
    F = np.hstack([F, F[:, :1] + F[:, 1:2]])  # rank 3
    idx = ProjectionDPPSampler(random_state=0).sample(F)
    assert len(set(idx.tolist())) == 3


def test_bad_input():
    F = np.random.RandomState(0).normal(size=(20, 4))
    with pytest.raises(ValueError, match="n_samples=3 is smaller than"):
        VolumeSampler(3).sample(F)
    with pytest.raises(ValueError, match="m=4 functions.*only n_samples=3"):
        ChristoffelSampler().sample(F[:3])
    bad = F.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        ProjectionDPPSampler().sample(bad)
    with pytest.raises(ValueError, match="exactly m=4 points"):
        ProjectionDPPSampler().sample(F, 8)
    with pytest.raises(ValueError, match="n_repeats"):
        RepeatedDPPSampler(0).sample(F)
    with pytest.raises(TypeError, match="PolynomialBasis"):
        VolumeSampler().sample_continuous(object())
    with pytest.raises(ValueError, match="all zero"):
        ProjectionDPPSampler().sample(np.zeros((5, 2)))
    assert "VolumeSampler" in repr(VolumeSampler(5))


def _stability(sampler, basis, n, n_rep):
    m = basis.n_output_features_
    out = []
    for _ in range(n_rep):
        X, w = sampler.sample_continuous(basis, n, return_weights=True)
        F = basis.transform(X)
        gram = (F * w[:, None]).T @ F / n
        out.append(np.abs(np.linalg.eigvalsh(gram - np.eye(m))).max())
    return np.asarray(out)


def test_stability_ordering_of_samplers():
    # The paper's claim: at a given n / m, P(||G - I|| <= 1/2) is higher for
    # volume sampling and repeated DPPs than for i.i.d. Christoffel sampling,
    # which beats uniform sampling (Legendre, m = 5, n = 3 m).
    basis = PolynomialBasis(4).fit(np.zeros((1, 1)))
    n, n_rep = 15, 1000
    rng = np.random.RandomState(0)
    prob = {
        name: np.mean(_stability(cls(random_state=rng), basis, n, n_rep) <= 0.5)
        for name, cls in [
            ("volume", VolumeSampler),
            ("repeated", RepeatedDPPSampler),
            ("christoffel", ChristoffelSampler),
            ("uniform", _UniformSampler),
        ]
    }
    se = np.sqrt(0.25 / n_rep)
    assert prob["repeated"] > prob["christoffel"] + 3 * se, prob
    assert prob["volume"] > prob["christoffel"] + 2 * se, prob
    assert prob["christoffel"] > prob["uniform"] + 2 * se, prob


@pytest.mark.parametrize(
    "family, tridiagonal",
    [("legendre", True), ("legendre", False), ("chebyshev", True)],
)
def test_continuous_linear_statistic_moments(family, tridiagonal):
    # For a projection DPP, E sum f(x_i) = int f K(x, x) dmu and
    # Var sum f(x_i) = int f^2 K(x, x) dmu - int int f(x) f(y) K(x, y)^2:
    # checks the pair correlation of the 1-D tridiagonal model and of the
    # chain rule (i.i.d. points from rho have a variance 5 times larger here).
    from numpy.polynomial.legendre import leggauss

    m = 5
    basis = PolynomialBasis(m - 1, family=family).fit(np.zeros((1, 1)))
    if family == "legendre":
        x, w = leggauss(60)
        w = w / 2
    else:
        x = np.cos((2 * np.arange(1, 61) - 1) * np.pi / 120)
        w = np.full(60, 1 / 60)
    F = basis.transform(x[:, None])
    f = x**2
    mean = np.sum(w * f * np.sum(F**2, 1))
    var = np.sum(w * f**2 * np.sum(F**2, 1)) - (w * f) @ (F @ F.T) ** 2 @ (w * f)
    sampler = ProjectionDPPSampler(random_state=np.random.RandomState(0))
    sampler._tridiagonal = tridiagonal
    values = np.array(
        [np.sum(sampler.sample_continuous(basis)[:, 0] ** 2) for _ in range(1500)]
    )
    assert abs(values.mean() - mean) < 4 * values.std() / np.sqrt(len(values))
    assert abs(values.var() / var - 1) < 0.15


def _mean_gram_z(grams):
    """Largest |mean - I| / standard error over the Gram matrices' entries."""
    m = grams.shape[1]
    mean = grams.mean(axis=0)
    se = grams.std(axis=0, ddof=1) / np.sqrt(len(grams))
    iu = np.triu_indices(m)
    return float(np.max(np.abs(mean - np.eye(m))[iu] / np.maximum(se[iu], 1e-12)))


def test_repeated_dpp_weighted_gram_matrix_is_unbiased():
    # Every point of a repeated DPP (n = s m + r, here s = 2, r = 3) has the
    # marginal density rho = ||phi||^2 / m, so the Christoffel-weighted Gram
    # matrix G = (1/n) sum_i w(x_i) phi(x_i) phi(x_i)^T, w = m / ||phi||^2,
    # has mean E[G] = int phi phi^T dmu = I: the weighted least-squares
    # normal equations are unbiased. Monte Carlo over 600 draws: every entry
    # within 4.5 standard errors of I; the unweighted Gram matrix (plain
    # least squares on the same points) is biased by dozens of them.
    basis = PolynomialBasis(2).fit(np.zeros((1, 2)))  # Legendre, m = 6
    m, n, n_draws = 6, 15, 600
    sampler = RepeatedDPPSampler(random_state=np.random.RandomState(0))
    weighted = np.empty((n_draws, m, m))
    unweighted = np.empty((n_draws, m, m))
    for r in range(n_draws):
        X, w = sampler.sample_continuous(basis, n, return_weights=True)
        phi = basis.transform(X)
        weighted[r] = (phi * w[:, None]).T @ phi / n
        unweighted[r] = phi.T @ phi / n
    assert _mean_gram_z(weighted) < 4.5
    assert _mean_gram_z(unweighted) > 20
    # On a pool: features orthonormal for its empirical measure,
    # phi = sqrt(N) Q, and the weights m / (N ||Q_i||^2) that sample returns.
    F = np.random.RandomState(3).normal(size=(40, 4)) ** 2  # uneven leverage
    Q = np.linalg.qr(F)[0]
    phi = np.sqrt(len(F)) * Q
    m, n = 4, 10
    weighted = np.empty((n_draws, m, m))
    unweighted = np.empty((n_draws, m, m))
    for r in range(n_draws):
        idx, w = sampler.sample(F, n, return_weights=True)
        weighted[r] = (phi[idx] * w[:, None]).T @ phi[idx] / n
        unweighted[r] = phi[idx].T @ phi[idx] / n
    assert _mean_gram_z(weighted) < 4.5
    assert _mean_gram_z(unweighted) > 20


def test_repeated_dpp_honours_n_samples():
    # n = s m + r: s full projection DPPs and r points of one more (a uniform
    # r-subset of it, as the chain rule's draws are exchangeable): each row is
    # drawn K_jj n / m times on average, so the Christoffel-weighted Gram
    # matrix stays unbiased; no row repeats within one DPP.
    F, K = _pool(n=10, m=3, seed=2)
    p = np.diag(K)
    rng = np.random.RandomState(4)
    sampler = RepeatedDPPSampler(random_state=rng)
    n_rep, n = 2000, 5
    counts = np.zeros(len(F))
    for _ in range(n_rep):
        idx = sampler.sample(F, n)
        assert idx.shape == (n,)
        assert len(set(idx[:3].tolist())) == 3 and idx[3] != idx[4]
        np.add.at(counts, idx, 1)
    np.testing.assert_allclose(counts / n_rep, n * p / 3, atol=0.06)
    # The case, continuous and on a pool: 34 asked, 34 drawn (m = 28).
    basis = PolynomialBasis(6).fit(np.zeros((1, 2)))
    X, w = sampler.sample_continuous(basis, 34, return_weights=True)
    assert X.shape == (34, 2) and w.shape == (34,)
    assert sampler.sample(basis.transform(X), 29).shape == (29,)
    # One dimension (tridiagonal model): the remainder is distinct points.
    basis = PolynomialBasis(9).fit(np.zeros((1, 1)))
    X = sampler.sample_continuous(basis, 13)
    assert X.shape == (13, 1) and len(np.unique(X[10:])) == 3


@pytest.mark.parametrize(
    "sampler, n, rounds",
    [
        (ProjectionDPPSampler(random_state=0, verbose=1), None, ["dpp"]),
        (VolumeSampler(15, random_state=0, verbose=1), None, ["dpp", "iid"]),
        (RepeatedDPPSampler(random_state=0, verbose=1), 15, ["dpp"] * 3),
        (ChristoffelSampler(10, random_state=0, verbose=1), None, ["iid"]),
    ],
)
def test_verbose_prints_one_line_per_round(capsys, sampler, n, rounds):
    features = np.random.RandomState(0).normal(size=(300, 6))
    idx = sampler.sample(features, n)
    lines = capsys.readouterr().out.splitlines()
    name = type(sampler).__name__
    assert len(lines) == len(rounds)
    points, used = 0, 0
    for index, (line, kind) in enumerate(zip(lines, rounds, strict=True), 1):
        assert line.startswith(f"[{name}] round {index}/{len(rounds)}: kind={kind}, ")
        values = dict(part.split("=") for part in line.split(": ")[1].split(", ")[:-1])
        points += int(values["points"])
        # Proposals used so far: at least one per point, never fewer than before.
        assert int(values["proposals"]) >= max(points, used)
        used = int(values["proposals"])
    assert points == idx.size
    # Silent by default, and the same draws whatever verbose is.
    quiet = copy.copy(sampler)
    quiet.verbose = 0
    assert np.array_equal(quiet.sample(features, n), idx)
    assert capsys.readouterr().out == ""


def test_chain_rule_stops_on_dependent_features():
    # Features of rank 1 in 2 dimensions: no second point can be accepted;
    # the rejection loop has a bounded count and says why it stopped.
    from skrep.dpp._samplers import _chain_rule, _ProposalStream

    def propose(k):
        return np.ones((k, 2)) / np.sqrt(2.0), np.arange(k)

    stream = _ProposalStream(propose, 2, np.random.RandomState(0))
    with pytest.raises(ValueError, match="linearly dependent"):
        _chain_rule(2, stream)
