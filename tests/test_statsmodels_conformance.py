"""statsmodels' own generic test machinery run on KinshipMixedLM.

The mixins are those statsmodels runs on OLS, GLM and the discrete models, subclassed here as
statsmodels subclasses them (``base/tests/test_generic_methods.py``: CheckGenericMixin,
CheckAnovaMixin, CheckPairwise; ``base/tests/test_shrink_pickle.py``: RemoveDataPickle;
``base/tests/test_predict.py``: CheckPredictReturns), for four cases: arrays (Wald z, the
default), formula, ``use_t=True`` and ``df_method="satterthwaite"``.

Adaptations, each because of what a mixed model is by design (each is repeated where made):

* the data get a kinship: 4-person families (two parents, two children) along the rows, and a
  polygenic effect drawn from it, so that ``s_k^2`` is estimated away from 0;
* ``fittedvalues`` of a mixed model are conditional, ``X b`` plus the BLUP of the kinship
  effect (as MixedLM's and lme4's ``fitted``), while ``predict`` is the marginal mean ``X b``
  (the BLUP of a new individual with no relatives in the data is 0). The checks that compare
  ``predict`` with ``fittedvalues`` (``check_fitted``, ``check_predict_types``,
  CheckPredictReturns) are given the results through :class:`MarginalFitted`, which replaces
  ``fittedvalues`` by the marginal ``X b`` and nothing else.
"""
import functools
import json
import pathlib
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from numpy.testing import assert_allclose
from statsmodels.base.tests import test_generic_methods as tgm
from statsmodels.base.tests import test_predict as tpr
from statsmodels.base.tests import test_shrink_pickle as tsp
from statsmodels.tools import _testing as smt
from statsmodels.tools.sm_exceptions import CollinearityWarning

from statsmodels_kinship import KinshipMixedLM
from statsmodels_kinship.inference import compare_lr_test

FAMILY = np.array([[2, 0, 1, 1], [0, 2, 1, 1], [1, 1, 2, 1], [1, 1, 1, 2]]) / 4


def family_kinship(n, index=None):
    """Kinship of ``n / 4`` nuclear families along the rows (a DataFrame with ``index``)."""
    k = np.kron(np.eye(n // 4), FAMILY)
    return k if index is None else pd.DataFrame(k, index=index, columns=index)


def polygenic(n, seed):
    """A draw from N(0, K) for the kinship of ``family_kinship(n)``, family by family."""
    chol = np.linalg.cholesky(FAMILY)
    return (np.random.RandomState(seed).randn(n // 4, 4) @ chol.T).ravel()


class MarginalFitted:
    """The results with ``fittedvalues`` replaced by the marginal mean ``X b``.

    Adaptation (model-specific by design): a mixed model's ``fittedvalues`` include the BLUPs
    (as MixedLM's), ``predict`` is marginal; statsmodels' checks equate the two.
    """

    def __init__(self, results):
        self._wrapped = results

    @property
    def fittedvalues(self):
        res = self._wrapped
        fitted = res.model.predict(np.asarray(res.params))
        if isinstance(res.fittedvalues, pd.Series):
            return pd.Series(fitted, index=res.fittedvalues.index)
        return fitted

    @property
    def resid(self):
        return self._wrapped.model.endog - np.asarray(self.fittedvalues)

    @property
    def _results(self):
        # check_fitted unwraps ``_results``: stay in front of the results
        return self

    def __getattr__(self, name):
        return getattr(self._wrapped, name)


# -- CheckGenericMixin --------------------------------------------------------------------

class CheckGenericKinship(tgm.CheckGenericMixin):
    fit_kwds = {}

    def setup_method(self):
        super().setup_method()  # exog: 500 x (1 + 3), as for OLS
        x = self.exog
        # adaptation: slopes of 0.1, not 1, so that the p-values are not all below the
        # mixins' atol (1e-25) and their comparisons (Satterthwaite against n - p df) bite
        y = (x @ [1.0, 0.1, 0.1, 0.1] + polygenic(len(x), 1)
             + np.random.RandomState(987689).randn(len(x)))
        mod = KinshipMixedLM(y, x, kinship=family_kinship(len(x)))
        self.results = mod.fit(**self.fit_kwds)

    def test_fitted(self):
        # adaptation: fittedvalues include the BLUPs (see MarginalFitted); the conditional
        # ones are checked against resid below
        smt.check_fitted(MarginalFitted(self.results))
        res = self.results
        assert_allclose(res.model.endog - res.fittedvalues, res.resid, rtol=1e-12)

    def test_predict_types(self):
        # adaptation: fittedvalues include the BLUPs (see MarginalFitted)
        smt.check_predict_types(MarginalFitted(self.results))

    # statsmodels' zero-constraint checks (KinshipMixedLM._fit_zeros; issue 12). Adaptation:
    # the fit settings of a mixed model (reml, use_t, df_method) are keywords of fit, not of
    # the model, and the mixins fit new models (the restricted one, the collinear one)
    # without them; so that each case checks its own settings, the case's fit_kwds are made
    # the defaults of fit while the mixin runs.
    def _with_fit_kwds(self, monkeypatch):
        monkeypatch.setattr(KinshipMixedLM, "fit",
                            functools.partialmethod(KinshipMixedLM.fit, **self.fit_kwds))

    def test_zero_constrained(self, monkeypatch):
        self._with_fit_kwds(monkeypatch)
        super().test_zero_constrained()

    def test_zero_collinear(self, monkeypatch):
        # adaptation: the mixin runs its checks with cov_type="nonrobust" first, then again
        # with the heteroscedasticity-robust "HC0"; the model has only the model-based
        # covariance (fit(cov_type="HC0") is refused, test_fit_accepts_statsmodels_keywords):
        # every check of the nonrobust pass must hold, and the HC0 pass must be refused
        self._with_fit_kwds(monkeypatch)
        with pytest.raises(ValueError, match="cov_type must be 'nonrobust'.*got 'HC0'"):
            super().test_zero_collinear()


class TestGenericKinshipArrays(CheckGenericKinship):
    """Wald z tests (the default, as lme4)."""


class TestGenericKinshipUseT(CheckGenericKinship):
    fit_kwds = {"use_t": True}


class TestGenericKinshipSatterthwaite(CheckGenericKinship):
    fit_kwds = {"df_method": "satterthwaite"}


class TestGenericKinshipML(CheckGenericKinship):
    fit_kwds = {"reml": False}


# -- CheckAnovaMixin (formula) ------------------------------------------------------------

class CheckAnovaKinship(tgm.CheckAnovaMixin):
    fit_kwds = {}

    def initialize(self):
        # adaptation: the kidney data get a kinship (families of 4 along the rows, the rows
        # labelled by the data's index); 57 rows, the last family of 1 dropped
        data = self.data.iloc[:56]
        self.data = data
        kin = family_kinship(len(data), data.index)
        mod = KinshipMixedLM.from_formula("np.log(Days+1) ~ C(Duration, Sum)*C(Weight, Sum)",
                                          data, kinship=kin)
        self.res = mod.fit(**self.fit_kwds)


class TestWaldAnovaKinship(CheckAnovaKinship):
    fit_kwds = {"use_t": False}


class TestWaldAnovaKinshipF(CheckAnovaKinship):
    fit_kwds = {"use_t": True}


# -- CheckPairwise ------------------------------------------------------------------------

class TestTTestPairwiseKinship(tgm.CheckPairwise):

    def setup_method(self):
        import statsmodels.stats.tests.test_anova as ttmod

        test = ttmod.TestAnova3()
        test.setup_class()
        data = test.data.drop([0, 1, 2]).iloc[:56]
        kin = family_kinship(len(data), data.index)  # adaptation: the model needs a kinship
        mod = KinshipMixedLM.from_formula("np.log(Days+1) ~ C(Duration) + C(Weight)", data,
                                          kinship=kin)
        self.res = mod.fit(use_t=True)
        self.term_name = "C(Weight)"
        self.constraints = ["C(Weight)[T.2]", "C(Weight)[T.3]",
                            "C(Weight)[T.3] - C(Weight)[T.2]"]


# -- RemoveDataPickle ---------------------------------------------------------------------

class RemoveDataPickleKinship(tsp.RemoveDataPickle):
    fit_kwds = {}

    def setup_method(self):
        super().setup_method()
        x = self.exog  # 1000 x (1 + 3), as for OLS
        y = x.sum(axis=1) + polygenic(len(x), 2) + np.random.RandomState(987689).randn(len(x))
        self.model_class = KinshipMixedLM
        self.model_args = (y, x)
        self.model_kwargs = {"kinship": family_kinship(len(x))}
        self.fit_kwargs = dict(self.fit_kwds)
        self.results = KinshipMixedLM(y, x, kinship=family_kinship(len(x))).fit(
            **self.fit_kwds)

    def test_summary_after_remove_data(self):
        # without a summary made before remove_data() (the mixin makes one first)
        res = self.estimate_model()
        res.remove_data()
        assert str(res.summary()) == str(self.results.summary())


class TestRemoveDataPickleKinship(RemoveDataPickleKinship):
    pass


class TestRemoveDataPickleKinshipSatterthwaite(RemoveDataPickleKinship):
    fit_kwds = {"df_method": "satterthwaite"}


# -- CheckPredictReturns ------------------------------------------------------------------

class TestPredictKinship(tpr.CheckPredictReturns):

    @classmethod
    def setup_class(cls):
        nobs = 32
        rs = np.random.RandomState(987128)
        x = rs.randn(nobs, 3)
        y = x.sum(1) + polygenic(nobs, 3) + rs.randn(nobs)
        index = [f"obs{i:02d}" for i in range(nobs)]
        cls.data = pd.DataFrame(np.round(np.column_stack((y, x)), 4),
                                columns="y var1 var2 var3".split(), index=index)
        res = KinshipMixedLM.from_formula("y ~ var1 + var2", data=cls.data,
                                          kinship=family_kinship(nobs, index)).fit()
        # adaptation: fittedvalues include the BLUPs (see MarginalFitted)
        cls.res = MarginalFitted(res)


# -- the fixes named in issue 12, checked directly ------------------------------------------

@pytest.fixture(scope="module")
def fit():
    x = sm.add_constant(np.random.RandomState(5).randn(200, 3))
    y = x.sum(axis=1) + polygenic(200, 4) + np.random.RandomState(6).randn(200)
    return KinshipMixedLM(y, x, kinship=family_kinship(200))


def test_fit_accepts_statsmodels_keywords(fit):
    res = fit.fit()
    res2 = fit.fit(method="bounded", maxiter=100, disp=0, full_output=True,
                   cov_type="nonrobust", start_params=np.asarray(res.params))
    assert_allclose(res2.params, res.params, rtol=1e-12)
    with pytest.raises(ValueError, match="cov_type"):
        fit.fit(cov_type="HC0")
    with pytest.raises(ValueError, match="start_params"):
        fit.fit(start_params=np.zeros(2))


def test_fit_zero_iterations_holds_start_params(fit):
    res = fit.fit()
    sk2, se2 = np.asarray(res.vcomp)
    start = np.r_[np.asarray(res.params), 2 * sk2, se2]
    res0 = fit.fit(maxiter=0, start_params=start)
    assert_allclose(res0.delta, 2 * sk2 / se2, rtol=1e-12)
    assert res0.fit_info["fixed_ratio"]


def test_t_wald_test_cov_p_invcov_scalar(fit):
    res = fit.fit()
    cov = 2 * np.asarray(res.cov_params())
    tt = res.t_test(np.eye(4)[1], cov_p=cov)
    assert_allclose(tt.sd.ravel(), np.sqrt(cov[1, 1]), rtol=1e-12)
    r = np.eye(4)[1:3]
    wt = res.wald_test(r, cov_p=cov, scalar=True)
    wt2 = res.wald_test(r, invcov=np.linalg.inv(r @ cov @ r.T), scalar=True)
    assert_allclose(wt.statistic, wt2.statistic, rtol=1e-10)
    assert np.ndim(res.wald_test(r, scalar=False).statistic) == 2


def test_score_hessian(fit):
    res = fit.fit(reml=False)
    p = np.r_[np.asarray(res.params), np.asarray(res.vcomp)]
    # the gradient is zero at the ML estimate (fixed effects and variances)
    assert_allclose(fit.score(p, reml=False), 0, atol=1e-4 * np.abs(p).max())
    h = fit.hessian(p, reml=False)
    # the fixed-effects block is -X'V^-1 X (V = s_k^2 K + s_e^2 I), computed with n x n
    # matrices
    k = len(res.params)
    sk2, se2 = np.asarray(res.vcomp)
    v = sk2 * fit.kinship + se2 * np.eye(len(fit.endog))
    assert_allclose(h[:k, :k], -fit.exog.T @ np.linalg.solve(v, fit.exog), rtol=1e-5)
    # and the score is that of the REML likelihood too: zero in s_k^2, s_e^2 at the REML fit
    reml = fit.fit()
    pr = np.r_[np.asarray(reml.params), np.asarray(reml.vcomp)]
    assert_allclose(fit.score(pr)[k:], 0, atol=1e-4)


def test_compare_lr_test_indexable(fit):
    full = fit.fit(reml=False)
    small = KinshipMixedLM(fit.endog, fit.exog[:, :2], kinship=fit.kinship).fit(reml=False)
    out = compare_lr_test(full, small)
    assert out[0] == out.statistic and out[1] == out.pvalue and out[2] == out.df_diff
    assert len(out) == 3 and tuple(out) == (out.statistic, out.pvalue, out.df_diff)


def test_satterthwaite_in_every_test(fit):
    res = fit.fit(df_method="satterthwaite")
    r = np.eye(4)[2]
    t = res.t_test(r)
    w = res.wald_test(r, scalar=True)
    f = res.f_test(r)
    assert_allclose(w.pvalue, t.pvalue, rtol=1e-10)
    assert_allclose(f.df_denom, t.df_denom, rtol=1e-10)
    assert_allclose(res.pvalues[2], w.pvalue, rtol=1e-10)


def test_wald_test_terms_aliased():
    # OLS reports the estimable terms with reduced df (statsmodels GH#9686)
    rs = np.random.RandomState(7)
    n = 80
    data = pd.DataFrame({"x": rs.randn(n), "g": np.repeat(list("abcd"), n // 4)})
    data["x2"] = 2 * data["x"]
    data["y"] = data["x"] + polygenic(n, 8) + rs.randn(n)
    kin = family_kinship(n, data.index)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CollinearityWarning)
        res = KinshipMixedLM.from_formula("y ~ x + x2 + g", data, kinship=kin).fit()
    wt = res.wald_test_terms(scalar=True)
    assert wt.table.loc["g", "df_constraint"] == 3
    assert_allclose(wt.table.loc["g", "statistic"],
                    res.wald_test("g[T.b] = g[T.c] = g[T.d] = 0").statistic, rtol=1e-12)
    # the aliased term: nothing estimable, 0 df
    assert wt.table.loc["x2", "df_constraint"] == 0
    assert np.isnan(wt.table.loc["x2", "statistic"])


# -- multi-df F tests with Satterthwaite df against lmerTest ------------------------------

ANOVA = json.loads((pathlib.Path(__file__).parent / "results" / "lmertest_anova.json")
                   .read_text())


@pytest.mark.parametrize("method", ["REML", "ML"])
def test_f_test_satterthwaite_against_lmertest(seed, method):
    cols = ANOVA["columns"]
    x = pd.DataFrame(seed["correct"], columns=seed["names"])[cols]
    res = KinshipMixedLM(seed["y"], x, kinship=seed["K"]).fit(reml=method == "REML",
                                                                df_method="satterthwaite")
    for ref in ANOVA[method]:
        L = np.array(ref["L"], dtype=float)
        for ft in (res.f_test(L), res.wald_test(L, scalar=True)):  # contestMD(m, L)
            assert ft.df_num == ref["df_num"]
            # lmerTest differentiates numerically (numDeriv): agreement to about 1e-6
            assert_allclose(ft.df_denom, ref["df_denom"], rtol=2e-6)
            assert_allclose(ft.fvalue, ref["F"], rtol=1e-6)
            assert_allclose(ft.pvalue, ref["p"], rtol=1e-4)
    # the table of terms uses the same df (one term per column without a formula)
    wt = res.wald_test_terms(scalar=True)
    f1 = res.f_test(np.eye(len(cols))[1])
    assert_allclose(wt.table.loc["SNP1", "df_denom"], f1.df_denom, rtol=1e-12)
    assert_allclose(f1.df_denom, res.df_satterthwaite[1], rtol=1e-12)


# -- _fit_zeros / _fit_collinear (issue 12), checked directly -----------------------------

def test_fit_zeros_is_the_restricted_fit(fit):
    kw = {"reml": False, "df_method": "satterthwaite"}
    res = fit._fit_zeros([0, 2, 3], **kw)
    ref = KinshipMixedLM(fit.endog, fit.exog[:, [0, 2, 3]], kinship=fit.kinship).fit(**kw)
    # the decomposition of K is reused, not recomputed
    assert res.results_constrained.model.decomposition is fit.decomposition
    assert res.model is fit and res.k_constr == 1 and list(res.keep_index) == [0, 2, 3]
    assert res.params[1] == 0 and res.bse[1] == 0
    assert np.all(np.asarray(res.cov_params())[1] == 0)
    assert_allclose(np.delete(np.asarray(res.params), 1), ref.params, rtol=1e-12)
    assert_allclose(np.delete(np.asarray(res.bse), 1), ref.bse, rtol=1e-12)
    assert_allclose(np.delete(np.asarray(res.pvalues), 1), ref.pvalues, rtol=1e-10)
    # the variance components, likelihood, BLUPs and tests are those of the restricted fit
    assert res.method == "ML" and res.df_method == "satterthwaite" and res.use_t
    assert_allclose(res.vcomp, ref.vcomp, rtol=1e-12)
    assert_allclose(res.bse_vcomp, ref.bse_vcomp, rtol=1e-12)
    for name in ("llf", "aic", "bic", "h2", "bse_h2", "df_resid"):
        assert_allclose(getattr(res, name), getattr(ref, name), rtol=1e-12)
    assert_allclose(res.resid, ref.resid, rtol=1e-10, atol=1e-12)
    assert_allclose(res.random_effects, ref.random_effects, rtol=1e-10, atol=1e-12)
    assert_allclose(res.kinship_variance_test().statistic,
                    ref.kinship_variance_test().statistic, rtol=1e-10)
    assert_allclose(res.t_test("x2 - x3 = 0").df_denom, ref.t_test("x1 - x2 = 0").df_denom,
                    rtol=1e-10)
    # the summary's score and h2 interval are the restricted fit's
    assert res._summary_facts()["score"] == ref._summary_facts()["score"]
    assert res._summary_h2_interval(0.05) == ref._summary_h2_interval(0.05)
    assert "x1" in str(res.summary())


def test_fit_zeros_start_params_and_mle_settings(fit):
    res = fit.fit()
    assert res.mle_settings["optimizer"] == "bounded"
    assert_allclose(res.mle_settings["start_params"], 0)  # none given: statsmodels' default
    sk2, se2 = np.asarray(res.vcomp)
    start = np.r_[np.asarray(res.params), sk2, se2]
    # maxiter=0: held at the variances of start_params, for the kept columns
    res0 = fit._fit_zeros([0, 1], start_params=start, maxiter=0)
    assert_allclose(res0.delta, sk2 / se2, rtol=1e-12)
    assert_allclose(res0.mle_settings["start_params"], start[[0, 1, 4, 5]])
    with pytest.raises(ValueError, match="start_params"):
        fit._fit_zeros([0, 1], start_params=np.zeros(3))


def test_fit_collinear_drops_the_copies(fit):
    x = np.column_stack([fit.exog, fit.exog[:, 1:]])
    with pytest.warns(CollinearityWarning):
        mod = KinshipMixedLM(fit.endog, x, kinship=fit.kinship)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the restricted model is full rank: no warning
        res = mod._fit_collinear()
    ref = fit.fit()
    assert list(res.keep_index) == [0, 1, 2, 3]
    assert_allclose(np.asarray(res.params)[:4], ref.params, rtol=1e-10)
    assert np.all(np.asarray(res.params)[4:] == 0) and np.all(np.asarray(res.bse)[4:] == 0)
    assert_allclose(res.vcomp, ref.vcomp, rtol=1e-10)
    with pytest.raises(ValueError, match="cov_type"):
        mod._fit_collinear(cov_type="HC0")


def test_fit_zeros_refuses_to_lose_an_aliased_column(fit):
    # x4 = x1 + x2 is aliased in the full design, estimable once x1 is dropped
    x = np.column_stack([fit.exog, fit.exog[:, 1] + fit.exog[:, 2]])
    with pytest.warns(CollinearityWarning):
        mod = KinshipMixedLM(fit.endog, x, kinship=fit.kinship)
    with pytest.raises(ValueError, match="x4"):
        mod._fit_zeros([0, 2, 3, 4])
