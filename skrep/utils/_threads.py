"""Threads that pay for themselves: numba kernels, BLAS and worker threads.

Small matrix products (a block of rows against a thin matrix) gain little
from BLAS's own threads and pay their synchronisation; several Python
threads, each on its own block with a single-threaded BLAS, keep every core
busy and every block in cache (numpy releases the GIL in BLAS calls and in
its ufunc loops).

A parallel region (a ``prange`` kernel call, a threaded BLAS call, a round
of :func:`map_threads`) ends when its slowest thread does. On a busy machine
(other processes on every core, or the many fits of a ``GridSearchCV``) one
of its threads waits a scheduler time slice or more, 10-50 ms, whatever the
work: :func:`threads_for` runs small regions on one thread, so that they
cost what a serial loop costs.
"""

import contextlib
import math

from joblib import effective_n_jobs
from threadpoolctl import ThreadpoolController

__all__ = [
    "BLAS_MIN_WORK",
    "KERNEL_MIN_WORK",
    "blas_thread_count",
    "map_threads",
    "maybe_single_threaded_blas",
    "single_threaded_blas",
    "thread_count",
    "threads_for",
    "worthwhile_threads",
]

#: Work (operations on array entries, ``n_rows * n_columns * ops per entry``)
#: a thread of a numba ``prange`` kernel must get for the region to pay for
#: itself: about 5-10 ms on one core. With two busy processes on two cores,
#: an element-wise kernel on two threads took on average 14-430 times the
#: one-thread time on 1e4 to 1e6 entries, and 0.83 times on 1e7
#: (``python asv_bench/benchmarks/threads.py --sizes``).
KERNEL_MIN_WORK = 1e7

#: Floating-point operations a thread must get in one BLAS call (or one
#: :func:`map_threads` item of BLAS work) to pay for itself. OpenBLAS's
#: threads spin while they wait; under the same load threaded products took
#: up to 4 times (mean) and 20-50 times (some runs' median) the one-thread
#: time between 1e7 and 1e8 flops, and broke even near 1e9 flops (about
#: 0.1 s on one busy core).
BLAS_MIN_WORK = 1e9

_CONTROLLER = []


def _controller():
    # Created on first use, after numpy and SciPy have loaded their BLAS.
    if not _CONTROLLER:
        _CONTROLLER.append(ThreadpoolController())
    return _CONTROLLER[0]


def single_threaded_blas():
    """Context manager limiting BLAS to one thread."""
    return _controller().limit(limits=1, user_api="blas")


def blas_thread_count():
    """The number of threads BLAS currently uses (1 when none is loaded)."""
    info = _controller().select(user_api="blas").info()
    return max([entry["num_threads"] for entry in info] or [1])


def thread_count(n_jobs=None):
    """Threads for ``n_jobs`` as joblib counts them; None: BLAS's thread count."""
    return max(1, blas_thread_count() if n_jobs is None else effective_n_jobs(n_jobs))


def worthwhile_threads(work, n_threads, min_work=KERNEL_MIN_WORK):
    """How many of ``n_threads`` threads ``work`` keeps busy enough to pay.

    Each thread must get at least ``min_work``; small work gets one thread.

    Parameters
    ----------
    work : float
        The work of the parallel region, in the unit of ``min_work``.
    n_threads : int
        The most threads allowed.
    min_work : float, default=KERNEL_MIN_WORK
        The least work per thread.

    Returns
    -------
    n : int
        ``min(n_threads, work // min_work)``, at least 1.

    Examples
    --------
    >>> from skrep.utils._threads import worthwhile_threads
    >>> worthwhile_threads(150 * 4, 8)  # iris: one thread
    1
    >>> worthwhile_threads(3e7, 8)
    3
    """
    if not work >= min_work:  # NaN work counts as small
        return 1
    return int(max(1, min(n_threads, math.floor(work / min_work))))


@contextlib.contextmanager
def threads_for(work=None, n_jobs=None, *, blas_work=None):
    """Numba and BLAS threads that pay for themselves for the enclosed regions.

    Replaces ``with numba_threads(n_jobs):`` around a solver: its
    ``parallel=True`` kernels run on :func:`worthwhile_threads` of
    ``n_threads(n_jobs)`` threads for ``work``, and its BLAS calls on one
    thread when ``blas_work`` is below :data:`BLAS_MIN_WORK` (otherwise BLAS
    keeps the caller's thread count).

    Parameters
    ----------
    work : float, default=None
        Entry operations of one kernel call of the enclosed loop (e.g.
        ``n_samples * n_features`` for an element-wise pass); compared with
        :data:`KERNEL_MIN_WORK` per thread. None: the region runs no
        parallel kernel, and numba is left as it is (not even imported).
    n_jobs : int, default=None
        The most numba threads, as in :func:`skrep.utils._numba.n_threads`.
    blas_work : float, default=None
        Flops of one BLAS call of the loop (e.g. ``2 * n * d * k`` for an
        ``(n, d) @ (d, k)`` product); None means ``work`` (and BLAS is left
        as it is when both are None).

    Examples
    --------
    >>> import numba
    >>> from skrep.utils._threads import blas_thread_count, threads_for
    >>> with threads_for(150 * 4):  # an element-wise pass over iris
    ...     print(numba.get_num_threads(), blas_thread_count())
    1 1
    """
    blas_work = work if blas_work is None else blas_work
    with contextlib.ExitStack() as stack:
        if work is not None:
            from skrep.utils._numba import n_threads, numba_threads

            stack.enter_context(
                numba_threads(worthwhile_threads(work, n_threads(n_jobs)))
            )
        if blas_work is not None and not blas_work >= BLAS_MIN_WORK:
            stack.enter_context(single_threaded_blas())
        yield


def map_threads(func, items, n_jobs=None, *, work=None):
    """``[func(item) for item in items]`` on threads with one BLAS thread each.

    Parameters
    ----------
    func : callable
        Called once per item; it should spend its time in numpy (BLAS
        products, ufuncs) or in numba kernels compiled without the GIL.
    items : sequence
        The work items, handed out in order. With more than one, BLAS runs
        on one thread in every call, even when ``n_jobs`` is 1.
    n_jobs : int, default=None
        Number of threads, as joblib counts them; None uses BLAS's own
        thread count, so the caller's thread limits are respected.
    work : float, default=None
        Flops of all the items together; each thread must get
        :data:`BLAS_MIN_WORK` of them (:func:`worthwhile_threads`), so small
        work runs in the calling thread. None: as many threads as ``n_jobs``
        allows.

    Returns
    -------
    results : list
        ``func(item)`` for each item, in order.

    Notes
    -----
    BLAS's thread limit is process-wide (threadpoolctl): while the items
    run, BLAS calls from other threads of the process are single-threaded
    too.
    """
    items = list(items)
    if len(items) <= 1:
        return [func(item) for item in items]
    n_threads = min(thread_count(n_jobs), len(items))
    if work is not None:
        n_threads = worthwhile_threads(work, n_threads, BLAS_MIN_WORK)
    with single_threaded_blas():
        if n_threads == 1:
            return [func(item) for item in items]
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(n_threads) as pool:
            return list(pool.map(func, items))


def maybe_single_threaded_blas(condition):
    """:func:`single_threaded_blas` when ``condition`` holds, else a no-op."""
    return single_threaded_blas() if condition else contextlib.nullcontext()
