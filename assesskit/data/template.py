"""A template dataset for a user to fill in: a CSV folder and an .xlsx workbook.

``assesskit template my-data/`` (or :func:`write_template`) writes::

    my-data/
      dataset.yaml      name, title, provenance (to replace), the files, the layout
      units.csv         who is assessed          } UTF-8, the same example rows as the
      indicators.csv    what is measured         } sheets of dataset.xlsx
      values.csv        the numbers, long layout }
      dataset.xlsx      sheets units, indicators, values and 说明 (what every column means)

Both the folder and the workbook load and validate as written (``assesskit validate my-data/``,
``assesskit validate my-data/dataset.xlsx``): the user replaces the example rows. The columns
are described in :data:`COLUMNS` (shown in the workbook's 说明 sheet) and in
``docs/your-data.md``.
"""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path

import openpyxl
import pandas as pd
from openpyxl.styles import Font

from ..errors import OutputError
from .model import LEVELS, PERIOD_FORMS

__all__ = ["COLUMNS", "example_tables", "write_template"]

#: Every column of the three tables: (table, column, required, meaning, allowed values, example).
COLUMNS: list[tuple[str, str, bool, str, str, str]] = [
    ("units", "unit", True, "id of the assessed unit, unique (an administrative code or any "
     "short text)", "text", "510802"),
    ("units", "name", False, "name (Chinese)", "text", "利州区"),
    ("units", "name_en", False, "name in English or pinyin", "text", "Lizhou"),
    ("units", "level", True, "kind of unit; a scheme assesses one level at a time",
     ", ".join(LEVELS) + ", or a level of your own (村, 部门 …, see levels: in dataset.yaml)",
     "county"),
    ("units", "parent", False, "id of the containing unit (a county's prefecture), or empty",
     "a unit id of this table", "510800"),
    ("units", "group", False, "comparison group of a ranking within groups (片区, 类别)",
     "text; required for levels a scheme ranks within groups", "秦巴山区"),
    ("units", "subgroup", False, "group inside the group (e.g. the prefecture inside a region)",
     "text", "阿坝州"),
    ("indicators", "indicator", True, "code of the indicator, used in values and schemes",
     "text without spaces", "gdp_per_capita"),
    ("indicators", "name", False, "name (Chinese)", "text", "人均地区生产总值"),
    ("indicators", "name_en", False, "name in English", "text", "GDP per capita"),
    ("indicators", "unit_of_measure", False, "unit of measure", "text", "元, %, 起"),
    ("indicators", "direction", False, "which values are better; if missing, higher is "
     "assumed and a notice lists the indicators", "higher (正向) or lower (逆向)", "lower"),
    ("indicators", "description", False, "definition", "text", ""),
    ("indicators", "source", False, "where the figures come from", "text", "统计年鉴"),
    ("indicators", "role", False, "indicator (scored), outcome (kept to check analyses, never "
     "scored), reference (a published result to compare with)",
     "indicator, outcome, reference (empty: indicator)", "indicator"),
    ("values", "unit", True, "unit id (from the units table)", "a unit id", "510802"),
    ("values", "period", True, "the period of the value", PERIOD_FORMS, "2024"),
    ("values", "indicator", True, "indicator code (from the indicators table)", "a code",
     "gdp_per_capita"),
    ("values", "value", True, "the number as written in your tables", "85.3, 85.3%, 1,234, "
     "－5, full-width digits; empty, —, -, N/A for a value not reported", "85.3"),
]

# Headers of the Chinese template; each is an alias in COLUMN_ALIASES (tests/test_template.py).
_ZH_HEADERS = {
    "units": {"unit": "单位", "name": "名称", "name_en": "英文名称", "level": "层级",
              "parent": "上级", "group": "分组", "subgroup": "子分组"},
    "indicators": {"indicator": "指标", "name": "名称", "name_en": "英文名称",
                   "unit_of_measure": "计量单位", "direction": "方向", "description": "说明",
                   "source": "来源", "role": "用途"},
    "values": {"unit": "单位", "period": "期间", "indicator": "指标", "value": "数值"},
}

_FIXED_TIME = _dt.datetime(2024, 1, 1)  # workbook timestamps: the same bytes on every run


def example_tables(headers: str = "en") -> dict[str, pd.DataFrame]:
    """The example rows of the template: one prefecture, four counties, three indicators, two years.

    Parameters
    ----------
    headers : {"en", "zh"}
        English column names, or the Chinese aliases (单位, 期间 ...); with ``"zh"`` directions
        are written 正向/逆向 and periods 2023年.

    Returns
    -------
    dict of str to pandas.DataFrame
        ``units``, ``indicators`` and ``values`` (long layout), every cell text or number as a
        person would type it. The places are invented (示例), the numbers made up.
    """
    units = pd.DataFrame({
        "unit": ["P01", "C01", "C02", "C03", "C04"],
        "name": ["示例市", "示例一区", "示例二县", "示例三县", "示例四县"],
        "name_en": ["Example city", "Example district 1", "Example county 2",
                    "Example county 3", "Example county 4"],
        "level": ["prefecture", "county", "county", "county", "county"],
        "parent": ["", "P01", "P01", "P01", "P01"],
        "group": ["", "平原", "平原", "山区", "山区"],
        "subgroup": ["", "", "", "", ""],
    })
    indicators = pd.DataFrame({
        "indicator": ["gdp_per_capita", "rural_income_growth", "safety_accidents"],
        "name": ["人均地区生产总值", "农村居民人均可支配收入增速", "生产安全事故起数"],
        "name_en": ["GDP per capita", "Growth of rural disposable income per capita",
                    "Work-safety accidents"],
        "unit_of_measure": ["元", "%", "起"],
        "direction": ["higher", "higher", "lower"],
        "description": ["地区生产总值除以常住人口", "比上年增长，百分点",
                        "全年发生的生产安全事故起数，越少越好"],
        "source": ["example (replace)", "example (replace)", "example (replace)"],
        "role": ["indicator", "indicator", "indicator"],
    })
    numbers = {  # (unit, period) -> gdp_per_capita, rural_income_growth, safety_accidents
        ("C01", "2023"): (61200, 6.8, 3), ("C02", "2023"): (43850, 7.4, 1),
        ("C03", "2023"): (35120, 8.1, 2), ("C04", "2023"): (29870, 7.9, 0),
        ("C01", "2024"): (63900, 6.5, 2), ("C02", "2024"): (45930, 7.1, 1),
        ("C03", "2024"): (37010, 8.3, 4), ("C04", "2024"): (31450, 8.0, 1),
    }
    codes = list(indicators["indicator"])
    rows = [(u, p, c, x[k]) for (u, p), x in numbers.items() for k, c in enumerate(codes)]
    values = pd.DataFrame({name: pd.Series([r[j] for r in rows], dtype=object)
                           for j, name in enumerate(["unit", "period", "indicator", "value"])})
    if headers == "zh":
        indicators["direction"] = indicators["direction"].map({"higher": "正向",
                                                                "lower": "逆向"})
        values["period"] = values["period"] + "年"
    elif headers != "en":
        raise ValueError(f"headers must be 'en' or 'zh', not {headers!r}")
    tables = {"units": units, "indicators": indicators, "values": values}
    if headers == "zh":
        tables = {t: f.rename(columns=_ZH_HEADERS[t]) for t, f in tables.items()}
    return tables


def _dataset_yaml(name: str) -> str:
    return f"""\
# A dataset for assesskit: see docs/your-data.md for every column and how to write periods,
# percentages and missing values. Check it with:  assesskit validate <this folder>
name: {json.dumps(name, ensure_ascii=False)}
title: 示例数据 Example data (replace)
description: >-
  Template written by `assesskit template`. The places and numbers are made up: replace the
  rows of units.csv, indicators.csv and values.csv (or the sheets of dataset.xlsx) with yours.
provenance: |
  Say here where every table comes from (statistical yearbook, department reports ...), which
  values are estimates, and the licence. The example rows are invented, not real data.
files:
  units: units.csv
  indicators: indicators.csv
  values: values.csv
values_layout: long      # or wide: values.csv with columns unit, period, then one per indicator
# levels:                # levels of your own beyond county, town, department ... (optional)
#   村: 行政村 administrative village
"""


def write_template(folder: str | Path, *, headers: str = "en",
                   overwrite: bool = False) -> list[Path]:
    """Write the template dataset into ``folder`` (created if needed).

    Parameters
    ----------
    folder : str or Path
        The folder to write.
    headers : {"en", "zh"}
        Column headers in English or Chinese (see :func:`example_tables`).
    overwrite : bool
        Replace template files already in the folder (default False: refuse).

    Returns
    -------
    list of Path
        ``dataset.yaml``, ``units.csv``, ``indicators.csv``, ``values.csv`` and
        ``dataset.xlsx``.

    Raises
    ------
    OutputError
        If one of the files exists and ``overwrite`` is False (nothing is written), or the
        folder cannot be written.

    Examples
    --------
    >>> paths = write_template("my-data")  # doctest: +SKIP
    >>> import assesskit as ak
    >>> ak.load_dataset("my-data").notices  # doctest: +SKIP
    []
    """
    folder = Path(folder)
    names = ["dataset.yaml", "units.csv", "indicators.csv", "values.csv", "dataset.xlsx"]
    paths = [folder / n for n in names]
    existing = [p for p in paths if p.exists()]
    if existing and not overwrite:
        raise OutputError(f"{folder}: {', '.join(p.name for p in existing)} already there; "
                          "choose another folder or overwrite them (--force)")
    folder.mkdir(parents=True, exist_ok=True)
    tables = example_tables(headers)
    paths[0].write_text(_dataset_yaml(folder.resolve().name or "my-data"), encoding="utf-8",
                        newline="\n")
    for path, (_, frame) in zip(paths[1:4], tables.items(), strict=True):
        frame.to_csv(path, index=False, encoding="utf-8", lineterminator="\n")
    _write_workbook(paths[4], tables, headers)
    return paths


def _write_workbook(path: Path, tables: dict[str, pd.DataFrame], headers: str) -> None:
    book = openpyxl.Workbook()
    book.remove(book.active)
    bold = Font(bold=True)
    for name, frame in tables.items():
        sheet = book.create_sheet(name)
        sheet.append(list(frame.columns))
        for row in frame.itertuples(index=False):
            sheet.append([None if v == "" else v for v in row])
        for cell in sheet[1]:
            cell.font = bold
        for j, col in enumerate(frame.columns):
            width = max(len(str(col)), *(len(str(v)) for v in frame[col])) + 2
            sheet.column_dimensions[openpyxl.utils.get_column_letter(j + 1)].width = min(width, 40)
    notes = book.create_sheet("说明")
    notes.append(["table 表", "column 列", "Chinese header 中文列名", "required 必填",
                  "meaning 含义", "allowed values 取值", "example 示例"])
    for cell in notes[1]:
        cell.font = bold
    for table, column, required, meaning, allowed, example in COLUMNS:
        zh = _ZH_HEADERS[table].get(column, "")
        notes.append([table, column, zh, "yes 是" if required else "", meaning, allowed, example])
    notes.append([])
    notes.append(["This sheet is ignored when the workbook is read. See docs/your-data.md. "
                  "本表不会被读取。"])
    for letter, width in zip("ABCDEFG", (12, 16, 14, 10, 60, 60, 18), strict=True):
        notes.column_dimensions[letter].width = width
    book.properties.created = book.properties.modified = _FIXED_TIME
    book.properties.creator = "assesskit template"
    book.save(path)
