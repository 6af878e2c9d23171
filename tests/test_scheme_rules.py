"""Rules the built-in schemes need to follow their sources, on tiny hand-made data.

* a relative rule over a comparison group that is too small (Jincheng: a county-specific
  indicator reported by one county scored 100 on 97.9 % completion);
* an evaluation coefficient on one part of the tree (Jincheng: the traction projects);
* shared indicators that split their POINTS 80/20 (Dingxi 指标共担) and move with the counties'
  attainment;
* a negative-list incident that costs the same whatever quarter it falls in (Dingxi);
* consequences by rank over two years and a unit receiving a grade and a rank consequence
  (Jincheng towns, counties).

Every expected number is worked out by hand in the comment beside it, from the rule as the
source states it (and the scheme format documents it), never copied from the engine's output.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_engine import VALUE, contribution, make_dataset, one_level, scores_of, units_in

from assesskit import DataError, SchemeError, evaluate, evaluate_periods, load_scheme
from assesskit.analysis.uncertainty import uncertainty
from assesskit.analysis.uncertainty import vary_weights as weights


# ---------------------------------------------------------------------- small comparison groups
def _one_county_gas(scoring: dict, **extra):
    """Three counties; gas supply reported by X only (a county-specific indicator)."""
    values = {"2024": {"X": {"industry": 50, "gas": 97.9}, "Y": {"industry": 60},
                       "Z": {"industry": 70}}}
    tree = {"industry": {"weight": 0.5, "scoring": VALUE},
            "gas": {"weight": 0.5, "applies_to": ["X"], "scoring": scoring}}
    ds = make_dataset(values, [{"unit": u, "name": n, "group": "county"}
                               for u, n in (("X", "泽州县"), ("Y", "阳城县"), ("Z", "沁水县"))])
    return evaluate(one_level(tree, ranking={"group_by": "group"}, **extra), ds, 2024)


def test_relative_rule_over_one_unit_is_an_error_naming_node_and_units():
    # min–max within the county group, but only X reports gas: X would be compared with itself
    # and get 100 on 97.9 % completion. The engine refuses, naming the node and the unit.
    with pytest.raises(SchemeError, match=r"'gas'.*fewer than 3.*X \(泽州县\)") as err:
        _one_county_gas({"method": "minmax", "range": [60, 100]})
    assert err.value.key == "levels.county.tree.gas.scoring"


def test_one_county_indicator_scored_against_its_own_standard():
    # target attainment: 97.9 % of the target scores 97.9 (not 100); X's total with the other
    # half on industry 50: 0.5 × 50 + 0.5 × 97.9 = 73.95. Y and Z: gas does not apply, industry
    # carries all the weight: 60 and 70.
    ev = _one_county_gas({"method": "target", "target": 100, "cap": 1.0})
    assert scores_of(ev) == pytest.approx({"X": 73.95, "Y": 60, "Z": 70})
    assert contribution(ev, "X", "gas")["score"] == pytest.approx(97.9)
    assert contribution(ev, "X", "gas")["points_lost"] == pytest.approx(50 - 48.95)


def test_small_group_missing_and_pool():
    # small_group: missing — X's gas score is left out (the parent re-normalises): X = 50.
    ev = _one_county_gas({"method": "minmax", "small_group": "missing"})
    assert scores_of(ev)["X"] == pytest.approx(50)
    assert "small_group: missing" in contribution(ev, "X", "gas")["reason"]
    # small_group: pool — group A holds a1 alone; the pool a1, b1, b2, b3 = 50, 40, 60, 80:
    # a1 = 100 (50 − 40) / (80 − 40) = 25; b1..b3 within B (40, 60, 80) = 0, 50, 100.
    units = units_in("A", ["a1"]) + units_in("B", ["b1", "b2", "b3"])
    ds = make_dataset({"2024": {"a1": {"x": 50}, "b1": {"x": 40}, "b2": {"x": 60},
                                "b3": {"x": 80}}}, units)
    tree = {"x": {"weight": 1, "scoring": {"method": "minmax", "small_group": "pool"}}}
    ev = evaluate(one_level(tree, ranking={"group_by": "group"}), ds, 2024)
    assert scores_of(ev) == pytest.approx({"a1": 25, "b1": 0, "b2": 50, "b3": 100})
    assert [n.kind for n in ev.notices] == ["small_group_pool"]


def test_small_group_keys_are_checked_at_load():
    with pytest.raises(SchemeError, match="small_group must be one of"):
        one_level({"x": {"weight": 1, "scoring": {"method": "minmax", "small_group": "top"}}})
    with pytest.raises(SchemeError, match="min_group must be >= 1"):
        one_level({"x": {"weight": 1, "scoring": {"method": "zscore", "min_group": 0}}})


# ---------------------------------------------------------------------- coefficient on a part
TOWN_TREE = {"dev": {"weight": 0.75, "scoring": VALUE},
             "traction": {"weight": 0.25, "scoring": VALUE}}
TOWN_COEF = {"indicator": "tasks", "node": "traction",
             "bands": [[0, 1.00], [2, 1.02], [4, 1.04], [6, 1.06]]}
TOWN_VALUES = {"2024": {"A": {"dev": 80, "traction": 90, "tasks": 5},
                        "B": {"dev": 70, "traction": 60, "tasks": 1},
                        "C": {"dev": 90, "traction": 100, "tasks": 7}}}


def test_coefficient_multiplies_the_traction_part_only():
    # A: base 0.75·80 + 0.25·90 = 60 + 22.5 = 82.5; 4–5 tasks → 1.04 on the traction points
    #    only: 82.5 + 0.04·22.5 = 83.4 (on the whole total it would be 85.8).
    # B: 1 task → 1.00: 0.75·70 + 0.25·60 = 67.5.
    # C: 7 tasks → 1.06: 67.5 + 25 = 92.5, + 0.06·25 = 1.5 → 94.
    ds = make_dataset(TOWN_VALUES, units_in("town", "ABC", level="town"))
    ev = evaluate(one_level(TOWN_TREE, level="town", coefficient=TOWN_COEF), ds, 2024)
    assert scores_of(ev) == pytest.approx({"A": 83.4, "B": 67.5, "C": 94.0})
    assert contribution(ev, "A", "coefficient")["points"] == pytest.approx(0.9)
    c = ev.contributions
    rows = c[c["kind"] != "group"].groupby("unit")["points"].sum()
    assert rows.to_dict() == pytest.approx(scores_of(ev))  # the rows still add up
    # the highest possible total: 100 + (1.06 − 1) × 25 = 101.5, stated in the log
    spec = ev.scheme.levels["town"]
    assert spec.max_score() == pytest.approx(101.5)
    assert next(e for e in ev.log if e["step"] == "level")["max_score"] == pytest.approx(101.5)


def test_coefficient_on_a_part_follows_the_attribution_rule():
    # geometric root, weights 0.75 / 0.25, scores 16 / 81: total 16^0.75 · 81^0.25 = 8 · 3 = 24;
    # the traction part's points are 24 × (0.25·81) / (0.75·16 + 0.25·81) = 24 × 20.25/32.25
    # = 15.0698; × (1.04 − 1) = 0.60279; total 24.60279.
    ds = make_dataset({"2024": {"A": {"dev": 16, "traction": 81, "tasks": 4}}},
                      units_in("town", "A", level="town"))
    ev = evaluate(one_level(TOWN_TREE, level="town", coefficient=TOWN_COEF,
                            aggregate="geometric"), ds, 2024)
    assert scores_of(ev)["A"] == pytest.approx(24 + 0.04 * 24 * 20.25 / 32.25)


def test_coefficient_node_must_exist():
    with pytest.raises(SchemeError, match="coefficient.node names unknown node 'tracton'"):
        one_level(TOWN_TREE, level="town", coefficient={**TOWN_COEF, "node": "tracton"})


def test_coefficient_on_a_part_in_the_monte_carlo():
    # every run of the uncertainty analysis (other weights) rebuilt as a scheme and evaluated
    # gives the same totals: the runner applies the coefficient to the same part
    units = units_in("town", [f"T{i}" for i in range(1, 7)], level="town")
    rng = np.random.default_rng(5)
    values = {"2024": {u["unit"]: {"dev": float(rng.integers(60, 100)),
                                   "traction": float(rng.integers(60, 100)),
                                   "tasks": float(t)} for u, t in zip(units, range(1, 7), strict=True)}}
    ds = make_dataset(values, units)
    scheme = {"name": "towns", "levels": {"town": {
        "tree": TOWN_TREE, "coefficient": TOWN_COEF,
        "consequences": {"pool": {"label": "两型干部库", "top": 1}}}}}
    res = uncertainty(scheme, ds, 2024, factors=[weights(0.3)], n=4, seed=2)
    for run in range(len(res.draws)):
        ev = evaluate(res.rebuild(run), ds, 2024)
        np.testing.assert_allclose(res.run(run)["score"], ev.scores["score"], rtol=0, atol=1e-9)


# ---------------------------------------------------------------------- shared indicators 80/20
def _shared(values_shift: float = 0.0, related=("D2",), split: str = "earned",
            county_scoring: dict | None = None, shared_scoring: dict | None = None):
    units = ([{"unit": c, "name": c, "level": "county"} for c in ("c1", "c2")]
             + [{"unit": d, "name": d, "level": "department"} for d in ("D1", "D2", "D3")])
    values = {"2024": {"c1": {"forest": 60 + values_shift}, "c2": {"forest": 80 + values_shift},
                       "D1": {"own": 90}, "D2": {"own": 50}, "D3": {"own": 40}}}
    shared = {"from": "county", "lead": ["D1"], "related": list(related), "split": split}
    if shared_scoring is not None:
        shared["scoring"] = shared_scoring
    scheme = load_scheme({"levels": {
        "county": {"tree": {"forest": {"weight": 1, "scoring": county_scoring or VALUE}},
                   "ranking": {"ties": {}}},
        "department": {"tree": {"own": {"weight": 0.8, "scoring": VALUE},
                                "forest": {"weight": 0.2, "shared": shared}}}}})
    return evaluate(scheme, make_dataset(values, units), 2024)


def test_shared_indicator_splits_its_points_80_20():
    # The counties' attainment on 'forest': (60 + 80) / 2 = 70 (scored as given).
    # The indicator is worth 0.2 × 100 = 20 points to a department. The lead D1 earns 80% of
    # them: 20 × 0.8 × 0.70 = 11.2; the related D2 20%: 20 × 0.2 × 0.70 = 2.8.
    # D1 = 0.8·90 + 11.2 = 83.2; D2 = 0.8·50 + 2.8 = 42.8; D3 (no part in it) = 40.
    ev = _shared()
    assert scores_of(ev, "department") == pytest.approx({"D1": 83.2, "D2": 42.8, "D3": 40.0})
    d1 = contribution(ev, "D1", "forest")
    assert d1["kind"] == "shared" and d1["raw_value"] == pytest.approx(70)
    assert d1["max_points"] == pytest.approx(20) and d1["points"] == pytest.approx(11.2)
    assert contribution(ev, "D3", "forest")["max_points"] == pytest.approx(0)


def test_shared_indicator_moves_with_the_counties_attainment():
    # every county 10 points better: attainment (70 + 90)/2 = 80. D1 = 72 + 20·0.8·0.8 = 84.8;
    # D2 = 40 + 20·0.2·0.8 = 43.2 — up by 1.6 and 0.4 (80% and 20% of 20 × 0.10).
    before, after = _shared(), _shared(values_shift=10)
    assert scores_of(after, "department") == pytest.approx({"D1": 84.8, "D2": 43.2, "D3": 40.0})
    gain = {u: scores_of(after, "department")[u] - scores_of(before, "department")[u]
            for u in ("D1", "D2")}
    assert gain == pytest.approx({"D1": 1.6, "D2": 0.4})


def test_shared_indicator_scored_on_attainment_of_a_target():
    # counties scored min–max (relative) for themselves; the departments' credit uses the
    # attainment of a target of 80: c1 60/80 = 75, c2 80/80 = 100 → 87.5; D1 = 72 + 20·0.8·0.875
    # = 86. +10 everywhere: 70/80 = 87.5, 90/80 capped 100 → 93.75: D1 = 72 + 15 = 87.
    kw = {"county_scoring": {"method": "minmax", "min_group": 2},
          "shared_scoring": {"method": "target", "target": 80}}
    assert scores_of(_shared(**kw), "department")["D1"] == pytest.approx(86)
    assert scores_of(_shared(values_shift=10, **kw), "department")["D1"] == pytest.approx(87)
    # without shared.scoring, a relative county score would average to the same value whatever
    # the counties achieve: refused when the scheme loads
    with pytest.raises(SchemeError, match="relative.*shared.scoring"):
        _shared(county_scoring={"method": "minmax", "min_group": 2})


def test_related_units_share_their_20_percent_and_the_lost_reading():
    # two related units share 20%: 10% each: D2 = 40 + 20·0.1·0.7 = 41.4.
    assert scores_of(_shared(related=("D2", "D3")), "department")["D2"] == pytest.approx(41.4)
    # split: lost — the 30 points the counties lost (100 − 70) are charged 80 / 20:
    # D1 node score 100 − 0.8·30 = 76 → 72 + 0.2·76 = 87.2; D2: 100 − 0.2·30 = 94 → 40 + 18.8.
    assert scores_of(_shared(split="lost"), "department") == pytest.approx(
        {"D1": 87.2, "D2": 58.8, "D3": 40.0})


@pytest.mark.parametrize("shared, message", [
    ({"lead_share": 0.7}, "must add up to 1"),
    ({"related": []}, "would go to no unit"),
    ({"related": ["D1"]}, "both as lead and as related"),
    ({"split": "points"}, "split must be one of"),
    ({"scoring": {"method": "percentile"}}, "absolute rule"),
])
def test_shared_indicator_checks(shared, message):
    spec = {"from": "county", "lead": ["D1"], "related": ["D2"], **shared}
    with pytest.raises(SchemeError, match=message):
        load_scheme({"levels": {
            "county": {"tree": {"forest": {"weight": 1, "scoring": VALUE}}},
            "department": {"tree": {"own": {"weight": 0.8, "scoring": VALUE},
                                    "forest": {"weight": 0.2, "shared": spec}}}}})


# ---------------------------------------------------------------------- negative list per incident
def _quarterly(accidents: dict, combine=None, counts: str = "year_to_date", cap=6):
    """Units A, B, C rated 80 every quarter of 2025; accidents as given per quarter."""
    values = {f"2025Q{q}": {u: {"q": 80, "accidents": accidents.get(u, [0] * 4)[q - 1]}
                           for u in "ABC"} for q in range(1, 5)}
    top = {"frequency": "quarterly", **({"combine": {"weights": combine}} if combine else {})}
    scheme = one_level({"q": {"weight": 1, "scoring": VALUE}}, top=top,
                       deductions={"accidents": {"points": 3, "cap": cap, "counts": counts}})
    return make_dataset(values, units_in("g", "ABC")), scheme


def test_an_incident_costs_the_same_in_any_quarter():
    # Year-to-date counts (reset each January): A has its accident in Q1 (1, 1, 1, 1), B in Q4
    # (0, 0, 0, 1). Each incident costs 3 points once: both end the year at 80 − 3 = 77.
    # (Counting year to date and averaging the quarters cost A 3 × 4 / 4 = 3 and B 3 / 4 = 0.75.)
    ds, scheme = _quarterly({"A": [1, 1, 1, 1], "B": [0, 0, 0, 1]})
    assert scores_of(evaluate(scheme, ds, 2025)) == pytest.approx({"A": 77, "B": 77, "C": 80})
    # the quarterly results deduct the incidents of their own quarter only
    assert scores_of(evaluate(scheme, ds, "2025Q1")) == pytest.approx({"A": 77, "B": 80, "C": 80})
    assert scores_of(evaluate(scheme, ds, "2025Q2")) == pytest.approx({"A": 80, "B": 80, "C": 80})
    assert scores_of(evaluate(scheme, ds, "2025Q4")) == pytest.approx({"A": 80, "B": 77, "C": 80})
    # whatever the quarters' weights: [1, 1, 1, 2] → the quarterly bases (all 80) average to 80
    ds, scheme = _quarterly({"A": [1, 1, 1, 1], "B": [0, 0, 0, 1]}, combine=[1, 1, 1, 2])
    assert scores_of(evaluate(scheme, ds, 2025)) == pytest.approx({"A": 77, "B": 77, "C": 80})


def test_incidents_counted_per_period_and_capped_over_the_year():
    # counts: period (each quarter's own count): the same as above.
    ds, scheme = _quarterly({"A": [1, 0, 0, 0], "B": [0, 0, 0, 1]}, counts="period")
    assert scores_of(evaluate(scheme, ds, 2025)) == pytest.approx({"A": 77, "B": 77, "C": 80})
    # three incidents in the year (one in Q1, two in Q3: year to date 1, 1, 3, 3): 9 points,
    # capped at 6 for the year → 74; the deduction row says so
    ds, scheme = _quarterly({"A": [1, 1, 3, 3]})
    ev = evaluate(scheme, ds, 2025)
    assert scores_of(ev)["A"] == pytest.approx(74)
    row = contribution(ev, "A", "deduction:accidents")
    assert row["raw_value"] == 3 and "capped at 6" in row["reason"]
    # the Monte Carlo runner counts them the same way (a run rebuilt gives the same totals)
    res = uncertainty(scheme.spec | {"levels": {"county": {
        **scheme.spec["levels"]["county"], "consequences": {"top": {"top": 1}}}}}, ds, 2025,
        factors=[weights(0.3)], n=2, seed=1)
    np.testing.assert_allclose(res.run(0)["score"], [74, 80, 80], atol=1e-9)


def test_a_year_to_date_count_that_falls_is_an_error():
    ds, scheme = _quarterly({"A": [2, 1, 1, 1]})
    with pytest.raises(DataError, match="cannot fall within a year"):
        evaluate(scheme, ds, 2025)
    with pytest.raises(SchemeError, match="per: increase cannot be combined"):
        one_level({"q": {"weight": 1, "scoring": VALUE}}, deductions={
            "accidents": {"points": 3, "per": "increase", "counts": "year_to_date"}})


# ---------------------------------------------------------------------- consequences by rank
TOWN_RULES = {
    "ranking": {"ties": {"decimals": 2}},
    "consequences": {"pool": {"label": "进入“两型”干部库", "top": 1},
                     "reminded": {"label": "提醒谈话", "bottom": 1}},
    "rules": [{"name": "talk_or_adjust", "label": "提醒谈话或组织调整", "when": {"bottom": 1},
               "consecutive": 2}]}


def test_town_consequences_by_rank_over_two_years():
    # 2024: T1 90 > T2 85 > T3 80 > T4 75 > T5 70 > T6 65 → T1 to the cadre pool, T6 reminded.
    # 2025: T2 95 > T1 88 > T3 81 > T5 72 > T4 70 > T6 62 → T2 pool, T6 reminded again: the
    # bottom two years in a row → talk or adjustment in 2025 (T6 only; T1 was top once).
    score = {"2024": [90, 85, 80, 75, 70, 65], "2025": [88, 95, 81, 70, 72, 62]}
    values = {y: {f"T{i + 1}": {"x": v} for i, v in enumerate(vs)} for y, vs in score.items()}
    ds = make_dataset(values, units_in("town", [f"T{i}" for i in range(1, 7)], level="town"))
    scheme = one_level({"x": {"weight": 1, "scoring": VALUE}}, level="town", **TOWN_RULES)
    pe = evaluate_periods(scheme, ds, [2024, 2025])
    got = {(r.period, r.unit): r.outcome for r in pe.scores.itertuples() if r.outcome}
    assert got == {("2024", "T1"): "pool", ("2024", "T6"): "reminded",
                   ("2025", "T2"): "pool", ("2025", "T6"): "reminded"}
    assert pe.flags[["unit", "period", "rule", "streak"]].values.tolist() == [
        ["T6", "2025", "talk_or_adjust", 2]]


def test_county_with_a_grade_and_a_rank_consequence():
    # Grades by score: 优秀 ≥ 90, 良好 ≥ 80, 一般 ≥ 70, 较差 below. Every county scores below 80
    # in 2025: the top county, A (79), is preferred by rank AND graded 一般 → a reminder talk
    # as well: both are recorded. F is last in 2024 and 2025: graded 较差 (reminded) and, the
    # bottom two years in a row, its principal and responsible persons are adjusted.
    score = {"2024": [85, 82, 78, 74, 71, 60], "2025": [79, 77, 75, 73, 71, 65]}
    values = {y: {u: {"x": v} for u, v in zip("ABCDEF", vs, strict=True)}
              for y, vs in score.items()}
    ds = make_dataset(values, units_in("county", "ABCDEF"))
    scheme = one_level(
        {"x": {"weight": 1, "scoring": VALUE}},
        grades={"by": "score", "bands": [[90, "优秀"], [80, "良好"], [70, "一般"], [0, "较差"]]},
        consequences={"preferred": {"label": "优先晋职晋级", "top": 1},
                      "reminded": {"label": "提醒谈话", "grades": ["一般", "较差"]}},
        rules=[{"name": "adjusted", "label": "调整主要负责人和相关责任人", "when": {"bottom": 1},
                "consecutive": 2}])
    pe = evaluate_periods(scheme, ds, [2024, 2025])
    ev = pe.evaluations["2025"]
    a = ev.scores.set_index("unit").loc["A"]
    assert (a["grade"], a["outcome"]) == ("一般", "preferred+reminded")
    assert ev.consequences.query("unit == 'A'")["kind"].tolist() == ["quota", "grade"]
    # 2024: A (85) preferred, graded 良好, no talk; reminded: C 78, D 74, E 71 (一般), F 60 (较差)
    s24 = pe.evaluations["2024"].scores.set_index("unit")
    assert s24["outcome"].to_dict() == {"A": "preferred", "B": "", "C": "reminded",
                                        "D": "reminded", "E": "reminded", "F": "reminded"}
    assert pe.flags[["unit", "period", "rule"]].values.tolist() == [["F", "2025", "adjusted"]]
    assert ev.scores.set_index("unit").loc["F", "grade"] == "较差"


# ---------------------------------------------------------------------- schedules of an annual scheme
def test_annual_scheme_checks_monthly_progress_and_flags_long_lags():
    # An annual scheme with a monthly schedule (monthly dispatch, half-year check): expected 10,
    # 20 … at the end of months 01, 02 …; yellow below 100 %, red below 80 %; flagged for
    # rectification after 3 checks in a row behind. X: 10, 18, 25, 32 (ratios 1, 0.9, 0.833,
    # 0.8): green, yellow, yellow, yellow → behind 0, 1, 2, 3 → flagged at month 04.
    # Y: 10, 20, 30, 40: green throughout.
    values = {"2024": {"X": {"x": 80}, "Y": {"x": 90}}}
    for m, (x, y) in enumerate([(10, 10), (18, 20), (25, 30), (32, 40)], start=1):
        values[f"2024-{m:02d}"] = {"X": {"progress": x}, "Y": {"progress": y}}
    ds = make_dataset(values, units_in("county", "XY"))
    scheme = one_level({"x": {"weight": 1, "scoring": VALUE}}, schedule={"progress": {
        "expected": {"01": 10, "02": 20, "03": 30, "04": 40}, "yellow_below": 1.0,
        "red_below": 0.8, "flag_after": 3, "label": "燃气供应"}})
    ev = evaluate(scheme, ds, 2024)
    x = ev.traffic_lights.query("unit == 'X'")
    assert x["period"].tolist() == ["2024-01", "2024-02", "2024-03", "2024-04"]
    assert x["light"].tolist() == ["green", "yellow", "yellow", "yellow"]
    assert x["behind"].tolist() == [0, 1, 2, 3] and x["flagged"].tolist() == [False] * 3 + [True]
    assert not ev.traffic_lights.query("unit == 'Y'")["flagged"].any()
    assert "燃气供应" in ev.summary() and "X (from 2024-04)" in ev.summary()


def test_subgroup_rank_is_shown_beside_the_group_rank():
    # plateau-like group split into two subgroups with their own quotas: s2's best unit (group
    # rank 3) is praised while s1's third (group rank 2... ) is not; the summary says why.
    units = units_in("P", ["a1", "a2", "a3"], subgroup="s1") + units_in("P", ["b1", "b2", "b3"],
                                                                       subgroup="s2")
    ds = make_dataset({"2024": {u: {"x": v} for u, v in zip(
        ["a1", "a2", "a3", "b1", "b2", "b3"], [90, 85, 80, 78, 70, 60], strict=True)}}, units)
    scheme = one_level({"x": {"weight": 1, "scoring": VALUE}},
                       ranking={"group_by": "group", "subgroup_by": "subgroup"},
                       consequences={"praised": {"label": "通报表扬",
                                                 "top": {"P": {"s1": 1, "s2": 1}}}})
    ev = evaluate(scheme, ds, 2024)
    # b1 (78) is 4th in the group and 1st in s2; a2 (85) is 2nd in the group, 2nd in s1
    assert "b1 (78.00; rank 4 in group, 1 in s2)" in ev.summary()
    s = ev.scores.set_index("unit")
    assert (s.loc["b1", "group_rank"], s.loc["b1", "subgroup_rank"]) == (4, 1)
    assert pd.isna(s.loc["a2", "outcome"]) or s.loc["a2", "outcome"] == ""


def test_other_groupings_pool_groups_too_small_to_compare():
    # Ranking Sichuan's counties within their prefectures (an uncertainty option) leaves 万源市
    # alone in 达州市: a run's scheme scores such units across all counties (small_group: pool,
    # written into the scheme, so a rebuilt run says so) instead of giving them full marks.
    from assesskit import datasets
    from assesskit.engine.design import Design, apply_design

    data = datasets.load("sichuan-39")
    scheme = load_scheme("sichuan-39")
    units = data.level_units("county")
    variant = apply_design(scheme, "county", units, Design(grouping="parent"))
    leaf = variant.spec["levels"]["county"]["tree"]["task"]["children"]["gdp_per_capita"]
    assert leaf["scoring"]["small_group"] == "pool"
    ev = evaluate(variant, data, 2025, levels=["county"])
    pooled = {n.where.split(",")[0].split()[-1] for n in ev.notices if n.kind == "small_group_pool"}
    assert "511781" in pooled  # 万源市
    wanyuan = ev.contributions.query("unit == '511781' and node == 'gdp_per_capita'").iloc[0]
    assert wanyuan["score"] < 100 and "small_group: pool" in wanyuan["reason"]
