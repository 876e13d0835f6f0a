"""The cumulative-logit model shared by ProportionalOdds and PRESTO.

The data, labels and predictions (base class), and the two solvers: a Newton
method for the proportional-odds model (its Hessian is only
``(p + K - 1)``-square) and a proximal Newton method for the fused-lasso
model on the transition differences ``psi`` (block coordinate descent on
the quadratic model, in :mod:`skrep.ordinal._kernels`, then a line search;
no step may make a training row's cumulative probabilities cross: where a
step would, :mod:`skrep.ordinal._interior` solves on the boundary).
"""

import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    validate_data,
)

from skrep.ordinal import _links
from skrep.ordinal._interior import fit_interior, penalty
from skrep.ordinal._kernels import (
    cd_quadratic,
    max_feasible_step,
    row_derivatives,
    trial_loss,
)
from skrep.utils._array_api import (
    get_namespace,
    get_namespace_and_device,
    to_host,
    to_namespace,
    to_numpy,
)
from skrep.utils._compat import check_same_namespace
from skrep.utils._threads import threads_for
from skrep.utils._verbose import Progress
from skrep.utils.extmath import unit_scale

_ARMIJO = 1e-4
_MAX_SWEEPS = 1000


class CrossingWarning(UserWarning):
    """Cumulative probabilities crossed on new data and were repaired.

    Issued by ``predict_proba`` (and so ``predict``) of the ordinal models
    when, for some rows, the fitted slopes make a cumulative probability
    decrease across thresholds; those rows are repaired by a running maximum.

    Examples
    --------
    >>> import warnings
    >>> from skrep.ordinal import CrossingWarning
    >>> warnings.simplefilter("ignore", CrossingWarning)
    """


class PerfectSeparationWarning(UserWarning):
    """The maximum-likelihood estimate does not exist: the data are separated.

    Issued by :class:`ProportionalOdds` (unpenalised) when some direction of
    the parameters raises every training row's likelihood without bound, so
    the fitted coefficients along it are arbitrarily large; their standard
    errors are reported as infinite.

    Examples
    --------
    >>> import warnings
    >>> from skrep.ordinal import PerfectSeparationWarning
    >>> warnings.simplefilter("error", PerfectSeparationWarning)
    """


def _ordered_categories(y):
    """The category order of an ordered pandas categorical ``y``, else None."""
    dtype = getattr(y, "dtype", None)
    if getattr(dtype, "ordered", False) and hasattr(dtype, "categories"):
        return np.asarray(dtype.categories)
    return None


def encode_ordinal_labels(y, classes=None):
    """Codes ``0 .. K-1`` of the ordinal labels ``y`` and the class order.

    The order is ``classes`` when given, else the categories' order of an
    ordered pandas categorical, else the sorted unique labels.
    """
    order = _ordered_categories(y) if classes is None else None
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be one-dimensional, got shape {y.shape}.")
    check_classification_targets(y)
    uniques, inverse = np.unique(y, return_inverse=True)
    if classes is not None or order is not None:
        given = classes is not None
        order = np.asarray(classes if given else order)
        if order.ndim != 1 or len(set(order.tolist())) != len(order):
            raise ValueError("classes must be a one-dimensional list of unique labels.")
        position = {label: k for k, label in enumerate(order.tolist())}
        unknown = [u for u in uniques.tolist() if u not in position]
        if unknown:
            raise ValueError(f"y contains labels {unknown} that are not in classes.")
        if given:
            missing = [c for c in order.tolist() if c not in set(uniques.tolist())]
            if missing:
                raise ValueError(
                    f"The classes {missing} given in `classes` do not occur in y; "
                    "an ordinal model needs every class in its training data."
                )
            classes_ = order
        else:
            present = set(uniques.tolist())
            classes_ = np.asarray([c for c in order.tolist() if c in present])
            position = {label: k for k, label in enumerate(classes_.tolist())}
        rank = np.array([position[u] for u in uniques.tolist()], dtype=np.intp)
        codes = rank[inverse]
    else:
        classes_ = uniques
        codes = inverse.astype(np.intp)
        if any(isinstance(label, str) for label in uniques.tolist()):
            warnings.warn(
                f"y has string labels without an order; their alphabetical order "
                f"{uniques.tolist()} is taken as the ordinal order, lowest first "
                "(a pandas categorical that is not ordered counts as unordered). "
                "Pass `classes=[...]` lowest first, or y as an ordered pandas "
                "Categorical.",
                UserWarning,
                stacklevel=4,
            )
    if len(classes_) < 2:
        raise ValueError(
            "An ordinal classifier needs at least 2 classes in y; got "
            f"{len(classes_)} class."
        )
    return codes, classes_


class _Problem:
    """Standardised, class-sorted training data (never a fitted attribute).

    Row weights (``sample_weight``, frequency weights: a weight of 2 is a
    duplicated row) enter the loss, the standardisation and the null fit;
    rows of weight zero are left out, as if removed.
    """

    def __init__(self, X, codes, n_classes, sample_weight=None, link="logit"):
        if sample_weight is not None and np.any(sample_weight == 0):
            keep = sample_weight > 0
            X, codes, sample_weight = X[keep], codes[keep], sample_weight[keep]
        n, p = X.shape
        self.n_classes = n_classes
        self.link = _links.get_link(link)
        order = np.argsort(codes, kind="stable")
        self.order = order
        self.y = np.ascontiguousarray(codes[order], dtype=np.intp)
        counts = np.bincount(self.y, minlength=n_classes)
        self.starts = np.concatenate([[0], np.cumsum(counts)]).astype(np.intp)
        w = np.ones(n) if sample_weight is None else sample_weight[order]
        self.weight_sum = float(w.sum())
        self.sw = w / self.weight_sum
        self.class_weights = np.bincount(self.y, weights=w, minlength=n_classes)
        if np.any(counts == 0):
            empty = np.flatnonzero(counts == 0).tolist()
            raise ValueError(
                f"The classes with codes {empty} have zero total sample_weight; "
                "an ordinal model needs every class in its training data."
            )
        # One float64 copy, sorted by class, column-major, centred and scaled
        # by the (weighted) population standard deviation, plus a column of
        # ones.
        Xs = np.empty((n, p + 1), order="F")
        body = Xs[:, :p]
        for j in range(p):
            body[:, j] = np.take(X[:, j], order)
        # In units of each column's largest entry (an exact power of two), so
        # that squares neither overflow nor underflow and a column is
        # constant relative to its own magnitude, whatever its units.
        unit = unit_scale(body, np, axis=0)[0]
        body /= unit
        mean = self.sw @ body
        body -= mean
        scale = np.sqrt(np.einsum("i,ij,ij->j", self.sw, body, body))
        scale[scale <= 1e-12 * np.maximum(1.0, np.abs(mean))] = 0.0
        self.constant = scale == 0.0
        scale[self.constant] = 1.0
        body /= scale
        self.mean, self.scale = mean * unit, scale * unit
        body[:, self.constant] = 0.0
        Xs[:, p] = 1.0
        self.X = Xs
        self.force = None  # the constraints' pull at the last fit, if any
        self.index_a = np.flatnonzero(self.y > 0)
        self.index_b = np.flatnonzero(self.y < n_classes - 1)
        buf = [np.empty(n) for _ in range(5)]
        self.ga, self.gb, self.haa, self.hab, self.hbb = buf

    def null_intercepts(self):
        """Intercepts of the intercept-only fit: ``F^-1`` of cumulative shares."""
        cum = np.cumsum(self.class_weights)[:-1] / self.class_weights.sum()
        return self.link.ppf(cum)

    def eta(self, beta):
        """Linear predictors for ``beta`` of shape (K - 1, p + 1)."""
        return np.ascontiguousarray(self.X @ beta.T)

    def derivatives(self, eta, want_loss=True):
        args = (eta, self.y, self.sw, self.ga, self.gb, self.haa, self.hab, self.hbb)
        if self.link.name != "logit":
            return _links.row_derivatives(self.link, *args, want_loss)
        return row_derivatives(*args, want_loss)

    def directional_derivative(self, deta):
        """Derivative of the loss along ``deta``, after derivatives."""
        a, b = self.index_a, self.index_b
        return float(
            self.ga[a] @ deta[a, self.y[a] - 1] + self.gb[b] @ deta[b, self.y[b]]
        )

    def grad_eta(self):
        """Gradient of the loss w.r.t. eta, dense (n, K - 1), after derivatives."""
        n = self.X.shape[0]
        G = np.zeros((n, self.n_classes - 1))
        rows = np.arange(n)
        has_a = self.y > 0
        has_b = self.y < self.n_classes - 1
        G[rows[has_a], self.y[has_a] - 1] = self.ga[has_a]
        G[rows[has_b], self.y[has_b]] += self.gb[has_b]
        return G

    def grad_psi(self):
        """Gradient of the loss w.r.t. psi (K - 1, p + 1), after derivatives."""
        grad_beta = (self.X.T @ self.grad_eta()).T
        return np.cumsum(grad_beta[::-1], axis=0)[::-1]

    def kkt_gradient(self):
        """:meth:`grad_psi` less the monotone constraints' pull at the last
        fit (``force``, set where training rows tie): a coordinate held at
        zero is optimal where this is within its threshold."""
        grad = self.grad_psi()
        return grad if self.force is None else grad - self.force

    def to_original(self, beta):
        """Map (K - 1, p + 1) standardised coefficients to (coef, intercept)."""
        coef = beta[:, :-1] / self.scale
        coef[:, self.constant] = 0.0
        intercept = beta[:, -1] - coef @ self.mean
        return coef, intercept


def fit_fused(problem, psi, thresh, *, tol, max_iter, allowed=None):
    """Proximal Newton for the loss plus ``sum thresh * |psi|`` (psi in place).

    Coordinates with infinite ``thresh``, or where ``allowed`` is False, stay
    where they are. When a Newton step would make a training row's
    cumulative probabilities cross, the optimum may lie on that boundary,
    where coordinate descent stalls: :func:`fit_interior` solves from there.
    Returns the objective, the number of outer iterations run (plus
    interior-point stages; at most ``max_iter``) and whether it converged
    (which it may do in its last allowed iteration).
    """
    if allowed is None:
        allowed = np.ones(psi.shape, dtype=bool)
    problem.force = None
    beta = np.cumsum(psi, axis=0)
    eta = problem.eta(beta)
    loss = problem.derivatives(eta)
    obj = loss + penalty(psi, thresh)
    n = problem.X.shape[0]
    ra = np.empty(n)
    rb = np.empty(n)
    inner_tol = 0.1 * tol

    def newton_direction():
        new = psi.copy()
        ra[:] = problem.ga
        rb[:] = problem.gb
        cd_quadratic(
            problem.X,
            problem.starts,
            ra,
            rb,
            problem.haa,
            problem.hab,
            problem.hbb,
            new,
            thresh,
            allowed,
            _MAX_SWEEPS,
            inner_tol,
        )
        step = new - psi
        return new, step, problem.eta(np.cumsum(step, axis=0))

    # Each iteration's products are n x (p + 1) by (p + 1) x (K - 1).
    with threads_for(blas_work=2.0 * n * psi.size):
        for it in range(1, max_iter + 1):
            new, step, deta = newton_direction()
            decrease = (
                problem.directional_derivative(deta)
                + penalty(new, thresh)
                - penalty(psi, thresh)
            )
            if max_feasible_step(eta, deta) < 1.0:
                # The step leaves the training rows' monotone region, whose
                # boundary may hold the optimum: coordinate descent would
                # stop on it, so solve there by Newton steps on the dense
                # Hessian (active set, else interior point).
                obj, stages, converged = fit_interior(
                    problem,
                    psi,
                    thresh,
                    allowed,
                    tol=tol,
                    suboptimality=-decrease,
                    max_stages=max_iter - it,
                )
                return obj, min(it + stages, max_iter), converged
            if decrease > -tol or not np.any(step):
                return obj, it, True
            t = 1.0
            while True:
                trial = psi + t * step
                new_obj = trial_loss(eta, deta, t, problem.y, problem.sw) + penalty(
                    trial, thresh
                )
                if new_obj <= obj + _ARMIJO * t * decrease:
                    break
                t *= 0.5
                if t < 1e-12:
                    return obj, it, True
            psi[:] = trial
            eta += t * deta
            problem.derivatives(eta, want_loss=False)  # the loss is new_obj's
            gain = obj - new_obj
            obj = new_obj
            if gain < tol * max(abs(obj), 1e-3):
                return obj, it, True
        return obj, max_iter, False


def lambda_max(problem, psi, penalty_factor):
    """Smallest lambda at which the penalised coordinates of psi stay zero.

    ``psi`` must be the fit with the penalised coordinates at zero (derivatives
    of ``problem`` evaluated there).
    """
    grad_psi = problem.grad_psi()
    pen = penalty_factor > 0
    if not np.any(pen):
        return 0.0
    return float(np.max(np.abs(grad_psi[pen]) / penalty_factor[pen]))


def fit_parallel(problem, *, alpha, tol, max_iter, verbose=0):
    """Newton's method for the proportional-odds model with L2 penalty.

    ``alpha`` multiplies ``||beta_std||^2 / 2``. Returns (intercepts, beta,
    objective, n_iter, converged, hessian) on the standardised scale
    (``n_iter`` at most ``max_iter``: the last iteration may find
    convergence); ``hessian`` is the exact Hessian of the objective at the
    returned point in the intercepts and the slopes of the non-constant
    features.
    """
    K = problem.n_classes
    free = ~problem.constant
    Xf = problem.X[:, :-1][:, free]
    alpha_ = problem.null_intercepts()
    beta = np.zeros(Xf.shape[1])

    def predictors(alpha_, beta):
        return np.ascontiguousarray(alpha_[None, :] + (Xf @ beta)[:, None])

    def objective(loss, beta):
        return loss + 0.5 * alpha * float(beta @ beta)

    eta = predictors(alpha_, beta)
    obj = objective(problem.derivatives(eta), beta)
    buffer = np.empty_like(Xf, order="F")  # reused: X scaled by sqrt(curvature)
    # Each iteration's Hessian is a p x n by n x p product.
    with threads_for(blas_work=2.0 * Xf.shape[0] * Xf.shape[1] ** 2):
        progress = Progress("ProportionalOdds", verbose, total=max_iter)
        for it in range(1, max_iter + 1):
            H, g = _newton_system(problem, Xf, alpha, beta, buffer)
            try:
                step = -np.linalg.solve(_positive_definite(H), g)
            except np.linalg.LinAlgError:  # singular to rounding: collinear X
                step = -np.linalg.lstsq(H, g, rcond=None)[0]
            decrease = float(g @ step)
            # t = 0: converged (Newton decrement below tol) or no descent.
            t = 0.0 if -decrease < 2 * tol * max(abs(obj), 1e-3) else 1.0
            d_alpha, d_beta = step[: K - 1], step[K - 1 :]
            while t:
                a_new = alpha_ + t * d_alpha
                b_new = beta + t * d_beta
                if np.all(np.diff(a_new) >= 0):
                    eta_new = predictors(a_new, b_new)
                    new_obj = objective(problem.derivatives(eta_new), b_new)
                    if new_obj <= obj + _ARMIJO * t * decrease:
                        alpha_, beta, eta, obj = a_new, b_new, eta_new, new_obj
                        break
                t = t * 0.5 if t >= 2e-12 else 0.0
            progress(it, objective=obj, decrement=-decrease, step=t)
            if not t:
                problem.derivatives(eta)  # those of the returned point
                return alpha_, _expand(beta, free), obj, it, True, H
        H, _ = _newton_system(problem, Xf, alpha, beta, buffer)
        return alpha_, _expand(beta, free), obj, max_iter, False, H


def _newton_system(problem, Xf, alpha, beta, buffer):
    """Hessian and gradient of the proportional-odds objective in (intercepts,
    slopes), from the row derivatives last computed by ``problem``."""
    K = problem.n_classes
    y = problem.y
    rows = np.arange(len(y))
    has_a = y > 0
    has_b = y < K - 1
    a_idx = y[has_a] - 1
    b_idx = y[has_b]
    pf = Xf.shape[1]
    ga, gb, haa, hab, hbb = (
        problem.ga,
        problem.gb,
        problem.haa,
        problem.hab,
        problem.hbb,
    )
    g_beta = Xf.T @ (ga + gb) + alpha * beta
    g_alpha = np.bincount(a_idx, ga[has_a], minlength=K - 1) + np.bincount(
        b_idx, gb[has_b], minlength=K - 1
    )
    w = haa + 2.0 * hab + hbb
    Xw = np.multiply(Xf, np.sqrt(np.maximum(w, 0.0))[:, None], out=buffer)
    H_bb = Xw.T @ Xw  # numpy computes A.T @ A with syrk
    negative = w < 0  # non-convex links (cauchit): curvature of either sign
    if np.any(negative):
        H_bb -= (Xf[negative] * -w[negative, None]).T @ Xf[negative]
    H_bb[np.diag_indices(pf)] += alpha
    V = np.zeros((len(y), K - 1))
    V[rows[has_a], a_idx] = (haa + hab)[has_a]
    V[rows[has_b], b_idx] += (hab + hbb)[has_b]
    H_ab = V.T @ Xf
    H_aa = np.diag(
        np.bincount(a_idx, haa[has_a], minlength=K - 1)
        + np.bincount(b_idx, hbb[has_b], minlength=K - 1)
    )
    both = has_a & has_b
    off = np.bincount(y[both] - 1, hab[both], minlength=K - 1)[: K - 2]
    H_aa[np.arange(K - 2), np.arange(1, K - 1)] = off
    H_aa[np.arange(1, K - 1), np.arange(K - 2)] = off
    H = np.block([[H_aa, H_ab], [H_ab.T, H_bb]])
    return H, np.concatenate([g_alpha, g_beta])


def _positive_definite(H):
    """``H``, or ``H`` plus the smallest tried ridge that makes it positive
    definite (the Newton step must descend; a non-convex link's Hessian can
    be indefinite away from the optimum)."""
    if not np.all(np.isfinite(H)):
        raise ValueError(
            "The Hessian of the ordinal likelihood is not finite: the data are "
            "too badly scaled or separated beyond the float range; rescale X."
        )
    ridge = 1e-10 * max(1.0, float(np.trace(np.abs(H))))
    shifted = H
    # At most 40 ridges, up to 1e70 times the trace: positive definite.
    for _ in range(40):
        # numpy.linalg, not SciPy: SciPy's own BLAS threads, woken between
        # numpy's products, would fight numpy's for the cores.
        try:
            np.linalg.cholesky(shifted)
            return shifted
        except np.linalg.LinAlgError:
            shifted = H + ridge * np.eye(H.shape[0])
            ridge *= 100.0
    return shifted


def near_certain(problem, std):
    """Whether a training row has its own class at probability 1 - 1e-7 or
    more under the standardised coefficients ``std`` (shape ``(K - 1,
    p + 1)``, intercepts last): the trace of a separation (a sure sign only
    with :func:`separation_direction`)."""
    cum = problem.link.cdf(problem.eta(std))
    cum = np.hstack([np.zeros((len(cum), 1)), cum, np.ones((len(cum), 1))])
    y = problem.y
    rows = np.arange(len(y))
    return bool(np.any(cum[rows, y + 1] - cum[rows, y] > 1 - 1e-7))


def separation_direction(problem, parallel=True):
    """A direction along which the cumulative-logit likelihood rises without
    bound (the MLE does not exist), or None.

    In the standardised (intercepts, slopes) coordinates of ``problem``: a
    row of class ``c`` has its likelihood raised, never lowered, when its
    upper predictor ``eta_c`` does not decrease and its lower one
    ``eta_{c-1}`` does not increase; a direction doing that for every row,
    and strictly for some, is a separation. Found by a linear program over
    the rows. ``parallel``: one slope shared by the thresholds (proportional
    odds; the direction is ``(intercepts, slope)``); else a slope per
    threshold (the direction is ``(intercepts, slopes)``, the slopes
    threshold after threshold, over the non-constant features only), which
    must also keep every training row's predictors in order.
    """
    from scipy.optimize import linprog
    from scipy.sparse import csr_array
    from scipy.sparse import vstack as sparse_vstack

    K = problem.n_classes
    y = problem.y
    Xf = problem.X[:, :-1][:, ~problem.constant]
    n, pf = Xf.shape
    n_columns = K - 1 + (pf if parallel else (K - 1) * pf)

    def rows(mask, k):  # the direction's change of eta_k on the rows in mask
        m = len(k)
        first = K - 1 + (np.zeros_like(k) if parallel else k * pf)
        columns = np.hstack([k[:, None], first[:, None] + np.arange(pf)])
        values = np.hstack([np.ones((m, 1)), Xf[mask]])
        indptr = np.arange(0, m * (pf + 1) + 1, pf + 1)
        return csr_array(
            (values.ravel(), columns.ravel(), indptr), shape=(m, n_columns)
        )

    every = np.ones(n, dtype=bool)
    upper = rows(y < K - 1, y[y < K - 1])  # eta_c must not decrease
    lower = rows(y > 0, y[y > 0] - 1)  # eta_{c-1} must not increase
    constraints = [-upper, lower]
    if not parallel:  # eta_k <= eta_{k+1} stays true along the ray
        for k in range(K - 2):
            constraints.append(
                rows(every, np.full(n, k)) - rows(every, np.full(n, k + 1))
            )
    result = linprog(
        np.asarray(lower.sum(axis=0) - upper.sum(axis=0)).ravel(),
        A_ub=sparse_vstack(constraints, format="csr"),
        b_ub=np.zeros(sum(c.shape[0] for c in constraints)),
        bounds=(-1.0, 1.0),
        method="highs",
    )
    if result.status != 0 or -result.fun <= 1e-6 * np.sqrt(n):
        return None
    if not parallel:
        return result.x
    direction = np.zeros(K - 1 + problem.constant.shape[0])
    direction[: K - 1] = result.x[: K - 1]
    direction[K - 1 :][~problem.constant] = result.x[K - 1 :]
    return direction


def _expand(beta, free):
    full = np.zeros(free.shape[0])
    full[free] = beta
    return full


class _CumulativeLogitBase(ClassifierMixin, BaseEstimator):
    """Shared data handling and prediction of the cumulative-logit models."""

    def _link(self):
        return _links.get_link(getattr(self, "link", "logit"))

    def _validate_training_data(self, X, y, sample_weight=None):
        """Validated host ``X``, class codes, row weights (None: unweighted)
        and the input's namespace.

        Array-API ``X`` and ``y`` are copied to the host (the solvers are
        numpy/numba code); :meth:`_to_input_namespace` moves the fitted
        arrays back to the returned ``(xp, device)`` (None for numpy input).
        """
        xp, is_array_api, device = get_namespace_and_device(X)
        if is_array_api:
            y = to_host(y)
            if sample_weight is not None:
                sample_weight = to_host(sample_weight)
        codes_input = y
        X, y = validate_data(
            self, X, y, dtype=[xp.float64, xp.float32], y_numeric=False
        )
        if is_array_api:
            X = to_numpy(X, xp)
        codes, classes_ = encode_ordinal_labels(
            codes_input if _ordered_categories(codes_input) is not None else y,
            self.classes,
        )
        if X.shape[0] < 2:
            raise ValueError(f"Need at least 2 samples to fit, got {X.shape[0]}.")
        if sample_weight is not None:  # None stays None: unweighted
            sample_weight = _check_sample_weight(
                sample_weight, X, dtype=np.float64, ensure_non_negative=True
            )
        self.classes_ = classes_
        return X, codes, sample_weight, ((xp, device) if is_array_api else None)

    def _to_input_namespace(self, namespace, dtype, floats=(), others=()):
        """Cast the float model arrays ``floats`` to ``dtype``; move them and
        the arrays ``others`` to ``namespace = (xp, device)`` unless None."""
        for name in floats:
            setattr(self, name, getattr(self, name).astype(dtype, copy=False))
        if namespace is None:
            return
        xp, device = namespace
        for name in (*floats, *others):
            setattr(self, name, to_namespace(getattr(self, name), xp, device))

    def _linear_predictors(self, X, method):
        check_is_fitted(self)
        check_same_namespace(X, self, attribute="coef_", method=method)
        xp, is_array_api, _ = get_namespace_and_device(X)
        X = validate_data(self, X, reset=False, dtype=[xp.float64, xp.float32])
        if is_array_api:
            coef = xp.astype(self.coef_, X.dtype)
            return X @ coef.T + xp.astype(self.intercept_, X.dtype)
        return X @ self.coef_.T.astype(X.dtype, copy=False) + self.intercept_.astype(
            X.dtype, copy=False
        )

    def decision_function(self, X):
        """Linear predictors of the exceedance ``P(y > k | x)``.

        Column ``k`` is ``-(intercept_[k] + X @ coef_[k])``; with the logit
        link, the log-odds that the class is above ``classes_[k]`` (positive
        favours higher classes, as scikit-learn's binary convention wants).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        scores : ndarray of shape (n_samples, n_classes - 1)
            Or (n_samples,) when there are two classes.
        """
        scores = -self._linear_predictors(X, "decision_function")
        if scores.shape[1] != 1:
            return scores
        xp, _ = get_namespace(scores)
        return xp.reshape(scores, (-1,))

    def predict_proba(self, X):
        """Class probabilities, differences of cumulative probabilities.

        Cumulative probabilities that cross on new data (possible when the
        slopes differ between thresholds) are repaired by a running maximum,
        and a :class:`CrossingWarning` says how many rows needed it.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        return self._proba(X, "predict_proba")

    def _proba(self, X, method):
        eta = self._linear_predictors(X, method)
        xp, is_array_api, device = get_namespace_and_device(eta)
        if is_array_api:
            return self._proba_xp(eta, xp, device)
        cum = self._link().cdf(eta)
        # Round-off at a fit's monotonicity boundary is repaired silently.
        crossing = np.any(np.diff(cum, axis=1) < -1e-10, axis=1)
        n_crossing = int(crossing.sum())
        cum = np.maximum.accumulate(cum, axis=1)
        if n_crossing:
            warnings.warn(
                f"{n_crossing} of {cum.shape[0]} rows had crossing cumulative "
                "probabilities (the fitted slopes differ between thresholds); "
                "they were repaired by a running maximum.",
                CrossingWarning,
                stacklevel=3,
            )
        n = cum.shape[0]
        full = np.concatenate(
            [np.zeros((n, 1), cum.dtype), cum, np.ones((n, 1), cum.dtype)], axis=1
        )
        return np.diff(full, axis=1)

    def _proba_xp(self, eta, xp, device):
        """:meth:`predict_proba` from the predictors ``eta``, on their device."""
        cum = self._link().cdf_xp(eta, xp)
        n, n_thr = cum.shape
        crossing = xp.any(cum[:, 1:] - cum[:, :-1] < -1e-10, axis=1)
        n_crossing = int(xp.sum(xp.astype(crossing, xp.int64)))
        columns = [xp.zeros(n, dtype=cum.dtype, device=device)]
        for k in range(n_thr):  # running maximum, then differences
            columns.append(xp.maximum(columns[-1], cum[:, k]))
        columns.append(xp.ones(n, dtype=cum.dtype, device=device))
        if n_crossing:
            warnings.warn(
                f"{n_crossing} of {n} rows had crossing cumulative "
                "probabilities (the fitted slopes differ between thresholds); "
                "they were repaired by a running maximum.",
                CrossingWarning,
                stacklevel=3,
            )
        full = xp.stack(columns, axis=1)
        return full[:, 1:] - full[:, :-1]

    def predict_log_proba(self, X):
        """Log of :meth:`predict_proba`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        proba = self._proba(X, "predict_log_proba")
        xp, _ = get_namespace(proba)
        with np.errstate(divide="ignore"):
            return xp.log(proba)

    def predict(self, X):
        """The most probable class.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,)
        """
        proba = self._proba(X, "predict")
        xp, is_array_api, device = get_namespace_and_device(proba)
        if not is_array_api:
            return self.classes_[np.argmax(proba, axis=1)]
        best = xp.argmax(proba, axis=1)
        if self.classes_.dtype.kind not in "biuf":
            return self.classes_[to_numpy(best, xp)]  # strings stay on host
        return xp.take(to_namespace(self.classes_, xp, device), best)

    # decision_function returns the K - 1 cumulative predictors, not one
    # score per class (the way SVC's "ovo" shape is not "ovr").
    decision_function_shape = "cumulative"

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = True
        tags.array_api_support = True
        return tags


def warn_not_converged(name, max_iter, where=""):
    warnings.warn(
        f"{name} did not converge in max_iter={max_iter} iterations{where}; "
        "increase max_iter or tol.",
        ConvergenceWarning,
        stacklevel=3,
    )
