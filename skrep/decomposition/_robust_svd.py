"""Robust SVD by the density power divergence (rSVDdpd, Roy, Basu & Ghosh).

``RobustSVD`` finds rank-one factors ``lambda a b^T`` one at a time, each by
alternating weighted fixed-point updates that minimise the density power
divergence of the residuals, then deflates. Gross entries get weights near
zero, so they do not pull the singular vectors the way they pull the SVD's.
"""

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import validate_data

from skrep.decomposition._base import (
    _SparseRowSubspace,
    check_observed,
    check_representable,
    low_rank_dof,
)
from skrep.utils._compat import Interval, StrOptions, _fit_context
from skrep.utils._threads import threads_for
from skrep.utils._verbose import Progress
from skrep.utils.extmath import flip_signs, unit_scale
from skrep.utils.validation import check_n_components

__all__ = ["RobustSVD"]

_MAD = 1.4826  # consistency factor of the MAD at the normal


def _mad(R):
    """Normalised median absolute value of the observed entries of ``R``."""
    return _MAD * float(np.nanmedian(np.abs(R)))


def _dpd_width(sigma, alpha):
    """``sigma sqrt(2 / alpha)``: the DPD weight of a residual ``r`` is
    ``exp(-(r / width) ** 2)``, finite for any ``sigma > 0`` (a residual too
    large for its square gets its weight, 0), all 1 for ``alpha = 0``."""
    return sigma * np.sqrt(2 / alpha) if alpha > 0 else np.inf


def _dicmr_rank(E, U, s, Vt, alpha):
    """Rank minimising the authors' DICMR criterion (rank.rSVDdpd).

    For each ``k``, ``E_k = X - U_k s_k V_k^T``, ``sigma_k`` its normalised
    MAD, ``C_k = (2 pi)^(-alpha/2) sigma_k^(-alpha)``, the DPD value
    ``C_k ((1 + alpha)^(-1/2) - (1 + 1/alpha) mean(exp(-alpha E_k^2 /
    sigma_k^2)))`` plus the penalty ``C_k ((1 + alpha) / (1 + 2 alpha))^(3/2)
    k (1/m + 1/n)``; the smallest ``k`` with ``sigma_k = 0`` (an exact fit)
    if there is one.

    ``E`` is the residual of all the factors on entry, of the first ``k`` on
    return (updated in place: the factors are added back from the last, then
    those past ``k`` removed again).
    """
    m, n = E.shape
    K = s.shape[0]
    values = np.empty(K)
    exact = []
    for k in range(K, 0, -1):
        sigma = _mad(E)
        if sigma <= 0:
            exact.append(k)
        else:
            C = (2 * np.pi) ** (-alpha / 2) * sigma ** (-alpha)
            fit = np.nanmean(np.exp(-alpha * (E / sigma) ** 2))
            value = C * ((1 + alpha) ** -0.5 - (1 + 1 / alpha) * fit)
            penalty = ((1 + alpha) / (1 + 2 * alpha)) ** 1.5 * k * (1 / m + 1 / n)
            values[k - 1] = value + C * penalty
        E += s[k - 1] * np.outer(U[:, k - 1], Vt[k - 1])
    best = min(exact) if exact else int(np.argmin(values)) + 1
    for k in range(best):
        E -= s[k] * np.outer(U[:, k], Vt[k])
    return best


class RobustSVD(_SparseRowSubspace):
    """Robust singular value decomposition by the density power divergence.

    rSVDdpd (Roy, Basu & Ghosh): the rank-one factors ``lambda_k a_k
    b_k^T`` of ``X`` are found one at a time. For each, with ``E`` the data
    less the earlier factors, alternate

    - ``c_i = sum_j w_ij E_ij b_j / sum_j w_ij b_j^2`` (iterated to its
      fixed point), Gram-Schmidt of ``c`` against the earlier ``a``,
      ``lambda = ||c||``, ``a = c / lambda``;
    - the same for ``b`` with the roles of rows and columns exchanged;

    with weights ``w_ij = exp(-alpha (E_ij - lambda a_i b_j)^2 / (2
    sigma^2))``: the fixed points are the stationary points of the density
    power divergence between the residuals and ``N(0, sigma^2)``. An entry
    several ``sigma`` away from the fit gets a weight near 0: ``alpha``
    (> 0) trades efficiency for robustness, and ``alpha = 0`` (all weights
    1) is the power method, so the SVD. Then ``E`` is deflated by
    ``lambda a b^T``.

    **Scale.** As the R package rsvddpd does, ``sigma`` and the tolerances
    are in units of the interquartile range (IQR) of the entries of ``X``.
    The computation runs on ``X`` divided by a power of two near its
    largest entry (exact), so that entries from 1e-200 to 1e200 neither
    overflow nor underflow; an IQR that is 0 in those units (below about
    1e-308 times the largest entry) is refused. The two
    reference implementations disagree on ``sigma``: rsvddpd fixes
    ``sigma = 1`` after scaling by the IQR (one IQR of the data), decompy
    takes ``1.4826 MAD``. We keep rsvddpd's ``sigma = 1 IQR``. A ``sigma``
    that follows the residual of the current rank-one factor (as tried
    while writing this) downweights the entries of the factors not fitted
    yet, and biases every factor of a clean rank-3 matrix by about 0.1 in
    angle; one IQR does not. The price: entries off the fit by less than
    about one IQR keep a weight near 1 (``exp(-alpha / 2)``), so corruptions
    of the size of the data's own spread are only partly downweighted. Both
    rules make the decomposition equivariant to the scale of ``X``, not to
    the scale of each column: one IQR pooled over all entries is every
    column's scale (on raw wine, an IQR of 12, the first factor is mostly
    proline, up to 1,680, and columns whose spread is well under 12 count
    as fitted whatever their pattern). Put the columns on comparable scales
    first (as video pixels are).

    **Rank.** An integer ``n_components``, or ``"dicmr"``: the authors'
    DICMR criterion over ranks 1 to ``max_rank``.

    NaN entries are unobserved: they get weight 0. New rows are split by an
    l1 regression on ``components_`` (``transform``, ``decompose``), as in
    :class:`RobustPCA`. The data are not centred (an SVD, as
    :class:`sklearn.decomposition.TruncatedSVD`): ``mean_`` is zero.

    **Start.** Each factor runs the alternations from two starts, both from
    a uniform random ``b`` (as rsvddpd): rsvddpd's, ``c_i = 1 IQR`` for
    every row, and the SVD's after one power iteration (``b' = E^T E b``
    normalised, ``c = E b'``); it keeps the converged run of smaller
    divergence (at the fixed ``sigma``, the larger sum of weights). A row
    (column) with no entry within reach of the fit, every entry a gross
    error for it, gets a zero coefficient: the divergence is flat in it.
    Each start alone fails somewhere: from ``c = 1 IQR``, every row whose
    entries all lie several IQR from 0 gets no weight, and its zero
    coefficient stays: clean rank-one data whose rows span a wide scale
    lost its heaviest rows (relative error 0.8), the same plus 20 and
    ``100 + N(0, 1)`` got a zero fit;
    from the power step of a random ``b``, raw wine (proline up to 1,680,
    an IQR of 12) crawled out of proline's basin for over 100 alternations
    for one seed in three. From both, those clean cases are fitted to a
    relative error below 0.03 and raw wine gives the same factors from any
    ``random_state`` (they fit proline: a larger sum of weights than the
    fit that leaves proline out, singular value 10,937 against 1,383). A
    factor that comes out zero although the power step fits more weight
    raises a ``ConvergenceWarning``. Signs follow
    :func:`~skrep.utils.extmath.flip_signs` (largest entry of each
    component positive).

    Cost: O(m n) per fixed-point update (numba, parallel over rows), two
    runs per factor.
    Memory: one float64 copy of ``X``, C-ordered, deflated in place into the
    residual whose weights become ``weights_``, and its transpose (freed
    after ``fit``), besides ``low_rank_``; transient ones for the IQR and
    the scale (a float32 ``X`` is converted to float64 first).

    Read more in the :ref:`User Guide <decomposition>`.

    Parameters
    ----------
    n_components : int or "dicmr", default=1
        Number of rank-one factors, or ``"dicmr"`` to choose it.
    alpha : float in [0, 1], default=0.3
        Robustness parameter of the density power divergence (0: the SVD;
        the R package recommends 0.3).
    max_rank : int, default=10
        Largest rank tried by ``n_components="dicmr"``.
    tol : float, default=1e-4
        Tolerance (in IQR units) on the change of ``lambda``, ``a`` and
        ``b`` between alternations, and of each entry in the fixed points
        (divided by the square root of their length). New rows:
        ``tol / 10`` relative to each row.
    max_iter : int, default=100
        Maximum number of alternations per factor, and of updates of each
        fixed point.
    random_state : int, RandomState instance or None, default=None
        Seeds the uniform starting right vectors (as rsvddpd).
    verbose : int, default=0
        Print one line per alternation (:mod:`skrep.utils._verbose`
        format): the change of the factor (of ``lambda`` in IQR units, and
        of ``a`` and ``b``), the factor, its singular value and the seconds
        since ``fit`` started.
    n_jobs : int, default=None
        Threads of the compiled fixed-point kernel (None: numba's default).

    Attributes
    ----------
    components_ : ndarray of shape (n_components_, n_features)
        Right singular vectors ``b_k`` (orthonormal rows).
    singular_values_ : ndarray of shape (n_components_,)
        The ``lambda_k``, in the units of ``X``.
    weights_ : ndarray of shape (n_samples, n_features)
        DPD weights of the training entries in the final fit,
        ``exp(-alpha R^2 / (2 sigma^2))`` with ``R = X - low_rank_`` and
        ``sigma`` one IQR of ``X``: near 0 on gross entries (0 where ``X``
        is NaN).
    low_rank_ : ndarray of shape (n_samples, n_features)
        ``U diag(singular_values_) components_`` on the training rows.
    mean_ : ndarray of shape (n_features,)
        Zeros (no centring).
    n_components_ : int
        Number of factors.
    n_iter_ : int
        Total number of alternations (at most ``max_iter`` per factor and
        start, both starts and the factors DICMR tries and drops included).
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during ``fit`` (only when ``X`` has string
        column names).

    See Also
    --------
    RobustPCA : Low-rank plus sparse decomposition (principal component
        pursuit).
    sklearn.decomposition.TruncatedSVD : The non-robust SVD.

    References
    ----------
    .. [1] S. Roy, A. Basu and A. Ghosh, "rSVDdpd: A Robust Scalable Video
       Surveillance Background Modelling Algorithm", arXiv:2109.10680, 2021.
    .. [2] S. Roy, rsvddpd: Robust Singular Value Decomposition using Density
       Power Divergence, R package (github.com/subroy13/rsvddpd).

    Examples
    --------
    >>> import numpy as np
    >>> from skrep.decomposition import RobustSVD
    >>> rng = np.random.RandomState(0)
    >>> u, v = rng.randn(100), rng.randn(40)
    >>> X = np.outer(u, v) + 0.01 * rng.randn(100, 40)
    >>> X[rng.rand(100, 40) < 0.05] = 50.0  # gross entries
    >>> svd = RobustSVD(random_state=0).fit(X)
    >>> bool(abs(svd.components_[0] @ v) / np.linalg.norm(v) > 0.999)
    True
    >>> bool((svd.weights_[X == 50.0] < 1e-3).all())
    True
    """

    _sigma = 1.0  # in IQR units, as rsvddpd

    _parameter_constraints: dict = {
        "n_components": [
            Interval(Integral, 1, None, closed="left"),
            StrOptions({"dicmr"}),
        ],
        "alpha": [Interval(Real, 0, 1, closed="both")],
        "max_rank": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "n_jobs": [Interval(Integral, None, None, closed="neither"), None],
    }

    def __init__(
        self,
        n_components=1,
        *,
        alpha=0.3,
        max_rank=10,
        tol=1e-4,
        max_iter=100,
        random_state=None,
        verbose=0,
        n_jobs=None,
    ):
        self.n_components = n_components
        self.alpha = alpha
        self.max_rank = max_rank
        self.tol = tol
        self.max_iter = max_iter
        self.random_state = random_state
        self.verbose = verbose
        self.n_jobs = n_jobs

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the robust rank-one factors of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data (NaN for an unobserved entry).
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        X = validate_data(
            self, X, dtype=[np.float64, np.float32], ensure_all_finite="allow-nan"
        )
        m, n = X.shape
        if self.n_components == "dicmr":
            if self.alpha == 0:
                raise ValueError(
                    "n_components='dicmr' needs alpha > 0 (the DPD criterion "
                    "divides by alpha)."
                )
            rank = min(self.max_rank, m, n)
        else:
            check_n_components(self.n_components, X)
            rank = self.n_components
        dicmr = self.n_components == "dicmr"
        observed = check_observed(X, np, rank=1 if dicmr else rank)
        if dicmr and observed is not None:
            n_observed = int(observed.sum())
            while low_rank_dof(rank, m, n) > n_observed:
                rank -= 1  # the ranks tried stay identifiable
        # rSVDdpd is equivariant to the scale of X: compute in units of its
        # largest entry (E, where nothing overflows or underflows, 1e-200 or
        # 1e200 alike), with sigma = 1 IQR of X in those units, and map back.
        X64 = np.asarray(X, dtype=np.float64)
        unit = unit_scale(X64 if observed is None else np.where(observed, X64, 0.0), np)
        # The one working copy: X in those units, deflated in place.
        E = np.divide(X64, unit, order="C")
        q75, q25 = np.nanpercentile(X64, [75, 25])
        if q75 > q25:
            iqr = float(q75 / unit - q25 / unit)
        else:
            iqr = float(np.nanmax(np.abs(E))) or 1.0
        sigma = self._sigma * iqr
        if sigma == 0:
            raise ValueError(
                f"The interquartile range of X ({q75 - q25:.3g}) is too small "
                f"relative to its largest entry ({unit:.3g} to a factor of 2) to "
                "be represented in float64 (rSVDdpd's scale is one IQR): "
                "rescale the columns of X."
            )
        rng = check_random_state(self.random_state)
        with threads_for(E.size, self.n_jobs, blas_work=2.0 * E.size):
            U, s, Vt, unconverged, zero = self._factors(
                E, rank, rng, sigma, unit, missing=observed is not None
            )
        if dicmr:
            k = _dicmr_rank(E, U, s, Vt, self.alpha)
            U, s, Vt = U[:, :k], s[:k], Vt[:k]
        # Factors past the chosen rank (DICMR's trials) fit noise: no warning.
        bad = [r + 1 for r in unconverged if r < Vt.shape[0]]
        if bad:
            warnings.warn(
                f"RobustSVD: factor(s) {bad} did not converge in "
                f"max_iter={self.max_iter} alternations.",
                ConvergenceWarning,
                stacklevel=2,
            )
        zero = [r + 1 for r in zero if r < Vt.shape[0]]
        if zero:
            warnings.warn(
                f"RobustSVD: factor(s) {zero} are zero, although the power "
                "step from their start had a smaller divergence than no factor: "
                "neither start reached a stationary fit below it.",
                ConvergenceWarning,
                stacklevel=2,
            )
        signs = flip_signs(Vt)
        U, Vt = U * signs, Vt * signs[:, None]
        # The fit's own weights, from the residual E (sigma = 1 IQR), in
        # place: exp(-(R / width) ** 2), 0 where X is NaN.
        with np.errstate(over="ignore"):  # an overflow is a weight of 0
            np.divide(E, _dpd_width(sigma, self.alpha), out=E)
            np.square(E, out=E)
            np.exp(np.negative(E, out=E), out=E)
        weights = np.nan_to_num(E, copy=False, nan=0.0)
        dtype = X.dtype
        with np.errstate(over="ignore"):  # refused by name below
            # Back to the units of X, in its dtype.
            singular_values = (s * unit).astype(dtype)
            low_rank = ((U * (s * unit)) @ Vt).astype(dtype, copy=False)
        check_representable(singular_values, np, "The singular values of X")
        check_representable(low_rank, np, "The low-rank part of X")
        self.components_ = Vt.astype(dtype)
        self.singular_values_ = singular_values
        self.low_rank_ = low_rank
        self.weights_ = weights.astype(dtype, copy=False)
        self.mean_ = np.zeros(n, dtype=dtype)
        self.n_components_ = Vt.shape[0]
        return self

    def _factors(self, E, rank, rng, sigma, unit, missing):
        """Rank-one factors of the scaled data ``E`` (deflated in place).

        ``E`` is ``X / unit``; ``sigma`` is the DPD's scale, and the unit of
        ``tol``, in those units. ``missing``: whether ``E`` holds NaN.
        """
        m, n = E.shape
        Et = np.ascontiguousarray(E.T)
        A, B, lambdas = np.zeros((m, rank)), np.zeros((n, rank)), np.zeros(rank)
        width = _dpd_width(sigma, self.alpha)
        self.n_iter_ = 0
        unconverged = []  # factors that reached max_iter
        zero = []  # zero factors with something left to fit
        progress = Progress("RobustSVD", self.verbose, total=self.max_iter)
        for r in range(rank):
            b = rng.uniform(size=n)
            b /= np.linalg.norm(b)
            # Two starts: rsvddpd's (b, c = 1 IQR), and the SVD's after one
            # power iteration from b (b' = E^T E b / norm, c = E b'). Either
            # can stop at a stationary point the other avoids: from c = 1
            # IQR, rows far from 0 get no weight and a zero coefficient for
            # good. The fit keeps the converged run of smaller divergence
            # (at the fixed sigma, of larger sum of weights).
            starts = [(b, np.full(m, sigma))]
            if self.alpha > 0:  # alpha = 0: the power method from either
                E0 = np.nan_to_num(E) if missing else E
                b_power = E0.T @ (E0 @ b)
                norm = np.linalg.norm(b_power)
                if norm > 0:
                    b_power /= norm
                    starts.append((b_power, E0 @ b_power))
                del E0
            best = None
            for b0, c0 in starts:
                a, b_r, lam, converged = self._alternate(
                    E, Et, A[:, :r], B[:, :r], b0, c0.copy(), sigma, progress, r, unit
                )
                key = (converged, _weight_sum(E, lam * a, b_r, width))
                if best is None or key > best[0]:
                    best = key, a, b_r, lam
            (converged, fit), a, b_r, lam = best
            if not converged:
                unconverged.append(r)
            # A zero factor is right when nothing is left to fit: when no
            # rank-one term has a smaller divergence. The power step's does.
            if lam == 0 and len(starts) > 1:
                if _weight_sum(E, *starts[1][::-1], width) > fit:
                    zero.append(r)
            A[:, r], B[:, r], lambdas[r] = a, b_r, lam
            E -= lam * np.outer(a, b_r)
            Et -= lam * np.outer(b_r, a)
        order = np.argsort(-lambdas, kind="stable")
        rank_of = np.argsort(order)
        unconverged = [int(rank_of[r]) for r in unconverged]
        zero = [int(rank_of[r]) for r in zero]
        return A[:, order], lambdas[order], B[:, order].T, unconverged, zero

    def _alternate(self, E, Et, A, B, b, c, sigma, progress, r, unit):
        """Alternations of one factor from ``b`` and the left start ``c``.

        ``A`` and ``B`` are the earlier factors' vectors. Returns ``a``,
        ``b``, ``lambda`` and whether the change fell below ``tol`` within
        ``max_iter`` alternations (counted in ``n_iter_``).
        """
        from skrep.decomposition._kernels import dpd_fixed_point

        m, n = E.shape
        tol = self.tol * sigma
        width = _dpd_width(sigma, self.alpha)
        a, lam = np.zeros(m), 0.0
        converged = False
        for it in range(1, self.max_iter + 1):
            dpd_fixed_point(E, c, b, width, tol / np.sqrt(m), self.max_iter)
            c -= A @ (A.T @ c)
            new_lam = np.linalg.norm(c)
            if new_lam > 0:
                new_a = c / new_lam
                d = new_lam * b
                dpd_fixed_point(Et, d, new_a, width, tol / np.sqrt(n), self.max_iter)
                d -= B @ (B.T @ d)
                new_lam = np.linalg.norm(d)
            if new_lam == 0:  # nothing left to fit: keep the last factor
                progress(it, change=lam / sigma, factor=r + 1, singular_value=0.0)
                converged = True
                break
            new_b = d / new_lam
            # The change of lambda (in units of sigma), a and b.
            change = max(
                abs(new_lam - lam) / sigma,
                np.linalg.norm(new_a - a),
                np.linalg.norm(new_b - b),
            )
            a, b, lam = new_a, new_b, new_lam
            c = lam * a
            progress(it, change=change, factor=r + 1, singular_value=lam * unit)
            if change < self.tol:
                converged = True
                break
        self.n_iter_ += it
        return a, b, lam, converged


def _weight_sum(E, c, b, width):
    """``sum exp(-((E - c b^T) / width) ** 2)`` over the observed entries.

    At a fixed ``sigma`` the density power divergence of the residuals is
    a decreasing function of this sum. Computed in blocks of rows.
    """
    total = 0.0
    step = max(1, 2**16 // E.shape[1])
    with np.errstate(over="ignore"):  # an overflow is a weight of 0
        for i in range(0, E.shape[0], step):
            R = np.subtract(E[i : i + step], np.outer(c[i : i + step], b))
            np.divide(R, width, out=R)
            np.square(R, out=R)
            total += float(np.nansum(np.exp(np.negative(R, out=R), out=R)))
    return total
