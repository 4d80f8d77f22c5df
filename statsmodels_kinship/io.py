"""Readers of study files: PLINK text (.ped/.map) and binary (.bed/.bim/.fam) genotypes with
their pedigree, and phenotype files.

Every reader labels individuals with :func:`statsmodels_kinship.kinship.individual_labels`,
the rule :func:`~statsmodels_kinship.kinship.kinship_from_pedigree` uses, so the pedigree, the
genotypes, the phenotypes and the kinship of one study align by label.
"""
from collections import namedtuple
import pathlib

import numpy as np
import pandas as pd

from ._validation import _show
from .kinship import individual_labels

__all__ = ["read_plink_ped", "read_plink_bed", "read_phenotype", "PlinkData"]

PlinkData = namedtuple("PlinkData", ["pedigree", "genotypes", "snps"])
PlinkData.__doc__ = """What the PLINK readers return; unpacks as ``ped, geno, snps``.

Attributes
----------
pedigree : pandas.DataFrame
    Columns family, individual, father, mother (strings, "0" for a missing parent), sex
    (integer, PLINK coding 1 = male, 2 = female, 0 = unknown) and phenotype (float, PLINK's
    missing code -9 read as NaN); index = labels. Ready for
    :func:`~statsmodels_kinship.kinship.kinship_from_pedigree`.
genotypes : pandas.DataFrame
    Counts (0, 1, 2; NaN when missing) of the counted allele, individuals x SNPs, index =
    labels, columns = SNP names.
snps : pandas.DataFrame
    One row per SNP: chromosome, snp, cm, bp (from the .map or .bim file), counted_allele and
    other_allele ("0" for an allele not seen in the data).
"""

_MAP_COLUMNS = ["chromosome", "snp", "cm", "bp"]
_MISSING_ALLELE = "0"
_MISSING_PHENOTYPE = -9.0


def _numbers(values, what, missing=_MISSING_PHENOTYPE):
    """Floats from strings, ``missing`` (PLINK's -9) and NA read as NaN; raises naming bad ones."""
    s = pd.Series(values, dtype=object)
    num = pd.to_numeric(s, errors="coerce")
    bad = num.isna() & s.notna() & ~s.astype(str).str.strip().str.upper().isin(["NA", "NAN", ""])
    if bad.any():
        raise ValueError(f"{what} must be numeric: {int(bad.sum())} values are not, e.g. "
                         f"{_show(s[bad].unique())}")
    return num.astype(float).mask(num == missing).to_numpy()


def _pedigree_frame(family, individual, father, mother, sex, phenotype, labels):
    """The pedigree table of a PLINK file set, indexed by labels."""
    sex_num = _numbers(sex, "sex", missing=np.nan)
    if np.isnan(sex_num).any() or (sex_num != np.round(sex_num)).any():
        raise ValueError(f"sex must be an integer code (1 = male, 2 = female, 0 = unknown), "
                         f"got {_show(pd.unique(np.asarray(sex, dtype=object)))}")
    ped = pd.DataFrame({
        "family": np.asarray(family, dtype=str).astype(object),
        "individual": np.asarray(individual, dtype=str).astype(object),
        "father": np.asarray(father, dtype=str).astype(object),
        "mother": np.asarray(mother, dtype=str).astype(object),
        "sex": sex_num.astype(np.int64),
        "phenotype": _numbers(phenotype, "phenotype"),
    })
    ped.index = individual_labels(ped["family"], ped["individual"], how=labels)
    return ped


def _counted(n_a, allele_a, allele_b, count, snps):
    """Recode counts of allele A into counts of the allele chosen by ``count``.

    ``n_a`` (n, m) counts allele ``allele_a[j]`` (NaN missing); ``allele_b`` is the other
    allele or "0" when unseen. Returns counts, counted allele and other allele per SNP.
    """
    allele_a = np.asarray(allele_a, dtype=object)
    allele_b = np.asarray(allele_b, dtype=object)
    if count in ("minor", "major"):
        obs = ~np.isnan(n_a)
        twice_freq = np.divide(np.where(obs, n_a, 0).sum(axis=0), obs.sum(axis=0),
                               out=np.zeros(n_a.shape[1]), where=obs.any(axis=0))
        a_first = allele_a.astype(str) < allele_b.astype(str)
        # A is minor when rarer, or on a tie when its code sorts first
        a_minor = (twice_freq < 1) | ((twice_freq == 1) & a_first)
        flip = a_minor if count == "major" else ~a_minor
    elif isinstance(count, str) and count != _MISSING_ALLELE:
        flip = (allele_a != count) & ((allele_b == count) | (allele_b == _MISSING_ALLELE))
        neither = (allele_a != count) & (allele_a != _MISSING_ALLELE) & ~flip
        if neither.any():
            shown = [f"{snps[j]} ({allele_a[j]}/{allele_b[j]})" for j in np.flatnonzero(neither)]
            raise ValueError(f"allele {count!r} is not an allele of {int(neither.sum())} SNPs: "
                             f"{_show(shown)}")
    else:
        raise ValueError(f"count must be 'minor', 'major' or an allele code such as '2' or "
                         f"'A', got {count!r}")
    counts = np.where(flip, 2.0 - n_a, n_a)
    return counts, np.where(flip, allele_b, allele_a), np.where(flip, allele_a, allele_b)


def _study(pedigree, n_a, allele_a, allele_b, snps, count):
    """Assemble a :class:`PlinkData` from the parsed pieces."""
    names = snps["snp"].to_numpy()
    if not snps["snp"].is_unique:
        dup = snps["snp"][snps["snp"].duplicated()].unique()
        raise ValueError(f"SNP names are not unique: {_show(dup)}")
    counts, counted, other = _counted(n_a, allele_a, allele_b, count, names)
    snps = snps.assign(counted_allele=counted, other_allele=other).reset_index(drop=True)
    geno = pd.DataFrame(counts, index=pedigree.index, columns=pd.Index(names, name="snp"))
    return PlinkData(pedigree, geno, snps)


def _read_map(map_path, n_snps):
    snps = pd.read_csv(map_path, sep=r"\s+", header=None, dtype=str)
    if snps.shape[1] != 4:
        raise ValueError(f"{map_path}: a .map file has 4 columns (chromosome, SNP, cM, bp), "
                         f"this one has {snps.shape[1]}")
    if len(snps) != n_snps:
        raise ValueError(f"{map_path} lists {len(snps)} SNPs but the .ped file has genotypes "
                         f"for {n_snps}")
    snps.columns = _MAP_COLUMNS
    return snps.astype({"cm": float, "bp": np.int64})


def _allele_counts(alleles, path, labels, snps):
    """Counts of the first allele (in code order) of each SNP from the two allele columns.

    Returns ``(n_a, allele_a, allele_b)``; raises on more than two alleles or half-missing
    calls, naming the SNPs or individuals.
    """
    m = alleles.shape[1] // 2
    codes, inverse = np.unique(alleles, return_inverse=True)
    inverse = inverse.reshape(alleles.shape)
    n_codes = len(codes)
    per_snp = np.bincount((inverse + n_codes * (np.arange(2 * m) // 2)).ravel(),
                          minlength=m * n_codes).reshape(m, n_codes)
    missing = np.flatnonzero(codes == _MISSING_ALLELE)
    per_snp[:, missing] = 0
    seen = per_snp > 0
    multi = np.flatnonzero(seen.sum(axis=1) > 2)
    if len(multi):
        shown = [f"{snps[j]} ({'/'.join(codes[seen[j]])})" for j in multi]
        raise ValueError(f"{path}: SNPs with more than two alleles: {_show(shown)}")
    # the first and second allele seen (codes are sorted); "0" when not seen
    first = np.where(seen.any(axis=1), np.argmax(seen, axis=1), -1)
    last = np.where(seen.sum(axis=1) == 2, n_codes - 1 - np.argmax(seen[:, ::-1], axis=1), -1)
    padded = np.append(codes, _MISSING_ALLELE).astype(object)
    allele_a, allele_b = padded[first], padded[last]
    one, two = inverse[:, 0::2], inverse[:, 1::2]
    miss1 = np.isin(one, missing)
    miss2 = np.isin(two, missing)
    half = miss1 != miss2
    if half.any():
        shown = [f"{labels[i]} at {snps[j]}" for i, j in np.argwhere(half)]
        raise ValueError(f"{path}: half-missing genotypes (one allele 0, the other not): "
                         f"{_show(shown)}")
    n_a = (one == first).astype(float) + (two == first)
    n_a[miss1] = np.nan
    return n_a, allele_a, allele_b


def read_plink_ped(ped_path, map_path=None, *, count="minor", labels="auto"):
    """Read a PLINK text file set (.ped, optionally .map).

    Parameters
    ----------
    ped_path : str or path-like
        The .ped file: whitespace-separated, no header, one line per individual: family ID,
        individual ID, father ID, mother ID, sex, phenotype, then two allele columns per SNP.
        Alleles are coded 1/2, letters (A/C/G/T) or any other token; 0 is missing.
    map_path : str or path-like, optional
        The .map file (chromosome, SNP name, genetic position in cM, base-pair position), one
        line per SNP in the order of the .ped columns. Without it SNPs are named
        ``SNP1 ... SNPm`` and their positions are unknown (chromosome "0", cM 0, bp 0, PLINK's
        codes for unknown).
    count : str
        Which allele of each SNP is counted: ``"minor"`` (default) the less frequent allele
        among the genotypes in the file (on a tie, the allele whose code sorts first);
        ``"major"`` the other one; or an allele code (``"2"``, ``"A"``) counted at every SNP
        (a SNP where that allele is absent counts 0; a SNP with two other alleles is an
        error).
    labels : {"auto", "individual", "family_individual"}
        How individuals are labelled, see :func:`~statsmodels_kinship.kinship.individual_labels`.

    Returns
    -------
    PlinkData
        Named tuple ``(pedigree, genotypes, snps)``: the pedigree table, the allele counts
        (float, NaN missing) labelled by individual and SNP, and the SNP table with the
        counted and the other allele.

    Raises
    ------
    ValueError
        For a line count of columns that is not 6 + 2 x (number of SNPs), a .map that does
        not list that many SNPs, a SNP with more than two alleles, a half-missing genotype
        (one allele 0), duplicate labels or SNP names, or non-numeric sex or phenotype.

    Notes
    -----
    The minor allele is defined in the sample read, not in a reference population, so the
    counted allele of a SNP can differ between two files of the same SNPs; pass an allele code
    to fix it. The seed study's ``design_matrix.csv`` (``allele1 + allele2 - 2``) counts the
    allele coded ``2``, which is the major allele at most of its SNPs: read it with
    ``count="2"``. Which allele is counted does not change a GRM
    (:func:`~statsmodels_kinship.kinship.genomic_relationship_matrix`) or the fit of a SNP
    effect up to its sign.

    References
    ----------
    .. [1] Purcell, S. et al. (2007). PLINK: a tool set for whole-genome association and
       population-based linkage analyses. *American Journal of Human Genetics* 81(3),
       559-575. File formats: https://www.cog-genomics.org/plink/1.9/formats#ped

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from statsmodels_kinship.io import read_plink_ped
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "toy.ped").write_text("F1 1 0 0 1 -9 1 1 A G\\n"
    ...                                "F1 2 0 0 2 1.5 1 2 G G\\n"
    ...                                "F1 3 1 2 1 0.2 1 2 0 0\\n")
    >>> _ = (d / "toy.map").write_text("1 rs1 0 100\\n1 rs2 0 200\\n")
    >>> ped, geno, snps = read_plink_ped(d / "toy.ped", d / "toy.map")
    >>> geno
    snp  rs1  rs2
    1    0.0  1.0
    2    1.0  0.0
    3    1.0  NaN
    >>> snps[["snp", "counted_allele", "other_allele"]]
       snp counted_allele other_allele
    0  rs1              2            1
    1  rs2              A            G
    >>> read_plink_ped(d / "toy.ped", d / "toy.map", count="major").genotypes["rs1"].tolist()
    [2.0, 1.0, 1.0]
    """
    raw = pd.read_csv(ped_path, sep=r"\s+", header=None, dtype=str, na_filter=False)
    n_cols = raw.shape[1]
    if n_cols < 6 or (n_cols - 6) % 2:
        raise ValueError(f"{ped_path}: a .ped line has 6 pedigree columns then 2 allele "
                         f"columns per SNP; these lines have {n_cols} columns")
    m = (n_cols - 6) // 2
    if map_path is None:
        snps = pd.DataFrame({"chromosome": "0", "snp": [f"SNP{j + 1}" for j in range(m)],
                             "cm": 0.0, "bp": 0}, columns=_MAP_COLUMNS)
    else:
        snps = _read_map(map_path, m)
    pedigree = _pedigree_frame(*(raw[c] for c in range(6)), labels=labels)
    n_a, allele_a, allele_b = _allele_counts(raw.iloc[:, 6:].to_numpy(dtype=str), ped_path,
                                             pedigree.index, snps["snp"].to_numpy())
    return _study(pedigree, n_a, allele_a, allele_b, snps, count)


def read_plink_bed(prefix, *, count="minor", labels="auto"):
    """Read a PLINK binary file set (.bed, .bim, .fam) through bed-reader.

    Parameters
    ----------
    prefix : str or path-like
        Path of the file set without extension (``data`` for ``data.bed``, ``data.bim``,
        ``data.fam``); a path ending in ``.bed`` is accepted too.
    count : str
        Which allele is counted: ``"minor"`` (default), ``"major"`` or an allele code, as in
        :func:`read_plink_ped`.
    labels : {"auto", "individual", "family_individual"}
        How individuals are labelled, see :func:`~statsmodels_kinship.kinship.individual_labels`.

    Returns
    -------
    PlinkData
        Named tuple ``(pedigree, genotypes, snps)`` as from :func:`read_plink_ped`; ``snps``
        holds the .bim columns (chromosome, snp, cm, bp) and the counted and other allele.

    Raises
    ------
    ImportError
        When bed-reader is not installed (``pip install statsmodels-kinship[plink]``).
    FileNotFoundError
        Naming the missing files of the set.

    Notes
    -----
    The whole genotype matrix is read into memory as float64 (8 bytes per genotype). The
    minor allele is defined in the sample, as in :func:`read_plink_ped`; the .bim allele
    columns only name the alleles.

    References
    ----------
    .. [1] Chang, C. C. et al. (2015). Second-generation PLINK: rising to the challenge of
       larger and richer datasets. *GigaScience* 4, 7.
       File format: https://www.cog-genomics.org/plink/1.9/formats#bed
    .. [2] bed-reader: https://fastlmm.github.io/bed-reader/

    Examples
    --------
    >>> import pathlib, tempfile
    >>> import numpy as np
    >>> from bed_reader import to_bed
    >>> from statsmodels_kinship.io import read_plink_bed
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> to_bed(d / "toy.bed", np.array([[2.0, 0.0], [1.0, np.nan], [2.0, 2.0]]),
    ...        properties={"fid": ["F1", "F1", "F2"], "iid": ["a", "b", "c"],
    ...                    "sid": ["rs1", "rs2"], "allele_1": ["A", "C"],
    ...                    "allele_2": ["G", "T"]})
    >>> ped, geno, snps = read_plink_bed(d / "toy")
    >>> geno
    snp  rs1  rs2
    a    0.0  0.0
    b    1.0  NaN
    c    0.0  2.0
    >>> snps[["snp", "counted_allele", "other_allele"]]
       snp counted_allele other_allele
    0  rs1              G            A
    1  rs2              C            T
    """
    try:
        from bed_reader import open_bed
    except ImportError as err:
        raise ImportError("read_plink_bed needs the optional dependency bed-reader: "
                          "pip install statsmodels-kinship[plink]") from err
    prefix = pathlib.Path(prefix)
    if prefix.suffix == ".bed":
        prefix = prefix.with_suffix("")
    files = {ext: prefix.parent / (prefix.name + ext) for ext in (".bed", ".bim", ".fam")}
    absent = [str(f) for f in files.values() if not f.is_file()]
    if absent:
        raise FileNotFoundError(f"PLINK binary file set {str(prefix)!r} is incomplete: "
                                f"{', '.join(absent)} not found")
    with open_bed(files[".bed"], fam_location=files[".fam"], bim_location=files[".bim"],
                  count_A1=True) as bed:
        pedigree = _pedigree_frame(bed.fid, bed.iid, bed.father, bed.mother, bed.sex,
                                   bed.pheno, labels=labels)
        snps = pd.DataFrame({"chromosome": np.asarray(bed.chromosome, dtype=object),
                             "snp": np.asarray(bed.sid, dtype=object),
                             "cm": np.asarray(bed.cm_position, dtype=float),
                             "bp": np.asarray(bed.bp_position, dtype=np.int64)})
        n_a = bed.read(dtype="float64")
        allele_a = np.asarray(bed.allele_1, dtype=object)
        allele_b = np.asarray(bed.allele_2, dtype=object)
    return _study(pedigree, n_a, allele_a, allele_b, snps, count)


def read_phenotype(path, *, names=None, labels="auto"):
    """Read a PLINK-style phenotype file (family, individual, then one or more traits).

    Parameters
    ----------
    path : str or path-like
        Whitespace-separated text, one line per individual: family ID, individual ID, trait
        values. A first line starting ``FID IID`` is a header naming the traits; otherwise
        there is no header. ``-9`` and ``NA`` are missing values.
    names : list of str, optional
        Trait names, overriding the header. Default: the header's names, else ``"trait"`` for
        a single trait and ``"trait1", "trait2", ...`` for several.
    labels : {"auto", "individual", "family_individual"}
        How individuals are labelled, see :func:`~statsmodels_kinship.kinship.individual_labels`;
        use the same value as for the pedigree so the labels match.

    Returns
    -------
    pandas.DataFrame
        Columns ``family``, ``individual`` (strings) and one float column per trait (NaN for
        missing); index = labels. ``df["trait"]`` is the response as a labelled Series.

    Raises
    ------
    ValueError
        For fewer than 3 columns, a wrong number of names, non-numeric trait values (named)
        or duplicate labels.

    References
    ----------
    .. [1] PLINK 1.9 alternate phenotype files:
       https://www.cog-genomics.org/plink/1.9/input#pheno

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from statsmodels_kinship.io import read_phenotype
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "toy.phe").write_text("F1 1 10.5\\nF1 2 -9\\nF2 1 9.75\\n")
    >>> read_phenotype(d / "toy.phe")
         family individual  trait
    F1_1     F1          1  10.50
    F1_2     F1          2    NaN
    F2_1     F2          1   9.75
    """
    raw = pd.read_csv(path, sep=r"\s+", header=None, dtype=str, na_filter=False)
    if raw.shape[1] < 3:
        raise ValueError(f"{path}: a phenotype file has family, individual and at least one "
                         f"trait column; it has {raw.shape[1]} columns")
    header = None
    if len(raw) and [str(v).upper() for v in raw.iloc[0, :2]] == ["FID", "IID"]:
        header, raw = list(raw.iloc[0, 2:]), raw.iloc[1:].reset_index(drop=True)
    n_traits = raw.shape[1] - 2
    if names is None:
        names = header or (["trait"] if n_traits == 1
                           else [f"trait{k + 1}" for k in range(n_traits)])
    names = list(names)
    if len(names) != n_traits:
        raise ValueError(f"{path} has {n_traits} trait columns but {len(names)} names were "
                         f"given: {names}")
    out = pd.DataFrame({"family": raw[0].astype(object), "individual": raw[1].astype(object)})
    for k, name in enumerate(names):
        out[name] = _numbers(raw[k + 2], f"{path}: trait {name!r}")
    out.index = individual_labels(out["family"], out["individual"], how=labels)
    return out
