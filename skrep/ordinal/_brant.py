"""The Brant test of the proportional-odds assumption."""

import numpy as np
import pandas as pd
from scipy.stats import chi2
from sklearn.utils import Bunch
from sklearn.utils.validation import check_is_fitted, validate_data

from skrep.ordinal import _links
from skrep.ordinal._cumulative import encode_ordinal_labels
from skrep.ordinal._proportional_odds import ProportionalOdds, _parameter_names
from skrep.utils._array_api import to_numpy
from skrep.utils.extmath import unit_scale

__all__ = ["brant_test"]


def brant_test(estimator, X, y):
    """Brant's Wald test that the slopes of every cumulative split are equal.

    A proportional-odds (cumulative link) model says that the ``K - 1``
    binary splits ``y <= c_k`` against ``y > c_k`` of the ordered classes all
    follow ``P(y <= c_k | x) = F(alpha_k + x @ beta)`` with one ``beta``.
    Brant's test fits the ``K - 1`` binary models separately (the same
    link), each with its own ``beta_k``, and tests ``beta_1 = ... =
    beta_{K-1}`` with a Wald statistic, using the joint covariance of the
    separate estimates (they are fitted to the same rows, so they are
    correlated): overall with ``(K - 2) p`` degrees of freedom, and for each
    feature with ``K - 2``. A small p-value says that some feature's effect
    changes between the transitions -- the situation PRESTO is made for,
    and its fit shows which transitions differ.

    Parameters
    ----------
    estimator : ProportionalOdds
        A maximum-likelihood (``alpha=0``) proportional-odds model fitted on
        ``X`` and ``y``, unweighted; its link and class order are used.
    X : array-like of shape (n_samples, n_features)
        The training data of ``estimator``.
    y : array-like of shape (n_samples,)
        Its training labels (every class of ``estimator.classes_`` present).

    Returns
    -------
    result : sklearn.utils.Bunch
        ``statistic``, ``df`` and ``p_value`` of the omnibus test;
        ``per_feature``, a pandas DataFrame indexed by feature with columns
        ``statistic``, ``df`` and ``p_value`` (NaN for a constant feature,
        which has no slope); ``coef``, the ``(K - 1, n_features)`` slopes of
        the separate binary fits (in ``estimator.coef_``'s convention).

    See Also
    --------
    ProportionalOdds : The model under test.
    PRESTO : Relaxes proportional odds where the data say so.

    Notes
    -----
    With ``u_ik = 1{y_i <= c_k}``, ``F_ik`` and ``f_ik`` the fitted
    probability and density of binary fit ``k``, and ``x~ = (1, x)``, the
    covariance of the separate estimates ``theta_k = (alpha_k, beta_k)`` is
    ``I_k^-1 C_kl I_l^-1`` with ``I_k = sum_i x~ x~' f_ik^2 / v_ik``,
    ``v_ik = F_ik (1 - F_ik)``, and
    ``C_kl = sum_i x~ x~' f_ik f_il F_i,min(k,l) (1 - F_i,max(k,l)) / (v_ik v_il)``
    (the covariance of the binary scores). For the logit link this is
    Brant's (1990) formula; for the others the same sandwich with the link's
    density. The statistic is ``(D b)' (D V D')^-1 (D b)`` with ``b`` the
    stacked slopes, ``V`` their covariance and ``D`` the differences
    ``beta_1 - beta_k``. It is computed on standardised features (the Wald
    statistic does not depend on the features' scale). Its null distribution
    is chi-squared asymptotically; like every Wald test it needs enough rows
    in each class for the separate fits (a separated split gives a
    :class:`PerfectSeparationWarning` from its binary fit).

    References
    ----------
    .. [1] R. Brant, "Assessing proportionality in the proportional odds
       model for ordinal logistic regression", Biometrics 46(4), 1171-1178,
       1990.

    Examples
    --------
    >>> import numpy as np
    >>> from skrep.ordinal import ProportionalOdds, brant_test
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(500, 2))
    >>> y = np.digitize(X @ [1.0, -0.5] + rng.logistic(size=500), [-1, 0, 1])
    >>> model = ProportionalOdds().fit(X, y)
    >>> result = brant_test(model, X, y)
    >>> result.df
    4
    >>> bool(result.p_value > 0.05)
    True
    >>> list(result.per_feature.columns)
    ['statistic', 'df', 'p_value']
    """
    if not isinstance(estimator, ProportionalOdds):
        raise TypeError(
            "brant_test needs a fitted ProportionalOdds, got "
            f"{type(estimator).__name__}."
        )
    check_is_fitted(estimator)
    if estimator.alpha != 0:
        raise ValueError(
            "brant_test tests the maximum-likelihood proportional-odds fit "
            f"(alpha=0); this estimator has alpha={estimator.alpha}."
        )
    classes = np.asarray(estimator.classes_)
    K = len(classes)
    if K < 3:
        raise ValueError(
            "The Brant test compares the slopes of the K - 1 cumulative splits; "
            f"it needs at least 3 classes, the estimator has {K}."
        )
    X = validate_data(estimator, X, reset=False, dtype=np.float64)
    y_arr = np.asarray(y)
    if y_arr.ndim != 1 or y_arr.shape[0] != X.shape[0]:
        raise ValueError(
            f"X has {X.shape[0]} rows but y has shape {y_arr.shape}; they must "
            "be the estimator's training rows and labels."
        )
    present = set(np.unique(y_arr).tolist())
    absent = [c for c in classes.tolist() if c not in present]
    if absent and not present - set(classes.tolist()):
        raise ValueError(
            f"The classes {absent} of the estimator have no row in y; the Brant "
            "test needs the estimator's training data."
        )
    codes, _ = encode_ordinal_labels(y_arr, classes)
    link = estimator._link()
    loss = _mean_nll(estimator, link, X, codes)
    if not np.isclose(loss, estimator.objective_, rtol=1e-5, atol=1e-10):
        raise ValueError(
            "The estimator was not fitted on this X and y (or was fitted with "
            f"sample_weight): its training loss was {estimator.objective_:.10g}, "
            f"on these {X.shape[0]} rows it is {loss:.10g}. The Brant test "
            "needs the unweighted training data of the fit."
        )

    # A feature varies relative to its own magnitude (whatever its units).
    varying = np.ptp(X, axis=0) > 1e-12 * np.abs(X).max(axis=0)
    if not varying.any():
        raise ValueError(
            "No feature of X varies: the Brant test has no slope to compare "
            "across the cumulative splits."
        )
    unit = unit_scale(X[:, varying], np, axis=0)  # exact: no under/overflow
    Z = X[:, varying] / unit
    mean, scale = Z.mean(axis=0), Z.std(axis=0)
    Xt = np.column_stack([np.ones(len(Z)), (Z - mean) / scale])
    scale = scale * unit[0]
    m = Xt.shape[1]

    # The K - 1 separate binary fits: P(y <= c_k) = F(alpha_k + x @ beta_k).
    binary = [
        ProportionalOdds(link=estimator.link).fit(X, codes > k) for k in range(K - 1)
    ]
    coef = np.array([fit.coef_[0] for fit in binary])
    eta = np.column_stack([fit.intercept_[0] + X @ fit.coef_[0] for fit in binary])
    F = np.clip(link.cdf(eta), 1e-300, 1 - 1e-16)
    ratio = link.pdf(eta) / (F * (1 - F))  # f / v
    info = [
        (Xt * (ratio[:, k] * link.pdf(eta[:, k]))[:, None]).T @ Xt for k in range(K - 1)
    ]
    if not all(np.all(np.isfinite(a)) for a in (eta, ratio, *info)):
        raise _undefined()
    inverse_info = [np.linalg.pinv(a) for a in info]
    V = np.empty(((K - 1) * m, (K - 1) * m))
    for k in range(K - 1):
        for ell in range(k, K - 1):
            # Cov(1{y <= c_k}, 1{y <= c_l}) = F_k (1 - F_l) for nested
            # events. The separate fits' curves cross where their slopes
            # differ: min / max keep each row's 2 x 2 block a covariance (of
            # two thresholds of one uniform), so V stays positive semi-definite.
            lo = np.minimum(F[:, k], F[:, ell])
            hi = np.maximum(F[:, k], F[:, ell])
            w = ratio[:, k] * ratio[:, ell] * lo * (1 - hi)
            block = inverse_info[k] @ ((Xt * w[:, None]).T @ Xt) @ inverse_info[ell]
            V[k * m : (k + 1) * m, ell * m : (ell + 1) * m] = block
            V[ell * m : (ell + 1) * m, k * m : (k + 1) * m] = block.T
    slopes = np.concatenate([np.arange(1, m) + k * m for k in range(K - 1)])
    V = V[np.ix_(slopes, slopes)]
    b = (coef[:, varying] * scale).ravel()  # standardised slopes, stacked
    p = m - 1

    def wald(features):
        # Rows of D: beta_1[j] - beta_k[j] for k >= 2 and j in features.
        D = np.zeros(((K - 2) * len(features), (K - 1) * p))
        for r, (k, j) in enumerate((k, j) for k in range(1, K - 1) for j in features):
            D[r, j] = 1.0
            D[r, k * p + j] = -1.0
        d = D @ b
        stat = float(d @ np.linalg.lstsq(D @ V @ D.T, d, rcond=None)[0])
        return stat, D.shape[0], float(chi2.sf(stat, D.shape[0]))

    statistic, df, p_value = wald(range(p))
    if not np.isfinite(statistic) or statistic < 0:
        raise _undefined()
    rows = np.full((X.shape[1], 3), np.nan)
    for j, column in enumerate(np.flatnonzero(varying)):
        rows[column] = wald([j])
    names = _parameter_names(estimator, X.shape[1])[: X.shape[1]]
    per_feature = pd.DataFrame(
        rows, index=names, columns=["statistic", "df", "p_value"]
    )
    per_feature["df"] = per_feature["df"].astype("Int64")
    return Bunch(
        statistic=statistic,
        df=df,
        p_value=p_value,
        per_feature=per_feature,
        coef=coef,
    )


def _undefined():
    return ValueError(
        "The separate binary fits of the Brant test have no finite covariance: "
        "a cumulative split of y is separated by X (or X is scaled beyond the "
        "float range)."
    )


def _mean_nll(estimator, link, X, codes):
    """The mean negative log-likelihood of ``estimator`` on validated ``X``,
    accurate in both tails, as the fit computes it (a row whose class the
    fit deems near-impossible has ``F(a)`` rounding to 1: ``log(1 - F(a))``
    would be ``-inf`` where ``log S(a)`` is finite)."""
    coef = np.asarray(to_numpy(estimator.coef_[0]), dtype=np.float64)
    intercept = np.asarray(to_numpy(estimator.intercept_), dtype=np.float64)
    eta = np.ascontiguousarray(intercept[None, :] + (X @ coef)[:, None])
    n = len(X)
    buffers = [np.empty(n) for _ in range(5)]
    return _links.row_derivatives(
        link, eta, codes, np.full(n, 1.0 / n), *buffers, want_loss=True
    )
