"""Numerics of the estimator: invariances the likelihood guarantees, the adaptive search over
delta, relative tolerances, y in the span of X, and identifiability (issue 9, items 1-2).

Oracles: the fit at y against the fit at y + c (and a y + c, K + c 11', K s), brute-force
eigenvalues of the projected kinship, ``scipy.stats.multivariate_normal.logpdf``.
"""
import warnings
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import linalg, stats
from statsmodels.tools.sm_exceptions import ConvergenceWarning

import statsmodels_kinship as smk
from statsmodels_kinship import KinshipMixedLM
from statsmodels_kinship._spectral import (
    ProfiledLikelihood,
    group_eigenvalues,
    residual_spectrum,
    spectrum_is_spread,
)
from statsmodels_kinship.exceptions import IdentifiabilityWarning

DATA = Path(__file__).resolve().parents[1] / "data"
FAMILY = np.array([[2, 0, 1, 1], [0, 2, 1, 1], [1, 1, 2, 1], [1, 1, 1, 2]]) / 4.0


@pytest.fixture(scope="module")
def study():
    ped, geno, phe, _ = smk.read_study_csv(DATA)
    return phe.join(geno), smk.kinship_from_pedigree(ped)


def families(n_families=40, seed=0, s_k2=2.0, s_e2=1.0):
    """Nuclear families (two parents, two children): y, X = [1, x], K."""
    rng = np.random.default_rng(seed)
    K = np.kron(np.eye(n_families), FAMILY)
    n = len(K)
    X = np.column_stack([np.ones(n), rng.normal(size=n)])
    g = rng.multivariate_normal(np.zeros(n), s_k2 * K, method="cholesky")
    y = X @ [1.0, 0.5] + g + rng.normal(scale=np.sqrt(s_e2), size=n)
    return y, X, K


def fit(y, X, K, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # none of these fits may warn
        return KinshipMixedLM(y, X, kinship=K).fit(**kwargs)


def assert_same_fit(res, ref, rtol=1e-6, shift=0.0, scale=1.0, kinship_scale=1.0,
                    kinship_shift=0.0):
    """``res`` is the fit of ``scale * y + shift`` (intercept first) with K times
    ``kinship_scale`` plus ``kinship_shift`` (11'); ``ref`` the fit of y."""
    assert res.converged and ref.converged
    assert_allclose(res.delta * kinship_scale, ref.delta, rtol=rtol)
    b = np.asarray(ref.params) * scale
    b[0] += shift
    sd = np.asarray(ref.bse) * scale
    # K + c 11' adds s_k^2 c to the variance of the intercept only
    sd[0] = np.sqrt(sd[0] ** 2 + kinship_shift * res.vcomp["kinship"])
    assert_allclose(res.params, b, rtol=0, atol=rtol * sd.min())
    assert_allclose(res.bse, sd, rtol=rtol)
    factor = scale ** 2 * np.array([1.0 / kinship_scale, 1.0])
    assert_allclose(res.vcomp, ref.vcomp * factor, rtol=rtol)
    assert_allclose(res.bse_vcomp, ref.bse_vcomp * factor, rtol=rtol)
    # the (restricted) likelihood of c y is that of y minus (n - p) log c (ML: n log c)
    dof = res.nobs - (res.model.rank if res.reml else 0)
    assert_allclose(res.llf + dof * np.log(scale), ref.llf, rtol=0, atol=rtol)


# -- 1. y + c and c y -----------------------------------------------------------------------

@pytest.mark.parametrize("offset", [1e7, 3e7, 1e8])
def test_offset_in_y_does_not_change_the_reml_fit(study, offset):
    # before: h2 0.674 at y, 0.618 at y + 1e7, 0.003 at y + 3e7, ZeroDivisionError at y + 1e8
    df, K = study
    ref = KinshipMixedLM.from_formula("trait ~ SNP1 + SNP3", data=df, kinship=K).fit()
    moved = df.assign(trait=df["trait"] + offset)
    res = KinshipMixedLM.from_formula("trait ~ SNP1 + SNP3", data=moved, kinship=K).fit()
    assert_same_fit(res, ref, shift=offset)
    assert_allclose(res.h2, ref.h2, rtol=1e-6)


@pytest.mark.parametrize("reml", [True, False])
def test_affine_transform_of_y_is_equivariant(reml):
    # c y + d, with offsets up to 1e8 sd(y) (before: the fit changed, or ZeroDivisionError)
    y, X, K = families()
    ref = fit(y, X, K, reml=reml)
    for scale, offset_sd in [(1.0, 1e8), (1e-8, 1e8), (1e8, -1e8), (1e8, 0.0), (1e-8, 0.0)]:
        shift = offset_sd * scale * y.std()
        res = fit(scale * y + shift, X, K, reml=reml)
        assert_same_fit(res, ref, shift=shift, scale=scale)
        assert_allclose(res.h2, ref.h2, rtol=1e-6)
        if not reml:  # the log-likelihood at the fitted parameters against the MVN density
            s_k2, s_e2 = res.vcomp
            params = np.r_[np.asarray(res.params), s_k2, s_e2]
            oracle = stats.multivariate_normal.logpdf(
                scale * y + shift - X @ np.asarray(res.params),
                cov=s_k2 * K + s_e2 * np.eye(len(y)))
            assert_allclose(res.model.loglike(params, reml=False), oracle, rtol=1e-9)


def test_scan_is_invariant_to_an_offset_in_y(study):
    df, K = study
    snps = ["SNP2", "SNP5", "SNP7", "SNP10"]
    cols = ["beta", "se", "p_wald", "p_lrt", "p_score", "delta"]
    out = []
    for offset in (0.0, 1e8):
        data = df.assign(trait=df["trait"] + offset)
        null = KinshipMixedLM.from_formula("trait ~ SNP1", data=data, kinship=K).fit()
        out.append(null.scan(df[snps])[cols])
    assert_allclose(out[1].to_numpy(), out[0].to_numpy(), rtol=1e-6)


# -- 2. K + c 11' ---------------------------------------------------------------------------

@pytest.mark.parametrize("c", [50.0, 500.0])
def test_kinship_plus_constant_does_not_change_the_reml_fit(c):
    # before: the search over delta ended at exp(7) / lam_max, which K + c 11' makes small
    # (on data/ with K + 0.6: delta 1.519 instead of 4.126 and a ConvergenceWarning).
    # REML with an intercept depends on K only through its residual-space part.
    y, X, K = families(seed=1)
    ref = fit(y, X, K)
    res = fit(y, X, K + c)
    assert_same_fit(res, ref, kinship_shift=c)


def test_scan_is_invariant_to_kinship_plus_constant():
    y, X, K = families(seed=2)
    rng = np.random.default_rng(3)
    G = rng.binomial(2, 0.3, size=(len(y), 5)).astype(float)
    # the REML-based columns (ML, and so the LRT and the score test at the ML ratio, is
    # not invariant to K + c 11')
    cols = ["beta", "se", "p_wald", "delta"]
    ref = fit(y, X, K).scan(G)
    res = fit(y, X, K + 500.0).scan(G)
    assert (res["flag"] == "ok").all()
    assert_allclose(res[cols].to_numpy(), ref[cols].to_numpy(), rtol=1e-6)


def test_profile_intervals_are_invariant_to_kinship_plus_constant():
    y, X, K = families(seed=4)
    ref = fit(y, X, K).profile_conf_int(which=("kinship", "residual"))
    res = fit(y, X, K + 50.0).profile_conf_int(which=("kinship", "residual"))
    assert_allclose(res[["lower", "upper"]], ref[["lower", "upper"]], rtol=1e-6)


def test_search_is_extended_until_the_optimum_is_bracketed():
    # in rotated coordinates: 40% of the eigenvalues 1, 60% 100 (the typical eigenvalue),
    # s_k^2 = 1, s_e^2 = 0.05: delta = 20, beyond the first grid (exp(7) / 100 = 11), where
    # the search used to stop with "not converged"
    rng = np.random.default_rng(5)
    lam = np.r_[np.ones(4000), np.full(6000, 100.0)]
    x = rng.normal(size=(len(lam), 1))
    y = x[:, 0] + rng.normal(size=len(lam)) * np.sqrt(lam + 0.05)
    prof = ProfiledLikelihood(lam, x, y)
    delta, llf, info = prof.maximize()
    assert info["converged"], info["message"]
    assert delta * prof.delta_scale > np.exp(7.0)
    assert 10 < delta < 40
    assert abs(prof.score(delta)) <= 1e-6
    grid = delta * np.geomspace(0.5, 2.0, 101)
    assert llf >= max(prof.loglike(d) for d in grid) - 1e-10


# -- 3. relative tolerances: K s -------------------------------------------------------------

def test_heritability_is_invariant_to_the_scale_of_the_kinship():
    # before: eigenvalues were grouped to within 1e-10 max(lam_max, 1): on data/, K 1e-10
    # gave h2 0.833 and K 1e-12 h2 0.021 instead of 0.674
    y, X, K = families(seed=6)
    ref = fit(y, X, K)
    for s in (1e-12, 1e-10, 1e-6, 1e6, 1e10, 1e12):
        res = fit(y, X, K * s)
        assert_allclose(res.h2, ref.h2, rtol=1e-6)
        assert_same_fit(res, ref, kinship_scale=s)


def test_eigenvalue_groups_are_relative():
    lam = np.linalg.eigvalsh(np.kron(np.eye(30), FAMILY))
    ref = group_eigenvalues(lam)
    assert len(ref.counts) == 4
    for s in (1e-12, 1e-10, 1e12):
        got = group_eigenvalues(lam * s)
        assert_allclose(got.counts, ref.counts)
        assert_allclose(got.values, ref.values * s, rtol=1e-12)


# -- 4. y in the span of X -------------------------------------------------------------------

def test_endog_in_the_span_of_exog_is_an_error():
    # before: ZeroDivisionError deep in the fit
    y, X, K = families(seed=7)
    with pytest.raises(ValueError, match="endog is a linear combination of the columns of "
                                         "exog: the residual sum of squares is zero"):
        KinshipMixedLM(X @ [3.0, -2.0], X, kinship=K)
    with pytest.raises(ValueError, match="linear combination"):
        KinshipMixedLM(1e8 + 2.0 * X[:, 1], X, kinship=K)


# -- 5. identifiability ----------------------------------------------------------------------

def _projected_spectrum(K, X):
    """Eigenvalues of K on the orthogonal complement of span(X), by brute force."""
    q = linalg.qr(X)[0][:, X.shape[1]:]
    return np.linalg.eigvalsh(q.T @ K @ q)


@pytest.mark.parametrize("case", ["grm", "grm+c", "identity", "exchangeable", "exchangeable+c",
                                  "ones"])
def test_residual_spectrum_against_brute_force(case):
    rng = np.random.default_rng(8)
    n = 50
    X = np.column_stack([np.ones(n), rng.normal(size=n)])
    A = rng.normal(size=(n, 20))
    K = {"grm": A @ A.T / 20, "grm+c": A @ A.T / 20 + 1e3, "identity": np.eye(n),
         "exchangeable": 0.25 * np.eye(n) + 0.25, "exchangeable+c": 0.25 * np.eye(n) + 1e4,
         "ones": np.ones((n, n))}[case]
    a = _projected_spectrum(K, X)
    lam, U = np.linalg.eigh(K)
    mean, sd = residual_spectrum(lam, U.T @ X)
    scale = np.median(lam[lam > 1e-8 * lam.max()])
    assert_allclose(mean, a.mean(), rtol=1e-9, atol=1e-12 * scale)
    assert_allclose(sd, a.std(), rtol=1e-6, atol=1e-9 * scale)
    # the O(n log n) screen (interlacing) never rules out a single-valued residual spectrum
    assert spectrum_is_spread(lam, X.shape[1]) == case.startswith("grm")


@pytest.mark.filterwarnings("ignore::statsmodels.tools.sm_exceptions.ConvergenceWarning")
@pytest.mark.parametrize("reml", [True, False])
@pytest.mark.parametrize("case", ["identity", "exchangeable", "exchangeable+c", "few_df"])
def test_unidentified_variance_components_are_reported(reml, case):
    # before: "Converged: Yes" with an arbitrary split (e.g. K = I: h2 0.999, delta 856)
    y, X, K = families(n_families=10, seed=9)
    n = len(y)
    if case == "identity":
        K = np.eye(n)
    elif case.startswith("exchangeable"):  # one family, everyone related alike
        K = 0.25 * np.eye(n) + 0.25 + (1e3 if case.endswith("+c") else 0.0)
    else:  # two variance components from two residual contrasts
        y, X, K = y[:4], X[:4], K[:4, :4] + np.diag([0.0, 0.1, 0.2, 0.3])
    with pytest.warns(IdentifiabilityWarning, match="not identified: " + (
            "too few residual degrees of freedom" if case == "few_df"
            else "the kinship restricted to the residual space of exog has a single")):
        res = KinshipMixedLM(y, X, kinship=K).fit(reml=reml)
    assert not res.identified
    assert res.fit_info["identifiability"].startswith(
        "too few" if case == "few_df" else "the kinship restricted")
    assert np.isnan(res.bse_vcomp).all() and np.isnan(res.bse_h2)
    text = str(res.summary())
    assert "(variance components not identified)" in text
    assert "The variance components are not identified" in text
    if case != "few_df":  # a flat likelihood: the split reported by convention
        assert res.delta == 0.0
        others = [res.model.loglike_profile(d, reml) for d in (0.1, 1.0, 10.0)]
        if reml or case == "identity":
            assert_allclose(others, res.llf, rtol=1e-10)
    # the fixed effects, which do not depend on the split, are estimated as usual
    assert np.isfinite(res.bse).all()


def test_a_fixed_ratio_is_identified():
    y, X, _ = families(n_families=10, seed=10)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = KinshipMixedLM(y, X, kinship=np.eye(len(y))).fit(kinship_ratio=0.5)
    assert res.identified and res.fit_info["identifiability"] is None


def test_identified_fits_do_not_warn(study):
    df, K = study
    with warnings.catch_warnings():
        warnings.simplefilter("error", IdentifiabilityWarning)
        res = KinshipMixedLM.from_formula("trait ~ SNP1 + SNP3", data=df, kinship=K).fit()
        rng = np.random.default_rng(11)
        G = rng.binomial(2, 0.3, size=(60, 200)).astype(float)
        G -= G.mean(axis=0)
        grm = fit(*families(n_families=15, seed=11)[:2], G @ G.T / 200)
    assert res.identified and grm.identified
    assert "not identified" not in str(res.summary())
    assert "Converged:" in str(res.summary())


# -- the residual variance at its lower boundary: s_e^2 = 0, h2 = 1 ------------------------

def residual_boundary_study(kinship, seed):
    """Families with h2 = 1 up to a residual of sd 1e-4 (variance 1e-8)."""
    rng = np.random.default_rng(0)
    n = len(kinship)
    X = np.column_stack([np.ones(n), rng.normal(size=n)])
    rng = np.random.default_rng(seed)
    g = rng.multivariate_normal(np.zeros(n), 2.0 * kinship, method="svd")
    return X @ [1.0, 0.5] + g + rng.normal(scale=1e-4, size=n), X


@pytest.mark.parametrize("reml", [True, False])
def test_residual_variance_at_its_boundary_is_a_converged_estimate(reml):
    """K positive definite: the likelihood has a finite limit as s_e^2 -> 0 and is highest
    there; the end of the search (delta s = 1e6) is a converged boundary estimate, without
    a warning (before: converged False and a ConvergenceWarning)."""
    K = np.kron(np.eye(25), np.full((4, 4), 0.25)) + 0.25 * np.eye(100)
    y, X = residual_boundary_study(K, seed=3)
    res = fit(y, X, K, reml=reml)  # no warning
    prof = res.model._profile
    assert res.converged and res.boundary and res.fit_info["boundary"] == "residual"
    assert_allclose(res.delta * prof.delta_scale, 1e6, rtol=1e-12)
    assert res.h2 > 1 - 1e-5
    assert res.vcomp["residual"] <= 1e-6 * prof.delta_scale * res.vcomp["kinship"] * 1.000001
    # the likelihood is increasing towards its limit, and flat there (slope in log delta)
    assert prof.loglike(res.delta, reml) >= prof.loglike(res.delta / 2, reml)
    assert 0 <= res.delta * prof.score(res.delta, reml) < 1e-3
    text = " ".join(str(res.summary()).split())
    assert "Converged: Yes" in text
    assert "The residual variance is estimated at its lower boundary" in text
    assert "The kinship variance is estimated at zero" not in text


def test_unbounded_likelihood_at_the_residual_boundary_is_not_converged():
    """A centred GRM from fewer SNPs than people: K is singular outside the span of X and
    the likelihood grows without bound as s_e^2 -> 0; the fit stays not converged."""
    rng = np.random.default_rng(6)
    G = rng.binomial(2, 0.3, size=(80, 30)).astype(float)
    G -= G.mean(axis=0)
    K = G @ G.T / 30
    y, X = residual_boundary_study(K, seed=6)
    with pytest.warns(ConvergenceWarning, match="did not converge.*likelihood still increases"):
        res = KinshipMixedLM(y, X, kinship=K).fit()
    assert not res.converged and not res.boundary and res.fit_info["boundary"] is None
    assert "The optimizer did not converge" in str(res.summary())
    prof = res.model._profile
    assert res.delta * prof.score(res.delta) > 1.0  # half the null directions, about


@pytest.mark.parametrize("dense", [False, True])
def test_scan_at_the_residual_boundary_follows_the_model(dense):
    """A SNP whose fit ends at s_e^2 = 0 with a finite limit (K positive definite) is a
    converged estimate in the scan too, flag 'ok', with the delta and ML log-likelihood of
    KinshipMixedLM fits with the SNP added (before: 'not_converged'). ``dense``: all
    eigenvalues distinct (the Taylor expansion path), else few groups."""
    K = np.kron(np.eye(25), np.full((4, 4), 0.25)) + 0.25 * np.eye(100)
    if dense:
        K = K + np.diag(np.random.default_rng(1).uniform(0, 0.01, size=100))
    y, X = residual_boundary_study(K, seed=3)
    G = np.random.default_rng(8).binomial(2, 0.4, size=(100, 6)).astype(float)
    null = KinshipMixedLM(y, X, kinship=K).fit()
    assert null.fit_info["boundary"] == "residual"
    out = null.scan(G)
    refs = [KinshipMixedLM(y, np.column_stack([X, g]), kinship=K) for g in G.T]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # none of the SNP fits warns
        reml = [m.fit() for m in refs]
        ml = [m.fit(reml=False) for m in refs]
    assert [r.fit_info["boundary"] for r in reml].count("residual") >= 3
    assert (out["flag"] == "ok").all()
    assert_allclose(out["delta"], [r.delta for r in reml], rtol=1e-8)
    assert_allclose(out["delta_ml"], [r.delta for r in ml], rtol=1e-8)
    assert_allclose(out["llf_ml"], [r.llf for r in ml], rtol=1e-10)


def test_scan_with_an_unbounded_likelihood_is_not_converged():
    rng = np.random.default_rng(6)
    G = rng.binomial(2, 0.3, size=(80, 30)).astype(float)
    G -= G.mean(axis=0)
    K = G @ G.T / 30
    y, X = residual_boundary_study(K, seed=6)
    with pytest.warns(ConvergenceWarning):
        null = KinshipMixedLM(y, X, kinship=K).fit()
    snps = np.random.default_rng(8).binomial(2, 0.4, size=(80, 3)).astype(float)
    assert (null.scan(snps)["flag"] == "not_converged").all()


def test_consumers_of_an_unidentified_fit_say_so():
    """K = I: the fit reports s_k^2 = 0 by convention; the bootstrap, the LR test of s_k^2 = 0
    and the scan warn that the split is arbitrary, and intervals for the variance components
    are refused (the profile is flat along the ridge)."""
    from statsmodels_kinship import IdentifiabilityWarning

    rng = np.random.default_rng(8)
    n = 60
    X = np.column_stack([np.ones(n), rng.normal(size=n)])
    y = X @ [1.0, 0.3] + rng.normal(size=n)
    with pytest.warns(IdentifiabilityWarning):
        res = KinshipMixedLM(y, X, kinship=np.eye(n)).fit()
    assert not res.identified
    with pytest.warns(IdentifiabilityWarning, match="parametric_bootstrap: the variance"):
        boot = res.bootstrap(nsim=20, seed=1, progress=False)
    boot.conf_int()  # fixed effects: fine
    with pytest.raises(ValueError, match="conf_int_vcomp: the variance components of the fit "
                                         "are not identified"):
        boot.conf_int_vcomp()
    with pytest.raises(ValueError, match="profile_conf_int: the variance components are not "
                                         "identified"):
        res.profile_conf_int()
    with pytest.warns(IdentifiabilityWarning, match="kinship_variance_test"):
        res.kinship_variance_test()
    geno = rng.binomial(2, 0.4, size=(n, 3)).astype(float)
    with pytest.warns(IdentifiabilityWarning, match="scan: the null model"):
        res.scan(geno)
