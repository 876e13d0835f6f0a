"""The proportional-odds (cumulative link) model."""

import warnings
from itertools import pairwise
from numbers import Integral, Real

import numpy as np
from sklearn.utils.validation import check_is_fitted

from skrep.ordinal._cumulative import (
    PerfectSeparationWarning,
    _CumulativeLogitBase,
    _Problem,
    fit_parallel,
    near_certain,
    separation_direction,
    warn_not_converged,
)
from skrep.ordinal._links import LINKS
from skrep.utils._array_api import to_numpy
from skrep.utils._compat import Interval, StrOptions, _fit_context

__all__ = ["ProportionalOdds"]


class ProportionalOdds(_CumulativeLogitBase):
    """Proportional-odds (cumulative link) model, fitted by Newton's method.

    For ordered classes ``c_1 < ... < c_K`` the model is
    ``P(y <= c_k | x) = F(intercept_[k] + x @ coef_[k])`` with one slope
    shared by all ``K - 1`` thresholds (the rows of ``coef_`` are equal) and
    ``F`` the inverse of the ``link`` (the logistic function for the
    default logit link: proportional odds proper). It is the model PRESTO
    shrinks towards. The objective is the weighted mean negative
    log-likelihood plus ``alpha / 2 * ||beta||^2`` on the standardised
    features (features are centred and scaled to unit variance internally;
    coefficients are reported on the original scale).

    Newton's method uses the exact ``(p + K - 1)``-square Hessian, built from
    each row's 2x2 Hessian in its two cumulative predictors, with a
    backtracking line search that keeps the thresholds ordered. The same
    Hessian at the optimum is the observed information: the unpenalised fit
    keeps its inverse (``covariance_``) and :meth:`summary` reports standard
    errors, z statistics, p-values and confidence intervals from it. When no
    maximum-likelihood estimate exists (separated data) a
    :class:`PerfectSeparationWarning` names the diverging parameters.
    Peak memory is ``O(n * (p + K))`` (a standardised copy of ``X`` and the
    per-row derivatives); time is ``O(n p^2)`` per iteration, usually under
    ten iterations.

    Parameters
    ----------
    alpha : float, default=0.0
        L2 penalty on the standardised slopes (0: maximum likelihood).
    link : {"logit", "probit", "cloglog", "loglog", "cauchit"}, default="logit"
        The cumulative link, with R's ``MASS::polr`` meanings: ``F`` is the
        logistic, standard normal, ``1 - exp(-exp(x))``, ``exp(-exp(-x))``
        or Cauchy distribution function.
    classes : array-like of shape (n_classes,), default=None
        The class order, lowest first. None: the order of an ordered pandas
        categorical ``y``, else the sorted labels (with a warning for
        strings, whose alphabetical order is rarely the ordinal one).
    tol : float, default=1e-10
        Stop when half the Newton decrement falls below ``tol`` times the
        objective.
    max_iter : int, default=100
        Maximum number of Newton iterations.
    verbose : int, default=0
        When positive, print one line per Newton iteration: the objective,
        the Newton decrement, the step length and the elapsed seconds.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The classes, in their order.
    coef_ : ndarray of shape (n_classes - 1, n_features)
        Slopes ``beta_k`` of each cumulative logit (identical rows).
    intercept_ : ndarray of shape (n_classes - 1,)
        Increasing thresholds ``alpha_k``.
    covariance_ : ndarray of shape (n_features + n_classes - 1,) * 2
        Only when ``alpha == 0``: the inverse observed information of
        ``(coef_[0], intercept_)``, on the original feature scale, in that
        order (a numpy array even for array-API input). Infinite variances
        mark separated directions, NaN constant features.
    objective_ : float
        The final objective value.
    n_iter_ : int
        Number of Newton iterations run (the last one finds the Newton
        decrement below ``tol``, or no descent); ``max_iter`` when it did not
        converge (a ``ConvergenceWarning`` says so), or when it found that
        in its last allowed iteration (no warning).
    n_features_in_ : int
        Number of features seen in fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of the features, when ``X`` has string column names.

    See Also
    --------
    PRESTO : Relaxes the shared slope with a fused lasso on its changes.
    brant_test : Tests the proportional-odds assumption of a fitted model.
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
    .. [3] W. N. Venables and B. D. Ripley, "Modern Applied Statistics with
       S", 4th ed., Springer, 2002 (``MASS::polr``: the links and the
       standard errors from the observed information).

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
    >>> table = ProportionalOdds(link="probit").fit(X, y).summary()
    >>> list(table.columns)
    ['coef', 'std err', 'z', 'P>|z|', '[0.025', '0.975]']
    >>> list(table.index)
    ['x0', 'x1', '0/1', '1/2']
    """

    _parameter_constraints = {
        "alpha": [Interval(Real, 0, None, closed="left")],
        "link": [StrOptions(set(LINKS))],
        "classes": ["array-like", None],
        "tol": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        alpha=0.0,
        *,
        link="logit",
        classes=None,
        tol=1e-10,
        max_iter=100,
        verbose=0,
    ):
        self.alpha = alpha
        self.link = link
        self.classes = classes
        self.tol = tol
        self.max_iter = max_iter
        self.verbose = verbose

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Ordinal labels (numbers, strings with ``classes``, or an ordered
            pandas categorical).
        sample_weight : array-like of shape (n_samples,), default=None
            Frequency weights of the rows (a weight of 2 is the row twice).

        Returns
        -------
        self : ProportionalOdds
            The fitted model.
        """
        X, codes, sample_weight, namespace = self._validate_training_data(
            X, y, sample_weight
        )
        K = len(self.classes_)
        problem = _Problem(X, codes, K, sample_weight, self.link)
        intercepts, beta, obj, n_iter, converged, hessian = fit_parallel(
            problem,
            alpha=self.alpha,
            tol=self.tol,
            max_iter=self.max_iter,
            verbose=self.verbose,
        )
        if not converged:
            warn_not_converged("ProportionalOdds", self.max_iter)
        std = np.column_stack([np.tile(beta, (K - 1, 1)), intercepts])
        self.coef_, self.intercept_ = problem.to_original(std)
        if self.alpha == 0:
            direction = None
            if not converged or (
                _flat_direction(hessian) and near_certain(problem, std)
            ):
                direction = separation_direction(problem)
            self.covariance_ = _covariance(problem, hessian, direction)
            if direction is not None:
                names = _parameter_names(self, X.shape[1])
                diverging = np.isinf(np.diag(self.covariance_))
                warnings.warn(
                    "The maximum-likelihood estimate does not exist: the data "
                    "are (quasi-completely) separated, so the likelihood rises "
                    "without bound along the parameters "
                    f"{[n for n, d in zip(names, diverging, strict=True) if d]}; their "
                    "fitted values are arbitrarily large and their standard "
                    "errors infinite. Drop or merge the separating features or "
                    "classes, or fit with alpha > 0.",
                    PerfectSeparationWarning,
                    stacklevel=3,
                )
        self._to_input_namespace(namespace, X.dtype, ("coef_", "intercept_"))
        self.objective_ = obj
        self.n_iter_ = n_iter
        return self

    def summary(self, level=0.95):
        """Estimates, standard errors, Wald tests and confidence intervals.

        The standard errors come from the observed information (the exact
        Hessian of the log-likelihood) at the maximum-likelihood fit, on the
        original feature scale; with ``sample_weight`` the weights count as
        repeated rows. Slopes are ``coef_[0]`` and thresholds
        ``intercept_`` in this estimator's sign convention
        (``P(y <= k) = F(intercept_[k] + x @ coef_[0])``): R's ``polr`` and
        statsmodels' ``OrderedModel`` report ``-coef_[0]`` with the same
        standard errors. A parameter along which the data are separated has
        an infinite standard error (z = 0, p-value 1, an unbounded interval);
        a constant feature has none (NaN).

        Parameters
        ----------
        level : float, default=0.95
            Coverage of the Wald confidence intervals.

        Returns
        -------
        table : pandas.DataFrame
            Columns ``coef``, ``std err``, ``z``, ``P>|z|`` and the interval's
            bounds (``[0.025`` and ``0.975]`` at the default level), as in
            statsmodels; one row per feature (its name, or ``x0``, ``x1``,
            ...), then one per threshold (``"low/mid"``: between those two
            classes).
        """
        import pandas as pd
        from scipy.stats import norm

        check_is_fitted(self)
        if not 0 < level < 1:
            raise ValueError(f"level must be in (0, 1), got {level}.")
        if self.alpha != 0:
            raise ValueError(
                "summary() reports maximum-likelihood inference, which needs "
                f"the unpenalised fit (alpha=0); this model has alpha={self.alpha}, "
                "whose shrunken estimates have no such standard errors."
            )
        coef = np.concatenate([to_numpy(self.coef_[0]), to_numpy(self.intercept_)])
        coef = coef.astype(np.float64)
        se = np.sqrt(np.diag(self.covariance_))
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.where(np.isinf(se), 0.0, coef / se)
        half = norm.ppf(0.5 + level / 2) * se
        lower, upper = f"{(1 - level) / 2:.3f}", f"{(1 + level) / 2:.3f}"
        return pd.DataFrame(
            {
                "coef": coef,
                "std err": se,
                "z": z,
                "P>|z|": 2 * norm.sf(np.abs(z)),
                f"[{lower}": coef - half,
                f"{upper}]": coef + half,
            },
            index=_parameter_names(self, len(coef) - len(self.classes_) + 1),
        )


def _flat_direction(hessian):
    """Whether the information (of the mean loss, standardised features) is
    nearly singular: a separation drives the curvature along its direction
    to zero (and, when complete, every curvature); so does collinearity."""
    eigenvalues = np.linalg.eigvalsh(hessian)
    return bool(eigenvalues[0] <= 1e-6 * max(eigenvalues[-1], 1e-2))


def _covariance(problem, hessian, direction):
    """Covariance of ``(coef_[0], intercept_)`` on the original scale.

    The inverse observed information in the standardised coordinates
    (``hessian`` is that of the mean loss, so the information is
    ``weight_sum * hessian``), mapped by the linear change of variables to
    the original features. NaN for constant features; the parameters that
    ``direction`` (a separation) moves get an infinite variance.
    """
    K = problem.n_classes
    free = ~problem.constant
    p = free.shape[0]
    try:
        cov_std = np.linalg.inv(hessian) / problem.weight_sum
    except np.linalg.LinAlgError:
        cov_std = np.full(hessian.shape, np.inf)
    # original = J @ standardised, in the order (coef, intercepts).
    J = np.zeros((p + K - 1, K - 1 + p))
    J[np.arange(p), K - 1 + np.arange(p)] = 1.0 / problem.scale
    J[p:, : K - 1] = np.eye(K - 1)
    J[p:, K - 1 :] = -problem.mean / problem.scale
    J[:, K - 1 :][:, problem.constant] = 0.0
    Jf = J[:, np.concatenate([np.ones(K - 1, dtype=bool), free])]
    cov = Jf @ cov_std @ Jf.T
    cov[np.flatnonzero(problem.constant), :] = np.nan
    cov[:, np.flatnonzero(problem.constant)] = np.nan
    if direction is not None:
        moved = np.abs(J @ direction)
        infinite = np.flatnonzero(moved > 1e-8 * moved.max())
        cov[infinite, :] = np.nan
        cov[:, infinite] = np.nan
        cov[infinite, infinite] = np.inf
    return cov


def _parameter_names(model, n_features):
    if hasattr(model, "feature_names_in_"):
        features = [str(name) for name in model.feature_names_in_]
    else:
        features = [f"x{j}" for j in range(n_features)]
    classes = [str(c) for c in model.classes_]
    return features + [f"{lo}/{hi}" for lo, hi in pairwise(classes)]
