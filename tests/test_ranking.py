"""Ranking, ties, quotas (with subgroups), vetoes, grades, multi-period rules, quarterly schemes
and traffic lights — on hand-made datasets whose order is known by eye.

Leaves use ``scoring: {method: value}`` (score = value), so a unit's score is the number written
in the test.
"""

from __future__ import annotations

import pandas as pd
import pytest
from test_engine import make_dataset, one_level, scores_of, units_in

from assesskit import SchemeError, evaluate, evaluate_periods

VALUE = {"method": "value"}
SINGLE = {"x": {"weight": 1, "scoring": VALUE}}


def x_dataset(by_unit: dict, units=None, period="2024"):
    units = units or units_in("g", list(by_unit))
    return make_dataset({period: {u: {"x": v} for u, v in by_unit.items()}}, units)


def ranks(ev, column="rank") -> dict:
    return dict(zip(ev.scores["unit"], ev.scores[column], strict=True))


def outcome(ev) -> dict:
    return dict(zip(ev.scores["unit"], ev.scores["outcome"], strict=True))


# ---------------------------------------------------------------------- ties
TIED = {"a": 90, "b": 80, "c": 80, "d": 70}


@pytest.mark.parametrize(("method", "expected"), [
    ("min", {"a": 1, "b": 2, "c": 2, "d": 4}),        # equal scores share the better rank
    ("average", {"a": 1, "b": 2.5, "c": 2.5, "d": 4}),  # (2 + 3)/2
    ("dense", {"a": 1, "b": 2, "c": 2, "d": 3}),      # no gap after a tie
    ("first", {"a": 1, "b": 2, "c": 3, "d": 4}),      # no shared ranks: unit id decides (b < c)
])
def test_tie_methods(method, expected):
    ev = evaluate(one_level(SINGLE, ranking={"ties": {"method": method}}), x_dataset(TIED), 2024)
    assert ranks(ev) == expected


def test_break_by_decides_between_equal_totals():
    # b: main 90, sub 70 → 80; c: main 70, sub 90 → 80. Breaking by 'sub' puts c first,
    # by 'main' puts b first; a (90/90) and d (70/70) are unaffected.
    values = {"2024": {"a": {"main": 90, "sub": 90}, "b": {"main": 90, "sub": 70},
                       "c": {"main": 70, "sub": 90}, "d": {"main": 70, "sub": 70}}}
    tree = {"main": {"weight": 0.5, "scoring": VALUE}, "sub": {"weight": 0.5, "scoring": VALUE}}
    ds = make_dataset(values, units_in("g", "abcd"))
    ev = evaluate(one_level(tree, ranking={"ties": {"break_by": ["sub"]}}), ds, 2024)
    assert ranks(ev) == {"a": 1, "c": 2, "b": 3, "d": 4}
    ev = evaluate(one_level(tree, ranking={"ties": {"break_by": ["main"]}}), ds, 2024)
    assert ranks(ev) == {"a": 1, "b": 2, "c": 3, "d": 4}
    with pytest.raises(SchemeError, match="ties.break_by names unknown node 'task'"):
        evaluate(one_level(tree, ranking={"ties": {"break_by": ["task"]}}), ds, 2024)


def test_decimals_decide_what_is_a_tie():
    # 80.004 and 80.001 are equal at 2 decimals (80.00) but not at the default 6
    ds = x_dataset({"a": 90, "b": 80.001, "c": 80.004, "d": 70})
    ev = evaluate(one_level(SINGLE, ranking={"ties": {"decimals": 2}}), ds, 2024)
    assert ranks(ev) == {"a": 1, "b": 2, "c": 2, "d": 4}
    assert ranks(evaluate(one_level(SINGLE), ds, 2024)) == {"a": 1, "c": 2, "b": 3, "d": 4}


def test_unknown_tie_method():
    with pytest.raises(SchemeError, match="ties.method must be one of") as err:
        one_level(SINGLE, ranking={"ties": {"method": "random"}})
    assert err.value.key == "levels.county.ranking.ties.method"


# ---------------------------------------------------------------------- groups, subgroups, quotas
# Sichuan plateau group: 阿坝州 has 5 counties, 甘孜州 8; a second group 秦巴山区 has 4.
ABA = {"aba1": 95, "aba2": 70, "aba3": 60, "aba4": 50, "aba5": 40}
GANZI = {"gz1": 90, "gz2": 88, "gz3": 86, "gz4": 84, "gz5": 82, "gz6": 80, "gz7": 30, "gz8": 20}
QINBA = {"qb1": 75, "qb2": 65, "qb3": 55, "qb4": 45}
PLATEAU = "川西北高原地区"


def sichuan_like():
    units = (units_in(PLATEAU, ABA, subgroup="阿坝州") + units_in(PLATEAU, GANZI, subgroup="甘孜州")
             + units_in("秦巴山区", QINBA))
    return x_dataset({**ABA, **GANZI, **QINBA}, units)


SICHUAN_RANKING = {"group_by": "group", "subgroup_by": "subgroup", "ties": {"method": "min"}}
SICHUAN_CONSEQUENCES = {
    "praised": {"label": "通报表扬", "top": {"秦巴山区": 1, PLATEAU: {"阿坝州": 3, "甘孜州": 5}}},
    "summoned": {"label": "约谈", "bottom": {"秦巴山区": 1, PLATEAU: {"阿坝州": 1, "甘孜州": 2}}},
}


def test_group_and_subgroup_ranks():
    ev = evaluate(one_level(SINGLE, ranking=SICHUAN_RANKING), sichuan_like(), 2024)
    g, sg, r = ranks(ev, "group_rank"), ranks(ev, "subgroup_rank"), ranks(ev)
    # plateau order: aba1 95, gz1 90, gz2 88, gz3 86, gz4 84, gz5 82, gz6 80, aba2 70, aba3 60 ...
    assert [g["aba1"], g["gz1"], g["gz6"], g["aba2"], g["gz8"]] == [1, 2, 7, 8, 13]
    assert [sg["aba2"], sg["gz6"], sg["gz8"]] == [2, 6, 8]
    assert g["qb1"] == 1 and pd.isna(sg["qb1"])  # 秦巴山区 has no subgroups
    # the level-wide rank mixes groups: qb1 (75) is 8th behind 95, 90, 88, 86, 84, 82, 80
    assert r["qb1"] == 8


def test_subgroup_quotas_sichuan_plateau():
    # top 8 of the plateau = 阿坝州 top 3 + 甘孜州 top 5 (not simply the group's best 8, which would
    # take gz6 (80) instead of aba3 (60)); bottom 3 = 阿坝州 bottom 1 + 甘孜州 bottom 2.
    ev = evaluate(one_level(SINGLE, ranking=SICHUAN_RANKING, consequences=SICHUAN_CONSEQUENCES),
                  sichuan_like(), 2024)
    out = outcome(ev)
    praised = {u for u, o in out.items() if o == "praised"}
    summoned = {u for u, o in out.items() if o == "summoned"}
    assert praised == {"aba1", "aba2", "aba3", "gz1", "gz2", "gz3", "gz4", "gz5", "qb1"}
    assert summoned == {"aba5", "gz7", "gz8", "qb4"}
    assert out["gz6"] == ""
    labels = ev.scores.set_index("unit")["outcome_label"]
    assert labels["aba1"] == "通报表扬" and labels["gz8"] == "约谈"
    quota_log = [e for e in ev.log if e["step"] == "quota" and e.get("subgroup") == "甘孜州"
                 and e["consequence"] == "summoned"]
    assert quota_log[0]["units"] == ["gz7", "gz8"]
    assert "通报表扬" in ev.summary()


def test_quota_per_group_as_a_number():
    # top: 1 in every group → aba1 (plateau) and qb1; bottom 1 → gz8 and qb4
    ranking = {"group_by": "group"}
    ev = evaluate(one_level(SINGLE, ranking=ranking,
                            consequences={"praised": {"top": 1}, "summoned": {"bottom": 1}}),
                  sichuan_like(), 2024)
    out = outcome(ev)
    assert {u for u, o in out.items() if o == "praised"} == {"aba1", "qb1"}
    assert {u for u, o in out.items() if o == "summoned"} == {"gz8", "qb4"}


def test_quota_larger_than_group():
    bad = {"praised": {"top": {"秦巴山区": 5, PLATEAU: 1}}}
    with pytest.raises(SchemeError, match=r"quota 5 of group '秦巴山区' is larger than the group \(4 units\)"):
        evaluate(one_level(SINGLE, ranking=SICHUAN_RANKING, consequences=bad), sichuan_like(), 2024)
    bad = {"praised": {"top": {PLATEAU: {"阿坝州": 6}}}}
    with pytest.raises(SchemeError, match=r"quota 6 of subgroup '阿坝州'.*\(5 units\)"):
        evaluate(one_level(SINGLE, ranking=SICHUAN_RANKING, consequences=bad), sichuan_like(), 2024)


def test_subgroup_quota_needs_subgroup_by():
    # without ranking.subgroup_by there is no subgroup rank: the quota cannot be applied
    ranking = {"group_by": "group"}
    with pytest.raises(SchemeError, match="needs ranking.subgroup_by") as err:
        evaluate(one_level(SINGLE, ranking=ranking, consequences=SICHUAN_CONSEQUENCES), sichuan_like(), 2024)
    assert err.value.key == f"levels.county.consequences.praised.top.{PLATEAU}"


def test_overlapping_quotas_are_refused():
    # 秦巴山区 has 4 units: top 3 + bottom 2 overlap
    bad = {"praised": {"top": {"秦巴山区": 3}}, "summoned": {"bottom": {"秦巴山区": 2}}}
    with pytest.raises(SchemeError, match="quotas of group '秦巴山区' add up to 5, more than its 4 "
                       "units") as err:
        evaluate(one_level(SINGLE, ranking={"group_by": "group"}, consequences=bad), sichuan_like(), 2024)
    assert err.value.key == "levels.county.consequences"


def test_ties_that_make_quotas_meet_are_refused():
    # 3 units, top 1 + bottom 1 fit; but all three tie: each is both first and last
    ds = x_dataset({"a": 50, "b": 50, "c": 50})
    cons = {"praised": {"top": 1}, "summoned": {"bottom": 1}}
    with pytest.raises(SchemeError, match="falls under two consequences"):
        evaluate(one_level(SINGLE, consequences=cons), ds, 2024)


@pytest.mark.parametrize(("at_quota", "top", "bottom"), [
    # top 2 of 90, 80, 80, 70, 60: b and c tie for 2nd → both praised (3 units) ...
    # bottom 2: e (60) is last, d (70) second-to-last → no tie at the boundary
    ("include", {"a", "b", "c"}, {"d", "e"}),
    # ... or neither (1 unit)
    ("exclude", {"a"}, {"d", "e"}),
])
def test_ties_at_the_top_quota_boundary(at_quota, top, bottom):
    ds = x_dataset({"a": 90, "b": 80, "c": 80, "d": 70, "e": 60})
    ev = evaluate(one_level(SINGLE, ranking={"ties": {"at_quota": at_quota}},
                            consequences={"praised": {"top": 2}, "summoned": {"bottom": 2}}), ds, 2024)
    out = outcome(ev)
    assert {u for u, o in out.items() if o == "praised"} == top
    assert {u for u, o in out.items() if o == "summoned"} == bottom
    notes = [e for e in ev.log if e["step"] == "quota" and "note" in e]
    assert [(e["side"], e["quota"], len(e["units"])) for e in notes] == [("top", 2, len(top))]


@pytest.mark.parametrize(("at_quota", "bottom"), [
    # bottom 2 of 90, 80, 70, 70, 60: e (60) is last; c and d tie for second-to-last
    ("include", {"c", "d", "e"}),
    ("exclude", {"e"}),  # the tied pair is dropped, the clearly-last unit stays
])
def test_ties_at_the_bottom_quota_boundary(at_quota, bottom):
    ds = x_dataset({"a": 90, "b": 80, "c": 70, "d": 70, "e": 60})
    ev = evaluate(one_level(SINGLE, ranking={"ties": {"at_quota": at_quota}},
                            consequences={"summoned": {"bottom": 2}}), ds, 2024)
    assert {u for u, o in outcome(ev).items() if o == "summoned"} == bottom


@pytest.mark.parametrize("method", ["min", "average", "dense", "first"])
def test_quota_counts_positions_whatever_the_displayed_tie_method(method):
    # 90, 80, 80, 70, 60 with top 3: a, b, c are the best three for every tie method (dense ranks
    # 1, 2, 2, 3 must not let d in; average ranks 2.5 must not keep b and c out). Bottom 1: e.
    ds = x_dataset({"a": 90, "b": 80, "c": 80, "d": 70, "e": 60})
    ev = evaluate(one_level(SINGLE, ranking={"ties": {"method": method}},
                            consequences={"praised": {"top": 3}}), ds, 2024)
    assert {u for u, o in outcome(ev).items() if o == "praised"} == {"a", "b", "c"}
    ev = evaluate(one_level(SINGLE, ranking={"ties": {"method": method}},
                            consequences={"summoned": {"bottom": 1}}), ds, 2024)
    assert {u for u, o in outcome(ev).items() if o == "summoned"} == {"e"}


# ---------------------------------------------------------------------- veto
VETO_TREE = {"q": {"weight": 0.8, "scoring": VALUE},
             "safety": {"weight": 0.2, "label": "重大安全事故", "direction": "lower",
                        "scoring": {"method": "passfail", "threshold": 0, "on_fail": "veto"}}}
# totals 0.8 q + 0.2*(100 if safety == 0 else 0): a 0.8*100 + 0 = 80 (vetoed), b 0.8*90 + 20 = 92,
# c 0.8*70 + 20 = 76, d 0.8*50 + 20 = 60, e 0.8*25 + 20 = 40
VETO_VALUES = {"2024": {"a": {"q": 100, "safety": 1}, "b": {"q": 90, "safety": 0},
                        "c": {"q": 70, "safety": 0}, "d": {"q": 50, "safety": 0},
                        "e": {"q": 25, "safety": 0}}}
GRADES = {"by": "score", "bands": [[90, "优秀"], [75, "良好"], [60, "合格"], [0, "不合格"]]}


def test_veto_no_praise_lowest_grade_reason_in_explain():
    # without a veto score a keeps 80 and ranks 2nd (b 92, a 80, c 76); vetoed, it is skipped for
    # praise and the next unit takes its place: the 2 praise places go to b and c.
    ds = make_dataset(VETO_VALUES, units_in("g", "abcde"))
    ev = evaluate(one_level(VETO_TREE, grades=GRADES,
                            consequences={"praised": {"label": "通报表扬", "top": 2}}), ds, 2024)
    s = ev.scores.set_index("unit")
    assert s.loc["a", "score"] == pytest.approx(80) and bool(s.loc["a", "vetoed"])
    assert s.loc["a", "outcome"] == ""
    assert {u for u, o in outcome(ev).items() if o == "praised"} == {"b", "c"}
    assert ranks(ev) == {"b": 1, "a": 2, "c": 3, "d": 4, "e": 5}
    # grade: a would be 良好 (80 ≥ 75) but a veto gives the lowest grade; c 76 良好, d 60 合格
    assert s["grade"].to_dict() == {"a": "不合格", "b": "优秀", "c": "良好", "d": "合格", "e": "不合格"}
    text = ev.explain("a").text
    assert "VETO (一票否决)" in text and "safety (重大安全事故) failed" in text


def test_veto_score_sends_the_unit_to_the_bottom():
    # veto score 0: a scores 0, is last and is summoned (bottom 1)
    ds = make_dataset(VETO_VALUES, units_in("g", "abcde"))
    ev = evaluate(one_level(VETO_TREE, consequences={"veto": {"score": 0},
                                                     "summoned": {"bottom": 1}}), ds, 2024)
    assert scores_of(ev)["a"] == 0
    assert outcome(ev)["a"] == "summoned"
    assert ranks(ev)["a"] == 5


# ---------------------------------------------------------------------- grades
def test_grades_by_score_thresholds():
    # a score equal to a threshold reaches that grade: 90 → 优秀, 75 → 良好, 60 → 合格
    ds = x_dataset({"a": 95, "b": 90, "c": 80, "d": 75, "e": 60, "f": 59.9})
    ev = evaluate(one_level(SINGLE, grades=GRADES), ds, 2024)
    assert ev.scores.set_index("unit")["grade"].to_dict() == {
        "a": "优秀", "b": "优秀", "c": "良好", "d": "良好", "e": "合格", "f": "不合格"}


def test_grades_by_share_of_the_group():
    # 10 units ranked 1..10: rank/size ≤ 0.2 → 优秀 (2 units), ≤ 0.7 → 良好 (5), else 一般 (3)
    ds = x_dataset({f"u{i}": 100 - i for i in range(10)})
    grades = {"by": "share", "bands": [[0.2, "优秀"], [0.7, "良好"], [1.0, "一般"]]}
    ev = evaluate(one_level(SINGLE, grades=grades), ds, 2024)
    assert ev.scores["grade"].tolist() == ["优秀"] * 2 + ["良好"] * 5 + ["一般"] * 3


def test_grade_thresholds_must_decrease():
    bad = {"by": "score", "bands": [[60, "合格"], [90, "优秀"]]}
    with pytest.raises(SchemeError, match="grade thresholds must decrease"):
        evaluate(one_level(SINGLE, grades=bad), x_dataset(TIED), 2024)


# ---------------------------------------------------------------------- several periods
def test_bottom_two_years_in_a_row_is_flagged():
    # Jincheng: last in the group two years running → adjustment (调整).
    # 2022: u1 last; 2023: u3 last; 2024: u3 last → only u3 in 2024 (streak 2).
    values = {"2022": {"u1": {"x": 50}, "u2": {"x": 70}, "u3": {"x": 60}},
              "2023": {"u1": {"x": 80}, "u2": {"x": 70}, "u3": {"x": 40}},
              "2024": {"u1": {"x": 80}, "u2": {"x": 70}, "u3": {"x": 45}}}
    rules = [{"name": "adjustment", "label": "调整", "when": {"bottom": 1}, "consecutive": 2},
             {"name": "talk", "when": {"outcome": "summoned"}, "consecutive": 1}]
    scheme = one_level(SINGLE, rules=rules, ranking={"group_by": "group"},
                       consequences={"summoned": {"bottom": 1}})
    pe = evaluate_periods(scheme, make_dataset(values, units_in("g", ["u1", "u2", "u3"])),
                          [2022, 2023, 2024])
    flags = pe.flags
    adj = flags[flags["rule"] == "adjustment"]
    assert adj[["unit", "period", "streak", "label"]].values.tolist() == [["u3", "2024", 2, "调整"]]
    talk = flags[flags["rule"] == "talk"]
    assert sorted(zip(talk["unit"], talk["period"], strict=True)) == [
        ("u1", "2022"), ("u3", "2023"), ("u3", "2024")]
    assert list(pe.evaluations) == ["2022", "2023", "2024"]
    assert len(pe.scores) == 9


def test_rule_needs_name_and_when():
    values = {"2024": {"u1": {"x": 50}, "u2": {"x": 70}}}
    with pytest.raises(SchemeError, match="a rule needs name: and when:"):
        evaluate_periods(one_level(SINGLE, rules=[{"consecutive": 2}]),
                         make_dataset(values, units_in("g", ["u1", "u2"])), [2024])


# ---------------------------------------------------------------------- quarterly schemes
def _quarterly_dataset():
    # a: 60, 70, 80, 90; b: 100, 50, 50, 100 (value scoring: score = value)
    values = {f"2024Q{q}": {"a": {"x": xa, "investment": inv}, "b": {"x": xb}}
              for q, xa, xb, inv in [(1, 60, 100, 25), (2, 70, 50, 46), (3, 80, 50, 60), (4, 90, 100, None)]}
    values["2023Q2"] = {"a": {"x": 50}, "b": {"x": 50}}
    return make_dataset(values, units_in("g", "ab"))


def test_quarterly_scheme_year_combines_four_quarters():
    # equal weights: a (60+70+80+90)/4 = 75, b (100+50+50+100)/4 = 75
    scheme = one_level(SINGLE, top={"frequency": "quarterly"})
    ev = evaluate(scheme, _quarterly_dataset(), 2024)
    assert scores_of(ev) == pytest.approx({"a": 75, "b": 75})
    assert set(ev.sub_results) == {"2024Q1", "2024Q2", "2024Q3", "2024Q4"}
    # combine weights 1, 1, 1, 2: a (60+70+80+180)/5 = 78, b (100+50+50+200)/5 = 80
    scheme = one_level(SINGLE, top={"frequency": "quarterly", "combine": {"weights": [1, 1, 1, 2]}})
    assert scores_of(evaluate(scheme, _quarterly_dataset(), 2024)) == pytest.approx({"a": 78, "b": 80})


def test_quarter_alone_and_same_quarter_last_year():
    scheme = one_level(SINGLE, top={"frequency": "quarterly"})
    assert scores_of(evaluate(scheme, _quarterly_dataset(), "2024Q2")) == pytest.approx({"a": 70, "b": 50})
    # growth on the same quarter of last year: a 50 → 70 = +40%, b 50 → 50 = 0%; target 20%
    tree = {"x": {"weight": 1, "scoring": {"method": "growth", "compare_to": "same_period_last_year",
                                           "then": {"method": "target", "target": 20}}}}
    ev = evaluate(one_level(tree, top={"frequency": "quarterly"}), _quarterly_dataset(), "2024Q2")
    assert scores_of(ev) == pytest.approx({"a": 100, "b": 0})


def test_combine_weights_must_match_the_sub_periods():
    with pytest.raises(SchemeError, match="combine.weights has 2 entries, but a quarterly scheme "
                       "has 4 sub-periods") as err:
        one_level(SINGLE, top={"frequency": "quarterly", "combine": {"weights": [1, 1]}})
    assert err.value.key == "combine.weights"
    with pytest.raises(SchemeError, match="must be >= 0 and sum to more than 0"):
        one_level(SINGLE, top={"frequency": "quarterly", "combine": {"weights": [0, 0, 0, 0]}})
    scheme = one_level(SINGLE, top={"frequency": "quarterly"})
    with pytest.raises(SchemeError, match="period '2024-03' does not fit"):
        evaluate(scheme, _quarterly_dataset(), "2024-03")


def test_period_that_does_not_fit_offers_sub_periods_only_when_the_scheme_has_them():
    # A quarterly scheme asked for a month: a year (the four quarters combined) or a quarter.
    quarterly = one_level(SINGLE, top={"frequency": "quarterly"})
    with pytest.raises(SchemeError) as err:
        evaluate(quarterly, _quarterly_dataset(), "2024-03")
    assert err.value.key == "frequency"
    assert "(give a year for the annual result, such as '2024', or a quarter, such as " \
        "'2024Q1')" in str(err.value)
    # An annual scheme asked for a quarter has no sub-period to offer: only a year.
    annual = one_level(SINGLE)
    with pytest.raises(SchemeError) as err:
        evaluate(annual, _quarterly_dataset(), "2024Q2")
    message = str(err.value)
    assert "is annual; period '2024Q2' does not fit (give a year, such as '2024')" in message
    assert "sub-period" not in message and "quarter" not in message


def test_traffic_lights_from_the_schedule():
    # expected cumulative investment 25, 50, 75, 100 per quarter; yellow below 100%, red below 90%.
    # a: Q1 25/25 = 1.0 green; Q2 46/50 = 0.92 yellow; Q3 60/75 = 0.8 red; Q4 not reported.
    schedule = {"investment": {"expected": {"Q1": 25, "Q2": 50, "Q3": 75, "Q4": 100},
                               "yellow_below": 1.0, "red_below": 0.9}}
    scheme = one_level(SINGLE, top={"frequency": "quarterly"}, schedule=schedule)
    ev = evaluate(scheme, _quarterly_dataset(), 2024)
    tl = ev.traffic_lights
    a = tl[tl["unit"] == "a"].set_index("period")
    assert a["light"].to_dict() == {"2024Q1": "green", "2024Q2": "yellow", "2024Q3": "red",
                                    "2024Q4": "no data"}
    assert a.loc["2024Q2", "ratio"] == pytest.approx(0.92)
    assert (tl[tl["unit"] == "b"]["light"] == "no data").all()
    assert isinstance(tl, pd.DataFrame) and len(tl) == 8


def test_schedule_of_an_unknown_indicator():
    scheme = one_level(SINGLE, top={"frequency": "quarterly"}, schedule={"invest": {"expected": {"Q1": 25}}})
    with pytest.raises(SchemeError, match="schedule names indicator 'invest'"):
        evaluate(scheme, _quarterly_dataset(), 2024)
