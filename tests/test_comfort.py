"""Comfort (issue 12, item 4): the binary-trait warning and the liability-scale h2, one public
namespace, docstrings on the results' attributes, doctests that skip without an optional
extra, one-line errors from the examples given a wrong path."""
import os
import pathlib
import runpy
import subprocess
import sys
import types
import warnings
from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest

import statsmodels_kinship as smk
import statsmodels_kinship.api as smk_api
import statsmodels_kinship.scan
from statsmodels_kinship.exceptions import BinaryTraitWarning

ROOT = pathlib.Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


@pytest.fixture(scope="module")
def binary_data():
    rng = np.random.default_rng(12)
    fam = np.kron(np.eye(60), np.full((4, 4), 0.25)) + np.eye(240) * 0.25
    g = rng.multivariate_normal(np.zeros(240), 2 * fam)
    x = rng.normal(size=240)
    y = (0.5 * x + g + rng.normal(size=240) > 1.0).astype(float)
    return pd.DataFrame({"y": y, "x": x}), fam


# -- binary trait -----------------------------------------------------------------------------

def test_binary_trait_warns_at_the_users_line(binary_data):
    df, fam = binary_data
    exog = np.column_stack([np.ones(len(df)), df["x"]])
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        smk.KinshipMixedLM(df["y"].to_numpy(), exog, kinship=fam)
        smk.KinshipMixedLM.from_formula("y ~ x", df, kinship=fam)  # through statsmodels
    binary = [w for w in rec if issubclass(w.category, BinaryTraitWarning)]
    assert len(binary) == 2
    for w in binary:  # the user's line, not a line of the package or of statsmodels
        assert w.filename == __file__
        assert "h2_liability" in str(w.message) and "0 and 1" in str(w.message)


def test_quantitative_trait_does_not_warn(binary_data):
    df, fam = binary_data
    with warnings.catch_warnings():
        warnings.simplefilter("error", BinaryTraitWarning)
        smk.KinshipMixedLM.from_formula("y ~ x", df.assign(y=df["y"] + df["x"]), kinship=fam)


def test_h2_liability_hand_computed(binary_data):
    df, fam = binary_data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BinaryTraitWarning)
        res = smk.KinshipMixedLM.from_formula("y ~ x", df, kinship=fam).fit()
    assert 0 < res.h2 < 1 and res.bse_h2 > 0
    normal = NormalDist()
    for k in (0.1, 0.01):
        z = normal.pdf(normal.inv_cdf(1 - k))  # density at the liability threshold
        # Dempster & Lerner (1950): h2_l = h2_o K(1-K)/z^2; K = 0.1: factor 2.92211
        h2, bse = res.h2_liability(k)
        np.testing.assert_allclose([h2, bse], np.multiply([res.h2, res.bse_h2],
                                                          k * (1 - k) / z ** 2), rtol=1e-10)
        # Lee et al. (2011), a sample with P cases: K^2(1-K)^2/(P(1-P) z^2)
        p = 0.5
        h2, bse = res.h2_liability(k, sample_prevalence=p)
        factor = k ** 2 * (1 - k) ** 2 / (p * (1 - p) * z ** 2)
        np.testing.assert_allclose([h2, bse], np.multiply([res.h2, res.bse_h2], factor),
                                   rtol=1e-10)
        # P = K: the two formulas agree
        np.testing.assert_allclose(res.h2_liability(k, sample_prevalence=k),
                                   res.h2_liability(k), rtol=1e-12)
    np.testing.assert_allclose(res.h2_liability(0.1)[0] / res.h2, 2.9221097511502947,
                               rtol=1e-9)


@pytest.mark.parametrize("kwargs, err, match", [
    ({"prevalence": 0.0}, ValueError, r"prevalence must be in \(0, 1\).*got 0.0"),
    ({"prevalence": 1}, ValueError, r"prevalence must be in \(0, 1\).*got 1"),
    ({"prevalence": np.nan}, ValueError, "prevalence must be in"),
    ({"prevalence": "0.1"}, TypeError, "prevalence must be a number.*'0.1'"),
    ({"prevalence": True}, TypeError, "prevalence must be a number"),
    ({"prevalence": 0.1, "sample_prevalence": 1.5}, ValueError,
     r"sample_prevalence must be in \(0, 1\).*got 1.5"),
])
def test_h2_liability_rejects_bad_prevalence(binary_data, kwargs, err, match):
    df, fam = binary_data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BinaryTraitWarning)
        res = smk.KinshipMixedLM.from_formula("y ~ x", df, kinship=fam).fit()
    with pytest.raises(err, match=match):
        res.h2_liability(**kwargs)


# -- one public namespace -----------------------------------------------------------------------

def _public(module):
    return {name for name in dir(module) if not name.startswith("_")
            and not isinstance(getattr(module, name), types.ModuleType)}


def test_one_public_namespace():
    assert smk.__all__ == smk_api.__all__
    assert _public(smk) == _public(smk_api) == set(smk_api.__all__)
    assert "BinaryTraitWarning" in smk.__all__


def test_scan_is_the_module_and_scan_genotypes_the_function():
    assert isinstance(smk.scan, types.ModuleType)
    assert smk.scan is statsmodels_kinship.scan
    assert smk.scan_genotypes is statsmodels_kinship.scan.scan
    assert smk.api.scan_genotypes is smk.scan_genotypes


# -- docstrings ---------------------------------------------------------------------------------

@pytest.mark.parametrize("cls", [smk.KinshipMixedLMResults, smk.KinshipBootstrapResults])
def test_every_public_results_attribute_has_a_docstring(cls):
    missing = [name for name in dir(cls)
               if not name.startswith("_") and not (getattr(cls, name).__doc__ or "").strip()]
    assert missing == []


# -- doctests and optional extras ---------------------------------------------------------------

def test_doctest_skips_without_the_optional_extra(tmp_path):
    # hide bed-reader: a package of that name earlier on the path that cannot be imported
    (tmp_path / "bed_reader").mkdir()
    (tmp_path / "bed_reader" / "__init__.py").write_text(
        "raise ImportError('bed_reader hidden by test_comfort')\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(tmp_path)] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider",
         "-p", "no:hypothesispytest",
         "statsmodels_kinship/io.py::statsmodels_kinship.io.read_plink_bed"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "1 skipped" in out and "optional dependency bed_reader" in out, out


# -- examples given a wrong path ----------------------------------------------------------------

@pytest.mark.parametrize("script, argv, message", [
    ("seed_reanalysis.py", ["{missing}"], "seed data folder '{missing}' does not exist"),
    ("seed_reanalysis.py", ["{tmp}"], "'{tmp}' is not the seed data folder: it lacks "
                                      "phenotype.csv"),
    ("family_snp_study.py", ["{file}/out"], "cannot create the output folder '{file}/out'"),
    ("gwas_scan.py", ["{file}/out"], "cannot create the output folder '{file}/out'"),
    ("bootstrap_intervals.py", ["--out", "{file}/out"],
     "cannot create the output folder '{file}/out'"),
])
def test_example_wrong_path_is_one_line_and_status_2(tmp_path, monkeypatch, capsys, script,
                                                     argv, message):
    (tmp_path / "a_file").write_text("")
    names = {"missing": str(tmp_path / "nowhere"), "tmp": str(tmp_path),
             "file": str(tmp_path / "a_file")}
    argv = [a.format(**names) for a in argv]
    monkeypatch.setattr(sys, "argv", [str(EXAMPLES / script)] + argv)
    with pytest.raises(SystemExit) as exc:
        runpy.run_path(str(EXAMPLES / script), run_name="__main__")
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"{script}: error: "), err
    assert message.format(**names) in err


def test_example_wrong_path_in_a_shell(tmp_path):
    missing = str(tmp_path / "nowhere")
    proc = subprocess.run([sys.executable, str(EXAMPLES / "seed_reanalysis.py"), missing],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr
    assert proc.stderr.startswith("seed_reanalysis.py: error: seed data folder")
