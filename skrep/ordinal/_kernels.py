"""numba kernels of the cumulative-logit models (proportional odds, PRESTO).

Conventions shared by the kernels: ``K`` classes coded ``0 .. K-1``; the
``K - 1`` cumulative linear predictors of row ``i`` are ``eta[i, k]`` with
``P(y <= k | x) = sigmoid(eta[i, k])``. Row ``i`` of class ``c`` depends only
on ``a = eta[i, c - 1]`` (absent when ``c = 0``) and ``b = eta[i, c]`` (absent
when ``c = K - 1``): its loss is ``-log(sigmoid(b) - sigmoid(a))``, and the
per-row gradient and 2x2 Hessian in ``(a, b)`` are all a solver needs.
"""

from math import exp, expm1, inf, log, log1p

import numpy as np

from skrep.utils._numba import njit

__all__ = ["cd_quadratic", "max_feasible_step", "row_derivatives", "trial_loss"]


@njit
def _softplus(x):
    # log(1 + exp(x)), stable for any x
    return max(x, 0.0) + log1p(exp(-abs(x)))


@njit
def _row_loss(a, b, c, last):
    # -log P(y = c) for the row's two cumulative predictors; inf if P <= 0.
    if c == 0:
        return _softplus(-b)
    if c == last:
        return _softplus(a)
    d = b - a
    if d <= 0.0:
        return inf
    return -log(-expm1(-d)) + _softplus(-b) + _softplus(a)


@njit
def _sigmoid_pair(x):
    # (sigmoid(x), sigmoid(-x)) with one exponential, accurate in both tails.
    e = exp(-abs(x))
    big = 1.0 / (1.0 + e)
    small = e / (1.0 + e)
    if x >= 0.0:
        return big, small
    return small, big


@njit
def row_derivatives(eta, y, sw, ga, gb, haa, hab, hbb, want_loss):
    """Weighted loss, and per-row gradient and Hessian in ``(a, b)``.

    Parameters
    ----------
    eta : ndarray of shape (n_samples, K - 1)
    y : ndarray of shape (n_samples,), int class codes
    sw : ndarray of shape (n_samples,), row weights (``1 / n``)
    ga, gb, haa, hab, hbb : ndarray of shape (n_samples,), outputs
    want_loss : bool
        Compute the loss too (else 0 is returned unless a row is infeasible).

    Returns
    -------
    loss : float
        ``sum_i sw[i] * loss_i``; ``inf`` if a row has a non-positive
        probability of its own class.
    """
    n = eta.shape[0]
    last = eta.shape[1]
    total = 0.0
    for i in range(n):
        c = y[i]
        w = sw[i]
        if c == 0:
            b = eta[i, 0]
            sb, sbc = _sigmoid_pair(b)
            if want_loss:
                total += w * _softplus(-b)
            ga[i] = 0.0
            haa[i] = 0.0
            hab[i] = 0.0
            gb[i] = -w * sbc
            hbb[i] = w * sb * sbc
        elif c == last:
            a = eta[i, last - 1]
            sa, sac = _sigmoid_pair(a)
            if want_loss:
                total += w * _softplus(a)
            ga[i] = w * sa
            haa[i] = w * sa * sac
            hab[i] = 0.0
            gb[i] = 0.0
            hbb[i] = 0.0
        else:
            a = eta[i, c - 1]
            b = eta[i, c]
            d = b - a
            if d <= 0.0:
                return inf
            em = expm1(d)
            u1 = -1.0 / em  # d/dd of -log(1 - exp(-d))
            if d > 30.0:
                u2 = exp(-d)
            else:
                u2 = (em + 1.0) / (em * em)
            sa, sac = _sigmoid_pair(a)
            sb, sbc = _sigmoid_pair(b)
            if want_loss:
                total += w * (-log(-expm1(-d)) + _softplus(-b) + _softplus(a))
            ga[i] = w * (-u1 + sa)
            gb[i] = w * (u1 - sbc)
            haa[i] = w * (u2 + sa * sac)
            hbb[i] = w * (u2 + sb * sbc)
            hab[i] = -w * u2
    return total


@njit
def trial_loss(eta, deta, t, y, sw):
    """Weighted loss at ``eta + t * deta``; ``inf`` if a cumulative
    probability of any row decreases (a negative class probability) or a row
    gets probability zero for its own class."""
    n = eta.shape[0]
    last = eta.shape[1]
    total = 0.0
    for i in range(n):
        prev = eta[i, 0] + t * deta[i, 0]
        for k in range(1, last):
            cur = eta[i, k] + t * deta[i, k]
            if cur < prev - 1e-12 * (1.0 + abs(prev)):  # round-off at the boundary
                return inf
            prev = cur
        c = y[i]
        a = 0.0
        b = 0.0
        if c > 0:
            a = eta[i, c - 1] + t * deta[i, c - 1]
        if c < last:
            b = eta[i, c] + t * deta[i, c]
        total += sw[i] * _row_loss(a, b, c, last)
    return total


@njit
def max_feasible_step(eta, deta):
    """Largest ``t`` keeping every row's predictors ordered along
    ``eta + t * deta`` (``inf`` if no gap closes; gaps below 0 count as 0)."""
    best = inf
    for i in range(eta.shape[0]):
        for k in range(1, eta.shape[1]):
            closing = deta[i, k - 1] - deta[i, k]
            if closing > 0.0:
                gap = max(eta[i, k] - eta[i, k - 1], 0.0)
                t = gap / closing
                if t < best:
                    best = t
    return best


@njit
def _block_sums(X, starts, j, ra, rb, haa, hab, hbb, S, T, A, B, C, want_h):
    # Per-class sums of one feature's gradient (S, T) and curvature (A, B, C)
    # terms; one pass over the rows.
    n_cls = starts.shape[0] - 1
    last = n_cls - 1
    for c in range(n_cls):
        s = 0.0
        t = 0.0
        a = 0.0
        b = 0.0
        cc = 0.0
        lo = starts[c]
        hi = starts[c + 1]
        if c < last:
            if want_h:
                for i in range(lo, hi):
                    x = X[i, j]
                    s += x * (ra[i] + rb[i])
                    t += x * rb[i]
                    xx = x * x
                    a += xx * (haa[i] + 2.0 * hab[i] + hbb[i])
                    b += xx * (hab[i] + hbb[i])
                    cc += xx * hbb[i]
            else:
                for i in range(lo, hi):
                    x = X[i, j]
                    s += x * (ra[i] + rb[i])
                    t += x * rb[i]
        else:
            if want_h:
                for i in range(lo, hi):
                    x = X[i, j]
                    s += x * ra[i]
                    a += x * x * haa[i]
            else:
                for i in range(lo, hi):
                    s += X[i, j] * ra[i]
        S[c] = s
        T[c] = t
        if want_h:
            A[c] = a
            B[c] = b
            C[c] = cc


@njit
def _block_move(X, starts, j, D, ra, rb, haa, hab, hbb):
    # Update the rows' model gradients after psi[:, j] += delta, D = cumsum.
    n_cls = starts.shape[0] - 1
    last = n_cls - 1
    for c in range(n_cls):
        da = D[c - 1] if c > 0 else 0.0
        db = D[c] if c < last else 0.0
        if da == 0.0 and db == 0.0:
            continue
        for i in range(starts[c], starts[c + 1]):
            x = X[i, j]
            step_a = x * da
            step_b = x * db
            ra[i] += haa[i] * step_a + hab[i] * step_b
            rb[i] += hab[i] * step_a + hbb[i] * step_b


@njit
def cd_quadratic(
    X, starts, ra, rb, haa, hab, hbb, psi, thresh, allowed, max_sweeps, tol
):
    """Block coordinate descent on the penalised quadratic model of the loss.

    Solves ``min_psi q(psi) + sum thresh[m, j] |psi[m, j]|`` where ``q`` is
    the second-order model of the loss at the current ``psi`` (the input),
    with ``beta_k = sum_{m <= k} psi[m]`` and ``eta = X beta``. Rows of ``X``
    are sorted by class (class ``c`` is rows ``starts[c]:starts[c + 1]``); the
    intercept is a column of ones. A block is one feature's ``K - 1``
    differences ``psi[:, j]``: row ``i`` of class ``c`` sees them through
    ``a = sum_{m < c} psi[m, j] x_ij`` and ``b = sum_{m <= c} psi[m, j] x_ij``,
    so the block's gradient and ``(K-1)``-square Hessian follow from
    per-class sums, one pass over the rows; the small lasso of the block is
    then solved exactly by coordinate descent, and a second pass updates the
    rows. Sweeps the active blocks to convergence, then all blocks, until a
    full sweep changes the model by less than ``tol``.

    ``psi`` (shape ``(K - 1, p + 1)``) is updated in place; ``ra``/``rb``
    (the loss gradient in each row's ``(a, b)`` on entry) are updated to the
    model's gradient at the new ``psi``. Only the coordinates where
    ``allowed`` is True move (a strong set; the caller checks the others).
    The model is unconstrained: the caller keeps the training rows' monotone
    region. Returns the number of sweeps.
    """
    n_thr, n_col = psi.shape
    n_cls = n_thr + 1
    H = np.zeros((n_col, n_thr, n_thr))
    have_h = np.zeros(n_col, dtype=np.bool_)
    active = np.zeros(n_col, dtype=np.bool_)
    S = np.zeros(n_cls)
    T = np.zeros(n_cls)
    A = np.zeros(n_cls)
    B = np.zeros(n_cls)
    C = np.zeros(n_cls)
    g = np.zeros(n_thr)
    v = np.zeros(n_thr)
    v0 = np.zeros(n_thr)
    D = np.zeros(n_thr)
    full = True
    sweeps = 0
    while sweeps < max_sweeps:
        max_change = 0.0
        for j in range(n_col):
            any_allowed = False
            for m in range(n_thr):
                if allowed[m, j]:
                    any_allowed = True
            if not any_allowed or (not full and not active[j]):
                continue
            want_h = not have_h[j]
            _block_sums(X, starts, j, ra, rb, haa, hab, hbb, S, T, A, B, C, want_h)
            if want_h:
                for m in range(n_thr):
                    for mm in range(m, n_thr):
                        h = 0.0
                        for c in range(mm + 1, n_cls):
                            h += A[c]
                        h += C[m] if m == mm else B[mm]
                        H[j, m, mm] = h
                        H[j, mm, m] = h
                have_h[j] = True
            tail = 0.0
            for m in range(n_thr - 1, -1, -1):
                tail += S[m + 1]
                g[m] = tail + T[m]
            for m in range(n_thr):
                v[m] = psi[m, j]
                v0[m] = v[m]
            # The block's small lasso, solved exactly.
            for _ in range(1000):
                biggest = 0.0
                for m in range(n_thr):
                    hmm = H[j, m, m]
                    if not allowed[m, j] or hmm <= 0.0:
                        continue
                    grad = g[m]
                    for mm in range(n_thr):
                        grad += H[j, m, mm] * (v[mm] - v0[mm])
                    z = v[m] - grad / hmm
                    thr = thresh[m, j] / hmm
                    if z > thr:
                        new = z - thr
                    elif z < -thr:
                        new = z + thr
                    else:
                        new = 0.0
                    d = new - v[m]
                    v[m] = new
                    if hmm * d * d > biggest:
                        biggest = hmm * d * d
                if biggest <= 1e-3 * tol:
                    break
            change = 0.0
            moved = False
            total = 0.0
            for m in range(n_thr):
                delta = v[m] - v0[m]
                if delta != 0.0:
                    moved = True
                total += delta
                D[m] = total
                psi[m, j] = v[m]
                if v[m] != 0.0:
                    active[j] = True
            if not moved:
                continue
            for m in range(n_thr):
                for mm in range(n_thr):
                    change += (v[m] - v0[m]) * H[j, m, mm] * (v[mm] - v0[mm])
            if change > max_change:
                max_change = change
            _block_move(X, starts, j, D, ra, rb, haa, hab, hbb)
        sweeps += 1
        if max_change < tol:
            if full:
                break
            full = True
        else:
            full = False
    return sweeps
