"""Benchmarks of ``skrep.ood`` against its peers.

Estimator (issue 6): ``GaussianMixtureOODDetector``.  Peer timed in the same
run: scikit-learn ``LedoitWolf`` + Mahalanobis scoring (the single-Gaussian
detector of Rippel et al.), fitted on 100,000 in-distribution feature vectors
(d = 64, 10 classes) and scoring 1,000,000 rows (10 % out-of-distribution).
Issue 6 adds ``GaussianMixture.score_samples`` and
``EllipticEnvelope.score_samples`` on the same model size.

``track_score`` is the AUROC of ``score_samples`` (in-distribution =
positive): higher is better.

- ``GaussianOODBench``: skrep's class-conditional detector (tied covariance,
  Lee et al.) against the single Ledoit-Wolf Gaussian.
- ``MixtureScoringBench``: the same model size (10 Gaussians, d = 64) scored
  by skrep and by scikit-learn's ``GaussianMixture.score_samples``, with full
  and with tied covariances (issue 6's targets: 3x and 10x faster), in
  float64 and float32 (skrep scores float32 input in float32; scikit-learn
  computes in float64 whatever the input).
- ``SingleGaussianBench``: one Gaussian (no labels) against scikit-learn's
  ``EllipticEnvelope`` and, when installed, pyod's ``MCD``: fit time (target:
  no slower than EllipticEnvelope; since issue 18 skrep's fit includes the
  model choice and the out-of-fold calibration), scoring time and AUROC.
- ``StreamingBench`` (issue 18): ``partial_fit`` over 20 chunks of digits
  0-4 against one ``fit`` on the same rows (each call recalibrates the
  threshold; the model choice runs again only when a class's rows double).
- ``ProtocolsBench`` (issue 18): the detectors with their defaults on the
  bundled-data OOD protocols of the user guide (digits leave-five-classes-out,
  wine raw and standardised, breast cancer in both directions (benign
  in, and reversed: malignant in); every split, ten seeds;
  ``protocol_results``):
  ``track_auroc`` (higher is better) for skrep and the four scikit-learn
  detectors, and for skrep the share of held-out in-distribution rows
  flagged with ``contamination=0.05`` and ``'auto'`` (targets 0.05 and
  the fitted ``contamination_``: 0.0027, or ``1 / (n + 1)`` below 370
  training rows).
- ``gaussian_flag_rates`` (issue 18, not timed): the share of new Gaussian
  rows flagged at ``contamination=0.05`` and ``'auto'`` from 60 to 1,000
  training rows (the user guide's calibration figures).
- ``one_class_flag_rates`` (issue 18, not timed): the held-out flag rates
  of the defaults trained on one class (benign or malignant tumours, each
  wine cultivar, each iris species) over many half splits, at ``'auto'``,
  0.01 and 0.05, on breast cancer with and without its two near-duplicate
  extreme rows (``BENIGN_TWINS``), against the Beta-binomial law of an
  exchangeable calibration (the user guide's figures).
- ``marginal_model_results`` (issue 18, not timed): the AUROC on the same
  protocols of per-feature marginal models tried for the defaults
  (Yeo-Johnson as a density or as features, shifted Box-Cox, a Gaussian
  copula, mixtures), the figures of the user guide's "Accuracy" section.
"""

import pickle
import warnings

import numpy as np
from sklearn.base import BaseEstimator

from .common import (
    Data,
    Predictor,
    Scored,
    import_or_skip,
    peers,
    rng,
)


class LedoitWolfMahalanobis(BaseEstimator):
    """The peer: one Ledoit--Wolf Gaussian, score = minus the Mahalanobis
    distance (higher = more normal, scikit-learn's convention)."""

    def fit(self, X, y=None):
        from sklearn.covariance import LedoitWolf

        self.covariance_ = LedoitWolf().fit(X)
        return self

    def score_samples(self, X):
        return -np.sqrt(self.covariance_.mahalanobis(X))


def class_conditional_features(n_samples, n_features, n_classes, ood_fraction, seed):
    """Deep-feature-like data: Gaussian classes with a shared correlated
    covariance, plus an ``ood_fraction`` of rows from a shifted, wider law."""
    law = rng(0)  # the same class means and covariance for every sample
    means = 2.0 * law.standard_normal((n_classes, n_features))
    mixing = law.standard_normal((n_features, n_features)) / np.sqrt(n_features)
    gen = rng(seed)
    y = gen.integers(n_classes, size=n_samples)
    X = gen.standard_normal((n_samples, n_features)) @ mixing.T
    X += means[y]
    is_ood = gen.random(n_samples) < ood_fraction
    X[is_ood] = 1.5 * X[is_ood] + 2.0
    y[is_ood] = -1
    return X, y


class GaussianOODBench(Predictor, Scored):
    """Fit on in-distribution features, score a million rows."""

    param_names = ["library", "n_test"]
    params = (peers("sklearn-ledoitwolf"), [1_000_000])
    predict_method = "score_samples"
    n_train = 100_000
    n_features = 64
    n_classes = 10

    def make_data(self, p):
        X, y = class_conditional_features(
            self.n_train, self.n_features, self.n_classes, 0.0, seed=1
        )
        X_test, y_test = class_conditional_features(
            p["n_test"], self.n_features, self.n_classes, 0.1, seed=2
        )
        return Data(X, y, X_test, y_test)

    def make_estimator(self, p):
        if p["library"] == "sklearn-ledoitwolf":
            return LedoitWolfMahalanobis()
        Detector = import_or_skip("skrep.ood", "GaussianMixtureOODDetector")
        return Detector(covariance_type="tied")

    def score(self, estimator, X, y):
        from sklearn.metrics import roc_auc_score

        return roc_auc_score(y != -1, self.predict(estimator, X))


class MixtureScoringBench(Predictor):
    """Score a million rows with 10 Gaussians (d = 64): skrep's per-class
    Gaussians against ``GaussianMixture`` with the same 10 components."""

    param_names = ["library", "covariance_type", "dtype"]
    params = (
        peers("sklearn-gaussianmixture"),
        ["full", "tied"],
        ["float64", "float32"],
    )
    predict_method = "score_samples"
    n_train = 20_000
    n_test = 1_000_000
    n_features = 64
    n_classes = 10

    def make_data(self, p):
        X, y = class_conditional_features(
            self.n_train, self.n_features, self.n_classes, 0.0, seed=1
        )
        X_test, y_test = class_conditional_features(
            self.n_test, self.n_features, self.n_classes, 0.1, seed=2
        )
        return Data(X, y, X_test.astype(p["dtype"]), y_test)

    def make_estimator(self, p):
        if p["library"] == "sklearn-gaussianmixture":
            from sklearn.mixture import GaussianMixture

            # Started at the class means, a few EM steps: the timed part is
            # scoring, and the model size equals skrep's.
            X, y = class_conditional_features(
                self.n_train, self.n_features, self.n_classes, 0.0, seed=1
            )
            means = np.stack([X[y == c].mean(axis=0) for c in range(self.n_classes)])
            return GaussianMixture(
                self.n_classes,
                covariance_type=p["covariance_type"],
                means_init=means,
                max_iter=5,
                random_state=0,
            )
        Detector = import_or_skip("skrep.ood", "GaussianMixtureOODDetector")
        return Detector(covariance_type=p["covariance_type"])

    def warmup(self):
        # A subset of 256 rows has too few rows per component for EM.
        self.predict(self.estimator, self.data.X_test[:256])


class SingleGaussianBench(Predictor, Scored):
    """One Gaussian of unlabelled in-distribution rows: skrep (Ledoit-Wolf)
    against ``EllipticEnvelope`` (MCD) and pyod's ``MCD``; AUROC, higher is
    better."""

    param_names = ["library"]
    params = [peers("sklearn-ellipticenvelope", "pyod-mcd")]
    predict_method = "score_samples"
    # The MCD fit is slow (minutes for 5,000 x 64 on a loaded 2-core machine).
    timeout = 900.0
    n_train = 2_000
    n_test = 200_000
    n_features = 64
    n_classes = 10

    def make_data(self, p):
        X, _ = class_conditional_features(
            self.n_train, self.n_features, self.n_classes, 0.0, seed=1
        )
        X_test, y_test = class_conditional_features(
            self.n_test, self.n_features, self.n_classes, 0.1, seed=2
        )
        return Data(X, None, X_test, y_test)

    def make_estimator(self, p):
        if p["library"] == "sklearn-ellipticenvelope":
            from sklearn.covariance import EllipticEnvelope

            return EllipticEnvelope(random_state=0)
        if p["library"] == "pyod-mcd":
            return import_or_skip("pyod.models.mcd", "MCD")(random_state=0)
        Detector = import_or_skip("skrep.ood", "GaussianMixtureOODDetector")
        return Detector()

    def predict(self, estimator, X):
        if self.p["library"] == "pyod-mcd":
            return -estimator.decision_function(X)  # pyod: higher = outlier
        return estimator.score_samples(X)

    def score(self, estimator, X, y):
        from sklearn.metrics import roc_auc_score

        return roc_auc_score(y != -1, self.predict(estimator, X))


class StreamingBench:
    """``partial_fit`` over 20 chunks of the 901 images of digits 0-4 (in
    a random order) against one ``fit`` on the same rows, and a first
    chunk of 100 rows followed by 200 single rows (the threshold, which
    ``partial_fit`` calibrates when first read, read at the end)."""

    param_names = ["how"]
    params = [["fit", "partial_fit-20-chunks", "partial_fit-100-then-200-single-rows"]]

    def setup(self, how):
        from sklearn.datasets import load_digits

        self.Detector = import_or_skip("skrep.ood", "GaussianMixtureOODDetector")
        X, y = load_digits(return_X_y=True)
        rows = np.random.RandomState(0).permutation(np.flatnonzero(y < 5))
        self.X, self.y = X[rows], y[rows]
        self.Detector().fit(self.X[:100], self.y[:100])  # warm numba up

    def time_train(self, how):
        if how == "fit":
            self.Detector().fit(self.X, self.y)
            return
        detector = self.Detector()
        if how == "partial_fit-20-chunks":
            chunks = np.array_split(np.arange(len(self.y)), 20)
        else:
            chunks = [np.arange(100)] + [[i] for i in range(100, 300)]
        for rows in chunks:
            detector.partial_fit(self.X[rows], self.y[rows])
        return detector.offset_


class FitCostBench:
    """The fit time of the defaults' extra candidates against the defaults
    without them and ``EllipticEnvelope``, on the same rows: digits 0-4
    (the class log-density candidates; without: ``class_score=
    'mahalanobis'``), 178 benign breast-cancer rows and 60 wine rows of
    classes 1 and 2 (the factor models; without: ``n_factors=None``). The
    defaults' fit includes the calibration on ``2 cv`` folds (10 models
    built from the folds' statistics, and one scoring pass)."""

    param_names = ["data", "model"]
    params = [
        ["digits 0-4", "breast cancer benign", "wine 1-2"],
        ["defaults", "without the new candidates", "EllipticEnvelope"],
    ]

    def setup(self, data, model):
        from sklearn.covariance import EllipticEnvelope
        from sklearn.datasets import load_breast_cancer, load_digits, load_wine

        Detector = import_or_skip("skrep.ood", "GaussianMixtureOODDetector")
        if data == "digits 0-4":
            X, y = load_digits(return_X_y=True)
            self.X, self.y = X[y < 5], y[y < 5]
            without = {"class_score": "mahalanobis"}
        elif data == "wine 1-2":
            X, y = load_wine(return_X_y=True)
            self.X, self.y = X[y > 0][::2], y[y > 0][::2]
            without = {"n_factors": None}
        else:
            X, y = load_breast_cancer(return_X_y=True)
            benign = np.random.RandomState(0).permutation(np.flatnonzero(y == 1))
            self.X, self.y = X[benign[:178]], None
            without = {"n_factors": None}
        self.make = {
            "defaults": lambda: Detector(),
            "without the new candidates": lambda: Detector(**without),
            "EllipticEnvelope": lambda: EllipticEnvelope(random_state=0),
        }[model]
        self.time_fit(data, model)  # warm up (numba, imports)

    def time_fit(self, data, model):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # small-data threshold, EE's
            self.make().fit(self.X, self.y)


class ManyClassesFitBench:
    """Fit time and peak memory with many classes of many features (issue 18):
    20 classes of 256 features, 50 rows each (1,000 rows, 2 MB), where the
    statistics of the ``C x 2 cv`` (class, fold) groups dominate, against
    one Ledoit-Wolf covariance of the class-centred rows (scikit-learn: no
    folds, no model choice, no calibration) and ``EllipticEnvelope`` on the
    same rows (no labels: one robust covariance, scikit-learn's detector of
    the kind)."""

    param_names = ["model"]
    params = [
        [
            "tied",
            "tied, shrinkage='oas'",
            "auto",
            "LedoitWolf pooled",
            "EllipticEnvelope",
        ]
    ]
    timeout = 600.0

    def setup(self, model):
        from sklearn.covariance import EllipticEnvelope, LedoitWolf

        Detector = import_or_skip("skrep.ood", "GaussianMixtureOODDetector")
        rng = np.random.RandomState(0)
        means = np.repeat(rng.standard_normal((20, 256)), 50, axis=0)
        self.X = rng.standard_normal((1000, 256)) + means
        self.y = np.repeat(np.arange(20), 50)
        self.fit = {
            "tied": lambda: Detector(covariance_type="tied").fit(self.X, self.y),
            "tied, shrinkage='oas'": lambda: Detector(
                covariance_type="tied", shrinkage="oas"
            ).fit(self.X, self.y),
            "auto": lambda: Detector().fit(self.X, self.y),
            "LedoitWolf pooled": lambda: LedoitWolf().fit(self.X - means),
            "EllipticEnvelope": lambda: EllipticEnvelope(random_state=0).fit(self.X),
        }[model]
        self.time_fit(model)  # warm up (numba, imports)

    def time_fit(self, model):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # small-data threshold
            self.fit()

    def peakmem_fit(self, model):
        self.time_fit(model)

    def track_pickle_bytes(self, model):
        """What the fitted model keeps (fit holds the (class, fold) groups'
        counts and means and its rows, not their matrices)."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return len(pickle.dumps(self.fit()))

    track_pickle_bytes.unit = "bytes"


def protocol_results(seeds=range(10)):
    """Mean AUROC of skrep's defaults and of the four scikit-learn detectors
    on every protocol of ``ood_protocols`` (all splits, the given seeds),
    skrep's flag rates on the held-out in-distribution rows (pooled) with
    their standard errors (``"flag 0.05 se"``, ``"flag auto se"``), the
    rate that 'auto' states (``"auto rate"``: 0.27%, or ``1 / (n + 1)``
    below 370 training rows; pooled like the flags), and
    what the defaults chose (``choices``: counts of (covariance_type,
    shrinkage_target, n_factors, class_score)).

    The held-out rows of one split share its calibration set, so they are
    not independent draws and the pooled binomial error understates the
    spread: the standard error is that of the per-seed rates (each seed's
    splits pooled) across the seeds.

    ``python -c "from benchmarks.ood import protocol_results as r;
    print(r())"`` in ``asv_bench`` prints the figures of the user guide.
    """
    from sklearn.covariance import EllipticEnvelope
    from sklearn.ensemble import IsolationForest
    from sklearn.metrics import roc_auc_score
    from sklearn.neighbors import LocalOutlierFactor
    from sklearn.svm import OneClassSVM

    Detector = import_or_skip("skrep.ood", "GaussianMixtureOODDetector")
    protocols = import_or_skip("skrep.ood._tour", "ood_protocols")
    makers = {
        "sklearn-ellipticenvelope": lambda: EllipticEnvelope(random_state=0),
        "sklearn-lof": lambda: LocalOutlierFactor(novelty=True),
        "sklearn-isolationforest": lambda: IsolationForest(random_state=0),
        "sklearn-oneclasssvm": OneClassSVM,
    }
    results = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MCD on the constant pixels
        for protocol, _, seed, X_tr, y_tr, X_eval, is_in in protocols(tuple(seeds)):
            out = results.setdefault(protocol, {"choices": {}, "seed": []})
            out["seed"].append(seed)
            # One fit: neither the model nor the calibration scores depend
            # on contamination, and predict at contamination=0.05 flags
            # exactly the rows with conformal p-value <= 0.05 (0.05 (n + 1)
            # >= 1 rows here).
            det = Detector(contamination="auto").fit(X_tr, y_tr)
            inside = X_eval[is_in]
            flags = {0.05: det.score_to_pvalue(inside) <= 0.05}
            flags["auto"] = det.predict(inside) == -1
            stated = np.full(inside.shape[0], det.contamination_)
            out.setdefault("auto rate", []).append(stated)
            for contamination, flagged in flags.items():
                out.setdefault(f"flag {contamination}", []).append(flagged)
            auroc = roc_auc_score(is_in, det.score_samples(X_eval))
            out.setdefault("skrep", []).append(auroc)
            chosen = (
                det.covariance_type_,
                det.shrinkage_target_,
                det.n_factors_,
                det.class_score_,
            )
            out["choices"][chosen] = out["choices"].get(chosen, 0) + 1
            for name, make in makers.items():
                score = make().fit(X_tr).score_samples(X_eval)
                out.setdefault(name, []).append(roc_auc_score(is_in, score))
    summary = {}
    for protocol, out in results.items():
        seed_of = np.array(out.pop("seed"))
        summary[protocol] = row = {"choices": out.pop("choices")}
        for key, v in out.items():
            if key[:4] != "flag":
                pooled = np.concatenate(v) if key == "auto rate" else v
                row[key] = float(np.mean(pooled))
                continue
            flagged = np.concatenate(v)
            seed = np.repeat(seed_of, [len(f) for f in v])
            row[key] = float(np.mean(flagged))
            per_seed = [np.mean(flagged[seed == s]) for s in np.unique(seed)]
            row[f"{key} se"] = float(np.std(per_seed, ddof=1) / np.sqrt(len(per_seed)))
    return summary


def gaussian_flag_rates(
    seeds=range(10),
    n_new=20_000,
    shapes=((60, 5), (100, 10), (200, 5), (300, 30), (1000, 10)),
):
    """Share of new rows flagged by the defaults (one class, no labels) on
    Gaussian data, pooled over the seeds, at ``contamination=0.05`` (via the
    conformal p-values) and ``'auto'``, for each (rows, features) of
    ``shapes``, with the binomial standard error of the pooled rate at
    0.05 (the new rows' and the calibration quantiles', ``n`` training rows
    per seed), the rate that 'auto' states (``"auto rate"``: 0.27%, or ``1 /
    (n + 1)`` below 370 rows) and the standard error of the seeds' rates
    at 'auto' (``"auto se"``; each seed's threshold is one draw, its rate
    spread about as widely as the rate itself below 370 rows).

    ``python -c "from benchmarks.ood import gaussian_flag_rates as r;
    print(r())"`` in ``asv_bench`` prints the figures of the user guide.
    """
    Detector = import_or_skip("skrep.ood", "GaussianMixtureOODDetector")
    results = {}
    for n, p in shapes:
        at_005, auto, stated = [], [], []
        for seed in seeds:
            random = rng(seed)
            A = random.standard_normal((p, p))
            X = random.standard_normal((n + n_new, p)) @ A
            det = Detector().fit(X[:n])
            at_005.append(det.score_to_pvalue(X[n:]) <= 0.05)
            auto.append(det.predict(X[n:]) == -1)
            stated.append(det.contamination_)
        rows = len(at_005) * np.array([n, n_new])
        results[n, p] = {
            "flag 0.05": float(np.mean(at_005)),
            "flag auto": float(np.mean(auto)),
            "se 0.05": float(np.sqrt(0.05 * 0.95 * np.sum(1 / rows))),
            "auto rate": float(np.mean(stated)),
            "auto se": float(np.std(np.mean(auto, axis=1), ddof=1) / len(auto) ** 0.5),
        }
    return results


#: The benign tumours of ``load_breast_cancer`` (their order among the
#: ``target == 1`` rows) whose scores set the 'auto' threshold on most
#: splits: two near-duplicate extremes (huge concavity and compactness
#: errors; feature z-scores up to 8.5 and 11.3, correlated 0.77), each
#: moderating the other's score when it is in the model.
BENIGN_TWINS = (18, 69)


#: The calibration ranks at which ``one_class_flag_rates`` measures the
#: flag rate (the ``k``-th smallest out-of-fold score as the threshold).
RANKS = (1, 2, 3, 5, 9)


def one_class_rows(data):
    """The rows of one class of a bundled data set, as ``one_class_flag_rates``
    trains on them: ``"benign"`` and ``"malignant"`` breast-cancer tumours
    (30 features), ``"wine c"`` (raw features) and ``"iris c"`` for class
    ``c``."""
    from sklearn.datasets import load_breast_cancer, load_iris, load_wine

    name, _, label = data.partition(" ")
    if name in ("benign", "malignant"):
        X, y = load_breast_cancer(return_X_y=True)
        return X[y == int(name == "benign")]
    X, y = {"wine": load_wine, "iris": load_iris}[name](return_X_y=True)
    return X[y == int(label)]


def one_class_flag_rates(data="benign", seeds=range(200), drop=(), **params):
    """Held-out flag rates of the defaults trained on one class, no labels
    (``one_class_rows(data)``; e.g. the breast-cancer protocol's benign
    tumours: 178 training rows, 30 features), half of the rows training
    (``train_test_split(test_size=0.5)``, one split per seed), the other
    half held out, less the rows at the positions ``drop`` (e.g.
    ``BENIGN_TWINS``), for ``contamination='auto'`` (``contamination_``:
    ``1 / (n + 1)`` below 370 rows), 0.01 and 0.05 (the conformal p-values
    of one fit; a rate below ``1 / (n + 1)``, extrapolated, by a fit at
    that ``contamination``; ``params`` go to the detector).

    For each rate: the pooled share of held-out rows flagged (``"rate"``),
    the target, the standard error of the mean of the splits' rates
    (``"se"``, measured) and under the Beta-binomial law of an exchangeable
    calibration (``"beta se"``: a split's threshold has the rate
    ``Beta(k, n + 1 - k)``, ``k = q (n + 1) >= 1``), and the share of splits
    with no flag (``"zero"``; for 'auto' at the smallest calibration score,
    below 370 rows, ``"beta zero"``, ``n / (n + m)`` under that law).
    ``"ranks"``: for ``k`` in ``RANKS``, the share (and
    its standard error) of held-out rows scoring at or below the ``k``-th
    smallest calibration score (``k / (n + 1)`` for an exchangeable
    calibration); ``"gap ratio"``: the median over the splits of the gap
    between the two smallest calibration scores over the gap between the
    second and the third (about 2 for an exponential tail; a heavier tail
    puts a threshold interpolated between the two smallest scores below
    its rate). For ``"benign"``, ``"twins"``: of the splits with one
    of ``BENIGN_TWINS`` held out and the other training, how many, and in
    how many the held-out one was flagged at 'auto'; the same with both
    held out.

    ``python -c "from benchmarks.ood import one_class_flag_rates as r;
    print(r())"`` in ``asv_bench`` prints the figures of the user guide.
    """
    from scipy.stats import beta
    from sklearn.model_selection import train_test_split

    Detector = import_or_skip("skrep.ood", "GaussianMixtureOODDetector")
    X = one_class_rows(data)
    position = np.delete(np.arange(len(X)), list(drop))
    counts, ranked, gaps = [], [], []
    twins = {"one held out": [0, 0], "both held out": [0, 0]}
    for seed in seeds:
        train, test = train_test_split(
            position, test_size=0.5, random_state=seed, stratify=np.ones(len(position))
        )
        det = Detector(**params).fit(X[train])
        p = det.score_to_pvalue(X[test])
        rates = {"auto": det.contamination_, 0.01: 0.01, 0.05: 0.05}
        flags = {}
        for q, rate in rates.items():
            if rate * (len(train) + 1) >= 1 - 1e-9:
                flags[q] = p <= rate * (1 + 1e-12)
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the extrapolation warning
                extrapolated = Detector(contamination=q, **params).fit(X[train])
            flags[q] = extrapolated.predict(X[test]) == -1
        counts.append([np.sum(flags[q]) for q in rates])
        ranked.append([np.sum(p <= k / (len(train) + 1) * (1 + 1e-12)) for k in RANKS])
        c = np.asarray(det.calibration_scores_)[:3]
        gaps.append((c[1] - c[0]) / (c[2] - c[1]))
        flagged = set(test[flags["auto"]].tolist())
        held = [t for t in BENIGN_TWINS if t in test]
        trained = [t for t in BENIGN_TWINS if t in train]
        key = {1: "one held out", 2: "both held out"}.get(len(held))
        if key and len(held) + len(trained) == 2:
            twins[key][0] += 1
            twins[key][1] += sum(t in flagged for t in held)
    counts = np.array(counts)
    n, m = len(train), len(test)
    results = {
        "n": n,
        "m": m,
        "splits": len(counts),
        "gap ratio": float(np.median(gaps)),
    }
    results["ranks"] = {
        k: (float(np.mean(r) / m), float(np.std(r / m, ddof=1) / len(r) ** 0.5))
        for k, r in zip(RANKS, np.array(ranked).T, strict=True)
    }
    if data == "benign":
        results["twins"] = twins
    for q, per_split in zip(rates, counts.T, strict=True):
        rate = rates[q]
        k = rate * (n + 1)
        mean, var = beta.mean(k, n + 1 - k), beta.var(k, n + 1 - k)
        split_var = (mean * (1 - mean) - var) / m + var
        results[q] = {
            "rate": float(per_split.sum() / per_split.size / m),
            "target": rate,
            "se": float(np.std(per_split / m, ddof=1) / np.sqrt(len(per_split))),
            "beta se": float(np.sqrt(split_var / len(per_split))) if k >= 1 else None,
            "zero": float(np.mean(per_split == 0)),
        }
    if np.isclose(rates["auto"] * (n + 1), 1):  # 'auto' at the smallest score
        results["auto"]["beta zero"] = n / (n + m)
    return results


class ProtocolsBench:
    """Defaults on the bundled-data OOD protocols (``ood_protocols``, ten
    seeds): mean AUROC over the splits and seeds (higher is better), and
    skrep's flag rates on held-out in-distribution rows (targets 0.05 and
    ``contamination_``: 0.0027, or ``1 / (n + 1)`` below 370 training
    rows)."""

    param_names = ["library", "protocol"]
    params = (
        peers(
            "sklearn-ellipticenvelope",
            "sklearn-lof",
            "sklearn-isolationforest",
            "sklearn-oneclasssvm",
        ),
        [
            "digits",
            "wine raw",
            "wine standardised",
            "breast cancer",
            "breast cancer reversed",
        ],
    )
    timeout = 1800.0

    def setup_cache(self):
        return protocol_results()

    def track_auroc(self, results, library, protocol):
        return results[protocol][library]

    def track_flag_rate_005(self, results, library, protocol):
        return results[protocol]["flag 0.05"] if library == "skrep" else np.nan

    def track_flag_rate_auto(self, results, library, protocol):
        return results[protocol]["flag auto"] if library == "skrep" else np.nan


def _own_class_log_density(detector, X, y):
    """Log-density of each row under its own class's Gaussian (a fitted
    detector with one block and ``n_components=1``), in X's units."""
    from scipy import linalg

    cov = detector.covariances_[0]
    label = np.zeros(len(X), int)
    if y is not None:
        label = np.searchsorted(detector.classes_, y)
    out = np.empty(len(X))
    for c in np.unique(label):
        S = cov if cov.ndim == 2 else cov[c, 0]
        sd = np.sqrt(np.diag(S))
        L = linalg.cholesky(S / np.outer(sd, sd), lower=True)  # correlations
        R = (X[label == c] - detector.means_[c, 0]) / sd
        R = linalg.solve_triangular(L, R.T, lower=True)
        out[label == c] = (
            -0.5 * np.sum(R * R, axis=0)
            - np.log(np.diag(L)).sum()
            - np.log(sd).sum()
            - 0.5 * len(sd) * np.log(2 * np.pi)
        )
    return out


def _yeo_johnson(X_fit):
    """Yeo-Johnson features fitted on ``X_fit`` (scikit-learn's
    ``PowerTransformer``, standardised): a function of X returning the
    transformed rows and each row's log-Jacobian."""
    from sklearn.preprocessing import PowerTransformer

    power = PowerTransformer().fit(X_fit)

    def transform(X):
        # d/dx of Yeo-Johnson: (1 + |x|) ** ((lambda - 1) sign(x)).
        step = (power.lambdas_ - 1.0) * np.sign(X) * np.log1p(np.abs(X))
        log_jac = step.sum(axis=1) - np.log(power._scaler.scale_).sum()
        return power.transform(X), log_jac

    return transform


def _shifted_box_cox(X_fit, shift):
    """Box-Cox of ``(x - min + shift * sd) / sd`` per feature, fitted on
    ``X_fit`` (``shift=None``: ``range / (n - 1)`` below the minimum); a
    constant feature keeps lambda = 1."""
    from scipy import special, stats

    sd = X_fit.std(axis=0)
    sd[sd == 0] = 1.0
    below = np.ptp(X_fit, axis=0) / (len(X_fit) - 1) if shift is None else shift * sd
    low = X_fit.min(axis=0) - below - 1e-12 * sd
    lam = [
        stats.boxcox_normmax((x - lo) / s, method="mle") if np.ptp(x) > 0 else 1.0
        for x, lo, s in zip(X_fit.T, low, sd, strict=True)
    ]

    def transform(X):
        Z = np.maximum((X - low) / sd, 1e-12)  # rows below the bound: far out
        columns = zip(Z.T, lam, strict=True)
        return np.column_stack([special.boxcox(z, lm) for z, lm in columns])

    return transform


def _copula(X_fit):
    """Gaussian copula with Gaussian kernel-density marginals (Silverman's
    bandwidth), fitted on ``X_fit``: a function of X returning the normal
    scores of the marginal CDFs and each row's log-Jacobian."""
    from scipy import special, stats

    sd = X_fit.std(axis=0)
    sd[sd == 0] = 1.0
    h = 1.06 * sd * len(X_fit) ** -0.2

    def transform(X):
        U = (X[:, None, :] - X_fit[None, :, :]) / h
        log_n = np.log(len(X_fit))
        log_f = special.logsumexp(stats.norm.logpdf(U), axis=1) - log_n - np.log(h)
        log_cdf = special.logsumexp(special.log_ndtr(U), axis=1) - log_n
        log_sf = special.logsumexp(special.log_ndtr(-U), axis=1) - log_n
        z = np.where(
            log_cdf < np.log(0.5),
            special.ndtri_exp(log_cdf),
            -special.ndtri_exp(log_sf),
        )
        return z, (log_f - stats.norm.logpdf(z)).sum(axis=1)

    return transform


def marginal_model_results(seeds=range(10), folds=5):
    """Mean AUROC of marginal models tried for the defaults (issue 18),
    on every protocol of ``ood_protocols``, each transform fitted on the
    training rows only:

    - ``defaults``;
    - ``yeo-johnson density``: Yeo-Johnson features, scored as a density of
      the original features (Gaussian score plus twice the log-Jacobian);
      ``... where chosen``: used only where the criterion of the defaults
      prefers it (held-out log-likelihood over ``folds`` folds, Jacobian
      included, with fewer than 3 classes; the leave-one-class-out AUROC,
      ``selection_scores_``, with more), and ``yeo-johnson chosen`` the
      share of splits where it is;
    - ``yeo-johnson distance``: the same features scored without the
      Jacobian;
    - ``box-cox shifted 0.1 sd`` and ``box-cox shifted by spacing``
      (``_shifted_box_cox``), scored by distance;
    - ``copula density``: ``_copula``'s normal scores, scored as a density;
    - without labels only (breast cancer): ``two-component mixture``
      (``GaussianMixture``, full covariances, standardised features) and
      ``one component by BIC``, the share of splits where BIC prefers one
      Gaussian to two or three.

    ``python -c "from benchmarks.ood import marginal_model_results as r;
    print(r())"`` in ``asv_bench`` prints the figures of the user guide.
    """
    from sklearn.metrics import roc_auc_score
    from sklearn.mixture import GaussianMixture
    from sklearn.model_selection import KFold, StratifiedKFold
    from sklearn.preprocessing import StandardScaler

    Detector = import_or_skip("skrep.ood", "GaussianMixtureOODDetector")
    protocols = import_or_skip("skrep.ood._tour", "ood_protocols")

    def heldout(X, y, transformed):
        split = StratifiedKFold(folds) if y is not None else KFold(folds)
        total = []
        for fit_rows, test in split.split(X, y):
            yf, yt = (None, None) if y is None else (y[fit_rows], y[test])
            if transformed:
                transform = _yeo_johnson(X[fit_rows])
                det = Detector().fit(transform(X[fit_rows])[0], yf)
                Z, log_jac = transform(X[test])
                total.append(_own_class_log_density(det, Z, yt) + log_jac)
            else:
                det = Detector().fit(X[fit_rows], yf)
                total.append(_own_class_log_density(det, X[test], yt))
        return np.mean(np.concatenate(total))

    results = {}
    for protocol, _, _, X_tr, y_tr, X_eval, is_in in protocols(tuple(seeds)):
        out = results.setdefault(protocol, {})

        def add(key, value, out=out):
            out.setdefault(key, []).append(value)

        def auroc(score, is_in=is_in):
            return roc_auc_score(is_in, score)

        det = Detector().fit(X_tr, y_tr)
        add("defaults", auroc(det.score_samples(X_eval)))
        transform = _yeo_johnson(X_tr)
        yj = Detector().fit(transform(X_tr)[0], y_tr)
        Z, log_jac = transform(X_eval)
        distance = yj.score_samples(Z)
        add("yeo-johnson density", auroc(distance + 2.0 * log_jac))
        add("yeo-johnson distance", auroc(distance))
        if y_tr is not None and len(np.unique(y_tr)) >= 3:
            best = max(yj.selection_scores_.values())
            chosen = best > max(det.selection_scores_.values())
        else:
            chosen = heldout(X_tr, y_tr, True) > heldout(X_tr, y_tr, False)
        add("yeo-johnson chosen", float(chosen))
        add(
            "yeo-johnson density where chosen",
            out["yeo-johnson density" if chosen else "defaults"][-1],
        )
        for name, shift in (("0.1 sd", 0.1), ("by spacing", None)):
            transform = _shifted_box_cox(X_tr, shift)
            bc = Detector().fit(transform(X_tr), y_tr)
            score = bc.score_samples(transform(X_eval))
            add(f"box-cox shifted {name}", auroc(score))
        transform = _copula(X_tr)
        cop = Detector().fit(transform(X_tr)[0], y_tr)
        Z, log_jac = transform(X_eval)
        add("copula density", auroc(0.5 * cop.score_samples(Z) + log_jac))
        if y_tr is None:
            scaler = StandardScaler().fit(X_tr)
            S_tr, S_eval = scaler.transform(X_tr), scaler.transform(X_eval)
            mixtures = [
                GaussianMixture(k, reg_covar=1e-3, n_init=3, random_state=0).fit(S_tr)
                for k in (1, 2, 3)
            ]
            bic = [m.bic(S_tr) for m in mixtures]
            add("two-component mixture", auroc(mixtures[1].score_samples(S_eval)))
            add("one component by BIC", float(np.argmin(bic) == 0))
    return {
        protocol: {key: float(np.mean(v)) for key, v in out.items()}
        for protocol, out in results.items()
    }
