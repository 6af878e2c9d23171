"""Tests of assesskit.data.io: parse_numeric and read_table (CSV in UTF-8/GBK, Excel)."""

from __future__ import annotations

import numpy as np
import openpyxl
import pandas as pd
import pytest

from assesskit.data.io import parse_numeric, read_table
from assesskit.errors import DataError


# ---------------------------------------------------------------------- parse_numeric
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("85.3", 85.3),
        ("85.3%", 85.3),  # percent sign dropped, value stays in percentage points
        ("85.3 %", 85.3),
        ("１２．５％", 12.5),  # full-width digits, point and percent sign
        ("1,234", 1234.0),
        ("1，234", 1234.0),  # full-width comma (U+FF0C)
        ("12,345,678.9", 12345678.9),
        ("１２３．４", 123.4),  # full-width digits and point (U+FF0E)
        ("－5", -5.0),  # full-width hyphen-minus (U+FF0D)
        ("−5", -5.0),  # U+2212 MINUS SIGN
        ("-5", -5.0),
        ("+5", 5.0),
        ("  7  ", 7.0),
        ("\u30007\u3000", 7.0),  # ideographic (full-width) spaces around the number
        (".5", 0.5),
        ("1e3", 1000.0),
        ("0", 0.0),
    ],
)
def test_parse_numeric_reads_numbers_as_people_write_them(text, expected):
    values, problems = parse_numeric(pd.Series([text]))
    assert problems == []
    assert values.iloc[0] == pytest.approx(expected, rel=0, abs=1e-12)


@pytest.mark.parametrize(
    "marker", ["", "   ", "—", "-", "–", "——", "NA", "N/A", "n/a", "nan", "NaN", "NULL", "…", "/", None]
)
def test_parse_numeric_missing_markers_are_nan_without_problem(marker):
    values, problems = parse_numeric(pd.Series(["1", marker, "2"], dtype=object))
    assert problems == []
    assert values.iloc[0] == 1.0 and values.iloc[2] == 2.0
    assert np.isnan(values.iloc[1])


def test_parse_numeric_reports_every_bad_cell_with_file_row_column():
    cells = ["1", "abc", "2", "1,5", "3", "12.3.4", "%", "七", "5"]
    values, problems = parse_numeric(pd.Series(cells), file="values.csv", column="value")
    # Bad cells are at positions 1, 3, 5, 6, 7; row = first_row (2) + position.
    assert [(p.file, p.row, p.column, p.value) for p in problems] == [
        ("values.csv", 3, "value", "abc"),
        ("values.csv", 5, "value", "1,5"),  # decimal comma is ambiguous: reported, not guessed
        ("values.csv", 7, "value", "12.3.4"),
        ("values.csv", 8, "value", "%"),
        ("values.csv", 9, "value", "七"),
    ]
    assert all("not a number" in p.message for p in problems)
    good = values.iloc[[0, 2, 4, 8]].tolist()
    assert good == [1.0, 2.0, 3.0, 5.0]
    assert values.iloc[[1, 3, 5, 6, 7]].isna().all()


def test_parse_numeric_first_row_and_index_are_respected():
    s = pd.Series(["x", "4"], index=[10, 11])
    values, problems = parse_numeric(s, first_row=40, column="gdp")
    assert list(values.index) == [10, 11]
    assert values.loc[11] == 4.0
    assert [(p.row, p.column) for p in problems] == [(40, "gdp")]


def test_parse_numeric_flags_non_finite_numbers():
    values, problems = parse_numeric(pd.Series(["inf", "-inf", "1e400", "2"]))
    assert [p.row for p in problems] == [2, 3, 4]
    assert all("finite" in p.message for p in problems)
    # numeric input takes the fast path and is still checked
    _, numeric_problems = parse_numeric(pd.Series([1.0, np.inf]), column="v")
    assert [(p.row, p.column) for p in numeric_problems] == [(3, "v")]


def test_parse_numeric_numeric_and_mixed_object_input():
    values, problems = parse_numeric(pd.Series([1, 2, 3]))
    assert values.dtype == float and values.tolist() == [1.0, 2.0, 3.0] and problems == []
    # cells from a workbook: numbers and text in one object column
    mixed = pd.Series([85.3, "90%", None, 7, True], dtype=object)
    values, problems = parse_numeric(mixed)
    assert values.iloc[:2].tolist() == [85.3, 90.0] and values.iloc[3] == 7.0
    assert np.isnan(values.iloc[2])
    assert [(p.row, p.value) for p in problems] == [(6, True)]  # a boolean is not a number


def test_parse_numeric_large_column_finds_the_few_bad_cells():
    n = 200_000
    rng = np.random.default_rng(1)
    numbers = rng.normal(100, 20, n).round(2)
    text = pd.Series(numbers.astype(str), dtype=object)
    text.iloc[[5, 123_456]] = ["1,234.5", "85%"]
    text.iloc[[77, 199_999]] = ["bad", "12a"]
    values, problems = parse_numeric(text, file="big.csv", column="value")
    assert [p.row for p in problems] == [79, 200_001]  # positions 77 and 199999, plus 2
    assert values.iloc[5] == 1234.5 and values.iloc[123_456] == 85.0
    keep = np.ones(n, bool)
    keep[[5, 77, 123_456, 199_999]] = False
    np.testing.assert_array_equal(values.to_numpy()[keep], numbers[keep])


# ---------------------------------------------------------------------- read_table: CSV
def test_read_table_utf8_with_and_without_bom(tmp_path):
    text = "unit,name,value\n510802,利州区,7.5%\n"
    plain, bom = tmp_path / "plain.csv", tmp_path / "bom.csv"
    plain.write_text(text, encoding="utf-8")
    bom.write_text(text, encoding="utf-8-sig")
    for path in (plain, bom):
        frame = read_table(path)
        assert list(frame.columns) == ["unit", "name", "value"]  # no BOM left on "unit"
        assert frame.iloc[0].tolist() == ["510802", "利州区", "7.5%"]
        assert frame.attrs["encoding"] == "utf-8-sig"


def test_read_table_gbk_round_trip_with_chinese_names(tmp_path):
    names = ["利州区", "昭化区", "旺苍县", "青川县", "马边彝族自治县"]
    frame = pd.DataFrame({"unit": ["510802", "510811", "510821", "510822", "511133"],
                          "name": names, "group": "秦巴山区"})
    path = tmp_path / "units_gbk.csv"
    frame.to_csv(path, index=False, encoding="gbk")
    with pytest.raises(UnicodeDecodeError):  # the file really is not UTF-8
        path.read_bytes().decode("utf-8")
    back = read_table(path)
    assert back.attrs["encoding"] == "gb18030"
    pd.testing.assert_frame_equal(back, frame, check_dtype=False)


def test_read_table_gb18030_character_outside_gbk(tmp_path):
    # U+9FB6 is in GB18030 but not in GBK (added in Unicode 4.1)
    path = tmp_path / "rare.csv"
    path.write_bytes("unit,name\n1,龶山村\n".encode("gb18030"))
    assert read_table(path)["name"].tolist() == ["龶山村"]


def test_read_table_undecodable_bytes(tmp_path):
    path = tmp_path / "binary.csv"
    path.write_bytes(b"unit,name\n1,\x80\xff\n")
    with pytest.raises(DataError, match="UTF-8 or GBK") as info:
        read_table(path)
    assert info.value.problems[0].file == str(path)


def test_read_table_keeps_cells_as_text(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("unit,value,note\n007,NA,\n510822,1.50,—\n", encoding="utf-8")
    frame = read_table(path)
    # leading zeros kept, "NA" not turned into NaN, empty cell is ""
    assert frame.to_dict("list") == {"unit": ["007", "510822"], "value": ["NA", "1.50"],
                                     "note": ["", "—"]}


def test_read_table_blank_rows_keep_row_numbers(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("unit,value\na,1\n\nb,2\n\n\n", encoding="utf-8")
    frame = read_table(path)
    # file rows 2, 3 (blank), 4; trailing blank lines dropped
    assert frame["unit"].tolist() == ["a", "", "b"]


def test_read_table_header_only_gives_no_rows(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(" unit , value \n", encoding="utf-8")
    frame = read_table(path)
    assert list(frame.columns) == ["unit", "value"] and len(frame) == 0


@pytest.mark.parametrize("content", [b"", b"   \n\n", b"\xef\xbb\xbf"])
def test_read_table_empty_file(tmp_path, content):
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    with pytest.raises(DataError, match="empty") as info:
        read_table(path)
    assert str(path) in str(info.value)


def test_read_table_file_not_found(tmp_path):
    with pytest.raises(DataError, match="not found") as info:
        read_table(tmp_path / "missing.csv")
    assert "missing.csv" in str(info.value)


@pytest.mark.parametrize(("name", "hint"), [("t.txt", "unknown file type '.txt'"),
                                            ("t.xls", "old .xls format"),
                                            ("t.json", "unknown file type")])
def test_read_table_unknown_extension(tmp_path, name, hint):
    path = tmp_path / name
    path.write_text("unit\n1\n", encoding="utf-8")
    with pytest.raises(DataError, match=hint) as info:
        read_table(path)
    assert info.value.problems[0].file == str(path)


def test_read_table_directory_and_sheet_of_csv(tmp_path):
    with pytest.raises(DataError, match="is a directory"):
        read_table(tmp_path)
    path = tmp_path / "t.csv"
    path.write_text("unit\n1\n", encoding="utf-8")
    with pytest.raises(DataError, match="no sheets"):
        read_table(path, sheet="values")


def test_read_table_ragged_row_names_the_row(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("unit,period,value\na,2024,1\nb,2024,1,234\n", encoding="utf-8")
    with pytest.raises(DataError) as info:
        read_table(path)
    (problem,) = info.value.problems
    assert (problem.file, problem.row) == (str(path), 3)
    assert "4 cells but the header has 3" in problem.message
    assert "quote" in problem.message  # says how to fix an unquoted "1,234"


def test_read_table_bad_header(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("unit,value,value,,\na,1,2,x,\n", encoding="utf-8")
    with pytest.raises(DataError) as info:
        read_table(path)
    messages = [(p.row, p.column, p.message) for p in info.value.problems]
    assert len(messages) == 2  # the fifth column has neither name nor data: ignored
    assert messages[0][:2] == (1, "value") and "duplicate column name" in messages[0][2]
    assert messages[1][0] == 1 and "column 4 has data but no name" in messages[1][2]


def test_read_table_first_row_blank(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(",\nunit,value\n", encoding="utf-8")
    with pytest.raises(DataError, match="header must be on row 1"):
        read_table(path)


# ---------------------------------------------------------------------- read_table: Excel
def _workbook(path, sheets):
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


def test_read_table_xlsx_cells_become_text(tmp_path):
    path = _workbook(tmp_path / "book.xlsx", {
        "notes": [["x"], ["y"]],
        "values": [["unit", "period", "value"], [510822, 2024, 85.3], ["510823", "2024Q1", None]],
    })
    frame = read_table(path, sheet="values")
    assert frame.to_dict("list") == {"unit": ["510822", "510823"], "period": ["2024", "2024Q1"],
                                     "value": ["85.3", ""]}
    assert frame.attrs["file"] == f"{path} (sheet values)"
    # default: the first sheet
    assert read_table(path).columns.tolist() == ["x"]


def test_read_table_xlsx_missing_sheet_lists_sheets(tmp_path):
    path = _workbook(tmp_path / "book.xlsx", {"units": [["unit"], ["a"]], "数据": [["unit"]]})
    with pytest.raises(DataError) as info:
        read_table(path, sheet="values")
    message = str(info.value)
    assert "no sheet 'values'" in message and "'units', '数据'" in message
    assert "book.xlsx" in message


def test_read_table_xlsx_empty_sheet_and_damaged_file(tmp_path):
    path = _workbook(tmp_path / "book.xlsx", {"values": []})
    with pytest.raises(DataError, match="sheet 'values' is empty"):
        read_table(path)
    fake = tmp_path / "fake.xlsx"
    fake.write_text("unit,value\n", encoding="utf-8")
    with pytest.raises(DataError, match="cannot read the workbook") as info:
        read_table(fake)
    assert info.value.problems[0].file == str(fake)
