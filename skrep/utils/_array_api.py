"""Array namespaces: numpy by default, CuPy or any array-API library on demand.

skrep follows scikit-learn's rule: array-API dispatch is off unless the user
turns it on with ``sklearn.set_config(array_api_dispatch=True)``; then
everything follows the input array's namespace and device.
"""

import numpy as np

from skrep.utils._compat import (
    _convert_to_numpy,
    _is_numpy_namespace,
    array_namespace,
    is_array_api_obj,
)
from skrep.utils._compat import get_namespace as _sklearn_get_namespace
from skrep.utils._compat import (
    get_namespace_and_device as _sklearn_get_namespace_and_device,
)


def get_namespace(*arrays):
    """Return the array namespace of ``arrays`` and whether dispatch is on.

    Parameters
    ----------
    *arrays : array-like
        Arrays (``None`` entries are ignored).

    Returns
    -------
    xp : module
        An array-API compatible namespace: a numpy wrapper when
        ``array_api_dispatch`` is off (the default), the namespace of the
        inputs otherwise.
    is_array_api : bool
        True when array-API dispatch is on and the namespace is not numpy.

    Examples
    --------
    >>> import numpy as np
    >>> from skrep.utils._array_api import get_namespace
    >>> xp, is_array_api = get_namespace(np.ones(3))
    >>> is_array_api
    False
    """
    xp, is_array_api = _sklearn_get_namespace(*arrays)
    return xp, is_array_api and not is_numpy_namespace(xp)


def is_numpy_namespace(xp):
    """Whether ``xp`` is numpy or a wrapper of numpy."""
    return _is_numpy_namespace(xp)


def to_numpy(array, xp=None):
    """Copy ``array`` to host memory as a numpy array.

    Parameters
    ----------
    array : array
        An array of any namespace.
    xp : module, default=None
        Its namespace, looked up when not given.

    Returns
    -------
    ndarray

    Examples
    --------
    >>> import numpy as np
    >>> from skrep.utils._array_api import to_numpy
    >>> to_numpy(np.arange(3))
    array([0, 1, 2])
    """
    if xp is None:
        xp, _ = get_namespace(array)
    if is_numpy_namespace(xp):
        return np.asarray(array)
    return _convert_to_numpy(array, xp=xp)


def get_namespace_and_device(*arrays):
    """Return the namespace, whether it is a non-numpy one, and the device.

    Parameters
    ----------
    *arrays : array-like
        Arrays (``None`` entries are ignored).

    Returns
    -------
    xp : module
        The array namespace (see :func:`get_namespace`).
    is_array_api : bool
        True when array-API dispatch is on and the namespace is not numpy:
        the estimator must then take its array-API path.
    device : object
        The device of the arrays (``None`` or ``"cpu"`` for numpy).

    Examples
    --------
    >>> import numpy as np
    >>> from skrep.utils._array_api import get_namespace_and_device
    >>> xp, is_array_api, device = get_namespace_and_device(np.ones(3))
    >>> is_array_api
    False
    """
    xp, is_array_api, device = _sklearn_get_namespace_and_device(*arrays)
    return xp, is_array_api and not is_numpy_namespace(xp), device


def to_namespace(array, xp, device, dtype=None):
    """Copy a host (numpy) array, or a scalar, to namespace ``xp`` on ``device``.

    Parameters
    ----------
    array : ndarray or scalar
        Host data.
    xp : module
        The target namespace.
    device : object
        The target device.
    dtype : dtype of ``xp``, default=None
        The target dtype; the input's when ``None``.

    Returns
    -------
    array : array of namespace ``xp``

    Examples
    --------
    >>> import numpy as np
    >>> from skrep.utils._array_api import get_namespace, to_namespace
    >>> xp, _ = get_namespace(np.ones(2))
    >>> to_namespace(np.arange(3), xp, "cpu")
    array([0, 1, 2])
    """
    if isinstance(array, np.ndarray) and not array.flags.c_contiguous:
        array = np.ascontiguousarray(array)
    return xp.asarray(array, dtype=dtype, device=device)


def to_host(array):
    """``array`` as host data, whatever the array-API dispatch setting.

    An array of a non-numpy namespace (CuPy, array-api-strict, ...) is copied
    to a numpy array; anything else (numpy arrays, lists, DataFrames) is
    returned unchanged. For labels, sample weights and scores, which may come
    in another namespace or device than ``X``.

    Parameters
    ----------
    array : object

    Returns
    -------
    array : ndarray or the input

    Examples
    --------
    >>> from skrep.utils._array_api import to_host
    >>> to_host([1, 2])
    [1, 2]
    """
    # CuPy arrays and torch tensors have no __array_namespace__ method:
    # array-api-compat recognises them by their class.
    if isinstance(array, np.ndarray) or not is_array_api_obj(array):
        return array
    return _convert_to_numpy(array, xp=array_namespace(array))
