"""Regional grouping (分组比较): how much do the results depend on how units are grouped, and are
the quotas fair?

Sichuan ranks its 39 underdeveloped counties inside three regional groups, not province-wide,
"because their starting points differ"; seed document 003 criticises schemes that measure a
top-100 county and a farming county with one ruler. :func:`regroup` re-runs one level of a scheme
under several *alternative groupings* at once, through the engine's vectorised kernels
(:class:`~assesskit.engine.batch.LevelBatch`): the groups decide both the within-group scoring
rules and the ranking, and the quotas follow a stated rule. This module has no ranking or quota
logic of its own; it builds groupings, reads the engine's results and summarises them.

Alternatives
------------
Each alternative is plain data (:class:`Alternative`), built with :func:`official`,
:func:`pooled`, :func:`by_column`, :func:`by_parent`, :func:`kmeans`, :func:`ward`,
:func:`quantiles` or :func:`mapping`, or read from a short text (:func:`alternative_from_spec`:
``"official"``, ``"official:proportional"``, ``"pool"``, ``"parent"``, ``"column:subgroup"``,
``"kmeans:3"``, ``"ward:2-6"``, ``"quantiles:gdp_per_capita:3"``, ``"mapping:groups.csv"``):

* the official groups, with the official quotas or with the quotas re-shared by a rule;
* one pool;
* a units column, or the parent unit (prefecture) of each unit;
* data-driven clusters of the baseline (below) by k-means or Ward's method (scikit-learn), with
  ``k`` given or chosen by the mean silhouette over a range (the scan is kept in
  :attr:`GroupingResult.scan`). Clusters are labelled ``C1`` … ``Ck`` from the lowest mean
  endowment to the highest;
* quantile groups ``Q1`` (lowest values) … ``Qq`` of a baseline variable (``pandas.qcut``): a
  units column, an indicator at a period (default the first period of the data), or the
  endowment index;
* any mapping unit -> group, given as a dict or a CSV file with columns ``unit`` and ``group``.

Quotas under an alternative follow :mod:`assesskit.engine.design`: the official quotas under the
official groups (any grouping that puts the same units together counts as the official groups);
otherwise the official quotas of each consequence are added up and shared by ``quota_rule`` —
``proportional`` (largest remainder in proportion to group size, the default), ``equal`` (the
same count in every group) or ``fixed`` (counts the user states). Subgroup quotas (the plateau's
阿坝州 / 甘孜州 split) are added into the total and no split survives a change of groups.

Baseline and endowment
----------------------
A :class:`Baseline` names the variables that describe where units start: units columns (census
figures) or indicators at a period. They are standardised (``z = (x - mean) / sd``, population
standard deviation; columns listed in ``log`` are taken as ``log10`` first) and clustered. The
*endowment* of a unit is the mean z-score of the baseline's endowment columns (an indicator with
``direction: lower`` counts negatively), or a variable the user names. For the Sichuan counties
:func:`census_baseline` uses the real census figures of the units table (urbanisation 2010 and
2020, households with a toilet 2020, log population 2020); the endowment is the mean z-score of
the first three (population is size, not development).

What is reported
----------------
For every alternative and unit (:meth:`GroupingResult.to_frame`): the group, score, rank within
the group and within the official groups, the *fate* (praised / summoned / neither), and, with
``draws > 0``, the probability of being praised or summoned over random designs of the scheme
(the uncertainty factors: weights, normalisation, aggregation, missing values), with 95% Wilson
intervals and the 5-95% range of the rank. Per alternative (:attr:`GroupingResult.alternatives`):
the number of groups, agreement with the official groups (adjusted Rand index), how many units
change fate, and the Spearman correlation of score with endowment across all units and within
groups, with a verdict on whether the grouping removes the advantage of the better endowed or
only hides it (:data:`ADVANTAGE_THRESHOLD`). Quota fairness (:attr:`GroupingResult.quotas`): each
group's quota, size and share. Any single case, one alternative at the official design or in one
random draw, is rebuilt as a scheme by :meth:`GroupingResult.rebuild`; ``evaluate`` of it gives
the scores, ranks and fates the vectorised run gave that case.

Memory
------
Draws are streamed in chunks of whole blocks of :data:`DRAW_BLOCK` draws; each block's random
numbers come from its own stream ``numpy.random.default_rng([seed, block])``, so the results do
not depend on the chunk size. Per alternative and unit the analysis keeps counts and a histogram
of ranks (exact while it fits :data:`HISTOGRAM_BYTES`, coarser bins beyond), so memory does not
grow with the number of draws.
"""

from __future__ import annotations

import html
import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..data.model import Dataset, normalise_period
from ..engine.batch import LevelBatch
from ..engine.consequences import LevelDecisions, praised_and_summoned, quota_level
from ..engine.design import OFFICIAL as DESIGN_OFFICIAL
from ..engine.design import POOL as DESIGN_POOL
from ..engine.design import QUOTA_RULES, Design, Regrouping, apply_design
from ..engine.evaluation import evaluate
from ..engine.tree import Tree
from ..errors import DataError, Notice, Problem, SchemeError
from ..scheme.model import Scheme, load_scheme
from .uncertainty import FactorSpace, SchemeFactor, default_factors, factor_from_spec

__all__ = [
    "ADVANTAGE_THRESHOLD",
    "ALTERNATIVE_KINDS",
    "Alternative",
    "Baseline",
    "GroupingResult",
    "alternative_from_spec",
    "by_column",
    "by_parent",
    "census_baseline",
    "default_alternatives",
    "default_baseline",
    "grouping_context",
    "narrative",
    "kmeans",
    "mapping",
    "official",
    "pooled",
    "quantiles",
    "regroup",
    "ward",
]

ALTERNATIVE_KINDS = ("official", "pool", "column", "parent", "kmeans", "ward", "quantiles",
                     "mapping")
"""Kinds of alternative grouping :func:`regroup` understands."""

ADVANTAGE_THRESHOLD = 0.3
"""Spearman correlation from which the better endowed are said to keep an advantage (a
"moderate" correlation in Cohen's terms). Verdicts: ``remains`` (score and endowment correlate at
least this much across all units), ``hidden`` (not across all units, but within the groups),
``removed`` (neither), ``reversed`` (across all units at most minus this)."""

ENDOWMENT = "endowment"
"""Name of the endowment index as a quantile variable (``quantiles("endowment", 3)``)."""

CENSUS_COLUMNS = ("census_urbanization_rate_2010", "census_urbanization_rate_2020",
                  "census_toilet_share_2020", "census_population_2020")
"""Real census columns of the Sichuan units table (``data/sichuan-39/units.csv``, from
``data/raw/sichuan/sichuan_county_census_2010_2020.csv``)."""

PRAISED, SUMMONED, NEITHER = "praised", "summoned", "neither"
FATE_CODES = {1: PRAISED, -1: SUMMONED, 0: NEITHER}
DRAW_BLOCK = 50  # draws per random stream: results do not depend on the chunk size
CHUNK_CELLS = 2_500_000  # runs x units per chunk (about 20 MB per array of a chunk)
HISTOGRAM_BYTES = 128 * 2**20  # the rank histograms' budget, all alternatives together
SCAN_DEFAULT = (2, 6)
DRAW_KINDS = ("weights", "normalisation", "aggregation", "missing")


# ============================================================================ alternatives
@dataclass(frozen=True)
class Alternative:
    """One alternative grouping of the assessed units, as plain data.

    Build with :func:`official`, :func:`pooled`, :func:`by_column`, :func:`by_parent`,
    :func:`kmeans`, :func:`ward`, :func:`quantiles` or :func:`mapping`; or read one with
    :func:`alternative_from_spec`.

    Parameters
    ----------
    kind : str
        One of :data:`ALTERNATIVE_KINDS`.
    name : str, optional
        Name shown in tables and charts (a default is made from the kind).
    quota_rule : str, optional
        ``"proportional"``, ``"equal"`` or ``"fixed"``; for ``official`` also ``None`` (keep the
        official quotas). Default: the official quotas under the official groups, the
        analysis's rule otherwise.
    quota_counts : mapping, optional
        Counts for the rule ``fixed``: consequence -> count per group, or ``{group: count}``.
    column : str, optional
        ``column``: the units column. ``quantiles``: a units column, an indicator code or
        ``"endowment"``.
    k : int or tuple of two int, optional
        ``kmeans`` / ``ward``: the number of clusters, or ``(lowest, highest)`` to scan.
        ``quantiles``: the number of quantile groups.
    period : str, optional
        ``quantiles`` of an indicator: its period (default the first period of the data).
    groups : mapping, optional
        ``mapping``: unit id -> group label, or group label -> list of unit ids.
    source : str, optional
        ``mapping`` read from a file: the file (for messages and the record).
    """

    kind: str
    name: str = ""
    quota_rule: str | None = None
    quota_counts: Mapping | None = None
    column: str | None = None
    k: object = None
    period: str | None = None
    groups: Mapping | None = None
    source: str | None = None

    def __post_init__(self):
        if isinstance(self.k, list):
            object.__setattr__(self, "k", tuple(self.k))
        problems = self._problems()
        if problems:
            raise SchemeError(f"alternative {self.name or self.kind!r} is not valid: "
                              + "; ".join(problems), key=f"alternatives.{self.name or self.kind}")
        if not self.name:
            object.__setattr__(self, "name", self._default_name())

    def _problems(self) -> list[str]:
        if self.kind not in ALTERNATIVE_KINDS:
            return [f"kind {self.kind!r} is unknown; use one of {list(ALTERNATIVE_KINDS)}"]
        problems = []
        rules = (None, *QUOTA_RULES)
        if self.quota_rule not in rules:
            problems.append(f"quota_rule must be one of {list(rules)}, not {self.quota_rule!r}")
        if self.quota_rule == "fixed" and not self.quota_counts:
            problems.append("quota_rule 'fixed' needs quota_counts, e.g. {'praised': 3, "
                            "'summoned': 1} (counts per group)")
        if self.kind in ("column", "quantiles") and not (isinstance(self.column, str)
                                                         and self.column.strip()):
            problems.append(f"a {self.kind} alternative names a column (or indicator)")
        if self.kind in ("kmeans", "ward"):
            k = self.k
            if isinstance(k, tuple):
                if len(k) != 2 or not all(_is_int(x) for x in k) or not 2 <= k[0] <= k[1]:
                    problems.append(f"k must be a whole number >= 2 or a range (lowest, highest) "
                                    f"with 2 <= lowest <= highest, not {k!r}")
            elif not (_is_int(k) and k >= 1):
                problems.append(f"k (the number of clusters) must be a whole number >= 1, not "
                                f"{k!r}")
        if self.kind == "quantiles" and not (_is_int(self.k) and self.k >= 2):
            problems.append(f"the number of quantile groups must be a whole number >= 2, not "
                            f"{self.k!r}")
        if self.kind == "mapping" and not isinstance(self.groups, Mapping):
            problems.append("a mapping alternative needs groups: unit id -> group (or group -> "
                            "list of unit ids)")
        return problems

    def _default_name(self) -> str:
        if self.kind == "official":
            return "official" if self.quota_rule is None else f"official/{self.quota_rule}"
        if self.kind in ("kmeans", "ward"):
            return (f"{self.kind}-{self.k}" if not isinstance(self.k, tuple)
                    else f"{self.kind}-{self.k[0]}..{self.k[1]}")
        if self.kind == "quantiles":
            return f"{self.column}-q{self.k}"
        if self.kind == "column":
            return str(self.column)
        if self.kind == "mapping":
            return Path(self.source).stem if self.source else "mapping"
        return self.kind

    def to_dict(self) -> dict:
        """The alternative as plain data (:func:`alternative_from_spec` reads it back)."""
        out = {"kind": self.kind, "name": self.name}
        for fld in ("quota_rule", "quota_counts", "column", "k", "period", "source"):
            value = getattr(self, fld)
            if value is not None:
                out[fld] = list(value) if isinstance(value, tuple) else value
        if self.groups is not None and self.source is None:
            out["groups"] = dict(self.groups)
        return out


def _is_int(x) -> bool:
    return isinstance(x, numbers.Integral) and not isinstance(x, bool)


def official(quota_rule: str | None = None, *, name: str | None = None,
             quota_counts: Mapping | None = None) -> Alternative:
    """The scheme's own groups, with the official quotas (default) or re-shared by a rule.

    Examples
    --------
    >>> official().name, official("proportional").name
    ('official', 'official/proportional')
    """
    return Alternative("official", name or "", quota_rule, quota_counts)


def pooled(*, name: str = "pool", quota_rule: str | None = None,
           quota_counts: Mapping | None = None) -> Alternative:
    """All units in one group (the official quotas of each consequence added up)."""
    return Alternative("pool", name, quota_rule, quota_counts)


def by_column(column: str, *, name: str | None = None, quota_rule: str | None = None,
              quota_counts: Mapping | None = None) -> Alternative:
    """Groups from a column of the units table (e.g. ``"subgroup"``, ``"prefecture"``)."""
    return Alternative("column", name or "", quota_rule, quota_counts, column=column)


def by_parent(*, name: str = "parent", quota_rule: str | None = None,
              quota_counts: Mapping | None = None) -> Alternative:
    """Groups by parent unit (the prefecture of a county), labelled with the parent's name."""
    return Alternative("parent", name, quota_rule, quota_counts)


def kmeans(k=3, *, name: str | None = None, quota_rule: str | None = None,
           quota_counts: Mapping | None = None) -> Alternative:
    """Clusters of the standardised baseline by k-means (scikit-learn, seeded, :data:`KMEANS_STARTS` starts).

    Parameters
    ----------
    k : int or (int, int)
        Number of clusters, or the range scanned: the ``k`` with the highest mean silhouette is
        used (ties: the smaller ``k``).
    """
    return Alternative("kmeans", name or "", quota_rule, quota_counts, k=k)


def ward(k=3, *, name: str | None = None, quota_rule: str | None = None,
         quota_counts: Mapping | None = None) -> Alternative:
    """Clusters of the standardised baseline by Ward's hierarchical method (scikit-learn).

    Parameters
    ----------
    k : int or (int, int)
        As :func:`kmeans`.
    """
    return Alternative("ward", name or "", quota_rule, quota_counts, k=k)


def quantiles(of: str = ENDOWMENT, q: int = 3, *, period=None, name: str | None = None,
              quota_rule: str | None = None, quota_counts: Mapping | None = None) -> Alternative:
    """Quantile groups ``Q1`` (lowest) … ``Qq`` of one baseline variable.

    Parameters
    ----------
    of : str
        A units column, an indicator code (values of ``period``) or ``"endowment"`` (the
        endowment index of the analysis).
    q : int
        Number of groups of (nearly) equal size (``pandas.qcut``).
    period : int or str, optional
        Period of an indicator (default: the first period of the data).

    Examples
    --------
    >>> quantiles("gdp_per_capita", 3).name
    'gdp_per_capita-q3'
    """
    return Alternative("quantiles", name or "", quota_rule, quota_counts, column=of, k=q,
                       period=None if period is None else normalise_period(period))


def mapping(groups, *, name: str | None = None, quota_rule: str | None = None,
            quota_counts: Mapping | None = None) -> Alternative:
    """Groups a user gives: a dict (unit id -> group, or group -> list of unit ids) or the path
    of a CSV file (UTF-8 or GBK) with columns ``unit`` and ``group``.

    Raises
    ------
    DataError
        The file cannot be read, lacks a column, has a blank group or a unit twice with
        different groups.
    """
    if isinstance(groups, str | Path):
        return Alternative("mapping", name or "", quota_rule, quota_counts,
                           groups=_read_mapping(groups), source=str(groups))
    return Alternative("mapping", name or "", quota_rule, quota_counts,
                       groups=dict(groups) if isinstance(groups, Mapping | pd.Series) else groups)


def _read_mapping(path) -> dict:
    from ..data.io import read_table

    table = read_table(path)
    file = str(path)
    cols = {c.lower(): c for c in table.columns}
    missing = [c for c in ("unit", "group") if c not in cols]
    if missing:
        raise DataError(Problem(f"a grouping file needs the columns 'unit' and 'group' (one row "
                                f"per unit); missing {missing}, found {list(table.columns)}",
                                file=file))
    unit, group = table[cols["unit"]].str.strip(), table[cols["group"]].str.strip()
    problems = [Problem("the unit has no group; give it one", file=file, row=i + 2,
                        column=cols["group"], value=u)
                for i, (u, g) in enumerate(zip(unit, group, strict=True)) if u and not g]
    out: dict = {}
    for i, (u, g) in enumerate(zip(unit, group, strict=True)):
        if not u:
            continue
        if u in out and out[u] != g:
            problems.append(Problem(f"unit {u} appears again with another group ({out[u]!r} "
                                    f"before, {g!r} here); give each unit one group", file=file,
                                    row=i + 2, column=cols["unit"]))
        out.setdefault(u, g)
    if problems:
        raise DataError(problems)
    return out


def alternative_from_spec(spec) -> Alternative:
    """An alternative from plain data: an :class:`Alternative`, a dict or a short text.

    Texts: ``official``, ``official:<rule>``, ``pool``, ``parent``, ``column:<name>``,
    ``kmeans:<k>`` or ``kmeans:<lo>-<hi>`` (scanned), ``ward:…``, ``quantiles:<variable>:<q>``
    (``quantiles:<variable>`` for tertiles), ``mapping:<file.csv>``.

    Raises
    ------
    SchemeError
        An unknown kind or a malformed text.

    Examples
    --------
    >>> alternative_from_spec("kmeans:2-6").k
    (2, 6)
    >>> alternative_from_spec("quantiles:gdp_per_capita:4").name
    'gdp_per_capita-q4'
    """
    if isinstance(spec, Alternative):
        return spec
    if isinstance(spec, Mapping):
        args = dict(spec)
        kind = args.get("kind")
        if kind not in ALTERNATIVE_KINDS:
            raise SchemeError(f"an alternative needs kind: one of {list(ALTERNATIVE_KINDS)}; got "
                              f"{kind!r}", key="alternatives")
        if kind == "mapping" and isinstance(args.get("groups"), str | Path):
            path = args.pop("groups")
            args.update(groups=_read_mapping(path), source=str(path))
        try:
            return Alternative(**args)
        except TypeError as err:
            raise SchemeError(f"alternative {spec!r}: {err}", key="alternatives") from None
    if not isinstance(spec, str) or not spec.strip():
        raise SchemeError(f"an alternative is an Alternative, a dict or a text such as "
                          f"'kmeans:3', not {spec!r}", key="alternatives")
    kind, _, rest = spec.strip().partition(":")
    where = f"alternatives.{spec}"

    def count(text: str, what: str):
        try:
            if "-" in text:
                lo, hi = text.split("-", 1)
                return int(lo), int(hi)
            return int(text)
        except ValueError:
            raise SchemeError(f"{spec!r}: {what} must be a whole number or a range like 2-6",
                              key=where) from None

    if kind == "official":
        return official(rest or None)
    if kind in ("pool", "parent") and not rest:
        return pooled() if kind == "pool" else by_parent()
    if kind == "column" and rest:
        return by_column(rest)
    if kind in ("kmeans", "ward"):
        k = count(rest, "the number of clusters") if rest else 3
        return kmeans(k) if kind == "kmeans" else ward(k)
    if kind == "quantiles":
        variable, _, q = rest.partition(":")
        q = count(q, "the number of quantile groups") if q else 3
        return quantiles(variable or ENDOWMENT, q)
    if kind == "mapping" and rest:
        return mapping(rest)
    raise SchemeError(f"cannot read alternative {spec!r}; write official, official:<rule>, pool, "
                      "parent, column:<name>, kmeans:<k>, ward:<k>, quantiles:<variable>:<q> or "
                      "mapping:<file.csv>", key=where)


# ============================================================================ baseline
@dataclass(frozen=True)
class Baseline:
    """The variables that describe where units start (their baseline endowment).

    Parameters
    ----------
    columns : tuple of str
        Units columns or indicator codes (indicators are read at ``period``).
    period : str, optional
        Period of the indicators (default: the first period of the data).
    log : tuple of str
        Columns taken as ``log10`` before standardising (sizes such as population; they must be
        positive).
    endowment : tuple of str, optional
        Columns whose mean z-score is the endowment index (default: every column not in
        ``log``, or every column if all are). An indicator with ``direction: lower`` counts
        with the opposite sign; a units column counts as "higher is more developed".
    missing : {"error", "mean"}
        A missing value is an error naming the unit and column, or (``"mean"``) takes the mean
        of the other units (z = 0), with a notice.
    name : str
        Name shown in the result.
    note : str
        Why the variables were chosen, or what is known about a gap (shown in the summary).
    """

    columns: tuple
    period: str | None = None
    log: tuple = ()
    endowment: tuple | None = None
    missing: str = "error"
    name: str = "baseline"
    note: str = ""

    def __post_init__(self):
        for fld in ("columns", "log", "endowment"):
            value = getattr(self, fld)
            if isinstance(value, list | str):
                object.__setattr__(self, fld, (value,) if isinstance(value, str) else tuple(value))
        problems = []
        if not self.columns:
            problems.append("name at least one column or indicator")
        unknown = [c for c in (*self.log, *(self.endowment or ())) if c not in self.columns]
        if unknown:
            problems.append(f"log and endowment must be among the columns; not: {unknown}")
        if self.missing not in ("error", "mean"):
            problems.append(f"missing must be 'error' or 'mean', not {self.missing!r}")
        if problems:
            raise SchemeError("the baseline is not valid: " + "; ".join(problems),
                              key="baseline")

    @property
    def endowment_columns(self) -> tuple:
        if self.endowment is not None:
            return self.endowment
        rest = tuple(c for c in self.columns if c not in self.log)
        return rest or self.columns


def census_baseline() -> Baseline:
    """The real census baseline of the Sichuan counties (columns of ``data/sichuan-39``).

    Urbanisation 2010 and 2020, share of households with a toilet 2020 and log10 population
    2020 (6th and 7th national population census, via leiii/census, MIT); the endowment index is
    the mean z-score of the first three. 恩阳区 was created in 2013 and has no 2010 figure: it
    takes the mean of the other counties (z = 0) for that column, with a notice.
    """
    return Baseline(CENSUS_COLUMNS, log=("census_population_2020",),
                    endowment=CENSUS_COLUMNS[:3], missing="mean", name="census 2010/2020",
                    note="real census figures (6th and 7th national population census, 2010 and "
                         "2020); a unit without a 2010 figure (恩阳区, created in 2013) takes the "
                         "mean of the others for that column")


def default_baseline(scheme, data: Dataset, level: str | None = None,
                     units: pd.DataFrame | None = None) -> Baseline:
    """The baseline used when none is given.

    The census baseline (:func:`census_baseline`) if the units table has its columns; otherwise
    the indicators the level scores that every assessed unit reports in the first period of the
    data (the starting point), their endowment index the mean of their z-scores (direction
    respected).

    Parameters
    ----------
    scheme, data, level
        As :func:`regroup`.
    units : pandas.DataFrame, optional
        The assessed units (default: every unit of the level's units level).

    Raises
    ------
    DataError
        If no scored indicator is reported for every unit in the first period.
    """
    scheme = scheme if isinstance(scheme, Scheme) else load_scheme(scheme)
    level = level or quota_level(scheme)
    spec = scheme.levels[level]
    if units is None:
        units = data.level_units(spec.units.get("level", spec.level))
    if all(c in units.columns for c in CENSUS_COLUMNS):
        return census_baseline()
    first = data.periods[0]
    codes = list(dict.fromkeys(nd.indicator for nd in spec.root.walk()
                               if nd.kind == "leaf" and getattr(nd, "indicator", None)))
    wide = data.wide(first, units=units["unit"].astype(str), indicators=codes)
    complete = [c for c in codes if wide[c].notna().all()]
    if not complete:
        raise DataError(f"no indicator scored by level {level!r} is reported for every assessed "
                        f"unit in {first} (the first period of the data), and the units table "
                        "has no census columns; give a Baseline (units columns or indicators) "
                        "explicitly")
    left = [c for c in codes if c not in complete]
    note = (f"the {len(complete)} indicator{'s' if len(complete) > 1 else ''} of level "
            f"{level!r} reported by every unit in {first} (the first period of the data)")
    if left:
        note += f"; left out, not reported by every unit: {', '.join(left)}"
    return Baseline(tuple(complete), period=first, name=f"indicators {first}", note=note)


@dataclass
class BaselineValues:
    """A baseline resolved on the assessed units."""

    values: pd.DataFrame  # raw values (log applied), index unit
    z: pd.DataFrame  # standardised
    endowment: pd.Series  # mean z of the endowment columns (signed)
    notices: list


def resolve_baseline(baseline: Baseline, data: Dataset, units: pd.DataFrame) -> BaselineValues:
    """The baseline's values on the assessed units, standardised, and the endowment index.

    Parameters
    ----------
    baseline : Baseline
    data : Dataset
    units : pandas.DataFrame
        The assessed units (columns of the units table, in the order of the evaluation).

    Returns
    -------
    BaselineValues

    Raises
    ------
    DataError
        An unknown column, a value that is not a number, a missing value under
        ``missing="error"``, a non-positive value of a ``log`` column.

    Notes
    -----
    ``z = (x - mean) / sd`` with the population standard deviation (``ddof = 0``); a column
    with the same value for every unit gets ``z = 0`` (with a notice).
    """
    ids = units["unit"].astype(str)
    file = data.sources.get("units", f"units of dataset {data.name!r}")
    period = baseline.period or data.periods[0]
    indicator_codes = set(data.indicators["indicator"].astype(str))
    problems, notices, columns, signs = [], [], {}, {}
    wide = None
    for col in baseline.columns:
        if col in units.columns:
            raw = pd.to_numeric(units[col].replace("", np.nan), errors="coerce")
            bad = raw.isna() & units[col].astype(str).str.strip().ne("") & units[col].notna()
            for u, nm, v in zip(ids[bad], units["name"][bad], units[col][bad], strict=True):
                problems.append(Problem(f"unit {u} ({nm}): baseline value is not a number",
                                        file=file, column=col, value=v))
            signs[col] = 1.0
        elif col in indicator_codes:
            if wide is None:
                wide = data.wide(period, units=ids, indicators=[c for c in baseline.columns
                                                                if c in indicator_codes])
            raw = pd.Series(wide[col].to_numpy(), index=units.index)
            direction = str(data.indicator_info(col).get("direction", "higher"))
            signs[col] = -1.0 if direction == "lower" else 1.0
        else:
            raise DataError(f"baseline {baseline.name!r}: {col!r} is neither a column of the units "
                            f"table nor an indicator of dataset {data.name!r}; units columns: "
                            f"{list(units.columns)}")
        columns[col] = raw.astype(float)
    if problems:
        raise DataError(problems)
    values = pd.DataFrame(columns).set_axis(ids.to_numpy(), axis=0)
    gaps = values.isna()
    if gaps.any().any():
        cells = [(u, c) for c in values.columns for u in values.index[gaps[c]]]
        names = dict(zip(ids, units["name"].astype(str), strict=True))
        if baseline.missing == "error":
            raise DataError([Problem(f"unit {u} ({names[u]}) has no value of baseline variable "
                                     f"{c!r}" + (f" in {period}" if c in indicator_codes else "")
                                     + "; fill it in, leave the variable out of the baseline, or "
                                     "use Baseline(missing='mean')", file=file, column=c)
                             for u, c in cells])
        for u, c in cells:
            notices.append(Notice("baseline_mean_imputed",
                                  f"{names[u]} ({u}) has no {c}; it takes the mean of the other "
                                  "units (z = 0) in the baseline", where=c))
    for col in baseline.log:
        x = values[col]
        if (x.dropna() <= 0).any():
            raise DataError(f"baseline column {col!r} is taken as log10 but has values <= 0 "
                            f"(units {', '.join(values.index[x <= 0][:5])}); drop it from log")
        values[col] = np.log10(x)
    mean, sd = values.mean(), values.std(ddof=0)
    flat = [c for c in values.columns if not sd[c] > 0]
    for c in flat:
        notices.append(Notice("baseline_constant", f"baseline variable {c!r} has the same value "
                              "for every unit; it separates no group (z = 0)", where=c))
    z = ((values - mean) / sd.where(sd > 0, 1.0)).fillna(0.0)
    cols = list(baseline.endowment_columns)
    endow = (z[cols] * pd.Series({c: signs[c] for c in cols})).mean(axis=1)
    return BaselineValues(values, z, endow.rename(ENDOWMENT), notices)


# ============================================================================ resolving groupings
@dataclass
class Resolved:
    """An alternative resolved on the units: what the engine runs and how to show it."""

    alternative: Alternative
    option: object  # "official", "pool" or a mapping unit id -> label
    quota_rule: str | None
    quota_counts: Mapping
    description: str
    k: int | None = None
    silhouette: float = np.nan
    scan: pd.DataFrame | None = None

    @property
    def name(self) -> str:
        return self.alternative.name

    def regrouping(self) -> Regrouping:
        return Regrouping(self.option, self.quota_rule, dict(self.quota_counts or {}))


#: Seeded k-means starts. With 10, k-means on the 39 Sichuan counties stops in a worse local
#: optimum for 38 of 100 seeds (so the grouping, and the answer, depended on the seed); with 100,
#: every seed tried finds the partition of least inertia.
KMEANS_STARTS = 100


def _cluster_labels(z: pd.DataFrame, endowment: pd.Series, method: str, k, seed: int,
                    name: str) -> tuple[np.ndarray, int, float, pd.DataFrame | None]:
    """Cluster labels C1..Ck (C1 = lowest mean endowment), k, silhouette, scan table.

    Computed on one thread: the same labels on every machine, and no OpenMP spin-waiting on a
    shared machine (k-means on 2,850 units takes 0.6 s on one thread, 20 s on two busy ones).
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        return _clusters(z, endowment, method, k, seed, name)


def _clusters(z, endowment, method, k, seed, name):
    from sklearn.cluster import AgglomerativeClustering, KMeans
    from sklearn.metrics import silhouette_score

    x = z.to_numpy(dtype=float)
    n = len(x)

    def fit(kk: int) -> np.ndarray:
        if method == "kmeans":
            return KMeans(n_clusters=kk, n_init=KMEANS_STARTS, random_state=seed).fit_predict(x)
        return AgglomerativeClustering(n_clusters=kk, linkage="ward").fit_predict(x)

    distinct = len(np.unique(x, axis=0))
    if isinstance(k, tuple):
        lo, hi = k
        if hi > n - 1:
            raise SchemeError(f"alternative {name!r}: the scan reaches {hi} clusters, but "
                              f"{n} units allow at most {n - 1} (a silhouette needs at least "
                              "one group with two units); lower the range", key=f"alternatives.{name}.k")
        hi = min(hi, distinct)
        rows = []
        for kk in range(lo, hi + 1):
            labels = fit(kk)
            s = silhouette_score(x, labels) if len(np.unique(labels)) > 1 else np.nan
            rows.append({"alternative": name, "method": method, "k": kk, "silhouette": float(s)})
        scan = pd.DataFrame(rows)
        best = scan.loc[scan["silhouette"].fillna(-np.inf).idxmax()]
        chosen = int(best["k"])
    else:
        if k > n:
            raise SchemeError(f"alternative {name!r}: {k} clusters for {n} units; the number of "
                              f"clusters cannot exceed the number of units ({n})",
                              key=f"alternatives.{name}.k")
        if k > distinct:
            raise SchemeError(f"alternative {name!r}: {k} clusters, but only {distinct} units "
                              "have distinct baseline values; choose fewer clusters",
                              key=f"alternatives.{name}.k")
        scan, chosen = None, int(k)
    raw = fit(chosen)
    sil = float(silhouette_score(x, raw)) if 1 < len(np.unique(raw)) < n else np.nan
    # name clusters by their mean endowment: C1 the lowest (stable: ties keep cluster order)
    means = pd.Series(endowment.to_numpy()).groupby(raw).mean().sort_values(kind="mergesort")
    names = {c: f"C{i + 1}" for i, c in enumerate(means.index)}
    return np.array([names[c] for c in raw], dtype=object), chosen, sil, scan


def _resolve(alt: Alternative, units: pd.DataFrame, data: Dataset, base: BaselineValues | None,
             spec, quota_rule: str, quota_counts: Mapping, seed: int, level: str,
             no_baseline: str = "") -> Resolved:
    ids = units["unit"].astype(str)
    names = units["name"].astype(str)
    gb = spec.ranking.get("group_by")
    counts = dict(alt.quota_counts or quota_counts or {})
    rule = alt.quota_rule
    file = data.sources.get("units", f"units of dataset {data.name!r}")
    if alt.kind == "official":
        what = f"the official groups ({gb})" if gb else "the official pool (no groups)"
        how = "official quotas" if rule is None else f"quotas shared by rule {rule!r}"
        return Resolved(alt, DESIGN_OFFICIAL, rule, counts, f"{what}, {how}")
    rule_text = f"quotas shared by rule {rule or quota_rule!r}"
    if alt.kind == "pool":
        return Resolved(alt, DESIGN_POOL, rule, counts, f"one pool of all units, {rule_text}")
    k = None
    sil, scan = np.nan, None
    if alt.kind in ("column", "parent"):
        column = "parent" if alt.kind == "parent" else alt.column
        if column not in units.columns:
            raise SchemeError(f"alternative {alt.name!r}: {column!r} is not a column of the units "
                              f"table; columns: {list(units.columns)}",
                              key=f"alternatives.{alt.name}.column")
        text = units[column].astype(str).str.strip()
        blank = text.eq("") | units[column].isna()
        if blank.any():
            raise DataError([Problem(f"unit {u} ({nm}) has no {column}, so alternative "
                                     f"{alt.name!r} cannot group it; fill it in", file=file,
                                     column=column)
                             for u, nm in zip(ids[blank], names[blank], strict=True)])
        labels = text.to_numpy(dtype=object)
        if alt.kind == "parent":
            parents = data.units.drop_duplicates("unit").set_index(
                data.units.drop_duplicates("unit")["unit"].astype(str))["name"].astype(str)
            labels = np.array([parents.get(p, p) for p in labels], dtype=object)
            description = f"by parent unit ({len(set(labels))} groups, labelled by name)"
        else:
            description = f"by units column {column!r}"
    elif alt.kind in ("kmeans", "ward") and base is None:
        raise SchemeError(f"alternative {alt.name!r} clusters the baseline, but there is none: "
                          f"{no_baseline}; give regroup(..., baseline=Baseline([...]))",
                          key=f"alternatives.{alt.name}")
    elif alt.kind in ("kmeans", "ward"):
        labels, k, sil, scan = _cluster_labels(base.z, base.endowment, alt.kind, alt.k, seed,
                                               alt.name)
        method = f"k-means ({KMEANS_STARTS} starts, seeded)" if alt.kind == "kmeans" else "Ward's method"
        chosen = (f"k = {k} chosen by the highest mean silhouette among {alt.k[0]}-{alt.k[1]}"
                  if isinstance(alt.k, tuple) else f"k = {k}")
        description = (f"{method} on the standardised baseline ({', '.join(base.z.columns)}), "
                       f"{chosen}; C1 = lowest mean endowment")
    elif alt.kind == "quantiles":
        if alt.column == ENDOWMENT and base is None:
            raise SchemeError(f"alternative {alt.name!r} needs the endowment index, but there "
                              f"is no baseline: {no_baseline}; name a variable "
                              "(quantiles('gdp_per_capita', 3)) or give a Baseline",
                              key=f"alternatives.{alt.name}")
        values, what = _quantile_variable(alt, units, data, base)
        try:
            codes = pd.qcut(values.to_numpy(dtype=float), alt.k, labels=False)
        except ValueError:
            raise DataError(f"alternative {alt.name!r}: {what} has too many equal values to make "
                            f"{alt.k} quantile groups (a group would be empty); choose fewer "
                            "groups") from None
        labels = np.array([f"Q{int(c) + 1}" for c in codes], dtype=object)
        description = f"{alt.k} quantile groups of {what} (Q1 = lowest values)"
    else:  # mapping
        labels = _mapping_labels(alt, ids, names, level)
        description = (f"groups from {alt.source}" if alt.source else "groups given by the user")
    sizes = pd.Series(labels).value_counts()
    return Resolved(alt, dict(zip(ids, labels, strict=True)), rule, counts,
                    f"{description}; {len(sizes)} groups; {rule_text}", k=k, silhouette=sil,
                    scan=scan)


def _quantile_variable(alt: Alternative, units: pd.DataFrame, data: Dataset,
                       base: BaselineValues) -> tuple[pd.Series, str]:
    ids = units["unit"].astype(str)
    col = alt.column
    if col == ENDOWMENT:
        return base.endowment.reset_index(drop=True), "the endowment index"
    if col in units.columns:
        values = pd.to_numeric(units[col].replace("", np.nan), errors="coerce")
        what = f"units column {col!r}"
    elif col in set(data.indicators["indicator"].astype(str)):
        period = alt.period or data.periods[0]
        values = pd.Series(data.wide(period, units=ids, indicators=[col])[col].to_numpy())
        what = f"indicator {col!r} in {period}"
    else:
        raise SchemeError(f"alternative {alt.name!r}: {col!r} is neither a units column, an "
                          f"indicator nor 'endowment'", key=f"alternatives.{alt.name}.column")
    gaps = values.isna().to_numpy()
    if gaps.any():
        raise DataError([Problem(f"unit {u} ({nm}) has no value of {what}, so alternative "
                                 f"{alt.name!r} cannot place it in a quantile group",
                                 file=data.sources.get("values" if "indicator" in what
                                                       else "units"), column=col)
                         for u, nm in zip(ids[gaps], units["name"][gaps], strict=True)])
    return values.reset_index(drop=True), what


def _mapping_labels(alt: Alternative, ids: pd.Series, names: pd.Series, level: str) -> np.ndarray:
    groups = dict(alt.groups)
    where = alt.source or f"alternative {alt.name!r}"
    if groups and all(isinstance(v, list | tuple | set | frozenset) for v in groups.values()):
        empty = [str(g) for g, members in groups.items() if len(members) == 0]
        if empty:
            raise DataError(f"{where}: group(s) {empty} have no unit; every group needs at least "
                            "one unit (remove the empty group)")
        flat: dict = {}
        twice = []
        for g, members in groups.items():
            for u in members:
                if str(u) in flat:
                    twice.append(str(u))
                flat[str(u)] = str(g)
        if twice:
            raise DataError(f"{where}: unit(s) {sorted(set(twice))} are in two groups")
        groups = flat
    groups = {str(k).strip(): ("" if v is None else str(v).strip()) for k, v in groups.items()}
    blank = [u for u, g in groups.items() if not g]
    if blank:
        raise DataError(f"{where}: unit(s) {blank} have an empty group label; give each a group")
    label = dict(zip(ids, names, strict=True))
    missing = [u for u in ids if u not in groups]
    if missing:
        shown = ", ".join(f"{u} {label[u]}" for u in missing[:20])
        more = f" and {len(missing) - 20} more" if len(missing) > 20 else ""
        raise DataError(f"{where} gives no group to {len(missing)} unit(s) of level {level!r}: "
                        f"{shown}{more}; give every assessed unit a group")
    unknown = [u for u in groups if u not in label]
    if unknown:
        shown = ", ".join(unknown[:20]) + (f" and {len(unknown) - 20} more"
                                           if len(unknown) > 20 else "")
        raise DataError(f"{where} names {len(unknown)} unit(s) that level {level!r} does not "
                        f"assess: {shown}; remove them (or check the ids)")
    return np.array([groups[u] for u in ids], dtype=object)


def default_alternatives(scheme, data: Dataset, level: str | None = None) -> list[Alternative]:
    """The alternatives that make sense for a scheme's level and its units.

    The official groups with the official quotas, and (if the level ranks within groups) with
    proportional quotas; one pool (if the level has groups); by parent (if the units have
    parents that make other groups); and, if there is a baseline (:func:`default_baseline`),
    k-means and Ward clusters of it with ``k`` equal to the number of official groups (3 if
    none; at most the number of units - 1) and tertiles of the endowment index.
    """
    scheme = scheme if isinstance(scheme, Scheme) else load_scheme(scheme)
    level = level or quota_level(scheme)
    spec = scheme.levels[level]
    units = data.level_units(spec.units.get("level", spec.level))
    n = len(units)
    gb = spec.ranking.get("group_by")
    n_groups = units[gb].astype(str).nunique() if gb and gb in units.columns else 1
    out = [official()]
    if n_groups > 1:
        out += [official("proportional"), pooled()]
    parents = units["parent"].astype(str).str.strip() if "parent" in units.columns else None
    if parents is not None and (parents != "").all() and parents.nunique() > 1:
        official_labels = units[gb].astype(str) if gb else pd.Series("", index=units.index)
        pairs = len(set(zip(official_labels, parents, strict=True)))
        if not pairs == official_labels.nunique() == parents.nunique():
            out.append(by_parent())
    try:
        default_baseline(scheme, data, level)
    except DataError:
        return out
    k = min(n_groups if n_groups > 1 else 3, n - 1)
    if k >= 2:
        out += [kmeans(k), ward(k)]
    if n >= 6:
        out.append(quantiles(ENDOWMENT, 3))
    return out


# ============================================================================ the verb
def regroup(scheme, data: Dataset, period, alternatives=None, *, seed: int,
            level: str | None = None, quota_rule: str = "proportional",
            quota_counts: Mapping | None = None, baseline: Baseline | None = None,
            endowment=None, draws: int = 0, factors=None, praised=None, summoned=None,
            chunk_size: int | None = None) -> GroupingResult:
    """Re-run a level under alternative groupings: fates, ranks, endowment and quota fairness.

    Parameters
    ----------
    scheme : Scheme, str or dict
        The scheme (or a built-in name / YAML path / dict).
    data : Dataset
    period : int or str
        The period assessed.
    alternatives : sequence, optional
        :class:`Alternative` objects, dicts or texts (:func:`alternative_from_spec`); default
        :func:`default_alternatives`. The official design (official groups and quotas) is always
        included, first, as the reference.
    seed : int
        Seed of the clusterings and the draws (recorded in the result).
    level : str, optional
        Assessed level (default: the first with a top or bottom quota).
    quota_rule : {"proportional", "equal", "fixed"}
        How the official quotas are shared under groups other than the official ones (an
        alternative's own ``quota_rule`` wins); see :mod:`assesskit.engine.design`.
    quota_counts : mapping, optional
        Counts for the rule ``fixed``: consequence -> count per group, or ``{group: count}``.
    baseline : Baseline, optional
        Variables of the clusterings and the endowment index (default
        :func:`default_baseline`).
    endowment : str, mapping or pandas.Series, optional
        The endowment the correlations use instead of the baseline's index: a units column,
        an indicator code (values of the baseline's period) or unit id -> value.
    draws : int
        Random designs of the scheme drawn from ``factors`` (0: the official design only); every
        draw is evaluated under every alternative.
    factors : sequence, optional
        Uncertainty factors of kinds ``weights``, ``normalisation``, ``aggregation`` and
        ``missing`` (:mod:`assesskit.analysis.uncertainty`); default those of
        :func:`~assesskit.analysis.uncertainty.default_factors` of these kinds.
    praised, summoned : str or list of str, optional
        Consequences counted as praised / summoned (default: those with ``top:`` / ``bottom:``
        quotas).
    chunk_size : int, optional
        Draws evaluated together (rounded up to whole blocks of :data:`DRAW_BLOCK`; default
        about :data:`CHUNK_CELLS` runs × units). The results do not depend on it.

    Returns
    -------
    GroupingResult

    Raises
    ------
    SchemeError
        An invalid alternative or factor, a quota larger than a group under a rule, more
        clusters than units, a grouping whose quotas overlap (top + bottom larger than a group).
    DataError
        A mapping that leaves out units (named) or names units the level does not assess, an
        empty group, units without the column they are grouped by, baseline values missing or
        not numbers.

    Notes
    -----
    Fates: ``praised`` if a unit receives any praised consequence, ``summoned`` any summoned
    one, ``neither`` otherwise. ``official_rank`` is the rank within the *official* groups of
    the totals an alternative gives (scores change when the groups of a within-group scoring
    rule change); ``official_rank_shift = official rank under the official design - official
    rank`` (positive: the unit gains places). ``p_praised`` is the share of draws in which the
    unit is praised, with the 95% Wilson score interval of that share (the Monte Carlo
    uncertainty of the estimate). ``corr_score_all`` is Spearman's ρ between score and endowment
    over all units; ``corr_within`` the mean of the within-group ρ weighted by group size
    (groups of at least 3 units with varying values); ``corr_praised`` ρ between endowment and
    being praised (0/1).

    References
    ----------
    .. [1] Hubert, L., Arabie, P. (1985). Comparing partitions. Journal of Classification 2,
       193-218 (the adjusted Rand index).
    .. [2] Rousseeuw, P. J. (1987). Silhouettes: a graphical aid to the interpretation and
       validation of cluster analysis. Journal of Computational and Applied Mathematics 20,
       53-65.
    .. [3] Balinski, M. L., Young, H. P. (2001). Fair Representation. Brookings (the largest
       remainder method).

    Examples
    --------
    >>> import assesskit as ak
    >>> from assesskit.analysis.grouping import regroup
    >>> ds = ak.datasets.load("sichuan-39")
    >>> res = regroup("sichuan-39", ds, 2025, ["official", "official:proportional", "pool",
    ...                                       "kmeans:3"], seed=1)
    >>> res.alternatives["alternative"].tolist()
    ['official', 'official/proportional', 'pool', 'kmeans-3']
    """
    if not isinstance(scheme, Scheme):
        scheme = load_scheme(scheme)
    if not isinstance(data, Dataset):
        raise TypeError("data must be an assesskit Dataset (see assesskit.datasets.load)")
    period = normalise_period(period)
    if not _is_int(seed) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if not _is_int(draws) or draws < 0:
        raise ValueError(f"draws must be a whole number >= 0, got {draws!r}")
    if chunk_size is not None and (not _is_int(chunk_size) or chunk_size < 1):
        raise ValueError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    if quota_rule not in QUOTA_RULES:
        raise SchemeError(f"quota_rule must be one of {list(QUOTA_RULES)}, not {quota_rule!r}",
                          key="quota_rule")
    if quota_rule == "fixed" and not quota_counts:
        raise SchemeError("quota_rule 'fixed' needs quota_counts, e.g. {'praised': 3, "
                          "'summoned': 1} (counts per group)", key="quota_counts")
    level = level or quota_level(scheme)
    if level not in scheme.levels:
        raise SchemeError(f"scheme {scheme.name!r} has no level {level!r}; levels: "
                          f"{list(scheme.levels)}", key="levels")
    spec = scheme.levels[level]
    praised, summoned = praised_and_summoned(spec, praised, summoned)
    alts = [alternative_from_spec(a) for a in (alternatives if alternatives is not None
                                                else default_alternatives(scheme, data, level))]
    if not any(a.kind == "official" and a.quota_rule is None for a in alts):
        alts.insert(0, official())
    else:  # the reference first
        ref = next(a for a in alts if a.kind == "official" and a.quota_rule is None)
        alts = [ref] + [a for a in alts if a is not ref]
    names = [a.name for a in alts]
    dup = sorted({x for x in names if names.count(x) > 1})
    if dup:
        raise SchemeError(f"alternative names must be unique; repeated: {dup} (give name=...)",
                          key="alternatives")
    factors = _draw_factors(factors, scheme, data, period, level) if draws else ()

    with scheme.located():
        ev = evaluate(scheme, data, period)
    table = ev.scores[ev.scores["level"] == level].reset_index(drop=True)
    attributes = data.level_units(spec.units.get("level", spec.level)).drop_duplicates("unit")
    attributes = attributes.assign(unit=attributes["unit"].astype(str)).set_index("unit")
    units = attributes.loc[table["unit"].astype(str)].reset_index()
    no_baseline = ""
    if baseline is None:
        try:
            baseline = default_baseline(scheme, data, level, units)
        except DataError as err:
            no_baseline = str(err).splitlines()[-1].strip(" -")
    base = resolve_baseline(baseline, data, units) if baseline is not None else None
    endow, endow_name = _endowment(endowment, base, units, data, baseline)
    resolved = [_resolve(a, units, data, base, spec, quota_rule, quota_counts or {}, int(seed),
                         level, no_baseline) for a in alts]
    notices = list(base.notices) if base is not None else []
    if base is None and endowment is None:
        notices.append(Notice("no_baseline", f"no baseline: {no_baseline}; correlations with "
                              "endowment and baseline groupings are left out"))
    for r in resolved[1:]:
        if r.alternative.kind != "official" and Design(grouping=r.option).is_official_grouping(
                scheme, level, units):
            how = ("the official quotas apply" if r.quota_rule is None
                   else f"quotas by rule {r.quota_rule!r}")
            notices.append(Notice("same_as_official", f"alternative {r.name!r} puts the units "
                                  f"in the same groups as the official ones; {how}",
                                  where=r.name))
    space = None
    options = {"normalisations": [None], "missing": [{}], "aggregation": [{}]}
    with scheme.located():
        if draws:  # the design factors, drawn as the uncertainty analysis draws them
            space = FactorSpace(factors, spec, kinds=DRAW_KINDS, analysis="the grouping analysis",
                                why="the groupings and their quotas are what it compares")
            options = {k: v for k, v in space.batch_options().items()
                       if k in ("normalisations", "missing", "aggregation")}
        try:
            batch = LevelBatch(scheme, data, period, level, **options,
                               groupings=[r.regrouping() for r in resolved],
                               quota_rule=quota_rule, nominal=ev,
                               describe=lambda key: _describe(key, resolved))
        except (SchemeError, DataError):
            for r in resolved:  # name the alternative whose quotas cannot run
                _check_one(r, scheme, level, units, quota_rule, quota_counts or {})
            raise
    run = _Run(batch, resolved, praised, summoned, endow, units, quota_rule, quota_counts or {})
    run.nominal()
    if draws:
        run.draw(space, int(draws), int(seed), chunk_size)
    return run.result(scheme, data, ev, period, level, int(seed), int(draws), factors, baseline,
                      base, endow_name, notices)


def _draw_factors(factors, scheme, data, period, level) -> tuple:
    if factors is None:
        return tuple(f for f in default_factors(scheme, data, period, level)
                     if f.kind in DRAW_KINDS)
    if isinstance(factors, SchemeFactor | str | Mapping):
        factors = [factors]
    out = tuple(factor_from_spec(f) for f in factors)
    if not out:
        raise SchemeError("draws > 0 needs at least one factor (e.g. vary_weights(0.25))",
                          key="factors")
    return out


def _endowment(endowment, base: BaselineValues | None, units: pd.DataFrame, data: Dataset,
               baseline: Baseline | None) -> tuple[np.ndarray, str]:
    """The endowment of each unit (in the order of ``units``) and its name."""
    ids = units["unit"].astype(str)
    if endowment is None and base is None:
        return np.full(len(units), np.nan), "none (no baseline data)"
    if endowment is None:
        return base.endowment.to_numpy(dtype=float), \
            f"mean z-score of {', '.join(baseline.endowment_columns)} ({baseline.name})"
    if isinstance(endowment, Mapping | pd.Series):
        values = ids.map({str(k): v for k, v in dict(endowment).items()})
        name = "the endowment given"
    elif isinstance(endowment, str) and endowment in units.columns:
        values = units[endowment].replace("", np.nan)
        name = f"units column {endowment}"
    elif isinstance(endowment, str) and endowment in set(data.indicators["indicator"]):
        period = (baseline.period if baseline is not None else None) or data.periods[0]
        values = pd.Series(data.wide(period, units=ids, indicators=[endowment])[endowment]
                           .to_numpy(), index=units.index)
        name = f"indicator {endowment} in {period}"
    else:
        raise DataError(f"endowment {endowment!r} is neither a units column, an indicator nor a "
                        "mapping unit id -> value")
    values = pd.to_numeric(values, errors="coerce")
    gaps = values.isna().to_numpy()
    if gaps.any():
        raise DataError(f"the endowment ({name}) has no number for "
                        + ", ".join(f"{u} {nm}" for u, nm in zip(ids[gaps], units["name"][gaps],
                                                                  strict=True))
                        + "; every assessed unit needs one")
    return values.to_numpy(dtype=float), name


def _check_one(r: Resolved, scheme: Scheme, level: str, units: pd.DataFrame, quota_rule: str,
               quota_counts: Mapping) -> None:
    """Compile one alternative's quotas with the engine and name it in any error."""
    from ..engine.level import grouping_for, with_scheme_groups

    try:
        design = Design(grouping=r.regrouping(), quota_rule=quota_rule,
                        quota_counts=dict(quota_counts))
        vspec = apply_design(scheme, level, units, design).levels[level]
        vunits = with_scheme_groups(units, vspec)
        g = grouping_for(vunits, vspec.ranking)
        ids = Tree.from_root(vspec.root).ids
        LevelDecisions(vspec, units["unit"].astype(str).tolist(),
                       pd.Series(g.group) if g.group is not None else None,
                       pd.Series(g.subgroup) if g.subgroup is not None else None, ids.index)
    except (SchemeError, DataError) as err:
        raise type(err)(f"alternative {r.name!r}: {err}") from None


def _describe(key, resolved: list) -> str:
    ni, gi, mi, ai = key
    parts = [f"alternative {resolved[gi].name!r}"]
    for kind, i in (("normalisation", ni), ("missing", mi), ("aggregation", ai)):
        if i:
            parts.append(f"{kind} option {i}")
    return ", ".join(parts)


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's rho of finite pairs (NaN with fewer than 3 pairs or a constant variable)."""
    from scipy import stats

    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return np.nan
    return float(stats.spearmanr(x, y).statistic)


def _within(x: np.ndarray, y: np.ndarray, labels: np.ndarray) -> float:
    """Mean within-group Spearman rho, weighted by group size (eligible groups only)."""
    total, weight = 0.0, 0
    for g in pd.unique(labels):
        inside = labels == g
        rho = _spearman(x[inside], y[inside])
        if np.isfinite(rho):
            total += rho * int(inside.sum())
            weight += int(inside.sum())
    return total / weight if weight else np.nan


def verdict(across: float, within: float, threshold: float = ADVANTAGE_THRESHOLD) -> str:
    """Does a grouping remove the advantage of the better endowed, or only hide it?

    Parameters
    ----------
    across, within : float
        Spearman's rho of score and endowment over all units / within groups.
    threshold : float
        :data:`ADVANTAGE_THRESHOLD`.

    Returns
    -------
    str
        ``remains`` (across >= threshold), ``reversed`` (across <= -threshold), ``hidden``
        (not across, but within >= threshold), ``removed`` (neither), ``""`` (undefined).

    Examples
    --------
    >>> verdict(0.6, 0.5), verdict(0.1, 0.5), verdict(0.1, 0.1)
    ('remains', 'hidden', 'removed')
    """
    if not np.isfinite(across):
        return ""
    if across >= threshold:
        return "remains"
    if across <= -threshold:
        return "reversed"
    if np.isfinite(within) and within >= threshold:
        return "hidden"
    return "removed"


def _wilson(count: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    from statsmodels.stats.proportion import proportion_confint

    lo, hi = proportion_confint(count, n, alpha=0.05, method="wilson")
    p = np.asarray(count, float) / n  # the interval holds the estimate (exactly, at 0 and 1)
    return np.minimum(np.asarray(lo, float), p), np.maximum(np.asarray(hi, float), p)


CHANGE_WORDS = {(NEITHER, PRAISED): "enters praised", (PRAISED, NEITHER): "leaves praised",
                (NEITHER, SUMMONED): "enters summoned", (SUMMONED, NEITHER): "leaves summoned",
                (PRAISED, SUMMONED): "leaves praised, enters summoned",
                (SUMMONED, PRAISED): "leaves summoned, enters praised"}
ALL_UNITS = "(all units)"


class _Run:
    """The engine's results of every alternative: the nominal run and the streamed draws."""

    def __init__(self, batch: LevelBatch, resolved: list, praised: list, summoned: list,
                 endowment: np.ndarray, units: pd.DataFrame, quota_rule: str,
                 quota_counts: Mapping):
        self.batch, self.resolved, self.quota_counts = batch, resolved, quota_counts
        self.units, self.endowment, self.quota_rule = units, endowment, quota_rule
        self.praised, self.summoned = praised, summoned
        bit = {k: 1 << c for c, k in enumerate(batch.consequences)}
        self.p_mask = sum(bit[k] for k in praised)
        self.s_mask = sum(bit[k] for k in summoned)
        self.G, self.n = len(resolved), batch.n
        self.labels = []
        self.sizes = np.empty((self.G, self.n), np.int64)
        for g in range(self.G):
            lab = batch.group_labels(g)
            lab = np.full(self.n, ALL_UNITS, dtype=object) if lab is None else \
                np.asarray(lab, dtype=object)
            self.labels.append(lab)
            self.sizes[g] = pd.Series(lab).map(pd.Series(lab).value_counts()).to_numpy()
        self.draws = 0

    def fate(self, outcome: np.ndarray) -> np.ndarray:
        """+1 praised, -1 summoned, 0 neither (from the consequence bits)."""
        bits = outcome.astype(np.int64)
        return ((bits & self.p_mask) != 0).astype(np.int8) - ((bits & self.s_mask) != 0)

    def nominal(self) -> None:
        keys = np.zeros((self.G, 5), np.int64)
        keys[:, 1] = np.arange(self.G)
        res = self.batch.run(keys)
        self.total, self.group_rank = res.total, res.group_rank
        self.official_rank, self.outcome = res.official_rank, res.outcome
        self.fates = self.fate(res.outcome)

    def draw(self, space: FactorSpace, draws: int, seed: int, chunk_size: int | None) -> None:
        G, n = self.G, self.n
        self.draws = draws
        chunk = chunk_size or max(1, CHUNK_CELLS // max(n * G, 1))
        per = max(1, math.ceil(chunk / DRAW_BLOCK))  # blocks per chunk
        blocks = math.ceil(draws / DRAW_BLOCK)
        self.count_p = np.zeros((G, n), np.int64)
        self.count_s = np.zeros((G, n), np.int64)
        self.count_change = np.zeros((G, n), np.int64)
        # rank histograms: half-rank bins (average ties give halves), coarser when too large
        largest = self.sizes.max(axis=1)
        budget = HISTOGRAM_BYTES // G
        self.width = [max(1, math.ceil(n * (2 * int(s) + 2) * 4 / budget)) for s in largest]
        self.hist = [np.zeros((n, math.ceil((2 * int(s) + 2) / w)), np.int32)
                     for s, w in zip(largest, self.width, strict=True)]
        done = 0
        for first in range(0, blocks, per):
            parts = [_sample_block(space, seed, draws, b)
                     for b in range(first, min(blocks, first + per))]
            k3 = np.concatenate([p[0] for p in parts])[:, [0, 2, 3]]  # norm, missing, aggregation
            m = np.concatenate([p[1] for p in parts])
            d = len(k3)
            keys = np.zeros((G * d, 5), np.int64)
            keys[:, 0] = np.tile(k3[:, 0], G)
            keys[:, 1] = np.repeat(np.arange(G), d)
            keys[:, 2] = np.tile(k3[:, 1], G)
            keys[:, 3] = np.tile(k3[:, 2], G)
            res = self.batch.run(keys, np.tile(m, (G, 1)), run_offset=done * G)
            fate = self.fate(res.outcome).reshape(G, d, n)
            self.count_p += (fate == 1).sum(axis=1)
            self.count_s += (fate == -1).sum(axis=1)
            self.count_change += (fate != fate[:1]).sum(axis=1)
            rank = res.group_rank.reshape(G, d, n)
            for g in range(G):
                half = np.where(np.isfinite(rank[g]), np.rint(2.0 * np.nan_to_num(rank[g])), 0)
                _accumulate(self.hist[g], half.astype(np.int64) // self.width[g])
            done += d

    def rank_quantiles(self, g: int) -> dict:
        hist = self.hist[g]
        cdf = np.cumsum(hist, axis=1, dtype=np.int64)
        values = np.arange(hist.shape[1]) * self.width[g] / 2.0
        out = {}
        for name, q in (("rank_q05", 0.05), ("rank_median", 0.5), ("rank_q95", 0.95)):
            idx = (cdf < q * self.draws - 1e-9).sum(axis=1)  # inverted CDF
            v = values[np.minimum(idx, len(values) - 1)]
            out[name] = np.where(v > 0, v, np.nan)
        return out

    # ------------------------------------------------------------------ tables
    def result(self, scheme, data, ev, period, level, seed, draws, factors, baseline, base,
               endow_name, notices) -> GroupingResult:
        units = self.units
        ids = units["unit"].astype(str).to_numpy()
        spec = scheme.levels[level]
        gb, sb = spec.ranking.get("group_by"), spec.ranking.get("subgroup_by")
        official_group = units[gb].astype(str).to_numpy() if gb else \
            np.full(self.n, ALL_UNITS, dtype=object)
        names = dict(zip(data.units["unit"].astype(str), data.units["name"].astype(str),
                         strict=False))
        parent = units["parent"].astype(str).to_numpy() if "parent" in units.columns else \
            np.full(self.n, "", dtype=object)
        parent_name = np.array([names.get(p, p) for p in parent], dtype=object)
        ref_fate = np.array([FATE_CODES[int(f)] for f in self.fates[0]], dtype=object)
        ref_rank = self.official_rank[0]
        frames, quota_frames, alt_rows, scans = [], [], [], []
        labels_wide = {}
        for g, r in enumerate(self.resolved):
            lab = self.labels[g]
            labels_wide[r.name] = lab
            fate = np.array([FATE_CODES[int(f)] for f in self.fates[g]], dtype=object)
            change = np.array([CHANGE_WORDS.get((a, b), "") for a, b in
                               zip(ref_fate, fate, strict=True)], dtype=object)
            official_partition = Design(grouping=r.option).is_official_grouping(
                scheme, level, units)
            sub = units[sb].astype(str).to_numpy() if (official_partition and sb) else \
                np.full(self.n, "", dtype=object)
            qt = self.batch.quota_table(g)
            qt = qt.assign(group=qt["group"].replace("", ALL_UNITS))
            share = _quota_shares(qt, lab, sub, self.praised, self.summoned)
            frame = pd.DataFrame({
                "alternative": r.name, "unit": ids, "name": units["name"].astype(str),
                "name_en": units["name_en"].astype(str) if "name_en" in units.columns else "",
                "parent": parent, "parent_name": parent_name, "official_group": official_group,
                "group": lab, "group_size": self.sizes[g], "endowment": self.endowment,
                "score": self.total[g], "group_rank": self.group_rank[g],
                "relative_rank": self.group_rank[g] / self.sizes[g],
                "official_rank": self.official_rank[g],
                "official_rank_shift": ref_rank - self.official_rank[g],
                "fate": fate, "official_fate": ref_fate, "change": change,
                "praised_quota_share": share[PRAISED], "summoned_quota_share": share[SUMMONED],
            })
            if draws:
                p, s, c = self.count_p[g], self.count_s[g], self.count_change[g]
                p_lo, p_hi = _wilson(p, draws)
                s_lo, s_hi = _wilson(s, draws)
                frame = frame.assign(p_praised=p / draws, p_praised_lo=p_lo, p_praised_hi=p_hi,
                                     p_summoned=s / draws, p_summoned_lo=s_lo,
                                     p_summoned_hi=s_hi, p_fate_change=c / draws,
                                     **self.rank_quantiles(g))
            frames.append(frame)
            quota_frames.append(_fairness_rows(r.name, qt, frame, lab, sub, self.outcome[g],
                                            self.batch.consequences, self.praised,
                                            self.summoned, draws))
            alt_rows.append(self._alternative_row(g, r, frame, official_group, draws))
            if r.scan is not None:
                scans.append(r.scan)
        table = pd.concat(frames, ignore_index=True)
        for col in ("alternative", "unit", "name", "name_en", "parent", "parent_name",
                    "official_group", "group", "fate", "official_fate", "change"):
            table[col] = table[col].astype(str)
        changes = table[(table["change"] != "")][
            ["alternative", "unit", "name", "official_group", "group", "official_fate", "fate",
             "change", "score", "group_rank", "group_size"]].reset_index(drop=True)
        labels = pd.DataFrame(labels_wide, index=pd.Index(ids, name="unit")).astype(str)
        scan = pd.concat(scans, ignore_index=True) if scans else pd.DataFrame(
            columns=["alternative", "method", "k", "silhouette"])
        basis = base.values.copy() if base is not None else pd.DataFrame(index=ids)
        basis.index.name = "unit"
        basis.insert(0, "name", units["name"].astype(str).to_numpy())
        basis["endowment"] = self.endowment
        labels_of = {k: str(spec.consequences[k].get("label", k)) for k in self.praised}
        labels_of.update({k: str(spec.consequences[k].get("label", k)) for k in self.summoned})
        return GroupingResult(
            units=table, alternatives=pd.DataFrame(alt_rows),
            quotas=pd.concat(quota_frames, ignore_index=True), changes=changes, labels=labels,
            scan=scan, basis=basis.reset_index(), notices=notices, praised=list(self.praised),
            summoned=list(self.summoned),
            praised_label="/".join(labels_of[k] for k in self.praised),
            summoned_label="/".join(labels_of[k] for k in self.summoned),
            scheme=scheme, dataset=data.name, period=period, level=level, seed=seed,
            draws=draws, factors=tuple(factors), quota_rule=self.quota_rule, baseline=baseline,
            endowment_name=endow_name, group_by=gb,
            rank_resolution={r.name: self.width[g] / 2.0 for g, r in enumerate(self.resolved)}
            if draws else {}, quota_counts=dict(self.quota_counts),
            _units=self.batch.units, _resolved=list(self.resolved))

    def _alternative_row(self, g: int, r: Resolved, frame: pd.DataFrame,
                         official_group: np.ndarray, draws: int) -> dict:
        from sklearn.metrics import adjusted_rand_score

        lab = self.labels[g]
        sizes = pd.Series(lab).value_counts().sort_index()
        score = self.total[g]
        across = _spearman(score, self.endowment)
        within = _within(score, self.endowment, lab)
        fate = self.fates[g]
        changes = frame["change"]
        mean_e, sd_e = float(np.mean(self.endowment)), float(np.std(self.endowment))
        row = {
            "alternative": r.name, "kind": r.alternative.kind, "description": r.description,
            "quota_rule": "official" if (r.alternative.kind == "official"
                                         and r.quota_rule is None)
            else (r.quota_rule or self.quota_rule),
            "groups": len(sizes),
            "sizes": " / ".join((f"{g} {int(v)}" if len(sizes) <= 8 else str(int(v)))
                                for g, v in sizes.items()),
            "k": r.k if r.k is not None else np.nan, "silhouette": r.silhouette,
            "ari_official": float(adjusted_rand_score(official_group.astype(str),
                                                      lab.astype(str))),
            "units_changing_fate": int((changes != "").sum()),
            "enter_praised": int(changes.str.contains("enters praised").sum()),
            "leave_praised": int(changes.str.contains("leaves praised").sum()),
            "enter_summoned": int(changes.str.contains("enters summoned").sum()),
            "leave_summoned": int(changes.str.contains("leaves summoned").sum()),
            "mean_abs_official_rank_shift": float(np.nanmean(np.abs(
                frame["official_rank_shift"].to_numpy(float)))),
            "corr_score_all": across, "corr_within": within,
            "corr_praised": _spearman((fate == 1).astype(float), self.endowment),
            "corr_summoned": _spearman((fate == -1).astype(float), self.endowment),
            "praised_endowment": (float(np.mean(self.endowment[fate == 1])) - mean_e) / sd_e
            if (fate == 1).any() and sd_e > 0 else np.nan,
            "summoned_endowment": (float(np.mean(self.endowment[fate == -1])) - mean_e) / sd_e
            if (fate == -1).any() and sd_e > 0 else np.nan,
            "verdict": verdict(across, within),
        }
        if draws:
            row["expected_fate_changes"] = float(frame["p_fate_change"].sum())
            row["corr_p_praised"] = _spearman(frame["p_praised"].to_numpy(float), self.endowment)
        return row


def _quota_shares(qt: pd.DataFrame, groups: np.ndarray, subgroups: np.ndarray, praised: list,
                  summoned: list) -> dict:
    """Per unit: quota / size of the quota row it falls in, summed over praised (summoned)
    consequences (0 where no quota applies)."""
    out = {}
    key = pd.Series([f"{g}\x1f{s}" for g, s in zip(groups, subgroups, strict=True)])
    whole = pd.Series([f"{g}\x1f" for g in groups])
    for fate, keys in ((PRAISED, praised), (SUMMONED, summoned)):
        total = np.zeros(len(groups))
        for k in keys:
            part = qt[qt["consequence"] == k]
            share = dict(zip(part["group"] + "\x1f" + part["subgroup"],
                             part["quota"] / part["units"], strict=True))
            total += key.map(share).fillna(whole.map(share)).fillna(0.0).to_numpy(float)
        out[fate] = total
    return out


def _fairness_rows(name: str, qt: pd.DataFrame, frame: pd.DataFrame, groups: np.ndarray,
                subgroups: np.ndarray, outcome: np.ndarray, consequences: list, praised: list,
                summoned: list, draws: int) -> pd.DataFrame:
    """One row per consequence side and quota row: size, quota, share, who got it."""
    if qt.empty:
        return pd.DataFrame(columns=["alternative", "consequence", "label", "side", "fate",
                                     "group", "subgroup", "units", "quota", "share", "realised",
                                     "mean_endowment"])
    bits = outcome.astype(np.int64)
    rows = []
    for q in qt.itertuples(index=False):
        inside = groups == q.group
        if q.subgroup:
            inside &= subgroups == q.subgroup
        c = consequences.index(q.consequence)
        fate = PRAISED if q.consequence in praised else SUMMONED if q.consequence in summoned \
            else ""
        row = {"alternative": name, "consequence": q.consequence, "label": q.label,
               "side": q.side, "fate": fate, "group": q.group, "subgroup": q.subgroup,
               "units": int(q.units), "quota": int(q.quota), "share": q.quota / q.units,
               "realised": int(((bits[inside] >> c) & 1).sum()),
               "mean_endowment": float(frame["endowment"][inside].mean())}
        if draws and fate:
            row["expected"] = float(frame[f"p_{fate}"][inside].sum())
        rows.append(row)
    return pd.DataFrame(rows)


def _sample_block(space: FactorSpace, seed: int, draws: int, block: int) -> tuple:
    """The designs of draws ``block * DRAW_BLOCK`` onwards (at most :data:`DRAW_BLOCK`): option
    indices (d, 5) and weight multipliers (d, N), from the block's own random stream."""
    return space.sample(np.random.default_rng([seed, block]),
                        min(DRAW_BLOCK, draws - block * DRAW_BLOCK))


def _accumulate(hist: np.ndarray, bins: np.ndarray) -> None:
    """Add the counts of ``bins`` (d, n) per unit to ``hist`` (n, B) in place."""
    n, width = hist.shape
    bins = np.minimum(bins, width - 1)
    block = max(1, 2**24 // width)
    for start in range(0, n, block):
        stop = min(n, start + block)
        part = bins[:, start:stop] + (np.arange(stop - start) * width)[None, :]
        hist[start:stop] += np.bincount(part.ravel(), minlength=(stop - start) * width) \
            .reshape(stop - start, width).astype(np.int32)


# ============================================================================ the result
@dataclass
class GroupingResult:
    """Result of :func:`regroup`: every alternative grouping side by side.

    Attributes
    ----------
    units : pandas.DataFrame
        One row per alternative and unit (:meth:`to_frame`): ``alternative``, ``unit``,
        ``name``, ``name_en``, ``parent``, ``parent_name``, ``official_group``, ``group``,
        ``group_size``, ``endowment``, ``score``, ``group_rank`` (within the alternative's
        group), ``relative_rank`` (group rank / group size), ``official_rank`` (within the
        official groups), ``official_rank_shift`` (places gained against the official design),
        ``fate`` and ``official_fate`` (``praised`` / ``summoned`` / ``neither``), ``change``
        (``enters praised``, ``leaves summoned`` …, or ``""``), ``praised_quota_share`` and
        ``summoned_quota_share`` (quota / size of the unit's quota row: the share of its group
        praised); with draws also ``p_praised``, ``p_praised_lo``, ``p_praised_hi``,
        ``p_summoned`` (and interval), ``p_fate_change`` (share of draws in which the fate
        differs from the official grouping's in the same draw), ``rank_q05``, ``rank_median``,
        ``rank_q95`` (rank within the alternative's group).
    alternatives : pandas.DataFrame
        One row per alternative (see :func:`regroup`, Notes): ``alternative``, ``kind``,
        ``description``, ``quota_rule``, ``groups``, ``sizes``, ``k``, ``silhouette``,
        ``ari_official``, ``units_changing_fate``, ``enter_praised``, ``leave_praised``,
        ``enter_summoned``, ``leave_summoned``, ``mean_abs_official_rank_shift``,
        ``corr_score_all``, ``corr_within``, ``corr_praised``, ``corr_summoned``,
        ``praised_endowment`` / ``summoned_endowment`` (mean endowment of the praised /
        summoned minus the mean of all, in standard deviations), ``verdict``
        (:func:`verdict`); with draws ``expected_fate_changes`` and ``corr_p_praised``.
    quotas : pandas.DataFrame
        Quota fairness: one row per alternative, consequence side and quota row:
        ``consequence``, ``label``, ``side``, ``fate``, ``group``, ``subgroup``, ``units``,
        ``quota``, ``share`` (quota / units), ``realised`` (units that received it in the
        nominal run; ties can add some), ``mean_endowment``; with draws ``expected`` (the
        expected number of its units praised / summoned).
    changes : pandas.DataFrame
        The units whose fate differs from the official design's, per alternative.
    labels : pandas.DataFrame
        Group label of every unit (index ``unit``) under every alternative (columns).
    scan : pandas.DataFrame
        Mean silhouette of every ``k`` scanned by a clustering alternative.
    basis : pandas.DataFrame
        The baseline values used (``log10`` applied where asked) and the endowment, per unit.
    notices : list of Notice
        Decisions taken by a documented policy (a baseline value imputed, an alternative that
        equals the official groups).
    """

    units: pd.DataFrame
    alternatives: pd.DataFrame
    quotas: pd.DataFrame
    changes: pd.DataFrame
    labels: pd.DataFrame
    scan: pd.DataFrame
    basis: pd.DataFrame
    notices: list
    praised: list
    summoned: list
    praised_label: str
    summoned_label: str
    scheme: Scheme
    dataset: str
    period: str
    level: str
    seed: int
    draws: int
    factors: tuple
    quota_rule: str
    baseline: Baseline | None
    endowment_name: str
    group_by: str | None
    rank_resolution: dict = field(default_factory=dict)
    quota_counts: Mapping = field(default_factory=dict)
    _units: pd.DataFrame | None = field(default=None, repr=False)
    _resolved: list = field(default_factory=list, repr=False)

    @property
    def names(self) -> list[str]:
        """The alternatives, the official design first."""
        return self.alternatives["alternative"].tolist()

    @property
    def spec(self) -> dict:
        """The recipe of the analysis as plain data."""
        return {"scheme": self.scheme.name, "dataset": self.dataset, "period": self.period,
                "level": self.level, "seed": self.seed, "draws": self.draws,
                "quota_rule": self.quota_rule,
                "baseline": self.baseline.name if self.baseline is not None else None,
                "endowment": self.endowment_name,
                "factors": [f.to_dict() for f in self.factors],
                "praised": list(self.praised), "summoned": list(self.summoned)}

    def to_frame(self) -> pd.DataFrame:
        """The long table of every alternative and unit (:attr:`units`)."""
        return self.units

    def rebuild(self, alternative: str, draw: int | None = None) -> Scheme:
        """The scheme of one alternative, at the official design or in one random draw, so that
        the single case can be re-run and inspected with ``evaluate``.

        The alternative's groups and quotas (a custom grouping as ``ranking.groups``, quotas
        shared by the stated rule) and, for a draw, the draw's normalisation, aggregation,
        missing-value policy and weights are written into the level of a copy of the scheme,
        and the change is logged (``scheme.log``: the alternative, the draw, the seed and the
        design). The data are unchanged: evaluate the scheme on the dataset and period given
        to :func:`regroup`.

        Parameters
        ----------
        alternative : str
            An alternative (one of :attr:`names`).
        draw : int, optional
            Number of a random design, ``0`` … ``draws - 1`` (default: the official design,
            which gives the nominal columns of :meth:`to_frame`).

        Returns
        -------
        Scheme
            ``evaluate(result.rebuild(a, i), data, result.period)`` gives the scores, ranks
            and fates the vectorised run gave alternative ``a`` in draw ``i``; over ``i`` the
            fates add up to the counts behind ``p_praised`` and ``p_summoned``.

        Raises
        ------
        KeyError
            An unknown alternative.
        IndexError
            A draw that was not made.

        Notes
        -----
        Draw ``i`` is row ``i mod B`` of block ``floor(i / B)`` (``B`` = :data:`DRAW_BLOCK`),
        whose designs come from the stream ``numpy.random.default_rng([seed, block])``: the
        same stream the run drew from, so the draw is rebuilt without re-running the others.

        Examples
        --------
        >>> import assesskit as ak
        >>> from assesskit.analysis.grouping import regroup
        >>> ds = ak.datasets.load("sichuan-39")
        >>> res = regroup("sichuan-39", ds, 2025, ["official", "kmeans:3"], seed=1, draws=2)
        >>> scheme = res.rebuild("kmeans-3", draw=1)
        >>> {k: scheme.log[-1][k] for k in ("alternative", "draw", "seed")}
        {'alternative': 'kmeans-3', 'draw': 1, 'seed': 1}
        >>> ev = ak.evaluate(scheme, ds, res.period)
        >>> county = ev.scores[ev.scores["level"] == res.level]
        >>> sorted(county.loc[county["outcome"] != "", "outcome"].value_counts().items())
        [('praised', 15), ('summoned', 5)]
        """
        hit = [r for r in self._resolved if r.name == alternative]
        if not hit:
            raise KeyError(f"unknown alternative {alternative!r}; alternatives: {self.names}")
        if draw is None:
            design = Design(grouping=hit[0].regrouping(), quota_rule=self.quota_rule,
                            quota_counts=dict(self.quota_counts))
            return apply_design(self.scheme, self.level, self._units, design,
                                note=f"regional grouping: alternative {alternative}")
        if not _is_int(draw) or not 0 <= draw < self.draws:
            made = f"0..{self.draws - 1}" if self.draws else "none (regroup(..., draws=0))"
            raise IndexError(f"draw {draw!r} was not made; draws: {made}")
        draw = int(draw)
        with self.scheme.located():
            space = FactorSpace(self.factors, self.scheme.levels[self.level], kinds=DRAW_KINDS)
        keys, m = _sample_block(space, self.seed, self.draws, draw // DRAW_BLOCK)
        ni, _, mi, ai, _ = (int(k) for k in keys[draw % DRAW_BLOCK])
        options = space.batch_options()
        design = Design(normalisation=options["normalisations"][ni],
                        grouping=hit[0].regrouping(), quota_rule=self.quota_rule,
                        quota_counts=dict(self.quota_counts),
                        missing=dict(options["missing"][mi]),
                        aggregation=dict(options["aggregation"][ai]),
                        weights={space.ids[j]: float(m[draw % DRAW_BLOCK, j])
                                 for j in space.weight_nodes})
        scheme = apply_design(self.scheme, self.level, self._units, design,
                              note=f"regional grouping: alternative {alternative}, draw {draw}")
        entry = {"change": "grouping_draw", "level": self.level, "alternative": alternative,
                 "draw": draw, "seed": self.seed, "draws": self.draws}
        return Scheme(scheme.spec, source=scheme.source, lines=scheme.lines,
                      log=[*scheme.log, entry], notices=scheme.notices)

    def fates(self) -> pd.DataFrame:
        """Units × alternatives: ``praised`` / ``summoned`` / ``neither`` (index ``unit``,
        columns in the order of :attr:`names`, plus ``name`` first)."""
        wide = self.units.pivot(index="unit", columns="alternative", values="fate")
        order = self.units.drop_duplicates("unit")["unit"]
        wide = wide.reindex(index=order, columns=self.names)
        wide.insert(0, "name", self.units.drop_duplicates("unit").set_index("unit")["name"])
        wide.columns.name = None
        return wide

    def probabilities(self, fate: str = PRAISED) -> pd.DataFrame:
        """Units × alternatives: probability of being praised (``fate="summoned"``: summoned)
        over the draws."""
        if not self.draws:
            raise DataError("no draws were made; run regroup(..., draws=1000) for "
                            "probabilities")
        if fate not in (PRAISED, SUMMONED):
            raise ValueError(f"fate must be 'praised' or 'summoned', not {fate!r}")
        wide = self.units.pivot(index="unit", columns="alternative", values=f"p_{fate}")
        order = self.units.drop_duplicates("unit")["unit"]
        wide = wide.reindex(index=order, columns=self.names)
        wide.insert(0, "name", self.units.drop_duplicates("unit").set_index("unit")["name"])
        wide.columns.name = None
        return wide

    def chances(self, other: str, fate: str = PRAISED) -> pd.DataFrame:
        """Each unit's chance of a fate under the official design and under ``other``.

        Parameters
        ----------
        other : str
            An alternative (e.g. ``"official/proportional"``: the same groups, proportional
            quotas).
        fate : {"praised", "summoned"}

        Returns
        -------
        pandas.DataFrame
            One row per unit, by official group and official rank: ``unit``, ``name``,
            ``official_group``, ``group`` (under ``other``), ``quota_share_official`` and
            ``quota_share_other`` (quota / size of the unit's quota row), and with draws
            ``p_official``, ``p_other`` (share of designs) and ``interval_official``,
            ``interval_other`` (95% Wilson, as text).
        """
        if other not in self.names:
            raise KeyError(f"unknown alternative {other!r}; alternatives: {self.names}")
        if fate not in (PRAISED, SUMMONED):
            raise ValueError(f"fate must be 'praised' or 'summoned', not {fate!r}")
        u = self.units
        ref = u[u["alternative"] == self.names[0]].reset_index(drop=True)
        alt = u[u["alternative"] == other].set_index("unit").loc[ref["unit"]].reset_index()
        out = pd.DataFrame({"unit": ref["unit"], "name": ref["name"],
                            "official_group": ref["official_group"], "group": alt["group"],
                            "quota_share_official": ref[f"{fate}_quota_share"],
                            "quota_share_other": alt[f"{fate}_quota_share"]})
        if self.draws:
            for tag, frame in (("official", ref), ("other", alt)):
                out[f"p_{tag}"] = frame[f"p_{fate}"].to_numpy()
                out[f"interval_{tag}"] = [f"{lo:.2f}–{hi:.2f}" for lo, hi in
                                          zip(frame[f"p_{fate}_lo"], frame[f"p_{fate}_hi"],
                                              strict=True)]
        order = ref.sort_values(["official_group", "group_rank", "unit"], kind="mergesort").index
        return out.loc[order].reset_index(drop=True)

    def crosstab(self, a: str, b: str | None = None) -> pd.DataFrame:
        """How the groups of alternative ``a`` (rows) meet those of ``b`` (columns; default the
        official groups): the number of units in each pair of groups."""
        b = b or self.names[0]
        for x in (a, b):
            if x not in self.labels.columns:
                raise KeyError(f"unknown alternative {x!r}; alternatives: {self.names}")
        table = pd.crosstab(self.labels[a], self.labels[b])
        table.index.name, table.columns.name = a, b
        return table

    def agreement(self) -> pd.DataFrame:
        """Adjusted Rand index of every pair of alternatives (1: the same groups; about 0: no
        more alike than chance)."""
        from sklearn.metrics import adjusted_rand_score

        names = self.names
        out = pd.DataFrame(np.eye(len(names)), index=names, columns=names)
        for i, x in enumerate(names):
            for y in names[i + 1:]:
                v = adjusted_rand_score(self.labels[x], self.labels[y])
                out.loc[x, y] = out.loc[y, x] = v
        return out

    def quota_fairness(self) -> pd.DataFrame:
        """Per alternative and group: units, praised and summoned quotas and shares, the mean
        endowment (the quota-fairness table of the notebook)."""
        q = self.quotas[self.quotas["fate"].isin([PRAISED, SUMMONED])]
        if q.empty:
            return pd.DataFrame(columns=["alternative", "group", "subgroup", "units"])
        wide = q.pivot_table(index=["alternative", "group", "subgroup"], columns="fate",
                             values=["quota", "share"], aggfunc="sum", sort=False)
        wide.columns = [f"{fate}_{what}" for what, fate in wide.columns]
        sizes = q.groupby(["alternative", "group", "subgroup"], sort=False)[
            ["units", "mean_endowment"]].first()
        out = sizes.join(wide).reset_index()
        order = {n: i for i, n in enumerate(self.names)}
        out = out.sort_values("alternative", key=lambda s: s.map(order), kind="mergesort")
        return out.reset_index(drop=True)

    def summary(self) -> str:
        """A few lines for people: the alternatives, who changes fate, and the endowment."""
        a = self.alternatives
        lines = [f"regional grouping of {self.scheme.name} — {self.dataset}, period "
                 f"{self.period}, level {self.level}: {len(a)} alternatives"
                 + (f", {self.draws} random designs each (seed {self.seed})" if self.draws
                    else f" (seed {self.seed})"),
                 f"quotas under other groups: {self.quota_rule} "
                 + {"proportional": "(largest remainder, in proportion to group size)",
                    "equal": "(the same count in every group)",
                    "fixed": "(the counts given)"}[self.quota_rule]
                 + "; subgroup quotas are added into the total when the groups change",
                 f"baseline: {self.baseline.name if self.baseline is not None else 'none'}; "
                 f"endowment: {self.endowment_name}"]
        official = self.quotas[(self.quotas["alternative"] == self.names[0])
                               & self.quotas["fate"].isin([PRAISED, SUMMONED])]
        for fate, label in ((PRAISED, self.praised_label), (SUMMONED, self.summoned_label)):
            part = official[official["fate"] == fate]
            if len(part):
                side = "top" if fate == PRAISED else "bottom"
                lines.append(f"official quotas, {label} ({side} quota): " + ", ".join(
                    f"{g}{'·' + s if s else ''} {q} of {u}" for g, s, q, u in
                    zip(part["group"], part["subgroup"], part["quota"], part["units"],
                        strict=True)))
        for row in a.itertuples(index=False):
            # each list under the scheme's own label (a scheme may have only one of them)
            moves = ([f"{self.praised_label} +{row.enter_praised}/-{row.leave_praised}"]
                     if self.praised else [])
            moves += ([f"{self.summoned_label} +{row.enter_summoned}/-{row.leave_summoned}"]
                      if self.summoned else [])
            text = (f"  {row.alternative}: {row.groups} group(s) ({row.sizes}); "
                    f"{row.units_changing_fate} unit(s) change fate"
                    + (f" ({', '.join(moves)})" if moves else ""))
            if np.isfinite(row.corr_score_all):
                text += (f"; rho(score, endowment) {row.corr_score_all:.2f} across, "
                         + (f"{row.corr_within:.2f} within" if np.isfinite(row.corr_within)
                            else "n/a within")
                         + (f": advantage {row.verdict}" if row.verdict else ""))
            lines.append(text)
        if self.notices:
            lines.append(f"{len(self.notices)} decision(s) taken by a documented policy:")
            lines.extend(f"  - {n.message}" for n in self.notices[:20])
            if len(self.notices) > 20:
                lines.append(f"  ... and {len(self.notices) - 20} more (result.notices)")
        coarse = {k: v for k, v in self.rank_resolution.items() if v > 0.5}
        if coarse:
            lines.append("rank quantiles read from bins wider than one rank: "
                         + ", ".join(f"{k} {v:g}" for k, v in coarse.items()))
        return "\n".join(lines)

    def narrative(self, context: GroupingContext | None = None) -> str:
        """Findings for a policy audience as Markdown bullets (:func:`narrative`)."""
        return narrative(self, context)

    def plot(self, kind: str = "fates", **kwargs):
        """A standard chart (:mod:`assesskit.report.grouping`).

        Parameters
        ----------
        kind : {"fates", "baseline", "quotas", "parents"}
            ``fates``: units × alternatives coloured by fate; ``baseline``: score against
            endowment per alternative, coloured by group; ``quotas``: the share of each group
            praised and summoned; ``parents``: small multiples of the fates by parent unit.
        """
        from ..report.grouping import (  # the report layer, on call only
            plot_fates,
            plot_fates_by_parent,
            plot_quota_shares,
            plot_score_baseline,
        )

        plots = {"fates": plot_fates, "baseline": plot_score_baseline,
                 "quotas": plot_quota_shares, "parents": plot_fates_by_parent}
        if kind not in plots:
            raise ValueError(f"kind must be one of {list(plots)}, not {kind!r}")
        return plots[kind](self, **kwargs)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The tidy tables by name (what ``assesskit grouping --out`` writes as CSV): units,
        alternatives, quotas, changes, groups (unit × alternative), scan, baseline."""
        return {"units": self.units, "alternatives": self.alternatives, "quotas": self.quotas,
                "changes": self.changes, "groups": self.labels.reset_index(), "scan": self.scan,
                "baseline": self.basis}

    def _repr_html_(self) -> str:
        cols = ["alternative", "groups", "sizes", "quota_rule", "ari_official",
                "units_changing_fate", "corr_score_all", "corr_within", "verdict"]
        return (f"<p>{html.escape(self.summary()).replace(chr(10), '<br>')}</p>"
                + self.alternatives[cols].to_html(index=False, escape=True,
                                                  float_format="%.2f"))


# ============================================================================ words for people
def values_origin(data: Dataset, codes) -> str:
    """``synthetic``, ``real``, ``mixed`` or ``unstated``: where the values of the indicators
    ``codes`` come from, by their ``source`` column (a source naming "synthetic" is synthetic)."""
    if "source" not in data.indicators.columns:
        return "unstated"
    rows = data.indicators[data.indicators["indicator"].isin(list(codes))]
    source = rows["source"].fillna("").astype(str)
    if source.eq("").all():
        return "unstated"
    synthetic = source.str.contains("synthetic", case=False)
    return "synthetic" if synthetic.all() else "real" if not synthetic.any() else "mixed"


@dataclass
class GroupingContext:
    """What a scheme's level and its data allow a grouping analysis to say (see
    :func:`grouping_context`)."""

    scheme: str
    dataset: str
    level: str
    level_label: str
    units: int
    group_by: str | None
    groups: dict  # group -> units
    split: dict  # group -> {subgroup: units} where a quota is split by subgroup
    praised: list  # labels
    summoned: list
    baseline: Baseline | None
    no_baseline: str
    values_origin: str

    @property
    def has_groups(self) -> bool:
        return len(self.groups) > 1

    @property
    def has_quotas(self) -> bool:
        return bool(self.praised or self.summoned)

    def markdown(self) -> str:
        """The setting in a few sentences (Markdown; names from the scheme and the data)."""
        head = f"**{self.scheme}**, level `{self.level}`"
        head += f" ({self.level_label})" if self.level_label else ""
        if self.has_groups:
            parts = []
            for g, n in self.groups.items():
                sub = self.split.get(g)
                parts.append(f"{g} ({n}" + (": " + ", ".join(f"{s} {m}" for s, m in sub.items())
                                            if sub else "") + ")")
            lines = [f"{head}: {self.units} units ranked within {len(self.groups)} groups "
                     f"(units column `{self.group_by}`): " + ", ".join(parts) + "."]
        else:
            lines = [f"{head}: {self.units} units ranked **in one group** — the official "
                     "grouping is a single pool, so every alternative below divides units "
                     "the scheme compares all together."]
        if self.has_quotas:
            named = [f"{lab} (top quota)" for lab in self.praised] + \
                [f"{lab} (bottom quota)" for lab in self.summoned]
            lines.append("Consequences given by rank: " + ", ".join(named) + ".")
        else:
            lines.append("This level has **no quota consequence** (no list is made by "
                         "rank): the alternatives are compared by scores and ranks "
                         "only.")
        if self.baseline is not None:
            what = ("the real census figures of the units table" if set(self.baseline.columns)
                    <= set(CENSUS_COLUMNS) else self.baseline.note or self.baseline.name)
            lines.append(f"Baseline (clusters and endowment): {what}.")
        else:
            lines.append(f"**No baseline data**: {self.no_baseline}. Clusters of the baseline "
                         "and correlations with endowment are left out.")
        origin = {"synthetic": "synthetic (generated by seeded code, not statistics)",
                  "real": "real (see the dataset's provenance)",
                  "mixed": "partly synthetic, partly real",
                  "unstated": "of unstated origin"}[self.values_origin]
        lines.append(f"The indicator values of dataset `{self.dataset}` are {origin}.")
        return "\n\n".join(lines)


def grouping_context(scheme, data: Dataset, level: str | None = None,
                     period=None) -> GroupingContext:
    """The groups, quotas, baseline and data origin of a level, for the first lines of a report.

    Parameters
    ----------
    scheme, data, level
        As :func:`regroup`.
    period : int or str, optional
        If given, the units are those the level assesses in that period (a scheme may leave
        out incomplete units); otherwise every unit of the level in the data.

    Examples
    --------
    >>> import assesskit as ak
    >>> ctx = grouping_context("sichuan-39", ak.datasets.load("sichuan-39"))
    >>> ctx.groups
    {'秦巴山区': 10, '川西北高原地区': 18, '大小凉山彝区': 11}
    """
    scheme = scheme if isinstance(scheme, Scheme) else load_scheme(scheme)
    level = level or quota_level(scheme)
    spec = scheme.levels[level]
    units = data.level_units(spec.units.get("level", spec.level))
    if period is not None:
        with scheme.located():
            ev = evaluate(scheme, data, period, levels=[level])
        assessed = set(ev.scores.loc[ev.scores["level"] == level, "unit"].astype(str))
        units = units[units["unit"].astype(str).isin(assessed)].reset_index(drop=True)
    gb, sb = spec.ranking.get("group_by"), spec.ranking.get("subgroup_by")
    groups = (units[gb].astype(str).value_counts(sort=False).to_dict()
              if gb and gb in units.columns else {})
    split = {}
    for body in spec.consequences.values():
        for side in ("top", "bottom"):
            raw = body.get(side) if isinstance(body, dict) else None
            if isinstance(raw, Mapping):
                for g, v in raw.items():
                    if isinstance(v, Mapping) and sb:
                        inside = units[units[gb].astype(str) == str(g)]
                        split[str(g)] = inside[sb].astype(str).value_counts(sort=False) \
                            .reindex([str(x) for x in v]).fillna(0).astype(int).to_dict()
    praised, summoned = praised_and_summoned(spec)
    label = {k: str(spec.consequences[k].get("label", k)) for k in [*praised, *summoned]}
    baseline, reason = None, ""
    try:
        baseline = default_baseline(scheme, data, level, units)
    except DataError as err:
        reason = str(err).splitlines()[-1].strip(" -")
    codes = [nd.indicator for nd in spec.root.walk()
             if nd.kind == "leaf" and getattr(nd, "indicator", None)]
    return GroupingContext(scheme.name, data.name, level, str(spec.label or ""), len(units), gb,
                           groups, split, [label[k] for k in praised],
                           [label[k] for k in summoned], baseline, reason,
                           values_origin(data, codes))


ARI_WORDS = ((0.65, "close to"), (0.3, "partly like"), (-np.inf, "unlike"))
"""How an adjusted Rand index is put in words: at least 0.65 "close to", at least 0.3 "partly
like", below "unlike" (the groups the data suggest)."""


def _names(frame: pd.DataFrame, limit: int = 8) -> str:
    names = frame["name"].tolist()
    shown = "、".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def narrative(res: GroupingResult, context: GroupingContext | None = None) -> str:
    """Findings of a grouping analysis for a policy audience, as Markdown bullets.

    Every sentence is computed from the result (and, if given, the context's statement of where
    the data come from); a sentence that does not apply (no quota, no baseline, no draws, no
    alternative of a kind) is left out.
    """
    a = res.alternatives.set_index("alternative")
    u = res.units
    ref = res.names[0]
    others = res.names[1:]
    n = int((u["alternative"] == ref).sum())
    bullets = []
    has_quota = bool(res.praised or res.summoned)
    p_lab, s_lab = res.praised_label or "praised", res.summoned_label or "summoned"
    if has_quota and others:
        counts = a.loc[others, "units_changing_fate"]
        most = counts.idxmax()
        row = a.loc[most]
        moved = u[(u["alternative"] == most) & (u["change"] != "")]
        text = (f"**How much the lists depend on the grouping.** Against the official design, "
                f"`{most}` changes the fate of {int(row['units_changing_fate'])} of {n} units")
        detail = []
        if row["enter_praised"] or row["leave_praised"]:
            detail.append(f"{int(row['enter_praised'])} enter and {int(row['leave_praised'])} "
                          f"leave the {p_lab} list")
        if row["enter_summoned"] or row["leave_summoned"]:
            detail.append(f"{int(row['enter_summoned'])} enter and "
                          f"{int(row['leave_summoned'])} leave the {s_lab} list")
        text += (" (" + "; ".join(detail) + ")") if detail else ""
        entering = moved[moved["change"].str.contains(f"enters {PRAISED}")]
        if len(entering):
            text += f"; newly {p_lab}: {_names(entering)}"
        least = counts.idxmin()
        if least != most:
            text += f". The fewest changes: `{least}` ({int(counts[least])})"
        steady = u.groupby("unit", sort=False)["change"].apply(lambda c: (c == "").all())
        text += (f". {int(steady.sum())} of {n} units keep their official fate under every "
                 "alternative.")
        bullets.append(text)
    elif not has_quota:
        bullets.append("**No lists to change.** This level gives no consequence by rank, so the "
                       "alternatives differ only in scores and ranks: the mean absolute shift "
                       "of rank within the official groups is "
                       + ", ".join(f"{x:.2f} under `{name}`" for name, x in
                                   a["mean_abs_official_rank_shift"].items() if name != ref)
                       + ".")
    quotas = res.quotas[(res.quotas["alternative"] == ref) & res.quotas["fate"].isin(
        [PRAISED, SUMMONED])]
    if len(quotas) > 1:
        for fate, lab in ((PRAISED, p_lab), (SUMMONED, s_lab)):
            part = quotas[quotas["fate"] == fate]
            if len(part) < 2 or part["share"].nunique() == 1:
                continue
            where = [f"{g}·{sg}" if sg else g for g, sg in zip(part["group"], part["subgroup"],
                                                                strict=True)]
            part = part.assign(where=where)
            hi, lo = part.loc[part["share"].idxmax()], part.loc[part["share"].idxmin()]
            total = f"{int(part['quota'].sum())}/{int(part['units'].sum())}"
            bullets.append(
                f"**Quota fairness ({lab}).** The official quotas give {hi['share']:.0%} of "
                f"{hi['where']} ({int(hi['quota'])} of {int(hi['units'])}) but {lo['share']:.0%} "
                f"of {lo['where']} ({int(lo['quota'])} of {int(lo['units'])}); over all units "
                f"{total} = {part['quota'].sum() / part['units'].sum():.0%}.")
        prop = [x for x in others if a.loc[x, "kind"] == "official"
                and a.loc[x, "quota_rule"] == "proportional"]
        if prop:
            x = prop[0]
            moved = u[(u["alternative"] == x) & (u["change"] != "")]
            text = (f"Shared in proportion to group size (largest remainder, `{x}`), "
                    f"{len(moved)} unit(s) would change fate"
                    + (f": {_names(moved)}" if len(moved) else "") + ".")
            if res.draws:
                both = u[u["alternative"].isin([ref, x])].pivot(index="unit",
                                                                 columns="alternative",
                                                                 values="p_praised")
                gain = (both[x] - both[ref])
                if gain.abs().max() > 0:
                    k = gain.abs().idxmax()
                    name = u.loc[u["unit"] == k, "name"].iloc[0]
                    text += (f" The largest change in a unit's chance of being {p_lab}: {name}, "
                             f"{both.loc[k, ref]:.0%} under the official quotas and "
                             f"{both.loc[k, x]:.0%} under proportional ones.")
            bullets.append(text)
    if np.isfinite(a["corr_score_all"]).any():
        phrase = {"remains": "remains", "reversed": "is reversed",
                  "removed": "is removed, within the groups as across them",
                  "hidden": "is hidden rather than removed: within the groups the better "
                            "endowed still score higher", "": "cannot be judged"}
        r = a.loc[ref]
        text = (f"**Starting points.** Under the official design, score and baseline endowment "
                f"correlate at ρ = {r['corr_score_all']:.2f} across all units"
                + (f" and {r['corr_within']:.2f} within the groups"
                   if np.isfinite(r["corr_within"]) else "")
                + f": the advantage of the better endowed {phrase[r['verdict']]}.")
        pools = [x for x in others if a.loc[x, "kind"] == "pool"]
        if pools:
            p = a.loc[pools[0]]
            text += f" Pooled, ρ = {p['corr_score_all']:.2f} ({phrase[p['verdict']]})."
        finite = a.loc[others, "corr_score_all"].dropna()
        if len(finite):
            low = finite.abs().idxmin()
            text += (f" The weakest link of score to endowment across all units is under "
                     f"`{low}` (ρ = {finite[low]:.2f}"
                     + (f", within its groups {a.loc[low, 'corr_within']:.2f}"
                        if np.isfinite(a.loc[low, "corr_within"]) else "") + ").")
        bullets.append(text)
    clusters = [x for x in others if a.loc[x, "kind"] in ("kmeans", "ward", "quantiles")]
    if clusters and len(set(res.labels[ref])) > 1:
        words = []
        for x in clusters:
            ari = a.loc[x, "ari_official"]
            word = next(w for t, w in ARI_WORDS if ari >= t)
            words.append(f"{word} `{x}` (adjusted Rand index {ari:.2f})")
        bullets.append("**Official groups and the groups the data suggest.** The official "
                       "groups are " + "; ".join(words) + ".")
    if res.draws and has_quota:
        ref_rows = u[u["alternative"] == ref]
        held = np.where(ref_rows["official_fate"] == PRAISED, ref_rows["p_praised"],
                        np.where(ref_rows["official_fate"] == SUMMONED, ref_rows["p_summoned"],
                                 1 - ref_rows["p_praised"] - ref_rows["p_summoned"]))
        named = ref_rows["official_fate"] != NEITHER
        fragile = ref_rows[(held < 0.9) & named]
        lists = " or ".join(x for x, keys in ((p_lab, res.praised), (s_lab, res.summoned))
                            if keys)
        text = f"**Design uncertainty.** Over {res.draws} random designs of the scheme (seed " \
               f"{res.seed}), "
        if len(fragile):
            text += (f"{len(fragile)} of the {int(named.sum())} units officially {lists} keep "
                     f"that fate in fewer than 90% of the designs ({_names(fragile)})")
        else:
            text += (f"all {int(named.sum())} units officially {lists} keep that fate in at "
                     "least 90% of the designs under the official grouping")
        if others:
            exp = a.loc[others, "expected_fate_changes"]
            text += (f"; the grouping changes most under `{exp.idxmax()}`: {exp.max():.1f} units "
                     "per design differ from the official grouping in the same design")
        bullets.append(text + ".")
    if context is not None:
        origin = {"synthetic": f"The indicator values of `{res.dataset}` are synthetic: these "
                               "findings show how the scheme behaves, not how the real units "
                               "performed.",
                  "real": f"The indicator values of `{res.dataset}` are real published data.",
                  "mixed": f"The indicator values of `{res.dataset}` are partly synthetic.",
                  "unstated": f"The origin of the values of `{res.dataset}` is not stated."}
        text = "**What these data can and cannot show.** " + origin[context.values_origin]
        if res.baseline is not None and set(res.baseline.columns) <= set(CENSUS_COLUMNS):
            text += (" The baseline is real (the 2010 and 2020 national population censuses), "
                     "so the groups the data suggest are real groups of starting points.")
        elif res.baseline is not None:
            text += (f" The baseline is {res.baseline.note or res.baseline.name}, of the same "
                     "origin as the values.")
        bullets.append(text)
    return "\n".join(f"- {b}" for b in bullets)
