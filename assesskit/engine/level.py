"""The scoring engine: apply one level of a scheme to a dataset for one period, as array operations.

A level of a scheme compiles once into arrays over units × nodes (:class:`CompiledLevel`): raw
values of the leaves, per-unit weights of every node within its parent (overrides and
unit-specific indicators included), and the node tree in post-order. Scoring and aggregation are
then whole-array operations, with no loop over units; the uncertainty analysis reuses the same
functions with a leading axis of design variants.

Missing values follow the node's policy (see ``docs/scheme-format.md``):

``error``
    any missing child score raises a :class:`~assesskit.errors.DataError` naming unit and node.
``renormalise``
    the missing child is left out and the weights of the others are scaled to sum to 1.
``impute_group_mean``
    the missing child score is replaced by the mean score of that child in the unit's
    comparison group.
``zero``
    the missing child scores 0.

Every imputation or re-normalisation is recorded and shown in ``Evaluation.explain``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..data.model import Dataset, shift_period
from ..errors import DataError, Problem, SchemeError
from ..scheme.model import LevelSpec, Node, Scheme
from . import scoring as sc

UNIT_OUT_COLUMNS = ["unit", "name", "name_en", "level", "parent", "group", "subgroup"]


@dataclass
class LevelResult:
    """Arrays and tables produced by scoring one level for one period."""

    level: str
    units: pd.DataFrame
    nodes: list[Node]
    raw: np.ndarray  # (n, N) raw indicator value of leaves (NaN elsewhere)
    score: np.ndarray  # (n, N) normalised score 0-100 of every node
    weight: np.ndarray  # (n, N) effective weight within parent (after missing handling)
    points: np.ndarray  # (n, N) points earned
    max_points: np.ndarray  # (n, N) points available
    base_score: np.ndarray  # (n,) total before deductions and coefficient
    deductions: pd.DataFrame  # unit, item, value, points (negative)
    coefficient: np.ndarray  # (n,)
    vetoed: np.ndarray  # (n,) bool
    veto_reason: list[str]
    total: np.ndarray  # (n,) final score
    notes: list[dict] = field(default_factory=list)  # imputations and other per-cell decisions
    rule_text: dict[str, str] = field(default_factory=dict)  # node id -> rule description
    best: np.ndarray | None = None  # (n, N) best raw value in the unit's comparison group (relative rules)


def select_units(data: Dataset, spec: LevelSpec) -> pd.DataFrame:
    """The units a level assesses: units of the dataset level, optionally filtered by attributes."""
    level = spec.units.get("level", spec.level)
    units = data.level_units(level)
    for column, allowed in (spec.units.get("where") or {}).items():
        if column not in units.columns:
            raise SchemeError(f"units.where names column {column!r}, which the units table lacks",
                              key=f"levels.{spec.level}.units.where.{column}")
        allowed = allowed if isinstance(allowed, list) else [allowed]
        units = units[units[column].astype(str).isin([str(a) for a in allowed])]
    if units.empty:
        raise DataError(f"scheme level {spec.level!r} selects no unit from dataset {data.name!r}")
    return units.reset_index(drop=True)


def group_labels(units: pd.DataFrame, spec: LevelSpec, within: str) -> np.ndarray:
    """Comparison-group label per unit for scoring ``within`` group / subgroup / pool."""
    group_by = spec.ranking.get("group_by", "group")
    if within == "pool" or not group_by:
        return np.full(len(units), "", dtype=object)
    labels = units[group_by].astype(str).to_numpy(dtype=object)
    if within == "subgroup":
        sub = spec.ranking.get("subgroup_by", "subgroup")
        labels = labels + "/" + units[sub].astype(str).to_numpy(dtype=object)
    return labels


def check_groups(units: pd.DataFrame, spec: LevelSpec, data: Dataset) -> None:
    """A level ranked within groups needs a group (and subgroup where quotas use one) per unit."""
    file = data.sources.get("units", f"units of dataset {data.name!r}")
    for key in ("group_by", "subgroup_by"):
        column = spec.ranking.get(key)
        if not column:
            continue
        if column not in units.columns:
            raise SchemeError(f"ranking.{key} names column {column!r}, which the units table lacks",
                              key=f"levels.{spec.level}.ranking.{key}")
        if key == "subgroup_by":
            continue  # subgroups may be blank outside the groups that split their quotas
        blank = units[column].astype(str).str.strip() == ""
        if blank.any():
            raise DataError([Problem(f"unit {u} ({nm}) has no {column}, but scheme level "
                                     f"{spec.level!r} ranks within {column}s; fill it in",
                                     file=file, column=column)
                             for u, nm in zip(units["unit"][blank], units["name"][blank], strict=True)])


def _exclude_incomplete(data: Dataset, spec: LevelSpec, units: pd.DataFrame, period: str):
    """Leave out units lacking any leaf indicator (``units: {exclude_incomplete: true}``).

    Used where a published index is only computed for complete units (UNDP's HDI); every unit
    left out is recorded (log step "missing", policy "excluded") and listed in
    ``Evaluation.excluded`` — nothing disappears silently.
    """
    codes = sorted({n.indicator for n in spec.root.walk() if n.kind == "leaf"})
    wide = data.wide(period, units=units["unit"], indicators=codes)
    incomplete = wide.isna().any(axis=1).to_numpy()
    notes = [{"unit": u, "node": "total", "parent": "", "period": period, "policy": "excluded",
              "value": None, "note": "left out of the evaluation: no value for "
              + ", ".join(c for c in codes if np.isnan(wide.loc[u, c]))}
             for u in units["unit"][incomplete]]
    kept = units[~incomplete].reset_index(drop=True)
    if kept.empty:
        raise DataError(f"every unit of level {spec.level!r} lacks data in period {period}")
    return kept, notes


def _unit_weights(spec: LevelSpec, nodes: list[Node], units: pd.DataFrame) -> np.ndarray:
    """Per-unit weight of every node within its parent (0 where a node does not apply)."""
    n = len(units)
    ids = units["unit"].tolist()
    pos = {u: i for i, u in enumerate(ids)}
    w = np.tile(np.array([nd.weight for nd in nodes]), (n, 1))
    for j, nd in enumerate(nodes):
        if nd.applies_to is not None:
            unknown = [u for u in nd.applies_to if u not in pos]
            if unknown:
                raise SchemeError(f"applies_to names unit(s) {unknown} that the level does not assess",
                                  key=f"{nd.path}.applies_to")
            mask = np.ones(n, dtype=bool)
            mask[[pos[u] for u in nd.applies_to]] = False
            w[mask, j] = 0.0
    col = {nd.id: j for j, nd in enumerate(nodes)}
    for unit, ov in spec.overrides.items():
        if unit not in pos:
            raise SchemeError(f"override for unit {unit!r}, which the level does not assess",
                              key=f"levels.{spec.level}.overrides.{unit}")
        for nid, value in (ov.get("weights") or {}).items():
            w[pos[unit], col[nid]] = float(value)
    return w


def _check_unit_weights(nodes, children, w, units, spec):
    """Per-unit weights of applicable children must sum to 1 unless the parent normalises."""
    problems = []
    for j, nd in enumerate(nodes):
        kids = children[j]
        if not kids or nd.normalise_weights:
            continue
        sums = w[:, kids].sum(axis=1)
        bad = np.flatnonzero(np.abs(sums - 1.0) > 1e-6)
        for i in bad:
            listing = ", ".join(f"{nodes[k].id}={w[i, k]:g}" for k in kids if w[i, k] > 0)
            problems.append(
                f"unit {units['unit'][i]} ({units['name'][i]}): weights under {nd.id!r} sum to "
                f"{sums[i]:.6g}, not 1 ({listing})")
    if problems:
        raise SchemeError("; ".join(problems[:20]) + "; fix the weights or overrides, or declare "
                          "'normalise_weights: true'", key=f"levels.{spec.level}.tree")


class Scorer:
    """Scores the leaves of one level for one period (vectorised over units)."""

    def __init__(self, data: Dataset, spec: LevelSpec, units: pd.DataFrame, period: str):
        self.data, self.spec, self.units, self.period = data, spec, units, period
        self._wide: dict[str, pd.DataFrame] = {}
        self._groups: dict[str, sc.GroupIndex] = {}
        known = data.indicators.set_index("indicator")
        self.directions = known["direction"].to_dict()
        self.roles = known["role"].to_dict()
        self.known_periods = set(data.values["period"].unique())

    def groups(self, within: str) -> sc.GroupIndex:
        if within not in self._groups:
            self._groups[within] = sc.GroupIndex(group_labels(self.units, self.spec, within))
        return self._groups[within]

    def values(self, indicator: str, period: str, node: Node, key: str | None = None) -> np.ndarray:
        key = key or f"{node.path}.indicator"
        if indicator not in self.directions:
            raise SchemeError(f"unknown indicator code {indicator!r}; dataset {self.data.name!r} "
                              f"has no such indicator", key=key)
        if self.roles[indicator] != "indicator":
            raise SchemeError(f"indicator {indicator!r} has role {self.roles[indicator]!r} in the "
                              "dataset (an outcome or a published reference) and may not be scored",
                              key=key)
        if period not in self._wide:
            self._wide[period] = self.data.wide(period, units=self.units["unit"])
        table = self._wide[period]
        if indicator not in table.columns:
            return np.full(len(self.units), np.nan)
        return table[indicator].to_numpy(dtype=float)

    def score(self, node: Node) -> tuple[np.ndarray, np.ndarray, str, np.ndarray]:
        """Raw value, score (0-100), rule text and veto flags of one leaf."""
        rule = node.scoring
        direction = node.direction or self.directions.get(node.indicator, "higher")
        x = self.values(node.indicator, self.period, node)
        self._node = node  # for errors about a rule's own references (target_indicator)
        veto = np.zeros(len(x), dtype=bool)
        method = rule["method"]
        if method in ("growth", "level_and_change"):
            back = -1 if rule["compare_to"] == "previous" else -_periods_per_year(self.period)
            before = shift_period(self.period, back)
            if before not in self.known_periods:
                # without this the change part of every unit would be missing and the indicator
                # silently re-normalised away for everyone
                raise DataError(f"node {node.id!r} scores the change since {before}, but dataset "
                                f"{self.data.name!r} has no values for {before} (periods: "
                                f"{', '.join(self.data.periods)}); evaluate a later period or add "
                                f"the {before} values")
            prev = self.values(node.indicator, before, node)
            delta = sc.change(x, prev, rule["change"])
            ch_score, ch_text = self._plain(rule["then"], delta, direction)
            unit = "%" if rule["change"] == "growth" else "points"
            if method == "growth":
                return delta, ch_score, f"change ({rule['change']}, {unit}) scored by {ch_text}", veto
            lv_score, lv_text = self._plain(rule["then"], x, direction)
            share = rule["level_share"]
            s = share * lv_score + (1 - share) * ch_score
            text = (f"{share:.0%} level scored by {lv_text} + {1 - share:.0%} change "
                    f"({rule['change']}) scored the same way")
            return x, s, text, veto
        s, text = self._plain(rule, x, direction)
        if method == "passfail" and rule.get("on_fail") == "veto":
            veto = np.isfinite(x) & (s < 100)
            text += "; failing is a veto (一票否决)"
        return x, s, text, veto

    def _plain(self, rule: dict, x: np.ndarray, direction: str) -> tuple[np.ndarray, str]:
        m = rule["method"]
        arrow = "lower is better" if direction == "lower" else "higher is better"
        if m in ("minmax", "zscore", "percentile"):
            within = rule.get("within", "group")
            g = self.groups(within)
            xo = sc.orient(x, direction)
            where = {"group": "within the comparison group", "subgroup": "within the subgroup",
                     "pool": "across all assessed units"}[within]
            if m == "minmax":
                lo, hi = rule["range"]
                return sc.minmax(xo, g, lo, hi), f"min–max {where} onto [{lo:g}, {hi:g}] ({arrow})"
            if m == "zscore":
                off, scale = rule.get("offset", 0.0), rule.get("scale", 1.0)
                return sc.zscore(xo, g, off, scale), f"z-score {where}: {off:g} + {scale:g}·z ({arrow})"
            return g.percentile_rank(xo), f"percentile rank {where} ({arrow})"
        if m == "goalposts":
            lo, hi, log = rule["min"], rule["max"], bool(rule.get("log", False))
            if direction == "lower":
                # The LOW goalpost earns full marks: 100 (max - x) / (max - min). Negating the value
                # swaps the goalposts (negating both without swapping would score higher-is-better).
                s = sc.goalposts(-x, -hi, -lo) if not log else sc.goalposts(1 / x, 1 / hi, 1 / lo, log=True)
            else:
                s = sc.goalposts(x, lo, hi, log=log)
            return s, f"goalposts {lo:g} → {hi:g}{' on a log scale' if log else ''}, clipped ({arrow})"
        if m == "target":
            if "target_indicator" in rule:
                tgt = self.values(rule["target_indicator"], self.period, self._node,
                                  key=f"{self._node.path}.scoring.target_indicator")
                ttext = f"target from indicator {rule['target_indicator']}"
            else:
                tgt, ttext = rule["target"], f"target {rule['target']:g}"
            cap = rule.get("cap", 1.0)
            return sc.attainment(x, tgt, direction, cap), f"attainment of {ttext}, capped at {cap:.0%}"
        if m == "threshold":
            s = sc.threshold(x, rule["full_at"], rule["per_unit"], direction, rule.get("floor", 0.0))
            return s, (f"full score at {'≤' if direction == 'lower' else '≥'} {rule['full_at']:g}, "
                       f"{rule['per_unit']:g} points (of 100) off per unit short of it")
        if m == "bands":
            s = sc.bands(x, rule["cuts"], rule["scores"], direction)
            return s, f"bands at {rule['cuts']} scoring {rule['scores']}"
        if m == "passfail":
            s = sc.passfail(x, rule["threshold"], direction)
            return s, f"pass if {'≤' if direction == 'lower' else '≥'} {rule['threshold']:g}"
        if m == "value":
            lo, hi = rule.get("min", 0.0), rule.get("max", 100.0)
            return sc.goalposts(x, lo, hi), f"rating on a {lo:g}–{hi:g} scale"
        raise SchemeError(f"scoring method {m!r} cannot be used here")


def _periods_per_year(period: str) -> int:
    return 4 if "Q" in period else 12 if "-" in period else 1


def _structure(root: Node):
    nodes = list(root.walk())
    index = {id(nd): j for j, nd in enumerate(nodes)}
    children = [[index[id(c)] for c in nd.children] for nd in nodes]
    return nodes, children


def score_level(scheme: Scheme, spec: LevelSpec, data: Dataset, period: str,
                upstream: dict[str, LevelResult]) -> LevelResult:
    """Score one level of a scheme for one (sub-)period.

    Parameters
    ----------
    scheme : Scheme
    spec : LevelSpec
        The level to score.
    data : Dataset
    period : str
        Canonical period string.
    upstream : dict
        Results of levels this one rolls up from (already scored).

    Returns
    -------
    LevelResult
    """
    units = select_units(data, spec)
    check_groups(units, spec, data)
    excluded_notes: list[dict] = []
    if spec.units.get("exclude_incomplete"):
        units, excluded_notes = _exclude_incomplete(data, spec, units, period)
    n = len(units)
    nodes, children = _structure(spec.root)
    N = len(nodes)
    scorer = Scorer(data, spec, units, period)
    raw = np.full((n, N), np.nan)
    score = np.full((n, N), np.nan)
    best = np.full((n, N), np.nan)
    vetoed = np.zeros(n, dtype=bool)
    veto_reason = [""] * n
    rule_text: dict[str, str] = {}
    notes: list[dict] = list(excluded_notes)
    w = _unit_weights(spec, nodes, units)
    _check_unit_weights(nodes, children, w, units, spec)

    for j, nd in enumerate(nodes):
        if nd.kind == "leaf":
            raw[:, j], score[:, j], rule_text[nd.id], veto = scorer.score(nd)
            if nd.scoring["method"] in ("minmax", "zscore", "percentile"):
                # the value a relative rule measures the unit against: the best in its group
                direction = nd.direction or scorer.directions.get(nd.indicator, "higher")
                g = scorer.groups(nd.scoring.get("within", "group"))
                best[:, j] = sc.orient(g.max(sc.orient(raw[:, j], direction)), direction)
            for i in np.flatnonzero(veto):
                vetoed[i] = True
                veto_reason[i] = f"{nd.id} ({nd.label or nd.indicator}) failed"
        elif nd.kind == "rollup":
            score[:, j], rule_text[nd.id] = _rollup(nd, units, upstream)
            raw[:, j] = score[:, j]
        elif nd.kind == "shared":
            score[:, j], w[:, j], rule_text[nd.id] = _shared(nd, units, upstream, w[:, j])
            raw[:, j] = score[:, j]

    # Bottom-up aggregation with the node's missing-value policy.
    eff_w = w.copy()
    for j in reversed(range(N)):
        kids = children[j]
        if not kids:
            continue
        nd = nodes[j]
        child = score[:, kids]
        cw = w[:, kids]
        missing = ~np.isfinite(child) & (cw > 0)
        if missing.any():
            child = _apply_missing(nd, nodes, kids, child, missing, units, scorer, notes, period,
                                   where=scheme.where(f"{nd.path}.missing"))
        score[:, j] = sc.aggregate(child, cw, nd.aggregate)
        ok = np.isfinite(child) & (cw > 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            eff_w[:, kids] = np.where(ok, cw, 0.0) / np.where(ok, cw, 0.0).sum(1, keepdims=True)
        score[:, kids] = child
        if nd.aggregate == "geometric" and (np.where(ok, child, 1.0) <= 0).any():
            i, k = np.argwhere(ok & (child <= 0))[0]
            raise SchemeError(
                f"geometric mean under {nd.id!r} meets a score of {child[i, k]:g} for unit "
                f"{units['unit'][i]} ({units['name'][i]}) on {nodes[kids[k]].id!r}; a geometric "
                "mean needs positive scores: use a min–max range such as [60, 100] or another "
                "aggregation", key=f"{nd.path}.aggregate")

    total_norm = score[:, 0]
    bad = np.flatnonzero(~np.isfinite(total_norm))
    if len(bad):
        raise DataError([Problem(f"unit {units['unit'][i]} ({units['name'][i]}) has no usable value "
                                 f"for any indicator of level {spec.level!r} in period {period}")
                         for i in bad])

    # Top-down attribution of points: every node's points add up to its parent's.
    points = np.zeros((n, N))
    maxp = np.zeros((n, N))
    points[:, 0] = total_norm / 100.0 * spec.max_points
    maxp[:, 0] = spec.max_points
    for j in range(N):
        kids = children[j]
        if not kids:
            continue
        nd = nodes[j]
        points[:, kids] = sc.attribute(points[:, j], score[:, kids], eff_w[:, kids], nd.aggregate)
        maxp[:, kids] = maxp[:, [j]] * np.nan_to_num(eff_w[:, kids])

    base = points[:, 0].copy()
    ded = _deductions(spec, scorer, units, period)
    ded_total = ded.groupby("unit")["points"].sum().reindex(units["unit"]).fillna(0.0).to_numpy() \
        if len(ded) else np.zeros(n)
    coef, coef_text = _coefficients(spec, scorer, units)
    if coef_text:
        rule_text["coefficient"] = coef_text
    if spec.coefficient:  # a unit without the coefficient's indicator keeps 1: say so in the log
        code = spec.coefficient["indicator"]
        no_value = ~np.isfinite(scorer.values(code, period, Node("coefficient", "", "leaf")))
        for i in np.flatnonzero(no_value):
            if "coefficient" not in spec.overrides.get(units["unit"][i], {}):
                notes.append({"unit": units["unit"][i], "node": "coefficient", "parent": "total",
                              "period": period, "policy": "coefficient 1", "value": 1.0,
                              "note": f"no value for the coefficient indicator {code}: coefficient 1"})
    total = (base + ded_total) * coef
    veto_score = (spec.consequences.get("veto") or {}).get("score")
    if veto_score is not None:
        total = np.where(vetoed, float(veto_score), total)
    eff_w[:, 0] = 1.0
    return LevelResult(spec.level, units, nodes, raw, score, eff_w, points, maxp, base, ded, coef,
                       vetoed, veto_reason, total, notes, rule_text, best)


def _apply_missing(nd, nodes, kids, child, missing, units, scorer, notes, period, where=""):
    policy = nd.missing
    rows, cols = np.nonzero(missing)
    if policy == "error":
        raise DataError([
            Problem(f"unit {units['unit'][i]} ({units['name'][i]}) has no value for "
                    f"{nodes[kids[k]].id!r} in period {period}, and node {nd.id!r}"
                    + (f" ({where})" if where else "") + " has the missing-"
                    "value policy 'error'; supply the value or choose another policy "
                    "(renormalise, impute_group_mean, zero)")
            for i, k in zip(rows, cols, strict=True)])
    child = child.copy()
    if policy == "zero":
        child[missing] = 0.0
        action = "scored 0 (policy 'zero')"
    elif policy == "impute_group_mean":
        g = scorer.groups("group")
        means = g.mean(child.T).T  # mean of each child score within the unit's group
        if not np.isfinite(means[missing]).all():
            i, k = rows[0], cols[0]
            raise DataError(f"cannot impute {nodes[kids[k]].id!r} for unit {units['unit'][i]}: no unit "
                            "in its group has a value")
        child[missing] = means[missing]
        action = "imputed with the group mean (policy 'impute_group_mean')"
    else:
        action = "left out; the other weights re-normalised (policy 'renormalise')"
    for i, k in zip(rows, cols, strict=True):
        notes.append({"unit": units["unit"][i], "node": nodes[kids[k]].id, "parent": nd.id,
                      "period": period, "policy": policy,
                      "value": float(child[i, k]) if np.isfinite(child[i, k]) else None,
                      "note": f"missing value {action}"})
    return child


def _rollup(nd: Node, units: pd.DataFrame, upstream: dict[str, LevelResult]):
    src = upstream[nd.rollup["from"]]
    stat = nd.rollup["stat"]
    by = nd.rollup.get("via", "parent")
    frame = pd.DataFrame({"key": src.units[by].to_numpy(), "score": src.total})
    agg = frame.groupby("key")["score"].agg(stat)
    # the contained units' totals are out of their level's max points unless the scheme says
    maxp = nd.rollup.get("max_points", float(src.max_points[0, 0]) if src.max_points.size else 100.0)
    values = units["unit"].map(agg).to_numpy(dtype=float) / maxp * 100.0
    text = f"{stat} score of the {nd.rollup['from']} units it contains (out of {maxp:g})"
    return values, text


def _shared(nd: Node, units: pd.DataFrame, upstream: dict[str, LevelResult], base_w: np.ndarray):
    spec = nd.shared
    src = upstream[spec["from"]]
    ids = [n.id for n in src.nodes]
    if spec["node"] not in ids:
        raise SchemeError(f"shared node {spec['node']!r} is not a node of level {spec['from']!r}",
                          key=f"{nd.path}.shared.node")
    col = ids.index(spec["node"])
    s = float(np.nanmean(src.score[:, col]))
    uid = units["unit"].to_numpy()
    lead = np.isin(uid, spec["lead"])
    related = np.isin(uid, spec["related"])
    w = np.where(lead, base_w * spec["lead_share"], np.where(related, base_w * spec["related_share"], 0.0))
    values = np.where(lead | related, s, np.nan)
    text = (f"shared indicator: mean {spec['from']} score on {spec['node']} ({s:.2f}), credited "
            f"{spec['lead_share']:.0%} of the weight to the lead unit(s) and "
            f"{spec['related_share']:.0%} to each related unit")
    return values, w, text


def _deductions(spec: LevelSpec, scorer: Scorer, units: pd.DataFrame, period: str) -> pd.DataFrame:
    """Negative-list deductions (points, negative) per unit and item, capped."""
    items = {k: v for k, v in spec.deductions.items() if k != "total_cap"}
    rows = []
    for item, rule in items.items():
        node = Node(item, f"levels.{spec.level}.deductions.{item}", "leaf")
        code = rule.get("indicator", item)
        x = scorer.values(code, period, node)
        if rule.get("per", "unit") == "increase":
            prev = scorer.values(code, shift_period(period, -1), node)
            x = np.maximum(0.0, x - prev)
        x = np.nan_to_num(x)  # not reported on a negative list means nothing to deduct
        pts = np.minimum(rule.get("cap", np.inf), rule["points"] * x)
        for i in np.flatnonzero(pts > 0):
            rows.append({"unit": units["unit"][i], "item": item, "value": float(x[i]),
                         "points": -float(pts[i]),
                         "reason": f"negative list {item}: {x[i]:g} × {rule['points']:g} points"
                                   + (f", capped at {rule['cap']:g}" if pts[i] < rule["points"] * x[i] else "")})
    ded = pd.DataFrame(rows, columns=["unit", "item", "value", "points", "reason"])
    cap = spec.deductions.get("total_cap")
    if cap is not None and len(ded):
        tot = ded.groupby("unit")["points"].transform("sum")
        scale = np.where(tot < -cap, -cap / tot, 1.0)
        ded["points"] = ded["points"] * scale
        ded.loc[scale < 1, "reason"] += f"; all deductions capped at {cap:g} points in total"
    return ded


def _coefficients(spec: LevelSpec, scorer: Scorer, units: pd.DataFrame):
    """Evaluation coefficient per unit (1 unless the scheme sets one)."""
    n = len(units)
    coef = np.ones(n)
    text = ""
    rule = spec.coefficient
    if rule:
        node = Node("coefficient", f"levels.{spec.level}.coefficient", "leaf")
        x = scorer.values(rule["indicator"], scorer.period, node)
        cuts = [b[0] for b in rule["bands"]]
        vals = [b[1] for b in rule["bands"]]
        idx = np.searchsorted(np.asarray(cuts, float), np.nan_to_num(x, nan=-np.inf), side="right") - 1
        coef = np.where(idx >= 0, np.asarray(vals, float)[np.clip(idx, 0, None)], 1.0)
        text = f"coefficient by {rule['indicator']}: " + ", ".join(f"≥{c:g} → {v:g}" for c, v in rule["bands"])
    pos = {u: i for i, u in enumerate(units["unit"])}
    for unit, ov in spec.overrides.items():
        if "coefficient" in ov:
            coef[pos[unit]] = float(ov["coefficient"])
            text = text or "coefficient set per unit"
    return coef, text
