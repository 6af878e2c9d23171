"""The incentives a scheme really creates (考核方案的实际激励).

A scheme states its priorities as weights; what it pays for is something else. Under relative
scoring the points a county earns by improving an indicator depend on where it stands, on how
far apart its peers are, and on its peers' own results. :func:`incentives` measures, on the
engine (:class:`assesskit.engine.batch.ValueBatch`), for every assessed unit and indicator:

*Marginal points*
    ``points_per_unit``: the points of the unit's total gained per unit of raw improvement at
    its current value — the right-hand derivative in the direction of improvement, computed as
    ``(T(x + h) − T(x)) / h`` with ``h = 10⁻⁶`` of the indicator's spread; and
    ``points_per_pct``: the points gained by improving by 1% of the spread,
    ``T(x + 0.01·spread) − T(x)``. Both include every effect of the change through the scheme's
    rules: a county already at its group's best value gains nothing of its own under min–max;
    the county at the bottom of its group gains nothing of its own either but lowers everyone
    else's score (the minimum moves).
*Effective incentive weights*
    For each indicator, the mean over units of ``points_per_pct``, as a share of the sum over
    the indicators analysed: ``effective_l = mean_i p_il / Σ_k mean_i p_ik``, beside the nominal
    share of the total points (``nominal_l``: the mean over units of the indicator's maximum
    points as a share of the level's, re-normalised over the same indicators). An indicator whose
    values are close together (a compressed range) pays more per 1% of effort than its weight
    says; ``ratio = effective / nominal``.
*Peer dependence*
    ``own_points``: the points a unit gains improving by 1% of the spread itself;
    ``peer_points``: the points it gains when its *best peer* on the indicator (the unit of its
    comparison group for that indicator with the best value, itself excluded) falls back by 1% of
    the spread; ``zero_sum = peer_points / own_points``. Under absolute rules it is 0; under
    min–max a peer at the group's best value falling back stretches everyone's score; under a
    z-score any peer falling back raises everyone's standing.
*Gaming exposure*
    From :func:`~assesskit.analysis.counterfactual.counterfactuals`: the single-indicator changes
    of at most ``exposure_share`` (1%) of the spread that change a unit's outcome, and the number
    of units within that distance of a fate change, per outcome and per indicator: how fragile
    the lists are to small reporting changes.

Bounds are not applied here (a unit at 100% is shown what the scheme *would* pay); the
counterfactuals apply them. For a quarterly scheme's annual result every change is made in each
quarter, as in the counterfactuals.

Examples
--------
>>> import assesskit as ak
>>> from assesskit.analysis.incentives import incentives
>>> inc = incentives("sichuan-39", ak.datasets.load("sichuan-39"), 2025)   # doctest: +SKIP
>>> inc.weights                                                            # doctest: +SKIP
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..data.model import Dataset
from ..engine.batch import ValueBatch
from ..errors import DataError
from ..escape import md_text
from ..scheme.model import RELATIVE_METHODS
from .counterfactual import (
    ChangeSpace,
    Counterfactuals,
    compile_level,
    counterfactuals,
    run_batched,
)

__all__ = ["DERIVATIVE_STEP", "NOISE", "Incentives", "incentives"]

DERIVATIVE_STEP = 1e-6
"""Step of the marginal-points difference quotient, in spreads of the indicator."""

NOISE = 1e-12
"""A change of a total smaller than this share of it is floating-point noise (treated as 0)."""


@dataclass
class Incentives:
    """The incentives a scheme creates: the result of :func:`incentives`.

    Attributes
    ----------
    marginal : DataFrame
        One row per unit and indicator: unit, name, group, node, indicator, indicator_name,
        unit_of_measure, value, spread, nominal_weight (the indicator's share of the unit's
        total points), points_per_unit, points_per_pct.
    weights : DataFrame
        One row per indicator: node, indicator, indicator_name, nominal (share), effective
        (share), ratio, mean_points_per_pct.
    peers : DataFrame
        One row per unit and indicator: unit, name, node, indicator_name, peer, peer_name,
        own_points, peer_points, zero_sum.
    exposure : DataFrame
        The single-indicator changes of at most ``exposure_share`` of the spread that change an
        outcome (rows of :attr:`Counterfactuals.single`).
    exposure_counts : DataFrame
        Per outcome and want (gain / lose): units, and the number of units within
        ``exposure_share`` of the spread of the change (any indicator), then per indicator.
    """

    scheme_name: str
    dataset: str
    period: str
    level: str
    spread_kind: str
    exposure_share: float
    marginal: pd.DataFrame
    weights: pd.DataFrame
    peers: pd.DataFrame
    exposure: pd.DataFrame
    exposure_counts: pd.DataFrame
    counterfactuals: Counterfactuals | None = field(default=None, repr=False)

    def to_frame(self) -> pd.DataFrame:
        """The marginal points (one row per unit and indicator)."""
        return self.marginal

    def peer_summary(self) -> pd.DataFrame:
        """Peer dependence per indicator: units with a peer, mean points for improving by 1% of
        the spread oneself (own) and for the best peer falling back by as much (peer), their
        ratio (``peer / own`` of the means: 0 under absolute scoring, 1 when a peer's setback
        pays as much as one's own effort), and the share of units for which a peer's setback pays
        anything."""
        p = self.peers[self.peers["peer"] != ""]
        rows = []
        for node, part in p.groupby("node", sort=False):
            own, peer = part["own_points"].mean(), part["peer_points"].mean()
            rows.append({"node": node, "indicator_name": part["indicator_name"].iat[0],
                         "units": len(part), "own_points": own, "peer_points": peer,
                         "peer_to_own": peer / own if own > 0 else np.nan,
                         "share_paid_by_peer": float((part["peer_points"] > 0).mean())})
        return pd.DataFrame(rows, columns=["node", "indicator_name", "units", "own_points",
                                           "peer_points", "peer_to_own", "share_paid_by_peer"])

    def describe(self) -> str:
        """The findings in words (Markdown): the largest gaps between stated and real
        incentives, how zero-sum the scoring is, and how exposed the lists are. Names taken from
        the data are escaped for Markdown."""
        w = self.weights.dropna(subset=["ratio"])
        lines = []
        if len(w) > 1:
            top = w.loc[w["effective"].idxmax()]
            over = w[w["ratio"] > 1.25].sort_values("ratio", ascending=False, kind="mergesort")
            under = w[w["ratio"] < 0.8].sort_values("ratio", kind="mergesort")
            lines.append(f"- Per 1% of effort the scheme pays most for **{md_text(top['indicator_name'])}**: "
                         f"{top['effective']:.1%} of the points paid for effort, against a stated "
                         f"weight of {top['nominal']:.1%} (× {top['ratio']:.2f}).")
            if len(over):
                lines.append("- Paid more than their weight (× ≥ 1.25): " + "、".join(
                    f"{md_text(r.indicator_name)} (× {r.ratio:.2f})" for r in over.itertuples()) + ".")
            if len(under):
                lines.append("- Paid less than their weight (× ≤ 0.8): " + "、".join(
                    f"{md_text(r.indicator_name)} (× {r.ratio:.2f})" for r in under.itertuples()) + ".")
            if not len(over) and not len(under):
                lines.append("- Every indicator pays within 20% of its stated weight.")
        ps = self.peer_summary().dropna(subset=["peer_to_own"])
        if len(ps) and ps["peer_to_own"].max() > 0:
            most = ps.loc[ps["peer_to_own"].idxmax()]
            lines.append(f"- Peer dependence: on average over indicators, a unit gains "
                         f"{ps['peer_to_own'].mean():.2f} times as many points when its best peer "
                         f"falls back by 1% of the spread as when it improves by 1% itself; most "
                         f"on {md_text(most['indicator_name'])} ({most['peer_to_own']:.2f}).")
        elif len(ps):
            lines.append("- Peer dependence: none. Every indicator is scored against fixed "
                         "standards here: a peer's result never moves a unit's points.")
        for r in self.exposure_counts.itertuples():
            lines.append(f"- {r.units_within} of {r.units} units could "
                         f"{'gain' if r.want == 'gain' else 'lose'} {md_text(r.target_label)} with a change "
                         f"of one indicator of at most {self.exposure_share:.0%} of its spread.")
        return "\n".join(lines)

    def summary(self) -> str:
        """Where the real incentives differ from the stated weights, how zero-sum the scoring
        is, and how many units are within a small change of another fate."""
        w = self.weights
        lines = [f"Incentives — {self.scheme_name}, {self.dataset}, period {self.period}, level "
                 f"{self.level}; effort in 1% of each indicator's spread ({self.spread_kind})"]
        for r in w.sort_values("effective", ascending=False, kind="mergesort").itertuples():
            lines.append(f"  {r.indicator_name} ({r.node}): nominal {r.nominal:.1%}, effective "
                         f"{r.effective:.1%} (× {r.ratio:.2f}); {r.mean_points_per_pct:.3f} "
                         "points per 1% of the spread")
        if len(w) > 1 and np.isfinite(w["ratio"]).any():
            top = w.loc[w["ratio"].idxmax()]
            low = w.loc[w["ratio"].idxmin()]
            lines.append(f"Largest gap: {top['indicator_name']} pays {top['ratio']:.2f} times its "
                         f"weight; {low['indicator_name']} {low['ratio']:.2f} times.")
        p = self.peers.dropna(subset=["zero_sum"])
        if len(p):
            lines.append(f"Peer dependence: median points gained when the best peer falls back "
                         f"by 1% of the spread = {p['zero_sum'].median():.2f} × the points gained "
                         "by improving 1% oneself.")
        for r in self.exposure_counts.itertuples():
            lines.append(f"Within {self.exposure_share:.0%} of the spread of a change — "
                         f"{r.target_label} ({r.want}): {r.units_within} of {r.units} unit(s)")
        return "\n".join(lines)

    def plot(self, **kwargs):
        """Nominal weight against effective incentive per indicator (see
        :func:`assesskit.report.incentives.plot_incentive_weights`)."""
        from ..report.incentives import plot_incentive_weights  # report layer, on call only

        return plot_incentive_weights(self, **kwargs)

    def _repr_html_(self) -> str:
        head = (f"<p><b>Incentives</b> — {html.escape(self.scheme_name)}, "
                f"{html.escape(self.dataset)}, period {html.escape(self.period)}, level "
                f"{html.escape(self.level)}</p>")
        cols = ["indicator_name", "nominal", "effective", "ratio", "mean_points_per_pct"]
        return head + self.weights[cols].to_html(index=False, escape=True,
                                                 float_format="{:.3f}".format)


def incentives(scheme, data: Dataset, period, *, level: str | None = None, indicators=None,
               spread: str = "range", exposure_share: float = 0.01,
               counterfactuals_result: Counterfactuals | None = None,
               batch: ValueBatch | None = None) -> Incentives:
    """Marginal points, effective weights, peer dependence and gaming exposure of a scheme.

    Parameters
    ----------
    scheme : Scheme, str or dict
    data : Dataset
    period : int or str
    level : str, optional
        Default: the first level with a consequence or grades.
    indicators : iterable of str, optional
        Node ids or indicator codes (default every leaf).
    spread : {"range", "std"}
        How an indicator's spread is measured over the level's units.
    exposure_share : float
        A change of at most this share of the spread is "small" (default 1%).
    counterfactuals_result : Counterfactuals, optional
        Already computed for the same scheme, period and level (else computed here, for every
        unit, with the default bounds).
    batch : ValueBatch, optional
        The level compiled already.

    Returns
    -------
    Incentives

    Notes
    -----
    See the module notes for every formula. With ``T_i`` the total of unit ``i``, ``s_l`` the
    spread of indicator ``l`` and ``e_l`` its direction of improvement (+1 or −1):
    ``points_per_unit = (T_i(x_il + h e_l) − T_i) / h`` with ``h = 10⁻⁶ s_l``;
    ``points_per_pct = T_i(x_il + 0.01 s_l e_l) − T_i``;
    ``peer_points = T_i(x_kl − 0.01 s_l e_l) − T_i`` for the best peer ``k``.

    Examples
    --------
    >>> inc = incentives("sichuan-39", ak.datasets.load("sichuan-39"), 2025)  # doctest: +SKIP
    >>> print(inc.summary())                                                  # doctest: +SKIP
    """
    if not (isinstance(exposure_share, int | float) and 0 < exposure_share < 1):
        raise DataError(f"exposure_share must be a share in (0, 1), not {exposure_share!r}")
    if batch is None:
        batch = (counterfactuals_result.batch if counterfactuals_result is not None
                 else compile_level(scheme, data, period, level))
    space = ChangeSpace(batch, data, indicators=indicators, spread=spread, bounds=None)
    n, L = batch.n, space.L
    base = batch.run(np.zeros(1, np.intp), np.zeros((1, len(batch.leaves)))).total[0]
    ok = space.usable(np.arange(n))
    i_idx, l_idx = np.nonzero(ok)
    improve = np.ones(len(i_idx))

    def own_gain(effort_size, direction):
        effort = np.zeros((len(i_idx), L))
        effort[np.arange(len(i_idx)), l_idx] = effort_size
        delta = space.delta(i_idx, direction, effort)
        total = run_batched(batch, i_idx, delta,
                            lambda res, r: res.total[np.arange(len(r)), i_idx[r]],
                            lambda r: np.full(len(r), np.nan))
        gain = total - base[i_idx]
        # differences at the level of rounding noise are no change at all
        gain = np.where(np.abs(gain) <= NOISE * np.maximum(1.0, np.abs(base[i_idx])), 0.0, gain)
        out = np.full((n, L), np.nan)
        out[i_idx, l_idx] = gain
        return out

    derivative = own_gain(DERIVATIVE_STEP, improve) / DERIVATIVE_STEP  # points per spread
    per_pct = own_gain(0.01, improve)
    per_unit = derivative / space.scale[None, :]
    # peers: the best other unit of the indicator's comparison group falls back by 1%
    peer = _best_peers(batch, space, ok)
    has_peer = peer[i_idx, l_idx] >= 0
    pi, pl, pk = i_idx[has_peer], l_idx[has_peer], peer[i_idx, l_idx][has_peer]
    peer_points = np.full((n, L), np.nan)
    if len(pi):
        effort = np.zeros((len(pi), L))
        effort[np.arange(len(pi)), pl] = 0.01
        delta = space.delta(pk, -np.ones(len(pi)), effort)
        total = run_batched(batch, pk, delta,
                            lambda res, r: res.total[np.arange(len(r)), pi[r]],
                            lambda r: np.full(len(r), np.nan))
        gain = total - base[pi]
        peer_points[pi, pl] = np.where(np.abs(gain) <= NOISE * np.maximum(1.0, np.abs(base[pi])),
                                       0.0, gain)
    tables = _tables(batch, space, ok, per_unit, per_pct, peer, peer_points)
    if counterfactuals_result is None:
        counterfactuals_result = counterfactuals(batch.scheme, data, batch.period,
                                                 level=batch.level, indicators=indicators,
                                                 spread=spread, batch=batch)
    cf = counterfactuals_result
    exposure = cf.within(exposure_share)
    counts = _exposure_counts(cf, exposure)
    return Incentives(batch.scheme.name, data.name, batch.period, batch.level, spread,
                      float(exposure_share), *tables, exposure, counts, cf)


def _comparison_groups(batch: ValueBatch, node):
    """The comparison groups of a leaf: the relative rule's ``within`` groups, or the ranking
    groups for an absolute rule."""
    rule = node.scoring or {}
    inner = rule.get("then", rule) if rule.get("method") in ("growth", "level_and_change") \
        else rule
    within = inner.get("within", "group") if inner.get("method") in RELATIVE_METHODS else "group"
    return batch.grouping.scoring_index(within)


def _best_peers(batch: ValueBatch, space: ChangeSpace, ok: np.ndarray) -> np.ndarray:
    """(n, L) position of each unit's best peer on each indicator (-1: none): the unit of its
    comparison group with the best value (the first in the table among equals), or the second
    best when the unit is the best itself."""
    n, L = batch.n, space.L
    out = np.full((n, L), -1, np.intp)
    units = np.arange(n)
    for li, nd in enumerate(space.nodes):
        groups = _comparison_groups(batch, nd)
        value = np.where(ok[:, li], space.value[:, li] * space.sign[li], np.nan)
        best = _first_at_group_max(groups, value)
        without = value.copy()
        without[best[best < n]] = np.nan  # the best of each group left out: the second best
        second = _first_at_group_max(groups, without)
        peer = np.where(best == units, second, best)
        out[:, li] = np.where(ok[:, li] & (peer < n), peer, -1)
    return out


def _first_at_group_max(groups, value: np.ndarray) -> np.ndarray:
    """For each unit, the first unit of its group holding the group's largest value (n: none)."""
    n = len(value)
    top = groups.max(value)
    holder = np.where(value == top, np.arange(n), n)
    first = np.full(groups.n_groups, n)
    np.minimum.at(first, groups.codes, holder)
    return first[groups.codes]


def _tables(batch, space, ok, per_unit, per_pct, peer, peer_points):
    n, L = batch.n, space.L
    u = batch.units
    gb = batch.scheme.levels[batch.level].ranking.get("group_by")
    ids = u["unit"].astype(str).to_numpy()
    names = u["name"].astype(str).to_numpy()
    groups = u[gb].astype(str).to_numpy() if gb else np.full(n, "")
    res = batch.evaluation.level_results[batch.level]
    max_points = batch.scheme.levels[batch.level].max_points
    nominal = res.max_points[:, [batch.leaves[c] for c in space.cols]] / max_points
    i, li = np.nonzero(ok)
    marginal = pd.DataFrame({
        "unit": ids[i], "name": names[i], "group": groups[i],
        "node": np.asarray(space.ids, dtype=object)[li],
        "indicator": np.asarray(space.codes, dtype=object)[li],
        "indicator_name": np.asarray(space.names, dtype=object)[li],
        "unit_of_measure": np.asarray(space.uom, dtype=object)[li],
        "value": space.value[i, li], "spread": space.spread[li], "nominal_weight": nominal[i, li],
        "points_per_unit": per_unit[i, li], "points_per_pct": per_pct[i, li]})
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_pct = np.array([np.nanmean(np.where(ok[:, c], per_pct[:, c], np.nan))
                             if ok[:, c].any() else np.nan for c in range(L)])
        mean_nominal = np.array([np.nanmean(np.where(ok[:, c], nominal[:, c], np.nan))
                                 if ok[:, c].any() else np.nan for c in range(L)])
        eff = mean_pct / np.nansum(mean_pct)
        nom = mean_nominal / np.nansum(mean_nominal)
        ratio = eff / nom
    weights = pd.DataFrame({
        "node": space.ids, "indicator": space.codes, "indicator_name": space.names,
        "nominal": nom, "effective": eff, "ratio": ratio, "mean_points_per_pct": mean_pct})
    k = peer[i, li]
    with np.errstate(invalid="ignore", divide="ignore"):
        zero_sum = np.where(np.abs(per_pct[i, li]) > 1e-12, peer_points[i, li] / per_pct[i, li],
                            np.nan)
    peers = pd.DataFrame({
        "unit": ids[i], "name": names[i], "group": groups[i],
        "node": np.asarray(space.ids, dtype=object)[li],
        "indicator_name": np.asarray(space.names, dtype=object)[li],
        "peer": np.where(k >= 0, ids[np.maximum(k, 0)], ""),
        "peer_name": np.where(k >= 0, names[np.maximum(k, 0)], ""),
        "own_points": per_pct[i, li], "peer_points": peer_points[i, li], "zero_sum": zero_sum})
    return marginal, weights, peers


def _exposure_counts(cf: Counterfactuals, exposure: pd.DataFrame) -> pd.DataFrame:
    rows = []
    comb = cf.combined
    for t in cf.targets:
        for want in ("gain", "lose"):
            units = comb.loc[(comb["target"] == t.key) & (comb["want"] == want), "unit"]
            if units.empty:
                continue
            hit = exposure[(exposure["target"] == t.key) & (exposure["want"] == want)]
            row = {"target": t.key, "target_label": t.label, "want": want,
                   "units": int(units.nunique()), "units_within": int(hit["unit"].nunique())}
            for node in cf.space.ids:
                row[node] = int(hit.loc[hit["node"] == node, "unit"].nunique())
            rows.append(row)
    return pd.DataFrame(rows, columns=["target", "target_label", "want", "units", "units_within",
                                       *cf.space.ids])
