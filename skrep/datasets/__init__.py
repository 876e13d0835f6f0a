"""Generators for the synthetic settings of skrep's papers."""

from skrep.utils._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "_samples_generator": [
            "make_contaminated_gaussian",
            "make_function_approximation",
            "make_heterogeneous_mixture",
            "make_low_rank_sparse",
            "make_rare_ordinal",
            "make_sparse_signal_classification",
            "make_surveillance_video",
        ]
    },
)
