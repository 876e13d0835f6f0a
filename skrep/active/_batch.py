"""Batch selection from per-row utilities: top-k and the diversity strategies.

Every function takes the utilities of the pool rows (higher = more
informative) and returns ``batch_size`` distinct positions into the pool.
"""

import numpy as np

from skrep.active._kernels import farthest_first, min_sq_dist
from skrep.utils._threads import threads_for


def top_k(utilities, k, rng):
    """Positions of the ``k`` largest utilities, ties broken at random.

    The result is sorted by decreasing utility (random order among equal
    utilities) and equals a stable argsort of ``-utilities`` after a random
    permutation of the rows. Runs in O(n) (a partition, not a sort); on a
    large array the partition runs only over the rows at or above a
    threshold read off a strided sample (one comparison per row), which hold
    every row of the result. ``-inf`` utilities (masked rows) are chosen only
    when fewer than ``k`` are finite.
    """
    n = utilities.shape[0]
    if k >= n:
        sel = np.arange(n)
    else:
        rows = _at_or_above_sampled_threshold(utilities, k)
        u = utilities if rows is None else utilities[rows]
        threshold = np.partition(u, u.shape[0] - k)[u.shape[0] - k]
        above = np.flatnonzero(u > threshold)
        ties = np.flatnonzero(u == threshold)
        if rows is not None:
            above, ties = rows[above], rows[ties]
        need = k - above.shape[0]
        if need < ties.shape[0]:
            ties = rng.choice(ties, size=need, replace=False)
        sel = np.concatenate([above, ties])
    keys = rng.random(sel.shape[0])
    return sel[np.lexsort((keys, -utilities[sel]))]


_SAMPLE = 1 << 14


def _at_or_above_sampled_threshold(utilities, k):
    """Sorted rows whose utility is at least a threshold that ``k`` rows reach.

    The threshold is the value that about ``4k`` rows exceed in a strided
    sample of ``_SAMPLE`` rows; every row whose utility is at least the
    ``k``-th largest is then among those returned, in row order. None when
    that does not pay (small arrays, large ``k``) or the sample misjudged
    (fewer than ``k`` rows reach the threshold, or too many).
    """
    n = utilities.shape[0]
    if n < 8 * _SAMPLE or 64 * k > n:
        return None
    sample = utilities[:: n // _SAMPLE]
    m = sample.shape[0]
    r = min(m, 4 * k * m // n + 16)
    threshold = np.partition(sample, m - r)[m - r]
    rows = np.flatnonzero(utilities >= threshold)
    if rows.shape[0] < k or rows.shape[0] > n // 8:
        return None
    return rows


def kcenter(utilities, X, rows, X_labeled, k, candidate_factor, rng):
    """Margin-filtered k-center: farthest-first on the most informative rows.

    The ``candidate_factor * k`` most informative pool rows (all when None)
    are the candidates; the batch is built greedily, each time taking the
    candidate farthest from the labelled rows and the rows already chosen
    (Sener & Savarese's k-center greedy). ``rows`` maps pool positions to
    rows of ``X``. Distances are computed row by row in a compiled kernel
    that reads ``X`` in place: extra memory O(pool), plus O(labelled * d).
    """
    cand = _candidates(utilities, k, candidate_factor, rng)
    # first candidate: the most informative; then visit rows in memory order
    best = cand[0]
    cand = np.sort(cand) if rows is None else cand[np.argsort(rows[cand])]
    cand_rows = cand if rows is None else rows[cand]
    dist = np.full(cand.shape[0], np.inf)
    first = int(np.flatnonzero(cand == best)[0])
    if X_labeled is not None and X_labeled.shape[0] > 0:
        X_labeled = np.ascontiguousarray(X_labeled, dtype=X.dtype)
        with threads_for(len(cand_rows) * X_labeled.shape[0] * X.shape[1]):
            min_sq_dist(X, cand_rows, X_labeled, dist)
        first = -1
    # equally far candidates: prefer the more informative one
    tiebreak = np.ascontiguousarray(utilities[cand], dtype=np.float64)
    with threads_for(len(cand_rows) * X.shape[1]):  # per parallel update
        chosen = farthest_first(X, cand_rows, dist, first, k, tiebreak)
    return cand[chosen]


def cluster_margin(utilities, labels, k, rng):
    """Round-robin over clusters of the candidates, smallest cluster first.

    ``labels`` gives the cluster of each candidate row (the candidates are
    sorted by decreasing utility). Each round takes the most informative
    remaining row of every cluster, visiting the clusters from the smallest
    to the largest (Citovsky et al., 2021).
    """
    n = utilities.shape[0]
    _, inv, counts = np.unique(labels, return_inverse=True, return_counts=True)
    # rank of each cluster: by size, ties at random
    cluster_rank = np.lexsort((rng.random(counts.shape[0]), counts))
    pos_of_cluster = np.empty_like(cluster_rank)
    pos_of_cluster[cluster_rank] = np.arange(cluster_rank.shape[0])
    by_utility = np.lexsort((rng.random(n), -utilities))
    # rank within cluster along decreasing utility
    within = np.empty(n, dtype=np.int64)
    inv_sorted = inv[by_utility]
    # cumulative count per cluster in utility order
    order_c = np.argsort(inv_sorted, kind="stable")
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    ranks_sorted = np.empty(n, dtype=np.int64)
    ranks_sorted[order_c] = np.arange(n) - np.repeat(starts, counts)
    within[by_utility] = ranks_sorted
    order = np.lexsort((pos_of_cluster[inv], within))
    return order[:k]


def proportional(utilities, labels, k, rng):
    """Informative and diverse: each cluster gets at most its pool share.

    Rows are visited by decreasing utility; a row is taken while its
    cluster holds fewer than ``ceil(k * share)`` rows of the batch, where
    ``share`` is the cluster's fraction of the pool; the batch is then filled
    with the most informative rows left.
    """
    n = utilities.shape[0]
    _, inv, counts = np.unique(labels, return_inverse=True, return_counts=True)
    quota = np.ceil(k * counts / n).astype(np.int64)
    by_utility = np.lexsort((rng.random(n), -utilities))
    inv_sorted = inv[by_utility]
    order_c = np.argsort(inv_sorted, kind="stable")
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    ranks_sorted = np.empty(n, dtype=np.int64)
    ranks_sorted[order_c] = np.arange(n) - np.repeat(starts, counts)
    accepted = ranks_sorted < quota[inv_sorted]
    picked = by_utility[accepted][:k]
    if picked.shape[0] < k:
        rest = by_utility[~accepted][: k - picked.shape[0]]
        picked = np.concatenate([picked, rest])
    return picked


def _candidates(utilities, k, candidate_factor, rng):
    n = utilities.shape[0]
    if candidate_factor is None:
        m = n
    else:
        m = min(n, max(k, int(np.ceil(candidate_factor * k))))
    return top_k(utilities, m, rng)
