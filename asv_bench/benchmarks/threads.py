"""Threads under load: each estimator on small data, defaults vs one thread.

Machines are shared and ``GridSearchCV`` runs many fits at once, so a
parallel region (a numba ``prange`` kernel, a threaded BLAS call, a round of
worker threads) must pay for itself when every core is already busy. Each
case fits an estimator on small data while busy processes spin on every
core (started in ``setup``, stopped in ``teardown``, and ending by
themselves after ``_BUSY_SECONDS`` whatever happens), once with the
defaults and once with numba and BLAS limited to one thread. The target is
a ratio defaults / one thread of at most 2 (see ``skrep.utils._threads``).

- ``time_fit``: one fit under load, ``threads`` in ("default", "one");
- ``track_ratio``: the median of interleaved default and one-thread fits,
  defaults over one thread, in one run.

Run as a script for the table of ratios (a few minutes on two cores)::

    python asv_bench/benchmarks/threads.py [case ...]

``SizeRatio`` (``python asv_bench/benchmarks/threads.py --sizes``) times a
numba element-wise kernel and BLAS products of growing size on two threads
and on one, under the same load: where the ratio falls below 1 is where the
thresholds of ``skrep.utils._threads`` come from.
"""

import contextlib
import os
import subprocess
import sys
import time

import numpy as np

# Busy processes end by themselves after this long, even if teardown never
# runs (an interrupted benchmark).
_BUSY_SECONDS = 600

_SPIN = (
    "import time\n"
    "end = time.monotonic() + {seconds}\n"
    "while time.monotonic() < end:\n"
    "    pass\n"
)


def start_load(n=None, seconds=_BUSY_SECONDS):
    """Start ``n`` (default: one per core) busy processes; returns them."""
    n = os.cpu_count() if n is None else n
    code = _SPIN.format(seconds=seconds)
    return [subprocess.Popen([sys.executable, "-c", code]) for _ in range(n)]


def stop_load(processes):
    for process in processes:
        process.terminate()
    for process in processes:
        process.wait()


@contextlib.contextmanager
def one_thread():
    """numba's ``parallel=True`` kernels and BLAS on one thread."""
    from skrep.utils._numba import numba_threads
    from skrep.utils._threads import single_threaded_blas

    with numba_threads(1), single_threaded_blas():
        yield


def _iris():
    from sklearn.datasets import load_iris

    return load_iris(return_X_y=True)


def _blobs(n):
    from sklearn.datasets import make_blobs

    return make_blobs(n, n_features=5, centers=3, random_state=0)


def _diabetes():
    from sklearn.datasets import load_diabetes

    return load_diabetes(return_X_y=True)


def _ordinal():
    X, y = _diabetes()
    return X, np.digitize(y, np.quantile(y, [0.25, 0.5, 0.75]))


def _swiss(n):
    from sklearn.datasets import make_swiss_roll

    return make_swiss_roll(n, noise=0.5, random_state=0)[0], None


def _case(name, data, params=None, run=None):
    """(data, make the estimator, run it) for one estimator."""

    def make():
        from skrep.utils.discovery import all_estimators

        return dict(all_estimators())[name](**(params or {}))

    return data, make, run or (lambda est, X, y: est.fit(X, y))


def _labelled_iris():
    """iris with every 10th label known, and a classifier fitted on those."""
    from sklearn.linear_model import LogisticRegression

    X, y = _iris()
    labels = np.full(len(y), -1)
    labels[::10] = y[::10]
    model = LogisticRegression(max_iter=1000).fit(X[labels >= 0], y[labels >= 0])
    return X, (labels, model)


def _query(est, X, y):
    labels, model = y
    return est.query(X, labels, model, batch_size=5)


def _leverage(est, X, y):
    return est.query(X, np.full(len(y), -1), batch_size=10)


def _polynomial(est, X, y):
    from sklearn.preprocessing import MinMaxScaler

    return est.fit_transform(MinMaxScaler((-1, 1)).fit_transform(X))


CASES = {
    "RobustPCA, iris": _case("RobustPCA", _iris),
    "RobustSVD, iris": _case("RobustSVD", _iris, {"n_components": 2}),
    "OutlierRobustPCA, iris": _case(
        "OutlierRobustPCA", _iris, {"n_components": 2, "random_state": 0}
    ),
    "DualKernelPCA huber, 3,000 rows": _case(
        "DualKernelPCA",
        lambda: _swiss(3000),
        {"loss": "huber", "random_state": 0},
    ),
    "SDPKMeans, 600 blobs": _case(
        "SDPKMeans", lambda: _blobs(600), {"n_clusters": 3, "random_state": 0}
    ),
    "ILASDPClustering, iris": _case(
        "ILASDPClustering", _iris, {"n_clusters": 3, "random_state": 0}
    ),
    "GaussianMixtureOODDetector, iris": _case(
        "GaussianMixtureOODDetector", _iris, {"random_state": 0}
    ),
    "DPPLeastSquares, diabetes": _case(
        "DPPLeastSquares", _diabetes, {"n_samples": 33, "random_state": 0}
    ),
    "PolynomialBasis, diabetes": _case(
        "PolynomialBasis", _diabetes, {"degree": 2}, _polynomial
    ),
    "ProportionalOdds, diabetes": _case("ProportionalOdds", _ordinal),
    "PRESTO, diabetes": _case("PRESTO", _ordinal),
    "MarginSampler, iris": _case(
        "MarginSampler", _labelled_iris, {"random_state": 0}, _query
    ),
    "MarginSampler kcenter, iris": _case(
        "MarginSampler",
        _labelled_iris,
        {"batch_strategy": "kcenter", "random_state": 0},
        _query,
    ),
    "LeverageScoreSampler, iris": _case(
        "LeverageScoreSampler", _iris, {"random_state": 0}, _leverage
    ),
}


def _time(run, est, X, y, limit):
    if limit:
        with one_thread():
            start = time.perf_counter()
            run(est, X, y)
    else:
        start = time.perf_counter()
        run(est, X, y)
    return time.perf_counter() - start


def load_ratio(case, repeats=7):
    """Median fit time under load with the defaults and with one thread.

    The caller provides the load. Runs alternate, so that both see the same
    conditions. Returns ``(default_seconds, one_thread_seconds)``.
    """
    import warnings

    data, make, run = CASES[case]
    X, y = data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run(make(), X, y)  # compile numba kernels, import what is needed
        times = {False: [], True: []}
        for repeat in range(repeats):
            # Alternate which goes first: a run can pay for the threads the
            # previous one left spinning.
            for limit in (False, True) if repeat % 2 else (True, False):
                times[limit].append(_time(run, make(), X, y, limit))
    return float(np.median(times[False])), float(np.median(times[True]))


class LoadedThreads:
    """Fits on small data with busy processes on every core."""

    param_names = ["case", "threads"]
    params = [list(CASES), ["default", "one"]]
    timeout = 300
    number = 1
    repeat = 5

    def setup(self, case, threads):
        import warnings

        data, make, self.run = CASES[case]
        self.X, self.y = data()
        self.make = make
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.run(make(), self.X, self.y)  # warm up before the load
        self.limit = threads == "one"
        self.load = start_load()

    def teardown(self, case, threads):
        stop_load(self.load)

    def time_fit(self, case, threads):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _time(self.run, self.make(), self.X, self.y, self.limit)


class LoadRatio:
    """Defaults over one thread, from interleaved fits under load."""

    param_names = ["case"]
    params = [list(CASES)]
    timeout = 600
    unit = "default / one thread"

    def setup(self, case):
        self.load = start_load()

    def teardown(self, case):
        stop_load(self.load)

    def track_ratio(self, case):
        default, one = load_ratio(case)
        return default / one


def _elementwise_kernel():
    from skrep.utils._numba import njit, prange

    @njit(parallel=True, cache=False)
    def squares(x, out):
        for i in prange(x.shape[0]):
            out[i] = x[i] * x[i] + 1.0

    return squares


def size_ratio(kind, size, repeats=None):
    """Two threads over one, mean time per call under the caller's load.

    ``kind="kernel"``: a numba element-wise kernel on ``size`` entries;
    ``kind="blas"``: ``(n, 60) @ (60, 60)`` and ``(60, n) @ (n, 60)``
    products of ``size`` flops. The thresholds of ``skrep.utils._threads``
    come from these ratios.
    """
    from threadpoolctl import threadpool_limits

    from skrep.utils._numba import numba_threads

    if kind == "kernel":
        kernel = _elementwise_kernel()
        rng = np.random.default_rng(0)
        x = rng.random(int(size))
        out = np.empty_like(x)
        kernel(x, out)

        def call(threads):
            with numba_threads(threads):
                kernel(x, out)

    else:
        rng = np.random.default_rng(0)
        A = rng.random((max(1, int(size / (4 * 60 * 60))), 60))
        W = rng.random((60, 60))

        def call(threads):
            with threadpool_limits(threads, user_api="blas"):
                A @ W
                A.T @ A

    repeats = repeats or int(min(200, max(5, 3e8 / size)))
    times = {1: [], 2: []}
    for repeat in range(repeats):
        for threads in (1, 2) if repeat % 2 else (2, 1):
            start = time.perf_counter()
            call(threads)
            times[threads].append(time.perf_counter() - start)
    # The mean, not the median: a stall hits some calls, and a loop pays
    # for all of them.
    return float(np.mean(times[2]) / np.mean(times[1]))


class SizeRatio:
    """Where two threads start to pay under load, by the size of the work."""

    param_names = ["kind", "size"]
    params = [["kernel", "blas"], [1e4, 1e5, 1e6, 1e7, 1e8, 1e9]]
    timeout = 600
    unit = "two threads / one"

    def setup(self, kind, size):
        if kind == "kernel" and size > 1e8:
            raise NotImplementedError  # 8 GB of entries: skipped
        self.load = start_load()

    def teardown(self, kind, size):
        stop_load(self.load)

    def track_ratio(self, kind, size):
        return size_ratio(kind, size)


if __name__ == "__main__" and sys.argv[1:2] == ["--sizes"]:
    load = start_load()
    try:
        print(f"{os.cpu_count()} busy processes; two threads / one, mean per call")
        for kind, sizes in (
            ("kernel", SizeRatio.params[1][:-2]),
            ("blas", SizeRatio.params[1]),
        ):
            for size in sizes:
                print(
                    f"{kind:<8}{size:>8.0e}{size_ratio(kind, size):>8.2f}", flush=True
                )
    finally:
        stop_load(load)
elif __name__ == "__main__":
    chosen = sys.argv[1:] or list(CASES)
    load = start_load()
    try:
        print(f"{os.cpu_count()} busy processes; median of 7 interleaved fits")
        print(f"{'case':<36}{'default':>10}{'1 thread':>10}{'ratio':>8}")
        for case in chosen:
            default, one = load_ratio(case)
            print(f"{case:<36}{default:>9.3f}s{one:>9.3f}s{default / one:>8.2f}")
            sys.stdout.flush()
    finally:
        stop_load(load)
