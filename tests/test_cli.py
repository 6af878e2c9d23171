"""Tests of the assesskit command line (assesskit.cli)."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from assesskit import cli
from assesskit.cli import arg, command, main

DATA = Path(__file__).parent / "data" / "io"
GOOD = DATA / "guangyuan"


def _run(capsys, *argv):
    code = main(list(map(str, argv)))
    out, err = capsys.readouterr()
    return code, out, err


# ---------------------------------------------------------------------- validate
def test_validate_good_dataset(capsys):
    code, out, err = _run(capsys, "validate", GOOD)
    assert code == 0 and err == ""
    assert "OK: dataset 'guangyuan-test'" in out
    # tests/data/io/guangyuan: 1 prefecture + 5 counties; 3 indicators; 5 x 3 x 2 = 30 values,
    # of which 3 are missing ("—", "" and "N/A")
    assert "1 prefecture, 5 county" in out
    assert "indicators: 3 (3 indicator)" in out
    assert "30 over 2 period(s) (2023 to 2024); 3 missing" in out


def test_validate_bad_dataset_lists_every_problem(capsys, tmp_path):
    d = tmp_path / "bad"
    shutil.copytree(GOOD, d)
    values = d / "values.csv"
    text = values.read_text(encoding="utf-8")
    text = text.replace("510811,2023,gdp_growth,6.8", "510811,2023,gdp_growth,6.8x")  # row 5
    text = text.replace("510823,2024,gdp_growth,6.3", "510899,2024,gdp_growth,6.3")  # row 29
    values.write_text(text, encoding="utf-8")
    code, out, err = _run(capsys, "validate", d)
    assert code == 1 and out == ""
    assert "Traceback" not in err
    assert f"{values}, row 5, column 'value', value '6.8x': not a number" in err
    assert f"{values}, row 29, column 'unit', value '510899': unknown unit id" in err


def test_validate_require_groups(capsys):
    code, out, _ = _run(capsys, "validate", GOOD, "--require-groups", "county")
    assert code == 0 and "OK" in out  # every county of the fixture has a group
    code, out, err = _run(capsys, "validate", GOOD, "--require-groups", "county",
                          "--require-groups", "prefecture")
    assert code == 1 and out == ""
    # the prefecture 510800 on row 2 of units.csv has no group
    assert f"{GOOD / 'units.csv'}, row 2, column 'group'" in err
    assert "unit '510800' of level 'prefecture' has no group" in err


def test_validate_require_groups_unknown_level(capsys):
    code, _, err = _run(capsys, "validate", GOOD, "--require-groups", "countty")
    assert code == 1
    assert "--require-groups countty: no unit has this level; levels present: county, prefecture" \
        in err


def test_validate_missing_path_and_not_a_dataset(capsys, tmp_path):
    code, out, err = _run(capsys, "validate", tmp_path / "nowhere")
    assert code == 1 and out == "" and "nowhere: not found" in err
    code, _, err = _run(capsys, "validate", tmp_path)
    assert code == 1 and "not a dataset directory" in err


def test_validate_workbook_and_wide_layout(capsys, tmp_path):
    book = tmp_path / "book.xlsx"
    with pd.ExcelWriter(book, engine="openpyxl") as writer:
        for table in ("units", "indicators", "values"):
            pd.read_csv(GOOD / f"{table}.csv", dtype=str, keep_default_na=False).to_excel(
                writer, sheet_name=table, index=False)
    code, out, _ = _run(capsys, "validate", book)
    assert code == 0 and "30 over 2 period(s)" in out

    d = tmp_path / "wide"
    d.mkdir()
    for table in ("units", "indicators"):
        shutil.copy(GOOD / f"{table}.csv", d)
    shutil.copy(DATA / "guangyuan_wide" / "values_wide.csv", d / "values.csv")
    code, _, err = _run(capsys, "validate", d)
    assert code == 1 and "missing required column(s) 'indicator', 'value'" in err
    code, out, _ = _run(capsys, "validate", d, "--values-layout", "wide")
    assert code == 0 and "30 over 2 period(s)" in out


# ---------------------------------------------------------------------- datasets
def test_datasets_lists_what_is_under_the_data_root(capsys, monkeypatch):
    monkeypatch.setenv("ASSESSKIT_DATA", str(DATA))
    code, out, err = _run(capsys, "datasets")
    assert code == 0 and err == ""
    lines = out.splitlines()
    # both fixture directories have a dataset.yaml; guangyuan has 1 prefecture and 5 counties
    assert lines[0].startswith("guangyuan  广元市县区考核测试数据")
    assert "prefecture 1, county 5" in lines[1]
    assert any(line.startswith("guangyuan_wide") for line in lines)


def test_datasets_empty_root(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("ASSESSKIT_DATA", str(tmp_path))
    code, out, err = _run(capsys, "datasets")
    assert code == 1 and out == "" and "no bundled datasets" in err


# ---------------------------------------------------------------------- parser and registry
def test_usage_errors_and_help(capsys):
    assert main([]) == 2
    assert "COMMAND" in capsys.readouterr().err
    assert main(["no-such-command"]) == 2
    capsys.readouterr()
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "datasets" in out and "validate" in out
    assert main(["validate", "--help"]) == 0
    assert "--require-groups" in capsys.readouterr().out


def test_command_registry_adds_a_subcommand(capsys, monkeypatch):
    monkeypatch.setattr(cli, "COMMANDS", dict(cli.COMMANDS))

    @command("echo-twice", help="print a word twice", arguments=[arg("word"), arg("--sep", default=" ")])
    def echo_twice(args: argparse.Namespace) -> int:
        print(args.sep.join([args.word, args.word]))
        return 3

    assert main(["echo-twice", "县", "--sep", "|"]) == 3
    assert capsys.readouterr().out == "县|县\n"
    with pytest.raises(ValueError, match="registered twice"):
        command("echo-twice", help="again")(echo_twice)


def test_module_runs_as_a_program(tmp_path):
    # end to end in a fresh interpreter: exit status and no traceback on bad data
    result = subprocess.run([sys.executable, "-m", "assesskit.cli", "validate", str(tmp_path)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 1
    assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr
