"""simulate: replay active-learning runs against known labels."""

import copy
import sys
import time
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
from sklearn.base import clone
from sklearn.utils import _safe_indexing, check_random_state
from sklearn.utils.validation import column_or_1d

from skrep.active._strategies import RandomSampler, margins
from skrep.utils._compat import Interval, StrOptions, _num_samples, validate_params

__all__ = ["MarginPlateau", "SimulationResult", "StablePredictions", "simulate"]


class _PatienceRule:
    """Stop after ``patience`` rounds in a row without progress."""

    def __init__(self, patience):
        self.patience = patience
        self._previous = None
        self._streak = 0

    def _stalled(self, value, no_progress):
        """Record ``value``; True once ``no_progress(previous, value)`` has held
        for ``patience`` rounds in a row."""
        if self._previous is not None and no_progress(self._previous, value):
            self._streak += 1
        else:
            self._streak = 0
        self._previous = value
        return self._streak >= self.patience


class StablePredictions(_PatienceRule):
    """Stop when the predictions on a stop set stabilise.

    Stops once the fraction of stop-set rows whose predicted label changed
    since the previous round stays below ``threshold`` for ``patience``
    rounds in a row (Bloodgood & Vijay-Shanker, 2009).

    Parameters
    ----------
    threshold : float, default=0.01
        Largest fraction of changed predictions that counts as stable.
    patience : int, default=2
        Stable rounds in a row needed to stop.

    Examples
    --------
    >>> from skrep.active import StablePredictions
    >>> StablePredictions(threshold=0.02).threshold
    0.02
    """

    def __init__(self, threshold=0.01, patience=2):
        super().__init__(patience)
        self.threshold = threshold

    def __call__(self, state):
        pred = state["estimator"].predict(state["X_stop"])
        return self._stalled(
            pred, lambda old, new: np.mean(new != old) < self.threshold
        )


class MarginPlateau(_PatienceRule):
    """Stop when the mean margin on a stop set stops growing.

    Margins grow as the model becomes confident; once the mean margin on the
    stop set has risen by less than ``tol`` for ``patience`` rounds in a row,
    further labels are unlikely to help.

    Parameters
    ----------
    tol : float, default=0.005
        Smallest rise of the mean margin that counts as progress.
    patience : int, default=2
        Rounds without progress needed to stop.

    Examples
    --------
    >>> from skrep.active import MarginPlateau
    >>> MarginPlateau(tol=0.01).tol
    0.01
    """

    def __init__(self, tol=0.005, patience=2):
        super().__init__(patience)
        self.tol = tol

    def __call__(self, state):
        est = state["estimator"]
        if hasattr(est, "predict_proba"):
            m = margins(est.predict_proba(state["X_stop"]), proba=True)
        else:
            m = margins(est.decision_function(state["X_stop"]))
        return self._stalled(float(np.mean(m)), lambda old, new: new - old < self.tol)


_STOPPING = {"stable_predictions": StablePredictions, "margin_plateau": MarginPlateau}


@dataclass
class SimulationResult:
    """The outcome of :func:`simulate`.

    Attributes
    ----------
    curve : pandas.DataFrame
        The learning curves: one row per strategy, repeat and round, with
        columns ``strategy``, ``repeat``, ``n_labels``, ``score``,
        ``fit_time``, ``query_time`` and ``time`` (seconds since the run
        started).
    auc : pandas.DataFrame
        Area under each learning curve, normalised by its width in labels
        (the mean score over the budget): columns ``strategy``, ``repeat``,
        ``auc``.
    win_rate : float or None
        Fraction of repeats in which the strategy's area beats the random
        baseline's (ties count one half); None without a baseline.
    """

    curve: object
    auc: object
    win_rate: object

    def summary(self):
        """Mean and standard deviation of the area per strategy.

        Returns
        -------
        summary : pandas.DataFrame
        """
        return self.auc.groupby("strategy")["auc"].agg(["mean", "std", "count"])


def _area(n_labels, score):
    n_labels = np.asarray(n_labels, dtype=float)
    score = np.asarray(score, dtype=float)
    if n_labels.shape[0] < 2 or n_labels[-1] == n_labels[0]:
        return float(score.mean())
    return float(np.trapezoid(score, n_labels) / (n_labels[-1] - n_labels[0]))


def _initial_set(y_enc, train, initial, rng):
    if not isinstance(initial, Integral | np.integer):
        init = np.asarray(initial)
        if init.ndim != 1 or init.size == 0 or not np.all(np.isin(init, train)):
            raise ValueError(
                "initial must be a positive int or indices of training rows."
            )
        return np.unique(init)
    perm = rng.permutation(train)
    init = perm[:initial]
    if np.unique(y_enc[init]).shape[0] < 2:
        other = perm[initial:][y_enc[perm[initial:]] != y_enc[init[0]]]
        if other.size == 0:
            raise ValueError("y has a single class: nothing to learn.")
        init = np.concatenate([init[:-1] if initial > 1 else init, other[:1]])
    return init


def _run(
    strategy,
    estimator,
    X,
    y_enc,
    train,
    test_X,
    test_y,
    init,
    budget,
    batch_size,
    scorer,
    stopping,
    seed,
    name,
    repeat,
):
    strategy = clone(strategy)
    params = strategy.get_params(deep=False)
    if "random_state" in params:
        strategy.set_params(random_state=seed)
    if "missing_label" in params:
        strategy.set_params(missing_label=-1)
    stopping = copy.deepcopy(stopping)
    X_pool = _safe_indexing(X, train)
    y_work = np.full(train.shape[0], -1, dtype=np.int64)
    pos = np.searchsorted(train, init)
    y_work[pos] = y_enc[init]
    stop_rng = np.random.RandomState(seed)
    X_stop = None
    if stopping is not None:
        stop_idx = stop_rng.choice(
            train.shape[0], min(1000, train.shape[0]), replace=False
        )
        X_stop = _safe_indexing(X_pool, stop_idx)
    rows = []
    start = time.perf_counter()
    n_init = int(np.count_nonzero(y_work >= 0))
    while True:
        labelled = y_work >= 0
        t0 = time.perf_counter()
        est = clone(estimator).fit(
            _safe_indexing(X_pool, np.flatnonzero(labelled)), y_work[labelled]
        )
        fit_time = time.perf_counter() - t0
        score = scorer(est, test_X, test_y)
        n_lab = int(labelled.sum())
        row = {
            "strategy": name,
            "repeat": repeat,
            "n_labels": n_lab,
            "score": float(score),
            "fit_time": fit_time,
            "query_time": 0.0,
        }
        rows.append(row)
        spent = n_lab - n_init
        left = min(budget - spent, int((~labelled).sum()))
        if left <= 0:
            row["time"] = time.perf_counter() - start
            break
        if stopping is not None and stopping(
            {
                "estimator": est,
                "X_stop": X_stop,
                "n_labels": n_lab,
                "scores": [r["score"] for r in rows],
            }
        ):
            row["time"] = time.perf_counter() - start
            break
        t0 = time.perf_counter()
        idx = strategy.query(X_pool, y_work, est, batch_size=min(batch_size, left))
        row["query_time"] = time.perf_counter() - t0
        row["time"] = time.perf_counter() - start
        y_work[idx] = y_enc[train[idx]]
    return rows


def _encode_test_labels(y_test, classes):
    """Positions of the test labels in ``classes``; unknown labels are refused."""
    y_test = column_or_1d(y_test)
    known = set(classes.tolist())  # no casting: the label "1" is not 1
    unknown = [v for v in np.unique(y_test).tolist() if v not in known]
    if unknown:
        raise ValueError(
            f"The test labels {unknown[:5]} are not labels of y "
            f"(whose classes are {classes[:10].tolist()}): a model fitted on y "
            "cannot predict them."
        )
    return np.searchsorted(classes, y_test)


@validate_params(
    {
        "strategy": "no_validation",
        "estimator": "no_validation",
        "X": ["array-like", "sparse matrix"],
        "y": ["array-like"],
        "initial": [Interval(Integral, 2, None, closed="left"), "array-like"],
        "budget": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "test": [Interval(Real, 0, 1, closed="neither"), tuple, None],
        "scoring": [None, str, callable],
        "n_repeats": [Interval(Integral, 1, None, closed="left")],
        "baseline": [StrOptions({"random"}), None],
        "stopping": [StrOptions(set(_STOPPING)), callable, None],
        "n_jobs": [Interval(Integral, None, None, closed="neither"), None],
        "random_state": ["random_state"],
        "verbose": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def simulate(
    strategy,
    estimator,
    X,
    y,
    *,
    initial=10,
    budget=100,
    batch_size=10,
    test=0.25,
    scoring=None,
    n_repeats=1,
    baseline="random",
    stopping=None,
    n_jobs=None,
    random_state=None,
    verbose=False,
):
    """Replay active learning against known labels and measure the learning curve.

    Each repeat splits off a test set, draws an initial labelled set (with at
    least two classes), then alternates fitting a clone of ``estimator`` on
    the labelled rows, scoring it on the test set, and revealing the labels of
    the rows ``strategy`` queries, until ``budget`` labels beyond the initial
    ones are spent (or ``stopping`` says stop). The random baseline is run on
    the same splits and initial sets, so the comparison is paired.

    Parameters
    ----------
    strategy : query strategy
        E.g. :class:`MarginSampler`; cloned per run, its ``random_state`` set
        per repeat.
    estimator : classifier
        Cloned and refitted each round.
    X : array-like of shape (n_samples, n_features)
        All rows.
    y : array-like of shape (n_samples,)
        Their true labels (the oracle).
    initial : int or array-like of int, default=10
        Size of the random initial labelled set, or its indices.
    budget : int, default=100
        Labels to spend after the initial set.
    batch_size : int, default=10
        Labels per round.
    test : float, tuple (X_test, y_test) or None, default=0.25
        Fraction of rows held out for scoring (stratified, redrawn each
        repeat), a fixed test set, or None to score on all of ``X``.
    scoring : str, callable or None, default=None
        A scikit-learn scorer; None uses the estimator's ``score``.
    n_repeats : int, default=1
        Independent repeats (different splits, initial sets and ties).
    baseline : {"random"} or None, default="random"
        Also run :class:`RandomSampler` on the same repeats.
    stopping : {"stable_predictions", "margin_plateau"}, callable or None, \
            default=None
        A stopping rule besides the budget: a callable receives a dict with
        ``estimator``, ``X_stop`` (up to 1000 pool rows), ``n_labels`` and
        ``scores`` after each round and returns True to stop (it is copied
        for each run). See :class:`StablePredictions`, :class:`MarginPlateau`.
    n_jobs : int, default=None
        Runs in parallel (joblib).
    random_state : int, RandomState instance or None, default=None
        Seeds the splits, initial sets and strategies.
    verbose : bool, default=False
        Print a progress bar to standard error.

    Returns
    -------
    result : SimulationResult
        ``curve`` (the learning curves as a DataFrame), ``auc`` (area under
        each curve) and ``win_rate`` (against random).

    See Also
    --------
    ActiveLearner : The loop for real labelling.

    References
    ----------
    .. [1] D. Bahri, H. Jiang, T. Schuster and A. Rostamizadeh, "Is margin all
       you need? An extensive empirical study of active learning on tabular
       data", arXiv:2210.03822, 2022.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skrep.active import MarginSampler, simulate
    >>> X, y = load_iris(return_X_y=True)
    >>> result = simulate(MarginSampler(), LogisticRegression(), X, y, initial=6,
    ...                   budget=20, batch_size=5, random_state=0)
    >>> sorted(result.curve["strategy"].unique())
    ['MarginSampler', 'random']
    >>> int(result.curve["n_labels"].max())
    26
    """
    import pandas as pd
    from sklearn.metrics import check_scoring
    from sklearn.model_selection import train_test_split
    from sklearn.utils.parallel import Parallel, delayed

    if not hasattr(strategy, "query"):
        raise ValueError(
            f"strategy must have a query method; got {type(strategy).__name__}."
        )
    y = column_or_1d(y)
    n = _num_samples(X)
    if y.shape[0] != n:
        raise ValueError(f"X has {n} rows but y has {y.shape[0]} labels.")
    if y.dtype.kind == "f" and np.any(np.isnan(y)):
        raise ValueError("y must hold the true label of every row; it contains NaN.")
    classes, y_enc = np.unique(y, return_inverse=True)
    if classes.shape[0] < 2:
        raise ValueError("y has a single class: nothing to learn.")
    if isinstance(initial, Integral | np.integer) and initial > n:
        raise ValueError(f"initial={initial} is larger than the number of rows ({n}).")
    scorer = check_scoring(estimator, scoring=scoring)
    rng = check_random_state(random_state)
    seeds = rng.randint(np.iinfo(np.int32).max, size=n_repeats)
    stop = _STOPPING[stopping]() if isinstance(stopping, str) else stopping
    runs = [(strategy, type(strategy).__name__)]
    if baseline == "random":
        runs.append((RandomSampler(), "random"))

    tasks = []
    for r, seed in enumerate(seeds):
        r_rng = np.random.RandomState(seed)
        if isinstance(test, tuple):
            train = np.arange(n)
            test_X, test_y = test[0], _encode_test_labels(test[1], classes)
        elif test is None:
            train = np.arange(n)
            test_X, test_y = X, y_enc
        else:
            try:
                train, held = train_test_split(
                    np.arange(n), test_size=test, random_state=r_rng, stratify=y_enc
                )
            except ValueError as exc:
                raise ValueError(
                    f"test={test} cannot hold out a stratified test set: {exc} "
                    "Pass another fraction, test=None or a fixed (X_test, y_test)."
                ) from exc
            train = np.sort(train)
            test_X, test_y = _safe_indexing(X, held), y_enc[held]
        init = _initial_set(y_enc, train, initial, r_rng)
        for strat, name in runs:
            tasks.append(
                delayed(_run)(
                    strat,
                    estimator,
                    X,
                    y_enc,
                    train,
                    test_X,
                    test_y,
                    init,
                    budget,
                    batch_size,
                    scorer,
                    stop,
                    int(seed),
                    name,
                    r,
                )
            )
    rows = []
    results = Parallel(n_jobs=n_jobs, return_as="generator")(tasks)
    for i, run_rows in enumerate(results, start=1):
        rows.extend(run_rows)
        if verbose:
            done = int(30 * i / len(tasks))
            sys.stderr.write(
                f"\r[{'#' * done}{'.' * (30 - done)}] {i}/{len(tasks)} runs"
            )
            if i == len(tasks):
                sys.stderr.write("\n")
            sys.stderr.flush()
    curve = pd.DataFrame(
        rows,
        columns=[
            "strategy",
            "repeat",
            "n_labels",
            "score",
            "fit_time",
            "query_time",
            "time",
        ],
    )
    auc = pd.DataFrame(
        [
            {"strategy": name, "repeat": r, "auc": _area(g["n_labels"], g["score"])}
            for (name, r), g in curve.groupby(["strategy", "repeat"], sort=False)
        ],
        columns=["strategy", "repeat", "auc"],
    )
    win_rate = None
    if baseline == "random":
        a = auc.pivot(index="repeat", columns="strategy", values="auc")
        main, base = a[runs[0][1]].to_numpy(), a["random"].to_numpy()
        win_rate = float(np.mean((main > base) + 0.5 * (main == base)))
    return SimulationResult(curve=curve, auc=auc, win_rate=win_rate)
