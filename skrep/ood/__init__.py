"""Out-of-distribution detection with Gaussian models of features."""

from skrep.utils._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__, {"_gaussian_ood": ["GaussianMixtureOODDetector"]}
)
