"""Tour entries of :mod:`skrep.ood` (``python -m skrep``)."""

from skrep._tour import TourResult, pyplot, register, save_figure, timed


def digits_ood_split(random_state=0):
    """Digits 0-4 as the in-distribution classes, digits 5-9 as OOD.

    Half of the in-distribution images train the detectors; the other half
    and all images of digits 5-9 are scored.

    Returns
    -------
    X_train, y_train : ndarrays
        Training images (64 pixels) of digits 0-4 and their labels.
    X_eval : ndarray
        Held-out images of digits 0-4 followed by all images of digits 5-9.
    is_in : ndarray of bool
        True for the in-distribution rows of ``X_eval``.
    """
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    inside = y < 5
    X_train, X_test, y_train, _ = train_test_split(
        X[inside],
        y[inside],
        test_size=0.5,
        random_state=random_state,
        stratify=y[inside],
    )
    X_eval = np.r_[X_test, X[~inside]]
    is_in = np.r_[np.ones(len(X_test), bool), np.zeros((~inside).sum(), bool)]
    return X_train, y_train, X_eval, is_in


def ood_protocols(seeds=(0, 1, 2)):
    """The bundled-data OOD protocols of the user guide, tests and example.

    Each protocol trains on half of the in-distribution rows (stratified by
    class, one split per seed) and scores the other half with every row of the
    held-out classes:

    * ``digits``: digits data, five classes held out; four splits (0-4, 5-9,
      even, odd in-distribution).
    * ``wine raw`` and ``wine standardised``: wine data, one class held out
      (three splits), raw features (standard deviations from 0.12 to 314) or
      standardised on the training rows.
    * ``breast cancer``: benign tumours in-distribution, malignant held out
      (one class: no labels are passed).
    * ``breast cancer reversed``: malignant tumours in-distribution, benign
      held out (the other direction, as wine holds out each class in turn).

    Parameters
    ----------
    seeds : sequence of int, default=(0, 1, 2)
        Seeds of the train/test splits of the in-distribution rows.

    Yields
    ------
    protocol : str
        The protocol's name.
    split : str
        The held-out classes.
    seed : int
    X_train, y_train : ndarrays
        Training rows and their labels (None for breast cancer).
    X_eval : ndarray
        Held-out in-distribution rows followed by the OOD rows.
    is_in : ndarray of bool
        True for the in-distribution rows of ``X_eval``.
    """
    import numpy as np
    from sklearn.datasets import load_breast_cancer, load_digits, load_wine
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    digits = load_digits(return_X_y=True)
    wine = load_wine(return_X_y=True)
    cancer = load_breast_cancer(return_X_y=True)
    cases = [
        ("digits", f"{name} out", digits, np.isin(digits[1], held))
        for name, held in (
            ("5-9", [5, 6, 7, 8, 9]),
            ("0-4", [0, 1, 2, 3, 4]),
            ("odd", [1, 3, 5, 7, 9]),
            ("even", [0, 2, 4, 6, 8]),
        )
    ]
    for scale in ("raw", "standardised"):
        cases += [
            (f"wine {scale}", f"class {c} out", wine, wine[1] == c) for c in range(3)
        ]
    cases.append(("breast cancer", "malignant out", cancer, cancer[1] == 0))
    cases.append(("breast cancer reversed", "benign out", cancer, cancer[1] == 1))
    for protocol, split, (X, y), out in cases:
        for seed in seeds:
            X_tr, X_te, y_tr, _ = train_test_split(
                X[~out], y[~out], test_size=0.5, random_state=seed, stratify=y[~out]
            )
            X_eval = np.r_[X_te, X[out]]
            if protocol.endswith("standardised"):
                scaler = StandardScaler().fit(X_tr)
                X_tr, X_eval = scaler.transform(X_tr), scaler.transform(X_eval)
            is_in = np.r_[np.ones(len(X_te), bool), np.zeros(out.sum(), bool)]
            labels = None if protocol.startswith("breast cancer") else y_tr
            yield protocol, split, seed, X_tr, labels, X_eval, is_in


@register(
    estimator="GaussianMixtureOODDetector",
    dataset="digits (scikit-learn): digits 0-4 in-distribution, 5-9 OOD",
)
def gaussian_ood(out_dir):
    import warnings

    import numpy as np
    from sklearn.covariance import EllipticEnvelope
    from sklearn.metrics import roc_auc_score, roc_curve

    from skrep.ood import GaussianMixtureOODDetector

    plt = pyplot()

    X_train, y_train, X_eval, is_in = digits_ood_split()
    # Chooses per-class covariances, the identity target, the log-density.
    detector = GaussianMixtureOODDetector()
    detector, seconds = timed(lambda: detector.fit(X_train, y_train))
    single = GaussianMixtureOODDetector(shrinkage_target="identity").fit(X_train)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MCD warns about the constant pixels
        baseline, base_seconds = timed(
            lambda: EllipticEnvelope(random_state=0).fit(X_train)
        )
    scores = {
        "skrep class-conditional (defaults)": detector.score_samples(X_eval),
        "skrep single Gaussian (Ledoit-Wolf)": single.score_samples(X_eval),
        "sklearn EllipticEnvelope": baseline.score_samples(X_eval),
    }
    auroc = {name: roc_auc_score(is_in, s) for name, s in scores.items()}

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    # Minus the score: D^2_c + log det Sigma_c (relative to the classes'
    # mean) for the nearest class; it may be negative, hence bins even in
    # arcsinh and a 'symlog' axis.
    d2 = -scores["skrep class-conditional (defaults)"]
    bins = np.sinh(np.linspace(np.arcsinh(d2.min()), np.arcsinh(d2.max()), 60))
    axes[0].hist(d2[is_in], bins=bins, alpha=0.6, density=True, label="digits 0-4")
    axes[0].hist(d2[~is_in], bins=bins, alpha=0.6, density=True, label="digits 5-9")
    axes[0].axvline(-detector.offset_, color="k", ls="--", label="'auto' threshold")
    axes[0].set_xscale("symlog")
    axes[0].set_xlabel("minus the score (D^2 + log det, nearest class)")
    axes[0].set_title("GaussianMixtureOODDetector scores")
    axes[0].legend()
    for name, s in scores.items():
        fpr, tpr, _ = roc_curve(is_in, s)
        axes[1].plot(1 - tpr, 1 - fpr, label=f"{name} (AUROC {auroc[name]:.3f})")
    axes[1].set_xlabel("false alarms on held-out digits 0-4")
    axes[1].set_ylabel("detected digits 5-9")
    axes[1].set_title("ROC: OOD digits detected")
    axes[1].legend(loc="lower right", fontsize=8)
    path = save_figure(fig, out_dir / "gaussian_ood.png")
    return TourResult(
        metric="AUROC of OOD digits 5-9 vs held-out 0-4 (higher is better)",
        score=auroc["skrep class-conditional (defaults)"],
        seconds=seconds,
        baseline="sklearn EllipticEnvelope",
        baseline_score=auroc["sklearn EllipticEnvelope"],
        baseline_seconds=base_seconds,
        figures=(path,),
    )
