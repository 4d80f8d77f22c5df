"""The summary for geneticists (issue 12, item 2): families and their sizes, convergence
details, h2 with its profile-likelihood interval, the LR test of ``s_k^2 = 0``, blocks of one
width; ``summary_col`` rows for the variance components and h2; the bootstrap summary without
dangling headings and ``conf_int_vcomp()`` with named columns."""
import re
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import linalg, stats
from statsmodels.iolib.summary2 import summary_col

from statsmodels_kinship import KinshipMixedLM
from statsmodels_kinship.exceptions import IdentifiabilityWarning

SIZES = [2, 3, 5, 7] * 8  # 32 families of 2 to 7 individuals


def family_kinship(sizes):
    """Sibships: 0.5 on the diagonal, 0.25 between sibs."""
    return linalg.block_diag(*[0.25 * (np.eye(s) + np.ones((s, s))) for s in sizes])


@pytest.fixture(scope="module")
def study():
    rng = np.random.default_rng(12)
    K = family_kinship(SIZES)
    n = K.shape[0]
    x = rng.normal(size=n)
    y = 1 + 0.5 * x + rng.multivariate_normal(np.zeros(n), 2 * K) + rng.normal(size=n)
    df = pd.DataFrame({"y": y, "x": x, "family": np.repeat(np.arange(len(SIZES)), SIZES)})
    return df, K


@pytest.fixture(scope="module")
def res(study):
    df, K = study
    return KinshipMixedLM.from_formula("y ~ x", data=df, kinship=K).fit()


def table_lines(text):
    """The lines from the first '=' rule to the last one (the tables, without the title
    and the notes)."""
    lines = text.splitlines()
    rules = [i for i, line in enumerate(lines) if line and set(line) == {"="}]
    return lines[rules[0]:rules[-1] + 1]


def assert_one_width(text):
    lines = table_lines(text)
    widths = {len(line) for line in lines}
    assert widths == {len(lines[0])}, widths


def squeeze(text):
    return " ".join(text.split())


def test_summary_reports_design_convergence_interval_and_test(res):
    text = str(res.summary())
    flat = squeeze(text)
    n = sum(SIZES)
    assert f"Individuals (records): {n} " in flat
    assert f"Kinship blocks: {len(SIZES)} " in flat
    assert f"Family size (min-max): {min(SIZES)}-{max(SIZES)} " in flat
    assert f"Likelihood evaluations: {res.fit_info['n_evals']} " in flat
    assert res.fit_info["n_evals"] > 0
    # the score at the estimate: the derivative of the profiled REML criterion, from
    # central differences of the likelihood (an oracle independent of the analytic score)
    h = 1e-5 * res.delta
    num = (res.model.loglike_profile(res.delta + h, True)
           - res.model.loglike_profile(res.delta - h, True)) / (2 * h)
    shown = float(re.search(r"Score d llf/d delta:\s+(\S+)", text).group(1))
    assert abs(shown) < 1e-6 and abs(num) < 1e-4
    assert "Boundary: none" in flat and "Aliased columns: 0 " in flat
    # h2 with its profile-likelihood interval, the LR test of s_k^2 = 0 (50:50 mixture)
    ci = res.profile_conf_int(which="h2")
    row = re.search(r"Heritability \(h2\)\s+(.*)", text).group(1).split()
    assert row == [f"{res.h2:.4f}", f"{res.bse_h2:.4f}", f"{ci.loc['h2', 'lower']:.3f}",
                   f"{ci.loc['h2', 'upper']:.3f}"]
    llf_0 = res.model.fit(kinship_ratio=0.0).llf  # the fit without the kinship term
    lr = 2 * (res.llf - llf_0)
    row = re.search(r"Kinship var \(s_k\^2\)\s+(.*)", text).group(1).split()
    assert row == [f"{res.vcomp['kinship']:.4f}", f"{res.bse_vcomp['kinship']:.4f}",
                   f"{lr:.3f}", f"{stats.chi2.sf(lr, 1) / 2:.3g}"]
    assert "theta = sqrt(s_k^2/s_e^2), lme4's parameter" in flat
    assert "50:50 mixture of chi2(0) and chi2(1)" in flat
    assert "m = mean diag(K) = 0.5" in flat  # the notes that were there stay


@pytest.mark.parametrize("case", ["plain", "aliased", "satterthwaite", "boundary", "ml"])
def test_summary_blocks_have_one_width(study, case):
    df, K = study
    df = df.assign(x_copy_with_a_long_name=2 * df["x"], z=0.0 * df["x"] + df["y"] * 0)
    formula = "y ~ x + x_copy_with_a_long_name" if case == "aliased" else "y ~ x"
    kw = {"df_method": "satterthwaite"} if case == "satterthwaite" else {}
    if case == "ml":
        kw["reml"] = False
    data = df
    if case == "boundary":  # no kinship effect: s_k^2 estimated at 0
        rng = np.random.default_rng(3)
        data = df.assign(y=rng.normal(size=len(df)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = KinshipMixedLM.from_formula(formula, data=data, kinship=K).fit(**kw)
    if case == "boundary":
        assert fit.delta == 0
    text = str(fit.summary())
    assert_one_width(text)
    if case == "aliased":
        assert "Aliased columns: 1 (x_copy_with_a_long_name)" in squeeze(text)
        assert "were not estimated: x_copy_with_a_long_name." in squeeze(text)
    if case == "boundary":
        assert "Boundary: s_k^2 = 0" in squeeze(text)
        row = re.search(r"Kinship var \(s_k\^2\)\s+(.*)", text).group(1).split()
        assert row[2:] == ["0.000", "1"]  # LR = 0, p = 1


def test_summary_says_why_interval_and_test_are_missing(study):
    df, K = study
    fixed = KinshipMixedLM.from_formula("y ~ x", data=df, kinship=K).fit(kinship_ratio=1.0)
    text = squeeze(str(fixed.summary()))
    assert "Score d llf/d delta: n/a (ratio fixed)" in text
    assert "n/a: ratio held fixed" in text
    assert re.search(r"Heritability \(h2\) \S+ \S+ n/a n/a", text)
    with pytest.warns(IdentifiabilityWarning):
        flat = KinshipMixedLM.from_formula("y ~ x", data=df, kinship=np.eye(len(df))).fit()
    text = str(flat.summary())
    assert_one_width(text)
    assert "n/a: not identified" in squeeze(text)


def test_summary_after_remove_data_keeps_interval_and_test(study, res):
    df, K = study
    expected = str(res.summary())
    fresh = KinshipMixedLM.from_formula("y ~ x", data=df, kinship=K).fit()
    fresh.remove_data()  # no summary made before: remove_data computes what it needs
    assert fresh.model.decomposition is None
    assert str(fresh.summary()) == expected
    ci = res.profile_conf_int(which="h2")
    assert f"{ci.loc['h2', 'lower']:.3f}" in expected
    # another alpha needs the data: said, not raised
    text = squeeze(str(fresh.summary(alpha=0.1)))
    assert "n/a: data removed" in text and "[0.050 0.950]" in text


def test_summary_col_shows_variance_components_and_h2(study, res):
    df, _ = study
    ols = sm.OLS.from_formula("y ~ x", data=df).fit()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mixed = sm.MixedLM.from_formula("y ~ x", groups="family", data=df).fit()
    text = str(summary_col([ols, mixed, res], model_names=["OLS", "MixedLM", "Kinship"]))
    group_var = mixed.params.index[-1]  # MixedLM's variance row: "family Var", in params
    assert group_var.endswith("Var")
    rows = {}
    for line in text.splitlines():
        for label in ["Kinship var (s_k^2)", "Residual var (s_e^2)", "Heritability (h2)",
                      group_var]:
            if line.startswith(label):
                rows[label] = line[len(label):].split()
    assert rows[group_var] == [f"{mixed.params[group_var]:.4f}"]
    # one cell, in the last (KinshipMixedLM) column: empty for OLS and MixedLM
    assert rows["Heritability (h2)"] == [f"{res.h2:.4f}", f"({res.bse_h2:.4f})"]
    assert rows["Kinship var (s_k^2)"] == [f"{res.vcomp['kinship']:.4f}",
                                           f"({res.bse_vcomp['kinship']:.4f})"]
    assert rows["Residual var (s_e^2)"] == [f"{res.vcomp['residual']:.4f}",
                                            f"({res.bse_vcomp['residual']:.4f})"]
    # with rows of one's own, the defaults are kept by merging them
    text = str(summary_col([ols, res], info_dict={**res.default_model_infos,
                                                  "N": lambda r: f"{int(r.nobs)}"}))
    assert re.search(rf"Heritability \(h2\)\s+{res.h2:.4f} \({res.bse_h2:.4f}\)", text)
    assert re.search(rf"N\s+{len(df)}\s+{len(df)}", text)


@pytest.fixture(scope="module")
def boot(res):
    return res.bootstrap(nsim=59, seed=1, progress=False)


def test_bootstrap_summary_has_no_dangling_headings(boot):
    text = str(boot.summary())
    notes = text.splitlines()[len(table_lines(text)) + 1:]
    assert notes and not any(line.rstrip().endswith(":") for line in notes)
    flat = squeeze(text)
    assert ("Fixed effects with studentized intervals, variance components and h2 with "
            "percentile intervals") in flat
    assert_one_width(text)


def test_conf_int_vcomp_has_named_columns(boot, res):
    ci = boot.conf_int_vcomp()
    assert list(ci.columns) == ["lower", "upper"]
    assert list(ci.columns) == list(res.profile_conf_int().columns[-2:])
    assert (ci["lower"] <= ci["upper"]).all()
