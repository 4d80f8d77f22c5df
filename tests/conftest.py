"""Shared fixtures: access to the read-only seed data through ``KINSHIP_SEED_DATA``.

Tests that need the seed data use the ``seed_dir`` or ``seed`` fixtures. They skip (with the
reason) only when the variable is unset; when it is set, missing files are a failure.
Real data sets (``../shared/real-data``, one folder per data set, e.g. ``bluetit/``) come the
same way through ``KINSHIP_REAL_DATA`` and the ``real_dir`` fixture.
"""
import os
import pathlib

import numpy as np
import pandas as pd
import pytest

SEED_ENV = "KINSHIP_SEED_DATA"

# scripts that made the reference numbers (they need GEMMA, PLINK or R): not collected, not
# imported for doctests
collect_ignore = ["results"]


def _data_dir(env, what):
    """The folder named by the environment variable ``env``: skip when it is unset, fail when
    it is set but is not a directory."""
    path = os.environ.get(env)
    if not path:
        pytest.skip(f"{env} is not set; point it at ../shared/{what} to run the {what} tests")
    p = pathlib.Path(path)
    if not p.is_dir():
        pytest.fail(f"{env}={path!r} is set but is not a directory")
    return p


@pytest.fixture(scope="session")
def seed_dir():
    return _data_dir(SEED_ENV, "seed-data")


REAL_ENV = "KINSHIP_REAL_DATA"


@pytest.fixture(scope="session")
def real_dir():
    """Folder of the real data sets (``KINSHIP_REAL_DATA``), checked to hold the blue tit data.

    Skips when the variable is unset; fails when it is set but the folder or the files are
    missing."""
    p = _data_dir(REAL_ENV, "real-data")
    missing = [str(p / f) for f in ("bluetit/BTped.csv", "bluetit/BTdata.csv")
               if not (p / f).is_file()]
    if missing:
        pytest.fail(f"{REAL_ENV} is set but these files are missing: {', '.join(missing)}")
    return p


def _seed_file(seed_dir, name):
    f = seed_dir / name
    if not f.is_file():
        pytest.fail(f"{SEED_ENV} is set but {f} is missing")
    return f


@pytest.fixture(scope="session")
def seed(seed_dir):
    """The seed study as numpy arrays: y (n,), genotypes D (n, 130), kinship K (n, n)."""
    y = pd.read_csv(_seed_file(seed_dir, "phenotype.csv"), header=None).to_numpy()[:, 0]
    D = pd.read_csv(_seed_file(seed_dir, "design_matrix.csv"), header=None).to_numpy(float)
    K = pd.read_csv(_seed_file(seed_dir, "kinship_matrix.csv"), header=None).to_numpy(float)
    n = len(y)
    names = ["Intercept"] + [f"SNP{j + 1}" for j in range(D.shape[1])]
    # The blog's matrix: a row of ones prepended to the genotype rows, reshaped row-major.
    blog = np.concatenate([np.ones(n), D.ravel()]).reshape(n, D.shape[1] + 1)
    correct = np.column_stack([np.ones(n), D])
    return {"y": y, "D": D, "K": K, "names": names, "blog": blog, "correct": correct,
            "dir": seed_dir}
