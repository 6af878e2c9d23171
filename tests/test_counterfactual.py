"""What it would take (assesskit.analysis.counterfactual) and its engine entry point
(assesskit.engine.batch.ValueBatch).

The hand-worked example: five counties, one pool, two higher-is-better indicators scored min–max
onto [0, 100] across the pool, weights 1/2 and 1/2, totals compared at 2 decimals, the top 2
praised (通报表扬) and the bottom 1 summoned (约谈)::

    unit  x   y    s_x = 100 (x − 10) / 50   s_y = 100 (y − 22) / 58   total
    A     10  70    0                       82.7586                   41.3793
    B     20  60   20                       65.5172                   42.7586
    C     35  22   50                        0                        25
    D     50  80   80                      100                        90
    E     60  26  100                        6.8966                   53.4483

D and E are praised, C is summoned. Every threshold below is derived by hand in its test.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from test_engine import make_dataset, one_level

import assesskit as ak
from assesskit import DataError, SchemeError, evaluate
from assesskit.analysis.counterfactual import (
    apply_change,
    counterfactuals,
    first_flip,
    format_change,
    round_away,
    unit_what_it_takes,
)
from assesskit.engine.batch import ValueBatch

MINMAX = {"method": "minmax", "within": "pool", "range": [0, 100]}
NAMES = {"A": "甲县", "B": "乙县", "C": "丙县", "D": "丁县", "E": "戊县"}
X = {"A": 10, "B": 20, "C": 35, "D": 50, "E": 60}
Y = {"A": 70, "B": 60, "C": 22, "D": 80, "E": 26}


def five(ties=None, top=2, bottom=1):
    """The hand-worked example (see the module notes)."""
    units = [{"unit": u, "name": NAMES[u], "group": "g"} for u in "ABCDE"]
    data = make_dataset({"2025": {u: {"x": X[u], "y": Y[u]} for u in "ABCDE"}}, units)
    scheme = one_level({"x": {"weight": 0.5, "scoring": MINMAX},
                        "y": {"weight": 0.5, "scoring": MINMAX}},
                       ranking={"ties": ties or {"method": "min", "decimals": 2}},
                       consequences={"praised": {"label": "通报表扬", "top": top},
                                     "summoned": {"label": "约谈", "bottom": bottom}})
    return scheme, data


def row(frame, unit, target, node=None):
    hit = frame[(frame["unit"] == unit) & (frame["target"] == target)]
    if node is not None:
        hit = hit[hit["node"] == node]
    assert len(hit) == 1, hit
    return hit.iloc[0]


def outcome(scheme, data, unit, period="2025"):
    s = evaluate(scheme, data, period).scores
    return set(str(s.loc[s["unit"] == unit, "outcome"].iat[0]).split("+")) - {""}


# ---------------------------------------------------------------------- by hand
def test_entering_the_quota_inside_the_scale():
    # B raises x and stays inside [min, max] = [10, 60]: nobody else's score moves. E's total
    # 53.4483 is 53.45 at 2 decimals; B shares E's place (ties.method min) as soon as its total
    # rounds to 53.45, i.e. exceeds 53.445: s_x = 2 * 53.445 - 100 * 38 / 58 = 41.3724,
    # x = 10 + 50 * s_x / 100 = 30.6862, a change of +10.6862.
    scheme, data = five()
    cf = counterfactuals(scheme, data, 2025, units=["B"], grades=False)
    r = row(cf.single, "B", "praised", "x")
    expected = 10 + 0.5 * (2 * 53.445 - 100 * 38 / 58) - 20
    assert r["status"] == "found" and r["direction"] == "improve" and r["want"] == "gain"
    assert r["change"] == pytest.approx(expected, rel=2e-4) and r["change"] >= expected
    assert r["effort"] == pytest.approx(expected / 50, rel=2e-4)  # spread of x: 60 - 10
    assert r["tie"] == "shares the place" and r["shares_with"] == "戊县"
    assert r["displaces"] == ""  # the quota is overfilled: E stays praised


def test_entering_the_quota_by_becoming_the_new_maximum_moves_the_scale():
    # C (total 25, s_y = 0) cannot reach E's 53.45 on its own score: x = 60 gives s_x = 100 and a
    # total of 50 (a linearisation says: impossible). Beyond 60 C is the new maximum m; every
    # other unit's s_x = 100 (x - 10) / (m - 10) falls. E's total (5000 / (m - 10) + 6.8966) / 2
    # rounds to C's 50.00 once it is below 50.005: m > 10 + 5000 / (100.01 - 400 / 58)
    # = 63.6979; D stays above (its s_y is 100), A (41.38) and B (< 50) below, so C shares 2nd
    # place with E: a change of +28.6979.
    scheme, data = five()
    cf = counterfactuals(scheme, data, 2025, units=["C"], grades=False)
    r = row(cf.single, "C", "praised", "x")
    m = 10 + 5000 / (100.01 - 400 / 58)
    assert r["status"] == "found"
    assert r["change"] == pytest.approx(m - 35, rel=2e-4) and r["new_value"] > 60
    assert r["tie"] == "shares the place" and r["shares_with"] == "戊县"
    assert r["new_score"] == pytest.approx(50.0)
    # On y, C is the minimum (22): above E's 26 the minimum is 26, E's s_y falls to 0 (E's total
    # 50.00) and s_y(C) = 100 (y - 26) / 54. C's total (50 + s_y) / 2 rounds to E's 50.00 once it
    # reaches 49.995: s_y = 49.99, y = 26 + 0.54 * 49.99 = 52.9946, a change of +30.9946.
    r = row(cf.single, "C", "praised", "y")
    assert r["change"] == pytest.approx(26 + 0.54 * 49.99 - 22, rel=2e-4)
    assert r["tie"] == "shares the place" and r["shares_with"] == "戊县"


def test_leaving_the_summons_list_moves_the_minimum():
    # C is the minimum of y (22). Raising y_C up to E's 26 keeps s_y(C) = 0 while every other
    # s_y changes; above 26 the minimum is E's 26: s_y = 100 (y - 26) / 54, so A's total becomes
    # 100 * 44 / 54 / 2 = 40.7407 (40.74), B's (20 + 100 * 34 / 54) / 2 = 41.4815. C leaves the
    # bottom place when its total rounds above 40.74, i.e. exceeds 40.745:
    # s_y(C) = 2 * 40.745 - 50 = 31.49, y_C = 26 + 0.54 * 31.49 = 43.0046, a change of +21.0046,
    # and A takes the bottom place.
    scheme, data = five()
    cf = counterfactuals(scheme, data, 2025, units=["C"], grades=False)
    r = row(cf.single, "C", "summoned", "y")
    expected = 26 + 0.54 * (2 * 40.745 - 50) - 22
    assert r["want"] == "lose" and r["direction"] == "improve"
    assert r["change"] == pytest.approx(expected, rel=2e-4)
    assert r["displaces"] == "甲县"


def test_the_tie_rule_decides_whether_the_unit_shares_or_takes_the_place():
    # at_quota: exclude leaves out the units tied at the last place: B must pass E strictly,
    # its total rounding to 53.46 (above 53.455): x = 10 + 0.5 (2 * 53.455 - 65.5172) = 30.6962
    # (+10.6962), and E drops out of the praise list.
    scheme, data = five({"method": "min", "decimals": 2, "at_quota": "exclude"})
    r = row(counterfactuals(scheme, data, 2025, units=["B"], grades=False).single,
            "B", "praised", "x")
    expected = 10 + 0.5 * (2 * 53.455 - 100 * 38 / 58) - 20
    assert r["change"] == pytest.approx(expected, rel=2e-4)
    assert r["tie"] == "takes the place" and r["displaces"] == "戊县"
    # method first: a tie at 2 decimals is ordered by unit id, and "B" < "E": the threshold of
    # the min rule (53.445), but B takes the place alone and E drops out.
    scheme, data = five({"method": "first", "decimals": 2})
    r = row(counterfactuals(scheme, data, 2025, units=["B"], grades=False).single,
            "B", "praised", "x")
    assert r["change"] == pytest.approx(10 + 0.5 * (2 * 53.445 - 100 * 38 / 58) - 20, rel=2e-4)
    assert r["tie"] == "takes the place (tie ordered by unit id)" and r["displaces"] == "戊县"


def test_losing_a_place_and_the_margin_of_the_praised():
    # E (53.45, 2nd) worsens x, of which it is the maximum (60). Down to 50 it stays the
    # maximum: s_x(E) = 100 and its total 53.45 do not move, while the others' s_x rise (B's
    # total reaches (25 + 65.5172) / 2 = 45.2586 at x_E = 50). Below 50, D's 50 is the
    # maximum: s_x(E) = 100 (x - 10) / 40, E's total (2.5 (x - 10) + 6.8966) / 2. E keeps 2nd
    # place while its total rounds to B's 45.26 or more (a tie shares the place); it loses it
    # below 45.255: 2.5 (x - 10) < 2 * 45.255 - 6.8966, x < 43.4454, a change of -16.5546,
    # and B takes the praise.
    scheme, data = five()
    cf = counterfactuals(scheme, data, 2025, units=["E"], grades=False)
    r = row(cf.single, "E", "praised", "x")
    b_total = (25 + 100 * 38 / 58) / 2
    assert round(b_total, 2) == 45.26
    expected = 10 + (2 * 45.255 - 100 * 4 / 58) / 2.5 - 60
    assert r["want"] == "lose" and r["direction"] == "worsen"
    assert r["change"] == pytest.approx(expected, rel=2e-4) and r["change"] <= expected
    assert r["displaces"] == "乙县"


def test_reported_changes_achieve_the_outcome_and_one_percent_less_does_not():
    scheme, data = five()
    cf = counterfactuals(scheme, data, 2025)
    found = cf.single[cf.single["status"] == "found"]
    assert len(found) >= 6
    for r in found.itertuples():
        before = r.target in outcome(scheme, data, r.unit)
        assert before == r.has_now
        after = outcome(scheme, apply_change(data, r.unit, {r.indicator: r.change}, "2025"), r.unit)
        less = outcome(scheme, apply_change(data, r.unit, {r.indicator: 0.99 * r.change}, "2025"),
                       r.unit)
        assert (r.target in after) != r.has_now, r
        assert (r.target in less) == r.has_now, r


def test_infeasible_is_an_answer_and_bounds_fixed_and_max_change_apply():
    scheme, data = five()
    # D (90) cannot be summoned by worsening x: at the bound x = 0 it is the minimum (s_x = 0)
    # and its total is still (0 + 100) / 2 = 50, above C's (100 * 35 / 60 + 0) / 2 = 29.17.
    cf = counterfactuals(scheme, data, 2025, units=["D"], bounds={"x": (0, 60), "y": (0, 100)},
                         fixed=["y"])
    assert row(cf.single, "D", "summoned", "x")["status"] == "infeasible within bounds"
    assert row(cf.single, "D", "summoned", "y")["status"] == "fixed"
    # B at the upper bound of x cannot improve it at all
    cf = counterfactuals(scheme, data, 2025, units=["B"], bounds={"x": (0, 20)})
    assert row(cf.single, "B", "praised", "x")["status"] == "at bound"
    # B needs +10.69 on x: a limit of 10 makes it infeasible within bounds
    cf = counterfactuals(scheme, data, 2025, units=["B"], max_change={"x": 10})
    assert row(cf.single, "B", "praised", "x")["status"] == "infeasible within bounds"
    cf = counterfactuals(scheme, data, 2025, units=["B"], max_change={"x": 11})
    assert row(cf.single, "B", "praised", "x")["status"] == "found"


def test_a_veto_decides_unless_the_vetoed_indicator_changes():
    # D fails a pass/fail safety check (on_fail: veto): it gets the veto score 0 and no top place.
    # No change of x or y gives it the praise; raising `safe` to the threshold 1 lifts the veto.
    units = [{"unit": u, "name": NAMES[u], "group": "g"} for u in "ABCDE"]
    safe = {"A": 1, "B": 1, "C": 1, "D": 0, "E": 1}
    data = make_dataset({"2025": {u: {"x": X[u], "y": Y[u], "safe": safe[u]} for u in "ABCDE"}},
                        units)
    scheme = one_level({"x": {"weight": 0.5, "scoring": MINMAX},
                        "y": {"weight": 0.5, "scoring": MINMAX},
                        "safe": {"weight": 0.0, "scoring": {"method": "passfail", "threshold": 1,
                                                            "on_fail": "veto"}}},
                       ranking={"ties": {"method": "min", "decimals": 2}},
                       consequences={"praised": {"label": "通报表扬", "top": 2},
                                     "veto": {"score": 0}})
    assert evaluate(scheme, data, 2025).scores.set_index("unit").loc["D", "vetoed"]
    cf = counterfactuals(scheme, data, 2025, units=["D"], bounds={"safe": (0, 1)})
    assert row(cf.single, "D", "praised", "x")["status"].startswith("infeasible")
    assert row(cf.single, "D", "praised", "y")["status"].startswith("infeasible")
    r = row(cf.single, "D", "praised", "safe")
    assert r["status"] == "found" and r["change"] == pytest.approx(1.0, rel=2e-4)
    assert "praised" in outcome(scheme, apply_change(data, "D", {"safe": r["change"]}, "2025"),
                                "D")


def test_combined_change_is_no_more_than_the_best_single_and_works():
    scheme, data = five()
    for metric in ("l1", "l2"):
        cf = counterfactuals(scheme, data, 2025, metric=metric)
        best = cf.cheapest().set_index(["unit", "target", "direction"])["effort"]
        for r in cf.combined[cf.combined["status"] == "found"].itertuples():
            key = (r.unit, r.target, r.direction)
            if key in best.index:
                assert r.effort <= best[key] * (1 + 1e-9)
            parts = cf.changes[(cf.changes["unit"] == r.unit) & (cf.changes["target"] == r.target)
                               & (cf.changes["direction"] == r.direction)]
            cost = (parts["effort"].sum() if metric == "l1"
                    else math.sqrt((parts["effort"] ** 2).sum()))
            assert cost == pytest.approx(r.effort)
            changes = dict(zip(parts["indicator"], parts["change"], strict=True))
            after = outcome(scheme, apply_change(data, r.unit, changes, "2025"), r.unit)
            less = outcome(scheme, apply_change(data, r.unit, {k: 0.99 * v for k, v in
                                                               changes.items()}, "2025"), r.unit)
            assert (r.target in after) != r.has_now
            assert (r.target in less) == r.has_now


def test_combined_change_by_l1_and_l2():
    # B (42.7586) needs 53.445 (E's place, shared): +10.6864 points, i.e. +21.3728 of score on
    # either indicator (weight 1/2). One spread of x (50) or of y (58) is 100 points of score,
    # so x alone costs 0.213728 spreads (+10.6864) and y alone the same (+12.3962); both stay
    # inside their scales. L1 is indifferent: the combined change costs 0.213728. L2 spreads it
    # evenly (equal points per spread): 0.106864 on each, a cost of 0.213728 / sqrt(2).
    scheme, data = five()
    cf = counterfactuals(scheme, data, 2025, units=["B"], consequences=["praised"])
    single = cf.single.set_index("node")["effort"]
    assert single["x"] == pytest.approx((10 + 0.5 * (2 * 53.445 - 100 * 38 / 58) - 20) / 50,
                                        rel=2e-4)
    assert single["y"] == pytest.approx((22 + 0.58 * (2 * 53.445 - 20) - 60) / 58, rel=2e-4)
    assert cf.combined["effort"].iat[0] == pytest.approx(0.213728, rel=2e-4)
    cf2 = counterfactuals(scheme, data, 2025, units=["B"], consequences=["praised"], metric="l2")
    assert cf2.combined["effort"].iat[0] == pytest.approx(0.213728 / math.sqrt(2), rel=1e-3)
    assert cf2.combined["via"].iat[0] == "path" and cf2.combined["n_indicators"].iat[0] == 2
    parts = cf2.changes.set_index("node")
    assert parts.loc["x", "change"] == pytest.approx(0.106864 * 50, rel=1e-3)
    assert parts.loc["y", "change"] == pytest.approx(0.106864 * 58, rel=1e-3)


# ---------------------------------------------------------------------- property test
@st.composite
def small_schemes(draw):
    n = draw(st.integers(4, 6))
    rules = []
    for _ in range(2):
        kind = draw(st.sampled_from(["minmax", "minmax60", "percentile", "zscore", "goalposts"]))
        rule = {"minmax": MINMAX, "minmax60": {"method": "minmax", "within": "pool",
                                               "range": [60, 100]},
                "percentile": {"method": "percentile", "within": "pool"},
                "zscore": {"method": "zscore", "within": "pool", "offset": 70, "scale": 10},
                "goalposts": {"method": "goalposts", "min": 0, "max": 100}}[kind]
        rules.append((rule, draw(st.sampled_from(["higher", "lower"]))))
    w = draw(st.sampled_from([0.2, 0.35, 0.5, 0.65, 0.8]))
    a = draw(st.lists(st.integers(1, 99), min_size=n, max_size=n, unique=True))
    b = draw(st.lists(st.integers(1, 99), min_size=n, max_size=n, unique=True))
    values = list(zip(a, b, strict=True))
    decimals = draw(st.sampled_from([2, 6]))
    method = draw(st.sampled_from(["min", "first"]))
    top = draw(st.integers(1, 2))
    unit = draw(st.integers(0, n - 1))
    metric = draw(st.sampled_from(["l1", "l2"]))
    return n, rules, w, values, decimals, method, top, unit, metric


# derandomize: the same examples on every run (a test suite must not flake); 250 random examples
# of this test (and 200 with a z-score rule) passed when it was written
@settings(max_examples=25, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(small_schemes())
def test_property_reported_change_is_the_smallest_on_random_small_schemes(case):
    n, rules, w, values, decimals, method, top, unit, metric = case
    ids = [f"u{i}" for i in range(n)]
    units = [{"unit": u, "name": u, "group": "g"} for u in ids]
    data = make_dataset({"2025": {u: {"a": v[0], "b": v[1]} for u, v in
                                  zip(ids, values, strict=True)}}, units,
                        directions={c: d for c, (_, d) in zip("ab", rules, strict=True)
                                    if d == "lower"})
    scheme = one_level({"a": {"weight": w, "scoring": rules[0][0]},
                        "b": {"weight": round(1 - w, 2), "scoring": rules[1][0]}},
                       ranking={"ties": {"method": method, "decimals": decimals}},
                       consequences={"praised": {"top": top}, "summoned": {"bottom": 1}})
    try:
        evaluate(scheme, data, 2025)
    except SchemeError:  # equal totals at both quota lines: the scheme itself cannot be applied
        assume(False)
    who = ids[unit]
    cf = counterfactuals(scheme, data, 2025, units=[who], metric=metric, bounds=None)
    checks = [(r.target, r.has_now, {r.indicator: r.change})
              for r in cf.single[cf.single["status"] == "found"].itertuples()]
    for r in cf.combined[cf.combined["status"] == "found"].itertuples():
        parts = cf.changes[(cf.changes["target"] == r.target)
                           & (cf.changes["direction"] == r.direction)]
        checks.append((r.target, r.has_now, dict(zip(parts["indicator"], parts["change"],
                                                     strict=True))))
    for target, has_now, changes in checks:
        after = outcome(scheme, apply_change(data, who, changes, "2025"), who)
        less = outcome(scheme, apply_change(data, who, {k: 0.99 * v for k, v in changes.items()},
                                            "2025"), who)
        assert (target in after) != has_now, (target, changes)
        assert (target in less) == has_now, (target, changes)


# ---------------------------------------------------------------------- the engine entry point
@pytest.mark.parametrize("name,dataset,period", [
    ("sichuan-39", "sichuan-39", "2025"), ("dingxi", "dingxi", "2025"),
    ("jincheng-1plus4", "jincheng", "2024"), ("undp-hdi", "hdr-2023", "2022")])
def test_value_batch_reproduces_evaluate(name, dataset, period):
    # every level, including Jincheng's towns whose coefficient multiplies one node
    scheme, data = ak.load_scheme(name), ak.datasets.load(dataset)
    ev = evaluate(scheme, data, period)
    levels = [k for k, spec in scheme.levels.items() if spec.review is None]
    assert levels
    for level in levels:
        batch = ValueBatch(scheme, data, ev.period, level, evaluation=ev)
        res = batch.run(np.zeros(1, np.intp), np.zeros((1, len(batch.leaves))))
        table = ev.scores[ev.scores["level"] == level]
        np.testing.assert_allclose(res.total[0], table["score"].to_numpy(), rtol=0, atol=1e-9,
                                   err_msg=level)
        np.testing.assert_array_equal(res.group_rank[0],
                                      table["group_rank"].to_numpy(dtype=float), err_msg=level)
        keys = batch.decisions.keys
        got = ["+".join(k for c, k in enumerate(keys) if b >> c & 1)
               for b in res.outcome[0].tolist()]
        assert got == table["outcome"].tolist(), level


@pytest.mark.parametrize("indicator,change", [("jt_traction", 5.0), ("jt_rural", -3.0)])
def test_value_batch_changed_values_with_a_coefficient_on_one_node(indicator, change):
    # Jincheng towns: the evaluation coefficient multiplies only the traction part's points, so
    # a change to that part or to another one moves the part's points; the batch must agree
    # with evaluate() of the changed data (the audit found it raising instead)
    scheme, data = ak.load_scheme("jincheng-1plus4"), ak.datasets.load("jincheng")
    batch = ValueBatch(scheme, data, "2024", "town")
    col = [nd.id for nd in batch.nodes].index(indicator)
    unit = 0
    delta = np.zeros((1, len(batch.leaves)))
    delta[0, col] = change
    res = batch.run(np.array([unit]), delta)
    ev = evaluate(scheme, apply_change(data, batch.ids[unit], {indicator: change}, "2024"), 2024)
    table = ev.scores[ev.scores["level"] == "town"]
    np.testing.assert_allclose(res.total[0], table["score"].to_numpy(), atol=1e-9)
    assert res.total[0][unit] != evaluate(scheme, data, 2024).scores.query(
        "level == 'town'")["score"].iat[unit]


def test_what_it_takes_on_jincheng_towns():
    scheme, data = ak.load_scheme("jincheng-1plus4"), ak.datasets.load("jincheng")
    cf = counterfactuals(scheme, data, 2024, level="town")
    assert len(cf.single) and (cf.single["status"] == "found").any()


def test_value_batch_changed_values_match_evaluate_of_changed_data_quarterly():
    # Dingxi's annual result combines four quarters: a change made in every quarter
    scheme, data = ak.load_scheme("dingxi"), ak.datasets.load("dingxi")
    batch = ValueBatch(scheme, data, "2025", "county")
    col = [nd.id for nd in batch.nodes].index("dx_gdp_growth")
    unit = 3
    delta = np.zeros((1, len(batch.leaves)))
    delta[0, col] = 2.5
    res = batch.run(np.array([unit]), delta)
    uid = batch.ids[unit]
    changed = apply_change(data, uid, {"dx_gdp_growth": 2.5},
                           ["2025Q1", "2025Q2", "2025Q3", "2025Q4"])
    ev = evaluate(scheme, changed, 2025)
    table = ev.scores[ev.scores["level"] == "county"]
    np.testing.assert_allclose(res.total[0], table["score"].to_numpy(), atol=1e-9)
    # only the fourth quarter (a (d, S, L) delta)
    delta3 = np.zeros((1, 4, len(batch.leaves)))
    delta3[0, 3, col] = 2.5
    res = batch.run(np.array([unit]), delta3)
    ev = evaluate(scheme, apply_change(data, uid, {"dx_gdp_growth": 2.5}, "2025Q4"), 2025)
    np.testing.assert_allclose(res.total[0], ev.scores[ev.scores["level"] == "county"]["score"]
                               .to_numpy(), atol=1e-9)


def test_quarterly_counterfactual_changes_every_quarter():
    scheme, data = ak.load_scheme("dingxi"), ak.datasets.load("dingxi")
    cf = counterfactuals(scheme, data, 2025, consequences=["praised"], indicators=["dx_gdp_growth"])
    assert "each of the sub-periods 2025Q1, 2025Q2, 2025Q3, 2025Q4" in cf.summary()
    quarters = ["2025Q1", "2025Q2", "2025Q3", "2025Q4"]
    for r in cf.single[cf.single["status"] == "found"].head(3).itertuples():
        after = outcome(scheme, apply_change(data, r.unit, {r.indicator: r.change}, quarters),
                        r.unit, "2025")
        less = outcome(scheme, apply_change(data, r.unit, {r.indicator: 0.99 * r.change},
                                            quarters), r.unit, "2025")
        assert ("praised" in after) != r.has_now and ("praised" in less) == r.has_now


def test_sichuan_growth_indicator_and_the_report_table():
    # urban income is scored on its level and its growth: the change of the 2025 value moves
    # both; the reported change applied to the data gives the new outcome
    scheme, data = ak.load_scheme("sichuan-39"), ak.datasets.load("sichuan-39")
    cf = counterfactuals(scheme, data, 2025, units=["营山县", "仪陇县"],
                         indicators=["urban_income", "urbanization_rate"])
    for r in cf.single[cf.single["status"] == "found"].itertuples():
        after = outcome(scheme, apply_change(data, r.unit, {r.indicator: r.change}, "2025"),
                        r.unit)
        assert (r.target in after) != r.has_now
    table = cf.unit_table("营山县")
    assert list(table.columns) == ["结果", "方向", "指标", "当前值", "需要的变化", "变化后",
                                   "占全距", "名次", "状态"]
    assert (table["状态"] == "可达").all() and table["结果"].isin(["通报表扬", "约谈"]).all()
    en = unit_what_it_takes(scheme, data, 2025, "511322", lang="en",
                            indicators=["urbanization_rate"])
    assert "outcome" in en.columns and len(en) >= 1


# ---------------------------------------------------------------------- pieces
def test_first_flip_finds_thresholds_of_step_functions():
    thresholds = np.array([0.003, 0.5, 7.0, 20.0, 1e-12])
    t, found = first_flip(lambda idx, t: t >= thresholds[idx], np.array([10, 10, 10, 10, 10.0]),
                          rtol=1e-6, atol=1e-9)
    assert found.tolist() == [True, True, True, False, True]
    np.testing.assert_allclose(t[:3], thresholds[:3], rtol=2e-6)
    assert (t[:3] >= thresholds[:3]).all() and t[4] <= 1e-9


def test_format_change_rounds_away_from_zero():
    assert format_change(1240.37, "yuan") == "+1,241 yuan"
    assert format_change(-13.7221, "%") == "-13.73 percentage points"
    assert format_change(-13.7221, "%", lang="zh") == "-13.73个百分点"
    assert format_change(0.5, "") == "+0.5"
    assert round_away(-0.012341) == -0.01235 and round_away(99999.1) == 100000.0


# ---------------------------------------------------------------------- bad input
def test_unknown_unit_is_a_clear_error():
    scheme, data = five()
    with pytest.raises(DataError, match=r"unit 'Z' is not assessed at level 'county'"):
        counterfactuals(scheme, data, 2025, units=["Z"])


def test_a_consequence_the_scheme_lacks_is_a_clear_error():
    scheme, data = five()
    with pytest.raises(SchemeError, match=r"no consequence 'praise'; its consequences are "
                                          r"\['praised', 'summoned'\]"):
        counterfactuals(scheme, data, 2025, consequences=["praise"])


def test_bounds_with_min_above_max_are_a_clear_error():
    scheme, data = five()
    with pytest.raises(DataError, match=r"bounds\['x'\] = \(100, 0\): the lower bound 100 is "
                                        r"above the upper bound 0"):
        counterfactuals(scheme, data, 2025, bounds={"x": (100, 0)})
    with pytest.raises(DataError, match="unknown indicator 'z'"):
        counterfactuals(scheme, data, 2025, bounds={"z": (0, 1)})
    with pytest.raises(DataError, match="fixed names unknown indicator"):
        counterfactuals(scheme, data, 2025, fixed=["z"])
    with pytest.raises(DataError, match="metric must be one of"):
        counterfactuals(scheme, data, 2025, metric="l3")


def test_result_object_summary_frame_and_escaped_html():
    units = [{"unit": u, "name": ("<b>甲</b>" if u == "A" else NAMES[u]), "group": "g"}
             for u in "ABCDE"]
    data = make_dataset({"2025": {u: {"x": X[u], "y": Y[u]} for u in "ABCDE"}}, units)
    scheme, _ = five()
    cf = counterfactuals(scheme, data, 2025)
    assert "<b>甲</b>" not in cf._repr_html_() and "&lt;b&gt;甲&lt;/b&gt;" in cf._repr_html_()
    assert cf.to_frame() is cf.single
    text = cf.summary()
    assert "通报表扬 (praised), gain" in text and "Bounds: x [0, ∞]" in text
    assert isinstance(cf.bounds, pd.DataFrame) and set(cf.bounds["node"]) == {"x", "y"}
    text = cf.describe_unit("A")  # Markdown: a name from the data is escaped
    assert text.startswith("**&lt;b&gt;甲&lt;/b&gt;** scores 41.38 in 2025, rank 4 of 5")
    assert "<b>" not in text
    # B's sentence: the cheapest single change of x (+10.69) shares the place with 戊县
    text = cf.describe_unit("B")
    assert "To **gain 通报表扬** (by improving): the smallest single change is x +10.69" in text
    assert "sharing the place with 戊县" in text


def test_plots_render(mpl_rc):
    scheme, data = five()
    cf = counterfactuals(scheme, data, 2025)
    fig = cf.plot("乙县")
    assert "乙县" in fig.get_suptitle()
    fig = cf.plot()
    assert fig.axes[0].get_xscale() == "log"


# ---------------------------------------------------------------------- command line
def write_five(tmp_path, names=None):
    """The hand-worked example as a dataset folder and a scheme file, for the command line."""
    import yaml

    folder = tmp_path / "five"
    folder.mkdir()
    names = {**NAMES, **(names or {})}
    pd.DataFrame({"unit": list("ABCDE"), "name": [names[u] for u in "ABCDE"],
                  "level": "county", "group": "g"}).to_csv(folder / "units.csv", index=False)
    pd.DataFrame({"indicator": ["x", "y"], "name": ["指标x", "指标y"],
                  "unit_of_measure": ["yuan", "%"], "direction": "higher"}).to_csv(
        folder / "indicators.csv", index=False)
    pd.DataFrame([{"unit": u, "period": "2025", "indicator": c, "value": v[u]}
                  for c, v in (("x", X), ("y", Y)) for u in "ABCDE"]).to_csv(
        folder / "values.csv", index=False)
    scheme = tmp_path / "five.yaml"
    scheme.write_text(yaml.safe_dump({
        "name": "five", "levels": {"county": {
            "tree": {"x": {"weight": 0.5, "scoring": MINMAX},
                     "y": {"weight": 0.5, "scoring": MINMAX}},
            "ranking": {"ties": {"method": "min", "decimals": 2}},
            "consequences": {"praised": {"label": "通报表扬", "top": 2},
                             "summoned": {"label": "约谈", "bottom": 1}}}}},
        allow_unicode=True), encoding="utf-8")
    return folder, scheme


def test_cli_what_it_takes_writes_a_tidy_csv(tmp_path, capsys):
    from io import StringIO

    from assesskit.cli import main

    folder, scheme = write_five(tmp_path)
    code = main(["what-it-takes", "乙县", "--scheme", str(scheme), "--data", str(folder),
                 "--period", "2025", "--consequence", "praised"])
    out, err = capsys.readouterr()
    assert code == 0, err
    table = pd.read_csv(StringIO(out), dtype={"unit": str})
    assert table.columns[:9].tolist() == ["unit", "name", "level", "period", "target",
                                          "target_label", "want", "direction", "plan"]
    x = table[(table["plan"] == "single") & (table["node"] == "x")].iloc[0]
    assert x["change"] == pytest.approx(10 + 0.5 * (2 * 53.445 - 100 * 38 / 58) - 20, rel=2e-4)
    assert x["status"] == "found" and x["tie"] == "shares the place"
    assert set(table["plan"]) == {"single", "combined-l1"}
    # --bound and --fixed reach the analysis
    code = main(["what-it-takes", "B", "--scheme", str(scheme), "--data", str(folder),
                 "--period", "2025", "--consequence", "praised", "--bound", "x=:20",
                 "--fixed", "y", "--metric", "l2"])
    out, err = capsys.readouterr()
    table = pd.read_csv(StringIO(out))
    single = table[table["plan"] == "single"].set_index("node")["status"]
    assert single["x"] == "at bound" and single["y"] == "fixed"
    assert (table.loc[table["plan"] == "combined-l2", "status"] == "infeasible").all()


def test_cli_what_it_takes_help_errors_and_formula_cells(tmp_path, capsys):
    from assesskit.cli import main

    assert main(["what-it-takes", "--help"]) == 0
    out, _ = capsys.readouterr()
    assert "Example:" in out and "assesskit what-it-takes 营山县" in out
    folder, scheme = write_five(tmp_path, names={"B": "=HYPERLINK(1)"})
    base = ["--scheme", str(scheme), "--data", str(folder), "--period", "2025"]
    assert main(["what-it-takes", "Z", *base]) == 1
    _, err = capsys.readouterr()
    assert "unit 'Z' is not assessed" in err
    assert main(["what-it-takes", "B", *base, "--bound", "x=5:1"]) == 1
    _, err = capsys.readouterr()
    assert "lower bound 5 is above the upper bound 1" in err
    assert main(["what-it-takes", "B", *base, "--bound", "x"]) == 1
    _, err = capsys.readouterr()
    assert "write INDICATOR=VALUE" in err
    assert main(["what-it-takes", "B", *base, "--consequence", "praise"]) == 1
    _, err = capsys.readouterr()
    assert "no consequence 'praise'" in err
    assert main(["what-it-takes", "B", *base]) == 0
    out, _ = capsys.readouterr()
    assert "'=HYPERLINK(1)" in out and "\n=HYPERLINK" not in out and ",=HYPERLINK" not in out


def test_cli_what_it_takes_end_to_end(tmp_path):
    import subprocess
    import sys

    out = tmp_path / "yingshan.csv"
    proc = subprocess.run([sys.executable, "-m", "assesskit", "what-it-takes", "营山县",
                           "--period", "2025", "--consequence", "praised",
                           "--indicator", "urbanization_rate", "--out", str(out)],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    table = pd.read_csv(out, dtype={"unit": str}, encoding="utf-8-sig")
    r = table[table["plan"] == "single"].iloc[0]
    assert r["want"] == "lose" and r["status"] == "found"
    data = ak.datasets.load("sichuan-39")
    scheme = ak.load_scheme("sichuan-39")
    after = outcome(scheme, apply_change(data, "511322", {"urbanization_rate": r["change"]},
                                         "2025"), "511322")
    assert "praised" not in after


def test_decisions_of_many_draws_under_tie_method_first():
    # Found by these counterfactuals: with ties.method first, the analyses' sorted path of
    # LevelDecisions.decide (display=False) must give the same outcomes as the general one.
    from assesskit.engine.evaluation import level_decisions

    scheme, data = five({"method": "first", "decimals": 2})
    ev = evaluate(scheme, data, 2025)
    rules = level_decisions(scheme.levels["county"], ev.level_results["county"])
    total = np.array([[41.38, 42.76, 25.0, 90.0, 53.45],   # as evaluated: D, E praised; C summoned
                      [41.38, 53.45, 25.0, 90.0, 53.45],   # B ties E: B ("B" < "E") takes 2nd
                      [60.00, 42.76, 25.0, 90.0, 53.45]])  # A passes E
    fast = rules.decide(total, [], np.zeros(5, bool), display=False).outcome
    full = rules.decide(total, [], np.zeros(5, bool), display=True).outcome
    np.testing.assert_array_equal(fast, full)
    praised = [[u for u, b in zip("ABCDE", row, strict=True) if b & 1] for row in fast.tolist()]
    assert praised == [["D", "E"], ["B", "D"], ["A", "D"]]
