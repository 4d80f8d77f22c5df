"""Cross-validated prediction accuracy of three kinship models of the project's family study.

Runs on the project's own simulated data in ``data/`` (regenerate with
``python data/make_data.py``): 100 families of 12, 130 SNPs, one quantitative trait. It

1. rebuilds the simulation's truth (``data/make_data.py``'s ``study_parameters()`` and
   ``SEED`` with ``simulate_family_study``, which reproduces ``data/`` byte for byte); the
   *true genetic value* of a person is their polygenic component: the part of the genetic
   effect that a relationship matrix predicts (the four causal SNPs are fixed effects of
   the model, and the household effect is environmental),
2. fits ``trait ~ SNP1 + SNP3 + SNP5 + SNP11`` with three covariance structures:
   (a) the pedigree kinship (``kinship_from_pedigree``), (b) a genomic relationship matrix
   (``genomic_relationship_matrix``) of the 126 SNPs of ``data/genotypes.csv`` that are not
   in the fixed part (leaving the four causal SNPs in would count them twice), and (c) the
   pedigree kinship plus a household component (``vc_formula={"household": "0 +
   C(household)"}``),
3. cross-validates each with ``smk.cross_validate`` (5 folds, the same folds for every
   model): folds by individual (a held-out person's relatives are in the training folds)
   and folds by family (whole families held out: prediction of new families),
4. prints, per model and fold scheme, the mean over folds +- its standard error of the
   accuracy (correlation of the predicted and the observed trait), of the genetic accuracy
   (correlation of the predicted breeding value and the true polygenic value), the
   coverage of the 95% prediction intervals and h2,
5. draws both accuracies with their standard errors (``prediction_accuracy.png``).

With folds by family a held-out family has no relatives in training under the pedigree
kinship: its predicted breeding values are all 0 and the genetic accuracy is undefined
("n/a"); the genomic matrix still relates it to other families through shared haplotypes.

Usage::

    python examples/prediction_accuracy.py [OUTPUT_DIR]   # default examples/output
"""
import pathlib
import runpy
import sys
import time

import numpy as np
import pandas as pd

import statsmodels_kinship as smk

DATA = pathlib.Path(__file__).resolve().parent.parent / "data"
FIXED = ["SNP1", "SNP3", "SNP5", "SNP11"]
FORMULA = "trait ~ " + " + ".join(FIXED)
HOUSEHOLD = {"household": "0 + C(household)"}
SCHEMES = {"individual": "by individual", "family": "by family"}
FOLDS = 5
SEED = 20240611  # draws the folds


def true_polygenic(phenotype):
    """The simulation's polygenic values (``data/make_data.py`` rerun), by individual;
    checks that the rerun reproduces the trait of ``data/``."""
    make_data = runpy.run_path(str(DATA / "make_data.py"))  # its globals, not run as main
    study = smk.simulate_family_study(**make_data["study_parameters"](),
                                      seed=make_data["SEED"])
    trait = study.phenotype.reindex(phenotype.index)
    if not np.allclose(trait, phenotype["trait"], atol=1e-6):
        raise RuntimeError("data/make_data.py does not reproduce data/phenotype.csv: "
                           "regenerate data/ with python data/make_data.py")
    return study.components["polygenic"]


def models(pedigree, genotypes):
    """The three covariance structures: ``{label: (kinship, vc_formula)}``."""
    kinship = smk.kinship_from_pedigree(pedigree)
    grm = smk.genomic_relationship_matrix(genotypes.drop(columns=FIXED))
    return {"pedigree": (kinship, None),
            "genomic (126 SNPs)": (grm, None),
            "pedigree + household": (kinship, HOUSEHOLD)}


def accuracy_table(runs):
    """One row per model and fold scheme: mean and SE over folds of each statistic."""
    rows = []
    for (model, scheme), cv in runs.items():
        s = cv.summary_frame()
        row = {"model": model, "folds": SCHEMES[scheme]}
        for name in ("accuracy", "accuracy_genetic", "coverage", "h2"):
            row[name] = s.loc[name, "mean"]
            row[name + "_se"] = s.loc[name, "std. error"]
        rows.append(row)
    return pd.DataFrame(rows)


def show(mean, se):
    return "n/a" if not np.isfinite(mean) else f"{mean:.3f} +- {se:.3f}"


def print_table(table):
    print(f"{'model':<22}{'folds':<15}{'accuracy':>17}{'genetic accuracy':>19}"
          f"{'95% coverage':>16}{'h2':>8}")
    for _, r in table.iterrows():
        print(f"{r['model']:<22}{r['folds']:<15}{show(r['accuracy'], r['accuracy_se']):>17}"
              f"{show(r['accuracy_genetic'], r['accuracy_genetic_se']):>19}"
              f"{show(r['coverage'], r['coverage_se']):>16}{r['h2']:>8.3f}")


def accuracy_figure(table, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(dict.fromkeys(table["model"]))
    x = np.arange(len(names))
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), sharey=True)
    panels = [("accuracy", "corr(prediction, observed trait)"),
              ("accuracy_genetic", "corr(breeding value, true polygenic value)")]
    for ax, (col, title) in zip(axes, panels):
        for i, label in enumerate(SCHEMES.values()):
            rows = table[table["folds"] == label].set_index("model").loc[names]
            offset = (i - 0.5) * 0.25
            ax.errorbar(x + offset, rows[col], yerr=rows[col + "_se"], fmt="o", capsize=4,
                        color=f"C{i}", label=f"folds {label}")
            for xi, value in zip(x + offset, rows[col]):
                if not np.isfinite(value):
                    ax.annotate("n/a:\nall 0", (xi, 0.02), ha="center", color=f"C{i}",
                                fontsize=8)
        ax.set_xticks(x, [n.replace(" (", "\n(").replace(" + ", " +\n") for n in names],
                      fontsize=9)
        ax.set_xlim(-0.6, len(names) - 0.4)
        ax.set_title(title, fontsize=10)
        ax.grid(axis="y", alpha=0.3)
    axes[0].set_ylim(0, 1)
    axes[0].set_ylabel(f"{FOLDS}-fold cross-validated accuracy (mean \u00b1 SE)")
    axes[1].legend(loc="upper right", fontsize=8)
    fig.suptitle(f"Out-of-fold prediction of {FORMULA}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(out_dir):
    start = time.perf_counter()
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    pedigree, genotypes, phenotype, _ = smk.read_study_csv(DATA)
    df = phenotype.join(genotypes)
    truth = true_polygenic(phenotype)
    print(f"{len(df)} people in {df['family'].nunique()} families; model {FORMULA}; "
          f"{FOLDS}-fold cross-validation (seed {SEED}); true genetic value = the "
          "simulated polygenic component")
    specs = models(pedigree, genotypes)
    grm = specs["genomic (126 SNPs)"][0].to_numpy()
    print(f"the genomic relationship matrix of the 126 SNPs outside the formula has rank "
          f"{np.linalg.matrix_rank(grm, hermitian=True)} (their linkage disequilibrium)")
    runs = {}
    for label, (kinship, vc_formula) in specs.items():
        for scheme in SCHEMES:
            runs[label, scheme] = smk.cross_validate(
                FORMULA, df, kinship, folds=FOLDS, by=scheme, vc_formula=vc_formula,
                genetic_value=truth, seed=SEED)
    table = accuracy_table(runs)
    print()
    print_table(table)
    print("\nmean over the 5 folds +- standard error (SD over folds / sqrt(5)); n/a: every "
          "predicted breeding value is 0 (no relatives in the training folds)")
    path = out_dir / "prediction_accuracy.png"
    accuracy_figure(table, path)
    print(f"\nfigure written to {path}; total time {time.perf_counter() - start:.1f} s")
    return table


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
