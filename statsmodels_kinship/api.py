"""Public names of statsmodels-kinship.

``import statsmodels_kinship as smk`` and ``import statsmodels_kinship.api as smk`` give the same
names (``__all__`` below), as ``statsmodels.api`` does for statsmodels.

The genome-wide association scan is the method ``results.scan(genotypes)`` of a fitted null
model, or the function ``smk.scan_genotypes(results, genotypes)`` (the same function as
``statsmodels_kinship.scan.scan``). ``smk.scan`` is the module that holds it (with
``genomic_inflation``), as ``statsmodels.regression`` is a module, not a model.
"""
from ._prediction import KinshipPredictionResults
from .bootstrap import KinshipBootstrapResults, parametric_bootstrap
from .cross_validation import CrossValidationResults, cross_validate
from .exceptions import (
    BinaryTraitWarning,
    DenseKinshipWarning,
    GenotypeWarning,
    IdentifiabilityWarning,
    KinshipMemoryError,
    LabelWarning,
)
from .inference import (
    LikelihoodRatioTestResults,
    compare_lr_test,
    kinship_variance_test,
    variance_component_test,
    profile_conf_int,
    satterthwaite_df,
    f_test_satterthwaite,
    t_test_satterthwaite,
)
from .io import read_gcta_grm, read_phenotype, read_plink_bed, read_plink_ped
from .kinship import (
    InverseRelationship,
    SparseKinship,
    genomic_relationship_matrix,
    individual_labels,
    inverse_relationship_matrix,
    kinship_from_pedigree,
)
from .kinship_mixed_model import (
    KinshipMixedLM,
    KinshipMixedLMResults,
)
from .plotting import manhattan_plot, qq_plot
# the function under a name of its own: ``smk.scan`` stays the module (renaming the function
# there would break ``from statsmodels_kinship.scan import scan``, binding it to ``smk.scan``
# would make ``import statsmodels_kinship.scan as m`` return the function)
from .scan import genomic_inflation
from .scan import scan as scan_genotypes
from .simulate import (
    FamilyStudy,
    StudyTables,
    household_labels,
    read_study_csv,
    replicate_pedigree,
    seed_pedigree,
    seed_study_parameters,
    simulate_dairy_herd,
    simulate_family_study,
)

__all__ = [
    # the model
    "KinshipMixedLM", "KinshipMixedLMResults",
    # inference
    "KinshipBootstrapResults", "LikelihoodRatioTestResults", "compare_lr_test",
    "kinship_variance_test", "variance_component_test", "parametric_bootstrap",
    "profile_conf_int", "satterthwaite_df",
    "f_test_satterthwaite", "t_test_satterthwaite",
    # prediction
    "KinshipPredictionResults", "CrossValidationResults", "cross_validate",
    # genetics toolkit
    "genomic_relationship_matrix", "individual_labels", "inverse_relationship_matrix",
    "kinship_from_pedigree", "InverseRelationship", "SparseKinship",
    # association scans and their figures
    "genomic_inflation", "manhattan_plot", "qq_plot", "scan_genotypes",
    # reading and simulating data
    "FamilyStudy", "StudyTables", "household_labels", "read_gcta_grm", "read_phenotype",
    "read_plink_bed", "read_plink_ped", "read_study_csv", "replicate_pedigree", "seed_pedigree",
    "seed_study_parameters", "simulate_dairy_herd", "simulate_family_study",
    # warnings and errors
    "BinaryTraitWarning", "DenseKinshipWarning", "GenotypeWarning", "IdentifiabilityWarning",
    "KinshipMemoryError", "LabelWarning",
]
