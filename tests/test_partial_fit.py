"""``partial_fit`` accepts what ``fit`` accepts and refuses what it refuses.

For every public estimator with ``partial_fit`` (found by discovery), with
the settings of the common checks and with its defaults: the same good, edge
and bad inputs go to ``fit`` and, as a first chunk, to ``partial_fit`` of
fresh copies; both must accept or both refuse with a ``ValueError`` or
``TypeError``. A later chunk is refused exactly when ``fit`` refuses it
alone (one with another number of features always), and a refused chunk
leaves the model as it was.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

from skrep.utils._testing import estimator_instances
from skrep.utils.discovery import all_estimators

# the settings of the common checks, and the defaults
STREAMING = [E for _, E in all_estimators() if hasattr(E, "partial_fit")]
ESTIMATORS = [e for e in estimator_instances() if hasattr(e, "partial_fit")]
ESTIMATORS += [E() for E in STREAMING]
IDS = [repr(e).replace("\n", "").replace(" ", "") for e in ESTIMATORS]

_RNG = np.random.RandomState(0)
X0 = _RNG.standard_normal((40, 4))
Y0 = np.arange(40) % 2


def _with(value):
    X = X0.copy()
    X[3, 1] = value
    return X


# name: (X, y) -- the data of one call
INPUTS = {
    "plain": (X0, Y0),
    "nan": (_with(np.nan), Y0),
    "inf": (_with(np.inf), Y0),
    "empty": (X0[:0], Y0[:0]),
    "no_features": (X0[:, :0], Y0),
    "3d": (X0[:, :, None], Y0),
    "1d": (X0[:, 0], Y0),
    "numeric_strings": (X0.astype(str), Y0),
    "strings": (np.full(X0.shape, "a"), Y0),
    "complex": (X0 + 1j, Y0),
    "one_row": (X0[:1], Y0[:1]),
    "two_rows": (X0[:2], Y0[:2]),
    "huge": (X0 * 1e200, Y0),
    "tiny": (X0 * 1e-200, Y0),
    "float32": (X0.astype(np.float32), Y0),
    "int": (np.round(3 * X0).astype(np.int64), Y0),
    "constant": (np.ones_like(X0), Y0),
    "list": (X0.tolist(), Y0.tolist()),
    "dataframe": (pd.DataFrame(X0, columns=list("abcd")), Y0),
    "sparse": (sp.csr_matrix(X0), Y0),
    "y_nan": (X0, np.where(np.arange(40) == 5, np.nan, Y0)),
    "y_short": (X0, Y0[:-1]),
}
# chunks that fit may refuse on their own; as a later chunk, partial_fit
# must refuse them as fit does (a later chunk of one row is fine: streaming)
LATER = ["plain", "nan", "inf", "empty", "3d", "1d", "strings", "complex"]
LATER += ["y_nan", "y_short", "no_features", "huge", "float32"]


def _outcome(method, X, y):
    """ "accepted", or the ValueError / TypeError that refused (X, y)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", RuntimeWarning)  # overflow on the way
        try:
            method(X, y)
        except (ValueError, TypeError) as exc:
            return exc
    return "accepted"


def _summary(estimator, X):
    """What the fitted model says about X (to see whether a call changed it)."""
    method = "transform" if hasattr(estimator, "transform") else "score_samples"
    return getattr(estimator, method)(X)


def test_every_estimator_with_partial_fit_is_checked():
    # the common checks' settings cover every class with partial_fit
    assert STREAMING
    common = {type(e) for e in estimator_instances() if hasattr(e, "partial_fit")}
    assert common == set(STREAMING)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=IDS)
def test_one_chunk_gives_the_model_of_fit(estimator):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        by_fit = clone(estimator).fit(X0, Y0)
        by_partial_fit = clone(estimator).partial_fit(X0, Y0)
    np.testing.assert_allclose(
        _summary(by_partial_fit, X0), _summary(by_fit, X0), rtol=1e-12, atol=1e-12
    )


@pytest.mark.parametrize("case", sorted(INPUTS))
@pytest.mark.parametrize("estimator", ESTIMATORS, ids=IDS)
def test_partial_fit_accepts_what_fit_accepts(estimator, case):
    X, y = INPUTS[case]
    by_fit = _outcome(clone(estimator).fit, X, y)
    by_partial_fit = _outcome(clone(estimator).partial_fit, X, y)
    assert (by_fit == "accepted") == (by_partial_fit == "accepted"), (
        f"fit: {by_fit!r}; partial_fit: {by_partial_fit!r}"
    )


@pytest.mark.parametrize("case", LATER + ["other_n_features"])
@pytest.mark.parametrize("estimator", ESTIMATORS, ids=IDS)
def test_a_later_chunk_is_refused_as_fit_refuses_it(estimator, case):
    if case == "other_n_features":
        X, y = X0[:, :3], Y0
        # the fitted model's own methods refuse such rows
        with pytest.raises(ValueError, match="features"):
            _summary(clone(estimator).fit(X0, Y0), X)
        by_fit = "refused"
    else:
        X, y = INPUTS[case]
        by_fit = _outcome(clone(estimator).fit, X, y)
    model = clone(estimator).partial_fit(X0, Y0)
    before = _summary(model, X0)
    later = _outcome(model.partial_fit, X, y)
    assert (by_fit == "accepted") == (later == "accepted"), (
        f"fit: {by_fit!r}; later partial_fit: {later!r}"
    )
    if later != "accepted":  # a refused chunk leaves the model as it was
        np.testing.assert_array_equal(_summary(model, X0), before)
