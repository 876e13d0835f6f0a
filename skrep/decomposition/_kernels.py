"""numba kernels of :mod:`skrep.decomposition`.

Pure functions on arrays. Each kernel fuses the elementwise passes of one
solver step so that the (n_samples, n_features) matrices are read once per
step instead of once per numpy operation. Kernel names start with the solver
they belong to (``pcp_`` for principal component pursuit, ``dpd_`` for the
density power divergence SVD).
"""

import numpy as np

from skrep.utils._numba import njit, prange

__all__ = ["dpd_fixed_point", "pcp_dual_step", "pcp_sparse_step"]


@njit(parallel=True)
def pcp_sparse_step(M, L, Y, inv_mu, threshold, S, A, observed):
    """Sparse update of the inexact ALM for principal component pursuit.

    Writes ``S = shrink(M - L + Y / mu, threshold)`` and the next matrix whose
    singular values are thresholded, ``A = M - S + Y / mu``. On unobserved
    entries ``S`` is free: it takes ``M - L + Y / mu`` itself, so that ``A``
    is the low-rank part there (with ``M = Y = 0`` on them).

    Parameters
    ----------
    M, L, Y : ndarray of shape (m, n)
        Data, current low-rank part and dual variable (read only).
    inv_mu : float
        ``1 / mu``.
    threshold : float
        Soft-threshold ``lambda / mu``.
    S, A : ndarray of shape (m, n)
        Output buffers.
    observed : bool ndarray of shape (m, n), or of shape (0, 0)
        Observed entries; an empty array means all of them.
    """
    m, n = M.shape
    masked = observed.shape[0] > 0
    for i in prange(m):
        for j in range(n):
            t = M[i, j] - L[i, j] + inv_mu * Y[i, j]
            if masked and not observed[i, j]:
                s = t
            elif t > threshold:
                s = t - threshold
            elif t < -threshold:
                s = t + threshold
            else:
                s = 0.0
            S[i, j] = s
            A[i, j] = t + L[i, j] - s


@njit(parallel=True)
def pcp_dual_step(M, L, S, Y, mu):
    """Dual ascent of the inexact ALM: ``Y += mu (M - L - S)``.

    Parameters
    ----------
    M, L, S : ndarray of shape (m, n)
        Data, low-rank and sparse parts (read only).
    Y : ndarray of shape (m, n)
        Dual variable, updated in place.
    mu : float
        Penalty parameter.

    Returns
    -------
    sq_norm : float
        ``||M - L - S||_F ** 2`` (the squared primal residual).
    """
    m, n = M.shape
    row_sums = np.zeros(m)
    for i in prange(m):
        acc = 0.0
        for j in range(n):
            z = M[i, j] - L[i, j] - S[i, j]
            Y[i, j] += mu * z
            acc += z * z
        row_sums[i] = acc
    return row_sums.sum()


@njit(parallel=True)
def dpd_fixed_point(E, c, b, width, tol, max_iter):
    """Left step of rSVDdpd: each ``c_i`` minimising the DPD of row ``i``.

    For fixed ``b``, iterates for every row ``i`` (independently, in
    parallel) the fixed point

    ``c_i <- sum_j w_ij E_ij b_j / sum_j w_ij b_j ** 2``,
    ``w_ij = exp(-((E_ij - c_i b_j) / width) ** 2)``

    until ``|c_i - c_i_old| <= tol`` or ``max_iter`` updates. NaN entries of
    ``E`` (unobserved) get weight 0. A row whose weighted ``sum b_j^2``
    falls below 1e-8 of its unweighted one (its weights vanish where ``b``
    matters) keeps its ``c_i``.
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
        # weighted out), whose quotient is noise; the row keeps its c_i.
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
                break
            new = num / den
            done = abs(new - ci) <= tol
            ci = new
            if done:
                break
        c[i] = ci
    return iters.max()
