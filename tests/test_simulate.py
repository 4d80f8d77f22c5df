"""simulate_family_study: determinism, the committed data set, genetics and statistics.

Oracles independent of the simulator: a kinship recursion written here (expected genotype
correlations of relatives), scipy's bivariate normal CDF (LD of the haplotype model), Higham's
published nearest-correlation example, Mendel's rules, Haldane's map function and the rank
bound of genotypes built from few ancestral haplotypes. Statistical checks use large
simulations (2000 families: the seed preset with its ancestral haplotypes, with mutation, and
without ancestral haplotypes) and tolerances of about 4.5 standard errors, estimated from the
independent families.
"""
import doctest
import hashlib
import importlib.util
import pathlib

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import stats

from statsmodels_kinship import simulate as sim
from statsmodels_kinship._spectral import aliased_columns
from statsmodels_kinship.simulate import (
    STUDY_FILES,
    household_labels,
    read_study_csv,
    replicate_pedigree,
    seed_pedigree,
    seed_study_parameters,
    shared_env_correlation,
    simulate_family_study,
)

DATA = pathlib.Path(__file__).resolve().parent.parent / "data"
N_BIG = 2000
Z = 4.5  # tolerance in standard errors


@pytest.fixture(scope="module")
def study():
    return simulate_family_study(**seed_study_parameters(), seed=11)


@pytest.fixture(scope="module")
def big():
    """The seed preset: 5 ancestral haplotypes per block."""
    return simulate_family_study(**seed_study_parameters(n_families=N_BIG), seed=2024)


@pytest.fixture(scope="module")
def big_mutated():
    """The seed preset with flips of the ancestral alleles (no perfect LD)."""
    return simulate_family_study(**seed_study_parameters(n_families=N_BIG), seed=2025,
                                 ancestral_mutation_prob=0.05)


@pytest.fixture(scope="module")
def big_direct():
    """The seed preset without ancestral haplotypes: founders straight from the LD model."""
    return simulate_family_study(**{**seed_study_parameters(n_families=N_BIG),
                                    "n_ancestral_haplotypes": None}, seed=2026)


BIG = ["big", "big_mutated", "big_direct"]


def founder_freq(study):
    """Expected frequency of the counted allele in founders, which the trait is scaled with."""
    m = study.snp_map
    return (m["founder_freq"] if "founder_freq" in m else m["maf"]).to_numpy()


def design_rank(genotypes):
    """Rank of [1, genotypes] by R's rule, and the aliased SNP names."""
    g = np.asarray(genotypes, dtype=float)
    aliased = aliased_columns(np.column_stack([np.ones(len(g)), g]))
    names = np.asarray(genotypes.columns)[aliased[1:]]
    return int((~aliased).sum()), list(names)


@pytest.fixture
def nuclear():
    """Two nuclear families (parents and two children)."""
    one = pd.DataFrame({"individual": [1, 2, 3, 4], "father": [0, 0, 1, 1],
                        "mother": [0, 0, 2, 2], "sex": [1, 2, 1, 2]})
    return replicate_pedigree(one, 2)


def family_means(x, n_families):
    """Mean of x over independent families (equal sizes, contiguous rows) and its SE."""
    per_family = np.asarray(x, dtype=float).reshape(n_families, -1).mean(axis=1)
    return per_family.mean(), per_family.std(ddof=1) / np.sqrt(n_families)


def mendelian_errors(genotypes, pedigree):
    """Boolean (children x SNPs): the child's genotype cannot come from its parents'."""
    kids = pedigree[pedigree["father"] != "0"]
    g = genotypes.loc[kids["individual"]].to_numpy()
    f = genotypes.loc[kids["father"]].to_numpy()
    m = genotypes.loc[kids["mother"]].to_numpy()
    # a parent with genotype 0 transmits 0, with 2 transmits 1, with 1 either
    low = (f == 2).astype(int) + (m == 2)
    high = (f >= 1).astype(int) + (m >= 1)
    return (g < low) | (g > high)


def kinship_oracle(template):
    """Kinship coefficients of one family by the classical recursion (parents first)."""
    ids = [str(i) for i in template["individual"]]
    par = {str(r.individual): (str(r.father), str(r.mother)) for r in template.itertuples()}
    order, placed = [], set()
    while len(order) < len(ids):
        for i in ids:
            f, m = par[i]
            if i not in placed and (f == "0" or (f in placed and m in placed)):
                order.append(i)
                placed.add(i)
    phi = {}
    for a, i in enumerate(order):
        f, m = par[i]
        phi[i, i] = 0.5 if f == "0" else 0.5 * (1 + phi[f, m])
        for j in order[:a]:
            phi[i, j] = phi[j, i] = 0.0 if f == "0" else 0.5 * (phi[f, j] + phi[m, j])
    return np.array([[phi[i, j] for j in ids] for i in ids])


# -------------------------------------------------------------------------------------------
# Determinism and the committed data set
# -------------------------------------------------------------------------------------------

def test_same_seed_gives_the_same_study():
    a = simulate_family_study(**seed_study_parameters(n_families=20), seed=5)
    b = simulate_family_study(**seed_study_parameters(n_families=20), seed=5)
    for name in ("pedigree", "genotypes", "snp_map", "causal", "components"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    pd.testing.assert_series_equal(a.phenotype, b.phenotype)
    pd.testing.assert_series_equal(a.expected_variance, b.expected_variance)
    c = simulate_family_study(**seed_study_parameters(n_families=20), seed=6)
    assert not a.genotypes.equals(c.genotypes)
    assert not np.allclose(a.phenotype, c.phenotype)


def test_trait_parameters_do_not_change_the_genotypes():
    params = seed_study_parameters(n_families=10)
    a = simulate_family_study(**params, seed=3)
    params.update(causal={"SNP2": 0.3}, shared_env_fraction=0.1, mean=0.0)
    b = simulate_family_study(**params, seed=3)
    pd.testing.assert_frame_equal(a.genotypes, b.genotypes)
    assert not np.allclose(a.phenotype, b.phenotype)


def load_make_data():
    spec = importlib.util.spec_from_file_location("make_data", DATA / "make_data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_make_data_reproduces_the_committed_files_byte_for_byte(tmp_path):
    make_data = load_make_data()
    written = make_data.main(tmp_path)
    assert [p.name for p in written] == list(STUDY_FILES)
    for p in written:
        committed = DATA / p.name
        assert committed.is_file(), f"{committed} is missing; run python data/make_data.py"
        assert p.read_bytes() == committed.read_bytes(), (
            f"{p.name} differs from the committed data/{p.name}")


def test_committed_files_agree_with_each_other():
    ped, geno, phe, snps = read_study_csv(DATA)
    assert list(ped.columns) == ["family", "individual", "father", "mother", "sex", "household"]
    assert list(phe.columns) == ["family", "trait", "household"]
    assert phe.index.name == "individual"
    # households as household_labels makes them: 3 per family (sizes 2, 5, 5)
    assert_array_equal(ped["household"], household_labels(ped))
    assert_array_equal(phe["household"], ped["household"])
    assert ped["household"].value_counts().value_counts().to_dict() == {5: 200, 2: 100}
    assert list(snps.columns[:3]) == ["chromosome", "cM", "position"]
    assert ped.shape == (1200, 6) and geno.shape == (1200, 130) and len(phe) == 1200
    assert_array_equal(geno.index, ped["individual"])
    assert_array_equal(phe.index, ped["individual"])
    assert_array_equal(geno.columns, snps.index)
    assert_array_equal(snps.index, [f"SNP{j}" for j in range(1, 131)])
    assert geno.dtypes.map(pd.api.types.is_integer_dtype).all()
    assert not mendelian_errors(geno, ped).any()
    assert sum(p.stat().st_size for p in DATA.glob("*.csv")) < 1_000_000


def test_committed_data_set_is_rank_deficient_with_the_causal_snps_kept():
    """Perfect LD, as in the seed (rank 25), but no causal SNP aliased with earlier SNPs."""
    _, geno, _, snps = read_study_csv(DATA)
    rank, aliased = design_rank(geno)
    assert rank == 48  # python data/make_data.py; at most 1 + 13 x (5 - 1) = 53
    assert len(aliased) == 131 - rank
    assert not set(aliased) & {"SNP1", "SNP3", "SNP5", "SNP11"}
    # identical and complementary SNP columns both occur
    g = geno.to_numpy()
    same = [(j, k) for j in range(130) for k in range(j) if (g[:, j] == g[:, k]).all()]
    flipped = [(j, k) for j in range(130) for k in range(j) if (g[:, j] == 2 - g[:, k]).all()]
    assert same and flipped
    # the frequencies in the study are those of 5 ancestral haplotypes
    assert_allclose(snps["founder_freq"] * 5, np.round(snps["founder_freq"] * 5), atol=1e-6)
    assert snps["founder_freq"].between(0.2 - 1e-9, 0.8 + 1e-9).all()


# -------------------------------------------------------------------------------------------
# Structure
# -------------------------------------------------------------------------------------------

def test_shapes_ids_and_labels(study):
    ped, geno = study.pedigree, study.genotypes
    assert list(ped.columns) == ["family", "individual", "father", "mother", "sex"]
    assert ped.shape == (1200, 5) and ped["family"].nunique() == 100
    assert ped["individual"].is_unique
    assert ped["individual"].iloc[0] == "F001_01" and ped["individual"].iloc[-1] == "F100_12"
    assert (ped["father"] == "0").sum() == 400 and ((ped["father"] == "0")
                                                    == (ped["mother"] == "0")).all()
    assert geno.shape == (1200, 130)
    assert list(geno.columns) == [f"SNP{j}" for j in range(1, 131)]
    for obj in (geno, study.phenotype, study.components):
        assert_array_equal(obj.index, ped["individual"])
    assert study.phenotype.name == "trait"
    assert list(study.components.columns) == ["genetic", "shared_env", "individual_env"]
    assert list(study.snp_map.columns) == ["name", "chromosome", "cM", "bp", "block", "maf",
                                           "founder_freq"]
    assert list(study.causal.columns) == ["fraction", "maf", "founder_freq", "effect"]
    assert list(study.causal.index) == ["SNP1", "SNP3", "SNP5", "SNP11"]
    assert repr(study) == "FamilyStudy(100 families, 1200 individuals, 130 SNPs, 4 causal)"


def test_seed_pedigree_is_the_seeds(seed_dir):
    ped = pd.read_csv(seed_dir / "seqsimla" / "data1.ped", sep=r"\s+", header=None,
                      usecols=range(5), names=["family", "individual", "father", "mother",
                                               "sex"])
    first = ped.iloc[:12, 1:].reset_index(drop=True)
    pd.testing.assert_frame_equal(seed_pedigree(), first, check_dtype=False)
    assert ped["family"].nunique() == 100
    for _, fam in ped.groupby("family"):
        pd.testing.assert_frame_equal(fam.iloc[:, 1:].reset_index(drop=True), first)


def test_replicate_pedigree_labels():
    ped = replicate_pedigree(seed_pedigree(), 3)
    assert ped.loc[4].tolist() == ["F001", "F001_04", "F001_02", "F001_01", 2]
    assert ped.loc[16].tolist() == ["F002", "F002_04", "F002_02", "F002_01", 2]
    assert ped["individual"].is_unique
    kids = ped[ped["father"] != "0"]
    assert (kids["father"].str[:4] == kids["family"]).all()


def test_genotypes_are_counts_and_mendelian(study):
    g = study.genotypes.to_numpy()
    assert g.dtype == np.int64 and set(np.unique(g)) <= {0, 1, 2}
    assert not mendelian_errors(study.genotypes, study.pedigree).any()
    # the check can fail: a child homozygous for an allele that one parent lacks
    broken = study.genotypes.copy()
    kid = study.pedigree.iloc[-1]  # in the third generation: nobody's parent
    snp = (broken.loc[kid["father"]] == 0).idxmax()
    assert broken.loc[kid["father"], snp] == 0
    broken.loc[kid["individual"], snp] = 2
    assert mendelian_errors(broken, study.pedigree).sum() == 1


def test_rows_in_any_order(nuclear):
    shuffled = nuclear.iloc[::-1].reset_index(drop=True)  # children before their parents
    s = simulate_family_study(shuffled, n_snps=30, ld_rho=0.5, seed=1)
    assert_array_equal(s.genotypes.index, shuffled["individual"])
    assert not mendelian_errors(s.genotypes, s.pedigree).any()


def test_trait_is_mean_plus_components(study):
    c, snp = study.components, study.snp_map.set_index("name")
    assert_allclose(study.phenotype, 10.0 + c.sum(axis=1), rtol=0, atol=1e-12)
    causal = study.causal
    assert_allclose(causal["maf"], [0.072, 0.419, 0.058, 0.124])
    assert_allclose(causal["maf"], snp.loc[causal.index, "maf"])
    assert_allclose(causal["founder_freq"], snp.loc[causal.index, "founder_freq"])
    p = causal["founder_freq"].to_numpy()
    assert_allclose(causal["effect"], np.sqrt(causal["fraction"] / (2 * p * (1 - p))))
    g = (study.genotypes[causal.index] - 2 * p) @ causal["effect"].to_numpy()
    assert_allclose(c["genetic"], g, atol=1e-12)
    ev = study.expected_variance
    assert_allclose(ev[causal.index], causal["fraction"])
    assert_allclose(ev[["shared_env", "individual_env"]], [0.35, 0.05])
    assert_allclose(ev["total"], ev[["genetic", "shared_env", "individual_env"]].sum())


def test_allele_frequencies_and_map(study):
    m = study.snp_map
    others = ~m["name"].isin(study.causal.index)
    assert m.loc[others, "maf"].between(0.05, 0.5).all()
    assert (m["chromosome"] == 1).all() and (m["block"] == np.arange(130) // 10 + 1).all()
    assert_allclose(m["cM"], 0.001 * np.arange(1, 131))
    assert_array_equal(m["bp"], 1000 * np.arange(1, 131))


# -------------------------------------------------------------------------------------------
# Statistics of a large simulation
# -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("which", BIG)
def test_variance_fractions(which, request):
    """Realised variances (about the known mean 0) match the requested fractions."""
    big = request.getfixturevalue(which)
    causal, ev = big.causal, big.expected_variance
    p = pd.Series(founder_freq(big), index=big.snp_map["name"])
    for name, row in causal.iterrows():
        x = row["effect"] * (big.genotypes[name] - 2 * p[name])
        est, se = family_means(x ** 2, N_BIG)
        assert abs(est - row["fraction"]) < Z * se, (name, est, row["fraction"], se)
    for comp, want in (("genetic", ev["genetic"]), ("shared_env", 0.35),
                       ("individual_env", 0.05)):
        est, se = family_means(big.components[comp] ** 2, N_BIG)
        assert abs(est - want) < Z * se, (comp, est, want, se)
    est, se = family_means((big.phenotype - 10.0) ** 2, N_BIG)
    assert abs(est - ev["total"]) < Z * se
    est, se = family_means(big.phenotype, N_BIG)
    assert abs(est - 10.0) < Z * se
    # the LD between SNP1, SNP3 and SNP5 makes the genetic variance differ from 0.6
    assert abs(ev["genetic"] - 0.6) > 1e-3


def test_shared_environment_correlations(big):
    """Each within-family pair's realised correlation matches the matrix used."""
    u = big.components["shared_env"].to_numpy().reshape(N_BIG, 12)
    realised = np.corrcoef(u.T)
    ped = big.pedigree.iloc[:12]
    used = shared_env_correlation(ped, seed_study_parameters()["shared_env_corr"],
                                  nonpsd="nearest")["F0001"].to_numpy()
    se = 1 / np.sqrt(N_BIG - 3)  # Fisher z, one pair per independent family
    iu = np.triu_indices(12, 1)
    dev = np.abs(np.arctanh(realised[iu]) - np.arctanh(used[iu]))
    assert dev.max() < Z * se, dev.max() / se
    # and the used matrix is the requested one, up to the positive semidefinite adjustment
    pos = {i: k for k, i in enumerate(ped["individual"].str[-2:])}
    pairs = {"spouse": [("01", "02")], "parent_offspring": [("01", "04"), ("02", "05"),
                                                             ("03", "07"), ("06", "12")],
             "sibling": [("07", "08"), ("10", "12")], "none": [("01", "03"), ("01", "07")]}
    want = {"spouse": 0.8, "parent_offspring": 0.5, "sibling": 0.5, "none": 0.0}
    for kind, members in pairs.items():
        for a, b in members:
            assert abs(realised[pos[a], pos[b]] - want[kind]) < Z * se + 0.01, (kind, a, b)


@pytest.mark.parametrize("which", ["big", "big_direct"])
def test_relatives_share_genotypes_as_their_kinship_says(which, request):
    """Gene dropping: corr of standardised genotypes of relatives is 2 x kinship."""
    big = request.getfixturevalue(which)
    p = founder_freq(big)
    z = (big.genotypes.to_numpy() - 2 * p) / np.sqrt(2 * p * (1 - p))
    z = z.reshape(N_BIG, 12, -1)
    per_family = np.einsum("fis,fjs->fij", z, z) / z.shape[2]
    est = per_family.mean(axis=0)
    se = per_family.std(axis=0, ddof=1) / np.sqrt(N_BIG)
    want = 2 * kinship_oracle(seed_pedigree())
    assert np.all(np.abs(est - want) < Z * se), np.max(np.abs(est - want) / se)
    assert want[0, 4] == 0.5 and want[4, 5] == 0.5 and want[6, 9] == 0.125


@pytest.mark.parametrize("which", BIG)
def test_snps_in_a_block_are_in_ld_and_blocks_are_not(which, request):
    big = request.getfixturevalue(which)
    founders = (big.pedigree["father"] == "0").to_numpy()
    r = np.corrcoef(big.genotypes.to_numpy()[founders].T)
    adjacent = np.abs(np.diag(r, 1))
    block = big.snp_map["block"].to_numpy()
    same = block[1:] == block[:-1]
    assert adjacent[same].min() > 0.05 and np.median(adjacent[same]) > 0.3
    between = np.abs(r[block[:, None] != block[None, :]])
    assert between.max() < Z / np.sqrt(founders.sum() / 4)  # 4 founders per family
    # linkage equilibrium when ld_rho = 0
    le = simulate_family_study(replicate_pedigree(seed_pedigree(), 500), n_snps=20, ld_rho=0.0,
                               seed=9)
    f = (le.pedigree["father"] == "0").to_numpy()
    assert np.abs(np.diag(np.corrcoef(le.genotypes.to_numpy()[f].T), 1)).max() < Z / np.sqrt(
        f.sum())


# -------------------------------------------------------------------------------------------
# The pieces, against independent oracles
# -------------------------------------------------------------------------------------------

def test_recombination_follows_haldane():
    snp_map, _, rec = sim._snp_map(4, [0.0, 10.0, 60.0, 5.0], 0.1, [1, 1, 1, 2], 10)
    haldane = 0.5 * (1 - np.exp(-2 * np.array([10.0, 50.0]) / 100))
    assert_allclose(rec, np.r_[haldane, 0.5])
    assert_array_equal(snp_map["bp"], [0, 10_000_000, 60_000_000, 5_000_000])
    m = 40_000
    parents = np.zeros((m, 2, 4), dtype=np.uint8)
    parents[:, 1] = 1  # haplotype 0 all 0, haplotype 1 all 1: switches are visible
    gam = sim._gametes(np.random.default_rng(0), parents, rec)
    switched = (gam[:, 1:] != gam[:, :-1]).mean(axis=0)
    se = np.sqrt(rec * (1 - rec) / m)
    assert np.all(np.abs(switched - rec) < Z * se), (switched, rec)
    assert abs(gam[:, 0].mean() - 0.5) < Z * 0.5 / np.sqrt(m)


@pytest.mark.parametrize("p1, p2, rho", [(0.1, 0.3, 0.9), (0.05, 0.5, -0.6), (0.4, 0.2, 0.3),
                                          (0.25, 0.25, 0.999)])
def test_haplotype_ld_against_the_bivariate_normal_cdf(p1, p2, rho):
    a, b = stats.norm.ppf([p1, p2])
    cdf = stats.multivariate_normal.cdf([a, b], mean=[0, 0], cov=[[1, rho], [rho, 1]],
                                        abseps=1e-10, releps=1e-10)
    assert_allclose(sim._haplotype_ld(p1, p2, rho), cdf - p1 * p2, atol=1e-6)


def test_haplotype_ld_matches_the_founder_haplotypes():
    rng = np.random.default_rng(1)
    maf = np.array([0.1, 0.3, 0.45])
    orient = np.array([1, -1, 1])
    h = sim._founder_haplotypes(rng, 200_000, maf, orient, np.array([True, False, False]), 0.8)
    assert_allclose(h.mean(axis=0), maf, atol=Z * 0.5 / np.sqrt(200_000))
    for j, k in ((0, 1), (1, 2), (0, 2)):
        d = np.mean(h[:, j] * h[:, k]) - maf[j] * maf[k]
        want = sim._haplotype_ld(maf[j], maf[k], orient[j] * orient[k] * 0.8 ** (k - j))
        assert abs(d - want) < Z * 0.5 / np.sqrt(200_000), (j, k, d, want)
    assert abs(sim._haplotype_ld(0.2, 0.3, 1.0) - (0.2 - 0.06)) < 1e-12
    assert abs(sim._haplotype_ld(0.2, 0.3, -1.0) - (0.0 - 0.06)) < 1e-12


def test_default_founders_are_unchanged_by_the_ancestral_haplotype_option():
    """n_ancestral_haplotypes=None draws what the simulator drew before the option existed."""
    params = {**seed_study_parameters(n_families=5), "n_ancestral_haplotypes": None}
    s = simulate_family_study(**params, seed=7)
    digest = hashlib.sha256(s.genotypes.to_numpy().astype("<i8").tobytes()).hexdigest()
    assert digest == "5e32d6fffc1af2dac6f3ae7ff9418711ce88a10b3a8c8826212486cfa832ff96"
    assert_allclose(s.phenotype.iloc[[0, 30, 59]], [10.3998598596, 11.3433238265,
                                                     9.7057292849], atol=1e-9)
    assert list(s.snp_map.columns) == ["name", "chromosome", "cM", "bp", "block", "maf"]
    assert list(s.causal.columns) == ["fraction", "maf", "effect"]


def test_ancestral_pool_and_founders_drawn_from_it():
    rng = np.random.default_rng(3)
    maf = np.r_[np.full(6, 0.05), np.full(6, 0.3)]
    orient = np.array([1, -1] * 6)
    start = np.arange(12) % 4 == 0  # 3 blocks of 4
    names = [f"SNP{j + 1}" for j in range(12)]
    pool = sim._ancestral_pool(rng, 3, maf, orient, start, 0.9, names)
    assert pool.shape == (3, 12)
    assert ((pool.sum(axis=0) > 0) & (pool.sum(axis=0) < 3)).all()  # all polymorphic
    m = 30_000
    h = sim._founders_from_pool(np.random.default_rng(4), m, pool, start, 0.0)
    for b in range(3):
        block, ancestral = h[:, 4 * b:4 * b + 4], pool[:, 4 * b:4 * b + 4]
        # every founder block is an ancestral one, each pool member chosen with probability 1/3
        seen = 0
        for r in np.unique(ancestral, axis=0):
            share = (block == r).all(axis=1).mean()
            want = (ancestral == r).all(axis=1).mean()
            assert abs(share - want) < Z * np.sqrt(want * (1 - want) / m)
            seen += share
        assert seen == 1.0
    # flips: the same seed gives the same choices; alleles differ where flipped
    mu = 0.1
    f = sim._founders_from_pool(np.random.default_rng(4), m, pool, start, mu)
    assert abs((f != h).mean() - mu) < Z * np.sqrt(mu * (1 - mu) / (m * 12))
    want = pool.mean(axis=0) * (1 - 2 * mu) + mu
    assert np.all(np.abs(f.mean(axis=0) - want) < Z * 0.5 / np.sqrt(m))


def test_ancestral_haplotypes_bound_the_rank():
    """Without recombination a block's genotypes span at most H - 1 dimensions beyond 1."""
    ped = replicate_pedigree(seed_pedigree(), 50)
    args = dict(n_snps=30, block_size=6, ld_rho=0.9, cm_spacing=0.0, seed=8)  # 5 blocks
    for H in (2, 3, 4, 6):
        s = simulate_family_study(ped, n_ancestral_haplotypes=H, **args)
        rank, _ = design_rank(s.genotypes)
        assert rank <= 1 + 5 * (H - 1), (H, rank)
        if H == 2:  # two distinct ancestral haplotypes per block (complementary ones)
            assert rank == 6
        f = s.snp_map["founder_freq"].to_numpy()
        assert_allclose(f * H, np.round(f * H), atol=1e-12)
        assert ((f > 0) & (f < 1)).all()
        assert (s.genotypes.std() > 0).all()  # polymorphic in the pool, so in the sample
    mutated = simulate_family_study(ped, n_ancestral_haplotypes=3, ancestral_mutation_prob=0.05,
                                    **args)
    assert design_rank(mutated.genotypes)[0] == 31
    direct = simulate_family_study(ped, **args)
    assert design_rank(direct.genotypes)[0] == 31


def test_ancestral_haplotypes_do_not_depend_on_the_trait_or_mutation():
    params = seed_study_parameters(n_families=10)
    a = simulate_family_study(**params, seed=3)
    b = simulate_family_study(**{**params, "causal": {"SNP2": 0.3}, "mean": 0.0}, seed=3)
    pd.testing.assert_frame_equal(a.genotypes, b.genotypes)
    pd.testing.assert_frame_equal(a.snp_map, b.snp_map)
    c = simulate_family_study(**params, ancestral_mutation_prob=0.01, seed=3)
    differ = (a.genotypes != c.genotypes).to_numpy().mean()
    assert 0 < differ < 0.05  # the same choices, a few flips (through parents: 2 x 0.01 each)


def test_nearest_correlation_matrix_of_highams_example():
    # Higham (2002), section 4: the nearest correlation matrix to [[1,1,0],[1,1,1],[0,1,1]]
    a = np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 1.0], [0.0, 1.0, 1.0]])
    x = sim._nearest_correlation(a)
    want = np.array([[1, 0.7607, 0.1573], [0.7607, 1, 0.7607], [0.1573, 0.7607, 1]])
    assert_allclose(x, want, atol=1e-4)
    assert np.linalg.eigvalsh(x).min() > -1e-12
    assert_allclose(np.diag(x), 1.0, atol=1e-14)


def test_seed_correlations_are_not_psd_and_raise_by_default():
    params = seed_study_parameters(n_families=3)
    params["nonpsd"] = "raise"
    with pytest.raises(ValueError, match="not positive semidefinite for 3 families.*'F001'.*"
                                         "-0.115.*nonpsd='nearest'"):
        simulate_family_study(**params, seed=1)
    R = shared_env_correlation(params["pedigree"], params["shared_env_corr"],
                               nonpsd="nearest")
    assert list(R) == ["F001", "F002", "F003"]
    r = R["F001"]
    assert np.linalg.eigvalsh(r).min() > -1e-12
    assert_allclose(r.loc["F001_01", "F001_02"], 0.8, atol=1e-6)
    assert_allclose(r.loc["F001_03", "F001_04"], 0.765, atol=1e-3)
    assert_allclose(r.loc["F001_04", "F001_05"], 0.439, atol=1e-3)


def test_docstring_examples_run():
    result = doctest.testmod(sim, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 10 and result.failed == 0


# -------------------------------------------------------------------------------------------
# Argument validation
# -------------------------------------------------------------------------------------------

def _broken(ped, changes):
    ped = ped.copy()
    for (row, col), value in changes.items():
        ped.loc[row, col] = value
    return ped


@pytest.mark.parametrize("kwargs, match", [
    ({"causal": {"SNP1": 0.6}, "shared_env_fraction": 0.5,
      "shared_env_corr": {"sibling": 0.2}}, r"explain 1\.1 > 1"),
    ({"causal": {"SNP99": 0.1}}, r"unknown causal SNPs 'SNP99'.*SNP1\.\.SNP10"),
    ({"causal": {"SNP1": -0.1}}, r"fraction of causal SNP SNP1 must be a number in \[0, 1\]"),
    ({"total_variance": -1.0}, "total_variance must be a finite number > 0"),
    ({"total_variance": 0.0}, "total_variance must be a finite number > 0"),
    ({"shared_env_fraction": 0.2}, "shared_env_corr .* is required"),
    ({"shared_env_fraction": 0.2, "shared_env_corr": {"cousin": 0.1}}, "unknown keys 'cousin'"),
    ({"shared_env_fraction": 0.2, "shared_env_corr": {"spouse": 1.5}}, r"in \[-1, 1\]"),
    ({"nonpsd": "clip"}, "nonpsd must be 'raise' or 'nearest'"),
    ({"maf_range": (0.2, 0.6)}, "maf_range must satisfy"),
    ({"maf_range": 0.2}, r"maf_range must be a pair"),
    ({"allele_freq": {"SNP11": 0.1}}, "allele_freq names unknown SNPs 'SNP11'"),
    ({"allele_freq": {"SNP1": 0.7}}, r"must be in \(0, 0\.5\]; 'SNP1' have 0\.7"),
    ({"ld_rho": 1.5}, r"ld_rho must be in \[0, 1\]"),
    ({"n_snps": 0}, "n_snps must be a positive integer"),
    ({"block_size": 0}, "block_size must be a positive integer"),
    ({"cm": [0, 1, 2, 1, 4, 5, 6, 7, 8, 9]}, "nondecreasing within each chromosome"),
    ({"chromosome": [1, 1, 2, 2, 1, 1, 3, 3, 3, 3]}, "ordered by chromosome"),
    ({"n_ancestral_haplotypes": 1}, "n_ancestral_haplotypes must be None or an integer >= 2"),
    ({"n_ancestral_haplotypes": 4.0}, "n_ancestral_haplotypes must be None or an integer"),
    ({"n_ancestral_haplotypes": 4, "ancestral_mutation_prob": 0.5},
     r"ancestral_mutation_prob must be in \[0, 0\.5\)"),
    ({"ancestral_mutation_prob": 0.01}, "set n_ancestral_haplotypes too"),
    ({"n_ancestral_haplotypes": 2, "maf_range": (0.05, 0.05), "ld_rho": 0.0},
     r"could not draw 2 ancestral haplotypes of LD block 1 in which every SNP is polymorphic"),
])
def test_invalid_arguments(nuclear, kwargs, match):
    args = {"n_snps": 10, **kwargs}
    with pytest.raises(ValueError, match=match):
        simulate_family_study(nuclear, **args)


@pytest.mark.parametrize("changes, match", [
    ({(2, "father"): "F001_9"}, r"fathers are not in the pedigree.*'F001_9' \(father of "
                                r"'F001_3'\)"),
    ({(2, "mother"): "0"}, r"'F001_3' have one parent only"),
    ({(5, "individual"): "F001_1"}, "unique across the whole pedigree.*'F001_1'"),
    ({(0, "sex"): 2}, r"a father must be male \(sex 1\): 'F001_1'"),
    ({(0, "sex"): 3}, "sex must be 1 .male. or 2 .female."),
    ({(6, "father"): "F001_1"}, "parents must be in their child's family"),
    ({(0, "father"): "F001_3", (0, "mother"): "F001_2"}, "cycle"),
])
def test_invalid_pedigrees(nuclear, changes, match):
    with pytest.raises(ValueError, match=match):
        simulate_family_study(_broken(nuclear, changes), n_snps=5, seed=0)


def test_pedigree_lacking_a_column(nuclear):
    with pytest.raises(ValueError, match=r"lacks the columns \['sex'\]"):
        simulate_family_study(nuclear.drop(columns="sex"), n_snps=5)


def test_to_csv_and_read_study_csv_round_trip(tmp_path):
    study = simulate_family_study(**seed_study_parameters(n_families=3), seed=5)
    paths = study.to_csv(tmp_path / "study")
    assert [p.name for p in paths] == list(STUDY_FILES)
    ped, geno, phe, snps = read_study_csv(tmp_path / "study")
    pd.testing.assert_frame_equal(ped, study.pedigree.astype(str))
    pd.testing.assert_frame_equal(geno, study.genotypes, check_names=False)
    assert_allclose(phe["trait"], study.phenotype, atol=5e-7)  # written with 6 decimals
    assert_array_equal(phe.index, study.pedigree["individual"])
    assert_array_equal(snps.index, study.genotypes.columns)
    (tmp_path / "study" / "snp_map.csv").unlink()
    with pytest.raises(FileNotFoundError, match="snp_map.csv"):
        read_study_csv(tmp_path / "study")
