"""Tests of pedigrees with one known parent and of the sparse inverse relationship matrix.

Oracles independent of the code under test: hand-derived coefficients (half sibs 1/8, the
offspring of half sibs F = 1/8, the classical full-sib and selfing recurrences of F), a
memoised pair recursion written here, and numpy's dense inverse. The real blue tit pedigree
(MCMCglmm's BTped) comes through ``KINSHIP_REAL_DATA`` (the ``real_dir`` fixture).
"""
import functools

import numpy as np
import pandas as pd
import pytest

from statsmodels_kinship import KinshipMemoryError, inverse_relationship_matrix
from statsmodels_kinship import kinship as kin
from statsmodels_kinship.kinship import kinship_from_pedigree


def _table(rows):
    return pd.DataFrame(rows, columns=["individual", "father", "mother"])


def _random_one_parent_pedigree(rng, n=120, founders=6):
    """One pedigree, parents drawn among earlier individuals: about 30 % with one parent
    known (either one), some self-fertilisation, much inbreeding. Rows shuffled."""
    rows = [(f"i{k}", 0, 0) for k in range(founders)]
    for k in range(founders, n):
        a, b = (f"i{j}" for j in rng.integers(max(0, k - 30), k, 2))
        u = rng.random()
        fa, mo = ((a, 0) if u < 0.15 else (0, b) if u < 0.3 else (a, a) if u < 0.33
                  else (a, b))
        rows.append((f"i{k}", fa, mo))
    return _table(rows).sample(frac=1.0, random_state=int(rng.integers(2**31)))


def _oracle_relationship(ped):
    """A = 2 * kinship by the textbook memoised pair recursion, written independently of the
    module; an unknown parent (0, "" or NaN) contributes nothing:
    phi(a, b) = (phi(f, b) + phi(m, b)) / 2 for a the deeper of the two,
    phi(a, a) = (1 + phi(f, m)) / 2."""
    def known(p):
        return None if pd.isna(p) or p in (0, "") else p

    parents = {i: (known(f), known(m))
               for i, f, m in zip(ped["individual"], ped["father"], ped["mother"])}

    @functools.lru_cache(maxsize=None)
    def depth(a):
        return 1 + max((depth(p) for p in parents[a] if p is not None), default=-1)

    @functools.lru_cache(maxsize=None)
    def phi(a, b):
        if a is None or b is None:
            return 0.0
        if a == b:
            return 0.5 * (1 + phi(*parents[a]))
        if depth(a) < depth(b):
            a, b = b, a
        f, m = parents[a]
        return 0.5 * (phi(f, b) + phi(m, b))

    ids = list(ped["individual"])
    return 2 * np.array([[phi(a, b) for b in ids] for a in ids])


def _full_sib_line(generations):
    """Two founders, then one brother x sister mating per generation."""
    rows = [("m0", 0, 0), ("f0", 0, 0)]
    for g in range(1, generations + 1):
        rows += [(f"m{g}", f"m{g - 1}", f"f{g - 1}"), (f"f{g}", f"m{g - 1}", f"f{g - 1}")]
    return _table(rows)


def _check_inverse(res, a):
    """A^-1 (sparse) against the dense A: product, numpy's inverse, inbreeding, symmetry."""
    ainv = res.matrix
    n = a.shape[0]
    np.testing.assert_allclose(ainv @ a, np.eye(n), rtol=0, atol=1e-10)
    np.testing.assert_allclose(ainv.toarray(), np.linalg.inv(a), rtol=0,
                               atol=1e-9 * np.abs(ainv).max())
    np.testing.assert_allclose(res.inbreeding.to_numpy(), np.diag(a) - 1, rtol=0, atol=1e-12)
    assert (ainv != ainv.T).nnz == 0
    assert ainv.nnz <= 7 * n


# --- one known parent: hand-derived coefficients -------------------------------------------

def test_half_sibs_with_phantom_dams():
    # a sire and three offspring, dams unknown (each a phantom founder)
    ped = _table([("h1", "sire", 0), ("h2", "sire", ""), ("h3", "sire", np.nan),
                  ("sire", 0, 0)])
    k = kinship_from_pedigree(ped, family=None)
    assert k.loc["h1", "h2"] == k.loc["h1", "h3"] == k.loc["h2", "h3"] == 0.125  # half sibs
    assert k.loc["sire", "h3"] == 0.25  # parent-offspring
    np.testing.assert_array_equal(np.diag(k), 0.5)
    sparse = kinship_from_pedigree(ped, family=None, sparse=True)
    np.testing.assert_array_equal(sparse.matrix.toarray(), k.to_numpy())
    assert list(sparse.labels) == ["h1", "h2", "h3", "sire"]


def test_known_mother_only_and_offspring_of_half_sibs():
    # dam d has x and y by unknown sires; x x y (maternal half sibs) -> z with F = 1/8
    ped = _table([("z", "x", "y"), ("x", 0, "d"), ("y", "", "d"), ("d", 0, 0)])
    k = kinship_from_pedigree(ped, family=None)
    assert k.loc["x", "y"] == 0.125
    assert k.loc["z", "z"] == 0.5 * (1 + 0.125)
    assert k.loc["z", "d"] == 0.25  # (phi_xd + phi_yd) / 2 = (1/4 + 1/4) / 2
    res = inverse_relationship_matrix(ped, family=None)
    assert res.inbreeding.to_dict() == {"z": 0.125, "x": 0.0, "y": 0.0, "d": 0.0}


def test_inverse_of_the_half_sib_family_by_hand():
    # Henderson's rules, hand-computed: d = 1 (sire), 3/4 for each half sib
    ped = _table([("sire", 0, 0), ("h1", "sire", 0), ("h2", "sire", 0)])
    res = inverse_relationship_matrix(ped, family=None)
    expected = np.array([[1 + 2 / 3, -2 / 3, -2 / 3],
                         [-2 / 3, 4 / 3, 0],
                         [-2 / 3, 0, 4 / 3]])
    np.testing.assert_allclose(res.matrix.toarray(), expected, rtol=1e-15, atol=1e-15)
    assert list(res.labels) == ["sire", "h1", "h2"]


def test_random_one_parent_pedigrees_match_independent_recursion():
    rng = np.random.default_rng(7)
    for _ in range(3):
        ped = _random_one_parent_pedigree(rng)
        a = _oracle_relationship(ped)
        k = kinship_from_pedigree(ped, family=None)
        np.testing.assert_allclose(2 * k.to_numpy(), a, rtol=0, atol=1e-14)
        sparse = kinship_from_pedigree(ped, family=None, sparse=True)
        np.testing.assert_allclose(2 * sparse.matrix.toarray(), a, rtol=0, atol=1e-14)
        assert np.diag(a).max() > 1.2  # the test pedigree does hold inbreeding
        _check_inverse(inverse_relationship_matrix(ped, family=None), a)


# --- the inverse on inbred pedigrees --------------------------------------------------------

def test_full_sib_line_inbreeding_follows_the_classical_recurrence():
    res = inverse_relationship_matrix(_full_sib_line(12), family=None)
    # F_t = 1/4 + F_{t-1} / 2 + F_{t-2} / 4 (Wright); founders and their offspring: F = 0
    expected = [0.0, 0.0]
    for _ in range(11):
        expected.append(0.25 + expected[-1] / 2 + expected[-2] / 4)
    f = res.inbreeding
    np.testing.assert_allclose(f[[f"m{g}" for g in range(13)]], expected, rtol=1e-14)
    np.testing.assert_array_equal(f[[f"m{g}" for g in range(13)]],
                                  f[[f"f{g}" for g in range(13)]])
    a = 2 * kinship_from_pedigree(_full_sib_line(12), family=None).to_numpy()
    _check_inverse(res, a)


def test_selfing_line():
    ped = _table([("p", 0, 0)] + [(f"s{g}", f"s{g - 1}" if g else "p", f"s{g - 1}" if g else "p")
                                  for g in range(10)])
    res = inverse_relationship_matrix(ped, family=None)
    expected, f = [], 0.0
    for _ in range(10):
        f = 0.5 * (1 + f)  # F of a selfed offspring: phi of the parent with itself
        expected.append(f)
    np.testing.assert_allclose(res.inbreeding.to_numpy()[1:], expected, rtol=1e-14)
    _check_inverse(res, 2 * kinship_from_pedigree(ped, family=None).to_numpy())


def test_batches_of_columns_give_the_same_inbreeding():
    rng = np.random.default_rng(3)
    ped = _random_one_parent_pedigree(rng, n=200)
    fam, fidx, midx, depth, _ = kin._read_pedigree(ped, None, "individual", "father", "mother",
                                                   None, "auto", "")
    f_all, d_all = kin._inbreeding(fidx, midx, depth)
    f_one, d_one = kin._inbreeding(fidx, midx, depth, chunk_bytes=8)  # one column at a time
    np.testing.assert_allclose(f_one, f_all, rtol=0, atol=1e-15)
    np.testing.assert_allclose(f_all, np.diag(_oracle_relationship(ped)) - 1, rtol=0,
                               atol=1e-14)


def test_families_row_order_and_labels():
    # the same IDs in two families: block-diagonal inverse, labelled family_individual
    one = _full_sib_line(3).assign(family="A")
    two = _table([("m0", 0, 0), ("f1", "m0", 0), ("f2", "m0", "f1")]).assign(family="B")
    ped = pd.concat([one, two], ignore_index=True)
    res = inverse_relationship_matrix(ped)
    a = 2 * kinship_from_pedigree(ped).to_numpy()
    _check_inverse(res, a)
    assert list(res.labels[:2]) == ["A_m0", "A_f0"] and res.labels[-1] == "B_f2"
    assert res.inbreeding["B_f2"] == 0.25  # father x daughter, dam of f1 unknown
    assert abs(res.matrix[:8, 8:]).sum() == 0
    shuffled = inverse_relationship_matrix(ped.iloc[::-1])
    back = shuffled.matrix.toarray()[::-1, ::-1]
    np.testing.assert_allclose(back, res.matrix.toarray(), rtol=1e-14, atol=1e-14)
    pd.testing.assert_series_equal(shuffled.inbreeding[res.labels], res.inbreeding,
                                   rtol=1e-14)


def test_inverse_rejects_invalid_pedigrees():
    with pytest.raises(ValueError, match=r"cycle.*'a'"):
        inverse_relationship_matrix(_table([("a", "b", 0), ("b", "a", 0)]), family=None)
    with pytest.raises(ValueError, match=r"missing from the pedigree table.*'ghost' of 'a'"):
        inverse_relationship_matrix(_table([("a", "ghost", 0)]), family=None)
    with pytest.raises(ValueError, match=r"no rows.*compute a relationship"):
        inverse_relationship_matrix(_table([]), family=None)
    with pytest.raises(ValueError, match=r"no column for family='family'"):
        inverse_relationship_matrix(_table([("a", 0, 0)]))


# --- memory: one large connected pedigree ---------------------------------------------------

def test_kinship_of_a_large_family_is_refused_before_allocation(monkeypatch):
    ped = _table([("s", 0, 0)] + [(f"k{i}", "s", 0) for i in range(2999)])
    monkeypatch.setattr(kin, "available_memory", lambda: 50 * 2**20)  # 50 MiB
    for sparse in (False, True):
        with pytest.raises(KinshipMemoryError, match=r"pedigree \(one family\) has 3000 "):
            kinship_from_pedigree(ped, family=None, sparse=sparse)
    res = inverse_relationship_matrix(ped, family=None)  # O(n) memory: no refusal
    assert res.matrix.nnz == 3000 + 2 * 2999


# --- the real blue tit pedigree (MCMCglmm's BTped) ------------------------------------------

@pytest.mark.parametrize("unknown_sires", [0, 300])
def test_bluetit_pedigree(real_dir, unknown_sires):
    ped = pd.read_csv(real_dir / "bluetit" / "BTped.csv")
    assert len(ped) == 1040
    # BTped itself gives both parents or none; make the sires of some chicks unknown, as in
    # field data where paternity is not known (the offspring of extra-pair matings)
    chicks = np.flatnonzero(ped["sire"].notna().to_numpy())
    assert len(chicks) == 828
    drop = np.random.default_rng(11).choice(chicks, unknown_sires, replace=False)
    ped.loc[drop, "sire"] = np.nan
    assert (ped["dam"].isna() != ped["sire"].isna()).sum() == unknown_sires
    columns = dict(family=None, individual="animal", father="sire", mother="dam")
    k = kinship_from_pedigree(ped, **columns)
    assert list(k.index) == list(ped["animal"])
    if unknown_sires:  # independent recursion (1.4 s) where a parent is missing alone
        oracle = _oracle_relationship(ped.rename(columns={"animal": "individual",
                                                          "sire": "father", "dam": "mother"}))
        np.testing.assert_allclose(2 * k.to_numpy(), oracle, rtol=0, atol=1e-14)
    sparse = kinship_from_pedigree(ped, sparse=True, **columns)
    np.testing.assert_array_equal(sparse.matrix.toarray(), k.to_numpy())
    res = inverse_relationship_matrix(ped, **columns)
    assert list(res.labels) == list(ped["animal"])
    _check_inverse(res, 2 * k.to_numpy())
