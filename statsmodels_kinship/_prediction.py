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
BlockLikelihood`, :class:`~statsmodels_kinship._engine.SpectralWoodburyLikelihood`), as a
sparse matrix for sparse covariance rows when the blocks are small; for the sparse
mixed-model equations by ``H^-1 v = v - Z T^-1 Z'v`` (:meth:`~statsmodels_kinship._engine.
SparseMMELikelihood.hinv`).

The covariance rows of the targets come from the relationship matrices *as given* to the
model (which may hold individuals without records), K e_t by sparse solves for a
relationship given by its inverse, and the levels of the grouping components (a level not in
the data contributes its variance and no BLUP). :func:`get_prediction` is
:meth:`KinshipMixedLMResults.get_prediction`.
"""
import numpy as np
import pandas as pd
from scipy import sparse
from statsmodels.regression._prediction import PredictionResults

from ._components import vc_design
from ._engine import InverseComponent
from ._validation import check_bool, check_choice, is_default_index

__all__ = ["ConditionalPrediction", "conditional_prediction", "KinshipPredictionResults"]

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


#: The sparse form of a block-diagonal whitener is used for sparse covariance rows when it
#: has at most this many entries (the sum of the squared block sizes).
_SPARSE_WHITENER_ENTRIES = 2 ** 25


def _whitened_products(s_mat, sx, s_r=None, py=None):
    """``products`` from a sparse whitener ``S`` (``S'S = H^-1``) for sparse rows ``c``."""
    def products(c):
        sc = (s_mat @ sparse.csr_matrix(c).T).tocsc()
        chec = np.asarray(sc.multiply(sc).sum(axis=0)).ravel()
        xhc = np.asarray((sc.T @ sx).T)
        random = np.asarray(sc.T @ s_r).ravel() if py is None else np.asarray(c @ py).ravel()
        return chec, xhc, random
    return products


class _ProductsCache:
    """What predictions from one fit share, kept on the results: the products of
    :func:`_hinv_operator` and the model's :func:`relationship_terms`. Pickled
    (``results.save``, ``copy.deepcopy``) as empty: the closures are not picklable, and both
    are rebuilt on the next prediction."""

    def __init__(self, products=None, terms=None):
        self.products = products
        self.terms = terms

    def __reduce__(self):
        return (_ProductsCache, ())


def _cache(results):
    cache = results.__dict__.get("_prediction_products")
    if not isinstance(cache, _ProductsCache):
        cache = results.__dict__["_prediction_products"] = _ProductsCache()
    return cache


def _hinv_operator(results):
    """A function of the covariance rows ``c`` (k, n), dense or sparse, returning ``(c'H^-1 c,
    X'H^-1 c, c'H^-1 r)`` at the fit (``r = y - X b``), with what does not depend on ``c``
    (factorizations, the whitened design) computed once and kept on the results.

    Sparse rows (a family-structured kinship) are whitened as sparse matrices when ``H`` is
    block diagonal with small blocks (``H^-1`` restricted to a target's family), so that the
    cost grows with the number of targets and the size of their families, not with ``n``."""
    cache = _cache(results)
    if cache.products is not None:
        return cache.products
    model = results.model
    engine = model._engine
    sparse_products = None
    if results.delta is not None:  # single kinship: H = U diag(delta lam + 1) U'
        dec = model.decomposition
        dinv = 1.0 / (results.delta * dec.eigenvalues + 1.0)
        x_rot, r_rot = model._exog_rot, results._residual_rot

        def dense_products(c):
            c_rot = dec.rotate(np.ascontiguousarray(c.T))
            hc_rot = c_rot * dinv[:, None]
            return np.einsum("ik,ik->k", c_rot, hc_rot), x_rot.T @ hc_rot, hc_rot.T @ r_rot

        if dec.block_entries <= _SPARSE_WHITENER_ENTRIES:  # S = D^-1/2 U'
            root = np.sqrt(dinv)
            s_mat = sparse.diags(root) @ dec.rotation_matrix()
            sparse_products = _whitened_products(s_mat, root[:, None] * x_rot,
                                                 s_r=root * r_rot)
    else:
        sol = engine.solve(results.gamma, level=1)
        py = sol["py"]
        if hasattr(engine, "whitener"):  # S'S = H^-1 (dense blocks or spectral Woodbury)
            whitener = engine.whitener(results.gamma)
            sx = whitener.apply(engine.exog)

            def dense_products(c):
                sc = whitener.apply(np.ascontiguousarray(c.T))
                return np.einsum("ik,ik->k", sc, sc), sx.T @ sc, c @ py

            # dense blocks (not the spectral Woodbury form of one large K): a sparse L^-1
            if getattr(whitener, "block_entries", np.inf) <= _SPARSE_WHITENER_ENTRIES:
                sparse_products = _whitened_products(whitener.matrix(), sx, py=py)
        else:  # the sparse mixed-model equations: H^-1 v = v - Z T^-1 Z'v
            x = engine.exog

            def dense_products(c):
                hc = engine.hinv(sol, np.ascontiguousarray(c.T))
                return np.einsum("ik,ik->k", c.T, hc), x.T @ hc, c @ py

    def products(c):
        if sparse.issparse(c):
            if sparse_products is not None:
                return sparse_products(c)
            c = c.toarray()
        return dense_products(np.asarray(c, dtype=float))

    cache.products = products
    return products


def conditional_prediction(results, cov_new_records, var_new, x_new):
    """Henderson's BLUP of new targets given every record of a fit, with prediction error
    variances (see the module's formulas).

    Parameters
    ----------
    results : KinshipMixedLMResults
        A fit of either path (single kinship, ``results.delta`` set; or several components,
        ``results.delta is None``).
    cov_new_records : array_like, scipy.sparse matrix or callable
        ``Cov(u_t, y) / s_e^2``, shape (m, n), for each target and each record of the fit
        (the model's rows, after missing rows were dropped): ``sum_j gamma_j K_j[t,
        ind(record)]`` over the relationship components and ``gamma_j [level(t) ==
        level(record)]`` over the grouping components the target shares. Or a function of a
        slice of the targets returning ``(rows, var)`` for them (rows and ``var_new``
        computed chunk by chunk, so that no (m, n) array is formed; ``var_new`` is then
        None).
    var_new : array_like, shape (m,), or None
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
    if callable(cov_new_records):
        rows_of = cov_new_records
    else:
        var_new = np.asarray(var_new, dtype=float).reshape(-1)
        if not sparse.issparse(cov_new_records):
            cov_new_records = np.asarray(cov_new_records, dtype=float)
        if cov_new_records.shape != (m, n) or var_new.shape != (m,):
            raise ValueError(f"cov_new_records must have shape ({m}, {n}) (targets x records "
                             f"of the fit) and var_new ({m},), got {cov_new_records.shape} "
                             f"and {var_new.shape}")
        if sparse.issparse(cov_new_records):
            cov_new_records = sparse.csr_matrix(cov_new_records)

        def rows_of(rows):
            return cov_new_records[rows], var_new[rows]
    b = np.asarray(results.params, dtype=float)[kept]
    a_inv = np.asarray(results.normalized_cov_params, dtype=float)[np.ix_(kept, kept)]
    scale = float(results.scale)
    chec, xhc, random = np.empty(m), np.empty((kept.sum(), m)), np.empty(m)
    var = np.empty(m)
    products = _hinv_operator(results)
    step = max(1, _CHUNK_ENTRIES // max(n, 1))
    for start in range(0, m, step):
        rows = slice(start, min(m, start + step))
        c, var[rows] = rows_of(rows)
        chec[rows], xhc[:, rows], random[rows] = products(c)
    g = xhc.T  # (m, p)
    d = x_new - g
    base = var - chec
    pev_random = scale * (base + np.einsum("ki,ij,kj->k", g, a_inv, g))
    pev_mean = scale * (base + np.einsum("ki,ij,kj->k", d, a_inv, d))
    var_fixed = scale * np.einsum("ki,ij,kj->k", x_new, a_inv, x_new)
    return ConditionalPrediction(x_new @ b, random, var_fixed, pev_random, pev_mean,
                                 scale * var, scale)


# -- the targets: covariance rows of new (or in-sample) individuals with the records ---------

def _show(values, limit=5):
    values = list(values)
    shown = ", ".join(repr(v) for v in values[:limit])
    return shown + (f", ... ({len(values)} in all)" if len(values) > limit else "")


def _labelled_matrix(source):
    """``(labels, matrix)`` of a labelled relationship matrix (a DataFrame, whose columns are
    put in the order of its index, or a SparseKinship: CSR)."""
    if isinstance(source, pd.DataFrame):
        if not source.index.equals(source.columns):
            source = source.loc[:, source.index]
        return pd.Index(source.index), source.to_numpy(dtype=float)
    return pd.Index(source.labels), sparse.csr_matrix(source.matrix, dtype=float)


class _RelationshipTerm:
    """``K[t, ind(record)]`` and ``K[t, t]`` of targets ``t`` for one relationship component.

    The targets are looked up in the labels of the matrix given to the model (which may hold
    individuals without records) or, for an unlabelled matrix, among the model's
    individuals; ``positions`` are the records' rows of that matrix."""

    def __init__(self, name, matrix, labels, record_rows, inverse=None):
        self.name = name
        self.matrix = matrix
        self.labels = labels
        self.record_rows = record_rows
        self.inverse = inverse  # an InverseComponent: K e_t by sparse solves

    def locate(self, targets):
        """Rows of the targets in the matrix; a KeyError-like ValueError naming the
        individuals that are not in it."""
        targets = pd.Index(targets)
        pos = self.labels.get_indexer(targets)
        if np.any(pos < 0):
            missing = targets[pos < 0].unique()
            hint = ""
            kinds = {type(v).__name__ for v in missing}
            label_kinds = {type(v).__name__ for v in self.labels[:1000]}
            if kinds.isdisjoint(label_kinds):
                hint = (f" (the IDs to predict are {'/'.join(sorted(kinds))}, those of the "
                        f"matrix {'/'.join(sorted(label_kinds))}: convert them, e.g. with "
                        ".astype(str))")
            raise ValueError(
                f"{len(missing)} of the individuals to predict "
                f"{'is' if len(missing) == 1 else 'are'} not in the relationship matrix "
                f"{self.name!r}: {_show(missing)}{hint}. A conditional prediction needs each "
                "individual's relationship with the phenotyped records: give a kinship that "
                "holds them (kinship_from_pedigree of a pedigree that includes them), or ask "
                "for the marginal prediction x'b with conditional=False")
        return pos

    def rows(self, pos):
        """``(K[t, records] (k, n), K[t, t] (k,))`` for the targets at rows ``pos``."""
        if self.inverse is not None:  # K e_t by sparse solves, at most _CHUNK_ENTRIES at once
            step = max(1, _CHUNK_ENTRIES // max(self.matrix_size, 1))
            cov, var = [], []
            for start in range(0, len(pos), step):
                part = pos[start:start + step]
                unit = np.zeros((self.matrix_size, len(part)))
                unit[part, np.arange(len(part))] = 1.0
                k_cols = self.inverse.solve(unit)  # (q, k): K e_t
                cov.append(k_cols[self.record_rows].T)
                var.append(k_cols[part, np.arange(len(part))])
            if not cov:
                return np.zeros((0, len(self.record_rows))), np.zeros(0)
            return np.vstack(cov), np.concatenate(var)
        if sparse.issparse(self.matrix):
            block = self.matrix[pos]
            return block[:, self.record_rows], self._diag[pos]
        return (self.matrix[np.ix_(pos, self.record_rows)],
                self.matrix[pos, pos])

    @property
    def matrix_size(self):
        return len(self.labels)

    @property
    def _diag(self):
        if getattr(self, "_diagonal", None) is None:
            self._diagonal = np.asarray(self.matrix.diagonal(), dtype=float)
        return self._diagonal


def relationship_terms(model):
    """The model's relationship components as :class:`_RelationshipTerm` (name -> term)."""
    sources = getattr(model, "_relationship_sources", None) or {}
    terms = {}
    if model._engine is None:  # one kinship, one record per individual
        name = model.component_name
        labels = model.data.row_labels
        levels = pd.Index(labels) if labels is not None else pd.RangeIndex(int(model.nobs))
        parts = [(name, levels, np.arange(len(levels)), model.kinship)]
    else:
        parts = []
        for comp in model.structure.components:
            if comp.kind != "relationship":
                continue
            if isinstance(comp, InverseComponent):
                terms[comp.name] = _RelationshipTerm(comp.name, None, pd.Index(comp.levels),
                                                     comp.codes, inverse=comp)
                continue
            parts.append((comp.name, pd.Index(comp.levels), comp.codes, comp.matrix))
    for name, levels, codes, matrix in parts:
        source = sources.get(name)
        if source is not None:
            labels, full = _labelled_matrix(source)
            record_rows = labels.get_indexer(levels)[codes]
        else:
            labels, full, record_rows = levels, matrix, codes
            if sparse.issparse(full):
                full = sparse.csr_matrix(full)
        terms[name] = _RelationshipTerm(name, full, labels, record_rows)
    return terms


def group_design(comp, labels=None, design=None):
    """A grouping component's design over its fitted levels for new rows: ``(T (m, q)
    sparse, unseen (m,))`` with ``unseen`` the variance (per unit ``s_j^2``) of the levels
    never seen in the data (new households), which contribute 0 to the BLUP.

    ``labels``: one level per row; ``design``: a DataFrame whose columns are levels (a
    ``vc_formula`` evaluated on the new rows). Neither: the records of the fit."""
    q = comp.n_levels
    if labels is None and design is None:  # the fit's own records
        if comp.design is None:
            n = len(comp.codes)
            return sparse.csr_matrix((np.ones(n), (np.arange(n), comp.codes)),
                                     shape=(n, q)), np.zeros(n)
        return sparse.csr_matrix(comp.design), np.zeros(comp.design.shape[0])
    known = pd.Index(comp.levels)
    if labels is not None:
        labels = pd.Index(labels)
        if labels.hasnans:
            raise ValueError(f"the levels of {comp.name!r} for the new rows have missing "
                             "values: give each row a level (a new label for a level not in "
                             "the data)")
        pos = known.get_indexer(labels)
        seen = pos >= 0
        m = len(labels)
        t = sparse.csr_matrix((np.ones(seen.sum()), (np.flatnonzero(seen), pos[seen])),
                              shape=(m, q))
        return t, (~seen).astype(float)
    values = design.to_numpy(dtype=float)
    if not np.all(np.isfinite(values)):
        raise ValueError(f"the design of {comp.name!r} for the new rows has missing values")
    pos = known.get_indexer(pd.Index(design.columns))
    seen = pos >= 0
    t = sparse.csr_matrix(values[:, seen]) @ sparse.csr_matrix(
        (np.ones(seen.sum()), (np.arange(seen.sum()), pos[seen])), shape=(seen.sum(), q))
    unseen = np.einsum("ij,ij->i", values[:, ~seen], values[:, ~seen])
    return sparse.csr_matrix(t), unseen


def group_rows(comp, t_design, rows):
    """``T Z'`` for a slice of the targets: their covariance rows with the records per unit
    ``s_j^2``, and ``diag(T T')``."""
    t = t_design[rows]
    if comp.design is None:
        cov = t[:, comp.codes]
    else:
        cov = t @ sparse.csr_matrix(comp.design).T
    return sparse.csr_matrix(cov), np.asarray(t.multiply(t).sum(axis=1)).ravel()


def covariance_rows(results, terms, positions, groups, components):
    """A function of a slice of the targets returning ``(Cov(u_t, y) / s_e^2, Var(u_t) /
    s_e^2)`` summed over ``components`` (names), for :func:`conditional_prediction`.

    ``positions``: per relationship component, the targets' rows of its matrix; ``groups``:
    per grouping component, ``(T, unseen)`` of :func:`group_design`."""
    model = results.model
    gamma = dict(zip(model.component_names, np.asarray(results.gamma, dtype=float)))
    comps = {} if model.structure is None else {c.name: c for c in model.structure.components}

    def rows_of(rows):
        parts, var = [], 0.0
        for name in components:
            g = gamma[name]
            if name in terms:
                c, v = terms[name].rows(positions[name][rows])
            else:
                t, unseen = groups[name]
                c, v = group_rows(comps[name], t, rows)
                v = v + unseen[rows]
            parts.append(c * g)
            var = var + g * v
        if all(sparse.issparse(c) for c in parts):
            cov = sparse.csr_matrix(sum(parts[1:], parts[0]))
        else:
            cov = sum(c.toarray() if sparse.issparse(c) else np.asarray(c) for c in parts)
        return cov, np.broadcast_to(np.asarray(var, dtype=float), (cov.shape[0],))
    return rows_of


# -- the results -----------------------------------------------------------------------------

class KinshipPredictionResults(PredictionResults):
    """Predictions of :meth:`KinshipMixedLMResults.get_prediction`: statsmodels'
    ``PredictionResults`` (``predicted_mean``, ``se_mean``, ``var_pred_mean``, ``se_obs``,
    ``conf_int(obs=..., alpha=...)``, ``summary_frame(alpha)``) with what a conditional
    prediction adds.

    Attributes
    ----------
    kind : {"conditional", "marginal", "breeding_value"}
    fixed : ndarray
        ``x'b`` (0 for breeding values).
    random : ndarray or None
        The BLUP of the random effects of each row (None when marginal).
    pev : ndarray or None
        Prediction error variance of ``predicted_mean`` as a predictor of the row's true
        value (``x'b + u_t``, or the breeding value): ``var_pred_mean`` (None when marginal).
    var_random : ndarray or None
        Prior variance of the predicted random effect (``s_k^2 K_tt``, plus the variances of
        the other components the row has).
    reliability : ndarray or None
        ``1 - PEV / var_random`` of the random effect (the breeding value's reliability, the
        squared correlation of the prediction with the true value when ``b`` is known; with
        ``b`` estimated PEV includes its uncertainty).
    """

    def __init__(self, predicted_mean, var_pred_mean, var_resid, df=None, dist=None,
                 row_labels=None, kind="marginal", fixed=None, random=None, pev_random=None,
                 var_random=None):
        super().__init__(predicted_mean, var_pred_mean, var_resid, df=df, dist=dist,
                         row_labels=row_labels)
        self.kind = kind
        self.fixed = fixed
        self.random = random
        self.var_random = var_random
        self.reliability = (None if pev_random is None
                            else 1.0 - pev_random / np.where(var_random > 0, var_random,
                                                             np.nan))

    @property
    def pev(self):
        """The prediction error variance, ``var_pred_mean`` (None when marginal)."""
        return None if self.kind == "marginal" else self.var_pred_mean

    def summary_frame(self, alpha=0.05):
        """Predictions with intervals: the columns ``mean``, ``mean_se``, ``mean_ci_lower``,
        ``mean_ci_upper``, ``obs_ci_lower``, ``obs_ci_upper`` (as OLS's); for breeding values
        ``mean``, ``mean_se`` (``sqrt(PEV)``), ``mean_ci_lower``, ``mean_ci_upper`` (the
        interval for the true breeding value) and ``reliability``."""
        frame = super().summary_frame(alpha=alpha)
        if self.kind != "breeding_value":
            return frame
        frame = frame.drop(columns=["obs_ci_lower", "obs_ci_upper"])
        frame["reliability"] = self.reliability
        return frame


# -- KinshipMixedLMResults.get_prediction -----------------------------------------------------

def _design_rows(results, exog, transform, row_labels):
    """The new rows of the design (all columns) and their labels."""
    if exog is None:
        x = np.asarray(results.model.exog, dtype=float)
        if row_labels is None:
            row_labels = getattr(results.model.data, "row_labels", None)
        return x, row_labels, None
    x, index = results._transform_predict_exog(exog, transform=transform)
    if row_labels is None:
        row_labels = index
    x = np.asarray(x, dtype=float)
    if x.ndim == 1:
        x = x[None, :]
    k = len(results.aliased)
    if x.ndim != 2 or x.shape[1] != k:
        raise ValueError(f"exog must have the model's {k} columns; got shape {x.shape}")
    return x, row_labels, index


def _marginal(results, x, row_labels):
    from . import inference

    kept = ~np.asarray(results.aliased)
    xk = x[:, kept]
    predicted_mean = results.model.predict(results.params, x)
    cov = np.asarray(results._kept()[1])
    var_pred_mean = np.einsum("ij,jk,ik->i", xk, cov, xk)
    # the phenotypic variance of a typical record: sum_j s_j^2 m_j + s_e^2
    var_resid = float(results.vcomp.to_numpy() @ np.r_[results._component_scales(), 1.0])
    df = results.df_resid
    if results.use_t and results.df_method == "satterthwaite":
        df = np.asarray(inference._satterthwaite(results, xk), dtype=float)
    return KinshipPredictionResults(predicted_mean, var_pred_mean, var_resid, df=df,
                                    dist="t" if results.use_t else "norm",
                                    row_labels=row_labels, kind="marginal",
                                    fixed=predicted_mean)


def _new_individuals(model, exog, individual, m, what, terms):
    """The individual of each of the ``m`` new rows."""
    if individual is None and isinstance(exog, (pd.DataFrame, pd.Series)) \
            and is_default_index(exog.index) \
            and any(is_default_index(term.labels) for term in terms.values()) \
            and not (model._individual_column is not None and isinstance(exog, pd.DataFrame)
                     and model._individual_column in exog.columns):
        # positions 0, ..., m-1 against a kinship matched by position: no IDs on either side
        raise ValueError(
            f"the rows of {what} are numbered 0, ..., {m - 1} (pandas' default index) and the "
            "relationship matrix is matched to the data by position, so the new rows' "
            "individuals are not identified: pass individual= (each row's position in the "
            "kinship matrix), or fit with a kinship labelled by individual IDs and index the "
            "new rows by them")
    if individual is not None:
        ids = pd.Index(np.asarray(individual).ravel())
    elif (model._individual_column is not None and isinstance(exog, pd.DataFrame)
          and model._individual_column in exog.columns):
        ids = pd.Index(exog[model._individual_column])
    elif isinstance(exog, (pd.DataFrame, pd.Series)):
        ids = pd.Index(exog.index)
    else:
        raise ValueError(
            f"a conditional prediction needs the individual of each new row ({what}): give "
            "exog as a DataFrame indexed by the individual IDs, or individual=ids; for the "
            "marginal prediction x'b of unrelated individuals pass conditional=False")
    if len(ids) != m:
        raise ValueError(f"individual has {len(ids)} values but there are {m} new rows"
                         + (" (rows of exog with missing values are dropped by the formula: "
                            "drop them first)" if individual is None else ""))
    if ids.hasnans:
        raise ValueError("the individuals of the new rows have missing IDs")
    return ids


def _formula_levels(comp, labels):
    """The labels of a ``vc_formula`` component's new rows as its fitted levels: the formula's
    column names (``C(household)[F001]``) for the data's values (``F001``); a label that is
    already a column name, or that the data does not have, is kept."""
    levels = pd.Index(comp.levels)
    parts = levels.astype(str).str.extract(r"^(.*)\[(?:T\.)?(.*)\]$")
    if parts.isna().to_numpy().any() or parts[0].nunique() != 1:
        return labels
    by_value = dict(zip(parts[1], levels))
    known = set(levels)
    return pd.Index([v if v in known else by_value.get(str(v), v)
                     for v in np.asarray(labels, dtype=object).ravel()])


def _new_groups(model, exog, exog_vc, m):
    """``{name: (T, unseen)}`` of the grouping components for the new rows."""
    exog_vc = dict(exog_vc or {})
    out = {}
    comps = [] if model.structure is None else model.structure.components
    for comp in comps:
        if comp.kind != "group":
            continue
        name = comp.name
        if name in exog_vc:
            values = exog_vc.pop(name)
            if isinstance(values, pd.DataFrame):
                t = group_design(comp, design=values)
            elif np.ndim(values) == 1:
                if name in model._vc_formulas:
                    values = _formula_levels(comp, values)
                t = group_design(comp, labels=values)
            else:
                raise ValueError(f"exog_vc[{name!r}] must be one level per new row (or a "
                                 "DataFrame whose columns are levels)")
        elif name in model._vc_formulas and isinstance(exog, pd.DataFrame):
            try:
                design = vc_design(name, model._vc_formulas[name], exog)
            except ValueError as err:
                raise ValueError(
                    f"the new rows need the level of each for the component {name!r}: {err}. "
                    "Give the column (a new label for a level not in the data), or exog_vc="
                    f"{{{name!r}: labels}}") from None
            t = (group_design(comp, design=design) if isinstance(design, pd.DataFrame)
                 else group_design(comp, labels=design.astype(object)))
        else:
            raise ValueError(
                f"a conditional prediction needs the level of each new row for the grouping "
                f"component {name!r}: give exog_vc={{{name!r}: labels}} (a new label for a "
                "level not in the data, which contributes 0 to the mean), or pass "
                "conditional=False")
        if t[0].shape[0] != m:
            raise ValueError(f"the levels of {name!r} are given for {t[0].shape[0]} rows but "
                             f"there are {m} new rows")
        out[name] = t
    if exog_vc:
        raise ValueError(f"exog_vc names components the model does not have: "
                         f"{_show(exog_vc)} (its grouping components: "
                         f"{_show(c.name for c in comps if c.kind == 'group')})")
    return out


def get_prediction(results, exog=None, transform=True, row_labels=None, conditional=True,
                   individual=None, exog_vc=None, which="mean", component=None):
    """:meth:`KinshipMixedLMResults.get_prediction` (see there)."""
    model = results.model
    check_bool(conditional, "conditional")
    check_choice(which, "which", ("mean", "breeding_value"))
    if (conditional or which != "mean") and results._data_removed():
        raise ValueError("a conditional prediction (or a breeding value) needs the model's "
                         "data and relationship matrices, which remove_data() removed; the "
                         "marginal prediction x'b is conditional=False")
    terms = {}
    if conditional or which != "mean":  # the labels and matrices of the relationships, once
        cache = _cache(results)
        if cache.terms is None:
            cache.terms = relationship_terms(model)
        terms = cache.terms
    if which == "breeding_value":
        if not conditional or exog_vc is not None:
            raise ValueError("which='breeding_value' predicts a relationship component's "
                             "effect given the records (conditional, without the grouping "
                             "components): conditional=False and exog_vc= are for "
                             "which='mean'")
        return _breeding_values(results, terms, exog, transform, row_labels, individual,
                                component)
    if component is not None:
        raise ValueError("component= is for which='breeding_value'")
    x, row_labels, index = _design_rows(results, exog, transform, row_labels)
    if not conditional:
        if individual is not None or exog_vc is not None:
            raise ValueError("individual= and exog_vc= are for conditional predictions; "
                             "conditional=False predicts x'b alone")
        return _marginal(results, x, row_labels)
    m = x.shape[0]
    if exog is None:  # the model's own records
        if individual is not None or exog_vc is not None:
            raise ValueError("individual= and exog_vc= describe new rows: give exog too")
        positions = {name: term.record_rows for name, term in terms.items()}
        groups = {c.name: group_design(c) for c in (model.structure.components
                                                    if model.structure is not None else [])
                  if c.kind == "group"}
    else:
        raw = exog
        if index is not None and isinstance(raw, (pd.DataFrame, pd.Series)) \
                and len(raw) != m:
            raise ValueError(f"exog has {len(raw)} rows and {len(raw) - m} of them have "
                             "missing values in the formula's variables: drop them first")
        positions = {}
        if terms:
            ids = _new_individuals(model, raw, individual, m, "exog", terms)
            positions = {name: term.locate(ids) for name, term in terms.items()}
        groups = _new_groups(model, raw, exog_vc, m)
    rows_of = covariance_rows(results, terms, positions, groups, model.component_names)
    pred = conditional_prediction(results, rows_of, None, x)
    return KinshipPredictionResults(
        pred.mean, pred.pev_mean, float(results.scale), df=results.df_resid,
        dist="t" if results.use_t else "norm", row_labels=row_labels, kind="conditional",
        fixed=pred.fixed, random=pred.random, pev_random=pred.pev_random,
        var_random=pred.var_random)


def _breeding_values(results, terms, exog, transform, row_labels, individual, component):
    model = results.model
    if not terms:
        raise ValueError("which='breeding_value' needs a relationship component; the model "
                         f"has only grouping components ({_show(model.component_names)})")
    if component is None:
        component = next(iter(terms))
    if component not in terms:
        raise ValueError(f"component {component!r} is not a relationship component of the "
                         f"model ({_show(terms)})")
    term = terms[component]
    if exog is not None:  # only the rows' individuals are used
        ids = _new_individuals(model, exog, individual, np.shape(exog)[0], "exog",
                               terms)
    elif individual is not None:
        ids = pd.Index(np.asarray(individual).ravel())
    else:  # every individual of the relationship matrix
        ids = term.labels
    pos = term.locate(ids)
    if row_labels is None:
        row_labels = ids
    rows_of = covariance_rows(results, terms, {component: pos}, {}, [component])
    p = int((~np.asarray(results.aliased)).sum())
    pred = conditional_prediction(results, rows_of, None, np.zeros((len(ids), p)))
    return KinshipPredictionResults(
        pred.random, pred.pev_random, 0.0, df=results.df_resid,
        dist="t" if results.use_t else "norm", row_labels=row_labels, kind="breeding_value",
        fixed=np.zeros(len(ids)), random=pred.random, pev_random=pred.pev_random,
        var_random=pred.var_random)
