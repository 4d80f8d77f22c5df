"""Regenerate the project's simulated family study, byte for byte.

Usage (from the repository root)::

    python data/make_data.py              # writes data/*.csv
    python data/make_data.py --outdir DIR # writes DIR/*.csv

The study is ``simulate_family_study(**study_parameters(), seed=SEED)``: the design of the
seed data (100 families of 12, 130 SNPs from 5 ancestral haplotypes per LD block, trait mean
10 and variance 1, causal SNP1, SNP3, SNP5, SNP11 explaining 60%; see ``data/README.md``)
with, instead of the seed's SeqSIMLA-style shared environment, a known polygenic component
and household effect: of the variance left after the causal SNPs (0.4), the polygenic
component (``POLYGENIC``, variance proportional to the pedigree's kinship) is 0.14 and the
household effect (``HOUSEHOLD``) 0.06, the individual environment the remaining 0.20; the true
shares are h2 = 0.14 / 0.4 = 0.35 and c2 = 0.06 / 0.4 = 0.15. ``SEED`` was chosen so that the
design ``[1, genotypes]`` is rank deficient (rank 48 of 131: SNPs in perfect LD) while none
of the causal SNPs is aliased with earlier SNPs; the genotypes do not depend on the trait
parameters, so they are those of the earlier version of this study (seed's shared
environment, no households). Files are written with "\\n" line endings and fixed float
formats so that they are identical on every platform.
"""
import argparse
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from a checkout
    sys.path.insert(0, str(ROOT))

from statsmodels_kinship.simulate import (  # noqa: E402
    seed_study_parameters,
    simulate_family_study,
)

SEED = 20160646
#: fractions of the trait variance (1): polygenic component and household effect
POLYGENIC = 0.14
HOUSEHOLD = 0.06


def study_parameters():
    """Keyword arguments of ``simulate_family_study`` for this study (all but the seed).

    Returns
    -------
    dict
        ``seed_study_parameters()`` with no shared environment (``shared_env_fraction=0``),
        ``polygenic=POLYGENIC`` and ``household=HOUSEHOLD``.
    """
    return {**seed_study_parameters(), "shared_env_fraction": 0.0,
            "polygenic": POLYGENIC, "household": HOUSEHOLD}


def main(outdir=None):
    """Simulate the study and write the four CSV files.

    Parameters
    ----------
    outdir : str or path-like, optional
        Folder to write into (created if needed). Default: the folder of this script.

    Returns
    -------
    list of pathlib.Path
        The files written, in the order of ``statsmodels_kinship.simulate.STUDY_FILES``.
    """
    outdir = pathlib.Path(outdir) if outdir is not None else pathlib.Path(__file__).parent
    study = simulate_family_study(**study_parameters(), seed=SEED)
    return study.to_csv(outdir)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outdir", default=None,
                        help="folder to write into (default: the folder of this script)")
    for p in main(parser.parse_args().outdir):
        print(f"wrote {p} ({p.stat().st_size} bytes)")
