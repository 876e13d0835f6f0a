"""Benchmarks of the ``skrep.datasets`` generators.

Time and peak memory of each generator at the size the other modules'
benchmarks use:

- ``make_low_rank_sparse``: 5,000 x 1,000, rank 10, 5 % corruption (robust PCA);
- ``make_contaminated_gaussian``: n = 100,000, d = 100, eps = 0.1
  (outlier-robust PCA);
- ``make_heterogeneous_mixture``: n = 20,000, p = 20, K = 5 (iLA-SDP);
- ``make_rare_ordinal``: n = 200,000, p = 50, K = 5, 1 % rare class (PRESTO);
- ``make_function_approximation``: n = 50,000 points in d = 2 (DPP least
  squares).

No peer: these are the data every other benchmark is built on, and the first
benchmarks that prove the harness.
"""

from .common import import_or_skip


class _Generator:
    """Time and peak memory of one call ``generator(*args, **kwargs)``.

    Private (leading underscore) so that asv does not collect it itself.
    """

    name = None
    args = ()
    kwargs = {}
    small_args = ()
    timeout = 120.0

    def setup(self):
        self.generator = import_or_skip("skrep.datasets", self.name)
        self.generator(*self.small_args, **self.kwargs)  # warm up (JIT, imports)

    def time_generate(self):
        self.generator(*self.args, **self.kwargs)

    def peakmem_generate(self):
        self.generator(*self.args, **self.kwargs)


class LowRankSparse(_Generator):
    name = "make_low_rank_sparse"
    args = (5_000, 1_000, 10, 0.05)
    small_args = (50, 20, 2, 0.05)
    kwargs = {"random_state": 0}


class ContaminatedGaussian(_Generator):
    name = "make_contaminated_gaussian"
    args = (100_000, 100, 0.1)
    small_args = (100, 10, 0.1)
    kwargs = {"random_state": 0}


class HeterogeneousMixture(_Generator):
    name = "make_heterogeneous_mixture"
    args = (20_000, 20, 5, 3.0)
    small_args = (100, 5, 2, 3.0)
    kwargs = {"random_state": 0}


class RareOrdinal(_Generator):
    name = "make_rare_ordinal"
    args = (200_000, 50, 5, 0.01, 0.1)
    small_args = (100, 5, 3, 0.1, 0.2)
    kwargs = {"random_state": 0}


class FunctionApproximation(_Generator):
    name = "make_function_approximation"
    args = ("runge", 50_000)
    small_args = ("runge", 10)
    kwargs = {"n_features": 2, "random_state": 0}
