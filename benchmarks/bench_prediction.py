"""Speed and memory of conditional predictions (issue 11), against the fit of the same model
(or one ``eigh``) timed in the same run.

Usage::

    python benchmarks/bench_prediction.py [--families F] [--new M] [--grm N] [--parts 1 2 3]

Prints one line per benchmark (seconds, the ratio to the reference operation, the target) as
it goes, and a compact table at the end:

1. the project's study (``data/``: 1,200 people in 100 families of 12, pedigree kinship,
   ``trait ~ SNP1 + SNP3 + SNP5 + SNP11``): 100 people held out, the model fitted on the other
   1,100 with the kinship of all 1,200, and ``results.get_prediction(df.loc[held])`` timed
   (median of repeats; the first call on a fresh fit separately, since it builds and caches
   the ``H^-1`` operator; and with the design already built, ``transform=False``, the cost
   without the formula). Also with ``vc_formula`` household (the several-components
   engine). Reference: the fit (model construction included) of the same model. Target: well
   under 50 ms.
2. a family model of 100,000 phenotyped people: ``replicate_pedigree(seed_pedigree(), F)``
   (F = 9,167 families of 12, 110,004 people), ``kinship_from_pedigree(sparse=True)``, a trait
   with ``s_k^2 = 0.8`` (h2 = 0.4, ``g`` drawn family by family from the kinship block), and
   10,000 people chosen at random left unphenotyped; the model is fitted on the other 100,004
   and the 10,000 relatives are predicted. Peak memory traced (``tracemalloc``) in the fit
   and in the first prediction, against the ``8 n^2`` bytes of one dense ``n x n`` matrix of
   the records. Also kinship + household (households of :func:`household_labels`, variance
   0.1, ``vc_formula={"household": "0 + C(household)"}``: 27,501 households, evaluated to
   their levels without a dense design) on the engine path. Reference: the fit (model
   construction included). Target: seconds, memory far below ``n^2``.
3. a dense genomic relationship matrix of N + 500 people (N = 2,000 phenotyped, 500 new),
   single kinship: predicting the 500. Reference: one ``numpy.linalg.eigh`` of the N x N
   relationship matrix of the phenotyped people.

4. the milk-like herd of ``tests/results/lme4_dairy.py`` (3,400 lactations, a 6,547-animal
   pedigree given by its sparse inverse, permanent environment and herds: the sparse
   mixed-model equations): the breeding values with PEV of every animal of the pedigree
   (``which="breeding_value"``), each needing sparse solves with ``A^-1`` and the equations.
   Reference: the fit.

The coverage of the observation intervals printed in 1. and 2. is a sanity check only; see
``benchmarks/coverage_prediction.py`` for the coverage study. Runs in about 45 s.
"""
import argparse
import os
import time
import tracemalloc
import warnings

import numpy as np
import pandas as pd
from scipy import sparse

from _common import ROOT, median_time
import statsmodels_kinship as smk
from statsmodels_kinship.simulate import household_labels, replicate_pedigree, seed_pedigree

FORMULA = "trait ~ SNP1 + SNP3 + SNP5 + SNP11"
ROWS = []  # (benchmark, figure, reference, ratio, target) for the final table


def report(name, seconds, ref_name, ref_seconds, target, note=""):
    """Print one benchmark line and keep it for the table (``note`` in the table only)."""
    ratio = seconds / ref_seconds
    print(f"   {name:52s} {1000 * seconds:9.1f} ms   {ratio:6.3f} x {ref_name} "
          f"({1000 * ref_seconds:.0f} ms)   target {target}")
    ROWS.append((name, f"{1000 * seconds:.1f} ms", f"{ref_name} {1000 * ref_seconds:.0f} ms",
                 f"{ratio:.3f}", target + note))


def first_and_repeat(make_results, predict, repeat):
    """Median time of the first ``predict`` on fresh results (3 fits) and of ``repeat``
    further calls on the last of them."""
    firsts = []
    for _ in range(3):
        res = make_results()
        start = time.perf_counter()
        predict(res)
        firsts.append(time.perf_counter() - start)
    warm, out = median_time(lambda: predict(res), repeat)
    return float(np.median(firsts)), warm, out


def bench_study(repeat=15, seed=11):
    ped, geno, phe, _ = smk.read_study_csv(ROOT / "data")
    df = phe.join(geno)
    kin = smk.kinship_from_pedigree(ped)
    rng = np.random.default_rng(seed)
    held = rng.choice(df.index.to_numpy(), 100, replace=False)
    train, new = df.drop(held), df.loc[held]
    print(f"1. project study: fit on {len(train)} of {len(df)} people (K of all {len(kin)}), "
          f"predict the {len(new)} held out")
    variants = {"kinship": {}, "kinship + household": {
        "vc_formula": {"household": "0 + C(household)"}}}
    for label, kwargs in variants.items():
        def make():
            return smk.KinshipMixedLM.from_formula(FORMULA, train, kinship=kin, **kwargs).fit()

        t_fit, res = median_time(make, 7)
        path = "spectral" if res.delta is not None else type(res.model._engine).__name__
        print(f"   [{label}: {path} path]")
        first, warm, pred = first_and_repeat(make, lambda r: r.get_prediction(new), repeat)
        design = pd.DataFrame(res._transform_predict_exog(new, transform=True)[0],
                              index=new.index, columns=res.model.exog_names)
        vc = {"household": new["household"]} if kwargs else None
        t_core, _ = median_time(lambda: res.get_prediction(design, transform=False,
                                                           exog_vc=vc), repeat)
        report(f"{label}: get_prediction (repeat)", warm, "fit", t_fit, "well under 50 ms")
        report(f"{label}: first call (builds operator)", first, "fit", t_fit,
               "well under 50 ms")
        report(f"{label}: design given (transform=False)", t_core, "fit", t_fit, "-")
        sf = pred.summary_frame()
        hit = np.mean((sf["obs_ci_lower"] <= new["trait"]) & (new["trait"] <= sf["obs_ci_upper"]))
        print(f"   (95% obs interval covers {100 * hit:.0f}% of the 100 held-out traits)")


def big_study(n_families, n_new, seed):
    """Pedigree kinship of ``12 n_families`` people, two traits, the unphenotyped rows."""
    rng = np.random.default_rng(seed)
    ped = replicate_pedigree(seed_pedigree(), n_families)
    kin = smk.kinship_from_pedigree(ped, sparse=True)
    n = len(ped)
    block = kin.matrix[:12, :12].toarray()
    if (kin.matrix != sparse.block_diag([block] * n_families, format="csr")).nnz:
        raise RuntimeError("the kinship is not one 12 x 12 block per family in pedigree order")
    s_k2, s_h2 = 0.8, 0.1
    g = (rng.normal(size=(n_families, 12)) @ np.linalg.cholesky(s_k2 * block).T).ravel()
    hh = household_labels(ped).to_numpy()
    code, levels = pd.factorize(hh)
    h = rng.normal(scale=np.sqrt(s_h2), size=len(levels))[code]
    x = rng.normal(size=n)
    snp = rng.binomial(2, 0.3, size=n).astype(float)
    exog = np.column_stack([np.ones(n), x, snp])
    fixed = exog @ [1.0, 0.3, 0.2]
    # h2 = 0.4 of 1 (kinship diagonal 0.5); with households 0.4 + 0.1 + 0.5
    data = pd.DataFrame({"x": x, "snp": snp, "household": hh,
                         "trait": fixed + g + rng.normal(scale=np.sqrt(0.6), size=n),
                         "trait_hh": fixed + g + h + rng.normal(scale=np.sqrt(0.5), size=n)},
                        index=pd.Index(kin.labels, name="individual"))
    new = np.zeros(n, dtype=bool)
    new[rng.choice(n, n_new, replace=False)] = True
    return kin, data, new


def traced(func):
    """``func()`` under tracemalloc: (result, peak bytes)."""
    tracemalloc.start()
    try:
        out = func()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return out, peak


def bench_big(n_families, n_new, seed=3):
    start = time.perf_counter()
    kin, data, new = big_study(n_families, n_new, seed)
    t_sim = time.perf_counter() - start
    train, test = data[~new], data[new]
    n = len(train)
    dense = 8.0 * n ** 2
    print(f"2. {len(data):,} people in {n_families:,} families (sparse pedigree kinship); fit on "
          f"{n:,}, predict {len(test):,} relatives (simulation {t_sim:.1f} s); one dense "
          f"n x n: {dense / 2**30:.1f} GiB")

    def single():
        return smk.KinshipMixedLM.from_formula("trait ~ x + snp", train, kinship=kin).fit()

    def household():
        return smk.KinshipMixedLM.from_formula(
            "trait_hh ~ x + snp", train, kinship=kin,
            vc_formula={"household": "0 + C(household)"}).fit()

    variants = {
        "kinship": (single, lambda r: r.get_prediction(test), test["trait"]),
        "kinship + household": (household, lambda r: r.get_prediction(test), test["trait_hh"]),
    }
    for label, (make, predict, truth) in variants.items():
        start = time.perf_counter()
        res = make()
        t_fit = time.perf_counter() - start
        path = "spectral" if res.delta is not None else type(res.model._engine).__name__
        start = time.perf_counter()
        pred = predict(res)
        first = time.perf_counter() - start
        warm, _ = median_time(lambda: predict(res), 3)
        res_m, peak_fit = traced(make)
        _, peak_pred = traced(lambda: predict(res_m))
        vc = ", ".join(f"{k} {v:.3f}" for k, v in res.vcomp.items())
        print(f"   [{label}: {path} path; fit {t_fit:.2f} s; estimates {vc}]")
        mem = (f"peak memory fit {peak_fit / 2**20:.0f} MiB ({peak_fit / dense:.1e} of n x n), "
               f"predict {peak_pred / 2**20:.0f} MiB ({peak_pred / dense:.1e})")
        report(f"{label}: predict {len(test):,} (first call)", first, "fit", t_fit,
               "seconds, memory << n^2",
               note=f" (peak {peak_pred / 2**20:.0f} MiB = {peak_pred / dense:.0e} n^2)")
        print(f"   {mem}")
        report(f"{label}: predict {len(test):,} (repeat)", warm, "fit", t_fit, "seconds")
        sf = pred.summary_frame()
        y = truth.to_numpy()
        hit = np.mean((sf["obs_ci_lower"].to_numpy() <= y) & (y <= sf["obs_ci_upper"].to_numpy()))
        print(f"   (95% obs interval covers {100 * hit:.1f}% of the {len(y):,} unphenotyped "
              f"traits)")


def bench_grm(n=2000, n_new=500, n_snps=2000, seed=4):
    rng = np.random.default_rng(seed)
    m = n + n_new
    geno = rng.binomial(2, 0.3, size=(m, n_snps)).astype(float)
    z = (geno - geno.mean(axis=0)) / geno.std(axis=0)
    ids = np.array([f"I{i:05d}" for i in range(m)])
    grm = pd.DataFrame(z @ z.T / n_snps, index=ids, columns=ids)
    y = z[:, :200] @ rng.normal(scale=np.sqrt(0.5 / 200), size=200) + rng.normal(size=m)
    exog = np.column_stack([np.ones(m), rng.normal(size=m)])
    print(f"3. dense genomic relationship matrix of {m:,} people: fit on {n:,}, "
          f"predict {n_new}")
    t_eigh, _ = median_time(lambda: np.linalg.eigh(grm.to_numpy()[:n, :n]), 3)

    def make():
        return smk.KinshipMixedLM(y[:n], exog[:n], kinship=grm, individual=ids[:n]).fit()

    t_fit, res = median_time(make, 3)

    def predict(r):
        return r.get_prediction(exog[n:], individual=ids[n:])

    first, warm, _ = first_and_repeat(make, predict, 5)
    print(f"   [fit {t_fit:.2f} s = {t_fit / t_eigh:.2f} x eigh]")
    report(f"GRM: predict {n_new} (first call)", first, "eigh", t_eigh, "-")
    report(f"GRM: predict {n_new} (repeat)", warm, "eigh", t_eigh, "-")


def bench_herd(seed=20240610):
    """The milk-like herd of ``tests/results/lme4_dairy.py`` (sparse ``A^-1``, repeated
    records, permanent environment, herds): breeding values with PEV of every animal."""
    from statsmodels_kinship.simulate import simulate_dairy_herd

    sim = simulate_dairy_herd(seed=seed)
    records = sim.records.rename(columns={"yield": "milk"})  # `yield` is a Python keyword
    inverse = smk.inverse_relationship_matrix(sim.pedigree, family=None, individual="animal",
                                              father="sire", mother="dam", sex=None)
    print(f"4. milk-like herd: {len(records):,} lactations of {records['id'].nunique():,} "
          f"cows, {len(sim.pedigree):,}-animal pedigree given by A^-1 (sparse mixed-model "
          "equations): breeding values with PEV and reliability of every animal")

    def make():
        return smk.KinshipMixedLM.from_formula(
            "milk ~ C(lactation)", records, kinship={"additive": inverse},
            vc_formula={"permanent": "0 + C(id)", "herd": "0 + C(herd)"},
            individual="id").fit()

    start = time.perf_counter()
    res = make()
    t_fit = time.perf_counter() - start
    start = time.perf_counter()
    bv = res.get_prediction(which="breeding_value")
    t_bv = time.perf_counter() - start
    truth = sim.additive.reindex(bv.row_labels).to_numpy()
    print(f"   [fit {t_fit:.2f} s; {len(bv.predicted_mean):,} animals; corr(EBV, true "
          f"breeding value) {np.corrcoef(bv.predicted_mean, truth)[0, 1]:.3f}; mean "
          f"reliability {np.mean(bv.reliability):.3f}]")
    report(f"herd: breeding values of {len(bv.predicted_mean):,} animals", t_bv, "fit",
           t_fit, "-")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", type=int, default=9167,
                        help="families of 12 in benchmark 2 (default 9167: 110,004 people)")
    parser.add_argument("--new", type=int, default=10_000,
                        help="unphenotyped people predicted in benchmark 2")
    parser.add_argument("--grm", type=int, default=2000,
                        help="phenotyped people of the dense GRM benchmark (3)")
    parser.add_argument("--parts", type=int, nargs="+", choices=(1, 2, 3, 4),
                        default=(1, 2, 3, 4),
                        help="benchmarks to run (default all)")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    print(f"numpy {np.__version__}, {os.cpu_count()} CPUs")
    if 1 in args.parts:
        bench_study()
    if 2 in args.parts:
        bench_big(args.families, args.new)
    if 3 in args.parts:
        bench_grm(n=args.grm)
    if 4 in args.parts:
        bench_herd()
    width = max(len(r[0]) for r in ROWS)
    print(f"\n{'benchmark':{width}s}  {'time':>10s}  {'reference':>16s}  {'ratio':>6s}  target")
    for name, fig, ref, ratio, target in ROWS:
        print(f"{name:{width}s}  {fig:>10s}  {ref:>16s}  {ratio:>6s}  {target}")


if __name__ == "__main__":
    main()
