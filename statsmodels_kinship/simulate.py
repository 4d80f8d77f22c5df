r"""Simulation of family studies: SNP genotypes dropped through pedigrees and a trait.

One job: make data sets with a known truth for the kinship mixed model, in the manner of
SeqSIMLA (the simulator behind the project's seed data). The steps are

1. founder haplotypes with linkage disequilibrium (LD) in blocks of SNPs, optionally drawn
   from a few ancestral haplotypes per block (perfect LD, as in coalescent data),
2. gene dropping through the pedigrees with recombination (Haldane's map function),
3. a trait ``y = mean + g + s + e``: additive effects of causal SNPs ``g``, a shared
   environmental effect ``s`` correlated within families, and an individual environmental
   effect ``e``.

:func:`simulate_family_study` does all three; :func:`seed_study_parameters` holds the
parameters of the seed's simulation (a preset); :func:`seed_pedigree` and
:func:`replicate_pedigree` build pedigrees; :func:`shared_env_correlation` shows the
within-family correlation matrices of the shared environment. With ``polygenic=`` and
``household=`` the trait also gets a pedigree-based polygenic effect and a household effect.
:func:`simulate_dairy_herd` makes an animal-breeding data set instead: a multi-generation
pedigree (some animals with one known parent), repeated lactation records of cows and a
crossed herd factor, with additive, permanent-environment and herd effects.
"""
import pathlib
from collections import namedtuple
from dataclasses import dataclass, field
from itertools import combinations
from numbers import Integral, Real

import numpy as np
import pandas as pd
from scipy import integrate, stats

from ._validation import as_rng
from .kinship import _inbreeding

__all__ = ["FamilyStudy", "simulate_family_study", "seed_study_parameters", "seed_pedigree",
           "replicate_pedigree", "shared_env_correlation", "household_labels", "read_study_csv",
           "StudyTables", "simulate_dairy_herd"]

#: The files of a study written by :meth:`FamilyStudy.to_csv` (the layout of ``data/``).
STUDY_FILES = ("pedigree.csv", "genotypes.csv", "phenotype.csv", "snp_map.csv")

StudyTables = namedtuple("StudyTables", ["pedigree", "genotypes", "phenotype", "snp_map"])
StudyTables.__doc__ = """What :func:`read_study_csv` returns; unpacks as ``ped, geno, phe, snps``.

Attributes
----------
pedigree : pandas.DataFrame
    Columns family, individual, father, mother, sex, all strings (founders' parents "0"):
    ready for :func:`~statsmodels_kinship.kinship.kinship_from_pedigree`; and household
    when the file has it (studies simulated with ``household=``).
genotypes : pandas.DataFrame
    Counts (0, 1, 2) of the counted allele, individuals x SNPs, indexed by individual.
phenotype : pandas.DataFrame
    Columns family (string) and trait (float), indexed by individual; and household
    (string) when ``pedigree.csv`` or ``phenotype.csv`` has it (copied from the pedigree, so
    that the table is ready for a household variance component).
snp_map : pandas.DataFrame
    One row per SNP: name, chromosome, cM, bp, block, maf (and founder_freq).
"""

_PEDIGREE_COLUMNS = ["family", "individual", "father", "mother", "sex"]
_RELATIONSHIPS = ("spouse", "sibling", "parent_offspring")  # order of assignment
_MISSING_PARENT = {"0", "", "nan", "NaN", "None", "NA", "<NA>"}
_PSD_TOL = 1e-10
_POOL_BATCH = 256         # candidate ancestral pools drawn at a time, per block
_MAX_POOL_DRAWS = 100_000  # then give up
_INBREEDING_CHUNK_ROWS = 1000  # whole families per run of Colleau's method


def _show(labels, limit=5):
    labels = [x.item() if isinstance(x, np.generic) else x for x in labels]
    shown = ", ".join(repr(x) for x in labels[:limit])
    return shown + (f", ... ({len(labels)} in all)" if len(labels) > limit else "")


@dataclass(frozen=True)
class FamilyStudy:
    """A simulated family study, as returned by :func:`simulate_family_study`.

    All tables are indexed (or keyed) by the individual IDs of ``pedigree``, in its row order.

    Attributes
    ----------
    pedigree : pandas.DataFrame
        Columns ``family, individual, father, mother, sex`` (strings, except ``sex``: 1 male,
        2 female). Founders have father and mother ``"0"``. With ``household=`` (see
        :func:`simulate_family_study`) also ``household``, the label of each individual's
        household (:func:`household_labels`).
    genotypes : pandas.DataFrame
        Individuals x SNPs, counts (0, 1, 2) of the minor allele (the allele whose population
        frequency ``maf`` is at most 0.5; with ancestral haplotypes it can be the major allele
        of the study, see ``founder_freq``), dtype int64; columns ``SNP1, SNP2, ...``.
    phenotype : pandas.Series
        The trait, named ``"trait"``.
    snp_map : pandas.DataFrame
        One row per SNP: ``name, chromosome, cM, bp, block`` (LD block, numbered from 1) and
        ``maf`` (population frequency of the counted allele). With ``n_ancestral_haplotypes``
        also ``founder_freq``: the frequency of the counted allele among the ancestral
        haplotypes, moved towards 1/2 by ``ancestral_mutation_prob`` (the expected frequency
        in founders, which the trait is standardised with).
    causal : pandas.DataFrame
        Indexed by causal SNP name: ``fraction`` (of ``total_variance``), ``maf``,
        ``founder_freq`` (with ``n_ancestral_haplotypes`` only) and ``effect`` (trait change
        per copy of the counted allele).
    components : pandas.DataFrame
        Per individual: ``genetic`` (the causal SNPs), ``polygenic`` (with ``polygenic=``
        only), ``shared_env``, ``household`` (the effect of the individual's household, with
        ``household=`` only) and ``individual_env``; the trait is ``mean`` plus their sum.
    expected_variance : pandas.Series
        Population variances: one per causal SNP (``effect**2 * 2 p (1 - p)`` with ``p`` the
        ``founder_freq``, or ``maf`` without ancestral haplotypes), then
        ``genetic`` (with the LD between causal SNPs), ``polygenic`` (in non-inbred
        individuals; with ``polygenic=`` only), ``shared_env``, ``household`` (with
        ``household=`` only), ``individual_env`` and ``total``. See the Notes of
        :func:`simulate_family_study`.
    """

    pedigree: pd.DataFrame = field(repr=False)
    genotypes: pd.DataFrame = field(repr=False)
    phenotype: pd.Series = field(repr=False)
    snp_map: pd.DataFrame = field(repr=False)
    causal: pd.DataFrame = field(repr=False)
    components: pd.DataFrame = field(repr=False)
    expected_variance: pd.Series = field(repr=False)

    def __repr__(self):
        n_fam = self.pedigree["family"].nunique()
        return (f"FamilyStudy({n_fam} families, {len(self.pedigree)} individuals, "
                f"{self.genotypes.shape[1]} SNPs, {len(self.causal)} causal)")

    def to_csv(self, folder, float_format="%.6f"):
        """Write the pedigree, genotypes, phenotype and SNP map as the CSV files of
        ``STUDY_FILES`` (the layout of the project's ``data/``), with ``"\\n"`` line endings
        and a fixed float format, so the bytes are the same on every platform. Read them back
        with :func:`read_study_csv`. A ``household`` column of ``pedigree`` (studies
        simulated with ``household=``) is written in ``pedigree.csv``. Returns the paths
        written."""
        folder = pathlib.Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        phenotype = self.pedigree[["family", "individual"]].assign(
            trait=self.phenotype.to_numpy())
        tables = (self.pedigree, self.genotypes.reset_index(), phenotype, self.snp_map)
        paths = []
        for name, table in zip(STUDY_FILES, tables):
            paths.append(folder / name)
            table.to_csv(paths[-1], index=False, float_format=float_format,
                         lineterminator="\n")
        return paths


def read_study_csv(folder):
    """
    Read a study in the CSV layout of the project's ``data/`` (:meth:`FamilyStudy.to_csv`).

    Parameters
    ----------
    folder : str or path-like
        Holds ``pedigree.csv``, ``genotypes.csv``, ``phenotype.csv`` and ``snp_map.csv``.

    Returns
    -------
    StudyTables
        ``(pedigree, genotypes, phenotype, snp_map)``, genotypes and phenotype indexed by
        individual; ``snp_map`` indexed by SNP name (index ``snp``, the columns of
        ``genotypes``), with the file's ``bp`` column named ``position`` (base pairs), as
        :func:`~statsmodels_kinship.scan.scan` and
        :func:`~statsmodels_kinship.plotting.manhattan_plot` name it. When
        ``pedigree.csv`` has a ``household`` column, ``phenotype`` gets it too (matched by
        individual), ready for a household variance component.

    Examples
    --------
    >>> import statsmodels_kinship as smk
    >>> ped, geno, phe, snps = smk.read_study_csv("data")  # doctest: +SKIP
    >>> K = smk.kinship_from_pedigree(ped)  # doctest: +SKIP
    """
    if not isinstance(folder, (str, pathlib.PurePath)) and not hasattr(folder, "__fspath__"):
        raise TypeError(f"folder must be a path (str or path-like), got {folder!r}")
    folder = pathlib.Path(folder)
    if not folder.is_dir():
        what = "is a file, not a folder" if folder.exists() else "does not exist"
        raise FileNotFoundError(f"folder {str(folder)!r} {what} (resolved: "
                                f"{str(folder.resolve())!r}); it should hold "
                                f"{', '.join(STUDY_FILES)}")
    missing = [name for name in STUDY_FILES if not (folder / name).is_file()]
    if missing:
        raise FileNotFoundError(f"folder {str(folder)!r} has no {', '.join(missing)}")
    pedigree = pd.read_csv(folder / "pedigree.csv", dtype=str)
    genotypes = pd.read_csv(folder / "genotypes.csv", index_col="individual")
    genotypes.index = genotypes.index.astype(str)
    phenotype = pd.read_csv(folder / "phenotype.csv",
                            dtype={"family": str, "individual": str}).set_index("individual")
    snp_map = (pd.read_csv(folder / "snp_map.csv", dtype={"name": str})
               .rename(columns={"bp": "position"}).set_index("name").rename_axis("snp"))
    if "household" in pedigree.columns and "household" not in phenotype.columns:
        phenotype["household"] = pedigree.set_index("individual")["household"].reindex(
            phenotype.index).to_numpy()
    elif "household" in phenotype.columns:
        phenotype["household"] = phenotype["household"].astype(str)
    return StudyTables(pedigree, genotypes, phenotype, snp_map)


# ---------------------------------------------------------------------------------------------
# Pedigrees
# ---------------------------------------------------------------------------------------------

def seed_pedigree():
    """The 12-member, 3-generation pedigree shared by every family of the seed data.

    Founders 1 (female) and 2 (male) have a daughter 4 and a son 5. Daughter 4 and the
    married-in founder 3 (male) have sons 7, 8 and a daughter 9; son 5 and the married-in
    founder 6 (female) have daughters 10, 11 and a son 12. Rows are in the order of the seed's
    ``seqsimla/data1.ped`` (founders first).

    Returns
    -------
    pandas.DataFrame
        Columns ``individual, father, mother, sex`` (integers; parents 0 for founders; sex 1
        male, 2 female), one row per member.

    See Also
    --------
    replicate_pedigree : copies of a template pedigree with IDs unique across families.

    Examples
    --------
    >>> from statsmodels_kinship.simulate import seed_pedigree
    >>> seed_pedigree().head(6)
       individual  father  mother  sex
    0           1       0       0    2
    1           2       0       0    1
    2           3       0       0    1
    3           6       0       0    2
    4           4       2       1    2
    5           5       2       1    1
    """
    rows = [(1, 0, 0, 2), (2, 0, 0, 1), (3, 0, 0, 1), (6, 0, 0, 2), (4, 2, 1, 2), (5, 2, 1, 1),
            (7, 3, 4, 1), (8, 3, 4, 1), (9, 3, 4, 2), (10, 5, 6, 2), (11, 5, 6, 2),
            (12, 5, 6, 1)]
    return pd.DataFrame(rows, columns=["individual", "father", "mother", "sex"])


def replicate_pedigree(template, n_families):
    """Stack ``n_families`` copies of a one-family pedigree with IDs unique across families.

    Parameters
    ----------
    template : pandas.DataFrame
        Columns ``individual, father, mother, sex`` of one family (a ``family`` column, if
        any, is ignored); founders' parents are 0 (or ``"0"``).
    n_families : int
        Number of copies.

    Returns
    -------
    pandas.DataFrame
        Columns ``family, individual, father, mother, sex``. Families are ``F001, F002, ...``
        (at least 3 digits); individual ``i`` of family ``F001`` is ``F001_i`` with ``i``
        zero-padded to a common width (``F001_01``); founders' parents are ``"0"``.

    Examples
    --------
    >>> from statsmodels_kinship.simulate import replicate_pedigree, seed_pedigree
    >>> replicate_pedigree(seed_pedigree(), 2).iloc[[4, 16]]
       family individual   father   mother  sex
    4    F001    F001_04  F001_02  F001_01    2
    16   F002    F002_04  F002_02  F002_01    2
    """
    if not _is_count(n_families):
        raise ValueError(f"n_families must be a positive integer, got {n_families!r}")
    if not isinstance(template, pd.DataFrame):
        raise TypeError(f"template must be a pandas DataFrame with columns "
                        f"{_PEDIGREE_COLUMNS[1:]}, got {type(template).__name__}")
    missing = [c for c in _PEDIGREE_COLUMNS[1:] if c not in template.columns]
    if missing:
        raise ValueError(f"template pedigree lacks the columns {missing}")
    if not len(template):
        raise ValueError("template pedigree has no rows")
    ind = _id_strings(template["individual"])
    width = max(len(s) for s in ind)
    local = {s: s.zfill(width) for s in ind}
    fam_width = max(3, len(str(n_families)))
    fams = [f"F{f:0{fam_width}d}" for f in range(1, n_families + 1)]

    def labels(values):
        out = np.array([f"{fam}_{local.get(s, s)}" for fam in fams for s in values],
                       dtype=object)
        out[np.tile([s in _MISSING_PARENT for s in values], n_families)] = "0"
        return out

    return pd.DataFrame({
        "family": np.repeat(np.array(fams, dtype=object), len(ind)),
        "individual": labels(ind),
        "father": labels(_id_strings(template["father"])),
        "mother": labels(_id_strings(template["mother"])),
        "sex": np.tile(template["sex"].to_numpy(), n_families),
    })


def _is_count(value):
    """True for an integer >= 1 (not a bool)."""
    return isinstance(value, Integral) and not isinstance(value, bool) and value >= 1


def _id_strings(values):
    """IDs as strings; integer-valued floats (ints with NaN read by pandas) lose their '.0'."""
    s = pd.Series(values)
    if s.dtype.kind == "f":
        finite = s.dropna()
        if (finite == np.round(finite)).all():
            s = s.astype("Int64")
    return [("0" if pd.isna(v) else str(v)) for v in s]


@dataclass(frozen=True)
class _Pedigree:
    ids: np.ndarray          # str, unique
    family: np.ndarray       # str
    father: np.ndarray       # row of the father, -1 for founders
    mother: np.ndarray
    sex: np.ndarray          # 1 male, 2 female
    depth: np.ndarray        # 0 for founders, 1 + max(parents' depths) otherwise


def _check_pedigree(pedigree):
    """Validate a pedigree DataFrame and return it as arrays of row numbers."""
    if not isinstance(pedigree, pd.DataFrame):
        raise ValueError(f"pedigree must be a pandas DataFrame with columns {_PEDIGREE_COLUMNS}"
                         f", got {type(pedigree).__name__}")
    missing = [c for c in _PEDIGREE_COLUMNS if c not in pedigree.columns]
    if missing:
        raise ValueError(f"pedigree lacks the columns {missing}")
    if len(pedigree) == 0:
        raise ValueError("pedigree has no rows")
    ids = np.array(_id_strings(pedigree["individual"]), dtype=object)
    family = np.array(_id_strings(pedigree["family"]), dtype=object)
    bad = [i for i in ids if i in _MISSING_PARENT]
    if bad:
        raise ValueError(f"individual IDs must not be missing or '0': {_show(bad)}")
    dup = pd.Index(ids)[pd.Index(ids).duplicated()].unique()
    if len(dup):
        raise ValueError(f"individual IDs must be unique across the whole pedigree (not only "
                         f"within families); duplicated: {_show(dup)}")
    sex = pd.to_numeric(pedigree["sex"], errors="coerce").to_numpy()
    bad = ~np.isin(sex, [1, 2])
    if bad.any():
        raise ValueError(f"sex must be 1 (male) or 2 (female); individuals "
                         f"{_show(ids[bad])} have {_show(pedigree['sex'].to_numpy()[bad])}")
    row = {s: i for i, s in enumerate(ids)}
    parents = {}
    for col in ("father", "mother"):
        labels = _id_strings(pedigree[col])
        known = np.array([s in _MISSING_PARENT for s in labels])
        absent = [(i, s) for i, s, k in zip(ids, labels, known) if not k and s not in row]
        if absent:
            raise ValueError(f"{len(absent)} {col}s are not in the pedigree (give them their own "
                             f"rows, as founders if unknown): "
                             + ", ".join(f"{s!r} ({col} of {i!r})" for i, s in absent[:5]))
        parents[col] = np.array([-1 if k else row[s] for s, k in zip(labels, known)])
    father, mother = parents["father"], parents["mother"]
    one = (father < 0) != (mother < 0)
    if one.any():
        raise ValueError(f"individuals {_show(ids[one])} have one parent only; give both "
                         "parents or neither (add the unknown parent as a founder)")
    nonf = np.flatnonzero(father >= 0)
    for col, idx, want, word in (("father", father, 1, "male"), ("mother", mother, 2, "female")):
        bad = nonf[sex[idx[nonf]] != want]
        if len(bad):
            raise ValueError(f"a {col} must be {word} (sex {want}): {_show(ids[idx[bad]])} "
                             f"({col} of {_show(ids[bad])})")
        bad = nonf[family[idx[nonf]] != family[nonf]]
        if len(bad):
            raise ValueError(f"parents must be in their child's family: {col} "
                             f"{_show(ids[idx[bad]])} of {_show(ids[bad])}")
    depth = np.where(father < 0, 0, -1)
    while (depth < 0).any():
        todo = np.flatnonzero(depth < 0)
        ready = todo[(depth[father[todo]] >= 0) & (depth[mother[todo]] >= 0)]
        if len(ready) == 0:
            raise ValueError(f"the pedigree has a cycle (individuals who are their own "
                             f"ancestors): {_show(ids[todo])}")
        depth[ready] = 1 + np.maximum(depth[father[ready]], depth[mother[ready]])
    return _Pedigree(ids=ids, family=family, father=father, mother=mother, sex=sex.astype(int),
                     depth=depth)


# ---------------------------------------------------------------------------------------------
# Genotypes
# ---------------------------------------------------------------------------------------------

def _snp_map(n_snps, cm, cm_spacing, chromosome, block_size):
    """The SNP map, block starts and recombination fractions between adjacent SNPs."""
    if chromosome is None:
        chrom = np.ones(n_snps, dtype=int)
    else:
        chrom = np.asarray(chromosome)
        if chrom.shape != (n_snps,):
            raise ValueError(f"chromosome must have one entry per SNP ({n_snps}), got shape "
                             f"{chrom.shape}")
    change = np.r_[True, chrom[1:] != chrom[:-1]]
    runs = chrom[change]
    if len(set(runs.tolist())) != len(runs):
        raise ValueError("SNPs must be ordered by chromosome (each chromosome in one run); "
                         f"the chromosome sequence goes {_show(runs, 10)}")
    start = np.flatnonzero(change)
    within = np.arange(n_snps) - np.repeat(start, np.diff(np.r_[start, n_snps]))
    if cm is None:
        if not isinstance(cm_spacing, Real) or not np.isfinite(cm_spacing) or cm_spacing < 0:
            raise ValueError(f"cm_spacing must be a finite number >= 0, got {cm_spacing!r}")
        pos = cm_spacing * (within + 1.0)
    else:
        pos = np.asarray(cm, dtype=float)
        if pos.shape != (n_snps,):
            raise ValueError(f"cm must have one position per SNP ({n_snps}), got shape "
                             f"{pos.shape}")
        if not np.isfinite(pos).all() or (pos < 0).any():
            raise ValueError("cm positions must be finite and >= 0")
        step = np.diff(pos)[~change[1:]]
        if (step < 0).any():
            raise ValueError("cm positions must be nondecreasing within each chromosome")
    dist = np.diff(pos)
    rec = np.where(change[1:], 0.5, 0.5 * (1.0 - np.exp(-2.0 * np.abs(dist) / 100.0)))
    block_start = change | (within % block_size == 0)
    snp_map = pd.DataFrame({
        "name": [f"SNP{j + 1}" for j in range(n_snps)],
        "chromosome": chrom,
        "cM": pos,
        "bp": np.round(pos * 1e6).astype(np.int64),  # 1 cM per Mb
        "block": np.cumsum(block_start),
    })
    return snp_map, block_start, rec


def _allele_freq(rng, names, maf_range, allele_freq):
    """Population frequencies of the minor alleles: uniform on maf_range, then overrides."""
    lo, hi = _pair(maf_range, "maf_range")
    if not 0 < lo <= hi <= 0.5:
        raise ValueError(f"maf_range must satisfy 0 < low <= high <= 0.5, got {maf_range!r}")
    maf = rng.uniform(lo, hi, size=len(names))  # always drawn: overrides keep the stream
    if allele_freq is not None:
        if isinstance(allele_freq, dict):
            pos = {n: j for j, n in enumerate(names)}
            unknown = [k for k in allele_freq if k not in pos]
            if unknown:
                raise ValueError(f"allele_freq names unknown SNPs {_show(unknown)}; SNPs are "
                                 f"named SNP1..SNP{len(names)}")
            for k, v in allele_freq.items():
                maf[pos[k]] = v
        else:
            given = np.asarray(allele_freq, dtype=float)
            if given.shape != maf.shape:
                raise ValueError(f"allele_freq must be a dict or have one value per SNP "
                                 f"({len(names)}), got shape {given.shape}")
            maf = given.copy()
        bad = ~((maf > 0) & (maf <= 0.5))
        if bad.any():
            raise ValueError(f"allele frequencies (of the minor allele) must be in (0, 0.5]; "
                             f"{_show(np.asarray(names)[bad])} have {_show(maf[bad])}")
    return maf


def _pair(value, name):
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair (low, high), got {value!r}") from None
    return lo, hi


def _founder_haplotypes(rng, n_haplotypes, maf, orientation, block_start, ld_rho):
    """Founder haplotypes (0/1, 1 = minor allele) from a thresholded Gaussian AR(1) chain.

    Within a block the latent ``z_j = rho z_{j-1} + sqrt(1 - rho^2) e_j``; blocks are
    independent. The minor allele is carried where ``orientation_j * z_j < Phi^{-1}(maf_j)``.
    """
    threshold = stats.norm.ppf(maf)
    c = np.sqrt(1.0 - ld_rho ** 2)
    out = np.empty((n_haplotypes, len(maf)), dtype=np.uint8)
    for rows in _chunks(n_haplotypes, len(maf)):
        e = rng.standard_normal((len(rows), len(maf)))
        z = np.empty_like(e)
        for j in range(len(maf)):
            z[:, j] = e[:, j] if block_start[j] else ld_rho * z[:, j - 1] + c * e[:, j]
        out[rows] = orientation * z < threshold
    return out


def _ancestral_pool(rng, n_ancestral, maf, orientation, block_start, ld_rho, names):
    """Ancestral block haplotypes (n_ancestral, n_snps), every SNP polymorphic among them.

    Blocks are independent; each block's ancestral haplotypes come from
    :func:`_founder_haplotypes` and are redrawn, as a whole, until every SNP of the block
    carries both alleles (candidates are drawn in batches and the first that passes is
    kept, which is rejection sampling).
    """
    def polymorphic(count):
        return ((count > 0) & (count < n_ancestral)).all(axis=-1)

    n_snps = len(maf)
    pool = _founder_haplotypes(rng, n_ancestral, maf, orientation, block_start, ld_rho)
    bounds = np.r_[np.flatnonzero(block_start), n_snps]
    for b, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:])):
        first = pool[:, lo:hi].sum(axis=0)
        drawn = 1
        while not polymorphic(first):
            if drawn >= _MAX_POOL_DRAWS:
                mono = lo + np.flatnonzero((first == 0) | (first == n_ancestral))
                raise ValueError(
                    f"could not draw {n_ancestral} ancestral haplotypes of LD block {b + 1} "
                    f"in which every SNP is polymorphic in {drawn} tries (in the first, "
                    f"{_show(np.asarray(names)[mono])} with minor-allele frequencies "
                    f"{_show(np.round(maf[mono], 4))} were monomorphic); use more "
                    "ancestral haplotypes, a smaller block_size or higher frequencies")
            cand = _founder_haplotypes(rng, _POOL_BATCH * n_ancestral, maf[lo:hi],
                                       orientation[lo:hi], block_start[lo:hi], ld_rho)
            cand = cand.reshape(_POOL_BATCH, n_ancestral, hi - lo)
            drawn += _POOL_BATCH
            ok = np.flatnonzero(polymorphic(cand.sum(axis=1)))
            if len(ok):
                pool[:, lo:hi] = cand[ok[0]]
                break
    return pool


def _founders_from_pool(rng, n_haplotypes, pool, block_start, mutation_prob):
    """Founder haplotypes: per block a uniform draw from the pool, then independent flips.

    The flips (a founder allele differs from its ancestral one with probability
    ``mutation_prob``, per SNP) are drawn even when the probability is 0, so that the same
    seed gives the same choices whatever the probability.
    """
    n_ancestral, n_snps = pool.shape
    block = np.cumsum(block_start) - 1
    pick = rng.integers(0, n_ancestral, size=(n_haplotypes, block[-1] + 1))
    out = np.empty((n_haplotypes, n_snps), dtype=np.uint8)
    for rows in _chunks(n_haplotypes, n_snps):
        out[rows] = np.take_along_axis(pool, pick[rows][:, block], axis=0)
        out[rows] ^= (rng.random((len(rows), n_snps)) < mutation_prob).astype(np.uint8)
    return out


def _chunks(n_rows, n_snps, cells=1 << 22):
    """Row numbers in runs of at most ``cells / n_snps``, to bound the memory of draws."""
    step = max(1, cells // max(n_snps, 1))
    return [np.arange(a, min(a + step, n_rows)) for a in range(0, n_rows, step)]


def _gametes(rng, parents, rec):
    """One gamete from each parent (rows of ``parents``, shape (m, 2, n_snps)).

    The first SNP comes from a random haplotype; between SNPs j and j + 1 the gamete
    switches haplotype with probability ``rec[j]`` (no interference).
    """
    m, _, n_snps = parents.shape
    first = rng.integers(0, 2, size=m)
    switch = rng.random((m, n_snps - 1)) < rec
    phase = (first[:, None] + np.cumsum(np.c_[np.zeros((m, 1), int), switch], axis=1)) % 2
    return np.take_along_axis(parents, phase[:, None, :], axis=1)[:, 0, :]


def _drop_genes(rng, ped, founder_haps, rec):
    """Haplotypes (n, 2, n_snps) of everyone: founders given, the others by gene dropping."""
    n = len(ped.ids)
    haps = np.empty((n,) + founder_haps.shape[1:], dtype=np.uint8)
    haps[ped.depth == 0] = founder_haps
    for d in range(1, ped.depth.max() + 1):
        for rows in _chunks(int((ped.depth == d).sum()), haps.shape[2]):
            kids = np.flatnonzero(ped.depth == d)[rows]
            haps[kids, 0] = _gametes(rng, haps[ped.father[kids]], rec)  # paternal haplotype
            haps[kids, 1] = _gametes(rng, haps[ped.mother[kids]], rec)  # maternal haplotype
    return haps


def _haplotype_ld(p1, p2, rho):
    """Population LD ``D = P(both minor) - p1 p2`` of two thresholded normals with corr rho.

    Plackett's identity ``d Phi_2(a, b; r) / dr = phi_2(a, b; r)`` gives
    ``D = int_0^rho phi_2(a, b; r) dr`` with ``a, b = Phi^{-1}(p1), Phi^{-1}(p2)``.
    """
    if rho == 0:
        return 0.0
    if abs(rho) >= 1:
        both = min(p1, p2) if rho > 0 else max(0.0, p1 + p2 - 1.0)
        return both - p1 * p2
    a, b = stats.norm.ppf(p1), stats.norm.ppf(p2)

    def density(r):
        s = 1.0 - r * r
        return np.exp(-(a * a - 2.0 * r * a * b + b * b) / (2.0 * s)) / (2 * np.pi * np.sqrt(s))

    return integrate.quad(density, 0.0, rho, epsabs=1e-13, epsrel=1e-10)[0]


# ---------------------------------------------------------------------------------------------
# Shared environment
# ---------------------------------------------------------------------------------------------

def _relationship_pairs(ped):
    """Pairs of rows (i, j, kind) for spouses, full siblings and parent-offspring."""
    kids = np.flatnonzero(ped.father >= 0)
    pairs = {k: [] for k in _RELATIONSHIPS}
    sibships = pd.Series(kids).groupby([ped.father[kids], ped.mother[kids]], sort=False)
    for (f, m), members in sibships:
        pairs["spouse"].append((f, m))
        pairs["sibling"].extend(combinations(members.to_numpy(), 2))
    pairs["parent_offspring"] = ([(k, ped.father[k]) for k in kids]
                                 + [(k, ped.mother[k]) for k in kids])
    return pairs


def _check_corr(shared_env_corr):
    """Validated shared-environment correlations, missing relationships 0."""
    corr = {k: 0.0 for k in _RELATIONSHIPS}
    if not isinstance(shared_env_corr, dict):
        raise ValueError(f"shared_env_corr must be a dict with keys {list(_RELATIONSHIPS)}, "
                         f"got {shared_env_corr!r}")
    unknown = [k for k in shared_env_corr if k not in corr]
    if unknown:
        raise ValueError(f"shared_env_corr has unknown keys {_show(unknown)}; use "
                         f"{list(_RELATIONSHIPS)}")
    for k, v in shared_env_corr.items():
        if not isinstance(v, Real) or not -1 <= v <= 1:
            raise ValueError(f"shared_env_corr[{k!r}] must be a correlation in [-1, 1], "
                             f"got {v!r}")
        corr[k] = float(v)
    return corr


def _nearest_correlation(a, tol=1e-14, maxit=10000):
    """Nearest correlation matrix in Frobenius norm (Higham 2002).

    Alternating projections onto the positive semidefinite matrices and onto the matrices
    with unit diagonal, with Dykstra's correction; a last eigenvalue clipping and rescaling
    makes the result exactly positive semidefinite with unit diagonal.
    """
    y = a.copy()
    ds = np.zeros_like(a)
    for _ in range(maxit):
        r = y - ds
        w, u = np.linalg.eigh(r)
        x = (u * np.clip(w, 0.0, None)) @ u.T
        ds = x - r
        y_new = x.copy()
        np.fill_diagonal(y_new, 1.0)
        done = np.linalg.norm(y_new - y) <= tol * np.linalg.norm(y)
        y = y_new
        if done:
            break
    w, u = np.linalg.eigh(y)
    x = (u * np.clip(w, 0.0, None)) @ u.T
    d = 1.0 / np.sqrt(np.diag(x))
    x = x * d[:, None] * d[None, :]
    return (x + x.T) / 2


def _family_correlations(ped, corr, nonpsd):
    """Shared-environment correlation matrices of the families, grouped by family size.

    Yields ``(rows, mats, which, names)`` per family size s: ``rows`` (n_fam, s) are
    pedigree rows of each family's members, ``mats`` (n_distinct, s, s) the distinct
    correlation matrices (already replaced by their nearest correlation matrix where
    ``nonpsd="nearest"``), ``which`` (n_fam,) the matrix of each family, and ``names`` the
    family labels.
    """
    code, fam_names = pd.factorize(ped.family, sort=False)
    order = np.argsort(code, kind="stable")
    size = np.bincount(code)
    first = np.r_[0, np.cumsum(size)[:-1]]
    pos = np.empty(len(code), dtype=int)
    pos[order] = np.arange(len(code)) - np.repeat(first, size)
    pairs = _relationship_pairs(ped)
    for s in np.unique(size):
        fams = np.flatnonzero(size == s)
        slot = np.full(len(size), -1)
        slot[fams] = np.arange(len(fams))
        R = np.tile(np.eye(s), (len(fams), 1, 1))
        for kind in _RELATIONSHIPS:
            if pairs[kind]:
                i, j = np.asarray(pairs[kind]).T
                keep = slot[code[i]] >= 0
                g, pi, pj = slot[code[i[keep]]], pos[i[keep]], pos[j[keep]]
                R[g, pi, pj] = R[g, pj, pi] = corr[kind]
        mats, which = np.unique(R.reshape(len(fams), -1), axis=0, return_inverse=True)
        mats, which = mats.reshape(-1, s, s), which.reshape(-1)
        smallest = np.linalg.eigvalsh(mats)[:, 0]
        bad = np.flatnonzero(smallest < -_PSD_TOL)
        if len(bad) and nonpsd == "raise":
            worst = bad[np.argmin(smallest[bad])]
            n_bad = int(np.isin(which, bad).sum())
            example = fam_names[fams[np.flatnonzero(which == worst)[0]]]
            raise ValueError(
                f"the shared-environment correlation matrix is not positive semidefinite for "
                f"{n_bad} families of {s} members, e.g. family {example!r} (smallest "
                f"eigenvalue {smallest[worst]:.3g}): the correlations spouse={corr['spouse']}, "
                f"sibling={corr['sibling']}, parent_offspring={corr['parent_offspring']} are "
                "incompatible with this pedigree; lower them, or pass nonpsd='nearest' to use "
                "the nearest correlation matrix instead")
        for b in bad:
            mats[b] = _nearest_correlation(mats[b])
        rows = np.empty((len(fams), s), dtype=int)
        mine = np.flatnonzero(slot[code] >= 0)
        rows[slot[code[mine]], pos[mine]] = mine
        yield rows, mats, which, fam_names[fams]


def _shared_env(rng, ped, corr, nonpsd):
    """Unit-variance shared environment: N(0, R_f) within family f, independent families.

    Sampled with the symmetric square root of ``R_f`` (unique, so the draw does not depend on
    how LAPACK signs eigenvectors).
    """
    z = rng.standard_normal(len(ped.ids))
    out = np.empty(len(ped.ids))
    for rows, mats, which, _ in _family_correlations(ped, corr, nonpsd):
        w, u = np.linalg.eigh(mats)
        root = (u * np.sqrt(np.clip(w, 0.0, None))[:, None, :]) @ u.transpose(0, 2, 1)
        out[rows] = np.einsum("fij,fj->fi", root[which], z[rows])
    return out


def shared_env_correlation(pedigree, shared_env_corr, nonpsd="raise"):
    """Correlation matrices of the shared environment that the simulator uses, per family.

    Parameters
    ----------
    pedigree : pandas.DataFrame
        As in :func:`simulate_family_study`.
    shared_env_corr : dict
        Correlations ``"spouse"`` (the two parents of a child), ``"parent_offspring"`` and
        ``"sibling"`` (full siblings); a missing key means 0. All other pairs (e.g.
        grandparent-grandchild, in-laws, cousins, half-siblings) have correlation 0. A pair
        in two relationships (possible only in consanguineous pedigrees) gets the later of
        spouse, sibling, parent-offspring.
    nonpsd : {"raise", "nearest"}
        What to do when a family's matrix is not positive semidefinite (smallest eigenvalue
        below -1e-10): raise a ValueError, or replace it by the nearest correlation matrix in
        Frobenius norm [Higham2002]_, which changes the requested correlations as little as
        possible and may give small nonzero correlations to other pairs.

    Returns
    -------
    dict
        ``{family: DataFrame}``, each square and labelled by the family's individual IDs (in
        pedigree order).

    References
    ----------
    .. [Higham2002] Higham, N. J. (2002). Computing the nearest correlation matrix - a
       problem from finance. IMA Journal of Numerical Analysis 22(3), 329-343.

    Examples
    --------
    The seed's correlations are not positive semidefinite for the seed's pedigree; the
    nearest correlation matrix lowers the spouse correlation of the married-in founders and
    the sibling correlation of the second generation a little:

    >>> from statsmodels_kinship.simulate import (replicate_pedigree, seed_pedigree,
    ...                                           shared_env_correlation)
    >>> ped = replicate_pedigree(seed_pedigree(), 1)
    >>> corr = {"spouse": 0.8, "parent_offspring": 0.5, "sibling": 0.5}
    >>> R = shared_env_correlation(ped, corr, nonpsd="nearest")["F001"]
    >>> R.loc[["F001_02", "F001_03", "F001_05"], ["F001_01", "F001_04"]].round(2)
             F001_01  F001_04
    F001_02      0.8     0.50
    F001_03      0.0     0.77
    F001_05      0.5     0.44
    """
    if nonpsd not in ("raise", "nearest"):
        raise ValueError(f"nonpsd must be 'raise' or 'nearest', got {nonpsd!r}")
    ped = _check_pedigree(pedigree)
    corr = _check_corr(shared_env_corr)
    out = {}
    for rows, mats, which, names in _family_correlations(ped, corr, nonpsd):
        for r, m, name in zip(rows, which, names):
            ids = ped.ids[r].astype(str)
            out[name] = pd.DataFrame(mats[m], index=ids, columns=ids)
    return {name: out[name] for name in pd.unique(ped.family)}


# ---------------------------------------------------------------------------------------------
# Households and the polygenic component
# ---------------------------------------------------------------------------------------------

def _local_id(ident, family):
    """``ident`` without a leading ``"<family>_"`` (as :func:`replicate_pedigree` makes)."""
    prefix = family + "_"
    return ident[len(prefix):] if ident.startswith(prefix) and len(ident) > len(prefix) \
        else ident


def _households(ped):
    """Household label of every row of a checked pedigree (see :func:`household_labels`).

    Returns ``(labels, code)``: labels (object array, one per row) and the household number
    of each row, households numbered in the order of their first member in the rows.
    """
    n = len(ped.ids)
    kids = np.flatnonzero(ped.father >= 0)  # both parents known (checked)
    # couples numbered in the row order of their first child
    couple_of_kid, key = pd.factorize(ped.father[kids].astype(np.int64) * n
                                      + ped.mother[kids], sort=False)
    dad, mum = key // n, key % n
    home = np.full(n, -1)
    home[kids] = couple_of_kid                      # rule 2: the parents' household
    first = np.full(n, len(key))
    np.minimum.at(first, dad, np.arange(len(key)))  # rule 1: a parent's first couple
    np.minimum.at(first, mum, np.arange(len(key)))
    parent = first < len(key)
    home[parent] = first[parent]
    alone = np.flatnonzero(home < 0)                # rule 3: a household of one's own
    home[alone] = len(key) + np.arange(len(alone))
    fam = ped.family.astype(str)
    ids = ped.ids.astype(str)
    for local in (_local_id, lambda ident, family: ident):
        names = np.array([f"{fam[f]}_{local(ids[f], fam[f])}x{local(ids[m], fam[m])}"
                          for f, m in zip(dad, mum)]
                         + [f"{fam[i]}_{local(ids[i], fam[i])}" for i in alone], dtype=object)
        if pd.Index(names).is_unique:
            break
    else:
        dup = pd.Index(names)[pd.Index(names).duplicated()].unique()
        raise ValueError(f"the household labels <family>_<father>x<mother> (or "
                         f"<family>_<individual> for a household of one) are not unique for "
                         f"these IDs: {_show(dup)}; rename the individuals")
    labels = names[home]
    return labels, pd.factorize(labels, sort=False)[0]


def household_labels(pedigree):
    """Households of a pedigree: each couple with its children.

    The rule (that of the project's lme4 reference ``tests/results/lme4_seed_household.R``):
    a household is a father-mother couple that has children in the pedigree, labelled
    ``<family>_<father>x<mother>``;

    1. a person who is a parent belongs to the household of the couple in which he or she
       is a parent (grandparents and married-in founders live with their children only
       until those children found households of their own); a parent in several couples
       belongs to the couple of his or her first child in the pedigree's row order;
    2. otherwise a person belongs to the household of his or her parents;
    3. otherwise (a founder without children) to a household of his or her own, labelled
       ``<family>_<individual>``.

    In the labels an ID loses a leading ``"<family>_"`` (the IDs of
    :func:`replicate_pedigree`: ``F001_02x01``, ``F001_05``), unless that makes two
    households' labels equal; then the IDs are used as they are.

    Parameters
    ----------
    pedigree : pandas.DataFrame
        As in :func:`simulate_family_study` (IDs unique across the whole table).

    Returns
    -------
    pandas.Series
        The household label (str) of each individual, indexed by individual ID in the
        pedigree's row order, named ``"household"``.

    Examples
    --------
    The seed pedigree has three households per family: the grandparents 1 and 2 (their
    children 4 and 5 live in the households they found), 3 and 4 with 7, 8, 9, and 5 and 6
    with 10, 11, 12:

    >>> from statsmodels_kinship.simulate import (household_labels, replicate_pedigree,
    ...                                           seed_pedigree)
    >>> hh = household_labels(replicate_pedigree(seed_pedigree(), 1))
    >>> hh.groupby(hh, sort=False).size()
    household
    F001_02x01    2
    F001_03x04    5
    F001_05x06    5
    Name: household, dtype: int64
    """
    ped = _check_pedigree(pedigree)
    labels, _ = _households(ped)
    return pd.Series(labels.astype(str), index=pd.Index(ped.ids.astype(str), name="individual"),
                     name="household")


def _mendelian_variances(ped, chunk_rows=_INBREEDING_CHUNK_ROWS):
    """Mendelian sampling variances ``d`` (1 for founders, ``(1 - (F_f + F_m) / 2) / 2``
    otherwise) by Colleau's method (:func:`~statsmodels_kinship.kinship._inbreeding`), run on
    groups of whole families of about ``chunk_rows`` rows (families are independent), so
    that the time grows linearly with the number of families."""
    n = len(ped.ids)
    code = pd.factorize(ped.family, sort=False)[0]
    order = np.argsort(code, kind="stable")
    sizes = np.bincount(code)
    group = np.repeat(np.r_[0, np.cumsum(sizes)[:-1]] // chunk_rows, sizes)  # in ``order``
    bounds = np.r_[0, np.flatnonzero(np.diff(group)) + 1, n]
    pos = np.empty(n, dtype=np.int64)
    d = np.empty(n)
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        rows = order[lo:hi]
        pos[rows] = np.arange(hi - lo)
        local = [np.where(p >= 0, pos[np.maximum(p, 0)], -1)
                 for p in (ped.father[rows], ped.mother[rows])]
        d[rows] = _inbreeding(local[0], local[1], ped.depth[rows])[1]
    return d


def _polygenic(rng, ped):
    """Breeding values ``a ~ N(0, A)`` (``A = 2 x kinship``) of a family study
    (:func:`_breeding_values` with the Mendelian sampling variances computed family by
    family). No n x n matrix is formed."""
    return _breeding_values(rng, ped.father, ped.mother, 1.0,
                            mendelian=(ped.depth, _mendelian_variances(ped)))[0]


# ---------------------------------------------------------------------------------------------
# The simulator
# ---------------------------------------------------------------------------------------------

def _check_fraction(value, name):
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a number in [0, 1] (a fraction of the variance), got "
                        f"{value!r}")
    if not isinstance(value, Real) or not np.isfinite(value) or value < 0 or value > 1:
        raise ValueError(f"{name} must be a number in [0, 1], got {value!r}")
    return float(value)


def simulate_family_study(pedigree, *, n_snps=130, block_size=10, ld_rho=0.9,
                          maf_range=(0.05, 0.5), allele_freq=None, cm=None, cm_spacing=0.1,
                          chromosome=None, mean=0.0, total_variance=1.0, causal=None,
                          shared_env_fraction=0.0, shared_env_corr=None, nonpsd="raise",
                          polygenic=None, household=None, n_ancestral_haplotypes=None,
                          ancestral_mutation_prob=0.0, seed=None):
    r"""Simulate SNP genotypes and a quantitative trait for families with known pedigrees.

    Parameters
    ----------
    pedigree : pandas.DataFrame
        Columns ``family, individual, father, mother, sex``. Individual IDs must be unique
        across the whole table (see :func:`replicate_pedigree`); founders have father and
        mother 0 (or ``"0"``, empty, NaN); every other individual has both parents in the
        pedigree, in the same family, the father male (sex 1) and the mother female (sex 2).
        Rows may be in any order.
    n_snps : int
        Number of SNPs, named ``SNP1 .. SNP<n_snps>``.
    block_size : int
        SNPs per LD block (a block also ends where the chromosome changes). SNPs in different
        blocks are in linkage equilibrium in the founders.
    ld_rho : float in [0, 1]
        Correlation of the latent Gaussian chain between adjacent SNPs of a block (see Notes).
        0 gives linkage equilibrium.
    maf_range : (float, float)
        Minor-allele frequencies are drawn uniformly from this range, ``0 < low <= high <=
        0.5``.
    allele_freq : dict or array_like, optional
        Frequencies that replace the drawn ones: a dict ``{snp_name: maf}`` for some SNPs or
        one value per SNP; each in (0, 0.5].
    cm : array_like, optional
        Genetic positions (centimorgans) of the SNPs, nondecreasing within a chromosome.
        Default: ``cm_spacing, 2 cm_spacing, ...`` on each chromosome.
    cm_spacing : float
        Distance between adjacent SNPs when ``cm`` is not given.
    chromosome : array_like, optional
        Chromosome of each SNP (each chromosome in one run). Default: all on chromosome 1.
    mean : float
        Population mean of the trait.
    total_variance : float
        Variance of the trait the fractions refer to; must be > 0.
    causal : dict, optional
        ``{snp_name: fraction}``: the causal SNPs and the fraction of ``total_variance`` that
        each explains (see Notes). Default: no causal SNPs.
    shared_env_fraction : float
        Fraction of ``total_variance`` due to the shared environment.
    shared_env_corr : dict, optional
        Correlations of the shared environment between relatives, keys ``"spouse"`` (the two
        parents of a child), ``"parent_offspring"`` and ``"sibling"`` (full siblings); a
        missing key means 0. Required when ``shared_env_fraction > 0``. All other pairs have
        correlation 0 (see :func:`shared_env_correlation`).
    nonpsd : {"raise", "nearest"}
        What to do when a family's shared-environment correlation matrix is not positive
        semidefinite: raise a ValueError, or use the nearest correlation matrix [Higham2002]_.
    polygenic : float in [0, 1], optional
        Fraction of ``total_variance`` due to a polygenic (infinitesimal) component ``a ~
        N(0, polygenic x total_variance x A)``, ``A`` twice the pedigree's kinship (see
        Notes); its values are ``components["polygenic"]``. Default None: none, and no
        such column (0 gives a column of zeros).
    household : float in [0, 1], optional
        Fraction of ``total_variance`` due to a household effect: one independent
        ``N(0, household x total_variance)`` draw per household, shared by its members,
        households as :func:`household_labels` makes them; the labels are
        ``pedigree["household"]`` and the effects ``components["household"]``. This is the
        "c2" a kinship + household model estimates. Default None: no household effect and no
        household columns (0 gives the labels and a column of zeros).
    n_ancestral_haplotypes : int >= 2, optional
        If given, each LD block has a pool of this many ancestral haplotypes (drawn by the LD
        model, every SNP polymorphic among them) and every founder haplotype copies, block by
        block, a pool member drawn uniformly with replacement (see Notes). Few distinct
        haplotypes per block, as in coalescent data, put SNPs in perfect LD: their genotype
        columns are identical, complementary (``2 - x``) or linear combinations of others
        across the whole sample, so ``[1, genotypes]`` is rank deficient. Default None: each
        founder haplotype is drawn from the LD model directly (no perfect LD).
    ancestral_mutation_prob : float in [0, 0.5)
        With ``n_ancestral_haplotypes``: probability that a founder haplotype carries the
        other allele than its ancestral haplotype, independently per SNP (mutation or gene
        conversion since the ancestors); it breaks perfect LD. Default 0.
    seed : int, numpy.random.SeedSequence or numpy.random.Generator, optional
        Passed to :func:`numpy.random.default_rng`. The same seed and arguments give the same
        study.

    Returns
    -------
    FamilyStudy
        Pedigree, genotypes, phenotype, SNP map, causal SNPs with effects, the per-individual
        components and their expected variances.

    Raises
    ------
    ValueError
        On an invalid pedigree (missing columns or parents, duplicated IDs, one parent only,
        parent of the wrong sex or family, cycles), fractions (``causal``,
        ``shared_env_fraction``, ``polygenic``, ``household``) outside [0, 1] or summing to
        more than 1, unknown causal SNP names, a variance <= 0, shared-environment
        correlations that give a matrix that is not positive semidefinite, or ancestral
        haplotypes with every SNP polymorphic that are too improbable to draw.

    Notes
    -----
    The design follows SeqSIMLA [Chung2015]_ (causal variants with stated variance fractions,
    shared environment with relationship-specific correlations); the haplotype model does not.

    **Founders.** Each founder haplotype is drawn independently (Hardy-Weinberg equilibrium).
    Within a block a latent Gaussian AR(1) chain ``z_1 = e_1``, ``z_j = rho z_{j-1} +
    sqrt(1 - rho^2) e_j`` is thresholded: the haplotype carries the minor allele of SNP j
    where ``o_j z_j < Phi^{-1}(maf_j)``, so that its frequency is exactly ``maf_j``
    [Emrich1991]_. The orientations ``o_j = +-1`` are fair coins, so the minor alleles of two
    SNPs in LD are positively or negatively associated. The population LD of two SNPs is
    ``D = int_0^{o_j o_k rho^|j-k|} phi_2(Phi^{-1}(maf_j), Phi^{-1}(maf_k); r) dr``
    [Plackett1954]_.

    **Ancestral haplotypes** (``n_ancestral_haplotypes = H``). Coalescent data have few
    distinct haplotypes in a short region. For each block, H ancestral haplotypes are drawn
    from the model above, and redrawn (all H together) until every SNP of the block carries
    both alleles among them (SNPs are segregating sites of the ancestral sample; this
    condition does not involve the trait). Each founder haplotype then copies, in each block
    independently, an ancestral haplotype chosen uniformly with replacement, and each allele
    is flipped with probability ``mu = ancestral_mutation_prob``. Given the pool, founder
    haplotypes are independent, with frequency ``f_j = q_j (1 - 2 mu) + mu`` of the counted
    allele (``q_j`` the pool's frequency, a multiple of 1/H: ``founder_freq``) and, within a
    block, LD ``D_jk = (1 - 2 mu)^2 (q_jk - q_j q_k)`` (``q_jk`` the pool's frequency of
    carrying both); blocks stay independent. ``maf`` is then the frequency of the population
    the pool was drawn from, not of the study. With ``mu = 0`` the genotypes of a block lie
    in the span of H haplotype counts that sum to 2, so ``[1, genotypes]`` has rank at most
    ``1 + (H - 1) x (number of blocks)`` (recombination within a block, rare at short
    distances, can add a little).

    **Gene dropping.** Parents are simulated before their children [MacCluer1986]_. A gamete
    starts on a random parental haplotype and switches between adjacent SNPs with the
    Haldane recombination fraction ``(1 - exp(-2 d / 100)) / 2`` (``d`` in cM) [Haldane1919]_,
    and with 1/2 between chromosomes. The map's ``bp`` column is ``cM`` at 1 cM per Mb.

    **Trait.** With ``G_k`` the allele count of causal SNP k (as in ``genotypes``),

    .. math::

        y = \mu + \sum_k b_k (G_k - 2 p_k) + s + e, \qquad
        b_k = \sqrt{h_k V / (2 p_k (1 - p_k))},

    so that SNP k alone has variance ``h_k V`` in every non-inbred individual (``p_k`` is the
    expected frequency in founders, not the sample's: ``maf``, or ``founder_freq`` with
    ancestral haplotypes, for which the fractions hold given the pool; inbreeding F multiplies
    it by 1 + F). Effects are positive per counted allele. ``s = sqrt(c V) u`` with
    ``u ~ N(0, R_f)`` within family f (see ``shared_env_corr``; all other pairs, e.g.
    grandparent-grandchild or in-laws, have correlation 0) and ``e ~ N(0, (1 - sum h_k - c -
    a - h) V)`` independent. Pairwise correlations can be incompatible: ``R_f`` is then not
    positive semidefinite (the seed's spouse 0.8, parent-offspring 0.5 and sibling 0.5 are,
    for the seed's pedigree). Nothing is adjusted silently: by default this raises a
    ValueError; ``nonpsd="nearest"`` replaces ``R_f`` by the nearest correlation matrix
    [Higham2002]_, whose entries :func:`shared_env_correlation` returns.

    **Polygenic component and households.** With ``polygenic = a`` the trait gets ``g_a ~
    N(0, a V A)``, ``A`` twice the kinship matrix of the pedigree (an infinitesimal model on
    top of the causal SNPs, independent of the genotypes), simulated exactly by gene dropping
    of Mendelian sampling terms: a founder draws ``N(0, a V)``, a child gets the mean of its
    parents' values plus ``N(0, a V (1 - (F_f + F_m) / 2) / 2)`` (``F`` the parents'
    inbreeding coefficients), so that no n x n matrix is formed; its variance is ``a V (1 +
    F)``. With ``household = h`` every household (:func:`household_labels`: a couple with
    its children) draws one ``N(0, h V)`` effect, shared by its members: the "c2" of a
    kinship + household model. The shared environment ``s`` is a different, SeqSIMLA-style
    effect (correlations by relationship within a family); both can be used together.

    In expectation the fractions are exact for each causal SNP, for the shared and for the
    individual environment, the polygenic component (in non-inbred individuals) and the
    household effect. Causal SNPs in LD add covariances ``2 b_j b_k D_jk`` to the
    genetic variance, so that it is not ``sum h_k V``: ``expected_variance["genetic"]`` and
    ``["total"]`` include them, computed with the founders' LD (in descendants LD shrinks by
    ``1 - theta`` per meiosis, negligible within a block unless ``cm_spacing`` is large).
    Place causal SNPs in different blocks for a total variance of exactly ``V``. With few
    ancestral haplotypes, causal SNPs of one block are in strong (possibly perfect) LD and
    the genetic variance can be far from ``sum h_k V``.

    The random stream is consumed in a fixed order (frequencies, orientations, founders --
    with ancestral haplotypes: the pool, the founders' choices in it, the flips --, gametes
    generation by generation, shared then individual environment, then -- only when
    requested -- the polygenic component's draws in row order and the household effects in
    the order of the households' first members), so trait parameters do not change the
    genotypes drawn with a seed, and ``polygenic`` and ``household`` change neither the
    genotypes nor the other components' draws (the individual environment is rescaled);
    neither does ``ancestral_mutation_prob`` change the pool or the choices (the flips'
    uniforms are drawn even when it is 0).

    References
    ----------
    .. [Emrich1991] Emrich, L. J., Piedmonte, M. R. (1991). A method for generating
       high-dimensional multivariate binary variates. The American Statistician 45(4),
       302-304.
    .. [Plackett1954] Plackett, R. L. (1954). A reduction formula for normal multivariate
       integrals. Biometrika 41(3/4), 351-360.
    .. [MacCluer1986] MacCluer, J. W., VandeBerg, J. L., Read, B., Ryder, O. A. (1986).
       Pedigree analysis by computer simulation. Zoo Biology 5(2), 147-160.
    .. [Haldane1919] Haldane, J. B. S. (1919). The combination of linkage values and the
       calculation of distances between the loci of linked factors. Journal of Genetics 8,
       299-309.
    .. [Higham2002] Higham, N. J. (2002). Computing the nearest correlation matrix - a
       problem from finance. IMA Journal of Numerical Analysis 22(3), 329-343.
    .. [Chung2015] Chung, R.-H., Tsai, W.-Y., Hsieh, C.-H., Hung, K.-Y., Hsiung, C. A.,
       Hauser, E. R. (2015). SeqSIMLA2: simulating correlated quantitative traits accounting
       for shared environmental effects in user-specified pedigree structure. Genetic
       Epidemiology 39(1), 20-24.

    Examples
    --------
    The seed study (100 families of 12, 130 SNPs, 5 ancestral haplotypes per LD block):

    >>> from statsmodels_kinship.simulate import seed_study_parameters, simulate_family_study
    >>> study = simulate_family_study(**seed_study_parameters(), seed=1)
    >>> study
    FamilyStudy(100 families, 1200 individuals, 130 SNPs, 4 causal)
    >>> study.genotypes.iloc[:3, :5].shape, study.phenotype.name
    ((3, 5), 'trait')
    >>> study.causal.round(3)
           fraction    maf  founder_freq  effect
    SNP1        0.1  0.072           0.2   0.559
    SNP3        0.2  0.419           0.4   0.645
    SNP5        0.2  0.058           0.2   0.791
    SNP11       0.1  0.124           0.4   0.456
    >>> study.genotypes.T.drop_duplicates().shape[0] < 130  # identical SNPs: perfect LD
    True
    >>> parts = study.components.sum(axis=1) + 10.0
    >>> bool(abs(parts - study.phenotype).max() < 1e-12)
    True

    A small custom study: 50 nuclear families with two children.

    >>> import pandas as pd
    >>> from statsmodels_kinship.simulate import replicate_pedigree
    >>> nuclear = pd.DataFrame({"individual": [1, 2, 3, 4], "father": [0, 0, 1, 1],
    ...                         "mother": [0, 0, 2, 2], "sex": [1, 2, 1, 2]})
    >>> small = simulate_family_study(replicate_pedigree(nuclear, 50), n_snps=20,
    ...                               causal={"SNP4": 0.3}, shared_env_fraction=0.2,
    ...                               shared_env_corr={"sibling": 0.5}, seed=0)
    >>> small.genotypes.shape
    (200, 20)
    """
    ped = _check_pedigree(pedigree)
    if not _is_count(n_snps):
        raise ValueError(f"n_snps must be a positive integer, got {n_snps!r}")
    if not _is_count(block_size):
        raise ValueError(f"block_size must be a positive integer, got {block_size!r}")
    rng = as_rng(seed)
    if not isinstance(ld_rho, Real) or not 0 <= ld_rho <= 1:
        raise ValueError(f"ld_rho must be in [0, 1], got {ld_rho!r}")
    if not isinstance(mean, Real) or not np.isfinite(mean):
        raise ValueError(f"mean must be a finite number, got {mean!r}")
    if not isinstance(total_variance, Real) or not np.isfinite(total_variance) \
            or total_variance <= 0:
        raise ValueError(f"total_variance must be a finite number > 0, got {total_variance!r}")
    names = [f"SNP{j + 1}" for j in range(n_snps)]
    if causal is not None and not isinstance(causal, (dict, pd.Series)):
        raise TypeError("causal must be a dict (or Series) mapping SNP names to the fraction "
                        f"of the variance each explains, e.g. {{'SNP4': 0.3}}; got {causal!r}")
    causal = dict(causal if causal is not None else {})
    unknown = [k for k in causal if k not in set(names)]
    if unknown:
        raise ValueError(f"unknown causal SNPs {_show(unknown)}; SNPs are named "
                         f"SNP1..SNP{n_snps}")
    fractions = {k: _check_fraction(v, f"the variance fraction of causal SNP {k}")
                 for k, v in causal.items()}
    c_frac = _check_fraction(shared_env_fraction, "shared_env_fraction")
    a_frac = None if polygenic is None else _check_fraction(polygenic, "polygenic")
    hh_frac = None if household is None else _check_fraction(household, "household")
    used = sum(fractions.values()) + c_frac
    parts = [f"the causal SNPs ({sum(fractions.values()):.6g})",
             f"the shared environment ({c_frac:.6g})"]
    for frac, what in ((a_frac, "the polygenic component (polygenic={:.6g})"),
                       (hh_frac, "the household effect (household={:.6g})")):
        if frac is not None:
            used += frac
            parts.append(what.format(frac))
    if used > 1 + 1e-12:
        raise ValueError(f"{', '.join(parts[:-1])} and {parts[-1]} explain {used:.6g} > 1 of "
                         "the variance; the individual environment takes the rest, which must "
                         "be >= 0")
    e_frac = max(0.0, 1.0 - used)
    if shared_env_corr is None:
        if c_frac > 0:
            raise ValueError("shared_env_corr (a dict with keys 'spouse', 'parent_offspring', "
                             "'sibling') is required when shared_env_fraction > 0")
        shared_env_corr = {}
    corr = _check_corr(shared_env_corr)
    if nonpsd not in ("raise", "nearest"):
        raise ValueError(f"nonpsd must be 'raise' or 'nearest', got {nonpsd!r}")
    if n_ancestral_haplotypes is not None and (not isinstance(n_ancestral_haplotypes, Integral)
                                               or n_ancestral_haplotypes < 2):
        raise ValueError(f"n_ancestral_haplotypes must be None or an integer >= 2, got "
                         f"{n_ancestral_haplotypes!r}")
    if not isinstance(ancestral_mutation_prob, Real) or not 0 <= ancestral_mutation_prob < 0.5:
        raise ValueError(f"ancestral_mutation_prob must be in [0, 0.5), got "
                         f"{ancestral_mutation_prob!r}")
    if ancestral_mutation_prob > 0 and n_ancestral_haplotypes is None:
        raise ValueError("ancestral_mutation_prob applies to founders drawn from ancestral "
                         "haplotypes: set n_ancestral_haplotypes too")

    snp_map, block_start, rec = _snp_map(n_snps, cm, cm_spacing, chromosome, block_size)
    maf = _allele_freq(rng, names, maf_range, allele_freq)
    orientation = 1 - 2 * rng.integers(0, 2, size=n_snps)
    snp_map["maf"] = maf

    n_founders = int((ped.depth == 0).sum())
    if n_ancestral_haplotypes is None:
        founders = _founder_haplotypes(rng, 2 * n_founders, maf, orientation, block_start,
                                       float(ld_rho))
        freq = maf
    else:
        pool = _ancestral_pool(rng, int(n_ancestral_haplotypes), maf, orientation,
                               block_start, float(ld_rho), names)
        mu = float(ancestral_mutation_prob)
        founders = _founders_from_pool(rng, 2 * n_founders, pool, block_start, mu)
        freq = pool.mean(axis=0) * (1 - 2 * mu) + mu
        snp_map["founder_freq"] = freq
    haps = _drop_genes(rng, ped, founders.reshape(n_founders, 2, n_snps), rec)
    geno = haps.sum(axis=1, dtype=np.int64)

    V = float(total_variance)
    cidx = np.array([names.index(k) for k in fractions], dtype=int)
    h = np.array(list(fractions.values()))
    p = freq[cidx]
    effect = np.sqrt(h * V / (2 * p * (1 - p)))
    genetic = (geno[:, cidx] - 2 * p) @ effect if len(cidx) else np.zeros(len(ped.ids))
    shared = np.sqrt(c_frac * V) * _shared_env(rng, ped, corr, nonpsd)
    individual = np.sqrt(e_frac * V) * rng.standard_normal(len(ped.ids))
    trait = mean + genetic + shared + individual
    extra = {}
    if a_frac is not None:
        extra["polygenic"] = np.sqrt(a_frac * V) * _polygenic(rng, ped)
        trait = trait + extra["polygenic"]
    if hh_frac is not None:
        hh_labels, hh_code = _households(ped)
        extra["household"] = (np.sqrt(hh_frac * V)
                              * rng.standard_normal(int(hh_code.max()) + 1)[hh_code])
        trait = trait + extra["household"]

    cov = np.diag(2 * p * (1 - p))
    blocks = snp_map["block"].to_numpy()
    for a, b in combinations(range(len(cidx)), 2):
        j, k = cidx[a], cidx[b]
        if blocks[j] != blocks[k]:
            continue
        if n_ancestral_haplotypes is None:
            r = orientation[j] * orientation[k] * float(ld_rho) ** abs(k - j)
            d = _haplotype_ld(maf[j], maf[k], r)
        else:  # LD in the pool, diluted by independent flips
            d = (1 - 2 * mu) ** 2 * (np.mean(pool[:, j] * pool[:, k], dtype=float)
                                     - pool[:, j].mean() * pool[:, k].mean())
        cov[a, b] = cov[b, a] = 2 * d
    var_g = float(effect @ cov @ effect)
    causal_names = list(fractions)
    variances = {"genetic": var_g, "shared_env": c_frac * V}
    other = c_frac + e_frac
    for name, frac in (("polygenic", a_frac), ("household", hh_frac)):
        if frac is not None:
            variances[name] = frac * V
            other += frac
    order = [k for k in ("genetic", "polygenic", "shared_env", "household") if k in variances]
    expected = pd.Series(list(effect ** 2 * np.diag(cov)) + [variances[k] for k in order]
                         + [e_frac * V, var_g + other * V],
                         index=causal_names + order + ["individual_env", "total"],
                         name="variance")
    values = {"genetic": genetic, "shared_env": shared, **extra}

    index = pd.Index(ped.ids.astype(str), name="individual")
    label = np.append(ped.ids.astype(str), "0")
    table = pd.DataFrame({"family": ped.family.astype(str), "individual": index.to_numpy(),
                          "father": label[ped.father], "mother": label[ped.mother],
                          "sex": ped.sex})
    if hh_frac is not None:
        table["household"] = hh_labels.astype(str)
    return FamilyStudy(
        pedigree=table,
        genotypes=pd.DataFrame(geno, index=index, columns=pd.Index(names, name="snp")),
        phenotype=pd.Series(trait, index=index, name="trait"),
        snp_map=snp_map,
        causal=pd.DataFrame({"fraction": h, "maf": maf[cidx], **(
            {} if n_ancestral_haplotypes is None else {"founder_freq": p}), "effect": effect},
            index=causal_names),
        components=pd.DataFrame({**{k: values[k] for k in order},
                                 "individual_env": individual}, index=index),
        expected_variance=expected,
    )


def seed_study_parameters(n_families=100):
    """Keyword arguments of :func:`simulate_family_study` for the seed's simulation.

    The seed data were simulated with SeqSIMLA [Chung2015]_; this preset reproduces its
    design, not its numbers (SeqSIMLA took haplotypes from a coalescent simulation with
    cosi, mimicked here by a few ancestral haplotypes per LD block, and its
    shared-environment algorithm is not reproduced here).

    - ``n_families`` (100 in the seed) copies of :func:`seed_pedigree` (12 members, 3
      generations), IDs ``F001_01`` ...;
    - 130 SNPs on one chromosome, 1 kb apart (0.001 cM; the seed's SNPs lie in so short a
      region that recombination in it is negligible), in 13 LD blocks of 10 with strong LD
      (``ld_rho=0.95``); minor-allele frequencies uniform on (0.05, 0.5) except the causal
      SNPs, which get the seed's ``data.freq``: SNP1 0.072, SNP3 0.419, SNP5 0.058, SNP11
      0.124;
    - founder haplotypes drawn from 5 ancestral haplotypes per block
      (``n_ancestral_haplotypes=5``, no mutation), so that many SNPs are in perfect LD: the
      design ``[1, genotypes]`` has rank at most 1 + 13 x 4 = 53 of 131 (the seed's has rank
      25; its 130 SNPs have only 40 distinct genotype columns). Frequencies in the study are
      then multiples of 1/5 (``founder_freq``; at least 0.2 even for SNP5's 0.058), and the
      trait's effects are standardised with them;
    - trait mean 10 and variance 1; causal SNP1, SNP3, SNP5 and SNP11 explain 10%, 20%,
      20% and 10%; the shared environment 35% with correlations spouses 0.8,
      parent-offspring 0.5, siblings 0.5; the individual environment the remaining 5%.
    - These correlations (all other pairs 0) do not form a positive semidefinite matrix for
      this pedigree (smallest eigenvalue -0.115), so the preset sets ``nonpsd="nearest"``:
      the nearest correlation matrix keeps spouses 1-2 at 0.80 and all parent-offspring and
      sibling pairs within 0.01 of 0.50, except that the married-in spouses (3-4, 5-6) get
      0.77 and the second-generation siblings (4-5) 0.44; in-laws 3-5 and 4-6 get 0.03 (see
      :func:`shared_env_correlation`).
    - Causal SNP1, SNP3 and SNP5 share an LD block, so the genetic variance (and the trait
      variance) differ from 0.6 (and 1) by their LD covariances, which with 5 ancestral
      haplotypes depend much on the seed; see ``FamilyStudy.expected_variance``. With most
      seeds SNP3 or SNP5 is in perfect LD with earlier SNPs of its block (aliased in a fit
      of all SNPs); ``data/make_data.py`` uses a seed with which no causal SNP is.

    Parameters
    ----------
    n_families : int
        Number of families.

    Returns
    -------
    dict
        To be passed as ``simulate_family_study(**seed_study_parameters(), seed=...)``.

    References
    ----------
    .. [Chung2015] Chung, R.-H., Tsai, W.-Y., Hsieh, C.-H., Hung, K.-Y., Hsiung, C. A.,
       Hauser, E. R. (2015). SeqSIMLA2: simulating correlated quantitative traits accounting
       for shared environmental effects in user-specified pedigree structure. Genetic
       Epidemiology 39(1), 20-24.

    Examples
    --------
    >>> from statsmodels_kinship.simulate import seed_study_parameters, simulate_family_study
    >>> params = seed_study_parameters(n_families=10)
    >>> params["causal"]
    {'SNP1': 0.1, 'SNP3': 0.2, 'SNP5': 0.2, 'SNP11': 0.1}
    >>> simulate_family_study(**params, seed=3).genotypes.shape
    (120, 130)
    """
    return {
        "pedigree": replicate_pedigree(seed_pedigree(), n_families),
        "n_snps": 130,
        "block_size": 10,
        "ld_rho": 0.95,
        "maf_range": (0.05, 0.5),
        "allele_freq": {"SNP1": 0.072, "SNP3": 0.419, "SNP5": 0.058, "SNP11": 0.124},
        "cm_spacing": 0.001,
        "mean": 10.0,
        "total_variance": 1.0,
        "causal": {"SNP1": 0.10, "SNP3": 0.20, "SNP5": 0.20, "SNP11": 0.10},
        "shared_env_fraction": 0.35,
        "shared_env_corr": {"spouse": 0.8, "parent_offspring": 0.5, "sibling": 0.5},
        "nonpsd": "nearest",
        "n_ancestral_haplotypes": 5,
    }


# ---------------------------------------------------------------------------------------------
# A dairy herd-book: repeated lactation records, a herd factor, a pedigree with one-parent cows
# ---------------------------------------------------------------------------------------------

DairyHerd = namedtuple("DairyHerd", ["pedigree", "records", "additive", "permanent", "herd",
                                     "residual", "lactation_means", "variances", "inbreeding"])
DairyHerd.__doc__ = """What :func:`simulate_dairy_herd` returns: the data and the true effects.

Attributes
----------
pedigree : pandas.DataFrame
    Columns animal, sire, dam (strings, "0" for an unknown parent), one row per animal,
    parents before their offspring.
records : pandas.DataFrame
    One row per lactation: id (the cow, an animal of ``pedigree``), herd, lactation (1 to 5)
    and yield (kg), sorted by cow and lactation.
additive : pandas.Series
    True breeding value (additive genetic effect, kg) of every animal, indexed by animal.
permanent : pandas.Series
    True permanent-environment effect of every cow with records, indexed by cow.
herd : pandas.Series
    True effect of every herd, indexed by herd.
residual : pandas.Series
    The temporary-environment (residual) part of each record, aligned with ``records``.
lactation_means : pandas.Series
    Mean yield of lactations 1 to 5 (the fixed effects), indexed by lactation.
variances : pandas.Series
    The true variance components (kg^2): additive, permanent, herd, residual.
inbreeding : pandas.Series
    Inbreeding coefficient of every animal, indexed by animal.
"""

_DAIRY_SD = 1200.0    # phenotypic SD of a lactation yield within lactation number (kg)
_DAIRY_LACTATION_MEANS = (8000.0, 8900.0, 9300.0, 9400.0, 9300.0)  # lactations 1..5 (kg)
_DAIRY_COHORTS = 6    # birth cohorts 0..5; cows with records are born in the last two
_DAIRY_OLDER_COWS = 0.4   # share of the cows with records born in cohort 4 (the rest in 5)
_DAIRY_BULLS = 0.04   # share of bulls among the animals without records of a cohort
_DAIRY_NO_DAM = 0.05  # probability that a cow born after cohort 0 has an unknown dam
_DAIRY_SIRE_ZIPF = 0.8    # sire popularity: weight rank^-0.8 (AI bulls, a few very popular)
_DAIRY_MIN_COHORT = 4     # animals without records per cohort, at least
# number of lactations (1..5) of a cow born in cohort 4 and in cohort 5, before the total is
# adjusted to n_records
_DAIRY_LACTATION_PROBS = ((0.15, 0.20, 0.25, 0.20, 0.20), (0.35, 0.35, 0.20, 0.10, 0.0))


def _dairy_pedigree(rng, n_animals, n_cows):
    """Rows (sire, dam as row numbers, -1 unknown), the cohort and the role of each animal:
    0 bull, 1 cow without records, 2 cow with records; parents precede their offspring."""
    n_other = n_animals - n_cows
    n_older = int(round(_DAIRY_OLDER_COWS * n_cows))
    sizes = np.diff(np.linspace(0, n_other, _DAIRY_COHORTS, dtype=np.int64).round())
    cohort, role = [], []
    for c in range(_DAIRY_COHORTS):
        roles = []
        if c < _DAIRY_COHORTS - 1:
            n_bulls = max(2, int(round(_DAIRY_BULLS * sizes[c])))
            roles = [0] * n_bulls + [1] * int(sizes[c] - n_bulls)
        roles += [2] * (n_older if c == _DAIRY_COHORTS - 2 else
                        n_cows - n_older if c == _DAIRY_COHORTS - 1 else 0)
        cohort += [c] * len(roles)
        role += list(rng.permutation(np.array(roles, dtype=np.int64)))
    cohort, role = np.array(cohort), np.array(role)
    sire = np.full(n_animals, -1)
    dam = np.full(n_animals, -1)
    for c in range(1, _DAIRY_COHORTS):
        kids = np.flatnonzero(cohort == c)
        bulls = np.flatnonzero((role == 0) & (cohort < c) & (cohort >= c - 2))
        weight = rng.permutation(np.arange(1, len(bulls) + 1) ** -_DAIRY_SIRE_ZIPF)
        sire[kids] = rng.choice(bulls, size=len(kids), p=weight / weight.sum())
        cows = np.flatnonzero((role > 0) & (cohort < c) & (cohort >= c - 3))
        dam[kids] = rng.choice(cows, size=len(kids))
        no_dam = (role[kids] > 0) & (rng.random(len(kids)) < _DAIRY_NO_DAM)
        dam[kids[no_dam]] = -1
    return sire, dam, cohort, role


def _pedigree_depth(sire, dam):
    """Generation depth: 0 for founders, 1 + the deeper known parent's otherwise (rows in
    an order where parents precede their offspring)."""
    depth = np.zeros(len(sire), dtype=np.int64)
    for i in np.flatnonzero((sire >= 0) | (dam >= 0)):
        depth[i] = 1 + max(depth[sire[i]] if sire[i] >= 0 else 0,
                           depth[dam[i]] if dam[i] >= 0 else 0)
    return depth


def _breeding_values(rng, sire, dam, variance, size=(), mendelian=None):
    r"""Breeding values ``a ~ N(0, variance A)`` from the pedigree (rows -1 unknown), exactly:
    ``a_i = (a_s + a_d) / 2 + m_i``, a missing parent contributing 0, with Mendelian sampling
    variance ``var(m_i) = d_i variance``, ``d_i = 1 - sum over known parents (1 + F_p) / 4``
    (``1/2 - (F_s + F_d)/4``, ``3/4 - F_s/4`` or 1); ``F`` by Colleau's method. Returns
    ``(a, F)``, ``a`` of shape ``(n,) + size`` (``size``: independent replicates, in the
    trailing axes); standard normal draws in row order. ``mendelian``: ``(depth, d)`` when
    known (``F`` is then None)."""
    if mendelian is None:
        depth = _pedigree_depth(sire, dam)
        F, d = _inbreeding(sire, dam, depth)
    else:
        (depth, d), F = mendelian, None
    z = rng.standard_normal((len(sire),) + tuple(size))
    a = np.sqrt(d * variance).reshape((-1,) + (1,) * (z.ndim - 1)) * z
    for g in range(1, int(depth.max()) + 1):
        for parent in (sire, dam):
            kids = np.flatnonzero((depth == g) & (parent >= 0))
            a[kids] += 0.5 * a[parent[kids]]
    return a, F


def _lactation_counts(rng, older, n_records):
    """Number of lactations (1..5) of each cow, ``older`` marking the cows of cohort 4,
    adjusted at random (one lactation added to or removed from random cows) to sum to
    ``n_records``."""
    k = np.empty(len(older), dtype=np.int64)
    for flag, probs in zip((True, False), _DAIRY_LACTATION_PROBS):
        rows = np.flatnonzero(older == flag)
        k[rows] = 1 + rng.choice(5, size=len(rows), p=probs)
    while (gap := n_records - int(k.sum())) != 0:
        can = np.flatnonzero(k < 5) if gap > 0 else np.flatnonzero(k > 1)
        pick = rng.choice(can, size=min(abs(gap), len(can)), replace=False)
        k[pick] += np.sign(gap)
    return k


def simulate_dairy_herd(n_animals=6547, n_cows=1360, n_records=3400, n_herds=57, h2=0.3,
                        pe2=0.15, herd2=0.1, seed=None):
    r"""Simulate a dairy data set: lactation yields of related cows in herds, with a pedigree.

    A design like that of pedigreemm's ``milk`` data (lactations of related cows in herds,
    with their pedigree), and of sizes of that order by default: several variance
    components (additive, permanent environment, herd) with repeated records.

    Parameters
    ----------
    n_animals : int
        Animals in the pedigree, the cows with records included.
    n_cows : int
        Cows with records (at least ``n_herds``; ``n_animals - n_cows`` at least 20).
    n_records : int
        Lactation records in all, from ``n_cows`` to ``5 n_cows``.
    n_herds : int
        Herds; every cow is in one herd.
    h2, pe2, herd2 : float in [0, 1]
        Shares of the phenotypic variance (``1200**2`` kg^2 within a lactation number) due
        to the additive genetic effect, the permanent environment of a cow and the herd; the
        residual takes the rest, ``1 - h2 - pe2 - herd2``, which must be > 0.
    seed : None, int, sequence of int, SeedSequence or Generator
        Seed of :func:`numpy.random.default_rng`. A fixed seed gives the same data set,
        byte for byte, on every machine (with the same numpy).

    Returns
    -------
    DairyHerd
        Named tuple ``(pedigree, records, additive, permanent, herd, residual,
        lactation_means, variances, inbreeding)``: the pedigree (animal, sire, dam; "0"
        unknown), the records (id, herd, lactation, yield) and the true effects.

    Notes
    -----
    The record of lactation :math:`l` of cow :math:`i` in herd :math:`h` is

    .. math::

        y_{il} = \mu_l + a_i + p_i + h_h + e_{il}, \quad
        a \sim N(0, \sigma_a^2 A),\ p_i \sim N(0, \sigma_p^2),\ h_h \sim N(0, \sigma_h^2),
        \ e_{il} \sim N(0, \sigma_e^2),

    with :math:`\mu_l` = 8000, 8900, 9300, 9400, 9300 kg for lactations 1 to 5 and
    :math:`A` the additive relationship matrix of the pedigree (twice its kinship).

    The pedigree has six overlapping birth cohorts. Cohort 0 are founders; the animals
    without records are split evenly over cohorts 0 to 4, 4% of them bulls; the cows with
    records are born in cohorts 4 (40%) and 5 (60%). An animal of cohort c has a sire drawn
    from the bulls of cohorts c - 2 and c - 1, with weights proportional to rank^-0.8 of a
    random ranking (a few popular AI bulls, whose daughters are in many herds), and a dam
    drawn uniformly from the cows (recorded or not) of cohorts c - 3 to c - 1; 5% of the
    cows born after cohort 0 have an unknown dam (sire known: one-parent animals, as in real
    herd books). Parents are drawn at random, so some animals are inbred, and some animals
    without records have no recorded descendants (the pedigree is not pruned).

    Breeding values are dropped down the pedigree exactly (Mendelian sampling): a founder
    :math:`a_i = m_i`, otherwise :math:`a_i = (a_s + a_d)/2 + m_i`, an unknown parent
    contributing 0, with :math:`\mathrm{var}(m_i) = (1/2 - (F_s + F_d)/4)\sigma_a^2` for two
    known parents, :math:`(3/4 - F_s/4)\sigma_a^2` for a known sire only and
    :math:`\sigma_a^2` for founders, :math:`F` the parents' inbreeding coefficients (computed
    from the pedigree by Colleau's method). So :math:`\mathrm{Cov}(a) = \sigma_a^2 A`
    exactly, inbreeding included.

    Every cow is in one herd, drawn at random (herd sizes vary: herd shares from a
    Dirichlet(2, ..., 2)), so herds cross sire families. A cow of cohort 4 has 1 to 5
    lactations (probabilities 0.15, 0.2, 0.25, 0.2, 0.2), one of cohort 5 has 1 to 4 (0.35,
    0.35, 0.2, 0.1); random cows then gain or lose a lactation until the total is
    ``n_records``. A cow's records are lactations 1 to her count.

    Examples
    --------
    >>> from statsmodels_kinship.simulate import simulate_dairy_herd
    >>> dairy = simulate_dairy_herd(n_animals=300, n_cows=100, n_records=250, n_herds=5,
    ...                             seed=1)
    >>> dairy.records.shape, dairy.records["id"].nunique(), dairy.records["herd"].nunique()
    ((250, 4), 100, 5)
    >>> list(dairy.records.columns), list(dairy.pedigree.columns)
    (['id', 'herd', 'lactation', 'yield'], ['animal', 'sire', 'dam'])
    >>> dairy.variances.round()
    additive     432000.0
    permanent    216000.0
    herd         144000.0
    residual     648000.0
    dtype: float64
    >>> one_parent = (dairy.pedigree["sire"] != "0") & (dairy.pedigree["dam"] == "0")
    >>> bool(one_parent.any())
    True
    """
    for name, value in (("n_animals", n_animals), ("n_cows", n_cows),
                        ("n_records", n_records), ("n_herds", n_herds)):
        if not _is_count(value):
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    n_min = (_DAIRY_COHORTS - 1) * _DAIRY_MIN_COHORT
    if n_animals - n_cows < n_min:
        raise ValueError(f"n_animals - n_cows (the animals without records) must be at least "
                         f"{n_min}; got n_animals={n_animals}, n_cows={n_cows}")
    if not n_cows <= n_records <= 5 * n_cows:
        raise ValueError(f"n_records must be between n_cows and 5 x n_cows (1 to 5 lactations "
                         f"a cow); got n_records={n_records}, n_cows={n_cows}")
    if n_herds > n_cows:
        raise ValueError(f"n_herds must be at most n_cows (every herd has a cow); got "
                         f"n_herds={n_herds}, n_cows={n_cows}")
    shares = {"additive": _check_fraction(h2, "h2"), "permanent": _check_fraction(pe2, "pe2"),
              "herd": _check_fraction(herd2, "herd2")}
    shares["residual"] = 1.0 - sum(shares.values())
    if shares["residual"] <= 0:
        raise ValueError(f"h2 + pe2 + herd2 must be < 1 (the residual variance is the rest); "
                         f"got {h2} + {pe2} + {herd2}")
    rng = as_rng(seed)
    variances = pd.Series({k: v * _DAIRY_SD ** 2 for k, v in shares.items()})

    sire, dam, cohort, role = _dairy_pedigree(rng, n_animals, n_cows)
    width = len(str(n_animals))
    ids = np.array([f"A{i + 1:0{width}d}" for i in range(n_animals)], dtype=object)
    label = np.append(ids, "0")            # row -1 -> "0"
    pedigree = pd.DataFrame({"animal": ids, "sire": label[sire], "dam": label[dam]})
    a, F = _breeding_values(rng, sire, dam, variances["additive"])

    cows = np.flatnonzero(role == 2)
    herd_size = 1 + rng.multinomial(n_cows - n_herds, rng.dirichlet(np.full(n_herds, 2.0)))
    herd_of_cow = rng.permutation(np.repeat(np.arange(n_herds), herd_size))
    herd_ids = np.array([f"H{h + 1:0{len(str(n_herds))}d}" for h in range(n_herds)],
                        dtype=object)
    k = _lactation_counts(rng, cohort[cows] == _DAIRY_COHORTS - 2, n_records)
    pe = np.sqrt(variances["permanent"]) * rng.standard_normal(n_cows)
    herd_effect = np.sqrt(variances["herd"]) * rng.standard_normal(n_herds)
    cow = np.repeat(np.arange(n_cows), k)
    lactation = np.concatenate([np.arange(1, j + 1) for j in k])
    e = np.sqrt(variances["residual"]) * rng.standard_normal(n_records)
    means = np.array(_DAIRY_LACTATION_MEANS)
    y = (means[lactation - 1] + a[cows[cow]] + pe[cow] + herd_effect[herd_of_cow[cow]] + e)
    records = pd.DataFrame({"id": ids[cows[cow]], "herd": herd_ids[herd_of_cow[cow]],
                            "lactation": lactation, "yield": y})
    animal = pd.Index(ids, name="animal")
    return DairyHerd(
        pedigree=pedigree,
        records=records,
        additive=pd.Series(a, index=animal, name="additive"),
        permanent=pd.Series(pe, index=pd.Index(ids[cows], name="id"), name="permanent"),
        herd=pd.Series(herd_effect, index=pd.Index(herd_ids, name="herd"), name="herd"),
        residual=pd.Series(e, index=records.index, name="residual"),
        lactation_means=pd.Series(means, index=pd.Index(np.arange(1, 6), name="lactation"),
                                  name="mean"),
        variances=variances,
        inbreeding=pd.Series(F, index=animal, name="inbreeding"))
