"""What the common estimator checks need to know about skrep's estimators.

``INIT_PARAMS`` holds small, fast constructor arguments for each public
estimator (several instances per class are allowed: give a list of dicts);
``EXPECTED_FAILED_CHECKS`` names the scikit-learn checks an estimator is
known to fail, each with the reason. Every entry must be justified: an
estimator that can pass a check must not be excused from it.
"""

from skrep.utils.discovery import all_estimators

__all__ = ["EXPECTED_FAILED_CHECKS", "INIT_PARAMS", "expected_failed_checks", "tested_estimators"]

# Keep one block per subpackage, estimators sorted by name.
INIT_PARAMS = {
    # skrep.decomposition
    # skrep.cluster
    # skrep.ood
    # skrep.dpp
    # skrep.ordinal
    # skrep.active
}

# {estimator class name: {check name: reason}}
EXPECTED_FAILED_CHECKS = {}


def tested_estimators():
    """Yield an instance of each public estimator, with ``INIT_PARAMS`` applied.

    Yields
    ------
    estimator : estimator instance
    """
    for name, Estimator in all_estimators():
        params = INIT_PARAMS.get(name, {})
        for kwargs in params if isinstance(params, list) else [params]:
            yield Estimator(**kwargs)


def expected_failed_checks(estimator):
    """The checks ``estimator`` is known to fail, with the reasons."""
    return EXPECTED_FAILED_CHECKS.get(type(estimator).__name__, {})
