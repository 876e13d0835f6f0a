import numpy as np
from threadpoolctl import threadpool_info

from skrep.utils._numba import n_threads, numba_threads
from skrep.utils._threads import (
    BLAS_MIN_WORK,
    KERNEL_MIN_WORK,
    blas_thread_count,
    map_threads,
    thread_count,
    threads_for,
    worthwhile_threads,
)


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


def test_worthwhile_threads_gives_each_thread_enough_work():
    assert worthwhile_threads(150 * 4, 8) == 1  # iris
    assert worthwhile_threads(0, 8) == 1
    assert worthwhile_threads(float("nan"), 8) == 1
    assert worthwhile_threads(KERNEL_MIN_WORK, 8) == 1
    assert worthwhile_threads(2.5 * KERNEL_MIN_WORK, 8) == 2
    assert worthwhile_threads(1e12, 8) == 8
    assert worthwhile_threads(3 * BLAS_MIN_WORK, 2, BLAS_MIN_WORK) == 2
    assert worthwhile_threads(3 * KERNEL_MIN_WORK, 2, BLAS_MIN_WORK) == 1


def test_threads_for_limits_small_work_and_restores():
    import numba

    numba_before, blas_before = numba.get_num_threads(), blas_thread_count()
    with threads_for(150 * 4, n_jobs=-1):
        assert numba.get_num_threads() == 1
        assert blas_thread_count() == 1
    assert (numba.get_num_threads(), blas_thread_count()) == (
        numba_before,
        blas_before,
    )
    # Large kernel work, small BLAS calls: numba threads, one BLAS thread.
    with threads_for(1e12, blas_work=1e6):
        assert numba.get_num_threads() == n_threads(None)
        assert blas_thread_count() == 1
    with threads_for(1e12):
        assert numba.get_num_threads() == n_threads(None)
        assert blas_thread_count() == blas_before
    # n_jobs caps the threads, and an enclosing limit is respected.
    with threads_for(1e12, n_jobs=1):
        assert numba.get_num_threads() == 1
    with numba_threads(1), threads_for(1e12):
        assert numba.get_num_threads() == 1
    assert numba.get_num_threads() == numba_before


def test_map_threads_runs_small_work_in_the_calling_thread():
    import threading

    def ident(_):
        return threading.get_ident()

    assert set(map_threads(ident, range(4), 2, work=1e6)) == {threading.get_ident()}
    # Large work runs on n_jobs worker threads at once: each item returns only
    # once another one has reached the barrier (run one after the other, the
    # first would wait in vain and break it).
    barrier = threading.Barrier(2, timeout=30)

    def meet(_):
        barrier.wait()
        return threading.get_ident()

    workers = map_threads(meet, range(4), 2, work=1e12)
    assert len(set(workers)) == 2
    assert threading.get_ident() not in workers


def test_threads_for_blas_only_leaves_numba_alone():
    import numba

    before = numba.get_num_threads()
    with threads_for(blas_work=1e6):
        assert numba.get_num_threads() == before
        assert blas_thread_count() == 1
    with threads_for():
        assert blas_thread_count() == _blas_threads()
