"""Numerical core of conditional prediction (issue 11): Henderson's BLUP of unphenotyped
relatives and its prediction error variance, against a direct dense formula (V, C, PEV with
the uncertainty of b), against the fit's own BLUPs, and by coverage of prediction intervals."""
import numpy as np
import pandas as pd
import pytest
from scipy import stats

import statsmodels_kinship as smk
from statsmodels_kinship import _components
from statsmodels_kinship._prediction import conditional_prediction

FAMILY = 5  # two parents, three full sibs; the last sib is held out of the fit


def _family_matrix():
    a = np.eye(FAMILY)
    a[:2, 2:] = a[2:, :2] = 0.5
    a[2:, 2:] = 0.5 + 0.5 * np.eye(FAMILY - 2)
    return a


def _study(n_fam=30, s_a2=2.0, s_h2=0.0, seed=0):
    """Families (relationship matrix A), a household per family; the data of every person
    and the labels of the held-out ones."""
    rng = np.random.default_rng(seed)
    n = n_fam * FAMILY
    a = np.kron(np.eye(n_fam), _family_matrix())
    ids = [f"p{i}" for i in range(n)]
    hh = np.repeat(np.arange(n_fam), FAMILY)
    x = rng.normal(size=n)
    g = np.linalg.cholesky(a) @ rng.normal(size=n) * np.sqrt(s_a2)
    h = rng.normal(size=n_fam)[hh] * np.sqrt(s_h2)
    y = 1.0 + 0.5 * x + g + h + rng.normal(size=n)
    df = pd.DataFrame({"y": y, "x": x, "household": hh}, index=ids)
    held = [ids[f * FAMILY + FAMILY - 1] for f in range(n_fam)]
    return df, pd.DataFrame(a, index=ids, columns=ids), held


def _targets(res, df, kinship, targets, household=True):
    """``cov_new_records``, ``var_new`` and ``x_new`` of ``targets`` (a new record each)."""
    rec = list(res.model.data.row_labels)
    gamma = np.asarray(res.gamma)
    k = kinship.loc[targets, rec].to_numpy()
    cov = gamma[0] * k
    var = gamma[0] * np.diag(kinship.loc[targets, targets].to_numpy())
    if household:
        same = (df.loc[targets, "household"].to_numpy()[:, None]
                == df.loc[rec, "household"].to_numpy()[None, :])
        cov = cov + gamma[1] * same
        var = var + gamma[1]
    x_new = np.column_stack([np.ones(len(targets)), df.loc[targets, "x"]])
    return cov, var, x_new


def _dense(res, y, x, w_records, c, v, x_new):
    """Direct formula with V = s_e^2 (I + sum_j gamma_j W_j) and C = s_e^2 c."""
    s_e2 = float(res.vcomp["residual"])
    big_v = s_e2 * (np.eye(len(y)) + w_records)
    big_c = s_e2 * c
    vi = np.linalg.inv(big_v)
    a = x.T @ vi @ x
    b = np.linalg.solve(a, x.T @ vi @ y)
    mean = x_new @ b + big_c @ vi @ (y - x @ b)
    d = x_new - (x.T @ vi @ big_c.T).T
    base = s_e2 * v - np.einsum("ki,ij,kj->k", big_c, vi, big_c)
    pev = base + np.einsum("ki,ij,kj->k", d, np.linalg.inv(a), d)
    g = (x.T @ vi @ big_c.T).T
    pev_u = base + np.einsum("ki,ij,kj->k", g, np.linalg.inv(a), g)
    return mean, pev, pev_u, pev + s_e2


@pytest.fixture(scope="module")
def study():
    return _study(s_h2=0.7)


def _check_dense(res, df, kinship, held, household):
    rec = list(res.model.data.row_labels)
    gamma = np.asarray(res.gamma)
    w = gamma[0] * kinship.loc[rec, rec].to_numpy()
    if household:
        hh = df.loc[rec, "household"].to_numpy()
        w = w + gamma[1] * (hh[:, None] == hh[None, :])
    cov, var, x_new = _targets(res, df, kinship, held, household)
    pred = conditional_prediction(res, cov, var, x_new)
    mean, pev, pev_u, var_obs = _dense(res, df.loc[rec, "y"].to_numpy(),
                                       np.asarray(res.model.exog), w, cov, var, x_new)
    np.testing.assert_allclose(pred.mean, mean, rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(pred.pev_mean, pev, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(pred.pev_random, pev_u, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(pred.var_obs, var_obs, rtol=1e-8, atol=1e-10)
    assert np.all(pred.pev_random < pred.var_random)  # relatives bring information


def test_single_path_against_dense_formula(study):
    df, kinship, held = study
    res = smk.KinshipMixedLM.from_formula("y ~ x", df.drop(held), kinship=kinship).fit()
    assert res.delta is not None and res.delta > 0
    _check_dense(res, df, kinship, held, household=False)


@pytest.mark.parametrize("spectral", [False, True], ids=["blocks", "spectral_woodbury"])
def test_engine_path_against_dense_formula(study, spectral, monkeypatch):
    if spectral:  # the eigendecomposition with Woodbury's identity, even for small blocks
        monkeypatch.setattr(_components, "SPECTRAL_BLOCK_MIN", 0)
    df, kinship, held = study
    model = smk.KinshipMixedLM.from_formula(
        "y ~ x", df.drop(held), kinship={"kinship": kinship},
        vc_formula={"household": "0 + C(household)"})
    assert type(model._engine).__name__ == (
        "SpectralWoodburyLikelihood" if spectral else "BlockLikelihood")
    res = model.fit()
    assert res.delta is None and np.all(res.gamma > 0)
    _check_dense(res, df, kinship, held, household=True)


def test_phenotyped_genetic_value_is_its_blup(study):
    df, kinship, held = study
    fit = df.drop(held)
    rec = list(fit.index)
    res = smk.KinshipMixedLM.from_formula("y ~ x", fit, kinship=kinship).fit()
    k = kinship.loc[rec, rec].to_numpy()
    zeros = np.zeros((len(rec), 2))
    pred = conditional_prediction(res, res.delta * k, res.delta * np.diag(k), zeros)
    np.testing.assert_allclose(pred.random, np.asarray(res.random_effects), atol=1e-8)
    np.testing.assert_allclose(pred.mean, pred.random)

    res = smk.KinshipMixedLM.from_formula(
        "y ~ x", fit, kinship={"kinship": kinship},
        vc_formula={"household": "0 + C(household)"}).fit()
    blups = res.random_effects_by_component
    g_k, g_h = res.gamma
    pred = conditional_prediction(res, g_k * k, g_k * np.diag(k), zeros)
    np.testing.assert_allclose(pred.random, blups["kinship"].loc[rec], atol=1e-8)
    hh = fit["household"].to_numpy()
    levels = np.unique(hh)
    z = (levels[:, None] == hh[None, :]).astype(float)
    pred = conditional_prediction(res, g_h * z, np.full(len(levels), g_h),
                                  np.zeros((len(levels), 2)))
    labels = [f"C(household)[{h}]" for h in levels]
    np.testing.assert_allclose(pred.random, blups["household"].loc[labels], atol=1e-8)


def test_prediction_intervals_of_held_out_relatives_cover():
    hits, total = 0, 0
    q = stats.norm.ppf(0.975)
    for seed in range(20):
        df, kinship, held = _study(n_fam=100, s_a2=1.5, seed=100 + seed)
        res = smk.KinshipMixedLM.from_formula("y ~ x", df.drop(held), kinship=kinship).fit()
        cov, var, x_new = _targets(res, df, kinship, held, household=False)
        pred = conditional_prediction(res, cov, var, x_new)
        half = q * np.sqrt(pred.var_obs)
        y = df.loc[held, "y"].to_numpy()
        hits += int(np.sum(np.abs(y - pred.mean) <= half))
        total += len(held)
    assert 0.93 <= hits / total <= 0.97, hits / total


def test_wrong_shapes_are_named(study):
    df, kinship, held = study
    res = smk.KinshipMixedLM.from_formula("y ~ x", df.drop(held), kinship=kinship).fit()
    with pytest.raises(ValueError, match="cov_new_records must have shape"):
        conditional_prediction(res, np.zeros((2, 3)), np.zeros(2), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="x_new has 3 columns"):
        conditional_prediction(res, np.zeros((2, int(res.nobs))), np.zeros(2), np.zeros((2, 3)))
