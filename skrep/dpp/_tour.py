"""Tour entries of skrep.dpp: few-label regression on scikit-learn's diabetes data."""

from skrep._tour import TourResult, pyplot, register, save_figure, timed

_N_SPLITS = 30


def _plot(scores, n_labels, path):
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.boxplot(list(scores.values()), showfliers=False)
    ax.set_xticks(range(1, len(scores) + 1), list(scores))
    ax.set_ylabel("test R^2")
    ax.set_title(f"diabetes, {n_labels} labelled rows, {_N_SPLITS} splits")
    return save_figure(fig, path)


@register(estimator="DPPLeastSquares", dataset="diabetes (scikit-learn)")
def dpp_least_squares(out_dir):
    import numpy as np
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import LinearRegression
    from sklearn.metrics import r2_score
    from sklearn.model_selection import train_test_split

    from skrep.dpp import DPPLeastSquares

    # Label only n = 3 m rows of the training pool (m = 11: linear features
    # and intercept, the empirical basis orthonormalised on the pool); score
    # on the held-out rows. Baseline: OLS on a uniform subsample of that size.
    X, y = load_diabetes(return_X_y=True)
    n_labels = 3 * (X.shape[1] + 1)
    ours, base, t_ours, t_base = [], [], 0.0, 0.0
    for split in range(_N_SPLITS):
        X_tr, X_te, y_tr, y_te = train_test_split(
            X, y, test_size=0.3, random_state=split
        )
        model = DPPLeastSquares(n_samples=n_labels, random_state=split)
        model, seconds = timed(model.fit, X_tr, y_tr)
        t_ours += seconds
        ours.append(r2_score(y_te, model.predict(X_te)))
        rows = np.random.RandomState(split).choice(len(X_tr), n_labels, replace=False)
        ols, seconds = timed(LinearRegression().fit, X_tr[rows], y_tr[rows])
        t_base += seconds
        base.append(r2_score(y_te, ols.predict(X_te)))
    fig = _plot(
        {"DPPLeastSquares\n(volume)": ours, "OLS, uniform\nsubsample": base},
        n_labels,
        out_dir / "dpp_least_squares.png",
    )
    return TourResult(
        metric=(
            f"mean test R^2 over {_N_SPLITS} splits, {n_labels} labelled rows "
            "(higher is better)"
        ),
        score=float(np.mean(ours)),
        seconds=t_ours,
        baseline=f"sklearn LinearRegression on {n_labels} uniform rows",
        baseline_score=float(np.mean(base)),
        baseline_seconds=t_base,
        figures=(fig,),
    )


@register(estimator="PolynomialBasis", dataset="diabetes (scikit-learn)")
def polynomial_basis(out_dir):
    import numpy as np
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import RidgeCV
    from sklearn.model_selection import cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MinMaxScaler, PolynomialFeatures, StandardScaler

    from skrep.dpp import PolynomialBasis

    # Degree-2 orthonormal Legendre features (inputs mapped to [-1, 1]; test
    # rows the scaler leaves outside are clipped by the basis' default
    # domain="clip") in a ridge regression, against sklearn's monomial
    # features, 5-fold CV R^2.
    X, y = load_diabetes(return_X_y=True)
    alphas = np.logspace(-4, 4, 17)
    ours = make_pipeline(
        MinMaxScaler((-1, 1)),
        PolynomialBasis(2, index_set="total"),
        RidgeCV(alphas=alphas),
    )
    base = make_pipeline(
        StandardScaler(),
        PolynomialFeatures(2),
        StandardScaler(),
        RidgeCV(alphas=alphas),
    )
    score, seconds = timed(cross_val_score, ours, X, y, cv=5)
    base_score, base_seconds = timed(cross_val_score, base, X, y, cv=5)
    # Conditioning by degree on one column (bmi) mapped to [-1, 1]:
    # orthonormal Legendre features against monomials.
    bmi = MinMaxScaler((-1, 1)).fit_transform(X[:, [2]])
    degrees = np.arange(1, 16)
    conditions = {
        name: [np.linalg.cond(make(d).fit_transform(bmi)) for d in degrees]
        for name, make in (
            ("Legendre (PolynomialBasis)", PolynomialBasis),
            ("monomials (PolynomialFeatures)", PolynomialFeatures),
        )
    }
    fig = _plot_basis(
        degrees,
        conditions,
        {"PolynomialBasis": score, "PolynomialFeatures": base_score},
        out_dir / "polynomial_basis_diabetes.png",
    )
    return TourResult(
        metric="5-fold CV R^2 of RidgeCV on degree-2 features (higher is better)",
        score=float(score.mean()),
        seconds=seconds,
        baseline="sklearn PolynomialFeatures(2) + StandardScaler",
        baseline_score=float(base_score.mean()),
        baseline_seconds=base_seconds,
        figures=(fig,),
    )


def _plot_basis(degrees, conditions, scores, path):
    """Condition numbers by degree; CV R^2 per fold."""
    import numpy as np

    plt = pyplot()

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for (name, values), marker in zip(conditions.items(), "os", strict=True):
        left.semilogy(degrees, values, marker + "-", label=name)
    left.set_xlabel("degree")
    left.set_ylabel("condition number of the features")
    left.set_title("bmi scaled to [-1, 1], 442 patients")
    left.legend(fontsize=8)
    folds = np.arange(1, len(next(iter(scores.values()))) + 1)
    for (name, values), marker, shift in zip(
        scores.items(), "os", (-0.1, 0.1), strict=True
    ):
        right.plot(
            folds + shift, values, marker, label=f"{name}, mean {values.mean():.3f}"
        )
    right.set_xticks(folds)
    right.set_xlabel("fold")
    right.set_ylabel("test R^2 of RidgeCV")
    right.set_title("Degree 2, all 10 features: 5-fold CV")
    right.legend(fontsize=8)
    return save_figure(fig, path)
