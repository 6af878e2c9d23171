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
            "jiange-five-musts"} <= set(ak.builtin_schemes())


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
             ("jiange-five-musts", "jiange", 2016)]
    for scheme, data, period in cases:
        ev = ak.evaluate(scheme, ak.datasets.load(data), period)
        c = ev.contributions
        total = c[c["kind"] != "group"].groupby("unit")["points"].sum()
        scores = ev.scores.set_index("unit")["score"]
        np.testing.assert_allclose(total.loc[scores.index], scores, atol=1e-9, err_msg=f"{scheme} {period}")


def test_jincheng_differentiated_weights_and_coefficients():
    data = ak.datasets.load("jincheng")
    ev = ak.evaluate("jincheng-1plus4", data, 2024)
    c = ev.contributions
    w = c[c["level"] == "county"].pivot(index="unit", columns="node", values="weight")
    # 城区 puts 57% on urban construction + ecology; 泽州县 56% on industry + projects + urban
    assert w.loc["140502", ["jc_urban", "jc_ecology"]].sum() == pytest.approx(0.57)
    assert w.loc["140525", ["jc_industry", "jc_projects", "jc_urban"]].sum() == pytest.approx(0.56)
    # county-specific indicators apply to their county only
    assert w.loc["140502", "jc_air_monitoring"] == pytest.approx(0.05)
    assert w.loc["140521", "jc_air_monitoring"] == 0.0
    # town coefficient from the number of traction-project tasks: 0-1 -> 1.00, 2-3 -> 1.02, ...
    tasks = data.wide(2024)["traction_tasks"]
    towns = ev.scores[ev.scores["level"] == "town"].set_index("unit")
    expected = np.select([tasks.loc[towns.index] >= 6, tasks.loc[towns.index] >= 4,
                          tasks.loc[towns.index] >= 2], [1.06, 1.04, 1.02], 1.0)
    np.testing.assert_allclose(towns["coefficient"], expected)
    np.testing.assert_allclose(towns["score"], towns["base_score"] * expected)


def test_jincheng_bottom_two_years_in_a_row():
    data = ak.datasets.load("jincheng")
    pe = ak.evaluate_periods("jincheng-1plus4", data, [2022, 2023, 2024, 2025])
    s = pe.scores[pe.scores["level"] == "county"]
    last = s.loc[s.groupby("period")["score"].idxmin(), ["period", "unit"]]
    streaks = []
    prev, run = None, 0
    for _, r in last.sort_values("period").iterrows():
        run = run + 1 if r["unit"] == prev else 1
        prev = r["unit"]
        if run >= 2:
            streaks.append((r["unit"], r["period"]))
    flagged = pe.flags[pe.flags["level"] == "county"]
    assert set(zip(flagged["unit"], flagged["period"], strict=True)) == set(streaks)
    assert streaks, "the example data should contain a county at the bottom two years in a row"


def test_dingxi_annual_is_mean_of_quarters_and_negative_list_capped():
    data = ak.datasets.load("dingxi")
    annual = ak.evaluate("dingxi", data, 2025).scores.set_index("unit")["score"]
    quarters = [ak.evaluate("dingxi", data, f"2025Q{q}").scores.set_index("unit")["score"] for q in range(1, 5)]
    np.testing.assert_allclose(annual, pd.concat(quarters, axis=1).mean(axis=1).loc[annual.index], atol=1e-9)
    for q in range(1, 5):
        ev = ak.evaluate("dingxi", data, f"2025Q{q}")
        w = data.wide(f"2025Q{q}")
        counties = ev.scores[ev.scores["level"] == "county"].set_index("unit")
        raw = (np.minimum(3 * w["dx_neg_safety_accidents"], 6) + np.minimum(w["dx_neg_petitions"], 3)
               + np.minimum(2 * w["dx_neg_env_violations"], 4)).loc[counties.index]
        np.testing.assert_allclose(-counties["deductions"], np.minimum(raw.fillna(0), 10), atol=1e-9)


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
    # 90/70/60. Sending units: 60% key tasks + 40% service rating, minus 2 points per 不称职
    # secretary sent (at most 6), graded 好/较好/一般/差 at 90/80/70 but never 好 with one.
    data = ak.datasets.load("yingshan")
    ev = ak.evaluate("yingshan-first-secretaries", data, 2015)
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
