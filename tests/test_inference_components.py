"""Profile-likelihood intervals and Satterthwaite df for models with several variance
components (issue 10; fits on the engine's block likelihood, ``results.delta is None``).

R references (``tests/results/``): ``lmertest_components.json`` from ``lmertest_components.R``
(lmerTest's Satterthwaite df, t and F tests for the seed kinship + household model and the
blue tit animal + fosternest (+ hatch day, a boundary fit) models, built through lme4's modular
interface). Python oracles: the restricted likelihood and ``(X'V^-1X)^-1`` from explicit n x n
covariance matrices (profile end points by direct maximisation, Satterthwaite gradients by
finite differences); the single-kinship path for a model with one component and repeated
records (the same model, one record per row with the kinship ``Z K Z'``).
"""
import json
import pathlib

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy import optimize, stats
from threadpoolctl import threadpool_limits

from statsmodels_kinship import KinshipMixedLM
from statsmodels_kinship.inference import (
    f_test_satterthwaite,
    profile_conf_int,
    satterthwaite_df,
    t_test_satterthwaite,
    variance_component_test,
)
from statsmodels_kinship.kinship import kinship_from_pedigree

from oracles import reml_oracle

RESULTS = pathlib.Path(__file__).parent / "results"
LMERTEST = json.loads((RESULTS / "lmertest_components.json").read_text())
HOUSEHOLDS = json.loads((RESULTS / "lme4_seed_household.json").read_text())["data"]["household"]
Q95 = stats.chi2.ppf(0.95, 1)

# kinship coefficients of a nuclear family: two unrelated parents, two children
FAMILY = np.array([[2, 0, 1, 1], [0, 2, 1, 1], [1, 1, 2, 1], [1, 1, 1, 2]]) / 4


def family_data(seed, n_fam=40, s_k=1.0, s_h=0.5, s_e=1.0, records=1):
    """Families of four sharing a household; ``y = 1 + 0.5 x1 + 0.3 fx + g + h + e`` with an
    individual-level ``x1`` and a family-level ``fx``; ``records`` rows per person."""
    rng = np.random.default_rng(seed)
    ids = [f"f{f}_{k}" for f in range(n_fam) for k in range(4)]
    K = pd.DataFrame(np.kron(np.eye(n_fam), FAMILY), index=ids, columns=ids)
    g = rng.multivariate_normal(np.zeros(4 * n_fam), s_k * K.to_numpy())
    h = np.repeat(rng.normal(scale=np.sqrt(s_h), size=n_fam), 4)
    fx = np.repeat(rng.normal(size=n_fam), 4)
    rows = np.repeat(np.arange(4 * n_fam), records)
    x1 = rng.normal(size=len(rows))
    y = (1 + 0.5 * x1 + 0.3 * fx[rows] + g[rows] + h[rows]
         + rng.normal(scale=np.sqrt(s_e), size=len(rows)))
    df = pd.DataFrame({"y": y, "x1": x1, "fx": fx[rows], "household": [f"h{f}" for f in rows // 4],
                       "iid": np.asarray(ids)[rows]})
    return df, K


def household_model(df, K):
    return KinshipMixedLM.from_formula("y ~ x1 + fx", df.set_index("iid"), kinship=K,
                                       vc_formula={"household": "0 + C(household)"})


def dense(df, K):
    """y, X and the covariance matrices (W_kinship, W_household) of the household model."""
    X = np.column_stack([np.ones(len(df)), df["x1"], df["fx"]])
    hh = df["household"].to_numpy()
    return df["y"].to_numpy(), X, [K.to_numpy(), (hh[:, None] == hh[None, :]).astype(float)]


def maximise(neg, x0):
    """Maximum of ``-neg`` by Nelder-Mead (tight), BLAS on one thread (the n x n oracle is
    many small products, which threads slow down)."""
    with threadpool_limits(limits=1, user_api="blas"):
        best = optimize.minimize(neg, x0, method="Nelder-Mead",
                                 options={"xatol": 1e-9, "fatol": 1e-12, "maxiter": 4000})
    return -best.fun


# -- Satterthwaite against lmerTest -------------------------------------------------------------

def seed_household(seed):
    df = pd.DataFrame(seed["D"][:, [0, 2, 4]], columns=["SNP1", "SNP3", "SNP5"])
    df.insert(0, "y", seed["y"])
    df["household"] = HOUSEHOLDS
    return KinshipMixedLM.from_formula("y ~ SNP1 + SNP3 + SNP5", df, kinship=seed["K"],
                                       vc_formula={"household": "0 + C(household)"})


def bluetit(real_dir, hatchday):
    bt = pd.read_csv(real_dir / "bluetit" / "BTdata.csv")
    ped = pd.read_csv(real_dir / "bluetit" / "BTped.csv")
    A = 2 * kinship_from_pedigree(ped, family=None, individual="animal", father="sire",
                                  mother="dam", sex=None)
    days = sorted(bt["hatchdate"].unique())  # as lme4_bluetit.R: d01..d18 by rank
    bt["hatchday"] = [f"d{days.index(d) + 1:02d}" for d in bt["hatchdate"]]
    vc = {"fosternest": "0 + C(fosternest)"}
    if hatchday:
        vc["hatchday"] = "0 + C(hatchday)"
    return KinshipMixedLM.from_formula("tarsus ~ sex", bt.set_index("animal"),
                                       kinship={"animal": A}, vc_formula=vc)


@pytest.mark.parametrize("name", ["seed_household", "tarsus_af", "tarsus_afh"])
@pytest.mark.parametrize("method", ["REML", "ML"])
def test_satterthwaite_against_lmertest(name, method, request):
    ref = LMERTEST[name][method]
    if name == "seed_household":
        model = seed_household(request.getfixturevalue("seed"))
    else:
        model = bluetit(request.getfixturevalue("real_dir"), name == "tarsus_afh")
    res = model.fit(reml=method == "REML")
    # the fits agree with lme4's to ~1e-7 (lme4_seed_household.json, lme4_bluetit.json)
    assert_allclose(res.vcomp.to_numpy(), list(ref["vcomp"].values()), rtol=1e-6, atol=1e-12)
    # lmerTest differentiates numerically (numDeriv), at lme4's optimum: agreement ~1e-7
    assert_allclose(satterthwaite_df(res), list(ref["df"].values()), rtol=1e-5)  # summary(m)
    tt = t_test_satterthwaite(res)
    assert_allclose(tt.tvalue, list(ref["t"].values()), rtol=1e-5)
    assert_allclose(tt.pvalue, list(ref["p"].values()), rtol=1e-4)
    c = ref["contrast"]
    ct = t_test_satterthwaite(res, np.array(c["L"])[None, :])
    assert_allclose(ct.df_denom, [c["df"]], rtol=1e-5)  # contest1D(m, L)
    assert_allclose(ct.pvalue, [c["p"]], rtol=1e-4)
    f = ref["ftest"]
    ft = f_test_satterthwaite(res, np.array(f["L"]))
    assert ft.df_num == f["NumDF"]  # contestMD(m, L2)
    assert_allclose([ft.fvalue, ft.df_denom], [f["F"], f["DenDF"]], rtol=1e-5)
    assert_allclose(ft.pvalue, f["p"], rtol=1e-4)
    # fit(df_method='satterthwaite') carries them into the p-values
    sat = model.fit(reml=method == "REML", df_method="satterthwaite")
    assert_allclose(sat.pvalues, list(ref["p"].values()), rtol=1e-4)


def test_satterthwaite_boundary_component_drops_out(real_dir):
    """hatchday estimated at 0: the df are those of the model without it (as lmerTest's)."""
    with_h = bluetit(real_dir, True).fit()
    without = bluetit(real_dir, False).fit()
    assert with_h.gamma[2] == 0
    assert_allclose(satterthwaite_df(with_h), satterthwaite_df(without), rtol=1e-7)


def test_satterthwaite_by_numerical_derivatives():
    """df = 2 v^2 / (g' A g) with g from finite differences of L (X'V^-1X)^-1 L' in
    (s_k^2, s_h^2, s_e^2), computed with explicit n x n matrices."""
    df, K = family_data(4)
    res = household_model(df, K).fit()
    y, X, W = dense(df, K)
    L = np.array([[0, 0, 1.0], [0, 1.0, -1.0], [1.0, 0, 0]])

    def var(v):
        V = v[0] * W[0] + v[1] * W[1] + v[2] * np.eye(len(y))
        C = np.linalg.inv(X.T @ np.linalg.solve(V, X))
        return np.einsum("ij,jk,ik->i", L, C, L)

    v = res.vcomp.to_numpy()
    assert_allclose(var(v), np.einsum("ij,jk,ik->i", L, res.cov_params(), L), rtol=1e-9)
    g = np.column_stack([(var(v + h) - var(v - h)) / (2 * h[h > 0])
                         for h in np.diag(1e-5 * v)])
    expected = 2 * var(v) ** 2 / np.einsum("ij,jk,ik->i", g, res.vcomp_cov.to_numpy(), g)
    assert_allclose(satterthwaite_df(res, L), expected, rtol=1e-6)
    # the family-level covariate has few df (40 families), the individual-level one many
    dfs = satterthwaite_df(res)
    assert dfs["fx"] < 60 < dfs["x1"]


def test_one_component_with_repeated_records_equals_single_path():
    """One kinship with two records per person (general path) is the single-kinship model
    with the kinship Z K Z' of the records: the same intervals and df."""
    df, K = family_data(1, records=2, s_h=0.0)
    general = KinshipMixedLM.from_formula("y ~ x1 + fx", df, kinship=K,
                                          individual=df["iid"].to_numpy()).fit()
    Z = (df["iid"].to_numpy()[:, None] == np.asarray(K.index)[None, :]).astype(float)
    single = KinshipMixedLM.from_formula("y ~ x1 + fx", df, kinship=Z @ K.to_numpy() @ Z.T).fit()
    assert general.delta is None and single.delta is not None
    which = ["h2", "kinship", "residual"]
    ci_g = profile_conf_int(general, which=which)
    ci_s = profile_conf_int(single, which=which)
    assert_allclose(ci_g.to_numpy(), ci_s.to_numpy(), rtol=1e-7)
    assert_allclose(profile_conf_int(general, which="kinship_share").to_numpy(),
                    ci_s.loc[["h2"]].to_numpy(), rtol=1e-7)
    assert_allclose(satterthwaite_df(general), satterthwaite_df(single), rtol=1e-7)


# -- profile intervals ------------------------------------------------------------------------

def test_profile_end_points_by_direct_maximisation():
    """At each end point the restricted likelihood (explicit n x n), maximised over the other
    variances subject to the constraint, is the maximum minus chi2(1)_0.95 / 2."""
    df, K = family_data(4)
    res = household_model(df, K).fit()
    # the kinship's LR is below the cut-off (its interval starts at 0), the household's not
    assert variance_component_test(res, "kinship").statistic < Q95
    assert variance_component_test(res, "household").statistic > Q95
    ci = profile_conf_int(res)
    assert ci.index.tolist() == ["kinship_share", "household_share", "kinship", "household",
                                 "residual"]
    assert (ci["lower"] <= ci["estimate"]).all() and (ci["estimate"] <= ci["upper"]).all()
    assert ci.loc["kinship_share", "lower"] == 0 and ci.loc["kinship", "lower"] == 0
    assert (ci.drop(["kinship_share", "kinship"])["lower"] > 0).all()
    assert_allclose(ci["estimate"], np.r_[res.variance_shares["share"].iloc[:2],
                                          res.vcomp.to_numpy()])
    y, X, W = dense(df, K)
    n = len(y)
    m = np.array([np.mean(np.diag(w)) for w in W])
    target = res.llf - Q95 / 2
    assert_allclose(reml_oracle(y, X, sum(v * w for v, w in zip(res.vcomp, W + [np.eye(n)]))),
                    res.llf, rtol=1e-10)

    def profile(variances_of, x0):
        """max over log of the free variances of the dense restricted likelihood."""
        def neg(x):
            v = variances_of(np.exp(x))
            return -reml_oracle(y, X, v[0] * W[0] + v[1] * W[1] + v[2] * np.eye(n))
        return maximise(neg, np.log(x0))

    v_hat = res.vcomp.to_numpy()
    for row, j in [("kinship_share", 0), ("household_share", 1)]:
        for s in ci.loc[row, ["lower", "upper"]]:
            if s == 0:
                continue
            o = 1 - j

            def variances(free, s=s, j=j, o=o):  # s_j^2 from the share: (s_o^2, s_e^2) free
                v = np.empty(3)
                v[o], v[2] = free
                v[j] = s * (v[o] * m[o] + v[2]) / ((1 - s) * m[j])
                return v

            # LR at the end point = the cut-off (to 1e-6)
            assert_allclose(2 * (res.llf - profile(variances, v_hat[[o, 2]])), Q95, atol=1e-6)
    for row, j in [("kinship", 0), ("household", 1), ("residual", 2)]:
        for c in ci.loc[row, ["lower", "upper"]]:
            if c == 0:
                continue
            free = [i for i in range(3) if i != j]

            def variances(x, c=c, j=j, free=free):
                v = np.empty(3)
                v[free] = x
                v[j] = c
                return v

            assert_allclose(profile(variances, v_hat[free]), target, atol=5e-7)


def test_profile_interval_of_a_component_at_zero():
    """household estimated at 0: its share and variance intervals start at 0 and end where
    the profile drops by chi2(1)_0.95 / 2 (maximum over the others by the dense oracle)."""
    df, K = family_data(0, s_h=0.0)
    res = household_model(df, K).fit()
    assert res.gamma[1] == 0
    ci = profile_conf_int(res, which=("household_share", "household", "h2"))
    assert ci.loc["household_share", "lower"] == 0 and ci.loc["household", "lower"] == 0
    assert 0 < ci.loc["household_share", "upper"] < 1 and ci.loc["household", "upper"] > 0
    y, X, W = dense(df, K)
    n = len(y)
    c = ci.loc["household", "upper"]

    def neg(x):
        s_k2, s_e2 = np.exp(x)
        return -reml_oracle(y, X, s_k2 * W[0] + c * W[1] + s_e2 * np.eye(n))

    top = maximise(neg, np.log(res.vcomp.to_numpy()[[0, 2]]))
    assert_allclose(2 * (res.llf - top), Q95, atol=1e-6)


@pytest.mark.parametrize("method", ["REML", "ML"])
def test_profile_seed_household(method, request):
    """Seed kinship + household model: every interval contains its estimate, h2 is the
    kinship's share, and the profile of each share at its end points (the other ratio
    maximised by bounded Brent on the engine's criterion) is at the cut-off."""
    res = seed_household(request.getfixturevalue("seed")).fit(reml=method == "REML")
    ci = profile_conf_int(res, which=["h2", "kinship_share", "household_share", "residual"])
    assert (ci["lower"] < ci["estimate"]).all() and (ci["estimate"] < ci["upper"]).all()
    assert_allclose(ci.loc["h2"], ci.loc["kinship_share"], rtol=1e-12)
    assert_allclose(ci.loc["h2", "estimate"], res.h2, rtol=1e-12)
    engine = res.model._engine
    m = engine.scales
    for row, j in [("kinship_share", 0), ("household_share", 1)]:
        o = 1 - j
        for s in ci.loc[row, ["lower", "upper"]]:
            t = s / (1 - s)

            def neg(g, t=t, j=j, o=o):
                gamma = np.empty(2)
                gamma[o] = g
                gamma[j] = t * (1 + m[o] * g) / m[j]
                return -engine.loglike(gamma, res.reml)

            best = optimize.minimize_scalar(neg, bounds=(0, 20), method="bounded",
                                            options={"xatol": 1e-10})
            assert_allclose(2 * (res.llf + best.fun), Q95, atol=1e-6)
    # the lead's summary asks for h2 alone
    assert profile_conf_int(res, which="h2").index.tolist() == ["h2"]


def test_profile_names_and_errors():
    df, K = family_data(4)
    res = household_model(df, K).fit()
    ci = profile_conf_int(res, alpha=0.1, which=["household", "h2"])
    assert ci.index.tolist() == ["household", "h2"]
    wide = profile_conf_int(res, which="household")
    assert wide.loc["household", "lower"] < ci.loc["household", "lower"]
    with pytest.raises(ValueError, match="which must hold names from"):
        profile_conf_int(res, which="theta")
    with pytest.raises(ValueError, match="which is empty"):
        profile_conf_int(res, which=[])
    with pytest.raises(TypeError, match="which must be a name"):
        profile_conf_int(res, which=3)
    # no relationship component: no h2
    only_hh = KinshipMixedLM.from_formula("y ~ x1 + fx", df,
                                          vc_formula={"household": "0 + C(household)"}).fit()
    with pytest.raises(ValueError, match="'h2' is the share of the first relationship"):
        profile_conf_int(only_hh, which="h2")
    assert profile_conf_int(only_hh).index.tolist() == ["household_share", "household",
                                                        "residual"]
    # ratios held fixed, data removed
    fixed = res.model.fit(kinship_ratio=res.gamma)
    with pytest.raises(ValueError, match="ratio"):
        profile_conf_int(fixed)
    res.remove_data()
    with pytest.raises(ValueError, match="data were removed"):
        profile_conf_int(res, which="h2")


def test_single_kinship_share_alias():
    """One kinship: '<name>_share' and the component's own name are aliases of h2 and
    'kinship'; the rows carry the names as given."""
    df, K = family_data(2, s_h=0.0)
    res = KinshipMixedLM.from_formula("y ~ x1 + fx", df.set_index("iid"),
                                      kinship={"additive": K}).fit()
    assert res.delta is not None
    ci = profile_conf_int(res, which=["additive_share", "additive", "h2", "kinship"])
    assert_allclose(ci.loc["additive_share"], ci.loc["h2"])
    assert_allclose(ci.loc["additive"], ci.loc["kinship"])
