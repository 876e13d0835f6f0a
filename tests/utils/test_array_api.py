import numpy as np
import pytest
from sklearn import config_context

from skrep.utils._array_api import get_namespace, is_numpy_namespace, to_numpy


def test_numpy_by_default():
    xp, is_array_api = get_namespace(np.ones(3))
    assert is_numpy_namespace(xp)
    assert not is_array_api


def test_numpy_stays_numpy_with_dispatch():
    pytest.importorskip("array_api_compat")
    with config_context(array_api_dispatch=True):
        xp, is_array_api = get_namespace(np.ones(3))
    assert is_numpy_namespace(xp)
    assert not is_array_api


def test_array_api_strict_namespace_and_round_trip():
    strict = pytest.importorskip("array_api_strict")
    pytest.importorskip("array_api_compat")
    x = strict.asarray([1.0, 2.0, 3.0])
    with config_context(array_api_dispatch=True):
        xp, is_array_api = get_namespace(x)
        assert is_array_api
        assert xp.__name__ == "array_api_strict"
        back = to_numpy(xp.multiply(x, 2.0), xp)
    assert isinstance(back, np.ndarray)
    np.testing.assert_array_equal(back, [2.0, 4.0, 6.0])


def test_without_dispatch_foreign_arrays_are_not_dispatched():
    strict = pytest.importorskip("array_api_strict")
    xp, is_array_api = get_namespace(strict.asarray([1.0]))
    assert not is_array_api
