"""The data model: assessed units, indicators and a long table of values.

A :class:`Dataset` is what every later layer reads. It holds three tidy tables:

``units``
    one row per assessed object: ``unit`` (id), ``name`` (Chinese), ``name_en`` (pinyin or
    English), ``level`` (see :data:`LEVELS`), ``parent`` (id of the containing unit or empty),
    ``group`` and ``subgroup`` (the comparison groups of a ranking), plus any free attributes.
``indicators``
    one row per indicator: ``indicator`` (code), ``name``, ``name_en``, ``unit_of_measure``,
    ``direction`` (``higher`` or ``lower`` is better), ``description``, ``source``, ``role``
    (``indicator`` for what a scheme may score, ``outcome`` for later development outcomes kept
    for validation, never scored, ``reference`` for a published composite kept to check a
    reproduction against).
``values``
    long format: ``unit``, ``period``, ``indicator``, ``value``. Periods are strings: ``"2024"``
    (year), ``"2024Q1"`` (quarter) or ``"2024-03"`` (month); see :func:`normalise_period`.

Missing values
--------------
A value that is absent (no row) and a value that is present but empty (``NaN``, written as an
empty cell, "—" or "-" in a file) both mean *not reported*. The dataset keeps them as they are; a
scheme decides what to do with them through its per-node missing-value policy (error,
re-normalise the remaining weights, impute the group mean, or score zero), and every such decision
is logged in the evaluation.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataError, Problem
from .numbers import parse_numeric
from .ratings import normalise_ratings, ratings_problems

#: Vocabulary of ``units.level``: the kinds of assessed object the Chinese schemes name.
LEVELS: dict[str, str] = {
    "country": "a country (reference panels such as UNDP HDI)",
    "province": "省 a province or provincial-level region",
    "prefecture": "市州 a prefecture-level city or autonomous prefecture",
    "county": "县市区 a county-level unit (county, county-level city, urban district)",
    "provincial_unit": "省直部门 a provincial department or member unit of a coordination mechanism",
    "department": "市直部门 a city (prefecture-level) department",
    "town": "乡镇 a town or township",
    "subdistrict": "街道 an urban sub-district",
    "village": "村 a village",
    "official": "a person assessed individually (e.g. a village first secretary 第一书记)",
}

UNIT_COLUMNS = ["unit", "name", "name_en", "level", "parent", "group", "subgroup"]
INDICATOR_COLUMNS = [
    "indicator",
    "name",
    "name_en",
    "unit_of_measure",
    "direction",
    "description",
    "source",
    "role",
]
VALUE_COLUMNS = ["unit", "period", "indicator", "value"]
DIRECTIONS = ("higher", "lower")
ROLES = ("indicator", "outcome", "reference")

# Columns a user must supply; the others default to empty.
_REQUIRED = {
    "units": ["unit", "level"],
    "indicators": ["indicator"],
    "values": VALUE_COLUMNS,
}

_YEAR = re.compile(r"^(\d{4})(?:\.0)?$")
_QUARTER = re.compile(r"^(\d{4})\s*[-_ ]?\s*[Qq]([1-4])$")
_MONTH = re.compile(r"^(\d{4})[-/.年](\d{1,2})月?$")


def normalise_period(period: object) -> str:
    """Return the canonical string of a period.

    Parameters
    ----------
    period : int, str or pandas.Period
        ``2024``, ``"2024"``, ``"2024Q1"``, ``"2024-q1"``, ``"2024-03"``, ``"2024年3月"`` ...

    Returns
    -------
    str
        ``"2024"``, ``"2024Q1"`` or ``"2024-03"``.

    Raises
    ------
    ValueError
        If the period is none of a year, a quarter or a month.

    Examples
    --------
    >>> normalise_period(2024), normalise_period("2024-q2"), normalise_period("2024/3")
    ('2024', '2024Q2', '2024-03')
    """
    if isinstance(period, pd.Period):
        freq = period.freqstr[0]
        if freq == "Y" or freq == "A":
            return f"{period.year:04d}"
        if freq == "Q":
            return f"{period.year:04d}Q{period.quarter}"
        if freq == "M":
            return f"{period.year:04d}-{period.month:02d}"
    text = str(period).strip()
    if m := _YEAR.match(text):
        return m.group(1)
    if m := _QUARTER.match(text):
        return f"{m.group(1)}Q{m.group(2)}"
    if (m := _MONTH.match(text)) and 1 <= int(m.group(2)) <= 12:
        return f"{m.group(1)}-{int(m.group(2)):02d}"
    raise ValueError(
        f"period {period!r} is not a year (2024), a quarter (2024Q1) or a month (2024-03)"
    )


def period_frequency(period: str) -> str:
    """``"Y"``, ``"Q"`` or ``"M"`` for a canonical period string."""
    period = normalise_period(period)
    return "Q" if "Q" in period else "M" if "-" in period else "Y"


def shift_period(period: object, steps: int) -> str:
    """The period ``steps`` periods after ``period`` (negative: before), same frequency.

    Examples
    --------
    >>> shift_period("2024Q1", -1), shift_period(2024, -1), shift_period("2024-01", -1)
    ('2023Q4', '2023', '2023-12')
    """
    text = normalise_period(period)
    freq = period_frequency(text)
    p = pd.Period(text, freq={"Y": "Y", "Q": "Q", "M": "M"}[freq]) + steps
    return normalise_period(p)


def sub_periods(year: object, frequency: str) -> list[str]:
    """The quarters (``"Q"``) or months (``"M"``) of a year, in order."""
    y = normalise_period(year)
    if frequency == "Q":
        return [f"{y}Q{q}" for q in range(1, 5)]
    if frequency == "M":
        return [f"{y}-{m:02d}" for m in range(1, 13)]
    raise ValueError(f"frequency must be 'Q' or 'M', not {frequency!r}")


def _blank(series: pd.Series) -> pd.Series:
    return series.isna() | (series.astype("string").str.strip() == "")


@dataclass
class Dataset:
    """Units, indicators and values of one body of assessment data.

    Build one with :meth:`from_frames` (or the loaders in :mod:`assesskit.data.io`), which check the
    tables and raise a :class:`~assesskit.errors.DataError` listing every problem found.

    Attributes
    ----------
    name : str
        Short name, e.g. ``"sichuan-39"``.
    units, indicators, values : pandas.DataFrame
        The three tables described in the module docstring.
    provenance : str
        Where the data came from and what in it is real or synthetic.
    sources : dict
        File each table was read from (``{"units": "data/.../units.csv", ...}``), used to name
        the file in error messages.
    """

    name: str
    units: pd.DataFrame
    indicators: pd.DataFrame
    values: pd.DataFrame
    provenance: str = ""
    sources: dict[str, str] = field(default_factory=dict)
    #: Optional ratings of a rater-based review (see :mod:`assesskit.data.ratings`), or None.
    ratings: pd.DataFrame | None = None
    #: Grades a rating sheet may hold, best first (``dataset.yaml`` ``rating_scale``), or ().
    rating_scale: tuple[str, ...] = ()

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_frames(
        cls,
        units: pd.DataFrame,
        indicators: pd.DataFrame,
        values: pd.DataFrame,
        *,
        name: str = "dataset",
        provenance: str = "",
        sources: Mapping[str, str] | None = None,
        validate: bool = True,
        ratings: pd.DataFrame | None = None,
        rating_scale: Iterable[str] = (),
    ) -> Dataset:
        """Build a dataset from three DataFrames, normalise their types and validate them.

        Parameters
        ----------
        units, indicators, values : pandas.DataFrame
            Tables with at least the required columns (``units``: unit, level; ``indicators``:
            indicator; ``values``: unit, period, indicator, value). Values may be numbers or
            strings such as ``"85.3%"``, ``"1,234"``, full-width digits, or a missing-value marker
            (empty, "—", "-"); see :func:`assesskit.data.io.parse_numeric`.
        name, provenance : str
            Name and provenance text.
        sources : mapping, optional
            File each table came from, for error messages.
        validate : bool
            Run :meth:`validate` (default True).
        ratings : pandas.DataFrame, optional
            Ratings of a rater-based review, one row per rating (columns described in
            :mod:`assesskit.data.ratings`).
        rating_scale : iterable of str
            The grades a rating may hold, best first; empty: not checked at load.

        Returns
        -------
        Dataset

        Raises
        ------
        DataError
            Listing every problem: missing columns, unparseable values, duplicates, unknown codes,
            missing parents, cycles in parent links.
        """
        sources = dict(sources or {})
        problems: list[Problem] = []
        tables = {"units": units, "indicators": indicators, "values": values}
        for table, frame in tables.items():
            if frame is None or len(frame.columns) == 0:
                problems.append(
                    Problem(f"the {table} table is empty; it needs the columns "
                            f"{', '.join(_REQUIRED[table])}", file=sources.get(table, table))
                )
                continue
            missing = [c for c in _REQUIRED[table] if c not in frame.columns]
            if missing:
                problems.append(
                    Problem(
                        f"missing required column(s) {', '.join(map(repr, missing))} in the "
                        f"{table} table (found: {', '.join(map(str, frame.columns))}); add them",
                        file=sources.get(table, table),
                    )
                )
            elif len(frame) == 0:
                problems.append(
                    Problem(f"the {table} table has no rows", file=sources.get(table, table))
                )
        if problems:
            raise DataError(problems, title=f"cannot build dataset {name!r}")

        units = _normalise_units(units)
        indicators = _normalise_indicators(indicators)
        values, value_problems = _normalise_values(values, sources.get("values", "values"))
        if ratings is not None:
            ratings, rating_problems = normalise_ratings(ratings, sources.get("ratings", "ratings"),
                                                         normalise_period)
            value_problems += rating_problems
            if rating_problems and "rater_unit" not in ratings.columns:  # columns missing
                raise DataError(value_problems, title=f"cannot read the ratings of dataset {name!r}")
        ds = cls(name, units, indicators, values, provenance, sources, ratings,
                 tuple(rating_scale))
        # Report unreadable values together with every consistency problem, in one error.
        problems = value_problems + (ds.problems() if validate else [])
        if problems:
            title = (f"dataset {name!r} is not valid" if validate
                     else f"cannot read the values of dataset {name!r}")
            raise DataError(problems, title=title)
        return ds

    # ------------------------------------------------------------------ validation
    def problems(self, require_groups: Iterable[str] = ()) -> list[Problem]:
        """Every consistency problem in the dataset (empty list if none).

        Parameters
        ----------
        require_groups : iterable of str
            Levels whose units must all have a ``group`` (a scheme that ranks within groups
            passes its grouped levels here).
        """
        out: list[Problem] = []
        uf, inf, vf = (self.sources.get(k, k) for k in ("units", "indicators", "values"))

        def row(i: int) -> int:  # position in the table -> row in the file (header is row 1)
            return int(i) + 2

        u = self.units.reset_index(drop=True)
        for i in np.flatnonzero(u["unit"].duplicated(keep="first").to_numpy()):
            out.append(Problem("duplicate unit id; ids must be unique", uf, row(i), "unit", u["unit"][i]))
        for i in np.flatnonzero(_blank(u["unit"]).to_numpy()):
            out.append(Problem("unit id is empty", uf, row(i), "unit"))
        for i, lv in enumerate(u["level"]):
            if lv not in LEVELS:
                out.append(
                    Problem(f"unknown level; use one of {', '.join(LEVELS)}", uf, row(i), "level", lv)
                )
        ids = set(u["unit"])
        for i, parent in enumerate(u["parent"]):
            if isinstance(parent, str) and parent and parent not in ids:
                out.append(
                    Problem("parent unit does not exist in the units table; add it or clear the cell",
                            uf, row(i), "parent", parent)
                )
        out.extend(_parent_cycles(u, uf))
        for level in require_groups:
            sel = (u["level"] == level) & _blank(u["group"])
            for i in np.flatnonzero(sel.to_numpy()):
                out.append(
                    Problem(f"unit {u['unit'][i]!r} of level {level!r} has no group, but the scheme "
                            "ranks this level within groups; fill in its group", uf, row(i), "group")
                )

        ind = self.indicators.reset_index(drop=True)
        for i in np.flatnonzero(ind["indicator"].duplicated().to_numpy()):
            out.append(Problem("duplicate indicator code", inf, row(i), "indicator", ind["indicator"][i]))
        for i in np.flatnonzero(_blank(ind["indicator"]).to_numpy()):
            out.append(Problem("indicator code is empty", inf, row(i), "indicator"))
        for i, d in enumerate(ind["direction"]):
            if d not in DIRECTIONS:
                out.append(Problem("direction must be 'higher' or 'lower' (which is better)",
                                   inf, row(i), "direction", d))
        for i, r in enumerate(ind["role"]):
            if r not in ROLES:
                out.append(Problem(f"role must be one of {ROLES}", inf, row(i), "role", r))

        v = self.values.reset_index(drop=True)
        dup = v.duplicated(["unit", "period", "indicator"], keep="first").to_numpy()
        for i in np.flatnonzero(dup):
            out.append(Problem(
                f"duplicate row for unit {v['unit'][i]!r}, period {v['period'][i]!r}, indicator "
                f"{v['indicator'][i]!r}; keep one", vf, row(i)))
        for col, known, what in (("unit", ids, "unit id"), ("indicator", set(ind["indicator"]), "indicator code")):
            bad = ~v[col].isin(known).to_numpy()
            for i in np.flatnonzero(bad)[:500]:
                out.append(Problem(f"unknown {what}; it is not in the {col}s table", vf, row(i), col, v[col][i]))
            if bad.sum() > 500:  # say how many more rather than drop them silently
                out.append(Problem(f"... and {int(bad.sum()) - 500} more rows with an unknown {what}",
                                   vf, column=col))
        if self.ratings is not None:
            out.extend(ratings_problems(self.ratings, u, file=self.sources.get("ratings", "ratings"),
                                        units_file=uf, scale=self.rating_scale))
        return out

    def validate(self, require_groups: Iterable[str] = ()) -> Dataset:
        """Raise :class:`DataError` listing every problem, or return the dataset unchanged."""
        problems = self.problems(require_groups)
        if problems:
            raise DataError(problems, title=f"dataset {self.name!r} is not valid")
        return self

    # ------------------------------------------------------------------ access
    @property
    def periods(self) -> list[str]:
        """Periods present in ``values``, sorted in time order."""
        ps = self.values["period"].unique().tolist()
        return sorted(ps, key=lambda p: (pd.Period(p, freq=period_frequency(p)).start_time, p))

    def level_units(self, level: str) -> pd.DataFrame:
        """The units of one level, in the order of the units table."""
        if level not in set(self.units["level"]):
            raise DataError(
                f"no unit of level {level!r} in dataset {self.name!r}; levels present: "
                f"{', '.join(sorted(set(self.units['level'])))}"
            )
        return self.units[self.units["level"] == level].reset_index(drop=True)

    def wide(
        self,
        period: object,
        units: Iterable[str] | None = None,
        indicators: Iterable[str] | None = None,
    ) -> pd.DataFrame:
        """Values of one period as a units × indicators table (NaN where not reported).

        Parameters
        ----------
        period : int or str
            The period.
        units, indicators : iterable of str, optional
            Row and column order; default all units having a value, all indicators.
        """
        p = normalise_period(period)
        v = self.values[self.values["period"] == p]
        table = v.pivot(index="unit", columns="indicator", values="value")
        if units is not None:
            table = table.reindex(index=list(units))
        if indicators is not None:
            table = table.reindex(columns=list(indicators))
        table.index.name, table.columns.name = "unit", "indicator"
        return table.astype(float)

    def indicator_info(self, code: str) -> pd.Series:
        """The row of ``indicators`` for one code."""
        hit = self.indicators[self.indicators["indicator"] == code]
        if hit.empty:
            raise DataError(f"unknown indicator code {code!r} in dataset {self.name!r}")
        return hit.iloc[0]

    def summary(self) -> pd.DataFrame:
        """Counts of units by level and group, values and missing values, for a quick look."""
        v = self.values.merge(self.units[["unit", "level"]], on="unit", how="left")
        by_level = v.groupby("level").agg(
            units=("unit", "nunique"),
            indicators=("indicator", "nunique"),
            periods=("period", "nunique"),
            values=("value", "size"),
            missing=("value", lambda s: int(s.isna().sum())),
        )
        return by_level.reset_index()

    def __repr__(self) -> str:
        levels = self.units["level"].value_counts().to_dict()
        return (
            f"Dataset({self.name!r}: units {levels}, {len(self.indicators)} indicators, "
            f"{len(self.values)} values over {len(self.periods)} periods)"
        )


# ---------------------------------------------------------------------- helpers
def _as_text(series: pd.Series) -> pd.Series:
    """Strings with blanks as empty strings (ids, names and codes are text, never numbers)."""
    def one(x: object) -> str:
        if x is None or (isinstance(x, float) and np.isnan(x)) or x is pd.NA:
            return ""
        if isinstance(x, float) and x.is_integer():
            return str(int(x))  # "510822.0" from a numeric column is the id 510822
        return str(x).strip()

    return series.map(one).astype(object)


def _normalise_units(units: pd.DataFrame) -> pd.DataFrame:
    u = units.copy()
    for c in UNIT_COLUMNS:
        u[c] = _as_text(u[c]) if c in u.columns else ""
    others = [c for c in u.columns if c not in UNIT_COLUMNS]
    return u[UNIT_COLUMNS + others].reset_index(drop=True)


def _normalise_indicators(indicators: pd.DataFrame) -> pd.DataFrame:
    i = indicators.copy()
    defaults = {"direction": "higher", "role": "indicator"}
    for c in INDICATOR_COLUMNS:
        if c in i.columns:
            i[c] = _as_text(i[c])
            if c in defaults:
                i[c] = i[c].replace("", defaults[c]).str.lower()
        else:
            i[c] = defaults.get(c, "")
    others = [c for c in i.columns if c not in INDICATOR_COLUMNS]
    return i[INDICATOR_COLUMNS + others].reset_index(drop=True)


def _normalise_values(values: pd.DataFrame, file: str) -> tuple[pd.DataFrame, list[Problem]]:

    v = values[VALUE_COLUMNS].copy().reset_index(drop=True)
    problems: list[Problem] = []
    v["unit"] = _as_text(v["unit"])
    v["indicator"] = _as_text(v["indicator"])
    # Normalise each distinct period once (a values table has millions of rows, few periods).
    raw_periods = v["period"].astype(object)
    canonical: dict[object, str] = {}
    bad: dict[object, str] = {}
    for p in pd.unique(raw_periods):
        try:
            canonical[p] = normalise_period(p)
        except ValueError as exc:
            canonical[p] = str(p).strip()  # keep the text so duplicate checks stay meaningful
            bad[p] = str(exc)
    if bad:
        for i in np.flatnonzero(raw_periods.isin(list(bad)).to_numpy()):
            p = raw_periods.iloc[i]
            problems.append(Problem(bad[p], file, int(i) + 2, "period", p))
    v["period"] = raw_periods.map(canonical).astype(object)
    if pd.api.types.is_numeric_dtype(v["value"]):
        v["value"] = v["value"].astype(float)
    else:
        numbers, bad = parse_numeric(v["value"], file=file, column="value")
        v["value"] = numbers
        problems.extend(bad)
    return v, problems


def _parent_cycles(units: pd.DataFrame, file: str) -> list[Problem]:
    """Problems for every unit whose chain of parents loops back on itself."""
    parent = dict(zip(units["unit"], units["parent"], strict=False))
    row = {u: i + 2 for i, u in enumerate(units["unit"])}
    reported: set[str] = set()
    out = []
    for start in parent:
        seen: list[str] = []
        node = start
        while node and node in parent and node not in seen:
            seen.append(node)
            node = parent[node]
        if node and node in seen:
            cycle = seen[seen.index(node):]
            key = frozenset(cycle)
            if key not in reported:
                reported.add(key)
                chain = " -> ".join([*cycle, node])
                out.append(Problem(f"parent links form a cycle ({chain}); a unit cannot contain itself",
                                   file, row[node], "parent", parent[node]))
    return out


def read_text_file(path: str | Path) -> str:
    """Read a small UTF-8 text file (provenance notes)."""
    return Path(path).read_text(encoding="utf-8")
