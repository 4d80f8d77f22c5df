"""An animal model with several variance components on real data: the blue tit
cross-fostering experiment (MCMCglmm's ``BTdata`` and ``BTped``, Hadfield et al. 2007).

Usage::

    python examples/bluetit_animal_model.py [BLUETIT_DIR]

``BLUETIT_DIR`` holds ``BTdata.csv`` and ``BTped.csv`` (default:
``$KINSHIP_REAL_DATA/bluetit``, e.g. ``../shared/real-data/bluetit``). It

1. builds the additive relationship matrix A = 2 x kinship of the 1,040-bird pedigree
   (``kinship_from_pedigree`` with the pedigree's own column names; sexes are not given),
2. fits ``tarsus ~ sex`` with an additive genetic component (A, by chick) and a foster-nest
   component, by REML and by ML, and prints the variance components and their shares of the
   phenotypic variance (the additive share is the heritability); the same fits as lme4's in
   ``tests/results/lme4_bluetit.R``,
3. adds a component for the genetic mother (``dam``) and shows the
   ``IdentifiabilityWarning``: in these data every dam has chicks by one sire and only chicks
   have records, so A is block diagonal by full-sib family and the additive and dam
   variances enter the covariance only through ``s_a^2 + s_m^2`` and ``s_a^2 / 2 + s_m^2``;
   the likelihood is flat along a line, and the split printed is one point of it.
"""
import argparse
import os
import pathlib
import warnings

import pandas as pd

from statsmodels_kinship import KinshipMixedLM, kinship_from_pedigree
from statsmodels_kinship.exceptions import IdentifiabilityWarning

FILES = ["BTdata.csv", "BTped.csv"]
#: the random part of the two models besides the additive component
FOSTERNEST = {"fosternest": "0 + C(fosternest)"}
DAM_FOSTERNEST = {"dam": "0 + C(dam)", "fosternest": "0 + C(fosternest)"}


def load(folder):
    """The records (indexed by chick, ``animal``) and the additive relationship matrix A."""
    folder = pathlib.Path(folder)
    records = pd.read_csv(folder / "BTdata.csv").set_index("animal")
    pedigree = pd.read_csv(folder / "BTped.csv")  # animal, dam, sire; NA: unknown parent
    additive = 2 * kinship_from_pedigree(pedigree, family=None, individual="animal",
                                         father="sire", mother="dam", sex=None)
    return records, pedigree, additive


def components(res):
    """Variance components and shares of a fit, one row per component."""
    return pd.DataFrame({"variance": res.vcomp, "std. error": res.bse_vcomp,
                         "share": res.variance_shares["share"],
                         "share SE": res.variance_shares["std. error"]})


def main(folder):
    records, pedigree, additive = load(folder)
    print(f"{len(records)} chicks with records, {records['dam'].nunique()} genetic mothers, "
          f"{records['fosternest'].nunique()} foster nests; pedigree of {len(pedigree)} birds, "
          f"A = 2 x kinship: {additive.shape[0]} x {additive.shape[1]}")

    model = KinshipMixedLM.from_formula("tarsus ~ sex", data=records,
                                        kinship={"additive": additive}, vc_formula=FOSTERNEST)
    fits = {method: model.fit(reml=method == "REML") for method in ("REML", "ML")}
    for method, res in fits.items():
        print(f"\n== tarsus ~ sex + additive + fosternest, {method} ==")
        print(f"log-likelihood {res.llf:.4f}; fixed effects: "
              + ", ".join(f"{k} {v:.4f}" for k, v in res.params.items()))
        print(components(res).round(4).to_string())
        print(f"heritability (additive share) h2 = {res.h2:.3f} (SE {res.bse_h2:.3f})")
    print()
    print(fits["REML"].summary())

    print("\n== adding the genetic mother: tarsus ~ sex + additive + dam + fosternest ==")
    with_dam = KinshipMixedLM.from_formula("tarsus ~ sex", data=records,
                                           kinship={"additive": additive},
                                           vc_formula=DAM_FOSTERNEST)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", IdentifiabilityWarning)
        res = with_dam.fit()
    for w in caught:
        if issubclass(w.category, IdentifiabilityWarning):
            print(f"IdentifiabilityWarning: {w.message}")
    print(f"identified: {res.identified}; log-likelihood {res.llf:.4f} (without dam "
          f"{fits['REML'].llf:.4f}); one split of the flat direction:")
    print(components(res).round(4).to_string())
    print("Every dam's chicks are full sibs by one sire and only chicks have records: the "
          "additive and dam variances are not separable in these data (a design where dams "
          "have chicks by several sires, or parents with records, would separate them).")


def parse_args(argv=None):
    """The blue tit folder (argument, or ``$KINSHIP_REAL_DATA/bluetit``), checked to hold
    the files read here (a wrong path ends in a one-line message and exit status 2)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", default=None,
                        help="folder holding BTdata.csv and BTped.csv (default: "
                             "$KINSHIP_REAL_DATA/bluetit)")
    folder = parser.parse_args(argv).folder
    if folder is None:
        real = os.environ.get("KINSHIP_REAL_DATA")
        if not real:
            parser.exit(2, f"{parser.prog}: error: give the blue tit folder, or set "
                           "KINSHIP_REAL_DATA (e.g. ../shared/real-data)\n")
        folder = pathlib.Path(real) / "bluetit"
    folder = pathlib.Path(folder)
    missing = [f for f in FILES if not (folder / f).is_file()]
    if missing:
        parser.exit(2, f"{parser.prog}: error: {str(folder)!r} is not the blue tit folder: "
                       f"it lacks {', '.join(missing)}\n")
    return folder


if __name__ == "__main__":
    main(parse_args())
