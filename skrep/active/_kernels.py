"""numba kernels of skrep.active: margins, k-center distances, pivotal sampling.

Pure functions on arrays; randomness is passed in as arrays of uniforms drawn
by the caller from ``random_state``, so results are reproducible.
"""

import numpy as np

from skrep.utils._numba import njit, prange


@njit
def top_two_gap(S, out):
    """``out[i] = S[i, (1)] - S[i, (2)]``: gap between the two largest values.

    Branch-free (max/min updates): random scores make branches mispredict.
    Serial on purpose: one memory-bound pass (about 1 ms per million rows of
    three classes) costs less than waking threads.
    """
    n, c = S.shape
    for i in range(n):
        a = max(S[i, 0], S[i, 1])
        b = min(S[i, 0], S[i, 1])
        for j in range(2, c):
            v = S[i, j]
            b = max(b, min(a, v))
            a = max(a, v)
        out[i] = a - b
    return out


@njit(parallel=True)
def min_sq_dist(X, rows, Xs, out):
    """``out[i] = min(out[i], min_j ||X[rows[i]] - Xs[j]||^2)``, O(1) extra memory.

    The inner loop stops as soon as a partial sum exceeds the best distance.
    """
    n = rows.shape[0]
    d = X.shape[1]
    m = Xs.shape[0]
    for i in prange(n):
        r = rows[i]
        best = out[i]
        for j in range(m):
            acc = 0.0
            for t in range(d):
                diff = X[r, t] - Xs[j, t]
                acc += diff * diff
                if acc >= best:
                    break
            if acc < best:
                best = acc
        out[i] = best
    return out


@njit(parallel=True)
def _update_min_dist(X, rows, center, dist):
    n = rows.shape[0]
    d = X.shape[1]
    for i in prange(n):
        if dist[i] < 0.0:
            continue
        r = rows[i]
        acc = 0.0
        for t in range(d):
            diff = X[r, t] - center[t]
            acc += diff * diff
        if acc < dist[i]:
            dist[i] = acc


@njit
def farthest_first(X, rows, dist, first, n_select, tiebreak):
    """Greedy k-center (farthest-first traversal) on the rows ``X[rows]``.

    ``dist`` holds each row's squared distance to the already chosen set
    (``inf`` when that set is empty) and is updated in place; ``first`` is the
    position chosen first when ``dist`` is all ``inf`` (else -1). Ties between
    equally far rows go to the largest ``tiebreak`` value. Returns the chosen
    positions (into ``rows``) in order; ``X`` is read in place, never copied.
    Small pools are updated in one serial pass per step (update and arg-max
    fused); large ones with a parallel update.
    """
    n = rows.shape[0]
    d = X.shape[1]
    chosen = np.empty(n_select, dtype=np.int64)
    parallel = n * d >= 4_000_000
    best = first
    if best < 0:
        best = _argmax_tie(dist, tiebreak)
    center = np.empty(d, dtype=np.float64)
    for s in range(n_select):
        chosen[s] = best
        dist[best] = -1.0  # never chosen again
        for t in range(d):
            center[t] = X[rows[best], t]
        if parallel:
            _update_min_dist(X, rows, center, dist)
            if s + 1 < n_select:
                best = _argmax_tie(dist, tiebreak)
        else:
            best = -1
            best_d = -np.inf
            best_t = -np.inf
            for i in range(n):
                di = dist[i]
                if di >= 0.0:
                    r = rows[i]
                    acc = 0.0
                    for t in range(d):
                        diff = X[r, t] - center[t]
                        acc += diff * diff
                    if acc < di:
                        di = acc
                        dist[i] = acc
                if di > best_d or (di == best_d and tiebreak[i] > best_t):
                    best = i
                    best_d = di
                    best_t = tiebreak[i]
    return chosen


@njit
def _argmax_tie(dist, tiebreak):
    best = -1
    best_d = -np.inf
    best_t = -np.inf
    for i in range(dist.shape[0]):
        di = dist[i]
        if di > best_d or (di == best_d and tiebreak[i] > best_t):
            best = i
            best_d = di
            best_t = tiebreak[i]
    return best


@njit
def _select(key, idx, lo, hi, kth):
    # Quickselect (Hoare partition, median-of-three pivot) on key[lo:hi],
    # moving idx alongside: afterwards key[lo:kth] <= key[kth:hi].
    while hi - lo > 1:
        a, b, c = key[lo], key[(lo + hi - 1) // 2], key[hi - 1]
        pivot = max(min(a, b), min(max(a, b), c))
        i, j = lo, hi - 1
        while i <= j:
            while key[i] < pivot:
                i += 1
            while key[j] > pivot:
                j -= 1
            if i <= j:
                key[i], key[j] = key[j], key[i]
                idx[i], idx[j] = idx[j], idx[i]
                i += 1
                j -= 1
        if kth <= j:
            hi = j + 1
        elif kth >= i:
            lo = i
        else:
            return


@njit
def _principal_direction(Z, idx, lo, hi, w):
    # first principal direction of Z[idx[lo:hi]] by power iteration
    d = Z.shape[1]
    mean = np.zeros(d)
    for k in range(lo, hi):
        for t in range(d):
            mean[t] += Z[idx[k], t]
    mean /= hi - lo
    C = np.zeros((d, d))
    for k in range(lo, hi):
        for a in range(d):
            za = Z[idx[k], a] - mean[a]
            for b in range(d):
                C[a, b] += za * (Z[idx[k], b] - mean[b])
    for t in range(d):
        w[t] = 1.0 + 0.1 * t
    for _ in range(50):
        v = C @ w
        nrm = np.sqrt(np.sum(v * v))
        if nrm == 0.0:
            break
        w[:] = v / nrm
    return w


@njit(parallel=True)
def build_tree(Z, pca):
    """Balanced binary space-partitioning tree on the rows of ``Z``.

    A node holds ``order[lo:hi]``; its points are split at the median of one
    coordinate (cycling with depth) or, when ``pca``, of their projection on
    the node's first principal direction: the ``m // 2`` smallest go left
    (a quickselect, so the whole tree costs O(n log n)). Returns ``order``
    and the nodes ``lo``, ``hi``, ``left``, ``right`` in breadth-first order
    (children after parents; leaves have ``left = -1``). The shape of the
    tree depends on ``n`` only, so it is laid out first; then the nodes of
    each depth, which own disjoint segments, are split in parallel.
    """
    n, d = Z.shape
    order = np.arange(n)
    n_nodes = 2 * n - 1
    lo = np.empty(n_nodes, dtype=np.int64)
    hi = np.empty(n_nodes, dtype=np.int64)
    depth = np.empty(n_nodes, dtype=np.int64)
    left = np.full(n_nodes, -1, dtype=np.int64)
    right = np.full(n_nodes, -1, dtype=np.int64)
    lo[0], hi[0], depth[0] = 0, n, 0
    count = 1
    for node in range(n_nodes):  # layout, breadth first
        if node >= count:
            break
        a, b = lo[node], hi[node]
        if b - a > 1:
            mid = a + (b - a) // 2
            left[node] = count
            lo[count], hi[count], depth[count] = a, mid, depth[node] + 1
            right[node] = count + 1
            lo[count + 1], hi[count + 1], depth[count + 1] = mid, b, depth[node] + 1
            count += 2
    key = np.empty(n)
    start = 0
    while start < n_nodes:
        stop = start
        while stop < n_nodes and depth[stop] == depth[start]:
            stop += 1
        for node in prange(start, stop):
            a, b = lo[node], hi[node]
            if b - a > 1:
                if pca:
                    w = np.empty(d)
                    _principal_direction(Z, order, a, b, w)
                    for k in range(a, b):
                        acc = 0.0
                        for t in range(d):
                            acc += Z[order[k], t] * w[t]
                        key[k] = acc
                else:
                    axis = depth[node] % d
                    for k in range(a, b):
                        key[k] = Z[order[k], axis]
                _select(key, order, a, b, a + (b - a) // 2)
        start = stop
    return order, lo, hi, left, right


@njit
def pivotal_tournament(order, lo, left, right, p, k, u, eps):
    """Pivotal sampling from the leaves of the tree up to its root.

    Each node passes up one undecided point and the probability mass it
    carries; two competitors with mass ``s = p_l + p_r`` merge so that one of
    them is decided (out when ``s <= 1``, in when ``s > 1``), which keeps
    every point's inclusion probability ``p_i`` and the sample size ``k``.
    ``u`` holds one uniform per node. Returns a boolean inclusion mask.
    """
    n_nodes = lo.shape[0]
    n = p.shape[0]
    who = np.full(n_nodes, -1, dtype=np.int64)
    mass = np.zeros(n_nodes)
    selected = np.zeros(n, dtype=np.bool_)
    n_sel = 0
    for node in range(n_nodes - 1, -1, -1):
        if left[node] < 0:  # a leaf
            i = order[lo[node]]
            pi = p[i]
            if pi >= 1.0 - eps:
                selected[i] = True
                n_sel += 1
            elif pi > eps:
                who[node] = i
                mass[node] = pi
            continue
        a, b = left[node], right[node]
        ia, ib = who[a], who[b]
        pa, pb = mass[a], mass[b]
        if ia < 0:
            who[node], mass[node] = ib, pb
            continue
        if ib < 0:
            who[node], mass[node] = ia, pa
            continue
        s = pa + pb
        if s <= 1.0:
            if u[node] * s < pa:
                who[node] = ia
            else:
                who[node] = ib
            mass[node] = s
        else:
            if u[node] * (2.0 - s) < 1.0 - pa:
                selected[ib] = True  # b is in, a carries s - 1
                who[node] = ia
            else:
                selected[ia] = True
                who[node] = ib
            n_sel += 1
            mass[node] = s - 1.0
        if mass[node] >= 1.0 - eps:  # carried mass reached one: decided
            selected[who[node]] = True
            n_sel += 1
            who[node] = -1
            mass[node] = 0.0
        elif mass[node] <= eps:
            who[node] = -1
            mass[node] = 0.0
    if n_sel < k and who[0] >= 0:
        selected[who[0]] = True
    return selected
