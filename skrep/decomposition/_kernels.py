"""numba kernels of :mod:`skrep.decomposition`.

Pure functions on arrays. ``dpd_fixed_point`` runs the per-row fixed
point of the density power divergence SVD (``RobustSVD``), an inner loop
over each row that numpy cannot express as whole-array passes. (Principal
component pursuit needs no kernel: its steps are a few numpy passes, and a
fit that imports no numba starts 0.5 s sooner.)
"""

import numpy as np

from skrep.utils._numba import njit, prange

__all__ = ["dpd_fixed_point"]


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
