"""Exact, mergeable sufficient statistics of the Gaussian OOD detector.

For every (class, fold) group of rows and every block of features, the
statistics are the count, the mean, the centred scatter matrix ``M2 = sum y
y^T`` and two fourth-order matrices, ``F = sum (y*y)(y*y)^T`` and ``G = sum
(y*y) y^T`` (``y`` a centred row). ``F`` gives the Ledoit-Wolf coefficient on
any diagonal rescaling ``a`` of the features, ``sum ||a*y||^4 = (a^2)^T F
a^2``, so that the shrinkage target's scale can be chosen after the data are
seen; ``G`` is what merging ``F`` needs. Chan et al.'s pairwise update,
extended to the fourth order, merges two sets of statistics exactly, so that
folds, chunks of a stream and classes combine into the statistics of their
union.
"""

import numpy as np

from skrep.utils._array_api import to_namespace, to_numpy
from skrep.utils._compat import supported_float_dtypes

__all__ = [
    "complements",
    "feature_scale",
    "group_moments",
    "merge",
    "rescale",
    "take",
    "total",
    "zeros",
]

_KEYS = ("M2", "F", "G")


def zeros(lead, bounds):
    """Statistics of no rows, with leading shape ``lead``."""
    sizes = np.diff(bounds)
    out = {"n": np.zeros(lead), "mean": np.zeros((*lead, bounds[-1]))}
    for key in _KEYS:
        out[key] = [np.zeros((*lead, p, p)) for p in sizes]
    return out


def group_moments(X, groups, n_groups, bounds, xp, device):
    """The statistics of the rows of each group, computed on X's device.

    Parameters
    ----------
    X : array of shape (n, d)
        Rows of any namespace (the ``O(n d^2)`` work runs in it).
    groups : ndarray of int of shape (n,)
        Host group index of each row, in ``[0, n_groups)``.
    n_groups : int
    bounds : tuple of int
        Block ``b`` holds features ``bounds[b]:bounds[b + 1]``.
    xp, device : namespace and device of X

    Returns
    -------
    moments : dict of host float64 arrays with leading shape ``(n_groups,)``
    """
    out = zeros((n_groups,), bounds)
    order = np.argsort(groups, kind="stable")
    starts = np.searchsorted(groups[order], np.arange(n_groups + 1))
    dt = supported_float_dtypes(xp, device)[0]
    if order.size and not np.all(order[1:] > order[:-1]):
        X = xp.take(X, to_namespace(order, xp, device, dtype=xp.int64), axis=0)
    for g in range(n_groups):
        if starts[g + 1] == starts[g]:
            continue
        rows = xp.astype(X[int(starts[g]) : int(starts[g + 1]), ...], dt)
        mean = xp.mean(rows, axis=0)
        Y = rows - mean
        out["n"][g] = rows.shape[0]
        out["mean"][g] = to_numpy(mean, xp)
        for b, (s, e) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
            Yb = Y[:, s:e]
            Y2 = Yb * Yb
            out["M2"][b][g] = to_numpy(Yb.T @ Yb, xp)
            out["F"][b][g] = to_numpy(Y2.T @ Y2, xp)
            out["G"][b][g] = to_numpy(Y2.T @ Yb, xp)
    return out


def merge(a, b):
    """Exact statistics of the union of two sets of rows (any leading shape)."""
    if not np.any(a["n"]) or not np.any(b["n"]):  # one side has no rows
        return b if not np.any(a["n"]) else a
    n = a["n"] + b["n"]
    frac = np.divide(b["n"], n, out=np.zeros_like(n), where=n > 0)
    mean = a["mean"] + (b["mean"] - a["mean"]) * frac[..., None]
    out = {"n": n, "mean": mean, "M2": [], "F": [], "G": []}
    bounds = np.cumsum([0] + [m.shape[-1] for m in a["M2"]])
    for blk, (s, e) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
        M2 = np.zeros_like(a["M2"][blk])
        F = np.zeros_like(M2)
        G = np.zeros_like(M2)
        for part in (a, b):
            nS = part["n"][..., None, None]
            d = (part["mean"] - mean)[..., s:e]
            d2 = d * d
            col, row = d[..., None, :], d[..., :, None]
            M2S, FS, GS = part["M2"][blk], part["F"][blk], part["G"][blk]
            var = np.diagonal(M2S, axis1=-2, axis2=-1)
            Gd = GS * col
            F += (
                FS
                + 2.0 * (Gd + np.swapaxes(Gd, -1, -2))
                + var[..., :, None] * d2[..., None, :]
                + d2[..., :, None] * var[..., None, :]
                + 4.0 * row * col * M2S
                + nS * d2[..., :, None] * d2[..., None, :]
            )
            G += (
                GS
                + var[..., :, None] * col
                + 2.0 * row * M2S
                + nS * d2[..., :, None] * col
            )
            M2 += M2S + nS * row * col
        out["M2"].append(M2)
        out["F"].append(F)
        out["G"].append(G)
    return out


def rescale(moments, r):
    """The statistics of the rows with feature ``j`` multiplied by ``r[j]``,
    a power of two (exact; a zero statistic stays zero whatever ``r``)."""
    e = np.frexp(r)[1] - 1  # r = 2**e
    out = {"n": moments["n"], "mean": np.ldexp(moments["mean"], e)}
    bounds = np.cumsum([0] + [m.shape[-1] for m in moments["M2"]])
    for key, (i, j) in zip(_KEYS, ((1, 1), (2, 2), (2, 1)), strict=True):
        out[key] = [
            np.ldexp(m, i * e[lo:hi, None] + j * e[None, lo:hi])
            for m, lo, hi in zip(moments[key], bounds[:-1], bounds[1:], strict=True)
        ]
    return out


def take(moments, index, axis):
    """The statistics at ``index`` along a leading ``axis``."""
    out = {key: np.take(moments[key], index, axis=axis) for key in ("n", "mean")}
    for key in _KEYS:
        out[key] = [np.take(m, index, axis=axis) for m in moments[key]]
    return out


def total(moments, axis, keepdims=False):
    """Merge the statistics along a leading ``axis`` (e.g. over the folds)."""
    first = [0] if keepdims else 0
    out = take(moments, first, axis)
    for j in range(1, moments["n"].shape[axis]):
        out = merge(out, take(moments, [j] if keepdims else j, axis))
    return out


def complements(moments):
    """Statistics of every fold but ``j``, for each fold ``j`` (folds on
    axis 1), and of all folds: ``(complements, total)``.

    From running merges from the left and from the right (``3 K - 5``
    merges for ``K`` folds, instead of ``K (K - 2)`` for each complement on
    its own).
    """
    K = moments["n"].shape[1]
    folds = [take(moments, j, 1) for j in range(K)]
    left, right = [folds[0]], [folds[-1]]
    for j in range(1, K - 1):
        left.append(merge(left[-1], folds[j]))
        right.append(merge(right[-1], folds[K - 1 - j]))
    # left[j]: folds 0..j; right[j]: folds K-1-j..K-1.
    out = [right[K - 2]]
    out += [merge(left[j - 1], right[K - 2 - j]) for j in range(1, K - 1)]
    out.append(left[K - 2])
    return out, merge(left[K - 2], folds[-1])


def feature_scale(moments):
    """Inverse standard deviations of the features of all rows (1 where a
    feature is constant), from per-class statistics."""
    n = moments["n"]
    mean = (n @ moments["mean"]) / n.sum()
    within = np.concatenate(
        [np.diagonal(m, axis1=-2, axis2=-1).sum(axis=0) for m in moments["M2"]]
    )
    var = (within + n @ (moments["mean"] - mean) ** 2) / n.sum()
    return 1.0 / np.where(var > 0, np.sqrt(var), 1.0)
