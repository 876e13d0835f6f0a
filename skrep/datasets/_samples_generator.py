"""Generators for the synthetic settings of the papers skrep implements.

Each generator reproduces the simulated data of one paper, so that its
experiments can be rerun with skrep's estimators:

- :func:`make_low_rank_sparse`: low-rank plus sparse matrices (Candès, Li, Ma
  and Wright, "Robust principal component analysis?", 2011, sec. 4);
- :func:`make_contaminated_gaussian`: a spiked Gaussian with an ``eps``
  fraction of outliers that tilt the top principal direction (robust PCA
  under the strong contamination model);
- :func:`make_heterogeneous_mixture`: Gaussian clusters with cluster-specific
  covariances (Zhuang, Chen and Yang, ICML 2023);
- :func:`make_rare_ordinal`: ordinal labels with a rare last class, from
  cumulative logits whose weight vectors differ in a few coordinates
  (Faletto and Bien, ICML 2023, sec. 4.1);
- :func:`make_function_approximation`: smooth and non-smooth test functions
  on ``[-1, 1]^d`` for weighted least squares (Nouy and Michel, 2023);
- :func:`make_surveillance_video`: a video with moving objects and tampered
  frames on a bundled photograph (background modelling, Roy, Basu and
  Ghosh, 2021).
"""

import math
from numbers import Integral, Real

import numpy as np
from scipy import optimize, special
from scipy.stats import qmc
from sklearn.utils import check_random_state

from skrep.utils._compat import Interval, StrOptions, validate_params

__all__ = [
    "make_contaminated_gaussian",
    "make_function_approximation",
    "make_heterogeneous_mixture",
    "make_low_rank_sparse",
    "make_rare_ordinal",
    "make_surveillance_video",
]


def _random_orthonormal(n_rows, n_features, rng):
    """``n_rows`` orthonormal rows drawn uniformly (Haar) in R^n_features."""
    G = rng.standard_normal(size=(n_features, n_rows))
    Q, R = np.linalg.qr(G)
    # Sign fix so that Q is Haar distributed, not biased by the QR convention.
    signs = np.sign(np.diag(R))
    signs[signs == 0] = 1.0
    return (Q * signs).T


def _uniform_subset(n, k, rng):
    """``k`` distinct integers drawn uniformly from ``range(n)``.

    For small ``k / n``, draw with replacement until ``k`` distinct values are
    found, then keep a random ``k`` of them (the distinct set is exchangeable,
    so the result is a uniform ``k``-subset) without permuting all ``n``.
    """
    if 16 * k > n:
        return rng.permutation(n)[:k]
    chosen = np.unique(rng.randint(0, n, size=k + k // 8 + 16))
    while chosen.size < k:
        extra = rng.randint(0, n, size=k - chosen.size + k // 8 + 16)
        chosen = np.union1d(chosen, extra)
    return rng.permutation(chosen)[:k]


# --------------------------------------------------------------------------
# 1. Low-rank + sparse (principal component pursuit)
# --------------------------------------------------------------------------


@validate_params(
    {
        "n_samples": [Interval(Integral, 1, None, closed="left")],
        "n_features": [Interval(Integral, 1, None, closed="left")],
        "rank": [Interval(Integral, 1, None, closed="left")],
        "sparsity": [Interval(Real, 0, 1, closed="both")],
        "magnitude": [Interval(Real, 0, None, closed="neither")],
        "noise": [Interval(Real, 0, None, closed="left")],
        "dtype": "no_validation",
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_low_rank_sparse(
    n_samples=500,
    n_features=500,
    rank=10,
    sparsity=0.05,
    *,
    magnitude=1.0,
    noise=0.0,
    dtype=np.float64,
    random_state=None,
):
    """Generate a low-rank matrix corrupted by sparse gross errors.

    The setting of the numerical experiments of Candès, Li, Ma and Wright
    (2011, sec. 4), generalised to rectangular matrices:

    - ``L = A @ B.T`` where ``A`` (``n_samples x rank``) and ``B``
      (``n_features x rank``) have i.i.d. ``N(0, 1 / n_features)`` entries
      (for a square ``n x n`` matrix this is the paper's ``N(0, 1/n)``);
      ``L`` has rank exactly ``rank`` (with probability one);
    - ``S`` has exactly ``round(sparsity * n_samples * n_features)``
      non-zero entries at positions drawn uniformly without replacement;
      their values are ``magnitude`` times independent random signs (the
      paper's "random signs" Bernoulli +-1 model, ``magnitude=1``);
    - ``M = L + S``, plus i.i.d. ``N(0, noise**2)`` entries when
      ``noise > 0`` (the stable principal component pursuit setting).

    Parameters
    ----------
    n_samples : int, default=500
        Number of rows ``m``.
    n_features : int, default=500
        Number of columns ``n``.
    rank : int, default=10
        Rank of ``L``; at most ``min(n_samples, n_features)``.
    sparsity : float in [0, 1], default=0.05
        Fraction of entries of ``S`` that are non-zero.
    magnitude : float > 0, default=1.0
        Absolute value of the non-zero entries of ``S``.
    noise : float >= 0, default=0.0
        Standard deviation of dense Gaussian noise added to ``M``.
    dtype : {np.float64, np.float32}, default=np.float64
        Data type of the returned arrays (the draws are made in float64 and
        cast, so the same seed gives the same matrices up to rounding).
    random_state : int, RandomState instance or None, default=None
        Seed or generator for reproducible output.

    Returns
    -------
    M : ndarray of shape (n_samples, n_features)
        The observed matrix ``L + S`` (+ noise).
    L : ndarray of shape (n_samples, n_features)
        The low-rank component, of rank ``rank``.
    S : ndarray of shape (n_samples, n_features)
        The sparse component.

    Raises
    ------
    ValueError
        If ``rank > min(n_samples, n_features)`` or ``dtype`` is not a
        floating-point type.

    References
    ----------
    .. [1] E. J. Candès, X. Li, Y. Ma and J. Wright, "Robust principal
       component analysis?", Journal of the ACM 58(3), 2011, sec. 4.

    Examples
    --------
    >>> import numpy as np
    >>> from skrep.datasets import make_low_rank_sparse
    >>> M, L, S = make_low_rank_sparse(100, 80, rank=5, sparsity=0.1,
    ...                                random_state=0)
    >>> M.shape
    (100, 80)
    >>> int(np.linalg.matrix_rank(L)), int(np.count_nonzero(S))
    (5, 800)
    >>> bool(np.allclose(M, L + S))
    True
    """
    dtype = np.dtype(dtype)
    if dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"dtype must be np.float32 or np.float64, got {dtype}.")
    if rank > min(n_samples, n_features):
        raise ValueError(
            f"rank={rank} must be at most min(n_samples, n_features)="
            f"{min(n_samples, n_features)}."
        )
    rng = check_random_state(random_state)
    scale = 1.0 / math.sqrt(n_features)
    A = rng.normal(scale=scale, size=(n_samples, rank))
    B = rng.normal(scale=scale, size=(n_features, rank))
    L = A @ B.T

    n_entries = n_samples * n_features
    n_nonzero = int(round(sparsity * n_entries))
    positions = _uniform_subset(n_entries, n_nonzero, rng)
    signs = rng.choice(np.array([-1.0, 1.0]), size=n_nonzero)
    S = np.zeros(n_entries)
    S[positions] = magnitude * signs
    S = S.reshape(n_samples, n_features)

    L = L.astype(dtype, copy=False)
    S = S.astype(dtype, copy=False)
    M = L + S
    if noise > 0:
        M = M + (noise * rng.standard_normal(size=M.shape)).astype(dtype)
    return M, L, S


# --------------------------------------------------------------------------
# 2. Spiked Gaussian with adversarially placed outliers
# --------------------------------------------------------------------------


@validate_params(
    {
        "n_samples": [Interval(Integral, 1, None, closed="left")],
        "n_features": [Interval(Integral, 1, None, closed="left")],
        "eps": [Interval(Real, 0, 0.5, closed="left")],
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "spike": [Interval(Real, 0, None, closed="neither"), "array-like"],
        "outlier_strength": [Interval(Real, 0, None, closed="neither")],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_contaminated_gaussian(
    n_samples=1000,
    n_features=50,
    eps=0.1,
    *,
    n_components=1,
    spike=4.0,
    outlier_strength=2.0,
    random_state=None,
):
    """Generate a spiked Gaussian sample with an ``eps`` fraction of outliers.

    The strong contamination model of robust PCA (Diakonikolas, Kane, Pensia
    and Pittas, 2023): the inliers are i.i.d. ``N(0, Sigma)`` with the spiked
    covariance ``Sigma = I + sum_j spike_j u_j u_j^T``, where the rows
    ``u_j`` of ``components`` are a Haar-random orthonormal family, so
    ``components`` spans the true top-``n_components`` eigenspace of
    ``Sigma``.

    Exactly ``n_outliers = floor(eps * n_samples)`` rows are replaced by
    outliers placed to tilt the top principal direction: for a random unit
    vector ``v`` orthogonal to every ``u_j``, each outlier is
    ``s * a * v + (I - v v^T) g`` with ``g ~ N(0, I)`` and a sign ``s``
    (half of the outliers ``+1``, half ``-1``, in random order), where
    ``a = sqrt(outlier_strength * (1 + max(spike)) / eps)``. The outliers thus
    contribute a second moment ``eps * a**2 = outlier_strength * (1 +
    max(spike))`` along ``v``: ``outlier_strength`` times the inliers' top
    variance. Since the whole sample's variance along ``v`` is then about
    ``1 + outlier_strength * (1 + max(spike))`` while it is about
    ``1 + (1 - eps) * max(spike)`` along ``u_1``, ordinary PCA returns (close
    to) ``v`` when ``outlier_strength >= 1``, orthogonal to the truth. Away
    from ``v`` the outliers are standard Gaussian, like the inliers' bulk.
    Rows are shuffled; ``outlier_mask`` marks the outliers.

    Parameters
    ----------
    n_samples : int, default=1000
        Number of rows.
    n_features : int, default=50
        Dimension; must exceed ``n_components`` when there are outliers
        (``v`` must be orthogonal to the components).
    eps : float in [0, 0.5), default=0.1
        Contamination fraction.
    n_components : int, default=1
        Number of spiked directions (dimension of the true subspace).
    spike : float > 0 or array-like of shape (n_components,), default=4.0
        Excess variance of each spiked direction (``Sigma``'s top
        eigenvalues are ``1 + spike``). Give distinct decreasing values to
        order the components.
    outlier_strength : float > 0, default=2.0
        Second moment contributed by the outliers along ``v``, relative to
        the inliers' top variance ``1 + max(spike)``.
    random_state : int, RandomState instance or None, default=None
        Seed or generator for reproducible output.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        The contaminated sample.
    components : ndarray of shape (n_components, n_features)
        Orthonormal rows spanning the inliers' true top eigenspace (in the
        order of ``spike``).
    outlier_mask : ndarray of shape (n_samples,), dtype=bool
        ``True`` for the outliers.

    Raises
    ------
    ValueError
        If ``spike`` has the wrong length or non-positive entries,
        ``n_components >= n_features`` while there are outliers, or
        ``n_components > n_features``.

    References
    ----------
    .. [1] I. Diakonikolas, D. M. Kane, A. Pensia and T. Pittas,
       "Nearly-linear time and streaming algorithms for outlier-robust PCA",
       ICML 2023 (PMLR 202), arXiv:2305.02544.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.decomposition import PCA
    >>> from skrep.datasets import make_contaminated_gaussian
    >>> X, components, outlier_mask = make_contaminated_gaussian(
    ...     1000, 20, eps=0.1, random_state=0)
    >>> X.shape, components.shape, int(outlier_mask.sum())
    ((1000, 20), (1, 20), 100)
    >>> top = PCA(n_components=1).fit(X).components_[0]
    >>> bool(abs(top @ components[0]) < 0.2)  # PCA is tilted away from truth
    True
    """
    spikes = np.asarray(spike, dtype=np.float64)
    if spikes.ndim == 0:
        spikes = np.full(n_components, float(spikes))
    if spikes.shape != (n_components,):
        raise ValueError(
            f"spike must be a float or a sequence of n_components={n_components} "
            f"values, got shape {spikes.shape}."
        )
    if not np.all(np.isfinite(spikes)) or np.any(spikes <= 0):
        raise ValueError(f"spike values must be finite and > 0, got {spikes}.")
    if n_components > n_features:
        raise ValueError(
            f"n_components={n_components} must be at most n_features={n_features}."
        )
    n_outliers = int(math.floor(eps * n_samples + 1e-9))
    if n_outliers > 0 and n_components >= n_features:
        raise ValueError(
            f"n_components={n_components} must be < n_features={n_features} when "
            "there are outliers: they lie along a direction orthogonal to the "
            "components."
        )
    rng = check_random_state(random_state)
    basis = _random_orthonormal(min(n_components + 1, n_features), n_features, rng)
    components = basis[:n_components]
    n_inliers = n_samples - n_outliers

    Z = rng.standard_normal(size=(n_inliers, n_features))
    # x = z + sum_j (sqrt(1 + spike_j) - 1) (u_j . z) u_j has covariance Sigma.
    inliers = Z + ((Z @ components.T) * (np.sqrt(1.0 + spikes) - 1.0)) @ components

    X = np.empty((n_samples, n_features))
    X[:n_inliers] = inliers
    if n_outliers > 0:
        v = basis[n_components]
        a = math.sqrt(outlier_strength * (1.0 + spikes.max()) / eps)
        signs = np.where(np.arange(n_outliers) % 2 == 0, 1.0, -1.0)
        signs = rng.permutation(signs)
        G = rng.standard_normal(size=(n_outliers, n_features))
        G -= np.outer(G @ v, v)
        X[n_inliers:] = G + np.outer(signs * a, v)
    outlier_mask = np.zeros(n_samples, dtype=bool)
    outlier_mask[n_inliers:] = True
    order = rng.permutation(n_samples)
    return X[order], components, outlier_mask[order]


# --------------------------------------------------------------------------
# 3. Heterogeneous Gaussian mixture (iLA-SDP)
# --------------------------------------------------------------------------


def _cluster_sizes(n_samples, weights):
    """Exact cluster sizes by largest-remainder rounding."""
    quotas = n_samples * weights
    sizes = np.floor(quotas).astype(np.intp)
    remainder = n_samples - sizes.sum()
    if remainder > 0:
        # Stable sort: ties go to the lower cluster index.
        order = np.argsort(-(quotas - sizes), kind="stable")
        sizes[order[:remainder]] += 1
    return sizes


def _mixture_means(n_clusters, n_features, separation):
    """Centres whose minimum pairwise distance is exactly ``separation``."""
    means = np.zeros((n_clusters, n_features))
    if n_clusters == 1:
        return means
    if n_features >= n_clusters:
        means[:, :n_clusters] = np.eye(n_clusters) * (separation / math.sqrt(2.0))
    elif n_features >= 2:
        radius = separation / (2.0 * math.sin(math.pi / n_clusters))
        angles = 2.0 * math.pi * np.arange(n_clusters) / n_clusters
        means[:, 0] = radius * np.cos(angles)
        means[:, 1] = radius * np.sin(angles)
    else:
        means[:, 0] = separation * (np.arange(n_clusters) - (n_clusters - 1) / 2.0)
    return means


@validate_params(
    {
        "n_samples": [Interval(Integral, 1, None, closed="left")],
        "n_features": [Interval(Integral, 1, None, closed="left")],
        "n_clusters": [Interval(Integral, 1, None, closed="left")],
        "separation": [Interval(Real, 0, None, closed="neither")],
        "covariances": [StrOptions({"spherical", "diagonal", "full"})],
        "scales": ["array-like", None],
        "weights": ["array-like", None],
        "return_params": ["boolean"],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_heterogeneous_mixture(
    n_samples=300,
    n_features=10,
    n_clusters=3,
    separation=4.0,
    *,
    covariances="spherical",
    scales=None,
    weights=None,
    return_params=False,
    random_state=None,
):
    """Generate Gaussian clusters with cluster-specific covariances.

    The heterogeneous clustering setting of Zhuang, Chen and Yang (ICML
    2023): cluster ``k`` is ``N(mu_k, Sigma_k)`` with its own covariance
    scale, which K-means and the Peng-Wei SDP (both assuming one shared
    isotropic covariance) handle badly.

    - Centres: ``mu_k = separation / sqrt(2) * e_k`` when
      ``n_features >= n_clusters``; otherwise the vertices of a regular
      ``n_clusters``-gon of side ``separation`` in the first two coordinates;
      equally spaced points on the first axis when ``n_features == 1``. In
      every case the minimum pairwise distance between centres is exactly
      ``separation``.
    - Covariances, with ``s_k = scales[k]``:

      - ``"spherical"``: ``Sigma_k = s_k**2 * I``;
      - ``"diagonal"``: ``Sigma_k = s_k**2 * diag(lambda_k)``, where the
        entries of ``lambda_k`` are log-uniform on ``[1/4, 4]`` then divided
        by their geometric mean (so ``det(Sigma_k)**(1/p) = s_k**2``);
      - ``"full"``: ``Sigma_k = s_k**2 * Q_k diag(lambda_k) Q_k^T`` with
        ``lambda_k`` as above and ``Q_k`` a Haar-random rotation.

    - Cluster sizes: exactly ``n_samples * weights`` rounded by largest
      remainders (ties to the lower index); rows are shuffled.

    Parameters
    ----------
    n_samples : int, default=300
        Total number of points; each cluster must receive at least one.
    n_features : int, default=10
        Dimension.
    n_clusters : int, default=3
        Number of clusters.
    separation : float > 0, default=4.0
        Minimum distance between two centres.
    covariances : {"spherical", "diagonal", "full"}, default="spherical"
        Shape of the cluster covariances (see above).
    scales : array-like of shape (n_clusters,), default=None
        Positive covariance scales ``s_k`` (standard deviations). ``None``
        gives the geometric sequence ``1, 2, 4, ...``.
    weights : array-like of shape (n_clusters,), default=None
        Non-negative cluster proportions (normalised to sum to one).
        ``None`` gives equal proportions.
    return_params : bool, default=False
        If True, also return the centres and covariance matrices.
    random_state : int, RandomState instance or None, default=None
        Seed or generator for reproducible output.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        The sample.
    y : ndarray of shape (n_samples,), dtype=int
        Cluster labels in ``{0, ..., n_clusters - 1}``.
    means : ndarray of shape (n_clusters, n_features)
        The centres; only if ``return_params=True``.
    covariances : ndarray of shape (n_clusters, n_features, n_features)
        The covariance matrices; only if ``return_params=True``.

    Raises
    ------
    ValueError
        If ``scales`` or ``weights`` have the wrong length or invalid values,
        or a cluster would be empty.

    References
    ----------
    .. [1] Y. Zhuang, X. Chen and Y. Yang, "Likelihood adjusted semidefinite
       programs for clustering heterogeneous data", ICML 2023 (PMLR 202),
       arXiv:2209.15097.

    Examples
    --------
    >>> import numpy as np
    >>> from skrep.datasets import make_heterogeneous_mixture
    >>> X, y, means, covs = make_heterogeneous_mixture(
    ...     300, 10, n_clusters=3, separation=4.0, return_params=True,
    ...     random_state=0)
    >>> X.shape, np.bincount(y).tolist()
    ((300, 10), [100, 100, 100])
    >>> np.diag(covs[2])[:3].tolist()  # scale 4: variance 16
    [16.0, 16.0, 16.0]
    """
    if scales is None:
        scales_ = 2.0 ** np.arange(n_clusters, dtype=np.float64)
    else:
        scales_ = np.asarray(scales, dtype=np.float64)
        if scales_.shape != (n_clusters,):
            raise ValueError(
                f"scales must have n_clusters={n_clusters} entries, got shape "
                f"{scales_.shape}."
            )
        if not np.all(np.isfinite(scales_)) or np.any(scales_ <= 0):
            raise ValueError(f"scales must be finite and > 0, got {scales_}.")
    if weights is None:
        weights_ = np.full(n_clusters, 1.0 / n_clusters)
    else:
        weights_ = np.asarray(weights, dtype=np.float64)
        if weights_.shape != (n_clusters,):
            raise ValueError(
                f"weights must have n_clusters={n_clusters} entries, got shape "
                f"{weights_.shape}."
            )
        if (
            not np.all(np.isfinite(weights_))
            or np.any(weights_ < 0)
            or weights_.sum() <= 0
        ):
            raise ValueError(
                f"weights must be finite, >= 0 and not all zero, got {weights_}."
            )
        weights_ = weights_ / weights_.sum()
    sizes = _cluster_sizes(n_samples, weights_)
    if np.any(sizes == 0):
        empty = np.flatnonzero(sizes == 0).tolist()
        raise ValueError(
            f"clusters {empty} would be empty with n_samples={n_samples} and "
            f"weights={weights_.tolist()}; increase n_samples or the weights."
        )
    rng = check_random_state(random_state)
    means = _mixture_means(n_clusters, n_features, separation)
    covs = np.empty((n_clusters, n_features, n_features))
    X = np.empty((n_samples, n_features))
    y = np.repeat(np.arange(n_clusters), sizes)
    start = 0
    for k in range(n_clusters):
        if covariances == "spherical":
            spectrum = np.ones(n_features)
        else:
            log_spectrum = rng.uniform(np.log(0.25), np.log(4.0), size=n_features)
            spectrum = np.exp(log_spectrum - log_spectrum.mean())
        root = np.sqrt(spectrum) * scales_[k]  # per-axis standard deviations
        Z = rng.standard_normal(size=(sizes[k], n_features)) * root
        if covariances == "full":
            Q = _random_orthonormal(n_features, n_features, rng)
            covs[k] = (Q.T * root**2) @ Q
            Z = Z @ Q
        else:
            covs[k] = np.diag(root**2)
        X[start : start + sizes[k]] = means[k] + Z
        start += sizes[k]
    order = rng.permutation(n_samples)
    X, y = X[order], y[order]
    if return_params:
        return X, y, means, covs
    return X, y


# --------------------------------------------------------------------------
# 4. Ordinal labels with a rare class (PRESTO)
# --------------------------------------------------------------------------


def _rare_class_share(alpha, s):
    """Mean of ``P(y = K | x) = 1 - sigmoid(alpha + s)`` over the nodes ``s``."""
    return special.expit(-(alpha + s)).mean()


@validate_params(
    {
        "n_samples": [Interval(Integral, 1, None, closed="left")],
        "n_features": [Interval(Integral, 1, None, closed="left")],
        "n_classes": [Interval(Integral, 2, None, closed="left")],
        "rare_prob": [Interval(Real, 0, 1, closed="neither")],
        "sparsity": [Interval(Real, 0, 1, closed="both")],
        "coef": [Interval(Real, 0, None, closed="neither")],
        "return_coef": ["boolean"],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_rare_ordinal(
    n_samples=2500,
    n_features=10,
    n_classes=4,
    rare_prob=0.01,
    sparsity=0.5,
    *,
    coef=0.5,
    return_coef=False,
    random_state=None,
):
    """Generate ordinal labels whose last class is rare (PRESTO's setting).

    The sparse-differences data-generating process of Faletto and Bien
    (ICML 2023, sec. 4.1), with the rare class's share set exactly:

    - ``X ~ U[-1, 1]^p``;
    - cumulative logits ``P(y <= k | x) = sigmoid(alpha_k + x @ beta_k)``
      for ``k = 0, ..., K - 2`` (ordinalNet's sign convention; labels are
      ``0, ..., K - 1`` and ``K - 1`` is the rare class);
    - ``beta_0`` has entries ``coef`` with probability ``1 - sparsity``,
      else 0; each transition difference ``psi_k = beta_k - beta_{k-1}``
      (``k >= 1``) has entries ``+-coef`` (random sign) with probability
      ``1 - sparsity``, else 0. So ``sparsity`` is the probability that an
      entry is zero; the paper uses ``coef = 0.5`` and
      ``1 - sparsity`` in ``{1/3, 1/2}``;
    - the last intercept ``alpha_{K-2}`` is the root of
      ``E_x[1 - sigmoid(alpha + x @ beta_{K-2})] = rare_prob`` (the
      expectation over the uniform box computed by scrambled Sobol
      quasi-Monte Carlo with 2**14 points, plain Monte Carlo beyond 1000
      non-zero weights), so the expected share of the rare
      class is ``rare_prob`` (the paper instead fixes the intercepts,
      e.g. ``(0, 3, 5)``, giving rare shares of 0.4 to 1.2 %);
    - the other intercepts are set downwards:
      ``alpha_k = min(logit((k + 1) (1 - rare_prob) / (K - 1)),
      alpha_{k+1} - ||psi_{k+1}||_1 - 0.25)``, so that the non-rare classes
      are roughly balanced at ``x = 0`` while every gap exceeds the L1 norm
      of the difference. Since ``|x @ psi| <= ||psi||_1`` on the box, the
      cumulative probabilities are increasing in ``k`` for every ``x`` in the
      box: all class probabilities are positive (the paper instead redraws
      data whose true probabilities are negative);
    - ``y`` is drawn from the class probabilities ``proba``.

    Parameters
    ----------
    n_samples : int, default=2500
        Number of rows.
    n_features : int, default=10
        Number of features ``p``.
    n_classes : int >= 2, default=4
        Number of ordered classes ``K``.
    rare_prob : float in (0, 1), default=0.01
        Expected share of the last class.
    sparsity : float in [0, 1], default=0.5
        Probability that an entry of ``beta_0`` or of a difference
        ``psi_k`` is zero.
    coef : float > 0, default=0.5
        Magnitude of the non-zero entries.
    return_coef : bool, default=False
        If True, also return the intercepts and the weight vectors.
    random_state : int, RandomState instance or None, default=None
        Seed or generator for reproducible output.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        Features, uniform on ``[-1, 1]``.
    y : ndarray of shape (n_samples,), dtype=int
        Labels in ``{0, ..., n_classes - 1}``.
    proba : ndarray of shape (n_samples, n_classes)
        True class probabilities of each row (non-negative, rows sum to 1).
    intercepts : ndarray of shape (n_classes - 1,)
        Increasing ``alpha_k``; only if ``return_coef=True``.
    coefs : ndarray of shape (n_features, n_classes - 1)
        Column ``k`` is ``beta_k``; only if ``return_coef=True``.

    Notes
    -----
    Monotonicity on the whole box is a worst-case requirement: with many
    non-zero differences (large ``n_features * (1 - sparsity)``) the gaps
    ``||psi_k||_1`` are wide and the lowest classes become rare too, while the
    last class keeps its share ``rare_prob``. The paper's setting
    (``n_features=10``, ``1 - sparsity`` in ``{1/3, 1/2}``) gives every class
    a substantial share.

    References
    ----------
    .. [1] G. Faletto and J. Bien, "Predicting rare events by shrinking
       towards proportional odds", ICML 2023 (PMLR 202), arXiv:2305.18700,
       sec. 4.1.

    Examples
    --------
    >>> import numpy as np
    >>> from skrep.datasets import make_rare_ordinal
    >>> X, y, proba = make_rare_ordinal(2500, 10, n_classes=4, rare_prob=0.01,
    ...                                 random_state=0)
    >>> X.shape, proba.shape
    ((2500, 10), (2500, 4))
    >>> bool(np.allclose(proba.sum(axis=1), 1.0)), bool((proba >= 0).all())
    (True, True)
    >>> round(float(proba[:, -1].mean()), 2)
    0.01
    """
    rng = check_random_state(random_state)
    keep = 1.0 - sparsity
    n_transitions = n_classes - 1
    psi = np.zeros((n_features, n_transitions))
    psi[:, 0] = coef * (rng.uniform(size=n_features) < keep)
    if n_transitions > 1:
        mask = rng.uniform(size=(n_features, n_transitions - 1)) < keep
        signs = rng.choice(np.array([-1.0, 1.0]), size=(n_features, n_transitions - 1))
        psi[:, 1:] = coef * mask * signs
    beta = np.cumsum(psi, axis=1)

    # Nodes of x @ beta_last for x uniform on the box (only the non-zero
    # weights matter): scrambled Sobol points, drawn in chunks to bound memory.
    beta_last = beta[:, -1]
    active = np.flatnonzero(beta_last)
    if active.size == 0:
        s = np.zeros(1)
    else:
        if active.size <= 1000:
            sobol = qmc.Sobol(
                d=active.size, scramble=True, seed=rng.randint(np.iinfo(np.int32).max)
            )
            draw = sobol.random
        else:  # Very wide problems: plain Monte Carlo.

            def draw(n):
                return rng.uniform(size=(n, active.size))

        s = np.concatenate(
            [(2.0 * draw(1024) - 1.0) @ beta_last[active] for _ in range(16)]
        )
    logit_p = special.logit(rare_prob)
    lo, hi = -logit_p - 1.0, -logit_p + 1.0
    # Widen the bracket (at most 60 doublings: past any float logit).
    for _ in range(60):
        if _rare_class_share(lo, s) >= rare_prob:
            break
        lo -= 2.0 * (hi - lo)
    for _ in range(60):
        if _rare_class_share(hi, s) <= rare_prob:
            break
        hi += 2.0 * (hi - lo)
    intercepts = np.empty(n_transitions)
    intercepts[-1] = optimize.brentq(
        lambda a: _rare_class_share(a, s) - rare_prob, lo, hi, xtol=1e-12
    )
    l1 = np.abs(psi).sum(axis=0)
    for k in range(n_transitions - 2, -1, -1):
        target = special.logit((k + 1) * (1.0 - rare_prob) / n_transitions)
        intercepts[k] = min(target, intercepts[k + 1] - l1[k + 1] - 0.25)

    X = rng.uniform(-1.0, 1.0, size=(n_samples, n_features))
    eta = intercepts + X @ beta
    cumulative = special.expit(eta)
    proba = np.empty((n_samples, n_classes))
    proba[:, 0] = cumulative[:, 0]
    proba[:, 1:-1] = np.diff(cumulative, axis=1)
    proba[:, -1] = special.expit(-eta[:, -1])
    np.clip(proba, 0.0, None, out=proba)
    u = rng.uniform(size=n_samples)
    y = (u[:, None] > np.cumsum(proba, axis=1)[:, :-1]).sum(axis=1)
    if return_coef:
        return X, y, proba, intercepts, beta
    return X, y, proba


# --------------------------------------------------------------------------
# 5. Test functions for weighted least squares (DPP sampling)
# --------------------------------------------------------------------------


def _runge(X):
    return 1.0 / (1.0 + 25.0 * np.sum(X**2, axis=1))


def _abs(X):
    return np.sum(np.abs(X), axis=1)


def _gaussian(X):
    return np.exp(-np.sum(X**2, axis=1))


def _exp(X):
    return np.exp(np.sum(X, axis=1))


def _step(X):
    return (np.sum(X, axis=1) >= 0).astype(np.float64)


_FUNCTIONS = {
    "runge": _runge,
    "abs": _abs,
    "gaussian": _gaussian,
    "exp": _exp,
    "step": _step,
}


class _TestFunction:
    """The noiseless target: validates points and evaluates ``f``."""

    def __init__(self, function, n_features, name):
        self.function = function
        self.n_features = n_features
        self.name = name

    def __call__(self, X):
        X = np.asarray(X, dtype=np.float64)
        if X.ndim == 1 and self.n_features == 1:
            X = X[:, None]
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise ValueError(
                f"X must have shape (n_points, {self.n_features}), got {X.shape}."
            )
        y = np.asarray(self.function(X), dtype=np.float64)
        if y.shape == (X.shape[0], 1):
            y = y[:, 0]
        if y.shape != (X.shape[0],):
            raise ValueError(
                f"function must return an array of shape ({X.shape[0]},) for "
                f"{X.shape[0]} points, got shape {y.shape}."
            )
        if not np.all(np.isfinite(y)):
            raise ValueError(
                f"function {self.name} returned non-finite values on [-1, 1]^"
                f"{self.n_features}."
            )
        return y

    def __repr__(self):
        return f"<test function {self.name!r} on [-1, 1]^{self.n_features}>"


@validate_params(
    {
        "function": [StrOptions(set(_FUNCTIONS)), callable],
        "n_samples": [Interval(Integral, 1, None, closed="left")],
        "n_features": [Interval(Integral, 1, None, closed="left")],
        "noise": [Interval(Real, 0, None, closed="left")],
        "sampling": [StrOptions({"uniform", "chebyshev"})],
        "return_function": ["boolean"],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_function_approximation(
    function="runge",
    n_samples=100,
    *,
    n_features=1,
    noise=0.0,
    sampling="uniform",
    return_function=False,
    random_state=None,
):
    """Sample a test function on ``[-1, 1]^d`` for least-squares approximation.

    The setting of weighted least-squares approximation from random samples
    (Nouy and Michel, 2023): approximate ``f`` in a polynomial space from
    ``n_samples`` evaluations, with the error measured in ``L^2`` of the
    uniform measure on ``[-1, 1]^d``. With ``||x||`` the Euclidean norm, the
    named functions are:

    - ``"runge"``: ``1 / (1 + 25 ||x||^2)``, analytic but with complex poles
      near the domain (the classic Runge example; polynomial interpolation at
      equispaced points diverges);
    - ``"abs"``: ``sum_j |x_j|`` (continuous, non-smooth on every
      coordinate hyperplane; ``|x|`` in one dimension);
    - ``"gaussian"``: ``exp(-||x||^2)`` (entire, smooth);
    - ``"exp"``: ``exp(sum_j x_j)`` (entire, smooth);
    - ``"step"``: ``1`` if ``sum_j x_j >= 0`` else ``0`` (discontinuous).

    A callable ``f`` mapping an array of shape ``(n, d)`` to an array of
    shape ``(n,)`` may be given instead; its output must be finite.

    Parameters
    ----------
    function : {"runge", "abs", "gaussian", "exp", "step"} or callable, \
            default="runge"
        The target function.
    n_samples : int, default=100
        Number of sample points.
    n_features : int, default=1
        Dimension ``d``.
    noise : float >= 0, default=0.0
        Standard deviation of Gaussian noise added to the evaluations.
    sampling : {"uniform", "chebyshev"}, default="uniform"
        Distribution of the points: uniform on ``[-1, 1]^d``, or independent
        coordinates with the arcsine (Chebyshev) density
        ``1 / (pi sqrt(1 - t^2))``, drawn as ``cos(pi U)``.
    return_function : bool, default=False
        If True, also return the noiseless function as a callable accepting
        an array of shape ``(n_points, n_features)`` (or ``(n_points,)`` when
        ``n_features == 1``), e.g. to compute ``L^2`` errors by quadrature.
    random_state : int, RandomState instance or None, default=None
        Seed or generator for reproducible output.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        Points in ``[-1, 1]^d``.
    y : ndarray of shape (n_samples,)
        ``f(X)`` plus noise.
    f : callable
        The noiseless function; only if ``return_function=True``.

    Raises
    ------
    ValueError
        If ``function`` is an unknown name (the message lists the choices),
        or a callable whose output has the wrong shape or is not finite.

    References
    ----------
    .. [1] A. Nouy and B. Michel, "Weighted least-squares approximation with
       determinantal point processes and generalized volume sampling",
       arXiv:2312.14057, 2023.
    .. [2] A. Cohen and G. Migliorati, "Optimal weighted least-squares
       methods", SMAI Journal of Computational Mathematics 3, 2017.

    Examples
    --------
    >>> import numpy as np
    >>> from skrep.datasets import make_function_approximation
    >>> X, y, f = make_function_approximation("runge", 50, return_function=True,
    ...                                       random_state=0)
    >>> X.shape, y.shape
    ((50, 1), (50,))
    >>> f(np.array([[0.0], [0.2]])).tolist()
    [1.0, 0.5]
    """
    if callable(function):
        name = getattr(function, "__name__", repr(function))
        target = _TestFunction(function, n_features, name)
    else:
        target = _TestFunction(_FUNCTIONS[function], n_features, function)
    rng = check_random_state(random_state)
    if sampling == "uniform":
        X = rng.uniform(-1.0, 1.0, size=(n_samples, n_features))
    else:
        X = np.cos(np.pi * rng.uniform(size=(n_samples, n_features)))
    y = target(X)
    if noise > 0:
        y = y + noise * rng.standard_normal(size=n_samples)
    if return_function:
        return X, y, target
    return X, y


@validate_params(
    {
        "n_samples": [Interval(Integral, 2, None, closed="left")],
        "n_features": [Interval(Integral, 1, None, closed="left")],
        "signal": [Interval(Real, 0, None, closed="neither")],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_sparse_signal_classification(
    n_samples=600, n_features=400, *, signal=10.0, random_state=None
):
    """Binary labels carried by one coordinate, with ``d - 1`` noise coordinates.

    The structure of Tifrea, Clarysse and Yang's model of margin-based active
    learning in high dimension: a 1-sparse ground truth (the label is the
    sign of ``x_1``), no label noise and no gap between the classes
    (``x_1 = (2y - 1) * signal * |z|`` with ``z`` standard normal), and
    ``x_2, ..., x_d`` independent standard normal noise. With more features
    than labels, margin sampling queries points near the true boundary that
    carry little signal, and random (passive) sampling learns faster; with
    fewer features than labels margin sampling wins.

    Parameters
    ----------
    n_samples : int, default=600
        Number of rows.
    n_features : int, default=400
        Dimension ``d`` (the signal coordinate included).
    signal : float > 0, default=10.0
        Scale of the signal coordinate.
    random_state : int, RandomState instance or None, default=None
        Seed or generator for reproducible output.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
        Labels 0 and 1; ``y = (X[:, 0] > 0)``.

    References
    ----------
    .. [1] A. Tifrea, J. Clarysse and F. Yang, "Margin-based sampling in high
       dimensions: when being active is less efficient than staying passive",
       ICML 2023. arXiv:2212.00772.

    Examples
    --------
    >>> from skrep.datasets import make_sparse_signal_classification
    >>> X, y = make_sparse_signal_classification(100, 20, random_state=0)
    >>> X.shape, bool(((X[:, 0] > 0) == y).all())
    ((100, 20), True)
    """
    rng = check_random_state(random_state)
    y = rng.randint(2, size=n_samples)
    X = rng.standard_normal((n_samples, n_features))
    X[:, 0] = (2 * y - 1) * signal * np.abs(rng.standard_normal(n_samples))
    return X, y


@validate_params(
    {
        "n_frames": [Interval(Integral, 2, None, closed="left")],
        "step": [Interval(Integral, 1, None, closed="left")],
        "block": [Interval(Integral, 1, None, closed="left")],
        "tampered": [Interval(Real, 0, 1, closed="left")],
        "noise": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_surveillance_video(
    n_frames=80, *, step=8, block=10, tampered=0.0, noise=0.0, random_state=None
):
    """Generate a surveillance video on scikit-learn's bundled photograph.

    The setting of background modelling (Roy, Basu & Ghosh, rSVDdpd, 2021):
    a static camera films the grayscale ``china.jpg`` sample image
    (subsampled by ``step``, values in [0, 1]); two textured blocks of
    ``block`` x ``block`` pixels move across it, one along a row, one along a
    column. A fraction ``tampered`` of the frames, at random, is tampered
    with, as in the paper's experiments: in half of them the lens is covered
    (a dark frame with a little texture), in the other half the camera is
    shifted (the scene moved by a few pixels).

    Parameters
    ----------
    n_frames : int, default=80
        Number of frames.
    step : int, default=8
        Subsampling of the 427 x 640 image (8: 54 x 80 pixels).
    block : int, default=10
        Side of the moving blocks, in pixels.
    tampered : float in [0, 1), default=0.0
        Fraction of tampered frames.
    noise : float >= 0, default=0.0
        Standard deviation of Gaussian sensor noise on every pixel.
    random_state : int, RandomState instance or None, default=None
        Seed or generator for reproducible output.

    Returns
    -------
    frames : ndarray of shape (n_frames, height * width)
        The frames, one per row.
    background : ndarray of shape (height * width,)
        The true background.
    foreground : ndarray of shape (n_frames, height * width), dtype=bool
        The pixels covered by a moving block (in untampered frames).
    tampered_frames : ndarray of shape (n_frames,), dtype=bool
        The tampered frames.
    shape : tuple of int
        ``(height, width)`` of a frame.

    Examples
    --------
    >>> from skrep.datasets import make_surveillance_video
    >>> frames, background, fg, bad, shape = make_surveillance_video(
    ...     40, tampered=0.2, random_state=0)
    >>> frames.shape, shape, int(bad.sum())
    ((40, 4320), (54, 80), 8)
    """
    from sklearn.datasets import load_sample_image

    rng = check_random_state(random_state)
    image = load_sample_image("china.jpg").mean(axis=2)[::step, ::step] / 255.0
    h, w = image.shape
    frames = np.repeat(image[None], n_frames, axis=0)
    mask = np.zeros(frames.shape, dtype=bool)
    for f in range(n_frames):
        col = int(f * (w - block) / (n_frames - 1))
        row = int(f * (h - block) / (n_frames - 1))
        mask[f, h // 3 : h // 3 + block, col : col + block] = True
        mask[f, row : row + block, w // 2 : w // 2 + block] = True
    frames[mask] = rng.uniform(0, 1, size=mask.sum())
    n_bad = round(tampered * n_frames)
    bad = np.zeros(n_frames, dtype=bool)
    bad[rng.choice(n_frames, n_bad, replace=False)] = True
    for i, f in enumerate(np.flatnonzero(bad)):
        if i % 2 == 0:  # lens covered
            frames[f] = 0.05 + 0.05 * rng.uniform(size=(h, w))
        else:  # camera shifted
            frames[f] = np.roll(
                image, shift=(rng.randint(2, 5), rng.randint(2, 5)), axis=(0, 1)
            )
        mask[f] = False
    if noise > 0:
        frames += noise * rng.standard_normal(frames.shape)
    return (
        frames.reshape(n_frames, -1),
        image.ravel(),
        mask.reshape(n_frames, -1),
        bad,
        (h, w),
    )
