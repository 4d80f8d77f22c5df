"""Timing of the sparse inverse relationship matrix on a large animal-breeding pedigree.

    python benchmarks/bench_pedigree.py [N_ANIMALS]        (default 100,000)

One connected pedigree of 10 generations (few sires per generation, some records with one
parent unknown, as in dairy data) is simulated; ``inverse_relationship_matrix`` is timed and
compared with a reference operation timed in the same run: ``numpy.linalg.inv`` of the dense
relationship matrix A of the first 2,000 animals (the dense route, which does not scale: the
dense kinship of the whole pedigree is refused with ``KinshipMemoryError``).
"""
import sys
import time

import numpy as np
import pandas as pd

import _common  # noqa: F401  (puts this checkout's package on sys.path)
from statsmodels_kinship import inverse_relationship_matrix, kinship_from_pedigree
from statsmodels_kinship.exceptions import KinshipMemoryError


def animal_pedigree(n_animals, n_gen=10, n_sires=100, p_dam_unknown=0.2, p_sire_unknown=0.05,
                    seed=0):
    """One connected pedigree: each generation's parents drawn from the previous one (few
    sires), some records with one parent unknown ("0")."""
    rng = np.random.default_rng(seed)
    per_gen = n_animals // n_gen
    ids = np.arange(n_gen * per_gen) + 1
    sire, dam = np.zeros(len(ids), dtype=np.int64), np.zeros(len(ids), dtype=np.int64)
    for g in range(1, n_gen):
        prev = ids[(g - 1) * per_gen:g * per_gen]
        cur = slice(g * per_gen, (g + 1) * per_gen)
        sires = rng.choice(prev[:per_gen // 2], min(n_sires, per_gen // 2), replace=False)
        sire[cur] = np.where(rng.random(per_gen) < p_sire_unknown, 0,
                             rng.choice(sires, per_gen))
        dam[cur] = np.where(rng.random(per_gen) < p_dam_unknown, 0,
                            rng.choice(prev[per_gen // 2:], per_gen))
    return pd.DataFrame({"individual": ids.astype(str), "father": sire.astype(str),
                         "mother": dam.astype(str)})


def main(n_animals):
    ped = animal_pedigree(n_animals)
    one_parent = int(((ped["father"] == "0") != (ped["mother"] == "0")).sum())
    print(f"{len(ped)} animals in one connected pedigree, {one_parent} with one known parent")
    start = time.perf_counter()
    inv = inverse_relationship_matrix(ped, family=None)
    t_inv = time.perf_counter() - start
    print(f"   inverse_relationship_matrix                {t_inv:8.3f} s   "
          f"({inv.matrix.nnz} nonzeros, max inbreeding {inv.inbreeding.max():.3f})")
    small = ped.iloc[:2000]
    a_small = 2 * kinship_from_pedigree(small, family=None).to_numpy()
    start = time.perf_counter()
    np.linalg.inv(a_small)
    t_dense = time.perf_counter() - start
    print(f"   numpy.linalg.inv(A), first 2000 animals    {t_dense:8.3f} s   "
          f"sparse inverse of all {len(ped)} / dense inverse of 2000 = {t_inv / t_dense:.1f}")
    try:
        kinship_from_pedigree(ped, family=None)
    except KinshipMemoryError as err:
        print(f"   dense kinship of the whole pedigree: refused ({str(err)[:90]}...)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
