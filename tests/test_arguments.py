"""Argument checks of the public functions: bad input is an error that names the argument
and the problem, never a crash from deep inside numpy, pandas or patsy, and never a silent
result (issue 9, item 6).

Each case was tried as a hostile but realistic user would; before these checks each of them
crashed with an unrelated message (``int() argument must be ... 'NoneType'``, ``cannot
convert float infinity to integer``, ``operands could not be broadcast together``,
``'str' object has no attribute 'model'``, ``SeedSequence expects int ...``) or was
silently accepted (p-values outside [0, 1] drawn, ``progress='yes'``, ``which=[]``).
"""
import warnings

import numpy as np
import pandas as pd
import pytest
from statsmodels.tools.sm_exceptions import ValueWarning

import statsmodels_kinship as smk
from statsmodels_kinship import inference, kinship, plotting, simulate
from statsmodels_kinship import KinshipMixedLM
from statsmodels_kinship.bootstrap import bootstrap_interval, parametric_bootstrap
from statsmodels_kinship.scan import genomic_inflation


@pytest.fixture(scope="module")
def fits():
    rng = np.random.default_rng(0)
    block = np.array([[2, 0, 1, 1], [0, 2, 1, 1], [1, 1, 2, 1], [1, 1, 1, 2]]) / 4
    K = np.kron(np.eye(20), block)
    n = K.shape[0]
    X = np.column_stack([np.ones(n), rng.normal(size=n)])
    y = X @ [1.0, 0.5] + rng.multivariate_normal(np.zeros(n), K) + rng.normal(size=n)
    res = smk.KinshipMixedLM(y, X, kinship=K).fit()
    full = smk.KinshipMixedLM(y, X, kinship=K).fit(reml=False)
    small = smk.KinshipMixedLM(y, X[:, :1], kinship=K).fit(reml=False)
    boot = parametric_bootstrap(res, nsim=19, seed=1, progress=False)
    return {"res": res, "full": full, "small": small, "boot": boot}


# -- counts and seeds of the bootstrap and the tests built on it ------------------------------

BAD_NSIM = [(None, TypeError), (np.inf, ValueError), (np.nan, ValueError),
            ("10", TypeError), (True, TypeError)]


def _nsim_callers(fits):
    res, full, small = fits["res"], fits["full"], fits["small"]
    return {
        "bootstrap": lambda v: res.bootstrap(nsim=v, progress=False),
        "parametric_bootstrap": lambda v: parametric_bootstrap(res, nsim=v, progress=False),
        "simulate": lambda v: res.simulate(nsim=v),
        "kinship_variance_test": lambda v: res.kinship_variance_test(
            method="bootstrap", nsim=v, progress=False),
        "compare_lr_test": lambda v: full.compare_lr_test(small, method="bootstrap", nsim=v,
                                                          progress=False),
    }


@pytest.mark.parametrize("caller", ["bootstrap", "parametric_bootstrap", "simulate",
                                    "kinship_variance_test", "compare_lr_test"])
@pytest.mark.parametrize("value,error", BAD_NSIM, ids=lambda v: repr(v))
def test_nsim(fits, caller, value, error):
    with pytest.raises(error, match=r"nsim must be an integer >= 1, got"):
        _nsim_callers(fits)[caller](value)


@pytest.mark.parametrize("value,error", [(np.inf, ValueError), ("3", TypeError)],
                         ids=lambda v: repr(v))
def test_batch_size(fits, value, error):
    with pytest.raises(error, match=r"batch_size must be an integer >= 1, got"):
        fits["res"].bootstrap(nsim=5, batch_size=value, progress=False)


@pytest.mark.parametrize("seed,error", [("abc", TypeError), (1.5, TypeError), (-1, ValueError),
                                        (object(), TypeError)], ids=repr)
def test_seed(fits, seed, error):
    with pytest.raises(error, match=r"^seed must be None, an int >= 0"):
        fits["res"].bootstrap(nsim=5, seed=seed, progress=False)
    with pytest.raises(error, match=r"^seed must be None, an int >= 0"):
        fits["res"].simulate(nsim=2, seed=seed)


def test_progress(fits):
    with pytest.raises(TypeError, match=r"progress must be None, True or False, got 'yes'"):
        fits["res"].bootstrap(nsim=5, progress="yes")


# -- results arguments ----------------------------------------------------------------------

@pytest.mark.parametrize("call", [
    lambda f: parametric_bootstrap("fit", nsim=5),
    lambda f: inference.kinship_variance_test(None),
    lambda f: inference.profile_conf_int(np.ones(3)),
    lambda f: inference.satterthwaite_df(None),
    lambda f: inference.t_test_satterthwaite("fit"),
    lambda f: inference.compare_lr_test(None, f["small"]),
], ids=["parametric_bootstrap", "kinship_variance_test", "profile_conf_int",
        "satterthwaite_df", "t_test_satterthwaite", "compare_lr_test"])
def test_results_must_be_a_fit(fits, call):
    with pytest.raises(TypeError, match=r"^results must be a KinshipMixedLM fit .* got"):
        call(fits)


@pytest.mark.parametrize("restricted", ["small", np.ones(3)], ids=["str", "array"])
def test_restricted_must_be_a_fit(fits, restricted):
    with pytest.raises(TypeError, match=r"^restricted must be a KinshipMixedLM fit"):
        inference.compare_lr_test(fits["full"], restricted)


@pytest.mark.parametrize("r_matrix,text", [(np.ones((1, 5)), "wrong shape"),
                                           ("foo = 0", "unrecognized token")],
                         ids=["shape", "formula"])
@pytest.mark.parametrize("func", [inference.satterthwaite_df, inference.t_test_satterthwaite])
def test_r_matrix(fits, func, r_matrix, text):
    with pytest.raises(ValueError, match=rf"^r_matrix .* is not a valid hypothesis on the 2 "
                                         rf"coefficients \['const', 'x1'\]: .*{text}"):
        func(fits["res"], r_matrix)


# -- interval arguments ---------------------------------------------------------------------

def _alpha_callers(fits):
    boot, res = fits["boot"], fits["res"]
    return {"conf_int": lambda a: boot.conf_int(alpha=a),
            "conf_int_vcomp": lambda a: boot.conf_int_vcomp(alpha=a),
            "summary": lambda a: boot.summary(alpha=a),
            "profile_conf_int": lambda a: res.profile_conf_int(alpha=a)}


@pytest.mark.parametrize("caller", ["conf_int", "conf_int_vcomp", "summary",
                                    "profile_conf_int"])
@pytest.mark.parametrize("alpha", [None, "0.05"], ids=repr)
def test_alpha_of_the_wrong_type(fits, caller, alpha):
    with pytest.raises(TypeError, match=r"alpha must be a number in \(0, 1\), got"):
        _alpha_callers(fits)[caller](alpha)


@pytest.mark.parametrize("caller", ["conf_int", "conf_int_vcomp", "summary"])
@pytest.mark.parametrize("alpha", [0, np.nan], ids=repr)
def test_alpha_outside_0_1_no_misleading_warning(fits, caller, alpha):
    """The range is checked first: no 'too few replicates for alpha = 0' warning before it."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=r"alpha must be in \(0, 1\), got"):
            _alpha_callers(fits)[caller](alpha)


def test_vcomp_method_named(fits):
    with pytest.raises(ValueError, match=r"^vcomp_method must be one of 'studentized', "
                                         r"'percentile', 'basic', 'normal'; got 'foo'"):
        fits["boot"].summary(vcomp_method="foo")


@pytest.mark.parametrize("which,error,text", [
    (3, TypeError, "which must be a name or a sequence of names"),
    ([], ValueError, "which is empty"),
], ids=["int", "empty"])
def test_profile_which(fits, which, error, text):
    with pytest.raises(error, match=text):
        fits["res"].profile_conf_int(which=which)


@pytest.mark.parametrize("kwargs,text", [
    ({"replicates": np.ones((3, 3)), "method": "percentile"},
     r"replicates must be 1-D \(one value per replicate\), got shape \(3, 3\)"),
    ({"replicates": [1.0, 2.0, 3.0], "bse": 1.0, "bse_replicates": [1.0, 2.0]},
     r"bse_replicates must have one value per replicate \(3\), got shape \(2,\)"),
], ids=["2-D", "bse length"])
def test_bootstrap_interval_shapes(kwargs, text):
    with pytest.raises(ValueError, match=text):
        bootstrap_interval(1.0, **kwargs)


# -- pedigrees and labels -------------------------------------------------------------------

PED = simulate.replicate_pedigree(simulate.seed_pedigree(), 2)


@pytest.mark.parametrize("table", [PED.iloc[:0], pd.DataFrame(columns=PED.columns, dtype=str)],
                         ids=["no rows", "no rows, str"])
def test_kinship_from_empty_pedigree(table):
    with pytest.raises(ValueError, match=r"^the pedigree table has no rows"):
        smk.kinship_from_pedigree(table)


def test_kinship_from_pedigree_options():
    with pytest.raises(TypeError, match=r"sparse must be True or False, got 'yes'"):
        smk.kinship_from_pedigree(PED, sparse="yes")
    with pytest.raises(ValueError, match=r"^labels must be 'auto', 'individual' or "
                                         r"'family_individual', got 'foo'"):
        smk.kinship_from_pedigree(PED, labels="foo")


@pytest.mark.parametrize("individual,error,text", [
    (None, TypeError, "individual must be a 1-D sequence of IDs"),
    ("abc", TypeError, "individual must be a 1-D sequence of IDs"),
    (np.ones((2, 2)), ValueError, r"individual must be 1-D .* got shape \(2, 2\)"),
], ids=["None", "str", "2-D"])
def test_individual_labels(individual, error, text):
    with pytest.raises(error, match=text):
        kinship.individual_labels(None, individual)


# -- simulation ------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs,error,text", [
    ({"seed": "abc"}, TypeError, r"^seed must be None, an int >= 0"),
    ({"seed": -1}, ValueError, r"^seed must be None, an int >= 0"),
    ({"causal": ["SNP1"]}, TypeError, r"^causal must be a dict"),
    ({"n_snps": True}, ValueError, r"n_snps must be a positive integer, got True"),
], ids=["seed str", "seed negative", "causal list", "n_snps bool"])
def test_simulate_family_study(kwargs, error, text):
    kwargs.setdefault("n_snps", 5)
    with pytest.raises(error, match=text):
        simulate.simulate_family_study(PED, **kwargs)


@pytest.mark.parametrize("template,n,error,text", [
    (np.ones((3, 4)), 2, TypeError, "template must be a pandas DataFrame"),
    (simulate.seed_pedigree().iloc[:0], 2, ValueError, "template pedigree has no rows"),
    (simulate.seed_pedigree(), True, ValueError, "n_families must be a positive integer"),
], ids=["array", "no rows", "bool"])
def test_replicate_pedigree(template, n, error, text):
    with pytest.raises(error, match=text):
        simulate.replicate_pedigree(template, n)


def test_read_study_csv_paths(tmp_path):
    missing = tmp_path / "no_such_folder"
    with pytest.raises(FileNotFoundError, match=rf"folder '{missing}' does not exist .*"
                                                r"should hold pedigree.csv"):
        smk.read_study_csv(missing)
    afile = tmp_path / "pedigree.csv"
    afile.write_text("x\n")
    with pytest.raises(FileNotFoundError, match="is a file, not a folder"):
        smk.read_study_csv(afile)
    with pytest.raises(TypeError, match="folder must be a path"):
        smk.read_study_csv(None)


# -- figures -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def frame():
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    return pd.DataFrame({"chromosome": [1, 1, 2], "position": [1, 2, 3],
                         "p_wald": [0.1, 0.5, 0.01]}, index=["a", "b", "c"])


@pytest.mark.parametrize("plot", [plotting.manhattan_plot, plotting.qq_plot])
@pytest.mark.parametrize("pvalues,text", [
    ([2.0, 0.5, 0.1], r"column 'p_wald' holds 1 values outside \[0, 1\].*a: 2"),
    ([-1.0, 0.5, 0.1], r"column 'p_wald' holds 1 values outside \[0, 1\].*a: -1"),
    ([np.nan] * 3, r"column 'p_wald' has no p-value to draw: all 3 are missing"),
    (["x", "y", "z"], r"column 'p_wald' must hold numbers"),
], ids=["above 1", "below 0", "all NaN", "strings"])
def test_plot_pvalues(frame, plot, pvalues, text):
    import matplotlib.pyplot as plt

    with pytest.raises(ValueError, match=text):
        plot(frame.assign(p_wald=pvalues))
    plt.close("all")


@pytest.mark.parametrize("plot", [plotting.manhattan_plot, plotting.qq_plot])
def test_plot_empty_and_zero(frame, plot):
    import matplotlib.pyplot as plt

    with pytest.raises(ValueError, match=r"no p-value to draw: all 0 are absent"):
        plot(frame.iloc[:0])
    with pytest.warns(ValueWarning, match=r"1 p-values are exactly 0 .* left out.*a: 0"):
        plot(frame.assign(p_wald=[0.0, 0.5, 0.1]))
    plt.close("all")


@pytest.mark.parametrize("call,error,text", [
    (lambda f: plotting.manhattan_plot(f, threshold=2), ValueError,
     r"threshold must be a p-value level in \(0, 1\) or None, got 2"),
    (lambda f: plotting.manhattan_plot(f, suggestive=-1), ValueError,
     r"suggestive must be a p-value level"),
    (lambda f: plotting.qq_plot(f, band=1.5), ValueError, r"band must be a p-value level"),
    (lambda f: plotting.manhattan_plot(f["p_wald"].to_numpy()), TypeError,
     r"frame must be a pandas DataFrame"),
], ids=["threshold", "suggestive", "band", "array"])
def test_plot_options(frame, call, error, text):
    import matplotlib.pyplot as plt

    with pytest.raises(error, match=text):
        call(frame)
    plt.close("all")


# -- the model's fit, results and scan arguments ------------------------------------------------

@pytest.fixture(scope="module")
def family_fit():
    rng = np.random.default_rng(11)
    fam = np.kron(np.eye(30), np.full((4, 4), 0.25)) + np.eye(120) * 0.25
    x = np.column_stack([np.ones(120), rng.normal(size=120)])
    y = x @ [1.0, 0.5] + rng.multivariate_normal(np.zeros(120), 2 * fam) + rng.normal(size=120)
    geno = rng.binomial(2, 0.3, size=(120, 6)).astype(float)
    return KinshipMixedLM(y, x, kinship=fam).fit(), geno


@pytest.mark.parametrize("call, error, match", [
    (lambda r, g: r.model.fit(reml="yes"), TypeError, r"reml must be True or False, got 'yes'"),
    (lambda r, g: r.model.fit(use_t="x"), TypeError, r"use_t must be True or False"),
    (lambda r, g: r.model.fit(kinship_ratio="a"), TypeError, r"kinship_ratio must be a number"),
    (lambda r, g: r.model.fit(df_method="kr"), ValueError, r"df_method must be one of"),
    (lambda r, g: r.conf_int(alpha=2), ValueError, r"alpha must be in \(0, 1\), got 2"),
    (lambda r, g: r.conf_int(alpha=None), TypeError, r"alpha must be a number in \(0, 1\)"),
    (lambda r, g: r.summary(alpha=-1), ValueError, r"alpha must be in \(0, 1\)"),
    (lambda r, g: r.t_test("foo = 0"), ValueError, r"r_matrix 'foo = 0' is not a valid hypo"),
    (lambda r, g: r.wald_test(np.eye(5)), ValueError, r"is not a valid hypothesis on the 2 "),
    (lambda r, g: r.model.loglike_profile(-1.0), ValueError, r"delta must be a finite number"),
    (lambda r, g: r.model.loglike_profile("a"), ValueError, r"delta must be a finite number"),
    (lambda r, g: r.scan(g, block_size=1.5), ValueError, r"block_size must be an integer >= 1"),
    (lambda r, g: r.scan(g, use_t="x"), TypeError, r"use_t must be True or False"),
    (lambda r, g: r.scan(g, labels=3), ValueError, r"labels must be one of 'auto'"),
    (lambda r, g: r.scan(g, method="foo"), ValueError, r"method must be one of 'exact', 'fix"),
    (lambda r, g: genomic_inflation([0.5, 2.0]), ValueError, r"pvalues must lie in \[0, 1\]"),
    (lambda r, g: genomic_inflation(["abc"]), TypeError, r"pvalues must be numbers"),
    (lambda r, g: KinshipMixedLM(r.model.endog, r.model.exog, kinship=r.model.kinship,
                                 missing="foo"), ValueError, r"missing must be one of 'none'"),
])
def test_model_arguments_are_checked(family_fit, call, error, match):
    res, geno = family_fit
    with pytest.raises(error, match=match):
        call(res, geno)
