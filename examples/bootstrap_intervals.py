"""Wald against the four bootstrap intervals, for every SNP of the project's family study.

Runs on the project's simulated data in ``data/`` (100 families of 12, 130 SNPs; regenerate
with ``python data/make_data.py``). It

1. builds the kinship from the pedigree and fits ``trait ~ SNP1 + ... + SNP130`` by REML
   (SNPs in perfect LD with earlier ones are aliased and left out),
2. draws a parametric bootstrap (1000 replicates by default, each refitted exactly) and
   prints, for the Wald interval and the studentized, percentile, basic and normal bootstrap
   intervals, the SNPs whose 95% interval excludes 0,
3. prints intervals for the variance components and h2: Wald, profile likelihood and
   bootstrap percentile,
4. writes a figure of all the intervals (``bootstrap_intervals.png``).

Usage::

    python examples/bootstrap_intervals.py [--nsim N] [--out DIR]
"""
import argparse
import pathlib
import time
import warnings

import numpy as np
import pandas as pd
from statsmodels.tools.sm_exceptions import CollinearityWarning

from statsmodels_kinship import KinshipMixedLM, kinship_from_pedigree, read_study_csv
from statsmodels_kinship.bootstrap import parametric_bootstrap
from statsmodels_kinship.inference import profile_conf_int

HERE = pathlib.Path(__file__).resolve().parent
DATA = HERE.parent / "data"
METHODS = ["studentized", "percentile", "basic", "normal"]


def interval_figure(cis, estimates, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(estimates.index)
    x = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(max(8.0, 0.32 * len(names)), 4.5))
    offsets = np.linspace(-0.3, 0.3, len(cis))
    for i, (offset, (label, ci)) in enumerate(zip(offsets, cis.items())):
        ax.vlines(x + offset, ci.loc[names, 0], ci.loc[names, 1], lw=1.6, color=f"C{i}",
                  label=label)
    ax.plot(x, estimates, "k.", ms=4, label="estimate")
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_xticks(x, names, rotation=90, fontsize=7)
    ax.set_ylabel("effect on the trait (95% interval)")
    ax.set_title("Wald and parametric-bootstrap intervals, all SNPs in one kinship model")
    ax.legend(ncol=5, fontsize=8, loc="upper center")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nsim", type=int, default=1000)
    parser.add_argument("--out", default=str(HERE / "output"))
    parser.add_argument("--seed", type=int, default=20160627)
    args = parser.parse_args(argv)
    out_dir = pathlib.Path(args.out)
    try:  # a wrong output folder: a one-line message and exit status 2, not a traceback
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        parser.exit(2, f"{parser.prog}: error: cannot create the output folder "
                       f"{str(out_dir)!r}: {err.strerror}\n")

    pedigree, genotypes, phenotype, _ = read_study_csv(DATA)
    df = phenotype.join(genotypes)
    kinship = kinship_from_pedigree(pedigree)
    snps = [c for c in df.columns if c.startswith("SNP")]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", CollinearityWarning)
        res = KinshipMixedLM.from_formula("trait ~ " + " + ".join(snps), data=df,
                                          kinship=kinship).fit()
    print(f"data/ (simulated family study): {int(res.nobs)} individuals, {len(snps)} SNPs; rank of the design "
          f"{res.model.rank} of {len(res.params)} ({int(res.aliased.sum())} SNPs aliased)")
    for w in caught:
        print(f"  warning: {str(w.message)[:110]}...")

    start = time.perf_counter()
    boot = parametric_bootstrap(res, nsim=args.nsim, seed=args.seed)
    print(f"\nparametric bootstrap: {boot.nsim} replicates refitted by {boot.method} in "
          f"{time.perf_counter() - start:.2f} s ({boot.n_failed} did not converge)\n")

    kept = [s for s in snps if not res.aliased[s]]
    cis = {"Wald": res.conf_int()}
    cis.update({m: boot.conf_int(method=m) for m in METHODS})
    excluded = {}
    for label, ci in cis.items():
        ci = ci.loc[kept]
        hits = list(ci.index[(ci[0] > 0) | (ci[1] < 0)])
        excluded[label] = hits
        print(f"{label:12s} {len(hits):3d} SNPs whose 95% interval excludes 0: {', '.join(hits)}")
    common = set.intersection(*(set(v) for v in excluded.values()))
    wald, stud = set(excluded["Wald"]), set(excluded["studentized"])
    print(f"\nunder all five: {len(common)}; Wald but not studentized: "
          f"{', '.join(sorted(wald - stud)) or 'none'}; studentized but not Wald: "
          f"{', '.join(sorted(stud - wald)) or 'none'}")

    width = pd.DataFrame({label: (ci[1] - ci[0]).loc[kept] for label, ci in cis.items()})
    print("\nmedian width relative to Wald: "
          + ", ".join(f"{m} {np.median(width[m] / width['Wald']):.3f}" for m in METHODS))

    prof = profile_conf_int(res, which=("h2", "kinship", "residual"))
    vci = boot.conf_int_vcomp(method="percentile").loc[prof.index]
    table = pd.DataFrame({
        "estimate": prof["estimate"], "Wald": [f"[{a:.3f}, {b:.3f}]" for a, b in
                                              zip(prof["wald_lower"], prof["wald_upper"])],
        "profile": [f"[{a:.3f}, {b:.3f}]" for a, b in zip(prof["lower"], prof["upper"])],
        "bootstrap percentile": [f"[{a:.3f}, {b:.3f}]" for a, b in
                                 zip(vci["lower"], vci["upper"])],
    })
    print("\nvariance components and h2 (95%):")
    print(table.round(4).to_string())
    print(f"h2 standard error: {res.bse_h2:.4f} from the observed information on these data, "
          f"{boot.h2.std():.4f} over the bootstrap replicates (whose own information gives "
          f"{boot.bse_h2.mean():.4f} on average)")

    figure = out_dir / "bootstrap_intervals.png"
    interval_figure(cis, res.params[kept], figure)
    print(f"\nfigure written to {figure}")


if __name__ == "__main__":
    main()
