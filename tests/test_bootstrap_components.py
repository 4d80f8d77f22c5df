"""Parametric bootstrap and likelihood-ratio tests of models with several variance
components (issue 10): kinship + household on a simulated three-generation design.

Oracles: a new KinshipMixedLM built and fitted on a replicate's response (drawn again with
:func:`simulate` from the same seed), the covariance ``sum_j s_j^2 W_j + s_e^2 I`` written out
here against the sample covariance of many draws, the factor of a singular relationship
matrix against the matrix, and the chi-square mixture written out here. Timings are not
asserted (``benchmarks/`` measures them).
"""
import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import sparse, stats
from statsmodels.tools.sm_exceptions import ModelWarning

from statsmodels_kinship import KinshipMixedLM
from statsmodels_kinship.bootstrap import (
    KinshipBootstrapResults,
    _relationship_factor,
    bootstrap_interval,
    parametric_bootstrap,
    simulate,
)
from statsmodels_kinship.inference import (
    compare_lr_test,
    kinship_variance_test,
    variance_component_test,
)
from statsmodels_kinship._engine import Component
from statsmodels_kinship.kinship import kinship_from_pedigree

N_FAMILIES = 40
TRUTH = {"kinship": 0.6, "household": 0.3, "residual": 0.5}


def family_template():
    """One three-generation family of 12 (founders 1, 2 with children 4, 5; 4 x 3 with
    children 7-9; 6 x 5 with children 10-12): its kinship and its three households."""
    ped = pd.DataFrame({
        "individual": np.arange(1, 13),
        "father": [0, 0, 0, 1, 1, 0, 4, 4, 4, 6, 6, 6],
        "mother": [0, 0, 0, 2, 2, 0, 3, 3, 3, 5, 5, 5],
    })
    K = kinship_from_pedigree(ped, family=None, sex=None).to_numpy()
    household = np.array([0, 0, 1, 1, 2, 2, 1, 1, 1, 2, 2, 2])
    return K, household


@pytest.fixture(scope="module")
def design():
    K1, h1 = family_template()
    K = np.kron(np.eye(N_FAMILIES), K1)
    n = K.shape[0]
    household = np.repeat(np.arange(N_FAMILIES), 12) * 3 + np.tile(h1, N_FAMILIES)
    rng = np.random.default_rng(2024)
    X = np.column_stack([np.ones(n), rng.normal(size=n), rng.binomial(1, 0.5, size=n)])
    g = rng.multivariate_normal(np.zeros(n), TRUTH["kinship"] * K)
    h = rng.normal(scale=np.sqrt(TRUTH["household"]), size=3 * N_FAMILIES)[household]
    y = X @ [10.0, 0.5, -0.3] + g + h + rng.normal(scale=np.sqrt(TRUTH["residual"]), size=n)
    return {"y": y, "X": X, "K": K, "household": household}


def model(d, y=None, X=None, K=None, household=True):
    return KinshipMixedLM(d["y"] if y is None else y, d["X"] if X is None else X,
                          kinship=d["K"] if K is None else K,
                          exog_vc={"household": d["household"]} if household else None)


@pytest.fixture(scope="module")
def fit(design):
    return model(design).fit()


@pytest.fixture(scope="module")
def boot(fit):
    return parametric_bootstrap(fit, nsim=120, seed=7, progress=False)


# -- simulate ---------------------------------------------------------------------------------

def test_simulate_is_reproducible(fit):
    ys = simulate(fit, nsim=4, seed=3)
    assert ys.shape == (4, int(fit.nobs))
    assert_array_equal(ys, simulate(fit, nsim=4, seed=3))
    assert not np.allclose(ys, simulate(fit, nsim=4, seed=4))
    # rows are drawn one after another: the first rows of a larger draw are the same
    assert_array_equal(ys, simulate(fit, nsim=6, seed=3)[:4])
    assert_array_equal(fit.simulate(nsim=4, seed=3), ys)


def test_simulate_moments(fit, design):
    """Mean X b and covariance s_k^2 K + s_h^2 H + s_e^2 I, on the first two families."""
    nsim = 6000
    ys = simulate(fit, nsim=nsim, seed=11)[:, :24]
    s_k2, s_h2, s_e2 = fit.vcomp[["kinship", "household", "residual"]]
    hh = design["household"][:24]
    cov = (s_k2 * design["K"][:24, :24] + s_h2 * (hh[:, None] == hh[None, :])
           + s_e2 * np.eye(24))
    mean = design["X"][:24] @ np.asarray(fit.params)
    sd = np.sqrt(np.diag(cov))
    assert np.all(np.abs(ys.mean(axis=0) - mean) < 4.5 * sd / np.sqrt(nsim))
    # sample covariances: standard error sqrt((c_ij^2 + c_ii c_jj) / nsim)
    se = np.sqrt((cov ** 2 + np.outer(np.diag(cov), np.diag(cov))) / nsim)
    assert np.max(np.abs(np.cov(ys, rowvar=False) - cov) / se) < 5


def test_relationship_factor_of_singular_and_sparse_matrices():
    K1, _ = family_template()
    # identical twins (rows 7 and 8 equal): the block is singular, factored by eigh
    twins = K1.copy()
    twins[7, :] = twins[6, :]
    twins[:, 7] = twins[:, 6]
    twins[7, 7] = twins[6, 6]
    assert np.linalg.eigvalsh(twins)[0] < 1e-12
    K = sparse.block_diag([K1, twins, K1[:5, :5], 1.0]).tocsr()
    for matrix in (K, K.toarray()):
        rebuilt = np.zeros(K.shape)
        sizes = []
        comp = Component("k", "relationship", codes=np.arange(K.shape[0]), matrix=matrix)
        for levels, f in _relationship_factor(comp):
            sizes += [levels.shape[1]] * len(levels)
            for lv, fb in zip(levels, f):
                rebuilt[np.ix_(lv, lv)] = fb @ fb.T
        assert sorted(sizes) == [1, 1, 4, 12, 12]  # founder 3 is unrelated to 1, 2, 4, 5
        assert_allclose(rebuilt, K.toarray(), atol=1e-14)


# -- parametric bootstrap -------------------------------------------------------------------------

def test_bootstrap_is_reproducible(fit, boot):
    assert isinstance(boot, KinshipBootstrapResults)
    again = parametric_bootstrap(fit, nsim=10, seed=7, batch_size=3, progress=False)
    for name in ("params", "bse", "vcomp", "bse_vcomp", "gamma", "shares", "bse_shares"):
        assert_array_equal(getattr(again, name), getattr(boot, name).iloc[:10])
    assert_array_equal(again.llf, boot.llf[:10])
    assert_array_equal(again.h2, boot.h2[:10])
    other = parametric_bootstrap(fit, nsim=10, seed=8, progress=False)
    assert not np.allclose(other.vcomp, again.vcomp)
    assert_array_equal(fit.bootstrap(nsim=10, seed=7, progress=False).vcomp, again.vcomp)


def test_bootstrap_tables(fit, boot):
    assert list(boot.vcomp.columns) == ["kinship", "household", "residual"]
    assert list(boot.gamma.columns) == ["kinship", "household"]
    assert list(boot.shares.columns) == ["kinship", "household", "residual"]
    assert boot.delta is None
    assert boot.converged.all() and boot.n_failed == 0 and boot.n_used == 120
    assert_allclose(boot.vcomp[["kinship", "household"]].to_numpy(),
                    boot.gamma.to_numpy() * boot.vcomp[["residual"]].to_numpy())
    assert_allclose(boot.shares.sum(axis=1), 1.0)
    assert_array_equal(boot.h2, boot.shares["kinship"])  # first relationship component
    assert_array_equal(boot.bse_h2, boot.bse_shares["kinship"])
    assert boot.n_boundary.to_dict() == {
        name: int((boot.gamma[name] == 0).sum()) for name in ("kinship", "household")}
    assert "replicates (REML)" in repr(boot)


def test_replicates_are_fits(fit, boot, design):
    """A replicate equals a new model fitted (from its own grid) to the same response."""
    ys = simulate(fit, nsim=3, seed=7)
    for i in range(3):
        ref = model(design, y=ys[i]).fit()
        assert_allclose(boot.params.iloc[i], ref.params, rtol=1e-8)
        assert_allclose(boot.bse.iloc[i], ref.bse, rtol=1e-7)
        assert_allclose(boot.vcomp.iloc[i], ref.vcomp, rtol=1e-7)
        assert_allclose(boot.bse_vcomp.iloc[i], ref.bse_vcomp, rtol=1e-6)
        assert_allclose(boot.gamma.iloc[i], ref.gamma, rtol=1e-7)
        assert_allclose(boot.shares.iloc[i], ref.variance_shares["share"], rtol=1e-7)
        assert_allclose(boot.bse_shares.iloc[i], ref.variance_shares["std. error"], rtol=1e-6)
        assert_allclose(boot.h2[i], ref.h2, rtol=1e-7)
        assert boot.llf[i] == pytest.approx(ref.llf, rel=1e-12)


def test_replicates_are_ml_fits(design):
    res = model(design).fit(reml=False)
    b = parametric_bootstrap(res, nsim=2, seed=1, progress=False)
    assert b.method == "ML"
    ref = model(design, y=simulate(res, nsim=2, seed=1)[1]).fit(reml=False)
    assert_allclose(b.vcomp.iloc[1], ref.vcomp, rtol=1e-7)
    assert b.llf[1] == pytest.approx(ref.llf, rel=1e-12)


def test_bootstrap_mean_is_close_to_the_simulating_values(fit, boot):
    """Replicates are drawn at the fit's estimates: their REML estimates average to them
    (within Monte Carlo error; a small bias of REML near no boundary is allowed)."""
    mean, sd = boot.vcomp.mean(), boot.vcomp.std()
    tol = 4 * sd / np.sqrt(boot.nsim) + 0.03 * fit.vcomp
    assert np.all(np.abs(mean - fit.vcomp) < tol)
    # the bootstrap standard deviations are close to the fit's Wald standard errors
    assert_allclose(sd, fit.bse_vcomp, rtol=0.35)
    # and the fit is near the truth the data were simulated from
    assert_allclose(fit.vcomp[list(TRUTH)], list(TRUTH.values()), rtol=0.6)


def test_fixed_ratio_fit_is_refitted_at_its_ratios(design):
    res = model(design).fit(kinship_ratio=[1.0, 0.5])
    b = parametric_bootstrap(res, nsim=5, seed=2, progress=False)
    assert_allclose(b.gamma, np.tile([1.0, 0.5], (5, 1)))
    assert b.converged.all()


def test_conf_int_vcomp(fit, boot):
    ci = boot.conf_int_vcomp()
    rows = ["kinship", "household", "residual", "kinship_share", "household_share",
            "residual_share"]
    assert list(ci.index) == rows and list(ci.columns) == ["lower", "upper"]
    est = np.r_[fit.vcomp, fit.variance_shares["share"]]
    reps = np.column_stack([boot.vcomp, boot.shares])
    for j, name in enumerate(rows):
        assert_allclose(ci.loc[name], bootstrap_interval(est[j], reps[:, j], 0.05,
                                                         "percentile"))
        assert ci.loc[name, "lower"] <= est[j] <= ci.loc[name, "upper"]
    for method in ("basic", "normal", "studentized"):
        other = boot.conf_int_vcomp(alpha=0.1, method=method)
        assert (other["lower"] >= 0).all()
        assert (other.loc[rows[3:], "upper"] <= 1).all()
    # clipping: the basic interval of a share reflected below 0 or above 1 is cut there
    raw = bootstrap_interval(est[3], reps[:, 3], 0.05, "basic")
    assert_allclose(boot.conf_int_vcomp(method="basic").loc["kinship_share"],
                    np.clip(raw, 0, 1))


def test_conf_int_fixed_effects(fit, boot):
    ci = boot.conf_int(method="percentile")
    assert list(ci.index) == list(fit.model.exog_names)
    for j, name in enumerate(ci.index):
        assert_allclose(ci.loc[name], bootstrap_interval(fit.params[j], boot.params[name],
                                                         0.05, "percentile"))
    st = boot.conf_int()  # studentized, with each replicate's standard errors
    assert np.all(st[0] < np.asarray(fit.params)) and np.all(np.asarray(fit.params) < st[1])


def test_summary(boot):
    text = str(boot.summary())
    for label in ("kinship var", "household var", "residual var", "kinship share",
                  "household share", "residual share", "At household = 0:", "x1"):
        assert label in text
    assert "h2 is the share of the first relationship component" in " ".join(text.split())


# -- likelihood-ratio tests -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def kinship_only(design):
    return model(design, household=False).fit()  # the single-kinship path


@pytest.fixture(scope="module")
def household_only(design):
    return KinshipMixedLM(design["y"], design["X"],
                          exog_vc={"household": design["household"]}).fit()


def test_lr_mixture(fit, kinship_only, household_only):
    test = compare_lr_test(fit, kinship_only, method="mixture")
    assert test.df_diff == 1 and test.method == "mixture"
    assert test.statistic == pytest.approx(2 * (fit.llf - kinship_only.llf), rel=1e-12)
    assert test.pvalue == pytest.approx(0.5 * stats.chi2.sf(test.statistic, 1), rel=1e-12)
    assert test.null_distribution == "0.5 chi2(0) + 0.5 chi2(1)"
    chi2 = compare_lr_test(fit, kinship_only)
    assert chi2.pvalue == pytest.approx(stats.chi2.sf(test.statistic, 1), rel=1e-12)
    # the same test on the engine: the full model with the household held at 0
    direct = variance_component_test(fit, "household")
    assert direct.statistic == pytest.approx(test.statistic, rel=1e-7)
    # and dropping the kinship
    test_k = compare_lr_test(fit, household_only, method="mixture")
    assert test_k.statistic == pytest.approx(variance_component_test(fit, "kinship").statistic,
                                             rel=1e-7)


def test_lr_mixture_with_fixed_effects(design):
    full = model(design).fit(reml=False)
    small = model(design, X=design["X"][:, :2], household=False).fit(reml=False)
    test = compare_lr_test(full, small, method="mixture")
    lr = 2 * (full.llf - small.llf)
    assert test.df_diff == 2
    assert test.statistic == pytest.approx(lr, rel=1e-12)
    assert test.pvalue == pytest.approx(0.5 * stats.chi2.sf(lr, 1) + 0.5 * stats.chi2.sf(lr, 2),
                                        rel=1e-12)
    assert test.null_distribution == "0.5 chi2(1) + 0.5 chi2(2)"
    # REML fits with different fixed effects are refitted by ML
    with pytest.warns(ModelWarning, match="refitted by ML"):
        reml = compare_lr_test(model(design).fit(),
                               model(design, X=design["X"][:, :2], household=False).fit(),
                               method="mixture")
    assert reml.statistic == pytest.approx(lr, rel=1e-9)


def test_lr_bootstrap(fit, household_only, design):
    nsim = 30
    test = compare_lr_test(fit, household_only, method="bootstrap", nsim=nsim, seed=5,
                           progress=False)
    lr = test.boot_statistics
    assert test.method == "bootstrap" and test.nsim == nsim and test.n_failed == 0
    assert np.all(np.isfinite(lr)) and np.all(lr >= 0)
    assert 0 < test.pvalue <= 1
    assert test.pvalue == (1 + (lr >= test.statistic).sum()) / (nsim + 1)
    again = compare_lr_test(fit, household_only, method="bootstrap", nsim=nsim, seed=5,
                            progress=False)
    assert_array_equal(again.boot_statistics, lr)
    # replicates drawn from the restricted fit, both models refitted from scratch
    ys = simulate(household_only, nsim=2, seed=5)
    for i in range(2):
        llf_full = model(design, y=ys[i]).fit().llf
        llf_restr = KinshipMixedLM(ys[i], design["X"],
                                   exog_vc={"household": design["household"]}).fit().llf
        assert_allclose(lr[i], max(2 * (llf_full - llf_restr), 0), rtol=1e-7, atol=1e-9)


def test_lr_bootstrap_against_a_single_kinship_model(fit, kinship_only):
    test = compare_lr_test(fit, kinship_only, method="bootstrap", nsim=20, seed=1,
                           progress=False)
    assert np.all(test.boot_statistics >= 0) and 0 < test.pvalue <= 1


def test_variance_component_bootstrap(fit, design):
    nsim = 25
    test = variance_component_test(fit, "household", method="bootstrap", nsim=nsim, seed=3,
                                   progress=False)
    lr = test.boot_statistics
    assert np.all(np.isfinite(lr)) and np.all(lr >= 0)
    assert test.pvalue == (1 + (lr >= test.statistic).sum()) / (nsim + 1)
    assert test.statistic == variance_component_test(fit, "household").statistic
    # drawn from the fit with the household at 0 (the kinship-only fit of the same data)
    engine = fit.model._engine
    gamma_0 = engine.maximize(True, start=[fit.gamma[0], 0.0], fixed=[False, True])[0]
    null = fit.model.fit(kinship_ratio=gamma_0)
    ys = simulate(null, nsim=2, seed=3)
    for i in range(2):
        llf_full = model(design, y=ys[i]).fit().llf
        llf_0 = model(design, y=ys[i], household=False).fit().llf
        assert_allclose(lr[i], max(2 * (llf_full - llf_0), 0), rtol=1e-7, atol=1e-9)


def test_kinship_variance_test_of_several_components(fit, design):
    assert_allclose(tuple(kinship_variance_test(fit)),
                    tuple(variance_component_test(fit, "kinship")))
    a = kinship_variance_test(fit, method="bootstrap", nsim=5, seed=2, progress=False)
    b = variance_component_test(fit, "kinship", method="bootstrap", nsim=5, seed=2,
                                progress=False)
    assert_array_equal(a.boot_statistics, b.boot_statistics)
    hh_only = KinshipMixedLM(design["y"], design["X"],
                             exog_vc={"household": design["household"]}).fit()
    with pytest.raises(ValueError, match="no relationship component"):
        kinship_variance_test(hh_only)


def test_variance_component_test_of_a_single_kinship_fit(kinship_only):
    assert_allclose(tuple(variance_component_test(kinship_only, "kinship")),
                    tuple(kinship_variance_test(kinship_only)))
    with pytest.raises(ValueError, match="component must be one of"):
        variance_component_test(kinship_only, "household")


def test_nesting_is_checked(fit, kinship_only, household_only, design):
    y, X = design["y"], design["X"]
    with pytest.raises(ValueError, match="responses differ"):
        compare_lr_test(fit, model(design, y=y + 1, household=False).fit())
    with pytest.raises(ValueError, match="480 and 240 observations"):
        compare_lr_test(fit, KinshipMixedLM(y[:240], X[:240],
                                            kinship=design["K"][:240, :240]).fit())
    with pytest.raises(ValueError, match="variance component 'kinship' is not one of the "
                                         "full model's"):
        compare_lr_test(fit, model(design, K=2 * design["K"], household=False).fit())
    other = np.roll(design["household"], 1)
    with pytest.raises(ValueError, match="'household' is not one of the full model's"):
        compare_lr_test(fit, KinshipMixedLM(y, X, exog_vc={"household": other}).fit())
    with pytest.raises(ValueError, match="pass the larger model first"):
        compare_lr_test(kinship_only, fit)
    with pytest.raises(ValueError, match="pass the larger model first"):
        compare_lr_test(fit, model(design).fit())
    with pytest.raises(ValueError, match="method must be"):
        compare_lr_test(fit, kinship_only, method="exact")
    with pytest.raises(ValueError, match="method must be"):
        variance_component_test(fit, "kinship", method="chi2")
    # components match by their covariance, whatever their names
    renamed = KinshipMixedLM(y, X, exog_vc={"hh": design["household"]}).fit()
    assert compare_lr_test(fit, renamed).statistic == pytest.approx(
        compare_lr_test(fit, household_only).statistic, rel=1e-12)
    # one REML and one ML fit with the same fixed effects: compared by ML
    with pytest.warns(ModelWarning, match="one model was fitted by REML and the other by ML"):
        mixed = compare_lr_test(fit, model(design, household=False).fit(reml=False))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ml = compare_lr_test(model(design).fit(reml=False),
                             model(design, household=False).fit(reml=False))
    assert mixed.statistic == pytest.approx(ml.statistic, rel=1e-9)
