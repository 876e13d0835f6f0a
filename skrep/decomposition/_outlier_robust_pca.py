"""Outlier-robust PCA in nearly-linear time, with a streaming variant.

``OutlierRobustPCA`` estimates the top principal subspace of the inliers when
an ``eps`` fraction of the rows are arbitrary (the strong contamination
model), by iterative filtering as in Diakonikolas, Kane, Pensia & Pittas
(ICML 2023): rows are scored through a high power of the weighted covariance
applied to a few Gaussian sketch vectors (matrix products with thin blocks
only, never a d x d matrix unless d is small), and the rows whose scores are
too large for Gaussian inliers are down-weighted until the weighted
covariance is certified stable.
"""

import math
import warnings
from numbers import Integral, Real

import numpy as np
from scipy import stats
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import validate_data

from skrep.decomposition._base import _LinearSubspace
from skrep.utils._array_api import get_namespace_and_device, to_namespace, to_numpy
from skrep.utils._compat import Interval, StrOptions, _fit_context, _median
from skrep.utils._compat import device as _device
from skrep.utils.extmath import flip_signs
from skrep.utils.validation import check_n_components

__all__ = ["OutlierRobustPCA"]

# Extra directions tracked beyond n_components: they make the block power
# iteration converge fast and keep the streaming summary accurate.
_N_OVERSAMPLES = 8

# Up to this dimension the d x d weighted covariance is formed (one O(n d^2)
# BLAS product, at most 2 MiB): cheaper than the block products of the
# matrix-free power iterations, O(n d b) each, as long as d < ~500.
_MAX_DENSE_FEATURES = 512

# Gaussian sketch vectors z_j of the scores tau_i = sum_j (z_j^T M^p x_i)^2.
_N_SKETCHES = 8

# eps='auto': false-alarm level of the detection pass (the probability that
# a Gaussian inlier scores above its threshold).
_AUTO_LEVEL = 0.01

# Never remove more than half of the weight: under the contamination model
# (eps < 1/2) the inliers are the majority.
_MAX_REMOVED = 0.5

# The tail test: certified stable when the weighted score mass above the
# threshold is at most this multiple of what Gaussian inliers put there.
_TAIL_FACTOR = 1.5


def _sketch_power(n_features):
    """The power p of the weighted covariance in the sketched scores.

    ``M^p`` damps an eigenvalue ``lambda`` relative to the top one by
    ``(lambda / lambda_1)^p``; ``p = ceil(ln d)`` (at least 2) makes the
    ``d`` eigenvalues below ``lambda_1 / e`` contribute together at most a
    constant fraction of the top one's share of the scores.
    """
    return max(2, math.ceil(math.log(max(n_features, 2))))


def _weighted_mean(X, w, xp):
    return (w @ X) / xp.sum(w)


def _weighted_median(values, w, xp):
    """Weighted median of a 1-d array (a Python float)."""
    order = xp.argsort(values)
    cum = xp.cumulative_sum(xp.take(w, order))
    half = xp.reshape(0.5 * cum[-1], (1,))
    i = xp.take(order, xp.searchsorted(cum, half))
    return float(xp.take(values, i)[0])


def _coordinate_median(X, xp, is_np, rng):
    """Coordinate-wise median of (at most 20,000 random) rows."""
    n = X.shape[0]
    if n > 20_000:
        idx = rng.choice(n, 20_000, replace=False)
        X = X[idx] if is_np else xp.take(X, to_namespace(idx, xp, _device(X)), axis=0)
    if is_np:
        return np.median(np.ascontiguousarray(X.T), axis=1).astype(X.dtype)
    return _median(X, axis=0, xp=xp)


def _excess_fraction(scores, law, xp):
    """Fraction of rows above what Gaussian inliers put in the score tail.

    For thresholds ``t`` at the inlier levels 10 % ... 0.1 %, the fraction
    ``F(t)`` of all rows (whatever their weight) scoring above ``t`` exceeds
    the inliers' share ``S(t)`` by the outliers there:
    ``eps >= (F(t) - S(t)) / (1 - S(t))``, less two binomial standard errors.
    ``law`` is ``(S, S^-1)``, the inliers' survival function and its inverse.
    The largest of these lower bounds is returned.
    """
    n = scores.shape[0]
    survival, inverse_survival = law
    best = 0.0
    for level in (0.1, 0.05, 0.02, 0.01, 0.005, 0.002, 0.001):
        t = inverse_survival(level)
        S = survival(t)
        F = float(xp.sum(xp.astype(scores > t, scores.dtype))) / n
        best = max(best, (F - S - 2.0 * math.sqrt(S * (1.0 - S) / n)) / (1.0 - S))
    return best


class _WeightedCovariance:
    """``C = sum_i w_i (x_i - mean)(x_i - mean)^T / sum_i w_i`` as an operator.

    For ``d <= 512`` the d x d matrix is formed (one O(n d^2) product, cheaper
    there) from the weighted scatter around a fixed ``centre``,
    ``sum_i w_i (x_i - centre)(x_i - centre)^T = W (C + delta delta^T)`` with
    ``delta = mean - centre``; :meth:`reweighted` downdates that scatter by the
    rows whose weight the filter lowered, in O(changed rows * d^2). Otherwise
    ``C`` is only applied to thin blocks ``Q`` as ``X^T (w * ((X - mean) Q))``
    in O(n d b).
    """

    def __init__(self, X, w, mean, *, xp, sq_norms, scatter=None):
        self.X, self.w, self.mean = X, w, mean
        self.xp = xp
        self.sq_norms = sq_norms
        self.wsum = float(xp.sum(w))
        self.dense = X.shape[1] <= _MAX_DENSE_FEATURES
        self._eig = None
        if self.dense:
            if scatter is None:
                Xc = (X - mean) * xp.sqrt(w)[:, None]
                scatter = (mean, Xc.T @ Xc)
            self.scatter = scatter
            centre, total = scatter
            delta = mean - centre
            self.C = total / self.wsum - delta[:, None] * delta[None, :]

    def reweighted(self, w, mean):
        """The operator of the weights ``w <= self.w`` (and their mean)."""
        xp = self.xp
        if not self.dense:
            return _WeightedCovariance(self.X, w, mean, xp=xp, sq_norms=self.sq_norms)
        centre, total = self.scatter
        lowered = self.w - w
        rows = xp.nonzero(lowered > 0)[0]
        Xc = (xp.take(self.X, rows, axis=0) - centre) * xp.sqrt(xp.take(lowered, rows))[
            :, None
        ]
        return _WeightedCovariance(
            self.X,
            w,
            mean,
            xp=xp,
            sq_norms=self.sq_norms,
            scatter=(centre, total - Xc.T @ Xc),
        )

    def matmat(self, Q):
        if self.dense:
            return self.C @ Q
        xp, X, mean = self.xp, self.X, self.mean
        P = (X @ Q - mean @ Q) * self.w[:, None]
        return (X.T @ P - mean[:, None] * xp.sum(P, axis=0)[None, :]) / self.wsum

    def top_eig(self, b, *, rng, V0=None, n_iter=4):
        """Top-``b`` eigenpairs (decreasing) and trace; cached per operator."""
        if self._eig is not None and self._eig[0] >= n_iter:
            return self._eig[1]
        xp = self.xp
        d = self.X.shape[1]
        if self.dense:
            values, V = xp.linalg.eigh(self.C)
            total_var = float(xp.sum(values))
            values, V = xp.flip(values)[:b], xp.flip(V, axis=1)[:, :b]
            result = (xp.clip(values, 0, None), V, total_var)
            self._eig = (np.inf, result)
            return result
        total_var = float(self.w @ self.sq_norms) / self.wsum - float(
            self.mean @ self.mean
        )
        Q = to_namespace(
            rng.standard_normal((d, b)), xp, _device(self.X), dtype=self.X.dtype
        )
        if V0 is not None:
            r = min(V0.shape[1], b)
            Q = xp.concat([V0[:, :r], Q[:, r:]], axis=1)
        Q = xp.linalg.qr(Q)[0]
        for _ in range(n_iter):
            Q = xp.linalg.qr(self.matmat(Q))[0]
        H = Q.T @ self.matmat(Q)
        values, E = xp.linalg.eigh((H + H.T) / 2)
        values, E = xp.flip(values), xp.flip(E, axis=1)
        result = (xp.clip(values, 0, None), Q @ E, max(total_var, 0.0))
        self._eig = (n_iter, result)
        return result


class OutlierRobustPCA(_LinearSubspace):
    """PCA robust to an eps fraction of arbitrary rows, in nearly-linear time.

    Under the strong contamination model (an adversary replaces up to
    ``eps * n_samples`` rows by arbitrary points), ordinary PCA can be steered
    to any direction. This estimator finds the top principal subspace of the
    inliers by *filtering* (Diakonikolas, Kane, Pensia & Pittas, 2023). Each
    round, with ``M`` the current weighted covariance and ``mu`` the weighted
    mean:

    1. (``filter="sketch"``, the paper's filter) every row gets the score
       ``tau_i = sum_j (z_j^T M^p (x_i - mu))^2`` for ``8`` Gaussian sketch
       vectors ``z_j`` (a Johnson-Lindenstrauss estimate of
       ``||M^p (x_i - mu)||^2``), with ``p = ceil(ln d)``: ``M^p z_j`` costs
       ``p`` products of ``M`` with a thin block (matrix-vector products
       only). The high power concentrates the scores on *all* the directions
       of near-top variance at once, so outliers hiding in any of them are
       seen in the same round;
    2. the scores are put on the scale of Gaussian inliers: those follow a
       generalized chi-square law, matched by moments to a chi-square law
       with ``nu`` degrees of freedom (``nu`` from the ``8 x 8`` Gram matrix
       of the sketch), and divided by their weighted median over the median
       of that law;
    3. if the weighted mass of the scores above the level ``T`` that a
       Gaussian inlier exceeds with probability ``eps`` is more than 1.5 times
       what Gaussian inliers put there, the rows above ``T`` are down-weighted
       in proportion to their excess score, and the round repeats; otherwise
       the weighted covariance is *certified stable* in those directions.

    For ``n_components > 1`` the filter runs by *deflation*: stage ``j``
    scores the rows through the power of ``M`` restricted to the orthogonal
    complement of its top ``j - 1`` eigenvectors (weights are shared by all
    stages), and the fit stops when all ``n_components`` stages are certified
    in a row with the same weights. The output is then the top eigenvectors
    of the final weighted covariance (block power iteration).
    ``filter="eigen"`` is the simpler *block* variant: each round scores rows
    by ``max_j (v_j^T (x - mu))^2 / sigma_j^2`` over the exact top
    ``n_components`` eigenvectors ``v_j`` of ``M`` (``sigma_j^2`` a robust
    variance), with the threshold at ``eps / n_components``.

    At most ``min(2 eps, 1/2)`` of the total weight is ever removed.
    ``eps=0`` gives ordinary PCA. ``eps="auto"`` first runs the filter at a
    fixed false-alarm level (1 %, no prior on ``eps``) and takes the fraction
    of weight it removed before certifying stability as the estimate ``eps_``
    (outliers within the bulk of the inliers, which cannot tilt the subspace
    much, are not counted); the fit then runs with ``eps = eps_``.

    ``partial_fit`` is the single-pass streaming variant: each chunk is
    filtered as above (also against the running model's directions),
    summarized by its weighted mean and the top ``n_components + 8``
    eigenpairs of its weighted covariance, and merged into the running
    summary as in incremental PCA. The state is O(d (n_components + 8)),
    never O(n_samples).

    Time: O(n d (8 ln d + n_components + 8)) per filtering round, a few
    rounds (nearly linear in n d); ``eps="auto"`` about doubles it. Peak
    memory of ``fit``: the data plus O(n (n_components + 8)) and
    O(d (n_components + 8)); the d x d covariance is formed only when
    d <= 512.

    Read more in the :ref:`User Guide <decomposition>`.

    Parameters
    ----------
    n_components : int, default=1
        Dimension of the principal subspace.
    eps : float or "auto", default=0.1
        Assumed fraction of outlying rows, in [0, 0.5). Sets the filter
        threshold and the cap on the weight removed. ``"auto"`` estimates it
        from the data (see ``eps_``).
    filter : {"sketch", "eigen"}, default="sketch"
        How rows are scored: through a power of the weighted covariance
        applied to Gaussian sketches, one deflation stage per component (the
        paper's filter), or against the exact top eigenvectors, all
        components at once (block variant).
    max_iter : int, default=100
        Maximum number of filtering rounds per ``fit`` (or per chunk).
    random_state : int, RandomState instance or None, default=None
        Seeds the sketches and the starting blocks of the power iterations.

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
    eps_ : float
        The contamination fraction used: ``eps``, or its estimate when
        ``eps="auto"`` (in streaming, the row-weighted average of the
        chunks' estimates).
    inlier_weights_ : ndarray of shape (n_samples,)
        Final weights in [0, 1] of the rows of the last ``fit`` or
        ``partial_fit`` call (0: removed as an outlier).
    n_components_ : int
        Number of components.
    n_iter_ : int
        Filtering rounds of the last ``fit`` or ``partial_fit`` call (both
        passes with ``eps="auto"``).
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

    Notes
    -----
    The constants (8 sketches, ``p = ceil(ln d)``, the factor 1.5 of the
    tail test, the moment-matched chi-square law, the 1 % level of the
    ``"auto"`` pass) are practical choices, checked on contaminated
    Gaussians, not the paper's. The paper states its guarantee,
    ``v^T Sigma v >= (1 - O(eps log 1/eps)) ||Sigma||_op``, for one
    direction; deflation extends it to ``n_components`` directions.

    Array API: with ``sklearn.set_config(array_api_dispatch=True)``, ``fit``
    and ``partial_fit`` accept CuPy (or any array-API) arrays and run on
    their device: the products with the data, the sketches' powers, the
    scores, their weighted medians and the re-weighting stay there; only
    the ``8 x 8`` Gram matrix of the sketch, the component signs and Python
    scalars go to the host. The random draws are made on the host with the
    same generator as the numpy path, so both paths give the same result.

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
    >>> auto = OutlierRobustPCA(eps="auto", random_state=0).fit(X)
    >>> round(auto.eps_, 2)
    0.1
    """

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "eps": [Interval(Real, 0, 0.5, closed="left"), StrOptions({"auto"})],
        "filter": [StrOptions({"sketch", "eigen"})],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        n_components=1,
        *,
        eps=0.1,
        filter="sketch",
        max_iter=100,
        random_state=None,
    ):
        self.n_components = n_components
        self.eps = eps
        self.filter = filter
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
        xp, is_array_api, _ = get_namespace_and_device(X)
        xp = xp if is_array_api else np
        X = validate_data(self, X, dtype=[xp.float64, xp.float32])
        check_n_components(self.n_components, X)
        self._rng = check_random_state(self.random_state)
        eps, w, mean, values, V, total_var, n_iter = self._fit_batch(X, xp)
        self._set_summary(float(xp.sum(w)), mean, values, V, total_var)
        self.eps_ = eps
        self._n_rows_seen = X.shape[0]
        self.inlier_weights_ = w
        self.n_iter_ = n_iter
        self._set_public(X.dtype, xp)
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
        xp, is_array_api, _ = get_namespace_and_device(X)
        xp = xp if is_array_api else np
        X = validate_data(self, X, dtype=[xp.float64, xp.float32], reset=first)
        check_n_components(self.n_components, X, limit="n_features")
        if first:
            self._rng = check_random_state(self.random_state)
        prior = None if first else self._sketch_V
        eps, w, mean, values, V, total_var, n_iter = self._fit_batch(X, xp, prior=prior)
        W = float(xp.sum(w))
        if first:
            self._set_summary(W, mean, values, V, total_var)
            self._n_rows_seen = 0
            self.eps_ = 0.0
        else:
            self._merge(W, mean, values, V, total_var, xp)
        n = X.shape[0]
        self.eps_ = (self.eps_ * self._n_rows_seen + eps * n) / (self._n_rows_seen + n)
        self._n_rows_seen += n
        self.inlier_weights_ = w
        self.n_iter_ = n_iter
        self._set_public(X.dtype, xp)
        return self

    # ------------------------------------------------------------ internals
    def _fit_batch(self, X, xp, prior=None):
        """Estimate eps if asked, then filter; returns eps and the summary."""
        n_iter = 0
        if isinstance(self.eps, str):  # "auto": a detection pass first
            certified = []
            (w, n_iter), *_ = self._filter(
                X,
                xp,
                level=_AUTO_LEVEL,
                cap=_MAX_REMOVED,
                prior=prior,
                record=certified,
            )
            removed = 1.0 - float(xp.sum(w)) / X.shape[0]
            excess = max(
                [_excess_fraction(s, law, xp) for s, law in certified],
                default=0.0,
            )
            eps = min(max(removed, excess, 0.0), 0.49)
        else:
            eps = float(self.eps)
        (w, n_iter_filter), mean, values, V, total_var = self._filter(
            X, xp, level=eps, cap=min(2.0 * eps, _MAX_REMOVED), prior=prior
        )
        return eps, w, mean, values, V, total_var, n_iter + n_iter_filter

    def _filter(self, X, xp, *, level, cap, prior=None, record=None):
        """Filtering rounds on one batch.

        ``level``: probability that a Gaussian inlier scores above the
        threshold (``eps``); ``cap``: the largest fraction of weight removed;
        ``record``: a list to which the scores of every certified stage are
        appended, with the survival function of their inlier law and its
        inverse (then only the weights are returned, not the summary).
        Returns ``((weights, n_iter), mean, values, V, total_var)``.
        """
        is_np = xp is np
        n, d = X.shape
        k = self.n_components
        b = min(k + _N_OVERSAMPLES, d)
        k = min(k, b)
        rng = self._rng
        device = _device(X)
        w = xp.ones(n, dtype=X.dtype, device=device)
        if d > _MAX_DENSE_FEATURES:
            sq_norms = np.einsum("ij,ij->i", X, X) if is_np else xp.sum(X * X, axis=1)
        else:
            sq_norms = None

        def operator(w, mean):
            return _WeightedCovariance(X, w, mean, xp=xp, sq_norms=sq_norms)

        if level == 0:
            op = operator(w, _weighted_mean(X, w, xp))
            return (w, 1), op.mean, *op.top_eig(b, rng=rng, n_iter=4)
        if self.filter == "sketch":
            stages = list(range(k)) + (["prior"] if prior is not None else [])
        else:
            stages = ["block"]
        op = operator(w, _coordinate_median(X, xp, is_np, rng))
        op_is_final = False  # whether op's centre is the weighted mean
        V0 = None if prior is None else prior
        stage, certified, n_iter = 0, 0, 0
        for round_ in range(1, self.max_iter + 1):
            n_iter, kind = round_, stages[stage]
            if kind == "block" or (kind != "prior" and kind > 0):
                V = op.top_eig(b, rng=rng, V0=V0, n_iter=4 if V0 is None else 2)[1]
                V0 = V
            if kind == "block":
                dirs = V[:, :k]
                if prior is not None:
                    dirs = xp.concat([dirs, prior[:, :k]], axis=1)
                scores, threshold, inlier_tail, law = self._block_scores(
                    X, w, op.mean, dirs, level, xp
                )
            elif kind == "prior":
                scores, threshold, inlier_tail, law = self._block_scores(
                    X, w, op.mean, prior[:, :k], level, xp
                )
            else:
                scores, threshold, inlier_tail, law = self._sketch_scores(
                    X, w, op, V[:, :kind] if kind > 0 else None, level, xp
                )
            above = xp.astype(scores > threshold, X.dtype)
            wsum = op.wsum
            tail = float(xp.sum(w * scores * above)) / wsum
            if tail <= _TAIL_FACTOR * inlier_tail + 1e-12:
                # Certified stable in this stage's directions.
                certified += 1
                if record is not None:
                    record.append((scores, law))
                if certified == len(stages):
                    break
                stage = (stage + 1) % len(stages)
                continue
            if 1.0 - wsum / n >= cap:
                break
            excess = (scores - threshold) * above
            new_w = w * (1.0 - excess / xp.max(excess))
            if float(xp.sum(new_w)) < (1.0 - cap) * n:
                break  # never remove more than cap of the weight
            w, certified = new_w, 0
            op = op.reweighted(w, _weighted_mean(X, w, xp))
            op_is_final = True
        else:
            warnings.warn(
                f"OutlierRobustPCA: the filter did not certify a stable "
                f"covariance in max_iter={self.max_iter} rounds.",
                ConvergenceWarning,
                stacklevel=5,
            )
        if record is not None:  # a detection pass: only the weights matter
            return (w, n_iter), None, None, None, None
        if not op_is_final:
            op = op.reweighted(w, _weighted_mean(X, w, xp))
        values, V, total_var = op.top_eig(b, rng=rng, V0=V0, n_iter=4)
        return (w, n_iter), op.mean, values, V, total_var

    @staticmethod
    def _block_scores(X, w, mean, dirs, level, xp):
        """Scores ``max_j (v_j^T (x - mean))^2 / sigma_j^2`` (robust sigma_j)."""
        c = dirs.shape[1]
        P = X @ dirs - mean @ dirs
        P = P * P
        # Robust variance along each direction (weighted median of the
        # squared projections): outliers inflate the weighted variance but
        # not the median, so inliers score like chi-square(1).
        median = float(stats.chi2.median(1))
        tiny = float(np.finfo(np.float32).tiny)
        scores = None
        for j in range(c):
            scale = max(_weighted_median(P[:, j], w, xp) / median, tiny)
            s = P[:, j] / scale
            scores = s if scores is None else xp.maximum(scores, s)
        threshold = float(stats.chi2.isf(level / c, df=1))
        # Mass E[s 1{s > T}] that c Gaussian directions put above T (the
        # identity E[Z^2 1{Z^2 > T}] = P(chi2_3 > T) per direction).
        return (
            scores,
            threshold,
            c * float(stats.chi2.sf(threshold, df=3)),
            (  # the law of the largest of c independent chi2_1
                lambda t: 1.0 - float(stats.chi2.cdf(t, df=1)) ** c,
                lambda q: float(stats.chi2.isf(1.0 - (1.0 - q) ** (1.0 / c), df=1)),
            ),
        )

    def _sketch_scores(self, X, w, op, deflate, level, xp):
        """The paper's scores ``tau_i = sum_j (z_j^T M^p (x_i - mean))^2``."""
        d = X.shape[1]
        Y = self._rng.standard_normal((d, _N_SKETCHES))
        if xp is np:
            Y = Y.astype(X.dtype, copy=False)
        else:
            Y = to_namespace(Y, xp, _device(X), dtype=X.dtype)

        def project(Y):
            return Y if deflate is None else Y - deflate @ (deflate.T @ Y)

        for _ in range(_sketch_power(d)):
            Y = op.matmat(project(Y))
            norm = float(xp.sqrt(xp.sum(Y * Y)))
            if norm > 0:  # one common scale: the scores are relative
                Y = Y / norm
        Y = project(Y)
        P = X @ Y - op.mean @ Y
        tau = xp.sum(P * P, axis=1)
        # For Gaussian inliers tau is a generalized chi-square with weights
        # the eigenvalues of Y^T Sigma Y: match its first two moments with a
        # scaled chi-square law with nu degrees of freedom (Satterthwaite).
        G = to_numpy((P * w[:, None]).T @ P, xp) / op.wsum
        mu = np.clip(np.linalg.eigvalsh((G + G.T) / 2), 0, None)
        nu = float(mu.sum() ** 2 / max((mu**2).sum(), np.finfo(float).tiny))
        nu = max(nu, 1.0)
        tiny = float(np.finfo(np.float32).tiny)
        scale = max(_weighted_median(tau, w, xp) / float(stats.chi2.median(nu)), tiny)
        threshold = float(stats.chi2.isf(level, df=nu))
        # E[s 1{s > T}] for s ~ chi2_nu equals nu P(chi2_{nu + 2} > T).
        inlier_tail = nu * float(stats.chi2.sf(threshold, df=nu + 2))
        return (
            tau / scale,
            threshold,
            inlier_tail,
            (
                lambda t: float(stats.chi2.sf(t, df=nu)),
                lambda q: float(stats.chi2.isf(q, df=nu)),
            ),
        )

    def _set_summary(self, W, mean, values, V, total_var):
        self.n_samples_seen_ = float(W)
        self.mean_ = mean
        self._sketch_values = values
        self._sketch_V = V
        self._sketch_total_var = total_var

    def _merge(self, Wc, mean_c, values_c, V_c, total_var_c, xp):
        """Merge a chunk's summary into the running one (incremental PCA)."""
        W = self.n_samples_seen_
        Wt = W + Wc
        delta = mean_c - self.mean_
        coef = W * Wc / Wt
        # Scatter = W C + Wc C_c + coef delta delta^T, kept at rank b.
        Z = xp.concat(
            [
                (xp.sqrt(W * self._sketch_values) * self._sketch_V).T,
                (xp.sqrt(Wc * values_c) * V_c).T,
                math.sqrt(coef) * delta[None, :],
            ],
            axis=0,
        )
        _, s, Vt = xp.linalg.svd(Z, full_matrices=False)
        b = self._sketch_V.shape[1]
        total = (
            W * self._sketch_total_var
            + Wc * total_var_c
            + coef * float(xp.sum(delta * delta))
        )
        dtype = mean_c.dtype
        self._set_summary(
            Wt,
            self.mean_ + delta * (Wc / Wt),
            xp.astype(s[:b] ** 2 / Wt, dtype),
            xp.astype(Vt[:b, :].T, dtype),
            total / Wt,
        )

    def _set_public(self, dtype, xp):
        k = min(self.n_components, self._sketch_V.shape[1])
        components = self._sketch_V[:, :k].T
        signs = flip_signs(components)
        W = self.n_samples_seen_
        correction = W / (W - 1) if W > 1 else 1.0
        self.components_ = xp.astype(components * signs[:, None], dtype)
        self.explained_variance_ = xp.astype(
            self._sketch_values[:k] * correction, dtype
        )
        total = self._sketch_total_var
        ratio = (
            self._sketch_values[:k] / total
            if total > 0
            else self._sketch_values[:k] * 0
        )
        self.explained_variance_ratio_ = xp.astype(ratio, dtype)
        self.mean_ = xp.astype(self.mean_, dtype)
        self.n_components_ = k

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.array_api_support = True
        return tags
