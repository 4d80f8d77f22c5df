"""simulate_family_study's polygenic component and households (issue 10).

Oracles independent of the simulator's own code paths: the kinship matrix of
:func:`~statsmodels_kinship.kinship.kinship_from_pedigree` (the tabular method; the simulator
drops Mendelian sampling terms with inbreeding coefficients from Colleau's method), the
household labels that R computed for the seed pedigree (``tests/results/lme4_seed_household.json``,
made by ``lme4_seed_household.R``) and hand-made pedigrees. Statistical checks use many
independent replicate families, with tolerances of 4.5 standard errors estimated from them.
"""
import json
import pathlib

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from statsmodels_kinship.kinship import kinship_from_pedigree
from statsmodels_kinship.simulate import (
    household_labels,
    read_study_csv,
    replicate_pedigree,
    seed_pedigree,
    seed_study_parameters,
    simulate_family_study,
)

RESULTS = pathlib.Path(__file__).resolve().parent / "results"
Z = 4.5  # tolerance in standard errors

# Full-sib matings over four generations (inbreeding 0, 0, 1/4, 3/8, then 1/2 for 9 and
# 10), and an outcross of 7 with the founder 11 (child 12, not inbred, half-sib of 9, 10).
INBRED = pd.DataFrame({
    "individual": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
    "father": [0, 0, 1, 1, 3, 3, 5, 5, 7, 7, 0, 7],
    "mother": [0, 0, 2, 2, 4, 4, 6, 6, 8, 8, 0, 11],
    "sex": [1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 2, 2],
})


def _one_trait(pedigree, seed, **kwargs):
    """A study with one SNP (cheap genotypes) and only the requested components."""
    return simulate_family_study(pedigree, n_snps=1, seed=seed, **kwargs)


# -------------------------------------------------------------------------------------------
# Polygenic component
# -------------------------------------------------------------------------------------------

def test_polygenic_covariance_is_the_relationship_matrix_in_an_inbred_pedigree():
    n_fam, s = 2500, len(INBRED)
    study = _one_trait(replicate_pedigree(INBRED, n_fam), seed=1, polygenic=0.6,
                       total_variance=2.5)
    scale = 0.6 * 2.5
    a = study.components["polygenic"].to_numpy().reshape(n_fam, s) / np.sqrt(scale)
    K = kinship_from_pedigree(replicate_pedigree(INBRED, 1)).to_numpy()
    A = 2 * K
    F = np.diag(A) - 1
    assert_allclose(F[[4, 6, 8, 9, 11]], [0.25, 0.375, 0.5, 0.5, 0.0])  # the oracle's
    products = a[:, :, None] * a[:, None, :]                 # mean 0: no centring needed
    emp = products.mean(axis=0)
    se = products.std(axis=0, ddof=1) / np.sqrt(n_fam)
    assert (np.abs(emp - A) < Z * se).all(), np.round((emp - A) / se, 1)
    assert (np.abs(a.mean(axis=0)) < Z * np.sqrt(np.diag(A) / n_fam)).all()
    # Mendelian sampling terms: variance (1 - (F_f + F_m) / 2) / 2, e.g. 0.3125 for 9 and
    # 10 (parents 7 and 8 with F = 3/8), not 1/2 as without inbreeding
    kids = np.flatnonzero(INBRED["father"] > 0)
    pos = {v: i for i, v in enumerate(INBRED["individual"])}
    f = INBRED["father"].iloc[kids].map(pos).to_numpy(dtype=int)
    m = INBRED["mother"].iloc[kids].map(pos).to_numpy(dtype=int)
    resid = a[:, kids] - (a[:, f] + a[:, m]) / 2
    want = (1 - (F[f] + F[m]) / 2) / 2
    assert_allclose(want[kids == 8], 0.3125)
    sq = resid ** 2
    assert (np.abs(sq.mean(axis=0) - want) < Z * sq.std(axis=0, ddof=1) / np.sqrt(n_fam)).all()
    assert study.expected_variance["polygenic"] == pytest.approx(scale)


def test_polygenic_changes_no_other_draw_and_adds_to_the_trait():
    params = {**seed_study_parameters(n_families=5), "causal": {"SNP1": 0.1, "SNP11": 0.1}}
    base = simulate_family_study(**params, seed=3)
    both = simulate_family_study(**params, seed=3, polygenic=0.25, household=0.15)
    pd.testing.assert_frame_equal(base.genotypes, both.genotypes)
    for col in ("genetic", "shared_env"):
        pd.testing.assert_series_equal(base.components[col], both.components[col])
    e_base, e_both = 1 - 0.2 - 0.35, 1 - 0.2 - 0.35 - 0.25 - 0.15
    assert_allclose(both.components["individual_env"],
                    base.components["individual_env"] * np.sqrt(e_both / e_base), rtol=1e-12)
    assert list(both.components.columns) == ["genetic", "polygenic", "shared_env",
                                             "household", "individual_env"]
    assert_allclose(both.components.sum(axis=1) + 10.0, both.phenotype, atol=1e-12)
    ev = both.expected_variance
    assert list(ev.index) == ["SNP1", "SNP11", "genetic", "polygenic", "shared_env",
                              "household", "individual_env", "total"]
    assert_allclose(ev[["polygenic", "household", "individual_env"]], [0.25, 0.15, e_both],
                    rtol=1e-12)
    assert ev["total"] == pytest.approx(ev["genetic"] + 0.25 + 0.35 + 0.15 + e_both)


def test_defaults_add_no_column():
    study = simulate_family_study(**seed_study_parameters(n_families=2), seed=4)
    assert "household" not in study.pedigree.columns
    assert list(study.components.columns) == ["genetic", "shared_env", "individual_env"]
    assert "polygenic" not in study.expected_variance.index
    zero = simulate_family_study(**seed_study_parameters(n_families=2), seed=4, polygenic=0.0,
                                 household=0.0)
    assert (zero.components[["polygenic", "household"]] == 0).all().all()
    assert_allclose(zero.phenotype, study.phenotype, rtol=0, atol=1e-15)
    assert zero.pedigree["household"].nunique() == 6


# -------------------------------------------------------------------------------------------
# Households
# -------------------------------------------------------------------------------------------

def _seed_pedigree_with_reference_ids(ids):
    """The seed pedigree with the reference's IDs ``DFAMS<k>_<i>``, rows in its order."""
    one = seed_pedigree()
    n_fam = len(ids) // len(one)
    rows = []
    for k in range(1, n_fam + 1):
        fam = f"DFAMS{k}"

        def label(i, fam=fam):
            return "0" if i == 0 else f"{fam}_{i}"

        rows += [(fam, label(r.individual), label(r.father), label(r.mother), r.sex)
                 for r in one.itertuples()]
    return pd.DataFrame(rows, columns=["family", "individual", "father", "mother", "sex"])


def test_households_equal_the_lme4_reference_labels():
    ref = json.loads((RESULTS / "lme4_seed_household.json").read_text())["data"]
    ped = _seed_pedigree_with_reference_ids(ref["id"])
    assert ped["individual"].tolist() == ref["id"]  # the IDs line up, row by row
    assert household_labels(ped).tolist() == ref["household"]
    study = _one_trait(ped, seed=0, household=0.3)
    assert study.pedigree["household"].tolist() == ref["household"]
    assert study.pedigree["household"].nunique() == ref["n_households"] == 300


def test_household_rule_with_remarriage_and_childless_founders():
    # 1 has children with 2 (first child 5) and with 3 (child 6); 4 is a childless
    # founder; 5 and the married-in 8 have 9
    ped = pd.DataFrame({
        "family": "A",
        "individual": ["1", "2", "3", "4", "5", "6", "8", "9"],
        "father": ["0", "0", "0", "0", "1", "1", "0", "5"],
        "mother": ["0", "0", "0", "0", "2", "3", "0", "8"],
        "sex": [1, 2, 2, 1, 1, 2, 2, 1],
    })
    want = {"1": "A_1x2", "2": "A_1x2", "3": "A_1x3", "4": "A_4", "5": "A_5x8", "6": "A_1x3",
            "8": "A_5x8", "9": "A_5x8"}
    assert household_labels(ped).to_dict() == want
    # the parent in two couples joins the couple of his first child in row order
    swapped = household_labels(ped.iloc[[0, 1, 2, 3, 5, 4, 6, 7]])
    assert swapped["1"] == "A_1x3" and swapped["2"] == "A_1x2"


def test_household_labels_drop_the_family_prefix_only_when_unambiguous():
    ped = replicate_pedigree(seed_pedigree(), 2)
    hh = household_labels(ped)
    assert hh["F002_04"] == "F002_03x04" and hh["F002_01"] == "F002_02x01"
    # "F_2" and "2" in family F would both become F_2: the IDs are kept as they are
    clash = pd.DataFrame({"family": "F", "individual": ["F_2", "2"], "father": "0",
                          "mother": "0", "sex": [1, 2]})
    assert household_labels(clash).tolist() == ["F_F_2", "F_2"]


def test_household_effects_are_shared_within_households_with_the_right_variance():
    n_fam, frac, V = 1500, 0.4, 2.0
    study = _one_trait(replicate_pedigree(seed_pedigree(), n_fam), seed=7, household=frac,
                       total_variance=V)
    effect = study.components["household"]
    hh = study.pedigree.set_index("individual")["household"]
    assert (effect.groupby(hh).nunique() == 1).all()
    per_household = effect.groupby(hh).first().to_numpy()
    assert len(per_household) == 3 * n_fam
    se = frac * V * np.sqrt(2 / len(per_household))
    assert abs(per_household.var() - frac * V) < Z * se
    assert abs(per_household.mean()) < Z * np.sqrt(frac * V / len(per_household))
    assert study.expected_variance["household"] == pytest.approx(frac * V)
    assert_allclose(study.components.sum(axis=1), study.phenotype, atol=1e-12)


def test_to_csv_and_read_study_csv_carry_households(tmp_path):
    study = simulate_family_study(**seed_study_parameters(n_families=3), seed=5,
                                  household=0.05)
    study.to_csv(tmp_path / "hh")
    ped, _, phe, _ = read_study_csv(tmp_path / "hh")
    pd.testing.assert_frame_equal(ped, study.pedigree.astype(str))
    assert list(phe.columns) == ["family", "trait", "household"]
    assert_array_equal(phe["household"], study.pedigree["household"])
    plain = simulate_family_study(**seed_study_parameters(n_families=3), seed=5)
    plain.to_csv(tmp_path / "plain")
    ped, _, phe, _ = read_study_csv(tmp_path / "plain")  # files without households
    assert "household" not in ped.columns and list(phe.columns) == ["family", "trait"]


# -------------------------------------------------------------------------------------------
# Validation
# -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, error, match", [
    ({"polygenic": -0.1}, ValueError, r"polygenic must be a number in \[0, 1\], got -0\.1"),
    ({"household": 1.5}, ValueError, r"household must be a number in \[0, 1\], got 1\.5"),
    ({"household": True}, TypeError, r"household must be a number in \[0, 1\].*got True"),
    ({"polygenic": "0.2"}, ValueError, r"polygenic must be a number"),
    ({"polygenic": 0.4, "household": 0.2}, ValueError,
     r"causal SNPs \(0\.5\), the shared environment \(0\), the polygenic component "
     r"\(polygenic=0\.4\) and the household effect \(household=0\.2\) explain 1\.1 > 1"),
])
def test_fractions_are_validated(kwargs, error, match):
    with pytest.raises(error, match=match):
        simulate_family_study(replicate_pedigree(seed_pedigree(), 1), n_snps=3,
                              causal={"SNP1": 0.5}, **kwargs)
