"""Speed of fits with several variance components (issue 10), against peers and reference
operations timed in the same run.

Usage::

    python benchmarks/bench_components.py [SEED_DATA_DIR [REAL_DATA_DIR]]
        # defaults: $KINSHIP_SEED_DATA, $KINSHIP_REAL_DATA

Prints one line per benchmark: our time, the peer's or reference's time in this run, their
ratio, and the target:

1. seed study (1,200 people), kinship + household, one REML fit: under 50 ms; against
   lme4's modular fit of the same model (``benchmarks/lme4_timing.R``, when ``Rscript`` with
   lme4 is available).
2. blue tit animal model (828 chicks, additive + foster nest): under 0.5 s, against lme4.
3. a dairy herd like pedigreemm's ``milk`` (3,400 lactations of 1,360 cows, 6,547-animal
   pedigree with one-parent animals, permanent environment, 57 crossed herds;
   ``tests/results/lme4_dairy_*.csv``), the relationship given by its sparse inverse
   (``inverse_relationship_matrix``: the engine's mixed-model equations): under 2 s, against
   lme4.
4. 100,000 people in 25,000 families with households and 2 records each (kinship +
   household + permanent environment): under 10 s; peak memory against one dense n x n
   matrix.
5. a dense GRM of 5,000 people plus households: at most 5 times one ``eigh`` of the GRM.
6. 1,000 parametric bootstrap refits of the seed-sized kinship + household model: under 10 s.
"""
import json
import os
import pathlib
import shutil
import subprocess
import sys
import time
import tracemalloc
import warnings

import numpy as np
import pandas as pd
from scipy import sparse

from _common import ROOT, load_seed, median_time
import statsmodels_kinship as smk

RESULTS = ROOT / "tests" / "results"


def lme4_time(which, *args):
    """Seconds of lme4's fit in this run (None without Rscript/lme4)."""
    if shutil.which("Rscript") is None:
        return None
    cmd = ["Rscript", str(ROOT / "benchmarks" / "lme4_timing.R"), which, *map(str, args)]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        print(f"   (lme4 failed: {out.stderr.strip().splitlines()[-1:]})")
        return None
    return json.loads(out.stdout.strip().splitlines()[-1])["elapsed"]


def report(name, ours, other, other_name, target):
    ratio = f"{other / ours:7.1f}x faster than {other_name}" if other else f"({other_name}: n/a)"
    print(f"{name:44s} {ours:9.3f} s   {ratio:40s} target {target}")


def seed_household(seed_dir):
    y, D, K = load_seed(seed_dir)
    hh = json.loads((RESULTS / "lme4_seed_household.json").read_text())["data"]["household"]
    df = pd.DataFrame(D[:, [0, 2, 4]], columns=["SNP1", "SNP3", "SNP5"])
    df["y"], df["household"] = y, hh
    return smk.KinshipMixedLM.from_formula("y ~ SNP1 + SNP3 + SNP5", df, kinship=K,
                                           vc_formula={"household": "0 + C(household)"})


def bench_seed(seed_dir):
    model = seed_household(seed_dir)
    ours, _ = median_time(model.fit, 7)
    report("1. seed kinship + household fit", ours, lme4_time("seed_household", seed_dir),
           "lme4", "< 0.05 s")
    return model


def bench_bluetit(real_dir):
    bt = pd.read_csv(real_dir / "bluetit" / "BTdata.csv").set_index("animal")
    ped = pd.read_csv(real_dir / "bluetit" / "BTped.csv")
    kin = smk.kinship_from_pedigree(ped, family=None, individual="animal", father="sire",
                                    mother="dam", sex=None)
    model = smk.KinshipMixedLM.from_formula("tarsus ~ sex", bt, kinship={"animal": 2 * kin},
                                            vc_formula={"fosternest": "0 + C(fosternest)"})
    ours, _ = median_time(model.fit, 5)
    report("2. blue tit animal model fit", ours, lme4_time("bluetit", real_dir), "lme4",
           "< 0.5 s")


def bench_dairy():
    rec = pd.read_csv(RESULTS / "lme4_dairy_records.csv")
    ped = pd.read_csv(RESULTS / "lme4_dairy_pedigree.csv", dtype=str)
    a_inv = smk.inverse_relationship_matrix(ped, family=None, individual="animal",
                                            father="sire", mother="dam", sex=None)
    model = smk.KinshipMixedLM.from_formula(
        'Q("yield") ~ C(lactation)', rec, kinship={"additive": a_inv},
        vc_formula={"pe": "0 + C(id)", "herd": "0 + C(herd)"}, individual="id")
    ours, _ = median_time(model.fit, 3)
    report("3. dairy herd (milk-like) fit", ours, lme4_time("dairy"), "lme4", "< 2 s")


def big_families(n_families=25_000, seed=1):
    rng = np.random.default_rng(seed)
    fam = np.array([[.5, 0, .25, .25], [0, .5, .25, .25], [.25, .25, .5, .25],
                    [.25, .25, .25, .5]])
    kin = sparse.block_diag([sparse.csr_matrix(fam)] * n_families, format="csr")
    n_people = 4 * n_families
    ids = np.repeat(np.arange(n_people), 2)
    household = ids // 4
    g = (rng.normal(size=(n_families, 4)) @ np.linalg.cholesky(fam).T).ravel()
    y = (1 + g[ids] * np.sqrt(0.6) + 0.4 * rng.normal(size=n_families)[household]
         + 0.3 * rng.normal(size=n_people)[ids] + rng.normal(size=len(ids)))
    x = np.column_stack([np.ones(len(ids)), rng.normal(size=len(ids))])
    return y, x, kin, ids, household


def bench_big():
    y, x, kin, ids, household = big_families()
    tracemalloc.start()
    start = time.perf_counter()
    model = smk.KinshipMixedLM(y, x, kinship=kin,
                               exog_vc={"household": household, "pe": ids}, individual=ids)
    model.fit()
    ours = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    dense = 8.0 * len(y) ** 2
    print(f"{'4. 100,000 people x 2 records (model + fit)':44s} {ours:9.3f} s   peak memory "
          f"{peak / 2**20:.0f} MiB = {peak / dense:.1e} of one dense n x n   target < 10 s")


def bench_grm(n=5000, n_snps=2000, seed=2):
    rng = np.random.default_rng(seed)
    g = rng.binomial(2, 0.3, size=(n, n_snps)).astype(float)
    g = (g - g.mean(axis=0)) / g.std(axis=0)
    grm = g @ g.T / n_snps
    household = np.arange(n) // 4
    y = (g[:, :200] @ rng.normal(size=200) * np.sqrt(0.5 / 200)
         + 0.5 * rng.normal(size=n // 4 + 1)[household] + rng.normal(size=n))
    t_eigh, _ = median_time(lambda: np.linalg.eigh(grm), 1)
    start = time.perf_counter()
    smk.KinshipMixedLM(y, np.ones((n, 1)), kinship=grm, exog_vc={"household": household}).fit()
    ours = time.perf_counter() - start
    print(f"{'5. dense GRM n=5,000 + households (model+fit)':44s} {ours:9.3f} s   "
          f"{ours / t_eigh:5.2f} x one eigh ({t_eigh:.2f} s)               target <= 5x")


def bench_bootstrap(model):
    res = model.fit()
    start = time.perf_counter()
    res.bootstrap(nsim=1000, seed=0)
    ours = time.perf_counter() - start
    print(f"{'6. 1,000 bootstrap refits, seed + household':44s} {ours:9.3f} s   "
          f"{1000 * ours / 1000:.1f} ms per refit                      target < 10 s")


def main(argv):
    seed_dir = pathlib.Path(argv[1] if len(argv) > 1 else os.environ["KINSHIP_SEED_DATA"])
    real_dir = pathlib.Path(argv[2] if len(argv) > 2 else os.environ["KINSHIP_REAL_DATA"])
    warnings.simplefilter("ignore")
    model = bench_seed(seed_dir)
    bench_bluetit(real_dir)
    bench_dairy()
    bench_big()
    bench_grm()
    bench_bootstrap(model)


if __name__ == "__main__":
    main(sys.argv)
