"""Timing of a 1000-replicate studentized parametric bootstrap on the seed study.

Usage::

    python benchmarks/bench_bootstrap.py [SEED_DATA_DIR]   # default: $KINSHIP_SEED_DATA

The seed study with the blog's design (n = 1200, p = 131,
``concatenate([ones(n), D.ravel()]).reshape(n, 131)``), fitted by REML. Printed in one run:

1. the bootstrap: 1000 replicates, each refitted exactly by REML, and the studentized 95%
   intervals (median of 3 runs; target: under 2 s on a 2-core machine);
2. one ``numpy.linalg.eigh(K)`` (median of 5), the operation a naive refit repeats;
3. a naive loop that builds and fits a new KinshipMixedLM per replicate, timed on 20
   replicates (the same responses as the first 20 bootstrap replicates) and extrapolated to
   1000; the largest difference between its estimates and the bootstrap's is printed too.

For scale: the blog's Ruby gem took over 10 hours for these 1000 replicates and lme4's
``bootMer`` about 3.5 minutes on a 2-core machine (issue 3).
"""
import os
import sys
import warnings

import numpy as np
from threadpoolctl import threadpool_info

from _common import blog_design, load_seed, median_time, seed_dir
from statsmodels_kinship import KinshipMixedLM
from statsmodels_kinship.bootstrap import parametric_bootstrap, simulate

NSIM = 1000
NAIVE = 20


def main(argv):
    y, D, K = load_seed(seed_dir(argv))
    X = blog_design(D)
    n, p = X.shape
    blas = ", ".join(f"{i['internal_api']} {i['num_threads']} threads"
                     for i in threadpool_info() if i["user_api"] == "blas")
    print(f"numpy {np.__version__}, {os.cpu_count()} CPUs, BLAS: {blas}")
    print(f"seed study, blog design: n = {n}, p = {p}, REML")
    res = KinshipMixedLM(y, X, kinship=K).fit()

    def run(first=True):
        if first:  # drop the refit set-up the model caches, so that it is timed too
            res.model._batch_refits = None
        boot = parametric_bootstrap(res, nsim=NSIM, seed=2016, progress=False)
        return boot, boot.conf_int(method="studentized")

    run()  # warm-up (imports, first LAPACK calls)
    t_boot, (boot, ci) = median_time(run, 3)
    t_again, _ = median_time(lambda: run(first=False), 3)
    t_eigh, _ = median_time(lambda: np.linalg.eigh(K), 5)

    ys = simulate(res, nsim=NAIVE, seed=2016)  # the bootstrap's first 20 responses

    def naive():
        fits = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for i in range(NAIVE):
                fits.append(KinshipMixedLM(ys[i], X, kinship=K).fit())
        return fits

    t_naive, fits = median_time(naive, 1)
    t_naive_all = t_naive * NSIM / NAIVE
    diff = max(np.max(np.abs(boot.params.iloc[i] - fits[i].params) / fits[i].bse)
               for i in range(NAIVE))

    print(f"1. bootstrap, {NSIM} studentized replicates     {t_boot:8.3f} s   "
          f"(target < 2 s; {1e3 * t_boot / NSIM:.2f} ms per replicate, batch size "
          f"{boot.batch_size}, {boot.n_failed} failed)")
    print(f"   again on the same model (set-up cached)  {t_again:8.3f} s")
    print(f"2. one numpy.linalg.eigh(K)                   {t_eigh:8.3f} s   "
          f"bootstrap = {t_boot / t_eigh:.1f} eigh(K)")
    print(f"3. naive loop, new model per replicate        {t_naive:8.3f} s for {NAIVE}, "
          f"{t_naive_all:.1f} s extrapolated to {NSIM}   speed-up {t_naive_all / t_boot:.0f}x")
    print(f"   largest |bootstrap - naive| coefficient over the {NAIVE} replicates: "
          f"{diff:.1e} standard errors")
    excl = ((ci[0] > 0) | (ci[1] < 0)).drop("Intercept")
    print(f"   studentized 95% intervals excluding 0 ({int(excl.sum())} SNPs): "
          + ", ".join(excl.index[excl]))


if __name__ == "__main__":
    main(sys.argv)
