"""skrep: fast, scikit-learn compatible estimators from recent papers on
robust representation learning and statistical learning.

The subpackages are imported on first use, so ``import skrep`` is instant and
compiles nothing.
"""

import importlib

__version__ = "0.1.0.dev0"

__all__ = [
    "active",
    "cluster",
    "datasets",
    "decomposition",
    "dpp",
    "ood",
    "ordinal",
    "utils",
]


def __getattr__(name):
    if name in __all__:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return [*__all__, "__version__"]
