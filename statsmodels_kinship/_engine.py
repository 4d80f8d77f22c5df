"""The likelihood engine for several variance components.

Private module. The model ``y = X b + sum_j Z_j u_j + e``, ``u_j ~ N(0, s_j^2 K_j)``,
``e ~ N(0, s_e^2 I)`` has the covariance ``V = s_e^2 H(gamma)`` with

    H(gamma) = I + sum_j gamma_j W_j,    W_j = Z_j K_j Z_j',    gamma_j = s_j^2 / s_e^2 >= 0.

* :class:`Component` -- one variance component: a known relationship matrix over individuals
  (records map to individuals through ``codes``), or an iid grouping factor (``codes`` of its
  levels, or a design matrix ``Z``).
* :class:`CovarianceStructure` -- the components of a model, and the partition of the records
  into independent blocks (connected through a nonzero relationship, a shared level or the
  same individual): ``H`` is block-diagonal, and blocks of one size are handled in one batched
  call.
* :class:`BlockLikelihood` -- the (restricted) log-likelihood profiled over ``b`` and ``s_e^2``
  as a function of ``gamma``, its gradient, the average-information matrix, the observed
  information of the variance components, the BLUPs, and :meth:`BlockLikelihood.maximize`
  (projected average-information Newton from the best point of a grid over the shares).
* :class:`SparseMMELikelihood` -- the same likelihood from Henderson's mixed-model equations
  factored as sparse matrices, for relationships given by their sparse inverse
  (:class:`InverseComponent`, a pedigree's ``A^-1``) when the records form large connected
  blocks; derivative-free maximisation.

The single-kinship model with one record per individual is the engine's special case
``_spectral.ProfiledLikelihood`` (one eigendecomposition of K makes ``H`` diagonal); both share
the GLS solution and the criterion (``_spectral.gls_from_cross``, ``_spectral.profiled_loglike``),
so a fit with one component gives the same numbers on either path.
"""
import itertools

import numpy as np
from scipy import linalg, optimize, sparse
from scipy.sparse import csgraph
from scipy.sparse import linalg as sparse_linalg

from ._spectral import (
    KinshipDecomposition,
    block_diagonal_matrix,
    chol_inverse,
    gls_from_cross,
    profiled_loglike,
    serial_blas,
)
from ._validation import MEMORY_FRACTION, available_memory
from .exceptions import KinshipMemoryError

__all__ = ["Component", "CovarianceStructure", "BlockLikelihood", "Whitener", "SHARE_GRID",
           "vcomp_covariance", "variance_shares", "share_grid", "InverseComponent",
           "SparseMMELikelihood", "SpectralWoodburyLikelihood", "SpectralWhitener"]

#: Blocks larger than this are factored one at a time with LAPACK (``potrf``/``potri``);
#: smaller ones of equal size in one batched numpy call.
_BATCH_MAX = 128
#: Levels of each component's share of the variance on the starting grid (shares summing
#: to at most the largest level); the best grid point starts the Newton iterations.
SHARE_GRID = (0.0, 0.25, 0.5, 0.75)
#: Work (sum of block sizes cubed) above which the starting grid is reduced to the
#: equal-shares point and one point per component.
_GRID_WORK_MAX = 2e9
#: Convergence: the Newton decrement ``g' AI^-1 g`` of the profiled log-likelihood (about
#: twice the distance to the maximum) below this, or a step of ``gamma`` below
#: ``_STEP_RTOL`` relative (``gamma_j`` plus the inverse of its scale).
_DECREMENT_TOL = 1e-16
_STEP_RTOL = 1e-13
#: A decrement below this when no step increases the likelihood any more is rounding.
_DECREMENT_NOISE = 1e-8
#: Below this decrement (and for blocks small enough) the Newton steps use the exact Hessian.
_EXACT_NEWTON_BELOW = 1e-3
#: Below this decrement exact Newton steps are taken without the line search.
_FULL_STEP_BELOW = 1e-6
_MAX_ITER = 200


class Component:
    """One variance component.

    Parameters
    ----------
    name : str
    kind : {"relationship", "group"}
    codes : ndarray of int, shape (n,)
        Per record: its individual (the row of ``matrix``) or its level. None with ``design``.
    matrix : ndarray or scipy.sparse matrix, optional
        The known relationship matrix over individuals (kind ``"relationship"``).
    levels : array_like, optional
        Labels of the individuals or levels (for the BLUPs).
    design : ndarray or scipy.sparse matrix, shape (n, q), optional
        A grouping component given by its design ``Z`` (iid effects per column).
    """

    def __init__(self, name, kind, codes=None, matrix=None, levels=None, design=None):
        self.name = name
        self.kind = kind
        self.codes = None if codes is None else np.asarray(codes, dtype=np.intp)
        self.matrix = matrix
        self.design = design
        if levels is None:
            size = (matrix.shape[0] if matrix is not None else design.shape[1]
                    if design is not None else int(self.codes.max()) + 1)
            levels = np.arange(size)
        self.levels = np.asarray(levels)

    @property
    def n_levels(self):
        return len(self.levels)

    def diagonal(self):
        """``diag(W)``: the variance of each record's effect per unit ``s_j^2``."""
        if self.kind == "relationship":
            return np.asarray(self.matrix.diagonal(), dtype=float)[self.codes]
        if self.design is None:
            return np.ones(len(self.codes))
        z = self.design
        return np.asarray(z.multiply(z).sum(axis=1)).ravel() if sparse.issparse(z) else (
            np.einsum("ij,ij->i", z, z))

    def project(self, values):
        """``Z' values`` (``values`` per record): sums per individual or level."""
        if self.design is not None:
            return np.asarray(self.design.T @ values)
        return np.bincount(self.codes, weights=values, minlength=self.n_levels)

    def expand(self, effects):
        """``Z effects``: each record's effect; ``effects`` of shape (q,) or (b, q) (a batch
        of effect vectors, one per row: the same arithmetic whatever b)."""
        effects = np.asarray(effects)
        if self.design is None:
            return effects[..., self.codes]
        if sparse.issparse(self.design):
            return np.asarray(self.design @ effects.T).T
        return np.matmul(self.design, effects[..., None])[..., 0]

    def level_blocks(self):
        """The independent blocks of a relationship matrix over its own levels, grouped by
        size: a list of ``(levels, K_blocks)``, ``levels`` of shape (nb, s) (ascending within
        a block) and ``K_blocks`` (nb, s, s)."""
        q = self.matrix.shape[0]
        own = Component(self.name, "relationship", codes=np.arange(q), matrix=self.matrix)
        structure = CovarianceStructure(q, [own])
        return [(idx, own.weights(idx)) for idx in structure.block_index]

    def blup(self, gamma, py):
        """BLUP of the component's effects, ``gamma K Z' H^-1 (y - X b)`` (``py``)."""
        zpy = self.project(py)
        if self.kind == "relationship":
            return gamma * np.asarray(self.matrix @ zpy)
        return gamma * zpy

    def _nodes(self):
        """(records, node) pairs that connect records through this component."""
        n = len(self.codes) if self.codes is not None else self.design.shape[0]
        if self.kind == "relationship":
            k = self.matrix
            if sparse.issparse(k):
                n_nodes, labels = csgraph.connected_components(k != 0, directed=False)
            elif np.all(k != 0):
                n_nodes, labels = 1, np.zeros(k.shape[0], dtype=np.intp)
            else:
                n_nodes, labels = csgraph.connected_components(sparse.csr_matrix(k != 0),
                                                               directed=False)
            return np.arange(n), labels[self.codes], n_nodes
        if self.design is None:
            return np.arange(n), self.codes, self.n_levels
        rows, cols = (sparse.coo_matrix(self.design).nonzero() if sparse.issparse(self.design)
                      else np.nonzero(self.design))
        return rows, cols, self.design.shape[1]

    def weights(self, idx):
        """``W = Z K Z'`` on blocks of records ``idx`` (shape (nb, s)): shape (nb, s, s)."""
        if self.kind == "relationship":
            r = self.codes[idx]
            k = self.matrix
            if not sparse.issparse(k):
                return np.asarray(k[r[:, :, None], r[:, None, :]], dtype=float)
            if idx.shape[1] > 64:
                k = k.tocsr()
                return np.stack([k[rb][:, rb].toarray() for rb in r])
            vals = k.tocsr()[np.repeat(r, r.shape[1], axis=1).ravel(), np.tile(r, r.shape[1]).ravel()]
            return np.asarray(vals, dtype=float).reshape(idx.shape + (idx.shape[1],))
        if self.design is None:
            c = self.codes[idx]
            return (c[:, :, None] == c[:, None, :]).astype(float)
        z = self.design
        zb = (np.stack([z[b].toarray() for b in idx]) if sparse.issparse(z)
              else np.asarray(z)[idx])
        return zb @ zb.transpose(0, 2, 1)


class CovarianceStructure:
    """The variance components of a model and the independent blocks of its records.

    Parameters
    ----------
    n : int
        Number of records.
    components : list of Component

    Attributes
    ----------
    names : list of str
    block_index : list of ndarray
        Per block size, the records of each block, shape (n_blocks_of_that_size, size).
    block_sizes : ndarray
        The size of every block.
    mean_diagonals : ndarray
        Per component, the mean of ``diag(W_j)`` over the records: the variance a typical
        record receives per unit of the component's variance (0.5 for kinship coefficients,
        1 for a relationship matrix or a grouping factor), which makes shares comparable.
    """

    def __init__(self, n, components):
        self.n = int(n)
        self.components = list(components)
        self.names = [c.name for c in self.components]
        labels = self._block_labels()
        order = np.argsort(labels, kind="stable")
        counts = np.bincount(labels)
        starts = np.r_[0, np.cumsum(counts)[:-1]]
        self.block_sizes = counts
        self.block_index = []
        for size in np.unique(counts):
            first = starts[counts == size]
            self.block_index.append(order[first[:, None] + np.arange(size)[None, :]])
        self.mean_diagonals = np.array([float(np.mean(c.diagonal())) for c in self.components])

    def check_dense_memory(self):
        """Raise :class:`~statsmodels_kinship.exceptions.KinshipMemoryError` up front when the
        blocks, as dense matrices (:class:`BlockLikelihood`), would not fit in memory."""
        counts = self.block_sizes
        need = 8.0 * (len(self.components) + 3) * float(np.sum(counts.astype(float) ** 2))
        avail = available_memory()
        if avail is not None and need > MEMORY_FRACTION * avail:
            raise KinshipMemoryError(
                f"the covariance of the largest independent block ({counts.max()} records) and "
                f"the others needs about {need / 2**30:.1f} GiB as dense matrices, more than "
                f"{MEMORY_FRACTION:.0%} of the {avail / 2**30:.1f} GiB available")

    @property
    def n_blocks(self):
        return len(self.block_sizes)

    def _block_labels(self):
        rows, cols, offset = [], [], self.n
        for comp in self.components:
            r, node, n_nodes = comp._nodes()
            rows.append(r)
            cols.append(offset + node)
            offset += n_nodes
        rows = np.concatenate(rows + [np.arange(self.n)])
        cols = np.concatenate(cols + [np.arange(self.n)])
        graph = sparse.coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(offset, offset))
        _, labels = csgraph.connected_components(graph, directed=False)
        _, labels = np.unique(labels[:self.n], return_inverse=True)
        return labels

    def weights(self, idx):
        """``W_j`` of every component on blocks ``idx``: shape (m, nb, s, s)."""
        return np.stack([c.weights(idx) for c in self.components])


def _factor(h):
    """Log-determinant of the blocks ``h`` (nb, s, s) (positive definite) and their inverses."""
    nb, s, _ = h.shape
    if s <= _BATCH_MAX and nb > 1:
        chol = np.linalg.cholesky(h)
        logdet = 2.0 * np.log(np.diagonal(chol, axis1=1, axis2=2)).sum()
        return logdet, np.linalg.inv(h)
    logdet, invs = 0.0, np.empty_like(h)
    for b in range(nb):
        chol = linalg.cholesky(h[b], lower=True, check_finite=False)
        logdet += 2.0 * float(np.log(np.diag(chol)).sum())
        invs[b] = chol_inverse(chol)
    return logdet, invs


def share_grid(scales, full=True):
    """Starting points of the maximisation: ``gamma`` for shares of the variance on
    :data:`SHARE_GRID` (shares summing to at most its largest level), or with ``full=False``
    the equal-shares point (half the variance) and one point per component (half of it);
    ``scales`` are the components' ``mean_diagonals``."""
    m = len(scales)
    if full:
        top = max(SHARE_GRID)
        shares = [np.array(c) for c in itertools.product(SHARE_GRID, repeat=m)
                  if sum(c) <= top + 1e-12]
    else:
        shares = [np.full(m, 0.5 / m)] + [np.eye(m)[j] * 0.5 for j in range(m)]
    shares = np.array(shares)
    return shares / (1.0 - shares.sum(axis=1, keepdims=True)) / np.asarray(scales)


def vcomp_covariance(info, gamma):
    """Inverse observed information of the variance components ``(s_1^2..s_m^2, s_e^2)`` on
    the free ones (``gamma_j > 0`` and the residual); NaN for those at 0, and everywhere when
    it is not positive definite."""
    k = len(gamma) + 1
    free = np.r_[np.asarray(gamma) > 0, True]
    cov = np.full((k, k), np.nan)
    try:
        sub = np.linalg.inv(info[np.ix_(free, free)])
        if np.all(np.diag(sub) > 0):
            cov[np.ix_(free, free)] = sub
    except np.linalg.LinAlgError:
        pass
    return cov


def variance_shares(vcomp, cov, scales):
    """Shares ``s_j^2 m_j / (sum_i s_i^2 m_i + s_e^2)`` of the rows of ``vcomp`` (b, k) and
    their delta-method standard errors from ``cov`` (b, k, k); components estimated at 0
    enter as constants (their rows of ``cov`` are NaN)."""
    vcomp = np.asarray(vcomp, dtype=float)
    parts = vcomp * scales
    total = parts.sum(axis=1, keepdims=True)
    shares = parts / total
    k = vcomp.shape[1]
    at_zero = vcomp == 0
    cov = np.where((at_zero[:, :, None] | at_zero[:, None, :]) & np.isnan(cov), 0.0, cov)
    # d share_j / d v_i = m_i (delta_ij total - parts_j) / total^2, per row (b, j, i)
    grad = scales * (np.eye(k) * total[:, :, None] - parts[:, :, None]) / total[:, :, None] ** 2
    with np.errstate(invalid="ignore"):
        se = np.sqrt(np.einsum("bji,bil,bjl->bj", grad, cov, grad))
    return shares, se


class _Likelihood:
    """What every evaluation strategy of the engine shares: its data and their replacement.
    A subclass sets ``structure``, ``n``, ``p``, ``m`` and implements ``_set_data(exog,
    endog)`` (which must reset ``_last``, the memo of the last solution)."""

    def with_endog(self, endog):
        """The same likelihood for another response (the covariance and its set-up shared)."""
        return self.with_exog(self._exog, endog)

    def with_exog(self, exog, endog=None):
        """The same covariance structure (its matrices shared, not built again) with another
        design (and response): e.g. the null model's design plus one SNP."""
        exog = np.asarray(exog, dtype=float)
        other = object.__new__(type(self))
        other.__dict__.update(self.__dict__)
        other.n, other.p = exog.shape
        other._set_data(exog, self._endog if endog is None else np.asarray(endog, float))
        return other

    @property
    def exog(self):
        """The design (full column rank)."""
        return self._exog

    @property
    def endog(self):
        """The response (as given: the model's is centred on its design)."""
        return self._endog

    @property
    def scales(self):
        """Typical variance per unit ratio of each component (see ``mean_diagonals``)."""
        return self.structure.mean_diagonals

    def _start_point(self, reml, start):
        """Where :meth:`maximize` starts: ``start`` (clipped at 0), or the best point of the
        subclass's ``start_grid()``; and the number of likelihood evaluations that cost."""
        if start is not None:
            return np.maximum(np.asarray(start, dtype=float), 0.0), 0
        grid = self.start_grid()
        values = [self.loglike(g, reml) for g in grid]
        return grid[int(np.argmax(values))].copy(), len(grid)


class BlockLikelihood(_Likelihood):
    """(Restricted) log-likelihood profiled over ``b`` and ``s_e^2``, as a function of the
    variance ratios ``gamma_j = s_j^2 / s_e^2``.

    Parameters
    ----------
    structure : CovarianceStructure
    exog : ndarray, shape (n, p)
        Design of full column rank.
    endog : ndarray, shape (n,)

    Notes
    -----
    With ``H = I + sum_j gamma_j W_j`` (block-diagonal), ``A = X'H^-1X``, the GLS estimate
    ``b`` and ``RSS = r'H^-1r`` (``r = y - X b``), the criterion is that of
    :func:`~statsmodels_kinship._spectral.profiled_loglike` with ``logdet_v = log det H``.
    Its gradient, with ``Py = H^-1 r`` and ``dof = n - p`` (REML) or ``n`` (ML)::

        d(-2 llf)/d gamma_j = tr(H^-1 W_j) - [REML] tr(A^-1 X'H^-1 W_j H^-1 X)
                              - dof Py'W_j Py / RSS

    The average information of the profiled likelihood is ``AI_ij = dof/(2 RSS) (u_i'P u_j -
    q_i q_j / RSS)`` with ``u_j = W_j Py``, ``q_j = Py'W_j Py`` and ``P`` the REML projection
    of ``H`` (the average information of ``(gamma, s_e^2)`` with ``s_e^2`` profiled out).
    """

    def __init__(self, structure, exog, endog):
        self.structure = structure
        exog = np.asarray(exog, dtype=float)
        self.n, self.p = exog.shape
        self.m = len(structure.components)
        structure.check_dense_memory()
        self._blocks = [(idx, structure.weights(idx)) for idx in structure.block_index]
        self._work = float(np.sum(structure.block_sizes.astype(float) ** 3))
        self._set_data(exog, np.asarray(endog, dtype=float))

    def _set_data(self, exog, endog):
        self._exog = exog
        self._endog = endog
        self._last = None  # the last solution (see solve)
        self._z = [np.concatenate([exog[idx], endog[idx][..., None]], axis=-1)
                   for idx, _ in self._blocks]

    def whitener(self, gamma):
        """:class:`Whitener` of ``H(gamma)``: ``L^-1`` per block and ``log det H``."""
        return Whitener(self, gamma)

    # -- evaluation ---------------------------------------------------------------------

    def solve(self, gamma, level=0):
        """GLS solution at ``gamma`` (see :func:`~statsmodels_kinship._spectral.gls_from_cross`)
        with ``logdet_v``; with ``level >= 1`` also ``Py`` (per record), and the pieces of the
        gradient and the average information."""
        gamma = np.asarray(gamma, dtype=float)
        last = self._last
        # the same point again (the results right after maximize): the last solution
        if last is not None and last[1] >= level and np.array_equal(last[0], gamma):
            return dict(last[2])
        sol = self._solve(gamma, level)
        self._last = (gamma.copy(), level, sol)
        return dict(sol)

    def _solve(self, gamma, level):
        p, m = self.p, self.m
        cross = np.zeros((p + 1, p + 1))
        logdet = 0.0
        parts = []
        for (idx, w), z in zip(self._blocks, self._z):
            nb, s = idx.shape
            h = np.tensordot(gamma, w, axes=1)
            h[:, np.arange(s), np.arange(s)] += 1.0
            ld, hinv = _factor(h)
            logdet += ld
            hz = hinv @ z
            cross += np.einsum("bsi,bsj->ij", z, hz)
            parts.append((hinv, hz))
        sol = gls_from_cross(cross, p)
        sol["logdet_v"] = logdet
        if level < 1:
            return sol
        zb = np.append(-sol["params"], 1.0)
        py = np.empty(self.n)
        t = np.zeros(m)
        q = np.zeros(m)
        r_mats = np.zeros((m, p, p))
        hu = np.zeros((m, self.n))  # H^-1 u_j, per record
        xhu = np.zeros((m, p))  # X'H^-1 u_j
        u_all = np.zeros((m, self.n))
        for (idx, w), (hinv, hz) in zip(self._blocks, parts):
            pyb = hz @ zb  # (nb, s)
            py[idx] = pyb
            hx = hz[..., :p]
            # every component at once: w is (m, nb, s, s)
            t += np.einsum("mbst,bst->m", w, hinv)
            u = (w @ pyb[None, :, :, None])[..., 0]  # W_j Py, (m, nb, s)
            u_all[:, idx] = u
            q += np.einsum("mbs,bs->m", u, pyb)
            whx = w @ hx[None]  # (m, nb, s, p)
            r_mats += np.einsum("bsi,mbsj->mij", hx, whx)
            hub = (hinv[None] @ u[..., None])[..., 0]  # H^-1 u_j
            hu[:, idx] = hub
            xhu += np.einsum("bsi,mbs->mi", self._exog[idx], hub)
        sol.update(py=py, trace=t, quad=q, r_mats=r_mats, u=u_all, hu=hu, xhu=xhu,
                   parts=parts)
        return sol

    def loglike(self, gamma, reml=True):
        """Profiled (restricted) log-likelihood at ``gamma``."""
        return profiled_loglike(self.solve(gamma), self.n, self.p, reml)

    def derivatives(self, sol, reml):
        """Score and average information of the profiled log-likelihood in ``gamma``."""
        p = self.p
        dof = self.n - p if reml else self.n
        rss = sol["rss"]
        a_inv = chol_inverse(sol["chol_A"])
        grad2 = sol["trace"] - dof * sol["quad"] / rss
        if reml:
            grad2 = grad2 - np.einsum("ij,mji->m", a_inv, sol["r_mats"])
        upu = sol["u"] @ sol["hu"].T - sol["xhu"] @ a_inv @ sol["xhu"].T
        ai = 0.5 * dof / rss * (upu - np.outer(sol["quad"], sol["quad"]) / rss)
        return -0.5 * grad2, 0.5 * (ai + ai.T)

    def score(self, gamma, reml=True):
        """Gradient of the profiled (restricted) log-likelihood in ``gamma``."""
        return self.derivatives(self.solve(gamma, level=1), reml)[0]

    def loglike_and_score(self, gamma, reml=True):
        """The profiled (restricted) log-likelihood at ``gamma`` and its gradient, from one
        factorization."""
        sol = self.solve(gamma, level=1)
        return profiled_loglike(sol, self.n, self.p, reml), self.derivatives(sol, reml)[0]

    def _projected_traces(self, sol, reml):
        """``tr(P W_i P W_j)`` for the components and the residual (``W = I``), with ``P``
        the REML projection of ``H`` (REML) or ``H^-1`` (ML); and ``u_i' P u_j`` for
        ``u_i = W_i Py``. Costs about ``m`` products of the blocks (``m s^3`` each); the
        last result is kept (the Newton step's Hessian at the maximum is the information's)."""
        memo = getattr(self, "_traces_memo", None)
        if memo is not None and memo[0] is sol["parts"] and memo[1] == reml:
            return memo[2]
        out = self._projected_traces_of(sol, reml)
        self._traces_memo = (sol["parts"], reml, out)
        return out

    def _projected_traces_of(self, sol, reml):
        p, m = self.p, self.m
        a_inv = chol_inverse(sol["chol_A"])
        k = m + 1
        tr_bb = np.zeros((k, k))
        xbbx = np.zeros((k, k, p, p))  # X'H^-1 W_i H^-1 W_j H^-1 X
        xbx = np.zeros((k, p, p))  # X'H^-1 W_i H^-1 X
        for (idx, w), (hinv, hz) in zip(self._blocks, sol["parts"]):
            nb, s = idx.shape
            hx = hz[..., :p]
            # every component and the residual (W = I) at once, as BLAS products
            b = np.concatenate([hinv[None] @ w, hinv[None]])  # H^-1 W_i, (k, nb, s, s)
            vhx = np.concatenate([w @ hx[None], hx[None]])  # W_i H^-1 X, (k, nb, s, p)
            bhx = b @ hx[None]  # H^-1 W_i H^-1 X
            flat = b.reshape(k, -1)
            tr_bb += flat @ b.transpose(0, 1, 3, 2).reshape(k, -1).T
            vhx_r, bhx_r = vhx.reshape(k, nb * s, p), bhx.reshape(k, nb * s, p)
            xbx += np.tensordot(hx.reshape(nb * s, p), vhx_r, axes=([0], [1])).transpose(1, 0, 2)
            xbbx += np.tensordot(vhx_r, bhx_r, axes=([1], [1])).transpose(0, 2, 1, 3)
        traces = np.empty((k, k))
        for i in range(k):
            for j in range(i + 1):
                trace = tr_bb[i, j]
                if reml:
                    trace += (-2.0 * np.sum(a_inv * xbbx[i, j])
                              + np.sum((a_inv @ xbx[i]) * (a_inv @ xbx[j]).T))
                traces[i, j] = traces[j, i] = trace
        u = np.vstack([sol["u"], sol["py"]])  # W_i Py
        hu = np.vstack([sol["hu"], self._hinv_apply(sol, sol["py"])])
        xhu = np.vstack([sol["xhu"], self._exog.T @ hu[-1]])
        upu = u @ hu.T - xhu @ a_inv @ xhu.T
        return traces, upu

    def hessian(self, sol, reml):
        """Hessian of the profiled (restricted) log-likelihood in ``gamma`` at a solution
        of level 1: ``1/2 tr(P W_i P W_j) - dof u_i'P u_j / RSS + dof q_i q_j / (2 RSS^2)``."""
        traces, upu = self._projected_traces(sol, reml)
        m = self.m
        dof = self.n - self.p if reml else self.n
        rss, q = sol["rss"], sol["quad"]
        return (0.5 * traces[:m, :m] - dof * upu[:m, :m] / rss
                + 0.5 * dof * np.outer(q, q) / rss ** 2)

    def information(self, gamma, scale, reml=True):
        """Observed information of ``(s_1^2, ..., s_m^2, s_e^2)`` at ``s_j^2 = gamma_j scale``,
        ``s_e^2 = scale``, from the likelihood profiled over the fixed effects.

        ``I_ij = -1/2 tr(P V_i P V_j) + y'P V_i P V_j P y`` with ``V_j = W_j``, ``V_e = I``
        and ``P`` the REML projection (under ML ``V^-1`` in the trace), as
        ``_spectral.ProfiledLikelihood.information`` for one component.
        """
        traces, upu = self._projected_traces(self.solve(gamma, level=1), reml)
        # P = P_H / s_e^2 and y'P = Py' / s_e^2
        return -0.5 * traces / scale ** 2 + upu / scale ** 3

    def _hinv_apply(self, sol, v):
        out = np.empty(self.n)
        for (idx, _), (hinv, _) in zip(self._blocks, sol["parts"]):
            out[idx] = np.einsum("bst,bt->bs", hinv, v[idx])
        return out

    # -- maximisation -------------------------------------------------------------------

    def start_grid(self):
        """Starting points: ``gamma`` for shares of the variance on :data:`SHARE_GRID`
        (:func:`share_grid`, reduced for blocks costing more than ``_GRID_WORK_MAX``)."""
        return share_grid(self.scales, full=self._work <= _GRID_WORK_MAX)

    def maximize(self, reml=True, start=None, fixed=None):
        """Maximum of the profiled (restricted) likelihood over ``gamma >= 0``.

        The likelihood is evaluated on :meth:`start_grid` (or at ``start``); from the best
        point, projected Newton steps with the average-information matrix on the free
        components (those above 0, or at 0 with a positive gradient), each step halved until
        the likelihood does not decrease and cut at the boundary ``gamma_j = 0``. Converged
        when the Newton decrement (about twice the distance to the maximum in llf) is below
        1e-16, or the step below 1e-13 relative, or no step increases the likelihood and the
        decrement is below 1e-8 (rounding); a component stays at 0 (a boundary estimate, as
        in lme4) when its gradient there is not positive.

        Parameters
        ----------
        reml : bool
        start : array_like, optional
            Starting ``gamma`` (skips the grid).
        fixed : array_like of bool, optional
            Components held at their start value (``gamma`` not estimated).

        Returns
        -------
        gamma : ndarray
        llf : float
        info : dict
            ``converged``, ``boundary`` (names of the components at 0), ``n_evals``,
            ``n_iter``, ``message``, ``decrement``.
        """
        m = self.m
        fixed = np.zeros(m, dtype=bool) if fixed is None else np.asarray(fixed, dtype=bool)
        gamma, n_evals = self._start_point(reml, start)
        sol = self.solve(gamma, level=1)
        llf = profiled_loglike(sol, self.n, self.p, reml)
        n_evals += 1
        converged, message, decrement = False, "", np.inf
        n_iter = 0
        for n_iter in range(1, _MAX_ITER + 1):
            grad, ai = self.derivatives(sol, reml)
            free = ~fixed & ((gamma > 0) | (grad > 0))
            if not free.any():
                converged, decrement = True, 0.0
                break
            metric, exact = ai[np.ix_(free, free)], False
            if decrement < _EXACT_NEWTON_BELOW and self._work <= _GRID_WORK_MAX:
                # near the maximum: Newton with the exact Hessian (quadratic convergence)
                # while it is negative definite on the free components
                hess = -self.hessian(sol, reml)[np.ix_(free, free)]
                if np.all(np.linalg.eigvalsh(hess) > 0):
                    metric, exact = hess, True
            step_f = np.linalg.lstsq(metric, grad[free], rcond=1e-12)[0]
            decrement = float(grad[free] @ step_f)
            if decrement < _DECREMENT_TOL:
                converged = True
                break
            step = np.zeros(m)
            step[free] = step_f
            t = 1.0
            while True:
                new = np.maximum(gamma + t * step, 0.0)
                new_sol = self.solve(new, level=1)
                new_llf = profiled_loglike(new_sol, self.n, self.p, reml)
                n_evals += 1
                # close to the maximum the likelihood changes by less than its rounding:
                # exact Newton steps are then taken whole (convergence is judged on the
                # analytic gradient, through the decrement)
                if new_llf >= llf or t < 1e-6 or (exact and decrement < _FULL_STEP_BELOW):
                    break
                t *= 0.5
            if new_llf < llf and not (exact and decrement < _FULL_STEP_BELOW):
                # no ascent along the step: rounding level reached
                converged = decrement < _DECREMENT_NOISE
                message = "" if converged else (
                    f"no increase of the likelihood along the Newton step (decrement "
                    f"{decrement:.3g})")
                break
            moved = np.abs(new - gamma) / (np.abs(gamma) + 1.0 / self.scales)
            gamma, sol, llf = new, new_sol, new_llf
            if moved.max() < _STEP_RTOL:
                converged = True
                break
        else:
            message = (f"no convergence in {_MAX_ITER} Newton iterations (decrement "
                       f"{decrement:.3g})")
        boundary = [self.structure.names[j] for j in range(m) if gamma[j] == 0.0 and not fixed[j]]
        return gamma, float(profiled_loglike(sol, self.n, self.p, reml)), {
            "converged": converged, "boundary": boundary, "n_evals": n_evals,
            "n_iter": n_iter, "message": message, "decrement": decrement}

    # -- effects --------------------------------------------------------------------------

    def effects(self, gamma):
        """GLS solution at ``gamma`` with the BLUPs of every component (dict name -> array
        over its individuals or levels) and each record's total random effect."""
        sol = self.solve(gamma, level=1)
        py = sol["py"]
        blups = {}
        total = np.zeros(self.n)
        for g, comp in zip(np.asarray(gamma, dtype=float), self.structure.components):
            u = comp.blup(g, py)
            blups[comp.name] = u
            total += comp.expand(u)
        sol["blups"] = blups
        sol["random"] = total
        return sol


class Whitener:
    """``L^-1`` per independent block, ``H(gamma) = I + sum_j gamma_j W_j = L L'`` on the
    blocks of a :class:`~statsmodels_kinship._engine.BlockLikelihood`: ``apply(a)`` is
    ``L^-1 a`` (rows of ``a`` are records), ``logdet`` is ``log det H``.

    With ``a~ = L^-1 a`` generalized least squares at ``gamma`` is ordinary least squares of
    ``y~`` on ``X~`` (the scan's fixed-ratio tests). Made by :meth:`BlockLikelihood.whitener`.
    """

    def __init__(self, engine, gamma):
        gamma = np.asarray(gamma, dtype=float)
        self.n = engine.n
        self.factors = []
        self.logdet = 0.0
        for idx, w in engine._blocks:
            nb, s = idx.shape
            h = np.tensordot(gamma, w, axes=1)
            h[:, np.arange(s), np.arange(s)] += 1.0
            if s <= _BATCH_MAX and nb > 1:
                chol = np.linalg.cholesky(h)
                linv = np.tril(np.linalg.inv(chol))
            else:
                chol = np.stack([linalg.cholesky(hb, lower=True, check_finite=False)
                                 for hb in h])
                linv = np.stack([linalg.solve_triangular(cb, np.eye(s), lower=True,
                                                         check_finite=False) for cb in chol])
            self.logdet += 2.0 * float(np.log(np.diagonal(chol, axis1=1, axis2=2)).sum())
            self.factors.append((idx, linv))

    @property
    def block_entries(self):
        """``sum s^2`` over the blocks: the entries of :meth:`matrix`."""
        return int(sum(idx.size * idx.shape[1] for idx, _ in self.factors))

    def matrix(self):
        """``L^-1`` as a sparse matrix (``matrix() @ a`` is ``apply(a)``, for sparse ``a``
        too; :attr:`block_entries` entries)."""
        return block_diagonal_matrix(self.n, self.factors)

    def apply(self, a):
        """``L^-1 a`` for ``a`` of shape (n,) or (n, k)."""
        a = np.asarray(a, dtype=float)
        flat = a.ndim == 1
        a2 = a[:, None] if flat else a
        out = np.empty_like(a2)
        for idx, linv in self.factors:
            out[idx] = linv @ a2[idx]
        return out[:, 0] if flat else out


# -- the sparse mixed-model equations ------------------------------------------------------

#: SuperLU settings for symmetric positive definite matrices: symmetric mode with diagonal
#: pivots, so that no rows are interchanged and ``log det`` is the sum of the logs of the
#: pivots (the diagonal of U).
_SPD_LU = {"diag_pivot_thresh": 0.0, "options": {"SymmetricMode": True}}
#: Relative step of the central differences of :meth:`SparseMMELikelihood.score` (times
#: ``gamma_j + 1 / scale_j``) and of the second differences of ``log det`` in
#: :meth:`SparseMMELikelihood.information` (times ``gamma_j``).
_SCORE_STEP = 1e-5
_HESSIAN_STEP = 1e-3
#: Convergence of :meth:`SparseMMELikelihood.maximize` (scipy's COBYQA): final trust-region
#: radius in ``theta_j = sqrt(gamma_j scale_j)`` (lme4's relative standard deviations), and
#: the largest number of evaluations. On the dairy data the variance components then agree
#: with lme4's to about 1e-6 relative (``python benchmarks/compare_lme4_components.py``),
#: as close as the flat criterion's rounding allows (smaller radii cost evaluations).
_MME_RADIUS = 1e-7
_MME_MAX_EVALS = 2000
#: Below this ``theta_j`` a component is compared with the boundary ``gamma_j = 0``.
_MME_BOUNDARY_THETA = 1e-3


def _spd_factor(matrix, ordered=False):
    """Sparse LU (SuperLU) of a symmetric positive definite matrix, and its log-determinant.

    ``ordered``: the rows are already in a fill-reducing order (only the numeric
    factorization is done); else a minimum-degree ordering of ``A + A'`` is computed.
    Raises ``numpy.linalg.LinAlgError`` when a pivot is not positive.
    """
    lu = sparse_linalg.splu(sparse.csc_matrix(matrix),
                            permc_spec="NATURAL" if ordered else "MMD_AT_PLUS_A", **_SPD_LU)
    pivots = lu.U.diagonal()
    if not np.all(pivots > 0) or not np.all(np.isfinite(pivots)):
        raise np.linalg.LinAlgError("the matrix is not positive definite (a pivot of its sparse "
                                    f"LU is {pivots[~(pivots > 0)][:1]})")
    return lu, float(np.log(pivots).sum())


class _SolveOperator(sparse_linalg.LinearOperator):
    """``K`` of an :class:`InverseComponent` as an operator: ``K @ v`` solves ``K^-1 x = v``."""

    def __init__(self, component):
        super().__init__(np.dtype(float), component.inverse.shape)
        self.component = component

    def _matvec(self, v):
        return self.component.solve(v)

    def _matmat(self, v):
        return self.component.solve(v)

    def _adjoint(self):
        return self


class InverseComponent(Component):
    """A relationship component given by the sparse inverse of its matrix, e.g. a pedigree's
    ``A^-1`` (:func:`~statsmodels_kinship.kinship.inverse_relationship_matrix`).

    Parameters
    ----------
    name : str
    codes : ndarray of int, shape (n,)
        Per record, its individual: the row of ``inverse``.
    inverse : scipy.sparse matrix, shape (q, q)
        ``K^-1``, symmetric positive definite, over all individuals: those without records
        too (the ancestors in a pedigree), which then get BLUPs as well.
    levels : array_like, optional
        Labels of the q individuals.
    diagonal : array_like, optional
        ``diag(K)`` over the individuals (``1 + F`` for a pedigree's ``A``); computed from
        the LU of ``K^-1`` when not given (q solves).

    Attributes
    ----------
    inverse : scipy.sparse.csc_matrix
    matrix : scipy.sparse.linalg.LinearOperator
        ``K`` itself, as an operator: ``K @ v`` solves ``K^-1 x = v`` with the sparse LU of
        ``K^-1`` (computed once), so that code written for ``K v`` products works. ``K`` is
        never formed: :meth:`weights` refuses, and such components are fitted by
        :class:`SparseMMELikelihood`.
    """

    def __init__(self, name, codes, inverse, levels=None, diagonal=None):
        inverse = sparse.csc_matrix(inverse, dtype=float)
        self.inverse = inverse
        self._lu = None
        self._logdet = None
        super().__init__(name, "relationship", codes=codes, matrix=_SolveOperator(self),
                         levels=levels)
        self._diag = None if diagonal is None else np.asarray(diagonal, dtype=float)

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_lu"] = None  # SuperLU objects do not pickle; factored again on use
        return state

    def factor(self):
        """The sparse LU of ``K^-1`` and ``log det K`` (computed once)."""
        if self._lu is None:
            try:
                self._lu, logdet_inv = _spd_factor(self.inverse)
            except np.linalg.LinAlgError as err:
                raise ValueError(f"the inverse relationship matrix of {self.name!r} is not "
                                 f"positive definite: {err}") from None
            self._logdet = -logdet_inv
        return self._lu, self._logdet

    def solve(self, v):
        """``K v`` (``v`` of shape (q,) or (q, k))."""
        return self.factor()[0].solve(np.asarray(v, dtype=float))

    def draw(self, z):
        """Effects with covariance ``K`` from standard normal numbers: ``z`` of shape (b, q),
        one draw per row (the same arithmetic whatever b).

        With the LU of ``K^-1`` in symmetric mode, ``Pc' K^-1 Pc = L D L'`` (``D`` the
        pivots), so ``u = Pc L^-T D^-1/2 z`` has ``Cov(u) = K``; ``K`` is never formed.
        """
        lu = self.factor()[0]
        if not np.array_equal(lu.perm_r, lu.perm_c):
            raise np.linalg.LinAlgError(f"the LU of the inverse relationship matrix of "
                                        f"{self.name!r} interchanged rows")
        z = np.atleast_2d(np.asarray(z, dtype=float))
        w = z.T / np.sqrt(lu.U.diagonal())[:, None]
        x = sparse_linalg.spsolve_triangular(lu.L.T.tocsr(), w, lower=False,
                                             unit_diagonal=True)
        return x[lu.perm_c].T

    def diagonal(self):
        """``diag(W)`` per record: ``K_ii`` of each record's individual."""
        if self._diag is None:
            q = self.n_levels
            diag = np.empty(q)
            for start in range(0, q, 256):
                cols = np.arange(start, min(q, start + 256))
                unit = np.zeros((q, len(cols)))
                unit[cols, np.arange(len(cols))] = 1.0
                diag[cols] = self.solve(unit)[cols, np.arange(len(cols))]
            self._diag = diag
        return self._diag[self.codes]

    def _nodes(self):
        # K and K^-1 have the same connected blocks
        n_nodes, labels = csgraph.connected_components(self.inverse != 0, directed=False)
        return np.arange(len(self.codes)), labels[self.codes], n_nodes

    def weights(self, idx):
        raise TypeError(f"component {self.name!r} is given by the inverse of its relationship "
                        "matrix: its covariance over the records is not formed (the model is "
                        "fitted by the sparse mixed-model equations, SparseMMELikelihood)")


class _MMEPattern:
    """The sparsity pattern of ``T = Z'Z + G^-1`` for one set of components with
    ``gamma_j > 0``, in a fill-reducing order computed once (minimum degree of ``T + T'``,
    SuperLU's ``MMD_AT_PLUS_A``): each evaluation then assembles the values and factors
    them without ordering again.

    Attributes
    ----------
    order : ndarray of int
        For each row of ``T`` (in the factored order), its column of ``Z`` (level of a
        component, the components side by side).
    """

    def __init__(self, engine, active):
        offsets = engine._offsets
        comps = np.flatnonzero(active)
        cols = np.concatenate([np.arange(offsets[j], offsets[j + 1]) for j in comps])
        size = len(cols)
        local = np.full(offsets[-1], -1)
        local[cols] = np.arange(size)
        zz = engine._zz
        keep = (local[zz.row] >= 0) & (local[zz.col] >= 0)
        rows, columns = [local[zz.row[keep]]], [local[zz.col[keep]]]
        vals, term = [zz.data[keep]], [np.zeros(int(keep.sum()), dtype=np.intp)]
        for t, j in enumerate(comps, start=1):
            kinv = engine._kinv[j]
            rows.append(local[offsets[j] + kinv.row])
            columns.append(local[offsets[j] + kinv.col])
            vals.append(kinv.data)
            term.append(np.full(kinv.nnz, t, dtype=np.intp))
        rows, columns = np.concatenate(rows), np.concatenate(columns)
        self.vals, self.term = np.concatenate(vals), np.concatenate(term)
        at_one = sparse.csc_matrix((self.vals, (rows, columns)), shape=(size, size))
        perm = sparse_linalg.splu(at_one, permc_spec="MMD_AT_PLUS_A", **_SPD_LU).perm_c
        keys = perm[columns].astype(np.int64) * size + perm[rows]
        uniq, self.where = np.unique(keys, return_inverse=True)
        self.nnz = len(uniq)
        self.size = size
        self.indices = (uniq % size).astype(np.int32)
        self.indptr = np.r_[0, np.cumsum(np.bincount(uniq // size, minlength=size))].astype(
            np.int32)
        self.order = cols[np.argsort(perm)]

    def matrix(self, coef):
        """``T`` in the factored order with the terms weighted by ``coef`` (1 for ``Z'Z``,
        then ``1 / gamma_j`` for each ``K_j^-1``)."""
        data = np.bincount(self.where, weights=self.vals * coef[self.term], minlength=self.nnz)
        return sparse.csc_matrix((data, self.indices, self.indptr), shape=(self.size, self.size))


class SparseMMELikelihood(_Likelihood):
    """The likelihood of :class:`BlockLikelihood` from Henderson's mixed-model equations,
    factored as sparse matrices: for records that form large connected blocks (a herd and its
    pedigree), where the dense blocks of ``H`` cost ``O(n^3)`` per evaluation.

    Parameters
    ----------
    structure : CovarianceStructure
        Relationship components given by the sparse inverse of their matrix
        (:class:`InverseComponent`) and grouping components (``K = I``).
    exog : ndarray, shape (n, p)
        Design of full column rank.
    endog : ndarray, shape (n,)

    Notes
    -----
    With ``Z = [Z_1 ... Z_m]`` over the components with ``gamma_j > 0``, ``G =
    blockdiag(gamma_j K_j)`` and ``T = Z'Z + G^-1`` (sparse, as each ``K_j^-1`` is), the
    Woodbury identity and the matrix determinant lemma give::

        H^-1 = I - Z T^-1 Z',    log det H = log det G + log det T,
        log det G = sum_j (q_j log gamma_j + log det K_j)

    (``log det K_j`` from the LU of ``K_j^-1``, once). One sparse factorization of ``T``
    (SuperLU with diagonal pivots; a minimum-degree ordering of its pattern is computed once
    per set of nonzero ``gamma_j`` and reused, so that each evaluation is a numeric
    factorization only) and one solve with ``Z'[X y]`` give ``[X y]'H^-1[X y] = [X y]'[X y]
    - (Z'[X y])' T^-1 Z'[X y]``, hence the GLS estimate, ``RSS``, ``A = X'H^-1X`` and the
    criterion of :func:`~statsmodels_kinship._spectral.profiled_loglike` with ``logdet_v =
    log det H``: under REML ``-2 llf = dof (1 + log(2 pi RSS / dof)) + log det G + log det
    C``, ``C`` Henderson's coefficient matrix ``[[X'X, X'Z], [Z'X, T]]`` (``log det C = log
    det T + log det A``), the numbers of :class:`BlockLikelihood` to rounding. The BLUPs of
    all levels are ``u = T^-1 Z'(y - X b) = G Z'H^-1 r`` (every animal of a pedigree, with
    records or without) and ``Py = H^-1 r = r - Z u``.

    A component at ``gamma_j = 0`` is left out of ``Z``, ``G`` and ``T``: the exact limit
    (``H`` without it); its BLUPs are 0.

    Exact derivatives would need selected elements of ``T^-1``; instead the score is by
    central differences of the criterion (:meth:`score`), the observed information combines
    exact ``y'P V_i P V_j P y`` terms with traces from second differences of ``log det H +
    log det A`` (:meth:`information`), and :meth:`maximize` is derivative-free.
    """

    def __init__(self, structure, exog, endog):
        self.structure = structure
        exog = np.asarray(exog, dtype=float)
        self.n, self.p = exog.shape
        comps = structure.components
        self.m = len(comps)
        designs, kinvs, logdets = [], [], []
        for comp in comps:
            if isinstance(comp, InverseComponent):
                kinvs.append(comp.inverse)
                logdets.append(comp.factor()[1])
            elif comp.kind == "group":
                kinvs.append(sparse.identity(comp.n_levels if comp.design is None
                                             else comp.design.shape[1], format="csc"))
                logdets.append(0.0)
            else:
                raise ValueError(
                    f"component {comp.name!r} is a relationship matrix K: the sparse "
                    "mixed-model equations need its inverse (give it as an "
                    "InverseRelationship, e.g. inverse_relationship_matrix(pedigree))")
            if comp.design is not None:
                designs.append(sparse.csc_matrix(comp.design, dtype=float))
            else:
                designs.append(sparse.csc_matrix(
                    (np.ones(self.n), (np.arange(self.n), comp.codes)),
                    shape=(self.n, comp.n_levels)))
        self._sizes = np.array([z.shape[1] for z in designs])
        self._offsets = np.r_[0, np.cumsum(self._sizes)]
        self._z = sparse.hstack(designs, format="csr")
        self._zt = self._z.T.tocsr()
        self._zz = (self._zt @ self._z).tocoo()
        self._kinv = [sparse.coo_matrix(k) for k in kinvs]
        self._logdet_k = np.array(logdets)
        self._patterns = {}
        self._set_data(exog, np.asarray(endog, dtype=float))

    def _set_data(self, exog, endog):
        self._exog = exog
        self._endog = endog
        self._last = None  # the last solution (see solve)
        xy = np.column_stack([exog, endog])
        self._xy_cross = xy.T @ xy
        self._zxy = np.asarray(self._zt @ xy)

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_last"] = None  # holds a SuperLU object, which does not pickle
        return state

    # -- evaluation ---------------------------------------------------------------------

    def _pattern(self, active):
        key = tuple(bool(a) for a in active)
        if key not in self._patterns:
            self._patterns[key] = _MMEPattern(self, np.array(key))
        return self._patterns[key]

    def _k_apply(self, j, v):
        """``K_j v``."""
        comp = self.structure.components[j]
        return comp.solve(v) if isinstance(comp, InverseComponent) else v

    def solve(self, gamma, level=0):
        """GLS solution at ``gamma`` (keys of
        :func:`~statsmodels_kinship._spectral.gls_from_cross` and ``logdet_v``, ``gamma``);
        with ``level >= 1`` also ``py`` (``H^-1 r`` per record), ``u`` (the BLUPs of all
        levels, the components side by side), ``quad`` (``Py'W_j Py``) and ``r_mats``
        (``X'H^-1 W_j H^-1 X``)."""
        gamma = np.asarray(gamma, dtype=float)
        if gamma.shape != (self.m,) or not np.all(np.isfinite(gamma)) or np.any(gamma < 0):
            raise ValueError(f"gamma must hold {self.m} finite ratios >= 0, got {gamma!r}")
        last = self._last
        if last is not None and last[1] >= level and np.array_equal(last[0], gamma):
            return dict(last[2])
        sol = self._solve(gamma, level)
        self._last = (gamma.copy(), level, sol)
        return dict(sol)

    def _solve(self, gamma, level):
        # SuperLU's solves with several right-hand sides call BLAS on tiny blocks: threads
        # cost more than they bring
        with serial_blas():
            return self._solve_serial(gamma, level)

    def _solve_serial(self, gamma, level):
        p = self.p
        active = gamma > 0
        cross = self._xy_cross.copy()
        logdet, lu, order, t_zxy = 0.0, None, None, None
        if active.any():
            pat = self._pattern(active)
            lu, logdet_t = _spd_factor(pat.matrix(np.r_[1.0, 1.0 / gamma[active]]),
                                       ordered=True)
            order = pat.order
            zxy = self._zxy[order]
            t_zxy = lu.solve(zxy)  # T^-1 Z'[X y]
            cross -= zxy.T @ t_zxy
            cross = 0.5 * (cross + cross.T)
            logdet = logdet_t + float(np.sum(self._sizes[active] * np.log(gamma[active])
                                             + self._logdet_k[active]))
        sol = gls_from_cross(cross, p)
        sol["logdet_v"] = logdet
        sol["gamma"] = gamma.copy()
        if level < 1:
            return sol
        zb = np.r_[-sol["params"], 1.0]
        q = self._offsets[-1]
        u = np.zeros(q)  # BLUPs
        tzx = np.zeros((q, p))  # T^-1 Z'X (= G Z'H^-1 X), 0 for components at 0
        if lu is not None:
            u[order] = t_zxy @ zb
            tzx[order] = t_zxy[:, :p]
        py = self._endog - self._exog @ sol["params"] - self._z @ u
        zpy = self._zt @ py
        zhx = self._zt @ (self._exog - self._z @ tzx)  # Z'H^-1 X
        quad = np.zeros(self.m)
        r_mats = np.zeros((self.m, p, p))
        kzpy = np.zeros(q)  # K_j Z_j'Py
        for j in range(self.m):
            sl = slice(self._offsets[j], self._offsets[j + 1])
            if active[j]:  # K_j Z_j'H^-1 = (T^-1 Z')_j / gamma_j
                kzpy[sl] = u[sl] / gamma[j]
                kzhx = tzx[sl] / gamma[j]
            else:
                kzpy[sl] = self._k_apply(j, zpy[sl])
                kzhx = self._k_apply(j, zhx[sl])
            quad[j] = zpy[sl] @ kzpy[sl]
            r_mats[j] = zhx[sl].T @ kzhx
        sol.update(py=py, u=u, quad=quad, r_mats=r_mats, kzpy=kzpy, lu=lu, order=order)
        return sol

    def loglike(self, gamma, reml=True):
        """Profiled (restricted) log-likelihood at ``gamma``."""
        return profiled_loglike(self.solve(gamma), self.n, self.p, reml)

    def hinv(self, sol, v):
        """``H^-1 v`` (``v`` of shape (n, k)) at a solution of level 1."""
        if sol["lu"] is None:
            return v
        order = sol["order"]
        zv = np.asarray(self._zt @ v)[order]
        back = np.zeros((self._offsets[-1], v.shape[1]))
        back[order] = sol["lu"].solve(zv)
        return v - self._z @ back

    def _projected_products(self, sol):
        """``u_a' P u_b`` for ``u_a = W_a Py`` (the components, then the residual: ``W = I``)
        and ``P = H^-1 - H^-1 X A^-1 X'H^-1`` (also under ML: ``d Py / d gamma_j = -P W_j
        Py`` with ``b`` profiled out)."""
        cols = [self._z[:, self._offsets[j]:self._offsets[j + 1]]
                @ sol["kzpy"][self._offsets[j]:self._offsets[j + 1]] for j in range(self.m)]
        u = np.column_stack(cols + [sol["py"]])
        hu = self.hinv(sol, u)
        xhu = linalg.solve_triangular(sol["chol_A"], self._exog.T @ hu, lower=True)
        upu = u.T @ hu - xhu.T @ xhu
        return 0.5 * (upu + upu.T)

    def derivatives(self, sol, reml):
        """Score (central differences, :meth:`score`) and average information (exact: ``AI_ij
        = dof/(2 RSS) (u_i'P u_j - q_i q_j / RSS)``, as :class:`BlockLikelihood`) of the
        profiled log-likelihood in ``gamma``, at a solution of level 1."""
        dof = self.n - self.p if reml else self.n
        upu = self._projected_products(sol)[:self.m, :self.m]
        q, rss = sol["quad"], sol["rss"]
        ai = 0.5 * dof / rss * (upu - np.outer(q, q) / rss)
        return self.score(sol["gamma"], reml), ai

    def score(self, gamma, reml=True):
        """Gradient of the profiled (restricted) log-likelihood in ``gamma``, by central
        differences with step ``1e-5 (gamma_j + 1/scale_j)`` (one-sided, second order, where
        ``gamma_j`` is below the step). Costs ``2 m`` evaluations."""
        gamma = np.asarray(gamma, dtype=float)
        grad = np.empty(self.m)
        for j in range(self.m):
            h = _SCORE_STEP * (gamma[j] + 1.0 / self.scales[j])
            e = np.zeros(self.m)
            e[j] = h
            if gamma[j] >= h:
                grad[j] = (self.loglike(gamma + e, reml) - self.loglike(gamma - e, reml)) / (2 * h)
            else:
                grad[j] = (-3.0 * self.loglike(gamma, reml) + 4.0 * self.loglike(gamma + e, reml)
                           - self.loglike(gamma + 2 * e, reml)) / (2 * h)
        return grad

    def loglike_and_score(self, gamma, reml=True):
        """The profiled (restricted) log-likelihood at ``gamma`` and its gradient."""
        return self.loglike(gamma, reml), self.score(gamma, reml)

    def _logdet_hessian(self, gamma, reml):
        """Gradient and Hessian of ``D = log det H + [REML] log det A`` in the ratios of the
        components with ``gamma_j > 0`` (central differences, step ``1e-3 gamma_j``)."""
        free = np.flatnonzero(gamma > 0)
        k = len(free)

        def logdet(steps):
            g = gamma.copy()
            g[free] += steps
            sol = self.solve(g)
            return sol["logdet_v"] + (sol["logdet_a"] if reml else 0.0)

        h = _HESSIAN_STEP * gamma[free]
        d0 = logdet(np.zeros(k))
        grad, hess = np.empty(k), np.empty((k, k))
        for a in range(k):
            ea = np.zeros(k)
            ea[a] = h[a]
            fp, fm = logdet(ea), logdet(-ea)
            grad[a] = (fp - fm) / (2 * h[a])
            hess[a, a] = (fp - 2 * d0 + fm) / h[a] ** 2
            for b in range(a):
                eb = np.zeros(k)
                eb[b] = h[b]
                hess[a, b] = hess[b, a] = (logdet(ea + eb) - logdet(ea - eb) - logdet(eb - ea)
                                           + logdet(-ea - eb)) / (4 * h[a] * h[b])
        return free, grad, hess

    def information(self, gamma, scale, reml=True):
        """Observed information of ``(s_1^2, ..., s_m^2, s_e^2)`` at ``s_j^2 = gamma_j scale``,
        ``s_e^2 = scale``, from the likelihood profiled over the fixed effects.

        ``I_ab = -1/2 tr(P V_a P V_b) + y'P V_a P V_b P y`` as
        :meth:`BlockLikelihood.information`. The second terms are exact (``m + 1`` solves).
        The traces are second derivatives of ``D(gamma) = log det H + [REML] log det A``:
        ``tr(P W_i P W_j) = -D_ij``, and by the homogeneity of ``log det V + log det
        X'V^-1X`` in the variances ``tr(P W_i P) = D_i + sum_l D_il gamma_l`` and ``tr(P P)
        = dof - 2 sum_j D_j gamma_j - sum_jl D_jl gamma_j gamma_l``, with ``D_i`` and
        ``D_ij`` from central differences (step ``1e-3 gamma_j``; equal to the dense
        information to 1e-6 relative in tests/test_sparse_mme.py).
        Rows and columns of components at ``gamma_j = 0`` are NaN (the covariance of the
        estimates is taken over the others).
        """
        gamma = np.asarray(gamma, dtype=float)
        sol = self.solve(gamma, level=1)
        upu = self._projected_products(sol)
        free, grad, hess = self._logdet_hessian(gamma, reml)
        dof = self.n - self.p if reml else self.n
        m = self.m
        traces = np.full((m + 1, m + 1), np.nan)
        traces[np.ix_(free, free)] = -hess
        g = gamma[free]
        side = grad + hess @ g
        traces[free, m] = traces[m, free] = side
        traces[m, m] = dof - 2.0 * grad @ g - g @ hess @ g
        return -0.5 * traces / scale ** 2 + upu / scale ** 3

    # -- maximisation -------------------------------------------------------------------

    def start_grid(self):
        """Starting points: :func:`share_grid`, reduced (the equal-shares point and one per
        component)."""
        return share_grid(self.scales, full=False)

    def maximize(self, reml=True, start=None, fixed=None):
        """Maximum of the profiled (restricted) likelihood over ``gamma >= 0``.

        Derivative-free: from the best point of :meth:`start_grid` (or ``start``), scipy's
        COBYQA (Powell's model-based trust-region method, the successor of the BOBYQA that
        lme4 uses) in ``theta_j = sqrt(gamma_j scale_j) >= 0`` (lme4's parameters, up to the
        scale), to a final trust-region radius of 1e-7. A component whose ``theta_j`` ends
        below 1e-3 is set to 0 when the likelihood there is not lower (a boundary estimate,
        as in lme4).

        Parameters
        ----------
        reml : bool
        start : array_like, optional
            Starting ``gamma`` (skips the grid).
        fixed : array_like of bool, optional
            Components held at their start value (``gamma`` not estimated).

        Returns
        -------
        gamma : ndarray
        llf : float
        info : dict
            ``converged``, ``boundary`` (names of the components at 0), ``n_evals``,
            ``n_iter``, ``message``.
        """
        m = self.m
        fixed = np.zeros(m, dtype=bool) if fixed is None else np.asarray(fixed, dtype=bool)
        free = ~fixed
        scales = np.asarray(self.scales, dtype=float)
        gamma, n_evals = self._start_point(reml, start)
        n_iter, converged, message = 0, True, ""
        base = gamma.copy()

        def point(theta):
            g = base.copy()
            g[free] = np.maximum(theta, 0.0) ** 2 / scales[free]
            return g

        def objective(theta):
            nonlocal n_evals
            n_evals += 1
            try:
                return -self.loglike(point(theta), reml)
            except (np.linalg.LinAlgError, linalg.LinAlgError, RuntimeError):
                return np.inf

        if free.any():
            theta0 = np.sqrt(gamma[free] * scales[free])
            res = optimize.minimize(
                objective, theta0, method="COBYQA", bounds=[(0.0, None)] * int(free.sum()),
                options={"final_tr_radius": _MME_RADIUS, "maxfev": _MME_MAX_EVALS,
                         "initial_tr_radius": 0.1 * max(1.0, float(theta0.max()))})
            gamma = point(res.x)
            n_iter = int(getattr(res, "nit", 0))
            converged = bool(res.success)
            message = "" if converged else str(res.message)
            llf = -float(res.fun)
            # boundary: a small theta_j against 0
            for j in np.flatnonzero(free & (gamma > 0)
                                    & (np.sqrt(gamma * scales) < _MME_BOUNDARY_THETA)):
                g0 = gamma.copy()
                g0[j] = 0.0
                llf0 = self.loglike(g0, reml)
                n_evals += 1
                if llf0 >= llf:
                    gamma, llf = g0, llf0
        boundary = [self.structure.names[j] for j in range(m) if gamma[j] == 0.0 and free[j]]
        return gamma, float(self.loglike(gamma, reml)), {
            "converged": converged, "boundary": boundary, "n_evals": n_evals,
            "n_iter": n_iter, "message": message}

    # -- effects --------------------------------------------------------------------------

    def effects(self, gamma):
        """GLS solution at ``gamma`` with the BLUPs of every component (dict name -> array
        over all its levels: every individual of a relationship given by its inverse, those
        without records too) and each record's total random effect."""
        sol = self.solve(gamma, level=1)
        u = sol["u"]
        sol["blups"] = {name: u[self._offsets[j]:self._offsets[j + 1]].copy()
                        for j, name in enumerate(self.structure.names)}
        sol["random"] = np.asarray(self._z @ u)
        return sol


# -- one relationship matrix plus grouping factors: eigendecomposition and Woodbury ----------

class SpectralWoodburyLikelihood(BlockLikelihood):
    """The likelihood of :class:`BlockLikelihood` for one relationship component with one
    record per individual plus iid grouping components of ``q`` levels in all (``q`` much
    smaller than ``n``): ``K`` is eigendecomposed once and each evaluation costs ``O(n q^2)``
    instead of the ``O(s^3)`` of a dense block of ``s`` records.

    Parameters
    ----------
    structure : CovarianceStructure
        Exactly one relationship component (a matrix ``K``, one record per individual) and
        grouping components.
    exog : ndarray, shape (n, p)
        Design of full column rank.
    endog : ndarray, shape (n,)

    Notes
    -----
    With ``K = U Lambda U'`` over the records (:class:`~statsmodels_kinship._spectral.
    KinshipDecomposition`, block-wise, PSD checked), ``H = U H~ U'`` and::

        H~ = D + Z~ G Z~',   D = I + gamma_k Lambda,   Z~ = U'Z (n x q),
        G = diag(gamma_h of each level's component)

    With ``B = Z~_a G_a^1/2`` over the levels of the components with ``gamma_h > 0`` (those
    at 0 are left out: the exact limit) and ``M = I + B'D^-1 B`` (``q_a x q_a``), Woodbury's
    identity and the determinant lemma give::

        H~^-1 = D^-1 - D^-1 B M^-1 B'D^-1,   log det H = sum log D + log det M

    (``M`` is the symmetric form of ``G^-1 + Z~'D^-1 Z~``: ``log det G + log det(G^-1 +
    Z~'D^-1 Z~) = log det M``). Everything else -- the GLS solution, the criterion, the
    score and average information (:meth:`BlockLikelihood.derivatives`), the exact Hessian
    and observed information (from :meth:`_projected_traces`, analytic), the maximisation
    and the BLUPs -- is :class:`BlockLikelihood`'s, on the rotated data.
    """

    def __init__(self, structure, exog, endog):
        self.structure = structure
        exog = np.asarray(exog, dtype=float)
        self.n, self.p = exog.shape
        comps = structure.components
        self.m = len(comps)
        rel = [j for j, c in enumerate(comps) if c.kind == "relationship"]
        if len(rel) != 1 or isinstance(comps[rel[0]], InverseComponent) or any(
                c.kind != "group" for j, c in enumerate(comps) if j != rel[0]):
            raise ValueError("SpectralWoodburyLikelihood needs exactly one relationship "
                             "matrix (not its inverse) and grouping components otherwise")
        kin = comps[rel[0]]
        codes = kin.codes
        if len(np.unique(codes)) != len(codes):
            raise ValueError(f"SpectralWoodburyLikelihood needs one record per individual of "
                             f"{kin.name!r}; the records repeat individuals")
        k = kin.matrix
        if not (len(codes) == k.shape[0] and np.array_equal(codes, np.arange(len(codes)))):
            k = (sparse.csr_matrix(k)[codes][:, codes] if sparse.issparse(k)
                 else np.asarray(k)[np.ix_(codes, codes)])
        self._dec = KinshipDecomposition(k)
        self._lam = self._dec.eigenvalues
        self._rel = rel[0]
        self._groups = [j for j in range(self.m) if j != rel[0]]
        designs = []
        for j in self._groups:
            comp = comps[j]
            if comp.design is not None:
                z = comp.design
                designs.append(z.toarray() if sparse.issparse(z) else np.asarray(z, float))
            else:
                z = np.zeros((self.n, comp.n_levels))
                z[np.arange(self.n), comp.codes] = 1.0
                designs.append(z)
        sizes = np.array([z.shape[1] for z in designs], dtype=np.intp)
        self._offsets = np.r_[0, np.cumsum(sizes)]
        self._col_comp = np.repeat(np.array(self._groups, dtype=np.intp), sizes)
        self._zt = (self._dec.rotate(np.column_stack(designs)) if designs
                    else np.zeros((self.n, 0)))  # U'Z
        q = self._zt.shape[1]
        # work of an evaluation (n q^2), on the scale of the s^3 of the dense blocks
        self._work = float(self.n) * q * q
        self._set_data(exog, np.asarray(endog, dtype=float))

    def _set_data(self, exog, endog):
        self._exog = exog
        self._endog = endog
        self._last = None
        self._wt = self._dec.rotate(np.column_stack([exog, endog]))  # U'[X y]

    def whitener(self, gamma):
        """:class:`SpectralWhitener` of ``H(gamma)``."""
        return SpectralWhitener(self, gamma)

    # -- evaluation ---------------------------------------------------------------------

    def _factor_rotated(self, gamma):
        """``D^-1``, ``E = D^-1 B``, the Cholesky factor of ``M``, the active columns and
        ``log det H`` at ``gamma``."""
        dinv = 1.0 / (1.0 + gamma[self._rel] * self._lam)
        g = gamma[self._col_comp]
        active = g > 0
        b = self._zt[:, active] * np.sqrt(g[active])
        e = b * dinv[:, None]
        logdet = -float(np.log(dinv).sum())
        chol = None
        if b.shape[1]:
            mat = b.T @ e
            mat[np.diag_indices_from(mat)] += 1.0
            chol = linalg.cholesky(mat, lower=True, check_finite=False)
            logdet += 2.0 * float(np.log(np.diag(chol)).sum())
        return {"dinv": dinv, "e": e, "chol_M": chol, "active": active, "logdet_v": logdet}

    @staticmethod
    def _hinv_rot(fac, v):
        """``H~^-1 v`` (``v`` of shape (n,) or (n, k), rotated)."""
        dv = v * (fac["dinv"] if v.ndim == 1 else fac["dinv"][:, None])
        if fac["chol_M"] is None:
            return dv
        e = fac["e"]
        return dv - e @ linalg.cho_solve((fac["chol_M"], True), e.T @ v, check_finite=False)

    def _w_rot(self, j, v):
        """``U'W_j U v`` (``v`` rotated, shape (n, k)); ``j = m``: the residual (``I``)."""
        if j == self.m:
            return v
        if j == self._rel:
            return self._lam[:, None] * v
        zj = self._zt[:, self._col_comp == j]
        return zj @ (zj.T @ v)

    def _solve(self, gamma, level):
        p, m = self.p, self.m
        fac = self._factor_rotated(gamma)
        hw = self._hinv_rot(fac, self._wt)
        cross = self._wt.T @ hw
        sol = gls_from_cross(0.5 * (cross + cross.T), p)
        sol["logdet_v"] = fac["logdet_v"]
        if level < 1:
            return sol
        zb = np.append(-sol["params"], 1.0)
        py_r = hw @ zb
        hx_r = hw[:, :p]
        f = self._hinv_rot(fac, self._zt)  # H~^-1 Z~, every level
        u_r = np.column_stack([self._w_rot(j, py_r[:, None])[:, 0] for j in range(m)])
        hu_r = self._hinv_rot(fac, u_r)
        quad = py_r @ u_r
        r_mats = np.stack([hx_r.T @ self._w_rot(j, hx_r) for j in range(m)])
        # tr(H~^-1 W~_j): the relationship from diag(H~^-1), a grouping factor from Z~'H~^-1Z~
        trace = np.empty(m)
        zf = np.einsum("ij,ij->j", self._zt, f)
        for j in self._groups:
            trace[j] = zf[self._col_comp == j].sum()
        hdiag = fac["dinv"].copy()
        if fac["chol_M"] is not None:
            e = fac["e"]
            hdiag -= np.einsum("ij,ji->i", e,
                               linalg.cho_solve((fac["chol_M"], True), e.T, check_finite=False))
        trace[self._rel] = self._lam @ hdiag
        unrot = self._dec.unrotate(np.column_stack([py_r, u_r, hu_r]))
        sol.update(py=unrot[:, 0], trace=trace, quad=quad, r_mats=r_mats,
                   u=unrot[:, 1:m + 1].T, hu=unrot[:, m + 1:].T, xhu=hu_r.T @ self._wt[:, :p],
                   rotated={"fac": fac, "py": py_r, "hx": hx_r, "f": f, "u": u_r, "hu": hu_r,
                            "hdiag": hdiag})
        return sol

    def _hinv_apply(self, sol, v):
        rot = sol["rotated"]
        return self._dec.unrotate(self._hinv_rot(rot["fac"], self._dec.rotate(v)))

    def _projected_traces(self, sol, reml):
        """:meth:`BlockLikelihood._projected_traces` in the rotated space, analytic:
        ``H~^-1 = D^-1 - R`` with ``R = E M^-1 E'``; for diagonal weights ``a, b``
        (the relationship's ``Lambda``, the residual's ``I``) ``tr(H~^-1 A H~^-1 B) =
        sum a b d^-2 - 2 sum a b d^-1 diag(R) + tr(M^-1 E'AE M^-1 E'BE)``; with a grouping
        factor ``Z_h`` and ``F = H~^-1 Z~``: ``sum a F_h^2`` and ``||Z~_h'F_l||^2``. Costs a
        few ``O(n q^2)`` products."""
        p, m = self.p, self.m
        rot = sol["rotated"]
        fac, f, hx = rot["fac"], rot["f"], rot["hx"]
        dinv = fac["dinv"]
        a_inv = chol_inverse(sol["chol_A"])
        k = m + 1
        diag_w = {self._rel: self._lam, m: np.ones(self.n)}
        rdiag = dinv - rot["hdiag"]
        ear = {}
        if fac["chol_M"] is not None:
            e = fac["e"]
            for j, a in diag_w.items():
                ear[j] = linalg.cho_solve((fac["chol_M"], True), e.T @ (a[:, None] * e),
                                          check_finite=False)  # M^-1 E'AE
        zf = self._zt.T @ f if self._groups else None
        tr_bb = np.empty((k, k))
        for i in range(k):
            for j in range(i + 1):
                if i in diag_w and j in diag_w:
                    a, b = diag_w[i], diag_w[j]
                    t = np.sum(a * b * dinv * (dinv - 2.0 * rdiag))
                    if ear:
                        t += np.sum(ear[i] * ear[j].T)
                elif i in diag_w or j in diag_w:
                    a, h = (diag_w[i], j) if i in diag_w else (diag_w[j], i)
                    fh = f[:, self._col_comp == h]
                    t = np.sum(a[:, None] * fh * fh)
                else:
                    t = np.sum(zf[np.ix_(self._col_comp == i, self._col_comp == j)] ** 2)
                tr_bb[i, j] = tr_bb[j, i] = t
        vhx = [self._w_rot(i, hx) for i in range(k)]  # W~_i H~^-1 X~
        bhx = [self._hinv_rot(fac, v) for v in vhx]
        traces = np.empty((k, k))
        for i in range(k):
            for j in range(i + 1):
                trace = tr_bb[i, j]
                if reml:
                    xbbx = vhx[i].T @ bhx[j]
                    xbx_i, xbx_j = hx.T @ vhx[i], hx.T @ vhx[j]
                    trace += (-2.0 * np.sum(a_inv * xbbx)
                              + np.sum((a_inv @ xbx_i) * (a_inv @ xbx_j).T))
                traces[i, j] = traces[j, i] = trace
        u = np.column_stack([rot["u"], rot["py"]])
        hu = np.column_stack([rot["hu"], self._hinv_rot(fac, rot["py"])])
        xhu = hu.T @ self._wt[:, :p]
        upu = u.T @ hu - xhu @ a_inv @ xhu.T
        return traces, 0.5 * (upu + upu.T)


class SpectralWhitener:
    """A whitening of ``H(gamma)`` for :class:`SpectralWoodburyLikelihood`: ``apply(a)`` is
    ``S a`` with ``S'S = H^-1``, ``S = (I + C C')^-1/2 D^-1/2 U'`` and ``C = D^-1/2 B``
    (``(I + C C')^-1/2 = I + C V diag(f(s)) V'C'``, ``C'C = V diag(s) V'``, ``f(s) =
    ((1 + s)^-1/2 - 1) / s``); ``logdet`` is ``log det H``. The rows of ``S a`` are in the
    rotated order, not records: generalized least squares at ``gamma`` is ordinary least
    squares of ``S y`` on ``S X`` all the same (the scan's fixed-ratio tests)."""

    def __init__(self, engine, gamma):
        gamma = np.asarray(gamma, dtype=float)
        fac = engine._factor_rotated(gamma)
        self.n = engine.n
        self.logdet = fac["logdet_v"]
        self._dec = engine._dec
        self._sqrt_dinv = np.sqrt(fac["dinv"])
        self._c = fac["e"] / self._sqrt_dinv[:, None]  # D^-1/2 B
        s, v = np.linalg.eigh(self._c.T @ self._c)
        s = np.maximum(s, 0.0)
        root = np.sqrt(1.0 + s)
        self._vf = v * (-1.0 / (root * (1.0 + root)))  # V diag(f(s))
        self._v = v

    def apply(self, a):
        """``S a`` for ``a`` of shape (n,) or (n, k) (rows: records)."""
        a = np.asarray(a, dtype=float)
        flat = a.ndim == 1
        a2 = self._dec.rotate(a[:, None] if flat else a) * self._sqrt_dinv[:, None]
        if self._c.shape[1]:
            a2 = a2 + self._c @ (self._vf @ (self._v.T @ (self._c.T @ a2)))
        return a2[:, 0] if flat else a2
