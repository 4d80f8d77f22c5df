"""Main demo: a family SNP study analysed with OLS, MixedLM and KinshipMixedLM.

Runs on the project's own simulated data in ``data/`` (regenerate with
``python data/make_data.py``): 100 families of 12 with the seed study's pedigree, 130 SNPs,
one quantitative trait. It

1. builds the kinship matrix from the pedigree (``kinship_from_pedigree``),
2. fits the causal-SNP model ``trait ~ SNP1 + SNP3 + SNP5 + SNP11`` by OLS, by statsmodels
   MixedLM with a random intercept per family, by KinshipMixedLM with the kinship only and
   by KinshipMixedLM with the kinship and a household component
   (``vc_formula={"household": "0 + C(household)"}``), and prints them side by side
   (``summary_col``),
3. prints the kinship-only summary with the variance components and h2, then Wald and
   parametric-bootstrap intervals, a profile-likelihood interval for h2 and the
   likelihood-ratio test of zero kinship variance,
4. prints the kinship + household summary and compares the variance shares of both models,
   with profile-likelihood intervals, with the truth of the simulation (h2 = 0.35,
   c2 = 0.15: ``data/README.md``): the kinship-only model absorbs the household effect into
   h2; with the household component h2 and c2 are recovered, and the likelihood-ratio test
   rejects a zero household variance,
5. predicts five children held out of the fit (the youngest child of five families: the
   kinship + household model refitted without their phenotypes, the kinship still over all
   1200) with ``get_prediction``: conditional on their parents', siblings' and housemates'
   records (Henderson's BLUP, lme4's ``predict``) with 95% intervals beside the held-out
   trait, their breeding values (``which="breeding_value"``) with PEV and reliability beside
   the simulation's true polygenic values, and the width of the conditional prediction
   interval against the marginal one (``conditional=False``),
6. fits all 130 SNPs at once and reports the aliased SNPs (perfect linkage disequilibrium) and
   the SNPs with Wald p < 0.05,
7. scans the SNPs one at a time (``results.scan``, the per-SNP tests of GEMMA's -lmm 4),
8. writes a figure of the coefficient estimates with 95% intervals for the four models, a
   figure of the variance shares of the two kinship models against the truth and a
   Manhattan plot of the scan.

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
                                 read_study_csv, simulate_family_study)
from statsmodels_kinship.inference import variance_component_test

DATA = pathlib.Path(__file__).resolve().parent.parent / "data"
CAUSAL = ["SNP1", "SNP3", "SNP5", "SNP11"]
HOUSEHOLD = {"household": "0 + C(household)"}  # the household variance component


def make_data_module():
    """``data/make_data.py``, the simulation of ``data/`` (its parameters and seed)."""
    sys.path.insert(0, str(DATA))
    try:
        import make_data
    finally:
        sys.path.remove(str(DATA))
    return make_data


def true_shares():
    """The simulation's truth (``data/make_data.py``): the shares of the polygenic
    (kinship) component, the household effect and the individual environment in the
    variance left after the causal SNPs."""
    params = make_data_module().study_parameters()
    left = params["total_variance"] * (1 - sum(params["causal"].values()))
    kinship = params["polygenic"] * params["total_variance"] / left
    household = params["household"] * params["total_variance"] / left
    return pd.Series({"kinship": kinship, "household": household,
                      "residual": 1 - kinship - household})


def true_polygenic(ids):
    """The simulation's polygenic values of ``ids`` (``data/make_data.py`` rerun: it
    reproduces ``data/`` byte for byte), the truth behind the kinship component's BLUPs."""
    make_data = make_data_module()
    study = simulate_family_study(**make_data.study_parameters(), seed=make_data.SEED)
    return study.components.loc[ids, "polygenic"]


def held_out_predictions(df, kinship, formula, children):
    """Refit the kinship + household model without the phenotypes of ``children`` (the
    kinship still over everyone) and predict them: conditional means and intervals beside
    the held-out trait, breeding values with PEV and reliability beside the true polygenic
    values, and the conditional against the marginal prediction interval."""
    masked = KinshipMixedLM.from_formula(formula, data=df.drop(children), kinship=kinship,
                                         vc_formula=HOUSEHOLD).fit()
    new = df.loc[children]  # SNPs and household of the children; their trait is not used
    pred = masked.get_prediction(new)  # conditional: x'b + BLUP of kinship and household
    frame = pred.summary_frame(alpha=0.05)
    frame["held-out trait"] = new["trait"]
    print(f"\n== Predicting {len(children)} children held out of the fit (kinship + household) "
          f"==\n\nThe youngest child of families {', '.join(new['family'])}, held out: the "
          f"model refitted on\nthe other {int(masked.nobs)} records (the kinship over all "
          f"{kinship.shape[0]}). get_prediction(df.loc[children]) gives\nx'b plus the BLUPs of "
          f"their kinship and household effects given the relatives' records, with\n95% "
          f"intervals for the child's value (mean_ci) and for a record of the child (obs_ci):")
    print(frame.to_string(float_format=lambda v: f"{v:.3f}"))
    bv = masked.get_prediction(new, which="breeding_value")
    table = bv.summary_frame(alpha=0.05)
    table.insert(2, "PEV", bv.pev)
    table["true polygenic"] = true_polygenic(children)
    print(f"\nBreeding values (which=\"breeding_value\"): the BLUP of the kinship effect, "
          f"mean_se = sqrt(PEV),\nreliability = 1 - PEV/(s_k^2 K_tt) with s_k^2 = "
          f"{masked.vcomp['kinship']:.3f}; the simulation's polygenic values beside:")
    print(table.to_string(float_format=lambda v: f"{v:.3f}"))
    marginal = masked.get_prediction(new, conditional=False).summary_frame(alpha=0.05)
    width = (frame["obs_ci_upper"] - frame["obs_ci_lower"]).mean()
    wide = (marginal["obs_ci_upper"] - marginal["obs_ci_lower"]).mean()
    print(f"95% prediction interval for a record of these children: width {width:.2f} "
          f"conditional on the\nrelatives, {wide:.2f} marginal (conditional=False: x'b, an "
          f"unrelated newcomer), {1 - width / wide:.0%} narrower")


def share_intervals(res, alpha=0.05):
    """The fit's variance shares (``results.variance_shares``) with profile-likelihood
    intervals (``results.profile_conf_int``): h2 for the first component (the kinship), the
    ``<name>_share`` rows for the others; the residual's share (1 minus the others) has none."""
    shares = res.variance_shares["share"]
    which = ["h2"] + [f"{name}_share" for name in shares.index[1:-1]]
    ci = res.profile_conf_int(alpha=alpha, which=which).set_axis(shares.index[:-1])
    return pd.DataFrame({"share": shares, "lower": ci["lower"], "upper": ci["upper"]})


def component_info(name):
    """A ``summary_col`` row for a variance component of KinshipMixedLM, "estimate (SE)";
    an empty cell for the models without it (AttributeError, as summary_col expects)."""
    def cell(res):
        vcomp = getattr(res, "vcomp", None)
        if not isinstance(vcomp, pd.Series) or name not in vcomp.index:
            raise AttributeError(name)
        return f"{vcomp[name]:.4f} ({res.bse_vcomp[name]:.4f})"
    return cell


def share_info(name):
    """A ``summary_col`` row for a component's share of the variance, "share (SE)"."""
    def cell(res):
        shares = getattr(res, "variance_shares", None)
        if shares is None or name not in shares.index:
            raise AttributeError(name)
        return f"{shares.loc[name, 'share']:.4f} ({shares.loc[name, 'std. error']:.4f})"
    return cell


def coefficient_figure(fits, names, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.3), layout="constrained")
    offsets = np.linspace(-0.24, 0.24, len(fits))
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
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center",
               ncol=len(fits), frameon=False, fontsize="small", columnspacing=1.2,
               handletextpad=0.4)
    fig.savefig(path, dpi=120, metadata={"Software": None})  # the same bytes on every run
    plt.close(fig)


def shares_figure(shares, truth, path):
    """Bars of the variance shares (95% profile-likelihood intervals) of each fit beside
    the truth.

    ``shares`` maps a model's label to its :func:`share_intervals` table; ``truth`` is
    :func:`true_shares`. A component missing from a model has no bar ("not in the model").
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(truth.index)
    labels = {"kinship": "kinship (h2)", "household": "household (c2)",
              "residual": "residual"}
    fig, ax = plt.subplots(figsize=(7, 4.0), layout="constrained")
    width = 0.8 / (len(shares) + 1)
    x = np.arange(len(names))
    for i, (label, table) in enumerate(shares.items()):
        table = table.reindex(names)
        fitted = table["share"].notna().to_numpy()
        est = table["share"].to_numpy()
        err = np.vstack([est - table["lower"].to_numpy(), table["upper"].to_numpy() - est])
        at = x + (i - len(shares) / 2) * width
        ax.bar(at[fitted], est[fitted], width, yerr=err[:, fitted], capsize=3, label=label)
        for position in at[~fitted]:
            ax.text(position, 0.01, "not in\nthe model", ha="center", va="bottom",
                    fontsize=7, color="0.4")
    ax.bar(x + len(shares) / 2 * width, truth.to_numpy(), width, color="0.3",
           label="truth (simulation)")
    ax.set_xticks(x, [labels.get(n, n) for n in names])
    ax.set_ylim(0, 1)
    ax.set_ylabel("share after the SNPs (95% interval)")
    ax.set_title("data/: kinship-only h2 absorbs the household effect")
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center",
               ncol=len(shares) + 1, frameon=False)
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
    # the kinship and one effect per household (read_study_csv gives the household column)
    both = KinshipMixedLM.from_formula(formula, data=df, kinship=kinship,
                                       vc_formula=HOUSEHOLD).fit()
    fits = {"OLS": ols, "MixedLM (family)": mixed, "KinshipMixedLM": kin,
            "KinshipMixedLM + household": both}
    # KinshipMixedLM's rows (variance components and h2, "estimate (SE)") are its
    # default_model_infos; merged here with rows of our own: the household component and
    # its share c2 (MixedLM's family variance is one of its params: "family Var")
    print(summary_col(list(fits.values()), model_names=list(fits), stars=True,
                      regressor_order=["Intercept"] + CAUSAL + ["family Var"],
                      drop_omitted=True,
                      info_dict={**kin.default_model_infos,
                                 "Household var (s_h^2)": component_info("household"),
                                 "Household share (c2)": share_info("household"),
                                 "N": lambda r: f"{int(r.nobs)}"}))
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

    print("\n== Kinship + household: the variance shares against the truth ==\n")
    print(both.summary())
    truth = true_shares()
    shares = {"kinship only": share_intervals(kin),
              "kinship + household": share_intervals(both)}

    def cell(table, name):
        if name not in table.index:
            return "not in the model"
        row = table.loc[name]
        if np.isnan(row["lower"]):
            return f"{row['share']:.3f}"
        return f"{row['share']:.3f} ({row['lower']:.3f}, {row['upper']:.3f})"

    table = pd.DataFrame({label: [cell(t, c) for c in truth.index]
                          for label, t in shares.items()}, index=truth.index)
    table["truth"] = truth.map("{:.2f}".format)
    print(f"\nShares of the variance left after the SNPs, with 95% profile-likelihood "
          f"intervals:\n{table.to_string()}")
    household = variance_component_test(both, "household")
    alone = shares["kinship only"].loc["kinship"]
    h2, c2 = (shares["kinship + household"].loc[name] for name in ("kinship", "household"))
    print(f"kinship only: h2 = {alone['share']:.3f} ({alone['lower']:.3f} to "
          f"{alone['upper']:.3f}), the household effect absorbed (truth "
          f"{truth['kinship']:.2f});\n"
          f"kinship + household: h2 = {h2['share']:.3f} (95% profile-likelihood interval "
          f"{h2['lower']:.3f} to {h2['upper']:.3f}), c2 = {c2['share']:.3f} "
          f"({c2['lower']:.3f} to {c2['upper']:.3f}) (truth {truth['kinship']:.2f} and "
          f"{truth['household']:.2f});\n"
          f"LR test of s_h^2 = 0 (50:50 chi2 mixture): LR = {household.statistic:.1f}, "
          f"p = {household.pvalue:.2g}")

    # the youngest child (_12, parents and two siblings in the data) of every 20th family
    held_out_predictions(df, kinship, formula, [f"F{f:03d}_12" for f in range(1, 101, 20)])

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
    print(f"variance components (kinship only): s_k^2 = {full.vcomp['kinship']:.3f}, "
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
    shares_path = out_dir / "family_snp_study_shares.png"
    shares_figure(shares, truth, shares_path)
    manhattan = out_dir / "family_snp_study_manhattan.png"
    scan_figure(scan, snp_map, manhattan)
    print(f"\nfigures written to {figure}, {shares_path} and {manhattan}; total time "
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
