"""One level of a scheme for one period: units, raw values, leaf scores, weights, totals.

:class:`LevelModel` compiles a level once for a (sub-)period: the units it assesses, the node
tree (:class:`~assesskit.engine.tree.Tree`), the raw value of every leaf, each unit's weight of
every node (overrides applied), which nodes apply to which units, deductions, coefficients and
vetoes. Scoring the leaves (:meth:`LevelModel.scores`), aggregating the tree
(:func:`~assesskit.engine.tree.aggregate`) and forming totals (:meth:`LevelModel.totals`) are
array operations; :func:`score_level` runs them for one draw, the nominal design, and returns a
:class:`LevelResult`, and the analyses run them for many.

Applicability
-------------
A node applies to a unit unless ``applies_to`` (unit ids) or ``applies_if`` (a units column and
the values it must take, e.g. ``{coastal: true}``) excludes it, or excludes an ancestor. For a
unit a node does not apply to, the node's weight is spread over its applicable siblings in
proportion to their weights (the aggregation re-normalises over usable children), and nothing
is logged as missing: "does not apply" is not "missing".
"""

from __future__ import annotations

import functools
import weakref
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from ..data.model import Dataset, period_frequency, shift_period
from ..errors import DataError, Notice, Problem, SchemeError
from ..scheme.model import MIN_GROUP, LevelSpec, Node, Scheme
from . import scoring as sc
from .adjustments import level_adjustments
from .inputs import view
from .ranking import Groups
from .tree import AggregationPlan, Tree, aggregate, effective_weights, plan_aggregation

UNIT_OUT_COLUMNS = ["unit", "name", "name_en", "level", "parent", "group", "subgroup"]
RELATIVE_METHODS = ("minmax", "zscore", "percentile")
_TRUE = {"true", "1", "yes", "y", "t", "是"}
_FALSE = {"false", "0", "no", "n", "f", "否"}


def _cell_key(values) -> np.ndarray:
    """Cells of a units column as comparable text: booleans written any way become true/false."""
    text = pd.Series(values, dtype="object").astype(str).str.strip()
    low = text.str.lower()
    return np.where(low.isin(_TRUE), "true", np.where(low.isin(_FALSE), "false", text)).astype(str)


# ---------------------------------------------------------------------- comparison groups
@dataclass(frozen=True)
class Grouping:
    """The comparison groups of a level: for relative scoring and for ranking and quotas.

    Attributes
    ----------
    name : str
        ``"official"`` (the scheme's ``ranking.group_by`` / ``subgroup_by``), ``"pool"`` (one
        group), a units column, or ``"custom"`` (a mapping given by the user).
    n : int
        Number of units.
    group, subgroup : ndarray of str or None
        Group (subgroup) label of each unit; None when the level has no groups (subgroups).
    """

    name: str
    n: int
    group: np.ndarray | None = None
    subgroup: np.ndarray | None = None
    _indexes: dict = field(default_factory=dict, repr=False, compare=False)

    def scoring_index(self, within: str) -> sc.GroupIndex:
        """Groups of a relative scoring rule: ``group``, ``subgroup`` or ``pool`` (cached)."""
        if within not in self._indexes:
            if within == "pool" or self.group is None:
                index = sc.GroupIndex.pool(self.n)
            else:
                labels = self.group.astype(object)
                if within == "subgroup" and self.subgroup is not None:
                    labels = labels + "/" + self.subgroup.astype(object)
                index = sc.GroupIndex(labels)
            self._indexes[within] = index
        return self._indexes[within]

    def groups(self) -> Groups:
        """The ranking groups."""
        return Groups.from_labels(self.group) if self.group is not None else Groups.pooled(self.n)

    def subgroups(self) -> Groups | None:
        """The subgroups (within groups), or None."""
        if self.subgroup is None:
            return None
        labels = self.subgroup.astype(object)
        if self.group is not None:
            labels = self.group.astype(object) + "\x1f" + labels
        return Groups.from_labels(labels)


def grouping_for(units: pd.DataFrame, ranking: dict, option="official") -> Grouping:
    """The comparison groups of a level under a grouping option.

    Parameters
    ----------
    units : DataFrame
        The assessed units.
    ranking : dict
        The level's ``ranking:`` section.
    option : str or mapping
        ``"official"``, ``"pool"``, a units column, or a mapping unit id -> group label.
    """
    n = len(units)
    if isinstance(option, dict | pd.Series):
        mapping = {str(k): str(v) for k, v in dict(option).items()}
        labels = units["unit"].astype(str).map(mapping)
        return Grouping("custom", n, labels.to_numpy(dtype=str))
    if option == "official":
        gb, sb = ranking.get("group_by"), ranking.get("subgroup_by")
        return Grouping("official", n, units[gb].astype(str).to_numpy() if gb else None,
                        units[sb].astype(str).to_numpy() if sb else None)
    if option == "pool":
        return Grouping("pool", n)
    return Grouping(str(option), n, units[option].astype(str).to_numpy())


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
    return with_scheme_groups(units.reset_index(drop=True), spec)


def with_scheme_groups(units: pd.DataFrame, spec: LevelSpec) -> pd.DataFrame:
    """The units with the groups a scheme gives itself (``ranking.groups``: unit id -> group)
    written into the ``group_by`` column; unchanged when the scheme names a units column."""
    mapping = spec.ranking.get("groups")
    if mapping is None:
        return units
    column = spec.ranking.get("group_by") or "group"
    labels = units["unit"].astype(str).map({str(k): str(v) for k, v in mapping.items()})
    absent = units.loc[labels.isna(), "unit"].astype(str).tolist()
    if absent:
        raise SchemeError(f"ranking.groups gives no group to {len(absent)} unit(s) of the level: "
                          f"{', '.join(absent[:10])}"
                          + (f" and {len(absent) - 10} more" if len(absent) > 10 else "")
                          + "; every assessed unit needs a group",
                          key=f"levels.{spec.level}.ranking.groups")
    return units.assign(**{column: labels.to_numpy()})


# ---------------------------------------------------------------------- leaf scoring
class Scorer:
    """Scores the leaves of one level for one period (vectorised over units)."""

    def __init__(self, data: Dataset, units: pd.DataFrame, positions: np.ndarray, period: str,
                 grouping: Grouping):
        self.data, self.units, self.period, self.grouping = data, units, period, grouping
        self.view = view(data)
        self.positions = positions
        self._groups: dict[str, sc.GroupIndex] = {}
        self.directions = self.view.directions
        self.roles = self.view.roles
        self.notes: list[dict] = []  # per-unit decisions (small comparison groups)
        self.left_missing: dict[str, np.ndarray] = {}  # node id -> units small_group: missing

    def groups(self, within: str) -> sc.GroupIndex:
        if within not in self._groups:
            self._groups[within] = self.grouping.scoring_index(within)
        return self._groups[within]

    def values(self, indicator: str, period: str, key: str) -> np.ndarray:
        if indicator not in self.directions:
            raise SchemeError(f"unknown indicator code {indicator!r}; dataset {self.data.name!r} "
                              f"has no such indicator", key=key)
        if self.roles[indicator] != "indicator":
            raise SchemeError(f"indicator {indicator!r} has role {self.roles[indicator]!r} in the "
                              "dataset (an outcome or a published reference) and may not be scored",
                              key=key)
        return self.view.column(period, self.positions, indicator)

    def direction(self, node: Node) -> str:
        return node.direction or self.directions.get(node.indicator, "higher")

    def raw(self, node: Node) -> np.ndarray:
        """The raw value a leaf scores (the change for a ``growth`` rule)."""
        x = self.values(node.indicator, self.period, f"{node.path}.indicator")
        if node.scoring["method"] == "growth":
            return sc.change(x, self._previous(node), node.scoring["change"])
        return x

    def _previous(self, node: Node) -> np.ndarray:
        rule = node.scoring
        back = -1 if rule["compare_to"] == "previous" else -_periods_per_year(self.period)
        before = _shifted(self.period, back)
        if before not in self.view.periods:
            # without this the change part of every unit would be missing and the indicator
            # silently re-normalised away for everyone
            raise DataError(f"node {node.id!r} scores the change since {before}, but dataset "
                            f"{self.data.name!r} has no values for {before} (periods: "
                            f"{', '.join(self.data.periods)}); evaluate a later period or add "
                            f"the {before} values")
        return self.values(node.indicator, before, f"{node.path}.indicator")

    def score(self, node: Node, x: np.ndarray | None = None) -> tuple[np.ndarray, str, np.ndarray]:
        """Score (0-100), rule text and veto flags of one leaf; ``x`` (d, n) replaces its values.

        ``x`` holds the leaf's own value (the level, not the change, for growth rules), so that
        an analysis can score other values with the same rule and comparison groups.
        """
        rule = node.scoring
        direction = self.direction(node)
        if x is None:
            x = self.values(node.indicator, self.period, f"{node.path}.indicator")
        method = rule["method"]
        veto = np.zeros(np.shape(x), dtype=bool)
        if method in ("growth", "level_and_change"):
            delta = sc.change(x, self._previous(node), rule["change"])
            ch_score, ch_text = self._plain(rule["then"], delta, direction, node)
            self._finite(node, delta, ch_score)
            unit = "%" if rule["change"] == "growth" else "points"
            if method == "growth":
                return ch_score, f"change ({rule['change']}, {unit}) scored by {ch_text}", veto
            lv_score, lv_text = self._plain(rule["then"], x, direction, node)
            share = rule["level_share"]
            s = share * lv_score + (1 - share) * ch_score
            text = (f"{share:.0%} level scored by {lv_text} + {1 - share:.0%} change "
                    f"({rule['change']}) scored the same way")
            return s, text, veto
        s, text = self._plain(rule, x, direction, node)
        self._finite(node, x, s)
        if method == "passfail" and rule.get("on_fail") == "veto":
            veto = np.isfinite(x) & (s < 100)
            text += "; failing is a veto (一票否决)"
        return s, text, veto

    def _finite(self, node: Node, x: np.ndarray, s: np.ndarray) -> None:
        """A value that is a number must give a score that is a number: extreme values (near
        ±1e308) overflow the arithmetic of the rules instead of being silently dropped."""
        bad = np.isfinite(x) & ~np.isfinite(s) & ~self.left_missing.get(node.id, False)
        if bad.any():
            ids = self.units["unit"].to_numpy()
            rows = np.flatnonzero(bad.reshape(-1, bad.shape[-1]).any(axis=0))
            raise DataError([Problem(f"indicator {node.indicator!r} ({node.id}) of unit {ids[i]}: "
                                     f"the value {np.asarray(x).reshape(-1, len(ids))[0, i]:g} "
                                     "gives a score that is not a finite number (the rule's "
                                     "arithmetic overflows); check the value and its unit",
                                     file=self.data.sources.get("values"), column="value")
                             for i in rows[:20]])

    def best(self, node: Node, raw: np.ndarray) -> np.ndarray:
        """The best raw value in each unit's comparison group (what a relative rule measures
        the unit against); NaN for absolute rules."""
        rule = node.scoring
        inner = rule["then"] if rule["method"] in ("growth", "level_and_change") else rule
        if inner["method"] not in RELATIVE_METHODS or rule["method"] == "level_and_change":
            return np.full(np.shape(raw), np.nan)
        direction = self.direction(node)
        g = self.groups(inner.get("within", "group"))
        return sc.orient(g.max(sc.orient(raw, direction)), direction)

    def _relative(self, rule: dict, x: np.ndarray, direction: str, within: str
                  ) -> tuple[np.ndarray, str]:
        """A relative rule (min–max, z-score, percentile) within the comparison groups."""
        m = rule["method"]
        arrow = "lower is better" if direction == "lower" else "higher is better"
        g = self.groups(within)
        xo = sc.orient(x, direction)
        where = {"group": "within the comparison group", "subgroup": "within the subgroup",
                 "pool": "across all assessed units"}[within]
        if m == "minmax":
            lo, hi = rule["range"]
            return sc.minmax(xo, g, lo, hi), f"min–max {where} onto [{lo:g}, {hi:g}] ({arrow})"
        if m == "zscore":
            off, scale, floor = rule.get("offset", 0.0), rule.get("scale", 1.0), rule.get("floor")
            text = f"z-score {where}: {off:g} + {scale:g}·z" + (
                f", at least {floor:g}" if floor is not None else "")
            return sc.zscore(xo, g, off, scale, floor), f"{text} ({arrow})"
        return g.percentile_rank(xo), f"percentile rank {where} ({arrow})"

    def _guard_small_groups(self, rule: dict, x: np.ndarray, direction: str, within: str,
                            node: Node, s: np.ndarray, text: str) -> tuple[np.ndarray, str]:
        """Apply the scheme's ``small_group`` policy to units whose comparison group has fewer
        than ``min_group`` values (default :data:`MIN_GROUP`).

        ``error`` (default) raises a :class:`SchemeError` naming the node, the groups and the
        units; ``missing`` leaves their score missing (the parent's missing-value policy
        decides); ``pool`` scores them across all assessed units; ``score`` keeps what the rule
        gives (min–max: the top of the range; z-score: the offset; percentile: 100). Every unit
        concerned gets a note (shown in ``explain`` and as a notice) unless it is an error.
        """
        minimum = int(rule.get("min_group", MIN_GROUP))
        g = self.groups(within)
        small = np.isfinite(x) & (g.count(x) < minimum)
        if not small.any():
            return s, text
        policy = rule.get("small_group", "error")
        n = small.shape[-1]
        row = np.flatnonzero(small.reshape(-1, n).any(axis=1))[0]  # the draws share the pattern
        hit = np.flatnonzero(small.reshape(-1, n)[row])
        counts = g.count(x).reshape(-1, n)[row]
        groups: dict[str, list[str]] = {}
        for i in hit:
            label = g.names[g.codes[i]] or "all assessed units"
            groups.setdefault(label, []).append(f"{self.units['unit'].iat[i]} "
                                                f"({self.units['name'].iat[i]})")
        listing = "; ".join(f"group {lab!r}: {', '.join(us)}" for lab, us in groups.items())
        if policy == "error":
            raise SchemeError(
                f"node {node.id!r} is scored {rule['method']} relative to its comparison group, "
                f"but in period {self.period} some groups have fewer than {minimum} units with a "
                f"value ({listing}); so few units make the comparison degenerate (min–max gives "
                "a unit alone in its group the top of the range whatever its value). Score it "
                "with an absolute rule (target, threshold, goalposts, bands), or say what to do: "
                "small_group: missing | pool | score (and min_group: n)",
                key=f"{node.path}.scoring")
        if policy == "pool":
            pool = self.groups("pool")
            if (pool.count(x) < minimum)[small].any():
                raise SchemeError(
                    f"node {node.id!r}: the comparison groups {listing} are smaller than "
                    f"{minimum} units and so is the whole level; small_group: pool cannot help",
                    key=f"{node.path}.scoring.small_group")
            s = np.where(small, self._relative(rule, x, direction, "pool")[0], s)
        elif policy == "missing":
            s = np.where(small, np.nan, s)
            self.left_missing[node.id] = small  # missing by the scheme's rule, not by overflow
        action = {"missing": "left without a score (small_group: missing; the parent's "
                             "missing-value policy applies)",
                  "pool": "scored across all assessed units instead (small_group: pool)",
                  "score": "scored by the rule all the same (small_group: score)"}[policy]
        for i in hit:
            self.notes.append({
                "unit": str(self.units["unit"].iat[i]), "node": node.id, "parent": "",
                "period": self.period, "policy": f"small_group {policy}", "value": None,
                "note": f"{text}; its comparison group has {int(counts[i])} unit(s) with a "
                        f"value, fewer than {minimum}: {action}"})
        return s, text + f"; comparison groups under {minimum} units {action.split(' (')[0]}"

    def _plain(self, rule: dict, x: np.ndarray, direction: str, node: Node) -> tuple[np.ndarray, str]:
        m = rule["method"]
        arrow = "lower is better" if direction == "lower" else "higher is better"
        if m in RELATIVE_METHODS:
            within = rule.get("within", "group")
            s, text = self._relative(rule, x, direction, within)
            return self._guard_small_groups(rule, x, direction, within, node, s, text)
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
                tgt = self.values(rule["target_indicator"], self.period,
                                  f"{node.path}.scoring.target_indicator")
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
        raise SchemeError(f"scoring method {m!r} cannot be used here", key=f"{node.path}.scoring")


@functools.lru_cache(maxsize=256)
def _shifted(period: str, steps: int) -> str:
    return shift_period(period, steps)


def _periods_per_year(period: str) -> int:
    return 4 if "Q" in period else 12 if "-" in period else 1


# ---------------------------------------------------------------------- the period-free part
class LevelTemplate:
    """What a level needs from a dataset that does not depend on the period, compiled once.

    The units the level assesses (with the groups a scheme gives itself), their rows in the
    dataset, the node tree, which node applies to which unit, each unit's weights (overrides
    applied), the official comparison groups and the ranking rules. :func:`template_for` keeps
    one per scheme level and dataset, so that evaluating another period, or the same period
    again, starts from here.
    """

    def __init__(self, spec: LevelSpec, data: Dataset, units: pd.DataFrame | None = None):
        self.spec, self.data = spec, data
        if units is None:
            units = select_units(data, spec)
            check_groups(units, spec, data)
        self.units = units
        self.n = len(units)
        self.ids = units["unit"].astype(str).tolist()
        self.names = units["name"].astype(str).tolist()
        self.positions = view(data).unit_ids.get_indexer(pd.Index(self.ids))
        self.tree = Tree.from_root(spec.root)
        self.leaves = [j for j, nd in enumerate(self.tree.nodes) if nd.kind == "leaf"]
        self.upstream_nodes = [j for j, nd in enumerate(self.tree.nodes)
                               if nd.kind in ("rollup", "shared")]
        self.applies = self._applicability()
        self.weights = self._unit_weights()
        self.official = grouping_for(units, spec.ranking)
        self.columns = {c: units[c].to_numpy() for c in UNIT_OUT_COLUMNS}
        self._subsets: dict = {}
        self._decisions = None
        self._owners: dict = {}  # roll-ups: rows of this level owning each source unit

    def owner(self, src_ids, by: str, src: pd.DataFrame) -> np.ndarray:
        """Row of this level's unit that contains each unit of another level (-1: none)."""
        key = (id(src), by)
        if key not in self._owners:
            self._owners[key] = (src, pd.Index(self.ids).get_indexer(src[by].astype(str)))
        return self._owners[key][1]

    def where(self, scheme: Scheme) -> dict:
        """Group node index -> where its ``missing`` key is written (for messages; cached)."""
        if getattr(self, "_where", None) is None:
            self._where = {j: scheme.where(f"{nd.path}.missing")
                           for j, nd in enumerate(self.tree.nodes) if nd.kind == "group"}
        return self._where

    def subset(self, keep: np.ndarray) -> LevelTemplate:
        """The template of some of the units (cached per set of units)."""
        key = keep.tobytes()
        if key not in self._subsets:
            self._subsets[key] = LevelTemplate(self.spec, self.data,
                                               self.units[keep].reset_index(drop=True))
        return self._subsets[key]

    def decisions(self):
        """The level's ranking, quota, grade and consequence rules on these units (cached)."""
        if self._decisions is None:
            from .consequences import LevelDecisions

            gb, sb = self.spec.ranking.get("group_by"), self.spec.ranking.get("subgroup_by")
            self._decisions = LevelDecisions(self.spec, self.ids,
                                             self.units[gb] if gb else None,
                                             self.units[sb] if sb else None, self.tree.index)
        return self._decisions

    def _applicability(self) -> np.ndarray:
        """(n, N) whether each node concerns each unit (own and ancestors' conditions)."""
        n, tree = self.n, self.tree
        pos = {u: i for i, u in enumerate(self.ids)}
        out = np.ones((n, tree.size), bool)
        for j, nd in enumerate(tree.nodes):
            own = np.ones(n, bool)
            if nd.applies_to is not None:
                unknown = [u for u in nd.applies_to if u not in pos]
                if unknown:
                    raise SchemeError(f"applies_to names unit(s) {unknown} that the level does "
                                      "not assess", key=f"{nd.path}.applies_to")
                own = np.zeros(n, bool)
                own[[pos[u] for u in nd.applies_to]] = True
            for column, allowed in (nd.applies_if or {}).items():
                if column not in self.units.columns:
                    raise SchemeError(f"applies_if names column {column!r}, which the units table "
                                      f"lacks (columns: {list(self.units.columns)})",
                                      key=f"{nd.path}.applies_if.{column}")
                own &= np.isin(_cell_key(self.units[column]), _cell_key(allowed))
            parent = tree.parent[j]
            out[:, j] = own & (out[:, parent] if parent >= 0 else True)
        # a group node none of whose children applies does not apply either
        for p in tree.groups:
            out[:, p] &= out[:, tree.children[p]].any(axis=1)
        return out

    def _unit_weights(self) -> np.ndarray:
        """(n, N) weight of every node within its parent per unit (overrides applied)."""
        tree = self.tree
        w = np.tile(np.array([nd.weight for nd in tree.nodes]), (self.n, 1))
        pos = {u: i for i, u in enumerate(self.ids)}
        for unit, ov in self.spec.overrides.items():
            if unit not in pos:
                raise SchemeError(f"override for unit {unit!r}, which the level does not assess",
                                  key=f"levels.{self.spec.level}.overrides.{unit}")
            for nid, value in (ov.get("weights") or {}).items():
                w[pos[unit], tree.index(nid)] = float(value)
        return w


_TEMPLATES: dict = {}


def template_for(spec: LevelSpec, data: Dataset) -> LevelTemplate:
    """The cached :class:`LevelTemplate` of a scheme level on a dataset.

    Schemes and datasets are treated as immutable (variants are new objects): the cache is
    keyed by both objects and dropped with either.
    """
    dv = view(data)
    key = (id(spec), id(dv))
    hit = _TEMPLATES.get(key)
    if hit is None or hit[0]() is not spec or hit[1]() is not dv:
        tpl = LevelTemplate(spec, data)
        _TEMPLATES[key] = (weakref.ref(spec), weakref.ref(dv), tpl)
        weakref.finalize(spec, _TEMPLATES.pop, key, None)
        weakref.finalize(dv, _TEMPLATES.pop, key, None)
        return tpl
    return hit[2]


# ---------------------------------------------------------------------- the compiled level
@dataclass
class LeafScores:
    """Leaf scores of a level under one design (scoring rules and comparison groups)."""

    scores: np.ndarray  # (n, N), NaN for group nodes and missing values
    rule_text: dict  # node id -> rule description
    best: np.ndarray  # (n, N) best raw value in the comparison group (relative rules)
    vetoed: np.ndarray  # (n,)
    veto_reason: list
    notes: list = field(default_factory=list)  # per-unit decisions (small comparison groups)


class LevelModel:
    """A level of a scheme compiled for one (sub-)period (see the module notes).

    Parameters
    ----------
    spec : LevelSpec
    data : Dataset
    period : str
        Canonical (sub-)period.
    upstream : dict
        ``{level: LevelResult}`` of the levels this one rolls up from (already scored).
    units : DataFrame, optional
        The units to assess (default :func:`select_units`).
    deductions_over : list of str, optional
        The sub-periods whose negative-list incidents count (default: this period only). The
        annual result of a quarterly scheme builds each quarter's model with the year's
        quarters, so that every incident of the year costs its points once, in full, whatever
        quarter it falls in (the quarters' results are then combined, see ``evaluate``).
    """

    def __init__(self, spec: LevelSpec, data: Dataset, period: str, upstream: dict,
                 units: pd.DataFrame | None = None, deductions_over: list[str] | None = None):
        self.spec, self.data, self.period = spec, data, period
        self.notes: list[dict] = []
        tpl = template_for(spec, data) if units is None else LevelTemplate(spec, data, units)
        if units is None and spec.units.get("exclude_incomplete"):
            tpl = self._exclude_incomplete(tpl)
        self.template = tpl
        self.units, self.n, self.ids, self.names = tpl.units, tpl.n, tpl.ids, tpl.names
        self.positions, self.tree = tpl.positions, tpl.tree
        self.applies = tpl.applies.copy()
        self.weights = tpl.weights.copy()
        self.official = tpl.official
        self.static = np.full((self.n, self.tree.size), np.nan)  # roll-up and shared scores
        self.static_text: dict[str, str] = {}
        shared_raw: dict[int, float] = {}
        for j in tpl.upstream_nodes:
            nd = self.tree.nodes[j]
            if nd.kind == "rollup":
                self.static[:, j], self.static_text[nd.id] = _rollup(nd, self.units, upstream,
                                                                     tpl)
            else:
                self.static[:, j], self.weights[:, j], self.static_text[nd.id], attained = \
                    _shared(nd, self.units, upstream, self.weights[:, j], data, period)
                shared_raw[j] = attained
                self.applies[:, j] &= self.weights[:, j] > 0  # only lead and related units
        if tpl.upstream_nodes:
            for p in self.tree.groups:
                self.applies[:, p] &= self.applies[:, self.tree.children[p]].any(axis=1)
        scorer = Scorer(data, self.units, self.positions, period, self.official)
        self.raw = self.static.copy()
        for j in tpl.leaves:
            self.raw[:, j] = scorer.raw(self.tree.nodes[j])
        for j, attained in shared_raw.items():  # the other level's attainment, before the split
            self.raw[:, j] = np.where(self.applies[:, j], attained, np.nan)
        self.deductions_scope = list(deductions_over or [period])
        self.deductions = _deductions(spec, scorer, self.units, self.deductions_scope)
        # musts (硬约束) of the level and consequences reaching it from a linked level (issue 10)
        self.adjustments = level_adjustments(spec, data, self.units, period, upstream,
                                             lambda code, key: scorer.values(code, period, key))
        self.deductions = self.adjustments.add_deductions(self.deductions)
        self.grade_cap = self.adjustments.grade_cap
        self.deduction_points = self.deductions.groupby("unit", sort=False)["points"].sum() \
            .reindex(self.ids).fillna(0.0).to_numpy() if len(self.deductions) else np.zeros(self.n)
        self.coefficient, self.coefficient_text = _coefficients(spec, scorer, self.units)
        if spec.coefficient:  # a unit without the coefficient's indicator keeps 1: say so
            code = spec.coefficient["indicator"]
            no_value = ~np.isfinite(scorer.values(code, period, f"levels.{spec.level}.coefficient"))
            for i in np.flatnonzero(no_value):
                if "coefficient" not in spec.overrides.get(self.ids[i], {}):
                    self.notes.append({"unit": self.ids[i], "node": "coefficient",
                                       "parent": "total", "period": period,
                                       "policy": "coefficient 1", "value": 1.0,
                                       "note": f"no value for the coefficient indicator {code}: "
                                               "coefficient 1"})
        veto = (spec.consequences.get("veto") or {}).get("score")
        self.veto_score = None if veto is None else float(veto)
        self._compile_coefficient_part()

    # ------------------------------------------------------------------ coefficient on a part
    def _compile_coefficient_part(self) -> None:
        """The path of the node a coefficient applies to (``coefficient.node``), if any.

        ``coefficient_node`` is its index (None: the coefficient multiplies the whole total);
        ``coefficient_path`` the (parent, child) steps from the root down to it;
        ``coefficient_keep`` the group nodes whose scores :meth:`part_points` needs (the group
        children of every parent on the path), for ``aggregate(..., keep=...)``.
        """
        node = (self.spec.coefficient or {}).get("node")
        self.coefficient_node = None if node is None else self.tree.index(str(node))
        self.coefficient_path: list[tuple[int, int]] = []
        self.coefficient_keep: list[int] = []
        j = self.coefficient_node
        while j is not None and j > 0:
            parent = int(self.tree.parent[j])
            self.coefficient_path.insert(0, (parent, j))
            self.coefficient_keep += [int(k) for k in self.tree.children[parent]
                                      if len(self.tree.children[k])]
            j = parent

    def part_points(self, plan: AggregationPlan, values: dict,
                    multipliers: np.ndarray | None = None,
                    dynamic_scores: dict | None = None) -> np.ndarray | None:
        """Points (d, n) the units earn on the coefficient's node, or None without one.

        The node's points follow the attribution rule of ``contributions`` (see
        :func:`~assesskit.engine.scoring.attribute`): starting from the total points, each step
        down the path keeps the share ``a_c m_c s_c / Σ_k a_k m_k s_k`` of the parent's points
        (``a`` the usable weights of the plan, ``m`` the draw's weight multipliers, ``s`` the
        children's scores; equal shares among usable children if all score 0).

        Parameters
        ----------
        plan : AggregationPlan
        values : dict
            Group node scores from :func:`~assesskit.engine.tree.aggregate`; must hold the root
            and every node of ``coefficient_keep``.
        multipliers : ndarray (d, N), optional
        dynamic_scores : dict, optional
            Leaf node index -> (d, n) scores of the leaves scored per draw, as given to
            :func:`~assesskit.engine.tree.aggregate` (their plan scores are stale).
        """
        if self.coefficient_node is None:
            return None
        if dynamic_scores:
            values = {**dynamic_scores, **values}
        root = np.atleast_2d(values[0])
        d = root.shape[0]
        m = np.ones((d, self.tree.size)) if multipliers is None else np.asarray(multipliers, float)
        points = root / 100.0 * self.spec.max_points
        by_node = {pp.node: pp for pp in plan.nodes}
        for parent, child in self.coefficient_path:
            pp = by_node[parent]
            kids = pp.kids
            s = np.stack([np.broadcast_to(values[k] if k in values else plan.scores[:, k],
                                          (d, self.n)) for k in kids], axis=-1)
            ok = (pp.a[None, :, :] > 0) & np.isfinite(s)
            ws = np.where(ok, pp.a[None, :, :] * m[:, None, kids] * np.where(ok, s, 0.0), 0.0)
            total = ws.sum(axis=-1)
            c = int(np.flatnonzero(kids == child)[0])
            with np.errstate(invalid="ignore", divide="ignore"):
                share = np.where(total > 0, ws[..., c] / total,
                                 ok[..., c] / np.maximum(ok.sum(axis=-1), 1))
            points = points * share
        return points

    def coefficient_points(self, base: np.ndarray, part: np.ndarray | None) -> np.ndarray:
        """Points (d, n) the coefficient adds: ``(base + deductions) × (c − 1)`` on the whole
        total, ``part × (c − 1)`` on a part (``coefficient.node``)."""
        if self.coefficient_node is None:
            return (base + self.deduction_points[None, :]) * (self.coefficient[None, :] - 1.0)
        if part is None:
            raise ValueError("the coefficient applies to a node: pass its points (part_points)")
        return part * (self.coefficient[None, :] - 1.0)

    # ------------------------------------------------------------------ inputs
    def _exclude_incomplete(self, tpl: LevelTemplate) -> LevelTemplate:
        """Leave out units lacking any leaf indicator (``units: {exclude_incomplete: true}``).

        Used where a published index is only computed for complete units (UNDP's HDI); every unit
        left out is recorded (log step "missing", policy "excluded") and listed in
        ``Evaluation.excluded`` — nothing disappears silently.
        """
        codes = sorted({tpl.tree.nodes[j].indicator for j in tpl.leaves})
        wide = view(self.data).values(self.period, tpl.positions, codes)
        incomplete = np.isnan(wide).any(axis=1)
        for i in np.flatnonzero(incomplete):
            self.notes.append({"unit": tpl.ids[i], "node": "total", "parent": "",
                               "period": self.period, "policy": "excluded", "value": None,
                               "note": "left out of the evaluation: no value for "
                               + ", ".join(c for c, v in zip(codes, wide[i], strict=True)
                                           if np.isnan(v))})
        if incomplete.all():
            raise DataError(f"every unit of level {self.spec.level!r} lacks data in period "
                            f"{self.period}")
        return tpl.subset(~incomplete) if incomplete.any() else tpl

    # ------------------------------------------------------------------ design-dependent steps
    def scores(self, spec: LevelSpec | None = None, grouping: Grouping | None = None
               ) -> LeafScores:
        """Leaf scores under a design: the scoring rules of ``spec`` (default the level's own)
        and its comparison groups (``grouping``, default those of ``spec``'s ranking)."""
        spec = spec or self.spec
        grouping = grouping or (self.official if spec is self.spec else
                                grouping_for(self.units, spec.ranking))
        scorer = Scorer(self.data, self.units, self.positions, self.period, grouping)
        n, tree = self.n, self.tree
        scores = self.static.copy()
        best = np.full((n, tree.size), np.nan)
        vetoed = np.zeros(n, bool)
        reason = [""] * n
        text = dict(self.static_text)
        for j, nd in enumerate(spec.root.walk()):
            if nd.kind != "leaf":
                continue
            s, text[nd.id], veto = scorer.score(nd)
            scores[:, j] = np.where(self.applies[:, j], s, np.nan)
            best[:, j] = scorer.best(nd, self.raw[:, j])
            for i in np.flatnonzero(veto & self.applies[:, j]):
                vetoed[i] = True
                reason[i] = f"{nd.id} ({nd.label or nd.indicator}) failed"
        vetoed, reason = self.adjustments.apply_veto(vetoed, reason)  # a failed must (issue 10)
        return LeafScores(scores, text, best, vetoed, reason, scorer.notes)

    def dynamic_scores(self, spec: LevelSpec | None, grouping: Grouping | None,
                       values: dict) -> dict:
        """Scores (d, n) of leaves given other raw values ``{node index: (d, n) values}``,
        with the same rules and comparison groups as :meth:`scores`."""
        spec = spec or self.spec
        grouping = grouping or grouping_for(self.units, spec.ranking)
        scorer = Scorer(self.data, self.units, self.positions, self.period, grouping)
        nodes = list(spec.root.walk())
        return {j: np.where(self.applies[:, j], scorer.score(nodes[j], np.asarray(x, float))[0],
                            np.nan) for j, x in values.items()}

    def plan(self, leaf: LeafScores, spec: LevelSpec | None = None,
             grouping: Grouping | None = None, where: dict | None = None,
             dynamic: frozenset = frozenset()) -> AggregationPlan:
        """The aggregation plan of the tree under a design's methods and policies."""
        spec = spec or self.spec
        grouping = grouping or (self.official if spec is self.spec else
                                grouping_for(self.units, spec.ranking))
        nodes = list(spec.root.walk())
        return plan_aggregation(
            self.tree, leaf.scores, self.weights, self.applies,
            [nd.aggregate for nd in nodes], [nd.missing for nd in nodes],
            grouping.scoring_index("group"), units=self.ids, names=self.names,
            period=self.period, where=where or {}, dynamic=dynamic)

    def totals(self, root: np.ndarray, vetoed: np.ndarray,
               part: np.ndarray | None = None) -> np.ndarray:
        """Totals (d, n): ``base + deductions + coefficient points``, the veto score where vetoed.

        ``base = root / 100 × max_points``. The coefficient points are ``(base + deductions) ×
        (c − 1)`` when the coefficient multiplies the whole total (so the total is ``(base +
        deductions) × c``), and ``part × (c − 1)`` when it multiplies one part of the tree
        (``coefficient.node``; ``part`` its points, from :meth:`part_points`).
        """
        base = root / 100.0 * self.spec.max_points
        total = base + self.deduction_points[None, :] + self.coefficient_points(base, part)
        if self.veto_score is not None:
            total = np.where(vetoed[None, :], self.veto_score, total)
        return total


# ---------------------------------------------------------------------- one draw
@dataclass
class LevelResult:
    """Arrays and tables produced by scoring one level for one period (one draw)."""

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
    best: np.ndarray | None = None  # (n, N) best raw value in the unit's comparison group
    applies: np.ndarray | None = None  # (n, N) whether each node concerns each unit
    notices: list = field(default_factory=list)  # Notice objects for the user
    template: LevelTemplate | None = field(default=None, repr=False)  # the compiled level
    coefficient_points: np.ndarray | None = None  # (n,) points the coefficient adds
    deductions_scope: tuple = ()  # the (sub-)periods whose negative-list incidents count
    # issue 10: failed musts and linked consequences (engine/adjustments.py); the rating sheets
    # of a level scored by a review (engine/review.py)
    adjustments: object = None
    review: object = None


def score_level(scheme: Scheme, spec: LevelSpec, data: Dataset, period: str,
                upstream: dict[str, LevelResult],
                deductions_over: list[str] | None = None) -> LevelResult:
    """Score one level of a scheme for one (sub-)period: the nominal design, one draw.

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
    deductions_over : list of str, optional
        Sub-periods whose negative-list incidents count (see :class:`LevelModel`).

    Returns
    -------
    LevelResult
    """
    model = LevelModel(spec, data, period, upstream, deductions_over=deductions_over)
    leaf = model.scores()
    plan = model.plan(leaf, where=model.template.where(scheme))
    values = aggregate(plan, impute=model.official.scoring_index("group"))
    n, N = model.n, model.tree.size
    score = plan.scores.copy()
    for j, v in values.items():
        score[:, j] = v[0]
    for pp in plan.nodes:  # group children filled by their parent's policy
        for c, mask in enumerate(pp.fill):
            k = pp.kids[c]
            if mask is not None and k in values:
                score[:, k] = values[k][0]
    total_norm = score[:, 0]
    bad = np.flatnonzero(~np.isfinite(total_norm))
    if len(bad):
        raise DataError([Problem(f"unit {model.ids[i]} ({model.names[i]}) has no usable value "
                                 f"for any indicator of level {spec.level!r} in period {period}")
                         for i in bad])
    eff_w = effective_weights(plan)
    # Top-down attribution of points: every node's points add up to its parent's.
    points = np.zeros((n, N))
    maxp = np.zeros((n, N))
    points[:, 0] = total_norm / 100.0 * spec.max_points
    maxp[:, 0] = spec.max_points
    for j in range(N):
        kids = model.tree.children[j]
        if not len(kids):
            continue
        nd = model.tree.nodes[j]
        points[:, kids] = sc.attribute(points[:, j], score[:, kids], eff_w[:, kids], nd.aggregate)
        maxp[:, kids] = maxp[:, [j]] * np.nan_to_num(eff_w[:, kids])
    # the coefficient's part: the points attributed to its node, as in contributions
    part = None if model.coefficient_node is None else points[None, :, model.coefficient_node]
    total = model.totals(total_norm[None, :], leaf.vetoed, part)[0]
    rule_text = dict(leaf.rule_text)
    if model.coefficient_text:
        rule_text["coefficient"] = model.coefficient_text
    return LevelResult(spec.level, model.units, model.tree.nodes, model.raw, score, eff_w, points,
                       maxp, points[:, 0].copy(), model.deductions, model.coefficient,
                       leaf.vetoed, leaf.veto_reason, total,
                       model.notes + leaf.notes + plan.notes, rule_text,
                       leaf.best, model.applies, _notices(model, leaf, plan), model.template,
                       model.coefficient_points(points[None, :, 0], part)[0],
                       tuple(model.deductions_scope), adjustments=model.adjustments)


def _notices(model: LevelModel, leaf: LeafScores, plan: AggregationPlan) -> list[Notice]:
    """Policy decisions of one level the user must see (not only in the log)."""
    out = []
    level, period = model.spec.level, model.period
    for j in model.template.leaves:
        nd = model.tree.nodes[j]
        applies = model.applies[:, j]
        raw = model.raw[applies, j]
        if applies.any() and not np.isfinite(raw).any():
            out.append(Notice("indicator_absent", f"indicator {nd.indicator!r} ({nd.id}) has no "
                              f"value for any unit in {period}: its weight is spread over its "
                              "siblings", f"{level}, period {period}", level=level,
                              units=tuple(map(str, model.units["unit"].astype(str).to_numpy()[applies]))))
            continue
        inner = nd.scoring.get("then", nd.scoring)
        if inner.get("method") not in RELATIVE_METHODS or nd.scoring["method"] == \
                "level_and_change":
            continue
        groups = model.official.scoring_index(inner.get("within", "group"))
        x = np.where(applies, sc.snap(model.raw[:, j]), np.nan)
        with np.errstate(invalid="ignore"):
            flat = (groups.max(x) == groups.min(x)) & np.isfinite(x) & (groups.count(x) > 1)
        if flat.any():
            labels = sorted({groups.names[c] for c in groups.codes[flat]})
            where = ", ".join(label or "all units" for label in labels)
            out.append(Notice("constant_indicator",
                              f"indicator {nd.indicator!r} ({nd.id}) has the same value for every "
                              f"unit of {where}: the relative rule gives them all the top score",
                              f"{level}, period {period}", level=level,
                              units=tuple(map(str, model.units["unit"].astype(str).to_numpy()[
                                  applies & np.isin(groups.codes, groups.codes[flat])]))))
    # said unless the scheme decides it (group_by: null pools on purpose, e.g. the HDI)
    if not {"group_by", "groups"} & set(model.spec.ranking) and "group" in model.units:
        given = {str(g) for g in model.units["group"].to_numpy()
                 if isinstance(g, str) and g.strip()}
        if len(given) > 1:
            out.append(Notice(
                "groups_not_used", f"the units carry {len(given)} groups in their 'group' "
                f"column, but level {level!r} names no ranking.group_by: all its units are "
                "ranked, given quotas and compared by relative rules as one pool. To rank within "
                "the groups, add ranking: {group_by: group}; to pool on purpose, group_by: null",
                f"{level}, period {period}", level=level))
    for note in plan.notes:
        out.append(Notice(f"missing_{note['policy']}", f"{note['node']}: {note['note']}",
                          f"{model.spec.level} unit {note['unit']}, period {note['period']}",
                          unit=str(note["unit"]), level=model.spec.level))
    for note in model.notes:
        if note["policy"] == "excluded":
            out.append(Notice("unit_excluded", note["note"],
                              f"{model.spec.level} unit {note['unit']}, period {note['period']}",
                              unit=str(note["unit"]), level=model.spec.level))
    for note in leaf.notes:  # a comparison group too small for a relative rule
        out.append(Notice(note["policy"].replace(" ", "_"), f"{note['node']}: {note['note']}",
                          f"{model.spec.level} unit {note['unit']}, period {note['period']}",
                          unit=str(note["unit"]), level=model.spec.level))
    out.extend(model.adjustments.notices)  # musts without a value (issue 10)
    return out


# ---------------------------------------------------------------------- upstream-dependent nodes
def _rollup(nd: Node, units: pd.DataFrame, upstream: dict[str, LevelResult],
            template: LevelTemplate | None = None):
    src = upstream[nd.rollup["from"]]
    stat = nd.rollup["stat"]
    by = nd.rollup.get("via", "parent")
    # the contained units' totals are out of their level's max points unless the scheme says
    maxp = nd.rollup.get("max_points", float(src.max_points[0, 0]) if src.max_points.size else 100.0)
    owner = template.owner(None, by, src.units) if template is not None else \
        pd.Index(units["unit"].astype(str)).get_indexer(src.units[by].astype(str))
    inside = owner >= 0
    n = len(units)
    count = np.bincount(owner[inside], minlength=n).astype(float)
    total = src.total[inside]
    if stat == "mean":
        with np.errstate(invalid="ignore", divide="ignore"):
            agg = np.bincount(owner[inside], weights=total, minlength=n) / count
    elif stat in ("min", "max"):
        agg = np.full(n, np.inf if stat == "min" else -np.inf)
        (np.minimum if stat == "min" else np.maximum).at(agg, owner[inside], total)
    else:  # median
        agg = pd.Series(total).groupby(owner[inside]).median().reindex(range(n)).to_numpy()
    values = np.where(count > 0, agg, np.nan) / maxp * 100.0
    text = f"{stat} score of the {nd.rollup['from']} units it contains (out of {maxp:g})"
    return values, text


def _shared(nd: Node, units: pd.DataFrame, upstream: dict[str, LevelResult], base_w: np.ndarray,
            data: Dataset, period: str):
    """A shared indicator (指标共担): the other level's attainment, split among the units.

    ``S`` is the mean, over the units of level ``from`` that have a score, of their score on
    node ``node`` — scored by ``shared.scoring`` (an absolute rule) from their raw values when the
    scheme gives one, else their own (absolute) score on that node. Each lead unit has the share
    ``lead_share / n_lead`` of the indicator, each related unit ``related_share / n_related``.
    ``split: earned``: the unit earns its share of the indicator's points, score ``share × S``
    (a lead earns 80% of what the indicator is worth at most; the rest is credited to the
    others). ``split: lost``: the unit bears its share of the points lost, score ``100 − share ×
    (100 − S)``. The node keeps its declared weight for the units it concerns (no
    re-normalisation of the shares) and does not apply to the others.

    Returns
    -------
    values, weights, text, attained
        Scores (n,), weights (n,), rule text, and ``S`` (the raw value shown).
    """
    spec = nd.shared
    src = upstream[spec["from"]]
    ids = [n.id for n in src.nodes]
    col = ids.index(spec["node"])  # checked when the scheme loads
    source = src.nodes[col]
    if spec.get("scoring") is not None:
        dv = view(data)
        positions = dv.unit_ids.get_indexer(pd.Index(src.units["unit"].astype(str)))
        scorer = Scorer(data, src.units, positions, period, Grouping("pool", len(src.units)))
        per_unit, rule, _ = scorer.score(replace(source, scoring=spec["scoring"]))
        how = f"scored by {rule}"
    else:
        per_unit, how = src.score[:, col], "their own scores"
    attained = float(np.nanmean(per_unit)) if np.isfinite(per_unit).any() else np.nan
    uid = units["unit"].astype(str).to_numpy()
    for role in ("lead", "related"):
        absent = [u for u in spec[role] if u not in set(uid)]
        if absent:
            raise SchemeError(f"shared.{role} names unit(s) {absent} that the level does not "
                              "assess", key=f"{nd.path}.shared.{role}")
    lead, related = np.isin(uid, spec["lead"]), np.isin(uid, spec["related"])
    n_lead, n_related = max(int(lead.sum()), 1), max(int(related.sum()), 1)
    share = np.where(lead, spec["lead_share"] / n_lead,
                     np.where(related, spec["related_share"] / n_related, 0.0))
    if spec["split"] == "earned":
        values = share * attained
        split = (f"each lead unit earns {spec['lead_share'] / n_lead:.0%} of the indicator's "
                 f"points, each related unit {spec['related_share'] / n_related:.0%}")
    else:
        values = 100.0 - share * (100.0 - attained)
        split = (f"each lead unit bears {spec['lead_share'] / n_lead:.0%} of the points lost, "
                 f"each related unit {spec['related_share'] / n_related:.0%}")
    involved = lead | related
    w = np.where(involved, base_w, 0.0)
    values = np.where(involved, values, np.nan)
    text = (f"shared indicator: mean attainment of the {spec['from']} units on {spec['node']} "
            f"({how}) = {attained:.2f}; {split}")
    return values, w, text, attained


DEDUCTION_COLUMNS = ["unit", "item", "value", "points", "reason"]
_NO_DEDUCTIONS = pd.DataFrame(columns=DEDUCTION_COLUMNS)  # shared, never modified


def _deductions(spec: LevelSpec, scorer: Scorer, units: pd.DataFrame,
                periods: list[str]) -> pd.DataFrame:
    """Negative-list deductions (points, negative) per unit and item, capped.

    Every incident costs its points once, in the period it happens: the count of an item over
    ``periods`` (one period, or the sub-periods of a year for the annual result of a quarterly
    scheme) is the sum of the incidents of each of them — the value itself (``counts:
    period``), the new incidents of a cumulative count reset each January (``counts:
    year_to_date``: ``x_t − x_{t−1}`` within the year, ``x_t`` in its first sub-period), or
    the increase on the previous period (``per: increase``). Caps apply to that sum.
    """
    items = {k: v for k, v in spec.deductions.items() if k != "total_cap"}
    scope = periods[0] if len(periods) == 1 else f"{periods[0]}–{periods[-1]}"
    frames = []
    for item, rule in items.items():
        key = f"levels.{spec.level}.deductions.{item}"
        code = rule.get("indicator", item)
        x = sum(_incidents(rule, scorer, code, p, key) for p in periods)
        pts = np.minimum(rule.get("cap", np.inf), rule["points"] * x)
        hit = np.flatnonzero(pts > 0)
        if not len(hit):
            continue
        capped = pts[hit] < rule["points"] * x[hit]
        frames.append(pd.DataFrame({
            "unit": units["unit"].to_numpy()[hit], "item": item, "value": x[hit],
            "points": -pts[hit],
            "reason": [f"negative list {item}: {v:g} × {rule['points']:g} points"
                       + (f" ({scope})" if len(periods) > 1 or rule.get("counts") else "")
                       + (f", capped at {rule['cap']:g}" if c else "")
                       for v, c in zip(x[hit], capped, strict=True)]}))
    if not frames:
        return _NO_DEDUCTIONS
    ded = pd.concat(frames, ignore_index=True)[DEDUCTION_COLUMNS]
    cap = spec.deductions.get("total_cap")
    if cap is not None and len(ded):
        tot = ded.groupby("unit")["points"].transform("sum")
        scale = np.where(tot < -cap, -cap / tot, 1.0)
        ded["points"] = ded["points"] * scale
        ded.loc[scale < 1, "reason"] += f"; all deductions capped at {cap:g} points in total"
    return ded


def _incidents(rule: dict, scorer: Scorer, code: str, period: str, key: str) -> np.ndarray:
    """The incidents of one negative-list item in one period (0 where not reported)."""
    x = scorer.values(code, period, key)
    if rule.get("per", "unit") == "increase":
        prev = scorer.values(code, shift_period(period, -1), key)
        return np.maximum(0.0, np.nan_to_num(x - prev))
    if rule.get("counts", "period") == "year_to_date" and period_frequency(period) != "Y" \
            and not period.endswith(("Q1", "-01")):
        before = shift_period(period, -1)
        if before not in scorer.view.periods:
            raise DataError(f"negative-list item {code!r} counts incidents from January "
                            f"(counts: year_to_date): the incidents of {period} are its value "
                            f"minus that of {before}, which dataset {scorer.data.name!r} lacks")
        prev = scorer.values(code, before, key)
        gap = np.isfinite(x) & ~np.isfinite(prev)
        if gap.any():
            raise DataError(f"negative-list item {code!r}: units "
                            f"{list(scorer.units['unit'].to_numpy()[gap][:10])} report a "
                            f"year-to-date count for {period} but none for {before}; the "
                            "incidents of the period cannot be told")
        new = np.nan_to_num(x) - np.nan_to_num(prev)
        if (new < 0).any():
            bad = list(scorer.units["unit"].to_numpy()[new < 0][:10])
            raise DataError(f"negative-list item {code!r} is a year-to-date count, but it falls "
                            f"from {before} to {period} for units {bad}; a cumulative count "
                            "cannot fall within a year")
        return new
    return np.nan_to_num(x)  # not reported on a negative list means nothing to deduct


def _coefficients(spec: LevelSpec, scorer: Scorer, units: pd.DataFrame):
    """Evaluation coefficient per unit (1 unless the scheme sets one)."""
    n = len(units)
    coef = np.ones(n)
    text = ""
    rule = spec.coefficient
    if rule:
        x = scorer.values(rule["indicator"], scorer.period, f"levels.{spec.level}.coefficient")
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
    if rule and rule.get("node") is not None:  # the coefficient multiplies one part only
        text += (f"; multiplies the points of {rule['node']} only (highest possible total "
                 f"{spec.max_score():.4g})")
    return coef, text
