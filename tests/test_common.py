"""scikit-learn's estimator checks, and skrep's own, over every public estimator.

An estimator is checked here the moment its subpackage exports it.
"""

import ast
import inspect
import subprocess
import sys
from pathlib import Path

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from skrep import _tour
from skrep.utils._testing import (
    INIT_PARAMS,
    estimator_instances,
    expected_failed_checks,
)
from skrep.utils.discovery import PUBLIC_MODULES, all_estimators

ROOT = Path(__file__).resolve().parents[1]
ESTIMATORS = all_estimators()
ESTIMATOR_IDS = [name for name, _ in ESTIMATORS]


@parametrize_with_checks(
    list(estimator_instances()), expected_failed_checks=expected_failed_checks
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


@pytest.mark.parametrize("Estimator", [e for _, e in ESTIMATORS], ids=ESTIMATOR_IDS)
def test_parameter_constraints_match_get_params(Estimator):
    # Every constructor argument is validated, and nothing else is.
    estimator = next(e for e in estimator_instances() if type(e) is Estimator)
    constraints = getattr(Estimator, "_parameter_constraints", None)
    assert constraints is not None, f"{Estimator.__name__} has no constraints"
    assert set(constraints) == set(estimator.get_params(deep=False))


@pytest.mark.parametrize("Estimator", [e for _, e in ESTIMATORS], ids=ESTIMATOR_IDS)
def test_estimator_has_tour_entry(Estimator):
    entries = _tour.load_entries()
    assert Estimator.__name__ in {e.estimator for e in entries}


@pytest.mark.parametrize("Estimator", [e for _, e in ESTIMATORS], ids=ESTIMATOR_IDS)
def test_estimator_docstring_cites_paper_and_has_example(Estimator):
    doc = inspect.getdoc(Estimator)
    assert "References\n----------" in doc
    assert "Examples\n--------" in doc


def test_init_params_name_public_estimators():
    assert set(INIT_PARAMS) <= set(ESTIMATOR_IDS)


def test_import_is_lazy_and_compiles_nothing():
    # Importing skrep and all its subpackages imports neither scikit-learn
    # nor numba (so it is fast), and importing every public name compiles
    # no numba kernel (kernels compile on first call).
    code = f"""
import importlib, sys
for name in {list(PUBLIC_MODULES)!r}:
    importlib.import_module(name)
heavy = sorted(m for m in ("sklearn", "numba", "scipy") if m in sys.modules)
assert not heavy, heavy
from skrep.utils.discovery import all_estimators, all_functions
all_estimators(); all_functions()
from numba.core.registry import CPUDispatcher
compiled = [
    (mod, name)
    for mod, module in list(sys.modules.items()) if mod.startswith("skrep")
    for name, obj in vars(module).items()
    if isinstance(obj, CPUDispatcher) and obj.signatures
]
assert not compiled, compiled
"""
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_public_modules_export_only_what_they_define():
    # Each subpackage's __init__ declares its public names and nothing else.
    for module in PUBLIC_MODULES:
        path = ROOT / Path(*module.split(".")) / "__init__.py"
        tree = ast.parse(path.read_text())
        functions = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
        classes = [n for n in tree.body if isinstance(n, ast.ClassDef)]
        assert not functions and not classes, path
