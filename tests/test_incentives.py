"""The incentives a scheme creates (assesskit.analysis.incentives).

Hand-worked example: two regional groups of three counties, indicator ``a`` with a compressed
range inside each group (0/5/10 and 100/105/110: a spread of 110 over all six, a range of 10
within each group) weighted 20%, indicator ``b`` spread evenly (0/50/100 in both groups, a spread
of 100) weighted 80%, both scored min–max within the group onto [0, 100]::

    group  unit  a    b
    g1     P     0    0
    g1     Q     5    50
    g1     R     10   100
    g2     S     100  0
    g2     T     105  50
    g2     U     110  100
"""

from __future__ import annotations

import numpy as np
import pytest
from test_engine import make_dataset, one_level

import assesskit as ak
from assesskit import DataError, evaluate
from assesskit.analysis.counterfactual import apply_change, counterfactuals
from assesskit.analysis.incentives import incentives

WITHIN = {"method": "minmax", "within": "group", "range": [0, 100]}
A = {"P": 0, "Q": 5, "R": 10, "S": 100, "T": 105, "U": 110}
B = {"P": 0, "Q": 50, "R": 100, "S": 0, "T": 50, "U": 100}
GROUP = {"P": "g1", "Q": "g1", "R": "g1", "S": "g2", "T": "g2", "U": "g2"}


def two_groups(label_a="a"):
    units = [{"unit": u, "name": u, "group": GROUP[u]} for u in A]
    data = make_dataset({"2025": {u: {"a": A[u], "b": B[u]} for u in A}}, units)
    scheme = one_level({"a": {"weight": 0.2, "scoring": WITHIN, "label": label_a},
                        "b": {"weight": 0.8, "scoring": WITHIN}},
                       ranking={"group_by": "group", "ties": {"method": "min", "decimals": 2}},
                       consequences={"praised": {"label": "通报表扬", "top": 1}})
    return scheme, data


def cell(frame, unit, node, column):
    hit = frame[(frame["unit"] == unit) & (frame["node"] == node)]
    assert len(hit) == 1
    return hit[column].iat[0]


def test_marginal_points_by_hand():
    scheme, data = two_groups()
    inc = incentives(scheme, data, 2025)
    m = inc.marginal
    # Q inside its group's range: d total / d a = 0.2 * 100 / 10 = 2 points per unit of a;
    # 1% of a's spread (110) is 1.1 units: 2.2 points. On b: 0.8 * 100 / 100 = 0.8, 1% = 1 unit.
    assert cell(m, "Q", "a", "points_per_unit") == pytest.approx(2.0, rel=1e-6)
    assert cell(m, "Q", "a", "points_per_pct") == pytest.approx(2.2, rel=1e-9)
    assert cell(m, "Q", "b", "points_per_unit") == pytest.approx(0.8, rel=1e-6)
    assert cell(m, "T", "b", "points_per_pct") == pytest.approx(0.8, rel=1e-9)
    # R is its group's maximum: its own score stays 100; P is the minimum: improving by 1.1
    # leaves it the minimum (Q has 5), its score stays 0. Neither earns anything of its own.
    for unit in ("R", "P", "U", "S"):
        assert cell(m, unit, "a", "points_per_unit") == 0.0
        assert cell(m, unit, "a", "points_per_pct") == 0.0
    assert cell(m, "Q", "a", "nominal_weight") == pytest.approx(0.2)


def test_effective_weights_reward_the_compressed_indicator():
    # mean points per 1% of the spread: a (0 + 2.2 + 0) * 2 / 6 = 0.7333, b (0 + 0.8 + 0) * 2 / 6
    # = 0.2667: effective shares 0.7333 and 0.2667 against nominal 0.2 and 0.8 — the indicator
    # weighted 20% pays 3.67 times its weight, the one weighted 80% a third of it.
    scheme, data = two_groups()
    w = incentives(scheme, data, 2025).weights.set_index("node")
    assert w.loc["a", "mean_points_per_pct"] == pytest.approx(4.4 / 6)
    assert w.loc["a", "effective"] == pytest.approx(4.4 / 6 / (4.4 / 6 + 1.6 / 6))
    assert w.loc["a", "nominal"] == pytest.approx(0.2) and w.loc["b", "nominal"] == pytest.approx(0.8)
    assert w.loc["a", "ratio"] == pytest.approx((4.4 / 6) / 0.2)
    assert w.loc["b", "ratio"] == pytest.approx((1.6 / 6) / 0.8)
    assert w.loc["a", "effective"] > w.loc["b", "effective"] and w.loc["a", "nominal"] < w.loc["b", "nominal"]


def test_peer_dependence_by_hand():
    # Q's best peer on a is R (10). R falling back by 1.1 to 8.9 stretches the scale:
    # Q's score 100 * 5 / 8.9 = 56.18 instead of 50, i.e. 0.2 * 6.18 = 1.2360 points, against
    # 2.2 for improving itself: zero_sum 0.5618. On b: R 100 -> 99, Q's score 50.505,
    # 0.8 * 0.505 = 0.4040 points against 0.8: 0.5051.
    scheme, data = two_groups()
    p = incentives(scheme, data, 2025).peers
    assert cell(p, "Q", "a", "peer") == "R"
    assert cell(p, "Q", "a", "peer_points") == pytest.approx(0.2 * 100 * (5 / 8.9 - 0.5))
    assert cell(p, "Q", "a", "zero_sum") == pytest.approx(0.2 * 100 * (5 / 8.9 - 0.5) / 2.2)
    assert cell(p, "Q", "b", "peer_points") == pytest.approx(0.8 * 100 * (50 / 99 - 0.5))
    # R's best peer is Q (R is the best itself); Q falling back changes nothing for R (still 100)
    assert cell(p, "R", "a", "peer") == "Q" and cell(p, "R", "a", "peer_points") == 0.0
    assert np.isnan(cell(p, "R", "a", "zero_sum"))  # nothing gained by improving either
    # peers are taken within the comparison group: T's best peer is U, not R
    assert cell(p, "T", "a", "peer") == "U"


def test_marginal_points_equal_a_finite_difference_on_the_engine():
    # the public evaluate of the data with one value changed, against the analysis
    scheme, data = ak.load_scheme("sichuan-39"), ak.datasets.load("sichuan-39")
    inc = incentives(scheme, data, 2025, indicators=["gdp_per_capita", "urban_income",
                                                      "resp_primary"])
    base = evaluate(scheme, data, 2025).scores.set_index("unit")["score"]
    m = inc.marginal
    for unit, node in [("511322", "gdp_per_capita"), ("511781", "urban_income"),
                       ("513231", "resp_primary"), ("510822", "urban_income")]:
        r = m[(m["unit"] == unit) & (m["node"] == node)].iloc[0]
        h = 0.01 * r["spread"]  # 1% of the spread: exactly what points_per_pct measures
        ev = evaluate(scheme, apply_change(data, unit, {r["indicator"]: h}, "2025"), 2025)
        gain = ev.scores.set_index("unit")["score"][unit] - base[unit]
        assert r["points_per_pct"] == pytest.approx(gain, abs=1e-9)
        h = 1e-4 * r["spread"]  # a small step: the derivative
        ev = evaluate(scheme, apply_change(data, unit, {r["indicator"]: h}, "2025"), 2025)
        slope = (ev.scores.set_index("unit")["score"][unit] - base[unit]) / h
        assert r["points_per_unit"] == pytest.approx(slope, rel=1e-3)


def test_marginal_points_of_a_quarterly_scheme_change_every_quarter():
    scheme, data = ak.load_scheme("dingxi"), ak.datasets.load("dingxi")
    inc = incentives(scheme, data, 2025, indicators=["dx_gdp_growth"])
    base = evaluate(scheme, data, 2025).scores
    base = base[base["level"] == "county"].set_index("unit")["score"]
    r = inc.marginal.iloc[2]
    h = 0.01 * r["spread"]
    ev = evaluate(scheme, apply_change(data, r["unit"], {"dx_gdp_growth": h},
                                       ["2025Q1", "2025Q2", "2025Q3", "2025Q4"]), 2025)
    after = ev.scores[ev.scores["level"] == "county"].set_index("unit")["score"]
    assert r["points_per_pct"] == pytest.approx(after[r["unit"]] - base[r["unit"]], abs=1e-9)


def test_gaming_exposure_counts_units_within_one_percent_of_a_fate_change():
    # one indicator, min–max over the pool, spread 100: C (50) is praised 2nd, B (49.8) is not.
    # B shares C's place once its score rounds to 50.00: +0.195 (0.195% of the spread); C loses
    # it once its score rounds below 49.80: -0.205. A (summoned, 0) and D (100) are far away.
    units = [{"unit": u, "name": u, "group": "g"} for u in "ABCD"]
    data = make_dataset({"2025": {"A": {"x": 0}, "B": {"x": 49.8}, "C": {"x": 50},
                                  "D": {"x": 100}}}, units)
    scheme = one_level({"x": {"weight": 1.0, "scoring": {"method": "minmax", "within": "pool"}}},
                       ranking={"ties": {"method": "min", "decimals": 2}},
                       consequences={"praised": {"top": 2}, "summoned": {"bottom": 1}})
    inc = incentives(scheme, data, 2025)
    exp = inc.exposure.set_index("unit")
    assert set(exp.index) == {"B", "C"}
    assert exp.loc["B", "change"] == pytest.approx(0.195, rel=1e-3)
    assert exp.loc["C", "change"] == pytest.approx(-0.205, rel=1e-3)
    counts = inc.exposure_counts.set_index(["target", "want"])
    assert counts.loc[("praised", "gain"), "units"] == 2
    assert counts.loc[("praised", "gain"), "units_within"] == 1
    assert counts.loc[("praised", "lose"), "units_within"] == 1
    assert counts.loc[("summoned", "gain"), "units_within"] == 0
    assert counts.loc[("praised", "gain"), "x"] == 1


def test_reuses_counterfactuals_and_checks_arguments():
    scheme, data = two_groups()
    cf = counterfactuals(scheme, data, 2025)
    inc = incentives(scheme, data, 2025, counterfactuals_result=cf)
    assert inc.counterfactuals is cf
    with pytest.raises(DataError, match="exposure_share must be a share"):
        incentives(scheme, data, 2025, exposure_share=5)
    with pytest.raises(DataError, match="unknown indicator"):
        incentives(scheme, data, 2025, indicators=["zz"])


def test_result_object(mpl_rc):
    scheme, data = two_groups(label_a="<b>甲</b>")
    inc = incentives(scheme, data, 2025)
    assert inc.to_frame() is inc.marginal
    text = inc.summary()
    assert "Largest gap: <b>甲</b> pays 3.67 times its weight" in text
    assert "nominal 20.0%, effective 73.3%" in text
    html = inc._repr_html_()
    assert "<b>甲</b>" not in html and "&lt;b&gt;甲&lt;/b&gt;" in html
    described = inc.describe()
    assert "pays most for **&lt;b&gt;甲&lt;/b&gt;**: 73.3% of the points" in described
    fig = inc.plot()
    assert "名义权重" in fig.axes[0].get_title()
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["b", "<b>甲</b>"]
