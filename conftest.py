"""pytest configuration shared by the doctests in skrep/ and the tests in tests/."""

import os

# scikit-learn's array-API dispatch needs scipy's array-API mode, which must be
# chosen before scipy is first imported.
os.environ.setdefault("SCIPY_ARRAY_API", "1")
