"""Figures of a genome-wide scan: Manhattan plot and QQ plot with the genomic inflation factor.

Both take the DataFrame returned by :func:`statsmodels_kinship.scan.scan` (or any frame with
a p-value column) and draw on a matplotlib Axes; matplotlib is imported only when a figure
is drawn (``pip install statsmodels-kinship[plot]``).
"""
import warnings

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.tools.sm_exceptions import ValueWarning

from .scan import genomic_inflation

__all__ = ["manhattan_plot", "qq_plot"]


def _axes(ax, figsize):
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
    else:
        fig = ax.figure
    return fig, ax


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
        warnings.warn(f"{name}: {int(zero.sum())} p-values are exactly 0 (underflow: -log10 p "
                      f"is infinite) and are left out of the figure: "
                      f"{_show_pairs(labels[zero], p[zero])}", ValueWarning, stacklevel=3)
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

    Parameters
    ----------
    frame : pandas.DataFrame
        Scan results, indexed by SNP. SNPs are placed by ``chromosome`` and ``position``
        when those columns exist (chromosomes side by side in natural order, alternating
        colours), otherwise in row order. Rows with a missing p-value (flagged SNPs) are
        left out.
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
    if "chromosome" in data and "position" in data:
        chrom = data["chromosome"].astype(str)
        order = sorted(chrom.unique(), key=lambda c: (not c.isdigit(), int(c) if c.isdigit()
                                                      else 0, c))
        x = np.empty(len(data))
        ticks, offset = [], 0.0
        pos = data["position"].to_numpy(dtype=float)
        for i, c in enumerate(order):
            on = (chrom == c).to_numpy()
            span = pos[on].max() - pos[on].min() if on.any() else 0.0
            x[on] = offset + pos[on] - pos[on].min()
            ax.scatter(x[on], logp[on], s=8, color=colors[i % len(colors)], linewidths=0)
            ticks.append(offset + span / 2)
            offset += span + max(span * 0.05, 1.0)
        ax.set_xticks(ticks)
        ax.set_xticklabels(order)
        ax.set_xlabel("chromosome")
    else:
        x = np.flatnonzero(keep).astype(float)
        ax.scatter(x, logp, s=8, color=colors[0], linewidths=0)
        ax.set_xlabel("SNP (row order)")
    if highlight is not None:
        on = data.index.isin(list(highlight))
        ax.scatter(x[on], logp[on], s=24, color="#c00000", zorder=3, label=highlight_label)
        if on.any():
            ax.legend(loc="upper right", frameon=False)
    for level, style in ((threshold, "-"), (suggestive, "--")):
        if level is not None:
            ax.axhline(-np.log10(level), color="grey", linestyle=style, linewidth=0.8)
    if annotate:
        for i in np.argsort(-logp)[:annotate]:
            # steep labels: neighbouring SNPs with equal p-values (LD) stay legible
            ax.annotate(str(data.index[i]), (x[i], logp[i]), textcoords="offset points",
                        xytext=(2, 3), fontsize=7, rotation=60, ha="left", va="bottom",
                        rotation_mode="anchor")
    ax.set_ylabel(f"-log10 {column}")
    ax.set_ylim(bottom=0)
    if annotate and len(logp):
        ax.set_ylim(top=ax.get_ylim()[1] * 1.15)  # room for the labels
    ax.set_title(title if title is not None else
                 f"{column}: lambda_GC = {genomic_inflation(p[keep]):.3f}")
    return fig


def qq_plot(frame, column="p_wald", *, ax=None, band=0.95, figsize=(4.5, 4.5), title=None):
    """
    QQ plot of ``-log10 p`` against its expectation under the null, with ``lambda_GC``.

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
            ax.fill_between(expected, lo, hi, color="0.85", linewidth=0)
        ax.scatter(expected, -np.log10(p), s=8, color="#1f4e79", linewidths=0)
        ax.plot([0, expected.max()], [0, expected.max()], color="grey", linewidth=0.8)
    lam = genomic_inflation(p)
    ax.text(0.05, 0.95, f"lambda_GC = {lam:.3f}", transform=ax.transAxes, va="top")
    ax.set_xlabel("expected -log10 p")
    ax.set_ylabel(f"observed -log10 {column if isinstance(frame, pd.DataFrame) else 'p'}")
    ax.set_title(title if title is not None else f"QQ plot ({m} SNPs)")
    return fig
