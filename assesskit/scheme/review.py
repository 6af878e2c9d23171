"""Keys of a level beyond a tree of indicators: ``review:``, ``musts:`` and ``linked:``.

Seed 002 describes two procedures a tree of weighted indicators cannot express:

``review:`` (Yingshan's "双述双评" of village first secretaries)
    the level is scored from rating sheets: ``k`` of the rated units are drawn at random to report
    at the plenary, the others report in their group's session; rater groups grade every reporter
    on several aspects; the grades become points, the points a score (see
    :mod:`assesskit.engine.ratings`). A level has either ``tree:`` or ``review:``.
``musts:`` (Jiange's "五个必须")
    pass/fail constraints, each a set of checks on indicator values, whose failure vetoes the unit
    (一票否决) or deducts points from its total.
``linked:``
    a consequence of a unit's grade (or outcome, or veto) that reaches a *linked* unit assessed by
    another level: points deducted from its total, its grade capped, or a flag with a label (a
    first secretary graded 不称职: the sending unit loses target-assessment points, its leadership
    team cannot be graded 好, its principal is barred from awards that year). The other level is
    of the same scheme, or of another scheme file (``scheme:`` of the rule); that scheme's level
    then lists the rule in ``linked_from:`` (``[{scheme:, rule:}]``), and loading it loads the
    source scheme (:attr:`~assesskit.scheme.model.Scheme.linked_schemes`), refusing a cycle.

Everything here is checked once, at load, by :class:`~assesskit.scheme.model.Scheme` (through
the :class:`ReviewKeys` mixin): every error names the key and the YAML line. The parsed specs
(:class:`ReviewSpec`, :class:`MustsSpec`, :class:`LinkedRule`) are plain frozen data the engine
reads; the engine parses nothing. ``docs/scheme-format.md`` documents every key.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

#: Which sessions a rater group attends (rates): ``all`` every session; ``plenary_and_own`` the
#: plenary and the session of the group of the rater's own unit (a township leader); ``own`` only
#: the session the rater's own unit reported in (a fellow secretary).
ATTENDS = ("all", "plenary_and_own", "own")

#: What happens when an expected rating sheet is absent or lacks an aspect: ``renormalise`` —
#: the mean is taken over the sheets (aspects) present, a rater group without any sheet for a
#: ratee is left out and the other group weights re-normalised (each case a notice); ``error`` —
#: a DataError listing every missing sheet.
MISSING_SHEET_POLICIES = ("renormalise", "error")
IDENTICAL_RATER_POLICIES = ("flag", "exclude")
#: A must whose indicator has no value: ``error`` (a DataError) or ``fail`` (the check fails,
#: a notice says so).
MUST_MISSING_POLICIES = ("error", "fail")
#: Effects of a linked consequence with a meaning of their own; any other effect key is a flag.
LINKED_EFFECTS = ("cap_grade", "deduct")
PLENARY = "plenary"

REVIEW_KEYS = {"draw", "points", "aspects", "rater_groups", "exclude_self", "missing_sheet",
               "identical_raters", "note"}
DRAW_KEYS = {"k", "seed", "session_by", "note"}
ASPECT_KEYS = {"label", "weight", "note"}
RATER_GROUP_KEYS = {"label", "weight", "attends", "note"}
MUST_KEYS = {"label", "checks", "on_fail", "note"}
CHECK_KEYS = {"indicator", "at_least", "at_most", "label", "note"}
LINKED_KEYS = {"when", "via", "level", "scheme", "effects", "label", "note"}
LINKED_FROM_KEYS = {"scheme", "rule", "note"}
WHEN_KEYS = {"grades", "outcome", "vetoed"}
EFFECT_KEYS = {"cap_grade": {"best", "label", "note"}, "deduct": {"points", "cap", "label", "note"},
               "flag": {"label", "note"}}
#: The keys of a level scored by a review: no tree, so none of the tree's keys (aggregation,
#: missing values of nodes, overrides, coefficients, negative lists, schedules).
REVIEW_LEVEL_KEYS = {"label", "note", "units", "max_points", "review", "ranking", "consequences",
                     "grades", "rules", "musts", "linked", "linked_from"}
WEIGHT_TOLERANCE = 1e-6


# ============================================================================ parsed specs
@dataclass(frozen=True)
class ReviewSpec:
    """A rater-based review (the ``review:`` block of a level, with the level's grade bands).

    Attributes
    ----------
    level : str
        Dataset level of the rated units (``units.level`` of the scheme level, e.g. ``official``).
    points : dict
        Grade -> points (a score out of 100), best grade first (``{好: 100, 较好: 80, …}``).
    aspects : dict
        Aspect code -> ``{"label", "weight"}``; the weights sum to 1.
    rater_groups : dict
        Group key -> ``{"label", "weight", "attends"}``; the weights sum to 1.
    draw_k, draw_seed : int
        How many rated units are drawn to report at the plenary, and the seed of the draw.
    session_by : str
        Units column naming the group session of a rated unit that is not drawn.
    exclude_self : bool
        A rater's sheet on their own unit is left out.
    missing_sheet, identical_raters : str
        Policies (:data:`MISSING_SHEET_POLICIES`, :data:`IDENTICAL_RATER_POLICIES`).
    grades : tuple of (float, str)
        The level's grade bands ``(threshold, label)``, best first, by score (empty if none).
    max_points : float
        The level's points of a full score: a unit's total is its review score (0–100)
        × ``max_points / 100``, and the grade thresholds apply to the total.
    source : str or None
        Scheme file name, for messages.
    key : str
        Dotted key of the block (``levels.secretary.review``).
    located : dict
        Sub-key (``"draw.k"``, ``"points"`` …) -> where it is written (file, line, key), for
        errors found when the review meets the data.
    """

    level: str
    points: dict
    aspects: dict
    rater_groups: dict
    draw_k: int
    draw_seed: int
    session_by: str = "group"
    exclude_self: bool = True
    missing_sheet: str = "renormalise"
    identical_raters: str = "flag"
    grades: tuple = ()
    max_points: float = 100.0
    source: str | None = None
    key: str = "review"
    located: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def score_range(self) -> tuple[float, float]:
        """Lowest and highest score a ratee can get: the points of the worst and best grade."""
        p = list(self.points.values())
        return float(min(p)), float(max(p))

    def where(self, sub: str) -> str:
        """Where a sub-key of the block is written: ``"s.yaml, line 12, key '…draw.k'"``."""
        return self.located.get(sub, f"key {self.key}.{sub!r}")


@dataclass(frozen=True)
class MustCheck:
    """One check of a must: ``indicator >= threshold`` (``at_least``) or ``<=`` (``at_most``)."""

    must: str
    number: int  # 1-based within the must
    indicator: str
    op: str  # ">=" or "<="
    threshold: float
    label: str
    key: str


@dataclass(frozen=True)
class Must:
    """A pass/fail constraint: all its checks must pass; failing vetoes or deducts."""

    key: str
    label: str
    checks: tuple
    veto: bool
    deduct: float
    path: str

    @property
    def consequence(self) -> str:
        return "veto 一票否决" if self.veto else f"deduct {self.deduct:g} points"


@dataclass(frozen=True)
class MustsSpec:
    """The ``musts:`` of a level: the musts in the order written and the missing-value policy."""

    musts: dict  # key -> Must
    missing: str = "error"
    key: str = "musts"
    located: str = ""

    @property
    def checks(self) -> tuple:
        """Every check of every must, in order."""
        return tuple(c for m in self.musts.values() for c in m.checks)


@dataclass(frozen=True)
class LinkedEffect:
    """One effect of a linked consequence on the linked unit."""

    key: str
    kind: str  # "cap_grade", "deduct" or "flag"
    label: str
    best: str | None = None  # cap_grade: the best grade the linked unit can get
    points: float = 0.0  # deduct: points per triggering unit
    cap: float | None = None  # deduct: at most this many points per linked unit


@dataclass(frozen=True)
class LinkedRule:
    """A consequence on one level's unit that reaches a linked unit of another level.

    ``when`` is ``("grades", labels)``, ``("outcome", consequence keys)`` or
    ``("vetoed", ())``; the linked unit is the value of the units column ``via`` of the
    triggering unit, assessed by level ``level`` of the same scheme — or, with ``scheme`` (a
    built-in name or a path relative to the file of ``source_scheme``), of that scheme.
    """

    key: str
    source: str
    label: str
    when: tuple
    via: str
    level: str
    effects: tuple
    path: str
    located: str = ""
    scheme: str | None = None  # the scheme file the rule reaches (None: this scheme)
    source_scheme: str = ""  # name of the scheme the rule is written in

    @property
    def upstream_key(self):
        """Key of the triggering level's result among the results a level is scored with: the
        level name, or ``(source scheme, level)`` for a rule from another scheme file."""
        return self.source if self.scheme is None else (self.source_scheme, self.source)

    def where_from(self) -> str:
        """``"level 'secretary'"`` or ``"level 'secretary' of scheme 'yingshan-…'"``."""
        return f"level {self.source!r}" + (f" of scheme {self.source_scheme!r}"
                                           if self.scheme is not None else "")

    def effect(self, kind: str) -> LinkedEffect | None:
        return next((e for e in self.effects if e.kind == kind), None)

    def describe_when(self) -> str:
        kind, values = self.when
        if kind == "vetoed":
            return "vetoed"
        return ("graded " if kind == "grades" else "received ") + " or ".join(values)


def node_specs(body: dict) -> dict:
    """The node mapping of a level as written: its ``tree:``, or for a level scored by a review
    the ``review.rater_groups`` (the rater groups are the nodes under its total), so that
    ``with_weights`` and ``without_nodes`` change rater-group weights like any node's."""
    return body["tree"] if "tree" in body else body["review"]["rater_groups"]


def empty_grade(bands, lo: float, hi: float) -> tuple[str, str] | None:
    """The first grade that no score in ``[lo, hi]`` can reach, and why; None if every can.

    Parameters
    ----------
    bands : sequence of (threshold, label)
        Best first, thresholds decreasing; the last band catches every lower score.
    lo, hi : float
        Lowest and highest possible score.

    Returns
    -------
    (label, reason) or None

    Notes
    -----
    The best grade needs ``t_0 <= hi``; grade ``j`` (not the last) covers ``[t_j, t_{j-1})`` and
    needs ``t_{j-1} > lo``; the last grade covers scores below ``t_{m-2}`` and needs
    ``t_{m-2} > lo``.

    Examples
    --------
    >>> empty_grade([(90, "优秀"), (70, "称职"), (30, "基本称职"), (0, "不称职")], 40, 100)[0]
    '不称职'
    >>> empty_grade([(90, "优秀"), (70, "称职"), (60, "基本称职"), (0, "不称职")], 40, 100)
    """
    cuts = [float(b[0]) for b in bands]
    labels = [str(b[1]) for b in bands]
    if cuts[0] > hi:
        return labels[0], f"its threshold {cuts[0]:g} is above the highest possible score {hi:g}"
    for j in range(1, len(cuts) - 1):
        if cuts[j - 1] <= lo:
            return labels[j], (f"the grade above it already covers every score down to the "
                               f"lowest possible score {lo:g} (threshold {cuts[j - 1]:g})")
    if len(cuts) > 1 and cuts[-2] <= lo:
        return labels[-1], (f"the threshold of {labels[-2]!r} ({cuts[-2]:g}) is at or below the "
                            f"lowest possible score {lo:g}, so no score falls below it")
    return None


# ============================================================================ the checks
class ReviewKeys:
    """Parsing and checking of ``review:``, ``musts:`` and ``linked:`` (a mixin of Scheme).

    Uses the Scheme's located errors and typed-value checks (``error``, ``_number``, ``_text``,
    ``_flag``, ``_enum``, ``_known_keys``), so every message names the key and its YAML line.
    """

    # ------------------------------------------------------------------ a level with review:
    def _review_level(self, level: str, body: dict, key: str):
        """The LevelSpec of a level scored by a rater-based review (no tree)."""
        from .model import LevelSpec, Node  # model imports this module; no cycle at call time

        if "tree" in body:
            raise self.error("a level is scored either by a tree: of indicators or by a review: "
                             "of rating sheets, not both; remove one of them", f"{key}.review")
        self._known_keys(body, REVIEW_LEVEL_KEYS, key, "a level scored by a review")
        max_points = self._number(body.get("max_points", self.spec.get("max_points", 100)),
                                  f"{key}.max_points", low=0, open_low=True)
        units = body.get("units", {}) or {}
        review = self._parse_review(body["review"], f"{key}.review",
                                    str(units.get("level", level)) if isinstance(units, dict)
                                    else level)
        label = self._text(body.get("label", level), f"{key}.label")
        groups = [Node(id=g, path=f"{key}.review.rater_groups.{g}", kind="rater_group",
                       weight=body_g["weight"], label=body_g["label"])
                  for g, body_g in review.rater_groups.items()]
        root = Node(id="total", path=f"{key}.review", kind="group", weight=1.0, label=label,
                    children=groups)
        spec = LevelSpec(level=level, label=label, root=root, max_points=max_points, units=units,
                         deductions={}, coefficient=None, overrides={},
                         ranking=body.get("ranking", {}) or {},
                         consequences=body.get("consequences", {}) or {},
                         grades=body.get("grades"), rules=body.get("rules", []) or [],
                         schedule={}, review=review)
        self._check_units(spec, key)
        self._check_ranking(spec, key)
        self._check_grades(spec, key)
        self._check_consequences(spec, key)
        self._check_rules(spec, key)
        if spec.grades:
            spec.review = replace(review, grades=self._review_grades(spec, review, key))
        spec.review = replace(spec.review, max_points=max_points)
        self._check_level_extras(spec, body, key)
        return spec

    def _require(self, body: dict, names, key: str, message: str) -> None:
        """A located error for the first of ``names`` that ``body`` lacks (``message`` names it
        as ``{name}``)."""
        for name in names:
            if name not in body:
                raise self.error(message.format(name=name), f"{key}.{name}")

    def _parse_review(self, body: Any, key: str, level: str) -> ReviewSpec:
        self._known_keys(body, REVIEW_KEYS, key, "a review")
        self._require(body, ("draw", "points", "aspects", "rater_groups"), key,
                      "a review needs {name}: (see docs/scheme-format.md, rater-based reviews)")
        draw = body["draw"]
        self._known_keys(draw, DRAW_KEYS, f"{key}.draw", "draw")
        self._require(draw, ("k", "seed"), f"{key}.draw", "the draw needs {name}: (k: how many "
                      "report at the plenary; seed: the seed of the random draw)")
        k = self._number(draw["k"], f"{key}.draw.k", low=1, integer=True)
        seed = self._number(draw["seed"], f"{key}.draw.seed", low=0, integer=True)
        session_by = self._text(draw.get("session_by", "group"), f"{key}.draw.session_by")

        points = body["points"]
        self._known_keys(points, set(points) if isinstance(points, dict) else set(),
                         f"{key}.points", "points")
        if len(points) < 2:
            raise self.error("give the points of at least two grades, best first (e.g. {好: "
                             "100, 较好: 80, 一般: 60, 差: 40})", f"{key}.points")
        pts = {str(g): self._number(v, f"{key}.points.{g}", low=0, high=100)
               for g, v in points.items()}
        values = list(pts.values())
        if any(a <= b for a, b in zip(values, values[1:], strict=False)):
            raise self.error(f"points per grade must decrease, best grade first, not {pts}",
                             f"{key}.points")

        aspects = self._weighted_parts(body["aspects"], f"{key}.aspects", "aspect",
                                       ASPECT_KEYS, bare_weight=True)
        groups = self._weighted_parts(body["rater_groups"], f"{key}.rater_groups",
                                      "rater group", RATER_GROUP_KEYS, bare_weight=False)
        for g, part in groups.items():
            if g == "total":
                raise self.error("'total' names the level's score; call the rater group "
                                 "otherwise", f"{key}.rater_groups.{g}")
            raw = body["rater_groups"][g]
            part["attends"] = self._enum(raw.get("attends", "all"),
                                         f"{key}.rater_groups.{g}.attends", ATTENDS)
        located = {sub: self.where(f"{key}.{sub}") for sub in
                   ("draw.k", "draw.seed", "draw.session_by", "points", "aspects",
                    "rater_groups", "missing_sheet")}
        return ReviewSpec(
            level=level, points=pts, aspects=aspects, rater_groups=groups, draw_k=k,
            draw_seed=seed, session_by=session_by,
            exclude_self=self._flag(body.get("exclude_self", True), f"{key}.exclude_self"),
            missing_sheet=self._enum(body.get("missing_sheet", "renormalise"),
                                     f"{key}.missing_sheet", MISSING_SHEET_POLICIES),
            identical_raters=self._enum(body.get("identical_raters", "flag"),
                                        f"{key}.identical_raters", IDENTICAL_RATER_POLICIES),
            source=self.source if self.source and not self.source.startswith("<") else None,
            key=key, located=located)

    def _weighted_parts(self, raw: Any, key: str, what: str, allowed: set,
                        bare_weight: bool) -> dict:
        """Aspects or rater groups: ``{code: {label, weight}}`` whose weights sum to 1."""
        self._known_keys(raw, set(raw) if isinstance(raw, dict) else set(), key, f"{what}s")
        if not raw:
            raise self.error(f"give at least one {what}", key)
        parts = {}
        for code, body in raw.items():
            k = f"{key}.{code}"
            if bare_weight and not isinstance(body, dict):
                body = {"weight": body}
            self._known_keys(body, allowed, k, f"a {what}")
            if "weight" not in body:
                raise self.error(f"every {what} needs a weight", f"{k}.weight")
            parts[str(code)] = {"label": self._text(body.get("label", code), f"{k}.label"),
                                "weight": self._number(body["weight"], f"{k}.weight", low=0)}
        total = sum(p["weight"] for p in parts.values())
        if abs(total - 1.0) > WEIGHT_TOLERANCE:
            listing = ", ".join(f"{c}={p['weight']:g}" for c, p in parts.items())
            raise self.error(f"the weights of the {what}s sum to {total:.6g}, not 1 ({listing}); "
                             "fix them", key)
        return parts

    def _review_grades(self, spec, review: ReviewSpec, key: str) -> tuple:
        """Grade bands of a review: by score, none empty by construction of the score range."""
        k = f"{key}.grades"
        if spec.grades.get("by", "score") != "score":
            raise self.error("a review grades by score thresholds (by: score): the reliability "
                             "analysis and the bootstrap of the grades need them", f"{k}.by")
        bands = tuple((float(b[0]), str(b[1])) for b in spec.grades["bands"])
        lo, hi = (p * spec.max_points / 100.0 for p in review.score_range)
        empty = empty_grade(bands, lo, hi)
        if empty is not None:
            raise self.error(f"grade {empty[0]!r} can never be given: {empty[1]}; the review's "
                             f"scores run from {lo:g} to {hi:g} (the points of the worst and best "
                             "grade). Move the threshold inside that range", f"{k}.bands")
        return bands

    # ------------------------------------------------------------------ musts: and linked:
    def _check_level_extras(self, spec, body: dict, key: str) -> None:
        """Parse ``musts:`` and ``linked:`` of a level (tree or review) into its spec."""
        if body.get("musts") is not None:
            if self.frequency != "annual":
                # a quarterly year deducts its negative-list incidents once; musts per quarter
                # would mix with that, so they are refused rather than combined by a guess
                raise self.error("musts are checked on a year's facts; they need an annual "
                                 f"scheme (this one is {self.frequency})", f"{key}.musts")
            spec.musts = self._parse_musts(body["musts"], f"{key}.musts")
        if body.get("linked") is not None:
            raw = body["linked"]
            self._known_keys(raw, set(raw) if isinstance(raw, dict) else set(), f"{key}.linked",
                             "linked")
            spec.linked = {str(name): self._parse_linked(str(name), rule, f"{key}.linked.{name}",
                                                         spec)
                           for name, rule in raw.items()}

    def _parse_musts(self, raw: Any, key: str) -> MustsSpec:
        self._known_keys(raw, set(raw) if isinstance(raw, dict) else set(), key, "musts")
        missing = self._enum(raw.get("missing", "error"), f"{key}.missing", MUST_MISSING_POLICIES)
        musts = {}
        for name, body in raw.items():
            if name == "missing":
                continue
            mk = f"{key}.{name}"
            self._known_keys(body, MUST_KEYS, mk, "a must")
            checks = body.get("checks")
            if not isinstance(checks, list) or not checks:
                raise self.error("a must needs checks: a list of {indicator:, at_least: or "
                                 "at_most:, label:}", f"{mk}.checks")
            parsed = []
            for j, c in enumerate(checks):
                ck = f"{mk}.checks[{j}]"
                self._known_keys(c, CHECK_KEYS, ck, "a check")
                if "indicator" not in c:
                    raise self.error("a check needs indicator: (the dataset indicator it reads)",
                                     ck)
                if ("at_least" in c) == ("at_most" in c):
                    raise self.error("a check needs exactly one of at_least: or at_most: (write "
                                     "a range as two checks)", ck)
                side = "at_least" if "at_least" in c else "at_most"
                indicator = self._text(c["indicator"], f"{ck}.indicator")
                parsed.append(MustCheck(
                    must=str(name), number=j + 1, indicator=indicator,
                    op=">=" if side == "at_least" else "<=",
                    threshold=self._number(c[side], f"{ck}.{side}"),
                    label=self._text(c.get("label", indicator), f"{ck}.label"), key=ck))
            on_fail = body.get("on_fail")
            if not isinstance(on_fail, dict) or len(on_fail) != 1 or not (
                    on_fail.get("veto") is True or "deduct" in on_fail):
                raise self.error("on_fail must be {veto: true} (一票否决) or {deduct: <points>}, "
                                 f"not {on_fail!r}", f"{mk}.on_fail")
            deduct = 0.0 if "veto" in on_fail else self._number(
                on_fail["deduct"], f"{mk}.on_fail.deduct", low=0, open_low=True)
            musts[str(name)] = Must(key=str(name),
                                    label=self._text(body.get("label", name), f"{mk}.label"),
                                    checks=tuple(parsed), veto="veto" in on_fail, deduct=deduct,
                                    path=mk)
        if not musts:
            raise self.error("musts: lists at least one must (name: {label:, checks:, "
                             "on_fail:})", key)
        return MustsSpec(musts=musts, missing=missing, key=key, located=self.where(key))

    def _parse_linked(self, name: str, body: Any, key: str, spec) -> LinkedRule:
        self._known_keys(body, LINKED_KEYS, key, "a linked consequence")
        self._require(body, ("when", "via", "level", "effects"), key, "a linked consequence "
                      "needs {name}: (see docs/scheme-format.md, linked consequences)")
        when = body["when"]
        self._known_keys(when, WHEN_KEYS, f"{key}.when", "when")
        if len(when) != 1:
            raise self.error("when: takes one condition: grades: [...], outcome: [...] or "
                             "vetoed: true", f"{key}.when")
        kind, value = next(iter(when.items()))
        if kind == "vetoed":
            if value is not True:
                raise self.error("vetoed: true is the only vetoed condition", f"{key}.when.vetoed")
            values: tuple = ()
        else:
            values = tuple(str(v) for v in (value if isinstance(value, list) else [value]))
            known = ([str(b[1]) for b in spec.grades["bands"]] if spec.grades else []) \
                if kind == "grades" else [c for c in spec.consequences if c != "veto"]
            unknown = [v for v in values if v not in known]
            if not values or unknown:
                raise self.error(f"unknown {kind} {unknown or list(values)}; level "
                                 f"{spec.level!r} has {known}", f"{key}.when.{kind}")
        effects_raw = body["effects"]
        self._known_keys(effects_raw, set(effects_raw) if isinstance(effects_raw, dict) else set(),
                         f"{key}.effects", "effects")
        if not effects_raw:
            raise self.error("effects: lists at least one effect (cap_grade:, deduct: or a "
                             "flag {label:})", f"{key}.effects")
        effects = []
        for ename, eb in effects_raw.items():
            ek = f"{key}.effects.{ename}"
            kind_e = ename if ename in LINKED_EFFECTS else "flag"
            self._known_keys(eb, EFFECT_KEYS[kind_e], ek, f"the effect {ename}")
            label = self._text(eb.get("label", ename), f"{ek}.label")
            if kind_e == "cap_grade":
                if "best" not in eb:
                    raise self.error("cap_grade needs best: (the best grade the linked unit can "
                                     "still get)", f"{ek}.best")
                effects.append(LinkedEffect(str(ename), kind_e, label,
                                            best=self._text(eb["best"], f"{ek}.best")))
            elif kind_e == "deduct":
                if "points" not in eb:
                    raise self.error("deduct needs points: (points per triggering unit)",
                                     f"{ek}.points")
                cap = eb.get("cap")
                effects.append(LinkedEffect(
                    str(ename), kind_e, label,
                    points=self._number(eb["points"], f"{ek}.points", low=0, open_low=True),
                    cap=None if cap is None else self._number(cap, f"{ek}.cap", low=0,
                                                              open_low=True)))
            else:
                effects.append(LinkedEffect(str(ename), kind_e, label))
        return LinkedRule(key=name, source=spec.level,
                          label=self._text(body.get("label", name), f"{key}.label"),
                          when=(kind, values), via=self._text(body["via"], f"{key}.via"),
                          level=self._text(body["level"], f"{key}.level"),
                          effects=tuple(effects), path=key, located=self.where(key),
                          scheme=(self._text(body["scheme"], f"{key}.scheme")
                                  if body.get("scheme") is not None else None),
                          source_scheme=self.name)

    def _check_links(self, parsed: dict) -> None:
        """Linked consequences reach a level (of this scheme, or of the scheme file named by
        ``scheme:``) that can take their effects; ``linked_from:`` loads the schemes whose rules
        reach this one."""
        for spec in parsed.values():
            for rule in spec.linked.values():
                if self.frequency != "annual":
                    raise self.error("linked consequences follow a year's grades; they need an "
                                     f"annual scheme (this one is {self.frequency})",
                                     f"{rule.path}")
                if rule.scheme is not None:
                    self._check_outgoing(rule)
                    continue
                if rule.level not in parsed or rule.level == spec.level:
                    raise self.error(f"a linked consequence reaches level {rule.level!r}, which "
                                     f"is not another level of this scheme (levels: "
                                     f"{list(parsed)}); a level of another scheme file needs "
                                     "scheme: <built-in name or path>", f"{rule.path}.level")
                target = parsed[rule.level]
                self._check_cap(rule, target)
                target.linked_from.append((rule, spec))
        for level, body in self.spec["levels"].items():
            raw = (body or {}).get("linked_from")
            if raw is not None:
                self._parse_linked_from(raw, parsed[str(level)], f"levels.{level}.linked_from")

    def _check_cap(self, rule: LinkedRule, target, key: str | None = None) -> None:
        """``cap_grade.best`` of a rule is a grade of the level it reaches."""
        cap = rule.effect("cap_grade")
        if cap is not None:
            key = key or f"{rule.path}.effects.{cap.key}.best"
            labels = [str(b[1]) for b in target.grades["bands"]] if target.grades else []
            if cap.best not in labels:
                raise self.error(f"cap_grade.best {cap.best!r} of linked consequence "
                                 f"{rule.key!r} ({rule.located}) must be a grade of level "
                                 f"{target.level!r}: {labels or 'it has no grades:'}", key)

    # ------------------------------------------------------------------ links across files
    def _scheme_path(self, ref: str, key: str) -> Path:
        """The file of a scheme named in ``scheme:``: a built-in name, or a path relative to
        this scheme's file (to the working directory for a scheme given as a dict)."""
        from .model import builtin_path  # model imports this module; no cycle at call time

        found = builtin_path(ref)
        if found is None:
            base = Path(self.source).parent if self._from_file else Path.cwd()
            found = (base / ref).resolve()
            if not found.is_file():
                raise self.error(f"no scheme {ref!r}: neither a built-in scheme nor a file "
                                 f"(looked for {found.name} in {base.name or base}); give a "
                                 "built-in name or a path relative to this scheme's file",
                                 key)
        return found

    @property
    def _from_file(self) -> bool:
        return bool(self.source) and not str(self.source).startswith("<")

    def _check_outgoing(self, rule: LinkedRule) -> None:
        """A rule reaching another scheme file: the file exists and has the level; whether that
        level lists the rule in ``linked_from:`` (otherwise no evaluation applies its effects)
        is kept in :attr:`linked_targets`."""
        from .source import parse_yaml, read_text

        path = self._scheme_path(rule.scheme, f"{rule.path}.scheme")
        other, lines = parse_yaml(read_text(path, []), source=str(path))
        levels = other.get("levels") if isinstance(other, dict) else None
        body = levels.get(rule.level) if isinstance(levels, dict) else None
        if not isinstance(body, dict):
            raise self.error(f"a linked consequence reaches level {rule.level!r} of scheme "
                             f"{rule.scheme!r} ({path.name}), which has no such level (levels: "
                             f"{list(levels or {})})", f"{rule.path}.level")
        entries = body.get("linked_from") or []
        me = Path(self.source).resolve() if self._from_file else None
        if me is None:
            raise self.error("a linked consequence reaching another scheme file needs this "
                             "scheme to be a file too (the other scheme's linked_from: names "
                             "it); save the scheme as YAML and load it from there",
                             f"{rule.path}.scheme")
        if not isinstance(entries, list):
            entries = []
        back = [e for e in entries if isinstance(e, dict) and str(e.get("rule")) == rule.key
                and _resolves_to(str(e.get("scheme", "")), path, me)]
        # a copy of a scheme (a variant saved under another name) reaches the target without
        # being listed there: allowed, but nothing applies it; evaluate() says so (a notice)
        self.linked_targets.append({
            "rule": rule, "file": path.name, "path": str(path), "listed": bool(back),
            "fix": (f"add 'linked_from: [{{scheme: {me.name}, rule: {rule.key}}}]' (a path "
                    f"relative to {path.name}) to level {rule.level!r} of {path.name} (line "
                    f"{lines.get(f'levels.{rule.level}')})")})

    def _parse_linked_from(self, raw: Any, spec, key: str) -> None:
        """Load the schemes whose rules reach this level (``linked_from:``) and keep the rules."""
        if not isinstance(raw, list) or not raw:
            raise self.error("linked_from is a list of {scheme: <built-in name or path>, rule: "
                             "<key of a linked consequence of that scheme>}", key)
        if self.frequency != "annual":
            raise self.error("linked consequences follow a year's grades; they need an annual "
                             f"scheme (this one is {self.frequency})", key)
        from .model import load_scheme

        me = Path(self.source).resolve() if self._from_file else None
        for j, entry in enumerate(raw):
            ek = f"{key}[{j}]"
            self._known_keys(entry, LINKED_FROM_KEYS, ek, "a linked_from entry")
            for required in ("scheme", "rule"):
                if entry.get(required) is None:
                    raise self.error(f"a linked_from entry needs {required}:", f"{ek}.{required}")
            ref = self._text(entry["scheme"], f"{ek}.scheme")
            rule_key = self._text(entry["rule"], f"{ek}.rule")
            path = self._scheme_path(ref, f"{ek}.scheme")
            chain = _LOADING.get() or ((str(me) if me else self.name),)
            if path == me or str(path) in chain:
                names = [Path(c).name for c in chain] + [path.name]
                raise self.error("linked consequences across scheme files form a cycle: "
                                 + " → ".join(names) + " (each file's level lists a rule of the "
                                 "next in linked_from:); a scheme's results cannot depend on "
                                 "themselves — remove one of the links", f"{ek}.scheme")
            token = _LOADING.set((*chain, str(path)))
            try:
                source = self.linked_schemes.get(ref) or load_scheme(path)
            finally:
                _LOADING.reset(token)
            rules = {r.key: (r, s) for s in source.levels.values() for r in s.linked.values()}
            if rule_key not in rules:
                raise self.error(f"scheme {ref!r} ({path.name}) has no linked consequence "
                                 f"{rule_key!r}; its linked consequences: {sorted(rules)}",
                                 f"{ek}.rule")
            rule, source_spec = rules[rule_key]
            if (rule.scheme is None or me is None
                    or source._scheme_path(rule.scheme, f"{rule.path}.scheme") != me
                    or rule.level != spec.level):
                target = f"level {rule.level!r}" + (f" of scheme {rule.scheme!r}"
                                                    if rule.scheme else " of its own scheme")
                raise self.error(f"linked consequence {rule_key!r} of scheme {ref!r} "
                                 f"({rule.located}) reaches {target}, not level {spec.level!r} "
                                 f"of this scheme; name this file and level in its scheme: "
                                 "and level:", f"{ek}.rule")
            self._check_cap(rule, spec, f"{ek}.rule")
            self.linked_schemes[ref] = source
            spec.linked_from.append((rule, source_spec))


#: Resolved files of the schemes being loaded through ``linked_from:`` (to refuse a cycle).
_LOADING: ContextVar[tuple] = ContextVar("assesskit_linked_loading", default=())


def _resolves_to(ref: str, base: Path, expected: Path) -> bool:
    """Whether ``ref`` (a built-in name, or a path relative to the file ``base``) is
    ``expected``."""
    from .model import builtin_path

    found = builtin_path(ref)
    return (found if found is not None else (base.parent / ref).resolve()) == expected
