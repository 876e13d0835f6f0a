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
