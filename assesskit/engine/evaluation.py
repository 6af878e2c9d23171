"""Evaluate a scheme on a dataset: scores, grouped ranks, quotas, grades, explanations and a log.

:func:`evaluate` is the one verb; it returns an :class:`Evaluation` whose tables are tidy
DataFrames. :func:`evaluate_periods` evaluates a range of periods and applies rules that span
several of them (Jincheng: bottom two years in a row → adjustment of the principal).
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..data.model import Dataset, normalise_period, period_frequency, sub_periods
from ..errors import DataError, Notice, SchemeError
from ..scheme.model import LevelSpec, Scheme, load_scheme
from .consequences import LevelDecisions, streaks
from .inputs import view
from .level import UNIT_OUT_COLUMNS, LevelResult, score_level
from .ranking import SCORE_DECIMALS
from .review import (
    explain_lines,
    extra_columns,
    level_log,
    level_outputs,
    score_review_level,
    summary_lines,
)

NOT_APPLICABLE = "does not apply to this unit"
__all__ = ["SCORE_DECIMALS", "Evaluation", "Explanation", "PeriodEvaluations", "evaluate",
           "evaluate_periods", "level_decisions", "log_table"]


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
        return f"<pre>{html.escape(self.text)}</pre>" + self.table.to_html(index=False, escape=True)


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
        ""), outcome_label (the scheme's Chinese label). ``level`` is the scheme's level.
        A scheme with a level scored by a review adds session, drawn and sheets; one with
        linked consequences adds linked_outcomes (see :mod:`assesskit.engine.review`);
        ``deductions`` holds negative-list, failed-must and linked deductions together.
    log : list of dict
        Every rule and parameter applied, the full scheme and a fingerprint of the data.
    traffic_lights : DataFrame
        Progress against the time schedule (yellow reminder, red warning), if the scheme has one.
    consequences : DataFrame
        One row per unit and consequence it receives (a unit can receive several: a top place
        and a grade): unit, name, level, group, consequence, label, kind (quota or grade) and
        because (which quota or which grade).
    notices : list of Notice
        Decisions taken by a documented policy (a missing value left out and the weights
        re-normalised, a unit left out as incomplete, a direction assumed by the loader):
        listed by :meth:`summary` and printed by the command line.
    linked_evaluations : dict
        ``{scheme reference: Evaluation}`` of the schemes whose linked consequences reach a
        level of this one (``linked_from:``), evaluated on the same data and period.
    linked_inputs : dict
        ``{(scheme name, level): LevelResult}`` of those evaluations: the results the linked
        consequences are taken from (the Monte Carlo keeps them fixed).
    """

    scheme: Scheme
    dataset: str
    period: str
    scores: pd.DataFrame
    log: list
    level_results: dict[str, LevelResult] = field(repr=False)
    sub_results: dict[str, dict[str, LevelResult]] = field(repr=False)
    traffic_lights: pd.DataFrame = field(default_factory=pd.DataFrame)
    consequences: pd.DataFrame = field(default_factory=pd.DataFrame)
    notices: list = field(default_factory=list)
    linked_evaluations: dict = field(default_factory=dict, repr=False)
    linked_inputs: dict = field(default_factory=dict, repr=False)
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
            self._standing(row)]
        mine = [n for n in self.notices if n.concerns(str(row["unit"]), row["level"])]
        if mine:
            lines.append("decided by a documented policy: " + "; ".join(n.message for n in mine))
        if row["vetoed"]:
            lines.append(f"VETO (一票否决): {row['veto_reason']}")
        lines.extend(explain_lines(self, row))  # review session, linked consequences (issue 10)
        subs = [p for p, res in self.sub_results.items() if row["level"] in res]
        if len(subs) > 1:
            lines.append(f"annual result: weighted mean of {', '.join(subs)}; values shown are "
                         f"those of {subs[-1]}")
        depth = {r["node"]: r["depth"] for _, r in table.iterrows()}
        for _, r in table.iterrows():
            indent = "  " * int(depth.get(r["node"], 1))
            if r["reason"] == NOT_APPLICABLE:
                continue  # a node that does not concern this unit (applies_to, applies_if, shared)
            if r["kind"] in ("deduction", "coefficient", "veto", "must", "linked"):
                lines.append(f"{indent}{r['kind']}: {r['points']:+.2f} points — {r['reason']}")
                continue
            raw = "" if pd.isna(r["raw_value"]) or r["kind"] == "group" else f"value {_fmt(r['raw_value'])} → "
            score = "not reported" if pd.isna(r["score"]) else f"score {r['score']:.1f}/100"
            lines.append(
                f"{indent}{r['label']} [{r['node']}]: {raw}{score}, "
                f"{r['points']:.2f} of {r['max_points']:.2f} points"
                + (f" (lost {r['points_lost']:.2f})" if r["points_lost"] > 0.005 else "")
                + (f" — {r['reason']}" if r["kind"] != "group" else ""))
        return Explanation(str(row["unit"]), table, "\n".join(lines))

    def _standing(self, row: pd.Series) -> str:
        """Score, ranks, outcome and grade of one unit, in words."""
        if not np.isfinite(row["score"]):
            return "not scored: no usable value for any indicator of the level"
        level = self.scores[self.scores["level"] == row["level"]]
        spec = self.scheme.levels[row["level"]]
        gb, sb = spec.ranking.get("group_by"), spec.ranking.get("subgroup_by")
        if gb:
            size = int((level[gb].astype(str) == str(row[gb])).sum())
            text = f"rank {row['group_rank']:g} of {size} in group {row[gb]}"
            if sb and pd.notna(row["subgroup_rank"]):
                sub = int(((level[gb].astype(str) == str(row[gb]))
                           & (level[sb].astype(str) == str(row[sb]))).sum())
                text += f" ({row['subgroup_rank']:g} of {sub} in {row[sb]})"
        else:
            text = f"rank {row['rank']:g} of {len(level)} (all units)"
        text = f"score {row['score']:.2f}; {text}"
        if row["outcome"]:
            text += f"; {row['outcome_label']}"
        if row["grade"]:
            text += f"; grade {row['grade']}"
        return text

    def summary(self) -> str:
        """Who receives each consequence in each group, and every decision taken by a policy."""
        lines = [f"{self.scheme.name} — {self.dataset}, period {self.period}"]
        for level, frame in self.scores.groupby("level", sort=False):
            lines.append(f"[{level}] {len(frame)} units")
            lines.extend(summary_lines(self, level))  # the plenary draw, failed musts (issue 10)
            cons = self.consequences[self.consequences["level"] == level]
            if cons.empty:
                continue
            score = dict(zip(frame["unit"], frame["score"], strict=True))
            rank = dict(zip(frame["unit"], frame["group_rank"], strict=True))
            where = self._rank_words(level, frame)
            for (group, label), gg in cons.groupby(["group", "label"], sort=True):
                units = sorted(gg["unit"], key=lambda u: (rank[u], u))
                names = dict(zip(gg["unit"], gg["name"], strict=True))
                lines.append(f"  {group or '(all)'} — {label}: "
                             + ", ".join(f"{names[u]} ({score[u]:.2f}{where.get(u, '')})"
                                         for u in units))
        lines.extend(self._flagged_lines())
        if self.notices:
            lines.append(f"{len(self.notices)} decision(s) taken by a documented policy:")
            lines.extend(f"  - {n}" for n in self.notices[:20])
            if len(self.notices) > 20:
                lines.append(f"  ... and {len(self.notices) - 20} more (ev.notices)")
        return "\n".join(lines)

    def _rank_words(self, level: str, frame: pd.DataFrame) -> dict[str, str]:
        """``{unit: "; rank 9 in group, 4 in 甘孜州"}`` for a level whose quotas use subgroups,
        so that a reader sees why a unit ranked lower in its group is chosen (empty otherwise)."""
        spec = self.scheme.levels[level]
        if not spec.ranking.get("subgroup_by"):
            return {}
        sub = spec.ranking["subgroup_by"]
        out = {}
        for row in frame.itertuples(index=False):
            r = row._asdict()
            if pd.notna(r["subgroup_rank"]) and str(r.get(sub, "")).strip():
                out[r["unit"]] = (f"; rank {r['group_rank']:g} in group, {r['subgroup_rank']:g} "
                                  f"in {r[sub]}")
        return out

    def _flagged_lines(self) -> list[str]:
        """Indicators lagging the time schedule for long, flagged for rectification (挂牌)."""
        lights = self.traffic_lights
        if lights is None or lights.empty or "flagged" not in lights or not lights["flagged"].any():
            return []
        lines = []
        for (level, code), g in lights[lights["flagged"].astype(bool)].groupby(
                ["level", "indicator"], sort=False):
            label = self.scheme.levels[level].schedule[code].get("label")
            first = g.groupby("unit", sort=False).agg(name=("name", "first"),
                                                      since=("period", "first"))
            lines.append(f"  [{level}] {code}{f' ({label})' if label else ''} — lagging the time "
                         "schedule for long, flagged for rectification (挂牌整改): "
                         + ", ".join(f"{r.name} (from {r.since})" for r in first.itertuples()))
        return lines

    def to_frame(self) -> pd.DataFrame:
        """The scores table (one row per assessed unit)."""
        return self.scores

    def plot(self, level: str | None = None, **kwargs):
        """Scores by group, praised and summoned units marked (see
        :func:`assesskit.report.plotting.plot_scores`)."""
        from ..report.plotting import plot_scores  # plotting is the report layer; on call only

        return plot_scores(self, level=level, **kwargs)

    def _repr_html_(self) -> str:
        head = (f"<p><b>{html.escape(self.scheme.name)}</b> — {html.escape(self.dataset)}, "
                f"period {html.escape(self.period)}</p>")
        cols = ["unit", "name", "level", "group", "score", "group_rank", "grade", "outcome_label"]
        return head + self.scores[cols].to_html(index=False, escape=True, float_format="%.2f")

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
_SUB_PERIOD_NAMES = {"Q": "quarter", "M": "month"}


def _periods_for(scheme: Scheme, period: str) -> list[str]:
    freq = period_frequency(period)
    want = {"annual": "Y", "quarterly": "Q", "monthly": "M"}[scheme.frequency]
    if freq == want:
        return [period]
    if freq == "Y" and want in ("Q", "M"):
        return sub_periods(period, want)
    year = str(period)[:4]
    if want == "Y":  # an annual scheme has no sub-periods: offer only a year
        how = f"give a year, such as {year!r}"
    else:
        how = (f"give a year for the annual result, such as {year!r}, or a "
               f"{_SUB_PERIOD_NAMES[want]}, such as {sub_periods(year, want)[0]!r}")
    raise SchemeError(f"scheme {scheme.name!r} is {scheme.frequency}; period {period!r} does not fit "
                      f"({how})", key="frequency")



def _combine(parts: list[tuple[str, LevelResult]], weights: list[float]) -> LevelResult:
    """Weighted combination of sub-period results (arrays of the same shape)."""
    w = np.asarray(weights, float)
    w = w / w.sum()
    last = parts[-1][1]

    def mix(attr):
        return sum(wi * getattr(r, attr) for wi, (_, r) in zip(w, parts, strict=True))

    if len(last.deductions_scope) > 1:
        # deductions counted over the whole year (the same in every part): taken once, in full
        ded = last.deductions
    else:
        ded = pd.concat([r.deductions.assign(points=r.deductions["points"] * wi,
                                             reason=r.deductions["reason"] + f" ({p}, weight {wi:.2f})")
                         for wi, (p, r) in zip(w, parts, strict=True)], ignore_index=True)
    vetoed = np.logical_or.reduce([r.vetoed for _, r in parts])
    reasons = ["; ".join(f"{p}: {r.veto_reason[i]}" for p, r in parts if r.vetoed[i]) for i in range(len(vetoed))]
    notes = [n for _, r in parts for n in r.notes]
    notices = [x for _, r in parts for x in r.notices]
    return LevelResult(last.level, last.units, last.nodes, last.raw, mix("score"), mix("weight"),
                       mix("points"), mix("max_points"), mix("base_score"), ded, mix("coefficient"),
                       vetoed, reasons, mix("total"), notes, last.rule_text, last.best,
                       last.applies, notices, last.template, mix("coefficient_points"),
                       last.deductions_scope)


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
    dv = view(data)
    missing_periods = [p for p in subs if p not in dv.periods]
    if missing_periods:
        raise DataError(f"dataset {data.name!r} has no values for period(s) {missing_periods}; "
                        f"periods present: {data.periods}")
    wanted = set(levels or scheme.levels)
    log: list = [{"step": "input", "scheme": scheme.name, "scheme_source": scheme.origin,
                  "scheme_changes": scheme.log, "dataset": data.name,
                  "dataset_fingerprint": dv.fingerprint(), "period": period, "sub_periods": subs},
                 {"step": "scheme", "spec": scheme.spec}]
    combined: dict[str, LevelResult] = {}
    per_sub: dict[str, dict[str, LevelResult]] = {p: {} for p in subs}
    linked_evs, linked_inputs = _linked_sources(scheme, data, period, log)
    # the annual result of a quarterly (monthly) scheme: each incident of the negative list
    # costs its points once, whatever sub-period it falls in (see LevelModel, deductions_over)
    over = subs if len(subs) > 1 else None
    for level, spec in scheme.levels.items():
        for p in subs:
            upstream = {**linked_inputs, **per_sub[p]} if linked_inputs else per_sub[p]
            if spec.review is not None:  # scored from rating sheets (issue 10)
                per_sub[p][level] = score_review_level(scheme, spec, data, p, upstream)
            else:
                per_sub[p][level] = score_level(scheme, spec, data, p, upstream, over)
    combine = scheme.spec.get("combine", {}) or {}
    cw = (combine.get("weights") or [1.0] * len(subs)) if len(subs) > 1 else [1.0]
    if len(cw) != len(subs):
        raise SchemeError(f"combine.weights has {len(cw)} entries for {len(subs)} sub-periods", key="combine.weights")
    frames, long = [], []
    notices = [*scheme.notices, *data.notices]  # e.g. the scheme file read as GBK
    for target in scheme.linked_targets:  # a rule no evaluation applies (issue 10)
        if not target["listed"]:
            rule = target["rule"]
            notices.append(Notice(
                "linked_not_applied",
                f"linked consequence {rule.key!r} reaches level {rule.level!r} of scheme "
                f"{rule.scheme!r} ({target['file']}), which does not list this scheme file in "
                f"linked_from:, so evaluating it does not apply the consequence; {target['fix']}",
                rule.located, level=rule.source))
    for level in scheme.spec["levels"]:  # output in the order the scheme lists its levels
        spec = scheme.levels[level]
        if level not in wanted:
            continue
        parts = [(p, per_sub[p][level]) for p in subs]
        res = parts[0][1] if len(parts) == 1 else _combine(parts, cw)
        combined[level] = res
        table, cons = _level_table(res, spec, log)
        frames.append(table)
        long.append(cons)
        notices.extend(res.notices)
        _log_level(log, spec, res, subs, cw)
    scores = extra_columns(_stack(frames), combined)  # review sessions, linked (issue 10)
    consequences = pd.DataFrame({c: [x for part in long for x in part[c]]
                                 for c in CONSEQUENCE_COLUMNS})
    lights = _traffic_lights(scheme, data, per_sub)
    return Evaluation(scheme, data.name, period, scores, log, combined, per_sub, lights,
                      consequences=consequences, notices=notices,
                      linked_evaluations=linked_evs, linked_inputs=linked_inputs)


def _linked_sources(scheme: Scheme, data: Dataset, period: str, log: list) -> tuple[dict, dict]:
    """Evaluate the schemes whose linked consequences reach this one (``linked_from:``) on the
    same data and period; return ``({reference: Evaluation}, {(scheme, level): LevelResult})``.
    Linked schemes are annual (checked at load), so each level has one result for the year."""
    evs, inputs = {}, {}
    for ref, source in scheme.linked_schemes.items():
        ev = evaluate(source, data, period)
        evs[ref] = ev
        for level, res in ev.level_results.items():
            inputs[(source.name, level)] = res
        rules = sorted({r.key for spec in scheme.levels.values()
                        for r, _ in spec.linked_from if r.source_scheme == source.name})
        log.append({"step": "linked_scheme", "scheme": source.name,
                    "scheme_source": source.origin, "rules": rules, "period": period,
                    "note": "evaluated on the same data and period; its linked consequences "
                            "reach this scheme (linked_from:)"})
    return evs, inputs


def level_decisions(spec: LevelSpec, res: LevelResult) -> LevelDecisions:
    """The compiled ranking, quota, grade and consequence rules of a scored level."""
    cap = getattr(res.adjustments, "grade_cap", None)  # a linked consequence caps (issue 10)
    if res.template is not None and res.template.spec is spec and (cap is None or not cap.any()):
        return res.template.decisions()
    gb, sb = spec.ranking.get("group_by"), spec.ranking.get("subgroup_by")
    ids = [n.id for n in res.nodes]

    def node_index(nid):
        if nid not in ids:  # checked at load for the scheme's own levels; variants may differ
            raise SchemeError(f"ties.break_by names unknown node {nid!r}",
                              key=f"levels.{spec.level}.ranking.ties.break_by")
        return ids.index(nid)

    return LevelDecisions(spec, res.units["unit"].astype(str).tolist(),
                          res.units[gb] if gb else None, res.units[sb] if sb else None,
                          node_index, grade_cap=cap)


def _level_table(res: LevelResult, spec: LevelSpec, log: list) -> tuple[dict, dict]:
    """The columns of one level's scores (ranks, grade, outcome) and of its consequences, long
    (numpy arrays and lists, put into one table for all levels by :func:`evaluate`)."""
    u = res.units
    cols = res.template.columns if res.template is not None else \
        {c: u[c].to_numpy() for c in UNIT_OUT_COLUMNS}
    n = len(u)
    ded = np.zeros(n)
    if len(res.deductions):
        per_unit = res.deductions.groupby("unit")["points"].sum()
        ded = u["unit"].map(per_unit).fillna(0.0).to_numpy(dtype=float)
    rules = level_decisions(spec, res)
    tiebreak = [res.score[None, :, j] for j in rules.break_by]
    dec = rules.decide(res.total[None, :], tiebreak, np.asarray(res.vetoed, bool))
    columns = dict(cols)
    columns["level"] = np.full(n, spec.level, dtype=object)  # the scheme's level (issue 10)
    columns.update(score=res.total, base_score=res.base_score, deductions=ded,
                   coefficient=res.coefficient, vetoed=np.asarray(res.vetoed, bool),
                   veto_reason=np.asarray(res.veto_reason, dtype=object))
    columns["rank"] = dec.rank[0]
    columns["group_rank"] = dec.group_rank[0]
    columns["subgroup_rank"] = dec.subgroup_rank[0] if dec.subgroup_rank is not None \
        else np.full(n, np.nan)
    labels = rules.grade_rule.labels if rules.grade_rule is not None else ()
    grade = dec.grade[0] if dec.grade is not None else np.full(n, -1)
    columns["grade"] = np.array([labels[g] if g >= 0 else "" for g in grade], dtype=object)
    bits = dec.outcome[0]
    keys = [[k for c, k in enumerate(rules.keys) if b >> c & 1] for b in bits.tolist()]
    label_of = dict(zip(rules.keys, rules.labels, strict=True))
    columns["outcome"] = np.array(["+".join(k) for k in keys], dtype=object)
    columns["outcome_label"] = np.array(["、".join(label_of[x] for x in k) for k in keys],
                                        dtype=object)
    unit, name = cols["unit"], cols["name"]
    # a consequence is listed under the group it was decided in: the ranking group, or none
    # when the level ranks all its units together (whatever group column the data carry)
    gb = spec.ranking.get("group_by")
    group = u[gb].astype(str).to_numpy() if gb else np.full(n, "", dtype=object)
    rows = []
    for side in rules.sides:
        for r, row in enumerate(side.table):
            members = np.flatnonzero(side.rows == r)
            chosen = [i for i in members if bits[i] >> side.consequence & 1]
            where = row.group + (f" / {row.subgroup}" if row.subgroup is not None else "")
            for i in chosen:
                rows.append((i, side.key, "quota", f"{side.side} {row.n} of "
                             f"{where or 'all units'}"))
            entry = {"step": "quota", "level": spec.level, "consequence": side.key,
                     "label": label_of[side.key], "side": side.side, "group": row.group,
                     "subgroup": row.subgroup, "quota": row.n,
                     "units": sorted(unit[i] for i in chosen)}
            if len(chosen) != row.n:
                entry["note"] = "ties at the quota boundary or vetoed units changed the count"
            log.append(entry)
    for c, mask in rules.grade_consequences.items():
        k = rules.keys[c]
        hit = np.flatnonzero([b >> c & 1 for b in bits.tolist()])
        rows.extend((i, k, "grade", f"graded {columns['grade'][i]}") for i in hit)
        log.append({"step": "consequence", "level": spec.level, "consequence": k,
                    "label": label_of[k], "grades": [g for g, m in zip(labels, mask, strict=True)
                                                     if m],
                    "units": sorted(unit[i] for i in hit)})
    order = {k: c for c, k in enumerate(rules.keys)}
    rows.sort(key=lambda x: (x[0], order[x[1]]))
    long = {"unit": [unit[i] for i, *_ in rows], "name": [name[i] for i, *_ in rows],
            "level": [spec.level] * len(rows), "group": [group[i] for i, *_ in rows],
            "consequence": [k for _, k, _, _ in rows],
            "label": [label_of[k] for _, k, _, _ in rows],
            "kind": [kind for _, _, kind, _ in rows], "because": [why for *_, why in rows]}
    return level_outputs(res, spec, columns, long)  # review, linked consequences (issue 10)


CONSEQUENCE_COLUMNS = ["unit", "name", "level", "group", "consequence", "label", "kind", "because"]


def _stack(parts: list[dict]) -> pd.DataFrame:
    """One scores table from the columns of every level (one DataFrame, built once)."""
    columns = {c: np.concatenate([p[c] for p in parts]) for c in parts[0]}
    for col in ("rank", "group_rank", "subgroup_rank"):
        # whole ranks print as whole numbers; a missing rank stays missing
        values = columns[col].astype(float)
        missing = np.isnan(values)
        if np.all(missing | (values == np.round(values))):
            columns[col] = pd.array(np.where(missing, pd.NA, values), dtype="Int64") \
                if missing.any() else values.astype(int)
    return pd.DataFrame(columns)


def _log_level(log, spec, res, subs, cw):
    log.append({"step": "level", "level": spec.level, "label": spec.label, "units": len(res.units),
                "max_points": spec.max_points, "max_score": spec.max_score(), "sub_periods": subs,
                "combine_weights": cw})
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
    log.extend(level_log(spec, res))  # the draw of a review, musts, linked (issue 10)


LIGHT_COLUMNS = ["unit", "name", "level", "period", "indicator", "actual", "expected", "ratio",
                 "light", "behind", "flagged"]


def _checkpoints(rule: dict, period: str) -> list[tuple[str, float]]:
    """The schedule's checkpoints that fall within the evaluated period, in time order:
    ``[(period, expected value)]``. ``Y`` is the year; ``Q1``..``Q4`` and months ``01``..``12``
    are sub-periods of the year (an annual scheme can check quarterly or monthly progress)."""
    year, freq = period[:4], period_frequency(period)
    out = []
    for tag, expected in (rule.get("expected") or {}).items():
        tag = str(tag)
        p = year if tag == "Y" else f"{year}{tag}" if tag.startswith("Q") else f"{year}-{tag}"
        if freq == "Y":
            inside = True
        elif freq == "Q":
            inside = p == period or (period_frequency(p) == "M"
                                     and (int(p[5:]) - 1) // 3 + 1 == int(period[-1]))
        else:
            inside = p == period
        if inside:
            out.append((p, float(expected)))
    order = {"Y": 2, "Q": 1, "M": 0}  # at one date: a month's check, then its quarter's, the year's

    def last_month(p: str) -> int:  # the month (1-12) in which a checkpoint's period ends
        freq = period_frequency(p)
        return 12 if freq == "Y" else 3 * int(p[-1]) if freq == "Q" else int(p[5:])

    return sorted(out, key=lambda pe: (last_month(pe[0]), order[period_frequency(pe[0])]))


_NO_LIGHTS = pd.DataFrame(columns=LIGHT_COLUMNS)


def _traffic_lights(scheme: Scheme, data: Dataset, per_sub: dict) -> pd.DataFrame:
    """Progress against the time schedule at every checkpoint of the evaluated period.

    ``ratio = actual / expected``; ``light`` green (ratio ≥ ``yellow_below``), yellow, red
    (ratio < ``red_below``) or "no data"; ``behind`` the number of checkpoints in a row, ending
    with this one, at which the indicator was not green; ``flagged`` whether that run reached the
    schedule's ``flag_after`` (挂牌督办: lagging for long, flagged for rectification).
    """
    rows = []
    dv = view(data)
    subs = list(per_sub)
    period = subs[0][:4] if len(subs) > 1 else subs[0]
    for level, spec in scheme.levels.items():
        results = per_sub[subs[0]]
        if level not in results or not spec.schedule:
            continue
        units = results[level].units
        positions = dv.unit_ids.get_indexer(pd.Index(units["unit"].astype(str)))
        for code, rule in spec.schedule.items():
            if code not in dv.indicator_col:
                raise SchemeError(f"schedule names indicator {code!r}, which dataset {data.name!r} lacks",
                                  key=f"levels.{level}.schedule.{code}")
            checks = _checkpoints(rule, period)
            if not checks:
                continue
            # the units the indicator concerns: those a leaf scoring it applies to (a
            # county-specific indicator is not "no data" for the other counties)
            res = results[level]
            leaves = [j for j, nd in enumerate(res.nodes) if nd.kind == "leaf"
                      and nd.indicator == code]
            concerned = res.applies[:, leaves].any(axis=1) if leaves and res.applies is not None \
                else np.ones(len(units), bool)
            actual = np.stack([dv.column(p, positions, code) for p, _ in checks])
            expected = np.array([e for _, e in checks])[:, None]
            ratio = actual / expected
            yellow, red = rule.get("yellow_below", 1.0), rule.get("red_below", 0.9)
            light = np.where(~np.isfinite(ratio), "no data",
                             np.where(ratio < red, "red", np.where(ratio < yellow, "yellow", "green")))
            behind = streaks((light == "yellow") | (light == "red"))
            flag = rule.get("flag_after")
            flagged = behind >= flag if flag is not None else np.zeros_like(behind, dtype=bool)
            # one block of columns per indicator (checkpoints × concerned units), stacked once
            m, k = int(concerned.sum()), len(checks)
            rows.append({
                "unit": np.tile(units["unit"].to_numpy(object)[concerned], k),
                "name": np.tile(units["name"].to_numpy(object)[concerned], k),
                "level": np.full(m * k, level, object),
                "period": np.repeat(np.array([p for p, _ in checks], object), m),
                "indicator": np.full(m * k, code, object),
                "actual": actual[:, concerned].ravel(), "expected": np.repeat(expected[:, 0], m),
                "ratio": ratio[:, concerned].ravel(), "light": light[:, concerned].ravel(),
                "behind": behind[:, concerned].ravel(), "flagged": flagged[:, concerned].ravel()})
    if not rows:
        return _NO_LIGHTS.copy()  # (building an empty frame costs more than a whole level)
    return pd.DataFrame({c: np.concatenate([r[c] for r in rows]) for c in LIGHT_COLUMNS})


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
        frame["reason"] = _reasons(res, sel, frame["points_lost"].to_numpy(), level)
        not_applicable = ~res.applies[:, sel].ravel()
        frame.loc[not_applicable, ["raw_value", "score"]] = np.nan
        extras = []
        if len(res.deductions):
            d = res.deductions
            # negative list, failed musts and linked deductions (kind must / linked, issue 10)
            kind = d["kind"].fillna("deduction") if "kind" in d else "deduction"
            label = d["label"].fillna(d["item"]) if "label" in d else d["item"]
            extras.append(pd.DataFrame({"unit": d["unit"], "level": level, "node": kind + ":" + d["item"],
                                        "parent_node": "total", "depth": 1, "label": label,
                                        "kind": kind, "indicator": d["item"], "raw_value": d["value"],
                                        "score": np.nan, "weight": np.nan, "points": d["points"],
                                        "max_points": 0.0, "points_lost": -d["points"], "reason": d["reason"]}))
        adj = res.coefficient_points if res.coefficient_points is not None else \
            (res.base_score + _ded_sum(res)) * (res.coefficient - 1.0)
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
        veto_adj = res.total - (res.base_score + _ded_sum(res) + adj)
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
    # the levels in the order of ev.scores; within a level the units are already in its order
    out = pd.concat(frames, ignore_index=True)
    if any(len(f) and f["kind"].isin(["deduction", "coefficient", "veto"]).any() for f in frames):
        order = {u: i for i, u in enumerate(ev.scores["unit"])}
        out = out.iloc[np.argsort(out["unit"].map(order).to_numpy(), kind="stable")] \
            .reset_index(drop=True)
    out.insert(2, "period", ev.period)
    return out


def _reasons(res: LevelResult, sel: np.ndarray, lost: np.ndarray, level: str) -> np.ndarray:
    """The reason shown beside every unit × node of the contributions table.

    The rule that scored the node; with the points lost (and, for a rule relative to other
    units, the best value in the comparison group); "subtotal of the children" for group nodes;
    what the missing-value policy did; "does not apply to this unit". Built on object arrays:
    one formatted string per row that lost points.
    """
    n = res.score.shape[0]
    nodes = [res.nodes[j] for j in sel]
    rule = np.array([res.rule_text.get(nd.id, "") for nd in nodes], dtype=object)
    out = np.tile(rule, n)
    best = res.best[:, sel].ravel() if res.best is not None else np.full(len(out), np.nan)
    rounded = np.round(lost, 2)
    hit = np.flatnonzero(rounded > 0)
    shown: dict = {}  # the best value of a group repeats for every member: format it once
    texts, values, bests = out[hit].tolist(), rounded[hit].tolist(), best[hit].tolist()
    for k, (text, value, b) in enumerate(zip(texts, values, bests, strict=True)):
        text = f"{text}; lost {value} points"
        if b == b:  # not NaN
            if b not in shown:
                shown[b] = _fmt(b)
            text += f" (best in the comparison group: {shown[b]})"
        texts[k] = text
    out[hit] = np.array(texts, dtype=object)
    group = np.tile(np.array([nd.kind == "group" for nd in nodes]), n)
    out[group] = "subtotal of the children"
    if res.notes:
        col = {nd.id: k for k, nd in enumerate(nodes)}
        row = {u: i for i, u in enumerate(res.units["unit"].astype(str))}
        seen: dict[int, list] = {}
        for note in res.notes:
            if note["node"] in col and str(note["unit"]) in row:
                pos = row[str(note["unit"])] * len(nodes) + col[note["node"]]
                seen.setdefault(pos, []).append(note["note"])
        for pos, texts in seen.items():
            out[pos] = "; ".join(texts)  # a missing value: say what the policy did
    out[~res.applies[:, sel].ravel()] = NOT_APPLICABLE
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

    def summary(self) -> str:
        """Per period, who receives each consequence; then every multi-period rule that fired."""
        lines = []
        for period, ev in self.evaluations.items():
            lines.append(f"{ev.scheme.name} — {ev.dataset}, period {period}")
            counts = ev.consequences.groupby(["level", "label"], sort=False).size()
            for (level, label), k in counts.items():
                lines.append(f"  [{level}] {label}: {k} unit(s)")
        if self.flags.empty:
            lines.append("no rule over several periods fired")
        for (level, label), g in self.flags.groupby(["level", "label"], sort=False):
            lines.append(f"[{level}] {label}: " + ", ".join(
                f"{n} ({p}, {s} in a row)" for n, p, s in g[["name", "period", "streak"]]
                .itertuples(index=False)))
        return "\n".join(lines)

    def to_frame(self) -> pd.DataFrame:
        """The scores of every period stacked (:attr:`scores`)."""
        return self.scores

    def plot(self, level: str | None = None, **kwargs):
        """Group rank of every unit over the periods (see
        :func:`assesskit.report.plotting.plot_rank_trend`)."""
        from ..report.plotting import plot_rank_trend  # the report layer, on call only

        return plot_rank_trend(self, level=level, **kwargs)

    def _repr_html_(self) -> str:
        head = html.escape(self.summary()).replace("\n", "<br>")
        return f"<p>{head}</p>" + self.flags.to_html(index=False, escape=True)


def evaluate_periods(scheme, data: Dataset, periods) -> PeriodEvaluations:
    """Evaluate several periods and apply the multi-period rules of the scheme.

    A rule (``rules:`` under a level) fires for a unit when a condition holds in ``consecutive``
    periods in a row ending with the period flagged. Conditions: ``outcome`` (one consequence key
    or a list: the unit receives one of them), ``grade`` (one grade label or a list), ``bottom``
    (group rank among the last N of its group). A unit missing from a period breaks its run.

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
        if not spec.rules:
            continue
        frames = [ev.scores[ev.scores["level"] == level].set_index("unit") for ev in evs.values()]
        units = sorted(set().union(*(f.index for f in frames)))
        for rule in spec.rules:
            cond = np.stack([_condition(rule["when"], spec, f.reindex(units)) for f in frames])
            run = streaks(cond)  # (periods, units)
            need = int(rule.get("consecutive", 1))
            for k, i in zip(*np.nonzero(run >= need), strict=True):
                flags.append({"unit": units[i], "name": frames[k]["name"].get(units[i], ""),
                              "level": level, "period": periods[k], "rule": rule["name"],
                              "label": rule.get("label", rule["name"]), "streak": int(run[k, i])})
    flag_frame = pd.DataFrame(flags, columns=["unit", "name", "level", "period", "rule", "label",
                                              "streak"])
    flag_frame = flag_frame.sort_values(["level", "unit", "period"], kind="mergesort") \
        .reset_index(drop=True)
    return PeriodEvaluations(evs, scores, flag_frame)


def _condition(when: dict, spec: LevelSpec, frame: pd.DataFrame) -> np.ndarray:
    """Whether a rule's condition holds for each unit in one period (False where absent)."""
    present = frame["score"].notna().to_numpy()
    cond = present.copy()
    if "outcome" in when:
        wanted = when["outcome"] if isinstance(when["outcome"], list) else [when["outcome"]]
        got = frame["outcome"].fillna("").astype(str).str.split("+")
        cond &= got.map(lambda ks: bool(set(ks) & set(wanted))).to_numpy(dtype=bool)
    if "grade" in when:
        wanted = when["grade"] if isinstance(when["grade"], list) else [when["grade"]]
        cond &= frame["grade"].isin(wanted).to_numpy(dtype=bool)
    if "bottom" in when:
        gb = spec.ranking.get("group_by")
        key = frame[gb].astype(str) if gb else pd.Series("", index=frame.index)
        size = key.map(key[present].value_counts()).to_numpy(dtype=float)
        rank = pd.to_numeric(frame["group_rank"], errors="coerce").to_numpy(dtype=float)
        cond &= rank > size - int(when["bottom"])
    return cond
