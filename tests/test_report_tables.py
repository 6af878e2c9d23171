"""Tables and sentences of the report pages, checked against the source documents and the data.

The facts checked come from the schemes' source documents (quotas per group and subgroup), the
data's values and the schemes' thresholds, not from the report code's own output.
"""

from __future__ import annotations

import numpy as np
import pytest

import assesskit as ak
from assesskit.errors import AssessKitError
from assesskit.report import tables
from assesskit.report.context import candidate_periods, parse_periods, report_context


@pytest.fixture(scope="module")
def sichuan():
    return report_context("sichuan-39", "sichuan-39")


def test_quota_table_follows_the_sichuan_document(sichuan):
    q = tables.quota_table(sichuan.scheme, "county")
    # 秦巴 top 3 / bottom 1; 凉山 top 4 / bottom 1; plateau: 阿坝 3 + 甘孜 5 praised, 1 + 2 summoned
    top = q[q["side"] == "top"].set_index(["group", "subgroup"])["n"].to_dict()
    assert top == {("秦巴山区", ""): 3, ("大小凉山彝区", ""): 4, ("川西北高原地区", "阿坝州"): 3,
                   ("川西北高原地区", "甘孜州"): 5}
    bottom = q[q["side"] == "bottom"].set_index(["group", "subgroup"])["n"].to_dict()
    assert bottom[("川西北高原地区", "甘孜州")] == 2


def test_plateau_praise_follows_the_prefecture_split(sichuan):
    ev = sichuan.evaluation("2025")
    res = tables.results_table(ev, "county", "川西北高原地区")
    praised = res[res["outcome"] == "praised"]
    # the document's rule: top 3 of 阿坝州 and top 5 of 甘孜州 by subgroup rank
    expected = res[((res["subgroup"] == "阿坝州") & (res["subgroup_rank"] <= 3))
                   | ((res["subgroup"] == "甘孜州") & (res["subgroup_rank"] <= 5))]
    assert set(praised["unit"]) == set(expected["unit"])
    items = tables.subgroup_explanations(ev, "county", "川西北高原地区")
    praise = next(i for i in items if i["consequence"] == "praised")
    assert praise["with_outcome"]["name"] == "色达县" and praise["with_outcome"]["group_rank"] == 9
    assert praise["without"]["name"] == "黑水县" and praise["without"]["group_rank"] == 8
    assert (praise["quota_with"], praise["quota_without"]) == (5, 3)


def test_consequence_sides():
    assert tables.consequence_sides(ak.load_scheme("sichuan-39"), "county") == {
        "praised": "top", "summoned": "bottom"}
    # Jincheng's reminder talk takes the two lowest grades (一般, 较差): a bottom list
    assert tables.consequence_sides(ak.load_scheme("jincheng-1plus4"), "county") == {
        "preferred": "top", "reminded": "bottom"}


def test_jincheng_bottom_two_years_in_a_row():
    ctx = report_context("jincheng-1plus4", "jincheng")
    s = ctx.history.scores
    s = s[s["level"] == "county"]
    bottom = s[s["group_rank"] == s.groupby("period")["group_rank"].transform("max")]
    # 陵川县 is last of the six counties in 2022, 2023 and 2024
    assert set(bottom.loc[bottom["name"] == "陵川县", "period"]) >= {"2022", "2023", "2024"}
    fired = tables.fired_rules(ctx.history, "2024")
    row = fired[fired["name"] == "陵川县"].iloc[0]
    # the source: the principal AND the responsible persons are adjusted
    assert (row["label"], row["streak"]) == ("调整主要负责人和相关责任人", 3)


def test_dingxi_traffic_lights_and_annual_periods():
    ctx = report_context("dingxi", "dingxi")
    assert candidate_periods(ctx.scheme, ctx.data) == ["2024", "2025"]
    assert parse_periods(None, ctx.periods) == ["2025"]  # the annual result, not 2025Q4
    ev = ctx.evaluation("2025")
    wide = tables.traffic_light_table(ev, ["621121"])
    # 通渭县, key projects: 17.5 of the 25 % due by Q1 = 0.70 < 0.90 (red); Q4 68.0 of 100 red
    assert wide.loc[0, "2025Q1"] == "red" and wide.loc[0, "2025Q4"] == "red"
    row = ev.traffic_lights[(ev.traffic_lights["unit"] == "621123")
                            & (ev.traffic_lights["period"] == "2025Q4")].iloc[0]
    assert row["actual"] / row["expected"] >= 1.0 and row["light"] == "green"


def test_periods_are_checked_with_a_clear_error(sichuan):
    assert sichuan.periods == ["2020", "2021", "2022", "2023", "2024", "2025"]
    assert "2018" in sichuan.unavailable["2019"]
    assert parse_periods("2023-2025", sichuan.periods) == ["2023", "2024", "2025"]
    assert parse_periods("2021,2025", sichuan.periods) == ["2021", "2025"]
    with pytest.raises(AssessKitError, match="no report for period '2019'.*2020, 2021"):
        parse_periods("2019", sichuan.periods)
    with pytest.raises(AssessKitError, match="runs backwards"):
        parse_periods("2025-2023", sichuan.periods)
    with pytest.raises(AssessKitError, match="not a period"):
        parse_periods("last year", sichuan.periods)


def test_missing_value_is_never_nan(sichuan):
    ev = sichuan.evaluation("2025")
    basis = tables.scoring_basis(ev, "511922", sichuan.data.indicators)
    row = basis[basis["node"] == "new_enterprise_share"].iloc[0]
    assert bool(row["missing"])
    assert tables.format_value(row["raw_value"], row["unit_of_measure"], row["missing"]) == \
        "未报告 not reported"
    assert tables.format_number(np.nan) == "—"
    decisions = tables.missing_decisions(ev)
    assert decisions[["name", "node", "policy"]].values.tolist() == [
        ["南江县", "new_enterprise_share", "renormalise"]]


def test_points_lost_add_up_to_the_gap(sichuan):
    ev = sichuan.evaluation("2025")
    for unit in ("511922", "511781"):
        score = float(ev.scores.set_index("unit").loc[unit, "score"])
        lost = tables.points_lost(tables.scoring_basis(ev, unit))
        assert lost["lost"].sum() == pytest.approx(100 - score, abs=0.02)
    # Dingxi: the deductions of the negative list are points lost too
    dx = report_context("dingxi", "dingxi").evaluation("2025")
    lost = tables.points_lost(tables.scoring_basis(dx, "621121"))
    assert (lost.loc[lost["kind"] == "deduction", "lost"] > 0).all()
    score = float(dx.scores.set_index("unit").loc["621121", "score"])
    assert lost["lost"].sum() == pytest.approx(100 - score, abs=0.02)


def test_changes_since_the_previous_period(sichuan):
    now, before = sichuan.evaluation("2025"), sichuan.evaluation("2024")
    ch = tables.changes_table(now, before, "county")
    b = before.scores.set_index("unit")
    n = now.scores.set_index("unit")
    for unit in ("511781", "513327"):
        row = ch.set_index("unit").loc[unit]
        assert row["rank_change"] == b.loc[unit, "group_rank"] - n.loc[unit, "group_rank"]
        assert row["outcome_changed"] == (b.loc[unit, "outcome_label"] != n.loc[unit, "outcome_label"])


def test_children_of_a_prefecture(sichuan):
    ev = sichuan.evaluation("2025")
    kids = tables.children(ev, sichuan.data, "511900")  # 巴中市
    counties = sichuan.data.units
    assert set(kids["unit"]) == set(counties.loc[(counties["parent"] == "511900")
                                                 & (counties["level"] == "county"), "unit"])


def test_a_group_page_lists_only_the_decisions_about_its_group(monkeypatch):
    """Sichuan 2024: water-source quality is 100% in every county of 大小凉山彝区 (the bundled
    data, see tests/test_builtin_schemes.py), so min–max gives them all the top score; that
    decision belongs on the 大小凉山彝区 page and the overview, not on 川西北高原地区's."""
    from assesskit.report import sections

    def shown(group):
        out = []
        monkeypatch.setattr(sections, "display", lambda obj: out.append(str(obj.data)))
        page = sections.AnnualPage("sichuan-39", "sichuan-39", "2024",
                                   level=None if group is None else "county", group=group)
        page.notices()
        return "\n".join(out)

    decision = "same value for every unit of 大小凉山彝区"
    assert decision in shown("大小凉山彝区")
    assert decision in shown(None)
    assert "same value" not in shown("川西北高原地区")


def test_traffic_lights_show_the_indicator_name_before_its_code(monkeypatch):
    """Dingxi 2025: the key-project schedule is the indicator dx_progress_projects, named
    重点项目投资完成进度 in the bundled data/dingxi/indicators.csv."""
    from assesskit.report import sections

    out = []
    monkeypatch.setattr(sections, "display", lambda obj: out.append(str(obj.data)))
    sections.AnnualPage("dingxi", "dingxi", "2025").traffic_lights()
    table = next(x for x in out if "ak-light" in x)
    assert "<td>重点项目投资完成进度 <small>(dx_progress_projects)</small></td>" in table
    assert "<td>dx_progress_projects</td>" not in table


def test_workbook_sheets_are_named_in_chinese_and_drop_empty_columns(tmp_path):
    """Sichuan: prefectures and provincial units are each ranked as one group without subgroups;
    their sheets take the levels' Chinese labels from the published scheme and have no
    subgroup columns. The counties' sheets keep them (秦巴山区 is split in two subgroups)."""
    import openpyxl

    import assesskit as ak
    from assesskit.report.excel import write_workbook

    ev = ak.evaluate("sichuan-39", ak.datasets.load("sichuan-39"), "2022")
    wb = openpyxl.load_workbook(write_workbook(ev, tmp_path / "r.xlsx"))
    assert wb.sheetnames == ["说明 notes", "秦巴山区", "川西北高原地区", "大小凉山彝区",
                             "欠发达县域所在的8个市（州）党委、政府", "托底性帮扶省级协调机制成员单位"]
    header = ["组内排名", "名称", "代码", "得分", "总排名", "结果", "结果代码"]
    for sheet in wb.sheetnames[4:]:
        assert [c.value for c in wb[sheet][1]] == header
    assert [c.value for c in wb["秦巴山区"][1]][:3] == ["组内排名", "子分组", "子分组排名"]
