"""Loaders: read units, indicators and values from CSV (UTF-8 or GBK/GB18030), Excel or a directory.

The functions here sit at the boundary between the files people keep (spreadsheets exported by a
statistics bureau, CSVs saved by Chinese-locale Excel in GBK, tables typed by hand with "85.3%",
"1,234" or full-width digits) and the checked :class:`~assesskit.data.model.Dataset` every later layer
reads. Every problem is collected with its file, row and column before a single
:class:`~assesskit.errors.DataError` is raised, so a user can fix a file in one pass.

On disk a dataset is

* a directory with ``dataset.yaml`` (keys ``name``, ``title``, ``description``, ``provenance``,
  ``files: {units: ..., indicators: ..., values: ...}`` plus optionally ``ratings: ...`` (the
  ratings of a rater-based review, :mod:`assesskit.data.ratings`) with ``rating_scale: [好, 较好,
  一般, 差]``, optional ``values_layout: wide``, optional ``levels:`` (levels of the dataset's
  own) and, for built-in reference panels only, ``loader: assesskit.<module>:<function>``);
* a directory holding ``units.csv``, ``indicators.csv`` and ``values.csv`` (and ``ratings.csv``,
  read if present); or
* one ``.xlsx`` workbook with the sheets ``units``, ``indicators`` and ``values``.

A CSV file's encoding (UTF-8 or GBK/GB18030) is decided for the whole file, and a file mixing
both is refused naming its rows; a workbook cell formatted as a percentage is read as the
percentage it shows; a formula without a saved value is refused naming its cell. The user guide
is ``docs/your-data.md``.
"""

from __future__ import annotations

import dataclasses
import io
import os
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import yaml
from openpyxl.utils import get_column_letter

from ..errors import DataError, Notice, Problem
from .model import Dataset, parse_period, rename_columns
from .numbers import (
    MISSING_MARKERS,
    missing_marker_notice,
    parse_numeric,
    percent_scale_notices,
)

__all__ = [
    "MISSING_MARKERS",
    "excel_cell_text",
    "TABLES",
    "load_dataset",
    "parse_numeric",
    "read_metadata",
    "read_table",
]

#: The three tables of a dataset, in reading order.
TABLES = ("units", "indicators", "values")
#: Tables a dataset may have besides these (read only when ``files:`` in dataset.yaml names them).
OPTIONAL_TABLES = ("ratings",)

CSV_SUFFIXES = (".csv",)
EXCEL_SUFFIXES = (".xlsx", ".xlsm")
VALUE_LAYOUTS = ("long", "wide")

# ---------------------------------------------------------------------- tables
def read_table(path: str | Path, sheet: str | None = None) -> pd.DataFrame:
    """Read one table (CSV or Excel) as text cells, header from the first row.

    Parameters
    ----------
    path : str or Path
        A ``.csv`` file in UTF-8 (with or without BOM) or GBK/GB18030 (what Chinese-locale Excel
        writes), or an ``.xlsx``/``.xlsm`` workbook.
    sheet : str, optional
        Sheet of a workbook; default the first sheet. Not allowed for a CSV file.

    Returns
    -------
    pandas.DataFrame
        One column per header cell (header names stripped of spaces), one row per data row, every
        cell a string exactly as written (empty cells are ``""``; numbers in a workbook become
        their text, e.g. ``85.3`` -> ``"85.3"``). Row ``i`` (0-based) is row ``i + 2`` of the
        file. ``frame.attrs`` holds ``file`` and, for CSV, the ``encoding`` used.

    Raises
    ------
    DataError
        If the file does not exist, is empty, has an unknown extension, cannot be decoded or
        mixes encodings, cannot be parsed, the sheet does not exist (the sheets present are
        listed), a formula cell has no saved value, or the header has a duplicate or empty
        column name over a column with data.

    Notes
    -----
    The encoding of a CSV is decided for the whole file: UTF-8 (``utf-8-sig``, which also
    removes a BOM) if all of it is UTF-8, else GB18030 (a superset of GBK and GB2312) if no row
    is UTF-8 text; a file mixing the two is refused, naming the rows (decoding it either way
    would garble the others). A workbook cell is read as the sheet shows it: a number formatted
    as a percentage (0.075 shown as 7.5%) gives ``"7.5%"``, a formula its saved value (a formula
    without one is refused, naming the cell). Blank rows inside the table are kept, so that row
    numbers in error messages match the file; blank rows at the end are dropped.

    Examples
    --------
    >>> read_table("data/sichuan-39/units.csv")  # doctest: +SKIP
    """
    path = Path(path)
    label = str(path)
    if not path.exists():
        raise DataError(Problem("file not found; check the path", file=label))
    if path.is_dir():
        raise DataError(Problem("is a directory; expected a .csv or .xlsx file", file=label))
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        if sheet is not None:
            raise DataError(Problem(f"a CSV file has no sheets (asked for sheet {sheet!r})",
                                    file=label))
        try:
            raw = _read_csv_cells(path)
        except OSError as exc:  # permission denied, a file vanishing while read, ...
            raise DataError(Problem(f"cannot read the file: {exc.strerror or exc}",
                                    file=label)) from None
        attrs = {"file": label, "encoding": raw.attrs.get("encoding")}
    elif suffix in EXCEL_SUFFIXES:
        raw, sheet_name = _read_excel_cells(path, sheet)
        label = f"{path} (sheet {sheet_name})"
        attrs = {"file": label, "sheet": sheet_name}
    elif suffix == ".xls":
        raise DataError(Problem("the old .xls format is not supported; save the workbook as "
                                ".xlsx or each sheet as CSV (UTF-8)", file=label))
    else:
        raise DataError(Problem(f"unknown file type {path.suffix!r}; use .csv or .xlsx",
                                file=label))
    frame = _frame_from_cells(raw, label)
    frame.attrs.update(attrs)
    return frame


def _read_csv_cells(path: Path) -> pd.DataFrame:
    label = str(path)
    data = path.read_bytes()
    if not data.strip().lstrip(b"\xef\xbb\xbf").strip():
        raise DataError(Problem("the file is empty; it needs a header row and data rows",
                                file=label))
    encoding = _csv_encoding(data, label)
    try:
        cells = pd.read_csv(io.BytesIO(data), header=None, dtype=str, encoding=encoding,
                            keep_default_na=False, na_filter=False, skip_blank_lines=False)
    except UnicodeDecodeError:
        raise DataError(Problem("cannot decode the file as UTF-8 or GBK/GB18030; save it as "
                                "'CSV UTF-8'", file=label)) from None
    except pd.errors.ParserError as exc:
        m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        if m:
            raise DataError(Problem(
                f"row has {m.group(3)} cells but the header has {m.group(1)}; remove the "
                "extra cells or quote cells that contain a comma", label, int(m.group(2)),
            )) from None
        raise DataError(Problem(f"cannot parse the CSV: {exc}", file=label)) from None
    except pd.errors.EmptyDataError:
        raise DataError(Problem("the file is empty; it needs a header row and data rows",
                                file=label)) from None
    cells.attrs["encoding"] = encoding
    return cells


# Bytes that are not UTF-8 show up as lone surrogates under "surrogateescape". Text of Chinese
# tables is ASCII, CJK ideographs, CJK and full-width punctuation and a few symbols (°, ·, —, ℃,
# ①); GBK bytes that happen to form valid UTF-8 give other characters (Latin-1, Greek, Cyrillic,
# Arabic ...), so a row counts as UTF-8 text only if all its non-ASCII characters are plausible.
_NOT_UTF8 = re.compile("[\udc80-\udcff]+")
_PLAUSIBLE_RANGES = ("\u00b0-\u00b7\u2000-\u206f\u2100-\u22ff\u2460-\u24ff\u3000-\u303f"
                     "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef\ufeff")
_CJK = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_PLAUSIBLE = re.compile(f"[{_PLAUSIBLE_RANGES}]+")
_IMPLAUSIBLE = re.compile(f"[^\\x00-\\x7f\\udc80-\\udcff{_PLAUSIBLE_RANGES}]+")


def _lines_of(pattern: re.Pattern, text: str, starts: np.ndarray) -> np.ndarray:
    """1-based line numbers holding a match of ``pattern``, sorted and unique."""
    positions = np.array([m.start() for m in pattern.finditer(text)], dtype=np.int64)
    return np.unique(np.searchsorted(starts, positions, side="right"))


def _real_text(text: str) -> float:
    """Share of the CJK ideographs of ``text`` among the 3,755 commonest (GB2312 level 1).

    Ordinary Chinese text scores above 0.9; bytes decoded with the wrong codec give characters
    spread over the whole CJK block, about 0.2.
    """
    cjk = _CJK.findall(text)
    if not cjk:
        return 0.0
    common = 0
    for ch in cjk:
        try:
            common += 0xB0 <= ch.encode("gb2312")[0] <= 0xD7
        except UnicodeEncodeError:
            pass
    return common / len(cjk)


def _csv_encoding(data: bytes, label: str) -> str:
    """``"utf-8-sig"`` or ``"gb18030"`` for the whole file, or a DataError naming mixed rows.

    A file is UTF-8 if all of it decodes as UTF-8; GBK/GB18030 (what Chinese-locale Excel
    writes) if no row of it is UTF-8 text and it decodes as GB18030. A file with both (rows
    pasted from a GBK file into a UTF-8 one) is refused, naming the rows that are not UTF-8:
    decoding all of it either way would garble the other rows (甘孜 -> 鐢樺瓬).
    """
    try:
        data.decode("utf-8-sig")
        return "utf-8-sig"
    except UnicodeDecodeError:
        pass
    text = data.decode("utf-8", errors="surrogateescape")
    starts = np.array([0] + [m.end() for m in re.finditer("\n", text)], dtype=np.int64)
    bad_lines = _lines_of(_NOT_UTF8, text, starts)
    utf8_lines = np.setdiff1d(_lines_of(_PLAUSIBLE, text, starts),
                              np.union1d(bad_lines, _lines_of(_IMPLAUSIBLE, text, starts)))
    lines = text.split("\n")
    # A short GBK row can be valid UTF-8 by chance: a row counts as UTF-8 only if it reads as
    # ordinary Chinese in UTF-8 and more so than in GB18030, or, holding no Chinese in UTF-8,
    # does not read as ordinary Chinese in GB18030.
    def raw(n: int) -> bytes:
        return lines[n - 1].encode("utf-8", errors="surrogateescape")

    def is_utf8_text(n: int) -> bool:
        as_utf8 = raw(n).decode("utf-8")
        as_gbk = _real_text(raw(n).decode("gb18030", "replace"))
        if not _CJK.search(as_utf8):  # symbols only (—, °, ·): GBK 路 is UTF-8 "·"
            return as_gbk < 0.5
        return _real_text(as_utf8) > max(0.5, as_gbk)

    utf8_lines = np.array([n for n in utf8_lines if is_utf8_text(n)], dtype=np.int64)
    if len(utf8_lines) == 0:
        try:
            data.decode("gb18030")
            return "gb18030"
        except UnicodeDecodeError:
            raise DataError(Problem("cannot decode the file as UTF-8 or GBK/GB18030; save it "
                                    "as 'CSV UTF-8'", file=label)) from None
    def listed(rows: np.ndarray) -> str:
        return ", ".join(map(str, rows[:20])) + \
            (f" and {len(rows) - 20} more" if len(rows) > 20 else "")

    def shown(n: int, codec: str) -> str:
        raw = lines[n - 1].encode("utf-8", errors="surrogateescape")
        return f"row {n} read as {codec}: {raw.decode(codec, errors='replace')[:60]!r}"

    fix = ("Decoding the whole file one way would garble the other rows: retype those rows, or "
           "save the file again as 'CSV UTF-8' from a program that shows every row correctly")
    if len(utf8_lines) >= len(bad_lines):
        message = (f"mixed encodings: the file is UTF-8 but row(s) {listed(bad_lines)} are not "
                   "(probably GBK, pasted from another file; "
                   + "; ".join(shown(n, "gb18030") for n in bad_lines[:3]) + f"). {fix}")
        first = int(bad_lines[0])
    else:
        message = (f"mixed encodings: the file is GBK/GB18030 but row(s) {listed(utf8_lines)} "
                   "are UTF-8 (pasted from another file; "
                   + "; ".join(shown(n, "utf-8") for n in utf8_lines[:3]) + f"). {fix}")
        first = int(utf8_lines[0])
    raise DataError(Problem(message, file=label, row=first))


def _read_excel_cells(path: Path, sheet: str | None) -> tuple[pd.DataFrame, str]:
    label = str(path)
    book = _open_workbook(path, data_only=False)
    try:
        names = [str(n) for n in book.sheetnames]
        if sheet is None:
            sheet = names[0]
        elif sheet not in names:
            raise DataError(Problem(f"no sheet {sheet!r} in the workbook; sheets present: "
                                    f"{', '.join(map(repr, names))}", file=label))
        rows, formulas = _sheet_text(book[sheet])
    finally:
        book.close()
    if formulas:
        _fill_formula_values(path, sheet, rows, formulas)
    width = max((len(r) for r in rows), default=0)
    if width == 0:
        raise DataError(Problem(f"sheet {sheet!r} is empty; it needs a header row and data rows",
                                file=label))
    cells = pd.DataFrame([r + [""] * (width - len(r)) for r in rows], dtype=object)
    return cells, sheet


def _open_workbook(path: Path, data_only: bool):
    try:
        return openpyxl.load_workbook(path, read_only=True, data_only=data_only)
    except Exception as exc:  # openpyxl raises zipfile/KeyError/... for a damaged file
        raise DataError(Problem(f"cannot read the workbook ({type(exc).__name__}: {exc}); "
                                "is it a valid .xlsx file?", file=str(path))) from None


def _sheet_text(sheet) -> tuple[list[list[str]], list[tuple[int, int, str]]]:
    """Every cell as text, and the (row, column, formula) of formula cells (values unknown)."""
    rows, formulas = [], []
    for i, row in enumerate(sheet.iter_rows()):
        texts = []
        for j, cell in enumerate(row):
            value = cell.value
            if getattr(cell, "data_type", None) == "f":  # value is the formula text
                formulas.append((i, j, str(value)))
                texts.append("")
                continue
            texts.append(excel_cell_text(value, getattr(cell, "number_format", None)))
        while texts and texts[-1] == "":
            texts.pop()
        rows.append(texts)
    while rows and not rows[-1]:
        rows.pop()
    return rows, formulas


def _fill_formula_values(path: Path, sheet: str, rows: list[list[str]],
                         formulas: list[tuple[int, int, str]]) -> None:
    """Put the values Excel saved for formula cells into ``rows``; refuse formulas without one."""
    book = _open_workbook(path, data_only=True)
    try:
        wanted = {(i, j) for i, j, _ in formulas}
        saved = {}
        for i, row in enumerate(book[sheet].iter_rows()):
            for j, cell in enumerate(row):
                if (i, j) in wanted:
                    saved[(i, j)] = (cell.value, getattr(cell, "number_format", None))
    finally:
        book.close()
    header = rows[0] if rows else []
    problems = []
    for i, j, formula in formulas:
        value, number_format = saved.get((i, j), (None, None))
        if value is None:
            column = header[j] if j < len(header) and header[j] else None
            problems.append(Problem(
                f"cell {get_column_letter(j + 1)}{i + 1} holds the formula {formula!r} but no "
                "saved value (the file was written by a program that does not compute "
                "formulas); open the workbook in Excel or LibreOffice and save it, which stores "
                "the values, or type the values instead of the formula",
                f"{path} (sheet {sheet})", i + 1, column))
            continue
        row = rows[i]
        row.extend([""] * (j + 1 - len(row)))
        row[j] = excel_cell_text(value, number_format)
    if problems:
        raise DataError(problems, title=f"formulas without values in {path} (sheet {sheet})")


_QUOTED = re.compile(r'"[^"]*"|\\.')


def excel_cell_text(value: object, number_format: str | None = None) -> str:
    """The text of a workbook cell, as a person reads it in the sheet.

    Parameters
    ----------
    value : object
        The cell's value as openpyxl gives it (``None``, number, text, bool, date).
    number_format : str, optional
        The cell's number format, e.g. ``"0.0%"``.

    Returns
    -------
    str
        ``""`` for an empty cell; a number formatted as a percentage is written with a percent
        sign in percentage points, like the text a person types (``0.1`` shown as ``10%`` gives
        ``"10%"``), so that a workbook and a CSV file of the same table are read alike; whole
        numbers without a decimal point (``2024.0`` -> ``"2024"``); other numbers in their
        shortest exact form; anything else as ``str``.

    Examples
    --------
    >>> excel_cell_text(0.1, "0%"), excel_cell_text(0.075, "0.0%"), excel_cell_text(2024.0)
    ('10%', '7.5%', '2024')
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        if number_format and "%" in _QUOTED.sub("", number_format) and np.isfinite(value):
            percent = (Decimal(repr(value)) * 100).normalize()
            return f"{percent:f}%"
        if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value) if isinstance(value, float) else str(value)
    return str(value)


def _frame_from_cells(cells: pd.DataFrame, label: str) -> pd.DataFrame:
    """Header from the first row; drop trailing blank rows and unnamed blank columns."""
    cells = cells.fillna("").astype(str)
    blank = (cells.apply(lambda col: col.str.strip()) == "").to_numpy()
    filled_rows = np.flatnonzero(~blank.all(axis=1))
    if len(filled_rows) == 0:
        raise DataError(Problem("the file has no header and no data; it needs a header row",
                                file=label))
    if filled_rows[0] != 0:
        raise DataError(Problem("the first row is blank; the header must be on row 1",
                                file=label, row=1))
    cells = cells.iloc[: filled_rows[-1] + 1]
    blank = blank[: filled_rows[-1] + 1]
    header = [h.strip() for h in cells.iloc[0].tolist()]

    keep, problems, seen = [], [], {}
    for j, name in enumerate(header):
        if name == "":
            if blank[1:, j].all():
                continue  # an empty column without a name (Excel formatting); nothing to read
            problems.append(Problem(f"column {j + 1} has data but no name in the header row; "
                                    "name it or delete it", file=label, row=1))
            continue
        if name in seen:
            problems.append(Problem(f"duplicate column name (also column {seen[name] + 1}); "
                                    "rename one", file=label, row=1, column=name))
            continue
        seen[name] = j
        keep.append(j)
    if problems:
        raise DataError(problems, title=f"cannot read the header of {label}")
    frame = cells.iloc[1:, keep].reset_index(drop=True)
    frame.columns = [header[j] for j in keep]
    return frame


# ---------------------------------------------------------------------- datasets
def read_metadata(path: str | Path) -> dict:
    """Read and check a ``dataset.yaml`` file.

    Parameters
    ----------
    path : str or Path
        The ``dataset.yaml`` file, or the directory holding it.

    Returns
    -------
    dict
        The keys of the file (``name``, ``title``, ``description``, ``provenance``, ``files``,
        ``values_layout``, ``levels``, ``loader``, and any others), with ``name`` defaulting to
        the directory name, ``files`` to ``units.csv``/``indicators.csv``/``values.csv``,
        ``values_layout`` to ``"long"`` and ``levels`` (the levels the dataset adds to
        :data:`~assesskit.data.model.LEVELS`, name -> description; a list of names is accepted)
        to ``{}``.

    Raises
    ------
    DataError
        If the file is missing, is not valid YAML (the line is named), is not a mapping, or a
        key has the wrong type.

    Notes
    -----
    The file is read with :func:`yaml.safe_load`: no YAML tag can create a Python object.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "dataset.yaml"
    label = str(path)
    if not path.is_file():
        raise DataError(Problem("file not found; a dataset directory needs a dataset.yaml",
                                file=label))
    try:
        meta = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError:
        raise DataError(Problem("dataset.yaml must be UTF-8 text", file=label)) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        row = mark.line + 1 if mark is not None else None
        why = getattr(exc, "problem", None) or str(exc)
        raise DataError(Problem(f"invalid YAML: {why}", file=label, row=row)) from None
    if meta is None:
        raise DataError(Problem("the file is empty; it needs at least 'name' and 'provenance'",
                                file=label))
    if not isinstance(meta, dict):
        raise DataError(Problem("must be a mapping of keys (name:, provenance:, files:, ...), "
                                f"not a {type(meta).__name__}", file=label))

    problems = []
    meta = dict(meta)
    meta.setdefault("name", path.parent.name)
    for key in ("name", "title", "description", "provenance"):
        if key in meta and meta[key] is not None and not isinstance(meta[key], str):
            problems.append(Problem(f"key {key!r} must be text", file=label, column=key,
                                    value=meta[key]))
    files = meta.get("files") or {}
    if not isinstance(files, Mapping):
        problems.append(Problem("key 'files' must map units/indicators/values to file names",
                                file=label, column="files", value=files))
        files = {}
    unknown = sorted(set(map(str, files)) - set(TABLES) - set(OPTIONAL_TABLES))
    if unknown:
        problems.append(Problem(f"unknown table(s) {', '.join(map(repr, unknown))} under "
                                f"'files'; use {', '.join(TABLES + OPTIONAL_TABLES)}",
                                file=label, column="files"))
    for table in TABLES:
        name = files.get(table, f"{table}.csv")
        if not isinstance(name, str) or not name.strip():
            problems.append(Problem(f"files.{table} must be a file name", file=label,
                                    column=f"files.{table}", value=name))
    meta["files"] = {t: str(files.get(t, f"{t}.csv")) for t in TABLES}
    for table in OPTIONAL_TABLES:  # only when named
        if table in files:
            meta["files"][table] = str(files[table])
    scale = meta.get("rating_scale")
    if scale is not None and (not isinstance(scale, list)
                              or not all(isinstance(g, str) and g.strip() for g in scale)):
        problems.append(Problem("rating_scale must be a list of grades, best first "
                                "(e.g. [好, 较好, 一般, 差])", file=label, column="rating_scale",
                                value=scale))
    layout = meta.get("values_layout") or "long"
    if layout not in VALUE_LAYOUTS:
        problems.append(Problem("values_layout must be 'long' (unit, period, indicator, value) "
                                "or 'wide' (unit, period, one column per indicator)",
                                file=label, column="values_layout", value=layout))
    meta["values_layout"] = layout
    if "loader" in meta and meta["loader"] is not None and not isinstance(meta["loader"], str):
        problems.append(Problem("loader must be text 'assesskit.<module>:<function>'",
                                file=label, column="loader", value=meta["loader"]))
    levels = meta.get("levels") or {}
    if isinstance(levels, list) and all(isinstance(x, str) for x in levels):
        levels = dict.fromkeys(levels, "")
    if not isinstance(levels, Mapping) or not all(
            isinstance(k, str) and (v is None or isinstance(v, str)) for k, v in levels.items()):
        problems.append(Problem("levels must map each level the dataset adds to a description "
                                "(levels: {村: 行政村 village}) or list them ([村, 部门])",
                                file=label, column="levels", value=meta.get("levels")))
        levels = {}
    meta["levels"] = {k: v or "" for k, v in levels.items()}
    if problems:
        raise DataError(problems, title=f"invalid {label}")
    return meta


def load_dataset(
    path: str | Path,
    *,
    values_layout: str | None = None,
    require_groups: Iterable[str] = (),
) -> Dataset:
    """Load and validate a dataset from a directory or an Excel workbook.

    Parameters
    ----------
    path : str or Path
        One of

        * a directory with ``dataset.yaml`` (see the module docstring), or the
          ``dataset.yaml`` file itself;
        * a directory with ``units.csv``, ``indicators.csv`` and ``values.csv``;
        * an ``.xlsx`` workbook with the sheets ``units``, ``indicators`` and ``values``.

        The user guide ``docs/your-data.md`` describes the columns.
    values_layout : {"long", "wide"}, optional
        Layout of the values table, overriding ``values_layout`` in ``dataset.yaml`` (default
        ``"long"``). ``"long"``: columns ``unit, period, indicator, value``. ``"wide"``:
        columns ``unit, period`` then one column per indicator code; it is melted to long,
        keeping empty cells as missing values.
    require_groups : iterable of str
        Levels whose units must all have a group (a scheme ranks them within groups); checked
        with every other problem.

    Returns
    -------
    Dataset
        Validated with :meth:`Dataset.validate`. ``ds.notices`` lists every decision taken on
        the user's behalf (directions assumed, missing-value markers, levels outside the
        vocabulary, mixed percent scales).

    Raises
    ------
    DataError
        Listing every problem found across the three tables at once, each with its file (or
        sheet), row and column: files or sheets missing, empty or unreadable, mixed encodings
        (the rows that are not UTF-8), formulas without a saved value (the cell), missing
        required columns (with the option to use for a wide table), non-numeric values (every
        bad cell), bad periods, duplicate (unit, period, indicator) rows, unknown unit or
        indicator codes, empty or misspelt levels, parents that do not exist, cycles in parent
        links, and units without a group in ``require_groups``. A table that cannot be read
        does not stop the checks of the others.

    Notes
    -----
    A ``loader: module:function`` key in ``dataset.yaml`` hands loading to a function that
    converts a built-in reference panel; only functions inside the :mod:`assesskit` package are
    allowed (never an arbitrary import). The function is called with the directory and must
    return a :class:`Dataset`.

    Examples
    --------
    >>> ds = load_dataset("data/sichuan-39")  # doctest: +SKIP
    >>> ds.validate(require_groups=["county"])  # doctest: +SKIP
    """
    path = Path(path)
    if not path.exists():
        raise DataError(Problem("not found: the path does not exist; give a dataset directory "
                                "or an .xlsx workbook", file=str(path)))
    if path.is_file() and path.name == "dataset.yaml":
        path = path.parent
    if path.is_file():
        if path.suffix.lower() not in EXCEL_SUFFIXES:
            raise DataError(Problem("expected a dataset directory (with dataset.yaml or "
                                    "units.csv, indicators.csv, values.csv) or an .xlsx "
                                    "workbook with sheets units, indicators, values",
                                    file=str(path)))
        meta = {"name": path.stem, "provenance": "", "values_layout": "long", "levels": {}}
        sources = {t: f"{path} (sheet {t})" for t in TABLES}
        frames, problems = _read_workbook_tables(path)
        extra = {}
    else:
        meta = _directory_metadata(path)
        if meta.get("loader"):
            return _call_loader(meta, path)
        frames, problems, sources = {}, [], {}
        for table in TABLES:
            file = path / meta["files"][table]
            sources[table] = str(file)
            try:
                frames[table] = read_table(file)
            except DataError as exc:
                frames[table] = None
                problems.extend(exc.problems)
        extra = _read_optional_tables(path, meta, sources, problems)

    layout = values_layout or meta.get("values_layout") or "long"
    if layout not in VALUE_LAYOUTS:
        raise DataError(Problem(f"values_layout must be 'long' or 'wide', not {layout!r}",
                                column="values_layout", value=layout))
    name = meta.get("name") or path.stem
    common = {"name": name, "provenance": meta.get("provenance") or "", "sources": sources,
              "levels": meta.get("levels") or {}, "require_groups": tuple(require_groups),
              **extra}
    if layout == "long":
        ds = Dataset.from_frames(frames["units"], frames["indicators"], frames["values"],
                                 problems=problems, **common)
    else:
        ds = _dataset_from_wide(frames, problems, common)
    # Notices travel into reports and summaries: name files from the dataset's folder, never
    # by a path of this machine (errors keep the full path: they are for finding the file).
    short = {full: os.path.relpath(full, path.parent) if not path.is_file() else
             full.replace(str(path), path.name) for full in sources.values()}
    ds.notices = [dataclasses.replace(n, where=short.get(n.where, n.where)) for n in ds.notices]
    return ds


def _read_optional_tables(path: Path, meta: dict, sources: dict, problems: list) -> dict:
    """Keyword arguments of :meth:`Dataset.from_frames` for the optional tables named in meta."""
    extra: dict = {}
    if "ratings" in meta["files"]:
        file = path / meta["files"]["ratings"]
        sources["ratings"] = str(file)
        try:
            extra["ratings"] = read_table(file)
        except DataError as exc:
            problems.extend(exc.problems)
        extra["rating_scale"] = [g.strip() for g in meta.get("rating_scale") or []]
    return extra


def _directory_metadata(path: Path) -> dict:
    if (path / "dataset.yaml").is_file():
        return read_metadata(path / "dataset.yaml")
    present = [t for t in TABLES if (path / f"{t}.csv").is_file()]
    if not present:
        raise DataError(Problem("not a dataset directory: it has no dataset.yaml and none of "
                                "units.csv, indicators.csv, values.csv", file=str(path)))
    files = {t: f"{t}.csv" for t in TABLES + OPTIONAL_TABLES if (path / f"{t}.csv").is_file()}
    return {"name": path.name, "provenance": "", "values_layout": "long", "levels": {},
            "files": {t: f"{t}.csv" for t in TABLES} | files}


def _read_workbook_tables(path: Path) -> tuple[dict[str, pd.DataFrame | None], list[Problem]]:
    book = _open_workbook(path, data_only=False)
    try:
        names = [str(n) for n in book.sheetnames]
    finally:
        book.close()
    frames: dict[str, pd.DataFrame | None] = {}
    problems = []
    for table in TABLES:
        frames[table] = None
        if table not in names:
            problems.append(Problem(f"the workbook has no sheet {table!r}; it needs sheets "
                                    f"units, indicators, values (sheets present: "
                                    f"{', '.join(map(repr, names))})",
                                    file=f"{path} (sheet {table})"))
            continue
        try:
            frames[table] = read_table(path, sheet=table)
        except DataError as exc:
            problems.extend(exc.problems)
    return frames, problems


def _call_loader(meta: dict, directory: Path) -> Dataset:
    """Run ``loader: assesskit.data.reference:<function>`` from dataset.yaml.

    Only the converters listed in :data:`assesskit.data.reference.LOADERS` can be named: a data
    file never makes assesskit import a module or call any other function (a loader pointing
    at, say, ``assesskit.data.io:load_dataset`` would call itself without end).
    """
    from .reference import LOADERS

    spec = str(meta["loader"]).strip()
    label = str(directory / "dataset.yaml")
    module, _, name = spec.partition(":")
    if module != "assesskit.data.reference" or name not in LOADERS:
        allowed = ", ".join(f"assesskit.data.reference:{n}" for n in LOADERS)
        raise DataError(Problem(f"loader must be one of the bundled converters ({allowed}); "
                                "a data file never names other code", file=label,
                                column="loader", value=spec))
    func = LOADERS[name]
    ds = func(directory)
    if not isinstance(ds, Dataset):
        raise DataError(Problem(f"the loader returned a {type(ds).__name__}, not a Dataset",
                                file=label, column="loader", value=spec))
    if not ds.provenance and meta.get("provenance"):
        ds = dataclasses.replace(ds, provenance=meta["provenance"])
    return ds


def _dataset_from_wide(
    frames: dict[str, pd.DataFrame | None], problems: list[Problem], common: dict
) -> Dataset:
    """Melt a wide values table (unit, period, <codes>...) checking it in its own rows/columns."""
    name, sources = common["name"], common["sources"]
    wide, file = frames["values"], sources["values"]
    problems = list(problems)
    notices: list[Notice] = []
    long = None
    if wide is not None:
        wide, alias_problems = rename_columns(wide, "values", file=file,
                                              only=("unit", "period"))
        problems.extend(alias_problems)
        long = _melt_wide(wide, frames, file, problems, notices)
    try:
        ds = Dataset.from_frames(frames["units"], frames["indicators"], long,
                                 validate=False, notices=notices,
                                 **{k: v for k, v in common.items() if k != "require_groups"})
    except DataError as exc:
        known = set(problems)
        raise DataError(problems + [p for p in exc.problems if p not in known],
                        title=f"dataset {name!r} is not valid") from None
    # The values checks were done in the wide table's own rows and columns; the long table's
    # positions would name the wrong rows.
    problems.extend(p for p in ds.problems(common["require_groups"]) if p.file != file)
    if problems:
        raise DataError(problems, title=f"dataset {name!r} is not valid")
    return ds


def _melt_wide(wide: pd.DataFrame, frames: dict, file: str, problems: list[Problem],
               notices: list[Notice]) -> pd.DataFrame | None:
    """The long values of a wide table, appending its problems and notices; None if unusable."""
    missing = [c for c in ("unit", "period") if c not in wide.columns]
    if missing:
        problems.append(Problem(
            f"missing required column(s) {', '.join(map(repr, missing))} in the wide values "
            f"table (found: {', '.join(map(str, wide.columns))}); a wide table has the columns "
            "unit, period, then one column per indicator code", file=file))
        return None
    codes = [c for c in wide.columns if c not in ("unit", "period")]
    if not codes:
        problems.append(Problem("the wide values table has no indicator columns after unit and "
                                "period", file=file, row=1))
        return None
    if len(wide) == 0:
        problems.append(Problem("the values table has no rows", file=file))
        return None

    units = wide["unit"].str.strip()
    periods, period_problems = _normalise_periods(wide["period"], file)
    problems.extend(period_problems)
    numbers = {}
    rows = np.arange(len(wide)) + 2
    for code in codes:
        numbers[code], bad, with_percent = parse_numeric(wide[code], file=file, column=code,
                                                         percent=True)
        problems.extend(bad)
        notices.extend(percent_scale_notices(wide[code], numbers[code],
                                             pd.Series([code] * len(wide)), rows, file,
                                             with_percent))
    for i in np.flatnonzero(pd.DataFrame({"u": units, "p": periods}).duplicated().to_numpy()):
        problems.append(Problem(f"duplicate row for unit {units.iloc[i]!r}, period "
                                f"{periods.iloc[i]!r}; keep one", file, int(i) + 2))
    unit_frame = frames["units"]
    if unit_frame is not None:
        unit_frame = rename_columns(unit_frame, "units")[0]
    if unit_frame is not None and "unit" in unit_frame.columns:
        known_units = set(unit_frame["unit"].str.strip())
        for i in np.flatnonzero(~units.isin(known_units).to_numpy()):
            problems.append(Problem("unknown unit id; it is not in the units table", file,
                                    int(i) + 2, "unit", units.iloc[i]))
    indicator_frame = frames["indicators"]
    if indicator_frame is not None:
        indicator_frame = rename_columns(indicator_frame, "indicators")[0]
    if indicator_frame is not None and "indicator" in indicator_frame.columns:
        known_codes = set(indicator_frame["indicator"].str.strip())
        for code in codes:
            if code not in known_codes:
                problems.append(Problem("column is not an indicator code of the indicators "
                                        "table; add the indicator or rename the column", file,
                                        1, code))

    # Row-major melt: the values of one wide row stay together.
    k = len(codes)
    cells = pd.Series(np.column_stack([wide[c].to_numpy(dtype=object) for c in codes]).ravel())
    values = np.column_stack([numbers[c].to_numpy() for c in codes]).ravel()
    marker = missing_marker_notice(cells, pd.Series(values), np.repeat(rows, k), file)
    if marker:
        notices.insert(0, marker)
    return pd.DataFrame({
        "unit": np.repeat(units.to_numpy(dtype=object), k),
        "period": np.repeat(periods.to_numpy(dtype=object), k),
        "indicator": np.tile(np.array(codes, dtype=object), len(wide)),
        "value": values,
    })


def _normalise_periods(raw: pd.Series, file: str) -> tuple[pd.Series, list[Problem]]:
    """Canonical period strings, normalising each distinct text once."""
    text = raw.astype(str).str.strip()
    parsed = {p: parse_period(p) for p in text.unique()}
    out = text.map({p: c for p, (c, _) in parsed.items()})
    problems = [Problem(parsed[text.iloc[i]][1], file, int(i) + 2, "period", raw.iloc[i])
                for i in np.flatnonzero(out.isna().to_numpy())]
    return out.fillna(text).astype(object), problems
