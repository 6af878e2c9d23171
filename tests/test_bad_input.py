"""Bad input gets a located error or a visible notice, never a traceback or a silent guess (issue 14).

The data-layer and command-line classes of the issue: bad periods, bad output folders,
``python -m assesskit.cli``, a dataset path that does not exist, a CSV file mixing encodings,
percent cells of a workbook, formulas without a saved value, missing-value markers, periods
written with 年, indicators without a direction, and ``validate`` reporting every problem in one
run. Each test feeds the bad input and checks the error type and that the message names the
place (file, row, column, option) or, for a documented decision, the notice's text.

Fixture: tests/data/io/guangyuan (five Guangyuan counties, three indicators, 2023–2024), copied
to tmp_path and edited one file at a time.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

import assesskit as ak
from assesskit import cli
from assesskit.data.io import load_dataset
from assesskit.data.model import normalise_period
from assesskit.errors import AssessKitError, DataError, OutputError

DATA = Path(__file__).parent / "data" / "io"
GOOD = DATA / "guangyuan"

GUANGYUAN_SCHEME = (DATA / "guangyuan-scheme.yaml").read_text(encoding="utf-8")


def _copy(tmp_path: Path, src: Path = GOOD) -> Path:
    dst = tmp_path / src.name
    shutil.copytree(src, dst)
    return dst


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"fixture text {old!r} not found in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def _run(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _scheme_file(tmp_path: Path) -> Path:
    path = tmp_path / "guangyuan-check.yaml"
    path.write_text(GUANGYUAN_SCHEME, encoding="utf-8")
    return path


# ---------------------------------------------------------------------- bad periods
@pytest.mark.parametrize(("period", "why"), [
    ("2024-13", "there is no month 13 (months are 1 to 12)"),
    ("2024年13月", "there is no month 13"),
    ("2024Q5", "there is no quarter 5 (quarters are Q1 to Q4)"),
    ("2024年第五季度", "there is no quarter 五"),
    ("2024-03-01", "a date is not a period"),
    ("2024年度", "write the year as 2024 or 2024年"),
    ("24", ""),
])
def test_bad_period_is_a_located_data_error_listing_the_forms(period, why):
    with pytest.raises(DataError) as info:
        normalise_period(period)
    assert isinstance(info.value, ValueError)  # callers catching ValueError still work
    message = str(info.value)
    assert f"period {period!r} is not a year (2024), a quarter (2024Q1) or a month" in message
    assert why in message
    assert "a year (2024, 2024年), a quarter (2024Q1" in message  # says what forms are allowed


def test_a_decimal_number_is_not_a_period_but_a_whole_one_is_a_year(county_dataset):
    # 2024.10 == 2024.1: October and January cannot be told apart (the audit found 2024.10 read
    # as January without a word); 2024.0, a year column read as float, is the year 2024
    with pytest.raises(DataError, match="cannot tell 2024.10 from 2024.1"):
        normalise_period(2024.10)
    assert normalise_period(2024.0) == "2024" and normalise_period(np.float64(2024)) == "2024"
    assert normalise_period("2024.10") == "2024-10"  # as text it is October
    scheme = ak.load_scheme({"levels": {"county": {"tree": {"gdp_pc": {"weight": 1}}}}})
    with pytest.raises(DataError, match="decimal number"):
        ak.evaluate(scheme, county_dataset, 2024.10)
    units = pd.DataFrame({"unit": ["a"], "name": ["甲"], "level": "county"})
    codes = pd.DataFrame({"indicator": ["x"], "direction": ["higher"]})
    values = pd.DataFrame({"unit": ["a", "a"], "period": [2024.01, 2024.10], "indicator": "x",
                           "value": [1.0, 2.0]})
    with pytest.raises(DataError) as info:
        ak.Dataset.from_frames(units, codes, values, name="t")
    assert [(p.row, p.column) for p in info.value.problems] == [(2, "period"), (3, "period")]
    assert "duplicate" not in str(info.value)


def test_bad_period_through_the_api_is_a_data_error(county_dataset):
    scheme = ak.load_scheme({"levels": {"county": {"tree": {"gdp_pc": {"weight": 1}}}}})
    with pytest.raises(DataError, match="there is no month 13"):
        ak.evaluate(scheme, county_dataset, "2024-13")


@pytest.mark.parametrize("command", ["evaluate", "report", "explain"])
def test_bad_period_on_the_command_line_names_the_option(capsys, command):
    extra = ["511322"] if command == "explain" else []
    code, out, err = _run(capsys, command, *extra, "--scheme", "dingxi", "--data", "dingxi",
                          "--period", "2024Q5")
    assert code == 1 and out == ""
    option = "--periods" if command == "report" else "--period"  # report takes ranges too
    assert f"{option} 2024Q5: " in err and "period '2024Q5' is not a year" in err
    assert "there is no quarter 5" in err and "Traceback" not in err


def test_bad_period_in_a_file_names_row_and_column(tmp_path):
    d = _copy(tmp_path)
    _edit(d / "values.csv", "510802,2024,gdp_growth", "510802,2024-13,gdp_growth")  # row 17
    with pytest.raises(DataError) as info:
        load_dataset(d)
    (p,) = info.value.problems
    assert (p.file, p.row, p.column, p.value) == (str(d / "values.csv"), 17, "period", "2024-13")
    assert "there is no month 13" in p.message


@pytest.mark.parametrize(("written", "canonical"), [
    ("2019年", "2019"), (" 2019 年", "2019"), ("2024年3月", "2024-03"),
    ("2024年第一季度", "2024Q1"), ("2024年3季度", "2024Q3"), ("2024年第4季度", "2024Q4"),
])
def test_periods_written_with_a_unit_are_accepted(written, canonical):
    assert normalise_period(written) == canonical


def test_periods_with_a_unit_in_a_file(tmp_path):
    d = _copy(tmp_path)
    values = d / "values.csv"
    values.write_text(values.read_text(encoding="utf-8").replace(",2023,", ",2023年,"),
                      encoding="utf-8")
    ds = load_dataset(d)
    assert ds.periods == ["2023", "2024"]
    assert ds.wide("2023").loc["510802", "gdp_growth"] == 7.5


# ---------------------------------------------------------------------- output folders
def test_out_that_is_a_file(capsys, tmp_path):
    afile = tmp_path / "results.txt"
    afile.write_text("x", encoding="utf-8")
    code, out, err = _run(capsys, "evaluate", "--scheme", "dingxi", "--data", "dingxi",
                          "--period", "2025", "--out", afile)
    assert code == 1 and out == "" and "Traceback" not in err
    assert f"--out {afile}: this is a file, not a folder" in err
    code, _, err = _run(capsys, "report", "--out", afile / "sub")
    assert code == 1 and f"--out {afile / 'sub'}: part of this path is a file" in err


def test_out_that_cannot_be_written(capsys, tmp_path, monkeypatch):
    locked = tmp_path / "locked"
    locked.mkdir()
    if os.geteuid() != 0:
        locked.chmod(0o500)
    else:  # root may write anywhere: make the write itself fail as it would for a user

        def refuse(*args, **kwargs):
            raise PermissionError(13, "Permission denied")

        monkeypatch.setattr(cli.tempfile, "TemporaryFile", refuse)
    try:
        code, out, err = _run(capsys, "evaluate", "--scheme", "dingxi", "--data", "dingxi",
                              "--period", "2025", "--out", locked)
    finally:
        locked.chmod(0o700)
    assert code == 1 and out == "" and "Traceback" not in err
    assert f"--out {locked}: cannot write there (Permission denied)" in err


def test_a_write_failing_midway_is_an_output_error(capsys, tmp_path, monkeypatch):
    import assesskit.report.excel

    def disk_full(ev, folder, **kwargs):
        raise OSError(28, "No space left on device", str(Path(folder) / "contributions.csv"))

    monkeypatch.setattr(assesskit.report.excel, "write_csvs", disk_full)
    code, _, err = _run(capsys, "evaluate", "--scheme", "dingxi", "--data", "dingxi",
                        "--period", "2025", "--out", tmp_path / "out")
    assert code == 1 and "Traceback" not in err
    assert f"cannot write {tmp_path / 'out' / 'contributions.csv'} (No space left" in err
    assert issubclass(OutputError, AssessKitError) and issubclass(OutputError, OSError)


# ---------------------------------------------------------------------- python -m
@pytest.mark.parametrize("module", ["assesskit.cli", "assesskit"])
def test_python_dash_m_runs_every_command(module):
    for command in ("evaluate", "report", "explain", "template", "validate"):
        result = subprocess.run([sys.executable, "-m", module, command, "--help"],
                                capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stderr
        assert "invalid choice" not in result.stderr
    result = subprocess.run([sys.executable, "-m", module, "evaluate", "--scheme", "dingxi",
                             "--data", "dingxi", "--period", "2024-13"],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 1
    assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr
    assert "--period 2024-13" in result.stderr


# ---------------------------------------------------------------------- missing dataset path
@pytest.mark.parametrize("spec", ["./no-such-folder", "no/such/folder", "mine.xlsx"])
def test_dataset_path_that_does_not_exist(capsys, spec):
    code, out, err = _run(capsys, "evaluate", "--scheme", "dingxi", "--data", spec,
                          "--period", "2025")
    assert code == 1 and out == ""
    assert f"{spec}: the path does not exist" in err
    assert "unknown dataset" not in err
    with pytest.raises(DataError, match="the path does not exist"):
        ak.datasets.load(spec)


def test_unknown_name_that_is_not_a_path_lists_the_bundled_names():
    with pytest.raises(DataError) as info:
        ak.datasets.load("sichaun-39")
    message = str(info.value)
    assert "unknown dataset 'sichaun-39'" in message and "sichuan-39" in message
    assert "give the path of a folder or an .xlsx workbook" in message


# ---------------------------------------------------------------------- encodings
def test_utf8_file_with_one_gbk_row_names_the_row(tmp_path):
    d = _copy(tmp_path)
    units = d / "units.csv"
    lines = units.read_text(encoding="utf-8").splitlines(keepends=True)
    assert lines[3].startswith("510811,昭化区")  # row 4
    units.write_bytes(b"".join(line.encode("gbk" if i == 3 else "utf-8")
                               for i, line in enumerate(lines)))
    with pytest.raises(DataError) as info:
        load_dataset(d)
    (p,) = info.value.problems
    assert (p.file, p.row) == (str(units), 4)
    assert "the file is UTF-8 but row(s) 4 are not" in p.message
    assert "row 4 read as gb18030: '510811,昭化区" in p.message  # shows what the row says
    assert "save the file again as 'CSV UTF-8'" in p.message


def test_gbk_file_with_one_utf8_row_names_the_row(tmp_path):
    d = _copy(tmp_path)
    units = d / "units.csv"
    lines = units.read_text(encoding="utf-8").splitlines(keepends=True)
    units.write_bytes(b"".join(line.encode("utf-8" if i == 6 else "gbk")
                               for i, line in enumerate(lines)))  # row 7: 剑阁县 in UTF-8
    with pytest.raises(DataError) as info:
        load_dataset(d)
    (p,) = info.value.problems
    assert p.row == 7 and "the file is GBK/GB18030 but row(s) 7 are UTF-8" in p.message


def test_plain_gbk_file_with_symbols_still_reads(tmp_path):
    # 路 is C2B7 in GBK, which is also valid UTF-8 ("·"): a GBK row must not be taken for UTF-8
    path = tmp_path / "units.csv"
    path.write_bytes("unit,name\n1,北路镇\n2,路\n3,马路\n".encode("gbk"))
    assert ak.read_table(path)["name"].tolist() == ["北路镇", "路", "马路"]
    assert ak.read_table(path).attrs["encoding"] == "gb18030"


# ---------------------------------------------------------------------- workbooks
def _workbook(path: Path, values: list[list], *, formats: dict[str, str] | None = None) -> Path:
    """A dataset workbook: two counties, one indicator 'rate' (%), the given values rows."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    sheets = {
        "units": [["unit", "name", "level"], ["510802", "利州区", "county"],
                  ["510811", "昭化区", "county"]],
        "indicators": [["indicator", "unit_of_measure", "direction"], ["rate", "%", "higher"]],
        "values": [["unit", "period", "indicator", "value"], *values],
    }
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    for cell, number_format in (formats or {}).items():
        book["values"][cell].number_format = number_format
    book.save(path)
    return path


def test_percent_formatted_cell_reads_like_the_percent_text_of_a_csv(tmp_path):
    # The sheet shows 7.5% and 12%; the cells hold 0.075 and 0.12. A CSV says "7.5%", "12%".
    book = _workbook(tmp_path / "book.xlsx",
                     [["510802", 2024, "rate", 0.075], ["510811", 2024, "rate", 0.12]],
                     formats={"D2": "0.0%", "D3": "0%"})
    from_book = load_dataset(book).wide(2024)["rate"]
    d = tmp_path / "csv"
    d.mkdir()
    for table in ("units", "indicators"):
        pd.read_excel(book, sheet_name=table, dtype=str).to_csv(d / f"{table}.csv", index=False)
    (d / "values.csv").write_text("unit,period,indicator,value\n510802,2024,rate,7.5%\n"
                                  "510811,2024,rate,12%\n", encoding="utf-8")
    from_csv = load_dataset(d).wide(2024)["rate"]
    assert from_book.tolist() == [7.5, 12.0] == from_csv.tolist()


def test_indicator_mixing_percent_and_fraction_scales_gets_a_notice(tmp_path, capsys):
    d = _copy(tmp_path)
    (d / "values.csv").write_text(
        "unit,period,indicator,value\n"
        "510802,2023,gdp_growth,14%\n"     # row 2
        "510811,2023,gdp_growth,0.12\n"    # row 3: a fraction, meant as 12%
        "510821,2023,gdp_growth,15.5%\n"   # row 4
        "510822,2023,gdp_growth,0.09\n"    # row 5: a fraction
        "510823,2023,gdp_growth,13%\n", encoding="utf-8")
    ds = load_dataset(d)
    (notice,) = [n for n in ds.notices if n.kind == "percent_scale_mixed"]
    assert notice.where == "guangyuan/values.csv"  # from the dataset's folder: no machine path
    # medians: with % 14 (13, 14, 15.5); without 0.105 (0.09, 0.12): 133 times smaller
    assert "indicator 'gdp_growth' mixes scales" in notice.message
    assert "133 times smaller" in notice.message and "rows 3, 5" in notice.message
    assert ds.wide(2023).loc["510811", "gdp_growth"] == 0.12  # kept as written, not guessed
    code, out, _ = _run(capsys, "validate", d)
    assert code == 0 and "notice: " in out and "mixes scales" in out


def test_percent_cells_of_a_workbook_beside_fractions_get_the_notice(tmp_path):
    book = _workbook(tmp_path / "book.xlsx",
                     [["510802", 2024, "rate", 0.14], ["510811", 2024, "rate", 0.12]],
                     formats={"D2": "0%"})  # D2 shows 14%, D3 is a plain 0.12
    (notice,) = load_dataset(book).notices
    assert notice.kind == "percent_scale_mixed" and "row 3" in notice.message


def test_same_scale_with_and_without_percent_sign_is_quiet():
    # the fixture writes gdp_growth as "7.5%" beside "6.8": the same scale, no notice
    assert not [n for n in load_dataset(GOOD).notices if n.kind == "percent_scale_mixed"]


def _give_cached_value(book: Path, cell: str, value: str) -> None:
    """Store a computed value for a formula cell, as Excel does when it saves (openpyxl doesn't)."""
    tmp = book.with_suffix(".tmp")
    with zipfile.ZipFile(book) as src, zipfile.ZipFile(tmp, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename.startswith("xl/worksheets/"):
                text = data.decode("utf-8")
                text, n = re.subn(rf'(<c r="{cell}"[^>]*>\s*<f>[^<]*</f>)\s*<v\s*/?>(?:</v>)?',
                                  rf"\1<v>{value}</v>", text)
                data = text.encode("utf-8") if n else data
            dst.writestr(item, data)
    tmp.replace(book)


def test_formula_without_a_saved_value_names_the_cell(tmp_path):
    book = _workbook(tmp_path / "book.xlsx",
                     [["510802", 2024, "rate", 7.5], ["510811", 2024, "rate", "=D2*2"]])
    with pytest.raises(DataError) as info:
        load_dataset(book)
    (p,) = info.value.problems
    assert (p.file, p.row, p.column) == (f"{book} (sheet values)", 3, "value")
    assert "cell D3 holds the formula '=D2*2' but no saved value" in p.message
    assert "open the workbook in Excel" in p.message and "type the values" in p.message


def test_formula_with_a_saved_value_reads_the_value(tmp_path):
    book = _workbook(tmp_path / "book.xlsx",
                     [["510802", 2024, "rate", 7.5], ["510811", 2024, "rate", "=D2*2"]])
    _give_cached_value(book, "D3", "15")
    assert load_dataset(book).wide(2024)["rate"].tolist() == [7.5, 15.0]


# ---------------------------------------------------------------------- missing-value markers
def test_missing_value_markers_are_listed(capsys):
    ds = load_dataset(GOOD)
    (notice,) = ds.notices
    assert notice.kind == "missing_markers" and notice.where == "guangyuan/values.csv"
    # values.csv: "—" on row 7, "N/A" on row 31; the empty cell of row 24 is not a marker
    assert "2 cell(s) read as missing values (not reported): 'N/A' ×1 (row 31); '—' ×1 " \
           "(row 7)" in notice.message
    code, out, err = _run(capsys, "validate", GOOD)
    assert code == 0 and err == ""
    assert "notice: guangyuan/values.csv: 2 cell(s) read as missing values" in out


def test_missing_value_markers_of_a_wide_table_name_the_rows():
    ds = load_dataset(DATA / "guangyuan_wide")
    (notice,) = ds.notices
    assert "'N/A' ×1 (row 11); '—' ×1 (row 3)" in notice.message


# ---------------------------------------------------------------------- directions
def test_indicators_without_direction_column_get_a_loud_notice(tmp_path, capsys):
    d = _copy(tmp_path)
    ind = pd.read_csv(d / "indicators.csv", dtype=str).drop(columns="direction")
    ind.to_csv(d / "indicators.csv", index=False)
    ds = load_dataset(d)
    (notice,) = [n for n in ds.notices if n.kind == "direction_assumed"]
    assert notice.where == "guangyuan/indicators.csv"
    assert ("the indicators table has no direction column for 3 indicator(s), assumed higher "
            "is better: gdp_growth, fiscal_revenue, safety_incidents") in notice.message
    assert (ds.indicators["direction"] == "higher").all()
    code, out, _ = _run(capsys, "validate", d)
    assert code == 0 and "assumed higher is better: gdp_growth" in out
    assert "3 higher is better" in out
    scheme = _scheme_file(tmp_path)
    code, out, _ = _run(capsys, "evaluate", "--scheme", scheme, "--data", d, "--period", "2024")
    # the evaluation's summary lists the data's notices with the engine's decisions
    assert code == 0 and "decision(s) taken by a documented policy" in out
    assert "  - guangyuan/indicators.csv: the indicators table has no direction column" in out


def test_a_blank_direction_cell_is_named(tmp_path):
    d = _copy(tmp_path)
    _edit(d / "indicators.csv", "万元,higher,", "万元,,")
    notices = [n for n in load_dataset(d).notices if n.kind == "direction_assumed"]
    assert len(notices) == 1
    assert "the direction cell is empty for 1 indicator(s), assumed higher is better: " \
           "fiscal_revenue." in notices[0].message


def test_notices_reach_the_written_summary_without_absolute_paths(tmp_path, capsys):
    d = _copy(tmp_path)
    _edit(d / "indicators.csv", "万元,higher,", "万元,,")
    out_dir = tmp_path / "results"
    code, _, _ = _run(capsys, "evaluate", "--scheme", _scheme_file(tmp_path), "--data", d,
                      "--period", "2024", "--out", out_dir)
    assert code == 0
    summary = (out_dir / "summary.txt").read_text(encoding="utf-8")
    assert "guangyuan/indicators.csv: the direction cell is empty for 1 indicator(s)" in summary
    assert str(tmp_path) not in summary


# ---------------------------------------------------------------------- validate: every problem
def test_validate_reports_group_problems_with_the_other_problems(capsys, tmp_path):
    d = _copy(tmp_path)
    _edit(d / "units.csv", "旺苍县,Wangcang,county,510800,county,", "旺苍县,Wangcang,county,510800,,")
    _edit(d / "values.csv", "510811,2023,gdp_growth,6.8", "510811,2023,gdp_growth,6.8x")  # row 5
    code, out, err = _run(capsys, "validate", d, "--require-groups", "county")
    assert code == 1 and out == ""
    assert f"{d / 'values.csv'}, row 5, column 'value', value '6.8x': not a number" in err
    assert f"{d / 'units.csv'}, row 5, column 'group': unit '510821' of level 'county' has no " \
           "group" in err
    assert "2 problem(s)" in err


def test_a_table_missing_a_column_does_not_hide_the_other_tables_problems(tmp_path):
    d = _copy(tmp_path)
    _edit(d / "units.csv", "unit,name,name_en,level,", "unit,name,name_en,lvl,")
    _edit(d / "values.csv", "510811,2023,gdp_growth,6.8", "510811,2023,gdp_growth,6.8x")  # row 5
    _edit(d / "indicators.csv", "万元,higher", "万元,more")  # row 3
    with pytest.raises(DataError) as info:
        load_dataset(d)
    where = sorted((Path(p.file).name, p.row, p.column) for p in info.value.problems)
    assert where == [("indicators.csv", 3, "direction"), ("units.csv", None, None),
                     ("values.csv", 5, "value")]


def test_an_unreadable_table_does_not_hide_the_other_tables_problems(tmp_path):
    d = _copy(tmp_path)
    (d / "units.csv").unlink()
    _edit(d / "values.csv", "510811,2023,gdp_growth,6.8", "510811,2023,gdp_growth,6.8x")
    with pytest.raises(DataError) as info:
        load_dataset(d)
    messages = sorted((Path(p.file).name, p.row) for p in info.value.problems)
    assert messages == [("units.csv", None), ("values.csv", 5)]


def test_values_given_by_name_get_a_hint(tmp_path):
    d = _copy(tmp_path)
    _edit(d / "values.csv", "510823,2024,gdp_growth", "剑阁县,2024,gdp_growth")  # row 29
    with pytest.raises(DataError) as info:
        load_dataset(d)
    (p,) = info.value.problems
    assert p.row == 29 and "'剑阁县' is the name of unit '510823': write the id" in p.message


def test_numbers_read_from_every_form_are_unchanged():
    # the notices above must not change any value: guangyuan 2023 as read by eye
    ds = load_dataset(GOOD)
    got = ds.wide(2023).loc[["510802", "510821", "510822"], "gdp_growth"].tolist()
    assert got == [7.5, 8.1, -0.5] and np.isnan(ds.wide(2023).loc["510811", "safety_incidents"])


@pytest.mark.parametrize("command", ["audit", "grouping"])
def test_audit_and_grouping_check_out_before_computing(tmp_path, capsys, monkeypatch, command):
    """A bad --out is reported at once, as by report, not after minutes of computing."""
    import assesskit.analysis.audit
    import assesskit.analysis.grouping

    def must_not_run(*args, **kwargs):
        raise AssertionError("the analysis ran before --out was checked")

    monkeypatch.setattr(assesskit.analysis.audit, "audit", must_not_run)
    monkeypatch.setattr(assesskit.analysis.grouping, "regroup", must_not_run)
    a_file = tmp_path / "results.txt"
    a_file.write_text("x", encoding="utf-8")
    code, _, err = _run(capsys, command, "--scheme", "sichuan-39", "--data", "sichuan-39",
                        "--period", "2025", "--out", a_file)
    assert code == 1
    assert f"--out {a_file}: this is a file, not a folder" in err
