"""KinshipMixedLM against independent oracles and by its properties.

Oracles nobody here wrote: scipy's multivariate normal log-density, statsmodels GLS at the
fitted variances, OLS at zero kinship variance, statsmodels MixedLM with the kinship as a
variance component, and numerical derivatives of the log-likelihood.
"""
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from numpy.testing import assert_allclose, assert_array_equal
from scipy import sparse, stats
from statsmodels.iolib.summary2 import summary_col
from statsmodels.tools.numdiff import approx_hess
from statsmodels.tools.sm_exceptions import CollinearityWarning, MissingDataError

from statsmodels_kinship import KinshipMixedLM
from statsmodels_kinship._spectral import KinshipDecomposition, ProfiledLikelihood

from oracles import reml_oracle


def nuclear_family_kinship(n_families, n_children=2):
    """Kinship coefficients of n_families of two unrelated parents and their children."""
    s = 2 + n_children
    block = np.full((s, s), 0.25)  # parent-child and full-sib kinship
    block[0, 1] = block[1, 0] = 0.0  # the parents are unrelated
    np.fill_diagonal(block, 0.5)
    return np.kron(np.eye(n_families), block)


def simulate(n_families=40, s_k2=1.5, s_e2=0.8, beta=(1.0, 0.5, -0.3), seed=0):
    rng = np.random.default_rng(seed)
    K = nuclear_family_kinship(n_families)
    n = K.shape[0]
    X = np.column_stack([np.ones(n), rng.normal(size=n), rng.binomial(2, 0.3, size=n)])
    g = rng.multivariate_normal(np.zeros(n), s_k2 * K) if s_k2 > 0 else np.zeros(n)
    y = X @ np.asarray(beta) + g + rng.normal(scale=np.sqrt(s_e2), size=n)
    ids = [f"id{i:04d}" for i in range(n)]
    df = pd.DataFrame(X[:, 1:], columns=["x1", "snp"], index=ids)
    df["y"] = y
    df["family"] = np.repeat(np.arange(n_families), 4)
    return y, X, K, df


@pytest.fixture(scope="module")
def sim():
    return simulate()


@pytest.fixture(scope="module")
def fits(sim):
    y, X, K, _ = sim
    model = KinshipMixedLM(y, X, kinship=K)
    return model, model.fit(), model.fit(reml=False)


# -- oracles ---------------------------------------------------------------------------

class TestOracles:
    def test_ml_loglike_is_mvn_logpdf(self, sim, fits):
        y, X, K, _ = sim
        model, _, ml = fits
        s_k2, s_e2 = ml.vcomp
        V = s_k2 * K + s_e2 * np.eye(len(y))
        assert_allclose(ml.llf, stats.multivariate_normal(X @ ml.params, V).logpdf(y),
                        rtol=1e-10)
        # and at arbitrary parameters
        params = np.r_[0.3, -1.0, 2.0, 0.7, 1.9]
        V = 0.7 * K + 1.9 * np.eye(len(y))
        assert_allclose(model.loglike(params, reml=False),
                        stats.multivariate_normal(X @ params[:3], V).logpdf(y), rtol=1e-10)

    def test_reml_loglike_matches_definition(self, sim, fits):
        y, X, K, _ = sim
        model, reml, _ = fits
        s_k2, s_e2 = reml.vcomp
        assert_allclose(reml.llf, reml_oracle(y, X, s_k2 * K + s_e2 * np.eye(len(y))),
                        rtol=1e-10)
        params = np.r_[np.zeros(3), 0.4, 1.2]
        assert_allclose(model.loglike(params), reml_oracle(y, X, 0.4 * K + 1.2 * np.eye(len(y))),
                        rtol=1e-10)

    @pytest.mark.parametrize("reml", [True, False])
    def test_optimum_is_stationary_and_global(self, fits, reml):
        model = fits[0]
        res = fits[1] if reml else fits[2]
        grid = np.r_[0.0, np.geomspace(1e-4, 1e4, 400)]
        values = [model.loglike_profile(d, reml) for d in grid]
        assert res.llf >= max(values) - 1e-9
        eps = 1e-4 * res.delta
        assert model.loglike_profile(res.delta + eps, reml) <= res.llf
        assert model.loglike_profile(res.delta - eps, reml) <= res.llf

    @pytest.mark.parametrize("reml", [True, False])
    def test_score_is_derivative_of_profile(self, fits, reml):
        profile = fits[0]._profile
        for delta in [0.3, 2.0, 50.0]:
            h = 1e-5 * delta
            numeric = (profile.loglike(delta + h, reml) - profile.loglike(delta - h, reml)) / (2 * h)
            assert_allclose(profile.score(delta, reml), numeric, rtol=1e-6)
        res = fits[1] if reml else fits[2]
        assert abs(profile.score(res.delta, reml)) < 1e-8

    @pytest.mark.parametrize("reml", [True, False])
    def test_fixed_effects_equal_gls(self, sim, fits, reml):
        y, X, K, _ = sim
        res = fits[1] if reml else fits[2]
        s_k2, s_e2 = res.vcomp
        gls = sm.GLS(y, X, sigma=s_k2 * K + s_e2 * np.eye(len(y))).fit()
        assert_allclose(res.params, gls.params, rtol=1e-8)
        # GLS estimates its own scale from the whitened residuals; ours is s_e^2 exactly
        cov = np.linalg.inv(X.T @ np.linalg.solve(s_k2 * K + s_e2 * np.eye(len(y)), X))
        assert_allclose(res.bse, np.sqrt(np.diag(cov)), rtol=1e-8)
        assert_allclose(res.bse, gls.bse / np.sqrt(gls.scale), rtol=1e-8)

    def test_zero_kinship_variance_is_ols(self, sim):
        y, X, K, _ = sim
        res = KinshipMixedLM(y, X, kinship=K).fit(kinship_ratio=0.0)
        ols = sm.OLS(y, X).fit()
        assert_allclose(res.params, ols.params, rtol=1e-10)
        assert_allclose(res.bse, ols.bse, rtol=1e-10)  # REML scale = OLS scale
        assert_allclose(res.scale, ols.scale, rtol=1e-10)
        assert_allclose(res.fittedvalues, ols.fittedvalues, rtol=1e-10)
        ml = KinshipMixedLM(y, X, kinship=K).fit(reml=False, kinship_ratio=0.0)
        assert_allclose(ml.llf, ols.llf, rtol=1e-10)

    @pytest.mark.filterwarnings("ignore:Using deprecated variance components:FutureWarning")
    def test_statsmodels_mixedlm_agrees(self, sim, fits):
        y, X, K, df = sim
        _, reml, ml = fits
        # kinship as a variance component: Z = chol(K) within each family
        chol = np.linalg.cholesky(K[:4, :4])
        exog_vc = {"kinship": {f: chol for f in np.unique(df["family"])}}
        for ours, use_reml in [(reml, True), (ml, False)]:
            mixed = sm.MixedLM(y, X, groups=df["family"].to_numpy(),
                               exog_vc=exog_vc).fit(reml=use_reml)
            assert_allclose(ours.params, mixed.fe_params, rtol=1e-4)
            assert_allclose(ours.vcomp["kinship"], mixed.vcomp[0], rtol=1e-3)
            assert_allclose(ours.scale, mixed.scale, rtol=1e-3)
            assert_allclose(ours.llf, mixed.llf, rtol=1e-6)

    @pytest.mark.parametrize("reml", [True, False])
    def test_vcomp_cov_is_inverse_numerical_hessian(self, fits, reml):
        model = fits[0]
        res = fits[1] if reml else fits[2]
        vc = res.vcomp.to_numpy()
        full = np.r_[res.params, vc]
        if reml:
            def f(v):
                return model.loglike(np.r_[res.params, v])
            cov = np.linalg.inv(-approx_hess(vc, f))
        else:  # full ML information over (b, variances): the variance block of its inverse
            cov = np.linalg.inv(-approx_hess(full, lambda p: model.loglike(p, reml=False)))
            cov = cov[-2:, -2:]
        assert_allclose(res.vcomp_cov, cov, rtol=1e-4)
        # delta method for h2 against a numerical gradient
        m = model.mean_kinship_diagonal

        def h2(v):
            return v[0] * m / (v[0] * m + v[1])
        eps = 1e-6
        grad = np.array([(h2(vc + e) - h2(vc - e)) / (2 * eps)
                         for e in np.eye(2) * eps])
        assert_allclose(res.bse_h2, np.sqrt(grad @ cov @ grad), rtol=1e-4)

    def test_blup_and_fitted_values(self, sim, fits):
        y, X, K, _ = sim
        _, res, _ = fits
        s_k2, s_e2 = res.vcomp
        V = s_k2 * K + s_e2 * np.eye(len(y))
        blup = s_k2 * K @ np.linalg.solve(V, y - X @ res.params)
        assert_allclose(res.random_effects, blup, rtol=1e-8, atol=1e-12)
        assert_allclose(res.fittedvalues, X @ res.params + blup, rtol=1e-10)
        assert_allclose(res.resid, y - res.fittedvalues, rtol=1e-10)
        assert_allclose(res.predict(X[:5]), X[:5] @ res.params, rtol=1e-12)

    def test_block_wise_equals_dense_decomposition(self, sim, fits):
        y, X, K, _ = sim
        model = fits[0]
        assert model.decomposition.n_blocks == K.shape[0] // 4
        lam, U = np.linalg.eigh(K)
        dense = ProfiledLikelihood(np.clip(lam, 0, None), U.T @ X, U.T @ y)
        for delta in [0.0, 0.01, 1.0, 3.7, 100.0]:
            for reml in (True, False):
                assert_allclose(model.loglike_profile(delta, reml), dense.loglike(delta, reml),
                                rtol=1e-12)
        decomp = KinshipDecomposition(K)
        assert_allclose(decomp.unrotate(decomp.rotate(X)), X, atol=1e-12)


# -- properties ------------------------------------------------------------------------

class TestProperties:
    def test_permutation_invariance(self, sim, fits):
        y, X, K, _ = sim
        _, res, _ = fits
        perm = np.random.default_rng(1).permutation(len(y))
        res_p = KinshipMixedLM(y[perm], X[perm], kinship=K[np.ix_(perm, perm)]).fit()
        assert_allclose(res_p.params, res.params, rtol=1e-8)
        assert_allclose(res_p.bse, res.bse, rtol=1e-7)
        assert_allclose(res_p.vcomp, res.vcomp, rtol=1e-7)
        assert_allclose(res_p.llf, res.llf, rtol=1e-12)
        assert_allclose(res_p.random_effects, res.random_effects[perm], rtol=1e-6, atol=1e-7)

    def test_scaling(self, sim, fits):
        y, X, K, _ = sim
        _, res, _ = fits
        c = 3.5
        res_c = KinshipMixedLM(c * y, X, kinship=K).fit()
        assert_allclose(res_c.params, c * res.params, rtol=1e-7)
        assert_allclose(res_c.vcomp, c ** 2 * res.vcomp, rtol=1e-7)
        assert_allclose(res_c.h2, res.h2, rtol=1e-7)
        # scaling K by c scales s_k^2 by 1/c and leaves the fit unchanged
        res_k = KinshipMixedLM(y, X, kinship=c * K).fit()
        assert_allclose(res_k.vcomp["kinship"], res.vcomp["kinship"] / c, rtol=1e-7)
        assert_allclose(res_k.params, res.params, rtol=1e-8)

    def test_duplicate_column_is_aliased(self, sim, fits):
        y, X, K, _ = sim
        _, res, _ = fits
        X2 = np.column_stack([X[:, :2], X[:, 1], X[:, 2]])
        with pytest.warns(CollinearityWarning, match="1 columns .* aliased.*: x2$"):
            res2 = KinshipMixedLM(y, X2, kinship=K).fit()
        assert_array_equal(res2.aliased, [False, False, True, False])
        assert np.isnan(res2.params[2]) and np.isnan(res2.bse[2])
        assert np.isnan(res2.pvalues[2]) and np.all(np.isnan(res2.conf_int()[2]))
        assert_allclose(res2.params[[0, 1, 3]], res.params, rtol=1e-8)
        assert_allclose(res2.bse[[0, 1, 3]], res.bse, rtol=1e-8)
        assert_allclose(res2.llf, res.llf, rtol=1e-12)
        assert "(aliased)" in res2.summary().as_text()
        with pytest.raises(ValueError, match="aliased coefficients: x2"):
            res2.t_test("x2 = 0")
        assert_allclose(res2.t_test("x1 = 0").pvalue, res.pvalues[1], rtol=1e-10)

    def test_sparse_equals_dense(self, sim, fits):
        y, X, K, _ = sim
        _, res, _ = fits
        res_s = KinshipMixedLM(y, X, kinship=sparse.csr_matrix(K)).fit()
        assert_allclose(res_s.params, res.params, rtol=1e-10)
        assert_allclose(res_s.vcomp, res.vcomp, rtol=1e-8)
        assert_allclose(res_s.random_effects, res.random_effects, rtol=1e-8, atol=1e-12)

    def test_singular_kinship(self):
        # a GRM from fewer SNPs than people, plus a pair of identical twins
        rng = np.random.default_rng(3)
        n, m = 120, 30
        G = rng.binomial(2, 0.4, size=(n, m)).astype(float)
        G[1] = G[0]
        Z = (G - G.mean(0)) / G.std(0)
        K = Z @ Z.T / m
        assert np.linalg.matrix_rank(K) < n
        X = np.column_stack([np.ones(n), rng.normal(size=n)])
        y = X @ [1, 0.5] + rng.multivariate_normal(np.zeros(n), 0.8 * K) + rng.normal(size=n)
        res = KinshipMixedLM(y, X, kinship=K).fit(reml=False)
        V = res.vcomp["kinship"] * K + res.vcomp["residual"] * np.eye(n)
        assert_allclose(res.llf, stats.multivariate_normal(X @ res.params, V).logpdf(y),
                        rtol=1e-10)

    def test_boundary_no_kinship_signal(self):
        y, X, K, _ = simulate(s_k2=0.0, seed=5)
        res = KinshipMixedLM(y, X, kinship=K).fit()
        if res.delta == 0:
            assert res.boundary
            assert "boundary" in res.summary().as_text()
        # either way the estimate beats delta = 0 and a small positive delta
        model = res.model
        assert res.llf >= model.loglike_profile(0.0) - 1e-12
        assert res.llf >= model.loglike_profile(1e-3) - 1e-12


# -- data handling ---------------------------------------------------------------------

class TestData:
    def test_labelled_kinship_and_formula(self, sim, fits):
        y, X, K, df = sim
        _, res, _ = fits
        Kdf = pd.DataFrame(K, index=df.index, columns=df.index)
        # K holds more people than the data and in another order
        extra = pd.DataFrame(np.eye(3) * 0.5, index=list("abc"), columns=list("abc"))
        Kbig = pd.concat([Kdf, extra]).fillna(0.0)
        Kbig = Kbig[Kbig.index].iloc[::-1, ::-1]
        res_f = KinshipMixedLM.from_formula("y ~ x1 + snp", data=df, kinship=Kbig).fit()
        assert_allclose(res_f.params.to_numpy(), res.params, rtol=1e-8)
        assert list(res_f.params.index) == ["Intercept", "x1", "snp"]
        assert list(res_f.random_effects.index) == list(df.index)
        assert_allclose(res_f.random_effects.to_numpy(), res.random_effects, rtol=1e-8,
                        atol=1e-12)
        # pandas arrays with labelled K directly
        res_p = KinshipMixedLM(df["y"], sm.add_constant(df[["x1", "snp"]]), kinship=Kbig).fit()
        assert_allclose(res_p.params.to_numpy(), res.params, rtol=1e-8)

    def test_labelled_sparse_kinship(self, sim, fits):
        from statsmodels_kinship.kinship import SparseKinship
        y, X, K, df = sim
        _, res, _ = fits
        perm = np.random.default_rng(2).permutation(len(y))
        kin = SparseKinship(sparse.csr_matrix(K[np.ix_(perm, perm)]), df.index[perm])
        res_s = KinshipMixedLM.from_formula("y ~ x1 + snp", data=df, kinship=kin).fit()
        assert_allclose(res_s.params.to_numpy(), res.params, rtol=1e-8)
        assert res_s.model.n_blocks == len(y) // 4
        with pytest.raises(ValueError, match="1 IDs in the data are not in the kinship"):
            KinshipMixedLM.from_formula("y ~ x1", data=df,
                                        kinship=SparseKinship(kin.matrix[1:, 1:], kin.labels[1:]))

    def test_missing_ids_named(self, sim):
        _, _, K, df = sim
        Kdf = pd.DataFrame(K, index=df.index, columns=df.index).iloc[2:, 2:]
        with pytest.raises(ValueError, match=r"2 IDs in the data are not in the kinship.*"
                                             r"'id0000', 'id0001'"):
            KinshipMixedLM.from_formula("y ~ x1", data=df, kinship=Kdf)

    def test_missing_drop_matches_subset(self, sim):
        y, X, K, df = sim
        df = df.copy()
        df.iloc[[3, 17], df.columns.get_loc("x1")] = np.nan
        df.iloc[40, df.columns.get_loc("y")] = np.nan
        keep = np.setdiff1d(np.arange(len(df)), [3, 17, 40])
        ref = KinshipMixedLM(y[keep], X[keep], kinship=K[np.ix_(keep, keep)]).fit()
        # formula: rows dropped by patsy, positional and labelled K
        Kdf = pd.DataFrame(K, index=df.index, columns=df.index)
        for kin in (K, Kdf, sparse.csr_matrix(K)):
            res = KinshipMixedLM.from_formula("y ~ x1 + snp", data=df, kinship=kin).fit()
            assert res.nobs == len(keep)
            assert_allclose(res.params.to_numpy(), ref.params, rtol=1e-8)
        # arrays with missing='drop'
        Xn = X.copy()
        Xn[[3, 17], 1] = np.nan
        yn = y.copy()
        yn[40] = np.nan
        for kin in (K, sparse.csr_matrix(K)):
            res = KinshipMixedLM(yn, Xn, kinship=kin, missing="drop").fit()
            assert_allclose(res.params, ref.params, rtol=1e-8)
            assert res.model.kinship.shape == (len(keep), len(keep))

    def test_subset(self, sim):
        y, X, K, df = sim
        Kdf = pd.DataFrame(K, index=df.index, columns=df.index)
        mask = (df["family"] < 20).to_numpy()
        res = KinshipMixedLM.from_formula("y ~ x1", data=df, kinship=Kdf, subset=mask).fit()
        ref = KinshipMixedLM(y[mask], X[mask][:, :2], kinship=K[np.ix_(mask, mask)]).fit()
        assert_allclose(res.params.to_numpy(), ref.params, rtol=1e-8)


class TestBadInput:
    def test_errors(self, sim):
        y, X, K, _ = sim
        n = len(y)
        bad_nan = K.copy()
        bad_nan[3, 5] = bad_nan[5, 3] = np.nan
        asym = K.copy()
        asym[12, 40] += 0.3
        neg = K - 0.6 * np.eye(n)
        cases = [
            (dict(kinship=K[:, :-1]), "square"),
            (dict(kinship=K[:-1, :-1]), f"{n - 1} x {n - 1} but the data have {n}"),
            (dict(kinship=bad_nan), r"NaN or infinite entries, the first at \(3, 5\)"),
            (dict(kinship=asym), r"not symmetric: max \|K - K.T\| = 0.3 at \(12, 40\)"),
            (dict(kinship=neg), "not positive semidefinite"),
        ]
        for kwargs, msg in cases:
            with pytest.raises(ValueError, match=msg):
                KinshipMixedLM(y, X, **kwargs)
        with pytest.raises(ValueError, match="endog is constant"):
            KinshipMixedLM(np.ones(n), X, kinship=K)
        yn = y.copy()
        yn[0] = np.nan
        with pytest.raises(ValueError, match="endog contains NaN"):
            KinshipMixedLM(yn, X, kinship=K)
        Xn = X.copy()
        Xn[0, 1] = np.inf
        with pytest.raises((ValueError, MissingDataError), match="exog contains"):
            KinshipMixedLM(y, Xn, kinship=K)
        with pytest.raises(ValueError, match="no residual degrees of freedom"):
            KinshipMixedLM(y[:3], X[:3], kinship=K[:3, :3])
        with pytest.raises(ValueError, match="unknown kwargs"):
            KinshipMixedLM(y, X, kinship=K, sigma=K)
        with pytest.raises(ValueError, match="kinship_ratio must be"):
            KinshipMixedLM(y, X, kinship=K).fit(kinship_ratio=-1)

    def test_nan_in_kinship_is_not_silently_dropped(self, sim):
        y, X, K, _ = sim
        bad = K.copy()
        bad[7, :] = np.nan
        with pytest.raises(ValueError, match="NaN"):
            KinshipMixedLM(y, X, kinship=bad, missing="drop")


# -- statsmodels integration -----------------------------------------------------------

class TestStatsmodelsAPI:
    def test_tests_and_intervals(self, sim, fits):
        y, X, K, _ = sim
        _, res, _ = fits
        assert_allclose(res.tvalues, res.params / res.bse)
        assert_allclose(res.pvalues, 2 * stats.norm.sf(np.abs(res.tvalues)))
        ci = res.conf_int(0.1)
        assert_allclose(ci[:, 0], res.params - stats.norm.ppf(0.95) * res.bse)
        t = KinshipMixedLM(y, X, kinship=K).fit(use_t=True)
        df = len(y) - 3
        assert t.df_resid == df
        assert_allclose(t.pvalues, 2 * stats.t.sf(np.abs(t.tvalues), df))
        assert "P>|t|" in t.summary().as_text()
        tt = res.t_test(np.eye(3)[1:])
        assert_allclose(tt.pvalue, res.pvalues[1:])
        wald = res.wald_test(np.eye(3)[1:])
        b, cov = res.params[1:], res.cov_params()[1:, 1:]
        assert_allclose(wald.statistic, b @ np.linalg.solve(cov, b))
        assert_allclose(res.f_test(np.eye(3)[1:]).fvalue, b @ np.linalg.solve(cov, b) / 2)

    def test_information_criteria(self, fits):
        _, res, ml = fits
        assert_allclose(res.aic, -2 * res.llf + 2 * 5)
        assert_allclose(ml.bic, -2 * ml.llf + np.log(ml.nobs) * 5)

    def test_summary_and_summary_col(self, sim, fits):
        y, X, K, df = sim
        _, res, _ = fits
        text = res.summary().as_text()
        for piece in ["KinshipMixedLM", "REML", "Kinship blocks:", "Heritability (h2)",
                      "Residual var (s_e^2)", "Kinship var (s_k^2)"]:
            assert piece in text
        Kdf = pd.DataFrame(K, index=df.index, columns=df.index)
        kin = KinshipMixedLM.from_formula("y ~ x1 + snp", data=df, kinship=Kdf).fit()
        ols = sm.OLS.from_formula("y ~ x1 + snp", data=df).fit()
        mixed = sm.MixedLM.from_formula("y ~ x1 + snp", groups="family", data=df).fit()
        table = summary_col([ols, mixed, kin], model_names=["OLS", "MixedLM", "Kinship"],
                            stars=True).as_text()
        assert "Kinship" in table and "snp" in table
        assert f"{kin.params['snp']:.4f}" in table

    def test_pickle_save_load_remove_data(self, sim, tmp_path):
        y, X, K, df = sim
        Kdf = pd.DataFrame(K, index=df.index, columns=df.index)
        res = KinshipMixedLM.from_formula("y ~ x1 + snp", data=df, kinship=Kdf).fit()
        res2 = pickle.loads(pickle.dumps(res))
        assert_allclose(res2.params, res.params)
        assert_allclose(res2.bse_vcomp, res.bse_vcomp)
        path = tmp_path / "fit.pkl"
        res.save(path)
        res3 = type(res).load(path)
        assert_allclose(res3.predict(df.iloc[:4]), res.predict(df.iloc[:4]))
        pred = res.predict(df.iloc[:4])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res.remove_data()
        assert res.model.kinship is None and res.model.endog is None
        assert len(pickle.dumps(res)) < 20000
        assert_allclose(res.predict(df.iloc[:4]), pred)
        assert "Kinship" in res.summary().as_text()
        # straight after fit, before any cached attribute was read
        fresh = KinshipMixedLM(y, X, kinship=K).fit()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fresh.remove_data()
        assert fresh.model.decomposition is None
        assert_allclose(fresh.params, res.params)
