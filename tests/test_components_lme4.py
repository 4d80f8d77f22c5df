"""Several variance components (issue 10) against R's lme4.

Reference numbers, each beside the R script that made it (lme4 through its modular
interface, a relationship term's ``Zt`` block premultiplied by ``chol(K)`` as lme4qtl does; the
best of three optimizers, then a tight bobyqa):

* ``tests/results/lme4_seed_household.json`` (``lme4_seed_household.R``): the seed study
  (``KINSHIP_SEED_DATA``), kinship + household, kinship alone and household alone, and fits
  at fixed theta;
* ``tests/results/lme4_bluetit.json`` (``lme4_bluetit.R``): the blue tit cross-fostering data
  (``KINSHIP_REAL_DATA``), additive (``animal``) + fosternest, + dam (not identified), +
  hatch day (a boundary fit), and fits at fixed theta;
* the dairy reference (``lme4_dairy.R``: repeated records, additive + permanent environment
  + crossed herd) is tested in ``tests/test_sparse_mme.py``, whose engine fits it; the
  comparison helpers below serve both files.

In lme4's conventions ``theta_j`` is the relative standard deviation of term ``j``:
``s_j^2 = sigma^2 theta_j^2``, so a fit at lme4's theta is ``fit(kinship_ratio=theta**2)``.
Our optimum may be slightly better than lme4's (its criterion is rough at 1e-11 and its
optimizers stop at about 1e-7 in theta): criteria agree to 1e-9 relative and ours is never
above lme4's; estimates agree to 1e-6 relative; at lme4's own theta everything agrees to
rounding.
"""
import json
import pathlib
import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy import stats

from statsmodels_kinship import KinshipMixedLM
from statsmodels_kinship.exceptions import IdentifiabilityWarning
from statsmodels_kinship.inference import variance_component_test
from statsmodels_kinship.kinship import kinship_from_pedigree

RESULTS_DIR = pathlib.Path(__file__).parent / "results"
SEED_HH = json.loads((RESULTS_DIR / "lme4_seed_household.json").read_text())
BLUETIT = json.loads((RESULTS_DIR / "lme4_bluetit.json").read_text())
METHODS = ["REML", "ML"]


def check_against_lme4(res, ref, names, rtol=1e-6):
    """The fit ``res`` against lme4's ``ref`` (``multi_summary`` of kinship_lmm.R), the
    variance components by our names ``names`` (lme4's terms in order, then the residual);
    estimates to ``rtol``."""
    assert res.converged
    assert res.method == ("REML" if ref["REML"] else "ML")
    assert list(res.vcomp.index) == names
    crit = -2 * res.llf
    assert_allclose(crit, ref["criterion"], rtol=1e-9)  # REMLcrit(fit) / deviance(fit)
    assert crit <= ref["criterion"] + 1e-8
    assert_allclose(res.llf, ref["logLik"], rtol=1e-9)  # logLik(fit)
    assert_allclose(res.aic, ref["AIC"], rtol=1e-9)  # AIC(fit)
    assert_allclose(res.bic, ref["BIC"], rtol=1e-9)  # BIC(fit)
    assert res.model.rank + len(res.vcomp) == ref["df"]  # attr(logLik(fit), "df")
    vcomp = list(ref["vcomp"].values())  # sigma(fit)^2 * getME(fit, "theta")^2, sigma^2
    assert_allclose(res.vcomp, vcomp, rtol=rtol, atol=1e-12)
    assert_allclose(res.scale, ref["sigma2"], rtol=rtol)  # sigma(fit)^2
    assert_allclose(res.theta, list(ref["theta"].values()), rtol=rtol)  # getME(fit, "theta")
    fixef = np.array(list(ref["fixef"].values()))  # fixef(fit), in lme4's column order
    se = np.array(list(ref["se"].values()))  # sqrt(diag(vcov(fit)))
    assert_allclose(res.params, fixef, rtol=rtol, atol=rtol * se.min())
    assert_allclose(res.bse, se, rtol=rtol)
    assert_allclose(res.cov_params(), np.array(ref["vcov"]), rtol=10 * rtol,
                    atol=rtol * se.min() ** 2)  # vcov(fit)


def check_at_theta(model, ref):
    """The fit at lme4's theta (no optimization): everything equals lme4's to rounding."""
    theta = np.array(list(ref["theta"].values()), dtype=float)
    res = model.fit(reml=ref["REML"], kinship_ratio=theta ** 2)
    assert res.fit_info["fixed_ratio"]
    assert_allclose(-2 * res.llf, ref["criterion"], rtol=1e-10)  # REMLcrit(fit)
    assert_allclose(res.scale, ref["sigma2"], rtol=1e-9)  # sigma(fit)^2
    assert_allclose(res.vcomp, list(ref["vcomp"].values()), rtol=1e-9)
    se = np.array(list(ref["se"].values()))
    assert_allclose(res.params, list(ref["fixef"].values()), rtol=1e-9,
                    atol=1e-8 * se.min())  # fixef(fit)
    assert_allclose(res.bse, se, rtol=1e-9)  # sqrt(diag(vcov(fit)))
    assert_allclose(res.aic, ref["AIC"], rtol=1e-10)  # AIC(fit)
    assert_allclose(res.bic, ref["BIC"], rtol=1e-10)  # BIC(fit)
    # the model's log-likelihood at lme4's parameters
    params = np.r_[list(ref["fixef"].values()), list(ref["vcomp"].values())]
    assert_allclose(model.loglike(params, reml=ref["REML"]), -0.5 * ref["criterion"],
                    rtol=1e-10)  # -REMLcrit(fit) / 2
    return res


def check_blups(res, ref, labels=None, rtol=1e-5):
    """BLUPs by level (``ranef(fit)``; for a relationship term ``R' ranef``, the effect on the
    scale of K) and the fitted values, to the accuracy with which lme4 pins theta down
    (``rtol``, and ``rtol / 10`` of the largest value absolute). ``labels``: per component, a
    function of lme4's level giving ours. Levels of lme4 that we do not have (animals without
    records in the pedigree) are left out."""
    labels = labels or {}
    for name, blup in ref["blup"].items():
        ours = res.random_effects_by_component[name]
        index = pd.Index([labels.get(name, str)(level) for level in blup["level"]])
        value = np.asarray(blup["value"])
        atol = 0.1 * rtol * np.abs(value).max()
        have = index.isin(ours.index)
        assert have.sum() == len(ours)  # every level of ours is lme4's
        assert_allclose(ours[index[have]], value[have], rtol=rtol, atol=atol)  # ranef(fit)
    fitted = np.asarray(ref["fitted"])
    assert_allclose(res.fittedvalues, fitted, rtol=rtol / 10,
                    atol=0.1 * rtol * np.std(fitted))  # fitted(fit)


# -------------------------------------------------------------------------------------------
# Seed study: kinship + household
# -------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def seed_hh(seed):
    """The seed study with the households of lme4_seed_household.R, indexed by person."""
    data = SEED_HH["data"]
    assert data["n"] == len(seed["y"])
    ids = pd.Index(data["id"], name="id")
    D = seed["D"]
    df = pd.DataFrame({"y": seed["y"], "SNP1": D[:, 0], "SNP3": D[:, 2], "SNP5": D[:, 4],
                       "household": data["household"]}, index=ids)
    assert df["household"].nunique() == data["n_households"] == 300
    K = pd.DataFrame(seed["K"], index=ids, columns=ids)
    return {"df": df, "K": K}


def seed_model(data, terms=("kinship", "household")):
    kinship = {"kinship": data["K"]} if "kinship" in terms else None
    vc = {"household": "0 + C(household)"} if "household" in terms else None
    return KinshipMixedLM.from_formula("y ~ SNP1 + SNP3 + SNP5", data["df"], kinship=kinship,
                                       vc_formula=vc)


def household_label(level):
    return f"C(household)[{level}]"


@pytest.mark.parametrize("method", METHODS)
def test_seed_household_against_lme4(seed_hh, method):
    ref = SEED_HH["kinship_household"][method]
    model = seed_model(seed_hh)
    assert model.component_names == ref["terms"] == ["kinship", "household"]
    res = model.fit(reml=method == "REML")
    check_against_lme4(res, ref, ["kinship", "household", "residual"])
    assert res.fit_info["boundary"] == [] and res.identified
    shares = res.variance_shares["share"]  # s_j^2 m_j / sum, m = 0.5 (K), 1, 1
    assert_allclose(shares, list(ref["shares"].values()), rtol=1e-6)
    assert_allclose(res.h2, ref["shares"]["kinship"], rtol=1e-6)
    check_blups(res, ref, {"household": household_label})


@pytest.mark.parametrize("which", [0, 1])
def test_seed_household_at_theta(seed_hh, which):
    ref = SEED_HH["at_theta"][which]
    check_at_theta(seed_model(seed_hh), ref)


@pytest.mark.parametrize("method", METHODS)
def test_seed_household_one_term_fits(seed_hh, method):
    """The fits with one term: kinship alone (the spectral path) and household alone (the
    engine with one grouping factor)."""
    for term in ("kinship", "household"):
        ref = SEED_HH[term][method]
        res = seed_model(seed_hh, (term,)).fit(reml=method == "REML")
        check_against_lme4(res, ref, [term, "residual"])
        label = household_label if term == "household" else str
        check_blups(res, ref, {term: label})


@pytest.mark.parametrize("method", METHODS)
def test_seed_household_lr_tests(seed_hh, method):
    """The LR test of each term is the difference of lme4's criteria with and without it."""
    res = seed_model(seed_hh).fit(reml=method == "REML")
    full = SEED_HH["kinship_household"][method]["criterion"]
    for term, without in (("household", "kinship"), ("kinship", "household")):
        test = variance_component_test(res, term)
        # REMLcrit(fit_without) - REMLcrit(fit), both at their optima
        assert_allclose(test.statistic, SEED_HH[without][method]["criterion"] - full,
                        rtol=1e-8, atol=2e-8)
        assert_allclose(test.pvalue, 0.5 * stats.chi2.sf(test.statistic, 1), rtol=1e-12)
        assert test.df_diff == 1


# -------------------------------------------------------------------------------------------
# Blue tits: additive + fosternest (+ dam, + hatch day)
# -------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def bluetit(real_dir):
    """BTdata indexed by animal with lme4_bluetit.R's hatch-day factor, and A = 2 x kinship
    of the whole pedigree BTped."""
    bt = pd.read_csv(real_dir / "bluetit" / "BTdata.csv")
    ped = pd.read_csv(real_dir / "bluetit" / "BTped.csv")
    data = BLUETIT["data"]
    assert list(bt["animal"]) == data["animal"]  # the JSON's row order
    bt["hatchday"] = data["hatchday"]
    assert bt["hatchday"].nunique() == 18
    A = 2 * kinship_from_pedigree(ped, family=None, individual="animal", father="sire",
                                  mother="dam", sex=None)
    return {"df": bt.set_index("animal"), "A": A}


FORMULA_TERMS = {"tarsus_af": ("tarsus", ["fosternest"]),
                 "back_af": ("back", ["fosternest"]),
                 "tarsus_adf": ("tarsus", ["dam", "fosternest"]),
                 "tarsus_afh": ("tarsus", ["fosternest", "hatchday"])}


def bluetit_model(data, fit_name):
    trait, groups = FORMULA_TERMS[fit_name]
    return KinshipMixedLM.from_formula(f"{trait} ~ sex", data["df"], kinship={"animal": data["A"]},
                                       vc_formula={g: f"0 + C({g})" for g in groups})


def group_labels(*names):
    return {name: (lambda level, name=name: f"C({name})[{level}]") for name in names}


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("fit_name", ["tarsus_af", "back_af"])
def test_bluetit_against_lme4(bluetit, fit_name, method):
    ref = BLUETIT[fit_name][method]
    model = bluetit_model(bluetit, fit_name)
    assert model.component_names == ref["terms"]
    res = model.fit(reml=method == "REML")
    check_against_lme4(res, ref, ["animal", "fosternest", "residual"])
    assert res.identified and res.fit_info["boundary"] == []
    check_blups(res, ref, group_labels("fosternest"))


@pytest.mark.parametrize("method", METHODS)
def test_bluetit_dam_not_identified(bluetit, method):
    """With dam added the split between animal, dam and residual is not identified (every
    dam has chicks by one sire and parents are unrelated founders): the fit warns naming
    them, reports ``identified`` False and no covariance of the variances; its criterion
    and fixed effects are lme4's, and its split lies on the ridge of tarsus_af's optimum:
    ``s_m^2 = t, s_a^2 = s_a0^2 - 2 t, s_e^2 = s_e0^2 + t``."""
    ref = BLUETIT["tarsus_adf"][method]
    model = bluetit_model(bluetit, "tarsus_adf")
    assert model.component_names == ref["terms"] == ["animal", "dam", "fosternest"]
    with pytest.warns(IdentifiabilityWarning, match=r"not identified: .*animal, dam"):
        res = model.fit(reml=method == "REML")
    assert not res.identified
    assert res.vcomp_cov.isna().all().all() and res.bse_vcomp.isna().all()
    crit = -2 * res.llf
    assert_allclose(crit, ref["criterion"], rtol=1e-9)  # REMLcrit(fit)
    assert crit <= ref["criterion"] + 1e-8
    se = np.array(list(ref["se"].values()))
    assert_allclose(res.params, list(ref["fixef"].values()), rtol=1e-6,
                    atol=1e-6 * se.min())  # fixef(fit)
    assert_allclose(res.bse, se, rtol=1e-6)  # sqrt(diag(vcov(fit)))
    ridge = BLUETIT["tarsus_adf"]["ridge"][method]
    af = ridge["af_optimum"]["vcomp"]
    v = res.vcomp
    assert v["dam"] >= 0 and v["animal"] >= 0
    assert v["dam"] <= ridge["segment_end_t"] * (1 + 1e-6)
    assert_allclose(v["animal"] + 2 * v["dam"], af["animal"], rtol=1e-6)
    assert_allclose(v["residual"] - v["dam"], af["residual"], rtol=1e-6)
    assert_allclose(v["fosternest"], af["fosternest"], rtol=1e-6)
    # the criterion along the ridge, at lme4's theta (exact, no optimization): a fit with the
    # ratios held fixed is not flagged (only s_e^2 is estimated)
    for point in ridge["exact_points"]:
        theta = np.array(list(point["theta"].values()), dtype=float)
        at = model.fit(reml=method == "REML", kinship_ratio=theta ** 2)
        assert_allclose(-2 * at.llf, point["criterion"], rtol=1e-10)  # devfun(theta)
        assert_allclose(at.vcomp, list(point["vcomp"].values()), rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize("method", METHODS)
def test_bluetit_hatchday_at_the_boundary(bluetit, method):
    """lme4 estimates the hatch-day variance at exactly 0; so do we, flagged as a boundary,
    with the other components those of tarsus_af."""
    reml = method == "REML"
    ref = BLUETIT["tarsus_afh"][method]
    model = bluetit_model(bluetit, "tarsus_afh")
    assert model.component_names == ref["terms"] == ["animal", "fosternest", "hatchday"]
    with warnings.catch_warnings():
        warnings.simplefilter("error", IdentifiabilityWarning)
        res = model.fit(reml=reml)
    assert res.identified and res.boundary
    assert res.fit_info["boundary"] == ["hatchday"]
    assert res.vcomp["hatchday"] == 0.0 and res.gamma[2] == 0.0
    assert np.isnan(res.bse_vcomp["hatchday"])
    check_against_lme4(res, ref, ["animal", "fosternest", "hatchday", "residual"])
    af = bluetit_model(bluetit, "tarsus_af").fit(reml=reml)
    assert_allclose(res.llf, af.llf, rtol=1e-12)
    assert_allclose(res.vcomp.drop("hatchday"), af.vcomp, rtol=1e-8)
    assert_allclose(res.params, af.params, rtol=1e-8)
    assert_allclose(res.bse, af.bse, rtol=1e-8)
    assert_allclose(res.vcomp_cov.drop(index="hatchday", columns="hatchday"), af.vcomp_cov,
                    rtol=1e-6)
    # the LR test of a component at 0 is 0
    test = variance_component_test(res, "hatchday")
    assert test.statistic == 0.0 and test.pvalue == 1.0
    # lme4's profile over theta_hatchday > 0, the others optimized: never below our optimum,
    # and our maximization with theta_hatchday held there finds lme4's value (or better)
    boundary = BLUETIT["tarsus_afh"]["boundary"][method]
    for point in boundary["profile_theta_hatchday"]:
        assert point["criterion"] > -2 * res.llf
        start = np.r_[res.gamma[:2], point["theta_hatchday"] ** 2]
        _, llf, info = model._engine.maximize(reml, start=start, fixed=[False, False, True])
        assert info["converged"]
        assert_allclose(-2 * llf, point["criterion"], rtol=1e-9)
        assert -2 * llf <= point["criterion"] + 1e-8


@pytest.mark.parametrize("which", [0, 1, 2])
def test_bluetit_at_theta(bluetit, which):
    ref = BLUETIT["at_theta"][which]
    fit_name = "tarsus_afh" if "hatchday" in ref["terms"] else "tarsus_af"
    model = bluetit_model(bluetit, fit_name)
    assert model.component_names == ref["terms"]
    check_at_theta(model, ref)


# The dairy data (repeated records, additive + permanent environment + herd, crossed herds)
# against lme4: tests/test_sparse_mme.py (its fits go through the mixed-model equations).
