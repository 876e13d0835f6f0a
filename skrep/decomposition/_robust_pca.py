"""Robust PCA as a low-rank plus sparse decomposition (principal component pursuit).

``RobustPCA`` splits a data matrix ``M = L + S`` into a low-rank part ``L``
and a sparse part ``S`` of gross, entrywise corruptions, by the inexact
augmented Lagrangian method of Lin, Chen & Ma (method ``"pcp"``), or with a
fixed rank by non-convex alternating projections (method ``"altproj"``) or
by the ALM iterations with a rank cap (method ``"fixed_rank"``).
"""

import time
import warnings
from functools import partial
from numbers import Integral, Real

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import validate_data

from skrep.decomposition._base import _LinearSubspace
from skrep.utils._array_api import get_namespace_and_device, to_namespace
from skrep.utils._compat import Interval, StrOptions, _fit_context
from skrep.utils._compat import device as array_device
from skrep.utils._numba import numba_threads
from skrep.utils.extmath import flip_signs, orthonormalize
from skrep.utils.validation import check_n_components

__all__ = ["RobustPCA"]


def _partial_svd(
    A, k, *, rng, V0=None, n_oversamples=10, n_iter=2, dense_ok=True, xp=None
):
    """Top-``k`` singular triplets of ``A`` by a warm-started range finder.

    The starting block holds the previous right singular vectors ``V0`` (the
    warm start) completed by Gaussian columns; ``n_iter`` subspace (power)
    iterations follow, then a Rayleigh-Ritz step. Cost O(m n (k + p) n_iter).
    Falls back to a dense SVD when ``k + p`` is not much smaller than the
    matrix (or, with ``dense_ok=False``, only when it is not smaller).

    With ``xp`` (an array namespace, ``A`` and ``V0`` of it) the same steps
    run on ``A``'s device, with ``xp.linalg.qr`` orthonormalizing and the
    Gaussian block drawn on host from ``rng`` as in the numpy path (same
    draws, so the same subspace).

    Returns
    -------
    U : ndarray of shape (m, k)
    s : ndarray of shape (k,)
    Vt : ndarray of shape (k, n)
    """
    m, n = A.shape
    width = k + n_oversamples
    if width >= min(m, n) or (dense_ok and 2 * width >= min(m, n)):
        U, s, Vt = (np if xp is None else xp).linalg.svd(A, full_matrices=False)
        return U[:, :k], s[:k], Vt[:k, :]
    xp, _, device = get_namespace_and_device(A)
    host_dtype = np.float32 if A.dtype == xp.float32 else np.float64
    omega = rng.standard_normal((n, width)).astype(host_dtype, copy=False)
    omega = to_namespace(omega, xp, device)
    if V0 is not None and V0.shape[0] > 0:
        r = min(V0.shape[0], width)
        omega = xp.concat([V0[:r, :].T, omega[:, r:]], axis=1)
    Q = orthonormalize(A @ omega)
    for _ in range(n_iter):
        Q = orthonormalize(A @ orthonormalize(A.T @ Q))
    Ub, s, Vt = xp.linalg.svd(Q.T @ A, full_matrices=False)
    return (Q @ Ub)[:, :k], s[:k], Vt[:k, :]


def _spectral_norm(A, rng, xp=None):
    """Largest singular value of ``A`` (converged subspace iteration)."""
    if min(A.shape) <= 50:
        return float((np if xp is None else xp).linalg.svdvals(A)[0])
    _, s, _ = _partial_svd(A, 1, rng=rng, n_oversamples=7, n_iter=4, xp=xp)
    return float(s[0])


def _sparse_step(M, L, Y, inv_mu, threshold, S, A, xp=None):
    """``S = shrink(M - L + Y / mu, lam / mu)`` and ``A = M - S + Y / mu``.

    numpy: the compiled kernel, into the buffers ``S`` and ``A``; namespace
    ``xp``: the same soft-thresholding with ``xp.where``, as new arrays.
    """
    if xp is None:
        from skrep.decomposition._kernels import pcp_sparse_step

        pcp_sparse_step(M, L, Y, inv_mu, threshold, S, A)
        return S, A
    T = M - L + inv_mu * Y
    S = xp.where(xp.abs(T) > threshold, T - xp.sign(T) * threshold, 0.0)
    return S, T + L - S


def _dual_step(M, L, S, Y, mu, xp=None):
    """``Y += mu (M - L - S)``; returns ``Y`` and ``||M - L - S||_F ** 2``."""
    if xp is None:
        from skrep.decomposition._kernels import pcp_dual_step

        return Y, pcp_dual_step(M, L, S, Y, mu)
    Z = M - L - S
    return Y + mu * Z, float(xp.sum(Z * Z))


class RobustPCA(_LinearSubspace):
    """Robust PCA by principal component pursuit (low-rank + sparse).

    Decomposes the data matrix ``X = L + S`` into a low-rank part ``L`` and a
    sparse part ``S`` holding gross corruptions of individual entries (video
    foreground, broken sensor readings). With ``method="pcp"`` it solves
    principal component pursuit,

    .. math:: \\min_{L, S} \\|L\\|_* + \\lambda \\|S\\|_1
              \\quad \\text{s.t.} \\quad L + S = X,

    by the inexact augmented Lagrangian method (IALM) of Lin, Chen & Ma. Each
    iteration thresholds the singular values with a *partial* SVD whose rank
    is predicted from the previous iteration (a randomized range finder warm
    started from the previous singular vectors), so an iteration costs
    O(m n r) for a rank-r low-rank part, not O(m n min(m, n)). With
    ``method="fixed_rank"`` the low-rank part is constrained to rank at most
    ``n_components``: the same iterations keep only the top ``n_components``
    thresholded singular values (a non-convex, rank-constrained PCP). It
    reaches the PCP solution when that has rank ``<= n_components``, with a
    fixed, predictable cost per iteration, and gives the best rank-constrained
    fit when the data are not exactly low-rank. With ``method="altproj"`` it
    runs the non-convex alternating projections of Netrapalli et al.: stages
    k = 1, ..., ``n_components``, each alternating a rank-k projection of
    ``X - S`` and a hard thresholding of ``X - L`` at a threshold that
    decreases geometrically towards ``beta * sigma_{k+1}(X - S)``, with
    ``beta = 2 n_components / sqrt(m n)`` (the largest entry of an incoherent
    rank-r matrix relative to its spectral norm). It costs only rank-k
    partial SVDs, but recovers ``L`` only in a smaller regime than PCP (about
    ``n / (mu^2 r)`` corruptions per row at most): outside it, use ``"pcp"``.

    The principal directions are those of the recovered low-rank part:
    ``components_`` are the right singular vectors of ``L - mean_``, and
    ``transform`` projects new rows on them.

    CuPy (GPU) and other array-API inputs are supported with
    ``sklearn.set_config(array_api_dispatch=True)``: see Notes.

    Peak memory of ``fit``: about six float arrays of the shape of ``X``
    (data, L, S, the dual variable, one work matrix and the returned copies)
    plus O((m + n) r); the full SVD of an m x n matrix is never computed
    unless the rank grows to a sizeable fraction of min(m, n).

    Read more in the :ref:`User Guide <decomposition>`.

    Parameters
    ----------
    method : {"pcp", "fixed_rank", "altproj"}, default="pcp"
        ``"pcp"``: principal component pursuit by inexact ALM (convex; the
        rank is found by the method). ``"fixed_rank"``: the same iterations
        with the rank of ``L`` capped at ``n_components``. ``"altproj"``:
        non-convex alternating projections of rank ``n_components``. The
        last two are non-convex and need ``n_components``.
    n_components : int, default=None
        With ``"pcp"``: keep at most this many components for ``transform``
        (None keeps the recovered rank). With ``"fixed_rank"`` and
        ``"altproj"``: the (largest) rank of the low-rank part (required).
    lam : float, default=None
        Weight of the l1 norm of ``S``. None means ``1 / sqrt(max(m, n))``.
        ``lam``, ``mu`` and ``rho`` are not used by ``"altproj"``.
    mu : float, default=None
        Initial penalty of the augmented Lagrangian. None means
        ``1.25 / ||X||_2``; it grows by ``rho`` each iteration up to ``1e7``
        times its initial value.
    rho : float, default=1.5
        Growth factor of the penalty ``mu``.
    tol : float, default=1e-7
        Stop when ``||X - L - S||_F / ||X||_F < tol`` (``"altproj"``: when
        the threshold falls below ``tol * ||X||_2``). For float32 input
        the tolerance is at least ``10 * eps(float32)``.
    max_iter : int, default=1000
        Maximum number of iterations.
    svd_solver : {"auto", "randomized", "full"}, default="auto"
        Partial SVD by a warm-started randomized range finder, or a dense
        LAPACK SVD at every iteration. ``"auto"`` uses the randomized solver
        and switches to the dense one while the predicted rank is large.
    random_state : int, RandomState instance or None, default=None
        Seeds the Gaussian starting blocks of the randomized SVD.
    verbose : int, default=0
        Print iteration, rank, residual and elapsed time.
    n_jobs : int, default=None
        Threads of the compiled elementwise steps (None: numba's default).

    Attributes
    ----------
    low_rank_ : ndarray of shape (n_samples, n_features)
        The low-rank part ``L`` of the training data.
    sparse_ : ndarray of shape (n_samples, n_features)
        The sparse part ``S``.
    outlier_mask_ : ndarray of shape (n_samples, n_features), dtype=bool
        Entries flagged as corrupted (``S != 0``).
    components_ : ndarray of shape (n_components_, n_features)
        Right singular vectors of ``L - mean_``.
    singular_values_ : ndarray of shape (n_components_,)
        The matching singular values.
    mean_ : ndarray of shape (n_features,)
        Column means of ``L``.
    rank_ : int
        The rank of the recovered low-rank part.
    n_components_ : int
        Number of components kept (the recovered rank, capped by
        ``n_components``).
    n_iter_ : int
        Number of iterations run.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during ``fit`` (only when ``X`` has string
        column names).

    See Also
    --------
    OutlierRobustPCA : PCA robust to whole outlying rows.
    sklearn.decomposition.PCA : Non-robust PCA.

    Notes
    -----
    ``fit_transform(X)`` returns the scores of the low-rank part,
    ``(L - mean_) @ components_.T``, while ``transform(X)`` projects the
    (possibly corrupted) rows of ``X`` themselves, so the two differ on the
    corrupted training entries.

    Array API: with ``array_api_dispatch=True`` and CuPy (or any array-API)
    input, all three methods run on the input's device: the soft and hard
    thresholdings are written with ``xp.where``, the partial SVD is the same
    randomized range finder (``xp.linalg.qr`` and the SVD of a small
    ``(k + p) x n`` matrix; a dense ``xp.linalg.svd`` where the numpy path
    takes one), with the Gaussian blocks drawn on host from ``random_state``
    as on the numpy path, so both paths give the same decomposition to
    rounding. Only scalars (norms, counts of singular values above the
    threshold) come back to host. Every fitted array is of the input's
    namespace, device and dtype. The elementwise steps make new arrays
    instead of filling buffers, so the peak memory on device is about eight
    arrays of the shape of ``X``. ``n_jobs`` only affects the numpy path.

    References
    ----------
    .. [1] E. J. Candès, X. Li, Y. Ma and J. Wright, "Robust principal component
       analysis?", Journal of the ACM 58(3), 2011.
    .. [2] Z. Lin, M. Chen and Y. Ma, "The augmented Lagrange multiplier method
       for exact recovery of corrupted low-rank matrices", arXiv:1009.5055,
       2010.
    .. [3] P. Netrapalli, U. N. Niranjan, S. Sanghavi, A. Anandkumar and
       P. Jain, "Non-convex robust PCA", NeurIPS 2014.

    Examples
    --------
    >>> import numpy as np
    >>> from skrep.decomposition import RobustPCA
    >>> rng = np.random.RandomState(0)
    >>> L = rng.randn(100, 3) @ rng.randn(3, 80)
    >>> S = np.zeros_like(L)
    >>> S.flat[rng.choice(L.size, 400, replace=False)] = 10.0
    >>> rpca = RobustPCA(random_state=0).fit(L + S)
    >>> rpca.rank_
    3
    >>> bool(np.linalg.norm(rpca.low_rank_ - L) < 1e-5 * np.linalg.norm(L))
    True
    >>> rpca.transform(L[:2]).shape
    (2, 3)
    """

    _parameter_constraints: dict = {
        "method": [StrOptions({"pcp", "fixed_rank", "altproj"})],
        "n_components": [Interval(Integral, 1, None, closed="left"), None],
        "lam": [Interval(Real, 0, None, closed="neither"), None],
        "mu": [Interval(Real, 0, None, closed="neither"), None],
        "rho": [Interval(Real, 1, None, closed="neither")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "svd_solver": [StrOptions({"auto", "randomized", "full"})],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "n_jobs": [Integral, None],
    }

    def __init__(
        self,
        method="pcp",
        *,
        n_components=None,
        lam=None,
        mu=None,
        rho=1.5,
        tol=1e-7,
        max_iter=1000,
        svd_solver="auto",
        random_state=None,
        verbose=0,
        n_jobs=None,
    ):
        self.method = method
        self.n_components = n_components
        self.lam = lam
        self.mu = mu
        self.rho = rho
        self.tol = tol
        self.max_iter = max_iter
        self.svd_solver = svd_solver
        self.random_state = random_state
        self.verbose = verbose
        self.n_jobs = n_jobs

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.array_api_support = True
        return tags

    def fit(self, X, y=None):
        """Decompose ``X`` into low-rank and sparse parts.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The data matrix ``M``.
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        self._fit(X)
        return self

    def fit_transform(self, X, y=None):
        """Decompose ``X`` and return the scores of its low-rank part.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The data matrix.
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components_)
            ``(low_rank_ - mean_) @ components_.T``.
        """
        return self._fit(X)

    @_fit_context(prefer_skip_nested_validation=True)
    def _fit(self, X):
        xp, is_array_api, _ = get_namespace_and_device(X)
        X = validate_data(self, X, dtype=[xp.float64, xp.float32], copy=False)
        m, n = X.shape
        if self.n_components is not None:
            check_n_components(self.n_components, X)
        if self.method != "pcp" and self.n_components is None:
            raise ValueError(
                f"method={self.method!r} fits a low-rank part of fixed rank: set "
                "n_components to that rank."
            )
        rng = check_random_state(self.random_state)
        tol = self.tol
        if X.dtype == xp.float32:
            tol = max(tol, 10 * xp.finfo(X.dtype).eps)
        if is_array_api:
            # The same iterations in namespace xp, on X's device.
            if self.method == "altproj":
                L, S, U, s, Vt, n_iter = self._altproj(X, tol, rng, xp=xp)
            else:
                max_rank = None if self.method == "pcp" else self.n_components
                L, S, U, s, Vt, n_iter = self._pcp(X, tol, rng, max_rank, xp=xp)
            self._set_results(L, S, n_iter, s)
            return self._set_directions(U, s, Vt, X)
        M = np.ascontiguousarray(X)
        with numba_threads(self.n_jobs):
            if self.method == "pcp":
                L, S, U, s, Vt, n_iter = self._pcp(M, tol, rng)
            elif self.method == "altproj":
                L, S, U, s, Vt, n_iter = self._altproj(M, tol, rng)
            else:
                L, S, U, s, Vt, n_iter = self._pcp(M, tol, rng, self.n_components)
        self._set_results(L, S, n_iter, s)

        return self._set_directions(U, s, Vt, X)

    def _set_results(self, L, S, n_iter, s):
        self.low_rank_ = L
        self.sparse_ = S
        self.outlier_mask_ = S != 0
        self.n_iter_ = n_iter
        self.rank_ = int(s.shape[0])

    def _set_directions(self, U, s, Vt, X):
        """Principal directions of the centred low-rank part ``L = U s Vt``.

        ``L - 1 mean^T`` is ``(U s - 1 mean(U s)^T) Vt``, whose SVD costs
        O(m r^2); returns the scores of ``L``. In ``X``'s namespace.
        """
        xp, _, device = get_namespace_and_device(X)
        m, n = X.shape
        Us = U * s
        row = xp.mean(Us, axis=0)
        self.mean_ = xp.astype(row @ Vt, X.dtype, copy=False)
        C = Us - row
        if C.shape[1] > 0:
            P, sc, Qt = xp.linalg.svd(C, full_matrices=False)
        else:
            zeros = partial(xp.zeros, dtype=X.dtype, device=device)
            P, sc, Qt = C, zeros(0), zeros((0, 0))
        cutoff = (float(sc[0]) if sc.shape[0] else 0.0) * max(m, n)
        keep = int(xp.count_nonzero(sc > cutoff * float(xp.finfo(X.dtype).eps)))
        if self.n_components is not None:
            keep = min(keep, self.n_components)
        components = Qt[:keep, :] @ Vt
        signs = flip_signs(components)
        self.components_ = xp.astype(components * signs[:, None], X.dtype, copy=False)
        self.singular_values_ = xp.astype(sc[:keep], X.dtype, copy=False)
        self.n_components_ = keep
        return xp.astype(P[:, :keep] * (sc[:keep] * signs), X.dtype, copy=False)

    def _svd(self, A, k, rng, V0, xp=None):
        if self.svd_solver == "full":
            U, s, Vt = (np if xp is None else xp).linalg.svd(A, full_matrices=False)
            return U[:, :k], s[:k], Vt[:k, :]
        n_iter = 1 if V0 is not None and V0.shape[0] > 0 else 2
        return _partial_svd(
            A,
            k,
            rng=rng,
            V0=V0,
            n_iter=n_iter,
            dense_ok=self.svd_solver == "auto",
            xp=xp,
        )

    def _pcp(self, M, tol, rng, max_rank=None, xp=None):
        # xp=None: numpy with the compiled elementwise steps, in place;
        # otherwise the same iterations in namespace xp, on M's device.
        nx = np if xp is None else xp
        m, n = M.shape
        dtype = M.dtype
        small = min(m, n)
        lam = self.lam if self.lam is not None else 1.0 / np.sqrt(max(m, n))
        if xp is None:
            zeros = partial(np.zeros, dtype=dtype)
            norm_fro = float(np.linalg.norm(M))
        else:
            zeros = partial(xp.zeros, dtype=dtype, device=array_device(M))
            norm_fro = float(xp.linalg.vector_norm(M))
            lam = float(lam)  # xp arrays take Python scalars, not numpy ones
        if norm_fro == 0:
            return (
                zeros((m, n)),
                zeros((m, n)),
                zeros((m, 0)),
                zeros(0),
                zeros((0, n)),
                0,
            )
        norm_two = _spectral_norm(M, rng, xp)
        norm_inf = float(nx.max(nx.abs(M))) / lam
        Y = M / max(norm_two, norm_inf)
        mu = self.mu if self.mu is not None else 1.25 / norm_two
        mu_bar = mu * 1e7
        L = zeros((m, n))
        # Buffers of the compiled steps (the xp steps return new arrays).
        S = np.empty_like(M) if xp is None else None
        A = np.empty_like(M) if xp is None else None
        U = zeros((m, 0))
        s = zeros(0)
        Vt = zeros((0, n))
        if max_rank is not None:
            small = min(small, max_rank)
        sv = min(10, small)
        step = max(1, round(0.05 * small))
        start = time.perf_counter()
        for it in range(1, self.max_iter + 1):
            S, A = _sparse_step(M, L, Y, 1.0 / mu, lam / mu, S, A, xp)
            thresh = 1.0 / mu
            # Singular value thresholding with a partial SVD of predicted rank:
            # enlarge the rank until a singular value below the threshold is
            # seen, so that the thresholding is exact.
            while True:
                Uk, sk, Vtk = self._svd(A, sv, rng, Vt, xp)
                if max_rank is not None and sk.shape[0] > max_rank:
                    Uk, sk, Vtk = Uk[:, :max_rank], sk[:max_rank], Vtk[:max_rank, :]
                svp = int((np if xp is None else xp).count_nonzero(sk > thresh))
                if svp < sv or sv >= small:
                    break
                sv = min(sv + step, small)
            U, s, Vt = Uk[:, :svp], sk[:svp] - thresh, Vtk[:svp, :]
            if xp is None:
                np.matmul(U * s, Vt, out=L)
            else:
                L = (U * s) @ Vt
            sv = min(svp + 1, small) if svp < sv else min(svp + step, small)
            Y, sq = _dual_step(M, L, S, Y, mu, xp)
            err = np.sqrt(sq) / norm_fro
            if self.verbose:
                print(
                    f"[RobustPCA] iter {it:4d}  rank {svp:4d}  "
                    f"residual {err:.3e}  elapsed {time.perf_counter() - start:.2f}s"
                )
            if err < tol:
                break
            mu = min(mu * self.rho, mu_bar)
        else:
            warnings.warn(
                f"RobustPCA did not converge in max_iter={self.max_iter} "
                f"iterations (residual {err:.2e} > tol={tol:.1e}).",
                ConvergenceWarning,
                stacklevel=3,
            )
        if xp is None:
            s = s.astype(dtype, copy=False)
        return L, S, U, s, Vt, it

    def _altproj(self, M, tol, rng, xp=None):
        """Stagewise alternating projections (AltProj, Netrapalli et al.).

        Stage k = 1..r: alternate L = P_k(M - S) and S = HT_zeta(M - L) with
        zeta = beta (sigma_{k+1} + 2^-t sigma_k) of M - S, where
        beta = 2 r / sqrt(m n) bounds the entries of an incoherent rank-r
        matrix relative to its spectral norm.
        """
        m, n = M.shape
        r = self.n_components
        dtype = M.dtype
        beta = 2.0 * r / np.sqrt(m * n)
        if xp is not None:
            beta = float(beta)  # xp arrays take Python scalars, not numpy ones
        sigma_top = _spectral_norm(M, rng, xp)
        floor = tol * sigma_top
        if xp is None:
            S = np.where(np.abs(M) > beta * sigma_top, M, 0).astype(dtype, copy=False)
            R = np.empty_like(M)
            Vt = np.zeros((0, n), dtype)
        else:
            S = xp.where(xp.abs(M) > beta * sigma_top, M, 0.0)
            Vt = xp.zeros((0, n), dtype=dtype, device=array_device(M))
        it = 0
        start = time.perf_counter()
        for k in range(1, r + 1):
            kk = min(k + 1, min(m, n))
            for t in range(self.max_iter):
                it += 1
                if xp is None:
                    np.subtract(M, S, out=R)
                else:
                    R = M - S
                Uk, sk, Vtk = self._svd(R, kk, rng, Vt, xp)
                U, s, Vt = Uk[:, :k], sk[:k], Vtk[:k, :]
                tail = float(sk[k]) if sk.size > k else 0.0
                L = (U * s) @ Vt
                zeta = beta * (tail + 0.5**t * float(s[-1]))
                if xp is None:
                    np.subtract(M, L, out=R)
                    S = np.where(np.abs(R) > zeta, R, 0).astype(dtype, copy=False)
                else:
                    R = M - L
                    S = xp.where(xp.abs(R) > zeta, R, 0.0)
                if self.verbose:
                    print(
                        f"[RobustPCA] stage {k:3d} iter {it:5d}  threshold "
                        f"{zeta:.3e}  elapsed {time.perf_counter() - start:.2f}s"
                    )
                # The stage is done once the decaying part of the threshold
                # is below its floor (the tail, or the tolerance).
                if 0.5**t * float(s[-1]) <= max(tail, floor if k == r else 0):
                    if k < r or 0.5**t * float(s[-1]) <= floor:
                        break
                if it >= self.max_iter:
                    break
            if it >= self.max_iter or beta * tail <= floor / max(m, n):
                break
        if it >= self.max_iter:
            warnings.warn(
                f"RobustPCA did not converge in max_iter={self.max_iter} "
                f"iterations (threshold {zeta:.2e}).",
                ConvergenceWarning,
                stacklevel=3,
            )
        nx = np if xp is None else xp
        cutoff = (float(s[0]) if s.shape[0] else 0.0) * max(m, n) * nx.finfo(dtype).eps
        keep = int(nx.count_nonzero(s > cutoff))
        return L, S, U[:, :keep], s[:keep], Vt[:keep, :], it
