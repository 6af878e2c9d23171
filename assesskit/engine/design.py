"""Design variants of a level: the same scheme with other design choices, as a scheme.

A *design* is a set of choices a scheme's authors could have made otherwise: the normalisation
of the leaves scored relative to other units, the comparison groups, the quotas, the aggregation
and missing-value policy at group nodes, the weights. :func:`apply_design` writes a design into
a copy of the scheme (logged), so that any run of an analysis can be rebuilt and checked with
``evaluate``; the vectorised runner (:mod:`assesskit.engine.batch`) derives its arrays from the
same variant schemes, so a run and its rebuilt scheme agree by construction.

Quotas under another grouping
-----------------------------
With the official groups each (sub)group keeps its quota, multiplied by the quota scale and
rounded half up: ``q' = floor(f q + 1/2)``. Under other groups the official quotas of a
consequence are added up (``Q``; Sichuan's praise quotas 3 + 4 + 3 + 5 = 15 of 39 counties), the
total ``T = floor(f Q + 1/2)`` is shared among the new groups by ``quota_rule``:

``proportional`` (default)
    in proportion to their sizes by the largest-remainder (Hamilton) method — each group gets
    ``floor(T n_g / N)`` and the places left go to the largest remainders (ties to the larger
    group, then to the group that sorts first) — so the same *share* of units is praised;
``equal``
    the same number in every group, ``T / k`` rounded half up (and never more than a group
    holds), as when a province gives each region the same quota whatever its size.

Subgroup quotas (Sichuan's plateau split between 阿坝州 and 甘孜州) do not survive a change of
groups: the new groups' quotas apply to whole groups.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from ..errors import SchemeError
from ..scheme.model import RELATIVE_METHODS, Scheme
from .consequences import QUOTA_SIDES, apportion, quota_rows, scale_quota

OFFICIAL = "official"
POOL = "pool"
QUOTA_RULES = ("proportional", "equal")
CUSTOM_GROUP_COLUMN = "design_group"


@dataclass(frozen=True)
class Design:
    """Design choices for one level (every field optional: the official choice).

    Attributes
    ----------
    normalisation : dict or None
        A relative scoring rule (``{"method": "zscore", "offset": 80, "scale": 10}``) that
        replaces the rule of every leaf scored relative to other units (also the ``then:`` rule
        of growth and level-and-change leaves); None keeps each leaf's own rule.
    grouping : str or mapping
        ``"official"``, ``"pool"``, a units column, or a mapping unit id -> group label.
    quota_rule : {"proportional", "equal"}
        How quotas are shared among groups other than the official ones (module notes).
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

    def is_official_grouping(self, scheme: Scheme, level: str) -> bool:
        option = self.grouping
        if isinstance(option, Mapping | pd.Series):
            return False
        gb = scheme.levels[level].ranking.get("group_by")
        return option == OFFICIAL or option == gb or (option == POOL and not gb)


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
    official = design.is_official_grouping(scheme, level)
    option = design.grouping
    if design.quota_rule not in QUOTA_RULES:
        raise SchemeError(f"quota_rule must be one of {list(QUOTA_RULES)}, not "
                          f"{design.quota_rule!r}", key="design.quota_rule")
    if not official:
        if isinstance(option, Mapping | pd.Series):
            mapping = {str(k): str(v) for k, v in dict(option).items()}
            ranking["group_by"] = CUSTOM_GROUP_COLUMN
            ranking["groups"] = mapping
            labels = units["unit"].astype(str).map(mapping)
        else:
            # null, not absent: an absent group_by means no groups too, but say it
            ranking["group_by"] = None if option == POOL else option
            labels = None if option == POOL else units[option].astype(str)
        ranking.pop("subgroup_by", None)
    gb, sb = lspec.ranking.get("group_by"), lspec.ranking.get("subgroup_by")
    for key, cbody in (body.get("consequences") or {}).items():
        if key == "veto" or not isinstance(cbody, dict):
            continue
        scale = float(design.quota_scale.get(key, 1.0))
        for side in QUOTA_SIDES:
            if cbody.get(side) is None:
                continue
            if official:
                if key in design.quota_scale:
                    cbody[side] = scale_quota(cbody[side], scale)
                continue
            rows = quota_rows(key, side, cbody[side], units[gb] if gb else None,
                              units[sb] if sb else None,
                              f"levels.{level}.consequences.{key}.{side}", len(units))
            total = int(math.floor(scale * sum(r.n for r in rows) + 0.5))
            if labels is None:
                cbody[side] = min(total, len(units))
                continue
            sizes = labels.groupby(labels, sort=True).size()
            if design.quota_rule == "equal":
                each = int(math.floor(total / len(sizes) + 0.5))
                cbody[side] = {str(g): min(each, int(s)) for g, s in sizes.items()}
            else:
                cbody[side] = apportion(total, sizes)


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
    if isinstance(x, Design):
        return {k: _plain(v) for k, v in x.__dict__.items()}
    if isinstance(x, Mapping | pd.Series):
        return {str(k): _plain(v) for k, v in dict(x).items()}
    if isinstance(x, list | tuple):
        return [_plain(v) for v in x]
    if hasattr(x, "item"):
        return x.item()
    return x
