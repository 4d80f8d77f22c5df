"""simulate_dairy_herd: a dairy data set with repeated records, herds and a pedigree with
one-parent animals (issue 10), and the committed data of ``tests/results/lme4_dairy.R``.

Oracles independent of the simulator's code: the kinship matrix of
:func:`~statsmodels_kinship.kinship.kinship_from_pedigree` (the tabular method; the simulator
takes inbreeding from Colleau's method) against the realized covariance of many replicate
breeding values, with tolerances of 4.5 standard errors; hand-worked inbreeding of a small
pedigree; and a fresh run of ``tests/results/lme4_dairy.py``'s writer against the committed
CSV files.
"""
import importlib.util
import json
import pathlib

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from statsmodels_kinship.kinship import kinship_from_pedigree
from statsmodels_kinship.simulate import _breeding_values, simulate_dairy_herd

RESULTS = pathlib.Path(__file__).resolve().parent / "results"
Z = 4.5  # tolerance in standard errors
N_REPLICATES = 20_000

SMALL = dict(n_animals=120, n_cows=40, n_records=100, n_herds=4)


@pytest.fixture(scope="module")
def dairy():
    return simulate_dairy_herd(seed=7)


def _rows(pedigree):
    """Sire and dam of each animal as row numbers (-1 unknown)."""
    row = dict(zip(pedigree["animal"], range(len(pedigree))))
    row["0"] = -1
    return pedigree["sire"].map(row).to_numpy(), pedigree["dam"].map(row).to_numpy()


def _relationship(pedigree):
    """A = 2 x kinship, by kinship_from_pedigree (the oracle)."""
    phi = kinship_from_pedigree(pedigree, family=None, individual="animal", father="sire",
                                mother="dam", sex=None)
    assert list(phi.index) == list(pedigree["animal"])
    return 2 * phi.to_numpy()


# -------------------------------------------------------------------------------------------
# The data set
# -------------------------------------------------------------------------------------------

def test_default_sizes_and_layout(dairy):
    ped, rec = dairy.pedigree, dairy.records
    assert list(ped.columns) == ["animal", "sire", "dam"]
    assert list(rec.columns) == ["id", "herd", "lactation", "yield"]
    assert len(ped) == 6547 and ped["animal"].is_unique
    assert len(rec) == 3400
    assert rec["id"].nunique() == 1360 and rec["herd"].nunique() == 57
    assert set(rec["id"]) <= set(ped["animal"])
    # parents precede their offspring
    sire, dam = _rows(ped)
    assert ((sire < np.arange(len(ped))) & (dam < np.arange(len(ped)))).all()
    # each cow: one herd, lactations 1..k (1 <= k <= 5), rows sorted by cow and lactation
    per_cow = rec.groupby("id")
    assert (per_cow["herd"].nunique() == 1).all()
    assert per_cow["lactation"].apply(lambda x: list(x) == list(range(1, len(x) + 1))).all()
    assert rec["lactation"].between(1, 5).all() and (per_cow.size() == 5).any()
    assert rec.equals(rec.sort_values(["id", "lactation"], kind="stable"))


def test_pedigree_has_one_parent_animals_generations_and_inbreeding(dairy):
    ped = dairy.pedigree
    sire_only = (ped["sire"] != "0") & (ped["dam"] == "0")
    assert 100 <= sire_only.sum() <= 600          # a few hundred, as in real herd books
    assert not ((ped["sire"] == "0") & (ped["dam"] != "0")).any()
    # cows with records among the one-parent animals, and as parents of recorded cows
    cows = set(dairy.records["id"])
    assert sire_only[ped["animal"].isin(cows)].sum() > 20
    assert ped.loc[ped["animal"].isin(cows), "dam"].isin(cows).sum() > 20  # dam-daughter
    sire, dam = _rows(ped)
    depth = np.zeros(len(ped), int)
    for i in range(len(ped)):
        depth[i] = 1 + max(depth[sire[i]] if sire[i] >= 0 else -1,
                           depth[dam[i]] if dam[i] >= 0 else -1)
    assert depth.max() >= 4                        # several generations
    # overlapping: some parent pairs come from different generations
    both = (sire >= 0) & (dam >= 0)
    assert (depth[sire[both]] != depth[dam[both]]).any()
    assert (dairy.inbreeding > 0).sum() > 50


def test_herds_cross_sire_families(dairy):
    ped = dairy.pedigree.set_index("animal")
    cows = dairy.records.drop_duplicates("id")
    sires = ped.loc[cows["id"], "sire"].to_numpy()
    herds_per_sire = cows.assign(sire=sires).groupby("sire")["herd"].nunique()
    assert herds_per_sire.max() > 20              # popular AI bulls' daughters everywhere
    sires_per_herd = cows.assign(sire=sires).groupby("herd")["sire"].nunique()
    assert (sires_per_herd[cows["herd"].value_counts() >= 5] >= 3).all()


def test_yield_is_the_sum_of_the_true_effects(dairy):
    rec = dairy.records
    parts = (dairy.lactation_means[rec["lactation"]].to_numpy()
             + dairy.additive[rec["id"]].to_numpy() + dairy.permanent[rec["id"]].to_numpy()
             + dairy.herd[rec["herd"]].to_numpy() + dairy.residual.to_numpy())
    assert_allclose(rec["yield"], parts, rtol=0, atol=1e-8)
    v = dairy.variances
    assert list(v.index) == ["additive", "permanent", "herd", "residual"]
    assert_allclose(v / 1200.0 ** 2, [0.3, 0.15, 0.1, 0.45])
    assert list(dairy.additive.index) == list(dairy.pedigree["animal"])
    assert sorted(dairy.permanent.index) == sorted(set(rec["id"]))


def test_realized_variances_are_near_the_truth(dairy):
    """One replicate: the sample variances of the effects, loosely (a smoke test)."""
    v = dairy.variances
    assert dairy.additive.var() == pytest.approx(v["additive"], rel=0.15)
    assert dairy.permanent.var() == pytest.approx(v["permanent"], rel=0.15)
    assert dairy.residual.var() == pytest.approx(v["residual"], rel=0.1)


def test_reproducible_with_a_seed():
    a = simulate_dairy_herd(**SMALL, seed=3)
    b = simulate_dairy_herd(**SMALL, seed=np.random.default_rng(3))
    c = simulate_dairy_herd(**SMALL, seed=4)
    for field in a._fields:
        x, y = getattr(a, field), getattr(b, field)
        if isinstance(x, pd.DataFrame):
            pd.testing.assert_frame_equal(x, y)
        else:
            pd.testing.assert_series_equal(x, y)
    assert a.records.to_csv() == b.records.to_csv()
    assert not a.records["yield"].equals(c.records["yield"])
    assert not a.pedigree.equals(c.pedigree)


def test_small_sizes_and_argument_errors():
    d = simulate_dairy_herd(n_animals=25, n_cows=5, n_records=25, n_herds=5, seed=0)
    assert len(d.records) == 25 and (d.records.groupby("id").size() == 5).all()
    d = simulate_dairy_herd(n_animals=25, n_cows=5, n_records=5, n_herds=1, seed=0)
    assert (d.records["lactation"] == 1).all()
    with pytest.raises(ValueError, match="n_records must be between"):
        simulate_dairy_herd(**{**SMALL, "n_records": 201})
    with pytest.raises(ValueError, match="n_records must be between"):
        simulate_dairy_herd(**{**SMALL, "n_records": 39})
    with pytest.raises(ValueError, match="animals without records"):
        simulate_dairy_herd(n_animals=50, n_cows=40, n_records=100, n_herds=4)
    with pytest.raises(ValueError, match="n_herds must be at most n_cows"):
        simulate_dairy_herd(**{**SMALL, "n_herds": 41})
    with pytest.raises(ValueError, match="n_cows must be a positive integer"):
        simulate_dairy_herd(**{**SMALL, "n_cows": 40.0})
    with pytest.raises(ValueError, match="h2 must be a number in"):
        simulate_dairy_herd(**SMALL, h2=1.5)
    with pytest.raises(TypeError, match="pe2 must be a number"):
        simulate_dairy_herd(**SMALL, pe2=True)
    with pytest.raises(ValueError, match="h2 \\+ pe2 \\+ herd2 must be < 1"):
        simulate_dairy_herd(**SMALL, h2=0.5, pe2=0.3, herd2=0.2)
    with pytest.raises(ValueError, match="seed must be"):
        simulate_dairy_herd(**SMALL, seed=-1)


# -------------------------------------------------------------------------------------------
# Breeding values: exact Mendelian sampling, against kinship_from_pedigree
# -------------------------------------------------------------------------------------------

# Hand-made: 3 = 1 x 2; 4 = 1 x 3 (sire x daughter, F = 1/4); 5 = 4 x 3 (F = 3/8); 6 sire 5
# only (d = 3/4 - F_5 / 4); 7 = 5 x 6 (F = a_56 / 2 = 0.5 x (a_55 + 0) / 2 = 11/32); 8 sire
# 1 only; 9 founder; 10 = 8 x 9; 11 = 7 x 10.
HAND = pd.DataFrame({
    "animal": [str(i) for i in range(1, 12)],
    "sire": ["0", "0", "1", "1", "4", "5", "5", "1", "0", "8", "7"],
    "dam": ["0", "0", "2", "3", "3", "0", "6", "0", "0", "9", "10"],
})
HAND_F = [0, 0, 0, 1 / 4, 3 / 8, 0, 11 / 32, 0, 0, 0, None]


def _mendelian_variances(pedigree, A):
    """d_i = 1 - sum over known parents (1 + F_p) / 4, F from the oracle A."""
    sire, dam = _rows(pedigree)
    F = np.diag(A) - 1
    return 1 - sum(np.where(p >= 0, (1 + F[np.maximum(p, 0)]) / 4, 0) for p in (sire, dam))


@pytest.mark.parametrize("which", ["hand", "simulated"])
def test_breeding_values_have_covariance_A(which):
    """Realized covariance of N replicates against A = 2 x kinship (tabular method), entry by
    entry, and the Mendelian sampling variances against d from the oracle's F (a wrong d for
    one-parent or inbred parents, e.g. 1/2 or ignoring F, is 10 or more SEs off)."""
    ped = HAND if which == "hand" else simulate_dairy_herd(**SMALL, seed=11).pedigree
    A = _relationship(ped)
    sire, dam = _rows(ped)
    one = (sire >= 0) & (dam < 0)
    assert one.sum() >= 2 and (np.diag(A) > 1).sum() >= 2   # one-parent and inbred animals
    a, F = _breeding_values(np.random.default_rng(2024), sire, dam, 2.0,
                            size=(N_REPLICATES,))
    assert a.shape == (len(ped), N_REPLICATES)
    assert_allclose(F, np.diag(A) - 1, rtol=0, atol=1e-12)
    a /= np.sqrt(2.0)
    S = a @ a.T / N_REPLICATES                         # the mean is 0 by construction
    se = np.sqrt((np.outer(np.diag(A), np.diag(A)) + A ** 2) / N_REPLICATES)
    assert (np.abs(S - A) < Z * se).all(), np.max(np.abs(S - A) / se)
    parents = sum(np.where((p >= 0)[:, None], a[np.maximum(p, 0)], 0) for p in (sire, dam))
    m = a - parents / 2                                # the Mendelian sampling terms
    d = _mendelian_variances(ped, A)
    var_m = (m ** 2).mean(axis=1)
    assert (np.abs(var_m - d) < Z * d * np.sqrt(2 / N_REPLICATES)).all()
    # the one-parent animals' d is 3/4 - F_s / 4, larger than a two-parent animal's
    assert_allclose(d[one], 0.75 - (np.diag(A)[sire[one]] - 1) / 4)


def test_hand_pedigree_inbreeding():
    sire, dam = _rows(HAND)
    _, F = _breeding_values(np.random.default_rng(0), sire, dam, 1.0)
    for f_got, f_hand in zip(F, HAND_F):
        if f_hand is not None:
            assert f_got == pytest.approx(f_hand, abs=1e-15)
    assert_allclose(F, np.diag(_relationship(HAND)) - 1, atol=1e-15)


def test_public_breeding_values_match_the_helper():
    """simulate_dairy_herd's additive effects are _breeding_values' draws scaled by s_a."""
    d = simulate_dairy_herd(**SMALL, seed=5)
    A = _relationship(d.pedigree)
    assert_allclose(d.inbreeding, np.diag(A) - 1, atol=1e-12)
    # a = L z with L L' = s_a^2 A: the whitened effects have unit variance on average
    z = np.linalg.solve(np.linalg.cholesky(d.variances["additive"] * A), d.additive.to_numpy())
    assert abs(z.var() - 1) < Z * np.sqrt(2 / len(z))


# -------------------------------------------------------------------------------------------
# The committed data of lme4_dairy.R
# -------------------------------------------------------------------------------------------

def _writer():
    spec = importlib.util.spec_from_file_location("lme4_dairy", RESULTS / "lme4_dairy.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_csv_equal_a_fresh_run_of_the_writer(tmp_path):
    writer = _writer()
    fresh = writer.write_dairy_csv(tmp_path)
    for path in fresh:
        committed = (RESULTS / path.name).read_bytes()
        assert b"\r" not in committed
        assert path.read_bytes() == committed, f"{path.name} differs from a fresh run"


def test_reference_json_describes_the_committed_csv():
    ref = json.loads((RESULTS / "lme4_dairy.json").read_text())
    ped = pd.read_csv(RESULTS / "lme4_dairy_pedigree.csv", dtype=str)
    rec = pd.read_csv(RESULTS / "lme4_dairy_records.csv", dtype={"id": str, "herd": str})
    data = ref["data"]
    assert data["nobs"] == len(rec) == ref["dairy"]["REML"]["nobs"]  # nobs(fit)
    assert data["n_cows"] == rec["id"].nunique()
    assert data["n_herds"] == rec["herd"].nunique() == ref["dairy"]["REML"]["ngrps"]["herd"]
    assert data["n_animals"] == len(ped)
    assert data["n_sire_only"] == ((ped["sire"] != "0") & (ped["dam"] == "0")).sum()
    counts = rec.groupby("id").size().value_counts()
    assert data["records_per_cow"] == {str(k): int(counts.get(k, 0)) for k in range(1, 6)}
    # the JSON's fitted values are those of these records: residuals of a sane size
    fitted = np.array(ref["dairy"]["REML"]["fitted"])
    assert np.std(rec["yield"].to_numpy() - fitted) < 1200
    assert_array_equal(ref["dairy"]["REML"]["fixef_names"],
                       ["(Intercept)", "lactation2", "lactation3", "lactation4", "lactation5"])
