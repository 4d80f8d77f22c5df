"""The examples run end to end (the demo on data/, the reanalysis on the seed data)."""
import pathlib
import runpy
import sys

import pytest

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"


def run_example(name, argv, monkeypatch):
    monkeypatch.setattr(sys, "argv", [str(EXAMPLES / name)] + [str(a) for a in argv])
    runpy.run_path(str(EXAMPLES / name), run_name="__main__")


def test_demo(tmp_path, monkeypatch, capsys):
    pytest.importorskip("matplotlib", reason="the demo's figure needs matplotlib")
    run_example("family_snp_study.py", [tmp_path], monkeypatch)
    out = capsys.readouterr().out
    assert "KinshipMixedLM" in out and "Heritability (h2)" in out
    assert "causal SNPs' ranks: SNP1 1, SNP3 4, SNP5 11, SNP11 5" in out  # the per-SNP scan
    assert (tmp_path / "family_snp_study_coefficients.png").stat().st_size > 0
    assert (tmp_path / "family_snp_study_manhattan.png").stat().st_size > 0


def test_seed_reanalysis(seed_dir, monkeypatch, capsys):
    run_example("seed_reanalysis.py", [seed_dir], monkeypatch)
    out = capsys.readouterr().out
    assert "SNPs with Wald p < 0.05 (25, the blog lists 25)" in out
    assert "kinship from data1.ped equals kinship2's matrix: True" in out
    assert "rank 25 of 131" in out
