"""Public names of statsmodels-kinship."""
from .bootstrap import KinshipBootstrapResults, parametric_bootstrap  # noqa: F401
from .exceptions import (  # noqa: F401
    DenseKinshipWarning,
    GenotypeWarning,
    IdentifiabilityWarning,
    KinshipMemoryError,
    LabelWarning,
)
from .inference import (  # noqa: F401
    LikelihoodRatioTestResults,
    compare_lr_test,
    kinship_variance_test,
    profile_conf_int,
    satterthwaite_df,
    t_test_satterthwaite,
)
from .io import read_gcta_grm, read_phenotype, read_plink_bed, read_plink_ped  # noqa: F401
from .kinship import (  # noqa: F401
    genomic_relationship_matrix,
    individual_labels,
    inverse_relationship_matrix,
    kinship_from_pedigree,
)
from .kinship_mixed_model import (  # noqa: F401
    KinshipMixedLM,
    KinshipMixedLMResults,
)
from .plotting import manhattan_plot, qq_plot  # noqa: F401
# the scan itself: results.scan(...) or statsmodels_kinship.scan.scan (the module keeps its name)
from .scan import genomic_inflation  # noqa: F401
from .simulate import (  # noqa: F401
    FamilyStudy,
    StudyTables,
    read_study_csv,
    replicate_pedigree,
    seed_pedigree,
    seed_study_parameters,
    simulate_family_study,
)
