"""Benchmarks of ``skrep.decomposition`` against its peers.

Estimators (issues 3 and 4): ``RobustPCA`` (principal component pursuit),
``OutlierRobustPCA`` and ``DualKernelPCA``.  Peers timed in the same run:

- scikit-learn ``PCA`` on a 10 %-contaminated spiked Gaussian, 100,000 x 100
  (the non-robust floor of ``OutlierRobustPCA``: its speed, and the subspace
  error that the outliers cause);
- scikit-learn ``MinCovDet`` (FastMCD, the classical robust covariance) on a
  smaller contaminated Gaussian, 5,000 x 20 -- it does not scale to the big one;
- scikit-learn ``TruncatedSVD`` of rank 10 on a 5,000 x 1,000 low-rank +
  sparse matrix (the non-robust floor of ``RobustPCA``);
- pyrpca's ``rpca_pcp_ialm`` (inexact ALM with a full SVD per iteration, the
  same algorithm, defaults and tolerance as ``RobustPCA``) on that matrix:
  the peer that issue 3 asks to beat by 10x (install ``pyrpca``; it belongs
  in the ``bench`` extra);
- scikit-learn ``PCA`` again on the near-flip case of ``OutlierRobustPCA``
  (``OutlierRobustPCANearFlip``: 20 % of outliers just past PCA's flip, the
  adversary of the tests, where its second phase runs), 100,000 x 100;
- ``OutlierRobustPCAScaling``: skrep only, n = 10^4 .. 10^6 at d = 100, to
  show the nearly-linear scaling in n.

The ``"skrep"`` rows are skipped (``n/a``) until the estimators are exported;
their authors fill in ``make_estimator``.  ``track_*`` scores are errors:
lower is better.
"""

import numpy as np

from .common import (
    Data,
    Scored,
    SkipBenchmark,
    Transformer,
    import_or_skip,
    peers,
)


def subspace_error(components, true_components):
    """sin of the largest principal angle between two row spaces (0 = equal)."""
    q1, _ = np.linalg.qr(np.atleast_2d(components).T)
    q2, _ = np.linalg.qr(np.atleast_2d(true_components).T)
    cosines = np.linalg.svd(q1.T @ q2, compute_uv=False)
    return float(np.sqrt(max(0.0, 1.0 - cosines.min() ** 2)))


def top_eigenvector(covariance):
    return np.linalg.eigh(covariance)[1][:, -1]


class ContaminatedGaussian:
    """Data: a spiked Gaussian with an ``eps`` fraction of tilting outliers."""

    eps = 0.1

    def make_data(self, p):
        from skrep.datasets import make_contaminated_gaussian

        X, components, _ = make_contaminated_gaussian(
            p["n_samples"], p["n_features"], self.eps, random_state=0
        )
        self.true_components = components
        return Data(X)


class OutlierRobustPCABench(ContaminatedGaussian, Transformer, Scored):
    """Top principal directions (k = 1, and k = 10: ten deflation stages of
    the power scores; the second phase does not run on this data, whose
    top two variances are far apart); score = sin(angle of the true
    direction to their span; at k = 10 PCA's span holds it too: that case
    is about time)."""

    param_names = ["library", "n_samples", "n_features", "n_components"]
    params = (peers("sklearn"), [100_000], [100], [1, 10])

    def make_estimator(self, p):
        k = p["n_components"]
        if p["library"] == "sklearn":
            from sklearn.decomposition import PCA

            return PCA(n_components=k, svd_solver="covariance_eigh")
        OutlierRobustPCA = import_or_skip("skrep.decomposition", "OutlierRobustPCA")
        return OutlierRobustPCA(n_components=k, eps=self.eps, random_state=0)

    def score(self, estimator, X, y):
        return subspace_error(estimator.components_, self.true_components)


def outlier_adversaries():
    """The adversaries of the tests (``tests/decomposition``), loaded from this
    checkout: the benchmark times the same near-flip data as the tests."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "tests" / "decomposition"
    path = path / "outlier_adversaries.py"
    if not path.is_file():
        raise SkipBenchmark(f"{path} not found")
    spec = importlib.util.spec_from_file_location("outlier_adversaries", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class OutlierRobustPCANearFlip(Scored):
    """The near-flip adversary, where the second phase runs (on the data of
    ``OutlierRobustPCABench`` it does not; nor on ``make_contaminated_gaussian``
    at this ``eps`` and size, whose outliers sit exactly at ``+- a v``: 3
    rounds): inliers ``N(0, I + 4 u u^T)``, ``eps`` = 0.2 of the rows
    ``N(0, I) +- t v`` with ``t`` 1.2 times the size at which PCA flips to
    ``v`` (7 filtering rounds; 26 while the step was scaled by the largest
    excess of the 100,000 rows), 100,000 x 100, k = 1, timed against
    PCA on the same data; score = sin(angle to ``u``) (PCA's is near 1)."""

    eps, magnitude = 0.2, 1.2
    param_names = ["library", "n_samples", "n_features"]
    params = (peers("sklearn"), [100_000], [100])

    def make_data(self, p):
        X, U, _ = outlier_adversaries().near_flip(
            p["n_samples"], p["n_features"], self.eps, self.magnitude, seed=0
        )
        self.true_components = U
        return Data(X)

    def make_estimator(self, p):
        if p["library"] == "sklearn":
            from sklearn.decomposition import PCA

            return PCA(n_components=1, svd_solver="covariance_eigh")
        OutlierRobustPCA = import_or_skip("skrep.decomposition", "OutlierRobustPCA")
        return OutlierRobustPCA(n_components=1, eps=self.eps, random_state=0)

    def score(self, estimator, X, y):
        return subspace_error(estimator.components_, self.true_components)


class OutlierRobustPCAScaling(ContaminatedGaussian, Scored):
    """skrep's OutlierRobustPCA for growing n (nearly-linear time in n d)."""

    param_names = ["n_samples", "n_features"]
    params = ([10_000, 100_000, 1_000_000], [100])
    timeout = 600.0

    def make_estimator(self, p):
        OutlierRobustPCA = import_or_skip("skrep.decomposition", "OutlierRobustPCA")
        return OutlierRobustPCA(n_components=1, eps=self.eps, random_state=0)

    def score(self, estimator, X, y):
        return subspace_error(estimator.components_, self.true_components)


class RobustCovarianceBench(ContaminatedGaussian, Scored):
    """Robust top direction where FastMCD still runs; score as above."""

    param_names = ["library", "n_samples", "n_features"]
    params = (peers("sklearn"), [5_000], [20])

    def make_estimator(self, p):
        if p["library"] == "sklearn":
            from sklearn.covariance import MinCovDet

            return MinCovDet(random_state=0)
        OutlierRobustPCA = import_or_skip("skrep.decomposition", "OutlierRobustPCA")
        return OutlierRobustPCA(n_components=1, eps=self.eps, random_state=0)

    def score(self, estimator, X, y):
        if hasattr(estimator, "covariance_"):
            direction = top_eigenvector(estimator.covariance_)
        else:
            direction = estimator.components_[0]
        return subspace_error(direction, self.true_components)


class LowRankSparseBench(Scored):
    """M = L + S, rank 10, 5 % gross corruptions; score = ||L_hat - L|| / ||L||."""

    param_names = ["library", "n_samples", "n_features"]
    params = (peers("sklearn", "pyrpca"), [5_000], [1_000])
    rank = 10
    timeout = 600.0

    def make_data(self, p):
        from skrep.datasets import make_low_rank_sparse

        M, L, _ = make_low_rank_sparse(
            p["n_samples"], p["n_features"], self.rank, 0.05, random_state=0
        )
        self.low_rank = L
        return Data(M)

    def make_estimator(self, p):
        if p["library"] == "sklearn":
            from sklearn.decomposition import TruncatedSVD

            return TruncatedSVD(n_components=self.rank, random_state=0)
        if p["library"] == "pyrpca":
            import_or_skip("pyrpca")
            return PyRPCA()
        RobustPCA = import_or_skip("skrep.decomposition", "RobustPCA")
        return RobustPCA(random_state=0)

    def score(self, estimator, X, y):
        if hasattr(estimator, "low_rank_"):
            low_rank = estimator.low_rank_
        else:  # TruncatedSVD: project M on the fitted right singular vectors
            low_rank = X @ estimator.components_.T @ estimator.components_
        error = np.linalg.norm(low_rank - self.low_rank)
        return float(error / np.linalg.norm(self.low_rank))


class PyRPCA:
    """pyrpca's ``rpca_pcp_ialm`` as an estimator, same defaults as RobustPCA.

    lambda = 1 / sqrt(max(m, n)), mu_0 = 1.25 / ||M||_2, rho = 1.5,
    tol = 1e-7 on ||M - L - S||_F / ||M||_F: equal tolerance.
    """

    def get_params(self, deep=True):
        return {}

    def set_params(self, **params):
        return self

    def fit(self, X, y=None):
        from pyrpca import rpca_pcp_ialm

        lam = 1.0 / np.sqrt(max(X.shape))
        self.low_rank_, self.sparse_ = rpca_pcp_ialm(X, lam, verbose=False)
        return self


class DualKernelPCABench(Transformer, Scored):
    """rbf kernel PCA, d = 50, 10 components (issue 4).

    Peers: scikit-learn's ``KernelPCA`` with ``eigen_solver="arpack"`` and
    ``"randomized"``. Score = the sum of the 10 eigenvalues of the centred
    Gram matrix found (higher is better; exact solvers agree to 1e-12, the
    randomized one falls short).
    """

    param_names = ["library", "n_samples"]
    params = (peers("sklearn-arpack", "sklearn-randomized"), [2_000, 10_000])
    timeout = 600.0
    gamma = 0.02

    def make_data(self, p):
        from .common import rng

        X = rng(0).standard_normal((p["n_samples"], 50))
        return Data(X, X_test=X[:1_000])

    def make_estimator(self, p):
        params = {"n_components": 10, "kernel": "rbf", "gamma": self.gamma}
        if p["library"].startswith("sklearn"):
            from sklearn.decomposition import KernelPCA

            solver = p["library"].split("-")[1]
            return KernelPCA(eigen_solver=solver, random_state=0, **params)
        DualKernelPCA = import_or_skip("skrep.decomposition", "DualKernelPCA")
        return DualKernelPCA(random_state=0, **params)

    def score(self, estimator, X, y):
        return float(estimator.eigenvalues_.sum())


class DualKernelPCALarge(Scored):
    """Exact kernel PCA beyond the Gram matrix: n = 50,000 (a 20 GB Gram
    matrix; scikit-learn's KernelPCA cannot run). skrep only; ``peakmem_fit``
    shows the O(n (d + s)) memory. Score as in :class:`DualKernelPCABench`."""

    param_names = ["n_samples"]
    params = ([50_000],)
    timeout = 1800.0

    def make_data(self, p):
        from .common import rng

        X = rng(0).standard_normal((p["n_samples"], 50))
        return Data(X, X_test=X[:1_000])

    def make_estimator(self, p):
        DualKernelPCA = import_or_skip("skrep.decomposition", "DualKernelPCA")
        return DualKernelPCA(10, gamma=0.02, random_state=0)

    def score(self, estimator, X, y):
        return float(estimator.eigenvalues_.sum())
