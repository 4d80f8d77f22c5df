"""The parametric bootstrap at the boundary of the parameter space and under K + c 11'
(issue 9, items 1 and 8).

* Near h2 = 1 a replicate's residual variance is often estimated at 0 (``delta`` at the end
  of the model's search, ``delta_max``, with a finite limit beyond: a converged boundary
  estimate, h2 = 1 to about 1e-6): used in the intervals and counted, not a failed replicate
  dropped from them (which made the intervals exclude the truth), and the same estimate as
  the model's own fit of that response (one rule, in ``ProfiledLikelihood.maximize``).
* Where the likelihood is unbounded as s_e^2 -> 0 (a singular K whose null space is not in
  the span of X) the model's fit and the replicate are both not converged.
* Near h2 = 0 replicates at ``s_k^2 = 0`` are counted, and no variance interval reaches
  below 0 (the limits are clipped to the parameter space).
* Replicates that do fail are counted, warned about and reported in the summary.
* Under REML with an intercept the refits of the same responses are the same with K and
  with K + c 11' (the bootstrap's search range follows the model's, not the largest
  eigenvalue of K).

Oracles: the model's own fit of each replicate's response (drawn again with ``simulate``
and the same seed), the likelihood, the end of the search ``exp(DELTA_LOG_MAX) / s`` and the
truth of the simulation for the intervals.
"""
import re
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import stats
from statsmodels.tools.sm_exceptions import ConvergenceWarning, ValueWarning

from statsmodels_kinship import KinshipMixedLM
from statsmodels_kinship._spectral import DELTA_LOG_MAX
from statsmodels_kinship.bootstrap import (
    _batch_refit,
    _moments_rotated,
    parametric_bootstrap,
    simulate,
)

METHODS = ["percentile", "basic", "normal", "studentized"]


def nuclear_family_kinship(n_families):
    block = np.full((4, 4), 0.25)
    block[0, 1] = block[1, 0] = 0.0
    np.fill_diagonal(block, 0.5)
    return np.kron(np.eye(n_families), block)


def study(s_k2, s_e2, seed, kinship=None):
    rng = np.random.default_rng(seed)
    K = nuclear_family_kinship(25) if kinship is None else kinship
    n = K.shape[0]
    X = np.column_stack([np.ones(n), rng.normal(size=n)])
    g = rng.multivariate_normal(np.zeros(n), s_k2 * K) if s_k2 > 0 else 0.0
    y = X @ [1.0, 0.5] + g + rng.normal(scale=np.sqrt(s_e2), size=n)
    return y, X, K


def fit(y, X, K, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return KinshipMixedLM(y, X, kinship=K).fit(**kwargs)


@pytest.fixture(scope="module")
def near_one():
    """h2 = 1 - 1e-6: about a sixth of the replicates have s_e^2 estimated at 0."""
    y, X, K = study(s_k2=2.0, s_e2=1e-6, seed=14)
    res = fit(y, X, K)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # no replicate fails
        boot = parametric_bootstrap(res, nsim=200, seed=1, progress=False)
    return X, K, res, boot


def delta_max(res):
    """The end of the model's search over delta: 1e6 over the typical eigenvalue."""
    return np.exp(DELTA_LOG_MAX) / res.model._profile.delta_scale


def test_replicates_at_h2_one_are_used_and_counted(near_one):
    X, K, res, boot = near_one
    scale = res.model._profile.delta_scale
    at_inf = boot.delta.to_numpy() == delta_max(res)
    assert boot.n_failed == 0 and boot.n_used == boot.nsim == 200
    assert boot.converged.all()
    assert 10 <= boot.n_boundary_residual == at_inf.sum() <= 100
    assert boot.n_boundary_kinship == 0
    assert (boot.delta.to_numpy()[~at_inf] < delta_max(res)).all()
    # a boundary estimate: s_e^2 = 0 up to 1e-6 s_k^2 s, h2 = 1 to 1e-6, everything finite
    s_k2, s_e2 = boot.vcomp["kinship"][at_inf], boot.vcomp["residual"][at_inf]
    assert (s_e2 > 0).all() and (s_e2 <= 1e-6 * scale * s_k2 * (1 + 1e-9)).all()
    assert (boot.h2[at_inf] > 1 - 1e-6).all() and (boot.h2[at_inf] < 1).all()
    assert (s_k2 > 0).all()
    for table in (boot.params, boot.bse, boot.llf, boot.bse_vcomp["kinship"]):
        assert np.isfinite(np.asarray(table)[at_inf]).all()
    text = str(boot.summary())
    assert re.search(rf"At s_e\^2 = 0 \(h2 = 1\):\s+{boot.n_boundary_residual} ", text)
    assert re.search(r"Used in intervals:\s+200\b", text)
    assert f"{boot.n_boundary_residual} at s_e^2 = 0" in repr(boot)


def assert_replicate_is_the_fit(boot, i, ref, rtol=1e-8):
    assert bool(boot.converged[i]) == ref.converged
    assert_allclose(boot.delta[i], ref.delta, rtol=rtol)
    assert_allclose(boot.params.iloc[i], ref.params, rtol=rtol)
    assert_allclose(boot.vcomp.iloc[i], ref.vcomp, rtol=rtol)
    assert_allclose(boot.llf[i], ref.llf, rtol=rtol)
    assert_allclose(boot.h2[i], ref.h2, rtol=rtol)


def test_boundary_replicates_are_the_model_fits(near_one):
    """A replicate estimated at s_e^2 = 0 is what KinshipMixedLM(y_i, X, kinship=K).fit()
    gives for the same response: a converged fit at the end of the search, boundary
    "residual", without a warning; interior replicates are the model's fits too."""
    X, K, res, boot = near_one
    at_end = np.flatnonzero(boot.delta.to_numpy() == delta_max(res))[:4]
    interior = np.flatnonzero(boot.delta.to_numpy() < delta_max(res))[:3]
    assert len(at_end) == 4 and len(interior) == 3
    ys = simulate(res, nsim=max(at_end.max(), interior.max()) + 1, seed=boot.seed)
    for i in at_end:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            ref = KinshipMixedLM(ys[i], X, kinship=K).fit()
        assert ref.converged and ref.boundary and ref.fit_info["boundary"] == "residual"
        assert ref.h2 > 1 - 1e-5
        assert_replicate_is_the_fit(boot, i, ref)
    for i in interior:
        ref = fit(ys[i], X, K)
        assert ref.fit_info["boundary"] is None and not ref.boundary
        assert_replicate_is_the_fit(boot, i, ref)


@pytest.mark.parametrize("method", METHODS)
def test_intervals_near_h2_one_cover_the_boundary(near_one, method):
    """With the boundary replicates used, the residual variance interval reaches 0 and the
    h2 interval 1 (the truth is s_e^2 = 1e-6, h2 = 1 - 1e-6); before, those replicates were
    dropped as failures and the percentile intervals excluded the truth."""
    X, K, res, boot = near_one
    ci = boot.conf_int_vcomp(method=method)
    assert (ci.to_numpy() >= 0).all()
    assert ci.loc["h2", "upper"] <= 1.0
    # the boundary replicates: s_e^2 at most 1e-6 s_k^2 s, h2 within 1e-6 of 1
    top = 1e-6 * res.model._profile.delta_scale * boot.vcomp["kinship"].max()
    assert 0.0 <= ci.loc["residual", "lower"] <= top and ci.loc["h2", "upper"] >= 1.0 - 1e-6
    true_h2 = 2.0 * 0.5 / (2.0 * 0.5 + 1e-6)
    assert ci.loc["residual", "lower"] <= 1e-6 <= ci.loc["residual", "upper"]
    assert ci.loc["h2", "lower"] <= true_h2 <= ci.loc["h2", "upper"]
    assert ci.loc["kinship", "lower"] <= 2.0 <= ci.loc["kinship", "upper"]


@pytest.fixture(scope="module")
def near_zero():
    """h2 = 0: about 40% of the replicates have s_k^2 estimated at 0."""
    y, X, K = study(s_k2=0.0, s_e2=1.0, seed=4)
    res = fit(y, X, K)
    return res, parametric_bootstrap(res, nsim=200, seed=1, progress=False)


@pytest.mark.parametrize("method", METHODS)
def test_variance_intervals_never_below_zero(near_zero, method):
    res, boot = near_zero
    assert boot.n_used == boot.nsim == 200
    assert 20 <= boot.n_boundary_kinship == (boot.delta == 0).sum() <= 180
    assert boot.n_boundary_residual == 0
    ci = boot.conf_int_vcomp(method=method)
    assert (ci.to_numpy() >= 0).all()
    assert (ci.loc["h2"].to_numpy() <= 1).all()
    # the clipping is the only change: the upper limits are Davison & Hinkley's
    est = np.r_[np.asarray(res.vcomp), res.h2]
    reps = np.column_stack([boot.vcomp, boot.h2])
    if method == "percentile":
        q = [stats.mstats.mquantiles(reps[:, j], [0.975], alphap=0, betap=0)[0]
             for j in range(3)]
        assert_allclose(ci["upper"], q, rtol=0.05)
    assert (ci["upper"].to_numpy() >= 0).all() and est[0] == 0
    text = " ".join(str(boot.summary(vcomp_method=method)).split())
    assert "Variance intervals are clipped to [0, inf), h2 to [0, 1]" in text
    assert re.search(rf"At s_k\^2 = 0 \(h2 = 0\):\s+{boot.n_boundary_kinship} ", text)


def test_nonfinite_replicates_are_not_dropped_silently(near_zero):
    res, boot = near_zero
    bse = boot.bse_vcomp.copy()
    boot.bse_vcomp.iloc[[3, 7], 0] = np.nan
    try:
        with pytest.warns(ValueWarning, match=r"2 of the 200 converged replicates have a "
                                              r"non-finite estimate or std. error of kinship "
                                              r"and are left out of its studentized interval"):
            boot.conf_int_vcomp(method="studentized")
    finally:
        boot.bse_vcomp = bse


@pytest.mark.filterwarnings("ignore:.*replicates are too few")
def test_failed_replicates_are_reported_with_the_number_used():
    """A singular K (a centred GRM: 1 is a null vector) with h2 near 1: some replicates'
    likelihood keeps increasing towards s_e^2 = 0 where it cannot be evaluated; the model's
    search reports them as not converged, and so does the bootstrap, loudly."""
    rng = np.random.default_rng(6)
    G = rng.binomial(2, 0.3, size=(80, 30)).astype(float)
    G -= G.mean(axis=0)
    y, X, K = study(s_k2=1.0, s_e2=1e-8, seed=6, kinship=G @ G.T / 30)
    res = fit(y, X, K)
    with pytest.warns(ConvergenceWarning, match=r"bootstrap replicates did not converge .* "
                                                r"which use \d+"):
        boot = parametric_bootstrap(res, nsim=60, seed=2, progress=False)
    assert 0 < boot.n_failed < 60
    assert boot.n_used == 60 - boot.n_failed
    text = str(boot.summary())
    assert re.search(rf"Failed \(not converged\):\s+{boot.n_failed}\b", text)
    assert re.search(rf"Used in intervals:\s+{boot.n_used}\b", text)
    # a failed replicate is a model fit that does not converge (at the end of the search,
    # the likelihood unbounded), a converged one the model's converged fit
    failed = np.flatnonzero(~boot.converged.to_numpy())[:2]
    ok = np.flatnonzero(boot.converged.to_numpy())[:2]
    ys = simulate(res, nsim=max(failed.max(), ok.max()) + 1, seed=boot.seed)
    for i in failed:
        with pytest.warns(ConvergenceWarning, match="likelihood still increases"):
            ref = KinshipMixedLM(ys[i], X, kinship=K).fit()
        assert boot.delta[i] == ref.delta == delta_max(res) and not ref.boundary
        assert_replicate_is_the_fit(boot, i, ref)
    for i in ok:
        assert_replicate_is_the_fit(boot, i, fit(ys[i], X, K))


def test_bootstrap_of_a_fit_at_the_residual_boundary():
    """The fit itself at s_e^2 = 0 (K positive definite, y = X b + g + tiny noise): a
    converged boundary estimate, and so are the replicates at that boundary, each the
    model's fit of its response (params, variance components, llf to 1e-8); none fails.
    Before, the model reported "not converged" while the bootstrap's replicates sat at
    delta = inf with limits computed separately."""
    rng = np.random.default_rng(3)
    K = np.kron(np.eye(25), np.full((4, 4), 0.25)) + 0.25 * np.eye(100)
    X = np.column_stack([np.ones(100), rng.normal(size=100)])
    rng = np.random.default_rng(3)
    y = (X @ [1.0, 0.5] + rng.multivariate_normal(np.zeros(100), 2.0 * K)
         + rng.normal(scale=1e-4, size=100))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = KinshipMixedLM(y, X, kinship=K).fit()
        boot = parametric_bootstrap(res, nsim=30, seed=1, progress=False)
    assert res.converged and res.fit_info["boundary"] == "residual" and res.h2 > 1 - 1e-5
    at_end = np.flatnonzero(boot.delta.to_numpy() == delta_max(res))
    assert boot.n_failed == 0 and 5 <= len(at_end) == boot.n_boundary_residual < 30
    ys = simulate(res, nsim=30, seed=boot.seed)
    for i in list(at_end[:4]) + list(np.flatnonzero(boot.delta < delta_max(res))[:2]):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            ref = KinshipMixedLM(ys[i], X, kinship=K).fit()
        assert ref.converged and (ref.fit_info["boundary"] == "residual") == (i in at_end)
        assert_replicate_is_the_fit(boot, i, ref)
    ci = boot.conf_int_vcomp(alpha=0.2, method="percentile")
    assert 1.0 - 1e-6 <= ci.loc["h2", "upper"] <= 1.0 and (ci.to_numpy() >= 0).all()


@pytest.mark.parametrize("c", [30.0, 1e3])
def test_refits_invariant_to_constant_added_to_kinship(c):
    """REML with an intercept: the same responses refitted with K and with K + c 11' give
    the same variance components, variance ratio, fixed effects and restricted likelihood
    (the search range follows the model's, centred on the typical eigenvalue, not on the
    largest, which is about c n)."""
    y, X, K = study(s_k2=1.0, s_e2=1.0, seed=21)
    res = fit(y, X, K)
    res_c = fit(y, X, K + c)
    model, model_c = res.model, res_c.model
    mean_rot, sd_rot = _moments_rotated(res)
    noise = sd_rot * np.random.default_rng(3).standard_normal((40, len(y)))
    refit, refit_c = _batch_refit(model, True), _batch_refit(model_c, True)
    out = refit.fit(refit.prepare(mean_rot, noise))
    out_c = refit_c.fit(refit_c.prepare(mean_rot, noise, source=model))
    assert out["converged"].all() and out_c["converged"].all()
    assert_allclose(out_c["delta"], out["delta"], rtol=1e-6)
    assert_allclose(out_c["vcomp"], out["vcomp"], rtol=1e-6)
    assert_allclose(out_c["llf"], out["llf"], atol=1e-6)
    # coefficients to 1e-6 of their standard errors (the intercept's grows with c)
    assert (np.abs(out_c["params"] - out["params"]) <= 1e-6 * out["bse"]).all()


def test_centred_grm_at_h2_one_under_reml():
    """A centred GRM (more SNPs than people) has 1 as a null vector, in the span of X: the
    weights 1/lam do not exist at s_e^2 = 0, but the REML limit does (the residual spectrum
    is positive). Boundary replicates are valid estimates whose likelihood is at least that
    of the model's own fit, which stops at the upper end of its search; the fixed effects
    and s_k^2 agree with it."""
    rng = np.random.default_rng(6)
    G = rng.binomial(2, 0.3, size=(80, 400)).astype(float)
    G -= G.mean(axis=0)
    y, X, K = study(s_k2=1.0, s_e2=1e-8, seed=6, kinship=G @ G.T / 400)
    res = fit(y, X, K)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        boot = parametric_bootstrap(res, nsim=40, seed=2, progress=False)
    at_inf = np.flatnonzero(boot.delta.to_numpy() == delta_max(res))
    assert boot.n_failed == 0 and len(at_inf) == boot.n_boundary_residual >= 5
    ys = simulate(res, nsim=at_inf[2] + 1, seed=boot.seed)
    for i in at_inf[:3]:
        with warnings.catch_warnings():
            warnings.simplefilter("error", ConvergenceWarning)
            ref = KinshipMixedLM(ys[i], X, kinship=K).fit()
        assert ref.fit_info["boundary"] == "residual"
        assert_replicate_is_the_fit(boot, i, ref)
        assert_allclose(boot.bse.iloc[i], ref.bse, rtol=1e-6)
    ci = boot.conf_int_vcomp(method="percentile")
    assert ci.loc["residual", "lower"] <= 1e-6 * res.model._profile.delta_scale * boot.vcomp[
        "kinship"].max()
    assert 1.0 - 1e-6 <= ci.loc["h2", "upper"] <= 1.0
