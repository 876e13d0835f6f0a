"""ActiveLearner: the active-learning loop as a scikit-learn meta-estimator."""

from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.utils import _safe_indexing, get_tags
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from skrep.active._pool import (
    check_2d,
    labels_are_strings,
    no_unlabelled_message,
    row_indexable,
    unlabeled_mask,
)
from skrep.utils._compat import Interval, _fit_context, _num_samples

__all__ = ["ActiveLearner"]


def _estimator_has(attr):
    def check(self):
        if hasattr(self, "estimator_"):
            return hasattr(self.estimator_, attr)
        return hasattr(self._base_estimator(), attr)

    return check


class ActiveLearner(ClassifierMixin, MetaEstimatorMixin, BaseEstimator):
    """Pool-based active learning around any classifier.

    ``fit(X, y)`` fits a clone of ``estimator`` on the labelled rows of ``X``
    (``y`` marks the unlabelled ones with ``missing_label``, as in
    :mod:`sklearn.semi_supervised`); :meth:`query` asks ``query_strategy`` for
    the next batch of rows to label; :meth:`teach` adds newly labelled rows
    and refits (or updates by ``partial_fit``). Prediction is delegated to the
    fitted estimator. ``X`` reaches the estimator and the query strategy as it
    is given, as with scikit-learn's meta-estimators: a data frame keeps its
    columns (a :class:`~sklearn.compose.ColumnTransformer` selects them by
    name, string columns are encoded by the pipeline), and missing values are
    for the estimator to accept
    (:class:`~sklearn.ensemble.HistGradientBoostingClassifier`) or refuse.
    Holds the labelled rows (memory O(n_labelled * d)) and nothing that is not
    learned from data, so it clones, pickles and works in
    :class:`~sklearn.model_selection.GridSearchCV`.

    Parameters
    ----------
    estimator : classifier, default=None
        The model; None means
        :class:`~sklearn.linear_model.LogisticRegression`.
    query_strategy : query strategy, default=None
        An object with ``query(X, y, estimator, batch_size=...)``, such as
        :class:`MarginSampler`; None means ``MarginSampler()``. Its
        ``missing_label`` is set to this learner's.
    batch_size : int, default=1
        Rows returned by :meth:`query`.
    missing_label : scalar or str, default=-1
        Label of the unlabelled rows in ``y`` (NaN and None are always
        unlabelled). With string labels use a string (e.g. ``""``): a
        number cannot mark a string label, and :meth:`fit` says so rather
        than learn the marker as a class.

    Attributes
    ----------
    estimator_ : estimator
        The fitted estimator.
    query_strategy_ : query strategy
        The query strategy used.
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    X_train_ : array-like of shape (n_labelled, n_features)
        The labelled rows seen so far, in the container they came in
        (array, sparse matrix, data frame or list). A data frame keeps the
        index labels of its rows while they are unique (rows of one pool);
        rows taught from elsewhere that repeat a label renumber it 0..n-1.
    y_train_ : ndarray of shape (n_labelled,)
        Their labels.
    n_features_in_ : int
        Number of features seen during :meth:`fit`.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Feature names seen during :meth:`fit`, when they are all strings.

    See Also
    --------
    simulate : Replay an active-learning run against known labels.
    MarginSampler : The default query strategy.

    References
    ----------
    .. [1] D. Bahri, H. Jiang, T. Schuster and A. Rostamizadeh, "Is margin all
       you need? An extensive empirical study of active learning on tabular
       data", arXiv:2210.03822, 2022.
    .. [2] B. Settles, "Active Learning Literature Survey", University of
       Wisconsin-Madison, Computer Sciences Technical Report 1648, 2009.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_iris
    >>> from skrep.active import ActiveLearner, MarginSampler
    >>> X, y = load_iris(return_X_y=True)
    >>> y_partial = np.full_like(y, -1)
    >>> y_partial[[0, 50, 100]] = y[[0, 50, 100]]
    >>> learner = ActiveLearner(query_strategy=MarginSampler(random_state=0),
    ...                         batch_size=5).fit(X, y_partial)
    >>> idx = learner.query(X, y_partial)
    >>> learner = learner.teach(X[idx], y[idx])
    >>> learner.y_train_.shape
    (8,)
    """

    _parameter_constraints = {
        "estimator": "no_validation",
        "query_strategy": "no_validation",
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "missing_label": [Real, str],
    }

    def __init__(
        self, estimator=None, query_strategy=None, *, batch_size=1, missing_label=-1
    ):
        self.estimator = estimator
        self.query_strategy = query_strategy
        self.batch_size = batch_size
        self.missing_label = missing_label

    def _base_estimator(self):
        if self.estimator is None:
            from sklearn.linear_model import LogisticRegression

            return LogisticRegression()
        return self.estimator

    def _make_strategy(self):
        if self.query_strategy is None:
            from skrep.active._strategies import MarginSampler

            strategy = MarginSampler()
        else:
            if not hasattr(self.query_strategy, "query"):
                raise ValueError(
                    "query_strategy must have a query(X, y, estimator, ...) method; "
                    f"got {type(self.query_strategy).__name__}."
                )
            strategy = clone(self.query_strategy)
        if "missing_label" in strategy.get_params(deep=False):
            strategy.set_params(missing_label=self.missing_label)
        return strategy

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y):
        """Fit the estimator on the labelled rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The pool, labelled and unlabelled rows.
        y : array-like of shape (n_samples,)
            Labels; ``missing_label`` (or NaN) for unlabelled rows.

        Returns
        -------
        self : object
        """
        X = self._check_X(X, reset=True)
        y = column_or_1d(y, warn=True)
        n = _num_samples(X)
        if y.shape[0] != n:
            raise ValueError(f"X has {n} rows but y has {y.shape[0]} labels.")
        unlabelled = unlabeled_mask(y, self.missing_label)
        if np.all(unlabelled):
            raise ValueError(
                "y has no labelled rows (every label equals "
                f"missing_label={self.missing_label!r}); label some rows first."
            )
        marker = self.missing_label
        nan_marker = marker is None or (isinstance(marker, float) and np.isnan(marker))
        if (
            not np.any(unlabelled)
            and not nan_marker  # None / NaN mark unlabelled rows of any labels
            and isinstance(marker, str) != labels_are_strings(y)
        ):
            # a marker of another type than the labels can mark no row
            raise ValueError(no_unlabelled_message(y, marker))
        self.query_strategy_ = self._make_strategy()
        labelled = np.flatnonzero(~unlabelled)
        self.X_train_ = _safe_indexing(X, labelled)
        self.y_train_ = y[labelled]
        self._refit()
        return self

    def _check_X(self, X, reset=False):
        """Check the number of features (and names) of ``X``, and pass it on.

        The values are the estimator's business, as in scikit-learn's
        meta-estimators: nothing is converted to a float array here.
        """
        check_2d(X)
        validate_data(self, X, skip_check_array=True, reset=reset)
        return row_indexable(X)

    def _refit(self):
        y = self.y_train_
        if y.dtype == object:
            try:
                y = y.astype(np.float64)
            except (TypeError, ValueError):
                pass
        check_classification_targets(y)
        self.estimator_ = clone(self._base_estimator()).fit(self.X_train_, y)
        self.classes_ = self.estimator_.classes_

    def query(self, X, y=None, *, batch_size=None, candidates=None, scores=None):
        """The next rows of ``X`` to label.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The pool.
        y : array-like of shape (n_samples,), default=None
            Labels with ``missing_label`` for unlabelled rows; None means all
            rows are unlabelled.
        batch_size : int, default=None
            Defaults to ``self.batch_size``.
        candidates : array-like of int, default=None
            Restrict the choice to these unlabelled rows.
        scores : array-like, default=None
            Precomputed probabilities or decision values for the rows of X.

        Returns
        -------
        indices : ndarray of shape (batch_size,)
            Distinct indices of unlabelled rows.
        """
        check_is_fitted(self)
        X = self._check_X(X)
        return self.query_strategy_.query(
            X,
            y,
            self.estimator_,
            batch_size=self.batch_size if batch_size is None else batch_size,
            candidates=candidates,
            scores=scores,
        )

    def teach(self, X, y, *, refit=True):
        """Add newly labelled rows and update the estimator.

        Parameters
        ----------
        X : array-like of shape (n_new, n_features)
            The rows that were labelled.
        y : array-like of shape (n_new,)
            Their labels (none may be ``missing_label``).
        refit : bool, default=True
            Refit a fresh clone on all labelled rows; when False, update the
            fitted estimator with ``partial_fit`` on the new rows only.

        Returns
        -------
        self : object
        """
        check_is_fitted(self)
        X = self._check_X(X)
        y = column_or_1d(y, warn=True)
        n = _num_samples(X)
        if y.shape[0] != n:
            raise ValueError(f"X has {n} rows but y has {y.shape[0]} labels.")
        if np.any(unlabeled_mask(y, self.missing_label)):
            raise ValueError(
                f"teach got labels equal to missing_label={self.missing_label!r}; "
                "give the true labels of the queried rows."
            )
        self.X_train_ = _concat_rows(self.X_train_, X)
        self.y_train_ = np.concatenate([self.y_train_, y])
        if refit:
            self._refit()
        else:
            if not hasattr(self.estimator_, "partial_fit"):
                raise ValueError(
                    f"refit=False needs an estimator with partial_fit; "
                    f"{type(self.estimator_).__name__} has none."
                )
            self.estimator_.partial_fit(X, y)
        return self

    @available_if(_estimator_has("predict"))
    def predict(self, X):
        """Predict with the fitted estimator.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        X = self._check_X(X)
        return self.estimator_.predict(X)

    @available_if(_estimator_has("predict_proba"))
    def predict_proba(self, X):
        """Class probabilities from the fitted estimator.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        check_is_fitted(self)
        X = self._check_X(X)
        return self.estimator_.predict_proba(X)

    @available_if(_estimator_has("predict_log_proba"))
    def predict_log_proba(self, X):
        """Log class probabilities from the fitted estimator.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        check_is_fitted(self)
        X = self._check_X(X)
        return self.estimator_.predict_log_proba(X)

    @available_if(_estimator_has("decision_function"))
    def decision_function(self, X):
        """Decision values from the fitted estimator.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        decision : ndarray of shape (n_samples,) or (n_samples, n_classes)
        """
        check_is_fitted(self)
        X = self._check_X(X)
        return self.estimator_.decision_function(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = get_tags(self._base_estimator())
        tags.input_tags.sparse = inner.input_tags.sparse
        tags.input_tags.allow_nan = inner.input_tags.allow_nan
        tags.input_tags.string = inner.input_tags.string
        tags.input_tags.categorical = inner.input_tags.categorical
        return tags


def _concat_rows(A, B):
    """The rows of ``A`` then those of ``B``, in ``A``'s container."""
    if sp.issparse(A) or sp.issparse(B):
        return sp.vstack([A, B], format="csr")
    if hasattr(A, "iloc"):
        import pandas as pd

        if not hasattr(B, "iloc"):
            B = pd.DataFrame(np.asarray(B, dtype=object), columns=A.columns)
            B = B.astype(A.dtypes.to_dict())
        out = pd.concat([A, B])
        # rows of one pool keep its labels; rows from elsewhere would repeat
        # labels already stored, and the frame is then numbered afresh
        return out if out.index.is_unique else out.reset_index(drop=True)
    if isinstance(A, np.ndarray):
        return np.concatenate([A, np.asarray(B)])
    return list(A) + list(B)
