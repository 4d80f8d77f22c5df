"""Checks of the kinship matrix and of its alignment with the data.

Private module. Every check raises ``ValueError`` with a message that names the problem and the
offending values, so that bad input never turns into a silent wrong answer.
"""
import numpy as np
import pandas as pd
from scipy import sparse

__all__ = ["align_kinship", "check_kinship", "check_endog", "is_labelled"]


def _show(labels, limit=5):
    labels = list(labels)
    shown = ", ".join(repr(x) for x in labels[:limit])
    return shown + (f", ... ({len(labels)} in all)" if len(labels) > limit else "")


def is_labelled(kinship):
    """A DataFrame, or a ``SparseKinship``-like ``(matrix, labels)`` pair."""
    return isinstance(kinship, pd.DataFrame) or (hasattr(kinship, "matrix")
                                                 and hasattr(kinship, "labels"))


def align_kinship(kinship, ids):
    """Subset and reorder a labelled kinship matrix to ``ids``.

    Parameters
    ----------
    kinship : pandas.DataFrame or SparseKinship
        A DataFrame whose index and columns are individual IDs (the same set, in any order),
        or a sparse matrix with its labels (``kinship_from_pedigree(..., sparse=True)``). K may
        hold more individuals than ``ids``.
    ids : sequence
        IDs of the observations, in data order.

    Returns
    -------
    ndarray or scipy.sparse.csr_matrix, shape (len(ids), len(ids))
    """
    if isinstance(kinship, pd.DataFrame):
        if not kinship.index.equals(kinship.columns):
            if set(kinship.index) != set(kinship.columns):
                raise ValueError("kinship DataFrame: index and columns must hold the same IDs")
            kinship = kinship.loc[:, kinship.index]
        labels, matrix = kinship.index, kinship.to_numpy(dtype=float)
    else:
        labels, matrix = pd.Index(kinship.labels), sparse.csr_matrix(kinship.matrix)
        if matrix.shape != (len(labels), len(labels)):
            raise ValueError(f"kinship matrix is {matrix.shape[0]} x {matrix.shape[1]} but has "
                             f"{len(labels)} labels")
    if labels.has_duplicates:
        dup = labels[labels.duplicated()].unique()
        raise ValueError(f"kinship has duplicated IDs: {_show(dup)}")
    ids = pd.Index(ids)
    if ids.has_duplicates:
        dup = ids[ids.duplicated()].unique()
        raise ValueError(f"the data have duplicated IDs (row labels): {_show(dup)}; "
                         "each row must be one individual to be matched with the kinship")
    missing = ids.difference(labels, sort=False)
    if len(missing):
        raise ValueError(f"{len(missing)} IDs in the data are not in the kinship matrix: "
                         f"{_show(missing)}")
    pos = labels.get_indexer(ids)
    if sparse.issparse(matrix):
        return matrix[pos][:, pos]
    return matrix[np.ix_(pos, pos)]


def check_kinship(kinship, nobs, sym_rtol=1e-8):
    """Validate a kinship matrix given as an array or a sparse matrix.

    Checks shape (square, ``nobs x nobs``), finiteness and symmetry (``max |K - K'|`` at most
    ``sym_rtol`` times ``max |K|``). Positive semidefiniteness is checked where the
    decomposition is computed (:class:`~statsmodels_kinship._spectral.KinshipDecomposition`).

    Returns
    -------
    ndarray (float) or scipy.sparse.csr_matrix
    """
    if sparse.issparse(kinship):
        k = sparse.csr_matrix(kinship, dtype=float)
        values = k.data
    else:
        k = np.asarray(kinship, dtype=float)
        values = k
    if k.ndim != 2 or k.shape[0] != k.shape[1]:
        raise ValueError(f"kinship must be a square matrix, got shape {k.shape}")
    if k.shape[0] != nobs:
        raise ValueError(f"kinship is {k.shape[0]} x {k.shape[1]} but the data have {nobs} "
                         "observations")
    bad = ~np.isfinite(values)
    if bad.any():
        if sparse.issparse(k):
            coo = k.tocoo()
            r, c = coo.row[bad][0], coo.col[bad][0]
        else:
            r, c = np.argwhere(bad)[0]
        raise ValueError(f"kinship contains {int(bad.sum())} NaN or infinite entries, the "
                         f"first at ({r}, {c})")
    if not sparse.issparse(k) and np.array_equal(k, k.T):
        return k  # exactly symmetric: the common case, and a cheap test
    diff = abs(k - k.T)
    top = abs(k).max() if k.shape[0] else 0.0
    worst = diff.max() if k.shape[0] else 0.0
    if worst > sym_rtol * max(top, np.finfo(float).tiny):
        if sparse.issparse(diff):
            coo = diff.tocoo()
            at = np.argmax(coo.data)
            r, c = coo.row[at], coo.col[at]
        else:
            r, c = np.unravel_index(np.argmax(diff), diff.shape)
        raise ValueError(f"kinship is not symmetric: max |K - K.T| = {worst:.3g} at "
                         f"({r}, {c})")
    return k


def check_endog(endog):
    """The response must be finite (after missing handling) and not constant."""
    y = np.asarray(endog, dtype=float)
    if not np.all(np.isfinite(y)):
        raise ValueError("endog contains NaN or infinite values; use missing='drop' to drop "
                         "those rows (and the matching rows and columns of the kinship)")
    if y.size and np.ptp(y) == 0:
        raise ValueError(f"endog is constant (every value is {y.flat[0]!r}): no variance to "
                         "decompose")
