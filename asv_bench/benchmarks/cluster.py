"""Benchmarks of ``skrep.cluster`` against its peers.

Estimators (issue 5): ``ILASDPClustering`` (iterated likelihood-adjusted SDP)
and ``SDPKMeans`` (the Peng--Wei SDP relaxation of K-means).  Peers timed in
the same run, on a heterogeneous Gaussian mixture (cluster-specific covariance
shapes), n = 2,000, p = 20, K = 5:

- scikit-learn ``GaussianMixture`` (full covariances, ``n_init=10``), the
  likelihood-based peer of iLA-SDP;
- scikit-learn ``KMeans`` (``n_init=10``), the heuristic that SDP K-means
  relaxes.

``SDPKMeansBench`` times the Peng--Wei SDP itself: skrep's non-negative
low-rank solver against cvxpy + SCS on the same problem (n = 200, an isotropic
mixture above the exact-recovery threshold), with the SDP objective tracked
(``track_objective``: equal objectives mean equal solutions).

``track_score`` is the adjusted Rand index against the true labels: higher is
better.
"""

import math

from .common import Data, Predictor, Scored, import_or_skip, peers


class HeterogeneousMixtureBench(Predictor, Scored):
    """Cluster a 5-component heterogeneous mixture; score = ARI."""

    param_names = ["library", "n_samples"]
    params = (peers("sklearn-gmm", "sklearn-kmeans"), [2_000, 20_000])
    n_features = 20
    n_clusters = 5
    separation = 3.0
    timeout = 1800.0  # setup_cache fits all six combinations, n = 20,000 too

    def make_data(self, p):
        from skrep.datasets import make_heterogeneous_mixture

        X, y = make_heterogeneous_mixture(
            p["n_samples"],
            self.n_features,
            self.n_clusters,
            self.separation,
            random_state=0,
        )
        return Data(X, y)

    def fit(self, estimator, data):
        return estimator.fit(data.X)  # unsupervised: the labels are the truth

    def make_estimator(self, p):
        library = p["library"]
        if library == "sklearn-gmm":
            from sklearn.mixture import GaussianMixture

            return GaussianMixture(
                self.n_clusters, covariance_type="full", n_init=10, random_state=0
            )
        if library == "sklearn-kmeans":
            from sklearn.cluster import KMeans

            return KMeans(self.n_clusters, n_init=10, random_state=0)
        ILASDPClustering = import_or_skip("skrep.cluster", "ILASDPClustering")
        return ILASDPClustering(self.n_clusters, random_state=0)

    def score(self, estimator, X, y):
        from sklearn.metrics import adjusted_rand_score

        return adjusted_rand_score(y, estimator.predict(X))


class SDPKMeansBench(Scored):
    """The Peng--Wei K-means SDP at n = 200: low-rank solver against cvxpy + SCS.

    ``track_score`` is the adjusted Rand index (higher is better);
    ``track_objective`` the SDP objective (higher is better; equal values mean
    both solvers reached the optimum).
    """

    param_names = ["library", "n_samples"]
    params = (peers("cvxpy-scs"), [200])
    n_features = 10
    n_clusters = 4
    timeout = 600.0

    def make_data(self, p):
        from skrep.datasets import make_heterogeneous_mixture

        n, K = p["n_samples"], self.n_clusters
        # 1.2 times the Chen--Yang exact-recovery cutoff (unit variances)
        cutoff = math.sqrt(
            4
            * (1 + math.sqrt(1 + K * self.n_features / (n * math.log(n))))
            * math.log(n)
        )
        X, y = make_heterogeneous_mixture(
            n, self.n_features, K, 1.2 * cutoff, scales=[1.0] * K, random_state=0
        )
        return Data(X, y)

    def fit(self, estimator, data):
        return estimator.fit(data.X)

    def make_estimator(self, p):
        SDPKMeans = import_or_skip("skrep.cluster", "SDPKMeans")
        if p["library"] == "cvxpy-scs":
            import_or_skip("cvxpy")
            # the same SDP and rounding, solved by cvxpy + SCS (eps = 1e-6)
            return SDPKMeans(self.n_clusters, solver="exact-if-small", tol=1e-6)
        return SDPKMeans(self.n_clusters, tol=1e-6, random_state=0)

    def score(self, estimator, X, y):
        from sklearn.metrics import adjusted_rand_score

        return adjusted_rand_score(y, estimator.labels_)

    def track_objective(self, *args):
        return float(self.estimator.objective_)

    track_objective.unit = "objective"
