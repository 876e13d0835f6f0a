"""Clustering by semidefinite programming."""

from skrep.utils._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {"_ilasdp": ["ILASDPClustering"], "_sdp_kmeans": ["SDPKMeans"]},
)
