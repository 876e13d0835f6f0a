"""Peng–Wei SDP relaxation of K-means, solved by a non-negative low-rank method."""

import math
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data
from threadpoolctl import threadpool_limits

from skrep.cluster._certificate import not_certified_advice, solve_certified
from skrep.utils._array_api import (
    get_namespace,
    get_namespace_and_device,
    is_numpy_namespace,
    to_namespace,
    to_numpy,
)
from skrep.utils._compat import (
    Interval,
    StrOptions,
    _fit_context,
    check_same_namespace,
    supported_float_dtypes,
)
from skrep.utils._threads import threads_for
from skrep.utils._verbose import Progress
from skrep.utils.validation import check_n_components, check_not_constant

__all__ = ["SDPKMeans"]

# Above this many samples `solver="exact-if-small"` uses the low-rank solver.
EXACT_MAX_SAMPLES = 300


def _check_clustering_input(estimator, X, n_clusters):
    """Data checks shared by the SDP clusterers (after ``validate_data``)."""
    n_samples = X.shape[0]
    check_n_components(n_clusters, X, name="n_clusters", limit="n_samples")
    if n_samples < 2:
        raise ValueError(
            f"{type(estimator).__name__} needs at least 2 samples, got "
            f"n_samples={n_samples}."
        )
    check_not_constant(X)
    xp, _ = get_namespace(X)
    largest = float(to_numpy(xp.max(xp.abs(X)), xp))
    # the solvers form sums of squares of the (centred) data
    if not math.isfinite(4.0 * largest * largest * n_samples * X.shape[1]):
        raise ValueError(
            f"{type(estimator).__name__}: X has values too large for the "
            f"solver (largest |value| {largest:.3g}: sums of their squares "
            f"overflow the float range); rescale X."
        )


def _work_array(X, xp, device):
    """``X`` in the dtype the clusterers compute in: float64 (whatever the
    input's dtype) where the device has it; no copy when it already is."""
    return xp.astype(X, supported_float_dtypes(xp, device)[0], copy=False)


def _rowdot(xp, A, B):
    """Row-wise inner products of ``A`` and ``B``.

    On numpy ``einsum`` (faster than a product and a sum, and the reduction
    the numpy path has always used); elsewhere the namespace's product and sum.
    """
    if is_numpy_namespace(xp):
        return np.einsum("ij,ij->i", A, B)
    return xp.sum(A * B, axis=1)


def _one_hot(xp, labels, n_clusters, dtype):
    """``(n, n_clusters)`` indicator matrix of ``labels``."""
    ks = xp.arange(n_clusters, device=labels.device)
    return xp.astype(labels[:, None] == ks[None, :], dtype)


def _round_factor(xp, U, n_clusters, random_state):
    """Spectral rounding: k-means on the top singular directions of ``U``.

    ``Z = U U^T``; its top ``K`` eigenvectors scaled by the square roots of
    the eigenvalues are the left singular vectors of ``U`` times its singular
    values. For a cluster-membership matrix all points of a cluster share one
    row, so k-means on these rows recovers the partition exactly.

    The SVD runs on the device of ``U``; the k-means of the
    ``(n, n_clusters)`` embedding on host with scikit-learn's KMeans (the same
    random numbers whatever the namespace). Returns int64 labels on ``U``'s
    device.
    """
    P, S, _ = xp.linalg.svd(U, full_matrices=False)
    embedding = P[:, :n_clusters] * S[:n_clusters]
    labels = _kmeans_labels(to_numpy(embedding, xp), n_clusters, random_state)
    return to_namespace(labels.astype(np.int64), xp, U.device)


def _kmeans_labels(embedding, n_clusters, random_state, n_init=4):
    """k-means labels of a small embedding, on one thread (OpenMP threads cost
    more than they save on ``(n, K)`` data, and hurt on a busy machine)."""
    with threadpool_limits(limits=1):
        km = KMeans(n_clusters, n_init=n_init, random_state=random_state)
        return km.fit_predict(embedding)


def _centres(xp, X, labels, n_clusters):
    """Cluster means (an empty cluster, if any, gets the overall mean)."""
    centres = []
    for k in range(n_clusters):
        members = labels == k
        if bool(xp.any(members)):
            centres.append(xp.mean(X[members], axis=0))
        else:
            centres.append(xp.mean(X, axis=0))
    return xp.stack(centres)


def _nearest(xp, X, centres):
    """Index (int64) of the nearest centre of each row of ``X``."""
    d2 = (
        _rowdot(xp, X, X)[:, None]
        - 2.0 * X @ centres.T
        + _rowdot(xp, centres, centres)[None, :]
    )
    return xp.astype(xp.argmin(d2, axis=1), xp.int64)


def _exact_solution(Xs, n_clusters, tol, rng):
    """Labels and objective of the exact SDP on host data ``Xs`` (cvxpy)."""
    Z = _exact_peng_wei(Xs, n_clusters, tol)
    w, V = np.linalg.eigh((Z + Z.T) / 2)
    w = np.clip(w[::-1][:n_clusters], 0, None)
    embedding = V[:, ::-1][:, :n_clusters] * np.sqrt(w)
    labels = _kmeans_labels(embedding, n_clusters, rng)
    return labels, float(np.sum((Xs @ Xs.T) * Z))


def _exact_peng_wei(X, n_clusters, tol):
    """Solve the Peng–Wei SDP with cvxpy + SCS; returns ``Z`` (small n only)."""
    import cvxpy as cp

    n = X.shape[0]
    A = X @ X.T
    Z = cp.Variable((n, n), PSD=True)
    constraints = [Z >= 0, cp.sum(Z, axis=1) == 1, cp.trace(Z) == n_clusters]
    problem = cp.Problem(cp.Maximize(cp.trace(A @ Z)), constraints)
    problem.solve(solver="SCS", eps=min(tol, 1e-6))
    return np.asarray(Z.value)


class SDPKMeans(ClusterMixin, BaseEstimator):
    """K-means clustering by the Peng–Wei semidefinite relaxation.

    Solves the SDP relaxation of K-means (Peng & Wei, 2007)

    .. math::

        \\max_Z \\langle X_c X_c^T, Z\\rangle \\quad\\text{s.t.}\\quad
        Z \\succeq 0,\\ Z \\ge 0,\\ Z 1 = 1,\\ \\operatorname{tr} Z = K,

    where :math:`X_c` is the centred data, with the non-negative low-rank
    (Burer–Monteiro) method of Zhuang et al. (2024): :math:`Z = U U^T` with
    :math:`U \\ge 0` of shape ``(n_samples, rank)``, projected gradient steps
    with Barzilai–Borwein step sizes and an augmented Lagrangian for the
    row-sum constraint. The labels come from spectral rounding (k-means on the
    top ``n_clusters`` singular directions of :math:`U`). Above the
    separation threshold of Chen & Yang (2021) the relaxation is tight and
    returns the true partition of a Gaussian mixture whatever the start,
    where Lloyd's algorithm can stop in a bad local optimum.

    Fit memory is O(n_samples * rank + n_samples * n_features): the
    ``n_samples x n_samples`` matrix :math:`Z` is never formed (except by
    ``solver="exact-if-small"`` on at most 300 samples).

    Parameters
    ----------
    n_clusters : int, default=8
        The number of clusters K.
    rank : int, default=None
        Columns of the factor :math:`U`; None means ``2 * n_clusters``. The
        SDP optimum has rank K when the relaxation is tight.
    solver : {"nlr", "exact-if-small"}, default="nlr"
        "nlr" is the non-negative low-rank solver. "exact-if-small" solves the
        SDP with cvxpy and SCS (which must be installed) when there are at most
        300 samples, and uses "nlr" otherwise; it is meant for checking.
    sketch : float in (0, 1], default=None
        Sketch-and-lift: solve the SDP on a random fraction ``sketch`` of the
        samples (at least ``10 * n_clusters`` of them), then assign every
        sample to the nearest centre. None (or 1) uses all samples.
    beta : float, default=1.0
        Penalty parameter of the augmented Lagrangian (the data are centred and
        scaled to unit mean squared norm, so the default suits any scale).
    tol : float, default=1e-4
        Tolerance on the relative primal step and on the row-sum violation
        (root mean square of ``Z 1 - 1``).
    max_iter : int, default=10000
        Maximum number of solver iterations per solve (one solve plus one per
        escape, at most 10 escapes).
    certify : bool, default=False
        Compute the dual certificate ``duality_gap_`` and require it for
        ``converged_``; it forms ``n_samples x n_samples`` matrices (up to
        1,500 eigendecompositions of them, in rounds that alternate the
        entrywise and the row-sum multipliers; where that bound is not
        closed, an augmented Lagrangian on the SDP refines it and the solver
        restarts from its solution, at most twice): a checking tool for
        small data (about a second at 150 samples when the first bound
        closes, up to minutes when it is refined).
    random_state : int, RandomState instance or None, default=None
        Seeds the starting factor, the sketch and the rounding.
    verbose : int, default=0
        Print the solver's progress every 100 iterations when positive.

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,)
        Cluster label of each training sample.
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
        Mean of each cluster.
    inertia_ : float
        Sum of squared distances of the samples to their cluster centre.
    objective_ : float
        SDP objective :math:`\\langle X_c X_c^T, Z\\rangle` at the solution (on
        the sketch when ``sketch`` is used), in the units of ``X``.
    factor_ : ndarray of shape (n_fit, rank)
        The non-negative factor :math:`U` (``Z = U U^T``) of the centred data
        scaled by ``scale_``; None for the exact solver.
    scale_ : float
        Root mean squared norm of the centred data used by the solver.
    n_iter_ : int
        Solver iterations.
    converged_ : bool
        True when the solver's row-sum violation and relative step are
        within ``tol``, the matrix-free escape search finds no non-negative
        direction of negative curvature below ``-max(tol, 1e-3)`` (relative
        to the objective) at the returned point, and, with ``certify=True``,
        ``duality_gap_ <= max(tol, 1e-3)``. Without ``certify`` this is a
        stationary point with no escape direction found, not a certificate
        of the SDP optimum (below the separation threshold the factorised
        problem can stop at several such points). In float32 the re-solves
        that sharpen the row-sum multiplier are skipped at the default
        ``tol`` (none below 1000 units of the working precision), so a
        float32 fit may warn where the float64 fit converges. Always true for
        the exact solver.
    duality_gap_ : float
        Relative gap between the objective and a certified upper bound on
        the SDP optimum (a feasible dual point); NaN unless ``certify=True``
        and the solver converged.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit (when ``X`` has string column names).

    See Also
    --------
    ILASDPClustering : Likelihood-adjusted SDP for clusters with different
        covariances.
    sklearn.cluster.KMeans : Lloyd's algorithm with k-means++ starts.

    Notes
    -----
    Array API: with ``sklearn.set_config(array_api_dispatch=True)`` and
    CuPy (or other array-API) input, ``fit`` and ``predict`` run on the
    input's device: centring, the low-rank solver (matrix products, the
    projection onto :math:`U \\ge 0` and the step-size rule of the numpy
    path), the SVD of :math:`U`, the sketch assignment and the centres, in
    float64 where the device has it. The random draws (starting factor,
    sketch) and the k-means of the ``(n, n_clusters)`` spectral embedding
    (scikit-learn's :class:`~sklearn.cluster.KMeans`) run on host with the
    same random state as the numpy path, so the partition is the same; the
    solver's trajectory depends on rounding, so ``objective_`` agrees with
    the numpy path to the solver's accuracy (``tol``). The exact solver of
    ``solver="exact-if-small"`` (cvxpy, at most 300 samples) runs on host.
    Fitted arrays are in the input's namespace, on its device (``labels_``
    int64).

    References
    ----------
    .. [1] J. Peng and Y. Wei, "Approximating K-means-type clustering via
       semidefinite programming", SIAM J. Optim. 18(1), 2007.
    .. [2] Y. Zhuang, X. Chen, Y. Yang and R. Y. Zhang, "Statistically optimal
       K-means clustering via nonnegative low-rank semidefinite programming",
       ICLR 2024.
    .. [3] X. Chen and Y. Yang, "Cutoff for exact recovery of Gaussian mixture
       models", IEEE Trans. Inf. Theory 67(6), 2021.
    .. [4] Y. Zhuang, X. Chen and Y. Yang, "Sketch-and-lift: scalable subsampled
       semidefinite program for K-means clustering", AISTATS 2022.

    Examples
    --------
    >>> import numpy as np
    >>> from skrep.cluster import SDPKMeans
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(0, 1, (20, 2)), rng.normal(8, 1, (20, 2))])
    >>> model = SDPKMeans(n_clusters=2, random_state=0).fit(X)
    >>> np.bincount(model.labels_).tolist()
    [20, 20]
    >>> model.predict([[8.0, 8.0]]) == model.labels_[-1]
    array([ True])
    """

    _parameter_constraints = {
        "n_clusters": [Interval(Integral, 1, None, closed="left")],
        "rank": [Interval(Integral, 1, None, closed="left"), None],
        "solver": [StrOptions({"nlr", "exact-if-small"})],
        "sketch": [Interval(Real, 0, 1, closed="right"), None],
        "beta": [Interval(Real, 0, None, closed="neither")],
        "tol": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "certify": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        n_clusters=8,
        *,
        rank=None,
        solver="nlr",
        sketch=None,
        beta=1.0,
        tol=1e-4,
        max_iter=10000,
        certify=False,
        random_state=None,
        verbose=0,
    ):
        self.n_clusters = n_clusters
        self.rank = rank
        self.solver = solver
        self.sketch = sketch
        self.beta = beta
        self.tol = tol
        self.max_iter = max_iter
        self.certify = certify
        self.random_state = random_state
        self.verbose = verbose

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Cluster ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        self : SDPKMeans
            The fitted estimator.
        """
        xp, _, device = get_namespace_and_device(X)
        X = validate_data(self, X, dtype=[xp.float64, xp.float32])
        _check_clustering_input(self, X, self.n_clusters)
        rng = check_random_state(self.random_state)
        n_samples = X.shape[0]
        K = self.n_clusters
        X64 = _work_array(X, xp, device)

        fit_idx = None
        if self.sketch is not None and self.sketch < 1:
            m = max(math.ceil(self.sketch * n_samples), 10 * K)
            if m < n_samples:
                fit_idx = np.sort(rng.choice(n_samples, m, replace=False))
        if fit_idx is None:
            Xfit = X64
        else:
            Xfit = xp.take(X64, to_namespace(fit_idx, xp, device), axis=0)

        labels_fit, self.objective_, self.factor_, self.scale_, self.n_iter_ = (
            self._solve(Xfit, K, rng, xp, device)
        )
        centres = _centres(xp, Xfit, labels_fit, K)
        if fit_idx is None:
            labels = labels_fit
        else:
            labels = _nearest(xp, X64, centres)
            centres = _centres(xp, X64, labels, K)
        self.labels_ = labels
        self.cluster_centers_ = xp.astype(centres, X.dtype, copy=False)
        residual = X64 - xp.take(centres, labels, axis=0)
        self.inertia_ = float(to_numpy(xp.sum(residual * residual), xp))
        return self

    def _solve(self, X, K, rng, xp, device):
        """Solve the SDP on ``X``; returns labels (int64, on ``X``'s device),
        objective, U, scale, n_iter."""
        n = X.shape[0]
        Xc = X - xp.mean(X, axis=0)
        scale = math.sqrt(float(to_numpy(xp.mean(_rowdot(xp, Xc, Xc)), xp)))
        Xs = Xc / scale
        if K == 1:
            U = xp.full((n, 1), 1.0 / math.sqrt(n), dtype=X.dtype, device=device)
            self.converged_, self.duality_gap_ = True, 0.0
            return xp.zeros(n, dtype=xp.int64, device=device), 0.0, U, scale, 0
        if self.solver == "exact-if-small" and n <= EXACT_MAX_SAMPLES:
            # a checking tool on at most 300 samples: cvxpy runs on host
            try:
                labels, objective = _exact_solution(to_numpy(Xs, xp), K, self.tol, rng)
            except ImportError:
                _warn_no_cvxpy()
            else:
                labels = to_namespace(labels.astype(np.int64), xp, device)
                self.converged_, self.duality_gap_ = True, math.nan
                return labels, objective * scale**2, None, scale, 1
        rank = 2 * K if self.rank is None else self.rank
        U0 = to_namespace(np.abs(rng.standard_normal((n, rank))), xp, device, X.dtype)
        callback = (
            _progress_printer("SDPKMeans", self.verbose, self.max_iter)
            if self.verbose
            else None
        )
        # Thin products (n x p by p x rank): one BLAS thread below the work
        # where a second one pays (20,000 points: 12-20 % faster).
        with threads_for(blas_work=2.0 * n * Xs.shape[1] * rank):
            res = solve_certified(
                Xs,
                traces=[float(K)],
                rank=rank,
                U0=U0,
                labels=xp.zeros(n, dtype=xp.int64, device=device),
                rng=rng,
                beta=self.beta,
                tol=self.tol,
                max_iter=self.max_iter,
                certify=self.certify,
                callback=callback,
                xp=xp,
            )
        self.converged_ = res.converged
        self.duality_gap_ = res.duality_gap
        if not res.converged:
            self._warn_not_converged(res)
        labels = _round_factor(xp, res.U, K, rng)
        return labels, -res.objective * scale**2, res.U, scale, res.n_iter

    def _warn_not_converged(self, res):
        advice = not_certified_advice(res.cause, "max_iter")
        warnings.warn(
            f"SDPKMeans: the low-rank SDP solve is not certified optimal "
            f"(max_iter={self.max_iter}, row-sum violation "
            f"{res.feasibility:.2e}, escape value {res.escape_value:.1e}, "
            f"relative duality gap {res.duality_gap:.1e}, tol={self.tol}): "
            f"{advice}.",
            ConvergenceWarning,
            stacklevel=4,
        )

    def predict(self, X):
        """Assign each sample of ``X`` to the nearest cluster centre.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            New data.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Index of the nearest centre.
        """
        check_is_fitted(self)
        check_same_namespace(X, self, attribute="cluster_centers_", method="predict")
        xp, _, device = get_namespace_and_device(X)
        X = validate_data(self, X, dtype=[xp.float64, xp.float32], reset=False)
        X = _work_array(X, xp, device)
        return _nearest(xp, X, xp.astype(self.cluster_centers_, X.dtype, copy=False))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.array_api_support = True
        return tags


def _warn_no_cvxpy():
    warnings.warn(
        "solver='exact-if-small' needs cvxpy (pip install cvxpy); "
        "using the low-rank solver instead.",
        UserWarning,
        stacklevel=4,
    )


def _progress_printer(name, verbose, max_iter):
    """A solver callback printing iteration, objective and row-sum violation
    in the shared progress format."""
    progress = Progress(name, verbose, total=max_iter)

    def callback(iteration, objective, feasibility):
        progress(iteration, objective=objective, violation=feasibility)

    return callback
