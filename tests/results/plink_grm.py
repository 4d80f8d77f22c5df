"""Write a GCTA binary GRM with PLINK 1.9 ``--make-grm-bin``: the reference files of
``tests/test_genotype_coding.py`` (which never runs PLINK) for ``read_gcta_grm``.

Usage (from the repository root; needs the Debian package ``plink1.9``)::

    python tests/results/plink_grm.py

Writes, beside this script:

``plink_grm.ped``, ``plink_grm.map``
    The input given to PLINK: the first 150 individuals of ``data/`` (families F001 to F013,
    with their parents in the .ped, so PLINK sees founders and non-founders) and its 130
    SNPs, alleles coded 1/2 (``2`` the counted allele of ``data/genotypes.csv``), sex from
    ``data/pedigree.csv``, the trait as phenotype. 2% of the genotypes, drawn with a fixed
    seed, are written missing (``0 0``).
``plink_grm.grm.bin``, ``plink_grm.grm.N.bin``, ``plink_grm.grm.id``
    The output of ``plink1.9 --file plink_grm --nonfounders --make-grm-bin --out
    plink_grm``: GCTA 1.1+'s float32 lower-triangle GRM, the number of SNPs of each pair and
    the family and individual IDs. ``--nonfounders`` makes PLINK estimate allele frequencies
    from all 150 individuals (by default PLINK uses founders only when the .ped names
    parents), as ``genomic_relationship_matrix`` does. ``plink_grm.log`` is PLINK's log.
``plink_grm_complete.grm.bin``, ``.grm.N.bin``, ``.grm.id``, ``.log``
    The same from the same .ped without missing genotypes (the 2% written as in
    ``data/genotypes.csv``; that .ped is not kept). With missing genotypes a GRM averaged
    pair by pair is not positive semi-definite (smallest eigenvalue -0.046 here); without
    them it is, up to float32 rounding, with 130 SNPs for 150 people (rank below n).

PLINK v1.90b6.26 64-bit (2 Apr 2022), Debian package plink1.9 1.90~b6.26-220402-1.
"""
import pathlib
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import pandas as pd

HERE = pathlib.Path(__file__).resolve().parent
DATA = HERE.parent.parent / "data"
N_PEOPLE, MISSING_RATE, SEED = 150, 0.02, 20261201


def main():
    ped = pd.read_csv(DATA / "pedigree.csv", dtype=str).iloc[:N_PEOPLE]
    geno = pd.read_csv(DATA / "genotypes.csv", index_col=0).iloc[:N_PEOPLE]
    trait = pd.read_csv(DATA / "phenotype.csv").iloc[:N_PEOPLE]["trait"]
    snps = pd.read_csv(DATA / "snp_map.csv")
    assert list(geno.index) == list(ped["individual"]) and list(geno.columns) == list(snps.name)
    # parents outside the first 150 rows would be unknown to PLINK: there are none
    known = set(ped["individual"]) | {"0"}
    assert ped["father"].isin(known).all() and ped["mother"].isin(known).all()

    counts = geno.to_numpy()
    missing = np.random.default_rng(SEED).random(counts.shape) < MISSING_RATE
    write_ped(HERE / "plink_grm.ped", ped, trait, counts, missing)
    (HERE / "plink_grm.map").write_text("".join(
        f"{c} {s} {cm:.6f} {bp}\n" for s, c, cm, bp in snps[["name", "chromosome", "cM",
                                                                   "bp"]].itertuples(False)))
    with tempfile.TemporaryDirectory() as work:
        work = pathlib.Path(work)
        shutil.copy(HERE / "plink_grm.ped", work)
        write_ped(work / "plink_grm_complete.ped", ped, trait, counts, np.zeros_like(missing))
        for name in ("plink_grm", "plink_grm_complete"):
            shutil.copy(HERE / "plink_grm.map", work / f"{name}.map")
            make_grm(work, name)


def write_ped(path, ped, trait, counts, missing):
    """A .ped file of the counts of allele "2": 0, 1, 2 written (1, 1), (1, 2), (2, 2); missing
    genotypes "0 0"."""
    first = np.where(counts == 2, "2", "1")
    second = np.where(counts >= 1, "2", "1")
    first[missing] = second[missing] = "0"
    alleles = np.empty((len(ped), 2 * counts.shape[1]), dtype=object)
    alleles[:, 0::2], alleles[:, 1::2] = first, second
    lines = [" ".join([r.family, r.individual, r.father, r.mother, r.sex, f"{t:.6f}", *a])
             for r, t, a in zip(ped.itertuples(), trait, alleles)]
    path.write_text("\n".join(lines) + "\n")


def make_grm(work, name):
    """Run PLINK on ``work/name.ped`` + ``.map``; copy its GRM files and log here."""
    cmd = ["plink1.9", "--file", name, "--nonfounders", "--make-grm-bin", "--out", name]
    print("$", " ".join(cmd))
    done = subprocess.run(cmd, cwd=work, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    for ext in ("grm.bin", "grm.N.bin", "grm.id", "log"):
        shutil.copy(work / f"{name}.{ext}", HERE / f"{name}.{ext}")
        print(f"  -> tests/results/{name}.{ext}")


if __name__ == "__main__":
    main()
