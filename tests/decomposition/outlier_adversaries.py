"""Adversaries of outlier-robust PCA, shared by the tests and the full sweep.

Inliers are ``N(0, I + spike u u^T)`` (or a multivariate t with that scatter)
in dimension ``d``; ``floor(eps n)`` rows are replaced by outliers aimed at a
unit direction ``v`` orthogonal to ``u``. PCA flips to ``v`` once the
outliers' second moment along ``v`` exceeds the gap between the inliers'
variances, at the magnitude returned by :func:`flip_magnitude`; every
adversary below takes ``magnitude`` as a multiple of it. For t inliers that
flip is ``sqrt(dof / (dof - 2))`` times the Gaussian one (their covariance is
``dof / (dof - 2)`` times the scatter): :func:`t_inliers` takes ``magnitude``
relative to it, ``near_flip(..., dof=dof)`` relative to the Gaussian flip,
below PCA's (for 3 dof, ``magnitude`` below ``sqrt(3)``).

Run as a script, this module prints the full sweep of the issue (>= 50 seeds
per case; minutes on 2 cores)::

    python tests/decomposition/outlier_adversaries.py [n_seeds]

and :func:`report` prints one case on a smaller grid, e.g. the t3 inliers
at their own flip: ``report("t3 inliers", t_inliers, 50, mags=(1.05, 1.2,
2.0, 10.0))``.
"""

import sys
import time
import warnings

import numpy as np

SPIKE = 4.0


def sin_to(components, U):
    """sin of the largest principal angle between the row spaces."""
    Qa = np.linalg.qr(np.atleast_2d(np.asarray(components, dtype=float)).T)[0]
    Qb = np.linalg.qr(np.atleast_2d(np.asarray(U, dtype=float)).T)[0]
    cos = np.linalg.svd(Qa.T @ Qb, compute_uv=False).min()
    return float(np.sqrt(max(0.0, 1.0 - cos**2)))


def flip_magnitude(eps, spike=SPIKE, kept_variance=None, dof=None):
    """Shift ``t`` along ``v`` at which the sample's variance along ``v``
    (``1 + eps t^2``) equals that along ``u``.

    ``kept_variance``: the inliers' variance along ``u`` after the adversary
    removed some of them (default: ``1 + spike`` times ``1 - eps``, plus the
    outliers' unit variance along ``u``).

    ``dof`` (with the default ``kept_variance``): inliers a multivariate t
    with that scatter, whose covariance is ``c = dof / (dof - 2)`` times it.
    The variances along ``u`` and ``v`` are ``(1 - eps) c (1 + spike) +
    eps`` and ``(1 - eps) c + eps (1 + t^2)``: equal at ``c`` times the
    Gaussian ``t^2``.
    """
    along_u = (1 - eps) * (1 + spike) + eps if kept_variance is None else kept_variance
    scale = 1.0 if dof is None else dof / (dof - 2)
    return float(np.sqrt(scale * (along_u - 1) / eps))


def _frame(d, rng, k=1):
    Q = np.linalg.qr(rng.standard_normal((d, k + 1)))[0]
    return Q[:, :k].T, Q[:, k]


def _inliers(n, d, U, rng, spikes, dof=None):
    G = rng.standard_normal((n, d))
    G += (G @ U.T * (np.sqrt(1 + np.asarray(spikes)) - 1)) @ U
    if dof is not None:  # multivariate t with the same scatter
        G *= np.sqrt(dof / rng.chisquare(dof, size=(n, 1)))
    return G


def near_flip(n, d, eps, magnitude, *, k=1, dof=None, clustered=False, seed=0):
    """Rows ``N(0, I) +- t v`` (or all at ``t v`` when ``clustered``).

    ``k > 1``: inliers with spikes ``SPIKE * (1, 0.75, 0.5, ...)`` along
    ``u_1 .. u_k``, and ``t`` past the flip of the *smallest* of them, so
    that PCA's top-``k`` subspace contains ``v``. ``dof``: multivariate t
    inliers with the same scatter; ``magnitude`` stays relative to the
    Gaussian flip, which is ``sqrt((dof - 2) / dof)`` times PCA's own on
    these inliers: :func:`t_inliers` takes it relative to PCA's. Returns
    ``X, U, outliers``.
    """
    rng = np.random.default_rng(seed)
    U, v = _frame(d, rng, k)
    spikes = SPIKE * (1 - 0.25 * np.arange(k)) if k > 1 else [SPIKE]
    X = _inliers(n, d, U, rng, spikes, dof)
    m = int(eps * n)
    if m == 0:
        return X, U, np.zeros(n, dtype=bool)
    t = magnitude * flip_magnitude(eps, spikes[-1])
    if clustered:
        out = 0.05 * rng.standard_normal((m, d)) + t * v
    else:
        signs = np.where(np.arange(m) % 2 == 0, 1.0, -1.0)
        out = rng.standard_normal((m, d)) + t * signs[:, None] * v
    rows = rng.choice(n, m, replace=False)
    X[rows] = out
    mask = np.zeros(n, dtype=bool)
    mask[rows] = True
    return X, U, mask


def t_inliers(n, d, eps, magnitude, *, dof=3, seed=0):
    """:func:`near_flip` with multivariate t inliers (``dof`` degrees of
    freedom, scatter ``I + SPIKE u u^T``) and ``magnitude`` relative to the
    flip of their covariance (:func:`flip_magnitude` with ``dof``), PCA's
    true flip; ``near_flip(..., dof=dof)`` takes it relative to the
    Gaussian flip."""
    ratio = flip_magnitude(eps, dof=dof) / flip_magnitude(eps)
    return near_flip(n, d, eps, magnitude * ratio, dof=dof, seed=seed)


def bulk_spread(n, d, eps, magnitude, *, spread=0.5, radius=70.0, seed=0):
    """:func:`near_flip` with a fraction ``spread`` of the outliers moved to
    ``N(0, I) + radius r`` (``r`` random unit vectors orthogonal to ``u`` and
    ``v``, where the bulk directions of the filter lie); the rest stay along
    ``v`` at ``magnitude / sqrt(1 - spread)`` times the flip, so that they
    alone flip PCA as ``magnitude`` times it."""
    X, U, mask = near_flip(n, d, eps, magnitude / np.sqrt(1 - spread), seed=seed)
    _, v = _frame(d, np.random.default_rng(seed))  # near_flip's frame
    rng = np.random.default_rng(seed + 1000)
    rows = np.flatnonzero(mask)[: int(spread * mask.sum())]
    Q = np.column_stack([U.T, v])
    G = rng.standard_normal((rows.size, d))
    G -= (G @ Q) @ Q.T
    G /= np.linalg.norm(G, axis=1, keepdims=True)
    X[rows] = rng.standard_normal((rows.size, d)) + radius * G
    return X, U, mask


def top_tail(n, d, eps, magnitude, *, seed=0):
    """The adversary deletes the inliers of largest ``|u^T x|`` (the top tail,
    lowering the variance along ``u``) and puts ``N(0, I) +- t v`` in their
    place; ``t`` is relative to the flip of the trimmed sample."""
    rng = np.random.default_rng(seed)
    U, v = _frame(d, rng)
    X = _inliers(n, d, U, rng, [SPIKE])
    m = int(eps * n)
    rows = np.argsort(-np.abs(X @ U[0]))[:m]
    kept = np.delete(X, rows, axis=0) @ U[0]
    t = magnitude * flip_magnitude(eps, kept_variance=(kept @ kept) / n + eps)
    signs = np.where(np.arange(m) % 2 == 0, 1.0, -1.0)
    X[rows] = rng.standard_normal((m, d)) + t * signs[:, None] * v
    mask = np.zeros(n, dtype=bool)
    mask[rows] = True
    return X, U, mask


EPS = (0.05, 0.1, 0.2, 0.3)
MAGNITUDES = (1.05, 1.1, 1.2, 1.5, 2.0, 3.0, 5.0, 10.0)

# The message of the warning that the components are not determined.
UNDETERMINED = "not determined by the data"


def sweep(make, n_seeds, *, n=2000, dims=(20, 100), eps_grid=EPS, mags=MAGNITUDES, k=1):
    """Failure rate (sin > 0.3) and median sin of the default filter and of
    ``filter="eigen"`` (``k`` components; ``make`` then returns a ``k``-row
    ``U``) for every (d, eps, magnitude), whether the default fit
    warned that the components are not determined (``"warned"``) or warned
    at all (``"any warning"``, a ``ConvergenceWarning`` included), and the
    errors of PCA and of the oracle (PCA on the inliers alone); yields
    result rows."""
    from sklearn.decomposition import PCA

    from skrep.decomposition import OutlierRobustPCA

    for d in dims:
        for eps in eps_grid:
            for mag in mags:
                errs = {
                    "power": [],
                    "eigen": [],
                    "warned": [],
                    "any warning": [],
                    "pca": [],
                    "oracle": [],
                }
                for seed in range(n_seeds):
                    X, U, outliers = make(n, d, eps, mag, seed=seed)
                    for name, rows in (("pca", X), ("oracle", X[~outliers])):
                        errs[name].append(sin_to(PCA(k).fit(rows).components_, U))
                    for name in ("power", "eigen"):
                        est = OutlierRobustPCA(
                            k, eps=eps, filter=name, random_state=seed
                        )
                        with warnings.catch_warnings(record=True) as caught:
                            warnings.simplefilter("always")
                            est.fit(X)
                        errs[name].append(sin_to(est.components_, U))
                        if name == "power":
                            errs["warned"].append(
                                any(UNDETERMINED in str(w.message) for w in caught)
                            )
                            errs["any warning"].append(bool(caught))
                yield d, eps, mag, {k: np.asarray(e) for k, e in errs.items()}


def report(name, make, n_seeds, k=1, **kwargs):
    """Print the :func:`sweep` of one case (``kwargs`` go to it)."""
    start = time.perf_counter()
    print(
        f"# {name}: d eps magnitude | default fail% median | eigen fail% "
        "median | default: undetermined% any-warning% silent-fail% (no "
        "warning) | PCA fail% | oracle fail%"
    )
    for d, eps, mag, errs in sweep(make, n_seeds, k=k, **kwargs):
        s, e, warned = errs["power"], errs["eigen"], errs["warned"]
        any_warning = errs["any warning"]
        print(
            f"{d:4d} {eps:.2f} {mag:5.2f} | {100 * np.mean(s > 0.3):5.1f}% "
            f"{np.median(s):.3f} | {100 * np.mean(e > 0.3):5.1f}% "
            f"{np.median(e):.3f} | {100 * np.mean(warned):5.1f}% "
            f"{100 * np.mean(any_warning):5.1f}% "
            f"{100 * np.mean((s > 0.3) & ~any_warning):5.1f}% | "
            f"{100 * np.mean(errs['pca'] > 0.3):5.1f}% | "
            f"{100 * np.mean(errs['oracle'] > 0.3):5.1f}%",
            flush=True,
        )
    print(f"# {name}: {time.perf_counter() - start:.0f} s")


def main(n_seeds=50):
    cases = {
        "near-flip": (near_flip, 1),
        "clustered": (lambda *a, **kw: near_flip(*a, clustered=True, **kw), 1),
        "t3 inliers": (t_inliers, 1),
        # Magnitudes relative to the Gaussian flip: 0.61-0.87 times PCA's at
        # 1.05-1.5, 1.15 at 2, 5.8 at 10.
        "t3 inliers, below PCA's flip (Gaussian flip sizes)": (
            lambda *a, **kw: near_flip(*a, dof=3, **kw),
            1,
        ),
        "top tail": (top_tail, 1),
        # n_components = 2: outliers past the flip of the second component.
        "deflation (k = 2)": (lambda *a, **kw: near_flip(*a, k=2, **kw), 2),
    }
    for name, (make, k) in cases.items():
        report(name, make, n_seeds, k)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 50)
