"""Checks of the kinship matrix and of its alignment with the data.

Private module. Every check raises ``ValueError`` (``TypeError`` for an argument of the wrong
kind) with a message that names the argument, the problem and the offending values, so that
bad input never turns into a silent wrong answer.

Labels
------
The rule, applied by :func:`match_kinship` (the model) and by the scan:

* both sides labelled (pandas data with individual IDs as index, and a DataFrame or
  ``SparseKinship``): aligned by ID;
* a labelled kinship with unlabelled data (numpy arrays, or pandas data whose index is the
  default ``0, ..., n-1``): refused, unless the kinship's labels are exactly the positions
  ``0, ..., n-1`` in order;
* labelled data with an unlabelled kinship (an array or sparse matrix): matched by position,
  with a :class:`~statsmodels_kinship.exceptions.LabelWarning`.
"""
import numbers
from numbers import Integral, Real
import os

import numpy as np
import pandas as pd
from scipy import sparse

from .exceptions import LabelWarning, warn_at_user

__all__ = ["align_kinship", "check_kinship", "check_endog", "is_labelled", "data_labels",
           "match_kinship", "is_default_index", "id_hint", "warn_unlabelled_kinship",
           "check_endog_shape", "all_rows_missing",
           "available_memory", "MEMORY_FRACTION", "check_count", "as_rng", "check_alpha",
           "check_bool",
           "check_choice"]


def _show(labels, limit=5):
    labels = list(labels)
    shown = ", ".join(repr(x) for x in labels[:limit])
    return shown + (f", ... ({len(labels)} in all)" if len(labels) > limit else "")


def is_labelled(kinship):
    """A DataFrame, or a ``SparseKinship``-like ``(matrix, labels)`` pair."""
    return isinstance(kinship, pd.DataFrame) or (hasattr(kinship, "matrix")
                                                 and hasattr(kinship, "labels"))


def is_default_index(index):
    """Whether ``index`` is pandas' default row numbering ``0, ..., n-1`` (no IDs)."""
    return pd.Index(index).equals(pd.RangeIndex(len(index)))


def data_labels(endog, exog):
    """The row labels of the data as statsmodels sees them: exog's index when exog is a
    pandas object, else endog's, else None (numpy arrays carry no labels)."""
    for part in (exog, endog):
        if isinstance(part, (pd.Series, pd.DataFrame)):
            return part.index
    return None


def _kind(value):
    if isinstance(value, str):
        return "str"
    if isinstance(value, (bool, np.bool_)):
        return "bool"
    if isinstance(value, numbers.Integral):
        return "int"
    if isinstance(value, numbers.Real):
        return "float"
    return type(value).__name__


def _kinds(index):
    """The kinds of the values of an index, as words (``{'int'}``, ``{'str'}``)."""
    return {_kind(x) for x in list(index[:1000])}


def id_hint(ids, labels, names=("the data", "the kinship"), by_position=None):
    """A hint for IDs ``ids`` of ``names[0]`` missing from the labels of ``names[1]``, when the
    cause is plain: ``ids`` are pandas' default row numbering (not IDs; ``by_position`` then
    says how to match by position), or the IDs differ in type (``1`` against ``'1'``).
    Returns ``''`` otherwise."""
    ids, labels = pd.Index(ids), pd.Index(labels)
    if by_position and is_default_index(ids) and not is_default_index(labels[:len(ids)]):
        return (f"; the index of {names[0]} is pandas' default row numbering 0, ..., n-1, not "
                f"individual IDs: index {names[0]} by the IDs (e.g. "
                f"data.set_index('individual')), or {by_position} to match by position")
    in_ids, in_labels = _kinds(ids), _kinds(labels)
    if in_ids and in_labels and in_ids != in_labels:
        fixable = pd.Index([str(x) for x in ids]).isin([str(x) for x in labels]).all()
        return (f"; the IDs of {names[0]} are {'/'.join(sorted(in_ids))}, those of {names[1]} "
                f"are {'/'.join(sorted(in_labels))}" + (
                    ": convert both to str with .astype(str) (so they match)" if fixable
                    else ""))
    return ""


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
        The values as given (their dtype kept); :func:`check_kinship` converts them.
    """
    if isinstance(kinship, pd.DataFrame):
        if not kinship.index.equals(kinship.columns):
            if set(kinship.index) != set(kinship.columns):
                raise ValueError("kinship DataFrame: index and columns must hold the same IDs")
            kinship = kinship.loc[:, kinship.index]
        labels, matrix = kinship.index, kinship.to_numpy()
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
                         f"{_show(missing)}"
                         + id_hint(ids, labels, by_position=(
                             "pass the kinship as an array (kinship.to_numpy(), or .matrix "
                             "of a SparseKinship)")))
    pos = labels.get_indexer(ids)
    if sparse.issparse(matrix):
        return matrix[pos][:, pos]
    return matrix[np.ix_(pos, pos)]


def match_kinship(kinship, labels, nobs):
    """The kinship as a matrix matched to the data's rows, by the rule of this module.

    Parameters
    ----------
    kinship : ndarray, scipy.sparse matrix, pandas.DataFrame or SparseKinship
    labels : pandas.Index or None
        The data's row labels (:func:`data_labels`); None for numpy data.
    nobs : int
        The number of rows of the data.

    Returns
    -------
    ndarray or scipy.sparse matrix
        Unchecked (see :func:`check_kinship`).
    """
    if not is_labelled(kinship):
        if labels is not None:
            warn_unlabelled_kinship(labels, stacklevel=4)
        return kinship
    if labels is not None:
        return align_kinship(kinship, labels)
    k_labels = pd.Index(kinship.index if isinstance(kinship, pd.DataFrame) else kinship.labels)
    if len(k_labels) == nobs and is_default_index(k_labels):
        return align_kinship(kinship, k_labels)  # the labels are the positions 0, ..., n-1
    raise ValueError(
        f"kinship is labelled by individual IDs ({_show(k_labels, 3)}) but the data are not "
        "(numpy arrays), so they cannot be matched by ID: pass endog and exog as a pandas "
        "Series/DataFrame indexed by the IDs, or pass kinship.to_numpy() (.matrix of a "
        "SparseKinship) to match by position")


def warn_unlabelled_kinship(labels, stacklevel=3):
    """LabelWarning when the data are labelled by IDs and the kinship is not."""
    if labels is None or is_default_index(labels):
        return
    warn_at_user(
        f"the data are indexed by individual IDs ({_show(labels, 3)}) but kinship is an "
        "unlabelled array, matched to the rows by position: pass it as a DataFrame indexed "
        "(rows and columns) by the IDs to match by ID, or reset the data's index "
        "(data.reset_index(drop=True)) to state that the order is the same",
        LabelWarning)


def check_kinship(kinship, nobs, sym_rtol=1e-8):
    """Validate a kinship matrix given as an array or a sparse matrix.

    Checks type (a real numeric matrix), shape (square, ``nobs x nobs``), finiteness and
    symmetry (``max |K - K'|`` at most ``sym_rtol`` times ``max |K|``). Positive
    semidefiniteness is checked where the decomposition is computed
    (:class:`~statsmodels_kinship._spectral.KinshipDecomposition`), with a tolerance set by the
    precision of the values (a float32 GRM's are float32's; their conversion to float64 here
    is exact).

    Returns
    -------
    ndarray (float) or scipy.sparse.csr_matrix
    """
    if kinship is None or isinstance(kinship, (str, bytes, os.PathLike, dict, set)):
        raise TypeError("kinship must be a matrix (numpy array, scipy.sparse matrix, pandas "
                        "DataFrame or SparseKinship), got "
                        f"{type(kinship).__name__} {kinship!r:.60}" + (
                            "; read the file first" if isinstance(kinship, (str, os.PathLike))
                            else ""))
    if sparse.issparse(kinship):
        dtype = kinship.dtype
    else:
        kinship = np.asarray(kinship)
        dtype = kinship.dtype
        if dtype == object:  # e.g. from a DataFrame of mixed columns: numbers as objects
            try:
                kinship = kinship.astype(float)
                dtype = kinship.dtype
            except (TypeError, ValueError):
                pass
    if dtype.kind == "c":
        raise TypeError(f"kinship must be real, got complex values (dtype {dtype})")
    if dtype.kind not in "biuf":
        raise TypeError(f"kinship must hold numbers, got dtype {dtype}")
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


def check_endog_shape(endog):
    """The response must be one column: shape (n,) or (n, 1). Returns n."""
    shape = np.shape(endog)
    if len(shape) == 0 or len(shape) > 2 or (len(shape) == 2 and shape[1] != 1):
        raise ValueError(f"endog must be one response, a 1-d array or a single column, got "
                         f"shape {shape}" + ("; fit one model per column" if len(shape) == 2
                                             else ""))
    return shape[0]


def check_endog(endog):
    """The response must be numeric, finite (after missing handling), not empty and not
    constant."""
    y = np.asarray(endog)
    if y.dtype.kind == "c":
        raise TypeError(f"endog must be real, got complex values (dtype {y.dtype})")
    if y.dtype.kind not in "biuf":
        try:
            y = y.astype(float)
        except (TypeError, ValueError):
            raise TypeError(f"endog must hold numbers, got dtype {y.dtype} (values like "
                            f"{y.flat[0]!r})") from None
    y = y.astype(float)
    if y.size == 0:
        raise ValueError("endog has no observations")
    if not np.all(np.isfinite(y)):
        raise ValueError("endog contains NaN or infinite values; use missing='drop' to drop "
                         "those rows (and the matching rows and columns of the kinship)")
    if np.ptp(y) == 0:
        raise ValueError(f"endog is constant (every value is {y.flat[0]!r}): no variance to "
                         "decompose")


#: A dense kinship computation is refused up front when it would need more than this fraction
#: of :func:`available_memory`.
MEMORY_FRACTION = 0.8


def available_memory():
    """Bytes of memory available to this process now, or None where it cannot be told.

    Linux: ``MemAvailable`` of ``/proc/meminfo``, lowered to what a cgroup v2 memory limit
    leaves (containers); elsewhere the free physical pages (``os.sysconf``)."""
    free = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    free = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError, IndexError):
        pass
    if free is None:
        try:
            free = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")
        except (AttributeError, ValueError, OSError):
            return None
    try:
        with open("/sys/fs/cgroup/memory.max") as f_max, \
                open("/sys/fs/cgroup/memory.current") as f_cur:
            limit = f_max.read().strip()
            if limit != "max":
                free = min(free, int(limit) - int(f_cur.read()))
    except (OSError, ValueError):
        pass
    return max(free, 0)


def all_rows_missing(endog, exog):
    """Whether every row has a NaN in endog or exog (``missing='drop'`` would leave none)."""
    try:
        nan = np.isnan(np.asarray(endog, dtype=float)).reshape(len(endog), -1).any(axis=1)
        if exog is not None:
            x = np.asarray(exog, dtype=float)
            nan |= np.isnan(x).reshape(len(x), -1).any(axis=1)
    except (TypeError, ValueError):  # not numbers: reported by the checks that follow
        return False
    return bool(len(nan)) and bool(nan.all())


def check_count(value, name):
    """``value`` as an int >= 1 (an integral float such as 1e3 is accepted), or an error
    naming ``name``: TypeError for a non-number (None, a string, a bool), ValueError for
    anything else (0, negative, fractional, inf, NaN)."""
    if isinstance(value, bool) or not isinstance(value, (Integral, Real)):
        raise TypeError(f"{name} must be an integer >= 1, got {value!r} "
                        f"({type(value).__name__})")
    if not (np.isfinite(value) and value >= 1 and value == np.floor(value)):
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return int(value)


def as_rng(seed):
    """:func:`numpy.random.default_rng` of ``seed``, or an error naming the argument."""
    try:
        return np.random.default_rng(seed)
    except (TypeError, ValueError) as err:
        raise type(err)("seed must be None, an int >= 0, a sequence of such ints, a "
                        "numpy.random.SeedSequence or a numpy.random.Generator; got "
                        f"{seed!r} ({err})") from None


def check_alpha(alpha):
    """``alpha`` as a float in (0, 1), or an error naming it (TypeError for a non-number)."""
    if isinstance(alpha, bool) or not isinstance(alpha, (Integral, Real)):
        raise TypeError(f"alpha must be a number in (0, 1), got {alpha!r}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    return float(alpha)


def check_bool(value, name):
    """``value`` as a bool (True, False or a numpy bool), or a TypeError naming ``name``."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_choice(value, name, choices):
    """``value`` if it is one of ``choices``, else a ValueError naming ``name``."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(repr(c) for c in choices)}; "
                         f"got {value!r}")
    return value
