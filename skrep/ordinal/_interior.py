"""PRESTO's problem where the training rows' monotone region binds.

The constraint that every training row's cumulative predictors stay ordered,
``eta[i, m - 1] <= eta[i, m]``, is ``X_i @ psi[m] >= 0`` for ``m >= 1``: a
polyhedral cone in each difference ``psi[m]``. At a small penalty the
optimum can lie on its boundary, where one feature's coordinate cannot move
without another's: coordinate descent stops there, short of the optimum.
This module solves the problem exactly instead:

- first a primal active-set method from the current point: Newton's method
  on the dense Hessian of the free coordinates, with the zero coordinates
  fixed and the tied rows' gaps as equalities, the sets updated one change
  at a time (a row that would cross or a coordinate that would change sign
  joins; a tie with a negative multiplier or a zero coordinate whose
  gradient exceeds its threshold leaves; a repeated row's copies join and
  leave together), each Newton solve run to the optimum's rounding; along
  a path, the previous penalty's ties and zeros usually are the answer's,
  or nearly;
- if that fails within a few changes, a log-barrier interior-point method
  (Boyd and Vandenberghe, Convex Optimization, ch. 11) on
  ``loss + sum thresh * s`` subject to ``-s <= psi <= s`` and every
  ``X_i @ psi[m] > 0``, the barrier weight divided by 20 per stage until
  its bound on the suboptimality falls below the target, then the
  active-set method from the zero coordinates and ties read off the
  barrier's dual estimates, for exact zeros and exact ties.

Each answer of the active-set method is accepted only if it satisfies the
optimality conditions of the original problem.
"""

import numpy as np
from scipy import linalg

from skrep.ordinal._kernels import trial_loss

_STAGE_FACTOR = 20.0
_MAX_NEWTON = 50
# Newton decrements below this, relative to the objective, are lost in the
# objective's rounding: the active-set method then judges a step by the
# gradient it leaves, not by the objective.
_ROUNDING = 1e-12


def penalty(psi, thresh):
    """``sum thresh * |psi|`` over the finite ``thresh`` (infinite: fixed)."""
    finite = np.isfinite(thresh)
    return float(np.sum(thresh[finite] * np.abs(psi[finite])))


def _loss_hessian(problem, cols):
    """Dense Hessian of the loss in ``psi[:, cols]``, of shape
    ``(K - 1, K - 1, len(cols), len(cols))``, after ``problem.derivatives``."""
    K = problem.n_classes
    X = problem.X[:, cols]
    q = X.shape[1]
    hess_beta = np.zeros((K - 1, K - 1, q, q))
    starts = problem.starts
    for c in range(K):
        rows = slice(starts[c], starts[c + 1])
        Xc = X[rows]
        if c > 0:
            hess_beta[c - 1, c - 1] += (Xc * problem.haa[rows, None]).T @ Xc
        if c < K - 1:
            hess_beta[c, c] += (Xc * problem.hbb[rows, None]).T @ Xc
        if 0 < c < K - 1:
            cross = (Xc * problem.hab[rows, None]).T @ Xc
            hess_beta[c - 1, c] += cross
            hess_beta[c, c - 1] += cross
    # beta_k = sum_{m <= k} psi_m: H_psi[m, m'] = sum_{k >= m, k' >= m'} H_beta,
    # T H_beta T' in the block axes with T[m, k] = 1 for k >= m (as products:
    # cumulative sums along these strided axes are several times slower).
    T = np.triu(np.ones((K - 1, K - 1)))
    hess = (T @ hess_beta.reshape(K - 1, -1)).reshape(K - 1, K - 1, q * q)
    return (T @ hess).reshape(K - 1, K - 1, q, q)  # T on axis 1 of each block row


def _solve(H, g):
    """``H^-1 g`` for a symmetric positive semi-definite ``H``, Jacobi-scaled
    (the barrier's curvatures span many orders of magnitude)."""
    d = np.sqrt(np.maximum(np.diag(H), np.finfo(float).tiny))
    Hs = H / d[:, None] / d[None, :]
    try:
        factor = linalg.cho_factor(Hs + 1e-14 * np.eye(len(d)), check_finite=False)
        z = linalg.cho_solve(factor, g / d, check_finite=False)
    except np.linalg.LinAlgError:
        z = np.linalg.lstsq(Hs, g / d, rcond=None)[0]
    return z / d


class _Layout:
    """The free coordinates of ``psi`` as a vector, and the constraint rows."""

    def __init__(self, problem, psi, thresh, allowed):
        self.problem = problem
        self.free = allowed & np.isfinite(thresh)
        self.cols = np.flatnonzero(self.free.any(axis=0))
        self.sub = self.free[:, self.cols].ravel()
        t = thresh[:, self.cols].ravel()[self.sub]
        self.t = t
        self.pen = t > 0  # coordinates with an L1 term
        self.K = problem.n_classes
        self.base = psi.copy()
        self.thresh = thresh

    def psi(self, v):
        psi = self.base.copy()
        block = psi[:, self.cols]
        flat = block.ravel()
        flat[self.sub] = v
        psi[:, self.cols] = flat.reshape(block.shape)
        return psi

    def vector(self, psi):
        return psi[:, self.cols].ravel()[self.sub]

    def full_to_vector(self, array4):
        """(K-1, K-1, q, q) block matrix to the free coordinates' matrix."""
        km1, _, q, _ = array4.shape
        flat = array4.transpose(0, 2, 1, 3).reshape(km1 * q, km1 * q)
        return flat[np.ix_(self.sub, self.sub)]

    def gaps(self, eta):
        """``eta[:, m] - eta[:, m - 1]`` for ``m >= 1``: shape (K - 2, n)."""
        return np.diff(eta, axis=1).T

    def loss(self, eta):
        """Loss at ``eta``; inf outside the monotone region."""
        problem = self.problem
        return trial_loss(eta, eta, 0.0, problem.y, problem.sw)


def _barrier_derivatives(layout, eta, v, s, tau):
    """Gradient and Hessian of the barrier function in ``(v, s)`` with ``s``
    eliminated: returns (H_reduced, g_v, g_s, h_vs, h_ss)."""
    problem = layout.problem
    problem.derivatives(eta, want_loss=False)
    cols = layout.cols
    K = layout.K
    grad = problem.grad_psi()[:, cols]
    hess = _loss_hessian(problem, cols) * tau
    grad = grad * tau
    X = problem.X[:, cols]
    gaps = layout.gaps(eta)
    for m in range(1, K - 1):
        inv = 1.0 / gaps[m - 1]
        grad[m] -= X.T @ inv
        hess[m, m] += (X * (inv * inv)[:, None]).T @ X
    g_v = grad.ravel()[layout.sub]
    H = layout.full_to_vector(hess)
    pen = layout.pen
    u = s - v[pen]
    w = s + v[pen]
    g_v[pen] += 1.0 / u - 1.0 / w
    g_s = tau * layout.t[pen] - 1.0 / u - 1.0 / w
    h_ss = 1.0 / u**2 + 1.0 / w**2
    h_vs = 1.0 / w**2 - 1.0 / u**2
    index = np.flatnonzero(pen)
    H[index, index] += h_ss - h_vs**2 / h_ss
    return H, g_v, g_s, h_vs, h_ss


def _barrier_value(layout, v, s, tau):
    """``(barrier function, eta)``; inf outside the domain."""
    pen = layout.pen
    u = s - v[pen]
    w = s + v[pen]
    if np.any(u <= 0) or np.any(w <= 0):
        return np.inf, None
    psi = layout.psi(v)
    eta = layout.problem.eta(np.cumsum(psi, axis=0))
    gaps = layout.gaps(eta)
    if np.any(gaps <= 0):
        return np.inf, None
    loss = layout.loss(eta)
    if not np.isfinite(loss):
        return np.inf, None
    value = tau * (loss + float(layout.t[pen] @ s)) - (
        np.sum(np.log(u)) + np.sum(np.log(w)) + np.sum(np.log(gaps))
    )
    return value, eta


def _interior_start(layout, psi):
    """A strictly feasible ``(v, s)`` near ``psi``: ``psi[m >= 1]`` pulled
    towards the intercept-only differences, which order every row."""
    problem = layout.problem
    null = np.zeros_like(psi)
    null[0] = psi[0]
    null[1:, -1] = np.diff(problem.null_intercepts())
    for eps in (1e-4, 1e-3, 1e-2, 1e-1, 1.0):
        trial = psi.copy()
        trial[layout.free] = ((1 - eps) * psi + eps * null)[layout.free]
        eta = problem.eta(np.cumsum(trial, axis=0))
        if np.all(layout.gaps(eta) > 0) and np.isfinite(layout.loss(eta)):
            v = layout.vector(trial)
            vp = np.abs(v[layout.pen])
            return v, vp + 1e-3 * (1.0 + vp)
    raise ValueError(  # pragma: no cover - the fixed coordinates are zero
        "PRESTO found no strictly monotone starting point."
    )


def _newton_centre(layout, v, s, tau, value, eta, accuracy):
    """Minimise the barrier function at weight ``tau`` from ``(v, s)``, to
    a Newton decrement of ``accuracy`` (the objective is then within
    ``accuracy / tau`` of the centre's)."""
    pen = layout.pen
    for _ in range(_MAX_NEWTON):
        H, g_v, g_s, h_vs, h_ss = _barrier_derivatives(layout, eta, v, s, tau)
        rhs = g_v.copy()
        rhs[pen] -= h_vs * g_s / h_ss
        dv = -_solve(H, rhs)
        ds = -(g_s + h_vs * dv[pen]) / h_ss
        decrement = -(g_v @ dv + g_s @ ds)
        if decrement <= accuracy:
            break
        t = 1.0
        while t > 1e-14:
            new_value, new_eta = _barrier_value(layout, v + t * dv, s + t * ds, tau)
            if new_value <= value - 0.01 * t * decrement:
                break
            t *= 0.5
        else:
            break
        v, s, value, eta = v + t * dv, s + t * ds, new_value, new_eta
    return v, s, value, eta


def _objective(layout, psi):
    problem = layout.problem
    eta = problem.eta(np.cumsum(psi, axis=0))
    return layout.loss(eta) + penalty(psi, layout.thresh), eta


def _barrier_sets(layout, v, s, tau):
    """Zero coordinates and binding rows read off the barrier's centre, where
    each inequality's multiplier times its slack is ``1 / tau``: an
    inequality binds where its slack is below its multiplier."""
    problem = layout.problem
    eta = problem.eta(np.cumsum(layout.psi(v), axis=0))
    binding = layout.gaps(eta) ** 2 < 1.0 / tau
    pen = layout.pen
    u, w = s - v[pen], s + v[pen]
    zero = np.zeros(len(v), dtype=bool)
    zero[np.flatnonzero(pen)] = (u**2 < 1.0 / tau) & (w**2 < 1.0 / tau)
    return zero, binding


def _constraint_rows(layout, binding):
    """``(A, offset)``: the binding rows' gaps are ``A @ v + offset``."""
    problem = layout.problem
    K = layout.K
    X = problem.X[:, layout.cols]
    q = X.shape[1]
    rows = []
    for m in range(1, K - 1):
        for i in np.flatnonzero(binding[m - 1]):
            row = np.zeros((K - 1, q))
            row[m] = X[i]
            rows.append(row.ravel()[layout.sub])
    A = np.array(rows).reshape(len(rows), len(layout.t))
    fixed = layout.psi(np.zeros(len(layout.t)))
    offset = layout.gaps(problem.eta(np.cumsum(fixed, axis=0)))[binding]
    return A, offset


def _active_set_newton(layout, v, zero, binding, rounds=20):
    """A primal active-set method from ``v``: Newton's method with the
    ``zero`` coordinates fixed at zero and the ``binding`` rows' gaps as
    equalities; a step is cut where another row's gap or a coordinate's sign
    would change, which joins that set (with the other rows tied there),
    and at a stationary point a binding row with a negative multiplier
    (with its copies), or a zero coordinate whose gradient exceeds its
    threshold, leaves. Each stationary point is found to rounding: once the
    Newton decrement is lost in the objective's rounding, steps are taken
    while they halve the gradient. Returns the solution once it satisfies
    the optimality conditions of the original problem (exact zeros, binding
    rows exactly ordered), or None after ``rounds`` changes of the sets."""
    problem = layout.problem
    pen = layout.pen
    cols = layout.cols
    zero = zero.copy()
    binding = binding.copy()
    sign = np.zeros(len(v))
    sign[pen] = np.sign(v[pen])
    v = np.where(zero, 0.0, v)

    def value(vec):
        eta = problem.eta(np.cumsum(layout.psi(vec), axis=0))
        return layout.loss(eta) + float(layout.t * sign @ vec), eta

    for _ in range(rounds):
        keep = ~zero
        if np.any(pen & keep & (sign == 0)):
            return None
        linear = layout.t * sign
        A, offset = _constraint_rows(layout, binding)
        Ak = A[:, keep]
        if len(A):
            # One SVD gives the equalities' null space (all of V is needed,
            # U only where it is thin) and both least-squares solutions.
            Ur, sv, Vt = np.linalg.svd(Ak, full_matrices=Ak.shape[0] < Ak.shape[1])
            rank = int(np.sum(sv > 1e-10 * sv[0])) if sv.size else 0
            Ur, sr, Vr, null = Ur[:, :rank], sv[:rank], Vt[:rank].T, Vt[rank:].T
            v[keep] -= Vr @ ((Ur.T @ (A @ v + offset)) / sr)
        else:
            null = np.eye(int(keep.sum()))
        current, eta = value(v)
        if not np.isfinite(current):
            return None
        blocked = False
        polishing = None  # the point before a step judged by its gradient
        for _ in range(_MAX_NEWTON):
            problem.derivatives(eta, want_loss=False)
            grad = problem.grad_psi()[:, cols].ravel()[layout.sub]
            g = null.T @ (grad[keep] + linear[keep])
            size = np.linalg.norm(g)
            if polishing is not None and size > 0.5 * polishing[0]:
                # Rounding, no longer the curvature, sets the gradient: the
                # last step was no better than the point before it.
                _, v, current, eta = polishing
                break
            if not size:
                break
            hess = layout.full_to_vector(_loss_hessian(problem, cols))
            dz = -_solve(null.T @ hess[np.ix_(keep, keep)] @ null, g)
            step = np.zeros(len(v))
            step[keep] = null @ dz
            decrement = -(g @ dz)
            # The longest step keeping the other rows ordered and the signs.
            gaps = layout.gaps(eta)
            moved = np.zeros_like(layout.base)
            block = moved[:, cols].ravel()
            block[layout.sub] = step
            moved[:, cols] = block.reshape(len(moved), len(cols))
            dgaps = layout.gaps(problem.eta(np.cumsum(moved, axis=0)))
            closing = ~binding & (dgaps < 0)
            t_rows = np.full(gaps.shape, np.inf)
            t_rows[closing] = np.maximum(gaps[closing], 0.0) / -dgaps[closing]
            flips = pen & keep & (sign * step < 0)
            t_signs = np.full(len(v), np.inf)
            t_signs[flips] = np.abs(v[flips]) / np.abs(step[flips])
            limit = min(t_rows.min(initial=np.inf), t_signs.min(initial=np.inf))
            t = min(1.0, limit)
            if decrement > _ROUNDING * max(abs(current), 1e-3):
                polishing = None
                while t > 1e-14:
                    new, new_eta = value(v + t * step)
                    if new <= current - 0.01 * t * decrement:
                        break
                    t *= 0.5
                else:
                    return None
            else:
                # The objective is within rounding of the optimum's, where
                # its decrease is noise, yet the point may be off the
                # optimum by the square root of that (1e-7 in psi): Newton
                # steps continue while they at least halve the gradient (its
                # quadratic convergence), so that the point found is the
                # optimum to rounding whatever the route to it (rows
                # weighted or repeated, a different warm start).
                new, new_eta = value(v + t * step)
                if not np.isfinite(new):
                    break
                polishing = (size, v, current, eta)
            v, current, eta = v + t * step, new, new_eta
            if t == limit:  # a row or a sign joins its set
                if t_rows.min(initial=np.inf) <= t_signs.min(initial=np.inf):
                    binding[np.unravel_index(np.argmin(t_rows), t_rows.shape)] = True
                    # With every other row that ties there now: a repeated
                    # row's copies reach the boundary together, and a copy
                    # left out would stop the next step at once.
                    binding |= closing & _ties(layout, eta)
                else:
                    index = int(np.argmin(t_signs))
                    zero[index], sign[index], v[index] = True, 0.0, 0.0
                blocked = True
                break
        if blocked:
            continue
        # Optimality in the original problem: multipliers of the binding
        # rows non-negative, zero coordinates' gradients within thresholds.
        problem.derivatives(eta, want_loss=False)
        grad = problem.grad_psi()[:, cols].ravel()[layout.sub]
        scale = _gradient_scale(layout, grad)
        if len(A):
            nu = Ur @ ((Vr.T @ (grad[keep] + linear[keep])) / sr)
            residual = grad - A.T @ nu
        else:
            nu = np.zeros(0)
            residual = grad
        if np.any(np.abs(residual[keep] + linear[keep]) > 1e-6 * scale):
            return None
        excess = np.where(zero, np.abs(residual) - layout.t, -np.inf)
        if len(nu) and nu.min() < -1e-7 * scale and -nu.min() >= excess.max():
            # It leaves with its copies (the rows of the same constraint): the
            # least-squares multipliers share one multiplier among them, so
            # each copy's is as negative, and a copy left behind would hold
            # the released row on the boundary.
            copies = np.all(A == A[np.argmin(nu)], axis=1)
            binding.ravel()[np.flatnonzero(binding.ravel())[copies]] = False
            continue
        if excess.max() > 1e-7 * scale:
            index = int(np.argmax(excess))
            zero[index], sign[index] = False, -np.sign(residual[index])
            continue
        final = layout.psi(v)
        eta = problem.eta(np.cumsum(final, axis=0))
        if np.any(np.diff(eta, axis=1) < -1e-12 * (1.0 + np.abs(eta[:, :-1]))):
            return None
        return final, _force(layout, binding, nu)
    return None


def _gradient_scale(layout, grad):
    """The scale of the optimality conditions: the largest loss gradient or
    threshold."""
    return max(np.max(np.abs(grad)), np.max(layout.t, initial=0.0), 1e-12)


def _force(layout, binding, nu):
    """``A' nu`` in every coordinate of ``psi``: the monotone constraints'
    pull, ``nu`` the multipliers of the ``binding`` rows (in their order)."""
    problem = layout.problem
    force = np.zeros_like(layout.base)
    start = 0
    for m in range(1, layout.K - 1):
        rows = np.flatnonzero(binding[m - 1])
        force[m] = problem.X[rows].T @ nu[start : start + len(rows)]
        start += len(rows)
    return force


def _current_sets(layout, psi):
    """The free coordinates of ``psi``, its zero coordinates and its rows
    that tie (a warm start: the previous penalty's solution)."""
    eta = layout.problem.eta(np.cumsum(psi, axis=0))
    v = layout.vector(psi)
    return v, layout.pen & (v == 0), _ties(layout, eta)


def _ties(layout, eta):
    """The rows whose adjacent predictors tie at ``eta``, to rounding: shape
    (K - 2, n), as :meth:`_Layout.gaps`."""
    return layout.gaps(eta) <= 1e-10 * (1.0 + np.abs(eta[:, :-1].T))


def fit_interior(problem, psi, thresh, allowed, *, tol, suboptimality, max_stages):
    """Minimise the loss plus ``sum thresh * |psi|`` over the monotone region
    (``psi`` in place; coordinates with infinite ``thresh`` or not
    ``allowed`` stay). ``suboptimality``: an estimate of how far ``psi``'s
    objective is above the optimum (it sets the first barrier weight).

    Returns the objective, the number of barrier stages (0 when the ties
    and zeros of ``psi`` itself lead to the solution; at most
    ``max_stages``) and whether the solution is certified: it meets the
    optimality conditions, or the barrier's bound on its suboptimality is
    within the target. ``problem``'s derivatives are left at the solution,
    and ``problem.force`` is the constraints' pull there (the multipliers
    times the rows: the optimality conditions of a coordinate that was not
    ``allowed`` bound its gradient less this).
    """
    layout = _Layout(problem, psi, thresh, allowed)
    start_obj, _ = _objective(layout, psi)
    stages = 0
    solved = _active_set_newton(layout, *_current_sets(layout, psi))
    converged = solved is not None
    if solved is not None:
        candidate, force = solved
    else:
        v, s = _interior_start(layout, psi)
        n_constraints = 2 * int(layout.pen.sum()) + problem.X.shape[0] * (layout.K - 2)
        scale = max(abs(start_obj), 1e-3)
        target = max(1e-3 * tol, 1e-15) * scale
        tau = n_constraints / min(max(suboptimality, target), 1e-2 * scale)
        value, eta = _barrier_value(layout, v, s, tau)
        while stages < max(max_stages, 1):
            stages += 1
            v, s, value, eta = _newton_centre(
                layout, v, s, tau, value, eta, max(1e-10, 0.1 * tau * target)
            )
            if n_constraints / tau <= target:
                break
            tau *= _STAGE_FACTOR
            value, eta = _barrier_value(layout, v, s, tau)
        candidate = layout.psi(v)
        converged = n_constraints / tau <= target
        gaps = layout.gaps(eta)  # the barrier's multipliers: 1 / (tau gap)
        every = np.ones(gaps.shape, dtype=bool)
        force = _force(layout, every, 1.0 / (tau * gaps.ravel()))
        polished = _active_set_newton(layout, v, *_barrier_sets(layout, v, s, tau))
        if polished is not None:
            converged = True
            obj, _ = _objective(layout, candidate)
            polished_obj, _ = _objective(layout, polished[0])
            if polished_obj <= obj + 1e-12 * max(abs(obj), 1e-3):
                candidate, force = polished
    obj, _ = _objective(layout, candidate)
    if obj > start_obj:  # a barrier cut short by max_iter: keep the start
        candidate, obj, force = psi.copy(), start_obj, None
    psi[:] = candidate
    problem.force = force
    problem.derivatives(problem.eta(np.cumsum(psi, axis=0)), want_loss=False)
    return obj, stages, converged
