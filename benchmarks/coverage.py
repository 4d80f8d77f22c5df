"""Empirical coverage of Wald and bootstrap intervals, and the size of the kinship LR test.

Usage::

    python benchmarks/coverage.py [--datasets N] [--null-datasets M] [--nsim R] [--families F]
                                  [--seed S]

Data sets are simulated from known parameters with a family kinship: F families with the seed
study's 12-member, 3-generation pedigree (kinship from ``kinship_from_pedigree``), a design
of an intercept, a SNP (0/1/2, minor-allele frequency 0.3) and a normal covariate, drawn
once, and

    y = 1 + 0.2 snp + 0.5 x + g + e,   g ~ N(0, s_k^2 K),  e ~ N(0, s_e^2 I).

1. Coverage: ``s_k^2 = 1, s_e^2 = 1``; each data set is fitted by REML and the 95% Wald
   interval of the SNP effect and its studentized and percentile parametric-bootstrap
   intervals (R replicates each) are checked against the true 0.2. Expected: 94-96%.
2. Size: ``s_k^2 = 0`` (M data sets); the kinship-variance LR test (REML, 50:50 mixture of
   chi2(0) and chi2(1)) at the 5% level. Expected: at most about 5% (the mixture is conservative for
   family data).

The Monte Carlo standard error of a coverage near 95% is printed with the results. Defaults
(N = 2000 data sets for coverage with R = 999 replicates each, M = 5000 for the size,
25 families = 300 people) run in about 100 s on a 2-core machine.
"""
import argparse
import time
import warnings

import numpy as np

from statsmodels_kinship import KinshipMixedLM, kinship_from_pedigree
from statsmodels_kinship.bootstrap import parametric_bootstrap
from statsmodels_kinship.inference import kinship_variance_test
from statsmodels_kinship.simulate import replicate_pedigree, seed_pedigree

BETA = np.array([1.0, 0.2, 0.5])
S_K2, S_E2 = 1.0, 1.0


def design(n_families, rng):
    kinship = kinship_from_pedigree(replicate_pedigree(seed_pedigree(), n_families))
    K = kinship.to_numpy()
    n = K.shape[0]
    X = np.column_stack([np.ones(n), rng.binomial(2, 0.3, size=n), rng.normal(size=n)])
    return K, X


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=int, default=2000)
    parser.add_argument("--null-datasets", type=int, default=5000)
    parser.add_argument("--nsim", type=int, default=999)
    parser.add_argument("--families", type=int, default=25)
    parser.add_argument("--seed", type=int, default=20240603)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    K, X = design(args.families, rng)
    n = len(K)
    chol = np.linalg.cholesky(K)
    m = np.mean(np.diag(K))
    print(f"n = {n} ({args.families} families of 12, seed pedigree); {args.datasets} data sets "
          f"with {args.nsim} bootstrap replicates each for coverage, {args.null_datasets} for "
          f"the LR test; "
          f"true s_k^2 = {S_K2}, s_e^2 = {S_E2} (h2 = {S_K2 * m / (S_K2 * m + S_E2):.2f}), "
          f"SNP effect {BETA[1]}")

    start = time.perf_counter()
    hits = {"Wald": 0, "studentized": 0, "percentile": 0}
    failed = 0
    for _ in range(args.datasets):
        y = X @ BETA + np.sqrt(S_K2) * chol @ rng.normal(size=n) + np.sqrt(S_E2) * rng.normal(
            size=n)
        res = KinshipMixedLM(y, X, kinship=K).fit()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # replicates that fail are counted below
            boot = parametric_bootstrap(res, nsim=args.nsim, seed=rng, progress=False)
        failed += boot.n_failed
        intervals = {"Wald": res.conf_int()[1],
                     "studentized": boot.conf_int(method="studentized").iloc[1].to_numpy(),
                     "percentile": boot.conf_int(method="percentile").iloc[1].to_numpy()}
        for name, (lo, hi) in intervals.items():
            hits[name] += lo <= BETA[1] <= hi
    t_cov = time.perf_counter() - start
    se = np.sqrt(0.95 * 0.05 / args.datasets)
    print(f"\n1. coverage of 95% intervals for the SNP effect (Monte Carlo SE {100 * se:.1f}%),"
          f" {t_cov:.0f} s:")
    for name, k in hits.items():
        print(f"   {name:12s} {100 * k / args.datasets:5.1f}%")
    print(f"   bootstrap replicates that did not converge: {failed} of "
          f"{args.datasets * args.nsim}")

    start = time.perf_counter()
    rejected, boundary = 0, 0
    for _ in range(args.null_datasets):
        y = X @ BETA + np.sqrt(S_E2) * rng.normal(size=n)
        res = KinshipMixedLM(y, X, kinship=K).fit()
        boundary += res.delta == 0
        rejected += kinship_variance_test(res).pvalue < 0.05
    t_lrt = time.perf_counter() - start
    print(f"\n2. kinship-variance LR test (REML, mixture) at 5% with s_k^2 = 0, "
          f"{t_lrt:.0f} s:")
    se0 = np.sqrt(0.05 * 0.95 / args.null_datasets)
    print(f"   rejection rate {100 * rejected / args.null_datasets:.1f}% "
          f"(Monte Carlo SE {100 * se0:.1f}%); estimates at s_k^2 = 0: "
          f"{100 * boundary / args.null_datasets:.0f}%")


if __name__ == "__main__":
    main()
