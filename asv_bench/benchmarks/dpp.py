"""Benchmarks of ``skrep.dpp`` against its peers.

Estimators (issue 7): ``DPPLeastSquares`` and the samplers
``ProjectionDPPSampler``, ``VolumeSampler``, ``RepeatedDPPSampler``,
``ChristoffelSampler`` with ``PolynomialBasis``.  Peer timed in the same run:
ordinary least squares with NumPy -- ``numpy.linalg.lstsq`` on the orthonormal
Legendre Vandermonde matrix of m = 50, 100, 200 basis functions, at
n = 10 m i.i.d. uniform points of [-1, 1] (what DPP sampling improves on: it
needs far fewer points for the same error); skrep's ``DPPLeastSquares``
labels only n = 3 m of those points (volume sampling on the pool).
``track_score`` is the relative L2 error on 10,000 test points: lower is
better.

Samplers (issue 7's speed target): one exact projection-DPP sample on a pool
of N = 50,000 candidates with m = 100 orthonormal features (the kernel's
eigenvectors), skrep's ``ProjectionDPPSampler`` against DPPy's
``FiniteDPP("correlation", projection=True, K_eig_dec=...)`` in ``mode="GS"``;
and continuous projection-DPP sampling for the Legendre (uniform) measure,
m = 50, 100, 200 in d = 1, 2 (d = 2: the total-degree space of nearest
dimension), against DPPy's ``MultivariateJacobiOPE`` (Jacobi parameters 0,
i.e. Legendre; in d = 1 DPPy uses its tridiagonal random-matrix model).
DPPy (``pip install dppy``) is part of the ``bench`` extra; its rows are
skipped when it is not installed.

Warnings of default fits (issue 19): ``DefaultDesignWarningBench`` fits
Runge's function with ``DPPLeastSquares``'s defaults (volume sampling,
n = 2 m) on the Legendre spaces of dimension m = 10 (d = 1), 28 (d = 2) and
35 (d = 4), and tracks how many fits per 1,000 warn of an unstable design
(``error_factor_ > 3``), the median ratio of the L2 error to the best
approximation error, and that median over the warned fits alone.
"""

import warnings

import numpy as np
from numpy.polynomial import legendre
from sklearn.base import BaseEstimator, RegressorMixin

from .common import Data, Predictor, Scored, import_or_skip, peers, rng


def legendre_features(x, n_basis):
    """Legendre polynomials on [-1, 1], orthonormal for the uniform measure."""
    V = legendre.legvander(np.ravel(x), n_basis - 1)
    return V * np.sqrt(2 * np.arange(n_basis) + 1)


class LegendreLstsq(RegressorMixin, BaseEstimator):
    """The peer: least squares on ``n_basis`` Legendre features (d = 1)."""

    def __init__(self, n_basis=50):
        self.n_basis = n_basis

    def fit(self, X, y):
        V = legendre_features(X, self.n_basis)
        self.coef_ = np.linalg.lstsq(V, y, rcond=None)[0]
        return self

    def predict(self, X):
        return legendre_features(X, self.n_basis) @ self.coef_


class LegendreLeastSquaresBench(Predictor, Scored):
    """Approximate Runge's function with m basis functions from 10 m points."""

    param_names = ["library", "n_basis"]
    params = (peers("numpy"), [50, 100, 200])
    oversampling = 10
    n_test = 10_000

    def make_data(self, p):
        from skrep.datasets import make_function_approximation

        n_train = self.oversampling * p["n_basis"]
        X, y = make_function_approximation("runge", n_train, random_state=0)
        X_test, y_test = make_function_approximation(
            "runge", self.n_test, random_state=1
        )
        return Data(X, y, X_test, y_test)

    def make_estimator(self, p):
        if p["library"] == "numpy":
            return LegendreLstsq(p["n_basis"])
        DPPLeastSquares = import_or_skip("skrep.dpp", "DPPLeastSquares")
        PolynomialBasis = import_or_skip("skrep.dpp", "PolynomialBasis")
        return DPPLeastSquares(
            PolynomialBasis(p["n_basis"] - 1),
            n_samples=3 * p["n_basis"],
            random_state=0,
        )

    def score(self, estimator, X, y):
        error = np.linalg.norm(estimator.predict(X) - y)
        return float(error / np.linalg.norm(y))


class ProjectionDPPPoolBench:
    """One exact projection-DPP sample from a pool of N candidates."""

    param_names = ["library", "n_candidates", "n_basis"]
    params = (peers("dppy"), [50_000], [100])
    timeout = 600
    number = 1
    repeat = (1, 5, 30.0)

    def setup(self, library, n_candidates, n_basis):
        gen = rng(0)
        self.eig_vecs = np.linalg.qr(gen.standard_normal((n_candidates, n_basis)))[0]
        if library == "dppy":
            FiniteDPP = import_or_skip("dppy.finite_dpps", "FiniteDPP")
            self.dpp = FiniteDPP(
                "correlation",
                projection=True,
                K_eig_dec=(np.ones(n_basis), self.eig_vecs),
            )
            self.draw = lambda: self.dpp.sample_exact(mode="GS", random_state=0)
        else:
            Sampler = import_or_skip("skrep.dpp", "ProjectionDPPSampler")
            sampler = Sampler(random_state=0)
            self.draw = lambda: sampler.sample(self.eig_vecs)
        self.draw()  # warm up (imports, caches)

    def time_sample(self, *args):
        self.draw()

    def peakmem_sample(self, *args):
        self.draw()

    def track_n_distinct(self, *args):
        return len(set(np.asarray(self.draw()).tolist()))

    track_n_distinct.unit = "points"


class ContinuousLegendreDPPBench:
    """A projection DPP of the Legendre space on [-1, 1]^d (m points)."""

    param_names = ["library", "n_features", "n_basis"]
    params = (peers("dppy"), [1, 2], [50, 100, 200])
    timeout = 600

    def setup(self, library, n_features, n_basis):
        PolynomialBasis = import_or_skip("skrep.dpp", "PolynomialBasis")
        degree = n_basis - 1
        if n_features == 2:  # total degree p: m = (p + 1)(p + 2) / 2
            degree = min(
                range(n_basis), key=lambda q: abs((q + 1) * (q + 2) // 2 - n_basis)
            )
        basis = PolynomialBasis(degree).fit(np.zeros((1, n_features)))
        m = basis.n_output_features_
        if library == "dppy":
            OPE = import_or_skip(
                "dppy.multivariate_jacobi_ope", "MultivariateJacobiOPE"
            )
            ope = OPE(m, np.zeros((n_features, 2)))
            self.draw = lambda: ope.sample(random_state=0)
        else:
            Sampler = import_or_skip("skrep.dpp", "ProjectionDPPSampler")
            sampler = Sampler(random_state=0)
            self.draw = lambda: sampler.sample_continuous(basis)
        self.draw()

    def time_sample(self, *args):
        self.draw()


class DefaultDesignWarningBench:
    """How often default fits warn, and how far off the warned ones are."""

    param_names = ["n_features"]
    params = [[1, 2, 4]]
    timeout = 600
    degrees = {1: 9, 2: 6, 4: 3}
    n_fits = {1: 3000, 2: 1000, 4: 600}

    def setup_cache(self):
        from skrep.datasets import make_function_approximation
        from skrep.dpp import DPPLeastSquares, PolynomialBasis

        out = {}
        for d, degree in self.degrees.items():
            _, _, f = make_function_approximation(
                "runge", 5, n_features=d, return_function=True
            )
            X_test = rng(d).uniform(-1, 1, size=(20_000, d))
            basis = PolynomialBasis(degree).fit(X_test)
            F, y = basis.transform(X_test), f(X_test)
            best = np.linalg.norm(F @ np.linalg.lstsq(F, y, rcond=None)[0] - y)
            warned, ratio = [], []
            for seed in range(self.n_fits[d]):
                with warnings.catch_warnings(record=True) as record:
                    warnings.simplefilter("always")
                    model = DPPLeastSquares(basis, random_state=seed)
                    model.fit_function(f, n_features=d)
                warned.append(any(r.category is UserWarning for r in record))
                ratio.append(np.linalg.norm(model.predict(X_test) - y) / best)
            out[d] = np.asarray(warned), np.asarray(ratio)
        return out

    def track_warned_per_1000(self, cache, n_features):
        return 1000 * float(np.mean(cache[n_features][0]))

    track_warned_per_1000.unit = "fits"

    def track_median_error_ratio(self, cache, n_features):
        return float(np.median(cache[n_features][1]))

    track_median_error_ratio.unit = "error / best error"

    def track_median_error_ratio_warned(self, cache, n_features):
        warned, ratio = cache[n_features]
        return float(np.median(ratio[warned])) if warned.any() else float("nan")

    track_median_error_ratio_warned.unit = "error / best error"
