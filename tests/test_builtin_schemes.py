"""The built-in schemes against the seed documents and against independent recomputation.

The expected numbers here are computed from the raw data with plain pandas, following the
published rules (and the assumptions each scheme file states), not with the engine's code.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import assesskit as ak
from assesskit.cli import main as cli_main


@pytest.fixture(scope="module")
def sichuan():
    return ak.datasets.load("sichuan-39")


@pytest.fixture(scope="module")
def sichuan_2024(sichuan):
    return ak.evaluate("sichuan-39", sichuan, 2024)


def test_builtin_names():
    assert {"sichuan-39", "jincheng-1plus4", "dingxi", "undp-hdi", "yingshan-first-secretaries",
            "yingshan-sending-units", "jiange-five-musts"} <= set(ak.builtin_schemes())


def _minmax_in_group(values: pd.Series, groups: pd.Series, lo=60.0, hi=100.0) -> pd.Series:
    g = values.groupby(groups)
    mn, mx = g.transform("min"), g.transform("max")
    # a group whose values are all equal (大小凉山彝区: water quality 100% everywhere in 2024)
    # has nobody behind: everyone gets the top of the range, as the scheme format documents
    return (lo + (hi - lo) * (values - mn) / (mx - mn)).where(mx > mn, hi)


def test_sichuan_county_scores_recomputed_independently(sichuan, sichuan_2024):
    # The published rule with the scheme's stated assumptions: 90% = ten task indicators, equal
    # weights, min–max within the regional group onto [60, 100]; "X and its growth" = half level,
    # half change on 2023; 10% = mean of three 0–100 ratings.
    units = sichuan.level_units("county").set_index("unit")
    now, before = sichuan.wide(2024), sichuan.wide(2023)
    now, before = now.loc[units.index], before.loc[units.index]
    grp = units["group"]
    parts = {}
    for code in ["gdp_per_capita", "lifted_income_growth", "urbanization_rate", "sewage_garbage_rate",
                 "sanitary_toilet_rate", "new_enterprise_share", "water_source_quality"]:
        parts[code] = _minmax_in_group(now[code], grp)
    parts["fiscal_self_sufficiency"] = 0.5 * _minmax_in_group(now["fiscal_self_sufficiency"], grp) + \
        0.5 * _minmax_in_group(now["fiscal_self_sufficiency"] - before["fiscal_self_sufficiency"], grp)
    for code in ["urban_income", "rural_income"]:
        growth = 100 * (now[code] / before[code] - 1)
        parts[code] = 0.5 * _minmax_in_group(now[code], grp) + 0.5 * _minmax_in_group(growth, grp)
    task = pd.DataFrame(parts).mean(axis=1)  # no value is missing in 2024
    resp = now[["resp_primary", "resp_partner", "resp_taskforce"]].mean(axis=1)
    expected = 0.9 * task + 0.1 * resp
    got = sichuan_2024.scores.set_index("unit").loc[units.index, "score"]
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=0, atol=1e-9)


def test_sichuan_quotas_follow_the_seed(sichuan_2024):
    s = sichuan_2024.scores[sichuan_2024.scores["level"] == "county"]
    counts = s.groupby(["group", "outcome"]).size().to_dict()
    assert counts[("秦巴山区", "praised")] == 3 and counts[("秦巴山区", "summoned")] == 1
    assert counts[("大小凉山彝区", "praised")] == 4 and counts[("大小凉山彝区", "summoned")] == 1
    plateau = s[s["group"] == "川西北高原地区"].groupby(["subgroup", "outcome"]).size().to_dict()
    assert plateau[("阿坝州", "praised")] == 3 and plateau[("甘孜州", "praised")] == 5
    assert plateau[("阿坝州", "summoned")] == 1 and plateau[("甘孜州", "summoned")] == 2
    # praised = best within the subgroup, summoned = worst within the subgroup
    for (_, sub), g in s[s["group"] == "川西北高原地区"].groupby(["group", "subgroup"]):
        n_top = 3 if sub == "阿坝州" else 5
        n_bottom = 1 if sub == "阿坝州" else 2
        order = g.sort_values("score", ascending=False)["unit"].tolist()
        assert set(g.loc[g["outcome"] == "praised", "unit"]) == set(order[:n_top])
        assert set(g.loc[g["outcome"] == "summoned", "unit"]) == set(order[-n_bottom:])


def test_sichuan_prefecture_is_70_percent_mean_of_its_counties(sichuan, sichuan_2024):
    s = sichuan_2024.scores
    counties = s[s["level"] == "county"]
    mean_by_pref = counties.groupby("parent")["score"].mean()
    ratings = sichuan.wide(2024)[["pref_coordination", "pref_five_forces", "pref_partner_org",
                                  "pref_projects"]].mean(axis=1)
    pref = s[s["level"] == "prefecture"].set_index("unit")["score"]
    expected = 0.7 * mean_by_pref.loc[pref.index] + 0.3 * ratings.loc[pref.index]
    np.testing.assert_allclose(pref.to_numpy(), expected.to_numpy(), atol=1e-9)
    assert len(pref) == 8


def test_sichuan_missing_value_is_renormalised_and_explained(sichuan):
    ev = ak.evaluate("sichuan-39", sichuan, 2023)  # 壤塘县 and 美姑县 lack water_source_quality
    missing = [e for e in ev.log if e["step"] == "missing"]
    assert {(e["unit"], e["node"]) for e in missing} == {("513230", "water_source_quality"),
                                                        ("513436", "water_source_quality")}
    text = ev.explain("壤塘县").text
    assert "renormalise" in text
    row = ev.contributions.query("unit == '513230' and node == 'water_source_quality'").iloc[0]
    assert row["max_points"] == 0 and "re-normalised" in row["reason"]
    # the other nine task indicators now carry 90/9 = 10 points each
    others = ev.contributions.query("unit == '513230' and parent_node == 'task' and node != "
                                    "'water_source_quality'")
    np.testing.assert_allclose(others["max_points"], 10.0)


def test_contributions_add_up_for_every_builtin_scheme():
    cases = [("sichuan-39", "sichuan-39", 2025), ("jincheng-1plus4", "jincheng", 2024),
             ("dingxi", "dingxi", 2025), ("dingxi", "dingxi", "2025Q3"),
             ("yingshan-first-secretaries", "yingshan", 2015),
             ("yingshan-sending-units", "yingshan", 2015),
             ("jiange-five-musts", "jiange", 2016)]
    for scheme, data, period in cases:
        ev = ak.evaluate(scheme, ak.datasets.load(data), period)
        c = ev.contributions
        total = c[c["kind"] != "group"].groupby("unit")["points"].sum()
        scores = ev.scores.set_index("unit")["score"]
        np.testing.assert_allclose(total.loc[scores.index], scores, atol=1e-9, err_msg=f"{scheme} {period}")


# ---------------------------------------------------------------------- Jincheng (seed 001)
JC_COMMON = ["jc_industry", "jc_projects", "jc_market_entities", "jc_urban", "jc_rural",
             "jc_business_env", "jc_ecology", "jc_welfare"]
# the county-specific indicators of each county, as the source assigns them (区域重点工作)
JC_SPECIFIC = {"140502": {"jc_air_monitoring"},                         # 城区: 5 国控点
               "140525": {"jc_gas_supply", "jc_black_odorous_water"},   # 泽州: 气化晋城 + 黑臭水体
               "140524": {"jc_gas_supply"},                             # 陵川: 气化晋城
               "140581": {"jc_black_odorous_water"},                    # 高平: 黑臭水体
               "140521": {"jc_forest_city"},                            # 沁水: 国家森林城市
               "140522": set()}                                         # 阳城: none


@pytest.fixture(scope="module")
def jincheng():
    return ak.datasets.load("jincheng")


@pytest.fixture(scope="module")
def jincheng_years(jincheng):
    return ak.evaluate_periods("jincheng-1plus4", jincheng, [2022, 2023, 2024, 2025])


def test_jincheng_county_specific_indicator_sets_follow_the_source(jincheng_years):
    c = jincheng_years.evaluations["2024"].contributions
    c = c[(c["level"] == "county") & (c["kind"] == "leaf")]
    applies = c[c["reason"] != "does not apply to this unit"].groupby("unit")["node"].agg(set)
    for county, own in JC_SPECIFIC.items():
        assert applies[county] == set(JC_COMMON) | own, county
    w = c.pivot(index="unit", columns="node", values="weight")
    # 城区 puts 57% on urban construction + ecology; 泽州县 56% on industry + projects + urban
    assert w.loc["140502", ["jc_urban", "jc_ecology"]].sum() == pytest.approx(0.57)
    assert w.loc["140525", ["jc_industry", "jc_projects", "jc_urban"]].sum() == pytest.approx(0.56)
    # 5% per county-specific indicator: 泽州县 carries two
    assert w.loc["140525", ["jc_gas_supply", "jc_black_odorous_water"]].tolist() == \
        pytest.approx([0.05, 0.05])
    assert w.loc["140522", JC_COMMON].tolist() == pytest.approx([0.125] * 8)


def test_jincheng_one_county_indicator_scored_against_its_own_standard(jincheng, jincheng_years):
    # The county's own target: attainment capped at 100%. 高平市's rural black-odorous water in
    # 2025: 97.9% of its target → 97.9 (not 100, as min–max over one county gave), 5% of the
    # total → 0.05 × 97.9 = 4.895 points.
    c = jincheng_years.evaluations["2025"].contributions.set_index(["unit", "node"])
    row = c.loc[("140581", "jc_black_odorous_water")]
    assert (row["raw_value"], row["score"], row["points"]) == pytest.approx((97.9, 97.9, 4.895))
    for year, ev in jincheng_years.evaluations.items():
        raw = jincheng.wide(year)
        cc = ev.contributions.set_index(["unit", "node"])
        for county, own in JC_SPECIFIC.items():
            for code in own:
                assert cc.loc[(county, code), "score"] == pytest.approx(
                    min(raw.loc[county, code], 100.0)), (year, county, code)


def _minmax(x: pd.Series, lo=60.0, hi=100.0) -> pd.Series:
    return lo + (hi - lo) * (x - x.min()) / (x.max() - x.min())


def test_jincheng_coefficient_on_the_traction_part_only(jincheng, jincheng_years):
    # Recomputed from the raw values: every town indicator min–max over the 12 towns onto
    # [60, 100]; base = 0.40 (0.5 dev + 0.25 inv + 0.25 va) + 0.35 rural + 0.25 traction; the
    # coefficient (1.00 / 1.02 / 1.04 / 1.06 for 0–1 / 2–3 / 4–5 / 6+ tasks) multiplies the
    # traction points 25 × traction / 100 only.
    ev = jincheng_years.evaluations["2024"]
    ids = list(jincheng.level_units("town")["unit"])
    raw = jincheng.wide("2024").loc[ids]
    sc = {c: _minmax(raw[c]) for c in ["jt_development", "jt_primary_investment",
                                       "jt_primary_value_added", "jt_rural", "jt_traction"]}
    base = (0.40 * (0.5 * sc["jt_development"] + 0.25 * sc["jt_primary_investment"]
                    + 0.25 * sc["jt_primary_value_added"]) + 0.35 * sc["jt_rural"]
            + 0.25 * sc["jt_traction"])
    tasks = raw["traction_tasks"]
    coef = np.select([tasks >= 6, tasks >= 4, tasks >= 2], [1.06, 1.04, 1.02], 1.0)
    expected = base + (coef - 1.0) * 0.25 * sc["jt_traction"]
    towns = ev.scores.set_index("unit").loc[ids]
    np.testing.assert_allclose(towns["score"], expected, rtol=0, atol=1e-9)
    np.testing.assert_allclose(towns["coefficient"], coef)
    assert (coef > 1).any() and (towns["score"] < base * coef - 1e-6)[coef > 1].all()
    # the scheme says the highest possible total: 100 + 0.06 × 25 = 101.5
    assert ev.scheme.levels["town"].max_score() == pytest.approx(101.5)
    assert "101.5" in next(a["text"] for a in ev.scheme.spec["assumptions"]
                           if a["id"] == "coefficient")


def test_jincheng_town_consequences_by_rank_over_two_years(jincheng_years):
    # Towns by RANK: the 2 best → cadre pool (两型干部库), the 2 worst → reminder talk; the 2
    # worst two years in a row → talk or adjustment. Recomputed from the scores with pandas.
    s = jincheng_years.scores
    bottom_sets = {}
    for year, g in s[s["level"] == "town"].groupby("period"):
        order = g.sort_values("score", ascending=False)["unit"].tolist()
        got = g.set_index("unit")["outcome"]
        assert set(got[got == "cadre_pool"].index) == set(order[:2]), year
        assert set(got[got == "reminded"].index) == set(order[-2:]), year
        assert (g["grade"] == "").all()  # no grades for towns: rank decides
        bottom_sets[year] = set(order[-2:])
    years = sorted(bottom_sets)
    expected = {(u, y) for a, y in zip(years, years[1:], strict=False)
                for u in bottom_sets[a] & bottom_sets[y]}
    f = jincheng_years.flags
    f = f[f["level"] == "town"]
    assert set(zip(f["unit"], f["period"], strict=True)) == expected
    assert set(f["rule"]) == {"talk_or_adjust"} and ("JT07", "2023") in expected


def test_jincheng_county_gets_a_grade_and_a_rank_consequence(jincheng_years):
    # Counties: graded 一般 (>= 65) or 较差 (< 65) → reminder talk; the best → preferred; the
    # last two years in a row → principal and responsible persons adjusted. 陵川县 is last in
    # 2022–2024 and graded 较差/一般: reminded AND adjusted (2023, 2024).
    s = jincheng_years.scores
    counties = s[s["level"] == "county"]
    for year, g in counties.groupby("period"):
        grade = np.select([g["score"] >= 90, g["score"] >= 70, g["score"] >= 65],
                          ["优秀", "良好", "一般"], "较差")
        assert g["grade"].tolist() == grade.tolist(), year
        reminded = g["outcome"].str.contains("reminded")
        assert reminded.tolist() == np.isin(grade, ["一般", "较差"]).tolist(), year
        assert g.loc[g["outcome"].str.contains("preferred"), "unit"].tolist() == \
            [g.loc[g["score"].idxmax(), "unit"]]
        assert reminded.sum() <= 2  # a reminder talk is the exception (it was 4 of 6 in 2025)
    f = jincheng_years.flags
    adjusted = f[(f["level"] == "county") & (f["rule"] == "adjusted")]
    assert set(zip(adjusted["unit"], adjusted["period"], strict=True)) == {
        ("140524", "2023"), ("140524", "2024")}
    lc = counties.set_index(["unit", "period"])
    assert lc.loc[("140524", "2024"), "outcome"] == "reminded"


def test_jincheng_departments_have_real_structure(jincheng, jincheng_years):
    ev = jincheng_years.evaluations["2024"]
    c = ev.contributions
    c = c[(c["level"] == "department") & (c["reason"] != "does not apply to this unit")
          & (c["kind"] == "leaf")]
    led = c.groupby("unit")["node"].agg(set)
    assert len(led) == 30
    # the development commission leads industry, projects and market entities (the source)
    assert led["JD01"] == {"jd_industry", "jd_projects", "jd_market_entities"}
    assert led["JD05"] == {"jd_rural"}  # the agriculture bureau: rural revitalisation
    # a department leading k indicators weighs them 1/k each; its score is the mean attainment
    raw = jincheng.wide("2024")
    for unit, nodes in led.items():
        expected = np.mean([min(raw.loc[unit, n], 100.0) for n in nodes])
        assert ev.scores.set_index("unit").loc[unit, "score"] == pytest.approx(expected)
    # distinct performance: at most two departments at full marks in any year
    for _, g in jincheng_years.scores.query("level == 'department'").groupby("period"):
        assert (g["score"] >= 99.995).sum() <= 2 and g["score"].nunique() >= 28


def test_jincheng_monthly_dispatch_against_the_time_schedule(jincheng):
    # The county-specific indicators are checked every month against the schedule: rows only for
    # the counties an indicator belongs to (6 county-indicator pairs × 12 months); lights by
    # hand: green at >= 95% of the schedule, red below 85%; flagged after 3 months behind.
    schedule = [5, 10, 20, 30, 40, 50, 60, 70, 80, 88, 95, 100]
    ev = ak.evaluate("jincheng-1plus4", jincheng, 2025)
    tl = ev.traffic_lights
    assert len(tl) == 6 * 12
    pairs = {(u, c) for u, own in JC_SPECIFIC.items() for c in own}
    assert set(zip(tl["unit"], tl["indicator"], strict=True)) == pairs
    for (unit, code), g in tl.groupby(["unit", "indicator"]):
        actual = [jincheng.wide(f"2025-{m:02d}").loc[unit, code] for m in range(1, 13)]
        ratio = np.array(actual) / np.array(schedule)
        light = np.where(ratio < 0.85, "red", np.where(ratio < 0.95, "yellow", "green"))
        assert g["light"].tolist() == light.tolist()
        behind, flagged = 0, []
        for lt in light:
            behind = behind + 1 if lt != "green" else 0
            flagged.append(behind >= 3)
        assert g["flagged"].tolist() == flagged
    assert tl["flagged"].any() and "挂牌整改" in ev.summary()


# ---------------------------------------------------------------------- Dingxi (seed 004)
def test_dingxi_has_the_stated_structure():
    spec = ak.load_scheme("dingxi").levels["county"]
    parts = {nd.id: nd for nd in spec.root.children}
    assert {k: len(v.children) for k, v in parts.items()} == {
        "economy": 42, "party_building": 12, "key_tasks": 13}
    assert parts["economy"].weight == 0.6  # quantifiable hard indicators 60% of the weight
    data = ak.datasets.load("dingxi")
    named = data.indicators.set_index("indicator")["named_by"]
    assert set(named[named == "source"].index) >= {"dx_task_rural", "dx_task_projects",
                                                   "dx_task_industry", "dx_task_ecology",
                                                   "dx_task_safety"}
    assert (named[[n.id for n in parts["economy"].children]] == "illustrative").all()


def _threshold(x, full_at, per_point=10.0):
    return np.maximum(0.0, 100.0 - per_point * np.maximum(0.0, full_at - x))


def test_dingxi_shared_indicators_split_points_80_20():
    # 2025Q2. sh_gdp: the counties' GDP growth scored against the target 6% (10 points off per
    # point short), averaged over the 7 counties = S. The lead 市发展改革委 (DD01) earns 80% of
    # the indicator's points: node score 0.8 S; the related 市工信局 (DD06) 20%: 0.2 S.
    data = ak.datasets.load("dingxi")
    ev = ak.evaluate("dingxi", data, "2025Q2")
    counties = data.level_units("county")["unit"]
    gdp = data.wide("2025Q2").loc[counties, "dx_gdp_growth"]
    attained = _threshold(gdp, 6.0).mean()
    c = ev.contributions.set_index(["unit", "node"])
    assert c.loc[("DD01", "sh_gdp"), "score"] == pytest.approx(0.8 * attained)
    assert c.loc[("DD06", "sh_gdp"), "score"] == pytest.approx(0.2 * attained)
    assert c.loc[("DD01", "sh_gdp"), "raw_value"] == pytest.approx(attained)
    # each department: 0.4 × its rating + 0.6 × the mean of its 4 shared nodes (2 lead, 2
    # related, equal weights); its total is at most 40 + 60 × (0.8 + 0.8 + 0.2 + 0.2)/4 = 70
    dd01 = c.xs("DD01")
    shared = dd01[(dd01["kind"] == "shared") & dd01["score"].notna()]["score"]
    assert len(shared) == 4
    total = 0.4 * data.wide("2025Q2").loc["DD01", "dept_service"] + 0.6 * shared.mean()
    assert ev.scores.set_index("unit").loc["DD01", "score"] == pytest.approx(total)
    assert (ev.scores.query("level == 'department'")["score"] <= 70).all()


def test_dingxi_better_county_results_raise_the_departments_scores():
    # Every county's GDP growth one point higher in 2025Q2: S rises by ΔS (by hand from the
    # threshold rule); DD01 gains 0.6 × 1/4 × 0.8 ΔS, DD06 0.6 × 1/4 × 0.2 ΔS; no other department
    # moves (the counties themselves are scored min–max, which a common shift leaves unchanged).
    data = ak.datasets.load("dingxi")
    v = data.values.copy()
    hit = (v["indicator"] == "dx_gdp_growth") & (v["period"] == "2025Q2")
    v.loc[hit, "value"] += 1.0
    better = ak.Dataset.from_frames(data.units, data.indicators, v, name="dingxi+1",
                                    provenance="test: dingxi with every county's GDP growth +1")
    before = ak.evaluate("dingxi", data, "2025Q2").scores.set_index("unit")["score"]
    after = ak.evaluate("dingxi", better, "2025Q2").scores.set_index("unit")["score"]
    gdp = data.wide("2025Q2").loc[data.level_units("county")["unit"], "dx_gdp_growth"]
    gain = (_threshold(gdp + 1, 6.0) - _threshold(gdp, 6.0)).mean()
    assert gain > 0
    assert after["DD01"] - before["DD01"] == pytest.approx(0.6 / 4 * 0.8 * gain)
    assert after["DD06"] - before["DD06"] == pytest.approx(0.6 / 4 * 0.2 * gain)
    others = [u for u in before.index if u.startswith("DD") and u not in ("DD01", "DD06")]
    np.testing.assert_allclose(after[others], before[others])


def test_dingxi_an_incident_costs_the_same_in_any_quarter():
    # 2024, counts from January: 通渭县 accidents 1, 2, 2, 2 (one in Q1, one in Q2): 2 × 3 = 6
    # points (capped at 6), not the mean of the year-to-date deductions 3, 6, 6, 6 = 5.25;
    # 漳县 0, 1, 1, 1 (Q2): 3; 岷县 a petition in Q4: 1 (not 0.25). The annual score = the mean
    # of the four quarterly scores before deductions + the year's deductions.
    data = ak.datasets.load("dingxi")
    annual = ak.evaluate("dingxi", data, 2024).scores.set_index("unit")
    assert annual.loc[["621121", "621125", "621126"], "deductions"].tolist() == [-6, -3, -1]
    quarters = [ak.evaluate("dingxi", data, f"2024Q{q}").scores.set_index("unit")
                for q in range(1, 5)]
    base = pd.concat([q["score"] - q["deductions"] for q in quarters], axis=1).mean(axis=1)
    np.testing.assert_allclose(annual["score"], (base + annual["deductions"]).loc[annual.index],
                               atol=1e-9)
    # each quarter deducts its own incidents: 通渭县 3 in Q1, 3 in Q2, none in Q3 and Q4
    assert [q.loc["621121", "deductions"] for q in quarters] == [-3, -3, 0, 0]


def test_dingxi_traffic_lights_against_schedule():
    data = ak.datasets.load("dingxi")
    ev = ak.evaluate("dingxi", data, 2024)
    tl = ev.traffic_lights
    assert len(tl) == 7 * 4
    expected = {"2024Q1": 25, "2024Q2": 50, "2024Q3": 75, "2024Q4": 100}
    for _, r in tl.iterrows():
        ratio = r["actual"] / expected[r["period"]]
        want = "green" if ratio >= 1 else "yellow" if ratio >= 0.85 else "red"
        assert r["light"] == want
    assert {"green", "yellow", "red"} <= set(tl["light"])


# ---------------------------------------------------------------------- Sichuan (seed 000)
def test_sichuan_provincial_units_exclude_the_assessor(sichuan):
    prov = sichuan.level_units("provincial_unit")
    assert len(prov) == 24  # the source's 24 assessed member units
    # 省委组织部 co-issued the scheme (with the mechanism's office): the assessor, not assessed
    assert "省委组织部" not in set(prov["name"]) and "省交通运输厅" in set(prov["name"])
    assert prov["note"].str.contains("co-issuers").all()


def test_sichuan_subgroup_rank_is_shown_beside_the_group_rank(sichuan, tmp_path, capsys):
    # On the plateau, praise follows the prefecture split (阿坝州 top 3, 甘孜州 top 5): the
    # summary the command line prints, scores.csv and the report's ranked tables show the
    # subgroup rank beside the group rank (色达县, group rank 9, is praised as 甘孜州's 5th).
    from assesskit.report.tables import results_table

    assert cli_main(["evaluate", "--scheme", "sichuan-39", "--data", "sichuan-39", "--period",
                     "2025", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    scores = pd.read_csv(tmp_path / "scores.csv", dtype={"unit": str}, encoding="utf-8-sig")
    cols = list(scores.columns)
    assert cols[cols.index("group_rank") + 1] == "subgroup_rank"
    plateau = scores[(scores["group"] == "川西北高原地区") & (scores["outcome"] == "praised")]
    for r in plateau.itertuples():
        assert f"{r.name} ({r.score:.2f}; rank {r.group_rank} in group, {r.subgroup_rank:g} in " \
               f"{r.subgroup})" in out
    assert plateau.groupby("subgroup")["subgroup_rank"].max().to_dict() == {"阿坝州": 3, "甘孜州": 5}
    table = results_table(ak.evaluate("sichuan-39", sichuan, 2025), "county", "川西北高原地区")
    assert list(table.columns[:4]) == ["group", "group_rank", "subgroup", "subgroup_rank"]


def test_undp_hdi_reproduces_published_values_and_ranks():
    data = ak.datasets.load("hdr-2023")
    ev = ak.evaluate("undp-hdi", data, 2022)
    s = ev.scores.set_index("unit")
    published = data.wide(2022).loc[s.index]
    assert len(s) == 193
    assert (s["score"].round(3) - published["hdi"]).abs().max() < 1e-9
    assert (s["rank"] == published["hdi_rank"]).all()
    assert set(ev.excluded["unit"]) == {"PRK", "MCO"}  # no HDI published for these two
    # Norway, the top of the 2022 table: HDI 0.966 (HDR 2023/24, Table 1)
    assert s.loc["NOR", "score"].round(3) == 0.966 and s.loc["NOR", "rank"] == 2


def test_evaluate_command_is_deterministic(tmp_path, capsys):
    # the report set (HTML pages) is tested in tests/test_report_*.py; here its tables
    for run in ("a", "b"):
        assert cli_main(["evaluate", "--scheme", "sichuan-39", "--data", "sichuan-39",
                         "--period", "2025", "--out", str(tmp_path / run)]) == 0
    out = capsys.readouterr().out
    assert "通报表扬" in out and "约谈" in out
    scores = pd.read_csv(tmp_path / "a" / "scores.csv", dtype={"unit": str}, encoding="utf-8-sig")
    assert len(scores) == 39 + 8 + 24  # every assessed unit, none dropped
    for name in ("scores.csv", "contributions.csv", "log.csv", "summary.txt"):
        a = (tmp_path / "a" / name).read_bytes()
        b = (tmp_path / "b" / name).read_bytes()
        assert a == b, name


def test_evaluate_command_reports_a_bad_scheme(capsys):
    assert cli_main(["evaluate", "--scheme", "no-such-scheme", "--data", "sichuan-39", "--period", "2024"]) == 1
    assert "no-such-scheme" in capsys.readouterr().err


def test_log_is_enough_to_rebuild_the_evaluation(sichuan):
    variant = ak.load_scheme("sichuan-39").with_weights({"task": 0.8, "responsibility": 0.2},
                                                       note="test: more weight on duties")
    ev = ak.evaluate(variant, sichuan, 2024)
    spec = next(e["spec"] for e in ev.log if e["step"] == "scheme")
    inputs = next(e for e in ev.log if e["step"] == "input")
    assert inputs["scheme_changes"][0]["weights"] == [
        {"node": "task", "old": 0.9, "new": 0.8}, {"node": "responsibility", "old": 0.1, "new": 0.2}]
    rebuilt = ak.evaluate(ak.load_scheme(spec), sichuan, inputs["period"])
    pd.testing.assert_frame_equal(rebuilt.scores, ev.scores)
    official = ak.evaluate("sichuan-39", sichuan, 2024)
    assert not np.allclose(official.scores["score"], ev.scores["score"])  # the change took effect


def test_change_rule_without_the_previous_period_is_an_error(sichuan):
    # 2019 is the first year of the example: "X and its growth" cannot be scored, and must not be
    # silently re-normalised away for every county
    with pytest.raises(ak.DataError, match=r"fiscal_self_sufficiency.*2018"):
        ak.evaluate("sichuan-39", sichuan, 2019)


def test_yingshan_scores_grades_and_sending_units_recomputed_independently():
    # The scheme's assumptions, with plain pandas: points 100/80/60/40; a sheet is the
    # aspect-weighted mean (0.16 overall, 0.12 each other aspect) over the aspects rated; a
    # secretary's rating of themself is left out; group means weighted 0.4/0.3/0.3; grades at
    # 90/70/60. Sending units (their own scheme, yingshan-sending-units, reached by the
    # review's linked consequence): 60% key tasks + 40% service rating, minus 2 points per
    # 不称职 secretary sent (at most 6), graded 好/较好/一般/差 at 90/80/70 but never 好 with one.
    data = ak.datasets.load("yingshan")
    ev = ak.evaluate("yingshan-first-secretaries", data, 2015)
    assert set(ev.scores["level"]) == {"secretary"}
    ev_units = ak.evaluate("yingshan-sending-units", data, 2015)
    r = data.ratings.copy()
    r = r[r["rater"] != r["unit"]]
    r["points"] = r["grade"].map({"好": 100, "较好": 80, "一般": 60, "差": 40})
    r["w"] = np.where(r["aspect"] == "overall", 0.16, 0.12)
    r["wp"] = r["w"] * r["points"]
    sheet = r.groupby(["unit", "rater", "rater_group"])[["wp", "w"]].sum()
    sheet = (sheet["wp"] / sheet["w"]).rename("p").reset_index()
    group = sheet.groupby(["unit", "rater_group"])["p"].mean().unstack()
    gw = pd.Series({"team": 0.4, "township_leaders": 0.3, "peers": 0.3})
    have = group[gw.index].notna()
    expected = (group[gw.index].fillna(0) * gw).sum(axis=1) / (have * gw).sum(axis=1)
    s = ev.scores.set_index("unit")
    np.testing.assert_allclose(s.loc[expected.index, "score"], expected, atol=1e-9)
    grade = pd.cut(expected, [-np.inf, 60, 70, 90, np.inf], right=False,
                   labels=["不称职", "基本称职", "称职", "优秀"]).astype(str)
    assert (s.loc[expected.index, "grade"] == grade).all()
    assert s.loc["YS17", "grade"] == "不称职"  # weak by construction

    units = data.units.set_index("unit")
    failed = units.loc[grade[grade == "不称职"].index, "sending_unit"].value_counts()
    s = ev_units.scores.set_index("unit")
    w = data.wide(2015)
    depts = data.level_units("department")["unit"]
    base = 0.6 * w.loc[depts, "dept_key_tasks"] + 0.4 * w.loc[depts, "dept_service_rating"]
    cut = np.minimum(6.0, 2.0 * failed.reindex(depts).fillna(0))
    np.testing.assert_allclose(s.loc[depts, "score"], base - cut, atol=1e-9)
    dept_grade = pd.cut(base - cut, [-np.inf, 70, 80, 90, np.inf], right=False,
                        labels=["差", "一般", "较好", "好"]).astype(str)
    dept_grade[(cut > 0) & (dept_grade == "好")] = "较好"
    assert (s.loc[depts, "grade"] == dept_grade).all()
    assert "YD05" in failed.index and s.loc["YD05", "linked_outcomes"] != ""
    draw = next(e for e in ev.log if e["step"] == "draw")
    assert draw["seed"] == 20160309 and len(draw["drawn"]) == 15


def test_jiange_musts_recomputed_independently():
    # The source's five musts with the scheme's assumptions: 整合资金 vetoes (score 0), any other
    # failed must costs 5 points off 60% household target + 40% village exits (target 100%).
    data = ak.datasets.load("jiange")
    ev = ak.evaluate("jiange-five-musts", data, 2016)
    w = data.wide(2016).loc[data.level_units("town")["unit"]]
    fails = pd.DataFrame({
        "staffing": (w["joint_leaders"] < 1) | (w["member_in_charge"] < 1)
        | (w["fulltime_staff"] < 1) | (w["fulltime_staff"] > 2) | (w["office_staff"] < 3)
        | (w["office_staff"] > 5),
        "monthly_study": (w["months_studied"] < 12) | (w["months_recorded"] < 12),
        "households_met": (w["households_met_midyear"] < 100)
        | (w["households_met_yearend"] < 100),
        "supervision": w["odd_months_covered"] < 6})
    vetoed = (w["agri_funds_share_poor"] < 50) | (w["gov_input_min_per_poor_village"] < 500) \
        | (w["total_input_min_per_village"] < 1000)
    base = 0.6 * np.minimum(100, w["households_lifted"]) \
        + 0.4 * np.minimum(100, w["villages_exited"])
    expected = (base - 5 * fails.sum(axis=1)).where(~vetoed, 0.0)
    s = ev.scores.set_index("unit")
    np.testing.assert_allclose(s.loc[w.index, "score"], expected, atol=1e-9)
    assert s["vetoed"].sum() == 1 and s.loc["JG21", "vetoed"]
    assert sorted(fails.index[fails.any(axis=1)]) == ["JG03", "JG07", "JG11", "JG14", "JG18",
                                                      "JG25", "JG28"]
    assert "office_staff = 2 (must be >= 3)" in ev.explain("JG07").text
@pytest.mark.parametrize("name, data, period, level", [
    ("jincheng-1plus4", "jincheng", 2025, "town"),    # coefficient on the traction part
    ("jincheng-1plus4", "jincheng", 2024, "department"),  # applies_to, grades, ties at 100
    ("dingxi", "dingxi", 2025, "department"),          # shared nodes split 80/20
])
def test_monte_carlo_runs_of_the_corrected_levels_rebuild_to_evaluate(name, data, period, level):
    # the uncertainty analysis runs the same rules: every run rebuilt as a scheme and evaluated
    # gives the same totals and outcomes
    from assesskit.analysis.uncertainty import uncertainty, vary_weights

    data = ak.datasets.load(data)
    res = uncertainty(name, data, period, level=level, factors=[vary_weights(0.3)], n=2, seed=5)
    for run in range(len(res.draws)):
        ev = ak.evaluate(res.rebuild(run), data, period)
        table = ev.scores[ev.scores["level"] == level].reset_index(drop=True)
        np.testing.assert_allclose(res.run(run)["score"], table["score"], rtol=0, atol=1e-9)
        np.testing.assert_array_equal(table["outcome"].astype(str), res.outcome_keys(run))
