"""PRESTO: proportional odds relaxed by fused, sparse transitions."""

import warnings
from numbers import Integral, Real

import numpy as np
from scipy.special import expit
from sklearn.metrics import check_scoring
from sklearn.model_selection import StratifiedKFold, check_cv
from sklearn.utils.parallel import Parallel, delayed

from skrep.ordinal._cumulative import (
    PerfectSeparationWarning,
    _CumulativeLogitBase,
    _Problem,
    fit_fused,
    lambda_max,
    near_certain,
    separation_direction,
    warn_not_converged,
)
from skrep.utils._compat import Interval, _fit_context
from skrep.utils._verbose import Progress

__all__ = ["PRESTO", "PRESTOCV"]


def _penalty_factor(problem, w1):
    n_thr = problem.n_classes - 1
    p = problem.X.shape[1] - 1
    factor = np.ones((n_thr, p + 1))
    factor[0, :] = w1
    factor[:, p] = 0.0  # intercepts are not penalised
    factor[:, :p][:, problem.constant] = 0.0  # all-zero columns: no effect
    return factor


def _start(problem, w1, tol, max_iter):
    """The fit at lambda = infinity and lambda_max (the smallest lambda
    keeping every penalised coordinate at zero)."""
    factor = _penalty_factor(problem, w1)
    psi = np.zeros_like(factor)
    psi[:, -1] = np.diff(problem.null_intercepts(), prepend=0.0)
    thresh = np.where(factor > 0, np.inf, 0.0)
    _, n_iter, _ = fit_fused(problem, psi, thresh, tol=tol, max_iter=max_iter)
    return psi, factor, lambda_max(problem, psi, factor), n_iter


def _path(problem, psi, factor, lambdas, *, tol, max_iter, verbose, name, start=None):
    """Warm-started fits along decreasing ``lambdas``: standardised psi's,
    objectives, iterations and whether every fit converged.

    ``start``: the fit's starting time (``time.perf_counter()``) for the
    elapsed seconds of the progress lines; None means now."""
    psis, objectives, n_iters, converged = [], [], [], True
    progress = Progress(name, verbose, unit="lambda", total=len(lambdas), start=start)
    grad = problem.kkt_gradient()
    previous = lambdas[0]
    for index, lam in enumerate(lambdas):
        # Sequential strong rule: solve on the likely non-zero coordinates,
        # then add any coordinate whose optimality (KKT) condition fails.
        thresh = lam * factor
        strong = (np.abs(grad) >= (2 * lam - previous) * factor) | (psi != 0)
        strong |= factor == 0
        n_iter = 0
        while True:
            obj, it, done = fit_fused(
                problem, psi, thresh, tol=tol, max_iter=max_iter, allowed=strong
            )
            n_iter += it
            grad = problem.kkt_gradient()
            violated = ~strong & (np.abs(grad) > thresh)
            if not np.any(violated):
                break
            strong |= violated
        # The fit that ends this lambda counts: an earlier one on a smaller
        # strong set was restarted from where it stopped.
        converged &= done
        previous = lam
        psis.append(psi.copy())
        objectives.append(obj)
        n_iters.append(n_iter)
        progress(
            index + 1,
            objective=obj,
            lam=lam,
            iterations=n_iter,
            nonzero=int(np.count_nonzero(psi[:, :-1])),
        )
    return psis, np.array(objectives), np.array(n_iters), converged


def _coefficients(problem, psis):
    coefs, intercepts = [], []
    for psi in psis:
        coef, intercept = problem.to_original(np.cumsum(psi, axis=0))
        coefs.append(coef)
        intercepts.append(intercept)
    return np.array(coefs), np.array(intercepts)


def _warn_if_separated(problem, psi, lam, w1, converged, name):
    """Warn when the objective has no minimum: the data are separated along
    a direction the penalty leaves free (``lam = 0``: any; ``w1 = 0``: a
    common slope, the proportional-odds model's)."""
    if lam > 0 and w1 > 0:
        return
    if converged and not near_certain(problem, np.cumsum(psi, axis=0)):
        return
    if separation_direction(problem, parallel=lam > 0) is None:
        return
    free = "any slopes" if lam == 0 else "a slope common to all thresholds"
    warnings.warn(
        f"{name}: the penalised likelihood has no minimum: the data are "
        f"(quasi-completely) separated along {free}, which the penalty "
        f"leaves free (lam={lam:g}, w1={w1:g}), so the fitted slopes are "
        "arbitrarily large. Fit with lam > 0 and w1 > 0, or drop or merge the "
        "separating features or classes.",
        PerfectSeparationWarning,
        stacklevel=4,
    )


def _proba(coef, intercept, X):
    """Class probabilities with crossing repaired silently."""
    cum = expit(X @ coef.T + intercept)
    cum = np.maximum.accumulate(cum, axis=1)
    n = cum.shape[0]
    return np.diff(np.concatenate([np.zeros((n, 1)), cum, np.ones((n, 1))], axis=1))


def _brier(codes, proba, sample_weight=None):
    onehot = np.zeros_like(proba)
    onehot[np.arange(len(codes)), codes] = 1.0
    return float(
        np.average(np.sum((onehot - proba) ** 2, axis=1), weights=sample_weight)
    )


def _geometric_grid(lmax, ratio, n):
    lmax = max(lmax, np.finfo(float).tiny / ratio)
    return np.geomspace(lmax, lmax * ratio, n)


class PRESTO(_CumulativeLogitBase):
    """PRESTO: cumulative logit model shrunk towards proportional odds.

    For ordered classes ``c_1 < ... < c_K``,
    ``P(y <= c_k | x) = sigmoid(intercept_[k] + x @ coef_[k])`` with a slope
    ``beta_k`` per threshold. PRESTO minimises the mean negative
    log-likelihood plus

    ``lam * (w1 * sum_j |beta_{j,1}| + sum_{k>=2} sum_j |beta_{j,k} - beta_{j,k-1}|)``

    on standardised features: the changes of the slopes between adjacent
    thresholds are sparse, so the rare last class borrows strength from the
    common transitions. With ``w1=1`` (the authors' choice) a very large
    ``lam`` gives the intercept-only model; with ``w1=0`` it gives the
    proportional-odds model; ``lam -> 0`` gives the non-parallel cumulative
    logit model.

    The penalty is a lasso on ``psi_1 = beta_1, psi_k = beta_k - beta_{k-1}``.
    It is solved by a proximal Newton method: block coordinate descent
    (numba) on the quadratic model built from each row's 2x2 Hessian in its
    two cumulative predictors, one block per feature (its ``K - 1``
    differences, whose gradient and Hessian come from per-class sums in one
    pass over the rows), with an active set; then a line search. The
    training rows' cumulative probabilities must stay monotone, and at a
    small ``lam`` the optimum can lie where some rows' tie: when a Newton
    step would make some cross, the problem is solved from there with
    dense ``(K-1)(p+1)``-square Newton systems: a primal active-set method
    (the tied rows as equalities, the zero coordinates fixed), else a
    log-barrier interior-point method that it then polishes to exact zeros
    and ties. The fit is warm-started down a
    geometric path from ``lambda_max_`` (the smallest ``lam`` with all
    penalised ``psi`` zero) to ``lam``, with sequential strong rules and a
    KKT check; a solution's ties and zeros warm-start the next ``lambda``.
    Peak memory is ``O(n * (p + K))`` while no row ties; the interior-point
    method adds ``O((K p)^2)``.

    Parameters
    ----------
    lam : float, default=0.01
        Penalty strength ``lambda`` (on the scale of the mean loss).
    w1 : float, default=1.0
        Penalty weight of the first slope ``beta_1``; 0 shrinks towards
        proportional odds instead of towards the intercept-only model. With
        ``w1=0`` (or ``lam=0``) on data that a common slope separates, the
        objective has no minimum and a :class:`PerfectSeparationWarning`
        says so.
    n_lambdas : int, default=20
        Number of points of the warm-start path from ``lambda_max_`` to
        ``lam``.
    classes : array-like of shape (n_classes,), default=None
        The class order, lowest first. None: the order of an ordered pandas
        categorical ``y``, else the sorted labels (with a warning for
        strings, whose alphabetical order is rarely the ordinal one).
    tol : float, default=1e-8
        Relative decrease of the objective at which a proximal Newton solve
        stops.
    max_iter : int, default=100
        Maximum number of proximal Newton iterations per ``lambda``, the
        interior-point method's stages included.
    verbose : int, default=0
        When positive, print one line per ``lambda`` of the path: the
        objective, ``lambda``, the proximal Newton iterations, the number of
        non-zero transitions and the elapsed seconds.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The classes, in their order.
    coef_ : ndarray of shape (n_classes - 1, n_features)
        Slopes ``beta_k`` at ``lam``.
    intercept_ : ndarray of shape (n_classes - 1,)
        Intercepts ``alpha_k`` at ``lam``.
    lambda_max_ : float
        Smallest ``lambda`` at which all penalised differences are zero.
    lambdas_ : ndarray of shape (n_lambdas,)
        The path, decreasing, ending at ``lam`` (just ``[lam]`` when
        ``lam >= lambda_max_``).
    coef_path_ : ndarray of shape (n_lambdas, n_classes - 1, n_features)
        Slopes along the path.
    intercept_path_ : ndarray of shape (n_lambdas, n_classes - 1)
        Intercepts along the path.
    objective_ : float
        Objective at ``lam``.
    n_iter_ : ndarray of shape (n_lambdas,)
        Proximal Newton iterations at each ``lambda``, plus the
        interior-point method's stages where rows tie.
    n_features_in_ : int
        Number of features seen in fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of the features, when ``X`` has string column names.

    See Also
    --------
    PRESTOCV : Chooses ``lam`` by cross-validated Brier score.
    ProportionalOdds : The model PRESTO shrinks towards.

    Notes
    -----
    Array API: fit on host (numba solver), prediction on device. With
    ``sklearn.set_config(array_api_dispatch=True)`` and CuPy (or any
    array-API) input, :meth:`fit` copies ``X`` and ``y`` to the host and runs
    the solver there; the fitted arrays (``coef_``, ``intercept_``, the paths,
    ``lambdas_``, ``n_iter_``) are then moved to the input's namespace and
    device, floats in the dtype of ``X``, while ``classes_`` stays a numpy
    array. :meth:`decision_function`, :meth:`predict_proba`,
    :meth:`predict_log_proba`, :meth:`predict` and :meth:`score` compute on
    that device; :meth:`predict` returns labels of the input's namespace for
    numeric classes, numpy labels otherwise (e.g. strings).

    References
    ----------
    .. [1] G. Faletto and J. Bien, "Predicting Rare Events by Shrinking
       Towards Proportional Odds", ICML 2023, arXiv:2305.18700.

    Examples
    --------
    >>> from skrep.ordinal import PRESTO
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(-1, 1, size=(400, 3))
    >>> latent = X @ [2.0, -1.0, 0.5] + rng.logistic(size=400)
    >>> y = np.digitize(latent, [-1.0, 0.5, 2.0])
    >>> model = PRESTO(lam=0.005).fit(X, y)
    >>> model.coef_.shape
    (3, 3)
    >>> model.predict_proba(X[:2]).sum(axis=1)
    array([1., 1.])
    """

    _parameter_constraints = {
        "lam": [Interval(Real, 0, None, closed="left")],
        "w1": [Interval(Real, 0, None, closed="left")],
        "n_lambdas": [Interval(Integral, 1, None, closed="left")],
        "classes": ["array-like", None],
        "tol": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        lam=0.01,
        *,
        w1=1.0,
        n_lambdas=20,
        classes=None,
        tol=1e-8,
        max_iter=100,
        verbose=0,
    ):
        self.lam = lam
        self.w1 = w1
        self.n_lambdas = n_lambdas
        self.classes = classes
        self.tol = tol
        self.max_iter = max_iter
        self.verbose = verbose

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the path from ``lambda_max_`` down to ``lam``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Ordinal labels (numbers, strings with ``classes``, or an ordered
            pandas categorical).
        sample_weight : array-like of shape (n_samples,), default=None
            Frequency weights of the rows (a weight of 2 is the row twice):
            they weight the loss and the standardisation of the features.

        Returns
        -------
        self : PRESTO
            The fitted model.
        """
        X, codes, sample_weight, namespace = self._validate_training_data(
            X, y, sample_weight
        )
        problem = _Problem(X, codes, len(self.classes_), sample_weight)
        psi, factor, lmax, _ = _start(problem, self.w1, self.tol, self.max_iter)
        if self.lam >= lmax or self.n_lambdas == 1:
            lambdas = np.array([float(self.lam)])
        else:
            # lam = 0 (the unpenalised model) ends a path down to 1e-6 lmax.
            lambdas = np.geomspace(lmax, max(self.lam, 1e-6 * lmax), self.n_lambdas)
            lambdas[-1] = self.lam
        psis, objectives, n_iters, converged = _path(
            problem,
            psi,
            factor,
            lambdas,
            tol=self.tol,
            max_iter=self.max_iter,
            verbose=self.verbose,
            name="PRESTO",
        )
        if not converged:
            warn_not_converged("PRESTO", self.max_iter, " at some lambda")
        _warn_if_separated(problem, psis[-1], lambdas[-1], self.w1, converged, "PRESTO")
        self.lambda_max_ = lmax
        self.lambdas_ = lambdas
        self.coef_path_, self.intercept_path_ = _coefficients(problem, psis)
        self.n_iter_ = n_iters
        self._to_input_namespace(
            namespace,
            X.dtype,
            ("coef_path_", "intercept_path_"),
            ("lambdas_", "n_iter_"),
        )
        self.coef_ = self.coef_path_[-1, ...]
        self.intercept_ = self.intercept_path_[-1, ...]
        self.objective_ = float(objectives[-1])
        return self


def _fold(X, codes, sw, split, lambdas, w1, tol, max_iter, scorer, classes, progress):
    """Held-out scores of the path fitted on ``split = (fold, train, test)``,
    whether all its fits converged, and the fold's line of ``progress``."""
    fold, train, test = split
    n_classes = len(classes)
    problem = _Problem(X[train], codes[train], n_classes, _rows(sw, train))
    psi, factor, _, _ = _start(problem, w1, tol, max_iter)
    psis, _, n_iters, converged = _path(
        problem,
        psi,
        factor,
        lambdas,
        tol=tol,
        max_iter=max_iter,
        verbose=0,
        name="PRESTOCV",
    )
    coefs, intercepts = _coefficients(problem, psis)
    X_test = X[test]
    sw_test = _rows(sw, test)
    weights = {} if sw_test is None else {"sample_weight": sw_test}
    scores = np.empty(len(lambdas))
    for index in range(len(lambdas)):
        if scorer is None:
            proba = _proba(coefs[index], intercepts[index], X_test)
            scores[index] = -_brier(codes[test], proba, sw_test)
        else:
            model = PRESTO()
            model.classes_ = classes
            model.coef_ = coefs[index]
            model.intercept_ = intercepts[index]
            model.n_features_in_ = X.shape[1]
            scores[index] = scorer(model, X_test, classes[codes[test]], **weights)
    best = int(np.argmax(scores))
    progress(fold, best_score=scores[best], lam=lambdas[best], iterations=sum(n_iters))
    return scores, converged


def _rows(sample_weight, index):
    return None if sample_weight is None else sample_weight[index]


def _is_stratified(cv):
    return "Stratified" in type(cv).__name__


def _missing_class_message(index, missing, classes, counts, stratified):
    """Why the training part of a CV fold lacks some classes, and the fix."""
    names = classes[missing].tolist()
    message = (
        f"The training part of CV fold {index} lacks the classes {names}; an "
        "ordinal model needs every class in every training part. "
    )
    few = [c for c in missing if counts[c] < 2]
    if stratified or few:
        rare = "; ".join(
            f"class {classes[c]} has only {counts[c]} "
            f"row{'s' if counts[c] != 1 else ''} in y"
            for c in missing
        )
        cause = (
            "The splitter is already stratified, but "
            if stratified
            else "The splitter holds these rows out together: "
        )
        return message + (
            f"{cause}{rare}, too few for a row to stay in every training part "
            "while its fold is held out. Merge the rare class with a "
            "neighbouring one, drop its rows, or pass cv as explicit "
            "(train, test) index pairs whose training parts keep it."
        )
    return message + "Use fewer folds or a stratified splitter."


class PRESTOCV(_CumulativeLogitBase):
    """PRESTO with its penalty chosen by cross-validation.

    Fits the PRESTO path (see :class:`PRESTO`) on each training fold, scores
    every ``lambda`` on the held-out fold (by default the multiclass Brier
    score ``sum_k (1{y = k} - p_k)^2``, averaged over rows), picks the
    largest ``lambda`` attaining the best mean score, as the authors do, and
    refits on all the data, down the grid to that lambda. Folds run in
    parallel with ``n_jobs`` (threads: the compiled solver releases the
    GIL). Peak memory is ``O(n * (p + K))`` per concurrent fold.

    Parameters
    ----------
    lambdas : array-like, default=None
        The grid of penalties. None: ``n_lambdas`` values, geometric from
        ``lambda_max`` (on all the data) down to ``lambda_min_ratio`` times it.
    n_lambdas : int, default=20
        Size of the default grid.
    lambda_min_ratio : float, default=0.01
        Smallest over largest ``lambda`` of the default grid.
    w1 : float, default=1.0
        Penalty weight of the first slope (see :class:`PRESTO`).
    cv : int, cross-validation generator or iterable, default=5
        As in scikit-learn, but an int means stratified K-fold on shuffled
        rows (``StratifiedKFold(cv, shuffle=True, random_state=random_state)``,
        random folds as the authors draw them): rows sorted by a feature
        would otherwise give folds that each hold out one range of it.
    scoring : str or callable, default=None
        None: the negative multiclass Brier score. Else any scikit-learn
        scorer (greater is better).
    n_jobs : int, default=None
        Number of folds fitted in parallel.
    classes : array-like of shape (n_classes,), default=None
        The class order, lowest first. None: as in :class:`PRESTO`.
    tol : float, default=1e-8
        Relative decrease of the objective at which a solve stops.
    max_iter : int, default=100
        Maximum proximal Newton iterations per ``lambda`` (interior-point
        stages included).
    verbose : int, default=0
        When positive, print one line per fold as it ends (the best held-out
        score, its ``lambda``, the proximal Newton iterations of the fold's
        path and the elapsed seconds), then one line per ``lambda`` of the
        refit on all the data, as :class:`PRESTO` does.
    random_state : int, RandomState instance or None, default=None
        Shuffles the rows before an int ``cv`` splits them into folds.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The classes, in their order.
    lambda_ : float
        The chosen penalty.
    lambda_max_ : float
        Smallest ``lambda`` at which all penalised differences are zero.
    lambdas_ : ndarray of shape (n_lambdas,)
        The grid, decreasing.
    cv_scores_ : ndarray of shape (n_splits, n_lambdas)
        Held-out score of every fold and ``lambda`` (negative Brier score by
        default; greater is better).
    mean_cv_scores_ : ndarray of shape (n_lambdas,)
        Their mean over folds.
    coef_path_ : ndarray of shape (n_refit, n_classes - 1, n_features)
        Slopes along the refit on all the data, warm-started down the grid
        from ``lambdas_[0]`` to ``lambda_`` (``n_refit`` values; the last row
        is ``coef_``).
    intercept_path_ : ndarray of shape (n_refit, n_classes - 1)
        Intercepts along that path.
    coef_ : ndarray of shape (n_classes - 1, n_features)
        Slopes at ``lambda_``.
    intercept_ : ndarray of shape (n_classes - 1,)
        Intercepts at ``lambda_``.
    n_iter_ : ndarray of shape (n_refit,)
        Proximal Newton iterations of the refit at each ``lambda`` (plus
        interior-point stages, as in :class:`PRESTO`).
    n_features_in_ : int
        Number of features seen in fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of the features, when ``X`` has string column names.

    See Also
    --------
    PRESTO : A fit at a fixed penalty.
    ProportionalOdds : The model PRESTO shrinks towards.

    Notes
    -----
    Array API: fit on host (numba solver), prediction on device. With
    ``sklearn.set_config(array_api_dispatch=True)`` and CuPy (or any
    array-API) input, :meth:`fit` copies ``X`` and ``y`` to the host and runs
    the solver there; the fitted arrays (``coef_``, ``intercept_``, the paths,
    ``lambdas_``, the scores, ``n_iter_``) are then moved to the input's
    namespace and device, floats in the dtype of ``X``, while ``classes_``
    stays a numpy array. :meth:`decision_function`, :meth:`predict_proba`,
    :meth:`predict_log_proba`, :meth:`predict` and :meth:`score` compute on
    that device; :meth:`predict` returns labels of the input's namespace for
    numeric classes, numpy labels otherwise (e.g. strings).

    References
    ----------
    .. [1] G. Faletto and J. Bien, "Predicting Rare Events by Shrinking
       Towards Proportional Odds", ICML 2023, arXiv:2305.18700.

    Examples
    --------
    >>> from skrep.ordinal import PRESTOCV
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(-1, 1, size=(400, 3))
    >>> latent = X @ [2.0, -1.0, 0.5] + rng.logistic(size=400)
    >>> y = np.digitize(latent, [-1.0, 0.5, 2.0])
    >>> model = PRESTOCV(n_lambdas=10, cv=3, random_state=0).fit(X, y)
    >>> model.cv_scores_.shape
    (3, 10)
    >>> bool(model.lambda_ in model.lambdas_)
    True
    """

    _parameter_constraints = {
        "lambdas": ["array-like", None],
        "n_lambdas": [Interval(Integral, 1, None, closed="left")],
        "lambda_min_ratio": [Interval(Real, 0, 1, closed="right")],
        "w1": [Interval(Real, 0, None, closed="left")],
        "cv": ["cv_object"],
        "scoring": [str, callable, None],
        "n_jobs": [Interval(Integral, None, None, closed="neither"), None],
        "classes": ["array-like", None],
        "tol": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        lambdas=None,
        *,
        n_lambdas=20,
        lambda_min_ratio=0.01,
        w1=1.0,
        cv=5,
        scoring=None,
        n_jobs=None,
        classes=None,
        tol=1e-8,
        max_iter=100,
        verbose=0,
        random_state=None,
    ):
        self.lambdas = lambdas
        self.n_lambdas = n_lambdas
        self.lambda_min_ratio = lambda_min_ratio
        self.w1 = w1
        self.cv = cv
        self.scoring = scoring
        self.n_jobs = n_jobs
        self.classes = classes
        self.tol = tol
        self.max_iter = max_iter
        self.verbose = verbose
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Cross-validate the path, then refit on all the data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Ordinal labels (numbers, strings with ``classes``, or an ordered
            pandas categorical).
        sample_weight : array-like of shape (n_samples,), default=None
            Frequency weights of the rows (a weight of 2 is the row twice):
            they weight each fold's fit and its held-out score (passed to
            ``scoring`` as ``sample_weight``), and the refit. The folds
            themselves are drawn from the rows as given.

        Returns
        -------
        self : PRESTOCV
            The fitted model.
        """
        X, codes, sample_weight, namespace = self._validate_training_data(
            X, y, sample_weight
        )
        classes = self.classes_
        K = len(classes)
        problem = _Problem(X, codes, K, sample_weight)
        psi, factor, lmax, _ = _start(problem, self.w1, self.tol, self.max_iter)
        if self.lambdas is None:
            lambdas = _geometric_grid(lmax, self.lambda_min_ratio, self.n_lambdas)
        else:
            lambdas = np.sort(np.asarray(self.lambdas, dtype=float).ravel())[::-1]
            if (
                lambdas.size == 0
                or np.any(lambdas < 0)
                or not np.all(np.isfinite(lambdas))
            ):
                raise ValueError(
                    "lambdas must be a non-empty list of finite non-negative numbers."
                )
        if isinstance(self.cv, Integral):
            cv = StratifiedKFold(self.cv, shuffle=True, random_state=self.random_state)
        else:
            cv = check_cv(self.cv, codes, classifier=True)
        with warnings.catch_warnings():
            # Our own message below says which class is too rare and why.
            warnings.filterwarnings("ignore", "The least populated class")
            splits = list(cv.split(X, codes))
        counts = np.bincount(codes, minlength=K)
        for index, (train, _) in enumerate(splits):
            present = np.bincount(
                codes[train], weights=_rows(sample_weight, train), minlength=K
            )
            missing = np.flatnonzero(present <= 0)
            if missing.size:
                raise ValueError(
                    _missing_class_message(
                        index, missing, classes, counts, _is_stratified(cv)
                    )
                )
        scorer = None if self.scoring is None else check_scoring(self, self.scoring)
        progress = Progress("PRESTOCV", self.verbose, unit="fold", total=len(splits))
        results = Parallel(n_jobs=self.n_jobs, prefer="threads")(
            delayed(_fold)(
                X,
                codes,
                sample_weight,
                (index, train, test),
                lambdas,
                self.w1,
                self.tol,
                self.max_iter,
                scorer,
                classes,
                progress,
            )
            for index, (train, test) in enumerate(splits, 1)
        )
        self.cv_scores_ = np.array([scores for scores, _ in results])
        self.mean_cv_scores_ = self.cv_scores_.mean(axis=0)
        best = int(
            np.flatnonzero(self.mean_cv_scores_ == self.mean_cv_scores_.max())[0]
        )
        # Refit on all the data, warm-started down the grid to lambda_ only.
        psis, objectives, n_iters, converged = _path(
            problem,
            psi,
            factor,
            lambdas[: best + 1],
            tol=self.tol,
            max_iter=self.max_iter,
            verbose=self.verbose,
            name="PRESTOCV",
            start=progress.start,
        )
        if not (converged and all(done for _, done in results)):
            warn_not_converged("PRESTOCV", self.max_iter, " at some lambda")
        _warn_if_separated(
            problem, psis[-1], lambdas[best], self.w1, converged, "PRESTOCV"
        )
        self.lambda_max_ = lmax
        self.lambdas_ = lambdas
        self.lambda_ = float(lambdas[best])
        self.coef_path_, self.intercept_path_ = _coefficients(problem, psis)
        self.n_iter_ = n_iters
        self._to_input_namespace(
            namespace,
            X.dtype,
            ("coef_path_", "intercept_path_"),
            ("lambdas_", "cv_scores_", "mean_cv_scores_", "n_iter_"),
        )
        self.coef_ = self.coef_path_[-1, ...]
        self.intercept_ = self.intercept_path_[-1, ...]
        return self
