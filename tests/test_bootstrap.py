"""Parametric bootstrap: every replicate is the fit KinshipMixedLM would make, intervals are
Davison & Hinkley's, and the run is reproducible.

Oracles: a new KinshipMixedLM built and fitted on each replicate's response (drawn again
with :func:`simulate` from the same seed), the sample covariance of simulated responses,
interval formulas written out here from the replicate matrix, and the Wald intervals on the
seed data (to which the bootstrap intervals must agree within Monte Carlo error).
"""
import pathlib
import re
import runpy
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import sparse, stats
from statsmodels.tools.sm_exceptions import CollinearityWarning, ConvergenceWarning

import statsmodels_kinship._spectral as _spectral
import statsmodels_kinship.bootstrap as bootstrap_module
from statsmodels_kinship import KinshipMixedLM
from statsmodels_kinship.bootstrap import (
    KinshipBootstrapResults,
    bootstrap_interval,
    parametric_bootstrap,
    simulate,
)

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"


def nuclear_family_kinship(n_families):
    block = np.full((4, 4), 0.25)
    block[0, 1] = block[1, 0] = 0.0
    np.fill_diagonal(block, 0.5)
    return np.kron(np.eye(n_families), block)


def simulate_data(s_k2=1.0, s_e2=1.0, n_families=50, seed=0, kinship=None):
    rng = np.random.default_rng(seed)
    K = nuclear_family_kinship(n_families) if kinship is None else kinship
    n = K.shape[0]
    X = np.column_stack([np.ones(n), rng.normal(size=n), rng.binomial(2, 0.3, size=n)])
    g = rng.multivariate_normal(np.zeros(n), s_k2 * K) if s_k2 > 0 else 0.0
    y = X @ [1.0, 0.5, -0.3] + g + rng.normal(scale=np.sqrt(s_e2), size=n)
    return y, X, K


def fit(y, X, K, reml=True, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CollinearityWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        return KinshipMixedLM(y, X, kinship=K).fit(reml=reml, **kwargs)


def boot(results, nsim, seed=1, **kwargs):
    kwargs.setdefault("progress", False)
    return parametric_bootstrap(results, nsim=nsim, seed=seed, **kwargs)


@pytest.fixture(scope="module")
def small():
    y, X, K = simulate_data()
    return y, X, K, fit(y, X, K)


@pytest.fixture(scope="module")
def small_boot(small):
    return boot(small[3], 999, seed=11)


def assert_replicates_are_fits(results, b, X, K, rows, reml=True, **fit_kwargs):
    """Each listed replicate equals a new KinshipMixedLM fitted to its response."""
    ys = simulate(results, nsim=max(rows) + 1, seed=b.seed)
    kept = ~np.asarray(results.model.aliased)
    for i in rows:
        ref = fit(ys[i], X, K, reml=reml, **fit_kwargs)
        assert bool(b.converged[i]) == ref.converged
        se = np.asarray(ref.bse)[kept]
        got = b.params.iloc[i].to_numpy()
        # coefficients near 0: compare on the scale of their standard errors
        assert_allclose(got[kept], np.asarray(ref.params)[kept], rtol=1e-8, atol=1e-8 * se.min())
        assert np.isnan(got[~kept]).all() and np.isnan(b.bse.iloc[i].to_numpy()[~kept]).all()
        assert_allclose(b.bse.iloc[i].to_numpy()[kept], se, rtol=1e-8)
        assert_allclose(b.vcomp.iloc[i], ref.vcomp, rtol=1e-8, atol=1e-10 * ref.scale)
        assert_allclose(b.llf[i], ref.llf, rtol=1e-10)
        assert_allclose(b.delta[i], ref.delta, rtol=1e-8, atol=1e-12)
        assert_allclose(b.h2[i], ref.h2, rtol=1e-8, atol=1e-12)
        assert_allclose(b.bse_vcomp.iloc[i], ref.bse_vcomp, rtol=1e-7)
        assert_allclose(b.bse_h2[i], ref.bse_h2, rtol=1e-7)


# -- every replicate is an exact fit ---------------------------------------------------------

class TestReplicatesAreFits:
    @pytest.mark.parametrize("reml", [True, False])
    def test_family_kinship(self, small, reml):
        y, X, K, _ = small
        res = fit(y, X, K, reml=reml)
        b = boot(res, 30, seed=3)
        assert b.method == ("REML" if reml else "ML")
        assert_replicates_are_fits(res, b, X, K, range(30), reml=reml)

    def test_many_replicates_at_the_boundary(self):
        # no kinship variance: a good share of the replicates have s_k^2 = 0
        y, X, K = simulate_data(s_k2=0.0, seed=4)
        res = fit(y, X, K)
        b = boot(res, 40, seed=5)
        assert 5 <= (b.delta == 0).sum() <= 35
        assert_replicates_are_fits(res, b, X, K, range(40))

    @pytest.mark.filterwarnings("ignore:.*bootstrap replicates did not converge")
    @pytest.mark.parametrize("reml", [True, False])
    def test_dense_kinship_all_eigenvalues_distinct(self, reml):
        # a genomic relationship matrix: no eigenvalue groups, the row-wise path
        rng = np.random.default_rng(6)
        G = rng.binomial(2, 0.3, size=(150, 400)).astype(float)
        G -= G.mean(axis=0)
        y, X, K = simulate_data(kinship=G @ G.T / 400, seed=6)
        res = fit(y, X, K, reml=reml)
        b = boot(res, 12, seed=7)
        assert_replicates_are_fits(res, b, X, K, range(12), reml=reml)

    def test_sparse_kinship_and_aliased_columns(self, small):
        y, X, K, _ = small
        Xa = np.column_stack([X[:, :2], 2 * X[:, 1], X[:, 2], X[:, 1] + X[:, 2]])
        Ks = sparse.csr_matrix(K)
        res = fit(y, Xa, Ks)
        assert res.model.aliased.tolist() == [False, False, True, False, True]
        b = boot(res, 10, seed=8)
        assert_replicates_are_fits(res, b, Xa, Ks, range(10))
        ci = b.conf_int(alpha=0.5, method="percentile")
        assert ci.index.tolist() == list(res.model.exog_names)
        assert ci.iloc[[2, 4]].isna().all().all() and ci.iloc[[0, 1, 3]].notna().all().all()

    def test_seed_data_blog_design(self, seed):
        X = pd.DataFrame(seed["blog"], columns=seed["names"])
        res = fit(pd.Series(seed["y"], name="trait"), X, seed["K"])
        b = boot(res, 6, seed=9)
        assert list(b.params.columns) == seed["names"]
        assert_replicates_are_fits(res, b, X, seed["K"], range(6))

    def test_seed_data_rank_deficient_design(self, seed):
        X = pd.DataFrame(seed["correct"], columns=seed["names"])
        res = fit(seed["y"], X, seed["K"], reml=False)
        b = boot(res, 4, seed=10)
        assert b.params.notna().sum(axis=1).eq(25).all()
        assert_replicates_are_fits(res, b, X, seed["K"], range(4), reml=False)

    def test_fallback_to_the_models_search(self, small, monkeypatch):
        """Replicates whose batched Newton iterations do not end go through the search's
        last resort (Brent's root finder on the score, one by one) and come out the same."""
        y, X, K, res = small

        def refuse(derivs, rows, x, g, h, lo, hi, max_iter, rtol, n_evals):
            return x, np.zeros(len(x), dtype=bool)

        monkeypatch.setattr(_spectral, "_newton", refuse)
        b = boot(res, 8, seed=12)
        assert_replicates_are_fits(res, b, X, K, range(8))

    def test_responses_rotated_by_another_model(self, small, monkeypatch):
        """Responses drawn in one model's rotated space and refitted by a model with its own
        decomposition go through the original space; nothing changes."""
        y, X, K, res = small
        direct = boot(res, 10, seed=16)
        monkeypatch.setattr(bootstrap_module, "_same_rotation", lambda a, b: False)
        moved = boot(res, 10, seed=16)
        assert_allclose(moved.params, direct.params, rtol=1e-10)
        assert_allclose(moved.llf, direct.llf, rtol=1e-12)

    def test_fixed_ratio_fit_is_refitted_at_its_ratio(self, small):
        y, X, K, _ = small
        res = fit(y, X, K, kinship_ratio=0.7)
        b = boot(res, 10, seed=13)
        assert (b.delta == 0.7).all()
        assert_replicates_are_fits(res, b, X, K, range(10), kinship_ratio=0.7)


def test_failed_replicates_are_counted_and_kept(small):
    # residual variance near zero with a singular K whose null space is not in the span of X
    # (a centred GRM from fewer SNPs than people): some replicates' likelihood keeps rising
    # towards s_e^2 = 0, where it cannot be evaluated; model.fit reports them as not
    # converged (ConvergenceWarning), and so does the bootstrap. (With a positive definite K,
    # s_e^2 = 0 is a valid boundary estimate, h2 = 1: test_bootstrap_boundary.py.)
    G = np.random.default_rng(14).binomial(2, 0.3, size=(80, 30)).astype(float)
    G -= G.mean(axis=0)
    y, X, K = simulate_data(s_k2=5.0, s_e2=1e-8, seed=14, kinship=G @ G.T / 30)
    res = fit(y, X, K)
    with pytest.warns(ConvergenceWarning, match=r"of 80 bootstrap replicates did not converge"):
        b = boot(res, 80, seed=15)
    assert 0 < b.n_failed < 80  # some replicates fail, not all
    assert b.n_failed == (~b.converged).sum()
    assert b.params[~b.converged].notna().all().all()  # kept, not dropped
    assert_replicates_are_fits(res, b, X, K, range(20))
    text = str(b.summary())
    assert re.search(rf"Failed \(not converged\):\s+{b.n_failed}\b", text)
    # the intervals use the converged replicates only
    ok = b.converged.to_numpy()
    est, reps = np.asarray(res.params)[1], b.params.iloc[:, 1].to_numpy()
    assert_allclose(b.conf_int(method="percentile").iloc[1],
                    bootstrap_interval(est, reps[ok], method="percentile"))
    assert_allclose(b.conf_int(method="normal").iloc[1],
                    bootstrap_interval(est, reps[ok], method="normal"))
    assert not np.allclose(b.conf_int(method="normal").iloc[1],
                           bootstrap_interval(est, reps, method="normal"))


# -- reproducibility and simulation -----------------------------------------------------------

def test_same_seed_same_numbers(small):
    res = small[3]
    a, b = boot(res, 50, seed=21), boot(res, 50, seed=21)
    for name in ["params", "bse", "vcomp", "bse_vcomp", "h2", "llf", "delta"]:
        assert_array_equal(getattr(a, name), getattr(b, name))
    other = boot(res, 50, seed=22)
    assert not np.allclose(a.params, other.params)
    # the batch size does not change the draws
    c = boot(res, 50, seed=21, batch_size=7)
    assert c.batch_size == 7
    assert_allclose(c.params, a.params, rtol=1e-12)
    assert_allclose(c.llf, a.llf, rtol=1e-13)
    # a Generator is used as given
    rng = np.random.default_rng(21)
    assert_allclose(boot(res, 50, seed=rng).params, a.params, rtol=1e-12)


def test_simulated_responses_have_the_model_covariance():
    K = nuclear_family_kinship(2)
    y, X, _ = simulate_data(n_families=2, seed=30)
    res = fit(y, X, K, kinship_ratio=1.5)
    draws = simulate(res, nsim=40000, seed=31)
    s_k2, s_e2 = res.vcomp
    cov = s_k2 * K + s_e2 * np.eye(8)
    assert_allclose(draws.mean(axis=0), res.model.predict(res.params),
                    atol=4 * np.sqrt(cov.diagonal().max() / 40000))
    assert_allclose(np.cov(draws.T), cov, atol=0.03 * cov.max())


def test_batch_size_from_memory(seed):
    X = pd.DataFrame(seed["blog"], columns=seed["names"])
    res = fit(seed["y"], X, seed["K"])
    refit = bootstrap_module._BatchRefit(res.model, True)
    # seed data: 8 eigenvalue groups of 100 rows and one of 400 reduce 1200 rows to 931
    assert refit.n_red == 8 * 100 + 131
    size = bootstrap_module._batch_size(None, 10_000, [refit])
    assert 1 <= size < 10_000
    assert size * refit.doubles_per_replicate() <= bootstrap_module._BATCH_DOUBLES
    assert bootstrap_module._batch_size(None, 5, [refit]) == 5


# -- intervals ----------------------------------------------------------------------------------

def dh_order_statistic(sorted_values, a):
    """t*_((R+1)a), Davison & Hinkley (1997) eq. 5.8, written out."""
    r = len(sorted_values)
    k = int(np.floor((r + 1) * a + 1e-9))
    if abs((r + 1) * a - k) < 1e-9:
        return sorted_values[k - 1]
    z, zk, zk1 = stats.norm.ppf(a), stats.norm.ppf(k / (r + 1)), stats.norm.ppf((k + 1) / (r + 1))
    return sorted_values[k - 1] + (z - zk) / (zk1 - zk) * (sorted_values[k] - sorted_values[k - 1])


@pytest.mark.parametrize("nsim", [999, 1000])
def test_intervals_by_hand(small, small_boot, nsim):
    res = small[3]
    b = small_boot if nsim == 999 else boot(res, 1000, seed=11)
    assert b.nsim == nsim and b.n_failed == 0
    alpha = 0.1
    est, se = np.asarray(res.params), np.asarray(res.bse)
    reps, reps_se = b.params.to_numpy(), b.bse.to_numpy()
    for j in range(3):
        t = np.sort(reps[:, j])
        if nsim == 999:  # (R+1) alpha/2 = 50: plain order statistics
            lo_q, hi_q = t[49], t[949]
        else:
            lo_q, hi_q = dh_order_statistic(t, 0.05), dh_order_statistic(t, 0.95)
            assert t[49] < lo_q < t[50] and t[949] < hi_q < t[950]
        assert_allclose(b.conf_int(alpha, "percentile").iloc[j], [lo_q, hi_q], rtol=1e-14)
        assert_allclose(b.conf_int(alpha, "basic").iloc[j], [2 * est[j] - hi_q, 2 * est[j] - lo_q],
                        rtol=1e-14)
        bias = reps[:, j].mean() - est[j]
        half = stats.norm.ppf(0.95) * reps[:, j].std(ddof=1)
        assert_allclose(b.conf_int(alpha, "normal").iloc[j],
                        [est[j] - bias - half, est[j] - bias + half], rtol=1e-13)
        z = np.sort((reps[:, j] - est[j]) / reps_se[:, j])
        zq = (z[49], z[949]) if nsim == 999 else (dh_order_statistic(z, 0.05),
                                                   dh_order_statistic(z, 0.95))
        assert_allclose(b.conf_int(alpha, "studentized").iloc[j],
                        [est[j] - se[j] * zq[1], est[j] - se[j] * zq[0]], rtol=1e-13)
    # default: 95% studentized, labelled like results.conf_int()
    ci = b.conf_int()
    assert ci.columns.tolist() == [0, 1] and ci.index.tolist() == list(res.model.exog_names)
    assert_allclose(ci, b.conf_int(0.05, "studentized"))


def test_vcomp_intervals_by_hand(small, small_boot):
    res, b = small[3], small_boot
    ci = b.conf_int_vcomp()
    assert ci.index.tolist() == ["kinship", "residual", "h2"]
    reps = np.column_stack([b.vcomp, b.h2])
    est = np.r_[res.vcomp, res.h2]
    se = np.r_[res.bse_vcomp, res.bse_h2]
    reps_se = np.column_stack([b.bse_vcomp, b.bse_h2])
    for j in range(3):
        t = np.sort(reps[:, j])
        assert_allclose(ci.iloc[j], [t[24], t[974]], rtol=1e-14)  # (999 + 1) 0.025 = 25
        z = np.sort((reps[:, j] - est[j]) / reps_se[:, j])
        assert_allclose(b.conf_int_vcomp(method="studentized").iloc[j],
                        [est[j] - se[j] * z[974], est[j] - se[j] * z[24]], rtol=1e-13)
    # the spread of the replicates matches the observed-information standard errors
    assert_allclose(b.vcomp.std(), res.bse_vcomp, rtol=0.15)
    assert_allclose(b.h2.std(), res.bse_h2, rtol=0.15)


def test_interval_arguments_checked(small_boot):
    with pytest.raises(ValueError, match="method must be one of"):
        small_boot.conf_int(method="bca")
    with pytest.raises(ValueError, match="alpha must be in"):
        small_boot.conf_int(alpha=1.5)
    with pytest.raises(ValueError, match="needs bse and bse_replicates"):
        bootstrap_interval(0.0, np.arange(10.0), method="studentized")
    with pytest.warns(Warning, match="extreme order statistics"):
        small_boot.conf_int(alpha=0.001)
    with pytest.raises(ValueError, match="nsim must be an integer"):
        parametric_bootstrap(small_boot.results, nsim=0)


def test_seed_intervals_agree_with_wald(seed):
    """The blog design's estimates are close to normal: percentile, basic, normal and
    studentized intervals lie within Monte Carlo error of the Wald intervals."""
    X = pd.DataFrame(seed["blog"], columns=seed["names"])
    res = fit(seed["y"], X, seed["K"])
    nsim = 1000
    b = boot(res, nsim, seed=2016)
    assert b.n_failed == 0
    wald = res.conf_int()
    se = res.bse.to_numpy()[:, None]
    # Monte Carlo SD of a 2.5% order statistic (in SEs): sqrt(p(1-p)/R) / phi(z_p)
    sd_quantile = np.sqrt(0.025 * 0.975 / nsim) / stats.norm.pdf(stats.norm.ppf(0.025))
    for method, mc_sd in [("percentile", sd_quantile), ("basic", sd_quantile),
                          ("studentized", sd_quantile),
                          ("normal", np.sqrt(1 / nsim + 1.96 ** 2 / (2 * nsim)))]:
        dev = (b.conf_int(method=method).to_numpy() - wald.to_numpy()) / se / mc_sd
        assert np.abs(dev).max() < 4.5, (method, np.abs(dev).max())
        assert abs(dev.mean()) < 0.5, (method, dev.mean())  # no systematic shift
    # and the bootstrap SEs match the Wald SEs
    assert_allclose(b.params.std(), res.bse, rtol=5 / np.sqrt(2 * nsim))


# -- output -----------------------------------------------------------------------------------

def test_summary_and_tables(small, small_boot):
    res, b = small[3], small_boot
    assert isinstance(b, KinshipBootstrapResults)
    assert b.params.shape == (999, 3) and b.bse.shape == (999, 3)
    assert b.vcomp.columns.tolist() == ["kinship", "residual"]
    assert b.params.index.name == "replicate"
    text = str(b.summary())
    ci = b.conf_int()
    for part in ["Parametric bootstrap", "Replicates:", "999", "studentized intervals",
                 "Heritability (h2)", "Boot.SE", "Davison & Hinkley", f"{res.params[1]:.4f}",
                 f"{b.params.iloc[:, 1].std():.4f}", f"{ci.iloc[1, 0]:.4f}",
                 f"{b.conf_int_vcomp().loc['h2', 'upper']:.4f}"]:
        assert part in text
    assert "999 replicates (REML), 0 failed" in repr(b)


def test_progress_bar(small, capsys):
    pytest.importorskip("tqdm")
    res = small[3]
    boot(res, 20, progress=True, batch_size=5)
    assert "bootstrap:" in capsys.readouterr().err
    boot(res, 20, progress=False)
    boot(res, 20, progress=None)  # a fast run shows no bar
    assert capsys.readouterr().err == ""


def test_example_runs(tmp_path, monkeypatch, capsys):
    pytest.importorskip("matplotlib")
    monkeypatch.setattr(sys, "argv", ["bootstrap_intervals.py", "--nsim", "199",
                                      "--out", str(tmp_path)])
    runpy.run_path(str(EXAMPLES / "bootstrap_intervals.py"), run_name="__main__")
    out = capsys.readouterr().out
    for method in ["Wald", "studentized", "percentile", "basic", "normal"]:
        assert method in out
    assert (tmp_path / "bootstrap_intervals.png").stat().st_size > 0
