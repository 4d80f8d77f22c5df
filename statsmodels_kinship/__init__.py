"""statsmodels-kinship: linear mixed models with a known kinship matrix for statsmodels.

The public names are those of :mod:`statsmodels_kinship.api` (the same ``__all__``).
"""
from .api import *  # noqa: F401,F403
from .api import __all__  # noqa: F401

__version__ = "0.1.0.dev0"
