"""Leverage-score sampling for active regression: pivotal and Bernoulli."""

import math
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array, validate_data

from skrep.active._kernels import build_tree, pivotal_tournament
from skrep.active._pool import (
    check_2d,
    fingerprint,
    no_unlabelled_message,
    unlabeled_mask,
)
from skrep.utils._compat import StrOptions, _fit_context, _num_samples
from skrep.utils._threads import threads_for
from skrep.utils.extmath import unit_scale

__all__ = ["LeverageScoreSampler", "inclusion_probabilities", "leverage_scores"]

_EPS = 1e-12


def leverage_scores(A):
    """Statistical leverage scores of the rows of ``A``.

    ``tau_i = ||U_i||^2`` for an orthonormal basis ``U`` of the column space
    of ``A`` (thin QR, then an SVD of the small triangular factor, so that a
    rank-deficient ``A`` is handled); ``sum(tau) = rank(A)``. O(n d^2) time,
    O(n d) memory.

    Parameters
    ----------
    A : array-like of shape (n_samples, n_features)

    Returns
    -------
    tau : ndarray of shape (n_samples,)

    Examples
    --------
    >>> import numpy as np
    >>> from skrep.active._leverage import leverage_scores
    >>> leverage_scores(np.eye(3)[:, :2]).tolist()
    [1.0, 1.0, 0.0]
    """
    A = np.asarray(A, dtype=np.float64)
    n, d = A.shape
    if n == 0 or d == 0:
        return np.zeros(n)
    if n >= d:
        Q, R = np.linalg.qr(A, mode="reduced")
        U, s, _ = np.linalg.svd(R)
        rank = int(np.sum(s > s[0] * max(n, d) * np.finfo(float).eps)) if s[0] else 0
        B = Q @ U[:, :rank]
    else:
        U, s, _ = np.linalg.svd(A, full_matrices=False)
        rank = int(np.sum(s > s[0] * max(n, d) * np.finfo(float).eps)) if s[0] else 0
        B = U[:, :rank]
    tau = np.einsum("ij,ij->i", B, B)
    return np.clip(tau, 0.0, 1.0)


def inclusion_probabilities(weights, k):
    """Inclusion probabilities ``p_i = min(1, c * w_i)`` that sum to ``k``.

    The constant ``c`` is found exactly: rows are sorted by weight, the
    largest ones are capped at one, and ``c`` spreads the rest of ``k`` over
    the others. O(n + k log k).

    Parameters
    ----------
    weights : array-like of shape (n,)
        Non-negative weights (leverage scores).
    k : int
        Expected sample size; at most the number of positive weights.

    Returns
    -------
    p : ndarray of shape (n,)

    Examples
    --------
    >>> from skrep.active._leverage import inclusion_probabilities
    >>> inclusion_probabilities([4.0, 1.0, 1.0, 1.0, 1.0], 3).tolist()
    [1.0, 0.5, 0.5, 0.5, 0.5]
    """
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 1 or np.any(~np.isfinite(w)) or np.any(w < 0):
        raise ValueError("weights must be a 1-D array of finite non-negative numbers.")
    n_pos = int(np.count_nonzero(w > 0))
    if k > n_pos:
        raise ValueError(
            f"Cannot draw {k} rows: only {n_pos} rows have a positive leverage "
            "score (probability of being drawn)."
        )
    if k == 0:
        return np.zeros_like(w)
    # at most k - 1 rows are capped: only the k largest weights are sorted
    n = w.shape[0]
    top = np.argpartition(-w, k - 1)[:k] if k < n else np.arange(n)
    order = top[np.argsort(-w[top], kind="stable")]
    t = w[order]
    prefix = np.concatenate([[0.0], np.cumsum(t)[:-1]])  # sum of the m largest
    m = np.arange(k)
    c = (k - m) / (w.sum() - prefix)
    m_star = int(np.argmax(c * t[:k] <= 1.0 + 1e-12))
    c_star = c[m_star]
    p = np.minimum(1.0, c_star * w)
    p[order[:m_star]] = 1.0
    return p


def _warn_if_marker_may_be_a_target(y, unlabeled, missing_label):
    """Warn when ``missing_label`` marks rows of a real-valued target.

    Regression targets with fractions are not labels: among them a value
    equal to a numeric marker (the default -1) may be a real target, which
    is then silently taken for unlabelled. NaN is the unambiguous marker.
    """
    y = np.asarray(y)
    if y.dtype.kind != "f" or isinstance(missing_label, str) or np.isnan(missing_label):
        return
    marked = unlabeled & ~np.isnan(y)
    targets = y[~unlabeled]
    if np.any(marked) and np.any(targets != np.round(targets)):
        warnings.warn(
            f"{int(marked.sum())} values of y equal missing_label="
            f"{missing_label!r} and are taken as unlabelled, but y looks like a "
            "real-valued target (it has non-integer values), which may take "
            "that value. Mark unlabelled rows with NaN and set "
            "missing_label=np.nan.",
            UserWarning,
            stacklevel=4,
        )


class LeverageScoreSampler(BaseEstimator):
    """Leverage-score sampling for regression, pivotal or independent.

    To fit a linear model in features ``A = features(X)`` (e.g. polynomials
    of a low-dimensional input ``X``) from few labels, row ``i`` is drawn
    with probability ``p_i = min(1, c * tau_i)``, where ``tau_i`` is its
    leverage score and ``c`` makes ``sum(p) = k``; the model is then fitted
    by least squares weighted by ``1 / p_i``. The independent (Bernoulli)
    sampler draws each row on its own. The pivotal sampler (Shimizu et al.,
    2024) draws the same marginals but dependently: a binary tree splits the
    raw inputs ``X`` at medians (cycling through the coordinates, or along
    each cell's principal direction), and a tournament from the leaves up
    lets neighbouring rows compete for their combined probability, so that
    ``P(i in S) = p_i`` exactly, ``|S| = k`` always, and the sample is spread
    over the input space. It reaches the error of Bernoulli leverage sampling
    with markedly fewer labels for smooth targets.

    Leverage scores cost O(n d^2) time and O(n d) memory for ``d`` features;
    the tree O(n log^2 n) time and O(n) memory; a draw O(n).

    Parameters
    ----------
    features : transformer or None, default=None
        Maps ``X`` to the regression features ``A`` (e.g.
        ``PolynomialFeatures(degree=7)``); it is cloned and fitted on the pool.
        None uses ``X`` itself.
    method : {"pivotal", "bernoulli"}, default="pivotal"
        Dependent (pivotal) or independent sampling.
    tree : {"coordinate", "pca"}, default="coordinate"
        How the pivotal sampler's tree splits a cell: at the median of one
        coordinate, cycling with depth, or at the median of the projection on
        the cell's first principal direction.
    missing_label : scalar or str, default=-1
        The value of ``y`` that marks unlabelled rows, as for the query
        strategies (NaN and None are always unlabelled). Targets that may
        equal -1 are best marked with NaN and ``missing_label=np.nan``: a
        real-valued ``y`` (one with non-integer values) in which some values
        equal a numeric ``missing_label`` draws a warning.
    random_state : int, RandomState instance or None, default=None
        The random draw.

    Attributes
    ----------
    n_features_in_ : int
        Number of input features seen by :meth:`fit`.
    leverage_scores_ : ndarray of shape (n_samples,)
        Leverage scores of the rows of the fitted pool.

    See Also
    --------
    MarginSampler : Query strategy for classification.

    References
    ----------
    .. [1] A. Shimizu, X. Cheng, C. Musco and J. Weare, "Improved Active
       Learning via Dependent Leverage Score Sampling", ICLR 2024.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.preprocessing import PolynomialFeatures
    >>> from skrep.active import LeverageScoreSampler
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(-1, 1, size=(500, 2))
    >>> sampler = LeverageScoreSampler(PolynomialFeatures(3), random_state=0)
    >>> idx, p = sampler.query(X, batch_size=20, return_probabilities=True)
    >>> idx.shape, bool(np.all((0 < p) & (p <= 1)))
    ((20,), True)
    """

    _parameter_constraints = {
        "features": "no_validation",
        "method": [StrOptions({"pivotal", "bernoulli"})],
        "tree": [StrOptions({"coordinate", "pca"})],
        "missing_label": [Real, str],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        features=None,
        *,
        method="pivotal",
        tree="coordinate",
        missing_label=-1,
        random_state=None,
    ):
        self.features = features
        self.method = method
        self.tree = tree
        self.missing_label = missing_label
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Compute the leverage scores (and the pivotal tree) of a pool.

        Later queries on the same pool (the same values: a pool changed in
        place since is not the same) reuse them. Fitting is optional:
        :meth:`query` computes them when needed.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The pool's inputs.
        y : None
            Ignored.

        Returns
        -------
        self : object
        """
        check_2d(X)
        X = validate_data(self, X, dtype=[np.float64, np.float32])
        self.leverage_scores_ = leverage_scores(self._features(X))
        self._pool_key = self._key(X)
        self._tree = None
        return self

    def _key(self, X):
        """What the fitted scores and tree depend on: the pool and features."""
        from joblib import hash as joblib_hash

        return fingerprint(X), joblib_hash(self.features)

    def _features(self, X):
        if self.features is None:
            return np.asarray(X, dtype=np.float64)
        A = np.asarray(clone(self.features).fit_transform(X), dtype=np.float64)
        if not np.all(np.isfinite(A)):
            raise ValueError(
                f"The features {type(self.features).__name__} of X contain NaN "
                "or infinity (e.g. high powers of large entries overflow); "
                "rescale X."
            )
        return A

    def query(
        self,
        X,
        y=None,
        estimator=None,
        *,
        batch_size=1,
        candidates=None,
        scores=None,
        return_probabilities=False,
    ):
        """Draw rows of ``X`` to label.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The pool's inputs (for the tree and, through ``features``, the
            leverage scores).
        y : array-like of shape (n_samples,), default=None
            Targets with ``missing_label`` (or NaN) for unlabelled rows; only
            unlabelled rows are drawn. None: every row is unlabelled.
        estimator : None
            Ignored; leverage sampling does not depend on a model.
        batch_size : int, default=1
            ``k``: the sample size (exact for the pivotal method, expected for
            the Bernoulli method).
        candidates : array-like of int, default=None
            Draw among these unlabelled rows only.
        scores : array-like of shape (n_samples,), default=None
            Precomputed non-negative sampling weights (leverage scores) for
            the rows of ``X``.
        return_probabilities : bool, default=False
            Also return the inclusion probabilities of the drawn rows; weight
            them by ``1 / p`` in the least-squares fit.

        Returns
        -------
        indices : ndarray of int
            The drawn rows, sorted.
        probabilities : ndarray of float
            Only when ``return_probabilities``: ``P(i in S)`` of each drawn row.
        """
        self._validate_params()
        rng = check_random_state(self.random_state)
        p, pool, tree = self._probabilities(X, y, candidates, scores, batch_size)
        if self.method == "bernoulli":
            picked = np.flatnonzero(rng.random(p.shape[0]) < p)
        else:
            order, lo, _, left, right = tree
            u = rng.random(lo.shape[0])
            mask = pivotal_tournament(order, lo, left, right, p, batch_size, u, 1e-9)
            picked = np.flatnonzero(mask)
        indices = pool[picked]
        if return_probabilities:
            return indices, p[picked]
        return indices

    def inclusion_probabilities(
        self, X, y=None, *, batch_size=1, candidates=None, scores=None
    ):
        """Inclusion probability of every row for a sample of ``batch_size``.

        Parameters
        ----------
        X, y, batch_size, candidates, scores
            As in :meth:`query`.

        Returns
        -------
        p : ndarray of shape (n_samples,)
            ``P(i in S)``; zero for labelled rows and non-candidates; sums to
            ``batch_size``.
        """
        self._validate_params()
        p, pool, _ = self._probabilities(
            X, y, candidates, scores, batch_size, need_tree=False
        )
        full = np.zeros(_num_samples(X))
        full[pool] = p
        return full

    def _probabilities(self, X, y, candidates, scores, batch_size, need_tree=True):
        check_2d(X)
        X = check_array(X, dtype=[np.float64, np.float32])
        n = X.shape[0]
        if not isinstance(batch_size, Integral | np.integer) or batch_size < 1:
            raise ValueError(
                f"batch_size must be a positive integer, got {batch_size!r}."
            )
        if y is None:
            unlabeled = np.ones(n, dtype=bool)
        else:
            unlabeled = unlabeled_mask(y, self.missing_label)
            if unlabeled.shape[0] != n:
                raise ValueError(
                    f"y has {unlabeled.shape[0]} values but X has {n} rows."
                )
            _warn_if_marker_may_be_a_target(y, unlabeled, self.missing_label)
        if candidates is None:
            pool = np.flatnonzero(unlabeled)
        else:
            pool = np.asarray(candidates)
            if pool.ndim != 1 or (pool.size and pool.dtype.kind not in "iu"):
                raise ValueError("candidates must be a 1-D array of row indices.")
            if pool.size and (pool.min() < 0 or pool.max() >= n):
                raise ValueError(f"candidates must be indices in [0, {n}).")
            pool = np.unique(pool)
            if not np.all(unlabeled[pool]):
                raise ValueError("candidates contains labelled rows.")
        if pool.shape[0] == 0:
            reason = (
                "" if y is None else " " + no_unlabelled_message(y, self.missing_label)
            )
            raise ValueError(f"The pool has no unlabelled rows to draw from.{reason}")
        if batch_size > pool.shape[0]:
            raise ValueError(
                f"batch_size={batch_size} is larger than the number of "
                f"unlabelled rows ({pool.shape[0]})."
            )
        whole = pool.shape[0] == n
        fitted = whole and hasattr(self, "_pool_key") and self._pool_key == self._key(X)
        if scores is not None:
            weights = np.asarray(scores, dtype=np.float64)
            if weights.shape != (n,):
                raise ValueError(f"scores must have shape ({n},), got {weights.shape}.")
            weights = weights[pool]
        elif fitted:
            weights = self.leverage_scores_
        else:
            weights = leverage_scores(self._features(X)[pool])
        p = inclusion_probabilities(weights, batch_size)
        tree = None
        if need_tree and self.method == "pivotal":
            if fitted and self._tree is not None and self._tree[0] == self.tree:
                tree = self._tree[1]
            else:
                Z = np.ascontiguousarray(X[pool], dtype=np.float64)
                # the tree's medians and principal directions do not depend
                # on the scale, but their sums of squares overflow at 1e200
                Z /= unit_scale(Z)
                with threads_for(Z.size * math.log2(max(Z.shape[0], 2))):
                    tree = build_tree(Z, self.tree == "pca")
                if fitted:
                    self._tree = (self.tree, tree)
        return p, pool, tree

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.target_tags.required = False
        return tags
