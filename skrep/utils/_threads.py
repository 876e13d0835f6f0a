"""Threads around BLAS: one BLAS thread per worker, several workers.

Small matrix products (a block of rows against a thin matrix) gain little
from BLAS's own threads and pay their synchronisation; several Python
threads, each on its own block with a single-threaded BLAS, keep every core
busy and every block in cache (numpy releases the GIL in BLAS calls and in
its ufunc loops).
"""

import contextlib

from joblib import effective_n_jobs
from threadpoolctl import ThreadpoolController

__all__ = [
    "blas_thread_count",
    "map_threads",
    "maybe_single_threaded_blas",
    "single_threaded_blas",
    "thread_count",
]

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


def map_threads(func, items, n_jobs=None):
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
    with single_threaded_blas():
        if n_threads == 1:
            return [func(item) for item in items]
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(n_threads) as pool:
            return list(pool.map(func, items))


def maybe_single_threaded_blas(condition):
    """:func:`single_threaded_blas` when ``condition`` holds, else a no-op."""
    return single_threaded_blas() if condition else contextlib.nullcontext()
