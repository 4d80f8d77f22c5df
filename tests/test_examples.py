"""The examples run end to end (the demo on data/, the reanalysis on the seed data, the
animal model on the real blue tit data)."""
import json
import pathlib
import runpy
import sys

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
RESULTS = ROOT / "tests" / "results"


def run_example(name, argv, monkeypatch):
    monkeypatch.setattr(sys, "argv", [str(EXAMPLES / name)] + [str(a) for a in argv])
    runpy.run_path(str(EXAMPLES / name), run_name="__main__")


def test_demo(tmp_path, monkeypatch, capsys):
    pytest.importorskip("matplotlib", reason="the demo's figure needs matplotlib")
    run_example("family_snp_study.py", [tmp_path], monkeypatch)
    out = capsys.readouterr().out
    assert "KinshipMixedLM" in out and "Heritability (h2)" in out
    assert "causal SNPs' ranks: SNP1 1, SNP3 4, SNP5 11, SNP11 5" in out  # the per-SNP scan
    # data/'s truth is h2 = 0.35, c2 = 0.15 (data/README.md): the kinship-only model absorbs
    # the household effect, kinship + household recovers both
    # (profile-likelihood intervals)
    assert "kinship only: h2 = 0.525 (0.431 to 0.616)" in out
    assert ("kinship + household: h2 = 0.353 (95% profile-likelihood interval 0.215 to "
            "0.483), c2 = 0.175 (0.099 to 0.258) (truth 0.35 and 0.15)") in out
    assert "LR test of s_h^2 = 0 (50:50 chi2 mixture): LR = 24.2, p = 4.3e-07" in out
    for figure in ("coefficients", "shares", "manhattan"):
        assert (tmp_path / f"family_snp_study_{figure}.png").stat().st_size > 0


def test_prediction_accuracy(tmp_path, monkeypatch, capsys):
    pytest.importorskip("matplotlib", reason="the example's figure needs matplotlib")
    run_example("prediction_accuracy.py", [tmp_path], monkeypatch)
    out = capsys.readouterr().out
    rows = {(line[:22].strip(), line[22:37].strip()): line[37:].split()
            for line in out.splitlines()
            if line.startswith(("pedigree ", "genomic ")) and "by " in line[22:37]}
    assert len(rows) == 6  # three models, two fold schemes
    for values in rows.values():  # the 95% prediction intervals cover about 95%
        coverage = float(values[-4])
        assert 0.92 < coverage < 0.98
    # folds by individual: relatives in training predict the polygenic value; by family the
    # pedigree kinship has no relatives of a held-out family in training (all BLUPs 0)
    assert ("pedigree              by individual     0.785 +- 0.010     0.418 +- 0.018  "
            "0.942 +- 0.007   0.543") in out
    assert out.count(" n/a ") == 2
    assert (tmp_path / "prediction_accuracy.png").stat().st_size > 0


def test_seed_reanalysis(seed_dir, monkeypatch, capsys):
    run_example("seed_reanalysis.py", [seed_dir], monkeypatch)
    out = capsys.readouterr().out
    assert "SNPs with Wald p < 0.05 (25, the blog lists 25)" in out
    assert "kinship from data1.ped equals kinship2's matrix: True" in out
    assert "rank 25 of 131" in out
    # lme4_seed_household.json: kinship-only h2 0.741; kinship + household h2 0.171, c2 0.444
    assert ("kinship only: h2 = 0.741 (SE 0.030); kinship + household: h2 = 0.171 "
            "(SE 0.064), c2 = 0.444 (SE 0.050); REML log-likelihood -1446.217 -> "
            "-1408.285") in out


def test_seed_reanalysis_households_are_lme4s(seed_dir):
    from statsmodels_kinship import read_plink_ped

    example = runpy.run_path(str(EXAMPLES / "seed_reanalysis.py"))
    ped = read_plink_ped(seed_dir / "seqsimla" / "data1.ped", seed_dir / "seqsimla" / "data.map")
    households = example["seed_households"](ped.pedigree)
    data = json.loads((RESULTS / "lme4_seed_household.json").read_text())["data"]
    assert list(households.index) == data["id"]
    assert list(households) == data["household"]


def test_bluetit_animal_model(real_dir, monkeypatch, capsys):
    run_example("bluetit_animal_model.py", [real_dir / "bluetit"], monkeypatch)
    out = capsys.readouterr().out
    ref = json.loads((RESULTS / "lme4_bluetit.json").read_text())
    for method in ("REML", "ML"):
        fit = ref["tarsus_af"][method]
        section = out.split(f"additive + fosternest, {method} ==")[1]
        assert f"log-likelihood {fit['logLik']:.4f}" in section  # logLik(fit)
        for name, lme4_name in (("additive", "animal"), ("fosternest", "fosternest"),
                                ("residual", "residual")):
            row = next(line for line in section.splitlines() if line.startswith(name))
            # as.data.frame(VarCorr(fit))$vcov
            assert np.isclose(float(row.split()[1]), fit["vcomp"][lme4_name], atol=6e-5)
    assert "IdentifiabilityWarning: the variance components are not identified" in out
    assert "identified: False" in out
    # the criterion is constant along the flat direction: the dam model's optimum is the
    # model without dam's (tarsus_adf and tarsus_af in lme4_bluetit.json)
    assert (f"log-likelihood {ref['tarsus_adf']['REML']['logLik']:.4f} (without dam "
            f"{ref['tarsus_af']['REML']['logLik']:.4f})") in out
