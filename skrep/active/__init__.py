"""Active learning: query strategies, the loop, leverage-score sampling."""

from skrep.utils._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "_learner": ["ActiveLearner"],
        "_leverage": ["LeverageScoreSampler"],
        "_simulate": ["MarginPlateau", "StablePredictions", "simulate"],
        "_strategies": ["MarginSampler", "RandomSampler", "UncertaintySampler"],
    },
)
