"""Write the simulated dairy data set of ``lme4_dairy.R`` (issue 10: additive, permanent
environment and herd variance components with repeated records).

Usage (from the repository root)::

    python tests/results/lme4_dairy.py          # then: Rscript tests/results/lme4_dairy.R

Writes, beside this script, from
``statsmodels_kinship.simulate.simulate_dairy_herd(seed=SEED)`` at its default sizes (6,547
animals, 1,360 cows, 3,400 lactations, 57 herds; h2 = 0.3, pe2 = 0.15, herd2 = 0.1):

``lme4_dairy_pedigree.csv``
    animal, sire, dam ("0" for an unknown parent), parents before their offspring.
``lme4_dairy_records.csv``
    id (the cow), herd, lactation (1 to 5), yield (kg, written with 2 decimals).

Both files are plain CSV with "\\n" line endings; ``tests/test_simulate_dairy.py`` checks that
they equal, byte for byte, what :func:`write_dairy_csv` writes now, so they cannot drift from
the simulator.
"""
import pathlib

from statsmodels_kinship.simulate import simulate_dairy_herd

HERE = pathlib.Path(__file__).resolve().parent
SEED = 20240610
PEDIGREE_FILE = "lme4_dairy_pedigree.csv"
RECORDS_FILE = "lme4_dairy_records.csv"


def write_dairy_csv(folder=HERE):
    """Simulate the data set (fixed seed, default sizes) and write the two CSV files to
    ``folder``; returns their paths."""
    folder = pathlib.Path(folder)
    dairy = simulate_dairy_herd(seed=SEED)
    paths = folder / PEDIGREE_FILE, folder / RECORDS_FILE
    dairy.pedigree.to_csv(paths[0], index=False, lineterminator="\n")
    dairy.records.to_csv(paths[1], index=False, lineterminator="\n", float_format="%.2f")
    return paths


if __name__ == "__main__":
    for path in write_dairy_csv():
        print(f"wrote {path}")
