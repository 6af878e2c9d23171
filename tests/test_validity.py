"""Outcome validity: regressions worked by hand, checked against linearmodels, the generator's truth.

Expected numbers come from outside the code under test:

* a four-county panel whose OLS, fixed-effects, Spearman and list differences are worked by hand
  in the comments below, and a cluster-robust sandwich written out with numpy;
* ``linearmodels.PanelOLS`` (an independent implementation) for the two-way fixed effects;
* the latent model of ``assesskit.data.synthetic`` (growth of GDP per capita = macro + 1.5 ×
  effort − 0.4 × baseline + shocks), for the effect the method must recover;
* the published HDI values of the HDR panel, for the scheme-scored run on real data.
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest

import assesskit as ak
from assesskit import DataError
from assesskit.analysis.validity import ALL_GROUPS, ALL_PERIODS, SPECIFICATIONS, validity


@pytest.fixture(scope="module")
def sichuan():
    return ak.datasets.load("sichuan-39")


@pytest.fixture(scope="module")
def official_result(sichuan):
    return validity("sichuan-39", sichuan, "outcome_gdp_pc_growth_3y", baseline="gdp_per_capita",
                    n_boot=200, seed=1)


# ------------------------------------------------------------------------------ a tiny panel
def _tiny(later_2022=None, n_units=4, constant=False):
    """Four counties, outcome level x in 2020..2022, scores for 2020 and 2021.

    ====  =======  =======  ======  ======  ======
    unit  s(2020)  s(2021)  x2020   x2021   x2022
    ====  =======  =======  ======  ======  ======
    A     1        2        10      11      14
    B     2        1        10      12      14
    C     3        4        10      14      18
    D     4        3        10      16      21
    ====  =======  =======  ======  ======  ======

    With change="difference" and horizon 1 the later outcomes y = x[t+1] − x[t] are
    2020: A 1, B 2, C 4, D 6;   2021: A 3, B 2, C 4, D 5.
    The top scorer of each period is praised, the lowest summoned (one group "g").
    """
    units = pd.DataFrame({"unit": list("ABCD")[:n_units], "name": ["甲", "乙", "丙", "丁"][:n_units],
                          "level": "county", "group": "g"})
    x = {"A": [10, 11, 14], "B": [10, 12, 14], "C": [10, 14, 18], "D": [10, 16, 21]}
    if later_2022 is not None:
        x["D"][2] = later_2022
    if constant:
        x = {u: [10, 11, 12] for u in x}
    rows = [(u, str(2020 + k), "x", v) for u, vals in x.items() if u in set(units["unit"])
            for k, v in enumerate(vals)]
    values = pd.DataFrame(rows, columns=["unit", "period", "indicator", "value"])
    indicators = pd.DataFrame({"indicator": ["x"], "name": ["产出"], "unit_of_measure": ["元"]})
    ds = ak.Dataset.from_frames(units, indicators, values, name="tiny")
    s = {"A": (1, 2), "B": (2, 1), "C": (3, 4), "D": (4, 3)}
    top = {"2020": "D", "2021": "C"}
    bottom = {"2020": "A", "2021": "B"}
    scores = pd.DataFrame([
        {"unit": u, "period": p, "score": s[u][k],
         "outcome": "praised" if top[p] == u else "summoned" if bottom[p] == u else "",
         "outcome_label": "通报表扬" if top[p] == u else "约谈" if bottom[p] == u else ""}
        for u in units["unit"] for k, p in enumerate(("2020", "2021"))])
    return ds, scores


def _coef(res, spec, term="score"):
    t = res.coefficients
    return t[(t["specification"] == spec) & (t["term"] == term)].iloc[0]


def test_coefficients_worked_by_hand():
    ds, scores = _tiny()
    res = validity(scores, ds, "x", change="difference", horizon=1, standardise=False,
                   n_boot=50, seed=3)
    # pooled: s = 1,2,2,1,3,4,4,3 (A20, A21, B20, ...), mean 2.5, sum of squared deviations 10;
    # y = 1,3,2,2,4,4,6,5; sum (s - 2.5) y = -1.5 -1.5 -1 -3 +2 +6 +9 +2.5 = 12.5 -> slope 1.25
    assert _coef(res, "pooled")["coefficient"] == pytest.approx(1.25, abs=1e-12)
    # period FE: 2020 contributes 8.5 / 5, 2021 4 / 5 -> (8.5 + 4) / 10 = 1.25
    assert _coef(res, "period FE")["coefficient"] == pytest.approx(1.25, abs=1e-12)
    # two-way FE with two periods = first differences: ds = +1, -1, +1, -1; dy = +2, 0, 0, -1
    # -> slope sum(ds dy) / sum(ds^2) = (2 + 0 + 0 + 1) / 4 = 0.75
    assert _coef(res, "two-way FE")["coefficient"] == pytest.approx(0.75, abs=1e-12)
    assert set(res.coefficients["n_obs"]) == {8}
    assert set(res.coefficients["n_units"]) == {4}


def test_cluster_standard_errors_are_the_cr1_sandwich():
    ds, scores = _tiny()
    res = validity(scores, ds, "x", change="difference", horizon=1, standardise=False, n_boot=10)
    # the sandwich written out: V = c (X'X)^-1 [sum_g X_g' u_g u_g' X_g] (X'X)^-1,
    # c = G/(G-1) (N-1)/(N-K), G = 4 units, N = 8, K = 2 (intercept and score)
    s = np.array([1, 2, 2, 1, 3, 4, 4, 3], float)
    y = np.array([1, 3, 2, 2, 4, 4, 6, 5], float)
    g = np.repeat(np.arange(4), 2)
    X = np.column_stack([np.ones(8), s])
    beta = np.linalg.solve(X.T @ X, X.T @ y)
    u = y - X @ beta
    meat = sum(np.outer(X[g == k].T @ u[g == k], X[g == k].T @ u[g == k]) for k in range(4))
    bread = np.linalg.inv(X.T @ X)
    V = bread @ meat @ bread * (4 / 3) * (7 / 6)
    row = _coef(res, "pooled")
    assert row["se"] == pytest.approx(np.sqrt(V[1, 1]), rel=1e-10)
    # t with G - 1 = 3 degrees of freedom (Stata's convention)
    from scipy import stats
    t = beta[1] / np.sqrt(V[1, 1])
    assert row["p"] == pytest.approx(2 * stats.t.sf(abs(t), 3), rel=1e-9)
    assert row["ci_high"] == pytest.approx(beta[1] + stats.t.ppf(0.975, 3) * np.sqrt(V[1, 1]))


def test_ranks_and_lists_worked_by_hand():
    ds, scores = _tiny()
    res = validity(scores, ds, "x", change="difference", horizon=1, standardise=False,
                   n_boot=400, seed=11)
    rc = res.rank_correlations.set_index(["period", "group", "measure"])
    # 2020: scores 1..4 and outcomes 1, 2, 4, 6 in the same order -> rho 1
    assert rc.loc[("2020", "g", "score"), "rho"] == pytest.approx(1.0)
    # 2021: score ranks 2, 1, 4, 3; outcome ranks 2, 1, 3, 4 -> 1 - 6 * 2 / (4 * 15) = 0.8
    assert rc.loc[("2021", "g", "score"), "rho"] == pytest.approx(0.8)
    assert rc.loc[(ALL_PERIODS, "g", "score"), "rho"] == pytest.approx(0.9)
    # praised in 2020: (0, 0, 0, 1) against ranks 1..4: tied ranks 2, 2, 2, 4
    # -> Pearson of ranks = 3 / sqrt(3 * 5)
    assert rc.loc[("2020", "g", "praised"), "rho"] == pytest.approx(3 / np.sqrt(15))
    le = res.list_effects.set_index(["consequence", "group"])
    # praised: 2020 D 6 vs (1 + 2 + 4) / 3; 2021 C 4 vs (3 + 2 + 5) / 3 -> mean of 11/3, 2/3
    assert le.loc[("praised", ALL_GROUPS), "difference"] == pytest.approx(13 / 6)
    # summoned: 2020 A 1 vs 4; 2021 B 2 vs 4 -> -2.5
    assert le.loc[("summoned", ALL_GROUPS), "difference"] == pytest.approx(-2.5)
    assert le.loc[("praised", ALL_GROUPS), "n_listed"] == 2
    row = le.loc[("praised", ALL_GROUPS)]
    assert row["ci_low"] <= row["difference"] <= row["ci_high"]
    assert (row["n_boot"], row["seed"]) == (400, 11)


def test_bootstrap_is_seeded(sichuan, official_result):
    kwargs = {"baseline": "gdp_per_capita", "n_boot": 200}
    again = validity("sichuan-39", sichuan, "outcome_gdp_pc_growth_3y", seed=1, **kwargs)
    other = validity("sichuan-39", sichuan, "outcome_gdp_pc_growth_3y", seed=2, **kwargs)
    pd.testing.assert_frame_equal(official_result.list_effects, again.list_effects)
    pd.testing.assert_frame_equal(official_result.coefficients, again.coefficients)
    assert not np.allclose(official_result.list_effects["ci_low"], other.list_effects["ci_low"])
    assert set(other.list_effects["seed"]) == {2}


def test_decomposition_worked_by_hand():
    # one period, four units: endowment e = x(2020) = 1, 2, 3, 4; change c = x(2021) - x(2020)
    # = 1, -1, -1, 1, orthogonal to e (sum of (e - 2.5) c = 0). Sums of squares: e 5, c 4.
    units = pd.DataFrame({"unit": list("ABCD"), "level": "county", "group": "g"})
    e = np.array([1, 2, 3, 4.0])
    c = np.array([1, -1, -1, 1.0])
    later = np.array([9, 3, 7, 5.0])
    values = pd.DataFrame(
        [(u, p, "x", v) for i, u in enumerate("ABCD")
         for p, v in (("2020", e[i]), ("2021", e[i] + c[i]), ("2022", e[i] + c[i] + later[i]))],
        columns=["unit", "period", "indicator", "value"])
    ds = ak.Dataset.from_frames(units, pd.DataFrame({"indicator": ["x"]}), values, name="d")

    def run(a, b):
        scores = pd.DataFrame({"unit": list("ABCD"), "period": "2021", "score": a * e + b * c})
        return validity(scores, ds, "x", change="difference", n_boot=10)

    # score = 10 e + 5 c: variance shares 100*5 : 25*4 = 5/6 : 1/6, LMG shares the same
    res = run(10, 5)
    share = res.decomposition.set_index("component")["share"]
    assert share["endowment"] == pytest.approx(5 / 6)
    assert share["change"] == pytest.approx(1 / 6)
    assert share["unexplained"] == pytest.approx(0, abs=1e-12)
    assert res.flags["baseline_dominated"] is True
    # score = 2 e + 5 c: 4*5 : 25*4 = 1/6 : 5/6 -> rewards change, no flag
    res = run(2, 5)
    assert res.decomposition.set_index("component")["share"]["change"] == pytest.approx(5 / 6)
    assert res.flags["baseline_dominated"] is False


# ------------------------------------------------------------------------------ linearmodels
def _panel_ols(res, with_baseline):
    from linearmodels import PanelOLS

    p = res.panel.assign(period=lambda d: d["period"].astype(int)).set_index(["unit", "period"])
    cols = ["score_std"] + (["baseline"] if with_baseline else [])
    return PanelOLS(p["outcome_value"], p[cols], entity_effects=True, time_effects=True).fit(
        cov_type="clustered", cluster_entity=True, debiased=True, group_debias=True)


@pytest.mark.parametrize("with_baseline", [False, True])
def test_two_way_fixed_effects_agree_with_linearmodels(official_result, with_baseline):
    spec = "two-way FE + baseline" if with_baseline else "two-way FE"
    lm = _panel_ols(official_result, with_baseline)
    table = official_result.coefficients
    mine = table[table["specification"] == spec].set_index("term")
    assert mine.loc["score", "coefficient"] == pytest.approx(lm.params["score_std"], abs=1e-6)
    assert mine.loc["score", "se"] == pytest.approx(lm.std_errors["score_std"], abs=1e-6)
    if with_baseline:
        assert mine.loc["baseline", "coefficient"] == pytest.approx(lm.params["baseline"],
                                                                    abs=1e-6)
        assert mine.loc["baseline", "se"] == pytest.approx(lm.std_errors["baseline"], abs=1e-6)


def test_unbalanced_panel_agrees_with_linearmodels():
    # a missing later value makes the panel unbalanced (D has no 2021 outcome)
    rng = np.random.default_rng(4)
    n, years = 15, [str(y) for y in range(2010, 2017)]
    units = pd.DataFrame({"unit": [f"u{i:02d}" for i in range(n)], "level": "county",
                          "group": "g"})
    level = np.exp(rng.normal(10, 0.3, n))[:, None] * np.cumprod(
        1 + rng.normal(0.05, 0.03, (n, len(years))), axis=1)
    values = pd.DataFrame([(u, p, "gdp", level[i, k]) for i, u in enumerate(units["unit"])
                           for k, p in enumerate(years) if not (i == 3 and p == "2013")],
                          columns=["unit", "period", "indicator", "value"])
    ds = ak.Dataset.from_frames(units, pd.DataFrame({"indicator": ["gdp"]}), values, name="u")
    scores = pd.DataFrame([(u, p, rng.normal()) for u in units["unit"] for p in years[:-1]],
                          columns=["unit", "period", "score"])
    res = validity(scores, ds, "gdp", horizon=1, n_boot=10)
    assert len(res.left_out) == 2  # u03 2012 (no later value) and 2013 (no start value)
    for with_baseline in (False, True):
        lm = _panel_ols(res, with_baseline)
        spec = "two-way FE + baseline" if with_baseline else "two-way FE"
        row = _coef(res, spec)
        assert row["coefficient"] == pytest.approx(lm.params["score_std"], abs=1e-6)
        assert row["se"] == pytest.approx(lm.std_errors["score_std"], abs=1e-6)


# ------------------------------------------------------------------------------ known truth
def test_recovers_the_generators_effort_effect(sichuan):
    """The generator: GDP-per-capita growth = macro_t + 1.5 e - 0.4 b + year shock + disaster
    + N(0, 1.2^2), disasters -4 points with probability 0.04. Scoring each county by its latent
    effort e (fixed over time) and controlling for its latent baseline b, the period-FE
    regression of next year's growth must find 1.5 and -0.4.

    Tolerance from the sample: residual variance 1.2^2 + 16 * 0.04 * 0.96 = 2.05 (sd 1.43);
    e and b are standardised and exactly uncorrelated, so SE(beta) ~ 1.43 / sqrt(n_obs) with
    n_obs = 39 counties x 6 years (scores 2019..2024, growth to 2020..2025) = 234 -> 0.094.
    We allow 3 SE (0.28): a correct estimator misses it with probability 0.3%.
    """
    units = sichuan.level_units("county")
    effort = pd.to_numeric(units["latent_effort"]).to_numpy()
    years = [str(y) for y in range(2019, 2025)]
    scores = pd.DataFrame([(u, p, e) for u, e in zip(units["unit"], effort, strict=True)
                           for p in years], columns=["unit", "period", "score"])
    res = validity(scores, sichuan, "gdp_per_capita", change="growth", horizon=1,
                   controls=["latent_baseline"], standardise=False, n_boot=10)
    sigma = np.sqrt(1.2**2 + 16 * 0.04 * 0.96)
    row = _coef(res, "period FE")
    assert row["n_obs"] == 39 * 6  # 2019..2024 scored, growth to 2020..2025
    se_theory = sigma / np.sqrt(row["n_obs"])
    assert abs(row["coefficient"] - 1.5) < 3 * se_theory
    assert abs(_coef(res, "period FE", "latent_baseline")["coefficient"] + 0.4) < 3 * se_theory
    assert 0.5 * se_theory < row["se"] < 2 * se_theory
    # a score fixed per unit is absorbed by unit effects: said, not estimated
    assert "two-way FE" not in set(res.coefficients["specification"])
    assert any(n.kind == "specification_skipped" for n in res.notices)


def _levels_only(scheme):
    """The Sichuan scheme with only level indicators, each scored on its level within group."""
    spec = copy.deepcopy(scheme.spec)
    county = spec["levels"]["county"]
    task = county["tree"]["task"]["children"]
    for k in ("urban_income", "rural_income", "fiscal_self_sufficiency"):
        task[k]["scoring"] = {"method": "minmax"}
    for k in ("lifted_income_growth", "sewage_garbage_rate", "sanitary_toilet_rate",
              "new_enterprise_share", "water_source_quality"):
        del task[k]
    del county["tree"]["responsibility"]
    county["tree"]["task"]["weight"] = 1.0
    county["ranking"]["ties"]["break_by"] = []
    del spec["levels"]["prefecture"]
    spec["name"] = "levels-only"
    return ak.load_scheme(spec)


def _changes_only(scheme):
    """The same indicators, each scored on its change since the previous year."""
    spec = copy.deepcopy(_levels_only(scheme).spec)
    task = spec["levels"]["county"]["tree"]["task"]["children"]
    for k in ("gdp_per_capita", "urban_income", "rural_income"):
        task[k]["scoring"] = {"method": "growth", "change": "growth"}
    for k in ("fiscal_self_sufficiency", "urbanization_rate"):
        task[k]["scoring"] = {"method": "growth", "change": "difference"}
    spec["name"] = "changes-only"
    return ak.load_scheme(spec)


def test_flags_a_design_that_rewards_the_starting_point(sichuan):
    official = ak.load_scheme("sichuan-39")
    task = [n.id for n in official.levels["county"].root.leaves()
            if not n.id.startswith("resp") and n.id != "gdp_per_capita"]
    gdp_level = official.without_nodes([*task, "responsibility"], note="GDP level only")
    kwargs = {"baseline": "gdp_per_capita", "n_boot": 10}
    for scheme in (gdp_level, _levels_only(official)):
        res = validity(scheme, sichuan, "outcome_gdp_pc_growth_3y", **kwargs)
        assert res.flags["baseline_dominated"] is True, res.decomposition
        assert "FLAG: the score is dominated by baseline endowment" in res.summary()
    res = validity(_changes_only(official), sichuan, "outcome_gdp_pc_growth_3y", **kwargs)
    assert res.flags["baseline_dominated"] is False
    assert "FLAG" not in res.summary()
    # the change design predicts later growth beyond the starting point
    row = _coef(res, "period FE + baseline")
    assert row["ci_low"] > 0


def test_official_sichuan_result_is_complete(official_result):
    res = official_result
    assert list(res.score_coefficients()["specification"]) == list(SPECIFICATIONS)
    assert set(res.panel["period"]) == {str(y) for y in range(2020, 2026)}
    assert res.notices[0].kind == "periods_not_scored" and "2019" in str(res.notices[0])
    groups = set(res.rank_correlations["group"])
    assert groups == {"秦巴山区", "川西北高原地区", "大小凉山彝区"}
    assert set(res.list_effects["label"]) == {"通报表扬", "约谈"}
    tidy = res.to_frame()
    assert {"coefficient", "se", "ci_low", "ci_high", "p", "n_obs", "specification"} <= set(tidy)


# ------------------------------------------------------------------------------ real data
def test_hdr_scheme_scores_match_the_published_hdi():
    """The undp-hdi scheme reproduces the published HDI, so the validity of the scheme's score
    and of the published index (role reference in the data) must agree."""
    ds = ak.datasets.load("hdr-2023")
    periods = [2000, 2005, 2010, 2015, 2017]
    scheme_res = validity("undp-hdi", ds, "gnipc", horizon=5, periods=periods, n_boot=10)
    v = ds.values[(ds.values["indicator"] == "hdi")
                  & ds.values["period"].isin([str(p) for p in periods])]
    published = v.rename(columns={"value": "score"})[["unit", "period", "score"]].dropna()
    published = published[published.set_index(["unit", "period"]).index.isin(
        scheme_res.panel.set_index(["unit", "period"]).index)]
    pub_res = validity(published, ds, "gnipc", horizon=5, periods=periods, n_boot=10)
    a = scheme_res.score_coefficients().set_index("specification")["coefficient"]
    b = pub_res.score_coefficients().set_index("specification")["coefficient"]
    assert a.index.equals(b.index)
    np.testing.assert_allclose(a, b, rtol=0.02, atol=0.05)
    income_free = ak.load_scheme("undp-hdi").without_nodes(["income"], note="income-free")
    res = validity(income_free, ds, "gnipc", horizon=5, periods=periods, n_boot=10)
    assert res.settings["scheme"] == "undp-hdi [variant: income-free]"
    assert len(res.panel) > 500


# ------------------------------------------------------------------------------ bad input
def test_outcome_not_in_data():
    ds, scores = _tiny()
    with pytest.raises(DataError, match=r"outcome 'gdp' is not an indicator of dataset 'tiny'; "
                                        r"its indicators \(role\) are: x \(indicator\)"):
        validity(scores, ds, "gdp")


def test_horizon_beyond_the_last_period():
    ds, scores = _tiny()
    with pytest.raises(DataError, match=r"horizon 2 from period 2021 reaches 2023, beyond the "
                                        r"last period of dataset 'tiny' \(2022\); use periods "
                                        r"up to 2020"):
        validity(scores, ds, "x", horizon=2, periods=[2020, 2021])
    with pytest.raises(DataError, match=r"horizon 5 reaches beyond the last period of dataset "
                                        r"'tiny' \(2022\) from every period"):
        validity(scores, ds, "x", horizon=5)


def test_fewer_units_than_parameters():
    ds, scores = _tiny(n_units=3)
    with pytest.raises(DataError, match=r"fewer units than parameters: 3 unit\(s\) have a score "
                                        r"and a later outcome 'x', but the regression estimates "
                                        r"3 parameters \(intercept, score, baseline\)"):
        validity(scores[scores["unit"] != "D"], ds, "x", change="difference")


def test_constant_outcome():
    ds, scores = _tiny(constant=True)
    with pytest.raises(DataError, match=r"the later outcome 'x' is constant \(1\) over the 8 "
                                        r"unit-periods used"):
        validity(scores, ds, "x", change="difference")


def test_units_without_a_later_observation_are_listed_and_counted():
    ds, scores = _tiny()
    values = ds.values[~((ds.values["unit"] == "D") & (ds.values["period"] == "2022"))]
    ds = ak.Dataset.from_frames(ds.units, ds.indicators, values, name="tiny")
    res = validity(scores, ds, "x", change="difference", n_boot=10)
    assert res.left_out[["unit", "period"]].values.tolist() == [["D", "2021"]]
    assert res.left_out["reason"].iloc[0] == "no value of x in 2022"
    assert len(res.panel) == 7
    text = res.summary()
    assert "1 scored unit-period(s) left out of every estimate, no later observation of x: " \
           "丁 (D) 2021" in text
    assert "(1 scored unit-periods left out" in text


def test_forward_outcome_needs_a_baseline(sichuan):
    with pytest.raises(DataError, match=r"outcome 'outcome_gdp_pc_growth_3y' is forward-looking "
                                        r".*baseline='gdp_per_capita'"):
        validity("sichuan-39", sichuan, "outcome_gdp_pc_growth_3y")


def test_unknown_control_names_the_choices():
    ds, scores = _tiny()
    with pytest.raises(DataError, match=r"control 'gdp' is neither an indicator of dataset "
                                        r"'tiny' nor a column of its units table"):
        validity(scores, ds, "x", controls=["gdp"])


# ------------------------------------------------------------------------------ output
def test_html_escapes_names_from_data():
    ds, scores = _tiny()
    ind = ds.indicators.assign(name="<script>alert(1)</script>")
    ds = ak.Dataset.from_frames(ds.units, ind, ds.values, name="<b>tiny</b>")
    res = validity(scores, ds, "x", change="difference", n_boot=10)
    page = res._repr_html_()
    assert "<script>" not in page and "<b>tiny" not in page
    assert "&lt;script&gt;" in page


@pytest.mark.parametrize("kind", ["coefficients", "scatter", "lists"])
def test_plots_have_titles_and_labels(official_result, mpl_rc, kind):
    from assesskit.report.plotting import use_cjk_font

    use_cjk_font()
    fig = official_result.plot(kind)
    ax = fig.axes[0]
    assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
    fig.canvas.draw()  # renders every glyph: a missing Chinese glyph would warn (an error here)


# ------------------------------------------------------------------------------ command line
def test_command_line_writes_tables_and_chart(tmp_path, capsys, mpl_rc):
    from assesskit.cli import main

    out = tmp_path / "validity"
    code = main(["validity", "--scheme", "sichuan-39", "--data", "sichuan-39", "--outcome",
                 "outcome_gdp_pc_growth_3y", "--baseline", "gdp_per_capita", "--n-boot", "50",
                 "--seed", "4", "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0
    assert "Outcome validity of sichuan-39 (level county) on sichuan-39" in printed
    coef = pd.read_csv(out / "coefficients.csv")
    assert list(coef[coef["term"] == "score"]["specification"]) == list(SPECIFICATIONS)
    assert {"coefficient", "se", "ci_low", "ci_high", "p", "n_obs"} <= set(coef.columns)
    lists = pd.read_csv(out / "list_effects.csv")
    assert set(lists["label"]) == {"通报表扬", "约谈"} and set(lists["seed"]) == {4}
    panel = pd.read_csv(out / "panel.csv", dtype={"unit": str, "period": str})
    assert len(panel) == 39 * 6
    assert (out / "coefficients.png").read_bytes()[:4] == b"\x89PNG"
    # the printed coefficient is the one in the file
    pooled = coef[(coef["specification"] == "pooled") & (coef["term"] == "score")].iloc[0]
    assert f"{pooled['coefficient']:+.3f}" in printed


def test_command_line_reports_bad_input(capsys):
    from assesskit.cli import main

    code = main(["validity", "--scheme", "sichuan-39", "--data", "sichuan-39", "--outcome",
                 "gdp"])
    err = capsys.readouterr().err
    assert code == 1 and "outcome 'gdp' is not an indicator of dataset 'sichuan-39'" in err


def test_csv_cells_that_look_like_formulas_are_defused():
    from assesskit.report.safe import formula_safe_frame

    frame = pd.DataFrame({"name": ["=HYPERLINK(1)", "营山县", "-x", None], "v": [1.0, -2, 3, 4]})
    safe = formula_safe_frame(frame)
    assert safe["name"].tolist()[:3] == ["'=HYPERLINK(1)", "营山县", "'-x"]
    assert safe["v"].tolist() == [1.0, -2, 3, 4]


def test_narrative_is_computed_from_the_result(official_result, sichuan):
    text = official_result.narrative()
    row = _coef(official_result, "period FE + baseline")
    assert f"{row['coefficient']:+.2f} % per standard deviation" in text
    assert "higher scores went with **higher**" in text
    assert "the score is not dominated by the starting point" in text
    assert "synthetic (generated, not official statistics)" in text
    official = ak.load_scheme("sichuan-39")
    task = [n.id for n in official.levels["county"].root.leaves()
            if not n.id.startswith("resp") and n.id != "gdp_per_capita"]
    gdp_level = official.without_nodes([*task, "responsibility"], note="GDP level only")
    res = validity(gdp_level, sichuan, "outcome_gdp_pc_growth_3y", baseline="gdp_per_capita",
                   n_boot=10)
    assert "**the score is dominated by the starting point**" in res.narrative()
    assert res.settings["scheme"] == "sichuan-39 [variant: GDP level only]"


def test_validity_or_reason_says_why_it_does_not_apply():
    from assesskit.analysis.validity import validity_or_reason

    dingxi = ak.datasets.load("dingxi")
    res, text = validity_or_reason("dingxi", dingxi, "outcome_gdp_pc_growth_3y")
    assert res is None
    assert text.startswith("**This analysis does not apply** to `dingxi` on dataset `dingxi`")
    assert "Indicators of role *outcome* in this dataset: none" in text
