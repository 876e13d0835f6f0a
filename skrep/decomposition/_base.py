"""What the linear robust PCAs share: projection on ``components_`` around ``mean_``."""

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
)
from sklearn.utils.validation import check_is_fitted, validate_data

from skrep.utils._array_api import get_namespace
from skrep.utils._compat import check_same_namespace


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
        return X @ self.components_.T - self.mean_ @ self.components_.T

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
