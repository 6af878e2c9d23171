"""Synthetic example panels for the Jincheng (晋城) and Dingxi (定西) assessment schemes.

Two small, documented, seeded datasets that exercise the rules of the two city schemes digested
in ``docs/schemes-from-seeds.md``:

``jincheng`` (annual 2022..2025, and months for the monthly dispatch)
    The Jincheng "1+4" system (一个全市体系 + 四类差异化考核): 6 real county-level units scored on
    the 8 first-level indicators plus the county-specific indicators the source gives them (城区
    its 5 national air-quality monitoring points; 泽州 and 陵川 gas supply; 泽州 and 高平 rural
    black-odorous water; 沁水 the national forest city), with their monthly progress against the
    time schedule; 12 synthetic towns (乡镇), 6 synthetic urban sub-districts (街道) and 30 city
    departments (市直部门), each with values on the first-level indicators it leads.
``dingxi`` (quarterly 2024Q1..2025Q4, year-to-date)
    The Dingxi integrated supervision-assessment platform (督查考核一体化平台): 7 real counties with
    the stated structure — 42 economic-operation (quantifiable hard) indicators, 12
    Party-building indicators, 13 key tasks (names illustrative where the source gives none) — a
    negative list (负面清单) of counts, and cumulative progress of key-project investment against
    the time schedule 25/50/75/100 % (for yellow/red traffic lights), plus 8 city departments.

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
counties (other counties have no row at all, on purpose); their monthly cumulative completion
follows the time schedule :data:`JINCHENG_SCHEDULE` (see :func:`_monthly_progress`).
Departments: the same model with offset −9 and slope 3, for the indicators each leads.

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
# The 8 first-level indicators of the city departments (市直单位), the same as the counties':
# code suffix, name.
_JC_FIRST_LEVEL = (
    ("industry", "现代产业“1+5”"), ("projects", "项目支撑"), ("market_entities", "市场主体"),
    ("urban", "城市建设"), ("rural", "乡村振兴"), ("business_env", "营商环境"),
    ("ecology", "生态文明"), ("welfare", "社会民生"),
)
# 30 responsible city departments (kinds of department of a prefecture-level city in Shanxi) and
# the first-level indicators each leads. The source names 发改, 工信, 住建, 生态环境, 农业农村 among the
# 30 and says the development commission leads industry, projects and market entities and the
# agriculture bureau rural revitalisation; the other assignments are ILLUSTRATIVE (by remit).
_JC_DEPARTMENTS = (
    ("JD01", "市发展改革委", "Municipal Development and Reform Commission",
     ("industry", "projects", "market_entities")),
    ("JD02", "市工信局", "Municipal Bureau of Industry and Information Technology", ("industry",)),
    ("JD03", "市住建局", "Municipal Bureau of Housing and Urban-Rural Development", ("urban",)),
    ("JD04", "市生态环境局", "Municipal Bureau of Ecology and Environment", ("ecology",)),
    ("JD05", "市农业农村局", "Municipal Bureau of Agriculture and Rural Affairs", ("rural",)),
    ("JD06", "市行政审批服务管理局", "Municipal Administrative Approval Service Bureau",
     ("business_env",)),
    ("JD07", "市商务局", "Municipal Bureau of Commerce", ("market_entities", "business_env")),
    ("JD08", "市市场监管局", "Municipal Administration for Market Regulation",
     ("market_entities", "business_env")),
    ("JD09", "市财政局", "Municipal Finance Bureau", ("projects",)),
    ("JD10", "市自然资源局", "Municipal Bureau of Natural Resources", ("projects", "ecology")),
    ("JD11", "市交通运输局", "Municipal Transport Bureau", ("projects", "urban")),
    ("JD12", "市水务局", "Municipal Water Affairs Bureau", ("rural", "ecology")),
    ("JD13", "市能源局", "Municipal Energy Bureau", ("industry",)),
    ("JD14", "市科技局", "Municipal Bureau of Science and Technology", ("industry",)),
    ("JD15", "市文化和旅游局", "Municipal Bureau of Culture and Tourism", ("industry", "welfare")),
    ("JD16", "市城市管理局", "Municipal Urban Management Bureau", ("urban",)),
    ("JD17", "市教育局", "Municipal Education Bureau", ("welfare",)),
    ("JD18", "市卫生健康委", "Municipal Health Commission", ("welfare",)),
    ("JD19", "市人力资源社会保障局", "Municipal Bureau of Human Resources and Social Security",
     ("welfare", "market_entities")),
    ("JD20", "市民政局", "Municipal Civil Affairs Bureau", ("welfare",)),
    ("JD21", "市医疗保障局", "Municipal Healthcare Security Bureau", ("welfare",)),
    ("JD22", "市林业局", "Municipal Forestry Bureau", ("ecology",)),
    ("JD23", "市乡村振兴局", "Municipal Rural Revitalisation Bureau", ("rural",)),
    ("JD24", "市供销社", "Municipal Supply and Marketing Cooperative", ("rural",)),
    ("JD25", "市国资委", "Municipal State-owned Assets Supervision and Administration Commission",
     ("industry", "projects")),
    ("JD26", "市投资促进中心", "Municipal Investment Promotion Centre", ("projects", "business_env")),
    ("JD27", "市地方金融监管局", "Municipal Local Financial Supervision Bureau",
     ("market_entities", "business_env")),
    ("JD28", "市退役军人事务局", "Municipal Veterans Affairs Bureau", ("welfare",)),
    ("JD29", "市应急管理局", "Municipal Emergency Management Bureau", ("welfare",)),
    ("JD30", "市公安局", "Municipal Public Security Bureau", ("business_env", "welfare")),
)
# County-specific indicators (区域重点工作) and the counties they belong to, as the source lists
# them: 城区 the 5 national air-quality monitoring points; 泽州 AND 陵川 gas supply (气化晋城);
# 泽州 AND 高平 rural black-odorous water; 沁水 the national forest city. 阳城县 has none.
_JC_COUNTY_SPECIFIC = (
    ("jc_air_monitoring", "5个空气质量“国控点”精细化治理",
     "Fine-grained control of the 5 national air-quality monitoring points", ("140502",), -1.0,
     4.0),
    ("jc_gas_supply", "气化晋城（燃气供应）", "Gasification of Jincheng (gas supply)",
     ("140524", "140525"), 1.0, 4.0),
    ("jc_black_odorous_water", "农村黑臭水体治理", "Rural black and odorous water treatment",
     ("140525", "140581"), -2.0, 5.0),
    ("jc_forest_city", "国家森林城市创建", "National forest city campaign", ("140521",), 0.0, 4.0),
)
#: The city's time schedule (序时进度) of every county-specific indicator: % of the annual target
#: due by the end of each month (slow in winter), as the scheme's monthly dispatch uses it.
JINCHENG_SCHEDULE = (5.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 88.0, 95.0, 100.0)

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
    *((code, name, name_en, "%", "higher", ", ".join(counties), offset, sd, 1)
      for code, name, name_en, counties, offset, sd in _JC_COUNTY_SPECIFIC),
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
    *((f"jd_{suffix}", f"{name}牵头事项完成率", f"Department items led: {suffix.replace('_', ' ')}",
       "dept", "higher", "department", -9.0, 3.0, 1) for suffix, name in _JC_FIRST_LEVEL),
)

_JC_DESCRIPTIONS = {
    "%": "Completion of the annual target, % (100 = target met exactly). Synthetic.",
    "count": "Number of tasks of the four major traction projects (四大牵引工程) the town or "
             "sub-district carries that year; more tasks earn a higher evaluation coefficient "
             "(评价系数). Not a performance score. Synthetic.",
    "dept": "Completion, % of target, of the assessment items (考核事项) a city department leads "
            "under this first-level indicator (领题攻坚); only the departments that lead it have a "
            "value. Synthetic.",
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
    names = dict(_JC_FIRST_LEVEL)
    rows += [dict(unit=u, name=n, name_en=e, level="department", parent="140500",
                  group="department", adcode="",
                  note="kind of city department (illustrative list of 30); leads "
                       + "、".join(names[x] for x in leads) + "; all values synthetic")
             for u, n, e, leads in _JC_DEPARTMENTS]
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
    county_names = {u: n for u, n, _ in _JC_COUNTIES}
    rows = []
    for code, name, name_en, uom, direction, applies, *_ in _JC_INDICATORS:
        desc = _JC_DESCRIPTIONS[uom]
        if applies.startswith("14"):
            owners = " and ".join(f"{county_names[u]} ({u})" for u in applies.split(", "))
            desc = (f"County-specific indicator (区域重点工作) of {owners} only; the other counties "
                    "have no value for it. The annual value (period YYYY) is the completion of "
                    "the county's own annual target; the monthly values (YYYY-MM) are the "
                    "cumulative completion at the end of each month, checked against the time "
                    "schedule (序时进度) in the monthly dispatch. " + desc)
        rows.append(dict(indicator=code, name=name, name_en=name_en,
                         unit_of_measure="count" if uom == "count" else "% of annual target",
                         direction=direction, description=desc, source=_source(seed),
                         role="indicator", applies_to=applies))
    return pd.DataFrame(rows)


def _monthly_progress(rng: np.random.Generator, annual: np.ndarray, capacity: np.ndarray
                      ) -> np.ndarray:
    """Cumulative completion (%) at the end of each month, ending at the annual value.

    ``annual`` (pairs, years): the year's completion; ``capacity`` (pairs,): the county's latent
    capacity. Progress follows the schedule :data:`JINCHENG_SCHEDULE` scaled by the year's
    completion, a county pace ``1 + 0.05 c`` in the first months (weak counties start slowly and
    catch up late) and noise ``N(0, 0.04²)``; it never falls and ends exactly at the annual value.
    Returns (pairs, years, 12).
    """
    share = np.asarray(JINCHENG_SCHEDULE) / 100.0
    early = 1.0 + 0.05 * capacity[:, None, None] * (1.0 - share)[None, None, :]
    noise = 1.0 + rng.normal(0.0, 0.04, annual.shape + (12,))
    path = annual[:, :, None] * share[None, None, :] * early * noise
    path = np.minimum(np.maximum.accumulate(path, axis=2), annual[:, :, None])
    path[:, :, -1] = annual
    return _round(path, 1)


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
        sub-districts ``JS01..JS06`` under 城区 (group ``"subdistrict"``); 30 city departments
        ``JD01..JD30`` (group ``"department"``). Values: completion of the annual target in %
        (one decimal), ``traction_tasks`` counts (integers), and the monthly cumulative
        completion of the county-specific indicators (periods ``YYYY-MM``).

    Notes
    -----
    Model (see the module docstring): :math:`x_{uti} = 100 + m_i + 4 c_u + y_t + s_{ut}
    - k_i (n_{ut} - 4) + e_{uti}`, clipped to [40, 150]. County-specific indicators have rows
    for their own counties only: ``jc_air_monitoring`` 城区; ``jc_gas_supply`` 泽州县 and 陵川县;
    ``jc_black_odorous_water`` 泽州县 and 高平市; ``jc_forest_city`` 沁水县. Department values
    (``jd_*``) exist only for the departments that lead the indicator. The units in
    :data:`JINCHENG_WEAK` are persistently weak by construction.

    Examples
    --------
    >>> ds = jincheng_panel()
    >>> [p for p in ds.periods if len(p) == 4]
    ['2022', '2023', '2024', '2025']
    >>> int((ds.units["level"] == "department").sum())
    30
    """
    rng = np.random.default_rng(seed)
    years = list(JINCHENG_YEARS)
    ny = len(years)
    county_ids = [u for u, _, _ in _JC_COUNTIES]
    town_ids = [f"JT{i:02d}" for i in range(1, 13)]
    sub_ids = [f"JS{i:02d}" for i in range(1, 7)]
    dept_ids = [row[0] for row in _JC_DEPARTMENTS]

    # Draw order is part of the contract (changing it changes the committed files). It keeps
    # the order of the first version of the panel (6 departments, one county per county-specific
    # indicator), so that completing the departments and the county-specific indicators left
    # the values of the counties, towns and sub-districts unchanged: the new draws come last.
    capacity: dict[str, float] = {_JC_PREFECTURE[0]: np.nan}
    for ids in (county_ids, town_ids, sub_ids, dept_ids[:6]):
        capacity.update(zip(ids, _draw_capacity(rng, ids, JINCHENG_WEAK), strict=True))
    year_effect = rng.normal(0.0, 1.5, ny)

    spec = {row[0]: row for row in _JC_INDICATORS}

    def block(ids: list[str], codes: list[str], tasks: np.ndarray | None = None,
              slope: float = 4.0) -> np.ndarray:
        """Completion % for ids × years × codes, following the model in the docstring."""
        cap = np.array([capacity[u] for u in ids])
        offset = np.array([spec[c][6] for c in codes])
        sd = np.array([spec[c][7] for c in codes])
        shock = rng.normal(0.0, 2.5, (len(ids), ny))
        noise = rng.normal(0.0, 1.0, (len(ids), ny, len(codes))) * sd
        x = 100.0 + offset + slope * cap[:, None, None] + year_effect[None, :, None] \
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
    # county-specific indicators: the year's completion of the county's own target (one county
    # at a time; the first county of each indicator here, the second after the towns)
    annual: dict[tuple[str, str], np.ndarray] = {}
    for code, _, _, counties, *_ in _JC_COUNTY_SPECIFIC:
        annual[(code, counties[-1])] = block([counties[-1]], [code])[0, :, 0]
    for ids, level in ((town_ids, "town"), (sub_ids, "subdistrict")):
        codes = [c for c, *rest in _JC_INDICATORS if rest[4] == level]
        tasks = traction_tasks(len(ids))
        scores = block(ids, codes, tasks)
        both = np.concatenate([scores, tasks[:, :, None]], axis=2)
        frames.append(_long(both, ids, years, [*codes, "traction_tasks"]))
    capacity.update(zip(dept_ids[6:], _draw_capacity(rng, dept_ids[6:], ()), strict=True))
    for code, _, _, counties, *_ in _JC_COUNTY_SPECIFIC:
        for county in counties[:-1]:
            annual[(code, county)] = block([county], [code])[0, :, 0]

    # ... and its monthly path against the time schedule; rows for its own counties only
    months = [f"{y}-{m:02d}" for y in years for m in range(1, 13)]
    for code, _, _, counties, *_ in _JC_COUNTY_SPECIFIC:
        year_values = np.stack([annual[(code, c)] for c in counties])
        cap = np.array([capacity[u] for u in counties])
        monthly = _monthly_progress(rng, year_values, cap).reshape(len(counties), ny * 12, 1)
        frames.append(_long(year_values[:, :, None], counties, years, [code]))
        frames.append(_long(monthly, counties, months, [code]))

    # departments: completion of the items each leads, under the first-level indicators it leads
    for uid, _, _, leads in _JC_DEPARTMENTS:
        codes = [f"jd_{x}" for x in leads]
        frames.append(_long(block([uid], codes, slope=3.0), [uid], years, codes))

    units = _jincheng_units(capacity)
    indicators = _jincheng_indicators(seed)
    values = _order_values(pd.concat(frames, ignore_index=True), units, indicators)
    return Dataset.from_frames(units, indicators, values, name="jincheng",
                               provenance=_jincheng_provenance(seed))


def _order_values(values: pd.DataFrame, units: pd.DataFrame, indicators: pd.DataFrame
                  ) -> pd.DataFrame:
    """Fixed row order: period (in time, a year before its months), then units-table order,
    then indicators-table order."""
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
        "140525, 高平市 140581); which county carries which county-specific indicator (城区 the 5 "
        "national air-quality monitoring points; 泽州县 and 陵川县 gas supply; 泽州县 and 高平市 "
        "rural black-odorous water; 沁水县 the national forest city); the indicator names and "
        "structure follow the Jincheng \"1+4\" assessment system (seed document 001, see "
        "docs/schemes-from-seeds.md).\n"
        "ILLUSTRATIVE: the list of 30 city departments and which first-level indicators each "
        "leads (the source names 发改, 工信, 住建, 生态环境, 农业农村 and says the development "
        "commission leads industry, projects and market entities; the rest is assigned by remit); "
        "the monthly time schedule of the county-specific indicators.\n"
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

_YTD = "% (year on year, year to date)"
_PCT = "% of target to date"
# code, name, name_en, unit_of_measure, direction, kind, mean, capacity slope, sd, decimals.
# The source gives the structure (12 Party-building indicators, 42 economic-operation
# indicators, 13 key tasks; quantifiable hard indicators 60% of the weight) and names five key
# tasks (乡村振兴、项目建设、产业发展、生态环保、安全生产); every other name is ILLUSTRATIVE:
# indicators of the kind Gansu prefectures assess (column ``named_by`` of the indicators table).
_DX_HARD = (  # 42 economic-operation indicators (经济运行指标), the quantifiable hard part
    ("dx_gdp_growth", "地区生产总值增速", "GDP growth", _YTD, "higher", "hard", 5.5, 1.0, 1.5, 1),
    ("dx_investment_growth", "固定资产投资增速", "Fixed-asset investment growth", _YTD, "higher",
     "hard", 6.0, 4.0, 8.0, 1),
    ("dx_retail_growth", "社会消费品零售总额增速", "Retail sales growth", _YTD, "higher", "hard",
     6.0, 1.0, 2.5, 1),
    ("dx_rural_income_growth", "农村居民人均可支配收入增速", "Rural disposable income growth", _YTD,
     "higher", "hard", 7.5, 0.4, 0.8, 1),
    ("dx_fiscal_revenue_growth", "一般公共预算收入增速", "General budget revenue growth", _YTD,
     "higher", "hard", 5.0, 3.0, 6.0, 1),
    ("dx_industry_growth", "规模以上工业增加值增速", "Industrial value added growth (above scale)",
     _YTD, "higher", "hard", 7.0, 2.5, 4.0, 1),
    ("dx_primary_growth", "第一产业增加值增速", "Primary-sector value added growth", _YTD,
     "higher", "hard", 5.5, 0.5, 1.0, 1),
    ("dx_secondary_growth", "第二产业增加值增速", "Secondary-sector value added growth", _YTD,
     "higher", "hard", 6.0, 1.5, 2.5, 1),
    ("dx_tertiary_growth", "第三产业增加值增速", "Tertiary-sector value added growth", _YTD,
     "higher", "hard", 5.5, 1.0, 1.5, 1),
    ("dx_industry_revenue_growth", "规模以上工业企业营业收入增速",
     "Revenue growth of industrial enterprises above scale", _YTD, "higher", "hard",
     7.0, 2.5, 5.0, 1),
    ("dx_industrial_power_growth", "工业用电量增速", "Industrial electricity use growth", _YTD,
     "higher", "hard", 6.0, 1.5, 4.0, 1),
    ("dx_industrial_investment_growth", "工业投资增速", "Industrial investment growth", _YTD,
     "higher", "hard", 8.0, 4.0, 10.0, 1),
    ("dx_project_investment_growth", "500万元以上项目投资增速",
     "Growth of investment in projects over 5 million yuan", _YTD, "higher", "hard",
     7.0, 3.5, 8.0, 1),
    ("dx_private_investment_growth", "民间投资增速", "Private investment growth", _YTD, "higher",
     "hard", 4.0, 3.0, 8.0, 1),
    ("dx_infrastructure_investment_growth", "基础设施投资增速", "Infrastructure investment growth",
     _YTD, "higher", "hard", 8.0, 3.0, 9.0, 1),
    ("dx_real_estate_investment_growth", "房地产开发投资增速",
     "Real-estate development investment growth", _YTD, "higher", "hard", -2.0, 2.0, 8.0, 1),
    ("dx_retail_above_quota_growth", "限额以上单位消费品零售额增速",
     "Retail sales growth of units above quota", _YTD, "higher", "hard", 7.0, 1.5, 4.0, 1),
    ("dx_tax_revenue_growth", "税收收入增速", "Tax revenue growth", _YTD, "higher", "hard",
     5.0, 3.0, 6.0, 1),
    ("dx_tax_share", "税收收入占一般公共预算收入比重", "Tax share of general budget revenue",
     "% (year to date)", "higher", "hard", 65.0, 4.0, 3.0, 1),
    ("dx_urban_income_growth", "城镇居民人均可支配收入增速", "Urban disposable income growth",
     _YTD, "higher", "hard", 6.0, 0.4, 0.8, 1),
    ("dx_lifted_income_growth", "脱贫人口人均纯收入增速",
     "Income growth of the population lifted out of poverty", _YTD, "higher", "hard",
     9.0, 0.6, 1.2, 1),
    ("dx_investment_attraction_growth", "招商引资到位资金增速",
     "Growth of investment attracted and in place", _YTD, "higher", "hard", 12.0, 4.0, 10.0, 1),
    ("dx_fdi_growth", "实际利用外资增速", "Foreign direct investment used, growth", _YTD, "higher",
     "hard", 5.0, 3.0, 12.0, 1),
    ("dx_trade_growth", "外贸进出口总额增速", "Foreign trade growth", _YTD, "higher", "hard",
     8.0, 3.0, 12.0, 1),
    ("dx_market_entities_growth", "市场主体增速", "Growth of market entities", _YTD, "higher",
     "hard", 8.0, 2.0, 3.0, 1),
    ("dx_new_industrial_firms", "新增规模以上工业企业目标完成率",
     "New industrial enterprises above scale, % of target", _PCT, "higher", "hard",
     100.0, 8.0, 10.0, 1),
    ("dx_new_trade_firms", "新增限额以上商贸企业目标完成率",
     "New trade enterprises above quota, % of target", _PCT, "higher", "hard",
     100.0, 8.0, 10.0, 1),
    ("dx_deposit_growth", "金融机构各项存款余额增速", "Deposit balance growth", _YTD, "higher",
     "hard", 9.0, 1.0, 2.0, 1),
    ("dx_loan_growth", "金融机构各项贷款余额增速", "Loan balance growth", _YTD, "higher", "hard",
     10.0, 1.5, 2.5, 1),
    ("dx_new_jobs", "城镇新增就业目标完成率", "New urban jobs, % of target", _PCT, "higher",
     "hard", 100.0, 4.0, 6.0, 1),
    ("dx_unemployment", "城镇调查失业率", "Surveyed urban unemployment rate", "% (year to date)",
     "lower", "hard", 5.2, -0.2, 0.3, 1),
    ("dx_labour_transfer", "农村劳动力转移就业目标完成率",
     "Rural labour transferred to employment, % of target", _PCT, "higher", "hard",
     100.0, 4.0, 6.0, 1),
    ("dx_grain_output", "粮食产量目标完成率", "Grain output, % of target", _PCT, "higher", "hard",
     100.0, 3.0, 4.0, 1),
    ("dx_potato_area", "马铃薯种植面积目标完成率", "Potato area planted, % of target", _PCT,
     "higher", "hard", 100.0, 3.0, 5.0, 1),
    ("dx_herb_area", "中药材种植面积目标完成率", "Chinese medicinal herbs area, % of target",
     _PCT, "higher", "hard", 100.0, 3.0, 5.0, 1),
    ("dx_livestock_growth", "草食畜存栏增速", "Herbivorous livestock stock growth", _YTD, "higher",
     "hard", 5.0, 1.5, 3.0, 1),
    ("dx_agri_processing_rate", "农产品加工转化率", "Agricultural products processing rate",
     "% (year to date)", "higher", "hard", 62.0, 3.0, 2.0, 1),
    ("dx_tourism_revenue_growth", "旅游综合收入增速", "Tourism revenue growth", _YTD, "higher",
     "hard", 15.0, 4.0, 10.0, 1),
    ("dx_tourist_growth", "接待游客人次增速", "Tourist visits growth", _YTD, "higher", "hard",
     12.0, 3.0, 8.0, 1),
    ("dx_postal_growth", "邮政业务总量增速", "Postal business growth", _YTD, "higher", "hard",
     10.0, 2.0, 5.0, 1),
    ("dx_freight_growth", "货物运输量增速", "Freight volume growth", _YTD, "higher", "hard",
     6.0, 2.0, 6.0, 1),
    ("dx_energy_intensity_reduction", "单位地区生产总值能耗降低率",
     "Reduction of energy use per unit of GDP", "% (year to date)", "higher", "hard",
     3.0, 0.5, 1.0, 1),
)
_DX_PARTY = tuple(  # 12 Party-building indicators (党建保障指标): ratings 0-100
    (code, name, name_en, "rating 0-100", "higher", "rating", 88.0, 3.0, 2.5, 1)
    for code, name, name_en in (
        ("dx_pb_political", "政治建设", "Political building"),
        ("dx_pb_theory", "理论学习", "Theoretical study"),
        ("dx_pb_grassroots", "基层党组织建设", "Grassroots Party organisations"),
        ("dx_pb_members", "党员队伍建设", "Party members"),
        ("dx_pb_cadres", "干部队伍建设", "Cadres"),
        ("dx_pb_talent", "人才工作", "Talent work"),
        ("dx_pb_integrity", "党风廉政建设", "Integrity and conduct"),
        ("dx_pb_ideology", "意识形态工作", "Ideological work"),
        ("dx_pb_united_front", "统一战线工作", "United-front work"),
        ("dx_pb_publicity", "宣传思想文化工作", "Publicity and culture"),
        ("dx_pb_organs", "机关党建", "Party building in public organs"),
        ("dx_pb_rural_governance", "党建引领乡村治理", "Party-led rural governance")))
_DX_TASKS = tuple(  # 13 key tasks (重点工作): % of the target due, year to date
    (code, name, f"Key task: {name_en}", _PCT, "higher", "task", mean, slope, sd, 1)
    for code, name, name_en, mean, slope, sd in (
        ("dx_task_rural", "乡村振兴", "rural revitalisation", 96.0, 5.0, 6.0),
        ("dx_task_projects", "项目建设", "project construction", 94.0, 5.0, 7.0),
        ("dx_task_ecology", "生态环保", "ecology and environment", 97.0, 4.0, 5.0),
        ("dx_task_safety", "安全生产", "work safety", 98.0, 3.0, 4.0),
        ("dx_task_industry", "产业发展", "industrial development", 95.0, 5.0, 6.0),
        ("dx_task_investment", "招商引资", "investment attraction", 93.0, 5.0, 8.0),
        ("dx_task_urbanisation", "新型城镇化", "new-type urbanisation", 95.0, 4.0, 6.0),
        ("dx_task_business_env", "优化营商环境", "business environment", 96.0, 3.0, 5.0),
        ("dx_task_livelihood", "民生实事", "people's livelihood projects", 97.0, 3.0, 4.0),
        ("dx_task_social_governance", "平安建设与社会治理", "public security and governance",
         97.0, 3.0, 4.0),
        ("dx_task_rural_living", "农村人居环境整治", "rural living environment", 95.0, 4.0, 6.0),
        ("dx_task_public_services", "教育医疗等公共服务", "public services", 96.0, 3.0, 5.0),
        ("dx_task_risk", "防范化解重大风险", "preventing major risks", 97.0, 3.0, 4.0)))
#: The key tasks the source names (乡村振兴、项目建设、产业发展、生态环保、安全生产).
DINGXI_NAMED_TASKS = ("dx_task_rural", "dx_task_projects", "dx_task_industry", "dx_task_ecology",
                      "dx_task_safety")
_DX_OTHER = (
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
_DX_INDICATORS = (*_DX_HARD, *_DX_PARTY, *_DX_TASKS, *_DX_OTHER)
# How many of each family the first version of the panel had (their draws come first, so that
# completing the structure left their values unchanged).
_DX_FIRST = {"hard": 6, "rating": 1, "task": 4}

_DX_DESCRIPTIONS = {
    "hard": "Economic-operation indicator (经济运行指标), a quantifiable hard indicator (量化硬指标): "
            "year-on-year growth (or a rate, or % of the target), cumulative from January to the "
            "end of the quarter (year to date). Synthetic.",
    "rating": "Party-building indicator (党建保障指标): rating 0-100 by the assessment team, year "
              "to date. Synthetic.",
    "task": "Key task (重点工作) completion, % of the target due by the end of the quarter, year "
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
    named = {"negative", "progress", "department"}  # families the source names as such
    rows = [dict(indicator=code, name=name, name_en=name_en, unit_of_measure=uom,
                 direction=direction, description=_DX_DESCRIPTIONS[kind], source=_source(seed),
                 role="indicator", applies_to="department" if kind == "department" else "county",
                 kind=kind,
                 named_by="source" if kind in named or code in DINGXI_NAMED_TASKS
                 else "illustrative")
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

    first = _DX_FIRST  # the families of the first version of the panel are drawn first
    hard = ytd_mean(county_ids, by_kind["hard"][:first["hard"]])
    rating = np.clip(ytd_mean(county_ids, by_kind["rating"][:first["rating"]]), 0.0, 100.0)
    task = np.clip(ytd_mean(county_ids, by_kind["task"][:first["task"]]), 40.0, 130.0)

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
    # the rest of the 42 economic-operation, 12 Party-building and 13 key-task indicators
    hard = np.concatenate([hard, ytd_mean(county_ids, by_kind["hard"][first["hard"]:])], axis=2)
    rating = np.concatenate([rating, np.clip(ytd_mean(
        county_ids, by_kind["rating"][first["rating"]:]), 0.0, 100.0)], axis=2)
    task = np.concatenate([task, np.clip(ytd_mean(
        county_ids, by_kind["task"][first["task"]:]), 40.0, 130.0)], axis=2)

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
        "621125, 岷县 621126); the kinds of city department; the structure of the indicators "
        "follows the Dingxi integrated supervision-assessment platform (seed document 004, see "
        "docs/schemes-from-seeds.md): 12 Party-building indicators, 42 economic-operation "
        "indicators, 13 key tasks, a negative list, project progress against the time schedule.\n"
        "ILLUSTRATIVE: the names of the indicators the source does not name — all but the key "
        "tasks 乡村振兴, 项目建设, 产业发展, 生态环保, 安全生产 (column named_by of "
        "indicators.csv).\n"
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
                    "county-level units with differentiated and county-specific indicators (with "
                    "their monthly progress against the time schedule), 12 towns, 6 "
                    "sub-districts and 30 city departments. All values are synthetic.",
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
                    "supervision-assessment platform: 7 counties with 42 economic-operation "
                    "(hard) indicators, 12 Party-building indicators, 13 key tasks, a negative "
                    "list and project progress against the time schedule, and 8 city "
                    "departments. All values are synthetic.",
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
