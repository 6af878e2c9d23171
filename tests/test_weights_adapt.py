"""Weighting methods adapted to a node: scaled BoD bounds, the shift for negative values,
children that apply to named units only, and methods skipped with a reason.

Every expected value is worked out by hand in the comments (linear programmes solved at their
vertices), never copied from the code's output.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import assesskit as ak
from assesskit import weights as W
from assesskit.errors import SchemeError

# The four-unit example of the bod docstring: A (1, 4), B (3, 3), C (4, 1), D (2, 1).
X4 = pd.DataFrame({"a": [1.0, 3.0, 4.0, 2.0], "b": [4.0, 3.0, 1.0, 1.0]},
                  index=["A", "B", "C", "D"])


def test_share_bounds_scale_with_the_number_of_children():
    assert W.bod_share_bounds(10) == (0.05, 0.2)      # the 5–20% of ten indicators
    assert W.bod_share_bounds(4) == (0.125, 0.5)
    assert W.bod_share_bounds(2) == (0.25, 1.0)       # 2/2 = 1: the upper bound is capped at 1
    assert W.bod_share_bounds(5, 0.0, 1.5) == (0.0, 0.3)
    with pytest.raises(ValueError, match="at least 2 indicators"):
        W.bod_share_bounds(1)
    with pytest.raises(ValueError, match="lower <= 1 <= upper"):
        W.bod_share_bounds(3, 1.2, 2)


def test_scaled_bounds_on_two_indicators_by_hand():
    # m = 2: each share in [0.25, 1]. Constraints w.y_k <= 1 for A..D.
    # D = (2, 1): unrestricted optimum w = (2/9, 1/9) gives D's b-share (1/9)/(5/9) = 0.2 < 0.25,
    #   so the share bound binds: w2 = 2 w1 / 3, objective 8 w1 / 3, B's 3 w1 + 3 w2 = 5 w1 <= 1
    #   -> w1 = 1/5, score 8/15 (the vertex B ∩ A, w = (1/9, 2/9), gives only 4/9).
    # A = (1, 4): a-share >= 0.25 -> w2 <= 3 w1 / 4; on it the objective is 4 w1 and B gives
    #   5.25 w1 <= 1 -> w1 = 4/21, score 16/21 (B ∩ C, w = (2/9, 1/9), gives 6/9).
    # C = (4, 1) is the mirror image of A: 16/21.  B = (3, 3): w = (1/6, 1/6) keeps every unit
    #   <= 1 with shares 1/2 each, score 1.
    run = W.bod_adapted(X4)
    assert run.bounds == (0.25, 1.0) and not run.skipped and run.notes == []
    np.testing.assert_allclose(run.result.scores, [16 / 21, 1, 16 / 21, 8 / 15], atol=1e-9)
    assert run.n_best == 1


def test_fixed_bounds_that_cannot_be_met_are_skipped_with_the_reason():
    # 5–20% for two indicators: the upper bounds sum to 0.4 < 1 (the issue's DataError)
    run = W.bod_adapted(X4, bounds=(0.05, 0.2))
    assert run.result is None
    assert run.skipped == ("share bounds 0.05–0.2 cannot be met with 2 indicators (the shares "
                           "must sum to 1); use bounds='scaled'")
    assert run.n_best == 0 and run.to_frame().empty


def test_negative_values_are_shifted_to_a_minimum_of_zero_by_hand():
    # b = (2, 1, -2, -1): min -2 -> shifted by +2 to (4, 3, 0, 1)
    X = pd.DataFrame({"a": [1.0, 3.0, 4.0, 2.0], "b": [2.0, 1.0, -2.0, -1.0]},
                     index=list("ABCD"))
    shifted, amounts = W.shift_nonnegative(X)
    assert shifted["b"].tolist() == [4.0, 3.0, 0.0, 1.0] and amounts == {"b": 2.0}
    assert shifted["a"].tolist() == X["a"].tolist()
    # Unrestricted BoD on a = (1, 3, 4, 2), b = (4, 3, 0, 1):
    # A: w = (0, 1/4) -> 1 (others 3/4, 0, 1/4).  B: w = (1/6, 1/6) -> 1.  C: w = (1/4, 0) -> 1.
    # D = (2, 1): vertices C ∩ B: w = (1/4, 1/12) -> 1/2 + 1/12 = 7/12 (A: 1/4 + 1/3 <= 1);
    #   B ∩ A: (1/9, 2/9) -> 4/9; (1/4, 0) -> 1/2. So 7/12.
    run = W.bod_adapted(X, bounds=None)
    assert run.bounds is None and run.shifted == {"b": 2.0}
    assert run.notes == ["shifted so that the lowest value is 0 (BoD needs non-negative "
                         "values): b (+2)"]
    np.testing.assert_allclose(run.result.scores, [1, 1, 1, 7 / 12], atol=1e-9)


def test_gaps_constant_columns_and_too_little_left():
    X = pd.DataFrame({"a": [1.0, 3.0, np.nan, 2.0], "b": [4.0, 3.0, 1.0, 1.0],
                      "same": [5.0, 5.0, 7.0, 5.0]}, index=list("ABCD"))
    run = W.bod_adapted(X, bounds=None)
    # C is left out (gap); over A, B, D 'same' is constant (5, 5, 5) and is left out too
    assert run.left_out == ["C"] and run.constant == ["same"]
    assert list(run.matrix.columns) == ["a", "b"] and list(run.matrix.index) == ["A", "B", "D"]
    # A = (1, 4): w = (0, 1/4) -> 1; B = (3, 3) -> 1; D = (2, 1) with A, B only:
    # vertex A ∩ B: w1 + 4 w2 = 1, w1 + w2 = 1/3 -> (1/9, 2/9) -> 4/9; w = (1/3, 0) -> 2/3. So 2/3.
    np.testing.assert_allclose(run.result.scores, [1, 1, 2 / 3], atol=1e-9)
    assert run.notes[:2] == ["1 unit(s) left out for a value not reported: C",
                             "left out as every unit has the same value: same"]
    one = W.bod_adapted(X[["a", "same"]])
    assert one.result is None and one.skipped.startswith(
        "benefit of the doubt needs at least 2 indicators that vary; this node has 1")


def test_bod_on_the_issue_cases_no_longer_fails():
    sichuan = ak.datasets.load("sichuan-39")
    # sichuan 2023, node total: two children (task, responsibility) -> bounds 25%–100%
    X = W.node_matrix("sichuan-39", sichuan, 2023, node="total")
    run = W.bod_adapted(X)
    assert run.bounds == (0.25, 1.0) and run.result is not None
    assert ((run.result.scores > 0) & (run.result.scores <= 1 + 1e-9)).all()
    # dingxi, node economy (the hard indicators): growth rates below zero are shifted by minus
    # their minimum
    dingxi = ak.datasets.load("dingxi")
    H = W.node_matrix("dingxi", dingxi, 2025, node="economy")
    assert (H.to_numpy() < 0).any()
    run = W.bod_adapted(H)
    values = dingxi.values[dingxi.values["period"].str.startswith("2025")]
    lower = set(dingxi.indicators.loc[dingxi.indicators["direction"] == "lower", "indicator"])
    assert run.shifted and lower & set(run.shifted)   # growth rates and negated counts
    for column, amount in run.shifted.items():
        reported = values.loc[values["indicator"] == column, "value"]
        # from the data: minus the lowest 2025 value; for lower-is-better (negated) the highest
        expected = reported.max() if column in lower else -reported.min()
        assert amount == pytest.approx(expected)
    assert run.shifted and run.result is not None and run.bounds == W.bod_share_bounds(H.shape[1])


def _three_units_with_a_unit_specific_child():
    units = pd.DataFrame({"unit": ["u1", "u2", "u3"], "name": ["甲", "乙", "丙"],
                          "level": "county", "group": "G"})
    indicators = pd.DataFrame({"indicator": ["a", "b", "c"], "name": ["a", "b", "c"],
                               "direction": "higher"})
    table = {"a": [10.0, 20.0, 30.0], "b": [30.0, 20.0, 40.0], "c": [50.0, np.nan, np.nan]}
    long = pd.DataFrame([{"unit": f"u{i + 1}", "period": "2025", "indicator": k, "value": v}
                         for k, vs in table.items() for i, v in enumerate(vs) if v == v])
    ds = ak.Dataset.from_frames(units, indicators, long, name="t3", provenance="test")
    spec = {"name": "t3", "defaults": {"scoring": {"method": "value"}},
            "levels": {"county": {"units": {"level": "county"}, "tree": {
                "a": {"weight": 0.5}, "b": {"weight": 0.3},
                "c": {"weight": 0.2, "applies_to": ["u1"]}}}}}
    return ds, ak.load_scheme(spec)


def test_children_for_named_units_keep_their_weight_and_the_others_share_the_rest():
    ds, scheme = _three_units_with_a_unit_specific_child()
    with pytest.raises(SchemeError, match="apply to named units only"):
        W.apply(scheme, "equal", ds, 2025)
    X = W.node_matrix(scheme, ds, 2025, unit_specific="keep")
    assert list(X.columns) == ["a", "b"] and X.attrs["unit_specific"] == ["c"]
    new = W.apply(scheme, "equal", ds, 2025, unit_specific="keep")
    # a and b hold 0.5 + 0.3 = 0.8 officially; equal weights share it: 0.4 each; c keeps 0.2
    tree = new.spec["levels"]["county"]["tree"]
    assert (tree["a"]["weight"], tree["b"]["weight"], tree["c"]["weight"]) == \
        pytest.approx((0.4, 0.4, 0.2))
    assert "keep their official weights: c" in new.log[-1]["note"]
    scores = ak.evaluate(new, ds, 2025).scores.set_index("unit")["score"]
    # u1: 0.4*10 + 0.4*30 + 0.2*50 = 26; u2 (c does not apply): 0.5*20 + 0.5*20 = 20;
    # u3: 0.5*30 + 0.5*40 = 35
    np.testing.assert_allclose(scores[["u1", "u2", "u3"]], [26, 20, 35])


def test_choose_node_picks_the_node_with_most_children_for_every_unit():
    assert W.choose_node("sichuan-39") == ("county", "task")        # 10 task indicators
    assert W.choose_node("undp-hdi") == ("country", "total")        # 3 dimensions vs 2
    assert W.choose_node("sichuan-39", "prefecture") == ("prefecture", "responsibility")
    assert W.choose_node("sichuan-39", node="total") == ("county", "total")
    with pytest.raises(SchemeError, match="has no level 'town'"):
        W.choose_node("sichuan-39", "town")
    spec = {"name": "one", "defaults": {"scoring": {"method": "value"}},
            "levels": {"county": {"units": {"level": "county"}, "tree": {"a": {"weight": 1}}}}}
    with pytest.raises(SchemeError, match="has a node with two children that apply to every"):
        W.choose_node(spec)
    with pytest.raises(SchemeError, match="has no node with two children"):
        W.choose_node(spec, "county")
    assert W.choose_node("sichuan-39", node="prov_liaison") == ("provincial_unit",
                                                                "prov_liaison")


def test_variants_skip_a_method_with_the_reason_and_note_warnings():
    units = pd.DataFrame({"unit": ["u1", "u2", "u3", "u4"], "name": list("甲乙丙丁"),
                          "level": "county", "group": "G"})
    indicators = pd.DataFrame({"indicator": ["a", "b", "flat"], "name": ["a", "b", "flat"],
                               "direction": "higher"})
    table = {"a": [1.0, 2.0, 3.0, 4.0], "b": [4.0, 1.0, 3.0, 2.0], "flat": [5.0] * 4}
    long = pd.DataFrame([{"unit": f"u{i + 1}", "period": "2025", "indicator": k, "value": v}
                         for k, vs in table.items() for i, v in enumerate(vs)])
    ds = ak.Dataset.from_frames(units, indicators, long, name="t4", provenance="test")
    spec = {"name": "t4", "defaults": {"scoring": {"method": "value"}},
            "levels": {"county": {"units": {"level": "county"}, "tree": {
                "a": {"weight": 0.4}, "b": {"weight": 0.4}, "flat": {"weight": 0.2}}}}}
    res = W.variants(spec, ["equal", "std", "pca"], ds, 2025)
    assert res.applied == ["equal", "std"] and list(res.schemes) == ["official", "equal", "std"]
    # PCA refuses a constant indicator: skipped, the reason names it
    assert res.skipped["method"].tolist() == ["pca"]
    assert "flat" in res.skipped["reason"].iloc[0]
    # std gives the constant indicator weight 0 with a warning, which becomes a note
    std_notes = res.notes.loc[res.notes["method"] == "std", "note"].tolist()
    assert any("same value for every unit" in n for n in std_notes)
    # std weights: min–max scaled a = (0, 1/3, 2/3, 1), b = (1, 0, 2/3, 1/3) have the same
    # standard deviation, flat has 0 -> (1/2, 1/2, 0)
    tree = res.schemes["std"].spec["levels"]["county"]["tree"]
    assert [tree[k]["weight"] for k in ("a", "b", "flat")] == pytest.approx([0.5, 0.5, 0.0])
    frame = res.to_frame()
    assert frame["status"].tolist() == ["applied", "applied", "skipped"]
    assert "skipped pca:" in res.summary()
