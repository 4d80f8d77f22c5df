"""statsmodels-kinship: linear mixed models with a known kinship matrix for statsmodels."""
from .api import *  # noqa: F401,F403
from .api import KinshipMixedLM, KinshipMixedLMResults  # noqa: F401

__version__ = "0.1.0.dev0"
