"""KinshipMixedLM on the seed study against lme4 and against the blog's published numbers.

Reference numbers: ``tests/results/lme4_seed.json``, made by ``tests/results/lme4_seed.R``
(lme4 through its modular interface, ``Zt`` premultiplied by ``chol(K)`` as lme4qtl does).
The published numbers are those listed in ``$KINSHIP_SEED_DATA/README.md``.
"""
import json
import pathlib
import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from statsmodels.tools.sm_exceptions import CollinearityWarning

from statsmodels_kinship import KinshipMixedLM

RESULTS_DIR = pathlib.Path(__file__).parent / "results"
LME4 = json.loads((RESULTS_DIR / "lme4_seed.json").read_text())

# published in the blog (see the seed data's README)
PUBLISHED_THETA = 2.508012294769287
PUBLISHED_REML_CRITERION = 3919.756682815396
PUBLISHED_SIGMA2 = 0.3189292035466212
PUBLISHED_SIGNIFICANT = [
    "SNP2", "SNP7", "SNP10", "SNP11", "SNP13", "SNP15", "SNP24", "SNP25", "SNP26", "SNP40",
    "SNP41", "SNP42", "SNP51", "SNP52", "SNP53", "SNP55", "SNP62", "SNP85", "SNP96", "SNP100",
    "SNP102", "SNP106", "SNP107", "SNP125", "SNP127"]


def seed_model(seed, design):
    X = pd.DataFrame(seed[design], columns=seed["names"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CollinearityWarning)
        return KinshipMixedLM(pd.Series(seed["y"], name="trait"), X, kinship=seed["K"])


@pytest.fixture(scope="module")
def models(seed):
    return {design: seed_model(seed, design) for design in ("blog", "correct")}


@pytest.mark.parametrize("design", ["blog", "correct"])
@pytest.mark.parametrize("method", ["REML", "ML"])
def test_against_lme4(models, design, method):
    ref = LME4[design][method]
    res = models[design].fit(reml=method == "REML")
    assert res.converged
    kept = list(res.params.index[~res.aliased.to_numpy()])
    aliased = list(res.params.index[res.aliased.to_numpy()])
    assert kept == ref["kept"]  # colnames(getME(fit, "X"))
    assert aliased == ref["aliased"]
    assert models[design].rank == ref["rank"]
    assert_allclose(res.theta, ref["theta"], rtol=1e-6)  # getME(fit, "theta")
    assert_allclose(-2 * res.llf, ref["criterion"], rtol=1e-10)  # REMLcrit(fit) / deviance(fit)
    assert_allclose(res.llf, ref["logLik"], rtol=1e-10)  # logLik(fit)
    assert_allclose(res.scale, ref["sigma2"], rtol=1e-6)  # sigma(fit)^2
    assert_allclose(res.vcomp["kinship"], ref["vc_kinship"], rtol=1e-6)  # sigma^2 theta^2
    fixef = pd.Series(ref["fixef"])[kept]  # fixef(fit)
    se = pd.Series(ref["se"])[kept]  # sqrt(diag(vcov(fit)))
    # lme4 pins theta down to about 1e-7 (its criterion is rough at 1e-11), which moves
    # coefficients near zero by up to 1e-5 of their standard error
    assert_allclose(res.params[kept], fixef, rtol=1e-6, atol=1e-5 * se.min())
    assert_allclose(res.bse[kept], se, rtol=1e-6)
    assert res.params[aliased].isna().all() and res.bse[aliased].isna().all()
    # at lme4's own theta everything agrees to rounding
    at = models[design].fit(reml=method == "REML", kinship_ratio=ref["theta"] ** 2)
    assert_allclose(-2 * at.llf, ref["criterion"], rtol=1e-12)
    assert_allclose(at.scale, ref["sigma2"], rtol=1e-10)
    assert_allclose(at.params[kept], fixef, rtol=1e-9, atol=1e-8 * se.min())
    assert_allclose(at.bse[kept], se, rtol=1e-9)


def test_published_numbers(models):
    """The blog's figures come from its (mis-built) design at the gem's theta."""
    res = models["blog"].fit(kinship_ratio=PUBLISHED_THETA ** 2)
    assert_allclose(-2 * res.llf, PUBLISHED_REML_CRITERION, rtol=1e-12)
    assert_allclose(res.scale, PUBLISHED_SIGMA2, rtol=1e-7)
    significant = list(res.pvalues.index[res.pvalues < 0.05])
    assert significant == PUBLISHED_SIGNIFICANT
    # and lme4 at the same theta
    ref = LME4["published"]
    assert_allclose(res.params, pd.Series(ref["fixef"])[res.params.index], rtol=1e-9)
    assert_allclose(res.bse, pd.Series(ref["se"])[res.params.index], rtol=1e-9)
    assert_allclose(res.pvalues, pd.Series(ref["pvalue"])[res.params.index], rtol=1e-7)


def test_gem_stopped_early(models):
    """The REML optimum lies below the published criterion: the gem's theta is not optimal."""
    res = models["blog"].fit()
    assert -2 * res.llf < PUBLISHED_REML_CRITERION - 1.0
    assert abs(res.theta - PUBLISHED_THETA) > 0.2


def test_seed_kinship_structure(models, seed):
    model = models["correct"]
    assert model.n_blocks == 100
    assert (model.decomposition.block_sizes == 12).all()
    distinct = np.unique(np.round(model.decomposition.eigenvalues, 10))
    assert len(distinct) == 9  # as the seed data's README states


def test_correct_design_warns(seed):
    X = pd.DataFrame(seed["correct"], columns=seed["names"])
    with pytest.warns(CollinearityWarning, match=r"rank 25 of 131 columns\): 106 columns"):
        KinshipMixedLM(seed["y"], X, kinship=seed["K"])
