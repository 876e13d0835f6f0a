"""Small linear-algebra helpers shared by several estimators."""

import math

import numpy as np
from scipy import sparse

from skrep.utils._array_api import get_namespace_and_device, to_namespace, to_numpy

__all__ = ["flip_signs", "orthonormalize", "unit_scale"]


def unit_scale(A, xp=None, axis=None):
    """Power of two at or below the largest absolute entry of ``A`` (1 if all zero).

    Dividing by it is exact (only the exponents change) and brings the
    largest entry into [1, 2): squares and norms of the quotient neither
    overflow nor underflow, whatever the magnitude of ``A``. A method that is
    equivariant to the scale of its data computes in these units and maps
    back.

    Parameters
    ----------
    A : array of any array-API namespace, or scipy sparse matrix
        Finite entries.
    xp : namespace, default=None
        The namespace of ``A``; found from ``A`` when None.
    axis : int, default=None
        None: one scale for the whole array, as a Python float. Otherwise one
        scale per slice along ``axis`` (dense ``A``), as an array with the
        reduced dimension kept.

    Returns
    -------
    scale : float or array

    Examples
    --------
    >>> import numpy as np
    >>> from skrep.utils.extmath import unit_scale
    >>> s = unit_scale(np.array([[3e-200, -5e-200]]))
    >>> bool(s <= 5e-200 < 2 * s)
    True
    >>> unit_scale(np.array([[0.5, 3.0], [0.0, 0.0]]), axis=1).ravel().tolist()
    [2.0, 1.0]
    """
    if axis is not None:
        xp = get_namespace_and_device(A)[0] if xp is None else xp
        top = xp.max(xp.abs(A), axis=axis, keepdims=True)
        return 2.0 ** xp.floor(xp.log2(xp.where(top > 0, top, 1.0)))
    if sparse.issparse(A):
        top = float(abs(A).max()) if A.nnz else 0.0
    else:
        xp = get_namespace_and_device(A)[0] if xp is None else xp
        # max(max, -min): two passes without an |A| temporary (3x faster)
        top = max(float(xp.max(A)), -float(xp.min(A))) if math.prod(A.shape) else 0.0
    return 2.0 ** math.floor(math.log2(top)) if top > 0 else 1.0


def orthonormalize(A, against=None):
    """An orthonormal basis of the columns of ``A``, optionally completing ``against``.

    Cholesky QR, twice (matrix products only, which stay fast on many
    threads, unlike a Householder QR of a tall matrix); when ``A`` is too
    ill-conditioned for it, a Householder QR instead. ``A`` may be an array
    of any array-API namespace (CuPy...): the tall products stay in its
    namespace and on its device, only the k x k factors go to host.

    Parameters
    ----------
    A : array of shape (n, k)
        The columns to orthonormalize (``A`` itself is left untouched).
    against : array of shape (n, j), default=None
        Orthonormal columns the result must be orthogonal to. Where ``A``
        is rank deficient after removing them, the basis is completed with
        other orthogonal directions, so the result always has ``k``
        orthonormal columns.

    Returns
    -------
    Q : array of shape (n, k)
        Of ``A``'s namespace, device and dtype.

    Examples
    --------
    >>> import numpy as np
    >>> from skrep.utils.extmath import orthonormalize
    >>> Q = orthonormalize(np.arange(6.0).reshape(3, 2))
    >>> np.allclose(Q.T @ Q, np.eye(2))
    True
    >>> R = orthonormalize(np.ones((3, 1)), against=Q)
    >>> np.allclose(Q.T @ R, 0)
    True
    """
    xp, _, device = get_namespace_and_device(A)
    if against is not None:
        for _ in range(2):
            A = A - against @ (against.T @ A)
    Q, R = A, None
    try:
        for _ in range(2):
            # The k x k Gram matrix and its Cholesky factor live on host, in
            # numpy.linalg: SciPy's own BLAS threads, woken between numpy's
            # products, would fight numpy's for the cores.
            R = np.linalg.cholesky(to_numpy(Q.T @ Q, xp)).T
            diag = np.abs(np.diag(R))
            if diag.min(initial=np.inf) <= 1e-6 * diag.max(initial=0.0):
                raise np.linalg.LinAlgError("too ill-conditioned for Cholesky QR")
            inverse = np.linalg.inv(R)
            Q = Q @ to_namespace(inverse, xp, device, dtype=A.dtype)
    except np.linalg.LinAlgError:
        R = None
    # The second factor is the identity up to round-off when Q is orthonormal.
    if R is not None and np.all(np.isfinite(R)):
        # Round-off of Q's dtype: float32 Gram matrices are only that close.
        tol = max(1e-10, 100 * float(xp.finfo(A.dtype).eps))
        if np.abs(R - np.eye(R.shape[0])).max() < tol:
            return Q
    if against is None:
        return xp.linalg.qr(A)[0]
    full = xp.linalg.qr(xp.concat([against, A], axis=1))[0]
    return full[:, against.shape[1] :]


def flip_signs(components):
    """Signs that make the largest-magnitude entry of each row positive.

    Multiplying each row of ``components`` by its sign gives a deterministic
    sign convention for vectors that are defined up to sign.

    Parameters
    ----------
    components : array of shape (k, n)
        Of any array-API namespace.

    Returns
    -------
    signs : array of shape (k,)
        Entries +1 or -1, of ``components``' namespace, device and dtype.

    Examples
    --------
    >>> import numpy as np
    >>> from skrep.utils.extmath import flip_signs
    >>> flip_signs(np.array([[0.1, -2.0], [3.0, 1.0]]))
    array([-1.,  1.])
    """
    xp, _, device = get_namespace_and_device(components)
    k = components.shape[0]
    if k == 0:
        return xp.ones(0, dtype=components.dtype, device=device)
    largest = xp.argmax(xp.abs(components), axis=1)
    # Entry (i, largest[i]) of each row: the diagonal of a k x k selection.
    signs = xp.sign(xp.linalg.diagonal(xp.take(components, largest, axis=1)))
    return xp.where(signs == 0, xp.ones_like(signs), signs)
