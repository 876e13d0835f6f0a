"""numba kernels of skrep.cluster: the elementwise passes of the low-rank solver.

Each kernel fuses what numpy would do in several passes over an
``(n, n_blocks * rank)`` array; the matrix products stay in BLAS.
"""

import numpy as np

from skrep.utils._numba import njit

__all__ = ["bb_products", "gradient_assemble", "projected_step"]


@njit(fastmath=True)
def projected_step(U, grad, alpha, traces, rank, out, colsum):
    """``out = project(U - alpha * grad)``; returns ``||out - U||^2, <grad, out - U>``.

    ``colsum`` receives the column sums of ``out``.

    The projection clips at zero and rescales each block of ``rank`` columns
    to the Frobenius norm ``sqrt(traces[b])``; a block clipped to zero becomes
    the uniform point.
    """
    n, R = U.shape
    n_blocks = R // rank
    sq = np.zeros(n_blocks)
    for i in range(n):
        for j in range(R):
            v = U[i, j] - alpha * grad[i, j]
            v = v if v > 0.0 else 0.0
            out[i, j] = v
            sq[j // rank] += v * v
    # each column's rescaling (or, for a block clipped to zero, its fill)
    factor = np.zeros(R)
    fill = np.zeros(R)
    for j in range(R):
        b = j // rank
        if sq[b] > 0.0:
            factor[j] = np.sqrt(traces[b] / sq[b])
        else:
            fill[j] = np.sqrt(traces[b] / (n * rank))
    step_sq = 0.0
    decrease = 0.0
    colsum[:] = 0.0
    for i in range(n):
        for j in range(R):
            v = out[i, j] * factor[j] + fill[j]
            out[i, j] = v
            colsum[j] += v
            d = v - U[i, j]
            step_sq += d * d
            decrease += grad[i, j] * d
    return step_sq, decrease


@njit
def gradient_assemble(XM, w, s, col, c, rank, out):
    """``out = -2 XM + w s^T + 1 col^T + [c_b s_b^T]_b`` (``c`` may be empty).

    ``c`` has one column per block (shape ``(n, n_blocks)``) or zero columns
    when the problem has no linear cost.
    """
    n, R = XM.shape
    has_c = c.shape[1] > 0
    for i in range(n):
        wi = w[i]
        for j in range(R):
            g = -2.0 * XM[i, j] + wi * s[j] + col[j]
            if has_c:
                g += c[i, j // rank] * s[j]
            out[i, j] = g
    return out


@njit(fastmath=True)
def bb_products(U_new, U, grad_new, grad):
    """``<dU, dG>`` and ``<dG, dG>`` for the Barzilai–Borwein step sizes."""
    n, R = U.shape
    sy = 0.0
    yy = 0.0
    for i in range(n):
        for j in range(R):
            dg = grad_new[i, j] - grad[i, j]
            sy += (U_new[i, j] - U[i, j]) * dg
            yy += dg * dg
    return sy, yy
