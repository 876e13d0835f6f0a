"""What the linear robust PCAs share: projection on ``components_`` around ``mean_``."""

import math

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
)
from sklearn.utils.validation import check_is_fitted, validate_data

from skrep.utils._array_api import get_namespace
from skrep.utils._compat import check_same_namespace
from skrep.utils.extmath import unit_scale


class _LinearSubspace(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Transformer of a fitted affine subspace (``mean_``, ``components_``).

    ``transform`` and ``inverse_transform`` follow the namespace and device of
    the fitted arrays (numpy, or CuPy and any array-API library when
    ``array_api_dispatch`` is on): inputs of another namespace or device get
    a ``ValueError``.
    """

    def transform(self, X):
        """Project rows on the robust principal components.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components_)
            ``(X - mean_) @ components_.T``.
        """
        check_is_fitted(self)
        check_same_namespace(X, self, attribute="components_", method="transform")
        xp, _ = get_namespace(X)
        X = validate_data(self, X, dtype=[xp.float64, xp.float32], reset=False)
        C = self.components_
        # Each score carries the rounding of mean_'s part of it, about eps
        # times |mean_| @ |C.T|, which cancels against the scores' spread for
        # rows far from the origin (float32 at an offset 1e6 times their
        # spread: scores at rounding noise). Kept while that is below sqrt(eps)
        # of the model's spread of each score, sqrt(explained_variance_) (at
        # worst half of the dtype's digits lost, as for float64 rows that the
        # fit leaves unmoved: it moves them past an offset 6.7e7 = 1 /
        # sqrt(eps) times their spread); beyond, the rows are centred first
        # (one n x d copy; X is left as given). The choice is the model's, so
        # a row's scores do not depend on the other rows of the batch.
        # Ordinary data (offsets
        # up to 1e3 times the spread in float32, 1e7 in float64) take the
        # fast form.
        eps = max(float(xp.finfo(X.dtype).eps), float(xp.finfo(C.dtype).eps))
        carried = xp.abs(self.mean_) @ xp.abs(C.T)
        if bool(xp.any(math.sqrt(eps) * carried > xp.sqrt(self.explained_variance_))):
            return (X - self.mean_) @ C.T
        return X @ C.T - self.mean_ @ C.T  # scikit-learn's PCA: no n x d copy

    def inverse_transform(self, X):
        """Map scores back to the data space.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components_)
            Scores.

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features)
            ``X @ components_ + mean_``.
        """
        check_is_fitted(self)
        check_same_namespace(
            X, self, attribute="components_", method="inverse_transform"
        )
        xp, is_array_api = get_namespace(X)
        if not is_array_api:
            X = np.asarray(X)
        return X @ self.components_ + self.mean_

    @property
    def _n_features_out(self):
        return self.components_.shape[0]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


def low_rank_dof(rank, m, n):
    """Degrees of freedom of a rank-``rank`` m x n matrix, ``rank (m + n - rank)``.

    Fewer observed entries than this cannot determine the matrix.
    """
    return rank * (m + n - rank)


def check_observed(X, xp, *, columns=True, rank=None):
    """Mask of the observed (non-NaN) entries of ``X``; None when all are.

    NaN marks an unobserved entry. ``+-inf`` is refused, and so are rows (and,
    with ``columns=True``, columns) with no observed entry, and, with
    ``rank``, fewer observed entries than the :func:`low_rank_dof` of a
    rank-``rank`` matrix of ``X``'s shape.

    Returns
    -------
    observed : bool array of the shape of ``X``, or None
    """
    if bool(xp.any(xp.isinf(X))):
        raise ValueError(
            "Input X contains infinity: only finite values and NaN (an "
            "unobserved entry) are allowed."
        )
    nan = xp.isnan(X)
    if not bool(xp.any(nan)):
        return None
    observed = xp.logical_not(nan)
    for axis, what in ((1, "row"), (0, "column")) if columns else ((1, "row"),):
        if not bool(xp.all(xp.any(observed, axis=axis))):
            raise ValueError(
                f"Input X has a {what} with no observed entry (all NaN): it "
                "cannot be decomposed."
            )
    if rank is not None:
        m, n = X.shape
        n_observed = int(xp.count_nonzero(observed))
        if n_observed < low_rank_dof(rank, m, n):
            raise ValueError(
                f"X has {n_observed} observed (non-NaN) entries, fewer than "
                f"the {low_rank_dof(rank, m, n)} degrees of freedom of a "
                f"rank-{rank} {m} x {n} matrix: its low-rank part cannot be "
                "recovered."
            )
    return observed


def check_representable(A, xp, what):
    """Refuse ``A`` (a result mapped back to the units of ``X``) if it overflowed."""
    if not bool(xp.all(xp.isfinite(A))):
        dtype = "float32" if A.dtype == xp.float32 else "float64"
        top = float(xp.finfo(A.dtype).max)
        raise ValueError(
            f"{what} cannot be represented in {dtype} (largest value {top:.3g}): "
            f"the entries of X are too large for its dtype; rescale X"
            + (" or pass it as float64." if dtype == "float32" else ".")
        )


def l1_row_decomposition(R, components, observed=None, *, tol, max_iter=500):
    """Split each row ``r`` of ``R`` into ``z @ components + s`` with ``s`` sparse.

    Solves the least-absolute-deviations regression ``min_z ||r - z V||_1``
    on the observed entries of each row (``V = components``, orthonormal
    rows) by the inexact augmented Lagrangian method, vectorised over rows:
    ``z = (r - s + y / mu) V^T``, ``s = shrink(r - z V + y / mu, 1 / mu)``,
    ``y += mu (r - z V - s)``, with ``mu`` growing by 1.5 from
    ``1.25 / ||r||_2`` (per row) up to ``1e10`` times that (the residual
    then falls under ``tol`` without waiting for the dual to converge). On unobserved
    entries ``s`` is free (it takes the value that the row's fit leaves).
    A row stops when ``||r - z V - s||_2 < tol ||r||_2``; converged rows are
    frozen, so each row's result does not depend on the others. When the
    corruption of a row is sparse enough for ``V`` (an incoherent subspace,
    few corrupted entries), the l1 regression recovers the row's clean part
    exactly, and so does this solver (to ``tol``); on rows with dense noise
    it stops at a fit whose l1 objective is within about 1e-3 of the
    optimum (the penalty grows faster than the dual converges). Cost
    O(n_features n_components) per row and iteration (two matrix products
    for the whole batch).

    Parameters
    ----------
    R : array of shape (n_samples, n_features)
        Rows, centred; unobserved entries are ignored (any value).
    components : array of shape (n_components, n_features)
        Orthonormal rows.
    observed : bool array of the shape of ``R``, default=None
        Observed entries (None: all).
    tol : float
        Relative tolerance on the constraint residual.
    max_iter : int, default=500
        Iteration cap.

    Returns
    -------
    Z : array of shape (n_samples, n_components)
    S : array of shape (n_samples, n_features)
        The sparse part, ``R - Z V`` off the l1 fit (NaN where unobserved).
    """
    xp, _ = get_namespace(R, components)
    V = components
    if observed is not None:
        R = xp.where(observed, R, 0.0)
    check_representable(R, xp, "X - mean_")
    if V.shape[0] == 0 or R.shape[0] == 0:
        Z = R @ V.T
        S = R - Z @ V
        return Z, S if observed is None else xp.where(observed, S, xp.nan)
    # The regression is equivariant to the scale of each row: solve it on the
    # rows in units of their largest entry, whose norms neither overflow nor
    # underflow, and scale the coefficients back.
    unit = unit_scale(R, xp, axis=1)
    R_unit = R / unit
    norms = xp.linalg.vector_norm(R_unit, axis=1)
    Z = R_unit @ V.T
    scale = xp.where(norms > 0, norms, 1.0)
    mu = 1.25 / scale
    mu_bar = mu * 1e10
    S = xp.zeros_like(R)
    Y = xp.zeros_like(R)
    active = norms > 0
    for _ in range(max_iter):
        inv = (1.0 / mu)[:, None]
        Z_new = (R_unit - S + inv * Y) @ V.T
        fit = Z_new @ V
        T = R_unit - fit + inv * Y
        S_new = xp.where(T > inv, T - inv, xp.where(T < -inv, T + inv, 0.0))
        if observed is not None:
            S_new = xp.where(observed, S_new, T)
        gap = R_unit - fit - S_new
        Y_new = Y + mu[:, None] * gap
        act = active[:, None]
        Z = xp.where(act, Z_new, Z)
        S = xp.where(act, S_new, S)
        Y = xp.where(act, Y_new, Y)
        residual = xp.linalg.vector_norm(gap, axis=1)
        active = xp.logical_and(active, residual >= tol * scale)
        if not bool(xp.any(active)):
            break
        mu = xp.where(active, xp.minimum(mu * 1.5, mu_bar), mu)
    with np.errstate(over="ignore"):  # refused by name below
        Z = Z * unit
    check_representable(Z, xp, "The coordinates of X")
    S = R - Z @ V
    return Z, S if observed is None else xp.where(observed, S, xp.nan)


class _SparseRowSubspace(_LinearSubspace):
    """A fitted subspace whose new rows are split into low-rank + sparse parts.

    ``transform`` is the l1 regression of each row on ``components_``
    (:func:`l1_row_decomposition`): the robust coordinates, untouched by a
    few gross entries of the row. NaN entries are unobserved. Subclasses have
    ``tol`` and ``max_iter`` parameters.
    """

    def decompose(self, X):
        """Split new rows into their low-rank and sparse parts.

        Each row ``x`` is ``mean_ + z @ components_ + s`` with ``z`` the l1
        regression coefficients (``transform``) and ``s`` sparse: exactly
        the row's clean part and its corruptions when few of its entries are
        corrupted. NaN entries of ``X`` are unobserved: the low-rank part
        fills them in, and the sparse part is NaN there.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            New rows (NaN for an unobserved entry).

        Returns
        -------
        low_rank : ndarray of shape (n_samples, n_features)
            ``inverse_transform(transform(X))``.
        sparse : ndarray of shape (n_samples, n_features)
            ``X - low_rank``.
        """
        Z, S = self._robust_rows(X)
        return self.inverse_transform(Z), S

    def transform(self, X):
        """Robust coordinates of rows on the components (l1 regression).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows (NaN for an unobserved entry).

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components_)
            ``argmin_z ||x - mean_ - z @ components_||_1`` over the observed
            entries of each row.
        """
        return self._robust_rows(X)[0]

    def _robust_rows(self, X):
        check_is_fitted(self)
        check_same_namespace(X, self, attribute="components_", method="transform")
        xp, _ = get_namespace(X)
        X = validate_data(
            self,
            X,
            dtype=[xp.float64, xp.float32],
            reset=False,
            ensure_all_finite="allow-nan",
        )
        observed = check_observed(X, xp, columns=False)
        tol = max(0.1 * self.tol, 10 * float(xp.finfo(X.dtype).eps))
        with np.errstate(over="ignore"):  # refused by name in the solver
            R = X - self.mean_
        return l1_row_decomposition(
            R,
            self.components_,
            observed,
            tol=tol,
            max_iter=self.max_iter,
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags
