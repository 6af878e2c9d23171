"""A level scored from rating sheets inside ``evaluate``, and what evaluations show of issue 10.

A level with ``review:`` (Yingshan's "双述双评", see :mod:`assesskit.engine.ratings`) has no tree
of indicators: :func:`score_review_level` runs the review kernels — the seeded draw of plenary
reporters, the sessions, every check of the sheets, sheet points, rater-group means — and
returns the same :class:`~assesskit.engine.level.LevelResult` a tree gives, with one node per
rater group under the total:

* node score ``m_ig`` — the mean sheet points of rater group g for unit i;
* effective weight ``w_ig = v_g [D_ig > 0] / Σ_h v_h [D_ih > 0]`` (a group without a usable
  sheet for the unit is left out and the others re-normalised, a notice);
* points ``w_ig · m_ig / 100 · max_points``, which add up to the review's score
  ``S_i / 100 · max_points`` (``S_i = Σ_g w_ig m_ig``, the points per grade being a score out
  of 100 like every scoring rule);
* the total ``(S_i / 100 · max_points − deductions)``, or the veto score where vetoed, like
  :meth:`~assesskit.engine.level.LevelModel.totals` with coefficient 1 — deductions and vetoes
  coming from the level's musts or linked consequences (:mod:`assesskit.engine.adjustments`).

Ranks, quotas, grades and consequences are then the engine's own
(:class:`~assesskit.engine.consequences.LevelDecisions`), as for any level.

The other functions are the hooks of :mod:`assesskit.engine.evaluation` for reviews, musts and
linked consequences: scores-table columns, consequences rows, log entries (the draw can be
redone from its entry), summary and explanation lines.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..data.model import Dataset
from ..data.ratings import draw_reporters
from ..errors import DataError, Problem, SchemeError
from ..scheme.model import LevelSpec, Scheme
from .adjustments import level_adjustments
from .inputs import view
from .level import LevelResult, Scorer, check_groups, grouping_for, select_units
from .ratings import ReviewResult, evaluate_review

__all__ = ["explain_lines", "extra_columns", "level_log", "level_outputs",
           "linked_consequences", "redo_draw", "refuse_review",
           "review_result", "score_review_level", "summary_lines"]

_NO_DEDUCTIONS = ["unit", "item", "value", "points", "reason"]


def score_review_level(scheme: Scheme, spec: LevelSpec, data: Dataset, period: str,
                       upstream: dict) -> LevelResult:
    """Score a level with ``review:`` for one period (see the module notes).

    Parameters
    ----------
    scheme : Scheme
    spec : LevelSpec
        A level whose ``review`` is set.
    data : Dataset
        With a ratings table.
    period : str
        Canonical period.
    upstream : dict
        Results of the levels scored before (for linked consequences reaching this level).

    Returns
    -------
    LevelResult
        With ``review`` (the :class:`~assesskit.engine.ratings.ReviewResult`) and
        ``adjustments``.

    Raises
    ------
    DataError
        Every check of the ratings (file, row and column), a draw larger than the number of
        rated units, a rated unit without any usable sheet.
    """
    units = select_units(data, spec)
    check_groups(units, spec, data)
    ids = units["unit"].astype(str).tolist()
    review = evaluate_review(spec.review, data, period, ratees=ids)
    groups = list(spec.review.rater_groups)
    n, G = len(ids), len(groups)
    score = review.scores["score"].to_numpy(dtype=float)
    bad = np.flatnonzero(~np.isfinite(score))
    if len(bad):
        raise DataError([Problem(f"{ids[i]} ({units['name'].iat[i]}) has no usable rating sheet "
                                 f"in period {period}; level {spec.level!r} is scored from the "
                                 "sheets (add them, or leave the unit out with units.where)",
                                 review.sheets.file, column="unit", value=ids[i]) for i in bad])
    means = review.scores[[f"mean_{g}" for g in groups]].to_numpy(dtype=float)
    v = np.array([spec.review.rater_groups[g]["weight"] for g in groups])
    have = np.isfinite(means)
    weight = np.where(have, v[None, :], 0.0)
    weight = weight / weight.sum(axis=1, keepdims=True)
    maxp = spec.max_points
    node_score = np.column_stack([score, means])
    node_weight = np.column_stack([np.ones(n), weight])
    points = np.column_stack([score / 100.0 * maxp,
                              np.where(have, weight * means, 0.0) / 100.0 * maxp])
    max_points = np.column_stack([np.full(n, maxp), weight * maxp])

    positions = view(data).unit_ids.get_indexer(pd.Index(ids))
    scorer = Scorer(data, units, positions, period, grouping_for(units, spec.ranking))
    adj = level_adjustments(spec, data, units, period, upstream,
                            lambda code, key: scorer.values(code, period, key))
    deductions = adj.add_deductions(pd.DataFrame(columns=_NO_DEDUCTIONS))
    ded = deductions.groupby("unit", sort=False)["points"].sum().reindex(ids).fillna(0.0) \
        .to_numpy(dtype=float) if len(deductions) else np.zeros(n)
    vetoed, reason = adj.apply_veto(np.zeros(n, bool), [""] * n)
    base = points[:, 0].copy()
    total = base + ded  # as LevelModel.totals, with coefficient 1
    veto = (spec.consequences.get("veto") or {}).get("score")
    if veto is not None:
        total = np.where(vetoed, float(veto), total)
    pts = ", ".join(f"{g} {p:g}" for g, p in spec.review.points.items())
    rule_text = {g: (f"mean points of the sheets of {body['label']} (group weight {body['weight']:g}, "
                     f"re-normalised over the groups with a sheet); a sheet's points are the "
                     f"aspect-weighted mean of its grades ({pts})")
                 for g, body in spec.review.rater_groups.items()}
    return LevelResult(spec.level, units, list(spec.root.walk()), np.full((n, G + 1), np.nan),
                       node_score, node_weight, points, max_points, base, deductions,
                       np.ones(n), vetoed, reason, total, [], rule_text, None,
                       np.ones((n, G + 1), bool), [*review.notices, *adj.notices],
                       adjustments=adj, review=review)


def refuse_review(scheme: Scheme, level: str, what: str) -> None:
    """Raise for an analysis that varies the design of a tree on a level scored by a review.

    Raises
    ------
    SchemeError
        Naming the level's ``review:`` key and its line.
    """
    spec = scheme.levels[level]
    if spec.review is not None:
        raise scheme.error(
            f"level {spec.level!r} is scored by a rater-based review (review:), not by a tree "
            f"of indicators: {what} varies the tree's weights, normalisations and aggregation, "
            "which a review does not have. For the uncertainty of a review's grades use "
            "assesskit.analysis.raters (grade_bootstrap: re-draws of raters and of who reports "
            "at the plenary)", f"levels.{spec.level}.review")


def review_result(ev, level: str | None = None) -> ReviewResult:
    """The rating sheets, draw and scores of a level scored by a review in an evaluation.

    Parameters
    ----------
    ev : Evaluation
    level : str, optional
        Default: the first level of the scheme with ``review:``.

    Returns
    -------
    ReviewResult
    """
    levels = [lv for lv, res in ev.level_results.items() if res.review is not None]
    if not levels:
        raise SchemeError(f"no level of scheme {ev.scheme.name!r} is scored by a review "
                          "(review:)", key="levels")
    level = level or levels[0]
    if level not in levels:
        raise SchemeError(f"level {level!r} is not scored by a review; levels with review: "
                          f"{levels}", key=f"levels.{level}")
    return ev.level_results[level].review


def linked_consequences(ev, data: Dataset) -> pd.DataFrame:
    """Every linked consequence an evaluation's units cause, wherever it lands.

    The rows of kind ``linked`` of ``ev.consequences`` (links within the scheme), then those of
    the evaluation of each scheme file its rules reach (``scheme:``; evaluated here with
    ``evaluate(target, data, ev.period)``, which re-evaluates this scheme as its source).

    Parameters
    ----------
    ev : Evaluation
    data : Dataset
        The data ``ev`` was computed on.

    Returns
    -------
    DataFrame
        The consequences columns plus ``scheme`` (the scheme that assesses the unit reached) and
        ``level_label`` (the label of its level).
    """
    from .evaluation import evaluate  # evaluation imports this module

    evs = [ev] + [evaluate(t["path"], data, ev.period) for t in ev.scheme.linked_targets
                  if t["listed"]]
    parts = []
    for e in evs:
        rows = e.consequences[e.consequences["kind"] == "linked"]
        labels = {lv: spec.label for lv, spec in e.scheme.levels.items()}
        parts.append(rows.assign(scheme=e.scheme.name,
                                 level_label=rows["level"].map(labels).astype(object)))
    return pd.concat(parts, ignore_index=True)


def redo_draw(entry: dict, ids) -> list[str]:
    """Redo the plenary draw of a log entry (``step: draw``) from the rated units' ids.

    Examples
    --------
    >>> redo_draw({"k": 2, "seed": 1}, ["c", "a", "b"]) == draw_reporters(["a", "b", "c"], 2, 1)
    True
    """
    return draw_reporters(ids, int(entry["k"]), int(entry["seed"]))


# ---------------------------------------------------------------------- evaluation hooks
def level_outputs(res: LevelResult, spec: LevelSpec, columns: dict,
                  long: dict) -> tuple[dict, dict]:
    """Consequences rows of the linked effects reaching a level (kind ``linked``).

    One row per unit and effect (a flag, a grade cap, a deduction), saying which units of the
    triggering level caused it; inserted after the unit's own consequences.
    """
    adj = res.adjustments
    if adj is None or not len(adj.linked):
        return columns, long
    linked = adj.linked
    pos = pd.Index(columns["unit"]).get_indexer(linked["unit"])
    extra = {"unit": linked["unit"].tolist(), "name": list(columns["name"][pos]),
             "level": [spec.level] * len(linked), "group": list(columns["group"][pos]),
             "consequence": linked["consequence"].tolist(), "label": linked["label"].tolist(),
             "kind": ["linked"] * len(linked), "because": linked["because"].tolist()}
    order = pd.Index(columns["unit"]).get_indexer(long["unit"] + extra["unit"])
    # the unit's own consequences first, then the linked ones, in the units' order
    sort = np.lexsort((np.arange(len(order)), order))
    return columns, {c: [(long[c] + extra[c])[i] for i in sort] for c in long}


def extra_columns(scores: pd.DataFrame, results: dict) -> pd.DataFrame:
    """Columns of the scores table that only some levels fill.

    A level scored by a review fills ``session`` (``plenary`` or the group session), ``drawn``
    and ``sheets`` (usable sheets counted); a level reached by a linked consequence fills
    ``linked_outcomes`` (the labels of every effect reaching the unit). Other levels' rows are
    empty (``""``, missing). ``results`` are the levels' results in the order of the rows.
    """
    reviews = any(r.review is not None for r in results.values())
    links = any(r.adjustments is not None and r.adjustments.grade_cap is not None
                for r in results.values())
    if not (reviews or links):
        return scores
    parts: dict = {"session": [], "drawn": [], "sheets": [], "linked_outcomes": []}
    for res in results.values():
        n = len(res.units)
        r = res.review.scores if res.review is not None else None
        parts["session"].append(r["session"].to_numpy(dtype=object) if r is not None
                                else np.full(n, "", dtype=object))
        parts["drawn"].append(r["drawn"].to_numpy(dtype=object) if r is not None
                              else np.full(n, pd.NA, dtype=object))
        parts["sheets"].append(r["sheets"].to_numpy(dtype=float) if r is not None
                               else np.full(n, np.nan))
        linked = res.adjustments.linked if res.adjustments is not None else None
        labels = linked.groupby("unit", sort=False)["label"].agg("、".join) \
            if linked is not None and len(linked) else pd.Series(dtype=object)
        mapped = res.units["unit"].astype(str).map(labels).astype(object)
        parts["linked_outcomes"].append(np.where(mapped.isna(), "", mapped).astype(object))
    out = scores.copy()
    if reviews:
        out["session"] = np.concatenate(parts["session"])
        out["drawn"] = pd.array(np.concatenate(parts["drawn"]), dtype="boolean")
        out["sheets"] = pd.array(np.concatenate(parts["sheets"]), dtype="Int64")
    if links:
        out["linked_outcomes"] = np.concatenate(parts["linked_outcomes"])
    return out


def level_log(spec: LevelSpec, res: LevelResult) -> list[dict]:
    """Log entries of a review (the draw, the points, weights and policies, every notice), the
    musts checked and failed, and the linked consequences applied."""
    out = []
    if res.review is not None:
        for entry in res.review.log:
            out.append({**entry, "level": spec.level})
    if res.adjustments is not None:
        out.extend(res.adjustments.log)
    return out


def summary_lines(ev, level: str) -> list[str]:
    """Lines of ``Evaluation.summary`` for a level: the plenary draw, the linked consequences
    reaching it (which units of which level and scheme caused them) and the failed musts."""
    res = ev.level_results.get(level)
    if res is None:
        return []
    lines = []
    if res.review is not None:
        r = res.review
        names = dict(zip(r.scores["unit"], r.scores["name"], strict=True))
        lines.append(f"  plenary draw: {r.spec.draw_k} of {len(r.scores)} drawn with seed "
                     f"{r.spec.draw_seed}: " + ", ".join(f"{names[u]} ({u})" for u in r.panel.drawn))
    for entry in res.adjustments.log if res.adjustments is not None else []:
        if entry.get("step") == "linked" and entry["reached"]:
            where = f"level {entry['from']!r}" + (
                f" of scheme {entry['scheme']!r}, evaluated on the same data and period"
                if "scheme" in entry else "")
            names = dict(zip(res.units["unit"].astype(str), res.units["name"], strict=True))
            lines.append(f"  linked consequence {entry['rule']} from {where}: "
                         + "; ".join(f"{names[u]} ({u}) ← {', '.join(who)} {entry['when']}"
                                     for u, who in entry["reached"].items()))
    for target in ev.scheme.linked_targets:  # rules reaching another scheme file
        rule = target["rule"]
        if rule.source == level:
            lines.append(f"  linked consequence {rule.key} ({rule.describe_when()}) reaches level "
                         f"{rule.level!r} of scheme {rule.scheme!r}: "
                         + ("applied when that scheme is evaluated (on the same data and "
                            "period), not in this evaluation" if target["listed"] else
                            "not applied by any evaluation (that level does not list this "
                            "scheme file in linked_from:)"))
    musts = res.adjustments.musts if res.adjustments is not None else None
    if musts is not None:
        failed = musts.musts[~musts.musts["passed"]]
        for (must, label), part in failed.groupby(["must", "must_label"], sort=False):
            lines.append(f"  {label} ({must}) failed → {part['consequence'].iloc[0]}: "
                         + ", ".join(f"{nm} ({u})" for u, nm in zip(part["unit"], part["name"],
                                                                    strict=True)))
    return lines


def explain_lines(ev, row: pd.Series) -> list[str]:
    """Lines of ``Evaluation.explain`` for a unit: its session in a review, and every linked
    consequence reaching it (with the grade cap it brings)."""
    res = ev.level_results.get(row["level"])
    if res is None:
        return []
    lines = []
    unit = str(row["unit"])
    if res.review is not None:
        r = res.review
        i = int(np.flatnonzero(r.scores["unit"].to_numpy() == unit)[0])
        where = ("reported at the plenary (drawn" if r.scores["drawn"].iat[i]
                 else f"reported in session {r.scores['session'].iat[i]} (not drawn")
        per_group = ", ".join(
            f"{r.spec.rater_groups[g]['label']} {int(n)}" for g, n in
            zip(r.sheets.groups, np.bincount(r.sheets.rater_group[r.usable[i]],
                                             minlength=len(r.sheets.groups)), strict=True))
        lines.append(f"{where}: {r.spec.draw_k} of {len(r.scores)} with seed "
                     f"{r.spec.draw_seed}); {int(r.scores['sheets'].iat[i])} sheets counted "
                     f"({per_group})")
    adj = res.adjustments
    if adj is not None and len(adj.linked):
        for x in adj.linked[adj.linked["unit"] == unit].itertuples():
            lines.append(f"linked ({x.effect}): {x.label} — because {x.because}")
    return lines
