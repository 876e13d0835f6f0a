"""Query strategies for pool-based active learning: margin, uncertainty, random."""

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import _safe_indexing, check_random_state
from sklearn.utils.validation import check_array, validate_data

from skrep.active import _batch
from skrep.active._kernels import top_two_gap
from skrep.active._pool import (
    check_2d,
    fingerprint,
    first_missing_row,
    no_unlabelled_message,
    row_indexable,
    unlabeled_mask,
)
from skrep.utils._compat import Interval, StrOptions, _fit_context, _num_samples
from skrep.utils.extmath import unit_scale

__all__ = ["MarginSampler", "RandomSampler", "UncertaintySampler"]

_BATCH_STRATEGIES = ("top_k", "kcenter", "cluster_margin", "proportional")


def _host(a):
    """``a`` as a numpy array (CuPy / array-API scores are copied to host)."""
    from skrep.utils._array_api import to_host

    return np.asarray(to_host(a))


#: Bytes of ``X`` scored per call of the estimator: the pool is scored in
#: chunks, so that a query holds O(chunk) scores, not O(pool).
_CHUNK_BYTES = 1 << 25


class _QueryStrategy(BaseEstimator):
    """Shared machinery: pool bookkeeping, validation, batch selection."""

    _parameter_constraints = {
        "missing_label": [Real, str],
        "random_state": ["random_state"],
    }

    def __init__(self, *, missing_label=-1, random_state=None):
        self.missing_label = missing_label
        self.random_state = random_state

    # -- to be provided by subclasses ---------------------------------------
    _needs_scores = True

    def _response_method(self, estimator):
        """The estimator's method that gives the scores."""
        return "predict_proba"

    def _utilities(self, scores, method):
        """Utility of each row (higher = more informative) from its scores."""
        raise NotImplementedError

    # -- public API ----------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Prepare pool-level state (the clustering of the pool, if any).

        A query strategy is stateless: :meth:`query` works without ``fit``.
        Fitting on the pool once computes what does not change from one
        round to the next (the pool's clustering for the ``"cluster_margin"``
        and ``"proportional"`` batch strategies), so that later queries on the
        same pool reuse it. A query on another pool (other values, even of
        the same shape) clusters that pool afresh.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The pool.
        y : array-like of shape (n_samples,), default=None
            Labels with ``missing_label`` for unlabelled rows; used only to
            count classes.

        Returns
        -------
        self : object
        """
        X = validate_data(self, X, dtype=[np.float64, np.float32])
        batch_strategy = getattr(self, "batch_strategy", "top_k")
        if batch_strategy in ("cluster_margin", "proportional"):
            X = _distance_units(X)
            n_classes = None
            if y is not None:
                y = np.asarray(y)
                labelled = ~unlabeled_mask(y, self.missing_label)
                n_classes = max(2, np.unique(y[labelled]).shape[0])
            self.cluster_labels_ = self._cluster(X, n_classes, batch_strategy)
            self._pool_key = fingerprint(X)
        return self

    def query(
        self,
        X,
        y=None,
        estimator=None,
        *,
        batch_size=1,
        candidates=None,
        scores=None,
        return_utilities=False,
    ):
        """Choose the next rows of ``X`` to label.

        ``X`` reaches the estimator as it is given (a data frame with string
        columns for a pipeline, NaN for a model that accepts missing values),
        scored chunk by chunk in place; the scores of labelled rows are
        masked. Missing values in ``X`` are the estimator's to accept or
        refuse: when it does not score ``X`` (``scores=`` given,
        :class:`RandomSampler`) it is asked on the first row with one, and
        without an estimator they are refused. The diversity batch strategies
        compute distances between rows and always refuse them.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The pool: labelled and unlabelled rows.
        y : array-like of shape (n_samples,), default=None
            Labels, with ``missing_label`` (or NaN) for unlabelled rows; None
            means every row is unlabelled.
        estimator : fitted estimator, default=None
            Gives the scores (``predict_proba`` or ``decision_function``);
            it is never refitted. Not needed when ``scores`` is given.
        batch_size : int, default=1
            Number of rows to return.
        candidates : array-like of int, default=None
            Restrict the choice to these (unlabelled) row indices.
        scores : array-like of shape (n_samples,) or (n_samples, n_classes), \
                default=None
            Precomputed probabilities or decision values for the rows of
            ``X``; skips calling the estimator.
        return_utilities : bool, default=False
            Also return the utilities of the pool rows (NaN for rows that
            were not candidates).

        Returns
        -------
        indices : ndarray of shape (batch_size,)
            Distinct indices of unlabelled rows of ``X``, most informative
            first for the ``"top_k"`` batch strategy.
        utilities : ndarray of shape (n_samples,)
            Only when ``return_utilities``; higher is more informative.
        """
        self._validate_params()
        rng = check_random_state(self.random_state)
        check_2d(X)
        X = row_indexable(X)
        n = _num_samples(X)
        in_pool, pool, labeled = self._pool(n, y, candidates, batch_size)
        strategy = self._batch_strategy(batch_size)
        X_num = None if strategy == "top_k" else self._numeric_pool(X, strategy)
        scored = self._needs_scores and scores is None
        if scored and estimator is None:
            raise ValueError(
                f"{type(self).__name__}.query needs a fitted estimator or "
                "precomputed scores=."
            )
        if X_num is None and not scored:
            _check_missing_values(X, estimator)
        if estimator is not None and self._needs_scores:
            self._check_estimator_classes(estimator)
        # Most of X unlabelled: score every row in place and mask the scores
        # of the others (cheaper than gathering the pool's rows).
        score_all = self._needs_scores and 2 * pool.shape[0] >= n
        rows = None if score_all else pool
        if not self._needs_scores:
            utilities = rng.random(pool.shape[0])
        elif scores is not None:
            S = _host(scores)
            if S.shape[0] != n:
                raise ValueError(
                    f"scores has {S.shape[0]} rows but X has {n}; "
                    "give one score (row) per row of X."
                )
            method = self._response_method(estimator)
            utilities = self._utilities(S if rows is None else S[rows], method)
        else:
            utilities = self._score_in_chunks(X, estimator, rows)
        indices = None
        if utilities.shape[0] == pool.shape[0]:
            utilities_pool = utilities
        else:  # the utilities of every row: mask those outside the pool
            if np.any(~np.isfinite(utilities) & in_pool):
                raise ValueError(_NOT_FINITE)
            if strategy == "top_k":
                if return_utilities:
                    full = np.where(in_pool, utilities, np.nan)
                utilities[~in_pool] = -np.inf
                indices = _batch.top_k(utilities, batch_size, rng)
            else:
                utilities_pool = utilities[pool]
        if indices is None:
            if not np.all(np.isfinite(utilities_pool)):
                raise ValueError(_NOT_FINITE)
            positions = self._select(
                X_num, strategy, pool, labeled, utilities_pool, batch_size, rng, y
            )
            indices = pool[positions]
            if return_utilities:
                full = np.full(n, np.nan)
                full[pool] = utilities_pool
        if return_utilities:
            return indices, full
        return indices

    # -- helpers -------------------------------------------------------------
    def _score_in_chunks(self, X, estimator, rows):
        """Utilities of the rows ``rows`` of ``X`` (all rows when None).

        The estimator scores slices of ``X`` in place (or, for a subset of
        the rows, gathered blocks of it), ``_CHUNK_BYTES`` of ``X`` at a
        time: memory O(chunk * n_classes) for the scores.
        """
        method = self._response_method(estimator)
        m = _num_samples(X) if rows is None else rows.shape[0]
        n_features = X.shape[1] if hasattr(X, "shape") else len(X[0])
        step = max(1, _CHUNK_BYTES // (8 * max(1, n_features)))
        utilities = np.empty(m)
        for start in range(0, m, step):
            stop = min(m, start + step)
            block = slice(start, stop) if rows is None else rows[start:stop]
            S = _scores_from_estimator(estimator, _safe_indexing(X, block), method)
            utilities[start:stop] = self._utilities(S, method)
        return utilities

    def _batch_strategy(self, batch_size):
        """The batch strategy a query of ``batch_size`` rows runs."""
        strategy = getattr(self, "batch_strategy", "top_k")
        if batch_size == 1 and strategy != "kcenter":
            return "top_k"
        return strategy

    def _numeric_pool(self, X, strategy):
        """``X`` as a finite numeric array, for distances between its rows."""
        try:
            X = check_array(X, dtype=[np.float64, np.float32])
        except ValueError as exc:
            raise ValueError(
                f"batch_strategy={strategy!r} measures distances between the "
                f"rows of X, which must be numeric and finite: {exc}"
            ) from exc
        return _distance_units(X)

    def _pool(self, n, y, candidates, batch_size):
        """The pool: a mask over the rows of X, its rows, and the labelled rows."""
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
                    f"y has {unlabeled.shape[0]} labels but X has {n} rows."
                )
        if candidates is None:
            in_pool = unlabeled
            pool = np.arange(n) if y is None else np.flatnonzero(unlabeled)
        else:
            pool = np.asarray(candidates)
            if pool.ndim != 1 or (pool.size and pool.dtype.kind not in "iu"):
                raise ValueError("candidates must be a 1-D array of row indices.")
            pool = pool.astype(np.intp, copy=False)
            if pool.size and (pool.min() < 0 or pool.max() >= n):
                raise ValueError(f"candidates must be indices in [0, {n}).")
            pool = np.sort(pool)  # their order means nothing
            if np.any(pool[1:] == pool[:-1]):
                raise ValueError("candidates contains duplicate indices.")
            if not np.all(unlabeled[pool]):
                raise ValueError(
                    "candidates contains labelled rows; only rows whose label "
                    f"is missing_label={self.missing_label!r} can be queried."
                )
            in_pool = np.zeros(n, dtype=bool)
            in_pool[pool] = True
        if pool.shape[0] == 0:
            reason = (
                "" if y is None else " " + no_unlabelled_message(y, self.missing_label)
            )
            raise ValueError(f"The pool has no unlabelled rows to query.{reason}")
        if batch_size > pool.shape[0]:
            raise ValueError(
                f"batch_size={batch_size} is larger than the number of "
                f"unlabelled candidate rows ({pool.shape[0]})."
            )
        labeled = (
            np.empty(0, dtype=np.intp) if y is None else np.flatnonzero(~unlabeled)
        )
        return in_pool, pool, labeled

    def _check_estimator_classes(self, estimator):
        classes = getattr(estimator, "classes_", None)
        ml = self.missing_label
        if classes is None or (isinstance(ml, float) and np.isnan(ml)):
            return
        try:
            clash = np.any(np.asarray(classes) == ml)
        except (TypeError, ValueError):  # pragma: no cover - exotic labels
            clash = False
        if clash:
            raise ValueError(
                f"The estimator has a class {ml!r}, which is also missing_label; "
                "set missing_label to a value that is not a class (e.g. np.nan)."
            )

    def _select(self, X, strategy, pool, labeled, utilities, batch_size, rng, y):
        """Positions into ``pool`` of the batch; ``X`` is the numeric pool."""
        if strategy == "top_k":
            return _batch.top_k(utilities, batch_size, rng)
        factor = self.candidate_factor
        if strategy == "kcenter":
            X_lab = X[labeled] if labeled.size else None
            X = np.ascontiguousarray(X)
            return _batch.kcenter(utilities, X, pool, X_lab, batch_size, factor, rng)
        fitted = None
        key = getattr(self, "_pool_key", None)
        if key is not None and key == fingerprint(X):
            fitted = self.cluster_labels_
        if strategy == "cluster_margin":
            cand = _batch._candidates(utilities, batch_size, factor, rng)
            if fitted is not None:
                labels = fitted[pool[cand]]
            else:
                labels = self._cluster(
                    X[pool[cand]], None, strategy, n_default=batch_size
                )
            return cand[_batch.cluster_margin(utilities[cand], labels, batch_size, rng)]
        # proportional: clusters of the whole pool
        if fitted is not None:
            labels = fitted[pool]
        else:
            n_classes = None
            if y is not None and labeled.size:
                n_classes = max(2, np.unique(np.asarray(y)[labeled]).shape[0])
            labels = self._cluster(X[pool], n_classes, strategy)
        return _batch.proportional(utilities, labels, batch_size, rng)

    def _cluster(self, X, n_classes, strategy, n_default=None):
        from sklearn.cluster import AgglomerativeClustering, MiniBatchKMeans

        n = X.shape[0]
        n_clusters = self.n_clusters
        if n_clusters is None:
            if strategy == "proportional":
                n_clusters = n_classes or 8
            else:
                n_clusters = n_default or max(1, int(np.sqrt(n)))
        n_clusters = int(min(n_clusters, n))
        if n_clusters <= 1:
            return np.zeros(n, dtype=np.intp)
        if strategy == "cluster_margin" and n <= 10_000:
            model = AgglomerativeClustering(n_clusters=n_clusters, linkage="average")
        else:
            seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
            model = MiniBatchKMeans(n_clusters=n_clusters, n_init=3, random_state=seed)
        return model.fit_predict(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.target_tags.required = False
        return tags


def _distance_units(X):
    """``X`` in units whose squared distances neither overflow nor underflow.

    The diversity strategies depend on the ratios of distances only, so
    ``X`` is divided by a power of two (exact: the choice is the same) when
    its largest entry lies outside [2**-e, 2**e] (e = 300 for float64, 30 for
    float32); otherwise it is returned as it is, without a copy. At 1e200
    the squared distances were all infinite (k-center then took the first
    candidates, average linkage refused the distances).
    """
    e = 300 if X.dtype == np.float64 else 30
    scale = unit_scale(X)
    if 2.0**-e <= scale <= 2.0**e:
        return X
    return X / X.dtype.type(scale)


_NOT_FINITE = (
    "The scores of the pool contain NaN or infinity; check the estimator's "
    "output or the scores passed."
)


def _check_missing_values(X, estimator):
    """Refuse NaN in ``X`` unless ``estimator`` accepts it.

    For queries in which the estimator does not score ``X`` (``scores=``
    given, :class:`RandomSampler`): the estimator is asked, as when it
    scores ``X``, by a prediction on the first row with a missing value
    (its tags cannot tell: a pipeline that imputes declares no ``allow_nan``).
    Without an estimator nothing accepts missing values.
    """
    row = first_missing_row(X)
    if row is None:
        return
    methods = ("predict", "predict_proba", "decision_function", "transform")
    method = next((m for m in methods if hasattr(estimator, m)), None)
    if method is None:
        raise ValueError(
            f"X contains NaN or infinity (row {row}) and no estimator reads it; "
            "impute the missing values, or pass the estimator that accepts them."
        )
    try:
        getattr(estimator, method)(_safe_indexing(X, [row]))
    except ValueError as exc:
        raise ValueError(
            f"X contains NaN or infinity (row {row}), which the estimator "
            f"{type(estimator).__name__} does not accept: {exc}"
        ) from exc


_BATCH_DOC = """batch_strategy : {"top_k", "kcenter", "cluster_margin", \
"proportional"}, default="top_k"
        How a batch of more than one row is chosen from the utilities:

        - ``"top_k"``: the ``batch_size`` most informative rows (exact: equal to
          an argsort of the utilities, ties broken at random);
        - ``"kcenter"``: farthest-first traversal (k-center greedy) over the
          ``candidate_factor * batch_size`` most informative rows, starting
          from the labelled rows;
        - ``"cluster_margin"``: the candidates are clustered and picked
          round-robin, smallest cluster first (Citovsky et al., 2021). The
          clustering is the pool's, computed once by :meth:`fit` (average
          linkage up to 10,000 rows, k-means beyond; ``n_clusters`` defaults
          to the square root of the pool size), or else an average-linkage
          clustering of the candidates into ``n_clusters`` (default
          ``batch_size``) clusters at each query;
        - ``"proportional"``: informative and diverse -- by decreasing utility,
          each cluster of the pool (k-means, ``n_clusters`` defaults to the
          number of classes) receives at most its share of the batch.
    candidate_factor : float >= 1 or None, default=10
        The diversity strategies ``"kcenter"`` and ``"cluster_margin"`` choose
        among the ``candidate_factor * batch_size`` most informative rows;
        None uses the whole pool.
    n_clusters : int, default=None
        Number of clusters of the clustering batch strategies."""


class _BatchStrategy(_QueryStrategy):
    _parameter_constraints = {
        **_QueryStrategy._parameter_constraints,
        "batch_strategy": [StrOptions(set(_BATCH_STRATEGIES))],
        "candidate_factor": [Interval(Real, 1, None, closed="left"), None],
        "n_clusters": [Interval(Integral, 1, None, closed="left"), None],
    }


def _scores_from_estimator(estimator, X, method):
    if not hasattr(estimator, method):
        raise ValueError(
            f"The estimator {type(estimator).__name__} has no {method}; "
            "pass an estimator that has it, or precomputed scores=."
        )
    return _host(getattr(estimator, method)(X))


def _auto_method(estimator):
    from sklearn.svm import SVC, NuSVC

    has_proba = hasattr(estimator, "predict_proba")
    has_decision = hasattr(estimator, "decision_function")
    if has_decision and (isinstance(estimator, SVC | NuSVC) or not has_proba):
        return "decision_function"
    if has_proba:
        return "predict_proba"
    raise ValueError(
        f"The estimator {type(estimator).__name__} has neither predict_proba nor "
        "decision_function, so it gives no margin; pass a probabilistic "
        "classifier or precomputed scores=."
    )


class MarginSampler(_BatchStrategy):
    """Margin sampling: query the rows whose two most likely classes are closest.

    The margin of a row is ``p(1) - p(2)``, the gap between its two largest
    predicted class probabilities (``|2p - 1|`` for two classes); with
    decision values it is ``|f|`` for a binary classifier and the gap between
    the two largest decision values for a multiclass one. Rows with the
    smallest margin are queried. Classical margin sampling matches or beats
    the other strategies on tabular data (Bahri et al., 2022) -- but not for
    linear models in high dimension with little class separation, where
    uniform sampling is better (Tifrea et al., 2023).

    A query costs one ``predict_proba`` (or ``decision_function``) over the
    pool, called on 32 MB of ``X`` at a time (slices of ``X`` in place when
    most rows are unlabelled, the labelled rows' scores then masked; gathered
    blocks of the unlabelled rows otherwise), one pass over its output
    (compiled) and an O(n) selection: memory O(n) plus the scores of one
    chunk, never a copy of the pool.

    Parameters
    ----------
    response_method : {"auto", "predict_proba", "decision_function"}, \
            default="auto"
        Which scores give the margin. ``"auto"`` uses ``predict_proba`` when
        the estimator has it and ``decision_function`` otherwise (and always
        for support vector classifiers, whose Platt-scaled probabilities can
        rank differently). One-dimensional ``scores`` are read as decision
        values unless ``response_method="predict_proba"``.
    %(batch)s
    missing_label : scalar or str, default=-1
        The label of unlabelled rows in ``y`` (NaN and None are always
        unlabelled); the same convention as :class:`LeverageScoreSampler` and
        :class:`ActiveLearner`. With string labels use a string (e.g. ``""``).
    random_state : int, RandomState instance or None, default=None
        Breaks ties between equally informative rows, and seeds the
        clusterings.

    Attributes
    ----------
    n_features_in_ : int
        Number of features of the pool, when fitted.
    cluster_labels_ : ndarray of shape (n_samples,)
        The pool's clustering, when fitted with a clustering batch strategy.

    See Also
    --------
    UncertaintySampler : Least confidence and entropy sampling.
    RandomSampler : The passive baseline.
    ActiveLearner : The active-learning loop around a classifier.

    References
    ----------
    .. [1] D. Bahri, H. Jiang, T. Schuster and A. Rostamizadeh, "Is margin all
       you need? An extensive empirical study of active learning on tabular
       data", arXiv:2210.03822, 2022.
    .. [2] A. Tifrea, J. Clarysse and F. Yang, "Margin-based sampling in high
       dimensions: when being active is less efficient than staying passive",
       ICML 2023.
    .. [3] G. Citovsky et al., "Batch active learning at scale", NeurIPS 2021.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skrep.active import MarginSampler
    >>> X, y = load_iris(return_X_y=True)
    >>> y_partial = np.full_like(y, -1)
    >>> y_partial[[0, 50, 100]] = y[[0, 50, 100]]
    >>> clf = LogisticRegression().fit(X[y_partial != -1], y[y_partial != -1])
    >>> idx = MarginSampler(random_state=0).query(X, y_partial, clf, batch_size=5)
    >>> idx.shape
    (5,)
    >>> bool(np.all(y_partial[idx] == -1))
    True
    """

    _parameter_constraints = {
        **_BatchStrategy._parameter_constraints,
        "response_method": [StrOptions({"auto", "predict_proba", "decision_function"})],
    }

    def __init__(
        self,
        response_method="auto",
        *,
        batch_strategy="top_k",
        candidate_factor=10,
        n_clusters=None,
        missing_label=-1,
        random_state=None,
    ):
        self.response_method = response_method
        self.batch_strategy = batch_strategy
        self.candidate_factor = candidate_factor
        self.n_clusters = n_clusters
        self.missing_label = missing_label
        self.random_state = random_state

    def _response_method(self, estimator):
        if self.response_method == "auto" and estimator is not None:
            return _auto_method(estimator)
        return self.response_method

    def _utilities(self, scores, method):
        margin = margins(scores, proba=method == "predict_proba")
        return np.negative(margin, out=margin)


MarginSampler.__doc__ = MarginSampler.__doc__ % {"batch": _BATCH_DOC}


def margins(scores, proba=False):
    """Margin of each row of ``scores`` (smaller = less certain).

    Parameters
    ----------
    scores : ndarray of shape (n,) or (n, n_classes)
        Probabilities or decision values.
    proba : bool
        Whether one-dimensional scores are probabilities of the positive
        class (margin ``|2p - 1|``) rather than decision values (``|f|``).

    Returns
    -------
    margin : ndarray of shape (n,)
    """
    scores = np.asarray(scores)
    if scores.dtype.kind not in "f":
        scores = scores.astype(np.float64)
    if scores.ndim == 1:
        return np.abs(2.0 * scores - 1.0) if proba else np.abs(scores)
    if scores.ndim != 2:
        raise ValueError(f"scores must be 1-D or 2-D, got shape {scores.shape}.")
    if scores.shape[1] == 1:
        s = scores[:, 0]
        return np.abs(2.0 * s - 1.0) if proba else np.abs(s)
    if not scores.flags.c_contiguous:
        scores = np.ascontiguousarray(scores)
    out = np.empty(scores.shape[0], dtype=scores.dtype)
    return top_two_gap(scores, out)


class UncertaintySampler(_BatchStrategy):
    """Uncertainty sampling: least confidence or entropy of the class probabilities.

    Least confidence queries the rows with the smallest ``max_c p(c)``;
    entropy the rows with the largest ``-sum_c p(c) log p(c)``. For two
    classes both rank the rows exactly as :class:`MarginSampler` does. The
    pool is scored in chunks as by :class:`MarginSampler`: memory O(n) plus
    the scores of one chunk.

    Parameters
    ----------
    method : {"least_confidence", "entropy"}, default="least_confidence"
        The uncertainty measure.
    %(batch)s
    missing_label : scalar or str, default=-1
        The label of unlabelled rows in ``y`` (NaN and None are always
        unlabelled); the same convention as :class:`LeverageScoreSampler` and
        :class:`ActiveLearner`. With string labels use a string (e.g. ``""``).
    random_state : int, RandomState instance or None, default=None
        Breaks ties between equally informative rows, and seeds the
        clusterings.

    Attributes
    ----------
    n_features_in_ : int
        Number of features of the pool, when fitted.
    cluster_labels_ : ndarray of shape (n_samples,)
        The pool's clustering, when fitted with a clustering batch strategy.

    See Also
    --------
    MarginSampler : Margin sampling, usually the stronger choice.
    RandomSampler : The passive baseline.

    References
    ----------
    .. [1] B. Settles, "Active Learning Literature Survey", University of
       Wisconsin-Madison, Computer Sciences Technical Report 1648, 2009.
    .. [2] D. Bahri, H. Jiang, T. Schuster and A. Rostamizadeh, "Is margin all
       you need? An extensive empirical study of active learning on tabular
       data", arXiv:2210.03822, 2022.

    Examples
    --------
    >>> import numpy as np
    >>> from skrep.active import UncertaintySampler
    >>> proba = np.array([[0.9, 0.1], [0.5, 0.5], [0.6, 0.4]])
    >>> UncertaintySampler(method="entropy").query(proba, None, scores=proba,
    ...                                            batch_size=2)
    array([1, 2])
    """

    _parameter_constraints = {
        **_BatchStrategy._parameter_constraints,
        "method": [StrOptions({"least_confidence", "entropy"})],
    }

    def __init__(
        self,
        method="least_confidence",
        *,
        batch_strategy="top_k",
        candidate_factor=10,
        n_clusters=None,
        missing_label=-1,
        random_state=None,
    ):
        self.method = method
        self.batch_strategy = batch_strategy
        self.candidate_factor = candidate_factor
        self.n_clusters = n_clusters
        self.missing_label = missing_label
        self.random_state = random_state

    def _utilities(self, scores, method):
        P = np.asarray(scores, dtype=np.float64)
        if P.ndim == 1:
            P = np.column_stack([1.0 - P, P])
        if P.ndim != 2:
            raise ValueError(f"scores must be 1-D or 2-D, got shape {P.shape}.")
        if self.method == "least_confidence":
            return 1.0 - P.max(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            plogp = np.where(P > 0, P * np.log(np.where(P > 0, P, 1.0)), 0.0)
        return -plogp.sum(axis=1)


UncertaintySampler.__doc__ = UncertaintySampler.__doc__ % {"batch": _BATCH_DOC}


class RandomSampler(_QueryStrategy):
    """Passive learning: query unlabelled rows uniformly at random.

    The baseline that every active-learning study compares with, and in
    high dimension with little class separation the better choice for
    linear models (Tifrea et al., 2023). O(pool) time and memory.

    Parameters
    ----------
    missing_label : scalar or str, default=-1
        The label of unlabelled rows in ``y`` (NaN and None are always
        unlabelled); the same convention as :class:`LeverageScoreSampler` and
        :class:`ActiveLearner`. With string labels use a string (e.g. ``""``).
    random_state : int, RandomState instance or None, default=None
        The random draw.

    Attributes
    ----------
    n_features_in_ : int
        Number of features of the pool, when fitted.

    See Also
    --------
    MarginSampler : Margin sampling.

    References
    ----------
    .. [1] A. Tifrea, J. Clarysse and F. Yang, "Margin-based sampling in high
       dimensions: when being active is less efficient than staying passive",
       ICML 2023.

    Examples
    --------
    >>> import numpy as np
    >>> from skrep.active import RandomSampler
    >>> X = np.zeros((6, 2))
    >>> y = np.array([0, 1, -1, -1, -1, -1])
    >>> idx = RandomSampler(random_state=0).query(X, y, batch_size=3)
    >>> sorted(set(idx.tolist()) - {2, 3, 4, 5})
    []
    """

    _needs_scores = False

    def __init__(self, *, missing_label=-1, random_state=None):
        self.missing_label = missing_label
        self.random_state = random_state
