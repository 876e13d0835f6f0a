"""numba kernels of :mod:`skrep.decomposition`.

Pure functions on arrays. ``dpd_fixed_point`` runs the per-row fixed
point of the density power divergence SVD (``RobustSVD``), an inner loop
over each row that numpy cannot express as whole-array passes.
``weighted_median``, ``weighted_column_medians``, ``tail_mass`` and
``abs_max`` are the order statistics, tail sums and extreme of
``OutlierRobustPCA``'s filter, in one pass or by selection in O(n) rather
than by sorts and masked copies (at 100,000 x 100, k = 10, they took about
20 % of a fit's time). (Principal component pursuit needs no
kernel: its steps are a few numpy passes, and a fit that imports no numba
starts 0.5 s sooner.)
"""

import numpy as np

from skrep.utils._numba import njit, prange

__all__ = [
    "abs_max",
    "dpd_fixed_point",
    "tail_mass",
    "weighted_column_medians",
    "weighted_median",
]


@njit(parallel=True)
def dpd_fixed_point(E, c, b, width, tol, max_iter):
    """Left step of rSVDdpd: each ``c_i`` minimising the DPD of row ``i``.

    For fixed ``b``, iterates for every row ``i`` (independently, in
    parallel) the fixed point

    ``c_i <- sum_j w_ij E_ij b_j / sum_j w_ij b_j ** 2``,
    ``w_ij = exp(-((E_ij - c_i b_j) / width) ** 2)``

    until ``|c_i - c_i_old| <= tol`` or ``max_iter`` updates. NaN entries of
    ``E`` (unobserved) get weight 0. A row whose weighted ``sum b_j^2``
    falls below 1e-8 of its unweighted one has no entry near the fit (every
    entry where ``b`` matters is a gross error for it): the divergence is
    flat in ``c_i`` there (to about ``exp(-18)``), and ``c_i = 0``.
    The right step is the same kernel on ``E.T``.

    Parameters
    ----------
    E : ndarray of shape (m, n)
        Residual matrix (read only).
    c : ndarray of shape (m,)
        Starting values, updated in place.
    b : ndarray of shape (n,)
        The fixed factor.
    width : float
        ``sigma sqrt(2 / alpha)`` (``inf`` for ``alpha = 0``: all weights
        1). Dividing by it, rather than multiplying by ``alpha / (2
        sigma ** 2)``, stays finite for any positive ``sigma``: a residual
        too large for its square gets the weight 0 it has.
    tol : float
        Absolute tolerance per entry of ``c``.
    max_iter : int
        Maximum number of updates per entry.

    Returns
    -------
    n_iter : int
        The largest number of updates any entry took.
    """
    m, n = E.shape
    iters = np.zeros(m, dtype=np.int64)
    for i in prange(m):
        ci = c[i]
        # The row's weight on b when every weight is 1: a denominator far
        # below it rests on entries where b is negligible (the others were
        # weighted out), whose quotient is noise. No value of c_i fits the
        # row then: it gets 0, whatever its starting value (keeping that
        # value made the factors depend on the random start).
        full = 0.0
        for j in range(n):
            if E[i, j] == E[i, j]:
                full += b[j] * b[j]
        for it in range(max_iter):
            num = 0.0
            den = 0.0
            for j in range(n):
                e = E[i, j]
                if e != e:
                    continue
                t = (e - ci * b[j]) / width
                w = np.exp(-t * t)
                num += w * e * b[j]
                den += w * b[j] * b[j]
            iters[i] = it + 1
            if den <= 1e-8 * full:
                ci = 0.0
                break
            new = num / den
            done = abs(new - ci) <= tol
            ci = new
            if done:
                break
        c[i] = ci
    return iters.max()


@njit
def _xorshift(state):
    """The next state of Marsaglia's xorshift64 generator."""
    state ^= state << np.uint64(13)
    state ^= state >> np.uint64(7)
    return state ^ (state << np.uint64(17))


@njit
def _select(v, w, m, target):
    """The smallest ``x`` among ``v[:m]`` whose weight at or below it (``w``,
    positive) reaches ``target`` (``0 < target``; the largest ``x`` if the
    sum falls short by rounding). ``v[:m]`` and ``w[:m]`` are permuted in
    place: a three-way quickselect on the median of three values at
    pseudo-random places (no order of the values makes it quadratic but by
    chance), then an insertion sort of the last 16 or fewer. (No numba
    sort: compiling one took 7 s.)"""
    lo, hi, below = 0, m - 1, 0.0
    state = np.uint64(0x9E3779B97F4A7C15)
    while hi - lo > 16:
        span = np.uint64(hi - lo + 1)
        state = _xorshift(state)
        a = v[lo + np.int64(state % span)]
        state = _xorshift(state)
        b = v[lo + np.int64(state % span)]
        state = _xorshift(state)
        c = v[lo + np.int64(state % span)]
        if a < b:
            p = b if b < c else (c if a < c else a)
        else:
            p = a if a < c else (c if b < c else b)
        # [lo, lt) below p, [lt, i) equal to it, (gt, hi] above it.
        lt, i, gt = lo, lo, hi
        w_lt, w_eq = 0.0, 0.0
        while i <= gt:
            x = v[i]
            if x < p:
                v[i], v[lt] = v[lt], x
                w[i], w[lt] = w[lt], w[i]
                w_lt += w[lt]
                lt += 1
                i += 1
            elif x > p:
                v[i], v[gt] = v[gt], x
                w[i], w[gt] = w[gt], w[i]
                gt -= 1
            else:
                w_eq += w[i]
                i += 1
        if below + w_lt >= target:
            hi = lt - 1
        elif below + w_lt + w_eq >= target:
            return p
        else:
            below += w_lt + w_eq
            lo = gt + 1
    if lo > hi:
        return v[hi]
    for i in range(lo + 1, hi + 1):
        x, y, j = v[i], w[i], i - 1
        while j >= lo and v[j] > x:
            v[j + 1], w[j + 1] = v[j], w[j]
            j -= 1
        v[j + 1], w[j + 1] = x, y
    for i in range(lo, hi + 1):
        below += w[i]
        if below >= target:
            return v[i]
    return v[hi]


@njit
def _gather(values, w, lower, exclude, lo, hi, v, u):
    """Store in ``v``, ``u`` the values taken (above ``lower``, of positive
    weight, not ``exclude``) within ``[lo, hi]``, and their weights, while
    ``v`` has room (a count past its length means it had none); returns
    that count, and the number, total weight and weight below ``lo`` of all
    the values taken.

    Every value is stored and the index advanced past those kept: no branch
    on a comparison that goes either way (mispredicted, it cost 6 ns a
    value, five times the loop)."""
    last = v.shape[0] - 1
    count, total, below, inside = 0, 0.0, 0.0, 0
    for i in range(values.shape[0]):
        x, wi = values[i], w[i]
        taken = (x > lower) & (wi > 0) & (x != exclude)
        count += taken
        total += wi if taken else 0.0
        below += wi if taken & (x < lo) else 0.0
        j = min(inside, last)
        v[j] = x
        u[j] = wi
        inside += taken & (x >= lo) & (x <= hi)
    return inside, count, total, below


@njit
def weighted_median(values, w, lower, exclude, q):
    """The weighted ``q``-quantile of the ``values`` above ``lower``, of
    positive weight ``w`` and not equal to ``exclude`` (NaN: none): the
    smallest such value at or below which their weight reaches ``q`` times
    their total.

    Returns ``(quantile, total, count, tied, n_tied)``: the total weight and
    number of the values taken, and the weight and number of those equal to
    the quantile (``(nan, 0.0, 0, 0.0, 0)`` if none is taken).

    Floyd and Rivest's bracket: the weighted quantiles of about 2,000 evenly
    spaced values at the target less and plus 4 standard errors of the
    median's rank (in weight) bound the quantile; one pass sums the weight
    below the bracket and gathers the values in it, among which the
    quantile is selected. Where the bracket misses (it holds the quantile
    but for a chance of about 1e-4), or the values are few, every value
    taken is gathered."""
    m = values.shape[0]
    lo, hi = -np.inf, np.inf
    if m > 8192:
        step = m // 2048
        s = 0
        v = np.empty(m // step + 1, dtype=values.dtype)
        u = np.empty(m // step + 1, dtype=np.float64)
        for i in range(0, m, step):
            x = values[i]
            v[s] = x
            u[s] = w[i]
            s += (x > lower) & (w[i] > 0) & (x != exclude)
        if s >= 64:
            # Weights, not ranks: 4 standard errors of the median's rank
            # either side, in units of the sample's mean weight.
            total_s = np.sum(u[:s])
            half = q * total_s
            margin = (2.0 * np.sqrt(s) + 2.0) / s * total_s
            if half - margin > 0:
                lo = _select(v, u, s, half - margin)
            if half + margin < total_s:
                hi = _select(v, u, s, half + margin)
    # Room for twice the values the bracket is expected to hold.
    room = m if lo == -np.inf and hi == np.inf else min(m, m // 5 + 1024)
    v = np.empty(room, dtype=values.dtype)
    u = np.empty(room, dtype=np.float64)
    inside, count, total, below = _gather(values, w, lower, exclude, lo, hi, v, u)
    if count == 0:
        return np.nan, 0.0, 0, 0.0, 0
    target = q * total
    if not (
        inside <= room
        and below < target
        and inside > 0
        and below + np.sum(u[:inside]) >= target
    ):
        v = np.empty(m, dtype=values.dtype)
        u = np.empty(m, dtype=np.float64)
        inside, _, _, below = _gather(values, w, lower, exclude, -np.inf, np.inf, v, u)
    quantile = _select(v, u, inside, target - below)
    # Every value equal to the quantile is in the bracket.
    tied, n_tied = 0.0, 0
    for i in range(inside):
        if v[i] == quantile:
            tied += u[i]
            n_tied += 1
    return quantile, total, count, tied, n_tied


@njit
def weighted_column_medians(P, n_columns, rows, w):
    """The weighted medians (as :func:`weighted_median`, ``q = 1/2``) of the
    first ``n_columns`` columns of ``P`` over its rows ``rows`` with weights
    ``w[rows]``, those of zero weight left out (the smallest value where all
    are)."""
    m = rows.shape[0]
    column = np.empty(m, dtype=P.dtype)
    weights = np.empty(m, dtype=w.dtype)
    for i in range(m):
        weights[i] = w[rows[i]]
    medians = np.empty(n_columns, dtype=np.float64)
    for j in range(n_columns):
        for i in range(m):
            column[i] = P[rows[i], j]
        median, _, count, _, _ = weighted_median(column, weights, -np.inf, np.nan, 0.5)
        medians[j] = median if count > 0 else column.min()
    return medians


@njit
def tail_mass(w, scores, threshold):
    """``(sum(w), sum(w * scores * (scores > threshold)))`` in one pass."""
    total, tail = 0.0, 0.0
    for i in range(w.shape[0]):
        total += w[i]
        if scores[i] > threshold:
            tail += w[i] * scores[i]
    return total, tail


@njit(fastmath=True)
def abs_max(values):
    """The largest absolute value of the finite 1-d ``values`` (0 if none), in
    one vectorised pass (numpy's max and min: two passes, each twice as
    slow)."""
    top = 0.0
    for i in range(values.shape[0]):
        top = max(top, abs(values[i]))
    return top
