"""Bringing your own data (issue 15): Chinese headers, wide layout everywhere, one loader for
names and paths, levels of your own, the template and the ``explain`` command.

Fixtures: tests/data/io/guangyuan (long) and guangyuan_wide (the same values, wide), and the
template written by :func:`assesskit.data.template.write_template` (invented places, numbers
chosen by hand and listed in ``example_tables``).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

import assesskit as ak
from assesskit import cli
from assesskit.data.io import load_dataset
from assesskit.data.model import COLUMN_ALIASES, Dataset
from assesskit.data.template import COLUMNS, example_tables, write_template
from assesskit.errors import DataError, OutputError
from assesskit.report.safe import formula_safe_frame

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data" / "io"
GOOD = DATA / "guangyuan"
WIDE = DATA / "guangyuan_wide"

SCHEME = (DATA / "guangyuan-scheme.yaml").read_text(encoding="utf-8")  # three indicators

# For the template dataset: two indicators, half the points each, min–max in one pool.
TEMPLATE_SCHEME = """\
name: template-check
defaults:
  scoring: {method: minmax, within: pool, range: [0, 100]}
levels:
  county:
    tree:
      gdp_per_capita: {weight: 0.5}
      safety_accidents: {weight: 0.5}
"""


def _run(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------------- Chinese headers
ZH = {
    "units": {"unit": "单位", "name": "名称", "name_en": "英文名称", "level": "层级",
              "parent": "上级", "group": "分组", "subgroup": "子分组"},
    "indicators": {"indicator": "指标", "name": "指标名称", "name_en": "英文名称",
                   "unit_of_measure": "计量单位", "direction": "方向", "description": "说明",
                   "source": "数据来源", "role": "用途"},
    "values": {"unit": "单位", "period": "年份", "indicator": "指标", "value": "数值"},
}


def test_chinese_headers_are_aliases_of_the_english_names(tmp_path):
    d = tmp_path / "zh"
    d.mkdir()
    for table, names in ZH.items():
        frame = pd.read_csv(GOOD / f"{table}.csv", dtype=str, keep_default_na=False)
        if table == "indicators":  # directions as government tables write them
            frame["direction"] = frame["direction"].map({"higher": "正向", "lower": "逆向"})
        frame.rename(columns=names).to_csv(d / f"{table}.csv", index=False)
    zh, en = load_dataset(d), load_dataset(GOOD)
    for attr in ("units", "indicators", "values"):
        pd.testing.assert_frame_equal(getattr(zh, attr), getattr(en, attr))
    assert zh.indicator_info("safety_incidents")["direction"] == "lower"


def test_english_headers_in_other_case_and_spacing(tmp_path):
    units = pd.DataFrame({"Unit": ["a"], "Level": ["county"], "Name EN": ["A"]})
    indicators = pd.DataFrame({"Indicator": ["x"], "Unit of measure": ["%"]})
    values = pd.DataFrame({"UNIT": ["a"], "Period": ["2024"], "Indicator": ["x"],
                           "Value": ["1"]})
    ds = Dataset.from_frames(units, indicators, values)
    assert ds.units.loc[0, "name_en"] == "A" and ds.indicators.loc[0, "unit_of_measure"] == "%"


def test_two_columns_meaning_the_same_thing(tmp_path):
    units = pd.DataFrame({"unit": ["a"], "单位": ["b"], "level": ["county"]})
    with pytest.raises(DataError) as info:
        Dataset.from_frames(units, pd.DataFrame({"indicator": ["x"]}),
                            pd.DataFrame({"unit": ["a"], "period": ["2024"],
                                          "indicator": ["x"], "value": [1.0]}),
                            sources={"units": "units.csv"})
    (p,) = info.value.problems
    assert (p.file, p.row, p.column) == ("units.csv", 1, "单位")
    assert "columns 'unit' and '单位' both mean 'unit'; keep one" in p.message


def test_chinese_headers_of_a_wide_table(tmp_path):
    d = tmp_path / "w"
    shutil.copytree(WIDE, d)
    shutil.copytree(GOOD, tmp_path / "guangyuan")
    text = (d / "values_wide.csv").read_text(encoding="utf-8")
    (d / "values_wide.csv").write_text(text.replace("unit,period,", "单位,年份,", 1),
                                       encoding="utf-8")
    assert len(load_dataset(d).values) == 30


# ---------------------------------------------------------------------- wide layout everywhere
@pytest.fixture
def wide_folder(tmp_path) -> Path:
    """A plain folder (no dataset.yaml) whose values.csv is wide."""
    d = tmp_path / "wide"
    d.mkdir()
    for table in ("units", "indicators"):
        shutil.copy(GOOD / f"{table}.csv", d / f"{table}.csv")
    shutil.copy(WIDE / "values_wide.csv", d / "values.csv")
    return d


def test_wide_file_without_the_option_says_which_option(capsys, tmp_path, wide_folder):
    scheme = _write(tmp_path / "s.yaml", SCHEME)
    code, out, err = _run(capsys, "evaluate", "--scheme", scheme, "--data", wide_folder,
                          "--period", "2024")
    assert code == 1 and out == ""
    assert "missing required column(s) 'indicator', 'value'" in err
    assert "It looks like a wide table (one column per indicator: gdp_growth, fiscal_revenue, " \
           "safety_incidents)" in err
    assert "--values-layout wide" in err and "values_layout: wide" in err


def test_evaluate_report_and_explain_read_a_wide_layout(capsys, tmp_path, wide_folder):
    scheme = _write(tmp_path / "s.yaml", SCHEME)
    common = ["--scheme", scheme, "--period", "2024"]
    code, _, _ = _run(capsys, "evaluate", *common, "--data", GOOD, "--out", tmp_path / "long")
    assert code == 0
    code, out, _ = _run(capsys, "evaluate", *common, "--data", wide_folder,
                        "--values-layout", "wide", "--out", tmp_path / "wide")
    assert code == 0 and "read as missing values" in out  # the notice: "—" and "N/A"
    long_scores = pd.read_csv(tmp_path / "long" / "scores.csv")
    wide_scores = pd.read_csv(tmp_path / "wide" / "scores.csv")
    pd.testing.assert_frame_equal(wide_scores, long_scores)
    # 2024 by hand, min–max over the 5 counties: 510802 has gdp growth 7.9 in -1.2..8.4
    # -> 9.1 / 9.6 = 94.79; revenue 130002, the largest -> 100; accidents 2, the most of
    # 2, 1, 0 (two counties missing, left out) -> 0: (94.79 + 100 + 0) / 3 = 64.93
    assert long_scores.set_index("unit").loc[510802, "score"] == \
        pytest.approx((9.1 / 9.6 * 100 + 100) / 3, abs=1e-6)
    code, out, _ = _run(capsys, "explain", "510802", *common, "--data", wide_folder,
                        "--values-layout", "wide")
    assert code == 0 and "利州区 (510802, county)" in out


def test_report_passes_the_layout_to_every_page(capsys, tmp_path, wide_folder, monkeypatch):
    # the report set runs each page in its own kernel, which reads the data again: the layout
    # travels with the path as {"path": ..., "values_layout": "wide"}
    import assesskit.report.batch
    from assesskit.report.context import load_data_any, report_context

    seen = {}

    class Done:
        failed = []

        def summary(self):
            return "done"

    def fake_make_report(scheme, data, periods, out, **options):
        seen.update(options, data=data)
        return Done()

    monkeypatch.setattr(assesskit.report.batch, "make_report", fake_make_report)
    scheme = _write(tmp_path / "s.yaml", SCHEME)
    code, _, _ = _run(capsys, "report", "--scheme", scheme, "--data", wide_folder,
                      "--values-layout", "wide", "--out", tmp_path / "reports")
    assert code == 0 and seen["values_layout"] == "wide" and seen["data"] == str(wide_folder)
    spec = {"path": str(wide_folder), "values_layout": "wide"}  # what make_report gives pages
    assert len(load_data_any(spec).values) == 30
    assert report_context(str(scheme), spec).data.name == "wide"


# ---------------------------------------------------------------------- one loader
def test_datasets_load_takes_folders_workbooks_and_paths(tmp_path):
    write_template(tmp_path / "mine")
    by_text = ak.datasets.load(str(tmp_path / "mine"))
    by_path = ak.datasets.load(tmp_path / "mine")
    by_book = ak.datasets.load(str(tmp_path / "mine" / "dataset.xlsx"))
    for ds in (by_path, by_book):
        pd.testing.assert_frame_equal(ds.values, by_text.values)
    assert by_text.name == "mine" and by_book.name == "dataset"
    wide = ak.datasets.load(str(DATA / "guangyuan_wide"))
    assert len(wide.values) == 30


def test_a_folder_named_like_a_bundled_dataset_is_loaded_with_a_notice(tmp_path, monkeypatch):
    write_template(tmp_path / "dingxi")
    monkeypatch.chdir(tmp_path)
    ds = ak.datasets.load("dingxi")
    assert set(ds.units["unit"]) == {"P01", "C01", "C02", "C03", "C04"}  # the folder's
    (notice,) = ds.notices
    assert notice.kind == "path_over_name" and "loaded the folder" in notice.message


# ---------------------------------------------------------------------- levels
def _one_level_dataset(level: str, tmp_path: Path, declared: str = "") -> Path:
    d = tmp_path / "levels"
    d.mkdir(exist_ok=True)
    _write(d / "units.csv", f"unit,name,level\nV1,一村,{level}\nV2,二村,{level}\n")
    _write(d / "indicators.csv", "indicator,direction\nincome,higher\n")
    _write(d / "values.csv", "unit,period,indicator,value\nV1,2024,income,1\nV2,2024,income,2\n")
    _write(d / "dataset.yaml", f"name: levels\nprovenance: test\n{declared}")
    return d


def test_a_level_of_ones_own_is_kept_with_a_notice(tmp_path):
    ds = load_dataset(_one_level_dataset("村", tmp_path))
    assert set(ds.units["level"]) == {"村"}
    (notice,) = ds.notices
    assert notice.kind == "level_unknown" and "'村' (2 units)" in notice.message
    assert "declare them under 'levels:' in dataset.yaml" in notice.message
    # two villages: min–max between them is a comparison the scheme must allow (min_group 2)
    scheme = ak.load_scheme({"levels": {"村": {"tree": {"income": {
        "weight": 1, "scoring": {"method": "minmax", "min_group": 2}}}}}})
    assert ak.evaluate(scheme, ds, 2024).scores["score"].tolist() == [0.0, 100.0]


def test_a_declared_level_is_quiet(tmp_path):
    ds = load_dataset(_one_level_dataset("村", tmp_path, "levels:\n  村: 行政村 village\n"))
    assert ds.notices == [] and ds.declared_levels == {"村": "行政村 village"}
    ds = load_dataset(_one_level_dataset("bureau", tmp_path, "levels: [bureau]\n"))
    assert ds.notices == []


@pytest.mark.parametrize(("level", "meant"), [("County", "county"), ("conuty", "county"),
                                              ("town_ship", "town"), ("villages", "village")])
def test_a_misspelt_level_is_an_error(tmp_path, level, meant):
    with pytest.raises(DataError) as info:
        load_dataset(_one_level_dataset(level, tmp_path))
    p = info.value.problems[0]
    assert (p.row, p.column, p.value) == (2, "level", level)
    assert f"did you mean {meant!r}?" in p.message and "declare it under 'levels:'" in p.message


def test_bad_levels_key_in_dataset_yaml(tmp_path):
    with pytest.raises(DataError, match="levels must map each level"):
        load_dataset(_one_level_dataset("村", tmp_path, "levels: 3\n"))


# ---------------------------------------------------------------------- template
@pytest.mark.parametrize("headers", ["en", "zh"])
def test_template_loads_and_validates_as_written(tmp_path, headers):
    paths = write_template(tmp_path / "my-data", headers=headers)
    assert [p.name for p in paths] == ["dataset.yaml", "units.csv", "indicators.csv",
                                       "values.csv", "dataset.xlsx"]
    folder = load_dataset(tmp_path / "my-data", require_groups=["county"])
    book = load_dataset(tmp_path / "my-data" / "dataset.xlsx", require_groups=["county"])
    for ds in (folder, book):
        assert ds.notices == []  # nothing is assumed: directions given, no markers
        assert ds.periods == ["2023", "2024"] and len(ds.values) == 24
        assert ds.indicator_info("safety_accidents")["direction"] == "lower"
        # numbers of example_tables, typed by hand: C03 in 2024
        assert ds.wide(2024).loc["C03"].tolist() == [37010.0, 8.3, 4.0]
    pd.testing.assert_frame_equal(folder.values, book.values)
    assert folder.name == "my-data"


def test_template_headers_are_aliases_and_columns_are_documented():
    for table, frame in example_tables("zh").items():
        assert all(COLUMN_ALIASES[table][c] for c in frame.columns)
    guide = (ROOT / "docs" / "your-data.md").read_text(encoding="utf-8")
    for table, column, *_ in COLUMNS:
        assert f"`{column}`" in guide, f"docs/your-data.md does not describe {table}.{column}"
    # the guide's table of Chinese headers lists exactly the accepted aliases
    listed = {}
    for line in guide.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0] in COLUMN_ALIASES and cells[1].startswith("`"):
            for alias in cells[2].split(", "):
                listed[(cells[0], alias)] = cells[1].strip("`")
    assert listed == {(t, a): c for t, m in COLUMN_ALIASES.items() for a, c in m.items()}


def test_template_workbook_has_a_notes_sheet(tmp_path):
    write_template(tmp_path / "t")
    book = openpyxl.load_workbook(tmp_path / "t" / "dataset.xlsx", read_only=True)
    assert book.sheetnames == ["units", "indicators", "values", "说明"]
    rows = list(book["说明"].iter_rows(values_only=True))
    assert len([r for r in rows[1:] if r and r[1]]) == len(COLUMNS)
    book.close()


def test_template_refuses_to_overwrite(tmp_path, capsys):
    code, out, _ = _run(capsys, "template", tmp_path / "t")
    assert code == 0 and "wrote" in out and "assesskit validate" in out
    before = (tmp_path / "t" / "values.csv").read_bytes()
    code, _, err = _run(capsys, "template", tmp_path / "t")
    assert code == 1 and "already there" in err and "--force" in err
    with pytest.raises(OutputError):
        write_template(tmp_path / "t")
    code, _, _ = _run(capsys, "template", tmp_path / "t", "--force")
    assert code == 0 and (tmp_path / "t" / "values.csv").read_bytes() == before  # same bytes
    code, out, _ = _run(capsys, "validate", tmp_path / "t")
    assert code == 0 and "OK" in out and "notice" not in out


# ---------------------------------------------------------------------- explain
def test_explain_prints_and_writes_the_table(tmp_path, capsys):
    write_template(tmp_path / "data")
    scheme = _write(tmp_path / "s.yaml", TEMPLATE_SCHEME)
    code, out, err = _run(capsys, "explain", "示例二县", "--scheme", scheme, "--data",
                          tmp_path / "data", "--period", "2024", "--out", tmp_path / "out")
    assert code == 0 and err == ""
    # 2024, pooled min–max: GDP per capita C02 45930 between 31450 (C04) and 63900 (C01):
    # (45930 - 31450) / (63900 - 31450) = 14480 / 32450 = 0.446225 -> 44.62 of 100, 22.31 of
    # 50 points; accidents (lower is better) C02 1 = the fewest (1..4) -> 100, 50 points;
    # total 72.31
    assert "示例二县 (C02, county)" in out and "score 72.31" in out
    table = pd.read_csv(tmp_path / "out" / "explain_C02.csv").set_index("node")
    assert table.loc["gdp_per_capita", "points"] == pytest.approx(22.311248, abs=1e-6)
    assert table.loc["gdp_per_capita", "points_lost"] == pytest.approx(27.688752, abs=1e-6)
    assert table.loc["safety_accidents", "points"] == pytest.approx(50.0)
    assert table.loc["gdp_per_capita", "raw_value"] == 45930
    assert f"wrote {tmp_path / 'out' / 'explain_C02.csv'}" in out


def test_explain_help_shows_an_example(capsys):
    assert cli.main(["explain", "--help"]) == 0
    out = capsys.readouterr().out
    assert "Example:" in out and "assesskit explain 营山县 --scheme sichuan-39" in out


def test_explain_unknown_unit(capsys, tmp_path):
    write_template(tmp_path / "data")
    scheme = _write(tmp_path / "s.yaml", TEMPLATE_SCHEME)
    code, _, err = _run(capsys, "explain", "C99", "--scheme", scheme, "--data",
                        tmp_path / "data", "--period", "2024")
    assert code == 1 and "'C99' is not assessed" in err and "Traceback" not in err


def test_csv_cells_from_data_cannot_run_as_formulas():
    frame = pd.DataFrame({"unit": ["=HYPERLINK(\"x\")", "@SUM(1)", "C01", "-x"],
                          "points": [-1.5, 2.0, np.nan, 0.0]})
    safe = formula_safe_frame(frame)
    assert safe["unit"].tolist() == ["'=HYPERLINK(\"x\")", "'@SUM(1)", "C01", "'-x"]
    assert safe["points"].tolist()[:2] == [-1.5, 2.0]  # numbers untouched


# ---------------------------------------------------------------------- the guide
def test_data_readme_points_to_the_guide():
    readme = (ROOT / "data" / "README.md").read_text(encoding="utf-8")
    assert "docs/your-data.md" in readme and "assesskit/dataset.py" not in readme


def test_template_in_a_folder_with_a_yaml_special_name(tmp_path):
    folder = tmp_path / "my data: #2024 '县'"
    write_template(folder)
    assert load_dataset(folder).name == "my data: #2024 '县'"
