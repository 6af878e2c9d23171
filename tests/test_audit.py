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
from assesskit.analysis.audit import audit, cronbach_alpha, first_component_share
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


def test_audit_on_sichuan_and_dingxi():
    sichuan = audit("sichuan-39", ak.datasets.load("sichuan-39"), 2025)
    assert len(sichuan.indicators) == 13
    assert set(sichuan.dimensions["dimension"]) == {"total", "task", "responsibility"}
    assert sichuan.correlations.shape == (13, 15)
    assert (sichuan.indicators["dimension"] == "task").sum() == 10
    # Dingxi (quarterly, deductions, shared indicators): the shared county indicators are never
    # suggested for removal (the department level refers to them)
    dingxi = audit("dingxi", ak.datasets.load("dingxi"), 2025)
    shared = {"dx_gdp_growth", "dx_investment_growth", "dx_retail_growth",
              "dx_rural_income_growth", "dx_fiscal_revenue_growth", "dx_industry_growth",
              "dx_task_ecology", "dx_task_safety"}
    assert not shared & set(dingxi.dropped["node"])
    assert not dingxi.indicators["node"].str.startswith("deduction").any()


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
