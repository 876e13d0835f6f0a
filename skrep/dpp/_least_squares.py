"""Weighted least squares on DPP, volume, Christoffel or uniform samples."""

import math
import warnings
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.utils import check_random_state, get_tags
from sklearn.utils.validation import check_is_fitted, validate_data

from skrep.dpp._samplers import (
    ChristoffelSampler,
    ProjectionDPPSampler,
    RepeatedDPPSampler,
    VolumeSampler,
    _check_continuous_basis,
    _orthonormalize,
    _UniformSampler,
)
from skrep.utils._array_api import (
    get_namespace,
    get_namespace_and_device,
    to_host,
    to_namespace,
    to_numpy,
)
from skrep.utils._compat import Interval, StrOptions, _fit_context, check_same_namespace
from skrep.utils._verbose import Progress

__all__ = ["DPPLeastSquares"]

_SAMPLERS = {
    "volume": VolumeSampler,
    "dpp": ProjectionDPPSampler,
    "repeated_dpp": RepeatedDPPSampler,
    "christoffel": ChristoffelSampler,
    "uniform": _UniformSampler,
}


# Warn when a fit is estimated to err more than this many times the best
# approximation in the span of the basis (see _design_quality).
_MAX_ERROR_FACTOR = 3.0


def _design_quality(Q_sel, weights, scale):
    """``||G - I||_2`` and the estimated error factor ``sqrt(1 + tr(G^-1) / n)``.

    ``G = scale * sum_i w_i q_i q_i^T`` is the weighted Gram matrix of the
    ``n`` selected points' orthonormal features. With ``f = P f + g`` (``P``
    the ``L^2`` projection on ``V_m``), the weighted least squares errs by
    ``||f - f_hat||^2 = ||g||^2 + ||c||^2``, ``c = G^-1 (1/n) sum_i w_i
    phi(x_i) g(x_i)``. When the ``g(x_i)`` act as independent residuals with
    ``E[w g^2] = ||g||^2`` (as for i.i.d. draws from the optimal density),
    ``E ||c||^2 = ||g||^2 tr(G^-1) / n``: the factor estimates
    ``||f - f_hat|| / ||f - P f||`` for this design, whatever ``f``. It is
    ``sqrt(1 + m / n)`` when ``G = I``, at most ``sqrt(3)`` under Cohen and
    Migliorati's condition ``||G - I|| <= 1/2``, and infinite for a singular
    ``G``.
    """
    Qw = Q_sel * np.sqrt(weights * scale)[:, None]
    evals = np.linalg.eigvalsh(Qw.T @ Qw)
    distance = float(np.abs(evals - 1).max())
    if evals[0] <= evals[-1] * evals.size * np.finfo(np.float64).eps:
        return distance, math.inf
    return distance, math.sqrt(1 + np.sum(1 / evals) / weights.shape[0])


def _midrange(X, xp):
    """Per-column centre and half-range, overflow-safe.

    A constant column gets an infinite half-range: its scaled feature is
    exactly zero and its coefficient exactly zero (the intercept carries it),
    not the round-off of a minimum-norm solve times the column's offset.
    """
    high, low = xp.max(X, axis=0), xp.min(X, axis=0)
    half = high / 2 - low / 2
    return high / 2 + low / 2, xp.where(half > 0, half, xp.full_like(half, math.inf))


class DPPLeastSquares(RegressorMixin, BaseEstimator):
    """Weighted least squares from few, diverse samples (DPP / volume sampling).

    Approximates ``y ~ f(x)`` in the span ``V_m`` of ``m`` features
    ``phi_1..phi_m`` from only ``n_samples`` labelled points, chosen so that
    they are diverse in feature space, and solves the weighted least-squares
    problem ``min_v (1/n) sum_i w(x_i) (y_i - v(x_i))^2`` with the Christoffel
    weights ``w = m / ||phi||^2`` of the (empirical or continuous) measure.

    :meth:`fit` treats ``X, y`` as a pool: it orthonormalises the pool's
    features (so the method works on any data), selects ``n_samples`` rows by
    the sampler, and fits on those rows alone. :meth:`select` only returns
    the rows to label; :meth:`fit_function` samples the continuous measure of
    a :class:`PolynomialBasis`, evaluates a function there and fits.

    Fit: ``O(N m^2)`` time and ``O(N m)`` peak memory for the pool's ``N x m``
    feature matrix and its orthonormal basis, plus ``O(m^3 log m)`` for a DPP
    sample; no ``N x N`` matrix is formed.

    Parameters
    ----------
    basis : transformer or None, default=None
        The feature map (e.g. :class:`PolynomialBasis`, or any transformer,
        cloned and fitted on the pool). None means the linear features
        ``[1, x]`` (ordinary linear regression on the selected rows).
    sampler : {"volume", "dpp", "repeated_dpp", "christoffel", "uniform"}, \
            default="volume"
        How points are chosen: volume-rescaled sampling (``m`` projection-DPP
        points plus ``n - m`` i.i.d. ones from the optimal density), one
        projection DPP (exactly ``m`` points), ``n // m`` independent
        projection DPPs and ``n % m`` points of one more, i.i.d. from the
        optimal density (Christoffel), or i.i.d. uniform on the pool / from
        ``mu`` with unit weights.
    n_samples : int, default=None
        The number of points ``n >= m``; None means ``2 m``. Ignored by
        ``"dpp"``, which always takes ``m``. At ``n = 2 m`` volume sampling
        and repeated DPPs are quasi-optimal: for Legendre spaces of dimension
        10-35 in 1-4 dimensions the median error is 1.1-1.4 times the best
        approximation error, and about 2 volume designs in 1,000 warn, fits
        that err about 7 times the best approximation error (median).
    random_state : int, RandomState instance or None, default=None
        Seed of the sampler.
    verbose : int, default=0
        When positive, print one line per step of the fit (``features``: the
        pool's rows and the rank of its features; ``sample``: the points
        drawn; ``solve``: the estimated error factor), each with the elapsed
        seconds, and the sampler's line per round in between.

    Attributes
    ----------
    coef_ : ndarray of shape (n_basis,) or (n_targets, n_basis)
        Coefficients on the basis' features (on ``x`` when ``basis=None``).
    intercept_ : float or ndarray of shape (n_targets,)
        The constant term when ``basis=None``, else 0.
    basis_ : transformer or None
        The fitted basis.
    n_basis_ : int
        The dimension ``m`` of the approximation space (the numerical rank of
        the pool's features).
    support_ : ndarray
        :meth:`fit`: indices of the pool rows used (i.i.d. samplers may
        repeat a row). :meth:`fit_function`: the points of shape
        ``(n_samples, n_features)`` where the function was evaluated.
    weights_ : ndarray of shape (n_selected,)
        The least-squares weights of those points.
    stability_ : float
        ``||G - I||_2`` with ``G = (1/n) sum_i w_i phi(x_i) phi(x_i)^T`` for the
        orthonormal features. At most 1/2 is Cohen and Migliorati's
        sufficient condition for a quasi-optimal fit; it needs ``n`` of order
        ``10 m log m`` i.i.d. points and rarely holds at ``n = O(m)``, where
        fits are quasi-optimal all the same, so it is reported, not enforced.
    error_factor_ : float
        The estimated ratio ``sqrt(1 + tr(G^-1) / n)`` of the ``L^2`` error to
        the best approximation error in the span of the features: the
        expected ratio when the residuals of the best approximation at the
        selected points behave like independent noise. ``sqrt(1 + m / n)``
        for a perfect design (``G = I``), at most ``sqrt(3)`` when
        ``||G - I|| <= 1/2``, infinite when ``G`` is singular. A
        ``UserWarning`` is emitted when it exceeds 3.
    n_features_in_ : int
        Number of features seen during :term:`fit`.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during :term:`fit`, when they are all strings.

    See Also
    --------
    PolynomialBasis : Orthonormal polynomial features.
    VolumeSampler, ProjectionDPPSampler, RepeatedDPPSampler, \
ChristoffelSampler : The samplers.
    sklearn.linear_model.LinearRegression : Least squares on all rows.

    Notes
    -----
    With ``basis=None`` the pool's columns are centred and scaled to
    ``[-1, 1]`` before the rank test and the solve (the span and the fit do
    not change), so features at any scale (``1e-7``, or ``1 + 1e-7 z``) are
    kept; ``coef_`` and ``intercept_`` are on the original scale. The rank
    test of any basis is relative to each column's norm.

    :meth:`predict` evaluates the basis at any point: a
    :class:`PolynomialBasis` clips points outside ``[-1, 1]^d`` by default
    (its ``domain`` parameter), so that cross-validation after a scaler
    fitted on the other folds runs.

    Array API: with ``sklearn.set_config(array_api_dispatch=True)`` and CuPy
    (or any array-API) ``X``, :meth:`fit` evaluates the pool's features and
    orthonormalises them on the device (only ``m x m`` Gram matrices go to
    the host), copies the orthonormal features to the host for the sampler
    (numba/numpy chain rule; the indices and weights it returns are small),
    then solves the weighted least squares on the device by a QR
    factorisation of the selected rows (the ``m x m`` triangular part is
    solved on the host). ``coef_``, ``intercept_``, ``support_`` and
    ``weights_`` are arrays of the input's namespace, device and float
    dtype, and :meth:`predict` runs on the device. A basis without array-API
    support (its ``array_api_support`` tag) is fitted and evaluated on the
    host, its features moved to the device. :meth:`fit_function` samples
    on the host and fits numpy arrays.

    References
    ----------
    .. [1] A. Nouy and B. Michel, "Weighted least-squares approximation with
       determinantal point processes and generalized volume sampling",
       arXiv:2312.14057, 2023.
    .. [2] A. Cohen and G. Migliorati, "Optimal weighted least-squares
       methods", SMAI Journal of Computational Mathematics 3, 2017.

    Examples
    --------
    >>> import numpy as np
    >>> from skrep.dpp import DPPLeastSquares, PolynomialBasis
    >>> model = DPPLeastSquares(PolynomialBasis(degree=9), n_samples=30,
    ...                         random_state=0)
    >>> model = model.fit_function(lambda X: 1 / (1 + 25 * X[:, 0] ** 2))
    >>> x = np.linspace(-1, 1, 201)[:, None]
    >>> err = np.abs(model.predict(x) - 1 / (1 + 25 * x[:, 0] ** 2)).max()
    >>> bool(err < 0.3)
    True
    """

    _parameter_constraints = {
        "basis": "no_validation",
        "sampler": [StrOptions(set(_SAMPLERS))],
        "n_samples": [Interval(Integral, 1, None, closed="left"), None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        basis=None,
        *,
        sampler="volume",
        n_samples=None,
        random_state=None,
        verbose=0,
    ):
        self.basis = basis
        self.sampler = sampler
        self.n_samples = n_samples
        self.random_state = random_state
        self.verbose = verbose

    # -- the pool

    def _features(self, X):
        xp, is_array_api, device = get_namespace_and_device(X)
        if is_array_api:
            return self._features_xp(X, xp, device)
        return np.asarray(self.basis_.transform(X), dtype=np.float64)

    def _basis_on_host(self):
        """Whether the basis lacks array-API support (then it runs on numpy)."""
        return not get_tags(self.basis_).array_api_support

    def _features_xp(self, X, xp, device):
        """The features of array-API ``X``, on its device in its dtype."""
        if self._basis_on_host():
            F = np.asarray(self.basis_.transform(to_numpy(X, xp)))
            return to_namespace(F, xp, device, dtype=X.dtype)
        return xp.astype(self.basis_.transform(X), X.dtype)

    def _make_sampler(self, m, rng):
        n = self.n_samples
        verbose = self.verbose
        if self.sampler == "dpp":
            return ProjectionDPPSampler(random_state=rng, verbose=verbose), None
        if n is None:
            n = 2 * m
        cls = _SAMPLERS[self.sampler]
        if self.sampler == "repeated_dpp":
            return cls(random_state=rng, verbose=verbose), n
        return cls(n_samples=n, random_state=rng, verbose=verbose), n

    def _progress(self):
        """Lines of the fit's three steps: features, sample, solve."""
        return Progress(type(self).__name__, self.verbose, unit="step", total=3)

    def _select(self, X, progress):
        """Fit the basis on the pool and draw rows; returns what fit needs."""
        if self.basis is not None and not (
            hasattr(self.basis, "fit") and hasattr(self.basis, "transform")
        ):
            raise ValueError(
                "basis must be None or a transformer with fit and transform, "
                f"got {self.basis!r}."
            )
        xp, is_array_api, device = get_namespace_and_device(X)
        self.basis_ = None if self.basis is None else clone(self.basis)
        if self.basis_ is None:
            # [1, x] with x centred and scaled to [-1, 1]: the same span, a
            # well-conditioned rank test and solve at any scale or offset.
            center = _midrange(X, xp)
            ones = xp.ones((X.shape[0], 1), dtype=X.dtype, device=device)
            F = xp.concat([ones, (X - center[0]) / center[1]], axis=1)
        else:
            center = None
            on_host = is_array_api and self._basis_on_host()
            self.basis_.fit(to_numpy(X, xp) if on_host else X)
            F = self._features(X)
        if not bool(xp.all(xp.isfinite(F))):
            raise ValueError("The basis returned non-finite features on the pool.")
        Q, _ = _orthonormalize(F, what="features of the pool")
        progress(1, rows=X.shape[0], features=F.shape[1], rank=Q.shape[1])
        if is_array_api:
            # The chain rule draws arbitrary rows: it runs on a host copy.
            Q = to_numpy(Q, xp)
        rng = check_random_state(self.random_state)
        sampler, n = self._make_sampler(Q.shape[1], rng)
        idx, w = sampler.sample(Q, n, return_weights=True)
        progress(2, points=idx.shape[0], sampler=self.sampler)
        return F, Q, idx, w, center

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y):
        """Select ``n_samples`` rows of the pool ``X`` and fit on them.

        Parameters
        ----------
        X : array-like of shape (n_candidates, n_features)
            The pool of candidate points.
        y : array-like of shape (n_candidates,) or (n_candidates, n_targets)
            Their values; only the selected rows ``y[support_]`` are used.

        Returns
        -------
        self : object
            The fitted regressor.
        """
        xp, is_array_api, device = get_namespace_and_device(X)
        if is_array_api:
            y = to_host(y)  # y may come from another namespace or device
        X, y = validate_data(
            self,
            X,
            y,
            multi_output=True,
            y_numeric=True,
            dtype=[xp.float64, xp.float32],
        )
        progress = self._progress()
        F, Q, idx, w, center = self._select(X, progress)
        self.n_basis_ = Q.shape[1]
        if is_array_api:
            idx_xp = to_namespace(idx, xp, device, dtype=xp.int64)
            F_sel = xp.astype(xp.take(F, idx_xp, axis=0), xp.float64)
            y_sel = to_namespace(np.asarray(y[idx], dtype=np.float64), xp, device)
            self._solve(F_sel, y_sel, to_namespace(w, xp, device, dtype=xp.float64))
            self.support_ = idx_xp
            self.weights_ = to_namespace(w, xp, device, dtype=X.dtype)
        else:
            self._solve(F[idx], y[idx], w)
            self.support_, self.weights_ = idx, w.astype(X.dtype, copy=False)
        if center is not None:
            self._uncenter(center)
        self._cast_coef(X.dtype)
        self.stability_, self.error_factor_ = _design_quality(
            Q[idx], w, Q.shape[0] / idx.size
        )
        self._report(progress)
        return self

    def _uncenter(self, center):
        """Coefficients on ``x`` from those on ``(x - offset) / scale``."""
        xp, _ = get_namespace(self.coef_)
        offset, scale = (xp.astype(a, self.coef_.dtype) for a in center)
        with np.errstate(over="ignore", invalid="ignore"):  # see _cast_coef
            self.coef_ = self.coef_ / scale
            shift = xp.sum(self.coef_ * offset, axis=-1)
            self.intercept_ = self.intercept_ - (
                float(shift) if isinstance(self.intercept_, float) else shift
            )

    def _cast_coef(self, dtype):
        """``coef_`` (and an array ``intercept_``) in the float dtype of ``X``."""
        xp, _ = get_namespace(self.coef_)
        with np.errstate(over="ignore"):
            self.coef_ = xp.astype(self.coef_, dtype, copy=False)
            if isinstance(self.intercept_, float):  # predictions are in dtype
                intercept = xp.asarray(self.intercept_, dtype=dtype)
            else:
                self.intercept_ = intercept = xp.astype(
                    self.intercept_, dtype, copy=False
                )
        if not (
            bool(xp.all(xp.isfinite(self.coef_)))
            and bool(xp.all(xp.isfinite(intercept)))
        ):
            raise ValueError(
                f"The coefficients overflow {dtype}: y is too large for the "
                "scale of X's features; rescale y (or X), or pass float64 data."
            )

    def select(self, X):
        """The rows of a pool to label, and their least-squares weights.

        Design of experiments: label ``X[indices]``, then fit a weighted least
        squares with ``sample_weight=weights`` on the basis' features. The
        estimator itself is left unchanged.

        Parameters
        ----------
        X : array-like of shape (n_candidates, n_features)
            The pool of candidate points.

        Returns
        -------
        indices : ndarray of shape (n_selected,)
            Rows of ``X`` (i.i.d. samplers may repeat a row); int64 arrays
            of the namespace and device of array-API ``X``.
        weights : ndarray of shape (n_selected,)
            Their Christoffel weights (ones for ``sampler="uniform"``), in
            float64 (on the device of array-API ``X``).
        """
        est = clone(self)
        est._validate_params()
        xp, is_array_api, device = get_namespace_and_device(X)
        X = validate_data(est, X, dtype=[xp.float64, xp.float32])
        _, _, idx, w, _ = est._select(X, est._progress())
        if is_array_api:
            idx = to_namespace(idx, xp, device, dtype=xp.int64)
            w = to_namespace(w, xp, device, dtype=xp.float64)
        return idx, w

    def fit_function(self, f, n_samples=None, *, n_features=1):
        """Sample the basis' continuous measure, evaluate ``f`` and fit.

        Function approximation with few evaluations: the points come from
        the sampler applied to the measure ``mu`` of a :class:`PolynomialBasis`
        (uniform on ``[-1, 1]^d`` for Legendre).

        Parameters
        ----------
        f : callable
            Maps an array of shape ``(n, n_features)`` to ``n`` finite values.
        n_samples : int, default=None
            Overrides the ``n_samples`` parameter.
        n_features : int, default=1
            The dimension ``d`` of the input.

        Returns
        -------
        self : object
            The fitted regressor.
        """
        self._validate_params()
        if not callable(f):
            raise TypeError(f"f must be callable, got {type(f).__name__}.")
        if self.basis is None:
            raise ValueError(
                "fit_function needs a PolynomialBasis as basis (its measure is "
                "where points are sampled); got basis=None."
            )
        progress = self._progress()
        basis = clone(self.basis)
        _check_continuous_basis(basis)
        self.basis_ = basis.fit(np.zeros((1, n_features)))
        m = self.basis_.n_output_features_
        progress(1, features=m, rank=m)
        rng = check_random_state(self.random_state)
        if n_samples is not None:
            est = clone(self).set_params(n_samples=n_samples)
            sampler, n = est._make_sampler(m, rng)
        else:
            sampler, n = self._make_sampler(m, rng)
        X, w = sampler.sample_continuous(self.basis_, n, return_weights=True)
        progress(2, points=X.shape[0], sampler=self.sampler)
        y = np.asarray(f(X), dtype=np.float64)
        if y.shape[:1] != (X.shape[0],):
            raise ValueError(
                f"f returned an array of shape {y.shape} for {X.shape[0]} points; "
                f"expected ({X.shape[0]},)."
            )
        if not np.all(np.isfinite(y)):
            bad = np.flatnonzero(~np.isfinite(y.reshape(X.shape[0], -1)).all(1))[0]
            raise ValueError(
                f"f returned a non-finite value at x = {X[bad].tolist()}; the "
                "function must be finite on the basis' domain."
            )
        F = self.basis_._evaluate(X)
        self.n_features_in_ = n_features
        if hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        self.n_basis_ = m
        self._solve(F, y, w)
        self.support_, self.weights_ = X, w
        self.stability_, self.error_factor_ = _design_quality(F, w, 1.0 / X.shape[0])
        self._report(progress)
        return self

    def _solve(self, F, y, w):
        xp, is_array_api, device = get_namespace_and_device(F)
        sw = xp.sqrt(w)
        A = F * sw[:, None]
        b = y * (sw[:, None] if y.ndim == 2 else sw)
        if is_array_api:
            # A = Q R on the device; the small R c = Q^T b by least squares on
            # the host gives lstsq(A, b)'s minimum-norm solution (same cutoff).
            Qa, R = xp.linalg.qr(A)
            rhs = Qa.T @ b if b.ndim == 2 else xp.matmul(b, Qa)
            rcond = np.finfo(np.float64).eps * max(A.shape)
            coef = np.linalg.lstsq(to_numpy(R, xp), to_numpy(rhs, xp), rcond=rcond)[0]
            self._set_coef(to_namespace(coef.T, xp, device), y.ndim, xp, device)
            return
        coef = np.linalg.lstsq(A, b, rcond=None)[0]
        self._set_coef(coef.T, y.ndim, np, None)

    def _set_coef(self, coef, y_ndim, xp, device):
        """``coef_`` and ``intercept_`` from coefficients on the features."""
        # coef: (n_targets, m) or (m,)
        if self.basis_ is None:
            self.intercept_ = xp.asarray(coef[..., 0], copy=True)
            if y_ndim == 1:
                self.intercept_ = float(self.intercept_)
            self.coef_ = xp.asarray(coef[..., 1:], copy=True)
        elif y_ndim == 1:
            self.intercept_ = 0.0
            self.coef_ = coef
        else:
            self.intercept_ = xp.zeros(coef.shape[0], dtype=coef.dtype, device=device)
            self.coef_ = coef

    def _report(self, progress):
        """The solve's progress line, and a warning for an unstable design."""
        progress(3, error_factor=self.error_factor_, stability=self.stability_)
        self._warn_unstable()

    def _warn_unstable(self):
        if self.error_factor_ <= _MAX_ERROR_FACTOR:
            return
        n = self.weights_.shape[0]
        if math.isinf(self.error_factor_):
            what = (
                f"the {n} points do not determine the {self.n_basis_} "
                "coefficients (singular G)"
            )
        else:
            what = (
                f"the weighted least squares on {n} points is estimated to err "
                f"{self.error_factor_:.3g} times the best approximation in the "
                f"span of the {self.n_basis_} features "
                f"(error_factor_ = sqrt(1 + tr(G^-1) / n) > {_MAX_ERROR_FACTOR:g})"
            )
        warnings.warn(
            f"Unstable design: {what}; ||G - I|| = {self.stability_:.3g}. "
            "Increase n_samples, or use sampler='volume' or 'repeated_dpp'.",
            UserWarning,
            stacklevel=4,
        )

    def predict(self, X):
        """Evaluate the fitted approximation.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Points; those outside a :class:`PolynomialBasis`'s domain are
            clipped to it, extrapolated or refused as its ``domain`` says
            (clipped by default).

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_targets)
            The predictions.
        """
        check_is_fitted(self)
        check_same_namespace(X, self, attribute="coef_", method="predict")
        xp, is_array_api, _ = get_namespace_and_device(X)
        X = validate_data(self, X, reset=False, dtype=[xp.float64, xp.float32])
        if is_array_api:
            coef = xp.astype(self.coef_, X.dtype)
            coef = coef if coef.ndim == 1 else coef.T
            intercept = self.intercept_
            if not isinstance(intercept, float):
                intercept = xp.astype(intercept, X.dtype)
            if self.basis_ is None:
                return X @ coef + intercept
            return self._features(X) @ coef
        if self.basis_ is None:
            return X @ self.coef_.T + self.intercept_
        return (self._features(X) @ self.coef_.T).astype(X.dtype, copy=False)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.array_api_support = True
        return tags
