"""What a level's total owes to rules outside its tree: failed musts and linked consequences.

Two kinds of rule change a unit's total, grade or standing without being nodes of its tree:

*musts* (硬约束, ``musts:`` of the level; Jiange's "五个必须")
    each must is a set of pass/fail checks on indicator values (the engine's ``passfail`` rule,
    :func:`~assesskit.engine.ratings.check_musts`). A unit failing a must loses the must's
    ``deduct`` points, or is vetoed (一票否决: ``on_fail: {veto: true}``).
*linked consequences* (``linked:`` of *another* level, reaching this one)
    a unit of the triggering level — of this scheme, or of another scheme file whose rule this
    level lists in ``linked_from:`` (its results evaluated on the same data and period, see
    :func:`~assesskit.engine.evaluation.evaluate`) — that meets ``when`` (a grade, a
    consequence, a veto) reaches its linked unit — the value of the units column ``via`` — in
    this level: ``deduct`` takes
    ``min(cap, points × cases)`` points from it (:func:`~assesskit.engine.ratings.linked_deductions`),
    ``cap_grade`` caps its grade (:meth:`~assesskit.engine.consequences.GradeRule.capped`), any
    other effect flags it with a label (a principal barred from awards that year).

:func:`level_adjustments` computes both for one level and (sub-)period; the level's compiled
model (:class:`~assesskit.engine.level.LevelModel`) adds the deductions to its negative-list
deductions and the vetoes to its own, so that ``evaluate`` and the Monte Carlo over designs
(:mod:`assesskit.engine.batch`) share them. A total is then

``total = (base + negative list − Σ failed musts' deductions − Σ linked deductions) ×
coefficient``, or the veto score (``consequences.veto.score``) where vetoed.

The triggering level is scored first (the scheme orders levels so); its grades and
consequences are decided by the same :class:`~assesskit.engine.consequences.LevelDecisions` as
in ``evaluate``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..data.model import Dataset
from ..errors import DataError, Notice, Problem
from ..scheme.model import LevelSpec
from .ratings import MustResults, evaluate_musts, linked_deductions, linked_units

DEDUCTION_COLUMNS = ["unit", "item", "value", "points", "reason", "kind", "label"]
LINKED_COLUMNS = ["unit", "consequence", "label", "effect", "rule", "source", "scheme",
                  "because"]
# shared empty tables (never modified in place): a level without musts or links costs nothing
_NO_DEDUCTIONS = pd.DataFrame(columns=DEDUCTION_COLUMNS)
_NO_LINKED = pd.DataFrame(columns=LINKED_COLUMNS)


@dataclass
class Adjustments:
    """Deductions, vetoes, grade caps and flags of one level from its musts and linked rules.

    Attributes
    ----------
    deductions : DataFrame
        unit, item, value, points (negative), reason, kind (``must`` or ``linked``), label: one
        row per unit and failed must (0 points for a vetoing must) or linked deduction.
    vetoed : ndarray of bool, shape (n,)
    veto_reason : list of str
        Which must failed, the value and the threshold of each failed check.
    grade_cap : ndarray of int, shape (n,) or None
        Best grade number each unit can get (0: no cap).
    linked : DataFrame
        One row per unit and effect of a linked consequence reaching it: unit, consequence
        (``rule.effect``), label, effect (cap_grade, deduct, flag), rule, source (the triggering
        level), scheme (the triggering level's scheme when it is another scheme file, else
        ``""``), because (the triggering units and their grade).
    musts : MustResults or None
    notices : list of Notice
    log : list of dict
    """

    deductions: pd.DataFrame
    vetoed: np.ndarray
    veto_reason: list
    grade_cap: np.ndarray | None = None
    linked: pd.DataFrame = field(default_factory=lambda: _NO_LINKED)
    musts: MustResults | None = None
    notices: list = field(default_factory=list)
    log: list = field(default_factory=list)

    def add_deductions(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The level's negative-list deductions with these appended."""
        if not len(self.deductions):
            return frame
        if not len(frame):
            return self.deductions.copy()  # the level's own table, free to change
        return pd.concat([frame, self.deductions], ignore_index=True)

    def apply_veto(self, vetoed: np.ndarray, reason: list) -> tuple[np.ndarray, list]:
        """Vetoes of the level's own rules combined with those of failed musts."""
        if not self.vetoed.any():
            return vetoed, reason
        out = list(reason)
        for i in np.flatnonzero(self.vetoed):
            out[i] = "; ".join(r for r in (out[i], self.veto_reason[i]) if r)
        return vetoed | self.vetoed, out


def level_adjustments(spec: LevelSpec, data: Dataset, units: pd.DataFrame, period: str,
                      upstream: dict, values: Callable[[str, str], np.ndarray]) -> Adjustments:
    """Failed musts of a level and the linked consequences reaching it, for one period.

    Parameters
    ----------
    spec : LevelSpec
    data : Dataset
    units : DataFrame
        The units the level assesses, in order.
    period : str
        Canonical (sub-)period.
    upstream : dict
        ``{level: LevelResult}`` of the levels already scored (those that trigger linked
        consequences on this one come before it), and ``{(scheme, level): LevelResult}`` of the
        levels of other scheme files whose rules reach this one (``linked_from:``), evaluated
        by ``evaluate`` on the same data and period.
    values : callable
        ``values(indicator, key)`` -> the indicator's values for ``units`` in ``period``
        (raises a located SchemeError for an unknown indicator).

    Returns
    -------
    Adjustments
    """
    n = len(units)
    out = Adjustments(_NO_DEDUCTIONS, np.zeros(n, bool), [""] * n)
    frames = []
    if spec.musts is not None:
        frames.append(_musts(out, spec, data, units, period, values))
    if spec.linked_from:
        frames.extend(_incoming(out, spec, data, units, upstream))
    frames = [f for f in frames if len(f)]
    if frames:
        out.deductions = pd.concat(frames, ignore_index=True)[DEDUCTION_COLUMNS]
    return out


# ---------------------------------------------------------------------- musts
def _musts(out: Adjustments, spec: LevelSpec, data: Dataset, units: pd.DataFrame, period: str,
           values) -> pd.DataFrame:
    musts = spec.musts
    checks = musts.checks
    ids = units["unit"].astype(str).to_numpy(dtype=object)
    names = units["name"].astype(str).to_numpy(dtype=object)
    x = np.column_stack([values(c.indicator, f"{c.key}.indicator") for c in checks]) \
        if len(units) else np.zeros((0, len(checks)))
    gap = np.isnan(x)
    if gap.any():
        vfile = data.sources.get("values", f"values of dataset {data.name!r}")
        where = [f"unit {ids[i]} ({names[i]}): {checks[j].indicator}"
                 for i, j in zip(*np.nonzero(gap), strict=True)]
        if musts.missing == "error":
            raise DataError([Problem(
                f"unit {ids[i]} ({names[i]}) has no value for {checks[j].indicator!r} in period "
                f"{period}, which must {checks[j].must!r} checks ({checks[j].label}); "
                f"{musts.located} has missing: error — supply the value or set missing: fail",
                file=vfile, column="value") for i, j in zip(*np.nonzero(gap), strict=True)],
                title=f"values missing for the musts of level {spec.level!r}")
        out.notices.append(Notice("must_missing_failed",
                                  f"{len(where)} must check(s) have no value and fail "
                                  f"(musts.missing: fail): {', '.join(where)}",
                                  f"{spec.level}, period {period}"))
    res = evaluate_musts(musts, x, ids, names)
    out.musts = res
    failed = res.musts[~res.musts["passed"]]
    veto_m = {m.key: m.veto for m in musts.musts.values()}
    ded_m = {m.key: m.deduct for m in musts.musts.values()}
    reason = failed["must_label"] + " (" + failed["must"] + ") failed: " + failed["detail"] \
        + " → " + failed["consequence"]
    pos = pd.Index(ids).get_indexer(failed["unit"])
    vetoing = failed["must"].map(veto_m).to_numpy(dtype=bool)
    for i, text in zip(pos[vetoing], reason[vetoing], strict=True):
        out.vetoed[i] = True
        out.veto_reason[i] = "; ".join(r for r in (out.veto_reason[i], text) if r)
    out.log.append({"step": "musts", "level": spec.level, "period": period,
                    "missing": musts.missing,
                    "musts": {m.key: {"label": m.label, "on_fail": m.consequence,
                                      "checks": [f"{c.indicator} {c.op} {c.threshold:g}"
                                                 for c in m.checks]}
                              for m in musts.musts.values()},
                    "failed": {u: list(g["must"]) for u, g in failed.groupby("unit", sort=False)}})
    return pd.DataFrame({
        "unit": failed["unit"].to_numpy(dtype=object), "item": failed["must"].to_numpy(),
        "value": (~res.checks["passed"]).groupby([res.checks["unit"], res.checks["must"]],
                                                  sort=False).sum()
        .reindex(pd.MultiIndex.from_frame(failed[["unit", "must"]])).to_numpy(dtype=float),
        "points": 0.0 - failed["must"].map(ded_m).to_numpy(dtype=float),  # no -0.0
        "reason": reason.to_numpy(dtype=object), "kind": "must",
        "label": failed["must_label"].to_numpy(dtype=object)})


# ---------------------------------------------------------------------- linked consequences
def _incoming(out: Adjustments, spec: LevelSpec, data: Dataset, units: pd.DataFrame,
              upstream: dict) -> list[pd.DataFrame]:
    ids = units["unit"].astype(str).tolist()
    n = len(ids)
    frames, flags = [], []
    dataset_level = str(spec.units.get("level", spec.level))
    for rule, source_spec in spec.linked_from:
        src = upstream[rule.upstream_key]
        triggered = _triggered(rule, source_spec, src)
        src_ids = src.units["unit"].astype(str).tolist()
        linked = linked_units(data, src_ids, rule.via, level=dataset_level)
        pos = pd.Index(ids).get_indexer(list(linked))
        ufile = data.sources.get("units", "units")
        row_of = {u: i + 2 for i, u in enumerate(data.units["unit"].astype(str))}
        astray = [Problem(f"{src_ids[i]} ({src.units['name'].iat[i]}) is {rule.describe_when()}, "
                          f"so {rule.label} ({rule.located}) reaches its {rule.via} "
                          f"{linked[i]}, but level {spec.level!r} does not assess that unit",
                          ufile, row_of.get(src_ids[i]), rule.via, linked[i])
                  for i in np.flatnonzero(triggered & (pos < 0))]
        if astray:
            raise DataError(astray, title=f"linked consequence {rule.key!r} reaches units level "
                                          f"{spec.level!r} does not assess")
        hit = triggered & (pos >= 0)
        cases, _ = linked_deductions(hit, linked, ids, 1.0)
        who = {j: [] for j in np.flatnonzero(cases)}
        for i in np.flatnonzero(hit):
            who[pos[i]].append(f"{src_ids[i]} ({src.units['name'].iat[i]})")
        because = {j: f"{', '.join(w)} {rule.describe_when()} in {rule.where_from()}"
                   for j, w in who.items()}
        reached = np.flatnonzero(cases)
        for effect in rule.effects:
            flags.append(pd.DataFrame({
                "unit": [ids[j] for j in reached], "consequence": f"{rule.key}.{effect.key}",
                "label": effect.label, "effect": effect.kind, "rule": rule.key,
                "source": rule.source,
                "scheme": rule.source_scheme if rule.scheme is not None else "",
                "because": [because[j] for j in reached]},
                columns=LINKED_COLUMNS))
            if effect.kind == "deduct":
                _, points = linked_deductions(hit, linked, ids, effect.points, effect.cap)
                capped = effect.points * cases > points
                frames.append(pd.DataFrame({
                    "unit": [ids[j] for j in reached], "item": rule.key,
                    "value": cases[reached].astype(float), "points": -points[reached],
                    "reason": [f"{effect.label}: {because[j]}; {effect.points:g} points each"
                               + (f", capped at {effect.cap:g}" if capped[j] else "")
                               for j in reached],
                    "kind": "linked", "label": effect.label}))
            elif effect.kind == "cap_grade":
                labels = [str(b[1]) for b in spec.grades["bands"]]
                cap = np.where(cases > 0, labels.index(effect.best), 0)
                out.grade_cap = cap if out.grade_cap is None else np.maximum(out.grade_cap, cap)
        out.log.append({"step": "linked", "level": spec.level, "rule": rule.key,
                        "from": rule.source,
                        **({"scheme": rule.source_scheme} if rule.scheme is not None else {}),
                        "when": rule.describe_when(), "via": rule.via,
                        "effects": {e.key: e.label for e in rule.effects},
                        "reached": {ids[j]: who[j] for j in reached}})
    if out.grade_cap is None:
        out.grade_cap = np.zeros(n, np.int64) if spec.linked_from else None
    out.linked = pd.concat(flags, ignore_index=True) if flags else out.linked
    return frames


def _triggered(rule, source_spec: LevelSpec, src) -> np.ndarray:
    """Which units of the triggering level meet the rule's ``when`` (its final grade, its
    consequences or its veto), decided by the engine's own rules."""
    kind, wanted = rule.when
    if kind == "vetoed":
        return np.asarray(src.vetoed, bool)
    # evaluation imports this module through level.py; the decisions are the evaluation's own
    from .evaluation import level_decisions

    rules = level_decisions(source_spec, src)
    tiebreak = [src.score[None, :, j] for j in rules.break_by]
    dec = rules.decide(src.total[None, :], tiebreak, np.asarray(src.vetoed, bool))
    if kind == "grades":
        labels = np.asarray(rules.grade_rule.labels, dtype=object)
        grade = dec.grade[0]
        return (grade >= 0) & np.isin(labels[np.maximum(grade, 0)], list(wanted))
    bits = [c for c, k in enumerate(rules.keys) if k in wanted]
    outcome = dec.outcome[0].astype(np.int64)
    return np.any([(outcome >> c) & 1 for c in bits], axis=0).astype(bool)
