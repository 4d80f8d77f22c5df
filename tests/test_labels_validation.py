"""Labels are never silently ignored; bad arguments of the model are named; float32 kinships;
kinships too large to decompose densely (issue 9, items 3, 5a, 6 and 7).

Each test failed on the code before these checks: a silent match by position, a crash deep
inside numpy or statsmodels, a float32 GRM refused as not PSD, a bare MemoryError.
"""
import pathlib
import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy import sparse

import statsmodels_kinship as smk
from statsmodels_kinship import KinshipMixedLM
from statsmodels_kinship.exceptions import LabelWarning

DATA = pathlib.Path(__file__).resolve().parents[1] / "data"


def family_data(n_families=15, seed=0):
    """Nuclear families of four (kinship coefficients), y with a kinship effect, labelled."""
    rng = np.random.default_rng(seed)
    block = np.full((4, 4), 0.25)
    block[0, 1] = block[1, 0] = 0.0
    np.fill_diagonal(block, 0.5)
    K = np.kron(np.eye(n_families), block)
    n = K.shape[0]
    X = np.column_stack([np.ones(n), rng.normal(size=n)])
    y = X @ [1.0, 0.5] + rng.multivariate_normal(np.zeros(n), 2.0 * K) + rng.normal(size=n)
    ids = pd.Index([f"id{i:03d}" for i in range(n)], name="individual")
    return y, X, K, ids


@pytest.fixture(scope="module")
def study():
    ped, geno, phe, _ = smk.read_study_csv(DATA)
    K = smk.kinship_from_pedigree(ped)
    trait = phe["trait"].astype(float)
    perm = np.random.default_rng(1).permutation(len(K))
    return {"ped": ped, "geno": geno, "trait": trait, "K": K, "K_shuffled": K.iloc[perm, perm],
            "ones": pd.DataFrame({"const": 1.0}, index=trait.index)}


# -- labels: the model ------------------------------------------------------------------

def test_labelled_kinship_with_unlabelled_data_is_refused(study):
    trait, ones = study["trait"], study["ones"]
    labelled = KinshipMixedLM(trait, ones, kinship=study["K_shuffled"]).fit()
    # the same fit whatever the order of the labelled K (aligned by ID)
    assert_allclose(KinshipMixedLM(trait, ones, kinship=study["K"]).fit().h2, labelled.h2,
                    rtol=1e-10)
    # numpy data: no IDs to align by; matching the shuffled K by position was h2 0.04
    for kin in (study["K_shuffled"], smk.kinship_from_pedigree(study["ped"], sparse=True)):
        with pytest.raises(ValueError, match=r"kinship is labelled by individual IDs .*"
                                             r"kinship\.to_numpy\(\)"):
            KinshipMixedLM(trait.to_numpy(), np.ones((len(trait), 1)), kinship=kin)
    # a kinship labelled 0, ..., n-1 in order: the labels are the positions
    y, X, K, _ = family_data()
    assert_allclose(KinshipMixedLM(y, X, kinship=pd.DataFrame(K)).fit().params,
                    KinshipMixedLM(y, X, kinship=K).fit().params, rtol=1e-12)


def test_default_index_against_labelled_kinship_says_what_to_pass(study):
    trait = study["trait"].reset_index(drop=True)
    with pytest.raises(ValueError, match=r"1200 IDs in the data are not in the kinship.*"
                                         r"default row numbering.*set_index.*to_numpy"):
        KinshipMixedLM(trait, np.ones((len(trait), 1)), kinship=study["K_shuffled"])


def test_labelled_exog_aligns_the_kinship_when_endog_is_an_array(study):
    # statsmodels takes the row labels from exog; so does the kinship
    trait, ones = study["trait"], study["ones"]
    expected = KinshipMixedLM(trait, ones, kinship=study["K"]).fit()
    res = KinshipMixedLM(trait.to_numpy(), ones, kinship=study["K_shuffled"]).fit()
    assert_allclose(res.h2, expected.h2, rtol=1e-10)
    assert_allclose(res.params, expected.params, rtol=1e-10)


def test_labelled_data_with_an_unlabelled_kinship_warn(study):
    trait, ones, K = study["trait"], study["ones"], study["K"]
    with pytest.warns(LabelWarning, match=r"matched to the rows by position.*DataFrame "
                                          r"indexed .*reset_index\(drop=True\)"):
        KinshipMixedLM(trait, ones, kinship=K.to_numpy())
    frame = trait.to_frame()
    with pytest.warns(LabelWarning, match="by position") as record:
        KinshipMixedLM.from_formula("trait ~ 1", frame, kinship=K.to_numpy())
    assert record[0].filename == __file__  # points at the caller's line
    with warnings.catch_warnings():
        warnings.simplefilter("error", smk.LabelWarning)
        # labelled on both sides, or unlabelled on both sides: no warning
        KinshipMixedLM.from_formula("trait ~ 1", frame, kinship=study["K_shuffled"])
        KinshipMixedLM(trait, ones, kinship=study["K_shuffled"])
        KinshipMixedLM(trait.reset_index(drop=True), ones.reset_index(drop=True),
                       kinship=K.to_numpy())


def test_ids_of_different_types_get_a_hint():
    y, X, K, _ = family_data()
    n = len(y)
    K_str = pd.DataFrame(K, index=[str(i + 1) for i in range(n)],
                         columns=[str(i + 1) for i in range(n)])
    y_int = pd.Series(y, index=np.arange(1, n + 1))
    with pytest.raises(ValueError, match=r"the IDs of the data are int, those of the kinship "
                                         r"are str: convert both to str with \.astype\(str\)"):
        KinshipMixedLM(y_int, pd.DataFrame(X, index=y_int.index), kinship=K_str)
    res = KinshipMixedLM(y_int.set_axis(y_int.index.astype(str)), X, kinship=K_str).fit()
    assert_allclose(res.params, KinshipMixedLM(y, X, kinship=K).fit().params, rtol=1e-10)


# -- labels: the scan ---------------------------------------------------------------------

def test_scan_refuses_labelled_genotypes_after_an_array_model(study):
    trait, geno = study["trait"], study["geno"].iloc[:, :4]
    null = KinshipMixedLM(trait.to_numpy(), np.ones((len(trait), 1)),
                          kinship=study["K"].to_numpy()).fit()
    expected = null.scan(geno.to_numpy())
    # rows in another order: matched by position they gave p 0.8 for p 5e-68
    with pytest.raises(ValueError, match=r"genotype DataFrame is indexed by individual IDs.*"
                                         r"unlabelled data.*genotypes\.to_numpy\(\)"):
        null.scan(geno.iloc[::-1])
    # a DataFrame without IDs (default index) is matched by position, as an array
    assert_allclose(null.scan(geno.reset_index(drop=True))["p_wald"], expected["p_wald"],
                    rtol=1e-12)
    # a model fitted to pandas data without IDs, genotypes with IDs: a hint
    null_range = KinshipMixedLM(trait.reset_index(drop=True), np.ones((len(trait), 1)),
                                kinship=study["K"].to_numpy()).fit()
    with pytest.raises(ValueError, match=r"not in the genotype DataFrame.*default row "
                                         r"numbering.*genotypes\.to_numpy\(\)"):
        null_range.scan(geno)
    # IDs of another type: a hint
    null_ids = KinshipMixedLM(trait, study["ones"], kinship=study["K"]).fit()
    with pytest.raises(ValueError, match=r"the IDs of the null model's data are str, those of "
                                         r"the genotype DataFrame are int"):
        null_ids.scan(geno.set_axis(np.arange(len(geno))[::-1]))


def test_scan_of_a_bed_file_after_an_array_model_warns(tmp_path):
    bed_reader = pytest.importorskip("bed_reader", reason="bed-reader is optional")
    y, X, K, _ = family_data()
    geno = np.random.default_rng(3).binomial(2, 0.3, size=(len(y), 6)).astype(float)
    bed_reader.to_bed(tmp_path / "g.bed", geno)
    null = KinshipMixedLM(y, X, kinship=K).fit()
    with pytest.warns(LabelWarning, match=r"matched to the null model's rows by position"):
        from_bed = null.scan(tmp_path / "g")
    assert_allclose(from_bed["p_wald"], null.scan(geno)["p_wald"], rtol=1e-10)


# -- float32 kinships ---------------------------------------------------------------------

def grm(genotypes, dtype):
    g = np.asarray(genotypes, dtype=dtype)
    p = g.mean(axis=0) / 2
    z = (g - 2 * p) / np.sqrt(2 * p * (1 - p))
    return (z @ z.T) / g.shape[1]


def test_float32_grm_from_fewer_snps_than_people_is_accepted():
    rng = np.random.default_rng(0)
    n, m = 200, 50
    genotypes = rng.binomial(2, rng.uniform(0.1, 0.5, m), size=(n, m))
    k64, k32 = grm(genotypes, np.float64), grm(genotypes, np.float32)
    lam = np.linalg.eigvalsh(k32.astype(float))
    assert k32.dtype == np.float32 and lam[0] < -1e-8 * lam[-1]  # refused before
    X = np.column_stack([np.ones(n), rng.normal(size=n)])
    y = X @ [1.0, 0.3] + rng.multivariate_normal(np.zeros(n), k64 + 1e-9 * np.eye(n)) \
        + rng.normal(size=n)
    expected = KinshipMixedLM(y, X, kinship=k64).fit()
    for kin in (k32, k32.astype(float)):  # as read, or converted by the reader
        res = KinshipMixedLM(y, X, kinship=kin).fit()
        assert_allclose(res.h2, expected.h2, rtol=1e-5)
        assert_allclose(res.params, expected.params, rtol=1e-5)
        assert_allclose(res.llf, expected.llf, rtol=1e-7)
    # a kinship that is not PSD beyond float32 rounding is still refused
    top = np.linalg.eigvalsh(k64)[-1]
    with pytest.raises(ValueError, match="not positive semidefinite"):
        KinshipMixedLM(y, X, kinship=(k64 - 1e-3 * top * np.eye(n)).astype(np.float32))
    with pytest.raises(ValueError, match="not positive semidefinite"):
        KinshipMixedLM(y, X, kinship=k64 - 1e-6 * top * np.eye(n))  # float64: as before


# -- arguments of the model -----------------------------------------------------------------

def test_endog_must_be_one_response():
    y, X, K, _ = family_data()
    KinshipMixedLM(y.reshape(-1, 1), X, kinship=K).fit()  # one column is fine
    for endog in (np.column_stack([y, y + 1]), pd.DataFrame({"a": y, "b": y + 1})):
        with pytest.raises(ValueError, match=r"endog must be one response.*shape \(60, 2\)"):
            KinshipMixedLM(endog, X, kinship=K)
    with pytest.raises(ValueError, match=r"endog must be one response.*shape \(\)"):
        KinshipMixedLM(1.0, X, kinship=K)
    with pytest.raises(ValueError, match="endog has no observations"):
        KinshipMixedLM(np.array([]), np.empty((0, 1)), kinship=np.empty((0, 0)))
    with pytest.raises(ValueError, match="endog is constant"):
        KinshipMixedLM(np.array([1.0]), np.ones((1, 1)), kinship=np.ones((1, 1)))
    with pytest.raises(TypeError, match="endog must hold numbers"):
        KinshipMixedLM(np.array(["a"] * len(y)), X, kinship=K)
    with pytest.raises(TypeError, match="endog must be real"):
        KinshipMixedLM(y + 0j, X, kinship=K)


def test_no_observation_left_after_dropping_missing_values():
    y, X, K, ids = family_data()
    with pytest.raises(ValueError, match=r"no observations left after dropping rows with "
                                         r"missing values \(all 60 rows"):
        KinshipMixedLM(np.full(len(y), np.nan), X, kinship=K, missing="drop")
    frame = pd.DataFrame({"trait": np.nan, "x": X[:, 1]}, index=ids)
    with pytest.raises(ValueError, match="no observations left after dropping"):
        KinshipMixedLM.from_formula("trait ~ x", frame, kinship=pd.DataFrame(K, ids, ids))


def test_a_design_without_fixed_effects_is_refused():
    y, X, K, ids = family_data()
    frame = pd.DataFrame({"trait": y, "x": X[:, 1]}, index=ids)
    for formula in ("trait ~ 0", "trait ~ -1"):
        with pytest.raises(ValueError, match=r"exog has no columns.*add an intercept"):
            KinshipMixedLM.from_formula(formula, frame, kinship=pd.DataFrame(K, ids, ids))
    with pytest.raises(ValueError, match="exog has no columns"):
        KinshipMixedLM(y, np.empty((len(y), 0)), kinship=K)


def test_exog_with_the_wrong_number_of_rows():
    y, X, K, _ = family_data()
    with pytest.raises(ValueError, match=r"exog has shape \(59, 2\) but endog has 60 rows"):
        KinshipMixedLM(y, X[:-1], kinship=K)
    with pytest.raises(ValueError, match=r"exog has shape \(60, 2\) but endog has 59 rows"):
        KinshipMixedLM(y[:-1], X, kinship=K)


def test_kinship_of_the_wrong_type_is_a_type_error():
    y, X, K, _ = family_data()
    KinshipMixedLM(y, X, kinship=K.tolist()).fit()  # nested lists are an array_like
    for kin, message in [("K.csv", r"kinship must be a matrix .* got str 'K.csv'; read the "),
                         (None, "kinship must be a matrix"),
                         (K + 0j, "kinship must be real, got complex"),
                         (np.full(K.shape, "a"), "kinship must hold numbers")]:
        with pytest.raises(TypeError, match=message):
            KinshipMixedLM(y, X, kinship=kin)


# -- kinships too large for a dense decomposition ---------------------------------------------

def one_block_sparse_kinship(n):
    """A chain of relatives: a sparse kinship whose pattern is one connected block."""
    off = np.full(n - 1, 0.25)
    return sparse.diags([off, np.full(n, 0.5), off], [-1, 0, 1], format="csr")


def test_a_large_sparse_block_is_decomposed_with_a_warning(monkeypatch):
    from statsmodels_kinship import _spectral
    from statsmodels_kinship import DenseKinshipWarning

    y, X, _, _ = family_data()
    kin = one_block_sparse_kinship(len(y))
    monkeypatch.setattr(_spectral.KinshipDecomposition, "DENSE_WARN_SIZE", 50)
    with pytest.warns(DenseKinshipWarning, match=r"a block of 60 individuals .* dense 60 x 60"):
        sparse_fit = KinshipMixedLM(y, X, kinship=kin).fit()
    assert_allclose(sparse_fit.params, KinshipMixedLM(y, X, kinship=kin.toarray()).fit().params,
                    rtol=1e-10)
    with warnings.catch_warnings():  # a dense K is dense already; small blocks: no warning
        warnings.simplefilter("error", DenseKinshipWarning)
        KinshipMixedLM(y, X, kinship=kin.toarray())
        monkeypatch.setattr(_spectral.KinshipDecomposition, "DENSE_WARN_SIZE", 60)
        KinshipMixedLM(y, X, kinship=kin)


def test_a_block_too_large_for_memory_is_refused_up_front(monkeypatch):
    from statsmodels_kinship import KinshipMemoryError, _spectral, _validation

    assert _validation.available_memory() is None or _validation.available_memory() > 0
    y, X, _, _ = family_data(n_families=50)
    kin = one_block_sparse_kinship(len(y))  # 200 people in one block
    monkeypatch.setattr(_spectral, "available_memory", lambda: 1_000_000)

    def no_eigh(*args, **kwargs):
        raise AssertionError("the blocks were decomposed")

    monkeypatch.setattr(np.linalg, "eigh", no_eigh)
    for k in (kin, kin.toarray()):
        with pytest.raises(KinshipMemoryError, match=r"the largest has 200 individuals.* "
                                                     r"needs about [0-9.e-]+ GiB of memory "
                                                     r"and 0.000931 GiB are available"):
            KinshipMixedLM(y, X, kinship=k)
    assert issubclass(KinshipMemoryError, MemoryError)


def test_loco_kinships_of_a_labelled_null_model_raise_no_label_warning():
    """Leave-one-chromosome-out kinships given as arrays or sparse matrices are in the null
    model's row order; the scan labels them itself, so no LabelWarning reaches the user."""
    import scipy.sparse as sp

    ped, geno, phe, snps = smk.read_study_csv(DATA)
    K = smk.kinship_from_pedigree(ped)
    null = KinshipMixedLM.from_formula("trait ~ 1", data=phe, kinship=K).fit()
    rows = K.loc[phe.index, phe.index].to_numpy()
    cols = geno.columns[:6]
    chrom = np.repeat(["1", "2"], 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error", smk.LabelWarning)
        dense = null.scan(geno[cols], loco={"1": rows, "2": rows}, chromosome=chrom)
        sparse_ = null.scan(geno[cols], loco={"1": sp.csr_matrix(rows),
                                              "2": sp.csr_matrix(rows)}, chromosome=chrom)
    np.testing.assert_allclose(sparse_["p_wald"], dense["p_wald"], rtol=1e-10)
