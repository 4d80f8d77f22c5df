"""The per-SNP scan (statsmodels_kinship.scan) against GEMMA, lme4 and independent oracles.

References (run once, outputs in tests/results/; GEMMA and R are never run here):

* ``gemma_scan.py`` -> ``gemma_<study>.assoc.txt``: GEMMA 0.98.5 ``-lmm 4`` on the seed study,
  on the project's study with a covariate and missing genotypes, and on a study with a
  genomic relationship matrix, whole and leave-one-chromosome-out.
* ``lme4_scan.R`` -> ``lme4_scan.json``: ML and REML fits of the null and of six SNP models
  on the seed study through lme4's modular interface.

GEMMA 0.98.5 centres the matrix given with ``-k`` (``CenterMatrix`` in gemma.cpp: K <- P K P,
P = I - 11'/n) before fitting. REML, hence its Wald test, does not depend on that when the
model has an intercept; its ML fits do, so its ``p_lrt``, ``l_mle``, ``logl_H1`` and
``p_score`` (evaluated at the null ML ratio) are compared with a scan whose null model was
fitted with the centred kinship, and differ from a scan with the kinship as given.
"""
import importlib
import json
import pathlib
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from numpy.testing import assert_allclose, assert_array_equal
from scipy import stats
from statsmodels.tools.sm_exceptions import ConvergenceWarning

from statsmodels_kinship import (
    KinshipMixedLM,
    genomic_relationship_matrix,
    kinship_from_pedigree,
    read_study_csv,
)
from statsmodels_kinship._spectral import DELTA_LOG_MAX, delta_scale
from statsmodels_kinship.scan import genomic_inflation, scan

# the module itself (the package may export the function under the same name)
scan_module = importlib.import_module("statsmodels_kinship.scan")

RESULTS = pathlib.Path(__file__).resolve().parent / "results"
DATA = pathlib.Path(__file__).resolve().parent.parent / "data"


# -- helpers -----------------------------------------------------------------------------

def centred(kinship):
    """GEMMA's ``CenterMatrix``: P K P with P = I - 11'/n (labels kept)."""
    k = np.asarray(kinship, dtype=float)
    p = np.eye(len(k)) - 1.0 / len(k)
    out = p @ k @ p
    if isinstance(kinship, pd.DataFrame):
        return pd.DataFrame(out, index=kinship.index, columns=kinship.columns)
    return out


def read_gemma(name):
    return pd.read_csv(RESULTS / f"gemma_{name}.assoc.txt", sep="\t",
                       dtype={"allele1": str, "allele0": str}).set_index("rs")


def wald_at(null, genotypes, delta):
    """Oracle: GLS of each SNP added to the null model at a given ratio (numpy only)."""
    model = null.model
    lam = model.decomposition.eigenvalues
    w_rot, y_rot = model._exog_rot, model._endog_rot
    out = []
    for x, d in zip(np.asarray(genotypes, dtype=float).T, delta):
        x = np.where(np.isnan(x), np.nanmean(x), x)
        xx = np.column_stack([w_rot, model.decomposition.rotate(x)])
        w = 1 / (d * lam + 1)
        a = xx.T @ (xx * w[:, None])
        b = np.linalg.solve(a, xx.T @ (y_rot * w))
        r = y_rot - xx @ b
        df = len(y_rot) - xx.shape[1]
        se = np.sqrt((r * r * w).sum() / df * np.linalg.inv(a)[-1, -1])
        out.append((b[-1], se, stats.f.sf((b[-1] / se) ** 2, 1, df)))
    return np.array(out).T


def score_oracle(y, exog, kinship, x, delta):
    """GEMMA's score statistic n (x'Py)^2 / (y'Py x'Px) from its definition."""
    v_inv = np.linalg.inv(delta * kinship + np.eye(len(y)))
    vw = v_inv @ exog
    p = v_inv - vw @ np.linalg.solve(exog.T @ vw, vw.T)
    return len(y) * (x @ p @ y) ** 2 / ((y @ p @ y) * (x @ p @ x))


def family_study(n_families=40, n_snps=30, seed=0, grm=False):
    """Nuclear families (kinship blocks) or a GRM; two covariates; some missing genotypes."""
    rng = np.random.default_rng(seed)
    block = np.full((4, 4), 0.25)
    block[0, 1] = block[1, 0] = 0.0
    np.fill_diagonal(block, 0.5)
    kin = np.kron(np.eye(n_families), block)
    n = kin.shape[0]
    geno = rng.binomial(2, rng.uniform(0.1, 0.5, n_snps), size=(n, n_snps)).astype(float)
    if grm:
        kin = genomic_relationship_matrix(
            rng.binomial(2, rng.uniform(0.1, 0.5, 400), size=(n, 400)).astype(float))
    exog = np.column_stack([np.ones(n), rng.normal(size=n), rng.binomial(1, 0.5, n)])
    g = rng.multivariate_normal(np.zeros(n), 1.5 * kin + 1e-9 * np.eye(n))
    y = exog @ [1.0, 0.4, -0.3] + 0.5 * geno[:, 2] + g + rng.normal(size=n)
    geno[rng.uniform(size=geno.shape) < 0.03] = np.nan
    return y, exog, kin, geno


@pytest.fixture(scope="module")
def seed_scan(seed):
    names = pd.read_csv(seed["dir"] / "seqsimla" / "data.map", sep=r"\s+", header=None)[1]
    genotypes = pd.DataFrame(seed["D"], columns=names)
    y, k = seed["y"], seed["K"]
    null = KinshipMixedLM(y, np.ones((len(y), 1)), kinship=k).fit()
    return {"null": null, "geno": genotypes, "scan": scan(null, genotypes),
            "names": list(names)}


def load_data_study():
    """data/ with sex as covariate and GEMMA's missing cells (gemma_data_missing.csv); the
    kinship from the pedigree. Returns the null model's data, the kinship, the genotypes."""
    ped, geno, phe, _ = read_study_csv(DATA)
    missing = pd.read_csv(RESULTS / "gemma_data_missing.csv")
    values = geno.to_numpy(dtype=float)
    values[geno.index.get_indexer(missing["individual"]),
           geno.columns.get_indexer(missing["snp"])] = np.nan
    geno = pd.DataFrame(values, index=geno.index, columns=geno.columns)
    frame = phe[["trait"]].join(ped.set_index("individual")["sex"].astype(float))
    return frame, kinship_from_pedigree(ped), geno


@pytest.fixture(scope="module")
def data_study():
    return load_data_study()


@pytest.fixture(scope="module")
def grm_study():
    table = pd.read_csv(RESULTS / "gemma_grm_study.csv.gz", index_col=0)
    snps = pd.read_csv(RESULTS / "gemma_grm_snps.csv", dtype={"chromosome": str})
    geno = table.drop(columns="trait")
    grm = genomic_relationship_matrix(geno)
    null = KinshipMixedLM(table["trait"], pd.DataFrame({"const": 1.0}, index=table.index),
                          kinship=grm).fit()
    return null, geno, snps, grm


# -- GEMMA 0.98.5 ------------------------------------------------------------------------

class TestGemma:
    def test_seed_wald(self, seed_scan):
        gem = read_gemma("seed")
        ours = seed_scan["scan"].loc[gem.index]
        assert (ours["flag"] == "ok").all()
        # the seed's genotypes count allele "2"; GEMMA counts PLINK's allele 1
        sign = np.where(gem["allele1"] == "2", 1.0, -1.0)
        assert_allclose(sign * ours["beta"], gem["beta"], rtol=1e-6)       # beta
        assert_allclose(ours["se"], gem["se"], rtol=1e-6)                   # se
        assert_allclose(ours["p_wald"], gem["p_wald"], rtol=1e-6)           # p_wald
        assert_allclose(ours["delta"], gem["l_remle"], rtol=1e-6)           # l_remle
        af = np.where(sign > 0, ours["af"], 1 - ours["af"])
        assert_allclose(af, gem["af"], atol=5e-4)                           # af (3 decimals)
        # GEMMA drops the 12 SNPs with minor-allele frequency < 1%, 5 of them monomorphic
        dropped = seed_scan["scan"].drop(gem.index)
        assert len(dropped) == 12 and (dropped["flag"] == "monomorphic").sum() == 5
        assert (np.minimum(dropped["af"], 1 - dropped["af"]) < 0.01).all()

    def test_seed_lrt_score_are_those_of_the_centred_kinship(self, seed, seed_scan):
        gem = read_gemma("seed")
        null_c = KinshipMixedLM(seed["y"], np.ones((len(seed["y"]), 1)),
                                kinship=centred(seed["K"])).fit()
        ours = scan(null_c, seed_scan["geno"]).loc[gem.index]
        assert_allclose(ours["p_lrt"], gem["p_lrt"], rtol=2e-6)            # p_lrt
        assert_allclose(ours["p_score"], gem["p_score"], rtol=2e-6)        # p_score
        assert_allclose(ours["delta_ml"], gem["l_mle"], rtol=2e-5)         # l_mle
        assert_allclose(ours["llf_ml"], gem["logl_H1"], rtol=1e-6)         # logl_H1
        assert_allclose(ours["se"], gem["se"], rtol=1e-6)  # REML: unchanged by centring
        # with K as given (lme4's model) the ML fits differ from GEMMA's
        as_given = seed_scan["scan"].loc[gem.index]
        assert np.max(np.abs(as_given["p_lrt"] / gem["p_lrt"] - 1)) > 0.01
        assert np.max(np.abs(as_given["llf_ml"] - gem["logl_H1"])) > 1.0

    def test_covariate_and_missing_genotypes(self, data_study):
        frame, kinship, geno = data_study
        gem = read_gemma("data")
        null = KinshipMixedLM.from_formula("trait ~ sex", frame, kinship=kinship).fit()
        ours = scan(null, geno).loc[gem.index]
        assert_array_equal(ours["n_missing"], gem["n_miss"])               # n_miss
        assert_allclose(ours["af"], gem["af"], atol=5e-4)
        assert_allclose(ours["se"], gem["se"], rtol=1e-6)                   # se
        # GEMMA stops Newton at a relative step of 1e-5 and returns the previous iterate
        assert_allclose(ours["delta"], gem["l_remle"], rtol=2e-5)          # l_remle
        # at GEMMA's (printed) ratio the Wald test is the same to GEMMA's 7 digits
        beta, se, p = wald_at(null, geno[gem.index], gem["l_remle"])
        assert_allclose(se, gem["se"], rtol=1e-6)
        assert_allclose(p, gem["p_wald"], rtol=1e-6)
        assert np.all(np.abs(beta - gem["beta"]) <= 1e-6 * np.maximum(np.abs(beta), se))
        null_c = KinshipMixedLM.from_formula("trait ~ sex", frame,
                                             kinship=centred(kinship)).fit()
        ours_c = scan(null_c, geno).loc[gem.index]
        assert_allclose(ours_c["p_lrt"], gem["p_lrt"], rtol=2e-6)          # p_lrt
        assert_allclose(ours_c["p_score"], gem["p_score"], rtol=2e-6)      # p_score

    def test_grm(self, grm_study):
        null, geno, _, _ = grm_study
        assert not scan_module._Null(null, "exact", True).grouped  # the Taylor path
        gem = read_gemma("grm")
        ours = scan(null, geno).loc[gem.index]
        assert_allclose(ours["se"], gem["se"], rtol=2e-6)
        assert_allclose(ours["delta"], gem["l_remle"], rtol=2e-5)
        assert_allclose(ours["delta_ml"], gem["l_mle"], rtol=2e-5)
        # a GRM is centred already: GEMMA's ML fits are those of the kinship as given
        assert_allclose(ours["p_lrt"], gem["p_lrt"], rtol=2e-6)
        assert_allclose(ours["p_score"], gem["p_score"], rtol=2e-6)
        assert_allclose(ours["llf_ml"], gem["logl_H1"], rtol=1e-6)
        beta, se, p = wald_at(null, geno[gem.index], gem["l_remle"])
        assert_allclose(p, gem["p_wald"], rtol=1e-6)
        assert np.all(np.abs(beta - gem["beta"]) <= 1e-6 * np.maximum(np.abs(beta), se))

    def test_loco(self, grm_study):
        null, geno, snps, _ = grm_study
        ours = scan(null, geno, loco=True, chromosome=snps["chromosome"])
        assert set(ours.attrs["null"]) == {"1", "2", "3"}
        for c in "123":
            gem = read_gemma(f"grm_loco_{c}")
            assert (ours.loc[gem.index, "chromosome"] == c).all()
            mine = ours.loc[gem.index]
            assert_allclose(mine["se"], gem["se"], rtol=2e-6)
            assert_allclose(mine["delta"], gem["l_remle"], rtol=2e-5)
            assert_allclose(mine["p_lrt"], gem["p_lrt"], rtol=2e-6)
            # the score test is evaluated at the null ML ratio, which GEMMA leaves 1e-5 off
            assert_allclose(mine["p_score"], gem["p_score"], rtol=1e-5)


# -- lme4 ------------------------------------------------------------------------------------

def test_lrt_is_ratio_of_lme4_ml_fits(seed_scan):
    ref = json.loads((RESULTS / "lme4_scan.json").read_text())
    ours, null = seed_scan["scan"], seed_scan["null"]
    assert_allclose(ours.attrs["null"]["llf_ml_null"], ref["null"]["ML"]["logLik"],
                    rtol=1e-10)                                 # logLik(null ML fit)
    for j in ref["meta"]["snps"]:
        r = ref[f"SNP{j}"]
        row = ours.iloc[j - 1]
        assert_allclose(row["llf_ml"], r["ML"]["logLik"], rtol=1e-10)     # logLik(fit)
        assert_allclose(row["stat_lrt"], r["lrt"], rtol=1e-8)             # 2 (logLik - logLik0)
        assert_allclose(row["p_lrt"], r["p_lrt"], rtol=1e-7)
        assert_allclose(row["delta_ml"], r["ML"]["theta"] ** 2, rtol=1e-5)  # getME(fit, "theta")^2
        assert_allclose(row["beta"], r["REML"]["fixef"][1], rtol=1e-6)   # fixef(fit)
        assert_allclose(row["se"], r["REML"]["se"][1], rtol=1e-6)        # sqrt(diag(vcov(fit)))
        assert_allclose(row["delta"], r["REML"]["theta"] ** 2, rtol=1e-5)
    assert_allclose(null.llf, ref["null"]["REML"]["logLik"], rtol=1e-10)


# -- oracles ---------------------------------------------------------------------------------

@pytest.mark.parametrize("grm", [False, True], ids=["family", "grm"])
def test_each_snp_equals_a_full_fit(grm):
    y, exog, kin, geno = family_study(grm=grm)
    null = KinshipMixedLM(y, exog, kinship=kin).fit()
    assert scan_module._Null(null, "exact", True).grouped is not grm
    result = scan(null, geno)
    null_ml = KinshipMixedLM(y, exog, kinship=kin).fit(reml=False)
    assert result.attrs["null"]["llf_ml_null"] == pytest.approx(null_ml.llf, rel=1e-12)
    for j in range(geno.shape[1]):
        x = np.where(np.isnan(geno[:, j]), np.nanmean(geno[:, j]), geno[:, j])
        model = KinshipMixedLM(y, np.column_stack([exog, x]), kinship=kin)
        reml, ml = model.fit(use_t=True), model.fit(reml=False)
        row = result.iloc[j]
        assert_allclose([row["beta"], row["se"], row["p_wald"], row["delta"]],
                        [reml.params[-1], reml.bse[-1], reml.pvalues[-1], reml.delta],
                        rtol=1e-8)
        assert_allclose([row["llf_ml"], row["delta_ml"]], [ml.llf, ml.delta], rtol=1e-9)
        assert_allclose(row["stat_lrt"], 2 * (ml.llf - null_ml.llf), rtol=1e-7, atol=1e-8)
        assert_allclose(row["stat_score"], score_oracle(y, exog, kin, x, null_ml.delta),
                        rtol=1e-8)
        assert row["n_missing"] == np.isnan(geno[:, j]).sum()


def test_snps_fitted_one_by_one_give_the_same(monkeypatch):
    """The fall-back for SNPs whose bracket holds several extrema (ProfiledLikelihood)."""
    y, exog, kin, geno = family_study(n_families=30, n_snps=6, seed=7, grm=True)
    null = KinshipMixedLM(y, exog, kinship=kin).fit()
    expected = scan(null, geno)

    def give_up(blk, reml, best, lo, hi, delta, fallback, act, max_iter, rtol):
        fallback[act] = True

    monkeypatch.setattr(scan_module, "_newton", give_up)
    assert_allclose(scan(null, geno)[["beta", "se", "p_wald", "p_lrt", "delta"]],
                    expected[["beta", "se", "p_wald", "p_lrt", "delta"]], rtol=1e-9)


def test_fixed_ratio(seed_scan, seed):
    null, geno = seed_scan["null"], seed_scan["geno"]
    fixed = scan(null, geno, method="fixed")
    y, n = seed["y"], len(seed["y"])
    m0 = KinshipMixedLM(y, np.ones((n, 1)), kinship=seed["K"])
    llf0 = m0.fit(reml=False, kinship_ratio=null.delta).llf
    for j in [0, 2, 4, 10, 40]:
        model = KinshipMixedLM(y, np.column_stack([np.ones(n), geno.iloc[:, j]]),
                               kinship=seed["K"])
        fit = model.fit(kinship_ratio=null.delta, use_t=True)
        row = fixed.iloc[j]
        assert_allclose([row["beta"], row["se"], row["p_wald"]],
                        [fit.params[-1], fit.bse[-1], fit.pvalues[-1]], rtol=1e-9)
        llf1 = model.fit(reml=False, kinship_ratio=null.delta).llf
        assert_allclose(row["stat_lrt"], 2 * (llf1 - llf0), rtol=1e-8)
        assert row["delta"] == null.delta and np.isnan(row["delta_ml"])
    exact = seed_scan["scan"]
    assert_array_equal(fixed["flag"], exact["flag"])
    # the fixed ratio is a close approximation here (delta changes little per SNP)
    ok = exact["flag"] == "ok"
    assert_allclose(fixed.loc[ok, "beta"], exact.loc[ok, "beta"], rtol=0.05)


def test_no_kinship_variance_is_ols():
    rng = np.random.default_rng(4)
    y, exog, kin, geno = family_study(seed=4)
    e = rng.normal(size=len(y))
    e -= 0.5 * np.repeat(e.reshape(-1, 4).mean(axis=1), 4)  # relatives less alike: delta 0
    y = exog @ [1.0, 0.4, -0.3] + e
    geno = np.where(np.isnan(geno), 1.0, geno)
    null = KinshipMixedLM(y, exog, kinship=kin).fit()
    result = scan(null, geno)
    at_zero = result["delta"] == 0
    assert at_zero.sum() >= 10
    for j in np.flatnonzero(at_zero)[:5]:
        ols = sm.OLS(y, np.column_stack([exog, geno[:, j]])).fit()
        assert_allclose([result["beta"].iloc[j], result["se"].iloc[j],
                         result["p_wald"].iloc[j]],
                        [ols.params[-1], ols.bse[-1], ols.pvalues[-1]], rtol=1e-9)


# -- inputs: alignment, flags, missing values, blocks, files, dask ----------------------------

def test_dataframe_aligned_by_label(data_study):
    frame, kinship, geno = data_study
    null = KinshipMixedLM.from_formula("trait ~ sex", frame, kinship=kinship).fit()
    base = scan(null, geno.iloc[:, :20], method="fixed")
    rng = np.random.default_rng(0)
    extra = pd.DataFrame(1.0, index=["someone_else"], columns=geno.columns[:20])
    shuffled = pd.concat([geno.iloc[:, :20], extra]).iloc[rng.permutation(len(geno) + 1)]
    assert_allclose(scan(null, shuffled, method="fixed")["beta"], base["beta"], rtol=1e-12)
    with pytest.raises(ValueError, match="F001_01"):
        scan(null, geno.iloc[1:, :3])
    with pytest.raises(ValueError, match="duplicated"):
        scan(null, pd.concat([geno.iloc[:, :3], geno.iloc[:1, :3]]))


def test_rows_dropped_for_missing_phenotype():
    y, exog, kin, geno = family_study(n_families=20, n_snps=8, seed=1)
    y_missing = y.copy()
    y_missing[[3, 17]] = np.nan
    keep = np.setdiff1d(np.arange(len(y)), [3, 17])
    null = KinshipMixedLM(y_missing, exog, kinship=kin, missing="drop").fit()
    null_sub = KinshipMixedLM(y[keep], exog[keep], kinship=kin[np.ix_(keep, keep)]).fit()
    full_rows = scan(null, geno)  # rows of the data before dropping
    assert_allclose(full_rows["p_wald"], scan(null_sub, geno[keep])["p_wald"], rtol=1e-10)
    with pytest.raises(ValueError, match="rows"):
        scan(null, geno[:10])


def test_flags_monomorphic_aliased_missing():
    y, exog, kin, geno = family_study(n_families=20, n_snps=8, seed=2)
    geno[:, 1] = 2.0                              # monomorphic
    geno[:, 2] = 2 * exog[:, 2]                   # proportional to a covariate
    geno[:, 3] = 1 - exog[:, 2]                   # linear combination of two covariates
    geno[:, 4] = np.nan                           # never observed
    geno[:5, 5], geno[5:, 5] = np.nan, 1.0        # one value where observed
    null = KinshipMixedLM(y, exog, kinship=kin).fit()
    for method in ("exact", "fixed"):
        result = scan(null, geno, method=method)
        assert list(result["flag"]) == ["ok", "monomorphic", "aliased", "aliased", "missing",
                                        "monomorphic", "ok", "ok"]
        tests = ["beta", "se", "p_wald", "p_lrt", "p_score", "stat_wald"]
        assert result.loc[result["flag"] != "ok", tests].isna().all().all()
        assert result.loc[result["flag"] == "ok", tests].notna().all().all()
    assert result["n_obs"].iloc[4] == 0 and result["n_missing"].iloc[5] == 5


def test_ratio_at_the_end_of_the_search_is_a_boundary_estimate():
    # K positive definite: the likelihood has a finite limit at s_e^2 = 0, so the end of the
    # search is a converged boundary estimate (h2 = 1), in the null fit, the SNP fits and
    # the scan alike (the rule of ProfiledLikelihood.maximize)
    rng = np.random.default_rng(9)
    _, _, kin, geno = family_study(n_families=20, n_snps=5, seed=9)
    geno = np.where(np.isnan(geno), 1.0, geno)
    y = 3 + np.linalg.cholesky(kin) @ rng.normal(size=len(kin))  # no residual variance
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        null = KinshipMixedLM(y, np.ones((len(y), 1)), kinship=kin).fit()
    assert null.converged and null.fit_info["boundary"] == "residual"
    result = scan(null, geno)
    assert (result["flag"] == "ok").all()
    grid_end = np.exp(DELTA_LOG_MAX) / delta_scale(np.linalg.eigvalsh(kin))  # the search's end
    assert_allclose(result["delta"], grid_end, rtol=1e-12)
    fit = KinshipMixedLM(y, np.column_stack([np.ones(len(y)), geno[:, 3]]), kinship=kin)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        reml = fit.fit(use_t=True)
    assert reml.converged and reml.fit_info["boundary"] == "residual"
    assert_allclose(result["p_wald"].iloc[3], reml.pvalues[-1], rtol=1e-8)


def test_missing_genotypes_are_mean_imputed():
    y, exog, kin, geno = family_study(n_families=20, n_snps=10, seed=3)
    null = KinshipMixedLM(y, exog, kinship=kin).fit()
    imputed = np.where(np.isnan(geno), np.nanmean(geno, axis=0), geno)
    a, b = scan(null, geno), scan(null, imputed)
    assert_allclose(a["p_wald"], b["p_wald"], rtol=1e-12)
    assert_array_equal(a["n_missing"], np.isnan(geno).sum(axis=0))
    assert (b["n_missing"] == 0).all()
    assert_allclose(a["af"], np.nanmean(geno, axis=0) / 2)


def test_blocks_and_scaling():
    y, exog, kin, geno = family_study(n_families=30, n_snps=25, seed=5, grm=True)
    null = KinshipMixedLM(y, exog, kinship=kin).fit()
    whole = scan(null, geno)
    blocks = scan(null, geno, block_size=7)
    assert_allclose(blocks[["beta", "se", "p_wald", "p_lrt", "p_score"]],
                    whole[["beta", "se", "p_wald", "p_lrt", "p_score"]], rtol=1e-10)
    halved = scan(null, geno / 2)  # effect per unit doubles, tests unchanged (dosages)
    assert_allclose(halved["beta"], whole["beta"] * 2, rtol=1e-9)
    assert_allclose(halved["p_wald"], whole["p_wald"], rtol=1e-9)


def test_plink_bed(tmp_path, data_study):
    bed_reader = pytest.importorskip("bed_reader", reason="bed-reader is optional")
    frame, kinship, geno = data_study
    null = KinshipMixedLM.from_formula("trait ~ sex", frame, kinship=kinship).fit()
    order = np.random.default_rng(1).permutation(len(geno))  # .fam in another order
    shuffled = geno.iloc[order, :40]
    bed_reader.to_bed(tmp_path / "study.bed", np.array(shuffled, dtype=float),
                      properties={"iid": shuffled.index, "sid": shuffled.columns,
                                  "chromosome": ["1"] * 20 + ["2"] * 20,
                                  "bp_position": np.arange(40) * 1000},
                      count_A1=True)
    from_bed = scan(null, tmp_path / "study", block_size=16)
    expected = scan(null, geno.iloc[:, :40])
    assert_allclose(from_bed["p_wald"], expected["p_wald"], rtol=1e-12)
    assert_array_equal(from_bed["n_missing"], expected["n_missing"])
    assert list(from_bed.index) == list(geno.columns[:40])
    assert list(from_bed["chromosome"].unique()) == ["1", "2"]
    assert from_bed["position"].iloc[3] == 3000
    with pytest.raises(FileNotFoundError, match="incomplete"):
        scan(null, tmp_path / "nothing")


def test_dask_local_cluster_equals_in_memory(monkeypatch):
    pytest.importorskip("dask.array", reason="dask is optional")
    distributed = pytest.importorskip("distributed", reason="dask.distributed is optional")
    import dask.array as da

    y, exog, kin, geno = family_study(n_families=30, n_snps=40, seed=6)
    null = KinshipMixedLM(y, exog, kinship=kin).fit()
    expected = scan(null, geno, block_size=10)
    built = []
    init = scan_module._Null.__init__
    monkeypatch.setattr(scan_module._Null, "__init__",
                        lambda self, *a: (built.append(1), init(self, *a))[1])
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        scattered = []
        scatter = client.scatter
        monkeypatch.setattr(client, "scatter",
                            lambda data, **kw: (scattered.append(kw), scatter(data, **kw))[1])
        result = scan(null, da.from_array(geno, chunks=(-1, 10)), block_size=10)
        assert len(client.scheduler_info()["workers"]) == 2
    pd.testing.assert_frame_equal(result, expected, check_exact=False, rtol=1e-13, atol=0)
    assert built == [1]  # one null model for four blocks, sent to the workers once:
    assert scattered == [{"broadcast": True, "hash": False}]


def test_dask_without_cluster_and_bed_through_dask(tmp_path):
    pytest.importorskip("dask.array", reason="dask is optional")
    import dask.array as da

    y, exog, kin, geno = family_study(n_families=15, n_snps=12, seed=7)
    null = KinshipMixedLM(y, exog, kinship=kin).fit()
    expected = scan(null, geno, block_size=5)
    pd.testing.assert_frame_equal(scan(null, da.from_array(geno, chunks=5), block_size=5),
                                  expected, check_exact=False, rtol=1e-13, atol=0)
    bed_reader = pytest.importorskip("bed_reader", reason="bed-reader is optional")
    bed_reader.to_bed(tmp_path / "g.bed", np.array(geno))
    through_dask = scan(null, tmp_path / "g", block_size=5, use_dask=True)
    assert_allclose(through_dask["p_wald"], expected["p_wald"], rtol=1e-12)


# -- LOCO -----------------------------------------------------------------------------------

def test_loco_true_equals_loco_kinships_and_checks_the_grm(grm_study):
    null, geno, snps, grm = grm_study
    chrom = snps["chromosome"].to_numpy()
    sub = np.r_[0:15, 200:215, 400:415]
    auto = scan(null, geno, loco=True, chromosome=chrom, method="fixed")
    given = {c: genomic_relationship_matrix(geno.loc[:, chrom != c]) for c in "123"}
    by_dict = scan(null, geno.iloc[:, sub], loco=given, chromosome=chrom[sub], method="fixed")
    assert_allclose(by_dict["p_wald"], auto["p_wald"].iloc[sub], rtol=1e-9)
    assert auto.attrs["loco"] and by_dict.attrs["null"]["2"]["delta_null"] > 0
    # a kinship that is not the GRM of these genotypes is refused
    with pytest.raises(ValueError, match="genomic_relationship_matrix"):
        scan(null, geno.iloc[:, :300], loco=True, chromosome=chrom[:300])
    with pytest.raises(ValueError, match="chromosome"):
        scan(null, geno, loco=True)
    with pytest.raises(ValueError, match="no kinship"):
        scan(null, geno, loco={"1": given["1"]}, chromosome=chrom)


# -- misc ---------------------------------------------------------------------------------------

def test_arguments_checked(seed_scan):
    null, geno = seed_scan["null"], seed_scan["geno"]
    with pytest.raises(ValueError, match="method"):
        scan(null, geno, method="score")
    with pytest.raises(ValueError, match="block_size"):
        scan(null, geno, block_size=0)
    with pytest.raises(ValueError, match="one value per SNP"):
        scan(null, geno, chromosome=[1, 2])
    with pytest.raises(TypeError, match="KinshipMixedLM"):
        scan(sm.OLS(np.ones(3), np.ones(3)).fit(), geno)
    with pytest.raises(ValueError, match="2-D"):
        scan(null, np.ones(1200))


def test_genomic_inflation():
    rng = np.random.default_rng(8)
    chi2 = stats.chi2.rvs(1, size=50000, random_state=rng)
    assert genomic_inflation(stats.chi2.sf(chi2, 1)) == pytest.approx(1.0, abs=0.03)
    assert genomic_inflation(stats.chi2.sf(1.3 * chi2, 1)) == pytest.approx(1.3, abs=0.04)
    assert np.isnan(genomic_inflation([np.nan]))


def test_seed_scan_flags_and_result_frame(seed_scan):
    result = seed_scan["scan"]
    assert list(result.index) == seed_scan["names"]
    assert result["flag"].value_counts()["monomorphic"] == 5
    assert result.attrs["method"] == "exact"
    assert result.attrs["null"]["df_resid"] == 1200 - 2
    # the strongest signals are SNPs in LD with the causal SNP 3, 5 and 11
    assert result["p_wald"].min() < 1e-50


def test_plots(seed_scan):
    pytest.importorskip("matplotlib", reason="the plots need matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from statsmodels_kinship.plotting import manhattan_plot, qq_plot

    result = seed_scan["scan"].assign(chromosome=1, position=np.arange(130) * 10)
    fig = manhattan_plot(result, highlight=["snp1", "snp3"], annotate=3)
    lam = genomic_inflation(result["p_wald"])
    assert rf"$\lambda_{{GC}}$ = {lam:.3f}" in fig.axes[0].get_title()
    assert len(fig.axes[0].collections) >= 2
    fig2 = qq_plot(result, column="p_lrt")
    legend = fig2.axes[0].get_legend().get_title().get_text()
    assert legend == rf"$\lambda_{{GC}}$ = {genomic_inflation(result['p_lrt']):.3f}"
    plt.close("all")
    with pytest.raises(KeyError, match="p_nope"):
        qq_plot(result, column="p_nope")


def test_example_gwas_scan(tmp_path, monkeypatch, capsys):
    pytest.importorskip("matplotlib", reason="the example's figures need matplotlib")
    import runpy
    import sys

    example = pathlib.Path(__file__).resolve().parent.parent / "examples" / "gwas_scan.py"
    monkeypatch.setattr(sys, "argv", [str(example), str(tmp_path)])
    runpy.run_path(str(example), run_name="__main__")
    out = capsys.readouterr().out
    assert "SNP1   beta  0.856" in out and "rank exact   1, fixed   1" in out
    for name in ("gwas_scan_manhattan.png", "gwas_scan_qq.png"):
        assert (tmp_path / name).stat().st_size > 10000


def test_results_method_and_package_exports(seed_scan):
    import statsmodels_kinship as smk

    null, geno = seed_scan["null"], seed_scan["geno"]
    pd.testing.assert_frame_equal(null.scan(geno, method="fixed"),
                                  scan(null, geno, method="fixed"))
    pd.testing.assert_frame_equal(null.scan(geno), seed_scan["scan"])
    assert smk.scan is scan_module and smk.genomic_inflation is genomic_inflation
    from statsmodels_kinship.plotting import manhattan_plot, qq_plot
    assert smk.manhattan_plot is manhattan_plot and smk.qq_plot is qq_plot
