"""Property-based fuzzing of every public estimator and function.

Random shapes (1-200 rows, 1-30 features), magnitudes from 1e-200 to 1e200
(float64; 1e-30 to 1e30 for float32), duplicated rows, constant and all-zero
columns: every estimator either gives finite outputs or refuses with a
``ValueError``/``TypeError`` of its own. Never another exception, never a raw
numpy/scipy message (a ``LinAlgError``, "array must not contain infs or
NaNs": the data given have neither), never a NaN or inf output, never a
modified input. A hang fails the run: a watchdog dumps the stacks and exits.
"""

import contextlib
import faulthandler
import re
import warnings
from datetime import timedelta

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.dummy import DummyClassifier
from sklearn.exceptions import ConvergenceWarning

from skrep.utils._testing import estimator_instances
from skrep.utils.discovery import all_estimators, all_functions

# Messages of numpy, scipy or scikit-learn that mean an internal overflow or
# a failed factorisation reached the user: the inputs are finite.
RAW_MESSAGES = re.compile(
    r"must not contain infs or NaNs|Input contains (NaN|infinity)|"
    r"Input X contains (NaN|infinity)|did not converge|Singular matrix|"
    r"not positive definite|Array must not contain|must contain only finite values"
)
MAX_EXAMPLES = 30
DEADLINE_SECONDS = 20  # a slow example fails (these fits take milliseconds)
HANG_SECONDS = 120  # a hung one ends the run

# The small settings of the common checks, and every estimator's defaults.
INSTANCES = list(estimator_instances()) + [
    Estimator() for _, Estimator in all_estimators()
]
IDS = [repr(e).replace("\n", "").replace(" ", "") for e in INSTANCES]


@st.composite
def datasets(draw):
    """A data matrix with hostile scale and structure, and labels for it."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.RandomState(seed)
    n = draw(st.integers(1, 200))
    d = draw(st.integers(1, 30))
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    bound = 200 if dtype == np.float64 else 30
    X = rng.standard_normal((n, d))
    if draw(st.booleans()):  # one scale for the whole matrix
        X *= 10.0 ** draw(st.integers(-bound, bound))
    else:  # a scale per column
        X *= 10.0 ** rng.randint(-bound, bound + 1, size=d)
    if d > 1 and draw(st.booleans()):
        X[:, rng.randint(d)] = draw(st.sampled_from([0.0, 1.0, -3.5e7]))
    if n > 1 and draw(st.booleans()):  # duplicated rows
        X[rng.randint(n, size=n // 2)] = X[rng.randint(n)]
    y = rng.randint(3, size=n)
    if draw(st.booleans()):
        y = np.sort(y)  # rows sorted by the label
    return X.astype(dtype), y


def _check_finite(name, values):
    values = np.asarray(values)
    if values.dtype.kind in "fc":
        assert np.all(np.isfinite(values)), f"{name} returned non-finite values"


def _exercise(estimator, X, y):
    """Run what the estimator offers on (X, y); return the array outputs."""
    outputs = {}
    name = type(estimator).__name__
    y_pool = np.where(np.arange(len(y)) % 2 == 0, y, -1)  # half labelled
    if name == "ActiveLearner":
        estimator.fit(X, y_pool)
        outputs["predict_proba"] = estimator.predict_proba(X)
        return outputs
    if name == "LeverageScoreSampler":
        estimator.fit(X)
        outputs["inclusion_probabilities"] = estimator.inclusion_probabilities(
            X, batch_size=1
        )
        return outputs
    if hasattr(estimator, "query"):  # a query strategy, on a probabilistic model
        clf = DummyClassifier(strategy="stratified", random_state=0)
        clf.fit(X[y_pool != -1], y[y_pool != -1])
        idx = estimator.query(X, y_pool, clf, batch_size=1)
        assert np.all(y_pool[idx] == -1), "queried a labelled row"
        return outputs
    kind = estimator.__sklearn_tags__().estimator_type
    if kind == "clusterer":
        outputs["labels"] = estimator.fit_predict(X)
    elif kind == "regressor":
        outputs["predict"] = estimator.fit(X, X[:, 0] + y).predict(X)
    elif kind == "classifier":
        estimator.fit(X, y)
        outputs["predict_proba"] = estimator.predict_proba(X)
    elif kind == "outlier_detector":
        estimator.fit(X, y)
        outputs["score_samples"] = estimator.score_samples(X)
        outputs["decision_function"] = estimator.decision_function(X)
    else:  # a transformer
        outputs["fit_transform"] = estimator.fit_transform(X)
        outputs["transform"] = estimator.transform(X)
        if hasattr(estimator, "inverse_transform") and getattr(
            estimator, "fit_inverse_transform", True
        ):
            outputs["inverse_transform"] = estimator.inverse_transform(
                outputs["transform"]
            )
    return outputs


def _fuzz_settings(max_examples):
    """Hypothesis settings of every fuzz test: derandomised, no database, a
    deadline per example that catches hangs."""
    return settings(
        max_examples=max_examples,
        deadline=timedelta(seconds=DEADLINE_SECONDS),
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


@pytest.mark.parametrize("estimator", INSTANCES, ids=IDS)
def test_fuzz_estimator(estimator):
    # Compile the kernels once, outside the examples' time.
    warm = np.random.RandomState(0).standard_normal((40, 3))
    with warnings.catch_warnings(), contextlib.suppress(ValueError):
        warnings.simplefilter("ignore", ConvergenceWarning)
        _exercise(
            estimator.__class__(**estimator.get_params()), warm, np.arange(40) % 3
        )

    @_fuzz_settings(MAX_EXAMPLES)
    @given(data=datasets())
    def run(data):
        X, y = data
        X_before, y_before = X.copy(), y.copy()
        fresh = estimator.__class__(**estimator.get_params())
        # A hang inside a compiled kernel never returns to Python (so never
        # reaches the deadline's check): dump every thread's stack and end
        # the run instead of waiting for CI's limit.
        faulthandler.dump_traceback_later(HANG_SECONDS, exit=True)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                warnings.simplefilter("ignore", UserWarning)
                warnings.simplefilter("ignore", RuntimeWarning)
                outputs = _exercise(fresh, X, y)
        except (ValueError, TypeError) as exc:
            assert not isinstance(exc, np.linalg.LinAlgError), repr(exc)
            message = str(exc)
            assert message and not RAW_MESSAGES.search(message), repr(exc)
        else:
            for name, values in outputs.items():
                _check_finite(name, values)
        finally:
            faulthandler.cancel_dump_traceback_later()
        np.testing.assert_array_equal(X, X_before)
        np.testing.assert_array_equal(y, y_before)

    run()


def _check_outputs(outputs):
    for name, values in outputs.items():
        if isinstance(values, (tuple, list)):
            for i, value in enumerate(values):
                _check_finite(f"{name}[{i}]", value)
        else:
            _check_finite(name, values)


def _brant(X, y):
    from skrep.ordinal import ProportionalOdds, brant_test

    result = brant_test(ProportionalOdds().fit(X, y), X, y)
    return {"brant_test": (result.statistic, result.p_value)}


def _generator(name):
    import skrep.datasets as datasets

    make = getattr(datasets, name)
    sizes = {
        "make_surveillance_video": lambda n, d: {"n_frames": n},
        "make_function_approximation": lambda n, d: {
            "n_samples": n,
            "n_features": min(d, 4),
        },
    }.get(name, lambda n, d: {"n_samples": n, "n_features": d})

    def run(X, y):
        out = make(**sizes(*X.shape), random_state=int(y.sum()))
        arrays = [a for a in out if isinstance(a, np.ndarray)]
        return {name: tuple(arrays) if isinstance(out, tuple) else out}

    return run


def _simulate(strategy, stopping=None):
    # The whole loop around a plain LogisticRegression (finite on all these
    # data): the splits, initial sets, strategies' queries (their distances
    # and trees on the raw pool) and stopping rules are ours.
    from sklearn.linear_model import LogisticRegression

    from skrep.active import simulate

    def run(X, y):
        result = simulate(
            strategy,
            LogisticRegression(),
            X,
            y,
            initial=2,
            budget=6,
            batch_size=3,
            stopping=stopping,
            random_state=0,
        )
        columns = ["n_labels", "score", "fit_time", "query_time", "time"]
        return {
            "curve": result.curve[columns].to_numpy(float),
            "auc": result.auc["auc"].to_numpy(),
            "win_rate": result.win_rate,
        }

    return run


def _simulations():
    from skrep.active import LeverageScoreSampler, MarginSampler, UncertaintySampler

    strategies = {
        "margin": (MarginSampler(), "stable_predictions"),
        "kcenter": (MarginSampler(batch_strategy="kcenter"), None),
        "cluster_margin": (
            MarginSampler(batch_strategy="cluster_margin"),
            "margin_plateau",
        ),
        "proportional": (MarginSampler(batch_strategy="proportional"), None),
        "entropy": (UncertaintySampler(method="entropy"), None),
        "leverage_pca": (LeverageScoreSampler(tree="pca"), None),
    }
    return {f"simulate[{key}]": _simulate(*args) for key, args in strategies.items()}


FUNCTIONS = (
    {"brant_test": _brant}
    | {
        name: _generator(name)
        for name, _ in all_functions()
        if name.startswith("make_")
    }
    | _simulations()
)


def test_every_public_function_is_fuzzed():
    names = {name for name, _ in all_functions()}
    assert names == {key.split("[")[0] for key in FUNCTIONS}


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_fuzz_function(name):
    # The public functions: brant_test and simulate on the same hostile
    # data, the generators at random sizes (the data's shape).
    function = FUNCTIONS[name]
    # simulate's batch strategies fail only on some shapes and scales
    examples = MAX_EXAMPLES if name.startswith("simulate") else MAX_EXAMPLES // 2

    @_fuzz_settings(examples)
    @given(data=datasets())
    def run(data):
        X, y = data
        X_before, y_before = X.copy(), y.copy()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                outputs = function(X, y)
        except (ValueError, TypeError) as exc:
            assert not isinstance(exc, np.linalg.LinAlgError), repr(exc)
            assert str(exc) and not RAW_MESSAGES.search(str(exc)), repr(exc)
        else:
            _check_outputs(outputs)
        np.testing.assert_array_equal(X, X_before)
        np.testing.assert_array_equal(y, y_before)

    run()
