"""What DualKernelPCA's robust loss does and does not do, measured (issue 16).

Each claim of the user guide's "Robustness" paragraph is one test here.
Inliers: 270 (or 285) Gaussian rows in R^10 with standard deviations
(3, 2, 0.5, ..., 0.5); the error is the sine of the largest principal angle
between the 2 components' scores of the inliers and the inliers' own kernel
PCA scores, over 3 seeds.
"""

import numpy as np
import pytest
from scipy.linalg import subspace_angles
from sklearn.datasets import load_digits

from skrep.decomposition import DualKernelPCA

SCALES = np.r_[3.0, 2.0, np.full(8, 0.5)]


def inliers(rng, n=270):
    return rng.randn(n, 10) * SCALES


def isolated_far(rng):
    X = inliers(rng, 285)  # 5 % of the rows at norm 40, random directions
    out = rng.randn(15, 10)
    return X, out * 40 / np.linalg.norm(out, axis=1, keepdims=True)


def group(rng):
    X = inliers(rng)  # 10 % in a tight group, 8 away along a low direction
    return X, 8 * np.eye(10)[5] + 0.3 * rng.randn(30, 10)


def duplicates(rng):
    X = inliers(rng)  # 10 % copies of one row pushed 6 along a low direction
    return X, np.repeat(X[:1] + 6 * np.eye(10)[5], 30, axis=0)


def error(reference, model, X):
    return float(np.sin(subspace_angles(reference, model.transform(X)).max()))


def errors(make, kernel, params, kappa=None):
    """(squared, huber) errors per seed; kappa None: the default radius,
    "median": the median dual-row norm of the squared-loss solution."""
    out = []
    for seed in range(3):
        X, bad = make(np.random.RandomState(seed))
        data = np.vstack([X, bad])
        reference = (
            DualKernelPCA(2, kernel=kernel, random_state=0, **params)
            .fit(X)
            .transform(X)
        )
        squared = DualKernelPCA(2, kernel=kernel, random_state=0, **params).fit(data)
        param = "auto"
        if kappa == "median":
            rows = squared.eigenvectors_ * np.sqrt(squared.eigenvalues_)
            param = np.median(np.linalg.norm(rows, axis=1))
        huber = DualKernelPCA(
            2, kernel=kernel, loss="huber", loss_param=param, random_state=0, **params
        ).fit(data)
        out.append((error(reference, squared, X), error(reference, huber, X)))
    return np.asarray(out)


@pytest.mark.parametrize("gamma", [1e-3, None])
def test_default_radius_leaves_clean_digits_alone(gamma):
    # The old default (the median dual-row norm) capped half of the rows:
    # sin 0.35 from the squared loss at gamma=1e-3.
    X, _ = load_digits(return_X_y=True)
    squared = DualKernelPCA(5, gamma=gamma, random_state=0).fit(X)
    huber = DualKernelPCA(5, gamma=gamma, loss="huber", random_state=0).fit(X)
    assert error(squared.transform(X), huber, X) < 0.05


def test_default_radius_caps_rows_far_outside_the_bulk():
    # Linear kernel, 5 % of the rows at norm 40: the default radius caps
    # them; the error is at most 0.6 times the squared loss's on every seed.
    e = errors(isolated_far, "linear", {})
    assert np.all(e[:, 1] < 0.6 * e[:, 0]), e
    assert np.all(e[:, 0] > 0.3)


@pytest.mark.parametrize(
    "make, kernel, params",
    [
        (group, "linear", {}),
        (group, "rbf", {"gamma": 0.02}),
        (duplicates, "rbf", {"gamma": 0.02}),
    ],
)
def test_groups_and_duplicates_need_a_smaller_radius(make, kernel, params):
    # A group or a block of near-duplicates sits inside the bulk of the
    # feature-space norms: the default radius caps nothing (the Huber loss
    # is the squared loss there), and kernel PCA is pulled towards it.
    # With kappa at the median dual-row norm the error drops by at least
    # 15 % on every seed.
    default = errors(make, kernel, params)
    np.testing.assert_allclose(default[:, 1], default[:, 0], atol=1e-3)
    assert np.all(default[:, 0] > 0.5)
    median = errors(make, kernel, params, kappa="median")
    assert np.all(median[:, 1] < 0.85 * median[:, 0]), median


def test_small_radius_costs_accuracy_on_isolated_outliers_under_rbf():
    # Under an rbf kernel isolated far outliers are nearly orthogonal to
    # everything in feature space and barely move kernel PCA; capping at the
    # median dual-row norm only makes the error larger.
    e = errors(isolated_far, "rbf", {"gamma": 0.02}, kappa="median")
    assert np.all(e[:, 0] < 0.15)
    assert np.all(e[:, 1] > e[:, 0])
