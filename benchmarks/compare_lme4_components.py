"""Agreement of fits with several variance components with lme4 and lmerTest (the figures
quoted in the README, the user guide and the CHANGELOG).

Usage::

    python benchmarks/compare_lme4_components.py [SEED_DATA_DIR [REAL_DATA_DIR]]
        # defaults: $KINSHIP_SEED_DATA, $KINSHIP_REAL_DATA

Reads lme4's numbers from ``tests/results/lme4_seed_household.json``,
``lme4_bluetit.json`` and ``lme4_dairy.json`` and lmerTest's from
``lmertest_components.json`` (each beside the R script that made it) and prints, per model
and method, the largest relative differences of the criterion (-2 llf), the variance
components, the fixed effects and their standard errors, and of the Satterthwaite df.
"""
import json
import os
import pathlib
import sys
import warnings

import numpy as np
import pandas as pd

from _common import ROOT, load_seed
import statsmodels_kinship as smk

RESULTS = ROOT / "tests" / "results"


def rel(ours, theirs):
    ours, theirs = np.asarray(ours, dtype=float), np.asarray(theirs, dtype=float)
    return float(np.max(np.abs(ours - theirs) / np.abs(theirs)))


def models(seed_dir, real_dir):
    """``{name: (model, lme4 reference of that fit)}``."""
    out = {}
    y, D, K = load_seed(seed_dir)
    ref = json.loads((RESULTS / "lme4_seed_household.json").read_text())
    df = pd.DataFrame(D[:, [0, 2, 4]], columns=["SNP1", "SNP3", "SNP5"])
    df["y"], df["household"] = y, ref["data"]["household"]
    out["seed household"] = (smk.KinshipMixedLM.from_formula(
        "y ~ SNP1 + SNP3 + SNP5", df, kinship=K,
        vc_formula={"household": "0 + C(household)"}), ref["kinship_household"])

    ref = json.loads((RESULTS / "lme4_bluetit.json").read_text())
    bt = pd.read_csv(real_dir / "bluetit" / "BTdata.csv").set_index("animal")
    ped = pd.read_csv(real_dir / "bluetit" / "BTped.csv")
    hd = np.sort(bt["hatchdate"].unique())
    bt["hatchday"] = [f"d{np.searchsorted(hd, v) + 1:02d}" for v in bt["hatchdate"]]
    kin = smk.kinship_from_pedigree(ped, family=None, individual="animal", father="sire",
                                    mother="dam", sex=None)
    for name, vc in (("tarsus_af", {"fosternest": "0 + C(fosternest)"}),
                     ("tarsus_afh", {"fosternest": "0 + C(fosternest)",
                                     "hatchday": "0 + C(hatchday)"})):
        out[f"blue tit {name}"] = (smk.KinshipMixedLM.from_formula(
            "tarsus ~ sex", bt, kinship={"animal": 2 * kin}, vc_formula=vc), ref[name])

    ref = json.loads((RESULTS / "lme4_dairy.json").read_text())
    rec = pd.read_csv(RESULTS / "lme4_dairy_records.csv", dtype={"id": str, "herd": str})
    ped = pd.read_csv(RESULTS / "lme4_dairy_pedigree.csv", dtype=str)
    a_inv = smk.inverse_relationship_matrix(ped, family=None, individual="animal",
                                            father="sire", mother="dam", sex=None)
    out["dairy herd"] = (smk.KinshipMixedLM.from_formula(
        'Q("yield") ~ C(lactation)', rec, kinship={"additive": a_inv},
        vc_formula={"permanent": "0 + C(id)", "herd": "0 + C(herd)"}, individual="id"),
        ref["dairy"])
    return out


def main(argv):
    seed_dir = pathlib.Path(argv[1] if len(argv) > 1 else os.environ["KINSHIP_SEED_DATA"])
    real_dir = pathlib.Path(argv[2] if len(argv) > 2 else os.environ["KINSHIP_REAL_DATA"])
    warnings.simplefilter("ignore")
    print(f"{'model':22s} {'method':6s} {'criterion':>9s} {'variances':>9s} {'fixef':>9s} "
          f"{'SE':>9s}")
    fits = {}
    for name, (model, ref) in models(seed_dir, real_dir).items():
        for method in ("REML", "ML"):
            res = model.fit(reml=method == "REML")
            fits[name, method] = res
            r = ref[method]
            # a variance at 0 (lme4 too) compares in absolute terms
            ours_v = res.vcomp.to_numpy()
            theirs_v = np.array([r["vcomp"][k] for k in res.vcomp.index])
            zero = theirs_v == 0
            var = max(rel(ours_v[~zero], theirs_v[~zero]), float(np.max(ours_v[zero], initial=0)))
            print(f"{name:22s} {method:6s} {rel(-2 * res.llf, r['criterion']):9.1e} {var:9.1e} "
                  f"{rel(res.params, list(r['fixef'].values())):9.1e} "
                  f"{rel(res.bse, list(r['se'].values())):9.1e}")
    lmertest = json.loads((RESULTS / "lmertest_components.json").read_text())
    print("\nSatterthwaite df against lmerTest (lmertest_components.json):")
    for key, name in (("seed_household", "seed household"), ("tarsus_af", "blue tit tarsus_af"),
                      ("tarsus_afh", "blue tit tarsus_afh")):
        for method, r in lmertest[key].items():
            if method not in ("REML", "ML"):
                continue
            res = fits[name, method]
            df = np.asarray(res.satterthwaite_df(), dtype=float)
            print(f"{name:22s} {method:6s} df {rel(df, list(r['df'].values())):9.1e}")


if __name__ == "__main__":
    main(sys.argv)
