"""Weighted least squares on determinantal point process samples."""

from skrep.utils._lazy import attach

__getattr__, __dir__, __all__ = attach(__name__, {})
