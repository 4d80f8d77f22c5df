"""Tests of statsmodels_kinship.io: PLINK text and binary readers and the phenotype reader.

The seed study's files are the reference (``design_matrix.csv``, ``phenotype.csv`` and
``kinship_matrix.csv`` were made from ``seqsimla/data1.ped`` and ``data1.phe``); small files
written in the tests pin down allele coding, missing values and errors; the binary reader is
checked against the text reader on the same data.
"""
import doctest
import sys

import numpy as np
import pandas as pd
import pytest

from statsmodels_kinship import io as skio
from statsmodels_kinship.io import read_phenotype, read_plink_bed, read_plink_ped
from statsmodels_kinship.kinship import kinship_from_pedigree


def _seed_ped(seed_dir, **kwargs):
    return read_plink_ped(seed_dir / "seqsimla" / "data1.ped",
                          seed_dir / "seqsimla" / "data.map", **kwargs)


def _design(seed_dir):
    return pd.read_csv(seed_dir / "design_matrix.csv", header=None).to_numpy(float)


# --- seed study ----------------------------------------------------------------------------

def test_seed_ped_reproduces_design_matrix(seed_dir):
    # design_matrix.csv column j = allele1 + allele2 - 2 of SNP j: the count of allele "2"
    ped, geno, snps = _seed_ped(seed_dir, count="2")
    np.testing.assert_array_equal(geno.to_numpy(), _design(seed_dir))
    assert list(geno.columns) == [f"snp{j + 1}" for j in range(130)]  # names from data.map
    assert (snps["counted_allele"] != "1").all()
    assert list(snps.columns) == ["chromosome", "cm", "position", "counted_allele",
                                  "other_allele"]
    assert snps.index.equals(geno.columns)
    assert snps["position"].iloc[0] == 2 and snps["cm"].iloc[0] == 0.000002
    assert geno.index.equals(ped.index)
    assert ped.shape == (1200, 6) and ped.index[4] == "DFAMS1_4"
    assert ped.loc["DFAMS1_4", ["father", "mother", "sex"]].tolist() == ["2", "1", 2]


def test_seed_minor_allele_counts(seed_dir):
    d = _design(seed_dir)
    freq2 = d.mean(axis=0) / 2
    assert not np.any(freq2 == 0.5)  # no ties to break in the seed
    # allele "2" is the major allele at most SNPs, so design_matrix.csv is *not* minor counts
    assert (freq2 > 0.5).sum() == 104
    expected = np.where(freq2 > 0.5, 2 - d, d)
    _, geno, snps = _seed_ped(seed_dir)  # count="minor"
    np.testing.assert_array_equal(geno.to_numpy(), expected)
    assert (geno.mean(axis=0) <= 1).all()
    mono = (freq2 == 0) | (freq2 == 1)
    assert (snps.loc[mono, "counted_allele"] == "0").all() and mono.sum() == 5
    np.testing.assert_array_equal(_seed_ped(seed_dir, count="major").genotypes, 2 - expected)


def test_seed_pedigree_gives_kinship2_matrix(seed_dir):
    ped = _seed_ped(seed_dir).pedigree
    ref = pd.read_csv(seed_dir / "kinship_matrix.csv", header=None).to_numpy(float)
    k = kinship_from_pedigree(ped)
    pd.testing.assert_index_equal(k.index, ped.index)
    np.testing.assert_allclose(k.to_numpy(), ref, rtol=0, atol=1e-12)


def test_seed_phenotype(seed_dir):
    phe = read_phenotype(seed_dir / "seqsimla" / "data1.phe")
    y = pd.read_csv(seed_dir / "phenotype.csv", header=None)[0].to_numpy()
    np.testing.assert_array_equal(phe["trait"].to_numpy(), y)
    assert list(phe.columns) == ["family", "individual", "trait"]
    pd.testing.assert_index_equal(phe.index, _seed_ped(seed_dir).pedigree.index)


# --- PLINK text files ----------------------------------------------------------------------

TOY_PED = """\
F1 a 0 0 1 -9   A G  1 1  C C  1 2
F1 b 0 0 2 1.5  G G  1 2  C C  2 2
F1 c a b 2 0.25 A G  0 0  C C  1 2
F2 d 0 0 0 NA   A A  2 2  C C  2 2
"""
TOY_MAP = "1 rs1 0.5 100\n1 rs2 0 200\n2 rs3 0 300\n2 rs4 0 400\n"


@pytest.fixture
def toy(tmp_path):
    (tmp_path / "toy.ped").write_text(TOY_PED)
    (tmp_path / "toy.map").write_text(TOY_MAP)
    return tmp_path


def test_ped_pedigree_table(toy):
    ped = read_plink_ped(toy / "toy.ped", toy / "toy.map").pedigree
    assert list(ped.index) == ["a", "b", "c", "d"]  # individual IDs unique: used as labels
    assert ped["father"].tolist() == ["0", "0", "a", "0"]
    assert ped["sex"].tolist() == [1, 2, 2, 0]
    np.testing.assert_array_equal(ped["phenotype"], [np.nan, 1.5, 0.25, np.nan])
    assert kinship_from_pedigree(ped).loc["c", "a"] == 0.25


def test_ped_minor_allele_counts_with_letters_missing_and_ties(toy):
    _, geno, snps = read_plink_ped(toy / "toy.ped", toy / "toy.map")
    # rs1: A 4, G 4 -> tie, counts the allele sorting first (A); rs2: 1 x3, 2 x3 (+ missing)
    # -> tie -> "1"; rs3 monomorphic C -> counted "0", all 0; rs4: 1 x2, 2 x6 -> "1"
    expected = pd.DataFrame({"rs1": [1.0, 0, 1, 2], "rs2": [2.0, 1, np.nan, 0],
                             "rs3": [0.0, 0, 0, 0], "rs4": [1.0, 0, 1, 0]},
                            index=["a", "b", "c", "d"])
    np.testing.assert_array_equal(geno.to_numpy(), expected.to_numpy())
    assert snps["counted_allele"].tolist() == ["A", "1", "0", "1"]
    assert snps["other_allele"].tolist() == ["G", "2", "C", "2"]
    assert snps["cm"].tolist() == [0.5, 0, 0, 0] and snps["chromosome"].tolist()[2] == "2"


def test_ped_major_and_named_allele(toy):
    minor = read_plink_ped(toy / "toy.ped", toy / "toy.map").genotypes
    major = read_plink_ped(toy / "toy.ped", toy / "toy.map", count="major")
    np.testing.assert_array_equal(major.genotypes, 2 - minor)
    assert major.snps["counted_allele"].tolist() == ["G", "2", "C", "2"]
    with pytest.raises(ValueError, match=r"allele '2' is not an allele of 1 SNPs: "
                                         r"'rs1 \(A/G\)'$"):
        read_plink_ped(toy / "toy.ped", toy / "toy.map", count="2")

    with pytest.raises(ValueError, match="count must be 'minor', 'major' or an allele code"):
        read_plink_ped(toy / "toy.ped", count=2)


def test_ped_named_allele_absent_from_a_monomorphic_snp(tmp_path):
    # SNP2 is all "1": it carries 0 copies of allele "2"; SNP3 is all "2"
    (tmp_path / "x.ped").write_text("F a 0 0 1 1 1 2 1 1 2 2\nF b 0 0 2 1 2 2 1 1 2 2\n")
    for count, expected in [("2", [[1, 0, 2], [2, 0, 2]]), ("1", [[1, 2, 0], [0, 2, 0]])]:
        geno = read_plink_ped(tmp_path / "x.ped", count=count).genotypes
        np.testing.assert_array_equal(geno.to_numpy(), expected)


def test_ped_without_map(toy):
    _, geno, snps = read_plink_ped(toy / "toy.ped")
    assert list(geno.columns) == ["SNP1", "SNP2", "SNP3", "SNP4"]
    assert (snps["chromosome"] == "0").all() and (snps["position"] == 0).all()


def test_ped_repeated_ids_are_labelled_by_family(tmp_path):
    (tmp_path / "x.ped").write_text("A 1 0 0 1 1 1 2\nB 1 0 0 2 1 2 2\n")
    ped, geno, _ = read_plink_ped(tmp_path / "x.ped")
    assert list(ped.index) == ["A_1", "B_1"] and list(geno.index) == ["A_1", "B_1"]
    with pytest.raises(ValueError, match=r"not unique with how='individual': '1'"):
        read_plink_ped(tmp_path / "x.ped", labels="individual")


@pytest.mark.parametrize("text, expected", [
    ("F a 0 0 1 1 1 2 1\n", r"6 pedigree columns then 2 allele columns per SNP; these lines "
                            r"have 9 columns"),
    ("F a 0 0 1 1 1 2\nF b 0 0 1 1 3 2\n", r"more than two alleles: 'SNP1 \(1/2/3\)'"),
    ("F a 0 0 1 1 1 2\nF b 0 0 1 1 0 2\n", r"half-missing .*'b at SNP1'"),
    ("F a 0 0 1 x 1 2\n", r"phenotype must be numeric: .*'x'"),
    ("F a 0 0 M 1 1 2\n", r"sex must be numeric: .*'M'"),
])
def test_ped_errors(tmp_path, text, expected):
    (tmp_path / "bad.ped").write_text(text)
    with pytest.raises(ValueError, match=expected):
        read_plink_ped(tmp_path / "bad.ped")


@pytest.mark.parametrize("text, expected", [
    ("1 rs1 0 100\n", r"lists 1 SNPs but the .ped file has genotypes for 2"),
    ("1 rs1 0 100\n1 rs2 200\n",
     r"x\.map: 1 line with a wrong number of fields, 4 expected .*line 2 \(3 fields\)"),
    ("1 rs1 0 100\n1 rs1 0 200\n", r"SNP names are not unique: 'rs1'"),
])
def test_map_errors(tmp_path, text, expected):
    (tmp_path / "x.ped").write_text("F a 0 0 1 1 1 2 1 1\n")
    (tmp_path / "x.map").write_text(text)
    with pytest.raises(ValueError, match=expected):
        read_plink_ped(tmp_path / "x.ped", tmp_path / "x.map")


# --- PLINK binary files --------------------------------------------------------------------

def test_bed_without_bed_reader_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "bed_reader", None)  # makes the import fail
    with pytest.raises(ImportError, match=r"pip install statsmodels-kinship\[plink\]"):
        read_plink_bed(tmp_path / "any")


@pytest.fixture
def bed_reader():
    return pytest.importorskip("bed_reader", reason="bed-reader is not installed "
                                                    "(pip install statsmodels-kinship[plink])")


def test_bed_round_trip_matches_the_text_reader(bed_reader, toy):
    text = read_plink_ped(toy / "toy.ped", toy / "toy.map")
    # the same study as TOY_PED/TOY_MAP, as counts of allele_1 in a .bed
    a1 = np.array([[1, 2, 0, 1], [0, 1, 0, 0], [1, np.nan, 0, 1], [2, 0, 0, 0]])
    bed_reader.to_bed(toy / "toy.bed", a1, properties={
        "fid": ["F1", "F1", "F1", "F2"], "iid": ["a", "b", "c", "d"],
        "father": ["0", "0", "a", "0"], "mother": ["0", "0", "b", "0"],
        "sex": [1, 2, 2, 0], "pheno": ["-9", "1.5", "0.25", "-9"],
        "chromosome": ["1", "1", "2", "2"], "sid": ["rs1", "rs2", "rs3", "rs4"],
        "cm_position": [0.5, 0, 0, 0], "bp_position": [100, 200, 300, 400],
        "allele_1": ["A", "1", "0", "1"], "allele_2": ["G", "2", "C", "2"]})
    binary = read_plink_bed(toy / "toy")
    pd.testing.assert_frame_equal(binary.genotypes, text.genotypes)
    pd.testing.assert_frame_equal(binary.pedigree, text.pedigree)
    pd.testing.assert_frame_equal(binary.snps, text.snps, check_dtype=False)
    # a path with the .bed suffix is accepted
    pd.testing.assert_frame_equal(read_plink_bed(toy / "toy.bed").genotypes, text.genotypes)


def test_bed_counts_minor_allele_whatever_allele_1_is(bed_reader, tmp_path):
    # allele_1 "T" is the major allele here: the reader counts "C" instead
    a1 = np.array([[2.0], [2.0], [1.0]])
    bed_reader.to_bed(tmp_path / "m.bed", a1, properties={
        "iid": ["x", "y", "z"], "allele_1": ["T"], "allele_2": ["C"], "sid": ["rs9"]})
    _, geno, snps = read_plink_bed(tmp_path / "m")
    np.testing.assert_array_equal(geno["rs9"], [0.0, 0.0, 1.0])
    assert snps["counted_allele"].iloc[0] == "C" and snps["other_allele"].iloc[0] == "T"
    np.testing.assert_array_equal(read_plink_bed(tmp_path / "m", count="T").genotypes, a1)


def test_bed_missing_files_are_named(bed_reader, tmp_path):
    bed_reader.to_bed(tmp_path / "s.bed", np.array([[0.0], [2.0]]))
    (tmp_path / "s.bim").unlink()
    with pytest.raises(FileNotFoundError, match=r"s\.bim not found"):
        read_plink_bed(tmp_path / "s")


# --- phenotype files -----------------------------------------------------------------------

def test_phenotype_with_header_and_several_traits(tmp_path):
    (tmp_path / "p.txt").write_text("FID IID height bmi\nF 1 1.70 -9\nF 2 1.80 NA\nG 3 x 22\n")
    with pytest.raises(ValueError, match=r"trait 'height' must be numeric: .*'x'"):
        read_phenotype(tmp_path / "p.txt")
    (tmp_path / "p.txt").write_text("FID IID height bmi\nF 1 1.70 -9\nF 2 1.80 NA\nG 3 1.6 22\n")
    phe = read_phenotype(tmp_path / "p.txt")
    assert list(phe.columns) == ["family", "individual", "height", "bmi"]
    assert list(phe.index) == ["1", "2", "3"]
    np.testing.assert_array_equal(phe["bmi"], [np.nan, np.nan, 22.0])
    renamed = read_phenotype(tmp_path / "p.txt", names=["h", "b"], labels="family_individual")
    assert list(renamed.columns[2:]) == ["h", "b"] and renamed.index[2] == "G_3"


def test_phenotype_default_names_and_errors(tmp_path):
    (tmp_path / "p.txt").write_text("F 1 1 2\nF 2 3 4\n")
    assert list(read_phenotype(tmp_path / "p.txt").columns[2:]) == ["trait1", "trait2"]
    with pytest.raises(ValueError, match=r"has 2 trait columns but 1 names"):
        read_phenotype(tmp_path / "p.txt", names=["y"])
    (tmp_path / "q.txt").write_text("F 1\nF 2\n")
    with pytest.raises(ValueError, match=r"it has 2 columns"):
        read_phenotype(tmp_path / "q.txt")


# --- documentation -------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["read_plink_ped", "read_plink_bed", "read_phenotype"])
def test_docstring_examples_run(name):
    if name == "read_plink_bed":
        pytest.importorskip("bed_reader", reason="the read_plink_bed example uses bed-reader")
    runner = doctest.DocTestRunner()
    for test in doctest.DocTestFinder().find(getattr(skio, name), name):
        runner.run(test)
    assert runner.tries > 0
    assert runner.failures == 0
