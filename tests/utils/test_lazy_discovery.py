import importlib

import pytest

import skrep
from skrep.utils._lazy import attach
from skrep.utils.discovery import PUBLIC_MODULES, all_estimators, all_functions


def test_top_level_subpackages():
    assert sorted(skrep.__all__) == sorted(
        [m.split(".")[1] for m in PUBLIC_MODULES] + ["utils"]
    )
    for name in skrep.__all__:
        assert getattr(skrep, name).__name__ == f"skrep.{name}"
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        skrep.nope  # noqa: B018


def test_attach_resolves_names_lazily():
    getattr_, dir_, all_ = attach("skrep.utils", {"validation": ["check_not_constant"]})
    assert all_ == ["check_not_constant"]
    assert dir_() == ["check_not_constant"]
    from skrep.utils.validation import check_not_constant

    assert getattr_("check_not_constant") is check_not_constant
    with pytest.raises(AttributeError, match="has no attribute 'missing'"):
        getattr_("missing")


def test_every_public_name_resolves():
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        assert module.__all__ == sorted(module.__all__)
        for name in module.__all__:
            assert getattr(module, name) is not None


def test_all_estimators_and_functions():
    from sklearn.base import BaseEstimator

    estimators = all_estimators()
    assert [n for n, _ in estimators] == sorted(n for n, _ in estimators)
    assert all(issubclass(cls, BaseEstimator) for _, cls in estimators)
    functions = dict(all_functions())
    assert "make_low_rank_sparse" in functions
    for kind in ("classifier", "regressor", "transformer", "cluster"):
        assert set(all_estimators(kind)) <= set(estimators)
    with pytest.raises(ValueError, match="Unknown type_filter"):
        all_estimators("forest")
