"""Plots that render Chinese names: a bundled CJK font, deterministic files, small multiples.

Every plot helper takes assesskit objects (a :class:`~assesskit.data.model.Dataset`, DataFrames) and
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
from matplotlib.ticker import MaxNLocator

from ..data.model import Dataset, normalise_period
from ..errors import DataError, Problem
from .safe import chart_text

#: File name of the CJK font used for Chinese text, inside ``mplfonts/fonts/``.
CJK_FONT_FILE = "NotoSansCJKsc-Regular.otf"

#: Salt for the ids matplotlib writes into SVG files, fixed so that SVG output is byte-identical.
SVG_HASH_SALT = "assesskit"

#: Label used for units whose ``group`` is empty.
NO_GROUP = "未分组 (no group)"

#: Label of the one group when the units of a level are not divided into groups.
ALL_UNITS = "全部 all units"

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
    >>> from assesskit.report.plotting import use_cjk_font
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


def main_level(dataset: Dataset) -> str:
    """The level a dataset is mostly about: the one with the most values reported (ties: the
    first in the units table).

    Examples
    --------
    >>> import assesskit
    >>> main_level(assesskit.datasets.load("sichuan-39"))
    'county'
    """
    v = dataset.values.dropna(subset=["value"]).merge(dataset.units[["unit", "level"]],
                                                      on="unit")
    counts = v.groupby("level", sort=False).size()
    order = list(dict.fromkeys(dataset.units["level"]))
    if counts.empty:
        return order[0]
    return max(order, key=lambda lv: (counts.get(lv, 0), -order.index(lv)))


def comparison_groups(dataset: Dataset, level: str) -> pd.Series:
    """The comparison group of each unit of a level, as charts and narratives show it.

    Returns
    -------
    Series
        Indexed like ``dataset.level_units(level)``: the ``group`` label, :data:`NO_GROUP` where
        it is empty; when the units fall in one group only, or their only label is a level name
        (a placeholder some datasets use for "no groups"), every unit gets :data:`ALL_UNITS`.
    """
    units = dataset.level_units(level)
    raw = units["group"].fillna("").astype(str) if "group" in units else pd.Series("", units.index)
    real = set(raw) - {""} - set(dataset.units["level"].astype(str))
    if len(set(raw)) <= 1 or not real:
        return pd.Series(ALL_UNITS, index=units.index, name="group")
    return raw.where(raw != "", NO_GROUP).rename("group")


def plot_indicators_by_group(
    dataset: Dataset,
    period: object,
    indicators: Iterable[str] | None = None,
    *,
    level: str | None = None,
    ncols: int = 3,
) -> Figure:
    """Small multiples: each indicator's values by comparison group, extremes named in Chinese.

    One panel per indicator. In each panel every unit of ``level`` is a dot beside the box plot
    of its group (分组, the comparison group of a grouped ranking; one box of all units when the
    level has no groups, see :func:`comparison_groups`); the best and the worst unit of each
    group (by the indicator's ``direction``) are labelled with their Chinese names, to the right
    of the box so that no line crosses a label (units tied at an extreme are all coloured; the
    first in table order is named, with the number tied: ``万源市等3个并列``). Units whose value
    is not reported are counted under the group's tick label (未报告), never dropped silently.
    An indicator whose reported values are all whole numbers (a count) gets whole-number ticks.

    Parameters
    ----------
    dataset : Dataset
        The data.
    period : int or str
        The period to plot, e.g. ``2025``.
    indicators : iterable of str, optional
        Indicator codes, in panel order. Default: the indicators of the level (see
        :func:`level_indicators`), in the order of the indicators table.
    level : str, optional
        Level of the units to plot (default :func:`main_level`).
    ncols : int
        Panels per row, at most (fewer when a level has many groups, so that each panel is
        about 1.45 inches per group wide and the figure about 16 inches).

    Returns
    -------
    matplotlib.figure.Figure
        Titled ``"<dataset> (<level>): indicators by comparison group, <period>"``; each panel is
        titled with the indicator's Chinese and English names and its y axis is labelled with the
        unit of measure and the direction.

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
    >>> from assesskit.report.plotting import plot_indicators_by_group, use_cjk_font
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
    level = level or main_level(dataset)
    units = dataset.level_units(level)
    codes = _indicator_codes(dataset, indicators, level)
    groups = comparison_groups(dataset, level)
    group_order = list(dict.fromkeys(groups))
    table = dataset.wide(p, units=units["unit"], indicators=codes)
    labels = units["name"].where(units["name"] != "", units["unit"]).to_numpy()
    info = dataset.indicators.set_index("indicator")

    # room for the names beside each group's box: wider panels, fewer per row, for many groups
    panel_width = max(5.0, 1.45 * len(group_order))
    ncols = max(1, min(ncols, int(16 // panel_width)))
    nrows = math.ceil(len(codes) / ncols)
    fig = Figure(figsize=(panel_width * ncols, 4.2 * nrows + 0.6), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax in axes[len(codes):]:
        fig.delaxes(ax)

    group_codes = np.array([group_order.index(g) for g in groups])
    for ax, code in zip(axes, codes, strict=False):
        _group_panel(ax, table[code].to_numpy(), group_codes, group_order, labels,
                     info.loc[code], p)

    grouped = group_order != [ALL_UNITS]
    fig.suptitle(
        f"{chart_text(dataset.name)} ({chart_text(level)}): "
        + (f"各指标按分组分布 indicators by comparison group, {p}" if grouped
           else f"各指标分布 indicators (one comparison group), {p}"),
        fontsize="x-large",
    )
    fig.supxlabel(
        f"Each dot is one unit of level {chart_text(level)}; box = quartiles and median of its "
        "group. Labelled: best (blue) and worst (orange) in each group, by the indicator's "
        "direction. 未报告 = not reported.",
        fontsize="small",
    )
    return fig


def level_indicators(dataset: Dataset, level: str) -> list[str]:
    """The indicators of a level: ``role`` ``"indicator"``, a value reported for a unit of the
    level in some period, and (if the indicators table has a ``level`` column) ``level`` equal
    to it or empty; in the order of the indicators table."""
    table = dataset.indicators
    keep = table["role"] == "indicator"
    if "level" in table.columns:  # indicators that apply to another level are not plotted
        keep &= table["level"].fillna("").astype(str).isin(["", level])
    units = set(dataset.units.loc[dataset.units["level"] == level, "unit"])
    values = dataset.values
    reported = set(values.loc[values["unit"].isin(units) & values["value"].notna(), "indicator"])
    keep &= table["indicator"].isin(reported)
    return table.loc[keep, "indicator"].tolist()


def _indicator_codes(dataset: Dataset, indicators: Iterable[str] | None, level: str) -> list[str]:
    """Indicator codes to plot, checked against the indicators table."""
    table = dataset.indicators
    known = table["indicator"].tolist()
    if indicators is None:
        codes = level_indicators(dataset, level)
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
        ticks.append(f"{chart_text(group)}\n(n={len(members)}"
                     + (f", 未报告 {n_missing})" if n_missing else ")"))
        if not reported.any():
            continue
        # The box sits left of the group's position and the dots over it, spread in table order
        # (deterministic, no random jitter); the names go to the right of the box, where no
        # box, whisker or cap line can cross them.
        x = (g - 0.14 + np.linspace(-0.14, 0.14, len(members)) if len(members) > 1
             else np.full(1, g - 0.14))
        ax.boxplot(vals[reported], positions=[g - 0.14], widths=0.36, showfliers=False,
                   manage_ticks=False, medianprops={"color": "0.2"}, boxprops={"color": "0.55"},
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
            ax.annotate(chart_text(text), (g + 0.08, value), fontsize=8, color=colour,
                        va="center", ha="left", zorder=5,
                        bbox={"boxstyle": "square,pad=0.05", "fc": "white", "ec": "none"})
    reported_values = values[~np.isnan(values)]
    if reported_values.size == 0:
        ax.text(0.5, 0.5, f"no values reported for {period}", transform=ax.transAxes,
                ha="center", va="center", color="0.4")
    elif np.all(reported_values == np.round(reported_values)):
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # counts: no tick at 0.25
        if np.ptp(reported_values) == 0:  # all equal: a whole-number window around the value
            ax.set_ylim(reported_values[0] - 1, reported_values[0] + 1)
    ax.set_xticks(range(len(group_order)), ticks, fontsize=8)
    ax.set_xlim(-0.45, len(group_order) - 0.2)
    name, name_en = info.get("name", ""), info.get("name_en", "")
    ax.set_title(chart_text("\n".join(t for t in (name, name_en) if t) or str(info.name)),
                 fontsize=10)
    grouped = group_order != [ALL_UNITS]
    ax.set_xlabel("分组 comparison group" if grouped else "一个比较组 one comparison group",
                  fontsize=9)
    unit = info.get("unit_of_measure", "")
    arrow = "↑ higher is better" if higher_is_better else "↓ lower is better"
    ax.set_ylabel(f"{chart_text(unit) or 'value (unit not given)'}   ({arrow})", fontsize=9)
    ax.grid(axis="y", color="0.9")
    ax.set_axisbelow(True)


# --------------------------------------------------------------------------------------------
# comparing weighting schemes: rank-shift slope chart, heatmap of weights
# --------------------------------------------------------------------------------------------

#: Colour of units whose rank moves under some scheme but whose outcome never changes.
MOVED_COLOUR = "0.35"


def ranked_within_groups(scores: pd.DataFrame, rank: str = "group_rank") -> bool:
    """Whether the ranks in column ``rank`` (one scheme, one level) are ranks within the
    ``group`` column: no rank exceeds its group's size. A level ranked as a whole gives every
    unit its rank over the level, whatever its group label says."""
    if scores.empty:
        return False
    size = scores.groupby("group", sort=False)[rank].transform("size")
    return bool((scores[rank].fillna(0) <= size).all())


def plot_rank_shift(comparison, group: str | None = None, *, level: str | None = None,
                    schemes: Iterable[str] | None = None) -> Figure:
    """Slope chart: each unit's rank within its group under every scheme, named in Chinese.

    One panel per comparison group (分组). Schemes are the columns (the baseline first); each
    unit is a line joining its group rank under each scheme, labelled with its Chinese name at
    both ends. A dot's colour shows the unit's outcome under that scheme (e.g. blue 通报表扬
    praised, vermilion 约谈 summoned); a unit whose outcome differs between schemes is drawn with
    a thick coloured line, one whose rank moves with a dark line, the others in light grey.

    Parameters
    ----------
    comparison : assesskit.analysis.compare.Comparison
        The result of :func:`assesskit.analysis.compare.compare`.
    group : str, optional
        One group to draw; default every group of the level, side by side.
    level : str, optional
        Assessed level; default the first level in the comparison.
    schemes : iterable of str, optional
        Schemes to show, in order; default all, the baseline first.

    Returns
    -------
    matplotlib.figure.Figure
        Titled ``"<level>: rank within group under each scheme (baseline ...)"``; each panel
        titled with its group; y axis "rank within group (1 = best)", inverted so the best is
        at the top; x axis the schemes.

    Raises
    ------
    DataError
        Unknown level, group or scheme (the message lists the known ones).

    Notes
    -----
    Units sharing a rank under a scheme share a label: ``甲、乙`` (ties are shown, not hidden).
    The ranks plotted are those each scheme publishes (``group_rank``), so they follow the
    scheme's tie rules. A level that ranks its units together (its group ranks are not ranks
    within the ``group`` column, see :func:`ranked_within_groups`) is one panel,
    :data:`ALL_UNITS`.
    """
    scores = comparison.scores
    levels = list(dict.fromkeys(scores["level"]))
    level = level or levels[0]
    if level not in levels:
        raise DataError(f"level {level!r} is not in the comparison; levels: {levels}")
    names = list(comparison.schemes if schemes is None else schemes)
    unknown = [s for s in names if s not in comparison.schemes]
    if unknown or not names:
        raise DataError(f"unknown scheme(s) {unknown}; the comparison has {comparison.schemes}")
    part = scores[(scores["level"] == level) & scores["scheme"].isin(names)]
    if not ranked_within_groups(part[part["scheme"] == names[0]]):
        # the level ranks all its units together: its group column is only a label
        part = part.assign(group=ALL_UNITS)
    base = part[part["scheme"] == names[0]]
    groups = list(dict.fromkeys(base["group"]))
    if group is not None:
        if group not in groups:
            raise DataError(f"no group {group!r} at level {level!r}; groups: {groups}")
        groups = [group]
    ranks = part.pivot_table(index="unit", columns="scheme", values="group_rank",
                             sort=False)[names]
    outcome = part.pivot_table(index="unit", columns="scheme", values="outcome",
                               aggfunc="first", sort=False)[names]
    info = base.set_index("unit")
    colours = _outcome_colours(part)

    width = 0.75 * len(names) + 2.8
    tallest = max(int((base["group"] == g).sum()) for g in groups)
    fig = Figure(figsize=(width * len(groups), 0.33 * tallest + 2.4), layout="constrained")
    axes = fig.subplots(1, len(groups), squeeze=False).ravel()
    x = np.arange(len(names))
    for ax, g in zip(axes, groups, strict=True):
        units = info.index[info["group"] == g]
        r = ranks.loc[units].to_numpy(dtype=float)
        o = outcome.loc[units].to_numpy(dtype=object)
        changed_outcome = (o != o[:, :1]).any(axis=1)
        moved = (r != r[:, :1]).any(axis=1)
        for i in range(len(units)):
            if changed_outcome[i]:
                style = {"color": colours.get(next(k for k in o[i] if k), MOVED_COLOUR),
                         "lw": 2.4, "zorder": 3}
            elif moved[i]:
                style = {"color": MOVED_COLOUR, "lw": 1.3, "zorder": 2}
            else:
                style = {"color": "0.8", "lw": 1.0, "zorder": 1}
            ax.plot(x, r[i], **style)
            dot = [colours.get(k, "white") for k in o[i]]
            ax.scatter(x, r[i], s=30, c=dot, edgecolors="0.3", linewidths=0.6, zorder=4)
        names_of = info.loc[units, "name"].where(info.loc[units, "name"] != "", units)
        for j, ha, dx in ((0, "right", -8), (len(names) - 1, "left", 8)):
            for rank, who in pd.Series(names_of.to_numpy()).groupby(r[:, j], sort=True):
                ax.annotate("、".join(who), (x[j], rank), xytext=(dx, 0),
                            textcoords="offset points", ha=ha, va="center", fontsize=8)
        n_units = len(units)
        ax.set_ylim(n_units + 0.6, 0.4)
        ax.set_yticks(range(1, n_units + 1))
        ax.set_xticks(x, names, rotation=30 if len(names) > 3 else 0, ha="center")
        ax.set_xlim(-1.2, len(names) + 0.2)  # room for the names at both ends
        all_groups = list(dict.fromkeys(base["group"]))
        shown = ALL_UNITS if len(all_groups) == 1 else (g or NO_GROUP)
        ax.set_title(f"{chart_text(shown)}（{n_units}）", fontsize=11)
        ax.set_xlabel("权重方案 weighting scheme")
        ax.set_ylabel("组内排名 rank within group (1 = best)")
        ax.grid(axis="y", color="0.93")
        ax.set_axisbelow(True)
    handles = [_legend_dot(colour, label) for label, colour in _outcome_legend(part, colours)]
    if handles:
        fig.legend(handles=handles, loc="outside lower center", ncols=len(handles),
                   frameon=False, fontsize=9)
    fig.suptitle(f"{level}: 组内排名变化 rank within group under each scheme "
                 f"(baseline {names[0]})", fontsize="large")
    return fig


def plot_scores(evaluation, level: str | None = None) -> Figure:
    """Scores of one level by group, best first, coloured by consequence: ``Evaluation.plot``.

    One panel per comparison group; a horizontal bar per unit labelled with its Chinese name,
    bars coloured by the unit's consequence (blue for the top lists, vermilion for the bottom
    one, grey for none) and the legend naming each consequence by the scheme's label.

    Parameters
    ----------
    evaluation : assesskit.engine.evaluation.Evaluation
    level : str, optional
        Assessed level (default the first).

    Returns
    -------
    matplotlib.figure.Figure
    """
    use_cjk_font()
    scores = evaluation.scores
    levels = list(dict.fromkeys(scores["level"]))
    level = level or levels[0]
    if level not in levels:
        raise DataError(f"level {level!r} is not in the evaluation; levels: {levels}")
    part = scores[scores["level"] == level].copy()
    part["outcome"] = part["outcome"].str.split("+").str[0]  # colour by the first consequence
    colours = _outcome_colours(part)
    groups = list(dict.fromkeys(part.sort_values("group")["group"]))
    tallest = max(int((part["group"] == g).sum()) for g in groups)
    cols = min(len(groups), 3)
    rows = math.ceil(len(groups) / cols)
    fig = Figure(figsize=(4.6 * cols, (0.22 * tallest + 1.4) * rows + 0.8), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, g in zip(axes, groups, strict=False):
        sub = part[part["group"] == g].sort_values(["group_rank", "unit"], ascending=[False, True])
        names = sub["name"].where(sub["name"] != "", sub["unit"])
        ax.barh(np.arange(len(sub)), sub["score"], color=[colours.get(o, "0.75")
                                                           for o in sub["outcome"]])
        ax.set_yticks(np.arange(len(sub)), names, fontsize=8)
        ax.set_title(f"{g or NO_GROUP}（{len(sub)}）", fontsize=11)
        ax.set_xlabel("得分 score (points)")
        ax.grid(axis="x", color="0.93")
        ax.set_axisbelow(True)
    for ax in axes[len(groups):]:
        ax.set_visible(False)
    handles = [_legend_dot(colour, label) for label, colour in _outcome_legend(part, colours)]
    if handles:
        fig.legend(handles=handles, loc="outside lower center", ncols=len(handles),
                   frameon=False, fontsize=9)
    fig.suptitle(f"{evaluation.scheme.name} — {level}, {evaluation.period}: 得分 scores by group",
                 fontsize="large")
    return fig


def plot_rank_trend(periods, level: str | None = None) -> Figure:
    """Each unit's group rank over the periods, one panel per group: ``PeriodEvaluations.plot``.

    Parameters
    ----------
    periods : assesskit.engine.evaluation.PeriodEvaluations
    level : str, optional
        Assessed level (default the first).

    Returns
    -------
    matplotlib.figure.Figure
        One line per unit labelled with its Chinese name at the last period; y axis the rank
        within the group (1 = best, at the top); x axis the periods.
    """
    use_cjk_font()
    scores = periods.scores
    levels = list(dict.fromkeys(scores["level"]))
    level = level or levels[0]
    if level not in levels:
        raise DataError(f"level {level!r} is not evaluated; levels: {levels}")
    part = scores[scores["level"] == level]
    order = list(periods.evaluations)
    groups = list(dict.fromkeys(part.sort_values("group")["group"]))
    cols = min(len(groups), 3)
    rows = math.ceil(len(groups) / cols)
    tallest = max(int(part[part["period"] == order[-1]]["group"].eq(g).sum()) for g in groups)
    fig = Figure(figsize=(4.8 * cols, (0.25 * tallest + 1.8) * rows + 0.6), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    x = np.arange(len(order))
    for ax, g in zip(axes, groups, strict=False):
        sub = part[part["group"] == g]
        wide = sub.pivot_table(index="unit", columns="period", values="group_rank")
        wide = wide.reindex(columns=order)
        names = sub.drop_duplicates("unit").set_index("unit")["name"]
        for unit, ranks in wide.iterrows():
            ax.plot(x, ranks.to_numpy(float), color="0.55", lw=1.0, marker="o", ms=3)
            last = ranks.dropna()
            if len(last):
                ax.annotate(names.get(unit, unit), (x[order.index(last.index[-1])], last.iloc[-1]),
                            xytext=(6, 0), textcoords="offset points", va="center", fontsize=7)
        ax.invert_yaxis()
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # ranks are whole places
        ax.set_xticks(x, order)
        ax.set_xlim(-0.3, len(order) - 0.2 + 0.8)
        ax.set_title(f"{g or NO_GROUP}（{len(wide)}）", fontsize=11)
        ax.set_xlabel("期间 period")
        ax.set_ylabel("组内排名 rank within group (1 = best)")
        ax.grid(axis="y", color="0.93")
    for ax in axes[len(groups):]:
        ax.set_visible(False)
    first = periods.evaluations[order[0]]
    fig.suptitle(f"{first.scheme.name} — {level}: 组内排名 rank within group, "
                 f"{order[0]}–{order[-1]}", fontsize="large")
    return fig


def _outcome_colours(part: pd.DataFrame) -> dict:
    """Consequence key -> colour: lists at the top of the ranking blue, at the bottom vermilion."""
    named = part[part["outcome"] != ""]
    mean_rank = named.groupby("outcome")["group_rank"].mean().sort_values()
    palette = [BEST_COLOUR, "#009E73", "#CC79A7", "#E69F00"]
    out = {}
    for i, key in enumerate(mean_rank.index):
        out[key] = WORST_COLOUR if i == len(mean_rank) - 1 and i > 0 else palette[i % 4]
    return out


def _outcome_legend(part: pd.DataFrame, colours: dict) -> list[tuple[str, str]]:
    labels = part[part["outcome"] != ""].groupby("outcome")["outcome_label"].first()
    return [(f"{labels[k]} ({k})", colours[k]) for k in colours]


def _legend_dot(colour: str, label: str):
    from matplotlib.lines import Line2D

    return Line2D([], [], marker="o", linestyle="", markerfacecolor=colour,
                  markeredgecolor="0.3", markersize=7, label=label)


def plot_weights_heatmap(weights: pd.DataFrame, *, labels: Mapping | None = None,
                         title: str | None = None) -> Figure:
    """Heatmap of indicator weights by weighting method, with each cell's value in per cent.

    Parameters
    ----------
    weights : DataFrame
        Either wide — indicators (rows) × methods (columns), each column a weight vector, e.g.
        :meth:`assesskit.analysis.compare.Comparison.weight_matrix` — or tidy with columns ``node``,
        ``scheme`` and ``weight`` (and optionally ``label``), e.g. ``Comparison.weights`` for one
        level. Missing cells are shown blank.
    labels : mapping, optional
        Row key → display name (the Chinese name). Default: ``weights.attrs["labels"]`` or the
        ``label`` column if present; rows are shown as ``"<name> (<key>)"``.
    title : str, optional
        Default ``"各方法的指标权重 indicator weights by method"``.

    Returns
    -------
    matplotlib.figure.Figure
        Cells coloured by weight (sequential blues) and annotated with the weight in %; colour
        bar "weight (% of the total score)"; x axis the methods, y axis the indicators.

    Raises
    ------
    DataError
        If the frame is empty, has non-numeric weights, or a negative weight.
    """
    frame = weights
    if {"node", "scheme", "weight"} <= set(frame.columns):
        if "level" in frame.columns and frame["level"].nunique() > 1:
            raise DataError("the weights cover several levels "
                            f"{list(dict.fromkeys(frame['level']))}; select one level")
        if labels is None and "label" in frame.columns:
            labels = dict(zip(frame["node"], frame["label"], strict=True))
        frame = frame.pivot_table(index="node", columns="scheme", values="weight", sort=False)
        frame = frame[list(dict.fromkeys(weights["scheme"]))]
    if labels is None:
        labels = weights.attrs.get("labels")
    if frame.empty:
        raise DataError("no weights to plot: the frame is empty")
    problems = [Problem("weights must be numbers", column=str(c)) for c in frame.columns
                if not pd.api.types.is_numeric_dtype(frame[c])]
    if problems:
        raise DataError(problems, title="cannot plot the weights")
    values = frame.to_numpy(dtype=float)
    if (values < 0).any():
        raise DataError("weights must be non-negative; got "
                        f"{float(np.nanmin(values)):g}")
    rows = [f"{labels[k]} ({k})" if labels and k in labels and labels[k] != k else str(k)
            for k in frame.index]
    n, m = values.shape
    fig = Figure(figsize=(2.6 + 1.05 * m + 0.12 * max(len(r) for r in rows),
                          1.6 + 0.42 * n), layout="constrained")
    ax = fig.subplots()
    pct = values * 100
    image = _annotated_heatmap(ax, np.ma.masked_invalid(pct), pct,
                               vmax=float(np.nanmax(pct)) if np.isfinite(pct).any() else 1.0,
                               columns=frame.columns, rows=rows, fmt="{:.1f}", fontsize=8,
                               row_fontsize=9, rotate_above=4)
    ax.set_xlabel("权重方法 weighting method")
    ax.set_ylabel("指标 indicator")
    fig.colorbar(image, ax=ax, label="weight (% of the total score)", shrink=0.8)
    ax.set_title(title or "各方法的指标权重 indicator weights by method (%)")
    return fig


# --------------------------------------------------------------------------------------------
# uncertainty of rankings: nominal vs median rank with intervals, Sobol' indices
# --------------------------------------------------------------------------------------------

#: Colour of units with no consequence in the official ranking.
NEUTRAL_COLOUR = "0.45"


def plot_rank_uncertainty(result, group: str | None = None, *, praised=None, summoned=None,
                          title: str | None = None) -> Figure:
    """JRC-style chart of rank uncertainty: nominal rank, median rank and 5–95% interval.

    One panel per official comparison group (分组). Units are listed by their official rank
    (best at the top) under their Chinese names; for each, a bar spans the 5th to 95th
    percentile of its rank within the group over the runs of an uncertainty analysis, a dot marks
    the median rank and a diamond the official (nominal) rank. Colours give the official outcome:
    blue praised (e.g. 通报表扬), vermilion summoned (e.g. 约谈), grey neither; the share of runs
    in which the unit is praised / summoned is printed at the right.

    Parameters
    ----------
    result : assesskit.analysis.uncertainty.Uncertainty or DataFrame
        The result of :func:`assesskit.analysis.uncertainty.uncertainty`, or its ``ranks`` table.
    group : str or list of str, optional
        The group(s) to draw; default every group, side by side. A level that ranks its units
        together (official ranks beyond a group's size, see :func:`ranked_within_groups`) has
        one group, :data:`ALL_UNITS`.
    praised, summoned : list of str, optional
        Consequence keys shown as praised / summoned; default those of ``result`` (for a table:
        ``["praised"]`` and ``["summoned"]``).
    title : str, optional
        Figure title; default ``"排名的不确定性 rank uncertainty ..."`` with the number of runs.

    Returns
    -------
    matplotlib.figure.Figure
        x axis "rank within group (1 = best)", y axis the units.

    Raises
    ------
    DataError
        If the table lacks a column the chart needs, or ``group`` is unknown.
    """
    ranks = getattr(result, "ranks", result)
    runs = len(result.draws) if hasattr(result, "draws") else None
    praised = list(praised if praised is not None else getattr(result, "praised", ["praised"]))
    summoned = list(summoned if summoned is not None
                    else getattr(result, "summoned", ["summoned"]))
    top_label, bottom_label = _list_labels(result, praised, summoned)
    need = ["unit", "name", "group", "nominal_rank", "median_rank", "q05", "q95",
            "nominal_outcome", "p_praised", "p_summoned"]
    lacking = [c for c in need if c not in ranks.columns]
    if lacking:
        raise DataError([Problem("column missing; pass Uncertainty.ranks", column=c)
                         for c in lacking], title="cannot plot rank uncertainty")
    if not ranked_within_groups(ranks, "nominal_rank"):
        ranks = ranks.assign(group=ALL_UNITS)  # ranked together: the group is only a label
    groups = list(dict.fromkeys(ranks["group"]))
    if group is not None:
        wanted = [group] if isinstance(group, str) else list(group)
        unknown = [g for g in wanted if g not in groups]
        if unknown or not wanted:
            raise DataError(f"no group {unknown or wanted!r}; groups: {groups}")
        groups = wanted
    tallest = max(int((ranks["group"] == g).sum()) for g in groups)
    fig = Figure(figsize=(max(5.2 * len(groups), 10.0), 0.34 * tallest + 2.6),
                 layout="constrained")
    axes = fig.subplots(1, len(groups), squeeze=False).ravel()
    for ax, g in zip(axes, groups, strict=True):
        part = ranks[ranks["group"] == g].sort_values(["nominal_rank", "unit"], kind="mergesort")
        y = np.arange(len(part))
        colour = np.where(part["nominal_outcome"].isin(praised), BEST_COLOUR,
                          np.where(part["nominal_outcome"].isin(summoned), WORST_COLOUR,
                                   NEUTRAL_COLOUR))
        ax.hlines(y, part["q05"], part["q95"], colors=colour, lw=3.2, alpha=0.45, zorder=2)
        ax.scatter(part["median_rank"], y, s=34, c=colour, zorder=3)
        ax.scatter(part["nominal_rank"], y, s=46, marker="D", facecolors="none",
                   edgecolors="0.1", linewidths=1.0, zorder=4)
        names = part["name"].where(part["name"] != "", part["unit"])
        ax.set_yticks(y, names, fontsize=9)
        ax.set_ylim(len(part) - 0.5, -0.5)
        size = len(part)
        ax.set_xlim(0.3, size + 0.7 + 0.22 * size)
        ax.set_xticks(range(1, size + 1, max(1, size // 10)))
        for yi, (pp, ps) in enumerate(zip(part["p_praised"], part["p_summoned"], strict=True)):
            text = " ".join(t for t in (f"{top_label} {pp:.0%}" if pp > 0 else "",
                                        f"{bottom_label} {ps:.0%}" if ps > 0 else "") if t)
            ax.annotate(chart_text(text), (size + 0.8, yi), va="center", fontsize=7.5,
                        color="0.25")
        shown = g or NO_GROUP
        ax.set_title(f"{chart_text(shown)}（{size}）", fontsize=11)
        ax.set_xlabel("组内排名 rank within group (1 = best)")
        ax.set_ylabel("按正式排名 units by official rank")
        ax.grid(axis="x", color="0.92")
        ax.set_axisbelow(True)
    from matplotlib.lines import Line2D

    handles = [
        Line2D([], [], marker="D", linestyle="", markerfacecolor="none", markeredgecolor="0.1",
               label="正式排名 nominal rank"),
        Line2D([], [], marker="o", linestyle="", color="0.3", label="中位排名 median rank"),
        Line2D([], [], color="0.3", lw=3.2, alpha=0.45, label="5–95% 区间 interval"),
    ]
    if top_label:
        handles.append(_legend_dot(BEST_COLOUR, f"正式结果 officially: {chart_text(top_label)}"))
    if bottom_label:
        handles.append(_legend_dot(WORST_COLOUR,
                                   f"正式结果 officially: {chart_text(bottom_label)}"))
    fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 3),
               frameon=False,
               fontsize=9)
    runs_text = f", {runs} runs" if runs else ""
    lists = " / ".join(chart_text(t) for t in (top_label, bottom_label) if t)
    fig.suptitle(title or f"排名的不确定性 rank uncertainty: nominal vs median rank with 5–95% "
                          f"interval{runs_text}"
                          + (f";\nright: share of runs on each list ({lists})" if lists else ""),
                 fontsize="large")
    return fig


def _list_labels(result, praised: list, summoned: list) -> tuple[str, str]:
    """The labels of the top and bottom lists of an uncertainty result ("" for none): the
    scheme's consequence labels, joined with ``/`` when several keys count."""
    scheme, level = getattr(result, "scheme", None), getattr(result, "level", None)
    blocks = {}
    if scheme is not None and level in getattr(scheme, "levels", {}):
        blocks = scheme.levels[level].consequences or {}

    def label(keys):
        return "/".join(str(blocks[k].get("label") or k) if isinstance(blocks.get(k), Mapping)
                        else str(k) for k in keys)

    return label(praised), label(summoned)


def plot_sobol(indices: pd.DataFrame, outputs: Iterable[str] | None = None, *,
               labels: Mapping | None = None, title: str | None = None) -> Figure:
    """Bar chart of first-order and total Sobol' indices per factor, with confidence intervals.

    Parameters
    ----------
    indices : DataFrame
        :meth:`assesskit.analysis.uncertainty.Uncertainty.sobol` or
        :func:`assesskit.analysis.sensitivity.analyse` output (``output``, ``factor``, ``S1``,
        ``S1_lo``, ``S1_hi``, ``ST``, ``ST_lo``, ``ST_hi``).
    outputs : iterable of str, optional
        Outputs to draw, one panel each; default ``mean_abs_rank_shift`` and
        ``outcome_changes`` when present, else the first output.
    labels : mapping, optional
        Output -> panel title; default readable titles for the two summary outputs.
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        Horizontal bars per factor: first-order index S1 (the share of the output's variance
        due to the factor alone) and total index ST (alone and in interaction), with
        bootstrap intervals; x axis "Sobol' index (share of variance)". Rows that
        :func:`assesskit.analysis.sensitivity.readability` flags (column ``readable``) are
        hatched, their panel's title says the sample is too small, and a note under the chart
        says why; values beyond [-0.25, 1.25] are cut at the edge.

    Raises
    ------
    DataError
        If a column or an output is missing.
    """
    need = ["output", "factor", "S1", "S1_lo", "S1_hi", "ST", "ST_lo", "ST_hi"]
    lacking = [c for c in need if c not in indices.columns]
    if lacking:
        raise DataError([Problem("column missing; pass Uncertainty.sobol()", column=c)
                         for c in lacking], title="cannot plot Sobol' indices")
    known = list(dict.fromkeys(indices["output"]))
    if outputs is None:
        outputs = [o for o in ("mean_abs_rank_shift", "outcome_changes") if o in known] \
            or known[:1]
    outputs = list(outputs)
    unknown = [o for o in outputs if o not in known]
    if unknown:
        raise DataError(f"unknown output(s) {unknown}; outputs: {known[:10]}"
                        f"{'...' if len(known) > 10 else ''}")
    default_titles = {
        "mean_abs_rank_shift": "平均排名变动 mean absolute rank shift",
        "outcome_changes": "名单变动 names entering or leaving the lists",
    }
    titles = {**default_titles, **(labels or {})}
    factors = list(dict.fromkeys(indices["factor"]))
    fig = Figure(figsize=(4.6 * len(outputs) + 0.8, 0.55 * len(factors) + 2.2),
                 layout="constrained")
    axes = fig.subplots(1, len(outputs), squeeze=False, sharey=True).ravel()
    y = np.arange(len(factors))
    # A share of variance lies in [0, 1]; estimates and intervals far outside (a sample too
    # small) are drawn cut at the edge of this window, and the panel says so.
    low_edge, high_edge = -0.25, 1.25
    any_unreadable = False
    for ax, out in zip(axes, outputs, strict=True):
        part = indices[indices["output"] == out].set_index("factor").reindex(factors)
        readable = (part["readable"].fillna(True).to_numpy(bool) if "readable" in part
                    else np.ones(len(factors), bool))
        for shift, key, colour, label in ((-0.2, "S1", "#56B4E9", "一阶 first-order S1"),
                                          (0.2, "ST", "#0072B2", "总效应 total ST")):
            value = np.clip(part[key].to_numpy(float), low_edge, high_edge)
            lo = np.clip(value - np.clip(part[f"{key}_lo"].to_numpy(float), low_edge, high_edge),
                         0, None)
            hi = np.clip(np.clip(part[f"{key}_hi"].to_numpy(float), low_edge, high_edge)
                         - value, 0, None)
            err = None if np.isnan(lo).all() else np.nan_to_num(np.vstack([lo, hi]))
            ax.barh(y + shift, value, height=0.38, color=colour, xerr=err,
                    hatch=[None if ok else "///" for ok in readable], edgecolor="white",
                    error_kw={"ecolor": "0.3", "capsize": 2, "lw": 0.8}, label=label)
        ax.axvline(0, color="0.3", lw=0.8)
        ax.axvline(1, color="0.6", lw=0.6, ls=":")
        ax.set_yticks(y, factors)
        ax.set_ylim(len(factors) - 0.5, -0.5)
        spread = part[["S1_lo", "ST_lo", "S1_hi", "ST_hi", "S1", "ST"]].to_numpy(float)
        ax.set_xlim(max(low_edge, min(-0.05, float(np.nanmin(spread)) - 0.02)),
                    min(high_edge, max(1.0, float(np.nanmax(spread)) + 0.02)) + 0.02)
        heading = titles.get(out, str(out))
        if not readable.all():
            any_unreadable = True
            heading += "\n样本太小 sample too small to read the hatched bars"
        ax.set_title(heading, fontsize=11, color="0.1" if readable.all() else WORST_COLOUR)
        ax.set_xlabel("Sobol' 指数 index (share of variance)")
        ax.set_ylabel("设计选择 design choice (factor)")
        ax.grid(axis="x", color="0.92")
        ax.set_axisbelow(True)
    handles, names = axes[0].get_legend_handles_labels()
    fig.legend(handles, names, loc="outside lower center", ncols=2, frameon=False, fontsize=9)
    heading = title or ("敏感性分析 sensitivity: which design choice drives the results "
                        "(bars: 95% bootstrap intervals)")
    if any_unreadable:
        heading += (f"\nHatched: an estimate outside [0, 1] or an interval wider than "
                    f"{indices.attrs.get('max_width', 0.3):g} (values beyond "
                    f"[{low_edge:g}, {high_edge:g}] are cut at the edge): run more draws")
    fig.suptitle(heading, fontsize="large", color=WORST_COLOUR if any_unreadable else "black")
    return fig


def plot_unit_sensitivity(indices: pd.DataFrame, units: Iterable[str] | None = None, *,
                          min_variance: float = 0.05, title: str | None = None) -> Figure:
    """Heatmap of each unit's total Sobol' index per factor: which choice decides its outcome.

    Parameters
    ----------
    indices : DataFrame
        :meth:`assesskit.analysis.uncertainty.Uncertainty.sobol` output (with ``name``).
    units : iterable of str, optional
        Unit ids (outputs) to show; default every unit whose outcome variance is at least
        ``min_variance``.
    min_variance : float
        Default selection threshold. An outcome that changes in a handful of runs has a tiny
        variance and very noisy indices; 0.05 keeps a unit praised (or summoned) in 5.3% to
        94.7% of the runs (variance ``p (1 - p)`` of a 0/1 outcome).
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        Rows the units (Chinese names), columns the factors, cells the total index ST of the
        unit's outcome (praised +1 / summoned -1 / neither 0), annotated; colours clipped to
        [0, 1] (estimates can stray outside by sampling error).

    Raises
    ------
    DataError
        If no unit's outcome varies, or columns are missing.
    """
    need = ["output", "factor", "ST", "variance"]
    lacking = [c for c in need if c not in indices.columns]
    if lacking:
        raise DataError([Problem("column missing; pass Uncertainty.sobol()", column=c)
                         for c in lacking], title="cannot plot unit sensitivity")
    summaries = {"mean_abs_rank_shift", "outcome_changes"}
    frame = indices[~indices["output"].isin(summaries)]
    if units is None:
        keep = frame.groupby("output", sort=False)["variance"].first()
        units = keep.index[keep >= min_variance].tolist()
    units = list(units)
    if not units:
        raise DataError(f"no unit's outcome has a variance of at least {min_variance} over the "
                        "runs: nothing to decompose (lower min_variance or name the units)")
    frame = frame[frame["output"].isin(units)]
    table = frame.pivot_table(index="output", columns="factor", values="ST", sort=False)
    table = table.reindex(units)
    names = frame.groupby("output", sort=False)["name"].first() if "name" in frame.columns \
        else pd.Series(table.index, index=table.index)
    rows = [f"{names.get(u, u)}" for u in table.index]
    values = table.to_numpy(float)
    n, m = values.shape
    fig = Figure(figsize=(2.4 + 1.0 * m, 1.5 + 0.3 * n), layout="constrained")
    ax = fig.subplots()
    image = _annotated_heatmap(ax, np.clip(values, 0, 1), values, vmax=1.0, columns=table.columns,
                               rows=rows, fmt="{:.2f}", fontsize=7.5, row_fontsize=8.5,
                               rotate_above=3)
    ax.set_xlabel("设计选择 design choice (factor)")
    ax.set_ylabel("结果不确定的单位 units with an uncertain outcome")
    fig.colorbar(image, ax=ax, label="total Sobol' index ST of the outcome", shrink=0.8)
    ax.set_title(title or "各单位结果的敏感性 which choice decides each unit's outcome")
    return fig


def _annotated_heatmap(ax, shown, text_values, *, vmax, columns, rows, fmt, fontsize,
                       row_fontsize, rotate_above):
    """Draw ``shown`` as a blue heatmap on ``ax`` with each cell's value written in it.

    Text is white on cells darker than 60% of ``vmax`` so it stays readable; missing cells stay
    blank. Column labels are turned when there are more than ``rotate_above`` columns.
    Returns the image, for a colour bar.
    """
    n, m = text_values.shape
    image = ax.imshow(shown, cmap="Blues", aspect="auto", vmin=0, vmax=vmax)
    for i, j in zip(*np.nonzero(np.isfinite(text_values)), strict=True):
        v = text_values[i, j]
        ax.text(j, i, fmt.format(v), ha="center", va="center", fontsize=fontsize,
                color="white" if v > 0.6 * vmax else "0.15")
    ax.set_xticks(range(m), [str(c) for c in columns], rotation=30 if m > rotate_above else 0)
    ax.set_yticks(range(n), rows, fontsize=row_fontsize)
    return image
