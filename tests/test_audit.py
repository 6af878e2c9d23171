"""Statistical audit of a scheme: numbers worked by hand, by pingouin and from a published example.

* Cronbach's alpha: pingouin's ``cronbach_alpha`` (an independent implementation) on a Sichuan
  dimension, and the published value for R's ``mtcars`` columns cyl, gear, carb, hp — 0.09463206
  in the documentation and tests of the R package ``performance`` (easystats), data from
  Henderson & Velleman (1981), *Biometrics* 37, 391–411 (R ``datasets::mtcars``).
* A six-county toy scheme whose correlations, alpha, first-component share, flags, reduced set
  and rank agreement are worked by hand in the comments.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import assesskit as ak
from assesskit.analysis.audit import audit, critical_r, cronbach_alpha, first_component_share
from assesskit.analysis.compare import ALL_UNITS

# mtcars (R datasets), rows in the published order Mazda RX4 ... Volvo 142E
MTCARS = pd.DataFrame({
    "cyl": [6, 6, 4, 6, 8, 6, 8, 4, 4, 6, 6, 8, 8, 8, 8, 8, 8, 4, 4, 4, 4, 8, 8, 8, 8, 4, 4, 4,
            8, 6, 8, 4],
    "gear": [4, 4, 4, 3, 3, 3, 3, 4, 4, 4, 4, 3, 3, 3, 3, 3, 3, 4, 4, 4, 3, 3, 3, 3, 3, 4, 5, 5,
             5, 5, 5, 4],
    "carb": [4, 4, 1, 1, 2, 1, 4, 2, 2, 4, 4, 3, 3, 3, 4, 4, 4, 1, 2, 1, 1, 2, 2, 4, 2, 1, 2, 2,
             4, 6, 8, 2],
    "hp": [110, 110, 93, 110, 175, 105, 245, 62, 95, 123, 123, 180, 180, 180, 205, 215, 230, 66,
           52, 65, 97, 150, 150, 245, 175, 66, 91, 113, 264, 175, 335, 109],
})


def test_cronbach_alpha_published_mtcars_example():
    # column sums as printed in every mtcars summary: cyl 198, gear 118, carb 90, hp 4694
    assert MTCARS.sum().tolist() == [198, 118, 90, 4694]
    assert cronbach_alpha(MTCARS) == pytest.approx(0.09463206, abs=5e-9)


def test_cronbach_alpha_by_hand():
    # a = 1, 2, 3 and b = 3, 1, 2: variances 1 and 1, sums 4, 3, 5 with variance 1
    # -> 2 / 1 * (1 - 2 / 1) = -2 (items pulling in opposite directions)
    assert cronbach_alpha(pd.DataFrame({"a": [1, 2, 3], "b": [3, 1, 2]})) == pytest.approx(-2)
    assert np.isnan(cronbach_alpha(pd.DataFrame({"a": [1, 2, 3]})))


def test_cronbach_alpha_agrees_with_pingouin():
    import pingouin

    ds = ak.datasets.load("sichuan-39")
    ev = ak.evaluate("sichuan-39", ds, 2024, levels=["county"])
    c = ev.contributions
    task = c[c["parent_node"] == "task"].pivot(index="unit", columns="node", values="score")
    expected, _ = pingouin.cronbach_alpha(data=task, nan_policy="listwise")
    assert cronbach_alpha(task) == pytest.approx(expected, abs=1e-12)
    # and through the audit, for every dimension
    res = audit("sichuan-39", ds, 2024)
    dims = res.dimensions.set_index("dimension")
    assert dims.loc["task", "alpha"] == pytest.approx(expected, abs=1e-12)
    resp = c[c["parent_node"] == "responsibility"].pivot(index="unit", columns="node",
                                                        values="score")
    assert dims.loc["responsibility", "alpha"] == pytest.approx(
        pingouin.cronbach_alpha(data=resp, nan_policy="listwise")[0], abs=1e-12)


def test_first_component_share_by_hand():
    # two items with r = 0.8 (a = 1..4, b = 1, 3, 2, 4): eigenvalues 1.8 and 0.2 -> 0.9
    share, kaiser = first_component_share(pd.DataFrame({"a": [1, 2, 3, 4], "b": [1, 3, 2, 4]}))
    assert share == pytest.approx(0.9)
    assert kaiser == 1


# ------------------------------------------------------------------------------ a toy scheme
def _toy():
    """Six counties, one group; indicators scored as given (method value).

    ====  ==  ==  ==  ==
    unit  a   a2  b   c
    ====  ==  ==  ==  ==
    u1    10  10  60  50
    u2    20  20  10  50
    u3    30  30  50  50
    u4    40  40  20  50
    u5    50  50  30  50
    u6    60  60  40  50
    ====  ==  ==  ==  ==

    Tree: dim (0.75; a, a2, b equal) and c (0.25). Total = 0.25 (2a + b) + 12.5.
    """
    units = pd.DataFrame({"unit": [f"u{i}" for i in range(1, 7)],
                          "name": ["一", "二", "三", "四", "五", "六"], "level": "county",
                          "group": "g"})
    a = [10, 20, 30, 40, 50, 60]
    b = [60, 10, 50, 20, 30, 40]
    rows = [(u, "2025", code, v) for code, col in (("a", a), ("a2", a), ("b", b), ("c", [50] * 6))
            for u, v in zip(units["unit"], col, strict=True)]
    values = pd.DataFrame(rows, columns=["unit", "period", "indicator", "value"])
    ds = ak.Dataset.from_frames(units, pd.DataFrame({"indicator": ["a", "a2", "b", "c"]}), values,
                                name="toy")
    scheme = ak.load_scheme({
        "name": "toy", "defaults": {"scoring": {"method": "value"}},
        "levels": {"county": {
            "tree": {"dim": {"label": "维度", "weight": 0.75, "normalise_weights": True,
                             "children": {"a": {"weight": 1}, "a2": {"weight": 1},
                                          "b": {"weight": 1}}},
                     "c": {"weight": 0.25}},
            "ranking": {"group_by": "group"},
            "consequences": {"praised": {"label": "通报表扬", "top": 1},
                             "summoned": {"label": "约谈", "bottom": 1}}}}})
    return scheme, ds


def test_toy_audit_worked_by_hand():
    scheme, ds = _toy()
    res = audit(scheme, ds, 2025)
    ind = res.indicators.set_index("node")
    # deviations: a -25 -15 -5 5 15 25, b 25 -25 15 -15 -5 5; sum of products -350,
    # sums of squares 1750 each -> r(a, b) = -0.2
    assert res.correlations.loc["a", "b"] == pytest.approx(-0.2)
    assert res.correlations.loc["a", "a2"] == pytest.approx(1.0)
    # total ∝ 2a + b: var(a) = var(b) = 350, cov(a, b) = -70, var(2a + b) = 1470
    # r(a, total) = (700 - 70) / sqrt(350 * 1470); r(b, total) = (350 - 140) / sqrt(...)
    assert ind.loc["a", "r_total"] == pytest.approx(630 / np.sqrt(350 * 1470))
    assert ind.loc["b", "r_total"] == pytest.approx(210 / np.sqrt(350 * 1470))  # 0.293 < 0.3
    assert bool(ind.loc["c", "constant"]) and np.isnan(ind.loc["c", "r_total"])
    dims = res.dimensions.set_index("dimension")
    # alpha of (a, a2, b): 3/2 (1 - 3 * 350 / 1470) = 3/7
    assert dims.loc["dim", "alpha"] == pytest.approx(3 / 7)
    # correlation matrix [[1, 1, r], [1, 1, r], [r, r, 1]]: largest eigenvalue
    # (3 + sqrt(1 + 8 r^2)) / 2, so the first component carries (3 + sqrt(1.32)) / 6
    assert dims.loc["dim", "pc1_share"] == pytest.approx((3 + np.sqrt(1.32)) / 6)
    assert res.redundant[["node_a", "node_b"]].values.tolist() == [["a", "a2"]]
    # reduced set: c constant; a2 redundant with a (equal r with the total: the first kept);
    # b barely moves the total (r 0.29 < 0.3). dim keeps a, the root keeps dim.
    assert res.dropped["node"].tolist() == ["a2", "b", "c"]
    assert "redundant with a" in ind.loc["a2", "reason"]
    # the reduced total is a alone: ranks u6..u1 = 1..6; official 2a + b = 80, 50, 110, 100,
    # 130, 160 -> ranks 5, 6, 3, 4, 2, 1. d = 1, 1, 1, 1, 0, 0 -> rho = 1 - 6*4/(6*35)
    ag = res.agreement.set_index(["measure", "group"])["value"]
    assert ag[("Spearman rank correlation", ALL_UNITS)] == pytest.approx(1 - 24 / 210)
    assert ag[("share of the 通报表扬 list kept", ALL_UNITS)] == 1.0  # u6 both times
    assert ag[("share of the 约谈 list kept", ALL_UNITS)] == 0.0      # u2 -> u1
    changes = res.outcome_changes[["change", "label", "unit"]].values.tolist()
    assert changes == [["leaves", "约谈", "u2"], ["enters", "约谈", "u1"]]
    # the reduced scheme says what was removed, and why
    entry = res.reduced_scheme.log[-1]
    assert entry["change"] == "without_nodes"
    assert [r["node"] for r in entry["removed"]] == ["a2", "b", "c"]
    assert "constant" in entry["note"]


def test_nothing_to_drop_is_said():
    scheme, ds = _toy()
    res = audit(scheme, ds, 2025, redundant_above=1.01, weak_below=-1, low_ratio=0)
    assert res.dropped["node"].tolist() == ["c"]  # only the constant one
    res = audit(scheme.without_nodes(["c"]), ds, 2025, redundant_above=1.01, weak_below=-1,
                low_ratio=0)
    assert res.reduced_scheme is None and res.dropped.empty
    assert "Suggested reduced set: none" in res.summary()
    assert res.notices[-1].kind == "nothing_to_drop"


def _dataset(columns: dict, name: str):
    """Units u1..un of one group, indicators scored as given (method value)."""
    n = len(next(iter(columns.values())))
    units = pd.DataFrame({"unit": [f"u{i}" for i in range(1, n + 1)],
                          "name": [f"县{i}" for i in range(1, n + 1)], "level": "county",
                          "group": "g"})
    rows = [(u, "2025", code, v) for code, col in columns.items()
            for u, v in zip(units["unit"], col, strict=True)]
    values = pd.DataFrame(rows, columns=["unit", "period", "indicator", "value"])
    return ak.Dataset.from_frames(units, pd.DataFrame({"indicator": list(columns)}), values,
                                  name=name)


def _scheme(tree: dict, name: str):
    return ak.load_scheme({
        "name": name, "defaults": {"scoring": {"method": "value"}},
        "levels": {"county": {"tree": tree, "ranking": {"group_by": "group"},
                              "consequences": {"praised": {"label": "通报表扬", "top": 1}}}}})


def test_critical_r_against_the_published_table():
    # Fisher (1925) table V.A, two-sided 5%, by degrees of freedom n - 2:
    # df 1 .9969, 2 .9500, 3 .8783, 5 .7545, 10 .5760, 30 .3494
    for n, r in ((3, 0.9969), (4, 0.9500), (5, 0.8783), (7, 0.7545), (12, 0.5760),
                 (32, 0.3494)):
        assert critical_r(n) == pytest.approx(r, abs=5e-5)
    assert np.isnan(critical_r(2))


# Five counties. Dimension "wide" has 5 parts on 5 units (k >= n): its alpha and principal
# components are not meaningful. Dimension "narrow" has 2 parts (k < n): a normal one.
#   w1 = w2 = 10 20 30 40 50 (r = 1, a redundant pair inside "wide": listed, not cut)
#   n1 = 10 20 30 40 50, n2 = 12 19 33 41 50 (a redundant pair inside "narrow": cut)
# n1 - 30 = -20 -10 0 10 20, n2 - 31 = -19 -12 2 10 19: Σxy = 380 + 120 + 0 + 100 + 380 = 980,
# Σx² = 1000, Σy² = 361 + 144 + 4 + 100 + 361 = 970 -> r = 980 / sqrt(970000) = 0.995.
# Critical |r| at 5% with 5 units: t(0.975, 3) = 3.1824 -> 3.1824 / sqrt(3 + 3.1824²) = 0.878.
FEW = {"w1": [10, 20, 30, 40, 50], "w2": [10, 20, 30, 40, 50], "w3": [50, 10, 40, 20, 30],
       "w4": [30, 50, 10, 40, 20], "w5": [20, 40, 50, 10, 30],
       "n1": [10, 20, 30, 40, 50], "n2": [12, 19, 33, 41, 50]}
FEW_TREE = {"wide": {"label": "宽维度", "weight": 0.5, "normalise_weights": True,
                     "children": {f"w{i}": {"weight": 1} for i in range(1, 6)}},
            "narrow": {"label": "窄维度", "weight": 0.5, "normalise_weights": True,
                       "children": {"n1": {"weight": 1}, "n2": {"weight": 1}}}}


def test_dimension_with_as_many_parts_as_units_is_flagged_and_not_cut():
    res = audit(_scheme(FEW_TREE, "few"), _dataset(FEW, "few"), 2025)
    dims = res.dimensions.set_index("dimension")
    assert dims.loc["wide", ["k", "n"]].tolist() == [5, 5]
    assert not dims.loc["wide", "meaningful"] and dims.loc["narrow", "meaningful"]
    assert "rank at most n − 1 = 4" in dims.loc["wide", "caveat"]
    assert dims.loc["narrow", "caveat"] == ""
    # the caveat checked independently: 5 parts on 5 units leave a zero eigenvalue
    wide = [f"w{i}" for i in range(1, 6)]
    eig = np.linalg.eigvalsh(res.correlations.loc[wide, wide].to_numpy(dtype=float))
    assert eig[0] == pytest.approx(0, abs=1e-9)
    assert res.correlations.loc["n1", "n2"] == pytest.approx(980 / np.sqrt(970_000))
    # summary: the wide dimension's alpha and components are not printed, the narrow one's are
    text = res.summary()
    wide_line = next(x for x in text.splitlines() if "[wide]" in x)
    narrow_line = next(x for x in text.splitlines() if "[narrow]" in x)
    assert "NOT MEANINGFUL" in wide_line and "alpha 0" not in wide_line
    assert "NOT MEANINGFUL" not in narrow_line
    assert f"alpha {dims.loc['narrow', 'alpha']:.2f}" in narrow_line
    assert "|r| below 0.88 is not significant at 5%" in text
    # the warning, with n and the critical |r|
    few = [n for n in res.notices if n.kind == "few_units"]
    assert len(few) == 1 and "only 5 units" in few[0].message and "0.88" in few[0].message
    assert "宽维度 [wide]: 5 parts on 5 units" in few[0].message
    md = res.narrative()
    wide_md = next(x for x in md.splitlines() if x.startswith("- 宽维度"))
    assert "**not meaningful**" in wide_md and "consistent" not in wide_md
    assert "- 窄维度: alpha" in md
    # no cut from the wide dimension's correlations; the narrow pair is cut as usual
    ind = res.indicators.set_index("node")
    assert "w1" in ind.loc["w2", "redundant_with"]
    assert not ind.loc["w2", "drop"]     # its only flag: redundant with w1 (today: cut)
    assert not ind.loc[wide, "reason"].str.contains("redundant").any()
    dropped_narrow = ind.loc[["n1", "n2"], "reason"]
    assert dropped_narrow.str.startswith("redundant with").sum() == 1


def test_audit_on_sichuan_and_dingxi():
    sichuan = audit("sichuan-39", ak.datasets.load("sichuan-39"), 2025)
    assert len(sichuan.indicators) == 13
    assert set(sichuan.dimensions["dimension"]) == {"total", "task", "responsibility"}
    assert sichuan.correlations.shape == (13, 15)
    assert (sichuan.indicators["dimension"] == "task").sum() == 10
    # 39 units, every dimension with fewer parts than units: nothing flagged, no warning
    assert sichuan.dimensions["meaningful"].all()
    assert not [n for n in sichuan.notices if n.kind == "few_units"]
    # Dingxi (quarterly, deductions, shared indicators): the shared county indicators are never
    # suggested for removal (the department level refers to them)
    dingxi = audit("dingxi", ak.datasets.load("dingxi"), 2025)
    shared = {"dx_gdp_growth", "dx_investment_growth", "dx_retail_growth",
              "dx_rural_income_growth", "dx_fiscal_revenue_growth", "dx_industry_growth",
              "dx_task_ecology", "dx_task_safety"}
    assert not shared & set(dingxi.dropped["node"])
    assert not dingxi.indicators["node"].str.startswith("deduction").any()
    # 7 counties: the economy (42 indicators), party-building (12) and key-task (13) dimensions
    # have more parts than units; none of their redundant pairs is cut
    dims = dingxi.dimensions.set_index("dimension")
    assert not dims.loc[["economy", "party_building", "key_tasks"], "meaningful"].any()
    assert dims.loc["total", "meaningful"]                           # 3 parts on 7 units
    assert not dingxi.dropped["reason"].str.startswith("redundant").any()
    assert any(n.kind == "few_units" and "0.75" in n.message for n in dingxi.notices)


# Six counties, two indicators at the root with nominal weights 0.5 / 0.5 (total = (a + b) / 2).
# a = 25 35 45 55 65 75: deviations -25 -15 -5 5 15 25, Σ = 1750.
# b = 50 + s · (2, -3, -1, 1, 3, -2): Σ = 28 s², and Σ a·b deviations = s (-50 + 45 + 5 + 5 + 45
# - 50) = 0, so a and b are uncorrelated and var(total) ∝ (1750 + 28 s²) / 4.
# With 6 distinct values on fewer than 20 units the effective weight is the linear r²:
# r²(a, total) = 1750 / (1750 + 28 s²), r²(b, total) = 28 s² / (1750 + 28 s²) (they add to 1,
# so they are also the eta2 shares). Ratio to the nominal share 0.5:
#   s = 4: b 2 · 448 / 2198 = 0.4076 < 0.5 -> low effective weight, dropped; a 3500 / 2198
#   s = 5: b 2 · 700 / 2450 = 0.5714 ≥ 0.5 -> not flagged;                     a 3500 / 2450
# r(b, total) = sqrt(448 / 2198) = 0.45 and sqrt(700 / 2450) = 0.53: never weak (< 0.3).
@pytest.mark.parametrize("s, ratio_b, ratio_a, low", [(4, 896 / 2198, 3500 / 2198, True),
                                                       (5, 1400 / 2450, 3500 / 2450, False)])
def test_low_effective_weight_on_both_sides_of_the_threshold(s, ratio_b, ratio_a, low):
    a = [25, 35, 45, 55, 65, 75]
    b = [50 + s * d for d in (2, -3, -1, 1, 3, -2)]
    res = audit(_scheme({"a": {"weight": 0.5}, "b": {"weight": 0.5}}, "eff"),
                _dataset({"a": a, "b": b}, "eff"), 2025)
    ind = res.indicators.set_index("node")
    assert ind.loc["b", "nominal_share"] == pytest.approx(0.5)
    assert ind.loc["b", "eta2_share"] == pytest.approx(28 * s * s / (1750 + 28 * s * s))
    assert ind.loc["b", "ratio"] == pytest.approx(ratio_b)
    assert ind.loc["a", "ratio"] == pytest.approx(ratio_a)
    assert not ind["weak_total"].any() and not ind.loc["a", "low_effective"]
    assert bool(ind.loc["b", "low_effective"]) is low
    assert res.dropped["node"].tolist() == (["b"] if low else [])
    if low:
        assert ind.loc["b", "reason"] == ("barely moves the total: effective weight 41% of "
                                          "the nominal")
        assert "effective weight below 50% of the nominal: b [b]" in res.summary()


def test_html_escapes_and_plot(mpl_rc):
    from assesskit.report.plotting import use_cjk_font

    scheme, ds = _toy()
    spec = scheme.spec | {"name": "<i>toy</i>"}
    spec["levels"]["county"]["tree"]["dim"]["label"] = "<script>x</script>"
    res = audit(ak.load_scheme(spec), ds, 2025)
    page = res._repr_html_()
    assert "<script>" not in page and "<i>toy" not in page
    use_cjk_font()
    fig = res.plot()
    ax = fig.axes[0]
    assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
    fig.canvas.draw()


def test_command_line_writes_tables_and_chart(tmp_path, capsys, mpl_rc):
    from assesskit.cli import main

    out = tmp_path / "audit"
    code = main(["audit", "--scheme", "sichuan-39", "--data", "sichuan-39", "--period", "2025",
                 "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0 and "Statistical audit of sichuan-39 (level county)" in printed
    ind = pd.read_csv(out / "indicators.csv")
    assert len(ind) == 13 and {"r_dimension", "r_total", "ratio", "drop", "reason"} <= set(ind)
    dims = pd.read_csv(out / "dimensions.csv").set_index("dimension")
    assert f"alpha {dims.loc['task', 'alpha']:.2f}" in printed
    corr = pd.read_csv(out / "correlations.csv").set_index("node")
    assert corr.loc["gdp_per_capita", "gdp_per_capita"] == pytest.approx(1.0)
    for dropped in ind.loc[ind["drop"], "node"]:
        assert f"[{dropped}]" in printed
    assert (out / "correlations.png").read_bytes()[:4] == b"\x89PNG"
