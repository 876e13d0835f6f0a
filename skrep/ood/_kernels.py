"""Compiled inner loops of :mod:`skrep.ood`."""

from skrep.utils._numba import njit

__all__ = ["stacked_sq_distances"]


@njit(fastmath=True)
def stacked_sq_distances(Z, nu, k, out, g0):
    """Squared distances of whitened rows to whitened means, group by group.

    ``Z`` holds, for each row, the row whitened by each Gaussian's own
    whitening (``G`` consecutive groups of ``k`` columns); ``nu`` the whitened
    means, flattened the same way. Writes ``out[i, g] = ||Z[i, g] - nu[g]||^2``
    in one pass over ``Z`` (no temporary), accumulating in float64.

    Parameters
    ----------
    Z : ndarray of shape (n, G * k), C-contiguous
    nu : ndarray of shape (G * k,)
    k : int
    out : ndarray of shape (n, n_gaussians)
        Columns ``g0 .. g0 + G - 1`` are written.
    g0 : int
    """
    n = Z.shape[0]
    G = Z.shape[1] // k
    for i in range(n):
        for g in range(G):
            base = g * k
            s = 0.0
            for j in range(k):
                t = Z[i, base + j] - nu[base + j]
                s += t * t
            out[i, g0 + g] = s
