"""Uncertainty and sensitivity analysis of rankings (排名的不确定性与敏感性分析).

An assessment that praises the top 3 of 10 counties and summons the bottom one rests on design
choices its authors could have made otherwise: the weights, the normalisation rule, the
aggregation, the missing-value policy, the comparison groups, the quota sizes. :func:`uncertainty`
draws those choices at random (a Monte Carlo over the scheme's own design space, as in the JRC
audits of composite indicators), re-runs the scheme for every draw with a vectorised engine, and
reports how fragile each unit's rank and outcome are (:attr:`Uncertainty.ranks`) and which choice
the lists depend on most (:meth:`Uncertainty.sobol`).

Factors
-------
Each factor is plain data (:class:`SchemeFactor`), built with :func:`weights`,
:func:`normalisation`, :func:`aggregation`, :func:`missing`, :func:`grouping` or :func:`quota`
(or from a dict / a kind name, see :func:`factor_from_spec`):

``weights``
    A multiplier on the weight of every node (or the nodes named): uniform on
    ``[1 - spread, 1 + spread)``, or Dirichlet around the official shares of each sibling set
    with a concentration ``c`` (shares ``~ Dirichlet(c * w)``, so ``c`` is about the inverse of
    the relative variance). Weights are re-normalised within each parent, as the engine does.
``normalisation``
    The rule that turns raw values into scores, for every leaf scored by a *relative* rule
    (min–max, z-score, percentile; also the ``then:`` rule of growth and level-and-change
    leaves). Options are presets (:data:`NORMALISATION_PRESETS`), ``"official"`` (each leaf
    keeps its own rule) or scoring dicts such as ``{"method": "minmax", "range": [0, 100]}``.
    Ratings, goalposts, targets, thresholds, bands and pass/fail rules are absolute and stay.
``aggregation``
    ``arithmetic`` / ``geometric`` / ``harmonic`` / ``minimum`` (or ``official``) at every group
    node (or the nodes named).
``missing``
    The missing-value policy (``renormalise`` / ``zero`` / ``impute_group_mean`` / ``error`` /
    ``official``) at every group node (or the nodes named).
``grouping``
    The comparison groups: ``official`` (the scheme's ``ranking.group_by`` with its quotas), a
    column of the units table (e.g. ``parent``: the prefecture) or ``pool`` (no groups). The
    groups decide both the within-group normalisation and the ranking.
``quota``
    A multiplier on the quotas of one consequence (default: the first with a ``top:`` quota).

Discrete factors are drawn directly as option indices (:func:`assesskit.analysis.sensitivity.choice`),
never by rounding a continuous parameter. The weight multipliers of one ``weights`` factor form
one *group* of the Sobol' design (:mod:`assesskit.analysis.sensitivity`): "the weights" is one design
choice, whatever the number of nodes.

Quotas under another grouping
-----------------------------
With the official grouping each (sub)group keeps its quota, multiplied by the quota factor and
rounded half up: ``q' = floor(f q + 1/2)``. Under another grouping the official quotas of a
consequence are added up (``Q``; Sichuan's praise quotas 3 + 4 + 3 + 5 = 15 of 39 counties),
the total ``T = floor(f Q + 1/2)`` is shared among the new groups in proportion to their sizes
``n_g`` by the largest-remainder (Hamilton) method — each group gets ``floor(T n_g / N)`` and
the seats left go to the largest remainders ``T n_g / N - floor(T n_g / N)``, ties to the larger
group, then to the group that sorts first — so the same *share* of units is praised as
officially. Quota configurations where a group's quotas add up to more than the group are
reported as a :class:`~assesskit.errors.SchemeError` before any draw is run.

The vectorised engine
---------------------
The scheme is compiled once for the assessed level (:func:`assesskit.engine.score_level` gives
the units, the node tree, per-unit weights with overrides, deductions, coefficients and vetoes).
Leaf scores are computed once per (normalisation, grouping) option by the engine's own
:class:`~assesskit.engine.Scorer`; missing values are filled once per missing-value option.
Every group node is then a ratio of two matrix products over a leading draws axis: with the
per-unit weights ``a_ik`` of the usable children, weight multipliers ``m_dk`` of draw ``d``
and the transform ``f`` of the aggregation (identity, ``log``, reciprocal),

.. math::

    s_{dip} = g\\left(\\frac{\\sum_k a_{ik} m_{dk} f(s_{dik})}{\\sum_k a_{ik} m_{dk}}\\right),
    \\qquad g = f^{-1}

(the weighted arithmetic, geometric and harmonic means of :func:`assesskit.engine.scoring.aggregate`,
whose re-normalisation over non-missing children is the division). Draws are processed in
chunks (``chunk_size``, default 500) to bound memory; within a chunk the draws sharing the same
discrete options go through the tree together. Ranks within groups follow
:func:`assesskit.engine.evaluation.rank_within` (scores rounded to ``ties.decimals``, tie-break nodes,
``ties.method``) and outcomes :func:`assesskit.engine.evaluation.apply_consequences`, as whole-array
operations: a top quota takes the units whose *place* (1 + the eligible, non-vetoed members
ranked strictly better) is within the quota; a bottom quota ranks from the bottom, ties sharing
the worse place; ``ties.at_quota: exclude`` leaves out the units tied at the last place when
ties overfill a quota; grade consequences go to units with no other consequence.

Every run can be rebuilt as a scheme (:meth:`Uncertainty.rebuild`): ``evaluate`` of that scheme
gives the run's ranks and outcomes, and its scores to floating-point rounding (the vectorised
engine sums in a different order; about 1e-13 points).
"""

from __future__ import annotations

import copy
import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import product

import numpy as np
import pandas as pd
from scipy import special

from ..data.model import Dataset, normalise_period
from ..engine import scoring as sc
from ..engine.evaluation import SCORE_DECIMALS, _quota_table, evaluate
from ..engine.level import LevelResult, Scorer, _apply_missing, _rollup, _shared, group_labels
from ..errors import DataError, Problem, SchemeError
from ..scheme.model import (
    AGGREGATIONS,
    MISSING_POLICIES,
    LevelSpec,
    Scheme,
    _find_node_spec,
    load_scheme,
)
from . import sensitivity as sens

FACTOR_KINDS = ("weights", "normalisation", "aggregation", "missing", "grouping", "quota")
"""Kinds of design factor :func:`uncertainty` understands."""

NORMALISATION_PRESETS = {
    "minmax": {"method": "minmax", "range": [60, 100]},
    "minmax_0_100": {"method": "minmax", "range": [0, 100]},
    "zscore": {"method": "zscore", "offset": 80, "scale": 10},
    "percentile": {"method": "percentile"},
}
"""Named normalisation options: min–max onto [60, 100] (a base of 60 and 40 points of spread,
the common 基础分+浮动分 practice), min–max onto [0, 100], the z-score shown as
``80 + 10 z`` (similar spread, positive unless a unit is 8 standard deviations below its group)
and the percentile rank 0–100. ``minmax_0_100`` and ``percentile`` give the worst unit 0, which
a geometric mean cannot take."""

RELATIVE_METHODS = ("minmax", "zscore", "percentile")
"""Scoring methods that compare units with each other (the ones the normalisation factor
replaces)."""

OFFICIAL = "official"
POOL = "pool"
DEFAULT_CHUNK = 500
OUTPUT_SHIFT = "mean_abs_rank_shift"
OUTPUT_CHANGES = "outcome_changes"
_NONE = ""


# ============================================================================ factor definitions
@dataclass(frozen=True)
class SchemeFactor:
    """One design choice of a scheme treated as uncertain, as plain data.

    Build with :func:`weights`, :func:`normalisation`, :func:`aggregation`, :func:`missing`,
    :func:`grouping` or :func:`quota`; :func:`factor_from_spec` reads the dict form.

    Parameters
    ----------
    kind : str
        One of :data:`FACTOR_KINDS`.
    name : str
        Name of the factor in the design, the draws table and the Sobol' indices.
    options : tuple
        The options of a discrete factor (all kinds but ``weights``).
    probs : tuple of float, optional
        Probability of each option (equal if omitted).
    spread : float, optional
        ``weights``: multipliers uniform on ``[1 - spread, 1 + spread)``, ``0 <= spread < 1``.
    concentration : float, optional
        ``weights``: Dirichlet concentration ``c > 0`` (instead of ``spread``).
    nodes : tuple of str, optional
        ``weights`` / ``aggregation`` / ``missing``: the node ids affected (default all).
    consequence : str, optional
        ``quota``: the consequence whose quotas are scaled.

    Raises
    ------
    SchemeError
        If the definition is inconsistent; every problem is listed.
    """

    kind: str
    name: str
    options: tuple = ()
    probs: tuple | None = None
    spread: float | None = None
    concentration: float | None = None
    nodes: tuple | None = None
    consequence: str | None = None

    def __post_init__(self):
        for fld in ("options", "probs", "nodes"):
            value = getattr(self, fld)
            if isinstance(value, list):
                object.__setattr__(self, fld, tuple(value))
        problems = self._problems()
        if problems:
            raise SchemeError(f"factor {self.name!r} is not valid: " + "; ".join(problems),
                              key=f"factors.{self.name}")

    def _problems(self) -> list[str]:
        problems = []
        if not isinstance(self.name, str) or not self.name.strip():
            problems.append(f"name must be a non-empty string, got {self.name!r}")
        if self.kind not in FACTOR_KINDS:
            return [*problems, f"kind {self.kind!r} is unknown; use one of {list(FACTOR_KINDS)}"]
        if self.kind == "weights":
            if (self.spread is None) == (self.concentration is None):
                problems.append("a weights factor takes either spread (uniform multipliers) or "
                                "concentration (Dirichlet), not both or neither")
            if self.spread is not None and not (_is_real(self.spread) and 0 <= self.spread < 1):
                problems.append(f"spread must be a number in [0, 1), got {self.spread!r} "
                                "(0.25 means weights vary by up to ±25%)")
            if self.concentration is not None and not (_is_real(self.concentration)
                                                       and self.concentration > 0):
                problems.append(f"concentration must be a number > 0, got {self.concentration!r}")
            if self.options or self.probs is not None:
                problems.append("a weights factor has no options")
        else:
            if self.spread is not None or self.concentration is not None:
                problems.append("spread and concentration apply to a weights factor only")
            if not self.options:
                problems.append("options must be a non-empty list")
            allowed = {"aggregation": (*AGGREGATIONS, OFFICIAL),
                       "missing": (*MISSING_POLICIES, OFFICIAL)}.get(self.kind)
            if allowed:
                bad = [o for o in self.options if o not in allowed]
                if bad:
                    problems.append(f"unknown option(s) {bad}; use {list(allowed)}")
            if self.kind == "normalisation":
                for o in self.options:
                    if isinstance(o, str) and o not in (*NORMALISATION_PRESETS, OFFICIAL):
                        problems.append(f"unknown normalisation preset {o!r}; use "
                                        f"{[*NORMALISATION_PRESETS, OFFICIAL]} or a scoring dict "
                                        "such as {'method': 'minmax', 'range': [0, 100]}")
                    elif isinstance(o, Mapping) and o.get("method") not in RELATIVE_METHODS:
                        problems.append(f"a normalisation option must use a relative method "
                                        f"{list(RELATIVE_METHODS)}, not {o.get('method')!r}")
                    elif not isinstance(o, str | Mapping):
                        problems.append(f"normalisation option {o!r} is neither a preset name "
                                        "nor a scoring dict")
            if self.kind == "grouping":
                bad = [o for o in self.options if not isinstance(o, str) or not o.strip()]
                if bad:
                    problems.append(f"grouping options are column names, 'official' or 'pool'; "
                                    f"got {bad}")
            if self.kind == "quota":
                bad = [o for o in self.options if not (_is_real(o) and o >= 0)]
                if bad:
                    problems.append(f"quota options are multipliers >= 0 of the official "
                                    f"quotas, got {bad}")
            labels = self.labels if not problems else []
            if any(labels[i] == labels[j] for i in range(len(labels))
                   for j in range(i + 1, len(labels))):
                problems.append(f"options must be distinct, got {list(labels)}")
        if self.nodes is not None and self.kind not in ("weights", "aggregation", "missing"):
            problems.append("nodes apply to weights, aggregation and missing factors only")
        if self.consequence is not None and self.kind != "quota":
            problems.append("consequence applies to a quota factor only")
        return problems

    @property
    def discrete(self) -> bool:
        """Whether the factor is a choice among options (every kind but ``weights``)."""
        return self.kind != "weights"

    @property
    def labels(self) -> tuple:
        """Option labels as shown in the draws table (scoring dicts written compactly)."""
        return tuple(_rule_label(o) if isinstance(o, Mapping) else o for o in self.options)

    def to_dict(self) -> dict:
        """The factor as plain data (what :func:`factor_from_spec` reads back)."""
        out = {"kind": self.kind, "name": self.name}
        if self.options:
            out["options"] = [copy.deepcopy(dict(o)) if isinstance(o, Mapping) else o
                              for o in self.options]
        for fld in ("probs", "spread", "concentration", "nodes", "consequence"):
            value = getattr(self, fld)
            if value is not None:
                out[fld] = list(value) if isinstance(value, tuple) else value
        return out


def _is_real(v) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)


def _rule_label(rule: Mapping) -> str:
    params = ", ".join(f"{k}={v}" for k, v in rule.items() if k != "method")
    return f"{rule['method']}({params})" if params else str(rule["method"])


def weights(spread: float | None = 0.25, *, concentration: float | None = None,
            nodes: Sequence[str] | None = None, name: str = "weights") -> SchemeFactor:
    """Uncertain weights: a random multiplier on the weight of each node.

    Parameters
    ----------
    spread : float
        Multipliers uniform on ``[1 - spread, 1 + spread)`` (default ±25%); 0 keeps the
        official weights. Ignored when ``concentration`` is given.
    concentration : float, optional
        Draw the shares of each set of siblings from ``Dirichlet(c * w)`` around the official
        shares ``w`` instead (larger ``c``: closer to the official weights; the variance of a
        share is ``w (1 - w) / (c + 1)``).
    nodes : sequence of str, optional
        Node ids whose weights vary (default: every node but the root with a positive weight).
    name : str
        Factor name.

    Returns
    -------
    SchemeFactor

    Notes
    -----
    The multipliers act on each unit's own weights (overrides included), and the weights are
    re-normalised within each parent, so a uniform multiplier of 1.25 on one of two equal
    siblings gives it ``1.25 / 2.25 = 55.6%``. Under Dirichlet the multiplier of node ``k`` is
    its drawn share over its official share among the siblings drawn together.

    Examples
    --------
    >>> weights(0.25).to_dict()
    {'kind': 'weights', 'name': 'weights', 'spread': 0.25}
    >>> weights(concentration=50).to_dict()
    {'kind': 'weights', 'name': 'weights', 'concentration': 50}
    """
    if concentration is not None:
        spread = None
    return SchemeFactor("weights", name, spread=spread, concentration=concentration,
                        nodes=None if nodes is None else tuple(nodes))


def normalisation(options=("minmax", "zscore"), probs=None, *,
                  name: str = "normalisation") -> SchemeFactor:
    """Uncertain normalisation rule of the leaves scored relative to other units.

    Parameters
    ----------
    options : sequence
        Preset names (:data:`NORMALISATION_PRESETS`), ``"official"``, or scoring dicts with a
        relative method (``minmax``, ``zscore``, ``percentile``; a ``within`` key overrides the
        leaf's own comparison set).
    probs : sequence of float, optional
        Probability of each option.
    name : str
        Factor name.

    Returns
    -------
    SchemeFactor

    Examples
    --------
    >>> normalisation(["minmax", {"method": "zscore", "offset": 50, "scale": 10}]).labels
    ('minmax', 'zscore(offset=50, scale=10)')
    """
    return SchemeFactor("normalisation", name, options=tuple(options), probs=_tuple(probs))


def aggregation(options=("arithmetic", "geometric"), probs=None, *,
                nodes: Sequence[str] | None = None, name: str = "aggregation") -> SchemeFactor:
    """Uncertain aggregation at the group nodes (加权算术/几何/调和平均, 最小值).

    Parameters
    ----------
    options : sequence of str
        From ``arithmetic``, ``geometric``, ``harmonic``, ``minimum`` and ``official``.
    probs : sequence of float, optional
        Probability of each option.
    nodes : sequence of str, optional
        Group node ids affected (``"total"`` is the root); default every group node.
    name : str
        Factor name.

    Returns
    -------
    SchemeFactor
    """
    return SchemeFactor("aggregation", name, options=tuple(options), probs=_tuple(probs),
                        nodes=None if nodes is None else tuple(nodes))


def missing(options=("renormalise", "zero", "impute_group_mean"), probs=None, *,
            nodes: Sequence[str] | None = None, name: str = "missing") -> SchemeFactor:
    """Uncertain missing-value policy at the group nodes.

    Parameters
    ----------
    options : sequence of str
        From ``renormalise``, ``zero``, ``impute_group_mean``, ``error`` and ``official``.
    probs : sequence of float, optional
        Probability of each option.
    nodes : sequence of str, optional
        Group node ids affected; default every group node.
    name : str
        Factor name.

    Returns
    -------
    SchemeFactor
    """
    return SchemeFactor("missing", name, options=tuple(options), probs=_tuple(probs),
                        nodes=None if nodes is None else tuple(nodes))


def grouping(options=(OFFICIAL, POOL), probs=None, *, name: str = "grouping") -> SchemeFactor:
    """Uncertain comparison groups (比较分组): official, another units column, or one pool.

    Parameters
    ----------
    options : sequence of str
        ``"official"``, ``"pool"`` or a column of the units table (``"parent"``,
        ``"subgroup"``, ...).
    probs : sequence of float, optional
        Probability of each option.
    name : str
        Factor name.

    Returns
    -------
    SchemeFactor

    Notes
    -----
    Quotas under a grouping other than the official one follow the largest-remainder rule in
    the module notes.
    """
    return SchemeFactor("grouping", name, options=tuple(options), probs=_tuple(probs))


def quota(options=(0.5, 1.0, 1.5), probs=None, *, consequence: str | None = None,
          name: str | None = None) -> SchemeFactor:
    """Uncertain quota size: a multiplier on the quotas of one consequence.

    Parameters
    ----------
    options : sequence of float
        Multipliers of the official quotas (each quota becomes ``floor(f q + 1/2)``).
    probs : sequence of float, optional
        Probability of each option.
    consequence : str, optional
        Consequence key (e.g. ``"praised"``); default the first with a ``top:`` quota.
    name : str, optional
        Factor name (default ``"quota"``, or ``"quota_<consequence>"`` when one is named).

    Returns
    -------
    SchemeFactor
    """
    return SchemeFactor("quota", name or (f"quota_{consequence}" if consequence else "quota"),
                        options=tuple(options), probs=_tuple(probs), consequence=consequence)


def _tuple(x):
    return None if x is None else tuple(x)


_CONSTRUCTORS = {"weights": weights, "normalisation": normalisation, "aggregation": aggregation,
                 "missing": missing, "grouping": grouping, "quota": quota}


def factor_from_spec(spec) -> SchemeFactor:
    """A factor from plain data: a :class:`SchemeFactor`, a kind name, or a dict.

    Parameters
    ----------
    spec : SchemeFactor, str or dict
        ``"weights"`` (defaults of :func:`weights`), or ``{"kind": "quota", "options": [1, 2]}``
        with the arguments of the kind's constructor.

    Returns
    -------
    SchemeFactor

    Raises
    ------
    SchemeError
        If the kind is unknown or an argument does not apply.

    Examples
    --------
    >>> factor_from_spec({"kind": "aggregation", "options": ["arithmetic", "minimum"]}).labels
    ('arithmetic', 'minimum')
    """
    if isinstance(spec, SchemeFactor):
        return spec
    if isinstance(spec, str):
        spec = {"kind": spec}
    if not isinstance(spec, Mapping) or "kind" not in spec:
        raise SchemeError(f"a factor is a kind name or a mapping with 'kind:', got {spec!r}",
                          key="factors")
    args = dict(spec)
    kind = args.pop("kind")
    if kind not in _CONSTRUCTORS:
        raise SchemeError(f"unknown factor kind {kind!r}; use one of {list(FACTOR_KINDS)}",
                          key="factors")
    if kind == "weights" and "concentration" in args and "spread" not in args:
        args["spread"] = None
    try:
        return _CONSTRUCTORS[kind](**args)
    except TypeError as err:
        raise SchemeError(f"factor of kind {kind!r}: {err}", key="factors") from None


# ============================================================================ scheme variants
def _normalisation_rule(option) -> dict | None:
    """Scoring dict of a normalisation option (None for 'official')."""
    if isinstance(option, Mapping):
        return copy.deepcopy(dict(option))
    if option == OFFICIAL:
        return None
    return copy.deepcopy(NORMALISATION_PRESETS[option])


def _replace_relative(rule: dict, new: dict | None) -> dict | None:
    """The leaf rule with its relative part replaced by ``new`` (None if nothing changes)."""
    if new is None:
        return None
    method = rule["method"]
    if method in RELATIVE_METHODS:
        return {**new, "within": new.get("within", rule.get("within", "group"))}
    if method in ("growth", "level_and_change") and rule["then"]["method"] in RELATIVE_METHODS:
        then = rule["then"]
        return {**copy.deepcopy(rule),
                "then": {**new, "within": new.get("within", then.get("within", "group"))}}
    return None


def _quota_spec(raw, scale: float):
    """An official quota spec (number or group -> number or subgroup -> number) scaled."""
    if isinstance(raw, Mapping):
        return {g: _quota_spec(v, scale) for g, v in raw.items()}
    return int(math.floor(scale * raw + 0.5))


def _apportion(total: int, sizes: pd.Series) -> dict:
    """Largest-remainder (Hamilton) apportionment of ``total`` seats to groups of ``sizes``.

    Ties in the remainders go to the larger group, then to the group that sorts first.
    """
    exact = total * sizes.to_numpy(dtype=float) / sizes.sum()
    seats = np.floor(exact).astype(int)
    left = total - int(seats.sum())
    order = sorted(range(len(sizes)), key=lambda i: (-(exact[i] - seats[i]), -sizes.iloc[i], i))
    for i in order[:left]:
        seats[i] += 1
    return {str(g): int(s) for g, s in zip(sizes.index, seats, strict=True)}


def _variant_spec(scheme: Scheme, level: str, units: pd.DataFrame, params: Mapping) -> dict:
    """The scheme spec with the design choices of one run (see :meth:`Uncertainty.rebuild`).

    ``params`` keys (each optional): ``normalisation`` (option), ``grouping`` (option),
    ``quota`` ({consequence: multiplier}), ``aggregation`` ({node: method}), ``missing``
    ({node: policy}), ``weights`` ({node: multiplier}).
    """
    spec = copy.deepcopy(scheme.spec)
    body = spec["levels"][level]
    lspec = scheme.levels[level]

    def node_spec(node_id: str) -> dict:
        return body if node_id == "total" else _find_node_spec(body["tree"], node_id)

    new_rule = _normalisation_rule(params["normalisation"]) if "normalisation" in params else None
    if new_rule is not None:
        for nd in lspec.root.walk():
            if nd.kind == "leaf":
                replaced = _replace_relative(nd.scoring, new_rule)
                if replaced is not None:
                    node_spec(nd.id)["scoring"] = replaced

    ranking = body.setdefault("ranking", {})
    official_gb = lspec.ranking.get("group_by")
    option = params.get("grouping", OFFICIAL)
    official = option == OFFICIAL or (option == POOL and not official_gb) or option == official_gb
    scales = dict(params.get("quota", {}))
    consequences = body.get("consequences") or {}
    if not official:
        # null, not absent: the engine reads an absent group_by as the "group" column
        ranking["group_by"] = None if option == POOL else option
    for key, cbody in consequences.items():
        if key == "veto" or not isinstance(cbody, dict):
            continue
        for side in ("top", "bottom"):
            if cbody.get(side) is None:
                continue
            scale = float(scales.get(key, 1.0))
            if official:
                if key in scales:
                    cbody[side] = _quota_spec(cbody[side], scale)
                continue
            rows = _quota_table(lspec, key, side, units)
            total = int(math.floor(scale * sum(r["n"] for r in rows) + 0.5))
            if option == POOL:
                cbody[side] = total
            else:
                sizes = units.groupby(units[option].astype(str), sort=True).size()
                cbody[side] = _apportion(total, sizes)

    for node_id, method in (params.get("aggregation") or {}).items():
        node_spec(node_id)["aggregate"] = method
    for node_id, policy in (params.get("missing") or {}).items():
        node_spec(node_id)["missing"] = policy

    mult = params.get("weights") or {}
    if mult:
        overrides = body.get("overrides") or {}
        for parent in lspec.root.walk():
            kids = parent.children
            if not any(c.id in mult for c in kids):
                continue
            # Re-normalise the siblings' new weights to sum to 1 (readable), and let the parent
            # normalise per unit (overrides, applies_to) as the engine's aggregation does anyway.
            new = {c.id: c.weight * float(mult.get(c.id, 1.0)) for c in kids}
            z = sum(new[c.id] for c in kids if c.applies_to is None) or 1.0
            for c in kids:
                node_spec(c.id)["weight"] = new[c.id] / z
            node_spec(parent.id)["normalise_weights"] = True
            for ov in overrides.values():
                ow = (ov or {}).get("weights") or {}
                for c in kids:
                    if c.id in ow:
                        ow[c.id] = float(ow[c.id]) * float(mult.get(c.id, 1.0)) / z
    return spec


# ============================================================================ compiled level
@dataclass
class _Grouping:
    """Comparison groups as integer codes, with the static layout of a sort by group."""

    codes: np.ndarray  # (n,) group number of each unit
    n_codes: int
    start: np.ndarray  # (n,) first sorted position of the group at each sorted position
    size: np.ndarray  # (n,) size of each unit's group
    end: np.ndarray  # (n,) one past the last sorted position of the group at each position

    @classmethod
    def from_labels(cls, labels) -> _Grouping:
        labels = np.asarray(labels, dtype=object).astype(str)
        _, codes = np.unique(labels, return_inverse=True)
        codes = codes.astype(np.int64)
        counts = np.bincount(codes)
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        start = np.repeat(starts, counts)
        return cls(codes, len(counts), start, counts[codes], start + np.repeat(counts, counts))


@dataclass
class _QuotaSide:
    """One consequence side (top or bottom) under one grouping: members and their quotas."""

    key_index: int
    side: str
    rows: np.ndarray  # (n,) quota row of each unit (-1: no quota applies)
    subgroup_level: np.ndarray  # (n_rows,) bool: the row is a subgroup quota
    grouping: _Grouping  # the rows as comparison groups (bottom ranks)
    quotas: dict  # quota-option combination -> (n_rows,) int
    same_as_group: bool = False  # the rows are exactly the comparison groups
    eligible: _Grouping | None = None  # top: the rows without vetoed units (places)
    place_is_rank: bool = False  # top: a unit's place equals its rank (no veto, min/first ties)


@dataclass
class _RankPlan:
    """Everything the ranking and consequences need under one grouping option."""

    group: _Grouping
    subgroup: _Grouping | None
    sides: list  # of _QuotaSide, in the engine's processing order (consequence, top, bottom)
    grade_sizes: np.ndarray  # (n,) group size for grades by share


@dataclass
class _ParentPlan:
    """One group node under one discrete key: static matrices for the matrix products."""

    node: int
    method: str
    policy: str
    leaf_kids: np.ndarray  # node indices
    group_kids: np.ndarray
    kids: np.ndarray  # leaf kids then group kids (order of the columns of w_ok)
    f_leaf: np.ndarray  # (n, n_leaf) a_ik f(s_ik), 0 where unusable
    w_ok: np.ndarray  # (n, n_kids) a_ik where usable, else 0
    zero_leaf: np.ndarray  # (n,) harmonic: a usable leaf child scores 0
    min_leaf: np.ndarray  # (n,) minimum of usable leaf children (inf if none)
    valid: np.ndarray  # (n,) the node has a score
    fill: list  # per group kid: (missing mask (n,) or None, policy)
    group_scalar: list  # per group kid: scalar weight if equal for every unit, else None
    all_valid: bool
    uniform_w: np.ndarray | None = None  # (n_kids,) when every unit has the same usable weights


@dataclass
class _SubPlan:
    parents: list  # of _ParentPlan, children before parents
    leaf_filled: dict  # leaf node index -> (n,) score after the parent's missing policy


@dataclass
class _SubPeriod:
    period: str
    w: np.ndarray  # (n, N) per-unit weight of every node within its parent
    ded: np.ndarray  # (n,) deduction points (negative)
    coef: np.ndarray  # (n,)
    vetoed: np.ndarray  # (n,)
    leaf_scores: dict = field(default_factory=dict)  # (norm, group) -> (n, N)


class _Compiled:
    """A scheme level compiled into arrays for vectorised runs (picklable, for dask)."""

    def __init__(self, scheme: Scheme, data: Dataset, period: str, level: str,
                 factors: tuple[SchemeFactor, ...], praised: list[str], summoned: list[str]):
        self.level = level
        spec = scheme.levels[level]
        self.spec_max_points = spec.max_points
        ev = evaluate(scheme, data, period)
        table = ev.scores[ev.scores["level"] == level].reset_index(drop=True)
        self.nominal_table = table
        subs = list(ev.sub_results)
        first: LevelResult = ev.sub_results[subs[0]][level]
        self.units = first.units
        self.n = len(self.units)
        self.nodes = first.nodes
        self.N = len(self.nodes)
        self.ids = [nd.id for nd in self.nodes]
        index = {id(nd): j for j, nd in enumerate(self.nodes)}
        self.children = [np.array([index[id(c)] for c in nd.children], dtype=np.intp)
                         for nd in self.nodes]
        self.parents = [j for j in reversed(range(self.N)) if len(self.children[j])]
        self.is_group = np.array([nd.kind == "group" for nd in self.nodes])
        combine = scheme.spec.get("combine", {}) or {}
        cw = (combine.get("weights") or [1.0] * len(subs)) if len(subs) > 1 else [1.0]
        cw = np.asarray(cw, float)
        self.mix = (cw / cw.sum()).tolist()
        veto = (spec.consequences.get("veto") or {}).get("score")
        self.veto_score = None if veto is None else float(veto)

        self.factors = factors
        by_kind: dict[str, list[SchemeFactor]] = {}
        for f in factors:
            by_kind.setdefault(f.kind, []).append(f)
        self._check_factor_kinds(by_kind, spec)
        self.f_norm = (by_kind.get("normalisation") or [None])[0]
        self.f_group = (by_kind.get("grouping") or [None])[0]
        self.f_miss = (by_kind.get("missing") or [None])[0]
        self.f_agg = (by_kind.get("aggregation") or [None])[0]
        self.f_weights = by_kind.get("weights", [])
        self.f_quota = by_kind.get("quota", [])
        self.scheme = scheme

        # ---- sub-periods: weights, deductions, coefficients, vetoes (not design choices)
        self.subs = []
        self._wide: dict = {}  # period -> units x indicators table, shared by every Scorer
        for p in subs:
            res: LevelResult = ev.sub_results[p][level]
            if len(res.units) != self.n or not res.units["unit"].equals(self.units["unit"]):
                raise SchemeError(f"the units of level {level!r} differ between sub-periods "
                                  "(exclude_incomplete); the uncertainty analysis needs the same "
                                  "units in every sub-period", key=f"levels.{level}.units")
            scorer = self._scorer(data, spec, p)
            w = _base_weights(spec, self.nodes, self.units, scorer, ev.sub_results[p])
            ded = res.deductions.groupby("unit")["points"].sum().reindex(
                self.units["unit"]).fillna(0.0).to_numpy() if len(res.deductions) else np.zeros(self.n)
            self.subs.append(_SubPeriod(p, w, ded, np.asarray(res.coefficient, float),
                                        np.asarray(res.vetoed, bool)))
        self.vetoed = np.logical_or.reduce([s.vetoed for s in self.subs])

        # ---- options of the discrete factors
        self.norm_options = list(self.f_norm.options) if self.f_norm else [OFFICIAL]
        self.group_options = self._grouping_options(spec, data)
        self.miss_options = list(self.f_miss.options) if self.f_miss else [OFFICIAL]
        self.agg_options = list(self.f_agg.options) if self.f_agg else [OFFICIAL]
        group_ids = [nd.id for nd in self.nodes if nd.kind == "group"]
        self.agg_nodes = self._factor_nodes(self.f_agg, group_ids, "group node")
        self.miss_nodes = self._factor_nodes(self.f_miss, group_ids, "group node")
        self._weights_layout()

        # ---- leaf scores per (normalisation, grouping) option, by the engine's own Scorer
        # (a Scorer's spec only decides the comparison groups: one per grouping and period)
        self.variant_specs: dict = {}
        for gi, gopt in enumerate(self.group_options):
            scorers = {}
            for ni, nopt in enumerate(self.norm_options):
                vspec = self._level_variant({"normalisation": nopt, "grouping": gopt})
                self.variant_specs[(ni, gi)] = vspec
                for sub in self.subs:
                    if sub.period not in scorers:
                        scorers[sub.period] = self._scorer(data, vspec, sub.period)
                    sub.leaf_scores[(ni, gi)] = self._leaf_scores(scorers[sub.period], vspec,
                                                                  sub, ev)
        del self._wide
        self.impute_groups = [
            sc.GroupIndex(group_labels(self.units, self.variant_specs[(0, gi)], "group"))
            for gi in range(len(self.group_options))]

        # ---- ranking, quotas and consequences
        self._compile_ranking(spec, praised, summoned)
        # ---- static plans for every discrete key (checks every combination before any run)
        self.plans: dict = {}
        for key in product(range(len(self.norm_options)), range(len(self.group_options)),
                           range(len(self.miss_options)), range(len(self.agg_options))):
            self.plans[key] = [self._plan(key, sub) for sub in self.subs]
        self.nominal_rank = table["group_rank"].to_numpy(dtype=float)

    # ------------------------------------------------------------------ factor checks
    def _check_factor_kinds(self, by_kind: dict, spec: LevelSpec) -> None:
        problems = []
        for kind, fs in by_kind.items():
            if kind not in ("quota", "weights") and len(fs) > 1:
                problems.append(f"{len(fs)} factors of kind {kind!r}; give one")
        quota_keys = [k for k, b in spec.consequences.items()
                      if k != "veto" and isinstance(b, dict) and ("top" in b or "bottom" in b)]
        seen = set()
        for f in by_kind.get("quota", []):
            key = f.consequence
            if key is None:
                tops = [k for k in quota_keys if spec.consequences[k].get("top") is not None]
                if not tops:
                    problems.append(f"factor {f.name!r}: level {spec.level!r} has no top quota; "
                                    "name the consequence")
                    continue
                key = tops[0]
                object.__setattr__(f, "consequence", key)
            if key not in quota_keys:
                problems.append(f"factor {f.name!r}: consequence {key!r} has no quota in level "
                                f"{spec.level!r}; quota consequences: {quota_keys}")
            if key in seen:
                problems.append(f"two quota factors scale consequence {key!r}")
            seen.add(key)
        names = [f.name for fs in by_kind.values() for f in fs]
        dup = sorted({x for x in names if names.count(x) > 1})
        if dup:
            problems.append(f"factor names must be unique; repeated: {dup}")
        if problems:
            raise SchemeError("the uncertainty factors are not valid: " + "; ".join(problems),
                              key="factors")

    def _factor_nodes(self, factor, allowed: list[str], what: str) -> list[str]:
        if factor is None:
            return []
        if factor.nodes is None:
            return list(allowed)
        unknown = [x for x in factor.nodes if x not in allowed]
        if unknown:
            raise SchemeError(f"factor {factor.name!r} names {unknown}, which are not {what}s of "
                              f"level {self.level!r}; {what}s: {allowed}",
                              key=f"factors.{factor.name}.nodes")
        return list(factor.nodes)

    def _grouping_options(self, spec: LevelSpec, data: Dataset) -> list[str]:
        if self.f_group is None:
            return [OFFICIAL]
        options = list(self.f_group.options)
        file = data.sources.get("units", f"units of dataset {data.name!r}")
        for o in options:
            if o in (OFFICIAL, POOL):
                continue
            if o not in self.units.columns:
                raise SchemeError(f"grouping option {o!r} is not a column of the units table; "
                                  f"columns: {list(self.units.columns)}",
                                  key=f"factors.{self.f_group.name}.options")
            blank = self.units[o].astype(str).str.strip() == ""
            if blank.any():
                raise DataError([Problem(f"unit {u} ({nm}) has no {o}, so it cannot be grouped "
                                         f"by {o!r} (grouping factor); fill it in or drop the "
                                         "option", file=file, column=o)
                                 for u, nm in zip(self.units["unit"][blank],
                                                  self.units["name"][blank], strict=True)])
        return options

    def _weights_layout(self) -> None:
        """Columns of the design for the weight multipliers, and how to decode them."""
        self.weight_columns: list[tuple[str, int]] = []  # (factor name, node index)
        self.dirichlet_sets: list = []
        taken: dict[int, str] = {}
        candidates = [nd.id for nd in self.nodes[1:] if nd.weight > 0]
        for f in self.f_weights:
            chosen = self._factor_nodes(f, candidates, "node with a positive weight")
            if not chosen:
                raise SchemeError(f"weights factor {f.name!r} varies no node; name nodes with a "
                                  f"positive weight: {candidates}", key=f"factors.{f.name}.nodes")
            for nid in chosen:
                j = self.ids.index(nid)
                if j in taken:
                    raise SchemeError(f"node {nid!r} is in two weights factors ({taken[j]!r} and "
                                      f"{f.name!r})", key=f"factors.{f.name}.nodes")
                taken[j] = f.name
                self.weight_columns.append((f.name, j))
            if f.concentration is not None:
                cols = [k for k, (name, _) in enumerate(self.weight_columns) if name == f.name]
                parent_of = {int(c): p for p in range(self.N) for c in self.children[p]}
                sets: dict[int, list[int]] = {}
                for k in cols:
                    sets.setdefault(parent_of[self.weight_columns[k][1]], []).append(k)
                for members in sets.values():
                    w = np.array([self.nodes[self.weight_columns[k][1]].weight for k in members])
                    alpha = f.concentration * w / w.sum()
                    self.dirichlet_sets.append((np.array(members), alpha, w.sum() / w))
        self.weight_spread = np.array(
            [next(f for f in self.f_weights if f.name == name).spread or 0.0
             for name, _ in self.weight_columns])
        self.weight_dirichlet = np.zeros(len(self.weight_columns), bool)
        for members, _, _ in self.dirichlet_sets:
            self.weight_dirichlet[members] = True
        self.weight_nodes = np.array([j for _, j in self.weight_columns], dtype=np.intp)

    def multipliers(self, u: np.ndarray) -> np.ndarray:
        """Weight multipliers (d, n_weight_columns) from the design's uniform draws."""
        m = 1.0 + self.weight_spread * (2.0 * u - 1.0)
        for members, alpha, scale in self.dirichlet_sets:
            g = special.gammaincinv(alpha[None, :], u[:, members])
            g = np.maximum(g, np.finfo(float).tiny)  # a share underflowing to 0 stays positive
            m[:, members] = g / g.sum(axis=1, keepdims=True) * scale[None, :]
        return m

    # ------------------------------------------------------------------ variants
    def _level_variant(self, params: Mapping) -> LevelSpec:
        spec = _variant_spec(self.scheme, self.level, self.units, params)
        return Scheme(spec, source=self.scheme.source, lines=self.scheme.lines).levels[self.level]

    def _scorer(self, data: Dataset, spec: LevelSpec, period: str) -> Scorer:
        scorer = Scorer(data, spec, self.units, period)
        scorer._wide = self._wide  # same units and periods: reshape the long table once
        return scorer

    def _leaf_scores(self, scorer: Scorer, vspec: LevelSpec, sub: _SubPeriod,
                     ev) -> np.ndarray:
        scores = np.full((self.n, self.N), np.nan)
        upstream = ev.sub_results[sub.period]
        for j, nd in enumerate(vspec.root.walk()):
            if nd.kind == "leaf":
                scores[:, j] = scorer.score(nd)[1]
            elif nd.kind == "rollup":
                scores[:, j] = _rollup(nd, self.units, upstream)[0]
            elif nd.kind == "shared":
                scores[:, j] = _shared(nd, self.units, upstream, sub.w[:, j])[0]
        return scores

    # ------------------------------------------------------------------ plans
    def _method(self, node: int, agg_i: int) -> str:
        option = self.agg_options[agg_i]
        if option == OFFICIAL or self.ids[node] not in self.agg_nodes:
            return self.nodes[node].aggregate
        return option

    def _policy(self, node: int, miss_i: int) -> str:
        option = self.miss_options[miss_i]
        if option == OFFICIAL or self.ids[node] not in self.miss_nodes:
            return self.nodes[node].missing
        return option

    def _describe(self, key) -> str:
        parts = []
        for factor, options, i in ((self.f_norm, self.norm_options, key[0]),
                                   (self.f_group, self.group_options, key[1]),
                                   (self.f_miss, self.miss_options, key[2]),
                                   (self.f_agg, self.agg_options, key[3])):
            if factor is not None:
                label = options[i]
                parts.append(f"{factor.name}={_rule_label(label) if isinstance(label, Mapping) else label}")
        return ", ".join(parts) or "the official design"

    def _plan(self, key, sub: _SubPeriod) -> _SubPlan:
        norm_i, grp_i, miss_i, agg_i = key
        scores = sub.leaf_scores[(norm_i, grp_i)]
        w = sub.w
        n = self.n
        valid = np.isfinite(scores)
        leaf_filled: dict = {}
        plans = []
        units = self.units
        for p in self.parents:
            kids = self.children[p]
            method = self._method(p, agg_i)
            policy = self._policy(p, miss_i)
            is_leaf = ~self.is_group[kids]
            leaf_kids, group_kids = kids[is_leaf], kids[~is_leaf]
            cw = w[:, kids]
            kid_valid = valid[:, kids]
            miss = ~kid_valid & (cw > 0)
            if miss.any() and policy == "error":
                i, k = np.argwhere(miss)[0]
                raise DataError(
                    f"unit {units['unit'][i]} ({units['name'][i]}) has no score for "
                    f"{self.ids[kids[k]]!r} in period {sub.period}, and node {self.ids[p]!r} has "
                    f"the missing-value policy 'error' under {self._describe(key)}; drop the "
                    "option 'error' from the missing factor or supply the value")
            # Leaf children: fill missing scores as the engine does (_apply_missing).
            leaf_scores = scores[:, leaf_kids]
            lmiss = miss[:, is_leaf]
            if lmiss.any() and policy in ("zero", "impute_group_mean"):
                scorer = _GroupsOnly(self.impute_groups[grp_i])
                leaf_scores = _apply_missing(_Policy(policy, self.ids[p]), self.nodes,
                                             list(leaf_kids), leaf_scores, lmiss, units, scorer,
                                             [], sub.period)
            for c, k in enumerate(leaf_kids):
                leaf_filled[int(k)] = leaf_scores[:, c]
            lw = w[:, leaf_kids]
            lok = np.isfinite(leaf_scores) & (lw > 0)
            # Group children: missing pattern is static (a group node has a score iff one of its
            # children is usable), the values are filled per draw.
            fill = []
            gvalid = []
            for c, k in enumerate(group_kids):
                mask = miss[:, np.flatnonzero(~is_leaf)[c]]
                if mask.any() and policy == "impute_group_mean":
                    g = self.impute_groups[grp_i]
                    has = g.count(np.where(valid[:, k], 1.0, np.nan)) > 0
                    if not has[mask].all():
                        i = np.flatnonzero(mask & ~has)[0]
                        raise DataError(f"cannot impute {self.ids[k]!r} for unit "
                                        f"{units['unit'][i]}: no unit in its group has a value "
                                        f"(under {self._describe(key)})")
                fill.append((mask if mask.any() and policy != "renormalise" else None, policy))
                gvalid.append(valid[:, k] | (mask if policy != "renormalise" else False))
            gok = (np.column_stack(gvalid) if len(group_kids) else np.zeros((n, 0), bool)) \
                & (w[:, group_kids] > 0)
            ok = np.concatenate([lok, gok], axis=1)
            order = np.concatenate([leaf_kids, group_kids])
            w_ok = np.where(ok, w[:, order], 0.0)
            node_valid = w_ok.sum(axis=1) > 0
            s = np.where(lok, leaf_scores, 1.0)
            zero_leaf = np.zeros(n, bool)
            min_leaf = np.full(n, np.inf)
            if method == "arithmetic":
                f_leaf = np.where(lok, lw * s, 0.0)
            elif method == "geometric":
                bad = lok & (s <= 0)
                if bad.any():
                    i, k = np.argwhere(bad)[0]
                    raise SchemeError(
                        f"geometric mean under {self.ids[p]!r} meets a score of "
                        f"{leaf_scores[i, k]:g} for unit {units['unit'][i]} ({units['name'][i]}) "
                        f"on {self.ids[leaf_kids[k]]!r} under {self._describe(key)}; a geometric "
                        "mean needs positive scores: drop one of these factor options or use a "
                        "normalisation with a positive floor such as min–max onto [60, 100]",
                        key=f"factors.{self.f_agg.name if self.f_agg else 'aggregation'}")
                f_leaf = np.where(lok, lw * np.log(s), 0.0)
            elif method == "harmonic":
                zero_leaf = (lok & (s == 0)).any(axis=1)
                f_leaf = np.where(lok & (s != 0), lw / np.where(s != 0, s, 1.0), 0.0)
            else:
                f_leaf = np.zeros((n, len(leaf_kids)))
                min_leaf = np.where(lok, s, np.inf).min(axis=1, initial=np.inf)
            gw = w[:, group_kids]
            scal = [float(gw[0, c]) if (gw[:, c] == gw[0, c]).all() else None
                    for c in range(len(group_kids))]
            valid[:, p] = node_valid
            uniform = w_ok[0].copy() if (w_ok == w_ok[0]).all() and node_valid.all() else None
            plans.append(_ParentPlan(p, method, policy, leaf_kids, group_kids, order,
                                     np.ascontiguousarray(f_leaf), np.ascontiguousarray(w_ok),
                                     zero_leaf, min_leaf, node_valid, fill, scal,
                                     bool(node_valid.all()), uniform))
        if not valid[:, 0].all():
            i = np.flatnonzero(~valid[:, 0])[0]
            raise DataError(f"unit {units['unit'][i]} ({units['name'][i]}) has no usable value "
                            f"for any indicator of level {self.level!r} in period {sub.period} "
                            f"under {self._describe(key)}")
        return _SubPlan(plans, leaf_filled)

    # ------------------------------------------------------------------ ranking
    def _compile_ranking(self, spec: LevelSpec, praised: list[str], summoned: list[str]):
        ties = spec.ranking.get("ties", {}) or {}
        self.tie_method = ties.get("method", "min")
        if self.tie_method not in ("min", "average", "dense", "first"):
            raise SchemeError("ties.method must be min, average, dense or first",
                              key=f"levels.{self.level}.ranking.ties.method")
        at_quota = ties.get("at_quota", "include")
        if at_quota not in ("include", "exclude"):
            raise SchemeError("ties.at_quota must be include or exclude",
                              key=f"levels.{self.level}.ranking.ties.at_quota")
        self.exclude_at_quota = at_quota == "exclude"
        self.decimals = int(ties.get("decimals", SCORE_DECIMALS))
        self.break_by = []
        for nid in ties.get("break_by", []) or []:
            if nid not in self.ids:
                raise SchemeError(f"ties.break_by names unknown node {nid!r}",
                                  key=f"levels.{self.level}.ranking.ties.break_by")
            self.break_by.append(self.ids.index(nid))
        ids = self.units["unit"].astype(str).to_numpy(dtype=object)
        self.id_rank = np.empty(self.n, np.int64)
        self.id_rank[np.argsort(ids, kind="stable")] = np.arange(self.n)

        self.consequence_keys = [k for k, b in spec.consequences.items()
                                 if k != "veto" and isinstance(b, dict)]
        unknown = [k for k in [*praised, *summoned] if k not in self.consequence_keys]
        if unknown:
            raise SchemeError(f"praised/summoned name consequence(s) {unknown} that level "
                              f"{self.level!r} does not have; consequences: {self.consequence_keys}",
                              key=f"levels.{self.level}.consequences")
        self.praised_keys, self.summoned_keys = praised, summoned
        self.grade_rules = {}
        g = spec.grades
        if g:
            bands = g["bands"]
            self.grade_labels = [b[1] for b in bands]
            self.grade_by = g.get("by", "score")
            if self.grade_by == "score":
                cuts = [b[0] for b in bands]
                if any(a <= b for a, b in zip(cuts, cuts[1:], strict=False)):
                    raise SchemeError("grade thresholds must decrease (best grade first)",
                                      key=f"levels.{self.level}.grades.bands")
            elif self.grade_by != "share":
                raise SchemeError("grades.by must be score or share",
                                  key=f"levels.{self.level}.grades.by")
            self.grade_cuts = np.asarray([b[0] for b in bands], float)
        for c, key in enumerate(self.consequence_keys):
            body = spec.consequences[key]
            if "grades" in body:
                if not g:
                    raise SchemeError(f"consequence {key!r} names grades, but level "
                                      f"{self.level!r} has no grades:",
                                      key=f"levels.{self.level}.consequences.{key}")
                wanted = body["grades"] if isinstance(body["grades"], list) else [body["grades"]]
                self.grade_rules[c] = np.array([lab in wanted for lab in self.grade_labels])
        self.quota_combos = list(product(*[range(len(f.options)) for f in self.f_quota]))
        self.rank_plans = []
        for gi, gopt in enumerate(self.group_options):
            self.rank_plans.append(self._rank_plan(spec, gi, gopt))
        self.official_group = self.rank_plans[self._official_index()].group \
            if self._official_index() is not None else self._official_grouping(spec)
        self.rank_bins = 2 * int(self.official_group.size.max()) + 2

    def _official_index(self):
        gb = self.scheme.levels[self.level].ranking.get("group_by")
        for gi, o in enumerate(self.group_options):
            if o == OFFICIAL or o == gb or (o == POOL and not gb):
                return gi
        return None

    def _official_grouping(self, spec: LevelSpec) -> _Grouping:
        gb = spec.ranking.get("group_by")
        return _Grouping.from_labels(self.units[gb] if gb else [""] * self.n)

    def _rank_plan(self, spec: LevelSpec, gi: int, gopt: str) -> _RankPlan:
        base = self.variant_specs[(0, gi)]
        gb = base.ranking.get("group_by")
        sb = base.ranking.get("subgroup_by")
        units = self.units
        group = _Grouping.from_labels(units[gb] if gb else [""] * self.n)
        subgroup = None
        if sb:
            labels = (units[gb].astype(str) + "\x1f" if gb else "") + units[sb].astype(str)
            subgroup = _Grouping.from_labels(labels)
        g_codes, g_lookup = _codes(units[gb]) if gb else (None, {})
        s_codes, s_lookup = _codes(units[sb]) if sb else (None, {})
        sides = []
        variants = {}
        for combo in self.quota_combos:
            params = {"grouping": gopt,
                      "quota": {f.consequence: f.options[i]
                                for f, i in zip(self.f_quota, combo, strict=True)}}
            variants[combo] = self._level_variant(params)
        for c, key in enumerate(self.consequence_keys):
            body = spec.consequences[key]
            if "grades" in body:
                continue
            for side in ("top", "bottom"):
                if body.get(side) is None:
                    continue
                quotas = {}
                rows_ref = None
                for combo, vspec in variants.items():
                    rows = _quota_table(vspec, key, side, units)
                    if rows_ref is None:
                        rows_ref = rows
                    quotas[combo] = np.array([r["n"] for r in rows], dtype=np.int64)
                member = np.full(self.n, -1, np.int64)
                sub_level = np.zeros(len(rows_ref), bool)
                for r, row in enumerate(rows_ref):
                    inside = g_codes == g_lookup.get(row["group"], -1) if gb \
                        else np.ones(self.n, bool)
                    if row["subgroup"] is not None:
                        inside = inside & (s_codes == s_lookup.get(row["subgroup"], -1))
                        sub_level[r] = True
                    member[inside] = r
                rows_group = _Grouping.from_labels(np.where(member >= 0, member, len(rows_ref)))
                quota_side = _QuotaSide(c, side, member, sub_level, rows_group, quotas,
                                        _same_partition(rows_group.codes, group.codes))
                if side == "top":
                    # A unit's place is 1 + the eligible (not vetoed) members ranked strictly
                    # better: vetoed units go to a bucket of their own.
                    out = (member < 0) | self.vetoed
                    quota_side.eligible = _Grouping.from_labels(
                        np.where(out, len(rows_ref), member))
                    quota_side.place_is_rank = (self.tie_method in ("min", "first")
                                                and not (self.vetoed & (member >= 0)).any())
                sides.append(quota_side)
        self._check_quota_overlap(sides, group, subgroup, gopt)
        grade_sizes = group.size.astype(float)
        return _RankPlan(group, subgroup, sides, grade_sizes)

    def _check_quota_overlap(self, sides, group: _Grouping, subgroup, gopt) -> None:
        """Quotas of one group (and of one subgroup) may not add up to more than its units."""
        for combo in self.quota_combos:
            need_group = np.zeros(group.n_codes, np.int64)
            need_sub = np.zeros(subgroup.n_codes if subgroup else 0, np.int64)
            for s in sides:
                q = s.quotas[combo]
                for r in range(len(q)):
                    members = np.flatnonzero(s.rows == r)
                    if not len(members):
                        continue
                    need_group[group.codes[members[0]]] += q[r]
                    if s.subgroup_level[r]:
                        need_sub[subgroup.codes[members[0]]] += q[r]
            desc = ", ".join(f"{f.name}={f.options[i]}" for f, i in
                             zip(self.f_quota, combo, strict=True))
            checks = [(need_group, group)] + ([(need_sub, subgroup)] if subgroup else [])
            for need, grp in checks:
                sizes = np.bincount(grp.codes, minlength=grp.n_codes)
                over = np.flatnonzero(need > sizes)
                if len(over):
                    code = over[0]
                    unit = np.flatnonzero(grp.codes == code)[0]
                    label = self._group_label(unit, gopt, sub=grp is subgroup)
                    raise SchemeError(
                        f"under grouping {gopt!r}{' and ' + desc if desc else ''} the quotas of "
                        f"{label!r} add up to {int(need[code])}, more than its "
                        f"{int(sizes[code])} units; choose smaller quota multipliers",
                        key="factors")

    def _group_label(self, unit: int, gopt: str, sub: bool = False) -> str:
        ranking = self.variant_specs[(0, self.group_options.index(gopt))].ranking
        gb, sb = ranking.get("group_by"), ranking.get("subgroup_by")
        label = str(self.units[gb].iloc[unit]) if gb else "(all units)"
        return f"{label}/{self.units[sb].iloc[unit]}" if sub else label

    # ------------------------------------------------------------------ one chunk of runs
    def run_chunk(self, x: np.ndarray, columns: dict) -> dict:
        """Totals, ranks and outcomes of the runs in design rows ``x`` (d, k)."""
        d = len(x)
        disc = np.zeros((d, 6), np.int64)  # norm, group, miss, agg, quota combo, (unused)
        for slot, col in columns["discrete"].items():
            disc[:, slot] = x[:, col].astype(np.int64)
        if self.f_quota:
            disc[:, 4] = self.quota_combo_index(x[:, columns["quota"]])
        m = np.ones((d, self.N))
        if len(self.weight_nodes):
            m[:, self.weight_nodes] = self.multipliers(x[:, columns["weights"]])
        total = np.empty((d, self.n))
        tb = [np.empty((d, self.n)) for _ in self.break_by]
        keys = disc[:, :4]
        uniq, inverse = np.unique(keys, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        for u, key in enumerate(map(tuple, uniq.tolist())):
            rows = np.flatnonzero(inverse == u)
            t, b = self._totals(key, m[rows])
            total[rows] = t
            for arr, val in zip(tb, b, strict=True):
                arr[rows] = val
        res = self._rank_chunk(total, tb, disc[:, 1], disc[:, 4], columns.get("offset", 0))
        # Histogram of twice the official-group rank (average ranks can be halves) per unit,
        # so that the quantiles need no store of every run's ranks.
        bins = np.rint(2.0 * res.pop("official_rank")).astype(np.int64)
        width = self.rank_bins
        res["hist"] = np.bincount((np.arange(self.n)[None, :] * width + bins).ravel(),
                                  minlength=self.n * width).reshape(self.n, width)
        return res

    def quota_combo_index(self, q: np.ndarray) -> np.ndarray:
        """Index into ``quota_combos`` (itertools.product order) of option indices (d, f)."""
        dims = tuple(len(f.options) for f in self.f_quota)
        return np.ravel_multi_index(tuple(q.astype(np.intp).T), dims)

    def _totals(self, key, m: np.ndarray):
        """Totals (d, n) and tie-break node scores of draws sharing one discrete key."""
        parts = []
        for sub, plan in zip(self.subs, self.plans[key], strict=True):
            value = _aggregate_tree(plan, m, key, self)
            base = value[0] / 100.0 * self.spec_max_points
            t = (base + sub.ded) * sub.coef
            if self.veto_score is not None:
                t = np.where(sub.vetoed, self.veto_score, t)
            tbs = []
            for j in self.break_by:
                if j in value:
                    tbs.append(value[j])
                else:
                    tbs.append(np.broadcast_to(plan.leaf_filled.get(
                        j, sub.leaf_scores[key[:2]][:, j]), t.shape))
            parts.append((t, tbs))
        if len(parts) == 1:
            return parts[0]
        # Sub-period results combine as the engine's _combine: sum of weight * result, in order.
        total = sum(wi * t for wi, (t, _) in zip(self.mix, parts, strict=True))
        tbs = [sum(wi * tb[i] for wi, (_, tb) in zip(self.mix, parts, strict=True))
               for i in range(len(self.break_by))]
        return total, tbs

    def _rank_chunk(self, total, tb, group_idx, quota_idx, offset) -> dict:
        d, n = total.shape
        scale = 10.0 ** self.decimals
        t_key = _int_key(total, scale)
        tb_keys = [_int_key(x, scale) for x in tb]
        outcome = np.zeros((d, n), np.int8)
        official_rank = np.empty((d, n))
        for gi in np.unique(group_idx).tolist():
            rows = np.flatnonzero(group_idx == gi)
            plan = self.rank_plans[gi]
            tk = t_key[rows]
            keys = [tk, *[k[rows] for k in tb_keys]]
            bottom_method = "first" if self.tie_method == "first" else "min"
            bottom_from_group = bottom_method == "min" and any(
                s.side == "bottom" and s.same_as_group for s in plan.sides)
            group_rank = _within_ranks(keys, plan.group, self.tie_method, self.id_rank,
                                       bottom=bottom_from_group)
            if bottom_from_group:
                group_rank, group_bottom = group_rank
            if plan.group is self.official_group:
                official_rank[rows] = group_rank
            else:
                official_rank[rows] = _within_ranks(keys, self.official_group, self.tie_method,
                                                    self.id_rank)
            sub_rank = None
            if any(s.subgroup_level.any() for s in plan.sides):
                sub_rank = _within_ranks(keys, plan.subgroup, self.tie_method, self.id_rank)
            bottoms = {}
            for si, s in enumerate(plan.sides):
                if s.side == "bottom":
                    bottoms[si] = group_bottom if bottom_from_group and s.same_as_group else \
                        _within_ranks([-tk], s.grouping, bottom_method, self.id_rank)
            grade = self._grades(total[rows], group_rank, plan) if self.grade_rules else None
            for qi in np.unique(quota_idx[rows]).tolist():
                sel = np.flatnonzero(quota_idx[rows] == qi)
                out = np.zeros((len(sel), n), np.int8)
                combo = self.quota_combos[qi]
                for c, key in enumerate(self.consequence_keys):
                    if c in self.grade_rules:
                        hit = self.grade_rules[c][grade[sel]] & (out == 0)
                        out[hit] = c + 1
                        continue
                    for si, s in enumerate(plan.sides):
                        if s.key_index != c:
                            continue
                        q = s.quotas[combo]
                        if not len(q):
                            continue
                        limit = np.where(s.rows >= 0, q[np.maximum(s.rows, 0)], 0)
                        member = s.rows >= 0
                        if s.side == "top":
                            col = s.subgroup_level[np.maximum(s.rows, 0)] & member
                            place = group_rank[sel]
                            if col.any():
                                place = np.where(col, sub_rank[sel], place)
                            if not s.place_is_rank:
                                place = _within_ranks([-np.rint(2.0 * place).astype(np.int64)],
                                                      s.eligible, "min", self.id_rank)
                            chosen = member & ~self.vetoed & (place <= limit) & (limit > 0)
                        else:
                            place = bottoms[si][sel]
                            chosen = member & (place <= limit) & (limit > 0)
                        if self.exclude_at_quota:
                            chosen = _exclude_at_quota(chosen, place, s.rows, q)
                        clash = chosen & (out != 0)
                        if clash.any():
                            r, i = np.argwhere(clash)[0]
                            raise SchemeError(
                                f"run {offset + rows[sel[r]]}: unit {self.units['unit'][i]} falls "
                                f"under two consequences ({self.consequence_keys[out[r, i] - 1]!r}"
                                f" and {key!r}); ties at the quota boundary make the quotas of "
                                "its group overlap; choose smaller quotas",
                                key=f"levels.{self.level}.consequences.{key}.{s.side}")
                        out[chosen] = c + 1
                outcome[rows[sel]] = out
        shift = np.abs(official_rank - self.nominal_rank[None, :]).mean(axis=1)
        return {"outcome": outcome, "shift": shift, "official_rank": official_rank}

    def _grades(self, total, group_rank, plan: _RankPlan) -> np.ndarray:
        labels = len(self.grade_labels)
        if self.grade_by == "score":
            idx = np.searchsorted(-self.grade_cuts, -total, side="left")  # a cut is reached
        else:
            frac = group_rank / plan.grade_sizes[None, :]
            idx = np.searchsorted(self.grade_cuts, frac - 1e-12, side="left")
        idx = np.minimum(idx, labels - 1)
        return np.where(self.vetoed[None, :], labels - 1, idx)


class _GroupsOnly:
    """The part of a Scorer that engine._apply_missing uses: the comparison groups."""

    def __init__(self, groups: sc.GroupIndex):
        self._g = groups

    def groups(self, within: str) -> sc.GroupIndex:
        return self._g


@dataclass
class _Policy:
    """The part of a Node that engine._apply_missing reads."""

    missing: str
    id: str


def _base_weights(spec: LevelSpec, nodes, units, scorer: Scorer, upstream) -> np.ndarray:
    """Per-unit weights as score_level computes them before aggregation (shared nodes too)."""
    from ..engine.level import _unit_weights

    w = _unit_weights(spec, nodes, units)
    for j, nd in enumerate(nodes):
        if nd.kind == "shared":
            w[:, j] = _shared(nd, units, upstream, w[:, j])[1]
    return w


def _aggregate_tree(plan: _SubPlan, m: np.ndarray, key, comp: _Compiled) -> dict:
    """Scores (d, n) of every group node for draws with multipliers ``m`` (d, N)."""
    value: dict = {}
    logs: dict = {}  # log of a geometric node's score (its parent need not take exp then log)
    grp_i = key[1]
    d, n = len(m), comp.n
    for pp in plan.parents:
        method = pp.method
        # Weighted sums over usable children: one matrix product per node for the weights.
        # When every unit has the same usable children and weights (no missing value, no
        # override), the denominator is one number per draw: the multipliers are divided by it
        # first, so the numerator is already the weighted mean (no (d, n) division).
        if pp.uniform_w is not None and method != "minimum":
            per_draw = m[:, pp.kids] @ pp.uniform_w  # (d,)
            m_kids = m[:, pp.kids] / per_draw[:, None]
            den = None
        else:
            den = m[:, pp.kids] @ pp.w_ok.T
            m_kids = m[:, pp.kids]
        if method == "minimum":
            out = np.broadcast_to(pp.min_leaf, (d, n)).copy()
        elif len(pp.leaf_kids):
            num = m_kids[:, :len(pp.leaf_kids)] @ pp.f_leaf.T
        else:
            num = np.zeros((d, n))
        zero = None
        for c, k in enumerate(pp.group_kids):
            child = value[int(k)]
            mask, policy = pp.fill[c]
            if mask is not None:
                if policy == "zero":
                    child = np.where(mask[None, :], 0.0, child)
                else:  # impute_group_mean: group means of this run's child scores
                    child = np.where(mask[None, :], comp.impute_groups[grp_i].mean(child), child)
                value[int(k)] = child  # the engine stores the filled child score
            col = len(pp.leaf_kids) + c
            okc = pp.w_ok[:, col] > 0
            all_ok = bool(okc.all())
            if method == "minimum":
                out = np.minimum(out, child if all_ok else np.where(okc[None, :], child, np.inf))
                continue
            if method == "geometric" and mask is None and int(k) in logs:
                fc = logs[int(k)]  # NaN only where the child is unusable (masked below)
            elif method == "geometric":
                bad = (child <= 0) & okc[None, :]
                if bad.any():
                    r, i = np.argwhere(bad)[0]
                    raise SchemeError(
                        f"geometric mean under {comp.ids[pp.node]!r} meets a score of "
                        f"{child[r, i]:g} for unit {comp.units['unit'][i]} on {comp.ids[int(k)]!r}"
                        f" under {comp._describe(key)}; a geometric mean needs positive scores",
                        key=f"factors.{comp.f_agg.name if comp.f_agg else 'aggregation'}")
                fc = np.log(child if all_ok else np.where(okc[None, :], child, 1.0))
            elif method == "harmonic":
                z = (child == 0) & okc[None, :]
                zero = z if zero is None else zero | z
                fc = 1.0 / np.where(z | ~okc[None, :], 1.0, child)
                fc = np.where(z, 0.0, fc)
            else:
                fc = child
            if not all_ok:
                fc = np.where(okc[None, :], fc, 0.0)
            scalar = pp.group_scalar[c]
            if scalar is not None:
                num += fc * (scalar * m_kids[:, col])[:, None]
            else:
                num += fc * (pp.w_ok[:, col][None, :] * m_kids[:, col][:, None])
        with np.errstate(invalid="ignore", divide="ignore"):
            if method != "minimum":
                ratio = num if den is None else num / den
            if method == "arithmetic":
                out = ratio
            elif method == "geometric":
                logs[pp.node] = ratio
                out = np.exp(ratio)
            elif method == "harmonic":
                out = 1.0 / ratio
                zero_any = pp.zero_leaf[None, :] if zero is None else zero | pp.zero_leaf[None, :]
                out = np.where(zero_any, 0.0, out)
        if not pp.all_valid:
            out = np.where(pp.valid[None, :], out, np.nan)
        value[pp.node] = out
    return value


def _exclude_at_quota(chosen: np.ndarray, place: np.ndarray, rows: np.ndarray,
                      quotas: np.ndarray) -> np.ndarray:
    """``ties.at_quota: exclude``: where ties fill a quota row beyond its size, the units at
    the last chosen place are left out (as :func:`assesskit.engine.evaluation.apply_consequences`).
    """
    d, n = chosen.shape
    r = len(quotas)
    cell = (np.arange(d)[:, None] * r + np.maximum(rows, 0)[None, :])[chosen]
    count = np.bincount(cell, minlength=d * r)
    last = np.full(d * r, -np.inf)
    np.maximum.at(last, cell, place[chosen])
    over = (count > np.tile(quotas, d))
    key = np.arange(d)[:, None] * r + np.maximum(rows, 0)[None, :]
    drop = chosen & over[key] & (place == last[key])
    return chosen & ~drop


def _int_key(x: np.ndarray, scale: float) -> np.ndarray:
    """Scores as integers at the ranking precision (``round(x, decimals)`` times ``10**d``).

    Missing scores (NaN) get the lowest key (ranked last, as pandas sorts them).
    """
    y = np.rint(x * scale)
    bad = ~np.isfinite(y)
    if bad.any():
        low = np.nanmin(np.where(bad, np.nan, y)) if (~bad).any() else 0.0
        y = np.where(bad, low - 1.0, y)
    return y.astype(np.int64)


def _codes(column: pd.Series) -> tuple[np.ndarray, dict]:
    """Integer codes of a units column (as text) and the label -> code lookup."""
    labels, codes = np.unique(column.astype(str).to_numpy(dtype=object).astype(str),
                              return_inverse=True)
    return codes, {lab: i for i, lab in enumerate(labels.tolist())}


def _same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two code arrays split the units into the same sets."""
    pairs = np.unique(np.stack([a, b]), axis=1).shape[1]
    return pairs == len(np.unique(a)) == len(np.unique(b))


def _within_ranks(keys: list[np.ndarray], grouping: _Grouping, method: str,
                  id_rank: np.ndarray, bottom: bool = False):
    """Ranks (1 = best) within groups of draws × units, higher keys first.

    ``keys`` are integer arrays (d, n), most significant first (the rounded score, then the
    tie-break nodes). Ties follow ``method`` as :func:`assesskit.engine.evaluation.rank_within`:
    ``min`` (1, 2, 2, 4), ``average``, ``dense`` or ``first`` (ties ordered by unit id).
    With ``bottom=True`` (not for ``first``) also return the places from the bottom on
    ``keys[0]`` alone, as the engine ranks bottom quotas: 1 + the number of group members with a
    strictly lower key (ties share the worse place; no tie-break).

    One sort per call: the group code, the keys (descending) and the unit are packed into one
    integer when they fit in 62 bits (int32 when they fit in 31); otherwise a lexicographic
    sort is used.
    """
    d, n = keys[0].shape
    comps = []
    for k in keys:
        lo, hi = int(k.min()), int(k.max())
        comps.append((hi - k, hi - lo + 1))
    first = method == "first"
    codes = grouping.codes
    key_bits = math.log2(max(grouping.n_codes, 1)) + sum(math.log2(r) for _, r in comps)
    index_bits = max(1, math.ceil(math.log2(n)))
    if key_bits + index_bits < 62:
        # One SIMD sort: group code, keys (descending) and the unit in the low bits, so the
        # sorted array holds both the order and the sorted keys. For ``first`` the low bits are
        # the rank of the unit id, so equal keys come out in id order.
        dtype = np.int32 if key_bits + index_bits < 31 else np.int64
        combined = np.broadcast_to(codes.astype(dtype), (d, n)).copy()
        for c, r in comps:
            combined *= dtype(r)
            combined += c.astype(dtype, copy=False)
        low = id_rank if first else np.arange(n)
        combined <<= dtype(index_bits)
        combined |= low.astype(dtype)
        combined.sort(axis=1)
        order = combined & dtype((1 << index_bits) - 1)
        if first:
            order = np.argsort(id_rank)[order]
        sorted_key = combined >> dtype(index_bits)
        new = np.ones((d, n), bool)
        new[:, 1:] = sorted_key[:, 1:] != sorted_key[:, :-1]
        if bottom and len(comps) == 1:
            new_first = new
        elif bottom:
            # group and first key alone: drop the tie-break components
            head = sorted_key // dtype(math.prod(r for _, r in comps[1:]))
            new_first = np.ones((d, n), bool)
            new_first[:, 1:] = head[:, 1:] != head[:, :-1]
    else:
        lex = [np.broadcast_to(id_rank, (d, n))] if first else []
        lex += [c for c, _ in reversed(comps)] + [np.broadcast_to(codes, (d, n))]
        order = np.lexsort(lex, axis=-1)
        new = np.zeros((d, n), bool)
        new[:, 0] = True
        new_first = new.copy()
        for i, arr in enumerate(lex):
            srt = np.take_along_axis(np.asarray(arr), order, axis=1)
            change = srt[:, 1:] != srt[:, :-1]
            new[:, 1:] |= change
            if i >= len(lex) - 2:  # the group code and the first key
                new_first[:, 1:] |= change
    # flat positions of the sorted entries, for scattering the ranks back to the units
    flat = (order + (np.arange(d) * n)[:, None]).ravel()
    pos = np.arange(n)
    start = grouping.start
    if first:
        ranked = np.broadcast_to((pos - start + 1).astype(float), (d, n))
    else:
        run_start = np.maximum.accumulate(np.where(new, pos, 0), axis=1)
        if method == "min":
            ranked = (run_start - start + 1).astype(float)
        elif method == "average":
            last = np.ones((d, n), bool)
            last[:, :-1] = new[:, 1:]
            run_end = np.minimum.accumulate(np.where(last, pos, n)[:, ::-1], axis=1)[:, ::-1]
            ranked = (run_start + run_end) / 2.0 - start + 1
        else:  # dense: distinct keys before, within the group
            cs = np.cumsum(new, axis=1)
            ranked = (cs - cs[:, start] + 1).astype(float)
    out = np.empty(d * n)
    out[flat] = np.broadcast_to(ranked, (d, n)).ravel()
    out = out.reshape(d, n)
    if not bottom:
        return out
    # From the bottom: members after the run of equal first keys rank below it.
    end = grouping.end
    last = np.ones((d, n), bool)
    last[:, :-1] = new_first[:, 1:]
    run_end = np.minimum.accumulate(np.where(last, pos, n)[:, ::-1], axis=1)[:, ::-1]
    from_bottom = (end - run_end).astype(float)  # 1 + members with a strictly lower key
    out_bottom = np.empty(d * n)
    out_bottom[flat] = from_bottom.ravel()
    return out, out_bottom.reshape(d, n)


# ============================================================================ the result
@dataclass
class Uncertainty:
    """Result of :func:`uncertainty`: rank intervals, outcome probabilities and every run.

    Attributes
    ----------
    ranks : pandas.DataFrame
        One row per assessed unit (in the order of ``evaluate``): ``unit``, ``name``,
        ``name_en``, ``group``, ``subgroup``, ``nominal_score``, ``nominal_rank`` (rank within
        its official comparison group, as published), ``nominal_outcome``, ``median_rank``,
        ``q05``, ``q95``, ``mean_rank`` (ranks within the unit's official group in every run),
        ``p_praised``, ``p_summoned`` and ``p_<consequence>`` for every other consequence.
    draws : pandas.DataFrame
        One row per run (index ``run``): ``block`` / ``switched`` / ``base_row`` (the Sobol'
        design, see :meth:`assesskit.analysis.sensitivity.Design.runs`), the option label of each
        discrete factor, and ``<factor>:<node>`` weight multipliers. :meth:`rebuild` turns a row
        into a scheme.
    outcomes : numpy.ndarray of int8, shape (runs, units)
        Consequence of each unit in each run: 0 none, ``c + 1`` for ``consequences[c]``.
    rank_shift : numpy.ndarray, shape (runs,)
        Mean absolute change of rank within the official groups, against the nominal ranks.
    consequences : list of str
        Consequence keys of the level, in the scheme's order.
    praised, summoned : list of str
        The consequence keys counted as praised / summoned.
    design : assesskit.analysis.sensitivity.Design
        The Sobol' design the runs come from.
    factors : tuple of SchemeFactor
    seed, n, chunk_size, level, period, scheme, dataset
        As given (``n`` base rows; ``len(draws) = n (g + 2)`` runs for ``g`` factors).
    """

    ranks: pd.DataFrame
    draws: pd.DataFrame
    outcomes: np.ndarray
    rank_shift: np.ndarray
    consequences: list
    praised: list
    summoned: list
    design: sens.Design
    factors: tuple
    seed: int
    n: int
    chunk_size: int
    level: str
    period: str
    scheme: Scheme
    dataset: str
    _compiled: _Compiled = field(repr=False)
    _columns: dict = field(repr=False)

    @property
    def spec(self) -> dict:
        """The recipe of the analysis as plain data (factors, n, seed, sampler, level, ...)."""
        return {"scheme": self.scheme.name, "dataset": self.dataset, "period": self.period,
                "level": self.level, "factors": [f.to_dict() for f in self.factors],
                "n": self.n, "runs": len(self.draws), "seed": self.seed,
                "sampler": self.design.sampler, "chunk_size": self.chunk_size,
                "praised": list(self.praised), "summoned": list(self.summoned)}

    def outputs(self) -> pd.DataFrame:
        """The outputs of every run that :meth:`sobol` decomposes.

        Returns
        -------
        pandas.DataFrame
            Index ``run``; columns ``mean_abs_rank_shift`` (mean absolute change of rank
            within the official groups), ``outcome_changes`` (number of units whose outcome
            differs from the official one: names that enter or leave the lists) and one column
            per unit id: +1 praised, -1 summoned, 0 neither.
        """
        codes = self.outcomes
        value = np.zeros(len(self.consequences) + 1)
        for c, key in enumerate(self.consequences):
            value[c + 1] = 1.0 if key in self.praised else -1.0 if key in self.summoned else 0.0
        unit_y = value[codes]
        nominal = self._compiled.nominal_codes
        frame = pd.DataFrame(unit_y, columns=pd.Index(self.ranks["unit"].tolist()),
                             index=pd.RangeIndex(len(codes), name="run"))
        frame.insert(0, OUTPUT_CHANGES, (codes != nominal[None, :]).sum(axis=1).astype(float))
        frame.insert(0, OUTPUT_SHIFT, self.rank_shift)
        return frame

    def sobol(self, outputs: Sequence[str] | None = None, *, n_boot: int = 500,
              conf: float = 0.95, ci: str = "percentile", seed: int | None = None) -> pd.DataFrame:
        """First-order and total Sobol' indices of every factor, with bootstrap intervals.

        Parameters
        ----------
        outputs : sequence of str, optional
            Columns of :meth:`outputs` to decompose (default all: the two summaries and every
            unit's outcome).
        n_boot, conf, ci, seed
            As :func:`assesskit.analysis.sensitivity.analyse` (``seed`` default: a stream derived from
            the design's seed).

        Returns
        -------
        pandas.DataFrame
            :func:`assesskit.analysis.sensitivity.analyse`'s table (``output``, ``factor``, ``S1``,
            ``S1_lo``, ``S1_hi``, ``ST``, ``ST_lo``, ``ST_hi``, ``variance``) plus ``name``
            (the unit's Chinese name; the summary outputs keep their own name).

        Notes
        -----
        The weights of one ``weights`` factor are one group: its indices are those of all its
        multipliers jointly. A factor that changes no output gets exactly 0; an output that
        never changes (a unit always praised) gets 0 for every factor.
        """
        y = self.outputs()
        if outputs is not None:
            missing_cols = [o for o in outputs if o not in y.columns]
            if missing_cols:
                raise DataError(f"unknown output(s) {missing_cols}; outputs are "
                                f"{OUTPUT_SHIFT}, {OUTPUT_CHANGES} and the unit ids")
            y = y[list(outputs)]
        res = sens.analyse(self.design, y, n_boot=n_boot, conf=conf, ci=ci, seed=seed)
        names = dict(zip(self.ranks["unit"], self.ranks["name"], strict=True))
        res.insert(1, "name", res["output"].map(lambda o: names.get(o, o)).astype("str"))
        return res

    def rebuild(self, run: int) -> Scheme:
        """The scheme of one run: ``evaluate(result.rebuild(i), data, period)`` reproduces it.

        Parameters
        ----------
        run : int
            Run number (index of :attr:`draws`).

        Returns
        -------
        Scheme
            The scheme with the run's normalisation, grouping and quotas, aggregation,
            missing-value policy and weights written into its level; the change is logged
            (``scheme.log``) with the run, the seed and the parameters.
        """
        if not 0 <= int(run) < len(self.draws):
            raise IndexError(f"run {run} is not in 0..{len(self.draws) - 1}")
        params = self.params(int(run))
        comp = self._compiled
        spec = _variant_spec(self.scheme, self.level, comp.units, params)
        entry = {"change": "uncertainty_run", "level": self.level, "run": int(run),
                 "seed": self.seed, "parameters": _plain(params)}
        return Scheme(spec, source=self.scheme.source, lines=self.scheme.lines,
                      log=[*self.scheme.log, entry])

    def params(self, run: int) -> dict:
        """The design choices of one run, read from its row of :attr:`draws`.

        Parameters
        ----------
        run : int
            Run number.

        Returns
        -------
        dict
            ``normalisation`` (option), ``grouping`` (option), ``missing`` and ``aggregation``
            ({node: choice}), ``quota`` ({consequence: multiplier}) and ``weights``
            ({node: multiplier}), for the factors of the analysis.
        """
        comp = self._compiled
        row = self.draws.loc[int(run)]
        params: dict = {}
        if comp.f_norm is not None:
            params["normalisation"] = comp.f_norm.options[comp.f_norm.labels.index(
                row[comp.f_norm.name])]
        if comp.f_group is not None:
            params["grouping"] = row[comp.f_group.name]
        for kind, factor, nodes in (("missing", comp.f_miss, comp.miss_nodes),
                                    ("aggregation", comp.f_agg, comp.agg_nodes)):
            if factor is not None:
                option = row[factor.name]
                params[kind] = {} if option == OFFICIAL else {x: option for x in nodes}
        if comp.f_quota:
            params["quota"] = {f.consequence: next(o for o in f.options
                                                   if float(o) == float(row[f.name]))
                               for f in comp.f_quota}
        if len(comp.weight_nodes):
            params["weights"] = {comp.ids[j]: float(row[f"{name}:{comp.ids[j]}"])
                                 for name, j in comp.weight_columns}
        return params

    def run(self, run: int) -> pd.DataFrame:
        """One run recomputed by the vectorised engine: scores, ranks and outcomes per unit.

        Parameters
        ----------
        run : int
            Run number.

        Returns
        -------
        pandas.DataFrame
            ``unit``, ``name``, ``score``, ``official_group_rank`` (rank within the official
            group), ``outcome`` (consequence key or ``""``); the run's stored outcome is
            :attr:`outcomes` ``[run]``.
        """
        comp = self._compiled
        x = self.design.matrix()[[int(run)]]
        cols = self._columns
        d = {}
        for slot, col in cols["discrete"].items():
            d[slot] = int(x[0, col])
        key = (d.get(0, 0), d.get(1, 0), d.get(2, 0), d.get(3, 0))
        m = np.ones((1, comp.N))
        if len(comp.weight_nodes):
            m[:, comp.weight_nodes] = comp.multipliers(x[:, cols["weights"]])
        total, tb = comp._totals(key, m)
        qi = comp.quota_combo_index(x[:, cols["quota"]]) if comp.f_quota else np.zeros(1, int)
        res = comp._rank_chunk(np.asarray(total, float), [np.asarray(t) for t in tb],
                               np.array([key[1]]), qi, int(run))
        labels = np.array([_NONE, *self.consequences], dtype=object)
        return pd.DataFrame({"unit": comp.units["unit"], "name": comp.units["name"],
                             "score": total[0], "official_group_rank": res["official_rank"][0],
                             "outcome": pd.array(labels[res["outcome"][0]].tolist(), dtype="str")})

    def summary(self) -> str:
        """A few lines for people: runs, factors, and the units whose outcome is least sure."""
        r = self.ranks
        lines = [f"uncertainty of {self.scheme.name} — {self.dataset}, period {self.period}, "
                 f"level {self.level}: {len(self.draws)} runs (n={self.n}, seed={self.seed})",
                 "factors: " + "; ".join(f"{f.name} ({f.kind})" for f in self.factors)]
        unsure = r[(r[["p_praised", "p_summoned"]].max(axis=1) > 0)
                   & (r[["p_praised", "p_summoned"]].max(axis=1) < 1)]
        lines.append(f"{len(unsure)} of {len(r)} units have an uncertain outcome "
                     "(praised or summoned in some runs but not all)")
        return "\n".join(lines)


def _plain(x):
    if isinstance(x, Mapping):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_plain(v) for v in x]
    if isinstance(x, np.generic):
        return x.item()
    return x


# ============================================================================ the verb
def _default_praised_summoned(spec: LevelSpec, praised, summoned):
    keys = [k for k, b in spec.consequences.items() if k != "veto" and isinstance(b, dict)]
    if praised is None:
        praised = [k for k in keys if spec.consequences[k].get("top") is not None]
    if summoned is None:
        summoned = [k for k in keys if spec.consequences[k].get("bottom") is not None]
    praised = [praised] if isinstance(praised, str) else list(praised)
    summoned = [summoned] if isinstance(summoned, str) else list(summoned)
    both = sorted(set(praised) & set(summoned))
    if both:
        raise SchemeError(f"consequence(s) {both} cannot count as both praised and summoned",
                          key=f"levels.{spec.level}.consequences")
    return praised, summoned


def _design_columns(comp: _Compiled) -> tuple[list, list, dict]:
    """Sensitivity factors (columns), their groups, and where each design choice sits."""
    columns, groups = [], []
    where: dict = {"discrete": {}, "quota": [], "weights": []}
    for slot, f in ((0, comp.f_norm), (1, comp.f_group), (2, comp.f_miss), (3, comp.f_agg)):
        if f is None:
            continue
        where["discrete"][slot] = len(columns)
        columns.append(sens.choice(f.name, list(range(len(f.options))), probs=f.probs))
        groups.append(f.name)
    for f in comp.f_quota:
        where["quota"].append(len(columns))
        columns.append(sens.choice(f.name, list(range(len(f.options))), probs=f.probs))
        groups.append(f.name)
    for name, j in comp.weight_columns:
        where["weights"].append(len(columns))
        columns.append(sens.uniform(f"{name}:{comp.ids[j]}", 0.0, 1.0))
        groups.append(name)
    return columns, groups, where


def uncertainty(scheme, data: Dataset, period, *, factors=None, n: int = 1000, seed: int,
                level: str | None = None, chunk_size: int = DEFAULT_CHUNK,
                sampler: str = "random", praised=None, summoned=None,
                client=None) -> Uncertainty:
    """Monte Carlo over a scheme's design choices: how fragile are its ranks and lists?

    Parameters
    ----------
    scheme : Scheme, str or dict
        The scheme (or a built-in name / YAML path / dict).
    data : Dataset
    period : int or str
        The period assessed (a year gives the annual result of a quarterly scheme).
    factors : sequence, optional
        The uncertain design choices: :class:`SchemeFactor` objects (see :func:`weights`,
        :func:`normalisation`, :func:`aggregation`, :func:`missing`, :func:`grouping`,
        :func:`quota`), kind names or dicts. Default: ``[weights(0.25), normalisation(),
        aggregation()]``.
    n : int
        Base rows of the Sobol' design; the scheme is run ``n (g + 2)`` times for ``g`` factors
        (every run is a draw from the joint distribution of the factors, so all of them enter
        :attr:`Uncertainty.ranks`).
    seed : int
        Seed of every draw (:func:`assesskit.analysis.sensitivity.sample`); recorded in the result.
    level : str, optional
        Assessed level (default: the first level, in the scheme's order, with a top or bottom
        quota).
    chunk_size : int
        Runs evaluated together (memory grows with ``chunk_size × units × nodes``).
    sampler : {"random", "sobol"}
        Sampling of the design (see :func:`assesskit.analysis.sensitivity.sample`).
    praised, summoned : str or list of str, optional
        Consequence keys counted as praised / summoned (default: the consequences given by
        ``top:`` / ``bottom:`` quotas).
    client : dask.distributed.Client, optional
        Compute the chunks on a Dask cluster (``client.map``); the results are identical to
        a local run with the same seed and ``chunk_size``.

    Returns
    -------
    Uncertainty

    Raises
    ------
    SchemeError
        Invalid factors, options that cannot combine (e.g. a geometric mean of a percentile
        score of 0, quotas larger than a group), a run in which ties make a unit fall under two
        consequences (as ``evaluate`` would).
    DataError
        Missing values under a policy that forbids them, impossible imputations.

    Notes
    -----
    Statistics of :attr:`Uncertainty.ranks`: ``p_praised`` is the share of runs in which the
    unit receives a praised consequence; ``median_rank``, ``q05`` and ``q95`` are quantiles of
    the rank within the unit's official group by the inverted empirical distribution function
    (the smallest rank ``r`` with ``F(r) >= q``; numpy's ``method="inverted_cdf"``). Ranks are
    within the *official* groups whatever the grouping factor draws, so that they compare
    across runs; outcomes always follow the run's own grouping and quotas.

    References
    ----------
    .. [1] Saisana, M., Saltelli, A., Tarantola, S. (2005). Uncertainty and sensitivity
       analysis techniques as tools for the quality assessment of composite indicators.
       Journal of the Royal Statistical Society A 168(2), 307-323.
    .. [2] OECD/JRC (2008). Handbook on Constructing Composite Indicators: Methodology and
       User Guide, step 7 (robustness and sensitivity).

    Examples
    --------
    >>> import assesskit as ak
    >>> from assesskit.analysis.uncertainty import normalisation, uncertainty, weights
    >>> ds = ak.datasets.load("sichuan-39")
    >>> res = uncertainty("sichuan-39", ds, 2025, n=64, seed=1,
    ...                   factors=[weights(0.25), normalisation(["minmax", "zscore"])])
    >>> len(res.draws), res.ranks.columns[:4].tolist()
    (256, ['unit', 'name', 'name_en', 'group'])

    The factor constructors are also attributes of this function, so that
    ``ak.uncertainty(..., factors=[ak.uncertainty.weights(0.25)])`` reads as one verb:

    >>> uncertainty.weights is weights
    True
    """
    if not isinstance(scheme, Scheme):
        scheme = load_scheme(scheme)
    if not isinstance(data, Dataset):
        raise TypeError("data must be an assesskit Dataset (see assesskit.datasets.load)")
    period = normalise_period(period)
    if not isinstance(seed, numbers.Integral) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if not isinstance(chunk_size, numbers.Integral) or chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    if factors is None:
        factors = [weights(0.25), normalisation(), aggregation()]
    if isinstance(factors, SchemeFactor | str | Mapping):
        factors = [factors]
    factors = tuple(factor_from_spec(f) for f in factors)
    if not factors:
        raise SchemeError("give at least one factor (e.g. weights(0.25))", key="factors")
    # Copies: the quota factor records the consequence it resolves to.
    factors = tuple(copy.copy(f) for f in factors)
    if level is None:
        level = next((lv for lv in scheme.spec["levels"]
                      if any(isinstance(b, dict) and ("top" in b or "bottom" in b)
                             for b in scheme.levels[lv].consequences.values())), None)
        if level is None:
            raise SchemeError("no level of the scheme has a top or bottom quota; name the level",
                              key="levels")
    if level not in scheme.levels:
        raise SchemeError(f"scheme {scheme.name!r} has no level {level!r}; levels: "
                          f"{list(scheme.levels)}", key="levels")
    praised, summoned = _default_praised_summoned(scheme.levels[level], praised, summoned)
    comp = _Compiled(scheme, data, period, level, factors, praised, summoned)
    columns, groups, where = _design_columns(comp)
    design = sens.sample(columns, n, seed=int(seed), sampler=sampler, groups=groups)
    x = design.matrix()
    runs = len(x)
    starts = list(range(0, runs, int(chunk_size)))
    if client is None:
        parts = [comp.run_chunk(x[s:s + chunk_size], {**where, "offset": s}) for s in starts]
    else:
        remote = client.scatter(comp, broadcast=True)
        futures = client.map(_chunk_task, [x[s:s + chunk_size] for s in starts],
                             [{**where, "offset": s} for s in starts], compiled=remote)
        parts = client.gather(futures)
    outcomes = np.concatenate([p["outcome"] for p in parts])
    shift = np.concatenate([p["shift"] for p in parts])
    hist = sum(p["hist"] for p in parts)
    comp.nominal_codes = _nominal_codes(comp)
    ranks = _rank_table(comp, outcomes, hist)
    draws = _draws_table(comp, design, where)
    return Uncertainty(ranks, draws, outcomes, shift, list(comp.consequence_keys),
                       list(praised), list(summoned), design, factors, int(seed), int(n),
                       int(chunk_size), level, period, scheme, data.name, comp, where)


def _chunk_task(x, where, compiled):
    return compiled.run_chunk(x, where)


def _nominal_codes(comp: _Compiled) -> np.ndarray:
    labels = comp.nominal_table["outcome"].astype(str).to_numpy()
    lookup = {k: c + 1 for c, k in enumerate(comp.consequence_keys)}
    return np.array([lookup.get(x, 0) for x in labels], dtype=np.int8)


def _rank_table(comp: _Compiled, outcomes: np.ndarray, hist: np.ndarray) -> pd.DataFrame:
    n, width = hist.shape
    runs = len(outcomes)
    cdf = np.cumsum(hist, axis=1)
    values = np.arange(width) / 2.0

    def quantile(q):
        # inverted CDF: the smallest rank r with F(r) >= q
        idx = (cdf < q * runs - 1e-9).sum(axis=1)
        return values[idx]

    table = comp.nominal_table
    out = pd.DataFrame({
        "unit": table["unit"], "name": table["name"], "name_en": table["name_en"],
        "group": table["group"], "subgroup": table["subgroup"],
        "nominal_score": table["score"].to_numpy(float),
        "nominal_rank": comp.nominal_rank,
        "nominal_outcome": table["outcome"].astype(str),
        "median_rank": quantile(0.5), "q05": quantile(0.05), "q95": quantile(0.95),
        "mean_rank": (hist * values[None, :]).sum(axis=1) / runs,
    })
    counts = np.stack([(outcomes == c + 1).sum(axis=0) for c in range(len(comp.consequence_keys))],
                      axis=1) if comp.consequence_keys else np.zeros((n, 0))
    share = counts / runs
    idx = {k: c for c, k in enumerate(comp.consequence_keys)}
    out["p_praised"] = share[:, [idx[k] for k in comp.praised_keys]].sum(axis=1) \
        if comp.praised_keys else 0.0
    out["p_summoned"] = share[:, [idx[k] for k in comp.summoned_keys]].sum(axis=1) \
        if comp.summoned_keys else 0.0
    for k, c in idx.items():
        col = f"p_{k}"
        if col not in out.columns:
            out[col] = share[:, c]
    return out


def _draws_table(comp: _Compiled, design: sens.Design, where: dict) -> pd.DataFrame:
    runs = design.runs()
    frame = runs[["block", "switched", "base_row"]].copy()
    x = design.matrix()
    for slot, f in ((0, comp.f_norm), (1, comp.f_group), (2, comp.f_miss), (3, comp.f_agg)):
        if f is None:
            continue
        labels = np.empty(len(f.labels), dtype=object)
        labels[:] = list(f.labels)
        frame[f.name] = pd.array(labels[x[:, where["discrete"][slot]].astype(np.intp)].tolist(),
                                 dtype="str")
    for f, col in zip(comp.f_quota, where["quota"], strict=True):
        frame[f.name] = np.asarray(f.options, float)[x[:, col].astype(np.intp)]
    if len(comp.weight_nodes):
        mult = comp.multipliers(x[:, where["weights"]])
        for k, (name, j) in enumerate(comp.weight_columns):
            frame[f"{name}:{comp.ids[j]}"] = mult[:, k]
    return frame


# The factor constructors travel with the verb: ``ak.uncertainty.weights(0.25)``.
for _f in (weights, normalisation, aggregation, missing, grouping, quota, factor_from_spec):
    setattr(uncertainty, _f.__name__, _f)
del _f

__all__ = [
    "FACTOR_KINDS",
    "NORMALISATION_PRESETS",
    "RELATIVE_METHODS",
    "SchemeFactor",
    "Uncertainty",
    "aggregation",
    "factor_from_spec",
    "grouping",
    "missing",
    "normalisation",
    "quota",
    "uncertainty",
    "weights",
]
