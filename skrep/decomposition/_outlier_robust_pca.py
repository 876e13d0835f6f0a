"""Outlier-robust PCA in nearly-linear time, with a streaming variant.

``OutlierRobustPCA`` estimates the top principal subspace of the inliers when
an ``eps`` fraction of the rows are arbitrary (the strong contamination
model), by iterative filtering in the spirit of Diakonikolas, Kane, Pensia &
Pittas (ICML 2023): only products of the data with thin blocks of vectors are
formed, never a d x d matrix (unless d is small).
"""

import warnings
from numbers import Integral, Real

import numpy as np
from scipy import linalg, stats
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import validate_data

from skrep.decomposition._base import _LinearSubspace
from skrep.utils._compat import Interval, _fit_context
from skrep.utils.extmath import flip_signs
from skrep.utils.validation import check_n_components

__all__ = ["OutlierRobustPCA"]

# Extra directions tracked beyond n_components: they make the block power
# iteration converge fast and keep the streaming summary accurate.
_N_OVERSAMPLES = 8

# Up to this dimension the d x d weighted covariance is formed (one O(n d^2)
# BLAS product, at most 2 MiB): cheaper than the ~20 block products of the
# matrix-free power iterations, O(n d (k + 8)) each, as long as d < ~500.
_MAX_DENSE_FEATURES = 512


def _weighted_mean(X, w):
    return (w @ X) / w.sum()


def _weighted_median(values, w):
    order = np.argsort(values)
    cum = np.cumsum(w[order])
    return values[order[np.searchsorted(cum, 0.5 * cum[-1])]]


# Median of the chi-square distribution with one degree of freedom.
_CHI2_1_MEDIAN = 0.454936423119572


def _weighted_top_eig(X, w, mean, b, *, rng, sq_norms, V0=None, n_iter=4):
    """Top-``b`` eigenpairs and trace of the weighted covariance.

    ``C = sum_i w_i (x_i - mean)(x_i - mean)^T / sum_i w_i`` is applied to a
    block of ``b`` vectors as ``X^T (w * ((X - mean) Q))`` in O(n d b); a
    block power iteration warm started from ``V0`` and a Rayleigh-Ritz step
    give the eigenpairs. For ``d <= 512`` the d x d matrix is formed instead
    (one O(n d^2) product, cheaper there).

    Returns
    -------
    values : ndarray of shape (b,)
        Eigenvalues, decreasing.
    V : ndarray of shape (d, b)
        Eigenvectors in columns.
    total_var : float
        Trace of the weighted covariance.
    """
    n, d = X.shape
    wsum = w.sum()
    if d <= _MAX_DENSE_FEATURES:
        Xc = X - mean
        Xc *= np.sqrt(w)[:, None]
        C = Xc.T @ Xc
        C /= wsum
        values, V = linalg.eigh(C, check_finite=False, overwrite_a=True)
        total_var = float(values.sum())
        order = np.argsort(values)[::-1][:b]
        return np.maximum(values[order], 0), V[:, order], total_var
    total_var = float(w @ sq_norms) / wsum - float(mean @ mean)

    def apply(Q):
        P = X @ Q - mean @ Q
        P *= w[:, None]
        return (X.T @ P - np.outer(mean, P.sum(axis=0))) / wsum

    Q = rng.standard_normal((d, b)).astype(X.dtype, copy=False)
    if V0 is not None:
        r = min(V0.shape[1], b)
        Q[:, :r] = V0[:, :r]
    Q = linalg.qr(Q, mode="economic", check_finite=False)[0]
    for _ in range(n_iter):
        Q = linalg.qr(apply(Q), mode="economic", check_finite=False)[0]
    H = Q.T @ apply(Q)
    values, E = linalg.eigh((H + H.T) / 2, check_finite=False)
    order = np.argsort(values)[::-1]
    return np.maximum(values[order], 0), Q @ E[:, order], max(total_var, 0.0)


class OutlierRobustPCA(_LinearSubspace):
    """PCA robust to an eps fraction of arbitrary rows, in nearly-linear time.

    Under the strong contamination model (an adversary replaces up to
    ``eps * n_samples`` rows by arbitrary points), ordinary PCA can be steered
    to any direction. This estimator finds the top principal subspace of the
    inliers by *filtering* (Diakonikolas, Kane, Pensia & Pittas, 2023):

    1. estimate the top ``n_components + 8`` eigenvectors of the current
       weighted covariance by a block power iteration (a power of the
       weighted covariance applied to a thin block; matrix-vector products
       only, warm started from the previous round);
    2. score each row by its normalized projected variance,
       ``max_j (v_j^T (x - mean))^2 / lambda_j`` over the top
       ``n_components`` directions;
    3. if the weighted mass of the scores above the threshold ``T`` (the
       level an inlier Gaussian row exceeds with probability ``eps``) is more
       than twice what Gaussian inliers would put there, down-weight the rows
       above ``T`` in proportion to their excess score, and repeat;
       otherwise the weighted covariance is certified stable and the
       top eigenvectors are returned.

    At most about ``2 * eps`` of the total weight is ever removed. For
    ``n_components > 1`` a *block* variant is used: the whole top subspace is
    estimated at once and rows are scored against all its directions.
    ``eps=0`` gives ordinary (weighted) PCA.

    ``partial_fit`` is the single-pass streaming variant: each chunk is
    filtered as above (also against the current model), summarized by its
    weighted mean and the top ``n_components + 8`` eigenpairs of its weighted
    covariance, and merged into the running summary as in incremental PCA.
    The state is O(d (n_components + 8)), never O(n_samples).

    Time: O(n d (n_components + 8)) per filtering round, a few rounds
    (nearly linear in n d). Peak memory of ``fit``: the data plus
    O(n (n_components + 8) + d (n_components + 8)); the d x d covariance is
    formed only when d <= 64 or d <= 4 (n_components + 8).

    Read more in the :ref:`User Guide <decomposition>`.

    Parameters
    ----------
    n_components : int, default=1
        Dimension of the principal subspace.
    eps : float, default=0.1
        Assumed fraction of outlying rows, in [0, 0.5). Sets the filter
        threshold and the cap on the weight removed.
    max_iter : int, default=100
        Maximum number of filtering rounds per ``fit`` (or per chunk).
    random_state : int, RandomState instance or None, default=None
        Seeds the starting blocks of the power iterations.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        Robust principal axes, orthonormal rows.
    explained_variance_ : ndarray of shape (n_components,)
        Weighted (inlier) variance along each axis.
    explained_variance_ratio_ : ndarray of shape (n_components,)
        Its fraction of the total weighted variance.
    mean_ : ndarray of shape (n_features,)
        Weighted (inlier) mean.
    inlier_weights_ : ndarray of shape (n_samples,)
        Final weights in [0, 1] of the rows of the last ``fit`` or
        ``partial_fit`` call (0: removed as an outlier).
    n_components_ : int
        Number of components.
    n_iter_ : int
        Filtering rounds of the last ``fit`` or ``partial_fit`` call.
    n_samples_seen_ : float
        Total inlier weight seen (the number of rows kept, fractionally).
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during ``fit`` (only when ``X`` has string
        column names).

    See Also
    --------
    RobustPCA : Low-rank plus sparse decomposition (entrywise corruptions).
    sklearn.decomposition.PCA : Non-robust PCA.
    sklearn.covariance.MinCovDet : Robust covariance (slow in high dimension).

    References
    ----------
    .. [1] I. Diakonikolas, D. M. Kane, A. Pensia and T. Pittas,
       "Nearly-Linear Time and Streaming Algorithms for Outlier-Robust PCA",
       ICML 2023, PMLR 202:7886-7921 (arXiv:2305.02544).
    .. [2] A. Jambulapati, J. Li and K. Tian, "Robust sub-Gaussian principal
       component analysis and width-independent Schatten packing",
       NeurIPS 2020.

    Examples
    --------
    >>> import numpy as np
    >>> from skrep.decomposition import OutlierRobustPCA
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(2000, 20)
    >>> X[:, 0] *= 3.0                      # the true top direction is e_0
    >>> X[:200] = 0.0
    >>> X[:200, 1] = 30.0                   # 10 % outliers pull towards e_1
    >>> est = OutlierRobustPCA(eps=0.1, random_state=0).fit(X)
    >>> bool(abs(est.components_[0, 0]) > 0.99)
    True
    >>> float(est.inlier_weights_[:200].max())
    0.0
    """

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "eps": [Interval(Real, 0, 0.5, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(self, n_components=1, *, eps=0.1, max_iter=100, random_state=None):
        self.n_components = n_components
        self.eps = eps
        self.max_iter = max_iter
        self.random_state = random_state

    # ------------------------------------------------------------------ fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the robust principal subspace on ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data, an ``eps`` fraction of whose rows may be outliers.
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        X = validate_data(self, X, dtype=[np.float64, np.float32])
        check_n_components(self.n_components, X)
        self._rng = check_random_state(self.random_state)
        w, mean, values, V, total_var, n_iter = self._filter(X)
        self._set_summary(w.sum(), mean, values, V, total_var)
        self.inlier_weights_ = w
        self.n_iter_ = n_iter
        self._set_public(X.dtype)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Update the model with one chunk of rows (single-pass streaming).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            A chunk of the stream.
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        self : object
            The updated estimator.
        """
        first = not hasattr(self, "_sketch_values")
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=first)
        check_n_components(self.n_components, X, limit="n_features")
        if first:
            self._rng = check_random_state(self.random_state)
        prior = None if first else (self.mean_, self._sketch_values, self._sketch_V)
        w, mean, values, V, total_var, n_iter = self._filter(X, prior=prior)
        W = w.sum()
        if first:
            self._set_summary(W, mean, values, V, total_var)
        else:
            self._merge(W, mean, values, V, total_var)
        self.inlier_weights_ = w
        self.n_iter_ = n_iter
        self._set_public(X.dtype)
        return self

    # ------------------------------------------------------------ internals
    def _filter(self, X, prior=None):
        """Filtering rounds on one batch; returns weights and the summary."""
        n, d = X.shape
        k = self.n_components
        b = min(k + _N_OVERSAMPLES, d)
        k = min(k, b)
        eps = float(self.eps)
        w = np.ones(n, dtype=X.dtype)
        if eps > 0:
            # Starting centre: coordinate-wise median (of at most 20,000 rows).
            rows = X if n <= 20_000 else X[self._rng.choice(n, 20_000, replace=False)]
            mean = np.median(np.ascontiguousarray(rows.T), axis=1).astype(X.dtype)
        else:
            mean = _weighted_mean(X, w)
        threshold = float(stats.chi2.isf(eps / k, df=1)) if eps > 0 else np.inf
        # Mass E[s 1{s > T}] that k Gaussian directions put above T (the
        # identity E[Z^2 1{Z^2 > T}] = P(chi2_3 > T) per direction).
        inlier_tail = k * float(stats.chi2.sf(threshold, df=3)) if eps > 0 else 0.0
        V0 = None if prior is None else prior[2]
        sq_norms = np.einsum("ij,ij->i", X, X) if d > _MAX_DENSE_FEATURES else None
        n_iter = 0
        final = False  # whether (values, V) are those of the final weights
        for n_iter in range(1, self.max_iter + 1):
            if n_iter > 1:
                mean = _weighted_mean(X, w)
            values, V, total_var = _weighted_top_eig(
                X,
                w,
                mean,
                b,
                rng=self._rng,
                sq_norms=sq_norms,
                V0=V0,
                n_iter=4 if V0 is None else 2,
            )
            V0 = V
            final = (eps == 0 or n_iter > 1) and d <= _MAX_DENSE_FEATURES
            if eps == 0:
                break
            # Score against the current top directions, and in streaming also
            # against the running model's (outliers may hide in either).
            dirs = V[:, :k] if prior is None else np.hstack([V[:, :k], prior[2][:, :k]])
            P = X @ dirs - mean @ dirs
            P **= 2
            # Robust variance along each direction (weighted median of the
            # squared projections): outliers inflate the weighted variance
            # but not the median, so inliers score like chi-square(1).
            scale = (
                np.array([_weighted_median(P[:, j], w) for j in range(P.shape[1])])
                / _CHI2_1_MEDIAN
            )
            scale = np.maximum(scale, np.finfo(X.dtype).tiny)
            scores = np.max(P / scale, axis=1)
            excess = np.where(scores > threshold, scores - threshold, 0.0)
            tail = float(w @ np.where(scores > threshold, scores, 0.0)) / w.sum()
            removed = 1.0 - w.sum() / n
            if tail <= 2.0 * inlier_tail + 1e-12 or removed >= 2.0 * eps:
                break
            new_w = w * (1.0 - excess / excess.max()).astype(X.dtype, copy=False)
            if new_w.sum() < (1.0 - 2.0 * eps) * n:
                break  # never remove more than about 2 eps of the weight
            w = new_w
        else:
            warnings.warn(
                f"OutlierRobustPCA: the filter did not certify a stable "
                f"covariance in max_iter={self.max_iter} rounds.",
                ConvergenceWarning,
                stacklevel=3,
            )
            final = False
        if not final:
            mean = _weighted_mean(X, w)
            values, V, total_var = _weighted_top_eig(
                X, w, mean, b, rng=self._rng, sq_norms=sq_norms, V0=V0, n_iter=4
            )
        return w, mean, values, V, total_var, n_iter

    def _set_summary(self, W, mean, values, V, total_var):
        self.n_samples_seen_ = float(W)
        self.mean_ = mean
        self._sketch_values = values
        self._sketch_V = V
        self._sketch_total_var = total_var

    def _merge(self, Wc, mean_c, values_c, V_c, total_var_c):
        """Merge a chunk's summary into the running one (incremental PCA)."""
        W = self.n_samples_seen_
        Wt = W + Wc
        delta = mean_c - self.mean_
        coef = W * Wc / Wt
        # Scatter = W C + Wc C_c + coef delta delta^T, kept at rank b.
        Z = np.vstack(
            [
                (np.sqrt(W * self._sketch_values) * self._sketch_V).T,
                (np.sqrt(Wc * values_c) * V_c).T,
                np.sqrt(coef) * delta[None, :],
            ]
        )
        _, s, Vt = linalg.svd(Z, full_matrices=False, check_finite=False)
        b = self._sketch_V.shape[1]
        total = W * self._sketch_total_var + Wc * total_var_c + coef * delta @ delta
        self._set_summary(
            Wt,
            self.mean_ + delta * (Wc / Wt),
            (s[:b] ** 2 / Wt).astype(mean_c.dtype, copy=False),
            Vt[:b].T.astype(mean_c.dtype, copy=False),
            total / Wt,
        )

    def _set_public(self, dtype):
        k = min(self.n_components, self._sketch_V.shape[1])
        components = self._sketch_V[:, :k].T
        signs = flip_signs(components)
        W = self.n_samples_seen_
        correction = W / (W - 1) if W > 1 else 1.0
        self.components_ = (components * signs[:, None]).astype(dtype, copy=False)
        self.explained_variance_ = (self._sketch_values[:k] * correction).astype(
            dtype, copy=False
        )
        total = self._sketch_total_var
        self.explained_variance_ratio_ = (
            self._sketch_values[:k] / total if total > 0 else np.zeros(k)
        ).astype(dtype, copy=False)
        self.mean_ = self.mean_.astype(dtype, copy=False)
        self.n_components_ = k
