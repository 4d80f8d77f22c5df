r"""Inference beyond Wald for KinshipMixedLM fits.

* :func:`compare_lr_test` -- likelihood-ratio test of nested models (fixed effects and/or
  variance components), asymptotic chi-square, chi-bar-square mixture or parametric
  bootstrap;
* :func:`kinship_variance_test`, :func:`variance_component_test` -- likelihood-ratio test of
  ``s_k^2 = 0`` (of one component, the others estimated), with the 50:50 mixture of
  chi-square(0) and chi-square(1) (Self & Liang 1987) or a parametric bootstrap;
* :func:`profile_conf_int` -- profile-likelihood intervals for h2 and the variance
  components;
* :func:`satterthwaite_df`, :func:`t_test_satterthwaite` -- Satterthwaite degrees of freedom
  for t tests of the fixed effects (as R's lmerTest).

Every function takes a fitted :class:`~statsmodels_kinship.KinshipMixedLMResults` first.
"""

import numpy as np
import pandas as pd
from scipy import optimize, sparse, stats
from statsmodels.stats.contrast import ContrastResults
from statsmodels.tools.sm_exceptions import ConvergenceWarning, ModelWarning

from ._spectral import profiled_loglike, serial_blas
from ._validation import check_alpha, check_count
from .bootstrap import (
    _batch_refit,
    _check_results,
    _components_of,
    _EngineRefit,
    _run,
    _run_engine,
    _sampler,
    _unidentified,
)
from .exceptions import warn_at_user

__all__ = ["compare_lr_test", "kinship_variance_test", "profile_conf_int", "satterthwaite_df",
           "t_test_satterthwaite", "f_test_satterthwaite", "LikelihoodRatioTestResults",
           "variance_component_test"]


class LikelihoodRatioTestResults:
    """
    Result of a likelihood-ratio test.

    Unpacks and indexes like the tuple of statsmodels' ``compare_lr_test``:
    ``lr_stat, p_value, df_diff = test``, ``test[0]``.

    Attributes
    ----------
    statistic : float
        ``2 (llf_full - llf_restricted)`` (never below 0).
    pvalue : float
    df_diff : int
        Number of parameters tested.
    method : str
        ``'chi2'``, ``'mixture'`` or ``'bootstrap'``.
    null_distribution : str
        In words.
    llf : tuple of float
        Log-likelihoods of the full and the restricted model (restricted log-likelihoods
        when the test compares REML fits).
    boot_statistics : ndarray or None
        The bootstrap replicates of the statistic (``method='bootstrap'``), those of failed
        replicates NaN.
    nsim, n_failed : int
        Bootstrap replicates drawn and those left out because a refit did not converge.
    """

    def __init__(self, statistic, pvalue, df_diff, method, null_distribution, llf,
                 boot_statistics=None):
        self.statistic = float(statistic)
        self.pvalue = float(pvalue)
        self.df_diff = int(df_diff)
        self.method = method
        self.null_distribution = null_distribution
        self.llf = tuple(float(v) for v in llf)
        self.boot_statistics = boot_statistics
        if boot_statistics is None:
            self.nsim = self.n_failed = 0
        else:
            self.nsim = len(boot_statistics)
            self.n_failed = int(np.isnan(boot_statistics).sum())

    def __iter__(self):
        return iter((self.statistic, self.pvalue, self.df_diff))

    def __len__(self):
        return 3

    def __getitem__(self, index):
        """``test[0]``, ``test[1]``, ``test[2]``: statistic, p-value, df (a tuple's
        indexing and slicing, as statsmodels' ``compare_lr_test`` returns a tuple)."""
        return (self.statistic, self.pvalue, self.df_diff)[index]

    def __repr__(self):
        extra = (f", {self.nsim} replicates, {self.n_failed} failed"
                 if self.boot_statistics is not None else "")
        return (f"<Likelihood ratio test: statistic = {self.statistic:.6g}, "
                f"p-value = {self.pvalue:.4g}, df = {self.df_diff}; null distribution "
                f"{self.null_distribution}{extra}>")

    __str__ = __repr__


def _bootstrap_pvalue(observed, replicates):
    """``(1 + #{T* >= T}) / (R + 1)`` over the usable replicates (Davison & Hinkley 1997,
    eq. 4.11)."""
    ok = replicates[np.isfinite(replicates)]
    return (1.0 + np.sum(ok >= observed)) / (len(ok) + 1.0)


def _lr_statistic(llf_full, llf_restricted, what):
    lr = 2.0 * (llf_full - llf_restricted)
    if lr < -1e-6 * max(1.0, abs(llf_full)):
        warn_at_user(f"the {what} has a lower maximum log-likelihood than the model nested "
                      f"in it (2 * difference = {lr:.4g}); the statistic is set to 0",
                      ConvergenceWarning)
    return max(lr, 0.0)


def _same_kinship(a, b):
    if a is b:
        return True
    if a.shape != b.shape:
        return False
    if sparse.issparse(a) or sparse.issparse(b):
        diff = sparse.csr_matrix(a) - sparse.csr_matrix(b)
        return diff.count_nonzero() == 0
    return np.array_equal(np.asarray(a), np.asarray(b))


def _covariance_products(model, probes):
    """``W_j v`` of each variance component of ``model`` (``W_j = Z_j K_j Z_j'``, per record)
    for the columns ``v`` of ``probes``: one (n, k) array per component."""
    out = []
    for comp in _components_of(model):
        cols = []
        for v in probes.T:
            effects = comp.project(v)
            if comp.kind == "relationship":
                effects = np.asarray(comp.matrix @ effects).ravel()
            cols.append(np.asarray(comp.expand(effects), dtype=float).ravel())
        out.append(np.column_stack(cols))
    return out


def _match_components(mf, mr):
    """The index in ``mf`` of each variance component of ``mr``, matched by their covariance
    over the records (``W_j``, whatever their names), or an error naming the component of
    ``mr`` that ``mf`` lacks.

    Two components are taken as equal when ``W v`` agrees to 1e-10 (relative) for two
    random vectors ``v``: matrices that differ give products that differ except on a set of
    probability zero."""
    probes = np.random.default_rng(0).standard_normal((int(mf.nobs), 2))
    wf, wr = _covariance_products(mf, probes), _covariance_products(mr, probes)
    names_f, names_r = list(mf.component_names), list(mr.component_names)

    def same(a, b):
        return np.linalg.norm(a - b) <= 1e-10 * max(np.linalg.norm(a), np.linalg.norm(b))

    mapping = []
    for i, w in enumerate(wr):
        found = [j for j, v in enumerate(wf) if j not in mapping and same(w, v)]
        if not found:
            larger = all(any(same(v, w2) for w2 in wr) for v in wf) and len(wr) > len(wf)
            raise ValueError(
                f"the models are not nested: the restricted model's variance component "
                f"{names_r[i]!r} is not one of the full model's ({', '.join(names_f)}): none "
                "has the same covariance over the records"
                + ("; pass the larger model first" if larger else ""))
        mapping.append(found[0])
    return mapping


def _check_nested(full, restricted):
    """Errors naming what is not nested: data, kinship or variance components, designs.
    Returns the index in the full model of each variance component of the restricted one
    and the number of fixed effects tested, ``rank(full) - rank(restricted)``."""
    mf, mr = full.model, restricted.model
    if mf.nobs != mr.nobs:
        raise ValueError(f"the models are not nested: {int(mf.nobs)} and {int(mr.nobs)} "
                         "observations")
    if not np.array_equal(mf.endog, mr.endog):
        raise ValueError("the models are not nested: their responses differ")
    if full.delta is not None and restricted.delta is not None:  # one kinship each
        if not _same_kinship(mf.kinship, mr.kinship):
            raise ValueError("the models are not nested: their kinship matrices differ")
        mapping = [0]
    else:
        mapping = _match_components(mf, mr)
    n_extra = len(mf.component_names) - len(mapping)
    if mr.rank > mf.rank or (mr.rank == mf.rank and not n_extra):
        what = "fewer fixed effects" if not n_extra else "at most as many fixed effects"
        raise ValueError(f"the restricted model must have {what} than the full "
                         f"one: rank {mr.rank} (restricted) against {mf.rank} (full); pass "
                         "the larger model first")
    xf = mf.exog[:, ~np.asarray(mf.aliased)]
    xr = mr.exog[:, ~np.asarray(mr.aliased)]
    q = np.linalg.qr(xf)[0]
    resid = xr - q @ (q.T @ xr)
    rel = np.linalg.norm(resid, axis=0) / np.maximum(np.linalg.norm(xr, axis=0), 1e-300)
    outside = rel > 1e-8
    if outside.any():
        names = np.asarray(mr.exog_names)[~np.asarray(mr.aliased)][outside]
        resid = ", ".join(f"{v:.2g}" for v in rel[outside][:10])
        raise ValueError("the models are not nested: columns of the restricted design are "
                         "not in the column space of the full design: "
                         f"{', '.join(names[:10])} (relative residuals {resid})")
    return mapping, mf.rank - mr.rank


def _mixture(lr, df_fixed, n_components):
    """p-value of ``lr`` under the chi-bar-square mixture ``sum_k C(q, k) 2^-q chi2(r + k)``
    (``r = df_fixed`` fixed effects and ``q = n_components`` variance components tested;
    chi2(0) the point mass at 0) and the mixture in words."""
    r, q = int(df_fixed), int(n_components)
    weights = [stats.binom.pmf(k, q, 0.5) for k in range(q + 1)]
    tail = [(1.0 if lr <= 0 else 0.0) if r + k == 0 else stats.chi2.sf(lr, r + k)
            for k in range(q + 1)]
    text = " + ".join(f"{w:g} chi2({r + k})" for k, w in enumerate(weights))
    return float(np.dot(weights, tail)), text


def _free_fit(results, what):
    if results.fit_info.get("fixed_ratio"):
        raise ValueError(f"the {what} fit holds the variance ratio fixed (kinship_ratio); "
                         "likelihood-ratio tests need fits with the ratio estimated")


def compare_lr_test(results, restricted, method="chi2", nsim=1000, seed=None,
                    batch_size=None, progress=None):
    r"""
    Likelihood-ratio test of nested models: fixed effects, variance components or both.

    Parameters
    ----------
    results : KinshipMixedLMResults
        Fit of the full model.
    restricted : KinshipMixedLMResults
        Fit of the restricted model: same response; its variance components among the full
        model's (the same kinship for two single-kinship models); a design whose column
        space lies in that of the full model's design, of lower rank, or the same design
        when the full model has more variance components.
    method : {'chi2', 'mixture', 'bootstrap'}
        ``'chi2'``: asymptotic chi-square with ``df_diff`` degrees of freedom, the number of
        fixed effects ``r = rank(full) - rank(restricted)`` plus the number ``q`` of variance
        components tested. ``'mixture'``: the chi-bar-square mixture
        ``sum_k C(q, k) 2^-q chi2(r + k)`` (Self & Liang 1987; for one component the 50:50
        mixture of chi2(r) and chi2(r + 1); chi2(r) when no component is tested).
        ``'bootstrap'``: ``nsim`` responses drawn from the restricted fit, both models
        refitted to each (the restricted one from its fit's variance ratios, the full one from
        the restricted replicate's, the added components at 0), p-value
        ``(1 + #{LR* >= LR}) / (R + 1)`` over the ``R`` replicates whose refits converged.
    nsim, seed, batch_size, progress
        For ``method='bootstrap'``; see
        :func:`~statsmodels_kinship.bootstrap.parametric_bootstrap`.

    Returns
    -------
    LikelihoodRatioTestResults
        Unpacks as ``(lr_stat, p_value, df_diff)``, as statsmodels' ``compare_lr_test``.

    Notes
    -----
    The statistic is ``2 (llf_full - llf_restricted)`` of maximum-likelihood fits: REML
    likelihoods of models with different fixed effects are not comparable (they are
    likelihoods of different error contrasts), so REML fits are refitted by ML, with a
    warning, as R's ``anova`` does for lme4 fits. Models with the same fixed effects that
    differ in their variance components are compared by REML when both were fitted by REML
    (Morrell 1998), else by ML. Nesting is checked as far as is practical: same number of
    observations and response, the same kinship or each variance component of the restricted
    model one of the full model's (the same covariance over the records, whatever its name),
    lower rank or the same design, and the restricted design in the column space of the full
    one.

    A variance component tested lies on the boundary of its parameter space under the null
    hypothesis, so the chi-square reference is conservative: prefer ``'mixture'`` or
    ``'bootstrap'``. The binomial weights of the mixture are exact for one component and
    for several whose estimates are asymptotically independent; otherwise the mixture is an
    approximation, which the bootstrap avoids. With variance components the bootstrap
    replicates are drawn and refitted on the model's likelihood engine (see
    :func:`~statsmodels_kinship.bootstrap.parametric_bootstrap`).

    References
    ----------
    Self, S. G. and Liang, K.-Y. (1987). Asymptotic properties of maximum likelihood estimators
    and likelihood ratio tests under nonstandard conditions. JASA 82, 605-610.

    Morrell, C. H. (1998). Likelihood ratio testing of variance components in the linear
    mixed-effects model using restricted maximum likelihood. Biometrics 54, 1560-1568.

    Examples
    --------
    >>> import numpy as np
    >>> import statsmodels_kinship as smk
    >>> from statsmodels_kinship.inference import compare_lr_test
    >>> rng = np.random.default_rng(0)
    >>> block = np.array([[2, 0, 1, 1], [0, 2, 1, 1], [1, 1, 2, 1], [1, 1, 1, 2]]) / 4
    >>> K = np.kron(np.eye(50), block)  # 50 families: two parents, two children
    >>> X = np.column_stack([np.ones(200), rng.normal(size=(200, 2))])
    >>> y = X @ [1.0, 0.5, 0.0] + rng.multivariate_normal(np.zeros(200), K) + rng.normal(size=200)
    >>> full = smk.KinshipMixedLM(y, X, kinship=K).fit(reml=False)
    >>> small = smk.KinshipMixedLM(y, X[:, :2], kinship=K).fit(reml=False)
    >>> lr, p, df = compare_lr_test(full, small)
    >>> df
    1
    """
    _check_results(results, "results")
    _check_results(restricted, "restricted")
    if method not in ("chi2", "mixture", "bootstrap"):
        raise ValueError(f"method must be 'chi2', 'mixture' or 'bootstrap', got {method!r}")
    if method == "bootstrap":
        check_count(nsim, "nsim")
    _free_fit(results, "full")
    _free_fit(restricted, "restricted")
    mapping, df_fixed = _check_nested(results, restricted)
    n_tested = len(results.model.component_names) - len(mapping)
    reml = results.reml and restricted.reml and df_fixed == 0
    if not reml and (results.reml or restricted.reml):
        if df_fixed:
            warn_at_user("compare_lr_test compares maximum-likelihood fits: the models were "
                          "fitted by REML, whose likelihoods are not comparable between models "
                          "with different fixed effects, and are refitted by ML", ModelWarning)
        else:
            warn_at_user("compare_lr_test compares fits made by one method: one model was "
                          "fitted by REML and the other by ML; the REML fit is refitted by ML",
                          ModelWarning)
        results = results.model.fit(reml=False) if results.reml else results
        restricted = restricted.model.fit(reml=False) if restricted.reml else restricted
    lr = _lr_statistic(results.llf, restricted.llf, "full model")
    df = df_fixed + n_tested
    llf = (results.llf, restricted.llf)
    if method == "chi2":
        return LikelihoodRatioTestResults(lr, stats.chi2.sf(lr, df), df, "chi2",
                                          f"chi2({df})", llf)
    if method == "mixture":
        p, text = _mixture(lr, df_fixed, n_tested)
        return LikelihoodRatioTestResults(lr, p, df, "mixture", text, llf)
    if results.delta is None or restricted.delta is None:  # variance components: the engine
        boot = _lr_bootstrap_components(results, restricted, mapping, nsim, seed, batch_size,
                                        progress)
        out = LikelihoodRatioTestResults(lr, _bootstrap_pvalue(lr, boot), df, "bootstrap",
                                         "parametric bootstrap under the restricted fit", llf,
                                         boot_statistics=boot)
        _warn_failed(out)
        return out
    refits = [(_batch_refit(results.model, reml=False), None),
              (_batch_refit(restricted.model, reml=False), None)]
    (full, null), _ = _run(restricted, refits, nsim, seed, batch_size, progress,
                           "bootstrap LR test")
    boot = np.maximum(2.0 * (full["llf"] - null["llf"]), 0.0)
    boot[~(full["converged"] & null["converged"])] = np.nan
    out = LikelihoodRatioTestResults(lr, _bootstrap_pvalue(lr, boot), df, "bootstrap",
                                     "parametric bootstrap under the restricted fit", llf,
                                     boot_statistics=boot)
    _warn_failed(out)
    return out


def _lr_bootstrap_components(results, restricted, mapping, nsim, seed, batch_size, progress):
    """Bootstrap replicates of the LR statistic of :func:`compare_lr_test` on the likelihood
    engine: drawn from the restricted fit, each refitted by the restricted model from its
    fit's ratios and by the full model from the restricted replicate's ratios (mapped to its
    components by ``mapping``, the others at 0), so that the full refit starts where the
    restricted one ended; NaN where a refit did not converge."""
    null = _EngineRefit(restricted.model, restricted.reml)
    full = _EngineRefit(results.model, results.reml)
    start_null = np.asarray(restricted.gamma, dtype=float)

    def replicate(noise):
        _, gamma, llf_null, ok_null = null.refit(noise, start_null)
        start = np.zeros(full.m)
        start[mapping] = gamma if np.all(np.isfinite(gamma)) else start_null
        _, _, llf_full, ok_full = full.refit(noise, start)
        stat = max(2.0 * (llf_full - llf_null), 0.0) if ok_null and ok_full else np.nan
        return {"lr": stat}

    out, _ = _run_engine(_sampler(restricted), replicate, nsim, seed, batch_size, progress,
                         "bootstrap LR test")
    return out["lr"]


def _warn_failed(out):
    if out.n_failed:
        warn_at_user(f"{out.n_failed} of {out.nsim} bootstrap replicates did not converge "
                      "and are left out of the p-value", ConvergenceWarning)


def kinship_variance_test(results, method="mixture", nsim=1000, seed=None, batch_size=None,
                          progress=None):
    r"""
    Likelihood-ratio test that the kinship variance is zero.

    Parameters
    ----------
    results : KinshipMixedLMResults
        The fit (REML or ML; the test uses the same method).
    method : {'mixture', 'bootstrap'}
        ``'mixture'``: the statistic is referred to the 50:50 mixture of chi-square(0) (a point
        mass at 0) and chi-square(1), ``p = chi2(1).sf(LR) / 2`` for ``LR > 0`` and 1 for
        ``LR = 0`` (Self & Liang 1987; Stram & Lee 1994). ``'bootstrap'``: ``nsim`` responses
        are drawn from the fit under the null (``s_k^2 = 0``: ordinary least squares), each is
        refitted with and without the kinship term, and ``p = (1 + #{LR* >= LR}) / (R + 1)``.
    nsim, seed, batch_size, progress
        For ``method='bootstrap'``; see
        :func:`~statsmodels_kinship.bootstrap.parametric_bootstrap`.

    Returns
    -------
    LikelihoodRatioTestResults
        ``df_diff`` is 1.

    Notes
    -----
    With several variance components (``results.delta is None``) this is
    :func:`variance_component_test` of the first relationship component.

    ``LR = 2 (llf - llf_0)`` where ``llf_0`` is the fit at ``s_k^2 = 0``. The fixed effects are
    the same under both hypotheses, so REML likelihoods may be compared (Morrell 1998). The
    null value lies on the boundary of the parameter space, hence the mixture. For
    correlated data the mixture is only asymptotic; the exact null distribution puts more
    than half its mass at 0 (Crainiceanu & Ruppert 2004), which makes the mixture test
    conservative; the bootstrap version has the nominal size.

    References
    ----------
    Self, S. G. and Liang, K.-Y. (1987). Asymptotic properties of maximum likelihood estimators
    and likelihood ratio tests under nonstandard conditions. JASA 82, 605-610.

    Stram, D. O. and Lee, J. W. (1994). Variance components testing in the longitudinal
    mixed effects model. Biometrics 50, 1171-1177.

    Crainiceanu, C. M. and Ruppert, D. (2004). Likelihood ratio tests in linear mixed models
    with one variance component. JRSS B 66, 165-185.
    """
    _check_results(results)
    if method not in ("mixture", "bootstrap"):
        raise ValueError(f"method must be 'mixture' or 'bootstrap', got {method!r}")
    if method == "bootstrap":
        check_count(nsim, "nsim")
    model = results.model
    if results.delta is None:  # several components: the first relationship component
        first = model._first_relationship
        if first is None:
            raise ValueError("kinship_variance_test: the model has no relationship component "
                             f"(components: {', '.join(model.component_names)}); use "
                             "variance_component_test(results, component)")
        return variance_component_test(results, model.component_names[first], method=method,
                                       nsim=nsim, seed=seed, batch_size=batch_size,
                                       progress=progress)
    _unidentified(results, "kinship_variance_test")
    _free_fit(results, "given")
    with serial_blas():  # as model.fit(kinship_ratio=0.0) computes its llf
        llf_0 = model.loglike_profile(0.0, results.reml)
    lr = 0.0 if results.delta == 0 else _lr_statistic(results.llf, llf_0, "fit")
    llf = (results.llf, llf_0)
    if method == "mixture":
        p = 0.5 * stats.chi2.sf(lr, 1) if lr > 0 else 1.0
        return LikelihoodRatioTestResults(lr, p, 1, "mixture",
                                          "0.5 chi2(0) + 0.5 chi2(1)", llf)
    null = model.fit(reml=results.reml, kinship_ratio=0.0)  # the fit replicates are drawn from
    refit = _batch_refit(model, results.reml)  # one set-up and one reduction for both refits
    (alt, zero), _ = _run(null, [(refit, None), (refit, 0.0)], nsim, seed, batch_size,
                          progress, "bootstrap LR test")
    boot = np.maximum(2.0 * (alt["llf"] - zero["llf"]), 0.0)
    boot[~alt["converged"]] = np.nan
    out = LikelihoodRatioTestResults(lr, _bootstrap_pvalue(lr, boot), 1, "bootstrap",
                                     "parametric bootstrap under s_k^2 = 0", llf,
                                     boot_statistics=boot)
    _warn_failed(out)
    return out


def variance_component_test(results, component, method="mixture", nsim=1000, seed=None,
                            batch_size=None, progress=None):
    r"""
    Likelihood-ratio test that one variance component is zero, the others estimated.

    Parameters
    ----------
    results : KinshipMixedLMResults
        A fit with several variance components (or repeated records), REML or ML (the test
        uses the same method). For a single-kinship fit this is
        :func:`kinship_variance_test`.
    component : str
        The component's name (``results.vcomp.index``, not ``"residual"``).
    method : {'mixture', 'bootstrap'}
        ``'mixture'``: the statistic is referred to the 50:50 mixture of chi-square(0) and
        chi-square(1), as in :func:`kinship_variance_test` (Self & Liang 1987; exact
        asymptotically when the other components are inside the parameter space).
        ``'bootstrap'``: ``nsim`` responses are drawn from the fit under the null (the
        component at 0, the others at their estimates without it), each is refitted without
        the component (from the null fit's ratios) and with it (from the replicate's null
        estimate), and ``p = (1 + #{LR* >= LR}) / (R + 1)`` over the replicates whose refits
        converged.
    nsim, seed, batch_size, progress
        For ``method='bootstrap'``; see
        :func:`~statsmodels_kinship.bootstrap.parametric_bootstrap`.

    Returns
    -------
    LikelihoodRatioTestResults
        ``df_diff`` is 1.

    Notes
    -----
    The restricted fit is the engine's maximisation with the component held at 0 (the
    model without it), so the statistic is ``2 (llf - llf_0)`` for two fits on one
    likelihood. The bootstrap draws its replicates as
    :func:`~statsmodels_kinship.bootstrap.simulate` does, from the null fit
    (``model.fit(kinship_ratio=gamma_0)``), and refits them with
    :meth:`~statsmodels_kinship._engine.BlockLikelihood.maximize`.
    """
    _check_results(results)
    if method not in ("mixture", "bootstrap"):
        raise ValueError(f"method must be 'mixture' or 'bootstrap', got {method!r}")
    if method == "bootstrap":
        check_count(nsim, "nsim")
    names = list(results.vcomp.index[:-1])
    if component not in names:
        raise ValueError(f"component must be one of {names}, got {component!r}")
    if results.delta is not None:  # one kinship matrix
        return kinship_variance_test(results, method=method, nsim=nsim, seed=seed,
                                     batch_size=batch_size, progress=progress)
    _unidentified(results, "variance_component_test")
    _free_fit(results, "given")
    engine = results.model._engine
    if engine is None:
        raise ValueError("the model's data were removed (remove_data()): the test refits it")
    j = names.index(component)
    start = np.asarray(results.gamma, dtype=float).copy()
    start[j] = 0.0
    fixed = np.zeros(len(names), dtype=bool)
    fixed[j] = True
    with serial_blas():
        gamma_0, llf_0, _ = engine.maximize(results.reml, start=start, fixed=fixed)
    lr = 0.0 if results.gamma[j] == 0 else _lr_statistic(results.llf, llf_0, "fit")
    if method == "mixture":
        p = 0.5 * stats.chi2.sf(lr, 1) if lr > 0 else 1.0
        return LikelihoodRatioTestResults(lr, p, 1, "mixture", "0.5 chi2(0) + 0.5 chi2(1)",
                                          (results.llf, llf_0))
    null = results.model.fit(reml=results.reml, kinship_ratio=gamma_0)  # replicates from it
    refit = _EngineRefit(results.model, results.reml)

    def replicate(noise):
        _, gamma, llf_null, ok_null = refit.refit(noise, gamma_0, fixed)
        _, _, llf_alt, ok_alt = refit.refit(
            noise, gamma if np.all(np.isfinite(gamma)) else gamma_0)
        stat = max(2.0 * (llf_alt - llf_null), 0.0) if ok_null and ok_alt else np.nan
        return {"lr": stat}

    boot = _run_engine(_sampler(null), replicate, nsim, seed, batch_size, progress,
                       "bootstrap LR test")[0]["lr"]
    out = LikelihoodRatioTestResults(lr, _bootstrap_pvalue(lr, boot), 1, "bootstrap",
                                     f"parametric bootstrap under {component} = 0",
                                     (results.llf, llf_0), boot_statistics=boot)
    _warn_failed(out)
    return out


# -- profile likelihood -------------------------------------------------------------------

class _Profile:
    """The (restricted) log-likelihood of a fit as a function of ``(delta, s_e^2)``, with the
    fixed effects profiled out (ML) or integrated out (REML), from the model's
    ProfiledLikelihood."""

    def __init__(self, results):
        self.model = results.model
        self.reml = results.reml
        n, p = self.model._exog_rot.shape
        self.dof = n - p if self.reml else n
        # the typical eigenvalue, on which the model's search over delta is centred
        self.scale = self.model._profile.delta_scale
        self._cache = {}

    def parts(self, delta):
        """RSS and log-determinant part of ``-2 llf`` at ``delta``."""
        key = float(delta)
        if key not in self._cache:
            with serial_blas():
                sol = self.model._profile.solve(key)
            logdet = sol["logdet_v"] + (sol["logdet_a"] if self.reml else 0.0)
            self._cache[key] = (sol["rss"], logdet)
        return self._cache[key]

    def loglike(self, delta, s_e2):
        rss, logdet = self.parts(delta)
        return -0.5 * (self.dof * np.log(2 * np.pi * s_e2) + rss / s_e2 + logdet)

    def over_delta(self, delta):
        """Profiled over s_e^2 (the model's ``loglike_profile``)."""
        rss, _ = self.parts(delta)
        return self.loglike(delta, rss / self.dof)

    def max_over_delta(self, held, c):
        """``max over delta >= 0`` of the log-likelihood with ``s_k^2`` (``held="kinship"``,
        ``s_e^2 = c / delta``) or ``s_e^2`` (``held="residual"``) held at ``c``: the model's
        search (:meth:`ProfiledLikelihood.maximize` with ``held``)."""
        with serial_blas():
            return self.model._profile.maximize(self.reml, held=(held, c))[1]


def _root_in_log(func, x_in, x_out):
    """Root of ``func`` between ``x_in`` (func > 0) and ``x_out`` (func < 0), both > 0."""
    t = optimize.brentq(lambda t: func(np.exp(t)), np.log(x_in), np.log(x_out), xtol=1e-12,
                        rtol=1e-12)
    return float(np.exp(t))


def _outward(func, start, factor, limit):
    """Step ``x <- x * factor`` from ``start`` until ``func(x) < 0``; returns the last point
    inside and the first outside, or None when ``limit`` is passed first."""
    inside = start
    x = start * factor
    for _ in range(200):
        if (factor > 1 and x > limit) or (factor < 1 and x < limit):
            return inside, None
        if func(x) < 0:
            return inside, x
        inside, x = x, x * factor
    return inside, None


class _ComponentProfile:
    """The (restricted) log-likelihood of a fit on the engine's block likelihood
    (``model._engine``), with the fixed effects profiled out (ML) or integrated out (REML), and
    its maxima with one function of the variance components held fixed.

    ``llf(gamma, s_e2)`` is the likelihood at ``s_j^2 = gamma_j s_e2``; the engine's criterion
    is its maximum over ``s_e2`` (``llf_p(gamma)``). Three constraints, each a maximisation
    over the remaining parameters (L-BFGS-B from the nearest point already profiled, with the
    engine's analytic gradient):

    * the share of component ``j`` at ``s`` (odds ``t = s / (1 - s)``):
      ``gamma_j = t (1 + sum_{i != j} m_i gamma_i) / m_j``, maximum of ``llf_p`` over the
      other ratios;
    * ``s_j^2 = c``: ``gamma_j = c / s_e2``, maximum of ``llf`` over the other ratios and
      ``log s_e2``;
    * ``s_e^2 = c``: maximum of ``llf(gamma, c)`` over all ratios.

    At ``s_j^2 = 0`` (share 0) the maximum is the engine's ``maximize`` with ``gamma_j`` held
    at 0.
    """

    def __init__(self, results):
        engine = results.model._engine
        if engine is None:
            raise ValueError("profile_conf_int: the model's data were removed "
                             "(remove_data()); the profile likelihood needs them")
        self.engine = engine
        self.reml = results.reml
        self.dof = engine.n - engine.p if self.reml else engine.n
        self.m = engine.m
        self.scales = np.asarray(engine.scales, dtype=float)
        self.gamma = np.asarray(results.gamma, dtype=float)
        self.s_e2 = float(results.vcomp.iloc[-1])

    def point(self, gamma):
        """``llf_p``, its gradient in ``gamma``, RSS and ``Py' W_j Py`` at ``gamma``."""
        sol = self.engine.solve(gamma, level=1)
        score = self.engine.derivatives(sol, self.reml)[0]
        llf = profiled_loglike(sol, self.engine.n, self.engine.p, self.reml)
        return llf, score, sol["rss"], sol["quad"]

    def at_scale(self, gamma, s_e2):
        """``llf(gamma, s_e2)`` and its gradients in ``gamma`` (``s_e2`` fixed) and in
        ``log s_e2``.

        ``-2 llf = dof log(2 pi s_e2) + RSS / s_e2 + logdet``, the criterion ``llf_p`` the
        same at ``s_e2 = RSS / dof``; ``d RSS / d gamma_j = -Py' W_j Py``.
        """
        llf_p, score, rss, quad = self.point(gamma)
        d = self.dof
        value = llf_p + 0.5 * d * (1.0 + np.log(rss / (d * s_e2))) - 0.5 * rss / s_e2
        return value, score + 0.5 * quad * (1.0 / s_e2 - d / rss), -0.5 * (d - rss / s_e2)

    def at_zero(self, j):
        """Maximum with ``gamma_j = 0`` (the model without component ``j``)."""
        start = self.gamma.copy()
        start[j] = 0.0
        fixed = np.arange(self.m) == j
        _, llf, info = self.engine.maximize(self.reml, start=start, fixed=fixed)
        if not info["converged"]:
            warn_at_user(f"profile_conf_int: the fit without component "
                         f"{self.engine.structure.names[j]!r} did not converge: "
                         f"{info['message']}", ConvergenceWarning)
        return llf

    def start(self, kind, j):
        """The free parameters at the estimate for a constraint (see :meth:`constrained`)."""
        others = self.gamma[np.arange(self.m) != j]
        if kind == "share":
            return others
        if kind == "variance":
            return np.r_[others, np.log(self.s_e2)]
        return self.gamma.copy()

    def constrained(self, kind, j, value, x0):
        """Maximum of the likelihood with the share (``kind='share'``, ``value`` its odds
        ``t``) or the variance (``'variance'``) of component ``j``, or the residual variance
        (``'residual'``), held at ``value``. Returns the maximum and the free parameters
        there."""
        m, scales = self.m, self.scales
        others = np.arange(m) != j

        def ratios(u, gamma_j):
            gamma = np.empty(m)
            gamma[others] = u
            gamma[j] = gamma_j
            return gamma

        if kind == "share":
            weights = value * scales[others] / scales[j]  # d gamma_j / d gamma_others

            def fun(u):
                gamma = ratios(u, value / scales[j] + weights @ u)
                llf, score, _, _ = self.point(gamma)
                return llf, score[others] + score[j] * weights

            bounds = [(0.0, None)] * (m - 1)
        elif kind == "variance":
            def fun(x):
                s_e2 = np.exp(x[-1])
                gamma = ratios(x[:-1], value / s_e2)
                llf, grad, grad_log = self.at_scale(gamma, s_e2)
                return llf, np.r_[grad[others], grad_log - grad[j] * gamma[j]]

            bounds = [(0.0, None)] * (m - 1) + [(None, None)]
        else:
            def fun(x):
                llf, grad, _ = self.at_scale(x, value)
                return llf, grad

            bounds = [(0.0, None)] * m
        if not bounds:  # one component: the share fixes gamma
            return fun(np.empty(0))[0], np.empty(0)

        def negative(x):
            with np.errstate(divide="ignore", invalid="ignore"):
                llf, grad = fun(x)
            if not np.isfinite(llf) or not np.all(np.isfinite(grad)):
                return np.inf, np.zeros_like(x)
            return -llf, -grad

        res = optimize.minimize(negative, np.asarray(x0, dtype=float), jac=True,
                                method="L-BFGS-B", bounds=bounds,
                                options={"ftol": 1e-13, "gtol": 1e-7, "maxiter": 1000,
                                         "maxcor": 20})
        return -float(res.fun), res.x


def _profile_limits(profile, kind, j, estimate, target, llf_zero, big, first_step):
    """Lower and upper limits of a profile interval of a parameter >= 0 (an odds ``t`` for a
    share, else a variance), from its ``estimate``: the values where the profile crosses
    ``target``, searched outward by factors of 2 (in log scale) and refined by Brent's method
    on the logarithm. ``llf_zero`` is the profile at 0 (None for the residual variance, whose
    lower end is searched down to ``1e-12`` times its estimate); an end is 0 or ``inf`` when
    the profile stays above the target up to 0 or up to ``big``. From an estimate at 0 the
    upward search starts at ``first_step``."""
    known = {}  # parameter -> free parameters at its maximum: warm starts

    def inside(value):
        if value == 0.0 and llf_zero is not None:
            return llf_zero - target
        nearest = min(known, key=lambda v: abs(np.log(v / value)))
        llf, x = profile.constrained(kind, j, value, known[nearest])
        known[value] = x
        return llf - target

    if estimate > 0:
        known[estimate] = profile.start(kind, j)
        start = estimate
    else:
        start = first_step
        known[start] = profile.start(kind, j)
    if estimate == 0 or (llf_zero is not None and llf_zero >= target):
        lower = 0.0
    else:
        floor = 0.0 if llf_zero is not None else 1e-12 * estimate
        last_in, first_out = _outward(inside, estimate, 0.5, floor)
        lower = 0.0 if first_out is None else _root_in_log(inside, last_in, first_out)
    if estimate == 0 and inside(start) < 0:
        # the upper limit is below the first step: between 0 (the estimate) and start
        upper = float(optimize.brentq(inside, 0.0, start, xtol=1e-14 * start, rtol=1e-12))
    else:
        last_in, first_out = _outward(inside, start, 2.0, big)
        upper = np.inf if first_out is None else _root_in_log(inside, last_in, first_out)
    return lower, upper


def _component_targets(results, which):
    """``(row, kind, component index)`` for each name of ``which`` on the general path."""
    model = results.model
    names = list(model.component_names)
    first = model._first_relationship
    if which is None:
        which = [f"{c}_share" for c in names] + names + ["residual"]
    elif isinstance(which, str):
        which = [which]
    elif isinstance(which, (list, tuple, pd.Index, np.ndarray)):
        which = list(which)
    else:
        raise TypeError(f"which must be a name or a sequence of names, got {which!r}")
    if not which:
        raise ValueError("which is empty: name at least one parameter")
    valid = (["h2"] if first is not None else []) + [f"{c}_share" for c in names] + names \
        + ["residual"]
    targets = []
    for w in which:
        if w == "h2" and first is not None:
            targets.append((w, "share", first))
        elif isinstance(w, str) and w.endswith("_share") and w[:-6] in names:
            targets.append((w, "share", names.index(w[:-6])))
        elif w in names:
            targets.append((w, "variance", names.index(w)))
        elif w == "residual":
            targets.append((w, "residual", None))
        else:
            extra = (" ('h2' is the share of the first relationship component; this model has "
                     "none)" if w == "h2" else "")
            raise ValueError(f"which must hold names from {valid}; got {w!r}{extra}")
    return targets


def _profile_components(results, alpha, which):
    """:func:`profile_conf_int` of a fit on the engine's block likelihood."""
    targets = _component_targets(results, which)
    profile = _ComponentProfile(results)
    target = float(results.llf) - 0.5 * stats.chi2.ppf(1 - alpha, 1)
    z = stats.norm.ppf(1 - alpha / 2)
    shares = results.variance_shares
    big_odds = np.exp(30.0)
    zeros = {}
    rows = {}
    with serial_blas():
        for row, kind, j in targets:
            same = next((r for r, k, i in targets if (k, i) == (kind, j) and r in rows), None)
            if same is not None:  # 'h2' and '<first relationship>_share'
                rows[row] = rows[same]
                continue
            if kind == "residual":
                est, se = float(results.vcomp.iloc[-1]), float(results.bse_vcomp.iloc[-1])
                lower, upper = _profile_limits(profile, kind, None, est, target, None, np.inf,
                                               None)
            else:
                name = results.model.component_names[j]
                if j not in zeros:
                    zeros[j] = (profile.at_zero(j) if results.gamma[j] > 0
                                else float(results.llf))
                if kind == "share":
                    est = float(shares.loc[name, "share"])
                    se = float(shares.loc[name, "std. error"])
                    odds = est / (1.0 - est) if est < 1 else np.inf
                    lo, hi = _profile_limits(profile, kind, j, odds, target, zeros[j],
                                             big_odds, 1e-3)
                    lower = lo / (1.0 + lo)
                    upper = 1.0 if not np.isfinite(hi) else hi / (1.0 + hi)
                else:
                    est, se = float(results.vcomp[name]), float(results.bse_vcomp[name])
                    lower, upper = _profile_limits(profile, kind, j, est, target, zeros[j],
                                                   np.inf, 1e-3 * profile.s_e2)
            rows[row] = [est, se, est - z * se, est + z * se, lower, upper]
    return pd.DataFrame.from_dict(rows, orient="index",
                                  columns=["estimate", "std_err", "wald_lower", "wald_upper",
                                           "lower", "upper"])


def profile_conf_int(results, alpha=0.05, which=None):
    r"""
    Profile-likelihood confidence intervals for h2, the variance shares and the variance
    components.

    Parameters
    ----------
    results : KinshipMixedLMResults
        A fit (REML or ML) with the variance ratios estimated.
    alpha : float
        The intervals have coverage ``1 - alpha``.
    which : str or sequence of str, optional
        The parameters, by name:

        * ``'h2'``: the share of the first relationship component (:attr:`h2`);
        * ``'<component>_share'``: the share of a component (a row of
          :attr:`variance_shares`), e.g. ``'household_share'``;
        * ``'<component>'``: its variance ``s_j^2``, e.g. ``'kinship'``, ``'household'``;
        * ``'residual'``: ``s_e^2``.

        Default: ``('h2', 'kinship')`` for one kinship matrix; with several components (or
        repeated records) every component's share and variance, and ``'residual'``. The rows
        carry the names as given.

    Returns
    -------
    pandas.DataFrame
        One row per parameter; columns ``estimate``, ``std_err`` (Wald, from the observed
        information), ``wald_lower``, ``wald_upper`` (estimate -/+ z std_err, not truncated)
        and the profile interval ``lower``, ``upper``.

    Notes
    -----
    An interval holds the values ``psi`` with ``2 (llf - max{llf : psi}) <= chi2(1)_{1-alpha}``
    (fixed effects profiled out under ML, integrated out under REML).

    One kinship matrix:

    * h2 is ``delta m / (delta m + 1)`` with ``delta = s_k^2 / s_e^2`` and ``m`` the mean
      diagonal of K, an increasing function of delta alone, so its profile is the model's
      likelihood profiled over ``s_e^2`` (:meth:`KinshipMixedLM.loglike_profile`) at
      ``delta(h2)``; the interval for delta maps to one for h2.
    * ``s_k^2 = c`` is a curve in ``(delta, s_e^2)``: ``s_e^2 = c / delta``. Its profile is the
      maximum over ``delta`` along that curve (a 1-D maximisation per value of c); ``s_e^2``
      is profiled the same way along ``s_e^2 = c``.

    Several components (``H = I + sum_j gamma_j W_j``, ``gamma_j = s_j^2 / s_e^2``, the
    engine's likelihood ``model._engine``). The share of component ``j``,
    ``s_j = gamma_j m_j / (1 + sum_i gamma_i m_i)`` (``m_i`` the mean diagonal of ``W_i``), is
    not a function of ``gamma_j`` alone, so an interval for ``gamma_j`` does not map to one
    for the share. The share is profiled directly: holding it at ``s`` is the affine
    constraint ``gamma_j = t (1 + sum_{i != j} m_i gamma_i) / m_j``, ``t = s / (1 - s)``, and
    its profile is the engine's criterion (profiled over ``s_e^2``) maximised over the other
    ratios ``>= 0`` on that constraint. ``s_j^2 = c`` is ``gamma_j = c / s_e^2``, maximised
    over the other ratios and ``s_e^2``; ``s_e^2 = c`` is maximised over all ratios. Each
    maximisation is L-BFGS-B with the engine's analytic gradient from the nearest point
    already profiled (a few dozen likelihood evaluations per point, two or three dozen
    points per interval); the end points are found by Brent's method on the log of the
    variance or of the odds ``t``. The likelihood at a share (or variance) of 0 is the
    engine's maximisation without the component (:meth:`BlockLikelihood.maximize` with
    ``gamma_j`` held at 0), as in :func:`variance_component_test`.

    Boundary: as ``s_j^2 -> 0`` (and its share ``-> 0``) the profile tends to the likelihood
    without the component; when that is within the cutoff the interval starts at 0. The
    cutoff stays chi2(1) there (as lme4's ``confint`` does); for a true ``s_j^2 = 0``, where
    the statistic follows the 50:50 mixture, the interval then covers 0 with probability
    ``1 - alpha/2`` (conservative). When the likelihood stays within the cutoff as the share
    tends to 1 the upper limit is 1 (a variance: ``inf``).

    Examples
    --------
    >>> import numpy as np
    >>> import statsmodels_kinship as smk
    >>> from statsmodels_kinship.inference import profile_conf_int
    >>> rng = np.random.default_rng(0)
    >>> block = np.array([[2, 0, 1, 1], [0, 2, 1, 1], [1, 1, 2, 1], [1, 1, 1, 2]]) / 4
    >>> K = np.kron(np.eye(50), block)
    >>> y = 1 + rng.multivariate_normal(np.zeros(200), K) + rng.normal(size=200)
    >>> res = smk.KinshipMixedLM(y, np.ones((200, 1)), kinship=K).fit()
    >>> ci = profile_conf_int(res)
    >>> list(ci.columns)
    ['estimate', 'std_err', 'wald_lower', 'wald_upper', 'lower', 'upper']

    With a household (here each family's) as a second component:

    >>> household = np.repeat(np.arange(50), 4)
    >>> res2 = smk.KinshipMixedLM(y, np.ones((200, 1)), kinship=K,
    ...                           exog_vc={"household": household}).fit()
    >>> ci2 = profile_conf_int(res2, which=["h2", "household_share", "household"])
    >>> ci2.index.tolist()
    ['h2', 'household_share', 'household']
    """
    _check_results(results)
    alpha = check_alpha(alpha)
    if not results.identified:
        raise ValueError("profile_conf_int: the variance components are not identified ("
                         + results.fit_info["identifiability"] + "): the profile likelihood "
                         "is flat along a ridge, so there is no interval to report")
    if results.delta is None:
        _free_fit(results, "given")
        return _profile_components(results, alpha, which)
    if which is None:
        which = ["h2", "kinship"]
    elif isinstance(which, str):
        which = [which]
    elif isinstance(which, (list, tuple, pd.Index, np.ndarray)):
        which = list(which)
    else:
        raise TypeError("which must be a name or a sequence of names from 'h2', 'kinship', "
                        f"'residual'; got {which!r}")
    # the component's own name (kinship={"additive": K}) and its share name are aliases
    name = results.model.component_name
    aliases = {name: "kinship", f"{name}_share": "h2", "kinship_share": "h2"}
    kinds = [aliases.get(w, w) if isinstance(w, str) else w for w in which]
    bad = [w for w, k in zip(which, kinds) if k not in ("h2", "kinship", "residual")]
    if bad:
        raise ValueError(f"which must hold 'h2', 'kinship' or 'residual'; got {bad}")
    if not which:
        raise ValueError("which is empty: name at least one of 'h2', 'kinship', 'residual'")
    _free_fit(results, "given")
    prof = _Profile(results)
    if prof.scale <= 0:
        raise ValueError("the kinship has no positive eigenvalue: s_k^2 is not identified")
    delta_hat = results.delta
    s_k2, s_e2 = (float(v) for v in np.asarray(results.vcomp))
    top = prof.over_delta(delta_hat)
    target = top - 0.5 * stats.chi2.ppf(1 - alpha, 1)
    m = results.model.mean_kinship_diagonal
    z = stats.norm.ppf(1 - alpha / 2)
    big = np.exp(30.0) / prof.scale
    rows = {}

    def profile_delta():
        inside = lambda d: prof.over_delta(d) - target  # noqa: E731
        lower = 0.0
        if delta_hat > 0 and inside(0.0) < 0:
            lower = float(optimize.brentq(inside, 0.0, delta_hat, xtol=1e-14 * delta_hat,
                                          rtol=1e-12))
        start = delta_hat if delta_hat > 0 else np.exp(-7.0) / prof.scale
        last_in, first_out = _outward(inside, start, 2.0, big)
        upper = np.inf if first_out is None else _root_in_log(inside, last_in, first_out)
        return lower, upper

    def along(held):
        """Profile of the variance ``held`` ('kinship' or 'residual') at c, minus target."""
        return lambda c: prof.max_over_delta(held, c) - target

    for row, name in zip(which, kinds):
        if name == "h2":
            lo_d, hi_d = profile_delta()
            est, se = results.h2, results.bse_h2
            lower = lo_d * m / (lo_d * m + 1.0)
            upper = 1.0 if not np.isfinite(hi_d) else hi_d * m / (hi_d * m + 1.0)
        elif name == "kinship":
            est, se = s_k2, float(results.bse_vcomp.iloc[0])
            inside = along("kinship")
            lower = 0.0
            if s_k2 > 0 and prof.over_delta(0.0) < target:
                last_in, first_out = _outward(inside, s_k2, 0.5, 0.0)
                lower = _root_in_log(inside, last_in, first_out)
            start = s_k2 if s_k2 > 0 else 1e-3 * s_e2
            last_in, first_out = _outward(inside, start, 2.0, np.inf)
            upper = _root_in_log(inside, last_in, first_out)
        else:
            est, se = s_e2, float(results.bse_vcomp["residual"])
            inside = along("residual")
            last_in, first_out = _outward(inside, s_e2, 0.5, 0.0)
            lower = _root_in_log(inside, last_in, first_out)
            last_in, first_out = _outward(inside, s_e2, 2.0, np.inf)
            upper = _root_in_log(inside, last_in, first_out)
        rows[row] = [est, se, est - z * se, est + z * se, lower, upper]
    return pd.DataFrame.from_dict(rows, orient="index",
                                  columns=["estimate", "std_err", "wald_lower", "wald_upper",
                                           "lower", "upper"])


# -- Satterthwaite ------------------------------------------------------------------------

def _contrasts(results, r_matrix):
    """Rows of R on the non-aliased coefficients, the constants q and the contrasts' names
    (by default each non-aliased coefficient against 0)."""
    _check_results(results)
    model = results.model
    if r_matrix is None:
        kept = ~np.asarray(model.aliased)
        names = list(np.asarray(model.exog_names)[kept])
        return np.eye(int(kept.sum())), np.zeros(int(kept.sum())), names
    r, q = results._constraints(r_matrix)
    return r, q, [f"c{i}" for i in range(r.shape[0])]


def _satterthwaite(results, r):
    """Satterthwaite degrees of freedom of the contrasts ``r`` (rows on the non-aliased
    coefficients); see :func:`satterthwaite_df`."""
    cov = np.asarray(results._kept()[1])
    lc = r @ cov  # (q, p)
    var = np.einsum("ij,ij->i", lc, r)
    if results.delta is None:
        g, acov = _variance_gradients_components(results, lc, var)
    else:
        g, acov = _variance_gradients_kinship(results, lc)
    with np.errstate(divide="ignore", invalid="ignore"):
        return 2.0 * var ** 2 / np.einsum("ij,jk,ik->i", g, acov, g)


def _variance_gradients_kinship(results, lc):
    """Gradient of ``Var(L b)`` in ``(s_k^2, s_e^2)`` (rows ``lc = L C``; in the rotated
    space), and the covariance of the two variances."""
    model = results.model
    lam = model.decomposition.eigenvalues
    s_k2, s_e2 = (float(v) for v in np.asarray(results.vcomp))
    v = s_k2 * lam + s_e2
    x = model._exog_rot
    with serial_blas():
        grads = []
        for d in (lam, np.ones_like(lam)):
            xw = x * (d / v ** 2)[:, None]
            mid = x.T @ xw  # X' V^-1 V_i V^-1 X
            grads.append(np.einsum("ij,jk,ik->i", lc, mid, lc))
    return np.stack(grads, axis=1), np.asarray(results.vcomp_cov, dtype=float)


def _variance_gradients_components(results, lc, var):
    """Gradient of ``Var(L b)`` in the variance components of a fit on the engine's block
    likelihood, restricted to those not at 0 and the residual, with their covariance.

    With ``V = s_e^2 H``, ``C = s_e^2 A^-1`` (``A = X'H^-1X``), ``dC / d s_j^2 = C X'V^-1 W_j
    V^-1 X C = C R_j C / s_e^4`` with ``R_j = X'H^-1 W_j H^-1 X`` (the engine's ``r_mats``).
    ``C`` is homogeneous of degree 1 in the variances, so (Euler)
    ``sum_j s_j^2 dC/ds_j^2 + s_e^2 dC/ds_e^2 = C`` gives the residual's derivative without
    ``X'H^-2X``. A component at 0 is left out: lmerTest's derivatives in ``theta_j`` (the
    relative SD) vanish there, and the deviance's Hessian has no cross terms with it, so it
    does not contribute to lmerTest's df either."""
    engine = results.model._engine
    if engine is None:
        raise ValueError("satterthwaite_df: the model's data were removed (remove_data()); "
                         "the degrees of freedom need them")
    gamma = np.asarray(results.gamma, dtype=float)
    s2 = np.asarray(results.vcomp, dtype=float)
    s_e2 = s2[-1]
    with serial_blas():
        r_mats = engine.solve(gamma, level=1)["r_mats"]
        g = np.einsum("ij,mjk,ik->im", lc, r_mats, lc) / s_e2 ** 2
    g_e = (var - g @ s2[:-1]) / s_e2
    free = np.r_[gamma > 0, True]
    g = np.column_stack([g, g_e])[:, free]
    acov = np.asarray(results.vcomp_cov, dtype=float)[np.ix_(free, free)]
    return g, acov


def satterthwaite_df(results, r_matrix=None):
    r"""
    Satterthwaite degrees of freedom for t tests of the fixed effects.

    Parameters
    ----------
    results : KinshipMixedLMResults
    r_matrix : array_like, str or tuple, optional
        Contrasts, as for :meth:`KinshipMixedLMResults.t_test`; by default each coefficient.

    Returns
    -------
    pandas.Series
        One value per contrast (by default per coefficient, aliased ones NaN).

    Notes
    -----
    For a contrast ``L b`` with variance ``v(theta) = L C(theta) L'``, ``C = (X'V^{-1}X)^{-1}``
    and ``theta`` the variance components (``(s_k^2, s_e^2)``; with several components
    ``(s_1^2, ..., s_m^2, s_e^2)``),

    .. math:: \nu = \frac{2\, v(\hat\theta)^2}{g' A g}, \qquad
              g_i = \partial v / \partial\theta_i = L C X'V^{-1} V_i V^{-1} X C L',

    where ``V_k = K`` (``V_j = Z_j K_j Z_j'``), ``V_e = I`` and ``A`` is the inverse observed
    information of theta (``results.vcomp_cov``; REML or ML as the fit). The derivatives are
    exact (one kinship: in the rotated space; several components: from the engine's
    ``X'H^-1 V_j H^-1 X`` at the estimate, the residual's by Euler's identity
    ``sum_i theta_i g_i = v``); R's lmerTest computes the same quantity with numerical
    derivatives in the parametrisation (theta, sigma), to which the result is invariant at an
    interior optimum. With several components, a component estimated at 0 is left out of
    ``g`` and ``A`` (lmerTest's derivatives in its relative SD vanish there, so it drops out
    of lmerTest's df too). One kinship at the boundary (``s_k^2 = 0``): the information may
    be singular and the degrees of freedom NaN.

    References
    ----------
    Satterthwaite, F. E. (1946). An approximate distribution of estimates of variance
    components. Biometrics Bulletin 2, 110-114.

    Kuznetsova, A., Brockhoff, P. B. and Christensen, R. H. B. (2017). lmerTest package:
    tests in linear mixed effects models. Journal of Statistical Software 82(13).
    """
    r, _, names = _contrasts(results, r_matrix)
    df = _satterthwaite(results, r)
    if r_matrix is None:
        model = results.model
        kept = ~np.asarray(model.aliased)
        full = np.full(len(kept), np.nan)
        full[kept] = df
        return pd.Series(full, index=list(model.exog_names), name="df")
    return pd.Series(df, index=names, name="df")


def t_test_satterthwaite(results, r_matrix=None):
    """
    t tests of the fixed effects with Satterthwaite degrees of freedom.

    Parameters
    ----------
    results : KinshipMixedLMResults
    r_matrix : array_like, str or tuple, optional
        As for :meth:`KinshipMixedLMResults.t_test`; by default every non-aliased
        coefficient is tested against 0.

    Returns
    -------
    statsmodels.stats.contrast.ContrastResults
        t statistics with one denominator df per contrast (``df_denom``, an array); p-values
        and ``conf_int()`` use them.
    """
    r, q, names = _contrasts(results, r_matrix)  # the hypothesis parsed once
    b, cov = (np.asarray(a, dtype=float) for a in results._kept())
    effect = r @ b
    sd = np.sqrt(np.einsum("ij,jk,ik->i", r, cov, r))
    res = ContrastResults(effect=effect, t=(effect - q) / sd, sd=sd,
                          df_denom=_satterthwaite(results, r))
    if r_matrix is None:
        res.c_names = names
    return res


def _f_ddf(nu, tol=1e-8):
    """Denominator df of the F statistic from the Satterthwaite df ``nu`` of its independent
    components (lmerTest's ``get_Fstat_ddf``, Fai & Cornelius 1996)."""
    if len(nu) == 1:
        return float(nu[0])
    if np.all(np.abs(np.diff(nu)) < tol):
        return float(np.mean(nu))
    if np.any(nu <= 2):
        return 2.0
    e = np.sum(nu / (nu - 2.0))
    return float(2.0 * e / (e - len(nu)))


def f_test_satterthwaite(results, r_matrix):
    r"""
    F test of ``R b = q`` with Satterthwaite denominator degrees of freedom (as R's
    lmerTest: ``contestMD``, ``anova(type = 3)`` with ``ddf = "Satterthwaite"``).

    Parameters
    ----------
    results : KinshipMixedLMResults
    r_matrix : array_like, str or tuple
        As for :meth:`KinshipMixedLMResults.wald_test`.

    Returns
    -------
    statsmodels.stats.contrast.ContrastResults
        F statistic with ``df_num`` the rank of ``R C R'`` and ``df_denom`` the Satterthwaite
        denominator df.

    Notes
    -----
    With ``R C R' = P diag(d) P'`` (``d > 0``, ``q`` of them), the rows of ``P'R`` are
    independent contrasts with variances ``d_m``; ``F = sum_m (p_m'(R b - q))^2 / d_m / q``.
    Each has Satterthwaite df ``nu_m`` (:func:`satterthwaite_df`); the F statistic is
    referred to ``F(q, nu)`` with ``nu = 2E / (E - q)``, ``E = sum nu_m / (nu_m - 2)``
    (matching the mean of ``q F``; ``nu = 2`` when some ``nu_m <= 2``, the mean of the
    ``nu_m`` when they are equal, ``nu_1`` when ``q = 1``, where ``F = t^2``).

    References
    ----------
    Fai, A. H.-T. and Cornelius, P. L. (1996). Approximate F-tests of multiple degree of
    freedom hypotheses in generalized least squares analyses of unbalanced split-plot
    experiments. Journal of Statistical Computation and Simulation 54, 363-378.

    Kuznetsova, A., Brockhoff, P. B. and Christensen, R. H. B. (2017). lmerTest package:
    tests in linear mixed effects models. Journal of Statistical Software 82(13).
    """
    _check_results(results)
    r, q = results._constraints(r_matrix)
    b, cov = (np.asarray(a, dtype=float) for a in results._kept())
    d, p = np.linalg.eigh(r @ cov @ r.T)
    order = np.argsort(d)[::-1]
    d, p = d[order], p[:, order]
    pos = d > max(np.finfo(float).eps ** 0.5 * d[0], 0.0)  # lmerTest's tolerance
    d, pr = d[pos], (p[:, pos].T @ r)
    j = len(d)
    fvalue = float(np.sum((p[:, pos].T @ (r @ b - q)) ** 2 / d) / j)
    nu = _satterthwaite(results, pr)
    return ContrastResults(F=fvalue, df_num=j, df_denom=_f_ddf(nu))
