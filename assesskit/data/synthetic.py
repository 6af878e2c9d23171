"""Seeded synthetic data with a known latent truth: the Sichuan example and a national panel.

No open county-level panel of GDP, disposable income or fiscal data exists for the 39
underdeveloped counties of Sichuan's assistance-and-assessment scheme (四川省欠发达县域托底性帮扶
考核评价). This module generates one, so that every rule of the scheme can be run end to end and
every analysis ("do the scores track development or the starting point?") can be checked
against a truth that is known by construction.

What is real and what is synthetic
----------------------------------
Real (public facts, copied from ``data/raw/sichuan/``): the 39 counties, their names, 2020 census
codes (adcodes), prefectures and regional groups; the 2010 and 2020 census urbanisation rates and
the 2020 census share of households with a toilet in the dwelling (6th and 7th national
population census county tables, via the MIT-licensed repository leiii/census, (c) 2022 Lei Dong).
Synthetic (generated here, labelled ``synthetic`` in every indicator's ``source``): every value
of every indicator, every rating, every outcome, and the latent truth.

The latent model (counties)
---------------------------
For county :math:`i` and year :math:`t` (simulated 2018..2028, published 2019..2025):

* **baseline endowment** :math:`b_i` (``latent_baseline``): a regional-group offset (秦巴山区 Qinba
  +0.6, 川西北高原地区 plateau -0.1, 大小凉山彝区 Liangshan -0.5) plus 0.8 × the standardised 2020
  census urbanisation rate plus N(0, 0.5²) noise, then standardised over the 39 counties. It
  sets the starting *levels* (GDP per capita, incomes, fiscal self-sufficiency, service rates).
* **effort** :math:`e_i` (``latent_effort``): N(0, 1), made exactly uncorrelated with
  :math:`b_i` (residual of a regression on :math:`b_i`) and standardised. It drives the yearly
  *improvement* of every indicator and the responsibility ratings (落实主体责任 etc.).
* **shocks**: a fixed macro path per year that resembles the real years (2020 COVID slump,
  2021 rebound), a random common shock per year N(0, 0.5²) percentage points, idiosyncratic
  county-year noise, and rare local disasters (probability 0.04 per county-year, -4 points of
  GDP growth).

Growth of a level indicator in percent per year, e.g. rural income:
:math:`g_{it} = m_t + 1.2\\,e_i - 0.3\\,b_i + 0.5\\,s_t + \\varepsilon_{it}`, with
:math:`\\varepsilon_{it} \\sim N(0, 0.7^2)`; GDP per capita
:math:`g_{it} = m_t + 1.5\\,e_i - 0.4\\,b_i + s_t + d_{it} + \\varepsilon_{it}`. The negative
baseline coefficient is mild convergence (poorer counties grow a little faster). Rates in
[0, 100] (fiscal self-sufficiency, sewage and garbage treatment, sanitary toilets) move in
logit space by a step that grows with effort, so they stay inside their bounds. Urbanisation
equals the 2020 census rate in 2020, is interpolated with the 2010–2020 census pace for 2019 and
extrapolated after 2020 with ``0.6 × max(pace, 0) + 0.2 + 0.25 e_i`` points a year (plus noise,
kept in [0.05, 2.5]). The sanitary-toilet rate of 2020 is the census share of households with a
toilet in the dwelling times a county ratio in [0.60, 0.97]: a toilet in the dwelling is not a
*sanitary* toilet (卫生厕所), so the census share is an upper anchor, not the indicator itself.

The outcomes (role ``outcome``, never scored) are the growth of rural income and of GDP per
capita over the following three years, ``100 × (level[t+3] / level[t] − 1)``, computed from the
levels rounded to whole yuan as published; they depend on effort much more than on baseline.

Determinism
-----------
Every component draws from its own stream ``numpy.random.default_rng([seed, crc32(component)])``,
so adding a component never changes the others. Files are written with fixed decimals per unit
of measure (yuan 0, % 2, points 1, latent 4), a fixed row order, UTF-8 and ``\\n`` line endings:
regenerating with the same seed gives byte-identical files (``python -m assesskit.data.synthetic``).
"""

from __future__ import annotations

import argparse
import csv
import io as _stdio
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataError, Problem
from .model import Dataset

#: Seed of the committed ``data/sichuan-39`` panel (the date the Sichuan scheme was read).
SICHUAN_SEED = 20240423
#: Seed of :func:`national_panel` unless told otherwise.
NATIONAL_SEED = 20250101
#: Name of the Sichuan dataset in the registry.
SICHUAN_NAME = "sichuan-39"
#: Published years of the Sichuan panel.
SICHUAN_YEARS = tuple(range(2019, 2026))
# Simulated years: one before the first published year (for the first growth rate) and three
# after the last (for the 3-year outcomes).
_SIM_YEARS = np.arange(2018, 2029)

#: Decimals written for each unit of measure (and for the latent columns: 4).
DECIMALS = {"yuan": 0, "%": 2, "points": 1}
_LATENT_DECIMALS = 4

#: The documented gaps of the Sichuan panel: (unit, period, indicator) written with an empty value.
SICHUAN_MISSING: tuple[tuple[str, str, str], ...] = (
    ("513230", "2023", "water_source_quality"),  # 壤塘县 (plateau, 阿坝州)
    ("513436", "2023", "water_source_quality"),  # 美姑县 (Liangshan)
    ("511922", "2025", "new_enterprise_share"),  # 南江县 (Qinba)
)

GROUPS = {  # Chinese group name -> English region name, in the order of the county list
    "秦巴山区": "Qinba",
    "川西北高原地区": "Northwest Plateau",
    "大小凉山彝区": "Greater-Lesser Liangshan",
}
_GROUP_OFFSET = {"秦巴山区": 0.6, "川西北高原地区": -0.1, "大小凉山彝区": -0.5}
_SUBGROUP = {"阿坝藏族羌族自治州": "阿坝州", "甘孜藏族自治州": "甘孜州"}

PREFECTURES: tuple[tuple[str, str, str], ...] = (  # adcode, name, English name
    ("511700", "达州市", "Dazhou"),
    ("511300", "南充市", "Nanchong"),
    ("510800", "广元市", "Guangyuan"),
    ("511900", "巴中市", "Bazhong"),
    ("513200", "阿坝藏族羌族自治州", "Ngawa (Aba) Tibetan and Qiang Autonomous Prefecture"),
    ("513300", "甘孜藏族自治州", "Garze (Ganzi) Tibetan Autonomous Prefecture"),
    ("511100", "乐山市", "Leshan"),
    ("513400", "凉山彝族自治州", "Liangshan Yi Autonomous Prefecture"),
)

PROVINCIAL_UNITS: tuple[tuple[str, str], ...] = (  # name, English name; ids P01..P24 in order
    ("省发展改革委", "Provincial Development and Reform Commission"),
    ("省财政厅", "Provincial Department of Finance"),
    ("省交通运输厅", "Provincial Department of Transport"),
    ("省教育厅", "Provincial Department of Education"),
    ("省卫生健康委", "Provincial Health Commission"),
    ("省农业农村厅", "Provincial Department of Agriculture and Rural Affairs"),
    ("省水利厅", "Provincial Department of Water Resources"),
    ("省住房城乡建设厅", "Provincial Department of Housing and Urban-Rural Development"),
    ("省自然资源厅", "Provincial Department of Natural Resources"),
    ("省生态环境厅", "Provincial Department of Ecology and Environment"),
    ("省商务厅", "Provincial Department of Commerce"),
    ("省文化和旅游厅", "Provincial Department of Culture and Tourism"),
    ("省人力资源社会保障厅", "Provincial Department of Human Resources and Social Security"),
    ("省民政厅", "Provincial Department of Civil Affairs"),
    ("省乡村振兴局", "Provincial Rural Revitalisation Bureau"),
    ("省经济和信息化厅", "Provincial Department of Economy and Information Technology"),
    ("省科技厅", "Provincial Department of Science and Technology"),
    ("省林草局", "Provincial Forestry and Grassland Bureau"),
    ("省能源局", "Provincial Energy Bureau"),
    ("省国资委", "Provincial State-owned Assets Supervision and Administration Commission"),
    ("省地方金融监管局", "Provincial Local Financial Supervision and Administration Bureau"),
    ("省医保局", "Provincial Healthcare Security Administration"),
    ("省应急管理厅", "Provincial Department of Emergency Management"),
    ("省市场监管局", "Provincial Administration for Market Regulation"),
)
# How the list was made: the member list of the coordination mechanism is not public. The 24 are
# provincial departments whose remits cover the assistance tasks the scheme assesses (the "six
# lists" and "ten measures": development, finance, transport, education, health, agriculture,
# water, housing, land, environment, commerce, tourism, employment, civil affairs, rural
# revitalisation, industry, science, forestry, energy, state assets, finance supervision,
# health insurance, emergency management, market regulation). 省交通运输厅 is named as a member
# by the source. The scheme's co-issuers — 省委组织部 and the mechanism's office — assess the
# others and are not among the assessed units.
_PROVINCIAL_NOTE = (
    "illustrative: the member list of the coordination mechanism is not public; provincial "
    "departments whose remits cover the scheme's assistance tasks (省交通运输厅 is named as a "
    "member by the source); the co-issuers 省委组织部 and the mechanism's office assess and are "
    "not listed"
)

# code, name, English name, unit of measure, direction, level, role, description
_INDICATORS: tuple[tuple[str, str, str, str, str, str, str, str], ...] = (
    ("gdp_per_capita", "人均地区生产总值", "GDP per capita", "yuan", "higher", "county",
     "indicator", "Regional GDP divided by the resident population, current prices."),
    ("fiscal_self_sufficiency", "财政自给率", "Fiscal self-sufficiency rate", "%", "higher",
     "county", "indicator",
     "General public budget revenue as a percentage of general public budget expenditure."),
    ("urban_income", "城镇居民人均可支配收入", "Per-capita disposable income of urban residents",
     "yuan", "higher", "county", "indicator", "Annual, current prices."),
    ("rural_income", "农村居民人均可支配收入", "Per-capita disposable income of rural residents",
     "yuan", "higher", "county", "indicator", "Annual, current prices."),
    ("lifted_income_growth", "脱贫人口收入增长率",
     "Income growth of the population lifted out of poverty", "%", "higher", "county",
     "indicator", "Year-on-year growth of the per-capita income of registered lifted households."),
    ("urbanization_rate", "常住人口城镇化率", "Urbanisation rate of the resident population", "%",
     "higher", "county", "indicator",
     "Urban residents as a percentage of the resident population; anchored on the 2010 and "
     "2020 censuses (2020 value = census value)."),
    ("sewage_garbage_rate", "污水垃圾处理率", "Sewage and garbage treatment rate", "%", "higher",
     "county", "indicator", "Share of sewage and household garbage that is treated."),
    ("sanitary_toilet_rate", "农村户用卫生厕所普及率", "Rural household sanitary-toilet coverage",
     "%", "higher", "county", "indicator",
     "Share of rural households with a sanitary toilet; 2020 anchored below the 2020 census "
     "share of households with a toilet in the dwelling (not the same thing)."),
    ("new_enterprise_share", "新增企业户数占企业总数的比重",
     "Newly registered enterprises as a share of all enterprises", "%", "higher", "county",
     "indicator", "Enterprises registered in the year as a percentage of all enterprises."),
    ("water_source_quality", "集中式饮用水水源水质达标率",
     "Share of centralised drinking-water sources meeting quality standards", "%", "higher",
     "county", "indicator",
     "Sources meeting the standard as a percentage of all monitored sources (k of n)."),
    ("resp_primary", "落实主体责任", "Fulfilling the primary responsibility", "points", "higher",
     "county", "indicator", "Rating 0-100 by the assessment team (responsibility item)."),
    ("resp_partner", "加强帮扶工作对接", "Coordinating with the assistance partners", "points",
     "higher", "county", "indicator",
     "Rating 0-100 by the assessment team (responsibility item)."),
    ("resp_taskforce", "县级工作专班运行", "Running the county task force", "points", "higher",
     "county", "indicator", "Rating 0-100 by the assessment team (responsibility item)."),
    ("pref_coordination", "市级协调机制运行", "Running the prefecture coordination mechanism",
     "points", "higher", "prefecture", "indicator", "Rating 0-100 (prefecture's own item)."),
    ("pref_five_forces", "督促推进“五支帮扶力量”完成年度目标任务",
     "Pushing the five assistance forces to meet their annual targets", "points", "higher",
     "prefecture", "indicator", "Rating 0-100 (prefecture's own item)."),
    ("pref_partner_org", "牵头组织工作对接", "Organising coordination with the assistance partners",
     "points", "higher", "prefecture", "indicator", "Rating 0-100 (prefecture's own item)."),
    ("pref_projects", "组织实施市域内托底性帮扶项目",
     "Delivering in-prefecture assistance projects", "points", "higher", "prefecture",
     "indicator", "Rating 0-100 (prefecture's own item)."),
    ("prov_six_lists", "“六张清单”任务完成率", "Completion rate of the 'six lists' tasks", "%",
     "higher", "provincial_unit", "indicator",
     "Tasks completed as a percentage of the unit's tasks in the six lists."),
    ("prov_ten_measures", "“十条措施”任务完成率", "Completion rate of the 'ten measures' tasks",
     "%", "higher", "provincial_unit", "indicator",
     "Tasks completed as a percentage of the unit's tasks in the ten measures."),
    ("prov_liaison", "帮扶联系机制", "Liaison mechanism", "points", "higher", "provincial_unit",
     "indicator", "Rating 0-100 (responsibility item)."),
    ("prov_leader_visits", "主要负责同志到县指导推进工作及帮助解决困难问题",
     "Principal leaders visiting counties and helping solve problems", "points", "higher",
     "provincial_unit", "indicator", "Rating 0-100 (responsibility item)."),
    ("outcome_rural_income_growth_3y", "农村居民人均可支配收入此后三年增长率",
     "Growth of rural per-capita disposable income over the following three years", "%",
     "higher", "county", "outcome",
     "100 x (rural_income[t+3] / rural_income[t] - 1); a later development outcome for "
     "validation, never scored."),
    ("outcome_gdp_pc_growth_3y", "人均GDP此后三年增长率",
     "Growth of GDP per capita over the following three years", "%", "higher", "county",
     "outcome",
     "100 x (gdp_per_capita[t+3] / gdp_per_capita[t] - 1); a later development outcome for "
     "validation, never scored."),
)

# Macro paths (percent per year, current prices) that resemble the real years 2019..2028.
_MACRO = {
    "gdp": [7.5, 3.5, 10.0, 5.0, 6.5, 6.0, 5.5, 5.5, 5.5, 5.5],
    "rural": [9.5, 8.0, 10.0, 6.0, 7.0, 6.5, 6.0, 6.0, 6.0, 6.0],
    "urban": [8.5, 5.5, 7.5, 4.0, 4.5, 4.3, 4.2, 4.2, 4.2, 4.2],
    "new_enterprise": [0.0, -2.0, 0.5, -1.0, 0.5, 0.0, 0.0, 0.0, 0.0, 0.0],
}


def _source(seed: int, anchor: str = "") -> str:
    text = f"synthetic (assesskit.data.synthetic, seed {seed})"
    return f"{text}; {anchor}" if anchor else text


def _stream(seed: int, component: str) -> np.random.Generator:
    """An independent random stream for one component of the generator."""
    return np.random.default_rng([int(seed), zlib.crc32(component.encode("utf-8"))])


def _expit(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _logit(p: np.ndarray) -> np.ndarray:
    return np.log(p / (1.0 - p))


def _standardise(x: np.ndarray) -> np.ndarray:
    return (x - x.mean()) / x.std()


def _rounded(x: np.ndarray | float, decimals: int) -> np.ndarray:
    """Round through the decimal text that is written, so memory and file agree exactly."""
    arr = np.atleast_1d(np.asarray(x, dtype=float))
    text = _format(arr, decimals)
    return np.array([float(s) if s else np.nan for s in text])


def _format(x: np.ndarray, decimals: int) -> list[str]:
    """Fixed-decimal text of each number ('' for NaN, never '-0.00')."""
    return ["" if np.isnan(v) else f"{round(float(v), decimals) + 0.0:.{decimals}f}" for v in x]


def _raw_sichuan_dir() -> Path:
    """``<data root>/raw/sichuan``, else the bundled copy (when ASSESSKIT_DATA points elsewhere)."""
    from .datasets import data_root

    package = Path(__file__).resolve().parents[1]  # assesskit/
    candidates = [data_root(), package / "_data", package.parent / "data"]
    for root in candidates:
        if (root / "raw" / "sichuan" / "sichuan_39_counties.csv").is_file():
            return root / "raw" / "sichuan"
    return candidates[0] / "raw" / "sichuan"


def _read_sichuan_raw(raw_dir: Path | None) -> pd.DataFrame:
    """The 39 counties joined to their census figures (real data), in the county-list order."""
    raw_dir = Path(raw_dir) if raw_dir is not None else _raw_sichuan_dir()
    list_file = raw_dir / "sichuan_39_counties.csv"
    census_file = raw_dir / "sichuan_county_census_2010_2020.csv"
    missing = [str(f) for f in (list_file, census_file) if not f.is_file()]
    if missing:
        raise DataError(
            [Problem("raw file not found; copy it from the project's data/raw/sichuan/ folder or "
                     "pass raw_dir= pointing at the folder that holds it", file=f)
             for f in missing],
            title="cannot generate the Sichuan panel",
        )
    counties = pd.read_csv(list_file, dtype=str, keep_default_na=False)
    census = pd.read_csv(census_file, dtype={"adcode": str})
    merged = counties.merge(census, on="adcode", how="left", suffixes=("", "_census"),
                            validate="one_to_one")
    problems = [
        Problem("county code not found in the census table", str(census_file), i + 2, "adcode", code)
        for i, code in enumerate(merged["adcode"])
        if pd.isna(merged["urbanization_rate_2020"].iloc[i])
    ]
    problems += [
        Problem(f"unknown region group; expected one of {', '.join(GROUPS)}", str(list_file),
                i + 2, "region", g)
        for i, g in enumerate(counties["region"]) if g not in GROUPS
    ]
    if problems:
        raise DataError(problems, title="the raw Sichuan files do not match")
    return merged


@dataclass(frozen=True)
class _SichuanTables:
    """The three tables as text (exactly what is written) plus the provenance."""

    units: list[list[str]]
    indicators: list[list[str]]
    values: list[list[str]]
    provenance: str


_UNIT_HEADER = [
    "unit", "name", "name_en", "level", "parent", "group", "subgroup", "prefecture", "region_en",
    "adcode", "list_confidence", "census_population_2020", "census_urbanization_rate_2010",
    "census_urbanization_rate_2020", "census_toilet_share_2020", "latent_baseline",
    "latent_effort", "note",
]
_INDICATOR_HEADER = [
    "indicator", "name", "name_en", "unit_of_measure", "direction", "description", "source",
    "role", "level",
]


def _simulate_counties(raw: pd.DataFrame, seed: int) -> tuple[dict[str, np.ndarray], np.ndarray,
                                                              np.ndarray]:
    """Simulate every county indicator for 2018..2028 (arrays counties × years)."""
    n = len(raw)
    n_sim = len(_SIM_YEARS)
    group = raw["region"].to_numpy()
    urb10 = raw["urbanization_rate_2010"].to_numpy(float)
    urb20 = raw["urbanization_rate_2020"].to_numpy(float)
    toilet20 = raw["toilet_share_2020"].to_numpy(float)

    # Latent truth, rounded to the published decimals so that the files hold the exact truth.
    rng = _stream(seed, "latent")
    offset = np.array([_GROUP_OFFSET[g] for g in group])
    b = _standardise(offset + 0.8 * _standardise(urb20) + rng.normal(0.0, 0.5, n))
    raw_effort = rng.normal(0.0, 1.0, n)
    slope = np.dot(raw_effort - raw_effort.mean(), b) / np.dot(b, b)  # b has mean 0
    e = _standardise(raw_effort - slope * b)
    b, e = _rounded(b, _LATENT_DECIMALS), _rounded(e, _LATENT_DECIMALS)
    B, E = b[:, None], e[:, None]  # broadcast over years

    out: dict[str, np.ndarray] = {}
    growth_years = n_sim - 1  # growth from year k-1 to year k, k = 2019..2028
    year_shock = _stream(seed, "year_shock").normal(0.0, 0.5, growth_years)

    def level_path(start: np.ndarray, growth: np.ndarray) -> np.ndarray:
        """Levels for 2018..2028 from a 2018 level and percent growth for 2019..2028."""
        level = np.empty((n, n_sim))
        level[:, 0] = start
        level[:, 1:] = start[:, None] * np.cumprod(1.0 + growth / 100.0, axis=1)
        return level

    # GDP per capita: level set by baseline, growth by effort, macro path, shocks and disasters.
    rng = _stream(seed, "gdp_per_capita")
    start = np.exp(np.log(26000.0) + 0.25 * b + rng.normal(0.0, 0.08, n))
    disaster = np.where(rng.random((n, growth_years)) < 0.04, -4.0, 0.0)
    g = (np.array(_MACRO["gdp"]) + 1.5 * E - 0.4 * B + year_shock + disaster
         + rng.normal(0.0, 1.2, (n, growth_years)))
    out["gdp_per_capita"] = level_path(start, g)

    rng = _stream(seed, "rural_income")
    start = np.exp(np.log(12000.0) + 0.08 * b + rng.normal(0.0, 0.04, n))
    rural_growth = (np.array(_MACRO["rural"]) + 1.2 * E - 0.3 * B + 0.5 * year_shock
                    + rng.normal(0.0, 0.7, (n, growth_years)))
    out["rural_income"] = level_path(start, rural_growth)

    rng = _stream(seed, "urban_income")
    start = np.exp(np.log(29000.0) + 0.06 * b + rng.normal(0.0, 0.03, n))
    g = (np.array(_MACRO["urban"]) + 0.6 * E - 0.2 * B + 0.5 * year_shock
         + rng.normal(0.0, 0.6, (n, growth_years)))
    out["urban_income"] = level_path(start, g)

    # Income growth of the lifted population: rural growth plus a premium that grows with effort.
    rng = _stream(seed, "lifted_income_growth")
    lifted = np.full((n, n_sim), np.nan)
    lifted[:, 1:] = rural_growth + 2.5 + 0.8 * E + rng.normal(0.0, 1.0, (n, growth_years))
    out["lifted_income_growth"] = lifted

    # Bounded rates: a logit random walk from a baseline-driven start, drift growing with effort.
    def logit_walk(component: str, start_logit: float, baseline_coef: float, start_sd: float,
                   drift: float, effort_coef: float, noise: float,
                   shocks: np.ndarray | float = 0.0) -> np.ndarray:
        r = _stream(seed, component)
        x0 = start_logit + baseline_coef * b + r.normal(0.0, start_sd, n)
        steps = drift + effort_coef * E + shocks + r.normal(0.0, noise, (n, growth_years))
        x = np.concatenate([x0[:, None], x0[:, None] + np.cumsum(steps, axis=1)], axis=1)
        return 100.0 * _expit(x)

    covid = np.zeros(growth_years)
    covid[1] = -0.08  # 2020: revenue fell while spending rose
    out["fiscal_self_sufficiency"] = logit_walk(
        "fiscal_self_sufficiency", -2.0, 0.5, 0.25, 0.03, 0.05, 0.06, covid)
    out["sewage_garbage_rate"] = logit_walk(
        "sewage_garbage_rate", 1.2, 0.45, 0.3, 0.18, 0.10, 0.08)

    # Sanitary toilets: 2020 anchored below the census toilet-in-dwelling share.
    rng = _stream(seed, "sanitary_toilet_rate")
    ratio = np.clip(0.82 + 0.04 * b + rng.normal(0.0, 0.03, n), 0.60, 0.97)
    x2020 = _logit(toilet20 * ratio / 100.0)
    steps = 0.22 + 0.12 * E + rng.normal(0.0, 0.06, (n, growth_years))
    cum = np.concatenate([np.zeros((n, 1)), np.cumsum(steps, axis=1)], axis=1)
    i2020 = int(np.flatnonzero(_SIM_YEARS == 2020)[0])
    out["sanitary_toilet_rate"] = 100.0 * _expit(x2020[:, None] + cum - cum[:, [i2020]])

    # Urbanisation: census 2020 exactly; census pace before, slower effort-driven pace after.
    rng = _stream(seed, "urbanization_rate")
    pace = (urb20 - urb10) / 10.0
    no_2010 = np.isnan(pace)  # 恩阳区: created 2013, no 2010 census figure
    for g_name in np.unique(group[no_2010]):
        pace[no_2010 & (group == g_name)] = np.nanmean(pace[group == g_name])
    after = np.clip(0.6 * np.maximum(pace, 0.0)[:, None] + 0.2 + 0.25 * E
                    + rng.normal(0.0, 0.15, (n, n_sim)), 0.05, 2.5)
    offset_years = _SIM_YEARS - 2020
    urb = np.where(offset_years <= 0, urb20[:, None] + pace[:, None] * offset_years, np.nan)
    urb[:, i2020 + 1:] = urb20[:, None] + np.cumsum(after[:, i2020 + 1:], axis=1)
    out["urbanization_rate"] = np.clip(urb, 0.0, 100.0)

    rng = _stream(seed, "new_enterprise_share")
    share = np.full((n, n_sim), np.nan)
    share[:, 1:] = (13.0 + 2.0 * E + 0.8 * B + np.array(_MACRO["new_enterprise"])
                    + rng.normal(0.0, 1.5, (n, growth_years)))
    out["new_enterprise_share"] = np.clip(share, 2.0, 40.0)

    # Drinking-water sources: k of n sources meet the standard, p rising with effort and time.
    rng = _stream(seed, "water_source_quality")
    n_sources = rng.integers(4, 16, n)
    p = _expit(3.3 + 0.7 * E + 0.15 * (_SIM_YEARS - 2019))
    k = rng.binomial(np.broadcast_to(n_sources[:, None], (n, n_sim)), p)
    out["water_source_quality"] = 100.0 * k / n_sources[:, None]

    # Responsibility ratings by the assessment team: effort plus an assessor shift per year.
    for item in ("resp_primary", "resp_partner", "resp_taskforce"):
        rng = _stream(seed, item)
        shift = rng.normal(0.0, 1.0, n_sim)
        out[item] = np.clip(86.0 + 4.0 * E + shift + rng.normal(0.0, 2.5, (n, n_sim)), 60.0, 100.0)

    # Outcomes from the levels rounded as published.
    for code, level_code in (("outcome_rural_income_growth_3y", "rural_income"),
                             ("outcome_gdp_pc_growth_3y", "gdp_per_capita")):
        lv = _rounded(out[level_code].ravel(), DECIMALS["yuan"]).reshape(out[level_code].shape)
        growth = np.full((n, n_sim), np.nan)
        growth[:, :-3] = 100.0 * (lv[:, 3:] / lv[:, :-3] - 1.0)
        out[code] = growth
    return out, b, e


def _sichuan_tables(seed: int, raw_dir: Path | None = None) -> _SichuanTables:
    raw = _read_sichuan_raw(raw_dir)
    n = len(raw)
    sim, b, e = _simulate_counties(raw, seed)
    uom = {code: u for code, _, _, u, *_ in _INDICATORS}
    level_of = {row[0]: row[5] for row in _INDICATORS}

    # -------------------------------------------------------------- units
    units: list[list[str]] = [_UNIT_HEADER]
    census_cols = [("pop_2020", 0), ("urbanization_rate_2010", 2), ("urbanization_rate_2020", 2),
                   ("toilet_share_2020", 2)]
    census_text = {c: _format(raw[c].to_numpy(float), d) for c, d in census_cols}
    b_text, e_text = _format(b, _LATENT_DECIMALS), _format(e, _LATENT_DECIMALS)
    for i, r in raw.reset_index(drop=True).iterrows():
        units.append([
            r["adcode"], r["county"], r["pinyin"], "county", r["adcode"][:4] + "00", r["region"],
            _SUBGROUP.get(r["prefecture"], ""), r["prefecture"], GROUPS[r["region"]], r["adcode"],
            r["list_confidence"], *(census_text[c][i] for c, _ in census_cols), b_text[i],
            e_text[i], "",
        ])
    # Prefectures: own effort = 0.6 × mean effort of their listed counties + noise.
    pref_codes = [p[0] for p in PREFECTURES]
    county_pref = raw["adcode"].str[:4].to_numpy() + "00"
    rng = _stream(seed, "prefecture_effort")
    pref_effort = _rounded(
        np.array([0.6 * e[county_pref == c].mean() for c in pref_codes])
        + rng.normal(0.0, 0.6, len(pref_codes)), _LATENT_DECIMALS)
    for (code, name, name_en), pe in zip(PREFECTURES, _format(pref_effort, _LATENT_DECIMALS),
                                         strict=True):
        units.append([code, name, name_en, "prefecture", "", "", "", name, "", code, "", "", "",
                      "", "", "", pe, ""])
    rng = _stream(seed, "provincial_effort")
    prov_effort = _rounded(rng.normal(0.0, 1.0, len(PROVINCIAL_UNITS)), _LATENT_DECIMALS)
    prov_ids = [f"P{i:02d}" for i in range(1, len(PROVINCIAL_UNITS) + 1)]
    for uid, (name, name_en), pe in zip(prov_ids, PROVINCIAL_UNITS,
                                        _format(prov_effort, _LATENT_DECIMALS), strict=True):
        units.append([uid, name, name_en, "provincial_unit", "", "", "", "", "", "", "", "", "",
                      "", "", "", pe, _PROVINCIAL_NOTE])

    # -------------------------------------------------------------- indicators
    sources = {code: _source(seed) for code, *_ in _INDICATORS}
    sources["urbanization_rate"] = _source(seed, "anchored on the 2010 and 2020 census "
                                           "urbanisation rates (real)")
    sources["sanitary_toilet_rate"] = _source(seed, "2020 anchored below the 2020 census share "
                                              "of households with a toilet in the dwelling (real)")
    indicators: list[list[str]] = [_INDICATOR_HEADER]
    for code, name, name_en, unit_of_measure, direction, level, role, desc in _INDICATORS:
        indicators.append([code, name, name_en, unit_of_measure, direction, desc, sources[code],
                           role, level])

    # -------------------------------------------------------------- values
    years = [str(y) for y in SICHUAN_YEARS]
    cols = np.searchsorted(_SIM_YEARS, np.array(SICHUAN_YEARS))
    county_codes = [c for c, *_ in _INDICATORS if level_of[c] == "county"]
    text: dict[str, list[list[str]]] = {}
    for code in county_codes:
        block = sim[code][:, cols]
        flat = _format(block.ravel(), DECIMALS[uom[code]])
        text[code] = [flat[i * len(years):(i + 1) * len(years)] for i in range(n)]

    # Prefecture items: 85 + 4 × own effort + an assessor shift per year + noise.
    pref_text: dict[str, list[list[str]]] = {}
    for code in [c for c, *_ in _INDICATORS if level_of[c] == "prefecture"]:
        rng = _stream(seed, code)
        shift = rng.normal(0.0, 1.0, len(years))
        v = np.clip(85.0 + 4.0 * pref_effort[:, None] + shift
                    + rng.normal(0.0, 2.5, (len(pref_codes), len(years))), 60.0, 100.0)
        flat = _format(v.ravel(), DECIMALS[uom[code]])
        pref_text[code] = [flat[i * len(years):(i + 1) * len(years)] for i in range(len(v))]
    prov_text: dict[str, list[list[str]]] = {}
    for code in [c for c, *_ in _INDICATORS if level_of[c] == "provincial_unit"]:
        rng = _stream(seed, code)
        m = len(prov_ids)
        if uom[code] == "%":  # completion rate: mostly in the mid-to-high nineties
            v = 100.0 * _expit(3.2 + 0.8 * prov_effort[:, None]
                               + rng.normal(0.0, 0.4, (m, len(years))))
        else:
            v = np.clip(85.0 + 4.0 * prov_effort[:, None] + rng.normal(0.0, 1.0, len(years))
                        + rng.normal(0.0, 2.5, (m, len(years))), 60.0, 100.0)
        flat = _format(v.ravel(), DECIMALS[uom[code]])
        prov_text[code] = [flat[i * len(years):(i + 1) * len(years)] for i in range(m)]

    gaps = set(SICHUAN_MISSING)
    values: list[list[str]] = [["unit", "period", "indicator", "value"]]
    for i, uid in enumerate(raw["adcode"]):
        for j, year in enumerate(years):
            for code in county_codes:
                cell = "" if (uid, year, code) in gaps else text[code][i][j]
                values.append([uid, year, code, cell])
    for table, ids in ((pref_text, pref_codes), (prov_text, prov_ids)):
        for i, uid in enumerate(ids):
            for j, year in enumerate(years):
                for code in table:
                    values.append([uid, year, code, table[code][i][j]])
    written = {(r[0], r[1], r[2]) for r in values[1:]}
    missing_gaps = gaps - written
    if missing_gaps:  # a gap naming a unit/indicator that does not exist is a bug in this module
        raise AssertionError(f"documented gaps not in the panel: {sorted(missing_gaps)}")
    return _SichuanTables(units, indicators, values, _sichuan_provenance(seed))


def _sichuan_provenance(seed: int) -> str:
    gaps = "; ".join(f"{ind} of unit {u} in {p}" for u, p, ind in SICHUAN_MISSING)
    return (
        "REAL (public facts): the 39 counties of Sichuan's assistance-and-assessment scheme for "
        "underdeveloped counties, their names, 2020 census codes, prefectures and regional groups "
        "(list hand-built from public news pages; the last five 凉山州 counties are inferred, see "
        "list_confidence); the 8 prefectures; the census columns of the units table (6th and 7th "
        "national population census county tables via the repository leiii/census, MIT licence, "
        "Copyright (c) 2022 Lei Dong; see data/raw/sichuan/LICENSE-census.txt).\n"
        "ILLUSTRATIVE: the 24 provincial member units. The member list of the coordination "
        "mechanism is not public: the 24 are provincial departments whose remits cover the "
        "assistance tasks the scheme assesses (the six lists and ten measures); 省交通运输厅 is "
        "named as a member by the source; the scheme's co-issuers, 省委组织部 and the mechanism's "
        "office, are the assessors and are not among them.\n"
        f"SYNTHETIC: every value in values.csv and the latent_baseline / latent_effort columns, "
        f"generated by assesskit.data.synthetic.write_sichuan with seed {seed}. They are NOT official "
        "statistics. Urbanisation equals the census rate in 2020 and follows the census pace; "
        "the sanitary-toilet rate is anchored below the census share of households with a toilet "
        "in the dwelling (not the same thing); other indicators follow realistic ranges.\n"
        f"DOCUMENTED GAPS (empty values): {gaps}.\n"
        "Regenerate with: python -m assesskit.data.synthetic (byte-identical for the same seed)."
    )


def _csv_text(rows: Sequence[Sequence[str]]) -> str:
    buf = _stdio.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue()


def _frame(rows: list[list[str]]) -> pd.DataFrame:
    """A table of text cells, as :func:`assesskit.data.io.read_table` returns it from the CSV."""
    return pd.DataFrame({name: pd.Series([r[j] for r in rows[1:]], dtype="str")
                         for j, name in enumerate(rows[0])})


def sichuan_panel(seed: int = SICHUAN_SEED, raw_dir: str | Path | None = None) -> Dataset:
    """The synthetic Sichuan panel: 39 counties, 8 prefectures, 24 provincial units, 2019–2025.

    Parameters
    ----------
    seed : int
        Seed of every random draw (default :data:`SICHUAN_SEED`, the seed of the committed
        ``data/sichuan-39`` files).
    raw_dir : str or Path, optional
        Folder holding ``sichuan_39_counties.csv`` and ``sichuan_county_census_2010_2020.csv``
        (default ``<data root>/raw/sichuan``, or the package's own copy if the data root, e.g.
        one set by ``ASSESSKIT_DATA``, has none).

    Returns
    -------
    Dataset
        Named ``"sichuan-39"``. Units: 39 counties (group = regional group 秦巴山区 /
        川西北高原地区 / 大小凉山彝区, subgroup = 阿坝州 / 甘孜州 on the plateau), 8 prefectures,
        24 provincial units (``P01``..``P24``, illustrative). Unit attributes hold the census
        anchors and the latent truth (``latent_baseline``, ``latent_effort``), as text exactly as
        :func:`assesskit.data.io.load_dataset` reads them from ``units.csv`` (convert with
        ``pandas.to_numeric``; empty for units the column does not apply to). Indicators: the 10
        county task indicators, 3 county responsibility ratings, 4 prefecture items, 4
        provincial-unit items and 2 outcomes (role ``outcome``). Values are exactly those that
        :func:`write_sichuan` writes, including the documented gaps :data:`SICHUAN_MISSING`.

    Raises
    ------
    DataError
        If the raw files are missing or do not match each other.

    Notes
    -----
    The latent model is described in the module docstring: levels start from a baseline
    endowment :math:`b_i`, improve each year by an amount that grows with the effort
    :math:`e_i`, and are hit by year shocks; the 3-year outcomes depend on :math:`e_i` much more
    than on :math:`b_i`.

    Examples
    --------
    >>> ds = sichuan_panel()
    >>> ds.level_units("county")["group"].value_counts()["秦巴山区"]
    np.int64(10)
    """
    t = _sichuan_tables(seed, Path(raw_dir) if raw_dir is not None else None)
    return Dataset.from_frames(
        _frame(t.units),
        _frame(t.indicators),
        _frame(t.values),
        name=SICHUAN_NAME,
        provenance=t.provenance,
        sources={"units": "units.csv", "indicators": "indicators.csv", "values": "values.csv"},
    )


def _yaml_block(text: str, indent: int = 2) -> str:
    pad = " " * indent
    return "|\n" + "".join(pad + line + "\n" if line else "\n" for line in text.split("\n"))


def _dataset_yaml(seed: int, provenance: str) -> str:
    description = (
        "Synthetic annual panel 2019-2025 for the Sichuan scheme of assistance and assessment of "
        "the 39 underdeveloped counties (四川省欠发达县域托底性帮扶): the 10 county task "
        "indicators and 3 responsibility ratings of the counties, the 4 own items of the 8 "
        "prefectures, the 4 items of 24 illustrative provincial member units, and two later "
        "development outcomes (3-year growth of rural income and of GDP per capita) with the "
        "latent truth (latent_baseline, latent_effort) in the units table, so that analyses can "
        "be checked against a known answer."
    )
    return (
        "# Generated by `python -m assesskit.data.synthetic` (write_sichuan); do not edit by hand:\n"
        "# change the generator and regenerate (tests/test_synthetic.py compares the bytes).\n"
        f"name: {SICHUAN_NAME}\n"
        'title: "Sichuan 39 underdeveloped counties, prefectures and provincial units, '
        '2019-2025 (synthetic values)"\n'
        f"description: {_yaml_block(description)}"
        f"provenance: {_yaml_block(provenance)}"
        "kind: synthetic\n"
        f"seed: {seed}\n"
        'generator: "assesskit.data.synthetic:write_sichuan"\n'
        "files:\n"
        "  units: units.csv\n"
        "  indicators: indicators.csv\n"
        "  values: values.csv\n"
    )


def write_sichuan(directory: str | Path, seed: int = SICHUAN_SEED,
                  raw_dir: str | Path | None = None) -> Path:
    """Write the Sichuan panel as a dataset directory (``dataset.yaml`` and three CSVs).

    Parameters
    ----------
    directory : str or Path
        Target folder, created if needed; existing files of the same names are overwritten.
    seed : int
        Seed (default :data:`SICHUAN_SEED`); recorded in ``dataset.yaml`` and in the
        indicators' ``source`` column.
    raw_dir : str or Path, optional
        Folder of the raw Sichuan files (see :func:`sichuan_panel`).

    Returns
    -------
    Path
        The folder written.

    Notes
    -----
    Deterministic: fixed decimals per unit of measure (yuan 0, % 2, points 1, latent columns 4),
    rows in a fixed order (units: counties in the order of the county list, prefectures,
    provincial units; values: unit, then year, then indicator in the order of the indicators
    table), UTF-8 without BOM, ``\\n`` line endings, empty cells for missing values. The same
    seed gives byte-identical files.

    Examples
    --------
    >>> import tempfile
    >>> out = write_sichuan(tempfile.mkdtemp())
    >>> sorted(p.name for p in out.iterdir())
    ['dataset.yaml', 'indicators.csv', 'units.csv', 'values.csv']
    """
    t = _sichuan_tables(seed, Path(raw_dir) if raw_dir is not None else None)
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    files = {
        "dataset.yaml": _dataset_yaml(seed, t.provenance),
        "units.csv": _csv_text(t.units),
        "indicators.csv": _csv_text(t.indicators),
        "values.csv": _csv_text(t.values),
    }
    for name, text in files.items():
        (out / name).write_bytes(text.encode("utf-8"))
    return out


# ====================================================================== national panel
REGION_TYPES: tuple[tuple[str, str, float], ...] = (  # Chinese, English, baseline offset
    ("平原", "plain", 0.4),
    ("丘陵", "hill", 0.1),
    ("山区", "mountain", -0.3),
    ("高原", "plateau", -0.6),
)


@dataclass(frozen=True)
class NationalArrays:
    """The national benchmark panel as numpy arrays (see :func:`national_arrays`).

    Attributes
    ----------
    values : numpy.ndarray
        Shape ``(n_counties, n_years, n_indicators)``, float64; NaN where missing.
    units, provinces, region_types : numpy.ndarray
        County ids (``"C00001"``...), their province ids (``"PR01"``...) and region types.
    province_ids : numpy.ndarray
        The province ids, in order.
    indicators, directions, units_of_measure : numpy.ndarray
        Indicator codes (``"x01"``...), ``"higher"``/``"lower"``, and units of measure.
    periods : list of str
        The years, as canonical period strings.
    latent_baseline, latent_effort : numpy.ndarray
        The latent truth per county.
    seed : int
        The seed used.
    """

    values: np.ndarray
    units: np.ndarray
    provinces: np.ndarray
    region_types: np.ndarray
    province_ids: np.ndarray
    indicators: np.ndarray
    directions: np.ndarray
    units_of_measure: np.ndarray
    periods: list[str]
    latent_baseline: np.ndarray
    latent_effort: np.ndarray
    seed: int


def national_arrays(n_counties: int = 2850, n_provinces: int = 30, n_indicators: int = 60,
                    n_years: int = 10, seed: int = NATIONAL_SEED, last_year: int = 2025,
                    missing_rate: float = 0.0) -> NationalArrays:
    """A national-scale synthetic panel as numpy arrays, for benchmarks.

    Parameters
    ----------
    n_counties, n_provinces, n_indicators, n_years : int
        Size of the panel (default about China's ~2,850 county-level units in 30 provinces).
    seed : int
        Seed of every draw (default :data:`NATIONAL_SEED`).
    last_year : int
        Last year; the years are ``last_year - n_years + 1 .. last_year``.
    missing_rate : float
        Share of values set to NaN at random (default 0).

    Returns
    -------
    NationalArrays

    Raises
    ------
    ValueError
        If a size is not positive, there are fewer counties than provinces, or
        ``missing_rate`` is outside [0, 1).

    Notes
    -----
    Same latent structure as the Sichuan generator, vectorised over a
    ``(county, year, indicator)`` cube:
    :math:`z_{itk} = a_k b_i + c_k e_i (t - t_0) + 0.1 (t - t_0) + s_{tk} + \\varepsilon_{itk}`
    with baseline :math:`b_i` = province effect N(0, 0.6²) + region-type offset + N(0, 0.8²),
    effort :math:`e_i \\sim N(0, 1)`, loadings :math:`a_k \\sim U(0.3, 1)`, effort slopes
    :math:`c_k \\sim U(0.05, 0.25)`, year-indicator shocks :math:`s_{tk} \\sim N(0, 0.1^2)` and
    noise :math:`\\varepsilon \\sim N(0, 0.5^2)`. Indicators cycle through three kinds:
    a percentage ``100 expit(0.8 z + m_k)``, a positive index ``100 exp(0.15 z)`` and an
    amount in yuan ``exp(10.3 + 0.3 z)``; one in five is "lower is better" (its :math:`z`
    enters with the opposite sign). Values are rounded to 3 decimals.

    Examples
    --------
    >>> arr = national_arrays(n_counties=50, n_provinces=5, n_indicators=4, n_years=3)
    >>> arr.values.shape
    (50, 3, 4)
    """
    for name, v in (("n_counties", n_counties), ("n_provinces", n_provinces),
                    ("n_indicators", n_indicators), ("n_years", n_years)):
        if int(v) < 1:
            raise ValueError(f"{name} must be a positive integer, not {v!r}")
    if n_counties < n_provinces:
        raise ValueError(f"n_counties ({n_counties}) must be at least n_provinces ({n_provinces}):"
                         " every province needs a county")
    if not 0.0 <= missing_rate < 1.0:
        raise ValueError(f"missing_rate must be in [0, 1), not {missing_rate!r}")
    rng = np.random.default_rng(seed)

    # Province sizes: Gamma-distributed shares, at least one county each (largest remainder).
    share = rng.gamma(5.0, 1.0, n_provinces)
    extra = n_counties - n_provinces
    quota = share / share.sum() * extra
    sizes = np.floor(quota).astype(int)
    sizes[np.argsort(-(quota - sizes), kind="stable")[: extra - sizes.sum()]] += 1
    sizes += 1
    province_ids = np.array([f"PR{p:02d}" for p in range(1, n_provinces + 1)], dtype=object)
    prov_index = np.repeat(np.arange(n_provinces), sizes)
    region_index = rng.integers(0, len(REGION_TYPES), n_counties)

    prov_effect = rng.normal(0.0, 0.6, n_provinces)
    offsets = np.array([r[2] for r in REGION_TYPES])
    baseline = prov_effect[prov_index] + offsets[region_index] + rng.normal(0.0, 0.8, n_counties)
    effort = rng.normal(0.0, 1.0, n_counties)

    loading = rng.uniform(0.3, 1.0, n_indicators)
    effort_slope = rng.uniform(0.05, 0.25, n_indicators)
    t = np.arange(n_years, dtype=float)
    shocks = rng.normal(0.0, 0.1, (n_years, n_indicators))
    z = (baseline[:, None, None] * loading
         + (effort[:, None, None] * effort_slope + 0.1) * t[None, :, None]
         + shocks[None, :, :]
         + rng.normal(0.0, 0.5, (n_counties, n_years, n_indicators)))

    kind = np.arange(n_indicators) % 3
    lower = np.arange(n_indicators) % 5 == 4
    z = np.where(lower, -z, z)
    centre = rng.normal(0.0, 0.5, n_indicators)
    values = np.where(
        kind == 0, 100.0 * _expit(0.8 * z + centre),
        np.where(kind == 1, 100.0 * np.exp(0.15 * z), np.exp(10.3 + 0.3 * z)),
    )
    values = np.round(values, 3)
    if missing_rate > 0:
        values[rng.random(values.shape) < missing_rate] = np.nan

    years = np.arange(last_year - n_years + 1, last_year + 1)
    return NationalArrays(
        values=values,
        units=np.array([f"C{i:05d}" for i in range(1, n_counties + 1)], dtype=object),
        provinces=province_ids[prov_index],
        region_types=np.array([REGION_TYPES[r][0] for r in region_index], dtype=object),
        province_ids=province_ids,
        indicators=np.array([f"x{k:02d}" for k in range(1, n_indicators + 1)], dtype=object),
        directions=np.where(lower, "lower", "higher").astype(object),
        units_of_measure=np.array(["%", "index", "yuan"], dtype=object)[kind],
        periods=[f"{y:04d}" for y in years],
        latent_baseline=np.round(baseline, _LATENT_DECIMALS),
        latent_effort=np.round(effort, _LATENT_DECIMALS),
        seed=int(seed),
    )


def national_panel(n_counties: int = 2850, n_provinces: int = 30, n_indicators: int = 60,
                   n_years: int = 10, seed: int = NATIONAL_SEED, last_year: int = 2025,
                   missing_rate: float = 0.0) -> Dataset:
    """A national-scale synthetic panel as a :class:`Dataset`, for benchmarks (not committed).

    Parameters
    ----------
    n_counties, n_provinces, n_indicators, n_years, seed, last_year, missing_rate
        See :func:`national_arrays`.

    Returns
    -------
    Dataset
        Named ``"national"``. Units: the provinces (level ``province``, ids ``PR01``...) and the
        counties (level ``county``, ids ``C00001``..., parent = province, group = province id,
        subgroup = region type 平原 / 丘陵 / 山区 / 高原, attributes ``latent_baseline`` and
        ``latent_effort``). Indicators ``x01``... (role ``indicator``). Values: one row per
        county, year and indicator, ordered by county, year, indicator.

    Raises
    ------
    ValueError
        See :func:`national_arrays`.

    Notes
    -----
    The tables are assembled directly in the normalised form :meth:`Dataset.from_frames`
    produces (text ids, canonical periods, float values) and are not re-validated: they are
    consistent by construction, and row-by-row validation of ~1.7 million rows would dominate
    the time a benchmark measures. About one second for the default size.

    Examples
    --------
    >>> ds = national_panel(n_counties=40, n_provinces=4, n_indicators=5, n_years=2)
    >>> len(ds.values)
    400
    """
    arr = national_arrays(n_counties, n_provinces, n_indicators, n_years, seed, last_year,
                          missing_rate)
    n_c, n_y, n_k = arr.values.shape
    src = _source(arr.seed).replace("assesskit.data.synthetic", "assesskit.data.synthetic.national_panel")
    provinces = pd.DataFrame({
        "unit": arr.province_ids, "name": [f"示例省{p[2:]}" for p in arr.province_ids],
        "name_en": [f"Province {p[2:]}" for p in arr.province_ids], "level": "province",
        "parent": "", "group": "", "subgroup": "",
        "latent_baseline": np.nan, "latent_effort": np.nan,
    })
    counties = pd.DataFrame({
        "unit": arr.units, "name": [f"示例县{u[1:]}" for u in arr.units],
        "name_en": [f"County {u[1:]}" for u in arr.units], "level": "county",
        "parent": arr.provinces, "group": arr.provinces, "subgroup": arr.region_types,
        "latent_baseline": arr.latent_baseline, "latent_effort": arr.latent_effort,
    })
    units = pd.concat([provinces, counties], ignore_index=True)
    for c in ("unit", "name", "name_en", "level", "parent", "group", "subgroup"):
        units[c] = units[c].astype(object)
    indicators = pd.DataFrame({
        "indicator": arr.indicators,
        "name": [f"示例指标{c[1:]}" for c in arr.indicators],
        "name_en": [f"Indicator {c[1:]}" for c in arr.indicators],
        "unit_of_measure": arr.units_of_measure, "direction": arr.directions,
        "description": "synthetic benchmark indicator", "source": src, "role": "indicator",
    }).astype(object)
    periods = np.array(arr.periods, dtype=object)
    values = pd.DataFrame({
        "unit": pd.Series(np.repeat(arr.units, n_y * n_k), dtype=object),
        "period": pd.Series(np.tile(np.repeat(periods, n_k), n_c), dtype=object),
        "indicator": pd.Series(np.tile(arr.indicators, n_c * n_y), dtype=object),
        "value": arr.values.reshape(-1),
    })
    provenance = (
        f"SYNTHETIC: generated by assesskit.data.synthetic.national_panel with seed {arr.seed} "
        f"({n_c} counties in {len(arr.province_ids)} provinces, {n_k} indicators, {n_y} years). "
        "Not official statistics; province and county names are placeholders."
    )
    return Dataset("national", units, indicators, values, provenance, {})


# ====================================================================== command line
def main(argv: Sequence[str] | None = None) -> int:
    """Regenerate ``data/sichuan-39`` (``python -m assesskit.data.synthetic``)."""
    from .datasets import data_root

    parser = argparse.ArgumentParser(
        prog="python -m assesskit.data.synthetic",
        description="Regenerate the synthetic Sichuan panel (byte-identical for the same seed).",
    )
    parser.add_argument("--out", type=Path, default=None,
                        help="output folder (default: <data root>/sichuan-39)")
    parser.add_argument("--seed", type=int, default=SICHUAN_SEED,
                        help=f"seed (default {SICHUAN_SEED}, the seed of the committed files)")
    parser.add_argument("--raw-dir", type=Path, default=None,
                        help="folder of the raw Sichuan files (default: <data root>/raw/sichuan)")
    args = parser.parse_args(argv)
    out = write_sichuan(args.out or data_root() / SICHUAN_NAME, args.seed, args.raw_dir)
    print(f"wrote {out} (seed {args.seed})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
