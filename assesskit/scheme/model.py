"""Schemes as data: load a YAML file (or dict), check it, and expose it as a tree of nodes.

A scheme is a YAML file a policy researcher can read and edit; see ``docs/scheme-format.md`` for
the format with an annotated example. Loading uses ``yaml.safe_load`` semantics (a SafeLoader
subclass that only records line numbers) and never evaluates code. Every error names the key
path and the YAML line.

Alternative designs are made by changing the data: :meth:`Scheme.with_weights` returns a modified
copy and records the change in the copy's ``log``.
"""

from __future__ import annotations

import copy
import math
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from ..errors import SchemeError

SCORING_METHODS = {
    # method: parameters it accepts (besides method, direction)
    "minmax": {"within", "range"},
    "zscore": {"within", "offset", "scale"},
    "percentile": {"within"},
    "goalposts": {"min", "max", "log"},
    "target": {"target", "target_indicator", "cap"},
    "threshold": {"full_at", "per_unit", "floor"},
    "bands": {"cuts", "scores"},
    "passfail": {"threshold", "on_fail"},
    "value": {"min", "max"},
    "growth": {"change", "compare_to", "then"},
    "level_and_change": {"change", "compare_to", "level_share", "then"},
}
AGGREGATIONS = ("arithmetic", "geometric", "harmonic", "minimum")
MISSING_POLICIES = ("error", "renormalise", "impute_group_mean", "zero")
WITHIN = ("group", "subgroup", "pool")
WEIGHT_TOLERANCE = 1e-6
# Keys each section of a scheme accepts: anything else is refused with its line, so that a typo
# ("rankng:", "tops:") never silently drops a rule. Extend these when the engine learns a key.
TOP_KEYS = {"name", "title", "source", "description", "note", "frequency", "max_points",
            "assumptions", "defaults", "combine", "levels"}
DEFAULTS_KEYS = {"scoring", "missing", "aggregate"}
COMBINE_KEYS = {"method", "weights"}
LEVEL_KEYS = {"label", "note", "units", "max_points", "tree", "aggregate", "missing",
              "normalise_weights", "deductions", "coefficient", "overrides", "ranking",
              "consequences", "grades", "rules", "schedule"}
SECTION_KEYS = {
    "units": {"level", "where", "exclude_incomplete"},
    "ranking": {"group_by", "subgroup_by", "ties"},
    "ties": {"method", "decimals", "break_by", "at_quota"},
    "deduction": {"points", "cap", "per", "indicator", "label", "note"},
    "coefficient": {"indicator", "bands", "note"},
    "consequence": {"label", "top", "bottom", "grades"},
    "veto": {"score", "label"},
    "grades": {"by", "bands"},
    "rule": {"name", "label", "when", "consecutive"},
    "when": {"outcome", "grade", "bottom"},
    "schedule": {"expected", "yellow_below", "red_below", "label"},
}
TIE_METHODS = ("min", "average", "dense", "first")


# ---------------------------------------------------------------------- YAML with line numbers
class _LineLoader(yaml.SafeLoader):
    """SafeLoader that remembers the line of every mapping key (for error messages)."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode, deep: bool = False):
    mapping = {}
    lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if isinstance(key, int | float) and not isinstance(key, bool):
            key = str(key)  # unit ids such as 140502 are text
        if key in mapping:
            raise SchemeError(
                f"duplicate key {key!r}; each key may appear once in a mapping",
                line=key_node.start_mark.line + 1,
            )
        mapping[key] = loader.construct_object(value_node, deep=True)
        lines[key] = key_node.start_mark.line + 1
    return _Lines(mapping, lines)


class _Lines(dict):
    """A dict that also knows the line of each key."""

    def __init__(self, data, lines):
        super().__init__(data)
        self.lines = lines


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _collect_lines(obj: Any, prefix: str, out: dict[str, int]) -> Any:
    """Turn line-aware dicts into plain dicts, recording ``dotted.path -> line``."""
    if isinstance(obj, dict):
        plain = {}
        for k, v in obj.items():
            path = f"{prefix}.{k}" if prefix else str(k)
            if isinstance(obj, _Lines):
                out[path] = obj.lines[k]
            plain[k] = _collect_lines(v, path, out)
        return plain
    if isinstance(obj, list):
        return [_collect_lines(v, f"{prefix}[{i}]", out) for i, v in enumerate(obj)]
    return obj


def parse_yaml(text: str, source: str | None = None) -> tuple[dict, dict[str, int]]:
    """Parse scheme YAML safely; return the plain dict and a map of key path -> line."""
    try:
        raw = yaml.load(text, Loader=_LineLoader)  # noqa: S506 - _LineLoader is a SafeLoader
    except SchemeError as exc:
        raise SchemeError(str(exc).split(": ", 1)[-1], source=source, line=exc.line) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        problem = str(getattr(exc, "problem", exc))
        hint = ("a scheme is plain data: language tags such as !!python/... are refused and never run"
                if "constructor for the tag" in problem else "check indentation, colons and quotes")
        raise SchemeError(
            f"malformed YAML: {problem}; {hint}",
            source=source,
            line=line,
        ) from None
    if not isinstance(raw, dict):
        raise SchemeError("a scheme must be a YAML mapping (key: value lines)", source=source)
    lines: dict[str, int] = {}
    return _collect_lines(raw, "", lines), lines


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


class Scheme:
    """An assessment scheme: the plain-data spec, where it came from, and its change log.

    Build with :func:`load_scheme`. Attributes: ``spec`` (the plain dict), ``name``,
    ``source`` (file), ``log`` (list of changes made to the published scheme), ``levels``
    (``{level: LevelSpec}`` in evaluation order: levels that others roll up from come first).
    """

    def __init__(self, spec: dict, source: str | None = None, lines: dict | None = None,
                 log: list | None = None):
        self.spec = spec
        self.source = source
        self.lines = lines or {}
        self.log = list(log or [])
        self.name = str(spec.get("name", Path(source).stem if source else "scheme"))
        self.frequency = spec.get("frequency", "annual")
        if self.frequency not in ("annual", "quarterly", "monthly"):
            raise self.error("frequency must be annual, quarterly or monthly", "frequency")
        self._known_keys(spec, TOP_KEYS, "", "a scheme")
        self._known_keys(spec.get("defaults") or {}, DEFAULTS_KEYS, "defaults", "defaults")
        combine = spec.get("combine") or {}
        self._known_keys(combine, COMBINE_KEYS, "combine", "combine")
        if combine.get("method", "mean") != "mean":
            raise self.error("combine.method must be mean (a weighted mean of the sub-period "
                             "results, weights from combine.weights)", "combine.method")
        self.levels = self._parse_levels()

    # ------------------------------------------------------------------ errors
    def error(self, message: str, key: str) -> SchemeError:
        """A SchemeError for ``key`` (dotted path) with the YAML line of the nearest known key."""
        probe = key
        while probe and probe not in self.lines:
            if probe.endswith("]"):  # an item of a list (rules[0]): the list's own key
                probe = probe[:probe.rindex("[")]
            else:
                probe = probe.rsplit(".", 1)[0] if "." in probe else ""
        return SchemeError(message, key=key, source=self.source, line=self.lines.get(probe))

    def _known_keys(self, mapping: Any, allowed: set, key: str, what: str) -> None:
        """Refuse a section that is not a mapping or has a key the engine does not know."""
        if not isinstance(mapping, dict):
            raise self.error(f"{what} must be a mapping (key: value lines)", key)
        unknown = sorted(str(k) for k in set(mapping) - allowed)
        if unknown:
            raise self.error(f"unknown key(s) {unknown} in {what}; it takes {sorted(allowed)}",
                             f"{key}.{unknown[0]}" if key else unknown[0])

    def _check_level(self, level: str, body: dict) -> None:
        """Check the sections of one level beside its tree (keys, numbers, orders)."""
        key = f"levels.{level}"
        self._known_keys(body, LEVEL_KEYS, key, "a level")
        self._known_keys(body.get("units") or {}, SECTION_KEYS["units"], f"{key}.units", "units")
        ranking = body.get("ranking") or {}
        self._known_keys(ranking, SECTION_KEYS["ranking"], f"{key}.ranking", "ranking")
        ties = ranking.get("ties") or {}
        self._known_keys(ties, SECTION_KEYS["ties"], f"{key}.ranking.ties", "ties")
        if ties.get("method", "min") not in TIE_METHODS:
            raise self.error(f"ties.method must be one of {TIE_METHODS}", f"{key}.ranking.ties.method")
        if ties.get("at_quota", "include") not in ("include", "exclude"):
            raise self.error("ties.at_quota must be include or exclude", f"{key}.ranking.ties.at_quota")
        for item, rule in (body.get("deductions") or {}).items():
            k = f"{key}.deductions.{item}"
            if item == "total_cap":
                if not _is_number(rule) or rule < 0:
                    raise self.error("total_cap must be a non-negative number of points", k)
                continue
            self._known_keys(rule, SECTION_KEYS["deduction"], k, "a deduction")
            if not _is_number(rule.get("points")) or rule["points"] < 0:
                raise self.error("a deduction needs points: (points per unit of the indicator, >= 0)",
                                 f"{k}.points")
            if "cap" in rule and (not _is_number(rule["cap"]) or rule["cap"] < 0):
                raise self.error("cap must be a non-negative number of points", f"{k}.cap")
            if rule.get("per", "unit") not in ("unit", "increase"):
                raise self.error("per must be unit or increase", f"{k}.per")
        coef = body.get("coefficient")
        if coef is not None:
            k = f"{key}.coefficient"
            self._known_keys(coef, SECTION_KEYS["coefficient"], k, "coefficient")
            bands = coef.get("bands")
            if "indicator" not in coef or not isinstance(bands, list) or not bands or not all(
                    isinstance(b, list) and len(b) == 2 and _is_number(b[0]) and _is_number(b[1])
                    for b in bands):
                raise self.error("coefficient needs indicator: and bands: [[threshold, coefficient], "
                                 "...] (e.g. [[0, 1.0], [2, 1.02]])", k)
            if any(a[0] >= b[0] for a, b in zip(bands, bands[1:], strict=False)):
                raise self.error("coefficient bands must be in increasing order of threshold",
                                 f"{k}.bands")
        for name, cons in (body.get("consequences") or {}).items():
            k = f"{key}.consequences.{name}"
            if name == "veto":
                self._known_keys(cons or {}, SECTION_KEYS["veto"], k, "veto")
                continue
            self._known_keys(cons, SECTION_KEYS["consequence"], k, "a consequence")
            if not set(cons) & {"top", "bottom", "grades"}:
                raise self.error("a consequence needs top:, bottom: or grades:", k)
        grades = body.get("grades")
        if grades is not None:
            self._known_keys(grades, SECTION_KEYS["grades"], f"{key}.grades", "grades")
            if grades.get("by", "score") not in ("score", "share"):
                raise self.error("grades.by must be score or share", f"{key}.grades.by")
            bands = grades.get("bands")
            if not isinstance(bands, list) or not bands or not all(
                    isinstance(b, list) and len(b) == 2 and _is_number(b[0]) for b in bands):
                raise self.error("grades need bands: [[threshold, label], ...], best grade first",
                                 f"{key}.grades.bands")
        rules = body.get("rules") or []
        if not isinstance(rules, list):
            raise self.error("rules is a list of {name:, when:, consecutive:}", f"{key}.rules")
        for i, rule in enumerate(rules):
            k = f"{key}.rules[{i}]"
            if not isinstance(rule, dict) or "name" not in rule or "when" not in rule:
                raise self.error("a rule needs name: and when:", k)
            self._known_keys(rule, SECTION_KEYS["rule"], k, "a rule")
            self._known_keys(rule["when"], SECTION_KEYS["when"], f"{k}.when", "when")
        for code, rule in (body.get("schedule") or {}).items():
            k = f"{key}.schedule.{code}"
            self._known_keys(rule, SECTION_KEYS["schedule"], k, "a schedule entry")
            if not isinstance(rule.get("expected"), dict):
                raise self.error("a schedule entry needs expected: {Q1: ..., Q2: ...} (or {Y: ...})",
                                 f"{k}.expected")

    def where(self, key: str) -> str:
        """Where ``key`` is written, for messages about data: ``"file, line N, key 'k'"``."""
        err = self.error("", key)
        parts = [str(err.source)] if err.source else []
        return ", ".join(parts + ([f"line {err.line}"] if err.line else []) + [f"key {key!r}"])

    @contextmanager
    def located(self):
        """Add this scheme's file and YAML line to a :class:`SchemeError` raised inside the block.

        The engine and the ranking code raise errors that name the key (``levels.county.tree.x
        .indicator``) but do not know the file; evaluating inside ``with scheme.located():`` makes
        every such message name the file and the line as well.
        """
        try:
            yield
        except SchemeError as exc:
            if exc.line is not None or exc.source or not exc.key:
                raise
            text, prefix = str(exc), f"key {exc.key!r}: "
            raise self.error(text[len(prefix):] if text.startswith(prefix) else text, exc.key) from None

    # ------------------------------------------------------------------ parsing
    def _parse_levels(self) -> dict[str, LevelSpec]:
        levels = self.spec.get("levels")
        if not isinstance(levels, dict) or not levels:
            raise self.error("a scheme needs 'levels:' with at least one assessed level", "levels")
        defaults = self.spec.get("defaults", {}) or {}
        parsed = {}
        for level, body in levels.items():
            key = f"levels.{level}"
            if not isinstance(body, dict) or "tree" not in body:
                raise self.error("each level needs a 'tree:' of nodes", key)
            self._check_level(level, body)
            root_spec = {
                "children": body["tree"],
                "aggregate": body.get("aggregate", defaults.get("aggregate", "arithmetic")),
                "missing": body.get("missing", defaults.get("missing", "renormalise")),
                "normalise_weights": body.get("normalise_weights", False),
                "label": body.get("label", level),
            }
            root = self._parse_node("total", root_spec, f"{key}.tree", defaults, is_root=True)
            ids = [n.id for n in root.walk()]
            dup = {i for i in ids if ids.count(i) > 1}
            if dup:
                raise self.error(f"node ids must be unique within a level; repeated: {sorted(dup)}",
                                 f"{key}.tree")
            parsed[level] = LevelSpec(
                level=level,
                label=str(body.get("label", level)),
                root=root,
                max_points=float(body.get("max_points", self.spec.get("max_points", 100))),
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
            self._check_overrides(parsed[level], key)
        return self._order_levels(parsed)

    def _parse_node(self, node_id: str, spec: Any, path: str, defaults: dict,
                    is_root: bool = False) -> Node:
        if spec is None:
            spec = {}
        if not isinstance(spec, dict):
            raise self.error("a node must be a mapping (weight:, children: or scoring: ...)", path)
        allowed = {"label", "weight", "children", "aggregate", "missing", "normalise_weights",
                   "indicator", "scoring", "direction", "applies_to", "rollup", "shared", "note"}
        unknown = set(spec) - allowed
        if unknown:
            raise self.error(f"unknown key(s) {sorted(unknown)}; a node takes {sorted(allowed)}",
                             f"{path}.{sorted(unknown)[0]}")
        weight = spec.get("weight", 1.0 if is_root else None)
        if weight is None:
            raise self.error("every node needs a weight (its share of the parent)", f"{path}.weight")
        if not isinstance(weight, int | float) or isinstance(weight, bool) or weight < 0 \
                or not math.isfinite(weight):
            raise self.error(f"weight must be a non-negative number, not {weight!r}", f"{path}.weight")
        aggregate = spec.get("aggregate", defaults.get("aggregate", "arithmetic"))
        if aggregate not in AGGREGATIONS:
            raise self.error(f"aggregate must be one of {AGGREGATIONS}", f"{path}.aggregate")
        missing = spec.get("missing", defaults.get("missing", "renormalise"))
        if missing not in MISSING_POLICIES:
            raise self.error(f"missing must be one of {MISSING_POLICIES}", f"{path}.missing")
        node = Node(id=node_id, path=path, kind="group", weight=float(weight),
                    label=str(spec.get("label", "")), aggregate=aggregate, missing=missing,
                    normalise_weights=bool(spec.get("normalise_weights", False)))
        if spec.get("applies_to") is not None:
            node.applies_to = [str(u) for u in spec["applies_to"]]
        if "children" in spec:
            children = spec["children"]
            if not isinstance(children, dict) or not children:
                raise self.error("children must be a non-empty mapping of node id -> node",
                                 f"{path}.children")
            node.children = [
                self._parse_node(str(cid), cspec, f"{path}.children.{cid}" if not is_root else f"{path}.{cid}",
                                 defaults)
                for cid, cspec in children.items()
            ]
            self._check_weights(node)
        elif "rollup" in spec:
            node.kind, node.rollup = "rollup", dict(spec["rollup"])
            if "from" not in node.rollup:
                raise self.error("rollup needs 'from:' (the level whose scores are averaged)",
                                 f"{path}.rollup")
            node.rollup.setdefault("stat", "mean")
            if node.rollup["stat"] not in ("mean", "median", "min", "max"):
                raise self.error("rollup stat must be mean, median, min or max", f"{path}.rollup.stat")
        elif "shared" in spec:
            node.kind, node.shared = "shared", dict(spec["shared"])
            for req in ("from", "lead"):
                if req not in node.shared:
                    raise self.error(f"shared needs '{req}:'", f"{path}.shared.{req}")
            node.shared.setdefault("node", node_id)
            node.shared.setdefault("related", [])
            node.shared.setdefault("lead_share", 0.8)
            node.shared.setdefault("related_share", 0.2)
            node.shared["lead"] = [str(u) for u in _as_list(node.shared["lead"])]
            node.shared["related"] = [str(u) for u in _as_list(node.shared["related"])]
        else:
            node.kind = "leaf"
            node.indicator = str(spec.get("indicator", node_id))
            node.direction = spec.get("direction")
            if node.direction not in (None, "higher", "lower"):
                raise self.error("direction must be higher or lower", f"{path}.direction")
            node.scoring = self._parse_scoring(spec.get("scoring"), f"{path}.scoring", defaults)
        return node

    def _parse_scoring(self, scoring: Any, path: str, defaults: dict) -> dict:
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
        if base.get("within", "group") not in WITHIN:
            raise self.error(f"within must be one of {WITHIN}", f"{path}.within")
        required = {"goalposts": ("min", "max"), "threshold": ("full_at", "per_unit"),
                    "bands": ("cuts", "scores"), "passfail": ("threshold",)}
        for req in required.get(method, ()):
            if req not in base:
                raise self.error(f"scoring method {method!r} needs '{req}:'", f"{path}.{req}")
        if method == "target" and "target" not in base and "target_indicator" not in base:
            raise self.error("scoring method 'target' needs 'target:' or 'target_indicator:'", path)
        if method == "bands" and len(base["scores"]) != len(base["cuts"]) + 1:
            raise self.error("bands need one more score than cuts (the score below the last cut)",
                             f"{path}.scores")
        if method == "passfail" and base.setdefault("on_fail", "zero") not in ("zero", "veto"):
            raise self.error("on_fail must be zero or veto", f"{path}.on_fail")
        if method in ("growth", "level_and_change"):
            base.setdefault("change", "growth")
            base.setdefault("compare_to", "previous")
            if base["change"] not in ("growth", "difference"):
                raise self.error("change must be growth or difference", f"{path}.change")
            if base["compare_to"] not in ("previous", "same_period_last_year"):
                raise self.error("compare_to must be previous or same_period_last_year",
                                 f"{path}.compare_to")
            # The change (and level) part is scored by `then:`; default: the scheme's default
            # plain rule, so "X and its growth" is scored on the same scale as the other leaves.
            fallback = defaults.get("scoring") or {}
            if fallback.get("method") in (None, "growth", "level_and_change"):
                fallback = {"method": "minmax", "within": "group", "range": [0, 100]}
            inner = base.get("then", fallback)
            base["then"] = self._parse_scoring(inner, f"{path}.then", {"scoring": inner})
            if base["then"]["method"] in ("growth", "level_and_change"):
                raise self.error("'then' must be a plain scoring rule", f"{path}.then.method")
            if method == "level_and_change":
                share = base.setdefault("level_share", 0.5)
                if not 0 <= share <= 1:
                    raise self.error("level_share must be between 0 and 1", f"{path}.level_share")
        if method == "minmax":
            rng = base.setdefault("range", [0, 100])
            if not (isinstance(rng, list) and len(rng) == 2 and rng[0] < rng[1]):
                raise self.error("range must be [low, high] with low < high, e.g. [60, 100]",
                                 f"{path}.range")
        return base

    def _check_weights(self, node: Node) -> None:
        total = sum(c.weight for c in node.children if c.applies_to is None)
        if node.normalise_weights:
            if total <= 0 and not any(c.applies_to for c in node.children):
                raise self.error("weights of the children are all zero", f"{node.path}")
            return
        if any(c.applies_to is not None for c in node.children):
            return  # checked per unit at evaluation (unit-specific children)
        if abs(total - 1.0) > WEIGHT_TOLERANCE:
            listing = ", ".join(f"{c.id}={c.weight:g}" for c in node.children)
            key = node.children[0].path.rsplit(".", 1)[0] if node.children else node.path
            raise self.error(
                f"weights of the children of {node.id!r} sum to {total:.6g}, not 1 ({listing}); "
                "fix them or declare 'normalise_weights: true' on the parent to use them as "
                "relative weights", key)

    def _check_overrides(self, spec: LevelSpec, key: str) -> None:
        nodes = {n.id: n for n in spec.root.walk()}
        for unit, ov in spec.overrides.items():
            if not isinstance(ov, dict):
                raise self.error("an override is a mapping (weights:, coefficient:)", f"{key}.overrides.{unit}")
            for nid in (ov.get("weights") or {}):
                if nid not in nodes or nid == "total":
                    raise self.error(f"override names unknown node {nid!r}; nodes: {sorted(nodes)}",
                                     f"{key}.overrides.{unit}.weights.{nid}")

    def _order_levels(self, parsed: dict[str, LevelSpec]) -> dict[str, LevelSpec]:
        deps = {}
        for level, spec in parsed.items():
            deps[level] = set()
            for n in spec.root.walk():
                src = (n.rollup or n.shared or {}).get("from")
                if src is not None:
                    if src not in parsed:
                        raise self.error(f"node refers to level {src!r}, which the scheme does not assess",
                                         f"{n.path}.{'rollup' if n.rollup else 'shared'}.from")
                    deps[level].add(src)
        order: list[str] = []
        while len(order) < len(parsed):
            ready = [lv for lv in parsed if lv not in order and deps[lv] <= set(order)]
            if not ready:
                raise self.error("levels roll up from each other in a cycle", "levels")
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
            target = _find_node_spec(spec["levels"][level]["tree"], nid)
            old = target.get("weight")
            target["weight"] = float(w)
            changes.append({"node": nid, "old": old, "new": float(w)})
        entry = {"change": "with_weights", "level": level, "weights": changes, "note": note}
        return Scheme(spec, source=self.source, lines=self.lines, log=[*self.log, entry])

    def without_nodes(self, nodes, level: str | None = None, note: str = "") -> Scheme:
        """A copy of the scheme with some nodes removed; the change is logged.

        The weights of the remaining siblings of each removed node are scaled up in proportion,
        so that they keep the sum the siblings had (1, unless the parent declares
        ``normalise_weights``): removing ``b`` from ``a=0.5, b=0.3, c=0.2`` gives ``a=5/7,
        c=2/7``. This is how a reduced indicator set is compared with the full one.

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
        spec = copy.deepcopy(self.spec)
        parents = {c.id: p for p in known.values() for c in p.children}
        changes = []
        for nid in nodes:
            parent = parents[nid]
            siblings = spec["levels"][level]["tree"] if parent.id == "total" else \
                _find_node_spec(spec["levels"][level]["tree"], parent.id)["children"]
            if nid not in siblings:
                continue  # inside a branch removed already
            if len(siblings) == 1:
                raise SchemeError(f"cannot remove {nid!r}: it is the only child of {parent.id!r}; "
                                  f"remove {parent.id!r} instead")
            before = sum(float(s.get("weight", 0)) for s in siblings.values())
            removed = siblings.pop(nid)
            after = before - float(removed.get("weight", 0))
            if after <= 0:
                raise SchemeError(f"cannot remove {nid!r}: its siblings under {parent.id!r} "
                                  "would have no weight left")
            for sib in siblings.values():
                sib["weight"] = float(sib.get("weight", 0)) * before / after
            changes.append({"node": nid, "parent": parent.id, "weight": removed.get("weight")})
        entry = {"change": "without_nodes", "level": level, "removed": changes, "note": note}
        return Scheme(spec, source=self.source, lines=self.lines, log=[*self.log, entry])

    @property
    def origin(self) -> str:
        """Where the scheme came from, without a machine's absolute path (for logs and reports).

        ``"built-in scheme sichuan-39"``, ``"file my-scheme.yaml"`` or ``"dict"``.
        """
        if not self.source or self.source.startswith("<"):
            return "dict"
        path = Path(self.source)
        builtin = Path(str(resources.files("assesskit.scheme") / "builtin"))
        if path.parent.resolve() == builtin.resolve():
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


def _is_number(x) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def _as_list(x) -> list:
    return list(x) if isinstance(x, list | tuple) else [x]


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
    text_name = str(name_or_path)
    path = Path(text_name)
    if not path.suffix and text_name in builtin_schemes():
        path = Path(str(resources.files("assesskit.scheme") / "builtin" / f"{text_name}.yaml"))
    if not path.exists():
        raise SchemeError(
            f"no scheme file {text_name!r} and no built-in scheme of that name; built-in: "
            f"{', '.join(builtin_schemes())}"
        )
    text = path.read_text(encoding="utf-8")
    spec, lines = parse_yaml(text, source=str(path))
    return Scheme(spec, source=str(path), lines=lines)
