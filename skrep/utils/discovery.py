"""Find skrep's public estimators, the way ``sklearn.utils.discovery`` does."""

import importlib
import inspect

__all__ = ["PUBLIC_MODULES", "all_estimators", "all_functions"]

#: The subpackages whose ``__all__`` lists public names.
PUBLIC_MODULES = (
    "skrep.decomposition",
    "skrep.cluster",
    "skrep.ood",
    "skrep.dpp",
    "skrep.ordinal",
    "skrep.active",
    "skrep.datasets",
)

_TYPE_MIXINS = {
    "classifier": "ClassifierMixin",
    "regressor": "RegressorMixin",
    "transformer": "TransformerMixin",
    "cluster": "ClusterMixin",
    "outlier_detector": "OutlierMixin",
}


def _public_objects():
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            yield name, getattr(module, name)


def all_estimators(type_filter=None):
    """List every public estimator of skrep.

    Parameters
    ----------
    type_filter : {"classifier", "regressor", "transformer", "cluster", \
            "outlier_detector"} or list of those, default=None
        Keep only the estimators of these kinds; None keeps all.

    Returns
    -------
    estimators : list of (name, class)
        Sorted by name.

    Examples
    --------
    >>> from skrep.utils.discovery import all_estimators
    >>> estimators = all_estimators()
    >>> all(isinstance(name, str) for name, _ in estimators)
    True
    """
    import sklearn.base

    if isinstance(type_filter, str):
        type_filter = [type_filter]
    if type_filter is not None:
        unknown = set(type_filter) - set(_TYPE_MIXINS)
        if unknown:
            raise ValueError(
                f"Unknown type_filter {sorted(unknown)}; "
                f"choose from {sorted(_TYPE_MIXINS)}."
            )
        mixins = tuple(getattr(sklearn.base, _TYPE_MIXINS[t]) for t in type_filter)

    estimators = []
    for name, obj in _public_objects():
        if not (
            inspect.isclass(obj)
            and issubclass(obj, sklearn.base.BaseEstimator)
            and not inspect.isabstract(obj)
        ):
            continue
        if type_filter is not None and not issubclass(obj, mixins):
            continue
        estimators.append((name, obj))
    return sorted(estimators, key=lambda pair: pair[0])


def all_functions():
    """List every public function of skrep (data generators, ``simulate``...).

    Returns
    -------
    functions : list of (name, function)
        Sorted by name.

    Examples
    --------
    >>> from skrep.utils.discovery import all_functions
    >>> names = [name for name, _ in all_functions()]
    >>> names == sorted(names)
    True
    """
    functions = [
        (name, obj) for name, obj in _public_objects() if inspect.isfunction(obj)
    ]
    return sorted(functions, key=lambda pair: pair[0])
