"""Lazy public names for skrep's subpackages.

Importing ``skrep.decomposition`` (or any other subpackage) must be cheap: it
may not import scikit-learn, numba or scipy. Each subpackage declares which
private module holds which public name; the module is imported the first time
one of its names is looked up (PEP 562 module ``__getattr__``).
"""

import importlib


def attach(package_name, submodules):
    """Build ``__getattr__``, ``__dir__`` and ``__all__`` for a lazy package.

    Parameters
    ----------
    package_name : str
        The ``__name__`` of the package.
    submodules : dict of str to list of str
        Maps a private module name (relative to the package, e.g.
        ``"_robust_pca"``) to the public names it defines.

    Returns
    -------
    __getattr__ : callable
    __dir__ : callable
    __all__ : list of str
        The public names, sorted.
    """
    where = {name: module for module, names in submodules.items() for name in names}
    __all__ = sorted(where)

    def __getattr__(name):
        if name not in where:
            raise AttributeError(f"module {package_name!r} has no attribute {name!r}")
        module = importlib.import_module(f"{package_name}.{where[name]}")
        return getattr(module, name)

    def __dir__():
        return list(__all__)

    return __getattr__, __dir__, __all__
