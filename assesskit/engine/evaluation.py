"""Evaluate a scheme on a dataset: scores, grouped ranks, quotas, grades, explanations and a log.

:func:`evaluate` is the one verb; it returns an :class:`Evaluation` whose tables are tidy
DataFrames. :func:`evaluate_periods` evaluates a range of periods and applies rules that span
several of them (Jincheng: bottom two years in a row → adjustment of the principal).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..data.model import Dataset, normalise_period, period_frequency, sub_periods
from ..errors import DataError, SchemeError
from ..scheme.model import LevelSpec, Scheme, load_scheme
from .level import UNIT_OUT_COLUMNS, LevelResult, score_level

NOT_APPLICABLE = "does not apply to this unit (weight 0)"
SCORE_DECIMALS = 6  # scores equal to this many decimals are ties unless the scheme says otherwise


# ---------------------------------------------------------------------- ranking
def rank_within(scores: pd.DataFrame, by: list[str], ties: dict, tiebreak: pd.DataFrame | None,
                column: str = "score") -> pd.Series:
    """Rank units (1 = best) within the groups formed by ``by`` columns.

    Parameters
    ----------
    scores : DataFrame
        One row per unit with ``unit``, ``column`` and the ``by`` columns.
    by : list of str
        Grouping columns (empty: rank everyone together).
    ties : dict
        ``method``: ``min`` (equal scores share the better rank: 1, 2, 2, 4 — the default),
        ``average`` (1, 2.5, 2.5, 4), ``dense`` (1, 2, 2, 3) or ``first`` (no shared ranks:
        ordered by the tie-break nodes, then by unit id); ``decimals``: precision at which scores
        are compared (default 6); ``break_by``: node ids whose scores decide between equal totals,
        in order, before ``method`` applies.
    tiebreak : DataFrame, optional
        Columns named by ``ties['break_by']``, aligned with ``scores``.
    """
    method = ties.get("method", "min")
    if method not in ("min", "average", "dense", "first"):
        raise SchemeError("ties.method must be min, average, dense or first", key="ranking.ties.method")
    frame = pd.DataFrame({"unit": scores["unit"].to_numpy(),
                          "_s": scores[column].round(ties.get("decimals", SCORE_DECIMALS)).to_numpy()})
    keys = ["_s"]
    for i, nid in enumerate(ties.get("break_by", []) or []):
        frame[f"_t{i}"] = tiebreak[nid].round(ties.get("decimals", SCORE_DECIMALS)).to_numpy()
        keys.append(f"_t{i}")
    for c in by:
        frame[c] = scores[c].to_numpy()
    frame["_pos"] = np.arange(len(frame))
    ordered = frame.sort_values(by + keys + ["unit"], ascending=[True] * len(by) + [False] * len(keys) + [True],
                                kind="mergesort")
    grouped = ordered.groupby(by, sort=False) if by else None
    position = (grouped.cumcount() if by else pd.Series(np.arange(len(ordered)), index=ordered.index)) + 1
    ordered["_p"] = position
    if method == "first":
        rank = ordered["_p"].astype(float)
    else:
        tie_groups = ordered.groupby(by + keys, sort=False)["_p"]
        if method == "min":
            rank = tie_groups.transform("min").astype(float)
        elif method == "average":
            rank = tie_groups.transform("mean").astype(float)
        else:  # dense: count distinct score keys above
            first = ~ordered.duplicated(by + keys)
            dense = first.astype(int).groupby([ordered[c] for c in by]).cumsum() if by else first.astype(int).cumsum()
            rank = dense.astype(float)
    return rank.reindex(frame.index).set_axis(scores.index)


def _quota_table(spec: LevelSpec, key: str, side: str, units: pd.DataFrame) -> list[dict]:
    """Normalise a quota spec into rows: group, subgroup (or None), n."""
    raw = spec.consequences[key].get(side)
    if raw is None:
        return []
    gb = spec.ranking.get("group_by")
    groups = sorted(units[gb].unique()) if gb else [""]
    path = f"levels.{spec.level}.consequences.{key}.{side}"
    if isinstance(raw, int):
        raw = {g: raw for g in groups}
    if not isinstance(raw, dict):
        raise SchemeError("a quota is a number or a mapping group -> number", key=path)
    rows = []
    for group, n in raw.items():
        group = "" if group == "*" else str(group)
        if group not in groups:
            raise SchemeError(f"quota for group {group!r}, but no assessed unit is in that group "
                              f"(groups: {groups})", key=f"{path}.{group}")
        members = units[units[gb] == group] if gb else units
        if isinstance(n, dict):
            sb = spec.ranking.get("subgroup_by")
            if not sb:  # without it no subgroup rank exists and the quota could not be applied
                raise SchemeError(f"quota for the subgroups of {group!r} needs ranking.subgroup_by "
                                  "(the units column holding the subgroups, e.g. subgroup)",
                                  key=f"{path}.{group}")
            for sub, m in n.items():
                size = int((members[sb] == str(sub)).sum())
                if size == 0:
                    raise SchemeError(f"quota for subgroup {sub!r} of {group!r}, which has no unit",
                                      key=f"{path}.{group}.{sub}")
                if not isinstance(m, int) or m < 0 or m > size:
                    raise SchemeError(f"quota {m!r} for subgroup {sub!r} of {group!r} is larger than "
                                      f"the subgroup ({size} units) or not a whole number",
                                      key=f"{path}.{group}.{sub}")
                rows.append({"group": group, "subgroup": str(sub), "n": m})
        else:
            if not isinstance(n, int) or n < 0 or n > len(members):
                raise SchemeError(f"quota {n!r} for group {group!r} is larger than the group "
                                  f"({len(members)} units) or not a whole number", key=f"{path}.{group}")
            rows.append({"group": group, "subgroup": None, "n": n})
    return rows


def apply_consequences(table: pd.DataFrame, spec: LevelSpec, log: list) -> pd.DataFrame:
    """Add ``outcome`` and ``outcome_label`` from the top-N / bottom-N quotas of the scheme."""
    table = table.copy()
    table["outcome"] = ""
    table["outcome_label"] = ""
    gb = spec.ranking.get("group_by")
    at_quota = spec.ranking.get("ties", {}).get("at_quota", "include")
    taken: dict[str, set] = {}
    for key, body in spec.consequences.items():
        if key == "veto" or not isinstance(body, dict):
            continue
        if "grades" in body:  # consequence of a grade (Jincheng: 一般/较差 -> reminder talk)
            wanted = body["grades"] if isinstance(body["grades"], list) else [body["grades"]]
            hit = table["grade"].isin(wanted)
            already = hit & (table["outcome"] != "")
            if already.any():
                log.append({"step": "consequence", "level": spec.level, "consequence": key,
                            "note": "units with another consequence keep it",
                            "units": sorted(table.loc[already, "unit"])})
            chosen = table[hit & (table["outcome"] == "")]
            table.loc[chosen.index, "outcome"] = key
            table.loc[chosen.index, "outcome_label"] = body.get("label", key)
            taken.setdefault("any", set()).update(chosen["unit"])
            log.append({"step": "consequence", "level": spec.level, "consequence": key,
                        "label": body.get("label", key), "grades": wanted, "units": sorted(chosen["unit"])})
            continue
        for side in ("top", "bottom"):
            for q in _quota_table(spec, key, side, table):
                in_group = (table[gb] == q["group"]) if gb else pd.Series(True, index=table.index)
                rank_col = "group_rank"
                if q["subgroup"] is not None:
                    in_group &= table[spec.ranking.get("subgroup_by", "subgroup")] == q["subgroup"]
                    rank_col = "subgroup_rank"
                members = table[in_group]
                if side == "top":
                    # Vetoed units are skipped and the next unit takes the place. A unit's place is
                    # 1 + the number of eligible units ranked strictly better, so tied units share a
                    # place whatever tie method the ranks show (dense ranks 1, 2, 2, 3 must not
                    # stretch a top-3 quota to 4 units; average ranks 2.5 must not shrink it).
                    eligible = members[~members["vetoed"]]
                    r = eligible[rank_col].to_numpy(dtype=float)
                    place = pd.Series(np.searchsorted(np.sort(r), r, side="left") + 1, index=eligible.index)
                    chosen = eligible[place <= q["n"]] if q["n"] else eligible.iloc[0:0]
                elif q["n"]:
                    # Bottom n: rank from the bottom, ties sharing the worse place (tie-break nodes are
                    # not reversed: a tie at the bottom boundary is shared unless ties.method is first).
                    reverse = members.assign(_neg=-members["score"])
                    ties = {**spec.ranking.get("ties", {}), "break_by": [],
                            "method": "first" if spec.ranking.get("ties", {}).get("method") == "first" else "min"}
                    place = rank_within(reverse, [], ties, None, column="_neg")
                    chosen = members[place <= q["n"]]
                else:
                    chosen = members.iloc[0:0]
                if len(chosen) > q["n"] and at_quota == "exclude":
                    # drop the units tied at the boundary (the chosen units with the last place)
                    at = place[chosen.index]
                    chosen = chosen.iloc[0:0] if q["n"] == 0 else chosen[at < at.max()]
                if len(chosen) != q["n"]:
                    log.append({"step": "quota", "level": spec.level, "consequence": key, "side": side,
                                "group": q["group"], "subgroup": q["subgroup"], "quota": q["n"],
                                "selected": len(chosen),
                                "note": "ties at the quota boundary or vetoed units changed the count"})
                clash = set(chosen["unit"]) & taken.get("any", set())
                if clash:
                    raise SchemeError(f"units {sorted(clash)} fall under two consequences; the quotas of "
                                      f"group {q['group']!r} overlap (top + bottom larger than the group)",
                                      key=f"levels.{spec.level}.consequences.{key}.{side}")
                taken.setdefault("any", set()).update(chosen["unit"])
                table.loc[chosen.index, "outcome"] = key
                table.loc[chosen.index, "outcome_label"] = body.get("label", key)
                log.append({"step": "quota", "level": spec.level, "consequence": key,
                            "label": body.get("label", key), "side": side, "group": q["group"],
                            "subgroup": q["subgroup"], "quota": q["n"], "units": sorted(chosen["unit"])})
    return table


def apply_grades(table: pd.DataFrame, spec: LevelSpec) -> pd.Series:
    """Grade per unit by score thresholds or by share of the group (vetoed units get the lowest)."""
    g = spec.grades
    if not g:
        return pd.Series("", index=table.index)
    bands = g["bands"]
    labels = [b[1] for b in bands]
    key = f"levels.{spec.level}.grades"
    if g.get("by", "score") == "score":
        cuts = [b[0] for b in bands]
        if any(a <= b for a, b in zip(cuts, cuts[1:], strict=False)):
            raise SchemeError("grade thresholds must decrease (best grade first)", key=f"{key}.bands")
        # a score equal to a threshold reaches that grade (>= cut)
        idx = np.searchsorted(-np.asarray(cuts, float), -table["score"].to_numpy(), side="left")
        grade = np.where(idx < len(labels), np.asarray(labels, dtype=object)[np.minimum(idx, len(labels) - 1)],
                         labels[-1])
    elif g["by"] == "share":
        shares = [b[0] for b in bands]
        gb = spec.ranking.get("group_by")
        size = table.groupby(gb)["unit"].transform("size") if gb else pd.Series(len(table), index=table.index)
        rank_col = "group_rank" if gb else "rank"
        frac = table[rank_col] / size  # a unit ranked r of n is in the top r/n
        idx = np.searchsorted(np.asarray(shares, float), frac.to_numpy() - 1e-12, side="left")
        grade = np.asarray(labels, dtype=object)[np.minimum(idx, len(labels) - 1)]
    else:
        raise SchemeError("grades.by must be score or share", key=f"{key}.by")
    grade = np.where(table["vetoed"].to_numpy(), labels[-1], grade)
    return pd.Series(grade, index=table.index)


# ---------------------------------------------------------------------- the result object
@dataclass
class Explanation:
    """The scoring basis of one unit: a table of every node and a text for people."""

    unit: str
    table: pd.DataFrame
    text: str

    def __str__(self) -> str:
        return self.text

    def _repr_html_(self) -> str:
        return f"<pre>{self.text}</pre>" + self.table.to_html(index=False)


@dataclass
class Evaluation:
    """Result of applying a scheme to a dataset for one period.

    Attributes
    ----------
    scheme : Scheme
    dataset : str
        Dataset name.
    period : str
    scores : DataFrame
        One row per assessed unit: unit, name, name_en, level, parent, group, subgroup, score,
        base_score (before deductions and coefficient), deductions, coefficient, vetoed, rank
        (within the level), group_rank, subgroup_rank, grade, outcome ("praised", "summoned" ... or
        ""), outcome_label (the scheme's Chinese label).
    log : list of dict
        Every rule and parameter applied, the full scheme and a fingerprint of the data.
    traffic_lights : DataFrame
        Progress against the time schedule (yellow reminder, red warning), if the scheme has one.
    """

    scheme: Scheme
    dataset: str
    period: str
    scores: pd.DataFrame
    log: list
    level_results: dict[str, LevelResult] = field(repr=False)
    sub_results: dict[str, dict[str, LevelResult]] = field(repr=False)
    traffic_lights: pd.DataFrame = field(default_factory=pd.DataFrame)
    _contributions: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def excluded(self) -> pd.DataFrame:
        """Units left out of the evaluation (``exclude_incomplete``), with the reason."""
        rows = [e for e in self.log if e.get("step") == "missing" and e.get("policy") == "excluded"]
        return pd.DataFrame(rows, columns=["level", "unit", "period", "note"])

    @property
    def contributions(self) -> pd.DataFrame:
        """Long table: unit, node, raw value, normalised score, weight, points, max points,
        points lost and reason. Rows of kind leaf, rollup, shared, deduction and coefficient add up
        to the unit's score; rows of kind group show the subtotals of the hierarchy."""
        if self._contributions is None:
            self._contributions = _contributions(self)
        return self._contributions

    def explain(self, unit: str) -> Explanation:
        """The scoring basis and the reason for every point lost, for one unit (id or name)."""
        hit = self.scores[(self.scores["unit"] == str(unit)) | (self.scores["name"] == str(unit))]
        if hit.empty:
            raise DataError(f"unit {unit!r} is not assessed in this evaluation; assessed units are "
                            "listed in ev.scores (use the id or the Chinese name)")
        row = hit.iloc[0]
        table = self.contributions[self.contributions["unit"] == row["unit"]].reset_index(drop=True)
        lines = [
            f"{row['name']} ({row['unit']}, {row['level']}) — {self.scheme.name}, period {self.period}",
            f"score {row['score']:.2f}; rank {row['group_rank']:g} in group {row['group'] or '(all)'}"
            + (f", {row['outcome_label']}" if row["outcome"] else "")
            + (f"; grade {row['grade']}" if row["grade"] else ""),
        ]
        if row["vetoed"]:
            lines.append(f"VETO (一票否决): {row['veto_reason']}")
        subs = [p for p, res in self.sub_results.items() if row["level"] in res]
        if len(subs) > 1:
            lines.append(f"annual result: weighted mean of {', '.join(subs)}; values shown are "
                         f"those of {subs[-1]}")
        depth = {r["node"]: r["depth"] for _, r in table.iterrows()}
        for _, r in table.iterrows():
            indent = "  " * int(depth.get(r["node"], 1))
            if r["reason"] == NOT_APPLICABLE:
                continue  # a node that does not apply to this unit (applies_to, shared)
            if r["kind"] in ("deduction", "coefficient", "veto"):
                lines.append(f"{indent}{r['kind']}: {r['points']:+.2f} points — {r['reason']}")
                continue
            raw = "" if pd.isna(r["raw_value"]) or r["kind"] == "group" else f"value {_fmt(r['raw_value'])} → "
            lines.append(
                f"{indent}{r['label']} [{r['node']}]: {raw}score {r['score']:.1f}/100, "
                f"{r['points']:.2f} of {r['max_points']:.2f} points"
                + (f" (lost {r['points_lost']:.2f})" if r["points_lost"] > 0.005 else "")
                + (f" — {r['reason']}" if r["kind"] != "group" else ""))
        return Explanation(str(row["unit"]), table, "\n".join(lines))

    def summary(self) -> str:
        """Who is praised and who is summoned (or any other consequence) in each group."""
        lines = [f"{self.scheme.name} — {self.dataset}, period {self.period}"]
        for level, frame in self.scores.groupby("level", sort=False):
            lines.append(f"[{level}] {len(frame)} units")
            with_outcome = frame[frame["outcome"] != ""]
            if with_outcome.empty:
                continue
            for group, g in with_outcome.groupby("group", sort=True):
                for label, gg in g.groupby("outcome_label", sort=True):
                    names = ", ".join(f"{n} ({s:.2f})" for n, s in
                                      gg.sort_values("group_rank")[["name", "score"]].itertuples(index=False))
                    lines.append(f"  {group or '(all)'} — {label}: {names}")
        return "\n".join(lines)

    def to_csv(self, directory) -> list:
        """Write scores, contributions, log and traffic lights as CSV; return the paths."""
        from pathlib import Path

        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        paths = []
        for name, frame in (("scores", self.scores), ("contributions", self.contributions),
                            ("traffic_lights", self.traffic_lights), ("log", log_table(self.log))):
            if frame is None or frame.empty:
                continue
            p = out / f"{name}.csv"
            frame.to_csv(p, index=False, float_format="%.6f", lineterminator="\n")
            paths.append(p)
        return paths


def _fmt(x: float) -> str:
    """A raw value as people read it: thousands separators for large numbers."""
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.4g}"


def log_table(log: list) -> pd.DataFrame:
    """The log as a table: step, level and the remaining fields as text."""
    rows = []
    for entry in log:
        e = dict(entry)
        rows.append({"step": e.pop("step", ""), "level": e.pop("level", ""),
                     "detail": "; ".join(f"{k}={v}" for k, v in e.items() if k != "spec")})
    return pd.DataFrame(rows, columns=["step", "level", "detail"])


# ---------------------------------------------------------------------- evaluate
def _fingerprint(data: Dataset) -> str:
    h = pd.util.hash_pandas_object(data.values, index=False).to_numpy()
    return hashlib.sha256(h.tobytes()).hexdigest()[:16]


def _periods_for(scheme: Scheme, period: str) -> list[str]:
    freq = period_frequency(period)
    want = {"annual": "Y", "quarterly": "Q", "monthly": "M"}[scheme.frequency]
    if freq == want:
        return [period]
    if freq == "Y" and want in ("Q", "M"):
        return sub_periods(period, want)
    raise SchemeError(f"scheme {scheme.name!r} is {scheme.frequency}; period {period!r} does not fit "
                      "(give a year for the annual result, or a sub-period)", key="frequency")


def _combine(parts: list[tuple[str, LevelResult]], weights: list[float]) -> LevelResult:
    """Weighted combination of sub-period results (arrays of the same shape)."""
    w = np.asarray(weights, float)
    w = w / w.sum()
    last = parts[-1][1]

    def mix(attr):
        return sum(wi * getattr(r, attr) for wi, (_, r) in zip(w, parts, strict=True))

    ded = pd.concat([r.deductions.assign(points=r.deductions["points"] * wi,
                                         reason=r.deductions["reason"] + f" ({p}, weight {wi:.2f})")
                     for wi, (p, r) in zip(w, parts, strict=True)], ignore_index=True)
    vetoed = np.logical_or.reduce([r.vetoed for _, r in parts])
    reasons = ["; ".join(f"{p}: {r.veto_reason[i]}" for p, r in parts if r.vetoed[i]) for i in range(len(vetoed))]
    notes = [n for _, r in parts for n in r.notes]
    return LevelResult(last.level, last.units, last.nodes, last.raw, mix("score"), mix("weight"),
                       mix("points"), mix("max_points"), mix("base_score"), ded, mix("coefficient"),
                       vetoed, reasons, mix("total"), notes, last.rule_text)


def evaluate(scheme, data: Dataset, period, *, levels: list[str] | None = None) -> Evaluation:
    """Apply a scheme to a dataset for one period.

    Parameters
    ----------
    scheme : Scheme, str or dict
        A scheme, a built-in scheme name, a YAML path or a dict.
    data : Dataset
    period : int or str
        The period assessed. For a quarterly (monthly) scheme, a year gives the annual result that
        combines the four quarterly (twelve monthly) results (``combine:`` in the scheme; equal
        weights by default); a quarter gives that quarter's result.
    levels : list of str, optional
        Only these assessed levels (and the levels they roll up from). Default all.

    Returns
    -------
    Evaluation

    Raises
    ------
    SchemeError, DataError
        With the key (and YAML line) or the unit, period and indicator concerned.
    """
    if not isinstance(scheme, Scheme):
        scheme = load_scheme(scheme)
    with scheme.located():  # errors found while applying the scheme name its file and YAML line
        return _evaluate(scheme, data, period, levels)


def _evaluate(scheme: Scheme, data: Dataset, period, levels: list[str] | None) -> Evaluation:
    if not isinstance(data, Dataset):
        raise TypeError("data must be an assesskit Dataset (see assesskit.datasets.load or assesskit.data.io)")
    period = normalise_period(period)
    subs = _periods_for(scheme, period)
    missing_periods = [p for p in subs if p not in set(data.values["period"])]
    if missing_periods:
        raise DataError(f"dataset {data.name!r} has no values for period(s) {missing_periods}; "
                        f"periods present: {data.periods}")
    wanted = set(levels or scheme.levels)
    log: list = [{"step": "input", "scheme": scheme.name, "scheme_source": scheme.origin,
                  "scheme_changes": scheme.log, "dataset": data.name,
                  "dataset_fingerprint": _fingerprint(data), "period": period, "sub_periods": subs},
                 {"step": "scheme", "spec": scheme.spec}]
    combined: dict[str, LevelResult] = {}
    per_sub: dict[str, dict[str, LevelResult]] = {p: {} for p in subs}
    for level, spec in scheme.levels.items():
        for p in subs:
            per_sub[p][level] = score_level(scheme, spec, data, p, per_sub[p])
    combine = scheme.spec.get("combine", {}) or {}
    cw = (combine.get("weights") or [1.0] * len(subs)) if len(subs) > 1 else [1.0]
    if len(cw) != len(subs):
        raise SchemeError(f"combine.weights has {len(cw)} entries for {len(subs)} sub-periods", key="combine.weights")
    frames = []
    for level in scheme.spec["levels"]:  # output in the order the scheme lists its levels
        spec = scheme.levels[level]
        if level not in wanted:
            continue
        parts = [(p, per_sub[p][level]) for p in subs]
        res = parts[0][1] if len(parts) == 1 else _combine(parts, cw)
        combined[level] = res
        frames.append(_level_table(res, spec, log))
        _log_level(log, spec, res, subs, cw)
    scores = pd.concat(frames, ignore_index=True)
    lights = _traffic_lights(scheme, data, per_sub)
    return Evaluation(scheme, data.name, period, scores, log, combined, per_sub, lights)


def _level_table(res: LevelResult, spec: LevelSpec, log: list) -> pd.DataFrame:
    u = res.units
    table = u[UNIT_OUT_COLUMNS].copy()
    table["score"] = res.total
    table["base_score"] = res.base_score
    ded = res.deductions.groupby("unit")["points"].sum() if len(res.deductions) else pd.Series(dtype=float)
    table["deductions"] = table["unit"].map(ded).fillna(0.0).astype(float)
    table["coefficient"] = res.coefficient
    table["vetoed"] = res.vetoed
    table["veto_reason"] = res.veto_reason
    ties = spec.ranking.get("ties", {}) or {}
    ids = [n.id for n in res.nodes]
    tb = pd.DataFrame({nid: res.score[:, ids.index(nid)] for nid in ties.get("break_by", []) or []
                       if nid in ids})
    for nid in ties.get("break_by", []) or []:
        if nid not in ids:
            raise SchemeError(f"ties.break_by names unknown node {nid!r}", key=f"levels.{spec.level}.ranking.ties.break_by")
    gb = spec.ranking.get("group_by")
    sb = spec.ranking.get("subgroup_by")
    table["rank"] = rank_within(table, [], ties, tb)
    table["group_rank"] = rank_within(table, [gb], ties, tb) if gb else table["rank"]
    if sb:
        has_sub = table[sb].astype(str) != ""
        sub_rank = rank_within(table, [gb, sb] if gb else [sb], ties, tb)
        table["subgroup_rank"] = np.where(has_sub, sub_rank, np.nan)
    else:
        table["subgroup_rank"] = np.nan
    for col in ("rank", "group_rank", "subgroup_rank"):  # whole ranks print as whole numbers
        values = table[col].to_numpy(dtype=float)
        if np.all(np.isnan(values) | (values == np.round(values))):
            table[col] = pd.array(np.where(np.isnan(values), pd.NA, values), dtype="Int64") \
                if np.isnan(values).any() else values.astype(int)
    table["grade"] = apply_grades(table, spec)
    table = apply_consequences(table, spec, log)
    return table


def _log_level(log, spec, res, subs, cw):
    log.append({"step": "level", "level": spec.level, "label": spec.label, "units": len(res.units),
                "max_points": spec.max_points, "sub_periods": subs, "combine_weights": cw})
    for nd in res.nodes:
        entry = {"step": "node", "level": spec.level, "node": nd.id, "kind": nd.kind, "weight": nd.weight,
                 "label": nd.label}
        if nd.kind == "group":
            entry.update(aggregate=nd.aggregate, missing=nd.missing)
        else:
            entry.update(indicator=nd.indicator, rule=res.rule_text.get(nd.id), scoring=nd.scoring)
        log.append(entry)
    for note in res.notes:
        log.append({"step": "missing", "level": spec.level, **note})
    if spec.overrides:
        log.append({"step": "overrides", "level": spec.level, "overrides": spec.overrides})
    if spec.deductions:
        log.append({"step": "deductions", "level": spec.level, "rules": spec.deductions})
    log.append({"step": "ranking", "level": spec.level, **spec.ranking})


def _traffic_lights(scheme: Scheme, data: Dataset, per_sub: dict) -> pd.DataFrame:
    rows = []
    for level, spec in scheme.levels.items():
        for code, rule in spec.schedule.items():
            if code not in set(data.indicators["indicator"]):
                raise SchemeError(f"schedule names indicator {code!r}, which dataset {data.name!r} lacks",
                                  key=f"levels.{level}.schedule.{code}")
            for p, results in per_sub.items():
                res = results[level]
                tag = p[4:].lstrip("-") if len(p) > 4 else "Y"
                expected = (rule.get("expected") or {}).get(tag)
                if expected is None:
                    continue
                wide = data.wide(p, units=res.units["unit"], indicators=[code])
                actual = wide[code].to_numpy()
                ratio = actual / float(expected)
                yellow, red = rule.get("yellow_below", 1.0), rule.get("red_below", 0.9)
                light = np.where(~np.isfinite(ratio), "no data",
                                 np.where(ratio < red, "red", np.where(ratio < yellow, "yellow", "green")))
                rows.append(pd.DataFrame({
                    "unit": res.units["unit"], "name": res.units["name"], "level": level, "period": p,
                    "indicator": code, "actual": actual, "expected": float(expected), "ratio": ratio,
                    "light": light}))
    if not rows:
        return pd.DataFrame(columns=["unit", "name", "level", "period", "indicator", "actual",
                                     "expected", "ratio", "light"])
    return pd.concat(rows, ignore_index=True)


def _contributions(ev: Evaluation) -> pd.DataFrame:
    frames = []
    for level, res in ev.level_results.items():
        n, N = res.score.shape
        nodes = res.nodes
        parent = {}
        depth = {}
        for nd in nodes:
            for c in nd.children:
                parent[c.id] = nd.id
        for nd in nodes:
            d, x = 0, nd.id
            while x in parent:
                d, x = d + 1, parent[x]
            depth[nd.id] = d
        kinds = np.array([nd.kind for nd in nodes], dtype=object)
        ids = np.array([nd.id for nd in nodes], dtype=object)
        sel = np.arange(1, N)  # every node but the root total
        frame = pd.DataFrame({
            "unit": np.repeat(res.units["unit"].to_numpy(), len(sel)),
            "level": level,
            "node": np.tile(ids[sel], n),
            "parent_node": np.tile(np.array([parent.get(i, "") for i in ids[sel]], dtype=object), n),
            "depth": np.tile(np.array([depth[i] for i in ids[sel]]), n),
            "label": np.tile(np.array([nodes[j].label or nodes[j].id for j in sel], dtype=object), n),
            "kind": np.tile(kinds[sel], n),
            "indicator": np.tile(np.array([nodes[j].indicator or "" for j in sel], dtype=object), n),
            "raw_value": res.raw[:, sel].ravel(),
            "score": res.score[:, sel].ravel(),
            "weight": res.weight[:, sel].ravel(),
            "points": res.points[:, sel].ravel(),
            "max_points": res.max_points[:, sel].ravel(),
        })
        frame["points_lost"] = (frame["max_points"] - frame["points"]).clip(lower=0.0)
        rule = frame["node"].map(res.rule_text).fillna("")
        lost = frame["points_lost"].round(2)
        frame["reason"] = rule.where(lost <= 0, rule + "; lost " + lost.astype(str) + " points")
        if res.best is not None:
            best = pd.Series(res.best[:, sel].ravel(), index=frame.index)
            behind = (lost > 0) & best.notna()
            frame.loc[behind, "reason"] = (frame.loc[behind, "reason"] + " (best in the comparison group: "
                                           + best[behind].map(_fmt) + ")")
        frame.loc[frame["kind"] == "group", "reason"] = "subtotal of the children"
        not_applicable = (frame["max_points"] == 0) & frame["score"].isna() & frame["raw_value"].isna()
        frame.loc[not_applicable, "reason"] = NOT_APPLICABLE
        if res.notes:
            notes = pd.DataFrame(res.notes).groupby(["unit", "node"])["note"].agg("; ".join)
            key = pd.MultiIndex.from_frame(frame[["unit", "node"]])
            extra = pd.Series(notes.reindex(key).to_numpy(), index=frame.index)
            has = extra.notna()
            frame.loc[has, "reason"] = extra[has]  # a missing value: say what the policy did
        extras = []
        if len(res.deductions):
            d = res.deductions
            extras.append(pd.DataFrame({"unit": d["unit"], "level": level, "node": "deduction:" + d["item"],
                                        "parent_node": "total", "depth": 1, "label": d["item"],
                                        "kind": "deduction", "indicator": d["item"], "raw_value": d["value"],
                                        "score": np.nan, "weight": np.nan, "points": d["points"],
                                        "max_points": 0.0, "points_lost": -d["points"], "reason": d["reason"]}))
        adj = (res.base_score + _ded_sum(res)) * (res.coefficient - 1.0)
        has_coef = np.abs(res.coefficient - 1.0) > 0
        if has_coef.any():
            extras.append(pd.DataFrame({
                "unit": res.units["unit"][has_coef], "level": level, "node": "coefficient",
                "parent_node": "total", "depth": 1, "label": "evaluation coefficient", "kind": "coefficient",
                "indicator": "", "raw_value": res.coefficient[has_coef], "score": np.nan, "weight": np.nan,
                "points": adj[has_coef], "max_points": 0.0, "points_lost": 0.0,
                "reason": res.rule_text.get("coefficient", "coefficient") + " (× "
                + pd.Series(res.coefficient[has_coef]).map("{:g}".format).to_numpy() + ")"}))
        # a veto score replaces the total: one row carries the difference, so rows still add up
        veto_adj = res.total - (res.base_score + _ded_sum(res)) * res.coefficient
        has_veto = np.asarray(res.vetoed, dtype=bool) & (np.abs(veto_adj) > 1e-9)
        if has_veto.any():
            extras.append(pd.DataFrame({
                "unit": res.units["unit"][has_veto], "level": level, "node": "veto",
                "parent_node": "total", "depth": 1, "label": "一票否决 veto", "kind": "veto",
                "indicator": "", "raw_value": np.nan, "score": np.nan, "weight": np.nan,
                "points": veto_adj[has_veto], "max_points": 0.0, "points_lost": -veto_adj[has_veto],
                "reason": "veto (一票否决): " + np.asarray(res.veto_reason, dtype=object)[has_veto]
                + "; the score is set to " + pd.Series(res.total[has_veto]).map("{:g}".format).to_numpy()}))
        frames.append(pd.concat([frame, *extras], ignore_index=True) if extras else frame)
    out = pd.concat(frames, ignore_index=True)
    order = {u: i for i, u in enumerate(ev.scores["unit"])}
    out["_o"] = out["unit"].map(order)
    out = out.sort_values(["_o"], kind="mergesort").drop(columns="_o").reset_index(drop=True)
    out.insert(2, "period", ev.period)
    return out


def _ded_sum(res: LevelResult) -> np.ndarray:
    if not len(res.deductions):
        return np.zeros(len(res.units))
    s = res.deductions.groupby("unit")["points"].sum()
    return res.units["unit"].map(s).fillna(0.0).to_numpy()


# ---------------------------------------------------------------------- several periods
@dataclass
class PeriodEvaluations:
    """Evaluations over a range of periods, with rules that span several periods.

    Attributes
    ----------
    evaluations : dict
        ``{period: Evaluation}``.
    scores : DataFrame
        The scores of every period stacked, with a ``period`` column.
    flags : DataFrame
        One row per unit and rule that fires: unit, name, level, period, rule, label, streak.
    """

    evaluations: dict
    scores: pd.DataFrame
    flags: pd.DataFrame


def evaluate_periods(scheme, data: Dataset, periods) -> PeriodEvaluations:
    """Evaluate several periods and apply the multi-period rules of the scheme.

    A rule (``rules:`` under a level) fires for a unit when a condition holds in ``consecutive``
    periods in a row ending with the period flagged. Conditions: ``outcome`` (one consequence key
    or a list), ``grade`` (one grade label or a list), ``bottom`` (group rank among the last N).

    Examples
    --------
    Jincheng: ``rules: [{name: adjustment, label: 调整, when: {bottom: 1}, consecutive: 2}]``.
    """
    if not isinstance(scheme, Scheme):
        scheme = load_scheme(scheme)
    periods = [normalise_period(p) for p in periods]
    evs = {p: evaluate(scheme, data, p) for p in periods}
    scores = pd.concat([ev.scores.assign(period=p) for p, ev in evs.items()], ignore_index=True)
    flags = []
    for level, spec in scheme.levels.items():
        for i, rule in enumerate(spec.rules):
            key = f"levels.{level}.rules[{i}]"
            if "name" not in rule or "when" not in rule:
                raise SchemeError("a rule needs name: and when:", key=key)
            s = scores[scores["level"] == level].copy()
            cond = pd.Series(True, index=s.index)
            when = rule["when"]
            if "outcome" in when:
                cond &= s["outcome"].isin(when["outcome"] if isinstance(when["outcome"], list) else [when["outcome"]])
            if "grade" in when:
                cond &= s["grade"].isin(when["grade"] if isinstance(when["grade"], list) else [when["grade"]])
            if "bottom" in when:
                gb = spec.ranking.get("group_by")
                size = s.groupby([gb, "period"])["unit"].transform("size") if gb else s.groupby("period")["unit"].transform("size")
                cond &= s["group_rank"] > size - int(when["bottom"])
            s["_c"] = cond.astype(int)
            s["_order"] = s["period"].map({p: k for k, p in enumerate(periods)})
            s = s.sort_values(["unit", "_order"])
            # streak length: consecutive periods in a row with the condition, per unit
            breaks = (s["_c"] == 0).groupby(s["unit"]).cumsum()
            s["streak"] = s.groupby([s["unit"], breaks])["_c"].cumsum()
            need = int(rule.get("consecutive", 1))
            hit = s[s["streak"] >= need]
            for _, r in hit.iterrows():
                flags.append({"unit": r["unit"], "name": r["name"], "level": level, "period": r["period"],
                              "rule": rule["name"], "label": rule.get("label", rule["name"]),
                              "streak": int(r["streak"])})
    flag_frame = pd.DataFrame(flags, columns=["unit", "name", "level", "period", "rule", "label", "streak"])
    return PeriodEvaluations(evs, scores, flag_frame)
