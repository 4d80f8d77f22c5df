"""Predictions of unphenotyped relatives (issue 11) against R's lme4.

Reference: ``tests/results/lme4_prediction.json``, made by ``lme4_prediction.R`` from
``lme4_prediction_data.csv`` (written by ``lme4_prediction.py`` from the project's ``data/``):
the family study with one child per family (100 people) treated as unphenotyped, fitted by
REML on the other 1100 records, ``trait ~ SNP1 + SNP3 + SNP5 + SNP11`` with (a) a kinship
component and (b) kinship + household. lme4's kinship term has a level for every person of
the pedigree (the held-out people are levels without records) and its ``Zt`` block is
premultiplied by ``R = chol(K)`` as lme4qtl does, so ``R' ranef`` is the BLUP of every
person's kinship effect ``g``; its conditional covariance (``sigma^2 Lambda (Lambda'Z'Z Lambda
+ I)^-1 Lambda'`` from the merMod's ``L``, mapped through ``R``) is ``Var(g | y)`` with ``b``
and the variance ratios fixed at their estimates. Our prediction error variances include the
uncertainty of the GLS ``b``; the tests take that term off (computed densely here: for a
target with covariance row ``c`` with the records and fixed-effects row ``x``, ``m = X'V^-1
c`` and the term is ``(x - m)' (X'V^-1X)^-1 (x - m)``, ``x = 0`` for a breeding value).

At our own optimum (variances within ~1e-7 of lme4's) BLUPs and predictions agree to ~1e-5
of their spread and variances to ~1e-4; at lme4's theta (a fit with the ratios held fixed)
everything agrees to rounding. The K of the R script is its own tabular computation from the
pedigree.
"""
import importlib.util
import json
import pathlib

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from statsmodels_kinship import KinshipMixedLM
from statsmodels_kinship.kinship import kinship_from_pedigree
from statsmodels_kinship.simulate import read_study_csv

ROOT = pathlib.Path(__file__).resolve().parents[1]
RESULTS = ROOT / "tests" / "results"
REF = json.loads((RESULTS / "lme4_prediction.json").read_text())
SNPS = ["SNP1", "SNP3", "SNP5", "SNP11"]
FORMULA = "trait ~ " + " + ".join(SNPS)
MODELS = ["kinship", "kinship_household"]


def load_study():
    """The project's data: records (phenotyped people), held-out rows, full K."""
    ped, geno, phe, _ = read_study_csv(ROOT / "data")
    df = phe.join(geno[SNPS])
    held = pd.Index(REF["data"]["held_out"])
    K = kinship_from_pedigree(ped)
    return {"df": df.drop(index=held), "held": df.loc[held], "K": K}


def _model(study, name):
    vc = {"household": "0 + C(household)"} if name == "kinship_household" else None
    return KinshipMixedLM.from_formula(FORMULA, study["df"], kinship={"kinship": study["K"]},
                                       vc_formula=vc)


@pytest.fixture(scope="module")
def study():
    return load_study()


def fit_models(study):
    """Per model: our REML fit, and the fit at lme4's theta (ratios theta^2 fixed)."""
    out = {}
    for name in MODELS:
        model = _model(study, name)
        ratio = np.array(list(REF[name]["theta"].values())) ** 2  # getME(fit, "theta")^2
        if len(ratio) == 1:  # the single-kinship (spectral) path takes a number
            ratio = float(ratio[0])
        out[name] = {"free": model.fit(reml=True),
                     "at_theta": model.fit(reml=True, kinship_ratio=ratio)}
    return out


@pytest.fixture(scope="module")
def fits(study):
    return fit_models(study)


def _b_terms(res, study, targets, households=None, x=None):
    """The variance added by estimating b, ``(x - m)' (X'V^-1X)^-1 (x - m)`` for each target,
    dense (``n`` = 1100), at ``res``'s variance components. ``targets``: individuals whose
    kinship effect (plus the household effect of ``households``, when given) is predicted;
    ``x``: their fixed-effects rows (zeros: a breeding value)."""
    df, K = study["df"], study["K"]
    v = res.vcomp
    Kr = K.loc[df.index, df.index].to_numpy()
    X = np.column_stack([np.ones(len(df)), df[SNPS].to_numpy(float)])
    V = v["kinship"] * Kr + v["residual"] * np.eye(len(df))
    C = v["kinship"] * K.loc[targets, df.index].to_numpy()   # Cov(g_t, y), m x n
    if "household" in v.index:
        hh = df["household"].to_numpy(dtype=object)
        W = (hh[:, None] == pd.unique(hh)[None, :]).astype(float)
        V += v["household"] * W @ W.T
        if households is not None:
            C = C + v["household"] * (np.asarray(households, dtype=object)[:, None]
                                      == hh[None, :])
    Vi_X = np.linalg.solve(V, X)
    M = C @ Vi_X                                              # rows m' = c'V^-1 X
    if x is not None:
        M = np.asarray(x, float) - M
    A_inv = np.linalg.inv(X.T @ Vi_X)
    return np.einsum("ij,jk,ik->i", M, A_inv, M)


def test_input_csv_reproduced(tmp_path):
    """lme4_prediction_data.csv is what lme4_prediction.py writes now from data/, and its
    held-out people are the JSON's."""
    spec = importlib.util.spec_from_file_location("lme4_prediction",
                                                  RESULTS / "lme4_prediction.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    path = mod.write_prediction_csv(tmp_path)
    assert path.read_bytes() == (RESULTS / "lme4_prediction_data.csv").read_bytes()
    table = pd.read_csv(path, dtype={"father": str, "mother": str})
    held = table.loc[table["held_out"] == 1, "individual"]
    assert_array_equal(held, REF["data"]["held_out"])
    assert (table.loc[held.index, "father"] != "0").all()          # children
    assert table.loc[held.index, "family"].nunique() == 100


def test_kinship_is_the_r_scripts(study):
    K = study["K"].to_numpy()
    assert K.shape == (REF["data"]["n_people"],) * 2
    assert_allclose(K.sum(), REF["data"]["K_sum"], rtol=1e-14)  # sum(K)
    assert (K != 0).sum() - len(K) == REF["data"]["K_offdiag_nonzero"]
    assert len(study["df"]) == REF["data"]["nobs"] == 1100


@pytest.mark.parametrize("name", MODELS)
def test_fit_against_lme4(fits, name):
    ref = REF[name]
    res = fits[name]["free"]
    assert res.converged
    assert_allclose(-2 * res.llf, ref["criterion"], rtol=1e-9)  # REMLcrit(fit)
    # sigma(fit)^2 * getME(fit, "theta")^2, sigma(fit)^2
    assert_allclose(res.vcomp, list(ref["vcomp"].values()), rtol=1e-6)
    se = np.array(list(ref["se"].values()))
    assert_allclose(res.params, list(ref["fixef"].values()), rtol=1e-6,
                    atol=1e-6 * se.min())  # fixef(fit)


def _breeding_values(res, ref, individuals=None):
    """Our breeding values and PEV with b known, and lme4's, aligned by individual."""
    blup = ref["blup_id"]
    lme4 = pd.DataFrame({"value": blup["value"], "condvar": blup["condvar"],
                         "held_out": blup["held_out"]}, index=blup["level"])
    if individuals is not None:
        lme4 = lme4.loc[individuals]
    pred = res.get_prediction(which="breeding_value", individual=lme4.index)
    return pred, lme4


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("fit", ["free", "at_theta"])
def test_breeding_values_against_lme4(study, fits, name, fit):
    """BLUPs of the kinship effect of every person (the 100 held out among them) and their
    PEV with b known against lme4's ranef and conditional variances."""
    ref = REF[name]
    res = fits[name][fit]
    tight = fit == "at_theta"
    held = pd.Index(REF["data"]["held_out"])
    pred, lme4 = _breeding_values(res, ref)
    assert len(lme4) == 1200 and lme4["held_out"].sum() == 100
    assert_array_equal(lme4.index[lme4["held_out"] == 1], held.sort_values())
    sd = lme4["value"].std()
    # R^T ranef(fit)$id over all 1200 levels
    assert_allclose(pred.predicted_mean, lme4["value"], rtol=0,
                    atol=(1e-10 if tight else 1e-5) * sd)
    # held-out people have no record: their BLUP comes from relatives alone
    assert np.abs(lme4.loc[held, "value"]).min() > 0
    # sigma^2 R^T [Lambda (Lambda'Z'Z Lambda + I)^-1 Lambda^T]_id R, diagonal
    b_term = _b_terms(res, study, lme4.index)
    pev_known = pred.var_pred_mean - b_term
    assert_allclose(pev_known, lme4["condvar"], rtol=1e-9 if tight else 1e-4)
    assert (b_term > 0).all()
    assert_allclose(pred.reliability, 1 - pred.var_pred_mean / (res.vcomp["kinship"] * 0.5),
                    rtol=1e-12)
    if tight:
        # Henderson's PEV with b estimated, dense in R, for the held-out people
        ours = pd.Series(np.asarray(pred.var_pred_mean), index=lme4.index)[held]
        assert_allclose(ours, ref["held_out"]["dense_pev_b_estimated"], rtol=1e-9)


@pytest.mark.parametrize("fit", ["free", "at_theta"])
def test_household_blups_against_lme4(fits, fit):
    ref = REF["kinship_household"]["blup_household"]
    res = fits["kinship_household"][fit]
    tight = fit == "at_theta"
    ours = res.random_effects_by_component["household"]
    labels = [f"C(household)[{level}]" for level in ref["level"]]
    assert len(ours) == len(labels) == 300
    value = np.asarray(ref["value"])  # ranef(fit)$household
    assert_allclose(ours[labels], value, rtol=0,
                    atol=(1e-10 if tight else 1e-5) * value.std())


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("fit", ["free", "at_theta"])
def test_held_out_predictions_against_lme4(study, fits, name, fit):
    """Conditional predictions of the held-out rows: x'b + g_t (+ h of the row's household)
    from lme4's fixef and ranef; their PEV with b known is lme4's conditional variance of
    g_t (+ h)."""
    ref = REF[name]["held_out"]
    res = fits[name][fit]
    tight = fit == "at_theta"
    held = study["held"]
    assert_array_equal(held.index, ref["individual"])
    assert_array_equal(held["household"], ref["household"])
    pred = res.get_prediction(exog=held)
    mean = np.asarray(ref["mean"])  # predict(fit, newdata, re.form = NA) + R^T ranef (+ h)
    sd = mean.std()
    assert_allclose(pred.fixed, ref["fixed"], rtol=0,
                    atol=(1e-10 if tight else 1e-5) * sd)  # predict(.., re.form = NA)
    assert_allclose(pred.predicted_mean, mean, rtol=0, atol=(1e-10 if tight else 1e-5) * sd)
    households = held["household"] if name == "kinship_household" else None
    x = np.column_stack([np.ones(len(held)), held[SNPS].to_numpy(float)])
    b_term = _b_terms(res, study, held.index, households, x)
    # Var(g_t (+ h) | y) with b fixed, from lme4's conditional covariance
    assert_allclose(pred.var_pred_mean - b_term, ref["var_b_known"],
                    rtol=1e-9 if tight else 1e-4)
    if tight:
        # Henderson's PEV of the mean with b estimated, dense in R
        assert_allclose(pred.var_pred_mean, ref["dense_var_mean_b_estimated"], rtol=1e-9)
    # lme4's predict(newdata, re.form = NULL) adds the coefficient u_t of the R-premultiplied
    # term, not g_t = (R^T u)_t: it is not the BLUP prediction
    assert np.abs(np.asarray(ref["predict_re_form_NULL"]) - mean).max() > 0.1 * sd
