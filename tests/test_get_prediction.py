"""Marginal ``get_prediction(conditional=False)``: statsmodels' PredictionResults with x'b, sqrt(x'Cx)
and intervals whose observation variance is s_k^2 m + s_e^2 (a new unrelated individual)."""
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats
from statsmodels.regression._prediction import PredictionResults

import statsmodels_kinship as smk

COLS = ["mean", "mean_se", "mean_ci_lower", "mean_ci_upper", "obs_ci_lower", "obs_ci_upper"]


def _data(n_fam=15, size=4, seed=0):
    rng = np.random.default_rng(seed)
    n = n_fam * size
    block = np.full((size, size), 0.25) + 0.25 * np.eye(size)
    K = np.kron(np.eye(n_fam), block)
    ids = [f"i{j}" for j in range(n)]
    x1 = rng.normal(size=n)
    x2 = rng.normal(size=n)
    g = rng.multivariate_normal(np.zeros(n), 2.0 * K)
    y = 1.0 + 0.5 * x1 - 0.3 * x2 + g + rng.normal(size=n)
    df = pd.DataFrame({"y": y, "x1": x1, "x2": x2}, index=ids)
    return df, pd.DataFrame(K, index=ids, columns=ids)


def _direct(res, X, alpha=0.05, df=None):
    kept = ~np.asarray(res.aliased)
    b = np.asarray(res.params)[kept]
    C = np.asarray(res.cov_params())[np.ix_(kept, kept)]
    X = np.asarray(X, dtype=float)[:, kept]
    mean = X @ b
    se = np.sqrt(np.einsum("ij,jk,ik->i", X, C, X))
    s_k2, s_e2 = np.asarray(res.vcomp)
    var_obs = se ** 2 + s_k2 * res.model.mean_kinship_diagonal + s_e2
    q = stats.norm.ppf(1 - alpha / 2) if df is None else stats.t.ppf(1 - alpha / 2, df)
    return mean, se, np.sqrt(var_obs), q


@pytest.fixture(scope="module")
def fitted():
    df, K = _data()
    return df, K, smk.KinshipMixedLM.from_formula("y ~ x1 + x2", data=df, kinship=K).fit()


def test_array_model_against_direct_formula(fitted):
    df, K, _ = fitted
    X = sm.add_constant(df[["x1", "x2"]].to_numpy())
    res = smk.KinshipMixedLM(df["y"].to_numpy(), X, kinship=K.to_numpy()).fit()
    new = np.array([[1.0, 0.2, -1.0], [1.0, 2.0, 0.5]])
    pred = res.get_prediction(new, conditional=False)
    assert isinstance(pred, PredictionResults)
    mean, se, se_obs, q = _direct(res, new)
    np.testing.assert_allclose(pred.predicted_mean, mean, rtol=1e-12)
    np.testing.assert_allclose(pred.predicted_mean, res.predict(new), rtol=1e-12)
    np.testing.assert_allclose(pred.se_mean, se, rtol=1e-12)
    np.testing.assert_allclose(pred.var_pred_mean, se ** 2, rtol=1e-12)
    sf = pred.summary_frame(alpha=0.1)
    mean, se, se_obs, q = _direct(res, new, alpha=0.1)
    np.testing.assert_allclose(sf["mean_ci_lower"], mean - q * se, rtol=1e-12)
    np.testing.assert_allclose(sf["mean_ci_upper"], mean + q * se, rtol=1e-12)
    np.testing.assert_allclose(sf["obs_ci_lower"], mean - q * se_obs, rtol=1e-12)
    np.testing.assert_allclose(sf["obs_ci_upper"], mean + q * se_obs, rtol=1e-12)
    # default: the model's rows
    full = res.get_prediction(conditional=False)
    np.testing.assert_allclose(full.predicted_mean, X @ np.asarray(res.params), rtol=1e-12)


def test_formula_model_and_columns_match_ols(fitted):
    df, K, res = fitted
    new = pd.DataFrame({"x1": [0.0, 1.5], "x2": [1.0, -2.0]}, index=["a", "b"])
    sf = res.get_prediction(new, conditional=False).summary_frame()
    ols = sm.OLS.from_formula("y ~ x1 + x2", data=df).fit()
    assert list(sf.columns) == list(ols.get_prediction(new).summary_frame().columns) == COLS
    assert list(sf.index) == ["a", "b"]
    X = np.column_stack([np.ones(2), new["x1"], new["x2"]])
    mean, se, se_obs, q = _direct(res, X)
    np.testing.assert_allclose(sf["mean"], mean, rtol=1e-12)
    np.testing.assert_allclose(sf["mean_se"], se, rtol=1e-12)
    np.testing.assert_allclose(sf["obs_ci_upper"], mean + q * se_obs, rtol=1e-12)
    np.testing.assert_allclose(sf["mean"], res.predict(new), rtol=1e-12)
    # transform=False: the design matrix itself
    pred = res.get_prediction(X, transform=False, row_labels=["p", "q"], conditional=False)
    np.testing.assert_allclose(pred.predicted_mean, mean, rtol=1e-12)
    assert list(pred.summary_frame().index) == ["p", "q"]


def test_formula_transform(fitted):
    df, K, _ = fitted
    df = df.assign(z=np.exp(df["x1"]))
    res = smk.KinshipMixedLM.from_formula("y ~ np.log(z) + x2", data=df, kinship=K).fit()
    new = pd.DataFrame({"z": [1.0, 3.0], "x2": [0.0, 1.0]})
    X = np.column_stack([np.ones(2), np.log(new["z"]), new["x2"]])
    mean, se, _, _ = _direct(res, X)
    pred = res.get_prediction(new, conditional=False)
    np.testing.assert_allclose(pred.predicted_mean, mean, rtol=1e-12)
    np.testing.assert_allclose(pred.se_mean, se, rtol=1e-12)


def test_use_t_and_satterthwaite(fitted):
    df, K, _ = fitted
    mod = smk.KinshipMixedLM.from_formula("y ~ x1 + x2", data=df, kinship=K)
    new = pd.DataFrame({"x1": [0.0, 1.5], "x2": [1.0, -2.0]})
    X = np.column_stack([np.ones(2), new["x1"], new["x2"]])
    res = mod.fit(use_t=True)
    mean, se, se_obs, q = _direct(res, X, df=res.df_resid)
    sf = res.get_prediction(new, conditional=False).summary_frame()
    np.testing.assert_allclose(sf["mean_ci_lower"], mean - q * se, rtol=1e-12)
    np.testing.assert_allclose(sf["obs_ci_lower"], mean - q * se_obs, rtol=1e-12)
    res = mod.fit(df_method="satterthwaite")
    df_row = np.asarray(res.satterthwaite_df(X))
    mean, se, se_obs, q = _direct(res, X, df=df_row)
    sf = res.get_prediction(new, conditional=False).summary_frame()
    np.testing.assert_allclose(sf["mean_ci_upper"], mean + q * se, rtol=1e-10)
    np.testing.assert_allclose(sf["obs_ci_upper"], mean + q * se_obs, rtol=1e-10)
    # a single coefficient row gets that coefficient's Satterthwaite df
    e = np.array([[0.0, 1.0, 0.0]])
    ci = res.get_prediction(e, transform=False, conditional=False).conf_int()
    np.testing.assert_allclose(ci[0], np.asarray(res.conf_int())[1], rtol=1e-10)


def test_aliased_columns_left_out(fitted):
    df, K, _ = fitted
    df = df.assign(x3=df["x1"] + df["x2"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = smk.KinshipMixedLM.from_formula("y ~ x1 + x2 + x3", data=df, kinship=K).fit()
    assert np.asarray(res.aliased).any()
    new = pd.DataFrame({"x1": [0.5], "x2": [1.0], "x3": [1.5]})
    X = np.array([[1.0, 0.5, 1.0, 1.5]])
    mean, se, _, _ = _direct(res, X)
    sf = res.get_prediction(new, conditional=False).summary_frame()
    assert np.isfinite(sf.to_numpy()).all()
    np.testing.assert_allclose(sf["mean"], mean, rtol=1e-12)
    np.testing.assert_allclose(sf["mean_se"], se, rtol=1e-12)


def test_alpha_widens_intervals(fitted):
    _, _, res = fitted
    new = pd.DataFrame({"x1": [0.3], "x2": [0.3]})
    pred = res.get_prediction(new, conditional=False)
    w90 = np.diff(pred.conf_int(alpha=0.1), axis=1)
    w99 = np.diff(pred.conf_int(alpha=0.01), axis=1)
    assert (w99 > w90).all()
    assert (np.diff(pred.conf_int(obs=True), axis=1) > np.diff(pred.conf_int(), axis=1)).all()


def test_wrong_width_is_an_error(fitted):
    _, _, res = fitted
    with pytest.raises(ValueError, match="3 columns"):
        res.get_prediction(np.ones((2, 2)), transform=False, conditional=False)
