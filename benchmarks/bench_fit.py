"""Timing of a KinshipMixedLM fit against peers and a reference operation, in one process.

Usage::

    python benchmarks/bench_fit.py [SEED_DATA_DIR]   # default: $KINSHIP_SEED_DATA

Prints medians (seconds) and ratios for

1. the seed study, blog design (n = 1200, p = 131): a full REML fit (model construction and
   decomposition of K included), statsmodels MixedLM with the kinship as a variance component
   (Z = chol(K), one group; and with family groups, Z = chol of each 12 x 12 block), and one
   ``numpy.linalg.eigh(K)``;
2. a dense K with no block structure (a genomic relationship matrix from 5,000 SNPs, n = 1200),
   p = 3 and p = 131: a full fit against one ``eigh(K)``;
3. 100,000 people in 25,000 nuclear families, K held sparse: one fit, its peak traced memory
   against the n^2 doubles a dense K would need.

Targets (2-core machine): (1) under 50 ms and at least 10x faster than MixedLM with family
groups; (2) at most 1.5x one eigh(K); (3) under 10 s, memory far below n^2.
"""
import os
import sys
import time
import tracemalloc
import warnings

import numpy as np
import statsmodels.api as sm
from scipy import sparse

from _common import blog_design, load_seed, median_time
from statsmodels_kinship import KinshipMixedLM


def bench_seed(path):
    y, D, K = load_seed(path)
    X = blog_design(D).to_numpy()
    n = len(y)
    ours = median_time(lambda: KinshipMixedLM(y, X, kinship=K).fit(), 15)[0]
    eig = median_time(lambda: np.linalg.eigh(K), 5)[0]
    families = np.arange(n) // 12
    chol_block = np.linalg.cholesky(K[:12, :12])
    assert np.allclose(np.kron(np.eye(n // 12), K[:12, :12]), K), "seed K is not 100 equal blocks"
    exog_vc_fam = {"kinship": {f: chol_block for f in range(n // 12)}}
    exog_vc_one = {"kinship": {0: np.linalg.cholesky(K)}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fam = median_time(lambda: sm.MixedLM(y, X, groups=families,
                                             exog_vc=exog_vc_fam).fit(reml=True), 3)[0]
        one = median_time(lambda: sm.MixedLM(y, X, groups=np.zeros(n),
                                             exog_vc=exog_vc_one).fit(reml=True), 1)[0]
    print("1. seed study, blog design (n = 1200, p = 131), REML")
    print(f"   KinshipMixedLM fit (decomposition included)  {ours:9.4f} s")
    print(f"   numpy.linalg.eigh(K)                          {eig:9.4f} s   fit/eigh = "
          f"{ours / eig:5.2f}")
    print(f"   MixedLM, kinship VC, 100 family groups        {fam:9.4f} s   speed-up "
          f"{fam / ours:7.1f}x")
    print(f"   MixedLM, kinship VC, one group                {one:9.4f} s   speed-up "
          f"{one / ours:7.1f}x")


def bench_dense(n=1200, n_snps=5000, seed=0):
    rng = np.random.default_rng(seed)
    G = rng.binomial(2, 0.3, size=(n, n_snps)).astype(float)
    Z = (G - G.mean(0)) / G.std(0)
    K = Z @ Z.T / n_snps
    print(f"2. dense genomic relationship matrix (n = {n}, {n_snps} SNPs, no block structure)")
    for p in (3, 131):
        X = np.column_stack([np.ones(n), rng.normal(size=(n, p - 1))])
        y = X[:, 1] + rng.multivariate_normal(np.zeros(n), 0.5 * K) + rng.normal(size=n)
        ours = median_time(lambda: KinshipMixedLM(y, X, kinship=K).fit(), 7)[0]
        eig = median_time(lambda: np.linalg.eigh(K), 7)[0]
        print(f"   p = {p:3d}: fit {ours:8.4f} s, eigh(K) {eig:8.4f} s, fit/eigh = "
              f"{ours / eig:5.2f}")


def bench_large(n_families=25000, seed=0):
    rng = np.random.default_rng(seed)
    block = np.full((4, 4), 0.25)  # two unrelated parents, two children
    block[0, 1] = block[1, 0] = 0.0
    np.fill_diagonal(block, 0.5)
    K = sparse.block_diag([sparse.csr_matrix(block)] * n_families, format="csr")
    n = K.shape[0]
    X = np.column_stack([np.ones(n), rng.normal(size=n), rng.binomial(2, 0.3, size=n)])
    g = (rng.normal(size=(n_families, 4)) @ np.linalg.cholesky(1.5 * block).T).ravel()
    y = X @ [1.0, 0.5, -0.3] + g + rng.normal(size=n)
    tracemalloc.start()
    start = time.perf_counter()
    res = KinshipMixedLM(y, X, kinship=K).fit()
    elapsed = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(f"3. {n} people in {n_families} nuclear families, sparse block-diagonal K")
    print(f"   fit {elapsed:.3f} s, peak traced memory {peak / 2**20:.1f} MiB "
          f"(a dense K: {n * n * 8 / 2**30:.1f} GiB); s_k^2 = {res.vcomp['kinship']:.3f} "
          f"(true 1.5), s_e^2 = {res.vcomp['residual']:.3f} (true 1.0)")


def main(argv):
    path = argv[1] if len(argv) > 1 else os.environ.get("KINSHIP_SEED_DATA")
    print(f"numpy {np.__version__}, {os.cpu_count()} CPUs")
    if path:
        bench_seed(path)
    else:
        print("1. skipped: give the seed-data folder as argument or set KINSHIP_SEED_DATA")
    bench_dense()
    bench_large()


if __name__ == "__main__":
    main(sys.argv)
