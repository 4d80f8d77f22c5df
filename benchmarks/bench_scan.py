"""Timing of the per-SNP scan against FaST-LMM and GEMMA, in one run.

Usage::

    python benchmarks/bench_scan.py [SEED_DATA_DIR] [--snps M] [--grm] [--no-peers]

SEED_DATA_DIR defaults to $KINSHIP_SEED_DATA. Prints, for

1. the seed study (n = 1200, 130 SNPs, pedigree kinship): our exact (GEMMA -lmm 4) and fixed
   (EMMAX / P3D) scans after the null fit (median of 20 runs), FaST-LMM's ``single_snp``
   (PyPI fastlmm) and GEMMA 0.98.5 ``-lmm 4`` as a subprocess (wall time, and the
   computation time GEMMA reports);
2. a simulated study: 167 families of the seed's 12-member pedigree (2,004 people), M
   independent SNPs (default 10,000; the issue's figure is ``--snps 100000``), the trait
   with 10 causal SNPs, a polygenic kinship effect and noise, written to a PLINK .bed; the
   kinship from the pedigree (``--grm``: the genomic relationship matrix of 5,000 SNPs
   instead, a dense K with all eigenvalues distinct). Our scans from the in-memory int8
   array and from the .bed (block by block), the peak traced memory of the .bed scan at two
   block sizes, FaST-LMM and GEMMA on the same files, and the agreement of the p-values.

Peers are skipped with a message when they are not installed (``--no-peers`` skips them).
Targets (2-core machine): seed scan < 50 ms after the null fit; 100,000 SNPs: fixed < 10 s,
exact < 60 s, each faster than the peers; memory bounded by the block size.
"""
import argparse
import os
import pathlib
import re
import shutil
import subprocess
import tempfile
import time
import tracemalloc
import warnings

import numpy as np
import pandas as pd

from _common import load_seed, median_time, snp_names
from statsmodels_kinship import KinshipMixedLM
from statsmodels_kinship.kinship import genomic_relationship_matrix, kinship_from_pedigree
from statsmodels_kinship.scan import scan
from statsmodels_kinship.simulate import replicate_pedigree, seed_pedigree


def once(func):
    start = time.perf_counter()
    out = func()
    return time.perf_counter() - start, out


def line(label, seconds, extra=""):
    print(f"  {label:<46s} {seconds:9.3f} s  {extra}")


# -- peers ---------------------------------------------------------------------------------

def fastlmm_available():
    try:
        from fastlmm.association import single_snp  # noqa: F401
    except ImportError as err:
        print(f"  FaST-LMM single_snp: not available ({err})")
        return False
    return True


def run_fastlmm(bed_prefix, iid, y, kinship):
    """FaST-LMM single_snp with our kinship as K0 (no LOCO); returns (seconds, p-values)."""
    from fastlmm.association import single_snp
    from pysnptools.kernelreader import KernelData
    from pysnptools.snpreader import Bed, SnpData

    iid = np.asarray(iid, dtype=str)
    pheno = SnpData(iid=iid, sid=["trait"], val=np.asarray(y, dtype=float)[:, None])
    k0 = KernelData(iid=iid, val=np.asarray(kinship, dtype=float))
    test = Bed(str(bed_prefix) + ".bed", count_A1=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        seconds, frame = once(lambda: single_snp(test, pheno, K0=k0,
                                                 leave_out_one_chrom=False, count_A1=True))
    return seconds, frame.set_index("SNP")["PValue"]


def gemma_available():
    if shutil.which("gemma") is None:
        print("  GEMMA: not available (no gemma on PATH; Debian package 'gemma')")
        return False
    return True


def run_gemma(work, bed_prefix, kinship_file):
    """GEMMA -lmm 4; returns (wall seconds, GEMMA's own minutes line, assoc table)."""
    cmd = ["gemma", "-bfile", str(bed_prefix), "-k", str(kinship_file), "-lmm", "4",
           "-o", "bench", "-outdir", str(work / "out")]
    seconds, done = once(lambda: subprocess.run(cmd, capture_output=True, text=True))
    if done.returncode:
        raise RuntimeError(done.stdout + done.stderr)
    log = (work / "out" / "bench.log.txt").read_text()
    total = float(re.search(r"total computation time = ([0-9.e+-]+)", log).group(1)) * 60
    assoc = pd.read_csv(work / "out" / "bench.assoc.txt", sep="\t").set_index("rs")
    return seconds, total, assoc


def write_bed(prefix, genotypes, fid, iid, sid, chromosome, bp, trait):
    from bed_reader import to_bed

    to_bed(str(prefix) + ".bed", genotypes,
           properties={"fid": fid, "iid": iid, "sid": sid, "chromosome": chromosome,
                       "bp_position": bp, "pheno": trait,
                       "allele_1": ["A"] * len(sid), "allele_2": ["B"] * len(sid)},
           count_A1=True)


def compare(label, ours, theirs):
    both = ours.index.intersection(theirs.index)
    a = -np.log10(ours.loc[both].to_numpy(float))
    b = -np.log10(theirs.loc[both].to_numpy(float))
    ok = np.isfinite(a) & np.isfinite(b)
    print(f"    agreement {label}: max |log10 p diff| = {np.max(np.abs(a[ok] - b[ok])):.2e} "
          f"over {ok.sum()} SNPs")


# -- 1. seed study ---------------------------------------------------------------------------

def bench_seed(seed_dir, work, peers):
    print("1. seed study: n = 1200, 130 SNPs, pedigree kinship (100 blocks of 12)")
    y, geno, kinship = load_seed(seed_dir)
    n = len(y)
    null_time, null = once(lambda: KinshipMixedLM(y, np.ones((n, 1)), kinship=kinship).fit())
    line("null fit (REML, decomposition included)", null_time)
    for method in ("exact", "fixed"):
        scan(null, geno, method=method)  # warm up
        t = median_time(lambda: scan(null, geno, method=method), 20)[0]
        line(f"ours {method} scan after the null fit", t, "(target < 0.050 s)")
    ours = scan(null, pd.DataFrame(geno, columns=snp_names(130)))
    if not peers:
        return
    iid = np.array([f"i{i}" for i in range(n)])
    fid = np.array([f"F{i // 12}" for i in range(n)])
    sid = snp_names(130)
    prefix = work / "seed"
    write_bed(prefix, geno, fid, iid, sid, ["1"] * 130, np.arange(130) + 1, y)
    if fastlmm_available():
        t, p = run_fastlmm(prefix, np.column_stack([fid, iid]), y, kinship)
        line("FaST-LMM single_snp (reads .bed, eigh of K)", t)
        compare("fixed vs FaST-LMM", scan(null, pd.DataFrame(geno, columns=sid),
                                          method="fixed")["p_wald"], p)
    if gemma_available():
        np.savetxt(work / "seed_K.txt", kinship, fmt="%.17g", delimiter="\t")
        wall, total, assoc = run_gemma(work, prefix, work / "seed_K.txt")
        line("GEMMA -lmm 4 (process wall time)", wall, f"(own computation {total:.3f} s)")
        compare("exact vs GEMMA p_wald", ours["p_wald"], assoc["p_wald"])


# -- 2. simulated study ------------------------------------------------------------------------

def simulate(n_families, n_snps, seed=1):
    """Genotypes (int8, individuals x SNPs) of independent SNPs dropped through copies of
    the seed pedigree, and a trait: 10 causal SNPs, a polygenic kinship effect, noise."""
    rng = np.random.default_rng(seed)
    ped = replicate_pedigree(seed_pedigree(), n_families)
    n = len(ped)
    maf = rng.uniform(0.05, 0.5, n_snps)
    geno = np.empty((n, n_snps), dtype=np.int8)
    index = {v: i for i, v in enumerate(ped["individual"])}
    rows = np.arange(n)
    founder = (ped["father"].astype(str) == "0").to_numpy()
    for start in range(0, n_snps, 10000):  # founders: Hardy-Weinberg
        stop = min(start + 10000, n_snps)
        geno[founder, start:stop] = rng.binomial(2, maf[start:stop],
                                                 size=(founder.sum(), stop - start))
    position = np.tile(np.arange(12), n_families)
    for k in range(12):  # the k-th member of every family at once; parents come first
        members = rows[(position == k) & ~founder]
        if not len(members):
            continue
        child = np.zeros((len(members), n_snps), dtype=np.int8)
        for role in ("father", "mother"):
            g = geno[[index[v] for v in ped[role].iloc[members]]]
            coin = rng.integers(0, 2, size=g.shape, dtype=np.int8)
            child += (g == 2) | ((g == 1) & (coin == 1))
        geno[members] = child
    kinship = kinship_from_pedigree(ped)
    kinship = kinship.loc[ped["individual"], ped["individual"]].to_numpy()
    causal = rng.choice(n_snps, 10, replace=False)
    effect = rng.choice([-1, 1], 10) * rng.uniform(0.15, 0.3, 10)
    polygenic = rng.multivariate_normal(np.zeros(n), 0.8 * kinship, method="cholesky")
    y = 10 + geno[:, causal] @ effect + polygenic + rng.normal(size=n)
    return ped, geno, kinship, y, causal


def bench_simulated(n_snps, use_grm, work, peers):
    t_sim, (ped, geno, kinship, y, causal) = once(lambda: simulate(167, n_snps))
    n = len(y)
    if use_grm:
        kinship = genomic_relationship_matrix(geno[:, :5000].astype(float))
    label = "GRM of 5,000 SNPs (dense, distinct eigenvalues)" if use_grm else \
        "pedigree kinship (167 blocks of 12)"
    print(f"\n2. simulated study: {n} people, {n_snps:,} SNPs, {label} "
          f"(simulated in {t_sim:.1f} s)")
    sid = np.array([f"rs{j + 1}" for j in range(n_snps)])
    prefix = work / "sim"
    t_bed, _ = once(lambda: write_bed(prefix, geno, ped["family"].to_numpy(),
                                      ped["individual"].to_numpy(), sid,
                                      ["1"] * n_snps, np.arange(n_snps) * 100 + 1, y))
    print(f"  (.bed written in {t_bed:.1f} s)")
    null_time, null = once(lambda: KinshipMixedLM(y, np.ones((n, 1)), kinship=kinship).fit())
    line("null fit (REML, decomposition included)", null_time)
    results = {}
    for method, target in (("fixed", 10), ("exact", 60)):
        results[method] = scan(null, geno, method=method).set_axis(sid)
        t = median_time(lambda: scan(null, geno, method=method), 3)[0]
        line(f"ours {method}, int8 array in memory (median of 3)", t,
             f"({t / n_snps * 1e6:.1f} us/SNP; 100k-SNP target < {target} s)")
    t, from_bed = once(lambda: scan(null, str(prefix), method="exact"))
    line("ours exact, from the .bed in blocks", t)
    assert np.allclose(from_bed["p_wald"].to_numpy(), results["exact"]["p_wald"].to_numpy(),
                       rtol=1e-10)
    ranks = results["exact"]["p_wald"].rank().to_numpy()[causal].astype(int)
    print(f"    causal SNPs' ranks (exact p_wald): {sorted(ranks.tolist())}")
    for block in (256, 2048):
        tracemalloc.start()
        frame = scan(null, str(prefix), method="fixed", block_size=block)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        kept = frame.memory_usage(deep=True).sum()
        print(f"    peak traced memory, .bed scan, block_size={block:5d}: "
              f"{peak / 2 ** 20:7.1f} MiB, of which the result frame {kept / 2 ** 20:.1f} MiB "
              f"(the genotypes as float64 would be {n * n_snps * 8 / 2 ** 20:,.0f} MiB)")
    if not peers:
        return
    if fastlmm_available():
        t, p = run_fastlmm(prefix, ped[["family", "individual"]].to_numpy(), y, kinship)
        line("FaST-LMM single_snp (fixed ratio)", t)
        compare("fixed vs FaST-LMM", results["fixed"]["p_wald"], p)
    if gemma_available():
        start = time.perf_counter()
        np.savetxt(work / "sim_K.txt", kinship, fmt="%.17g", delimiter="\t")
        print(f"  (GEMMA's kinship file written in {time.perf_counter() - start:.1f} s)")
        wall, total, assoc = run_gemma(work, prefix, work / "sim_K.txt")
        line("GEMMA -lmm 4 (process wall time)", wall, f"(own computation {total:.1f} s)")
        compare("exact vs GEMMA p_wald", results["exact"]["p_wald"], assoc["p_wald"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("seed_dir", nargs="?", default=os.environ.get("KINSHIP_SEED_DATA"))
    parser.add_argument("--snps", type=int, default=10000,
                        help="SNPs of the simulated study (the issue's figure: 100000)")
    parser.add_argument("--grm", action="store_true",
                        help="simulated study with a GRM instead of the pedigree kinship")
    parser.add_argument("--no-peers", action="store_true", help="skip FaST-LMM and GEMMA")
    args = parser.parse_args()
    print(f"numpy {np.__version__}, {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as tmp:
        work = pathlib.Path(tmp)
        if args.seed_dir:
            bench_seed(pathlib.Path(args.seed_dir), work, not args.no_peers)
        else:
            print("1. seed study: skipped (give SEED_DATA_DIR or set $KINSHIP_SEED_DATA)")
        bench_simulated(args.snps, args.grm, work, not args.no_peers)


if __name__ == "__main__":
    main()
