"""Figures of a genome-wide scan: Manhattan plot and QQ plot with the genomic inflation factor.

Both take the DataFrame returned by :func:`statsmodels_kinship.scan.scan` (or any frame with
a p-value column) and draw on a matplotlib Axes; matplotlib is imported only when a figure
is drawn (``pip install statsmodels-kinship[plot]``).
"""

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.tools.sm_exceptions import ValueWarning

from .scan import genomic_inflation
from .exceptions import warn_at_user

__all__ = ["manhattan_plot", "qq_plot"]


#: Axis label of a p-value, written as a journal prints it.
_MLOG10P = r"$-\log_{10}(p)$"
#: The test of each p-value column of a scan, named in axis labels.
_TESTS = {"p_wald": "Wald test", "p_lrt": "likelihood-ratio test", "p_score": "score test"}


def _axes(ax, figsize):
    """The figure and axes to draw on; a new figure uses the constrained layout, which
    keeps a legend placed outside the axes (and the labels) within the figure."""
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    else:
        fig = ax.figure
    return fig, ax


def _test_name(frame, column):
    """``' (Wald test)'`` for a scan's p-value column, else ``''``."""
    return f" ({_TESTS[column]})" if isinstance(frame, pd.DataFrame) and column in _TESTS \
        else ""


def _pretty(p):
    """A p-value level in mathtext: ``5 \\times 10^{-8}``."""
    mant, exp = f"{p:.1e}".split("e")
    mant, exp = mant.removesuffix(".0"), int(exp)
    if -3 <= exp <= 0:
        return f"{p:g}"
    return f"${mant} \\times 10^{{{exp}}}$" if mant != "1" else f"$10^{{{exp}}}$"


def _thin_labels(ax, ticks, labels, fontsize):
    """Chromosome tick labels that do not overlap: a label is left blank (its tick kept)
    when it would touch the previous label shown; estimated from the axes' width, the
    x limits and the labels' lengths (an average glyph is about 0.6 em wide)."""
    width_px = ax.get_window_extent().width
    lo, hi = ax.get_xlim()
    px = width_px / (hi - lo) if hi > lo else 0.0
    dpi = ax.figure.dpi
    shown, last = [], None
    for t, lab in zip(ticks, labels):
        half = (0.6 * fontsize * len(lab) + 4) * dpi / 72 / 2
        x = (t - lo) * px
        if last is None or x - half >= last:
            shown.append(lab)
            last = x + half
        else:
            shown.append("")
    return shown


def _pvalues(frame, column, what="frame"):
    """The p-values to draw and a mask of those kept: finite and > 0. Raises when a
    p-value lies outside [0, 1], is not a number, or when none is left; warns when p-values
    of 0 (an underflow: -log10 p is infinite) are left out."""
    if isinstance(frame, pd.DataFrame):
        if column not in frame:
            raise KeyError(f"no column {column!r} in the scan results; columns: "
                           f"{', '.join(map(str, frame.columns))}")
        values, name, labels = frame[column], f"column {column!r}", frame.index
    elif what == "frame":
        raise TypeError(f"frame must be a pandas DataFrame (the result of scan), got "
                        f"{type(frame).__name__}")
    else:
        values, name = frame, "the p-values"
        labels = None
    try:
        p = np.asarray(values, dtype=float).ravel()
    except (TypeError, ValueError):
        raise ValueError(f"{name} must hold numbers (p-values), got dtype "
                         f"{getattr(values, 'dtype', type(values).__name__)}") from None
    labels = pd.RangeIndex(len(p)) if labels is None else labels
    bad = np.isfinite(p) & ((p < 0) | (p > 1)) | np.isinf(p)
    if bad.any():
        raise ValueError(f"{name} holds {int(bad.sum())} values outside [0, 1], which are not "
                         f"p-values: {_show_pairs(labels[bad], p[bad])}")
    zero = p == 0
    keep = np.isfinite(p) & ~zero
    if not keep.any():
        raise ValueError(f"{name} has no p-value to draw: all {len(p)} are "
                         + ("missing (NaN) or 0" if len(p) else "absent (no rows)"))
    if zero.any():
        warn_at_user(f"{name}: {int(zero.sum())} p-values are exactly 0 (underflow: -log10 p "
                      f"is infinite) and are left out of the figure: "
                      f"{_show_pairs(labels[zero], p[zero])}", ValueWarning)
    return p, keep


def _show_pairs(labels, values, limit=5):
    shown = ", ".join(f"{lab}: {v:g}" for lab, v in zip(list(labels)[:limit], values[:limit]))
    return shown + (f", ... ({len(values)} in all)" if len(values) > limit else "")


def _check_level(value, name):
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not 0 < value < 1:
        raise ValueError(f"{name} must be a p-value level in (0, 1) or None, got {value!r}")


def manhattan_plot(frame, column="p_wald", *, ax=None, threshold=5e-8, suggestive=None,
                   highlight=None, highlight_label="highlighted", annotate=0,
                   colors=("#1f4e79", "#6fa8dc"), figsize=(10, 4), title=None):
    """
    Manhattan plot: ``-log10 p`` of each SNP along the genome.

    The y axis reads "-log10(p)" (mathtext) and names the test of a scan's column; SNPs are
    placed by position in Mb, one chromosome after the other, with the chromosome names as
    tick labels at the middle of each (labels that would overlap are left out) or, for a
    single chromosome, on an axis "Position on chromosome c (Mb)". The threshold lines and
    the highlighted SNPs are named in a legend outside the axes, on the right, so that it
    covers no point.

    Parameters
    ----------
    frame : pandas.DataFrame
        Scan results, indexed by SNP. SNPs are placed by ``chromosome`` and ``position``
        (base pairs, as in the SNP map of the readers and the result of a scan given
        ``chromosome`` and ``position``) when those columns exist (chromosomes side by side
        in natural order, alternating colours), otherwise in row order. Rows with a
        missing p-value (flagged SNPs) are left out.
    column : str
        The p-value column (``'p_wald'``, ``'p_lrt'`` or ``'p_score'``).
    ax : matplotlib.axes.Axes, optional
        Draw here; by default a new figure.
    threshold : float or None
        Genome-wide significance line (default 5e-8).
    suggestive : float, optional
        A second, dashed line.
    highlight : list, optional
        SNP names drawn in red (e.g. the causal SNPs of a simulation).
    highlight_label : str
        Their legend entry.
    annotate : int
        Label the ``annotate`` SNPs with the smallest p-values.
    colors : tuple of str
        Alternating chromosome colours.
    figsize : tuple
        Size of a new figure.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    KeyError
        When ``column`` is not in ``frame``.
    ValueError
        When a p-value lies outside [0, 1], or none is finite and positive. P-values of
        exactly 0 (underflow) are left out with a warning.
    """
    p, keep = _pvalues(frame, column)
    _check_level(threshold, "threshold")
    _check_level(suggestive, "suggestive")
    data = frame.loc[keep]
    logp = -np.log10(p[keep])
    fig, ax = _axes(ax, figsize)
    ticks = None
    if "chromosome" in data and "position" in data:
        chrom = data["chromosome"].astype(str)
        order = sorted(chrom.unique(), key=lambda c: (not c.isdigit(), int(c) if c.isdigit()
                                                      else 0, c))
        pos = data["position"].to_numpy(dtype=float) / 1e6  # Mb
        unit = "Mb"
        if len(order) == 1 and np.ptp(pos) < 1.0:  # a region under 1 Mb reads better in kb
            pos, unit = pos * 1e3, "kb"
        x = np.empty(len(data))
        ticks, offset = [], 0.0
        gap = 0.01 * (sum(np.ptp(pos[(chrom == c).to_numpy()]) for c in order) or 1.0)
        for i, c in enumerate(order):
            on = (chrom == c).to_numpy()
            start = 0.0 if len(order) == 1 else pos[on].min()
            x[on] = offset + pos[on] - start
            ax.scatter(x[on], logp[on], s=8, color=colors[i % len(colors)], linewidths=0)
            ticks.append(offset + (pos[on].min() + pos[on].max()) / 2 - start)
            offset += pos[on].max() - start + gap
        if len(order) == 1:
            ax.set_xlabel(f"Position on chromosome {order[0]} ({unit})")
            ticks = None
        else:
            ax.set_xlabel("Chromosome")
            ax.set_xlim(min(x.min(), ticks[0]) - gap, x.max() + gap)
    else:
        x = np.flatnonzero(keep).astype(float)
        ax.scatter(x, logp, s=8, color=colors[0], linewidths=0)
        ax.set_xlabel("SNP (row order: no chromosome and position columns)")
    if highlight is not None:
        on = data.index.isin(list(highlight))
        if on.any():
            ax.scatter(x[on], logp[on], s=24, color="#c00000", zorder=3,
                       label=highlight_label)
    for level, style, name in ((threshold, "-", "genome-wide"),
                               (suggestive, "--", "suggestive")):
        if level is not None:
            ax.axhline(-np.log10(level), color="grey", linestyle=style, linewidth=0.8,
                       label=f"{name}, p = {_pretty(level)}")
    if annotate:
        for i in np.argsort(-logp)[:annotate]:
            # steep labels: neighbouring SNPs with equal p-values (LD) stay legible
            ax.annotate(str(data.index[i]), (x[i], logp[i]), textcoords="offset points",
                        xytext=(2, 3), fontsize=7, rotation=60, ha="left", va="bottom",
                        rotation_mode="anchor")
    ax.set_ylabel(_MLOG10P + _test_name(frame, column))
    ax.set_ylim(bottom=0)
    top = max([logp.max()] + [-np.log10(v) for v in (threshold, suggestive) if v is not None])
    ax.set_ylim(top=top * (1.2 if annotate else 1.08))  # room for the labels
    if ax.get_legend_handles_labels()[0]:
        # outside the axes, right of them: the points of a Manhattan plot fill the axes
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0,
                  frameon=False, fontsize="small")
    ax.set_title(title if title is not None else
                 rf"{column}: $\lambda_{{GC}}$ = {genomic_inflation(p[keep]):.3f}")
    if ticks is not None:  # last: thinned for the final width of the axes
        fontsize = 9 if len(order) <= 12 else 8
        ax.set_xticks(ticks)
        if ax.figure.get_layout_engine() is not None:
            ax.figure.draw_without_rendering()  # final axes width for the thinning
        ax.set_xticklabels(_thin_labels(ax, ticks, order, fontsize), fontsize=fontsize)
        ax.tick_params(axis="x", length=3)
    return fig


def qq_plot(frame, column="p_wald", *, ax=None, band=0.95, figsize=(4.5, 4.5), title=None):
    """
    QQ plot of ``-log10 p`` against its expectation under the null, with ``lambda_GC``.

    Axes labelled "Expected / Observed -log10(p)" (mathtext); the genomic inflation factor
    heads a legend (the band, the diagonal) in the upper left of the axes, above the
    diagonal at small expected values, where points would need most SNPs to be associated.

    Parameters
    ----------
    frame : pandas.DataFrame or array_like
        Scan results (the ``column`` is used) or the p-values themselves.
    column : str
        The p-value column.
    ax : matplotlib.axes.Axes, optional
    band : float or None
        Pointwise confidence band of the order statistics under the null (Beta
        distributions), default 95%; None for no band.
    figsize : tuple
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
        The genomic inflation factor (:func:`~statsmodels_kinship.scan.genomic_inflation`)
        is printed in the axes.

    Raises
    ------
    KeyError
        When ``column`` is not in ``frame``.
    ValueError
        When a p-value lies outside [0, 1], or none is finite and positive. P-values of
        exactly 0 (underflow) are left out with a warning.
    """
    p, keep = _pvalues(frame, column, what="frame or p-values")
    _check_level(band, "band")
    p = np.sort(p[keep])
    m = len(p)
    fig, ax = _axes(ax, figsize)
    if m:
        rank = np.arange(1, m + 1)
        expected = -np.log10(rank / (m + 1))
        if band is not None:
            lo = -np.log10(stats.beta.ppf((1 + band) / 2, rank, m + 1 - rank))
            hi = -np.log10(stats.beta.ppf((1 - band) / 2, rank, m + 1 - rank))
            ax.fill_between(expected, lo, hi, color="0.85", linewidth=0,
                            label=f"{band:.0%} band under the null")
        ax.scatter(expected, -np.log10(p), s=8, color="#1f4e79", linewidths=0, zorder=3)
        ax.plot([0, expected.max()], [0, expected.max()], color="grey", linewidth=0.8,
                label="expected under the null")
    lam = genomic_inflation(p)
    ax.set_xlabel("Expected " + _MLOG10P)
    ax.set_ylabel("Observed " + _MLOG10P + _test_name(frame, column))
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0)
    # upper left: above the diagonal at small expected values, where a point would need
    # most SNPs to be associated (the points are sorted)
    ax.legend(title=rf"$\lambda_{{GC}}$ = {lam:.3f}", loc="upper left", alignment="left",
              frameon=False, fontsize="small")
    ax.set_title(title if title is not None else f"QQ plot ({m} SNPs)")
    return fig
