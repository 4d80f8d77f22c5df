"""statsmodels-kinship: linear mixed models with a known kinship matrix for statsmodels."""
from .api import (  # noqa: F401
    KinshipMixedLM,
    KinshipMixedLMResults,
    genomic_relationship_matrix,
    individual_labels,
    kinship_from_pedigree,
    read_phenotype,
    read_plink_bed,
    read_plink_ped,
    seed_pedigree,
    seed_study_parameters,
    simulate_family_study,
)

__version__ = "0.1.0.dev0"
