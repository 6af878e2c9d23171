"""Charts of a regional-grouping analysis (:mod:`assesskit.analysis.grouping`).

Every function takes a :class:`~assesskit.analysis.grouping.GroupingResult` and returns a
:class:`matplotlib.figure.Figure` built outside pyplot (a notebook shows it once). Fates use the
project's colour-blind safe pair: blue praised, vermilion summoned, light grey neither; the
labels of the consequences come from the scheme (通报表扬, 约谈, 优先提拔使用 …).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from .plotting import BEST_COLOUR, WORST_COLOUR, use_cjk_font
from .safe import chart_text

__all__ = ["plot_fates", "plot_fates_by_parent", "plot_quota_shares", "plot_score_baseline"]

NEITHER_COLOUR = "#EBEBEB"
FATE_INDEX = {"summoned": 0, "neither": 1, "praised": 2}
FATE_CMAP = ListedColormap([WORST_COLOUR, NEITHER_COLOUR, BEST_COLOUR])
# Okabe-Ito colours without the blue and vermilion of the fates, then matplotlib's tab20.
GROUP_COLOURS = ["#E69F00", "#56B4E9", "#009E73", "#CC79A7", "#F0E442", "#000000", "#999999"]


def _group_colour(i: int) -> str:
    if i < len(GROUP_COLOURS):
        return GROUP_COLOURS[i]
    from matplotlib import colormaps

    return colormaps["tab20"](i % 20)


def _list_labels(res) -> list[tuple[str, str]]:
    """(colour, label) of the lists the level has, as the scheme labels them (top, bottom)."""
    out = []
    if res.praised:
        out.append((BEST_COLOUR, f"{chart_text(res.praised_label)} (top list)"))
    if res.summoned:
        out.append((WORST_COLOUR, f"{chart_text(res.summoned_label)} (bottom list)"))
    return out


def _fate_legend(res) -> list:
    return [Patch(color=colour, label=label) for colour, label in _list_labels(res)] + [
        Patch(facecolor=NEITHER_COLOUR, edgecolor="0.7", label="无 (neither)")]


def _reference_order(res) -> pd.DataFrame:
    """Units of the official design, by official group then group rank (best first)."""
    ref = res.units[res.units["alternative"] == res.names[0]]
    return ref.sort_values(["official_group", "group_rank", "unit"], kind="mergesort")


def _shown_units(res, units, max_units: int) -> tuple[list, str]:
    order = _reference_order(res)["unit"].tolist()
    if units is not None:
        wanted = [str(u) for u in units]
        unknown = [u for u in wanted if u not in order]
        if unknown:
            raise KeyError(f"unknown unit(s) {unknown}")
        return [u for u in order if u in wanted], ""
    if len(order) <= max_units:
        return order, ""
    moving = set(res.units.loc[res.units["change"] != "", "unit"])
    if "p_fate_change" in res.units.columns:
        moving |= set(res.units.loc[res.units["p_fate_change"] > 0, "unit"])
    kept = [u for u in order if u in moving][:max_units]
    return kept, (f"; {len(kept)} of {len(order)} units shown: those whose fate changes under "
                  "some grouping")


def _fate_grid(res, unit_ids: list) -> tuple[np.ndarray, np.ndarray | None]:
    """Fate codes (units × alternatives) and, with draws, the probability of each cell's fate."""
    u = res.units.set_index(["unit", "alternative"]).sort_index()
    idx = pd.MultiIndex.from_product([unit_ids, res.names])
    fate = u.loc[idx, "fate"].map(FATE_INDEX).to_numpy().reshape(len(unit_ids), -1)
    if not res.draws:
        return fate, None
    p = u.loc[idx, "p_praised"].to_numpy(float)
    s = u.loc[idx, "p_summoned"].to_numpy(float)
    shown = np.choose(fate.ravel(), [s, 1.0 - p - s, p]).reshape(fate.shape)
    return fate, shown


def plot_fates(res, units=None, *, max_units: int = 80, title: str | None = None) -> Figure:
    """Units × alternatives, each cell coloured by the unit's fate under that grouping.

    Rows are the units under their Chinese names, by official group (labelled on the left) and
    official rank; columns the alternatives, the official design first. With draws, each cell
    shows the share of random designs (%) in which the unit has the fate drawn.

    Parameters
    ----------
    res : GroupingResult
    units : sequence of str, optional
        Unit ids to show (default all, or those whose fate changes when there are more than
        ``max_units``).
    max_units : int
        Most rows drawn.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    use_cjk_font()
    shown_ids, note = _shown_units(res, units, max_units)
    if not shown_ids:
        fig = Figure(figsize=(7, 1.6))
        ax = fig.subplots()
        ax.axis("off")
        ax.text(0.5, 0.5, f"没有单位改变结果 no unit changes fate under any grouping "
                          f"({res.units['unit'].nunique()} units)", ha="center", va="center")
        return fig
    fate, prob = _fate_grid(res, shown_ids)
    ref = _reference_order(res).set_index("unit").loc[shown_ids]
    n, m = fate.shape
    fig = Figure(figsize=(2.6 + 1.05 * m, 1.9 + 0.24 * max(n, 4)), layout="constrained")
    ax = fig.subplots()
    ax.imshow(fate, cmap=FATE_CMAP, vmin=0, vmax=2, aspect="auto", interpolation="nearest")
    if prob is not None:  # only the uncertain cells: a fate held in every design stays quiet
        for i, j in zip(*np.nonzero(prob < 0.995), strict=True):
            colour = "0.25" if fate[i, j] == 1 else "white"
            ax.text(j, i, f"{100 * prob[i, j]:.0f}", ha="center", va="center", fontsize=6.5,
                    color=colour)
    ax.set_xticks(range(m), res.names, rotation=35, ha="right", fontsize=8.5)
    ax.set_yticks(range(n), [f"{nm}" for nm in ref["name"]], fontsize=8)
    ax.set_xticks(np.arange(-0.5, m), minor=True)
    ax.tick_params(which="minor", length=0)
    ax.grid(axis="x", which="minor", color="white", lw=1.5)
    groups = ref["official_group"].to_numpy()
    starts = [0] + [i for i in range(1, n) if groups[i] != groups[i - 1]]
    for s, e in zip(starts, starts[1:] + [n], strict=True):
        if s:
            ax.axhline(s - 0.5, color="0.1", lw=1.2)
        ax.annotate(str(groups[s]), xy=(0, (s + e - 1) / 2), xycoords=("axes fraction", "data"),
                    xytext=(-62, 0), textcoords="offset points", rotation=90, ha="center",
                    va="center", fontsize=8.5, color="0.2")
    ax.set_xlabel("分组方案 grouping (official design first)")
    ax.set_ylabel("单位（按正式分组与排名）units by official group and rank", labelpad=26)
    ax.legend(handles=_fate_legend(res), loc="upper left", bbox_to_anchor=(1.01, 1),
              fontsize=8, frameon=False)
    extra = (f"\nnumbers: % of {res.draws} random designs with that fate (blank: all of them)"
             if prob is not None else "")
    ax.set_title(title or f"各分组方案下的结果 fate under each grouping — {res.scheme.name}, "
                          f"{res.period}{extra}{note}", fontsize=10)
    return fig


def plot_score_baseline(res, alternatives=None, *, ncols: int = 3,
                        title: str | None = None) -> Figure:
    """Score against baseline endowment, one panel per alternative, coloured by group.

    Praised units are drawn as upward triangles, summoned as downward triangles; each panel's
    title gives Spearman's rho of score and endowment across all units and within the groups.

    Parameters
    ----------
    res : GroupingResult
    alternatives : sequence of str, optional
        Alternatives to draw (default all).
    ncols : int
        Panels per row.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    use_cjk_font()
    names = list(alternatives) if alternatives is not None else res.names
    unknown = [a for a in names if a not in res.names]
    if unknown:
        raise KeyError(f"unknown alternative(s) {unknown}; alternatives: {res.names}")
    ncols = max(1, min(ncols, len(names)))
    nrows = math.ceil(len(names) / ncols)
    fig = Figure(figsize=(4.3 * ncols, 3.5 * nrows + 0.9), layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
    stats = res.alternatives.set_index("alternative")
    markers = {"praised": "^", "summoned": "v", "neither": "o"}
    for ax, name in zip(axes, names, strict=False):
        part = res.units[res.units["alternative"] == name]
        groups = sorted(part["group"].unique())
        for i, g in enumerate(groups):
            inside = part[part["group"] == g]
            colour = _group_colour(i)
            for fate, marker in markers.items():
                sel = inside[inside["fate"] == fate]
                if len(sel):
                    ax.scatter(sel["endowment"], sel["score"], marker=marker,
                               s=46 if fate != "neither" else 22, color=colour,
                               edgecolors="0.1" if fate != "neither" else "none",
                               linewidths=0.6, alpha=0.9, zorder=3)
        row = stats.loc[name]
        rho = (f"ρ all {row['corr_score_all']:.2f}" if np.isfinite(row["corr_score_all"])
               else "ρ all n/a")
        rho += (f", within {row['corr_within']:.2f}" if np.isfinite(row["corr_within"])
                else "")
        ax.set_title(f"{name}\n{rho}" + (f" — {row['verdict']}" if row["verdict"] else ""),
                     fontsize=9.5)
        ax.set_xlabel("基础禀赋 endowment (z)", fontsize=8.5)
        ax.set_ylabel("得分 score (points)", fontsize=8.5)
        ax.grid(color="0.92")
        ax.set_axisbelow(True)
        if len(groups) <= 10:
            ax.legend(handles=[Patch(color=_group_colour(i), label=g)
                               for i, g in enumerate(groups)], fontsize=7, frameon=False,
                      loc="best", handlelength=0.8, handletextpad=0.3, borderaxespad=0.2)
    for ax in axes[len(names):]:
        ax.set_visible(False)
    handles = [Line2D([], [], marker=marker, linestyle="", color="0.4", markeredgecolor="0.1",
                      label=label)
               for marker, (_, label) in zip(("^", "v") if res.praised else ("v",),
                                             _list_labels(res), strict=False)]
    handles.append(Line2D([], [], marker="o", linestyle="", color="0.4", label="无 (neither)"))
    fig.legend(handles=handles, loc="outside lower center", ncols=3, frameon=False, fontsize=8.5)
    fig.suptitle(title or f"得分与基础禀赋 score against baseline endowment, coloured by group\n"
                          f"endowment: {res.endowment_name}", fontsize=10)
    return fig


def plot_quota_shares(res, alternatives=None, *, ncols: int = 3,
                      title: str | None = None) -> Figure:
    """The share of each group praised and summoned under each alternative (quota fairness).

    Each panel lists the quota rows of one alternative (groups, or subgroups where the quotas
    are split) with two bars: quota / units praised (blue) and summoned (vermilion), labelled
    ``quota/units``. The dashed lines mark the shares over all units.

    Parameters
    ----------
    res : GroupingResult
    alternatives : sequence of str, optional
    ncols : int
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    use_cjk_font()
    table = res.quota_fairness()
    names = [a for a in (alternatives or res.names) if a in set(table["alternative"])]
    if not names:
        fig = Figure(figsize=(6, 1.5))
        ax = fig.subplots()
        ax.axis("off")
        ax.text(0.5, 0.5, "该层级没有名额 (no quota at this level)", ha="center", va="center")
        return fig
    ncols = max(1, min(ncols, len(names)))
    nrows = math.ceil(len(names) / ncols)
    tallest = max(int((table["alternative"] == a).sum()) for a in names)
    fig = Figure(figsize=(4.6 * ncols, nrows * (0.42 * tallest + 1.5) + 0.8),
                 layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
    for ax, name in zip(axes, names, strict=False):
        part = table[table["alternative"] == name].reset_index(drop=True)
        y = np.arange(len(part))
        labels = [f"{g}·{s}" if s else str(g) for g, s in zip(part["group"], part["subgroup"],
                                                             strict=True)]
        units = part["units"].to_numpy(int)
        total_units = units.sum()
        for col, colour, dy in (("praised", BEST_COLOUR, -0.19), ("summoned", WORST_COLOUR, 0.19)):
            if f"{col}_share" not in part.columns:
                continue
            share = part[f"{col}_share"].to_numpy(float)
            quota = part[f"{col}_quota"].to_numpy(float)
            ax.barh(y + dy, share, height=0.36, color=colour)
            for yi, (sh, q, u) in enumerate(zip(share, quota, units, strict=True)):
                ax.annotate(f"{q:.0f}/{u}", (sh, yi + dy), xytext=(2, 0),
                            textcoords="offset points", va="center", fontsize=7.5)
            if total_units:
                ax.axvline(np.nansum(quota) / total_units, color=colour, ls="--", lw=0.9)
        ax.set_yticks(y, labels, fontsize=8)
        ax.set_ylim(len(part) - 0.5, -0.5)
        ax.set_xlim(0, max(0.6, float(np.nanmax(part.filter(like="_share").to_numpy())) * 1.25))
        ax.set_xlabel("名额占组内单位比例 share of the group (quota / units)", fontsize=8.5)
        ax.set_title(name, fontsize=9.5)
        ax.grid(axis="x", color="0.92")
        ax.set_axisbelow(True)
    for ax in axes[len(names):]:
        ax.set_visible(False)
    handles = [Patch(color=colour, label=label) for colour, label in _list_labels(res)]
    handles.append(Line2D([], [], color="0.3", ls="--", lw=0.9, label="全体比例 share of all units"))
    fig.legend(handles=handles, loc="outside lower center", ncols=3, frameon=False, fontsize=8.5)
    fig.suptitle(title or "名额公平性 quota fairness: share of each group on each list",
                 fontsize=10)
    return fig


def plot_fates_by_parent(res, *, ncols: int = 4, max_parents: int = 16,
                         title: str | None = None) -> Figure:
    """Small multiples by parent unit (prefecture): each panel the fates of its units under
    every alternative (units × alternatives), with the share of random designs if any.

    Parameters
    ----------
    res : GroupingResult
    ncols : int
        Panels per row.
    max_parents : int
        Most panels (parents with a unit whose fate changes first).
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    use_cjk_font()
    ref = _reference_order(res)
    parents = list(dict.fromkeys(ref.sort_values(["parent_name", "official_group"],
                                                 kind="mergesort")["parent_name"]))
    if len(parents) > max_parents:
        moving = set(res.units.loc[res.units["change"] != "", "parent_name"])
        parents = ([p for p in parents if p in moving] + [p for p in parents
                                                          if p not in moving])[:max_parents]
    ncols = max(1, min(ncols, len(parents)))
    nrows = math.ceil(len(parents) / ncols)
    tallest = max(int((ref["parent_name"] == p).sum()) for p in parents)
    m = len(res.names)
    fig = Figure(figsize=(ncols * (1.7 + 0.34 * m), nrows * (0.9 + 0.22 * tallest) + 1.4),
                 layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
    short = [f"{i + 1}" for i in range(m)]
    for ax, p in zip(axes, parents, strict=False):
        ids = ref.loc[ref["parent_name"] == p, "unit"].tolist()
        fate, prob = _fate_grid(res, ids)
        ax.imshow(fate, cmap=FATE_CMAP, vmin=0, vmax=2, aspect="auto", interpolation="nearest")
        if prob is not None:
            for i, j in zip(*np.nonzero(prob < 0.995), strict=True):
                ax.text(j, i, f"{100 * prob[i, j]:.0f}", ha="center", va="center", fontsize=6,
                        color="0.25" if fate[i, j] == 1 else "white")
        names = ref.set_index("unit").loc[ids, "name"].tolist()
        ax.set_yticks(range(len(ids)), names, fontsize=7)
        ax.set_xticks(range(m), short, fontsize=7)
        ax.xaxis.tick_top()
        ax.set_title(f"{p or '(no parent)'}（{len(ids)}）", fontsize=8.5)
        ax.set_ylim(tallest - 0.5, -0.5)
        for side in ("top", "right", "bottom", "left"):
            ax.spines[side].set_visible(False)
        ax.tick_params(length=0)
    for ax in axes[len(parents):]:
        ax.set_visible(False)
    key = "  ".join(f"{i + 1} = {n}" for i, n in enumerate(res.names))
    fig.legend(handles=_fate_legend(res), loc="outside lower center", ncols=3, frameon=False,
               fontsize=8, title=f"列 columns: {key}", title_fontsize=7.5)
    extra = (f"; numbers: % of {res.draws} random designs with that fate (blank: all)"
             if res.draws else "")
    fig.suptitle(title or f"按上级单位 by parent unit (prefecture): fate under each grouping"
                          f"{extra}", fontsize=10)
    return fig
