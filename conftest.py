"""pytest configuration shared by the doctests in skrep/ and the tests in tests/."""

import os

import pytest

# scikit-learn's array-API dispatch needs scipy's array-API mode, which must be
# chosen before scipy is first imported.
os.environ.setdefault("SCIPY_ARRAY_API", "1")


@pytest.fixture(autouse=True)
def _one_blas_thread():
    # The tests fit many small models, whose thin matrix products only pay
    # for the synchronisation of BLAS threads (5-10x slower on a busy
    # machine); the results do not change.
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield
