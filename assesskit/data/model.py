"""The data model: assessed units, indicators and a long table of values.

A :class:`Dataset` is what every later layer reads. It holds three tidy tables:

``units``
    one row per assessed object: ``unit`` (id), ``name`` (Chinese), ``name_en`` (pinyin or
    English), ``level`` (see :data:`LEVELS`; levels of the user's own, such as 村 or 部门, are
    kept with a notice), ``parent`` (id of the containing unit or empty), ``group`` and
    ``subgroup`` (the comparison groups of a ranking), plus any free attributes.
``indicators``
    one row per indicator: ``indicator`` (code), ``name``, ``name_en``, ``unit_of_measure``,
    ``direction`` (``higher`` or ``lower`` is better), ``description``, ``source``, ``role``
    (``indicator`` for what a scheme may score, ``outcome`` for later development outcomes kept
    for validation, never scored, ``reference`` for a published composite kept to check a
    reproduction against).
``values``
    long format: ``unit``, ``period``, ``indicator``, ``value``. Periods are strings: ``"2024"``
    (year), ``"2024Q1"`` (quarter) or ``"2024-03"`` (month); see :func:`normalise_period`.

Column headers may also be written in Chinese (单位, 指标, 年份, 数值 …, see
:data:`COLUMN_ALIASES`). Every decision taken on the user's behalf while reading (a direction
assumed, a marker read as missing, a level outside the vocabulary, percent and fraction scales
mixed) is recorded in :attr:`Dataset.notices`. The user guide is ``docs/your-data.md``.

Missing values
--------------
A value that is absent (no row) and a value that is present but empty (``NaN``, written as an
empty cell, "—", "-" or "N/A" in a file; the markers are listed in a notice) both mean *not
reported*. The dataset keeps them as they are; a
scheme decides what to do with them through its per-node missing-value policy (error,
re-normalise the remaining weights, impute the group mean, or score zero), and every such decision
is logged in the evaluation.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataError, Notice, Problem
from .numbers import missing_marker_notice, parse_numeric, percent_scale_notices
from .ratings import normalise_ratings, ratings_problems

#: Known kinds of assessed object (``units.level``) the Chinese schemes name. A dataset may add
#: its own (``levels:`` in dataset.yaml); a level outside both is kept with a notice, unless it
#: looks like a misspelling of a known one (``County``, ``town_ship``), which is an error.
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

#: Column headers accepted for each table besides the English names (which are also matched
#: ignoring case, spaces and hyphens: "Unit of measure" is ``unit_of_measure``). Government
#: spreadsheets head their columns in Chinese; ``单位`` is the assessed unit in the units and
#: values tables and the unit of measure (计量单位) in the indicators table.
COLUMN_ALIASES: dict[str, dict[str, str]] = {
    "units": {
        "单位": "unit", "单位代码": "unit", "代码": "unit", "编码": "unit", "区划代码": "unit",
        "名称": "name", "单位名称": "name", "中文名称": "name",
        "英文名称": "name_en", "英文名": "name_en", "拼音": "name_en",
        "层级": "level", "级别": "level",
        "上级": "parent", "上级单位": "parent", "上级代码": "parent", "上级单位代码": "parent",
        "分组": "group", "组别": "group", "片区": "group",
        "子分组": "subgroup", "小组": "subgroup",
    },
    "indicators": {
        "指标": "indicator", "指标代码": "indicator", "指标编码": "indicator", "代码": "indicator",
        "编码": "indicator",
        "名称": "name", "指标名称": "name", "中文名称": "name",
        "英文名称": "name_en", "英文名": "name_en",
        "计量单位": "unit_of_measure", "单位": "unit_of_measure",
        "方向": "direction", "指标方向": "direction", "指标属性": "direction",
        "说明": "description", "描述": "description", "指标说明": "description",
        "指标解释": "description",
        "来源": "source", "数据来源": "source",
        "用途": "role", "角色": "role",
    },
    "values": {
        "单位": "unit", "单位代码": "unit", "代码": "unit",
        "期间": "period", "时期": "period", "年份": "period", "年度": "period", "时间": "period",
        "考核期": "period", "考核年度": "period",
        "指标": "indicator", "指标代码": "indicator", "指标编码": "indicator",
        "数值": "value", "值": "value", "指标值": "value", "数据": "value",
    },
}

#: Words accepted in ``indicators.direction`` (after lower-casing) for ``higher`` and ``lower``.
DIRECTION_ALIASES: dict[str, str] = {
    "higher": "higher", "high": "higher", "positive": "higher",
    "正向": "higher", "正": "higher", "正向指标": "higher", "越高越好": "higher",
    "越大越好": "higher",
    "lower": "lower", "low": "lower", "negative": "lower",
    "逆向": "lower", "负向": "lower", "反向": "lower", "逆": "lower", "逆向指标": "lower",
    "负向指标": "lower", "越低越好": "lower", "越小越好": "lower",
}

#: Words accepted in ``indicators.role`` (after lower-casing).
ROLE_ALIASES: dict[str, str] = {
    "indicator": "indicator", "指标": "indicator", "考核指标": "indicator",
    "outcome": "outcome", "结果": "outcome",
    "reference": "reference", "参考": "reference",
}


def _header_key(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", str(name).strip().lower())


def rename_columns(
    frame: pd.DataFrame,
    table: str,
    *,
    file: str | None = None,
    only: Iterable[str] | None = None,
) -> tuple[pd.DataFrame, list[Problem]]:
    """Rename accepted column headers (Chinese or differently written) to the English names.

    Parameters
    ----------
    frame : pandas.DataFrame
        A table as read from a file.
    table : {"units", "indicators", "values"}
        Which table it is (``单位`` means a unit id in ``units`` and ``values`` but the unit of
        measure in ``indicators``).
    file : str, optional
        File the table came from, for problems.
    only : iterable of str, optional
        Rename only to these English names (a wide values table renames ``unit`` and ``period``
        only: its other columns are indicator codes).

    Returns
    -------
    frame : pandas.DataFrame
        A copy with renamed columns (unchanged if nothing was renamed). Columns that are neither
        an English name nor an alias are kept as they are.
    problems : list of Problem
        One per English name that two columns would take (``unit`` and ``单位``); the second
        column is left unrenamed.

    Examples
    --------
    >>> frame = pd.DataFrame(columns=["单位", "年份", "指标", "数值"])
    >>> list(rename_columns(frame, "values")[0].columns)
    ['unit', 'period', 'indicator', 'value']
    """
    english = {"units": UNIT_COLUMNS, "indicators": INDICATOR_COLUMNS,
               "values": VALUE_COLUMNS}[table]
    allowed = set(english if only is None else only)
    target: dict[object, str] = {}
    for col in frame.columns:
        name = str(col).strip()
        key = _header_key(name)
        canonical = (key if key in english else COLUMN_ALIASES[table].get(name))
        if canonical in allowed and canonical != col:
            target[col] = canonical
    problems = []
    taken = {c: c for c in frame.columns if c in allowed}
    for col, canonical in list(target.items()):
        if canonical in taken:
            problems.append(Problem(
                f"columns {taken[canonical]!r} and {col!r} both mean {canonical!r}; keep one",
                file=file, row=1, column=str(col)))
            del target[col]
        else:
            taken[canonical] = col
    return (frame.rename(columns=target) if target else frame), problems

#: The forms a period may be written in, for error messages and the user guide.
PERIOD_FORMS = (
    "a year (2024, 2024年), a quarter (2024Q1, 2024-Q1, 2024 q1, 2024年第1季度, 2024年一季度) "
    "or a month (2024-03, 2024/3, 2024.03, 2024年3月)"
)

_YEAR = re.compile(r"^(\d{4})(?:\.0|\s*年)?$")
_QUARTER = re.compile(r"^(\d{4})\s*[-_ ]?\s*[Qq]\s*(\d+)$")
_QUARTER_ZH = re.compile(r"^(\d{4})\s*年\s*第?\s*([0-9一二三四五六七八九]+)\s*季度?$")
_MONTH = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?$")
_DATE = re.compile(r"^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$")
_ZH_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


def parse_period(period: object) -> tuple[str | None, str]:
    """The canonical string of a period, or ``None`` and the reason it is not one.

    Parameters
    ----------
    period : int, str or pandas.Period
        See :func:`normalise_period`.

    Returns
    -------
    canonical : str or None
        ``"2024"``, ``"2024Q1"`` or ``"2024-03"``; ``None`` if ``period`` is not a period.
    reason : str
        Empty if ``period`` is a period; otherwise what is wrong and the forms a period may take,
        always starting with ``"period '…' is not a year (2024), a quarter (2024Q1) or a month
        (2024-03)"``.

    Examples
    --------
    >>> parse_period("2024年")
    ('2024', '')
    >>> "there is no quarter 5 (quarters are Q1 to Q4)" in parse_period("2024Q5")[1]
    True
    """
    if isinstance(period, pd.Period):
        freq = period.freqstr[0]
        if freq == "Y" or freq == "A":
            return f"{period.year:04d}", ""
        if freq == "Q":
            return f"{period.year:04d}Q{period.quarter}", ""
        if freq == "M":
            return f"{period.year:04d}-{period.month:02d}", ""
    if isinstance(period, float | np.floating) and np.isfinite(period) \
            and not float(period).is_integer():
        # 2024.10 and 2024.1 are the same number: October or January cannot be told apart
        return None, (f"period {period!r} is a decimal number, which cannot tell 2024.10 from "
                      "2024.1 (October from January): write periods as text (a cell formatted "
                      f"as text in a spreadsheet), e.g. '2024-10'. A period is {PERIOD_FORMS}")
    if isinstance(period, float | np.floating) and np.isfinite(period):
        period = int(period)  # a whole number read as float (a year column with a gap): a year
    text = str(period).strip()
    why = ""
    if m := _YEAR.match(text):
        return m.group(1), ""
    if (m := _QUARTER.match(text)) or (m := _QUARTER_ZH.match(text)):
        q = m.group(2)
        number = int(q) if q.isdigit() else _ZH_DIGITS.get(q, 0) if len(q) == 1 else 0
        if 1 <= number <= 4:
            return f"{m.group(1)}Q{number}", ""
        why = f"there is no quarter {q} (quarters are Q1 to Q4)"
    elif m := _MONTH.match(text):
        if 1 <= int(m.group(2)) <= 12:
            return f"{m.group(1)}-{int(m.group(2)):02d}", ""
        why = f"there is no month {int(m.group(2))} (months are 1 to 12)"
    elif _DATE.match(text):
        why = "a date is not a period; write the month (2024-03) or the year (2024)"
    elif re.fullmatch(r"\d{4}\s*年度", text):
        why = "write the year as 2024 or 2024年"
    elif text == "":
        why = "the period is empty"
    head = f"period {period!r} is not a year (2024), a quarter (2024Q1) or a month (2024-03)"
    return None, f"{head}: {why}. A period is {PERIOD_FORMS}" if why else \
        f"{head}. A period is {PERIOD_FORMS}"


def _period_or_value_error(period: object) -> str:
    """:func:`normalise_period` raising a plain ValueError whose text is the reason alone."""
    canonical, reason = parse_period(period)
    if canonical is None:
        raise ValueError(reason)
    return canonical


def normalise_period(period: object) -> str:
    """Return the canonical string of a period.

    Parameters
    ----------
    period : int, str or pandas.Period
        ``2024``, ``"2024"``, ``"2024年"``, ``"2024Q1"``, ``"2024-q1"``, ``"2024年第1季度"``,
        ``"2024年一季度"``, ``"2024-03"``, ``"2024/3"``, ``"2024年3月"`` ... (see
        :data:`PERIOD_FORMS`).

    Returns
    -------
    str
        ``"2024"``, ``"2024Q1"`` or ``"2024-03"``.

    Raises
    ------
    DataError
        (a :class:`ValueError`) If the period is none of a year, a quarter or a month; the message
        says why (``2024-13``: there is no month 13) and lists the forms a period may take.

    Examples
    --------
    >>> normalise_period(2024), normalise_period("2024-q2"), normalise_period("2024/3")
    ('2024', '2024Q2', '2024-03')
    >>> normalise_period("2019年"), normalise_period("2024年第三季度")
    ('2019', '2024Q3')
    """
    canonical, reason = parse_period(period)
    if canonical is None:
        raise DataError(Problem(reason), title=f"bad period {period!r}")
    return canonical


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
    notices : list of Notice
        Every decision taken on the user's behalf while reading the data, for people to see:
        indicators assumed higher-is-better because no direction was given
        (``direction_assumed``), levels outside :data:`LEVELS` (``level_unknown``), cells read as
        missing because of a marker such as "N/A" (``missing_markers``), an indicator whose cells
        mix 14% and 0.14 (``percent_scale_mixed``), a folder loaded instead of a bundled dataset
        of the same name (``path_over_name``). The command line prints them.
    declared_levels : dict
        Levels the dataset declares beyond :data:`LEVELS` (``levels:`` in ``dataset.yaml``),
        level name -> description.
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
    notices: list[Notice] = field(default_factory=list)
    declared_levels: dict[str, str] = field(default_factory=dict)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_frames(
        cls,
        units: pd.DataFrame | None,
        indicators: pd.DataFrame | None,
        values: pd.DataFrame | None,
        *,
        name: str = "dataset",
        provenance: str = "",
        sources: Mapping[str, str] | None = None,
        validate: bool = True,
        ratings: pd.DataFrame | None = None,
        rating_scale: Iterable[str] = (),
        levels: Mapping[str, str] | None = None,
        require_groups: Iterable[str] = (),
        notices: Iterable[Notice] = (),
        problems: Iterable[Problem] = (),
    ) -> Dataset:
        """Build a dataset from three DataFrames, normalise their types and validate them.

        Parameters
        ----------
        units, indicators, values : pandas.DataFrame or None
            Tables with at least the required columns (``units``: unit, level; ``indicators``:
            indicator; ``values``: unit, period, indicator, value), under their English names or
            an alias (:data:`COLUMN_ALIASES`: 单位, 指标, 年份, 数值 ...). Values may be numbers or
            strings such as ``"85.3%"``, ``"1,234"``, full-width digits, or a missing-value marker
            (empty, "—", "-", "N/A"); see :func:`assesskit.data.numbers.parse_numeric`. ``None``
            stands for a table that could not be read (its problem given in ``problems``).
        name, provenance : str
            Name and provenance text.
        sources : mapping, optional
            File each table came from, for error messages.
        validate : bool
            Run the consistency checks of :meth:`problems` (default True).
        ratings : pandas.DataFrame, optional
            Ratings of a rater-based review, one row per rating (columns described in
            :mod:`assesskit.data.ratings`).
        rating_scale : iterable of str
            The grades a rating may hold, best first; empty: not checked at load.
        levels : mapping, optional
            Levels the dataset declares beyond :data:`LEVELS` (name -> description).
        require_groups : iterable of str
            Levels whose units must all have a group (checked with the rest, see
            :meth:`problems`).
        notices : iterable of Notice
            Notices already taken by a loader, kept in front of the ones found here.
        problems : iterable of Problem
            Problems already found while reading the files, reported with the others.

        Returns
        -------
        Dataset
            With ``notices`` listing every decision taken on the user's behalf.

        Raises
        ------
        DataError
            Listing every problem found in one pass: missing columns, unparseable values and
            periods, duplicates, unknown codes, empty or misspelt levels, missing parents, cycles
            in parent links, units without a group. A table that lacks a required column is
            still checked on its own as far as it can be; only the checks that need it are
            skipped.
        """
        sources = dict(sources or {})
        problems = list(problems)
        notices = list(notices)
        reported = {p.file for p in problems}
        frames: dict[str, pd.DataFrame | None] = {
            "units": units, "indicators": indicators, "values": values}
        usable: dict[str, bool] = {}
        for table, frame in frames.items():
            file = sources.get(table, table)
            usable[table] = False
            if frame is None:
                if file not in reported:
                    problems.append(Problem(f"the {table} table is missing", file=file))
                continue
            if len(frame.columns) == 0:
                problems.append(Problem(f"the {table} table is empty; it needs the columns "
                                        f"{', '.join(_REQUIRED[table])}", file=file))
                continue
            frame, alias_problems = rename_columns(frame, table, file=file)
            problems.extend(alias_problems)
            frames[table] = frame
            missing = [c for c in _REQUIRED[table] if c not in frame.columns]
            if missing:
                problems.append(Problem(
                    f"missing required column(s) {', '.join(map(repr, missing))} in the "
                    f"{table} table (found: {', '.join(map(str, frame.columns))}); add them"
                    + (_wide_hint(frame) if table == "values" else ""), file=file))
            elif len(frame) == 0:
                problems.append(Problem(f"the {table} table has no rows", file=file))
            else:
                usable[table] = True

        declared = {str(k): str(v or "") for k, v in (levels or {}).items()}
        if usable["units"]:
            units = _normalise_units(frames["units"])
        else:
            units = pd.DataFrame({c: pd.Series(dtype=object) for c in UNIT_COLUMNS})
        if usable["indicators"]:
            notices.extend(_direction_notices(frames["indicators"], sources.get("indicators")))
            indicators = _normalise_indicators(frames["indicators"])
        else:
            indicators = pd.DataFrame({c: pd.Series(dtype=object) for c in INDICATOR_COLUMNS})
        if usable["values"]:
            values, value_problems, value_notices = _normalise_values(
                frames["values"], sources.get("values", "values"))
            problems.extend(value_problems)
            notices.extend(value_notices)
        else:
            values = pd.DataFrame({"unit": pd.Series(dtype=object),
                                   "period": pd.Series(dtype=object),
                                   "indicator": pd.Series(dtype=object),
                                   "value": pd.Series(dtype=float)})
        if ratings is not None:
            ratings, rating_problems = normalise_ratings(ratings, sources.get("ratings", "ratings"),
                                                         _period_or_value_error)
            problems.extend(rating_problems)
            if rating_problems and "rater_unit" not in ratings.columns:  # columns missing
                ratings = None  # reported; its other checks need the columns
        notices.extend(_level_notices(units, declared, sources.get("units", "units")))
        ds = cls(name, units, indicators, values, provenance, sources, ratings,
                 tuple(rating_scale), notices, declared)
        if validate:
            problems.extend(ds._problems(require_groups, units_known=usable["units"],
                                         indicators_known=usable["indicators"]))
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

        Notes
        -----
        A level outside :data:`LEVELS` and :attr:`declared_levels` is not a problem (a scheme may
        assess 村 villages or 部门 bureaus; :attr:`notices` says so), unless it looks like a
        misspelling of a known level (``County``, ``conuty``, ``town_ship``, ``counties``):
        then the problem asks whether the known level was meant, or to declare the new one.
        """
        return self._problems(require_groups)

    def _problems(
        self,
        require_groups: Iterable[str] = (),
        *,
        units_known: bool = True,
        indicators_known: bool = True,
    ) -> list[Problem]:
        out: list[Problem] = []
        uf, inf, vf = (self.sources.get(k, k) for k in ("units", "indicators", "values"))

        def row(i: int) -> int:  # position in the table -> row in the file (header is row 1)
            return int(i) + 2

        u = self.units.reset_index(drop=True)
        for i in np.flatnonzero(u["unit"].duplicated(keep="first").to_numpy()):
            out.append(Problem("duplicate unit id; ids must be unique", uf, row(i), "unit", u["unit"][i]))
        for i in np.flatnonzero(_blank(u["unit"]).to_numpy()):
            out.append(Problem("unit id is empty", uf, row(i), "unit"))
        vocabulary = [*LEVELS, *self.declared_levels]
        misspelt = {lv: _close_level(lv, vocabulary) for lv in pd.unique(u["level"])
                    if lv and lv not in vocabulary}
        for i, lv in enumerate(u["level"]):
            if lv == "":
                out.append(Problem("level is empty; write the kind of unit (county, town, "
                                   "department, 村 …)", uf, row(i), "level"))
            elif misspelt.get(lv):
                out.append(Problem(
                    f"unknown level; did you mean {misspelt[lv]!r}? Levels are matched exactly "
                    f"(known: {', '.join(vocabulary)}). If {lv!r} is a level of its own, declare "
                    "it under 'levels:' in dataset.yaml", uf, row(i), "level", lv))
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
                out.append(Problem("direction must be 'higher' or 'lower' (which is better; "
                                   "正向 and 逆向 are accepted too)", inf, row(i), "direction", d))
        for i, r in enumerate(ind["role"]):
            if r not in ROLES:
                out.append(Problem(f"role must be one of {ROLES}", inf, row(i), "role", r))

        v = self.values.reset_index(drop=True)
        dup = v.duplicated(["unit", "period", "indicator"], keep="first").to_numpy()
        for i in np.flatnonzero(dup):
            out.append(Problem(
                f"duplicate row for unit {v['unit'][i]!r}, period {v['period'][i]!r}, indicator "
                f"{v['indicator'][i]!r}; keep one", vf, row(i)))
        names = u.drop_duplicates("name", keep=False).set_index("name")["unit"] \
            if units_known else pd.Series(dtype=object)
        checks = []
        if units_known:
            checks.append(("unit", ids, "unit id"))
        if indicators_known:
            checks.append(("indicator", set(ind["indicator"]), "indicator code"))
        for col, known, what in checks:
            bad = ~v[col].isin(known).to_numpy()
            for i in np.flatnonzero(bad)[:500]:
                hint = ""
                if col == "unit" and v[col][i] in names.index:
                    hint = f" ({v[col][i]!r} is the name of unit {names[v[col][i]]!r}: write the id)"
                out.append(Problem(f"unknown {what}; it is not in the {col}s table{hint}", vf,
                                   row(i), col, v[col][i]))
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

    def latest_period(self, frequency: str = "Y") -> str:
        """The latest period of one frequency in ``values``: ``"Y"`` (year), ``"Q"`` or ``"M"``.

        A dataset may hold years and months together (Jincheng's monthly progress beside its
        annual values); this picks the latest of the kind asked for.

        Raises
        ------
        DataError
            If no period of that frequency is present (the message lists those that are).
        """
        found = [p for p in self.periods if period_frequency(p) == frequency]
        if not found:
            raise DataError(f"dataset {self.name!r} has no period of frequency {frequency!r}; "
                            f"periods: {', '.join(self.periods)}")
        return found[-1]

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
        notices = f", {len(self.notices)} notice(s)" if self.notices else ""
        return (
            f"Dataset({self.name!r}: units {levels}, {len(self.indicators)} indicators, "
            f"{len(self.values)} values over {len(self.periods)} periods{notices})"
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
    aliases = {"direction": DIRECTION_ALIASES, "role": ROLE_ALIASES}
    for c in INDICATOR_COLUMNS:
        if c in i.columns:
            i[c] = _as_text(i[c])
            if c in defaults:
                low = i[c].replace("", defaults[c]).str.lower()
                i[c] = low.map(lambda x, a=aliases[c]: a.get(x, x)).astype(object)
        else:
            i[c] = defaults.get(c, "")
    others = [c for c in i.columns if c not in INDICATOR_COLUMNS]
    return i[INDICATOR_COLUMNS + others].reset_index(drop=True)


def _codes_text(codes: list[str], limit: int = 20) -> str:
    shown = ", ".join(codes[:limit])
    return shown + (f" and {len(codes) - limit} more" if len(codes) > limit else "")


def _direction_notices(indicators: pd.DataFrame, file: str | None) -> list[Notice]:
    """A notice naming the indicators assumed higher-is-better because no direction is given."""
    codes = _as_text(indicators["indicator"])
    if "direction" in indicators.columns:
        blank = _blank(indicators["direction"]).to_numpy()
        where = "the direction cell is empty"
    else:
        blank = np.ones(len(indicators), dtype=bool)
        where = "the indicators table has no direction column"
    assumed = [c for c in codes[blank] if c]
    if not assumed:
        return []
    return [Notice(
        "direction_assumed",
        f"{where} for {len(assumed)} indicator(s), assumed higher is better: "
        f"{_codes_text(assumed)}. If a lower value is better (accidents, petitions, pollution), "
        "write 'lower' (or 逆向) in the direction column; write 'higher' to confirm the others",
        file,
    )]


def _close_level(level: str, vocabulary: list[str]) -> str | None:
    """The known level ``level`` is probably a misspelling of, or ``None``."""
    key = re.sub(r"[^a-z]", "", level.lower())
    if not key:
        return None  # Chinese or symbols: a level of its own, never a misspelling of an English one
    keys = {re.sub(r"[^a-z]", "", k.lower()): k for k in vocabulary}
    for k, known in keys.items():
        if k and (key == k or (len(k) >= 4 and (k in key or key in k))):
            return known
    close = difflib.get_close_matches(key, [k for k in keys if k], n=1, cutoff=0.8)
    return keys[close[0]] if close else None


def _level_notices(units: pd.DataFrame, declared: Mapping[str, str], file: str) -> list[Notice]:
    """A notice for levels outside the vocabulary (kept as written)."""
    vocabulary = [*LEVELS, *declared]
    counts = units["level"].value_counts(sort=False)
    new = [(lv, int(n)) for lv, n in counts.items()
           if lv and lv not in vocabulary and _close_level(lv, vocabulary) is None]
    if not new:
        return []
    listed = ", ".join(f"{lv!r} ({n} units)" for lv, n in new)
    return [Notice(
        "level_unknown",
        f"level(s) not in the vocabulary of assesskit.LEVELS, kept as written: {listed}. A "
        "scheme must name them exactly (levels: {" + new[0][0] + ": ...}); declare them under "
        "'levels:' in dataset.yaml to describe them and silence this notice",
        file,
    )]


def _wide_hint(frame: pd.DataFrame) -> str:
    """Advice for a values table that has the columns of the wide layout."""
    if not {"unit", "period"} <= set(frame.columns) or "indicator" in frame.columns:
        return ""
    others = [str(c) for c in frame.columns if c not in ("unit", "period")]
    if not others:
        return ""
    return (f". It looks like a wide table (one column per indicator: {_codes_text(others, 5)}):"
            " load it with values_layout='wide' (command line: --values-layout wide; "
            "dataset.yaml: values_layout: wide)")


def _normalise_values(
    values: pd.DataFrame, file: str
) -> tuple[pd.DataFrame, list[Problem], list[Notice]]:

    v = values[VALUE_COLUMNS].copy().reset_index(drop=True)
    problems: list[Problem] = []
    notices: list[Notice] = []
    v["unit"] = _as_text(v["unit"])
    v["indicator"] = _as_text(v["indicator"])
    # Normalise each distinct period once (a values table has millions of rows, few periods).
    raw_periods = v["period"].astype(object)
    canonical: dict[object, str] = {}
    bad: dict[object, str] = {}
    for p in pd.unique(raw_periods):
        text, reason = parse_period(p)
        canonical[p] = text if text is not None else str(p).strip()  # keep bad text for checks
        if text is None:
            bad[p] = reason
    if bad:
        for i in np.flatnonzero(raw_periods.isin(list(bad)).to_numpy()):
            p = raw_periods.iloc[i]
            problems.append(Problem(bad[p], file, int(i) + 2, "period", p))
    v["period"] = raw_periods.map(canonical).astype(object)
    if pd.api.types.is_numeric_dtype(v["value"]):
        v["value"] = v["value"].astype(float)
    else:
        cells = v["value"]
        numbers, bad, with_percent = parse_numeric(cells, file=file, column="value",
                                                   percent=True)
        rows = np.arange(len(v)) + 2
        marker = missing_marker_notice(cells, numbers, rows, file)
        notices.extend([marker] if marker else [])
        notices.extend(percent_scale_notices(cells, numbers, v["indicator"], rows, file,
                                             with_percent))
        v["value"] = numbers
        problems.extend(bad)
    return v, problems, notices


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
