"""ak.compare: rank correlations, rank shifts and who enters or leaves the praised / summoned lists.

A hand-built case: two groups of counties scored with ``value`` (the score is the value), so
every total and rank below is worked out by hand.

Group G (five counties), indicators a and b; group H (three counties):

======  ===  ===  ==============  ======  ======
unit    a    b    official .6/.4  b only  a only
======  ===  ===  ==============  ======  ======
u1      0    100  40              100     0
u2      25   0    15              0       25
u3      50   75   60              75      50
u4      75   25   55              25      75
u5      100  50   80              50      100
v1      10   20   14              20      10
v2      30   80   50              80      30
v3      90   60   78              60      90
======  ===  ===  ==============  ======  ======

Ranks within G (1 = best): official u5 1, u3 2, u4 3, u1 4, u2 5 -> [4, 5, 2, 3, 1] for u1..u5;
b only [1, 5, 2, 4, 3]; a only [5, 4, 3, 2, 1]. Within H: official [3, 2, 1]; b only [3, 1, 2];
a only [3, 2, 1]. Overall (8 units, all totals distinct): official
u5 80, v3 78, u3 60, u4 55, v2 50, u1 40, u2 15, v1 14 -> [6, 7, 3, 4, 1, 8, 5, 2] for
u1..u5, v1..v3; b only u1 100, v2 80, u3 75, v3 60, u5 50, u4 25, v1 20, u2 0 ->
[1, 8, 3, 6, 5, 7, 2, 4]. Quotas: praised top 1 and summoned bottom 1 per group.
"""

from __future__ import annotations

import io
from itertools import combinations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

import assesskit as ak
from assesskit.analysis.compare import ALL_UNITS, Comparison, compare
from assesskit.errors import DataError

A = {"u1": 0, "u2": 25, "u3": 50, "u4": 75, "u5": 100, "v1": 10, "v2": 30, "v3": 90}
B = {"u1": 100, "u2": 0, "u3": 75, "u4": 25, "u5": 50, "v1": 20, "v2": 80, "v3": 60}
NAMES = {"u1": "甲县", "u2": "乙县", "u3": "丙县", "u4": "丁县", "u5": "戊县",
         "v1": "子县", "v2": "丑县", "v3": "寅县"}


def _dataset(periods=("2025",)):
    units = pd.DataFrame({"unit": list(A), "name": [NAMES[u] for u in A], "level": "county",
                          "group": ["G"] * 5 + ["H"] * 3})
    indicators = pd.DataFrame({"indicator": ["a", "b", "c"], "name": ["指标甲", "指标乙", "指标丙"],
                               "direction": "higher"})
    rows = [{"unit": u, "period": p, "indicator": k, "value": v}
            for p in periods for k, table in (("a", A), ("b", B), ("c", dict.fromkeys(A, 50)))
            for u, v in table.items()]
    return ak.Dataset.from_frames(units, indicators, pd.DataFrame(rows), name="hand",
                                  provenance="hand-made test data")


SPEC = {"name": "hand", "defaults": {"scoring": {"method": "value"}},
        "levels": {"county": {
            "units": {"level": "county"},
            "tree": {"a": {"label": "指标甲", "weight": 0.6}, "b": {"label": "指标乙", "weight": 0.4},
                     "c": {"label": "指标丙", "weight": 0.0}},
            "ranking": {"group_by": "group"},
            "consequences": {"praised": {"label": "通报表扬", "top": 1},
                             "summoned": {"label": "约谈", "bottom": 1}}}}}


def _without_quotas(**units):
    county = {**SPEC["levels"]["county"], "consequences": {}}
    if units:
        county["units"] = {"level": "county", **units}
    return ak.load_scheme({**SPEC, "levels": {"county": county}})


@pytest.fixture(scope="module")
def evaluations():
    ds = _dataset(("2024", "2025"))
    official = ak.load_scheme(SPEC)
    return {
        "official": ak.evaluate(official, ds, 2025),
        "b only": ak.evaluate(official.with_weights({"a": 0.0, "b": 1.0}), ds, 2025),
        "a only": ak.evaluate(official.with_weights({"a": 1.0, "b": 0.0}), ds, 2025),
        # every unit ties under "c only", so it has no quotas (a tie would fill both lists)
        "c only": ak.evaluate(_without_quotas().with_weights({"a": 0.0, "b": 0.0, "c": 1.0}),
                              ds, 2025),
        "2024": ak.evaluate(official, ds, 2024),
    }


@pytest.fixture(scope="module")
def cmp(evaluations):
    return compare({k: evaluations[k] for k in ("official", "b only", "a only")})


def _corr(cmp, group, a, b):
    c = cmp.correlations
    row = c[(c["group"] == group) & (c["scheme_a"] == a) & (c["scheme_b"] == b)]
    assert len(row) == 1
    return row.iloc[0]


def _kendall_by_counting(x, y):
    """Kendall's tau-a by counting concordant and discordant pairs (no ties in these cases)."""
    s = sum(np.sign(x[i] - x[j]) * np.sign(y[i] - y[j]) for i, j in combinations(range(len(x)), 2))
    return s / (len(x) * (len(x) - 1) / 2)


def test_the_hand_built_ranks_hold(evaluations):
    s = evaluations["official"].scores.set_index("unit")
    assert s["group_rank"].to_dict() == {"u1": 4, "u2": 5, "u3": 2, "u4": 3, "u5": 1,
                                         "v1": 3, "v2": 2, "v3": 1}


def test_rank_correlations_within_groups(cmp):
    # G, official [4,5,2,3,1] vs b only [1,5,2,4,3]: d = 3,0,0,-1,-2, Σd² = 14,
    # ρ = 1 - 6·14 / (5·24) = 0.3; pairs: 6 concordant, 4 discordant -> τ = 2/10 = 0.2
    row = _corr(cmp, "G", "official", "b only")
    assert row["n"] == 5
    assert row["spearman"] == pytest.approx(0.3)
    assert row["kendall"] == pytest.approx(0.2)
    # G, official vs a only [5,4,3,2,1]: d = -1,1,-1,1,0, Σd² = 4, ρ = 1 - 24/120 = 0.8;
    # 8 concordant, 2 discordant -> τ = 0.6
    row = _corr(cmp, "G", "official", "a only")
    assert (row["spearman"], row["kendall"]) == pytest.approx((0.8, 0.6))
    # G, b only vs a only: d = -4,1,-1,2,2, Σd² = 26, ρ = 1 - 156/120 = -0.3
    assert _corr(cmp, "G", "b only", "a only")["spearman"] == pytest.approx(-0.3)
    # H, official [3,2,1] vs b only [3,1,2]: Σd² = 2, ρ = 1 - 12/24 = 0.5; τ = (2 - 1)/3
    row = _corr(cmp, "H", "official", "b only")
    assert (row["n"], row["spearman"], row["kendall"]) == pytest.approx((3, 0.5, 1 / 3))
    # H, official vs a only: the same ranking -> 1, 1
    row = _corr(cmp, "H", "official", "a only")
    assert (row["spearman"], row["kendall"]) == pytest.approx((1.0, 1.0))


def test_rank_correlation_over_all_units(cmp):
    off = np.array([6, 7, 3, 4, 1, 8, 5, 2])
    bon = np.array([1, 8, 3, 6, 5, 7, 2, 4])
    # d = 5,-1,0,-2,-4,1,3,-2, Σd² = 60 -> ρ = 1 - 360/504 = 2/7
    row = _corr(cmp, ALL_UNITS, "official", "b only")
    assert row["n"] == 8
    assert row["spearman"] == pytest.approx(2 / 7)
    assert row["kendall"] == pytest.approx(_kendall_by_counting(off, bon))
    # three schemes -> three pairs, each over the level and the two groups
    assert len(cmp.correlations) == 3 * 3
    assert list(dict.fromkeys(cmp.correlations["group"])) == [ALL_UNITS, "G", "H"]


def test_rank_shifts(cmp):
    sh = cmp.rank_shifts
    assert list(dict.fromkeys(sh["scheme"])) == ["b only", "a only"]
    b = sh[sh["scheme"] == "b only"].set_index("unit")
    # places gained = baseline group rank - new group rank
    assert b["group_rank_shift"].to_dict() == {"u1": 3, "u2": 0, "u3": 0, "u4": -1, "u5": -2,
                                               "v1": 0, "v2": 1, "v3": -1}
    # over the level: official [6,7,3,4,1,8,5,2] - b only [1,8,3,6,5,7,2,4]
    assert b["rank_shift"].tolist() == [5, -1, 0, -2, -4, 1, 3, -2]
    assert b["group_rank"].dtype == np.int64  # whole ranks stay whole numbers
    assert b.loc["u1", "baseline_score"] == pytest.approx(40)
    assert b.loc["u1", "score"] == pytest.approx(100)
    assert b.loc["u5", "baseline_outcome"] == "praised" and b.loc["u5", "outcome"] == ""


def test_who_enters_and_leaves_the_lists(cmp):
    rows = {(r.scheme, r.consequence, r.change, r.unit) for r in cmp.outcome_changes.itertuples()}
    # b only: G praised u5 -> u1, H praised v3 -> v2; the summoned (u2, v1) stay
    # a only: G summoned u2 -> u1 (u1 scores 0 on a); praised unchanged (u5, v3)
    assert rows == {("b only", "praised", "leaves", "u5"), ("b only", "praised", "enters", "u1"),
                    ("b only", "praised", "leaves", "v3"), ("b only", "praised", "enters", "v2"),
                    ("a only", "summoned", "leaves", "u2"), ("a only", "summoned", "enters", "u1")}
    ch = cmp.outcome_changes
    assert ch.iloc[0][["scheme", "change", "unit", "name", "label"]].tolist() == \
        ["b only", "leaves", "u5", "戊县", "通报表扬"]
    assert cmp.outcomes["unit"].tolist() == ["u5", "u1", "u2", "v3", "v2", "v1"]  # G, then H
    wide = cmp.outcomes.set_index("unit")
    assert wide.loc["u1", ["official", "b only", "a only"]].tolist() == ["", "通报表扬", "约谈"]
    assert "u4" not in wide.index  # never on a list


def test_no_change_gives_empty_tables(evaluations):
    same = compare({"x": evaluations["official"], "y": evaluations["official"]})
    assert same.outcome_changes.empty
    assert list(same.outcome_changes.columns)[:5] == ["level", "scheme", "consequence", "label",
                                                      "change"]
    assert (same.rank_shifts["group_rank_shift"] == 0).all()
    assert np.allclose(same.correlations[["spearman", "kendall"]], 1.0)


def test_a_constant_ranking_has_no_correlation(evaluations):
    # c is 50 for everyone: under "c only" every unit ties, so ρ and τ are undefined (NaN),
    # without a warning from scipy
    c = compare({"official": evaluations["official"], "c only": evaluations["c only"]})
    assert c.correlations[["spearman", "kendall"]].isna().all().all()


def test_weights_and_summary(cmp):
    wm = cmp.weight_matrix()
    # official 0.6 / 0.4 / 0; "b only" 0 / 1 / 0; "a only" 1 / 0 / 0
    assert list(wm.columns) == ["official", "b only", "a only"]
    np.testing.assert_allclose(wm.loc[["a", "b", "c"]].to_numpy(),
                               [[0.6, 0, 1], [0.4, 1, 0], [0, 0, 0]])
    assert wm.attrs["labels"]["a"] == "指标甲"
    text = cmp.summary()
    assert "b only: Spearman 0.286" in text  # 2/7 over the level
    assert "leaves 通报表扬: 戊县、寅县" in text and "enters 约谈: 甲县" in text
    assert isinstance(cmp, Comparison) and "outcome_changes=6" in repr(cmp)


def test_baseline_can_be_chosen(evaluations):
    c = compare({"official": evaluations["official"], "b only": evaluations["b only"]},
                baseline="b only")
    assert c.schemes == ["b only", "official"]
    sh = c.rank_shifts.set_index("unit")
    assert sh.loc["u1", "group_rank_shift"] == -3  # 1 under b only, 4 under official


def test_incomparable_evaluations_are_refused(evaluations):
    with pytest.raises(DataError, match="period '2024'"):
        compare({"official": evaluations["official"], "2024": evaluations["2024"]})
    with pytest.raises(DataError, match="at least two"):
        compare({"official": evaluations["official"]})
    with pytest.raises(TypeError, match="'x' is a str"):
        compare({"official": evaluations["official"], "x": "entropy"})
    with pytest.raises(DataError, match="baseline 'nope'"):
        compare({"a": evaluations["official"], "b": evaluations["b only"]}, baseline="nope")
    with pytest.raises(DataError, match=r"level\(s\) \['town'\]"):
        compare({"a": evaluations["official"], "b": evaluations["b only"]}, level="town")
    only_g = ak.evaluate(_without_quotas(where={"group": "G"}), _dataset(("2024", "2025")), 2025)
    with pytest.raises(DataError, match=r"missing: \['v1', 'v2', 'v3'\]"):
        compare({"official": evaluations["official"], "G only": only_g})


# ------------------------------------------------------------------------------------ plots
def _texts(fig):
    return [t.get_text() for ax in fig.axes for t in ax.texts]


def test_rank_shift_chart(cmp, mpl_rc):
    from assesskit.report.plotting import plot_rank_shift, use_cjk_font

    use_cjk_font()
    fig = plot_rank_shift(cmp, group="G")
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    ax = fig.axes[0]
    assert ax.get_title().startswith("G")
    assert "rank within group" in ax.get_ylabel() and "scheme" in ax.get_xlabel()
    assert ax.yaxis_inverted()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["official", "b only", "a only"]
    texts = _texts(fig)
    # names at both ends: left in official order, right in "a only" order
    assert {"甲县", "乙县", "丙县", "丁县", "戊县"} <= set(texts)
    # one line per unit, through its group ranks under the three schemes
    lines = {tuple(line.get_ydata()) for line in ax.get_lines()}
    assert (4.0, 1.0, 5.0) in lines and (1.0, 3.0, 1.0) in lines  # u1 and u5
    fig.savefig(io.BytesIO(), format="png", dpi=40)  # renders the Chinese names (no warning)
    both = plot_rank_shift(cmp)
    assert len(both.axes) == 2
    with pytest.raises(DataError, match="no group 'Z'"):
        plot_rank_shift(cmp, group="Z")


def test_weights_heatmap(cmp, mpl_rc):
    from assesskit.report.plotting import plot_weights_heatmap, use_cjk_font

    use_cjk_font()
    fig = plot_weights_heatmap(cmp.weight_matrix())
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["指标甲 (a)", "指标乙 (b)", "指标丙 (c)"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["official", "b only", "a only"]
    # cell text in per cent, row by row: a 60/0/100, b 40/100/0, c 0/0/0
    assert _texts(fig) == ["60.0", "0.0", "100.0", "40.0", "100.0", "0.0", "0.0", "0.0", "0.0"]
    assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
    assert "%" in fig.axes[1].get_ylabel()  # colour bar
    fig.savefig(io.BytesIO(), format="png", dpi=40)
    tidy = plot_weights_heatmap(cmp.weights)  # the tidy table works too
    assert _texts(tidy) == _texts(fig)
    with pytest.raises(DataError, match="non-negative"):
        plot_weights_heatmap(pd.DataFrame({"m": [-0.1, 1.1]}, index=["x", "y"]))


def test_stacked_consequences_change_one_at_a_time():
    # Three units; the top 1 is praised, a score below 60 is reminded. Baseline (x): a 90
    # praised, b 55 reminded, c 50 reminded. Variant (y): b 95 praised, a 40 reminded, c 50
    # reminded. So a leaves 通报表扬 and enters 提醒谈话; b leaves 提醒谈话 and enters 通报表扬;
    # c keeps its reminder (no change).
    from test_engine import make_dataset, units_in

    import assesskit as ak

    values = {"2024": {"a": {"x": 90, "y": 40}, "b": {"x": 55, "y": 95}, "c": {"x": 50, "y": 50}}}
    ds = make_dataset(values, units_in("g", "abc"))

    def scheme(code):
        return ak.load_scheme({"name": code, "levels": {"county": {
            "tree": {code: {"weight": 1, "scoring": {"method": "value"}}},
            "grades": {"by": "score", "bands": [[60, "合格"], [0, "较差"]]},
            "consequences": {"praised": {"label": "通报表扬", "top": 1},
                             "reminded": {"label": "提醒谈话", "grades": ["较差"]}}}}})

    cmp = compare({"x": ak.evaluate(scheme("x"), ds, 2024), "y": ak.evaluate(scheme("y"), ds, 2024)})
    got = {(r.unit, r.consequence, r.change) for r in cmp.outcome_changes.itertuples()}
    assert got == {("a", "praised", "leaves"), ("a", "reminded", "enters"),
                   ("b", "reminded", "leaves"), ("b", "praised", "enters")}
    assert set(cmp.outcome_changes["label"]) == {"通报表扬", "提醒谈话"}
