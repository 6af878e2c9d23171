"""Weights in a scheme: official, node_matrix, apply, effective and the correlation ratio.

Expected values are worked out by hand in the comments (or, for data-driven weights, by the pure
weighting method applied to a matrix built here directly from the dataset, not from the engine).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import assesskit as ak
from assesskit import weights as W
from assesskit.errors import DataError, SchemeError

TASK = ["gdp_per_capita", "fiscal_self_sufficiency", "urban_income", "rural_income",
        "lifted_income_growth", "urbanization_rate", "sewage_garbage_rate",
        "sanitary_toilet_rate", "new_enterprise_share", "water_source_quality"]
RESP = ["resp_primary", "resp_partner", "resp_taskforce"]


@pytest.fixture(scope="module")
def sichuan():
    return ak.datasets.load("sichuan-39")


@pytest.fixture(scope="module")
def scheme():
    return ak.load_scheme("sichuan-39")


def tiny(values: dict[str, list[float]], weights: dict[str, float], directions=None):
    """Eight counties in one group scored with `value` (score = value), one leaf per indicator."""
    n = len(next(iter(values.values())))
    units = pd.DataFrame({"unit": [f"u{i}" for i in range(1, n + 1)],
                          "name": [f"县{i}" for i in range(1, n + 1)],
                          "level": "county", "group": "G"})
    directions = directions or {}
    indicators = pd.DataFrame({"indicator": list(values), "name": list(values),
                               "direction": [directions.get(k, "higher") for k in values]})
    long = pd.DataFrame([{"unit": f"u{i + 1}", "period": "2025", "indicator": k, "value": v}
                         for k, vs in values.items() for i, v in enumerate(vs)])
    ds = ak.Dataset.from_frames(units, indicators, long, name="tiny", provenance="test")
    spec = {"name": "tiny", "defaults": {"scoring": {"method": "value"}},
            "levels": {"county": {"units": {"level": "county"},
                                  "tree": {k: {"weight": w} for k, w in weights.items()},
                                  "ranking": {"group_by": "group"}}}}
    return ds, ak.load_scheme(spec)


# ------------------------------------------------------------------------------------ official
def test_official_global_leaf_weights_of_sichuan(scheme):
    w = W.official(scheme)
    # task 0.9 split equally over 10 indicators; responsibility 0.1 over 3
    assert list(w.index) == TASK + RESP
    np.testing.assert_allclose(w[TASK], 0.9 / 10)
    np.testing.assert_allclose(w[RESP], 0.1 / 3)
    assert w.sum() == pytest.approx(1.0)
    assert w.attrs["method"] == "official" and w.attrs["scheme"] == "sichuan-39"


def test_official_children_of_a_node(scheme):
    np.testing.assert_allclose(W.official(scheme, node="total"), [0.9, 0.1])
    task = W.official(scheme, node="task")  # relative weights 1 each -> 1/10
    assert list(task.index) == TASK
    np.testing.assert_allclose(task, 0.1)
    # a level other than the first: provincial units, 0.5 / 0.5 under task
    prov = W.official(scheme, level="provincial_unit", node="task")
    np.testing.assert_allclose(prov, [0.5, 0.5])


def test_official_leaves_out_unit_specific_nodes_and_says_so():
    w = W.official("jincheng-1plus4", level="county")
    # eight common indicators at 0.125 each; four county-specific ones (applies_to) left out
    assert len(w) == 8
    np.testing.assert_allclose(w, 0.125)
    assert w.attrs["unit_specific"] == ["jc_air_monitoring", "jc_gas_supply",
                                        "jc_black_odorous_water", "jc_forest_city"]
    assert w.attrs["overrides"] == ["140502", "140521", "140524", "140525", "140581"]


def test_official_errors(scheme):
    with pytest.raises(SchemeError, match="has a node 'nope'; nodes of level 'county'"):
        W.official(scheme, node="nope")
    with pytest.raises(SchemeError, match="no level 'town'"):
        W.official(scheme, level="town")
    with pytest.raises(SchemeError, match="no children"):
        W.official(scheme, node="gdp_per_capita")


# ------------------------------------------------------------------------------------ node_matrix
def test_node_matrix_holds_the_raw_values_of_the_children(scheme, sichuan):
    X = W.node_matrix(scheme, sichuan, 2024, node="task")
    direct = sichuan.wide("2024", units=sichuan.level_units("county")["unit"], indicators=TASK)
    assert list(X.columns) == TASK
    np.testing.assert_array_equal(X.to_numpy(), direct.to_numpy())
    assert list(X.index) == list(direct.index)
    assert X.attrs["node"] == "task" and X.attrs["period"] == "2024"


def test_node_matrix_negates_lower_is_better(county_dataset):
    # two of the three groups hold 2 counties: below the default smallest comparison group (3),
    # so the scheme says explicitly that 2 are enough here
    spec = {"name": "t", "defaults": {"scoring": {"method": "minmax", "min_group": 2}},
            "levels": {"county": {
                "units": {"level": "county"},
                "tree": {"gdp_pc": {"weight": 0.5}, "sewage_gap": {"weight": 0.5}},
                "ranking": {"group_by": "group"}}}}
    X = W.node_matrix(spec, county_dataset, 2025)
    np.testing.assert_array_equal(X["sewage_gap"], -np.array([5, 9, 7, 3, 2, 4, 6.0]))
    np.testing.assert_array_equal(X["gdp_pc"], [30, 20, 25, 35, 40, 45, 50.0])
    assert "negated" in X.attrs["sources"]["sewage_gap"]
    scores = W.node_matrix(spec, county_dataset, 2025, values="score")
    # score = min–max within the group onto [0, 100]; sewage gap of 秦巴山区: 2, 4, 6 -> 100, 50, 0
    np.testing.assert_allclose(scores["sewage_gap"].iloc[4:], [100, 50, 0])


def test_node_matrix_refuses_unit_specific_children(county_dataset):
    with pytest.raises(SchemeError, match="apply to named units only"):
        W.node_matrix("jincheng-1plus4", county_dataset, 2025, level="county")


# ------------------------------------------------------------------------------------ apply
def test_apply_equal_at_task_reproduces_the_official_scheme(scheme, sichuan):
    equal = W.apply(scheme, "equal", sichuan, 2024, node="task")
    # each task indicator gets 1/10 (the official relative weights are 1 each, i.e. 1/10)
    np.testing.assert_allclose([equal.weights()[c] for c in TASK], 0.1)
    a = ak.evaluate(scheme, sichuan, 2024).scores
    b = ak.evaluate(equal, sichuan, 2024).scores
    np.testing.assert_allclose(b["score"], a["score"], rtol=0, atol=1e-9)
    assert b["outcome"].tolist() == a["outcome"].tolist()


def test_apply_entropy_changes_only_that_node_and_logs_it(scheme, sichuan):
    new = W.apply(scheme, "entropy", sichuan, 2024, node="task")
    # independent: the entropy method on the raw task values read straight from the dataset
    direct = sichuan.wide("2024", units=sichuan.level_units("county")["unit"], indicators=TASK)
    expected = W.entropy(direct)
    got = pd.Series({c: new.weights()[c] for c in TASK})
    np.testing.assert_allclose(got[TASK], expected[TASK], rtol=1e-12)
    assert got.sum() == pytest.approx(1.0)
    before, after = scheme.weights(), new.weights()
    untouched = [k for k in before if k not in TASK]
    assert untouched and all(after[k] == before[k] for k in untouched)
    for level in ("prefecture", "provincial_unit"):
        assert new.weights(level) == scheme.weights(level)
    entry = new.log[-1]
    assert len(new.log) == len(scheme.log) + 1
    assert entry["change"] == "with_weights" and entry["method"] == "entropy"
    assert entry["note"].startswith("entropy weights at node 'task' of level 'county'")
    assert entry["units"] == 39 and entry["units_left_out"] == []
    assert [c["node"] for c in entry["weights"]] == TASK
    assert all(c["old"] == 1 for c in entry["weights"])


def test_apply_missing_values_error_or_complete_units(scheme, sichuan):
    # 2025: 南江县 (511922) has no value for new_enterprise_share
    with pytest.raises(DataError, match=r"511922 \(南江县\) has no value for 'new_enterprise_share'"):
        W.apply(scheme, "std", sichuan, 2025, node="task")
    new = W.apply(scheme, "std", sichuan, 2025, node="task", missing="complete_units")
    entry = new.log[-1]
    assert entry["units"] == 38 and entry["units_left_out"] == ["511922"]
    assert "units left out for missing values: 511922" in entry["note"]
    direct = sichuan.wide("2025", units=sichuan.level_units("county")["unit"], indicators=TASK)
    expected = W.std(direct.drop(index="511922"))
    np.testing.assert_allclose([new.weights()[c] for c in TASK], expected[TASK], rtol=1e-12)


def test_apply_at_the_root_with_a_callable_and_with_ahp(scheme, sichuan):
    def task_heavy(X):
        return pd.Series({"task": 3.0, "responsibility": 1.0})  # normalised to 0.75 / 0.25

    new = W.apply(scheme, task_heavy, sichuan, 2024)
    np.testing.assert_allclose(W.official(new, node="total"), [0.75, 0.25])
    assert new.log[-1]["method"] == "task_heavy"
    # AHP: task judged 9 times as important as responsibility -> 0.9 / 0.1, the official split
    pairwise = W.ahp_matrix(["task", "responsibility"], {("task", "responsibility"): 9})
    ahp = W.apply(scheme, "ahp", sichuan, 2024, node="total", pairwise=pairwise)
    np.testing.assert_allclose(W.official(ahp, node="total"), [0.9, 0.1])


def test_apply_refuses_bad_methods(scheme, sichuan):
    with pytest.raises(SchemeError, match="own weights"):
        W.apply(scheme, "bod", sichuan, 2024, node="task")
    with pytest.raises(SchemeError, match="unknown weighting method 'topsis'"):
        W.apply(scheme, "topsis", sichuan, 2024, node="task")
    with pytest.raises(SchemeError, match="needs pairwise="):
        W.apply(scheme, "ahp", sichuan, 2024, node="task")
    with pytest.raises(ValueError, match="returned weights for"):
        W.apply(scheme, lambda X: pd.Series({"gdp_per_capita": 1.0}), sichuan, 2024, node="task")
    with pytest.raises(SchemeError, match="missing must be one of"):
        W.apply(scheme, "std", sichuan, 2024, node="task", missing="drop")


# ------------------------------------------------------------------------------------ effective
def test_effective_when_the_total_is_one_leaf():
    a = [10, 20, 30, 40, 50, 60, 70, 80]
    b = [0, 100, 100, 0, 0, 100, 100, 0]  # mean of a is 45 where b = 0 and where b = 100
    ds, scheme = tiny({"a": a, "b": b}, {"a": 1.0, "b": 0.0})
    eff = W.effective(ak.evaluate(scheme, ds, 2025)).set_index("node")
    # y = a exactly: r² = η² = 1 for a; b is uncorrelated with a and E(y | b) is constant (45),
    # so r² = 0 and the correlation ratio (two groups -> group means) is exactly 0
    assert eff.loc["a", "r2"] == pytest.approx(1.0, abs=1e-12)
    assert eff.loc["a", "eta2"] == pytest.approx(1.0, abs=1e-9)
    assert eff.loc["b", "r2"] == pytest.approx(0.0, abs=1e-12)
    assert eff.loc["b", "eta2"] == pytest.approx(0.0, abs=1e-12)
    assert eff.loc["b", "eta2_method"] == "group means"
    assert eff.loc["a", "eta2_method"] == "linear r² (n < 20)"  # 8 units: too few to smooth
    assert list(eff["nominal_weight"]) == [1.0, 0.0]
    assert eff.loc["a", "eta2_share"] == pytest.approx(1.0)


def test_effective_linear_case_with_known_r2():
    a = np.arange(1, 9) * 10.0
    b = np.array([2, 3, 7, 6, 8, 5, 1, 4]) * 10.0  # a permutation of a with cov(a, b) = 0
    ds, scheme = tiny({"a": a.tolist(), "b": b.tolist()}, {"a": 0.8, "b": 0.2})
    eff = W.effective(ak.evaluate(scheme, ds, 2025)).set_index("node")
    # y = 0.8 a + 0.2 b with var(a) = var(b) = v and cov 0: var(y) = 0.68 v,
    # cov(a, y) = 0.8 v -> r²(a) = 0.64 / 0.68 = 16/17; r²(b) = 0.04 / 0.68 = 1/17
    assert eff.loc["a", "r2"] == pytest.approx(16 / 17, rel=1e-12)
    assert eff.loc["b", "r2"] == pytest.approx(1 / 17, rel=1e-12)
    # shares: nominal 0.8 / 0.2 but r² shares 16/17 / 1/17 — the larger weight dominates more
    assert eff.loc["a", "r2_share"] == pytest.approx(16 / 17)
    assert eff.loc["a", "nominal_share"] == pytest.approx(0.8)
    # 8 units are too few for a smoother: η² falls back to the linear estimate r²
    assert eff.loc["a", "eta2"] == eff.loc["a", "r2"]
    assert eff.loc["a", "ratio"] == pytest.approx(eff.loc["a", "eta2_share"] / 0.8)


def test_effective_of_sichuan_children_of_total(scheme, sichuan):
    eff = W.effective(ak.evaluate(scheme, sichuan, 2024), node="total")
    assert list(eff["node"]) == ["task", "responsibility"]
    np.testing.assert_allclose(eff["nominal_weight"], [0.9, 0.1])
    assert (eff["n"] == 39).all()
    assert ((eff["eta2"] >= 0) & (eff["eta2"] <= 1)).all()
    with pytest.raises(TypeError, match="Evaluation"):
        W.effective(scheme)


# ------------------------------------------------------------------------------------ η² estimator
def test_correlation_ratio_of_a_discrete_x_by_hand():
    # groups x=0: y 1, 3 (mean 2); x=1: y 5, 7 (mean 6); grand mean 4
    # between = (2·4 + 2·4)/4 = 4; total = (9 + 1 + 1 + 9)/4 = 5 -> η² = 0.8
    eta2, how = W.correlation_ratio([0, 0, 1, 1], [1, 3, 5, 7])
    assert eta2 == pytest.approx(0.8) and how == "group means"
    assert np.isnan(W.correlation_ratio([1, 2, 3], [5, 5, 5])[0])
    assert W.correlation_ratio([2, 2, 2, 2], [1, 2, 3, 4]) == (0.0, "constant x")


def test_correlation_ratio_needs_enough_units_to_smooth():
    # six points on a parabola: a smoother would pass through them (η² = 1); with fewer than
    # min_smooth pairs the linear r² is returned instead: x = -2.5..2.5 symmetric -> r² = 0
    x = np.arange(6) - 2.5
    eta2, how = W.correlation_ratio(x, x**2)
    assert how == "linear r² (n < 20)" and eta2 == pytest.approx(0.0, abs=1e-12)
    # with 40 points on the same kind of curve the spline finds it: y is a function of x
    x = np.linspace(-1, 1, 40)
    eta2, how = W.correlation_ratio(x, x**2)
    assert how == "P-spline (GCV)" and eta2 == pytest.approx(1.0, abs=1e-6)


def test_correlation_ratio_catches_a_non_linear_effect():
    rng = np.random.default_rng(20240423)
    x = rng.uniform(-1, 1, 2000)
    z = rng.uniform(-1, 1, 2000)
    # y = x² + c z with var(x²) = 4/45 and c chosen so var(c z) = 4/45: S_x = 0.5 analytically,
    # while the linear r² is 0 (x² is symmetric in x)
    y = x**2 + np.sqrt(4 / 45 * 3) * z
    eta2, how = W.correlation_ratio(x, y)
    assert how == "P-spline (GCV)"
    assert eta2 == pytest.approx(0.5, abs=0.04)
    assert np.corrcoef(x, y)[0, 1] ** 2 < 0.01
    # linear: y = x + z, var equal -> S_x = r² = 0.5; the spline reduces to the line
    y = x + z
    eta2, _ = W.correlation_ratio(x, y)
    assert eta2 == pytest.approx(np.corrcoef(x, y)[0, 1] ** 2, abs=0.01)
    assert eta2 == pytest.approx(0.5, abs=0.04)


def test_apply_to_a_quarterly_scheme_assessed_for_a_year():
    # Dingxi is quarterly: the annual weights see one row per county and quarter (7 × 4)
    ds = ak.datasets.load("dingxi")
    X = W.node_matrix("dingxi", ds, 2025, node="economy")
    assert X.shape[0] == 7 * 4 and X.index.names == ["unit", "period"]
    assert sorted(set(X.index.get_level_values("period"))) == ["2025Q1", "2025Q2", "2025Q3",
                                                                "2025Q4"]
    new = W.apply("dingxi", "std", ds, 2025, node="economy")
    assert new.log[-1]["units"] == 7
    assert "7 units × 4 sub-periods" in new.log[-1]["note"]
    np.testing.assert_allclose([new.weights()[c] for c in X.columns], W.std(X)[X.columns])
