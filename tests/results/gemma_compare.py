"""Agreement of ``statsmodels_kinship.scan`` with the GEMMA 0.98.5 outputs in this folder.

Usage (from the repository root)::

    python tests/results/gemma_compare.py [SEED_DATA_DIR]   # default: $KINSHIP_SEED_DATA

For each study of ``gemma_scan.py`` prints the largest relative difference, over the SNPs
GEMMA tested, of each quantity:

* ``at optimum``: our scan (ratios converged to 1e-13) against GEMMA's output, with the
  kinship as given and with GEMMA's centred kinship ``P K P`` (``P = I - 11'/n``);
* ``at GEMMA's ratio``: beta, se and Wald p recomputed (GLS, numpy) at GEMMA's printed
  ``l_remle``, which separates GEMMA's optimizer tolerance from the model.

``beta`` differences are relative to ``max(|beta|, se)`` (a relative difference of an effect
near zero says nothing); the others are plain relative differences. The numbers are those of
``gemma_NOTES.md``.
"""
import os
import pathlib
import sys

import numpy as np
import pandas as pd

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from statsmodels_kinship import KinshipMixedLM  # noqa: E402
from statsmodels_kinship.kinship import genomic_relationship_matrix  # noqa: E402
from statsmodels_kinship.scan import scan  # noqa: E402

sys.path.insert(0, str(HERE.parent))
from test_scan import centred, load_data_study, wald_at  # noqa: E402  (the helpers of tests/test_scan.py)


def table(gem, ours, sign, genotypes, null):
    def rel(a, b):
        return float(np.max(np.abs(np.asarray(a) / np.asarray(b) - 1)))

    o = ours.loc[gem.index]
    scale = np.maximum(np.abs(o["beta"]), o["se"])
    row = {"beta": float(np.max(np.abs(sign * o["beta"] - gem["beta"]) / scale)),
           "se": rel(o["se"], gem["se"]), "p_wald": rel(o["p_wald"], gem["p_wald"]),
           "l_remle": rel(o["delta"], gem["l_remle"]), "p_lrt": rel(o["p_lrt"], gem["p_lrt"]),
           "p_score": rel(o["p_score"], gem["p_score"]),
           "l_mle": rel(o["delta_ml"], gem["l_mle"]),
           "logl_H1": rel(o["llf_ml"], gem["logl_H1"])}
    if genotypes is not None:
        beta, se, p = wald_at(null, genotypes, gem["l_remle"])
        row["beta@l"] = float(np.max(np.abs(sign * beta - gem["beta"])
                                     / np.maximum(np.abs(beta), se)))
        row["se@l"] = rel(se, gem["se"])
        row["p_wald@l"] = rel(p, gem["p_wald"])
    return row


def studies(seed_dir):
    seed_dir = pathlib.Path(seed_dir)
    y = pd.read_csv(seed_dir / "phenotype.csv", header=None)[0].to_numpy()
    names = pd.read_csv(seed_dir / "seqsimla" / "data.map", sep=r"\s+", header=None)[1]
    geno = pd.DataFrame(pd.read_csv(seed_dir / "design_matrix.csv", header=None).to_numpy(
        float), columns=names)
    k = pd.read_csv(seed_dir / "kinship_matrix.csv", header=None).to_numpy(float)
    gem = pd.read_csv(HERE / "gemma_seed.assoc.txt", sep="\t",
                      dtype={"allele1": str}).set_index("rs")
    sign = np.where(gem["allele1"] == "2", 1.0, -1.0)  # the seed counts allele "2"

    def fit(kin):
        return KinshipMixedLM(y, np.ones((len(y), 1)), kinship=kin).fit()

    yield "seed", gem, sign, geno, fit(k), fit(centred(k))

    frame, k, geno = load_data_study()

    def fit_data(kin):
        return KinshipMixedLM.from_formula("trait ~ sex", frame, kinship=kin).fit()

    gem = pd.read_csv(HERE / "gemma_data.assoc.txt", sep="\t").set_index("rs")
    yield "data", gem, 1.0, geno, fit_data(k), fit_data(centred(k))

    table_ = pd.read_csv(HERE / "gemma_grm_study.csv.gz", index_col=0)
    snps = pd.read_csv(HERE / "gemma_grm_snps.csv", dtype={"chromosome": str})
    geno = table_.drop(columns="trait")
    const = pd.DataFrame({"const": 1.0}, index=table_.index)
    null = KinshipMixedLM(table_["trait"], const,
                          kinship=genomic_relationship_matrix(geno)).fit()
    gem = pd.read_csv(HERE / "gemma_grm.assoc.txt", sep="\t").set_index("rs")
    yield "grm", gem, 1.0, geno, null, None
    loco = scan(null, geno, loco=True, chromosome=snps["chromosome"])
    for c in "123":
        gem = pd.read_csv(HERE / f"gemma_grm_loco_{c}.assoc.txt", sep="\t").set_index("rs")
        yield f"grm_loco_{c}", gem, 1.0, loco, None, None


def main(seed_dir):
    rows = {}
    for name, gem, sign, geno, null, null_c in studies(seed_dir):
        if null is None:  # LOCO: the scan is given
            rows[f"{name} (K as given)"] = table(gem, geno, sign, None, None)
            continue
        ours = scan(null, geno)
        rows[f"{name} (K as given)"] = table(gem, ours, sign, geno[gem.index], null)
        if null_c is not None:
            rows[f"{name} (GEMMA's P K P)"] = table(gem, scan(null_c, geno), sign, None, None)
    frame = pd.DataFrame(rows).T
    with pd.option_context("display.width", 200, "display.float_format", "{:.1e}".format):
        print(frame.to_string(na_rep="-"))


if __name__ == "__main__":
    seed = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("KINSHIP_SEED_DATA")
    if not seed:
        sys.exit("give the seed-data folder as argument or in $KINSHIP_SEED_DATA")
    main(seed)
