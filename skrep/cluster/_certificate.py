"""Optimality checks of the low-rank SDP solver: escapes and a dual bound.

The SDPs of :mod:`skrep.cluster` (see :mod:`skrep.cluster._nlr`) are

    minimise   sum_b <C_b, B_b>,   C_b = sym(c_b 1^T) - X Omega_b X^T,
    subject to B_b PSD, B_b >= 0, tr B_b = t_b,  sum_b B_b 1 = 1.

With multipliers ``w`` (row sums), ``N_b >= 0`` (entrywise) and the dual
slack ``S_b = W_b - N_b - lambda_b I``, ``W_b = C_b + sym(w 1^T)``, weak duality
gives for *every* ``w`` and every ``N_b >= 0`` the lower bound

    D(w, N) = sum_b t_b lambda_min(W_b - N_b) - 1^T w

on the optimum; the optimum attains it. Two checks follow from it.

Escape (matrix-free, any n). The solver's factors ``B_b = U_b U_b^T`` with
``U_b >= 0`` describe completely positive matrices, and the factorised
problem has spurious stationary points. At a stationary point, with
``z_b = -<W_b U_b, U_b> / t_b`` (the multiplier of the trace),
``M_b = W_b + z_b I`` satisfies ``<M_b U_b, U_b> = 0``; a non-negative unit
vector ``v`` with ``v^T M_b v < 0`` is a direction in which adding a column
``eta v`` to ``U_b`` lowers the objective (to first order in ``eta^2``). It is
searched by projected gradient on ``{v >= 0, ||v|| = 1}`` from a batch of
starts (the current clusters, the most negative diagonal entries, sparse
random points); each product with ``M_b`` costs ``O(n p)`` (a low-rank matrix
plus rank-two terms), never an ``n x n`` matrix. The smallest eigenvalue of
``M_b`` alone says nothing here: the entrywise multipliers ``N_b`` are what
make the slack positive semidefinite, and without them it is far negative at
the optimum.

Dual bound (dense, small n). With ``N_b`` found by an accelerated projection
(FISTA on ``N_b >= 0`` for the squared distance of ``M_b - N_b`` to the
semidefinite cone), ``D`` is a certified lower bound; the relative gap
``(f - D) / |f|`` bounds the distance of the solver's objective ``f`` to the
SDP optimum. Each iteration is an ``n x n`` eigendecomposition, so this is
computed only for small ``n``; the entrywise multipliers of the Peng--Wei and
LA-SDP relaxations live on all pairs of points in different clusters, and we
know of no matrix-free certificate for them. Where that bound stalls above
the tolerance, an augmented Lagrangian on the SDP itself (sign-free factors,
``B_b >= 0`` dualised) refines the dual point; its factors, which solve the
SDP without the ``U >= 0`` restriction, are where the solver restarts when
the bound says the solve is not optimal.
"""

import math

import numpy as np
from scipy.optimize import minimize

from skrep.cluster._nlr import block_metric, solve_nlr, warm_multiplier
from skrep.utils._array_api import (
    get_namespace,
    is_numpy_namespace,
    to_namespace,
    to_numpy,
)

__all__ = [
    "dual_gap",
    "escape_directions",
    "not_certified_advice",
    "solve_certified",
]


# Projected-gradient iterations of the escape search, and the number of
# sparse random starts per block.
_ESCAPE_ITER = 60
_RANDOM_STARTS = 4
# Re-solves of a point whose escape restart failed, each at a tolerance
# _POLISH_FACTOR times the last (see solve_certified).
_MAX_POLISH = 2
_POLISH_FACTOR = 0.1
_POLISH_BUDGET = 2
# No re-solve below this many units of the working precision (float32:
# none at the default tolerances).
_POLISH_FLOOR = 1e3
# Rank probes: at most _MAX_PROBES; a block is full when its smallest column
# holds more than _SPARE of its trace; the probe column's length.
_MAX_PROBES = 3
_SPARE = 1e-3
_PROBE_LENGTH = 0.1
_PROBE_COLUMNS = 2
# The augmented-Lagrangian refinement of the dual bound (_refine_bound):
# rounds, L-BFGS iterations per round, extra columns, relative penalty.
_REFINE_ROUNDS = 30
_REFINE_INNER = 500
_REFINE_COLUMNS = 4
_REFINE_PENALTY = 100.0
# Restarts from the refinement's factors when the bound is not closed.
_MAX_REPAIRS = 2


def _blocks(U, rank):
    return [slice(b * rank, (b + 1) * rank) for b in range(U.shape[1] // rank)]


def _multiplier(xp, U, y, beta):
    """The effective row-sum multiplier ``w = y + beta h`` of the augmented
    Lagrangian at ``U``."""
    h = U @ xp.sum(U, axis=0) - 1.0
    return y + beta * h


def _column_sums(xp, A):
    """Column sums of a 2-D array (on numpy a matrix-vector product: far
    faster than ``A.sum(axis=0)`` on a tall C-ordered array)."""
    if is_numpy_namespace(xp):
        return np.ones(A.shape[0], dtype=A.dtype) @ A
    return xp.sum(A, axis=0)


def _column_dots(xp, A, B):
    """``sum_i A_ij B_ij`` for each column ``j``."""
    if is_numpy_namespace(xp):
        return np.einsum("ij,ij->j", A, B)
    return xp.sum(A * B, axis=0)


class _Slack:
    """Products with ``M_b = C_b + sym(w 1^T) + z_b I`` (namespace ``xp``)."""

    def __init__(self, xp, X, omegas, c, w, U, rank, traces):
        # on host numpy itself (an array-API namespace since 2.0): the escape
        # search's many small products without the compatibility wrappers
        self.xp = np if is_numpy_namespace(xp) else xp
        self.X, self.omegas = X, omegas
        self.blocks = _blocks(U, rank)
        n_blocks = len(self.blocks)
        # the linear cost of each block plus the row-sum multiplier, (n, B)
        self.costs = w[:, None] if c is None else c + w[:, None]
        self.set_z([0.0] * n_blocks)
        UMU = _column_dots(xp, U, self.products(U, rank))
        UMU = to_numpy(xp.sum(xp.reshape(UMU, (n_blocks, rank)), axis=1), xp)
        self.set_z([-float(v) / t for v, t in zip(UMU, traces, strict=True)])

    def set_z(self, z):
        """The trace multipliers ``z_b`` (host floats), and as an array."""
        self.z = z
        X = self.X
        z = np.asarray(z, dtype=np.float64)
        self._z = to_namespace(z, self.xp, X.device, X.dtype)
        self._singles = {}

    def products(self, V, m):
        """``M_b V_b`` for every block at once: ``V`` of shape (n, B * m)
        holds block ``b``'s ``m`` columns at ``b * m`` to ``(b + 1) * m``."""
        xp, n = self.xp, V.shape[0]
        n_blocks = V.shape[1] // m
        G = self.X.T @ V
        if self.omegas is not None:
            G = block_metric(xp, self.omegas, G, m)
        V3 = xp.reshape(V, (n, n_blocks, m))
        costs = self.costs[:, :, None]
        if xp is np:
            cV = np.einsum("ib,ibj->bj", self.costs, V3)
        else:
            cV = xp.sum(costs * V3, axis=0)
        colsum = xp.reshape(_column_sums(xp, V), (n_blocks, m))
        out = xp.reshape(-(self.X @ G), (n, n_blocks, m))
        out = out + 0.5 * (costs * colsum[None, :, :] + cV[None, :, :])
        out = out + self._z[None, :, None] * V3
        return xp.reshape(out, V.shape)

    def product(self, b, V, z=None):
        """``M_b V`` for ``V`` of shape (n, m); ``z`` replaces ``z_b``."""
        key = (b, z)
        single = self._singles.get(key)
        if single is None:  # block b's slack, made once per (b, z)
            single = _Slack.__new__(_Slack)
            single.xp, single.X = self.xp, self.X
            omegas = self.omegas
            single.omegas = None if omegas is None else omegas[b : b + 1, ...]
            single.costs = self.costs[:, b : b + 1]
            single.set_z([self.z[b] if z is None else z])
            self._singles[key] = single
        return single.products(V, V.shape[1])

    def diagonal(self):
        """The diagonal of every ``M_b``, (n, B)."""
        xp, X = self.xp, self.X
        if self.omegas is None:
            quad = xp.sum(X * X, axis=1)[:, None]
        else:
            quad = xp.stack(
                [
                    xp.sum((X @ self.omegas[b, ...]) * X, axis=1)
                    for b in range(len(self.blocks))
                ],
                axis=1,
            )
        return -quad + self.costs + self._z[None, :]


def escape_directions(
    xp, X, omegas, c, U, y, beta, rank, traces, labels, rng, n_random=_RANDOM_STARTS
):
    """Most negative ``t_b v^T M_b v`` over non-negative unit ``v``, per block.

    Parameters
    ----------
    xp : array namespace
        The namespace of the arrays.
    X, omegas, c : arrays
        The problem (as :func:`skrep.cluster._nlr.solve_nlr` takes it).
    U, y : arrays
        The solver's factor and multiplier.
    beta : float
        The penalty parameter (the effective multiplier is ``y + beta h``).
    rank : int
        Columns per block.
    traces : sequence of float
        ``t_b``.
    labels : array of shape (n,)
        The current rounding (int, in ``xp``): its clusters are starts.
    rng : numpy.random.RandomState
        Draws the sparse random starts (on host).
    n_random : int
        Number of sparse random starts.

    Returns
    -------
    values : list of float
        ``t_b min v^T M_b v`` found for each block (0 when none is negative).
    vectors : list of array or None
        The minimising ``v`` of each block (None when none is negative).
    """
    n = X.shape[0]
    on_host = is_numpy_namespace(xp)
    w = _multiplier(xp, U, y, beta)
    slack = _Slack(xp, X, omegas, c, w, U, rank, traces)
    n_blocks = len(slack.blocks)
    device = X.device
    n_groups = int(to_numpy(xp.max(labels), xp)) + 1
    groups = xp.astype(
        labels[:, None] == xp.arange(n_groups, device=device)[None, :], X.dtype
    )
    random = rng.uniform(size=(n, n_random)) ** 8
    random = xp.asarray(random, dtype=X.dtype, device=device)
    diagonal = slack.diagonal()
    values, vectors = [], []
    for b in range(n_blocks):
        # the starts: the clusters, the block's 4 most negative diagonal
        # entries, the sparse random points
        order = xp.argsort(diagonal[:, b])[: min(4, n)]
        singles = xp.astype(
            xp.arange(n, device=device)[:, None] == order[None, :], X.dtype
        )
        V = xp.concat([groups, singles, random], axis=1)
        V = V / xp.sqrt(_column_dots(xp, V, V))[None, :]
        # a bound on the spectral radius of M_b (a few power steps)
        P = random[:, :1]
        for _ in range(21):
            P = slack.product(b, P / xp.sqrt(xp.sum(P * P)))
        radius = 1.5 * float(to_numpy(xp.sqrt(xp.sum(P * P)), xp)) + 1e-300
        for _ in range(_ESCAPE_ITER):
            V = V - slack.product(b, V) / radius
            V = np.maximum(V, 0.0) if on_host else xp.clip(V, min=0.0)
            norms = xp.sqrt(_column_dots(xp, V, V))
            V = V / xp.where(norms > 0, norms, 1.0)[None, :]
        q = _column_dots(xp, V, slack.product(b, V))
        q = xp.where(_column_dots(xp, V, V) > 0.5, q, 0.0)
        j = int(to_numpy(xp.argmin(q), xp))
        value = traces[b] * float(to_numpy(q[j], xp))
        values.append(min(value, 0.0))
        vectors.append(V[:, j] if value < 0 else None)
    return values, vectors


def _fit_multiplier(X, omegas, c, U, rank, Ns=None):
    """Row-sum multiplier from the first-order conditions at ``U`` (dense).

    At a solution ``(C_b + sym(w 1^T) - N_b + zeta_b I) U_b = 0`` for every
    block: equations linear in ``w`` and the trace multipliers ``zeta_b``,
    solved by least squares. Without the entrywise multipliers ``Ns`` only
    the rows where a column of ``U_b`` is clearly above zero are used (there
    ``N_b`` vanishes at the optimum); with them, every row.
    """
    n = X.shape[0]
    n_blocks = U.shape[1] // rank
    slack = _Slack(np, X, omegas, c, np.zeros(n), U, rank, [1.0] * n_blocks)
    ones = np.ones(n)
    matrices, rhs = [], []
    for b, sl in enumerate(slack.blocks):
        Ub = U[:, sl]
        R = -slack.product(b, Ub, 0.0)  # -C_b U_b
        if Ns is not None:
            R = R + Ns[b] @ Ub
        for j, u in enumerate(Ub.T):
            rows = (
                np.arange(n) if Ns is not None else np.flatnonzero(u > 1e-3 * u.max())
            )
            A = np.zeros((len(rows), n + n_blocks))
            A[:, :n] = 0.5 * np.outer(ones[rows], u)
            A[np.arange(len(rows)), rows] += 0.5 * u.sum()
            A[:, n + b] = u[rows]
            matrices.append(A)
            rhs.append(R[rows, j])
    A = np.concatenate(matrices)
    if A.shape[0] < A.shape[1]:
        return None
    return np.linalg.lstsq(A, np.concatenate(rhs), rcond=None)[0][:n]


def _entrywise_multiplier(M, N, n_iter, target):
    """FISTA on ``N >= 0`` for the distance of ``M - N`` to the semidefinite
    cone, from ``N``; returns ``N`` and the best ``lambda_min(M - N)`` met
    (stopping once it is above ``target``)."""
    previous, t = N, 1.0
    lam = float(np.linalg.eigvalsh(M - N)[0])
    for it in range(n_iter):
        if lam >= target:
            break
        t_next = 0.5 * (1.0 + math.sqrt(1.0 + 4.0 * t * t))
        Y = N + ((t - 1.0) / t_next) * (N - previous)
        previous = N
        values, vectors = np.linalg.eigh(M - Y)
        N = np.maximum(Y + (vectors * np.minimum(values, 0.0)) @ vectors.T, 0.0)
        t = t_next
        if it % 10 == 9 or it == n_iter - 1:
            lam = max(lam, float(np.linalg.eigvalsh(M - N)[0]))
    return N, lam


def _refine_bound(Cs, U, rank, traces, w, Ns, n_rounds, target):
    """A tighter dual point by an augmented Lagrangian on the SDP itself.

    The alternation of :func:`dual_gap` can stall far from the optimum's
    multipliers (a 60-row random mixture: its bound stays at 1.8e-2 with
    twenty times the iterations, the solve being 3.7e-5 from cvxpy at SCS
    eps 1e-8). Here the SDP is solved with sign-free factors ``V_b``
    (``B_b = V_b V_b^T``, started at ``U_b`` and ``_REFINE_COLUMNS`` small
    random columns) and the entrywise constraint ``B_b >= 0`` dualised
    with the trace and row-sum constraints (penalty ``_REFINE_PENALTY``
    times the largest cost entry); each round minimises the augmented
    Lagrangian by L-BFGS and updates the multipliers, starting from the
    alternation's ``w`` and ``N_b``. Every round's ``(w, N_b)`` gives the
    bound ``sum_b t_b lambda_min(C_b + sym(w 1^T) - N_b) - 1^T w``; the
    best one met is returned (stopping once it is above ``target``), with
    the last ``V``: an approximate solution of the SDP without the
    ``U >= 0`` restriction, which :func:`solve_certified` restarts from.
    """
    n, n_blocks = U.shape[0], len(Cs)
    t = np.asarray(traces, dtype=np.float64)
    m = rank + _REFINE_COLUMNS
    rng = np.random.RandomState(0)
    V = np.concatenate(
        [
            np.concatenate(
                [
                    U[:, b * rank : (b + 1) * rank],
                    1e-3 * rng.standard_normal((n, _REFINE_COLUMNS)) / math.sqrt(n),
                ],
                axis=1,
            )
            for b in range(n_blocks)
        ],
        axis=1,
    )
    rho = _REFINE_PENALTY * max(float(np.abs(C).max()) for C in Cs)
    Ns = [N.copy() for N in Ns]
    zeta = np.zeros(n_blocks)

    def grams(V):
        return [
            V[:, b * m : (b + 1) * m] @ V[:, b * m : (b + 1) * m].T
            for b in range(n_blocks)
        ]

    def lagrangian(v):
        V = v.reshape(n, n_blocks * m)
        Bs = grams(V)
        h = sum(B.sum(axis=1) for B in Bs) - 1.0
        shifted = w + rho * h
        value = w @ h + 0.5 * rho * (h @ h)
        grad = np.empty_like(V)
        for b, B in enumerate(Bs):
            g = np.trace(B) - t[b]
            P = np.maximum(Ns[b] - rho * B, 0.0)
            value += np.sum(Cs[b] * B) + zeta[b] * g + 0.5 * rho * g * g
            value += 0.5 / rho * np.sum(P * P)
            G = Cs[b] + 0.5 * (shifted[:, None] + shifted[None, :]) - P
            G[np.diag_indices(n)] += zeta[b] + rho * g
            grad[:, b * m : (b + 1) * m] = 2.0 * G @ V[:, b * m : (b + 1) * m]
        return value, grad.ravel()

    best = -math.inf
    for _ in range(n_rounds):
        V = minimize(
            lagrangian,
            V.ravel(),
            jac=True,
            method="L-BFGS-B",
            options={"maxiter": _REFINE_INNER, "gtol": 1e-12, "ftol": 1e-15},
        ).x.reshape(n, n_blocks * m)
        Bs = grams(V)
        w = w + rho * (sum(B.sum(axis=1) for B in Bs) - 1.0)
        for b, B in enumerate(Bs):
            zeta[b] += rho * (np.trace(B) - t[b])
            Ns[b] = np.maximum(Ns[b] - rho * B, 0.0)
        bound = -float(np.sum(w))
        for b in range(n_blocks):
            W = Cs[b] + 0.5 * (w[:, None] + w[None, :]) - Ns[b]
            bound += t[b] * float(np.linalg.eigvalsh(W)[0])
        best = max(best, bound)
        if best >= target:
            break
    return best, V


def dual_gap(
    X,
    omegas,
    c,
    U,
    y,
    beta,
    rank,
    traces,
    objective,
    tol,
    offset=0.0,
    max_iter=100,
    max_rounds=15,
    refine_rounds=0,
    target_gap=None,
    return_point=False,
):
    """Relative duality gap certified by a dense dual point (numpy, small n).

    The dual point alternates between its two kinds of multipliers: the
    entrywise ones ``N_b`` by FISTA at a fixed row-sum multiplier ``w``, and
    ``w`` (with the trace multipliers) refitted by least squares from the
    first-order conditions at the current ``N_b``. The first ``w`` is the
    augmented Lagrangian's, refitted on the support of ``U``. A fixed ``w``
    leaves the bound loose by the error of the solver's multiplier
    (standardised iris, Peng--Wei SDP: 1.3e-3 with ``w`` fixed, 6e-4 after
    one refit, the objective being 2e-5 from cvxpy's; standardised wine,
    iLA-SDP's last LA-SDP: 5e-4 after 14 refits).

    Parameters
    ----------
    X, omegas, c, U, y, beta, rank, traces
        As in :func:`escape_directions` (numpy arrays).
    objective : float
        The solver's objective ``f`` (the minimisation form).
    tol : float
        The relative gap that the entrywise multipliers are fitted for.
    offset : float, default=0.0
        A constant that the caller removed from the objective (a row shift of
        ``c``): the gap is relative to ``|objective + offset|``.
    max_iter : int, default=100
        FISTA iterations per block and round (each an ``n x n``
        eigendecomposition).
    max_rounds : int, default=15
        Rounds of the alternation.
    refine_rounds : int, default=0
        Rounds of the augmented-Lagrangian refinement (:func:`_refine_bound`)
        run from the alternation's dual point when its gap is above
        ``target_gap`` (each up to 500 L-BFGS steps of ``O(n^2 r)`` and one
        ``n x n`` eigendecomposition per block).
    target_gap : float or None, default=None
        The gap at which the alternation stops and that the refinement aims
        at (None: ``tol``); ``tol`` stays the target of each round's FISTA
        (a looser one leaves the refinement a worse start: standardised
        iris, ``random_state=0``, certified at 8.2e-4 with FISTA at 1e-6,
        not at 1.1e-3 with FISTA at 1e-3).
    return_point : bool, default=False
        Also return the refinement's sign-free factors (None when it did
        not run).

    Returns
    -------
    gap : float
        ``(f - D) / |f + offset|``, with ``D`` the best valid lower bound on
        the SDP minimum met (up to the solver's row-sum violation in ``f``).
    V : ndarray of shape (n, n_blocks * (rank + 4)) or None
        Only with ``return_point``.
    """
    n = X.shape[0]
    n_blocks = U.shape[1] // rank
    scale = max(abs(objective + offset), 1e-300)
    w = _fit_multiplier(X, omegas, c, U, rank)
    if w is None:  # too few equations on the support
        w = _multiplier(np, U, y, beta)
    Ns = [np.zeros((n, n)) for _ in range(n_blocks)]
    eye = np.eye(n)
    best = math.inf
    target_gap = tol if target_gap is None else target_gap
    for _ in range(max_rounds):
        slack = _Slack(np, X, omegas, c, w, U, rank, traces)
        w_found = w  # the multiplier that the entrywise ones are found at
        bound = -float(np.sum(w))
        for b in range(n_blocks):
            M = slack.product(b, eye)
            M = 0.5 * (M + M.T)
            target = -tol * scale / (n_blocks * traces[b])
            Ns[b], lam = _entrywise_multiplier(M, Ns[b], max_iter, target)
            bound += traces[b] * (lam - slack.z[b])
        best = min(best, (objective - bound) / scale)
        if best <= target_gap:
            return (best, None) if return_point else best
        refit = _fit_multiplier(X, omegas, c, U, rank, Ns)
        if refit is None:  # too few equations: no better multiplier to try
            break
        w = refit
    V = None
    if refine_rounds > 0 and best > target_gap:
        costs = _Slack(np, X, omegas, c, np.zeros(n), U, rank, traces)
        Cs = [costs.product(b, eye, 0.0) for b in range(n_blocks)]
        Cs = [0.5 * (C + C.T) for C in Cs]
        bound, V = _refine_bound(
            Cs,
            U,
            rank,
            traces,
            w_found,
            Ns,
            refine_rounds,
            objective - target_gap * scale,
        )
        best = min(best, (objective - bound) / scale)
    return (best, V) if return_point else best


def solve_certified(
    X,
    *,
    traces,
    rank,
    U0,
    labels,
    rng,
    omegas=None,
    c=None,
    y0=None,
    alpha0=None,
    beta=1.0,
    adapt_beta=False,
    tol=1e-4,
    max_iter=10000,
    max_escapes=10,
    escape=True,
    polish=True,
    max_rank=None,
    certify=False,
    offset=0.0,
    callback=None,
    xp=None,
):
    """:func:`solve_nlr`, then escapes from spurious stationary points.

    After each solve, :func:`escape_directions` looks for a non-negative
    direction of negative curvature in each block; where one is found it is
    added (length ``0.3 sqrt(t_b)``) to the block's weakest column and the
    solver restarts from there (warm: multiplier and step kept). A restart is
    kept only when it lowers the objective; at most ``max_escapes`` of them;
    none (and no search) when ``escape`` is false.
    A restart that fails may be the multiplier's artefact: with ``polish``
    the point is then re-solved at tolerances ``tol / 10`` and ``tol / 100``
    (budget ``2 * max_iter`` each; none below 1000 units of the working
    precision) and searched again.
    With ``max_rank`` columns per block (None: no limit) the direction
    replaces the weakest column instead.
    With ``polish``, where no direction is left and a block's columns are
    all in use, a spare column is probed (at most 3 probes, each kept only
    when it lowers the objective); a probe counts as an escape against
    ``max_escapes``.
    ``labels``: the rounding of ``U0`` (clusters are escape starts).

    Returns the last kept :class:`~skrep.cluster._nlr.NLRResult`, with
    ``n_iter`` summed over the solves and more attributes:
    ``escape_value`` (the most negative ``t_b v^T M_b v`` found at the end,
    relative to ``|objective + offset|``, ``offset`` being a constant the
    caller removed from the objective: 0 when none), ``n_escapes``, ``rank`` (the
    final columns per block) and ``duality_gap`` (the relative gap of
    :func:`dual_gap` when ``certify`` and the solver converged, else NaN).
    With ``certify``, a bound above the threshold is refined
    (:func:`dual_gap` with ``refine_rounds``); while it stays above, the
    solver restarts from the absolute values of the refinement's factors
    (at most 2 restarts, each kept only when it converges lower, then
    searched and bounded again).
    ``converged`` is true only when the solver converged and, with
    ``threshold = max(tol, 1e-3)``, the search finds no escape direction
    below ``-threshold`` at the returned point, and the gap (when computed)
    is at most ``threshold``.

    A restart that does not lower the objective rules nothing out: the
    search is repeated where it ended, and that point is kept only when the
    solver converged there, its objective is within ``tol`` of the last one
    and no direction is found; otherwise the escape value stays the
    negative one found and the solve is not certified.
    """
    kwargs = {
        "traces": traces,
        "rank": rank,
        "omegas": omegas,
        "c": c,
        "beta": beta,
        "adapt_beta": adapt_beta,
        "tol": tol,
        "max_iter": max_iter,
        "callback": callback,
        "xp": xp,
    }
    res = solve_nlr(X, U0=U0, y0=y0, alpha0=alpha0, **kwargs)
    if xp is None:
        xp, _ = get_namespace(X)
    threshold = max(tol, 1e-3)
    state = {"res": res, "rank": rank, "n_iter": res.n_iter, "n_escapes": 0}
    state["polish"] = 0
    eps = float(xp.finfo(X.dtype).eps)

    def search(res, rank, n_random):
        """Escape directions at ``res`` and its relative escape value."""
        values, vectors = escape_directions(
            xp,
            X,
            omegas,
            c,
            res.U,
            res.y,
            res.beta,
            rank,
            traces,
            labels,
            rng,
            n_random,
        )
        scale = max(abs(res.objective + offset), 1e-300)
        return values, vectors, min(values) / scale, scale

    def escape_loop(n_random):
        """Escapes until none is found or the budget is spent; returns the
        escape value at the point kept."""
        escape = 0.0
        for _ in range(max_escapes + 1 + _MAX_POLISH):
            res, rank = state["res"], state["rank"]
            values, vectors, escape, scale = search(res, rank, n_random)
            if escape >= -threshold or state["n_escapes"] >= max_escapes:
                return escape
            trial, improved = _escape(
                X,
                res,
                rank,
                vectors,
                values,
                scale,
                threshold,
                max_rank,
                traces,
                tol,
                kwargs,
                xp,
                state,
            )
            finer = tol * _POLISH_FACTOR ** (state["polish"] + 1)
            if (
                not improved
                and polish
                and state["polish"] < _MAX_POLISH
                and finer >= _POLISH_FLOOR * eps
            ):
                # a restart that does not follow the direction: it may be an
                # artefact of the multiplier, known only to about the solve's
                # tolerance (standardised iris, 150 rows: t v^T M v = -3.0
                # at tol 1e-4 lowers the Lagrangian at its multiplier but
                # raises the objective; re-solved at 1e-5 the search finds
                # nothing). The point is re-solved tighter and searched again.
                state["polish"] += 1
                polished = solve_nlr(
                    X,
                    U0=res.U,
                    y0=warm_multiplier(res, beta),
                    alpha0=res.alpha,
                    **{
                        **kwargs,
                        "rank": rank,
                        "tol": finer,
                        "max_iter": _POLISH_BUDGET * kwargs["max_iter"],
                        "adapt_beta": False,
                    },
                )
                state["n_iter"] += polished.n_iter
                if polished.converged:
                    polished.rank = rank
                    state["res"] = polished
                    continue
            if not improved:
                # a restart that fails to follow the direction does not rule
                # it out: the point where the restart ended is checked
                if trial.converged and trial.objective <= res.objective + tol * scale:
                    trial_escape = search(trial, trial.rank, n_random)[2]
                    if trial_escape >= -threshold:
                        state["res"], state["rank"] = trial, trial.rank
                        return trial_escape
                return escape
            if not trial.converged:  # kept, but stopped by the trial budget
                rank = trial.rank
                trial = solve_nlr(
                    X,
                    U0=trial.U,
                    y0=warm_multiplier(trial, beta),
                    alpha0=trial.alpha,
                    **{**kwargs, "rank": rank},
                )
                trial.rank = rank
                state["n_iter"] += trial.n_iter
            state["res"] = trial
            state["rank"] = trial.rank
            state["n_escapes"] += 1
        return escape

    # (no escapes from a point the solver has not converged to)
    escape = escape_loop(_RANDOM_STARTS) if escape and res.converged else 0.0
    converged = state["res"].converged
    probes = _MAX_PROBES if polish and escape >= -threshold and converged else 0
    for _ in range(probes):
        # every column of a block in use: the rank may be what stops the
        # solve (the search misses such directions: a random mixture, 60
        # rows, rank 2 with no spare column, converged 1.5e-2 below cvxpy;
        # two random columns reach it). A spare column is probed.
        if state["n_escapes"] >= max_escapes:  # a probe counts as an escape
            break
        trial = _probe_rank(X, state, traces, tol, offset, max_rank, rng, kwargs, xp)
        if trial is None:
            break
        state["res"], state["rank"] = trial, trial.rank
        state["n_escapes"] += 1
        escape = escape_loop(_RANDOM_STARTS)
        if escape < -threshold:
            break
    gap = math.nan
    # (no bound for a point the solver has not converged to: its objective
    # is not that of a feasible point)
    if certify and state["res"].converged:
        gap, point = _gap(X, omegas, c, state, traces, tol, offset, xp)
        for _ in range(_MAX_REPAIRS):
            if gap <= threshold or point is None:
                break
            # not certified: the refinement's sign-free factors solve the
            # SDP without the U >= 0 restriction, and the solver restarts
            # from their absolute values (36-row random mixtures: local
            # optima of the factorised problem, converged 8.9e-3 and
            # 1.2e-2 below cvxpy with no escape direction found, reach it
            # from there); then the point is searched and bounded again
            trial = _restart(X, state, point, traces, tol, offset, max_rank, kwargs, xp)
            if trial is None:
                break
            state["res"], state["rank"] = trial, trial.rank
            escape = escape_loop(_RANDOM_STARTS)
            if not state["res"].converged:
                # the escapes ended on a budget re-solve: no bound there
                gap = math.nan
                break
            gap, point = _gap(X, omegas, c, state, traces, tol, offset, xp)
    res, rank, n_iter, n_escapes = (
        state["res"],
        state["rank"],
        state["n_iter"],
        state["n_escapes"],
    )
    res.n_iter = n_iter
    res.rank = rank
    res.escape_value = escape
    res.n_escapes = n_escapes
    res.duality_gap = gap
    # what stands between the solve and the certificate, in this order
    if not res.converged:
        res.cause = "max_iter"
    elif escape < -threshold:
        res.cause = "escapes"
    elif not (math.isnan(gap) or gap <= threshold):
        res.cause = "gap"
    else:
        res.cause = None
    res.converged = res.cause is None
    return res


def _escape(
    X,
    res,
    rank,
    vectors,
    values,
    scale,
    threshold,
    max_rank,
    traces,
    tol,
    kwargs,
    xp,
    state,
):
    """Restart the solver along the escape directions; returns the last
    restart (with its ``rank``) and whether it lowered the objective."""
    # one more column per block: the escape direction where there is one,
    # zero elsewhere (at max_rank it takes the place of the block's weakest
    # column); a long step first, then a short one
    grow = max_rank is None or rank < max_rank
    new_rank = rank + 1 if grow else rank
    # a trial that has not improved in a fifth of the budget is abandoned
    budget = min(kwargs["max_iter"], max(500, kwargs["max_iter"] // 5))
    kwargs = {**kwargs, "rank": new_rank, "max_iter": budget}
    for length in (0.3, 0.03):
        columns = []
        for b, v in enumerate(vectors):
            block = res.U[:, b * rank : (b + 1) * rank]
            escapes = v is not None and values[b] / scale < -threshold
            if not grow and not escapes:
                columns.append(block)  # at max_rank, nothing to make room for
                continue
            if not grow:  # the direction replaces the weakest column
                norms = to_numpy(xp.sum(block * block, axis=0), xp)
                keep = np.sort(np.argsort(norms)[1:])
                block = xp.take(block, xp.asarray(keep, device=X.device), axis=1)
            columns.append(block)
            if not escapes:
                v = xp.zeros_like(res.U[:, 0])
            columns.append(length * math.sqrt(traces[b]) * v[:, None])
        trial, lower = _resolve(
            X, state, xp.concat(columns, axis=1), new_rank, tol, scale, kwargs
        )
        if lower:
            return trial, True
    return trial, False


def _resolve(X, state, U0, rank, tol, scale, kwargs):
    """Warm re-solve of the kept point ``state["res"]`` (its multiplier and
    step) from ``U0`` with ``rank`` columns per block; counts its
    iterations. Returns the re-solve (with its ``rank``) and whether it
    lowers the kept objective by more than ``tol / 100`` relative to
    ``scale``."""
    res = state["res"]
    trial = solve_nlr(
        X,
        U0=U0,
        y0=warm_multiplier(res, kwargs["beta"]),
        alpha0=res.alpha,
        **{**kwargs, "rank": rank},
    )
    trial.rank = rank
    state["n_iter"] += trial.n_iter
    return trial, trial.objective < res.objective - 1e-2 * tol * scale


def _probe_rank(X, state, traces, tol, offset, max_rank, rng, kwargs, xp):
    """Add small random non-negative columns to each block whose columns
    are all in use (the smallest holds more than ``_SPARE`` of its trace)
    and re-solve; returns the re-solve when it lowers the objective by more
    than ``tol / 100`` relative to ``|objective + offset|`` (the scale of the
    escape search), else None (also when no block is full or the rank is at
    ``max_rank``)."""
    res, rank = state["res"], state["rank"]
    grow = _PROBE_COLUMNS if max_rank is None else min(_PROBE_COLUMNS, max_rank - rank)
    if grow <= 0:
        return None
    n, n_blocks = X.shape[0], len(traces)
    norms = to_numpy(xp.sum(res.U * res.U, axis=0), xp).reshape(n_blocks, rank)
    full = norms.min(axis=1) > _SPARE * np.asarray(traces, dtype=np.float64)
    if not full.any():
        return None
    columns = []
    for b in range(n_blocks):
        columns.append(res.U[:, b * rank : (b + 1) * rank])
        column = np.abs(rng.standard_normal((n, grow)))
        if not full[b]:
            column[:] = 0.0
        column *= _PROBE_LENGTH * math.sqrt(traces[b] / n)
        columns.append(to_namespace(column, xp, X.device, X.dtype))
    scale = max(abs(res.objective + offset), 1e-300)
    U0 = xp.concat(columns, axis=1)
    trial, lower = _resolve(X, state, U0, rank + grow, tol, scale, kwargs)
    return trial if trial.converged and lower else None


def _restart(X, state, point, traces, tol, offset, max_rank, kwargs, xp):
    """Re-solve from the absolute values of the refinement's factors
    ``point`` (per block its ``max_rank`` longest columns at most); returns
    the re-solve when it converges lower than the kept point by more than
    ``tol / 100`` relative to ``|objective + offset|``, else None."""
    res = state["res"]
    n_blocks = len(traces)
    m = point.shape[1] // n_blocks
    keep = m if max_rank is None else min(m, max_rank)
    columns = []
    for b in range(n_blocks):
        block = np.abs(point[:, b * m : (b + 1) * m])
        longest = np.sort(np.argsort(np.sum(block * block, axis=0))[m - keep :])
        columns.append(block[:, longest])
    U0 = to_namespace(np.concatenate(columns, axis=1), xp, X.device, X.dtype)
    scale = max(abs(res.objective + offset), 1e-300)
    trial, lower = _resolve(X, state, U0, keep, tol, scale, kwargs)
    return trial if trial.converged and lower else None


def _gap(X, omegas, c, state, traces, tol, offset, xp):
    """:func:`dual_gap` at the kept point, refined; returns the gap and the
    sign-free factors of the refinement (None when not run).

    The alternation stops, and the refinement aims, at the certificate's
    threshold ``max(tol, 1e-3)``: rounds past it certify nothing more."""
    res = state["res"]
    return dual_gap(
        to_numpy(X, xp),
        None if omegas is None else to_numpy(omegas, xp),
        None if c is None else to_numpy(c, xp),
        to_numpy(res.U, xp),
        to_numpy(res.y, xp),
        res.beta,
        state["rank"],
        traces,
        res.objective,
        tol,
        offset,
        refine_rounds=_REFINE_ROUNDS,
        target_gap=max(tol, 1e-3),
        return_point=True,
    )


def not_certified_advice(cause, max_iter_name, exact_check=True):
    """What a ConvergenceWarning advises for a :func:`solve_certified` cause,
    or ILASDPClustering's ``"certify_budget"`` (no certified solve left for
    the final fixed partition) and ``"not_fixed"`` (no fixed partition to
    certify) (``exact_check``: the estimator has ``solver='exact-if-small'``
    to compare with)."""
    if cause == "max_iter":
        return f"the solver ran out of iterations; increase {max_iter_name} or tol"
    if cause == "certify_budget":
        return (
            "the certified solves moved the partition twice; the final "
            "partition's LA-SDP was not certified"
        )
    if cause == "not_fixed":
        return (
            "the rounds stopped without a fixed partition, and only a fixed "
            "partition's LA-SDP is certified"
        )
    if cause == "escapes":
        return (
            "directions of negative curvature remain after the allowed "
            "escapes (more iterations do not remove them); a larger rank may, "
            "and certify=True measures how far the objective can be from the "
            "optimum (the partition is often right all the same)"
        )
    advice = (
        "the solve is stationary and no escape direction is left, but the "
        "dual bound is above the tolerance: either the bound is loose (its "
        "entrywise multipliers are found approximately) or the objective "
        "is off by up to the gap; more iterations do not change the bound"
    )
    if exact_check:
        advice += (
            ". Compare the objective with solver='exact-if-small' (cvxpy) "
            "where in doubt"
        )
    return advice
