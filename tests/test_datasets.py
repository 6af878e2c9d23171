"""Tests of the dataset registry (assesskit.datasets)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from assesskit import datasets, synthetic
from assesskit.data.model import Dataset
from assesskit.errors import DataError

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def no_env(monkeypatch):
    monkeypatch.delenv(datasets.DATA_ENV, raising=False)


def write_tiny(directory: Path, source: str, kind: str | None = None) -> Path:
    """A two-unit dataset written by hand."""
    directory.mkdir(parents=True)
    extra = f"kind: {kind}\n" if kind else ""
    (directory / "dataset.yaml").write_text(
        f"name: {directory.name}\ntitle: Tiny\nprovenance: test\n{extra}"
        "files:\n  units: units.csv\n  indicators: indicators.csv\n  values: values.csv\n",
        encoding="utf-8")
    (directory / "units.csv").write_text("unit,name,level\nA,甲,county\nB,乙,county\n",
                                         encoding="utf-8")
    (directory / "indicators.csv").write_text(f"indicator,source\nx,{source}\n",
                                              encoding="utf-8")
    (directory / "values.csv").write_text(
        "unit,period,indicator,value\nA,2024,x,1\nB,2024,x,\nA,2025,x,2\n", encoding="utf-8")
    return directory


def test_default_root_is_the_repository_data_folder(no_env):
    if (REPO / "assesskit" / "_data").is_dir():  # pragma: no cover - wheel layout
        pytest.skip("installed layout with assesskit/_data")
    assert datasets.data_root() == REPO / "data"


def test_list_finds_every_dataset_yaml(no_env):
    names = datasets.list()
    assert names == sorted(names)
    assert "sichuan-39" in names
    on_disk = sorted(p.parent.name for p in (REPO / "data").glob("*/dataset.yaml"))
    assert names == on_disk
    assert "raw" not in names  # raw/ has no dataset.yaml of its own


def test_load_returns_the_dataset(no_env):
    ds = datasets.load("sichuan-39")
    assert isinstance(ds, Dataset)
    assert ds.name == "sichuan-39"
    assert len(ds.level_units("county")) == 39
    assert ds.periods[0] == "2019" and ds.periods[-1] == "2025"


def test_unknown_name_lists_the_available_datasets(no_env):
    with pytest.raises(DataError) as err:
        datasets.load("sichuan-40")
    message = str(err.value)
    assert "sichuan-40" in message
    assert "available datasets:" in message
    for name in datasets.list():
        assert name in message


def test_describe_summarises_each_dataset(no_env):
    table = datasets.describe()
    assert list(table["name"]) == datasets.list()
    assert list(table.columns) == ["name", "title", "levels", "units", "indicators", "periods",
                                   "n_periods", "values", "missing", "data"]
    row = table.set_index("name").loc["sichuan-39"]
    # 39 counties + 8 prefectures + 24 provincial units = 71; values 4991 with 3 documented gaps
    assert row["units"] == 71
    assert row["levels"] == "county 39, prefecture 8, provincial_unit 24"
    assert row["periods"] == "2019..2025" and row["n_periods"] == 7
    assert row["values"] == 4991 and row["missing"] == 3
    assert row["data"] == "synthetic"
    assert "Sichuan" in row["title"]


def test_environment_variable_overrides_the_root(tmp_path, monkeypatch):
    write_tiny(tmp_path / "tiny", source="UNDP")
    (tmp_path / "not-a-dataset").mkdir()  # no dataset.yaml: ignored
    (tmp_path / "notes.txt").write_text("x", encoding="utf-8")
    monkeypatch.setenv(datasets.DATA_ENV, str(tmp_path))
    assert datasets.data_root() == tmp_path
    assert datasets.list() == ["tiny"]
    ds = datasets.load("tiny")
    assert ds.values["value"].isna().sum() == 1
    with pytest.raises(DataError, match="available datasets: tiny"):
        datasets.load("sichuan-39")


def test_new_dataset_directory_is_discovered_without_registration(tmp_path, monkeypatch):
    monkeypatch.setenv(datasets.DATA_ENV, str(tmp_path))
    assert datasets.list() == []
    synthetic.write_sichuan(tmp_path / "my-copy", seed=11)
    assert datasets.list() == ["my-copy"]
    assert datasets.load("my-copy").name == "sichuan-39"  # the name inside dataset.yaml


def test_missing_root_gives_empty_list_and_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv(datasets.DATA_ENV, str(tmp_path / "nowhere"))
    assert datasets.list() == []
    with pytest.raises(DataError, match="available datasets: none") as err:
        datasets.load("sichuan-39")
    assert "nowhere" in str(err.value)


def test_describe_real_synthetic_mixed(tmp_path, monkeypatch):
    write_tiny(tmp_path / "a-real", source="UNDP Human Development Report")
    write_tiny(tmp_path / "b-synthetic", source="synthetic (test; seed 1)")
    write_tiny(tmp_path / "c-declared", source="UNDP", kind="mixed")
    monkeypatch.setenv(datasets.DATA_ENV, str(tmp_path))
    table = datasets.describe().set_index("name")
    assert table["data"].to_dict() == {"a-real": "real", "b-synthetic": "synthetic",
                                       "c-declared": "mixed"}
    assert table.loc["a-real", "levels"] == "county 2"
    assert table.loc["a-real", "periods"] == "2024..2025"


def test_describe_of_an_empty_root_is_an_empty_table(tmp_path, monkeypatch):
    monkeypatch.setenv(datasets.DATA_ENV, str(tmp_path))
    table = datasets.describe()
    assert isinstance(table, pd.DataFrame) and table.empty
    assert "data" in table.columns


def test_broken_dataset_error_names_the_file(tmp_path, monkeypatch):
    shutil.copytree(REPO / "data" / "sichuan-39", tmp_path / "broken")
    values = tmp_path / "broken" / "values.csv"
    values.write_text(values.read_text(encoding="utf-8").replace(
        "511781,2019,gdp_per_capita,", "511781,2019,gdp_per_capita,abc", 1), encoding="utf-8")
    monkeypatch.setenv(datasets.DATA_ENV, str(tmp_path))
    with pytest.raises(DataError) as err:
        datasets.load("broken")
    assert "values.csv" in str(err.value)
