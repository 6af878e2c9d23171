"""Charts of the report pages: results by group, points lost (waterfall), a unit's trend.

Like :mod:`assesskit.report.plotting`, every function returns a :class:`matplotlib.figure.Figure`
built without pyplot, with a title, axis labels and units, and fixed margins rather than a layout
engine (a report set draws hundreds of charts; save them with ``bbox_inches="tight"``, as
:func:`assesskit.report.render.figure` does); call
:func:`~assesskit.report.plotting.use_cjk_font` first so Chinese names render. Names from data
pass through :func:`~assesskit.report.safe.chart_text` (a ``$`` is never read as mathtext).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from .plotting import BEST_COLOUR, NO_GROUP, WORST_COLOUR
from .safe import chart_text, is_missing

NEUTRAL = "0.72"
HIGHLIGHT = "#E69F00"
SIDE_COLOURS = {"top": BEST_COLOUR, "bottom": WORST_COLOUR, "": NEUTRAL}


def _label(row) -> str:
    name = chart_text(row["name"] or row["unit"])
    sub = row.get("subgroup", "")
    sub_rank = row.get("subgroup_rank")
    extra = f" · {chart_text(sub)} {int(sub_rank)}" if sub and not is_missing(sub_rank) else ""
    rank = row["group_rank"]
    rank_text = f"{rank:g}" if not is_missing(rank) else "—"
    return f"{rank_text}. {name}{extra}"


def plot_group_results(results: pd.DataFrame, *, title: str, max_points: float = 100.0,
                       highlight: str | None = None) -> Figure:
    """Horizontal bars of each unit's score, one panel per group, best at the top.

    Parameters
    ----------
    results : DataFrame
        :func:`assesskit.report.tables.results_table` (columns group, group_rank, subgroup,
        subgroup_rank, name, unit, score, outcome_label, side).
    title : str
        Figure title.
    max_points : float
        Right end of the score axis (the scheme's maximum).
    highlight : str, optional
        A unit id drawn with a thick outline (the unit of a unit page).

    Returns
    -------
    matplotlib.figure.Figure
        Bars coloured by outcome: blue a list from the top of the ranking (e.g. 通报表扬
        praised), vermilion a list from the bottom (e.g. 约谈 summoned), grey neither. Each label
        reads "group rank. name · subgroup subgroup-rank".
    """
    groups = list(dict.fromkeys(results["group"]))
    tallest = max(int((results["group"] == g).sum()) for g in groups)
    height = 0.3 * tallest + 2.2
    fig = Figure(figsize=(max(8.5, 5.6 * min(len(groups), 3)), height))
    # fixed margins (room for the names on the left of each panel) instead of a layout engine,
    # which costs more than drawing; the PNG is cropped to its content when saved
    axes = fig.subplots(1, len(groups), squeeze=False,
                        gridspec_kw={"wspace": 0.62, "left": 0.16 / min(len(groups), 3) + 0.05,
                                     "right": 0.98, "top": 1 - 0.75 / height,
                                     "bottom": 0.75 / height}).ravel()
    for ax, g in zip(axes, groups, strict=True):
        part = results[results["group"] == g]
        y = np.arange(len(part))
        colours = [SIDE_COLOURS.get(s, NEUTRAL) for s in part["side"]]
        scores = part["score"].to_numpy(dtype=float)
        edge = ["0.1" if u == highlight else "none" for u in part["unit"]]
        widths = [2.2 if u == highlight else 0 for u in part["unit"]]
        ax.barh(y, np.nan_to_num(scores), color=colours, edgecolor=edge, linewidth=widths)
        for yi, s in zip(y, scores, strict=True):
            if not np.isnan(s):
                ax.annotate(f"{s:.2f}", (s, yi), xytext=(3, 0), textcoords="offset points",
                            va="center", fontsize=7.5, color="0.25")
        ax.set_yticks(y, [_label(r) for _, r in part.iterrows()], fontsize=8.5)
        ax.set_ylim(len(part) - 0.5, -0.5)
        low = np.nanmin(scores) if np.isfinite(scores).any() else 0.0
        ax.set_xlim(max(0.0, min(low - 5, max_points * 0.5)), max_points * 1.06)
        ax.set_title(f"{chart_text(g) or NO_GROUP}（{len(part)}）", fontsize=11)
        ax.set_xlabel(f"得分 score (points of {max_points:g})")
        ax.grid(axis="x", color="0.92")
        ax.set_axisbelow(True)
    labels = (results[results["side"] != ""].drop_duplicates("outcome")
              [["outcome_label", "outcome", "side"]])
    handles = [Patch(color=SIDE_COLOURS[r.side], label=f"{chart_text(r.outcome_label)} ({r.outcome})")
               for r in labels.itertuples()]
    handles.append(Patch(color=NEUTRAL, label="无 none"))
    fig.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.2 / height),
               ncols=len(handles), frameon=False, fontsize=9)
    fig.suptitle(chart_text(title), fontsize="large")
    return fig


def plot_points_lost(lost: pd.DataFrame, *, score: float, max_points: float,
                     title: str) -> Figure:
    """Waterfall from the maximum to the unit's score: one step per node that lost points.

    Parameters
    ----------
    lost : DataFrame
        :func:`assesskit.report.tables.points_lost` (label, node, lost), largest loss first.
    score, max_points : float
        The unit's score and the scheme's maximum.
    title : str

    Returns
    -------
    matplotlib.figure.Figure
        The first bar is the maximum, each following bar the points lost at one node (a
        deduction included; a coefficient above 1 is a gain, drawn in blue), the last the score.
    """
    steps = lost[["label", "node", "lost"]].to_numpy(dtype=object)
    names = ["满分 maximum"] + [f"{chart_text(lab)}" for lab, _, _ in steps] + ["得分 score"]
    height = 0.34 * len(names) + 1.6
    fig = Figure(figsize=(7.8, height))
    fig.subplots_adjust(left=0.3, right=0.97, top=1 - 0.45 / height, bottom=0.55 / height)
    ax = fig.subplots()
    y = np.arange(len(names))
    level = max_points
    ax.barh(0, max_points, color="0.55")
    for i, (_, _, amount) in enumerate(steps, start=1):
        amount = float(amount)
        left = level - amount if amount > 0 else level
        ax.barh(i, abs(amount), left=left, color=WORST_COLOUR if amount > 0 else BEST_COLOUR)
        ax.annotate(f"{-amount:+.2f}", (min(level, level - amount), i), xytext=(-3, 0),
                    textcoords="offset points", ha="right", va="center", fontsize=7.5)
        level -= amount
    ax.barh(len(names) - 1, score, color="0.25")
    ax.annotate(f"{score:.2f}", (score, len(names) - 1), xytext=(3, 0),
                textcoords="offset points", va="center", fontsize=8)
    ax.set_yticks(y, names, fontsize=8.5)
    ax.set_ylim(len(names) - 0.5, -0.5)
    ax.set_xlim(max(0.0, min(score, level) - 10), max_points * 1.04)
    ax.set_xlabel(f"分 points (of {max_points:g})")
    ax.grid(axis="x", color="0.92")
    ax.set_axisbelow(True)
    ax.set_title(chart_text(title), fontsize=11)
    return fig


def plot_unit_trend(trend: pd.DataFrame, *, title: str) -> Figure:
    """A unit's score and group rank over the periods, outcomes named at each point.

    Parameters
    ----------
    trend : DataFrame
        :func:`assesskit.report.tables.unit_trend` (period, score, group_rank, outcome_label).
    title : str

    Returns
    -------
    matplotlib.figure.Figure
        Left: score by period; right: rank within the group (1 = best, at the top).
    """
    fig = Figure(figsize=(9.0, 3.4))
    ax_score, ax_rank = fig.subplots(1, 2, gridspec_kw={"wspace": 0.3, "left": 0.08,
                                                          "right": 0.98, "top": 0.78,
                                                          "bottom": 0.16})
    x = np.arange(len(trend))
    periods = trend["period"].astype(str).tolist()
    ax_score.plot(x, trend["score"].to_numpy(dtype=float), marker="o", color="0.25")
    ranks = pd.to_numeric(trend["group_rank"], errors="coerce").to_numpy(dtype=float)
    ax_rank.plot(x, ranks, marker="o", color=BEST_COLOUR)
    for xi, (r, label) in enumerate(zip(ranks, trend["outcome_label"], strict=True)):
        if label and not np.isnan(r):
            ax_rank.annotate(chart_text(label), (xi, r), xytext=(0, 7), textcoords="offset points",
                             ha="center", fontsize=8, color=WORST_COLOUR)
    for ax in (ax_score, ax_rank):
        ax.set_xticks(x, periods)
        ax.set_xlabel("期间 period")
        ax.grid(color="0.92")
        ax.set_axisbelow(True)
    ax_score.set_ylabel("得分 score (points)")
    ax_rank.set_ylabel("组内排名 rank within group (1 = best)")
    if np.isfinite(ranks).any():
        ax_rank.set_ylim(np.nanmax(ranks) + 0.8, 0.4)
    ax_score.set_title("得分 score")
    ax_rank.set_title("组内排名 group rank (outcome named)")
    fig.suptitle(chart_text(title), fontsize="large")
    return fig
