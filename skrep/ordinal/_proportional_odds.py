"""The proportional-odds (cumulative logit) model."""

from numbers import Integral, Real

import numpy as np

from skrep.ordinal._cumulative import (
    _CumulativeLogitBase,
    _Problem,
    fit_parallel,
    warn_not_converged,
)
from skrep.utils._compat import Interval, _fit_context

__all__ = ["ProportionalOdds"]


class ProportionalOdds(_CumulativeLogitBase):
    """Proportional-odds (cumulative logit) model, fitted by Newton's method.

    For ordered classes ``c_1 < ... < c_K`` the model is
    ``P(y <= c_k | x) = sigmoid(intercept_[k] + x @ coef_[k])`` with one slope
    shared by all ``K - 1`` thresholds (the rows of ``coef_`` are equal). It
    is the model PRESTO shrinks towards. The objective is the mean negative
    log-likelihood plus ``alpha / 2 * ||beta||^2`` on the standardised
    features (features are centred and scaled to unit variance internally;
    coefficients are reported on the original scale).

    Newton's method uses the exact ``(p + K - 1)``-square Hessian, built from
    each row's 2x2 Hessian in its two cumulative predictors, with a
    backtracking line search that keeps the thresholds ordered.
    Peak memory is ``O(n * (p + K))`` (a standardised copy of ``X`` and the
    per-row derivatives); time is ``O(n p^2)`` per iteration, usually under
    ten iterations.

    Parameters
    ----------
    alpha : float, default=0.0
        L2 penalty on the standardised slopes (0: maximum likelihood).
    classes : array-like of shape (n_classes,), default=None
        The class order, lowest first. None: the order of an ordered pandas
        categorical ``y``, else the sorted labels.
    tol : float, default=1e-10
        Stop when half the Newton decrement falls below ``tol`` times the
        objective.
    max_iter : int, default=100
        Maximum number of Newton iterations.
    verbose : int, default=0
        Print the objective at every iteration when positive.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The classes, in their order.
    coef_ : ndarray of shape (n_classes - 1, n_features)
        Slopes ``beta_k`` of each cumulative logit (identical rows).
    intercept_ : ndarray of shape (n_classes - 1,)
        Increasing thresholds ``alpha_k``.
    objective_ : float
        The final objective value.
    n_iter_ : int
        Number of Newton iterations.
    n_features_in_ : int
        Number of features seen in fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of the features, when ``X`` has string column names.

    See Also
    --------
    PRESTO : Relaxes the shared slope with a fused lasso on its changes.
    statsmodels.miscmodels.ordinal_model.OrderedModel : The same model with
        the opposite sign convention, ``P(y <= k) = F(theta_k - x @ beta)``.

    Notes
    -----
    Array API: fit on host (numba solver), prediction on device. With
    ``sklearn.set_config(array_api_dispatch=True)`` and CuPy (or any
    array-API) input, :meth:`fit` copies ``X`` and ``y`` to the host and runs
    the solver there; the fitted arrays (``coef_``, ``intercept_``) are then
    moved to the input's namespace and device, floats in the dtype of ``X``,
    while ``classes_`` stays a numpy array. :meth:`decision_function`,
    :meth:`predict_proba`, :meth:`predict_log_proba`, :meth:`predict` and
    :meth:`score` compute on that device; :meth:`predict` returns labels of
    the input's namespace for numeric classes, numpy labels otherwise (e.g.
    strings).

    References
    ----------
    .. [1] P. McCullagh, "Regression models for ordinal data", Journal of the
       Royal Statistical Society B 42(2), 1980.
    .. [2] G. Faletto and J. Bien, "Predicting Rare Events by Shrinking
       Towards Proportional Odds", ICML 2023, arXiv:2305.18700.

    Examples
    --------
    >>> import numpy as np
    >>> from skrep.ordinal import ProportionalOdds
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 2))
    >>> latent = X @ [1.0, -2.0] + rng.logistic(size=300)
    >>> y = np.digitize(latent, [-1.0, 1.0])
    >>> model = ProportionalOdds().fit(X, y)
    >>> model.classes_
    array([0, 1, 2])
    >>> model.predict_proba(X[:2]).sum(axis=1)
    array([1., 1.])
    """

    _parameter_constraints = {
        "alpha": [Interval(Real, 0, None, closed="left")],
        "classes": ["array-like", None],
        "tol": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "verbose": ["verbose"],
    }

    def __init__(self, alpha=0.0, *, classes=None, tol=1e-10, max_iter=100, verbose=0):
        self.alpha = alpha
        self.classes = classes
        self.tol = tol
        self.max_iter = max_iter
        self.verbose = verbose

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Fit the model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Ordinal labels (numbers, strings or an ordered pandas categorical).

        Returns
        -------
        self : ProportionalOdds
            The fitted model.
        """
        X, codes, namespace = self._validate_training_data(X, y)
        problem = _Problem(X, codes, len(self.classes_))
        intercepts, beta, obj, n_iter = fit_parallel(
            problem,
            alpha=self.alpha,
            tol=self.tol,
            max_iter=self.max_iter,
            verbose=self.verbose,
        )
        if n_iter >= self.max_iter:
            warn_not_converged("ProportionalOdds", self.max_iter)
        K = len(self.classes_)
        std = np.column_stack([np.tile(beta, (K - 1, 1)), intercepts])
        self.coef_, self.intercept_ = problem.to_original(std)
        self._to_input_namespace(namespace, X.dtype, ("coef_", "intercept_"))
        self.objective_ = obj
        self.n_iter_ = n_iter
        return self
