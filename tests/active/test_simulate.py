import numpy as np
import pandas as pd
import pytest
from joblib import parallel_config
from sklearn.datasets import load_breast_cancer, load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from skrep.active import MarginPlateau, MarginSampler, StablePredictions, simulate


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def test_margin_beats_random_on_breast_cancer(cancer):
    # Bahri et al.: margin sampling beats random sampling on tabular data
    # (wdbc is one of the OpenML-CC18 data sets of the study).
    X, y = cancer
    result = simulate(
        MarginSampler(),
        LogisticRegression(),
        X,
        y,
        initial=10,
        budget=60,
        batch_size=5,
        n_repeats=8,
        random_state=0,
    )
    summary = result.summary()
    assert summary.loc["MarginSampler", "mean"] > summary.loc["random", "mean"] + 0.01
    assert result.win_rate >= 0.75


def test_learning_curve_frame(cancer):
    X, y = cancer
    result = simulate(
        MarginSampler(),
        LogisticRegression(),
        X,
        y,
        initial=10,
        budget=23,
        batch_size=5,
        n_repeats=2,
        random_state=0,
    )
    curve = result.curve
    assert isinstance(curve, pd.DataFrame)
    assert list(curve.columns) == [
        "strategy",
        "repeat",
        "n_labels",
        "score",
        "fit_time",
        "query_time",
        "time",
    ]
    one = curve[(curve.strategy == "MarginSampler") & (curve.repeat == 0)]
    # 10 initial, four batches of 5, then the last 3 of the budget
    assert one.n_labels.tolist() == [10, 15, 20, 25, 30, 33]
    assert np.all(np.diff(one.time) >= 0)
    assert result.auc.shape == (4, 3)
    a = result.auc.set_index(["strategy", "repeat"]).loc[("MarginSampler", 0), "auc"]
    np.testing.assert_allclose(a, np.trapezoid(one.score, one.n_labels) / (33 - 10))
    assert 0 <= result.win_rate <= 1


def test_reproducible_and_parallel(cancer):
    X, y = cancer
    kw = {"initial": 10, "budget": 10, "batch_size": 5, "n_repeats": 3}
    kw["random_state"] = 1
    a = simulate(MarginSampler(), LogisticRegression(), X, y, **kw)
    with parallel_config(backend="threading"):  # no process start-up in tests
        b = simulate(MarginSampler(), LogisticRegression(), X, y, n_jobs=2, **kw)
    cols = ["strategy", "repeat", "n_labels", "score"]
    pd.testing.assert_frame_equal(a.curve[cols], b.curve[cols])


def test_stopping_rules_stop_early():
    X, y = load_iris(return_X_y=True)
    for stopping in (
        "stable_predictions",
        "margin_plateau",
        StablePredictions(threshold=0.05, patience=1),
    ):
        result = simulate(
            MarginSampler(),
            LogisticRegression(max_iter=1000),
            X,
            y,
            initial=6,
            budget=100,
            batch_size=2,
            stopping=stopping,
            baseline=None,
            random_state=0,
        )
        assert result.win_rate is None
        assert result.curve.n_labels.max() < 106
    calls = []

    def custom(state):
        calls.append(state["n_labels"])
        return len(calls) == 3

    result = simulate(
        MarginSampler(),
        LogisticRegression(max_iter=1000),
        X,
        y,
        initial=6,
        budget=100,
        batch_size=2,
        stopping=custom,
        baseline=None,
        test=None,
        random_state=0,
    )
    assert result.curve.n_labels.tolist() == [6, 8, 10]
    assert MarginPlateau().tol > 0


def test_fixed_test_set_and_bad_input():
    X, y = load_iris(return_X_y=True)
    result = simulate(
        MarginSampler(),
        LogisticRegression(max_iter=1000),
        X[::2],
        y[::2],
        initial=6,
        budget=4,
        batch_size=2,
        test=(X[1::2], y[1::2]),
        random_state=0,
    )
    assert result.curve.score.between(0, 1).all()
    with pytest.raises(ValueError, match="query method"):
        simulate(
            LogisticRegression(max_iter=1000), LogisticRegression(max_iter=1000), X, y
        )
    with pytest.raises(ValueError, match="single class"):
        simulate(MarginSampler(), LogisticRegression(max_iter=1000), X, np.zeros(150))
    with pytest.raises(ValueError, match="NaN"):
        simulate(
            MarginSampler(), LogisticRegression(max_iter=1000), X, np.r_[y[:-1], np.nan]
        )
    with pytest.raises(ValueError, match="budget"):
        simulate(MarginSampler(), LogisticRegression(max_iter=1000), X, y, budget=0)
    # a class of one row cannot be split between training and test rows
    with pytest.raises(ValueError, match="test=0.25 cannot hold out a stratified"):
        simulate(MarginSampler(), LogisticRegression(), X[:51], y[:51], initial=2)


def test_progress_bar(capsys):
    X, y = load_iris(return_X_y=True)
    simulate(
        MarginSampler(),
        LogisticRegression(max_iter=1000),
        X,
        y,
        initial=6,
        budget=2,
        batch_size=2,
        n_repeats=2,
        verbose=True,
        random_state=0,
    )
    err = capsys.readouterr().err
    assert "4/4 runs" in err and "#" in err


def test_fixed_test_set_with_unknown_labels_is_refused():
    # labels the training rows never show cannot be scored by a model fitted
    # on them: an error, not a silent mapping onto the nearest class
    X, y = load_iris(return_X_y=True)
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    y_test = names[1::2].copy()
    y_test[:50] = "aaa"
    with pytest.raises(ValueError, match="'aaa'"):
        simulate(
            MarginSampler(),
            LogisticRegression(max_iter=1000),
            X[::2],
            names[::2],
            initial=6,
            budget=4,
            batch_size=2,
            test=(X[1::2], y_test),
            random_state=0,
        )
    with pytest.raises(ValueError, match="'setosa'"):  # names against codes
        simulate(
            MarginSampler(),
            LogisticRegression(max_iter=1000),
            X[::2],
            y[::2],
            initial=6,
            budget=4,
            batch_size=2,
            test=(X[1::2], names[1::2]),
            random_state=0,
        )
    # the same test set with known labels scores as the held-out rows do
    result = simulate(
        MarginSampler(),
        LogisticRegression(max_iter=1000),
        X[::2],
        names[::2],
        initial=6,
        budget=4,
        batch_size=2,
        test=(X[1::2], names[1::2]),
        random_state=0,
    )
    assert result.curve.score.iloc[-1] > 0.6  # chance: 1/3
