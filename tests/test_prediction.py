"""``KinshipMixedLMResults.get_prediction`` end to end (issue 11): conditional predictions of
phenotyped and unphenotyped relatives on every likelihood path against the direct dense
formulas

    V = sum_j s_j^2 Z_j K_j Z_j' + s_e^2 I,   C = Cov(u_t, y) = sum_j s_j^2 Z_tj K_j Z_j',
    b = (X'V^-1 X)^-1 X'V^-1 y,   mean = x'b + C V^-1 (y - X b),
    PEV = v - C V^-1 C' + (x - X'V^-1 C')' (X'V^-1 X)^-1 (x - X'V^-1 C'),  obs = PEV + s_e^2

(``v = Var(u_t)``; breeding values: ``x = 0`` and only that component in ``C`` and ``v``),
the summary frames' layout, the errors, the pickling of results, and the coverage of the
prediction intervals of held-out relatives in data simulated from the model.
"""
import copy
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import sparse, stats

import statsmodels_kinship as smk
from statsmodels_kinship import _components, _prediction
from statsmodels_kinship._engine import (
    BlockLikelihood,
    SparseMMELikelihood,
    SpectralWoodburyLikelihood,
)
from statsmodels_kinship.kinship import inverse_relationship_matrix, kinship_from_pedigree
from statsmodels_kinship.simulate import simulate_dairy_herd

COLS = ["mean", "mean_se", "mean_ci_lower", "mean_ci_upper", "obs_ci_lower", "obs_ci_upper"]
BV_COLS = ["mean", "mean_se", "mean_ci_lower", "mean_ci_upper", "reliability"]
HOUSEHOLD = {"household": "0 + C(household)"}
N_FAMILIES = 15


# -- the direct dense formulas -------------------------------------------------------------

def _incidence(labels, levels):
    """``Z`` with ``Z[i, j] = [labels[i] == levels[j]]``."""
    return (np.asarray(labels, dtype=object)[:, None]
            == np.asarray(levels, dtype=object)[None, :]).astype(float)


def _oracle(res, y, X, comps, x_new, only=None):
    """The dense formulas at the fit's variance components.

    ``comps``: ``{name: (Z_records (n, q), Z_targets (m, q), K (q, q))}`` (a grouping
    component: ``K = I`` over its levels, new ones included). ``only``: the components of
    the target's effect (default all; a breeding value: one)."""
    vcomp = res.vcomp
    s_e2 = float(vcomp["residual"])
    V = s_e2 * np.eye(len(y))
    C, v = 0.0, 0.0
    for name, (z_rec, z_new, k) in comps.items():
        s2 = float(vcomp[name])
        V = V + s2 * z_rec @ k @ z_rec.T
        if only is None or name in only:
            C = C + s2 * z_new @ k @ z_rec.T
            v = v + s2 * np.einsum("ij,jk,ik->i", z_new, k, z_new)
    Vi = np.linalg.inv(V)
    A = X.T @ Vi @ X
    Ai = np.linalg.inv(A)
    b = Ai @ X.T @ Vi @ y
    random = C @ Vi @ (y - X @ b)
    d = x_new - (X.T @ Vi @ C.T).T
    pev = v - np.einsum("ki,ij,kj->k", C, Vi, C) + np.einsum("ki,ij,kj->k", d, Ai, d)
    return {"b": b, "mean": x_new @ b + random, "random": random, "pev": pev,
            "obs": pev + s_e2, "var": v}


def _check(pred, oracle, rtol=1e-8):
    scale = np.abs(oracle["mean"]).max() + 1.0
    np.testing.assert_allclose(pred.predicted_mean, oracle["mean"], rtol=rtol,
                               atol=rtol * scale)
    np.testing.assert_allclose(pred.var_pred_mean, oracle["pev"], rtol=rtol)
    np.testing.assert_allclose(pred.pev, oracle["pev"], rtol=rtol)
    np.testing.assert_allclose(pred.var_random, oracle["var"], rtol=rtol)
    if pred.kind != "breeding_value":
        np.testing.assert_allclose(pred.se_obs ** 2, oracle["obs"], rtol=rtol)


# -- the family study (project data): relatives held out of the fit ------------------------

@pytest.fixture(scope="module")
def study():
    ped, geno, phe, _ = smk.read_study_csv("data")
    families = phe["family"].unique()[:N_FAMILIES]
    ped = ped[ped["family"].isin(families)]
    data = phe[phe["family"].isin(families)].join(geno[["SNP1", "SNP2"]])
    # the youngest child of each family and one parent of every third one lack records
    held = list(data.groupby("family").tail(1).index) + [f"{f}_05" for f in families[::3]]
    kinship = kinship_from_pedigree(ped)
    assert set(kinship.index) == set(data.index)
    return {"ped": ped, "data": data, "fit": data.drop(held), "held": held,
            "kinship": kinship, "sparse": kinship_from_pedigree(ped, sparse=True)}


def _family_oracle(res, study, targets, households=None, only=None, x_new=None):
    """The dense formulas for the targets (their own households, or ``households``)."""
    fit, kinship = study["fit"], study["kinship"]
    ids = list(kinship.index)
    comps = {res.model.component_names[0]: (_incidence(fit.index, ids),
                                            _incidence(targets, ids), kinship.to_numpy())}
    if "household" in res.model.component_names:
        if households is None:
            households = study["data"].loc[targets, "household"]
        levels = sorted(set(fit["household"]) | set(households))
        comps["household"] = (_incidence(fit["household"], levels),
                              _incidence(households, levels), np.eye(len(levels)))
    if x_new is None:
        x_new = np.column_stack([np.ones(len(targets)), study["data"].loc[targets, "SNP1"]])
    out = _oracle(res, fit["trait"].to_numpy(), np.asarray(res.model.exog), comps, x_new,
                  only=only)
    np.testing.assert_allclose(res.params, out["b"], rtol=1e-8)
    return out


@pytest.fixture(scope="module")
def single(study):
    """One kinship (the spectral path), as a DataFrame and as a SparseKinship."""
    return {kind: smk.KinshipMixedLM.from_formula("trait ~ SNP1", study["fit"],
                                                  kinship=study[kind]).fit()
            for kind in ("kinship", "sparse")}


@pytest.fixture(scope="module")
def household(study):
    """Kinship and household (BlockLikelihood), with the dense and the sparse kinship."""
    return {kind: smk.KinshipMixedLM.from_formula("trait ~ SNP1", study["fit"],
                                                  kinship=study[kind],
                                                  vc_formula=HOUSEHOLD).fit()
            for kind in ("kinship", "sparse")}


@pytest.mark.parametrize("kind", ["kinship", "sparse"], ids=["dataframe", "sparse_kinship"])
def test_single_kinship_against_dense_formula(study, single, kind):
    res = single[kind]
    assert res.delta is not None and res.model._engine is None
    held = study["held"]
    pred = res.get_prediction(study["data"].loc[held])
    assert pred.kind == "conditional"
    assert list(pred.summary_frame().index) == held
    oracle = _family_oracle(res, study, held)
    _check(pred, oracle)
    np.testing.assert_allclose(pred.fixed + pred.random, pred.predicted_mean, rtol=1e-12)
    # phenotyped and unphenotyped rows together, in any order
    mixed = held[:3] + list(study["fit"].index[:4])
    _check(res.get_prediction(study["data"].loc[mixed]), _family_oracle(res, study, mixed))


@pytest.mark.parametrize("kind", ["kinship", "sparse"], ids=["dataframe", "sparse_kinship"])
def test_household_against_dense_formula(study, household, kind):
    res = household[kind]
    assert type(res.model._engine) is BlockLikelihood and res.delta is None
    held = study["held"]
    new = study["data"].loc[held].copy()
    # the held-out rows of the first 5 families move to households never seen in the fit
    unseen = np.arange(len(held)) < 5
    new.loc[unseen, "household"] = [f"new{i}" for i in range(5)]
    assert not set(new["household"][unseen]) & set(study["fit"]["household"])
    assert set(new["household"][~unseen]) <= set(study["fit"]["household"])
    pred = res.get_prediction(new)
    oracle = _family_oracle(res, study, held, households=new["household"])
    _check(pred, oracle)
    # an unseen household contributes its variance, and nothing to the BLUP: the same
    # prediction as from the kinship alone with the household's variance added
    alone = _family_oracle(res, study, held, households=new["household"], only=["kinship"])
    s_h2 = float(res.vcomp["household"])
    np.testing.assert_allclose(pred.predicted_mean[unseen], alone["mean"][unseen],
                               rtol=1e-10)
    np.testing.assert_allclose(pred.var_pred_mean[unseen], alone["pev"][unseen] + s_h2,
                               rtol=1e-10)


def test_exog_vc_labels(study, household):
    """exog_vc= gives the levels instead of the vc_formula: the data's labels (which a formula
    model knows as its columns ``C(household)[label]``, a bug found in review: they were all
    taken for unseen households), or those column names; the same for an array model."""
    res = household["kinship"]
    new = study["data"].loc[study["held"]].copy()
    new.iloc[:4, new.columns.get_loc("household")] = "new"
    pred = res.get_prediction(new)
    labels = new["household"].to_numpy()
    for given in (labels, [h if h == "new" else f"C(household)[{h}]" for h in labels]):
        by_vc = res.get_prediction(new.drop(columns="household"),
                                   exog_vc={"household": given})
        np.testing.assert_allclose(by_vc.predicted_mean, pred.predicted_mean, rtol=1e-12)
        np.testing.assert_allclose(by_vc.var_pred_mean, pred.var_pred_mean, rtol=1e-12)
    fit = study["fit"]
    arrays = smk.KinshipMixedLM(fit["trait"].to_numpy(), sm.add_constant(fit[["SNP1"]]),
                                kinship=study["kinship"], individual=fit.index.to_numpy(),
                                exog_vc={"household": fit["household"].to_numpy()}).fit()
    np.testing.assert_allclose(arrays.vcomp, res.vcomp, rtol=1e-6)
    by_arrays = arrays.get_prediction(sm.add_constant(new[["SNP1"]]),
                                      exog_vc={"household": labels})
    np.testing.assert_allclose(by_arrays.predicted_mean, pred.predicted_mean, rtol=1e-6)
    np.testing.assert_allclose(by_arrays.var_pred_mean, pred.var_pred_mean, rtol=1e-5)


def test_dataframe_and_sparse_kinship_agree(single, household, study):
    """The dense and the sparse relationship rows (the whitener as a sparse matrix) give the
    same predictions."""
    new = study["data"].loc[study["held"]]
    for fits in (single, household):
        dense, sparse_ = (fits[k].get_prediction(new) for k in ("kinship", "sparse"))
        np.testing.assert_allclose(sparse_.predicted_mean, dense.predicted_mean, rtol=1e-10)
        np.testing.assert_allclose(sparse_.var_pred_mean, dense.var_pred_mean, rtol=1e-10)
        dense, sparse_ = (fits[k].get_prediction(which="breeding_value")
                          for k in ("kinship", "sparse"))
        np.testing.assert_allclose(sparse_.predicted_mean, dense.predicted_mean, rtol=1e-9,
                                   atol=1e-10)
        np.testing.assert_allclose(sparse_.reliability, dense.reliability, rtol=1e-9)


@pytest.mark.parametrize("fits", ["single", "household"])
def test_sparse_rows_take_the_sparse_whitener(study, fits, monkeypatch):
    """A SparseKinship's covariance rows stay sparse (no (m, n) dense array): the sparse
    whitener gives the products the dense one gives for the same rows."""
    calls = []
    built = _prediction._whitened_products

    def spy(*args, **kwargs):
        products = built(*args, **kwargs)

        def counted(c):
            calls.append(sparse.issparse(c))
            return products(c)
        return counted

    monkeypatch.setattr(_prediction, "_whitened_products", spy)
    vc = {} if fits == "single" else {"vc_formula": HOUSEHOLD}
    res = smk.KinshipMixedLM.from_formula("trait ~ SNP1", study["fit"],
                                          kinship=study["sparse"], **vc).fit()
    res.get_prediction(study["data"].loc[study["held"]])
    assert calls and all(calls)
    products = _prediction._hinv_operator(res)
    rng = np.random.default_rng(1)
    c = sparse.random(6, int(res.nobs), density=0.05, random_state=rng, format="csr")
    for got, want in zip(products(c), products(c.toarray())):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


# -- in-sample predictions and breeding values ----------------------------------------------

def test_in_sample_mean_is_fitted_and_breeding_values(study, single, household):
    fit, kinship = study["fit"], study["kinship"]
    for res in (single["kinship"], household["kinship"]):
        pred = res.get_prediction()
        np.testing.assert_allclose(pred.predicted_mean, res.fittedvalues, rtol=1e-10)
        assert list(pred.summary_frame().index) == list(fit.index)
        name = res.model.component_names[0]
        bv = res.get_prediction(which="breeding_value")
        assert list(bv.row_labels) == list(kinship.index)  # relatives without records too
        blup = (res.random_effects if res.delta is not None
                else res.random_effects_by_component[name])
        np.testing.assert_allclose(pd.Series(bv.predicted_mean, index=kinship.index)
                                   .loc[fit.index], np.asarray(blup.loc[fit.index]),
                                   rtol=1e-8, atol=1e-10)
        ids = list(kinship.index)
        oracle = _family_oracle(res, study, ids, only=[name],
                                households=(pd.Series("none", index=ids)
                                            if res.delta is None else None),
                                x_new=np.zeros((len(ids), 2)))
        _check(bv, oracle)
        s_k2 = float(res.vcomp[name])
        np.testing.assert_allclose(bv.reliability,
                                   1 - oracle["pev"] / (s_k2 * np.diag(kinship.to_numpy())),
                                   rtol=1e-8)
        assert np.all((bv.reliability > 0) & (bv.reliability < 1))
        held = study["held"]
        sub = res.get_prediction(which="breeding_value", individual=held)
        np.testing.assert_allclose(sub.predicted_mean,
                                   bv.predicted_mean[kinship.index.get_indexer(held)],
                                   rtol=1e-10)


# -- the spectral-Woodbury engine: one large GRM block and a grouping factor -----------------

@pytest.fixture(scope="module")
def woodbury():
    rng = np.random.default_rng(7)
    n_all, n_snp = 260, 400
    ids = [f"g{i}" for i in range(n_all)]
    freq = rng.uniform(0.1, 0.5, n_snp)
    geno = pd.DataFrame(rng.binomial(2, freq, size=(n_all, n_snp)), index=ids)
    grm = smk.genomic_relationship_matrix(geno)
    grm = 0.5 * (grm + grm.T) + 0.05 * np.eye(n_all)  # the GRM of n > p SNPs: nonsingular
    grm = pd.DataFrame(np.asarray(grm), index=ids, columns=ids)
    group = rng.integers(0, 12, n_all).astype(str)
    x = rng.normal(size=n_all)
    u = np.linalg.cholesky(grm.to_numpy()) @ rng.normal(size=n_all)
    y = 2.0 + 0.4 * x + u + 0.8 * rng.normal(size=12)[group.astype(int)] + rng.normal(size=n_all)
    data = pd.DataFrame({"y": y, "x": x, "group": group}, index=ids)
    held = ids[-20:]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_components, "SPECTRAL_BLOCK_MIN", 100)
        model = smk.KinshipMixedLM.from_formula("y ~ x", data.drop(held),
                                                kinship={"grm": grm},
                                                vc_formula={"group": "0 + C(group)"})
    assert type(model._engine) is SpectralWoodburyLikelihood
    return data, grm, held, model.fit()


def test_spectral_woodbury_against_dense_formula(woodbury):
    data, grm, held, res = woodbury
    fit = data.drop(held)
    new = data.loc[held].copy()
    new.iloc[:3, new.columns.get_loc("group")] = "unseen"
    ids = list(grm.index)
    levels = sorted(set(data["group"]) | {"unseen"})
    comps = {"grm": (_incidence(fit.index, ids), _incidence(held, ids), grm.to_numpy()),
             "group": (_incidence(fit["group"], levels), _incidence(new["group"], levels),
                       np.eye(len(levels)))}
    X = np.asarray(res.model.exog)
    x_new = np.column_stack([np.ones(len(held)), new["x"]])
    oracle = _oracle(res, fit["y"].to_numpy(), X, comps, x_new)
    np.testing.assert_allclose(res.params, oracle["b"], rtol=1e-8)
    _check(res.get_prediction(new), oracle)
    np.testing.assert_allclose(res.get_prediction().predicted_mean, res.fittedvalues,
                               rtol=1e-10)
    bv = res.get_prediction(which="breeding_value", individual=held + list(fit.index[:5]))
    targets = held + list(fit.index[:5])
    oracle = _oracle(res, fit["y"].to_numpy(), X,
                     {"grm": (comps["grm"][0], _incidence(targets, ids), grm.to_numpy()),
                      "group": comps["group"]}, np.zeros((len(targets), 2)), only=["grm"])
    _check(bv, oracle)
    np.testing.assert_allclose(bv.predicted_mean[-5:],
                               res.random_effects_by_component["grm"].loc[fit.index[:5]],
                               rtol=1e-8)


# -- the sparse mixed-model equations: A^-1 of a pedigree, repeated records -----------------

PEDIGREE_COLUMNS = dict(family=None, individual="animal", father="sire", mother="dam",
                        sex=None)
DAIRY_VC = {"permanent": "0 + C(id)", "herd": "0 + C(herd)"}


@pytest.fixture(scope="module")
def dairy():
    sim = simulate_dairy_herd(n_animals=300, n_cows=100, n_records=250, n_herds=6, seed=3)
    records = sim.records.rename(columns={"yield": "milk"})
    inverse = inverse_relationship_matrix(sim.pedigree, **PEDIGREE_COLUMNS)
    A = 2 * kinship_from_pedigree(sim.pedigree, **PEDIGREE_COLUMNS)
    fits = {}
    for kind, rel in (("sparse", inverse), ("dense", A)):
        model = smk.KinshipMixedLM.from_formula("milk ~ C(lactation)", records,
                                                kinship={"additive": rel},
                                                vc_formula=DAIRY_VC, individual="id")
        fits[kind] = model.fit()
    assert type(fits["sparse"].model._engine) is SparseMMELikelihood
    assert type(fits["dense"].model._engine) is BlockLikelihood
    return records, A, fits


def test_sparse_mme_against_dense(dairy):
    records, A, fits = dairy
    res = fits["sparse"]
    animals = list(A.index)
    without = [a for a in animals if a not in set(records["id"])][:8]
    recorded = list(records["id"].iloc[:3])
    new = pd.DataFrame({"id": without + recorded,
                        "herd": ["H1", "H2", "H5", "Hnew"] * 2 + ["H1", "H2", "H3"],
                        "lactation": [1, 2, 3] * 3 + [1, 2]})
    pred = res.get_prediction(new)
    cows = sorted(set(records["id"]) | set(new["id"]))
    herds = sorted(set(records["herd"]) | set(new["herd"]))
    comps = {"additive": (_incidence(records["id"], animals), _incidence(new["id"], animals),
                          A.to_numpy()),
             "permanent": (_incidence(records["id"], cows), _incidence(new["id"], cows),
                           np.eye(len(cows))),
             "herd": (_incidence(records["herd"], herds), _incidence(new["herd"], herds),
                      np.eye(len(herds)))}
    X = np.asarray(res.model.exog)
    lactations = np.unique(records["lactation"])
    assert X.shape[1] == len(lactations)
    x_new = np.column_stack([np.ones(len(new))]
                            + [new["lactation"] == k for k in lactations[1:]])
    oracle = _oracle(res, records["milk"].to_numpy(), X, comps, x_new)
    np.testing.assert_allclose(res.params, oracle["b"], rtol=1e-8)
    _check(pred, oracle)
    # the dense engine with A over all animals: the same fit (to the optimizer's tolerance)
    dense = fits["dense"].get_prediction(new)
    np.testing.assert_allclose(pred.predicted_mean, dense.predicted_mean, rtol=1e-6)
    np.testing.assert_allclose(pred.var_pred_mean, dense.var_pred_mean, rtol=1e-5)
    np.testing.assert_allclose(res.get_prediction().predicted_mean, res.fittedvalues,
                               rtol=1e-10)
    # breeding values of every animal of the pedigree; the recorded ones are the fit's BLUPs
    bv = res.get_prediction(which="breeding_value")
    assert list(bv.row_labels) == animals
    oracle = _oracle(res, records["milk"].to_numpy(), X,
                     {"additive": (comps["additive"][0], np.eye(len(animals)), A.to_numpy()),
                      "permanent": comps["permanent"], "herd": comps["herd"]},
                     np.zeros((len(animals), X.shape[1])), only=["additive"])
    _check(bv, oracle, rtol=1e-7)
    blup = res.random_effects_by_component["additive"]
    np.testing.assert_allclose(bv.predicted_mean, blup.loc[animals], rtol=1e-7,
                               atol=1e-6 * np.abs(blup).max())
    np.testing.assert_allclose(
        bv.reliability, 1 - oracle["pev"] / (float(res.vcomp["additive"]) * np.diag(A)),
        rtol=1e-7)
    bv_dense = fits["dense"].get_prediction(which="breeding_value")
    np.testing.assert_allclose(bv.reliability, bv_dense.reliability, rtol=1e-5)


def test_chunked_targets(dairy, monkeypatch):
    """Targets in chunks (bounded memory: the covariance rows, and the solves with A^-1 for
    K e_t) give the predictions of one pass."""
    records, A, fits = dairy
    res = fits["sparse"]
    whole = res.get_prediction(which="breeding_value")
    new = records.iloc[::10]
    whole_new = res.get_prediction(new)
    monkeypatch.setattr(_prediction, "_CHUNK_ENTRIES", 1000)  # chunks of 3-4 targets
    for got, want in ((res.get_prediction(which="breeding_value"), whole),
                      (res.get_prediction(new), whole_new)):
        np.testing.assert_allclose(got.predicted_mean, want.predicted_mean, rtol=1e-10,
                                   atol=1e-8)
        np.testing.assert_allclose(got.var_pred_mean, want.var_pred_mean, rtol=1e-10)


# -- the frames ------------------------------------------------------------------------------

def test_summary_frames(study, household):
    res = household["kinship"]
    new = study["data"].loc[study["held"]]
    ols = sm.OLS.from_formula("trait ~ SNP1", data=study["fit"]).fit()
    want = list(ols.get_prediction(new).summary_frame().columns)
    assert want == COLS
    cond = res.get_prediction(new)
    marg = res.get_prediction(new, conditional=False)
    assert cond.kind == "conditional" and marg.kind == "marginal"
    for pred in (cond, marg):
        frame = pred.summary_frame()
        assert list(frame.columns) == COLS
        assert list(frame.index) == study["held"]
        q = stats.norm.ppf(0.975)
        np.testing.assert_allclose(frame["obs_ci_upper"],
                                   frame["mean"] + q * pred.se_obs, rtol=1e-12)
        np.testing.assert_allclose(frame["mean_ci_lower"], frame["mean"] - q * frame["mean_se"],
                                   rtol=1e-12)
        w95 = np.diff(pred.conf_int(obs=True), axis=1)
        w80 = np.diff(pred.conf_int(obs=True, alpha=0.2), axis=1)
        assert np.all(w95 > w80)
    # relatives' records make the conditional interval narrower than the marginal one
    assert np.all(cond.se_obs < marg.se_obs)
    np.testing.assert_allclose(cond.fixed, marg.predicted_mean, rtol=1e-12)
    bv = res.get_prediction(which="breeding_value", individual=study["held"])
    frame = bv.summary_frame(alpha=0.1)
    assert list(frame.columns) == BV_COLS
    assert list(frame.index) == study["held"]
    np.testing.assert_allclose(frame["mean_se"], np.sqrt(bv.pev), rtol=1e-12)
    np.testing.assert_allclose(frame["mean_ci_upper"] - frame["mean"],
                               stats.norm.ppf(0.95) * frame["mean_se"], rtol=1e-12)
    np.testing.assert_allclose(frame["reliability"], bv.reliability)
    labelled = res.get_prediction(new, row_labels=[f"r{i}" for i in range(len(new))])
    assert list(labelled.summary_frame().index) == [f"r{i}" for i in range(len(new))]


def test_use_t_quantiles(study):
    res = smk.KinshipMixedLM.from_formula("trait ~ SNP1", study["fit"], kinship=study["sparse"],
                                          vc_formula=HOUSEHOLD).fit(use_t=True)
    new = study["data"].loc[study["held"]]
    for pred in (res.get_prediction(new),
                 res.get_prediction(which="breeding_value", individual=study["held"])):
        frame = pred.summary_frame(alpha=0.1)
        q = stats.t.ppf(0.95, res.df_resid)
        np.testing.assert_allclose(frame["mean_ci_upper"], frame["mean"] + q * frame["mean_se"],
                                   rtol=1e-12)
        if pred.kind == "conditional":
            np.testing.assert_allclose(frame["obs_ci_lower"], frame["mean"] - q * pred.se_obs,
                                       rtol=1e-12)


# -- errors ----------------------------------------------------------------------------------

def test_errors_are_named(study, single, household):
    res = household["kinship"]
    new = study["data"].loc[study["held"][:2]]
    strangers = new.set_axis(["nobody", "F001_12"])
    with pytest.raises(ValueError, match=r"1 of the individuals to predict is not in the "
                                         r"relationship matrix 'kinship': 'nobody'"):
        res.get_prediction(strangers)
    with pytest.raises(ValueError, match="not in the relationship matrix"):
        single["sparse"].get_prediction(strangers)
    with pytest.raises(ValueError, match="not in the relationship matrix.*'nobody'"):
        res.get_prediction(which="breeding_value", individual=["nobody"])
    # conditional=False does not need the individuals
    assert np.isfinite(res.get_prediction(strangers, conditional=False).predicted_mean).all()
    with pytest.raises(ValueError, match="the individual of each new row"):
        res.get_prediction(np.ones((2, 2)), transform=False)
    with pytest.raises(ValueError, match="individual has 3 values but there are 2 new rows"):
        res.get_prediction(new, individual=["F001_01", "F001_02", "F001_03"])
    with pytest.raises(ValueError, match=r"level of each for the component 'household'"):
        res.get_prediction(new.drop(columns="household"))
    with pytest.raises(ValueError, match="exog_vc names components the model does not have: "
                                         "'herd'"):
        res.get_prediction(new, exog_vc={"herd": ["a", "b"]})
    with pytest.raises(ValueError, match="levels of 'household' are given for 3 rows"):
        res.get_prediction(new.drop(columns="household"), exog_vc={"household": ["a"] * 3})
    with pytest.raises(ValueError, match="which must be one of 'mean', 'breeding_value'; "
                                         "got 'bogus'"):
        res.get_prediction(which="bogus")
    with pytest.raises(ValueError, match="component 'household' is not a relationship"):
        res.get_prediction(which="breeding_value", component="household")
    with pytest.raises(ValueError, match="component= is for which='breeding_value'"):
        res.get_prediction(component="kinship")
    with pytest.raises(ValueError, match="conditional=False and exog_vc= are for "
                                         "which='mean'"):
        res.get_prediction(which="breeding_value", conditional=False)
    with pytest.raises(ValueError, match="individual= and exog_vc= are for conditional"):
        res.get_prediction(new, conditional=False, individual=["F001_01", "F001_02"])
    groups_only = smk.KinshipMixedLM.from_formula("trait ~ SNP1", study["fit"], kinship=None,
                                                  vc_formula=HOUSEHOLD).fit()
    with pytest.raises(ValueError, match="needs a relationship component"):
        groups_only.get_prediction(which="breeding_value")


def test_int_ids_against_str_ids_are_explained(study):
    kinship = study["kinship"]
    codes = {k: i for i, k in enumerate(kinship.index)}
    fit = study["fit"].rename(index=codes)
    res = smk.KinshipMixedLM.from_formula("trait ~ SNP1", fit,
                                          kinship=kinship.rename(index=codes,
                                                                 columns=codes)).fit()
    held = [codes[h] for h in study["held"]]
    new = study["data"].loc[study["held"]].set_axis(held)
    base = smk.KinshipMixedLM.from_formula("trait ~ SNP1", study["fit"], kinship=kinship).fit()
    np.testing.assert_allclose(res.get_prediction(new).predicted_mean,
                               base.get_prediction(study["data"].loc[study["held"]])
                               .predicted_mean, rtol=1e-10)
    with pytest.raises(ValueError, match="IDs to predict are str, those of the matrix int"):
        res.get_prediction(new.set_axis([str(h) for h in held]))


def test_positions_need_individual_with_an_unlabelled_kinship():
    """numpy data and an unlabelled K: individuals are positions; new rows numbered 0..m-1
    by pandas are not taken for the first m individuals silently."""
    rng = np.random.default_rng(5)
    n = 60
    k = np.kron(np.eye(n // 4), np.full((4, 4), 0.25)) + 0.25 * np.eye(n)
    y = rng.multivariate_normal(np.zeros(n), k + np.eye(n))
    x = np.ones((n, 1))
    res = smk.KinshipMixedLM(y, x, kinship=k).fit()
    new = pd.DataFrame({"const": [1.0, 1.0]})
    with pytest.raises(ValueError, match="pandas' default index.*pass individual="):
        res.get_prediction(new)
    by_pos = res.get_prediction(new, individual=[3, 7])
    np.testing.assert_allclose(by_pos.predicted_mean,
                               np.asarray(res.fittedvalues)[[3, 7]], rtol=1e-12)


def test_after_remove_data(study, household):
    res = copy.deepcopy(household["kinship"])
    new = study["data"].loc[study["held"][:3]]
    marginal = res.get_prediction(new, conditional=False).predicted_mean
    res.remove_data()
    with pytest.raises(ValueError, match="remove_data"):
        res.get_prediction(new)
    with pytest.raises(ValueError, match="remove_data"):
        res.get_prediction(which="breeding_value")
    np.testing.assert_allclose(res.get_prediction(new, conditional=False).predicted_mean,
                               marginal, rtol=1e-12)


def test_sparse_forms_of_the_rotation_and_the_whitener(study, single, household):
    """``rotation_matrix() @ a == rotate(a)`` and ``matrix() @ a == apply(a)``: the sparse
    whitening of covariance rows uses the same numbers as the dense one."""
    a = np.random.default_rng(2).normal(size=(int(single["sparse"].nobs), 3))
    dec = single["sparse"].model.decomposition
    np.testing.assert_allclose(dec.rotation_matrix() @ a, dec.rotate(a), atol=1e-13)
    assert dec.rotation_matrix().nnz <= dec.block_entries
    res = household["sparse"]
    whitener = res.model._engine.whitener(res.gamma)
    np.testing.assert_allclose(whitener.matrix() @ a, whitener.apply(a), atol=1e-13)


# -- what a review found ---------------------------------------------------------------------

def test_pickled_results_predict(study, household):
    """The products cached on the results by a prediction are not pickled (closures);
    the unpickled results rebuild them."""
    res = household["sparse"]
    new = study["data"].loc[study["held"]]
    pred = res.get_prediction(new)
    again = pickle.loads(pickle.dumps(res))
    np.testing.assert_allclose(again.get_prediction(new).predicted_mean, pred.predicted_mean,
                               rtol=1e-12)
    np.testing.assert_allclose(again.get_prediction(new).var_pred_mean, pred.var_pred_mean,
                               rtol=1e-12)


def test_repeated_rows_of_one_individual(study, household):
    """exog with a duplicated index: each row is a new record of that individual."""
    res = household["kinship"]
    one = study["data"].loc[study["held"][:2]]
    twice = pd.concat([one, one.iloc[[0]], one.iloc[[0]].assign(SNP1=2)])
    pred = res.get_prediction(twice)
    assert list(pred.summary_frame().index) == list(twice.index)
    ref = res.get_prediction(one)
    np.testing.assert_allclose(pred.predicted_mean[:3],
                               ref.predicted_mean[[0, 1, 0]], rtol=1e-12)
    np.testing.assert_allclose(pred.random[3], ref.random[0], rtol=1e-12)
    np.testing.assert_allclose(pred.predicted_mean[3] - pred.predicted_mean[0],
                               2 * res.params["SNP1"] - one["SNP1"].iloc[0] * res.params["SNP1"],
                               rtol=1e-10)
    oracle = _family_oracle(res, study, list(twice.index),
                            x_new=np.column_stack([np.ones(4), twice["SNP1"]]))
    _check(pred, oracle)


def test_rows_with_missing_values(study, household):
    """A row with a missing value is predicted as NaN (as statsmodels' predict does); the
    other rows are those predicted without it."""
    res = household["kinship"]
    new = study["data"].loc[study["held"][:4]].copy()
    ref = res.get_prediction(new)
    new.iloc[1, new.columns.get_loc("SNP1")] = np.nan
    pred = res.get_prediction(new)
    frame = pred.summary_frame()
    assert frame.iloc[1].isna().all() and frame.drop(index=new.index[1]).notna().all().all()
    keep = [0, 2, 3]
    np.testing.assert_allclose(pred.predicted_mean[keep], ref.predicted_mean[keep], rtol=1e-12)
    np.testing.assert_allclose(pred.var_pred_mean[keep], ref.var_pred_mean[keep], rtol=1e-12)


def test_aliased_columns(study):
    fit = study["fit"].assign(SNP1b=study["fit"]["SNP1"] * 2.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = smk.KinshipMixedLM.from_formula("trait ~ SNP1 + SNP1b", fit,
                                              kinship=study["kinship"],
                                              vc_formula=HOUSEHOLD).fit()
    assert np.asarray(res.aliased).sum() == 1
    ref = smk.KinshipMixedLM.from_formula("trait ~ SNP1", study["fit"],
                                          kinship=study["kinship"],
                                          vc_formula=HOUSEHOLD).fit()
    new = study["data"].loc[study["held"]]
    pred = res.get_prediction(new.assign(SNP1b=new["SNP1"] * 2.0))
    assert np.isfinite(pred.summary_frame().to_numpy()).all()
    want = ref.get_prediction(new)
    np.testing.assert_allclose(pred.predicted_mean, want.predicted_mean, rtol=1e-7)
    np.testing.assert_allclose(pred.var_pred_mean, want.var_pred_mean, rtol=1e-6)
    np.testing.assert_allclose(res.get_prediction().predicted_mean, res.fittedvalues,
                               rtol=1e-10)


# -- coverage of the prediction intervals of held-out relatives ------------------------------

def _simulated_families(n_fam, rng, s_k2=2.0, s_h2=0.6):
    """Two parents and three children per family (kinship coefficients), a household per
    family; the last child is held out and, in every other family, lives in a household of
    its own (a level the fit does not see)."""
    size = 5
    ped = pd.DataFrame({
        "family": np.repeat([f"f{i}" for i in range(n_fam)], size),
        "individual": [f"f{i}_{j}" for i in range(n_fam) for j in range(size)],
        "father": [f"f{i}_0" if j >= 2 else "0" for i in range(n_fam) for j in range(size)],
        "mother": [f"f{i}_1" if j >= 2 else "0" for i in range(n_fam) for j in range(size)],
    })
    kinship = kinship_from_pedigree(ped, sex=None, sparse=True)
    ids = ped["individual"].to_numpy()
    pos = pd.Index(kinship.labels).get_indexer(ids[:size])
    block = kinship.matrix[pos][:, pos].toarray()  # every family's, in the pedigree's order
    u = (rng.normal(size=(n_fam, size)) @ np.linalg.cholesky(block).T).ravel() * np.sqrt(s_k2)
    held = np.arange(n_fam) * size + size - 1
    own = held[::2]
    household = np.array([f"h{h}" for h in np.repeat(np.arange(n_fam), size)], dtype=object)
    household[own] = [f"own{i}" for i in range(len(own))]
    levels, codes = np.unique(household, return_inverse=True)
    h = rng.normal(size=len(levels))[codes] * np.sqrt(s_h2)
    x = rng.normal(size=n_fam * size)
    y = 1.0 + 0.5 * x + u + h + rng.normal(size=n_fam * size)
    data = pd.DataFrame({"y": y, "x": x, "household": household}, index=ids)
    return data, kinship, ids[held]


def test_prediction_intervals_of_held_out_relatives_cover():
    """2,400 held-out children (half of them in households the fit has not seen): the 95%
    prediction intervals cover their records at the nominal rate (binomial SE 0.0044:
    [0.93, 0.97] is about 4.5 SE)."""
    rng = np.random.default_rng(20240611)
    hits, total, narrower = 0, 0, []
    for _ in range(4):
        data, kinship, held = _simulated_families(600, rng)
        res = smk.KinshipMixedLM.from_formula("y ~ x", data.drop(held), kinship=kinship,
                                              vc_formula=HOUSEHOLD).fit()
        ci = res.get_prediction(data.loc[held]).conf_int(obs=True, alpha=0.05)
        y = data.loc[held, "y"].to_numpy()
        hits += int(np.sum((ci[:, 0] <= y) & (y <= ci[:, 1])))
        total += len(held)
        marginal = res.get_prediction(data.loc[held], conditional=False).conf_int(obs=True)
        narrower.append(np.mean(np.diff(ci, axis=1)) / np.mean(np.diff(marginal, axis=1)))
    assert total == 2400
    assert 0.93 <= hits / total <= 0.97, hits / total
    # the relatives' records are information: shorter intervals than the marginal ones
    assert max(narrower) < 0.95, narrower
