"""The tables of a report set for spreadsheet readers: an Excel workbook and CSV files.

The workbook ``results-<period>.xlsx`` has one sheet per group of each assessed level (ranked,
best first), a frozen two-row header (Chinese names above the English ones), praised and
summoned rows filled (blue: a list from the top of the ranking; orange: from the bottom) and a
``说明 notes`` sheet with the scheme, the source document, the data's provenance and the colour
legend. CSV files are UTF-8 with a byte-order mark, so Excel on a Chinese Windows machine reads
the names. In both, a text cell that starts with ``= + - @`` gets a leading ``'`` and cannot run
as a formula (:func:`~assesskit.report.safe.formula_safe`).
"""

from __future__ import annotations

import io
import os
import re
import zipfile
from pathlib import Path

import pandas as pd

from . import tables
from .safe import formula_safe, formula_safe_frame

#: Column, Chinese header, English header of the ranked sheets.
SHEET_COLUMNS = [
    ("group_rank", "组内排名", "group rank"),
    ("subgroup", "子分组", "subgroup"),
    ("subgroup_rank", "子分组排名", "subgroup rank"),
    ("name", "名称", "name"),
    ("unit", "代码", "id"),
    ("score", "得分", "score"),
    ("rank", "总排名", "rank in level"),
    ("grade", "等次", "grade"),
    ("outcome_label", "结果", "outcome"),
    ("outcome", "结果代码", "outcome key"),
]
FILLS = {"top": "DBEAF7", "bottom": "FBE3D6"}
_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")


def _sheet_name(text: str, taken: set[str]) -> str:
    """A valid, unique sheet name (at most 31 characters, none of ``[]:*?/\\``)."""
    base = _SHEET_BAD.sub("_", str(text)).strip("'") or "sheet"
    name, i = base[:31], 2
    while name.casefold() in taken:
        suffix = f" ({i})"
        name, i = base[:31 - len(suffix)] + suffix, i + 1
    taken.add(name.casefold())
    return name


def write_workbook(ev, path: str | Path, *, source: str = "", data_note: str = "") -> Path:
    """Write the ranked tables of an evaluation to an Excel workbook.

    Parameters
    ----------
    ev : Evaluation
    path : str or Path
        Written through a temporary file and renamed, so a half-written workbook never exists.
    source, data_note : str
        Source document and data provenance, written to the notes sheet.

    Returns
    -------
    Path
    """
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill

    path = Path(path)
    wb = Workbook()
    notes = wb.active
    notes.title = "说明 notes"
    taken = {notes.title.casefold()}
    bold = Font(bold=True)
    for level in tables.levels_of(ev):
        results = tables.results_table(ev, level)
        filled = {c: bool((results[c].notna() & results[c].astype(str).str.strip().ne("")).any())
                  for c, _, _ in SHEET_COLUMNS}
        filled["subgroup_rank"] = filled["subgroup_rank"] and filled["subgroup"]  # no split: empty
        used = [c for c in SHEET_COLUMNS if c[0] in ("group_rank", "name", "unit", "score", "rank",
                                                      "outcome_label", "outcome") or filled[c[0]]]
        for group in dict.fromkeys(results["group"]):
            part = results[results["group"] == group]
            # a level ranked as one group: its sheet is named by the scheme's label of the level
            label = group if group and group != level else \
                (getattr(ev.scheme.levels.get(level), "label", None) or level)
            ws = wb.create_sheet(_sheet_name(label, taken))
            ws.append([zh for _, zh, _ in used])
            ws.append([en for _, _, en in used])
            for _, row in part.iterrows():
                ws.append([_cell(row[c]) for c, _, _ in used])
                fill = FILLS.get(row["side"])
                if fill:
                    for cell in ws[ws.max_row]:
                        cell.fill = PatternFill("solid", fgColor=fill)
            for cell in (*ws[1], *ws[2]):
                cell.font = bold
            ws.freeze_panes = "A3"
            score_col = [c for c, _, _ in used].index("score") + 1
            for (cell,) in ws.iter_rows(min_row=3, min_col=score_col, max_col=score_col):
                cell.number_format = "0.00"
            for i, (c, _, _) in enumerate(used, start=1):
                ws.column_dimensions[ws.cell(1, i).column_letter].width = 22 if c == "name" else 12
    rows = [["方案 scheme", ev.scheme.spec.get("title", ev.scheme.name)],
            ["来源文件 source document", source], ["期间 period", ev.period],
            ["数据 data", f"{ev.dataset}: {data_note}"],
            ["蓝色 blue", "a list from the top of the ranking (e.g. 通报表扬 praised)"],
            ["橙色 orange", "a list from the bottom of the ranking (e.g. 约谈 summoned)"]]
    for row in rows:
        notes.append([formula_safe(str(v)) for v in row])
    notes.column_dimensions["A"].width = 24
    notes.column_dimensions["B"].width = 100
    for cell in notes["A"]:
        cell.font = bold
    # openpyxl stores a string starting with "=" as a formula: keep every text cell a string
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str):
                    cell.data_type = "s"
    _set_fixed_times(wb)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    buffer = io.BytesIO()
    wb.save(buffer)
    tmp.write_bytes(_reproducible_zip(buffer.getvalue()))
    os.replace(tmp, path)
    return path


def _reproducible_zip(data: bytes) -> bytes:
    """The workbook's zip with fixed entry dates and a fixed modification time in
    ``docProps/core.xml`` (openpyxl stamps the time of saving), so equal tables give equal
    bytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                body = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>2000-01-01T00:00:00Z", body)
            dst.writestr(zipfile.ZipInfo(info.filename, date_time=(2000, 1, 1, 0, 0, 0)), body,
                         compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def _cell(value):
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    if hasattr(value, "item"):  # numpy scalar -> Python
        value = value.item()
    return formula_safe(value) if isinstance(value, str) else value


def _set_fixed_times(wb) -> None:
    """Fixed creation and modification times, so the same tables give the same file."""
    import datetime

    fixed = datetime.datetime(2000, 1, 1)
    wb.properties.created = fixed
    wb.properties.modified = fixed
    wb.properties.creator = "assesskit"


def write_csvs(ev, folder: str | Path) -> list[Path]:
    """Scores, contributions, traffic lights and the log as CSV (UTF-8 with BOM, formula-safe).

    Returns
    -------
    list of Path
        The files written (traffic lights only if the scheme has a schedule).
    """
    from ..engine.evaluation import log_table

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, frame in (("scores", ev.scores), ("contributions", ev.contributions),
                        ("traffic_lights", ev.traffic_lights), ("log", log_table(ev.log))):
        if frame is None or frame.empty:
            continue
        path = folder / f"{name}.csv"
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        formula_safe_frame(frame).to_csv(tmp, index=False, float_format="%.6f",
                                         lineterminator="\n", encoding="utf-8-sig")
        os.replace(tmp, path)
        paths.append(path)
    return paths
