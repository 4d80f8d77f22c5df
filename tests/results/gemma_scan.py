"""Run GEMMA 0.98.5 ``-lmm 4`` on three studies; its outputs are the references of
``tests/test_scan.py`` (which never runs GEMMA).

Usage (from the repository root; needs the Debian packages ``gemma`` and ``plink1.9``)::

    python tests/results/gemma_scan.py [SEED_DATA_DIR]   # default: $KINSHIP_SEED_DATA

Writes, beside this script, for each study ``<name>`` the GEMMA output
``gemma_<name>.assoc.txt`` and its log ``gemma_<name>.log.txt``:

``seed``
    The seed study: ``seqsimla/data1.ped`` + ``data.map`` converted to .bed by PLINK 1.9
    (``--pheno data1.phe``: the trait), ``kinship_matrix.csv`` as ``-k``, intercept only.
    PLINK makes allele 1 the minor allele; GEMMA counts allele 1.
``data``
    The project's study in ``data/`` with 2% of the genotypes set missing (the cells listed in
    ``gemma_data_missing.csv``, written here) and sex as a covariate (``-c``: intercept,
    sex); kinship from ``data/pedigree.csv`` by ``kinship_from_pedigree``. Genotypes written
    to .bed by bed-reader, counting the minor allele as allele 1.
``grm`` and ``grm_loco_<chr>``
    A study simulated here and stored as ``gemma_grm_study.csv.gz`` (individual, trait,
    genotypes) and ``gemma_grm_snps.csv`` (SNP map): 25 families of 12, 600 SNPs on 3
    chromosomes; ``-k`` the genomic relationship matrix of all SNPs
    (``genomic_relationship_matrix``; distinct eigenvalues), then for each chromosome the GRM
    of the other two with ``-snps`` restricted to that chromosome (leave one chromosome out).

GEMMA's defaults apply (``-maf 0.01 -miss 0.05 -r2 0.9999 -lmin 1e-5 -lmax 1e5``), so SNPs
with minor-allele frequency below 1% are absent from its output.
"""
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import pandas as pd

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from statsmodels_kinship.kinship import (  # noqa: E402
    genomic_relationship_matrix,
    kinship_from_pedigree,
)
from statsmodels_kinship.simulate import (  # noqa: E402
    read_study_csv,
    replicate_pedigree,
    seed_pedigree,
    simulate_family_study,
)

MISSING_RATE, MISSING_SEED = 0.02, 20240705
GRM_SEED = 7


def run(cmd, cwd):
    print("$", " ".join(cmd))
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done.stdout


def write_kinship(k, path):
    np.savetxt(path, np.asarray(k, dtype=float), fmt="%.17g", delimiter="\t")


def gemma(work, name, bfile, kinship_file, extra=()):
    cmd = ["gemma", "-bfile", bfile, "-k", kinship_file, "-lmm", "4", "-o", name,
           "-outdir", "out", *extra]
    run(cmd, work)
    for ext in ("assoc.txt", "log.txt"):
        shutil.copy(work / "out" / f"{name}.{ext}", HERE / f"gemma_{name}.{ext}")
    print(f"  -> tests/results/gemma_{name}.assoc.txt")


def to_bed(path, genotypes, fid, iid, sid, chromosome, bp, sex, trait):
    from bed_reader import to_bed as write

    write(path, np.asarray(genotypes, dtype=float),
          properties={"fid": fid, "iid": iid, "sid": sid, "chromosome": chromosome,
                      "bp_position": bp, "sex": sex, "pheno": trait,
                      "allele_1": ["A"] * len(sid), "allele_2": ["B"] * len(sid)},
          count_A1=True)


def seed_study(work, seed_dir):
    seq = seed_dir / "seqsimla"
    run(["plink1.9", "--ped", str(seq / "data1.ped"), "--map", str(seq / "data.map"),
         "--pheno", str(seq / "data1.phe"), "--allow-no-sex", "--make-bed", "--out", "seed"],
        work)
    kinship = pd.read_csv(seed_dir / "kinship_matrix.csv", header=None)
    write_kinship(kinship, work / "seed_K.txt")
    gemma(work, "seed", "seed", "seed_K.txt")


def data_study(work):
    ped, geno, pheno, snps = read_study_csv(ROOT / "data")
    rng = np.random.default_rng(MISSING_SEED)
    mask = rng.uniform(size=geno.shape) < MISSING_RATE
    rows, cols = np.nonzero(mask)
    pd.DataFrame({"individual": geno.index[rows], "snp": geno.columns[cols]}).to_csv(
        HERE / "gemma_data_missing.csv", index=False, lineterminator="\n")
    values = geno.to_numpy(dtype=float)
    values[mask] = np.nan
    to_bed(work / "data.bed", values, ped["family"], ped["individual"], geno.columns,
           snps["chromosome"].astype(str), snps["bp"], ped["sex"].astype(int),
           pheno["trait"])
    kinship = kinship_from_pedigree(ped)
    write_kinship(kinship.loc[ped["individual"], ped["individual"]], work / "data_K.txt")
    covar = np.column_stack([np.ones(len(ped)), ped["sex"].astype(float)])
    np.savetxt(work / "data_covar.txt", covar, fmt="%g")
    gemma(work, "data", "data", "data_K.txt", ["-c", "data_covar.txt"])


def grm_study(work):
    chromosome = np.repeat(["1", "2", "3"], 200)
    study = simulate_family_study(
        replicate_pedigree(seed_pedigree(), 25), n_snps=600, block_size=20, ld_rho=0.5,
        chromosome=chromosome, cm_spacing=0.5, mean=5.0,
        causal={"SNP20": 0.1, "SNP250": 0.1, "SNP480": 0.1}, seed=GRM_SEED)
    geno = study.genotypes.astype(float)
    table = geno.copy()
    table.insert(0, "trait", study.phenotype.round(6))
    table.to_csv(HERE / "gemma_grm_study.csv.gz", float_format="%.6f", lineterminator="\n",
                 compression={"method": "gzip", "mtime": 0})  # reproducible bytes
    snps = study.snp_map[["name", "chromosome", "bp"]]
    snps.to_csv(HERE / "gemma_grm_snps.csv", index=False, lineterminator="\n")
    # read back what the tests read, so that GEMMA sees exactly those numbers
    table = pd.read_csv(HERE / "gemma_grm_study.csv.gz", index_col=0)
    geno = table.drop(columns="trait")
    ped = study.pedigree
    to_bed(work / "grm.bed", geno, ped["family"], ped["individual"], geno.columns,
           snps["chromosome"].astype(str), snps["bp"], ped["sex"].astype(int),
           table["trait"])
    write_kinship(genomic_relationship_matrix(geno), work / "grm_K.txt")
    gemma(work, "grm", "grm", "grm_K.txt")
    for c in ("1", "2", "3"):
        on = snps["chromosome"].astype(str).to_numpy() == c
        write_kinship(genomic_relationship_matrix(geno.loc[:, ~on]), work / f"grm_K{c}.txt")
        (work / f"snps{c}.txt").write_text("\n".join(snps["name"][on]) + "\n")
        gemma(work, f"grm_loco_{c}", "grm", f"grm_K{c}.txt", ["-snps", f"snps{c}.txt"])


def main(seed_dir):
    with tempfile.TemporaryDirectory() as tmp:
        work = pathlib.Path(tmp)
        seed_study(work, pathlib.Path(seed_dir))
        data_study(work)
        grm_study(work)


if __name__ == "__main__":
    seed = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("KINSHIP_SEED_DATA")
    if not seed:
        sys.exit("give the seed-data folder as argument or in $KINSHIP_SEED_DATA")
    main(seed)
