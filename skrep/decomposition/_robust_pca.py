"""Robust PCA as a low-rank plus sparse decomposition (principal component pursuit).

``RobustPCA`` splits a data matrix ``M = L + S`` into a low-rank part ``L``
and a sparse part ``S`` of gross, entrywise corruptions, by the inexact
augmented Lagrangian method of Lin, Chen & Ma (method ``"pcp"``; with dense
noise, stable PCP: method ``"stable"``), or with a fixed rank by non-convex
alternating projections (method ``"altproj"``) or by the ALM iterations with
a rank cap (method ``"fixed_rank"``). NaN entries are unobserved; new rows
are split by an l1 regression on the fitted components.
"""

import time
import warnings
from functools import partial
from numbers import Integral, Real

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import validate_data

from skrep.decomposition._base import (
    _SparseRowSubspace,
    check_observed,
    check_representable,
)
from skrep.utils._array_api import get_namespace_and_device, to_namespace
from skrep.utils._compat import Interval, StrOptions, _fit_context, _median
from skrep.utils._compat import device as array_device
from skrep.utils._threads import (
    KERNEL_MIN_WORK,
    map_threads,
    thread_count,
    threads_for,
    worthwhile_threads,
)
from skrep.utils._verbose import Progress
from skrep.utils.extmath import flip_signs, orthonormalize, unit_scale
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
    omega_t = to_namespace(np.ascontiguousarray(omega.T), xp, device)
    if V0 is not None and V0.shape[0] > 0:
        r = min(V0.shape[0], width)
        omega_t = xp.concat([V0[:r, :], omega_t[r:, :]], axis=0)
    # The products with the thin block on the left, A X as (X^T A^T)^T and
    # A^T Q as (Q^T A)^T: OpenBLAS runs them 1.5-3 times faster than with A
    # on the left (3,000 x 600 times 600 x 15: 2.0 ms against 3.4 ms).
    Q = orthonormalize((omega_t @ A.T).T)
    for _ in range(n_iter):
        P = orthonormalize((Q.T @ A).T)
        Q = orthonormalize((P.T @ A.T).T)
    Ub, s, Vt = xp.linalg.svd(Q.T @ A, full_matrices=False)
    return (Q @ Ub)[:, :k], s[:k], Vt[:k, :]


def _spectral_norm(A, rng, xp=None):
    """Largest singular value of ``A`` (converged subspace iteration), and
    the top right singular vectors found on the way (None if by a dense
    SVD): they start PCP's first partial SVD."""
    if min(A.shape) <= 50:
        return float((np if xp is None else xp).linalg.svdvals(A)[0]), None
    _, s, Vt = _partial_svd(A, 8, rng=rng, n_oversamples=0, n_iter=4, xp=xp)
    return float(s[0]), Vt


def _row_blocks(m, n, n_jobs, ops):
    """Row slices for the elementwise steps: one per thread that pays.

    numpy releases the GIL in its ufunc loops, so the steps run on blocks of
    rows in threads when each gets :data:`KERNEL_MIN_WORK` entry operations
    (a few ms); below that (3,000 x 600 has 1.8e6 entries), one block.
    """
    work = m * n * ops
    # (Only work that could keep two threads busy asks BLAS for its count.)
    k = (
        worthwhile_threads(work, thread_count(n_jobs))
        if work >= 2 * KERNEL_MIN_WORK
        else 1
    )
    bounds = np.linspace(0, m, k + 1).astype(int)
    return [slice(lo, hi) for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)]


def _in_blocks(step, blocks, n_jobs, *args):
    """``step(*args)`` on the row ``blocks`` of its array arguments."""
    if len(blocks) == 1:
        return [step(*args)]

    def block(rows):
        return step(*(a[rows] if isinstance(a, np.ndarray) else a for a in args))

    return map_threads(block, blocks, n_jobs)


def _sparse_step(MZ, W, L, threshold, observed, T, A):
    """``T = MZ + W - L`` and ``A = L + clip(T, +-threshold)``, in place.

    With ``W = Y / mu`` (the scaled dual variable), the sparse part is the
    soft-thresholding of ``T``, ``S = T - clip(T)`` (exactly 0 where
    ``|T| <= threshold``), so ``A = MZ - S + W`` is the matrix whose
    singular values are thresholded next. On unobserved entries
    (``observed`` False) ``S`` is free, ``S = T``: ``A = L`` there. Four
    numpy passes (five with a mask).
    """
    np.add(MZ, W, out=T)
    np.subtract(T, L, out=T)
    np.clip(T, -threshold, threshold, out=A)
    if observed is not None:
        np.multiply(A, observed, out=A)
    np.add(A, L, out=A)


def _dual_step(A, L, W, factor, dZ):
    """Dual ascent of the inexact ALM with ``W = Y / mu``, in place.

    ``A - L`` (into ``A``), less ``dZ`` (the change of the noise block of
    stable PCP; None otherwise), is ``W + R`` with ``R = MZ - L - S`` the
    primal residual; the next ``W = Y_next / mu_next`` is ``W + R`` times
    ``factor = mu / mu_next``. Returns ``||R||_F ** 2``. Four numpy passes.
    """
    np.subtract(A, L, out=A)
    if dZ is not None:
        np.subtract(A, dZ, out=A)
    np.subtract(A, W, out=W)  # R, for its norm
    flat = W.reshape(-1)
    sq = float(flat @ flat)
    np.multiply(A, factor, out=W)
    return sq


def _soft_part(T, threshold, observed, xp=None, *, overwrite=False):
    """The sparse part ``S = T - clip(T, +-threshold)`` (``S = T`` off the mask).

    numpy with ``overwrite``: computed in ``T``'s own memory.
    """
    if xp is None:
        C = np.clip(T, -threshold, threshold)
        if observed is not None:
            np.multiply(C, observed, out=C)
        return np.subtract(T, C, out=T if overwrite else None)
    C = xp.clip(T, -threshold, threshold)
    if observed is not None:
        C = xp.where(observed, C, 0.0)
    return T - C


class RobustPCA(_SparseRowSubspace):
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

    With dense noise on every entry, PCP fits the noise (its rank grows to a
    large fraction of min(m, n)). ``method="stable"`` solves stable PCP
    (Zhou et al.),

    .. math:: \\min_{L, S} \\|L\\|_* + \\lambda \\|S\\|_1
              \\quad \\text{s.t.} \\quad \\|X - L - S\\|_F \\le \\delta,

    by the same ALM with a third block, the noise ``Z``, projected on the
    ball of radius ``delta`` each iteration. By default ``delta = sigma
    sqrt(N + sqrt(8 N))`` (Zhou et al.'s bound for N entries of noise of
    level ``sigma``), with ``sigma`` read off the path of plain PCP: while
    PCP's threshold is above the noise, the residual ``X - L`` is the noise
    plus the few gross entries, and its normalised MAD stays flat; the
    estimate is the MAD at the flattest step. Singular values of ``L``
    below the spectral norm of the noise, ``sigma (sqrt(m) + sqrt(n))``, are
    dropped.

    **Missing entries.** NaN marks an unobserved entry: PCP is solved on the
    observed entries only (Candès et al., sec. 1.6; in the ALM, ``S`` is
    free on the unobserved entries, so the low-rank part fills them in),
    likewise the stable and fixed-rank variants; AltProj fills the
    unobserved entries of ``X - S`` with its current ``L``. ``low_rank_`` is
    complete; ``sparse_`` is NaN where ``X`` is.

    **New rows.** The principal directions are those of the recovered
    low-rank part: ``components_`` are the right singular vectors of
    ``L - mean_``. ``transform`` splits each new row into a part in that row
    space and a sparse part by an l1 regression on the components (least
    absolute deviations, vectorised over rows by an inexact ALM, NaN entries
    ignored): it returns the robust coordinates, ``inverse_transform`` of
    them the clean row, and :meth:`decompose` both parts. A few gross
    entries of a row leave its coordinates unchanged, where a least-squares
    projection would spread each of them over the whole row.

    CuPy (GPU) and other array-API inputs are supported with
    ``sklearn.set_config(array_api_dispatch=True)``: see Notes.

    **Scale.** PCP and its variants are equivariant to the scale of ``X``
    (``c X`` gives ``c L`` and ``c S``): the fit runs on ``X`` divided by a
    power of two near its largest entry (exact), and the results are mapped
    back, so entries of 1e-200 or 1e200 are decomposed as entries of 1 are;
    ``transform`` does the same row by row. A result that overflows the
    input's dtype (the singular values of float32 entries near its largest
    value) is refused with a ``ValueError``.

    Peak memory of ``fit``: about five float arrays of the shape of ``X``
    (the data in its units, L, the scaled dual variable, the matrix whose
    singular values are thresholded and the one whose shrinkage is S; L and
    S are returned) plus O((m + n) r); the full SVD of an m x n matrix is
    never computed unless the rank grows to a sizeable fraction of
    min(m, n). The steps are numpy passes (no compiled kernel: a first fit
    does not wait for numba to load).

    Read more in the :ref:`User Guide <decomposition>`.

    Parameters
    ----------
    method : {"pcp", "stable", "fixed_rank", "altproj"}, default="pcp"
        ``"pcp"``: principal component pursuit by inexact ALM (convex; the
        rank is found by the method). ``"stable"``: stable PCP, for data
        with dense noise besides the gross entries. ``"fixed_rank"``: the
        same iterations with the rank of ``L`` capped at ``n_components``.
        ``"altproj"``: non-convex alternating projections of rank
        ``n_components``. The last two are non-convex and need
        ``n_components``.
    n_components : int, default=None
        With ``"pcp"``: keep at most this many components for ``transform``
        (None keeps the recovered rank). With ``"fixed_rank"`` and
        ``"altproj"``: the (largest) rank of the low-rank part (required).
    lam : float, default=None
        Weight of the l1 norm of ``S``. None means ``1 / sqrt(max(m, n))``.
        ``lam``, ``mu`` and ``rho`` are not used by ``"altproj"``.
    delta : float, default=None
        Bound on the Frobenius norm of the dense noise, ``"stable"`` only.
        None estimates it from the data (see above).
    mu : float, default=None
        Initial penalty of the augmented Lagrangian. None means
        ``1.25 / ||X||_2``; it grows by ``rho`` each iteration up to ``1e7``
        times its initial value.
    rho : float, default=1.5
        Growth factor of the penalty ``mu``.
    tol : float, default=1e-7
        Stop when ``||X - L - S||_F / ||X||_F < tol`` (``"stable"``: less the
        noise block; ``"altproj"``: when the threshold falls below
        ``tol * ||X||_2``). For float32 input the tolerance is at least
        ``10 * eps(float32)``. New rows: ``tol / 10`` relative to each row.
    max_iter : int, default=1000
        Maximum number of iterations (of the fit, and of the l1 regression
        of new rows).
    svd_solver : {"auto", "randomized", "full"}, default="auto"
        Partial SVD by a warm-started randomized range finder, or a dense
        LAPACK SVD at every iteration. ``"auto"`` uses the randomized solver
        and switches to the dense one while the predicted rank is large.
    random_state : int, RandomState instance or None, default=None
        Seeds the Gaussian starting blocks of the randomized SVD.
    verbose : int, default=0
        Print one line per iteration (:mod:`skrep.utils._verbose` format):
        the relative residual and the rank of ``L`` (``"altproj"``: the
        threshold and the stage), and the seconds since ``fit`` started.
        ``"stable"`` with ``delta=None`` first prints the lines of its
        pilot PCP run (``pilot i``), then those of the stable PCP.
    n_jobs : int, default=None
        Threads of the elementwise steps (numpy ufuncs on blocks of rows,
        once each thread gets about 1e7 entry operations; None: BLAS's
        thread count).

    Attributes
    ----------
    low_rank_ : ndarray of shape (n_samples, n_features)
        The low-rank part ``L`` of the training data (also on the entries
        that were NaN).
    sparse_ : ndarray of shape (n_samples, n_features)
        The sparse part ``S`` (NaN where ``X`` is NaN).
    outlier_mask_ : ndarray of shape (n_samples, n_features), dtype=bool
        Observed entries flagged as corrupted (``S != 0``).
    delta_ : float
        The noise bound used (``method="stable"`` only).
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
        Number of iterations run (at most ``max_iter``; ``"stable"``: of
        the stable PCP, after the pilot run that estimates ``delta``).
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
    ``(L - mean_) @ components_.T``, while ``transform(X)`` is the l1
    regression of the rows of ``X`` themselves: the two agree where PCP's
    ``S`` is sparse enough for the l1 regression, and differ otherwise.
    The l1 regression of new rows costs O(n_features n_components) per row
    and iteration, and about five arrays of the shape of the rows.

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
    .. [4] Z. Zhou, X. Li, J. Wright, E. Candès and Y. Ma, "Stable principal
       component pursuit", IEEE ISIT 2010.

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

    New rows with gross entries, and with a missing entry (NaN):

    >>> x = L[:1] + 0.0
    >>> x[0, :5] += 10.0
    >>> x[0, 7] = np.nan
    >>> low_rank, sparse = rpca.decompose(x)
    >>> bool(np.allclose(low_rank, L[:1], atol=1e-5))
    True
    >>> np.round(sparse[0, :8], 3)
    array([10., 10., 10., 10., 10.,  0.,  0., nan])
    """

    _parameter_constraints: dict = {
        "method": [StrOptions({"pcp", "stable", "fixed_rank", "altproj"})],
        "n_components": [Interval(Integral, 1, None, closed="left"), None],
        "lam": [Interval(Real, 0, None, closed="neither"), None],
        "delta": [Interval(Real, 0, None, closed="left"), None],
        "mu": [Interval(Real, 0, None, closed="neither"), None],
        "rho": [Interval(Real, 1, None, closed="neither")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "svd_solver": [StrOptions({"auto", "randomized", "full"})],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "n_jobs": [Interval(Integral, None, None, closed="neither"), None],
    }

    def __init__(
        self,
        method="pcp",
        *,
        n_components=None,
        lam=None,
        delta=None,
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
        self.delta = delta
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
        X = validate_data(
            self,
            X,
            dtype=[xp.float64, xp.float32],
            copy=False,
            ensure_all_finite="allow-nan",
        )
        m, n = X.shape
        if self.n_components is not None:
            check_n_components(self.n_components, X)
        if self.method in ("fixed_rank", "altproj") and self.n_components is None:
            raise ValueError(
                f"method={self.method!r} fits a low-rank part of fixed rank: set "
                "n_components to that rank."
            )
        fixed = self.method in ("fixed_rank", "altproj")
        observed = check_observed(X, xp, rank=self.n_components if fixed else 1)
        if observed is not None:
            X = xp.where(observed, X, 0.0)
        # PCP and its variants are equivariant to the scale of X (L(cX) =
        # c L(X), likewise S, with mu and delta in the units of X): compute
        # in units of its largest entry, where norms neither overflow nor
        # underflow (1e-200 or 1e200 alike), and map back.
        unit = unit_scale(X, xp)
        if unit != 1.0:
            X = X / unit
        rng = check_random_state(self.random_state)
        tol = self.tol
        if X.dtype == xp.float32:
            tol = max(tol, 10 * xp.finfo(X.dtype).eps)
        if not is_array_api:
            X = np.ascontiguousarray(X)
        nxp = xp if is_array_api else None
        context = {"unit": unit, "start": time.perf_counter()}
        # Threads only where they pay: iris-sized fits run on one thread.
        with threads_for(blas_work=4.0 * m * n * min(m, n)):
            if self.method == "altproj":
                L, S, U, s, Vt, n_iter = self._altproj(
                    X, tol, rng, observed, xp=nxp, **context
                )
            elif self.method == "stable":
                L, S, U, s, Vt, n_iter = self._stable_pcp(
                    X, tol, rng, observed, nxp, **context
                )
            else:
                max_rank = None if self.method == "pcp" else self.n_components
                L, S, U, s, Vt, n_iter = self._pcp(
                    X, tol, rng, max_rank, observed=observed, xp=nxp, **context
                )[:6]
            self._set_results(L, S, n_iter, s, observed, xp)
            scores = self._set_directions(U, s, Vt, X)
        if unit != 1.0:  # back to the units of X
            with np.errstate(over="ignore"):
                scores = scores * unit
                for name in ("low_rank_", "sparse_", "mean_", "singular_values_"):
                    setattr(self, name, getattr(self, name) * unit)
            for what, result in (
                ("The low-rank part of X", self.low_rank_),
                ("The singular values of X", self.singular_values_),
                ("The scores of X", scores),
            ):
                check_representable(result, xp, what)
        return scores

    def _set_results(self, L, S, n_iter, s, observed, xp):
        self.low_rank_ = L
        self.outlier_mask_ = S != 0
        if observed is not None:
            self.outlier_mask_ = xp.logical_and(self.outlier_mask_, observed)
            S = xp.where(observed, S, xp.nan)
        self.sparse_ = S
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

    def _svd(self, A, k, rng, V0, xp=None, steady=False):
        """Top-``k`` SVD of ``A``: two power iterations from a Gaussian
        start, one when warm started from ``V0``, none (and 5 oversampling
        columns instead of 10) when ``V0`` is nearly the subspace sought
        (``steady``: the rank stopped changing, ``V0`` came from a full
        range finder of a larger rank, or from the spectral norm's
        converged vectors), where the Rayleigh-Ritz step alone is exact
        enough."""
        if self.svd_solver == "full":
            U, s, Vt = (np if xp is None else xp).linalg.svd(A, full_matrices=False)
            return U[:, :k], s[:k], Vt[:k, :]
        if V0 is None or V0.shape[0] == 0:
            n_iter = 2
        else:
            n_iter = 0 if steady else 1
        return _partial_svd(
            A,
            k,
            rng=rng,
            V0=V0,
            n_iter=n_iter,
            n_oversamples=5 if steady else 10,
            dense_ok=self.svd_solver == "auto",
            xp=xp,
        )

    def _pcp(
        self,
        M,
        tol,
        rng,
        max_rank=None,
        *,
        observed=None,
        delta=None,
        pilot=False,
        xp=None,
        unit=1.0,
        start=None,
    ):
        """Inexact ALM of PCP (masked, and stable with ``delta``).

        ``M`` is zero on unobserved entries. With ``delta`` it solves stable
        PCP, ``||M - L - S||_F <= delta``, with a third block ``Z`` (the
        dense noise) projected on that ball each iteration. With ``pilot``
        it runs plain PCP only while its path is informative about the noise
        and returns the noise level as a seventh value (see
        ``_noise_level``). ``M`` and ``delta`` are in units of ``unit``
        times those of ``X`` (``mu`` is given in the units of ``X``);
        progress lines count the seconds from ``start``.
        """
        # xp=None: numpy, the elementwise steps in place in buffers;
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
            empty = (zeros((m, n)), zeros((m, n)), zeros((m, 0)), zeros(0))
            return (*empty, zeros((0, n)), 0, 0.0)
        norm_two, V_top = _spectral_norm(M, rng, xp)
        norm_inf = float(nx.max(nx.abs(M))) / lam
        mu = self.mu * unit if self.mu is not None else 1.25 / norm_two
        mu_bar = mu * 1e7
        # The scaled dual variable W = Y / mu, from Y = M / max(norm_two,
        # norm_inf); with it each step is a few passes of ufuncs.
        W = M * (1.0 / (max(norm_two, norm_inf) * mu))
        L = zeros((m, n))
        if xp is None:
            # Buffers: T = M - L + W (the sparse part is its shrinkage) and
            # A, the matrix whose singular values are thresholded.
            T, A = np.empty_like(M), np.empty_like(M)
            blocks = _row_blocks(m, n, self.n_jobs, 4)
        MZ = M  # M - Z, the data less the noise block (stable PCP)
        Z = None
        U = zeros((m, 0))
        s = zeros(0)
        Vt = zeros((0, n))
        if max_rank is not None:
            small = min(small, max_rank)
        sv = min(10, small)
        step = max(1, round(0.05 * small))
        noise = _NoisePath(observed, nx) if pilot else None
        # steady: the warm start holds the subspace sought (the rank of L
        # did not change, or the last SVD was a full range finder of a larger
        # rank; first, the spectral norm's converged top vectors).
        steady = V_top is not None
        V_warm = Vt if V_top is None else V_top
        progress = Progress(
            "RobustPCA",
            self.verbose,
            unit="pilot" if pilot else "iter",
            total=self.max_iter,
            start=start,
        )
        for it in range(1, self.max_iter + 1):
            shrink = lam / mu
            if xp is None:
                _in_blocks(
                    _sparse_step, blocks, self.n_jobs, MZ, W, L, shrink, observed, T, A
                )
            else:
                T = MZ + W - L
                A = MZ + W - _soft_part(T, shrink, observed, xp)
            thresh = 1.0 / mu
            # Singular value thresholding with a partial SVD of predicted rank:
            # enlarge the rank until a singular value below the threshold is
            # seen, so that the thresholding is exact.
            grew = False
            while True:
                Uk, sk, Vtk = self._svd(A, sv, rng, V_warm, xp, steady)
                if max_rank is not None and sk.shape[0] > max_rank:
                    Uk, sk, Vtk = Uk[:, :max_rank], sk[:max_rank], Vtk[:max_rank, :]
                svp = int(nx.count_nonzero(sk > thresh))
                if svp < sv or sv >= small:
                    break
                sv = min(sv + step, small)
                # The rank grew: a full range finder, from what was found.
                steady, V_warm, grew = False, Vtk, True
            steady = svp == s.shape[0] or grew
            V_warm = Vtk  # all the vectors computed start the next SVD
            U, s, Vt = Uk[:, :svp], sk[:svp] - thresh, Vtk[:svp, :]
            if xp is None:
                np.matmul(U * s, Vt, out=L)
            else:
                L = (U * s) @ Vt
            sv = min(svp + 1, small) if svp < sv else min(svp + step, small)
            dZ = None
            # Z = projection of M - L - S + Y / mu = Z + A - L on the ball
            # ||Z|| <= delta.
            if delta is not None and xp is None:
                # In place in two buffers: spare takes the new Z, Z the step
                # dZ = new - old; then they swap.
                if Z is None:
                    Z, spare, MZ = zeros((m, n)), np.empty_like(M), np.empty_like(M)
                np.subtract(A, L, out=spare)
                np.add(Z, spare, out=spare)
                if observed is not None:
                    np.multiply(spare, observed, out=spare)
                norm_z = float(np.linalg.norm(spare))
                spare *= min(1.0, delta / norm_z) if norm_z > 0 else 0.0
                np.subtract(spare, Z, out=Z)
                Z, spare, dZ = spare, Z, Z
                np.subtract(M, Z, out=MZ)
            elif delta is not None:
                Z_new = A - L if Z is None else Z + (A - L)
                if observed is not None:
                    Z_new = xp.where(observed, Z_new, 0.0)
                norm_z = float(xp.linalg.vector_norm(Z_new))
                Z_new = Z_new * (min(1.0, delta / norm_z) if norm_z > 0 else 0.0)
                dZ = Z_new if Z is None else Z_new - Z
                Z, MZ = Z_new, M - Z_new
            mu_next = min(mu * self.rho, mu_bar)
            if xp is None:
                blocks_sq = _in_blocks(
                    _dual_step, blocks, self.n_jobs, A, L, W, mu / mu_next, dZ
                )
                sq = sum(blocks_sq)
            else:
                D = A - L if dZ is None else A - L - dZ
                R = D - W
                W, sq = (mu / mu_next) * D, float(xp.sum(R * R))
            err = np.sqrt(sq) / norm_fro
            progress(it, residual=err, rank=svp)
            if err < tol or (
                noise is not None
                and noise.update(M, L, _soft_part(T, shrink, observed, xp), svp)
            ):
                break
            mu = mu_next
        else:
            if not pilot:
                warnings.warn(
                    f"RobustPCA did not converge in max_iter={self.max_iter} "
                    f"iterations (residual {err:.2e} > tol={tol:.1e}).",
                    ConvergenceWarning,
                    stacklevel=4,
                )
        S = _soft_part(T, shrink, observed, xp, overwrite=True)
        if xp is None:
            s = s.astype(dtype, copy=False)
        return L, S, U, s, Vt, it, noise.sigma if pilot else 0.0

    def _stable_pcp(self, M, tol, rng, observed, xp, unit=1.0, start=None):
        """Stable PCP (Zhou et al.): ``delta`` given, or from the noise level.

        The estimated noise level ``sigma`` sets ``delta = sigma sqrt(N +
        sqrt(8 N))`` (N observed entries), Zhou et al.'s bound on the norm
        of the noise. Singular values of ``L`` below the spectral norm of
        the noise, ``sigma (sqrt(m) + sqrt(n))``, are dropped: no direction
        that weak can be told from the noise. ``M`` is in units of ``unit``
        times those of ``X``, ``delta_`` in those of ``X``.
        """
        m, n = M.shape
        nx = np if xp is None else xp
        N = m * n if observed is None else int(nx.count_nonzero(observed))
        context = {"xp": xp, "unit": unit, "start": start}
        if self.delta is None:
            sigma = self._pcp(M, tol, rng, observed=observed, pilot=True, **context)[6]
            delta = sigma * np.sqrt(N + np.sqrt(8 * N))
        else:
            delta = float(self.delta) / unit
            sigma = delta / np.sqrt(N + np.sqrt(8 * N))
        self.delta_ = float(delta) * unit
        L, S, U, s, Vt, n_iter, _ = self._pcp(
            M, tol, rng, observed=observed, delta=float(delta), **context
        )
        keep = int(nx.count_nonzero(s > float(sigma * (np.sqrt(m) + np.sqrt(n)))))
        if keep < s.shape[0]:
            U, s, Vt = U[:, :keep], s[:keep], Vt[:keep, :]
            L = (U * s) @ Vt
        return L, S, U, s, Vt, n_iter

    def _altproj(self, M, tol, rng, observed=None, xp=None, unit=1.0, start=None):
        """Stagewise alternating projections (AltProj, Netrapalli et al.).

        Stage k = 1..r: alternate L = P_k(M - S) and S = HT_zeta(M - L) with
        zeta = beta (sigma_{k+1} + 2^-t sigma_k) of M - S, where
        beta = 2 r / sqrt(m n) bounds the entries of an incoherent rank-r
        matrix relative to its spectral norm. Unobserved entries of M - S
        take the current L (``M`` is zero there), and S is zero there.
        ``M`` is in units of ``unit`` times those of ``X``.
        """
        m, n = M.shape
        r = self.n_components
        dtype = M.dtype
        nx = np if xp is None else xp
        beta = 2.0 * r / np.sqrt(m * n)
        if xp is not None:
            beta = float(beta)  # xp arrays take Python scalars, not numpy ones
        sigma_top = _spectral_norm(M, rng, xp)[0]
        floor = tol * sigma_top
        if xp is None:
            S = np.where(np.abs(M) > beta * sigma_top, M, 0).astype(dtype, copy=False)
            R = np.empty_like(M)
            Vt = np.zeros((0, n), dtype)
        else:
            S = xp.where(xp.abs(M) > beta * sigma_top, M, 0.0)
            Vt = xp.zeros((0, n), dtype=dtype, device=array_device(M))
        L = None
        it = 0
        progress = Progress("RobustPCA", self.verbose, total=self.max_iter, start=start)
        for k in range(1, r + 1):
            kk = min(k + 1, min(m, n))
            for t in range(self.max_iter):
                it += 1
                if xp is None:
                    np.subtract(M, S, out=R)
                else:
                    R = M - S
                if observed is not None and L is not None:
                    R = nx.where(observed, R, L)
                Uk, sk, Vtk = self._svd(R, kk, rng, Vt, xp)
                U, s, Vt = Uk[:, :k], sk[:k], Vtk[:k, :]
                tail = float(sk[k]) if sk.shape[0] > k else 0.0
                L = (U * s) @ Vt
                zeta = beta * (tail + 0.5**t * float(s[-1]))
                if xp is None:
                    np.subtract(M, L, out=R)
                    S = np.where(np.abs(R) > zeta, R, 0).astype(dtype, copy=False)
                else:
                    R = M - L
                    S = xp.where(xp.abs(R) > zeta, R, 0.0)
                if observed is not None:
                    S = nx.where(observed, S, 0.0)
                progress(it, threshold=zeta * unit, stage=k)
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
                stacklevel=4,
            )
        cutoff = (float(s[0]) if s.shape[0] else 0.0) * max(m, n) * nx.finfo(dtype).eps
        keep = int(nx.count_nonzero(s > cutoff))
        return L, S, U[:, :keep], s[:keep], Vt[:keep, :], it


class _NoisePath:
    """Noise level read off the path of plain PCP's inexact ALM.

    While PCP's singular value threshold ``1 / mu`` is above the spectral
    norm of dense noise, ``L`` has the rank of the signal, ``S`` the gross
    entries, and the residual ``M - L`` on the observed entries is the noise
    plus those few gross entries: its normalised median absolute value
    (1.4826 MAD) is the noise level, and it barely changes from one
    iteration to the next. Once the threshold falls into the noise, ``S``
    and ``L`` start fitting it, and the MAD falls. The estimate is the MAD
    at the flattest step of that path (the smallest relative change between
    two iterations with ``L != 0``, if under 10 %; otherwise the last MAD,
    which falls to zero on noise-free data); the path stops once the fraction
    of entries in ``S`` exceeds twice its smallest value plus 1 %.
    """

    def __init__(self, observed, xp):
        self.observed = observed
        self.xp = xp
        self.sigma = self.plateau = 0.0
        self.best = np.inf
        self.previous = None
        self.min_fraction = np.inf

    def update(self, M, L, S, rank):
        """Record one iteration; True when the path stops being informative."""
        xp = self.xp
        R = xp.abs(M - L)
        nonzero = S != 0
        if self.observed is not None:
            R = R[self.observed]
            nonzero = nonzero[self.observed]
        if rank == 0:
            return False
        mad = 1.4826 * float(_median(R, xp=xp))
        fraction = float(xp.mean(xp.astype(nonzero, R.dtype)))
        if self.previous is not None and mad > 0 and self.previous > 0:
            change = abs(np.log(mad / self.previous))
            if change < self.best:
                self.best, self.plateau = change, mad
        self.previous = mad
        # No flat step (under 10 % change): noise-free data, where the MAD
        # falls with the threshold down to PCP's solution.
        self.sigma = self.plateau if self.best < 0.1 else mad
        self.min_fraction = min(self.min_fraction, fraction)
        return fraction > 2 * self.min_fraction + 0.01
