"""GPU: skrep's estimators on CuPy arrays against the same estimators on NumPy.

The ``library`` parameter is ``"skrep"`` for the CuPy path (array-API
dispatch on, data on the GPU) and ``"numpy"`` for skrep's CPU path on the same
data, so that ``python ratios.py --bench gpu`` prints GPU time / CPU time
(below 1, the GPU is faster). Every combination is skipped where CuPy or a
GPU is absent. The timed call ends with a device synchronisation, so that
asynchronous kernel launches are not mistaken for finished work.

scikit-learn's array-API dispatch needs ``SCIPY_ARRAY_API=1`` before SciPy is
first imported: run ``SCIPY_ARRAY_API=1 asv run ... --bench gpu``.
"""

import os

import numpy as np

from .common import SkipBenchmark, import_or_skip
from .ood import class_conditional_features

LIBRARIES = ["skrep", "numpy"]


def _cupy():
    if os.environ.get("SCIPY_ARRAY_API") != "1":
        raise SkipBenchmark("set SCIPY_ARRAY_API=1 for array-API dispatch")
    cupy = import_or_skip("cupy")
    try:
        n_devices = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # CUDA driver missing or broken
        raise SkipBenchmark(f"no usable GPU: {exc}") from exc
    if n_devices == 0:
        raise SkipBenchmark("no GPU")
    return cupy


class _OnDevice:
    """Data on the benchmarked device; ``run`` calls with dispatch on and syncs."""

    param_names = ["library"]
    params = [LIBRARIES]
    timeout = 600.0
    processes = 1

    def make_data(self):
        raise NotImplementedError

    def make_estimator(self):
        raise NotImplementedError

    def setup(self, library):
        arrays = self.make_data()
        self.on_device = library == "skrep"
        if self.on_device:
            cupy = _cupy()
            arrays = tuple(None if a is None else cupy.asarray(a) for a in arrays)
            self.sync = cupy.cuda.Device().synchronize
        else:
            self.sync = lambda: None
        self.arrays = arrays
        self.run(lambda: self.make_estimator().fit(*self.fit_arrays(small=True)))

    def fit_arrays(self, small=False):
        X, y = self.arrays[0], self.arrays[1]
        n = 512 if small else X.shape[0]
        return (X[:n],) if y is None else (X[:n], y[:n])

    def run(self, call):
        from sklearn import config_context

        with config_context(array_api_dispatch=self.on_device):
            out = call()
        self.sync()
        return out

    def time_fit(self, library):
        self.run(lambda: self.make_estimator().fit(*self.fit_arrays()))


class DualKernelPCAGPU(_OnDevice):
    """Exact rbf kernel PCA, n = 20,000, d = 50, 10 components."""

    def make_data(self):
        rng = np.random.default_rng(0)
        return rng.standard_normal((20_000, 50)), None

    def make_estimator(self):
        from skrep.decomposition import DualKernelPCA

        return DualKernelPCA(n_components=10, gamma=1 / 50, random_state=0)


class RobustPCAGPU(_OnDevice):
    """Principal component pursuit on 5000 x 1000, rank 10, 5 % corruption."""

    def make_data(self):
        from skrep.datasets import make_low_rank_sparse

        M, _, _ = make_low_rank_sparse(
            5000, 1000, rank=10, sparsity=0.05, random_state=0
        )
        return M, None

    def make_estimator(self):
        from skrep.decomposition import RobustPCA

        return RobustPCA(random_state=0)


class OutlierRobustPCAGPU(_OnDevice):
    """Outlier-robust PCA on 200,000 x 100 with 10 % outlying rows."""

    def make_data(self):
        from skrep.datasets import make_contaminated_gaussian

        X = make_contaminated_gaussian(200_000, 100, eps=0.1, random_state=0)[0]
        return X, None

    def make_estimator(self):
        from skrep.decomposition import OutlierRobustPCA

        return OutlierRobustPCA(n_components=5, eps=0.1, random_state=0)


class GaussianOODScoringGPU(_OnDevice):
    """Score 2,000,000 rows (d = 64, 10 classes) with a fitted detector."""

    def make_data(self):
        X, y = class_conditional_features(20_000, 64, 10, 0.0, seed=1)
        X_test, _ = class_conditional_features(2_000_000, 64, 10, 0.1, seed=2)
        return X, y, X_test

    def make_estimator(self):
        from skrep.ood import GaussianMixtureOODDetector

        return GaussianMixtureOODDetector()

    def setup(self, library):
        super().setup(library)
        self.detector = self.run(lambda: self.make_estimator().fit(*self.fit_arrays()))

    def time_score_samples(self, library):
        self.run(lambda: self.detector.score_samples(self.arrays[2]))


class SDPKMeansGPU(_OnDevice):
    """The K-means SDP by the low-rank solver, n = 20,000, p = 20, K = 5."""

    def make_data(self):
        from skrep.datasets import make_heterogeneous_mixture

        X = make_heterogeneous_mixture(20_000, 20, n_clusters=5, random_state=0)[0]
        return X, None

    def make_estimator(self):
        from skrep.cluster import SDPKMeans

        return SDPKMeans(n_clusters=5, random_state=0)
