"""Redo the blog's analysis of the seed study, then the correct one, and show what changed.

Usage::

    python examples/seed_reanalysis.py PATH_TO_SEED_DATA   # e.g. ../shared/seed-data

The blog (Ruby gem ``mixed_models``) fitted y = X b + g + e with Cov(g) = s^2 theta^2 K. Three
things went wrong there, and this script shows each:

1. its design matrix was built wrong: a *row* of ones was prepended to the genotype rows and
   the flat list reshaped, so the "Intercept" and SNP columns are scrambled;
2. its optimizer stopped early (theta = 2.508 is not the REML optimum);
3. the printed "variance due to family relatedness" theta^2/2 is a variance *ratio*.

The correct analysis uses [1, genotypes], which has rank 25 of 131 (SNPs in perfect LD):
the aliased SNPs are detected and reported, not silently given numbers.

Then the seed's shared environment: SeqSIMLA simulated the trait with environmental
correlations between spouses, parents and offspring, and siblings, which a kinship-only model
takes for heritability. A household component (each couple with its children,
``household_labels`` on the seed pedigree: the households of
``tests/results/lme4_seed_household.R``) separates them; the fit of ``trait ~ SNP1 + SNP3 +
SNP5`` with kinship and household is lme4's (``tests/results/lme4_seed_household.json``).
"""
import argparse
import pathlib
import time
import warnings

import numpy as np
import pandas as pd
from statsmodels.tools.sm_exceptions import CollinearityWarning

from statsmodels_kinship import (KinshipMixedLM, household_labels, kinship_from_pedigree,
                                 read_plink_ped)

#: the files of the seed data that this script reads
SEED_FILES = ["phenotype.csv", "design_matrix.csv", "kinship_matrix.csv", "seqsimla/data1.ped",
              "seqsimla/data.map"]
PUBLISHED = {"theta": 2.508012294769287, "criterion": 3919.756682815396,
             "sigma2": 0.3189292035466212}


def load(seed_dir):
    seed_dir = pathlib.Path(seed_dir)
    y = pd.read_csv(seed_dir / "phenotype.csv", header=None)[0].to_numpy()
    D = pd.read_csv(seed_dir / "design_matrix.csv", header=None).to_numpy(float)
    K = pd.read_csv(seed_dir / "kinship_matrix.csv", header=None).to_numpy(float)
    return seed_dir, y, D, K


def significant(res, alpha=0.05):
    p = res.pvalues.drop("Intercept", errors="ignore").dropna()
    return list(p.index[p < alpha])


def main(seed_dir):
    seed_dir, y, D, K = load(seed_dir)
    n, m = D.shape
    names = ["Intercept"] + [f"SNP{j + 1}" for j in range(m)]
    y = pd.Series(y, name="trait")

    print("== 1. The blog's analysis, reproduced ==")
    blog = np.concatenate([np.ones(n), D.ravel()]).reshape(n, m + 1)
    print(f"its design: rows 1-9 are all ones, row 10 has {int((blog[9] == 1).sum())} ones; "
          f"column 'Intercept' is constant: {np.ptp(blog[:, 0]) == 0}")
    start = time.perf_counter()
    blog_model = KinshipMixedLM(y, pd.DataFrame(blog, columns=names), kinship=K)
    at_theta = blog_model.fit(kinship_ratio=PUBLISHED["theta"] ** 2)
    print(f"at the published theta {PUBLISHED['theta']}: REML criterion "
          f"{-2 * at_theta.llf:.9f} (published {PUBLISHED['criterion']:.9f}), "
          f"s^2 {at_theta.scale:.8f} (published {PUBLISHED['sigma2']:.8f})")
    print(f"SNPs with Wald p < 0.05 ({len(significant(at_theta))}, the blog lists 25): "
          f"{', '.join(significant(at_theta))}")
    optimum = blog_model.fit()
    print(f"REML optimum on the same design: theta {optimum.theta:.6f}, criterion "
          f"{-2 * optimum.llf:.6f}, {-2 * (at_theta.llf - optimum.llf):.3f} lower than "
          f"the published fit: the gem stopped early "
          f"({time.perf_counter() - start:.3f} s for both fits here)")
    print(f"the blog's 'variance due to family relatedness' theta^2/2 = "
          f"{PUBLISHED['theta'] ** 2 / 2:.4f} is s_k^2/s_e^2 times the kinship diagonal; the "
          f"kinship variance at its theta is s^2 theta^2 = {at_theta.vcomp['kinship']:.4f}")

    print("\n== 2. The correct analysis ==")
    ped = read_plink_ped(seed_dir / "seqsimla" / "data1.ped", seed_dir / "seqsimla" / "data.map",
                         count="2")
    kin = kinship_from_pedigree(ped.pedigree)
    print(f"kinship from data1.ped equals kinship2's matrix: "
          f"{np.array_equal(kin.to_numpy(), K)}; genotypes counted as allele '2' equal "
          f"design_matrix.csv: {np.array_equal(ped.genotypes.to_numpy(float), D)}")
    geno = ped.genotypes.set_axis(names[1:], axis=1)  # data.map's snp1.. as SNP1..
    df = geno.assign(trait=y.to_numpy())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", CollinearityWarning)
        model = KinshipMixedLM.from_formula("trait ~ " + " + ".join(geno.columns),
                                            data=df, kinship=kin)
    print(f"design [1, genotypes]: rank {model.rank} of {len(model.exog_names)}; "
          + (str(caught[0].message) if caught else "no aliased columns"))
    res = model.fit()
    print(res.summary().tables[0].to_string(header=False, index=False))
    kept = ~res.aliased
    table = pd.DataFrame({"coef": res.params[kept], "std err": res.bse[kept],
                          "P>|z|": res.pvalues[kept]})
    print(f"\nthe {int(kept.sum())} estimable coefficients:\n{table.round(4).to_string()}")
    print(f"\nkinship variance s_k^2 = {res.vcomp['kinship']:.4f} (SE "
          f"{res.bse_vcomp['kinship']:.4f}), residual s_e^2 = {res.vcomp['residual']:.4f} (SE "
          f"{res.bse_vcomp['residual']:.4f}), h2 = {res.h2:.3f} (SE {res.bse_h2:.3f})")
    hits = significant(res)
    print(f"SNPs with Wald p < 0.05 among the {model.rank - 1} estimable ones: "
          f"{', '.join(hits) if hits else 'none'}")
    causal = ["SNP1", "SNP3", "SNP5", "SNP11"]
    print("causal SNPs: " + ", ".join(
        f"{s} " + ("aliased" if res.aliased[s] else f"p = {res.pvalues[s]:.3g}")
        for s in causal))
    print("\nWhat changed: the blog's significant set came from a scrambled design at a "
          "non-optimal theta; with the right design most SNPs are not separately estimable "
          "(perfect LD), and the estimable ones are tested at the REML optimum.")

    print("\n== 3. Kinship and household ==")
    households = seed_households(ped.pedigree)
    df = df.assign(household=households)
    formula = "trait ~ SNP1 + SNP3 + SNP5"  # lme4_seed_household.R's fixed effects
    kin_only = KinshipMixedLM.from_formula(formula, data=df, kinship=kin).fit()
    both = KinshipMixedLM.from_formula(formula, data=df, kinship=kin,
                                       vc_formula={"household": "0 + C(household)"}).fit()
    print(f"{households.nunique()} households (each couple with its children; sizes "
          f"{', '.join(map(str, sorted(households.value_counts().unique())))})")
    print(both.summary().tables[2].to_string())
    shares = both.variance_shares
    print(f"kinship only: h2 = {kin_only.h2:.3f} (SE {kin_only.bse_h2:.3f}); kinship + "
          f"household: h2 = {shares.loc['kinship', 'share']:.3f} (SE "
          f"{shares.loc['kinship', 'std. error']:.3f}), c2 = "
          f"{shares.loc['household', 'share']:.3f} (SE "
          f"{shares.loc['household', 'std. error']:.3f}); REML log-likelihood "
          f"{kin_only.llf:.3f} -> {both.llf:.3f}")
    print("The seed's heritability was mostly shared environment: SeqSIMLA's spouse, "
          "parent-offspring and sibling correlations, which a household effect approximates.")


def seed_households(pedigree):
    """Households of the seed pedigree (``household_labels``: each couple with its
    children), labelled ``<family>_<father>x<mother>`` as in lme4_seed_household.R.

    ``data1.ped`` numbers individuals within families; the IDs are made unique across
    families (``<family>_<individual>``, the index of ``read_plink_ped``'s tables) first.
    """
    def unique(column):
        return np.where(pedigree[column] == "0", "0",
                        pedigree["family"] + "_" + pedigree[column])

    return household_labels(pedigree.assign(individual=unique("individual"),
                                            father=unique("father"), mother=unique("mother")))


def parse_args(argv=None):
    """The seed data folder named on the command line, checked to hold the files read here
    (a wrong path ends in a one-line message and exit status 2, as argparse's errors)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("seed_dir", help="folder of the seed data, e.g. ../shared/seed-data")
    seed_dir = pathlib.Path(parser.parse_args(argv).seed_dir)
    if not seed_dir.is_dir():
        parser.exit(2, f"{parser.prog}: error: seed data folder {str(seed_dir)!r} does not "
                       "exist (give the folder of the seed data, e.g. ../shared/seed-data)\n")
    missing = [f for f in SEED_FILES if not (seed_dir / f).is_file()]
    if missing:
        parser.exit(2, f"{parser.prog}: error: {str(seed_dir)!r} is not the seed data folder: "
                       f"it lacks {', '.join(missing)}\n")
    return seed_dir


if __name__ == "__main__":
    main(parse_args())
