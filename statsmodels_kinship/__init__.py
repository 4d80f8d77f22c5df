"""statsmodels-kinship: linear mixed models with a known kinship matrix for statsmodels."""
from .api import (  # noqa: F401
    KinshipBootstrapResults,
    KinshipMixedLM,
    KinshipMixedLMResults,
    genomic_inflation,
    genomic_relationship_matrix,
    individual_labels,
    compare_lr_test,
    kinship_from_pedigree,
    kinship_variance_test,
    manhattan_plot,
    parametric_bootstrap,
    profile_conf_int,
    qq_plot,
    read_gcta_grm,
    read_phenotype,
    read_plink_bed,
    read_plink_ped,
    read_study_csv,
    satterthwaite_df,
    seed_pedigree,
    seed_study_parameters,
    simulate_family_study,
)

__version__ = "0.1.0.dev0"
