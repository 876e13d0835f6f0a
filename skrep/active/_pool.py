"""The pool: which rows are unlabelled, and the checks every sampler shares."""

import zlib

import numpy as np
import scipy.sparse as sp


def unlabeled_mask(y, missing_label):
    """Boolean mask of the rows of ``y`` that carry ``missing_label`` (or NaN)."""
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D (one label per row), got shape {y.shape}.")
    missing_is_nan = isinstance(missing_label, float) and np.isnan(missing_label)
    if y.dtype.kind == "f":
        mask = np.isnan(y)
        if not missing_is_nan:
            mask |= y == missing_label
        return mask
    if y.dtype.kind in "iub":
        if missing_is_nan or isinstance(missing_label, str):
            return np.zeros(y.shape, dtype=bool)
        return y == missing_label
    # object or string labels: compare element by element
    if y.dtype.kind in "US":
        if not isinstance(missing_label, str):
            return np.zeros(y.shape, dtype=bool)
        return y == missing_label
    return np.fromiter(
        (
            v is None
            or (isinstance(v, float) and np.isnan(v))
            or (not missing_is_nan and bool(v == missing_label))
            for v in y
        ),
        dtype=bool,
        count=y.shape[0],
    )


def labels_are_strings(y):
    """Whether the labels of ``y`` are strings (any of them, for objects)."""
    y = np.asarray(y)
    if y.dtype.kind in "US":
        return True
    return y.dtype.kind == "O" and any(isinstance(v, str) for v in y)


def no_unlabelled_message(y, missing_label):
    """Why no row of ``y`` is unlabelled, naming ``missing_label``.

    When the labels are strings and ``missing_label`` is not (or the other
    way round), no row can ever carry it: the message says so, so that a
    marker such as ``""`` is not silently learned as a class.
    """
    strings = labels_are_strings(y)
    marker_is_string = isinstance(missing_label, str)
    if strings and not marker_is_string:
        return (
            f"missing_label={missing_label!r} cannot mark a row of y, whose "
            "labels are strings: set missing_label to the string that marks "
            "the unlabelled rows (e.g. missing_label='') or mark them with "
            "None / NaN."
        )
    if marker_is_string and not strings:
        return (
            f"missing_label={missing_label!r} is a string but the labels of y "
            "are not: set missing_label to the value that marks the unlabelled "
            "rows (e.g. -1 or np.nan)."
        )
    return (
        f"No row of y is unlabelled: no label equals missing_label="
        f"{missing_label!r} (NaN and None also mark unlabelled rows)."
    )


def check_2d(X):
    """Raise unless ``X`` is two-dimensional (one row per sample)."""
    if hasattr(X, "iloc"):
        return
    shape = getattr(X, "shape", None)
    if shape is None and hasattr(X, "__getitem__") and hasattr(X, "__len__"):
        # a list: the shape of its first row, not a conversion of every row
        first = np.asarray(X[0], dtype=object).shape if len(X) else ()
        shape = (len(X), *first)
    elif shape is None:
        shape = np.asarray(X).shape
    if len(shape) != 2:
        hint = (
            " Reshape your data with array.reshape(-1, 1) for a single feature "
            "or array.reshape(1, -1) for a single sample."
            if len(shape) == 1
            else ""
        )
        raise ValueError(
            f"X must be 2-D (one row per sample, one column per feature); got "
            f"an array of shape {tuple(shape)}.{hint}"
        )


def row_indexable(X):
    """``X`` itself, or a copy whose rows can be indexed.

    Sparse matrices without row indexing become CSR; objects that only
    convert to an array (``__array__`` without indexing) become arrays.
    """
    if sp.issparse(X):
        return X if X.format in ("csr", "csc") else X.tocsr()
    if not hasattr(X, "__getitem__") and hasattr(X, "__array__"):
        return np.asarray(X)
    return X


def first_missing_row(X):
    """Index of the first row of ``X`` with a NaN (or infinity), else None.

    ``X`` is an array, a sparse matrix, a data frame or a list. A finite sum
    settles a float array without a temporary array.
    """
    if hasattr(X, "iloc"):
        bad = X.isna().to_numpy().any(axis=1)
    elif sp.issparse(X):
        X = X.tocsr()
        if X.data.dtype.kind not in "fc" or np.isfinite(X.data.sum()):
            return None
        nonfinite = np.flatnonzero(~np.isfinite(X.data))
        if nonfinite.size == 0:
            return None
        return int(np.searchsorted(X.indptr, nonfinite[0], side="right") - 1)
    else:
        data = np.asarray(X)
        if data.dtype.kind in "fc":
            if np.isfinite(data.sum()):  # an infinite sum may be overflow
                return None
            bad = ~np.isfinite(data).all(axis=1)
        elif data.dtype.kind == "O":
            import pandas as pd

            bad = pd.isna(data).any(axis=1)
        else:
            return None
    return int(np.argmax(bad)) if bad.any() else None


def fingerprint(X):
    """A key of the values of the numeric array ``X`` (shape, dtype, CRC-32).

    One pass over ``X`` (no copy when it is C-contiguous): a fit keeps this
    key rather than a reference to the caller's array, which may change in
    place later.
    """
    X = np.ascontiguousarray(X)
    return X.shape, X.dtype.str, zlib.crc32(memoryview(X).cast("B"))
