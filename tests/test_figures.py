"""Figures a journal would take (issue 12, item 3) and the progress bar of a scan (item 4).

* the SNP maps of the readers carry ``position`` (base pairs) and the SNP names as index,
  which is what :func:`~statsmodels_kinship.plotting.manhattan_plot` and
  :func:`~statsmodels_kinship.scan.scan` expect;
* Manhattan plot: ``-log10(p)`` written in mathtext, positions in Mb, chromosome names at
  the middle of each chromosome, tick labels that do not overlap, labelled threshold lines;
* QQ plot: "Expected / Observed -log10(p)", the genomic inflation factor in the axes;
* legends that cover no data (checked on the rendered figure, in display coordinates);
* ``scan(progress=...)``: checked, and a tqdm bar for ``progress=True``.
"""
import importlib
import importlib.util
import pathlib

import numpy as np
import pandas as pd
import pytest

matplotlib = pytest.importorskip("matplotlib", reason="the figures need matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from statsmodels_kinship import KinshipMixedLM  # noqa: E402
from statsmodels_kinship.io import read_plink_bed, read_plink_ped  # noqa: E402
from statsmodels_kinship.plotting import manhattan_plot, qq_plot  # noqa: E402
from statsmodels_kinship.scan import genomic_inflation, scan  # noqa: E402

scan_module = importlib.import_module("statsmodels_kinship.scan")
from statsmodels_kinship.simulate import (  # noqa: E402
    read_study_csv,
    seed_study_parameters,
    simulate_family_study,
)

ROOT = pathlib.Path(__file__).resolve().parent.parent
MLOG10P = r"$-\log_{10}(p)$"
# human autosomes and X, lengths in Mb (GRCh38, rounded): narrow ones late in the genome
LENGTHS = [248, 242, 198, 190, 181, 171, 159, 145, 138, 134, 135, 133, 114, 107, 102, 90,
           83, 80, 59, 64, 47, 51, 156]
NAMES = [str(c) for c in range(1, 23)] + ["X"]


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def genome(per_mb=2, seed=0, strong=0):
    """A scan-like frame over the human genome: uniform p-values, ``strong`` of them tiny."""
    rng = np.random.default_rng(seed)
    chrom, pos = [], []
    for c, length in zip(NAMES, LENGTHS):
        k = per_mb * length
        chrom += [c] * k
        pos.append(np.sort(rng.integers(1, length * 10**6, k)))
    p = rng.uniform(size=len(chrom))
    p[rng.choice(len(p), strong, replace=False)] = 10.0 ** -rng.uniform(5, 40, strong)
    return pd.DataFrame({"chromosome": chrom, "position": np.concatenate(pos), "p_wald": p},
                        index=pd.Index([f"rs{j}" for j in range(len(p))], name="snp"))


def points(ax):
    """Display coordinates of every scatter point of ``ax`` (after a draw)."""
    xy = [c.get_offset_transform().transform(c.get_offsets()) for c in ax.collections
          if len(c.get_offsets()) and c.get_offsets().shape[1] == 2
          and type(c).__name__ == "PathCollection"]
    return np.concatenate(xy)


def covered(bbox, xy):
    """The points of ``xy`` inside ``bbox``."""
    return xy[(xy[:, 0] >= bbox.x0) & (xy[:, 0] <= bbox.x1)
              & (xy[:, 1] >= bbox.y0) & (xy[:, 1] <= bbox.y1)]


# ---------------------------------------------------------------------------------------------
# The SNP maps of the readers
# ---------------------------------------------------------------------------------------------
def test_plink_ped_map_has_position_and_snp_index(tmp_path):
    (tmp_path / "t.ped").write_text("F1 1 0 0 1 -9 1 1 A G\nF1 2 0 0 2 1.5 1 2 G G\n")
    (tmp_path / "t.map").write_text("1 rs1 0.5 1500000\n2 rs2 0 200\n")
    _, geno, snps = read_plink_ped(tmp_path / "t.ped", tmp_path / "t.map")
    assert snps.index.name == "snp" and snps.index.equals(geno.columns)
    assert list(snps.index) == ["rs1", "rs2"]
    assert snps["position"].tolist() == [1500000, 200] and "bp" not in snps
    assert snps.loc["rs1", "chromosome"] == "1" and snps.loc["rs1", "cm"] == 0.5


def test_plink_bed_map_has_position_and_snp_index(tmp_path):
    bed_reader = pytest.importorskip("bed_reader", reason="reading a .bed needs bed-reader")
    bed_reader.to_bed(tmp_path / "t.bed", np.array([[2.0, 0.0], [1.0, 1.0]]),
                      properties={"sid": ["rs1", "rs2"], "bp_position": [100, 2_000_000],
                                  "chromosome": ["1", "2"]})
    _, geno, snps = read_plink_bed(tmp_path / "t")
    assert snps.index.name == "snp" and snps.index.equals(geno.columns)
    assert snps["position"].tolist() == [100, 2_000_000] and "bp" not in snps


def test_study_csv_map_has_position_and_snp_index(tmp_path):
    study = simulate_family_study(**seed_study_parameters(n_families=2), seed=3)
    study.to_csv(tmp_path)
    _, geno, _, snps = read_study_csv(tmp_path)
    assert snps.index.name == "snp" and snps.index.equals(geno.columns)
    assert "position" in snps and "bp" not in snps and "name" not in snps
    np.testing.assert_array_equal(snps["position"], study.snp_map["bp"])
    # straight into a scan's result and a Manhattan plot, placed by position
    frame = pd.DataFrame({"p_wald": np.linspace(0.01, 1, len(snps))}, index=snps.index)
    fig = manhattan_plot(frame.join(snps[["chromosome", "position"]]))
    assert "row order" not in fig.axes[0].get_xlabel()


# ---------------------------------------------------------------------------------------------
# Manhattan plot
# ---------------------------------------------------------------------------------------------
def test_manhattan_axes_read_as_in_a_paper():
    frame = genome()
    fig = manhattan_plot(frame, suggestive=1e-5)
    ax = fig.axes[0]
    assert ax.get_ylabel() == MLOG10P + " (Wald test)"
    assert ax.get_xlabel() == "Chromosome"
    # one tick per chromosome, at its middle, positions in Mb laid end to end
    ticks = ax.get_xticks()
    assert len(ticks) == len(NAMES)
    first = frame[frame["chromosome"] == "1"]["position"] / 1e6
    assert ticks[0] == pytest.approx((first.max() - first.min()) / 2)
    x1 = ax.collections[0].get_offsets()[:, 0]
    np.testing.assert_allclose(x1, first - first.min())
    widths = np.diff(ticks)  # neighbouring middles: half of each chromosome's span apart
    spans = np.array([np.ptp(frame[frame["chromosome"] == c]["position"]) for c in NAMES]) / 1e6
    np.testing.assert_allclose(widths - (spans[:-1] + spans[1:]) / 2, widths[0] -
                               (spans[0] + spans[1]) / 2)  # a constant gap
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels[0] == "1" and set(labels) - {""} <= set(NAMES)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == [r"genome-wide, p = $5 \times 10^{-8}$", r"suggestive, p = $10^{-5}$"]


def test_manhattan_single_chromosome_in_mb():
    frame = genome().query("chromosome == '3'")
    ax = manhattan_plot(frame).axes[0]
    assert ax.get_xlabel() == "Position on chromosome 3 (Mb)"
    np.testing.assert_allclose(ax.collections[0].get_offsets()[:, 0], frame["position"] / 1e6)


@pytest.mark.parametrize("figsize", [(5, 3), (10, 4)])
def test_manhattan_chromosome_labels_do_not_overlap(figsize):
    fig = manhattan_plot(genome(), figsize=figsize)
    fig.canvas.draw()
    ax = fig.axes[0]
    shown = [t for t in ax.get_xticklabels() if t.get_text() and t.get_visible()]
    boxes = [t.get_window_extent() for t in shown]
    assert len(shown) >= 8 and shown[0].get_text() == "1"
    for a, b in zip(boxes, boxes[1:]):
        assert a.x1 < b.x0, (a, b)


def test_manhattan_legend_covers_no_point():
    frame = genome(strong=40)
    # a peak at the end of the genome, top right, where a legend inside the axes would go
    frame.iloc[-60:, frame.columns.get_loc("p_wald")] = 10.0 ** -np.linspace(2, 45, 60)
    fig = manhattan_plot(frame, highlight=list(frame.index[::50]), suggestive=1e-5)
    fig.canvas.draw()
    ax = fig.axes[0]
    box = ax.get_legend().get_window_extent()
    assert len(covered(box, points(ax))) == 0
    # and the legend is within the figure (constrained layout)
    assert box.x1 <= fig.bbox.x1 + 1 and box.x0 >= fig.bbox.x0


# ---------------------------------------------------------------------------------------------
# QQ plot
# ---------------------------------------------------------------------------------------------
def test_qq_labels_band_and_inflation():
    frame = genome(strong=20)
    ax = qq_plot(frame).axes[0]
    assert ax.get_xlabel() == "Expected " + MLOG10P
    assert ax.get_ylabel() == "Observed " + MLOG10P + " (Wald test)"
    assert qq_plot(frame["p_wald"].to_numpy()).axes[0].get_ylabel() == "Observed " + MLOG10P
    lam = genomic_inflation(frame["p_wald"])
    title = ax.get_legend().get_title()
    assert title.get_text() == rf"$\lambda_{{GC}}$ = {lam:.3f}"
    assert [t.get_text() for t in ax.get_legend().get_texts()][0] == \
        "95% band under the null"
    # the legend with the inflation factor lies inside the axes
    ax.figure.canvas.draw()
    inside = ax.get_window_extent()
    box = ax.get_legend().get_window_extent()
    assert inside.x0 <= box.x0 and box.x1 <= inside.x1 and inside.y0 <= box.y0 <= box.y1 \
        <= inside.y1


@pytest.mark.parametrize("strong", [0, 30, 300], ids=["null", "some signal", "inflated"])
def test_qq_legend_covers_no_point(strong):
    fig = qq_plot(genome(strong=strong))
    fig.canvas.draw()
    ax = fig.axes[0]
    assert len(covered(ax.get_legend().get_window_extent(), points(ax))) == 0


# ---------------------------------------------------------------------------------------------
# The demo figure (examples/family_snp_study.py, `make demo`)
# ---------------------------------------------------------------------------------------------
def test_demo_figure_legend_outside_the_data(tmp_path, monkeypatch):
    import statsmodels.api as sm

    spec = importlib.util.spec_from_file_location(
        "family_snp_study", ROOT / "examples" / "family_snp_study.py")
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    rng = np.random.default_rng(1)
    x = pd.DataFrame(rng.normal(size=(60, 3)), columns=["SNP1", "SNP2", "SNP3"])
    y = x.sum(axis=1) + rng.normal(size=60)
    fits = {name: sm.OLS(y + shift, sm.add_constant(x)).fit()
            for name, shift in (("a", 0.0), ("b", 0.1), ("c", 0.2))}
    saved = []
    monkeypatch.setattr(Figure, "savefig", lambda self, *a, **k: saved.append(self))
    example.coefficient_figure(fits, ["SNP1", "SNP2", "SNP3"], tmp_path / "f.png")
    (fig,) = saved
    fig.canvas.draw()
    ax = fig.axes[0]
    legends = fig.legends + ([ax.get_legend()] if ax.get_legend() is not None else [])
    assert len(legends) == 1
    box, data = legends[0].get_window_extent(), ax.get_window_extent()
    assert not box.overlaps(data), (box, data)
    assert fig.bbox.x0 <= box.x0 and box.x1 <= fig.bbox.x1 and fig.bbox.y0 <= box.y0


# ---------------------------------------------------------------------------------------------
# A progress bar on long scans
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small_scan():
    rng = np.random.default_rng(7)
    n, m = 40, 30
    a = rng.normal(size=(n, n))
    kinship = a @ a.T / n + np.eye(n)
    geno = pd.DataFrame(rng.integers(0, 3, size=(n, m)).astype(float),
                        columns=[f"snp{j}" for j in range(m)])
    y = rng.multivariate_normal(np.zeros(n), kinship)
    return KinshipMixedLM(y, np.ones((n, 1)), kinship=kinship).fit(), geno


@pytest.mark.parametrize("bad", ["yes", 1, 0.5])
def test_scan_progress_checked(small_scan, bad):
    null, geno = small_scan
    with pytest.raises(TypeError, match=rf"progress must be None, True or False, got "
                       rf"{bad!r}"):
        scan(null, geno, progress=bad)


def test_scan_progress_bar(small_scan, capsys, monkeypatch):
    pytest.importorskip("tqdm", reason="the progress bar needs tqdm")
    null, geno = small_scan
    m = geno.shape[1]
    quiet = scan(null, geno, progress=False, block_size=7)
    assert capsys.readouterr().err == ""
    bars = []

    class Recorded(scan_module._Progress):
        def __init__(self, *args):
            super().__init__(*args)
            self.steps, self.closed = [], False
            bars.append(self)

        def update(self, k):
            self.steps.append(k)
            super().update(k)

        def close(self):
            self.closed = True
            super().close()

    monkeypatch.setattr(scan_module, "_Progress", Recorded)
    shown = scan(null, geno, progress=True, block_size=7)
    err = capsys.readouterr().err
    (bar,) = bars
    assert bar.bar is not None and bar.bar.total == m and bar.bar.unit == "SNP"
    assert bar.steps == [7, 7, 7, 7, 2] and bar.closed  # block by block, then closed
    assert "scan" in err and f"0/{m}" in err and "SNP/s" in err  # tqdm wrote to stderr
    pd.testing.assert_frame_equal(quiet, shown)
    scan(null, geno, block_size=7)  # default: a bar only after about a second
    assert capsys.readouterr().err == ""
    assert bars[1].bar is not None and bars[1].bar.delay == 1.0 and bars[1].steps
