"""Readers of study files: PLINK text (.ped/.map) and binary (.bed/.bim/.fam) genotypes with
their pedigree, phenotype files, and GCTA's binary genomic relationship matrix (.grm.bin).

Every reader labels individuals with :func:`statsmodels_kinship.kinship.individual_labels`,
the rule :func:`~statsmodels_kinship.kinship.kinship_from_pedigree` uses, so the pedigree, the
genotypes, the phenotypes and the kinship of one study align by label.
"""
from collections import namedtuple
import os
import pathlib

import numpy as np
import pandas as pd

from ._validation import _show
from .kinship import individual_labels

__all__ = ["read_plink_ped", "read_plink_bed", "read_phenotype", "read_gcta_grm", "PlinkData"]

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
    One row per SNP, indexed by SNP name (index ``snp``, the columns of ``genotypes``):
    chromosome, cm (genetic position, cM), position (base pairs), from the .map or .bim
    file, then counted_allele and other_allele ("0" for an allele not seen in the data).
    Ready for :func:`~statsmodels_kinship.plotting.manhattan_plot` once joined to a scan.
"""

_MAP_COLUMNS = ["chromosome", "snp", "cm", "bp"]
_BIM_COLUMNS = _MAP_COLUMNS + ["allele_1", "allele_2"]
_FAM_COLUMNS = ["family", "individual", "father", "mother", "sex", "phenotype"]
_MISSING_ALLELE = "0"
_MISSING_PHENOTYPE = -9.0


def _read_fields(path, what, expected=None):
    """The whitespace-separated fields of a text file, one row per non-blank line.

    Parameters
    ----------
    path : path-like
    what : str
        What a line holds, for messages ("6 pedigree columns, then ...").
    expected : int or tuple of int, optional
        The number of fields of every line; a tuple allows several, but all lines must
        agree. Default: the number on most lines.

    Returns
    -------
    fields : ndarray of object (str), shape (lines, fields)
    lines : ndarray of int
        The number (from 1) of each row's line in the file.

    Raises
    ------
    ValueError
        Naming the file and the lines with another number of fields, or for an empty file.
    """
    with open(path) as f:
        text = f.read().splitlines()
    lines = np.array([i for i, line in enumerate(text, 1) if line.strip()], dtype=np.int64)
    rows = [text[i - 1].split() for i in lines]
    if not rows:
        raise ValueError(f"{path} is empty; expected lines of {what}")
    counts = np.array([len(r) for r in rows])
    if isinstance(expected, int):
        n = expected
    else:  # the number on most lines (among the allowed ones); on a tie, the first line's
        freq = np.bincount(counts)
        candidates = [k for k in (expected or range(len(freq))) if k < len(freq) and freq[k]]
        n = max(candidates, key=lambda k: (freq[k], k == counts[0])) if candidates \
            else counts[0]
    allowed = expected if isinstance(expected, tuple) else (n,)
    wrong = np.flatnonzero(counts != n) if n in allowed else np.arange(len(rows))
    if len(wrong):
        shown = ", ".join(f"line {lines[i]} ({counts[i]} fields)" for i in wrong[:5])
        more = f" and {len(wrong) - 5} more" if len(wrong) > 5 else ""
        want = str(n) if n in allowed else " or ".join(str(k) for k in allowed)
        raise ValueError(f"{path}: {len(wrong)} line{'s' if len(wrong) > 1 else ''} with a "
                         f"wrong number of fields, {want} expected ({what}): {shown}{more}")
    return np.array(rows, dtype=object).reshape(len(rows), n), lines


def _numbers(values, what, missing=_MISSING_PHENOTYPE, lines=None):
    """Floats from strings, ``missing`` (PLINK's -9) and NA read as NaN; raises naming bad ones
    and, given ``lines`` (the line of each value in its file), where they are."""
    s = pd.Series(values, dtype=object)
    num = pd.to_numeric(s, errors="coerce")
    bad = num.isna() & s.notna() & ~s.astype(str).str.strip().str.upper().isin(["NA", "NAN", ""])
    if bad.any():
        n_bad = int(bad.sum())
        raise ValueError(f"{what} must be numeric: {n_bad} value{'s are' if n_bad > 1 else ' is'}"
                         f" not, e.g. {_where(s, bad, lines)}")
    return num.astype(float).mask(num == missing).to_numpy()


def _where(values, bad, lines):
    """The first few ``values[bad]``, with their line numbers when ``lines`` is given."""
    idx = np.flatnonzero(np.asarray(bad))
    values = np.asarray(values, dtype=object)
    if lines is None:
        return _show(pd.unique(values[idx]))
    shown = ", ".join(f"{values[i]!r} (line {lines[i]})" for i in idx[:5])
    return shown + (f" and {len(idx) - 5} more" if len(idx) > 5 else "")


def _pedigree_frame(family, individual, father, mother, sex, phenotype, labels, path=None,
                    lines=None):
    """The pedigree table of a PLINK file set, indexed by labels; ``path`` and ``lines`` (the
    line of each individual in it) locate bad values in messages."""
    at = f"{path}: " if path is not None else ""
    sex_num = _numbers(sex, f"{at}sex", missing=np.nan, lines=lines)
    bad = np.isnan(sex_num) | (sex_num != np.round(sex_num))
    if bad.any():
        raise ValueError(f"{at}sex must be an integer code (1 = male, 2 = female, 0 = "
                         f"unknown), got {_where(sex, bad, lines)}")
    ped = pd.DataFrame({
        "family": np.asarray(family, dtype=str).astype(object),
        "individual": np.asarray(individual, dtype=str).astype(object),
        "father": np.asarray(father, dtype=str).astype(object),
        "mother": np.asarray(mother, dtype=str).astype(object),
        "sex": sex_num.astype(np.int64),
        "phenotype": _numbers(phenotype, f"{at}phenotype", lines=lines),
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
    snps = (snps.assign(counted_allele=counted, other_allele=other)
            .rename(columns={"bp": "position"}).set_index("snp"))
    geno = pd.DataFrame(counts, index=pedigree.index, columns=pd.Index(names, name="snp"))
    return PlinkData(pedigree, geno, snps)


def _snp_table(fields, lines, path, columns):
    """SNP table from the fields of a .map or .bim file; cM and bp checked as numbers."""
    snps = pd.DataFrame(fields, columns=columns)
    cm = _numbers(snps["cm"], f"{path}: genetic position (cM)", missing=np.nan, lines=lines)
    bp = _numbers(snps["bp"], f"{path}: base-pair position", missing=np.nan, lines=lines)
    bad = np.isnan(bp) | (bp != np.round(bp))
    if bad.any():
        raise ValueError(f"{path}: base-pair position must be an integer, got "
                         f"{_where(snps['bp'], bad, lines)}")
    bad = np.isnan(cm)
    if bad.any():
        raise ValueError(f"{path}: genetic position (cM) must be a number, got "
                         f"{_where(snps['cm'], bad, lines)}")
    return snps.assign(cm=cm, bp=bp.astype(np.int64))


def _read_map(map_path):
    """The SNP table of a .map file: 4 columns (chromosome, SNP, cM, bp), or 3 without the
    cM (PLINK reads both; cM 0 then, PLINK's code for unknown)."""
    fields, lines = _read_fields(map_path, "chromosome, SNP, cM, bp; or chromosome, SNP, bp",
                                 expected=(4, 3))
    if fields.shape[1] == 3:
        fields = np.insert(fields, 2, "0", axis=1)
    return _snp_table(fields, lines, map_path, _MAP_COLUMNS)


def _read_bim(bim_path):
    """The SNP table of a .bim file (chromosome, SNP, cM, bp, allele 1, allele 2)."""
    fields, lines = _read_fields(bim_path, "chromosome, SNP, cM, bp, allele 1, allele 2",
                                 expected=6)
    return _snp_table(fields, lines, bim_path, _BIM_COLUMNS)


def _read_fam(fam_path, labels):
    """The pedigree table of a .fam file (family, individual, father, mother, sex,
    phenotype), indexed by labels."""
    fields, lines = _read_fields(fam_path, ", ".join(_FAM_COLUMNS), expected=6)
    return _pedigree_frame(*fields.T, labels=labels, path=fam_path, lines=lines)


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
        line per SNP in the order of the .ped columns; a 3-column .map without the cM
        position is read too (cM 0), as PLINK does. Without it SNPs are named
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
        Naming the file and the lines: for lines whose number of fields differs from the
        others' (a .ped line missing a SNP, a .map line missing a column), a .ped whose lines
        do not have 6 + 2 x (number of SNPs) fields, a .map that does not list that many
        SNPs, non-numeric sex, phenotype or positions; also for a SNP with more than two
        alleles, a half-missing genotype (one allele 0), duplicate labels or SNP names.

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
    >>> snps  # doctest: +NORMALIZE_WHITESPACE
        chromosome   cm  position counted_allele other_allele
    snp
    rs1          1  0.0       100              2            1
    rs2          1  0.0       200              A            G
    >>> read_plink_ped(d / "toy.ped", d / "toy.map", count="major").genotypes["rs1"].tolist()
    [2.0, 1.0, 1.0]
    """
    fields, lines = _read_fields(ped_path, "6 pedigree columns, then 2 alleles per SNP")
    n_cols = fields.shape[1]
    if n_cols < 6 or (n_cols - 6) % 2:
        raise ValueError(f"{ped_path}: a .ped line has 6 pedigree columns then 2 allele "
                         f"columns per SNP; these lines have {n_cols} columns")
    m = (n_cols - 6) // 2
    if map_path is None:
        snps = pd.DataFrame({"chromosome": "0", "snp": [f"SNP{j + 1}" for j in range(m)],
                             "cm": 0.0, "bp": 0}, columns=_MAP_COLUMNS)
    else:
        snps = _read_map(map_path)
        if len(snps) != m:
            raise ValueError(f"{map_path} lists {len(snps)} SNPs but the .ped file has "
                             f"genotypes for {m}")
    pedigree = _pedigree_frame(*fields[:, :6].T, labels=labels, path=ped_path, lines=lines)
    n_a, allele_a, allele_b = _allele_counts(fields[:, 6:].astype(str), ped_path,
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
    ValueError
        Naming the file and the lines, for .fam or .bim lines without exactly 6 fields and
        non-numeric sex, phenotype or positions (the .fam and .bim are read here, the .bed
        by bed-reader).

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
    >>> snps[["counted_allele", "other_allele"]]  # doctest: +NORMALIZE_WHITESPACE
        counted_allele other_allele
    snp
    rs1              G            A
    rs2              C            T
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
    pedigree = _read_fam(files[".fam"], labels)
    bim = _read_bim(files[".bim"])
    with open_bed(files[".bed"], iid_count=len(pedigree), sid_count=len(bim),
                  count_A1=True) as bed:
        n_a = bed.read(dtype="float64")
    snps = bim[_MAP_COLUMNS]
    return _study(pedigree, n_a, bim["allele_1"].to_numpy(), bim["allele_2"].to_numpy(), snps,
                  count)


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
        For fewer than 3 columns, lines with another number of fields than the others
        (named by line), a wrong number of names, non-numeric trait values (named, with
        their lines) or duplicate labels.

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
    raw, lines = _read_fields(path, "family, individual, then one value per trait")
    if raw.shape[1] < 3:
        raise ValueError(f"{path}: a phenotype file has family, individual and at least one "
                         f"trait column; it has {raw.shape[1]} columns")
    header = None
    if [str(v).upper() for v in raw[0, :2]] == ["FID", "IID"]:
        header, raw, lines = list(raw[0, 2:]), raw[1:], lines[1:]
    raw = pd.DataFrame(raw)
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
        out[name] = _numbers(raw[k + 2], f"{path}: trait {name!r}", lines=lines)
    out.index = individual_labels(out["family"], out["individual"], how=labels)
    return out


def read_gcta_grm(prefix, *, n_snps=False, labels="auto"):
    r"""Read a genomic relationship matrix in GCTA's binary format (.grm.bin, .grm.N.bin, .grm.id).

    Parameters
    ----------
    prefix : str or path-like
        Path of the file set without extension (``study`` for ``study.grm.bin``,
        ``study.grm.N.bin`` and ``study.grm.id``); a path ending in ``.grm.bin`` is accepted
        too.
    n_snps : bool
        Also read ``prefix.grm.N.bin``, the number of SNPs behind each entry, and return it.
    labels : {"auto", "individual", "family_individual"}
        How individuals are labelled from the family and individual IDs of the .grm.id file,
        see :func:`~statsmodels_kinship.kinship.individual_labels`; use the value given to
        the other readers of the study so that the labels match.

    Returns
    -------
    grm : pandas.DataFrame, shape (n, n)
        The symmetric matrix, float32 as stored (about 7 significant digits), with index =
        columns = labels; ready to be the ``kinship`` of
        :class:`~statsmodels_kinship.KinshipMixedLM`.
    n : pandas.DataFrame, shape (n, n)
        Only with ``n_snps=True``: the number of SNPs of each entry (float32), labelled alike.

    Raises
    ------
    FileNotFoundError
        Naming the missing files.
    ValueError
        For a .grm.id line that is not two fields, duplicate labels, or a binary file whose
        size is not that of the lower triangle of n x n float32 values, n the number of
        lines of the .grm.id file (the message names the file and both sizes).

    Notes
    -----
    The format is that of GCTA's ``--make-grm`` (also written by PLINK 1.9
    ``--make-grm-bin``, LDAK and others): ``.grm.id`` holds one line per individual, family
    and individual ID separated by white space; ``.grm.bin`` the lower triangle of the
    matrix, diagonal included, row by row (:math:`A_{11}, A_{21}, A_{22}, A_{31}, \dots`),
    as little-endian 4-byte floats, :math:`n (n + 1) / 2` of them; ``.grm.N.bin`` the same
    layout for the number of SNPs. Values are stored in float32, so the matrix is
    symmetric and positive semi-definite only up to float32 rounding (relative 6e-8).

    References
    ----------
    .. [1] Yang, J., Lee, S. H., Goddard, M. E. and Visscher, P. M. (2011). GCTA: a tool for
       genome-wide complex trait analysis. *American Journal of Human Genetics* 88(1), 76-82.
       File format: https://yanglab.westlake.edu.cn/software/gcta/#MakingaGRM

    Examples
    --------
    >>> import pathlib, tempfile
    >>> import numpy as np
    >>> from statsmodels_kinship.io import read_gcta_grm
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "toy.grm.id").write_text("F1 a\nF1 b\nF2 c\n")
    >>> # lower triangle row by row: A11, A21, A22, A31, A32, A33
    >>> np.array([1.0, 0.5, 1.1, -0.1, 0.0, 0.9], dtype="<f4").tofile(d / "toy.grm.bin")
    >>> read_gcta_grm(d / "toy")
         a    b    c
    a  1.0  0.5 -0.1
    b  0.5  1.1  0.0
    c -0.1  0.0  0.9
    """
    prefix = str(os.fspath(prefix))
    if prefix.endswith(".grm.bin"):
        prefix = prefix[:-len(".grm.bin")]
    files = {ext: pathlib.Path(prefix + ext) for ext in (".grm.id", ".grm.bin")
             + ((".grm.N.bin",) if n_snps else ())}
    absent = [str(f) for f in files.values() if not f.is_file()]
    if absent:
        raise FileNotFoundError(f"GCTA GRM file set {prefix!r} is incomplete: "
                                f"{', '.join(absent)} not found")
    ids, _ = _read_fields(files[".grm.id"], "family ID, individual ID", expected=2)
    index = individual_labels(ids[:, 0], ids[:, 1], how=labels)
    out = [_lower_triangle(files[ext], len(index), files[".grm.id"], index)
           for ext in files if ext != ".grm.id"]
    return tuple(out) if n_snps else out[0]


def _lower_triangle(path, n, id_path, index):
    """The symmetric float32 matrix stored as its lower triangle in ``path``."""
    need = n * (n + 1) // 2
    size = os.path.getsize(path)
    if size != 4 * need:
        hint = " (the size of float64 values, not float32)" if size == 8 * need else ""
        raise ValueError(f"{path} has {size} bytes, but the {n} individuals of {id_path} "
                         f"need n (n + 1) / 2 = {need} float32 values, {4 * need} bytes{hint}")
    values = np.fromfile(path, dtype="<f4")
    out = np.zeros((n, n), dtype=np.float32)
    starts = np.arange(n) * (np.arange(n) + 1) // 2  # where row i of the triangle starts
    for i, start in enumerate(starts):
        out[i, :i + 1] = values[start:start + i + 1]
    step = 1024  # the upper triangle from the lower, a block of columns at a time
    for j in range(0, n, step):
        k = min(j + step, n)
        out[j:k, k:] = out[k:, j:k].T
        out[j:k, j:k] += np.tril(out[j:k, j:k], -1).T
    return pd.DataFrame(out, index=index, columns=index)
