"""Charts of a rater-based review's reliability (:mod:`assesskit.analysis.raters`)."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from .plotting import use_cjk_font

__all__ = ["plot_rater_leniency"]

# Colour-blind safe (Okabe-Ito) colours, one per rater group.
_COLOURS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00"]


def plot_rater_leniency(res, ax=None):
    """Leniency of every rater (dots with 95% intervals) and of each rater group (bars).

    Parameters
    ----------
    res : assesskit.analysis.raters.RaterAnalysis
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
        One band per rater group (labelled with the group's Chinese label): each rater a dot at
        its leniency with a thin line over its interval, spread vertically within the band; the
        group's leniency and interval as a thick bar. Zero is the mean rater of the first group.

    Notes
    -----
    Raters flagged for rating everyone identically are drawn as open circles.
    """
    use_cjk_font()
    groups = res.groups.reset_index(drop=True)
    raters = res.raters
    if ax is None:  # a Figure outside pyplot: a notebook shows the returned figure once
        ax = Figure(figsize=(8, 1.2 + 1.3 * len(groups))).subplots()
    flagged = set(res.review.flagged["rater"]) if len(res.review.flagged) else set()
    for k, g in groups.iterrows():
        part = raters[raters["rater_group"] == g["rater_group"]].sort_values("leniency")
        colour = _COLOURS[k % len(_COLOURS)]
        y = k + np.linspace(-0.3, 0.3, len(part)) if len(part) > 1 else np.array([float(k)])
        ax.hlines(y, part["ci_low"], part["ci_high"], color=colour, alpha=0.25, lw=0.8)
        open_ = part["rater"].isin(flagged).to_numpy()
        ax.scatter(part["leniency"][~open_], y[~open_], s=10, color=colour, zorder=3)
        ax.scatter(part["leniency"][open_], y[open_], s=28, facecolors="none",
                   edgecolors="black", zorder=4, label="评分全部相同的评议人 (identical rater)")
        ax.errorbar(g["leniency"], k, xerr=[[g["leniency"] - g["ci_low"]],
                                            [g["ci_high"] - g["leniency"]]],
                    fmt="D", color="black", ms=6, capsize=4, lw=2, zorder=5)
    ax.axvline(0, color="grey", lw=0.8, ls="--")
    ax.set_yticks(range(len(groups)))
    ax.set_yticklabels([f"{lab}\n({n} 人)" for lab, n in zip(groups["label"], groups["raters"],
                                                             strict=True)])
    ax.invert_yaxis()
    ax.set_xlabel(f"宽严度：比同一被评人的{groups['label'].iloc[0]}平均高出的分数 "
                  "(leniency, points)")
    ax.set_ylabel("评议人群体 (rater group)")
    ax.set_title("评议人宽严度及95%置信区间（◆ 群体，· 个人）\nRater leniency with 95% intervals")
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        ax.legend(handles[:1], labels[:1], loc="upper right", fontsize=8)
    return ax
