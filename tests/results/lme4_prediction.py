"""Write the input of ``lme4_prediction.R`` (issue 11: predictions of unphenotyped relatives):
the project's family study (``data/``) with one child per family marked as held out.

Usage (from the repository root)::

    python tests/results/lme4_prediction.py     # then: Rscript tests/results/lme4_prediction.R

Writes ``lme4_prediction_data.csv`` beside this script: one row per person of
``data/pedigree.csv`` (1200 people, 100 families of 12, in the pedigree's order, parents before
their offspring) with the columns

``individual, family, father, mother, household``
    as in ``data/pedigree.csv`` (``"0"`` for an unknown parent);
``held_out``
    1 for the person whose phenotype the fits leave out (treated as unphenotyped), else 0:
    one child (a person with known parents) per family, drawn by
    ``numpy.random.default_rng(SEED)``, 100 in all;
``trait, SNP1, SNP3, SNP5, SNP11``
    the phenotype (``%.6f``, as in ``data/phenotype.csv``, so it reads back to the same
    double) and the genotypes of the four causal SNPs, also for the held-out people (whose
    trait the fits do not use).

The file is plain CSV with "\\n" line endings; ``tests/test_prediction_lme4.py`` checks that it
equals, byte for byte, what :func:`prediction_table` writes now from ``data/``.
"""
import pathlib

import numpy as np

from statsmodels_kinship.simulate import read_study_csv

HERE = pathlib.Path(__file__).resolve().parent
DATA = HERE.parents[1] / "data"
SEED = 20240611
SNPS = ["SNP1", "SNP3", "SNP5", "SNP11"]
OUTPUT = "lme4_prediction_data.csv"


def prediction_table(data_dir=DATA):
    """The table written to ``lme4_prediction_data.csv`` (a DataFrame, pedigree order)."""
    ped, geno, phe, _ = read_study_csv(data_dir)
    table = ped[["individual", "family", "father", "mother", "household"]].copy()
    children = table[table["father"] != "0"]
    rng = np.random.default_rng(SEED)
    held = [rng.choice(np.sort(grp["individual"].to_numpy()))
            for _, grp in children.groupby("family", sort=True)]
    table["held_out"] = table["individual"].isin(held).astype(int)
    ids = table["individual"]
    table["trait"] = phe.loc[ids, "trait"].to_numpy()
    for snp in SNPS:
        table[snp] = geno.loc[ids, snp].to_numpy()
    return table.reset_index(drop=True)


def write_prediction_csv(folder=HERE, data_dir=DATA):
    """Write ``lme4_prediction_data.csv`` to ``folder``; returns its path."""
    path = pathlib.Path(folder) / OUTPUT
    prediction_table(data_dir).to_csv(path, index=False, lineterminator="\n",
                                      float_format="%.6f")
    return path


if __name__ == "__main__":
    print(f"wrote {write_prediction_csv()}")
