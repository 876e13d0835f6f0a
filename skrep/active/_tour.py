"""Tour entries of skrep.active: learning curves on data bundled with scikit-learn."""

from skrep._tour import TourResult, register, timed

_AUC_METRIC = "area under the accuracy learning curve, {} labels (higher is better)"


def _plot(curves, title, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5))
    for name, group in curves.groupby("strategy", sort=False):
        mean = group.groupby("n_labels")["score"].mean()
        ax.plot(mean.index, mean.to_numpy(), marker="o", ms=3, label=name)
    ax.set_xlabel("number of labels")
    ax.set_ylabel("test accuracy")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _digits():
    from sklearn.datasets import load_digits
    from sklearn.preprocessing import StandardScaler

    X, y = load_digits(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def _cancer():
    from sklearn.datasets import load_breast_cancer
    from sklearn.preprocessing import StandardScaler

    X, y = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def _compare(strategy, name, X, y, out_dir, title, *, labels, versus_random=True, **kw):
    """Learning curves of ``strategy`` and of random sampling, as a TourResult.

    With ``versus_random=False`` random sampling is the estimator shown and
    ``strategy`` its baseline (the tour entry of ``RandomSampler``).
    """
    from sklearn.linear_model import LogisticRegression

    from skrep.active import simulate
    from skrep.utils._threads import single_threaded_blas

    # hundreds of tiny fits: BLAS threads would only contend
    with single_threaded_blas():
        result = simulate(
            strategy,
            LogisticRegression(max_iter=500),
            X,
            y,
            random_state=0,
            **kw,
        )
    auc = result.auc.groupby("strategy")["auc"].mean()
    curve = result.curve
    fig = _plot(curve, title, out_dir / f"{name}.png")

    def measured(key):
        part = curve[curve.strategy == key]
        return float(auc[key]), float(part.fit_time.sum() + part.query_time.sum())

    own, other = type(strategy).__name__, "random"
    if not versus_random:
        own, other = other, own
    score, seconds = measured(own)
    baseline_score, baseline_seconds = measured(other)
    return TourResult(
        metric=_AUC_METRIC.format(labels),
        score=score,
        seconds=seconds,
        baseline="random sampling" if versus_random else "margin sampling",
        baseline_score=baseline_score,
        baseline_seconds=baseline_seconds,
        figures=(fig,),
    )


@register(estimator="MarginSampler", dataset="digits (scikit-learn)")
def margin_sampler(out_dir):
    X, y = _digits()
    return _compare(
        _margin(),
        "active_margin",
        X,
        y,
        out_dir,
        "digits: margin vs random sampling",
        labels="20-170",
        initial=20,
        budget=150,
        batch_size=10,
        n_repeats=5,
    )


def _margin(**kw):
    from skrep.active import MarginSampler

    return MarginSampler(**kw)


@register(estimator="UncertaintySampler", dataset="digits (scikit-learn)")
def uncertainty_sampler(out_dir):
    from skrep.active import UncertaintySampler

    X, y = _digits()
    return _compare(
        UncertaintySampler(method="entropy"),
        "active_entropy",
        X,
        y,
        out_dir,
        "digits: entropy vs random sampling",
        labels="20-170",
        initial=20,
        budget=150,
        batch_size=10,
        n_repeats=3,
    )


@register(estimator="RandomSampler", dataset="breast cancer (scikit-learn)")
def random_sampler(out_dir):
    X, y = _cancer()
    # RandomSampler is simulate's baseline: its curve is skrep's score here
    return _compare(
        _margin(),
        "active_random",
        X,
        y,
        out_dir,
        "breast cancer: random vs margin sampling",
        labels="10-70",
        versus_random=False,
        initial=10,
        budget=60,
        batch_size=5,
        n_repeats=5,
    )


@register(estimator="ActiveLearner", dataset="breast cancer (scikit-learn)")
def active_learner(out_dir):
    import numpy as np
    from sklearn.model_selection import train_test_split
    from sklearn.svm import SVC

    from skrep.active import ActiveLearner, MarginSampler, RandomSampler

    X, y = _cancer()
    X_tr, X_te, y_tr, y_te = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=0
    )

    def loop(strategy):
        rng = np.random.default_rng(0)
        y_part = np.full_like(y_tr, -1)
        start = np.concatenate(
            [rng.choice(np.flatnonzero(y_tr == c), 3, replace=False) for c in (0, 1)]
        )
        y_part[start] = y_tr[start]
        learner = ActiveLearner(SVC(), strategy, batch_size=4).fit(X_tr, y_part)
        for _ in range(6):
            idx = learner.query(X_tr, y_part)
            learner.teach(X_tr[idx], y_tr[idx])
            y_part[idx] = y_tr[idx]
        return learner.score(X_te, y_te)

    score, seconds = timed(loop, MarginSampler(random_state=0))
    base, base_seconds = timed(loop, RandomSampler(random_state=0))
    return TourResult(
        metric="test accuracy of an SVC after 30 labels (higher is better)",
        score=float(score),
        seconds=seconds,
        baseline="ActiveLearner with random sampling",
        baseline_score=float(base),
        baseline_seconds=base_seconds,
    )


@register(estimator="LeverageScoreSampler", dataset="diabetes (scikit-learn)")
def leverage_score_sampler(out_dir):
    import numpy as np
    from sklearn.datasets import load_diabetes
    from sklearn.preprocessing import PolynomialFeatures, StandardScaler

    from skrep.active import LeverageScoreSampler

    data = load_diabetes()
    cols = [data.feature_names.index("bmi"), data.feature_names.index("s5")]
    X = StandardScaler().fit_transform(data.data[:, cols])
    b = data.target - data.target.mean()
    features = PolynomialFeatures(3)
    A = features.fit_transform(X)
    full = np.linalg.lstsq(A, b, rcond=None)[0]
    best = np.mean((A @ full - b) ** 2)

    def median_excess(method, k=20, trials=300):
        sampler = LeverageScoreSampler(
            features, method=method, random_state=np.random.RandomState(0)
        ).fit(X)
        out = []
        for _ in range(trials):
            idx, p = sampler.query(X, batch_size=k, return_probabilities=True)
            w = 1 / np.sqrt(p)
            coef = np.linalg.lstsq(A[idx] * w[:, None], b[idx] * w, rcond=None)[0]
            out.append(np.mean((A @ coef - b) ** 2) / best - 1)
        return float(np.median(out))

    score, seconds = timed(median_excess, "pivotal")
    base, base_seconds = timed(median_excess, "bernoulli")
    return TourResult(
        metric="median excess risk of a cubic fit on 20 of 442 labels, "
        "relative to all labels (lower is better)",
        score=score,
        seconds=seconds,
        baseline="Bernoulli leverage-score sampling",
        baseline_score=base,
        baseline_seconds=base_seconds,
    )
