"""Main demo: a family SNP study analysed with OLS, MixedLM and KinshipMixedLM.

Runs on the project's own simulated data in ``data/`` (regenerate with
``python data/make_data.py``): 100 families of 12 with the seed study's pedigree, 130 SNPs,
one quantitative trait. It

1. builds the kinship matrix from the pedigree (``kinship_from_pedigree``),
2. fits the causal-SNP model ``trait ~ SNP1 + SNP3 + SNP5 + SNP11`` by OLS, by statsmodels
   MixedLM with a random intercept per family, and by KinshipMixedLM, and prints them side by
   side (``summary_col``),
3. prints the KinshipMixedLM summary with the variance components and h2, then Wald and
   parametric-bootstrap intervals, a profile-likelihood interval for h2 and the
   likelihood-ratio test of zero kinship variance,
4. fits all 130 SNPs at once and reports the aliased SNPs (perfect linkage disequilibrium) and
   the SNPs with Wald p < 0.05,
5. scans the SNPs one at a time (``results.scan``, the per-SNP tests of GEMMA's -lmm 4),
6. writes a figure of the coefficient estimates with 95% intervals for the three models and
   a Manhattan plot of the scan.

Usage::

    python examples/family_snp_study.py [OUTPUT_DIR]   # default examples/output

``make demo`` writes the figures to ``docs/images/``, where the README shows them.
"""
import pathlib
import sys
import time
import warnings

import numpy as np
import pandas as pd
import statsmodels.api as sm
from statsmodels.iolib.summary2 import summary_col
from statsmodels.tools.sm_exceptions import CollinearityWarning

from statsmodels_kinship import (KinshipMixedLM, kinship_from_pedigree, manhattan_plot,
                                 read_study_csv)

DATA = pathlib.Path(__file__).resolve().parent.parent / "data"
CAUSAL = ["SNP1", "SNP3", "SNP5", "SNP11"]


def coefficient_figure(fits, names, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.3), layout="constrained")
    offsets = np.linspace(-0.2, 0.2, len(fits))
    for offset, (label, res) in zip(offsets, fits.items()):
        ci = res.conf_int().loc[names]
        est = res.params[names]
        ax.errorbar(np.arange(len(names)) + offset, est, fmt="o", label=label,
                    yerr=[est - ci.iloc[:, 0], ci.iloc[:, 1] - est], capsize=3)
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_xticks(np.arange(len(names)), names)
    ax.set_ylabel("effect on the trait (95% interval)")
    ax.set_title("Causal SNPs: OLS ignores relatedness, MixedLM only families")
    # one row below the axes: a legend inside would cover intervals
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncol=len(fits),
               frameon=False)
    fig.savefig(path, dpi=120, metadata={"Software": None})  # the same bytes on every run
    plt.close(fig)


def scan_figure(scan, snp_map, path):
    """Manhattan plot of the per-SNP scan, positions from the SNP map."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = manhattan_plot(scan.join(snp_map[["chromosome", "position"]]), "p_wald",
                         figsize=(7, 3.6), title="data/: per-SNP scan (exact, Wald test)")
    fig.savefig(path, dpi=120, metadata={"Software": None})
    plt.close(fig)


def main(out_dir):
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    pedigree, genotypes, phenotype, snp_map = read_study_csv(DATA)
    df = phenotype.join(genotypes)  # indexed by individual: family, trait, SNP1, ...
    kinship = kinship_from_pedigree(pedigree)
    print(f"{len(df)} individuals in {df['family'].nunique()} families, "
          f"{df.filter(like='SNP').shape[1]} SNPs; kinship from the pedigree: "
          f"{kinship.shape[0]} x {kinship.shape[1]}, mean diagonal "
          f"{np.mean(np.diag(kinship)):.3f}\n")

    formula = "trait ~ " + " + ".join(CAUSAL)
    ols = sm.OLS.from_formula(formula, data=df).fit()
    mixed = sm.MixedLM.from_formula(formula, groups="family", data=df).fit(reml=True)
    kin = KinshipMixedLM.from_formula(formula, data=df, kinship=kinship).fit()
    fits = {"OLS": ols, "MixedLM (family)": mixed, "KinshipMixedLM": kin}
    # KinshipMixedLM's rows (variance components and h2, "estimate (SE)") are its
    # default_model_infos; merged here with a row of our own (MixedLM's family variance is
    # one of its params: "family Var")
    print(summary_col(list(fits.values()), model_names=list(fits), stars=True,
                      regressor_order=["Intercept"] + CAUSAL + ["family Var"],
                      drop_omitted=True,
                      info_dict={**kin.default_model_infos, "N": lambda r: f"{int(r.nobs)}"}))
    print()
    print(kin.summary())

    boot = kin.bootstrap(nsim=1000, seed=1, progress=False)
    intervals = pd.concat(
        {name: ci.set_axis(["lower", "upper"], axis=1)
         for name, ci in [("Wald", kin.conf_int()),
                          ("studentized bootstrap", boot.conf_int(method="studentized")),
                          ("percentile bootstrap", boot.conf_int(method="percentile"))]},
        axis=1)
    print(f"\n95% intervals, Wald and from {len(boot.params)} parametric bootstrap replicates "
          f"({boot.n_failed} failed):\n{intervals.round(3).to_string()}")
    profile = kin.profile_conf_int()
    test = kin.kinship_variance_test()
    print(f"h2 = {kin.h2:.3f}: Wald SE {kin.bse_h2:.3f}, profile-likelihood 95% interval "
          f"({profile.loc['h2', 'lower']:.3f}, {profile.loc['h2', 'upper']:.3f}); "
          f"LR test of s_k^2 = 0 (50:50 chi2 mixture): LR = {test.statistic:.1f}, "
          f"p = {test.pvalue:.2g}")

    snps = [c for c in df.columns if c.startswith("SNP")]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", CollinearityWarning)
        full = KinshipMixedLM.from_formula("trait ~ " + " + ".join(snps), data=df,
                                           kinship=kinship).fit()
    aliased = list(full.params.index[full.aliased])
    print(f"\nAll {len(snps)} SNPs in one model: rank {full.model.rank} of "
          f"{len(full.params)} columns; aliased (perfect LD with earlier SNPs): "
          f"{', '.join(aliased) if aliased else 'none'}")
    for w in caught:
        print(f"  warning: {w.message}")
    hits = full.pvalues.drop("Intercept").dropna()
    hits = hits[hits < 0.05].sort_values()
    print(f"SNPs with Wald p < 0.05: {', '.join(hits.index)}")
    print(f"causal SNPs {', '.join(CAUSAL)}: p = "
          + ", ".join(f"{full.pvalues[s]:.3g}" for s in CAUSAL))
    print(f"variance components: s_k^2 = {full.vcomp['kinship']:.3f}, "
          f"s_e^2 = {full.vcomp['residual']:.3f}, h2 = {full.h2:.3f} (SE {full.bse_h2:.3f})")

    null = KinshipMixedLM.from_formula("trait ~ 1", data=df, kinship=kinship).fit()
    scan = null.scan(df[snps])  # each SNP added in turn to trait ~ 1 (examples/gwas_scan.py)
    rank = scan["p_wald"].rank(method="min")
    print(f"\nPer-SNP scan (each SNP with its own variance ratio; Wald, LR and score tests as "
          f"GEMMA -lmm 4), {(scan['flag'] == 'ok').sum()} SNPs tested; smallest Wald p:")
    print(scan.nsmallest(5, "p_wald")[["beta", "se", "p_wald", "p_lrt", "p_score", "delta"]]
          .to_string(float_format=lambda v: f"{v:.3g}"))
    print("causal SNPs' ranks: " + ", ".join(f"{s} {int(rank[s])}" for s in CAUSAL))

    figure = out_dir / "family_snp_study_coefficients.png"
    coefficient_figure(fits, CAUSAL, figure)
    manhattan = out_dir / "family_snp_study_manhattan.png"
    scan_figure(scan, snp_map, manhattan)
    print(f"\nfigures written to {figure} and {manhattan}; total time "
          f"{time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    out = (pathlib.Path(sys.argv[1]) if len(sys.argv) > 1
           else pathlib.Path(__file__).parent / "output")
    try:  # a wrong output folder: a one-line message and exit status 2, not a traceback
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        print(f"{pathlib.Path(sys.argv[0]).name}: error: cannot create the output folder "
              f"{str(out)!r}: {err.strerror}", file=sys.stderr)
        sys.exit(2)
    main(out)
