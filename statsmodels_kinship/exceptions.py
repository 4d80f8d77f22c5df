"""Warnings of statsmodels-kinship that have no counterpart in ``statsmodels.tools.sm_exceptions``.

Each is a subclass of the statsmodels warning it refines, so that filters written for statsmodels
(``warnings.simplefilter("ignore", ModelWarning)``) apply to them as well.
"""
import os
import sys
import warnings

import statsmodels
from statsmodels.tools.sm_exceptions import ModelWarning, ValueWarning

__all__ = ["IdentifiabilityWarning", "GenotypeWarning", "LabelWarning", "DenseKinshipWarning",
           "KinshipMemoryError", "BinaryTraitWarning"]

#: folders whose frames are skipped by :func:`warn_at_user` (this package and statsmodels, whose
#: ``from_formula`` calls the model's constructor)
_LIBRARY_DIRS = tuple(os.path.dirname(os.path.abspath(m.__file__)) + os.sep
                      for m in (sys.modules[__package__], statsmodels))


def warn_at_user(message, category):
    """``warnings.warn`` with the warning attributed to the first caller outside this package
    and statsmodels: the user's line, however deep in the library the warning is issued."""
    frame, level = sys._getframe(1), 2
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(
            _LIBRARY_DIRS):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)


class IdentifiabilityWarning(ModelWarning):
    """The data cannot separate the variance components (a flat likelihood along a ridge, a
    singular information matrix, or too few residual degrees of freedom): the reported split
    between them is arbitrary."""


class BinaryTraitWarning(ModelWarning):
    """The response takes two values (a 0/1 trait): the linear mixed model estimates h2 on the
    observed 0/1 scale, which depends on the prevalence;
    :meth:`KinshipMixedLMResults.h2_liability` converts it to the liability scale."""


class GenotypeWarning(ValueWarning):
    """Genotypes that were skipped or changed (SNPs without variation, missing codes mapped to
    NaN)."""


class LabelWarning(ValueWarning):
    """Labels (individual IDs) on one input but not on the other: matched by position."""


class DenseKinshipWarning(ModelWarning):
    """A sparse kinship is decomposed through dense blocks that are large (slow, memory
    hungry)."""


class KinshipMemoryError(MemoryError):
    """A dense kinship matrix (the eigendecomposition of its blocks, or the kinship of a large
    connected pedigree) would not fit in the memory available."""
