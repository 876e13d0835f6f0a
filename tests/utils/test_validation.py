import numpy as np
import pytest

from skrep.utils.validation import check_n_components, check_not_constant


@pytest.mark.parametrize(
    "limit, n_ok, n_bad",
    [("min", 3, 4), ("n_samples", 5, 6), ("n_features", 3, 4)],
)
def test_check_n_components_bounds(limit, n_ok, n_bad):
    X = np.zeros((5, 3))
    assert check_n_components(n_ok, X, limit=limit) == n_ok
    with pytest.raises(ValueError, match=f"n_components={n_bad} must be at most"):
        check_n_components(n_bad, X, limit=limit)


def test_check_n_components_names_the_parameter():
    with pytest.raises(ValueError, match=r"n_clusters=9 .* n_samples=5"):
        check_n_components(9, np.zeros((5, 3)), name="n_clusters", limit="n_samples")


def test_check_n_components_unknown_limit():
    with pytest.raises(ValueError, match="limit must be one of"):
        check_n_components(1, np.zeros((5, 3)), limit="rows")


def test_check_not_constant():
    check_not_constant(np.array([[0.0, 1.0], [0.0, 2.0]]))
    with pytest.raises(ValueError, match="All rows of data are identical"):
        check_not_constant(np.full((4, 2), 3.0), what="data")


def test_integer_parameters_refuse_bools():
    # scikit-learn's Interval(Integral, ...) lets True through as 1; skrep's
    # refuses it, for every integer parameter of every public estimator
    # whose constraints do not also allow a bool. A bare ``Integral`` (as
    # scikit-learn writes ``n_jobs``) would let it through, so it counts too.
    from numbers import Integral

    from sklearn.base import clone
    from sklearn.utils._param_validation import Interval as BaseInterval
    from sklearn.utils._param_validation import InvalidParameterError

    from skrep.utils._compat import Interval
    from skrep.utils._testing import estimator_instances

    assert not Interval(Integral, 1, None, closed="left").is_satisfied_by(True)
    assert Interval(Integral, 1, None, closed="left").is_satisfied_by(1)
    X = np.random.RandomState(0).normal(size=(30, 3))
    checked = 0
    # scikit-learn's own Interval too: a constraint written with it lets
    # True through and must be found here, not skipped.
    for estimator in estimator_instances():
        for name, constraints in estimator._parameter_constraints.items():
            integral = any(
                c is Integral or (isinstance(c, BaseInterval) and c.type is Integral)
                for c in constraints
            )
            if not integral or "boolean" in constraints or bool in constraints:
                continue
            with pytest.raises(InvalidParameterError, match=f"'{name}' parameter"):
                clone(estimator).set_params(**{name: True}).fit(X, np.arange(30) % 2)
            checked += 1
    assert checked > 20
    # simulate's n_jobs is checked by validate_params, not by an estimator.
    from skrep.active import simulate

    with pytest.raises(InvalidParameterError, match="'n_jobs' parameter"):
        simulate("random", None, X, np.arange(30) % 2, n_jobs=True)
