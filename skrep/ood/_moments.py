"""Exact, mergeable sufficient statistics of the Gaussian OOD detector.

For every (class, fold) group of rows and every block of features, the
statistics are the count, the mean, the centred scatter matrix ``M2 = sum y
y^T`` and two fourth-order matrices, ``F = sum (y*y)(y*y)^T`` and ``G = sum
(y*y) y^T`` (``y`` a centred row). ``F`` gives the Ledoit-Wolf coefficient on
any diagonal rescaling ``a`` of the features, ``sum ||a*y||^4 = (a^2)^T F
a^2``, so that the shrinkage target's scale can be chosen after the data are
seen; ``G`` is what merging ``F`` needs. ``F`` and ``G`` are left out
(``fourth=False``) when no Ledoit-Wolf coefficient is asked for: the
statistics are then a third of the size. Chan et al.'s pairwise update,
extended to the fourth order, merges two sets of statistics exactly, so that
folds, chunks of a stream and classes combine into the statistics of their
union.
"""

import functools

import numpy as np

from skrep.utils._array_api import is_numpy_namespace, to_namespace, to_numpy
from skrep.utils._compat import supported_float_dtypes

__all__ = [
    "Folds",
    "PooledFolds",
    "RowFolds",
    "about",
    "centred",
    "feature_variance",
    "group_moments",
    "merge",
    "nbytes",
    "rescale",
    "take",
    "total",
    "zeros",
]

_KEYS = ("M2", "F", "G")
# Folds.without merges the kept folds of a class instead of subtracting the
# dropped folds' sums from all folds' when these exceed what is left by more
# than this factor (the difference of sums has a relative error of about
# 1e-16 times the factor: one far outlier in a dropped fold).
_CANCELLATION = 1e6


def _keys(moments):
    """The matrix statistics that ``moments`` holds: M2, and F, G unless
    they were left out (F without G when pooled)."""
    return tuple(key for key in _KEYS if key in moments)


def nbytes(lead, bounds, fourth=True, pooled=False):
    """Bytes of the statistics of groups with leading shape ``lead`` (what
    :func:`zeros` allocates); ``pooled``: with the matrices summed over the
    first axis (the classes), as :func:`group_moments` with ``pool`` keeps
    them (``M2``, ``F`` and the classes' ``centre``)."""
    n_groups = int(np.prod(lead))
    squares = int(np.sum(np.diff(bounds).astype(np.int64) ** 2))
    if pooled:  # and each class's centre
        matrices = n_groups // lead[0] * (2 if fourth else 1) * squares
        matrices += lead[0] * int(bounds[-1])
    else:
        matrices = n_groups * (3 if fourth else 1) * squares
    return 8 * (n_groups * (1 + int(bounds[-1])) + matrices)


def zeros(lead, bounds, fourth=True):
    """Statistics of no rows, with leading shape ``lead`` (without ``F`` and
    ``G`` when ``fourth`` is False)."""
    sizes = np.diff(bounds)
    out = {"n": np.zeros(lead), "mean": np.zeros((*lead, bounds[-1]))}
    for key in _KEYS if fourth else _KEYS[:1]:
        out[key] = [np.zeros((*lead, p, p)) for p in sizes]
    return out


def group_moments(
    X, groups, n_groups, bounds, xp, device, fourth=True, pool=None, matrices=True
):
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
    fourth : bool, default=True
        Whether to compute ``F`` and ``G``.
    pool : pair of ndarray of int of shape (n_groups,), default=None
        ``(slot, whole)``: sum the matrices of group ``g`` into slot
        ``slot[g]``, its rows taken about ``centre[whole[g]]``, the mean of
        the rows of all the groups of the same ``whole`` (e.g. the folds of
        a class): ``M2`` and ``F`` with leading shape ``(slot.max() + 1,)``
        (no ``G``: pooled matrices are not merged) and ``centre``; counts
        and means still per group.
    matrices : bool, default=True
        False: the counts and means only.

    Returns
    -------
    moments : dict of host float64 arrays with leading shape ``(n_groups,)``
    """
    if not matrices:
        out = {"n": np.zeros(n_groups), "mean": np.zeros((n_groups, bounds[-1]))}
    elif pool is None:
        out = zeros((n_groups,), bounds, fourth)
    else:
        slot, whole = pool
        out = zeros((int(slot.max()) + 1,), bounds, fourth)
        out.pop("G", None)
        out.update(n=np.zeros(n_groups), mean=np.zeros((n_groups, bounds[-1])))
    order = np.argsort(groups, kind="stable")
    starts = np.searchsorted(groups[order], np.arange(n_groups + 1))
    dt = supported_float_dtypes(xp, device)[0]
    on_host = is_numpy_namespace(xp)
    if order.size and not np.all(order[1:] > order[:-1]):
        X = xp.take(X, to_namespace(order, xp, device, dtype=xp.int64), axis=0)
    present = [g for g in range(n_groups) if starts[g + 1] > starts[g]]
    if pool is not None:  # the groups' means first, for the centres
        for g in present:
            rows = xp.astype(X[int(starts[g]) : int(starts[g + 1]), ...], dt)
            out["n"][g] = rows.shape[0]
            out["mean"][g] = to_numpy(xp.mean(rows, axis=0), xp)
        n = np.bincount(whole, out["n"])
        centre = np.stack(
            [np.bincount(whole, out["n"] * m, minlength=n.size) for m in out["mean"].T],
            axis=1,
        )
        out["centre"] = centre / np.where(n > 0, n, 1.0)[:, None]
    for g in present:
        rows = xp.astype(X[int(starts[g]) : int(starts[g + 1]), ...], dt)
        if pool is None:
            mean = xp.mean(rows, axis=0)
            out["n"][g] = rows.shape[0]
            out["mean"][g] = to_numpy(mean, xp)
            if not matrices:
                continue
        else:
            mean = to_namespace(out["centre"][whole[g]], xp, device, dtype=dt)
        Y = rows - mean
        for b, (s, e) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
            Yb = Y[:, s:e]
            products = [("M2", Yb, Yb)]
            if fourth:
                Y2 = Yb * Yb
                products += [("F", Y2, Y2)]
                if pool is None:
                    products += [("G", Y2, Yb)]
            for key, A, B in products:
                if pool is not None:
                    out[key][b][slot[g]] += to_numpy(A.T @ B, xp)
                elif on_host:  # into place: no p x p temporary per group
                    np.matmul(A.T, B, out=out[key][b][g])
                else:
                    out[key][b][g] = to_numpy(A.T @ B, xp)
    return out


def _g_terms(n, d, M2):
    """What moving centred rows (count ``n``, scatter ``M2``) by ``d`` adds
    to their ``G``: ``var d^T + 2 diag(d) M2 + n (d*d) d^T`` (``n``
    broadcast as ``(..., 1, 1)``; ``M2`` gains ``n d d^T``)."""
    var = np.diagonal(M2, axis1=-2, axis2=-1)
    add_g = M2 * (2.0 * d)[..., :, None]
    add_g += (var + n[..., 0] * d * d)[..., :, None] * d[..., None, :]
    return add_g


def _f_terms(n, d, M2, G):
    """What moving centred rows (``M2``, ``G``) by ``d`` adds to their
    ``F``: ``H + H^T + 4 (d d^T) * M2`` with ``H = 2 G diag(d) + w (d*d)^T``,
    ``w = var + n (d*d) / 2``."""
    d2 = d * d
    w = np.diagonal(M2, axis1=-2, axis2=-1) + 0.5 * n[..., 0] * d2
    H = G * (2.0 * d)[..., None, :]
    H += w[..., :, None] * d2[..., None, :]
    out = M2 * (4.0 * d)[..., :, None]
    out *= d[..., None, :]
    out += H
    out += np.swapaxes(H, -1, -2)
    return out


def _blocks(moments):
    return np.cumsum([0] + [m.shape[-1] for m in moments["M2"]])


def about(moments, centre):
    """The statistics as sums about ``centre`` instead of the mean: ``M2 =
    sum z z^T`` (and ``F``, ``G``) with ``z = x - centre``, and the first
    moment ``s1 = sum z`` for the mean. Sums about one centre add up over
    disjoint sets of rows."""
    n = moments["n"][..., None, None]
    d = moments["mean"] - centre
    out = {"n": moments["n"], "s1": moments["n"][..., None] * d}
    bounds = _blocks(moments)
    keys = _keys(moments)
    for key in keys:
        out[key] = []
    for blk, (s, e) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
        db = d[..., s:e]
        M2 = moments["M2"][blk]
        add = n * db[..., :, None] * db[..., None, :]
        add += M2
        out["M2"].append(add)
        if len(keys) > 1:
            G = moments["G"][blk]
            add = _f_terms(n, db, M2, G)
            add += moments["F"][blk]
            out["F"].append(add)
            add = _g_terms(n, db, M2)
            add += G
            out["G"].append(add)
    return out


def centred(sums, centre):
    """The statistics (about the mean) of sums about ``centre``
    (:func:`about`'s inverse); groups without rows get zeros."""
    n_rows = sums["n"]
    has = n_rows > 0
    d = np.divide(
        sums["s1"],
        n_rows[..., None],
        out=np.zeros_like(sums["s1"]),
        where=has[..., None],
    )
    n = n_rows[..., None, None]
    out = {"n": n_rows, "mean": np.where(has[..., None], centre + d, 0.0)}
    keys = _keys(sums)
    for key in keys:
        out[key] = []
    bounds = _blocks(sums)
    for blk, (s, e) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
        db = d[..., s:e]
        M2 = sums["M2"][blk] - n * db[..., :, None] * db[..., None, :]
        M2[~has] = 0.0  # rounding left by the subtraction of sums
        out["M2"].append(M2)
        if len(keys) > 1:
            G = sums["G"][blk] - _g_terms(n, db, M2)
            G[~has] = 0.0
            F = sums["F"][blk] - _f_terms(n, db, M2, G)
            F[~has] = 0.0
            out["F"].append(F)
            out["G"].append(G)
    return out


def _combine(a, b, ufunc, into):
    """``ufunc(a, b)`` (add or subtract) of two sets of sums, element-wise,
    written into the arrays of ``into`` (``a`` or ``b``, whose arrays but
    the counts are not shared)."""
    out = {"n": ufunc(a["n"], b["n"])}
    out["s1"] = ufunc(a["s1"], b["s1"], out=into["s1"])
    for key in _keys(a):
        out[key] = [
            ufunc(x, y, out=z)
            for x, y, z in zip(a[key], b[key], into[key], strict=True)
        ]
    return out


def merge(a, b):
    """Exact statistics of the union of two sets of rows (any leading shape)."""
    if not np.any(a["n"]) or not np.any(b["n"]):  # one side has no rows
        return b if not np.any(a["n"]) else a
    n = a["n"] + b["n"]
    frac = np.divide(b["n"], n, out=np.zeros_like(n), where=n > 0)
    mean = a["mean"] + (b["mean"] - a["mean"]) * frac[..., None]
    sums = about(a, mean)
    out = _combine(sums, about(b, mean), np.add, into=sums)
    del out["s1"]
    out["mean"] = mean
    return out


def rescale(moments, r):
    """The statistics of the rows with feature ``j`` multiplied by ``r[j]``,
    a power of two (exact; a zero statistic stays zero whatever ``r``)."""
    e = np.frexp(r)[1] - 1  # r = 2**e
    out = {"n": moments["n"], "mean": np.ldexp(moments["mean"], e)}
    bounds = np.cumsum([0] + [m.shape[-1] for m in moments["M2"]])
    powers = ((1, 1), (2, 2), (2, 1))
    for key, (i, j) in zip(_keys(moments), powers, strict=False):
        out[key] = [
            np.ldexp(m, i * e[lo:hi, None] + j * e[None, lo:hi])
            for m, lo, hi in zip(moments[key], bounds[:-1], bounds[1:], strict=True)
        ]
    return out


def take(moments, index, axis):
    """The statistics at ``index`` along a leading ``axis`` (pooled matrices,
    see :class:`PooledFolds`, are kept whole)."""
    out = {key: np.take(moments[key], index, axis=axis) for key in ("n", "mean")}
    for key in _keys(moments):
        out[key] = moments[key]
        if not moments.get("pooled"):
            out[key] = [np.take(m, index, axis=axis) for m in moments[key]]
    if moments.get("pooled"):
        out["pooled"] = True
    return out


def total(moments, axis, keepdims=False):
    """Merge the statistics along a leading ``axis`` (e.g. over the folds)."""
    first = [0] if keepdims else 0
    out = take(moments, first, axis)
    for j in range(1, moments["n"].shape[axis]):
        out = merge(out, take(moments, [j] if keepdims else j, axis))
    return out


class Folds:
    """Statistics of unions of folds, computed when asked for.

    ``folds`` has the folds on axis 1 (leading shape ``(n_classes,
    n_folds)``). The folds' sums about each class's mean over all folds add
    up: the statistics of every fold but ``j`` are the sums of all folds less
    fold ``j``'s, brought back to their own mean (two passes over one fold's
    statistics, instead of ``3 K - 5`` merges for all ``K`` complements held
    at once). Nothing but the sums of all folds is kept. A class whose
    dropped folds hold nearly all its spread (one far outlier), where the
    difference would lose the rest, is merged from its kept folds instead.

    Examples
    --------
    >>> import numpy as np
    >>> from skrep.ood._moments import Folds, group_moments
    >>> X = np.arange(12.0).reshape(6, 2)
    >>> per_group = group_moments(X, np.arange(6) % 3, 3, (0, 2), np, None)
    >>> folds = {k: [m[None] for m in v] if isinstance(v, list) else v[None]
    ...          for k, v in per_group.items()}
    >>> Folds(folds).without([0])["mean"]
    array([[5., 6.]])
    """

    def __init__(self, folds):
        self.folds = folds
        n = folds["n"]
        rows = n.sum(axis=1)
        weighted = np.einsum("ck,ckp->cp", n, folds["mean"])
        self.centre = weighted / np.where(rows > 0, rows, 1.0)[:, None]
        self.n_folds = n.shape[1]
        self._sums = self._fold_sums(0)
        for j in range(1, self.n_folds):
            self._sums = _combine(
                self._sums, self._fold_sums(j), np.add, into=self._sums
            )

    def fold(self, j):
        """The statistics of fold ``j`` (leading shape ``(n_classes,)``)."""
        return take(self.folds, j, 1)

    def _fold_sums(self, j):
        return about(self.fold(j), self.centre)

    def total(self):
        """The statistics of all folds."""
        return centred(self._sums, self.centre)

    def without(self, drop):
        """The statistics of every fold but those in ``drop``."""
        sums = self._sums
        for j in drop:
            part = self._fold_sums(j)
            # The first into the fold's arrays (the sums of all folds stay).
            into = part if sums is self._sums else sums
            sums = _combine(sums, part, np.subtract, into=into)
        out = centred(sums, self.centre)
        # Classes whose dropped folds hold nearly all the spread (sums of
        # squares of M2 and F's diagonals) are merged from the kept folds.
        lost = np.zeros(len(self.centre), dtype=bool)
        for key in _keys(out)[:2]:
            for whole, left in zip(self._sums[key], out[key], strict=True):
                whole = np.diagonal(whole, axis1=-2, axis2=-1)
                left = np.diagonal(left, axis1=-2, axis2=-1)
                lost |= np.any(whole > _CANCELLATION * np.maximum(left, 0.0), axis=-1)
        classes = np.flatnonzero(lost & (out["n"] > 0))
        if classes.size:
            dropped = set(drop)
            keep = [j for j in range(self.n_folds) if j not in dropped]
            exact = self.union(keep, classes)
            for key in ("n", "mean"):
                out[key][classes] = exact[key]
            for key in _keys(out):
                for m, e in zip(out[key], exact[key], strict=True):
                    m[classes] = e
        return out

    def union(self, keep, classes=None):
        """The statistics of the folds in ``keep`` (of the classes at index
        ``classes``, or of all)."""
        if classes is None:
            return functools.reduce(merge, (self.fold(j) for j in keep))
        return functools.reduce(merge, (take(self.fold(j), classes, 0) for j in keep))


class RowFolds(Folds):
    """:class:`Folds` whose matrices are computed from the rows, one fold at
    a time, when asked for (``fit``: ``O(n_classes p^2)`` floats at a time,
    not ``O(n_classes n_folds p^2)``).

    ``folds`` holds the counts and means of the (class, fold) groups
    (leading shape ``(n_classes, n_folds)``); ``U`` the rows in the
    statistics' coordinates (any namespace), ``label`` and ``fold`` their
    class index and fold. A fold's statistics equal those of
    :func:`group_moments` of all rows by (class, fold) group, bit for bit
    (each group's rows are taken alike, in the same order).
    """

    def __init__(self, folds, U, label, fold, bounds, fourth, xp, device):
        self.rows = (U, label, fold)
        self.args = (bounds, xp, device, fourth)
        super().__init__(folds)

    def fold(self, j, classes=None):
        """The statistics of fold ``j`` (of the classes at index ``classes``
        only: from their rows only)."""
        U, label, fold = self.rows
        bounds, xp, device, fourth = self.args
        if classes is None:
            rows = np.flatnonzero(fold == j)
            groups, n_groups = label[rows], self.folds["n"].shape[0]
        else:
            rows = np.flatnonzero((fold == j) & np.isin(label, classes))
            groups, n_groups = np.searchsorted(classes, label[rows]), len(classes)
        part = xp.take(U, to_namespace(rows, xp, device, dtype=xp.int64), axis=0)
        return group_moments(part, groups, n_groups, bounds, xp, device, fourth)

    def union(self, keep, classes=None):
        if classes is None:
            return super().union(keep)
        return functools.reduce(merge, (self.fold(j, classes) for j in keep))


class PooledFolds:
    """Statistics of unions of folds from the classes' pooled matrices.

    ``folds`` holds per-(class, fold) counts and means (leading shape
    ``(n_classes, n_folds)``), each class's mean over all folds
    (``centre``) and, per fold, the sums over the classes of ``M2`` and of
    the fourth-order ``F`` of each class's rows about its ``centre``
    (leading shape ``(n_folds,)``; from :func:`group_moments` with
    ``pool``): ``O(n_folds (p^2 + n_classes p))`` floats instead of
    ``O(n_classes n_folds p^2)``. The statistics of a union of folds are the
    classes' counts and means, and one pooled within-class ``M2`` (leading
    axis of length 1), exact: the folds' pooled matrices less ``n (m -
    centre)(m - centre)^T`` for each class's mean ``m`` in the union; and
    ``F`` the sum of the folds' (the rows about their class's mean over all
    folds, not over the union: exact for all folds, an approximation
    without some, which only the Ledoit-Wolf coefficient of a tied
    covariance uses). They serve a tied covariance only (``"pooled": True``
    marks them).
    """

    def __init__(self, folds):
        self.folds = folds
        self.n_folds = folds["n"].shape[1]

    def total(self):
        """The statistics of all folds."""
        return self.without([])

    def without(self, drop):
        """The statistics of every fold but those in ``drop``."""
        dropped = set(drop)
        keep = [j for j in range(self.n_folds) if j not in dropped]
        n_ck = self.folds["n"][:, keep]
        mean_ck = self.folds["mean"][:, keep]
        n = n_ck.sum(axis=1)
        mean = np.einsum("ck,ckp->cp", n_ck, mean_ck)
        mean /= np.where(n > 0, n, 1.0)[:, None]
        # The union's class means about the centres, weighted by sqrt(n).
        D = np.sqrt(n)[:, None] * (mean - self.folds["centre"])
        out = {"n": n, "mean": mean, "pooled": True}
        bounds = _blocks(self.folds)
        out["M2"] = [
            (m[keep].sum(axis=0) - D[:, s:e].T @ D[:, s:e])[None]
            for m, s, e in zip(self.folds["M2"], bounds[:-1], bounds[1:], strict=True)
        ]
        if "F" in self.folds:
            out["F"] = [m[keep].sum(axis=0)[None] for m in self.folds["F"]]
        return out


def feature_variance(moments):
    """Variances of the features of all rows, from per-class statistics."""
    n = moments["n"]
    mean = (n @ moments["mean"]) / n.sum()
    within = np.concatenate(
        [np.diagonal(m, axis1=-2, axis2=-1).sum(axis=0) for m in moments["M2"]]
    )
    return (within + n @ (moments["mean"] - mean) ** 2) / n.sum()
