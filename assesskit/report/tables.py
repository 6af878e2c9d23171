"""The tables and sentences of the report pages, computed from an evaluation.

Each function takes engine results (an :class:`~assesskit.engine.evaluation.Evaluation`, the
:func:`~assesskit.evaluate_periods` history, an uncertainty run) and returns a tidy DataFrame or
plain facts; the notebooks render them (:mod:`assesskit.report.render`). Nothing is scored or
ranked here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import AssessKitError
from .safe import is_missing

#: Kinds of contribution rows that add up to a unit's score (see Evaluation.contributions).
SCORE_ROWS = ("leaf", "rollup", "shared", "deduction", "coefficient", "veto")


# ---------------------------------------------------------------------- consequences
def consequence_sides(scheme, level: str) -> dict[str, str]:
    """Consequence key -> ``"top"`` (a list from the top of the ranking, e.g. praised) or
    ``"bottom"`` (e.g. summoned).

    A consequence by grade is ``"bottom"`` when it takes the lowest grade of the scheme's bands
    (e.g. Jincheng's reminder talk for 一般 and 较差), else ``"top"``.
    """
    spec = scheme.levels[level]
    bands = [b[1] for b in (spec.grades or {}).get("bands", [])]
    sides = {}
    for key, body in spec.consequences.items():
        if not isinstance(body, dict) or key == "veto":
            continue
        if "top" in body:
            sides[key] = "top"
        elif "bottom" in body:
            sides[key] = "bottom"
        elif "grades" in body:
            wanted = body["grades"] if isinstance(body["grades"], list) else [body["grades"]]
            sides[key] = "bottom" if bands and bands[-1] in wanted else "top"
    return sides


def quota_table(scheme, level: str) -> pd.DataFrame:
    """The quotas of a level's consequences: consequence, label, side, group, subgroup, n.

    ``subgroup`` is empty for a quota on the whole group; a row per subgroup when the scheme
    splits the group's quota (Sichuan's plateau: 阿坝州 and 甘孜州).
    """
    spec = scheme.levels[level]
    rows = []
    for key, body in spec.consequences.items():
        if not isinstance(body, dict) or key == "veto":
            continue
        for side in ("top", "bottom"):
            raw = body.get(side)
            if raw is None:
                continue
            items = raw.items() if isinstance(raw, dict) else [("*", raw)]
            for group, n in items:
                subs = n.items() if isinstance(n, dict) else [("", n)]
                for sub, m in subs:
                    rows.append({"consequence": key, "label": body.get("label", key),
                                 "side": side, "group": "" if group == "*" else str(group),
                                 "subgroup": str(sub), "n": int(m)})
    return pd.DataFrame(rows, columns=["consequence", "label", "side", "group", "subgroup", "n"])


def levels_of(ev) -> list[str]:
    """Assessed levels of an evaluation, in the scheme's order."""
    return list(dict.fromkeys(ev.scores["level"]))


def groups_of(ev, level: str) -> list[str]:
    """Groups of a level in the order of the data (one group named like the level counts too)."""
    return list(dict.fromkeys(ev.scores.loc[ev.scores["level"] == level, "group"]))


def has_group_pages(ev, level: str) -> bool:
    """True when a level is ranked within more than one group (Sichuan's counties)."""
    return bool(ev.scheme.levels[level].ranking.get("group_by")) and len(groups_of(ev, level)) > 1


# ---------------------------------------------------------------------- results by group
RESULT_COLUMNS = ["group_rank", "subgroup", "subgroup_rank", "name", "unit", "score", "grade",
                  "outcome", "outcome_label", "rank"]


def results_table(ev, level: str, group: str | None = None) -> pd.DataFrame:
    """Ranked results of one level (one group, or every group), best first within each group.

    Returns
    -------
    DataFrame
        ``group``, ``group_rank``, ``subgroup``, ``subgroup_rank`` (empty when the scheme has no
        subgroups), ``name``, ``unit``, ``score``, ``grade``, ``outcome`` (consequence key),
        ``outcome_label`` (the scheme's Chinese label), ``rank`` (within the level), ``side``
        (``top``/``bottom``/``""``).
    """
    s = ev.scores[ev.scores["level"] == level]
    if group is not None:
        if group not in set(s["group"]):
            raise AssessKitError(f"no group {group!r} at level {level!r}; groups: "
                                 f"{', '.join(map(str, dict.fromkeys(s['group'])))}")
        s = s[s["group"] == group]
    order = {g: i for i, g in enumerate(dict.fromkeys(s["group"]))}
    s = s.assign(_g=s["group"].map(order)).sort_values(["_g", "group_rank", "unit"],
                                                       kind="mergesort")
    out = s[["group", *RESULT_COLUMNS]].reset_index(drop=True)
    sides = consequence_sides(ev.scheme, level)
    out["side"] = [sides.get(o, "") for o in out["outcome"]]
    return out


def subgroup_explanations(ev, level: str, group: str | None = None) -> list[dict]:
    """Why a unit with a worse group rank gets a consequence another unit does not.

    When a scheme splits a group's quota by subgroup (Sichuan's plateau: praise and summons per
    prefecture), a unit can be praised at group rank 9 while one at rank 8 is not. Returns one
    dict per such pair (the closest pair of each consequence and group): ``group``,
    ``consequence``, ``label``, ``with_outcome`` and ``without`` (each a dict of name, unit,
    group_rank, subgroup, subgroup_rank) and the quotas of the two subgroups.
    """
    quotas = quota_table(ev.scheme, level)
    split = quotas[quotas["subgroup"] != ""]
    table = results_table(ev, level, group)
    out = []
    for (g, key), q in split.groupby(["group", "consequence"], sort=False):
        members = table[table["group"] == g]
        if members.empty:
            continue
        side = q["side"].iloc[0]
        has = members[members["outcome"] == key]
        lacks = members[(members["outcome"] != key)]
        if has.empty or lacks.empty:
            continue
        if side == "top":  # a praised unit ranked below a unit that is not praised
            worst_with = has.sort_values("group_rank").iloc[-1]
            better_without = lacks[lacks["group_rank"] < worst_with["group_rank"]]
            if better_without.empty:
                continue
            other = better_without.sort_values("group_rank").iloc[-1]
        else:  # a summoned unit ranked above a unit that is not summoned
            best_with = has.sort_values("group_rank").iloc[0]
            worse_without = lacks[lacks["group_rank"] > best_with["group_rank"]]
            if worse_without.empty:
                continue
            worst_with, other = best_with, worse_without.sort_values("group_rank").iloc[0]
        n_of = dict(zip(q["subgroup"], q["n"], strict=True))

        def who(r):
            return {k: r[k] for k in ("name", "unit", "group_rank", "subgroup", "subgroup_rank")}

        out.append({"group": g, "consequence": key, "label": q["label"].iloc[0], "side": side,
                    "with_outcome": who(worst_with), "without": who(other),
                    "quota_with": n_of.get(worst_with["subgroup"]),
                    "quota_without": n_of.get(other["subgroup"])})
    return out


# ---------------------------------------------------------------------- changes and rules
def changes_table(ev, previous, level: str, group: str | None = None) -> pd.DataFrame:
    """Each unit's score, group rank and outcome in the previous period and now.

    Returns
    -------
    DataFrame
        ``group``, ``name``, ``unit``, ``score_before``, ``score``, ``score_change``,
        ``rank_before``, ``group_rank``, ``rank_change`` (positive = moved up), ``outcome_before``,
        ``outcome_label``, ``outcome_changed``; units not assessed in the previous period have
        empty ``*_before`` cells. Sorted by group and current group rank.
    """
    now = results_table(ev, level, group)
    before = previous.scores[previous.scores["level"] == level].set_index("unit")
    out = now[["group", "name", "unit", "score", "group_rank", "outcome_label"]].copy()
    out["score_before"] = out["unit"].map(before["score"])
    out["rank_before"] = out["unit"].map(before["group_rank"]).astype("Float64")
    out["outcome_before"] = out["unit"].map(before["outcome_label"]).fillna("")
    out["score_change"] = out["score"] - out["score_before"]
    out["rank_change"] = out["rank_before"] - out["group_rank"].astype("Float64")
    out["outcome_changed"] = out["unit"].isin(before.index) & (
        out["outcome_before"] != out["outcome_label"])
    return out[["group", "name", "unit", "score_before", "score", "score_change", "rank_before",
                "group_rank", "rank_change", "outcome_before", "outcome_label",
                "outcome_changed"]]


def fired_rules(history, period: str, units=None) -> pd.DataFrame:
    """Multi-period rules that fire in ``period`` (e.g. Jincheng: bottom two years in a row).

    Parameters
    ----------
    history : PeriodEvaluations
        From :func:`assesskit.evaluate_periods`.
    period : str
    units : iterable of str, optional
        Only these units.

    Returns
    -------
    DataFrame
        ``flags`` rows of ``period``: unit, name, level, period, rule, label, streak.
    """
    flags = history.flags
    out = flags[flags["period"] == period]
    if units is not None:
        out = out[out["unit"].isin(list(units))]
    return out.reset_index(drop=True)


def rules_of(scheme) -> list[dict]:
    """The multi-period rules of every level: level, name, label, when, consecutive."""
    return [{"level": level, **rule} for level, spec in scheme.levels.items()
            for rule in spec.rules]


def describe_condition(when: dict) -> str:
    """A rule's condition in words, e.g. ``{"bottom": 1}`` -> "among the last 1 of its group"."""
    parts = []
    if "bottom" in when:
        parts.append(f"among the last {when['bottom']} of its group")
    for key in ("outcome", "grade"):
        if key in when:
            values = when[key] if isinstance(when[key], list) else [when[key]]
            parts.append(f"{key} {' or '.join(map(str, values))}")
    return " and ".join(parts) or str(when)


def traffic_light_table(ev, units=None) -> pd.DataFrame:
    """Progress against the scheme's time schedule, one row per unit and indicator, one column
    per sub-period (the light: green, yellow, red or no data). Empty without a schedule."""
    lights = ev.traffic_lights
    if units is not None:
        lights = lights[lights["unit"].isin(list(units))]
    if lights.empty:
        return pd.DataFrame()
    wide = lights.pivot_table(index=["unit", "name", "level", "indicator"], columns="period",
                              values="light", aggfunc="first", sort=False)
    wide.columns = [str(c) for c in wide.columns]
    return wide.reset_index()


def missing_decisions(ev, units=None) -> pd.DataFrame:
    """Every missing value the engine met and what the scheme's policy did with it.

    Returns
    -------
    DataFrame
        level, unit, name, node, period, policy, note (from the log's ``missing`` steps).
    """
    rows = [e for e in ev.log if e.get("step") == "missing"]
    frame = pd.DataFrame(rows, columns=["level", "unit", "node", "period", "policy", "note"])
    if units is not None:
        frame = frame[frame["unit"].isin(list(units))]
    names = ev.scores.drop_duplicates("unit").set_index("unit")["name"]
    frame.insert(2, "name", frame["unit"].map(names).fillna(""))
    return frame.reset_index(drop=True)


def assumptions(scheme) -> pd.DataFrame:
    """The scheme's assumptions where its source is silent: id, text."""
    rows = scheme.spec.get("assumptions") or []
    return pd.DataFrame([{"id": str(a.get("id", "")), "text": " ".join(str(a.get("text", "")).split())}
                         for a in rows], columns=["id", "text"])


def uncertainty_table(result, group: str | None = None) -> pd.DataFrame:
    """An uncertainty run's ranks table, one group or all, by group and official rank."""
    ranks = result.ranks
    if group is not None:
        ranks = ranks[ranks["group"] == group]
    order = {g: i for i, g in enumerate(dict.fromkeys(ranks["group"]))}
    return (ranks.assign(_g=ranks["group"].map(order))
            .sort_values(["_g", "nominal_rank", "unit"], kind="mergesort")
            .drop(columns="_g").reset_index(drop=True))


# ---------------------------------------------------------------------- one unit
def unit_row(ev, unit: str) -> pd.Series | None:
    """The unit's row of ``ev.scores``, or None if the scheme does not assess it this period."""
    hit = ev.scores[ev.scores["unit"] == str(unit)]
    return None if hit.empty else hit.iloc[0]


def scoring_basis(ev, unit: str, indicators: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every node of one unit's score: value, score, weight, points, points lost and the reason.

    ``indicators`` (the dataset's indicators table) supplies each value's unit of measure.

    Returns
    -------
    DataFrame
        ``node``, ``label``, ``depth`` (0 = first level under the total), ``kind``,
        ``indicator``, ``unit_of_measure``, ``raw_value``, ``missing`` (True when the value was
        not reported), ``score``, ``weight``, ``points``, ``max_points``, ``points_lost``,
        ``reason``; nodes that do not apply to the unit (weight 0 by design) are left out. Rows
        whose kind is in :data:`SCORE_ROWS` add up to the score.
    """
    c = ev.contributions
    rows = c[c["unit"] == str(unit)].copy()
    rows = rows[~((rows["max_points"] == 0) & rows["score"].isna() & rows["raw_value"].isna()
                  & rows["kind"].isin(["leaf", "group", "rollup", "shared"])
                  & ~rows["reason"].str.contains("missing", case=False))]
    notes = {e["node"] for e in ev.log if e.get("step") == "missing" and e.get("unit") == str(unit)}
    rows["missing"] = rows["node"].isin(notes) | (
        rows["kind"].isin(["leaf", "shared"]) & rows["raw_value"].isna())
    units_of = {}
    if indicators is not None and "unit_of_measure" in indicators:
        units_of = dict(zip(indicators["indicator"], indicators["unit_of_measure"].fillna(""),
                            strict=True))
    rows["unit_of_measure"] = [str(units_of.get(code, "") or "") for code in rows["indicator"]]
    return rows[["node", "label", "depth", "kind", "indicator", "unit_of_measure", "raw_value",
                 "missing", "score", "weight", "points", "max_points", "points_lost",
                 "reason"]].reset_index(drop=True)


def points_lost(basis: pd.DataFrame) -> pd.DataFrame:
    """The rows of a scoring basis that cost the unit points, largest loss first.

    Deductions count as lost points; an evaluation coefficient above 1 as a gain (a negative
    loss). The losses add up to the maximum minus the score.
    """
    rows = basis[basis["kind"].isin(SCORE_ROWS)].copy()
    rows["lost"] = np.where(rows["kind"].isin(["deduction", "coefficient", "veto"]),
                            -rows["points"], rows["max_points"] - rows["points"])
    rows = rows[rows["lost"].abs() > 0.005]
    return rows.sort_values("lost", ascending=False, kind="mergesort").reset_index(drop=True)


def unit_trend(history, unit: str) -> pd.DataFrame:
    """One unit's score, ranks, grade and outcome in every period the history covers."""
    s = history.scores
    cols = ["period", "score", "rank", "group_rank", "subgroup_rank", "grade", "outcome_label",
            "group"]
    return s.loc[s["unit"] == str(unit), cols].reset_index(drop=True)


def peers(ev, unit: str) -> pd.DataFrame:
    """The units ranked with ``unit`` (its group at its level), with a column ``is_unit``."""
    row = unit_row(ev, unit)
    table = results_table(ev, row["level"], row["group"])
    table["is_unit"] = table["unit"] == str(unit)
    return table


def children(ev, data, unit: str) -> pd.DataFrame:
    """Assessed units whose parent is ``unit`` (a prefecture's counties), with their results."""
    kids = ev.scores[ev.scores["parent"].astype(str) == str(unit)]
    if kids.empty:
        return kids.assign(side="")
    frames = [results_table(ev, lv).pipe(lambda t: t[t["unit"].isin(kids["unit"])]).assign(level=lv)
              for lv in dict.fromkeys(kids["level"])]
    return pd.concat(frames, ignore_index=True)


def format_value(value: object, unit_of_measure: str = "", missing: bool = False) -> str:
    """A raw value as people read it; a missing value as 未报告 (not reported), never ``nan``."""
    if missing or is_missing(value):
        return "未报告 not reported"
    x = float(value)
    text = f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.4g}"
    return f"{text} {unit_of_measure}".strip()


def format_number(value: object, fmt: str = "{:.2f}", missing: str = "—") -> str:
    """A number with ``fmt``; a missing value as ``missing`` (an em dash), never ``nan``."""
    return missing if is_missing(value) else fmt.format(float(value))
