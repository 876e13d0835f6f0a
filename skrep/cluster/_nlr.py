"""Non-negative low-rank (Burer–Monteiro) solver for K-means-type SDPs.

The Peng–Wei K-means SDP and the likelihood-adjusted SDP (LA-SDP) of
Zhuang, Chen & Yang (2023) are both of the form

    minimise   sum_b  c_b^T B_b 1 - <X Omega_b X^T, B_b>
    subject to B_b PSD, B_b >= 0, tr B_b = t_b,  sum_b B_b 1 = 1,

over ``n x n`` matrices ``B_b`` (one block for Peng–Wei, with ``Omega = I``,
``c = 0`` and ``t = K``; one block per cluster for LA-SDP, with ``t = 1``).
Following Zhuang, Chen, Yang & Zhang (ICLR 2024) each block is factorised as
``B_b = U_b U_b^T`` with ``U_b >= 0`` of shape ``(n, r)``; the trace constraint
is the Frobenius norm ``||U_b||_F^2 = t_b`` and the non-negativity of ``U_b``
implies ``B_b >= 0``. The row-sum constraint is handled by an augmented
Lagrangian with multiplier ``y`` and penalty ``beta``:

    L(U, y) = sum_b [c_b^T U_b s_b - ||W_b^T X^T U_b||_F^2] + y^T h
              + beta / 2 ||h||^2,      s_b = U_b^T 1,  h = sum_b U_b s_b - 1,

where ``W_b W_b^T = Omega_b``. The primal problem is solved by projected
gradient descent with Barzilai–Borwein steps and a non-monotone backtracking
line search (so that no step size has to be tuned to the scale of the data);
the multiplier takes a dual-ascent step ``y += beta h`` whenever the primal
iterate stalls. Each iteration costs two ``(n, p) x (p, n_blocks * r)``
matrix products and ``O(n r)`` elementwise work: memory is ``O(n r B + p^2 B)``
and no ``n x n`` matrix is ever formed.

The iteration is written once against the arrays' namespace ``xp``: numpy
or an array-API namespace such as CuPy's, whose arrays stay on their device.
Only the fused elementwise passes (the projected step, the gradient assembly,
the Barzilai–Borwein inner products) are leaves with two forms: numba kernels
on numpy arrays, namespace expressions elsewhere. Only the scalars that steer
the iteration (step lengths, objective values) come back to the host.
"""

import math

import numpy as np

from skrep.cluster._kernels import bb_products, gradient_assemble, projected_step
from skrep.utils._array_api import (
    get_namespace,
    is_numpy_namespace,
    to_namespace,
    to_numpy,
)

__all__ = ["NLRResult", "block_metric", "project", "solve_nlr", "warm_multiplier"]

# Largest number of step reductions in one backtracking line search.
_MAX_BACKTRACK = 60
# The penalty grows (by _BETA_GROWTH, at most to _BETA_MAX_FACTOR times its
# start) when _BETA_WINDOW dual steps have not halved the row-sum violation.
_BETA_WINDOW = 10
_BETA_GROWTH = 4.0
_BETA_MAX_FACTOR = 10.0


class NLRResult:
    """What :func:`solve_nlr` returns (a plain container)."""

    def __init__(
        self, U, y, n_iter, converged, objective, feasibility, alpha, beta, residual
    ):
        self.alpha = alpha
        self.beta = beta
        self.residual = residual
        self.U = U
        self.y = y
        self.n_iter = n_iter
        self.converged = converged
        self.objective = objective
        self.feasibility = feasibility


def warm_multiplier(res, beta):
    """The ``y0`` with which a solve at penalty ``beta`` starts from ``res``
    with ``res``'s effective multiplier ``y + beta h``."""
    return res.y + (res.beta - beta) * res.residual


def project(V, traces, rank, xp=None):
    """Project onto ``{U >= 0, ||U_b||_F^2 = t_b for each block b}``.

    Parameters
    ----------
    V : array of shape (n, n_blocks * rank)
        The point to project (overwritten when it is a numpy array).
    traces : array of shape (n_blocks,)
        The squared Frobenius norm of each block (in the namespace of ``V``).
    rank : int
        Number of columns per block.
    xp : array namespace, default=None
        The namespace of ``V``; None means numpy.

    Returns
    -------
    U : array of shape (n, n_blocks * rank)
        ``V`` clipped at zero with each block rescaled to its norm.
    """
    n = V.shape[0]
    if xp is None or is_numpy_namespace(xp):
        np.maximum(V, 0.0, out=V)
        for b, t in enumerate(traces):
            block = V[:, b * rank : (b + 1) * rank]
            norm = np.sqrt(np.vdot(block, block))
            if norm > 0.0:
                block *= np.sqrt(t) / norm
            else:  # a block clipped to zero restarts from the uniform point
                block[:] = np.sqrt(t / (n * rank))
        return V
    # the same without loops over blocks: reshaped to (n, n_blocks, rank)
    n_blocks = V.shape[1] // rank
    V3 = xp.reshape(xp.clip(V, min=0.0), (n, n_blocks, rank))
    sq = xp.sum(V3 * V3, axis=(0, 2))
    positive = sq > 0.0
    factor = xp.where(positive, xp.sqrt(traces / xp.where(positive, sq, 1.0)), 0.0)
    fill = xp.where(positive, 0.0, xp.sqrt(traces / (n * rank)))
    out = V3 * factor[None, :, None] + fill[None, :, None]
    return xp.reshape(out, V.shape)


def block_metric(xp, omegas, G, m):
    """``[Omega_b G_b]_b`` for ``G`` of shape (p, B * m) whose block ``b`` is
    its columns ``b * m`` to ``(b + 1) * m``: one batched product (one
    block: a plain one)."""
    p, n_blocks = G.shape[0], omegas.shape[0]
    if n_blocks == 1:
        return omegas[0, ...] @ G
    G3 = xp.permute_dims(xp.reshape(G, (p, n_blocks, m)), (1, 0, 2))
    return xp.reshape(xp.permute_dims(omegas @ G3, (1, 0, 2)), (p, n_blocks * m))


def _to_host(xp, *scalars):
    """Python floats of 0-d arrays (device ones in one transfer)."""
    if is_numpy_namespace(xp):
        return [float(v) for v in scalars]
    return [float(v) for v in to_numpy(xp.stack(scalars), xp)]


def _projected_step(xp, U, grad, alpha, traces, rank, out, colsum):
    """``project(U - alpha * grad)``, its column sums, ``||step||^2`` and
    ``<grad, step>``; on numpy one numba pass writing ``out`` and ``colsum``."""
    if is_numpy_namespace(xp):
        ss, decrease = projected_step(U, grad, alpha, traces, rank, out, colsum)
        return out, colsum.copy(), ss, decrease
    U_new = project(U - alpha * grad, traces, rank, xp=xp)
    step = U_new - U
    ss, decrease = _to_host(xp, xp.sum(step * step), xp.sum(grad * step))
    return U_new, xp.sum(U_new, axis=0), ss, decrease


def _bb_products(xp, U_new, U, grad_new, grad):
    """``<dU, dG>`` and ``<dG, dG>`` (Barzilai–Borwein) as Python floats."""
    if is_numpy_namespace(xp):
        return bb_products(U_new, U, grad_new, grad)
    dgrad = grad_new - grad
    return _to_host(xp, xp.sum((U_new - U) * dgrad), xp.sum(dgrad * dgrad))


class _Problem:
    """Evaluates the augmented Lagrangian and its gradient (namespace ``xp``)."""

    def __init__(self, xp, X, omegas, c, rank, beta):
        self.on_host = is_numpy_namespace(xp)
        # on host numpy itself (an array-API namespace since 2.0): the hot
        # loop's calls without the compatibility wrappers
        self.xp = np if self.on_host else xp
        self.X = X
        self.omegas = omegas
        self.c = c
        self.rank = rank
        self.beta = beta
        if self.on_host:  # the numba kernel takes an (n, 0) array for "no cost"
            self._c_kernel = np.empty((X.shape[0], 0), X.dtype) if c is None else c
        elif c is not None:  # c repeated over the columns of each block
            self._c_columns = xp.repeat(c, rank, axis=1)
        if c is not None:
            # t_j = c_{b(j)}^T U[:, j]: the entries (b(j), j) of c^T U, one
            # product instead of a strided one per block
            n_columns = c.shape[1] * rank
            index = np.arange(n_columns) // rank * n_columns + np.arange(n_columns)
            self._t_index = to_namespace(index, xp, X.device)

    def state(self, U, y, s=None):
        """Objective pieces at ``U`` (everything the gradient needs too)."""
        xp, X = self.xp, self.X
        G = X.T @ U
        M = G if self.omegas is None else block_metric(xp, self.omegas, G, self.rank)
        if s is None:
            s = xp.sum(U, axis=0)
        h = U @ s - 1.0
        f = -xp.vecdot(xp.reshape(G, (-1,)), xp.reshape(M, (-1,)))
        t = None
        if self.c is not None:
            t = xp.take(xp.reshape(self.c.T @ U, (-1,)), self._t_index)
            f = f + t @ s
        hh = h @ h
        lagr = f + y @ h + 0.5 * self.beta * hh
        f, lagr, hh = _to_host(xp, f, lagr, hh)
        return {"M": M, "s": s, "h": h, "t": t, "f": f, "L": lagr, "hh": hh}

    def gradient(self, U, y, st, out=None):
        """Gradient of the augmented Lagrangian with respect to ``U``.

        ``out``: a buffer for it (numpy only).
        """
        w = y + self.beta * st["h"]
        col = U.T @ w
        if st["t"] is not None:
            col = col + st["t"]
        XM = self.X @ st["M"]
        s = st["s"]
        if self.on_host:
            if out is None:
                out = np.empty_like(U)
            return gradient_assemble(XM, w, s, col, self._c_kernel, self.rank, out)
        grad = -2.0 * XM + w[:, None] * s[None, :] + col[None, :]
        if self.c is not None:
            grad = grad + self._c_columns * s[None, :]
        return grad


def solve_nlr(
    X,
    *,
    traces,
    rank,
    U0,
    omegas=None,
    c=None,
    y0=None,
    alpha0=None,
    beta=1.0,
    adapt_beta=False,
    tol=1e-4,
    max_iter=10000,
    dual_tol=1e-3,
    max_step=0.5,
    callback=None,
    xp=None,
):
    """Solve the factorised SDP from ``U0`` by the augmented Lagrangian method.

    Parameters
    ----------
    X : array of shape (n, p)
        Data (rows are points), centred and scaled by the caller.
    traces : array-like of shape (n_blocks,)
        Trace of each block ``B_b`` (host numbers).
    rank : int
        Columns of each factor ``U_b``.
    U0 : array of shape (n, n_blocks * rank)
        Starting point (projected before use; not modified).
    omegas : array of shape (n_blocks, p, p), default=None
        The metric of each block; None means the identity.
    c : array of shape (n, n_blocks), default=None
        Linear cost of each point in each block; None means zero.
    y0 : array of shape (n,), default=None
        Starting multiplier (a warm start); None means zero.
    alpha0 : float, default=None
        First step size (a warm start: ``alpha`` of a previous result); None
        means a short step scaled by the gradient.
    beta : float, default=1.0
        (Starting) penalty parameter of the augmented Lagrangian.
    adapt_beta : bool, default=False
        Let the penalty grow (fourfold, up to ``10 * beta``) whenever ten
        dual steps have not halved the row-sum violation. Where the dual
        steps come at every iteration, the multiplier creeps and the
        violation can shrink by a fraction of a percent per step (an iLA
        round's tight solve at 20,000 points: 4,511 steps at ``beta = 1``, 77
        at 10). On small problems at tight tolerances a larger penalty slows
        the primal steps instead (iris, 60 rows, tol 1e-6: 5 times as many
        steps), hence the cap and the default.
    tol : float, default=1e-4
        Stop when both the relative primal step ``||dU||_F / sqrt(sum t)`` and
        the row-sum violation ``||h|| / sqrt(n)`` are below ``tol``.
    max_iter : int, default=10000
        Maximum number of projected-gradient steps.
    dual_tol : float, default=1e-3
        Take a dual step when the relative primal step is below ``dual_tol``
        (or ``tol``, whichever is larger).
    max_step : float, default=0.5
        Largest accepted relative primal step ``||dU||_F / sqrt(sum t)``.
    callback : callable, default=None
        Called as ``callback(iteration, objective, feasibility)`` every 100
        iterations (for ``verbose`` output).
    xp : array namespace, default=None
        The namespace of every array argument (all on one device, in one
        float dtype); the solver runs there and ``U`` and ``y`` of the result
        are arrays of ``xp``. None means the namespace of ``X``.

    Returns
    -------
    result : NLRResult
        ``U``, ``y``, ``n_iter``, ``converged``, ``objective`` (the value of
        ``sum_b c_b^T B_b 1 - <X Omega_b X^T, B_b>``), ``feasibility``,
        ``alpha`` (the last step size) and ``beta`` (the last penalty: the
        effective multiplier is ``y + beta h``) and ``residual`` (``h``).
    """
    if xp is None:
        xp, _ = get_namespace(X)
    n = X.shape[0]
    dtype = X.dtype
    scale = math.sqrt(float(np.sum(np.asarray(traces, dtype=np.float64))))
    traces = to_namespace(np.asarray(traces, dtype=np.float64), xp, X.device, dtype)
    problem = _Problem(xp, X, omegas, c, rank, beta)
    U = project(xp.astype(U0, dtype, copy=True), traces, rank, xp=xp)
    if y0 is None:
        y = xp.zeros(n, dtype=dtype, device=X.device)
    else:
        y = xp.astype(y0, dtype, copy=True)
    st = problem.state(U, y)
    grad = problem.gradient(U, y, st)
    (gmax,) = _to_host(xp, xp.max(xp.abs(grad)))
    if not (math.isfinite(gmax) and math.isfinite(st["L"])):
        raise ValueError(
            "The low-rank SDP solver met a non-finite value: the data are too "
            "badly scaled (values or their squares near the float range); "
            "rescale X."
        )
    if alpha0 is None:
        size = U.shape[0] * U.shape[1]
        alpha = 1e-2 * scale / (gmax * math.sqrt(size) / math.sqrt(n) + 1e-300)
    else:
        alpha = alpha0
    history = [st["L"]]
    dual_tol = max(dual_tol, tol)
    converged = False
    it = 0
    feas = math.sqrt(st["hh"]) / math.sqrt(n)
    beta_max = _BETA_MAX_FACTOR * beta if adapt_beta else beta
    n_dual, window_feas = 0, feas
    # buffers the numba kernels write (numpy only; elsewhere every step
    # makes new arrays)
    U_new = xp.empty_like(U) if problem.on_host else None
    grad_new = xp.empty_like(U) if problem.on_host else None
    colsum = np.empty(U.shape[1], dtype=dtype) if problem.on_host else None
    for it in range(1, max_iter + 1):
        reference = max(history[-10:])
        # backtracking: at most _MAX_BACKTRACK quarterings of the step (from
        # any finite step the last one is below 1e-30 times it)
        for _ in range(_MAX_BACKTRACK):
            U_new, s_new, ss, decrease = _projected_step(
                xp, U, grad, alpha, traces, rank, U_new, colsum
            )
            # a trust region: a long projected step can jump to a spike (all
            # the mass on a few rows), a stationary point of the clipped problem
            if ss <= (max_step * scale) ** 2:
                st_new = problem.state(U_new, y, s_new)
                if st_new["L"] <= reference + 1e-4 * decrease:
                    break
            alpha *= 0.25
        else:  # no decrease even for a vanishing step: stationary to rounding
            st_new = problem.state(U_new, y, s_new)
        if not math.isfinite(st_new["L"]) or not math.isfinite(ss):
            raise ValueError(
                "The low-rank SDP solver met a non-finite value: the data are "
                "too badly scaled (values or their squares near the float "
                "range); rescale X."
            )
        grad_new = problem.gradient(U_new, y, st_new, out=grad_new)
        sy, yy = _bb_products(xp, U_new, U, grad_new, grad)
        U, U_new = U_new, U
        grad, grad_new = grad_new, grad
        st = st_new
        history.append(st["L"])
        rdiff = math.sqrt(ss) / scale
        feas = math.sqrt(st["hh"]) / math.sqrt(n)
        if callback is not None and it % 100 == 0:
            callback(it, st["f"], feas)
        # (the first steps are not Barzilai-Borwein steps: their length says
        # nothing about stationarity)
        if rdiff < tol and feas < tol and it > 2:
            converged = True
            break
        if sy > 0.0:
            alpha = ss / sy if it % 2 else sy / yy
        else:
            alpha *= 4.0
        if rdiff < dual_tol:
            # dual ascent; the Lagrangian and its gradient move linearly in
            # y, and so in beta (the effective multiplier is y + beta h)
            dy = beta * st["h"]
            y = y + dy
            (dl,) = _to_host(xp, dy @ st["h"])
            st["L"] += dl
            n_dual += 1
            if n_dual % _BETA_WINDOW == 0:
                if feas > 0.5 * window_feas and beta < beta_max:
                    growth = min(_BETA_GROWTH * beta, beta_max) - beta
                    beta += growth
                    problem.beta = beta
                    st["L"] += 0.5 * growth * st["hh"]
                    dy = dy + growth * st["h"]  # the change of y + beta h
                window_feas = feas
            grad = grad + dy[:, None] * st["s"][None, :] + (U.T @ dy)[None, :]
            history = [st["L"]]
    return NLRResult(U, y, it, converged, st["f"], feas, alpha, beta, st["h"])
