"""Charts of what it would take and of the incentives a scheme creates
(:mod:`assesskit.analysis.counterfactual`, :mod:`assesskit.analysis.incentives`)."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from .plotting import use_cjk_font

__all__ = ["plot_incentive_weights", "plot_what_it_takes"]

NOMINAL_COLOUR = "#BBBBBB"
EFFECTIVE_COLOUR = "#0072B2"
GAIN_COLOUR = "#009E73"
LOSE_COLOUR = "#D55E00"


def plot_incentive_weights(inc, ax=None):
    """Nominal weight beside effective incentive for every indicator (horizontal bars).

    Parameters
    ----------
    inc : assesskit.analysis.incentives.Incentives
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
        One row per indicator (its Chinese name), sorted by effective incentive: a grey bar for
        its nominal share of the total points and a blue bar for its share of the points paid
        per 1% of effort (of the indicator's spread), both re-normalised over the indicators
        shown; the ratio effective / nominal is written at the end of each row.
    """
    use_cjk_font()
    w = inc.weights.sort_values("effective", kind="mergesort").reset_index(drop=True)
    k = len(w)
    if ax is None:  # a Figure outside pyplot: a notebook shows the returned figure once
        ax = Figure(figsize=(8.5, 1.2 + 0.42 * max(k, 2)), layout="constrained").subplots()
    y = np.arange(k)
    ax.barh(y + 0.2, 100 * w["nominal"], height=0.38, color=NOMINAL_COLOUR,
            label="名义权重 nominal weight")
    ax.barh(y - 0.2, 100 * w["effective"], height=0.38, color=EFFECTIVE_COLOUR,
            label="实际激励 effective incentive (points per 1% of the spread)")
    top = float(np.nanmax(np.r_[100 * w["nominal"].to_numpy(), 100 * w["effective"].to_numpy(),
                                1e-9]))
    for i, r in enumerate(w.itertuples()):
        if np.isfinite(r.ratio):
            ax.text(max(100 * r.nominal, 100 * r.effective) + 0.01 * top, i, f"×{r.ratio:.2f}",
                    va="center", fontsize=8)
    ax.set_yticks(y, [str(x) for x in w["indicator_name"]])
    ax.set_xlim(0, top * 1.15)
    ax.set_xlabel("占总分的比例 share of the total (%)")
    ax.set_title(f"{inc.scheme_name}（{inc.level}，{inc.period}）：名义权重与实际激励\n"
                 "nominal weight vs effective incentive per indicator", fontsize=10)
    ax.legend(loc="lower right", fontsize=8)
    return ax.figure


def plot_what_it_takes(cf, unit: str | None = None, ax=None):
    """What it would take, as a chart.

    Parameters
    ----------
    cf : assesskit.analysis.counterfactual.Counterfactuals
    unit : str, optional
        A unit id or Chinese name: one row per indicator and outcome, a bar for the effort of
        the single-indicator change that changes the outcome (in % of the indicator's spread,
        log scale), a cross where no change within the bounds does, and a dashed line for the
        cheapest combined change. Without ``unit``: every analysed unit's cheapest
        single-indicator change per outcome (dots), with the 1% line of gaming exposure.
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    use_cjk_font()
    if unit is not None:
        return _plot_unit(cf, unit)
    cheapest = cf.cheapest()
    combined = cf.combined
    keys = list(dict.fromkeys(zip(combined["target_label"], combined["want"],
                                  combined["direction"], strict=True)))
    if ax is None:
        ax = Figure(figsize=(8.5, 1.6 + 0.6 * max(len(keys), 1)), layout="constrained").subplots()
    labels = []
    for y, (label, want, direction) in enumerate(keys):
        part = cheapest[(cheapest["target_label"] == label) & (cheapest["want"] == want)
                        & (cheapest["direction"] == direction)]
        total = combined[(combined["target_label"] == label) & (combined["want"] == want)
                         & (combined["direction"] == direction)]
        offsets = (np.arange(len(part)) % 5 - 2) * 0.06  # spread dots that share a value
        ax.scatter(100 * part["effort"], y + offsets, s=18, alpha=0.8,
                   color=GAIN_COLOUR if direction == "improve" else LOSE_COLOUR)
        labels.append(f"{_WANT[want]}{label}（{len(part)}/{len(total)}）")
    ax.axvline(1.0, color="#555555", ls=":", lw=1)
    ax.set_yticks(np.arange(len(keys)), labels)
    ax.set_ylim(-0.5, len(keys) - 0.5)
    ax.set_xscale("log")
    ax.set_xlabel("最便宜的单指标变化占全距的比例 cheapest single-indicator change, % of the "
                  "spread (log)\ndotted: 1%; green: by improving, vermilion: by worsening; "
                  "(k/n): k of n units can do it with one indicator", fontsize=9)
    ax.set_title(f"{cf.scheme.name}（{cf.level}，{cf.period}）：每个单位离结果改变有多远\n"
                 "how far each unit is from another outcome", fontsize=10)
    return ax.figure


_WANT = {"gain": "得到", "lose": "失去"}


def _plot_unit(cf, unit: str):
    single, combined = cf.for_unit(unit)
    name = combined["name"].iat[0] if len(combined) else str(unit)
    keys = list(dict.fromkeys(zip(combined["target_label"], combined["want"],
                                  combined["direction"], strict=True)))
    indicators = list(dict.fromkeys(single["indicator_name"]))
    k = max(len(keys), 1)
    fig = Figure(figsize=(8.5, 1.3 + k * (0.5 + 0.27 * max(len(indicators), 1))),
                 layout="constrained")
    axes = np.atleast_1d(fig.subplots(k, 1, sharex=True))
    found = single.loc[single["status"] == "found", "effort"]
    low = max(min(float(found.min()) * 100 / 2, 1.0), 1e-3) if len(found) else 0.1
    reach = np.r_[100 * found.to_numpy(), 100 * combined["effort"].dropna().to_numpy(), 10 * low]
    high = float(reach.max()) * 1.6
    for ax, (label, want, direction) in zip(axes, keys, strict=False):
        colour = GAIN_COLOUR if direction == "improve" else LOSE_COLOUR
        part = single[(single["target_label"] == label) & (single["want"] == want)
                      & (single["direction"] == direction)]
        for y, ind in enumerate(indicators):
            r = part[part["indicator_name"] == ind]
            if len(r) and r["status"].iat[0] == "found":
                ax.barh(y, 100 * r["effort"].iat[0] - low, left=low, color=colour, height=0.7)
            else:
                ax.plot([low * 1.15], [y], marker="x", color="#555555", markersize=6)
        comb = combined[(combined["target_label"] == label) & (combined["want"] == want)
                        & (combined["direction"] == direction)]
        if len(comb) and np.isfinite(comb["effort"].iat[0]):
            x = 100 * comb["effort"].iat[0]
            ax.plot([x, x], [-0.5, len(indicators) - 0.5], ls="--", color=colour, lw=1.2)
        ax.set_yticks(np.arange(len(indicators)), indicators, fontsize=8)
        ax.set_ylim(len(indicators) - 0.5, -0.5)
        ax.set_title(f"{_WANT[want]}{label}（{'改善' if direction == 'improve' else '变差'} "
                     f"{want} by {'improving' if direction == 'improve' else 'worsening'}）",
                     fontsize=9, loc="left", color=colour)
        ax.set_xscale("log")
        ax.set_xlim(low, high)
    axes[-1].set_xlabel("需要的变化占指标全距的比例 change needed, % of the indicator's spread\n"
                        "(log scale; × no change within the bounds does it; dashed: the cheapest "
                        "combined change)")
    fig.suptitle(f"{name}：要改变结果需要什么（{cf.scheme.name}，{cf.period}）\n"
                 "what it would take to change the outcome", fontsize=10)
    return fig
