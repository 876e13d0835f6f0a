"""The one place where skrep imports scikit-learn's private helpers.

scikit-learn does not promise to keep these names; when one moves, it is mended
here and nowhere else.
"""

from numbers import Integral

import numpy as np
from sklearn.base import _fit_context
from sklearn.externals.array_api_compat import array_namespace, is_array_api_obj
from sklearn.utils._array_api import (
    _convert_to_numpy,
    _is_numpy_namespace,
    _logsumexp,
    _median,
    check_same_namespace,
    device,
    get_namespace,
    get_namespace_and_device,
    supported_float_dtypes,
    yield_namespace_device_dtype_combinations,
)
from sklearn.utils._param_validation import (
    Hidden,
    Options,
    RealNotInt,
    StrOptions,
    validate_params,
)
from sklearn.utils._param_validation import Interval as _Interval
from sklearn.utils.validation import _num_samples

__all__ = [
    "Hidden",
    "Interval",
    "Options",
    "RealNotInt",
    "StrOptions",
    "_array_api_for_tests",
    "_convert_to_numpy",
    "_is_numpy_namespace",
    "_fit_context",
    "_logsumexp",
    "_median",
    "_num_samples",
    "array_namespace",
    "check_same_namespace",
    "device",
    "get_namespace",
    "get_namespace_and_device",
    "is_array_api_obj",
    "supported_float_dtypes",
    "validate_params",
    "yield_namespace_device_dtype_combinations",
]


def _array_api_for_tests(array_namespace, device_name=None, dtype_name=None):
    """scikit-learn's ``(xp, device)`` for array-API tests; skips when absent.

    Imported on call: ``sklearn.utils._testing`` is a test-time module.
    """
    from sklearn.utils._testing import _array_api_for_tests as impl

    return impl(array_namespace, device_name, dtype_name)


class Interval(_Interval):
    """scikit-learn's ``Interval``, except that an ``Integral`` interval
    refuses a bool (``True`` would pass as 1: ``n_init=True`` is a mistake,
    not one initialisation)."""

    def is_satisfied_by(self, val):
        if self.type is Integral and isinstance(val, (bool, np.bool_)):
            return False
        return super().is_satisfied_by(val)
