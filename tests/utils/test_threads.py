import numpy as np
from threadpoolctl import threadpool_info

from skrep.utils._threads import blas_thread_count, map_threads, thread_count


def _blas_threads():
    return max(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas")


def test_map_threads_keeps_order_and_one_blas_thread_per_worker():
    before = _blas_threads()
    seen = []

    def work(i):
        seen.append(_blas_threads())
        return np.full((2, 2), float(i)) @ np.eye(2)

    for n_jobs in (None, 1, 2):
        seen.clear()
        out = map_threads(work, range(5), n_jobs)
        assert [float(a[0, 0]) for a in out] == [0.0, 1.0, 2.0, 3.0, 4.0]
        assert seen == [1] * 5
    # Restored afterwards; a single item runs as is.
    assert _blas_threads() == before
    assert map_threads(lambda i: _blas_threads(), [0]) == [before]


def test_thread_count():
    assert thread_count(None) == blas_thread_count() >= 1
    assert thread_count(3) == 3
    assert thread_count(-1) >= 1
