"""Synthetic example panels for the Jincheng (晋城) and Dingxi (定西) assessment schemes.

Two small, documented, seeded datasets that exercise the rules of the two city schemes digested
in ``docs/schemes-from-seeds.md``:

``jincheng`` (annual 2022..2025)
    The Jincheng "1+4" system (一个全市体系 + 四类差异化考核): 6 real county-level units scored on
    the 8 first-level indicators plus their own county-specific indicator, 12 synthetic towns
    (乡镇), 6 synthetic urban sub-districts (街道) and 6 city departments (市直部门).
``dingxi`` (quarterly 2024Q1..2025Q4, year-to-date)
    The Dingxi integrated supervision-assessment platform (督查考核一体化平台): 7 real counties with
    hard (quantifiable) growth indicators, a Party-building rating, key-task completion, a negative
    list (负面清单) of counts, and cumulative progress of key-project investment against the time
    schedule 25/50/75/100 % (for yellow/red traffic lights), plus 8 city departments.

What is real and what is synthetic
----------------------------------
REAL: the names and administrative codes (adcodes) of the prefectures and their county-level
units, and the kinds of city department the schemes name. SYNTHETIC: every value, every town and
sub-district (示例镇 / 示例街道, ids ``JT..`` / ``JS..``), and the latent unit capacities. No number
here is an official statistic; the ``source`` column of every indicator says so and names the
seed.

Generative model
----------------
Each assessed unit ``u`` has a latent capacity :math:`c_u \\sim N(0, 1)` (column
``latent_capacity`` of the units table: the generator's truth, for checking analyses). Designated
*weak* units (:data:`JINCHENG_WEAK`, :data:`DINGXI_WEAK`) get a capacity :data:`WEAK_GAP` below the
lowest of the others, so that they are persistently at the bottom and the Jincheng rule
"bottom two years in a row" (连续两年排名末位) and the Dingxi bottom-of-quarter talks are triggered.

Jincheng, completion of the annual target in % for unit ``u``, year ``t``, indicator ``i``:

.. math::

    x_{uti} = 100 + m_i + 4 c_u + y_t + s_{ut} - k_i (n_{ut} - 4) + e_{uti},

with indicator offset :math:`m_i`, city-wide year effect :math:`y_t \\sim N(0, 1.5^2)`, unit-year
shock :math:`s_{ut} \\sim N(0, 2.5^2)`, noise :math:`e_{uti} \\sim N(0, \\sigma_i^2)`, and, for the
traction-project indicators only (:math:`k_i = 1`), a penalty of one point per traction task
:math:`n_{ut}` above four: units carrying more traction tasks (承担牵引工程任务数) find them harder to
complete, which is why the scheme gives them a higher evaluation coefficient. Values are clipped
to [40, 150] and written with one decimal. County-specific indicators have rows ONLY for their
county (other counties have no row at all, on purpose).

Dingxi, year-to-date (累计) quarterly values. For a growth indicator ``i`` the single-quarter growth
is :math:`g_{uyqi} = \\mu_i + b_i c_u + y_{yi} + e_{uyqi}` and the published year-to-date value
after quarter ``k`` is the mean :math:`\\frac{1}{k}\\sum_{q \\le k} g_{uyqi}` (equal quarter
weights, an approximation of the cumulative growth). Ratings and key-task completion are
year-to-date means in the same way. Negative-list items are year-to-date COUNTS of events
(cumulative within a calendar year, reset each January), Poisson with a rate that falls with
capacity: mostly 0, a few 1–2. Project-investment progress after quarter ``k`` is
:math:`\\max_{q \\le k} 25 q \\, p_{uy} (1 + e_{uyq})` with a pace :math:`p_{uy} = 1 + 0.08 c_u +
N(0, 0.05^2)`, so weak units lag the 25/50/75/100 % schedule more and more through the year.

Every random draw comes from ``numpy.random.default_rng(seed)`` in a fixed order, and the CSV
files are written with fixed decimals, a fixed row order and ``"\\n"`` line ends, so the same seed
gives byte-identical files.

Run ``python -m assesskit.data.synthetic_cities`` to regenerate ``data/jincheng`` and ``data/dingxi``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .model import Dataset

#: Default seed of the Jincheng panel (recorded in dataset.yaml and the indicators' source).
JINCHENG_SEED = 20240511
#: Default seed of the Dingxi panel.
DINGXI_SEED = 20240621
#: How far (in standard deviations of latent capacity) a designated weak unit sits below the
#: lowest of the other units of its level.
WEAK_GAP = 1.0
#: Units made persistently weak in Jincheng: one county (陵川县), one town, one sub-district.
JINCHENG_WEAK = ("140524", "JT07", "JS04")
#: Unit made persistently weak in Dingxi: one county (通渭县).
DINGXI_WEAK = ("621121",)

JINCHENG_YEARS = ("2022", "2023", "2024", "2025")
DINGXI_QUARTERS = tuple(f"{y}Q{q}" for y in (2024, 2025) for q in range(1, 5))

_REPO_DATA = Path(__file__).resolve().parents[2] / "data"

_CN_NUMERALS = "一二三四五六七八九十"


def _cn_number(n: int) -> str:
    """Chinese numeral for 1..99 (示例镇十二)."""
    if n <= 10:
        return _CN_NUMERALS[n - 1]
    tens, ones = divmod(n, 10)
    return (_CN_NUMERALS[tens - 1] if tens > 1 else "") + "十" + (_CN_NUMERALS[ones - 1] if ones else "")


def _source(seed: int) -> str:
    return f"synthetic (assesskit.data.synthetic_cities, seed {seed})"


# ---------------------------------------------------------------------------------- Jincheng
_JC_PREFECTURE = ("140500", "晋城市", "Jincheng")
_JC_COUNTIES = (
    ("140502", "城区", "Chengqu (urban district)"),
    ("140521", "沁水县", "Qinshui County"),
    ("140522", "阳城县", "Yangcheng County"),
    ("140524", "陵川县", "Lingchuan County"),
    ("140525", "泽州县", "Zezhou County"),
    ("140581", "高平市", "Gaoping City"),
)
# Parent county of each synthetic town JT01..JT12 (the urban district has sub-districts instead).
_JC_TOWN_PARENTS = ("140521", "140521", "140522", "140522", "140522", "140524",
                    "140524", "140525", "140525", "140525", "140581", "140581")
_JC_DEPARTMENTS = (
    ("JD01", "市发展改革委", "Municipal Development and Reform Commission"),
    ("JD02", "市工信局", "Municipal Bureau of Industry and Information Technology"),
    ("JD03", "市住建局", "Municipal Bureau of Housing and Urban-Rural Development"),
    ("JD04", "市农业农村局", "Municipal Bureau of Agriculture and Rural Affairs"),
    ("JD05", "市行政审批局", "Municipal Administrative Approval Bureau"),
    ("JD06", "市生态环境局", "Municipal Bureau of Ecology and Environment"),
)

# code, name, name_en, unit_of_measure, direction, applies_to, offset m_i, noise sd, decimals
_JC_INDICATORS = (
    ("jc_industry", "现代产业“1+5”", "Modern industry '1+5'", "%", "higher", "county", 0.0, 4.0, 1),
    ("jc_projects", "项目支撑", "Project support", "%", "higher", "county", 2.0, 4.0, 1),
    ("jc_market_entities", "市场主体", "Market entities", "%", "higher", "county", -3.0, 4.0, 1),
    ("jc_urban", "城市建设", "Urban construction", "%", "higher", "county", 0.0, 4.0, 1),
    ("jc_rural", "乡村振兴", "Rural revitalisation", "%", "higher", "county", 1.0, 4.0, 1),
    ("jc_business_env", "营商环境", "Business environment", "%", "higher", "county", 2.0, 4.0, 1),
    ("jc_ecology", "生态文明", "Ecological civilisation", "%", "higher", "county", -2.0, 4.0, 1),
    ("jc_welfare", "社会民生", "Social welfare", "%", "higher", "county", 3.0, 4.0, 1),
    ("jc_air_monitoring", "空气质量监测点位达标", "Air-quality monitoring points meeting standard",
     "%", "higher", "140502", -1.0, 4.0, 1),
    ("jc_gas_supply", "燃气供应保障", "Gas supply security", "%", "higher", "140525", 1.0, 4.0, 1),
    ("jc_black_odorous_water", "农村黑臭水体治理", "Rural black and odorous water treatment",
     "%", "higher", "140581", -2.0, 5.0, 1),
    ("jc_forest_city", "国家森林城市创建", "National forest city campaign", "%", "higher",
     "140522", 0.0, 4.0, 1),
    ("jt_development", "高质量发展", "High-quality development", "%", "higher", "town", 0.0, 4.0, 1),
    ("jt_primary_investment", "第一产业固定资产投资", "Primary-sector fixed-asset investment",
     "%", "higher", "town", -2.0, 9.0, 1),
    ("jt_primary_value_added", "第一产业增加值", "Primary-sector value added", "%", "higher",
     "town", 1.0, 3.0, 1),
    ("jt_rural", "乡村振兴重点工作", "Key rural-revitalisation work", "%", "higher", "town",
     0.0, 4.0, 1),
    ("jt_traction", "四大牵引工程", "Four major traction projects", "%", "higher", "town",
     -1.0, 5.0, 1),
    ("js_party_building", "党的建设", "Party building", "%", "higher", "subdistrict", 2.0, 3.0, 1),
    ("js_governance", "基层治理", "Grassroots governance", "%", "higher", "subdistrict",
     0.0, 4.0, 1),
    ("js_urban_renewal", "城市更新", "Urban renewal", "%", "higher", "subdistrict", -2.0, 5.0, 1),
    ("js_traction", "四大牵引工程", "Four major traction projects", "%", "higher", "subdistrict",
     -1.0, 5.0, 1),
    ("traction_tasks", "承担牵引工程任务数", "Number of traction-project tasks carried", "count",
     "higher", "town, subdistrict", 0.0, 0.0, 0),
    ("dept_lead_score", "牵头指标完成情况", "Completion of the indicators the department leads",
     "%", "higher", "department", 0.0, 3.0, 1),
)

_JC_DESCRIPTIONS = {
    "%": "Completion of the annual target, % (100 = target met exactly). Synthetic.",
    "count": "Number of tasks of the four major traction projects (四大牵引工程) the town or "
             "sub-district carries that year; more tasks earn a higher evaluation coefficient "
             "(评价系数). Not a performance score. Synthetic.",
}


def _jincheng_units(capacity: dict[str, float]) -> pd.DataFrame:
    """Units table of the Jincheng panel, in the fixed order prefecture, counties, towns,
    sub-districts, departments."""
    real = "real administrative unit (name and adcode); all values synthetic"
    rows = [dict(unit=_JC_PREFECTURE[0], name=_JC_PREFECTURE[1], name_en=_JC_PREFECTURE[2],
                 level="prefecture", parent="", group="", adcode=_JC_PREFECTURE[0], note=real)]
    rows += [dict(unit=u, name=n, name_en=e, level="county", parent="140500", group="county",
                  adcode=u, note=real) for u, n, e in _JC_COUNTIES]
    rows += [dict(unit=f"JT{i:02d}", name=f"示例镇{_cn_number(i)}", name_en=f"Example Town {i}",
                  level="town", parent=p, group="town", adcode="",
                  note="synthetic town (illustrative, not a real place)")
             for i, p in enumerate(_JC_TOWN_PARENTS, start=1)]
    rows += [dict(unit=f"JS{i:02d}", name=f"示例街道{_cn_number(i)}",
                  name_en=f"Example Sub-district {i}", level="subdistrict", parent="140502",
                  group="subdistrict", adcode="",
                  note="synthetic sub-district (illustrative, not a real place)")
             for i in range(1, 7)]
    rows += [dict(unit=u, name=n, name_en=e, level="department", parent="140500",
                  group="department", adcode="",
                  note="real kind of city department; all values synthetic")
             for u, n, e in _JC_DEPARTMENTS]
    units = pd.DataFrame(rows)
    units.insert(6, "subgroup", "")
    units["latent_capacity"] = units["unit"].map(capacity)
    return units


def _draw_capacity(rng: np.random.Generator, ids: Sequence[str], weak: Sequence[str]
                   ) -> np.ndarray:
    """Latent capacity N(0, 1) per unit; weak units are set WEAK_GAP below the others' minimum."""
    cap = rng.standard_normal(len(ids))
    is_weak = np.isin(np.asarray(ids), np.asarray(weak))
    if is_weak.any():
        cap[is_weak] = cap[~is_weak].min() - WEAK_GAP
    # Written with three decimals: keep the in-memory truth equal to the file.
    return _round(cap, 3)


def _round(x: np.ndarray, decimals: int) -> np.ndarray:
    """Round to ``decimals`` exactly as the CSV will show the number (no ``-0.0``)."""
    x = np.asarray(x, dtype=float)
    text = pd.Series(np.round(x, decimals).reshape(-1) + 0.0).map(f"{{:.{decimals}f}}".format)
    return text.astype(float).to_numpy().reshape(x.shape)


def _long(values: np.ndarray, unit_ids: Sequence[str], periods: Sequence[str],
          codes: Sequence[str]) -> pd.DataFrame:
    """Long table from a (units, periods, indicators) array, ordered unit, period, indicator."""
    nu, npd, ni = values.shape
    return pd.DataFrame({
        "unit": np.repeat(np.asarray(unit_ids, dtype=object), npd * ni),
        "period": np.tile(np.repeat(np.asarray(periods, dtype=object), ni), nu),
        "indicator": np.tile(np.asarray(codes, dtype=object), nu * npd),
        "value": values.reshape(-1),
    })


def _jincheng_indicators(seed: int) -> pd.DataFrame:
    rows = []
    for code, name, name_en, uom, direction, applies, *_ in _JC_INDICATORS:
        desc = _JC_DESCRIPTIONS[uom]
        if applies.startswith("14"):
            county = dict((u, n) for u, n, _ in _JC_COUNTIES)[applies]
            desc = (f"County-specific indicator of {county} ({applies}) only; other counties have "
                    "no value for it. " + desc)
        rows.append(dict(indicator=code, name=name, name_en=name_en,
                         unit_of_measure="count" if uom == "count" else "% of annual target",
                         direction=direction, description=desc, source=_source(seed),
                         role="indicator", applies_to=applies))
    return pd.DataFrame(rows)


def jincheng_panel(seed: int = JINCHENG_SEED) -> Dataset:
    """Synthetic annual panel 2022..2025 for the Jincheng (晋城) "1+4" assessment system.

    Parameters
    ----------
    seed : int
        Seed of ``numpy.random.default_rng``; recorded in the provenance and in the ``source``
        column of every indicator.

    Returns
    -------
    Dataset
        Named ``"jincheng"``. Units: prefecture ``"140500"``; 6 real county-level units (group
        ``"county"``); 12 synthetic towns ``JT01..JT12`` (group ``"town"``); 6 synthetic
        sub-districts ``JS01..JS06`` under 城区 (group ``"subdistrict"``); 6 city departments
        ``JD01..JD06`` (group ``"department"``). Values: completion of the annual target in %
        (one decimal) and ``traction_tasks`` counts (integers).

    Notes
    -----
    Model (see the module docstring): :math:`x_{uti} = 100 + m_i + 4 c_u + y_t + s_{ut}
    - k_i (n_{ut} - 4) + e_{uti}`, clipped to [40, 150]. County-specific indicators
    (``jc_air_monitoring`` 城区, ``jc_gas_supply`` 泽州县, ``jc_black_odorous_water`` 高平市,
    ``jc_forest_city`` 阳城县) have rows for their own county only. The units in
    :data:`JINCHENG_WEAK` are persistently weak by construction.

    Examples
    --------
    >>> ds = jincheng_panel()
    >>> ds.periods
    ['2022', '2023', '2024', '2025']
    >>> int((ds.units["level"] == "town").sum())
    12
    """
    rng = np.random.default_rng(seed)
    years = list(JINCHENG_YEARS)
    ny = len(years)
    county_ids = [u for u, _, _ in _JC_COUNTIES]
    town_ids = [f"JT{i:02d}" for i in range(1, 13)]
    sub_ids = [f"JS{i:02d}" for i in range(1, 7)]
    dept_ids = [u for u, _, _ in _JC_DEPARTMENTS]

    # Draw order is part of the contract (changing it changes the committed files).
    capacity: dict[str, float] = {_JC_PREFECTURE[0]: np.nan}
    for ids in (county_ids, town_ids, sub_ids, dept_ids):
        capacity.update(zip(ids, _draw_capacity(rng, ids, JINCHENG_WEAK), strict=True))
    year_effect = rng.normal(0.0, 1.5, ny)

    spec = {row[0]: row for row in _JC_INDICATORS}

    def block(ids: list[str], codes: list[str], tasks: np.ndarray | None = None) -> np.ndarray:
        """Completion % for ids × years × codes, following the model in the docstring."""
        cap = np.array([capacity[u] for u in ids])
        offset = np.array([spec[c][6] for c in codes])
        sd = np.array([spec[c][7] for c in codes])
        shock = rng.normal(0.0, 2.5, (len(ids), ny))
        noise = rng.normal(0.0, 1.0, (len(ids), ny, len(codes))) * sd
        x = 100.0 + offset + 4.0 * cap[:, None, None] + year_effect[None, :, None] \
            + shock[:, :, None] + noise
        if tasks is not None:
            traction = np.array([c.endswith("_traction") for c in codes], dtype=float)
            x = x - traction * (tasks[:, :, None] - 4.0)
        return _round(np.clip(x, 40.0, 150.0), 1)

    def traction_tasks(n: int) -> np.ndarray:
        """Tasks carried: a persistent base 1..7, moving by -1/0/+1 a year, at least 1."""
        base = rng.integers(1, 8, n)
        step = rng.integers(-1, 2, (n, ny))
        step[:, 0] = 0
        return np.maximum(base[:, None] + np.cumsum(step, axis=1), 1).astype(float)

    first_level = [c for c, *rest in _JC_INDICATORS if rest[4] == "county"]
    frames = [_long(block(county_ids, first_level), county_ids, years, first_level)]
    for code, *rest in _JC_INDICATORS:
        if rest[4].startswith("14"):  # county-specific: rows for its county only
            frames.append(_long(block([rest[4]], [code]), [rest[4]], years, [code]))

    for ids, level in ((town_ids, "town"), (sub_ids, "subdistrict")):
        codes = [c for c, *rest in _JC_INDICATORS if rest[4] == level]
        tasks = traction_tasks(len(ids))
        scores = block(ids, codes, tasks)
        both = np.concatenate([scores, tasks[:, :, None]], axis=2)
        frames.append(_long(both, ids, years, [*codes, "traction_tasks"]))
    frames.append(_long(block(dept_ids, ["dept_lead_score"]), dept_ids, years,
                        ["dept_lead_score"]))

    units = _jincheng_units(capacity)
    indicators = _jincheng_indicators(seed)
    values = _order_values(pd.concat(frames, ignore_index=True), units, indicators)
    return Dataset.from_frames(units, indicators, values, name="jincheng",
                               provenance=_jincheng_provenance(seed))


def _order_values(values: pd.DataFrame, units: pd.DataFrame, indicators: pd.DataFrame
                  ) -> pd.DataFrame:
    """Fixed row order: period, then units-table order, then indicators-table order."""
    unit_pos = pd.Series(np.arange(len(units)), index=units["unit"])
    ind_pos = pd.Series(np.arange(len(indicators)), index=indicators["indicator"])
    key = pd.DataFrame({
        "p": values["period"].to_numpy(),
        "u": unit_pos.reindex(values["unit"]).to_numpy(),
        "i": ind_pos.reindex(values["indicator"]).to_numpy(),
    })
    order = np.lexsort((key["i"].to_numpy(), key["u"].to_numpy(), key["p"].to_numpy()))
    return values.iloc[order].reset_index(drop=True)


def _jincheng_provenance(seed: int) -> str:
    return (
        "REAL: the prefecture 晋城市 (140500) and its six county-level units with their "
        "administrative division codes (城区 140502, 沁水县 140521, 阳城县 140522, 陵川县 140524, 泽州县 "
        "140525, 高平市 140581); the kinds of city department; the indicator names and structure "
        "follow the Jincheng \"1+4\" assessment system (seed document 001, see "
        "docs/schemes-from-seeds.md).\n"
        "SYNTHETIC: every value; the towns JT01..JT12 (示例镇) and sub-districts JS01..JS06 "
        "(示例街道), which are not real places; the latent_capacity column (the generator's "
        f"truth). Generated by assesskit.data.synthetic_cities.jincheng_panel(seed={seed}); "
        "regenerate with `python -m assesskit.data.synthetic_cities`. Units made persistently weak by "
        f"construction: {', '.join(JINCHENG_WEAK)} (latent capacity {WEAK_GAP} sd below the "
        "others of their level). No value is an official statistic.\n"
        "Licence: generated data, MIT like the code."
    )


# ---------------------------------------------------------------------------------- Dingxi
_DX_PREFECTURE = ("621100", "定西市", "Dingxi")
_DX_COUNTIES = (
    ("621102", "安定区", "Anding District"),
    ("621121", "通渭县", "Tongwei County"),
    ("621122", "陇西县", "Longxi County"),
    ("621123", "渭源县", "Weiyuan County"),
    ("621124", "临洮县", "Lintao County"),
    ("621125", "漳县", "Zhang County"),
    ("621126", "岷县", "Min County"),
)
_DX_DEPARTMENTS = (
    ("DD01", "市发展改革委", "Municipal Development and Reform Commission"),
    ("DD02", "市财政局", "Municipal Finance Bureau"),
    ("DD03", "市农业农村局", "Municipal Bureau of Agriculture and Rural Affairs"),
    ("DD04", "市生态环境局", "Municipal Bureau of Ecology and Environment"),
    ("DD05", "市应急管理局", "Municipal Emergency Management Bureau"),
    ("DD06", "市工信局", "Municipal Bureau of Industry and Information Technology"),
    ("DD07", "市住建局", "Municipal Bureau of Housing and Urban-Rural Development"),
    ("DD08", "市商务局", "Municipal Bureau of Commerce"),
)

# code, name, name_en, unit_of_measure, direction, kind, mean, capacity slope, sd, decimals
_DX_INDICATORS = (
    ("dx_gdp_growth", "地区生产总值增速", "GDP growth", "% (year on year, year to date)",
     "higher", "hard", 5.5, 1.0, 1.5, 1),
    ("dx_investment_growth", "固定资产投资增速", "Fixed-asset investment growth",
     "% (year on year, year to date)", "higher", "hard", 6.0, 4.0, 8.0, 1),
    ("dx_retail_growth", "社会消费品零售总额增速", "Retail sales growth",
     "% (year on year, year to date)", "higher", "hard", 6.0, 1.0, 2.5, 1),
    ("dx_rural_income_growth", "农村居民人均可支配收入增速", "Rural disposable income growth",
     "% (year on year, year to date)", "higher", "hard", 7.5, 0.4, 0.8, 1),
    ("dx_fiscal_revenue_growth", "一般公共预算收入增速", "General budget revenue growth",
     "% (year on year, year to date)", "higher", "hard", 5.0, 3.0, 6.0, 1),
    ("dx_industry_growth", "规模以上工业增加值增速", "Industrial value added growth (above scale)",
     "% (year on year, year to date)", "higher", "hard", 7.0, 2.5, 4.0, 1),
    ("dx_party_building", "党的建设", "Party building", "rating 0-100", "higher", "rating",
     88.0, 3.0, 2.5, 1),
    ("dx_task_rural", "乡村振兴", "Key task: rural revitalisation", "% of target to date",
     "higher", "task", 96.0, 5.0, 6.0, 1),
    ("dx_task_projects", "项目建设", "Key task: project construction", "% of target to date",
     "higher", "task", 94.0, 5.0, 7.0, 1),
    ("dx_task_ecology", "生态环境", "Key task: ecology and environment", "% of target to date",
     "higher", "task", 97.0, 4.0, 5.0, 1),
    ("dx_task_safety", "安全生产", "Key task: work safety", "% of target to date", "higher",
     "task", 98.0, 3.0, 4.0, 1),
    # negative list: mean = events per county-quarter at capacity 0, slope = log-rate per sd
    ("dx_neg_safety_accidents", "较大以上安全事故", "Major (or worse) safety accidents",
     "count (year to date)", "lower", "negative", 0.03, -0.4, 0.0, 0),
    ("dx_neg_petitions", "越级信访", "Petitions bypassing the proper level", "count (year to date)",
     "lower", "negative", 0.05, -0.4, 0.0, 0),
    ("dx_neg_env_violations", "中央环保督察交办问题未整改",
     "Unrectified problems assigned by the central environmental inspection",
     "count (year to date)", "lower", "negative", 0.04, -0.4, 0.0, 0),
    ("dx_progress_projects", "重点项目投资完成进度", "Key-project investment progress",
     "% of annual target (cumulative)", "higher", "progress", 0.0, 0.08, 0.05, 1),
    ("dept_service", "部门履职评价", "Department performance rating", "rating 0-100", "higher",
     "department", 90.0, 3.0, 1.5, 1),
)

_DX_DESCRIPTIONS = {
    "hard": "Quantifiable hard indicator (量化硬指标): year-on-year growth, cumulative from January "
            "to the end of the quarter (year to date). Synthetic.",
    "rating": "Rating 0-100 by the assessment team, year to date. Synthetic.",
    "task": "Key task (重点任务) completion, % of the target due by the end of the quarter, year "
            "to date. Synthetic.",
    "negative": "Negative list (负面清单) item: number of events from January to the end of the "
                "quarter (resets each year); managed by deduction, not scored. Synthetic.",
    "progress": "Cumulative % of the annual investment target completed, compared with the time "
                "schedule 25/50/75/100 % at Q1..Q4 for the yellow/red traffic lights (黄灯提醒 / "
                "红灯预警). Synthetic.",
    "department": "Rating 0-100 of a city department's performance of its duties, year to date. "
                  "Synthetic.",
}


def _dingxi_units(capacity: dict[str, float]) -> pd.DataFrame:
    real = "real administrative unit (name and adcode); all values synthetic"
    rows = [dict(unit=_DX_PREFECTURE[0], name=_DX_PREFECTURE[1], name_en=_DX_PREFECTURE[2],
                 level="prefecture", parent="", group="", adcode=_DX_PREFECTURE[0], note=real)]
    rows += [dict(unit=u, name=n, name_en=e, level="county", parent="621100", group="county",
                  adcode=u, note=real) for u, n, e in _DX_COUNTIES]
    rows += [dict(unit=u, name=n, name_en=e, level="department", parent="621100",
                  group="department", adcode="",
                  note="real kind of city department; all values synthetic")
             for u, n, e in _DX_DEPARTMENTS]
    units = pd.DataFrame(rows)
    units.insert(6, "subgroup", "")
    units["latent_capacity"] = units["unit"].map(capacity)
    return units


def _dingxi_indicators(seed: int) -> pd.DataFrame:
    rows = [dict(indicator=code, name=name, name_en=name_en, unit_of_measure=uom,
                 direction=direction, description=_DX_DESCRIPTIONS[kind], source=_source(seed),
                 role="indicator", applies_to="department" if kind == "department" else "county",
                 kind=kind)
            for code, name, name_en, uom, direction, kind, *_ in _DX_INDICATORS]
    return pd.DataFrame(rows)


def dingxi_panel(seed: int = DINGXI_SEED) -> Dataset:
    """Synthetic quarterly panel 2024Q1..2025Q4 for the Dingxi (定西) supervision-assessment platform.

    Parameters
    ----------
    seed : int
        Seed of ``numpy.random.default_rng``; recorded in the provenance and in the ``source``
        column of every indicator.

    Returns
    -------
    Dataset
        Named ``"dingxi"``. Units: prefecture ``"621100"``; 7 real counties (group ``"county"``);
        8 city departments ``DD01..DD08`` (group ``"department"``). Every value is year to date:
        growth rates and ratings are cumulative means over the quarters of the year so far,
        negative-list counts are cumulative counts reset each January, project progress is the
        cumulative % of the annual target.

    Notes
    -----
    Single-quarter value :math:`g_{uyqi} = \\mu_i + b_i c_u + y_{yi} + e_{uyqi}`, published as
    :math:`\\bar g_{uyki} = \\frac1k \\sum_{q\\le k} g_{uyqi}`. Negative-list counts are
    cumulative sums of Poisson draws with rate :math:`\\lambda_i e^{-0.4 c_u}` per quarter.
    Progress after quarter ``k``: :math:`\\max_{q \\le k} 25 q\\, p_{uy} (1 + e_{uyq})`,
    :math:`p_{uy} = 1 + 0.08 c_u + N(0, 0.05^2)`, :math:`e \\sim N(0, 0.03^2)`. The county in
    :data:`DINGXI_WEAK` is persistently weak by construction.

    Examples
    --------
    >>> ds = dingxi_panel()
    >>> ds.periods[0], ds.periods[-1], len(ds.periods)
    ('2024Q1', '2025Q4', 8)
    """
    rng = np.random.default_rng(seed)
    county_ids = [u for u, _, _ in _DX_COUNTIES]
    dept_ids = [u for u, _, _ in _DX_DEPARTMENTS]
    capacity: dict[str, float] = {_DX_PREFECTURE[0]: np.nan}
    for ids in (county_ids, dept_ids):
        capacity.update(zip(ids, _draw_capacity(rng, ids, DINGXI_WEAK), strict=True))
    n_years, n_q = 2, 4
    k = np.arange(1, n_q + 1, dtype=float)  # quarters elapsed

    def ytd_mean(ids: list[str], rows: Sequence[tuple]) -> np.ndarray:
        """Year-to-date means of single-quarter values: array (units, years*4, indicators)."""
        cap = np.array([capacity[u] for u in ids])
        mean = np.array([r[6] for r in rows])
        slope = np.array([r[7] for r in rows])
        sd = np.array([r[8] for r in rows])
        year = rng.normal(0.0, 1.0, (n_years, len(rows))) * sd * 0.5
        noise = rng.normal(0.0, 1.0, (len(ids), n_years, n_q, len(rows))) * sd
        g = mean + slope * cap[:, None, None, None] + year[None, :, None, :] + noise
        ytd = np.cumsum(g, axis=2) / k[None, None, :, None]
        return ytd.reshape(len(ids), n_years * n_q, len(rows))

    spec = list(_DX_INDICATORS)
    by_kind = {kind: [r for r in spec if r[5] == kind] for kind in
               ("hard", "rating", "task", "negative", "progress", "department")}
    cap_c = np.array([capacity[u] for u in county_ids])

    hard = ytd_mean(county_ids, by_kind["hard"])
    rating = np.clip(ytd_mean(county_ids, by_kind["rating"]), 0.0, 100.0)
    task = np.clip(ytd_mean(county_ids, by_kind["task"]), 40.0, 130.0)

    rate = np.array([r[6] for r in by_kind["negative"]]) * np.exp(
        np.array([r[7] for r in by_kind["negative"]]) * cap_c[:, None])
    events = rng.poisson(rate[:, None, None, :], (len(county_ids), n_years, n_q, rate.shape[1]))
    negative = np.cumsum(events, axis=2).reshape(len(county_ids), n_years * n_q, -1)

    _, _, _, _, _, _, _, pace_slope, pace_sd, _ = by_kind["progress"][0]
    pace = 1.0 + pace_slope * cap_c[:, None] + rng.normal(0.0, pace_sd, (len(county_ids), n_years))
    wobble = 1.0 + rng.normal(0.0, 0.03, (len(county_ids), n_years, n_q))
    progress = np.maximum.accumulate(25.0 * k * pace[:, :, None] * wobble, axis=2)
    progress = progress.reshape(len(county_ids), n_years * n_q, 1)

    dept = np.clip(ytd_mean(dept_ids, by_kind["department"]), 0.0, 100.0)

    county_codes = [r[0] for kind in ("hard", "rating", "task", "negative", "progress")
                    for r in by_kind[kind]]
    county_values = np.concatenate(
        [_round(hard, 1), _round(rating, 1), _round(task, 1), negative.astype(float),
         _round(progress, 1)], axis=2)
    frames = [
        _long(county_values, county_ids, DINGXI_QUARTERS, county_codes),
        _long(_round(dept, 1), dept_ids, DINGXI_QUARTERS, ["dept_service"]),
    ]
    units = _dingxi_units(capacity)
    indicators = _dingxi_indicators(seed)
    values = _order_values(pd.concat(frames, ignore_index=True), units, indicators)
    return Dataset.from_frames(units, indicators, values, name="dingxi",
                               provenance=_dingxi_provenance(seed))


def _dingxi_provenance(seed: int) -> str:
    return (
        "REAL: the prefecture 定西市 (621100) and its seven counties with their administrative "
        "codes (安定区 621102, 通渭县 621121, 陇西县 621122, 渭源县 621123, 临洮县 621124, 漳县 "
        "621125, 岷县 621126); the kinds of city department; the indicator families follow the "
        "Dingxi integrated supervision-assessment platform (seed document 004, see "
        "docs/schemes-from-seeds.md).\n"
        "SYNTHETIC: every value and the latent_capacity column (the generator's truth). Generated "
        f"by assesskit.data.synthetic_cities.dingxi_panel(seed={seed}); regenerate with `python -m "
        "assesskit.data.synthetic_cities`. County made persistently weak by construction: "
        f"{', '.join(DINGXI_WEAK)} (latent capacity {WEAK_GAP} sd below the others). All values "
        "are year to date (see the indicators' descriptions). No value is an official "
        "statistic.\n"
        "Licence: generated data, MIT like the code."
    )


# ---------------------------------------------------------------------------------- writing
_DECIMALS = {row[0]: row[-1] for row in (*_JC_INDICATORS, *_DX_INDICATORS)}

_YAML = """\
# Generated by `python -m assesskit.data.synthetic_cities` ({function}); do not edit by hand:
# change the generator and regenerate (tests/test_synthetic_cities.py compares the bytes).
name: {name}
title: "{title}"
description: >-
  {description}
kind: synthetic
generator: "assesskit.data.synthetic_cities:{function}"
seed: {seed}
provenance: |
{provenance}
files:
  units: units.csv
  indicators: indicators.csv
  values: values.csv
"""


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    """UTF-8 CSV, no index, ``"\\n"`` line ends, cells already formatted as text."""
    text = frame.to_csv(index=False, lineterminator="\n")
    path.write_bytes(text.encode("utf-8"))


def write_dataset(ds: Dataset, directory: str | Path, *, title: str, description: str,
                  function: str, seed: int) -> Path:
    """Write a synthetic dataset as ``dataset.yaml`` + three CSV files, byte-deterministically.

    Parameters
    ----------
    ds : Dataset
        A panel made by :func:`jincheng_panel` or :func:`dingxi_panel`.
    directory : str or Path
        Target directory (created if needed); existing files are overwritten.
    title, description : str
        For ``dataset.yaml``.
    function : str
        Name of the generating function, recorded in ``dataset.yaml``.
    seed : int
        Seed used, recorded in ``dataset.yaml``.

    Returns
    -------
    Path
        The directory written.

    Notes
    -----
    Values are written with the indicator's fixed number of decimals (1 for % and ratings, 0 for
    counts), rows in the order period, unit (units-table order), indicator (indicators-table
    order); ``latent_capacity`` with 3 decimals.
    """
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    units = ds.units.copy()
    units["latent_capacity"] = units["latent_capacity"].map(
        lambda x: "" if pd.isna(x) else f"{x:.3f}")
    values = ds.values.copy()
    decimals = values["indicator"].map(_DECIMALS)
    values["value"] = [f"{v:.{d}f}" for v, d in zip(values["value"], decimals, strict=True)]
    _write_csv(units, out / "units.csv")
    _write_csv(ds.indicators, out / "indicators.csv")
    _write_csv(values, out / "values.csv")
    provenance = "\n".join("  " + line for line in ds.provenance.splitlines())
    yaml_text = _YAML.format(name=ds.name, title=title, description=description,
                             function=function, seed=seed, provenance=provenance)
    (out / "dataset.yaml").write_bytes(yaml_text.encode("utf-8"))
    return out


def write_jincheng(directory: str | Path, seed: int = JINCHENG_SEED) -> Path:
    """Generate :func:`jincheng_panel` and write it to ``directory`` (e.g. ``data/jincheng``).

    Parameters
    ----------
    directory : str or Path
        Target directory.
    seed : int
        Generator seed.

    Returns
    -------
    Path
        The directory written.
    """
    return write_dataset(
        jincheng_panel(seed), directory, seed=seed, function="jincheng_panel",
        title="晋城市 1+4 assessment system: example panel 2022-2025 (real county names, "
              "synthetic values)",
        description="Annual example data for the Jincheng (Shanxi) 1+4 assessment system: 6 "
                    "county-level units with differentiated and county-specific indicators, 12 "
                    "towns, 6 sub-districts and 6 city departments. All values are synthetic.",
    )


def write_dingxi(directory: str | Path, seed: int = DINGXI_SEED) -> Path:
    """Generate :func:`dingxi_panel` and write it to ``directory`` (e.g. ``data/dingxi``).

    Parameters
    ----------
    directory : str or Path
        Target directory.
    seed : int
        Generator seed.

    Returns
    -------
    Path
        The directory written.
    """
    return write_dataset(
        dingxi_panel(seed), directory, seed=seed, function="dingxi_panel",
        title="定西市 supervision-assessment platform: example panel 2024Q1-2025Q4 (real county "
              "names, synthetic values)",
        description="Quarterly, year-to-date example data for the Dingxi (Gansu) integrated "
                    "supervision-assessment platform: 7 counties with hard indicators, Party "
                    "building, key tasks, a negative list and project progress against the time "
                    "schedule, and 8 city departments. All values are synthetic.",
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Regenerate ``data/jincheng`` and ``data/dingxi`` (``python -m assesskit.data.synthetic_cities``)."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--out", type=Path, default=_REPO_DATA,
                        help="data root to write jincheng/ and dingxi/ into (default: repo data/)")
    args = parser.parse_args(argv)
    for path in (write_jincheng(args.out / "jincheng"), write_dingxi(args.out / "dingxi")):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
