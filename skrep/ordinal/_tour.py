"""Tour of skrep.ordinal on ordinal data sets bundled with statsmodels."""

import warnings

import numpy as np

from skrep._tour import TourResult, pyplot, register, save_figure, timed


def _fair():
    """statsmodels' ``fair`` data: marriage rating, "very poor" last (rare)."""
    import statsmodels.api as sm

    data = sm.datasets.fair.load_pandas().data
    # rate_marriage is 5 (very good) .. 1 (very poor); code it 0 .. 4 so that
    # the rare "very poor" (1.6% of rows) is the last class, as in the paper.
    y = 5 - data["rate_marriage"].to_numpy().astype(int)
    features = data.drop(columns="rate_marriage")
    return features.to_numpy(dtype=float), y, list(features.columns)


def _out_of_fold(make, X, y, target=None):
    """Out-of-fold predicted probabilities (5 stratified folds) and fit time."""
    from sklearn.model_selection import StratifiedKFold

    target = y if target is None else target
    proba = None
    seconds = 0.0
    for train, test in StratifiedKFold(5, shuffle=True, random_state=0).split(X, y):
        model, s = timed(lambda train=train: make().fit(X[train], target[train]))
        seconds += s
        p = model.predict_proba(X[test])
        if proba is None:
            proba = np.zeros((len(y), p.shape[1]))
        proba[test] = p
    return proba, seconds


def _statsmodels_po():
    from sklearn.base import BaseEstimator, ClassifierMixin
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    class OrderedLogit(ClassifierMixin, BaseEstimator):
        def fit(self, X, y):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self.res_ = OrderedModel(y, X, distr="logit").fit(
                    method="bfgs", disp=0, maxiter=2000
                )
            return self

        def predict_proba(self, X):
            return np.asarray(self.res_.predict(X))

    return OrderedLogit()


def _reliability(ax, rare, proba, label, n_bins=10):
    order = np.argsort(proba)
    bins = np.array_split(order, n_bins)
    ax.plot(
        [proba[b].mean() for b in bins],
        [rare[b].mean() for b in bins],
        "o-",
        label=label,
    )


@register(
    estimator="ProportionalOdds", dataset="anes96 party identification (statsmodels)"
)
def proportional_odds(out_dir):
    import statsmodels.api as sm

    from skrep.ordinal import ProportionalOdds

    data = sm.datasets.anes96.load_pandas().data
    y = data["PID"].to_numpy().astype(int)  # 0 strong Democrat .. 6 strong Republican
    features = [
        "logpopul",
        "TVnews",
        "selfLR",
        "ClinLR",
        "DoleLR",
        "age",
        "educ",
        "income",
    ]
    X = data[features].to_numpy(dtype=float)
    rows = np.arange(len(y))

    def log_loss(proba):
        return float(-np.mean(np.log(np.clip(proba[rows, y], 1e-300, None))))

    proba, seconds = _out_of_fold(ProportionalOdds, X, y)
    base, base_seconds = _out_of_fold(_statsmodels_po, X, y)
    path = _plot_proportional_odds(
        ProportionalOdds().fit(X, y),
        _statsmodels_po().fit(X, y).res_,
        X,
        y,
        (proba, base),
        features,
        out_dir / "proportional_odds_anes96.png",
    )
    return TourResult(
        metric="out-of-fold log-loss, 5 folds (lower is better)",
        score=log_loss(proba),
        seconds=seconds,
        baseline="statsmodels OrderedModel (logit, bfgs)",
        baseline_score=log_loss(base),
        baseline_seconds=base_seconds,
        figures=(path,),
    )


def _plot_proportional_odds(model, res, X, y, probas, features, path):
    """Slopes with 95% intervals next to statsmodels'; class shares out of fold."""
    plt = pyplot()
    p = len(features)
    sd = X.std(axis=0)
    table = model.summary()
    # Per standard deviation of each feature, in statsmodels' and R's sign
    # (P(y <= k) = F(threshold - x @ beta): positive is towards higher
    # classes), the opposite of coef_'s.
    ours = -table["coef"].to_numpy()[:p] * sd
    ours_se = table["std err"].to_numpy()[:p] * sd
    theirs = np.asarray(res.params)[:p] * sd
    theirs_se = np.asarray(res.bse)[:p] * sd
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    rows = np.arange(p)
    left.errorbar(ours, rows - 0.12, xerr=1.96 * ours_se, fmt="o", label="skrep")
    left.errorbar(
        theirs, rows + 0.12, xerr=1.96 * theirs_se, fmt="s", label="statsmodels"
    )
    left.axvline(0, color="k", lw=0.8, ls=":")
    left.set_yticks(rows, features)
    left.invert_yaxis()
    left.set_xlabel("log-odds of a higher class per SD (95% interval)")
    left.set_title("Slopes fitted on all rows")
    left.legend(fontsize=8)
    classes = np.arange(probas[0].shape[1])
    observed = np.bincount(y, minlength=classes.size) / y.size
    right.bar(classes, observed, color="0.8", label="observed share")
    for proba, marker, shift, label in zip(
        probas, "os", (-0.15, 0.15), ("skrep", "statsmodels"), strict=True
    ):
        right.plot(classes + shift, proba.mean(axis=0), marker, label=label)
    right.set_xticks(classes)
    right.set_xlabel("party identification (0 strong Dem. .. 6 strong Rep.)")
    right.set_ylabel("share of respondents")
    right.set_title("Mean out-of-fold probability per class")
    right.legend(fontsize=8)
    return save_figure(fig, path)


@register(estimator="PRESTOCV", dataset="fair, marriage rating (statsmodels)")
def presto_cv(out_dir):
    from skrep.ordinal import PRESTOCV

    plt = pyplot()

    X, y, _ = _fair()
    rare = (y == 4).astype(float)
    proba, seconds = _out_of_fold(lambda: PRESTOCV(n_lambdas=10, random_state=0), X, y)
    base, base_seconds = _out_of_fold(_statsmodels_po, X, y)
    fig, ax = plt.subplots(figsize=(5, 4))
    _reliability(ax, rare, proba[:, -1], "PRESTOCV")
    _reliability(ax, rare, base[:, -1], "proportional odds (statsmodels)")
    top = max(ax.get_xlim()[1], ax.get_ylim()[1])
    ax.plot([0, top], [0, top], "k:", lw=1)
    ax.set_xlabel('predicted P("very poor"), out of fold')
    ax.set_ylabel('observed share of "very poor"')
    ax.set_title("Rare class calibration, 10 bins")
    ax.legend()
    path = save_figure(fig, out_dir / "presto_cv_fair.png")
    return TourResult(
        metric="out-of-fold Brier score of the rare class (lower is better)",
        score=float(np.mean((proba[:, -1] - rare) ** 2)),
        seconds=seconds,
        baseline="statsmodels OrderedModel (logit, bfgs)",
        baseline_score=float(np.mean((base[:, -1] - rare) ** 2)),
        baseline_seconds=base_seconds,
        figures=(path,),
    )


@register(estimator="PRESTO", dataset="fair, marriage rating (statsmodels)")
def presto(out_dir):
    from sklearn.linear_model import LogisticRegression

    from skrep.ordinal import PRESTO

    plt = pyplot()

    X, y, names = _fair()
    rare = (y == 4).astype(float)
    proba, seconds = _out_of_fold(lambda: PRESTO(lam=1e-3), X, y)
    base, base_seconds = _out_of_fold(
        lambda: LogisticRegression(max_iter=2000), X, y, target=(y == 4).astype(int)
    )
    # The path of the last transition's slope changes on all the data.
    model = PRESTO(lam=1e-4, n_lambdas=40).fit(X, y)
    last = (model.coef_path_[:, -1] - model.coef_path_[:, -2]) * X.std(axis=0)
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.semilogx(model.lambdas_, last)
    ax.legend(names, fontsize=7, ncol=2)
    ax.set_xlabel("lambda")
    ax.set_ylabel("standardised beta_4 - beta_3")
    ax.set_title('PRESTO path: change of slopes into "very poor"')
    path = save_figure(fig, out_dir / "presto_path_fair.png")
    return TourResult(
        metric="out-of-fold Brier score of the rare class (lower is better)",
        score=float(np.mean((proba[:, -1] - rare) ** 2)),
        seconds=seconds,
        baseline="sklearn LogisticRegression (rare class vs rest)",
        baseline_score=float(np.mean((base[:, 1] - rare) ** 2)),
        baseline_seconds=base_seconds,
        figures=(path,),
    )
