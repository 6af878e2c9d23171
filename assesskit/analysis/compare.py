"""Compare evaluations of the same units under different schemes (方案比较): who moves, who is named.

A policy researcher changes one design choice — typically the weights, with
:func:`assesskit.analysis.weights.apply` — and wants to know what it does to the people assessed: how far
the ranking moves, and above all which units would have been praised (通报表扬) or summoned for a
talk (约谈) under one scheme and not under another. :func:`compare` takes several
:class:`~assesskit.engine.evaluation.Evaluation` objects of the same dataset and period and returns a
:class:`Comparison` of tidy tables.

Examples
--------
>>> import assesskit as ak
>>> from assesskit import weights
>>> ds = ak.datasets.load("sichuan-39")                                     # doctest: +SKIP
>>> official = ak.load_scheme("sichuan-39")                                 # doctest: +SKIP
>>> entropy = weights.apply(official, "entropy", ds, 2025, node="task")     # doctest: +SKIP
>>> cmp = ak.compare({"official": ak.evaluate(official, ds, 2025),
...                   "entropy": ak.evaluate(entropy, ds, 2025)})           # doctest: +SKIP
>>> cmp.outcome_changes                                                     # doctest: +SKIP
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd
from scipy import stats

from ..engine.evaluation import Evaluation
from ..errors import DataError, Problem

__all__ = ["Comparison", "compare"]

#: Value of the ``group`` column on rows that cover every unit of a level (not one group).
ALL_UNITS = "(all units)"

_UNIT_COLUMNS = ["level", "unit", "name", "group", "subgroup"]
_RESULT_COLUMNS = ["score", "rank", "group_rank", "outcome", "outcome_label"]


@dataclass
class Comparison:
    """Several evaluations of the same units side by side, as tidy tables.

    Attributes
    ----------
    baseline : str
        Name of the evaluation every other is compared with (the first one given by default).
    schemes : list of str
        Names of all evaluations, baseline first, in the order given.
    scores : DataFrame
        Long table, one row per scheme and unit: scheme, level, unit, name, group, subgroup,
        score, rank (within the level), group_rank (within the unit's comparison group),
        outcome (consequence key: ``"praised"``, ``"summoned"`` ... or ``""``) and outcome_label
        (the scheme's Chinese label, e.g. 通报表扬).
    correlations : DataFrame
        Rank agreement of every pair of schemes: level, group (a group name, or
        :data:`ALL_UNITS` for the whole level), scheme_a, scheme_b, n (units), spearman
        (Spearman's ρ) and kendall (Kendall's τ-b). Per group they compare ``group_rank``, over
        the level ``rank``. NaN when a group has fewer than 2 units or one scheme ranks all of
        them equal (the coefficient is undefined).
    rank_shifts : DataFrame
        One row per alternative scheme and unit: level, unit, name, group, subgroup, scheme,
        baseline_score, score, baseline_group_rank, group_rank, group_rank_shift, baseline_rank,
        rank, rank_shift, baseline_outcome, outcome. A shift is ``baseline rank - rank``: the
        number of places the unit **gains** under the alternative (negative: it falls).
    outcome_changes : DataFrame
        Units that enter or leave a consequence list under an alternative: level, scheme,
        consequence, label, change (``"enters"`` or ``"leaves"``), unit, name, group, subgroup,
        baseline_group_rank, group_rank, baseline_outcome, outcome. Empty when no list changes.
    weights : DataFrame
        Nominal global weight of every leaf under each scheme (see
        :func:`assesskit.analysis.weights.official`): level, node, label, scheme, weight.
    """

    baseline: str
    schemes: list[str]
    scores: pd.DataFrame
    correlations: pd.DataFrame
    rank_shifts: pd.DataFrame
    outcome_changes: pd.DataFrame
    weights: pd.DataFrame

    @property
    def outcomes(self) -> pd.DataFrame:
        """Wide table: one row per unit, the outcome label (通报表扬, 约谈 or "") under each scheme.

        Only units with an outcome under at least one scheme are listed, ordered by level, group
        and baseline group rank.
        """
        wide = self.scores.pivot_table(index=_UNIT_COLUMNS, columns="scheme",
                                       values="outcome_label", aggfunc="first", sort=False)
        wide = wide[self.schemes]
        wide.columns.name = None
        wide = wide[(wide != "").any(axis=1)].reset_index()
        base = self.scores[self.scores["scheme"] == self.baseline]
        order = base.set_index(["level", "unit"])["group_rank"]
        wide["_r"] = pd.MultiIndex.from_frame(wide[["level", "unit"]]).map(order)
        for col in ("level", "group"):  # in order of appearance, not alphabetical
            wide[f"_{col}"] = wide[col].map({v: i for i, v in enumerate(dict.fromkeys(base[col]))})
        return (wide.sort_values(["_level", "_group", "_r", "unit"], kind="mergesort")
                .drop(columns=["_r", "_level", "_group"]).reset_index(drop=True))

    def weight_matrix(self, level: str | None = None) -> pd.DataFrame:
        """Nominal global leaf weights, leaves (rows, by node id) × schemes (columns).

        Parameters
        ----------
        level : str, optional
            Assessed level; default the first level compared.

        Returns
        -------
        DataFrame
            Index ``node``; columns the schemes in order; ``attrs["labels"]`` maps each node id to
            its label (the Chinese name), as :func:`assesskit.report.plotting.plot_weights_heatmap` uses.
        """
        level = level or self.scores["level"].iloc[0]
        part = self.weights[self.weights["level"] == level]
        if part.empty:
            raise DataError(f"no level {level!r} in this comparison; levels: "
                            f"{list(dict.fromkeys(self.weights['level']))}")
        wide = part.pivot_table(index="node", columns="scheme", values="weight", sort=False)
        wide = wide[[s for s in self.schemes if s in wide.columns]]
        wide.columns.name = None
        wide.attrs["labels"] = dict(zip(part["node"], part["label"], strict=True))
        return wide

    def summary(self) -> str:
        """Plain text for people: per alternative, rank agreement, places moved, lists changed."""
        lines = [f"Comparison with {self.baseline!r} ({len(self.schemes) - 1} alternative(s))"]
        corr = self.correlations
        for level in dict.fromkeys(self.scores["level"]):
            lines.append(f"[{level}]")
            for alt in self.schemes[1:]:
                row = corr[(corr["level"] == level) & (corr["group"] == ALL_UNITS)
                           & (corr["scheme_a"] == self.baseline) & (corr["scheme_b"] == alt)]
                sh = self.rank_shifts[(self.rank_shifts["level"] == level)
                                      & (self.rank_shifts["scheme"] == alt)]
                moved = sh["group_rank_shift"].abs()
                lines.append(
                    f"  {alt}: Spearman {row['spearman'].iloc[0]:.3f}, Kendall "
                    f"{row['kendall'].iloc[0]:.3f} over the level; mean |shift| in group rank "
                    f"{moved.mean():.2f} places, largest {moved.max():g}; "
                    f"{int((moved > 0).sum())} of {len(sh)} units change group rank")
                ch = self.outcome_changes[(self.outcome_changes["level"] == level)
                                          & (self.outcome_changes["scheme"] == alt)]
                for (label, change), g in ch.groupby(["label", "change"], sort=False):
                    names = "、".join(g["name"])
                    lines.append(f"    {change} {label}: {names}")
        return "\n".join(lines)

    def to_frame(self) -> pd.DataFrame:
        """The rank shifts of every unit under every alternative (:attr:`rank_shifts`)."""
        return self.rank_shifts

    def plot(self, group: str | None = None, **kwargs):
        """Slope chart of the ranks under each scheme (see
        :func:`assesskit.report.plotting.plot_rank_shift`)."""
        from ..report.plotting import plot_rank_shift  # the report layer, on call only

        return plot_rank_shift(self, group, **kwargs)

    def _repr_html_(self) -> str:
        head = html.escape(self.summary()).replace("\n", "<br>")
        return f"<p>{head}</p>" + self.correlations.to_html(index=False, escape=True,
                                                              float_format="%.3f")

    def __repr__(self) -> str:
        return (f"Comparison(baseline={self.baseline!r}, schemes={self.schemes}, "
                f"outcome_changes={len(self.outcome_changes)})")


def compare(evaluations: Mapping[str, Evaluation], *, baseline: str | None = None,
            level: str | list[str] | None = None) -> Comparison:
    """Compare evaluations of the same dataset and period made under different schemes.

    Parameters
    ----------
    evaluations : mapping of str to Evaluation
        ``{"official": ev1, "entropy": ev2, ...}``: at least two, all of the same dataset and
        period and assessing the same units at every level compared. The names label the
        schemes in every table and plot.
    baseline : str, optional
        The name every alternative is compared with; default the first.
    level : str or list of str, optional
        Assessed level(s) to compare; default every level of the baseline evaluation.

    Returns
    -------
    Comparison
        Tables ``scores``, ``correlations``, ``rank_shifts``, ``outcome_changes``, ``weights``.

    Raises
    ------
    TypeError
        If a value is not an :class:`~assesskit.engine.evaluation.Evaluation` (the key is named).
    DataError
        Fewer than two evaluations, an unknown baseline or level, or evaluations of different
        datasets, periods or units — every difference is listed.

    Notes
    -----
    Spearman's ρ is Pearson's correlation of the ranks (ties share the mean rank); with no ties
    :math:`\\rho = 1 - 6 \\sum_i d_i^2 / (n (n^2 - 1))`, d_i the difference in rank of unit i.
    Kendall's τ-b is
    :math:`(n_c - n_d) / \\sqrt{(n_0 - n_1)(n_0 - n_2)}` with n_c concordant and n_d discordant
    pairs, :math:`n_0 = n(n-1)/2` and n_1, n_2 the pairs tied in each ranking
    (:func:`scipy.stats.spearmanr`, :func:`scipy.stats.kendalltau`). The ranks compared are the
    ones each scheme publishes, so its tie rules (decimals, tie-break nodes) are respected.

    A unit "enters" a consequence list (praised, summoned, ...) under an alternative if it is on
    the list there and not under the baseline, and "leaves" it in the opposite case. Quotas are
    per group (and subgroup), so a unit can enter only by displacing another: the table shows
    both.

    Examples
    --------
    >>> cmp = compare({"official": ev_official, "entropy": ev_entropy})   # doctest: +SKIP
    >>> cmp.correlations.query("group == '(all units)'")                  # doctest: +SKIP
    """
    evs = _check_evaluations(evaluations)
    names = list(evs)
    if baseline is None:
        baseline = names[0]
    if baseline not in evs:
        raise DataError(f"baseline {baseline!r} is not one of the evaluations compared: {names}")
    names = [baseline] + [n for n in names if n != baseline]
    levels = _levels(evs[baseline], level)
    scores = _scores(evs, names, levels)
    group_levels = {lv for lv in levels
                    if evs[baseline].scheme.levels[lv].ranking.get("group_by")}
    correlations = _correlations(scores, names, levels, group_levels)
    shifts = _rank_shifts(scores, names, baseline)
    changes = _outcome_changes(shifts)
    weight_table = _weights(evs, names, levels)
    scores, shifts, changes = (_whole_ranks(t) for t in (scores, shifts, changes))
    return Comparison(baseline, names, scores, correlations, shifts, changes, weight_table)


# ---------------------------------------------------------------------------------- internals
def _check_evaluations(evaluations) -> dict[str, Evaluation]:
    if not isinstance(evaluations, Mapping):
        raise TypeError("compare() takes a mapping {name: Evaluation}, e.g. "
                        "{'official': ev1, 'entropy': ev2}")
    evs = {str(k): v for k, v in evaluations.items()}
    for name, ev in evs.items():
        if not isinstance(ev, Evaluation):
            raise TypeError(f"evaluation {name!r} is a {type(ev).__name__}, not an assesskit "
                            "Evaluation (make one with assesskit.evaluate)")
    if len(evs) < 2:
        raise DataError(f"compare needs at least two evaluations, got {len(evs)}")
    first_name, first = next(iter(evs.items()))
    problems = []
    for name, ev in evs.items():
        if ev.dataset != first.dataset:
            problems.append(Problem(f"evaluation {name!r} is of dataset {ev.dataset!r}, "
                                    f"{first_name!r} of {first.dataset!r}; compare one dataset"))
        if ev.period != first.period:
            problems.append(Problem(f"evaluation {name!r} is for period {ev.period!r}, "
                                    f"{first_name!r} for {first.period!r}; compare one period"))
    if problems:
        raise DataError(problems, title="the evaluations are not comparable")
    return evs


def _levels(ev: Evaluation, level) -> list[str]:
    present = list(dict.fromkeys(ev.scores["level"]))
    if level is None:
        return present
    wanted = [level] if isinstance(level, str) else list(level)
    unknown = [lv for lv in wanted if lv not in present]
    if unknown:
        raise DataError(f"level(s) {unknown} not in the baseline evaluation; levels: {present}")
    return wanted


def _scores(evs: dict[str, Evaluation], names: list[str], levels: list[str]) -> pd.DataFrame:
    frames = []
    problems = []
    base = evs[names[0]].scores
    for name in names:
        s = evs[name].scores
        for lv in levels:
            want = set(base.loc[base["level"] == lv, "unit"])
            have = set(s.loc[s["level"] == lv, "unit"])
            if have != want:
                missing, extra = sorted(want - have), sorted(have - want)
                problems.append(Problem(
                    f"evaluation {name!r} assesses other {lv} units than {names[0]!r}"
                    + (f"; missing: {missing}" if missing else "")
                    + (f"; extra: {extra}" if extra else "")
                    + "; compare evaluations of the same units (same dataset, same unit filter)"))
        part = s[s["level"].isin(levels)][_UNIT_COLUMNS + _RESULT_COLUMNS]
        frames.append(part.assign(scheme=name))
    if problems:
        raise DataError(problems, title="the evaluations are not comparable")
    out = pd.concat(frames, ignore_index=True)
    out = out[["scheme", *_UNIT_COLUMNS, *_RESULT_COLUMNS]]
    for col in ("rank", "group_rank"):
        out[col] = out[col].astype(float)
    return out


def _whole_ranks(frame: pd.DataFrame) -> pd.DataFrame:
    """Rank and shift columns as whole numbers when they are (ties by "average" are not)."""
    frame = frame.copy()
    for col in frame.columns:
        if "rank" in col and pd.api.types.is_float_dtype(frame[col]):
            v = frame[col].to_numpy()
            if np.isfinite(v).all() and (v == np.round(v)).all():
                frame[col] = v.astype(np.int64)
    return frame


def _rank_corr(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Spearman's rho and Kendall's tau-b; NaN where undefined (n < 2 or a constant ranking)."""
    if len(a) < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return np.nan, np.nan
    return float(stats.spearmanr(a, b).statistic), float(stats.kendalltau(a, b).statistic)


def _correlations(scores: pd.DataFrame, names: list[str], levels: list[str],
                  group_levels: set[str]) -> pd.DataFrame:
    rows = []
    for lv in levels:
        part = scores[scores["level"] == lv]
        # unit order fixed by the baseline, so the arrays of two schemes line up
        table = {n: part[part["scheme"] == n].set_index("unit") for n in names}
        units = table[names[0]].index
        scopes = [(ALL_UNITS, "rank", units)]
        if lv in group_levels:
            groups = table[names[0]]["group"]
            scopes += [(g, "group_rank", groups.index[groups == g])
                       for g in dict.fromkeys(groups)]
        for group, col, members in scopes:
            for a, b in combinations(names, 2):
                ra = table[a].loc[members, col].to_numpy(dtype=float)
                rb = table[b].loc[members, col].to_numpy(dtype=float)
                rho, tau = _rank_corr(ra, rb)
                rows.append({"level": lv, "group": group, "scheme_a": a, "scheme_b": b,
                             "n": len(members), "spearman": rho, "kendall": tau})
    return pd.DataFrame(rows, columns=["level", "group", "scheme_a", "scheme_b", "n",
                                       "spearman", "kendall"])


def _rank_shifts(scores: pd.DataFrame, names: list[str], baseline: str) -> pd.DataFrame:
    base = scores[scores["scheme"] == baseline].drop(columns="scheme")
    base = base.rename(columns={"score": "baseline_score", "rank": "baseline_rank",
                                "group_rank": "baseline_group_rank",
                                "outcome": "baseline_outcome",
                                "outcome_label": "baseline_outcome_label"})
    alts = scores[scores["scheme"] != baseline][["scheme", "level", "unit", *_RESULT_COLUMNS]]
    out = base.merge(alts, on=["level", "unit"], how="inner", validate="one_to_many")
    out["group_rank_shift"] = out["baseline_group_rank"] - out["group_rank"]
    out["rank_shift"] = out["baseline_rank"] - out["rank"]
    order = {n: i for i, n in enumerate(names)}
    out["_s"] = out["scheme"].map(order)
    base_pos = {k: i for i, k in enumerate(zip(base["level"], base["unit"], strict=True))}
    out["_u"] = [base_pos[k] for k in zip(out["level"], out["unit"], strict=True)]
    out = out.sort_values(["_s", "_u"], kind="mergesort").drop(columns=["_s", "_u"])
    cols = ["level", "unit", "name", "group", "subgroup", "scheme", "baseline_score", "score",
            "baseline_group_rank", "group_rank", "group_rank_shift", "baseline_rank", "rank",
            "rank_shift", "baseline_outcome", "outcome", "baseline_outcome_label",
            "outcome_label"]
    return out[cols].reset_index(drop=True)


def _outcome_changes(shifts: pd.DataFrame) -> pd.DataFrame:
    """Per unit and consequence: entering or leaving its list. A unit can hold several
    consequences at once (a top place and a grade; ``"praised+reminded"``): each is compared on
    its own, so a unit that keeps its reminder but loses its praise only "leaves" the praise."""
    cols = ["level", "scheme", "consequence", "label", "change", "unit", "name", "group",
            "subgroup", "baseline_group_rank", "group_rank", "baseline_outcome", "outcome"]

    def keyed(outcome, label) -> dict:
        keys = [k for k in str(outcome).split("+") if k]
        labels = str(label).split("、") if keys else []
        return dict(zip(keys, labels if len(labels) == len(keys) else keys, strict=True))

    rows = []
    differ = shifts[shifts["baseline_outcome"] != shifts["outcome"]]
    for r in differ.itertuples(index=False):
        base = keyed(r.baseline_outcome, r.baseline_outcome_label)
        alt = keyed(r.outcome, r.outcome_label)
        for key in [k for k in base if k not in alt]:
            rows.append((r, key, base[key], "leaves", 0, r.baseline_group_rank))
        for key in [k for k in alt if k not in base]:
            rows.append((r, key, alt[key], "enters", 1, r.group_rank))
    if not rows:
        return pd.DataFrame(columns=cols)
    out = pd.DataFrame([{**r._asdict(), "consequence": key, "label": label, "change": change,
                         "_c": c, "_r": rank} for r, key, label, change, c, rank in rows])
    # levels, schemes and groups in their order of appearance; "leaves" before "enters"; by rank
    for col in ("level", "scheme", "group"):
        order = {v: i for i, v in enumerate(dict.fromkeys(shifts[col]))}
        out[f"_{col}"] = out[col].map(order)
    out = out.sort_values(["_level", "_scheme", "consequence", "_c", "_group", "_r", "unit"],
                          kind="mergesort")
    return out[cols].reset_index(drop=True)


def _weights(evs: dict[str, Evaluation], names: list[str], levels: list[str]) -> pd.DataFrame:
    from .weights.schemes import official

    frames = []
    for name in names:
        scheme = evs[name].scheme
        for lv in levels:
            w = official(scheme, level=lv)
            labels = {n.id: n.label or n.id for n in scheme.levels[lv].root.walk()}
            frames.append(pd.DataFrame({"level": lv, "node": w.index.astype(str),
                                        "label": [labels[i] for i in w.index],
                                        "scheme": name, "weight": w.to_numpy()}))
    return pd.concat(frames, ignore_index=True)
