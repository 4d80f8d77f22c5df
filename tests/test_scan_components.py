"""The scan (statsmodels_kinship.scan) on a null model with several variance components.

The null model is the seed-like household model of the project's study (``data/``, made by
``data/make_data.py``): ``trait ~ sex`` with the pedigree kinship and one iid effect per
household (``results.delta is None``, the engine's block likelihood). Oracles:

* ``'exact'``: a full ``KinshipMixedLM`` refit with the SNP added (REML for beta, se, the
  Wald test and the ratios; ML for the log-likelihood and the likelihood-ratio test);
* ``'fixed'``: generalized least squares at the null model's ratios with a dense
  ``H = I + gamma_k K + gamma_h D`` (numpy), and the ML log-likelihood from
  ``scipy.stats.multivariate_normal.logpdf``;
* a kinship-only null model put on the block likelihood gives the single-kinship scan's
  numbers, columns, flags and labels.
"""
import pathlib

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import stats

import statsmodels_kinship.kinship_mixed_model as kmm
from statsmodels_kinship import KinshipMixedLM, kinship_from_pedigree, read_study_csv
from statsmodels_kinship.exceptions import GenotypeWarning
from statsmodels_kinship.scan import scan

DATA = pathlib.Path(__file__).resolve().parents[1] / "data"
HOUSEHOLD = {"household": "0 + C(household)"}
# causal (SNP1, SNP3), in LD with a causal SNP, and null SNPs of other blocks
SNPS = ["SNP1", "SNP3", "SNP7", "SNP20", "SNP64", "SNP100"]
GAMMA_COLS = ["gamma_kinship", "gamma_household"]
GAMMA_ML_COLS = ["gamma_ml_kinship", "gamma_ml_household"]


@pytest.fixture(scope="module")
def study():
    ped, geno, phe, _ = read_study_csv(DATA)
    phe = phe.assign(sex=ped.set_index("individual")["sex"].reindex(phe.index)
                     .astype(float).to_numpy())
    kin = kinship_from_pedigree(ped)
    return phe, geno.loc[phe.index], kin


def household_model(data, kin, formula="trait ~ sex"):
    return KinshipMixedLM.from_formula(formula, data, kinship=kin, vc_formula=HOUSEHOLD)


@pytest.fixture(scope="module")
def null(study):
    phe, _, kin = study
    model = household_model(phe, kin)
    return model, model.fit(), model.fit(reml=False)


@pytest.fixture(scope="module")
def exact(study, null):
    return scan(null[1], study[1][SNPS], method="exact")


@pytest.fixture(scope="module")
def fixed(study, null):
    return scan(null[1], study[1], method="fixed")


def dense_h(phe, kin, gamma):
    """``H = I + gamma_k K + gamma_h D`` over the records, D the same-household indicator."""
    k = kin.loc[phe.index, phe.index].to_numpy()
    hh = phe["household"].to_numpy()
    d = (hh[:, None] == hh[None, :]).astype(float)
    return np.eye(len(phe)) + gamma[0] * k + gamma[1] * d


class DenseGLS:
    """GLS at ``V = s_e^2 H`` (dense numpy) of ``y`` on ``x0`` and on ``[x0, x]``."""

    def __init__(self, y, x0, h):
        self.y, self.x0, self.h = y, x0, h
        self.hinv = np.linalg.inv(h)
        self.logdet = np.linalg.slogdet(h)[1]
        self.hx0 = self.hinv @ x0
        self.a0_inv = np.linalg.inv(x0.T @ self.hx0)
        self.llf_ml0 = self._gls(x0)[3]

    def p0(self, v):
        """``P v``, ``P = H^-1 - H^-1 x0 (x0'H^-1 x0)^-1 x0'H^-1``."""
        return self.hinv @ v - self.hx0 @ (self.a0_inv @ (self.hx0.T @ v))

    def _gls(self, design):
        y, hinv, n = self.y, self.hinv, len(self.y)
        a = design.T @ hinv @ design
        b = np.linalg.solve(a, design.T @ hinv @ y)
        r = y - design @ b
        rss = r @ hinv @ r
        s2 = rss / n  # ML residual variance
        llf = -0.5 * (n * np.log(2 * np.pi * s2) + self.logdet + rss / s2)
        return b, np.linalg.inv(a), rss, llf

    def snp(self, x):
        """The SNP's beta, se (REML s_e^2), the ML log-likelihood of the SNP model and the
        score statistic ``n (x'Py)^2 / (y'Py x'Px)`` (P off ``x0``)."""
        y, n = self.y, len(self.y)
        x1 = np.column_stack([self.x0, x])
        b1, a1_inv, rss1, llf1 = self._gls(x1)
        px = self.p0(x)
        score = n * (px @ y) ** 2 / ((y @ self.p0(y)) * (px @ x))
        se = np.sqrt(rss1 / (n - x1.shape[1]) * a1_inv[-1, -1])
        return {"beta": b1[-1], "se": se, "llf_ml": llf1, "stat_score": score,
                "mean": x1 @ b1, "s2_ml": rss1 / n}


# -- 'exact': a refit of the model with the SNP ----------------------------------------------

@pytest.mark.parametrize("snp", SNPS)
def test_exact_equals_refit_with_the_snp(study, null, exact, snp):
    phe, geno, kin = study
    model = household_model(phe.join(geno[snp]), kin, f"trait ~ sex + {snp}")
    reml, ml = model.fit(use_t=True), model.fit(reml=False)
    row = exact.loc[snp]
    assert row["flag"] == "ok"
    assert_allclose(row["beta"], reml.params[snp], rtol=1e-8)
    assert_allclose(row["se"], reml.bse[snp], rtol=1e-8)
    assert_allclose(row["stat_wald"], reml.tvalues[snp] ** 2, rtol=1e-7)
    assert_allclose(row["p_wald"], reml.pvalues[snp], rtol=1e-6, atol=1e-300)
    assert_allclose(row[GAMMA_COLS].to_numpy(float), reml.gamma, rtol=1e-6)
    # ML: the log-likelihood of the SNP model and the LR test against the null model's
    assert_allclose(row["llf_ml"], ml.llf, rtol=1e-12)
    assert_allclose(row[GAMMA_ML_COLS].to_numpy(float), ml.gamma, rtol=1e-6)
    assert_allclose(row["stat_lrt"], 2 * (ml.llf - null[2].llf), rtol=1e-7, atol=1e-7)
    assert_allclose(row["p_lrt"], stats.chi2.sf(2 * (ml.llf - null[2].llf), 1), rtol=1e-6,
                    atol=1e-300)
    # the ratios are per SNP, not the null model's
    assert not np.allclose(row[GAMMA_COLS].to_numpy(float), null[1].gamma, rtol=1e-4)


def test_exact_score_test_at_the_null_ml_ratios(study, null, exact):
    phe, geno, kin = study
    info = exact.attrs["null"]
    gamma_ml = [info["gamma_ml_null"][c] for c in ("kinship", "household")]
    assert_allclose(gamma_ml, null[2].gamma, rtol=1e-6)
    assert_allclose(info["llf_ml_null"], null[2].llf, rtol=1e-12)
    assert info["gamma_score"] == info["gamma_ml_null"]
    assert info["null_method"] == "REML" and info["df_resid"] == len(phe) - 3
    x0 = np.column_stack([np.ones(len(phe)), phe["sex"]])
    oracle = DenseGLS(phe["trait"].to_numpy(), x0, dense_h(phe, kin, gamma_ml))
    for snp in SNPS[:3]:
        want = oracle.snp(geno[snp].to_numpy(float))
        assert_allclose(exact.loc[snp, "stat_score"], want["stat_score"], rtol=1e-9)
    df = len(phe) - 3
    assert_allclose(exact["p_score"], stats.f.sf(exact["stat_score"], 1, df), rtol=1e-12)


# -- 'fixed': GLS at the null model's ratios -------------------------------------------------

def test_fixed_equals_dense_gls_at_the_null_ratios(study, null, fixed):
    phe, geno, kin = study
    res = null[1]
    h = dense_h(phe, kin, res.gamma)
    x0 = np.column_stack([np.ones(len(phe)), phe["sex"]])
    y = phe["trait"].to_numpy()
    oracle = DenseGLS(y, x0, h)
    n, df = len(y), len(y) - 3
    for snp in SNPS + ["SNP2", "SNP130"]:
        want = oracle.snp(geno[snp].to_numpy(float))
        row = fixed.loc[snp]
        assert_allclose(row["beta"], want["beta"], rtol=1e-9)
        assert_allclose(row["se"], want["se"], rtol=1e-9)
        assert_allclose(row["llf_ml"], want["llf_ml"], rtol=1e-11)
        lrt = 2 * (want["llf_ml"] - oracle.llf_ml0)
        assert_allclose(row["stat_lrt"], lrt, rtol=1e-6, atol=1e-8)
        assert_allclose(row["stat_score"], want["stat_score"], rtol=1e-9)
        assert_allclose(row["stat_wald"], (want["beta"] / want["se"]) ** 2, rtol=1e-9)
        assert_allclose(row["p_wald"], stats.f.sf(row["stat_wald"], 1, df), rtol=1e-12)
    # the ML log-likelihood is the normal log-density at the GLS fit and the ML s_e^2
    want = oracle.snp(geno[SNPS[0]].to_numpy(float))
    assert_allclose(fixed.loc[SNPS[0], "llf_ml"], stats.multivariate_normal.logpdf(
        y, want["mean"], want["s2_ml"] * h), rtol=1e-11)
    assert (fixed["flag"] == "ok").all()
    assert_allclose(fixed[GAMMA_COLS].to_numpy(), np.tile(res.gamma, (len(fixed), 1)), rtol=0)
    assert fixed[GAMMA_ML_COLS + ["delta", "delta_ml"]].isna().all().all()
    assert fixed.attrs["null"]["gamma_score"] == fixed.attrs["null"]["gamma_null"]
    assert n == fixed.attrs["null"]["nobs"]


def test_fixed_is_close_to_exact(fixed, exact):
    """EMMAX's approximation: for these SNPs the ratios move little, so do the tests."""
    assert_allclose(fixed.loc[SNPS, "beta"], exact["beta"], atol=0.1 * exact["se"].min())
    assert_allclose(fixed.loc[SNPS, "se"], exact["se"], rtol=1e-2)


# -- same frame, flags and labels as the single-kinship scan --------------------------------

def odd_genotypes(phe, geno):
    """Genotypes with a missing code, a monomorphic SNP, a SNP never observed and a SNP
    aliased with the covariates (sex), rows shuffled and one individual more."""
    g = geno[SNPS[:4]].copy()
    g.iloc[::7, 1] = -9  # missing code
    g["mono"] = 1.0
    g["absent"] = -9
    g["sexlike"] = phe["sex"] - 1.0  # 0/1: a linear combination of intercept and sex
    extra = pd.DataFrame([[0.0] * g.shape[1]], index=["ZZZ_99"], columns=g.columns)
    return pd.concat([g, extra]).sample(frac=1.0, random_state=3)


@pytest.fixture(scope="module")
def kinship_only(study):
    """A kinship-only null model on both paths: the single-kinship model, and the same
    model put on the block likelihood (as with repeated records)."""
    phe, _, kin = study
    single = KinshipMixedLM.from_formula("trait ~ sex", phe, kinship=kin)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(kmm, "needs_engine", lambda *args: True)
        general = KinshipMixedLM.from_formula("trait ~ sex", phe, kinship=kin)
    assert single._engine is None and general._engine is not None
    return single.fit(), general.fit()


@pytest.mark.parametrize("method", ["exact", "fixed"])
def test_kinship_only_null_equals_single_path(study, kinship_only, method):
    phe, geno, _ = study
    single, general = kinship_only
    assert general.delta is None
    assert_allclose(general.gamma, single.gamma, rtol=1e-7)
    g = odd_genotypes(phe, geno)
    kwargs = dict(method=method, missing_code=-9, chromosome=np.arange(g.shape[1]) + 1,
                  position=np.arange(g.shape[1]) * 10)
    with pytest.warns(GenotypeWarning, match="2 of 7 SNPs not tested"):
        want = scan(single, g, **kwargs)
    with pytest.warns(GenotypeWarning, match="2 of 7 SNPs not tested"):
        got = scan(general, g, **kwargs)
    assert list(got.columns) == list(want.columns) + ["gamma_kinship", "gamma_ml_kinship"]
    assert_array_equal(got.index, g.columns)
    assert list(got["flag"]) == list(want["flag"]) == ["ok"] * 4 + [
        "monomorphic", "missing", "aliased"]
    assert got["flag"].dtype == want["flag"].dtype
    for col in ["chromosome", "position", "af", "n_obs", "n_missing"]:
        assert_array_equal(got[col], want[col])
        assert got[col].dtype == want[col].dtype
    assert got.loc[SNPS[1], "n_missing"] == len(phe[::7])
    rtol = 1e-6 if method == "exact" else 1e-9
    for col in ["beta", "se", "stat_wald", "stat_lrt", "stat_score", "llf_ml", "p_wald",
                "p_lrt", "p_score"]:
        assert_allclose(got[col], want[col], rtol=rtol, atol=1e-8, err_msg=col)
    assert_allclose(got["gamma_kinship"], want["delta"], rtol=10 * rtol)
    assert_allclose(got["gamma_ml_kinship"], want["delta_ml"], rtol=10 * rtol)
    assert got[["delta", "delta_ml"]].isna().all().all()
    assert got.attrs["method"] == want.attrs["method"] == method
    assert_allclose(got.attrs["null"]["llf_ml_null"], want.attrs["null"]["llf_ml_null"],
                    rtol=1e-12)


def test_household_flags_labels_and_missing_code(study, null):
    """On the household model: the genotype DataFrame matched by label, the missing code read
    as missing (mean-imputed), untested SNPs flagged, as on the single path."""
    phe, geno, _ = study
    g = odd_genotypes(phe, geno)
    with pytest.warns(GenotypeWarning, match="'mono', 'absent'"):
        got = scan(null[1], g, method="fixed", missing_code=[-9])
    assert list(got["flag"][-3:]) == ["monomorphic", "missing", "aliased"]
    assert got.loc[["mono", "absent", "sexlike"], ["beta", "se", "p_wald", "gamma_kinship"]] \
        .isna().all().all()
    # the SNP with missing codes is the SNP mean-imputed over the model's individuals
    snp = SNPS[1]
    x = g[snp].loc[phe.index].replace(-9, np.nan)
    imputed = x.fillna(x.mean()).to_frame()
    again = scan(null[1], imputed, method="fixed")
    cols = ["beta", "se", "p_wald", "stat_lrt", "stat_score", "llf_ml"]
    assert_allclose(got.loc[snp, cols].to_numpy(float), again.loc[snp, cols].to_numpy(float),
                    rtol=1e-12)
    assert got.loc[snp, "n_missing"] == x.isna().sum() > 0
    assert_allclose(got.loc[snp, "af"], x.mean() / 2, rtol=1e-14)


# -- repeated records: genotypes by individual --------------------------------------------

def test_repeated_records_match_genotypes_by_individual(study):
    """Two records per individual (data indexed by individual, or an ``individual=``
    column): the genotypes of an individual go to each of its records; 'fixed' equals GLS
    on the records."""
    phe, geno, kin = study
    first = phe.index[:240]  # 20 families
    rng = np.random.default_rng(1)
    rec = pd.concat([phe.loc[first], phe.loc[first]])
    rec["trait"] = rec["trait"] + rng.normal(scale=0.3, size=len(rec))
    k = kin.loc[first, first]
    by_index = KinshipMixedLM.from_formula("trait ~ sex", rec, kinship=k,
                                           individual=rec.index.to_numpy()).fit()
    by_column = KinshipMixedLM.from_formula(
        "trait ~ sex", rec.reset_index(), kinship=k, individual="individual").fit()
    assert by_index.delta is None
    assert_allclose(by_column.gamma, by_index.gamma, rtol=1e-10)
    g = geno.loc[first, SNPS[:3]].iloc[::-1]  # one row per individual, another order
    a = scan(by_index, g, method="fixed")
    b = scan(by_column, g, method="fixed")
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-10)
    assert (a["n_obs"] == len(rec)).all()
    # the oracle: GLS on the records, H = I + gamma K[ind, ind]
    ind = rec.index
    h = np.eye(len(rec)) + by_index.gamma[0] * k.loc[ind, ind].to_numpy()
    x0 = np.column_stack([np.ones(len(rec)), rec["sex"]])
    oracle = DenseGLS(rec["trait"].to_numpy(), x0, h)
    for snp in SNPS[:3]:
        want = oracle.snp(geno.loc[ind, snp].to_numpy(float))
        assert_allclose(a.loc[snp, "beta"], want["beta"], rtol=1e-9)
        assert_allclose(a.loc[snp, "se"], want["se"], rtol=1e-9)
        assert_allclose(a.loc[snp, "llf_ml"], want["llf_ml"], rtol=1e-11)


# -- what the general path does not do -------------------------------------------------------

def test_loco_needs_the_single_kinship_model(study, null):
    phe, geno, _ = study
    with pytest.raises(NotImplementedError, match="several variance components"):
        scan(null[1], geno[SNPS], loco=True, chromosome=np.ones(len(SNPS)))


def test_dask_blocks_equal_in_memory(study, null):
    pytest.importorskip("dask.array", reason="dask is optional")
    import dask.array as da

    _, geno, _ = study
    g = geno[SNPS[:4]].to_numpy(float)
    expected = scan(null[1], g, method="exact", block_size=2)
    got = scan(null[1], da.from_array(g, chunks=(-1, 2)), method="exact", block_size=2)
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-13, atol=0)


def test_ml_null_model(study, null):
    """An ML null model: 'fixed' at its (ML) ratios, 'exact' as for the REML null model."""
    _, geno, _ = study
    ml = null[2]
    fixed = scan(ml, geno[SNPS[:2]], method="fixed")
    assert_allclose(fixed[GAMMA_COLS].to_numpy(), np.tile(ml.gamma, (2, 1)), rtol=0)
    assert fixed.attrs["null"]["null_method"] == "ML"
    assert_allclose(fixed.attrs["null"]["llf_ml_null"], ml.llf, rtol=1e-12)
    exact_ml = scan(ml, geno[SNPS[:2]], method="exact")
    exact_reml = scan(null[1], geno[SNPS[:2]], method="exact")
    cols = ["beta", "se", "stat_lrt", "stat_score"] + GAMMA_COLS + GAMMA_ML_COLS
    assert_allclose(exact_ml[cols].to_numpy(float), exact_reml[cols].to_numpy(float),
                    rtol=1e-7)
