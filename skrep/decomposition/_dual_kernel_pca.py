"""Kernel PCA by dualization, with robust and sparse losses.

``DualKernelPCA`` solves kernel PCA through the difference-of-convex dual of
Tonin, Lambert, Patrinos & Suykens (ICML 2023): with ``G`` the centred Gram
matrix and ``H`` an ``n x s`` matrix of dual variables, it minimises

    f(H) = g*(H) - sum_i sqrt(lambda_i(H^T G H)),

where ``g*(H) = ||H||_F^2 / 2`` for the squared loss (classical kernel PCA),
plus the indicator of ``||H_i|| <= kappa`` on every row for the Huber-type
loss (each sample's influence is capped) or plus ``epsilon * sum_i ||H_i||``
for the epsilon-insensitive loss (whole rows vanish: a sparse kernel
expansion). Only products of ``G`` with thin blocks are ever needed, and they
are computed from row blocks of the kernel matrix, so the ``n x n`` Gram
matrix is never required.
"""

import functools
import time
import types
import warnings
from numbers import Integral, Real

import numpy as np
from scipy import sparse
from sklearn import get_config
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
)
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.metrics.pairwise import pairwise_kernels
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from skrep.utils._array_api import (
    get_namespace_and_device,
    is_numpy_namespace,
    to_namespace,
    to_numpy,
)
from skrep.utils._compat import (
    Interval,
    StrOptions,
    _fit_context,
    _median,
    check_same_namespace,
    supported_float_dtypes,
)
from skrep.utils._threads import (
    BLAS_MIN_WORK,
    map_threads,
    thread_count,
    threads_for,
    worthwhile_threads,
)
from skrep.utils._verbose import Progress
from skrep.utils.extmath import flip_signs, orthonormalize, unit_scale
from skrep.utils.validation import check_n_components

__all__ = ["DualKernelPCA"]

_KERNELS = {"rbf", "poly", "polynomial", "linear", "laplacian", "cosine", "sigmoid"}


_INNER_PRODUCT_KERNELS = {"rbf", "linear", "poly", "polynomial", "sigmoid", "cosine"}


class _KernelTiles:
    """Tiles ``k(X[i0:i1], X[j0:j1])`` of the training kernel matrix.

    The kernels of inner products (rbf, linear, poly, sigmoid, cosine) take
    one matrix product per tile, finished in place on the tile while it is
    in cache (scikit-learn's kernels make a pass over the whole matrix per
    elementwise step); the others go through ``kernel``. Arrays of any
    array-API namespace ``xp``.
    """

    def __init__(self, estimator, kernel, X, xp):
        self.kernel, self.X, self.xp = kernel, X, xp
        name = estimator.kernel
        self.name = name if isinstance(name, str) else None
        if self.name not in _INNER_PRODUCT_KERNELS:
            self.name = None
        self.gamma = estimator.gamma_
        self.degree, self.coef0 = estimator.degree, estimator.coef0
        if self.name in {"rbf", "cosine"}:
            # Both are functions of the rows in units of their largest entry
            # (the rbf's gamma rescaled): products neither overflow nor
            # underflow.
            self.X, self.gamma = _unit_rows(X, self.gamma, xp)
            sq = _squared_norms(self.X, xp)
            if self.name == "rbf":
                self.sq = sq
            else:  # as scikit-learn's normalize: near-zero rows left as they are
                norm = xp.sqrt(sq)
                kept = norm < 10 * xp.finfo(X.dtype).eps
                self.inv_norm = 1.0 / xp.where(kept, xp.ones_like(norm), norm)

    def __call__(self, i0, i1, j0, j1):
        xp, X = self.xp, self.X
        if self.name is None:
            return self.kernel(X[i0:i1, :], X[j0:j1, :])
        P = X[i0:i1, :] @ X[j0:j1, :].T
        if sparse.issparse(P):  # sparse X: the tile is dense
            P = P.toarray()
        if self.name == "rbf":
            return _rbf_from_products(P, self.sq[i0:i1], self.sq[j0:j1], self.gamma, xp)
        if self.name == "cosine":
            P *= self.inv_norm[i0:i1, None]
            P *= self.inv_norm[None, j0:j1]
        elif self.name != "linear":
            P *= self.gamma
            P += self.coef0
            P = xp.tanh(P) if self.name == "sigmoid" else xp.pow(P, self.degree)
        return P


class _CentredGram:
    """Products with the centred Gram matrix ``C K C`` (``C = I - 11^T / n``).

    ``C K C V = K (C V) - 1 m^T (C V)`` with ``m`` the column means of ``K``:
    the centred matrix is never formed. ``K`` is symmetric, so only its upper
    triangle is evaluated, by row panels, and each of its entries serves
    twice in a product. The upper triangle is kept in memory when it fits in
    scikit-learn's ``working_memory``; otherwise every product
    evaluates it again, tile by tile, in O(tile + n s) memory. A precomputed
    kernel matrix is used whole, as given. On NumPy, where tiles of the
    inner-product kernels are evaluated, ``n_jobs`` threads (default: BLAS's
    thread count) work on different row panels, each with a single-threaded
    BLAS.
    """

    def __init__(self, tiles, n, xp, device, dtype, n_jobs, *, K=None):
        self.tiles, self.n, self.n_jobs = tiles, n, n_jobs
        self.xp, self.device, self.dtype = xp, device, dtype
        numpy = is_numpy_namespace(xp)
        # Worker threads pay off where tiles are finished elementwise by
        # numpy (which releases the GIL); a Python callable holds it, and
        # other kernels go through scikit-learn's, which may be parallel.
        self.threads = numpy and tiles.name is not None
        budget = get_config()["working_memory"] * 2**20
        # On NumPy, tiles of 1 MiB in float64 stay in a core's cache while
        # the kernel is finished on them; a GPU wants few large launches.
        self.rows, self.cols = (128, 1024) if numpy else (2048, 8192)
        self.K, self.panels, self.trace = K, None, None
        if K is not None:
            sums = xp.sum(K, axis=0)
            self.trace = float(xp.linalg.trace(K))
        elif 4 * n * (n + self.rows) <= budget:
            self._building = [None] * len(range(0, n, self.rows))
            sums_and_diagonal = self._map_panels(self._store_panel, 2)
            sums = sums_and_diagonal[:, 0]
            self.trace = float(xp.sum(sums_and_diagonal[:, 1]))
            self.panels = self._building
            del self._building
        else:
            sums = None  # from the first product, in the same pass over the tiles
        self.streaming = K is None and self.panels is None
        self.col_mean = None if sums is None else sums / n
        self.mean = None if sums is None else float(xp.mean(self.col_mean))

    def _map_panels(self, func, width, threads=True):
        """Sum over the row panels of ``func(i0, i1, Y)``, which adds its
        panel's share into ``Y`` of shape (n, width). On NumPy the panels are
        shared among threads, each with its own ``Y`` (else they run in
        turn, with BLAS's own threads)."""
        xp, starts = self.xp, range(0, self.n, self.rows)
        threads = threads and self.threads
        # Interleaved: each thread gets long and short panels alike. Worker
        # threads only where each gets enough of the pass's 2 n^2 width
        # flops to pay for its start (issue 20's load benchmark).
        flops = 2.0 * self.n**2 * width
        n_threads = (
            min(
                len(starts),
                worthwhile_threads(flops, thread_count(self.n_jobs), BLAS_MIN_WORK),
            )
            if threads
            else 1
        )

        def work(first):
            Y = xp.zeros((self.n, width), dtype=self.dtype, device=self.device)
            for i0 in starts[first::n_threads]:
                func(i0, min(self.n, i0 + self.rows), Y)
            return Y

        parts = map_threads(work, range(n_threads), self.n_jobs)
        total = parts[0]
        for part in parts[1:]:
            total += part
        return total

    def _upper_tiles(self, i0, i1):
        """``(j0, j1, tile)``: the panel of rows ``i0:i1`` from column ``i0`` on."""
        if self.panels is not None:
            yield i0, self.n, self.panels[i0 // self.rows]
        else:
            yield from self._fresh_tiles(i0, i1)

    def _fresh_tiles(self, i0, i1):
        for j0 in range(i0, self.n, self.cols):
            j1 = min(self.n, j0 + self.cols)
            yield j0, j1, self.tiles(i0, i1, j0, j1)

    def _store_panel(self, i0, i1, Y):
        """Evaluate and keep a panel; add its share of the column sums into
        ``Y[:, 0]`` and its diagonal into ``Y[i0:i1, 1]``."""
        xp = self.xp
        panel = xp.empty((i1 - i0, self.n - i0), dtype=self.dtype, device=self.device)
        for j0, j1, T in self._fresh_tiles(i0, i1):
            panel[:, j0 - i0 : j1 - i0] = T
            Y[i0:i1, 0] += xp.sum(T, axis=1)
            lower = max(j0, i1)
            Y[lower:j1, 0] += xp.sum(T[:, lower - j0 :], axis=0)
        Y[i0:i1, 1] = xp.linalg.diagonal(panel[:, : i1 - i0])
        self._building[i0 // self.rows] = panel

    def _symmetric_product(self, V):
        """``K @ V`` from the upper triangle, each entry used twice."""

        def panel(i0, i1, Y):
            for j0, j1, T in self._upper_tiles(i0, i1):
                Y[i0:i1, :] += T @ V[j0:j1, :]
                lower = max(j0, i1)
                Y[lower:j1, :] += T[:, lower - j0 :].T @ V[i0:i1, :]

        # Stored panels: no elementwise work, only products, and BLAS's own
        # threads, still spinning after the caller's last product, would
        # fight worker threads for the cores.
        return self._map_panels(panel, V.shape[1], threads=self.panels is None)

    def __call__(self, V):
        """Return ``C K C @ V``."""
        xp = self.xp
        V = V - xp.mean(V, axis=0)
        if self.K is not None:
            KV = self.K @ V
        elif self.col_mean is None:
            ones = xp.ones((self.n, 1), dtype=V.dtype, device=self.device)
            KV = self._symmetric_product(xp.concat([V, ones], axis=1))
            self.col_mean = KV[:, -1] / self.n
            self.mean = float(xp.mean(self.col_mean))
            KV = KV[:, :-1]
        else:
            KV = self._symmetric_product(V)
        return KV - self.col_mean @ V


class _NystroemGram:
    """Products with ``Z Z^T``, the centred Nystroem approximation of ``C K C``.

    Arrays of any array-API namespace ``xp``; the landmarks are drawn on host
    from ``rng``.
    """

    streaming = False

    def __init__(self, kernel, X, n_landmarks, rng, xp, device):
        self.device = device
        self.dtype = X.dtype
        n = X.shape[0]
        m = min(n_landmarks, n)
        landmarks = np.sort(rng.choice(n, size=m, replace=False))
        self.landmarks = to_namespace(landmarks, xp, device, dtype=xp.int64)
        L = _take_rows(X, self.landmarks, xp)
        w, U = xp.linalg.eigh(_finite_kernel(kernel(L, L), xp))
        w_host = to_numpy(w, xp)
        keep = np.flatnonzero(w_host > max(w_host.max(), 0.0) * 1e-10)
        keep = to_namespace(keep, xp, device, dtype=xp.int64)
        self.map = xp.take(U, keep, axis=1) / xp.sqrt(xp.take(w, keep))
        Z = xp.empty((n, self.map.shape[1]), dtype=X.dtype, device=device)
        block = max(1, int(get_config()["working_memory"] * 2**20 // (8 * m * 2)))
        for start in range(0, n, block):
            stop = min(n, start + block)
            Z[start:stop, :] = kernel(X[start:stop, :], L) @ self.map
        self.z_mean = xp.mean(Z, axis=0)
        self.Z = Z - self.z_mean

    def __call__(self, V):
        return self.Z @ (self.Z.T @ V)


class _needs_fit_inverse_transform:
    """Decorate a method that exists only with ``fit_inverse_transform=True``.

    Otherwise looking it up raises ``NotFittedError`` (as scikit-learn's
    ``KernelPCA`` does when it is called); the error is also an
    ``AttributeError``, so ``hasattr`` is False. (scikit-learn's
    ``available_if`` would turn it into a plain ``AttributeError``.)
    """

    def __init__(self, method):
        self.method = method
        functools.update_wrapper(self, method)

    def __get__(self, estimator, owner=None):
        if estimator is None:
            return self.method
        if not estimator.fit_inverse_transform:
            raise NotFittedError(
                "The fit_inverse_transform parameter was not set to True when "
                "fitting, so the inverse transform is not available."
            )
        return types.MethodType(self.method, estimator)


class DualKernelPCA(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Kernel PCA by dualization, with squared, robust or sparse losses.

    Kernel PCA written as the dual of a difference of convex functions
    (Tonin et al., 2023) and solved with products of the centred Gram matrix
    and thin blocks only: a block Krylov method for the squared loss
    (classical kernel PCA, equal to the eigendecomposition of the centred
    Gram matrix), and the difference-of-convex algorithm (DCA) for the
    Moreau-envelope losses: ``"huber"`` caps each sample's dual row at norm
    ``kappa`` (robust to outlying samples), ``"epsilon_insensitive"``
    block-soft-thresholds the rows at ``epsilon`` (rows become exactly zero,
    so :meth:`transform` only evaluates the kernel at the support points).

    The kernel is centred in feature space without forming the centred
    matrix, and only the upper triangle of the symmetric kernel matrix is
    evaluated, in cache-sized tiles on ``n_jobs`` threads. It is kept (4 n^2
    bytes in float64, half of the whole matrix) when that fits in
    scikit-learn's ``working_memory``, otherwise re-evaluated by each
    product: memory is then O(n (d + s)) plus one tile per thread.
    ``solver="nystroem"`` uses O(n m) for ``m`` landmarks.

    Parameters
    ----------
    n_components : int or None, default=2
        Number of components ``s``; None keeps all the components of
        non-zero variance (``s = n_samples``, a dense eigendecomposition, as
        scikit-learn's ``KernelPCA``).
    kernel : {"rbf", "poly", "linear", "laplacian", "cosine", "sigmoid", \
            "precomputed"} or callable, default="rbf"
        The kernel. A callable takes two rows and returns a float.
    gamma : float, default=None
        Kernel coefficient of the rbf, laplacian, poly and sigmoid kernels;
        ``1 / n_features`` when None.
    degree : float, default=3
        Degree of the poly kernel.
    coef0 : float, default=1
        Independent term of the poly and sigmoid kernels.
    kernel_params : dict, default=None
        Parameters of a callable kernel.
    loss : {"squared", "huber", "epsilon_insensitive"}, default="squared"
        The loss whose Moreau envelope replaces the squared loss.
    loss_param : float or "auto", default="auto"
        ``kappa`` (the radius of each dual row) for ``"huber"``, ``epsilon``
        (the threshold of each dual row) for ``"epsilon_insensitive"``, in
        the units of the dual rows of the squared-loss solution (a row's
        norm is the length of its projection on the components in feature
        space). ``"auto"``: for ``"huber"``, the median plus 3 robust
        standard deviations (1.4826 median absolute deviations) of the rows'
        norms in feature space, ``||phi(x_i) - mean||``, so that only rows
        far outside the bulk are capped and clean data keep the squared
        loss's solution; for ``"epsilon_insensitive"``, the median norm of
        the dual rows (about half of the rows vanish). Ignored for the
        squared loss.
    solver : {"auto", "lanczos", "gradient", "nystroem"}, default="auto"
        ``"lanczos"``: restarted block Krylov with Rayleigh-Ritz (squared
        loss; for the other losses it gives the starting point);
        ``"gradient"``: the DCA iteration of the paper from a random start;
        ``"nystroem"``: the same solvers on a Nystroem approximation with
        ``n_landmarks`` landmarks (for very large n; the error against the
        exact solution is documented in the user guide). ``"auto"`` is
        ``"lanczos"`` then DCA for the robust and sparse losses.
    n_landmarks : int, default=1000
        Number of landmarks of ``solver="nystroem"``.
    fit_inverse_transform : bool, default=False
        Learn the pre-image map by kernel ridge regression, as scikit-learn's
        ``KernelPCA`` does (O(n^2) memory).
    remove_zero_eig : bool, default=False
        Drop the components of zero variance (so fewer than
        ``n_components`` may be kept); always done when ``n_components`` is
        None. Eigenvalues below ``1e-12`` of the largest (``2e-7`` for
        float32 data) count as zero, as in scikit-learn.
    alpha : float, default=1.0
        Ridge penalty of the pre-image map.
    max_iter : int, default=500
        Maximum number of Krylov restarts or DCA iterations.
    tol : float, default=1e-8
        Relative tolerance: Ritz residuals for the squared loss, decrease of
        the dual objective for the DCA.
    random_state : int, RandomState instance or None, default=None
        Seeds the starting block and the landmarks.
    n_jobs : int, default=None
        Threads evaluating the kernel matrix tile by tile (NumPy input and
        the rbf, linear, poly, sigmoid and cosine kernels; None uses as many
        as BLAS does); for the other kernels, and in :meth:`transform`,
        the number of jobs of scikit-learn's ``pairwise_kernels``.
    verbose : int, default=0
        When positive, print one line per Krylov restart (``restart``: the
        largest relative Ritz residual, the products with the Gram matrix)
        and per DCA iteration (``iter``: the dual objective and its
        decrease), with the elapsed time.

    Attributes
    ----------
    eigenvalues_ : ndarray of shape (n_components,)
        Variance of the centred training data (times n) along each
        component: the eigenvalues of the centred Gram matrix for the squared
        loss.
    dual_coef_ : ndarray of shape (n_support, n_components)
        Coefficients of each component on the support points:
        ``transform(X) = K_c(X, X_support) @ dual_coef_``.
    eigenvectors_ : ndarray of shape (n_samples, n_components)
        Unit-norm dual vectors (the eigenvectors of the centred Gram matrix
        for the squared loss).
    explained_variance_ratio_ : ndarray of shape (n_components,)
        ``eigenvalues_`` over the trace of the centred Gram matrix (the
        total variance); not available for ``solver="nystroem"`` where it is
        relative to the approximation.
    support_ : ndarray of shape (n_support,)
        Indices of the training rows with a non-zero dual row.
    n_support_ : int
        Number of support points (``n_samples`` unless the loss is
        epsilon-insensitive).
    X_fit_ : ndarray of shape (n_support, n_features)
        The support points (the landmarks for ``solver="nystroem"``).
    objective_ : float
        The final dual objective ``f(H)``.
    n_iter_ : int
        Number of DCA iterations (``iter`` lines with ``verbose``) when the
        DCA runs (a loss other than ``"squared"``, or
        ``solver="gradient"``), else of Krylov restarts (``restart``
        lines); at most ``max_iter``.
    gamma_ : float
        The kernel coefficient used.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when they are all strings.

    See Also
    --------
    sklearn.decomposition.KernelPCA : Kernel PCA by a full or ARPACK
        eigendecomposition of the materialised Gram matrix.

    Notes
    -----
    Array API: with ``sklearn.set_config(array_api_dispatch=True)`` and CuPy
    (or other array-API) input, :meth:`fit`, :meth:`transform` and
    :meth:`inverse_transform` run on the input's device: the kernels
    (scikit-learn's ``pairwise_kernels``), the row-blocked products with the centred
    Gram matrix, the block Krylov and DCA iterations (Cholesky QR, with
    ``xp.linalg.qr`` as fallback), the Nystroem map and the kernel ridge
    pre-image. Only the s x s and b x b eigenproblems, Cholesky factors and
    Newton steps, and the convergence scalars go to host; random draws are
    made on host with the NumPy path's sequence, so both paths give the same
    result. The arithmetic is in the device's widest float (float64 where it
    exists), as on the NumPy path: fitted arrays are float64 and
    :meth:`transform` returns the input's dtype. A callable kernel (a Python
    function of two rows cannot run on the device) is evaluated on host, block
    by block, and copied back.

    References
    ----------
    .. [1] F. Tonin, A. Lambert, P. Patrinos and J. A. K. Suykens, "Extending
       Kernel PCA through Dualization: Sparsity, Robustness and Fast
       Algorithms", ICML 2023.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skrep.decomposition import DualKernelPCA
    >>> X, _ = load_digits(return_X_y=True)
    >>> kpca = DualKernelPCA(n_components=3, gamma=1e-3, random_state=0).fit(X)
    >>> kpca.transform(X[:2]).shape
    (2, 3)
    >>> kpca.n_support_
    1797
    """

    # Most blocks in one Krylov basis before a restart.
    _MAX_DEPTH = 24

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left"), None],
        "kernel": [StrOptions(_KERNELS | {"precomputed"}), callable],
        "gamma": [Interval(Real, 0, None, closed="neither"), None],
        "degree": [Interval(Real, 0, None, closed="left")],
        "coef0": [Interval(Real, None, None, closed="neither")],
        "kernel_params": [dict, None],
        "loss": [StrOptions({"squared", "huber", "epsilon_insensitive"})],
        "loss_param": [Interval(Real, 0, None, closed="neither"), StrOptions({"auto"})],
        "solver": [StrOptions({"auto", "lanczos", "gradient", "nystroem"})],
        "n_landmarks": [Interval(Integral, 1, None, closed="left")],
        "fit_inverse_transform": ["boolean"],
        "remove_zero_eig": ["boolean"],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
        "n_jobs": [Interval(Integral, None, None, closed="neither"), None],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        n_components=2,
        *,
        kernel="rbf",
        gamma=None,
        degree=3,
        coef0=1,
        kernel_params=None,
        loss="squared",
        loss_param="auto",
        solver="auto",
        n_landmarks=1000,
        fit_inverse_transform=False,
        remove_zero_eig=False,
        alpha=1.0,
        max_iter=500,
        tol=1e-8,
        random_state=None,
        n_jobs=None,
        verbose=0,
    ):
        self.n_components = n_components
        self.kernel = kernel
        self.gamma = gamma
        self.degree = degree
        self.coef0 = coef0
        self.kernel_params = kernel_params
        self.loss = loss
        self.loss_param = loss_param
        self.solver = solver
        self.n_landmarks = n_landmarks
        self.fit_inverse_transform = fit_inverse_transform
        self.remove_zero_eig = remove_zero_eig
        self.alpha = alpha
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose

    def _kernel_function(self, xp, device, dtype, is_array_api):
        """``k(A, B)`` in the namespace of ``A`` and ``B``.

        scikit-learn's ``pairwise_kernels`` follows the array namespace; a
        callable kernel (a Python function of two rows) cannot run on a
        device: its blocks are evaluated on host and copied back.
        """
        if not (is_array_api and callable(self.kernel)):
            return self._kernel

        def on_host(A, B):
            K = self._kernel(to_numpy(A, xp), to_numpy(B, xp))
            return to_namespace(K, xp, device, dtype=dtype)

        return on_host

    def _kernel(self, A, B):
        if self.kernel == "rbf":
            return _rbf_kernel(A, B, self.gamma_)
        if callable(self.kernel):
            params = self.kernel_params or {}
        else:
            params = {"gamma": self.gamma_, "degree": self.degree, "coef0": self.coef0}
        # joblib's parallel blocks are numpy-only.
        n_jobs = self.n_jobs if isinstance(A, np.ndarray) else None
        return pairwise_kernels(
            A, B, metric=self.kernel, filter_params=True, n_jobs=n_jobs, **params
        )

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the model from the rows of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data, or the kernel matrix of shape (n_samples,
            n_samples) when ``kernel="precomputed"``.
        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        precomputed = self.kernel == "precomputed"
        if precomputed and self.solver == "nystroem":
            raise ValueError(
                'solver="nystroem" needs the data, not kernel="precomputed".'
            )
        if precomputed and self.fit_inverse_transform:
            raise ValueError("Cannot fit_inverse_transform with a precomputed kernel.")
        xp, is_array_api, device = get_namespace_and_device(X)
        # Sparse rows (scikit-learn's KernelPCA takes them, e.g. TF-IDF): the
        # kernel tiles are products of sparse row panels, still matrix-free.
        accept_sparse = not (is_array_api or precomputed) and "csr"
        X = validate_data(
            self, X, dtype=[xp.float64, xp.float32], accept_sparse=accept_sparse
        )
        if precomputed and X.shape[0] != X.shape[1]:
            raise ValueError(
                f'kernel="precomputed" needs a square kernel matrix, got {X.shape}.'
            )
        n = X.shape[0]
        if n < 2:
            raise ValueError(
                f"DualKernelPCA needs at least 2 samples, got n_samples={n}."
            )
        if self.n_components is not None:
            check_n_components(self.n_components, X, limit="n_samples")
        self.gamma_ = 1.0 / X.shape[1] if self.gamma is None else float(self.gamma)
        # One BLAS thread where the products with the Gram matrix are small.
        s = n if self.n_components is None else self.n_components
        with threads_for(blas_work=2.0 * n * n * s):
            return self._fit_solver(X, xp, device, is_array_api, precomputed)

    def transform(self, X):
        """Project ``X`` on the components.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            New rows, or their kernel against the training rows of shape
            (n_samples, n_samples_fit) when ``kernel="precomputed"``.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components)
            The scores; for the epsilon-insensitive loss the kernel is only
            evaluated at the ``n_support_`` support points.
        """
        check_is_fitted(self)
        check_same_namespace(X, self, attribute="dual_coef_", method="transform")
        xp, is_array_api, device = get_namespace_and_device(X)
        accept_sparse = not (is_array_api or self.kernel == "precomputed") and "csr"
        X = validate_data(
            self,
            X,
            dtype=[xp.float64, xp.float32],
            accept_sparse=accept_sparse,
            reset=False,
        )
        dtype = supported_float_dtypes(xp, device)[0]
        kernel = self._kernel_function(xp, device, dtype, is_array_api)
        scores = self._scores(kernel, _astype(X, dtype, xp), xp)
        return xp.astype(scores, X.dtype, copy=False)

    @_needs_fit_inverse_transform
    def inverse_transform(self, X):
        """Map scores back to the input space (kernel ridge pre-image).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components)
            Scores, as returned by :meth:`transform`.

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features)
            Approximate pre-images.

        Raises
        ------
        NotFittedError
            If the model was fitted with ``fit_inverse_transform=False`` (as
            scikit-learn's ``KernelPCA``).
        """
        check_is_fitted(self)
        check_same_namespace(
            X, self, attribute="_inverse_coef", method="inverse_transform"
        )
        xp, is_array_api, device = get_namespace_and_device(X)
        dtype = supported_float_dtypes(xp, device)[0]
        kernel = self._kernel_function(xp, device, dtype, is_array_api)
        X = xp.astype(xp.asarray(X), dtype, copy=False)
        return kernel(X, self._inverse_Z) @ self._inverse_coef

    # -- The solver, written with ``xp`` for NumPy and any array-API namespace
    # alike; only s x s / b x b matrices and scalars go to host. -------------

    def _fit_solver(self, X, xp, device, is_array_api, precomputed):
        """The fit on validated ``X``, in its namespace (see the class Notes)."""
        n = X.shape[0]
        dtype = supported_float_dtypes(xp, device)[0]
        rng = check_random_state(self.random_state)
        Xw = _astype(X, dtype, xp)
        kernel = self._kernel_function(xp, device, dtype, is_array_api)

        if self.solver == "nystroem":
            gram = _NystroemGram(kernel, Xw, self.n_landmarks, rng, xp, device)
        else:
            gram = _CentredGram(
                _KernelTiles(self, kernel, Xw, xp),
                n,
                xp,
                device,
                dtype,
                self.n_jobs,
                K=Xw if precomputed else None,
            )
        s = n if self.n_components is None else self.n_components
        start = time.perf_counter()

        if self.solver == "gradient":
            H = rng.standard_normal((n, s))
            H -= H.mean(axis=0)
            H = to_namespace(H, xp, device, dtype=dtype)
            n_iter = 0
        else:
            V, GV, lam, n_iter = self._block_krylov(gram, n, s, rng, xp, start)
            lam = _check_spectrum(lam, double=X.dtype == xp.float64)
            root = to_namespace(np.sqrt(np.maximum(lam, 0.0)), xp, device, dtype)
            H, GH = V * root, GV * root
        if self.loss != "squared" or self.solver == "gradient":
            H, GH, n_iter = self._dca(gram, H, start, xp, Xw)
        self.n_iter_ = n_iter
        if self.solver == "nystroem":
            trace = float(xp.sum(gram.Z * gram.Z))
        else:
            trace = self._centred_trace(gram, Xw, xp)
        self._set_components(H, GH, trace, xp, device)

        if self.solver == "nystroem":
            self.X_fit_ = _astype(_take_rows(Xw, gram.landmarks, xp), X.dtype, xp)
            self._nystroem_map = gram.map
            self._nystroem_mean = gram.z_mean
            self._nystroem_coef = gram.Z.T @ self.dual_coef_
            self.support_ = xp.arange(n, dtype=xp.int64, device=device)
            self.n_support_ = n
            del gram.Z
        else:
            rows = xp.linalg.vector_norm(self.dual_coef_, axis=1)
            if self.loss != "epsilon_insensitive":  # only it zeroes dual rows
                rows = xp.ones_like(rows)
            self.support_ = xp.astype(xp.nonzero(rows > 0)[0], xp.int64)
            self.n_support_ = int(self.support_.shape[0])
            coef = self.dual_coef_
            self._coef_sum = xp.sum(coef, axis=0)
            self._offset = -(gram.col_mean @ coef) + gram.mean * self._coef_sum
            self._full_support = self.n_support_ == n
            self.dual_coef_ = xp.take(coef, self.support_, axis=0)
            self.X_fit_ = X if precomputed else _take_rows(X, self.support_, xp)

        if self.fit_inverse_transform:
            Z = self._scores(kernel, Xw, xp)
            K = kernel(Z, Z) + self.alpha * xp.eye(n, dtype=dtype, device=device)
            target = Xw.toarray() if sparse.issparse(Xw) else Xw
            self._inverse_coef = xp.linalg.solve(K, target)
            self._inverse_Z = Z
        return self

    def _centred_trace(self, gram, X, xp):
        """Trace of the centred Gram matrix: sum of k(x, x) minus n times its mean."""
        if gram.trace is not None:
            total = gram.trace
        else:
            total = float(xp.sum(self._kernel_diagonal(gram, X, xp)))
        return total - X.shape[0] * gram.mean

    def _kernel_diagonal(self, gram, X, xp):
        """``k(x_i, x_i)`` for every training row (a dense vector)."""
        if gram.K is not None:
            return xp.linalg.diagonal(gram.K)
        if callable(self.kernel):  # a Python function: row by row, on host
            X_host = to_numpy(X, xp) if not sparse.issparse(X) else X
            diagonal = np.array(
                [
                    float(self._kernel(X_host[i : i + 1], X_host[i : i + 1])[0, 0])
                    for i in range(X.shape[0])
                ]
            )
            return to_namespace(diagonal, xp, gram.device, dtype=gram.dtype)
        if self.kernel in {"rbf", "laplacian"}:
            return xp.ones(X.shape[0], dtype=gram.dtype, device=gram.device)
        sq_norms = _squared_norms(X, xp)
        if self.kernel == "cosine":  # 1, or |x|^2 where left unnormalised
            kept = xp.sqrt(sq_norms) < 10 * xp.finfo(X.dtype).eps
            return xp.where(kept, sq_norms, xp.ones_like(sq_norms))
        if self.kernel == "linear":
            return sq_norms
        if self.kernel in {"poly", "polynomial"}:
            return (self.gamma_ * sq_norms + self.coef0) ** self.degree
        return xp.tanh(self.gamma_ * sq_norms + self.coef0)  # sigmoid

    def _huber_radius(self, gram, H, X, xp):
        """Default ``kappa``: a robust upper bound of the rows' norms in
        feature space, ``r_i = ||phi(x_i) - mean||`` (the centred kernel's
        diagonal): their median plus 3 robust standard deviations (1.4826
        median absolute deviations). A dual row is the projection of
        ``phi(x_i) - mean`` on the components, never longer than ``r_i``, so
        only rows far outside the bulk of the data are capped: on clean
        data the Huber loss gives the squared loss's solution."""
        if isinstance(gram, _NystroemGram):
            r = xp.linalg.vector_norm(gram.Z, axis=1)
        else:
            if gram.col_mean is None:  # streaming: the first product sets it
                gram(H[:, :1])
            diagonal = self._kernel_diagonal(gram, X, xp)
            r = xp.sqrt(xp.clip(diagonal - 2.0 * gram.col_mean + gram.mean, min=0.0))
        median = float(_median(r, xp=xp))
        spread = float(_median(xp.abs(r - median), xp=xp))
        return median + 3.0 * 1.4826 * spread

    def _block_krylov(self, gram, n, s, rng, xp, start):
        """Top-``s`` eigenpairs of the centred Gram operator (eigenvalues on host).

        Restarted block Lanczos with full reorthogonalisation: from an
        orthonormal block ``Q`` of width ``b`` it extends the basis ``W`` of
        ``[Q, GQ, G^2 Q, ...]`` one block at a time and checks after each
        product the Ritz residuals of the first ``s`` Ritz vectors, read
        from the new block (``G W u - theta W u`` is the part of the last
        product outside ``W``, times the last block of ``u``). It stops as
        soon as they are below ``tol`` times the largest eigenvalue, and
        restarts from the top ``b`` Ritz vectors when the basis is full.
        One progress line per restart (the largest relative residual).
        """
        device, dtype = gram.device, gram.dtype
        progress = Progress(
            type(self).__name__,
            self.verbose,
            unit="restart",
            total=self.max_iter,
            start=start,
        )
        # Streaming, a product's cost is that of evaluating the kernel tiles,
        # whatever the width: wider blocks, fewer products.
        b = 2 * (s + 2) if gram.streaming else s + 2
        if n <= max(4 * b, 300):
            G = _finite_kernel(gram(xp.eye(n, dtype=dtype, device=device)), xp)
            w, V = xp.linalg.eigh((G + G.T) / 2)
            w = to_numpy(w, xp)
            top = np.argsort(w)[::-1][:s]
            V = xp.take(V, to_namespace(top, xp, device, dtype=xp.int64), axis=1)
            progress(1, residual=0.0, products=1)
            return V, G @ V, w[top], 1
        # The basis and its images take at most a quarter of working_memory.
        budget = get_config()["working_memory"] * 2**20 / 4
        depth = int(max(2, min(self._MAX_DEPTH, (n - 1) // b, budget // (16 * n * b))))
        target = max(self.tol, 1e-13)
        W = xp.empty((n, depth * b), dtype=dtype, device=device)
        GW = xp.empty_like(W)
        T = np.zeros((depth * b, depth * b))
        Q = orthonormalize(
            to_namespace(rng.standard_normal((n, b)), xp, device, dtype=dtype)
        )
        for it in range(1, self.max_iter + 1):
            W[:, :b] = Q
            for level in range(depth):
                width = (level + 1) * b
                block = slice(level * b, width)
                Y = _finite_kernel(gram(W[:, block]), xp)
                GW[:, block] = Y
                coef = W[:, :width].T @ Y
                T[:width, block] = to_numpy(coef, xp)
                T[block, :width] = T[:width, block].T
                w, U = np.linalg.eigh((T[:width, :width] + T[:width, :width].T) / 2)
                top = np.argsort(w)[::-1][:b]
                w, U = w[top], U[:, top]
                outside = Y - W[:, :width] @ coef
                last = to_namespace(U[level * b : width, :s], xp, device, dtype=dtype)
                residual = to_numpy(xp.linalg.vector_norm(outside @ last, axis=0), xp)
                relative = residual.max() / max(abs(w[0]), np.finfo(float).tiny)
                if relative <= target or level == depth - 1:
                    break
                W[:, width : width + b] = orthonormalize(outside, against=W[:, :width])
            progress(it, residual=relative, products=level + 1)
            U = to_namespace(U, xp, device, dtype=dtype)
            Q, GQ = W[:, :width] @ U, GW[:, :width] @ U
            if relative <= target:
                break
            Q = orthonormalize(Q)
        else:
            warnings.warn(
                f"Block Krylov did not converge in max_iter={self.max_iter} "
                "restarts; increase max_iter or tol.",
                ConvergenceWarning,
                stacklevel=3,
            )
        return Q[:, :s], GQ[:, :s], w[:s], it

    def _dca(self, gram, H, start, xp, X):
        """Difference-of-convex iterations ``H <- grad g(G H (H^T G H)^(-1/2))``.

        Returns the final ``H``, its product ``G H`` (reused, not recomputed)
        and the number of iterations; the s x s ``(H^T G H)^(-1/2)`` is
        computed on host.
        """
        device, dtype = gram.device, H.dtype
        if self.loss == "squared":
            radius = 0.0
        elif self.loss_param != "auto":
            radius = float(self.loss_param)
        elif self.loss == "huber":
            radius = self._huber_radius(gram, H, X, xp)
        else:  # the median row norm: about half of the rows vanish
            radius = float(_median(xp.linalg.vector_norm(H, axis=1), xp=xp))
        self._loss_radius_ = radius
        H = self._prox(H, radius, xp, device)
        progress = Progress(
            type(self).__name__, self.verbose, total=self.max_iter, start=start
        )
        previous = np.inf
        for it in range(1, self.max_iter + 1):
            GH = _finite_kernel(gram(H), xp)
            root, sqrt_sum = _inverse_sqrt(to_numpy(H.T @ GH, xp))
            objective = self._conjugate(H, radius, xp) - sqrt_sum
            progress(it, objective=objective, change=previous - objective)
            if previous - objective <= self.tol * abs(objective):
                break
            previous = objective
            root = to_namespace(root, xp, device, dtype=dtype)
            H = self._prox(GH @ root, radius, xp, device)
            if not bool(xp.any(H != 0)) and radius == 0:
                raise ValueError(
                    "The centred kernel matrix of X is zero (the rows of X are "
                    "equal in feature space at its scale): there are no "
                    "components."
                )
            if not bool(xp.any(H != 0)):
                raise ValueError(
                    f"The epsilon-insensitive threshold {radius:.4g} "
                    f"(loss_param={self.loss_param!r}) zeroes every dual row; "
                    "use a smaller loss_param."
                )
        else:
            warnings.warn(
                f"The DCA iterations did not converge in max_iter={self.max_iter}; "
                "increase max_iter or tol.",
                ConvergenceWarning,
                stacklevel=3,
            )
            GH = gram(H)
        self.objective_ = objective
        return H, GH, it

    def _conjugate(self, H, radius, xp):
        value = 0.5 * float(xp.sum(H * H))
        if self.loss == "epsilon_insensitive":
            value += radius * float(xp.sum(xp.linalg.vector_norm(H, axis=1)))
        return value

    def _prox(self, Y, radius, xp, device):
        if self.loss == "squared":
            return Y
        if self.loss == "huber":
            norms = xp.linalg.vector_norm(Y, axis=1, keepdims=True)
            floor = max(1e-300, float(xp.finfo(Y.dtype).smallest_normal))
            return Y * xp.clip(radius / xp.clip(norms, min=floor), max=1.0)
        return _centred_block_soft_threshold(Y, radius, xp, device)

    def _set_components(self, H, GH, trace, xp, device):
        """Rotate ``H`` to feature-space orthogonal components and scale them.

        The s x s rotation is computed on host.
        """
        dtype = H.dtype
        M = to_numpy(H.T @ GH, xp)
        w, U = np.linalg.eigh((M + M.T) / 2)
        order = np.argsort(w)[::-1]
        w, U = w[order], U[:, order]
        keep = w > w[0] * 1e-12 if w[0] > 0 else np.zeros_like(w, dtype=bool)
        U = to_namespace(U, xp, device, dtype=dtype)
        H, GH, w = H @ U, GH @ U, np.where(keep, w, 1.0)
        squares = to_numpy(xp.sum(GH * GH, axis=0), xp)
        variance = np.where(keep, squares / w, 0.0)
        order = np.argsort(variance)[::-1]
        # As scikit-learn's KernelPCA: components of zero variance are
        # dropped with remove_zero_eig, or when n_components is None.
        if self.remove_zero_eig or self.n_components is None:
            order = order[variance[order] > 0]
        w, variance = w[order], variance[order]
        H = xp.take(H, to_namespace(order, xp, device, dtype=xp.int64), axis=1)
        coef = H / to_namespace(np.sqrt(w), xp, device, dtype=dtype)
        coef = coef * flip_signs(coef.T)
        ratio = variance / trace if trace > 0 else variance
        self.eigenvalues_ = to_namespace(variance, xp, device, dtype=dtype)
        self.explained_variance_ratio_ = to_namespace(ratio, xp, device, dtype=dtype)
        norms = xp.linalg.vector_norm(coef, axis=0)
        self.eigenvectors_ = coef / xp.where(norms > 0, norms, xp.ones_like(norms))
        self.dual_coef_ = coef
        if self.loss == "squared" and self.solver != "gradient":
            self.objective_ = -0.5 * float(variance.sum())

    def _scores(self, kernel, X, xp):
        """Scores of validated ``X`` (in the working dtype) by ``kernel``."""
        if self.solver == "nystroem":
            L = xp.astype(self.X_fit_, X.dtype, copy=False)
            Z = kernel(X, L) @ self._nystroem_map - self._nystroem_mean
            return Z @ self._nystroem_coef
        if self.kernel == "precomputed":
            K = xp.take(X, self.support_, axis=1)
            kbar = xp.mean(X, axis=1, keepdims=True)
        else:
            K = kernel(X, xp.astype(self.X_fit_, X.dtype, copy=False))
            kbar = xp.mean(K, axis=1, keepdims=True) if self._full_support else 0.0
        return K @ self.dual_coef_ - kbar * self._coef_sum + self._offset

    @property
    def _n_features_out(self):
        return self.eigenvalues_.shape[0]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.pairwise = self.kernel == "precomputed"
        tags.input_tags.sparse = self.kernel != "precomputed"
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        tags.array_api_support = True
        return tags


def _inverse_sqrt(M):
    """``M^(-1/2)`` (pseudo-inverse on the null space) and ``sum sqrt(eig M)``."""
    w, U = np.linalg.eigh((M + M.T) / 2)
    w = np.maximum(w, 0.0)
    inv = np.where(w > w.max() * 1e-14, 1.0 / np.sqrt(np.where(w > 0, w, 1.0)), 0.0)
    return (U * inv) @ U.T, float(np.sqrt(w).sum())


def _centred_block_soft_threshold(Y, eps, xp, device, n_newton=50):
    """Rows ``soft(Y_i - mu, eps)`` with ``mu`` such that the rows sum to zero.

    ``mu`` minimises ``sum_i dist(Y_i - mu, B_eps)^2 / 2``, a Huber-type
    location, found by Newton's method; the zero column sums keep the sparse
    expansion exact with centred kernels. Each Newton step brings its
    gradient, Hessian and active count to host in one transfer, and solves
    the s x s system there.
    """
    dtype = Y.dtype
    s = Y.shape[1]
    floor = max(1e-300, float(xp.finfo(dtype).smallest_normal))
    mu = xp.zeros(s, dtype=dtype, device=device)
    size = max(1.0, float(xp.sum(xp.abs(Y))))

    def rows(mu):
        R = Y - mu
        norms = xp.linalg.vector_norm(R, axis=1, keepdims=True)
        shrink = xp.clip(1.0 - eps / xp.clip(norms, min=floor), min=0.0)
        return R * shrink, R, norms[:, 0]

    for _ in range(n_newton):
        out, R, norms = rows(mu)
        active = norms > eps
        safe = xp.where(active, norms, xp.ones_like(norms))
        zero = xp.zeros_like(norms)
        scale = xp.sum(xp.where(active, 1.0 - eps / safe, zero))
        weight = xp.where(active, eps / safe**3, zero)
        packed = to_numpy(
            xp.concat(
                [
                    xp.sum(out, axis=0),
                    xp.reshape(scale, (1,)),
                    xp.reshape(xp.astype(xp.count_nonzero(active), dtype), (1,)),
                    xp.reshape((R.T * weight) @ R, (-1,)),
                ]
            ),
            xp,
        )
        grad, scale, n_active = packed[:s], packed[s], packed[s + 1]
        if np.linalg.norm(grad) <= 1e-12 * size or n_active == 0:
            break
        hessian = scale * np.eye(s) + packed[s + 2 :].reshape(s, s)
        step = np.linalg.solve(hessian, grad)
        mu = mu + to_namespace(step, xp, device, dtype=dtype)
    return rows(mu)[0]


def _astype(X, dtype, xp):
    """``X`` in ``dtype`` (no copy when it already is); sparse or dense."""
    if sparse.issparse(X):
        return X.astype(dtype, copy=False)
    return xp.astype(X, dtype, copy=False)


def _take_rows(X, rows, xp):
    return X[rows] if sparse.issparse(X) else xp.take(X, rows, axis=0)


def _squared_norms(X, xp):
    """Squared norms of the rows of ``X`` (sparse or dense), dense."""
    if sparse.issparse(X):
        return np.asarray(X.multiply(X).sum(axis=1)).ravel()
    return xp.sum(X * X, axis=1)


def _check_spectrum(values, *, double):
    """Eigenvalues of the centred kernel, as scikit-learn's ``KernelPCA``
    checks them: a significantly negative one among those selected means the
    kernel is not positive semi-definite (ValueError); small negative ones
    and positive ones below ``1e-12`` (``2e-7`` for float32 data) of the
    largest are set to zero."""
    values = np.array(values, dtype=float)
    top, low = values.max(), values.min()
    if top < 0:
        raise ValueError(
            f"All eigenvalues of the centred kernel are negative (maximum "
            f"{top:g}): the kernel is not positive semi-definite."
        )
    if low < -(1e-5 if double else 5e-3) * top and low < -(1e-10 if double else 1e-6):
        raise ValueError(
            f"There are significant negative eigenvalues ({-low / top:g} of the "
            "maximum positive): the kernel is not positive semi-definite."
        )
    values[values < (1e-12 if double else 2e-7) * top] = 0.0
    return values


def _unit_rows(X, gamma, xp, scale=None):
    """``X`` divided by ``scale`` (default its :func:`unit_scale`; sparse or
    dense) and the rbf coefficient ``gamma`` of the same kernel on the
    quotient (capped at the largest float: the kernel is then 1 at distance
    0, 0 elsewhere)."""
    if scale is None:
        scale = unit_scale(X, xp)
    if scale == 1.0:
        return X, gamma
    return X / scale, min(gamma * scale * scale, float(xp.finfo(X.dtype).max))


def _rbf_from_products(P, sq_a, sq_b, gamma, xp):
    """``exp(-gamma ||a - b||^2)`` from the products ``P = A B^T`` (modified)
    and the squared norms of the rows. Squared distances within the
    rounding error of ``|a|^2 + |b|^2 - 2 a.b`` are zero, so equal rows give
    1 whatever ``gamma``."""
    P *= -2.0
    P += sq_a[:, None]
    P += sq_b[None, :]
    noise = 8.0 * float(xp.finfo(P.dtype).eps) * (sq_a[:, None] + sq_b[None, :])
    P = xp.where(P > noise, P, xp.zeros_like(P))
    P *= -gamma
    return xp.exp(P)


def _rbf_kernel(A, B, gamma):
    """The rbf kernel ``exp(-gamma ||a - b||^2)`` between the rows of ``A``
    and ``B`` (sparse or dense, of one array namespace), computed in units of
    their largest entry: finite at any magnitude of the data."""
    if sparse.issparse(A) or sparse.issparse(B):
        xp = np
    else:
        xp, _, _ = get_namespace_and_device(A)
    scale = max(unit_scale(A, xp), unit_scale(B, xp))
    B, _ = _unit_rows(B, gamma, xp, scale)
    A, gamma = _unit_rows(A, gamma, xp, scale)
    P = A @ B.T
    if sparse.issparse(P):
        P = P.toarray()
    return _rbf_from_products(
        P, _squared_norms(A, xp), _squared_norms(B, xp), gamma, xp
    )


def _finite_kernel(A, xp):
    """``A`` (products with the kernel matrix), refused if not finite."""
    if not bool(xp.all(xp.isfinite(A))):
        raise ValueError(
            "The kernel matrix of X has non-finite values: the kernel overflows "
            "at the magnitude of X. Rescale X, or use a bounded kernel (rbf, "
            "laplacian, cosine)."
        )
    return A
