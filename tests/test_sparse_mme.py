"""The sparse mixed-model equations (``_engine.SparseMMELikelihood``): a relationship given by
its sparse inverse (a pedigree's ``A^-1``, ``inverse_relationship_matrix``) with repeated
records and a crossed grouping factor, against

* the dense engine (``_engine.BlockLikelihood``, exact analytic derivatives) on the same
  model with ``A`` itself: criterion, GLS solution and BLUPs to rounding, the fit to 1e-6;
* the dense BLUP formula ``gamma A[:, p] Z' H^-1 r`` for every animal of the pedigree,
  those without records (ancestors) included;
* lme4 (``tests/results/lme4_dairy.json``, made by ``lme4_dairy.R``) on the dairy data:
  3,400 lactations of 1,360 cows in a 6,547-animal pedigree and 57 herds, one connected
  block, whose dense factorization at each evaluation makes a fit take minutes.

The small data set: ``simulate_dairy_herd`` with 300 animals, 100 cows, 250 records and 6
herds (one connected block of 250 records).
"""
import json
import pathlib
import pickle

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from statsmodels_kinship import KinshipMixedLM
from statsmodels_kinship._engine import (
    BlockLikelihood,
    InverseComponent,
    SparseMMELikelihood,
)
from statsmodels_kinship.inference import variance_component_test
from statsmodels_kinship.kinship import inverse_relationship_matrix, kinship_from_pedigree
from statsmodels_kinship.simulate import simulate_dairy_herd
from test_components_lme4 import check_against_lme4, check_at_theta

RESULTS_DIR = pathlib.Path(__file__).parent / "results"
DAIRY_FILE = RESULTS_DIR / "lme4_dairy.json"
PEDIGREE_COLUMNS = dict(family=None, individual="animal", father="sire", mother="dam", sex=None)
NAMES = ["additive", "permanent", "herd"]
VC_FORMULA = {"permanent": "0 + C(id)", "herd": "0 + C(herd)"}


def dairy_model(records, additive):
    return KinshipMixedLM.from_formula("milk ~ C(lactation)", records,
                                       kinship={"additive": additive}, vc_formula=VC_FORMULA,
                                       individual="id")


@pytest.fixture(scope="module")
def small():
    """The small herd as two models: A^-1 (sparse MME) and A over all animals (dense)."""
    sim = simulate_dairy_herd(n_animals=300, n_cows=100, n_records=250, n_herds=6, seed=3)
    ped = sim.pedigree
    records = sim.records.rename(columns={"yield": "milk"})  # `yield` is a Python keyword
    inverse = inverse_relationship_matrix(ped, **PEDIGREE_COLUMNS)
    A = 2 * kinship_from_pedigree(ped, **PEDIGREE_COLUMNS)
    return {"ped": ped, "records": records, "inverse": inverse, "A": A,
            "sparse": dairy_model(records, inverse), "dense": dairy_model(records, A)}


@pytest.fixture(scope="module")
def small_fits(small):
    return {(kind, reml): small[kind].fit(reml=reml)
            for kind in ("sparse", "dense") for reml in (True, False)}


def test_engine_choice(small):
    sparse_model, dense_model = small["sparse"], small["dense"]
    assert type(sparse_model._engine) is SparseMMELikelihood
    assert type(dense_model._engine) is BlockLikelihood
    assert sparse_model.component_names == dense_model.component_names == NAMES
    additive = sparse_model.structure.components[0]
    assert isinstance(additive, InverseComponent) and additive.kind == "relationship"
    # all animals of the pedigree are levels (those without records too); the records are
    # one block, as with the dense matrix
    assert list(additive.levels) == list(small["inverse"].labels)
    assert sparse_model.structure.n_blocks == dense_model.structure.n_blocks == 1
    # diag(A) = 1 + F: the typical variance per unit s_a^2 is the same
    assert_allclose(sparse_model.structure.mean_diagonals,
                    dense_model.structure.mean_diagonals, rtol=1e-14)


@pytest.mark.parametrize("gamma", [[0.5, 0.3, 0.2], [2.0, 0.0, 0.1], [0.0, 0.0, 0.0],
                                   [1e-4, 5.0, 0.0], [30.0, 1e-3, 4.0]])
@pytest.mark.parametrize("reml", [True, False])
def test_criterion_equals_dense(small, gamma, reml):
    """The profiled criterion and the GLS solution equal the dense engine's to rounding, also
    with components at 0 (left out of the equations: the exact limit)."""
    sparse_engine, dense_engine = small["sparse"]._engine, small["dense"]._engine
    gamma = np.array(gamma)
    assert_allclose(sparse_engine.loglike(gamma, reml), dense_engine.loglike(gamma, reml),
                    rtol=1e-12)
    ours, theirs = sparse_engine.solve(gamma, level=1), dense_engine.solve(gamma, level=1)
    for key in ("params", "rss", "logdet_a", "logdet_v", "py", "quad", "r_mats"):
        assert_allclose(ours[key], theirs[key], rtol=1e-9,
                        atol=1e-12 * np.abs(theirs[key]).max(), err_msg=key)


def test_one_record_per_animal_equals_spectral(small):
    """One relationship given by its inverse with one record per animal (the index holding
    the animals' IDs) goes through the sparse equations and equals the single-kinship
    spectral fit with A."""
    first = small["records"].query("lactation == 1").set_index("id")
    ours = KinshipMixedLM.from_formula("milk ~ 1", first, kinship=small["inverse"])
    theirs = KinshipMixedLM.from_formula("milk ~ 1", first, kinship=small["A"])
    assert type(ours._engine) is SparseMMELikelihood and theirs._engine is None
    assert ours.vcomp_names == theirs.vcomp_names == ["kinship", "residual"]
    params = np.array([8000.0, 4e5, 6e5])
    for reml in (True, False):
        assert_allclose(ours.loglike(params, reml), theirs.loglike(params, reml), rtol=1e-12)
    res_ours, res_theirs = ours.fit(), theirs.fit()
    assert_allclose(res_ours.vcomp, res_theirs.vcomp, rtol=1e-6)
    assert_allclose(res_ours.llf, res_theirs.llf, rtol=1e-12)
    assert_allclose(res_ours.h2, res_theirs.h2, rtol=1e-6)
    assert_allclose(res_ours.bse_vcomp, res_theirs.bse_vcomp, rtol=1e-5)
    kinship = res_ours.random_effects_by_component["kinship"]
    assert len(kinship) == len(small["inverse"].labels)  # every animal
    assert_allclose(kinship[first.index], res_theirs.random_effects, rtol=1e-6,
                    atol=1e-6 * np.abs(res_theirs.random_effects).max())


def test_zero_is_the_limit(small):
    """``gamma_j = 0`` (the component dropped from the equations) is the limit of small
    ``gamma_j`` (the component's G^-1 block large)."""
    engine = small["sparse"]._engine
    at_zero = engine.loglike(np.array([0.5, 0.0, 0.2]))
    assert_allclose(engine.loglike(np.array([0.5, 1e-10, 0.2])), at_zero, rtol=1e-12)


@pytest.mark.parametrize("reml", [True, False])
def test_derivatives_equal_dense(small, small_fits, reml):
    """Score (central differences) and observed information (second differences of the
    log-determinants, exact quadratic forms) against the dense engine's analytic ones, at
    the estimate (s_e^2 its scale) and away from it; the average information is exact."""
    sparse_engine, dense_engine = small["sparse"]._engine, small["dense"]._engine
    res = small_fits["dense", reml]
    for gamma, scale in [(res.gamma, res.scale), (np.array([0.5, 0.3, 0.2]), 7e5)]:
        assert_allclose(sparse_engine.score(gamma, reml), dense_engine.score(gamma, reml),
                        rtol=1e-5, atol=1e-8 * len(res.model.endog))
        ai = sparse_engine.derivatives(sparse_engine.solve(gamma, level=1), reml)[1]
        assert_allclose(ai, dense_engine.derivatives(dense_engine.solve(gamma, level=1),
                                                      reml)[1], rtol=1e-9)
        ours = sparse_engine.information(gamma, scale, reml)
        theirs = dense_engine.information(gamma, scale, reml)
        assert_allclose(np.diag(ours), np.diag(theirs), rtol=1e-6)
        # relative to the diagonal (a small off-diagonal entry loses digits to cancellation)
        norm = np.sqrt(np.outer(np.diag(theirs), np.diag(theirs)))
        assert_allclose(ours / norm, theirs / norm, atol=1e-6)


@pytest.mark.parametrize("reml", [True, False])
def test_fit_equals_dense(small, small_fits, reml):
    ours, theirs = small_fits["sparse", reml], small_fits["dense", reml]
    assert ours.converged and theirs.converged
    assert ours.fit_info["boundary"] == theirs.fit_info["boundary"] == []
    assert ours.fit_info["n_evals"] < 120
    assert_allclose(ours.gamma, theirs.gamma, rtol=1e-6)
    assert_allclose(ours.llf, theirs.llf, rtol=1e-12)
    assert_allclose(ours.vcomp, theirs.vcomp, rtol=1e-6)
    assert_allclose(ours.params, theirs.params, rtol=1e-7)
    assert_allclose(ours.bse, theirs.bse, rtol=1e-6)
    assert_allclose(ours.bse_vcomp, theirs.bse_vcomp, rtol=1e-5)
    assert_allclose(ours.variance_shares, theirs.variance_shares, rtol=1e-5)
    # BLUPs: every level the dense model has (the cows with records) to 1e-6
    for name in NAMES:
        mine, dense = (r.random_effects_by_component[name] for r in (ours, theirs))
        assert_allclose(mine[dense.index], dense, rtol=1e-6, atol=1e-6 * np.abs(dense).max(),
                        err_msg=name)
    assert_allclose(ours.fittedvalues, theirs.fittedvalues, rtol=1e-8)
    assert "additive" in str(ours.summary())  # the summary's LR tests refit on the engine
    # at the same ratios the BLUPs agree to rounding
    same = small["dense"]._engine.effects(ours.gamma)["blups"]
    mine = small["sparse"]._engine.effects(ours.gamma)["blups"]
    cows = ours.random_effects_by_component["additive"].index.get_indexer(
        small["dense"].individuals)
    assert_allclose(mine["additive"][cows], same["additive"], rtol=1e-9,
                    atol=1e-12 * np.abs(same["additive"]).max())
    for name in NAMES[1:]:
        assert_allclose(mine[name], same[name], rtol=1e-9, atol=1e-12 * np.abs(same[name]).max())


def test_blups_of_every_animal(small, small_fits):
    """BLUPs of all animals of the pedigree, with records or without, equal the dense formula
    ``s_a^2 A[:, p] Z' V^-1 (y - X b)`` (``p`` the animals with records)."""
    res = small_fits["sparse", True]
    model = res.model
    records, A = small["records"], small["A"]
    s2 = res.vcomp.to_numpy()
    animals = A.index
    Z = (records["id"].to_numpy()[:, None] == animals.to_numpy()[None, :]).astype(float)
    Zh = pd.get_dummies(records["herd"]).to_numpy(dtype=float)
    Ad = A.to_numpy()
    V = (s2[0] * Z @ Ad @ Z.T + s2[1] * Z @ Z.T + s2[2] * Zh @ Zh.T
         + s2[3] * np.eye(len(records)))
    vr = np.linalg.solve(V, model.endog - model.exog @ res.params)
    expected = s2[0] * Ad @ (Z.T @ vr)
    blup = res.random_effects_by_component["additive"]
    assert list(blup.index) == list(animals)
    no_records = ~animals.isin(records["id"])
    assert no_records.sum() == 200
    assert_allclose(blup, expected, rtol=1e-8, atol=1e-10 * np.abs(expected).max())
    assert np.abs(blup[no_records]).max() > 0.1 * np.abs(blup).max()  # ancestors do get BLUPs


def test_boundary_estimate(small):
    """The herd effects removed from the response: the herd variance is estimated at 0 (a
    boundary estimate), as by the dense engine."""
    records = small["records"].copy()
    herd_mean = records.groupby("herd")["milk"].transform("mean")
    records["milk"] = records["milk"] - herd_mean + records["milk"].mean()
    ours = dairy_model(records, small["inverse"]).fit()
    theirs = dairy_model(records, small["A"]).fit()
    assert ours.converged and theirs.converged
    assert ours.fit_info["boundary"] == theirs.fit_info["boundary"] == ["herd"]
    assert ours.gamma[2] == theirs.gamma[2] == 0.0
    assert_allclose(ours.gamma, theirs.gamma, rtol=1e-6)
    assert_allclose(ours.llf, theirs.llf, rtol=1e-12)
    assert np.all(ours.random_effects_by_component["herd"] == 0.0)
    assert np.isnan(ours.bse_vcomp["herd"]) and np.all(np.isfinite(ours.bse_vcomp.drop("herd")))
    assert_allclose(ours.bse_vcomp.drop("herd"), theirs.bse_vcomp.drop("herd"), rtol=1e-5)


def test_likelihood_ratio_test_equals_dense(small, small_fits):
    """The test of a component refits with it held at 0 (``maximize(fixed=...)``)."""
    ours = variance_component_test(small_fits["sparse", True], "permanent")
    theirs = variance_component_test(small_fits["dense", True], "permanent")
    assert_allclose(ours.statistic, theirs.statistic, rtol=1e-6, atol=1e-8)


def test_with_endog_and_pickle(small, small_fits):
    res = small_fits["sparse", True]
    engine = res.model._engine
    y = engine.endog
    other = engine.with_endog(2.0 * y)
    gamma, llf, _ = other.maximize(True, start=res.gamma)
    assert_allclose(gamma, res.gamma, rtol=1e-5)  # the ratios do not depend on the scale of y
    # SuperLU factors are not pickled: they are made again on use
    again = pickle.loads(pickle.dumps(res.model))
    params = np.r_[res.params, res.vcomp]
    assert_allclose(again.loglike(params), res.model.loglike(params), rtol=1e-14)
    assert_allclose(pickle.loads(pickle.dumps(res)).llf, res.llf, rtol=1e-14)


def test_draw_and_operator(small):
    """``InverseComponent`` without forming A: ``matrix @ v`` is ``A v``, ``draw`` gives
    effects with covariance A (``u = M z`` with ``M M' = A``)."""
    inverse, A = small["inverse"], small["A"].to_numpy()
    comp = InverseComponent("additive", np.arange(5), inverse.matrix)  # diagonal computed
    q = A.shape[0]
    assert_allclose(comp.matrix @ np.eye(q), A, atol=1e-13)
    assert_allclose(comp.diagonal(), np.diag(A)[:5], rtol=1e-13)
    m = comp.draw(np.eye(q)).T
    assert_allclose(m @ m.T, A, atol=1e-13)
    with pytest.raises(TypeError, match="given by the inverse"):
        comp.weights(np.arange(5)[None, :])


def test_errors(small):
    records, inverse = small["records"], small["inverse"]
    with pytest.raises(ValueError, match=r"'additive'.*inverse.*'dominance'.* as a matrix"):
        KinshipMixedLM.from_formula("milk ~ 1", records,
                                    kinship={"additive": inverse, "dominance": small["A"]},
                                    individual="id")
    bad = records.assign(id=records["id"].where(records.index > 1, "nobody"))
    with pytest.raises(ValueError, match="1 individuals of the data are not in the pedigree "
                                         "of kinship 'additive': 'nobody'"):
        dairy_model(bad, inverse)
    with pytest.raises(ValueError, match="no IDs to match"):
        KinshipMixedLM(records["milk"].to_numpy(), np.ones((len(records), 1)),
                       kinship={"additive": inverse},
                       exog_vc={"herd": records["herd"].to_numpy()})


# -------------------------------------------------------------------------------------------
# The dairy data against lme4
# -------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def dairy():
    if not DAIRY_FILE.is_file():
        pytest.skip(f"{DAIRY_FILE.name} is missing: run tests/results/lme4_dairy.py, then "
                    "Rscript tests/results/lme4_dairy.R, to make it")
    ref = json.loads(DAIRY_FILE.read_text())
    ped = pd.read_csv(RESULTS_DIR / "lme4_dairy_pedigree.csv", dtype=str)
    records = pd.read_csv(RESULTS_DIR / "lme4_dairy_records.csv",
                          dtype={"id": str, "herd": str}).rename(columns={"yield": "milk"})
    model = dairy_model(records, inverse_relationship_matrix(ped, **PEDIGREE_COLUMNS))
    return {"ref": ref, "records": records, "model": model}


def test_dairy_model(dairy):
    model, ref = dairy["model"], dairy["ref"]
    assert type(model._engine) is SparseMMELikelihood
    assert model.component_names == ref["dairy"]["REML"]["terms"]
    levels = {c.name: c.n_levels for c in model.structure.components}
    assert levels == {"additive": ref["data"]["n_animals"], "permanent": ref["data"]["n_cows"],
                      "herd": ref["data"]["n_herds"]}
    assert list(model.structure.block_sizes) == [ref["data"]["nobs"]]


@pytest.mark.parametrize("fit_name, method", [("dairy", "REML"), ("dairy", "ML"),
                                              ("at_theta", 0)])
def test_dairy_at_theta(dairy, fit_name, method):
    """At lme4's theta everything equals lme4's to rounding (criterion to 1e-10)."""
    check_at_theta(dairy["model"], dairy["ref"][fit_name][method])


@pytest.mark.parametrize("method", ["REML", "ML"])
def test_dairy_fit(dairy, method):
    """``fit()`` from the grid (fewer than 120 evaluations): the criterion is lme4's to
    1e-12 (2 units in the last place) and never above it. The variance components agree to
    3e-6: the criterion is this flat there (at a relative distance of 1e-6 its change is
    below its rounding), so both optimizers stop about 1e-6 from the maximum."""
    ref = dairy["ref"]["dairy"][method]
    res = dairy["model"].fit(reml=method == "REML")
    assert res.fit_info["n_evals"] < 120
    assert -2 * res.llf <= ref["criterion"] + 1e-8
    check_against_lme4(res, ref, NAMES + ["residual"], rtol=3e-6)
    assert_allclose(-2 * res.llf, ref["criterion"], rtol=1e-12)
    # BLUPs (ranef(fit), the additive ones of the cows and their ancestors; ours are of every
    # animal) and the fitted values, to the accuracy with which theta is pinned down
    labels = {"additive": str, "permanent": lambda level: f"C(id)[{level}]",
              "herd": lambda level: f"C(herd)[{level}]"}
    for name, blup in ref["blup"].items():
        ours = res.random_effects_by_component[name]
        value = np.asarray(blup["value"])
        index = pd.Index([labels[name](level) for level in blup["level"]])
        assert index.isin(ours.index).all()
        assert_allclose(ours[index], value, rtol=1e-5, atol=1e-6 * np.abs(value).max())
    fitted = np.asarray(ref["fitted"])
    assert_allclose(res.fittedvalues, fitted, rtol=1e-6, atol=1e-7 * np.std(fitted))
