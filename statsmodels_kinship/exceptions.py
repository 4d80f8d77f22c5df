"""Warnings of statsmodels-kinship that have no counterpart in ``statsmodels.tools.sm_exceptions``.

Each is a subclass of the statsmodels warning it refines, so that filters written for statsmodels
(``warnings.simplefilter("ignore", ModelWarning)``) apply to them as well.
"""
from statsmodels.tools.sm_exceptions import ModelWarning, ValueWarning

__all__ = ["IdentifiabilityWarning", "GenotypeWarning", "LabelWarning", "DenseKinshipWarning",
           "KinshipMemoryError"]


class IdentifiabilityWarning(ModelWarning):
    """The data cannot separate the variance components (a flat likelihood along a ridge, a
    singular information matrix, or too few residual degrees of freedom): the reported split
    between them is arbitrary."""


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
