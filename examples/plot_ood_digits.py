"""
==================================================================
Detecting unseen digits with class-conditional Gaussian models
==================================================================

Train on the images of digits 0-4 (the digits data set bundled with
scikit-learn) and flag the images of digits 5-9, which the model never saw,
as out-of-distribution. :class:`skrep.ood.GaussianMixtureOODDetector` covers
the three Gaussian detectors of its papers:

* one Gaussian of all training rows with a Ledoit-Wolf covariance (Rippel et
  al.), also restricted to the low-variance principal components (NPCA);
* class-conditional Gaussians with a tied covariance, scored by the
  Mahalanobis distance to the nearest class (Lee et al.), also relative to a
  background Gaussian of all classes (Ren et al.);
* one Gaussian per class with its own covariance, and per feature chunk
  (HVCM), and per-class Gaussian mixtures fitted by EM.

The defaults choose between them from the training data (here: per-class
covariances, shrunk towards a multiple of the identity, each class scored by
its Gaussian log-density). They are compared
with scikit-learn's ``EllipticEnvelope`` (a robust single Gaussian),
``GaussianMixture`` (one unlabelled mixture) and ``LocalOutlierFactor``, by
the area under the ROC curve and the false-positive rate at 95% true-positive
rate (FPR95: the share of unseen digits still accepted when 95% of the known
digits are). Using the labels helps: the class-conditional models separate
the unseen digits far better than any single Gaussian, and per-class
covariances better than a tied one; scoring each class by its Gaussian
log-density (the log-determinant of each class's covariance counts too)
better than by the distance alone.
``examples/plot_ood_tabular.py`` runs the defaults on more splits and data
sets.
"""

import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.covariance import EllipticEnvelope
from sklearn.datasets import load_digits
from sklearn.metrics import roc_auc_score, roc_curve
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import train_test_split
from sklearn.neighbors import LocalOutlierFactor

from skrep.ood import GaussianMixtureOODDetector

X, y = load_digits(return_X_y=True)
inside = y < 5
X_train, X_test, y_train, _ = train_test_split(
    X[inside], y[inside], test_size=0.5, random_state=0, stratify=y[inside]
)
X_eval = np.r_[X_test, X[~inside]]
is_in = np.r_[np.ones(len(X_test), bool), np.zeros((~inside).sum(), bool)]

# %%
# Fit the detectors
# -----------------
# Labels are passed to the class-conditional variants only. The pixel data
# have constant pixels (a singular covariance): shrinkage handles them.
# The EM mixtures need a larger ``reg_covar`` (relative to the mean pixel
# variance) on 64 pixels with about 90 images per class.
detectors = {
    "defaults (labels)": (GaussianMixtureOODDetector(), True),
    "single Gaussian (Ledoit-Wolf)": (
        GaussianMixtureOODDetector(shrinkage_target="identity"),
        False,
    ),
    "single Gaussian, NPCA": (
        GaussianMixtureOODDetector(
            subspace="low_variance", variance_threshold=0.9, shrinkage_target="identity"
        ),
        False,
    ),
    "class-conditional, tied (Lee)": (
        GaussianMixtureOODDetector(covariance_type="tied"),
        True,
    ),
    "tied, relative (Ren)": (
        GaussianMixtureOODDetector(covariance_type="tied", relative=True),
        True,
    ),
    "class-conditional, full": (
        GaussianMixtureOODDetector(covariance_type="full", class_score="mahalanobis"),
        True,
    ),
    "class-conditional, 4 chunks (HVCM)": (
        GaussianMixtureOODDetector(
            covariance_type="full", feature_blocks=4, class_score="mahalanobis"
        ),
        True,
    ),
    "per-class mixtures (EM, 3 comp.)": (
        GaussianMixtureOODDetector(
            3, covariance_type="full", reg_covar=1.0, random_state=0
        ),
        True,
    ),
    "sklearn EllipticEnvelope": (EllipticEnvelope(random_state=0), False),
    "sklearn GaussianMixture (5 comp.)": (GaussianMixture(5, random_state=0), False),
    "sklearn LocalOutlierFactor": (LocalOutlierFactor(novelty=True), False),
}
scores = {}
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # MCD warns about the constant pixels
    for name, (est, labelled) in detectors.items():
        est.fit(X_train, y_train) if labelled else est.fit(X_train)
        scores[name] = est.score_samples(X_eval)


def fpr_at_95_tpr(score):
    fpr, tpr, _ = roc_curve(is_in, score)
    return fpr[np.searchsorted(tpr, 0.95)]


print(f"{'detector':40s} AUROC  FPR95")
for name, score in scores.items():
    auroc = roc_auc_score(is_in, score)
    print(f"{name:40s} {auroc:.3f}  {fpr_at_95_tpr(score):.3f}")

# %%
# Score histograms
# ----------------
# The squared Mahalanobis distance to the nearest class, for held-out known
# digits and for unseen ones; the dashed line is the ``contamination='auto'``
# threshold, set without any outlier data: the out-of-fold scores of the
# training digits place it so that 0.27% of new known digits are flagged.
# Its rate on the held-out known digits is printed below.
full = detectors["class-conditional, full"][0]
single = detectors["single Gaussian (Ledoit-Wolf)"][0]
fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
for ax, (title, det) in zip(
    axes, [("single Gaussian", single), ("class-conditional, full", full)], strict=True
):
    d2 = -det.score_samples(X_eval)
    bins = np.geomspace(d2.min(), d2.max(), 60)
    ax.hist(d2[is_in], bins=bins, alpha=0.6, density=True, label="digits 0-4")
    ax.hist(d2[~is_in], bins=bins, alpha=0.6, density=True, label="digits 5-9")
    ax.axvline(-det.offset_, color="k", ls="--", label="'auto' threshold")
    ax.set_xscale("log")
    ax.set_xlabel("squared Mahalanobis distance")
    ax.set_title(title)
axes[0].legend()
for title, det in [("single Gaussian", single), ("class-conditional, full", full)]:
    flagged = np.mean(det.predict(X_eval[is_in]) == -1)
    print(f"{title}: {flagged:.2%} of the held-out known digits flagged")
fig.tight_layout()

# %%
# ROC curves
# ----------
fig, ax = plt.subplots(figsize=(7, 6))
for name, score in scores.items():
    fpr, tpr, _ = roc_curve(is_in, score)
    style = "-" if name.startswith(("single", "class", "per-class")) else ":"
    ax.plot(
        1 - tpr, 1 - fpr, style, label=f"{name} ({roc_auc_score(is_in, score):.3f})"
    )
ax.set_xlabel("false alarms on held-out digits 0-4")
ax.set_ylabel("unseen digits 5-9 detected")
ax.set_title("Unseen digits detected (AUROC in brackets)")
ax.legend(fontsize=8, loc="lower right")
plt.show()
