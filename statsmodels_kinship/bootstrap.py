r"""Parametric bootstrap of a KinshipMixedLM fit, every replicate refitted exactly.

One job: draw responses from a fitted kinship model, refit each of them exactly (REML or ML,
each replicate to its own optimum) and summarise the replicates as Davison & Hinkley's
bootstrap confidence intervals.

Everything happens in the rotated space of the model's decomposition ``K = U diag(lam) U'``,
which is computed once by the model and never again: a replicate is drawn there as

.. math::

    \tilde y^* = \tilde X \hat b + \sqrt{\hat s_k^2 \lambda + \hat s_e^2}\, z,
    \qquad z \sim N(0, I_n),

and refitted in batches of replicates. How a batch is refitted (:class:`_BatchRefit`):

1. *Reduction.* Rotated coordinates with equal eigenvalues form a group ``g``; within a group
   with more rows than ``p`` (the rank of X) only the ``p`` coordinates spanned by the
   group's rows of ``X~`` carry information on ``b``; the rest enter the likelihood through
   one sum of squares per group. The data of a replicate shrink from ``n`` to
   ``R = sum_g min(n_g, p)`` numbers plus one per group.
2. *Residual spectrum.* With ``C`` an orthonormal basis of the complement of ``X~`` in the
   reduced space and ``C' diag(lam) C = Q diag(xi) Q'`` (one symmetric eigendecomposition of
   size ``R - p`` per model and method, kept on the model for later runs; not one per
   replicate), the weighted residual sum of squares of any replicate is ``RSS(delta) =
   sum_j e_j / (1 + delta a_j)`` with ``e = (Q'C'y~)^2`` (and the per-group sums), and
   ``log|V| + log|X'V^{-1}X| = log|X'X| + sum_j c_j log(1 + delta a_j)`` (Harville 1974).
   The (restricted) profile likelihood of every replicate and its first two derivatives
   then cost O(R) per evaluation, so the model's 1-D search
   (:func:`~statsmodels_kinship._spectral.maximize_ratio`, that of
   :meth:`ProfiledLikelihood.maximize`) runs on the whole batch at once: the grid (one
   matrix product for the batch), then safeguarded Newton iterations on the analytic score,
   to machine precision.
3. *Estimates.* At each replicate's optimum the fixed effects, their standard errors and the
   log-likelihood are computed exactly as :class:`~statsmodels_kinship.KinshipMixedLM` does
   (Cholesky factor of the weighted cross products of ``[X~ z~]``, ``z~`` the deviation of
   the replicate from the simulating mean), and the observed information of the variance
   components from the residual spectrum.

Replicates are refitted as deviations from the simulating mean (which lies in the span of
``X~``; its coefficients are added to the refitted ones), so that no cross product sees a
large mean. The search being the model's, it ends where the model's does, at
``delta_max``, and a replicate whose best point is that end is classified by the model's
rule (:func:`~statsmodels_kinship._spectral.residual_boundary`): a boundary estimate
(``s_e^2 = 0``, h2 = 1 to about 1e-6) where the likelihood has a finite limit, not
converged where it is unbounded.
The cost of a run is one eigendecomposition of size ``R - p`` (in the first run for a model
and method) plus, per replicate, one Cholesky factorisation and one triangular inverse of
size ``p``.

A model with several variance components (``results.delta is None``) has no such rotation:
its replicates are drawn component by component (:class:`_ComponentSampler`, through a
factor of each connected block of every relationship matrix) and each is refitted by the
model's likelihood engine, :meth:`~statsmodels_kinship._engine.BlockLikelihood.maximize`
from the fit's variance ratios (:class:`_EngineRefit`); the likelihood-ratio tests of
:mod:`statsmodels_kinship.inference` refit such models the same way.
"""
import time

import numpy as np
import pandas as pd
from scipy import linalg, stats
from statsmodels.iolib import summary2
from statsmodels.tools.sm_exceptions import (
    ConvergenceWarning,
    ModuleUnavailableWarning,
    ValueWarning,
)

from ._validation import as_rng, check_alpha, check_choice, check_count
from .exceptions import IdentifiabilityWarning, warn_at_user
from ._engine import (
    BlockLikelihood,
    Component,
    CovarianceStructure,
    variance_shares,
    vcomp_covariance,
)
from ._spectral import (
    DELTA_LOG_MAX,
    LOG_2PI,
    RatioCriterion,
    chol_inverse,
    delta_scale,
    full_delta_grid,
    group_eigenvalues,
    maximize_ratio,
    serial_blas,
)

__all__ = ["parametric_bootstrap", "simulate", "KinshipBootstrapResults", "bootstrap_interval"]

_BATCH_DOUBLES = 1 << 22  # working memory of one batch: 4 Mi doubles (32 MiB)
_STACK_DOUBLES = 1 << 24  # at most this much for the per-group cross products of X
_METHODS = ("studentized", "percentile", "basic", "normal")


def _moments_rotated(results):
    """Mean ``X~ b`` (aliased columns left out) and standard deviations
    ``sqrt(s_k^2 lam + s_e^2)`` of a fit, in rotated order."""
    model = results.model
    b = np.asarray(results.params, dtype=float)[~np.asarray(model.aliased)]
    s_k2, s_e2 = (float(v) for v in np.asarray(results.vcomp))
    lam = model.decomposition.eigenvalues
    return model._exog_rot @ b, np.sqrt(s_k2 * lam + s_e2)


def simulate(results, nsim=1, seed=None):
    r"""
    Draw responses from a fitted kinship mixed model.

    Parameters
    ----------
    results : KinshipMixedLMResults
        A fit; responses are drawn from ``N(X b, s_k^2 K + s_e^2 I)`` at its estimates
        (aliased columns left out); with several variance components from
        ``X b + sum_j Z_j u_j + e``, ``u_j ~ N(0, s_j^2 K_j)`` (``K_j = I`` for a grouping
        component), ``e ~ N(0, s_e^2 I)``.
    nsim : int
        Number of response vectors.
    seed : None, int, numpy.random.SeedSequence or numpy.random.Generator
        Passed to :func:`numpy.random.default_rng`.

    Returns
    -------
    ndarray, shape (nsim, n)
        One response vector per row, in the model's row order.

    Notes
    -----
    The draws are made in the rotated space of the model's decomposition (no factorisation
    of K): ``y = U (X~ b + sqrt(s_k^2 lam + s_e^2) z)`` with ``z`` standard normal, drawn row
    by row from the generator. :func:`parametric_bootstrap` draws its replicates the same
    way, so row ``i`` is the response of bootstrap replicate ``i`` with the same seed.

    With several variance components (``results.delta is None``) each row takes, in order,
    standard normal numbers for the effects of each component (a relationship component's
    through a factor ``F F' = K_j`` of each connected block of ``K_j``: a Cholesky factor, or
    one from the eigendecomposition where the block is singular) and then for the residuals;
    again row ``i`` is bootstrap replicate ``i``.

    Examples
    --------
    >>> import numpy as np
    >>> import statsmodels_kinship as smk
    >>> from statsmodels_kinship.bootstrap import simulate
    >>> block = np.array([[2, 0, 1, 1], [0, 2, 1, 1], [1, 1, 2, 1], [1, 1, 1, 2]]) / 4
    >>> K = np.kron(np.eye(30), block)  # 30 families: two parents, two children
    >>> x = np.ones((120, 1))
    >>> res = smk.KinshipMixedLM(np.random.default_rng(1).normal(size=120), x, K).fit()
    >>> simulate(res, nsim=3, seed=0).shape
    (3, 120)
    """
    _check_results(results)
    nsim = check_count(nsim, "nsim")
    if results.delta is None:  # several variance components
        sampler = _sampler(results)
        return sampler.mean + sampler.draw(as_rng(seed), nsim)
    model = results.model
    mean_rot, sd_rot = _moments_rotated(results)
    z = as_rng(seed).standard_normal((nsim, model.decomposition.n))
    return model.decomposition.unrotate((mean_rot + sd_rot * z).T).T


def _check_results(results, name="results"):
    """A fitted KinshipMixedLM (its results or their wrapper), or a TypeError naming the
    argument."""
    model = getattr(results, "model", None)
    if model is None or not hasattr(model, "decomposition") or not hasattr(results, "vcomp"):
        raise TypeError(f"{name} must be a KinshipMixedLM fit (the results of "
                        f"KinshipMixedLM(...).fit()), got {type(results).__name__}")
    return results


def _unidentified(results, what):
    """The reason the fit's variance components are not identified (``fit_info``), or None;
    warns that ``what`` inherits the arbitrary split."""
    reason = results.fit_info.get("identifiability") if not results.identified else None
    if reason is not None:
        warn_at_user(f"{what}: the variance components of the fit are not identified ("
                      f"{reason}); replicate variance components are arbitrary points on a "
                      "ridge of equal likelihood (fixed effects are unaffected)",
                      IdentifiabilityWarning)
    return reason


def _check_progress(progress):
    if progress is not None and not isinstance(progress, (bool, np.bool_)):
        raise TypeError(f"progress must be None, True or False, got {progress!r}")


def _same_rotation(a, b):
    """True when two models share one decomposition (same eigenvalues and vectors)."""
    da, db = a.decomposition, b.decomposition
    if da is db:
        return True
    if da.n != db.n or not np.array_equal(da.eigenvalues, db.eigenvalues):
        return False
    if len(da._groups) != len(db._groups):
        return False
    return all(np.array_equal(ia, ib) and np.array_equal(va, vb)
               for (ia, va), (ib, vb) in zip(da._groups, db._groups))


def _batch_refit(model, reml):
    """The :class:`_BatchRefit` of ``model`` for REML or ML, set up once per model and kept
    in ``model._batch_refits`` (one of the model's data attributes, so that ``remove_data``
    drops it)."""
    cache = getattr(model, "_batch_refits", None)
    if cache is None:
        cache = model._batch_refits = {}
    reml = bool(reml)
    if reml not in cache:
        cache[reml] = _BatchRefit(model, reml)
    return cache[reml]


class _BatchRefit:
    """Exact refits of one model (REML or ML) on many responses at once.

    Parameters
    ----------
    model : KinshipMixedLM
    reml : bool

    See the module docstring for the method. The set-up depends on the model and ``reml``
    alone (:func:`_batch_refit` keeps one per model and method). Responses are given as a
    mean in the column space of the model's rotated design (the simulating fit's ``X~ b``, or
    that of a model nested in this one) plus noise, so that the mean drops out of every
    residual quantity exactly.
    """

    def __init__(self, model, reml):
        self.model = model
        self.reml = bool(reml)
        lam = np.asarray(model.decomposition.eigenvalues, dtype=float)
        x = np.asarray(model._exog_rot, dtype=float)
        n, p = x.shape
        self.n, self.p = n, p
        self.dof = n - p if self.reml else n
        self.lam_max = float(lam.max()) if n else 0.0
        self.mean_diag = float(model.mean_kinship_diagonal)

        # groups of equal eigenvalues, by ProfiledLikelihood's rule and with its group means
        groups = group_eigenvalues(lam)
        order, starts, sizes = groups.order, groups.bounds[:-1], groups.counts
        lam_sorted, group_lam = lam[order], groups.values
        grouped = 2 * len(sizes) <= n  # ProfiledLikelihood groups only then
        # the eigenvalue each coordinate has in the likelihood (as the model evaluates it)
        lam_used = np.empty(n)
        lam_used[order] = np.repeat(group_lam, sizes) if grouped else lam_sorted
        if grouped:
            self.logdet_lam, self.logdet_count = group_lam, sizes.astype(float)
        else:
            self.logdet_lam, self.logdet_count = lam_used, np.ones(n)

        # 1. reduction: groups larger than p keep only the span of their rows of X~
        big = np.flatnonzero(sizes > p)
        size_of = np.repeat(sizes, sizes)
        self.pass_rows = order[size_of <= p]
        self.big = []  # (rows, Q)
        x_parts, a_parts = [x[self.pass_rows]], [lam_used[self.pass_rows]]
        for g in big:
            rows = order[starts[g]:starts[g] + sizes[g]]
            q, r = linalg.qr(x[rows], mode="economic", check_finite=False)
            self.big.append((rows, q))
            x_parts.append(r)
            a_parts.append(np.full(p, group_lam[g] if grouped else lam_used[rows].mean()))
        self.left_lam = np.array([lam_used[rows[0]] for rows, _ in self.big])
        self.left_count = np.array([len(rows) - p for rows, _ in self.big], dtype=float)
        self.x_red = np.concatenate(x_parts)
        self.a_red = np.concatenate(a_parts)
        R = self.x_red.shape[0]
        self.n_red = R

        # 2. residual spectrum: complement of X~ in the reduced space
        with np.errstate(all="ignore"):
            q_full = linalg.qr(self.x_red, mode="full", check_finite=False)[0]
        comp = q_full[:, p:]
        xi, vecs = linalg.eigh(comp.T @ (self.a_red[:, None] * comp), check_finite=False)
        self.basis = comp @ vecs  # (R, R - p)
        self.a = np.r_[np.clip(xi, 0.0, None), self.left_lam]  # RSS(delta) = sum e/(1+delta a)
        # log-determinants of the criterion: sum ld_count log(1 + delta ld_eig), which under
        # REML is log|V| + log|X'V^-1 X| - log|X'X| (Harville), under ML log|V|
        if self.reml:
            self.ld_eig, self.ld_count = self.a, np.r_[np.ones(R - p), self.left_count]
        else:
            self.ld_eig, self.ld_count = self.logdet_lam, self.logdet_count

        # cross products of X~ per group for the final evaluation, when that pays
        # group of each reduced row (pass rows are in sorted order)
        gid = np.r_[np.repeat(np.arange(len(sizes)), sizes)[size_of <= p], np.repeat(big, p)]
        n_groups = len(sizes)
        self.stack = None
        if grouped and 2 * n_groups <= R and n_groups * p * p <= _STACK_DOUBLES:
            stack = np.zeros((n_groups, p, p))
            for g in np.unique(gid):
                rows = self.x_red[gid == g]
                stack[g] = rows.T @ rows
            self.stack = stack.reshape(n_groups, p * p)
            self.stack_lam = group_lam
        # the model's 1-D search (maximize_ratio), centred where the model centres it
        self.delta_scale = delta_scale(lam)
        self.delta_max = np.exp(DELTA_LOG_MAX) / self.delta_scale if self.lam_max > 0 else 0.0
        self.grid_size = len(full_delta_grid(self.delta_scale)[0])
        # coefficients of a mean in the span of X~ (the simulating fit's X~ b): responses are
        # refitted as deviations from it and the coefficients added back (GLS is equivariant)
        self._x_qr = linalg.qr(x, mode="economic", check_finite=False)

    def doubles_per_replicate(self):
        """Working memory (doubles) one replicate of a batch needs."""
        return 2 * self.n + 2 * self.n_red + 4 * len(self.a) + (self.p + 1) ** 2 + 2 * (
            self.grid_size)

    # -- data of a batch ----------------------------------------------------------------

    def mean_coefficients(self, mean_rot):
        """Coefficients ``c`` with ``X~ c = mean_rot`` (a mean in the span of X~)."""
        q, r = self._x_qr
        return linalg.solve_triangular(r, q.T @ mean_rot, check_finite=False)

    def reduce(self, noise):
        """Reduced deviations ``z~`` (b, R) of the responses from their mean, per-group sums
        of squares (b, G_big) and the squared residual coordinates ``e`` (b, J), from the
        rotated ``noise``. The mean (in the span of X~) is left out: it drops out of every
        residual quantity and its coefficients are added to the refitted ones, so no cross
        product ever sees a large mean (a trait far from zero loses no precision)."""
        b = noise.shape[0]
        p = self.p
        noise_red = np.empty((b, self.n_red))
        k = len(self.pass_rows)
        noise_red[:, :k] = noise[:, self.pass_rows]
        left = np.empty((b, len(self.big)))
        for j, (rows, q) in enumerate(self.big):
            nz = noise[:, rows]
            zr = nz @ q
            start = k + j * p
            noise_red[:, start:start + p] = zr
            left[:, j] = np.maximum(np.einsum("ij,ij->i", nz, nz)
                                    - np.einsum("ij,ij->i", zr, zr), 0.0)
        eta = noise_red @ self.basis
        e = np.concatenate([eta * eta, left], axis=1)
        return noise_red, left, e

    # -- the 1-D search on a batch ------------------------------------------------------

    def _criterion(self, e, delta):
        """``-2 llf`` up to a constant, and its first two derivatives in delta, per row."""
        w = 1.0 / (1.0 + delta[:, None] * self.a)
        ew = e * w
        aw = self.a * w
        rss = ew.sum(axis=1)
        r1 = -(ew * aw).sum(axis=1)
        r2 = 2.0 * (ew * aw * aw).sum(axis=1)
        wl = self.ld_eig / (1.0 + delta[:, None] * self.ld_eig)
        with np.errstate(divide="ignore"):
            f = self.dof * np.log(rss) + np.log1p(delta[:, None] * self.ld_eig) @ self.ld_count
        f1 = self.dof * r1 / rss + wl @ self.ld_count
        f2 = self.dof * (r2 / rss - (r1 / rss) ** 2) - (wl * wl) @ self.ld_count
        return f, f1, f2

    def _grid_criterion(self, e, deltas):
        """``-2 llf`` up to a constant at the ``deltas`` shared by the rows: (b, D)."""
        weights = 1.0 / (1.0 + deltas[:, None] * self.a[None, :])
        with np.errstate(divide="ignore", invalid="ignore"):
            return (self.dof * np.log(e @ weights.T)
                    + np.log1p(deltas[:, None] * self.ld_eig) @ self.ld_count)

    def search(self, e, fixed_delta=None):
        """Optimal delta per replicate (``fixed_delta`` for all when given: a fit made with
        ``kinship_ratio``) by the model's search
        (:func:`~statsmodels_kinship._spectral.maximize_ratio`) on :meth:`_criterion`, and
        ``converged`` per replicate (False at the end of the search with the likelihood
        unbounded, as ``model.fit()`` reports it)."""
        b = e.shape[0]
        if fixed_delta is not None:
            return np.full(b, float(fixed_delta)), np.ones(b, dtype=bool)
        if self.lam_max <= 0:  # delta not identified; the model reports 0
            return np.zeros(b), np.ones(b, dtype=bool)

        def derivs(delta, rows):
            return self._criterion(e[rows], delta)

        found = maximize_ratio(RatioCriterion(
            grid_values=lambda deltas, rows: self._grid_criterion(e[rows], deltas),
            values=lambda delta, rows: derivs(delta, rows)[0],
            derivatives=lambda lo, hi: derivs), b, self.delta_scale)
        return found.delta, found.converged

    # -- estimates at given deltas ------------------------------------------------------

    def evaluate(self, noise_red, left, e, delta, mean_coef):
        """Estimates at ``delta`` per replicate, computed as KinshipMixedLMResults does, from
        the deviations ``noise_red`` of the responses from their mean ``X~ mean_coef``."""
        b, p = len(delta), self.p
        d = delta[:, None]
        w_red = 1.0 / (1.0 + d * self.a_red)
        wy = w_red * noise_red
        c = wy @ self.x_red
        t = (wy * noise_red).sum(axis=1)
        if len(self.left_lam):
            t += (left / (1.0 + d * self.left_lam)).sum(axis=1)
        logdet_v = np.log1p(d * self.logdet_lam) @ self.logdet_count
        if self.stack is not None:
            gram = ((1.0 / (1.0 + d * self.stack_lam)) @ self.stack).reshape(b, p, p)
        else:
            gram = None
        params = np.empty((b, p))
        diag_inv = np.empty((b, p))
        rss = np.empty(b)
        logdet_a = np.empty(b)
        aug = np.empty((p + 1, p + 1))
        potrf, trtri = linalg.lapack.dpotrf, linalg.lapack.dtrtri
        with serial_blas():
            for i in range(b):
                a_i = gram[i] if gram is not None else (self.x_red.T * w_red[i]) @ self.x_red
                aug[:p, :p] = a_i
                aug[:p, p] = aug[p, :p] = c[i]
                aug[p, p] = t[i]
                chol, info = potrf(aug, lower=1)
                if info == 0:
                    chol_a, l_vec, rss[i] = chol[:p, :p], chol[p, :p], chol[p, p] ** 2
                else:  # y (numerically) in the column space of X: by parts, as the model
                    chol_a, info = potrf(a_i, lower=1)
                    if info != 0:
                        raise np.linalg.LinAlgError("X'WX is not positive definite")
                    l_vec = linalg.solve_triangular(chol_a, c[i], lower=True)
                    rss[i] = max(t[i] - l_vec @ l_vec, 0.0)
                inv, info = trtri(chol_a, lower=1)
                if info != 0:
                    raise np.linalg.LinAlgError(f"trtri failed (info = {info})")
                params[i] = inv.T @ l_vec
                diag_inv[i] = np.einsum("ij,ij->j", inv, inv)
                logdet_a[i] = 2.0 * np.log(np.diag(chol_a)).sum()
        scale = rss / self.dof
        with np.errstate(divide="ignore"):
            crit = self.dof * (1.0 + LOG_2PI + np.log(rss / self.dof)) + logdet_v
        if self.reml:
            crit += logdet_a
        s_k2, s_e2 = d[:, 0] * scale, scale
        bse = np.sqrt(scale[:, None] * diag_inv)
        params += mean_coef
        vcomp_cov = self._vcomp_cov(e, s_k2, s_e2)
        m = self.mean_diag
        den = s_k2 * m + s_e2
        with np.errstate(divide="ignore", invalid="ignore"):
            h2 = s_k2 * m / den
            grad = np.stack([m * s_e2 / den ** 2, -s_k2 * m / den ** 2], axis=1)
            bse_h2 = np.sqrt(np.einsum("bi,bij,bj->b", grad, vcomp_cov, grad))
            bse_vcomp = np.sqrt(np.diagonal(vcomp_cov, axis1=1, axis2=2))
        return {"delta": delta, "params": params, "bse": bse, "llf": -0.5 * crit,
                "vcomp": np.stack([s_k2, s_e2], axis=1), "bse_vcomp": bse_vcomp, "h2": h2,
                "bse_h2": bse_h2}

    def _vcomp_cov(self, e, s_k2, s_e2):
        """Inverse observed information of ``(s_k^2, s_e^2)`` per replicate.

        The restricted likelihood is that of independent contrasts ``e_j ~ v_j chi2(c_j)``
        with ``v_j = s_k^2 a_j + s_e^2``; the ML likelihood profiled over b has the same
        quadratic form with ``log|V|`` over all eigenvalues. The result equals the model's
        :meth:`ProfiledLikelihood.information`.
        """
        # information = sum over terms of (e/v^3 - c/(2 v^2)) dv/dtheta_i dv/dtheta_j, with
        # dv/ds_k^2 = a, dv/ds_e^2 = 1
        v = s_k2[:, None] * self.a + s_e2[:, None]
        quad = e / v ** 3
        vl = s_k2[:, None] * self.ld_eig + s_e2[:, None]
        logterm = -0.5 * self.ld_count / vl ** 2
        a, la = self.a, self.ld_eig
        i11 = (quad * a * a).sum(axis=1) + (logterm * la * la).sum(axis=1)
        i12 = (quad * a).sum(axis=1) + (logterm * la).sum(axis=1)
        i22 = quad.sum(axis=1) + logterm.sum(axis=1)
        det = i11 * i22 - i12 ** 2
        with np.errstate(divide="ignore", invalid="ignore"):
            cov = np.stack([np.stack([i22, -i12], axis=1), np.stack([-i12, i11], axis=1)],
                           axis=1) / det[:, None, None]
        bad = ~(det != 0) | (cov[:, 0, 0] < 0) | (cov[:, 1, 1] < 0)
        cov[bad] = np.nan
        return cov

    # -- one batch ----------------------------------------------------------------------

    def prepare(self, mean_rot, noise, source=None):
        """The batch ``mean_rot + noise`` (rotated by ``source``'s decomposition, default
        this model's) in this model's rotation, as the coefficients of the mean in this
        model's design, the noise and its reduced data (:meth:`reduce`): what :meth:`fit`
        takes, once for any number of fits of the batch."""
        if source is not None and not _same_rotation(source, self.model):
            def move(a):
                orig = source.decomposition.unrotate(np.atleast_2d(a).T)
                return self.model.decomposition.rotate(orig).T

            mean_rot, noise = move(mean_rot)[0], move(noise)
        return (self.mean_coefficients(mean_rot), noise) + self.reduce(noise)

    def fit(self, batch, fixed_delta=None):
        """Refit every replicate of ``batch`` (from :meth:`prepare`), with ``delta`` held at
        ``fixed_delta`` when given. Returns the estimates and ``converged`` per replicate."""
        mean_coef, noise, noise_red, left, e = batch
        delta, converged = self.search(e, fixed_delta)
        out = self.evaluate(noise_red, left, e, delta, mean_coef)
        out["converged"] = converged
        # at s_e^2's lower boundary (h2 = 1), as the model's fit_info["boundary"]
        out["boundary_residual"] = converged & (self.lam_max > 0) & (delta >= self.delta_max)
        return out


class _Progress:
    """A tqdm bar that appears once a run has lasted about a second (``progress=None``),
    always (``True``) or never (``False``); tqdm is imported only when needed."""

    def __init__(self, progress, total, desc):
        self.bar = None
        if progress is False:
            return
        try:
            from tqdm.auto import tqdm
        except ImportError:
            if progress:
                warn_at_user("progress=True needs the tqdm package, which is not installed",
                              ModuleUnavailableWarning)
            return
        self.bar = tqdm(total=total, desc=desc, unit="rep", leave=False,
                        delay=0.0 if progress else 1.0)

    def update(self, k):
        if self.bar is not None:
            self.bar.update(k)

    def close(self):
        if self.bar is not None:
            self.bar.close()


def _batch_size(batch_size, nsim, refits):
    if batch_size is None:
        per = sum(r.doubles_per_replicate() for r in refits)
        return int(min(nsim, max(1, _BATCH_DOUBLES // per)))
    return min(check_count(batch_size, "batch_size"), nsim)


def _run(results, refits, nsim, seed, batch_size, progress, desc):
    """Draw ``nsim`` replicates from ``results`` in batches and refit each with every
    ``(refit, fixed_delta)`` in ``refits`` (a :class:`_BatchRefit` and the variance ratio it
    holds fixed, or None); a batch is prepared once per distinct refit. Returns one dict of
    stacked arrays per entry of ``refits``."""
    nsim = check_count(nsim, "nsim")
    size = _batch_size(batch_size, nsim, [refit for refit, _ in refits])
    _check_progress(progress)
    model = results.model
    mean_rot, sd_rot = _moments_rotated(results)
    rng = as_rng(seed)
    parts = [[] for _ in refits]
    bar = _Progress(progress, nsim, desc)
    try:
        done = 0
        while done < nsim:
            b = min(size, nsim - done)
            noise = sd_rot * rng.standard_normal((b, model.decomposition.n))
            batches = {}
            for (refit, fixed_delta), store in zip(refits, parts):
                if refit not in batches:
                    batches[refit] = refit.prepare(mean_rot, noise, source=model)
                store.append(refit.fit(batches[refit], fixed_delta))
            done += b
            bar.update(b)
    finally:
        bar.close()
    return [{key: np.concatenate([d[key] for d in store]) for key in store[0]}
            for store in parts], size


# -- several variance components: draws and refits on the engine --------------------------

def _components_of(model):
    """The engine's components of a model: those of its covariance structure, or for the
    single-kinship model its kinship as one relationship component (one record per
    individual)."""
    if model.structure is not None:
        return model.structure.components
    if model.kinship is None:
        raise ValueError("the model's data were removed (remove_data()): the refits need them")
    n = model.kinship.shape[0]
    return [Component(model.component_name, "relationship", codes=np.arange(n),
                      matrix=model.kinship)]


def _engine_of(model):
    """The block likelihood of a model: its own (several components), or one built for a
    single-kinship model (used when it is compared with a model with several components)."""
    if model._engine is not None:
        return model._engine
    components = _components_of(model)  # raises when the data were removed
    exog = model.exog[:, ~np.asarray(model.aliased)]
    with serial_blas():
        return BlockLikelihood(CovarianceStructure(exog.shape[0], components), exog,
                               model.endog - exog @ model._endog_offset)


def _relationship_factor(component):
    """Factors ``F`` (``F F' = K`` on each block) of the independent blocks of a
    relationship component (:meth:`Component.level_blocks`), as ``(levels, F)``: a Cholesky
    factor where the block is positive definite, else ``V diag(sqrt(max(w, 0)))`` from its
    eigendecomposition ``V diag(w) V'`` (a positive semidefinite singular block: twins, a
    genomic matrix); exact either way."""
    out = []
    for levels, blocks in component.level_blocks():
        try:
            factors = np.linalg.cholesky(blocks)
        except np.linalg.LinAlgError:  # some block singular: one at a time
            factors = np.empty_like(blocks)
            for b, block in enumerate(blocks):
                try:
                    factors[b] = linalg.cholesky(block, lower=True, check_finite=False)
                except linalg.LinAlgError:
                    w, v = linalg.eigh(block, check_finite=False)
                    factors[b] = v * np.sqrt(np.clip(w, 0.0, None))
        out.append((levels, factors))
    return out


class _ComponentSampler:
    """Draws ``y* - X b = sum_j Z_j u_j + e`` from a model with several variance components,
    ``u_j ~ N(0, s_j^2 K_j)`` (a relationship component, through a factor of each connected
    block of ``K_j``) or ``N(0, s_j^2 I)`` (a grouping component), ``e ~ N(0, s_e^2 I)``.

    Parameters
    ----------
    model : KinshipMixedLM
    coef : ndarray
        Fixed effects of the non-aliased columns.
    variances : array_like
        ``s_1^2, ..., s_m^2, s_e^2``.

    Each replicate takes one row of standard normal numbers from the generator: the
    effects of each component (its levels in order), then the residuals; so a replicate
    does not depend on the batch it is drawn in.
    """

    def __init__(self, model, coef, variances):
        self.components = _components_of(model)
        exog = model.exog[:, ~np.asarray(model.aliased)]
        self.n = exog.shape[0]
        self.coef = np.asarray(coef, dtype=float)
        self.mean = exog @ self.coef
        self.sd = np.sqrt(np.asarray(variances, dtype=float))
        self.sizes = [c.n_levels if c.design is None else c.design.shape[1]
                      for c in self.components]
        self.width = int(sum(self.sizes)) + self.n
        # a factor only for components that contribute (a null fit holds some at 0)
        # (a relationship given by its sparse inverse draws its effects itself)
        self.factors = [_relationship_factor(c)
                        if c.kind == "relationship" and sd > 0 and not hasattr(c, "draw")
                        else None for c, sd in zip(self.components, self.sd)]

    def draw(self, rng, size):
        """``size`` draws of ``y* - X b``, shape (size, n)."""
        z = rng.standard_normal((size, self.width))
        noise = self.sd[-1] * z[:, self.width - self.n:]
        start = 0
        for comp, sd, q, factor in zip(self.components, self.sd, self.sizes, self.factors):
            zc = z[:, start:start + q]
            start += q
            if sd == 0:
                continue
            if hasattr(comp, "draw"):
                zc = comp.draw(zc)
            elif factor is not None:
                u = np.empty_like(zc)
                for levels, f in factor:  # one product per block and replicate (the same
                    # arithmetic whatever the batch: replicates do not depend on it)
                    u[:, levels] = np.matmul(f, zc[:, levels][..., None])[..., 0]
                zc = u
            noise += sd * comp.expand(zc)
        return noise


def _sampler(results, coef=None, variances=None):
    """The :class:`_ComponentSampler` of a fit (its estimates unless others are given)."""
    model = results.model
    if coef is None:
        coef = np.asarray(results.params, dtype=float)[~np.asarray(model.aliased)]
    if variances is None:
        variances = np.asarray(results.vcomp, dtype=float)
    return _ComponentSampler(model, coef, variances)


class _EngineRefit:
    """Refits of one model (REML or ML) on the engine's block likelihood, one replicate at a
    time: :meth:`BlockLikelihood.maximize` from a given start (no grid), on the replicate's
    deviation from the simulating mean (which lies in the span of X: GLS is equivariant and
    the likelihood does not depend on it)."""

    def __init__(self, model, reml):
        self.engine = _engine_of(model)
        self.reml = bool(reml)
        self.m = self.engine.m
        self.dof = self.engine.n - self.engine.p if self.reml else self.engine.n

    def refit(self, noise, start, fixed=None):
        """The engine on ``noise`` and its maximum from ``start``: ``(engine, gamma, llf,
        converged)`` (NaN and False when a factorisation fails)."""
        eng = self.engine.with_endog(noise)
        try:
            gamma, llf, info = eng.maximize(self.reml, start=start, fixed=fixed)
        except (np.linalg.LinAlgError, linalg.LinAlgError):
            return eng, np.full(self.m, np.nan), np.nan, False
        return eng, gamma, llf, bool(info["converged"])

    def estimates(self, eng, gamma):
        """Fixed effects (of the deviation), their standard errors, the variance components
        and their covariance at ``gamma``, as :class:`KinshipMixedLMResults` computes them."""
        sol = eng.solve(gamma)
        scale = sol["rss"] / self.dof
        bse = np.sqrt(scale * np.diag(chol_inverse(sol["chol_A"])))
        cov = vcomp_covariance(eng.information(gamma, scale, self.reml), gamma)
        return sol["params"], bse, np.r_[gamma * scale, scale], cov


def _run_engine(sampler, replicate, nsim, seed, batch_size, progress, desc):
    """Draw ``nsim`` replicates from ``sampler`` in batches and apply ``replicate`` (noise ->
    dict of values) to each; returns the values stacked per key and the batch size."""
    nsim = check_count(nsim, "nsim")
    if batch_size is None:
        size = int(min(nsim, max(1, _BATCH_DOUBLES // (2 * sampler.width))))
    else:
        size = min(check_count(batch_size, "batch_size"), nsim)
    _check_progress(progress)
    rng = as_rng(seed)
    rows = []
    bar = _Progress(progress, nsim, desc)
    try:
        with serial_blas():  # many small factorisations
            while len(rows) < nsim:
                noise = sampler.draw(rng, min(size, nsim - len(rows)))
                rows.extend(replicate(row) for row in noise)
                bar.update(len(noise))
    finally:
        bar.close()
    return {key: np.array([r[key] for r in rows]) for key in rows[0]}, size


def _bootstrap_components(results, nsim, seed, batch_size, progress):
    """The replicates of :func:`parametric_bootstrap` for a fit with several components."""
    model = results.model
    refit = _EngineRefit(model, results.reml)
    sampler = _sampler(results)
    start = np.asarray(results.gamma, dtype=float)
    fixed = np.ones(refit.m, dtype=bool) if results.fit_info.get("fixed_ratio") else None
    k = refit.m + 1

    def replicate(noise):
        eng, gamma, llf, converged = refit.refit(noise, start, fixed)
        if not np.all(np.isfinite(gamma)):
            nan = np.full(len(sampler.coef), np.nan)
            return {"params": nan, "bse": nan, "vcomp": np.full(k, np.nan),
                    "vcomp_cov": np.full((k, k), np.nan), "gamma": gamma, "llf": llf,
                    "converged": False}
        params, bse, vcomp, cov = refit.estimates(eng, gamma)
        return {"params": params + sampler.coef, "bse": bse, "vcomp": vcomp, "vcomp_cov": cov,
                "gamma": gamma, "llf": llf, "converged": converged}

    out, size = _run_engine(sampler, replicate, nsim, seed, batch_size, progress, "bootstrap")
    out["bse_vcomp"] = np.sqrt(np.diagonal(out["vcomp_cov"], axis1=1, axis2=2))
    out["shares"], out["bse_shares"] = variance_shares(
        out["vcomp"], out["vcomp_cov"], np.r_[refit.engine.scales, 1.0])
    first = model._first_relationship
    out["h2"] = out["shares"][:, first] if first is not None else np.full(len(out["llf"]),
                                                                          np.nan)
    out["bse_h2"] = (out["bse_shares"][:, first] if first is not None
                     else np.full(len(out["llf"]), np.nan))
    return out, size


def parametric_bootstrap(results, nsim=1000, seed=None, batch_size=None, progress=None):
    r"""
    Parametric bootstrap of a kinship mixed model fit.

    Draws ``nsim`` responses from the fitted model, ``y* = X b + g* + e*`` with
    ``g* ~ N(0, s_k^2 K)`` and ``e* ~ N(0, s_e^2 I)`` at the estimates, and refits each of them
    exactly with the fit's method (REML or ML), each replicate to its own optimum.

    Parameters
    ----------
    results : KinshipMixedLMResults
        The fit. Aliased columns are left out of the simulation and of the refits (their
        replicates are NaN). A fit with the variance ratio held fixed (``kinship_ratio``) is
        refitted at that ratio.
    nsim : int
        Number of replicates.
    seed : None, int, numpy.random.SeedSequence or numpy.random.Generator
        Passed to :func:`numpy.random.default_rng`. The same seed gives the same replicates,
        whatever the batch size.
    batch_size : int, optional
        Replicates refitted together. By default chosen from n, the rank of X and the size of
        the reduced problem so that a batch needs about 32 MiB.
    progress : None or bool
        A tqdm progress bar: shown when the run lasts longer than about a second (None), always
        (True) or never (False). tqdm is optional.

    Returns
    -------
    KinshipBootstrapResults

    Notes
    -----
    Replicates are drawn and refitted in the rotated space of the model's decomposition of K;
    no replicate decomposes K or rotates data again. See the module docstring
    (:mod:`statsmodels_kinship.bootstrap`) for the batched refit. Each replicate is refitted
    as its deviation from the simulating mean ``X b`` (the coefficients added back), so a
    trait far from zero loses no precision: the replicates are invariant to ``y + c``.

    With several variance components (``results.delta is None``) the replicates are drawn as
    :func:`simulate` draws them and each is refitted by the model's likelihood engine
    (:meth:`~statsmodels_kinship._engine.BlockLikelihood.maximize`) from the fit's variance
    ratios ``results.gamma`` (the starting grid of ``fit()`` is skipped), again on its
    deviation from ``X b``. The results then hold every component (``vcomp``, ``gamma``),
    every share of the variance (``shares``) and ``h2``, the share of the first relationship
    component.

    Boundary estimates are valid replicates, counted and used in the intervals: ``s_k^2 =
    0`` (``delta = 0``, ``n_boundary_kinship``) and, with a positive definite K, ``s_e^2 =
    0`` (``h2 = 1`` to about 1e-6, ``n_boundary_residual``), where the likelihood is highest
    at the end of the model's search and has a finite limit beyond it (the rule of
    :meth:`~statsmodels_kinship._spectral.ProfiledLikelihood.maximize`: every replicate is
    what ``model.fit()`` gives for its response). A replicate whose refit does not converge
    (the likelihood unbounded as ``s_e^2 -> 0``: a singular K) is kept in the
    replicate tables with ``converged`` False, counted in ``n_failed``, reported in a warning
    and in the summary, and left out of the intervals.

    References
    ----------
    Davison, A. C. and Hinkley, D. V. (1997). Bootstrap Methods and their Application.
    Cambridge University Press.

    Harville, D. A. (1974). Bayesian inference for variance components using only error
    contrasts. Biometrika 61, 383-385.

    Examples
    --------
    >>> import numpy as np
    >>> import statsmodels_kinship as smk
    >>> from statsmodels_kinship.bootstrap import parametric_bootstrap
    >>> rng = np.random.default_rng(0)
    >>> block = np.array([[2, 0, 1, 1], [0, 2, 1, 1], [1, 1, 2, 1], [1, 1, 1, 2]]) / 4
    >>> K = np.kron(np.eye(50), block)  # 50 families: two parents, two children
    >>> X = np.column_stack([np.ones(200), rng.normal(size=200)])
    >>> y = X @ [1.0, 0.5] + rng.multivariate_normal(np.zeros(200), K) + rng.normal(size=200)
    >>> res = smk.KinshipMixedLM(y, X, kinship=K).fit()
    >>> boot = parametric_bootstrap(res, nsim=199, seed=1, progress=False)
    >>> boot.params.shape
    (199, 2)
    >>> ci = boot.conf_int(method="percentile")
    """
    start = time.perf_counter()
    _check_results(results)
    nsim = check_count(nsim, "nsim")
    _unidentified(results, "parametric_bootstrap")
    model = results.model
    if results.delta is None:  # several variance components: the engine
        out, size = _bootstrap_components(results, nsim, seed, batch_size, progress)
    else:
        fixed = results.delta if results.fit_info.get("fixed_ratio") else None
        refits = [(_batch_refit(model, results.reml), fixed)]
        (out,), size = _run(results, refits, nsim, seed, batch_size, progress, "bootstrap")
    boot = KinshipBootstrapResults(results, out, seed=seed, batch_size=size,
                                   elapsed=time.perf_counter() - start)
    if boot.n_failed:
        warn_at_user(
            f"{boot.n_failed} of {boot.nsim} bootstrap replicates did not converge (the "
            "model's search did not settle, e.g. a singular kinship with the residual "
            "variance near zero); they are kept in the replicate tables with converged == "
            f"False and left out of the intervals, which use {boot.n_used}",
            ConvergenceWarning)
    return boot


def _dh_quantile(values, probs):
    """Davison & Hinkley's order-statistic quantile ``t*_((R+1) alpha)`` of the sorted
    ``values`` (eq. 5.8: interpolation on the normal quantile scale between adjacent order
    statistics; boot's ``norm.inter``); the extreme order statistics where ``(R+1) alpha``
    falls outside ``[1, R]``."""
    r = len(values)
    probs = np.asarray(probs, dtype=float)
    rk = (r + 1) * probs
    k = np.floor(rk + 1e-9 * np.maximum(rk, 1)).astype(int)  # (R+1) alpha integer up to rounding
    exact = np.abs(rk - k) <= 1e-9 * np.maximum(rk, 1)
    out = np.empty(len(probs))
    for j in range(len(probs)):
        if k[j] <= 0:
            out[j] = values[0]
        elif k[j] >= r:
            out[j] = values[r - 1]
        elif exact[j]:
            out[j] = values[k[j] - 1]
        else:
            z = stats.norm.ppf([probs[j], k[j] / (r + 1), (k[j] + 1) / (r + 1)])
            lo, hi = values[k[j] - 1], values[k[j]]
            out[j] = lo + (z[0] - z[1]) / (z[2] - z[1]) * (hi - lo)
    return out


def _check_interval_args(alpha, method, method_name="method"):
    """``alpha`` as a float in (0, 1) and ``method`` one of :data:`_METHODS`, or an error
    naming the argument."""
    return check_alpha(alpha), check_choice(method, method_name, _METHODS)


def bootstrap_interval(estimate, replicates, alpha=0.05, method="studentized", bse=None,
                       bse_replicates=None):
    r"""
    Davison & Hinkley's bootstrap confidence interval for one parameter.

    Parameters
    ----------
    estimate : float
        The estimate ``t`` from the data.
    replicates : array_like
        Its bootstrap replicates ``t*_1 .. t*_R`` (non-finite values are left out).
    alpha : float
        One minus the coverage; the interval has ``alpha / 2`` in each tail.
    method : {'studentized', 'percentile', 'basic', 'normal'}
    bse, bse_replicates : float and array_like
        Standard error of the estimate and of each replicate (studentized only).

    Returns
    -------
    ndarray, shape (2,)
        Lower and upper limits; NaN when no replicate is usable.

    Notes
    -----
    With ``t*_((R+1)a)`` the order statistic of Davison & Hinkley (1997, eq. 5.8;
    interpolated on the normal scale when ``(R+1)a`` is not an integer, as R's
    ``boot::norm.inter``) and ``z* = (t* - t) / se*``:

    * normal (eq. 5.5): ``t - (mean(t*) - t) -/+ z_{1-alpha/2} sd(t*)``;
    * basic (eq. 5.6): ``2t - t*_((R+1)(1-alpha/2)), 2t - t*_((R+1)alpha/2)``;
    * studentized (eq. 5.7): ``t - se z*_((R+1)(1-alpha/2)), t - se z*_((R+1)alpha/2)``;
    * percentile (eq. 5.18): ``t*_((R+1)alpha/2), t*_((R+1)(1-alpha/2))``.

    The intervals are not truncated to the parameter space here (this function does not
    know it): for a variance near zero the basic, normal and studentized intervals can reach
    below zero. :meth:`KinshipBootstrapResults.conf_int_vcomp` clips them to it.
    """
    alpha, method = _check_interval_args(alpha, method)
    t = np.asarray(replicates, dtype=float)
    if t.ndim != 1:
        raise ValueError(f"replicates must be 1-D (one value per replicate), got shape {t.shape}")
    probs = np.array([alpha / 2, 1 - alpha / 2])
    if method == "studentized":
        if bse is None or bse_replicates is None:
            raise ValueError("the studentized interval needs bse and bse_replicates")
        bse_replicates = np.asarray(bse_replicates, dtype=float)
        if bse_replicates.shape != t.shape:
            raise ValueError(f"bse_replicates must have one value per replicate ({len(t)}), "
                             f"got shape {bse_replicates.shape}")
        with np.errstate(divide="ignore", invalid="ignore"):
            t = (t - estimate) / bse_replicates
    t = np.sort(t[np.isfinite(t)])
    if not len(t) or not np.isfinite(estimate):
        return np.full(2, np.nan)
    if method == "normal":
        bias = t.mean() - estimate
        half = stats.norm.ppf(1 - alpha / 2) * (t.std(ddof=1) if len(t) > 1 else np.nan)
        return np.array([estimate - bias - half, estimate - bias + half])
    q = _dh_quantile(t, probs)
    if method == "percentile":
        return q
    if method == "basic":
        return 2 * estimate - q[::-1]
    return estimate - bse * q[::-1]


class KinshipBootstrapResults:
    """
    Replicates of a parametric bootstrap of a kinship mixed model fit.

    Made by :func:`parametric_bootstrap`; every table has one row per replicate.

    Attributes
    ----------
    results : KinshipMixedLMResults
        The fit the replicates were drawn from.
    params, bse : pandas.DataFrame, shape (nsim, k)
        Fixed effects of each replicate and their standard errors, labelled like
        ``results.params`` (aliased columns NaN).
    vcomp, bse_vcomp : pandas.DataFrame, shape (nsim, 2)
        Variance components ``kinship`` (``s_k^2``) and ``residual`` (``s_e^2``) of each
        replicate and their standard errors (observed information); with several variance
        components one column per component and ``residual`` (``results.vcomp.index``).
    h2, bse_h2, llf, delta : pandas.Series
        Heritability with its delta-method standard error, log-likelihood (restricted under
        REML) and variance ratio of each replicate; ``delta`` is the end of the model's
        search, ``exp(DELTA_LOG_MAX) / delta_scale`` (h2 = 1 to about 1e-6), for a replicate
        estimated at ``s_e^2 = 0``, as ``model.fit()`` reports it. With several variance
        components ``delta`` is None and ``h2`` is the share of the first relationship
        component (NaN without one).
    gamma, shares, bse_shares : pandas.DataFrame
        With several variance components only (else None): the variance ratios
        ``s_j^2 / s_e^2`` of each replicate (one column per component), and the share of
        the variance of each component and the residual with its delta-method standard
        error (as ``results.variance_shares``).
    n_boundary : pandas.Series
        With several variance components only (else None): per component, the converged
        replicates estimated at 0.
    converged : pandas.Series of bool
        False for a replicate whose refit did not converge; such replicates are kept in the
        tables, left out of the intervals and counted in ``n_failed`` (with a warning).
    n_failed : int
        Number of replicates that did not converge.
    n_used : int
        Number of replicates the intervals use (``nsim - n_failed``).
    n_boundary_kinship, n_boundary_residual : int
        Converged replicates estimated on the boundary: ``s_k^2 = 0`` (``delta = 0``,
        ``h2 = 0``) and ``s_e^2 = 0`` (the end of the search, ``h2 = 1`` to about 1e-6;
        ``fit_info["boundary"] == "residual"`` in a fit). Both are valid estimates
        and are used in the intervals. With several variance components
        ``n_boundary_kinship`` counts the first relationship component at 0 and
        ``n_boundary_residual`` is 0 (the engine keeps ``s_e^2 > 0``).
    nsim, seed, batch_size, elapsed
        Number of replicates, the seed given, the batch size used and the run time (s).
    """

    def __init__(self, results, out, seed=None, batch_size=None, elapsed=np.nan):
        self.results = results
        model = results.model
        names = list(model.exog_names)
        kept = ~np.asarray(model.aliased)
        nsim = len(out["llf"])
        index = pd.RangeIndex(nsim, name="replicate")

        def fixed_effects(values):  # the kept columns, NaN in the aliased ones
            full = np.full((nsim, len(names)), np.nan)
            full[:, kept] = values
            return pd.DataFrame(full, index=index, columns=names)

        self.params = fixed_effects(out["params"])
        self.bse = fixed_effects(out["bse"])
        vcomp_names = list(results.vcomp.index)
        self.vcomp = pd.DataFrame(out["vcomp"], index=index, columns=vcomp_names)
        self.bse_vcomp = pd.DataFrame(out["bse_vcomp"], index=index, columns=vcomp_names)
        self.h2 = pd.Series(out["h2"], index=index, name="h2")
        self.bse_h2 = pd.Series(out["bse_h2"], index=index, name="bse_h2")
        self.llf = pd.Series(out["llf"], index=index, name="llf")
        self.converged = pd.Series(np.asarray(out["converged"], dtype=bool), index=index,
                                   name="converged")
        self.n_failed = int((~self.converged).sum())
        self.n_used = nsim - self.n_failed
        ok = self.converged.to_numpy()
        self.delta = self.gamma = self.shares = self.bse_shares = self.n_boundary = None
        if "gamma" in out:  # several variance components
            names = list(model.component_names)
            self.gamma = pd.DataFrame(out["gamma"], index=index, columns=names)
            self.shares = pd.DataFrame(out["shares"], index=index, columns=vcomp_names)
            self.bse_shares = pd.DataFrame(out["bse_shares"], index=index, columns=vcomp_names)
            self.n_boundary = pd.Series((ok[:, None] & (out["gamma"] == 0)).sum(axis=0),
                                        index=names, name="at zero")
            first = model._first_relationship
            self.n_boundary_kinship = 0 if first is None else int(self.n_boundary.iloc[first])
            self.n_boundary_residual = 0
        else:
            self.delta = pd.Series(out["delta"], index=index, name="delta")
            delta = self.delta.to_numpy()
            self.n_boundary_kinship = int(np.sum(ok & (delta == 0)))
            at_residual = np.asarray(out.get("boundary_residual", np.zeros(nsim, dtype=bool)))
            self.n_boundary_residual = int(np.sum(ok & at_residual))
        self.nsim = nsim
        self.seed = seed
        self.batch_size = batch_size
        self.elapsed = elapsed
        self.method = results.method

    def __repr__(self):
        if self.n_boundary is not None:
            at_zero = ", ".join(f"{n} {c}" for n, c in self.n_boundary.items())
            return (f"<KinshipBootstrapResults: {self.nsim} replicates ({self.method}), "
                    f"{self.n_failed} failed; at 0: {at_zero}>")
        return (f"<KinshipBootstrapResults: {self.nsim} replicates ({self.method}), "
                f"{self.n_failed} failed, {self.n_boundary_kinship} at s_k^2 = 0, "
                f"{self.n_boundary_residual} at s_e^2 = 0>")

    def _vcomp_rows(self):
        """The rows of :meth:`conf_int_vcomp`: labels, the fit's estimates and standard
        errors, the replicates and their standard errors, and the upper limits of the
        parameter space."""
        res = self.results
        vnames = list(self.vcomp.columns)
        if self.shares is None:
            return (vnames + ["h2"], np.r_[np.asarray(res.vcomp, dtype=float), res.h2],
                    np.r_[np.asarray(res.bse_vcomp, dtype=float), res.bse_h2],
                    np.column_stack([self.vcomp, self.h2]),
                    np.column_stack([self.bse_vcomp, self.bse_h2]),
                    np.array([np.inf, np.inf, 1.0]))
        labels = vnames + [f"{name}_share" for name in vnames]
        shares = res.variance_shares
        k = len(vnames)
        return (labels, np.r_[np.asarray(res.vcomp, dtype=float), shares["share"]],
                np.r_[np.asarray(res.bse_vcomp, dtype=float), shares["std. error"]],
                np.column_stack([self.vcomp, self.shares]),
                np.column_stack([self.bse_vcomp, self.bse_shares]),
                np.r_[np.full(k, np.inf), np.ones(k)])

    def _table(self, estimate, se, reps, reps_se, alpha, method, index):
        ok = self.converged.to_numpy()
        reps = np.asarray(reps, dtype=float)[ok]
        reps_se = np.asarray(reps_se, dtype=float)[ok]
        ci = np.full((len(index), 2), np.nan)
        for j in range(len(index)):
            if np.isfinite(estimate[j]):
                usable = np.isfinite(reps[:, j])
                if method == "studentized":
                    usable &= np.isfinite(reps_se[:, j]) & (reps_se[:, j] > 0)
                if not usable.all():  # never silently: say how many and why
                    what = "estimate" if method != "studentized" else "estimate or std. error"
                    warn_at_user(
                        f"{int((~usable).sum())} of the {len(usable)} converged replicates have "
                        f"a non-finite {what} of {index[j]} and are left out of its {method} "
                        "interval", ValueWarning)
                ci[j] = bootstrap_interval(estimate[j], reps[:, j], alpha, method, bse=se[j],
                                           bse_replicates=reps_se[:, j])
        return pd.DataFrame(ci, index=index, columns=[0, 1])

    def _check_extreme(self, alpha):
        r = int(self.converged.sum())
        if not (1 < (r + 1) * alpha / 2 and (r + 1) * (1 - alpha / 2) < r):  # as boot
            warn_at_user(f"{r} replicates are too few for alpha = {alpha}: extreme order "
                          "statistics are used as endpoints", ValueWarning)

    def conf_int(self, alpha=0.05, method="studentized"):
        """
        Bootstrap confidence intervals of the fixed effects.

        Parameters
        ----------
        alpha : float
            The intervals have coverage ``1 - alpha``.
        method : {'studentized', 'percentile', 'basic', 'normal'}
            Davison & Hinkley's definitions (see :func:`bootstrap_interval`). The
            studentized interval uses each replicate's standard errors and the fit's.

        Returns
        -------
        pandas.DataFrame
            Labelled like ``results.conf_int()``: one row per coefficient (aliased rows
            NaN), columns 0 (lower) and 1 (upper). Replicates that did not converge are left
            out.
        """
        alpha, method = _check_interval_args(alpha, method)
        if method != "normal":
            self._check_extreme(alpha)
        res = self.results
        return self._table(np.asarray(res.params, dtype=float),
                           np.asarray(res.bse, dtype=float), self.params, self.bse, alpha,
                           method, self.params.columns)

    def conf_int_vcomp(self, alpha=0.05, method="percentile"):
        """
        Bootstrap confidence intervals of the variance components and of h2.

        Parameters
        ----------
        alpha : float
        method : {'percentile', 'basic', 'normal', 'studentized'}
            As in :meth:`conf_int`; the studentized interval uses the observed-information
            standard errors of each replicate (``bse_vcomp``, ``bse_h2``).

        Returns
        -------
        pandas.DataFrame
            Rows ``kinship`` (``s_k^2``), ``residual`` (``s_e^2``) and ``h2``; columns
            ``lower`` and ``upper``, as :meth:`KinshipMixedLMResults.profile_conf_int`.
            With several variance components: one row per component and ``residual``, then
            their shares of the variance (``results.variance_shares``) named as in
            :func:`~statsmodels_kinship.inference.profile_conf_int`, ``"<name>_share"``
            (e.g. ``kinship, household, residual, kinship_share, household_share,
            residual_share``); h2 is the share of the first relationship component.

        Notes
        -----
        The limits are clipped to the parameter space: variances to ``[0, inf)``, h2 and the
        shares to ``[0, 1]`` (the basic, normal and studentized intervals, which reflect or
        shift the replicates, can otherwise reach below 0 near the boundary; the percentile
        interval lies inside it already). Replicates on the boundary (``s_k^2 = 0``, or ``s_e^2 = 0``
        where h2 = 1) are valid estimates and are used; their numbers are
        ``n_boundary_kinship`` and ``n_boundary_residual``.
        """
        alpha, method = _check_interval_args(alpha, method)
        if not self.results.identified:
            raise ValueError("conf_int_vcomp: the variance components of the fit are not "
                             "identified (" + self.results.fit_info["identifiability"] + "): "
                             "their bootstrap distribution is arbitrary")
        if method != "normal":
            self._check_extreme(alpha)
        labels, est, se, reps, reps_se, upper = self._vcomp_rows()
        table = self._table(est, se, reps, reps_se, alpha, method, labels)
        return table.clip(lower=0.0, upper=upper[:, None]).set_axis(["lower", "upper"], axis=1)

    def summary(self, alpha=0.05, method="studentized", vcomp_method="percentile"):
        """
        Summarize the bootstrap.

        Parameters
        ----------
        alpha : float
        method : str
            Interval shown for the fixed effects (see :meth:`conf_int`).
        vcomp_method : str
            Interval shown for the variance components and h2 (see :meth:`conf_int_vcomp`).

        Returns
        -------
        statsmodels.iolib.summary2.Summary
        """
        alpha, method = _check_interval_args(alpha, method)
        vcomp_method = _check_interval_args(alpha, vcomp_method, "vcomp_method")[1]
        res = self.results
        ok = self.converged.to_numpy()
        smry = summary2.Summary()
        smry.add_title("Parametric bootstrap of a Kinship Linear Mixed Model")
        used = max(self.n_used, 1)
        info = {
            "Replicates:": f"{self.nsim}",
            "Failed (not converged):": f"{self.n_failed}",
            "Method:": self.method,
            "Used in intervals:": f"{self.n_used}",
            "Seed:": f"{self.seed}",
        }
        if self.n_boundary is None:
            info.update({
                "At s_k^2 = 0 (h2 = 0):": (f"{self.n_boundary_kinship} "
                                           f"({self.n_boundary_kinship / used:.1%})"),
                "Time (s):": f"{self.elapsed:.2f}",
                "At s_e^2 = 0 (h2 = 1):": (f"{self.n_boundary_residual} "
                                           f"({self.n_boundary_residual / used:.1%})")})
        else:
            info["Time (s):"] = f"{self.elapsed:.2f}"
            for name, count in self.n_boundary.items():
                info[f"At {name} = 0:"] = f"{count} ({count / used:.1%})"
        smry.add_dict(info, ncols=2)
        lo, hi = f"[{alpha / 2:.3f}", f"{1 - alpha / 2:.3f}]"
        params = self.params[ok]
        ci = self.conf_int(alpha, method)
        est = np.asarray(res.params, dtype=float)
        table = pd.DataFrame({
            "Coef.": est, "Std.Err.": np.asarray(res.bse, dtype=float),
            "Boot.SE": params.std(ddof=1).to_numpy(),
            "Bias": params.mean().to_numpy() - est, lo: ci[0].to_numpy(), hi: ci[1].to_numpy(),
        }, index=self.params.columns)
        fmt = table.apply(lambda col: col.map(lambda v: f"{v:.4f}"))
        fmt.loc[np.asarray(res.model.aliased)] = ["(aliased)"] + [""] * (fmt.shape[1] - 1)
        smry.add_df(fmt)
        vci = self.conf_int_vcomp(alpha, vcomp_method)
        labels, vest, vse, reps = self._vcomp_rows()[:4]
        reps = reps[ok]
        if self.shares is None:
            labels = ["Kinship var (s_k^2)", "Residual var (s_e^2)", "Heritability (h2)"]
        else:
            k = len(self.vcomp.columns)
            labels = [f"{name} var" for name in labels[:k]] + [
                f"{name} share" for name in labels[:k]]
        vtable = pd.DataFrame({
            "Estimate": vest, "Std.Err.": vse,
            "Boot.SE": reps.std(axis=0, ddof=1), "Bias": reps.mean(axis=0) - vest,
            lo: vci["lower"].to_numpy(), hi: vci["upper"].to_numpy(),
        }, index=labels)
        smry.add_df(vtable.apply(lambda col: col.map(lambda v: f"{v:.4f}")))
        from .kinship_mixed_model import KinshipMixedLMResults  # (it imports this module)

        KinshipMixedLMResults._equal_widths(smry)
        # which interval each table shows is said in the notes below the tables (summary2
        # prints every text after the tables: a heading would dangle there)
        if self.shares is None:
            notes = [f"Fixed effects with {method} intervals, variance components and h2 with "
                     f"{vcomp_method} intervals, as defined by Davison & Hinkley (1997), from "
                     f"the {int(ok.sum())} converged replicates; Std.Err. is the fit's (Wald), "
                     "Boot.SE the standard deviation of the replicates. Variance intervals are "
                     "clipped to [0, inf), h2 to [0, 1]; replicates on the boundary (s_k^2 = 0 "
                     "or s_e^2 = 0) are valid estimates and are used."]
        else:
            notes = [f"Fixed effects with {method} intervals, variance components and their "
                     f"shares of the variance with {vcomp_method} intervals, as defined by "
                     f"Davison & Hinkley (1997), from the {int(ok.sum())} converged replicates, "
                     "each refitted from the fit's variance ratios; Std.Err. is the fit's "
                     "(Wald), Boot.SE the standard deviation of the replicates; h2 is the share "
                     "of the first relationship component (results.variance_shares). Variance "
                     "intervals are clipped to [0, inf), shares to [0, 1]; replicates with a "
                     "component at 0 are valid estimates and are used."]
        if self.n_failed:
            notes.append(f"{self.n_failed} replicates did not converge and are left out of "
                         "the intervals.")
        for note in notes:
            smry.add_text(note)
        return smry
