"""Weighted least squares on determinantal point process samples."""

from skrep.utils._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "_basis": ["PolynomialBasis"],
        "_least_squares": ["DPPLeastSquares"],
        "_samplers": [
            "ChristoffelSampler",
            "ProjectionDPPSampler",
            "RepeatedDPPSampler",
            "VolumeSampler",
        ],
    },
)
