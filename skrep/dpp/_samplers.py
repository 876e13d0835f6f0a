"""Projection DPP, volume, repeated-DPP and Christoffel samplers.

All samplers share one exact chain rule (Hough, Krishnapur, Peres and Virag):
the ``i``-th point of a projection DPP with kernel ``K(x, y) = phi(x)^T
phi(y)`` (``phi`` orthonormal for ``mu``) has density
``||(I - P_{i-1}) phi(x)||^2 / (m - i + 1)`` with respect to ``mu``, where
``P_{i-1}`` projects onto the span of the features already chosen. It is drawn
by rejection: propose ``x`` from ``rho = ||phi(x)||^2 / m dmu`` (the optimal
i.i.d. density, whose Christoffel weights are ``w = m / ||phi||^2``) and accept
with probability ``||(I - P_{i-1}) phi(x)||^2 / ||phi(x)||^2 <= 1``. The
expected number of proposals is ``m / (m - i + 1)`` at step ``i``, ``m H_m``
(about ``m log m``) in all, whatever the pool or the basis.

On a pool of ``N`` candidates with feature matrix ``F`` the measure is the
empirical one: ``F`` is orthonormalised (``Q = F V Lambda^{-1/2}`` from the
eigendecomposition of ``F^T F``, twice when needed), ``||Q_j||^2`` are the
leverage scores, and one sample costs ``O(N m^2)`` for the orthonormalisation
(skipped when ``F^T F = I`` already, as for eigenvectors) plus
``O(m^3 log m)`` for the chain rule, in ``O(N m)`` memory.

In one dimension the continuous projection DPP of degrees ``0..m-1`` is a
beta = 2 ensemble, sampled exactly as the eigenvalues of a random tridiagonal
matrix: Killip and Nenciu (2004, Theorem 2) for the Jacobi weights (Legendre
and Chebyshev), Dumitriu and Edelman (2002) for the Gaussian one.
"""

import math
from numbers import Integral

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array

from skrep.utils._array_api import get_namespace_and_device, to_namespace, to_numpy
from skrep.utils._threads import threads_for
from skrep.utils._verbose import Progress

__all__ = [
    "ChristoffelSampler",
    "ProjectionDPPSampler",
    "RepeatedDPPSampler",
    "VolumeSampler",
]

# Relative residual below which a candidate counts as already in the span:
# guards the chain rule against round-off (a chosen row is never drawn twice).
_RESIDUAL_TOL = 1e-9


_MAX_BATCHES = 10_000  # proposal batches per point of the chain rule


def _orthonormalize(features, *, what="features"):
    """An orthonormal basis ``Q`` (N x r) of the column span of ``features``.

    Returns ``Q`` and its squared row norms (leverage scores, summing to the
    rank ``r``). Array-API ``features`` (validated by the caller) stay on
    their device, in float64: only the ``m x m`` Gram matrices and their
    eigendecompositions go to the host.
    """
    xp, is_array_api, device = get_namespace_and_device(features)
    if is_array_api:
        F = xp.astype(features, xp.float64)

        def host(a):
            return to_numpy(a, xp)

        def dev(a):
            return to_namespace(a, xp, device, dtype=xp.float64)

        def squared_norms(Q):
            return xp.sum(Q * Q, axis=1)

    else:
        F = check_array(features, dtype=np.float64, input_name=what)
        host = dev = np.asarray

        def squared_norms(Q):
            return np.einsum("ij,ij->i", Q, Q)

    n_rows, m = F.shape
    if m > n_rows:
        raise ValueError(
            f"The basis has m={m} functions but the pool has only "
            f"n_samples={n_rows} rows; a projection DPP needs at least m "
            "candidates. Use a larger pool or a smaller basis."
        )
    # Products of N x m by m x m matrices: threads only for a large pool.
    with threads_for(blas_work=2.0 * n_rows * m * m):
        # Already orthonormal (e.g. eigenvectors)? Probe F^T F z = z with
        # random z in O(N m): if F^T F != I, (F^T F - I) z != 0 almost surely.
        probe = dev(np.random.RandomState(0).standard_normal((m, 2)))
        with np.errstate(over="ignore", invalid="ignore"):
            if np.abs(host(F.T @ (F @ probe) - probe)).max() <= 1e-9:
                return F, squared_norms(F)
        # Equilibrate the columns (max-abs first, so no norm overflows): the span
        # is the same, and the rank test below is relative to each column's norm,
        # so a feature at scale 1e-7 next to a constant one is kept.
        Q = F / dev(_column_scale(host(xp.max(xp.abs(F), axis=0))))
        Q = Q / dev(_column_scale(host(xp.sqrt(xp.sum(Q * Q, axis=0)))))
        eye = np.eye(m)
        for _ in range(3):
            gram = host(Q.T @ Q)
            if np.abs(gram - eye).max() <= 1e-10:
                break
            evals, evecs = np.linalg.eigh(gram)
            keep = evals > max(evals[-1], 0.0) * 1e-12
            if not keep.any():
                raise ValueError(f"The {what} are all zero; no DPP can be sampled.")
            Q = Q @ dev(evecs[:, keep] / np.sqrt(evals[keep]))
            eye = np.eye(Q.shape[1])
            if evals[-1] <= 1e4 * evals[keep][0]:
                break  # well conditioned: Q^T Q = I to about 1e-12 after one pass
        return Q, squared_norms(Q)


def _column_scale(norms):
    """Column norms as divisors: 1 for a zero column (dropped by the rank test)."""
    norms = np.asarray(norms, dtype=np.float64)
    return np.where(norms > 0, norms, 1.0)


def _chain_rule_threads(m):
    """BLAS threads for the chain rule (:func:`skrep.utils._threads.threads_for`).

    Its products, a batch of at most ``2 m + 2`` proposals against the
    ``i < m`` chosen features, take at most ``4 m^3`` flops: one BLAS thread
    unless ``m`` is in the hundreds (threaded BLAS slowed them 5-20x on a
    busy machine).
    """
    return threads_for(blas_work=4.0 * m**3)


def _leverage_sampler(leverage, rng):
    """Draw rows i.i.d. with probability proportional to ``leverage``."""
    cdf = np.cumsum(leverage)
    total = cdf[-1]

    def draw(k):
        idx = np.searchsorted(cdf, rng.uniform(0.0, total, size=k), side="right")
        return np.minimum(idx, cdf.size - 1)

    return draw


class _ProposalStream:
    """I.i.d. proposals from ``rho``, drawn in large batches and consumed in order.

    ``propose(k)`` returns ``(phi, payload)``: the orthonormal features of
    ``k`` i.i.d. proposals and what identifies them (row indices or points).
    Consuming a pre-drawn stream in order is the same as drawing one
    proposal at a time, and costs a few array operations per step.
    """

    def __init__(self, propose, m, rng):
        self.propose, self.rng = propose, rng
        self.chunk = max(64, int(2 * m * (math.log(m) + 1)))
        self.phi = np.empty((0, m))
        self.payload = np.empty(0, dtype=object)
        self.norm2 = np.empty(0)
        self.u = np.empty(0)
        self.pos = 0
        self.used = 0  # proposals consumed so far
        self.direct = None  # a direct exact DPP sampler, when one exists

    def advance(self, k):
        """Consume the next ``k`` proposals."""
        self.pos += k
        self.used += k

    def take(self, k):
        if self.pos + k > self.norm2.size:
            phi, payload = self.propose(max(k, self.chunk))
            payload = np.asarray(payload)
            rest = slice(self.pos, None)
            self.phi = np.concatenate([self.phi[rest], phi])
            self.payload = (
                payload
                if self.pos >= self.norm2.size
                else np.concatenate([self.payload[rest], payload])
            )
            self.norm2 = np.concatenate(
                [self.norm2[rest], np.einsum("ij,ij->i", phi, phi)]
            )
            self.u = np.concatenate([self.u[rest], self.rng.uniform(size=len(phi))])
            self.pos = 0
        sl = slice(self.pos, self.pos + k)
        return self.phi[sl], self.payload[sl], self.norm2[sl], self.u[sl]


def _chain_rule(m, stream, n_points=None):
    """One projection-DPP sample of ``m`` points by the rejection chain rule.

    Returns the accepted payloads of ``stream`` (a :class:`_ProposalStream`),
    in order. ``n_points < m`` stops after that many points: as the chain
    rule's ordered draws are exchangeable, they are a uniformly random subset
    of a projection-DPP sample.
    """
    n_points = m if n_points is None else n_points
    if stream.direct is not None:  # one dimension: a tridiagonal model
        return list(stream.direct())[:n_points]  # in random order
    basis = np.empty((m, m))  # orthonormal basis of the chosen features' span
    chosen = []
    for i in range(n_points):
        batch = int(math.ceil(2.0 * m / (m - i))) + 2
        # About (m - i) / m of the proposals are accepted: a bounded count
        # that only linearly dependent features can exhaust.
        for _ in range(_MAX_BATCHES):
            phi, payload, norm2, u = stream.take(batch)
            if i:
                proj = phi @ basis[:i].T
                resid = norm2 - np.einsum("ij,ij->i", proj, proj)
            else:
                resid = norm2
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = np.where(norm2 > 0, resid / norm2, 0.0)
            # Clip round-off: a candidate already in the span is never accepted.
            ratio[ratio < _RESIDUAL_TOL] = 0.0
            accepted = np.flatnonzero(u < ratio)
            if accepted.size:
                j = accepted[0]
                stream.advance(j + 1)
                break
            stream.advance(batch)
        else:
            raise ValueError(
                f"The DPP's chain rule found no point outside the span of the "
                f"{i} chosen ones in {_MAX_BATCHES * batch} proposals: the "
                f"{m} features are (numerically) linearly dependent."
            )
        v = phi[j].copy()
        for _ in range(2):  # Gram-Schmidt, repeated for round-off
            v -= basis[:i].T @ (basis[:i] @ v)
        basis[i] = v / np.linalg.norm(v)
        chosen.append(payload[j])
    return chosen


def _iid(n, stream):
    """``n`` i.i.d. proposals of ``stream`` (from ``rho``)."""
    payload = stream.take(n)[1]
    stream.advance(n)
    return list(payload)


def _continuous_features(basis, X):
    """Features of points from the continuous measure, orthonormal for mu."""
    return basis._evaluate(X)


def _check_continuous_basis(basis):
    from sklearn.base import clone

    if not (hasattr(basis, "_sample_optimal") and hasattr(basis, "_evaluate")):
        raise TypeError(
            "Continuous sampling needs a PolynomialBasis (which knows its "
            f"measure and how to sample it), got {type(basis).__name__}."
        )
    if not hasattr(basis, "multi_indices_"):
        basis = clone(basis).fit(np.zeros((1, 1)))
    return basis


def _tridiagonal_ensemble(family, m, rng):
    """The 1-D projection DPP of degrees 0..m-1 as a beta = 2 ensemble.

    Its joint density is ``prod_{i<j} (x_i - x_j)^2 prod_i mu(x_i)``: the
    eigenvalues of a random tridiagonal (Jacobi) matrix, in ``O(m^2)``.
    Jacobi (Legendre: Beta(1, 1); Chebyshev: Beta(1/2, 1/2) on [0, 1], mapped
    to [-1, 1]): Killip and Nenciu (2004), Theorem 2. Hermite: Dumitriu and
    Edelman (2002). Returned as ``(m, 1)`` points in random order.
    """
    from scipy.linalg import eigvalsh_tridiagonal

    if family == "hermite":
        diag = rng.standard_normal(m)
        off = np.sqrt(rng.chisquare(2.0 * np.arange(m - 1, 0, -1)) / 2)
        x = eigvalsh_tridiagonal(diag, off) if m > 1 else diag
    else:
        a = 1.0 if family == "legendre" else 0.5
        k = np.arange(m - 1, -1, -1, dtype=float)  # beta / 2 (m - i), i = 1..m
        c_odd = rng.beta(k + a, k + a)
        c_even = np.zeros(m)
        if m > 1:
            c_even[1:] = rng.beta(k[:-1], k[1:] + 2 * a)
        xi_odd = (1 - c_even) * c_odd
        xi_even = np.zeros(m)
        xi_even[1:] = (1 - c_odd[:-1]) * c_even[1:]
        diag = xi_even + xi_odd
        off = np.sqrt(np.maximum(xi_odd[:-1] * xi_even[1:], 0.0))
        t = eigvalsh_tridiagonal(diag, off) if m > 1 else diag
        x = np.clip(2 * t - 1, -1.0, 1.0)
    return rng.permutation(x)[:, None]


class _BaseSampler:
    """Shared validation and output for the samplers."""

    # Sample 1-D continuous projection DPPs by a tridiagonal model (exact,
    # O(m^2)); False uses the chain rule as in higher dimensions.
    _tridiagonal = True

    def __init__(self, n_samples=None, *, random_state=None, verbose=0):
        self.n_samples = n_samples
        self.random_state = random_state
        self.verbose = verbose

    def _progress(self, n_rounds):
        return Progress(type(self).__name__, self.verbose, unit="round", total=n_rounds)

    def _round(self, progress, index, kind, points, stream):
        """One progress line: a round of ``points`` drawn by ``kind``."""
        progress(index, kind=kind, points=points, proposals=stream.used)

    def __repr__(self):
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({params})"

    def _n_samples(self, m, n_samples):
        n = self.n_samples if n_samples is None else n_samples
        if n is None:
            return m
        if not isinstance(n, Integral) or isinstance(n, bool) or n < 1:
            raise ValueError(f"n_samples must be a positive integer, got {n!r}.")
        if n < m:
            raise ValueError(
                f"n_samples={n} is smaller than the dimension m={m} of the "
                "approximation space; weighted least squares needs n_samples >= m."
            )
        return int(n)

    def sample(self, features, n_samples=None, *, return_weights=False):
        """Draw rows of a pool given its feature matrix.

        Parameters
        ----------
        features : array-like of shape (n_candidates, m)
            Features of the candidates; orthonormalised internally (for the
            empirical measure of the pool) unless ``features.T @ features``
            is already the identity.
        n_samples : int, default=None
            Overrides the sampler's ``n_samples``.
        return_weights : bool, default=False
            Also return the least-squares weights of the drawn rows.

        Returns
        -------
        indices : ndarray of shape (n_samples,)
            Row indices into ``features`` (i.i.d. draws may repeat).
        weights : ndarray of shape (n_samples,)
            Christoffel weights ``m / (n_candidates ||Q_i||^2)``, only when
            ``return_weights`` is True.
        """
        rng = check_random_state(self.random_state)
        Q, leverage = _orthonormalize(features)
        m = Q.shape[1]
        n = self._n_samples(m, n_samples)
        draw = _leverage_sampler(leverage, rng)

        def propose(k):
            idx = draw(k)
            return Q[idx], idx

        stream = _ProposalStream(propose, m, rng)
        with _chain_rule_threads(m):
            idx = np.asarray(self._draw(m, n, stream, rng), dtype=np.intp)
        if not return_weights:
            return idx
        return idx, m / (Q.shape[0] * leverage[idx])

    def sample_continuous(self, basis, n_samples=None, *, return_weights=False):
        """Draw points from the continuous measure of a polynomial basis.

        Parameters
        ----------
        basis : PolynomialBasis
            A fitted basis (an unfitted one is fitted in dimension 1); its
            measure ``mu`` is the uniform (Legendre), arcsine (Chebyshev) or
            Gaussian (Hermite) one.
        n_samples : int, default=None
            Overrides the sampler's ``n_samples``.
        return_weights : bool, default=False
            Also return the Christoffel weights ``m / ||phi(x)||^2``.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
            The points.
        weights : ndarray of shape (n_samples,)
            Only when ``return_weights`` is True.
        """
        rng = check_random_state(self.random_state)
        basis = _check_continuous_basis(basis)
        m = basis.n_output_features_
        n = self._n_samples(m, n_samples)

        def propose(k):
            X = basis._sample_optimal(k, rng)
            return _continuous_features(basis, X), X

        stream = _ProposalStream(propose, m, rng)
        if basis.n_features_in_ == 1 and self._tridiagonal:
            stream.direct = lambda: _tridiagonal_ensemble(basis.family, m, rng)
        with _chain_rule_threads(m):
            X = np.asarray(self._draw(m, n, stream, rng), dtype=np.float64)
        X = X.reshape(n, basis.n_features_in_)
        if not return_weights:
            return X
        phi = _continuous_features(basis, X)
        return X, m / np.einsum("ij,ij->i", phi, phi)


_SEE_ALSO = """
    See Also
    --------
    ProjectionDPPSampler : Exactly ``m`` diverse points.
    VolumeSampler : ``m`` DPP points plus ``n - m`` i.i.d. optimal points.
    RepeatedDPPSampler : Independent projection DPP samples.
    ChristoffelSampler : I.i.d. points from the optimal density.
    DPPLeastSquares : Weighted least squares on these samples.

    References
    ----------
    .. [1] A. Nouy and B. Michel, "Weighted least-squares approximation with
       determinantal point processes and generalized volume sampling",
       arXiv:2312.14057, 2023.
    .. [2] J. B. Hough, M. Krishnapur, Y. Peres and B. Virag, "Determinantal
       processes and independence", Probability Surveys 3, 2006.
    .. [3] R. Killip and I. Nenciu, "Matrix models for circular ensembles",
       International Mathematics Research Notices, 2004.
    .. [4] I. Dumitriu and A. Edelman, "Matrix models for beta ensembles",
       Journal of Mathematical Physics 43, 2002.
"""


class ProjectionDPPSampler(_BaseSampler):
    __doc__ = (
        """Exact projection DPP: ``m`` points, diverse in feature space.

    The points follow the projection DPP whose kernel is the reproducing
    kernel ``K(x, y) = sum_j phi_j(x) phi_j(y)`` of the ``m``-dimensional
    space: the joint density is ``det[K(x_p, x_q)] / m!``, the squared volume
    spanned by the features, and each point's marginal is the optimal density
    ``rho``. Sampled by the chain rule with rejection from ``rho``; on a pool
    of ``N`` candidates, ``O(N m^2)`` time for the orthonormalisation (none
    when the features are orthonormal) plus ``O(m^3 log m)``, ``O(N m)``
    memory. Continuous samples in one dimension (degrees ``0..m-1``) are the
    eigenvalues of a random tridiagonal matrix (Killip and Nenciu for
    Legendre and Chebyshev, Dumitriu and Edelman for Hermite), ``O(m^2)``.

    Parameters
    ----------
    random_state : int, RandomState instance or None, default=None
        Seed or generator of the draws; pass a ``RandomState`` to get a new
        sample at each call.
    verbose : int, default=0
        When positive, print one line per round (a projection-DPP sample or
        a batch of i.i.d. points): the points drawn, the proposals used so
        far and the elapsed seconds.
"""
        + _SEE_ALSO
        + """
    Examples
    --------
    >>> import numpy as np
    >>> from skrep.dpp import ProjectionDPPSampler
    >>> features = np.random.RandomState(0).normal(size=(100, 5))
    >>> idx = ProjectionDPPSampler(random_state=0).sample(features)
    >>> len(np.unique(idx))
    5
"""
    )

    def __init__(self, *, random_state=None, verbose=0):
        super().__init__(None, random_state=random_state, verbose=verbose)

    def _n_samples(self, m, n_samples):
        if n_samples is not None and n_samples != m:
            raise ValueError(
                f"A projection DPP has exactly m={m} points; got n_samples="
                f"{n_samples}. Use VolumeSampler or RepeatedDPPSampler for more."
            )
        return m

    def _draw(self, m, n, stream, rng):
        points = _chain_rule(m, stream)
        self._round(self._progress(1), 1, "dpp", m, stream)
        return points


class VolumeSampler(_BaseSampler):
    __doc__ = (
        """Generalized volume-rescaled sampling of ``n >= m`` points.

    The density of ``(x_1, ..., x_n)`` with respect to ``rho^{otimes n}`` is
    proportional to ``det(G)``, ``G = (1/n) sum_i w(x_i) phi(x_i)
    phi(x_i)^T``; it is drawn as the union of ``m`` projection-DPP points and
    ``n - m`` i.i.d. points from ``rho``, randomly permuted (Derezinski,
    Warmuth and Hsu). Weighted least squares on it is quasi-optimal in
    expectation with ``n = O(m log m)`` points.

    Parameters
    ----------
    n_samples : int, default=None
        The number of points ``n >= m``; None means ``m``.
    random_state : int, RandomState instance or None, default=None
        Seed or generator of the draws.
    verbose : int, default=0
        When positive, print one line per round (a projection-DPP sample or
        a batch of i.i.d. points): the points drawn, the proposals used so
        far and the elapsed seconds.
"""
        + _SEE_ALSO
        + """
    Examples
    --------
    >>> import numpy as np
    >>> from skrep.dpp import VolumeSampler
    >>> features = np.random.RandomState(0).normal(size=(100, 5))
    >>> VolumeSampler(n_samples=12, random_state=0).sample(features).shape
    (12,)
"""
    )

    def _draw(self, m, n, stream, rng):
        progress = self._progress(2)
        points = _chain_rule(m, stream)
        self._round(progress, 1, "dpp", m, stream)
        points += _iid(n - m, stream)
        self._round(progress, 2, "iid", n - m, stream)
        order = rng.permutation(n)
        return [points[i] for i in order]


class RepeatedDPPSampler(_BaseSampler):
    __doc__ = (
        """Union of ``s`` independent projection-DPP samples (``n = s m``).

    Any ``n >= m`` is honoured: ``n = s m + r`` points are ``s`` independent
    projection-DPP samples and a uniformly random ``r``-subset of one more
    (its first ``r`` chain-rule draws). Every point still has the optimal
    marginal density ``rho``, so the Christoffel-weighted Gram matrix
    ``G = (1/n) sum_i w(x_i) phi(x_i) phi(x_i)^T`` is unbiased.

    Parameters
    ----------
    n_repeats : int, default=2
        The number ``s`` of independent samples when no ``n_samples`` is
        given to :meth:`sample`; ``n_samples`` overrides it.
    random_state : int, RandomState instance or None, default=None
        Seed or generator of the draws.
    verbose : int, default=0
        When positive, print one line per round (a projection-DPP sample or
        a batch of i.i.d. points): the points drawn, the proposals used so
        far and the elapsed seconds.
"""
        + _SEE_ALSO
        + """
    Examples
    --------
    >>> import numpy as np
    >>> from skrep.dpp import RepeatedDPPSampler
    >>> features = np.random.RandomState(0).normal(size=(100, 5))
    >>> RepeatedDPPSampler(n_repeats=3, random_state=0).sample(features).shape
    (15,)
"""
    )

    def __init__(self, n_repeats=2, *, random_state=None, verbose=0):
        self.n_repeats = n_repeats
        self.random_state = random_state
        self.verbose = verbose

    def _n_samples(self, m, n_samples):
        if n_samples is None:
            s = self.n_repeats
            if not isinstance(s, Integral) or isinstance(s, bool) or s < 1:
                raise ValueError(f"n_repeats must be a positive integer, got {s!r}.")
            return int(s) * m
        return super()._n_samples(m, n_samples)

    def _draw(self, m, n, stream, rng):
        # n // m whole samples, then the first n % m points of one more.
        progress = self._progress(-(-n // m))
        points = []
        for index in range(progress.total):
            size = min(m, n - index * m)
            points.extend(_chain_rule(m, stream, size))
            self._round(progress, index + 1, "dpp", size, stream)
        return points


class ChristoffelSampler(_BaseSampler):
    __doc__ = (
        """I.i.d. points from the optimal density ``rho = (1/w) mu``.

    ``rho(x) = ||phi(x)||^2 / m`` with respect to ``mu`` (Cohen and
    Migliorati), i.e. leverage-score sampling on a pool; the least-squares
    weights are the Christoffel weights ``w = m / ||phi||^2``.

    Parameters
    ----------
    n_samples : int, default=None
        The number of points ``n >= m``; None means ``m``.
    random_state : int, RandomState instance or None, default=None
        Seed or generator of the draws.
    verbose : int, default=0
        When positive, print one line per round (a projection-DPP sample or
        a batch of i.i.d. points): the points drawn, the proposals used so
        far and the elapsed seconds.
"""
        + _SEE_ALSO
        + """
    Examples
    --------
    >>> import numpy as np
    >>> from skrep.dpp import ChristoffelSampler
    >>> features = np.random.RandomState(0).normal(size=(100, 5))
    >>> ChristoffelSampler(n_samples=20, random_state=0).sample(features).shape
    (20,)
"""
    )

    def _draw(self, m, n, stream, rng):
        points = _iid(n, stream)
        self._round(self._progress(1), 1, "iid", n, stream)
        return points


class _UniformSampler(_BaseSampler):
    """I.i.d. points from ``mu`` itself, with unit weights (the baseline)."""

    def sample(self, features, n_samples=None, *, return_weights=False):
        rng = check_random_state(self.random_state)
        Q, _ = _orthonormalize(features)
        n = self._n_samples(Q.shape[1], n_samples)
        idx = rng.randint(Q.shape[0], size=n)
        return (idx, np.ones(n)) if return_weights else idx

    def sample_continuous(self, basis, n_samples=None, *, return_weights=False):
        rng = check_random_state(self.random_state)
        basis = _check_continuous_basis(basis)
        n = self._n_samples(basis.n_output_features_, n_samples)
        X = basis._sample_measure(n, rng)
        return (X, np.ones(n)) if return_weights else X
