"""What the benchmark scripts share: timing, and the seed study's files.

The scripts are run as ``python benchmarks/<name>.py``, which puts this folder on
``sys.path``; ``import _common`` finds this module.
"""
import os
import pathlib
import sys
import time

import numpy as np
import pandas as pd

ROOT = pathlib.Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # the package from this checkout when it is not installed
    sys.path.insert(0, str(ROOT))


def median_time(func, repeat):
    """Median wall time of ``repeat`` calls of ``func`` and the last call's result."""
    times, out = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        out = func()
        times.append(time.perf_counter() - start)
    return float(np.median(times)), out


def seed_dir(argv):
    """The seed-data folder: the first argument, else $KINSHIP_SEED_DATA."""
    path = argv[1] if len(argv) > 1 else os.environ.get("KINSHIP_SEED_DATA")
    if not path:
        raise SystemExit("give the seed-data folder as argument or set KINSHIP_SEED_DATA")
    return pathlib.Path(path)


def load_seed(path):
    """The seed study: phenotype y (n), genotypes D (n x 130, the csv's 0/1/2), kinship K."""
    path = pathlib.Path(path)

    def read(name):
        return pd.read_csv(path / name, header=None).to_numpy(float)

    return read("phenotype.csv")[:, 0], read("design_matrix.csv"), read("kinship_matrix.csv")


def snp_names(n_snps):
    return [f"SNP{j + 1}" for j in range(n_snps)]


def blog_design(D):
    """The blog's design matrix, ``concatenate([ones(n), D.ravel()]).reshape(n, p + 1)``
    (a row of ones prepended, then reshaped: not [1, D]), labelled Intercept, SNP1, ..."""
    n, p = D.shape
    blog = np.concatenate([np.ones(n), D.ravel()]).reshape(n, p + 1)
    return pd.DataFrame(blog, columns=["Intercept"] + snp_names(p))
