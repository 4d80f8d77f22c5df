r"""Genome-wide association scan on a fitted null :class:`KinshipMixedLM`.

For every SNP the null model (covariates + kinship) is extended by that SNP and tested. The
null model's eigendecomposition ``K = U diag(lam) U'`` is reused: each block of genotypes is
rotated once (``U' G``), after which every SNP is a one-dimensional problem in the variance
ratio ``delta = s_k^2 / s_e^2``, solved for all SNPs of the block at once.

Two methods:

* ``'exact'`` -- GEMMA's ``-lmm 4`` (Zhou and Stephens 2012): for each SNP its own REML
  ratio for the Wald test, an ML fit for the likelihood-ratio test, and a score test at the
  null model's ML ratio.
* ``'fixed'`` -- the ratio held at the null model's estimate for every SNP (EMMAX, P3D,
  FaST-LMM's default), a fast screen.

Private numerics, briefly. For a block of SNPs the (c+2) x (c+2) matrix
``M(delta) = [W x y]' diag(1 / (delta lam + 1)) [W x y]`` (rotated covariates W, SNP x,
phenotype y) is all that the likelihood needs. Its SNP-dependent entries are linear in the
weights, so they are computed for many SNPs at once as matrix products against a few weight
vectors:

* eigenvalues in few groups (a family kinship: 9 distinct values for the seed study): one
  weight vector per group, and ``M(delta)`` is exact for every ``delta``;
* otherwise: exact ``M`` on a grid of ``delta`` values (global search), then a Taylor
  expansion in ``delta`` about the centre ``c`` of each SNP's bracket (weights
  ``w_c (lam w_c)^k``, ``w_c = 1 / (c lam + 1)``), accurate to rounding inside the bracket,
  for the Newton iterations.

From ``M`` a sweep (Gaussian elimination of the covariates, differentiated twice in
``delta`` alongside) gives the profiled criteria and their first two derivatives, from which
the model's own search (:func:`~statsmodels_kinship._spectral.maximize_ratio`, that of
``KinshipMixedLM.fit``) finds every SNP's optimum at once.

A null model with several variance components (or repeated records: ``results.delta is
None``) is scanned on its own block likelihood (:mod:`~statsmodels_kinship._engine`):
``'fixed'`` whitens by the Cholesky factor of ``H = I + sum_j gamma_j W_j`` at the null
model's ratios, block by block, after which each SNP is ordinary least squares;
``'exact'`` refits each SNP model's ratios with the engine (REML, and ML for the
likelihood-ratio test), started at the null model's estimates.
"""
import os
import uuid
import warnings

import numpy as np
import pandas as pd
from scipy import sparse, stats

from ._spectral import (LOG_2PI, RatioCriterion, delta_scale, group_eigenvalues,
                        maximize_ratio, serial_blas)
from ._validation import (_show, check_bool, check_choice, check_count, id_hint,
                          is_default_index, is_labelled)
from .bootstrap import _check_progress, _Progress
from .exceptions import (BinaryTraitWarning, GenotypeWarning, IdentifiabilityWarning,
                         LabelWarning, warn_at_user)
from .kinship import SparseKinship, _genotype_values, _missing_codes

__all__ = ["scan", "genomic_inflation"]


#: Flags reported in the ``flag`` column, in the order of their numeric codes.
FLAGS = ("ok", "monomorphic", "aliased", "missing", "not_converged")
_OK, _MONO, _ALIASED, _MISSING, _NOCONV = range(len(FLAGS))

_STATS = ["beta", "se", "p_wald", "p_lrt", "p_score", "delta", "delta_ml", "stat_wald",
          "stat_lrt", "stat_score", "llf_ml", "af", "n_obs", "n_missing", "flag"]
_COL = {name: i for i, name in enumerate(_STATS)}

#: Eigenvalue groups up to which the grouped (exact) representation is used.
_MAX_GROUPS = 150
#: R's rule (``lm``, lme4): a SNP is aliased when its residual on the covariates has a norm
#: below this fraction of its own norm (the rule of ``aliased_columns``).
_ALIAS_TOL = 1e-7


# ---------------------------------------------------------------------------------------------
# Numbers with two derivatives in delta
# ---------------------------------------------------------------------------------------------

class _Dual2:
    """Arrays carrying their first and second derivative in delta (forward mode)."""

    __slots__ = ("v", "d", "dd")

    def __init__(self, v, d, dd):
        self.v, self.d, self.dd = v, d, dd

    def __getitem__(self, key):
        return _Dual2(self.v[key], self.d[key], self.dd[key])

    def __add__(self, other):
        if isinstance(other, _Dual2):
            return _Dual2(self.v + other.v, self.d + other.d, self.dd + other.dd)
        return _Dual2(self.v + other, self.d, self.dd)

    __radd__ = __add__

    def __sub__(self, other):
        if isinstance(other, _Dual2):
            return _Dual2(self.v - other.v, self.d - other.d, self.dd - other.dd)
        return _Dual2(self.v - other, self.d, self.dd)

    def __mul__(self, other):
        if isinstance(other, _Dual2):
            return _Dual2(self.v * other.v, self.d * other.v + self.v * other.d,
                          self.dd * other.v + 2 * self.d * other.d + self.v * other.dd)
        return _Dual2(self.v * other, self.d * other, self.dd * other)

    __rmul__ = __mul__

    def __truediv__(self, other):
        q = self.v / other.v
        q1 = (self.d - q * other.d) / other.v
        q2 = (self.dd - 2 * q1 * other.d - q * other.dd) / other.v
        return _Dual2(q, q1, q2)

    def log(self):
        r = self.d / self.v
        return _Dual2(np.log(self.v), r, self.dd / self.v - r * r)


def _log(a):
    return a.log() if isinstance(a, _Dual2) else np.log(a)


def _sweep(m, c):
    """Eliminate the c covariates from ``M`` (..., c+2, c+2), variables ``[W, x, y]``.

    Returns ``x'Px, x'Py, y'Py`` (P the GLS projection off W) and ``log det(W'HW)``.
    Gaussian elimination of a positive definite matrix without pivoting: the LDL' (Cholesky)
    factorisation, differentiated along when ``m`` is a :class:`_Dual2`.
    """
    logdet_w = 0.0
    for _ in range(c):
        piv = m[..., 0, 0]
        col = m[..., 1:, 0]
        m = m[..., 1:, 1:] - col[..., :, None] * col[..., None, :] / piv[..., None, None]
        logdet_w = _log(piv) + logdet_w
    return m[..., 0, 0], m[..., 0, 1], m[..., 1, 1], logdet_w


def _criterion(m, logdet_v, n, c, reml):
    """``-2 x`` the profiled (restricted) log-likelihood, up to a constant."""
    pxx, pxy, pyy, logdet_w = _sweep(m, c)
    rss = pyy - pxy * pxy / pxx
    if reml:
        return _log(rss) * (n - c - 1) + logdet_v + logdet_w + _log(pxx)
    return _log(rss) * n + logdet_v


# ---------------------------------------------------------------------------------------------
# The null model, shared by every block
# ---------------------------------------------------------------------------------------------

def _warn_unidentified(results):
    """IdentifiabilityWarning when the null model's variance components are not identified."""
    if not results.identified:
        warn_at_user("scan: the null model's variance components are not identified ("
                      + results.fit_info["identifiability"] + "); each SNP's variance "
                      "ratio is arbitrary (its Wald test of beta is not affected when the "
                      "likelihood is flat in the ratio)", IdentifiabilityWarning)


class _Null:
    """What every block of the scan needs from the fitted null model (picklable): the
    single-kinship model, on the eigendecomposition of K.

    A null model's scan object (this one or :class:`_ComponentsNull`) has ``n`` (records),
    ``columns`` (of the statistics array), ``q_w`` (orthonormal basis of the covariates in
    the space of :meth:`prepare`), :meth:`prepare` (a genotype block into that space),
    :meth:`fill` (the tests of a prepared block) and :meth:`info` (the frame's attrs).
    """

    columns = _STATS

    def __init__(self, results, method, use_t):
        _warn_unidentified(results)
        model = results.model
        self.decomposition = model.decomposition
        lam = np.asarray(self.decomposition.eigenvalues, dtype=float)
        w = np.asarray(model._exog_rot, dtype=float)
        self.n, self.c = w.shape
        self.lam = lam
        self.z = np.column_stack([w, model._endog_rot])  # [W y], rotated
        self.q_w = np.linalg.qr(w)[0] if self.c else np.zeros((self.n, 0))
        lam_max = float(lam.max()) if len(lam) else 0.0
        self.lam_max = lam_max
        # the model's search (maximize_ratio) is centred on the typical eigenvalue
        self.delta_scale = delta_scale(lam)
        with serial_blas():
            self.delta_ml0, self.llf_ml0, _ = model._profile.maximize(reml=False)
        self.delta_null = float(results.delta)
        self.null_method = results.method
        self.method, self.use_t = method, bool(use_t)
        self.delta_score = self.delta_ml0 if method == "exact" else self.delta_null
        groups = group_eigenvalues(lam)  # ProfiledLikelihood's groups and group values
        self.grouped = len(groups.values) <= _MAX_GROUPS
        if self.grouped:
            self.lam_g, self.count_g = groups.values, groups.counts.astype(float)
            self.indicator = (groups.label[None, :]
                              == np.arange(len(groups.values))[:, None]).astype(float)
            self.s_g = _shared_sums(self.z, self.indicator)

    def info(self):
        return {"method": self.method, "null_method": self.null_method,
                "delta_null": self.delta_null, "delta_ml_null": self.delta_ml0,
                "llf_ml_null": self.llf_ml0, "delta_score": self.delta_score,
                "nobs": self.n, "k_covariates": self.c, "df_resid": self.n - self.c - 1,
                "use_t": self.use_t}

    def prepare(self, g):
        """Genotypes rotated by the eigenvectors of K."""
        return self.decomposition.rotate(g)

    def fill(self, xr, out, rows, flag):
        _fill(self, _Block(self, np.ascontiguousarray(xr)), out, rows, flag)


def _shared_sums(z, weights):
    """``sum_i w_mi z_ia z_ib`` for each weight vector: (m, c+1, c+1)."""
    return np.einsum("mn,na,nb->mab", weights, z, z, optimize=True)


def _snp_sums(z, xr, x2, weights):
    """SNP entries of ``M`` for each weight vector: (b, m, c+2), ``[x'W, x'y, x'x]``."""
    m, n = weights.shape
    k = z.shape[1]
    folded = (weights[:, None, :] * z.T[None, :, :]).reshape(m * k, n)
    cross = (folded @ xr).reshape(m, k, -1)
    square = weights @ x2
    return np.concatenate([cross, square[:, None, :]], axis=1).transpose(2, 0, 1)


def _assemble(s, t, c):
    """``M`` (..., c+2, c+2) in the order ``[W, x, y]`` from the shared sums ``s``
    (..., c+1, c+1) over ``[W, y]`` and the SNP sums ``t`` (..., c+2)."""
    shape = np.broadcast_shapes(s.shape[:-2], t.shape[:-1])
    q = c + 2
    out = np.empty(shape + (q, q))
    wy = np.r_[np.arange(c), c + 1]
    out[..., wy[:, None], wy[None, :]] = s
    out[..., c, wy] = t[..., :c + 1]
    out[..., wy, c] = t[..., :c + 1]
    out[..., c, c] = t[..., c + 1]
    return out


# ---------------------------------------------------------------------------------------------
# A block of SNPs in rotated space
# ---------------------------------------------------------------------------------------------

class _Grouped:
    """``M(delta)`` from per-group sums: exact for every delta (few distinct eigenvalues)."""

    def __init__(self, null, t):
        self.null, self.t = null, t  # t: (b, G, c+2)

    def evaluate(self, delta, idx=None, deriv=True):
        null = self.null
        t = self.t if idx is None else self.t[idx]
        lam, count, g = null.lam_g, null.count_g, len(null.lam_g)
        delta = np.broadcast_to(delta, np.shape(delta)[:-1] + (len(t),))
        phi = 1.0 / (delta[..., None] * lam + 1.0)
        comps = [phi] + ([-lam * phi ** 2, 2 * lam ** 2 * phi ** 3] if deriv else [])
        k = null.c + 1
        s_flat = null.s_g.reshape(g, k * k)
        ms = [_assemble((p @ s_flat).reshape(p.shape[:-1] + (k, k)),
                        np.einsum("...bg,bgj->...bj", p, t), null.c) for p in comps]
        logdet = np.log1p(delta[..., None] * lam) @ count
        if not deriv:
            return ms[0], logdet
        return (_Dual2(*ms), _Dual2(logdet, (lam * phi) @ count,
                                    -((lam * phi) ** 2) @ count))


class _Taylor:
    """``M(delta)`` from a Taylor expansion about the centre of each SNP's bracket.

    With ``w_c = 1 / (c lam + 1)``, ``u = lam w_c`` and ``a = max(u)``:
    ``1 / (delta lam + 1) = sum_k (a (c - delta))^k w_c (u / a)^k``, convergent while
    ``a |delta - c| < 1`` (scaling by ``a`` keeps every term below 1 in size); terms are
    kept until the remainder is below rounding over the whole bracket.
    """

    def __init__(self, null, xr, x2, lo, hi, eps=1e-16):
        self.null = null
        center = 0.5 * (lo + hi)
        centers, cid = np.unique(center, return_inverse=True)
        scale = null.lam_max / (centers * null.lam_max + 1.0)  # a = max_i lam_i w_c,i
        radius = np.max(0.5 * (hi - lo) * scale[cid])
        k = 1 if radius <= 0 else int(np.clip(np.ceil(np.log(eps) / np.log(radius)), 1, 120))
        self.k, self.center, self.cid, self.scale = k, center, cid, scale
        powers = np.arange(k + 1)
        b = xr.shape[1]
        self.t = np.empty((b, k + 1, null.c + 2))
        self.s = np.empty((len(centers), k + 1, null.c + 1, null.c + 1))
        self.logdet_c = np.empty(len(centers))
        self.mu = np.empty((len(centers), k + 1))  # mu[j, k] = sum_i (u_i / a)^k
        for j, cen in enumerate(centers):
            w = 1.0 / (cen * null.lam + 1.0)
            rho = null.lam * w / scale[j] if scale[j] > 0 else np.zeros_like(w)
            rho_k = rho[None, :] ** powers[:, None]
            omega = w[None, :] * rho_k
            sel = np.flatnonzero(cid == j)
            self.t[sel] = _snp_sums(null.z, xr[:, sel], x2[:, sel], omega)
            self.s[j] = _shared_sums(null.z, omega)
            self.logdet_c[j] = np.log1p(cen * null.lam).sum()
            self.mu[j] = rho_k.sum(axis=1)

    def evaluate(self, delta, idx=None, deriv=True):
        null = self.null
        if idx is None:
            idx = np.arange(len(self.center))
        t, cid = self.t[idx], self.cid[idx]
        a = self.scale[cid][:, None]
        powers = np.arange(self.k + 1)
        p = (a * (self.center[idx] - delta)[:, None]) ** powers  # (b, K+1)
        comps = [p]
        if deriv:  # d/d delta of (a (c - delta))^k
            d1, d2 = np.zeros_like(p), np.zeros_like(p)
            d1[:, 1:] = -powers[1:] * a * p[:, :-1]
            d2[:, 2:] = powers[2:] * (powers[2:] - 1) * a ** 2 * p[:, :-2]
            comps += [d1, d2]
        s, mu = self.s[cid], self.mu[cid]
        ms = [_assemble(np.einsum("bk,bkij->bij", q, s), np.einsum("bk,bkj->bj", q, t),
                        null.c) for q in comps]
        # log det V = log det V_c + sum_i log(1 - a (c - delta) rho_i)
        inv_k = np.r_[0.0, 1.0 / powers[1:]]
        logdet = self.logdet_c[cid] - np.sum(p * mu * inv_k, axis=1)
        if not deriv:
            return ms[0], logdet
        ld1 = a[:, 0] * np.sum(p[:, :-1] * mu[:, 1:], axis=1)
        ld2 = -a[:, 0] ** 2 * np.sum(p[:, :-2] * mu[:, 2:] * powers[1:-1], axis=1)
        return _Dual2(*ms), _Dual2(logdet, ld1, ld2)


class _Block:
    """One block of SNPs (columns of ``xr``, rotated) and the sums built on it."""

    def __init__(self, null, xr):
        self.null, self.xr = null, xr
        self.x2 = xr * xr
        self.b = xr.shape[1]
        self.grouped = (_Grouped(null, _snp_sums(null.z, xr, self.x2, null.indicator))
                        if null.grouped else None)

    def at_points(self, deltas, idx=None):
        """Exact ``M`` and ``log det V`` at shared deltas for the SNPs ``idx`` (default all):
        (D, b, q, q), (D, 1)."""
        deltas = np.asarray(deltas, dtype=float)
        if self.grouped is not None:
            return self.grouped.evaluate(deltas[:, None], idx, deriv=False)
        null = self.null
        w = 1.0 / (np.multiply.outer(deltas, null.lam) + 1.0)
        xr, x2 = (self.xr, self.x2) if idx is None else (self.xr[:, idx], self.x2[:, idx])
        t = _snp_sums(null.z, xr, x2, w).transpose(1, 0, 2)
        m = _assemble(_shared_sums(null.z, w)[:, None], t, null.c)
        return m, np.log1p(np.multiply.outer(deltas, null.lam)).sum(axis=1)[:, None]

    def at_snp_deltas(self, delta, idx):
        """Exact ``M`` and ``log det V`` at one delta per SNP (``idx``): (b, q, q), (b,)."""
        if self.grouped is not None:
            return self.grouped.evaluate(delta, idx, deriv=False)
        null = self.null
        w = 1.0 / (np.multiply.outer(delta, null.lam) + 1.0)  # (b, n)
        xr, x2 = self.xr[:, idx], self.x2[:, idx]
        k = null.c + 1
        t = np.empty((len(idx), k + 1))
        for j in range(k):
            t[:, j] = np.einsum("bn,nb->b", w * null.z[:, j], xr)
        t[:, k] = np.einsum("bn,nb->b", w, x2)
        s = np.einsum("bn,na,nc->bac", w, null.z, null.z, optimize=True)
        return _assemble(s, t, null.c), np.log1p(np.multiply.outer(delta, null.lam)).sum(1)

    def expansion(self, lo, hi):
        return self.grouped if self.grouped is not None else _Taylor(
            self.null, self.xr, self.x2, lo, hi)


def _maximize(blk, reml):
    """Per-SNP maximum over delta >= 0 by the model's search
    (:func:`~statsmodels_kinship._spectral.maximize_ratio`) on the block's criterion: exact
    ``M`` on the grid and at the estimates, the expansion of :meth:`_Block.expansion` for
    the derivatives inside each SNP's bracket.

    Returns delta (b,), converged (b,), and the exact ``M`` and ``log det V`` at delta.
    """
    null = blk.null
    n, c = null.n, null.c
    m_opt = np.empty((blk.b, c + 2, c + 2))
    logdet_opt = np.empty(blk.b)

    def grid_values(deltas, rows):
        m, logdet = blk.at_points(deltas, None if len(rows) == blk.b else rows)
        with np.errstate(invalid="ignore", divide="ignore"):
            return _criterion(m, logdet, n, c, reml).T

    def values(delta, rows):  # kept: the last call for a SNP is at its estimate
        m_opt[rows], logdet_opt[rows] = blk.at_snp_deltas(delta, rows)
        with np.errstate(invalid="ignore", divide="ignore"):
            return _criterion(m_opt[rows], logdet_opt[rows], n, c, reml)

    def derivatives(lo, hi):
        expansion = blk.expansion(lo, hi)

        def derivs(delta, rows):
            crit = _criterion(*expansion.evaluate(delta, rows), n, c, reml)
            return crit.v, crit.d, crit.dd

        return derivs

    found = maximize_ratio(RatioCriterion(grid_values, values, derivatives), blk.b,
                           null.delta_scale)
    return found.delta, found.converged, m_opt, logdet_opt


def _block_stats(null, g, offset=0):
    """All statistics for a block of genotypes ``g`` (n, b): array (b, len(_STATS))."""
    g = np.asarray(g, dtype=float)
    if g.ndim != 2 or g.shape[0] != null.n:
        raise ValueError(f"a genotype block has shape {g.shape}, expected ({null.n}, b)")
    n, b = g.shape
    out = np.full((b, len(null.columns)), np.nan)
    if np.isinf(g).any():
        j = int(np.flatnonzero(np.isinf(g).any(axis=0))[0])
        raise ValueError(f"genotypes contain infinite values (SNP at column {offset + j})")
    miss = np.isnan(g)
    n_missing = miss.sum(axis=0)
    n_obs = n - n_missing
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (np.nansum(g, axis=0) if n_missing.any() else g.sum(axis=0)) / n_obs
    if n_missing.any():
        rows, cols = np.nonzero(miss)
        g = g.copy()
        g[rows, cols] = mean[cols]  # missing genotypes: the SNP's mean
    flag = np.full(b, _OK)
    flag[g.max(axis=0) == g.min(axis=0)] = _MONO
    flag[n_obs == 0] = _MISSING
    out[:, _COL["af"]] = mean / 2
    out[:, _COL["n_obs"]] = n_obs
    out[:, _COL["n_missing"]] = n_missing
    fit = np.flatnonzero(flag == _OK)
    if len(fit):
        xr = null.prepare(g if len(fit) == b else g[:, fit])
        aliased = _aliased(null.q_w, xr)
        if aliased.any():
            flag[fit[aliased]] = _ALIASED
            fit, xr = fit[~aliased], xr[:, ~aliased]
    if len(fit):
        null.fill(xr, out, fit, flag)
    out[:, _COL["flag"]] = flag
    return out


def _aliased(q, xr):
    """SNPs whose residual on the covariates (orthonormal basis ``q``) has a norm below
    ``_ALIAS_TOL`` times their own norm. The residual is formed only for SNPs whose
    squared-norm difference is near the threshold (elsewhere rounding cannot matter)."""
    norm2 = np.einsum("nb,nb->b", xr, xr)
    proj = q.T @ xr
    ratio2 = 1.0 - np.einsum("cb,cb->b", proj, proj) / np.where(norm2 > 0, norm2, 1.0)
    close = np.flatnonzero((ratio2 < 1e-8) | (norm2 == 0))
    out = np.zeros(xr.shape[1], dtype=bool)
    if len(close):
        x = xr[:, close]
        resid = x - q @ proj[:, close]
        out[close] = (np.linalg.norm(resid, axis=0)
                      < _ALIAS_TOL * np.linalg.norm(x, axis=0)) | (norm2[close] == 0)
    return out


def _fill(null, blk, out, rows, flag):
    """Tests for the SNPs of ``blk`` into ``out[rows]``."""
    n, c = null.n, null.c
    df = n - c - 1

    def profile(m):
        pxx, pxy, pyy, _ = _sweep(m, c)
        return pxx, pxy, pyy

    # score test at the null ratio (GEMMA: n (x'Py)^2 / (y'Py x'Px), P without the SNP)
    m, logdet_s = blk.at_points([null.delta_score])
    pxx, pxy, pyy = (a[0] for a in profile(m))
    stat_score = n * pxy ** 2 / (pyy * pxx)
    if null.method == "fixed":  # delta_score is the null model's ratio
        delta = np.full(blk.b, null.delta_null)
        beta, se, stat_lrt, llf_ml = _fixed_ratio_tests(pxx, pxy, pyy, logdet_s[0], n, df)
        delta_ml = np.full(blk.b, np.nan)
    else:
        results = {}
        for reml in (True, False):
            d, conv, m, logdet = _maximize(blk, reml)
            results[reml] = (d, conv, profile(m), logdet)
        delta, conv_r, (pxx, pxy, pyy), _ = results[True]
        rss = pyy - pxy ** 2 / pxx
        beta, se = pxy / pxx, np.sqrt(rss / df / pxx)
        delta_ml, conv_m, (pxx, pxy, pyy), logdet = results[False]
        rss_ml = pyy - pxy ** 2 / pxx
        llf_ml = -0.5 * (n * (1 + LOG_2PI + np.log(rss_ml / n)) + logdet)
        stat_lrt = np.maximum(2 * (llf_ml - null.llf_ml0), 0.0)
        flag[rows[~(conv_r & conv_m)]] = _NOCONV
    _store_tests(out, rows, df, null.use_t, beta=beta, se=se, stat_lrt=stat_lrt,
                 stat_score=stat_score, delta=delta, delta_ml=delta_ml, llf_ml=llf_ml)


def _fixed_ratio_tests(pxx, pxy, pyy, logdet_v, n, df):
    """The SNP's tests at fixed variance ratios from ``x'Px``, ``x'Py``, ``y'Py`` (``P`` the
    GLS projection off the covariates, ``V = s_e^2 H``) and ``log det H``: ``beta``, ``se``
    (REML ``s_e^2`` on ``df`` degrees of freedom), the likelihood-ratio statistic and the ML
    log-likelihood of the SNP model at those ratios (``s_e^2`` profiled)."""
    rss = pyy - pxy ** 2 / pxx
    beta, se = pxy / pxx, np.sqrt(rss / df / pxx)
    stat_lrt = n * np.log(pyy / rss)
    llf_ml = -0.5 * (n * (1 + LOG_2PI + np.log(rss / n)) + logdet_v)
    return beta, se, stat_lrt, llf_ml


def _store_tests(out, rows, df, use_t, *, beta, se, stat_lrt, stat_score, **values):
    """The tests and their p-values (Wald and score: F(1, df) with ``use_t``, else chi2(1);
    likelihood ratio: chi2(1)) into ``out[rows]``, with the other ``values`` by column name."""
    col = _COL
    stat_wald = (beta / se) ** 2
    ref = (lambda s: stats.f.sf(s, 1, df)) if use_t else (lambda s: stats.chi2.sf(s, 1))
    values.update({"beta": beta, "se": se, "stat_wald": stat_wald, "p_wald": ref(stat_wald),
                   "stat_lrt": stat_lrt, "p_lrt": stats.chi2.sf(stat_lrt, 1),
                   "stat_score": stat_score, "p_score": ref(stat_score)})
    for name, v in values.items():
        out[rows, col[name]] = v


# ---------------------------------------------------------------------------------------------
# The null model with several variance components (the engine's block likelihood)
# ---------------------------------------------------------------------------------------------

class _ComponentsNull:
    """What every block of the scan needs from a null model on the block likelihood (several
    variance components, or repeated records): see :class:`_Null` for the interface.

    Genotypes are used as given (``prepare`` is the identity; aliasing is R's rule on the
    raw columns). ``'fixed'``: each SNP by GLS at the null model's ratios, through the
    whitening ``L^-1`` of ``H(gamma)``. ``'exact'``: each SNP model refitted by
    :meth:`~statsmodels_kinship._engine.BlockLikelihood.maximize` (REML, and ML for the
    likelihood-ratio test), started at the null model's estimates.
    """

    def __init__(self, results, method, use_t):
        _warn_unidentified(results)
        model = results.model
        engine = model._engine
        if not hasattr(engine, "whitener"):
            raise NotImplementedError(
                "scan of a model whose relationship is given by its sparse inverse "
                "(inverse_relationship_matrix: the mixed-model-equations engine) is not "
                "available; fit the null model with the relationship matrix itself "
                "(kinship_from_pedigree) to scan")
        self.engine = engine
        self.names = list(model.component_names)
        # the engine's data: the kept columns and y centred on them (model._endog_offset);
        # the SNP model's likelihood and its SNP coefficient do not depend on that centring
        self.exog = engine.exog
        self.endog = engine.endog
        self.n, self.c = self.exog.shape
        self.q_w = np.linalg.qr(self.exog)[0]
        self.columns = _STATS + _gamma_columns(self.names)
        self.method, self.use_t = method, bool(use_t)
        self.null_method = results.method
        self.gamma_null = np.asarray(results.gamma, dtype=float)
        # the null model's ML fit (the likelihood-ratio test's), and its REML ratios (the
        # start of each SNP model's REML fit)
        with serial_blas():
            self.gamma_ml0, self.llf_ml0, _ = engine.maximize(reml=False)
            self.gamma_reml0 = (self.gamma_null if results.reml or method == "fixed"
                                else engine.maximize(reml=True)[0])
        self.gamma_score = self.gamma_ml0 if method == "exact" else self.gamma_null
        # P (without the SNP) at the score test's ratios, in whitened space
        self.whitener = engine.whitener(self.gamma_score)
        q = np.linalg.qr(self.whitener.apply(self.exog))[0]
        yw = self.whitener.apply(self.endog)
        self.q_white = q
        self.py_white = yw - q @ (q.T @ yw)
        self.pyy = float(self.py_white @ self.py_white)

    def info(self):
        def named(gamma):
            return dict(zip(self.names, (float(v) for v in gamma)))

        return {"method": self.method, "null_method": self.null_method,
                "components": list(self.names), "gamma_null": named(self.gamma_null),
                "gamma_ml_null": named(self.gamma_ml0), "llf_ml_null": float(self.llf_ml0),
                "gamma_score": named(self.gamma_score), "nobs": self.n,
                "k_covariates": self.c, "df_resid": self.n - self.c - 1,
                "use_t": self.use_t}

    def prepare(self, g):
        return g

    def fill(self, g, out, rows, flag):
        n, df = self.n, self.n - self.c - 1
        # score test at the null ratios (exact: ML, fixed: the fit's): x'Py, x'Px, y'Py
        gw = self.whitener.apply(g)
        px = gw - self.q_white @ (self.q_white.T @ gw)
        pxx = np.einsum("nb,nb->b", px, px)
        pxy = px.T @ self.py_white
        pyy = self.pyy
        stat_score = n * pxy ** 2 / (pyy * pxx)
        m = len(self.names)
        gamma_cols = [_COL_GAMMA + j for j in range(m)]
        gamma_ml_cols = [_COL_GAMMA + m + j for j in range(m)]
        if self.method == "fixed":
            beta, se, stat_lrt, llf_ml = _fixed_ratio_tests(pxx, pxy, pyy,
                                                            self.whitener.logdet, n, df)
            out[np.ix_(rows, gamma_cols)] = self.gamma_null
        else:
            b = g.shape[1]
            beta, se, llf_ml = np.empty(b), np.empty(b), np.empty(b)
            converged = np.ones(b, dtype=bool)
            with serial_blas():
                for j in range(b):
                    snp = self.engine.with_exog(np.column_stack([self.exog, g[:, j]]))
                    gamma, _, info_r = snp.maximize(reml=True, start=self.gamma_reml0)
                    sol = snp.solve(gamma)
                    # the SNP is the last column: x'Px = L_pp^2 (Cholesky of X'H^-1X)
                    l_pp = sol["chol_A"][-1, -1]
                    beta[j] = sol["params"][-1]
                    se[j] = np.sqrt(sol["rss"] / df) / l_pp
                    gamma_ml, llf_ml[j], info_m = snp.maximize(reml=False,
                                                               start=self.gamma_ml0)
                    out[rows[j], gamma_cols] = gamma
                    out[rows[j], gamma_ml_cols] = gamma_ml
                    converged[j] = info_r["converged"] and info_m["converged"]
            stat_lrt = np.maximum(2 * (llf_ml - self.llf_ml0), 0.0)
            flag[rows[~converged]] = _NOCONV
        _store_tests(out, rows, df, self.use_t, beta=beta, se=se, stat_lrt=stat_lrt,
                     stat_score=stat_score, llf_ml=llf_ml)


#: First column of the per-component ratios (after the columns of the single-kinship scan).
_COL_GAMMA = len(_STATS)


def _gamma_columns(names):
    """The ratio columns of a scan with several components: ``gamma_<name>`` (the SNP
    model's REML ratios, or the null model's for ``'fixed'``), then ``gamma_ml_<name>``."""
    return [f"gamma_{c}" for c in names] + [f"gamma_ml_{c}" for c in names]


# ---------------------------------------------------------------------------------------------
# Genotype sources
# ---------------------------------------------------------------------------------------------

def _is_dask(obj):
    return type(obj).__module__.split(".")[0] == "dask"


def _model_rows(model):
    """Row labels of the model's data (None for unlabelled data) and the rows statsmodels
    dropped as missing. With repeated records (``individual=``) the label of a record is its
    individual's ID, so that genotypes indexed by individual are matched to every record of
    the individual."""
    labels = getattr(model.data, "row_labels", None)
    if getattr(model, "_engine", None) is not None and model.individuals is not None:
        relationship = [c for c in model.structure.components if c.kind == "relationship"]
        if relationship:  # each record's individual (the component's level)
            labels = pd.Index(np.asarray(relationship[0].levels)[relationship[0].codes])
    dropped = getattr(model.data, "missing_row_idx", None)
    return (None if labels is None else pd.Index(labels)), (list(dropped) if dropped else [])


def _rows_by_position(n_rows, model, what):
    """Rows of a genotype matrix matched to the model's by position: all of them, or all but
    the rows statsmodels dropped as missing."""
    n = int(model.nobs)
    _, dropped = _model_rows(model)
    if n_rows == n:
        return None
    if dropped and n_rows == n + len(dropped):
        return np.setdiff1d(np.arange(n_rows), dropped)
    raise ValueError(f"{what} has {n_rows} rows (individuals) but the model has {n} "
                     "observations; give one row per observation in the model's order, or "
                     "label the rows (a DataFrame indexed by individual ID)")


def _rows_by_label(ids, model, what):
    """Positions in ``ids`` of the model's individuals, in the model's order. When the model's
    data carry no labels (numpy arrays) the rows are matched by position, with a
    :class:`LabelWarning` when ``ids`` are IDs (a .bed file's individuals)."""
    labels, _ = _model_rows(model)
    ids = pd.Index(ids)
    if labels is None:  # the model's data carry no labels: match by position
        if not is_default_index(ids):
            warn_at_user(
                f"the individuals of {what} ({_show(ids, 3)}) are matched to the null model's "
                "rows by position: its data carry no IDs (numpy arrays); fit the null model "
                "to pandas data indexed by the IDs to match them by ID", LabelWarning)
        return _rows_by_position(len(ids), model, what)
    if ids.has_duplicates:
        raise ValueError(f"{what} has duplicated individual IDs: "
                         f"{_show(ids[ids.duplicated()].unique())}")
    pos = ids.get_indexer(labels)
    if (pos < 0).any():
        absent = labels[pos < 0]
        hint = id_hint(labels, ids, names=("the null model's data", what), by_position=(
            "pass the genotypes as an array (genotypes.to_numpy())"))
        raise ValueError(f"{len(absent)} individuals of the model are not in {what}: "
                         f"{_show(absent)}{hint}")
    return None if np.array_equal(pos, np.arange(len(ids))) else pos


class _ArraySource:
    """Genotypes held by the caller: numpy array, DataFrame or dask array (n x m). Each block
    read is checked by :func:`~statsmodels_kinship.kinship._genotype_values`, the missing
    codes ``codes`` read as NaN."""

    def __init__(self, genotypes, model, codes=()):
        self.chromosome = self.position = None
        self.codes = codes
        if isinstance(genotypes, pd.DataFrame):
            self.rows = _rows_by_label(genotypes.index, model, "the genotype DataFrame")
            self.names = pd.Index(genotypes.columns)
            self.values = genotypes
        else:
            if not _is_dask(genotypes):
                genotypes = np.asarray(genotypes)
            if genotypes.ndim != 2:
                raise ValueError("genotypes must be 2-D (individuals x SNPs), got shape "
                                 f"{genotypes.shape}")
            self.rows = _rows_by_position(genotypes.shape[0], model, "the genotype matrix")
            self.names = pd.RangeIndex(genotypes.shape[1], name="snp")
            self.values = genotypes
        self.m = len(self.names)
        self.is_dask = _is_dask(genotypes)

    def read(self, cols):
        v = self.values
        if isinstance(v, pd.DataFrame):
            block = v.iloc[:, cols].to_numpy(dtype=float)
        else:
            block = v[:, cols]
            if self.is_dask:
                block = block.compute()
        block = np.asarray(block, dtype=float)
        block = block if self.rows is None else block[self.rows]
        return _genotype_values(block, self.names[cols], self.codes)

    def task(self, cols):
        """The block as a dask task: a slice of the dask array, checked, or the data."""
        if self.is_dask:
            import dask

            block = self.values[:, cols]
            block = block if self.rows is None else block[self.rows]
            return dask.delayed(_genotype_values, pure=True)(block, self.names[cols],
                                                             self.codes)
        return self.read(cols)


def _read_bed(path, iid_count, sid_count, rows, cols):
    from bed_reader import open_bed

    with open_bed(path, iid_count=iid_count, sid_count=sid_count, count_A1=True) as bed:
        return bed.read(index=np.s_[rows, cols], dtype="float64")


class _BedSource:
    """A PLINK .bed file set, read block by block with bed-reader (allele 1 counted)."""

    is_dask = False

    def __init__(self, path, model, labels):
        try:
            import bed_reader  # noqa: F401
        except ImportError as err:
            raise ImportError("scanning a PLINK .bed file needs the optional dependency "
                              "bed-reader: pip install statsmodels-kinship[plink]") from err
        from .io import _read_bim, _read_fam

        path = os.fspath(path)
        if not path.endswith(".bed"):
            path += ".bed"
        missing = [p for p in (path, path[:-4] + ".bim", path[:-4] + ".fam")
                   if not os.path.isfile(p)]
        if missing:
            raise FileNotFoundError(f"PLINK binary file set {path[:-4]!r} is incomplete: "
                                    f"{', '.join(missing)} not found")
        self.path = path
        ids = _read_fam(path[:-4] + ".fam", labels).index  # malformed lines: named
        bim = _read_bim(path[:-4] + ".bim")
        self.names = pd.Index(bim["snp"].to_numpy(dtype=object), name="snp")
        self.chromosome = bim["chromosome"].to_numpy(dtype=object)
        self.position = bim["bp"].to_numpy(dtype=np.int64)
        self.iid_count, self.sid_count = len(ids), len(bim)
        rows = _rows_by_label(ids, model, path)
        self.rows = np.arange(self.iid_count) if rows is None else rows
        self.m = len(self.names)

    def read(self, cols):
        return _read_bed(self.path, self.iid_count, self.sid_count, self.rows, cols)

    def task(self, cols):
        import dask

        return dask.delayed(_read_bed, pure=True)(self.path, self.iid_count, self.sid_count,
                                                  self.rows, cols)


def _as_source(genotypes, model, labels, codes=()):
    """The genotype source; ``codes`` (missing codes) apply to arrays (a .bed file holds
    only 0, 1, 2 and missing)."""
    if isinstance(genotypes, (str, os.PathLike)):
        return _BedSource(genotypes, model, labels)
    if (isinstance(genotypes, pd.DataFrame) and _model_rows(model)[0] is None
            and not is_default_index(genotypes.index)):
        raise ValueError(
            f"the genotype DataFrame is indexed by individual IDs "
            f"({_show(genotypes.index, 3)}) but the null model was fitted to unlabelled data "
            "(numpy arrays), so its rows cannot be matched by ID: fit the null model to "
            "pandas data indexed by the IDs, or pass genotypes.to_numpy() to match the rows "
            "by position")
    return _ArraySource(genotypes, model, codes)


# ---------------------------------------------------------------------------------------------
# Running the blocks: in this process, or through dask
# ---------------------------------------------------------------------------------------------

def _blocks(cols, block_size):
    return [cols[i:i + block_size] for i in range(0, len(cols), block_size)]


def _client():
    """The dask.distributed client in use, if any (without importing distributed)."""
    import sys

    if "distributed" not in sys.modules:
        return None
    from distributed import default_client

    try:
        return default_client()
    except ValueError:
        return None


def _run(null, source, cols, block_size, use_dask, bar=None):
    """Statistics of the SNPs ``cols``, block by block; ``bar`` (a :class:`_Progress`, of
    the whole scan) advances by each block's SNPs."""
    blocks = _blocks(cols, block_size)
    if use_dask:
        import dask

        client = _client()
        if client is not None:  # the null model goes to every worker once
            shared = client.scatter(null, broadcast=True, hash=False)
        else:
            shared = dask.delayed(null, name="kinship-scan-null-" + uuid.uuid4().hex,
                                  traverse=False)
        tasks = [dask.delayed(_block_stats, pure=True)(shared, source.task(b), int(b[0]))
                 for b in blocks]
        parts = list(dask.compute(*tasks))
        if bar is not None:
            bar.update(len(cols))
        return np.concatenate(parts) if parts else np.empty((0, len(null.columns)))
    out = np.empty((len(cols), len(null.columns)))
    for i, b in enumerate(blocks):
        start = i * block_size
        out[start:start + len(b)] = _block_stats(null, source.read(b), int(b[0]))
        if bar is not None:
            bar.update(len(b))
    return out


# ---------------------------------------------------------------------------------------------
# Leave one chromosome out
# ---------------------------------------------------------------------------------------------

def _grm_sums(source, cols, block_size):
    """Numerator ``Z Z'``, counts of SNPs observed in both individuals of each pair, and the
    number of SNPs of the standardized GRM (:func:`genomic_relationship_matrix`) of the SNPs
    ``cols``, read block by block. The counts are a number when no genotype is missing."""
    from .kinship import _grm_sums as block_sums

    num, pairs, m_used = 0.0, 0.0, 0
    for b in _blocks(cols, block_size):
        num_b, pairs_b, keep = block_sums(source.read(b))
        num, pairs, m_used = num + num_b, pairs + pairs_b, m_used + int(keep.sum())
    return num, pairs, m_used


def _loco_kinships(model, source, chrom, block_size):
    """Leave-one-chromosome-out GRMs: checks that the model's kinship is the GRM of all the
    SNPs (one pass), then returns a function giving the GRM without chromosome ``c``
    (one more pass over that chromosome's SNPs)."""
    kinship = model.kinship
    if not isinstance(kinship, np.ndarray):
        raise ValueError("loco=True needs the model's kinship to be a dense genomic "
                         "relationship matrix of these genotypes (it is sparse); pass "
                         "loco={chromosome: kinship} instead")
    chroms = pd.unique(chrom)
    if len(chroms) < 2:
        raise ValueError("loco=True needs SNPs on at least two chromosomes, got "
                         f"{_show(chroms)}")
    num, pairs, m_all = _grm_sums(source, np.arange(len(chrom)), block_size)
    best = None
    for rule, den in (("pairwise", pairs), ("mean", m_all)):
        grm = num / den
        scale = float(np.sum(kinship * grm) / np.sum(grm * grm))
        err = float(np.max(np.abs(kinship - scale * grm)))
        if best is None or err < best[0]:
            best = (err, rule, scale)
    err, rule, scale = best
    if not err <= 1e-6 * np.max(np.abs(kinship)):
        raise ValueError(
            "loco=True needs the model's kinship to be genomic_relationship_matrix(genotypes) "
            "(up to a constant factor) of these genotypes and these individuals; the closest "
            f"differs by up to {err:.3g}. Pass loco={{chromosome: kinship}} to give the "
            "leave-one-chromosome-out kinships yourself")

    def without(c):
        num_c, pairs_c, m_c = _grm_sums(source, np.flatnonzero(chrom == c), block_size)
        den = (pairs - pairs_c) if rule == "pairwise" else (m_all - m_c)
        with np.errstate(invalid="ignore", divide="ignore"):
            out = scale * (num - num_c) / den
        if not np.all(np.isfinite(out)):
            raise ValueError(f"without chromosome {c!r} some pairs of individuals have no "
                             "SNP observed in both: the leave-one-out GRM is undefined")
        return out

    return without


def _refit(results, kinship):
    """The null model refitted with another kinship (same data, same REML/ML)."""
    from statsmodels.tools.sm_exceptions import CollinearityWarning

    from .kinship_mixed_model import KinshipMixedLM

    model = results.model
    labels, _ = _model_rows(model)
    if labels is None:  # unlabelled data: the kinship is matched by position
        endog, exog = model.endog, model.exog
    else:
        endog = pd.Series(model.endog, index=labels)
        exog = pd.DataFrame(model.exog, index=labels, columns=model.exog_names)
        if not is_labelled(kinship):  # in the model's row order: label it so
            kinship = (SparseKinship(kinship, labels) if sparse.issparse(kinship)
                       else pd.DataFrame(kinship, index=labels, columns=labels))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CollinearityWarning)  # reported by the null fit
        warnings.simplefilter("ignore", BinaryTraitWarning)  # likewise
        refit = KinshipMixedLM(endog, exog, kinship=kinship)
    return refit.fit(reml=results.reml)._results


# ---------------------------------------------------------------------------------------------
# Public functions
# ---------------------------------------------------------------------------------------------

def scan(results, genotypes, method="exact", loco=False, *, chromosome=None, position=None,
         block_size=None, use_t=True, labels="auto", use_dask=None, missing_code=None,
         progress=None):
    r"""
    Test each SNP in turn, added to a fitted null kinship model.

    Parameters
    ----------
    results : KinshipMixedLMResults
        The fitted null model: covariates and kinship (or several variance components), no
        SNP. Its eigendecomposition of the kinship (or its block likelihood) is reused; its
        data and kinship are not copied.
    genotypes : array_like, pandas.DataFrame, str or path-like, or dask.array.Array
        Individuals x SNPs, allele counts or dosages in [0, 2]; NaN for a missing genotype.
        Any other value (PLINK's -9, negative, above 2, infinite) is an error naming the
        SNPs and how many such values they hold, unless given as ``missing_code``.

        * numpy array or dask array: rows in the order of the model's observations (or of
          the data before statsmodels dropped rows with missing values);
        * DataFrame: rows matched to the model's individuals by label (its index against the
          index of the model's pandas data), as the kinship is; it may hold more
          individuals; columns are the SNP names;
        * path of a PLINK .bed file set (``"study"`` or ``"study.bed"``, with ``.bim`` and
          ``.fam``): read block by block with bed-reader, counting allele 1 (PLINK's A1,
          the first allele column of the .bim, as GEMMA does); individuals labelled from the
          .fam with ``labels`` and matched by label. SNP names, chromosomes and positions
          come from the .bim.
    method : {'exact', 'fixed'}
        ``'exact'`` (GEMMA's ``-lmm 4``): each SNP gets its own variance ratio. Wald test at
        the SNP model's REML ratio; likelihood-ratio test between the ML fits of the SNP
        model and of the null model; score test at the null model's ML ratio.
        ``'fixed'``: every test at the null model's ratio ``results.delta`` (EMMAX / P3D),
        or ratios ``results.gamma`` with several components.
    loco : bool or dict
        Leave one chromosome out. ``True``: the model's kinship must be the genomic
        relationship matrix (:func:`~statsmodels_kinship.kinship.genomic_relationship_matrix`,
        up to a constant factor) of exactly these genotypes; the SNPs of each chromosome are
        tested against a null model refitted with the GRM of the other chromosomes. A dict
        ``{chromosome: kinship}`` gives those kinships instead (keys compared as strings).
    chromosome, position : array_like, optional
        Chromosome and position of each SNP (from the .bim for a .bed file), reported in the
        result; chromosomes are needed for ``loco``.
    block_size : int, optional
        SNPs per block; memory is proportional to ``nobs * block_size``. Default: about 2
        million genotypes per block.
    use_t : bool
        Wald and score tests against F(1, n - c - 1) (GEMMA; c the number of covariates,
        the rank of the null model's exog), or with ``use_t=False`` against chi2(1). The
        likelihood-ratio test is always chi2(1).
    labels : {'auto', 'individual', 'family_individual'}
        How the individuals of a .fam file are labelled, see
        :func:`~statsmodels_kinship.kinship.individual_labels`.
    use_dask : bool, optional
        Run the blocks through dask (on the workers of a ``dask.distributed`` client when
        one is active). Default: True for a dask array, False otherwise.
    missing_code : float or list of float, optional
        Values that code a missing genotype in an array or DataFrame, such as -9 (PLINK's
        missing-value code): they are read as NaN and treated as missing genotypes
        (mean-imputed, counted in ``n_missing``). Codes must lie outside [0, 2]. A .bed file
        has its own missing code, read as NaN.
    progress : None or bool
        A tqdm progress bar over the SNPs: shown when the scan lasts longer than about a
        second (None, the default), always (True) or never (False), as in
        :func:`~statsmodels_kinship.bootstrap.parametric_bootstrap`. Needs tqdm.

    Returns
    -------
    pandas.DataFrame
        Indexed by SNP, one row per SNP in input order, with columns

        * ``chromosome``, ``position`` -- when known;
        * ``beta``, ``se`` -- SNP effect per counted allele and its standard error (Wald, at
          ``delta``, with the REML residual variance);
        * ``p_wald``, ``p_lrt``, ``p_score`` -- the three tests; ``stat_wald`` (= (beta /
          se)^2), ``stat_lrt`` (2 x log-likelihood ratio), ``stat_score`` their statistics;
        * ``delta`` -- the variance ratio ``s_k^2 / s_e^2`` of the Wald test (the SNP
          model's REML estimate, or the null model's ratio for ``'fixed'``), ``delta_ml`` --
          the SNP model's ML ratio (``'exact'``), ``llf_ml`` -- the SNP model's ML
          log-likelihood (lme4's ``logLik``);
        * ``af`` -- frequency of the counted allele (mean / 2 over observed genotypes);
          ``n_obs``, ``n_missing`` -- observed and imputed genotypes;
        * ``flag`` -- ``'ok'``, or why the SNP has no test: ``'monomorphic'`` (one genotype
          value), ``'aliased'`` (a linear combination of the covariates, R's rule),
          ``'missing'`` (no observed genotype), or ``'not_converged'`` (the variance ratio
          reached the upper end of the search and the likelihood is unbounded there, K
          singular on the residual space; its tests are reported). With a finite limit the
          end of the search is an estimate, ``s_e^2 = 0`` (h2 = 1), as in the model's fit.

        With several variance components (``results.delta is None``) ``delta`` and
        ``delta_ml`` are NaN and two columns per component follow: ``gamma_<name>``, the
        ratio ``s_j^2 / s_e^2`` of the Wald test (the SNP model's REML estimate, or the null
        model's for ``'fixed'``), then ``gamma_ml_<name>``, the SNP model's ML ratio
        (``'exact'``).

        ``frame.attrs`` holds the null model's ratios and log-likelihood (per chromosome
        with ``loco``).

    Raises
    ------
    NotImplementedError
        For ``loco`` with a null model of several variance components.
    ValueError
        For genotypes outside [0, 2] that are not NaN or a ``missing_code`` (checked block
        by block as the blocks are read: the scan stops at the first block holding one), and
        when no SNP varies among the model's individuals (every one monomorphic or never
        observed: nothing to test).

    Warns
    -----
    statsmodels_kinship.exceptions.GenotypeWarning
        Naming the SNPs without variation among the model's individuals (flags
        ``'monomorphic'`` and ``'missing'``), which are not tested.

    See Also
    --------
    genomic_inflation, statsmodels_kinship.plotting.manhattan_plot,
    statsmodels_kinship.plotting.qq_plot

    Notes
    -----
    For SNP ``x`` the model is ``y = W a + x b + g + e``, ``g ~ N(0, s_k^2 K)``,
    ``e ~ N(0, s_e^2 I)`` with ``delta = s_k^2 / s_e^2``. With ``P`` the projection of GLS
    on ``W`` at ratio ``delta`` and ``n - c - 1`` residual degrees of freedom, the tests are
    those of GEMMA 0.98.5 ``-lmm 4`` (Zhou and Stephens 2012):

    * Wald: ``b = x'Py / x'Px``, ``se^2 = s_e^2 / x'Px`` with the REML ``s_e^2 = (y'Py -
      (x'Py)^2 / x'Px) / (n - c - 1)``, at the SNP model's REML ratio;
      ``(b / se)^2 ~ F(1, n - c - 1)``. This is the SNP's coefficient, standard error and
      t test of ``KinshipMixedLM(y, [W, x], K).fit(use_t=True)``.
    * Likelihood ratio: ``2 (llf_1 - llf_0) ~ chi2(1)`` with both log-likelihoods maximised
      over ``delta`` by ML (REML likelihoods of models with different fixed effects are not
      comparable).
    * Score: ``n (x'Py)^2 / (y'Py x'Px) ~ F(1, n - c - 1)`` at the null model's ML ratio
      (GEMMA's definition, which uses the ML ratio and the F reference).

    Differences from GEMMA 0.98.5, found by running it on the same data
    (``tests/results/gemma_scan.py``):

    * GEMMA centres the kinship matrix given with ``-k`` before fitting (``CenterMatrix``
      in ``gemma.cpp``: ``K <- P K P``, ``P = I - 11'/n``). With an intercept among the
      covariates the REML fits, hence ``beta``, ``se``, ``p_wald`` and ``l_remle``, do not
      depend on that (REML uses only contrasts orthogonal to the covariates), but the ML
      fits do: GEMMA's ``p_lrt``, ``l_mle``, ``logl_H1`` and ``p_score`` (evaluated at the
      null ML ratio) are those of the model with ``P K P``, not with ``K``, unless K is
      already centred (a genomic relationship matrix of standardized genotypes is). Passing
      the centred matrix to the null model reproduces them to 1e-6; with K as given, the
      likelihood-ratio test here is that of two ML fits equal to lme4's ``logLik``
      (``tests/results/lme4_scan.R``).
    * GEMMA stops its Newton iteration for ``delta`` at a relative step of 1e-5 and returns
      the previous iterate, so its ratios are within about 1e-5 of the optimum and its
      effects, standard errors and p-values within about 1e-6 to 1e-5 (relative) of those
      computed here at the converged ratio; at GEMMA's printed ratio they agree to its 7
      printed digits.
    * GEMMA searches ``delta`` in ``[1e-5, 1e5]`` (``-lmin``, ``-lmax``) and drops SNPs with
      minor-allele frequency below 1% (``-maf``); here ``delta`` is searched over
      ``[0, inf)`` as by ``KinshipMixedLM.fit`` and every polymorphic SNP is tested.

    Missing genotypes are replaced by the SNP's mean over the model's individuals whose
    genotype is observed (as GEMMA and FaST-LMM do); ``n_missing`` counts them. A SNP is
    not tested, and its statistics are NaN, when it is monomorphic, never observed, or a
    linear combination of the covariates (the rule ``KinshipMixedLM`` applies to exog
    columns): it is never given a p-value.

    Computation: each block of genotypes is rotated once by the eigenvectors of K; then
    every SNP of the block is solved at once in the rotated space, by a safeguarded Newton
    iteration on the derivative of the profiled likelihood from the same global grid as the
    null fit. Results equal a separate ``KinshipMixedLM`` fit per SNP to 1e-8 or better. For a
    family kinship (few distinct eigenvalues) the cost per SNP does not depend on n beyond
    the rotation; for a dense K it is dominated by the rotation, ``n^2`` per SNP.

    Several variance components (``kinship={...}``, ``vc_formula``, repeated records): the
    same tests with ``H = I + sum_j gamma_j W_j`` for ``delta K + I`` and the ratios
    ``gamma`` for ``delta``. ``'fixed'`` is GLS at the null model's ``results.gamma``;
    ``'exact'`` refits every SNP model's ratios (REML for the Wald test, ML for the
    likelihood ratio; the score test at the null model's ML ratios): the numbers of a
    ``KinshipMixedLM`` fit with the SNP added. That is a REML and an ML fit per SNP, so
    ``'fixed'`` is the screen for many SNPs. Genotypes are given per record in the model's
    order, or in a DataFrame indexed by individual: with repeated records (``individual=``)
    each record gets its individual's genotypes, and ``af``, ``n_obs`` and the mean
    imputation count records.

    Dask: with a dask array the blocks are dask tasks (``block_size`` SNPs each); with a
    ``dask.distributed`` client the null model (eigenvectors included) is scattered to every
    worker once, not sent or recomputed per block. To run on a cluster, connect a client
    before scanning::

        from dask.distributed import Client
        client = Client("tcp://scheduler-address:8786")
        genotypes = dask.array.from_zarr("genotypes.zarr")   # or any dask array
        frame = scan(null_fit, genotypes)

    The workers need the data the dask array is built from (e.g. a shared file system).
    ``use_dask=True`` sends the blocks of a .bed file through dask the same way (each task
    reads its block, so the .bed must be readable by the workers at the same path).

    References
    ----------
    Zhou, X. and Stephens, M. (2012). Genome-wide efficient mixed-model analysis for
    association studies. Nature Genetics 44, 821-824.

    Kang, H. M. et al. (2010). Variance component model to account for sample structure in
    genome-wide association studies. Nature Genetics 42, 348-354 (EMMAX).

    Lippert, C. et al. (2011). FaST linear mixed models for genome-wide association studies.
    Nature Methods 8, 833-835.

    Examples
    --------
    >>> import numpy as np
    >>> import statsmodels_kinship as smk
    >>> from statsmodels_kinship.scan import scan
    >>> rng = np.random.default_rng(0)
    >>> fam = np.kron(np.eye(50), np.full((4, 4), 0.25)) + np.eye(200) * 0.25
    >>> geno = rng.binomial(2, 0.3, size=(200, 20)).astype(float)
    >>> y = geno[:, 3] + rng.multivariate_normal(np.zeros(200), fam + np.eye(200))
    >>> null = smk.KinshipMixedLM(y, np.ones((200, 1)), kinship=fam).fit()
    >>> result = scan(null, geno)
    >>> cols = ["beta", "se", "p_wald", "delta", "flag"]
    >>> result[cols].head(5).round(3)  # doctest: +NORMALIZE_WHITESPACE
          beta     se  p_wald  delta flag
    snp
    0   -0.190  0.147   0.197  0.315   ok
    1   -0.100  0.153   0.514  0.300   ok
    2   -0.224  0.134   0.095  0.362   ok
    3    0.839  0.119   0.000  1.175   ok
    4    0.074  0.152   0.625  0.316   ok
    """
    res = getattr(results, "_results", results)
    model = getattr(res, "model", None)
    if model is None or not hasattr(model, "decomposition"):
        raise TypeError("results must be a fitted KinshipMixedLM (its fit() results), got "
                        f"{type(results).__name__}")
    check_choice(method, "method", ("exact", "fixed"))
    use_t = check_bool(use_t, "use_t")
    check_choice(labels, "labels", ("auto", "individual", "family_individual"))
    _check_progress(progress)
    source = _as_source(genotypes, model, labels, _missing_codes(missing_code))
    m = source.m
    info = {}
    for name, given in (("chromosome", chromosome), ("position", position)):
        if given is not None:
            given = np.asarray(given)
            if given.shape != (m,):
                raise ValueError(f"{name} must give one value per SNP ({m}), got shape "
                                 f"{given.shape}")
            setattr(source, name, given)
    if block_size is None:
        block_size = max(16, (1 << 21) // max(int(model.nobs), 1))
    block_size = check_count(block_size, "block_size")
    use_dask = source.is_dask if use_dask is None else check_bool(use_dask, "use_dask")
    bar = _Progress(progress, m, "scan")
    if bar.bar is not None:  # the bootstrap's bar counts replicates
        bar.bar.unit = "SNP"
        if progress:  # shown at once, with the unit it had: redraw
            bar.bar.refresh()

    columns = _STATS
    if loco is False or loco is None:
        null = (_Null if model._engine is None else _ComponentsNull)(res, method, use_t)
        values = _run(null, source, np.arange(m), block_size, use_dask, bar)
        info, columns = null.info(), null.columns
    elif model._engine is not None:
        raise NotImplementedError("loco is not available for a null model with several "
                                  "variance components or repeated records (results.delta "
                                  "is None); scan each chromosome against a null model "
                                  "refitted with its leave-one-out relationship matrix")
    else:
        if source.chromosome is None:
            raise ValueError("loco needs the chromosome of each SNP: pass chromosome= (or "
                             "a .bed file, whose .bim has them)")
        chrom = np.asarray(source.chromosome).astype(str)
        if loco is True:
            kinship_without = _loco_kinships(model, source, chrom, block_size)
        elif isinstance(loco, dict):
            given = {str(k): v for k, v in loco.items()}
            absent = sorted(set(chrom) - set(given))
            if absent:
                raise ValueError(f"loco has no kinship for chromosomes {_show(absent)}")
            kinship_without = given.__getitem__
        else:
            raise TypeError(f"loco must be True, False or a dict, got {type(loco).__name__}")
        values = np.full((m, len(_STATS)), np.nan)
        for c in pd.unique(chrom):
            cols = np.flatnonzero(chrom == c)
            null = _Null(_refit(res, kinship_without(c)), method, use_t)
            values[cols] = _run(null, source, cols, block_size, use_dask, bar)
            info[c] = null.info()
    bar.close()
    _untested_warning(values, source.names)
    return _frame(values, source, {"method": method, "loco": loco is not False
                                   and loco is not None, "null": info}, columns)


def _untested_warning(values, names):
    """Warn about the SNPs without variation among the model's individuals (flagged
    monomorphic or missing); raise when that is every SNP."""
    flag = values[:, _COL["flag"]]
    idle = np.flatnonzero((flag == _MONO) | (flag == _MISSING))
    if not len(idle):
        return
    shown = _show(names[idle])
    if len(idle) == len(flag):
        raise ValueError(f"no SNP varies among the model's individuals: all {len(flag)} are "
                         f"monomorphic or never observed ({shown}); nothing to test")
    warn_at_user(f"{len(idle)} of {len(flag)} SNPs not tested, without variation among the "
                  f"model's individuals (flag 'monomorphic' or 'missing'): {shown}",
                  GenotypeWarning)


def _frame(values, source, attrs, columns=_STATS):
    frame = pd.DataFrame(values, index=source.names, columns=columns)
    for name in ("n_obs", "n_missing"):
        frame[name] = frame[name].astype(np.int64)
    frame["flag"] = pd.Categorical.from_codes(frame["flag"].astype(int), categories=FLAGS)
    if source.position is not None:
        frame.insert(0, "position", source.position)
    if source.chromosome is not None:
        frame.insert(0, "chromosome", source.chromosome)
    frame.attrs.update(attrs)
    return frame


def genomic_inflation(pvalues):
    r"""
    Genomic inflation factor ``lambda_GC`` of a set of 1-df test p-values.

    Parameters
    ----------
    pvalues : array_like
        P-values (NaN are ignored), e.g. ``scan(...)["p_wald"]``.

    Returns
    -------
    float
        ``median(chi2_1^{-1}(1 - p)) / chi2_1^{-1}(1/2)``: 1 when the test statistics follow
        their null distribution, above 1 under inflation (Devlin and Roeder 1999). NaN when
        no p-value is finite.

    References
    ----------
    Devlin, B. and Roeder, K. (1999). Genomic control for association studies. Biometrics
    55, 997-1004.

    Examples
    --------
    >>> import numpy as np
    >>> from statsmodels_kinship.scan import genomic_inflation
    >>> p = np.random.default_rng(1).uniform(size=100000)
    >>> round(genomic_inflation(p), 2)
    1.0
    """
    try:
        p = np.asarray(pvalues, dtype=float).ravel()
    except (TypeError, ValueError) as err:
        raise TypeError(f"pvalues must be numbers (p-values in [0, 1]): {err}") from None
    p = p[np.isfinite(p)]
    if np.any((p < 0) | (p > 1)):
        bad = p[(p < 0) | (p > 1)]
        raise ValueError(f"pvalues must lie in [0, 1]: {len(bad)} values do not, e.g. "
                         f"{bad[0]!r}")
    if not len(p):
        return np.nan
    return float(np.median(stats.chi2.isf(p, 1)) / stats.chi2.ppf(0.5, 1))
