"""The scoring engine on tiny hand-made datasets: hierarchy, aggregation, missing values, roll-up,
shared indicators, per-unit overrides, unit-specific indicators, coefficients, deductions,
points attribution and determinism.

Every expected number is worked out by hand in the comment beside it (never copied from the
engine's output). Most leaves use ``scoring: {method: value}`` (a 0-100 rating taken as given) so
that the arithmetic of the hierarchy is visible; the scoring rules themselves are tested in
``test_scoring.py``, ranking and consequences in ``test_ranking.py``, scheme files in
``test_scheme.py``. The helpers :func:`make_dataset` and :func:`one_level` are shared with those
files.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from assesskit import DataError, Dataset, SchemeError, evaluate, load_scheme

VALUE = {"method": "value"}  # a rating 0-100 scored as given: score = value


# ---------------------------------------------------------------------- helpers (shared)
def make_dataset(values: dict, units: list[dict], directions: dict | None = None,
                 name: str = "hand-made") -> Dataset:
    """A Dataset from plain Python.

    ``values`` is ``{period: {unit: {indicator: value}}}`` (a value of ``None`` is left out: not
    reported); ``units`` a list of dicts with ``unit`` and optionally name, level (default county),
    parent, group, subgroup; ``directions`` ``{indicator: "lower"}`` for lower-is-better codes.
    """
    u = pd.DataFrame(units)
    if "level" not in u.columns:
        u["level"] = "county"
    if "name" not in u.columns:
        u["name"] = u["unit"]
    rows = [{"unit": unit, "period": period, "indicator": code, "value": v}
            for period, by_unit in values.items() for unit, by_code in by_unit.items()
            for code, v in by_code.items() if v is not None]
    directions = directions or {}
    codes = sorted({r["indicator"] for r in rows} | set(directions))
    indicators = pd.DataFrame({"indicator": codes,
                               "direction": [directions.get(c, "higher") for c in codes]})
    return Dataset.from_frames(u, indicators, pd.DataFrame(rows), name=name,
                               provenance="hand-made test data; not real")


def units_in(group: str, ids, **extra) -> list[dict]:
    """Unit rows of one comparison group (name = id)."""
    return [{"unit": u, "name": u, "group": group, **extra} for u in ids]


def one_level(tree: dict, level: str = "county", top: dict | None = None, **body):
    """A scheme (from a dict) with one assessed level."""
    return load_scheme({"name": "hand-made", **(top or {}), "levels": {level: {"tree": tree, **body}}})


def scores_of(ev, level: str | None = None) -> dict[str, float]:
    """``{unit: score}`` of an evaluation."""
    s = ev.scores if level is None else ev.scores[ev.scores["level"] == level]
    return dict(zip(s["unit"], s["score"], strict=True))


def contribution(ev, unit: str, node: str) -> pd.Series:
    c = ev.contributions
    hit = c[(c["unit"] == unit) & (c["node"] == node)]
    assert len(hit) == 1, f"no single contribution row for {unit}/{node}"
    return hit.iloc[0]


# ---------------------------------------------------------------------- hierarchy of depth 3
DEEP_TREE = {
    "econ": {"weight": 0.6, "children": {
        "growth": {"weight": 0.5, "children": {
            "g1": {"weight": 0.7, "scoring": VALUE},
            "g2": {"weight": 0.3, "scoring": VALUE}}},
        "inc": {"weight": 0.5, "scoring": VALUE}}},
    "env": {"weight": 0.4, "children": {
        "air": {"weight": 0.25, "scoring": VALUE},
        "water": {"weight": 0.75, "scoring": VALUE}}},
}
DEEP_VALUES = {"2024": {"a": {"g1": 80, "g2": 50, "inc": 70, "air": 40, "water": 100},
                        "b": {"g1": 60, "g2": 90, "inc": 40, "air": 80, "water": 20}}}


@pytest.fixture
def deep():
    ds = make_dataset(DEEP_VALUES, units_in("g", ["a", "b"]))
    return evaluate(one_level(DEEP_TREE), ds, 2024)


def test_depth_three_weighted_sum(deep):
    # a: growth = 0.7*80 + 0.3*50 = 56 + 15 = 71; econ = 0.5*71 + 0.5*70 = 70.5
    #    env = 0.25*40 + 0.75*100 = 10 + 75 = 85; total = 0.6*70.5 + 0.4*85 = 42.3 + 34 = 76.3
    # b: growth = 42 + 27 = 69; econ = 34.5 + 20 = 54.5; env = 20 + 15 = 35
    #    total = 0.6*54.5 + 0.4*35 = 32.7 + 14 = 46.7
    assert scores_of(deep) == pytest.approx({"a": 76.3, "b": 46.7})
    assert contribution(deep, "a", "growth")["score"] == pytest.approx(71)
    assert contribution(deep, "a", "econ")["score"] == pytest.approx(70.5)
    assert contribution(deep, "b", "env")["score"] == pytest.approx(35)


def test_depth_three_points_and_points_lost(deep):
    # Max points = 100 × product of weights on the path; points = max points × score / 100.
    # g1: 100*0.6*0.5*0.7 = 21 max, 21*0.80 = 16.8; g2: 9 max, 4.5; inc: 30 max, 21;
    # air: 100*0.4*0.25 = 10 max, 4; water: 30 max, 30. Sum 16.8+4.5+21+4+30 = 76.3.
    expected = {"g1": (16.8, 21), "g2": (4.5, 9), "inc": (21, 30), "air": (4, 10), "water": (30, 30)}
    for node, (pts, mx) in expected.items():
        row = contribution(deep, "a", node)
        assert row["points"] == pytest.approx(pts)
        assert row["max_points"] == pytest.approx(mx)
        assert row["points_lost"] == pytest.approx(mx - pts)
    # Subtotals: growth 16.8 + 4.5 = 21.3 of 30; econ 21.3 + 21 = 42.3 of 60.
    assert contribution(deep, "a", "growth")["points"] == pytest.approx(21.3)
    assert contribution(deep, "a", "econ")["max_points"] == pytest.approx(60)
    assert contribution(deep, "a", "econ")["kind"] == "group"


# ---------------------------------------------------------------------- aggregation methods
AGG_VALUES = {"2024": {"a": {"p": 16, "q": 81}, "b": {"p": 20, "q": 60}}}


@pytest.mark.parametrize(("method", "expected_a", "expected_b"), [
    # weights p 0.25, q 0.75
    ("arithmetic", 0.25 * 16 + 0.75 * 81, 0.25 * 20 + 0.75 * 60),  # 64.75 and 50
    # geometric: 16^0.25 · 81^0.75 = 2 · 27 = 54; b: 20^0.25 · 60^0.75 ≈ 45.59
    ("geometric", 54.0, 20 ** 0.25 * 60 ** 0.75),
    # harmonic: 1 / (0.25/16 + 0.75/81) = 1 / 0.0248843 ≈ 40.186; b: 1 / (0.0125 + 0.0125) = 40
    ("harmonic", 1 / (0.25 / 16 + 0.75 / 81), 40.0),
    # minimum: the weakest child
    ("minimum", 16.0, 20.0),
])
def test_aggregation_methods(method, expected_a, expected_b):
    tree = {"p": {"weight": 0.25, "scoring": VALUE}, "q": {"weight": 0.75, "scoring": VALUE}}
    ev = evaluate(one_level(tree, aggregate=method), make_dataset(AGG_VALUES, units_in("g", "ab")), 2024)
    assert scores_of(ev) == pytest.approx({"a": expected_a, "b": expected_b})


def test_geometric_points_split_in_proportion_to_weight_times_score():
    # Attribution rule for non-arithmetic aggregation: a's total 54 is split ∝ w·s:
    # p: 0.25*16 = 4, q: 0.75*81 = 60.75, sum 64.75 → p 54*4/64.75 = 3.3359, q 54*60.75/64.75 = 50.664
    tree = {"p": {"weight": 0.25, "scoring": VALUE}, "q": {"weight": 0.75, "scoring": VALUE}}
    ev = evaluate(one_level(tree, aggregate="geometric"), make_dataset(AGG_VALUES, units_in("g", "ab")), 2024)
    assert contribution(ev, "a", "p")["points"] == pytest.approx(54 * 4 / 64.75)
    assert contribution(ev, "a", "q")["points"] == pytest.approx(54 * 60.75 / 64.75)
    # max points stay 25 and 75; points lost = max - points
    assert contribution(ev, "a", "p")["points_lost"] == pytest.approx(25 - 54 * 4 / 64.75)


def test_inner_node_aggregation_differs_from_root():
    # env aggregated by minimum, the rest arithmetic: a: env = min(40, 100) = 40,
    # total = 0.6*70.5 + 0.4*40 = 42.3 + 16 = 58.3
    tree = {**DEEP_TREE, "env": {**DEEP_TREE["env"], "aggregate": "minimum"}}
    ev = evaluate(one_level(tree), make_dataset(DEEP_VALUES, units_in("g", "ab")), 2024)
    assert scores_of(ev)["a"] == pytest.approx(58.3)


def test_geometric_mean_over_a_zero_score_is_an_error():
    # min-max onto [0, 100] gives the worst unit 0; a geometric mean of 0 would hide everything
    # else, so the engine refuses and says how to fix it.
    tree = {"p": {"weight": 0.5, "scoring": {"method": "minmax", "within": "pool", "min_group": 2}},
            "q": {"weight": 0.5, "scoring": VALUE}}
    ds = make_dataset({"2024": {"a": {"p": 1, "q": 50}, "b": {"p": 2, "q": 60}}}, units_in("g", "ab"))
    with pytest.raises(SchemeError, match=r"geometric mean.*unit a.*'p'.*\[60, 100\]") as err:
        evaluate(one_level(tree, aggregate="geometric"), ds, 2024)
    assert err.value.key == "levels.county.tree.aggregate"


# ---------------------------------------------------------------------- missing values
MISSING_TREE = {"a1": {"weight": 0.5, "scoring": VALUE}, "a2": {"weight": 0.3, "scoring": VALUE},
                "a3": {"weight": 0.2, "scoring": VALUE}}
MISSING_VALUES = {"2024": {"u1": {"a1": 80, "a2": 60, "a3": 40},
                           "u2": {"a1": 60, "a2": 80, "a3": 100},
                           "u3": {"a1": 70, "a2": None, "a3": 50}}}  # u3 did not report a2


def _missing_eval(policy: str):
    ds = make_dataset(MISSING_VALUES, units_in("g", ["u1", "u2", "u3"]))
    return evaluate(one_level(MISSING_TREE, missing=policy), ds, 2024)


def test_missing_error_names_unit_and_node():
    with pytest.raises(DataError, match=r"unit u3 \(u3\) has no value for 'a2'.*policy 'error'"):
        _missing_eval("error")


@pytest.mark.parametrize(("policy", "expected_u3", "a2_score", "note"), [
    # a2 left out: (0.5*70 + 0.2*50) / 0.7 = 45 / 0.7 = 64.2857
    ("renormalise", 45 / 0.7, np.nan, "other weights re-normalised"),
    # a2 := mean of u1, u2 = (60 + 80)/2 = 70: 0.5*70 + 0.3*70 + 0.2*50 = 35 + 21 + 10 = 66
    ("impute_group_mean", 66.0, 70.0, "imputed with the group mean"),
    # a2 := 0: 35 + 0 + 10 = 45
    ("zero", 45.0, 0.0, "scored 0"),
])
def test_missing_policies(policy, expected_u3, a2_score, note):
    ev = _missing_eval(policy)
    s = scores_of(ev)
    assert s["u3"] == pytest.approx(expected_u3)
    # the units that reported everything are untouched: u1 = 40 + 18 + 8 = 66, u2 = 30 + 24 + 20 = 74
    assert s["u1"] == pytest.approx(66) and s["u2"] == pytest.approx(74)
    row = contribution(ev, "u3", "a2")
    assert row["score"] == pytest.approx(a2_score, nan_ok=True)
    assert note in row["reason"]
    logged = [e for e in ev.log if e["step"] == "missing"]
    assert [(e["unit"], e["node"], e["policy"]) for e in logged] == [("u3", "a2", policy)]
    assert note in ev.explain("u3").text
    assert "missing value" not in ev.explain("u1").text
    # contributions still add up to the score
    c = ev.contributions
    assert c[(c["unit"] == "u3") & (c["kind"] != "group")]["points"].sum() == pytest.approx(expected_u3)


def test_missing_policy_is_per_node():
    # Default policy 'error', but the 'core' node takes 'zero': u3's missing a2 scores 0 there.
    # core (0.6) = 0.5/0.8*a1 + 0.3/0.8*a2 → u3: 0.625*70 + 0 = 43.75; a3 (0.4) = 50
    # total = 0.6*43.75 + 0.4*50 = 26.25 + 20 = 46.25
    tree = {"core": {"weight": 0.6, "missing": "zero", "children": {
        "a1": {"weight": 0.625, "scoring": VALUE}, "a2": {"weight": 0.375, "scoring": VALUE}}},
        "a3": {"weight": 0.4, "scoring": VALUE}}
    ds = make_dataset(MISSING_VALUES, units_in("g", ["u1", "u2", "u3"]))
    ev = evaluate(one_level(tree, top={"defaults": {"missing": "error"}}), ds, 2024)
    assert scores_of(ev)["u3"] == pytest.approx(46.25)
    # and the same data under the default policy only fails
    tree["core"].pop("missing")
    with pytest.raises(DataError, match="u3"):
        evaluate(one_level(tree, top={"defaults": {"missing": "error"}}), ds, 2024)


def test_impute_group_mean_uses_the_units_own_group():
    # u3 (group h) lacks a2; h's other member u4 scored 20 on a2, group g's members 60 and 80:
    # a2 := 20, u3 = 0.5*70 + 0.3*20 + 0.2*50 = 35 + 6 + 10 = 51
    values = {"2024": {**MISSING_VALUES["2024"], "u4": {"a1": 10, "a2": 20, "a3": 30}}}
    units = units_in("g", ["u1", "u2"]) + units_in("h", ["u3", "u4"])
    ev = evaluate(one_level(MISSING_TREE, missing="impute_group_mean", ranking={"group_by": "group"}),
                  make_dataset(values, units), 2024)
    assert scores_of(ev)["u3"] == pytest.approx(51)


# ---------------------------------------------------------------------- roll-up
def _rollup_dataset():
    units = [{"unit": "P1", "name": "甲市", "level": "prefecture"},
             {"unit": "P2", "name": "乙市", "level": "prefecture"},
             {"unit": "c1", "name": "c1", "level": "county", "parent": "P1"},
             {"unit": "c2", "name": "c2", "level": "county", "parent": "P1"},
             {"unit": "c3", "name": "c3", "level": "county", "parent": "P2"}]
    values = {"2024": {"c1": {"x": 80}, "c2": {"x": 60}, "c3": {"x": 90},
                       "P1": {"y": 50}, "P2": {"y": 100}}}
    return make_dataset(values, units)


@pytest.mark.parametrize(("stat", "p1", "p2"), [
    # Sichuan: prefecture = 70% mean score of its counties + 30% own items.
    # P1: counties 80, 60 → mean 70 → 0.7*70 + 0.3*50 = 49 + 15 = 64; P2: 0.7*90 + 0.3*100 = 93
    ("mean", 64.0, 93.0),
    # min: P1 0.7*60 + 15 = 57
    ("min", 57.0, 93.0),
])
def test_rollup_mean_of_contained_units(stat, p1, p2):
    scheme = load_scheme({"levels": {
        "county": {"tree": {"x": {"weight": 1, "scoring": VALUE}}},
        "prefecture": {"tree": {
            "task": {"weight": 0.7, "rollup": {"from": "county", "stat": stat}},
            "own": {"weight": 0.3, "indicator": "y", "scoring": VALUE}}}}})
    ev = evaluate(scheme, _rollup_dataset(), 2024)
    assert scores_of(ev, "prefecture") == pytest.approx({"P1": p1, "P2": p2})
    assert scores_of(ev, "county") == pytest.approx({"c1": 80, "c2": 60, "c3": 90})
    row = contribution(ev, "P1", "task")
    assert row["kind"] == "rollup" and row["max_points"] == pytest.approx(70)


def test_rollup_uses_the_county_final_score_after_deductions():
    # c2 loses 10 points on a negative list (1 case × 10): c2 = 50; P1 mean (80+50)/2 = 65
    # P1 = 0.7*65 + 0.3*50 = 45.5 + 15 = 60.5
    ds = _rollup_dataset()
    extra = pd.concat([ds.values, pd.DataFrame([{"unit": "c2", "period": "2024",
                                                 "indicator": "cases", "value": 1.0}])])
    ds = Dataset.from_frames(ds.units, pd.concat([ds.indicators, pd.DataFrame({"indicator": ["cases"]})]),
                             extra, name="with-cases")
    scheme = load_scheme({"levels": {
        "county": {"tree": {"x": {"weight": 1, "scoring": VALUE}},
                   "deductions": {"cases": {"points": 10}}},
        "prefecture": {"tree": {
            "task": {"weight": 0.7, "rollup": {"from": "county"}},
            "own": {"weight": 0.3, "indicator": "y", "scoring": VALUE}}}}})
    ev = evaluate(scheme, ds, 2024)
    assert scores_of(ev, "county")["c2"] == pytest.approx(50)
    assert scores_of(ev, "prefecture")["P1"] == pytest.approx(60.5)


# ---------------------------------------------------------------------- shared indicators
# The 80/20 split of a shared indicator's points (Dingxi 指标共担) is tested by hand in
# test_scheme_rules.py.


# ---------------------------------------------------------------------- per-unit weights
JC_TREE = {"industry": {"weight": 0.5, "scoring": VALUE}, "urban": {"weight": 0.5, "scoring": VALUE}}
JC_VALUES = {"2024": {"X": {"industry": 50, "urban": 100, "gas": 70},
                      "Y": {"industry": 60, "urban": 80}}}


def test_per_unit_weight_override():
    # Jincheng: the urban district X weights urban construction 0.8, industry 0.2:
    # X = 0.2*50 + 0.8*100 = 90 (published weights would give 75); Y = 0.5*60 + 0.5*80 = 70
    ds = make_dataset(JC_VALUES, units_in("g", "XY"))
    ev = evaluate(one_level(JC_TREE, overrides={"X": {"weights": {"industry": 0.2, "urban": 0.8}}}), ds, 2024)
    assert scores_of(ev) == pytest.approx({"X": 90, "Y": 70})
    assert contribution(ev, "X", "urban")["max_points"] == pytest.approx(80)
    assert any(e["step"] == "overrides" for e in ev.log)


def test_override_weights_must_still_sum_to_one():
    # refused when the scheme loads, naming the parent node, the unit and its sum
    with pytest.raises(SchemeError, match=r"weights under 'total' do not sum to 1 for 1 unit\(s\): "
                                          r"X \(0\.8\)") as err:
        one_level(JC_TREE, overrides={"X": {"weights": {"industry": 0.3}}})  # 0.3 + 0.5
    assert err.value.key == "levels.county.overrides.X.weights"


def test_override_of_unknown_node_or_unit():
    with pytest.raises(SchemeError, match="override names unknown node 'roads'"):
        one_level(JC_TREE, overrides={"X": {"weights": {"roads": 0.5}}})
    ds = make_dataset(JC_VALUES, units_in("g", "XY"))
    with pytest.raises(SchemeError, match="override for unit 'Z'"):
        evaluate(one_level(JC_TREE, overrides={"Z": {"coefficient": 1.1}}), ds, 2024)


def test_unit_specific_indicator_via_applies_to():
    # Declared weights sum to 1 over every child, the unit-specific one included:
    # industry 0.4, urban 0.4, gas 0.2 (X only). X = 0.4*50 + 0.4*100 + 0.2*70 = 20 + 40 + 14 = 74.
    # Gas does not apply to Y: its 0.2 is spread over industry and urban in proportion (0.4:0.4),
    # so Y = 0.5*60 + 0.5*80 = 70, and nothing is logged as missing for Y.
    tree = {"industry": {"weight": 0.4, "scoring": VALUE}, "urban": {"weight": 0.4, "scoring": VALUE},
            "gas": {"weight": 0.2, "applies_to": ["X"], "scoring": VALUE}}
    ds = make_dataset(JC_VALUES, units_in("g", "XY"))
    ev = evaluate(one_level(tree), ds, 2024)
    assert scores_of(ev) == pytest.approx({"X": 74, "Y": 70})
    assert contribution(ev, "Y", "gas")["max_points"] == pytest.approx(0)
    assert contribution(ev, "Y", "gas")["reason"] == "does not apply to this unit"
    assert contribution(ev, "Y", "industry")["max_points"] == pytest.approx(50)
    assert not [e for e in ev.log if e["step"] == "missing"]
    assert "gas" not in str(ev.explain("Y"))
    # a weight check that applicability cannot switch off: 0.5 + 0.5 + 0.2 = 1.2 at load
    wrong = {**JC_TREE, "gas": {"weight": 0.2, "applies_to": ["X"], "scoring": VALUE}}
    with pytest.raises(SchemeError, match=r"children of 'total' sum to 1\.2, not 1") as err:
        one_level(wrong)
    assert err.value.key == "levels.county.tree"
    # as relative weights: X = (0.5*50 + 0.5*100 + 0.2*70)/1.2 = (25 + 50 + 14)/1.2 = 74.1667
    ev = evaluate(one_level(wrong, normalise_weights=True), ds, 2024)
    assert scores_of(ev)["X"] == pytest.approx(89 / 1.2)


def test_applies_if_selects_units_by_attribute():
    # a marine indicator only where coastal is true ("True" or "是" in the table; "no" is false):
    # X = 0.5*50 + 0.5*70 = 60; Y = industry alone (marine's weight spread to it) = 60;
    # Z = 0.5*20 + 0.5*40 = 30
    values = {"2024": {"X": {"industry": 50, "marine": 70}, "Y": {"industry": 60},
                       "Z": {"industry": 20, "marine": 40}}}
    units = units_in("g", "XYZ")
    for u, flag in zip(units, ["True", "no", "是"], strict=True):
        u["coastal"] = flag
    tree = {"industry": {"weight": 0.5, "scoring": VALUE},
            "marine": {"weight": 0.5, "applies_if": {"coastal": True}, "scoring": VALUE}}
    ev = evaluate(one_level(tree), make_dataset(values, units), 2024)
    assert scores_of(ev) == pytest.approx({"X": 60, "Y": 60, "Z": 30})
    assert contribution(ev, "Y", "marine")["reason"] == "does not apply to this unit"
    assert not [e for e in ev.log if e["step"] == "missing"]
    with pytest.raises(SchemeError, match="applies_if names column 'seaside'"):
        evaluate(one_level({**tree, "marine": {**tree["marine"], "applies_if": {"seaside": 1}}}),
                 make_dataset(values, units), 2024)


def test_applies_to_unknown_unit():
    tree = {**JC_TREE, "gas": {"weight": 0.2, "applies_to": ["Q"], "scoring": VALUE}}
    with pytest.raises(SchemeError, match=r"applies_to names unit\(s\) \['Q'\]"):
        evaluate(one_level(tree, normalise_weights=True), make_dataset(JC_VALUES, units_in("g", "XY")), 2024)


# ---------------------------------------------------------------------- coefficients
def test_coefficient_bands_and_override():
    # coefficient by difficulty: ≥0 → 1.0, ≥50 → 1.05, ≥80 → 1.1; unit C overridden to 0.95.
    # A: base 80, difficulty 85 → 80*1.1 = 88; B: base 60, difficulty 50 → 63; C: 70*0.95 = 66.5
    # D: base 40, difficulty 20 → 40
    values = {"2024": {"A": {"q": 80, "difficulty": 85}, "B": {"q": 60, "difficulty": 50},
                       "C": {"q": 70, "difficulty": 90}, "D": {"q": 40, "difficulty": 20}}}
    scheme = one_level({"q": {"weight": 1, "scoring": VALUE}},
                       coefficient={"indicator": "difficulty", "bands": [[0, 1.0], [50, 1.05], [80, 1.1]]},
                       overrides={"C": {"coefficient": 0.95}})
    ev = evaluate(scheme, make_dataset(values, units_in("g", "ABCD")), 2024)
    assert scores_of(ev) == pytest.approx({"A": 88, "B": 63, "C": 66.5, "D": 40})
    s = ev.scores.set_index("unit")
    assert s.loc["A", "base_score"] == pytest.approx(80)
    assert s.loc["A", "coefficient"] == pytest.approx(1.1)
    row = contribution(ev, "A", "coefficient")
    assert row["points"] == pytest.approx(8)  # 80 × (1.1 − 1)
    assert "coefficient" not in set(ev.contributions[ev.contributions["unit"] == "D"]["node"])


def test_coefficient_without_a_value_is_logged():
    # E has no difficulty value: coefficient 1 (80 stays 80), and the log says so
    values = {"2024": {"A": {"q": 80, "difficulty": 85}, "E": {"q": 80}}}
    scheme = one_level({"q": {"weight": 1, "scoring": VALUE}},
                       coefficient={"indicator": "difficulty", "bands": [[0, 1.0], [80, 1.1]]})
    ev = evaluate(scheme, make_dataset(values, units_in("g", "AE")), 2024)
    assert scores_of(ev) == pytest.approx({"A": 88, "E": 80})
    notes = [e for e in ev.log if e["step"] == "missing"]
    assert [(e["unit"], e["node"]) for e in notes] == [("E", "coefficient")]


# ---------------------------------------------------------------------- deductions
def _deduction_eval(total_cap=6):
    # pollution: 2 points per case, at most 5; accidents: 3 points per accident MORE than last year.
    values = {
        "2023": {"u1": {"q": 90, "accidents": 1}, "u2": {"q": 80, "accidents": 1},
                 "u3": {"q": 70, "accidents": 3}},
        "2024": {"u1": {"q": 90, "pollution": 1, "accidents": 2},
                 "u2": {"q": 80, "pollution": 4, "accidents": 3},
                 "u3": {"q": 70, "pollution": 0, "accidents": 1}},
    }
    deductions = {"pollution": {"points": 2, "cap": 5}, "accidents": {"points": 3, "per": "increase"}}
    if total_cap is not None:
        deductions["total_cap"] = total_cap
    scheme = one_level({"q": {"weight": 1, "scoring": VALUE}}, deductions=deductions)
    return evaluate(scheme, make_dataset(values, units_in("g", ["u1", "u2", "u3"])), 2024)


def test_deductions_per_item_cap_total_cap_and_increase():
    ev = _deduction_eval()
    # u1: pollution 1×2 = 2; accidents +1 on 2023 → 3; total 5 ≤ 6 → 90 − 5 = 85
    # u2: pollution 4×2 = 8 → capped 5; accidents +2 → 6; 11 > 6 → scaled by 6/11:
    #     pollution −30/11 = −2.7273, accidents −36/11 = −3.2727; 80 − 6 = 74
    # u3: nothing polluted; accidents fell (1 < 3) → no increase, nothing deducted: 70
    assert scores_of(ev) == pytest.approx({"u1": 85, "u2": 74, "u3": 70})
    d = ev.level_results["county"].deductions.set_index(["unit", "item"])["points"]
    assert d[("u2", "pollution")] == pytest.approx(-30 / 11)
    assert d[("u2", "accidents")] == pytest.approx(-36 / 11)
    assert ("u3", "accidents") not in d.index
    assert ev.scores.set_index("unit").loc["u2", "deductions"] == pytest.approx(-6)
    text = ev.explain("u2").text
    assert "capped at 5" in text and "capped at 6 points in total" in text


def test_deductions_without_total_cap():
    # u2: −5 − 6 = −11 → 69
    assert scores_of(_deduction_eval(total_cap=None))["u2"] == pytest.approx(69)


# ---------------------------------------------------------------------- contributions add up
@pytest.mark.parametrize("method", ["arithmetic", "geometric", "harmonic", "minimum"])
def test_contributions_add_up_to_score(method):
    tree = {"econ": {**DEEP_TREE["econ"], "aggregate": method}, "env": DEEP_TREE["env"]}
    values = {"2023": {u: {"accidents": 0} for u in "ab"},
              "2024": {"a": {**DEEP_VALUES["2024"]["a"], "pollution": 2, "difficulty": 90},
                       "b": {**DEEP_VALUES["2024"]["b"], "pollution": 0, "difficulty": 10}}}
    scheme = one_level(tree, aggregate=method, deductions={"pollution": {"points": 1.5}},
                       coefficient={"indicator": "difficulty", "bands": [[0, 1.0], [80, 1.2]]})
    ev = evaluate(scheme, make_dataset(values, units_in("g", "ab")), 2024)
    c = ev.contributions
    for unit, score in scores_of(ev).items():
        rows = c[(c["unit"] == unit) & (c["kind"] != "group")]
        assert rows["points"].sum() == pytest.approx(score)
        tree_rows = c[(c["unit"] == unit) & c["kind"].isin(["leaf", "group"])]
        assert (tree_rows["points"] <= tree_rows["max_points"] + 1e-9).all()
        assert np.allclose(tree_rows["points_lost"], tree_rows["max_points"] - tree_rows["points"])
    # a's deduction is 2 × 1.5 = 3 points and its coefficient 1.2 multiplies (base − 3)
    s = ev.scores.set_index("unit")
    assert s.loc["a", "score"] == pytest.approx((s.loc["a", "base_score"] - 3) * 1.2)
    if method == "arithmetic":
        # base = 76.3 (hand-computed above): (76.3 − 3) × 1.2 = 87.96
        assert s.loc["a", "score"] == pytest.approx(87.96)


# ---------------------------------------------------------------------- determinism
def test_same_inputs_same_outputs():
    ds = make_dataset(MISSING_VALUES, units_in("g", ["u1", "u2", "u3"]))
    scheme = one_level(MISSING_TREE, missing="impute_group_mean")
    first, second = evaluate(scheme, ds, 2024), evaluate(scheme, ds, 2024)
    assert first.scores.equals(second.scores)
    assert first.contributions.equals(second.contributions)
    assert first.explain("u3").text == second.explain("u3").text


def test_unknown_indicator_code():
    ds = make_dataset(JC_VALUES, units_in("g", "XY"))
    tree = {"industry": {"weight": 0.5, "scoring": VALUE},
            "roads": {"weight": 0.5, "indicator": "road_km", "scoring": VALUE}}
    with pytest.raises(SchemeError, match="unknown indicator code 'road_km'") as err:
        evaluate(one_level(tree), ds, 2024)
    assert err.value.key == "levels.county.tree.roads.indicator"


def test_contributions_add_up_for_a_vetoed_unit():
    # b fails a veto item: its score is set to the veto score 0 although its items earned
    # 0.8*90 = 72 points; a 'veto' row of −72 makes the contributions add up to the score.
    values = {"2024": {"a": {"q": 50, "safety": 0}, "b": {"q": 90, "safety": 1}}}
    tree = {"q": {"weight": 0.8, "scoring": VALUE},
            "safety": {"weight": 0.2, "direction": "lower",
                       "scoring": {"method": "passfail", "threshold": 0, "on_fail": "veto"}}}
    ev = evaluate(one_level(tree, consequences={"veto": {"score": 0}}),
                  make_dataset(values, units_in("g", "ab")), 2024)
    c = ev.contributions
    for unit, score in scores_of(ev).items():
        assert c[(c["unit"] == unit) & (c["kind"] != "group")]["points"].sum() == pytest.approx(score)
    veto = c[c["kind"] == "veto"]
    assert veto["unit"].tolist() == ["b"] and veto["points"].tolist() == pytest.approx([-72])
    assert "veto" in ev.explain("b").text.lower()


def test_rollup_from_a_level_out_of_other_than_100_points():
    # counties are scored out of 50: c1 80% → 40, c2 60% → 30 points; their mean 35 of 50 is a
    # 70% score, so P1 = 0.7*70 + 0.3*50 = 49 + 15 = 64 (not 0.7*35 + 15 = 39.5)
    units = [{"unit": "P1", "level": "prefecture"},
             {"unit": "c1", "level": "county", "parent": "P1"},
             {"unit": "c2", "level": "county", "parent": "P1"}]
    ds = make_dataset({"2024": {"c1": {"x": 80}, "c2": {"x": 60}, "P1": {"y": 50}}}, units)
    scheme = load_scheme({"levels": {
        "county": {"max_points": 50, "tree": {"x": {"weight": 1, "scoring": VALUE}}},
        "prefecture": {"tree": {"task": {"weight": 0.7, "rollup": {"from": "county"}},
                                "own": {"weight": 0.3, "indicator": "y", "scoring": VALUE}}}}})
    ev = evaluate(scheme, ds, 2024)
    assert scores_of(ev) == pytest.approx({"c1": 40, "c2": 30, "P1": 64})
