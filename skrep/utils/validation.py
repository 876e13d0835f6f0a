"""Validation helpers shared by skrep's estimators.

Parameter types and ranges are checked by each estimator's
``_parameter_constraints``; the checks here are those that depend on the data
(a rank larger than the matrix, a constant data set) and must fail with a
message that names the parameter and the limit.
"""

import numpy as np

from skrep.utils._array_api import get_namespace
from skrep.utils._compat import is_array_api_obj

__all__ = ["check_n_components", "check_not_constant"]


def check_n_components(n_components, X, *, name="n_components", limit="min"):
    """Check that ``n_components`` is possible for the data ``X``.

    Parameters
    ----------
    n_components : int
        The requested rank, number of components or of clusters.
    X : array of shape (n_samples, n_features)
        The data.
    name : str, default="n_components"
        The parameter's name, used in the error message.
    limit : {"min", "n_samples", "n_features"}, default="min"
        The bound: ``min(n_samples, n_features)``, ``n_samples`` or
        ``n_features``.

    Returns
    -------
    n_components : int
        The validated value.

    Raises
    ------
    ValueError
        If ``n_components`` exceeds the bound.

    Examples
    --------
    >>> import numpy as np
    >>> from skrep.utils.validation import check_n_components
    >>> check_n_components(2, np.zeros((5, 3)))
    2
    >>> check_n_components(4, np.zeros((5, 3)))
    Traceback (most recent call last):
    ...
    ValueError: n_components=4 must be at most min(n_samples, n_features)=3 ...
    """
    n_samples, n_features = X.shape
    bounds = {
        "min": ("min(n_samples, n_features)", min(n_samples, n_features)),
        "n_samples": ("n_samples", n_samples),
        "n_features": ("n_features", n_features),
    }
    if limit not in bounds:
        raise ValueError(f"limit must be one of {sorted(bounds)}, got {limit!r}.")
    bound_name, bound = bounds[limit]
    if n_components > bound:
        raise ValueError(
            f"{name}={n_components} must be at most {bound_name}={bound} "
            f"for data of shape {X.shape}."
        )
    return n_components


def check_not_constant(X, *, what="X"):
    """Raise a ``ValueError`` when all rows of ``X`` are identical.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
        The data, of any array-API namespace.
    what : str, default="X"
        How the error message names the data.

    Examples
    --------
    >>> import numpy as np
    >>> from skrep.utils.validation import check_not_constant
    >>> check_not_constant(np.ones((3, 2)))
    Traceback (most recent call last):
    ...
    ValueError: All rows of X are identical; ...
    """
    if not is_array_api_obj(X):  # CuPy arrays have no __array_namespace__
        X = np.asarray(X)
    xp, _ = get_namespace(X)
    if X.shape[0] > 0 and bool(xp.all(X == X[:1, ...])):
        raise ValueError(
            f"All rows of {what} are identical; the method needs data that vary."
        )
