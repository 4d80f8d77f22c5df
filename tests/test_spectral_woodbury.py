"""The spectral-Woodbury engine (``_engine.SpectralWoodburyLikelihood``) against the dense
blocks (``_engine.BlockLikelihood``), the oracle here: one dense GRM over every record (one
connected block) plus grouping factors, where the dense engine factors the whole ``H`` at
each evaluation and the new one rotates by the eigenvectors of K once and solves with
Woodbury's identity. Both must give the same numbers to rounding: the criterion, its
derivatives, the fitted ratios, the BLUPs, the information and the whitening.
"""
import numpy as np
import pytest
from numpy.testing import assert_allclose

from statsmodels_kinship._engine import (
    BlockLikelihood,
    Component,
    CovarianceStructure,
    SpectralWoodburyLikelihood,
)

#: Ratios (kinship, household, batch) at which the engines are compared: interior points,
#: and components at 0 (each, and all).
GAMMAS = [(0.5, 0.3, 0.1), (0.0, 0.3, 0.2), (1.0, 0.0, 0.2), (2.0, 1.0, 0.0), (0.0, 0.0, 0.0)]


@pytest.fixture(scope="module")
def engines():
    """Both engines on 240 records: a dense GRM from 500 SNPs, 80 households of three (in
    shuffled order) and 20 batches given as an indicator design, two covariates."""
    rng = np.random.default_rng(1)
    n = 240
    g = rng.binomial(2, 0.3, size=(n, 500)).astype(float)
    g = (g - g.mean(axis=0)) / g.std(axis=0)
    grm = g @ g.T / 500
    household = np.arange(n) // 3
    rng.shuffle(household)
    batch = rng.integers(0, 20, size=n)
    design = np.zeros((n, 20))
    design[np.arange(n), batch] = 0.5  # a design, not codes: effects of weight 1/2
    exog = np.column_stack([np.ones(n), rng.normal(size=n)])
    endog = (exog @ [1.0, 0.5] + g[:, :50] @ rng.normal(size=50) * 0.1
             + 0.7 * rng.normal(size=n // 3)[household] + rng.normal(size=n))
    structure = CovarianceStructure(n, [
        Component("kinship", "relationship", codes=np.arange(n), matrix=grm),
        Component("household", "group", codes=household),
        Component("batch", "group", design=design)])
    return (BlockLikelihood(structure, exog, endog),
            SpectralWoodburyLikelihood(structure, exog, endog))


@pytest.mark.parametrize("reml", [True, False])
@pytest.mark.parametrize("gamma", GAMMAS)
def test_criterion_and_derivatives(engines, gamma, reml):
    dense, spectral = engines
    gamma = np.array(gamma)
    assert_allclose(spectral.loglike(gamma, reml), dense.loglike(gamma, reml), rtol=1e-12,
                     atol=1e-9)
    sol_d, sol_s = dense.solve(gamma, level=1), spectral.solve(gamma, level=1)
    for key in ("params", "rss", "chol_A", "logdet_a", "logdet_v", "py", "trace", "quad",
                "r_mats", "u", "hu", "xhu"):
        assert_allclose(sol_s[key], sol_d[key], rtol=1e-9, atol=1e-9, err_msg=key)
    grad_d, ai_d = dense.derivatives(sol_d, reml)
    grad_s, ai_s = spectral.derivatives(sol_s, reml)
    assert_allclose(grad_s, grad_d, rtol=1e-9, atol=1e-9)
    assert_allclose(ai_s, ai_d, rtol=1e-9, atol=1e-9)
    assert_allclose(spectral.hessian(sol_s, reml), dense.hessian(sol_d, reml), rtol=1e-9,
                    atol=1e-9)
    info_d = dense.information(gamma, 1.3, reml)
    assert_allclose(spectral.information(gamma, 1.3, reml), info_d,
                    rtol=1e-6, atol=1e-6 * np.abs(info_d).max())


@pytest.mark.parametrize("reml", [True, False])
def test_maximum_effects_information(engines, reml):
    dense, spectral = engines
    gamma_d, llf_d, info_d = dense.maximize(reml)
    gamma_s, llf_s, info_s = spectral.maximize(reml)
    assert info_s["converged"] and info_d["converged"]
    assert info_s["boundary"] == info_d["boundary"]
    assert_allclose(gamma_s, gamma_d, rtol=1e-7, atol=1e-7)
    assert_allclose(llf_s, llf_d, rtol=1e-12, atol=1e-9)
    eff_d, eff_s = dense.effects(gamma_d), spectral.effects(gamma_d)
    for name in eff_d["blups"]:
        assert_allclose(eff_s["blups"][name], eff_d["blups"][name], rtol=1e-9, atol=1e-9)
    assert_allclose(eff_s["random"], eff_d["random"], rtol=1e-9, atol=1e-9)
    scale = eff_d["rss"] / (dense.n - dense.p if reml else dense.n)
    with np.errstate(invalid="ignore"):
        ref = dense.information(gamma_d, scale, reml)
        got = spectral.information(gamma_d, scale, reml)
    assert_allclose(got, ref, rtol=1e-6, atol=1e-6 * np.nanmax(np.abs(ref)))
    # held components (the profile and the tests): the same constrained maximum
    fixed = np.array([False, True, False])
    start = np.array([0.2, 0.0, 0.1])
    assert_allclose(spectral.maximize(reml, start=start, fixed=fixed)[0],
                    dense.maximize(reml, start=start, fixed=fixed)[0], rtol=1e-7, atol=1e-7)


def test_with_endog_exog_and_whitener(engines):
    dense, spectral = engines
    rng = np.random.default_rng(5)
    other = rng.normal(size=dense.n)
    exog = np.column_stack([dense.exog, rng.normal(size=dense.n)])
    gamma = np.array([0.5, 0.3, 0.1])
    for d, s in ((dense.with_endog(other), spectral.with_endog(other)),
                 (dense.with_exog(exog), spectral.with_exog(exog))):
        assert type(s) is SpectralWoodburyLikelihood
        assert_allclose(s.loglike(gamma), d.loglike(gamma), rtol=1e-12, atol=1e-9)
    # whitening: S'S = H^-1 (the rows differ: rotated order), the same log det H
    w_d, w_s = dense.whitener(gamma), spectral.whitener(gamma)
    assert_allclose(w_s.logdet, w_d.logdet, rtol=1e-12)
    a = np.column_stack([exog, other])
    assert_allclose(w_s.apply(a).T @ w_s.apply(a), w_d.apply(a).T @ w_d.apply(a),
                    rtol=1e-9, atol=1e-9)
    assert_allclose(w_s.apply(other), w_s.apply(other[:, None])[:, 0], rtol=1e-14)


def test_refuses_other_structures():
    n = 6
    k = np.eye(n) + 0.1
    comps = [Component("a", "relationship", codes=np.arange(n), matrix=k),
             Component("b", "relationship", codes=np.arange(n), matrix=k)]
    with pytest.raises(ValueError, match="exactly one relationship"):
        SpectralWoodburyLikelihood(CovarianceStructure(n, comps), np.ones((n, 1)), np.ones(n))
    repeated = [Component("a", "relationship", codes=np.arange(n) // 2, matrix=k[:3, :3])]
    with pytest.raises(ValueError, match="one record per individual"):
        SpectralWoodburyLikelihood(CovarianceStructure(n, repeated), np.ones((n, 1)),
                                   np.ones(n))


def test_model_selects_and_matches(engines, monkeypatch):
    """The model picks the engine for one large relationship block plus grouping factors
    (threshold lowered here) and fits as on the dense blocks."""
    from statsmodels_kinship import KinshipMixedLM, _components

    dense, _ = engines
    grm = dense.structure.components[0].matrix
    household = dense.structure.components[1].codes
    args = (dense.endog, dense.exog)
    kwargs = {"kinship": grm, "exog_vc": {"household": household}}
    ref = KinshipMixedLM(*args, **kwargs)
    assert type(ref._engine) is BlockLikelihood
    monkeypatch.setattr(_components, "SPECTRAL_BLOCK_MIN", 100)
    model = KinshipMixedLM(*args, **kwargs)
    assert type(model._engine) is SpectralWoodburyLikelihood
    res, res_ref = model.fit(), ref.fit()
    assert_allclose(res.vcomp, res_ref.vcomp, rtol=1e-7)
    assert_allclose(res.bse_vcomp, res_ref.bse_vcomp, rtol=1e-6)
    assert_allclose(res.params, res_ref.params, rtol=1e-9, atol=1e-12)
    assert_allclose(res.llf, res_ref.llf, rtol=1e-12)
    assert_allclose(res.fittedvalues, res_ref.fittedvalues, rtol=1e-9, atol=1e-9)
    # too many levels (q > n / 2): dense blocks
    many = {"kinship": grm, "exog_vc": {"pair": np.arange(dense.n) * 2 // 3}}
    assert type(KinshipMixedLM(*args, **many)._engine) is BlockLikelihood
