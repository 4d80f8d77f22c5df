"""Public names of statsmodels-kinship."""
from .kinship_mixed_model import (  # noqa: F401
    KinshipMixedLM,
    KinshipMixedLMResults,
)
