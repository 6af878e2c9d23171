"""Tests of load_dataset and of the Dataset model's validation, through files on disk.

The good fixture is tests/data/io/guangyuan (five county-level units of Guangyuan 广元市 with
their real GB/T 2260 codes and synthetic values written in the formats real tables use); the
bad inputs are made from it in tmp_path by editing one file at a time.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from assesskit.data.io import load_dataset, read_metadata
from assesskit.data.model import Dataset, normalise_period, shift_period, sub_periods
from assesskit.errors import DataError

DATA = Path(__file__).parent / "data" / "io"
GOOD = DATA / "guangyuan"
WIDE = DATA / "guangyuan_wide"
CODES = ["510802", "510811", "510821", "510822", "510823"]

# The values of tests/data/io/guangyuan/values.csv, read by eye from the file:
# "7.5%" -> 7.5 (percentage points), "123,456" -> 123456, "38，900" (full-width comma) -> 38900,
# "１" -> 1, "－0.5" -> -0.5, " 6.0 " -> 6.0, "７．２" -> 7.2, "−1.2" (U+2212) -> -1.2,
# "—", "" and "N/A" -> missing.
EXPECTED_2023 = pd.DataFrame(
    {"gdp_growth": [7.5, 6.8, 8.1, -0.5, 6.0],
     "fiscal_revenue": [123456.0, 45678.5, 38900.0, 21004.0, 52310.0],
     "safety_incidents": [3.0, np.nan, 1.0, 0.0, 2.0]},
    index=pd.Index(CODES, name="unit"),
)
EXPECTED_2024 = pd.DataFrame(
    {"gdp_growth": [7.9, 7.2, 8.4, -1.2, 6.3],
     "fiscal_revenue": [130002.0, 47120.0, 40015.0, 20876.0, 55000.0],
     "safety_incidents": [2.0, 1.0, np.nan, 0.0, np.nan]},
    index=pd.Index(CODES, name="unit"),
)


def _copy(tmp_path: Path, src: Path = GOOD) -> Path:
    dst = tmp_path / src.name
    shutil.copytree(src, dst)
    return dst


def _edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) >= count, f"fixture text {old!r} not found in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def _problems(path, **kwargs):
    with pytest.raises(DataError) as info:
        load_dataset(path, **kwargs)
    return info.value.problems


def _check_wide(ds: Dataset) -> None:
    cols = list(EXPECTED_2023.columns)
    for period, expected in (("2023", EXPECTED_2023), ("2024", EXPECTED_2024)):
        got = ds.wide(period, units=CODES, indicators=cols)
        pd.testing.assert_frame_equal(got, expected, check_names=False)


# ---------------------------------------------------------------------- good inputs
def test_load_directory_with_dataset_yaml():
    ds = load_dataset(GOOD)
    assert ds.name == "guangyuan-test"
    assert "synthetic" in ds.provenance and "GB/T 2260" in ds.provenance
    assert ds.sources["values"] == str(GOOD / "values.csv")
    assert ds.units["name"].tolist()[:3] == ["广元市", "利州区", "昭化区"]
    assert ds.units.set_index("unit").loc["510802", "parent"] == "510800"
    assert ds.indicator_info("safety_incidents")["direction"] == "lower"
    assert ds.periods == ["2023", "2024"]
    assert len(ds.values) == 30  # every row kept, missing values included as NaN
    assert int(ds.values["value"].isna().sum()) == 3
    _check_wide(ds)


def test_load_dataset_yaml_path_and_plain_directory(tmp_path):
    assert load_dataset(GOOD / "dataset.yaml").name == "guangyuan-test"
    plain = _copy(tmp_path)
    (plain / "dataset.yaml").unlink()
    ds = load_dataset(plain)
    assert ds.name == "guangyuan" and ds.provenance == ""
    _check_wide(ds)


def test_load_wide_layout_equals_long():
    ds = load_dataset(WIDE)
    assert ds.name == "guangyuan-wide-test"
    assert len(ds.values) == 30
    _check_wide(ds)


def test_values_layout_argument_overrides(tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    for table in ("units", "indicators"):
        shutil.copy(GOOD / f"{table}.csv", d / f"{table}.csv")
    shutil.copy(WIDE / "values_wide.csv", d / "values.csv")
    problems = _problems(d)  # read as long: the columns indicator and value are missing
    assert "missing required column(s) 'indicator', 'value'" in problems[0].message
    _check_wide(load_dataset(d, values_layout="wide"))


def test_gbk_directory_round_trip(tmp_path):
    d = tmp_path / "gbk"
    d.mkdir()
    for table in ("units", "indicators", "values"):
        text = (GOOD / f"{table}.csv").read_text(encoding="utf-8")
        # GBK has "—", "－" and "７．２" but not U+2212 MINUS SIGN: write the full-width minus
        # there, as GBK-era files do (same number, -1.2)
        (d / f"{table}.csv").write_bytes(text.replace("\u2212", "－").encode("gbk"))
    ds = load_dataset(d)
    assert ds.units["name"].tolist() == ["广元市", "利州区", "昭化区", "旺苍县", "青川县", "剑阁县"]
    assert ds.indicators["name"].tolist()[0] == "地区生产总值增速"
    _check_wide(ds)


def test_xlsx_workbook_round_trip(tmp_path):
    good = load_dataset(GOOD)
    book = tmp_path / "guangyuan.xlsx"
    with pd.ExcelWriter(book, engine="openpyxl") as writer:
        pd.read_csv(GOOD / "units.csv", dtype=str).to_excel(writer, sheet_name="units", index=False)
        good.indicators.to_excel(writer, sheet_name="indicators", index=False)
        # values as typed text, exactly as in the CSV
        pd.read_csv(GOOD / "values.csv", dtype=str, keep_default_na=False).to_excel(
            writer, sheet_name="values", index=False)
    ds = load_dataset(book)
    assert ds.name == "guangyuan"
    assert ds.sources["values"] == f"{book} (sheet values)"
    pd.testing.assert_frame_equal(ds.units[["unit", "name", "level", "parent"]],
                                  good.units[["unit", "name", "level", "parent"]])
    _check_wide(ds)


def test_xlsx_numbers_stored_as_numbers(tmp_path):
    book = tmp_path / "numbers.xlsx"
    units = pd.DataFrame({"unit": [510802, 510811], "name": ["利州区", "昭化区"], "level": "county"})
    indicators = pd.DataFrame({"indicator": ["gdp_growth"]})
    values = pd.DataFrame({"unit": [510802, 510811], "period": [2024, 2024],
                           "indicator": "gdp_growth", "value": [7.9, None]})
    with pd.ExcelWriter(book, engine="openpyxl") as writer:
        for name, frame in (("units", units), ("indicators", indicators), ("values", values)):
            frame.to_excel(writer, sheet_name=name, index=False)
    ds = load_dataset(book)
    # numeric ids are read as the text "510802", years as "2024"; the empty cell is missing
    assert ds.wide(2024).loc["510802", "gdp_growth"] == 7.9
    assert np.isnan(ds.wide(2024).loc["510811", "gdp_growth"])


# ---------------------------------------------------------------------- bad inputs
def test_duplicate_value_rows(tmp_path):
    d = _copy(tmp_path)
    with (d / "values.csv").open("a", encoding="utf-8") as fh:
        fh.write("510802,2023,gdp_growth,7.6\n")  # file row 32 repeats row 2's key
    (p,) = _problems(d)
    assert (p.file, p.row) == (str(d / "values.csv"), 32)
    assert "duplicate row for unit '510802', period '2023', indicator 'gdp_growth'" in p.message


def test_unknown_unit_and_indicator_codes(tmp_path):
    d = _copy(tmp_path)
    _edit(d / "values.csv", "510823,2024,gdp_growth", "510899,2024,gdp_growth")  # row 29
    _edit(d / "values.csv", "510822,2024,safety_incidents", "510822,2024,safety")  # row 28
    problems = _problems(d)
    where = {(p.row, p.column, p.value) for p in problems}
    assert where == {(29, "unit", "510899"), (28, "indicator", "safety")}
    assert all(p.file == str(d / "values.csv") for p in problems)
    assert any("unknown unit id" in p.message for p in problems)
    assert any("unknown indicator code" in p.message for p in problems)


def test_unit_without_group_when_scheme_groups_units(tmp_path):
    d = _copy(tmp_path)
    _edit(d / "units.csv", "旺苍县,Wangcang,county,510800,county,", "旺苍县,Wangcang,county,510800,,")
    ds = load_dataset(d)  # valid on its own: groups are only needed by a grouped ranking
    with pytest.raises(DataError) as info:
        ds.validate(require_groups=["county"])
    (p,) = info.value.problems
    assert (p.file, p.row, p.column) == (str(d / "units.csv"), 5, "group")  # 4th data row
    assert "'510821'" in p.message and "has no group" in p.message


def test_parent_that_does_not_exist(tmp_path):
    d = _copy(tmp_path)
    _edit(d / "units.csv", "青川县,Qingchuan,county,510800", "青川县,Qingchuan,county,510900")
    (p,) = _problems(d)
    assert (p.file, p.row, p.column, p.value) == (str(d / "units.csv"), 6, "parent", "510900")
    assert "parent unit does not exist" in p.message


def test_cycle_in_parent_links(tmp_path):
    d = _copy(tmp_path)
    # 510800 -> 510802 -> 510800: the prefecture is made a child of its own district
    _edit(d / "units.csv", "510800,广元市,Guangyuan,prefecture,,", "510800,广元市,Guangyuan,prefecture,510802,")
    (p,) = _problems(d)
    assert p.file == str(d / "units.csv") and p.column == "parent"
    assert "cycle" in p.message and "510800" in p.message and "510802" in p.message
    assert p.row in (2, 3)  # the row of a unit on the cycle


def test_self_parent_is_a_cycle(tmp_path):
    d = _copy(tmp_path)
    _edit(d / "units.csv", "剑阁县,Jiange,county,510800", "剑阁县,Jiange,county,510823")
    (p,) = _problems(d)
    assert (p.row, p.column) == (7, "parent") and "510823 -> 510823" in p.message


@pytest.mark.parametrize("table", ["units", "indicators", "values"])
def test_empty_file(tmp_path, table):
    d = _copy(tmp_path)
    (d / f"{table}.csv").write_text("", encoding="utf-8")
    (p,) = _problems(d)
    assert p.file == str(d / f"{table}.csv") and "empty" in p.message


def test_header_only_file(tmp_path):
    d = _copy(tmp_path)
    (d / "values.csv").write_text("unit,period,indicator,value\n", encoding="utf-8")
    (p,) = _problems(d)
    assert p.file == str(d / "values.csv") and "has no rows" in p.message


@pytest.mark.parametrize(
    ("table", "header", "missing"),
    [("units", "unit,name,name_en,level,", "'level'"),
     ("indicators", "indicator,", "'indicator'"),
     ("values", "unit,period,indicator,value", "'value'")],
)
def test_missing_required_column(tmp_path, table, header, missing):
    d = _copy(tmp_path)
    renamed = {"units": "unit,name,name_en,lvl,", "indicators": "code,",
               "values": "unit,period,indicator,amount"}[table]
    _edit(d / f"{table}.csv", header, renamed)
    (p,) = _problems(d)
    assert p.file == str(d / f"{table}.csv")
    assert f"missing required column(s) {missing}" in p.message
    assert "found:" in p.message  # lists the columns that are there


def test_every_non_numeric_value_is_listed(tmp_path):
    d = _copy(tmp_path)
    _edit(d / "values.csv", "510811,2023,gdp_growth,6.8", "510811,2023,gdp_growth,6.8分")  # row 5
    _edit(d / "values.csv", "510822,2023,safety_incidents,0", "510822,2023,safety_incidents,无")  # row 13
    _edit(d / "values.csv", "510823,2024,fiscal_revenue,\"55,000\"",
          "510823,2024,fiscal_revenue,\"55,0\"")  # row 30
    problems = _problems(d)
    assert [(p.row, p.column, p.value) for p in problems] == [
        (5, "value", "6.8分"), (13, "value", "无"), (30, "value", "55,0")]
    assert all(p.file == str(d / "values.csv") and "not a number" in p.message for p in problems)


def test_bad_period_is_named(tmp_path):
    d = _copy(tmp_path)
    _edit(d / "values.csv", "510802,2024,gdp_growth", "510802,2024年度,gdp_growth")  # row 17
    (p,) = _problems(d)
    assert (p.row, p.column, p.value) == (17, "period", "2024年度")
    assert "not a year (2024), a quarter (2024Q1) or a month (2024-03)" in p.message


def test_problems_in_all_three_files_reported_at_once(tmp_path):
    d = _copy(tmp_path)
    _edit(d / "units.csv", "旺苍县,Wangcang,county", "旺苍县,Wangcang,town_ship")  # row 5
    _edit(d / "indicators.csv", "万元,higher", "万元,more")  # row 3
    _edit(d / "values.csv", "510802,2023,safety_incidents,3", "510802,2023,safety_incidents,three")
    _edit(d / "values.csv", "510811,2024,safety_incidents", "510811,2024,incidents")  # row 22
    problems = _problems(d)
    where = sorted((Path(p.file).name, p.row, p.column) for p in problems)
    assert where == [("indicators.csv", 3, "direction"), ("units.csv", 5, "level"),
                     ("values.csv", 4, "value"), ("values.csv", 22, "indicator")]


def test_read_errors_in_several_files_reported_at_once(tmp_path):
    d = _copy(tmp_path)
    (d / "units.csv").unlink()
    (d / "values.csv").write_text("", encoding="utf-8")
    problems = _problems(d)
    assert sorted((Path(p.file).name, "not found" in p.message or "empty" in p.message)
                  for p in problems) == [("units.csv", True), ("values.csv", True)]


def test_blank_indicator_row_is_reported(tmp_path):
    d = _copy(tmp_path)
    with (d / "indicators.csv").open("a", encoding="utf-8") as fh:
        fh.write(",,,,,,,\n")  # row 5, an empty row typed into the middle of a table
        fh.write("extra,额外指标,,,higher,,,indicator\n")
    (p,) = _problems(d)
    assert (p.row, p.column) == (5, "indicator") and "indicator code is empty" in p.message


def test_workbook_missing_sheets(tmp_path):
    book = tmp_path / "book.xlsx"
    with pd.ExcelWriter(book, engine="openpyxl") as writer:
        pd.DataFrame({"unit": ["a"], "level": ["county"]}).to_excel(writer, sheet_name="units",
                                                                     index=False)
        pd.DataFrame({"x": [1]}).to_excel(writer, sheet_name="Sheet2", index=False)
    problems = _problems(book)
    assert len(problems) == 2
    assert "no sheet 'indicators'" in problems[0].message
    assert "no sheet 'values'" in problems[1].message
    assert "sheets present: 'units', 'Sheet2'" in problems[1].message


def test_not_a_dataset(tmp_path):
    assert "not found" in _problems(tmp_path / "nope")[0].message
    (tmp_path / "notes.txt").write_text("x", encoding="utf-8")
    assert "expected a dataset directory" in _problems(tmp_path / "notes.txt")[0].message
    empty = tmp_path / "empty_dir"
    empty.mkdir()
    assert "not a dataset directory" in _problems(empty)[0].message


# ---------------------------------------------------------------------- wide layout errors
def test_wide_layout_errors_name_wide_rows_and_columns(tmp_path):
    w = _copy(tmp_path, WIDE)
    shutil.copytree(GOOD, tmp_path / "guangyuan")  # the ../guangyuan files it refers to
    values = w / "values_wide.csv"
    _edit(values, "unit,period,gdp_growth,fiscal_revenue,safety_incidents",
          "unit,period,gdp_growth,fiscal_revenue,safety")  # unknown code in the header
    _edit(values, "510821,2023,8.1%", "510829,2023,8.1%")  # row 4: unknown unit
    _edit(values, "510822,2024,−1.2", "510822,2024,−1.2x")  # row 10: bad cell
    _edit(values, "510823,2024,6.3", "510802,2024,6.3")  # row 11: duplicates row 7's key
    problems = _problems(w)
    assert all(p.file == str(w / "values_wide.csv") for p in problems)
    where = sorted((p.row, p.column) for p in problems)
    assert where == [(1, "safety"), (4, "unit"), (10, "gdp_growth"), (11, None)]


# ---------------------------------------------------------------------- dataset.yaml
def test_read_metadata_defaults():
    meta = read_metadata(WIDE)
    assert meta["values_layout"] == "wide"
    assert meta["files"]["units"] == "../guangyuan/units.csv"
    assert meta["title"].startswith("Guangyuan")


@pytest.mark.parametrize(
    ("text", "message", "row"),
    [("name: x\ntitle: a: b\n", "invalid YAML", 2),
     ("- a\n- b\n", "must be a mapping", None),
     ("", "the file is empty", None),
     ("name: x\nvalues_layout: tall\n", "values_layout must be 'long'", None),
     ("name: x\nfiles:\n  unit: u.csv\n", "unknown table(s) 'unit'", None),
     ("name: x\nprovenance: !!python/object/apply:os.system ['echo hi']\n", "invalid YAML", 2)],
)
def test_bad_dataset_yaml(tmp_path, text, message, row):
    d = _copy(tmp_path)
    (d / "dataset.yaml").write_text(text, encoding="utf-8")
    (p, *_) = _problems(d)
    assert message in p.message
    assert p.file == str(d / "dataset.yaml") and p.row == row


def test_a_loader_must_be_a_bundled_converter(tmp_path):
    d = _copy(tmp_path)
    for spec in ("os:getcwd", "assesskit_evil.mod:f", "assesskit.no_such_module:f",
                 "assesskit.data.io:load_dataset",  # would call itself without end
                 "assesskit.data.reference:read_hdr"):  # a real function, but not a loader
        (d / "dataset.yaml").write_text(f"name: x\nloader: {spec}\n", encoding="utf-8")
        (p,) = _problems(d)
        assert p.column == "loader" and p.value == spec
        assert "assesskit.data.reference:load_hdr_2023" in p.message
        assert p.file == str(d / "dataset.yaml")


def test_a_bundled_loader_is_called(tmp_path, monkeypatch):
    from assesskit.data import reference

    d = _copy(tmp_path)
    calls = []

    def convert(directory):
        calls.append(Path(directory))
        units = pd.DataFrame({"unit": ["CHN"], "level": ["country"]})
        return Dataset.from_frames(units, pd.DataFrame({"indicator": ["hdi"]}),
                                   pd.DataFrame({"unit": ["CHN"], "period": ["2022"],
                                                 "indicator": ["hdi"], "value": [0.788]}),
                                   name="panel")

    monkeypatch.setitem(reference.LOADERS, "load_test", convert)
    (d / "dataset.yaml").write_text("name: panel\nprovenance: converted at load time\n"
                                    "loader: assesskit.data.reference:load_test\n",
                                    encoding="utf-8")
    ds = load_dataset(d)
    assert calls == [d]
    assert ds.wide(2022).loc["CHN", "hdi"] == 0.788
    assert ds.provenance == "converted at load time"  # filled in from dataset.yaml

    monkeypatch.setitem(reference.LOADERS, "load_test", lambda directory: "not a dataset")
    assert "returned a str, not a Dataset" in _problems(d)[0].message


# ---------------------------------------------------------------------- periods and access
@pytest.mark.parametrize(
    ("raw", "canonical"),
    [(2024, "2024"), ("2024", "2024"), ("2024.0", "2024"), ("2024Q1", "2024Q1"),
     ("2024-q3", "2024Q3"), ("2024 Q4", "2024Q4"), ("2024-03", "2024-03"), ("2024/3", "2024-03"),
     ("2024年3月", "2024-03"), ("2024.12", "2024-12"), (pd.Period("2024Q2"), "2024Q2")],
)
def test_normalise_period(raw, canonical):
    assert normalise_period(raw) == canonical


@pytest.mark.parametrize("raw", ["2024-13", "24", "2024Q5", "2024年度", "", "2024-03-01"])
def test_normalise_period_rejects(raw):
    with pytest.raises(ValueError, match="is not a year"):
        normalise_period(raw)


def test_shift_and_sub_periods():
    assert shift_period("2024Q1", -1) == "2023Q4"
    assert shift_period("2024-12", 1) == "2025-01"
    assert shift_period(2024, -3) == "2021"
    assert sub_periods(2024, "Q") == ["2024Q1", "2024Q2", "2024Q3", "2024Q4"]
    months = sub_periods("2024", "M")
    assert len(months) == 12 and months[0] == "2024-01" and months[-1] == "2024-12"
    with pytest.raises(ValueError, match="frequency"):
        sub_periods(2024, "W")


def test_dataset_access_helpers():
    ds = load_dataset(GOOD)
    assert ds.level_units("county")["unit"].tolist() == CODES
    with pytest.raises(DataError, match="no unit of level 'town'"):
        ds.level_units("town")
    with pytest.raises(DataError, match="unknown indicator code 'gdp'"):
        ds.indicator_info("gdp")
    summary = ds.summary().set_index("level")
    # 5 counties x 3 indicators x 2 years = 30 values; missing: "—", "" and "N/A" = 3
    assert summary.loc["county", ["units", "indicators", "periods", "values", "missing"]].tolist() \
        == [5, 3, 2, 30, 3]


def test_latest_period_of_a_frequency():
    import assesskit as ak

    data = ak.datasets.load("jincheng")  # years and the counties' monthly progress together
    years = sorted(p for p in data.periods if len(p) == 4)
    assert data.latest_period("Y") == years[-1]
    assert data.latest_period("M") == max(p for p in data.periods if "-" in p)
    with pytest.raises(DataError, match="no period of frequency 'Q'"):
        data.latest_period("Q")
