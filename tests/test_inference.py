"""Likelihood-ratio tests, profile-likelihood intervals and Satterthwaite df.

R references (``tests/results/``): ``lme4_lrt.json`` from ``lme4_lrt.R`` (anova of lme4 fits
built as in ``lme4_seed.R``, the kinship LR from lme4's deviance function, profile intervals
from lme4's and lmerTest's deviance functions) on the seed data and on the small data set the
script writes (``lme4_lrt_small.csv``); ``lmertest_seed.json`` from ``lmertest_seed.R``
(lmerTest's Satterthwaite df). Python oracles: refits of individual models for the bootstrap
tests, explicit n x n covariance matrices and numerical derivatives for Satterthwaite, a
direct maximisation for the profile likelihood.
"""
import json
import pathlib
import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy import optimize, stats
from statsmodels.tools.sm_exceptions import ModelWarning

from statsmodels_kinship import KinshipMixedLM
from statsmodels_kinship.bootstrap import parametric_bootstrap, simulate
from statsmodels_kinship.inference import (
    LikelihoodRatioTestResults,
    compare_lr_test,
    kinship_variance_test,
    profile_conf_int,
    satterthwaite_df,
    t_test_satterthwaite,
)

RESULTS = pathlib.Path(__file__).parent / "results"
LRT = json.loads((RESULTS / "lme4_lrt.json").read_text())
LMERTEST = json.loads((RESULTS / "lmertest_seed.json").read_text())
Q95 = stats.chi2.ppf(0.95, 1)


def small_data():
    df = pd.read_csv(RESULTS / LRT["small"]["data"])
    df.insert(0, "Intercept", 1.0)
    K = np.kron(np.eye(len(df) // 4), np.array(LRT["small"]["family_kinship"]))
    return df, K


def seed_data(seed):
    df = pd.DataFrame(seed["D"], columns=seed["names"][1:])
    df.insert(0, "Intercept", 1.0)
    return df, seed["K"]


def load(name, request):
    """(data frame, kinship, response) of a reference data set; the seed data needs
    KINSHIP_SEED_DATA (the test skips without it)."""
    if name == "seed":
        seed = request.getfixturevalue("seed")
        return seed_data(seed) + (seed["y"],)
    df, K = small_data()
    return df, K, df["y"].to_numpy()


@pytest.fixture(scope="module")
def small():
    return small_data()


# -- likelihood-ratio tests against R ---------------------------------------------------------

@pytest.mark.parametrize("name", ["small", "seed"])
def test_compare_lr_test_against_anova(name, request):
    ref = LRT[name]
    df, K, y = load(name, request)
    full = KinshipMixedLM(y, df[ref["full"]], kinship=K)
    restricted = KinshipMixedLM(y, df[ref["restricted"]], kinship=K)
    # REML fits: refitted by ML with a warning, as anova() does
    with pytest.warns(ModelWarning, match="refitted by ML"):
        test = compare_lr_test(full.fit(), restricted.fit())
    lr, p, df_diff = test  # unpacks like statsmodels' compare_lr_test
    assert_allclose(lr, ref["anova_reml"]["Chisq"], rtol=1e-8)  # anova(m0, m1)$Chisq
    assert_allclose(p, ref["anova_reml"]["p"], rtol=1e-7)  # anova(m0, m1)$"Pr(>Chisq)"
    assert df_diff == ref["anova_reml"]["Df"]  # anova(m0, m1)$Df
    assert_allclose(test.llf[::-1], ref["anova_reml"]["logLik"], rtol=1e-10)
    # ML fits: no warning, the same numbers
    with warnings.catch_warnings():
        warnings.simplefilter("error", ModelWarning)
        ml = compare_lr_test(full.fit(reml=False), restricted.fit(reml=False))
    assert_allclose(ml.statistic, ref["anova_ml"]["Chisq"], rtol=1e-8)
    assert_allclose(ml.pvalue, ref["anova_ml"]["p"], rtol=1e-7)
    assert test.method == "chi2" and "chi2(2)" in repr(test)


@pytest.mark.parametrize("name", ["small", "seed"])
@pytest.mark.parametrize("method", ["REML", "ML"])
def test_kinship_variance_test_against_lme4(name, method, request):
    ref = LRT[name]["kinship"][method]
    df, K, y = load(name, request)
    res = KinshipMixedLM(y, df[LRT[name]["full"]], kinship=K).fit(reml=method == "REML")
    test = kinship_variance_test(res)
    # devfun(0) - devfun(theta_hat)
    assert_allclose(test.statistic, ref["LR"], rtol=1e-8)
    assert_allclose(test.pvalue, ref["p_mixture"], rtol=1e-6)  # 0.5 pchisq(LR, 1, lower=F)
    assert test.df_diff == 1 and test.method == "mixture"


def test_mixture_pvalue_formula(small):
    df, K = small
    res = KinshipMixedLM(df["y"], df[["Intercept", "x1"]], kinship=K).fit()
    test = kinship_variance_test(res)
    assert_allclose(test.pvalue, 0.5 * stats.chi2.sf(test.statistic, 1), rtol=1e-12)
    # P(T >= LR) for T ~ 0.5 chi2(0) + 0.5 chi2(1), by simulation
    rng = np.random.default_rng(0)
    t = np.where(rng.random(400_000) < 0.5, 0.0, rng.chisquare(1, 400_000))
    assert abs((t >= test.statistic).mean() - test.pvalue) < 5 * np.sqrt(test.pvalue / 400_000)
    # the 5% critical value of the mixture is the 90% quantile of chi2(1)
    assert_allclose(0.5 * stats.chi2.sf(stats.chi2.ppf(0.9, 1), 1), 0.05)
    # no kinship variance estimated: LR = 0, p = 1 (half the mass is at 0)
    rng = np.random.default_rng(1)
    y0 = df[["Intercept", "x1"]].to_numpy() @ [1.0, 0.5] + rng.normal(size=len(df))
    fits = [KinshipMixedLM(y0 + rng.normal(size=len(df)), df[["Intercept", "x1"]],
                           kinship=K).fit() for _ in range(20)]
    at_zero = [f for f in fits if f.delta == 0]
    assert at_zero, "expected some fits at the boundary"
    for f in at_zero:
        t0 = kinship_variance_test(f)
        assert t0.statistic == 0.0 and t0.pvalue == 1.0


# -- bootstrap versions -----------------------------------------------------------------------

def test_bootstrap_kinship_test_replicates_are_refits(small):
    df, K = small
    model = KinshipMixedLM(df["y"], df[LRT["small"]["full"]], kinship=K)
    res = model.fit()
    test = kinship_variance_test(res, method="bootstrap", nsim=40, seed=3, progress=False)
    # the replicates are drawn from the null fit and each refitted with and without kinship
    null = model.fit(kinship_ratio=0.0)
    ys = simulate(null, nsim=40, seed=3)
    for i in range(40):
        m = KinshipMixedLM(ys[i], df[LRT["small"]["full"]], kinship=K)
        lr = max(2 * (m.fit().llf - m.fit(kinship_ratio=0.0).llf), 0.0)
        assert_allclose(test.boot_statistics[i], lr, rtol=1e-8, atol=1e-9)
    assert (test.boot_statistics == 0).any()  # replicates at the boundary: exactly 0
    assert test.pvalue == (1 + (test.boot_statistics >= test.statistic).sum()) / 41
    assert test.nsim == 40 and test.n_failed == 0 and test.method == "bootstrap"


def test_bootstrap_kinship_test_null_distribution(small):
    """Under s_k^2 = 0 the bootstrap LR is close to the 50:50 mixture (a little more mass at
    0 for family data), and the bootstrap p-value of a clear signal is small."""
    df, K = small
    res = KinshipMixedLM(df["y"], df[["Intercept", "x1"]], kinship=K).fit()
    nsim = 2000
    test = kinship_variance_test(res, method="bootstrap", nsim=nsim, seed=4, progress=False)
    lr = test.boot_statistics
    assert 0.45 < (lr == 0).mean() < 0.75
    exceed = (lr > stats.chi2.ppf(0.9, 1)).mean()  # the mixture's 5% critical value
    assert abs(exceed - 0.05) < 4 * np.sqrt(0.05 * 0.95 / nsim) + 0.01
    assert test.pvalue < 0.01
    # same seed, same numbers
    again = kinship_variance_test(res, method="bootstrap", nsim=nsim, seed=4, progress=False)
    assert again.pvalue == test.pvalue
    np.testing.assert_array_equal(again.boot_statistics, lr)


def test_bootstrap_compare_lr_test(small):
    df, K = small
    ref = LRT["small"]
    full = KinshipMixedLM(df["y"], df[ref["full"]], kinship=K).fit(reml=False)
    restricted = KinshipMixedLM(df["y"], df[ref["restricted"]], kinship=K).fit(reml=False)
    nsim = 1500
    test = compare_lr_test(full, restricted, method="bootstrap", nsim=nsim, seed=5,
                           progress=False)
    lr = test.boot_statistics
    # drawn from the restricted ML fit, both models refitted by ML: LR* close to chi2(2)
    assert abs(lr.mean() - 2) < 4 * 2 / np.sqrt(nsim)
    assert abs((lr > stats.chi2.ppf(0.95, 2)).mean() - 0.05) < 4 * np.sqrt(0.05 * 0.95 / nsim)
    assert test.statistic == pytest.approx(ref["anova_ml"]["Chisq"], rel=1e-8)
    assert test.pvalue == (1 + (lr >= test.statistic).sum()) / (nsim + 1)
    assert test.pvalue < 0.02  # R's asymptotic p-value is 0.0017
    # a few replicates against individual fits of both models
    ys = simulate(restricted, nsim=5, seed=5)
    for i in range(5):
        llf_full = KinshipMixedLM(ys[i], df[ref["full"]], kinship=K).fit(reml=False).llf
        llf_restr = KinshipMixedLM(ys[i], df[ref["restricted"]], kinship=K).fit(reml=False).llf
        assert_allclose(lr[i], 2 * (llf_full - llf_restr), rtol=1e-8)


def test_nesting_is_checked(small):
    df, K = small
    y = df["y"].to_numpy()
    full = KinshipMixedLM(y, df[["Intercept", "x1", "snp"]], kinship=K).fit(reml=False)

    def ml(y_, cols, K_=K):
        return KinshipMixedLM(y_, df[cols] if isinstance(cols, list) else cols, kinship=K_).fit(
            reml=False)

    with pytest.raises(ValueError, match="responses differ"):
        compare_lr_test(full, ml(y + 1, ["Intercept", "x1"]))
    with pytest.raises(ValueError, match="kinship matrices differ"):
        compare_lr_test(full, ml(y, ["Intercept", "x1"], 2 * K))
    with pytest.raises(ValueError, match="160 and 120 observations"):
        compare_lr_test(full, KinshipMixedLM(y[:120], df[["Intercept", "x1"]][:120],
                                             kinship=K[:120, :120]).fit(reml=False))
    with pytest.raises(ValueError, match=r"not in the column space of the full design: famx"):
        compare_lr_test(full, ml(y, ["Intercept", "famx"]))
    with pytest.raises(ValueError, match="pass the larger model first"):
        compare_lr_test(ml(y, ["Intercept", "x1"]), full)
    fixed = KinshipMixedLM(y, df[["Intercept", "x1"]], kinship=K).fit(kinship_ratio=1.0)
    with pytest.raises(ValueError, match="holds the variance ratio fixed"):
        compare_lr_test(full, fixed)
    with pytest.raises(ValueError, match="method must be"):
        compare_lr_test(full, ml(y, ["Intercept", "x1"]), method="exact")
    # a reparametrised restricted design is nested
    reparam = pd.DataFrame({"a": df["Intercept"] + df["x1"], "b": 2 * df["x1"]})
    assert_allclose(compare_lr_test(full, ml(y, reparam)).statistic,
                    compare_lr_test(full, ml(y, ["Intercept", "x1"])).statistic, rtol=1e-8)


def test_result_object():
    t = LikelihoodRatioTestResults(3.0, 0.04, 1, "chi2", "chi2(1)", (1.0, -0.5))
    assert tuple(t) == (3.0, 0.04, 1)
    assert "p-value = 0.04" in str(t)


# -- profile likelihood -----------------------------------------------------------------------

@pytest.mark.parametrize("name", ["small", "seed"])
@pytest.mark.parametrize("method", ["REML", "ML"])
def test_profile_intervals_against_r(name, method, request):
    ref = LRT[name]["profile"][method]
    df, K, y = load(name, request)
    res = KinshipMixedLM(y, df[LRT[name]["full"]], kinship=K).fit(reml=method == "REML")
    ci = profile_conf_int(res, which=("h2", "kinship", "residual"))
    assert ci.index.tolist() == ["h2", "kinship", "residual"]
    for row in ["h2", "kinship", "residual"]:
        # uniroot on devfun(theta) (h2) and on lmerTest:::devfun_vp minimised (variances)
        assert_allclose(ci.loc[row, ["lower", "upper"]], ref[row], rtol=1e-7)
        assert_allclose(ci.loc[row, "estimate"], ref["estimate"][row], rtol=1e-6)
    assert_allclose(ci.loc["kinship", "std_err"], res.bse_vcomp["kinship"])
    assert_allclose(ci.loc["h2", ["wald_lower", "wald_upper"]],
                    res.h2 + np.array([-1, 1]) * stats.norm.ppf(0.975) * res.bse_h2)


def test_profile_endpoints_by_direct_maximisation(small):
    """At each endpoint of the s_k^2 interval, the likelihood maximised over s_e^2 and b
    (explicit n x n GLS) is the maximum minus chi2(1)_0.95 / 2."""
    df, K = small
    X = df[["Intercept", "x1", "snp", "famx"]].to_numpy()
    y = df["y"].to_numpy()
    res = KinshipMixedLM(y, X, kinship=K).fit(reml=False)
    ci = profile_conf_int(res, alpha=0.1, which="kinship")
    target = res.llf - stats.chi2.ppf(0.9, 1) / 2

    def ml_at(s_k2, s_e2):
        V = s_k2 * K + s_e2 * np.eye(len(y))
        Vi = np.linalg.inv(V)
        b = np.linalg.solve(X.T @ Vi @ X, X.T @ Vi @ y)
        return stats.multivariate_normal(X @ b, V).logpdf(y)

    for c in ci.loc["kinship", ["lower", "upper"]]:
        best = optimize.minimize_scalar(lambda t: -ml_at(c, np.exp(t)), bounds=(-5, 3),
                                        method="bounded", options={"xatol": 1e-10})
        assert_allclose(-best.fun, target, rtol=1e-9)


def test_profile_interval_starts_at_zero_on_the_boundary(small):
    df, K = small
    rng = np.random.default_rng(7)
    X = df[["Intercept", "x1"]]
    for _ in range(20):
        y = X.to_numpy() @ [1.0, 0.5] + rng.normal(size=len(df))
        res = KinshipMixedLM(y, X, kinship=K).fit()
        if res.delta == 0:
            break
    assert res.delta == 0
    ci = profile_conf_int(res)
    assert ci.loc["h2", "lower"] == 0 and ci.loc["kinship", "lower"] == 0
    assert 0 < ci.loc["h2", "upper"] < 1 and ci.loc["kinship", "upper"] > 0
    # the upper limit of h2 is where the profile drops by chi2(1)_0.95 / 2
    m = res.model.mean_kinship_diagonal
    h = ci.loc["h2", "upper"]
    delta = h / (m * (1 - h))
    assert_allclose(res.model.loglike_profile(delta), res.llf - Q95 / 2, rtol=1e-10)
    with pytest.raises(ValueError, match="which must hold"):
        profile_conf_int(res, which=("theta",))


# -- Satterthwaite ----------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["small", "seed"])
@pytest.mark.parametrize("method", ["REML", "ML"])
def test_satterthwaite_against_lmertest(name, method, request):
    ref = LMERTEST[name]
    df, K, y = load(name, request)
    res = KinshipMixedLM(y, df[ref["columns"]], kinship=K).fit(reml=method == "REML")
    r = ref[method]
    # lmerTest differentiates numerically (numDeriv): agreement to about 1e-7
    assert_allclose(satterthwaite_df(res), pd.Series(r["df"])[ref["columns"]], rtol=2e-6)
    tt = t_test_satterthwaite(res)
    assert_allclose(tt.tvalue, pd.Series(r["t"])[ref["columns"]], rtol=1e-6)
    assert_allclose(tt.pvalue, pd.Series(r["p"])[ref["columns"]], rtol=1e-5)  # summary(m)
    c = r["contrast"]
    ct = t_test_satterthwaite(res, np.array(c["L"])[None, :])
    assert_allclose(ct.df_denom, [c["df"]], rtol=2e-6)  # contest1D(m, L)
    assert_allclose(ct.pvalue, [c["p"]], rtol=1e-5)
    assert_allclose(ct.effect, [c["estimate"]], rtol=1e-6)


def test_satterthwaite_by_numerical_derivatives(small):
    """df = 2 v^2 / (g' A g) with g from finite differences of L (X'V^-1X)^-1 L' computed
    with explicit n x n matrices."""
    df, K = small
    X = df[["Intercept", "x1", "snp", "famx"]].to_numpy()
    res = KinshipMixedLM(df["y"].to_numpy(), X, kinship=K).fit()
    L = np.array([[0, 0, 0, 1.0], [0, 0, 1.0, -1.0]])

    def var(theta):
        V = theta[0] * K + theta[1] * np.eye(len(X))
        C = np.linalg.inv(X.T @ np.linalg.solve(V, X))
        return np.einsum("ij,jk,ik->i", L, C, L)

    theta = np.asarray(res.vcomp)
    g = np.column_stack([(var(theta + h) - var(theta - h)) / (2 * h[h > 0])
                         for h in np.diag(1e-5 * theta)])
    expected = 2 * var(theta) ** 2 / np.einsum("ij,jk,ik->i", g, res.vcomp_cov.to_numpy(), g)
    assert_allclose(satterthwaite_df(res, L), expected, rtol=1e-6)
    # the family-level covariate has few df (40 families), the individual-level ones many
    dfs = satterthwaite_df(res)
    assert dfs.iloc[3] < 70 < dfs.iloc[1]


def test_satterthwaite_aliased_and_strings(small):
    df, K = small
    X = df[["Intercept", "x1", "snp"]].assign(x1_twice=2 * df["x1"], famx=df["famx"])
    with pytest.warns(Warning, match="rank deficient"):
        model = KinshipMixedLM(df["y"], X, kinship=K)
    res = model.fit()
    dfs = satterthwaite_df(res)
    assert np.isnan(dfs["x1_twice"]) and dfs.drop("x1_twice").notna().all()
    by_string = t_test_satterthwaite(res, "snp - famx = 0")
    by_matrix = t_test_satterthwaite(res, np.array([[0, 0, 1.0, 0, -1.0]]))
    assert_allclose(by_string.df_denom, by_matrix.df_denom)
    assert_allclose(by_string.pvalue, by_matrix.pvalue)
    with pytest.raises(ValueError, match="aliased coefficients: x1_twice"):
        satterthwaite_df(res, "x1_twice = 0")
    # t tests by default: every non-aliased coefficient
    tt = t_test_satterthwaite(res)
    assert len(tt.tvalue) == 4
    assert_allclose(tt.df_denom, dfs.dropna())


@pytest.mark.parametrize("method", ["REML", "ML"])
def test_fit_with_satterthwaite_df(method, request):
    """fit(df_method='satterthwaite') carries lmerTest's df into pvalues, conf_int, t_test
    and the summary."""
    ref = LMERTEST["small"]
    df, K, y = load("small", request)
    res = KinshipMixedLM(y, df[ref["columns"]], kinship=K).fit(
        reml=method == "REML", df_method="satterthwaite")
    r = ref[method]
    assert res.use_t
    assert_allclose(res.pvalues, pd.Series(r["p"])[ref["columns"]], rtol=1e-5)  # summary(m)
    dfs = pd.Series(r["df"])[ref["columns"]].to_numpy()
    q = stats.t.ppf(0.975, dfs)
    assert_allclose(res.conf_int().iloc[:, 0], res.params - q * res.bse, rtol=1e-5)
    assert_allclose(res.t_test(np.eye(4)[3]).df_denom, dfs[3], rtol=2e-6)
    assert "Satterthwaite" in res.summary().as_text()
    with pytest.raises(ValueError, match="df_method"):
        res.model.fit(df_method="kenward-roger")


def test_results_methods_delegate():
    df, K = small_data()
    res = KinshipMixedLM(df["y"], df[["Intercept", "x1", "snp"]], kinship=K).fit()
    boot = res.bootstrap(nsim=30, seed=3, progress=False)
    assert_allclose(boot.params, parametric_bootstrap(res, nsim=30, seed=3,
                                                      progress=False).params)
    assert res.simulate(nsim=2, seed=3).shape == (2, len(df))
    assert_allclose(res.kinship_variance_test().pvalue, kinship_variance_test(res).pvalue)
    assert_allclose(res.profile_conf_int(), profile_conf_int(res))
    assert_allclose(res.satterthwaite_df(), satterthwaite_df(res))
    restricted = KinshipMixedLM(df["y"], df[["Intercept", "x1"]], kinship=K).fit(reml=False)
    full = res.model.fit(reml=False)
    assert_allclose(full.compare_lr_test(restricted).pvalue,
                    compare_lr_test(full, restricted).pvalue)
