"""k-fold cross-validation of a kinship mixed model (``smk.cross_validate``): the folds, the
out-of-fold predictions against a manual refit, the per-fold statistics, the errors."""
import pathlib

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import statsmodels_kinship as smk
from statsmodels_kinship.cross_validation import _families

ROOT = pathlib.Path(__file__).resolve().parent.parent
FORMULA = "trait ~ SNP1 + SNP3"
HOUSEHOLD = {"household": "0 + C(household)"}


@pytest.fixture(scope="module")
def study():
    ped, geno, phe, _ = smk.read_study_csv(ROOT / "data")
    return ped, phe.join(geno)


@pytest.fixture(scope="module")
def small(study):
    """The first 30 families of data/ (360 people), their kinship and a fake genetic value."""
    ped, df = study
    families = sorted(df["family"].unique())[:30]
    df = df[df["family"].isin(families)].copy()
    df["g"] = np.random.default_rng(0).normal(size=len(df)) + df["trait"]
    kinship = smk.kinship_from_pedigree(ped[ped["family"].isin(families)])
    return df, kinship


def test_folds_partition_the_data(small):
    df, kinship = small
    cv = smk.cross_validate(FORMULA, df, kinship, folds=4, seed=3)
    pred = cv.predictions
    assert list(pred.index) == list(df.index)  # every record once, in the data's order
    assert_array_equal(np.sort(pred["fold"].unique()), np.arange(4))
    sizes = pred["fold"].value_counts().sort_index()
    assert sizes.max() - sizes.min() <= 1  # one record per individual: balanced
    assert_array_equal(cv.folds["n_test"], sizes)
    assert_array_equal(cv.folds["n_train"] + cv.folds["n_test"], len(df))
    assert pred[["mean", "mean_se", "obs_ci_lower", "obs_ci_upper", "breeding_value",
                 "reliability"]].notna().all().all()
    assert_allclose(pred["observed"], df["trait"])


def test_by_family_column_keeps_families_whole(small):
    df, kinship = small
    cv = smk.cross_validate(FORMULA, df, kinship, folds=5, by="family", seed=1)
    folds_of = cv.predictions["fold"].groupby(df["family"]).nunique()
    assert (folds_of == 1).all()
    assert cv.by == "family"
    sizes = cv.predictions["fold"].value_counts()
    assert sizes.max() - sizes.min() <= 12  # families of 12: balanced up to one family
    # pedigree kinship: no relatives of a held-out family in training, breeding values 0
    assert_allclose(cv.predictions["breeding_value"], 0.0, atol=1e-12)
    assert_allclose(cv.predictions["reliability"], 0.0, atol=1e-12)


@pytest.mark.parametrize("kind", ["dataframe", "sparse", "array"])
def test_by_family_connected_components(small, study, kind):
    df, kinship = small
    ped = study[0]
    df = df.drop(columns="family")
    family = small[0]["family"]
    if kind == "sparse":
        kinship = smk.kinship_from_pedigree(ped[ped["family"].isin(family.unique())],
                                            sparse=True)
    elif kind == "array":  # unlabelled: matched to the rows by position
        kinship = kinship.loc[df.index, df.index].to_numpy()
    cv = smk.cross_validate(FORMULA, df, kinship, folds=3, by="family", seed=2)
    assert "connected components" in cv.by
    assert (cv.predictions["fold"].groupby(family).nunique() == 1).all()
    # the components are the pedigree's families
    labelled = smk.kinship_from_pedigree(ped[ped["family"].isin(family.unique())])
    comp = _families({"kinship": labelled}, df.index)
    assert_array_equal(pd.crosstab(comp, family.to_numpy()).gt(0).sum(axis=1), 1)
    assert len(np.unique(comp)) == family.nunique()


def test_components_join_relatives_through_any_matrix():
    ids = pd.Index(["a", "b", "c", "d"])
    k1 = pd.DataFrame(np.diag([1.0, 1, 1, 1]), index=ids, columns=ids)
    k2 = k1.copy()
    k1.loc["a", "b"] = k1.loc["b", "a"] = 0.25
    k2.loc["b", "c"] = k2.loc["c", "b"] = 0.1
    comp = _families({"k1": k1, "k2": k2}, ids)
    assert comp[0] == comp[1] == comp[2] != comp[3]


@pytest.mark.parametrize("vc_formula", [None, HOUSEHOLD])
def test_out_of_fold_predictions_are_a_manual_refit(small, vc_formula):
    df, kinship = small
    cv = smk.cross_validate(FORMULA, df, kinship, folds=3, seed=7, vc_formula=vc_formula,
                            alpha=0.1)
    fold = cv.predictions["fold"].to_numpy()
    for f in (0, 2):
        train, test = df[fold != f], df[fold == f]
        res = smk.KinshipMixedLM.from_formula(FORMULA, train, kinship=kinship,
                                              vc_formula=vc_formula).fit()
        frame = res.get_prediction(test).summary_frame(alpha=0.1)
        got = cv.predictions[fold == f]
        for col in ("mean", "mean_se", "obs_ci_lower", "obs_ci_upper"):
            assert_allclose(got[col], frame[col], rtol=1e-10, atol=1e-12)
        bv = res.get_prediction(test, which="breeding_value").summary_frame()
        assert_allclose(got["breeding_value"], bv["mean"], rtol=1e-10, atol=1e-12)
        assert_allclose(got["reliability"], bv["reliability"], rtol=1e-10, atol=1e-12)
        assert cv.folds.loc[f, "h2"] == pytest.approx(res.h2)


def test_statistics_of_each_fold(small):
    df, kinship = small
    cv = smk.cross_validate(FORMULA, df, kinship, folds=4, seed=5, genetic_value="g")
    pred = cv.predictions
    assert_allclose(pred["genetic_value"], df["g"])
    for f, rows in pred.groupby("fold"):
        obs, mean = rows["observed"], rows["mean"]
        assert cv.folds.loc[f, "accuracy"] == pytest.approx(np.corrcoef(mean, obs)[0, 1])
        assert cv.folds.loc[f, "accuracy_genetic"] == pytest.approx(
            np.corrcoef(rows["breeding_value"], rows["genetic_value"])[0, 1])
        assert cv.folds.loc[f, "mse"] == pytest.approx(np.mean((obs - mean) ** 2))
        inside = (obs >= rows["obs_ci_lower"]) & (obs <= rows["obs_ci_upper"])
        assert cv.folds.loc[f, "coverage"] == pytest.approx(inside.mean())
    s = cv.summary_frame()
    acc = cv.folds["accuracy"]
    assert s.loc["accuracy", "mean"] == pytest.approx(acc.mean())
    assert s.loc["accuracy", "std. error"] == pytest.approx(acc.std(ddof=1) / 2)
    assert f"accuracy {acc.mean():.3f}" in repr(cv)
    text = cv.summary().as_text()
    assert "accuracy_genetic" in text and "4, by individual" in text


def test_genetic_value_forms_agree(small):
    df, kinship = small
    kw = dict(folds=3, seed=11)
    by_column = smk.cross_validate(FORMULA, df, kinship, genetic_value="g", **kw)
    by_id = smk.cross_validate(FORMULA, df, kinship, **kw,
                               genetic_value=df["g"].sample(frac=1, random_state=1))
    by_position = smk.cross_validate(FORMULA, df, kinship, genetic_value=df["g"].to_numpy(),
                                     **kw)
    for other in (by_id, by_position):
        pd.testing.assert_frame_equal(other.folds, by_column.folds)
    without = smk.cross_validate(FORMULA, df, kinship, **kw)
    assert "accuracy_genetic" not in without.folds
    assert "accuracy_genetic" not in without.summary_frame().index


def test_unlabelled_kinship_is_matched_by_position(small):
    df, kinship = small
    labelled = smk.cross_validate(FORMULA, df, kinship, folds=3, seed=4)
    array = smk.cross_validate(FORMULA, df, kinship.loc[df.index, df.index].to_numpy(),
                               folds=3, seed=4)
    pd.testing.assert_frame_equal(array.predictions, labelled.predictions, rtol=1e-8)


def test_reproducible_with_seed(small):
    df, kinship = small
    a = smk.cross_validate(FORMULA, df, kinship, folds=3, seed=123)
    b = smk.cross_validate(FORMULA, df, kinship, folds=3, seed=123)
    c = smk.cross_validate(FORMULA, df, kinship, folds=3, seed=124)
    pd.testing.assert_frame_equal(a.predictions, b.predictions)
    pd.testing.assert_frame_equal(a.folds, b.folds)
    assert not np.array_equal(a.predictions["fold"], c.predictions["fold"])


def test_repeated_records_stay_together(small):
    df, kinship = small
    df = df.iloc[:120]  # 10 families
    rec = pd.concat([df, df.assign(trait=df["trait"] + 0.1)]).rename_axis("id").reset_index()
    cv = smk.cross_validate(FORMULA, rec, kinship, folds=3, individual="id", seed=1)
    assert list(cv.predictions.index) == list(rec.index)
    assert (cv.predictions["fold"].groupby(rec["id"]).nunique() == 1).all()
    # both records of an individual: the same prediction (same covariates, same individual)
    first, second = cv.predictions.iloc[:120], cv.predictions.iloc[120:]
    assert_allclose(first["breeding_value"].to_numpy(), second["breeding_value"].to_numpy())
    with pytest.raises(ValueError, match="in several units"):
        smk.cross_validate(FORMULA, rec, kinship, folds=3, individual="id",
                           by=np.arange(len(rec)) % 7)


def test_rows_with_missing_values_are_left_out(small):
    df, kinship = small
    df = df.copy()
    df.iloc[[3, 50], df.columns.get_loc("trait")] = np.nan
    cv = smk.cross_validate(FORMULA, df, kinship, folds=3, seed=1)
    assert len(cv.predictions) == len(df) - 2
    assert df.index[3] not in cv.predictions.index


def test_errors(small):
    df, kinship = small
    with pytest.raises(ValueError, match="at least 2"):
        smk.cross_validate(FORMULA, df, kinship, folds=1)
    with pytest.raises(TypeError, match="folds must be an integer"):
        smk.cross_validate(FORMULA, df, kinship, folds=2.5)
    with pytest.raises(ValueError, match="more than the 30 units"):
        smk.cross_validate(FORMULA, df, kinship, folds=31, by="family")
    with pytest.raises(ValueError, match="more than the 360 units"):
        smk.cross_validate(FORMULA, df, kinship, folds=361)
    with pytest.raises(ValueError, match="by='clan' is not"):
        smk.cross_validate(FORMULA, df, kinship, by="clan")
    with pytest.raises(ValueError, match="by has 3 labels"):
        smk.cross_validate(FORMULA, df, kinship, by=[1, 2, 3])
    with pytest.raises(ValueError, match="individual='who' is not a column"):
        smk.cross_validate(FORMULA, df, kinship, individual="who")
    with pytest.raises(ValueError, match="genetic_value='truth' is not a column"):
        smk.cross_validate(FORMULA, df, kinship, genetic_value="truth")
    with pytest.raises(ValueError, match="genetic_value has 5 values but the data has 360"):
        smk.cross_validate(FORMULA, df, kinship, genetic_value=np.zeros(5))
    with pytest.raises(ValueError, match="lacks 1 individuals"):
        smk.cross_validate(FORMULA, df, kinship, genetic_value=df["g"].iloc[1:])
    with pytest.raises(ValueError, match="must be 360 x 360"):
        smk.cross_validate(FORMULA, df, np.eye(3))
    with pytest.raises(ValueError, match="not in the relationship matrix 'kinship'"):
        smk.cross_validate(FORMULA, df, kinship.iloc[1:, 1:])
    with pytest.raises(ValueError, match="index of data must be unique"):
        smk.cross_validate(FORMULA, pd.concat([df, df.iloc[:1]]), kinship)
    with pytest.raises(TypeError, match="data must be a pandas DataFrame"):
        smk.cross_validate(FORMULA, df.to_numpy(), kinship)
    with pytest.raises(ValueError, match="alpha"):
        smk.cross_validate(FORMULA, df, kinship, alpha=1.5)
