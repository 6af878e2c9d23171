"""Plots that render Chinese names: a bundled CJK font, deterministic files, small multiples.

Every plot helper takes assesskit objects (a :class:`~assesskit.dataset.Dataset`, DataFrames) and
returns a :class:`matplotlib.figure.Figure` built without :mod:`matplotlib.pyplot`, so no global
figure state is created and a notebook shows each figure once. Every plot has a title, axis
labels and the indicator's unit of measure.

Fonts
-----
A fresh machine usually has no font with Chinese glyphs, and matplotlib then draws county names
as empty boxes (with a "Glyph ... missing from font(s)" warning). :func:`use_cjk_font` registers
Noto Sans CJK SC, which the ``mplfonts`` dependency ships inside its package, with matplotlib's
font manager and makes it the first sans-serif font. Nothing is written to matplotlib's install
directory or to the user's matplotlib configuration.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib import font_manager
from matplotlib.figure import Figure

from .dataset import Dataset, normalise_period
from .errors import DataError, Problem

#: File name of the CJK font used for Chinese text, inside ``mplfonts/fonts/``.
CJK_FONT_FILE = "NotoSansCJKsc-Regular.otf"

#: Salt for the ids matplotlib writes into SVG files, fixed so that SVG output is byte-identical.
SVG_HASH_SALT = "assesskit"

#: Label used for units whose ``group`` is empty.
NO_GROUP = "未分组 (no group)"

# Colours of the annotated extremes (colour-blind safe pair: blue / vermilion).
BEST_COLOUR = "#0072B2"
WORST_COLOUR = "#D55E00"


def cjk_font_path() -> Path:
    """Path of the Noto Sans CJK SC font file shipped by the ``mplfonts`` package.

    Returns
    -------
    pathlib.Path
        ``<site-packages>/mplfonts/fonts/NotoSansCJKsc-Regular.otf``.

    Raises
    ------
    FileNotFoundError
        If ``mplfonts`` is installed without the font file (reinstall it:
        ``pip install --force-reinstall mplfonts``).
    """
    import mplfonts  # a declared dependency; imported here so plotting imports stay light

    path = Path(mplfonts.__file__).resolve().parent / "fonts" / CJK_FONT_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"the CJK font {CJK_FONT_FILE} is missing from the mplfonts package ({path}); "
            "reinstall it with `pip install --force-reinstall mplfonts`"
        )
    return path


def use_cjk_font() -> str:
    """Make matplotlib render Chinese text with the bundled Noto Sans CJK SC font.

    Registers the font file from :func:`cjk_font_path` with matplotlib's font manager (once; calling
    again changes nothing), puts it first in ``font.sans-serif``, selects the sans-serif family,
    draws the minus sign as an ASCII hyphen (``axes.unicode_minus=False``, since the CJK font's
    Unicode minus is a full-width glyph) and makes saved files deterministic.

    Returns
    -------
    str
        The font's family name, ``"Noto Sans CJK SC"``.

    Raises
    ------
    FileNotFoundError
        If the font file is missing (see :func:`cjk_font_path`).

    Notes
    -----
    Deterministic output: ``svg.hashsalt`` is set to :data:`SVG_HASH_SALT`, so the clip-path and
    glyph ids in an SVG no longer come from a random UUID; and ``SOURCE_DATE_EPOCH`` is set to
    ``"0"`` in the process environment *unless already set*, which is how matplotlib's SVG and PDF
    writers are told not to stamp the current date (the reproducible-builds convention). PNG files
    carry no date. :func:`save_figure` omits dates explicitly.

    Examples
    --------
    >>> from assesskit.plotting import use_cjk_font
    >>> use_cjk_font()
    'Noto Sans CJK SC'
    """
    path = cjk_font_path()
    manager = font_manager.fontManager
    if not any(Path(entry.fname) == path for entry in manager.ttflist):
        manager.addfont(str(path))  # also clears findfont's cache
    name = font_manager.FontProperties(fname=str(path)).get_name()

    sans = [name] + [f for f in mpl.rcParams["font.sans-serif"] if f != name]
    mpl.rcParams["font.family"] = ["sans-serif"]
    mpl.rcParams["font.sans-serif"] = sans
    mpl.rcParams["axes.unicode_minus"] = False
    mpl.rcParams["svg.hashsalt"] = SVG_HASH_SALT
    os.environ.setdefault("SOURCE_DATE_EPOCH", "0")
    return name


def save_figure(fig: Figure, path: str | Path, **kwargs) -> Path:
    """Save a figure with no creation date in its metadata, so the file is byte-reproducible.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure.
    path : str or pathlib.Path
        Output file; the suffix (``.png``, ``.svg``, ``.pdf``) chooses the format.
    **kwargs
        Passed to :meth:`matplotlib.figure.Figure.savefig` (e.g. ``dpi``).

    Returns
    -------
    pathlib.Path
        The path written.

    Notes
    -----
    SVG output also needs a fixed ``svg.hashsalt``, which :func:`use_cjk_font` sets.
    """
    path = Path(path)
    fmt = kwargs.get("format") or path.suffix.lstrip(".").lower()
    no_date = {"svg": {"Date": None}, "pdf": {"CreationDate": None, "ModDate": None}}
    metadata = {**no_date.get(fmt, {}), **kwargs.pop("metadata", {})}
    if metadata:
        kwargs["metadata"] = metadata
    fig.savefig(path, **kwargs)
    return path


def plot_indicators_by_group(
    dataset: Dataset,
    period: object,
    indicators: Iterable[str] | None = None,
    *,
    level: str = "county",
    ncols: int = 3,
) -> Figure:
    """Small multiples: each indicator's values by regional group, extremes named in Chinese.

    One panel per indicator. In each panel every unit of ``level`` is a dot above its group
    (分组, the comparison group of a grouped ranking), over a box plot of the group; the best and
    the worst unit of each group (by the indicator's ``direction``) are labelled with their Chinese
    names (units tied at an extreme are all coloured; the first in table order is named, with
    the number tied: ``万源市等3个并列``). Units whose value is not reported are counted under
    the group's tick label (未报告), never dropped silently.

    Parameters
    ----------
    dataset : Dataset
        The data.
    period : int or str
        The period to plot, e.g. ``2025``.
    indicators : iterable of str, optional
        Indicator codes, in panel order. Default: every indicator whose ``role`` is
        ``"indicator"`` (scorable) and, if the indicators table has a ``level`` column, whose
        ``level`` is ``level`` or empty; in the order of the indicators table.
    level : str
        Level of the units to plot (default ``"county"``).
    ncols : int
        Panels per row.

    Returns
    -------
    matplotlib.figure.Figure
        Titled ``"<dataset>: indicators by regional group, <period>"``; each panel is titled with
        the indicator's Chinese and English names and its y axis is labelled with the unit of
        measure.

    Raises
    ------
    DataError
        If the period is not in the dataset (the message lists the periods present), if an
        indicator code is unknown (every unknown code is listed), if no unit has ``level``, or if
        no indicator is left to plot.

    Notes
    -----
    Dots are spread horizontally in the order of the units table (no random jitter), so the
    figure is the same on every run. Box plots show the median, the quartiles and whiskers at
    1.5 × the interquartile range of the values reported in the group.

    Examples
    --------
    >>> import assesskit
    >>> from assesskit.plotting import plot_indicators_by_group, use_cjk_font
    >>> use_cjk_font()  # doctest: +SKIP
    >>> ds = assesskit.datasets.load("sichuan-39")  # doctest: +SKIP
    >>> fig = plot_indicators_by_group(ds, ds.periods[-1])  # doctest: +SKIP
    """
    p = normalise_period(period)
    if p not in dataset.periods:
        raise DataError(
            f"period {p!r} is not in dataset {dataset.name!r}; periods present: "
            f"{', '.join(dataset.periods) or '(none)'}"
        )
    codes = _indicator_codes(dataset, indicators, level)
    units = dataset.level_units(level)
    groups = units["group"].where(units["group"] != "", NO_GROUP)
    group_order = list(dict.fromkeys(groups))
    table = dataset.wide(p, units=units["unit"], indicators=codes)
    labels = units["name"].where(units["name"] != "", units["unit"]).to_numpy()
    info = dataset.indicators.set_index("indicator")

    nrows = math.ceil(len(codes) / ncols)
    fig = Figure(figsize=(5.0 * ncols, 4.2 * nrows + 0.6), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax in axes[len(codes):]:
        fig.delaxes(ax)

    group_codes = np.array([group_order.index(g) for g in groups])
    for ax, code in zip(axes, codes, strict=False):
        _group_panel(ax, table[code].to_numpy(), group_codes, group_order, labels,
                     info.loc[code], p)

    fig.suptitle(
        f"{dataset.name}: 各指标按区域分组分布 indicators by regional group, {p}",
        fontsize="x-large",
    )
    fig.supxlabel(
        f"Each dot is one {level}; box = quartiles and median of its group. Labelled: best "
        "(blue) and worst (orange) in each group, by the indicator's direction. "
        "未报告 = not reported.",
        fontsize="small",
    )
    return fig


def _indicator_codes(dataset: Dataset, indicators: Iterable[str] | None, level: str) -> list[str]:
    """Indicator codes to plot, checked against the indicators table."""
    table = dataset.indicators
    known = table["indicator"].tolist()
    if indicators is None:
        keep = table["role"] == "indicator"
        if "level" in table.columns:  # indicators that apply to another level are not plotted
            keep &= table["level"].fillna("").astype(str).isin(["", level])
        codes = table.loc[keep, "indicator"].tolist()
    else:
        codes = [str(c) for c in ([indicators] if isinstance(indicators, str) else indicators)]
        unknown = [c for c in codes if c not in known]
        if unknown:
            raise DataError(
                [Problem(f"unknown indicator code; codes in dataset {dataset.name!r}: "
                         f"{', '.join(known)}", file="indicators", column="indicator", value=c)
                 for c in unknown],
                title="cannot plot indicators",
            )
    if not codes:
        raise DataError(f"no scorable indicator of level {level!r} to plot in dataset "
                        f"{dataset.name!r}; name the indicators to plot")
    return codes


def _group_panel(ax, values: np.ndarray, group_codes: np.ndarray, group_order: list[str],
                 labels: np.ndarray, info: pd.Series | Mapping, period: str) -> None:
    """Draw one indicator's dots, boxes and extreme labels by group on ``ax``."""
    higher_is_better = info["direction"] != "lower"
    ticks = []
    for g, group in enumerate(group_order):
        members = np.flatnonzero(group_codes == g)
        vals = values[members]
        reported = ~np.isnan(vals)
        n_missing = int((~reported).sum())
        ticks.append(f"{group}\n(n={len(members)}"
                     + (f", 未报告 {n_missing})" if n_missing else ")"))
        if not reported.any():
            continue
        # Spread the dots across the box in table order: deterministic, no random jitter.
        x = g + np.linspace(-0.22, 0.22, len(members)) if len(members) > 1 else np.full(1, g)
        ax.boxplot(vals[reported], positions=[g], widths=0.6, showfliers=False, manage_ticks=False,
                   medianprops={"color": "0.2"}, boxprops={"color": "0.55"},
                   whiskerprops={"color": "0.55"}, capprops={"color": "0.55"})
        rx, rv, names = x[reported], vals[reported], labels[members[reported]]
        ax.scatter(rx, rv, s=16, color="0.35", zorder=3)
        top, bottom = rv.max(), rv.min()
        best, worst = (top, bottom) if higher_is_better else (bottom, top)
        extremes = [(best, BEST_COLOUR)] + ([(worst, WORST_COLOUR)] if top != bottom else [])
        for value, colour in extremes:
            # Ties are common (e.g. many counties at 100 %): colour them all, name the first in
            # table order and say how many share the value (并列 = tied).
            tied = np.flatnonzero(rv == value)
            first = tied[0]
            text = names[first] if len(tied) == 1 else f"{names[first]}等{len(tied)}个并列"
            ax.scatter(rx[tied], rv[tied], s=28, color=colour, zorder=4)
            ax.annotate(text, (rx[first], value), xytext=(5, 0), textcoords="offset points",
                        fontsize=8, color=colour, va="center", zorder=5,
                        bbox={"boxstyle": "square,pad=0.05", "fc": "white", "ec": "none",
                              "alpha": 0.8})
    if np.isnan(values).all():
        ax.text(0.5, 0.5, f"no values reported for {period}", transform=ax.transAxes,
                ha="center", va="center", color="0.4")
    ax.set_xticks(range(len(group_order)), ticks, fontsize=8)
    ax.set_xlim(-0.6, len(group_order) - 0.4)
    name, name_en = info.get("name", ""), info.get("name_en", "")
    ax.set_title("\n".join(t for t in (name, name_en) if t) or str(info.name), fontsize=10)
    ax.set_xlabel("区域分组 regional group", fontsize=9)
    unit = info.get("unit_of_measure", "")
    arrow = "↑ higher is better" if higher_is_better else "↓ lower is better"
    ax.set_ylabel(f"{unit or 'value (unit not given)'}   ({arrow})", fontsize=9)
    ax.grid(axis="y", color="0.9")
    ax.set_axisbelow(True)
