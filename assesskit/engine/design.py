"""Design variants of a level: the same scheme with other design choices, as a scheme.

A *design* is a set of choices a scheme's authors could have made otherwise: the normalisation
of the leaves scored relative to other units, the comparison groups, the quotas, the aggregation
and missing-value policy at group nodes, the weights. :func:`apply_design` writes a design into
a copy of the scheme (logged), so that any run of an analysis can be rebuilt and checked with
``evaluate``; the vectorised runner (:mod:`assesskit.engine.batch`) derives its arrays from the
same variant schemes, so a run and its rebuilt scheme agree by construction.

Quotas under another grouping
-----------------------------
The official quotas stand whenever the comparison groups are the official ones: the scheme's
``ranking.group_by`` column, or any column or mapping unit id -> group that puts exactly the same
units together, whatever its labels (:meth:`Design.is_official_grouping`). Each (sub)group keeps
its quota, multiplied by the quota scale ``f`` and rounded half up: ``q' = floor(f q + 1/2)``.

Under other groups — or under the official ones when a :class:`Regrouping` asks for a rule — the
official quotas of a consequence side are added up (``Q``; Sichuan's praise quotas
3 + 4 + (3 + 5) = 15 of 39 counties), ``T = floor(f Q + 1/2)`` places are available and
``quota_rule`` shares them among the ``k`` new groups of sizes ``n_g`` (``N`` units in all):

``proportional`` (default)
    in proportion to group size by the largest-remainder (Hamilton) method: each group gets
    ``floor(T n_g / N)`` and the places left go to the largest remainders ``T n_g / N -
    floor(T n_g / N)`` (ties to the larger group, then to the group whose label sorts first), so
    the same *share* of units is praised everywhere and the total stays ``T``
    (:func:`~assesskit.engine.consequences.apportion`). Sichuan's three regions under this rule:
    15 × 10/39 = 3.85, 15 × 11/39 = 4.23, 15 × 18/39 = 6.92 → 4, 4, 7 praised (officially 3, 4, 8).
``equal``
    the same count in every group, ``floor(T / k + 1/2)`` (so the total may differ from ``T``:
    15 places over 4 groups give 4 each, 16 in all), as when a province gives each region the
    same quota whatever its size.
``fixed``
    the counts the user states (``quota_counts``): one whole number per consequence for every
    group (``{"praised": 3}``: three per group, however many groups), or ``{group: n}`` naming
    every group; the quota scale multiplies them too (rounded half up).

A quota larger than its group under any rule is an error naming the group (no silent capping),
and so is a group whose top and bottom quotas add up to more than its units (the engine's
overlap check).

Subgroup quotas (Sichuan's plateau split: 阿坝州 3 and 甘孜州 5 praised) belong to the official
groups. When the groups change, or the official groups are re-quota'd by a rule, a subgroup's
quota is added into ``Q`` like any other and the rule's quotas apply to whole groups: no subgroup
split survives. (Grouping *by* prefecture makes 阿坝州 and 甘孜州 groups of their own, which is
how to keep them apart.) Under the official groups the subgroups stay in ``ranking.subgroup_by``
for the ranks shown and for scoring rules ``within: subgroup``.

Without groups (the pool) every rule gives the one group ``T`` places (``fixed``: its count).
"""

from __future__ import annotations

import copy
import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from ..errors import SchemeError
from ..scheme.model import RELATIVE_METHODS, Scheme
from .consequences import QUOTA_SIDES, apportion, scale_quota

OFFICIAL = "official"
POOL = "pool"
QUOTA_RULES = ("proportional", "equal", "fixed")
KEEP_QUOTAS = "official"  # a Regrouping's rule that keeps the scheme's quotas (official groups only)
CUSTOM_GROUP_COLUMN = "design_group"


@dataclass(frozen=True)
class Regrouping:
    """Comparison groups together with the rule for their quotas (one option of an analysis).

    Attributes
    ----------
    groups : str or mapping
        ``"official"``, ``"pool"``, a units column, or a mapping unit id -> group label.
    quota_rule : {None, "official", "proportional", "equal", "fixed"}
        None: the official quotas if ``groups`` are the official groups, else the design's
        ``quota_rule``. ``"official"``: the official quotas (an error unless the groups are the
        official ones). A rule: the official quotas re-shared by that rule even when the groups
        are the official ones (to compare Sichuan's 3/4/8 with a proportional 4/4/7).
    quota_counts : mapping
        Consequence key -> count for every group, or ``{group: count}`` (rule ``fixed``).
    """

    groups: object = OFFICIAL
    quota_rule: str | None = None
    quota_counts: Mapping = field(default_factory=dict)


@dataclass(frozen=True)
class Design:
    """Design choices for one level (every field optional: the official choice).

    Attributes
    ----------
    normalisation : dict or None
        A relative scoring rule (``{"method": "zscore", "offset": 80, "scale": 10}``) that
        replaces the rule of every leaf scored relative to other units (also the ``then:`` rule
        of growth and level-and-change leaves); None keeps each leaf's own rule.
    grouping : str, mapping or Regrouping
        ``"official"``, ``"pool"``, a units column, a mapping unit id -> group label, or a
        :class:`Regrouping` (groups with their own quota rule, which overrides ``quota_rule``
        and ``quota_counts``).
    quota_rule : {"proportional", "equal", "fixed"}
        How quotas are shared among groups other than the official ones (module notes).
    quota_counts : mapping
        Consequence key -> count per group, or ``{group: count}``, for the rule ``fixed``.
    quota_scale : mapping
        Consequence key -> multiplier of its quotas.
    aggregation, missing : mapping
        Group node id -> aggregation method / missing-value policy.
    weights : mapping
        Node id -> multiplier of its weight (re-normalised within its parent).
    """

    normalisation: dict | None = None
    grouping: object = OFFICIAL
    quota_rule: str = "proportional"
    quota_scale: Mapping = field(default_factory=dict)
    aggregation: Mapping = field(default_factory=dict)
    missing: Mapping = field(default_factory=dict)
    weights: Mapping = field(default_factory=dict)
    quota_counts: Mapping = field(default_factory=dict)

    @property
    def groups(self):
        """The grouping option itself (unwrapped from a :class:`Regrouping`)."""
        return self.grouping.groups if isinstance(self.grouping, Regrouping) else self.grouping

    @property
    def quota_terms(self) -> tuple[str | None, Mapping]:
        """The quota rule (None: official quotas under official groups) and fixed counts."""
        if isinstance(self.grouping, Regrouping):
            return (self.grouping.quota_rule,
                    self.grouping.quota_counts or self.quota_counts)
        return None, self.quota_counts

    def is_official_grouping(self, scheme: Scheme, level: str,
                             units: pd.DataFrame | None = None) -> bool:
        """Whether the groups are the official ones: ``"official"``, the ``group_by`` column, the
        pool of a level without groups, or (given the units) any column or mapping that puts
        exactly the same units together."""
        option = self.groups
        gb = scheme.levels[level].ranking.get("group_by")
        if isinstance(option, str) and (option == OFFICIAL or option == gb
                                        or (option == POOL and not gb)):
            return True
        if units is None or (isinstance(option, str) and option not in units.columns
                             and option != POOL):
            return False
        if isinstance(option, Mapping | pd.Series):
            labels = units["unit"].astype(str).map({str(k): str(v) for k, v in
                                                    dict(option).items()})
            if labels.isna().any():
                return False
        elif option == POOL:
            labels = pd.Series("", index=units.index)
        else:
            labels = units[option].astype(str)
        official = units[gb].astype(str) if gb else pd.Series("", index=units.index)
        return same_partition(official, labels)


def same_partition(a: pd.Series, b: pd.Series) -> bool:
    """Whether two labellings of the same units put the same units together (labels aside).

    Examples
    --------
    >>> same_partition(pd.Series(["x", "x", "y"]), pd.Series(["2", "2", "1"]))
    True
    >>> same_partition(pd.Series(["x", "x", "y"]), pd.Series(["1", "2", "2"]))
    False
    """
    a, b = pd.Series(a).astype(str).to_numpy(), pd.Series(b).astype(str).to_numpy()
    pairs = len(set(zip(a.tolist(), b.tolist(), strict=True)))
    return pairs == len(set(a.tolist())) == len(set(b.tolist()))


def replace_relative(rule: dict, new: dict | None) -> dict | None:
    """A leaf's scoring rule with its relative part replaced by ``new`` (None: nothing to do)."""
    if new is None:
        return None
    method = rule["method"]
    if method in RELATIVE_METHODS:
        return {**_small_group_of(rule), **copy.deepcopy(new),
                "within": new.get("within", rule.get("within", "group"))}
    if method in ("growth", "level_and_change") and rule["then"]["method"] in RELATIVE_METHODS:
        then = rule["then"]
        return {**copy.deepcopy(rule),
                "then": {**_small_group_of(then), **copy.deepcopy(new),
                         "within": new.get("within", then.get("within", "group"))}}
    return None


def _small_group_of(rule: dict) -> dict:
    """What a relative rule says about small comparison groups (kept when it is replaced)."""
    return {k: rule[k] for k in ("min_group", "small_group") if k in rule}


def _pool_small_groups(body: dict, lspec) -> None:
    """Under groups other than the official ones, a relative rule whose comparison group is
    smaller than its ``min_group`` scores those units across all assessed units
    (``small_group: pool``) unless the scheme says otherwise; written into the variant scheme
    (so the log and a rebuilt run show it) rather than letting a unit alone in its group earn
    full marks."""
    for nd in lspec.root.walk():
        if nd.kind != "leaf":
            continue
        target = node_spec(body, nd.id)
        written = target.get("scoring") or {}
        complete = "method" in written and ("then" in written or written["method"] not in (
            "growth", "level_and_change"))
        # a rule replaced by the design is written in full; otherwise the parsed rule is the
        # same rule with the scheme's defaults filled in
        rule = copy.deepcopy(written if complete else nd.scoring)
        inner = rule["then"] if rule["method"] in ("growth", "level_and_change") else rule
        if inner["method"] not in RELATIVE_METHODS:
            continue
        inner.setdefault("small_group", "pool")
        target["scoring"] = rule


def node_spec(body: dict, node_id: str) -> dict:
    """The written spec (a dict inside ``scheme.spec``) of a node of a level body."""
    if node_id == "total":
        return body

    def find(tree: dict):
        for cid, cspec in tree.items():
            if str(cid) == node_id:
                return cspec
            if isinstance(cspec, dict) and isinstance(cspec.get("children"), dict):
                hit = find(cspec["children"])
                if hit is not None:
                    return hit
        return None

    hit = find(body["tree"])
    if hit is None:
        raise KeyError(node_id)
    return hit


def apply_design(scheme: Scheme, level: str, units: pd.DataFrame, design: Design,
                 note: str = "") -> Scheme:
    """The scheme with a design written into one level; the change is logged.

    Parameters
    ----------
    scheme : Scheme
    level : str
    units : DataFrame
        The units the level assesses (quotas under other groups depend on their sizes).
    design : Design
    note : str
        Why (recorded in the log entry).

    Returns
    -------
    Scheme
        ``evaluate`` of it gives the design's result. A custom grouping (a mapping) is written
        as ``ranking.groups`` (unit id -> group) in the level.
    """
    spec = copy.deepcopy(scheme.spec)
    body = spec["levels"][level]
    lspec = scheme.levels[level]
    if design.normalisation is not None:
        for nd in lspec.root.walk():
            if nd.kind == "leaf":
                replaced = replace_relative(nd.scoring, dict(design.normalisation))
                if replaced is not None:
                    node_spec(body, nd.id)["scoring"] = replaced
    _write_grouping(body, lspec, scheme, level, units, design)
    if not design.is_official_grouping(scheme, level):
        _pool_small_groups(body, lspec)
    for node_id, method in design.aggregation.items():
        node_spec(body, node_id)["aggregate"] = method
    for node_id, policy in design.missing.items():
        node_spec(body, node_id)["missing"] = policy
    if design.weights:
        _write_weights(body, lspec, design.weights)
    entry = {"change": "design", "level": level, "note": note, "design": _plain(design)}
    return Scheme(spec, source=scheme.source, lines=scheme.lines, log=[*scheme.log, entry],
                  notices=scheme.notices)


def _write_grouping(body, lspec, scheme, level, units, design) -> None:
    ranking = body.setdefault("ranking", {})
    official = design.is_official_grouping(scheme, level, units)
    option = design.groups
    rule, counts = design.quota_terms
    if rule is not None and rule not in (KEEP_QUOTAS, *QUOTA_RULES):
        raise SchemeError(f"a regrouping's quota_rule must be one of "
                          f"{[KEEP_QUOTAS, *QUOTA_RULES]} or None, not {rule!r}",
                          key="design.quota_rule")
    if design.quota_rule not in QUOTA_RULES:
        raise SchemeError(f"quota_rule must be one of {list(QUOTA_RULES)}, not "
                          f"{design.quota_rule!r}", key="design.quota_rule")
    if rule == KEEP_QUOTAS and not official:
        raise SchemeError("the official quotas (quota_rule 'official') belong to the official "
                          "groups; these groups differ, so choose how to share the quotas: "
                          f"{list(QUOTA_RULES)}", key="design.quota_rule")
    keep = official and rule in (None, KEEP_QUOTAS)
    rule = design.quota_rule if rule in (None, KEEP_QUOTAS) else rule
    gb = lspec.ranking.get("group_by")
    if official:
        # the scheme's own groups (and labels) stay; only the quotas may be re-shared
        labels = units[gb].astype(str) if gb else None
    elif isinstance(option, Mapping | pd.Series):
        mapping = {str(k): str(v) for k, v in dict(option).items()}
        ranking["group_by"] = CUSTOM_GROUP_COLUMN
        ranking["groups"] = mapping
        ranking.pop("subgroup_by", None)
        labels = units["unit"].astype(str).map(mapping)
    else:
        # null, not absent: an absent group_by means no groups too, but say it
        ranking["group_by"] = None if option == POOL else option
        ranking.pop("subgroup_by", None)
        labels = None if option == POOL else units[option].astype(str)
    sizes = (labels.groupby(labels, sort=True).size() if labels is not None
             else pd.Series({"*": len(units)}))
    for key, cbody in (body.get("consequences") or {}).items():
        if key == "veto" or not isinstance(cbody, dict):
            continue
        scale = float(design.quota_scale.get(key, 1.0))
        for side in QUOTA_SIDES:
            if cbody.get(side) is None:
                continue
            where = f"levels.{level}.consequences.{key}.{side}"
            if keep:
                if key in design.quota_scale:
                    cbody[side] = scale_quota(cbody[side], scale)
                continue
            if rule == "fixed":
                shares = fixed_counts(counts, key, sizes, scale)
            else:
                total = int(math.floor(scale * official_total(cbody[side], units[gb] if gb
                                                              else None) + 0.5))
                if rule == "equal":
                    each = int(math.floor(total / len(sizes) + 0.5))
                    shares = {str(g): each for g in sizes.index}
                else:
                    shares = apportion(total, sizes)
            for g, q in shares.items():
                if q > int(sizes[g]):
                    what = "the pool" if labels is None else f"group {g!r}"
                    raise SchemeError(f"under quota_rule {rule!r}, {what} gets {q} places of "
                                      f"{key!r} ({side}) but holds {int(sizes[g])} units; "
                                      "choose another rule or smaller quotas", key=where)
            cbody[side] = shares["*"] if labels is None else shares


def official_total(raw, groups: pd.Series | None) -> int:
    """The places of a quota as written in a scheme (checked when it loaded), over all groups.

    A whole number applies to every group; a mapping gives each group (and subgroup) its own.

    Examples
    --------
    >>> official_total({"a": 3, "b": 4, "c": {"x": 3, "y": 5}}, None)
    15
    >>> official_total(2, pd.Series(["a", "b", "a"]))
    4
    """
    if isinstance(raw, Mapping):
        return sum(official_total(v, None) if isinstance(v, Mapping) else int(v)
                   for v in raw.values())
    return int(raw) * (groups.nunique() if groups is not None else 1)


def fixed_counts(counts: Mapping, key: str, sizes: pd.Series, scale: float = 1.0) -> dict:
    """The quotas of consequence ``key`` under the rule ``fixed``: a count for every group.

    Parameters
    ----------
    counts : mapping
        Consequence key -> a whole number (the same in every group) or ``{group: n}`` naming
        every group (``"*"`` for the pool).
    key : str
    sizes : pandas.Series
        Group label -> number of units (index ``"*"``: the pool).
    scale : float
        Quota multiplier (rounded half up).

    Returns
    -------
    dict
        Group label -> quota.

    Raises
    ------
    SchemeError
        No count for ``key``, a count that is not a whole number >= 0, groups left out or
        unknown.

    Examples
    --------
    >>> fixed_counts({"praised": 2}, "praised", pd.Series({"a": 5, "b": 3}))
    {'a': 2, 'b': 2}
    """
    where = f"design.quota_counts.{key}"
    if key not in counts:
        raise SchemeError(f"quota_rule 'fixed' needs a count for consequence {key!r}: "
                          f"quota_counts={{{key!r}: 3}} (3 in every group) or "
                          f"{{{key!r}: {{group: n, ...}}}}", key=where)
    raw = counts[key]
    labels = [str(g) for g in sizes.index]
    if isinstance(raw, Mapping):
        given = {str(g): n for g, n in raw.items()}
        missing = [g for g in labels if g not in given]
        unknown = [g for g in given if g not in labels]
        if missing or unknown:
            raise SchemeError(f"quota_counts for {key!r} must name every group exactly once; "
                              + (f"missing: {missing}" if missing else "")
                              + ("; " if missing and unknown else "")
                              + (f"unknown: {unknown}" if unknown else "")
                              + f" (groups: {labels})", key=where)
    else:
        given = {g: raw for g in labels}
    out = {}
    for g, n in given.items():
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
            raise SchemeError(f"a fixed quota is a whole number of units (0, 1, 2 ...), not "
                              f"{n!r} (group {g!r})", key=where)
        out[g] = scale_quota(int(n), scale)
    return out


def _write_weights(body, lspec, multipliers: Mapping) -> None:
    overrides = body.get("overrides") or {}
    for parent in lspec.root.walk():
        kids = parent.children
        if not any(c.id in multipliers for c in kids):
            continue
        # The siblings' new weights, re-normalised to sum to 1 (readable); the parent is
        # declared relative since overrides and applicability re-normalise per unit anyway.
        new = {c.id: c.weight * float(multipliers.get(c.id, 1.0)) for c in kids}
        z = sum(new.values()) or 1.0
        for c in kids:
            node_spec(body, c.id)["weight"] = new[c.id] / z
        node_spec(body, parent.id)["normalise_weights"] = True
        for ov in overrides.values():
            ow = (ov or {}).get("weights") or {}
            for c in kids:
                if c.id in ow:
                    ow[c.id] = float(ow[c.id]) * float(multipliers.get(c.id, 1.0)) / z


def _plain(x):
    """A design as plain data for the log."""
    if isinstance(x, Design | Regrouping):
        return {k: _plain(v) for k, v in x.__dict__.items()}
    if isinstance(x, Mapping | pd.Series):
        return {str(k): _plain(v) for k, v in dict(x).items()}
    if isinstance(x, list | tuple):
        return [_plain(v) for v in x]
    if hasattr(x, "item"):
        return x.item()
    return x
