"""Out-of-distribution detection with class-conditional Gaussian models.

One estimator covers three Gaussian detectors on feature vectors:

* a single Gaussian with a shrunk covariance, optionally restricted to the
  leading or to the low-variance principal components (Rippel et al. 2020);
* class-conditional Gaussians with a tied covariance, scored by the
  Mahalanobis distance to the nearest class, with a feature ensemble over
  blocks of features (Lee et al. 2018);
* one Gaussian per class and per chunk of features, summed over the chunks
  (HVCM, ICCV 2023), and per-class Gaussian mixtures fitted by EM.

The sufficient statistics (counts, means, centred scatter matrices and the
fourth-order quantities the Ledoit-Wolf shrinkage needs) are merged exactly
from chunks, so that ``partial_fit`` over a stream gives the model ``fit``
gives on the whole data. Scoring is chunked and BLAS-shaped: with a tied
covariance it is a whitening followed by one matrix product against the
whitened class means; with per-class covariances the whitening matrices of
all classes are stacked so that one matrix product whitens a chunk for every
class at once.
"""

import numbers
import time
from numbers import Integral, Real

import numpy as np
from scipy import linalg
from scipy.linalg import get_blas_funcs
from scipy.special import logsumexp
from scipy.stats import chi2
from sklearn.base import BaseEstimator, OutlierMixin
from sklearn.utils import check_random_state
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import (
    check_array,
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from skrep.utils._array_api import (
    get_namespace,
    get_namespace_and_device,
    to_host,
    to_namespace,
    to_numpy,
)
from skrep.utils._compat import (
    Interval,
    StrOptions,
    _fit_context,
    _logsumexp,
    check_same_namespace,
    supported_float_dtypes,
)
from skrep.utils._threads import map_threads

__all__ = ["GaussianMixtureOODDetector"]

# Probability of the chi-square law below the 'auto' threshold (the 3-sigma
# rule of Rippel et al.): 0.27% of in-distribution rows are flagged.
_AUTO_P = 0.9973
# Bytes of working memory per scoring chunk (stays in the CPU caches).
_CHUNK_BYTES = 2**22
# Bytes of working memory per scoring chunk on an array-API device (a GPU
# wants large chunks: fewer kernel launches, and memory stays bounded).
_DEVICE_CHUNK_BYTES = 2**27


def _streamable(estimator):
    """partial_fit exists only for the closed-form fit (n_components=1)."""
    if estimator.n_components != 1:
        raise AttributeError(
            "partial_fit needs n_components=1 (EM mixtures are not streamable); "
            f"got n_components={estimator.n_components}."
        )
    return True


class GaussianMixtureOODDetector(OutlierMixin, BaseEstimator):
    """Out-of-distribution detector from class-conditional Gaussian models.

    Models the in-distribution feature vectors by one Gaussian (or, with
    ``n_components > 1``, one Gaussian mixture) per class and per block of
    features, and scores a new row by its Mahalanobis distance to the nearest
    class (or by its class log-likelihood). It covers:

    * **Multivariate Gaussian on features** (Rippel et al.): no ``y``, a
      Ledoit-Wolf covariance, optionally ``subspace='low_variance'`` (NPCA)
      or ``'top'``; the ``contamination='auto'`` threshold comes from the
      chi-square law of the squared Mahalanobis distance.
    * **Class-conditional Gaussians, tied covariance** (Lee et al.): ``fit(X,
      y)``, ``covariance_type='tied'``; score = minus the smallest squared
      Mahalanobis distance to a class mean. With ``feature_blocks`` (e.g. one
      block per network layer) and ``block_aggregation='separate'`` each block
      is scored on its own and the block scores are summed, or combined by a
      logistic regression when known outliers are given as rows with
      ``y == -1``.
    * **Per-class Gaussians on feature chunks** (HVCM): ``feature_blocks=K``,
      ``covariance_type='full'``, ``block_aggregation='joint'``; score = minus
      ``min_c sum_k (x_k - mu_ck)^T Sigma_ck^{-1} (x_k - mu_ck)``, which ranks
      rows as HVCM's score with equal mixture weights ``pi_ck = 1/K``.
      With ``n_components > 1`` each class (and block) is a Gaussian mixture
      fitted by EM and the score is the largest class log-likelihood.

    Read more in the :ref:`User Guide <ood>`.

    Parameters
    ----------
    n_components : int, default=1
        Gaussians per class and per block. With 1, the covariance is estimated
        in closed form (with shrinkage) and rows are scored by Mahalanobis
        distances; with more, each class is a Gaussian mixture fitted by EM
        (:class:`sklearn.mixture.GaussianMixture`) and rows are scored by
        the class log-likelihood.

    covariance_type : {'tied', 'full', 'diag', 'spherical'}, default='tied'
        'tied': one covariance shared by all classes (with ``n_components > 1``:
        shared by the components of each class, as in
        :class:`~sklearn.mixture.GaussianMixture`); 'full': one covariance per
        class (and component); 'diag' and 'spherical': diagonal or scalar
        covariances per class (and component).

    feature_blocks : int, array-like of int or None, default=None
        Split the features into blocks, each modelled by its own Gaussians
        (a block-diagonal covariance). An int K splits them into K contiguous
        blocks of (nearly) equal size; a list gives the sizes of consecutive
        blocks, which must add up to ``n_features``. None: one block.

    block_aggregation : {'auto', 'joint', 'separate'}, default='auto'
        How block distances are combined. 'joint' (HVCM): sum the blocks'
        squared distances for each class, then take the nearest class.
        'separate' (Lee et al.'s feature ensemble): take the nearest class in
        each block, then sum the blocks' scores, or combine them by a
        logistic regression when ``y`` has rows labelled -1 (known outliers).
        'auto': 'separate' when ``y`` has rows labelled -1, else 'joint'.

    shrinkage : {'ledoit_wolf', 'oas'}, float in [0, 1] or None, \
            default='ledoit_wolf'
        Shrinkage of each covariance towards a multiple of the identity,
        ``(1 - s) S + s tr(S)/p I``: the Ledoit-Wolf or OAS coefficient (as
        :class:`~sklearn.covariance.LedoitWolf` and
        :class:`~sklearn.covariance.OAS` compute it) or a fixed ``s``; None
        keeps the maximum-likelihood covariance. Used with ``n_components=1``
        (EM regularises with ``reg_covar`` only).

    reg_covar : float, default=1e-6
        Added to the diagonal of every covariance, so that they stay positive
        definite. If both ``shrinkage`` and ``reg_covar`` are disabled a
        singular covariance raises a ``ValueError``.

    subspace : {'top', 'low_variance'} or None, default=None
        Restrict each block to some of the principal components of the pooled
        within-class covariance. Let ``j`` be the first component at which the
        cumulative explained variance ratio exceeds ``variance_threshold``:
        'top' keeps components ``0..j`` (the classical PCA), 'low_variance'
        keeps components ``j..p-1`` (Rippel et al.'s NPCA, the directions in
        which normal data hardly vary). None: all features.

    variance_threshold : float in (0, 1), default=0.99
        The threshold ``t`` of ``subspace``.

    contamination : 'auto' or float in (0, 0.5], default='auto'
        The expected proportion of outliers, which sets ``offset_``. A float
        takes that quantile of the training scores. 'auto' uses the Gaussian
        law: the squared Mahalanobis distance of an in-distribution row
        follows chi2(k) with k the modelled dimension, and the threshold is
        ``chi2.ppf(0.9973, k)`` (a 0.27% false-positive rate). Where no
        chi-square law applies (``n_components > 1``, or a logistic-regression
        combination) 'auto' takes the 0.27% quantile of the in-distribution
        training scores.

    max_iter : int, default=100
        EM iterations per mixture (``n_components > 1`` only).

    tol : float, default=1e-3
        EM convergence threshold on the lower bound (``n_components > 1``).

    n_init : int, default=1
        EM initialisations per mixture (``n_components > 1``).

    random_state : int, RandomState instance or None, default=None
        Seeds the EM initialisations (``n_components > 1``). The closed-form
        fit with ``n_components=1`` is deterministic.

    n_jobs : int or None, default=None
        Threads scoring chunks of rows in parallel (each chunk's matrix
        products then run on one BLAS thread); None uses as many threads as
        BLAS would. Also the number of joblib jobs fitting the per-class
        mixtures (``n_components > 1``), where None means 1.

    verbose : int, default=0
        Print the fit's stages and their times.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The in-distribution class labels (``[0]`` when fitted without ``y``).

    class_count_ : ndarray of shape (n_classes,)
        Training rows per class.

    location_ : ndarray of shape (n_features,)
        Mean of the in-distribution training rows.

    means_ : ndarray of shape (n_classes, n_components, n_features)
        Means of the Gaussians, in the original feature space (with a
        ``subspace``, the part of the mean in the kept subspace plus
        ``location_``'s part outside it).

    weights_ : ndarray of shape (n_classes, n_components, n_blocks)
        Mixture weights of each class in each block (all ones with
        ``n_components=1``).

    covariances_ : list of ndarray, one per block
        Covariances in each block's (projected) coordinates, shaped as in
        :class:`~sklearn.mixture.GaussianMixture` with classes first: 'full'
        ``(n_classes, n_components, k, k)``, 'tied' ``(k, k)`` with
        ``n_components=1`` else ``(n_classes, k, k)``, 'diag'
        ``(n_classes, n_components, k)``, 'spherical'
        ``(n_classes, n_components)``.

    shrinkage_ : ndarray of shape (n_blocks, n_covariances)
        The shrinkage coefficient used for each covariance (0 with EM).

    subspace_components_ : list of ndarray or None, one per block
        The kept principal directions, shape ``(k, block_size)``, or None
        without ``subspace``.

    block_bounds_ : ndarray of shape (n_blocks + 1,)
        Block ``b`` holds features ``block_bounds_[b]:block_bounds_[b + 1]``.

    df_ : int
        The modelled dimension (sum of the blocks' kept dimensions): the
        degrees of freedom of the chi-square law of the squared distances.

    offset_ : float
        ``decision_function = score_samples - offset_``.

    combiner_ : Pipeline or None
        The logistic regression on the blocks' scores, fitted when known
        outliers are given; else None.

    n_iter_ : int
        Largest number of EM iterations over the mixtures (1 for the
        closed-form fit with ``n_components=1``).

    n_features_in_ : int
        Number of features seen during ``fit``.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during ``fit``, when ``X`` has string column
        names.

    See Also
    --------
    sklearn.covariance.EllipticEnvelope : One robust Gaussian (MCD), with the
        same outlier-detector interface.
    sklearn.mixture.GaussianMixture : One unlabelled Gaussian mixture, scored
        by its log-density.
    sklearn.covariance.LedoitWolf : The shrinkage used by default here.

    Notes
    -----
    Peak memory of ``fit``: one float64 copy of the data (sorted by class)
    plus ``O(n_classes * sum_b p_b^2)`` for the scatter matrices of the blocks
    (``p_b`` their sizes); with ``n_components > 1``, also a copy of one
    class's rows. Scoring processes
    chunks of a few MB whatever ``n_samples``: ``O(chunk * n_classes * k +
    n_classes * sum_b p_b^2)`` memory. Fit time is ``O(n p^2 + C p^3)``; a
    tied covariance scores in ``O(n (p k + C k))``, per-class covariances
    in ``O(n C p k)``.

    ``partial_fit`` (only defined with ``n_components=1``, and without known
    outliers) merges exact chunk statistics (counts, means, centred scatter
    and the fourth moments of the Ledoit-Wolf formula), so it gives the model
    ``fit`` gives, up to rounding.

    With ``subspace``, the covariance is shrunk in the block's full space
    before it is projected (shrinkage towards the identity does not change
    the principal directions), which differs slightly from shrinking the
    projected features as Rippel et al. do.

    Array API: fit runs on host, scoring on device. With
    ``sklearn.set_config(array_api_dispatch=True)`` and CuPy (or any
    array-API) input, the per-class sufficient statistics of ``fit`` and
    ``partial_fit`` (means, scatter matrices ``X_c^T X_c`` and the fourth
    moments: the ``O(n p^2)`` work) are computed on the input's device; the
    small ``p x p`` problems (shrinkage, subspace eigendecomposition,
    Cholesky factors), the EM of ``n_components > 1`` (on a host copy of the
    data) and the logistic regression of known outliers run on host. The
    fitted arrays (``means_``, ``covariances_``, the whitening matrices...)
    are then moved to the input's namespace and device, in float64 as for
    numpy input (``classes_`` stays numpy), and ``score_samples``,
    ``decision_function``, ``predict`` and ``mahalanobis`` run on the device:
    one matrix product of ``X - location_`` with the stacked whitening
    matrices, squared norms, and a log-sum-exp over the components, chunk by
    chunk in the input's dtype. ``score_to_pvalue`` evaluates the chi-square
    survival function on host.

    References
    ----------
    .. [1] O. Rippel, P. Mertens and D. Merhof, "Modeling the Distribution of
       Normal Data in Pre-Trained Deep Features for Anomaly Detection",
       ICPR 2020. arXiv:2005.14140.
    .. [2] K. Lee, K. Lee, H. Lee and J. Shin, "A Simple Unified Framework for
       Detecting Out-of-Distribution Samples and Adversarial Attacks",
       NeurIPS 2018. arXiv:1807.03888.
    .. [3] "Hierarchical Visual Categories Modeling: A Joint Representation
       Learning and Density Estimation Framework for Out-of-Distribution
       Detection", ICCV 2023. arXiv:2408.15580.

    Examples
    --------
    >>> import numpy as np
    >>> from skrep.ood import GaussianMixtureOODDetector
    >>> rng = np.random.RandomState(0)
    >>> X = np.r_[rng.normal(0, 1, (100, 3)), rng.normal(6, 1, (100, 3))]
    >>> y = np.r_[np.zeros(100), np.ones(100)]
    >>> det = GaussianMixtureOODDetector().fit(X, y)
    >>> det.predict([[0.0, 0.0, 0.0], [6.0, 6.0, 6.0], [3.0, -3.0, 9.0]])
    array([ 1,  1, -1])
    >>> det.mahalanobis([[0.0, 0.0, 0.0]]).shape  # (n_samples, classes, blocks)
    (1, 2, 1)
    """

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "covariance_type": [StrOptions({"full", "tied", "diag", "spherical"})],
        "feature_blocks": [
            Interval(Integral, 1, None, closed="left"),
            "array-like",
            None,
        ],
        "block_aggregation": [StrOptions({"auto", "joint", "separate"})],
        "shrinkage": [
            StrOptions({"ledoit_wolf", "oas"}),
            Interval(Real, 0, 1, closed="both"),
            None,
        ],
        "reg_covar": [Interval(Real, 0, None, closed="left")],
        "subspace": [StrOptions({"top", "low_variance"}), None],
        "variance_threshold": [Interval(Real, 0, 1, closed="neither")],
        "contamination": [
            StrOptions({"auto"}),
            Interval(Real, 0, 0.5, closed="right"),
        ],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "n_init": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "n_jobs": [Integral, None],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        n_components=1,
        *,
        covariance_type="tied",
        feature_blocks=None,
        block_aggregation="auto",
        shrinkage="ledoit_wolf",
        reg_covar=1e-6,
        subspace=None,
        variance_threshold=0.99,
        contamination="auto",
        max_iter=100,
        tol=1e-3,
        n_init=1,
        random_state=None,
        n_jobs=None,
        verbose=0,
    ):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.feature_blocks = feature_blocks
        self.block_aggregation = block_aggregation
        self.shrinkage = shrinkage
        self.reg_covar = reg_covar
        self.subspace = subspace
        self.variance_threshold = variance_threshold
        self.contamination = contamination
        self.max_iter = max_iter
        self.tol = tol
        self.n_init = n_init
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose

    # ------------------------------------------------------------------ fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the Gaussian models of the in-distribution classes.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training feature vectors.
        y : array-like of shape (n_samples,), default=None
            Class labels; None models all rows as one class. Rows labelled -1
            are known outliers: they are not modelled, and only train the
            logistic regression that combines the blocks' scores
            (``block_aggregation='separate'``).

        Returns
        -------
        self : object
            The fitted detector.
        """
        start = time.perf_counter()
        xp, _ = get_namespace(X)
        X = validate_data(self, X, dtype=[xp.float64, xp.float32])
        xp, is_array_api, device = get_namespace_and_device(X)
        if X.shape[0] < 2:
            raise ValueError(
                f"GaussianMixtureOODDetector needs at least 2 samples, got "
                f"{X.shape[0]} sample."
            )
        labels, outliers = self._check_y(X, y)
        aggregation = self._resolve_aggregation(outliers is not None)
        X_in = X if outliers is None else _take_rows(X, ~outliers, xp, device)
        y_in = labels if outliers is None else labels[~outliers]
        if X_in.shape[0] < 2:
            raise ValueError(
                "GaussianMixtureOODDetector needs at least 2 in-distribution "
                f"samples (y != -1), got {X_in.shape[0]} sample."
            )
        self.block_bounds_ = self._block_bounds(X.shape[1])
        self._edges = tuple(int(v) for v in self.block_bounds_)
        self.classes_ = np.unique(y_in)
        self._fitted_with_y = y is not None
        self._moments = None
        self._merge_moments(X_in, y_in)
        self._log(f"statistics of {len(self.classes_)} classes", start)
        if is_array_api:
            # EM runs on host (scikit-learn's GaussianMixture); the closed
            # form only needs the moments.
            X_host = to_numpy(X_in, xp) if self.n_components > 1 else None
            self._finalize(X_host, y_in)
            self._to_device(xp, device)
        else:
            self._finalize(X_in, y_in)
        self._log("Gaussian models", start)
        self.combiner_ = None
        if aggregation == "separate" and outliers is not None:
            X_out = _take_rows(X, outliers, xp, device) if is_array_api else None
            self._fit_combiner(X_in, X[outliers] if X_out is None else X_out)
            self._log("logistic regression on the block scores", start)
        self._set_offset(X_in)
        return self

    @available_if(_streamable)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None, classes=None):
        """Update the model with a chunk of rows (exact streaming moments).

        Counts, means and centred scatter matrices are merged exactly, so
        fitting chunk by chunk gives the model that :meth:`fit` gives on all
        rows, up to rounding. Only with ``n_components=1`` and without known
        outliers. With a float ``contamination`` the offset is the quantile of
        the latest chunk's scores.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            A chunk of in-distribution rows.
        y : array-like of shape (n_samples,), default=None
            Class labels of the chunk; None for a model of one class (then
            every call must give None).
        classes : array-like of shape (n_classes,), default=None
            All class labels, optional; classes absent from the first chunks
            are otherwise added when they appear.

        Returns
        -------
        self : object
            The updated detector.
        """
        start = time.perf_counter()
        first = not hasattr(self, "_moments") or self._moments is None
        xp, _ = get_namespace(X)
        X = validate_data(self, X, dtype=[xp.float64, xp.float32], reset=first)
        xp, is_array_api, device = get_namespace_and_device(X)
        labels, outliers = self._check_y(X, y)
        if outliers is not None:
            raise ValueError(
                "partial_fit does not take known outliers (rows with y == -1); "
                "use fit for the logistic-regression combination."
            )
        if first:
            self._moments = None
            self._resolve_aggregation(False)
            self.block_bounds_ = self._block_bounds(X.shape[1])
            self._edges = tuple(int(v) for v in self.block_bounds_)
            self._fitted_with_y = y is not None
            self.classes_ = np.unique(labels[:0])
        elif self._fitted_with_y != (y is not None):
            raise ValueError(
                "partial_fit got y in some calls and not in others; give class "
                "labels in every call or in none."
            )
        if classes is not None:
            classes = np.unique(column_or_1d(to_host(classes)))
            if not np.all(np.isin(np.unique(labels), classes)):
                raise ValueError(
                    "y has labels that are not in `classes`: "
                    f"{np.setdiff1d(np.unique(labels), classes)}."
                )
        self._merge_moments(X, labels, extra_classes=classes)
        self._finalize(None, None)
        if is_array_api:
            self._to_device(xp, device)
        self.combiner_ = None
        self._set_offset(X)
        self._log("partial_fit", start)
        return self

    # ------------------------------------------------------------- scoring
    def score_samples(self, X):
        """Score of each row; higher means more in-distribution.

        Minus the squared Mahalanobis distance to the nearest class (summed
        over blocks as ``block_aggregation`` says), the largest class
        log-likelihood with ``n_components > 1``, or the logistic regression's
        log-odds of being in-distribution when known outliers were given.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to score.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            float32 for float32 input, float64 otherwise.
        """
        X, xp, is_array_api, device = self._check_X(X, "score_samples")
        return self._score_validated(X, xp, is_array_api, device)

    def _score_validated(self, X, xp, is_array_api, device):
        """``score_samples`` of rows that ``_check_X`` has validated."""
        if is_array_api:
            state = self._xp_state(xp, device, X.dtype)
            return self._xp_map(
                X,
                xp,
                lambda Xc: self._xp_aggregate(self._xp_chunk_stats(Xc, state), state),
            )
        out = np.empty(X.shape[0], dtype=X.dtype)
        state = self._scoring_state(X.dtype)

        def score(rows):
            out[rows] = self._aggregate(self._chunk_stats(X[rows], state))

        self._map_chunks(X, score)
        return out

    def decision_function(self, X):
        """Shifted score: negative for outliers, positive for inliers.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to score.

        Returns
        -------
        decision : ndarray of shape (n_samples,)
            ``score_samples(X) - offset_``.
        """
        check_same_namespace(X, self, attribute="location_", method="decision_function")
        return self.score_samples(X) - self.offset_

    def predict(self, X):
        """Label rows as in-distribution (+1) or out-of-distribution (-1).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to label.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            +1 for inliers, -1 for outliers.
        """
        check_same_namespace(X, self, attribute="location_", method="predict")
        decision = self.decision_function(X)
        xp, is_array_api, device = get_namespace_and_device(decision)
        if is_array_api:
            one = xp.ones(decision.shape[0], dtype=xp.int64, device=device)
            return xp.where(decision < 0, -one, one)
        is_inlier = np.ones(decision.shape[0], dtype=int)
        is_inlier[decision < 0] = -1
        return is_inlier

    def mahalanobis(self, X):
        """Squared Mahalanobis distances to every class, block by block.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to measure.

        Returns
        -------
        distances : ndarray of shape (n_samples, n_classes, n_blocks)
            Squared distance of each row to each class's Gaussian in each
            block (with ``n_components > 1``: to the class's nearest
            component).
        """
        X, xp, is_array_api, device = self._check_X(X, "mahalanobis")
        C, M, B = len(self.classes_), self.n_components, len(self._blocks)
        if is_array_api:
            state = self._xp_state(xp, device, X.dtype)
            return self._xp_map(
                X,
                xp,
                lambda Xc: xp.min(
                    xp.reshape(self._xp_chunk_sq(Xc, state), (-1, C, M, B)), axis=2
                ),
            )
        out = np.empty((X.shape[0], C, B), dtype=X.dtype)
        state = self._scoring_state(X.dtype)

        def measure(rows):
            sq = self._chunk_sq(X[rows], state)
            out[rows] = sq.reshape(-1, C, M, B).min(axis=2)

        self._map_chunks(X, measure)
        return out

    def score_to_pvalue(self, X):
        """p-value of each row under the fitted Gaussian law.

        The probability that an in-distribution row lies at least as far
        from the nearest class as this one: ``chi2.sf(D2, df_)``, with ``D2``
        the squared distance aggregated over blocks as ``block_aggregation``
        says (the nearest component with ``n_components > 1``). Higher means
        more in-distribution; ``p < 1 - 0.9973`` is the 'auto' rule.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to test.

        Returns
        -------
        pvalues : ndarray of shape (n_samples,)
        """
        check_same_namespace(X, self, attribute="location_", method="score_to_pvalue")
        sq = self.mahalanobis(X)
        xp, is_array_api, device = get_namespace_and_device(sq)
        if is_array_api:
            # The squared distances are reduced on device; the chi-square
            # survival function (scipy) runs on host.
            dt = supported_float_dtypes(xp, device)[0]
            sq = xp.astype(sq, dt)
            if self._aggregation == "joint":
                d2 = xp.min(xp.sum(sq, axis=2), axis=1)
            else:
                d2 = xp.sum(xp.min(sq, axis=1), axis=1)
            p = chi2.sf(to_numpy(d2, xp).astype(np.float64), self.df_)
            return to_namespace(p, xp, device, dtype=dt)
        sq = sq.astype(np.float64, copy=False)
        if self._aggregation == "joint":
            d2 = sq.sum(axis=2).min(axis=1)
        else:
            d2 = sq.min(axis=1).sum(axis=1)
        return chi2.sf(d2, self.df_)

    # ------------------------------------------------------ private: checks
    def _log(self, what, start):
        if self.verbose:
            elapsed = time.perf_counter() - start
            print(f"[GaussianMixtureOODDetector] {what}: {elapsed:.3f} s")

    def _check_X(self, X, method):
        """Validated X, its namespace, whether it is not numpy, its device."""
        check_is_fitted(self)
        check_same_namespace(X, self, attribute="location_", method=method)
        xp, _ = get_namespace(X)
        X = validate_data(self, X, dtype=[xp.float64, xp.float32], reset=False)
        xp, is_array_api, device = get_namespace_and_device(X)
        return X, xp, is_array_api, device

    def _check_y(self, X, y):
        """Return the labels (zeros without y) and the mask of y == -1 rows."""
        if y is None:
            return np.zeros(X.shape[0], dtype=int), None
        y = to_host(y)  # labels live on host, whatever X's namespace
        y = column_or_1d(check_array(y, ensure_2d=False, dtype=None), warn=True)
        check_consistent_length(X, y)
        outliers = None
        if y.dtype.kind in "iuf":
            if y.dtype.kind == "f" and not np.all(np.isfinite(y)):
                raise ValueError("y contains NaN or infinity.")
            mask = y == -1
            if mask.any():
                outliers = mask
        return y, outliers

    def _resolve_aggregation(self, has_outliers):
        aggregation = self.block_aggregation
        if aggregation == "auto":
            aggregation = "separate" if has_outliers else "joint"
        if has_outliers and aggregation == "joint":
            raise ValueError(
                "Rows labelled -1 (known outliers) train the logistic "
                "regression of block_aggregation='separate'; they cannot be "
                "used with block_aggregation='joint'."
            )
        self._aggregation = aggregation
        return aggregation

    def _block_bounds(self, n_features):
        blocks = self.feature_blocks
        if blocks is None:
            return np.array([0, n_features])
        if isinstance(blocks, numbers.Integral):
            if blocks > n_features:
                raise ValueError(
                    f"feature_blocks={blocks} must be at most n_features={n_features}."
                )
            sizes = [len(a) for a in np.array_split(np.arange(n_features), blocks)]
        else:
            sizes = np.asarray(blocks)
            if sizes.ndim != 1 or sizes.size == 0 or sizes.dtype.kind not in "iu":
                raise ValueError(
                    "feature_blocks must be an int or a 1-d list of block "
                    f"sizes (ints); got {blocks!r}."
                )
            if np.any(sizes < 1) or sizes.sum() != n_features:
                raise ValueError(
                    "feature_blocks sizes must be positive and add up to "
                    f"n_features={n_features}; got {sizes.tolist()} "
                    f"(sum {int(sizes.sum())})."
                )
        return np.concatenate([[0], np.cumsum(sizes)]).astype(np.intp)

    # ---------------------------------------------- private: statistics
    def _merge_moments(self, X, y, extra_classes=None):
        """Merge the exact per-class, per-block moments of (X, y).

        Per class: count, mean and, per block, the centred scatter matrix
        ``M2``, the sum of ``||x_b - m_b||^4`` (``Q4``) and of
        ``||x_b - m_b||^2 (x_b - m_b)`` (``T3``), merged with Chan et al.'s
        pairwise update (its fourth-order extension). With array-API input
        the chunk's own moments are computed on its device (the ``O(n p^2)``
        work) and merged on host.
        """
        bounds = self._edges
        B = len(bounds) - 1
        old = self._moments
        labels = np.unique(y)
        if extra_classes is not None:
            labels = np.union1d(labels, extra_classes)
        if old is not None:
            labels = np.union1d(labels, old["classes"])
        d = X.shape[1]
        C = len(labels)
        new = {
            "classes": labels,
            "n": np.zeros(C),
            "mean": np.zeros((C, d)),
            "M2": [
                np.zeros((C, e - s, e - s))
                for s, e in zip(bounds[:-1], bounds[1:], strict=True)
            ],
            "Q4": np.zeros((C, B)),
            "T3": [
                np.zeros((C, e - s))
                for s, e in zip(bounds[:-1], bounds[1:], strict=True)
            ],
        }
        if old is not None:
            idx = np.searchsorted(labels, old["classes"])
            new["n"][idx] = old["n"]
            new["mean"][idx] = old["mean"]
            new["Q4"][idx] = old["Q4"]
            for b in range(B):
                new["M2"][b][idx] = old["M2"][b]
                new["T3"][b][idx] = old["T3"][b]
        xp, is_array_api, device = get_namespace_and_device(X)
        chunk_moments = None
        if is_array_api:
            chunk_moments = _xp_class_moments(X, y, labels, bounds, xp, device)
        elif len(labels) > 1:
            # Sort the rows by class once: each class is a contiguous slice.
            order = np.argsort(y, kind="stable")
            y_sorted = y[order]
            X_sorted = X[order].astype(np.float64, copy=False)
        else:
            y_sorted, X_sorted = y, X.astype(np.float64, copy=False)
        if chunk_moments is None:
            starts = np.searchsorted(y_sorted, labels, side="left")
            stops = np.searchsorted(y_sorted, labels, side="right")
        for ci in range(len(labels)):
            if chunk_moments is not None:
                if chunk_moments[ci] is None:
                    continue
                nB, mB, block_moments = chunk_moments[ci]
            else:
                rows = X_sorted[starts[ci] : stops[ci]]
                if rows.shape[0] == 0:
                    continue
                nB = rows.shape[0]
                mB = rows.mean(axis=0)
                Y = rows - mB
            nA, mA = new["n"][ci], new["mean"][ci].copy()
            n = nA + nB
            m = mA + (mB - mA) * (nB / n)
            dA, dB = mA - m, mB - m
            for b, (s, e) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
                if chunk_moments is not None:
                    M2B, Q4B, T3B = block_moments[b]
                else:
                    Yb = Y[:, s:e]
                    r = np.einsum("ij,ij->i", Yb, Yb)
                    M2B, Q4B, T3B = Yb.T @ Yb, float(r @ r), r @ Yb
                M2A, Q4A, T3A = new["M2"][b][ci], new["Q4"][ci, b], new["T3"][b][ci]
                parts = [(nA, M2A, Q4A, T3A, dA[s:e]), (nB, M2B, Q4B, T3B, dB[s:e])]
                M2 = np.zeros_like(M2B)
                Q4 = 0.0
                T3 = np.zeros_like(T3B)
                for nS, M2S, Q4S, T3S, delta in parts:
                    if nS == 0:
                        continue
                    tr = np.trace(M2S)
                    dd = float(delta @ delta)
                    M2d = M2S @ delta
                    Q4 += (
                        Q4S
                        + 4.0 * float(delta @ M2d)
                        + nS * dd * dd
                        + 4.0 * float(delta @ T3S)
                        + 2.0 * tr * dd
                    )
                    T3 += T3S + tr * delta + 2.0 * M2d + nS * dd * delta
                    M2 += M2S + nS * np.outer(delta, delta)
                new["M2"][b][ci] = M2
                new["Q4"][ci, b] = Q4
                new["T3"][b][ci] = T3
            new["n"][ci] = n
            new["mean"][ci] = m
        self._moments = new

    @staticmethod
    def _shrink(S, n, q4, shrinkage):
        """Shrinkage coefficient of the covariance S of n centred rows."""
        p = S.shape[0]
        if shrinkage is None or p == 1:
            return 0.0
        if isinstance(shrinkage, Real):
            return float(shrinkage)
        mu = np.trace(S) / p
        fro2 = float(np.sum(S * S))
        if shrinkage == "ledoit_wolf":
            beta = (q4 / n - fro2) / (p * n)
            delta = (fro2 - 2.0 * mu * np.trace(S) + p * mu**2) / p
            beta = min(beta, delta)
            return 0.0 if beta == 0 else beta / delta
        # OAS, as scikit-learn computes it.
        alpha = fro2 / p**2
        num = alpha + mu**2
        den = (n + 1) * (alpha - mu**2 / p)
        return 1.0 if den == 0 else min(num / den, 1.0)

    def _covariance(self, S, n, q4):
        """Shrunk, regularised covariance and its shrinkage coefficient."""
        s = self._shrink(S, n, q4, self.shrinkage)
        p = S.shape[0]
        cov = (1.0 - s) * S
        cov.flat[:: p + 1] += s * np.trace(S) / p + self.reg_covar
        return cov, s

    def _finalize(self, X, y):
        """Turn the moments (and, for EM, the data) into scoring parameters."""
        mom = self._moments
        present = mom["n"] > 0
        self.classes_ = mom["classes"][present]
        self.class_count_ = mom["n"][present].astype(np.int64)
        n_c = mom["n"][present]
        means = mom["mean"][present]
        N = n_c.sum()
        self.location_ = (n_c @ means) / N
        C, M = len(self.classes_), self.n_components
        ctype = self.covariance_type
        bounds = self._edges
        # Host arrays (a previous partial_fit may have moved them to a device).
        self.block_bounds_ = np.asarray(bounds, dtype=np.intp)
        blocks, covariances, shrinkages, components = [], [], [], []
        means_full = np.tile(self.location_, (C, M, 1))
        weights = np.ones((C, M, len(bounds) - 1))
        n_iter = 1
        rng = check_random_state(self.random_state)
        for b, (s, e) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
            M2 = mom["M2"][b][present]
            Q4 = mom["Q4"][present, b]
            cmeans = means[:, s:e] - self.location_[s:e]
            V = self._subspace(M2.sum(axis=0) / N)
            components.append(None if V is None else V.T.copy())
            k = e - s if V is None else V.shape[1]
            if M == 1:
                # Closed form: one Gaussian per class.
                if ctype == "tied":
                    covs = [self._covariance(M2.sum(axis=0) / N, N, Q4.sum())]
                else:
                    covs = [
                        self._covariance(M2[c] / n_c[c], n_c[c], Q4[c])
                        for c in range(C)
                    ]
                shrink = np.array([c[1] for c in covs])
                covs = [c[0] if V is None else V.T @ c[0] @ V for c in covs]
                mu = cmeans if V is None else cmeans @ V  # (C, k)
                mu = mu[:, None, :]  # (C, 1, k)
                if ctype == "tied":
                    cov_attr = covs[0]
                    groups = [covs[0]]
                elif ctype == "full":
                    cov_attr = np.stack(covs)[:, None]
                    groups = covs
                elif ctype == "diag":
                    cov_attr = np.stack([np.diag(c) for c in covs])[:, None]
                    groups = None
                else:
                    cov_attr = np.array([np.trace(c) / k for c in covs])[:, None]
                    groups = None
            else:
                mu, cov_attr, groups, w, it = self._fit_em(X, y, s, e, V, k, rng)
                shrink = np.zeros(1)
                weights[:, :, b] = w
                n_iter = max(n_iter, it)
            covariances.append(cov_attr)
            shrinkages.append(shrink)
            if V is None:
                means_full[:, :, s:e] += mu
            else:
                means_full[:, :, s:e] += mu @ V.T
            blocks.append(self._scoring_params(mu, cov_attr, groups, V, k, b))
        self._blocks = blocks
        self.covariances_ = covariances
        width = max(len(sh) for sh in shrinkages)
        self.shrinkage_ = np.array(
            [
                np.pad(sh, (0, width - len(sh)), constant_values=sh[-1])
                for sh in shrinkages
            ]
        )
        self.subspace_components_ = components
        self.means_ = means_full
        self.weights_ = weights
        self.df_ = int(sum(blk["k"] for blk in blocks))
        self.n_iter_ = n_iter

    def _subspace(self, S):
        """Principal directions kept by ``subspace`` (columns) or None."""
        if self.subspace is None:
            return None
        evals, evecs = linalg.eigh(S)
        evals, evecs = evals[::-1], evecs[:, ::-1]
        total = evals.clip(min=0).sum()
        if total <= 0:
            raise ValueError(
                "subspace needs data that vary; the within-class covariance is zero."
            )
        ratio = np.cumsum(evals.clip(min=0)) / total
        j = int(np.searchsorted(ratio, self.variance_threshold, side="right"))
        j = min(j, len(evals) - 1)
        keep = slice(0, j + 1) if self.subspace == "top" else slice(j, None)
        return np.ascontiguousarray(evecs[:, keep])

    def _fit_em(self, X, y, s, e, V, k, rng):
        """Per-class Gaussian mixtures on one block (projected, centred)."""
        from sklearn import config_context
        from sklearn.mixture import GaussianMixture
        from sklearn.utils.parallel import Parallel, delayed

        C, M = len(self.classes_), self.n_components
        seeds = rng.randint(np.iinfo(np.int32).max, size=C)
        data = []
        for label in self.classes_:
            P = X[y == label][:, s:e].astype(np.float64) - self.location_[s:e]
            if V is not None:
                P = P @ V
            if P.shape[0] < M:
                raise ValueError(
                    f"n_components={M} needs at least {M} samples per class; "
                    f"class {label!r} has {P.shape[0]}."
                )
            data.append(P)

        def one(P, seed):
            # The per-class data are numpy arrays here; scikit-learn's EM
            # refuses its default k-means initialisation under array-API
            # dispatch, which is irrelevant to numpy input.
            with config_context(array_api_dispatch=False):
                return _fit_mixture(P, seed)

        def _fit_mixture(P, seed):
            gm = GaussianMixture(
                M,
                covariance_type=self.covariance_type,
                reg_covar=max(self.reg_covar, 1e-12),
                max_iter=self.max_iter,
                tol=self.tol,
                n_init=self.n_init,
                random_state=seed,
            )
            return gm.fit(P)

        fits = Parallel(n_jobs=self.n_jobs)(
            delayed(one)(P, seed) for P, seed in zip(data, seeds, strict=True)
        )
        mu = np.stack([g.means_ for g in fits])  # (C, M, k)
        w = np.stack([g.weights_ for g in fits])
        it = max(g.n_iter_ for g in fits)
        covs = [g.covariances_ for g in fits]
        ctype = self.covariance_type
        if ctype == "full":
            cov_attr = np.stack(covs)
            groups = [cov for g in covs for cov in g]
        elif ctype == "tied":
            cov_attr = np.stack(covs)
            groups = list(covs)
        elif ctype == "diag":
            cov_attr, groups = np.stack(covs), None
        else:
            cov_attr, groups = np.stack(covs), None
        return mu, cov_attr, groups, w, it

    def _scoring_params(self, mu, cov_attr, groups, V, k, b):
        """Whitening matrices and whitened means of one block.

        mu has shape (C, M, k), relative to ``location_``. For 'full' and
        'tied' covariances Sigma = L L^T, the whitening is W = V L^{-T}
        (d_b x k, V = I without subspace): z = (x - location) W and the
        squared distance to a mean is ||z - mu L^{-T}||^2.
        """
        C, M = mu.shape[:2]
        G = C * M
        flat_mu = mu.reshape(G, k)
        params = {"k": k, "kind": "dense" if groups is not None else "diag"}
        if groups is not None:
            Ws, Ls = [], []
            for g, cov in enumerate(groups):
                try:
                    L = linalg.cholesky(cov, lower=True)
                except linalg.LinAlgError:
                    L = None
                if L is None or not np.all(np.diag(L) > 0):
                    raise ValueError(
                        f"The covariance of block {b} (group {g}) is singular. "
                        "Use shrinkage ('ledoit_wolf', 'oas' or a float) or a "
                        f"positive reg_covar (got shrinkage={self.shrinkage!r}, "
                        f"reg_covar={self.reg_covar!r})."
                    )
                Linv_T = linalg.solve_triangular(L, np.eye(k), lower=True).T
                Ws.append(Linv_T if V is None else V @ Linv_T)
                Ls.append(L)
            n_groups = len(groups)
            per = G // n_groups  # Gaussians per group (consecutive)
            member = np.arange(G) // per
            nu = np.stack(
                [
                    linalg.solve_triangular(Ls[member[g]], flat_mu[g], lower=True)
                    for g in range(G)
                ]
            )
            logdets = np.array([np.log(np.diag(L)).sum() for L in Ls])
            triangular = V is None and n_groups == G
            params.update(
                UT=np.stack([W.T for W in Ws]) if triangular else None,
                W=np.ascontiguousarray(np.hstack(Ws)),
                nu=nu,
                nu_sq=np.einsum("ij,ij->i", nu, nu),
                n_groups=n_groups,
                per=per,
                half_logdet=logdets[member],
            )
        else:
            if cov_attr.ndim == 2:  # spherical: (C, M)
                var = np.repeat(cov_attr.reshape(G, 1), k, axis=1)
            else:
                var = cov_attr.reshape(G, k)
            if np.any(var <= 0):
                raise ValueError(
                    f"A variance of block {b} is zero. Use shrinkage or a positive "
                    f"reg_covar (got shrinkage={self.shrinkage!r}, "
                    f"reg_covar={self.reg_covar!r})."
                )
            iv = 1.0 / var
            params.update(
                V=V,
                iv=iv,
                mu_iv=flat_mu * iv,
                const=np.einsum("ij,ij->i", flat_mu * flat_mu, iv),
                half_logdet=0.5 * np.log(var).sum(axis=1),
            )
        return params

    # ------------------------------------------------ private: scoring
    def _chunk_rows(self, n_samples, itemsize):
        width = sum(
            blk["W"].shape[1] if blk["kind"] == "dense" else 3 * blk["k"]
            for blk in self._blocks
        )
        width += self.n_features_in_ + 2 * len(self.classes_) * self.n_components
        rows = _CHUNK_BYTES // (itemsize * max(width, 1))
        return int(min(max(rows, 64), max(n_samples, 1)))

    def _scoring_state(self, dt):
        """The scoring parameters cast to the input's dtype (once per call)."""
        blocks = [
            {
                k: (v.astype(dt) if isinstance(v, np.ndarray) else v)
                for k, v in blk.items()
            }
            for blk in self._blocks
        ]
        state = {"blocks": blocks, "loc": self.location_.astype(dt), "dt": dt}
        if self.n_components > 1:
            const = np.array([blk["k"] * np.log(2 * np.pi) for blk in self._blocks])
            half_logdet = np.stack([blk["half_logdet"] for blk in self._blocks], axis=1)
            state["offset"] = (-0.5 * const[None, :] - half_logdet).astype(dt)
            state["logw"] = np.log(self.weights_).astype(dt)  # (C, M, B)
        return state

    def _chunk_sq(self, Xc, state):
        """Squared distances of a chunk to every Gaussian: (chunk, C*M, B)."""
        Xc = Xc - state["loc"]
        bounds = self.block_bounds_
        blocks = state["blocks"]
        G = len(self.classes_) * self.n_components
        if len(blocks) == 1:
            sq = _block_sq_distances(Xc, blocks[0])[:, :, None]
        else:
            sq = np.empty((Xc.shape[0], G, len(blocks)), dtype=state["dt"])
            for b, blk in enumerate(blocks):
                sq[:, :, b] = _block_sq_distances(Xc[:, bounds[b] : bounds[b + 1]], blk)
        return np.maximum(sq, 0, out=sq)

    def _chunk_stats(self, Xc, state):
        """Per-class, per-block statistics of a chunk: (chunk, C, B).

        Minus the squared distance (``n_components=1``) or the class
        log-likelihood (``n_components > 1``); higher = more normal.
        """
        sq = self._chunk_sq(Xc, state)
        if self.n_components == 1:
            return np.negative(sq, out=sq)
        C, M = len(self.classes_), self.n_components
        logp = -0.5 * sq + state["offset"]
        logp = logp.reshape(-1, C, M, len(self._blocks))
        return logsumexp(logp + state["logw"][None], axis=2)

    def _map_chunks(self, X, func):
        """Call ``func(rows)`` on row chunks of X, on several threads.

        Each chunk's matrix products run single-threaded (BLAS limited to one
        thread) while ``n_jobs`` threads (default: BLAS's own thread count)
        work on different chunks: no BLAS synchronisation on small products,
        and every chunk stays in cache.
        """
        step = self._chunk_rows(X.shape[0], X.dtype.itemsize)
        chunks = [
            slice(start, min(start + step, X.shape[0]))
            for start in range(0, X.shape[0], step)
        ]
        map_threads(func, chunks, self.n_jobs)

    def _aggregate(self, stats):
        """Combine per-class, per-block statistics into one score per row."""
        if self._aggregation == "joint":
            return stats.sum(axis=2).max(axis=1)
        per_block = stats.max(axis=1)  # nearest class in each block
        if self.combiner_ is not None:
            return self.combiner_.decision_function(per_block).astype(stats.dtype)
        return per_block.sum(axis=1)

    def _fit_combiner(self, X_in, X_out):
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        feats = []
        for Z in (X_in, X_out):
            xp, is_array_api, device = get_namespace_and_device(Z)
            if is_array_api:
                # Block scores on device; the logistic regression (B features)
                # is fitted on host.
                state = self._xp_state(xp, device, Z.dtype)
                F = self._xp_map(
                    Z,
                    xp,
                    lambda Zc, st=state, xp=xp: xp.max(
                        self._xp_chunk_stats(Zc, st), axis=1
                    ),
                )
                feats.append(to_numpy(F, xp).astype(np.float64))
                continue
            state = self._scoring_state(Z.dtype)
            out = np.empty((Z.shape[0], len(self._blocks)))

            def per_block(rows, Z=Z, out=out, state=state):
                out[rows] = self._chunk_stats(Z[rows], state).max(axis=1)

            self._map_chunks(Z, per_block)
            feats.append(out)
        F = np.vstack(feats)
        target = np.r_[np.ones(len(feats[0])), np.zeros(len(feats[1]))]
        combiner = make_pipeline(StandardScaler(), LogisticRegression())
        self.combiner_ = combiner.fit(F, target)

    def _set_offset(self, X_in):
        chi2_law = self.n_components == 1 and self.combiner_ is None
        if self.contamination == "auto" and chi2_law:
            self.offset_ = -float(chi2.ppf(_AUTO_P, self.df_))
            return
        q = 1.0 - _AUTO_P if self.contamination == "auto" else self.contamination
        # X_in is validated already: scoring it through score_samples would
        # validate it again and warn that a DataFrame's names are gone.
        scores = self._score_validated(X_in, *get_namespace_and_device(X_in))
        if not isinstance(scores, np.ndarray):
            scores = to_numpy(scores)
        self.offset_ = float(np.percentile(scores, 100.0 * q))

    # ------------------------------------------ private: array-API scoring
    def _to_device(self, xp, device):
        """Move the fitted arrays (host after ``_finalize``) to ``device``.

        Float arrays keep the float64 of the numpy fit (float32 where the
        device has no float64); the scoring state casts them to the input's
        dtype. The triangular whitening factors (a CPU TRMM shortcut) are
        dropped: on device every block is whitened by its stacked ``W``.
        """
        dt = supported_float_dtypes(xp, device)[0]

        def move(a):
            if a is None:
                return None
            if a.dtype.kind in "iu":
                return to_namespace(a, xp, device, dtype=xp.int64)
            return to_namespace(a, xp, device, dtype=dt)

        for name in (
            "class_count_",
            "location_",
            "means_",
            "weights_",
            "shrinkage_",
            "block_bounds_",
        ):
            setattr(self, name, move(getattr(self, name)))
        self.covariances_ = [move(c) for c in self.covariances_]
        self.subspace_components_ = [move(c) for c in self.subspace_components_]
        blocks = []
        for blk in self._blocks:
            moved = {
                key: (move(val) if isinstance(val, np.ndarray) and key != "UT" else val)
                for key, val in blk.items()
            }
            if "UT" in moved:
                moved["UT"] = None
            blocks.append(moved)
        self._blocks = blocks

    def _xp_state(self, xp, device, dt):
        """Scoring parameters on device, cast to the input's dtype."""

        def cast(a):
            return None if a is None else xp.astype(a, dt)

        blocks = [
            {
                key: (
                    val
                    if val is None or isinstance(val, (numbers.Number, str))
                    else cast(val)
                )
                for key, val in blk.items()
            }
            for blk in self._blocks
        ]
        state = {"blocks": blocks, "loc": cast(self.location_), "dt": dt, "xp": xp}
        if self.n_components > 1:
            const = [blk["k"] * np.log(2 * np.pi) for blk in self._blocks]
            const = to_namespace(np.asarray(const), xp, device, dtype=dt)
            half_logdet = xp.stack(
                [cast(blk["half_logdet"]) for blk in self._blocks], axis=1
            )
            state["offset"] = -0.5 * const[None, :] - half_logdet  # (G, B)
            state["logw"] = xp.log(cast(self.weights_))  # (C, M, B)
        if getattr(self, "combiner_", None) is not None:
            scaler, lr = self.combiner_[0], self.combiner_[-1]
            state["combiner"] = tuple(
                to_namespace(np.asarray(a, dtype=np.float64), xp, device, dtype=dt)
                for a in (scaler.mean_, scaler.scale_, lr.coef_[0], lr.intercept_)
            )
        return state

    def _xp_map(self, X, xp, func):
        """``func`` on chunks of rows of X, on its device; results stacked."""
        n = X.shape[0]
        width = self.n_features_in_
        for blk in self._blocks:
            if blk["kind"] == "dense":
                cols = blk["W"].shape[1]
                width += 3 * cols if blk["per"] == 1 else cols + blk["nu"].shape[0]
            else:
                width += 2 * blk["k"] + 3 * blk["iv"].shape[0]
        width += 4 * len(self.classes_) * self.n_components * len(self._blocks)
        itemsize = 4 if X.dtype == xp.float32 else 8
        step = max(_DEVICE_CHUNK_BYTES // (itemsize * width), 64)
        if n <= step:
            return func(X)
        parts = [
            func(X[start : min(start + step, n), ...]) for start in range(0, n, step)
        ]
        return xp.concat(parts, axis=0)

    def _xp_chunk_sq(self, Xc, state):
        """Squared distances of a chunk to every Gaussian: (chunk, C*M, B)."""
        xp = state["xp"]
        Xc = Xc - state["loc"]
        edges = self._edges
        blocks = state["blocks"]
        if len(blocks) == 1:
            sq = _xp_block_sq_distances(Xc, blocks[0], xp)[:, :, None]
        else:
            sq = xp.stack(
                [
                    _xp_block_sq_distances(Xc[:, edges[b] : edges[b + 1]], blk, xp)
                    for b, blk in enumerate(blocks)
                ],
                axis=2,
            )
        return xp.clip(sq, min=0)

    def _xp_chunk_stats(self, Xc, state):
        """Per-class, per-block statistics of a chunk, on device: (chunk, C, B)."""
        xp = state["xp"]
        sq = self._xp_chunk_sq(Xc, state)
        if self.n_components == 1:
            return -sq
        C, M, B = len(self.classes_), self.n_components, len(self._blocks)
        logp = -0.5 * sq + state["offset"][None, :, :]
        logp = xp.reshape(logp, (-1, C, M, B)) + state["logw"][None, ...]
        return _logsumexp(logp, axis=2, xp=xp)

    def _xp_aggregate(self, stats, state):
        """Combine per-class, per-block statistics into one score per row."""
        xp = state["xp"]
        if self._aggregation == "joint":
            return xp.max(xp.sum(stats, axis=2), axis=1)
        per_block = xp.max(stats, axis=1)
        if "combiner" in state:
            mean, scale, coef, intercept = state["combiner"]
            return ((per_block - mean) / scale) @ coef + intercept
        return xp.sum(per_block, axis=1)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.array_api_support = True
        return tags


def _block_sq_distances(Xb, blk):
    """Squared distances of centred rows Xb (n, d_b) to a block's Gaussians."""
    k = blk["k"]
    if blk["kind"] == "dense":
        nu = blk["nu"]
        per = blk["per"]
        out = np.empty((Xb.shape[0], nu.shape[0]), dtype=Xb.dtype)
        if per == 1:
            from skrep.ood._kernels import stacked_sq_distances

            if blk["UT"] is not None:
                # Per-Gaussian covariances without a subspace: the whitening
                # L^{-T} is triangular, and a triangular product (TRMM) costs
                # half of a general one. Z^T = U^T X^T in place on a copy.
                trmm = get_blas_funcs("trmm", (Xb,))
                for g in range(nu.shape[0]):
                    B = np.array(Xb, order="C")
                    Z = trmm(
                        1.0, blk["UT"][g].T, B.T, lower=0, trans_a=1, overwrite_b=1
                    )
                    stacked_sq_distances(Z.T, nu[g], k, out, g)
                return out
            # Per-Gaussian covariances: ||z_g - nu_g||^2 on the stacked blocks,
            # one product for all Gaussians, then one compiled pass.
            Z = Xb @ blk["W"]
            stacked_sq_distances(Z, np.ascontiguousarray(nu.reshape(-1)), k, out, 0)
            return out
        Z = Xb @ blk["W"]  # (n, n_groups * k): one product for all groups
        # Tied within each group: ||z||^2 - 2 z.nu + ||nu||^2, one product.
        for g in range(blk["n_groups"]):
            Zg = Z[:, g * k : (g + 1) * k]
            members = slice(g * per, (g + 1) * per)
            cross = Zg @ nu[members].T
            cross *= -2.0
            cross += np.einsum("ij,ij->i", Zg, Zg)[:, None]
            cross += blk["nu_sq"][members][None, :]
            out[:, members] = cross
        return out
    P = Xb if blk["V"] is None else Xb @ blk["V"]
    out = (P * P) @ blk["iv"].T
    out -= 2.0 * (P @ blk["mu_iv"].T)
    out += blk["const"][None, :]
    return out


# ------------------------------------------------------- array-API helpers
def _take_rows(X, mask, xp, device):
    """Rows of X (any namespace) where the host boolean ``mask`` is True."""
    idx = np.flatnonzero(mask)
    if idx.size == X.shape[0]:
        return X
    return xp.take(X, to_namespace(idx, xp, device, dtype=xp.int64), axis=0)


def _xp_class_moments(X, y, labels, bounds, xp, device):
    """One chunk's per-class moments, computed on X's device.

    For each label: None when absent from the chunk, else ``(n, mean,
    [(M2, Q4, T3) per block])`` as host float64 arrays (small: ``p`` and
    ``p_b x p_b``), in the numpy path's order and definitions.
    """
    dt = supported_float_dtypes(xp, device)[0]
    out = []
    for label in labels:
        mask = y == label
        if not np.any(mask):
            out.append(None)
            continue
        rows = xp.astype(_take_rows(X, mask, xp, device), dt)
        mean = xp.mean(rows, axis=0)
        Y = rows - mean
        per_block = []
        for s, e in zip(bounds[:-1], bounds[1:], strict=True):
            Yb = Y[:, s:e]
            r = xp.sum(Yb * Yb, axis=1)
            per_block.append(
                (
                    to_numpy(Yb.T @ Yb, xp).astype(np.float64),
                    float(xp.sum(r * r)),
                    to_numpy(r @ Yb, xp).astype(np.float64),
                )
            )
        out.append((rows.shape[0], to_numpy(mean, xp).astype(np.float64), per_block))
    return out


def _xp_block_sq_distances(Xb, blk, xp):
    """Squared distances of centred rows Xb (n, d_b) to a block's Gaussians.

    The array-API form of :func:`_block_sq_distances`: one product with the
    stacked whitening matrices, then squared norms, all on Xb's device.
    """
    k = blk["k"]
    if blk["kind"] == "dense":
        nu = blk["nu"]
        per = blk["per"]
        Z = Xb @ blk["W"]  # (n, n_groups * k)
        if per == 1:
            # One whitening per Gaussian: ||z_g - nu_g||^2.
            D = xp.reshape(Z, (Z.shape[0], nu.shape[0], k)) - nu[None, :, :]
            return xp.sum(D * D, axis=2)
        parts = []
        for g in range(blk["n_groups"]):
            Zg = Z[:, g * k : (g + 1) * k]
            members = slice(g * per, (g + 1) * per)
            cross = -2.0 * (Zg @ nu[members, :].T)
            cross = cross + xp.sum(Zg * Zg, axis=1)[:, None]
            parts.append(cross + blk["nu_sq"][members][None, :])
        return parts[0] if len(parts) == 1 else xp.concat(parts, axis=1)
    P = Xb if blk["V"] is None else Xb @ blk["V"]
    out = (P * P) @ blk["iv"].T
    out = out - 2.0 * (P @ blk["mu_iv"].T)
    return out + blk["const"][None, :]
