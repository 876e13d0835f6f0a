"""The one place that configures numba for skrep's kernels.

Kernels live in each subpackage's ``_kernels.py`` and are decorated with
:func:`njit` from here, which always caches compiled code on disk and
releases the GIL. No signature is given, so nothing compiles at import: a
kernel compiles on its first call and is loaded from the cache afterwards.
"""

from contextlib import contextmanager

try:
    import numba
except ImportError as exc:  # pragma: no cover - numba is a required dependency
    raise ImportError(
        "skrep's compiled kernels need numba, which could not be imported "
        f"({exc}). Install it with `pip install numba`."
    ) from exc

from joblib import effective_n_jobs

__all__ = ["n_threads", "njit", "numba_threads", "prange"]

prange = numba.prange


def njit(func=None, *, parallel=False, fastmath=False, **options):
    """Compile ``func`` lazily with numba, cached on disk and without the GIL.

    Parameters
    ----------
    func : callable, default=None
        The kernel; when None, return a decorator.
    parallel : bool, default=False
        Compile ``prange`` loops to run on several threads; the number of
        threads is set by :func:`numba_threads`.
    fastmath : bool, default=False
        Allow floating-point reassociation.
    **options
        Other ``numba.njit`` options.

    Returns
    -------
    dispatcher : numba dispatcher or decorator

    Examples
    --------
    Functions defined interactively cannot be cached on disk, so this one
    turns caching off:

    >>> import numpy as np
    >>> from skrep.utils._numba import njit
    >>> @njit(cache=False)
    ... def total(x):
    ...     s = 0.0
    ...     for v in x:
    ...         s += v
    ...     return s
    >>> total(np.arange(4.0))
    6.0
    """
    options = {"cache": True, "nogil": True, **options}
    decorator = numba.njit(parallel=parallel, fastmath=fastmath, **options)
    return decorator if func is None else decorator(func)


def n_threads(n_jobs=None):
    """Number of threads for a ``parallel=True`` kernel given ``n_jobs``.

    ``None`` means numba's current thread count: ``NUMBA_NUM_THREADS``,
    unless the caller lowered it with ``numba.set_num_threads`` (or an
    enclosing :func:`numba_threads`). Inside a joblib worker it is already
    limited by joblib (it sets ``NUMBA_NUM_THREADS`` for its workers) so that
    workers do not oversubscribe the cores. Negative values count back from
    the number of CPUs, as in joblib.

    Examples
    --------
    >>> from skrep.utils._numba import n_threads
    >>> n_threads(1)
    1
    """
    if n_jobs is None:
        return numba.get_num_threads()
    return max(1, min(effective_n_jobs(n_jobs), numba.config.NUMBA_NUM_THREADS))


@contextmanager
def numba_threads(n_jobs=None):
    """Run the enclosed ``parallel=True`` kernels on ``n_threads(n_jobs)`` threads.

    Examples
    --------
    >>> from skrep.utils._numba import numba_threads
    >>> with numba_threads(1):
    ...     pass
    """
    previous = numba.get_num_threads()
    numba.set_num_threads(n_threads(n_jobs))
    try:
        yield
    finally:
        numba.set_num_threads(previous)
