"""Tests of statsmodels_kinship.kinship: pedigree kinship and the genomic relationship matrix.

Three layers: the seed study against R's kinship2 (``seed-data/kinship_matrix.csv``),
hand-derived coefficients and an independent memoised recursion (oracle), and properties
(row order, sparse = dense, labels, errors naming the offending IDs).
"""
import doctest
import functools

import numpy as np
import pandas as pd
import pytest
from scipy import sparse
from statsmodels.tools.sm_exceptions import ValueWarning

from statsmodels_kinship import kinship as kin
from statsmodels_kinship.kinship import (
    genomic_relationship_matrix,
    individual_labels,
    kinship_from_pedigree,
)

COLUMNS = ["family", "individual", "father", "mother", "sex"]


def _ped(rows):
    return pd.DataFrame(rows, columns=COLUMNS)


def _nuclear_with_half_sib():
    # dad x mum -> kid1, kid2 (full sibs); dad x other -> half (half sib of kid1, kid2)
    return _ped([
        ("F", "dad", 0, 0, 1), ("F", "mum", 0, 0, 2), ("F", "other", 0, 0, 2),
        ("F", "kid1", "dad", "mum", 1), ("F", "kid2", "dad", "mum", 2),
        ("F", "half", "dad", "other", 1),
    ])


def _first_cousin_mating():
    # grandparents g1 x g2 -> a (male), b (female); a x s1 -> c1; s2 x b -> c2 (first cousins);
    # c1 x c2 -> d1, d2 (inbred, F = 1/16)
    return _ped([
        ("C", "d1", "c1", "c2", 1), ("C", "d2", "c1", "c2", 2),
        ("C", "g1", 0, 0, 1), ("C", "g2", 0, 0, 2),
        ("C", "a", "g1", "g2", 1), ("C", "b", "g1", "g2", 2),
        ("C", "s1", 0, 0, 2), ("C", "s2", 0, 0, 1),
        ("C", "c1", "a", "s1", 1), ("C", "c2", "s2", "b", 2),
    ])


def _random_pedigree(rng, n_families=6, founders=4, generations=4, start=0):
    """Families whose later generations mate at random among relatives (inbreeding)."""
    rows = []
    for f in range(start, start + n_families):
        fam = f"R{f}"
        males = [f"m{k}" for k in range(founders // 2)]
        females = [f"f{k}" for k in range(founders - founders // 2)]
        rows += [(fam, i, 0, 0, 1) for i in males] + [(fam, i, 0, 0, 2) for i in females]
        for g in range(generations):
            for c in range(int(rng.integers(1, 4))):
                fa, mo = rng.choice(males), rng.choice(females)
                child = f"g{g}c{c}"
                if rng.random() < 0.5:
                    males.append(child)
                    rows.append((fam, child, fa, mo, 1))
                else:
                    females.append(child)
                    rows.append((fam, child, fa, mo, 2))
    return _ped(rows)


def _oracle_kinship(ped):
    """Kinship by the textbook memoised recursion on pairs, written independently of the
    module: phi(a, b) = (phi(father(a), b) + phi(mother(a), b)) / 2 for a not an ancestor of b
    (a the deeper of the two), phi(a, a) = (1 + phi(father(a), mother(a))) / 2."""
    key = list(zip(ped["family"], ped["individual"]))
    parents = {k: (None if f == 0 else (k[0], f), None if m == 0 else (k[0], m))
               for k, f, m in zip(key, ped["father"], ped["mother"])}

    @functools.lru_cache(maxsize=None)
    def depth(a):
        f, m = parents[a]
        return 0 if f is None else 1 + max(depth(f), depth(m))

    @functools.lru_cache(maxsize=None)
    def phi(a, b):
        if a is None or b is None or a[0] != b[0]:
            return 0.0
        if a == b:
            f, m = parents[a]
            return 0.5 * (1 + phi(f, m))
        if depth(a) < depth(b):
            a, b = b, a
        f, m = parents[a]
        return 0.5 * (phi(f, b) + phi(m, b))

    return np.array([[phi(a, b) for b in key] for a in key])


# --- the seed study against R's kinship2 ---------------------------------------------------

def test_seed_kinship_equals_kinship2(seed_dir):
    ped = pd.read_csv(seed_dir / "seqsimla" / "data1.ped", sep=r"\s+", header=None,
                      usecols=range(5), names=COLUMNS, dtype=str)
    ref = pd.read_csv(seed_dir / "kinship_matrix.csv", header=None).to_numpy(float)
    k = kinship_from_pedigree(ped)
    # kinship2::kinship(pedigree(id, dadid, momid, sex, famid)) on data1.ped
    np.testing.assert_allclose(k.to_numpy(), ref, rtol=0, atol=1e-12)
    assert list(k.index[:2]) == ["DFAMS1_1", "DFAMS1_2"]  # IDs 1..12 repeat across families
    sp = kinship_from_pedigree(ped, sparse=True)
    np.testing.assert_allclose(sp.matrix.toarray(), ref, rtol=0, atol=1e-12)


# --- hand-derived coefficients -------------------------------------------------------------

def test_relatives_of_a_nuclear_family():
    k = kinship_from_pedigree(_nuclear_with_half_sib())
    assert k.loc["kid1", "kid2"] == 0.25  # full sibs
    assert k.loc["kid1", "half"] == 0.125  # half sibs
    assert k.loc["dad", "kid1"] == 0.25 and k.loc["kid2", "mum"] == 0.25  # parent-offspring
    assert k.loc["dad", "mum"] == 0.0  # unrelated founders
    assert k.loc["other", "kid1"] == 0.0
    np.testing.assert_array_equal(np.diag(k), 0.5)  # nobody inbred
    np.testing.assert_array_equal(k.to_numpy(), k.to_numpy().T)


def test_child_of_first_cousins_is_inbred():
    k = kinship_from_pedigree(_first_cousin_mating())
    assert k.loc["c1", "c2"] == 1 / 16  # first cousins
    assert k.loc["d1", "d1"] == 0.5 * (1 + 1 / 16)  # F = kinship of the parents
    assert k.loc["d2", "d2"] == 0.5 * (1 + 1 / 16)
    # inbred full sibs: (phi_c1c1 + phi_c2c2 + 2 phi_c1c2) / 4
    assert k.loc["d1", "d2"] == (0.5 + 0.5 + 2 / 16) / 4
    assert k.loc["c1", "c1"] == 0.5  # the parents themselves are not inbred
    assert k.loc["a", "b"] == 0.25
    assert k.loc["g1", "d1"] == 0.125  # great-grandparent through both parents: 2 * 1/16


def test_self_fertilisation():
    ped = pd.DataFrame({"individual": ["p", "s1", "s2"], "father": [0, "p", "s1"],
                        "mother": [0, "p", "s1"]})
    k = kinship_from_pedigree(ped, family=None)
    assert k.loc["s1", "s1"] == 0.75  # F = phi_pp = 1/2
    assert k.loc["s2", "s2"] == 0.875  # F = phi_s1s1 = 3/4
    assert k.loc["p", "s1"] == 0.5


def test_random_inbred_pedigrees_match_independent_recursion():
    ped = _random_pedigree(np.random.default_rng(1), n_families=8, generations=6)
    k = kinship_from_pedigree(ped)
    np.testing.assert_allclose(k.to_numpy(), _oracle_kinship(ped), rtol=0, atol=1e-15)
    assert (np.diag(k) > 0.5).any()  # the test pedigree does hold inbreeding


# --- properties ----------------------------------------------------------------------------

def test_row_order_does_not_change_the_labelled_matrix():
    ped = pd.concat([_first_cousin_mating(), _nuclear_with_half_sib(),
                     _random_pedigree(np.random.default_rng(2))], ignore_index=True)
    k = kinship_from_pedigree(ped)
    shuffled = ped.sample(frac=1, random_state=3)
    ks = kinship_from_pedigree(shuffled)
    assert list(ks.index) == [f"{f}_{i}" for f, i in
                              zip(shuffled["family"], shuffled["individual"])]
    pd.testing.assert_frame_equal(ks.loc[k.index, k.index], k)


def test_sparse_equals_dense_and_keeps_row_order():
    ped = pd.concat([_random_pedigree(np.random.default_rng(4), n_families=20),
                     _first_cousin_mating()], ignore_index=True).sample(frac=1, random_state=0)
    dense = kinship_from_pedigree(ped)
    res = kinship_from_pedigree(ped, sparse=True)
    assert sparse.isspmatrix_csr(res.matrix) or isinstance(res.matrix, sparse.csr_array)
    pd.testing.assert_index_equal(res.labels, dense.index)
    np.testing.assert_array_equal(res.matrix.toarray(), dense.to_numpy())
    assert res.matrix.nnz == np.count_nonzero(dense.to_numpy())


def test_families_are_blocks_of_unrelated_people():
    ped = pd.concat([_nuclear_with_half_sib().assign(family="A"),
                     _nuclear_with_half_sib().assign(family="B")], ignore_index=True)
    k = kinship_from_pedigree(ped)
    assert k.index[0] == "A_dad" and k.index[6] == "B_dad"
    np.testing.assert_array_equal(k.iloc[:6, 6:], 0.0)
    np.testing.assert_array_equal(k.iloc[:6, :6], k.iloc[6:, 6:])


def test_labels_are_individual_ids_when_unique():
    ped = _nuclear_with_half_sib()
    assert list(kinship_from_pedigree(ped).index) == list(ped["individual"])
    k = kinship_from_pedigree(ped, labels="family_individual")
    assert list(k.index) == [f"F_{i}" for i in ped["individual"]]


def test_individual_labels_rule_and_errors():
    assert list(individual_labels(["A", "B"], [1, 2])) == ["1", "2"]
    assert list(individual_labels(["A", "B"], [1, 1])) == ["A_1", "B_1"]
    assert list(individual_labels(None, [3.0, "4"])) == ["3", "4"]
    with pytest.raises(ValueError, match="'1'"):
        individual_labels(["A", "B"], [1, 1], how="individual")
    with pytest.raises(ValueError, match="'A_1_2'"):  # collision once joined with "_"
        individual_labels(["A_1", "A"], ["2", "1_2"], how="family_individual")
    with pytest.raises(ValueError, match="how must be"):
        individual_labels(["A"], [1], how="family")


@pytest.mark.parametrize("missing", [0, "0", "", np.nan, None])
def test_missing_parent_codes(missing):
    ped = pd.DataFrame({"family": 1, "individual": [1, 2, 3],
                        "father": [missing, missing, 1], "mother": [missing, missing, 2]})
    k = kinship_from_pedigree(ped)
    assert list(k.index) == ["1", "2", "3"]
    assert k.loc["3", "1"] == 0.25 and k.loc["1", "2"] == 0.0


def test_numeric_ids_with_nan_parents_match_integer_ids():
    # pandas reads a parent column with NaN as float: father 1.0 must still find individual 1
    ped = pd.DataFrame({"family": [7, 7, 7], "individual": [1, 2, 3],
                        "father": [np.nan, np.nan, 1.0], "mother": [np.nan, np.nan, 2.0],
                        "sex": [1.0, 2.0, np.nan]})
    assert kinship_from_pedigree(ped).loc["3", "2"] == 0.25


def test_custom_column_names_and_no_sex_column():
    ped = _nuclear_with_half_sib().drop(columns="sex")
    ped.columns = ["fid", "iid", "pat", "mat"]
    k = kinship_from_pedigree(ped, family="fid", individual="iid", father="pat", mother="mat")
    assert k.loc["kid1", "half"] == 0.125
    with pytest.raises(ValueError, match=r"sex='gender'.*columns are \['fid'"):
        kinship_from_pedigree(ped, family="fid", individual="iid", father="pat",
                              mother="mat", sex="gender")


# --- errors name the offending IDs ---------------------------------------------------------

def test_cycle_is_an_error_naming_its_members():
    ped = _ped([("F", "a", 0, 0, 1), ("F", "b", 0, 0, 2),
                ("F", "x", "y", "b", 1), ("F", "y", "x", "b", 1),  # x and y parents of each other
                ("F", "z", "x", "b", 2)])  # a descendant of the cycle, not on it
    with pytest.raises(ValueError, match="cycle") as err:
        kinship_from_pedigree(ped)
    msg = str(err.value)
    assert "'x'" in msg and "'y'" in msg and "'z'" not in msg and "'a'" not in msg


def test_own_parent_is_a_cycle():
    ped = _ped([("F", "m", 0, 0, 2), ("F", "selfish", "selfish", "m", 1)])
    with pytest.raises(ValueError, match=r"own ancestor.*'selfish'"):
        kinship_from_pedigree(ped)


def test_parent_missing_from_the_table():
    ped = _ped([("F", "mum", 0, 0, 2), ("F", "kid", "ghost", "mum", 1)])
    with pytest.raises(ValueError, match=r"missing from the pedigree.*father 'ghost' of 'kid'"):
        kinship_from_pedigree(ped)


def test_parents_are_looked_up_within_the_family():
    ped = _ped([("A", "dad", 0, 0, 1), ("A", "mum", 0, 0, 2), ("B", "kid", "dad", "mum", 1)])
    with pytest.raises(ValueError, match=r"father 'dad' of 'kid' \(family 'B'\)"):
        kinship_from_pedigree(ped)


@pytest.mark.parametrize("father_sex, mother_sex, expected", [
    (2, 2, r"father 'dad' of 'kid' \(family 'F'\) is female"),
    (1, 1, r"mother 'mum' of 'kid' \(family 'F'\) is male"),
    ("F", "M", r"father 'dad' .* is female.*mother 'mum' .* is male"),
])
def test_parent_of_the_wrong_sex(father_sex, mother_sex, expected):
    ped = _ped([("F", "dad", 0, 0, father_sex), ("F", "mum", 0, 0, mother_sex),
                ("F", "kid", "dad", "mum", 0)])
    with pytest.raises(ValueError, match=expected):
        kinship_from_pedigree(ped)
    assert kinship_from_pedigree(ped, sex=None).loc["kid", "dad"] == 0.25


def test_unknown_sex_is_not_checked():
    ped = _ped([("F", "dad", 0, 0, 0), ("F", "mum", 0, 0, -9), ("F", "kid", "dad", "mum", 1)])
    assert kinship_from_pedigree(ped).loc["kid", "mum"] == 0.25


def test_duplicate_ids_within_a_family():
    ped = _ped([("F", "a", 0, 0, 1), ("F", "b", 0, 0, 2), ("F", "a", 0, 0, 1),
                ("G", "b", 0, 0, 2)])  # "b" in another family is fine
    with pytest.raises(ValueError, match=r"duplicate individual IDs within a family: "
                                         r"\"'a' \(family 'F'\)\"$"):
        kinship_from_pedigree(ped)


def test_only_one_parent_given():
    # the unknown parent is a phantom founder (as in pedigreemm, nadiv, BLUPF90); "0" and ""
    # both code a missing parent, so kid2 is a founder
    ped = _ped([("F", "dad", 0, 0, 1), ("F", "kid", "dad", 0, 1), ("F", "kid2", 0, "", 2)])
    k = kinship_from_pedigree(ped)
    assert k.loc["kid", "dad"] == 0.25
    assert k.loc["kid2", ["dad", "kid"]].tolist() == [0.0, 0.0]
    np.testing.assert_array_equal(np.diag(k), 0.5)


def test_missing_individual_id():
    ped = _ped([("F", "a", 0, 0, 1), ("F", np.nan, 0, 0, 2)])
    with pytest.raises(ValueError, match=r"individual ID missing .* rows 1"):
        kinship_from_pedigree(ped)


def test_not_a_dataframe():
    with pytest.raises(TypeError, match="DataFrame, got ndarray"):
        kinship_from_pedigree(np.zeros((3, 5)))


# --- genomic relationship matrix -----------------------------------------------------------

def _genotypes(rng, n=12, m=40, missing=0.0):
    """Random counts, every SNP polymorphic (rows 0 and 1 hold 0 and 2 and are never
    missing); a share ``missing`` of the other entries is NaN."""
    p = rng.uniform(0.1, 0.9, m)
    x = rng.binomial(2, p, size=(n, m)).astype(float)
    x[0], x[1] = 0.0, 2.0
    x[2:][rng.random((n - 2, m)) < missing] = np.nan
    return x


def _grm_oracle(x):
    """Z Z' / m with Z the genotypes centred by their column mean and scaled by the binomial
    standard deviation sqrt(2 p (1 - p)), p = mean / 2; complete, polymorphic data only."""
    mean = x.mean(axis=0)
    sd = np.sqrt(mean * (1 - mean / 2))
    z = (x - mean) / sd
    return np.einsum("ji,ki->jk", z, z) / x.shape[1]


def test_grm_equals_standardised_cross_product():
    x = _genotypes(np.random.default_rng(5))
    np.testing.assert_allclose(genomic_relationship_matrix(x), _grm_oracle(x), rtol=1e-12)


def test_grm_small_case_by_hand():
    # one SNP, p = 1/2: z = (x - 1) / sqrt(1/2); A = z z'
    x = np.array([[0.0], [1.0], [2.0], [1.0]])
    z = np.array([-1.0, 0.0, 1.0, 0.0]) * np.sqrt(2)
    np.testing.assert_allclose(genomic_relationship_matrix(x), np.outer(z, z), atol=1e-15)


def test_grm_does_not_depend_on_the_counted_allele():
    x = _genotypes(np.random.default_rng(6))
    np.testing.assert_allclose(genomic_relationship_matrix(2 - x),
                               genomic_relationship_matrix(x), rtol=1e-12)


def test_grm_labelled_input_gives_labelled_output():
    x = _genotypes(np.random.default_rng(7), n=5, m=8)
    ids = [f"id{k}" for k in range(5)]
    g = pd.DataFrame(x, index=ids, columns=[f"rs{j}" for j in range(8)])
    a = genomic_relationship_matrix(g)
    assert isinstance(a, pd.DataFrame)
    assert list(a.index) == ids and list(a.columns) == ids
    np.testing.assert_allclose(a.to_numpy(), _grm_oracle(x), rtol=1e-12)


def test_grm_skips_monomorphic_snps_with_a_warning():
    x = _genotypes(np.random.default_rng(8), n=10, m=20)
    g = pd.DataFrame(np.column_stack([x, np.zeros(10), np.full(10, 2.0)]),
                     columns=[f"rs{j}" for j in range(20)] + ["mono0", "mono2"])
    with pytest.warns(ValueWarning, match=r"2 of 22 SNPs skipped.*'mono0', 'mono2'"):
        a = genomic_relationship_matrix(g)
    np.testing.assert_allclose(a.to_numpy(), _grm_oracle(x), rtol=1e-12)


def test_grm_pairwise_missing_against_pair_by_pair_loop():
    x = _genotypes(np.random.default_rng(9), n=8, m=30, missing=0.15)
    assert np.isnan(x).any()
    a = genomic_relationship_matrix(x)  # missing="pairwise"
    p = np.nanmean(x, axis=0) / 2
    expected = np.empty((8, 8))
    for j in range(8):
        for k in range(8):
            both = ~np.isnan(x[j]) & ~np.isnan(x[k])
            terms = ((x[j, both] - 2 * p[both]) * (x[k, both] - 2 * p[both])
                     / (2 * p[both] * (1 - p[both])))
            expected[j, k] = terms.sum() / both.sum()
    np.testing.assert_allclose(a, expected, rtol=1e-12)


def test_grm_mean_imputation():
    x = _genotypes(np.random.default_rng(10), n=8, m=30, missing=0.15)
    assert np.isnan(x).any()
    imputed = np.where(np.isnan(x), np.nanmean(x, axis=0), x)
    np.testing.assert_allclose(genomic_relationship_matrix(x, missing="mean"),
                               _grm_oracle(imputed), rtol=1e-12)
    with pytest.raises(ValueError, match="missing must be"):
        genomic_relationship_matrix(x, missing="drop")


def test_grm_all_missing_snp_is_skipped():
    x = _genotypes(np.random.default_rng(11), n=6, m=10)
    with pytest.warns(ValueWarning, match=r"1 of 11 SNPs skipped.*10"):
        a = genomic_relationship_matrix(np.column_stack([x, np.full(6, np.nan)]))
    np.testing.assert_allclose(a, _grm_oracle(x), rtol=1e-12)


def test_grm_errors_name_the_problem():
    g = pd.DataFrame([[0.0, 1.0], [3.0, 2.0], [1.0, 1.0]], index=["a", "b", "c"],
                     columns=["rs1", "rs2"])
    with pytest.raises(ValueError, match=r"first 3 at individual 'b', SNP 'rs1'"):
        genomic_relationship_matrix(g)
    with pytest.raises(ValueError, match="no polymorphic SNP among the 2"), \
            pytest.warns(ValueWarning):
        genomic_relationship_matrix(np.zeros((3, 2)))
    x = np.array([[0, np.nan], [np.nan, 1], [1, 2], [2, 0]])
    with pytest.raises(ValueError, match=r"no SNP observed in both, e\.g\. \(0, 1\)"):
        genomic_relationship_matrix(x)
    with pytest.raises(ValueError, match="2-D"):
        genomic_relationship_matrix(np.zeros(4))


# --- documentation -------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["kinship_from_pedigree", "genomic_relationship_matrix",
                                  "individual_labels"])
def test_docstring_examples_run(name):
    runner = doctest.DocTestRunner()
    tests = doctest.DocTestFinder().find(getattr(kin, name), name)
    for test in tests:
        runner.run(test)
    assert runner.tries > 0
    assert runner.failures == 0
