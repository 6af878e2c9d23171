"""Tests of the seeded synthetic generator (assesskit.data.synthetic) and the committed sichuan-39 data.

Expected numbers come from the raw files (census values typed in by hand from
data/raw/sichuan/sichuan_county_census_2010_2020.csv), from the data specification (counts of
units per group), from data/README.md (the documented gaps) or from arithmetic written out in
the comments; properties of the latent design (outcomes follow effort) are tested as such.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy.stats import spearmanr

from assesskit import synthetic
from assesskit.data.io import load_dataset
from assesskit.data.model import Dataset
from assesskit.errors import DataError

REPO = Path(__file__).resolve().parents[1]
COMMITTED = REPO / "data" / "sichuan-39"
RAW = REPO / "data" / "raw" / "sichuan"
FILES = ("dataset.yaml", "units.csv", "indicators.csv", "values.csv")
YEARS = [str(y) for y in range(2019, 2026)]
QINBA, PLATEAU, LIANGSHAN = "秦巴山区", "川西北高原地区", "大小凉山彝区"
COUNTY_TASKS = [
    "gdp_per_capita", "fiscal_self_sufficiency", "urban_income", "rural_income",
    "lifted_income_growth", "urbanization_rate", "sewage_garbage_rate", "sanitary_toilet_rate",
    "new_enterprise_share", "water_source_quality",
]
OUTCOMES = ["outcome_rural_income_growth_3y", "outcome_gdp_pc_growth_3y"]


@pytest.fixture(scope="module")
def ds() -> Dataset:
    return load_dataset(COMMITTED)


@pytest.fixture(scope="module")
def counties(ds: Dataset) -> pd.DataFrame:
    c = ds.level_units("county").set_index("unit")
    for col in ("latent_baseline", "latent_effort", "census_urbanization_rate_2020"):
        c[col] = pd.to_numeric(c[col])
    return c


def series(ds: Dataset, indicator: str) -> pd.DataFrame:
    """units × years table of one indicator."""
    v = ds.values[ds.values["indicator"] == indicator]
    return v.pivot(index="unit", columns="period", values="value")


# ---------------------------------------------------------------------- structure
def test_units_counts_groups_and_subgroups(ds):
    units = ds.units
    assert units["level"].value_counts().to_dict() == {
        "county": 39, "prefecture": 8, "provincial_unit": 24}
    c = units[units["level"] == "county"]
    # 秦巴山区 10 / 川西北高原地区 18 / 大小凉山彝区 11 (the scheme; data/raw/sichuan list)
    assert c["group"].value_counts().to_dict() == {QINBA: 10, PLATEAU: 18, LIANGSHAN: 11}
    plateau = c[c["group"] == PLATEAU]
    assert plateau["subgroup"].value_counts().to_dict() == {"阿坝州": 6, "甘孜州": 12}
    assert (c.loc[c["group"] != PLATEAU, "subgroup"] == "").all()
    assert list(units.loc[units["level"] == "provincial_unit", "unit"]) == [
        f"P{i:02d}" for i in range(1, 25)]
    assert units.loc[units["level"] == "provincial_unit", "note"].str.contains(
        "illustrative").all()
    prefectures = set(units.loc[units["level"] == "prefecture", "name"])
    assert prefectures == {"达州市", "南充市", "广元市", "巴中市", "阿坝藏族羌族自治州",
                           "甘孜藏族自治州", "乐山市", "凉山彝族自治州"}


def test_county_parents_exist_and_follow_the_adcode(ds):
    units = ds.units.set_index("unit")
    c = units[units["level"] == "county"]
    assert c["parent"].isin(units.index).all()
    assert (units.loc[c["parent"], "level"] == "prefecture").all()
    # parent = first four digits of the adcode + "00", e.g. 510822 青川县 -> 510800 广元市
    assert (c["parent"] == c.index.str[:4] + "00").all()
    assert units.loc["510822", "parent"] == "510800"
    assert units.loc["510800", "name"] == "广元市"
    assert ds.problems() == []


def test_periods_and_indicator_roles(ds):
    assert ds.periods == YEARS
    ind = ds.indicators.set_index("indicator")
    assert len(ind) == 23
    assert list(ind.index[ind["role"] == "outcome"]) == OUTCOMES
    assert set(COUNTY_TASKS) <= set(ind.index[ind["role"] == "indicator"])
    # one value row per unit, year and applicable indicator:
    # 39 × 7 × (10 + 3 + 2) + 8 × 7 × 4 + 24 × 7 × 4 = 4095 + 224 + 672 = 4991
    assert len(ds.values) == 4991


def test_seed_is_recorded_in_yaml_and_sources():
    meta = yaml.safe_load((COMMITTED / "dataset.yaml").read_text(encoding="utf-8"))
    assert meta["seed"] == 20240423
    assert meta["name"] == "sichuan-39"
    assert "20240423" in meta["provenance"] and "SYNTHETIC" in meta["provenance"]
    sources = pd.read_csv(COMMITTED / "indicators.csv", dtype=str)["source"]
    assert sources.str.contains("synthetic (assesskit.data.synthetic, seed 20240423)",
                                regex=False).all()


def test_missing_values_are_exactly_those_documented_in_the_readme(ds):
    text = (REPO / "data" / "README.md").read_text(encoding="utf-8")
    section = text.split("### Documented missing values", 1)[1].split("###", 1)[0]
    documented = set(re.findall(r"^\| (\d{6}) \| [^|]+ \| (\d{4}) \| `(\w+)` \|$", section,
                                flags=re.MULTILINE))
    assert documented == {("513230", "2023", "water_source_quality"),
                          ("513436", "2023", "water_source_quality"),
                          ("511922", "2025", "new_enterprise_share")}
    missing = ds.values[ds.values["value"].isna()]
    assert set(zip(missing["unit"], missing["period"], missing["indicator"], strict=True)) == \
        documented
    assert len(missing) == 3  # the rows are kept with an empty value, not dropped
    assert set(synthetic.SICHUAN_MISSING) == documented
    # the empty cells are really empty in the file
    raw = (COMMITTED / "values.csv").read_text(encoding="utf-8")
    assert "513230,2023,water_source_quality,\n" in raw


# ---------------------------------------------------------------------- determinism
def test_regenerating_gives_byte_identical_files(tmp_path):
    synthetic.write_sichuan(tmp_path)
    for name in FILES:
        assert (tmp_path / name).read_bytes() == (COMMITTED / name).read_bytes(), name


def test_files_are_utf8_with_unix_line_endings():
    for name in FILES:
        data = (COMMITTED / name).read_bytes()
        assert b"\r" not in data and not data.startswith(b"\xef\xbb\xbf")
        data.decode("utf-8")


def test_same_seed_same_panel_different_seed_different_values():
    a, b = synthetic.sichuan_panel(seed=5), synthetic.sichuan_panel(seed=5)
    pd.testing.assert_frame_equal(a.values, b.values)
    pd.testing.assert_frame_equal(a.units, b.units)
    c = synthetic.sichuan_panel(seed=6)
    pd.testing.assert_frame_equal(a.units[["unit", "group"]], c.units[["unit", "group"]])
    assert not np.allclose(a.values["value"], c.values["value"], equal_nan=True)
    assert "seed 6" in c.indicators["source"].iloc[0]


def test_in_memory_panel_equals_committed_files(ds):
    mem = synthetic.sichuan_panel()
    pd.testing.assert_frame_equal(mem.units, ds.units)
    pd.testing.assert_frame_equal(mem.indicators, ds.indicators)
    pd.testing.assert_frame_equal(mem.values, ds.values)
    assert mem.name == ds.name == "sichuan-39"
    assert mem.provenance.strip() == ds.provenance.strip()


def test_command_line_writes_the_panel(tmp_path, capsys):
    assert synthetic.main(["--out", str(tmp_path / "s"), "--seed", "20240423"]) == 0
    assert "seed 20240423" in capsys.readouterr().out
    assert (tmp_path / "s" / "values.csv").read_bytes() == (COMMITTED / "values.csv").read_bytes()


def test_missing_raw_files_are_named(tmp_path):
    with pytest.raises(DataError) as err:
        synthetic.sichuan_panel(raw_dir=tmp_path)
    message = str(err.value)
    assert "sichuan_39_counties.csv" in message
    assert "sichuan_county_census_2010_2020.csv" in message


# ---------------------------------------------------------------------- anchors on real data
def test_urbanisation_anchored_on_the_census(ds):
    urb = series(ds, "urbanization_rate")
    # 青川县 510822 in the census CSV: urbanization_rate_2010 = 18.82, _2020 = 35.32
    assert urb.loc["510822", "2020"] == pytest.approx(35.32, abs=1e-9)
    # 2019 interpolated at the census pace: 35.32 - (35.32 - 18.82) / 10 = 33.67
    assert urb.loc["510822", "2019"] == pytest.approx(33.67, abs=0.006)
    # 美姑县 513436: census 2020 = 5.12 (it fell from 5.85 in 2010)
    assert urb.loc["513436", "2020"] == pytest.approx(5.12, abs=1e-9)
    # 恩阳区 511903 has no 2010 figure: pace = mean of the other 9 Qinba counties'
    # (u2020 - u2010)/10 = (1.650 + 1.463 + 1.010 + 1.960 - 0.120 + 1.053 + 2.016 + 1.887
    # + 1.537) / 9 = 12.456 / 9 = 1.384; 2019 = 37.39 - 1.384 = 36.006
    assert urb.loc["511903", "2020"] == pytest.approx(37.39, abs=1e-9)
    assert urb.loc["511903", "2019"] == pytest.approx(36.01, abs=0.006)
    # every county: 2020 value = census value in the units table
    census = pd.to_numeric(ds.units.set_index("unit")["census_urbanization_rate_2020"])
    assert np.allclose(urb["2020"], census.loc[urb.index], atol=1e-9)
    # after 2020 urbanisation only rises (increments >= 0.05 points a year)
    assert (urb.loc[:, "2021":].diff(axis=1).iloc[:, 1:] > 0).all().all()
    assert (urb["2021"] > urb["2020"]).all()


def test_sanitary_toilet_anchored_below_census_toilet_share(ds):
    toilet = series(ds, "sanitary_toilet_rate")
    # 石渠县 513332: census toilet_share_2020 = 34.36; ratio in [0.60, 0.97]
    # -> 2020 value in [0.60 × 34.36, 0.97 × 34.36] = [20.616, 33.329]
    assert 20.61 <= toilet.loc["513332", "2020"] <= 33.33
    share = pd.to_numeric(ds.units.set_index("unit")["census_toilet_share_2020"])
    share = share.loc[toilet.index]
    ratio = toilet["2020"] / share
    assert ratio.between(0.60 - 1e-3, 0.97 + 1e-3).all()
    assert spearmanr(toilet["2020"], share)[0] > 0.8


# ---------------------------------------------------------------------- realism
@pytest.mark.parametrize(("indicator", "low", "high"), [
    ("gdp_per_capita", 15_000, 80_000),
    ("urban_income", 26_000, 52_000),
    ("rural_income", 10_000, 30_000),
    ("fiscal_self_sufficiency", 3, 45),
    ("lifted_income_growth", 3, 20),
    ("new_enterprise_share", 2, 40),
    ("resp_primary", 60, 100),
    ("pref_projects", 60, 100),
    ("prov_six_lists", 70, 100),
    ("prov_liaison", 60, 100),
])
def test_values_in_plausible_ranges(ds, indicator, low, high):
    v = ds.values.loc[ds.values["indicator"] == indicator, "value"].dropna()
    assert len(v) > 0
    assert v.min() >= low and v.max() <= high, (v.min(), v.max())


def test_percentages_are_within_0_and_100(ds):
    ind = ds.indicators.set_index("indicator")
    pct = ind.index[(ind["unit_of_measure"] == "%") & (ind["role"] == "indicator")]
    rates = [c for c in pct if c not in ("lifted_income_growth",)]
    v = ds.values[ds.values["indicator"].isin(rates)]["value"].dropna()
    assert v.between(0, 100).all()
    ratings = ds.values[ds.values["indicator"].isin(ind.index[ind["unit_of_measure"] == "points"])]
    assert ratings["value"].between(0, 100).all()


def test_rural_income_below_urban_income_and_incomes_grow(ds):
    rural, urban = series(ds, "rural_income"), series(ds, "urban_income")
    assert (rural < urban).all().all()
    assert (rural.diff(axis=1).iloc[:, 1:] > 0).all().all()
    assert (urban.diff(axis=1).iloc[:, 1:] > 0).all().all()
    gdp = series(ds, "gdp_per_capita")
    assert (gdp["2025"] > gdp["2019"]).all()
    assert (gdp.median().diff().iloc[1:] > 0).all()


def test_groups_start_from_different_levels(ds, counties):
    for indicator in ("gdp_per_capita", "rural_income", "urbanization_rate"):
        start = series(ds, indicator)["2019"]
        median = start.groupby(counties.loc[start.index, "group"]).median()
        assert median[QINBA] > median[PLATEAU], indicator
        assert median[QINBA] > median[LIANGSHAN], indicator


# ---------------------------------------------------------------------- latent truth
def test_latent_baseline_follows_census_urbanisation_and_is_independent_of_effort(counties):
    b, e = counties["latent_baseline"], counties["latent_effort"]
    assert spearmanr(b, counties["census_urbanization_rate_2020"])[0] > 0.5
    assert abs(np.corrcoef(b, e)[0, 1]) < 1e-3  # orthogonalised by construction
    assert abs(b.mean()) < 1e-3 and b.std(ddof=0) == pytest.approx(1.0, abs=1e-3)


@pytest.mark.parametrize("outcome", OUTCOMES)
def test_outcomes_track_effort_more_than_baseline(ds, counties, outcome):
    table = series(ds, outcome)
    e = counties.loc[table.index, "latent_effort"]
    b = counties.loc[table.index, "latent_baseline"]
    for year in YEARS:
        with_effort = spearmanr(table[year], e)[0]
        with_baseline = spearmanr(table[year], b)[0]
        assert with_effort > 0.5, (year, with_effort)
        assert with_effort > abs(with_baseline), (year, with_effort, with_baseline)


def test_levels_track_baseline_and_ratings_track_effort(ds, counties):
    gdp = series(ds, "gdp_per_capita")["2019"]
    assert spearmanr(gdp, counties.loc[gdp.index, "latent_baseline"])[0] > 0.7
    resp = series(ds, "resp_primary")["2025"]
    assert spearmanr(resp, counties.loc[resp.index, "latent_effort"])[0] > 0.5


def test_outcome_is_three_year_growth_of_the_published_levels(ds):
    # outcome[t] = 100 × (level[t+3] / level[t] − 1), checkable from the file for t <= 2022
    for outcome, level in (("outcome_rural_income_growth_3y", "rural_income"),
                           ("outcome_gdp_pc_growth_3y", "gdp_per_capita")):
        out, lv = series(ds, outcome), series(ds, level)
        for t in range(2019, 2023):
            expected = 100.0 * (lv[str(t + 3)] / lv[str(t)] - 1.0)
            assert np.allclose(out[str(t)], expected, atol=0.0051), (outcome, t)
    # e.g. the first county's first value, by hand from values.csv
    rural = series(ds, "rural_income").loc["511781"]
    assert series(ds, "outcome_rural_income_growth_3y").loc["511781", "2019"] == pytest.approx(
        round(100 * (rural["2022"] / rural["2019"] - 1), 2), abs=1e-9)


# ---------------------------------------------------------------------- national panel
def test_national_panel_default_shape_and_structure():
    nat = synthetic.national_panel()
    assert len(nat.values) == 2850 * 60 * 10  # = 1,710,000 rows
    counties = nat.units[nat.units["level"] == "county"]
    provinces = nat.units[nat.units["level"] == "province"]
    assert len(counties) == 2850 and len(provinces) == 30
    assert counties["parent"].isin(provinces["unit"]).all()
    assert (counties["group"] == counties["parent"]).all()
    assert counties["group"].nunique() == 30
    assert set(counties["subgroup"]) <= {"平原", "丘陵", "山区", "高原"}
    assert nat.periods == [str(y) for y in range(2016, 2026)]
    assert len(nat.indicators) == 60
    assert (nat.indicators["direction"] == "lower").sum() == 12  # every fifth of 60
    assert nat.values["value"].notna().all()
    assert (nat.values["value"] > 0).all()
    pct = nat.indicators.loc[nat.indicators["unit_of_measure"] == "%", "indicator"]
    assert nat.values.loc[nat.values["indicator"].isin(pct), "value"].between(0, 100).all()


def test_national_panel_is_consistent_with_from_frames():
    small = synthetic.national_panel(n_counties=60, n_provinces=4, n_indicators=7, n_years=3,
                                     seed=1, missing_rate=0.1)
    assert small.problems() == []
    rebuilt = Dataset.from_frames(small.units, small.indicators, small.values, name="national")
    pd.testing.assert_frame_equal(rebuilt.values, small.values)
    pd.testing.assert_frame_equal(rebuilt.units, small.units)
    pd.testing.assert_frame_equal(rebuilt.indicators, small.indicators)
    share = small.values["value"].isna().mean()
    assert 0.05 < share < 0.15  # 60 × 7 × 3 = 1260 values, 10 % missing on average


def test_national_arrays_deterministic_and_latent_structure():
    a = synthetic.national_arrays(n_counties=300, n_provinces=10, n_indicators=12, n_years=5,
                                  seed=3)
    b = synthetic.national_arrays(n_counties=300, n_provinces=10, n_indicators=12, n_years=5,
                                  seed=3)
    c = synthetic.national_arrays(n_counties=300, n_provinces=10, n_indicators=12, n_years=5,
                                  seed=4)
    assert a.values.shape == (300, 5, 12)
    assert np.array_equal(a.values, b.values)
    assert not np.array_equal(a.values, c.values)
    assert np.unique(a.provinces).size == 10
    # change over the years of a "higher is better" index indicator follows effort
    k = 1  # x02: an index, higher is better
    change = np.log(a.values[:, -1, k]) - np.log(a.values[:, 0, k])
    assert spearmanr(change, a.latent_effort)[0] > 0.5


@pytest.mark.parametrize("kwargs", [
    {"n_counties": 0}, {"n_counties": 5, "n_provinces": 10}, {"missing_rate": 1.0},
    {"n_years": -1},
])
def test_national_arrays_rejects_bad_sizes(kwargs):
    with pytest.raises(ValueError):
        synthetic.national_arrays(**kwargs)
