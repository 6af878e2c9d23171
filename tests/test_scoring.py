"""Every scoring rule, through :func:`assesskit.evaluate`, with expected scores worked out by hand.

Each scheme has a single leaf carrying all 100 points, so a unit's total IS its leaf score and the
hand arithmetic is the rule's formula alone (see docs/scheme-format.md for the formulas).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from test_engine import contribution, make_dataset, one_level, scores_of, units_in

from assesskit import evaluate
from assesskit.engine import scoring as sc


def single(scoring: dict, direction: str | None = None, **body):
    node = {"weight": 1, "indicator": "x", "scoring": scoring}
    if direction:
        node["direction"] = direction
    return one_level({"x": node}, **body)


def x_values(by_unit: dict, period: str = "2024") -> dict:
    return {period: {u: {"x": v} for u, v in by_unit.items()}}


# ---------------------------------------------------------------------- min-max
GROUPED = units_in("g", "abc") + units_in("h", "de")
X5 = x_values({"a": 10, "b": 20, "c": 40, "d": 5, "e": 15})


def test_minmax_within_group_range_and_lower_is_better():
    # lower is better: oriented value −x. Group g: best a (10), worst c (40), span 30:
    # a 100, b 60 + 40*(40−20)/30 = 86.6667, c 60. Group h: d (5) 100, e (15) 60 (a group of
    # two, below the default smallest comparison group of 3: the rule says 2 are enough).
    ds = make_dataset(X5, GROUPED, directions={"x": "lower"})
    ev = evaluate(single({"method": "minmax", "within": "group", "range": [60, 100],
                          "min_group": 2}, ranking={"group_by": "group"}), ds, 2024)
    assert scores_of(ev) == pytest.approx({"a": 100, "b": 60 + 40 * 20 / 30, "c": 60, "d": 100, "e": 60})


def test_minmax_pool_and_direction_on_the_node():
    # The node says lower is better although the dataset says higher. Pool: best d (5), worst c
    # (40), span 35: a 60 + 40*30/35 = 94.2857, b 60 + 40*20/35 = 82.8571, c 60, d 100,
    # e 60 + 40*25/35 = 88.5714
    ds = make_dataset(X5, GROUPED)
    ev = evaluate(single({"method": "minmax", "within": "pool", "range": [60, 100]}, direction="lower",
                         ranking={"group_by": "group"}), ds, 2024)
    assert scores_of(ev) == pytest.approx(
        {"a": 60 + 40 * 30 / 35, "b": 60 + 40 * 20 / 35, "c": 60, "d": 100, "e": 60 + 40 * 25 / 35})


def test_minmax_subgroup_and_equal_values():
    # subgroup g/s1 = {a, b}: a 0, b 100 (default range [0, 100]); g/s2 = {c} alone: nobody is
    # behind → 100, because the scheme says so (small_group: score) — by default a group smaller
    # than min_group is an error; group h = {d, e} with equal values: 100 each.
    units = (units_in("g", "ab", subgroup="s1") + units_in("g", "c", subgroup="s2")
             + units_in("h", "de", subgroup="s3"))
    ds = make_dataset(x_values({"a": 1, "b": 3, "c": 7, "d": 4, "e": 4}), units)
    ev = evaluate(single({"method": "minmax", "within": "subgroup", "min_group": 2,
                          "small_group": "score"},
                         ranking={"group_by": "group", "subgroup_by": "subgroup"}), ds, 2024)
    assert scores_of(ev) == pytest.approx({"a": 0, "b": 100, "c": 100, "d": 100, "e": 100})
    # the decision is shown to the user: a notice naming c, and the reason of c's score
    small = [n for n in ev.notices if n.kind == "small_group_score"]
    assert len(small) == 1 and "unit c" in str(small[0])
    assert "fewer than 2" in contribution(ev, "c", "x")["reason"]


# ---------------------------------------------------------------------- z-score
def test_zscore_uses_the_sample_standard_deviation():
    # group g: 1, 2, 3 → mean 2, sample sd sqrt((1+0+1)/2) = 1 → z = −1, 0, 1 → 70 + 10 z
    # (the population sd, sqrt(2/3) = 0.8165, would give 57.75 and 82.25).
    # group h: 2, 4, 4, 6 → mean 4, sample sd sqrt(8/3) = 1.63299 → z(6) = 2/1.63299 = 1.224745
    units = units_in("g", "abc") + units_in("h", "defk")
    ds = make_dataset(x_values({"a": 1, "b": 2, "c": 3, "d": 2, "e": 4, "f": 4, "k": 6}), units)
    ev = evaluate(single({"method": "zscore", "offset": 70, "scale": 10}, ranking={"group_by": "group"}),
                  ds, 2024)
    s = scores_of(ev)
    assert [s["a"], s["b"], s["c"]] == pytest.approx([60, 70, 80])
    assert s["k"] == pytest.approx(70 + 10 * 2 / math.sqrt(8 / 3))
    assert s["e"] == pytest.approx(70)


# ---------------------------------------------------------------------- percentile
def test_percentile_rank_with_ties_and_missing():
    # group g: 10, 20, 20, 30, 40 and f not reported. Average ranks 1, 2.5, 2.5, 4, 5 among
    # k = 5 values → 100 (r − 1)/(k − 1): 0, 37.5, 37.5, 75, 100.
    # f has a second indicator so that it keeps a score (its x is left out, policy renormalise).
    # group h: one unit → 100 (the scheme says small_group: score; by default an error).
    units = units_in("g", "abcdef") + units_in("h", "k")
    values = {"2024": {"a": {"x": 10, "y": 50}, "b": {"x": 20, "y": 50}, "c": {"x": 20, "y": 50},
                       "d": {"x": 30, "y": 50}, "e": {"x": 40, "y": 50}, "f": {"y": 50},
                       "k": {"x": 3, "y": 50}}}
    tree = {"x": {"weight": 0.5, "scoring": {"method": "percentile", "small_group": "score"}},
            "y": {"weight": 0.5, "scoring": {"method": "value"}}}
    ev = evaluate(one_level(tree, ranking={"group_by": "group"}), make_dataset(values, units), 2024)
    x = ev.contributions[ev.contributions["node"] == "x"].set_index("unit")["score"]
    assert x[list("abcde")].tolist() == pytest.approx([0, 37.5, 37.5, 75, 100])
    assert np.isnan(x["f"])
    assert x["k"] == pytest.approx(100)
    # total of a = 0.5*0 + 0.5*50 = 25; f (x left out) = 50
    assert scores_of(ev)["a"] == pytest.approx(25) and scores_of(ev)["f"] == pytest.approx(50)


def test_percentile_lower_is_better():
    # lower is better: 10 is best. values 10, 20, 30 → percentiles 100, 50, 0
    ds = make_dataset(x_values({"a": 10, "b": 20, "c": 30}), units_in("g", "abc"), directions={"x": "lower"})
    assert scores_of(evaluate(single({"method": "percentile"}), ds, 2024)) == pytest.approx(
        {"a": 100, "b": 50, "c": 0})


# ---------------------------------------------------------------------- goalposts
def test_goalposts_undp_income_index_log():
    # UNDP HDI technical notes: income index = (ln GNIpc − ln 100) / (ln 75 000 − ln 100).
    # 7 500: ln 75 / ln 750 = 4.317488 / 6.620073 = 0.652182 → 65.2182
    # 750:   ln 7.5 / ln 750 = 2.014903 / 6.620073 = 0.304363 → 30.4363
    # 75 000 → 100; 100 → 0; 50 (below the lower goalpost) → clipped to 0; 90 000 → clipped to 100
    ds = make_dataset(x_values({"a": 7500, "b": 750, "c": 75000, "d": 100, "e": 50, "f": 90000}),
                      units_in("g", "abcdef"))
    ev = evaluate(single({"method": "goalposts", "min": 100, "max": 75000, "log": True}), ds, 2024)
    assert scores_of(ev) == pytest.approx(
        {"a": 100 * math.log(75) / math.log(750), "b": 100 * math.log(7.5) / math.log(750),
         "c": 100, "d": 0, "e": 0, "f": 100})
    assert 100 * math.log(75) / math.log(750) == pytest.approx(65.2182, abs=1e-4)


def test_goalposts_linear():
    # UNDP life-expectancy index, goalposts 20 and 85: 75 → 55/65 = 84.615; 20 → 0; 90 → 100
    ds = make_dataset(x_values({"a": 75, "b": 20, "c": 90}), units_in("g", "abc"))
    ev = evaluate(single({"method": "goalposts", "min": 20, "max": 85}), ds, 2024)
    assert scores_of(ev) == pytest.approx({"a": 100 * 55 / 65, "b": 0, "c": 100})


def test_goalposts_lower_is_better():
    # lower is better (e.g. infant deaths per 1000), goalposts 2 and 50: the low goalpost earns
    # full marks: 100 (50 − x)/(50 − 2): 2 → 100, 14 → 36/48 = 75, 50 → 0, 90 → 0 (clipped)
    ds = make_dataset(x_values({"a": 2, "b": 14, "c": 50, "d": 90}), units_in("g", "abcd"))
    ev = evaluate(single({"method": "goalposts", "min": 2, "max": 50}, direction="lower"), ds, 2024)
    assert scores_of(ev) == pytest.approx({"a": 100, "b": 75, "c": 0, "d": 0})
    # on a log scale, goalposts 1 and 100: 10 → (ln 100 − ln 10)/(ln 100 − ln 1) = 0.5 → 50
    ds = make_dataset(x_values({"a": 10, "b": 1, "c": 100}), units_in("g", "abc"))
    ev = evaluate(single({"method": "goalposts", "min": 1, "max": 100, "log": True}, direction="lower"),
                  ds, 2024)
    assert scores_of(ev) == pytest.approx({"a": 50, "b": 100, "c": 0})


# ---------------------------------------------------------------------- target attainment
def test_target_attainment_capped():
    # target 200: 150 → 75; 250 → 125% capped at 100% → 100; 0 → 0
    ds = make_dataset(x_values({"a": 150, "b": 250, "c": 0}), units_in("g", "abc"))
    assert scores_of(evaluate(single({"method": "target", "target": 200}), ds, 2024)) == pytest.approx(
        {"a": 75, "b": 100, "c": 0})
    # a cap of 120%: 250 → 120
    assert scores_of(evaluate(single({"method": "target", "target": 200, "cap": 1.2}), ds, 2024))["b"] \
        == pytest.approx(120)


def test_target_attainment_lower_is_better():
    # target 5 (e.g. energy per unit of GDP): ratio target/x: 10 → 50; 4 → capped 100; 0 → 100
    ds = make_dataset(x_values({"a": 10, "b": 4, "c": 0}), units_in("g", "abc"))
    ev = evaluate(single({"method": "target", "target": 5}, direction="lower"), ds, 2024)
    assert scores_of(ev) == pytest.approx({"a": 50, "b": 100, "c": 100})


def test_target_from_a_per_unit_indicator():
    # each unit has its own target (indicator x_target): a 80/100 → 80; b 90/60 → capped 100
    values = {"2024": {"a": {"x": 80, "x_target": 100}, "b": {"x": 90, "x_target": 60}}}
    ev = evaluate(single({"method": "target", "target_indicator": "x_target"}),
                  make_dataset(values, units_in("g", "ab")), 2024)
    assert scores_of(ev) == pytest.approx({"a": 80, "b": 100})


# ---------------------------------------------------------------------- change between periods
def test_growth_rate_scored_by_target():
    # growth 2023 → 2024: a 100 → 110 (10%), b 100 → 104 (4%), c 50 → 49 (−2%)
    # then target 8%: a 10/8 → capped 100, b 4/8 = 50, c −2/8 → −25
    values = {"2023": {"a": {"x": 100}, "b": {"x": 100}, "c": {"x": 50}},
              "2024": {"a": {"x": 110}, "b": {"x": 104}, "c": {"x": 49}}}
    ev = evaluate(single({"method": "growth", "change": "growth", "then": {"method": "target", "target": 8}}),
                  make_dataset(values, units_in("g", "abc")), 2024)
    assert scores_of(ev) == pytest.approx({"a": 100, "b": 50, "c": -25})
    raw = ev.contributions.set_index("unit")["raw_value"]
    assert raw.to_dict() == pytest.approx({"a": 10, "b": 4, "c": -2})  # the growth in %


def test_difference_between_periods():
    # difference in points: a 30 → 33 (+3), b 30 → 31.5 (+1.5), c 30 → 30 (0);
    # then min–max over the pool onto [0, 100]: 100, 50, 0
    values = {"2023": {u: {"x": 30} for u in "abc"},
              "2024": {"a": {"x": 33}, "b": {"x": 31.5}, "c": {"x": 30}}}
    ev = evaluate(single({"method": "growth", "change": "difference",
                          "then": {"method": "minmax", "within": "pool"}}),
                  make_dataset(values, units_in("g", "abc")), 2024)
    assert scores_of(ev) == pytest.approx({"a": 100, "b": 50, "c": 0})


def test_level_and_change():
    # a 100 → 120 (+20%), b 100 → 110 (+10%), c 150 → 150 (0%); level_share 0.6, both parts
    # min–max over the pool onto [0, 100]:
    #   level 120, 110, 150 → (x − 110)/40: a 25, b 0, c 100
    #   growth 20, 10, 0 → a 100, b 50, c 0
    #   score = 0.6 level + 0.4 change: a 15 + 40 = 55, b 0 + 20 = 20, c 60 + 0 = 60
    values = {"2023": {"a": {"x": 100}, "b": {"x": 100}, "c": {"x": 150}},
              "2024": {"a": {"x": 120}, "b": {"x": 110}, "c": {"x": 150}}}
    ev = evaluate(single({"method": "level_and_change", "level_share": 0.6,
                          "then": {"method": "minmax", "within": "pool"}}),
                  make_dataset(values, units_in("g", "abc")), 2024)
    assert scores_of(ev) == pytest.approx({"a": 55, "b": 20, "c": 60})


def test_change_without_previous_value_is_missing():
    # b has no 2023 value: its growth is missing, so (policy renormalise) its total comes from y
    values = {"2023": {"a": {"x": 100}}, "2024": {"a": {"x": 110, "y": 40}, "b": {"x": 90, "y": 70}}}
    tree = {"x": {"weight": 0.5, "scoring": {"method": "growth", "then": {"method": "target", "target": 10}}},
            "y": {"weight": 0.5, "scoring": {"method": "value"}}}
    ev = evaluate(one_level(tree), make_dataset(values, units_in("g", "ab")), 2024)
    # a = 0.5*100 + 0.5*40 = 70; b = 70 (y alone)
    assert scores_of(ev) == pytest.approx({"a": 70, "b": 70})
    assert [(e["unit"], e["node"]) for e in ev.log if e["step"] == "missing"] == [("b", "x")]


# ---------------------------------------------------------------------- threshold
def test_threshold_full_at_95_ten_points_per_point_short():
    # full at ≥ 95, 10 points off per point below, floor 40:
    # 97 → 100, 95 → 100, 92.5 → 100 − 25 = 75, 90 → 50, 80 → 100 − 150 → floor 40
    ds = make_dataset(x_values({"a": 97, "b": 95, "c": 92.5, "d": 90, "e": 80}), units_in("g", "abcde"))
    ev = evaluate(single({"method": "threshold", "full_at": 95, "per_unit": 10, "floor": 40}), ds, 2024)
    assert scores_of(ev) == pytest.approx({"a": 100, "b": 100, "c": 75, "d": 50, "e": 40})
    # without a floor: 80 → 0 (never negative)
    ev = evaluate(single({"method": "threshold", "full_at": 95, "per_unit": 10}), ds, 2024)
    assert scores_of(ev)["e"] == pytest.approx(0)


def test_threshold_lower_is_better():
    # full at ≤ 5, 4 points off per unit above: 3 → 100, 7 → 92
    ds = make_dataset(x_values({"a": 3, "b": 7}), units_in("g", "ab"), directions={"x": "lower"})
    ev = evaluate(single({"method": "threshold", "full_at": 5, "per_unit": 4}), ds, 2024)
    assert scores_of(ev) == pytest.approx({"a": 100, "b": 92})


# ---------------------------------------------------------------------- bands
def test_bands_higher_and_lower():
    # higher: ≥ 90 → 100, ≥ 75 → 80, ≥ 60 → 60, below → 0
    ds = make_dataset(x_values({"a": 95, "b": 90, "c": 89.9, "d": 60, "e": 59}), units_in("g", "abcde"))
    ev = evaluate(single({"method": "bands", "cuts": [90, 75, 60], "scores": [100, 80, 60, 0]}), ds, 2024)
    assert scores_of(ev) == pytest.approx({"a": 100, "b": 100, "c": 80, "d": 60, "e": 0})
    # lower: ≤ 1 → 100, ≤ 3 → 70, above → 20
    ds = make_dataset(x_values({"a": 1, "b": 2, "c": 3, "d": 3.5}), units_in("g", "abcd"))
    ev = evaluate(single({"method": "bands", "cuts": [1, 3], "scores": [100, 70, 20]}, direction="lower"),
                  ds, 2024)
    assert scores_of(ev) == pytest.approx({"a": 100, "b": 70, "c": 70, "d": 20})


# ---------------------------------------------------------------------- pass / fail
def test_passfail_zero():
    # quality 0.8 (value) + safety 0.2 pass if accidents ≤ 0: a passes 0.8*50 + 20 = 60;
    # b fails: 0.8*90 + 0 = 72 — failing costs the item's points only (no veto)
    values = {"2024": {"a": {"q": 50, "accidents": 0}, "b": {"q": 90, "accidents": 1}}}
    tree = {"q": {"weight": 0.8, "scoring": {"method": "value"}},
            "accidents": {"weight": 0.2, "direction": "lower",
                          "scoring": {"method": "passfail", "threshold": 0}}}
    ev = evaluate(one_level(tree), make_dataset(values, units_in("g", "ab")), 2024)
    assert scores_of(ev) == pytest.approx({"a": 60, "b": 72})
    assert not ev.scores["vetoed"].any()


def test_passfail_veto_flags_and_sets_the_score():
    # the same, on_fail veto and a veto score of 0: b is vetoed (一票否决) and scores 0
    values = {"2024": {"a": {"q": 50, "accidents": 0}, "b": {"q": 90, "accidents": 1}}}
    tree = {"q": {"weight": 0.8, "scoring": {"method": "value"}},
            "accidents": {"weight": 0.2, "direction": "lower", "label": "重大安全事故",
                          "scoring": {"method": "passfail", "threshold": 0, "on_fail": "veto"}}}
    ev = evaluate(one_level(tree, consequences={"veto": {"score": 0}}),
                  make_dataset(values, units_in("g", "ab")), 2024)
    s = ev.scores.set_index("unit")
    assert s["vetoed"].to_dict() == {"a": False, "b": True}
    assert s.loc["b", "score"] == 0 and s.loc["a", "score"] == pytest.approx(60)
    assert s.loc["b", "base_score"] == pytest.approx(72)
    assert "accidents (重大安全事故) failed" in s.loc["b", "veto_reason"]


# ---------------------------------------------------------------------- value (ratings)
def test_value_rating_scales():
    # a rating on 0–100 is the score; on a 0–5 scale 4 → 80; out of range is clipped
    ds = make_dataset(x_values({"a": 85, "b": 4, "c": 6}), units_in("g", "abc"))
    assert scores_of(evaluate(single({"method": "value"}), ds, 2024))["a"] == pytest.approx(85)
    ev = evaluate(single({"method": "value", "min": 0, "max": 5}), ds, 2024)
    assert scores_of(ev)["b"] == pytest.approx(80) and scores_of(ev)["c"] == pytest.approx(100)


# ---------------------------------------------------------------------- the vectorised functions
def test_scoring_functions_over_a_leading_axis_of_variants():
    # The same rule scores many design variants at once (last axis = units): two variants of
    # 3 units in one group; min–max of [1, 2, 3] → 0, 50, 100 and of [5, 5, 9] → 0, 0, 100.
    g = sc.GroupIndex(["g", "g", "g"])
    x = np.array([[1.0, 2.0, 3.0], [5.0, 5.0, 9.0]])
    assert np.allclose(sc.minmax(x, g), [[0, 50, 100], [0, 0, 100]])
    # weighted arithmetic aggregation skips a NaN child and re-normalises: (0.5*80)/0.5 = 80
    assert sc.aggregate(np.array([[80.0, np.nan]]), np.array([0.5, 0.5]), "arithmetic") == \
        pytest.approx([80.0])
