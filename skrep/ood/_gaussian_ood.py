"""Out-of-distribution detection with class-conditional Gaussian models.

One estimator covers three Gaussian detectors on feature vectors:

* a single Gaussian with a shrunk covariance, optionally restricted to the
  leading or to the low-variance principal components (Rippel et al. 2020);
* class-conditional Gaussians scored by the Mahalanobis distance to the
  nearest class (Lee et al. 2018), optionally relative to a class-agnostic
  background Gaussian (Ren et al. 2021), with a feature ensemble over blocks
  of features;
* one Gaussian per class and per chunk of features, summed over the chunks
  (HVCM, ICCV 2023), and per-class Gaussian mixtures fitted by EM.

The statistics of every (class, fold) group of rows are merged exactly
(:mod:`skrep.ood._moments`), so that ``partial_fit`` over a stream gives the
model ``fit`` gives. The folds serve twice: the covariance model and the
shrinkage target are chosen by held-out log-likelihood, and the threshold is
calibrated on out-of-fold scores (split-conformal cross-fitting). Building
and scoring the Gaussians is :mod:`skrep.ood._model`.
"""

import numbers
import threading
import time
import warnings
from itertools import pairwise
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, OutlierMixin
from sklearn.mixture import GaussianMixture
from sklearn.utils import check_random_state
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import (
    check_array,
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from skrep.ood import _model
from skrep.ood._moments import (
    Folds,
    PooledFolds,
    RowFolds,
    feature_variance,
    group_moments,
    merge,
    nbytes,
    rescale,
    zeros,
)
from skrep.utils._array_api import (
    get_namespace,
    get_namespace_and_device,
    is_numpy_namespace,
    to_host,
    to_namespace,
    to_numpy,
)
from skrep.utils._compat import (
    Interval,
    StrOptions,
    _fit_context,
    array_namespace,
    check_same_namespace,
    supported_float_dtypes,
)
from skrep.utils._compat import device as get_device
from skrep.utils._threads import threads_for
from skrep.utils._verbose import Progress
from skrep.utils.extmath import unit_scale

__all__ = ["GaussianMixtureOODDetector"]

# The 'auto' false-positive rate: the 3-sigma rule of Rippel et al. (1 -
# 0.9973, written as the decimal it is: 1.0 - 0.9973 is 0.0027000000000000357).
_AUTO_RATE = 0.0027
# Rows kept for the calibration of partial_fit (the latest ones): enough
# for the 'auto' rate's quantile to be the 13th smallest out-of-fold score.
_CALIBRATION_ROWS = 5_000
# partial_fit chooses the model again once a class's rows have grown by this
# factor since the last choice (or when a class gets its first rows).
_CHOICE_GROWTH = 2.0
# covariance_type='auto' considers per-class covariances only while their
# scoring parameters (n_classes * sum_b p_b^2 floats) fit in this many bytes.
_AUTO_FULL_BYTES = 2**30
# fit and partial_fit refuse statistics of the (class, fold) groups larger
# than this many bytes (estimated before they are allocated; the peak of
# fit is about 1.7 times the statistics, up to 2.3 times with per-class
# candidates); fit falls back on the classes' pooled statistics where a tied
# covariance can use them (see _add_rows).
_STATISTICS_BYTES = 2**32
# A feature whose standard deviation, in units of its largest magnitude
# (rounded down to a power of two), is at most this is constant up to
# rounding: it does not set the identity target's common unit.
_CONSTANT_SPREAD = 2.0**-40
# fit computes the matrices of the (class, fold) statistics from the rows,
# one fold at a time, when all of them would take more than this many bytes
# (below, it holds them during the fit: one pass over the rows instead of
# two or three).
_ROW_FOLDS_BYTES = 2**26
# Rows that the leave-one-class-out model choice scores (an even subsample).
_SELECTION_ROWS = 5_000
# n_factors='auto' considers factor models only while the blocks together
# have at most this many features (each candidate costs cv + 1 iterative
# fits, each iteration an eigendecomposition of every block's p_b x p_b
# matrix: a bound on the total bounds the cost for any number of blocks).
_AUTO_FACTOR_FEATURES = 128
# The calibration splits each of the cv folds in this many (closed-form fits,
# n_components=1): its models are fitted on (1 - 1 / (2 cv)) of the rows, so
# that their out-of-fold scores are nearer a new row's under the model of all
# rows (on wine, 2 classes of 24-35 rows and 13 features: 4.3% of new rows
# flagged at contamination=0.05 with 5 calibration folds, 4.8% with 10).
_CALIBRATION_SPLIT = 2


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
      or ``'top'``.
    * **Class-conditional Gaussians** (Lee et al.): ``fit(X, y)``; score =
      minus the smallest squared Mahalanobis distance to a class mean, with
      ``relative=True`` minus the distance to a class-agnostic background
      Gaussian (Ren et al.'s relative Mahalanobis distance). With
      ``feature_blocks`` (e.g. one block per network layer) and
      ``block_aggregation='separate'`` each block is scored on its own and
      the block scores are summed, or combined by a logistic regression when
      known outliers are given as rows with ``y == -1``.
    * **Per-class Gaussians on feature chunks** (HVCM): ``feature_blocks=K``,
      ``covariance_type='full'``, ``block_aggregation='joint'``,
      ``class_score='mahalanobis'``; score = minus
      ``min_c sum_k (x_k - mu_ck)^T Sigma_ck^{-1} (x_k - mu_ck)``, which ranks
      rows as HVCM's score with equal mixture weights ``pi_ck = 1/K``.
      With ``n_components > 1`` each class (and block) is a Gaussian mixture
      fitted by EM and the score is the largest class log-likelihood.

    The defaults choose from the data, over ``cv`` folds: with 3 classes or
    more the covariance model, the shrinkage target and the class score
    (distance or log-density) by a leave-one-class-out detection task; with
    fewer, the shrinkage target or a factor model by held-out
    log-likelihood; and the threshold ``offset_`` from out-of-fold scores,
    so that the share of *new* in-distribution rows flagged is
    ``contamination``.

    Read more in the :ref:`User Guide <ood>`.

    Parameters
    ----------
    n_components : int, default=1
        Gaussians per class and per block. With 1, the covariance is estimated
        in closed form (with shrinkage) and rows are scored by Mahalanobis
        distances; with more, each class is a Gaussian mixture fitted by EM
        (:class:`sklearn.mixture.GaussianMixture`) and rows are scored by
        the class log-likelihood.

    covariance_type : {'auto', 'tied', 'full', 'diag', 'spherical'}, \
            default='auto'
        'tied': one covariance shared by all classes (with ``n_components > 1``:
        shared by the components of each class, as in
        :class:`~sklearn.mixture.GaussianMixture`); 'full': one covariance per
        class (and component); 'diag' and 'spherical': diagonal or scalar
        covariances per class (and component). 'auto': with 3 classes or
        more, 'tied' or 'full', whichever detects held-out classes best
        (below); with fewer, 'tied'. 'full' is a candidate only while
        ``n_classes * sum_b p_b^2`` floats take at most 1 GiB.

    shrinkage_target : {'auto', 'identity', 'diagonal'}, default='auto'
        What each covariance is shrunk towards (``n_components=1``).
        'identity': a multiple of the identity, ``(1 - s) S + s tr(S)/p I``
        (Ledoit-Wolf's target; one large-variance feature sets it).
        'diagonal': the same on features divided by their standard
        deviations, i.e. towards a multiple of the features' variances; the
        detector then scores as on standardised features. 'auto': with 3
        classes or more, the pair (covariance model, target) with the best
        leave-one-class-out AUROC over the ``cv`` folds: the model fitted
        without a fold scores the fold's rows, and each class in turn plays
        the out-of-distribution data, left out of the nearest-class search
        (a near-OOD task made of the training data; at most 5,000 rows are
        scored per candidate). With fewer classes, the target with the
        larger held-out log-likelihood (compared with factor models, see
        ``n_factors``).

    n_factors : 'auto', int or None, default='auto'
        Model each covariance by factor analysis, ``W W^T + diag(psi)``
        with ``n_factors`` columns in ``W`` (maximum likelihood, as
        :class:`~sklearn.decomposition.FactorAnalysis` fits it, from the
        covariance), instead of shrinking it: a few common factors and one
        noise variance per feature, whatever the features' units (the model
        is equivariant under a rescaling of the features, so
        ``shrinkage_target`` and ``shrinkage`` do not apply). For 'tied' and
        'full' covariances with ``n_components=1``, and fewer factors than
        the smallest block has features. None: shrunk covariances. 'auto':
        with fewer than 3 classes and ``shrinkage_target='auto'``, the shrunk
        covariances (both targets) and factor models with 1, 2, 4, ... up
        to half the smallest block's features (and fewer than the smallest
        class's rows) compete by held-out log-likelihood over the ``cv``
        folds (factor models only with at most 128 features in all, over all
        blocks); otherwise None (with 3 classes or more the
        leave-one-class-out choice compares shrunk covariances).

    class_score : {'auto', 'mahalanobis', 'log_density'}, default='auto'
        How a row is scored against a class (``n_components=1``).
        'mahalanobis': minus its squared Mahalanobis distance ``D^2_c``.
        'log_density': minus ``D^2_c + log det Sigma_c`` (relative to the
        classes' mean log-determinant), i.e. twice the class's Gaussian
        log-density up to a constant, with equal class weights; the same
        ranking as 'mahalanobis' for a tied covariance. 'auto': with 3
        classes or more, per-class covariances are also candidates with
        'log_density' in the leave-one-class-out choice
        (``shrinkage_target``); otherwise 'mahalanobis'. With
        ``n_components > 1`` a row is scored by the class's mixture
        log-likelihood: 'log_density' (or 'auto'); 'mahalanobis' raises a
        ``ValueError``.

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
        The shrinkage coefficient ``s``: the Ledoit-Wolf or OAS coefficient
        (as :class:`~sklearn.covariance.LedoitWolf` and
        :class:`~sklearn.covariance.OAS` compute it, on standardised features
        for the diagonal target) or a fixed ``s``; None keeps the
        maximum-likelihood covariance. Used with ``n_components=1``. Only
        'ledoit_wolf' needs the fourth-order statistics of the (class, fold)
        groups: any other value keeps a third of the memory (Notes).

    reg_covar : float, default=1e-6
        Added to the diagonal of every covariance, as a fraction of the
        block's mean within-class variance (measured along the shrinkage
        target), so that the model does not depend on the data's units. If
        both ``shrinkage`` and ``reg_covar`` are disabled a singular
        covariance raises a ``ValueError``.

    relative : bool, default=False
        Score by the relative Mahalanobis distance of Ren et al.: each class
        distance minus the distance to one background Gaussian of all
        in-distribution rows (with ``n_components > 1``: the class
        log-likelihood minus the background's). Needs at least two classes.

    subspace : {'top', 'low_variance'} or None, default=None
        Restrict each block to some of the principal components of the pooled
        within-class covariance (of the standardised features with the
        diagonal target). Let ``j`` be the first component at which the
        cumulative explained variance ratio exceeds ``variance_threshold``:
        'top' keeps components ``0..j`` (the classical PCA), 'low_variance'
        keeps components ``j..p-1`` (Rippel et al.'s NPCA, the directions in
        which normal data hardly vary). None: all features.

    variance_threshold : float in (0, 1), default=0.99
        The threshold ``t`` of ``subspace``.

    contamination : 'auto' or float in (0, 0.5], default='auto'
        The share of new in-distribution rows to flag, which sets
        ``offset_``. The rows are split into ``2 cv`` folds (``cv`` with
        ``n_components > 1``; every class spread evenly); each fold is
        scored by the model fitted on the other folds, and ``offset_`` is
        the ``contamination * (n + 1)``-th smallest of these ``n``
        out-of-fold scores, interpolated linearly between the two distinct
        scores around it, each at its highest rank (the inverse of
        :meth:`score_to_pvalue`; split-conformal calibration: a new
        in-distribution row is flagged with probability about
        ``contamination``; the order statistic ``k = floor(contamination *
        (n + 1))`` alone would flag ``k / (n + 1)``, e.g. 0.036 instead of
        0.05 with 54 rows;
        twice ``cv`` folds fit their models on more of the rows, whose
        out-of-fold scores are then nearer a new row's under the model of
        all rows). 'auto' is a 0.27% rate (the 3-sigma rule of Rippel et
        al.), or ``1 / (n + 1)`` with fewer than 370 rows, where no
        calibration score is as rare as 0.27%: ``offset_`` is then the
        smallest calibration score (the threshold of a float
        ``contamination`` of ``1 / (n + 1)``), and ``contamination_`` the
        rate. Over 40 seeds of Gaussian data 'auto' flagged 1.42% of new
        rows from 60 rows (5 features; 1 / 61 = 1.64%), 0.85% from 100
        (0.99%), 0.74% from 150 (0.66%), 0.35% from 300 (0.33%); over 30
        seeds of held-out rows, 1.49% on wine (59 rows; 1.67%), 1.19% of
        malignant breast-cancer rows (0.94%; 0.90% over 400 splits) and,
        over 400 splits, 0.39% of benign ones (0.56%): two near-duplicate
        extreme rows moderate each other's score in the model, so the
        threshold errs on the safe side (0.50% without them; see the user
        guide).
        A float ``contamination < 1 / (n + 1)`` cannot be calibrated: fitting
        warns, and the threshold extrapolates the out-of-fold squared
        distances by a scaled chi-square law with their mean and variance
        (Satterthwaite), at most the smallest out-of-fold score (which is
        the threshold where no distance law applies: mixtures, relative
        distances, the log-density, a logistic combination); it follows
        the tail of the model, not of the data.

    cv : int, default=5
        Folds of the model choice (at least 2); the calibration, and the
        out-of-fold block scores that fit ``combiner_``, split each in two
        (not with ``n_components > 1``). Each fold costs a model fitted
        from the other folds' statistics (an EM fit with
        ``n_components > 1``); every training row is scored once more.

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
        Print progress lines (``skrep.utils._verbose``): one per step of
        the fit (``step``), per candidate of the model choice
        (``candidate``), per fold of the out-of-fold scoring (``fold``) and,
        with ``n_components > 1``, per EM iteration of each class's mixture
        (``iter``, with the change of the lower bound).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The in-distribution class labels (``[0]`` when fitted without ``y``).

    class_count_ : ndarray of shape (n_classes,)
        Training rows per class.

    covariance_type_ : str
        The covariance model used ('auto' resolved).

    shrinkage_target_ : str
        The shrinkage target used, 'identity' or 'diagonal' ('auto'
        resolved; 'diagonal' for a factor model).

    n_factors_ : int or None
        The number of factors of the covariances, None for shrunk ones
        ('auto' resolved).

    class_score_ : str
        'mahalanobis' or 'log_density' ('auto' resolved; 'log_density' with
        ``n_components > 1``).

    selection_scores_ : dict
        The score of each candidate ``(covariance_type, shrinkage_target,
        n_factors, class_score)`` that was compared (empty when nothing was
        left to choose): the leave-one-class-out AUROC with 3 classes or
        more, else the mean held-out log-likelihood per row (with
        ``partial_fit``: at the last choice).

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
        Covariances in each block's coordinates, computed when read (the
        model itself lives in scaled coordinates; a ``ValueError`` when an
        entry overflows float64 in X's units). With a ``subspace``, the kept
        principal coordinates (standardised ones with the diagonal target);
        'spherical': the variance of standardised features with the diagonal
        target. Shaped as in
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
        The modelled dimension (sum of the blocks' kept dimensions).

    calibration_scores_ : ndarray of shape (n_calibration,)
        The sorted out-of-fold scores of the training rows (with
        ``partial_fit``: of the latest 5,000 streamed rows), which set
        ``offset_`` and :meth:`score_to_pvalue`.

    offset_ : float
        ``decision_function = score_samples - offset_``.

    contamination_ : float
        The flag rate ``offset_`` is calibrated for: ``contamination``, or
        for 'auto' 0.0027 (``1 - 0.9973``), or ``1 / (n + 1)`` below 370
        calibration rows (with ``partial_fit``, computed when first read,
        like ``offset_``).

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
    Cost of ``fit``: one pass over the data for the statistics of every
    (class, fold) group (three ``p_b x p_b`` products per group,
    ``O(n p^2)``); then, from the statistics alone, ``2 cv + 1`` models (the
    final one and one without each calibration fold; with ``n_components >
    1``, ``cv`` extra EM fits) and one scoring pass over the training rows for the
    calibration. The model choice adds ``cv`` models per candidate (4
    candidates with the defaults and 3 classes or more, scoring at most
    5,000 rows; with fewer, 2 shrunk covariances and up to ``log2(p_b)``
    factor models, each factor model an iterative fit with one ``p_b x
    p_b`` eigendecomposition per iteration, the folds' fits starting from
    the previous fold's noise variances). Memory: the fitted detector keeps
    ``6 cv C sum_b p_b^2`` floats of statistics of the groups (``p_b`` the
    block sizes; ``3 cv C sum_b p_b^2`` with ``n_components > 1``; a third
    of that with a ``shrinkage`` other than 'ledoit_wolf', whose
    coefficient alone needs the fourth-order statistics), for any
    ``covariance_type``. The statistics without a fold are built one at a
    time (the sums of all folds less that fold's, about each class's mean)
    and serve every candidate before they are dropped, so the peak of
    ``fit`` is about 1.7 times the statistics, up to 2.3 times with
    per-class candidates (20 classes of 256 features, tied: 315 MB kept, 0.5 GB peak,
    3-5 s of CPU; with ``shrinkage='oas'`` 105 MB, 0.18 GB, 1 s). Past
    4 GiB of statistics (estimated before they are allocated), ``fit`` with
    a tied candidate (``covariance_type`` 'auto' or 'tied',
    ``n_components=1``, 3 classes or more, ``relative=False``) warns and
    keeps the classes' pooled statistics instead, ``O(cv (sum_b p_b^2 + C
    p))`` floats (100 classes of 512 features: 42 MB instead of 6.3 GB):
    the model of all rows is the exact tied fit, the cross-fitted models'
    Ledoit-Wolf coefficients are approximate (rows about their class's mean
    over all rows, not over the model's rows; so are ``offset_``, the
    choice of the shrinkage target and, with known outliers, the combiner
    trained on them), 'auto' compares tied
    candidates only, and ``partial_fit`` cannot continue the fit. Otherwise
    ``fit`` and ``partial_fit`` refuse, before allocating them, statistics
    over 4 GiB (a ``ValueError`` naming the fewest ``feature_blocks`` that
    fit at this ``cv`` and ``shrinkage``). Scoring processes
    chunks of a few MB whatever ``n_samples``: ``O(chunk * n_classes * k +
    n_classes * sum_b p_b^2)`` memory. A tied covariance scores in
    ``O(n (p k + C k))``, per-class covariances in ``O(n C p k)``.

    The folds hold each class's rows in turn (the ``i``-th row of a class
    goes to calibration fold ``i mod 2 cv``, and to fold ``i mod cv`` of
    the choice). ``partial_fit`` (only defined with
    ``n_components=1``, and without known outliers) continues this
    assignment and merges exact statistics, so it gives the model ``fit``
    gives, up to rounding, for the same model choice. The choice (the
    costly part of ``fit``) is made again only when a class's rows have
    doubled since the last one, or a class gets its first rows, so a stream
    of ``n`` rows makes ``O(n_classes log n)`` choices; between them each
    call updates the statistics, rebuilds the chosen model and recalibrates
    the threshold on the latest 5,000 rows (the whole stream when it is
    shorter, where it matches ``fit``). The fitted detector therefore keeps
    (and pickles) the latest 5,000 training rows: ``5000 p`` floats, no more
    than the ``6 cv C p^2`` floats of statistics it keeps anyway once ``6
    cv C p >= 5000`` (e.g. 5 classes and ``p >= 34``).

    Each feature is divided by the power of two at or below its largest
    magnitude (exact), so the statistics stay finite for any finite input,
    and the model lives in scaled coordinates: scores do not change when X
    is multiplied by a constant, up to 1e300. ``covariances_`` is computed
    in X's units when read, and raises a ``ValueError`` where it overflows
    float64 (feature spreads above about 1e154). A row so far away that its
    squared distance overflows scores the most negative finite value of the
    dtype (never ``-inf`` or NaN).

    Array API: with ``sklearn.set_config(array_api_dispatch=True)`` and CuPy
    (or any array-API) input, the ``O(n p^2)`` statistics of ``fit`` and
    ``partial_fit`` are computed on the input's device and the small ``p x
    p`` problems (shrinkage, model choice, Cholesky factors), the EM of
    ``n_components > 1`` (on a host copy of the data) and the logistic
    regression of known outliers run on host. The fitted arrays are moved to
    the input's namespace and device, in float64 as for numpy input
    (``classes_`` stays numpy), and every scoring
    method runs on the device, chunk by chunk, in the input's dtype.

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
    .. [4] J. Ren, S. Fort, J. Liu, A. G. Roy, S. Padhy and
       B. Lakshminarayanan, "A Simple Fix to Mahalanobis Distance for
       Improving Near-OOD Detection", 2021. arXiv:2106.09022.
    .. [5] V. Vovk, A. Gammerman and G. Shafer, "Algorithmic Learning in a
       Random World", Springer, 2005 (conformal p-values).

    Examples
    --------
    >>> import numpy as np
    >>> from skrep.ood import GaussianMixtureOODDetector
    >>> rng = np.random.RandomState(0)
    >>> X = np.r_[rng.normal(0, 1, (200, 3)), rng.normal(6, 1, (200, 3))]
    >>> y = np.r_[np.zeros(200), np.ones(200)]
    >>> det = GaussianMixtureOODDetector().fit(X, y)
    >>> det.predict([[0.0, 0.0, 0.0], [6.0, 6.0, 6.0], [3.0, -3.0, 9.0]])
    array([ 1,  1, -1])
    >>> det.mahalanobis([[0.0, 0.0, 0.0]]).shape  # (n_samples, classes, blocks)
    (1, 2, 1)
    """

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "covariance_type": [StrOptions({"auto", "full", "tied", "diag", "spherical"})],
        "shrinkage_target": [StrOptions({"auto", "identity", "diagonal"})],
        "class_score": [StrOptions({"auto", "mahalanobis", "log_density"})],
        "n_factors": [
            StrOptions({"auto"}),
            Interval(Integral, 1, None, closed="left"),
            None,
        ],
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
        "relative": ["boolean"],
        "subspace": [StrOptions({"top", "low_variance"}), None],
        "variance_threshold": [Interval(Real, 0, 1, closed="neither")],
        "contamination": [
            StrOptions({"auto"}),
            Interval(Real, 0, 0.5, closed="right"),
        ],
        "cv": [Interval(Integral, 2, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "n_init": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "n_jobs": [Interval(Integral, None, None, closed="neither"), None],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        n_components=1,
        *,
        covariance_type="auto",
        shrinkage_target="auto",
        n_factors="auto",
        class_score="auto",
        feature_blocks=None,
        block_aggregation="auto",
        shrinkage="ledoit_wolf",
        reg_covar=1e-6,
        relative=False,
        subspace=None,
        variance_threshold=0.99,
        contamination="auto",
        cv=5,
        max_iter=100,
        tol=1e-3,
        n_init=1,
        random_state=None,
        n_jobs=None,
        verbose=0,
    ):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.shrinkage_target = shrinkage_target
        self.n_factors = n_factors
        self.class_score = class_score
        self.feature_blocks = feature_blocks
        self.block_aggregation = block_aggregation
        self.shrinkage = shrinkage
        self.reg_covar = reg_covar
        self.relative = relative
        self.subspace = subspace
        self.variance_threshold = variance_threshold
        self.contamination = contamination
        self.cv = cv
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
        self._start = time.perf_counter()
        self._check_params()
        X, xp, device = self._validate_X(X, reset=True)
        # One BLAS thread below the work where threads pay for themselves
        # (doc/contributing.rst, "Threads that pay for themselves").
        try:
            with threads_for(blas_work=2.0 * X.shape[0] * X.shape[1] ** 2):
                return self._fit(X, y, xp, device)
        finally:  # the scaled rows of RowFolds, failed fit or not
            self._rows = None
            vars(self).pop("_fold_sums", None)

    def _fit(self, X, y, xp, device):
        labels, outliers = self._check_y(X, y)
        aggregation = self._resolve_aggregation(outliers is not None)
        X_in = X if outliers is None else _take_rows(X, ~outliers, xp, device)
        y_in = labels if outliers is None else labels[~outliers]
        if X_in.shape[0] < 2:
            raise ValueError(
                "GaussianMixtureOODDetector needs at least 2 in-distribution "
                f"samples (y != -1), got {X_in.shape[0]} sample."
            )
        steps = self._progress("step", 3 if outliers is None else 4)
        self._start_stream(X_in, y is not None, xp)
        fold = self._add_rows(X_in, y_in, np.unique(y_in), xp, device, pool=True)
        steps(
            1,
            statistics="classes x folds",
            rows=X_in.shape[0],
            classes=len(self.classes_),
        )
        self._fit_models(aggregation, X_in, y_in, fold, xp, device)
        steps(
            2,
            covariance_type=self.covariance_type_,
            shrinkage_target=self.shrinkage_target_,
        )
        self.combiner_ = None
        if outliers is not None:
            X_out = _take_rows(X, outliers, xp, device)
            self._fit_combiner(X_in, y_in, fold, X_out, xp, device)
            steps(3, combiner="logistic regression", outliers=X_out.shape[0])
        oof = self._out_of_fold(X_in, y_in, fold, "score", xp, device)
        self._warn_extrapolated(self.contamination, oof.shape[0])
        self._calibrate(oof, xp, device, self.contamination)
        self._uncalibrated = None
        if not self._pooled and len(self._buffer["y"]) == X_in.shape[0]:
            # The rows rebuild the matrices (see _add_rows).
            self._folds = {key: self._folds[key] for key in ("n", "mean")}
        steps(steps.total, offset=self.offset_, calibration_rows=oof.shape[0])
        return self

    @available_if(_streamable)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None, classes=None):
        """Update the model with a chunk of rows (exact streaming statistics).

        Counts, means and centred scatter matrices of every (class, fold)
        group are merged exactly, so fitting chunk by chunk gives the model
        that :meth:`fit` gives on all rows, up to rounding, for the same
        model choice; the choice is made again only when a class's rows have
        doubled since the last one (or a class gets its first rows). The
        threshold is recalibrated on the out-of-fold scores of the latest
        5,000 rows when ``offset_`` or ``calibration_scores_`` is next read
        (once for a stream of calls). Only with ``n_components=1`` and
        without known outliers.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            A chunk of in-distribution rows (at least 2 in the first call).
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
        first = getattr(self, "_folds", None) is None
        # A refused chunk leaves the model as it was (the statistics are
        # replaced, never updated in place, so a shallow copy restores them).
        state = dict(vars(self))
        try:
            self._start = time.perf_counter()
            self._check_params()
            X, xp, device = self._validate_X(X, reset=first)
            with threads_for(blas_work=2.0 * X.shape[0] * X.shape[1] ** 2):
                return self._partial_fit(X, y, classes, first, xp, device)
        except Exception:
            vars(self).clear()
            vars(self).update(state)
            raise

    def _partial_fit(self, X, y, classes, first, xp, device):
        labels, outliers = self._check_y(X, y)
        if outliers is not None:
            raise ValueError(
                "partial_fit does not take known outliers (rows with y == -1); "
                "use fit for the logistic-regression combination."
            )
        if first:
            self._resolve_aggregation(False)
            self._start_stream(X, y is not None, xp)
        elif self._fitted_with_y != (y is not None):
            raise ValueError(
                "partial_fit got y in some calls and not in others; give class "
                "labels in every call or in none."
            )
        new = np.unique(labels)
        if classes is not None:
            classes = np.unique(column_or_1d(to_host(classes)))
            if not np.all(np.isin(new, classes)):
                raise ValueError(
                    "y has labels that are not in `classes`: "
                    f"{np.setdiff1d(new, classes)}."
                )
            new = np.union1d(new, classes)
        steps = self._progress("step", 3)
        self._add_rows(X, labels, new, xp, device)
        steps(
            1, statistics="classes x folds", rows=X.shape[0], classes=len(self.classes_)
        )
        buffer = self._buffer
        self._fit_models(
            self._aggregation,
            buffer["X"],
            buffer["y"],
            buffer["fold"],
            xp,
            device,
            choose=False,
        )
        steps(
            2,
            covariance_type=self.covariance_type_,
            shrinkage_target=self.shrinkage_target_,
        )
        self.combiner_ = None
        del self._fold_sums
        self._check_cross_fitted_spread(np.unique(buffer["fold"]))
        # The threshold is calibrated when first read (offset_ or
        # calibration_scores_, see __getattr__), on the statistics and rows
        # of this call and its contamination: a stream of single rows pays
        # for one calibration, not one per row.
        for name in ("offset_", "contamination_", "calibration_scores_"):
            vars(self).pop(name, None)
        self._uncalibrated = self.contamination
        self._warn_extrapolated(self.contamination, len(buffer["y"]))
        if self.verbose:
            steps(3, offset=self.offset_, calibration_rows=len(buffer["y"]))
        return self

    def _check_cross_fitted_spread(self, used):
        """Raise where a cross-fitted model of the calibration (one per fold
        in ``used``) would have rows that do not vary within their classes
        in a block (of the features that vary over all rows): its
        within-class spread from the diagonals of the (class, fold)
        statistics of the other folds, ``O(n_classes n_folds p)`` each, so
        that partial_fit refuses the chunk (its state rolled back) instead
        of the first read of ``offset_`` failing."""
        n, mean = self._folds["n"], self._folds["mean"]
        diag = np.concatenate(
            [np.diagonal(m, axis1=-2, axis2=-1) for m in self._folds["M2"]], axis=-1
        )
        varying = ~np.asarray(self._constant, dtype=bool)
        for j in used:
            kept = np.arange(n.shape[1]) != j
            n_k, mean_k = n[:, kept], mean[:, kept]
            rows = n_k.sum(axis=1)
            centre = np.einsum("ck,ckp->cp", n_k, mean_k)
            centre /= np.where(rows > 0, rows, 1.0)[:, None]
            spread = diag[:, kept] + n_k[..., None] * (mean_k - centre[:, None]) ** 2
            spread = np.where(varying, spread.sum(axis=(0, 1)), 0.0)
            for b, (s, e) in enumerate(pairwise(self._edges)):
                if not spread[s:e].sum() > 0:
                    raise _model.no_spread(
                        f"in block {b} (features {s} to {e - 1}) of the rows "
                        f"of a cross-fitted model (all but fold {j})"
                    )

    def __getattr__(self, name):
        # Only for attributes not found: offset_, contamination_ and
        # calibration_scores_ after partial_fit, calibrated once when first
        # read.
        if name in ("offset_", "contamination_", "calibration_scores_") and (
            vars(self).get("_uncalibrated") is not None
        ):
            # One calibration if threads read at once; the detector's own
            # lock (others calibrate meanwhile), re-entrant.
            with self._calibration_lock:
                if vars(self).get("_uncalibrated") is not None:
                    self._calibrate_stream()
            return vars(self)[name]
        raise AttributeError(
            f"'{type(self).__name__}' object has no attribute '{name}'"
        )

    def __getstate__(self):
        state = dict(super().__getstate__())
        state.pop("_calibration_lock", None)
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        if "_rows" in state:  # fitted: see _start_stream
            self._calibration_lock = threading.RLock()

    def _calibrate_stream(self):
        """partial_fit's calibration, on the rows of the buffer (in their
        namespace, wherever the attribute is read)."""
        from sklearn import config_context

        buffer = self._buffer
        namespace = array_namespace(buffer["X"])
        self._fold_sums = Folds(self._folds)
        work = 2.0 * buffer["X"].shape[0] * self._edges[-1] ** 2
        try:
            with (
                config_context(array_api_dispatch=not is_numpy_namespace(namespace)),
                threads_for(blas_work=work),
            ):
                xp, _, device = get_namespace_and_device(buffer["X"])
                oof = self._out_of_fold(
                    buffer["X"], buffer["y"], buffer["fold"], "score", xp, device
                )
                self._calibrate(oof, xp, device, self._uncalibrated)
        finally:
            del self._fold_sums
        self._uncalibrated = None

    # ------------------------------------------------------------- scoring
    def score_samples(self, X):
        """Score of each row; higher means more in-distribution.

        Minus the squared Mahalanobis distance to the nearest class (plus
        the class's relative log-determinant with ``class_score_ ==
        'log_density'``; summed over blocks as ``block_aggregation`` says;
        relative to the background Gaussian with ``relative=True``), the
        largest class log-likelihood with ``n_components > 1``, or the
        logistic regression's log-odds of being in-distribution when known
        outliers were given.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to score.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            float32 for float32 input, float64 otherwise. Always finite: a
            row so far from every Gaussian that its squared distance
            overflows the dtype scores the dtype's most negative finite
            value (``np.finfo(dtype).min``); rows are rescaled to the
            model's coordinates before any product, so that rows like the
            training rows never overflow.
        """
        X, xp, _ = self._check_X(X, "score_samples")
        return _model.score_rows(self._model, X, "score", self._edges, xp, self.n_jobs)

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
        xp, _, device = get_namespace_and_device(decision)
        one = xp.ones(decision.shape[0], dtype=xp.int64, device=device)
        return xp.where(decision < 0, -one, one)

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
            component); one that overflows the dtype is its largest finite
            value.
        """
        X, xp, _ = self._check_X(X, "mahalanobis")
        return _model.score_rows(self._model, X, "sq", self._edges, xp, self.n_jobs)

    def score_to_pvalue(self, X):
        """Conformal p-value of each row: how typical its score is.

        The row's rank among the ``n`` out-of-fold scores of
        ``calibration_scores_``, over ``n + 1``, interpolated between them:
        ``(j + (s - c_j) / (c_{j+1} - c_j)) / (n + 1)`` for a score ``s``
        between the ``j``-th and ``(j+1)``-th smallest calibration scores
        ``c_j <= s < c_{j+1}``; ``1 / (n + 1)`` below the smallest and 1
        above the largest. For a new in-distribution row ``P(p <= alpha)``
        is about ``alpha`` for every ``alpha >= 1 / (n + 1)``
        (split-conformal calibration; the step p-value ``(1 + #{c_j <= s})
        / (n + 1)`` has ``P(p <= alpha) = floor(alpha (n + 1)) / (n + 1)``,
        below ``alpha``). Higher means more in-distribution; ``predict``
        flags the rows with ``p <= contamination_`` (for ``contamination_ *
        (n + 1) >= 1``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to test.

        Returns
        -------
        pvalues : ndarray of shape (n_samples,)
        """
        check_same_namespace(X, self, attribute="location_", method="score_to_pvalue")
        scores = self.score_samples(X)
        xp, _, device = get_namespace_and_device(scores)
        values, ranks = _rank_points(to_numpy(self.calibration_scores_, xp))
        s = to_numpy(scores, xp).astype(np.float64)
        p = np.interp(s, values, ranks, left=1.0, right=ranks[-1] + 1)
        p /= ranks[-1] + 1.0
        return to_namespace(p, xp, device, dtype=scores.dtype)

    @property
    def covariances_(self):
        """The covariances in each block's coordinates, in X's units.

        Computed when read from the model, which lives in scaled
        coordinates: a ``ValueError`` says when an entry overflows float64
        in X's units (feature spreads above about 1e154), where the scores
        themselves are those of the data divided by a constant.
        """
        check_is_fitted(self)
        target = int(self.shrinkage_target_ == "diagonal")
        covariances = _model.covariances_in_units(self._covariances, target)
        # The fitted arrays' own namespace, whatever the dispatch setting now.
        xp, device = array_namespace(self.location_), get_device(self.location_)
        if is_numpy_namespace(xp):
            return covariances
        dt = supported_float_dtypes(xp, device)[0]
        return [to_namespace(c, xp, device, dtype=dt) for c in covariances]

    # ------------------------------------------------------ private: checks
    def _progress(self, unit, total=None):
        """Progress lines of the current fit (timed from its start)."""
        return Progress(
            type(self).__name__, self.verbose, unit=unit, total=total, start=self._start
        )

    def _check_params(self):
        """What the parameter constraints cannot say: ``class_score=
        'mahalanobis'`` does not apply to mixtures."""
        if self.n_components > 1 and self.class_score == "mahalanobis":
            raise ValueError(
                "class_score='mahalanobis' applies to n_components=1; a "
                "mixture (n_components > 1) scores a row by the class's "
                "log-likelihood (class_score='log_density' or 'auto')."
            )

    def _validate_X(self, X, reset):
        xp, _ = get_namespace(X)
        X = validate_data(self, X, dtype=[xp.float64, xp.float32], reset=reset)
        xp, _, device = get_namespace_and_device(X)
        if reset and X.shape[0] < 2:
            raise ValueError(
                f"GaussianMixtureOODDetector needs at least 2 samples, got "
                f"{X.shape[0]} sample."
            )
        return X, xp, device

    def _check_X(self, X, method):
        """Validated X, its namespace and device."""
        check_is_fitted(self)
        check_same_namespace(X, self, attribute="location_", method=method)
        return self._validate_X(X, reset=False)

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

    # ------------------------------------------- private: statistics, folds
    def _start_stream(self, X, with_y, xp):
        """Block bounds, the magnitude scale and the feature scales of X."""
        self.block_bounds_ = self._block_bounds(X.shape[1])
        self._edges = tuple(int(v) for v in self.block_bounds_)
        self._fitted_with_y = with_y
        # The fourth-order statistics serve the Ledoit-Wolf coefficient only.
        self._fourth = self.shrinkage == "ledoit_wolf"
        self._folds = None
        # Whether the statistics are the classes' pooled ones (PooledFolds).
        self._pooled = False
        self._buffer = None
        self._rows = None  # fit's rows for RowFolds (see _add_rows)
        # Serialises partial_fit's deferred calibration (see __getattr__);
        # not pickled, a new one when unpickled.
        self._calibration_lock = threading.RLock()
        self._chosen_at = None  # rows of each class at the last model choice
        self.classes_ = np.array([], dtype=int)
        # The classes of the (class, fold) statistics: also those declared
        # by partial_fit's ``classes`` that have no row yet (not in classes_);
        # a tuple, as host bookkeeping (fitted arrays follow X's namespace).
        self._fold_classes = ()
        # Largest magnitude of each feature so far (see _add_rows); host
        # floats, like the block bounds.
        self._top = (0.0,) * X.shape[1]

    def _n_folds(self):
        """Calibration folds: ``cv`` split in ``_CALIBRATION_SPLIT`` with
        closed-form fits (``cv`` with EM); choice fold = calibration fold
        mod ``cv``."""
        return self.cv * (_CALIBRATION_SPLIT if self.n_components == 1 else 1)

    def _fold_ids(self, y, counts=None):
        """Calibration fold of each row: the ``i``-th row of a class goes to
        ``i mod K`` (``K = _n_folds()``, so its choice fold is ``i mod cv``;
        ``counts``: rows of each class of ``classes_`` seen before)."""
        index = np.searchsorted(self.classes_, y)
        order = np.argsort(index, kind="stable")
        starts = np.searchsorted(index[order], np.arange(len(self.classes_)))
        rank = np.empty(len(y), dtype=np.int64)
        rank[order] = np.arange(len(y)) - starts[index[order]]
        if counts is not None:
            rank += counts[index].astype(np.int64)
        return rank % self._n_folds()

    def _fitting_blocks(self, n_classes):
        """Advice for statistics over the bound: the fewest equal
        ``feature_blocks`` whose statistics fit it at this ``cv`` and
        ``shrinkage`` (sums of squared block sizes fall as blocks are
        split)."""
        d, lead = self._edges[-1], (n_classes, self._n_folds())

        def fits(k):
            sizes = [len(a) for a in np.array_split(np.arange(d), k)]
            bounds = np.concatenate([[0], np.cumsum(sizes)])
            return nbytes(lead, bounds, self._fourth) <= _STATISTICS_BYTES

        other = (
            "lower cv, or use shrinkage='oas' (one matrix instead of three)"
            if self._fourth
            else "or lower cv"
        )
        if not fits(d):
            return f"Even one feature per block does not fit: {other}."
        lo, hi = 1, d  # fits(hi), not fits(lo)
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (lo, mid) if fits(mid) else (mid, hi)
        return (
            f"Split the features with feature_blocks{',' if self._fourth else ''} "
            f"{other}; "
            f"feature_blocks={hi} fits at this cv and shrinkage."
        )

    def _poolable(self, n_classes):
        """Whether a tied covariance from the classes' pooled statistics can
        stand in for the per-class ones: what 'auto' would choose from with
        3 classes or more, without a candidate that needs them."""
        return (
            self.n_components == 1
            and self.covariance_type in ("auto", "tied")
            and not self.relative
            and n_classes >= 3
        )

    def _add_rows(self, X, y, labels, xp, device, pool=False):
        """Merge the statistics of rows (X, y) into the (class, fold) groups
        and keep the latest rows for the calibration. ``pool`` (``fit``):
        keep the classes' pooled statistics instead where the per-class ones
        exceed ``_STATISTICS_BYTES`` and a tied covariance can do with them
        (with a warning)."""
        K = self._n_folds()
        if getattr(self, "_pooled", False):
            raise ValueError(
                "partial_fit cannot continue a fit made from the classes' "
                "pooled statistics (pooled over the classes, they cannot be "
                "continued exactly); fit again on all rows, or fit with "
                "feature_blocks for per-class statistics."
            )
        previous = np.array(self._fold_classes, dtype=self.classes_.dtype)
        classes = np.union1d(previous, labels)
        if self.shrinkage == "ledoit_wolf" and not self._fourth:
            raise ValueError(
                "shrinkage='ledoit_wolf' needs fourth-order statistics that "
                "were not kept (the stream started with another shrinkage); "
                "fit again."
            )
        size = nbytes((len(classes), K), self._edges, self._fourth)
        pooled = nbytes((len(classes), K), self._edges, self._fourth, pooled=True)
        if (
            size > _STATISTICS_BYTES
            and pool
            and self._poolable(len(classes))
            and pooled <= _STATISTICS_BYTES
        ):
            warnings.warn(
                f"The statistics of the {len(classes)} classes x {K} folds would "
                f"take {size / 2**30:.1f} GiB (over "
                f"{_STATISTICS_BYTES / 2**30:.0f} GiB): fitting a tied covariance "
                f"from the classes' pooled statistics ({pooled / 2**20:.0f} MiB)"
                " instead, without per-class candidates"
                + (
                    "; the Ledoit-Wolf coefficients of its cross-fitted models "
                    "take the rows about their class's mean over all rows, not "
                    "over the rows each model is fitted on (an approximation, "
                    "and so are offset_, the choice of the shrinkage target "
                    "and, with known outliers, the combiner)"
                    if self._fourth
                    else ""
                )
                + ", and partial_fit cannot continue it. For per-class "
                "statistics (per-class candidates, partial_fit): "
                + self._fitting_blocks(len(classes)),
                UserWarning,
                stacklevel=5,  # the caller of fit
            )
            self._pooled = True
        elif size > _STATISTICS_BYTES:
            matrices = "3 p_b x p_b matrices" if self._fourth else "1 p_b x p_b matrix"
            raise ValueError(
                f"The statistics of the {len(classes)} classes x {K} folds "
                f"would take {size / 2**30:.1f} GiB (over "
                f"{_STATISTICS_BYTES / 2**30:.0f} GiB): {matrices}"
                " per group and block of p_b features. "
                + self._fitting_blocks(len(classes))
            )
        if self._folds is not None and "M2" not in self._folds:
            self._folds = self._fit_statistics(previous, xp, device)
        if self._folds is None:  # no rows yet: nothing to merge into
            folds = {"n": np.zeros((len(classes), K))}
        elif len(classes) == len(previous):
            folds = self._folds
        else:
            folds = zeros((len(classes), K), self._edges, self._fourth)
            idx = np.searchsorted(classes, previous)
            for key, value in self._folds.items():
                if isinstance(value, list):
                    for b, m in enumerate(value):
                        folds[key][b][idx] = m
                else:
                    folds[key][idx] = value
        self.classes_ = classes
        self._fold_classes = tuple(classes.tolist())
        # Each feature is divided by the power of two at or below its
        # largest magnitude so far (exact), so that fourth powers of features
        # of any magnitude and of very different magnitudes are summed in
        # float64 without overflow or underflow; when a chunk raises it, the
        # statistics of the earlier rows are brought to the new units.
        # A feature that is zero so far takes the largest unit (any unit is
        # exact for zeros): a unit of 1 would be the largest for rows at
        # 1e-200, and the identity target's common unit.
        # (Its statistics, zeros, stay as they are when it gets its unit.)
        before = np.asarray(self._top)
        top = to_numpy(xp.max(xp.abs(X), axis=0), xp).astype(np.float64)
        top = np.maximum(before, top)
        self._top = tuple(top.tolist())
        g = unit_scale(np.where(top > 0, top, top.max())[None], np, axis=0).ravel()
        if self._folds is not None and np.any(g != self._g):
            ratio = np.divide(self._g, g, out=np.ones_like(g), where=before > 0)
            folds = rescale(folds, ratio)
        self._g = tuple(g.tolist())  # host floats, like the block bounds
        new_fold = fold = self._fold_ids(y, folds["n"].sum(axis=1))
        U = self._scaled(X, xp, device)
        # fit keeps its rows instead of the matrices of the (class, fold)
        # groups where they take no more room (all rows of the calibration
        # buffer, or fewer floats than the matrices): partial_fit rebuilds
        # the matrices from them when it continues the fit
        # (_fit_statistics). Past _ROW_FOLDS_BYTES, fit computes them from
        # the rows one fold at a time when the models ask for them
        # (RowFolds), and holds only the groups' counts and means.
        keep_rows = (
            pool
            and not self._pooled
            and self._folds is None
            and (X.shape[0] <= _CALIBRATION_ROWS or 8 * X.size <= size)
        )
        lazy = keep_rows and size > _ROW_FOLDS_BYTES
        chunk = self._group_statistics(U, y, fold, classes, xp, device, not lazy)
        self._folds = merge(folds, chunk)
        if lazy:  # the rows that RowFolds reads in _fit_models
            self._rows = (U, np.searchsorted(classes, y), fold)
        buffer = self._buffer
        if buffer is not None:
            X = xp.concat([buffer["X"], X], axis=0)
            y, fold = np.r_[buffer["y"], y], np.r_[buffer["fold"], fold]
        keep = 0 if keep_rows else max(X.shape[0] - _CALIBRATION_ROWS, 0)
        rows = X[keep:, ...]
        if buffer is None or keep:  # a view of the caller's X or of a chunk
            rows = xp.asarray(rows, copy=True)
        self._buffer = {"X": rows, "y": y[keep:], "fold": fold[keep:]}
        return new_fold

    def _scaled(self, X, xp, device):
        """Rows in the statistics' coordinates ``u = x / g``."""
        g = np.asarray(self._g)
        if np.all(g == 1):
            return X
        dt = supported_float_dtypes(xp, device)[0]
        return xp.astype(X, dt) / to_namespace(g, xp, device, dtype=dt)

    def _fit_statistics(self, classes, xp, device):
        """The (class, fold) statistics of the rows of a ``fit``, which
        kept their counts and means and the rows (the buffer): computed
        when ``partial_fit`` continues the fit, as ``fit`` would have kept
        them."""
        buffer = self._buffer
        U = self._scaled(buffer["X"], xp, device)
        return self._group_statistics(
            U, buffer["y"], buffer["fold"], classes, xp, device
        )

    def _group_statistics(self, U, y, fold, classes, xp, device, matrices=True):
        """The statistics of the (class, fold) groups of the rows ``U``
        (leading shape ``(n_classes, n_folds)``; the matrices summed over
        the classes when pooled; counts and means only without
        ``matrices``)."""
        C, K = len(classes), self._n_folds()
        moments = group_moments(
            U,
            np.searchsorted(classes, y) * K + fold,
            C * K,
            self._edges,
            xp,
            device,
            self._fourth,
            pool=np.divmod(np.arange(C * K), K)[::-1] if self._pooled else None,
            matrices=matrices,
        )
        return {
            key: (
                value
                if self._pooled and key not in ("n", "mean")
                else [m.reshape(C, K, *m.shape[1:]) for m in value]
                if isinstance(value, list)
                else value.reshape(C, K, *value.shape[1:])
            )
            for key, value in moments.items()
        }

    # ---------------------------------------------- private: models
    def _spec(
        self,
        aggregation,
        scale,
        covariance_type,
        target,
        n_factors=None,
        class_score="mahalanobis",
    ):
        return {
            "covariance_type": covariance_type,
            "class_score": class_score,
            "target": 1 if target == "diagonal" else 0,
            "n_factors": n_factors,
            # Noise variances of the last factor fits, the next ones' start.
            "factor_starts": {},
            "shrinkage": self.shrinkage,
            "reg_covar": self.reg_covar,
            "subspace": self.subspace,
            "variance_threshold": self.variance_threshold,
            "n_components": self.n_components,
            "relative": self.relative,
            "bounds": self._edges,
            "aggregation": aggregation,
            # The diagonal target's feature scales: the inverse standard
            # deviations of all rows, in every fold's model too (so that
            # raw features fit as standardised ones do, folds included).
            "feature_scale": scale,
            # The identity target's feature scales (relative magnitudes).
            "unit": np.asarray(self._g) / self._unit,
            "log_unit": np.log(self._g) - np.log(self._unit),
            "log_top": np.log(self._unit),
            # Features constant up to rounding (statistics taken as zeros).
            "constant": np.asarray(self._constant, dtype=bool),
            # The largest log scale of a feature in the coordinates u = x / g
            # (|u| in [1, 2) on a nonzero constant feature): 2**26, so that
            # the rounding of a constant's mean (an ulp of it) stays 2**-26
            # of a unit, not a departure that swamps the scores where the
            # constant is far larger than the others' spread (1e22 next to
            # standardised features).
            "log_cap": np.where(
                np.asarray(self._constant) & (np.asarray(self._top) > 0),
                26 * np.log(2.0),
                np.inf,
            ),
        }

    def _choose(self, aggregation, scale, X, y, fold, xp, device):
        """The covariance model, shrinkage target and number of factors
        chosen from the data.

        With 3 classes or more, by the leave-one-class-out detection AUROC
        over the folds (a near-OOD task made of the training data); with
        fewer, the covariance is tied and the shrunk covariances and factor
        models compete by held-out log-likelihood.
        """
        C = int(np.sum(self._folds["n"].sum(axis=1) > 0))
        ctypes = [self.covariance_type]
        if self.covariance_type == "auto":
            sizes = np.diff(self._edges)
            ctypes = ["tied", "full"] if C >= 3 else ["tied"]
            too_big = 8 * C * int(np.sum(sizes**2)) > _AUTO_FULL_BYTES
            if "full" in ctypes and (too_big or self._pooled):
                ctypes.remove("full")
        targets = [self.shrinkage_target]
        if self.shrinkage_target == "auto":
            targets = ["identity", "diagonal"]
        factors = self._factor_options(C, ctypes)
        scores = [self.class_score]
        if self.n_components > 1:
            # A mixture scores by its log-likelihood (the candidates are
            # compared as single Gaussians scored alike).
            scores = ["log_density"]
        elif self.class_score == "auto":
            scores = ["mahalanobis"]
            if C >= 3:
                scores.append("log_density")
        candidates = [
            (c, t if k is None else "diagonal", k, s)
            for c in ctypes
            for t in targets
            for k in factors
            for s in scores
            # A factor model does not depend on the target (equivariance:
            # one candidate per number of factors, on standardised
            # features, its reg_covar too, whatever shrinkage_target says),
            # and a tied covariance ranks rows alike by either score.
            if (k is None or t == targets[-1]) and (s == scores[0] or c != "tied")
        ]
        self.selection_scores_ = {}
        if len(candidates) > 1:
            specs = []
            for candidate in candidates:
                specs.append(self._spec(aggregation, scale, *candidate))
                specs[-1]["n_components"] = 1
            if C >= 3:
                values = self._leave_class_out(specs, X, y, fold, xp, device)
            else:
                values = _model.heldout_log_likelihood(
                    (
                        (self._choice_fold(j), self._choice_complement(j))
                        for j in range(self.cv)
                    ),
                    specs,
                )
            progress = self._progress("candidate", len(candidates))
            pairs = zip(candidates, values, strict=True)
            for index, (candidate, value) in enumerate(pairs, 1):
                ctype, target, k, score = candidate
                self.selection_scores_[candidate] = float(value)
                progress(
                    index,
                    score=float(value),
                    covariance_type=ctype,
                    shrinkage_target=target,
                    n_factors=k,
                    class_score=score,
                    criterion="auroc" if C >= 3 else "heldout_loglik",
                )
            # The first candidate within rounding of the best: candidates
            # that are equal models (e.g. both targets on standardised
            # features) tie, and rounding would otherwise pick one at random.
            # NaN scores are passed over (the first candidate if all are).
            found = self.selection_scores_
            best = max((v for v in found.values() if v == v), default=np.nan)
            near = best - 1e-9 * max(abs(best), 1.0) if np.isfinite(best) else best
            candidates = [
                next((key for key, v in found.items() if v >= near), next(iter(found)))
            ]
        (
            self.covariance_type_,
            self.shrinkage_target_,
            self.n_factors_,
            self.class_score_,
        ) = candidates[0]
        return self._spec(aggregation, scale, *candidates[0])

    def _factor_options(self, n_classes, ctypes):
        """The numbers of factors to compare (None: a shrunk covariance)."""
        smallest = int(np.min(np.diff(self._edges)))
        if self.n_factors is None:
            return [None]
        if self.n_factors != "auto":
            if self.n_components != 1 or not set(ctypes) <= {"tied", "full"}:
                raise ValueError(
                    "n_factors applies to 'tied' and 'full' covariances with "
                    f"n_components=1; got covariance_type={self.covariance_type!r}"
                    f", n_components={self.n_components}."
                )
            if self.n_factors >= smallest:
                raise ValueError(
                    f"n_factors={self.n_factors} must be smaller than the "
                    f"features of the smallest block ({smallest})."
                )
            return [self.n_factors]
        if (
            n_classes >= 3
            or self.shrinkage_target != "auto"
            or self.n_components != 1
            or not set(ctypes) <= {"tied", "full"}
            or self._edges[-1] > _AUTO_FACTOR_FEATURES
        ):
            return [None]
        # At most half the features, and fewer than the rows of a class.
        seen = self._folds["n"].sum(axis=1)
        rows = int(np.min(seen[seen > 0]))
        counts = 2 ** np.arange(int(np.log2(max(smallest // 2, 1))) + 1)
        return [None] + [int(k) for k in counts if 2 * k <= smallest and k < rows]

    def _leave_class_out(self, specs, X, y, fold, xp, device):
        """Mean AUROC, over the folds and classes, of a class's held-out rows
        against the other classes' held-out rows, scored by the model
        fitted without the fold, with the class left out of the nearest-class
        search (the other classes' Gaussians are kept as fitted: one model
        per fold), for each spec of ``specs`` (fold by fold: the statistics
        without a fold serve every spec, then are dropped)."""
        rows = np.arange(len(y))
        if rows.size > _SELECTION_ROWS:  # an even subsample
            rows = rows[:: -(-rows.size // _SELECTION_ROWS)]
        aurocs = [[] for _ in specs]
        for j in range(self.cv):
            test = rows[fold[rows] == j]
            label = np.searchsorted(self.classes_, y[test])
            if np.unique(label).size < 2:
                continue
            moments = self._choice_complement(j)
            X_test = _take_rows(X, test, xp, device)
            built = {}
            for spec, found in zip(specs, aurocs, strict=True):
                # The two class scores of a model share it (the log-density
                # adds the classes' log-determinants to the same distances):
                # one build per fold, with them.
                key = (spec["covariance_type"], spec["target"], spec["n_factors"])
                if key not in built:
                    shared = dict(spec, class_score="log_density")
                    built[key] = self._build(moments, shared)
                model, report = built[key]
                if spec["class_score"] != "log_density":
                    model = dict(model, log_det=None)
                model = _model.to_device(model, xp, device)
                stats = _model.score_rows(model, X_test, "stats", self._edges, xp)
                stats = to_numpy(stats, xp)
                for c in np.unique(label):
                    others = stats[:, report["present"] != c, :]
                    if others.shape[1] == 0:
                        continue
                    if spec["aggregation"] == "joint":
                        score = others.sum(axis=2).max(axis=1)
                    else:
                        score = others.max(axis=1).sum(axis=1)
                    found.append(_auroc(label != c, score))
        return [np.mean(found) if found else -np.inf for found in aurocs]

    def _build(self, moments, spec, X=None, y=None):
        model, report = _model.build(
            moments, spec, np.asarray(self._g), X, y, spec.get("seeds"), self._fit_em
        )
        model["aggregation"] = spec["aggregation"]
        return model, report

    def _choice_fold(self, j):
        """Statistics of the model choice's fold ``j``: calibration folds
        ``j, j + cv, ...``."""
        return self._fold_sums.union(range(j, self._fold_sums.n_folds, self.cv))

    def _choice_complement(self, j):
        """Statistics of every choice fold but ``j``."""
        return self._fold_sums.without(range(j, self._fold_sums.n_folds, self.cv))

    def _feature_scales(self, moments):
        """The diagonal target's feature scales and the identity target's
        common unit (``_unit``), of all rows, for every candidate.

        The common unit is the largest magnitude of the features that vary
        beyond rounding (``_constant`` marks the others: their statistics
        are zeros or rounding noise, taken as zeros by the models, and they
        must not set the unit of the others, whose squares would
        underflow). The diagonal target divides a varying feature by its
        standard deviation, and a constant one by the root mean square
        standard deviation of the others: in every unit of X the same
        scaled coordinates, and so the same scores.
        """
        sd = np.sqrt(feature_variance(moments))  # of u = x / g
        g = np.asarray(self._g)
        varying = sd > _CONSTANT_SPREAD
        self._constant = tuple((~varying).tolist())  # host, like _g
        if not np.any(varying):
            self._unit = float(g.max())
            return np.ones_like(sd)
        self._unit = float(g[varying].max())
        ratio = g / self._unit  # X's units per scaled unit, over the unit's
        scale = np.empty_like(sd)
        scale[varying] = 1.0 / sd[varying]
        typical = np.sqrt(np.mean((sd[varying] * ratio[varying]) ** 2))
        scale[~varying] = ratio[~varying] / typical
        return scale

    def _fit_models(self, aggregation, X, y, fold, xp, device, choose=True):
        """Choose the model, build it from all folds, set the attributes.

        With ``choose=False`` (``partial_fit``) the last choice is kept
        unless a class's rows have grown by ``_CHOICE_GROWTH`` since it was
        made (a class's first rows included): a stream of ``n`` rows makes
        ``O(n_classes log n)`` choices, not one per call.
        """
        if self.relative and len(self.classes_) < 2:
            raise ValueError(
                "relative=True needs at least 2 classes (the relative distance "
                "to a single class's Gaussian is 0); fit with class labels y."
            )
        # The statistics of unions of folds, one at a time when asked for.
        if self._pooled:
            self._fold_sums = PooledFolds(self._folds)
        elif "M2" in self._folds:
            self._fold_sums = Folds(self._folds)
        else:  # fit: the matrices from the rows, one fold at a time
            args = (self._edges, self._fourth, xp, device)
            self._fold_sums = RowFolds(self._folds, *self._rows, *args)
        everything = self._fold_sums.total()
        scale = self._feature_scales(everything)
        # Rows of each class: the choice is made again once one of them has
        # grown by _CHOICE_GROWTH since the last choice (a new class too).
        seen = self._folds["n"].sum(axis=1)
        last = self._chosen_at
        if last is not None:
            before = np.array([last.get(c, 0) for c in self._fold_classes])
            choose = choose or np.any((seen > 0) & (seen >= _CHOICE_GROWTH * before))
        if choose or last is None:
            spec = self._choose(aggregation, scale, X, y, fold % self.cv, xp, device)
            counts = zip(self._fold_classes, seen.tolist(), strict=True)
            self._chosen_at = {c: n for c, n in counts if n > 0}
        else:
            spec = self._spec(
                aggregation,
                scale,
                self.covariance_type_,
                self.shrinkage_target_,
                self.n_factors_,
                self.class_score_,
            )
        if self.n_components > 1:
            spec["seeds"] = check_random_state(self.random_state).randint(
                np.iinfo(np.int32).max, size=len(self.classes_)
            )
            X = to_numpy(X, xp)
        else:
            X = y = None
        y = None if y is None else np.searchsorted(self.classes_, y)
        model, report = self._build(everything, spec, X, y)
        self._chosen = spec
        self.classes_ = self.classes_[report["present"]]
        self.class_count_ = report["class_count"]
        self.location_ = report["location"]
        self.means_ = report["means"]
        self.weights_ = report["weights"]
        self._covariances = report["covariances"]
        width = max(len(sh) for sh in report["shrinkage"])
        self.shrinkage_ = np.array(
            [
                np.pad(sh, (0, width - len(sh)), mode="edge")
                for sh in report["shrinkage"]
            ]
        )
        self.subspace_components_ = report["components"]
        self.block_bounds_ = np.asarray(self._edges, dtype=np.intp)
        self.df_ = report["df"]
        self.n_iter_ = report["n_iter"]
        self._model = _model.to_device(model, xp, device)
        self._to_device(xp, device)

    def _to_device(self, xp, device):
        """The public float arrays in X's namespace and device (float64)."""
        if is_numpy_namespace(xp):
            return
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
            setattr(self, name, move(np.asarray(getattr(self, name))))
        self.subspace_components_ = [move(c) for c in self.subspace_components_]

    def _fit_em(self, data, ctype, reg, seeds):
        """Per-class Gaussian mixtures on one block's scaled coordinates."""
        from sklearn import config_context
        from sklearn.utils.parallel import Parallel, delayed

        M = self.n_components
        for label, P in zip(self.classes_, data, strict=False):
            if P.shape[0] < M:
                raise ValueError(
                    f"n_components={M} needs at least {M} samples per class in "
                    f"every fitting set (all rows, and the rows outside each of "
                    f"the cv={self.cv} folds); class {label!r} has {P.shape[0]}."
                )
        progress = self._progress("iter", self.max_iter)

        def one(P, seed, label):
            # The per-class data are numpy arrays here; scikit-learn's EM
            # refuses its default k-means initialisation under array-API
            # dispatch, which is irrelevant to numpy input.
            with config_context(array_api_dispatch=False):
                gm = _ProgressMixture(
                    M,
                    covariance_type=ctype,
                    reg_covar=max(reg, 1e-12),
                    max_iter=self.max_iter,
                    tol=self.tol,
                    n_init=self.n_init,
                    random_state=seed,
                )
                gm.progress, gm.label = progress, label
                return gm.fit(P)

        fits = Parallel(n_jobs=self.n_jobs)(
            delayed(one)(P, seed, label)
            for P, seed, label in zip(data, seeds, self.classes_, strict=False)
        )
        mu = np.stack([f.means_ for f in fits])  # (C, M, k)
        weights = np.stack([f.weights_ for f in fits])
        covs = [f.covariances_ for f in fits]
        cov_attr = np.stack(covs)
        if ctype == "full":
            groups = [cov for c in covs for cov in c]
        elif ctype == "tied":
            groups = list(covs)
        else:
            groups = None
        return mu, cov_attr, groups, weights, max(f.n_iter_ for f in fits)

    # ----------------------------------------- private: cross-fitting
    def _out_of_fold(self, X, y, fold, what, xp, device):
        """``what`` of each row under the model fitted without its fold."""
        spec = self._chosen
        X_host = to_numpy(X, xp) if self.n_components > 1 else None
        out, rows_done = [], []
        n_folds = self._fold_sums.n_folds
        progress = self._progress("fold", n_folds)
        for j in range(n_folds):
            rows = np.flatnonzero(fold == j)
            if rows.size == 0:
                continue
            others = fold != j
            moments = self._fold_sums.without([j])
            if self.n_components > 1:
                index = np.searchsorted(self.classes_, y[others])
                model, _ = self._build(moments, spec, X_host[others], index)
            else:
                model, _ = self._build(moments, spec)
            if getattr(self, "combiner_", None) is not None:
                model["combiner"] = self._combiner_arrays()
            model = _model.to_device(model, xp, device)
            part = _model.score_rows(
                model,
                _take_rows(X, rows, xp, device),
                what,
                self._edges,
                xp,
                self.n_jobs,
            )
            out.append(to_numpy(part, xp).astype(np.float64))
            rows_done.append(rows)
            progress(j + 1, scored=what, rows=rows.size)
        result = np.empty((len(fold),) + out[0].shape[1:])
        result[np.concatenate(rows_done)] = np.concatenate(out)
        return result

    def _fit_combiner(self, X_in, y_in, fold, X_out, xp, device):
        """Logistic regression of the block scores: out-of-fold ones for the
        in-distribution rows against those of the known outliers."""
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        F_in = self._out_of_fold(X_in, y_in, fold, "block", xp, device)
        F_out = _model.score_rows(self._model, X_out, "block", self._edges, xp)
        F = np.vstack([F_in, to_numpy(F_out, xp).astype(np.float64)])
        target = np.r_[np.ones(len(F_in)), np.zeros(F.shape[0] - len(F_in))]
        self.combiner_ = make_pipeline(StandardScaler(), LogisticRegression())
        self.combiner_.fit(F, target)
        self._model["combiner"] = self._combiner_arrays()
        self._model = _model.to_device(self._model, xp, device)

    def _combiner_arrays(self):
        """The host arrays of ``combiner_`` that scoring uses."""
        scaler, lr = self.combiner_[0], self.combiner_[-1]
        combiner = (scaler.mean_, scaler.scale_, lr.coef_[0], lr.intercept_)
        return tuple(np.asarray(a, dtype=np.float64) for a in combiner)

    def _warn_extrapolated(self, contamination, n_rows):
        """Warn where ``n_rows`` out-of-fold scores cannot calibrate the
        rate of ``contamination`` (the threshold is then extrapolated)."""
        if contamination == "auto":  # 1 / (n + 1) where 0.27% is rarer
            return
        q = contamination
        if _quantile_position(q, n_rows)[1] >= 1:
            return
        needed = int(np.ceil(1 / q - 1))
        warnings.warn(
            f"contamination={contamination!r} asks for a {q:.2%} flag rate, "
            f"which needs at least {needed} rows to be calibrated; with "
            f"{n_rows} rows the threshold is extrapolated, and the share of "
            "new in-distribution rows flagged is not guaranteed (on bundled "
            "data from 0.6 to 5 times the rate, varying widely with the sample). "
            f"Pass contamination >= {1 / (n_rows + 1):.3g} for a calibrated "
            "rate, or fit more rows.",
            UserWarning,
            stacklevel=5,  # the caller of fit / partial_fit,
        )

    def _calibrate(self, oof, xp, device, contamination):
        """``offset_``, ``contamination_`` and ``calibration_scores_`` from
        out-of-fold scores."""
        cal = np.sort(oof)
        q, position = _quantile_position(contamination, cal.size)
        k = int(np.floor(position))
        self.contamination_ = q
        self.calibration_scores_ = cal
        if not is_numpy_namespace(xp):
            dt = supported_float_dtypes(xp, device)[0]
            self.calibration_scores_ = to_namespace(cal, xp, device, dtype=dt)
        if k >= 1:
            values, ranks = _rank_points(cal)
            self.offset_ = float(np.interp(position, ranks, values))
            return
        # Too few rows for this quantile (warned by _warn_extrapolated):
        # extrapolate the tail of the squared distances by a scaled
        # chi-square with their mean and variance (Satterthwaite), never
        # above the lowest score.
        self.offset_ = float(cal[0])
        spec = self._chosen
        distances = spec["n_components"] == 1 and not spec["relative"]
        distances = distances and spec["class_score"] == "mahalanobis"
        if distances and self.combiner_ is None and np.var(cal) > 0:
            from scipy.stats import chi2

            m, v = -np.mean(cal), np.var(cal)
            tail = v / (2 * m) * chi2.ppf(1 - q, 2 * m**2 / v)
            self.offset_ = min(self.offset_, -float(tail))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.array_api_support = True
        return tags


class _ProgressMixture(GaussianMixture):
    """scikit-learn's GaussianMixture printing one skrep progress line per EM
    iteration (its own verbose messages replaced)."""

    progress = None
    label = None

    def _print_verbose_msg_init_beg(self, n_init):
        pass

    def _print_verbose_msg_iter_end(self, n_iter, diff_ll):
        if self.progress:
            self.progress(n_iter, change=float(diff_ll), label=self.label)

    def _print_verbose_msg_init_end(self, lb, init_has_converged):
        pass


def _take_rows(X, rows, xp, device):
    """Rows of X (any namespace) at host indices or a host boolean mask."""
    idx = np.flatnonzero(rows) if rows.dtype == bool else rows
    if idx.size == X.shape[0] and np.all(idx == np.arange(X.shape[0])):
        return X
    return xp.take(X, to_namespace(idx, xp, device, dtype=xp.int64), axis=0)


def _quantile_position(contamination, n):
    """The flag rate of ``contamination`` and its conformal position among
    ``n`` calibration scores (a continuous rank, ``rate * (n + 1)``): 'auto'
    is the 0.27% rate, or ``1 / (n + 1)`` (the smallest score) where that is
    rarer than the smallest score. A rate ``k / (n + 1)`` is at position
    ``k`` exactly, whatever the rounding of the product (``(1 / 49) * 49``
    is below 1 in floating point)."""
    if contamination == "auto":
        if _AUTO_RATE * (n + 1) >= 1:
            return _AUTO_RATE, _AUTO_RATE * (n + 1)
        return 1 / (n + 1), 1.0
    position = contamination * (n + 1)
    if abs(position - round(position)) <= 1e-9 * position:
        position = float(round(position))
    return contamination, position


def _rank_points(cal):
    """The distinct sorted calibration scores and, for each, how many
    calibration scores are at or below it: the knots of the interpolated
    conformal rank (a new row's rank among the ``n`` scores, continuous
    between consecutive ones)."""
    values, counts = np.unique(cal, return_counts=True)
    return values, np.cumsum(counts).astype(np.float64)


def _auroc(positive, scores):
    """Area under the ROC curve of ``scores`` for the ``positive`` rows.

    The Mann-Whitney statistic from mid-ranks (ties count one half), equal
    to scikit-learn's ``roc_auc_score`` without its input validation, which
    cost more than the model choice's other work.
    """
    from scipy.stats import rankdata

    n_pos = int(np.sum(positive))
    n_neg = positive.size - n_pos
    ranks = rankdata(scores)
    return (ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
