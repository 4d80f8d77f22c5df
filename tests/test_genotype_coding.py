"""Genotype coding (issue 9, items 4 and 5b): values outside [0, 2] and missing codes, SNPs
without variation, malformed PLINK text lines, and GCTA's binary GRM read back from files
written by PLINK 1.9 (``tests/results/plink_grm.py``; PLINK is not needed here).
"""
import pathlib
import shutil
import warnings

import numpy as np
from numpy.testing import assert_allclose, assert_array_equal
import pandas as pd
import pytest

import statsmodels_kinship as smk
from statsmodels_kinship.exceptions import GenotypeWarning
from statsmodels_kinship.io import read_gcta_grm, read_phenotype, read_plink_bed, read_plink_ped
from statsmodels_kinship.scan import scan

ROOT = pathlib.Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
RESULTS = ROOT / "tests" / "results"


@pytest.fixture(scope="module")
def study():
    """The first 25 families (300 people) of data/: labelled genotypes, a null fit by label."""
    ped = pd.read_csv(DATA / "pedigree.csv").iloc[:300]
    geno = pd.read_csv(DATA / "genotypes.csv", index_col=0).iloc[:300].astype(float)
    y = pd.read_csv(DATA / "phenotype.csv", index_col="individual").iloc[:300]["trait"]
    kin = smk.kinship_from_pedigree(ped)
    null = smk.KinshipMixedLM(y, pd.DataFrame({"const": 1.0}, index=y.index),
                              kinship=kin).fit()
    return null, geno


def _with_code(geno, snp, code, rate=0.3, seed=1):
    """Copies of ``geno`` with a share ``rate`` of SNP ``snp`` set to ``code`` and to NaN."""
    cells = np.random.default_rng(seed).random(len(geno)) < rate
    coded, nan = geno.copy(), geno.copy()
    coded.loc[cells, snp] = code
    nan.loc[cells, snp] = np.nan
    return coded, nan, int(cells.sum())


# --- case 1: values outside [0, 2], PLINK's -9 ---------------------------------------------

def test_scan_refuses_plink_missing_code_and_maps_it_on_request(study):
    null, geno = study
    snps = ["SNP1", "SNP3", "SNP4"]
    coded, nan, n_coded = _with_code(geno[snps], "SNP3", -9)
    # before: -9 was a genotype: p_wald 0.78 "ok", where the scan with NaN there gives 5e-10
    with pytest.raises(ValueError, match=rf"{n_coded} values in 1 SNP are not: SNP 'SNP3' "
                                         rf"\({n_coded} values: -9\)\. If -9 codes a missing "
                                         r"genotype, pass missing_code=-9"):
        scan(null, coded)
    mapped = scan(null, coded, missing_code=-9)
    pd.testing.assert_frame_equal(mapped, scan(null, nan))
    assert mapped.loc["SNP3", "n_missing"] == n_coded
    assert mapped.loc["SNP3", "p_wald"] < 1e-4  # the signal the -9 codes hid
    # a list of codes, through the results method
    pd.testing.assert_frame_equal(null.scan(coded, missing_code=[-9, -1]), mapped)


def test_scan_dosages_in_range_are_kept_other_values_are_refused(study):
    null, geno = study
    dosage = geno[["SNP1", "SNP2"]] * 0.75  # dosages in [0, 1.5]: valid
    assert (scan(null, dosage)["flag"] == "ok").all()
    for bad, shown in ((3.0, "3"), (np.inf, "inf"), (-1.0, "-1"), (2.0001, "2.0001")):
        g = geno[["SNP1", "SNP2"]].copy()
        g.iloc[[4, 9], 1] = bad
        with pytest.raises(ValueError, match=rf"2 values in 1 SNP are not: SNP 'SNP2' "
                                             rf"\(2 values: {shown}\)"):
            scan(null, g)
    with pytest.raises(ValueError, match=r"missing_code must lie outside \[0, 2\]"):
        scan(null, geno[["SNP1"]], missing_code=0)
    with pytest.raises(TypeError, match="missing_code must be a number"):
        scan(null, geno[["SNP1"]], missing_code="-9")


def test_scan_checks_every_block_and_dask_blocks(study):
    null, geno = study
    coded, nan, _ = _with_code(geno[["SNP1", "SNP2", "SNP3", "SNP4"]], "SNP4", -9)
    with pytest.raises(ValueError, match="SNP 'SNP4'"):
        scan(null, coded, block_size=2)  # in the second block
    unlabelled = coded.to_numpy()
    with pytest.raises(ValueError, match=r"SNP 3 \(\d+ values: -9\)"):
        scan(null, unlabelled)
    da = pytest.importorskip("dask.array")
    lazy = da.from_array(unlabelled, chunks=(300, 2))
    with pytest.raises(ValueError, match=r"SNP 3 \(\d+ values: -9\)"):
        scan(null, lazy, block_size=2)
    assert_allclose(scan(null, lazy, block_size=2, missing_code=-9)["p_wald"],
                    scan(null, nan.to_numpy())["p_wald"], rtol=1e-12)


def test_grm_refuses_missing_code_and_maps_it_on_request():
    geno = pd.read_csv(DATA / "genotypes.csv", index_col=0).iloc[:60].astype(float)
    coded, nan, n_coded = _with_code(geno, "SNP7", -9, rate=0.2)
    with pytest.raises(ValueError, match=rf"{n_coded} values in 1 SNP are not: SNP 'SNP7' "
                                         rf".*missing_code=-9"):
        smk.genomic_relationship_matrix(coded)
    for missing in ("pairwise", "mean"):
        pd.testing.assert_frame_equal(
            smk.genomic_relationship_matrix(coded, missing=missing, missing_code=-9),
            smk.genomic_relationship_matrix(nan, missing=missing))


# --- case 2: SNPs without variation --------------------------------------------------------

def _varying(rng, n, m):
    x = rng.binomial(2, 0.4, size=(n, m)).astype(float)
    x[0], x[1] = 0.0, 2.0  # every SNP varies
    return x


def test_grm_skips_snps_without_variation_such_as_all_heterozygous():
    rng = np.random.default_rng(3)
    x = _varying(rng, 12, 20)
    het = pd.DataFrame(np.column_stack([x, np.ones((12, 2)), np.full(12, 0.5)]),
                       columns=[f"rs{j}" for j in range(20)] + ["het1", "het2", "dose"])
    het.iloc[3, 20] = np.nan  # no variation among the observed genotypes either
    # before: each heterozygous SNP added a zero to every entry and 1 to the number of SNPs
    with pytest.warns(GenotypeWarning, match=r"3 of 23 SNPs skipped as without variation"
                                             r".*'het1', 'het2', 'dose'"):
        a = smk.genomic_relationship_matrix(het)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        expected = smk.genomic_relationship_matrix(x)
    assert_allclose(a.to_numpy(), expected, rtol=1e-12)


def test_grm_without_any_varying_snp_is_an_error():
    # before: a matrix of zeros, silently
    with pytest.raises(ValueError, match="no polymorphic SNP among the 3 given varies"), \
            pytest.warns(GenotypeWarning, match="3 of 3 SNPs skipped"):
        smk.genomic_relationship_matrix(np.ones((5, 3)))


def test_scan_warns_about_snps_without_variation_and_refuses_when_all_are(study):
    null, geno = study
    g = geno[["SNP1", "SNP3"]].assign(het=1.0, mono=2.0, none=np.nan)
    with pytest.warns(GenotypeWarning, match=r"3 of 5 SNPs not tested, without variation "
                                             r".*'het', 'mono', 'none'"):
        result = scan(null, g)
    assert list(result["flag"]) == ["ok", "ok", "monomorphic", "monomorphic", "missing"]
    with pytest.raises(ValueError, match="no SNP varies among the model's individuals: all 3"):
        scan(null, g[["het", "mono", "none"]])


# --- case 3: malformed PLINK text lines ----------------------------------------------------

PED = "F1 a 0 0 1 1.5 1 2 A G\nF1 b 0 0 2 2.5 2 2 G G\nF1 c a b 1 -9 1 1 A A\n"


@pytest.mark.parametrize("ped, map_text, expected", [
    # a short line: before, b's absent SNP rs2 was read as two copies of an allele "",
    # silently counted as the minor allele (b: 2, a and c: 0)
    ("F1 a 0 0 1 1.5 1 2 G G\nF1 b 0 0 2 2.5 2 2\nF1 c a b 1 -9 1 1 G G\n",
     "1 rs1 0 100\n1 rs2 0 200\n", r"x\.ped: 1 line with a wrong number of fields, 10 "
                                   r"expected .*: line 2 \(8 fields\)"),
    ("\n" + PED.replace("G G\n", "G G G\n"), None,
     r"x\.ped: 1 line with .*: line 3 \(11 fields\)"),  # blank line 1 counts
    (PED, "1 rs1 0 100\n1 rs2 200\n",
     r"x\.map: 1 line with a wrong number of fields, 4 expected .*: line 2 \(3 fields\)"),
    (PED, "1 rs1 0 100\n1 rs2 0 2x0\n",
     r"x\.map: base-pair position must be numeric: 1 value is not, e\.g\. '2x0' \(line 2\)"),
    (PED, "1 rs1 0 100\n1 rs2 0 200.5\n",
     r"x\.map: base-pair position must be an integer, got '200\.5' \(line 2\)"),
    (PED, "1 rs1 0 100\n1 rs2 cM 200\n", r"x\.map: genetic position \(cM\) .*'cM' \(line 2\)"),
    (PED.replace("2 2.5", "F 2.5"), None, r"x\.ped: sex must be numeric: .*'F' \(line 2\)"),
])
def test_malformed_text_lines_name_the_file_and_line(tmp_path, ped, map_text, expected):
    (tmp_path / "x.ped").write_text(ped)
    map_path = None
    if map_text is not None:
        map_path = tmp_path / "x.map"
        map_path.write_text(map_text)
    with pytest.raises(ValueError, match=expected):
        read_plink_ped(tmp_path / "x.ped", map_path)


def test_three_column_map_is_read_as_plink_does(tmp_path):
    (tmp_path / "x.ped").write_text(PED)
    (tmp_path / "x.map").write_text("1 rs1 0 100\n1 rs2 0 200\n")
    (tmp_path / "y.map").write_text("1 rs1 100\n1 rs2 200\n")
    four = read_plink_ped(tmp_path / "x.ped", tmp_path / "x.map")
    three = read_plink_ped(tmp_path / "x.ped", tmp_path / "y.map")
    pd.testing.assert_frame_equal(three.snps, four.snps)
    pd.testing.assert_frame_equal(three.genotypes, four.genotypes)
    assert list(three.snps["position"]) == [100, 200] and (three.snps["cm"] == 0).all()


def test_malformed_fam_and_bim_lines_name_the_file_and_line(tmp_path, study):
    bed_reader = pytest.importorskip("bed_reader", reason="bed-reader is optional")
    null, geno = study
    bed_reader.to_bed(tmp_path / "s.bed", geno.iloc[:, :3].to_numpy(),
                      properties={"iid": geno.index, "sid": geno.columns[:3]})
    fam = (tmp_path / "s.fam").read_text().splitlines()
    good_fam, good_bim = "\n".join(fam) + "\n", (tmp_path / "s.bim").read_text()
    fam[6] = " ".join(fam[6].split()[:5])  # the phenotype column lost
    (tmp_path / "s.fam").write_text("\n".join(fam) + "\n")
    expected = r"s\.fam: 1 line with a wrong number of fields, 6 expected .*: line 7 \(5 fields\)"
    with pytest.raises(ValueError, match=expected):
        read_plink_bed(tmp_path / "s")
    with pytest.raises(ValueError, match=expected):
        scan(null, tmp_path / "s")
    (tmp_path / "s.fam").write_text(good_fam)
    (tmp_path / "s.bim").write_text(good_bim.replace("\t", " ", 1).replace(" ", " x ", 1))
    with pytest.raises(ValueError, match=r"s\.bim: 1 line .*: line 1 \(7 fields\)"):
        read_plink_bed(tmp_path / "s")


def test_phenotype_file_short_line_is_an_error(tmp_path):
    # before: the missing value was read as NaN, silently
    (tmp_path / "p.txt").write_text("FID IID h w\nF 1 1.7 60\nF 2 1.8\nF 3 1.6 55\n")
    with pytest.raises(ValueError, match=r"p\.txt: 1 line .* 4 expected .*: line 3 \(3 fields\)"):
        read_phenotype(tmp_path / "p.txt")


# --- case 4: GCTA's binary GRM, as PLINK 1.9 --make-grm-bin writes it -----------------------

def test_read_gcta_grm_matches_our_grm_of_the_same_genotypes():
    # PLINK 1.9 --make-grm-bin --nonfounders on the first 150 people of data/ (no missing
    # genotypes): GCTA's formula with the frequency over all 150 (--nonfounders) and the
    # diagonal from --ibc's Fhat1 (PLINK's default), i.e. the mean of the squared
    # standardized genotypes -- the formula of genomic_relationship_matrix on and off the
    # diagonal. PLINK stores float32: entries up to 1.7 agree to half a float32 spacing.
    # PLINK counts SNPs without variation in the number of SNPs, where we skip them: every
    # SNP varies among these 150 people (no GenotypeWarning).
    grm = read_gcta_grm(RESULTS / "plink_grm_complete")
    geno = pd.read_csv(DATA / "genotypes.csv", index_col=0).iloc[:150]
    with warnings.catch_warnings():
        warnings.simplefilter("error", GenotypeWarning)
        ours = smk.genomic_relationship_matrix(geno)
    assert grm.dtypes.eq(np.float32).all()
    assert list(grm.index) == list(geno.index) == list(grm.columns)
    assert_array_equal(grm.to_numpy(), grm.to_numpy().T)
    scale = np.abs(ours.to_numpy()).max()
    assert_allclose(grm.to_numpy(), ours.to_numpy(), rtol=0,
                    atol=np.finfo(np.float32).eps * scale)
    # labels as the other readers make them
    fam = read_gcta_grm(RESULTS / "plink_grm_complete.grm.bin", labels="family_individual")
    assert fam.index[13] == "F002_F002_02"


def test_read_gcta_grm_pairwise_missing_and_snp_counts():
    # 2% missing genotypes: PLINK averages each pair over the SNPs observed in both
    # (missing="pairwise") and writes that number to .grm.N.bin; the .ped is PLINK's input
    grm, n = read_gcta_grm(RESULTS / "plink_grm", n_snps=True)
    geno = read_plink_ped(RESULTS / "plink_grm.ped", RESULTS / "plink_grm.map",
                          count="2").genotypes
    ours = smk.genomic_relationship_matrix(geno, missing="pairwise")
    assert_allclose(grm.to_numpy(), ours.to_numpy(), rtol=0,
                    atol=np.finfo(np.float32).eps * np.abs(ours.to_numpy()).max())
    observed = (~geno.isna().to_numpy()).astype(float)
    assert_array_equal(n.to_numpy(), observed @ observed.T)
    assert n.index.equals(grm.index) and n.columns.equals(grm.columns)


def test_read_gcta_grm_checks_the_files(tmp_path):
    for ext in ("grm.bin", "grm.id"):
        shutil.copy(RESULTS / f"plink_grm.{ext}", tmp_path / f"g.{ext}")
    with pytest.raises(FileNotFoundError, match=r"g\.grm\.N\.bin not found"):
        read_gcta_grm(tmp_path / "g", n_snps=True)
    data = (tmp_path / "g.grm.bin").read_bytes()
    (tmp_path / "g.grm.bin").write_bytes(data[:-4])
    with pytest.raises(ValueError, match=r"g\.grm\.bin has 45296 bytes, but the 150 "
                                         r"individuals of .*g\.grm\.id need n \(n \+ 1\) / 2 = "
                                         r"11325 float32 values, 45300 bytes"):
        read_gcta_grm(tmp_path / "g")
    np.zeros(11325).tofile(tmp_path / "g.grm.bin")
    with pytest.raises(ValueError, match=r"the size of float64 values"):
        read_gcta_grm(tmp_path / "g")
    (tmp_path / "g.grm.id").write_text("F1 a\nF1\n")
    with pytest.raises(ValueError, match=r"g\.grm\.id: 1 line .*: line 2 \(1 fields\)"):
        read_gcta_grm(tmp_path / "g")


def test_model_fits_the_float32_grm_read_from_file():
    # 130 SNPs for 150 people: eigenvalues that are 0 in exact arithmetic are about -1e-7
    # in the float32 file; the fit equals that with our float64 GRM to float32 precision
    grm = read_gcta_grm(RESULTS / "plink_grm_complete")
    assert np.linalg.eigvalsh(grm.to_numpy().astype(float))[0] < 0
    y = pd.read_csv(DATA / "phenotype.csv", index_col="individual").iloc[:150]["trait"]
    geno = pd.read_csv(DATA / "genotypes.csv", index_col=0).iloc[:150]
    exog = pd.DataFrame({"const": 1.0}, index=y.index)
    fit32 = smk.KinshipMixedLM(y, exog, kinship=grm).fit()
    fit64 = smk.KinshipMixedLM(y, exog, kinship=smk.genomic_relationship_matrix(geno)).fit()
    assert fit64.delta > 1  # an interior optimum
    assert fit32.delta == pytest.approx(fit64.delta, rel=1e-5)
    assert_allclose(fit32.params, fit64.params, rtol=1e-6)


def test_only_the_malformed_line_is_named_when_several_field_counts_are_allowed(tmp_path):
    # a .map may have 3 or 4 columns; a bad first line must not make the others look wrong
    (tmp_path / "x.ped").write_text("F a 0 0 1 1 A A G G A A C C\n")
    (tmp_path / "x.map").write_text("1 rs1 0 100 extra\n1 rs2 0 200\n1 rs3 0 300\n1 rs4 0 400\n")
    with pytest.raises(ValueError, match=r"x\.map: 1 line with a wrong number of fields, "
                                         r"4 expected .*line 1 \(5 fields\)$"):
        read_plink_ped(tmp_path / "x.ped", tmp_path / "x.map")
