r"""Relatedness matrices: kinship from a pedigree, genomic relationship from SNP genotypes.

* :func:`kinship_from_pedigree` -- Malecot kinship coefficients from a pedigree table, family
  by family, dense (labelled DataFrame) or sparse (block-diagonal CSR) for large studies.
* :func:`inverse_relationship_matrix` -- the sparse inverse of the additive relationship
  matrix ``A = 2 K`` of a pedigree (Henderson's rules) and the inbreeding coefficients, in
  memory proportional to the number of individuals, for large animal-breeding pedigrees.
* :func:`genomic_relationship_matrix` -- the standardized genomic relationship matrix (GRM) of
  Yang et al. (2011) / VanRaden (2008, method 2) from 0/1/2 allele counts.
* :func:`individual_labels` -- the rule that turns (family, individual) IDs into the labels of
  these matrices; :mod:`statsmodels_kinship.io` labels genotypes and phenotypes with it, so
  that everything read from one study aligns by label.

Either matrix can be the ``kinship`` of :class:`~statsmodels_kinship.KinshipMixedLM`. They
differ by a factor 2: the GRM estimates twice the kinship coefficient (``A ~ 2 K``, diagonal
about 1 rather than 0.5), which halves the fitted kinship variance.
"""
from collections import namedtuple

import numpy as np
import pandas as pd
from scipy import sparse as sp

from ._validation import MEMORY_FRACTION, _show, available_memory
from .exceptions import GenotypeWarning, KinshipMemoryError, warn_at_user

__all__ = ["kinship_from_pedigree", "inverse_relationship_matrix", "genomic_relationship_matrix",
           "individual_labels", "SparseKinship", "InverseRelationship"]

#: Separator of family and individual ID in labels made by :func:`individual_labels`.
LABEL_SEP = "_"

_MISSING_PARENT = frozenset({"", "0"})
_MALE = frozenset({"1", "m", "male"})
_FEMALE = frozenset({"2", "f", "female"})

SparseKinship = namedtuple("SparseKinship", ["matrix", "labels"])
SparseKinship.__doc__ = """Sparse kinship matrix with its labels (from ``kinship_from_pedigree``).

Attributes
----------
matrix : scipy.sparse.csr_matrix, shape (n, n)
    Kinship coefficients; rows and columns in the pedigree table's row order.
labels : pandas.Index
    The ID of each row (and column), see :func:`individual_labels`.
"""


def _as_ids(values):
    """IDs as an object array of stripped strings; NaN/None become "" and 3.0 becomes "3".

    Integral floats appear when pandas reads an ID column holding NaN; without this, father
    "3.0" would not match individual "3".
    """
    s = pd.Series(values)
    if s.dtype.kind == "f":
        out = np.full(len(s), "", dtype=object)
        ok = s.notna().to_numpy()
        v = s.to_numpy()[ok]
        integral = v == np.round(v)
        out[np.flatnonzero(ok)[integral]] = v[integral].astype(np.int64).astype(str)
        out[np.flatnonzero(ok)[~integral]] = v[~integral].astype(str)
        return out
    if s.dtype.kind in "iub" and not s.isna().any():
        return s.astype(str).to_numpy(dtype=object)
    if pd.api.types.infer_dtype(s, skipna=True) in ("string", "empty"):
        return s.astype(object).fillna("").astype(str).str.strip().to_numpy(dtype=object)

    def one(v):
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
            return ""
        if isinstance(v, (float, np.floating)) and float(v).is_integer():
            return str(int(v))
        return str(v).strip()

    return np.array([one(v) for v in s.to_numpy(dtype=object)], dtype=object)


def _id_column(values, name):
    """A 1-D sequence of IDs, or an error naming the argument (None, a scalar or a string
    would otherwise be read as a table of one or no row)."""
    if values is None or isinstance(values, (str, bytes)) or np.ndim(values) == 0:
        raise TypeError(f"{name} must be a 1-D sequence of IDs (a list, array or Series), "
                        f"got {values!r}")
    if np.ndim(values) != 1:
        raise ValueError(f"{name} must be 1-D (one ID per individual), got shape "
                         f"{np.shape(values)}")
    return values


def individual_labels(family, individual, how="auto"):
    """Labels of individuals that are unique over a whole study.

    Parameters
    ----------
    family : array_like or None
        Family (pedigree) ID of each individual; None for a single family.
    individual : array_like
        Individual ID, unique within its family.
    how : {"auto", "individual", "family_individual"}
        ``"individual"`` labels by the individual ID (which must then be unique over the whole
        study); ``"family_individual"`` by the string ``family + "_" + individual``;
        ``"auto"`` (default) uses the individual ID when it is unique over the whole table and
        ``family_individual`` otherwise.

    Returns
    -------
    pandas.Index
        One string label per individual, in input order.

    Notes
    -----
    IDs are compared as strings: ``3``, ``3.0`` and ``"3"`` are the same ID. With
    ``how="auto"`` the choice depends on the whole table, so read every file of a study with
    the same ``how`` (the readers of :mod:`statsmodels_kinship.io` and
    :func:`kinship_from_pedigree` all take it) when one file holds only some of the families.

    Examples
    --------
    >>> from statsmodels_kinship.kinship import individual_labels
    >>> list(individual_labels(["A", "A", "B"], [1, 2, 3]))
    ['1', '2', '3']
    >>> list(individual_labels(["A", "A", "B"], [1, 2, 1]))
    ['A_1', 'A_2', 'B_1']
    """
    ind = _as_ids(_id_column(individual, "individual"))
    fam = (np.full(len(ind), "", dtype=object) if family is None
           else _as_ids(_id_column(family, "family")))
    if len(fam) != len(ind):
        raise ValueError(f"family has {len(fam)} entries but individual has {len(ind)}")
    if how not in ("auto", "individual", "family_individual"):
        raise ValueError(f"how must be 'auto', 'individual' or 'family_individual', got {how!r}")
    by_ind = pd.Index(ind)
    if how == "auto":
        how = "individual" if by_ind.is_unique else "family_individual"
    if how == "individual":
        labels = by_ind
    else:
        labels = pd.Index(fam + LABEL_SEP + ind)
    if not labels.is_unique:
        dup = labels[labels.duplicated()].unique()
        raise ValueError(f"labels are not unique with how={how!r}: {_show(dup)} occur more "
                         "than once (duplicate individuals, or IDs that collide once joined "
                         f"with {LABEL_SEP!r})")
    return labels


def _who(fam, ind, rows):
    """Readable names of the individuals in ``rows`` for error messages."""
    return [f"{ind[r]!r} (family {fam[r]!r})" if fam[r] else repr(ind[r]) for r in rows]


def _parent_problems(role, parent, rows, fam, ind):
    """``"<role> '<id>' of <individual>"`` for each row in ``rows``."""
    return [f"{role} {parent[r]!r} of {w}" for r, w in zip(rows, _who(fam, ind, rows))]


def _pedigree_columns(ped, family, individual, father, mother, sex):
    """Pull the ID columns out of ``ped`` as string arrays, checking that they exist."""
    if not isinstance(ped, pd.DataFrame):
        raise TypeError(f"ped must be a pandas DataFrame, got {type(ped).__name__}")
    wanted = {"individual": individual, "father": father, "mother": mother}
    if family is not None:
        wanted["family"] = family
    if sex is not None and (sex in ped.columns or sex != "sex"):
        wanted["sex"] = sex
    absent = [f"{role}={col!r}" for role, col in wanted.items() if col not in ped.columns]
    if absent:
        raise ValueError(f"pedigree table has no column for {', '.join(absent)}; its columns "
                         f"are {list(ped.columns)}")
    cols = {role: _as_ids(ped[col]) for role, col in wanted.items()}
    if family is None:
        cols["family"] = np.full(len(ped), "", dtype=object)
    return cols


def _parent_index(cols):
    """Row of each individual's father and mother (-1 where unknown), after validation."""
    fam, ind, fa, mo = cols["family"], cols["individual"], cols["father"], cols["mother"]
    bad = np.flatnonzero(np.isin(ind, list(_MISSING_PARENT)))
    if len(bad):
        raise ValueError(f"individual ID missing (empty or 0) in rows {_show(bad.tolist())}")
    key = pd.Index(fam + "\x1f" + ind)
    if not key.is_unique:
        dup = np.flatnonzero(key.duplicated(keep=False))
        raise ValueError("duplicate individual IDs within a family: "
                         f"{_show(sorted(set(_who(fam, ind, dup))))}")
    # one parent may be unknown: it is a phantom founder (unrelated, not inbred)
    has_fa = ~np.isin(fa, list(_MISSING_PARENT))
    has_mo = ~np.isin(mo, list(_MISSING_PARENT))
    fidx = np.where(has_fa, key.get_indexer(fam + "\x1f" + fa), -1)
    midx = np.where(has_mo, key.get_indexer(fam + "\x1f" + mo), -1)
    lost = (_parent_problems("father", fa, np.flatnonzero(has_fa & (fidx < 0)), fam, ind)
            + _parent_problems("mother", mo, np.flatnonzero(has_mo & (midx < 0)), fam, ind))
    if lost:
        raise ValueError("parents referenced but missing from the pedigree table (add them as "
                         f"founders, with parents 0): {_show(lost)}")
    if "sex" in cols:
        code = np.array([s.lower() for s in cols["sex"]], dtype=object)
        female_fa = np.flatnonzero(has_fa & np.isin(code[fidx], list(_FEMALE)))
        male_mo = np.flatnonzero(has_mo & np.isin(code[midx], list(_MALE)))
        wrong = ([f"{w} is female" for w in _parent_problems("father", fa, female_fa, fam, ind)]
                 + [f"{w} is male" for w in _parent_problems("mother", mo, male_mo, fam, ind)])
        if wrong:
            raise ValueError(f"parent of the wrong sex (sex coding 1 = male, 2 = female): "
                             f"{_show(wrong)}")
    return fidx, midx


def _generations(fidx, midx, fam, ind):
    """Generation depth (0 for founders, 1 + deeper known parent otherwise); raises on
    cycles."""
    n = len(fidx)
    depth = np.full(n, -1)
    depth[(fidx < 0) & (midx < 0)] = 0
    level = 0
    while (depth < 0).any():
        level += 1
        todo = depth < 0
        # each known parent placed in an earlier pass (``todo`` rows all have a parent)
        ready = (todo & ((fidx < 0) | (depth[np.maximum(fidx, 0)] >= 0))
                 & ((midx < 0) | (depth[np.maximum(midx, 0)] >= 0)))
        if not ready.any():
            # peel off individuals who are nobody's parent among the unresolved ones; what is
            # left are the individuals on a cycle (or linking two cycles)
            stuck = todo.copy()
            while True:
                is_parent = np.zeros(n, bool)
                is_parent[fidx[stuck & (fidx >= 0)]] = True
                is_parent[midx[stuck & (midx >= 0)]] = True
                drop = stuck & ~is_parent
                if not drop.any():
                    break
                stuck &= ~drop
            raise ValueError("pedigree has a cycle (an individual is its own ancestor): "
                             f"{_show(_who(fam, ind, np.flatnonzero(stuck)), limit=10)}")
        depth[ready] = level
    return depth


def _family_blocks(fidx, midx, famcode, depth):
    """Kinship block of every family, batched over families of equal size.

    Yields ``(rows, blocks)``: ``rows`` (F, s) holds the table rows of F families of size s
    (each sorted so that parents come before their children) and ``blocks`` (F, s, s) their
    kinship coefficients.
    """
    n = len(fidx)
    order = np.lexsort((np.arange(n), depth, famcode))
    sizes = np.bincount(famcode)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    local = np.empty(n, dtype=np.int64)
    local[order] = np.arange(n) - np.repeat(starts, sizes)
    for s in np.unique(sizes):
        fams = np.flatnonzero(sizes == s)
        rows = order[starts[fams][:, None] + np.arange(s)]
        # local position of each parent; founders point at the zero row/column s
        fl = np.where(fidx[rows] >= 0, local[np.maximum(fidx[rows], 0)], s)
        ml = np.where(midx[rows] >= 0, local[np.maximum(midx[rows], 0)], s)
        k = np.zeros((len(fams), s + 1, s + 1))
        b = np.arange(len(fams))
        for t in range(s):
            f, m = fl[:, t], ml[:, t]
            if t:
                row = 0.5 * (k[b, f, :t] + k[b, m, :t])
                k[:, t, :t] = row
                k[:, :t, t] = row
            k[:, t, t] = 0.5 * (1.0 + k[b, f, m])
        yield rows, k[:, :s, :s]


def kinship_from_pedigree(ped, *, family="family", individual="individual", father="father",
                          mother="mother", sex="sex", sparse=False, labels="auto"):
    r"""Kinship coefficients of the individuals of a pedigree.

    Parameters
    ----------
    ped : pandas.DataFrame
        One row per individual, in any order (parents may come after their children). Every
        known parent must have a row of its own (founders have both parents missing; one
        missing parent is a phantom founder, see Notes). Missing parents are coded 0,
        ``"0"``, the empty string or NaN.
    family : str or None
        Column of family (pedigree) IDs; parents are looked up within the family. None treats
        the whole table as one family (for a table without a family column, such as
        ``animal, dam, sire``).
    individual, father, mother : str
        Columns of individual, father and mother IDs. IDs are compared as strings
        (``3``, ``3.0`` and ``"3"`` are the same ID).
    sex : str or None
        Column of sex, PLINK coding: 1 (or "M", "male") male, 2 (or "F", "female") female,
        anything else unknown. Used only to check that fathers are not female and mothers
        not male. With the default name, a table without a ``sex`` column is not checked;
        None skips the check.
    sparse : bool
        False (default) returns a labelled dense DataFrame; True returns a
        :class:`SparseKinship` (CSR matrix plus labels) for large studies.
    labels : {"auto", "individual", "family_individual"}
        How rows are labelled, see :func:`individual_labels`: by default the individual ID
        when it is unique over the whole table, otherwise ``family + "_" + individual``.

    Returns
    -------
    pandas.DataFrame or SparseKinship
        Kinship matrix with index = columns = labels, in the table's row order. With
        ``sparse=True``, a named tuple ``(matrix, labels)``: ``matrix`` is a
        ``scipy.sparse.csr_matrix`` in the same row order holding only the nonzero
        coefficients (it is block diagonal, one block per family, when each family's rows are
        contiguous in the table, as in PLINK files) and ``labels`` a pandas.Index.

    Raises
    ------
    ValueError
        Naming the offending individuals, for: duplicate IDs within a family, a missing
        individual ID, a parent referenced but absent from the table, a father recorded as
        female or a mother as male, and cycles (an individual its own ancestor).
    KinshipMemoryError
        When the family blocks (and, dense, the n x n result) would not fit in the memory
        available, before computing them; the message names the largest family.

    Notes
    -----
    The kinship coefficient :math:`\phi_{ij}` (Malecot) is the probability that an allele
    drawn at random from :math:`i` and one drawn at random from :math:`j` at the same locus
    are identical by descent. Founders are unrelated and not inbred. With individuals sorted
    so that parents precede children, the standard recursion is

    .. math::

        \phi_{ii} = \tfrac12 (1 + \phi_{fm}) = \tfrac12 (1 + F_i), \qquad
        \phi_{ij} = \tfrac12 (\phi_{fj} + \phi_{mj}) \quad (j \text{ before } i),

    where :math:`f, m` are the parents of :math:`i` (:math:`\phi = 0` for a missing parent)
    and :math:`F_i` is the inbreeding coefficient. Self-fertilisation (father = mother) is
    allowed. A parent that is missing while the other is known is a phantom founder of its
    own, unrelated to everyone and not inbred, as in pedigreemm, nadiv and BLUPF90.
    Individuals of different families are unrelated, so the matrix is computed one
    family block at a time; blocks of families of the same size go through the recursion
    together, vectorised over the families. Time and memory grow with the sum of squared
    family sizes, not with the square of the study size, which makes ``sparse=True`` suitable
    for hundreds of thousands of people in small families (the dense result holds
    ``8 n^2`` bytes: 80 GB for 100,000 people). In a connected pedigree of several
    generations most pairs are related, so its kinship is dense either way: for a large animal-breeding
    pedigree use :func:`inverse_relationship_matrix`, sparse with memory proportional to
    the number of individuals.

    For pedigrees with both parents or none known, the result matches R's
    ``kinship2::kinship``, which requires that and every parent present in the table.

    References
    ----------
    .. [1] Malecot, G. (1948). *Les mathematiques de l'heredite*. Masson, Paris.
    .. [2] Lange, K. (2002). *Mathematical and Statistical Methods for Genetic Analysis*,
       2nd ed., Springer (chapter on genetic identity coefficients).
    .. [3] Sinnwell, J. P., Therneau, T. M. and Schaid, D. J. (2014). The kinship2 R package
       for pedigree data. *Human Heredity* 78(2), 91-93.

    Examples
    --------
    Two parents and their two children; the pedigree may list children first:

    >>> import pandas as pd
    >>> from statsmodels_kinship.kinship import kinship_from_pedigree
    >>> ped = pd.DataFrame({"family": "F1", "individual": ["c1", "c2", "dad", "mum"],
    ...                     "father": ["dad", "dad", 0, 0], "mother": ["mum", "mum", 0, 0],
    ...                     "sex": [1, 2, 1, 2]})
    >>> kinship_from_pedigree(ped)
           c1    c2   dad   mum
    c1   0.50  0.25  0.25  0.25
    c2   0.25  0.50  0.25  0.25
    dad  0.25  0.25  0.50  0.00
    mum  0.25  0.25  0.00  0.50
    >>> res = kinship_from_pedigree(ped, sparse=True)
    >>> res.matrix.nnz, list(res.labels)
    (14, ['c1', 'c2', 'dad', 'mum'])
    """
    if not isinstance(sparse, (bool, np.bool_)):
        raise TypeError(f"sparse must be True or False, got {sparse!r}")
    fam, fidx, midx, depth, index = _read_pedigree(ped, family, individual, father, mother,
                                                   sex, labels, "compute a kinship for")
    n = len(fidx)
    famcode = pd.factorize(fam)[0] if n else np.zeros(0, dtype=np.int64)
    _check_block_memory(famcode, fam, sparse)
    if sparse:
        r, c, v = [], [], []
        for rows, blocks in _family_blocks(fidx, midx, famcode, depth):
            nz = blocks != 0
            r.append(np.broadcast_to(rows[:, :, None], blocks.shape)[nz])
            c.append(np.broadcast_to(rows[:, None, :], blocks.shape)[nz])
            v.append(blocks[nz])
        cat = (lambda parts, dt: np.concatenate(parts) if parts else np.zeros(0, dt))
        mat = sp.csr_matrix((cat(v, float), (cat(r, np.int64), cat(c, np.int64))),
                            shape=(n, n))
        return SparseKinship(mat, index)
    out = np.zeros((n, n))
    for rows, blocks in _family_blocks(fidx, midx, famcode, depth):
        out[rows[:, :, None], rows[:, None, :]] = blocks
    return pd.DataFrame(out, index=index, columns=index)


def _read_pedigree(ped, family, individual, father, mother, sex, labels, purpose):
    """Validated pedigree: ``(family IDs, father row, mother row, depth, labels)``, rows in
    the table's order, -1 for an unknown parent. ``purpose`` completes the message on an
    empty table."""
    if not isinstance(labels, str) or labels not in ("auto", "individual", "family_individual"):
        raise ValueError("labels must be 'auto', 'individual' or 'family_individual', got "
                         f"{labels!r}")
    cols = _pedigree_columns(ped, family, individual, father, mother, sex)
    if not len(ped):
        raise ValueError(f"the pedigree table has no rows (columns {list(ped.columns)}): there "
                         f"is no one to {purpose}")
    fam, ind = cols["family"], cols["individual"]
    fidx, midx = _parent_index(cols)
    index = individual_labels(fam, ind, how=labels)
    depth = _generations(fidx, midx, fam, ind)
    return fam, fidx, midx, depth, index


#: Share of the available memory that :func:`kinship_from_pedigree` may plan to use.
def _check_block_memory(famcode, fam, sparse):
    """Raise :class:`KinshipMemoryError` before the family blocks are computed when they (and
    the result) would not fit in memory: the kinship of one large connected pedigree is dense."""
    sizes = np.bincount(famcode)
    if not len(sizes):
        return
    n = int(sizes.sum())
    width, count = np.unique(sizes, return_counts=True)
    # the working array of the largest batch of equal-sized families
    batch = int(np.max(count * (width + 1.0) ** 2)) * 8
    # sparse: up to every coefficient nonzero, as (row, column, value) and again in the CSR
    need = 2 * batch + (40 * float(np.sum(sizes.astype(float) ** 2)) if sparse
                        else 8.0 * n * n)
    free = available_memory()
    if free is None or need <= MEMORY_FRACTION * free:
        return
    big = int(np.argmax(sizes))
    name = fam[np.argmax(famcode == big)]
    raise KinshipMemoryError(
        f"kinship_from_pedigree: the {'sparse' if sparse else 'dense'} kinship of these "
        f"{n} individuals needs about {need / 2**30:.3g} GiB of memory and "
        f"{free / 2**30:.3g} GiB are available; "
        f"{f'the largest family ({name!r})' if name else 'the pedigree (one family)'} has "
        f"{int(sizes[big])} individuals, and the kinship of a connected pedigree is dense. "
        "The sparse inverse of the relationship matrix (inverse_relationship_matrix) needs "
        "memory proportional to the number of individuals")


def _parent_matrix(fidx, midx):
    """Sparse ``P`` with ``P[i, p] = 1/2`` for each known parent ``p`` of ``i`` (1 for
    self-fertilisation); ``fidx``, ``midx`` give the parents' rows, -1 where unknown."""
    n = len(fidx)
    r = np.concatenate([np.flatnonzero(fidx >= 0), np.flatnonzero(midx >= 0)])
    c = np.concatenate([fidx[fidx >= 0], midx[midx >= 0]])
    return sp.csr_matrix((np.full(len(r), 0.5), (r, c)), shape=(n, n))


def _inbreeding(fidx, midx, depth, chunk_bytes=2**27):
    """Inbreeding coefficients ``F`` and Mendelian sampling variances ``d`` (``A = T D T'``).

    Colleau's (2002) indirect method, generation by generation: with ``T = (I - P)^{-1}``,
    the column ``A e_c = T D T' e_c`` of a parent ``c`` needs ``D`` only on ``c`` and its
    ancestors, so it is computed as soon as ``c``'s generation has its ``d``; the
    coefficients ``a_cm`` with all of ``c``'s mates ``m`` are read from it, and a child of
    ``c`` and ``m`` has ``F = a_cm / 2``. Columns are taken on the side (fathers or mothers)
    with fewer distinct parents of two-parent individuals, in batches of at most
    ``chunk_bytes``; each costs two triangular solves with ``P`` (sparse products, one per
    generation). Time grows as n times that number of parents, memory as n.
    """
    n = len(fidx)
    order = np.argsort(depth, kind="stable")  # parents before children
    pos = np.empty(n, dtype=np.int64)
    pos[order] = np.arange(n)
    s = np.where(fidx[order] >= 0, pos[np.maximum(fidx[order], 0)], -1)
    m = np.where(midx[order] >= 0, pos[np.maximum(midx[order], 0)], -1)
    dep = depth[order]
    n_gen = int(dep[-1]) + 1
    starts = np.searchsorted(dep, np.arange(n_gen + 1))
    P = _parent_matrix(s, m)
    down = [P[starts[g]:starts[g + 1]] for g in range(n_gen)]  # rows: children -> parents
    PT = P.T.tocsr()
    up = [PT[starts[g]:starts[g + 1]] for g in range(n_gen)]  # rows: parents -> children
    kids = np.flatnonzero((s >= 0) & (m >= 0))
    col, mate = s[kids], m[kids]
    if len(np.unique(col)) > len(np.unique(mate)):
        col, mate = mate, col
    a = np.zeros(len(kids))  # relationship of the two parents of each child in ``kids``
    kid_gen, col_gen = dep[kids], dep[col]
    F = np.zeros(n)
    d = np.ones(n)
    for g in range(n_gen):
        lo, hi = starts[g], starts[g + 1]
        now = kid_gen == g
        F[kids[now]] = 0.5 * a[now]
        for p in (s[lo:hi], m[lo:hi]):  # d = 1 - sum over known parents (1 + F) / 4
            known = p >= 0
            d[lo:hi][known] -= 0.25 * (1.0 + F[p[known]])
        sel = np.flatnonzero(col_gen == g)
        if not len(sel):
            continue
        cols, which = np.unique(col[sel], return_inverse=True)
        top = starts[max(g, int(dep[mate[sel]].max())) + 1]  # rows up to the deepest mate
        step = max(1, chunk_bytes // (8 * int(top)))
        for c0 in range(0, len(cols), step):
            batch = cols[c0:c0 + step]
            w = np.zeros((top, len(batch)))
            w[batch, np.arange(len(batch))] = 1.0
            for h in range(g - 1, -1, -1):  # T' e_c: back up to the ancestors
                w[starts[h]:starts[h + 1]] += up[h][:, :top] @ w
            w[:hi] *= d[:hi, None]
            for h in range(1, n_gen):  # T (D T' e_c): down to the descendants
                if starts[h] >= top:
                    break
                w[starts[h]:starts[h + 1]] += down[h][:, :starts[h]] @ w[:starts[h]]
            j = np.flatnonzero((which >= c0) & (which < c0 + step))
            a[sel[j]] = w[mate[sel[j]], which[j] - c0]
    out_f, out_d = np.empty(n), np.empty(n)
    out_f[order], out_d[order] = F, d
    return out_f, out_d


InverseRelationship = namedtuple("InverseRelationship", ["matrix", "labels", "inbreeding"])
InverseRelationship.__doc__ = """Sparse inverse of a pedigree's additive relationship matrix (from
:func:`inverse_relationship_matrix`).

Attributes
----------
matrix : scipy.sparse.csr_matrix, shape (n, n)
    :math:`A^{-1}`, symmetric; rows and columns in the pedigree table's row order.
labels : pandas.Index
    The ID of each row (and column), see :func:`individual_labels`.
inbreeding : pandas.Series
    Inbreeding coefficient :math:`F_i = A_{ii} - 1` of each individual, indexed by ``labels``.
"""


def inverse_relationship_matrix(ped, *, family="family", individual="individual",
                                father="father", mother="mother", sex="sex", labels="auto"):
    r"""Sparse inverse of the additive relationship matrix of a pedigree, and inbreeding.

    The additive (numerator) relationship matrix is :math:`A = 2 \Phi`, twice the kinship of
    :func:`kinship_from_pedigree`. Its inverse is sparse and is built directly from the
    pedigree, without forming :math:`A`: memory grows as the number of individuals, also for
    one large connected pedigree, whose :math:`A` is dense.

    Parameters
    ----------
    ped : pandas.DataFrame
        One row per individual, as for :func:`kinship_from_pedigree`: any row order, missing
        parents coded 0, ``"0"``, the empty string or NaN; one parent may be missing.
    family : str or None
        Column of family (pedigree) IDs; parents are looked up within the family. None treats
        the whole table as one pedigree.
    individual, father, mother : str
        Columns of individual, father and mother IDs (compared as strings).
    sex : str or None
        Column of sex, used only to check the sex of parents, as in
        :func:`kinship_from_pedigree`.
    labels : {"auto", "individual", "family_individual"}
        How rows are labelled, see :func:`individual_labels`.

    Returns
    -------
    InverseRelationship
        A named tuple ``(matrix, labels, inbreeding)``: :math:`A^{-1}` as a
        ``scipy.sparse.csr_matrix`` in the table's row order, the labels (pandas.Index) and
        the inbreeding coefficients (pandas.Series). ``matrix`` and ``labels`` are those of
        the :class:`SparseKinship` that ``kinship_from_pedigree(..., sparse=True)`` returns.

    Raises
    ------
    ValueError
        For an invalid pedigree, as :func:`kinship_from_pedigree`.

    Notes
    -----
    With :math:`P` holding :math:`P_{ip} = 1/2` for each known parent :math:`p` of
    :math:`i`, :math:`A = T D T'` with :math:`T = (I - P)^{-1}` and :math:`D` diagonal, so
    (Henderson 1976)

    .. math::

        A^{-1} = (I - P)' D^{-1} (I - P), \qquad
        d_i = 1 - \tfrac14 \sum_{p \text{ known parent of } i} (1 + F_p),

    which is :math:`\tfrac12 - \tfrac14 (F_s + F_m)` with both parents known (Quaas 1976),
    :math:`\tfrac34 - \tfrac14 F_p` with one and 1 for a founder. An unknown parent is a
    phantom founder, unrelated to everyone and not inbred (as in pedigreemm, nadiv and
    BLUPF90); unknown-parent groups are not modelled. :math:`A^{-1}` has at most ``7 n``
    nonzero entries.

    The inbreeding coefficients :math:`F_i = a_{sm} / 2` (:math:`s, m` the parents of
    :math:`i`) are exact, like those of Meuwissen & Luo (1992), but computed without a loop
    over individuals: generation by generation, the column :math:`A e_c = T D T' e_c` of a
    parent :math:`c` is obtained by two sparse triangular solves as soon as :math:`D` is known
    for :math:`c` and its ancestors (Colleau 2002), and gives :math:`a_{cm}` for all mates
    :math:`m` of :math:`c`. Time grows as the number of individuals times the number of
    distinct fathers (or mothers, whichever are fewer) of individuals with both parents known;
    memory as the number of individuals, plus a work array of at most 128 MiB.

    References
    ----------
    .. [1] Henderson, C. R. (1976). A simple method for computing the inverse of a numerator
       relationship matrix used in prediction of breeding values. *Biometrics* 32(1), 69-83.
    .. [2] Quaas, R. L. (1976). Computing the diagonal elements and inverse of a large
       numerator relationship matrix. *Biometrics* 32(4), 949-953.
    .. [3] Meuwissen, T. H. E. and Luo, Z. (1992). Computing inbreeding coefficients in large
       populations. *Genetics Selection Evolution* 24(4), 305-313.
    .. [4] Colleau, J.-J. (2002). An indirect approach to the extensive calculation of
       relationship coefficients. *Genetics Selection Evolution* 34(4), 409-421.

    Examples
    --------
    Two half sibs by the same sire (dams unknown) mated together: their offspring has
    inbreeding coefficient 1/8.

    >>> import pandas as pd
    >>> from statsmodels_kinship.kinship import inverse_relationship_matrix
    >>> ped = pd.DataFrame({"individual": ["sire", "h1", "h2", "x"],
    ...                     "father": [0, "sire", "sire", "h1"],
    ...                     "mother": [0, 0, 0, "h2"]})
    >>> res = inverse_relationship_matrix(ped, family=None)
    >>> res.inbreeding.tolist()
    [0.0, 0.0, 0.0, 0.125]
    >>> pd.DataFrame(res.matrix.toarray(), index=res.labels, columns=res.labels).round(4)
            sire      h1      h2    x
    sire  1.6667 -0.6667 -0.6667  0.0
    h1   -0.6667  1.8333  0.5000 -1.0
    h2   -0.6667  0.5000  1.8333 -1.0
    x     0.0000 -1.0000 -1.0000  2.0
    """
    fam, fidx, midx, depth, index = _read_pedigree(ped, family, individual, father, mother,
                                                   sex, labels, "compute a relationship for")
    F, d = _inbreeding(fidx, midx, depth)
    n = len(fidx)
    m = sp.identity(n, format="csr") - _parent_matrix(fidx, midx)
    ainv = (m.T @ sp.diags(1.0 / d) @ m).tocsr()
    ainv = ((ainv + ainv.T) * 0.5).tocsr()  # exactly symmetric
    ainv.sort_indices()
    return InverseRelationship(ainv, index, pd.Series(F, index=index, name="inbreeding"))


def _missing_codes(missing_code):
    """The ``missing_code`` option as a float array of codes (empty for None); raises on
    codes that are not numbers or that a genotype could take (in [0, 2])."""
    if missing_code is None:
        return np.zeros(0)
    codes = np.atleast_1d(np.asarray(missing_code, dtype=object)).ravel()
    if not all(isinstance(c, (int, float, np.integer, np.floating))
               and not isinstance(c, (bool, np.bool_)) for c in codes):
        raise TypeError(f"missing_code must be a number or a list of numbers (such as "
                        f"PLINK's -9), got {missing_code!r}")
    codes = codes.astype(float)
    clash = codes[(codes >= 0) & (codes <= 2)]
    if len(clash) or np.isnan(codes).any():
        raise ValueError(f"missing_code must lie outside [0, 2], where genotypes do (and not "
                         f"be NaN), got {_show(clash.tolist() or codes.tolist())}")
    return codes


def _genotype_values(x, snps, codes=(), individuals=None, what="genotypes"):
    """Check genotypes: counts or dosages in [0, 2], NaN where missing.

    ``x`` is a float array (individuals x SNPs); the values in ``codes`` (from
    :func:`_missing_codes`) become NaN, in a copy. Raises ValueError naming the SNPs (``snps``
    names the columns) holding other values (negative, above 2 or infinite), how many, and,
    with ``individuals`` (names of the rows), the first offending cell. Returns the array.
    """
    x = np.asarray(x, dtype=float)
    if len(codes):
        coded = np.isin(x, codes)
        if coded.any():
            x = np.where(coded, np.nan, x)
    bad = ~np.isnan(x) & ~((x >= 0) & (x <= 2))
    if not bad.any():
        return x
    per_snp = bad.sum(axis=0)
    cols = np.flatnonzero(per_snp)
    n_bad = int(bad.sum())
    shown = []
    for j in cols[:5]:
        v = np.unique(x[bad[:, j], j])
        shown.append(f"SNP {snps[j]!r} ({per_snp[j]} value{'s' if per_snp[j] > 1 else ''}: "
                     f"{', '.join(f'{u:g}' for u in v[:3])}{', ...' if len(v) > 3 else ''})")
    msg = (f"{what} must be allele counts or dosages in [0, 2], NaN where missing: "
           f"{n_bad} value{'s' if n_bad > 1 else ''} in {len(cols)} "
           f"SNP{'s' if len(cols) > 1 else ''} {'are' if n_bad > 1 else 'is'} not: "
           f"{', '.join(shown)}"
           f"{f' and {len(cols) - len(shown)} more' if len(cols) > len(shown) else ''}")
    if individuals is not None:
        r, c = np.argwhere(bad)[0]
        msg += (f"; the first {x[r, c]:g} at individual {individuals[r]!r}, SNP "
                f"{snps[c]!r}")
    one = np.unique(x[bad])
    if len(one) == 1 and np.isfinite(one[0]):
        msg += f". If {one[0]:g} codes a missing genotype, pass missing_code={one[0]:g}"
    raise ValueError(msg)


def _grm_sums(x):
    """The parts of the standardized GRM of genotypes ``x`` (individuals x SNPs, NaN where
    missing): the numerator ``Z Z'``, the number of SNPs observed in both individuals of each
    pair (a number when no genotype is missing) and the mask of the SNPs used: those whose
    observed genotypes are not all equal (which excludes SNPs never observed, monomorphic, or
    with every genotype 1). Sums over blocks of SNPs add up to those of all SNPs."""
    obs = ~np.isnan(x)
    n_obs = obs.sum(axis=0)
    lo = np.min(np.where(obs, x, np.inf), axis=0, initial=np.inf)
    hi = np.max(np.where(obs, x, -np.inf), axis=0, initial=-np.inf)
    keep = hi > lo  # then 0 < p < 1, as counts lie in [0, 2]
    total = np.where(obs, x, 0.0).sum(axis=0)
    p = total[keep] / (2 * n_obs[keep])
    obs = obs[:, keep]
    z = (x[:, keep] - 2 * p) / np.sqrt(2 * p * (1 - p))
    if obs.all():
        shared = float(keep.sum())
    else:
        z[~obs] = 0.0
        shared = obs.astype(float) @ obs.T.astype(float)
    return z @ z.T, shared, keep


def genomic_relationship_matrix(genotypes, *, missing="pairwise", missing_code=None):
    r"""Standardized genomic relationship matrix (GRM) from SNP allele counts.

    Parameters
    ----------
    genotypes : array_like or pandas.DataFrame, shape (n, m)
        Allele counts, individuals in rows and SNPs in columns: 0, 1, 2 (or dosages in
        [0, 2]); NaN for a missing genotype. A DataFrame's index labels the result.
    missing : {"pairwise", "mean"}
        How missing genotypes are handled. ``"pairwise"`` (default, as GCTA): each entry
        :math:`A_{jk}` averages over the SNPs observed in both :math:`j` and :math:`k`.
        ``"mean"``: missing genotypes are imputed with the SNP's mean :math:`2 p_i`, i.e. they
        contribute 0 and every entry is divided by the number of SNPs used.
    missing_code : float or list of float, optional
        Values that code a missing genotype, such as PLINK's -9; they are read as NaN. Any
        other value outside [0, 2] is an error. Codes must lie outside [0, 2].

    Returns
    -------
    ndarray or pandas.DataFrame, shape (n, n)
        The GRM; a DataFrame with index = columns = ``genotypes.index`` when the input is a
        DataFrame.

    Warns
    -----
    statsmodels_kinship.exceptions.GenotypeWarning
        When SNPs are skipped because their observed genotypes do not vary (monomorphic,
        :math:`p_i` 0 or 1, or every individual heterozygous: a column of ones standardizes
        to zeros and would only dilute the GRM) or none is observed; the message gives their
        number and names (or column positions).

    Raises
    ------
    ValueError
        For values outside [0, 2] (PLINK's -9, unless given as ``missing_code``) or
        infinite, naming the SNPs, the number of such values and the first one; when no SNP
        varies; or (``"pairwise"``) for a pair of individuals with no SNP observed in both.

    Notes
    -----
    With :math:`x_{ij}` the count of the counted allele of SNP :math:`i` in individual
    :math:`j` and :math:`p_i` its frequency among the observed genotypes,

    .. math::

        A_{jk} = \frac{1}{m} \sum_{i=1}^{m}
                 \frac{(x_{ij} - 2 p_i)(x_{ik} - 2 p_i)}{2 p_i (1 - p_i)},

    the off-diagonal estimator of Yang et al. (2011) and method 2 of VanRaden (2008). The same
    formula is used on the diagonal (``--make-grm`` of GCTA uses a different diagonal
    estimator, :math:`1 + F`). Under Hardy-Weinberg equilibrium :math:`A` estimates twice the
    kinship coefficient, so ``A / 2`` is on the scale of :func:`kinship_from_pedigree`. The
    result does not depend on which allele is counted. It is the matrix PLINK 1.9 writes
    with ``--make-grm-bin --nonfounders`` (GCTA's binary format, read by
    :func:`~statsmodels_kinship.io.read_gcta_grm`; ``missing="pairwise"``), to float32
    precision; without ``--nonfounders`` PLINK takes :math:`p_i` from the founders only.
    SNPs whose genotypes do not vary are skipped; PLINK 1.9 counts them in :math:`m`, which
    shrinks its matrix by the share of such SNPs.

    References
    ----------
    .. [1] Yang, J., Lee, S. H., Goddard, M. E. and Visscher, P. M. (2011). GCTA: a tool for
       genome-wide complex trait analysis. *American Journal of Human Genetics* 88(1), 76-82.
    .. [2] VanRaden, P. M. (2008). Efficient methods to compute genomic predictions.
       *Journal of Dairy Science* 91(11), 4414-4423.

    Examples
    --------
    >>> import numpy as np
    >>> from statsmodels_kinship.kinship import genomic_relationship_matrix
    >>> x = np.array([[0, 1, 2, 1], [1, 1, 0, 2], [2, 0, 1, 2], [0, 2, 1, 1]])
    >>> genomic_relationship_matrix(x).round(3)
    array([[ 0.967, -0.767, -0.667,  0.467],
           [-0.767,  0.7  ,  0.333, -0.267],
           [-0.667,  0.333,  1.5  , -1.167],
           [ 0.467, -0.267, -1.167,  0.967]])

    A labelled input gives a labelled result; a missing genotype drops that SNP from the
    entries of its individual only:

    >>> import pandas as pd
    >>> g = pd.DataFrame(x, index=list("abcd"), columns=["s1", "s2", "s3", "s4"], dtype=float)
    >>> g.loc["a", "s2"] = np.nan
    >>> genomic_relationship_matrix(g).round(3)
           a      b      c      d
    a  1.289 -1.022 -0.889  0.622
    b -1.022  0.700  0.333 -0.267
    c -0.889  0.333  1.500 -1.167
    d  0.622 -0.267 -1.167  0.967
    """
    if missing not in ("pairwise", "mean"):
        raise ValueError(f"missing must be 'pairwise' or 'mean', got {missing!r}")
    labelled = isinstance(genotypes, pd.DataFrame)
    x = genotypes.to_numpy(dtype=float) if labelled else np.asarray(genotypes, dtype=float)
    if x.ndim != 2:
        raise ValueError(f"genotypes must be 2-D (individuals x SNPs), got shape {x.shape}")
    snp_names = (list(genotypes.columns) if labelled else list(range(x.shape[1])))
    x = _genotype_values(x, snp_names, _missing_codes(missing_code),
                         individuals=genotypes.index if labelled else range(x.shape[0]))
    grm, shared, keep = _grm_sums(x)
    if not keep.all():
        skipped = [snp_names[j] for j in np.flatnonzero(~keep)]
        warn_at_user(f"{len(skipped)} of {x.shape[1]} SNPs skipped as without variation "
                      "(the same genotype in every individual where observed: monomorphic, "
                      f"or all heterozygous) or never observed: {_show(skipped)}",
                      GenotypeWarning)
    if not keep.any():
        raise ValueError(f"no polymorphic SNP among the {x.shape[1]} given varies between "
                         "individuals: the GRM is undefined")
    if missing == "pairwise":
        if np.any(shared == 0):
            r, c = np.argwhere(shared == 0)[0]
            rows = genotypes.index if labelled else range(x.shape[0])
            raise ValueError(f"{int((shared == 0).sum())} pairs of individuals have no SNP "
                             f"observed in both, e.g. ({rows[r]!r}, {rows[c]!r})")
        grm /= shared
    else:
        grm /= keep.sum()
    if labelled:
        return pd.DataFrame(grm, index=genotypes.index, columns=genotypes.index)
    return grm
