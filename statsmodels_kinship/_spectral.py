"""Spectral numerics of the kinship model.

Private module. It holds the three pieces of linear algebra that make the fit exact and fast:

* :class:`KinshipDecomposition` -- the eigendecomposition ``K = U diag(lam) U'`` computed block
  by block (independent families are connected components of K's nonzero pattern; blocks of
  equal size are decomposed in one batched call), with the rotation ``a -> U'a`` and its inverse.
* :class:`ProfiledLikelihood` -- for rotated data ``[X~ y~]`` the (restricted) log-likelihood
  profiled over the fixed effects and the residual variance, as a function of the single
  variance ratio ``delta = s_k^2 / s_e^2``, and its maximisation over ``delta >= 0``.
* :func:`maximize_ratio` -- that maximisation for a batch of such one-dimensional problems
  (the search of the fit, and of the bootstrap's refits, the profile intervals and the scan,
  each with its own evaluation of the criterion).
* :func:`aliased_columns` -- R's rank-revealing QR rule (LINPACK ``dqrdc2``): keep the earliest
  columns, flag a column whose residual norm is below ``tol`` times its own norm.

After rotation the covariance of the data is diagonal, ``s_e^2 diag(delta * lam + 1)``, so every
likelihood evaluation costs O(G p^2 + p^3) where G is the number of distinct eigenvalues (few
for family pedigrees) or O(n p^2) when all eigenvalues differ.
"""
from typing import Callable, NamedTuple

import numpy as np
from scipy import linalg, optimize, sparse
from scipy.sparse import csgraph
from threadpoolctl import ThreadpoolController

from ._validation import MEMORY_FRACTION, available_memory
from .exceptions import DenseKinshipWarning, KinshipMemoryError, warn_at_user

__all__ = ["KinshipDecomposition", "ProfiledLikelihood", "aliased_columns", "serial_blas",
           "EigenvalueGroups", "group_eigenvalues", "delta_grid", "delta_scale",
           "extend_delta_grid", "residual_spectrum", "spectrum_is_spread", "GROUP_RTOL",
           "GROUP_ATOL",
           "DELTA_GRID_SIZE", "DELTA_LOG_RANGE", "DELTA_LOG_MAX", "BOUNDARY_SLOPE_MAX",
           "residual_boundary", "IDENTIFIABILITY_RTOL", "gls_from_cross", "profiled_loglike",
           "chol_inverse", "full_delta_grid", "RatioCriterion", "RatioSearch",
           "maximize_ratio"]

LOG_2PI = np.log(2 * np.pi)
#: Eigenvalues equal to within this fraction of their value, or within ``GROUP_ATOL`` times
#: the largest eigenvalue (the size of the rounding errors of ``eigh``), form one group. Both
#: are relative, so that the grouping (and the fit) does not change when K is scaled, and the
#: second does not merge the small eigenvalues of ``K + c 11'`` with a large c.
GROUP_RTOL = 1e-10
GROUP_ATOL = 1e3 * np.finfo(float).eps
#: The global search over ``delta``: ``delta = 0`` and this many points, evenly spaced in
#: ``log(delta s)`` over this range (natural log), ``s`` the typical eigenvalue of
#: :func:`delta_scale`. While the best point is the last one the grid is extended upwards
#: with the same spacing, up to ``log(delta s) = DELTA_LOG_MAX`` (``delta s = 1e6``: h2 within
#: about 1e-6 of 1; further out the weights ``1 / (delta lam + 1)`` of a singular K span
#: more than 1e6 and the GLS fit loses digits for no gain).
DELTA_GRID_SIZE = 29
DELTA_LOG_RANGE = (-7.0, 7.0)
DELTA_LOG_MAX = np.log(1e6)
#: At the end of the fully extended search, ``delta_max = exp(DELTA_LOG_MAX) / s``, the
#: slope of the profiled likelihood in ``log(delta)``, ``delta_max * score(delta_max)``,
#: tends to 0 as ``delta_max -> inf`` when K is positive definite on the residual space of
#: exog (the likelihood has a finite limit at ``s_e^2 = 0``; the slope is then of order
#: ``n / (delta_max a_min)``, ``a_min`` the smallest eigenvalue of that restriction), and to
#: ``m / 2 >= 1/2`` when it is unbounded (``m`` null directions of K outside the span of
#: exog that the response does not reach). Below this threshold, half the smallest unbounded
#: limit, the end point is a converged boundary estimate (``s_e^2 = 0``, h2 = 1).
BOUNDARY_SLOPE_MAX = 0.25
#: The variance components are not identified when the eigenvalues of K restricted to the
#: residual space of exog are equal to within this fraction of their mean.
IDENTIFIABILITY_RTOL = 1e-6
_BLAS = ThreadpoolController()


def serial_blas():
    """Context manager running BLAS/LAPACK on one thread.

    The 1-D search does many small (p x p) products and factorisations; multi-threaded
    OpenBLAS spends more time waking its threads than computing on them (on 2 cores each
    likelihood evaluation with p = 131 was tens of times slower multi-threaded). The
    decomposition of K and the rotation stay multi-threaded.
    """
    return _BLAS.limit(limits=1, user_api="blas")


def block_diagonal_matrix(n, groups, out_rows=None):
    """The sparse ``n x n`` matrix ``M`` of a block-wise linear map given by groups of
    equal-sized blocks ``(idx (nb, s), mats (nb, s, s))``: ``(M a)[out[b, i]] = sum_j mats[b,
    i, j] a[idx[b, j]]``, with ``out`` the group's ``out_rows`` (default ``idx``). Its
    ``sum nb s^2`` entries are stored (see :attr:`KinshipDecomposition.block_entries`)."""
    rows, cols, vals = [], [], []
    for g, (idx, mats) in enumerate(groups):
        nb, s = idx.shape
        out = idx if out_rows is None else out_rows[g]
        rows.append(np.broadcast_to(out[:, :, None], (nb, s, s)).ravel())
        cols.append(np.broadcast_to(idx[:, None, :], (nb, s, s)).ravel())
        vals.append(np.asarray(mats).ravel())
    if not rows:
        return sparse.csr_matrix((n, n))
    return sparse.csr_matrix((np.concatenate(vals), (np.concatenate(rows),
                                                     np.concatenate(cols))), shape=(n, n))


class KinshipDecomposition:
    """Block-wise eigendecomposition of a symmetric positive semidefinite matrix.

    Parameters
    ----------
    kinship : ndarray or scipy.sparse matrix, shape (n, n)
        Symmetric positive semidefinite. Validated by the caller, except for definiteness which
        is checked here from the eigenvalues.
    psd_rtol : float or None
        An eigenvalue below ``-psd_rtol * max(|lam|)`` is an error; eigenvalues between that and
        zero are rounding noise and set to zero. None (the default): :meth:`psd_tolerance` of
        the precision of the values and the size of the largest block.

    Attributes
    ----------
    eigenvalues : ndarray, shape (n,)
        Eigenvalues in rotated order (block after block).
    n_blocks : int
        Number of independent blocks (connected components of the nonzero pattern).
    block_sizes : ndarray
        Size of each block.
    psd_rtol : float
        The tolerance applied.

    Raises
    ------
    KinshipMemoryError
        Before any block is formed, when the dense decomposition of the blocks would need
        more than ``MEMORY_FRACTION`` of the memory available (:meth:`memory_needed`).

    Warns
    -----
    DenseKinshipWarning
        A sparse kinship with a block of more than ``DENSE_WARN_SIZE`` individuals, which is
        decomposed as a dense matrix (memory ``8 s^2`` bytes, time ``O(s^3)``).
    """

    #: A sparse kinship whose largest block (connected component of its nonzero pattern) has
    #: more individuals than this is decomposed with a :class:`DenseKinshipWarning`.
    DENSE_WARN_SIZE = 5000
    #: The decomposition is refused up front when it would need more than this fraction of
    #: the memory available (:func:`~statsmodels_kinship._validation.available_memory`).
    MEMORY_FRACTION = MEMORY_FRACTION
    #: The floor of the PSD tolerance (float64 values, small blocks).
    PSD_RTOL = 1e-8

    @staticmethod
    def psd_tolerance(eps, block_size):
        r"""Relative tolerance of the PSD check for values of machine precision ``eps``.

        ``max(PSD_RTOL, 10 sqrt(s) eps)`` with ``s`` the size of the largest block. Rounding
        each entry of a PSD block to precision ``eps`` adds ``E`` with
        :math:`|E_{ij}| \le \tfrac{\epsilon}{2} |K_{ij}|`, so (Weyl) every eigenvalue moves by
        at most :math:`\|E\|_2 \le \|E\|_F \le \tfrac{\epsilon}{2} \|K\|_F
        \le \tfrac{\epsilon}{2} \sqrt{s} \|K\|_2`. The factor 10 (20 times that bound)
        leaves room for a K computed, not only stored, in that precision (a float32 GRM also
        carries the rounding of its sums over SNPs). For float64 values the floor ``1e-8``
        applies to every block of fewer than ``2e13`` individuals.
        """
        return max(KinshipDecomposition.PSD_RTOL, 10.0 * np.sqrt(block_size) * eps)

    @staticmethod
    def value_precision(kinship):
        """Machine epsilon of the precision the values of ``kinship`` carry: float32's when
        its dtype is float32 or every entry is a float32 number (a GRM stored as float32, as
        GCTA's ``.grm.bin``, then converted to float64), else float64's."""
        values = kinship.data if sparse.issparse(kinship) else np.asarray(kinship)
        if values.dtype == np.float32:
            return float(np.finfo(np.float32).eps)
        flat = values.reshape(-1) if values.flags.c_contiguous else values.ravel(order="K")
        step = 1 << 20  # in chunks: no float32 copy of a large K
        for start in range(0, flat.size, step):
            part = flat[start:start + step]
            with np.errstate(over="ignore"):
                if not np.array_equal(part.astype(np.float32), part):
                    return float(np.finfo(float).eps)
        return float(np.finfo(np.float32).eps)

    @staticmethod
    def memory_needed(sizes):
        """Bytes of memory the dense decomposition of blocks of sizes ``sizes`` needs: the
        eigenvectors of every block, plus, for the largest group of equal-sized blocks, the
        blocks themselves and LAPACK's copy and workspace (``syevd``: about ``3 s^2``)."""
        distinct, counts = np.unique(np.asarray(sizes, dtype=float), return_counts=True)
        if not len(distinct):
            return 0.0
        squares = distinct ** 2
        return 8.0 * (float(np.sum(counts * squares)) + float(np.max((counts + 3) * squares)))

    def __init__(self, kinship, psd_rtol=None):
        n = kinship.shape[0]
        self.n = n
        is_sparse = sparse.issparse(kinship)
        if not is_sparse and np.count_nonzero(kinship) == n * n:
            n_comp, labels = 1, np.zeros(n, dtype=int)  # no zero entry: one block
        else:
            if is_sparse:
                coo = kinship.tocoo()
                nonzero = coo.data != 0
                rows, cols, data = coo.row[nonzero], coo.col[nonzero], coo.data[nonzero]
            else:
                rows, cols = np.nonzero(kinship != 0)
            pattern = sparse.csr_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)),
                                        shape=(n, n))
            n_comp, labels = csgraph.connected_components(pattern, directed=False)
        self.n_blocks = int(n_comp)
        order = np.argsort(labels, kind="stable")
        sizes = np.bincount(labels, minlength=n_comp)
        self.block_sizes = sizes
        largest = int(sizes.max()) if n else 0
        need = self.memory_needed(sizes)
        free = available_memory()
        if free is not None and need > self.MEMORY_FRACTION * free:
            raise KinshipMemoryError(
                f"kinship: decomposing its {self.n_blocks} block(s) (the largest has "
                f"{largest} individuals, connected through the nonzero pattern) as dense "
                f"matrices needs about {need / 2**30:.3g} GiB of memory and "
                f"{free / 2**30:.3g} GiB are available; a sparse factorization of large "
                "blocks is not available yet (it comes with several variance components)")
        if is_sparse and largest > self.DENSE_WARN_SIZE:
            warn_at_user(
                f"the sparse kinship has a block of {largest} individuals (connected through "
                f"its nonzero pattern), decomposed as a dense {largest} x {largest} matrix: "
                f"about {need / 2**30:.3g} GiB of memory and O(s^3) time",
                DenseKinshipWarning)
        if psd_rtol is None:
            psd_rtol = self.psd_tolerance(self.value_precision(kinship), largest)
        self.psd_rtol = psd_rtol
        starts = np.concatenate([[0], np.cumsum(sizes)])
        # group blocks by size so that equal-sized families go through one batched eigh
        distinct_sizes, size_id = np.unique(sizes, return_inverse=True)
        if is_sparse:
            # every nonzero's place, computed once: the size group of its block, its index in
            # the (nb, s, s) stack of that group; then the nonzeros split by size group with one
            # stable sort (duplicates are summed in the order of the COO entries)
            slot = np.empty(n_comp, dtype=np.intp)  # a block's place among those of its size
            for g in range(len(distinct_sizes)):
                same = size_id == g
                slot[same] = np.arange(np.count_nonzero(same))
            pos = np.empty(n, dtype=np.intp)  # an individual's row inside its block
            pos[order] = np.arange(n) - np.repeat(starts[:-1], sizes)
            comp = labels[rows]
            group = size_id.astype(np.min_scalar_type(len(distinct_sizes)))[comp]
            s_entry = distinct_sizes[group]
            flat = (slot[comp] * s_entry + pos[rows]) * s_entry + pos[cols]
            by_group = np.argsort(group, kind="stable")
            flat, data = flat[by_group], data[by_group]
            entry_bounds = np.concatenate([[0], np.cumsum(np.bincount(
                group, minlength=len(distinct_sizes)))])
        self._groups = []  # list of (index array (nb, s), eigenvectors (nb, s, s))
        eigvals = []
        for g, s in enumerate(distinct_sizes):
            first = starts[:-1][size_id == g]  # first rotated row of each block of size s
            idx = order[first[:, None] + np.arange(s)]
            if is_sparse:
                part = slice(entry_bounds[g], entry_bounds[g + 1])
                blocks = np.bincount(flat[part], weights=data[part],
                                     minlength=len(first) * s * s).reshape(-1, s, s)
            else:
                blocks = np.asarray(kinship)[idx[:, :, None], idx[:, None, :]]
            vals, vecs = np.linalg.eigh(blocks)
            self._groups.append((idx, vecs))
            eigvals.append(vals.ravel())
        lam = np.concatenate(eigvals)
        top = max(np.abs(lam).max(), np.finfo(float).tiny) if n else 1.0
        lo = lam.min() if n else 0.0
        if lo < -psd_rtol * top:
            raise ValueError(
                "kinship is not positive semidefinite: smallest eigenvalue "
                f"{lo:.4g} is below -{psd_rtol:.3g} times the largest ({top:.4g})")
        self.eigenvalues = np.where(lam < 0, 0.0, lam)

    @property
    def block_entries(self):
        """``sum s^2`` over the blocks: the entries of :meth:`rotation_matrix`."""
        return int(sum(idx.size * idx.shape[1] for idx, _ in self._groups))

    def rotation_matrix(self):
        """``U'`` as a sparse matrix (rotated order): ``rotation_matrix() @ a`` is
        ``rotate(a)``, for sparse ``a`` too (:attr:`block_entries` entries)."""
        offsets = np.cumsum([0] + [idx.size for idx, _ in self._groups])
        out_rows = [off + np.arange(idx.size).reshape(idx.shape)
                    for off, (idx, _) in zip(offsets, self._groups)]
        # rotated row (b, i) of a block is sum_j vecs[b, j, i] a[idx[b, j]]
        return block_diagonal_matrix(self.n, [(idx, vecs.transpose(0, 2, 1))
                                              for idx, vecs in self._groups], out_rows)

    def rotate(self, a):
        """Return ``U' a`` in rotated order; ``a`` has n rows (1-D or 2-D)."""
        a = np.asarray(a, dtype=float)
        out = []
        for idx, vecs in self._groups:
            block = a[idx]  # (nb, s) or (nb, s, k)
            if a.ndim == 1:
                out.append(np.einsum("bji,bj->bi", vecs, block).ravel())
            else:
                out.append(np.matmul(vecs.transpose(0, 2, 1), block).reshape(-1, a.shape[1]))
        return np.concatenate(out)

    def unrotate(self, a_rot):
        """Return ``U a_rot`` in the original row order (inverse of :meth:`rotate`)."""
        a_rot = np.asarray(a_rot, dtype=float)
        out = np.empty_like(a_rot)
        start = 0
        for idx, vecs in self._groups:
            nb, s = idx.shape
            chunk = a_rot[start:start + nb * s]
            start += nb * s
            if a_rot.ndim == 1:
                out[idx] = np.einsum("bij,bj->bi", vecs, chunk.reshape(nb, s))
            else:
                out[idx] = np.matmul(vecs, chunk.reshape(nb, s, -1))
        return out


class EigenvalueGroups(NamedTuple):
    """Eigenvalues grouped by :func:`group_eigenvalues`; G groups of n eigenvalues."""

    #: (n,) int: group of each eigenvalue (groups numbered in increasing order of value)
    label: np.ndarray
    #: (G,) float: each group's mean, over its members in ``order`` (as ``ndarray.mean``)
    values: np.ndarray
    #: (G,) int: number of eigenvalues in each group
    counts: np.ndarray
    #: (n,) int: ``argsort(lam, kind="stable")``; group g is ``order[bounds[g]:bounds[g + 1]]``
    order: np.ndarray
    #: (G + 1,) int: start of each group in ``order``, then n
    bounds: np.ndarray


def group_eigenvalues(lam, rtol=GROUP_RTOL, atol=GROUP_ATOL):
    """Group eigenvalues that are equal to within ``rtol`` times their value or ``atol``
    times the largest eigenvalue.

    The sorted eigenvalues are split wherever two neighbours differ by more than that; a
    family kinship has few groups (one per distinct eigenvalue of its family blocks), which
    lets the likelihood be evaluated from per-group sums.

    Returns
    -------
    EigenvalueGroups
        ``(label, values, counts, order, bounds)``.
    """
    lam = np.asarray(lam, dtype=float)
    n = len(lam)
    order = np.argsort(lam, kind="stable")
    lam_sorted = lam[order]
    if n:
        # relative tolerances only: K * s must give the same groups for any s > 0
        tol = np.maximum(rtol * np.abs(lam_sorted[1:]), atol * abs(lam_sorted[-1]))
        breaks = np.flatnonzero(np.diff(lam_sorted) > tol) + 1
        bounds = np.concatenate([[0], breaks, [n]]).astype(np.intp)
    else:
        bounds = np.zeros(1, dtype=np.intp)  # no group
    counts = np.diff(bounds)
    label = np.empty(n, dtype=np.intp)
    label[order] = np.repeat(np.arange(len(counts)), counts)
    # the mean of each group's sorted members; a group of one is its value (plus 0.0, as the
    # sum in mean() starts from 0.0), and only larger groups need a (pairwise) sum each
    values = lam_sorted[bounds[:-1]] + 0.0
    for g in np.flatnonzero(counts > 1):
        values[g] = lam_sorted[bounds[g]:bounds[g + 1]].mean()
    return EigenvalueGroups(label, values, counts, order, bounds)


def delta_scale(lam):
    """The typical size of the eigenvalues of K, on which the search over ``delta`` is
    centred: the median of the positive eigenvalues (those above ``1e-8`` times the
    largest), 0.0 when there is none.

    The median is unaffected by a few large eigenvalues (``K + c 11'``, the top principal
    components of a genomic relationship matrix) and scales with K.
    """
    lam = np.asarray(lam, dtype=float)
    top = lam.max() if lam.size else 0.0
    if not top > 0:
        return 0.0
    return float(np.median(lam[lam > 1e-8 * top]))


def delta_grid(scale, n_grid=DELTA_GRID_SIZE, log_range=DELTA_LOG_RANGE):
    """The global search grid over ``delta``: 0, then ``n_grid`` points with
    ``log(delta scale)`` evenly spaced over ``log_range``; only ``[0.0]`` when
    ``scale <= 0`` (delta is not identified). ``scale`` is :func:`delta_scale` of the
    eigenvalues."""
    if not scale > 0:
        return np.zeros(1)
    return np.r_[0.0, np.exp(np.linspace(*log_range, n_grid)) / scale]


def extend_delta_grid(grid, scale, n_more=DELTA_GRID_SIZE // 2, log_max=DELTA_LOG_MAX):
    """The next ``n_more`` points above ``grid`` (from :func:`delta_grid`), with its spacing
    in ``log(delta scale)``, up to ``log_max`` (the last point of all is ``log_max`` itself);
    empty when ``grid`` already reaches it.

    Used while the best point of the search is the last one, so that the search range adapts
    until the optimum is bracketed.
    """
    if len(grid) < 3 or not scale > 0:
        return np.zeros(0)
    step = np.log(grid[-1] / grid[-2])
    top = np.log(grid[-1] * scale)
    if top >= log_max - 1e-9 * step:
        return np.zeros(0)
    points = np.minimum(top + step * np.arange(1, n_more + 1), log_max)
    return np.exp(np.unique(points)) / scale


def chol_inverse(chol_lower):
    """Inverse of ``L L'`` from its lower Cholesky factor (LAPACK ``potri``)."""
    inv, info = linalg.lapack.dpotri(chol_lower, lower=1)
    if info != 0:
        raise np.linalg.LinAlgError(f"potri failed (info = {info})")
    inv = np.tril(inv)
    return inv + np.tril(inv, -1).T


def aliased_columns(exog, tol=1e-7):
    """Columns of ``exog`` that are linear combinations of earlier columns.

    The rule of R's ``qr(X, LAPACK = FALSE)`` (LINPACK ``dqrdc2``), which ``lm`` and lme4 use:
    columns are processed left to right; a column whose norm, after removing its projection on
    the kept columns, is below ``tol`` times its original norm is aliased. The earliest columns
    of a dependent set are kept.

    Returns
    -------
    aliased : ndarray of bool, shape (k,)
    """
    x = np.asarray(exog, dtype=float)
    n, k = x.shape
    norms = np.linalg.norm(x, axis=0)
    if n >= k and np.all(norms > 0):
        # Householder QR without pivoting is dqrdc2 itself as long as no column is moved:
        # when every |R_jj| passes the test, the design has full rank by R's rule
        r_diag = np.abs(np.diag(linalg.qr(x, mode="r", check_finite=False)[0]))
        if np.all(r_diag >= tol * norms):
            return np.zeros(k, dtype=bool)
    aliased = np.zeros(k, dtype=bool)
    basis = np.empty((k, n))  # orthonormal rows spanning the kept columns
    rank = 0
    for j in range(k):
        col = x[:, j]
        norm0 = np.linalg.norm(col)
        q = basis[:rank]
        resid = col - (q @ col) @ q
        resid -= (q @ resid) @ q  # re-orthogonalise (twice is enough)
        rnorm = np.linalg.norm(resid)
        if norm0 == 0 or rnorm < tol * norm0:
            aliased[j] = True
        else:
            basis[rank] = resid / rnorm
            rank += 1
    return aliased


def spectrum_is_spread(eigenvalues, p, rtol=IDENTIFIABILITY_RTOL):
    """True when K restricted to the residual space of any design of rank ``p`` has
    eigenvalues that cannot all be equal to within ``rtol`` (relative), nor all near zero:
    the variance components are identified and :func:`residual_spectrum` need not be
    computed. O(n log n).

    By Cauchy's interlacing theorem the ``n - p`` eigenvalues ``a_j`` of the restriction
    satisfy ``lam_(j) <= a_j <= lam_(j+p)`` (sorted), so if they lie within ``a (1 +- w)``
    then ``n - 2p`` consecutive sorted eigenvalues of K lie in a window of width ``2 a w``.
    """
    lam = np.sort(np.asarray(eigenvalues, dtype=float))
    n = len(lam)
    k = n - 2 * p
    if k < 2:
        return False
    width = lam[k - 1:] - lam[:n - k + 1]
    # sd(a) <= rtol mean(a) gives max |a_j - mean| <= rtol mean sqrt(n - p); a mean below
    # rtol times the typical eigenvalue puts n - p eigenvalues below n rtol times it
    allowed = 4.0 * rtol * np.sqrt(n) * lam[k - 1:] + n * rtol * delta_scale(lam)
    return bool(np.all(width > allowed))


def residual_spectrum(eigenvalues, exog_rot, big_ratio=10.0, max_big=64):
    """Mean and standard deviation of the eigenvalues of K restricted to the residual space
    of the design.

    With ``Q`` an orthonormal basis of the rotated design and ``P = I - QQ'``, these are the
    eigenvalues ``a_j`` of ``P diag(lam) P`` on the range of ``P`` (``n - p`` of them): the
    restricted likelihood depends on K only through them. When they are all equal the data
    cannot separate ``s_k^2`` from ``s_e^2`` (only ``s_k^2 a + s_e^2`` is identified).

    Parameters
    ----------
    eigenvalues : ndarray, shape (n,)
    exog_rot : ndarray, shape (n, p)
        Rotated design of full column rank, ``p < n``.
    big_ratio, max_big : float, int
        Up to ``max_big`` eigenvalues that lie mostly in the column space of the design and
        are more than ``big_ratio`` times the typical eigenvalue away from the mean (``K +
        c 11'`` with an intercept) are handled exactly, apart from the rest, so that their
        size does not swamp the result in rounding.

    Returns
    -------
    mean, sd : float
        ``sum_j a_j / (n - p)`` and ``sqrt(sum_j (a_j - mean)^2 / (n - p))``, in O(n p^2)
        operations, without forming ``P``.
    """
    lam = np.asarray(eigenvalues, dtype=float)
    x = np.asarray(exog_rot, dtype=float)
    n, p = x.shape
    dof = n - p
    q = linalg.qr(x, mode="economic", check_finite=False)[0] if p else np.zeros((n, 0))
    lev = np.einsum("ij,ij->i", q, q)  # ||q_k||^2; P_kk = 1 - ||q_k||^2
    mean = float(lam @ (1.0 - lev)) / dof  # tr(P diag(lam)) / (n - p)
    d = lam - mean
    # ||P D P||_F^2 with D = diag(d): for the eigenvalues of moderate size by the expansion
    # sum d_k^2 (1 - 2 ||q_k||^2) + ||Q' D Q||_F^2; the few large ones apart, from columns of P
    size = np.abs(d) * lev
    typical = max(delta_scale(lam), abs(mean))
    big = np.argsort(-size, kind="stable")[:max_big]
    big = big[size[big] > big_ratio * typical]
    d_small = d.copy()
    d_small[big] = 0.0
    g = (q * d_small[:, None]).T @ q
    ss = float(d_small ** 2 @ (1.0 - 2.0 * lev)) + float(np.sum(g * g))
    if len(big):
        cols = -(q @ q[big].T)  # columns of P at the large eigenvalues
        cols[big, np.arange(len(big))] += 1.0
        ss += 2.0 * float(d[big] @ (d_small @ cols ** 2))
        ss += float(d[big] @ (cols[big] ** 2) @ d[big])
    return mean, float(np.sqrt(max(ss, 0.0) / dof))


def residual_boundary(delta_max, slope):
    """The rule for a maximum at the end of the fully extended search over ``delta``.

    Parameters
    ----------
    delta_max : float
        The end of the search, ``exp(DELTA_LOG_MAX) / delta_scale``.
    slope : float or ndarray
        Derivative of the profiled (restricted) log-likelihood with respect to
        ``log(delta)`` there, ``delta_max * score(delta_max)``, at least 0.

    Returns
    -------
    converged : bool or ndarray of bool
        True where ``slope < BOUNDARY_SLOPE_MAX``: the likelihood has a finite limit as
        ``delta -> inf`` and ``delta_max`` is a boundary estimate, ``s_e^2 = 0`` (h2 = 1)
        to about 1e-6. False where it is unbounded (K singular on the residual space of
        exog): the fit has not converged.
    message : str
        For a single ``slope``; empty otherwise.
    """
    converged = np.asarray(slope) < BOUNDARY_SLOPE_MAX
    if converged.ndim:
        return converged, ""
    if converged:
        return True, ("the residual variance is estimated at its lower boundary: delta = "
                      f"s_k^2/s_e^2 = {delta_max:.3g}, {np.exp(DELTA_LOG_MAX):.0e} times the "
                      "inverse of the typical eigenvalue of the kinship (h2 = 1 to about "
                      "1e-6)")
    return False, ("the variance ratio s_k^2/s_e^2 reached the upper limit of the search "
                   f"(delta = {delta_max:.3g}, {np.exp(DELTA_LOG_MAX):.0e} times the inverse "
                   "of the typical eigenvalue of the kinship) and the likelihood still "
                   f"increases (slope {float(slope):.3g} in log delta; it is unbounded where K "
                   "is singular on the residual space of exog): the residual variance is "
                   "estimated as zero (h2 = 1)")


def gls_from_cross(cross, p):
    """GLS solution from the weighted cross products ``[X y]' W [X y]`` (``W = V^-1`` up to
    the residual variance), shared by every likelihood of the engine.

    Returns a dict with ``params``, ``rss`` (``r' W r`` at the GLS estimate), ``chol_A`` (lower
    Cholesky factor of ``A = X' W X``) and ``logdet_a`` (``log det A``); the caller adds
    ``logdet_v``.
    """
    try:
        chol = linalg.cholesky(cross, lower=True, check_finite=False)
        chol_a, l_vec, rss = chol[:p, :p], chol[p, :p], chol[p, p] ** 2
    except linalg.LinAlgError:
        # y (numerically) in the column space of X: solve by parts
        chol_a = linalg.cholesky(cross[:p, :p], lower=True, check_finite=False)
        l_vec = linalg.solve_triangular(chol_a, cross[:p, p], lower=True)
        rss = max(cross[p, p] - l_vec @ l_vec, 0.0)
    params = linalg.solve_triangular(chol_a.T, l_vec, lower=False)
    return {"params": params, "rss": rss, "chol_A": chol_a,
            "logdet_a": 2.0 * float(np.log(np.diag(chol_a)).sum())}


def profiled_loglike(sol, n, p, reml):
    """The (restricted) log-likelihood profiled over the fixed effects and the residual
    variance, from a GLS solution (:func:`gls_from_cross` plus ``logdet_v = log det V/s_e^2``)::

        -2 llf_ML   = n (1 + log(2 pi RSS / n)) + logdet_v
        -2 llf_REML = (n - p) (1 + log(2 pi RSS / (n - p))) + logdet_v + log det X'V^-1X s_e^2

    the second being lme4's REML criterion (it omits ``log det X'X``).
    """
    dof = n - p if reml else n
    if sol["rss"] <= 0:
        return np.inf
    val = dof * (1.0 + LOG_2PI + np.log(sol["rss"] / dof)) + sol["logdet_v"]
    if reml:
        val += sol["logdet_a"]
    return -0.5 * val


def full_delta_grid(scale, n_grid=DELTA_GRID_SIZE, log_range=DELTA_LOG_RANGE):
    """The grid of :func:`delta_grid` extended by :func:`extend_delta_grid` to its end, and
    the lengths it has along the way.

    Returns
    -------
    grid : ndarray
        From :func:`delta_grid`, then each extension; the last point is
        ``exp(DELTA_LOG_MAX) / scale`` (only ``[0.0]`` when ``scale <= 0``).
    ends : list of int
        The search sees ``grid[:ends[0]]`` first; a problem whose best point is the last of
        ``grid[:ends[k]]`` sees ``grid[:ends[k + 1]]`` next.
    """
    grid = delta_grid(scale, n_grid, log_range)
    ends = [len(grid)]
    while len(more := extend_delta_grid(grid, scale)):
        grid = np.r_[grid, more]
        ends.append(len(grid))
    return grid, ends


class RatioCriterion(NamedTuple):
    """A batch of ``b`` one-dimensional problems for :func:`maximize_ratio`: the criterion
    ``f = -2 llf`` of each (up to a constant of that problem) as a function of its variance
    ratio ``delta >= 0``. Problems are numbered ``0 .. b-1``; ``rows`` is an int array of
    some of them."""

    #: ``grid_values(deltas, rows)``: f at the points ``deltas`` (D,) shared by the problems,
    #: shape (len(rows), D); NaN or infinite where it cannot be evaluated.
    grid_values: Callable
    #: ``values(delta, rows)``: f at one ``delta`` per problem, shape (len(rows),). The last
    #: call for a problem is at the delta returned, so that a consumer can keep what it
    #: computed there.
    values: Callable
    #: ``derivatives(lo, hi)`` with ``lo``, ``hi`` of shape (b,): a callable
    #: ``(delta, rows) -> (f, f', f'')`` (derivatives in delta, each of shape (len(rows),)),
    #: asked only for ``lo[rows] <= delta <= hi[rows]``.
    derivatives: Callable


class RatioSearch(NamedTuple):
    """Result of :func:`maximize_ratio`, one entry per problem."""

    #: the maximising ratio
    delta: np.ndarray
    #: the criterion f there
    value: np.ndarray
    #: False where the likelihood is unbounded at the end of the search (see
    #: :func:`residual_boundary`) or the last resort did not converge
    converged: np.ndarray
    #: where the best point is the end of the fully extended grid and the likelihood does
    #: not decrease there: its slope in log(delta) there (for :func:`residual_boundary`);
    #: NaN elsewhere
    slope: np.ndarray
    #: evaluations of the criterion or its derivatives (a grid point counts one)
    n_evals: np.ndarray


def maximize_ratio(criterion, n_problems, scale, n_grid=DELTA_GRID_SIZE,
                   log_range=DELTA_LOG_RANGE, max_iter=100, rtol=1e-13):
    """Global maximum over ``delta >= 0`` of a batch of one-dimensional likelihoods: the
    search of the kinship model, used by its fit, bootstrap, profile intervals and scan.

    Parameters
    ----------
    criterion : RatioCriterion
        ``f = -2 llf`` of each problem and its derivatives.
    n_problems : int
    scale : float
        The typical eigenvalue of K (:func:`delta_scale`) on which the grid is centred.
    n_grid, log_range : int, tuple
        The grid (:func:`delta_grid`).
    max_iter, rtol : int, float
        Newton iterations at most, and the relative size of the last step.

    Returns
    -------
    RatioSearch

    Notes
    -----
    For every problem, by the same rules:

    1. f at ``delta = 0`` and on the grid over ``log(delta s)``; while the best point is the
       last one the grid is extended upwards (:func:`full_delta_grid`) up to ``delta_max =
       exp(DELTA_LOG_MAX) / s``.
    2. When the best point is ``delta_max`` and the likelihood does not decrease there, the
       estimate is ``delta_max``, converged or not by :func:`residual_boundary`.
    3. When the best point is 0 and ``f'(0) >= 0``, the estimate is 0.
    4. Otherwise the minimum of f is bracketed between the best point and the neighbour
       towards which f decreases (``f' < 0`` at the lower end, ``> 0`` at the upper one) and
       located by Newton steps on f' in ``log(delta)`` (in delta while the bracket starts at
       0), with bisection when a step leaves the bracket, until a step is below ``rtol``
       relative; Brent's root finder on f' where that does not end. Where f' does not change
       sign as expected (several extrema near the best point), bounded Brent on f between
       the best point's neighbours.
    5. The estimate is never worse than the best grid point.
    """
    b = int(n_problems)
    every = np.arange(b)
    n_evals = np.zeros(b, dtype=int)
    converged = np.ones(b, dtype=bool)
    slope = np.full(b, np.nan)
    grid, ends = full_delta_grid(scale, n_grid, log_range)
    if len(grid) == 1 or not b:  # delta is not identified (no positive eigenvalue)
        delta = np.zeros(b)
        value = criterion.values(delta, every) if b else np.zeros(0)
        return RatioSearch(delta, value, converged, slope, n_evals + 1)
    # 1. the grid, extended while a problem's best point is the last one it has seen
    f = np.full((b, len(grid)), np.inf)
    f[:, :ends[0]] = criterion.grid_values(grid[:ends[0]], every)
    n_evals += ends[0]
    length = np.full(b, ends[0])
    for cur, nxt in zip(ends[:-1], ends[1:]):
        f[~np.isfinite(f)] = np.inf
        top = np.flatnonzero((length == cur) & (np.argmin(f[:, :cur], axis=1) == cur - 1))
        if not len(top):
            break
        f[top, cur:nxt] = criterion.grid_values(grid[cur:nxt], top)
        length[top] = nxt
        n_evals[top] += nxt - cur
    f[~np.isfinite(f)] = np.inf
    best = np.argmin(f, axis=1)
    delta = grid[best]
    lo = grid[np.maximum(best - 1, 0)]
    hi = grid[np.minimum(best + 1, length - 1)]
    todo = np.ones(b, dtype=bool)
    # 2. at the end of the search, with the likelihood not decreasing there
    top = np.flatnonzero(best == len(grid) - 1)
    if len(top):
        end = np.full(b, grid[-1])
        s = -0.5 * grid[-1] * criterion.derivatives(end, end)(end[top], top)[1]
        n_evals[top] += 1
        top, s = top[s >= 0], s[s >= 0]  # else a maximum inside (grid[-2], delta_max)
        slope[top] = s
        converged[top] = residual_boundary(grid[-1], s)[0]
        todo[top] = False
    act = np.flatnonzero(todo)
    several = np.zeros(b, dtype=bool)  # f' not bracketed: bounded Brent on f
    if len(act):
        derivs = criterion.derivatives(lo, hi)
        _, g, h = derivs(delta[act], act)
        n_evals[act] += 1
        # 3. at 0 (delta is grid[0] = 0 there), or exactly at a grid point
        go = np.flatnonzero(~(((best[act] == 0) & (g >= 0)) | (g == 0)))
        # 4. bracket: from the best point towards decreasing f
        right = g[go] < 0
        x = delta[act[go]]
        a = np.where(right, x, lo[act[go]])
        e = np.where(right, hi[act[go]], x)
        if len(go):
            g_other = derivs(np.where(right, e, a), act[go])[1]
            n_evals[act[go]] += 1
            bracketed = np.where(right, g_other > 0, g_other < 0)
            several[act[go[~bracketed]]] = True
            go, x, a, e = go[bracketed], x[bracketed], a[bracketed], e[bracketed]
        if len(go):
            rows = act[go]
            root, ok = _newton(derivs, rows, x, g[go], h[go], a, e, max_iter, rtol, n_evals)
            delta[rows] = root
            for i in np.flatnonzero(~ok):
                delta[rows[i]] = _score_root(derivs, rows[i], a[i], e[i], n_evals)
                several[rows[i]] = np.isnan(delta[rows[i]])
    for row in np.flatnonzero(several):
        delta[row], converged[row] = _minimize_one(criterion.values, row, lo[row], hi[row],
                                                   n_evals)
    value = criterion.values(delta, every)
    n_evals += 1
    # 5. never worse than the grid
    worse = np.flatnonzero(f[every, best] < value)
    moved = worse[delta[worse] != grid[best[worse]]]
    delta[worse], value[worse] = grid[best[worse]], f[worse, best[worse]]
    if len(moved):  # the last evaluation of a problem is at its estimate
        criterion.values(delta[moved], moved)
    return RatioSearch(delta, value, converged, slope, n_evals)


def _newton(derivs, rows, x, g, h, lo, hi, max_iter, rtol, n_evals):
    """Root of f' in ``(lo, hi)`` (``f' < 0`` at lo, ``> 0`` at hi) for the problems
    ``rows``, from ``x`` in ``[lo, hi]`` where ``f' = g`` and ``f'' = h``: Newton steps in
    ``log(delta)`` (in delta while ``lo = 0``), bisection (geometric; arithmetic from 0)
    when a step leaves the bracket or goes against the curvature. Stops when a step is below
    ``rtol`` relative (the error is then at rounding level: convergence is quadratic);
    ``ok`` is False where that did not happen in ``max_iter`` steps."""
    x, lo, hi = x.copy(), lo.copy(), hi.copy()
    ok = np.zeros(len(x), dtype=bool)
    act = np.arange(len(x))
    for _ in range(max_iter):
        xa = x[act]
        la = np.where(g < 0, xa, lo[act])
        ha = np.where(g > 0, xa, hi[act])
        lo[act], hi[act] = la, ha
        in_log = la > 0
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            # in t = log(delta): d/dt (delta f') = delta (f' + delta f'')
            curv = np.where(in_log, g + xa * h, h)
            new = np.where(in_log, xa * np.exp(-g / curv), xa - g / h)
            good = (curv > 0) & (new > la) & (new < ha)
            new = np.where(good, new, np.where(in_log, np.sqrt(la * ha), 0.5 * (la + ha)))
            finished = ((np.abs(new - xa) <= rtol * np.abs(new)) | (g == 0)
                        | (ha - la <= rtol * ha))
        x[act] = np.where(g == 0, xa, new)
        ok[act[finished]] = True
        act = act[~finished]
        if not len(act):
            break
        _, g, h = derivs(x[act], rows[act])
        n_evals[rows[act]] += 1
    return x, ok


def _score_root(derivs, row, lo, hi, n_evals):
    """Brent's root of f' in ``(lo, hi)`` for one problem, in ``log(delta)`` (in delta when
    ``lo = 0``); NaN when f' does not change sign there."""
    rows = np.array([row])

    def slope(d):
        n_evals[row] += 1
        return float(derivs(np.array([d]), rows)[1][0])

    try:
        if lo == 0.0:
            return optimize.brentq(slope, 0.0, hi, xtol=1e-13 * hi, rtol=1e-12)
        return float(np.exp(optimize.brentq(lambda t: slope(np.exp(t)), np.log(lo),
                                            np.log(hi), xtol=1e-12, rtol=1e-12)))
    except ValueError:
        return np.nan


def _minimize_one(values, row, lo, hi, n_evals):
    """Bounded Brent on f in ``(lo, hi)`` for one problem: ``(delta, converged)``."""
    rows = np.array([row])
    res = optimize.minimize_scalar(lambda d: float(values(np.array([d]), rows)[0]),
                                   bounds=(lo, hi), method="bounded",
                                   options={"xatol": 1e-10 * hi})
    n_evals[row] += res.nfev
    return float(res.x), bool(res.success)


class _Curve:
    """The criterion ``-2 llf`` of one :class:`ProfiledLikelihood` along delta, as a batch
    of one problem for :func:`maximize_ratio`: with ``s_e^2`` profiled out (``held=None``),
    held at ``c`` (``("residual", c)``), or with ``s_k^2`` held at ``c`` (``("kinship", c)``:
    ``s_e^2 = c / delta``). With the parts of :meth:`ProfiledLikelihood.parts`, ``RSS`` and
    ``L``::

        profiled:  f = dof (1 + log(2 pi RSS / dof)) + L
        held s:    f = dof log(2 pi s) + RSS / s + L
    """

    def __init__(self, prof, reml, held=None):
        self.prof, self.reml = prof, bool(reml)
        self.dof = prof.n - prof.p if reml else prof.n
        self.kind, self.c = (None, None) if held is None else held
        if self.kind not in (None, "residual", "kinship"):
            raise ValueError(f"held must be None, ('residual', c) or ('kinship', c); got "
                             f"{held!r}")

    def criterion(self):
        return RatioCriterion(self.grid_values, self.values, lambda lo, hi: self.derivatives)

    def _compose(self, delta, rss, logdet_v, logdet_a):
        dof = self.dof
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.kind is None:  # as profiled_loglike
                val = dof * (1.0 + LOG_2PI + np.log(rss / dof)) + logdet_v
                return val + logdet_a if self.reml else val
            logdet = logdet_v + logdet_a if self.reml else logdet_v
            s = self.c / delta if self.kind == "kinship" else self.c
            return dof * np.log(2 * np.pi * s) + rss / s + logdet

    def grid_values(self, deltas, rows):
        return self._compose(deltas, *self.prof._grid_parts(deltas))[None, :]

    def values(self, delta, rows):
        d = np.float64(delta[0])  # c / d is inf at 0
        if self.kind is None:
            return np.array([-2.0 * self.prof.loglike(d, self.reml)])
        sol = self.prof.solve(d)
        return np.array([self._compose(d, sol["rss"], sol["logdet_v"], sol["logdet_a"])])

    def derivatives(self, delta, rows):
        d = np.float64(delta[0])
        (rss, r1, r2), (ld, l1, l2) = self.prof.parts(d, self.reml)
        dof, c = self.dof, self.c
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.kind is None:
                out = (dof * (1.0 + LOG_2PI + np.log(rss / dof)) + ld, dof * r1 / rss + l1,
                       dof * (r2 / rss - (r1 / rss) ** 2) + l2)
            elif self.kind == "residual":
                out = (dof * np.log(2 * np.pi * c) + rss / c + ld, r1 / c + l1, r2 / c + l2)
            else:  # s_e^2 = c / delta
                out = (dof * np.log(2 * np.pi * c / d) + d * rss / c + ld,
                       -dof / d + (rss + d * r1) / c + l1,
                       dof / d ** 2 + (2.0 * r1 + d * r2) / c + l2)
        return tuple(np.array([v], dtype=float) for v in out)


class ProfiledLikelihood:
    """(Restricted) log-likelihood of rotated data as a function of ``delta = s_k^2 / s_e^2``.

    Parameters
    ----------
    eigenvalues : ndarray, shape (n,)
    exog_rot : ndarray, shape (n, p)
        Rotated design of full column rank.
    endog_rot : ndarray, shape (n,)
    group_rtol : float
        Eigenvalues equal to within ``group_rtol`` times their value (see
        :func:`group_eigenvalues`) share one set of cross-product sums, which makes each
        evaluation independent of n when K has few distinct eigenvalues.

    Notes
    -----
    With ``w_i = 1 / (delta * lam_i + 1)``, ``A = X~' W X~``, ``r = y~ - X~ b`` and
    ``RSS = r' W r`` at the GLS estimate ``b``, the profiled criteria are (p = rank of X)::

        -2 llf_ML   = n (1 + log(2 pi RSS / n)) + sum log(delta lam_i + 1)
        -2 llf_REML = (n - p) (1 + log(2 pi RSS / (n - p))) + sum log(delta lam_i + 1)
                      + log det A

    the second being lme4's REML criterion (it omits ``log det X'X``).
    """

    def __init__(self, eigenvalues, exog_rot, endog_rot, group_rtol=GROUP_RTOL):
        lam = np.asarray(eigenvalues, dtype=float)
        z = np.column_stack([exog_rot, endog_rot])
        self.n, self.p = exog_rot.shape
        self.max_eigenvalue = float(lam.max()) if len(lam) else 0.0
        #: the typical eigenvalue, on which the search over delta is centred
        self.delta_scale = delta_scale(lam)
        groups = group_eigenvalues(lam, group_rtol)
        if self.n and len(groups.counts) * 2 <= self.n:
            # sufficient statistics per distinct eigenvalue
            bounds = groups.bounds
            zs = z[groups.order]
            self._lam = groups.values
            self._count = groups.counts.astype(float)
            self._cross = np.stack([zs[a:b].T @ zs[a:b] for a, b in zip(bounds[:-1], bounds[1:])])
            self._z = None
        else:
            self._lam = lam
            self._count = np.ones_like(lam)
            self._cross = None
            self._z = z

    def _weighted_cross(self, w):
        if self._cross is not None:
            return np.tensordot(w, self._cross, axes=1)
        return (self._z * w[:, None]).T @ self._z

    def solve(self, delta):
        """GLS solution at ``delta``.

        Returns a dict with ``params``, ``rss``, ``chol_A`` (lower Cholesky factor of
        ``X~'WX~``), ``logdet_v`` (sum log(delta lam + 1)) and ``logdet_a``.
        """
        d = delta * self._lam + 1.0
        sol = gls_from_cross(self._weighted_cross(1.0 / d), self.p)
        sol["logdet_v"] = float(self._count @ np.log(d))
        return sol

    def _grid_parts(self, deltas):
        """``RSS``, ``log det V/s_e^2`` and ``log det A`` at many deltas: one batched Cholesky
        when the eigenvalues are grouped, else one :meth:`solve` per delta."""
        deltas = np.asarray(deltas, dtype=float)
        if self._cross is not None:
            d = deltas[:, None] * self._lam[None, :] + 1.0
            try:
                chol = np.linalg.cholesky(np.tensordot(1.0 / d, self._cross, axes=1))
            except np.linalg.LinAlgError:
                chol = None
            if chol is not None:
                p = self.p
                with np.errstate(divide="ignore"):
                    logdet_a = 2.0 * np.log(np.diagonal(chol[:, :p, :p], axis1=1,
                                                        axis2=2)).sum(axis=1)
                return chol[:, p, p] ** 2, np.log(d) @ self._count, logdet_a
        sols = [self.solve(d) for d in deltas]
        return tuple(np.array([sol[k] for sol in sols], dtype=float)
                     for k in ("rss", "logdet_v", "logdet_a"))

    def loglike(self, delta, reml=True):
        """Profiled (restricted) log-likelihood at variance ratio ``delta``."""
        return self._loglike_from(self.solve(delta), reml)

    def _loglike_from(self, sol, reml):
        return profiled_loglike(sol, self.n, self.p, reml)

    def parts(self, delta, reml=True, order=2):
        """The two parts of the criterion at ``delta`` and their derivatives in delta up to
        ``order``: ``(RSS, RSS', RSS'')`` and ``(L, L', L'')``, ``RSS`` the weighted residual
        sum of squares at the GLS estimate and ``L = log det V/s_e^2`` (plus ``log det A``,
        ``A = X~'WX~``, under REML), so that ``-2 llf = dof (1 + log(2 pi RSS / dof)) + L``
        profiled over ``s_e^2`` and ``dof log(2 pi s_e^2) + RSS / s_e^2 + L`` at ``s_e^2``.

        With ``d_i = delta lam_i + 1``, ``D1 = diag(lam/d^2)``, ``D2 = diag(lam^2/d^3)``, ``r``
        the GLS residual and ``u = X~' D1 r`` (envelope theorem for the first derivative)::

            RSS'  = -r' D1 r                RSS'' = 2 r' D2 r - 2 u' A^-1 u
            L'    = sum lam/d  [- tr(A^-1 X~'D1X~)]
            L''   = -sum lam^2/d^2  [+ 2 tr(A^-1 X~'D2X~) - tr((A^-1 X~'D1X~)^2)]
        """
        sol = self.solve(delta)
        lam, count, p = self._lam, self._count, self.p
        rss = sol["rss"]
        ld = sol["logdet_v"] + sol["logdet_a"] if reml else sol["logdet_v"]
        if order == 0:
            return (rss,), (ld,)
        w = 1.0 / (delta * lam + 1.0)
        lw = lam * w
        z = np.append(-sol["params"], 1.0)  # [X~ y~] z = r
        m1 = self._weighted_cross(lw * w)
        rss1 = -(z @ m1 @ z)
        ld1 = count @ lw
        a_inv = chol_inverse(sol["chol_A"]) if p and (reml or order > 1) else np.zeros((p, p))
        if reml:
            ld1 -= np.sum(a_inv * m1[:p, :p])
        if order == 1:
            return (rss, rss1), (ld, ld1)
        m2 = self._weighted_cross(lw * lw * w)
        u = m1[:p] @ z
        rss2 = 2.0 * (z @ m2 @ z) - 2.0 * (u @ a_inv @ u)
        ld2 = -(count @ (lw * lw))
        if reml:
            b1 = a_inv @ m1[:p, :p]
            ld2 += 2.0 * np.sum(a_inv * m2[:p, :p]) - np.sum(b1 * b1.T)
        return (rss, rss1, rss2), (ld, ld1, ld2)

    def score(self, delta, reml=True):
        """Derivative of the profiled (restricted) log-likelihood with respect to ``delta``:
        ``-(dof RSS'/RSS + L')/2`` (:meth:`parts`), ``dof`` being ``n - p`` (REML) or ``n``
        (ML)."""
        (rss, rss1), (_, ld1) = self.parts(delta, reml, order=1)
        dof = self.n - self.p if reml else self.n
        return -0.5 * (dof * rss1 / rss + ld1)

    def information(self, delta, scale, reml=True):
        """Observed information of ``(s_k^2, s_e^2)`` at ``s_k^2 = delta * scale``,
        ``s_e^2 = scale``, from the likelihood profiled over the fixed effects.

        With ``V_k = diag(lam)``, ``V_e = I`` (rotated space), P the REML projection and
        ``u = P y``: ``I_ij = -1/2 tr(P V_i P V_j) + u' V_i P V_j u`` under REML, and the same
        with ``tr(V^-1 V_i V^-1 V_j)`` in the first term under ML (the b-profiled information
        equals the variance block of the inverse full information). Every term is a
        weighted cross product of ``[X~ y~]``, so the cost is that of a few evaluations.
        """
        sol = self.solve(delta)
        p = self.p
        v = scale * (delta * self._lam + 1.0)
        derivs = (self._lam, np.ones_like(self._lam))
        zb = np.append(-sol["params"], 1.0)  # [X y] @ zb = residual r; u = r / v
        m_inv = scale * chol_inverse(sol["chol_A"])  # (X'V^-1X)^-1
        first = [self._weighted_cross(d / v ** 2) for d in derivs]
        xvu = [f[:p] @ zb for f in first]  # X' V^-1 V_i u
        info = np.empty((2, 2))
        for i in range(2):
            for j in range(i + 1):
                second = self._weighted_cross(derivs[i] * derivs[j] / v ** 3)
                trace = self._count @ (derivs[i] * derivs[j] / v ** 2)
                if reml:
                    trace += (-2 * np.sum(m_inv * second[:p, :p])
                              + np.sum((m_inv @ first[i][:p, :p]) * (m_inv @ first[j][:p, :p]).T))
                quad = zb @ second @ zb - xvu[i] @ m_inv @ xvu[j]
                info[i, j] = info[j, i] = -0.5 * trace + quad
        return info

    def maximize(self, reml=True, n_grid=DELTA_GRID_SIZE, log_range=DELTA_LOG_RANGE,
                 held=None):
        """Global maximum over ``delta >= 0``, by :func:`maximize_ratio` (a batch of one).

        The likelihood is evaluated at ``delta = 0`` and on a grid over ``log(delta s)`` in
        ``log_range`` (natural log), ``s`` the typical eigenvalue (:func:`delta_scale`); while
        the best point is the last one the grid is extended upwards (:func:`extend_delta_grid`)
        up to ``delta s = 1e6``. The maximum is then located in the bracket next to the best
        grid point as the root of the analytic score (safeguarded Newton in ``log(delta)``,
        to 1e-13 relative), or at ``delta = 0`` when the score there is not positive and
        ``delta = 0`` is the best grid point. Bounded Brent on the likelihood is the fallback
        when the score does not change sign in the bracket.

        When the best point is the end of the fully extended search, ``delta_max =
        exp(DELTA_LOG_MAX) / s``, and the likelihood has a finite limit as ``delta -> inf``
        (its slope in ``log(delta)`` there is below :data:`BOUNDARY_SLOPE_MAX`), ``delta_max``
        is a converged boundary estimate: ``s_e^2`` is zero up to ``1e-6 s_k^2 s``, h2 is 1
        to about 1e-6. When the likelihood is unbounded there (K singular on the residual
        space of exog, the response reaching its null space) the fit has not converged.

        Parameters
        ----------
        reml : bool
        n_grid, log_range : int, tuple
            The grid (:func:`delta_grid`).
        held : tuple, optional
            ``("residual", c)``: maximise the likelihood at ``s_e^2 = c``, not profiled over
            it; ``("kinship", c)``: at ``s_k^2 = c`` (``s_e^2 = c / delta``). For profile
            likelihoods of the variances.

        Returns
        -------
        delta : float
        llf : float
        info : dict
            ``converged`` (bool), ``boundary`` (``"kinship"`` at ``delta = 0``,
            ``s_k^2 = 0``; ``"residual"`` at ``delta_max``, ``s_e^2 = 0``, when converged;
            None otherwise),
            ``n_evals``, ``message``.
        """
        curve = _Curve(self, reml, held)
        if self.max_eigenvalue <= 0:
            return 0.0, -0.5 * float(curve.values(np.zeros(1), None)[0]), {
                "converged": True, "boundary": "kinship", "n_evals": 1,
                "message": "kinship has no positive eigenvalue; delta is not identified"}
        found = maximize_ratio(curve.criterion(), 1, self.delta_scale, n_grid, log_range)
        delta, llf = float(found.delta[0]), -0.5 * float(found.value[0])
        converged, message, boundary = bool(found.converged[0]), "", None
        if np.isfinite(found.slope[0]):  # at the end of the search
            converged, message = residual_boundary(delta, float(found.slope[0]))
            boundary = "residual" if converged else None
        if delta == 0.0:
            boundary = "kinship"
        return delta, llf, {"converged": converged, "boundary": boundary,
                            "n_evals": int(found.n_evals[0]), "message": message}
