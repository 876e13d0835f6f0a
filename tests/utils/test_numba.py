import numpy as np
import pytest
from joblib import Parallel, delayed

from skrep.utils._numba import n_threads, njit, numba_threads, prange


@njit(parallel=True)
def _parallel_sum(x):
    total = 0.0
    for i in prange(x.shape[0]):
        total += x[i]
    return total


def test_njit_caches_and_releases_gil():
    assert _parallel_sum.targetoptions["nogil"]
    assert _parallel_sum.targetoptions["parallel"]
    assert _parallel_sum._cache.__class__.__name__ == "FunctionCache"


def test_parallel_kernel_result_and_thread_count():
    import numba

    x = np.arange(1000.0)
    before = numba.get_num_threads()
    with numba_threads(1):
        assert numba.get_num_threads() == 1
        assert _parallel_sum(x) == pytest.approx(x.sum())
    assert numba.get_num_threads() == before


def test_n_threads():
    import numba

    assert n_threads(1) == 1
    assert n_threads(None) == numba.config.NUMBA_NUM_THREADS
    assert 1 <= n_threads(-1) <= numba.config.NUMBA_NUM_THREADS
    assert n_threads(10_000) == numba.config.NUMBA_NUM_THREADS
    # None follows the caller's limit, so that a one-thread run stays one.
    with numba_threads(1):
        assert n_threads(None) == 1


def _threads_in_worker():
    import numba

    return numba.config.NUMBA_NUM_THREADS


def test_joblib_workers_do_not_oversubscribe():
    # joblib limits numba's threads in its process workers, which is what
    # n_threads(None) relies on.
    counts = Parallel(n_jobs=2, backend="loky")(
        delayed(_threads_in_worker)() for _ in range(2)
    )
    assert all(c == 1 for c in counts)
