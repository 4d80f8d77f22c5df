"""Agreement of predictions of unphenotyped relatives with lme4 (the figures quoted in the
README and the CHANGELOG).

Usage::

    python benchmarks/compare_lme4_prediction.py

Reads lme4's numbers from ``tests/results/lme4_prediction.json`` (made by
``lme4_prediction.R``: the project's ``data/`` with one child per family unphenotyped,
``trait ~ SNP1 + SNP3 + SNP5 + SNP11`` with the kinship, and with kinship + household) and
prints, for our REML fit and for the fit at lme4's theta, the largest differences of the
variance components (relative), the breeding values of all 1,200 people and the conditional
predictions of the 100 held-out children (absolute, in units of their standard deviation),
and of their variances with b known (relative; ours minus the term of the uncertainty of
b). The fits and the comparisons are those of ``tests/test_prediction_lme4.py``, whose
assertions bound these numbers.
"""
import pathlib
import sys
import warnings

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests"))
import test_prediction_lme4 as ref_test  # noqa: E402


def rel(ours, theirs):
    ours, theirs = np.asarray(ours, dtype=float), np.asarray(theirs, dtype=float)
    return float(np.max(np.abs(ours - theirs) / np.abs(theirs)))


def by_sd(ours, theirs):
    ours, theirs = np.asarray(ours, dtype=float), np.asarray(theirs, dtype=float)
    return float(np.max(np.abs(ours - theirs)) / theirs.std())


def main():
    warnings.simplefilter("ignore")
    study = ref_test.load_study()
    fits = ref_test.fit_models(study)
    held = study["held"]
    x = np.column_stack([np.ones(len(held)), held[ref_test.SNPS].to_numpy(float)])
    print(f"{'model':18s} {'fit':9s} {'variances':>10s} {'EBVs/SD':>10s} "
          f"{'EBV var':>10s} {'held mean/SD':>12s} {'held var':>10s}")
    for name in ref_test.MODELS:
        ref = ref_test.REF[name]
        for fit in ("free", "at_theta"):
            res = fits[name][fit]
            bv, lme4 = ref_test._breeding_values(res, ref)
            bv_var = bv.var_pred_mean - ref_test._b_terms(res, study, lme4.index)
            pred = res.get_prediction(exog=held)
            households = held["household"] if name == "kinship_household" else None
            var = pred.var_pred_mean - ref_test._b_terms(res, study, held.index,
                                                         households, x)
            print(f"{name:18s} {fit:9s} {rel(res.vcomp, list(ref['vcomp'].values())):10.1e} "
                  f"{by_sd(bv.predicted_mean, lme4['value']):10.1e} "
                  f"{rel(bv_var, lme4['condvar']):10.1e} "
                  f"{by_sd(pred.predicted_mean, ref['held_out']['mean']):12.1e} "
                  f"{rel(var, ref['held_out']['var_b_known']):10.1e}")


if __name__ == "__main__":
    main()
