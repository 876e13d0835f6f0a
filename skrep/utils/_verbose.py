"""Progress lines of long fits, in one format for every estimator.

An estimator with ``verbose > 0`` prints one line per iteration (or per
round: a lambda of a path, a sample of a sampler) with :class:`Progress`::

    [PRESTO] lambda 3/20: objective=0.4121337, lam=0.01, iterations=4, nonzero=7, 0.12s

that is ``[Estimator] <unit> <i>[/<total>]: name=value, ..., <elapsed>s``:
the estimator's class name, the counter (``iter`` for iterations), the
objective or the change first, other values after, and the seconds since
the fit started.
"""

import sys
import time
from numbers import Integral, Real

__all__ = ["Progress", "format_progress"]


def _format_value(value):
    if isinstance(value, bool) or not isinstance(value, Real):
        return str(value)
    if isinstance(value, Integral):
        return str(int(value))
    return f"{float(value):.7g}"


def format_progress(name, unit, index, total=None, elapsed=None, **values):
    """One progress line (without the newline).

    Parameters
    ----------
    name : str
        The estimator's class name.
    unit : str
        What is counted: ``"iter"``, ``"lambda"``, ``"round"``...
    index : int
        The counter, from 1.
    total : int, default=None
        Its largest value (``max_iter``, the number of rounds), if known.
    elapsed : float, default=None
        Seconds since the fit started.
    **values
        ``name=value`` pairs, in order; floats get 7 significant digits.

    Returns
    -------
    line : str

    Examples
    --------
    >>> from skrep.utils._verbose import format_progress
    >>> format_progress("PRESTO", "iter", 3, 100, 0.125, objective=0.5, step=1.0)
    '[PRESTO] iter 3/100: objective=0.5, step=1, 0.12s'
    """
    counter = f"{index}" if total is None else f"{index}/{total}"
    parts = [f"{key}={_format_value(value)}" for key, value in values.items()]
    if elapsed is not None:
        parts.append(f"{elapsed:.2f}s")
    return f"[{name}] {unit} {counter}: " + ", ".join(parts)


class Progress:
    """Prints progress lines of one fit when ``verbose`` is positive.

    Parameters
    ----------
    name : str
        The estimator's class name.
    verbose : int
        Nothing is printed when it is 0 (or False).
    unit : str, default="iter"
        What one line counts.
    total : int, default=None
        The largest counter value, if known.
    start : float, default=None
        When the fit started (``time.perf_counter()``), for a fit printing
        several kinds of lines; None means now.

    Examples
    --------
    >>> from skrep.utils._verbose import Progress
    >>> progress = Progress("DPPLeastSquares", 1, unit="round", total=2)
    >>> progress(1, points=5)  # doctest: +ELLIPSIS
    [DPPLeastSquares] round 1/2: points=5, ...s
    >>> Progress("DPPLeastSquares", 0)(1, points=5)  # silent
    """

    def __init__(self, name, verbose, *, unit="iter", total=None, start=None):
        self.name, self.verbose, self.unit, self.total = name, verbose, unit, total
        self.start = time.perf_counter() if start is None else start

    def __bool__(self):
        return bool(self.verbose)

    def __call__(self, index, **values):
        """Print the line of counter ``index`` with ``values``."""
        if not self.verbose:
            return
        line = format_progress(
            self.name,
            self.unit,
            index,
            self.total,
            time.perf_counter() - self.start,
            **values,
        )
        print(line, file=sys.stdout, flush=True)
