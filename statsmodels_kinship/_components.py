"""The variance components of a model, from the user's arguments.

Private module. :func:`build_components` turns ``kinship`` (one matrix or a dict of them),
``exog_vc`` (grouping factors: labels or designs) and ``individual`` (the individual of each
record) into the :class:`~statsmodels_kinship._engine.Component` list of the engine, aligning
labelled matrices by ID and checking everything a user can get wrong, with messages that name
the component and the offending values. :func:`engine_class` chooses the engine: the sparse
mixed-model equations when a relationship is given by its inverse
(:class:`~statsmodels_kinship.kinship.InverseRelationship`), the eigendecomposition of K with
Woodbury's identity for one large relationship block plus grouping factors, else dense blocks.
"""
import numpy as np
import pandas as pd
from scipy import linalg, sparse

from ._engine import (
    BlockLikelihood,
    Component,
    InverseComponent,
    SparseMMELikelihood,
    SpectralWoodburyLikelihood,
)
from ._spectral import KinshipDecomposition
from ._validation import _show, check_kinship, id_hint, is_labelled, match_kinship
from .kinship import InverseRelationship

__all__ = ["kinship_dict", "needs_engine", "build_components", "engine_class", "vc_design",
           "RESERVED_NAMES"]

#: Names a component cannot take (they name other rows of the results).
RESERVED_NAMES = ("residual", "total")


def kinship_dict(kinship):
    """``{name: matrix}``: a dict as given, one matrix as ``{"kinship": K}``, None as ``{}``."""
    if kinship is None:
        return {}
    if isinstance(kinship, dict):
        out = {}
        for name, k in kinship.items():
            if not isinstance(name, str) or not name:
                raise TypeError(f"kinship dict keys must be non-empty strings (component "
                                f"names), got {name!r}")
            out[name] = k
        return out
    if (isinstance(kinship, (list, tuple)) and not is_labelled(kinship) and len(kinship)
            and all(isinstance(k, pd.DataFrame) or sparse.issparse(k) or is_labelled(k)
                    or np.ndim(k) == 2 for k in kinship)):
        raise TypeError("several kinship matrices must be given as a dict naming each "
                        "component, e.g. kinship={'additive': A, 'dominance': D}")
    return {"kinship": kinship}


def _check_names(relmats, exog_vc):
    names = list(relmats) + list(exog_vc)
    bad = [n for n in names if n in RESERVED_NAMES]
    if bad:
        raise ValueError(f"component names {_show(bad)} are reserved; rename them")
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"component names must be unique: {_show(dup)} is both a kinship and "
                         "an exog_vc/vc_formula component")


def needs_engine(relmats, exog_vc, individual):
    """True when the model is not one relationship matrix with one record per individual
    (or when a relationship is given by its inverse)."""
    if len(relmats) != 1 or exog_vc:
        return True
    if any(isinstance(k, InverseRelationship) for k in relmats.values()):
        return True
    return individual is not None and pd.Index(individual).has_duplicates


def _individuals(individual, labels, n):
    """Labels of the individuals (first appearance order) and each record's code."""
    ids = individual if individual is not None else labels
    if ids is None:
        return None, np.arange(n)
    ids = pd.Index(ids)
    if len(ids) != n:
        raise ValueError(f"individual has {len(ids)} values but the data have {n} rows")
    if ids.hasnans:
        raise ValueError(f"individual has {int(ids.isna().sum())} missing values")
    codes, uniq = pd.factorize(ids)
    return pd.Index(uniq), codes


def _check_psd(name, matrix):
    """Raise when a relationship matrix is not positive semidefinite: a Cholesky factor of
    each independent block plus the tolerance of the decomposition must exist (blocks of one
    size in one batched call)."""
    n = matrix.shape[0]
    comp = Component(name, "relationship", codes=np.arange(n), matrix=matrix)
    for idx, blocks in comp.level_blocks():
        size = idx.shape[1]
        scale = np.abs(np.diagonal(blocks, axis1=1, axis2=2)).max(axis=1)
        tol = KinshipDecomposition.psd_tolerance(np.finfo(float).eps, size) * np.where(
            scale > 0, scale, 1.0)
        shifted = blocks + tol[:, None, None] * np.eye(size)
        try:
            if len(idx) > 1:
                np.linalg.cholesky(shifted)
            else:
                linalg.cholesky(shifted[0], lower=True, check_finite=False)
            continue
        except (np.linalg.LinAlgError, linalg.LinAlgError):
            pass
        lam = np.linalg.eigvalsh(blocks)[:, 0]
        bad = int(np.argmin(lam / np.where(scale > 0, scale, 1.0)))
        raise ValueError(
            f"kinship {name!r} is not positive semidefinite: smallest eigenvalue "
            f"{lam[bad]:.3g} (in a block of {size} individuals), below -{tol[bad]:.2g}")


#: A ``vc_formula`` is evaluated in chunks of rows of at most this many design entries.
_VC_CHUNK_ENTRIES = 2 ** 22


def vc_design(name, formula, data):
    """The design of a grouping component from its formula (statsmodels MixedLM's
    ``vc_formula``) evaluated on ``data``.

    An indicator design (each row in one level: ``"0 + C(household)"``) comes back as its
    levels, a categorical Series of the design's column names (``C(household)[h1]``) whose
    categories are the columns in patsy's order, so that the dense rows x levels matrix is
    never formed (100,000 people in 27,000 households); any other design as a DataFrame.
    The rows are evaluated in chunks with the levels of the whole data (patsy's
    ``incr_dbuilder``)."""
    import patsy

    if not isinstance(formula, str):
        raise TypeError(f"vc_formula[{name!r}] must be a formula string such as "
                        f"'0 + C(household)', got {formula!r}")
    try:
        levels = _one_factor_levels(formula, data)
        if levels is not None:  # one categorical factor, one column per level
            codes, columns = levels
            return pd.Series(pd.Categorical.from_codes(codes, categories=columns),
                             index=data.index, name=name)
        info = patsy.incr_dbuilder(formula, lambda: iter([data]), NA_action="raise")
        columns = info.column_names
        step = max(1, _VC_CHUNK_ENTRIES // max(len(columns), 1))
        chunks = [np.asarray(patsy.build_design_matrices([info], data.iloc[i:i + step],
                                                         NA_action="raise")[0])
                  for i in range(0, len(data), step)]
    except patsy.PatsyError as err:
        raise ValueError(f"vc_formula[{name!r}] = {formula!r} cannot be evaluated on the data "
                         f"(a column missing, or missing values in it?): {err}") from None
    if all(np.all((c == 0) | (c == 1)) and np.all(c.sum(axis=1) == 1) for c in chunks):
        codes = np.concatenate([c.argmax(axis=1) for c in chunks]) if chunks else []
        return pd.Series(pd.Categorical.from_codes(codes, categories=columns),
                         index=data.index, name=name)
    values = np.vstack(chunks) if chunks else np.zeros((0, len(columns)))
    return pd.DataFrame(values, index=data.index, columns=columns)


def _one_factor_levels(formula, data):
    """For a formula of one categorical factor without intercept and with patsy's default
    coding (``"0 + C(household)"``: one indicator column per level): each row's level and
    the column names, as patsy evaluates, sniffs and names them (``C(household)[h1]``), but
    without patsy's design builder, which forms a levels x levels contrast matrix and fills
    the dense rows x levels design (gigabytes for 27,000 households). None for any other
    formula (or a patsy without these internals): the caller builds the design with patsy."""
    import patsy
    try:
        from patsy.build import _examine_factor_types, _factors_memorize
        from patsy.categorical import categorical_to_int
        from patsy.contrasts import _name_levels
        from patsy.missing import NAAction
    except ImportError:  # pragma: no cover - patsy's internals moved
        return None
    desc = patsy.ModelDesc.from_formula(formula)
    terms = desc.rhs_termlist
    if desc.lhs_termlist or len(terms) != 1 or len(terms[0].factors) != 1:
        return None
    factor, = terms[0].factors

    def data_iter():
        return iter([data])
    env = patsy.EvalEnvironment.capture(0)
    states = _factors_memorize({factor}, data_iter, env)
    na_action = NAAction("raise")
    _, cat = _examine_factor_types({factor}, states, data_iter, na_action)
    if factor not in cat or cat[factor][1] is not None:  # numeric, or a contrast given
        return None
    levels = cat[factor][0]
    codes = np.asarray(categorical_to_int(factor.eval(states[factor], data), levels,
                                          na_action))
    if np.any(codes < 0):
        raise patsy.PatsyError(f"factor {factor.name()} has {int((codes < 0).sum())} missing "
                               "values")
    columns = [factor.name() + suffix for suffix in _name_levels("", levels)]
    return codes, columns


def _group(name, values, n):
    """A grouping component from labels (1-D) or a design (2-D)."""
    if isinstance(getattr(values, "dtype", None), pd.CategoricalDtype):
        # levels of an indicator design (vc_design): in the design's column order
        cat = pd.Categorical(values)
        if len(cat) != n:
            raise ValueError(f"exog_vc[{name!r}] has {len(cat)} values but the data have "
                             f"{n} rows")
        if np.any(cat.codes < 0):
            raise ValueError(f"exog_vc[{name!r}] has {int((cat.codes < 0).sum())} missing "
                             "values: drop those rows or give them a level")
        used = np.unique(cat.codes)
        remap = np.full(len(cat.categories), -1)
        remap[used] = np.arange(len(used))
        return Component(name, "group", codes=remap[cat.codes],
                         levels=np.asarray(cat.categories)[used])
    if isinstance(values, (pd.Series, pd.Index)) or np.ndim(values) == 1:
        labels = pd.Index(values)
        if len(labels) != n:
            raise ValueError(f"exog_vc[{name!r}] has {len(labels)} values but the data have "
                             f"{n} rows")
        if labels.hasnans:
            raise ValueError(f"exog_vc[{name!r}] has {int(labels.isna().sum())} missing "
                             "values: drop those rows or give them a level")
        codes, levels = pd.factorize(labels)
        return Component(name, "group", codes=codes, levels=np.asarray(levels))
    design = values
    levels = None
    if isinstance(design, pd.DataFrame):
        levels = np.asarray(design.columns)
        design = design.to_numpy(dtype=float)
    if sparse.issparse(design):
        design = sparse.csr_matrix(design, dtype=float)
    else:
        design = np.asarray(design, dtype=float)
    if design.ndim != 2 or design.shape[0] != n:
        raise ValueError(f"exog_vc[{name!r}] must be labels (one per row) or a design with "
                         f"{n} rows, got shape {design.shape}")
    dense = design.toarray() if sparse.issparse(design) else design
    if not np.all(np.isfinite(dense)):
        raise ValueError(f"exog_vc[{name!r}] contains NaN or infinite values")
    # an indicator design (one 1 per row) is a factor: kept as codes
    if np.all((dense == 0) | (dense == 1)) and np.all(dense.sum(axis=1) == 1):
        codes = dense.argmax(axis=1)
        used = np.unique(codes)
        levels = np.arange(dense.shape[1]) if levels is None else levels
        remap = np.full(dense.shape[1], -1)
        remap[used] = np.arange(len(used))
        return Component(name, "group", codes=remap[codes], levels=np.asarray(levels)[used])
    return Component(name, "group", design=design, levels=levels)


def build_components(relmats, exog_vc, individual, labels, n):
    """The engine's components for ``n`` records.

    Parameters
    ----------
    relmats : dict
        ``{name: kinship}`` (:func:`kinship_dict`): matrices over individuals, labelled
        (matched by ID to the individuals) or arrays (by position over the individuals in
        the order of their first record).
    exog_vc : dict
        ``{name: labels or design}``, one row per record.
    individual : array_like or None
        The individual of each record; None: the row labels (``labels``), else one
        individual per record.
    labels : pandas.Index or None
        The row labels of the data (None for numpy data).
    n : int

    Returns
    -------
    components : list of Component
    individuals : pandas.Index or None
        The individuals (labels), in order of first appearance.
    """
    _check_names(relmats, exog_vc)
    ids, codes = _individuals(individual, labels, n)
    n_ind = int(codes.max()) + 1 if n else 0
    comps = []
    _check_inverses(relmats)
    for name, k in relmats.items():
        if isinstance(k, InverseRelationship):
            comps.append(_inverse_component(name, k, ids, codes))
            continue
        matrix = match_kinship(k, ids, n_ind)
        shape = np.shape(matrix)
        if len(shape) != 2 or shape[0] != n_ind:
            raise ValueError(
                f"kinship {name!r} has shape {shape} but the data have {n_ind} individuals"
                + (f" ({n} records)" if n_ind != n else "")
                + ": pass it labelled by individual ID (a DataFrame or SparseKinship)")
        try:
            matrix = check_kinship(matrix, n_ind)
        except ValueError as err:
            raise ValueError(f"kinship {name!r}: {err}") from None
        levels = np.asarray(ids) if ids is not None else np.arange(n_ind)
        comps.append(Component(name, "relationship", codes=codes, matrix=matrix,
                               levels=levels))
    for name, values in exog_vc.items():
        if not isinstance(name, str) or not name:
            raise TypeError(f"exog_vc keys must be non-empty strings (component names), got "
                            f"{name!r}")
        comps.append(_group(name, values, n))
    _check_separable(comps, n)
    return comps, ids


def _check_inverses(relmats):
    """Refuse a mix of relationships given by their inverse and given as matrices: the sparse
    mixed-model equations need every ``K^-1``, the dense blocks every ``K``."""
    inverse = [name for name, k in relmats.items() if isinstance(k, InverseRelationship)]
    direct = [name for name in relmats if name not in inverse]
    if inverse and direct:
        raise ValueError(
            f"kinship {_show(inverse)} is given by its inverse (InverseRelationship) and "
            f"{_show(direct)} as a matrix: give every relationship component the same way "
            "(the sparse mixed-model equations need each inverse, e.g. "
            "inverse_relationship_matrix(pedigree))")


def _inverse_component(name, inverse, ids, codes):
    """The component of a relationship given by its inverse over all individuals of a
    pedigree (:class:`~statsmodels_kinship.kinship.InverseRelationship`); records map to
    individuals by label, and individuals without records (ancestors) are kept."""
    labels = pd.Index(inverse.labels)
    try:
        matrix = check_kinship(inverse.matrix, len(labels))
    except ValueError as err:
        raise ValueError(f"kinship {name!r} (an inverse relationship matrix): {err}") from None
    if labels.has_duplicates:
        raise ValueError(f"kinship {name!r} has duplicated IDs: "
                         f"{_show(labels[labels.duplicated()].unique())}")
    if ids is None:
        raise ValueError(
            f"kinship {name!r} is an inverse relationship matrix over labelled individuals, "
            "but the data have no IDs to match them (numpy arrays): pass individual= (the "
            "individual of each record) or data indexed by the IDs")
    pos = labels.get_indexer(ids)
    if np.any(pos < 0):
        missing = ids[pos < 0]
        raise ValueError(f"{len(missing)} individuals of the data are not in the pedigree of "
                         f"kinship {name!r}: {_show(missing)}"
                         + id_hint(ids, labels, names=("the data", "the pedigree")))
    inbreeding = inverse.inbreeding
    if isinstance(inbreeding, pd.Series):
        inbreeding = inbreeding.reindex(labels)
    diagonal = 1.0 + np.asarray(inbreeding, dtype=float)
    if diagonal.shape != (len(labels),) or not np.all(np.isfinite(diagonal)):
        raise ValueError(f"kinship {name!r}: the inbreeding coefficients must be one finite "
                         f"value per individual ({len(labels)})")
    return InverseComponent(name, codes=pos[codes], inverse=matrix, levels=np.asarray(labels),
                            diagonal=diagonal)


#: Largest independent block (records) above which one relationship matrix plus grouping
#: factors is fitted by eigendecomposition and Woodbury's identity
#: (:class:`~statsmodels_kinship._engine.SpectralWoodburyLikelihood`) rather than dense blocks.
SPECTRAL_BLOCK_MIN = 1000


def check_relationships(components):
    """Raise when a relationship matrix is not positive semidefinite (naming it); for the
    engines that do not decompose K themselves (the spectral one does, with the same check)."""
    for comp in components:
        if comp.kind == "relationship" and not isinstance(comp, InverseComponent):
            _check_psd(comp.name, comp.matrix)


def engine_class(components, structure):
    """The likelihood engine for ``components``: the sparse mixed-model equations
    (:class:`~statsmodels_kinship._engine.SparseMMELikelihood`) when a relationship is given
    by its inverse; the eigendecomposition of K with Woodbury's identity
    (:class:`~statsmodels_kinship._engine.SpectralWoodburyLikelihood`) for one relationship
    matrix with one record per individual plus grouping factors of at most ``n / 2`` levels
    in all, when the dense blocks would have more than :data:`SPECTRAL_BLOCK_MIN` records;
    else the dense blocks (:class:`~statsmodels_kinship._engine.BlockLikelihood`)."""
    if any(isinstance(c, InverseComponent) for c in components):
        return SparseMMELikelihood
    if _spectral_woodbury_fits(components, structure):
        return SpectralWoodburyLikelihood
    return BlockLikelihood


def _spectral_woodbury_fits(components, structure):
    """True when :class:`~statsmodels_kinship._engine.SpectralWoodburyLikelihood` applies
    and pays: see :func:`engine_class`."""
    rel = [c for c in components if c.kind == "relationship"]
    if len(rel) != 1 or len(components) < 2 or any(
            c.kind != "group" for c in components if c is not rel[0]):
        return False
    n = len(rel[0].codes)
    if len(np.unique(rel[0].codes)) != n:
        return False
    q = sum(c.n_levels if c.design is None else c.design.shape[1]
            for c in components if c is not rel[0])
    if q > n / 2:
        return False
    return int(structure.block_sizes.max()) > SPECTRAL_BLOCK_MIN


def _check_separable(comps, n):
    """Refuse components that the data cannot separate from the residual or from each other
    whatever the response: a grouping factor with one record per level (``W = I``), or two
    components with the same ``W``."""
    for comp in comps:
        if comp.kind == "relationship" and _is_scaled_identity(comp):
            raise ValueError(
                f"kinship {comp.name!r} is a multiple of the identity over the records (no "
                "two records share its effects): it cannot be separated from the residual; "
                "drop it")
        if comp.kind == "group" and comp.design is None:
            counts = np.bincount(comp.codes, minlength=comp.n_levels)
            if np.all(counts == 1):
                raise ValueError(
                    f"component {comp.name!r} has one record per level ({comp.n_levels} "
                    "levels): its effects cannot be separated from the residual; drop it")
    groups = [c for c in comps if c.kind == "group" and c.design is None]
    for i, a in enumerate(groups):
        for b in groups[i + 1:]:
            if len(np.unique(a.codes * (b.n_levels + 1) + b.codes)) == max(a.n_levels,
                                                                           b.n_levels) and (
                    a.n_levels == b.n_levels):
                raise ValueError(f"components {a.name!r} and {b.name!r} group the records "
                                 "identically: they cannot be separated; drop one")


def _is_scaled_identity(comp):
    """True when ``Z K Z'`` is ``c I``: K diagonal with a constant diagonal over the
    individuals with records, each with one record."""
    if len(np.unique(comp.codes)) != len(comp.codes):
        return False
    if isinstance(comp, InverseComponent):  # K is not formed (a pedigree's A is rarely I)
        return False
    k = comp.matrix
    diag = np.asarray(k.diagonal(), dtype=float)[comp.codes]
    if not np.allclose(diag, diag[0], rtol=1e-12, atol=0):
        return False
    if sparse.issparse(k):
        sub = sparse.csr_matrix(k)[comp.codes][:, comp.codes]
        return sub.count_nonzero() == np.count_nonzero(sub.diagonal())
    sub = np.asarray(k)[np.ix_(comp.codes, comp.codes)]
    return np.count_nonzero(sub) == np.count_nonzero(np.diag(sub))
