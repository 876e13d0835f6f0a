"""Orthonormal polynomial feature maps: Legendre, Chebyshev and Hermite bases."""

import math
from numbers import Integral

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
)
from sklearn.utils.validation import check_is_fitted, validate_data

from skrep.utils._array_api import get_namespace_and_device, to_namespace, to_numpy
from skrep.utils._compat import Interval, StrOptions, _fit_context, check_same_namespace

__all__ = ["PolynomialBasis"]

# Points this far outside [-1, 1] (round-off of a scaler) are still accepted.
_DOMAIN_TOL = 1e-8


def _multi_indices(n_features, degree, index_set):
    """The multi-indices of a polynomial space, sorted by total degree."""
    indices = []

    def extend(prefix, budget):
        # budget: the remaining degree (total), product (hyperbolic) or None.
        if len(prefix) == n_features:
            indices.append(tuple(prefix))
            return
        for k in range(degree + 1):
            if index_set == "total":
                if k > budget:
                    break
                extend(prefix + [k], budget - k)
            elif index_set == "hyperbolic":
                if k + 1 > budget:
                    break
                extend(prefix + [k], budget // (k + 1))
            else:
                extend(prefix + [k], budget)

    extend([], degree + 1 if index_set == "hyperbolic" else degree)
    indices.sort(key=lambda a: (sum(a), tuple(-k for k in a)))
    return np.asarray(indices, dtype=np.intp).reshape(-1, n_features)


def _univariate(x, degree, family):
    """Orthonormal polynomials of degree 0..degree at x: shape x.shape + (degree+1,).

    Orthonormal for the uniform probability measure on [-1, 1] (Legendre), the
    arcsine measure dx / (pi sqrt(1 - x^2)) (Chebyshev) or the standard
    Gaussian measure (Hermite), evaluated by their three-term recurrences.
    """
    out = np.empty(x.shape + (degree + 1,), dtype=x.dtype)
    out[..., 0] = 1
    if degree == 0:
        return out
    if family == "legendre":
        # x p_k = a_{k+1} p_{k+1} + a_k p_{k-1}, a_k = k / sqrt(4 k^2 - 1)
        out[..., 1] = math.sqrt(3.0) * x
        for k in range(1, degree):
            a_k = k / math.sqrt(4.0 * k * k - 1.0)
            a_k1 = (k + 1) / math.sqrt(4.0 * (k + 1) ** 2 - 1.0)
            out[..., k + 1] = (x * out[..., k] - a_k * out[..., k - 1]) / a_k1
    elif family == "chebyshev":
        out[..., 1] = math.sqrt(2.0) * x
        if degree >= 2:
            out[..., 2] = 2 * x * out[..., 1] - math.sqrt(2.0)
        for k in range(2, degree):
            out[..., k + 1] = 2 * x * out[..., k] - out[..., k - 1]
    else:  # hermite (probabilists'), He_k / sqrt(k!)
        out[..., 1] = x
        for k in range(1, degree):
            out[..., k + 1] = (x * out[..., k] - math.sqrt(k) * out[..., k - 1]) / (
                math.sqrt(k + 1.0)
            )
    return out


def _univariate_xp(x, degree, family, xp):
    """:func:`_univariate` in namespace ``xp``: the columns stacked on device."""
    first = {"legendre": math.sqrt(3.0), "chebyshev": math.sqrt(2.0)}.get(family, 1.0)
    cols = [xp.ones_like(x), first * x][: degree + 1]
    for k in range(1, degree):
        if family == "legendre":
            a_k = k / math.sqrt(4.0 * k * k - 1.0)
            a_k1 = (k + 1) / math.sqrt(4.0 * (k + 1) ** 2 - 1.0)
            cols.append((x * cols[k] - a_k * cols[k - 1]) / a_k1)
        elif family == "chebyshev":
            previous = math.sqrt(2.0) if k == 1 else cols[k - 1]
            cols.append(2 * x * cols[k] - previous)
        else:
            cols.append((x * cols[k] - math.sqrt(k) * cols[k - 1]) / math.sqrt(k + 1.0))
    return xp.stack(cols, axis=-1)


class PolynomialBasis(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Orthonormal tensor-product polynomial features.

    Maps ``x`` in ``R^d`` to ``(phi_alpha(x))_{alpha in Lambda}`` where
    ``phi_alpha(x) = prod_k p_{alpha_k}(x_k)`` and ``p_k`` are the univariate
    polynomials orthonormal for a probability measure ``mu``: the uniform
    measure on ``[-1, 1]`` (Legendre), the arcsine measure (Chebyshev) or the
    standard Gaussian (Hermite). The features are then orthonormal for the
    product measure ``mu^{otimes d}``, as weighted least squares with
    Christoffel weights (:class:`DPPLeastSquares`) requires.

    Transforming costs ``O(n_samples * n_output_features_ * n_features_in_)``
    time and memory for the output only; ``max_output_features`` bounds the
    output's width.

    Parameters
    ----------
    degree : int, default=3
        The maximal degree ``p``.
    family : {"legendre", "chebyshev", "hermite"}, default="legendre"
        The univariate family, hence the measure ``mu`` and its domain
        (``[-1, 1]^d`` for Legendre and Chebyshev, ``R^d`` for Hermite).
    index_set : {"total", "hyperbolic", "tensor"}, default="total"
        The multi-indices kept: total degree ``|alpha|_1 <= p``, hyperbolic
        cross ``prod_k (alpha_k + 1) <= p + 1``, or full tensor
        ``max_k alpha_k <= p``.
    domain : {"clip", "extrapolate", "raise"}, default="clip"
        What :meth:`transform` does with points outside ``[-1, 1]^d``
        (Legendre and Chebyshev; Hermite is defined on ``R^d``): evaluate the
        polynomials at the nearest point of the domain (each coordinate
        clipped to ``[-1, 1]``, as scikit-learn's ``SplineTransformer`` holds
        its splines constant outside the training range), evaluate the
        polynomials themselves there (they are no longer orthonormal and grow
        like ``|x|^p``), or raise a ``ValueError``. The default lets
        cross-validation run after a ``MinMaxScaler(feature_range=(-1, 1))``
        fitted on the other folds, which leaves a few test rows just outside.
        :meth:`fit` requires its data in the domain unless
        ``domain="extrapolate"``.
    max_output_features : int or None, default=10_000
        The largest number of output features :meth:`fit` accepts; a larger
        space is refused with its size (``degree=12`` on 10 features has
        646,646 features: 4.8 GiB per 1,000 rows). None lifts the limit.

    Attributes
    ----------
    multi_indices_ : ndarray of shape (n_output_features_, n_features_in_)
        The multi-index ``alpha`` of each output feature, by increasing total
        degree; the first one is the constant.
    n_output_features_ : int
        The dimension ``m`` of the polynomial space.
    n_features_in_ : int
        Number of features seen during :term:`fit`.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during :term:`fit`, when they are all strings.

    See Also
    --------
    DPPLeastSquares : Weighted least squares on these features.
    sklearn.preprocessing.PolynomialFeatures : Monomials, not orthonormal.

    Notes
    -----
    Array API: with ``sklearn.set_config(array_api_dispatch=True)`` and CuPy
    (or any array-API) input, :meth:`transform` evaluates the recurrences on
    the input's device in its dtype, and ``multi_indices_`` is an integer
    array of that namespace and device. Sampling the basis' measures
    (used by the samplers) stays on the host.

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
    >>> from skrep.dpp import PolynomialBasis
    >>> X = np.array([[-1.0, 0.0], [0.5, 1.0]])
    >>> basis = PolynomialBasis(degree=2).fit(X)
    >>> basis.n_output_features_
    6
    >>> basis.multi_indices_[:3]
    array([[0, 0],
           [1, 0],
           [0, 1]])
    >>> basis.transform(X).shape
    (2, 6)
    """

    _parameter_constraints = {
        "degree": [Interval(Integral, 0, None, closed="left")],
        "family": [StrOptions({"legendre", "chebyshev", "hermite"})],
        "index_set": [StrOptions({"total", "hyperbolic", "tensor"})],
        "domain": [StrOptions({"clip", "extrapolate", "raise"})],
        "max_output_features": [Interval(Integral, 1, None, closed="left"), None],
    }

    def __init__(
        self,
        degree=3,
        *,
        family="legendre",
        index_set="total",
        domain="clip",
        max_output_features=10_000,
    ):
        self.degree = degree
        self.family = family
        self.index_set = index_set
        self.domain = domain
        self.max_output_features = max_output_features

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Compute the multi-indices for the number of features of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Points in the basis' domain.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted basis.
        """
        xp, is_array_api, device = get_namespace_and_device(X)
        X = validate_data(self, X, dtype=[xp.float64, xp.float32])
        if self.domain != "extrapolate":
            self._check_domain(X)
        self._fit_indices(X.shape[1])
        if is_array_api:
            self.multi_indices_ = to_namespace(
                self.multi_indices_, xp, device, dtype=xp.int64
            )
        return self

    def _fit_indices(self, n_features):
        n_funcs = (
            (self.degree + 1) ** n_features
            if self.index_set == "tensor"
            else math.comb(self.degree + n_features, n_features)
        )
        if n_funcs > 10_000_000:
            raise ValueError(
                f"degree={self.degree} with index_set={self.index_set!r} on "
                f"{n_features} features enumerates {n_funcs} multi-indices; "
                "use a smaller degree or the 'hyperbolic' index set."
            )
        if self.index_set != "hyperbolic":  # n_funcs is the exact count
            self._check_output_size(n_funcs, n_features)
        self.multi_indices_ = _multi_indices(n_features, self.degree, self.index_set)
        if self.index_set == "hyperbolic":  # counted by enumerating
            self._check_output_size(self.multi_indices_.shape[0], n_features)
        self.n_output_features_ = self.multi_indices_.shape[0]
        self._n_features_out = self.n_output_features_
        return self

    def _check_output_size(self, n_funcs, n_features):
        limit = self.max_output_features
        if limit is not None and n_funcs > limit:
            gib = n_funcs * 8e3 / 2**30
            smaller = (
                "" if self.index_set == "hyperbolic" else " or index_set='hyperbolic'"
            )
            raise ValueError(
                f"PolynomialBasis(degree={self.degree}, index_set="
                f"{self.index_set!r}) on {n_features} features has {n_funcs:,} "
                f"output features, more than max_output_features={limit:,} "
                f"(transform would return {gib:.3g} GiB per 1,000 rows in "
                f"float64). Use a smaller degree{smaller}, or raise "
                "max_output_features (None: no limit)."
            )

    def _check_domain(self, X):
        if self.family == "hermite":
            return
        xp, is_array_api, _ = get_namespace_and_device(X)
        if is_array_api:
            if not bool(xp.any(xp.abs(X) > 1 + _DOMAIN_TOL)):
                return
            X = to_numpy(X, xp)  # only to name the offending entry
        bad = np.abs(X) > 1 + _DOMAIN_TOL
        if bad.any():
            i, j = np.argwhere(bad)[0]
            raise ValueError(
                f"The {self.family} basis is defined on [-1, 1]^d, but X[{i}, {j}]"
                f" = {X[i, j]:.6g} lies outside; rescale the data first (e.g. with "
                "MinMaxScaler(feature_range=(-1, 1))), use family='hermite', or "
                "choose the domain parameter's 'clip' or 'extrapolate'."
            )

    def transform(self, X):
        """Evaluate the orthonormal polynomials at ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Points in the basis' domain; points outside are clipped,
            extrapolated or refused as ``domain`` says.

        Returns
        -------
        features : ndarray of shape (n_samples, n_output_features_)
            ``features[i, j] = phi_{alpha_j}(X[i])``, in the dtype of ``X``
            (float32 or float64).
        """
        check_is_fitted(self)
        check_same_namespace(X, self, attribute="multi_indices_", method="transform")
        xp, _, _ = get_namespace_and_device(X)
        X = validate_data(self, X, dtype=[xp.float64, xp.float32], reset=False)
        if self.domain == "raise":
            self._check_domain(X)
        out = self._evaluate(X)
        if self.family == "hermite" or self.domain == "extrapolate":
            self._check_finite(X, out)
        return out

    def _check_finite(self, X, out):
        """A ValueError naming the first row whose features overflowed."""
        xp, is_array_api, _ = get_namespace_and_device(out)
        if bool(xp.all(xp.isfinite(out))):
            return
        X, out = (to_numpy(X, xp), to_numpy(out, xp)) if is_array_api else (X, out)
        i = np.flatnonzero(~np.isfinite(out).all(axis=1))[0]
        j = int(np.argmax(np.abs(X[i])))
        raise ValueError(
            f"The degree-{self.degree} {self.family} polynomials overflow "
            f"{X.dtype} at X[{i}, {j}] = {X[i, j]:.6g}; rescale the data (e.g. "
            "with StandardScaler) or lower the degree."
        )

    def _evaluate(self, X):
        xp, is_array_api, _ = get_namespace_and_device(X)
        if is_array_api:
            return self._evaluate_xp(X, xp)
        if self.family != "hermite" and self.domain != "extrapolate":
            X = np.clip(X, -1, 1)
        with np.errstate(over="ignore", invalid="ignore"):  # _check_finite
            uni = _univariate(X, self.degree, self.family)  # (n, d, p + 1)
            alpha = self.multi_indices_
            out = np.ones((X.shape[0], alpha.shape[0]), dtype=X.dtype)
            for k in range(X.shape[1]):
                out *= uni[:, k, alpha[:, k]]
        return out

    def _evaluate_xp(self, X, xp):
        """:meth:`_evaluate` on the device of ``X`` (``multi_indices_`` there)."""
        if self.family != "hermite" and self.domain != "extrapolate":
            X = xp.clip(X, -1.0, 1.0)
        uni = _univariate_xp(X, self.degree, self.family, xp)  # (n, d, p + 1)
        alpha = self.multi_indices_
        out = None
        for k in range(X.shape[1]):
            factor = xp.take(uni[:, k, :], alpha[:, k], axis=1)
            out = factor if out is None else out * factor
        return out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        tags.array_api_support = True
        return tags

    # -- the measure mu and the optimal sampling measure rho, for the samplers

    def _sample_measure(self, n, rng):
        """Draw ``n`` i.i.d. points from the orthogonality measure ``mu``."""
        d = self.n_features_in_
        if self.family == "legendre":
            return rng.uniform(-1.0, 1.0, size=(n, d))
        if self.family == "chebyshev":
            return np.cos(np.pi * rng.uniform(size=(n, d)))
        return rng.standard_normal(size=(n, d))

    def _sample_optimal(self, n, rng):
        """Draw ``n`` i.i.d. points from ``rho = (1/m) sum_j phi_j^2 mu``.

        A mixture: pick ``j`` uniformly, then draw each coordinate ``k`` from
        ``p_{alpha_jk}^2 dmu`` (exactly, by rejection from the arcsine density
        for Legendre and Chebyshev; by inverting the distribution function on
        a fine grid for Hermite).
        """
        check_is_fitted(self)
        alpha = to_numpy(self.multi_indices_)
        rows = rng.randint(alpha.shape[0], size=n)
        degrees = alpha[rows]  # (n, d)
        X = np.empty(degrees.shape)
        for k in range(degrees.shape[1]):
            X[:, k] = self._sample_squared_univariate(degrees[:, k], rng)
        return X

    def _sample_squared_univariate(self, degrees, rng):
        """One draw from ``p_k^2 dmu`` for each ``k`` in ``degrees``."""
        n = degrees.shape[0]
        x = np.empty(n)
        if self.family == "hermite":
            for k in np.unique(degrees):
                where = np.flatnonzero(degrees == k)
                grid, cdf = _hermite_cdf(int(k))
                x[where] = np.interp(rng.uniform(size=where.size), cdf, grid)
            return x
        todo = np.arange(n)
        while todo.size:
            k = degrees[todo]
            prop = np.cos(np.pi * rng.uniform(size=todo.size))  # arcsine
            p = _univariate(prop, int(k.max()), self.family)
            pk2 = np.take_along_axis(p, k[:, None], axis=1)[:, 0] ** 2
            if self.family == "legendre":
                # (1/2) p_k^2 <= 2 / (pi sqrt(1 - x^2)): Bernstein's inequality.
                ratio = np.pi * pk2 * np.sqrt(np.maximum(1.0 - prop * prop, 0.0)) / 4
            else:  # chebyshev: p_k^2 <= 2, and p_0 = 1
                ratio = np.where(k == 0, 1.0, pk2 / 2)
            accept = rng.uniform(size=todo.size) < ratio
            x[todo[accept]] = prop[accept]
            todo = todo[~accept]
        return x


_HERMITE_CDF = {}


def _hermite_cdf(k):
    """A fine grid and the distribution function of ``p_k^2 dN(0, 1)`` on it."""
    if k not in _HERMITE_CDF:
        half = math.sqrt(4 * k + 2) + 12.0
        grid = np.linspace(-half, half, 40_001)
        dens = _univariate(grid, k, "hermite")[:, k] ** 2 * np.exp(-0.5 * grid**2)
        cdf = np.concatenate(([0.0], np.cumsum((dens[1:] + dens[:-1]) / 2)))
        _HERMITE_CDF[k] = (grid, cdf / cdf[-1])
    return _HERMITE_CDF[k]
