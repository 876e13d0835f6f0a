"""Robust and kernel principal component analysis."""

from skrep.utils._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "_dual_kernel_pca": ["DualKernelPCA"],
        "_outlier_robust_pca": ["OutlierRobustPCA"],
        "_robust_pca": ["RobustPCA"],
        "_robust_svd": ["RobustSVD"],
    },
)
