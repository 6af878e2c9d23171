"""Uncertainty and sensitivity analysis of rankings (排名的不确定性与敏感性分析).

An assessment that praises the top 3 of 10 counties and summons the bottom one rests on design
choices its authors could have made otherwise: the weights, the normalisation rule, the
aggregation, the missing-value policy, the comparison groups, the quota sizes. :func:`uncertainty`
draws those choices at random (a Monte Carlo over the scheme's own design space, as in the JRC
audits of composite indicators), runs the scheme for every draw through the engine's kernels
(:class:`assesskit.engine.batch.LevelBatch`), and reports how fragile each unit's rank and
outcome are (:attr:`Uncertainty.ranks`) and which choice the lists depend on most
(:meth:`Uncertainty.sobol`).

Factors
-------
Each factor is plain data (:class:`SchemeFactor`), built with :func:`vary_weights`,
:func:`vary_normalisation`, :func:`vary_aggregation`, :func:`vary_missing`,
:func:`vary_grouping` or :func:`vary_quota` (or from a dict / a kind name, see
:func:`factor_from_spec`):

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
    groups decide both the within-group normalisation and the ranking; quotas follow the rule in
    :mod:`assesskit.engine.design` (largest remainder, in proportion to group sizes).
``quota``
    A multiplier on the quotas of one consequence (default: the first with a ``top:`` quota).

Discrete factors are drawn directly as option indices (:func:`assesskit.analysis.sensitivity
.choice`), never by rounding a continuous parameter. The weight multipliers of one ``weights``
factor form one *group* of the Sobol' design: "the weights" is one design choice, whatever the
number of nodes. Combinations that cannot run (a normalisation that can score 0 with a geometric
mean, quotas larger than a group, the policy ``error`` where values are missing) are reported
when the analysis is set up, before any run.

Memory
------
Runs are streamed in chunks (about :data:`CHUNK_CELLS` draws × units each). Per unit, the
analysis keeps the count of each consequence, the sum of its ranks and a histogram of its rank
within its official group (exact while ``units × (2 × largest group + 2)`` counts fit in
:data:`HISTOGRAM_BYTES`; coarser bins beyond, the resolution is reported as
:attr:`Uncertainty.rank_resolution`), so that memory does not grow with the number of runs or
with the square of a group's size. The per-run outcomes (one byte per unit and run) are kept for
the Sobol' decomposition of each unit's outcome.
"""

from __future__ import annotations

import copy
import math
import numbers
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import product

import numpy as np
import pandas as pd
from scipy import special
from tqdm import tqdm

from ..data.model import Dataset, normalise_period
from ..engine.batch import LevelBatch
from ..engine.consequences import praised_and_summoned, quota_level
from ..engine.design import OFFICIAL as DESIGN_OFFICIAL
from ..engine.evaluation import evaluate
from ..engine.review import refuse_review
from ..engine.tree import Tree
from ..errors import DataError, Problem, SchemeError
from ..scheme.model import AGGREGATIONS, MISSING_POLICIES, Scheme, load_scheme
from . import sensitivity as sens

FACTOR_KINDS = ("weights", "normalisation", "aggregation", "missing", "grouping", "quota")
"""Kinds of design factor :func:`uncertainty` understands."""

NORMALISATION_PRESETS = {
    "minmax": {"method": "minmax", "range": [60, 100]},
    "minmax_0_100": {"method": "minmax", "range": [0, 100]},
    "zscore": {"method": "zscore", "offset": 80, "scale": 10, "floor": 1},
    "percentile": {"method": "percentile"},
}
"""Named normalisation options: min–max onto [60, 100] (a base of 60 and 40 points of spread,
the common 基础分+浮动分 practice), min–max onto [0, 100], the z-score shown as
``80 + 10 z`` floored at 1 (similar spread; the floor, reached only 7.9 standard deviations
below the group mean, keeps every score positive so that a geometric mean can take it) and the
percentile rank 0–100. ``minmax_0_100`` and ``percentile`` give the worst unit 0, which a
geometric mean cannot take: such a combination is refused when the factors are checked."""

RELATIVE_METHODS = ("minmax", "zscore", "percentile")
"""Scoring methods that compare units with each other (the ones the normalisation factor
replaces)."""

OFFICIAL = "official"
POOL = "pool"
DEFAULT_CHUNK = 500
CHUNK_CELLS = 2_500_000  # draws x units per chunk: about 20 MB per array of the chunk
HISTOGRAM_BYTES = 256 * 2**20  # the rank histograms' budget (int32 counts)
OUTPUT_SHIFT = "mean_abs_rank_shift"
OUTPUT_CHANGES = "outcome_changes"
_NONE = ""


# ============================================================================ factor definitions
@dataclass(frozen=True)
class SchemeFactor:
    """One design choice of a scheme treated as uncertain, as plain data.

    Build with :func:`vary_weights`, :func:`vary_normalisation`, :func:`vary_aggregation`, :func:`vary_missing`,
    :func:`vary_grouping` or :func:`vary_quota`; :func:`factor_from_spec` reads the dict form.

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


def vary_weights(spread: float | None = 0.25, *, concentration: float | None = None,
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
    >>> vary_weights(0.25).to_dict()
    {'kind': 'weights', 'name': 'weights', 'spread': 0.25}
    >>> vary_weights(concentration=50).to_dict()
    {'kind': 'weights', 'name': 'weights', 'concentration': 50}
    """
    if concentration is not None:
        spread = None
    return SchemeFactor("weights", name, spread=spread, concentration=concentration,
                        nodes=None if nodes is None else tuple(nodes))


def vary_normalisation(options=("minmax", "zscore"), probs=None, *,
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
    >>> vary_normalisation(["minmax", {"method": "zscore", "offset": 50, "scale": 10}]).labels
    ('minmax', 'zscore(offset=50, scale=10)')
    """
    return SchemeFactor("normalisation", name, options=tuple(options), probs=_tuple(probs))


def vary_aggregation(options=("arithmetic", "geometric"), probs=None, *,
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


def vary_missing(options=("renormalise", "zero", "impute_group_mean"), probs=None, *,
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


def vary_grouping(options=(OFFICIAL, POOL), probs=None, *, name: str = "grouping") -> SchemeFactor:
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


def vary_quota(options=(0.5, 1.0, 1.5), probs=None, *, consequence: str | None = None,
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


_CONSTRUCTORS = {"weights": vary_weights, "normalisation": vary_normalisation,
                 "aggregation": vary_aggregation, "missing": vary_missing,
                 "grouping": vary_grouping, "quota": vary_quota}


def factor_from_spec(spec) -> SchemeFactor:
    """A factor from plain data: a :class:`SchemeFactor`, a kind name, or a dict.

    Parameters
    ----------
    spec : SchemeFactor, str or dict
        ``"weights"`` (defaults of :func:`vary_weights`), or ``{"kind": "quota", "options": [1, 2]}``
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



# ============================================================================ the analysis
def _normalisation_rule(option) -> dict | None:
    """Scoring dict of a normalisation option (None for 'official')."""
    if isinstance(option, Mapping):
        return copy.deepcopy(dict(option))
    if option == OFFICIAL:
        return None
    return copy.deepcopy(NORMALISATION_PRESETS[option])


def _can_be_zero(rule: Mapping) -> bool:
    """Whether a relative scoring rule can give a unit 0 or less (then no geometric mean)."""
    method = rule.get("method")
    if method == "minmax":
        return float(rule.get("range", [0, 100])[0]) <= 0
    if method == "zscore":
        return rule.get("floor") is None or float(rule["floor"]) <= 0
    return method == "percentile"


class FactorSpace:
    """Design factors mapped onto a level's design options and weight multipliers.

    The part of an analysis that needs the scheme but no data: which factors there are (one per
    kind but weights and quotas), the options of each discrete factor as a
    :class:`~assesskit.engine.batch.LevelBatch` takes them, the weight multipliers, and how a
    row of uniform draws becomes a design (:meth:`decode`). The uncertainty analysis draws its
    rows from a Sobol' design; another analysis can draw them with :meth:`sample`. Both go
    through the same inverse CDFs (:meth:`assesskit.analysis.sensitivity.Factor.from_unit`).

    Parameters
    ----------
    factors : sequence of SchemeFactor
    spec : LevelSpec
        The level the factors vary.
    kinds : sequence of str
        The factor kinds this analysis accepts (default all).
    analysis : str
        The analysis, for the message refusing another kind ("the grouping analysis").
    why : str
        Why it refuses the other kinds, for the same message.
    """

    def __init__(self, factors, spec, kinds=FACTOR_KINDS, analysis: str = "this analysis",
                 why: str = ""):
        self.level = spec.level
        self.tree = Tree.from_root(spec.root)
        by_kind: dict[str, list[SchemeFactor]] = {}
        for f in factors:
            if f.kind not in kinds:
                raise SchemeError(f"factor {f.name!r} of kind {f.kind!r}: {analysis} draws only "
                                  f"{list(kinds)}" + (f" ({why})" if why else ""),
                                  key=f"factors.{f.name}")
            by_kind.setdefault(f.kind, []).append(f)
        self._check_factor_kinds(by_kind, spec)
        self.f_norm = (by_kind.get("normalisation") or [None])[0]
        self.f_group = (by_kind.get("grouping") or [None])[0]
        self.f_miss = (by_kind.get("missing") or [None])[0]
        self.f_agg = (by_kind.get("aggregation") or [None])[0]
        self.f_weights = by_kind.get("weights", [])
        self.f_quota = by_kind.get("quota", [])
        self.factors = tuple(factors)
        group_ids = [nd.id for nd in spec.root.walk() if nd.kind == "group"]
        self.agg_nodes = self._factor_nodes(self.f_agg, group_ids, "group node")
        self.miss_nodes = self._factor_nodes(self.f_miss, group_ids, "group node")
        self._check_positive(spec)
        self.norm_options = list(self.f_norm.options) if self.f_norm else [OFFICIAL]
        self.group_options = list(self.f_group.options) if self.f_group else [OFFICIAL]
        self.miss_options = list(self.f_miss.options) if self.f_miss else [OFFICIAL]
        self.agg_options = list(self.f_agg.options) if self.f_agg else [OFFICIAL]
        self.quota_combos = list(product(*[range(len(f.options)) for f in self.f_quota]))
        self.ids = self.tree.ids
        self._weights_layout(spec)
        self.columns, self.column_groups, self.where = self._columns()

    def batch_options(self) -> dict:
        """The options of :class:`~assesskit.engine.batch.LevelBatch` (keyword arguments)."""
        return {"normalisations": [_normalisation_rule(o) for o in self.norm_options],
                "groupings": [DESIGN_OFFICIAL if o == OFFICIAL else o for o in self.group_options],
                "missing": [self._per_node(o, self.miss_nodes) for o in self.miss_options],
                "aggregation": [self._per_node(o, self.agg_nodes) for o in self.agg_options],
                "quota_scales": [{f.consequence: f.options[i]
                                  for f, i in zip(self.f_quota, combo, strict=True)}
                                 for combo in self.quota_combos],
                "describe": self._describe}

    def sample(self, rng: np.random.Generator, d: int) -> tuple[np.ndarray, np.ndarray]:
        """``d`` independent designs: option indices (d, 5) and weight multipliers (d, N)."""
        u = rng.random((d, len(self.columns)))
        x = np.column_stack([c.from_unit(u[:, i]) for i, c in enumerate(self.columns)]) \
            if self.columns else np.zeros((d, 0))
        return self.decode(x, self.where)

    def _columns(self) -> tuple[list, list, dict]:
        """Sensitivity factors (columns), their groups, and where each design choice sits."""
        columns, groups = [], []
        where: dict = {"discrete": {}, "quota": [], "weights": []}
        for slot, f in ((0, self.f_norm), (1, self.f_group), (2, self.f_miss), (3, self.f_agg)):
            if f is None:
                continue
            where["discrete"][slot] = len(columns)
            columns.append(sens.choice(f.name, list(range(len(f.options))), probs=f.probs))
            groups.append(f.name)
        for f in self.f_quota:
            where["quota"].append(len(columns))
            columns.append(sens.choice(f.name, list(range(len(f.options))), probs=f.probs))
            groups.append(f.name)
        for name, j in self.weight_columns:
            where["weights"].append(len(columns))
            columns.append(sens.uniform(f"{name}:{self.ids[j]}", 0.0, 1.0))
            groups.append(name)
        return columns, groups, where

    # ------------------------------------------------------------------ factor checks
    def _check_factor_kinds(self, by_kind: dict, spec) -> None:
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

    def _check_positive(self, spec) -> None:
        """A geometric mean needs positive scores: refuse a normalisation option that can score
        0 or less beside a geometric aggregation option, before anything runs."""
        geometric = [o for o in (self.f_agg.options if self.f_agg else [OFFICIAL])
                     if o == "geometric" or (o == OFFICIAL and any(
                         nd.aggregate == "geometric" for nd in spec.root.walk()
                         if nd.kind == "group"))]
        if not geometric:
            return
        leaves = [nd.scoring.get("then", nd.scoring) for nd in spec.root.walk()
                  if nd.kind == "leaf"]
        relative = [r for r in leaves if r.get("method") in RELATIVE_METHODS]
        if not relative:
            return  # nothing the normalisation factor replaces
        for option in (self.f_norm.options if self.f_norm else [OFFICIAL]):
            rules = relative if option == OFFICIAL else [_normalisation_rule(option)]
            if any(_can_be_zero(r) for r in rules):
                label = _rule_label(option) if isinstance(option, Mapping) else option
                agg = self.f_agg.name if self.f_agg else "aggregation"
                norm = self.f_norm.name if self.f_norm else "normalisation"
                raise SchemeError(
                    f"{norm}={label} can score a unit 0 or less, which {agg}="
                    f"{geometric[0]} cannot take (a geometric mean needs positive scores); "
                    "drop one of these options, or use a normalisation with a positive floor "
                    "such as 'minmax' (onto [60, 100]) or 'zscore' (80 + 10z, at least 1)",
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

    @staticmethod
    def _per_node(option, nodes) -> dict:
        return {} if option == OFFICIAL else {x: option for x in nodes}

    def _describe(self, key) -> str:
        """The design of option indices ``key`` in the factors' own words (for messages)."""
        parts = []
        for factor, options, i in ((self.f_norm, self.norm_options, key[0]),
                                   (self.f_group, self.group_options, key[1]),
                                   (self.f_miss, self.miss_options, key[2]),
                                   (self.f_agg, self.agg_options, key[3])):
            if factor is not None:
                label = options[i]
                parts.append(f"{factor.name}={_rule_label(label) if isinstance(label, Mapping) else label}")
        return ", ".join(parts) or "the official design"

    # ------------------------------------------------------------------ weights
    def _weights_layout(self, spec) -> None:
        """Columns of the design for the weight multipliers, and how to decode them."""
        tree = self.tree
        self.weight_columns: list[tuple[str, int]] = []  # (factor name, node index)
        self.dirichlet_sets: list = []
        taken: dict[int, str] = {}
        candidates = [nd.id for nd in tree.nodes[1:] if nd.weight > 0]
        for f in self.f_weights:
            chosen = self._factor_nodes(f, candidates, "node with a positive weight")
            if not chosen:
                raise SchemeError(f"weights factor {f.name!r} varies no node; name nodes with a "
                                  f"positive weight: {candidates}", key=f"factors.{f.name}.nodes")
            for nid in chosen:
                j = tree.index(nid)
                if j in taken:
                    raise SchemeError(f"node {nid!r} is in two weights factors ({taken[j]!r} and "
                                      f"{f.name!r})", key=f"factors.{f.name}.nodes")
                taken[j] = f.name
                self.weight_columns.append((f.name, j))
            if f.concentration is not None:
                cols = [k for k, (name, _) in enumerate(self.weight_columns) if name == f.name]
                sets: dict[int, list[int]] = {}
                for k in cols:
                    sets.setdefault(int(tree.parent[self.weight_columns[k][1]]), []).append(k)
                for members in sets.values():
                    w = np.array([tree.nodes[self.weight_columns[k][1]].weight for k in members])
                    alpha = f.concentration * w / w.sum()
                    self.dirichlet_sets.append((np.array(members), alpha, w.sum() / w))
        self.weight_spread = np.array(
            [next(f for f in self.f_weights if f.name == name).spread or 0.0
             for name, _ in self.weight_columns])
        self.weight_nodes = np.array([j for _, j in self.weight_columns], dtype=np.intp)

    def multipliers(self, u: np.ndarray) -> np.ndarray:
        """Weight multipliers (d, n_weight_columns) from the design's uniform draws."""
        m = 1.0 + self.weight_spread * (2.0 * u - 1.0)
        for members, alpha, scale in self.dirichlet_sets:
            g = special.gammaincinv(alpha[None, :], u[:, members])
            g = np.maximum(g, np.finfo(float).tiny)  # a share underflowing to 0 stays positive
            m[:, members] = g / g.sum(axis=1, keepdims=True) * scale[None, :]
        return m

    # ------------------------------------------------------------------ runs
    def decode(self, x: np.ndarray, columns: dict) -> tuple[np.ndarray, np.ndarray]:
        """Option indices (d, 5) and weight multipliers (d, N) of design rows ``x``."""
        d = len(x)
        keys = np.zeros((d, 5), np.int64)
        for slot, col in columns["discrete"].items():
            keys[:, slot] = x[:, col].astype(np.int64)
        if self.f_quota:
            dims = tuple(len(f.options) for f in self.f_quota)
            keys[:, 4] = np.ravel_multi_index(tuple(x[:, columns["quota"]].astype(np.intp).T),
                                              dims)
        m = np.ones((d, self.tree.size))
        if len(self.weight_nodes):
            m[:, self.weight_nodes] = self.multipliers(x[:, columns["weights"]])
        return keys, m

class _Analysis(FactorSpace):
    """The factors of an uncertainty analysis on a dataset: a :class:`FactorSpace` run through a
    :class:`LevelBatch`, with the running statistics (picklable, for Dask)."""

    def __init__(self, scheme: Scheme, data: Dataset, period: str, level: str,
                 factors: tuple[SchemeFactor, ...], praised: list[str], summoned: list[str]):
        spec = scheme.levels[level]
        super().__init__(factors, spec)
        self.group_options = self._grouping_options(data, scheme, spec)
        try:
            self.batch = LevelBatch(scheme, data, period, level, **self.batch_options())
        except SchemeError as err:
            raise SchemeError(str(err), key="factors") from None
        b = self.batch
        self.units = b.units
        self.n = b.n
        self.consequences = b.consequences
        unknown = [k for k in [*praised, *summoned] if k not in self.consequences]
        if unknown:
            raise SchemeError(f"praised/summoned name consequence(s) {unknown} that level "
                              f"{level!r} does not have; consequences: {self.consequences}",
                              key=f"levels.{level}.consequences")
        self.praised_keys, self.summoned_keys = praised, summoned
        self.nominal_table = b.nominal_table
        self.nominal_rank = self.nominal_table["group_rank"].to_numpy(dtype=float)
        self.nominal_bits = self._nominal_bits()
        largest = int(b.official_groups.sizes.max())
        half_ranks = 2 * largest + 2  # ranks are multiples of 1/2 (average ties)
        width = max(1, math.ceil(self.n * half_ranks * 4 / HISTOGRAM_BYTES))
        self.hist_width = width
        self.hist_bins = math.ceil(half_ranks / width)

    def _grouping_options(self, data: Dataset, scheme: Scheme, spec) -> list[str]:
        if self.f_group is None:
            return [OFFICIAL]
        options = list(self.f_group.options)
        table = data.level_units(spec.units.get("level", spec.level))
        file = data.sources.get("units", f"units of dataset {data.name!r}")
        for o in options:
            if o in (OFFICIAL, POOL):
                continue
            if o not in table.columns:
                raise SchemeError(f"grouping option {o!r} is not a column of the units table; "
                                  f"columns: {list(table.columns)}",
                                  key=f"factors.{self.f_group.name}.options")
            blank = table[o].astype(str).str.strip() == ""
            if blank.any():
                raise DataError([Problem(f"unit {u} ({nm}) has no {o}, so it cannot be grouped "
                                         f"by {o!r} (grouping factor); fill it in or drop the "
                                         "option", file=file, column=o)
                                 for u, nm in zip(table["unit"][blank], table["name"][blank],
                                                  strict=True)])
        return options

    def _nominal_bits(self) -> np.ndarray:
        keys = self.nominal_table["outcome"].astype(str).str.split("+")
        bit = {k: 1 << c for c, k in enumerate(self.consequences)}
        return np.array([sum(bit.get(k, 0) for k in ks) for ks in keys], dtype=np.int64)

    def run_chunk(self, x: np.ndarray, columns: dict, offset: int = 0,
                  hist: np.ndarray | None = None) -> dict:
        """Outcome bits, the rank histogram and sums of the runs in design rows ``x``.

        With ``hist`` the chunk's rank counts are added to it in place (a local run: one
        histogram for all chunks); without, the chunk returns its own (a Dask task)."""
        keys, m = self.decode(x, columns)
        res = self.batch.run(keys, m, run_offset=offset)
        local = hist is None
        if local:
            hist = np.zeros((self.n, self.hist_bins), np.int32)
        s = res.official_sorted
        if s is not None:  # counts and sums per unit straight from the sorted ranking
            rank, units = s.ranked, s.order
            nominal = self.nominal_rank[units]
        else:
            rank, units = res.official_rank, None
            nominal = self.nominal_rank[None, :]
        bins = np.rint(2.0 * rank).astype(np.int32) // self.hist_width
        _accumulate(hist, bins, units)
        shift = np.abs(rank - nominal).mean(axis=1)
        rank_sum = np.bincount(units.ravel(), weights=np.asarray(rank, float).ravel(),
                               minlength=self.n) if units is not None else rank.sum(axis=0)
        return {"offset": offset, "outcome": res.outcome, "shift": shift,
                "hist": hist if local else None, "rank_sum": rank_sum}



def _accumulate(hist: np.ndarray, bins: np.ndarray, units: np.ndarray | None = None) -> None:
    """Add counts of ``bins`` (d, n) to ``hist`` (n units, B bins) in place.

    ``units`` (d, n) gives the unit of each entry (the entries are in sorted order); without it
    column ``j`` is unit ``j``. Counted in blocks of units so that the temporary counts stay
    small (at most 2 million cells, 16 MB).
    """
    n, width = hist.shape
    if units is None:
        block = max(1, 2**21 // width)
        for start in range(0, n, block):
            stop = min(n, start + block)
            part = bins[:, start:stop].astype(np.int64) + \
                (np.arange(stop - start) * width)[None, :]
            hist[start:stop] += np.bincount(part.ravel(), minlength=(stop - start) * width) \
                .reshape(stop - start, width)
        return
    if n * width <= 2**22:  # small enough to count every cell at once
        cell = units.astype(np.int64).ravel() * width + bins.ravel()
        hist += np.bincount(cell, minlength=n * width).reshape(n, width)
        return
    aligned = np.empty_like(bins)  # put the bins back at the units' columns (4 bytes each)
    np.put_along_axis(aligned, units, bins, axis=1)
    _accumulate(hist, aligned)


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
        design, see :meth:`assesskit.analysis.sensitivity.SampleDesign.runs`), the option label of each
        discrete factor, and ``<factor>:<node>`` weight multipliers. :meth:`rebuild` turns a row
        into a scheme.
    outcomes : numpy.ndarray of unsigned int, shape (runs, units)
        Consequences of each unit in each run as bits: bit ``c`` is set when the unit receives
        ``consequences[c]`` (see :meth:`outcome_keys`).
    rank_shift : numpy.ndarray, shape (runs,)
        Mean absolute change of rank within the official groups, against the nominal ranks.
    rank_resolution : float
        Width, in ranks, of the histogram bins the rank quantiles come from (0.5: exact).
    consequences : list of str
        Consequence keys of the level, in the scheme's order.
    praised, summoned : list of str
        The consequence keys counted as praised / summoned.
    design : assesskit.analysis.sensitivity.SampleDesign
        The Sobol' design the runs come from.
    factors : tuple of SchemeFactor
    seed, n, chunk_size, level, period, scheme, dataset
        As given (``n`` base rows; ``len(draws) = n (g + 2)`` runs for ``g`` factors).
    """

    ranks: pd.DataFrame
    draws: pd.DataFrame
    outcomes: np.ndarray
    rank_shift: np.ndarray
    rank_resolution: float
    consequences: list
    praised: list
    summoned: list
    design: sens.SampleDesign
    factors: tuple
    seed: int
    n: int
    chunk_size: int
    level: str
    period: str
    scheme: Scheme
    dataset: str
    _analysis: _Analysis = field(repr=False)
    _columns: dict = field(repr=False)

    @property
    def spec(self) -> dict:
        """The recipe of the analysis as plain data (factors, n, seed, sampler, level, ...)."""
        return {"scheme": self.scheme.name, "dataset": self.dataset, "period": self.period,
                "level": self.level, "factors": [f.to_dict() for f in self.factors],
                "n": self.n, "runs": len(self.draws), "seed": self.seed,
                "sampler": self.design.sampler, "chunk_size": self.chunk_size,
                "praised": list(self.praised), "summoned": list(self.summoned)}

    def outcome_keys(self, run: int) -> np.ndarray:
        """The consequences of each unit in one run, as ``evaluate`` writes them (``"+"``-joined
        keys, ``""`` for none)."""
        bits = self.outcomes[int(run)].astype(np.int64)
        return np.array(["+".join(k for c, k in enumerate(self.consequences) if b >> c & 1)
                         for b in bits.tolist()], dtype=object)

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
        bits = self.outcomes.astype(np.int64)
        mask = {name: sum(1 << c for c, k in enumerate(self.consequences) if k in keys)
                for name, keys in (("p", self.praised), ("s", self.summoned))}
        unit_y = (bits & mask["p"] != 0).astype(float) - (bits & mask["s"] != 0)
        nominal = self._analysis.nominal_bits
        frame = pd.DataFrame(unit_y, columns=pd.Index(self.ranks["unit"].tolist()),
                             index=pd.RangeIndex(len(bits), name="run"))
        frame.insert(0, OUTPUT_CHANGES, (bits != nominal[None, :]).sum(axis=1).astype(float))
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
            As :func:`assesskit.analysis.sensitivity.analyse` (``seed`` default: a stream
            derived from the design's seed).

        Returns
        -------
        pandas.DataFrame
            :func:`assesskit.analysis.sensitivity.analyse`'s table (``output``, ``factor``,
            ``S1``, ``S1_lo``, ``S1_hi``, ``ST``, ``ST_lo``, ``ST_hi``, ``variance``) plus
            ``name`` (the unit's Chinese name; the summary outputs keep their own name) and the
            flags of :func:`assesskit.analysis.sensitivity.readability`: ``readable`` (bool)
            and ``reading`` (why a row cannot be read: an estimate outside [0, 1] by more than
            0.05, or an interval wider than 0.3). ``attrs["warning"]`` is one sentence when the
            sample is too small to read the indices of the summary outputs, else ``""``;
            ``attrs["unreadable"]`` lists every output with an unreadable row.

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
        return sens.readability(res)

    def _key(self, run: int):
        x = self.design.matrix()[[int(run)]]
        keys, m = self._analysis.decode(x, self._columns)
        return tuple(int(k) for k in keys[0]), m

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
        key, m = self._key(run)
        a = self._analysis
        mult = {a.ids[j]: float(m[0, j]) for j in a.weight_nodes}
        scheme = a.batch.scheme_for(key, mult, note=f"uncertainty run {int(run)}")
        entry = {"change": "uncertainty_run", "level": self.level, "run": int(run),
                 "seed": self.seed, "parameters": _plain(self.params(int(run)))}
        return Scheme(scheme.spec, source=scheme.source, lines=scheme.lines,
                      log=[*scheme.log, entry], notices=scheme.notices)

    def params(self, run: int) -> dict:
        """The design choices of one run, read from its row of :attr:`draws`.

        Returns
        -------
        dict
            ``normalisation`` (option), ``grouping`` (option), ``missing`` and ``aggregation``
            ({node: choice}), ``quota`` ({consequence: multiplier}) and ``weights``
            ({node: multiplier}), for the factors of the analysis.
        """
        a = self._analysis
        row = self.draws.loc[int(run)]
        params: dict = {}
        if a.f_norm is not None:
            params["normalisation"] = a.f_norm.options[a.f_norm.labels.index(row[a.f_norm.name])]
        if a.f_group is not None:
            params["grouping"] = row[a.f_group.name]
        for kind, factor, nodes in (("missing", a.f_miss, a.miss_nodes),
                                    ("aggregation", a.f_agg, a.agg_nodes)):
            if factor is not None:
                params[kind] = a._per_node(row[factor.name], nodes)
        if a.f_quota:
            params["quota"] = {f.consequence: next(o for o in f.options
                                                   if float(o) == float(row[f.name]))
                               for f in a.f_quota}
        if len(a.weight_nodes):
            params["weights"] = {a.ids[j]: float(row[f"{name}:{a.ids[j]}"])
                                 for name, j in a.weight_columns}
        return params

    def run(self, run: int) -> pd.DataFrame:
        """One run recomputed through the engine: scores, ranks and outcomes per unit.

        Returns
        -------
        pandas.DataFrame
            ``unit``, ``name``, ``score``, ``official_group_rank`` (rank within the official
            group), ``outcome`` (``"+"``-joined consequence keys or ``""``).
        """
        key, m = self._key(run)
        a = self._analysis
        res = a.batch.run(np.array([key]), m, run_offset=int(run))
        keys = ["+".join(k for c, k in enumerate(self.consequences) if b >> c & 1)
                for b in res.outcome[0].astype(np.int64).tolist()]
        return pd.DataFrame({"unit": a.units["unit"], "name": a.units["name"],
                             "score": res.total[0], "official_group_rank": res.official_rank[0],
                             "outcome": pd.array(keys, dtype="str")})

    def summary(self) -> str:
        """A few lines for people: runs, factors, and how many units' outcomes are uncertain."""
        r = self.ranks
        lines = [f"uncertainty of {self.scheme.name} — {self.dataset}, period {self.period}, "
                 f"level {self.level}: {len(self.draws)} runs (n={self.n}, seed={self.seed})",
                 "factors: " + "; ".join(f"{f.name} ({f.kind})" for f in self.factors)]
        p = r[["p_praised", "p_summoned"]].max(axis=1)
        unsure = r[(p > 0) & (p < 1)]
        lines.append(f"{len(unsure)} of {len(r)} units have an uncertain outcome "
                     "(praised or summoned in some runs but not all)")
        if self.rank_resolution > 0.5:
            lines.append(f"rank quantiles are read from bins {self.rank_resolution:g} ranks wide")
        lines.extend(self._analysis.batch.fixed_inputs)  # linked consequences (issue 10)
        return "\n".join(lines)

    def to_frame(self) -> pd.DataFrame:
        """The per-unit table (:attr:`ranks`)."""
        return self.ranks

    def plot(self, group: str | None = None, **kwargs):
        """Nominal against median rank with 5–95% intervals per group (see
        :func:`assesskit.report.plotting.plot_rank_uncertainty`)."""
        from ..report.plotting import plot_rank_uncertainty  # the report layer, on call only

        return plot_rank_uncertainty(self, group, **kwargs)

    def _repr_html_(self) -> str:
        import html

        cols = ["unit", "name", "group", "nominal_rank", "median_rank", "q05", "q95",
                "p_praised", "p_summoned"]
        return (f"<p>{html.escape(self.summary()).replace(chr(10), '<br>')}</p>"
                + self.ranks[cols].to_html(index=False, escape=True, float_format="%.2f"))


def _plain(x):
    if isinstance(x, Mapping):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_plain(v) for v in x]
    if isinstance(x, np.generic):
        return x.item()
    return x


# ============================================================================ the verb
def default_factors(scheme, data: Dataset, period, level: str | None = None, *,
                    with_reasons: bool = False):
    """The factors that make sense for a scheme and its data (the default of
    :func:`uncertainty`).

    Weights ±25% always; the normalisation (min–max | z-score) if a leaf is scored relative to
    other units; the aggregation (arithmetic | geometric) if every score of the period is
    positive (a geometric mean cannot take 0); the grouping (official | pooled) only if the level
    ranks within groups and its units fall in at least two groups; the missing-value policy only
    if a value is missing in the period.

    Returns
    -------
    list of SchemeFactor, or (factors, reasons) with ``with_reasons=True``: one sentence per
    factor kind saying why it is in or out.
    """
    scheme = scheme if isinstance(scheme, Scheme) else load_scheme(scheme)
    level = level or quota_level(scheme)
    spec = scheme.levels[level]
    refuse_review(scheme, level, "the uncertainty analysis")  # issue 10
    ev = evaluate(scheme, data, period, levels=[level])
    factors, reasons = [vary_weights(0.25)], ["weights: ±25% on every node"]
    leaves = [nd for nd in spec.root.walk() if nd.kind == "leaf"]
    relative = [nd for nd in leaves
                if nd.scoring.get("then", nd.scoring).get("method") in RELATIVE_METHODS]
    if relative:
        factors.append(vary_normalisation(["minmax", "zscore"]))
        reasons.append(f"normalisation: {len(relative)} leaves are scored relative to other units")
    else:
        reasons.append("no normalisation factor: no leaf is scored relative to other units")
    res = ev.level_results[level]
    leaf_cols = [j for j, nd in enumerate(res.nodes) if nd.kind != "group"]
    absolute = [j for j in leaf_cols if res.nodes[j] not in relative]
    scores = res.score[:, absolute]
    if np.all(~np.isfinite(scores) | (scores > 0)):
        factors.append(vary_aggregation(["arithmetic", "geometric"]))
        reasons.append("aggregation: arithmetic or geometric mean at every group node")
    else:
        reasons.append("no aggregation factor: some scores are 0, which a geometric mean cannot "
                       "take")
    by = spec.ranking.get("group_by")
    n_groups = (res.units[by].replace("", np.nan).nunique()
                if by and by in res.units.columns else 0)
    if by and n_groups > 1:
        factors.append(vary_grouping([OFFICIAL, POOL]))
        reasons.append(f"grouping: the {n_groups} official groups ({by}) or one pool")
    elif by:
        reasons.append(f"no grouping factor: the units of the level form {n_groups or 'no'} "
                       f"group{'' if n_groups == 1 else 's'} by {by}, so pooling changes nothing")
    else:
        reasons.append("no grouping factor: the level ranks all units together")
    gaps = [e for e in ev.log if e.get("step") == "missing" and e.get("level") == level
            and e.get("policy") != "excluded"]
    if gaps:
        factors.append(vary_missing(["renormalise", "impute_group_mean"]))
        reasons.append(f"missing: {len(gaps)} value(s) missing in {ev.period}")
    else:
        reasons.append(f"no missing-value factor: no value is missing in {ev.period}")
    return (factors, reasons) if with_reasons else factors


def uncertainty(scheme, data: Dataset, period, *, factors=None, n: int = 1000, seed: int,
                level: str | None = None, chunk_size: int | None = None,
                sampler: str = "random", praised=None, summoned=None,
                client=None, progress: bool = False) -> Uncertainty:
    """Monte Carlo over a scheme's design choices: how fragile are its ranks and lists?

    Parameters
    ----------
    scheme : Scheme, str or dict
        The scheme (or a built-in name / YAML path / dict).
    data : Dataset
    period : int or str
        The period assessed (a year gives the annual result of a quarterly scheme).
    factors : sequence, optional
        The uncertain design choices: :class:`SchemeFactor` objects (see
        :func:`vary_weights`, :func:`vary_normalisation`, :func:`vary_aggregation`,
        :func:`vary_missing`, :func:`vary_grouping`, :func:`vary_quota`), kind names or dicts.
        Default: :func:`default_factors` (only the factors that apply to the scheme and data).
    n : int
        Base rows of the Sobol' design; the scheme is run ``n (g + 2)`` times for ``g`` factors
        (every run is a draw from the joint distribution of the factors, so all of them enter
        :attr:`Uncertainty.ranks`).
    seed : int
        Seed of every draw (:func:`assesskit.analysis.sensitivity.sample`); recorded in the
        result.
    level : str, optional
        Assessed level (default: the first level, in the scheme's order, with a top or bottom
        quota).
    chunk_size : int, optional
        Runs evaluated together (default: about :data:`CHUNK_CELLS` runs × units).
    sampler : {"random", "sobol"}
        Sampling of the design (see :func:`assesskit.analysis.sensitivity.sample`).
    praised, summoned : str or list of str, optional
        Consequence keys counted as praised / summoned (default: the consequences given by
        ``top:`` / ``bottom:`` quotas).
    client : dask.distributed.Client, optional
        Compute the chunks on a Dask cluster; the results are identical to a local run with
        the same seed.
    progress : bool
        Show a progress bar of the runs on standard error (tqdm) when it is a terminal;
        default False.

    Returns
    -------
    Uncertainty

    Raises
    ------
    SchemeError
        Invalid factors, options that cannot combine (a normalisation that can score 0 with a
        geometric mean, quotas larger than a group), a run in which ties make a unit fall under
        two quota consequences (as ``evaluate`` would).
    DataError
        Missing values under a policy that forbids them, impossible imputations.

    Notes
    -----
    ``p_praised`` is the share of runs in which the unit receives a praised consequence;
    ``median_rank``, ``q05`` and ``q95`` are quantiles of the rank within the unit's official
    group by the inverted empirical distribution function (the smallest rank ``r`` with
    ``F(r) >= q``; numpy's ``method="inverted_cdf"``). Ranks are within the *official* groups
    whatever the grouping factor draws, so that they compare across runs; outcomes always follow
    the run's own grouping and quotas.

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
    >>> from assesskit.analysis.uncertainty import vary_normalisation, vary_weights
    >>> ds = ak.datasets.load("sichuan-39")
    >>> res = ak.uncertainty("sichuan-39", ds, 2025, n=64, seed=1,
    ...                      factors=[vary_weights(0.25), vary_normalisation(["minmax", "zscore"])])
    >>> len(res.draws), res.ranks.columns[:4].tolist()
    (256, ['unit', 'name', 'name_en', 'group'])
    """
    if not isinstance(scheme, Scheme):
        scheme = load_scheme(scheme)
    if not isinstance(data, Dataset):
        raise TypeError("data must be an assesskit Dataset (see assesskit.datasets.load)")
    period = normalise_period(period)
    if not isinstance(seed, numbers.Integral) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if chunk_size is not None and (not isinstance(chunk_size, numbers.Integral)
                                   or chunk_size < 1):
        raise ValueError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    level = level or quota_level(scheme)
    if level not in scheme.levels:
        raise SchemeError(f"scheme {scheme.name!r} has no level {level!r}; levels: "
                          f"{list(scheme.levels)}", key="levels")
    refuse_review(scheme, level, "the uncertainty analysis")  # issue 10
    if factors is None:
        factors = default_factors(scheme, data, period, level)
    if isinstance(factors, SchemeFactor | str | Mapping):
        factors = [factors]
    factors = tuple(factor_from_spec(f) for f in factors)
    if not factors:
        raise SchemeError("give at least one factor (e.g. vary_weights(0.25))", key="factors")
    # Copies: the quota factor records the consequence it resolves to.
    factors = tuple(copy.copy(f) for f in factors)
    praised, summoned = praised_and_summoned(scheme.levels[level], praised, summoned)
    with scheme.located():
        analysis = _Analysis(scheme, data, period, level, factors, praised, summoned)
    columns, groups, where = analysis.columns, analysis.column_groups, analysis.where
    design = sens.sample(columns, n, seed=int(seed), sampler=sampler, groups=groups)
    x = design.matrix()
    runs = len(x)
    chunk = int(chunk_size or max(1, min(DEFAULT_CHUNK, CHUNK_CELLS // max(analysis.n, 1))))
    starts = list(range(0, runs, chunk))
    outcomes = np.zeros((runs, analysis.n), analysis.batch.bits)
    shift = np.zeros(runs)
    hist = np.zeros((analysis.n, analysis.hist_bins), np.int32)
    rank_sum = np.zeros(analysis.n)
    counts = np.zeros((analysis.n, len(analysis.consequences)), np.int64)

    def add(part: dict) -> None:
        s = part["offset"]
        o = part["outcome"]
        outcomes[s:s + len(o)] = o
        shift[s:s + len(o)] = part["shift"]
        if part["hist"] is not None:
            hist[:] += part["hist"]
        rank_sum[:] += part["rank_sum"]
        for c in range(len(analysis.consequences)):
            counts[:, c] += ((o.astype(np.int64) >> c) & 1).sum(axis=0)

    with scheme.located(), tqdm(total=runs, unit="run", desc="uncertainty", file=sys.stderr,
                                disable=None if progress else True) as bar:
        if client is None:
            for s in starts:
                add(analysis.run_chunk(x[s:s + chunk], where, s, hist=hist))
                bar.update(min(chunk, runs - s))
        else:
            from dask.distributed import as_completed

            remote = client.scatter(analysis, broadcast=True)
            futures = client.map(_chunk_task, [x[s:s + chunk] for s in starts],
                                 [where] * len(starts), starts, analysis=remote)
            for future in as_completed(futures):  # sums are exact: the order does not matter
                part = future.result()
                add(part)
                bar.update(len(part["outcome"]))
                future.release()
    ranks = _rank_table(analysis, counts, hist, rank_sum, runs)
    draws = _draws_table(analysis, design, where)
    return Uncertainty(ranks, draws, outcomes, shift, analysis.hist_width / 2.0,
                       list(analysis.consequences), list(praised), list(summoned), design,
                       factors, int(seed), int(n), chunk, level, period, scheme, data.name,
                       analysis, where)


def _chunk_task(x, where, offset, analysis):
    return analysis.run_chunk(x, where, offset)


def _rank_table(a: _Analysis, counts: np.ndarray, hist: np.ndarray, rank_sum: np.ndarray,
                runs: int) -> pd.DataFrame:
    values = np.arange(hist.shape[1]) * a.hist_width / 2.0
    quantiles = {q: np.empty(len(hist)) for q in (0.05, 0.5, 0.95)}
    block = max(1, 2**20 // hist.shape[1])  # a block of units at a time: memory stays small
    for start in range(0, len(hist), block):
        cdf = np.cumsum(hist[start:start + block], axis=1, dtype=np.int64)
        for q, out in quantiles.items():
            # inverted CDF: the smallest rank r with F(r) >= q
            out[start:start + block] = values[(cdf < q * runs - 1e-9).sum(axis=1)]

    def quantile(q):
        return quantiles[q]

    table = a.nominal_table
    out = pd.DataFrame({
        "unit": table["unit"], "name": table["name"], "name_en": table["name_en"],
        "group": table["group"], "subgroup": table["subgroup"],
        "nominal_score": table["score"].to_numpy(float),
        "nominal_rank": a.nominal_rank,
        "nominal_outcome": table["outcome"].astype(str),
        "median_rank": quantile(0.5), "q05": quantile(0.05), "q95": quantile(0.95),
        "mean_rank": rank_sum / runs,
    })
    share = counts / runs
    idx = {k: c for c, k in enumerate(a.consequences)}
    # praised and summoned: the share of runs with any of their consequences (a unit cannot be
    # both praised and summoned in one run, and each key is counted once)
    out["p_praised"] = share[:, [idx[k] for k in a.praised_keys]].sum(axis=1) \
        if a.praised_keys else 0.0
    out["p_summoned"] = share[:, [idx[k] for k in a.summoned_keys]].sum(axis=1) \
        if a.summoned_keys else 0.0
    for k, c in idx.items():
        col = f"p_{k}"
        if col not in out.columns:
            out[col] = share[:, c]
    return out


def _draws_table(a: _Analysis, design: sens.SampleDesign, where: dict) -> pd.DataFrame:
    runs = design.runs()
    frame = runs[["block", "switched", "base_row"]].copy()
    x = design.matrix()
    for slot, f in ((0, a.f_norm), (1, a.f_group), (2, a.f_miss), (3, a.f_agg)):
        if f is None:
            continue
        labels = np.empty(len(f.labels), dtype=object)
        labels[:] = list(f.labels)
        frame[f.name] = pd.array(labels[x[:, where["discrete"][slot]].astype(np.intp)].tolist(),
                                 dtype="str")
    for f, col in zip(a.f_quota, where["quota"], strict=True):
        frame[f.name] = np.asarray(f.options, float)[x[:, col].astype(np.intp)]
    if len(a.weight_nodes):
        mult = a.multipliers(x[:, where["weights"]])
        for k, (name, j) in enumerate(a.weight_columns):
            frame[f"{name}:{a.ids[j]}"] = mult[:, k]
    return frame


__all__ = [
    "FACTOR_KINDS",
    "NORMALISATION_PRESETS",
    "RELATIVE_METHODS",
    "SchemeFactor",
    "Uncertainty",
    "default_factors",
    "factor_from_spec",
    "uncertainty",
    "vary_aggregation",
    "vary_grouping",
    "vary_missing",
    "vary_normalisation",
    "vary_quota",
    "vary_weights",
]
