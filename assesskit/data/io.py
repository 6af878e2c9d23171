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
  一般, 差]``, optional ``values_layout: wide`` and, for built-in reference panels only,
  ``loader: assesskit.<module>:<function>``);
* a directory holding ``units.csv``, ``indicators.csv`` and ``values.csv`` (and ``ratings.csv``,
  read if present); or
* one ``.xlsx`` workbook with the sheets ``units``, ``indicators`` and ``values``.
"""

from __future__ import annotations

import dataclasses
import importlib
import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from ..errors import DataError, Problem
from .model import Dataset, normalise_period
from .numbers import MISSING_MARKERS, parse_numeric

__all__ = [
    "MISSING_MARKERS",
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
        parsed, the sheet does not exist (the sheets present are listed), or the header has a
        duplicate or empty column name over a column with data.

    Notes
    -----
    The encoding of a CSV is found by trying UTF-8 (``utf-8-sig``, which also removes a BOM)
    and then GB18030, a superset of GBK and GB2312. Blank rows inside the table are kept, so
    that row numbers in error messages match the file; blank rows at the end are dropped.

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
    with path.open("rb") as fh:
        head = fh.read(1 << 16)
    if not head.strip().lstrip(b"\xef\xbb\xbf").strip():
        raise DataError(Problem("the file is empty; it needs a header row and data rows",
                                file=label))
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            cells = pd.read_csv(path, header=None, dtype=str, encoding=encoding,
                                keep_default_na=False, na_filter=False, skip_blank_lines=False)
        except UnicodeDecodeError:
            continue
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
    raise DataError(Problem("cannot decode the file as UTF-8 or GBK/GB18030; save it as "
                            "'CSV UTF-8'", file=label))


def _read_excel_cells(path: Path, sheet: str | None) -> tuple[pd.DataFrame, str]:
    label = str(path)
    try:
        book = pd.ExcelFile(path, engine="openpyxl")
    except Exception as exc:  # openpyxl raises zipfile/KeyError/... for a damaged file
        raise DataError(Problem(f"cannot read the workbook ({type(exc).__name__}: {exc}); "
                                "is it a valid .xlsx file?", file=label)) from None
    with book:
        names = [str(n) for n in book.sheet_names]
        if sheet is None:
            sheet = names[0]
        elif sheet not in names:
            raise DataError(Problem(f"no sheet {sheet!r} in the workbook; sheets present: "
                                    f"{', '.join(map(repr, names))}", file=label))
        cells = pd.read_excel(book, sheet_name=sheet, header=None, dtype=str, na_filter=False)
    if cells.empty:
        raise DataError(Problem(f"sheet {sheet!r} is empty; it needs a header row and data rows",
                                file=label))
    return cells, sheet


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
        ``values_layout``, ``loader``, and any others), with ``name`` defaulting to the directory
        name, ``files`` to ``units.csv``/``indicators.csv``/``values.csv`` and
        ``values_layout`` to ``"long"``.

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
    if problems:
        raise DataError(problems, title=f"invalid {label}")
    return meta


def load_dataset(path: str | Path, *, values_layout: str | None = None) -> Dataset:
    """Load and validate a dataset from a directory or an Excel workbook.

    Parameters
    ----------
    path : str or Path
        One of

        * a directory with ``dataset.yaml`` (see the module docstring), or the
          ``dataset.yaml`` file itself;
        * a directory with ``units.csv``, ``indicators.csv`` and ``values.csv``;
        * an ``.xlsx`` workbook with the sheets ``units``, ``indicators`` and ``values``.
    values_layout : {"long", "wide"}, optional
        Layout of the values table, overriding ``values_layout`` in ``dataset.yaml`` (default
        ``"long"``). ``"long"``: columns ``unit, period, indicator, value``. ``"wide"``:
        columns ``unit, period`` then one column per indicator code; it is melted to long,
        keeping empty cells as missing values.

    Returns
    -------
    Dataset
        Validated with :meth:`Dataset.validate` (no group requirement; call
        ``ds.validate(require_groups=[...])`` for a scheme that ranks within groups).

    Raises
    ------
    DataError
        Listing every problem found across the three tables at once, each with its file (or
        sheet), row and column: files or sheets missing, empty or unreadable, missing required
        columns, non-numeric values (every bad cell), bad periods, duplicate
        (unit, period, indicator) rows, unknown unit or indicator codes, unknown levels,
        parents that do not exist and cycles in parent links.

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
        raise DataError(Problem("not found; give a dataset directory or an .xlsx workbook",
                                file=str(path)))
    if path.is_file() and path.name == "dataset.yaml":
        path = path.parent
    if path.is_file():
        if path.suffix.lower() not in EXCEL_SUFFIXES:
            raise DataError(Problem("expected a dataset directory (with dataset.yaml or "
                                    "units.csv, indicators.csv, values.csv) or an .xlsx "
                                    "workbook with sheets units, indicators, values",
                                    file=str(path)))
        meta = {"name": path.stem, "provenance": "", "values_layout": "long"}
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
                problems.extend(exc.problems)
        extra = _read_optional_tables(path, meta, sources, problems)
    if problems:
        raise DataError(problems, title=f"cannot read dataset {str(path)!r}")

    layout = values_layout or meta.get("values_layout") or "long"
    if layout not in VALUE_LAYOUTS:
        raise ValueError(f"values_layout must be 'long' or 'wide', not {layout!r}")
    name = meta.get("name") or path.stem
    provenance = meta.get("provenance") or ""
    if layout == "long":
        return Dataset.from_frames(frames["units"], frames["indicators"], frames["values"],
                                   name=name, provenance=provenance, sources=sources, **extra)
    return _dataset_from_wide(frames, name, provenance, sources)


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
    return {"name": path.name, "provenance": "", "values_layout": "long",
            "files": {t: f"{t}.csv" for t in TABLES} | files}


def _read_workbook_tables(path: Path) -> tuple[dict[str, pd.DataFrame], list[Problem]]:
    try:
        with pd.ExcelFile(path, engine="openpyxl") as book:
            names = [str(n) for n in book.sheet_names]
    except Exception as exc:  # a damaged or mislabelled file
        raise DataError(Problem(f"cannot read the workbook ({type(exc).__name__}: {exc}); "
                                "is it a valid .xlsx file?", file=str(path))) from None
    frames, problems = {}, []
    for table in TABLES:
        if table not in names:
            problems.append(Problem(f"the workbook has no sheet {table!r}; it needs sheets "
                                    f"units, indicators, values (sheets present: "
                                    f"{', '.join(map(repr, names))})", file=str(path)))
            continue
        try:
            frames[table] = read_table(path, sheet=table)
        except DataError as exc:
            problems.extend(exc.problems)
    return frames, problems


def _call_loader(meta: dict, directory: Path) -> Dataset:
    """Run ``loader: assesskit.<module>:<function>`` from dataset.yaml, refusing other modules."""
    spec = meta["loader"].strip()
    label = str(directory / "dataset.yaml")
    m = re.fullmatch(r"(assesskit(?:\.[A-Za-z_]\w*)+):([A-Za-z_]\w*)", spec)
    if not m:
        raise DataError(Problem("loader must name a function inside the assesskit package, "
                                "written 'assesskit.<module>:<function>'; other modules are "
                                "never imported", file=label, column="loader", value=spec))
    try:
        module = importlib.import_module(m.group(1))
    except ImportError as exc:
        raise DataError(Problem(f"cannot import the loader module: {exc}", file=label,
                                column="loader", value=spec)) from None
    func = getattr(module, m.group(2), None)
    if not callable(func):
        raise DataError(Problem(f"module {m.group(1)} has no function {m.group(2)!r}",
                                file=label, column="loader", value=spec))
    ds = func(directory)
    if not isinstance(ds, Dataset):
        raise DataError(Problem(f"the loader returned a {type(ds).__name__}, not a Dataset",
                                file=label, column="loader", value=spec))
    if not ds.provenance and meta.get("provenance"):
        ds = dataclasses.replace(ds, provenance=meta["provenance"])
    return ds


def _dataset_from_wide(
    frames: dict[str, pd.DataFrame], name: str, provenance: str, sources: dict[str, str]
) -> Dataset:
    """Melt a wide values table (unit, period, <codes>...) checking it in its own rows/columns."""
    wide, file = frames["values"], sources["values"]
    missing = [c for c in ("unit", "period") if c not in wide.columns]
    if missing:
        raise DataError(Problem(
            f"missing required column(s) {', '.join(map(repr, missing))} in the wide values "
            f"table (found: {', '.join(map(str, wide.columns))}); a wide table has the columns "
            "unit, period, then one column per indicator code", file=file))
    codes = [c for c in wide.columns if c not in ("unit", "period")]
    problems: list[Problem] = []
    if not codes:
        problems.append(Problem("the wide values table has no indicator columns after unit and "
                                "period", file=file, row=1))
    if len(wide) == 0:
        problems.append(Problem("the values table has no rows", file=file))
    if problems:
        raise DataError(problems, title=f"cannot read the values of dataset {name!r}")

    units = wide["unit"].str.strip()
    periods, period_problems = _normalise_periods(wide["period"], file)
    problems.extend(period_problems)
    numbers = {}
    for code in codes:
        numbers[code], bad = parse_numeric(wide[code], file=file, column=code)
        problems.extend(bad)
    for i in np.flatnonzero(pd.DataFrame({"u": units, "p": periods}).duplicated().to_numpy()):
        problems.append(Problem(f"duplicate row for unit {units.iloc[i]!r}, period "
                                f"{periods.iloc[i]!r}; keep one", file, int(i) + 2))
    if "unit" in frames["units"].columns:
        known_units = set(frames["units"]["unit"].str.strip())
        for i in np.flatnonzero(~units.isin(known_units).to_numpy()):
            problems.append(Problem("unknown unit id; it is not in the units table", file,
                                    int(i) + 2, "unit", units.iloc[i]))
    if "indicator" in frames["indicators"].columns:
        known_codes = set(frames["indicators"]["indicator"].str.strip())
        for code in codes:
            if code not in known_codes:
                problems.append(Problem("column is not an indicator code of the indicators "
                                        "table; add the indicator or rename the column", file,
                                        1, code))

    # Row-major melt: the values of one wide row stay together.
    k = len(codes)
    long = pd.DataFrame({
        "unit": np.repeat(units.to_numpy(dtype=object), k),
        "period": np.repeat(periods.to_numpy(dtype=object), k),
        "indicator": np.tile(np.array(codes, dtype=object), len(wide)),
        "value": np.column_stack([numbers[c].to_numpy() for c in codes]).ravel(),
    })
    try:
        ds = Dataset.from_frames(frames["units"], frames["indicators"], long, name=name,
                                 provenance=provenance, sources=sources, validate=False)
    except DataError as exc:
        raise DataError(problems + exc.problems, title=f"dataset {name!r} is not valid") from None
    # The values checks were done above in the wide table's own rows and columns; the long
    # table's positions would name the wrong rows.
    problems.extend(p for p in ds.problems() if p.file != file)
    if problems:
        raise DataError(problems, title=f"dataset {name!r} is not valid")
    return ds


def _normalise_periods(raw: pd.Series, file: str) -> tuple[pd.Series, list[Problem]]:
    """Canonical period strings, normalising each distinct text once."""
    text = raw.astype(str).str.strip()
    canonical, problems = {}, []
    for p in text.unique():
        try:
            canonical[p] = normalise_period(p)
        except ValueError:
            canonical[p] = None
    out = text.map(canonical)
    for i in np.flatnonzero(out.isna().to_numpy()):
        try:
            normalise_period(text.iloc[i])
        except ValueError as exc:
            problems.append(Problem(str(exc), file, int(i) + 2, "period", raw.iloc[i]))
    return out.fillna(text).astype(object), problems
