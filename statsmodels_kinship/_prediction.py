"""Conditional prediction of random effects and records of new (unphenotyped) targets
(issue 11): Henderson's BLUP given every phenotyped record, and its prediction error variance
including the uncertainty of the GLS estimate ``b``.

With ``V = s_e^2 H`` the covariance of the records, ``X`` their design (the kept columns),
``A = X'H^-1X``, ``b`` the GLS estimate, and for a target ``t`` with fixed-effects row ``x``,
``c = Cov(u_t, y) / s_e^2`` (its covariance row with the records' random effects) and
``v = Var(u_t) / s_e^2``::

    random    = c'H^-1 (y - X b)                              (BLUP of u_t)
    mean      = x'b + random
    g         = X'H^-1 c
    pev_random = s_e^2 [v - c'H^-1 c + g'A^-1 g]              Var(u_t - random)
    pev_mean   = s_e^2 [v - c'H^-1 c + (x - g)'A^-1 (x - g)]  Var(x'b + u_t - mean)
    var_obs    = pev_mean + s_e^2                             a new record of the target

(Henderson 1975; ``pev_random`` is the diagonal of the inverse of the mixed-model equations
for ``u_t``). They are exact under the model at the estimated variance ratios.

``H^-1`` is never formed: on the single-kinship path ``H = U diag(delta lambda + 1) U'``
(rotation by the model's decomposition); on the several-components path through the
engine's whitener ``S`` (``S'S = H^-1``: :class:`~statsmodels_kinship._engine.
BlockLikelihood`, :class:`~statsmodels_kinship._engine.SpectralWoodburyLikelihood`); the
sparse mixed-model equations are not supported yet.

Groundwork for issue 11: not yet wired into ``get_prediction``.
"""
import numpy as np
from scipy import sparse

__all__ = ["ConditionalPrediction", "conditional_prediction"]

#: Targets are processed in chunks of at most this many ``m x n`` entries (dense copies of
#: the covariance rows), so that memory stays bounded for many targets.
_CHUNK_ENTRIES = 2 ** 24


class ConditionalPrediction:
    """Predictions of ``m`` targets (arrays of shape (m,)); see the module's formulas.

    Attributes
    ----------
    fixed : ndarray
        ``x'b``.
    random : ndarray
        BLUP of the target's random effect, ``c'H^-1 (y - X b)``.
    mean : ndarray
        ``fixed + random``.
    var_fixed : ndarray
        ``s_e^2 x'A^-1 x``, the variance of ``x'b``.
    pev_random : ndarray
        Prediction error variance of ``random`` (``b`` estimated).
    pev_mean : ndarray
        Prediction error variance of ``mean`` as a predictor of ``x'b + u_t``.
    var_obs : ndarray
        ``pev_mean + s_e^2``: the variance of a new record of the target about ``mean``.
    var_random : ndarray
        ``s_e^2 v``, the prior variance of the target's random effect (for reliabilities,
        ``1 - pev_random / var_random``).
    """

    def __init__(self, fixed, random, var_fixed, pev_random, pev_mean, var_random, scale):
        self.fixed = fixed
        self.random = random
        self.mean = fixed + random
        self.var_fixed = var_fixed
        self.pev_random = pev_random
        self.pev_mean = pev_mean
        self.var_obs = pev_mean + scale
        self.var_random = var_random


def _hinv_operator(results):
    """A function of the covariance rows ``c`` (k, n), dense, returning ``(c'H^-1 c,
    X'H^-1 c, c'H^-1 r)`` at the fit (``r = y - X b``), with what does not depend on ``c``
    (factorizations, the whitened design) computed once."""
    model = results.model
    engine = model._engine
    if results.delta is not None:  # single kinship: H = U diag(delta lam + 1) U'
        dinv = 1.0 / (results.delta * model.decomposition.eigenvalues + 1.0)
        x_rot, r_rot = model._exog_rot, results._residual_rot

        def products(c):
            c_rot = model.decomposition.rotate(np.ascontiguousarray(c.T))
            hc_rot = c_rot * dinv[:, None]
            return np.einsum("ik,ik->k", c_rot, hc_rot), x_rot.T @ hc_rot, hc_rot.T @ r_rot
        return products
    sol = engine.solve(results.gamma, level=1)
    py = sol["py"]
    if hasattr(engine, "whitener"):  # S'S = H^-1 (dense blocks or spectral Woodbury)
        whitener = engine.whitener(results.gamma)
        sx = whitener.apply(engine.exog)

        def products(c):
            sc = whitener.apply(np.ascontiguousarray(c.T))
            return np.einsum("ik,ik->k", sc, sc), sx.T @ sc, c @ py
        return products
    # the sparse mixed-model equations: not yet (issue 11)
    raise NotImplementedError(f"conditional prediction is not available for the "
                              f"{type(engine).__name__} engine yet")


def conditional_prediction(results, cov_new_records, var_new, x_new):
    """Henderson's BLUP of new targets given every record of a fit, with prediction error
    variances (see the module's formulas).

    Parameters
    ----------
    results : KinshipMixedLMResults
        A fit of either path (single kinship, ``results.delta`` set; or several components,
        ``results.delta is None``).
    cov_new_records : array_like or scipy.sparse matrix, shape (m, n)
        ``Cov(u_t, y) / s_e^2`` for each target and each record of the fit (the model's
        rows, after missing rows were dropped): ``sum_j gamma_j K_j[t, ind(record)]`` over
        the relationship components and ``gamma_j [level(t) == level(record)]`` over the
        grouping components the target shares.
    var_new : array_like, shape (m,)
        ``Var(u_t) / s_e^2``, e.g. ``sum_j gamma_j K_j[t, t]`` (+ ``gamma_h`` for a shared
        household).
    x_new : array_like, shape (m, p_kept) or (m, p)
        The targets' fixed-effects rows: the kept (not aliased) columns, or all columns of
        the design (the aliased ones are then dropped). Zeros predict the random part alone
        (``mean = random``, ``pev_mean = pev_random``).

    Returns
    -------
    ConditionalPrediction
    """
    model = results.model
    kept = ~np.asarray(results.aliased, dtype=bool)
    n = model.exog.shape[0]
    x_new = np.atleast_2d(np.asarray(x_new, dtype=float))
    if x_new.shape[1] == len(kept) and len(kept) != kept.sum():
        x_new = x_new[:, kept]
    m = x_new.shape[0]
    if x_new.shape[1] != kept.sum():
        raise ValueError(f"x_new has {x_new.shape[1]} columns, expected the {kept.sum()} kept "
                         f"columns of the design (or all {len(kept)})")
    var_new = np.asarray(var_new, dtype=float).reshape(-1)
    if not sparse.issparse(cov_new_records):
        cov_new_records = np.asarray(cov_new_records, dtype=float)
    if cov_new_records.shape != (m, n) or var_new.shape != (m,):
        raise ValueError(f"cov_new_records must have shape ({m}, {n}) (targets x records of "
                         f"the fit) and var_new ({m},), got {cov_new_records.shape} and "
                         f"{var_new.shape}")
    b = np.asarray(results.params, dtype=float)[kept]
    a_inv = np.asarray(results.normalized_cov_params, dtype=float)[np.ix_(kept, kept)]
    scale = float(results.scale)
    chec, xhc, random = np.empty(m), np.empty((kept.sum(), m)), np.empty(m)
    products = _hinv_operator(results)
    step = max(1, _CHUNK_ENTRIES // max(n, 1))
    for start in range(0, m, step):
        rows = slice(start, min(m, start + step))
        c = cov_new_records[rows]
        c = c.toarray() if sparse.issparse(c) else c
        chec[rows], xhc[:, rows], random[rows] = products(c)
    g = xhc.T  # (m, p)
    d = x_new - g
    base = var_new - chec
    pev_random = scale * (base + np.einsum("ki,ij,kj->k", g, a_inv, g))
    pev_mean = scale * (base + np.einsum("ki,ij,kj->k", d, a_inv, d))
    var_fixed = scale * np.einsum("ki,ij,kj->k", x_new, a_inv, x_new)
    return ConditionalPrediction(x_new @ b, random, var_fixed, pev_random, pev_mean,
                                 scale * var_new, scale)
