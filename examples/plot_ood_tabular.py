"""
======================================================================
Out-of-distribution detection on raw tabular features, with defaults
======================================================================

:class:`skrep.ood.GaussianMixtureOODDetector` with its default settings on
the OOD protocols of the user guide, built from data sets bundled with
scikit-learn (``skrep.ood._tour.ood_protocols``): some classes are held out
of training and must be flagged, while held-out rows of the known classes
must not be.

* **digits**, five of the ten digits held out, four splits;
* **wine**, one of the three cultivars held out, on raw features (standard
  deviations from 0.12 to 314) and on standardised ones;
* **breast cancer**, trained on benign tumours (no labels), malignant ones
  held out; and **breast cancer reversed**, trained on malignant tumours,
  benign ones held out (as wine holds out each class in turn).

Each split is repeated with three seeds here (the user guide gives the
means over ten, from ``protocol_results`` in
``asv_bench/benchmarks/ood.py``). The defaults choose the covariance model,
the shrinkage target, with three classes or more how a class scores a row
(distance or log-density) and with fewer between a shrunk covariance and a
factor model, from the training data, and set the threshold on out-of-fold
scores. They are compared with scikit-learn's
outlier detectors, also with their defaults, by the AUROC and by the
false-positive rate at 95% true-positive rate (FPR95: the share of OOD rows
still accepted when 95% of the known rows are). The flag rates on the
held-out known rows show the calibration: ``contamination=0.05`` should flag
5% of them, and ``'auto'`` 0.27%, or :math:`1/(n+1)` below 370 training
rows (the rarest rate :math:`n` rows calibrate: 1.7% on wine, 0.56% and
0.94% on breast cancer).
"""

import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.covariance import EllipticEnvelope
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score, roc_curve
from sklearn.neighbors import LocalOutlierFactor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import QuantileTransformer
from sklearn.svm import OneClassSVM

from skrep.ood import GaussianMixtureOODDetector
from skrep.ood._tour import ood_protocols


def fpr_at_95_tpr(is_in, score):
    fpr, tpr, _ = roc_curve(is_in, score)
    return fpr[np.searchsorted(tpr, 0.95)]


detectors = {
    "skrep defaults": GaussianMixtureOODDetector,
    "EllipticEnvelope": lambda: EllipticEnvelope(random_state=0),
    "LocalOutlierFactor": lambda: LocalOutlierFactor(novelty=True),
    "IsolationForest": lambda: IsolationForest(random_state=0),
    "OneClassSVM": OneClassSVM,
}

# %%
# Run the protocols
# -----------------
# Only the skrep detector gets the class labels (``None`` for breast
# cancer, either way). Its flag rates are those of ``predict`` on the held-out known
# rows, fitted with ``contamination=0.05`` and with ``'auto'`` (which only
# moves ``offset_``: the scores are the same).
rows, choices, seconds = [], [], dict.fromkeys(detectors, 0.0)
with warnings.catch_warnings():
    # MCD warns about the constant pixels.
    warnings.simplefilter("ignore")
    for protocol, _, _, X_tr, y_tr, X_eval, is_in in ood_protocols():
        for name, make in detectors.items():
            start = time.perf_counter()
            est = make()
            est.fit(X_tr, y_tr) if name == "skrep defaults" else est.fit(X_tr)
            seconds[name] += time.perf_counter() - start
            score = est.score_samples(X_eval)
            row = {
                "protocol": protocol,
                "detector": name,
                "AUROC": roc_auc_score(is_in, score),
                "FPR95": fpr_at_95_tpr(is_in, score),
            }
            if name == "skrep defaults":
                for contamination in (0.05, "auto"):
                    est.set_params(contamination=contamination).fit(X_tr, y_tr)
                    flagged = est.predict(X_eval[is_in]) == -1
                    row[f"flagged at {contamination!r}"] = np.mean(flagged)
                choices.append(
                    (
                        protocol,
                        est.covariance_type_,
                        est.shrinkage_target_,
                        str(est.n_factors_),
                        est.class_score_,
                    )
                )
            rows.append(row)
results = pd.DataFrame(rows)
table = results.groupby(["protocol", "detector"], sort=False).mean()
pd.set_option("display.width", 120)
print(table.round(3).to_string())

# %%
# The mean AUROC over the five protocols, each counted once:
print(table["AUROC"].unstack("protocol").mean(axis=1).round(3).to_string())

# %%
# The defaults have the best mean (ten seeds, user guide: 0.921 against
# 0.905 for IsolationForest), but not on every protocol: they lead on
# digits and wine. On breast cancer the three seeds
# here favour LocalOutlierFactor (AUROC 0.971 against 0.965). Three seeds
# are too few to tell: breast cancer fits take milliseconds, so here are
# twelve, with the paired difference (same split) and its standard error.
paired = []
for protocol, _, _, X_tr, y_tr, X_eval, is_in in ood_protocols(seeds=range(12)):
    if protocol != "breast cancer":
        continue
    ours = GaussianMixtureOODDetector().fit(X_tr, y_tr).score_samples(X_eval)
    lof = LocalOutlierFactor(novelty=True).fit(X_tr).score_samples(X_eval)
    paired.append(roc_auc_score(is_in, ours) - roc_auc_score(is_in, lof))
paired = np.array(paired)
print(
    f"breast cancer, {paired.size} seeds: defaults - LOF = {paired.mean():+.4f} "
    f"± {paired.std(ddof=1) / np.sqrt(paired.size):.4f} (s.e.), "
    f"LOF ahead in {np.sum(paired < 0)}"
)

# %%
# A tie within error, not a win: over 30 seeds the difference is +0.0017 ±
# 0.0020 (LOF ahead in 12), and over 100 splits (50 seeds, with and
# without stratification) +0.002 ± 0.001. LOF's Euclidean neighbours profit
# from the large-variance area features of the raw data (on standardised
# features it scores 0.953 over ten seeds); the defaults do not depend on
# the features' units.
#
# Reversed, breast cancer is the one protocol where the defaults trail:
# trained on malignant tumours they detect benign ones with AUROC 0.74 here
# (0.71 over ten seeds), behind IsolationForest, OneClassSVM and LOF; only
# EllipticEnvelope, another Gaussian model, does worse. With fewer than
# 370 training rows (wine, breast cancer) no calibration score is as rare
# as 0.27%, and ``'auto'`` flags :math:`1/(n+1)` (``contamination_``): its
# threshold is the smallest calibration score. Three seeds spread these
# rates widely (each seed's threshold is one draw, its rate spread as
# widely as the rate itself); over 30 seeds (user guide) wine 1.49%
# (target 1.67%), malignant breast cancer 1.19% (0.94%), and benign 0.17%
# (0.56%; 9 flags where 30 are expected, 27 of the 30 splits flagging
# none).

# %%
# Why the reversed split is hard for a Gaussian
# ---------------------------------------------
# Malignant tumours are the larger ones, and their size and shape features
# are right-skewed and bounded below at about two standard deviations under
# their mean: on "worst perimeter" half of the benign tumours lie below
# every malignant training row (52%, ten seeds), yet their median is only
# 1.9 standard deviations below the mean, where a symmetric Gaussian still
# expects known rows. Isolation forests and
# neighbours see "outside the range" directly. Mapping each feature to
# normal quantiles before the detector (a ``QuantileTransformer`` in a
# pipeline; no labels needed) turns the bound into a far tail and wins the
# reversed split, but costs some AUROC where the Gaussian fits the features
# (benign-in breast cancer here; digits and wine as well, see the user
# guide), so it is a choice for skewed, bounded features, not a default.
# A marginal model inside the detector does not do it either (ten seeds,
# user guide): Yeo-Johnson features scored as a density of the original
# ones fit the malignant marginals better (held-out log-likelihood prefers
# them by about 15 nats per row) yet detect benign tumours worse, AUROC
# 0.61, because a right-skewed marginal is densest just above its lower
# bound; scored by distance, without the Jacobian, they give 0.81.
remedy = []
for protocol, _, _, X_tr, _, X_eval, is_in in ood_protocols():
    if not protocol.startswith("breast cancer"):
        continue
    marginals = QuantileTransformer(output_distribution="normal", n_quantiles=len(X_tr))
    for name, est in (
        ("skrep defaults", GaussianMixtureOODDetector()),
        (
            "normal quantiles, then skrep",
            make_pipeline(marginals, GaussianMixtureOODDetector()),
        ),
    ):
        score = est.fit(X_tr).score_samples(X_eval)
        remedy.append((protocol, name, roc_auc_score(is_in, score)))
remedy = pd.DataFrame(remedy, columns=["protocol", "detector", "AUROC"])
print(remedy.groupby(["protocol", "detector"]).mean().round(3).to_string())

# %%
# What the defaults chose
# -----------------------
# Per-class covariances, the identity target (pixels share a scale) and the
# class log-density on digits, the diagonal target on raw wine (it then
# scores as on standardised features), the tied covariance and the distance
# for fewer than three classes.
# With fewer than three classes held-out log-likelihood also weighs factor
# models (``n_factors``, None: the shrunk covariance): on breast cancer it
# prefers 8 factors, on some wine splits a few.
columns = ["protocol", "covariance", "target", "factors", "class score"]
choices = pd.DataFrame(choices, columns=columns)
print(choices.value_counts().sort_index().to_string())

# %%
# Fit times, summed over all the splits and seeds (the skrep fit includes
# the model choice and the out-of-fold calibration):
for name, total in seconds.items():
    print(f"{name:20s} {total:6.2f} s")

# %%
# AUROC by protocol
# -----------------
auroc = table["AUROC"].unstack("detector")[list(detectors)]
ax = auroc.plot.bar(figsize=(10, 4), ylim=(0.5, 1.0), rot=10)
ax.set_ylabel("mean AUROC (3 seeds, all splits)")
ax.set_title("Held-out classes detected, detectors with their defaults")
ax.legend(fontsize=8, loc="lower left")
plt.tight_layout()
plt.show()
