"""Tests of the synthetic Jincheng and Dingxi example panels (assesskit.data.synthetic_cities).

The expected shapes come from the data specification (unit counts and codes fixed for the
scheme files); the expected counts of value rows are worked out by hand below; the "weak unit"
and traffic-light checks recompute rankings and lags independently of the generator.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from assesskit import datasets
from assesskit.data.model import Dataset
from assesskit.data.synthetic_cities import (
    DINGXI_SEED,
    JINCHENG_SEED,
    WEAK_GAP,
    dingxi_panel,
    jincheng_panel,
    write_dingxi,
    write_jincheng,
)

DATA = Path(__file__).resolve().parents[1] / "data"
FILES = ("dataset.yaml", "units.csv", "indicators.csv", "values.csv")

JC_COUNTIES = {"140502": "城区", "140521": "沁水县", "140522": "阳城县", "140524": "陵川县",
               "140525": "泽州县", "140581": "高平市"}
JC_FIRST_LEVEL = ["jc_industry", "jc_projects", "jc_market_entities", "jc_urban", "jc_rural",
                  "jc_business_env", "jc_ecology", "jc_welfare"]
# the counties of each county-specific indicator, as the source assigns them
JC_COUNTY_SPECIFIC = {"jc_air_monitoring": {"140502"}, "jc_gas_supply": {"140525", "140524"},
                      "jc_black_odorous_water": {"140525", "140581"},
                      "jc_forest_city": {"140521"}}
JC_YEARS = ["2022", "2023", "2024", "2025"]
JD_CODES = [f"jd_{c[3:]}" for c in JC_FIRST_LEVEL]
JT_CODES = ["jt_development", "jt_primary_investment", "jt_primary_value_added", "jt_rural",
            "jt_traction"]
JS_CODES = ["js_party_building", "js_governance", "js_urban_renewal", "js_traction"]
DX_COUNTIES = {"621102": "安定区", "621121": "通渭县", "621122": "陇西县", "621123": "渭源县",
               "621124": "临洮县", "621125": "漳县", "621126": "岷县"}
DX_DEPARTMENTS = ["市发展改革委", "市财政局", "市农业农村局", "市生态环境局", "市应急管理局",
                  "市工信局", "市住建局", "市商务局"]
DX_NAMED_TASKS = ["dx_task_rural", "dx_task_projects", "dx_task_industry", "dx_task_ecology",
                  "dx_task_safety"]  # the key tasks the source names
DX_NEGATIVE = ["dx_neg_safety_accidents", "dx_neg_petitions", "dx_neg_env_violations"]


@pytest.fixture(scope="module")
def jincheng() -> Dataset:
    return jincheng_panel()


@pytest.fixture(scope="module")
def dingxi() -> Dataset:
    return dingxi_panel()


def _rows(ds: Dataset, **match: str) -> pd.DataFrame:
    v = ds.values
    for col, val in match.items():
        v = v[v[col] == val]
    return v


# ------------------------------------------------------------------ files on disk
@pytest.mark.parametrize("name, writer", [("jincheng", write_jincheng), ("dingxi", write_dingxi)])
def test_committed_files_are_byte_identical_to_a_regeneration(tmp_path, name, writer):
    writer(tmp_path / name)
    for file in FILES:
        fresh = (tmp_path / name / file).read_bytes()
        committed = (DATA / name / file).read_bytes()
        assert fresh == committed, (
            f"data/{name}/{file} differs from the generator's output; run "
            "`python -m assesskit.data.synthetic_cities` (and review the diff)")


@pytest.mark.parametrize("name", ["jincheng", "dingxi"])
def test_csv_format_is_fixed(name):
    for file in FILES:
        raw = (DATA / name / file).read_bytes()
        assert b"\r" not in raw and not raw.startswith(b"\xef\xbb\xbf")  # "\n", no BOM
        raw.decode("utf-8")
    values = pd.read_csv(DATA / name / "values.csv", dtype=str, keep_default_na=False)
    counts = values["indicator"].isin(["traction_tasks", *DX_NEGATIVE])
    assert values.loc[counts, "value"].str.fullmatch(r"\d+").all()
    assert values.loc[~counts, "value"].str.fullmatch(r"-?\d+\.\d").all()  # one decimal
    assert not values["value"].str.startswith("-0.0").any()  # no negative zero


@pytest.mark.parametrize("name, seed", [("jincheng", JINCHENG_SEED), ("dingxi", DINGXI_SEED)])
def test_seed_is_recorded_in_yaml_and_sources(name, seed):
    meta = yaml.safe_load((DATA / name / "dataset.yaml").read_text(encoding="utf-8"))
    assert meta["name"] == name and meta["seed"] == seed
    assert meta["files"] == {"units": "units.csv", "indicators": "indicators.csv",
                             "values": "values.csv"}
    assert "SYNTHETIC" in meta["provenance"] and "REAL" in meta["provenance"]
    assert f"seed={seed}" in meta["provenance"]
    ind = pd.read_csv(DATA / name / "indicators.csv", dtype=str)
    assert (ind["source"] == f"synthetic (assesskit.data.synthetic_cities, seed {seed})").all()


@pytest.mark.parametrize("panel, seed", [(jincheng_panel, JINCHENG_SEED),
                                         (dingxi_panel, DINGXI_SEED)])
def test_same_seed_same_values_other_seed_other_values(panel, seed):
    a, b, c = panel(seed), panel(seed), panel(seed + 1)
    pd.testing.assert_frame_equal(a.values, b.values)
    assert not np.array_equal(a.values["value"].to_numpy(), c.values["value"].to_numpy())
    assert str(seed + 1) in c.indicators["source"].iloc[0]


@pytest.mark.parametrize("name, panel", [("jincheng", jincheng_panel), ("dingxi", dingxi_panel)])
def test_registry_loads_the_committed_files_equal_to_the_panel(name, panel):
    loaded, fresh = datasets.load(name), panel()
    # Exact float equality: the panel rounds through the same text the CSV holds.
    pd.testing.assert_frame_equal(loaded.values, fresh.values)
    text_cols = [c for c in fresh.units.columns if c != "latent_capacity"]
    pd.testing.assert_frame_equal(loaded.units[text_cols].astype(str),
                                  fresh.units[text_cols].astype(str))
    capacity = pd.to_numeric(loaded.units["latent_capacity"].replace("", np.nan))
    np.testing.assert_array_equal(capacity.to_numpy(dtype=float),
                                  fresh.units["latent_capacity"].to_numpy())
    assert list(loaded.indicators["indicator"]) == list(fresh.indicators["indicator"])


# ------------------------------------------------------------------ Jincheng shape
def test_jincheng_units_follow_the_spec(jincheng):
    u = jincheng.units.set_index("unit")
    assert u["level"].value_counts().to_dict() == {
        "prefecture": 1, "county": 6, "town": 12, "subdistrict": 6, "department": 30}
    assert u.loc["140500", "name"] == "晋城市"
    counties = u[u["level"] == "county"]
    assert counties["name"].to_dict() == JC_COUNTIES
    assert (counties["parent"] == "140500").all() and (counties["group"] == "county").all()
    towns = u[u["level"] == "town"]
    assert list(towns.index) == [f"JT{i:02d}" for i in range(1, 13)]
    assert towns["parent"].isin(list(JC_COUNTIES)).all() and (towns["group"] == "town").all()
    assert "140502" not in set(towns["parent"])  # the urban district has sub-districts instead
    assert towns["name"].str.startswith("示例镇").all() and towns["note"].str.contains("synthetic").all()
    subs = u[u["level"] == "subdistrict"]
    assert list(subs.index) == [f"JS{i:02d}" for i in range(1, 7)]
    assert (subs["parent"] == "140502").all() and (subs["group"] == "subdistrict").all()
    depts = u[u["level"] == "department"]
    assert list(depts.index) == [f"JD{i:02d}" for i in range(1, 31)]  # the source's 30
    # the five the source names (发改、工信、住建、生态环境、农业农村) are among them
    assert {"市发展改革委", "市工信局", "市住建局", "市生态环境局", "市农业农村局"} <= set(depts["name"])
    assert depts["name"].is_unique and depts["note"].str.contains("illustrative").all()


def test_jincheng_indicators_and_periods(jincheng):
    ind = jincheng.indicators.set_index("indicator")
    expected = [*JC_FIRST_LEVEL, *JC_COUNTY_SPECIFIC, *JT_CODES, *JS_CODES, "traction_tasks",
                *JD_CODES]
    assert sorted(ind.index) == sorted(expected)
    assert (ind["role"] == "indicator").all() and (ind["direction"] == "higher").all()
    assert ind.loc["traction_tasks", "unit_of_measure"] == "count"
    assert ind.loc["jc_industry", "name"] == "现代产业“1+5”"
    # the years and, for the monthly dispatch, their months
    assert jincheng.periods == [p for y in JC_YEARS
                                for p in [y, *(f"{y}-{m:02d}" for m in range(1, 13))]]
    # Value rows, by hand: counties 6 x 4 years x 8 first-level = 192; 6 county-indicator pairs
    # of county-specific indicators x 4 years = 24, and x 48 months = 288; towns 12 x 4 x (5 +
    # traction_tasks) = 288; sub-districts 6 x 4 x (4 + 1) = 120; departments: 43 indicators
    # led (JD01 3; JD07, JD08, JD10, JD11, JD12, JD15, JD19, JD25, JD26, JD27, JD30 2; the other
    # 18 one: 3 + 22 + 18) x 4 = 172; total 1084. No missing values.
    assert len(jincheng.values) == 192 + 24 + 288 + 288 + 120 + 172 == 1084
    assert not jincheng.values["value"].isna().any()


def test_county_specific_indicators_only_for_their_county(jincheng):
    for code, counties in JC_COUNTY_SPECIFIC.items():
        rows = _rows(jincheng, indicator=code)
        assert set(rows["unit"]) == counties, code  # other counties have NO row at all
        assert rows.groupby("unit").size().tolist() == [4 + 48] * len(counties)
    for county in JC_COUNTIES:
        own = {c for c, us in JC_COUNTY_SPECIFIC.items() if county in us}
        for year in JC_YEARS:
            have = set(_rows(jincheng, unit=county, period=year)["indicator"])
            assert have == set(JC_FIRST_LEVEL) | own
    assert not {c for c, us in JC_COUNTY_SPECIFIC.items() if "140522" in us}  # 阳城县: none


def test_monthly_progress_ends_at_the_annual_value(jincheng):
    # cumulative within the year (never falls) and equal to the year's completion in December
    for code, counties in JC_COUNTY_SPECIFIC.items():
        for county in counties:
            for year in JC_YEARS:
                path = [jincheng.wide(f"{year}-{m:02d}").loc[county, code] for m in range(1, 13)]
                assert np.all(np.diff(path) >= 0), (code, county, year)
                assert path[-1] == jincheng.wide(year).loc[county, code]


def test_jincheng_value_ranges(jincheng):
    v = jincheng.values[jincheng.values["period"].isin(JC_YEARS)]
    pct = v[v["indicator"] != "traction_tasks"]["value"]
    assert pct.between(40, 150).all() and 95 < pct.median() < 105
    tasks = v[v["indicator"] == "traction_tasks"]["value"]
    assert (tasks >= 1).all() and (tasks == tasks.round()).all() and tasks.nunique() > 3


def _last_two_years_running(ds: Dataset, level: str, codes: list[str]) -> set[str]:
    """Units last on the equal-weight mean of ``codes`` in two consecutive years."""
    ids = list(ds.level_units(level)["unit"])
    last = [ds.wide(y, units=ids, indicators=codes).mean(axis=1).idxmin() for y in JC_YEARS]
    return {a for a, b in zip(last, last[1:], strict=False) if a == b}


def test_jincheng_bottom_two_years_in_a_row_happens(jincheng):
    # The Jincheng rule "bottom two years in a row -> adjust the principal" must be triggered:
    # recomputed here with plain equal weights, independently of any scheme.
    assert "140524" in _last_two_years_running(jincheng, "county", JC_FIRST_LEVEL)
    assert "JT07" in _last_two_years_running(jincheng, "town", JT_CODES)
    assert "JS04" in _last_two_years_running(jincheng, "subdistrict", JS_CODES)


def test_jincheng_weak_county_is_last_under_most_weightings(jincheng):
    # Not an artefact of equal weights: for 2000 random weight vectors (Dirichlet(1), seed 7)
    # 陵川县 140524 is still last two years in a row in at least 95 % of them.
    ids = list(JC_COUNTIES)
    x = np.stack([jincheng.wide(y, units=ids, indicators=JC_FIRST_LEVEL).to_numpy()
                  for y in JC_YEARS])
    w = np.random.default_rng(7).dirichlet(np.ones(len(JC_FIRST_LEVEL)), 2000)
    is_last = np.einsum("yui,wi->wyu", x, w).argmin(axis=2) == ids.index("140524")
    assert (is_last[:, :-1] & is_last[:, 1:]).any(axis=1).mean() >= 0.95


def test_weak_units_have_the_lowest_latent_capacity(jincheng, dingxi):
    for ds, weak in ((jincheng, ["140524", "JT07", "JS04"]), (dingxi, ["621121"])):
        u = ds.units.set_index("unit")
        for unit in weak:
            others = u[(u["level"] == u.loc[unit, "level"]) & (u.index != unit)]["latent_capacity"]
            gap = others.min() - u.loc[unit, "latent_capacity"]
            assert gap == pytest.approx(WEAK_GAP, abs=0.0015)  # 3-decimal rounding of each side


# ------------------------------------------------------------------ Dingxi
def test_dingxi_units_follow_the_spec(dingxi):
    u = dingxi.units.set_index("unit")
    assert u["level"].value_counts().to_dict() == {"prefecture": 1, "county": 7, "department": 8}
    assert u.loc["621100", "name"] == "定西市"
    counties = u[u["level"] == "county"]
    assert counties["name"].to_dict() == DX_COUNTIES
    assert (counties["parent"] == "621100").all() and (counties["group"] == "county").all()
    depts = u[u["level"] == "department"]
    assert list(depts.index) == [f"DD0{i}" for i in range(1, 9)]
    assert list(depts["name"]) == DX_DEPARTMENTS and (depts["group"] == "department").all()


def test_dingxi_indicators_and_periods(dingxi):
    ind = dingxi.indicators.set_index("indicator")
    # the source's structure: 42 economic-operation (hard), 12 Party-building, 13 key tasks
    assert ind["kind"].value_counts().to_dict() == {
        "hard": 42, "task": 13, "rating": 12, "negative": 3, "progress": 1, "department": 1}
    # names the source gives vs illustrative ones
    named = ind[ind["kind"].isin(["hard", "rating", "task"]) & (ind["named_by"] == "source")]
    assert sorted(named.index) == sorted(DX_NAMED_TASKS)
    assert set(ind.index[ind["direction"] == "lower"]) == {*DX_NEGATIVE, "dx_unemployment"}
    assert dingxi.periods == [f"{y}Q{q}" for y in (2024, 2025) for q in (1, 2, 3, 4)]
    # By hand: 7 counties x 8 quarters x (67 scored + 3 negative + 1 progress) = 3976;
    # 8 departments x 8 = 64.
    assert len(dingxi.values) == 3976 + 64 == 4040
    assert set(_rows(dingxi, indicator="dept_service")["unit"]) == {f"DD0{i}" for i in range(1, 9)}
    assert set(dingxi.values[dingxi.values["unit"].str.startswith("DD")]["indicator"]) == {
        "dept_service"}


def _by_year_quarter(ds: Dataset, code: str) -> pd.DataFrame:
    """unit, year, quarter, value for one indicator."""
    v = _rows(ds, indicator=code)
    parts = v["period"].str.extract(r"^(\d{4})Q(\d)$").astype(int)
    return pd.DataFrame({"unit": v["unit"].to_numpy(), "year": parts[0].to_numpy(),
                         "quarter": parts[1].to_numpy(), "value": v["value"].to_numpy()})


def test_negative_list_counts_are_year_to_date(dingxi):
    counts = dingxi.values[dingxi.values["indicator"].isin(DX_NEGATIVE)]["value"]
    assert (counts == counts.round()).all() and counts.min() == 0
    assert (counts > 0).any() and counts.max() <= 2  # "mostly 0, a few 1-2"
    assert (counts == 0).mean() >= 0.8
    for code in DX_NEGATIVE:
        t = _by_year_quarter(dingxi, code).sort_values(["unit", "year", "quarter"])
        step = t.groupby(["unit", "year"])["value"].diff().dropna()
        assert (step >= 0).all(), code  # cumulative within a year (resets in January)


def test_project_progress_lags_the_schedule_in_yellow_and_red(dingxi):
    t = _by_year_quarter(dingxi, "dx_progress_projects").sort_values(["unit", "year", "quarter"])
    assert (t.groupby(["unit", "year"])["value"].diff().dropna() >= 0).all()  # cumulative
    schedule = 25.0 * t["quarter"]  # 25 / 50 / 75 / 100 % at Q1..Q4
    lag = schedule - t["value"]
    # Absolute rule: on schedule (lag <= 0), yellow (0 < lag <= 10 points), red (lag > 10).
    assert (lag <= 0).sum() > 0 and ((lag > 0) & (lag <= 10)).sum() > 0 and (lag > 10).sum() > 0
    # Relative rule: yellow below schedule, red below 80 % of the schedule.
    ratio = t["value"] / schedule
    assert ((ratio < 1) & (ratio >= 0.8)).sum() > 0 and (ratio < 0.8).sum() > 0
    # The weak county lags in every Q4.
    q4 = t[(t["quarter"] == 4) & (t["unit"] == "621121")]
    assert (q4["value"] < 100).all()


def test_growth_rates_are_year_to_date_means(dingxi):
    # A year-to-date mean varies less across units at Q4 than at Q1 (it averages 4 quarters):
    # the cross-county spread of GDP growth shrinks from Q1 to Q4 in both years.
    for year in ("2024", "2025"):
        q1 = dingxi.wide(f"{year}Q1", units=list(DX_COUNTIES))["dx_gdp_growth"]
        q4 = dingxi.wide(f"{year}Q4", units=list(DX_COUNTIES))["dx_gdp_growth"]
        assert q4.std() < q1.std()


def test_dingxi_weak_county_is_bottom_on_key_tasks(dingxi):
    tasks = ["dx_task_rural", "dx_task_projects", "dx_task_ecology", "dx_task_safety"]
    last = [dingxi.wide(p, units=list(DX_COUNTIES), indicators=tasks).mean(axis=1).idxmin()
            for p in dingxi.periods]
    assert last.count("621121") >= 6  # of 8 quarters


def test_dingxi_value_ranges(dingxi):
    v = dingxi.values
    for code, lo, hi in (("dx_gdp_growth", -5, 15), ("dx_rural_income_growth", 3, 12),
                         ("dx_pb_political", 60, 100), ("dept_service", 60, 100)):
        assert v[v["indicator"] == code]["value"].between(lo, hi).all(), code
    progress = v[v["indicator"] == "dx_progress_projects"]["value"]
    assert progress.between(0, 130).all()


def test_provenance_says_what_is_synthetic(jincheng, dingxi):
    for ds in (jincheng, dingxi):
        assert re.search(r"SYNTHETIC: every value", ds.provenance)
        assert "No value is an official statistic" in ds.provenance
