"""The wiring of issue 10 into the scheme layer and ``evaluate``: a level scored by a rater-based
review (``review:``), pass/fail musts combined with a scored tree (``musts:``), consequences
that reach a linked unit of another level (``linked:``), the Monte Carlo's refusal of review
levels, and the bad input the issue lists. Every expected number is worked out by hand in the
comments (a tiny review of four secretaries, two towns with musts, two counties linked to their
towns), never read from the engine's output."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import assesskit as ak
from assesskit.data.io import load_dataset
from assesskit.data.model import Dataset
from assesskit.engine.batch import LevelBatch
from assesskit.engine.review import redo_draw, review_result
from assesskit.errors import DataError, SchemeError

ROOT = Path(__file__).resolve().parents[1]
BUILTIN = ROOT / "assesskit" / "scheme" / "builtin"

# ---------------------------------------------------------------------- a review by hand
# Four secretaries: S1, S2 in area A, S3, S4 in area B; S1 and S2 sent by D1, S3 and S4 by D2.
# The draw of 2 with seed 3 is numpy default_rng(3).choice(4, 2, replace=False) over the sorted
# ids = [0, 2] -> S1 and S3 report at the plenary; S2 reports in session A, S4 in session B.
# Raters: team T1 (every session); township leaders LA (town TA, area A) and LB (town TB, area
# B) rate the plenary and their own area's session; fellow secretaries rate their own session.
# Aspects overall 0.6, duty 0.4; points 好 100, 较好 80, 一般 60, 差 40; group weights team 0.5,
# leaders 0.3, peers 0.2.
#
# S1: T1 好/较好 = 60 + 32 = 92; LA 较好/较好 = 80, LB 好/好 = 100 -> 90; peer S3 好/一般 =
#     60 + 24 = 84.   Score 0.5·92 + 0.3·90 + 0.2·84 = 89.8 -> 优秀
# S2: T1 一般/一般 = 60; LA 较好/较好 = 80; no peer in session A -> groups re-normalised:
#     (0.5·60 + 0.3·80) / 0.8 = 67.5 -> 基本称职 (points: team 0.625·60 = 37.5, leaders 30)
# S3: T1 较好/好 = 48 + 40 = 88; LA 较好/较好 = 80, LB 较好/较好 = 80 -> 80; peer S1 较好/较好 =
#     80.   Score 44 + 24 + 16 = 84 -> 称职
# S4: T1 差/差 = 40; LB 一般/差 = 36 + 16 = 52; no peer -> (20 + 15.6) / 0.8 = 44.5 -> 不称职
# LA gives 较好 on every aspect of all three sheets: an identical rater (flagged, kept).
# Grades: 优秀 >= 85, 称职 >= 70, 基本称职 >= 50, 不称职 below (scores run 40..100: none empty).
#
# Sending units (own target assessment, value 0-100): D1 95, D2 93; 好 >= 90, 较好 >= 80.
# S4 is 不称职 -> D2 loses 2 points (93 - 2 = 91, still 好 by score), its grade is capped at
# 较好, and its principal is barred from awards; D1 keeps 95 and 好 (and is commended).
SECRETARIES = {"S1": ("A", "D1"), "S2": ("A", "D1"), "S3": ("B", "D2"), "S4": ("B", "D2")}
SHEETS = {  # (ratee, rater, group, rater unit): (overall, duty)
    ("S1", "T1", "team", ""): ("好", "较好"), ("S1", "LA", "leaders", "TA"): ("较好", "较好"),
    ("S1", "LB", "leaders", "TB"): ("好", "好"), ("S1", "S3", "peers", "S3"): ("好", "一般"),
    ("S2", "T1", "team", ""): ("一般", "一般"), ("S2", "LA", "leaders", "TA"): ("较好", "较好"),
    ("S3", "T1", "team", ""): ("较好", "好"), ("S3", "LA", "leaders", "TA"): ("较好", "较好"),
    ("S3", "LB", "leaders", "TB"): ("较好", "较好"), ("S3", "S1", "peers", "S1"): ("较好", "较好"),
    ("S4", "T1", "team", ""): ("差", "差"), ("S4", "LB", "leaders", "TB"): ("一般", "差"),
}
EXPECTED = {"S1": 89.8, "S2": 67.5, "S3": 84.0, "S4": 44.5}
EXPECTED_GRADE = {"S1": "优秀", "S2": "基本称职", "S3": "称职", "S4": "不称职"}

SCHEME = {
    "name": "tiny-review",
    "levels": {
        "secretary": {
            "units": {"level": "official"},
            "review": {
                "draw": {"k": 2, "seed": 3, "session_by": "group"},
                "points": {"好": 100, "较好": 80, "一般": 60, "差": 40},
                "aspects": {"overall": {"label": "总体评价", "weight": 0.6}, "duty": 0.4},
                "rater_groups": {
                    "team": {"label": "考核组", "weight": 0.5, "attends": "all"},
                    "leaders": {"label": "乡镇分管领导", "weight": 0.3,
                                "attends": "plenary_and_own"},
                    "peers": {"label": "其他第一书记", "weight": 0.2, "attends": "own"}},
            },
            "grades": {"by": "score", "bands": [[85, "优秀"], [70, "称职"], [50, "基本称职"],
                                                [0, "不称职"]]},
            "consequences": {"promotion": {"label": "优先提拔", "grades": ["优秀"]}},
            "linked": {"penalty": {
                "when": {"grades": ["不称职"]}, "via": "sending_unit", "level": "sending",
                "effects": {"bar_awards": {"label": "主要负责人当年不得评先评优"},
                            "cap_grade": {"best": "较好", "label": "领导班子不得评为好"},
                            "deduct": {"points": 2, "cap": 6, "label": "扣减目标考核分"}}}},
        },
        "sending": {
            "units": {"level": "department"},
            "tree": {"perf": {"weight": 1, "scoring": {"method": "value"}}},
            "grades": {"by": "score", "bands": [[90, "好"], [80, "较好"], [0, "一般"]]},
            "consequences": {"commended": {"label": "表彰", "grades": ["好"]}},
        },
    },
}


def tiny_data(sheets=SHEETS, sending=None) -> Dataset:
    rows = [("C", "县", "county", "", "", "")]
    rows += [(t, f"乡镇{t}", "town", "C", t[-1], "") for t in ("TA", "TB")]
    rows += [(d, f"单位{d}", "department", "C", "dept", "") for d in ("D1", "D2")]
    sending = sending or {}
    rows += [(s, f"第一书记{s}", "official", "C", area, sending.get(s, dept))
             for s, (area, dept) in SECRETARIES.items()]
    units = pd.DataFrame(rows, columns=["unit", "name", "level", "parent", "group",
                                        "sending_unit"])
    indicators = pd.DataFrame({"indicator": ["perf"], "name": ["目标考核"],
                               "direction": ["higher"]})
    values = pd.DataFrame({"unit": ["D1", "D2"], "period": ["2015", "2015"],
                           "indicator": ["perf", "perf"], "value": [95, 93]})
    ratings = pd.DataFrame(
        [(ratee, "2015", rater, group, aspect, grade, ru)
         for (ratee, rater, group, ru), grades in sheets.items()
         for aspect, grade in zip(("overall", "duty"), grades, strict=True)],
        columns=["unit", "period", "rater", "rater_group", "aspect", "grade", "rater_unit"])
    return Dataset.from_frames(units, indicators, values, ratings=ratings, name="tiny",
                               sources={"units": "units.csv", "ratings": "ratings.csv",
                                        "values": "values.csv"})


@pytest.fixture(scope="module")
def tiny():
    return ak.evaluate(ak.load_scheme(copy.deepcopy(SCHEME)), tiny_data(), 2015)


def test_review_scores_and_grades_by_hand(tiny):
    s = tiny.scores[tiny.scores["level"] == "secretary"].set_index("unit")
    for unit, score in EXPECTED.items():
        assert s.loc[unit, "score"] == pytest.approx(score, abs=1e-9)
        assert s.loc[unit, "grade"] == EXPECTED_GRADE[unit]
    assert s.loc["S1", "outcome"] == "promotion" and s.loc["S2", "outcome"] == ""
    assert s.loc["S1", "session"] == "plenary" and s.loc["S2", "session"] == "A"
    assert s["drawn"].tolist() == [True, False, True, False]
    assert s["sheets"].tolist() == [4, 2, 4, 2]


def test_contributions_one_row_per_rater_group_adding_up(tiny):
    c = tiny.contributions.set_index(["unit", "node"])
    # S2: no fellow secretary -> team 0.5/0.8 of the points, leaders 0.3/0.8
    assert c.loc[("S2", "team"), "points"] == pytest.approx(0.625 * 60)
    assert c.loc[("S2", "leaders"), "points"] == pytest.approx(0.375 * 80)
    assert c.loc[("S2", "peers"), "points"] == 0 and c.loc[("S2", "peers"), "max_points"] == 0
    assert c.loc[("S1", "leaders"), "score"] == pytest.approx(90)
    assert c.loc[("S1", "peers"), "max_points"] == pytest.approx(20)
    assert set(c.loc["S1"]["kind"]) == {"rater_group"}
    rows = tiny.contributions[tiny.contributions["kind"] != "group"]
    total = rows.groupby("unit")["points"].sum()
    scores = tiny.scores.set_index("unit")["score"]
    np.testing.assert_allclose(total.loc[scores.index], scores, atol=1e-9)


def test_draw_in_log_summary_and_redone_from_the_log(tiny):
    draw = next(e for e in tiny.log if e["step"] == "draw")
    assert (draw["level"], draw["k"], draw["seed"], draw["n"]) == ("secretary", 2, 3, 4)
    assert draw["drawn"] == ["S1", "S3"] and draw["names"] == ["第一书记S1", "第一书记S3"]
    assert redo_draw(draw, ["S4", "S3", "S2", "S1"]) == draw["drawn"]
    summary = tiny.summary()
    assert "plenary draw: 2 of 4 drawn with seed 3: 第一书记S1 (S1), 第一书记S3 (S3)" in summary
    assert "reported at the plenary (drawn: 2 of 4 with seed 3)" in tiny.explain("S1").text


def test_notices_for_every_policy_decision(tiny):
    kinds = {n.kind: n for n in tiny.notices}
    assert "S2 (no peers)" in kinds["rater_group_missing"].message
    assert "S4 (no peers)" in kinds["rater_group_missing"].message
    assert "LA (leaders: all 较好, 3 sheets)" in kinds["identical_rater"].message
    assert kinds["identical_rater"].where == "ratings.csv"
    assert "gave every ratee and aspect the same grade" in tiny.summary()


def test_linked_consequence_reaches_the_sending_unit(tiny):
    d = tiny.scores[tiny.scores["level"] == "sending"].set_index("unit")
    assert d.loc["D2", "score"] == pytest.approx(91.0)       # 93 - 2 for S4
    assert d.loc["D2", "deductions"] == pytest.approx(-2.0)
    assert d.loc["D2", "grade"] == "较好"                      # 91 would be 好: capped
    assert d.loc["D1", "score"] == pytest.approx(95.0) and d.loc["D1", "grade"] == "好"
    assert d.loc["D1", "outcome"] == "commended" and d.loc["D2", "outcome"] == ""
    assert "主要负责人当年不得评先评优" in d.loc["D2", "linked_outcomes"]
    assert d.loc["D1", "linked_outcomes"] == ""
    cons = tiny.consequences
    linked = cons[cons["kind"] == "linked"]
    assert set(linked["unit"]) == {"D2"} and len(linked) == 3
    assert (linked["because"] == "S4 (第一书记S4) graded 不称职 in level 'secretary'").all()
    row = tiny.contributions.query("unit == 'D2' and kind == 'linked'").iloc[0]
    assert row["node"] == "linked:penalty" and row["points"] == pytest.approx(-2.0)
    text = tiny.explain("D2").text
    assert "linked (cap_grade): 领导班子不得评为好 — because S4 (第一书记S4) graded 不称职" in text
    entry = next(e for e in tiny.log if e["step"] == "linked")
    assert entry["reached"] == {"D2": ["S4 (第一书记S4)"]}


def test_linked_level_comes_after_the_triggering_level():
    spec = copy.deepcopy(SCHEME)
    spec["levels"] = {"sending": spec["levels"]["sending"],
                      "secretary": spec["levels"]["secretary"]}
    scheme = ak.load_scheme(spec)
    assert list(scheme.levels) == ["secretary", "sending"]
    ev = ak.evaluate(scheme, tiny_data(), 2015)
    assert list(ev.scores["level"].unique()) == ["sending", "secretary"]  # as the file lists
    assert ev.scores.set_index("unit").loc["D2", "score"] == pytest.approx(91.0)


def test_monte_carlo_refuses_a_review_and_keeps_linked_caps():
    scheme = ak.load_scheme(copy.deepcopy(SCHEME))
    data = tiny_data()
    with pytest.raises(SchemeError, match="rater-based review.*assesskit.analysis.raters"):
        LevelBatch(scheme, data, "2015", "secretary")
    with pytest.raises(SchemeError, match="rater-based review") as err:
        ak.uncertainty(scheme, data, 2015, n=8, seed=1, level="secretary")
    assert err.value.key == "levels.secretary.review"
    batch = LevelBatch(scheme, data, "2015", "sending")
    run = batch.run(np.zeros((1, 5), int))
    np.testing.assert_allclose(run.total[0], [95.0, 91.0])
    # the grade consequence 'commended' (好) follows the capped grade: D1 only
    assert run.outcome[0].tolist() == [1, 0]


# ---------------------------------------------------------------------- linked, tree to tree
# Counties K1 (towns A1, A2, A3) and K2 (town B1). A town failing its pass/fail leaf 'safety'
# (threshold 1) is vetoed; each vetoed town costs its county 3 points, at most 5, and caps its
# grade at 良. Town values A1 0, A2 0 (both vetoed), A3 1, B1 1; counties (value rule) K1 80,
# K2 80. K1: 2 cases × 3 = 6, capped at 5 -> 75, 良 (>= 70, < 78); K2 untouched: 80, 优.
# With only A1 vetoed and K1 at 90: 90 - 3 = 87 would be 优; the cap makes it 良.
TREE_SCHEME = {
    "levels": {
        "town": {
            "tree": {"safety": {"weight": 1, "scoring": {"method": "passfail", "threshold": 1,
                                                         "on_fail": "veto"}}},
            "linked": {"county_penalty": {
                "when": {"vetoed": True}, "via": "parent", "level": "county",
                "effects": {"deduct": {"points": 3, "cap": 5, "label": "扣减县考核分"},
                            "cap_grade": {"best": "良", "label": "县不得评优"}}}},
        },
        "county": {
            "tree": {"score": {"weight": 1, "scoring": {"method": "value"}}},
            "grades": {"by": "score", "bands": [[78, "优"], [70, "良"], [0, "差"]]},
        },
    },
}


def tree_data(k2_score=80.0) -> Dataset:
    units = pd.DataFrame({
        "unit": ["K1", "K2", "A1", "A2", "A3", "B1"],
        "name": ["县一", "县二", "镇A1", "镇A2", "镇A3", "镇B1"],
        "level": ["county", "county", "town", "town", "town", "town"],
        "parent": ["", "", "K1", "K1", "K1", "K2"], "group": ["", "", "g", "g", "g", "g"]})
    indicators = pd.DataFrame({"indicator": ["safety", "score"], "direction": ["higher"] * 2})
    values = pd.DataFrame({"unit": ["A1", "A2", "A3", "B1", "K1", "K2"], "period": "2020",
                           "indicator": ["safety"] * 4 + ["score"] * 2,
                           "value": [0, 0, 1, 1, 80, k2_score]})
    return Dataset.from_frames(units, indicators, values, name="tree")


def test_linked_between_two_tree_levels_deducts_capped_points_and_caps_grades():
    ev = ak.evaluate(copy.deepcopy(TREE_SCHEME), tree_data(k2_score=80.0), 2020)
    s = ev.scores.set_index("unit")
    assert s.loc["A1", "vetoed"] and s.loc["A2", "vetoed"] and not s.loc["A3", "vetoed"]
    assert s.loc["K1", "score"] == pytest.approx(75.0)  # 80 - min(5, 2 × 3)
    assert s.loc["K1", "grade"] == "良"
    assert s.loc["K2", "score"] == pytest.approx(80.0) and s.loc["K2", "grade"] == "优"
    reason = ev.contributions.query("unit == 'K1' and kind == 'linked'")["reason"].iloc[0]
    assert "A1 (镇A1), A2 (镇A2) vetoed in level 'town'" in reason and "capped at 5" in reason
    # a county at 90 with one vetoed town: 90 - 3 = 87 would be 优; capped at 良
    ev2 = ak.evaluate(copy.deepcopy(TREE_SCHEME), _one_veto_data(), 2020)
    k1 = ev2.scores.set_index("unit").loc["K1"]
    assert k1["score"] == pytest.approx(87.0) and k1["grade"] == "良"


def _one_veto_data() -> Dataset:
    ds = tree_data()
    values = ds.values.copy()
    values.loc[(values["unit"] == "A2"), "value"] = 1.0
    values.loc[(values["unit"] == "K1"), "value"] = 90.0
    return Dataset.from_frames(ds.units, ds.indicators, values, name="tree")


# ---------------------------------------------------------------------- musts with a score
# Towns M1..M3 scored by one rating (value rule, 0-100): 90, 80, 70. Musts: 'staff' (1 <= staff
# <= 2, deduct 5) and 'funds' (share >= 50, veto, veto score 0).
# M1: staff 1, share 60 -> passes: 90.   M2: staff 3 (fails <= 2), share 55 -> 80 - 5 = 75.
# M3: staff 2, share 42 (fails) -> vetoed, 0; ranked last.
MUSTS_SCHEME = {
    "levels": {
        "town": {
            "tree": {"rating": {"weight": 1, "scoring": {"method": "value"}}},
            "consequences": {"veto": {"score": 0}, "praised": {"label": "表扬", "top": 1}},
            "musts": {
                "missing": "error",
                "staff": {"label": "专人专职", "on_fail": {"deduct": 5}, "checks": [
                    {"indicator": "staff", "at_least": 1, "label": "至少1人"},
                    {"indicator": "staff", "at_most": 2, "label": "至多2人"}]},
                "funds": {"label": "整合资金", "on_fail": {"veto": True}, "checks": [
                    {"indicator": "share", "at_least": 50, "label": "投向贫困村不低于50%"}]},
            },
        },
    },
}


def musts_data(staff_m1=1.0) -> Dataset:
    units = pd.DataFrame({"unit": ["M1", "M2", "M3"], "name": ["镇一", "镇二", "镇三"],
                          "level": "town"})
    indicators = pd.DataFrame({"indicator": ["rating", "staff", "share"]})
    values = pd.DataFrame({"unit": ["M1", "M2", "M3"] * 3, "period": "2016",
                           "indicator": ["rating"] * 3 + ["staff"] * 3 + ["share"] * 3,
                           "value": [90, 80, 70, staff_m1, 3, 2, 60, 55, 42]})
    return Dataset.from_frames(units, indicators, values, name="musts",
                               sources={"values": "values.csv"})


def test_musts_combine_with_a_scored_tree():
    ev = ak.evaluate(copy.deepcopy(MUSTS_SCHEME), musts_data(), 2016)
    s = ev.scores.set_index("unit")
    assert s["score"].tolist() == pytest.approx([90.0, 75.0, 0.0])
    assert s["deductions"].tolist() == pytest.approx([0.0, -5.0, 0.0])
    assert s["vetoed"].tolist() == [False, False, True]
    assert s["rank"].tolist() == [1, 2, 3] and s.loc["M1", "outcome"] == "praised"
    c = ev.contributions
    row = c[(c["unit"] == "M2") & (c["kind"] == "must")].iloc[0]
    assert (row["node"], row["points"], row["label"]) == ("must:staff", -5.0, "专人专职")
    total = c[c["kind"] != "group"].groupby("unit")["points"].sum()
    np.testing.assert_allclose(total.loc[s.index], s["score"], atol=1e-9)
    text = ev.explain("M2").text
    assert "专人专职 (staff) failed: 至多2人 staff = 3 (must be <= 2) → deduct 5 points" in text
    veto = ev.explain("M3").text
    assert "VETO (一票否决): 整合资金 (funds) failed: 投向贫困村不低于50% share = 42 (must be >= 50)" \
        in veto
    assert "整合资金 (funds) failed → veto 一票否决: 镇三 (M3)" in ev.summary()
    log = next(e for e in ev.log if e["step"] == "musts")
    assert log["failed"] == {"M2": ["staff"], "M3": ["funds"]}


def test_must_without_a_value_is_an_error_or_fails_with_a_notice():
    data = musts_data(staff_m1=np.nan)
    with pytest.raises(DataError) as err:
        ak.evaluate(copy.deepcopy(MUSTS_SCHEME), data, 2016)
    p = err.value.problems[0]
    assert p.file == "values.csv" and "unit M1 (镇一) has no value for 'staff'" in p.message
    assert "key 'levels.town.musts'" in p.message and "missing: fail" in p.message
    spec = copy.deepcopy(MUSTS_SCHEME)
    spec["levels"]["town"]["musts"]["missing"] = "fail"
    ev = ak.evaluate(spec, data, 2016)
    assert ev.scores.set_index("unit").loc["M1", "score"] == pytest.approx(85.0)  # 90 - 5
    assert any(n.kind == "must_missing_failed" and "M1" in n.message for n in ev.notices)


def test_monte_carlo_runs_musts_through_the_same_kernels():
    scheme = ak.load_scheme(copy.deepcopy(MUSTS_SCHEME))
    batch = LevelBatch(scheme, musts_data(), "2016", "town")
    run = batch.run(np.zeros((1, 5), int))
    np.testing.assert_allclose(run.total[0], [90.0, 75.0, 0.0])
    assert batch.vetoed.tolist() == [False, False, True]


# ---------------------------------------------------------------------- scheme errors at load
def _with(path: list, value, base=None):
    spec = copy.deepcopy(base or SCHEME)
    node = spec
    for key in path[:-1]:
        node = node[key]
    if value is _DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return spec


_DELETE = object()


@pytest.mark.parametrize("path, value, key, message", [
    (["levels", "secretary", "tree"], {"x": {"weight": 1}}, "levels.secretary.review",
     "either by a tree"),
    (["levels", "secretary", "review", "rater_groups", "team", "weight"], 0.6,
     "levels.secretary.review.rater_groups", "sum to 1.1, not 1"),
    (["levels", "secretary", "review", "rater_groups", "peers", "attends"], "some",
     "levels.secretary.review.rater_groups.peers.attends", "must be one of"),
    (["levels", "secretary", "review", "points", "较好"], 120,
     "levels.secretary.review.points.较好", "<= 100"),
    (["levels", "secretary", "review", "points", "一般"], 90,
     "levels.secretary.review.points", "must decrease"),
    (["levels", "secretary", "review", "draw", "k"], 0, "levels.secretary.review.draw.k",
     ">= 1"),
    (["levels", "secretary", "review", "draw", "seed"], _DELETE,
     "levels.secretary.review.draw.seed", "needs seed"),
    (["levels", "secretary", "review", "missing_sheet"], "guess",
     "levels.secretary.review.missing_sheet", "must be one of"),
    (["levels", "secretary", "grades", "bands", 2, 0], 30, "levels.secretary.grades.bands",
     "'不称职' can never be given"),
    (["levels", "secretary", "grades"], {"by": "share", "bands": [
        [0.25, "优秀"], [0.5, "称职"], [0.75, "基本称职"], [1, "不称职"]]},
     "levels.secretary.grades.by", "by score"),
    (["levels", "secretary", "deductions"], {"x": {"points": 1}}, "levels.secretary.deductions",
     "unknown key"),
    (["levels", "secretary", "linked", "penalty", "level"], "nowhere",
     "levels.secretary.linked.penalty.level", "not another level"),
    (["levels", "secretary", "linked", "penalty", "when"], {"grades": ["差"]},
     "levels.secretary.linked.penalty.when.grades", "unknown grades"),
    (["levels", "secretary", "linked", "penalty", "effects", "cap_grade", "best"], "优",
     "levels.secretary.linked.penalty.effects.cap_grade.best", "must be a grade"),
    (["levels", "secretary", "linked", "penalty", "effects", "deduct", "points"], -1,
     "levels.secretary.linked.penalty.effects.deduct.points", "> 0"),
    (["levels", "secretary", "linked", "penalty", "effects", "bar_awards", "points"], 1,
     "levels.secretary.linked.penalty.effects.bar_awards.points", "unknown key"),
])
def test_scheme_errors_name_the_key(path, value, key, message):
    with pytest.raises(SchemeError, match=message) as err:
        ak.load_scheme(_with(path, value))
    assert err.value.key == key


def test_linked_cycle_and_quarterly_scheme_are_refused():
    spec = copy.deepcopy(SCHEME)
    spec["levels"]["sending"]["linked"] = {"back": {
        "when": {"grades": ["一般"]}, "via": "parent", "level": "secretary",
        "effects": {"note": {"label": "x"}}}}
    with pytest.raises(SchemeError, match="cycle: secretary → sending → secretary"):
        ak.load_scheme(spec)
    spec = copy.deepcopy(SCHEME)
    spec["frequency"] = "quarterly"
    with pytest.raises(SchemeError, match="annual scheme") as err:
        ak.load_scheme(spec)
    assert err.value.key == "levels.secretary.linked.penalty"


def test_musts_need_an_annual_scheme():
    spec = copy.deepcopy(MUSTS_SCHEME)
    spec["frequency"] = "quarterly"
    with pytest.raises(SchemeError, match="need an annual scheme") as err:
        ak.load_scheme(spec)
    assert err.value.key == "levels.town.musts"


@pytest.mark.parametrize("check, message", [
    ({"indicator": "staff", "at_least": 1, "at_most": 2}, "exactly one of at_least"),
    ({"at_least": 1}, "needs indicator"),
    ({"indicator": "staff", "at_least": "one"}, "must be a number"),
])
def test_musts_check_errors(check, message):
    spec = copy.deepcopy(MUSTS_SCHEME)
    spec["levels"]["town"]["musts"]["staff"]["checks"][1] = check
    with pytest.raises(SchemeError, match=message) as err:
        ak.load_scheme(spec)
    assert err.value.key.startswith("levels.town.musts.staff.checks[1]")


def test_musts_unknown_indicator_is_located(tmp_path):
    text = (BUILTIN / "jiange-five-musts.yaml").read_text(encoding="utf-8").replace(
        "{indicator: odd_months_covered,", "{indicator: odd_months,")
    path = tmp_path / "j.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SchemeError, match="unknown indicator code 'odd_months'") as err:
        ak.evaluate(ak.load_scheme(path), ak.datasets.load("jiange"), 2016)
    assert err.value.key == "levels.town.musts.supervision.checks[0].indicator"
    assert err.value.line == next(i for i, t in enumerate(text.splitlines(), 1)
                                  if "odd_months," in t)


# ---------------------------------------------------------------------- bad input (issue 10)
def copy_yingshan(tmp_path: Path) -> Path:
    out = tmp_path / "yingshan"
    shutil.copytree(ROOT / "data" / "yingshan", out)
    return out


def test_bad_rating_outside_the_scale(tmp_path):
    folder = copy_yingshan(tmp_path)
    r = pd.read_csv(folder / "ratings.csv", dtype=str, keep_default_na=False)
    r.loc[4, "grade"] = "很好"
    r.to_csv(folder / "ratings.csv", index=False)
    meta = (folder / "dataset.yaml").read_text(encoding="utf-8")
    (folder / "dataset.yaml").write_text(
        "\n".join(x for x in meta.splitlines() if not x.startswith("rating_scale")),
        encoding="utf-8")
    with pytest.raises(DataError) as err:
        ak.evaluate("yingshan-first-secretaries", load_dataset(folder), 2015)
    p = err.value.problems[0]
    assert (p.row, p.column, p.value) == (6, "grade", "很好") and p.file.endswith("ratings.csv")
    assert "yingshan-first-secretaries.yaml" in p.message and "levels.secretary.review.points" \
        in p.message


def test_bad_rater_rating_someone_not_in_the_draw(tmp_path):
    data = ak.datasets.load("yingshan")
    ev = ak.evaluate("yingshan-first-secretaries", data, 2015)
    drawn = next(e for e in ev.log if e["step"] == "draw")["drawn"]
    outsider = next(u for u in ev.scores["unit"] if u.startswith("YS") and u not in drawn)
    folder = copy_yingshan(tmp_path)
    r = pd.read_csv(folder / "ratings.csv", dtype=str, keep_default_na=False)
    r = pd.concat([r, pd.DataFrame([{"unit": outsider, "period": "2015", "rater": drawn[0],
                                     "rater_group": "peers", "aspect": "overall", "grade": "好",
                                     "rater_unit": drawn[0]}])], ignore_index=True)
    r.to_csv(folder / "ratings.csv", index=False)
    with pytest.raises(DataError) as err:
        ak.evaluate("yingshan-first-secretaries", load_dataset(folder), 2015)
    p = err.value.problems[0]
    assert (p.row, p.column, p.value) == (len(r) + 1, "unit", outsider)
    assert f"rater {drawn[0]!r}" in p.message and "was not drawn" in p.message
    assert "seed 20160309" in p.message


def test_bad_secretary_without_a_sending_unit(tmp_path):
    # the loader refuses a blank sending unit (file, row, column) ...
    folder = copy_yingshan(tmp_path)
    u = pd.read_csv(folder / "units.csv", dtype=str, keep_default_na=False)
    i = int(np.flatnonzero(u["unit"] == "YS17")[0])
    u.loc[i, "sending_unit"] = ""
    u.to_csv(folder / "units.csv", index=False)
    with pytest.raises(DataError) as err:
        load_dataset(folder)
    p = err.value.problems[0]
    assert (p.row, p.column) == (i + 2, "sending_unit") and p.file.endswith("units.csv")
    # ... and evaluating the sending units' scheme (which the review's consequence reaches)
    # refuses a sending unit that is not a unit of the linked level
    u.loc[i, "sending_unit"] = "YT01"  # a township, not a department
    u.to_csv(folder / "units.csv", index=False)
    with pytest.raises(DataError) as err:
        ak.evaluate("yingshan-sending-units", load_dataset(folder), 2015)
    p = err.value.problems[0]
    assert (p.row, p.column, p.value) == (i + 2, "sending_unit", "YT01")
    assert "of level 'town', not 'department'" in p.message


def test_bad_grade_threshold_empty_by_construction(tmp_path):
    text = (BUILTIN / "yingshan-first-secretaries.yaml").read_text(encoding="utf-8")
    text = text.replace("[[90, 优秀], [70, 称职], [60, 基本称职], [0, 不称职]]",
                        "[[90, 优秀], [70, 称职], [40, 基本称职], [0, 不称职]]")
    path = tmp_path / "y.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SchemeError) as err:
        ak.load_scheme(path)
    assert err.value.key == "levels.secretary.grades.bands"
    assert err.value.line == next(i for i, t in enumerate(text.splitlines(), 1)
                                  if "[40, 基本称职]" in t)
    assert "'不称职' can never be given" in str(err.value) and "from 40 to 100" in str(err.value)


def test_bad_draw_larger_than_the_number_of_secretaries(tmp_path):
    text = (BUILTIN / "yingshan-first-secretaries.yaml").read_text(encoding="utf-8")
    text = text.replace("draw: {k: 15,", "draw: {k: 75,")
    path = tmp_path / "y.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataError) as err:
        ak.evaluate(ak.load_scheme(path), ak.datasets.load("yingshan"), 2015)
    p = err.value.problems[0]
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "draw: {k: 75," in t)
    assert p.file.endswith("units.csv") and p.value == 75
    assert f"y.yaml, line {line}, key 'levels.secretary.review.draw.k'" in p.message
    assert "only 60 units" in p.message


# ---------------------------------------------------------------------- the analysis on ev
def test_reliability_analysis_takes_the_evaluation():
    from assesskit.analysis.raters import analyse

    data = ak.datasets.load("yingshan")
    ev = ak.evaluate("yingshan-first-secretaries", data, 2015)
    review = review_result(ev)
    assert review is ev.level_results["secretary"].review
    res = analyse(ev, data, n_draws=40, seed=2)
    # the analysis grades the same scores as the evaluation (no musts or links reach them)
    merged = res.to_frame().set_index("unit")
    s = ev.scores.set_index("unit")
    assert (merged["grade"] == s.loc[merged.index, "grade"]).all()
    with pytest.raises(SchemeError, match="no level of scheme 'jiange-five-musts'"):
        review_result(ak.evaluate("jiange-five-musts", ak.datasets.load("jiange"), 2016))


def test_rater_group_weights_change_with_with_weights():
    # only the assessment team counts: the scores are the team's sheet points (S1 92, S2 60,
    # S3 88, S4 40), and the change is logged
    scheme = ak.load_scheme(copy.deepcopy(SCHEME))
    variant = scheme.with_weights({"team": 1.0, "leaders": 0.0, "peers": 0.0}, note="team only")
    ev = ak.evaluate(variant, tiny_data(), 2015)
    s = ev.scores[ev.scores["level"] == "secretary"].set_index("unit")["score"]
    assert s.tolist() == pytest.approx([92.0, 60.0, 88.0, 40.0])
    assert variant.log[0]["weights"][0] == {"node": "team", "old": 0.5, "new": 1.0}
    assert scheme.levels["secretary"].review.rater_groups["team"]["weight"] == 0.5


def test_without_a_rater_group_its_sheets_count_for_nothing():
    # without the team, leaders 0.3 and peers 0.2 become 0.6 and 0.4: S1 0.6·90 + 0.4·84 = 87.6;
    # S2 leaders alone 80 (no peer); S3 0.6·80 + 0.4·80 = 80; S4 leaders alone 52. The team's
    # sheets stay in the data and are still read (they were "unknown rater group" errors)
    scheme = ak.load_scheme(copy.deepcopy(SCHEME))
    variant = scheme.without_nodes(["team"], note="no assessment team")
    groups = variant.levels["secretary"].review.rater_groups
    assert groups["team"]["weight"] == 0 and groups["leaders"]["weight"] == pytest.approx(0.6)
    ev = ak.evaluate(variant, tiny_data(), 2015)
    s = ev.scores[ev.scores["level"] == "secretary"].set_index("unit")["score"]
    assert s.tolist() == pytest.approx([87.6, 80.0, 80.0, 52.0])
    assert variant.log[-1]["removed"][0]["node"] == "team"


def test_linked_consequence_triggered_by_an_outcome():
    # towns scored pass/fail without a veto: A1, A2 score 0 and tie at the bottom; the quota
    # 'warned' (bottom 1, ties included) takes both, and each costs K1 3 points, at most 5
    spec = copy.deepcopy(TREE_SCHEME)
    town = spec["levels"]["town"]
    town["tree"]["safety"]["scoring"]["on_fail"] = "zero"
    town["consequences"] = {"warned": {"label": "警示", "bottom": 1}}
    town["linked"]["county_penalty"]["when"] = {"outcome": ["warned"]}
    ev = ak.evaluate(spec, tree_data(), 2020)
    s = ev.scores.set_index("unit")
    assert s.loc[["A1", "A2"], "outcome"].tolist() == ["warned", "warned"]
    assert not s["vetoed"].any()
    assert s.loc["K1", "score"] == pytest.approx(75.0) and s.loc["K2", "score"] == 80.0
    assert s.loc["K1", "linked_outcomes"] == "扣减县考核分、县不得评优"
    because = ev.consequences.query("unit == 'K1'")["because"]
    assert (because == "A1 (镇A1), A2 (镇A2) received warned in level 'town'").all()


def test_report_header_names_the_plenary_draw_and_its_seed():
    """The report's front matter shows the random draw: seed, k of n and the drawn ids, which
    are redone here from the rule the scheme documents (default_rng(seed).choice over the sorted
    ids), not read from the engine."""
    import re

    from assesskit.report.sections import AnnualPage

    facts = AnnualPage("yingshan-first-secretaries", str(ROOT / "data" / "yingshan"),
                       "2015").header_facts().data
    line = next(x for x in facts.splitlines() if "Plenary draw" in x)
    units = load_dataset(ROOT / "data" / "yingshan").units
    ids = sorted(units.loc[units["unit"].str.startswith("YS"), "unit"])
    expected = {ids[i] for i in np.random.default_rng(20160309).choice(len(ids), 15,
                                                                       replace=False)}
    assert f"15 of {len(ids)} drawn with seed 20160309" in line
    assert set(re.findall(r"\((YS\d+)\)", line)) == expected
