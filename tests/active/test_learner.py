import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.model_selection import GridSearchCV

from skrep.active import ActiveLearner, MarginSampler, RandomSampler


def _iris_partial():
    X, y = load_iris(return_X_y=True)
    y_part = np.full_like(y, -1)
    y_part[[0, 1, 50, 51, 100, 101]] = y[[0, 1, 50, 51, 100, 101]]
    return X, y, y_part


def test_fit_query_teach_loop():
    X, y, y_part = _iris_partial()
    learner = ActiveLearner(
        LogisticRegression(), MarginSampler(random_state=0), batch_size=4
    ).fit(X, y_part)
    assert learner.X_train_.shape == (6, 4)
    np.testing.assert_array_equal(learner.classes_, [0, 1, 2])
    for _ in range(5):
        idx = learner.query(X, y_part)
        assert idx.shape == (4,) and np.all(y_part[idx] == -1)
        # the learner's query is the strategy's query with its estimator
        np.testing.assert_array_equal(
            idx,
            MarginSampler(random_state=0).query(
                X, y_part, learner.estimator_, batch_size=4
            ),
        )
        learner.teach(X[idx], y[idx])
        y_part[idx] = y[idx]
    assert learner.y_train_.shape == (26,)
    assert learner.score(X, y) > 0.85
    # fitting again on the labels gathered gives the same model
    again = clone(learner).fit(X, y_part)
    np.testing.assert_allclose(
        again.predict_proba(X), learner.predict_proba(X), atol=1e-3
    )


def test_partial_fit_update_and_delegation():
    X, y, y_part = _iris_partial()
    learner = ActiveLearner(SGDClassifier(random_state=0), batch_size=3).fit(X, y_part)
    assert not hasattr(learner, "predict_proba")  # hinge loss: no probabilities
    idx = learner.query(X, y_part)  # margins from decision_function
    coef = learner.estimator_.coef_.copy()
    learner.teach(X[idx], y[idx], refit=False)
    assert not np.allclose(coef, learner.estimator_.coef_)
    with pytest.raises(ValueError, match="partial_fit"):
        ActiveLearner().fit(X, y_part).teach(X[:2], y[:2], refit=False)


def test_missing_label_nan_and_strings():
    X, y, _ = _iris_partial()
    names = np.array(["setosa", "versicolor", "virginica"], dtype=object)[y]
    y_obj = names.copy()
    y_obj[3:50] = None
    y_obj[53:100] = None
    y_obj[103:] = None
    learner = ActiveLearner(
        LogisticRegression(max_iter=1000),
        RandomSampler(random_state=0),
        batch_size=5,
    ).fit(X, y_obj)
    assert learner.y_train_.shape == (9,)
    idx = learner.query(X, y_obj)
    assert all(v is None for v in y_obj[idx])
    y_nan = y.astype(float)
    y_nan[10:40] = np.nan
    learner = ActiveLearner(
        LogisticRegression(max_iter=1000), missing_label=np.nan
    ).fit(X, y_nan)
    assert learner.y_train_.shape == (120,)


def test_clone_pickle_gridsearch():
    X, y, y_part = _iris_partial()
    learner = ActiveLearner(batch_size=2).fit(X, y_part)
    restored = pickle.loads(pickle.dumps(learner))
    np.testing.assert_array_equal(restored.query(X, y_part), learner.query(X, y_part))
    search = GridSearchCV(
        ActiveLearner(LogisticRegression(max_iter=1000)),
        {"estimator__C": [0.1, 1.0]},
        cv=3,
    ).fit(X, y)
    assert search.best_params_["estimator__C"] in (0.1, 1.0)


def test_bad_input():
    X, y, y_part = _iris_partial()
    with pytest.raises(ValueError, match="no labelled rows"):
        ActiveLearner().fit(X, np.full(150, -1))
    learner = ActiveLearner().fit(X, y_part)
    with pytest.raises(ValueError, match="missing_label"):
        learner.teach(X[:2], [-1, 0])
    with pytest.raises(ValueError, match="no unlabelled rows"):
        learner.query(X, y)
    with pytest.raises(ValueError, match="larger than the number"):
        learner.query(X, y_part, batch_size=1000)
    with pytest.raises(ValueError, match="must have a query"):
        ActiveLearner(query_strategy=LogisticRegression()).fit(X, y_part)
    # -1 is a real class while missing_label=-1 is the default of the strategy
    y_pm = np.where(y == 0, -1, 1)
    clf = LogisticRegression().fit(X, y_pm)
    with pytest.raises(ValueError, match="also missing_label"):
        MarginSampler().query(X, np.full(150, -1), clf)


def _tabular_frame(n=240, seed=0):
    """Numeric columns with NaN and a string column, as a data frame."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    colour = rng.choice(["red", "green", "blue"], size=n)
    a = rng.normal(size=n)
    b = rng.normal(size=n)
    y = ((a + (colour == "red") + 0.3 * rng.normal(size=n)) > 0.5).astype(int)
    return pd.DataFrame({"a": a, "b": b, "colour": colour}), y


def test_data_frame_passes_through_to_a_column_transformer():
    # Bahri et al.'s setting is tabular data: a Pipeline that picks columns by
    # name and encodes strings must see the data frame, not a float array.
    import pandas as pd
    from sklearn.compose import make_column_transformer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    X, y = _tabular_frame()
    y_part = np.full(y.shape[0], -1)
    y_part[:20] = y[:20]
    model = make_pipeline(
        make_column_transformer(
            (StandardScaler(), ["a", "b"]), (OneHotEncoder(), ["colour"])
        ),
        LogisticRegression(),
    )
    learner = ActiveLearner(model, MarginSampler(random_state=0), batch_size=5)
    learner.fit(X, y_part)
    assert isinstance(learner.X_train_, pd.DataFrame)
    np.testing.assert_array_equal(learner.feature_names_in_, ["a", "b", "colour"])
    for _ in range(3):
        idx = learner.query(X, y_part)
        assert np.all(y_part[idx] == -1) and np.unique(idx).shape == (5,)
        learner.teach(X.iloc[idx], y[idx])
        y_part[idx] = y[idx]
    assert isinstance(learner.X_train_, pd.DataFrame)
    assert learner.X_train_.shape == (35, 3)
    assert learner.score(X, y) > 0.7
    assert learner.predict_proba(X).shape == (X.shape[0], 2)


def test_nan_passes_through_to_an_estimator_that_accepts_it():
    from sklearn.ensemble import HistGradientBoostingClassifier

    X, y = _tabular_frame()
    X = X[["a", "b"]].to_numpy(copy=True)
    X[::7, 0] = np.nan  # labelled and unlabelled rows have missing values
    y_part = np.full(y.shape[0], -1)
    y_part[:30] = y[:30]
    hgb = HistGradientBoostingClassifier(max_iter=10, random_state=0)
    for strategy in (MarginSampler(random_state=0), RandomSampler(random_state=0)):
        learner = ActiveLearner(hgb, strategy, batch_size=4).fit(X, y_part)
        idx = learner.query(X, y_part)
        assert np.all(y_part[idx] == -1) and np.unique(idx).shape == (4,)
        learner.teach(X[idx], y[idx])
        assert learner.predict(X).shape == y.shape
    # a model that refuses NaN says so (its own error), it is not silenced
    with pytest.raises(ValueError, match="NaN"):
        ActiveLearner(LogisticRegression()).fit(X, y_part)


def test_string_labels_with_a_numeric_missing_label_are_refused():
    # "" marks the unlabelled rows, but missing_label=-1 (the default) can
    # never match a string: no silent "" class is learned.
    X, y, _ = _iris_partial()
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    y_str = names.copy()
    y_str[3:50] = ""
    y_str[53:100] = ""
    y_str[103:] = ""
    for y_given in (y_str, y_str.astype(object)):
        with pytest.raises(ValueError, match="missing_label=-1.*string"):
            ActiveLearner().fit(X, y_given)
    learner = ActiveLearner(missing_label="").fit(X, y_str)
    np.testing.assert_array_equal(learner.classes_, np.unique(names))
    assert learner.y_train_.shape == (9,)
    assert np.all(y_str[learner.query(X, y_str)] == "")


def test_nan_marker_accepts_fully_labelled_string_labels():
    # None / NaN mark unlabelled rows whatever the labels' type: a fully
    # labelled string y is fine with them (it was refused as a marker of
    # another type than the labels).
    X, y = load_iris(return_X_y=True)
    names = np.array(["setosa", "versicolor", "virginica"], dtype=object)[y]
    model = ActiveLearner(missing_label=np.nan).fit(X, names)
    assert set(model.classes_) == set(names)


def test_taught_data_frames_never_repeat_an_index_label():
    # Rows of the pool keep its labels; rows from elsewhere (a new frame
    # numbered from 0, an array) would repeat stored labels: the frame is
    # then renumbered, rows in the order they were labelled.
    import pandas as pd

    X, y = _tabular_frame()
    X = X[["a", "b"]]
    y_part = np.full(y.shape[0], -1)
    y_part[:10] = y[:10]
    learner = ActiveLearner(LogisticRegression(), batch_size=3).fit(X, y_part)
    idx = learner.query(X, y_part)
    learner.teach(X.iloc[idx], y[idx])
    expected = np.r_[np.arange(10), idx]
    np.testing.assert_array_equal(learner.X_train_.index, expected)
    new = pd.DataFrame({"a": [0.5, -0.5], "b": [1.0, 2.0]})  # index 0, 1
    learner.teach(new, [0, 1])
    with pytest.warns(UserWarning, match="feature names"):
        learner.teach(np.array([[3.0, 4.0]]), [1])
    assert learner.X_train_.index.is_unique
    np.testing.assert_array_equal(learner.X_train_.index, np.arange(16))
    stored = np.r_[X.to_numpy()[expected], new.to_numpy(), [[3.0, 4.0]]]
    np.testing.assert_array_equal(learner.X_train_.to_numpy(), stored)
    np.testing.assert_array_equal(learner.y_train_, np.r_[y[expected], 0, 1, 1])
