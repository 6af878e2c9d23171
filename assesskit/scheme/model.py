"""Schemes as data: load a YAML file (or dict), check it once, and expose it as a tree of nodes.

A scheme is a YAML file a policy researcher can read and edit; see ``docs/scheme-format.md`` for
the format with an annotated example. Loading uses PyYAML's safe loader with bounds (see
:mod:`assesskit.scheme.source`) and never evaluates code.

Every check of a scheme is made here, once, when it loads: unknown keys, the type and range of
every value, weights that do not sum to 1, quotas, grades, tie rules, rules over several periods,
degenerate scoring rules, levels that roll up from each other in a cycle. Each error names the
file, the YAML line and the key. The engine relies on these checks and does not repeat them.

Alternative designs are made by changing the data: :meth:`Scheme.with_weights` and
:meth:`Scheme.without_nodes` return a modified copy and record the change in its ``log``.
"""

from __future__ import annotations

import copy
import datetime
import functools
import math
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from ..errors import SchemeError
from .review import ReviewKeys, node_specs
from .source import parse_yaml, read_text

SCORING_METHODS = {
    # method: parameters it accepts (besides method)
    "minmax": {"within", "range", "min_group", "small_group"},
    "zscore": {"within", "offset", "scale", "floor", "min_group", "small_group"},
    "percentile": {"within", "min_group", "small_group"},
    "goalposts": {"min", "max", "log"},
    "target": {"target", "target_indicator", "cap"},
    "threshold": {"full_at", "per_unit", "floor"},
    "bands": {"cuts", "scores"},
    "passfail": {"threshold", "on_fail"},
    "value": {"min", "max"},
    "growth": {"change", "compare_to", "then"},
    "level_and_change": {"change", "compare_to", "level_share", "then"},
}
RELATIVE_METHODS = ("minmax", "zscore", "percentile")
# A relative rule compares a unit with the others of its comparison group. With fewer than
# MIN_GROUP values in a group the comparison is degenerate (min–max gives a lone unit the top of
# the range, whatever its value); the scheme must then say what to do (``small_group:``).
MIN_GROUP = 3
SMALL_GROUP_POLICIES = ("error", "missing", "pool", "score")
SHARED_SPLITS = ("earned", "lost")
DEDUCTION_COUNTS = ("period", "year_to_date")
AGGREGATIONS = ("arithmetic", "geometric", "harmonic", "minimum")
MISSING_POLICIES = ("error", "renormalise", "impute_group_mean", "zero")
WITHIN = ("group", "subgroup", "pool")
TIE_METHODS = ("min", "average", "dense", "first")
FREQUENCIES = {"annual": 1, "quarterly": 4, "monthly": 12}
WEIGHT_TOLERANCE = 1e-6
MAX_DECIMALS = 12
# Keys each section of a scheme accepts: anything else is refused with its line, so that a typo
# ("rankng:", "tops:") never silently drops a rule. Extend these when the engine learns a key.
TOP_KEYS = {"name", "title", "source", "source_file", "example_data", "description", "note",
            "frequency", "max_points", "assumptions", "defaults", "combine", "levels"}
DEFAULTS_KEYS = {"scoring", "missing", "aggregate"}
# The source document (``source:`` as a mapping). ``title`` is the document's own title, as the
# reports show it; ``note`` says what the document is when it has no title; ``file`` is where a
# copy is kept (never shown to readers).
SOURCE_KEYS = {"title", "publisher", "date", "url", "author", "via", "note", "file"}
COMBINE_KEYS = {"method", "weights"}
LEVEL_KEYS = {"label", "note", "units", "max_points", "tree", "aggregate", "missing",
              "normalise_weights", "deductions", "coefficient", "overrides", "ranking",
              "consequences", "grades", "rules", "schedule"}
# issue 10 (scheme/review.py): a level scored by rating sheets, pass/fail musts, linked units
LEVEL_KEYS = LEVEL_KEYS | {"review", "musts", "linked", "linked_from"}
NODE_KEYS = {"label", "weight", "children", "aggregate", "missing", "normalise_weights",
             "indicator", "scoring", "direction", "applies_to", "applies_if", "rollup", "shared",
             "note"}
SECTION_KEYS = {
    "units": {"level", "where", "exclude_incomplete"},
    "ranking": {"group_by", "subgroup_by", "groups", "ties"},
    "ties": {"method", "decimals", "break_by", "at_quota"},
    "deduction": {"points", "cap", "per", "counts", "indicator", "label", "note"},
    "coefficient": {"indicator", "bands", "node", "note"},
    "override": {"weights", "coefficient", "note"},
    "consequence": {"label", "top", "bottom", "grades", "note"},
    "veto": {"score", "label", "note"},
    "grades": {"by", "bands", "note"},
    "rule": {"name", "label", "when", "consecutive", "note"},
    "when": {"outcome", "grade", "bottom"},
    "schedule": {"expected", "yellow_below", "red_below", "label", "flag_after"},
    "rollup": {"from", "stat", "via", "max_points"},
    "shared": {"from", "node", "lead", "related", "lead_share", "related_share", "split",
               "scoring"},
}


# ---------------------------------------------------------------------- the node tree
@dataclass
class Node:
    """One node of a scheme's hierarchy.

    ``kind`` is ``group`` (aggregates children), ``leaf`` (scores an indicator), ``rollup`` (a
    statistic of the scores of another level's units contained in this unit) or ``shared`` (an
    indicator scored for another level, credited to several units with split shares).
    """

    id: str
    path: str
    kind: str
    weight: float = 1.0
    label: str = ""
    children: list[Node] = field(default_factory=list)
    aggregate: str = "arithmetic"
    missing: str = "renormalise"
    normalise_weights: bool = False
    indicator: str | None = None
    scoring: dict = field(default_factory=dict)
    direction: str | None = None
    applies_to: list[str] | None = None
    applies_if: dict | None = None
    rollup: dict | None = None
    shared: dict | None = None

    def walk(self):
        """Yield this node and every descendant, parents before children."""
        yield self
        for c in self.children:
            yield from c.walk()

    def leaves(self):
        """Every leaf-like (non-group) node below, in order."""
        return [n for n in self.walk() if n.kind != "group"]

    @property
    def conditional(self) -> bool:
        """Whether the node applies to some units only (``applies_to`` / ``applies_if``)."""
        return self.applies_to is not None or self.applies_if is not None


@dataclass
class LevelSpec:
    """What a scheme says about one assessed level (e.g. the counties)."""

    level: str
    label: str
    root: Node
    max_points: float
    units: dict
    deductions: dict
    coefficient: dict | None
    overrides: dict
    ranking: dict
    consequences: dict
    grades: dict | None
    rules: list
    schedule: dict
    # issue 10 (scheme/review.py): rating sheets instead of a tree, pass/fail constraints, and
    # consequences reaching units of another level (outgoing; incoming as (rule, source spec))
    review: Any = None
    musts: Any = None
    linked: dict = field(default_factory=dict)
    linked_from: list = field(default_factory=list, repr=False)

    def node(self, node_id: str) -> Node:
        """The node of this level's tree with this id."""
        for nd in self.root.walk():
            if nd.id == node_id:
                return nd
        raise KeyError(node_id)

    # ---- evaluation coefficient on one part of the tree (coefficient.node)
    def share_of_total(self, node_id: str, unit: str | None = None) -> float:
        """The declared share of the total a node carries: the product of the weights on its
        path, each divided by the sum of its siblings' weights (``unit``'s overrides applied).
        Conditional siblings (``applies_to``, ``applies_if``) are counted as applying."""
        weights = (self.overrides.get(unit, {}) or {}).get("weights") or {} if unit else {}

        def walk(node: Node, share: float):
            if node.id == node_id:
                return share
            total = sum(float(weights.get(c.id, c.weight)) for c in node.children)
            for c in node.children:
                w = float(weights.get(c.id, c.weight))
                hit = walk(c, share * (w / total if total > 0 else 0.0))
                if hit is not None:
                    return hit
            return None

        found = walk(self.root, 1.0)
        if found is None:
            raise KeyError(node_id)
        return found

    def max_score(self) -> float:
        """The highest total a unit can reach, with the evaluation coefficient.

        Without a coefficient: ``max_points``. With one on the whole total: ``max_points ×
        c_max``. With one on a part (``coefficient.node``): ``max_points × (1 + (c_max − 1) ×
        s)``, ``s`` the part's largest declared share of the total (over the declared weights and
        every unit's overrides), ``c_max`` the largest coefficient of the bands and overrides.
        """
        coef = self.coefficient or {}
        values = [float(b[1]) for b in coef.get("bands", [])]
        values += [float(ov["coefficient"]) for ov in self.overrides.values()
                   if isinstance(ov, dict) and "coefficient" in ov]
        c_max = max([1.0, *values])
        node = coef.get("node")
        if node is None:
            return self.max_points * c_max
        share = max([self.share_of_total(node)]
                    + [self.share_of_total(node, u) for u in self.overrides])
        return self.max_points * (1.0 + (c_max - 1.0) * share)


class Scheme(ReviewKeys):
    """An assessment scheme: the plain-data spec, where it came from, and its change log.

    Build with :func:`load_scheme`. Attributes: ``spec`` (the plain dict), ``name``,
    ``source`` (file), ``source_document`` (the YAML's ``source:``, the document the scheme
    comes from: ``title``, ``publisher``, ``date`` … as text, or ``{"text": ...}`` for the
    one-line form), ``log`` (list of changes made to the published scheme), ``levels``
    (``{level: LevelSpec}`` in evaluation order: levels that others roll up from come first),
    ``notices`` (decisions taken while reading it, e.g. the file's encoding).
    """

    def __init__(self, spec: dict, source: str | None = None, lines: dict | None = None,
                 log: list | None = None, notices: list | None = None):
        self.spec = spec
        self.source = source
        self.lines = lines or {}
        self.log = list(log or [])
        self.notices = list(notices or [])
        # schemes whose linked consequences reach a level of this one (linked_from:), by the
        # reference written there; evaluate() evaluates them first (scheme/review.py)
        self.linked_schemes: dict[str, Scheme] = {}
        # this scheme's linked consequences reaching another scheme file: {rule, file, path,
        # listed (whether that file's level lists the rule in linked_from:), fix}
        self.linked_targets: list[dict] = []
        self._known_keys(spec, TOP_KEYS, "", "a scheme")
        self.name = self._text(spec.get("name", Path(source).stem if source else "scheme"), "name")
        self.frequency = self._enum(spec.get("frequency", "annual"), "frequency", tuple(FREQUENCIES))
        if "max_points" in spec:
            self._number(spec["max_points"], "max_points", low=0, open_low=True)
        defaults = spec.get("defaults") or {}
        self._known_keys(defaults, DEFAULTS_KEYS, "defaults", "defaults")
        if "aggregate" in defaults:
            self._enum(defaults["aggregate"], "defaults.aggregate", AGGREGATIONS)
        if "missing" in defaults:
            self._enum(defaults["missing"], "defaults.missing", MISSING_POLICIES)
        self._check_combine(spec.get("combine") or {})
        for key in ("title", "source_file", "example_data"):
            if spec.get(key) is not None:
                self._text(spec[key], key)
        self.source_document = self._source_document(spec.get("source"))
        if not isinstance(spec.get("assumptions", []), list):
            raise self.error("assumptions is a list of {id:, text:} entries", "assumptions")
        self.levels = self._parse_levels()

    # ------------------------------------------------------------------ errors and typed values
    def error(self, message: str, key: str) -> SchemeError:
        """A SchemeError for ``key`` (dotted path) with the YAML line of the nearest known key."""
        probe = key
        while probe and probe not in self.lines:
            if probe.endswith("]"):  # an item of a list (rules[0]): the list's own key
                probe = probe[:probe.rindex("[")]
            else:
                probe = probe.rsplit(".", 1)[0] if "." in probe else ""
        return SchemeError(message, key=key, source=self.source, line=self.lines.get(probe))

    def where(self, key: str) -> str:
        """Where ``key`` is written, for messages about data: ``"file, line N, key 'k'"``."""
        err = self.error("", key)
        parts = [str(err.source)] if err.source else []
        return ", ".join(parts + ([f"line {err.line}"] if err.line else []) + [f"key {key!r}"])

    @contextmanager
    def located(self):
        """Add this scheme's file and YAML line to a :class:`SchemeError` raised inside the block.

        The engine raises errors that name the key (``levels.county.tree.x.indicator``) but do
        not know the file; evaluating inside ``with scheme.located():`` makes every such message
        name the file and the line as well.
        """
        try:
            yield
        except SchemeError as exc:
            if exc.line is not None or exc.source or not exc.key:
                raise
            text, prefix = str(exc), f"key {exc.key!r}: "
            raise self.error(text[len(prefix):] if text.startswith(prefix) else text, exc.key) from None

    def _known_keys(self, mapping: Any, allowed: set, key: str, what: str) -> None:
        """Refuse a section that is not a mapping or has a key the engine does not know."""
        if not isinstance(mapping, dict):
            raise self.error(f"{what} must be a mapping (key: value lines), not {mapping!r}", key)
        unknown = sorted(str(k) for k in set(mapping) - allowed)
        if unknown:
            raise self.error(f"unknown key(s) {unknown} in {what}; it takes {sorted(allowed)}",
                             f"{key}.{unknown[0]}" if key else unknown[0])

    def _number(self, value, key: str, *, low=None, high=None, open_low=False,
                integer=False) -> float:
        """A number (not text, not true/false) within bounds, or a located error."""
        kind = "a whole number" if integer else "a number"
        name = _short(key)
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise self.error(f"{name} must be {kind}, not {value!r}"
                             + (" (write it without quotes)" if isinstance(value, str) else ""),
                             key)
        if integer and not float(value).is_integer():
            raise self.error(f"{name} must be {kind}, not {value!r}", key)
        if low is not None and (value <= low if open_low else value < low):
            raise self.error(f"{name} must be {'>' if open_low else '>='} {low:g}, not {value!r}",
                             key)
        if high is not None and value > high:
            raise self.error(f"{name} must be <= {high:g}, not {value!r}", key)
        return int(value) if integer else float(value)

    def _enum(self, value, key: str, options: tuple) -> str:
        if value not in options:
            raise self.error(f"{_short(key)} must be one of {list(options)}, not {value!r}", key)
        return value

    def _text(self, value, key: str) -> str:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise self.error(f"{_short(key)} must be text, not {value!r}", key)
        return str(value)

    def _source_document(self, value) -> dict[str, str]:
        """``source:`` as a dict of text: the mapping form (keys :data:`SOURCE_KEYS`; a YAML date
        becomes ``YYYY-MM-DD``), or ``{"text": ...}`` for the older one-line form."""
        if value is None:
            return {}
        if not isinstance(value, dict):
            return {"text": self._text(value, "source")}
        self._known_keys(value, SOURCE_KEYS, "source", "source")
        document = {}
        for key, item in value.items():
            if item is None:
                continue
            if isinstance(item, datetime.date):
                item = item.isoformat()
            document[key] = self._text(item, f"source.{key}").strip()
        if not document.get("title") and not document.get("note"):
            raise self.error("source needs the document's own title (source.title), or, for a "
                             "document without one, a note saying what it is (source.note)",
                             "source")
        return document

    def _flag(self, value, key: str) -> bool:
        if not isinstance(value, bool):
            raise self.error(f"{_short(key)} must be true or false, not {value!r}", key)
        return value

    def _numbers(self, value, key: str, length: int | None = None) -> list[float]:
        if not isinstance(value, list) or (length is not None and len(value) != length):
            shape = f"a list of {length} numbers" if length else "a list of numbers"
            raise self.error(f"{_short(key)} must be {shape}, not {value!r}", key)
        return [self._number(v, f"{key}[{i}]") for i, v in enumerate(value)]

    # ------------------------------------------------------------------ top-level sections
    def _check_combine(self, combine) -> None:
        self._known_keys(combine, COMBINE_KEYS, "combine", "combine")
        if combine.get("method", "mean") != "mean":
            raise self.error("combine.method must be mean (a weighted mean of the sub-period "
                             "results, weights from combine.weights)", "combine.method")
        if "weights" in combine:
            subs = FREQUENCIES[self.frequency]
            weights = self._numbers(combine["weights"], "combine.weights")
            if subs > 1 and len(weights) != subs:
                raise self.error(f"combine.weights has {len(weights)} entries, but a "
                                 f"{self.frequency} scheme has {subs} sub-periods a year",
                                 "combine.weights")
            if any(w < 0 for w in weights) or sum(weights) <= 0:
                raise self.error("combine.weights must be >= 0 and sum to more than 0 (they are "
                                 "relative weights of the sub-periods)", "combine.weights")

    def _parse_levels(self) -> dict[str, LevelSpec]:
        levels = self.spec.get("levels")
        if not isinstance(levels, dict) or not levels:
            raise self.error("a scheme needs 'levels:' with at least one assessed level", "levels")
        defaults = self.spec.get("defaults", {}) or {}
        parsed = {}
        for level, body in levels.items():
            key = f"levels.{level}"
            if isinstance(body, dict) and "review" in body:
                # scored from rating sheets, not a tree (issue 10; scheme/review.py)
                parsed[str(level)] = self._review_level(str(level), body, key)
                continue
            if not isinstance(body, dict) or "tree" not in body:
                raise self.error("each level needs a 'tree:' of nodes (or a 'review:' of rating "
                                 "sheets)", key)
            self._known_keys(body, LEVEL_KEYS, key, "a level")
            if not isinstance(body["tree"], dict) or not body["tree"]:
                raise self.error("tree must be a non-empty mapping of node id -> node", f"{key}.tree")
            root_spec = {
                "children": body["tree"],
                "aggregate": body.get("aggregate", defaults.get("aggregate", "arithmetic")),
                "missing": body.get("missing", defaults.get("missing", "renormalise")),
                "normalise_weights": body.get("normalise_weights", False),
                "label": body.get("label", level),
            }
            seen: dict[str, str] = {}
            root = self._parse_node("total", root_spec, f"{key}.tree", defaults, seen, is_root=True)
            max_points = self._number(body.get("max_points", self.spec.get("max_points", 100)),
                                      f"{key}.max_points", low=0, open_low=True)
            spec = LevelSpec(
                level=str(level),
                label=self._text(body.get("label", level), f"{key}.label"),
                root=root,
                max_points=max_points,
                units=body.get("units", {}) or {},
                deductions=body.get("deductions", {}) or {},
                coefficient=body.get("coefficient"),
                overrides={str(k): v for k, v in (body.get("overrides", {}) or {}).items()},
                ranking=body.get("ranking", {}) or {},
                consequences=body.get("consequences", {}) or {},
                grades=body.get("grades"),
                rules=body.get("rules", []) or [],
                schedule=body.get("schedule", {}) or {},
            )
            self._check_units(spec, key)
            self._check_deductions(spec, key)
            self._check_coefficient(spec, key)
            self._check_overrides(spec, key)
            self._check_ranking(spec, key)
            self._check_grades(spec, key)
            self._check_consequences(spec, key)
            self._check_rules(spec, key)
            self._check_schedule(spec, key)
            self._check_level_extras(spec, body, key)  # musts:, linked: (scheme/review.py)
            parsed[str(level)] = spec
        self._check_links(parsed)
        self._check_shared_sources(parsed)
        return self._order_levels(parsed)

    # ------------------------------------------------------------------ nodes
    def _parse_node(self, node_id: str, spec: Any, path: str, defaults: dict, seen: dict,
                    is_root: bool = False) -> Node:
        if spec is None:
            spec = {}
        if not isinstance(spec, dict):
            raise self.error("a node must be a mapping (weight:, children: or scoring: ...)", path)
        if node_id in seen:
            raise self.error(f"node id {node_id!r} is used twice in this level (first at "
                             f"{seen[node_id]}); node ids must be unique within a level", path)
        seen[node_id] = path
        unknown = set(spec) - NODE_KEYS
        if unknown:
            raise self.error(f"unknown key(s) {sorted(unknown)}; a node takes {sorted(NODE_KEYS)}",
                             f"{path}.{sorted(unknown)[0]}")
        weight = spec.get("weight", 1.0 if is_root else None)
        if weight is None:
            raise self.error("every node needs a weight (its share of the parent)", f"{path}.weight")
        weight = self._number(weight, f"{path}.weight", low=0)
        aggregate = self._enum(spec.get("aggregate", defaults.get("aggregate", "arithmetic")),
                               f"{path}.aggregate", AGGREGATIONS)
        missing = self._enum(spec.get("missing", defaults.get("missing", "renormalise")),
                             f"{path}.missing", MISSING_POLICIES)
        node = Node(id=node_id, path=path, kind="group", weight=weight,
                    label=self._text(spec.get("label", ""), f"{path}.label"), aggregate=aggregate,
                    missing=missing,
                    normalise_weights=self._flag(spec.get("normalise_weights", False),
                                                 f"{path}.normalise_weights"))
        if spec.get("applies_to") is not None:
            node.applies_to = [str(u) for u in _as_list(spec["applies_to"])]
            if not node.applies_to:
                raise self.error("applies_to lists the unit ids the node applies to; an empty "
                                 "list would apply to no unit (remove the node instead)",
                                 f"{path}.applies_to")
        if spec.get("applies_if") is not None:
            cond = spec["applies_if"]
            if not isinstance(cond, dict) or not cond:
                raise self.error("applies_if is a mapping of units column -> value or list of "
                                 "values, e.g. {coastal: true}", f"{path}.applies_if")
            node.applies_if = {str(c): [_cell_text(v) for v in _as_list(v)]
                               for c, v in cond.items()}
        if "children" in spec:
            children = spec["children"]
            if not isinstance(children, dict) or not children:
                raise self.error("children must be a non-empty mapping of node id -> node",
                                 f"{path}.children")
            node.children = [
                self._parse_node(str(cid), cspec,
                                 f"{path}.{cid}" if is_root else f"{path}.children.{cid}",
                                 defaults, seen)
                for cid, cspec in children.items()
            ]
            self._check_weights(node, path)
        elif "rollup" in spec:
            node.kind, node.rollup = "rollup", dict(spec["rollup"] or {})
            k = f"{path}.rollup"
            self._known_keys(node.rollup, SECTION_KEYS["rollup"], k, "rollup")
            if "from" not in node.rollup:
                raise self.error("rollup needs 'from:' (the level whose scores are averaged)", k)
            node.rollup["stat"] = self._enum(node.rollup.get("stat", "mean"), f"{k}.stat",
                                             ("mean", "median", "min", "max"))
            if "max_points" in node.rollup:
                self._number(node.rollup["max_points"], f"{k}.max_points", low=0, open_low=True)
        elif "shared" in spec:
            node.kind, node.shared = "shared", dict(spec["shared"] or {})
            k = f"{path}.shared"
            self._known_keys(node.shared, SECTION_KEYS["shared"], k, "shared")
            for req in ("from", "lead"):
                if req not in node.shared:
                    raise self.error(f"shared needs '{req}:'", f"{k}.{req}")
            node.shared.setdefault("node", node_id)
            node.shared.setdefault("related", [])
            for share in ("lead_share", "related_share"):
                node.shared[share] = self._number(node.shared.get(share, 0.8 if share == "lead_share"
                                                                  else 0.2),
                                                  f"{k}.{share}", low=0, high=1)
            node.shared["lead"] = [str(u) for u in _as_list(node.shared["lead"])]
            node.shared["related"] = [str(u) for u in _as_list(node.shared["related"])]
            self._check_shared_split(node.shared, k)
        else:
            node.kind = "leaf"
            node.indicator = self._text(spec.get("indicator", node_id), f"{path}.indicator")
            node.direction = spec.get("direction")
            if node.direction is not None:
                self._enum(node.direction, f"{path}.direction", ("higher", "lower"))
            node.scoring = self._parse_scoring(spec.get("scoring"), f"{path}.scoring", defaults,
                                               node.direction)
        return node

    def _check_shared_split(self, shared: dict, k: str) -> None:
        """A shared indicator splits its points (``split: earned``) or its points lost
        (``split: lost``) among the lead and related units: the shares must add up to 1, every
        share must go to someone, and an optional ``scoring:`` must be an absolute rule."""
        shared["split"] = self._enum(shared.get("split", "earned"), f"{k}.split", SHARED_SPLITS)
        if not shared["lead"]:
            raise self.error("shared.lead lists the unit(s) in charge of the indicator", f"{k}.lead")
        both = sorted(set(shared["lead"]) & set(shared["related"]))
        if both:
            raise self.error(f"unit(s) {both} are listed both as lead and as related", f"{k}.related")
        if abs(shared["lead_share"] + shared["related_share"] - 1.0) > WEIGHT_TOLERANCE:
            raise self.error(f"lead_share ({shared['lead_share']:g}) and related_share "
                             f"({shared['related_share']:g}) split the indicator's points among "
                             "the units: they must add up to 1", f"{k}.related_share")
        if not shared["related"] and shared["related_share"] > 0:
            raise self.error(f"related_share {shared['related_share']:g} would go to no unit: "
                             "list the related units, or give the lead all of it (lead_share: 1, "
                             "related_share: 0)", f"{k}.related")
        if shared.get("scoring") is not None:
            rule = self._parse_scoring(shared["scoring"], f"{k}.scoring", {}, None)
            inner = rule["then"] if rule["method"] in ("growth", "level_and_change") else rule
            if inner["method"] in RELATIVE_METHODS:
                raise self.error(f"a shared indicator is scored on the units' attainment with an "
                                 f"absolute rule (target, threshold, goalposts, bands, passfail, "
                                 f"value), not {inner['method']!r}: a relative score averages to "
                                 "the same value whatever the units achieve", f"{k}.scoring.method")
            shared["scoring"] = rule

    def _check_shared_sources(self, parsed: dict) -> None:
        """Each shared node's source node exists; without its own ``scoring:`` the source must be
        scored by absolute rules, so that the credit moves with what the units achieve."""
        for spec in parsed.values():
            for nd in spec.root.walk():
                if nd.kind != "shared" or nd.shared["from"] not in parsed:
                    continue  # an unknown level is reported by _order_levels
                k = f"{nd.path}.shared"
                try:
                    src = parsed[nd.shared["from"]].node(nd.shared["node"])
                except KeyError:
                    raise self.error(f"shared node {nd.shared['node']!r} is not a node of level "
                                     f"{nd.shared['from']!r}", f"{k}.node") from None
                if nd.shared.get("scoring") is not None:
                    if src.kind != "leaf":
                        raise self.error(f"shared.scoring scores the units' values on "
                                         f"{src.id!r}, which is a {src.kind} node, not an "
                                         "indicator; name a leaf in shared.node", f"{k}.node")
                    continue
                relative = [n.id for n in src.walk() if n.kind in ("rollup", "shared") or (
                    n.kind == "leaf" and (n.scoring["then"] if n.scoring["method"] in ("growth", "level_and_change")
                     else n.scoring)["method"] in RELATIVE_METHODS)]
                if relative:
                    raise self.error(f"the shared indicator takes the {nd.shared['from']} scores "
                                     f"of {src.id!r}, which are relative ({relative[:3]}): they "
                                     "average to the same value whatever the units achieve; give "
                                     "shared.scoring an absolute rule (e.g. {method: target, "
                                     "target: 100})", f"{k}.scoring")

    def _parse_scoring(self, scoring: Any, path: str, defaults: dict,
                       direction: str | None) -> dict:
        base = copy.deepcopy(defaults.get("scoring", {"method": "minmax", "within": "group",
                                                       "range": [0, 100]}))
        if scoring is not None:
            if not isinstance(scoring, dict):
                raise self.error("scoring must be a mapping with a 'method:'", path)
            if "method" in scoring and scoring["method"] != base.get("method"):
                base = {}
            base.update(copy.deepcopy(scoring))
        method = base.get("method")
        if method not in SCORING_METHODS:
            raise self.error(f"unknown scoring method {method!r}; use one of {sorted(SCORING_METHODS)}",
                             f"{path}.method")
        unknown = set(base) - SCORING_METHODS[method] - {"method"}
        if unknown:
            raise self.error(f"scoring method {method!r} takes {sorted(SCORING_METHODS[method])}, "
                             f"not {sorted(unknown)}", f"{path}.{sorted(unknown)[0]}")
        if "within" in base:
            self._enum(base["within"], f"{path}.within", WITHIN)
        required = {"goalposts": ("min", "max"), "threshold": ("full_at", "per_unit"),
                    "bands": ("cuts", "scores"), "passfail": ("threshold",)}
        for req in required.get(method, ()):
            if req not in base:
                raise self.error(f"scoring method {method!r} needs '{req}:'", f"{path}.{req}")
        check = getattr(self, f"_scoring_{method}", None)
        if check is not None:
            check(base, path, defaults, direction)
        return base

    # Each method's parameters: types, ranges, and the degenerate settings that would give every
    # unit the same score or a score that is not monotone in the value.
    def _scoring_minmax(self, rule, path, defaults, direction):
        rng = self._numbers(rule.setdefault("range", [0, 100]), f"{path}.range", length=2)
        if not rng[0] < rng[1]:
            raise self.error("range must be [low, high] with low < high, e.g. [60, 100]",
                             f"{path}.range")
        self._small_group(rule, path)

    def _small_group(self, rule, path):
        """A relative rule's smallest comparison group (``min_group``) and what to do with a
        group below it (``small_group``: error, missing, pool or score)."""
        if "min_group" in rule:
            self._number(rule["min_group"], f"{path}.min_group", low=1, integer=True)
        if "small_group" in rule:
            self._enum(rule["small_group"], f"{path}.small_group", SMALL_GROUP_POLICIES)

    def _scoring_percentile(self, rule, path, defaults, direction):
        self._small_group(rule, path)

    def _scoring_zscore(self, rule, path, defaults, direction):
        self._small_group(rule, path)
        self._number(rule.get("offset", 0), f"{path}.offset")
        self._number(rule.get("scale", 1), f"{path}.scale", low=0, open_low=True)
        if rule.get("floor") is not None:
            self._number(rule["floor"], f"{path}.floor")

    def _scoring_goalposts(self, rule, path, defaults, direction):
        lo, hi = self._number(rule["min"], f"{path}.min"), self._number(rule["max"], f"{path}.max")
        if lo >= hi:
            raise self.error(f"goalposts need min < max (min {lo:g}, max {hi:g}): with min = max "
                             "every value scores 0, 100 or nothing", f"{path}.max")
        if rule.get("log", False):
            self._flag(rule["log"], f"{path}.log")
            if lo <= 0:
                raise self.error("goalposts on a log scale need min > 0", f"{path}.min")

    def _scoring_target(self, rule, path, defaults, direction):
        if "target" not in rule and "target_indicator" not in rule:
            raise self.error("scoring method 'target' needs 'target:' or 'target_indicator:'", path)
        if "target" in rule:
            self._number(rule["target"], f"{path}.target", low=0, open_low=True)
        if "target_indicator" in rule:
            self._text(rule["target_indicator"], f"{path}.target_indicator")
        self._number(rule.get("cap", 1.0), f"{path}.cap", low=0, open_low=True)

    def _scoring_threshold(self, rule, path, defaults, direction):
        self._number(rule["full_at"], f"{path}.full_at")
        self._number(rule["per_unit"], f"{path}.per_unit", low=0, open_low=True)
        self._number(rule.get("floor", 0), f"{path}.floor", low=0, high=100)

    def _scoring_bands(self, rule, path, defaults, direction):
        cuts = self._numbers(rule["cuts"], f"{path}.cuts")
        scores = self._numbers(rule["scores"], f"{path}.scores")
        if len(scores) != len(cuts) + 1:
            raise self.error("bands need one more score than cuts (the score below the last cut)",
                             f"{path}.scores")
        steps = [b - a for a, b in zip(cuts, cuts[1:], strict=False)]
        decreasing, increasing = all(s < 0 for s in steps), all(s > 0 for s in steps)
        if not (decreasing or increasing):
            raise self.error(f"band cuts must be in order, strictly decreasing for a "
                             f"higher-is-better indicator (e.g. [90, 80, 60]) or increasing for a "
                             f"lower-is-better one, not {cuts}", f"{path}.cuts")
        if direction is not None and len(cuts) > 1 and (direction == "higher") != decreasing:
            raise self.error(f"the indicator is {direction}-is-better, so its band cuts must be "
                             f"{'decreasing' if direction == 'higher' else 'increasing'}, not "
                             f"{cuts}", f"{path}.cuts")
        if any(b > a for a, b in zip(scores, scores[1:], strict=False)):
            raise self.error(f"band scores must not increase from the best band to the worst, "
                             f"not {scores}", f"{path}.scores")

    def _scoring_passfail(self, rule, path, defaults, direction):
        self._number(rule["threshold"], f"{path}.threshold")
        self._enum(rule.setdefault("on_fail", "zero"), f"{path}.on_fail", ("zero", "veto"))

    def _scoring_value(self, rule, path, defaults, direction):
        lo = self._number(rule.get("min", 0), f"{path}.min")
        hi = self._number(rule.get("max", 100), f"{path}.max")
        if lo >= hi:
            raise self.error(f"a rating scale needs min < max (min {lo:g}, max {hi:g})",
                             f"{path}.max")

    def _scoring_growth(self, rule, path, defaults, direction):
        self._enum(rule.setdefault("change", "growth"), f"{path}.change", ("growth", "difference"))
        self._enum(rule.setdefault("compare_to", "previous"), f"{path}.compare_to",
                   ("previous", "same_period_last_year"))
        # The change (and level) part is scored by `then:`; default: the scheme's default plain
        # rule, so that "X and its growth" is scored on the same scale as the other leaves.
        fallback = defaults.get("scoring") or {}
        if fallback.get("method") in (None, "growth", "level_and_change"):
            fallback = {"method": "minmax", "within": "group", "range": [0, 100]}
        inner = rule.get("then", fallback)
        rule["then"] = self._parse_scoring(inner, f"{path}.then", {"scoring": inner}, direction)
        if rule["then"]["method"] in ("growth", "level_and_change"):
            raise self.error("'then' must be a plain scoring rule", f"{path}.then.method")

    def _scoring_level_and_change(self, rule, path, defaults, direction):
        self._scoring_growth(rule, path, defaults, direction)
        rule["level_share"] = self._number(rule.get("level_share", 0.5), f"{path}.level_share",
                                           low=0, high=1)

    def _check_weights(self, node: Node, path: str) -> None:
        """The declared weights of a node's children sum to 1, unless they are relative.

        Children that apply to some units only (``applies_to``, ``applies_if``) count: for a
        unit such a child does not apply to, its weight is spread over the applicable siblings
        in proportion to their weights (documented in ``docs/scheme-format.md``).
        """
        total = sum(c.weight for c in node.children)
        if node.normalise_weights:
            if total <= 0:
                raise self.error(f"the weights of the children of {node.id!r} are all zero",
                                 f"{path}.children" if node.id != "total" else path)
            return
        if abs(total - 1.0) > WEIGHT_TOLERANCE:
            listing = ", ".join(f"{c.id}={c.weight:g}" for c in node.children[:12])
            more = f" and {len(node.children) - 12} more" if len(node.children) > 12 else ""
            raise self.error(
                f"the weights of the children of {node.id!r} sum to {total:.6g}, not 1 "
                f"({listing}{more}); fix them, or declare 'normalise_weights: true' on "
                f"{node.id!r} to use them as relative weights", path)

    # ------------------------------------------------------------------ level sections
    def _check_units(self, spec: LevelSpec, key: str) -> None:
        units = spec.units
        self._known_keys(units, SECTION_KEYS["units"], f"{key}.units", "units")
        if "level" in units:
            self._text(units["level"], f"{key}.units.level")
        if "where" in units:
            self._known_keys(units["where"], set(units["where"]) if isinstance(units["where"], dict)
                             else set(), f"{key}.units.where", "units.where")
        if "exclude_incomplete" in units:
            self._flag(units["exclude_incomplete"], f"{key}.units.exclude_incomplete")

    def _check_deductions(self, spec: LevelSpec, key: str) -> None:
        if not isinstance(spec.deductions, dict):
            raise self.error("deductions is a mapping of item -> {points:, cap:}", f"{key}.deductions")
        for item, rule in spec.deductions.items():
            k = f"{key}.deductions.{item}"
            if item == "total_cap":
                self._number(rule, k, low=0)
                continue
            self._known_keys(rule, SECTION_KEYS["deduction"], k, "a deduction")
            if "points" not in rule:
                raise self.error("a deduction needs points: (points per unit of the indicator, "
                                 ">= 0)", f"{k}.points")
            self._number(rule["points"], f"{k}.points", low=0)
            if "cap" in rule:
                self._number(rule["cap"], f"{k}.cap", low=0)
            self._enum(rule.get("per", "unit"), f"{k}.per", ("unit", "increase"))
            counts = self._enum(rule.get("counts", "period"), f"{k}.counts", DEDUCTION_COUNTS)
            if counts == "year_to_date" and rule.get("per", "unit") == "increase":
                raise self.error("counts: year_to_date already turns cumulative counts into the "
                                 "incidents of each period; per: increase cannot be combined "
                                 "with it", f"{k}.per")

    def _check_coefficient(self, spec: LevelSpec, key: str) -> None:
        coef = spec.coefficient
        if coef is None:
            return
        k = f"{key}.coefficient"
        self._known_keys(coef, SECTION_KEYS["coefficient"], k, "coefficient")
        bands = coef.get("bands")
        if "indicator" not in coef or not isinstance(bands, list) or not bands or not all(
                isinstance(b, list) and len(b) == 2 for b in bands):
            raise self.error("coefficient needs indicator: and bands: [[threshold, coefficient], "
                             "...] (e.g. [[0, 1.0], [2, 1.02]])", k)
        for i, (cut, value) in enumerate(bands):
            self._number(cut, f"{k}.bands[{i}][0]")
            self._number(value, f"{k}.bands[{i}][1]", low=0, open_low=True)
        if any(a[0] >= b[0] for a, b in zip(bands, bands[1:], strict=False)):
            raise self.error("coefficient bands must be in increasing order of threshold",
                             f"{k}.bands")
        if "node" in coef:  # the coefficient multiplies the points of one part of the tree
            ids = [n.id for n in spec.root.walk() if n.id != "total"]
            if str(coef["node"]) not in ids:
                raise self.error(f"coefficient.node names unknown node {coef['node']!r}; nodes "
                                 f"of this level: {ids}", f"{k}.node")

    def _check_overrides(self, spec: LevelSpec, key: str) -> None:
        """Overrides name known nodes; each unit's weights still sum to 1 where they must."""
        nodes = {n.id: n for n in spec.root.walk()}
        bad: dict[str, list] = {}
        for unit, ov in spec.overrides.items():
            k = f"{key}.overrides.{unit}"
            self._known_keys(ov, SECTION_KEYS["override"], k, "an override")
            weights = ov.get("weights") or {}
            self._known_keys(weights, set(weights), f"{k}.weights", "override weights")
            for nid, w in weights.items():
                if nid not in nodes or nid == "total":
                    raise self.error(f"override names unknown node {nid!r}; nodes: "
                                     f"{sorted(x for x in nodes if x != 'total')}",
                                     f"{k}.weights.{nid}")
                self._number(w, f"{k}.weights.{nid}", low=0)
                if nodes[nid].applies_to is not None and unit not in nodes[nid].applies_to:
                    raise self.error(f"override gives unit {unit} a weight on {nid!r}, which "
                                     f"applies to {nodes[nid].applies_to} only", f"{k}.weights.{nid}")
            if "coefficient" in ov:
                self._number(ov["coefficient"], f"{k}.coefficient", low=0, open_low=True)
            for parent in spec.root.walk():
                kids = [c for c in parent.children
                        if c.applies_to is None or unit in c.applies_to]
                if parent.normalise_weights or not kids or not any(c.id in weights for c in kids):
                    continue
                total = sum(float(weights.get(c.id, c.weight)) for c in kids)
                if abs(total - 1.0) > WEIGHT_TOLERANCE:
                    bad.setdefault(parent.id, []).append((unit, total))
        for parent, units in bad.items():
            shown = ", ".join(f"{u} ({s:.6g})" for u, s in units[:5])
            more = f" and {len(units) - 5} more" if len(units) > 5 else ""
            first = units[0][0]
            raise self.error(
                f"with the overrides, the weights under {parent!r} do not sum to 1 for "
                f"{len(units)} unit(s): {shown}{more}; each unit's weights over the children "
                f"that apply to it must sum to 1 (or declare normalise_weights: true on "
                f"{parent!r})", f"{key}.overrides.{first}.weights")

    def _check_ranking(self, spec: LevelSpec, key: str) -> None:
        k = f"{key}.ranking"
        self._known_keys(spec.ranking, SECTION_KEYS["ranking"], k, "ranking")
        for col in ("group_by", "subgroup_by"):
            if spec.ranking.get(col) is not None:
                self._text(spec.ranking[col], f"{k}.{col}")
        if spec.ranking.get("groups") is not None:
            groups = spec.ranking["groups"]
            if not isinstance(groups, dict) or not groups:
                raise self.error("ranking.groups maps unit ids to group labels, e.g. "
                                 "{'510722': north, '510723': south}", f"{k}.groups")
            for unit, label in groups.items():
                self._text(label, f"{k}.groups.{unit}")
        ties = spec.ranking.get("ties") or {}
        self._known_keys(ties, SECTION_KEYS["ties"], f"{k}.ties", "ties")
        self._enum(ties.get("method", "min"), f"{k}.ties.method", TIE_METHODS)
        self._enum(ties.get("at_quota", "include"), f"{k}.ties.at_quota", ("include", "exclude"))
        if "decimals" in ties:
            self._number(ties["decimals"], f"{k}.ties.decimals", low=0, high=MAX_DECIMALS,
                         integer=True)
        ids = [n.id for n in spec.root.walk()]
        break_by = ties.get("break_by", []) or []
        if not isinstance(break_by, list):
            raise self.error("break_by is a list of node ids, e.g. [task]", f"{k}.ties.break_by")
        for nid in break_by:
            if nid not in ids or nid == "total":
                raise self.error(f"ties.break_by names unknown node {nid!r}; nodes of this level: "
                                 f"{[i for i in ids if i != 'total']}", f"{k}.ties.break_by")

    def _check_grades(self, spec: LevelSpec, key: str) -> None:
        grades = spec.grades
        if grades is None:
            return
        k = f"{key}.grades"
        self._known_keys(grades, SECTION_KEYS["grades"], k, "grades")
        by = self._enum(grades.get("by", "score"), f"{k}.by", ("score", "share"))
        bands = grades.get("bands")
        if not isinstance(bands, list) or not bands or not all(
                isinstance(b, list) and len(b) == 2 for b in bands):
            raise self.error("grades need bands: [[threshold, label], ...], best grade first", f"{k}.bands")
        cuts = [self._number(b[0], f"{k}.bands[{i}][0]") for i, b in enumerate(bands)]
        labels = [self._text(b[1], f"{k}.bands[{i}][1]") for i, b in enumerate(bands)]
        if len(set(labels)) != len(labels):
            raise self.error(f"grade labels must be distinct, not {labels}", f"{k}.bands")
        if by == "score":
            if any(a <= b for a, b in zip(cuts, cuts[1:], strict=False)):
                raise self.error(f"grade thresholds must decrease (best grade first), not {cuts}",
                                 f"{k}.bands")
            best = spec.max_score()
            if cuts[0] > best + 1e-9:
                raise self.error(f"grade {labels[0]!r} needs a score of {cuts[0]:g}, more than the "
                                 f"{best:g} points a unit can reach: it would be empty by "
                                 "construction", f"{k}.bands")
        else:
            if any(not 0 < c <= 1 for c in cuts) or any(a >= b for a, b in
                                                        zip(cuts, cuts[1:], strict=False)):
                raise self.error(f"grades by share take cumulative shares of the group, increasing "
                                 f"and in (0, 1], best grade first (e.g. [[0.2, 优秀], [0.8, 良好], "
                                 f"[1, 一般]]), not {cuts}", f"{k}.bands")

    def _check_consequences(self, spec: LevelSpec, key: str) -> None:
        if not isinstance(spec.consequences, dict):
            raise self.error("consequences is a mapping of key -> {label:, top:|bottom:|grades:}",
                             f"{key}.consequences")
        labels = [str(b[1]) for b in spec.grades["bands"]] if spec.grades else []
        for name, cons in spec.consequences.items():
            k = f"{key}.consequences.{name}"
            if name == "veto":
                self._known_keys(cons or {}, SECTION_KEYS["veto"], k, "veto")
                if (cons or {}).get("score") is not None:
                    self._number(cons["score"], f"{k}.score")
                continue
            self._known_keys(cons, SECTION_KEYS["consequence"], k, "a consequence")
            if not set(cons) & {"top", "bottom", "grades"}:
                raise self.error("a consequence needs top:, bottom: or grades:", k)
            for side in ("top", "bottom"):
                if cons.get(side) is not None:
                    self._check_quota(cons[side], f"{k}.{side}", spec)
            if "grades" in cons:
                wanted = cons["grades"] if isinstance(cons["grades"], list) else [cons["grades"]]
                if not spec.grades:
                    raise self.error(f"consequence {name!r} names grades, but the level has no "
                                     "grades: section", f"{k}.grades")
                unknown = [str(g) for g in wanted if str(g) not in labels]
                if unknown:
                    raise self.error(f"unknown grade(s) {unknown}; the grades are {labels}",
                                     f"{k}.grades")

    def _check_quota(self, raw, key: str, spec: LevelSpec, depth: int = 0) -> None:
        """A quota is a whole number of units, or a mapping group -> (subgroup ->) number."""
        if isinstance(raw, dict) and depth < 2:
            if depth == 1 and not spec.ranking.get("subgroup_by"):
                raise self.error("a quota split by subgroup needs ranking.subgroup_by (the units "
                                 "column holding the subgroups, e.g. subgroup)", key)
            for g, v in raw.items():
                self._check_quota(v, f"{key}.{g}", spec, depth + 1)
            return
        if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
            raise self.error(f"a quota must be a whole number of units (0, 1, 2 ...), not "
                             f"{raw!r}; shares of a group are not quotas (use grades: {{by: "
                             f"share}} for those)", key)

    def _check_rules(self, spec: LevelSpec, key: str) -> None:
        if not isinstance(spec.rules, list):
            raise self.error("rules is a list of {name:, when:, consecutive:}", f"{key}.rules")
        outcomes = [k for k in spec.consequences if k != "veto"]
        labels = [str(b[1]) for b in spec.grades["bands"]] if spec.grades else []
        for i, rule in enumerate(spec.rules):
            k = f"{key}.rules[{i}]"
            if not isinstance(rule, dict) or "name" not in rule or "when" not in rule:
                raise self.error("a rule needs name: and when:", k)
            self._known_keys(rule, SECTION_KEYS["rule"], k, "a rule")
            when = rule["when"]
            self._known_keys(when, SECTION_KEYS["when"], f"{k}.when", "when")
            if not when:
                raise self.error("when: needs outcome:, grade: or bottom:", f"{k}.when")
            for field_, known in (("outcome", outcomes), ("grade", labels)):
                if field_ in when:
                    wanted = when[field_] if isinstance(when[field_], list) else [when[field_]]
                    unknown = [str(w) for w in wanted if str(w) not in known]
                    if unknown:
                        raise self.error(f"unknown {field_}(s) {unknown}; this level has {known}",
                                         f"{k}.when.{field_}")
            if "bottom" in when:
                self._number(when["bottom"], f"{k}.when.bottom", low=1, integer=True)
            self._number(rule.get("consecutive", 1), f"{k}.consecutive", low=1, integer=True)

    def _check_schedule(self, spec: LevelSpec, key: str) -> None:
        if not isinstance(spec.schedule, dict):
            raise self.error("schedule is a mapping of indicator -> {expected:, ...}",
                             f"{key}.schedule")
        for code, rule in spec.schedule.items():
            k = f"{key}.schedule.{code}"
            self._known_keys(rule, SECTION_KEYS["schedule"], k, "a schedule entry")
            if not isinstance(rule.get("expected"), dict) or not rule["expected"]:
                raise self.error("a schedule entry needs expected: {Q1: ..., Q2: ...} (or {Y: ...})",
                                 f"{k}.expected")
            for tag, value in rule["expected"].items():
                self._number(value, f"{k}.expected.{tag}", low=0, open_low=True)
            for tag in rule["expected"]:
                if not _schedule_tag(tag):
                    raise self.error(f"schedule checkpoint {tag!r} must be Y (the year), Q1..Q4 "
                                     "or a month '01'..'12' (quoted)", f"{k}.expected.{tag}")
            if "flag_after" in rule:
                self._number(rule["flag_after"], f"{k}.flag_after", low=1, integer=True)
            yellow = self._number(rule.get("yellow_below", 1.0), f"{k}.yellow_below", low=0)
            red = self._number(rule.get("red_below", 0.9), f"{k}.red_below", low=0)
            if red > yellow:
                raise self.error(f"red_below ({red:g}) must not be above yellow_below ({yellow:g})",
                                 f"{k}.red_below")

    def _order_levels(self, parsed: dict[str, LevelSpec]) -> dict[str, LevelSpec]:
        deps: dict[str, set] = {}
        for level, spec in parsed.items():
            deps[level] = set()
            for n in spec.root.walk():
                src = (n.rollup or n.shared or {}).get("from")
                if src is not None:
                    if src not in parsed:
                        raise self.error(f"node refers to level {src!r}, which the scheme does not "
                                         f"assess; levels: {list(parsed)}",
                                         f"{n.path}.{'rollup' if n.rollup else 'shared'}.from")
                    deps[level].add(src)
            # a level reached by a linked consequence comes after the level that triggers it
            deps[level] |= {rule.source for rule, _ in spec.linked_from if rule.scheme is None}
        order: list[str] = []
        while len(order) < len(parsed):
            ready = [lv for lv in parsed if lv not in order and deps[lv] <= set(order)]
            if not ready:
                left = [lv for lv in parsed if lv not in order]
                cycle = _cycle(left, deps)
                raise self.error("levels roll up from (or link to) each other in a cycle: "
                                 + " → ".join(cycle) + "; a level can only use the scores of "
                                 "levels scored before it", f"levels.{cycle[0]}")
            order.extend(ready)
        return {lv: parsed[lv] for lv in order}

    # ------------------------------------------------------------------ variants
    def with_weights(self, weights: dict, level: str | None = None, note: str = "") -> Scheme:
        """A copy of the scheme with some node weights changed; the change is logged.

        Parameters
        ----------
        weights : dict
            ``{node_id: weight}``. Siblings not named keep their weights; the new weights of every
            touched sibling set must still sum to 1 (or the parent declares
            ``normalise_weights``) — otherwise a :class:`SchemeError` says which.
        level : str, optional
            Which level's tree; default the first level that has all the named nodes.
        note : str
            Why the change was made (recorded in the log).

        Returns
        -------
        Scheme
        """
        spec = copy.deepcopy(self.spec)
        level = level or next(
            (lv for lv, ls in self.levels.items() if set(weights) <= {n.id for n in ls.root.walk()}),
            None,
        )
        if level is None:
            raise SchemeError(f"no level of scheme {self.name!r} has all the nodes {sorted(weights)}")
        known = {n.id: n for n in self.levels[level].root.walk()}
        changes = []
        for nid, w in weights.items():
            if nid not in known or nid == "total":
                raise SchemeError(f"unknown node {nid!r} in level {level!r}; nodes: {sorted(known)}")
            target = _find_node_spec(node_specs(spec["levels"][level]), nid)
            old = target.get("weight")
            target["weight"] = float(w)
            changes.append({"node": nid, "old": old, "new": float(w)})
        entry = {"change": "with_weights", "level": level, "weights": changes, "note": note}
        return Scheme(spec, source=self.source, lines=self.lines, log=[*self.log, entry],
                      notices=self.notices)

    def without_nodes(self, nodes, level: str | None = None, note: str = "") -> Scheme:
        """A copy of the scheme with some nodes removed; the change is logged.

        The weights of the remaining siblings of each removed node are scaled up in proportion,
        so that they keep the sum the siblings had (1, unless the parent declares
        ``normalise_weights``): removing ``b`` from ``a=0.5, b=0.3, c=0.2`` gives ``a=5/7,
        c=2/7``. This is how a reduced indicator set is compared with the full one. A rater group of a
        review level keeps its place with weight 0 (its rating sheets are still read, and count
        for nothing).

        Parameters
        ----------
        nodes : iterable of str
            Node ids to remove (leaves or whole branches).
        level : str, optional
            Which level's tree; default the first level that has all the named nodes.
        note : str
            Why the nodes were removed (recorded in the log).

        Returns
        -------
        Scheme

        Raises
        ------
        SchemeError
            If a node is unknown, is the root, or is the last child of its parent.
        """
        nodes = [str(n) for n in nodes]
        level = level or next(
            (lv for lv, ls in self.levels.items() if set(nodes) <= {n.id for n in ls.root.walk()}),
            None,
        )
        if level is None:
            raise SchemeError(f"no level of scheme {self.name!r} has all the nodes {sorted(nodes)}")
        known = {n.id: n for n in self.levels[level].root.walk()}
        unknown = [n for n in nodes if n not in known or n == "total"]
        if unknown:
            raise SchemeError(f"cannot remove {unknown} from level {level!r}; nodes: "
                              f"{sorted(k for k in known if k != 'total')}")
        for other, ls in self.levels.items():  # a node another level shares cannot go alone
            for nd in ls.root.walk():
                if nd.shared and nd.shared.get("from") == level:
                    gone = {x.id for n in nodes for x in known[n].walk()}
                    if nd.shared.get("node") in gone:
                        raise SchemeError(
                            f"cannot remove {nd.shared['node']!r} from level {level!r}: level "
                            f"{other!r} shares it (node {nd.id!r}); remove {nd.id!r} there first")
        spec = copy.deepcopy(self.spec)
        body = spec["levels"][level]
        parents = {c.id: p for p in known.values() for c in p.children}
        changes = []
        for nid in nodes:
            parent = parents[nid]
            siblings = node_specs(body) if parent.id == "total" else \
                _find_node_spec(node_specs(body), parent.id)["children"]
            if nid not in siblings:
                continue  # inside a branch removed already
            if len(siblings) == 1:
                raise SchemeError(f"cannot remove {nid!r}: it is the only child of {parent.id!r}; "
                                  f"remove {parent.id!r} instead")
            declared = {str(k): float(s.get("weight", 0)) for k, s in siblings.items()}
            before = sum(declared.values())
            after = before - declared[nid]
            if after <= 0:
                raise SchemeError(f"cannot remove {nid!r}: its siblings under {parent.id!r} "
                                  "would have no weight left")
            if known[nid].kind == "rater_group":
                # the group's rating sheets stay in the data and must still be recognised: it
                # keeps its place with weight 0, so its ratings count for nothing
                removed = dict(siblings[nid])
                siblings[nid]["weight"] = 0.0
            else:
                removed = siblings.pop(nid)
            for key, sib in siblings.items():
                if key != nid:
                    sib["weight"] = float(sib.get("weight", 0)) * before / after
            _rescale_overrides(body, nid, declared, before / after)
            changes.append({"node": nid, "parent": parent.id, "weight": removed.get("weight")})
        entry = {"change": "without_nodes", "level": level, "removed": changes, "note": note}
        return Scheme(spec, source=self.source, lines=self.lines, log=[*self.log, entry],
                      notices=self.notices)

    @functools.cached_property
    def origin(self) -> str:
        """Where the scheme came from, without a machine's absolute path (for logs and reports).

        ``"built-in scheme sichuan-39"``, ``"file my-scheme.yaml"`` or ``"dict"``.
        """
        if not self.source or self.source.startswith("<"):
            return "dict"
        path = Path(self.source)
        if path.parent.resolve() == _builtin_folder():
            return f"built-in scheme {path.stem}"
        return f"file {path.name}"

    def weights(self, level: str | None = None) -> dict[str, float]:
        """``{node_id: weight}`` of one level's tree (the first level by default)."""
        spec = self.levels[level or next(iter(self.levels))]
        return {n.id: n.weight for n in spec.root.walk() if n.id != "total"}

    def to_yaml(self) -> str:
        """The scheme as YAML text (keys in the order written)."""
        return yaml.safe_dump(self.spec, allow_unicode=True, sort_keys=False)

    def __repr__(self) -> str:
        return f"Scheme({self.name!r}, levels={list(self.levels)}, changes={len(self.log)})"



def _schedule_tag(tag) -> bool:
    """Whether a schedule checkpoint is ``Y``, ``Q1``..``Q4`` or a month ``01``..``12``."""
    text = str(tag)
    return text == "Y" or text in {f"Q{q}" for q in range(1, 5)} or text in {
        f"{m:02d}" for m in range(1, 13)}


def _is_number(x) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def _cell_text(x) -> str:
    """A YAML value as the text a units-table cell holds (true -> "true", 1.0 -> "1")."""
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    return str(x)


def _as_list(x) -> list:
    return list(x) if isinstance(x, list | tuple) else [x]


def _short(key: str) -> str:
    """The name a person reads in a key path: ``ties.method``, ``weight``, ``range[0]``."""
    parts = key.split(".")
    keep = 2 if len(parts) > 1 and parts[-2] in ("ties", "combine", "grades", "units",
                                                 "coefficient", "ranking", "rollup", "shared",
                                                 "defaults") else 1
    return ".".join(parts[-keep:])


def _rescale_overrides(body: dict, removed: str, declared: dict, factor: float) -> None:
    """Drop a removed node from every unit's override weights and scale the unit's overridden
    siblings so that the unit's siblings keep their sum (the declared ones scale by ``factor``).
    """
    for ov in (body.get("overrides") or {}).values():
        weights = (ov or {}).get("weights") or {}
        if removed not in weights:
            continue
        unit_before = sum(float(weights.get(s, w)) for s, w in declared.items())
        weights.pop(removed)
        overridden = [s for s in declared if s != removed and s in weights]
        fixed = sum(declared[s] * factor for s in declared if s != removed and s not in weights)
        total = sum(float(weights[s]) for s in overridden)
        if total > 0:
            scale = (unit_before - fixed) / total
            for s in overridden:
                weights[s] = float(weights[s]) * scale


def _cycle(levels: list[str], deps: dict) -> list[str]:
    """One cycle among ``levels`` (each depends on another of them), as a path a → b → a."""
    path = [levels[0]]
    while True:
        nxt = sorted(d for d in deps[path[-1]] if d in levels)[0]
        if nxt in path:
            return path[path.index(nxt):] + [nxt]
        path.append(nxt)


def _find_node_spec(tree: dict, node_id: str) -> dict:
    for cid, cspec in tree.items():
        if str(cid) == node_id:
            return cspec
        if isinstance(cspec, dict) and isinstance(cspec.get("children"), dict):
            try:
                return _find_node_spec(cspec["children"], node_id)
            except KeyError:
                continue
    raise KeyError(node_id)


@functools.cache
def _builtin_folder() -> Path:
    return Path(str(resources.files("assesskit.scheme") / "builtin")).resolve()


def builtin_path(name: str) -> Path | None:
    """The file of a built-in scheme (``"sichuan-39"``), or None if ``name`` is not one."""
    if Path(name).suffix or name not in builtin_schemes():
        return None
    return _builtin_folder() / f"{name}.yaml"


def builtin_schemes() -> list[str]:
    """Names of the schemes shipped with assesskit."""
    folder = resources.files("assesskit.scheme") / "builtin"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


def load_scheme(name_or_path: str | Path | dict) -> Scheme:
    """Load a scheme: a built-in name (``"sichuan-39"``), a path to a YAML file, or a dict.

    Parameters
    ----------
    name_or_path : str, Path or dict
        Built-in scheme name (see :func:`builtin_schemes`), YAML file path, or the same
        structure as a Python dict.

    Returns
    -------
    Scheme

    Raises
    ------
    SchemeError
        Unknown name, unreadable file, malformed YAML or an inconsistent scheme; the message names
        the key and the YAML line.
    """
    if isinstance(name_or_path, dict):
        return Scheme(copy.deepcopy(name_or_path), source="<dict>")
    if isinstance(name_or_path, Scheme):
        return name_or_path
    text_name = str(name_or_path)
    path = Path(text_name)
    if not path.suffix and text_name in builtin_schemes():
        path = Path(str(resources.files("assesskit.scheme") / "builtin" / f"{text_name}.yaml"))
    if not path.exists():
        raise SchemeError(
            f"no scheme file {text_name!r} and no built-in scheme of that name; built-in: "
            f"{', '.join(builtin_schemes())}"
        )
    notices: list = []
    text = read_text(path, notices)
    spec, lines = parse_yaml(text, source=str(path))
    return Scheme(spec, source=str(path), lines=lines, notices=notices)
