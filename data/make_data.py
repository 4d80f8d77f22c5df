"""Regenerate the project's simulated family study, byte for byte.

Usage (from the repository root)::

    python data/make_data.py              # writes data/*.csv
    python data/make_data.py --outdir DIR # writes DIR/*.csv

The study is ``simulate_family_study(**seed_study_parameters(), seed=SEED)``: the design of
the seed data (100 families of 12, 130 SNPs from 5 ancestral haplotypes per LD block, trait
mean 10 and variance 1; see ``data/README.md``). ``SEED`` was chosen so that the design
``[1, genotypes]`` is rank deficient (rank 48 of 131: SNPs in perfect LD) while none of the
causal SNPs SNP1, SNP3, SNP5, SNP11 is aliased with earlier SNPs. Files are written with
"\\n" line endings and fixed float formats so that they are identical on every platform.
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
    study = simulate_family_study(**seed_study_parameters(), seed=SEED)
    return study.to_csv(outdir)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outdir", default=None,
                        help="folder to write into (default: the folder of this script)")
    for p in main(parser.parse_args().outdir):
        print(f"wrote {p} ({p.stat().st_size} bytes)")
