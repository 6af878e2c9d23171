"""Tests of assesskit.analysis.grouping: the same scheme under alternative groupings.

Expected ranks, quota apportionments and fate changes of the six-unit example are worked out by
hand in the docstring of :func:`six_dataset`; the official design must reproduce ``evaluate``
exactly; each alternative's rebuilt scheme must give, through ``evaluate``, what the vectorised
run gave; on the synthetic Sichuan panel, whose latent baseline is known, grouping by baseline
clusters must weaken the score-baseline correlation that pooling shows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import assesskit as ak
from assesskit.analysis.grouping import (
    Alternative,
    Baseline,
    alternative_from_spec,
    by_column,
    census_baseline,
    default_alternatives,
    kmeans,
    mapping,
    official,
    pooled,
    quantiles,
    regroup,
    verdict,
    ward,
)
from assesskit.analysis.uncertainty import vary_normalisation, vary_weights
from assesskit.engine.design import Design, Regrouping, apply_design, fixed_counts, same_partition
from assesskit.errors import DataError, SchemeError

REPO = __import__("pathlib").Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------------------ six units by hand
def six_dataset():
    """Six counties in two official groups, one indicator scored as given (0-100).

    ====  =====  =====  ====   official: 东 = {A, B, C}, 西 = {D, E, F}; quotas 1 praised and
    unit  group  score  base   1 summoned per group (2 + 2 in all).
    A     东     92     6      东: A 1, B 2, C 3 -> A praised, C summoned
    B     东     88     5      西: E 1, D 2, F 3 -> E praised, F summoned
    C     东     71     2
    D     西     65     3      pool (2 + 2 places): A 1, B 2, E 3, C 4, D 5, F 6
    E     西     80     4          -> A, B praised; D, F summoned
    F     西     45     1
    ====  =====  =====  ====

    Mapping P = {A, D}, Q = {B, E}, R = {C, F} (two units each); ranks A 1, D 2 | B 1, E 2 |
    C 1, F 2.

    * proportional: 2 places x 2/6 = 0.667 per group; floors 0, 0, 0; the 2 places left go to
      the largest remainders, all equal, sizes equal, so to the labels that sort first: P 1,
      Q 1, R 0 (praised and summoned alike) -> praised A, B; summoned D, E.
    * equal: floor(2/3 + 1/2) = 1 per group -> praised A, B, C; summoned D, E, F.
    * fixed {praised: 1, summoned: {P: 0, Q: 1, R: 1}} -> praised A, B, C; summoned E, F.
    """
    units = pd.DataFrame({
        "unit": list("ABCDEF"), "name": ["甲县", "乙县", "丙县", "丁县", "戊县", "己县"],
        "name_en": list("ABCDEF"), "level": "county", "parent": ["P1", "P1", "P2", "P2", "P3",
                                                                  "P3"],
        "group": ["东", "东", "东", "西", "西", "西"], "base": ["6", "5", "2", "3", "4", "1"]})
    units = pd.concat([units, pd.DataFrame({
        "unit": ["P1", "P2", "P3"], "name": ["一市", "二市", "三市"], "name_en": ["P1", "P2", "P3"],
        "level": "prefecture", "parent": "", "group": "", "base": ""})], ignore_index=True)
    indicators = pd.DataFrame({"indicator": ["a"], "name": ["甲指标"], "name_en": ["A"],
                               "unit_of_measure": "分", "direction": "higher"})
    values = pd.DataFrame({"unit": list("ABCDEF"), "period": "2025", "indicator": "a",
                           "value": [92, 88, 71, 65, 80, 45]})
    return ak.Dataset.from_frames(units, indicators, values, name="six",
                                  provenance="hand-made test data")


SIX = {
    "name": "six",
    "levels": {"county": {
        "units": {"level": "county"},
        "tree": {"a": {"weight": 1, "scoring": {"method": "value"}}},
        "ranking": {"group_by": "group", "ties": {"method": "min", "decimals": 6}},
        "consequences": {"praised": {"label": "通报表扬", "top": 1},
                         "summoned": {"label": "约谈", "bottom": 1}},
    }},
}
PQR = {"A": "P", "D": "P", "B": "Q", "E": "Q", "C": "R", "F": "R"}
BASE = Baseline(("base",))


def six(alternatives, **kwargs):
    return regroup(SIX, six_dataset(), 2025, alternatives, seed=1, baseline=BASE, **kwargs)


def by_unit(res, alternative, column):
    part = res.units[res.units["alternative"] == alternative]
    return dict(zip(part["unit"], part[column], strict=True))


def test_six_units_ranks_quotas_and_fates_by_hand():
    res = six([official(), pooled(), mapping(PQR, name="pqr"),
               mapping(PQR, name="pqr-equal", quota_rule="equal"),
               mapping(PQR, name="pqr-fixed", quota_rule="fixed",
                       quota_counts={"praised": 1, "summoned": {"P": 0, "Q": 1, "R": 1}})])
    assert res.names == ["official", "pool", "pqr", "pqr-equal", "pqr-fixed"]
    # regrouped ranks (docstring of six_dataset)
    assert by_unit(res, "official", "group_rank") == {"A": 1, "B": 2, "C": 3, "D": 2, "E": 1,
                                                      "F": 3}
    assert by_unit(res, "pool", "group_rank") == {"A": 1, "B": 2, "C": 4, "D": 5, "E": 3, "F": 6}
    assert by_unit(res, "pqr", "group_rank") == {"A": 1, "B": 1, "C": 1, "D": 2, "E": 2, "F": 2}
    # quota apportionment, read from the engine's compiled quotas
    q = res.quotas.set_index(["alternative", "consequence", "group"])["quota"].sort_index()
    assert q.loc["pqr", "praised"].to_dict() == {"P": 1, "Q": 1, "R": 0}
    assert q.loc["pqr", "summoned"].to_dict() == {"P": 1, "Q": 1, "R": 0}
    assert q.loc["pqr-equal", "praised"].to_dict() == {"P": 1, "Q": 1, "R": 1}
    assert q.loc["pqr-fixed", "summoned"].to_dict() == {"P": 0, "Q": 1, "R": 1}
    assert q.loc["pool", "praised"].tolist() == [2] and q.loc["pool", "summoned"].tolist() == [2]
    # fates and the changes against the official design
    fates = res.fates()
    assert fates["official"].to_dict() == {"A": "praised", "B": "neither", "C": "summoned",
                                           "D": "neither", "E": "praised", "F": "summoned"}
    assert fates["pool"].to_dict() == {"A": "praised", "B": "praised", "C": "neither",
                                       "D": "summoned", "E": "neither", "F": "summoned"}
    assert fates["pqr"].to_dict() == {"A": "praised", "B": "praised", "C": "neither",
                                      "D": "summoned", "E": "summoned", "F": "neither"}
    assert fates["pqr-equal"].to_dict() == {"A": "praised", "B": "praised", "C": "praised",
                                            "D": "summoned", "E": "summoned", "F": "summoned"}
    assert fates["pqr-fixed"].to_dict() == {"A": "praised", "B": "praised", "C": "praised",
                                            "D": "neither", "E": "summoned", "F": "summoned"}
    changes = res.changes.set_index(["alternative", "unit"])["change"]
    assert changes.loc["pool"].to_dict() == {"B": "enters praised", "C": "leaves summoned",
                                             "D": "enters summoned", "E": "leaves praised"}
    assert changes.loc["pqr"].to_dict() == {"B": "enters praised", "C": "leaves summoned",
                                            "D": "enters summoned",
                                            "E": "leaves praised, enters summoned",
                                            "F": "leaves summoned"}
    assert changes.loc["pqr-equal"].to_dict() == {"B": "enters praised",
                                                  "C": "leaves summoned, enters praised",
                                                  "D": "enters summoned",
                                                  "E": "leaves praised, enters summoned"}
    a = res.alternatives.set_index("alternative")
    assert a.loc["pqr", "units_changing_fate"] == 5
    assert (a.loc["pqr", ["enter_praised", "leave_praised", "enter_summoned",
                          "leave_summoned"]].tolist() == [1, 1, 2, 2])
    # quota shares: 1 of 3 in each official group; 1 of 2 in P and Q, 0 of 2 in R
    assert by_unit(res, "official", "praised_quota_share") == pytest.approx(
        dict.fromkeys("ABCDEF", 1 / 3))
    assert by_unit(res, "pqr", "praised_quota_share") == {"A": 0.5, "B": 0.5, "C": 0.0,
                                                          "D": 0.5, "E": 0.5, "F": 0.0}


def test_six_units_endowment_correlations_by_hand():
    res = six([official(), pooled(), mapping(PQR, name="pqr")],
              endowment="base")
    a = res.alternatives.set_index("alternative")
    # Pool: scores rank A B E C D F, bases rank A B E D C F: two swapped neighbours, sum d^2 = 2,
    # rho = 1 - 6 * 2 / (6 * 35) = 0.942857.
    assert a.loc["pool", "corr_score_all"] == pytest.approx(1 - 12 / 210)
    assert a.loc["pool", "corr_within"] == pytest.approx(1 - 12 / 210)
    # Within 东 (92 88 71 vs 6 5 2) and 西 (65 80 45 vs 3 4 1) the orders agree: rho = 1.
    assert a.loc["official", "corr_within"] == pytest.approx(1.0)
    # Groups of two units have no within-group rho.
    assert np.isnan(a.loc["pqr", "corr_within"])
    assert a.loc["pool", "verdict"] == "remains"
    # Praised (A, B) against the rest by base: ranks of base 6, 5 are the two highest, so
    # rho(praised, base) is the point-biserial rank correlation 0.8783 (= 2 top of 6, by hand:
    # x = (1,1,0,0,0,0) ranked 5.5 5.5 2.5 2.5 2.5 2.5 against 6 5 2 3 4 1).
    x = np.array([5.5, 5.5, 2.5, 2.5, 2.5, 2.5])
    y = np.array([6, 5, 2, 3, 4, 1], float)
    expected = np.corrcoef(x, y)[0, 1]
    assert a.loc["pool", "corr_praised"] == pytest.approx(expected)


def test_verdicts():
    assert verdict(0.5, 0.1) == "remains"
    assert verdict(0.1, 0.5) == "hidden"
    assert verdict(0.1, 0.1) == "removed"
    assert verdict(-0.4, 0.2) == "reversed"
    assert verdict(np.nan, 0.5) == ""


def test_quota_rules_on_their_own():
    sizes = pd.Series({"a": 10, "b": 11, "c": 18})
    assert fixed_counts({"praised": 2}, "praised", sizes) == {"a": 2, "b": 2, "c": 2}
    assert fixed_counts({"praised": 2}, "praised", sizes, scale=1.5) == {"a": 3, "b": 3, "c": 3}
    with pytest.raises(SchemeError, match=r"missing: \['c'\]"):
        fixed_counts({"praised": {"a": 1, "b": 1}}, "praised", sizes)
    with pytest.raises(SchemeError, match="needs a count for consequence 'summoned'"):
        fixed_counts({"praised": 1}, "summoned", sizes)
    assert same_partition(pd.Series(list("xxy")), pd.Series(list("uuv")))
    assert not same_partition(pd.Series(list("xxy")), pd.Series(list("uvv")))


# ------------------------------------------------------------------------------ Sichuan
@pytest.fixture(scope="module")
def sichuan():
    return ak.datasets.load("sichuan-39")


SICHUAN_ALTERNATIVES = ["official", "official:proportional", "official:equal", "pool", "parent",
                        "kmeans:3", "ward:2-5", "quantiles:gdp_per_capita:3"]


@pytest.fixture(scope="module")
def sichuan_run(sichuan):
    return regroup("sichuan-39", sichuan, 2025, SICHUAN_ALTERNATIVES, seed=3, draws=60,
                   factors=[vary_weights(0.25), vary_normalisation(["minmax", "zscore"])])


def test_official_design_reproduces_evaluate(sichuan, sichuan_run):
    ev = ak.evaluate("sichuan-39", sichuan, 2025)
    table = ev.scores[ev.scores["level"] == "county"].reset_index(drop=True)
    ref = sichuan_run.units[sichuan_run.units["alternative"] == "official"].reset_index(
        drop=True)
    assert ref["unit"].tolist() == table["unit"].tolist()
    assert np.array_equal(ref["score"].to_numpy(), table["score"].to_numpy(float))
    assert np.array_equal(ref["group_rank"].to_numpy(), table["group_rank"].to_numpy(float))
    fate = table["outcome"].map({"praised": "praised", "summoned": "summoned", "": "neither"})
    assert ref["fate"].tolist() == fate.tolist()
    assert (ref["change"] == "").all()


def test_official_mapping_with_other_labels_is_the_official_design(sichuan):
    units = sichuan.level_units("county")
    # the official partition under other labels: the engine treats it as the official groups,
    # so the official quotas (and the plateau's 阿坝州 / 甘孜州 split) stand
    relabel = {"秦巴山区": "north", "大小凉山彝区": "south", "川西北高原地区": "west"}
    groups = dict(zip(units["unit"], units["group"].map(relabel), strict=True))
    res = regroup("sichuan-39", sichuan, 2025, [official(), mapping(groups, name="same")],
                  seed=1)
    a, b = (res.units[res.units["alternative"] == x].reset_index(drop=True)
            for x in ("official", "same"))
    assert np.array_equal(a["score"].to_numpy(), b["score"].to_numpy())
    assert a["fate"].tolist() == b["fate"].tolist()
    assert [n.kind for n in res.notices if n.kind == "same_as_official"] == ["same_as_official"]
    same = res.quotas[res.quotas["alternative"] == "same"]
    assert set(same["subgroup"]) == {"", "阿坝州", "甘孜州"}


def test_every_alternative_rebuilds_to_the_engine_result(sichuan, sichuan_run):
    res = sichuan_run
    for name in res.names:
        ev = ak.evaluate(res.rebuild(name), sichuan, 2025)
        table = ev.scores[ev.scores["level"] == "county"].reset_index(drop=True)
        part = res.units[res.units["alternative"] == name].reset_index(drop=True)
        np.testing.assert_allclose(part["score"], table["score"].astype(float), rtol=0,
                                   atol=1e-9, err_msg=name)
        np.testing.assert_array_equal(part["group_rank"], table["group_rank"].astype(float),
                                      err_msg=name)
        fate = table["outcome"].map({"praised": "praised", "summoned": "summoned",
                                     "": "neither"})
        assert part["fate"].tolist() == fate.tolist(), name


def test_sichuan_quota_rules_by_hand(sichuan_run):
    q = sichuan_run.quotas.set_index(["alternative", "consequence", "group", "subgroup"])[
        "quota"].sort_index()
    # official: 3 of 10, 4 of 11, and 3 of 6 (阿坝州) + 5 of 12 (甘孜州) on the plateau
    assert q.loc["official", "praised"].to_dict() == {
        ("秦巴山区", ""): 3, ("大小凉山彝区", ""): 4, ("川西北高原地区", "阿坝州"): 3,
        ("川西北高原地区", "甘孜州"): 5}
    # proportional on the same groups: 15 x 10/39 = 3.85, 15 x 11/39 = 4.23, 15 x 18/39 = 6.92
    # -> floors 3, 4, 6; the two places left to .92 and .85 -> 4, 4, 7; the plateau's subgroup
    # split does not survive. Summoned: 5 x (10, 11, 18)/39 = 1.28, 1.41, 2.31 -> 1, 1, 2 and the
    # place left to .41 -> 1, 2, 2.
    assert q.loc["official/proportional", "praised"].to_dict() == {
        ("大小凉山彝区", ""): 4, ("川西北高原地区", ""): 7, ("秦巴山区", ""): 4}
    assert q.loc["official/proportional", "summoned"].to_dict() == {
        ("大小凉山彝区", ""): 2, ("川西北高原地区", ""): 2, ("秦巴山区", ""): 1}
    # equal: floor(15/3 + 1/2) = 5 praised and floor(5/3 + 1/2) = 2 summoned in every group
    assert set(q.loc["official/equal", "praised"]) == {5}
    assert set(q.loc["official/equal", "summoned"]) == {2}
    # 8 prefectures: 15 x n/39 for n = 1, 10, 2, 4, 3, 12, 1, 6 (乐山市 … 阿坝州)
    parent = q.loc["parent", "praised"]
    assert parent.sum() == 15
    assert parent.loc[("乐山市", "")] == 0 and parent.loc[("凉山彝族自治州", "")] == 4
    # the fairness table: shares
    fair = sichuan_run.quota_fairness().set_index(["alternative", "group", "subgroup"]).sort_index()
    assert fair.loc[("official", "秦巴山区", ""), "praised_share"] == pytest.approx(0.3)
    assert fair.loc[("official", "大小凉山彝区", ""), "summoned_share"] == pytest.approx(1 / 11)
    assert fair.loc[("official", "川西北高原地区", "甘孜州"), "summoned_share"] == \
        pytest.approx(2 / 12)


def test_probabilities_intervals_and_determinism(sichuan, sichuan_run):
    res = sichuan_run
    u = res.units
    assert {"p_praised", "p_praised_lo", "p_praised_hi", "rank_q05", "rank_q95"} <= set(u)
    assert ((u["p_praised_lo"] <= u["p_praised"]) & (u["p_praised"] <= u["p_praised_hi"])).all()
    assert (u["p_praised"] + u["p_summoned"] <= 1).all()
    # Wilson interval of 0 of 60: [0, 1.96^2 / (60 + 1.96^2)] = [0, 0.0602]
    zero = u[u["p_praised"] == 0].iloc[0]
    assert zero["p_praised_hi"] == pytest.approx(1.959964**2 / (60 + 1.959964**2), rel=1e-5)
    # the official grouping never differs from itself
    assert (u.loc[u["alternative"] == "official", "p_fate_change"] == 0).all()
    # a chunk size of one block gives the same result (random streams per block of draws)
    again = regroup("sichuan-39", sichuan, 2025, SICHUAN_ALTERNATIVES, seed=3, draws=60,
                    factors=[vary_weights(0.25), vary_normalisation(["minmax", "zscore"])],
                    chunk_size=1)
    pd.testing.assert_frame_equal(again.units, res.units)
    assert res.spec["seed"] == 3 and res.spec["draws"] == 60


def test_census_baseline_is_the_raw_census(sichuan):
    raw = pd.read_csv(REPO / "data" / "raw" / "sichuan" / "sichuan_county_census_2010_2020.csv",
                      dtype={"adcode": str})
    raw = raw.set_index("adcode")
    units = sichuan.level_units("county").set_index("unit")
    for ours, theirs in (("census_urbanization_rate_2010", "urbanization_rate_2010"),
                         ("census_urbanization_rate_2020", "urbanization_rate_2020"),
                         ("census_toilet_share_2020", "toilet_share_2020"),
                         ("census_population_2020", "pop_2020")):
        a = pd.to_numeric(units[ours].replace("", np.nan))
        b = raw.loc[units.index, theirs].astype(float)
        np.testing.assert_allclose(a.to_numpy(), b.to_numpy(), equal_nan=True, err_msg=ours)
    res = regroup("sichuan-39", sichuan, 2025, [kmeans(3)], seed=1,
                  baseline=census_baseline())
    # 恩阳区 (created 2013) has no 2010 census figure: imputed with a notice, not dropped
    assert any("恩阳区" in n.message for n in res.notices)
    basis = res.basis.set_index("unit")
    assert basis.loc["511903", "census_population_2020"] == pytest.approx(np.log10(345728))
    # the official regions against the clusters of the real census: a cross-table and the ARI
    table = res.crosstab("kmeans-3")
    assert table.to_numpy().sum() == 39
    ari = res.alternatives.set_index("alternative").loc["kmeans-3", "ari_official"]
    assert -0.5 < ari < 1


def test_baseline_clusters_weaken_the_score_baseline_correlation(sichuan):
    # Known truth: levels reflect latent_baseline (data/README.md, the latent model). Pooled, the
    # score correlates with it; comparing units only with similar baselines removes most of that.
    for period in (2021, 2023, 2025):
        res = regroup("sichuan-39", sichuan, period, [pooled(), kmeans(3), ward(3),
                                                      quantiles("latent_baseline", 3)],
                      seed=1, baseline=Baseline(("latent_baseline",)),
                      endowment="latent_baseline")
        rho = res.alternatives.set_index("alternative")["corr_score_all"]
        assert rho["pool"] > 0.35
        for alt in ("kmeans-3", "ward-3", "latent_baseline-q3"):
            assert rho[alt] < rho["pool"] - 0.25, (period, alt)


# ------------------------------------------------------------------------------ bad input
def test_mapping_missing_units_are_named():
    with pytest.raises(DataError, match="gives no group to 1 unit.*F 己县"):
        six([mapping({u: g for u, g in PQR.items() if u != "F"})])
    with pytest.raises(DataError, match="does not assess: X"):
        six([mapping({**PQR, "X": "P"})])


def test_an_empty_group_is_an_error():
    with pytest.raises(DataError, match=r"group\(s\) \['R'\] have no unit"):
        six([mapping({"P": ["A", "B", "C"], "Q": ["D", "E", "F"], "R": []})])


def test_a_quota_larger_than_a_group_under_a_rule_is_an_error():
    with pytest.raises(SchemeError, match="alternative 'pqr'.*group 'P' gets 3 places of "
                                          "'praised' .*holds 2 units"):
        six([mapping(PQR, name="pqr", quota_rule="fixed",
                     quota_counts={"praised": 3, "summoned": 0})])
    # equal over a group of 5 and a group of 1: praised 1 and summoned 1 in the single-unit
    # group, 2 > 1: the engine's overlap check, naming the alternative and the group
    lone = {u: ("K1" if u != "F" else "K2") for u in "ABCDEF"}
    with pytest.raises(SchemeError, match="alternative 'lone'.*'K2' add up to 2, more than its 1"):
        six([mapping(lone, name="lone", quota_rule="equal")])
    # equal with 2 praised places per official group (4 in all): K2 would get 2 of 1
    scheme = {**SIX, "levels": {"county": {**SIX["levels"]["county"], "consequences": {
        "praised": {"label": "通报表扬", "top": 2}}}}}
    with pytest.raises(SchemeError, match="group 'K2' gets 2 places of 'praised'"):
        regroup(scheme, six_dataset(), 2025, [mapping(lone, name="lone", quota_rule="equal")],
                seed=1, baseline=BASE)


def test_more_clusters_than_units_is_an_error():
    with pytest.raises(SchemeError, match="7 clusters for 6 units"):
        six([kmeans(7)])
    with pytest.raises(SchemeError, match="at most 5"):
        six([ward((2, 6))])


def test_other_bad_input():
    with pytest.raises(SchemeError, match="kind 'clusters' is unknown"):
        Alternative("clusters")
    with pytest.raises(SchemeError, match="cannot read alternative"):
        alternative_from_spec("prefecture")
    with pytest.raises(SchemeError, match="names must be unique"):
        six([pooled(), pooled()])
    with pytest.raises(SchemeError, match="'nowhere' is not a column"):
        six([by_column("nowhere")])
    with pytest.raises(SchemeError, match="quota_counts"):
        six([pooled()], quota_rule="fixed")
    with pytest.raises(SchemeError, match="the grouping analysis draws only"):
        six([pooled()], draws=5, factors=["grouping"])
    with pytest.raises(DataError, match="has no value of baseline variable 'base'"):
        data = six_dataset()
        units = data.units.copy()
        units.loc[units["unit"] == "C", "base"] = ""
        broken = ak.Dataset.from_frames(units, data.indicators, data.values, name="six")
        regroup(SIX, broken, 2025, [kmeans(2)], seed=1, baseline=BASE)
    with pytest.raises(SchemeError, match="official quotas .* belong to the official groups"):
        apply_design(ak.load_scheme(SIX), "county", six_dataset().level_units("county"),
                     Design(grouping=Regrouping(PQR, "official")))


def test_mapping_from_a_csv_file(tmp_path):
    path = tmp_path / "groups.csv"
    path.write_text("unit,group\n" + "".join(f"{u},{g}\n" for u, g in PQR.items()),
                    encoding="gbk")
    res = six([mapping(path)])
    assert res.names == ["official", "groups"]
    assert res.labels["groups"].to_dict() == PQR
    bad = tmp_path / "bad.csv"
    bad.write_text("unit,group\nA,P\nA,Q\nB,\n", encoding="utf-8")
    with pytest.raises(DataError) as err:
        mapping(bad)
    text = str(err.value)
    assert "row 3" in text and "row 4" in text and "no group" in text


def test_alternative_texts():
    assert alternative_from_spec("official:proportional") == official("proportional")
    assert alternative_from_spec("ward:2-6") == ward((2, 6))
    assert alternative_from_spec("quantiles:base").k == 3
    assert alternative_from_spec({"kind": "kmeans", "k": [2, 4]}).k == (2, 4)
    assert alternative_from_spec("column:subgroup").column == "subgroup"


def test_default_alternatives_fit_the_scheme(sichuan):
    names = [a.name for a in default_alternatives("sichuan-39", sichuan)]
    assert names == ["official", "official/proportional", "pool", "parent", "kmeans-3",
                     "ward-3", "endowment-q3"]
    jincheng = ak.datasets.load("jincheng")
    # one group of six counties: no proportional or pooled variant of the official groups
    names = [a.name for a in default_alternatives("jincheng-1plus4", jincheng)]
    assert names[0] == "official" and "pool" not in names


def test_result_tables_and_html(sichuan_run):
    res = sichuan_run
    assert "秦巴山区" in res.summary() and "largest remainder" in res.summary()
    html_text = res._repr_html_()
    assert "<table" in html_text
    agreement = res.agreement()
    assert agreement.loc["official", "official/proportional"] == pytest.approx(1.0)
    assert agreement.loc["official", "pool"] == pytest.approx(0.0)
    tables = res.tables()
    assert set(tables) == {"units", "alternatives", "quotas", "changes", "groups", "scan",
                           "baseline"}
    assert len(tables["units"]) == 39 * len(res.names)
    assert tables["groups"].columns.tolist() == ["unit", *res.names]


def test_names_from_data_are_escaped(tmp_path, capsys):
    import yaml

    from assesskit.cli import main

    data = six_dataset()
    units = data.units.copy()
    units.loc[units["unit"] == "A", "name"] = "=HYPERLINK(\"http://x\")"
    units.loc[units["unit"] == "B", "name"] = "<b>乙</b>"
    hostile = ak.Dataset.from_frames(units, data.indicators, data.values, name="six")
    res = regroup(SIX, hostile, 2025, [mapping({**PQR}, name="<i>x</i>")], seed=1,
                  baseline=BASE)
    assert "<i>x</i>" not in res._repr_html_() and "&lt;i&gt;" in res._repr_html_()
    # the command line writes the tables with the project's formula-safe CSV writer
    folder = tmp_path / "six"
    folder.mkdir()
    units.to_csv(folder / "units.csv", index=False)
    data.indicators.to_csv(folder / "indicators.csv", index=False)
    data.values.to_csv(folder / "values.csv", index=False)
    scheme = tmp_path / "six.yaml"
    scheme.write_text(yaml.safe_dump(SIX, allow_unicode=True), encoding="utf-8")
    out = tmp_path / "out"
    code = main(["grouping", "--scheme", str(scheme), "--data", str(folder), "-a", "pool",
                 "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    back = pd.read_csv(out / "units.csv", dtype=str, keep_default_na=False,
                       encoding="utf-8-sig")
    assert set(back.loc[back["unit"] == "A", "name"]) == {"'=HYPERLINK(\"http://x\")"}
    assert set(back.loc[back["unit"] == "B", "name"]) == {"<b>乙</b>"}


def test_plots_render(sichuan_run):
    from matplotlib.figure import Figure

    for kind in ("fates", "baseline", "quotas", "parents"):
        assert isinstance(sichuan_run.plot(kind), Figure)
    with pytest.raises(ValueError, match="kind must be one of"):
        sichuan_run.plot("map")


# ------------------------------------------------------------------------------ command line
def test_command_line_end_to_end(capsys, tmp_path):
    from assesskit.cli import main

    groups = tmp_path / "halves.csv"
    units = ak.datasets.load("sichuan-39").level_units("county")
    groups.write_text("unit,group\n" + "".join(
        f"{u},{'first' if i < 20 else 'second'}\n" for i, u in enumerate(units["unit"])),
        encoding="utf-8")
    out = tmp_path / "out"
    code = main(["grouping", "--period", "2025", "-a", "official", "-a", "official:proportional",
                 "-a", "pool", "-a", "kmeans:3", "-a", f"mapping:{groups}", "--draws", "20",
                 "--seed", "5", "--out", str(out)])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert "official quotas, 通报表扬 (top quota): 秦巴山区 3 of 10" in printed.out
    assert "wrote" in printed.out and printed.err == ""
    alternatives = pd.read_csv(out / "alternatives.csv", encoding="utf-8-sig")
    assert alternatives["alternative"].tolist() == ["official", "official/proportional", "pool",
                                                    "kmeans-3", "halves"]
    table = pd.read_csv(out / "units.csv", dtype={"unit": str}, encoding="utf-8-sig")
    assert len(table) == 5 * 39
    official_fates = table[table["alternative"] == "official"]["fate"].value_counts()
    assert official_fates.to_dict() == {"neither": 19, "praised": 15, "summoned": 5}
    halves = table[table["alternative"] == "halves"]
    assert sorted(halves["group_size"].unique().tolist()) == [19, 20]
    quotas = pd.read_csv(out / "quotas.csv", encoding="utf-8-sig")
    # the halves, proportional: 15 x 20/39 = 7.69 and 15 x 19/39 = 7.31 -> 7, 7 and the place
    # left to .69 -> 8 and 7
    part = quotas[(quotas["alternative"] == "halves") & (quotas["consequence"] == "praised")]
    assert dict(zip(part["group"], part["quota"], strict=True)) == {"first": 8, "second": 7}
    assert (out / "summary.txt").read_text(encoding="utf-8").startswith("regional grouping")
    for png in ("fates.png", "baseline.png", "quotas.png", "parents.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_command_line_bad_alternative(capsys):
    from assesskit.cli import main

    code = main(["grouping", "-a", "kmeans:40"])
    err = capsys.readouterr().err
    assert code == 1 and "40 clusters for 39 units" in err


# ------------------------------------------------------------------------------ context, words
def test_context_states_groups_quotas_baseline_and_origin(sichuan):
    from assesskit.analysis.grouping import grouping_context

    ctx = grouping_context("sichuan-39", sichuan, period=2025)
    assert ctx.groups == {"秦巴山区": 10, "大小凉山彝区": 11, "川西北高原地区": 18}
    assert ctx.split == {"川西北高原地区": {"阿坝州": 6, "甘孜州": 12}}
    assert ctx.praised == ["通报表扬"] and ctx.summoned == ["约谈"]
    assert ctx.values_origin == "synthetic" and ctx.baseline.name == "census 2010/2020"
    text = ctx.markdown()
    assert "川西北高原地区 (18: 阿坝州 6, 甘孜州 12)" in text and "synthetic" in text
    one = grouping_context("jincheng-1plus4", ak.datasets.load("jincheng"))
    assert not one.has_groups and "in one group" in one.markdown()
    hdi = grouping_context("undp-hdi", ak.datasets.load("hdr-2023"), period=2022)
    assert hdi.units == 193 and not hdi.has_quotas and hdi.values_origin == "real"
    assert "no quota consequence" in hdi.markdown()


def test_without_baseline_data_the_analysis_says_so_and_runs():
    from assesskit.analysis.grouping import grouping_context

    data = six_dataset()
    earlier = data.values.assign(period="2024").astype({"value": float})
    earlier.loc[earlier["unit"] == "C", "value"] = np.nan  # C reports nothing in the first year
    values = pd.concat([earlier, data.values], ignore_index=True)
    units = data.units.drop(columns=["base"])
    gappy = ak.Dataset.from_frames(units, data.indicators, values, name="gappy")
    ctx = grouping_context(SIX, gappy)
    assert ctx.baseline is None and "No baseline data" in ctx.markdown()
    assert [a.kind for a in default_alternatives(SIX, gappy)] == ["official", "official",
                                                                   "pool", "parent"]
    res = regroup(SIX, gappy, 2025, None, seed=1)
    assert res.names == ["official", "official/proportional", "pool", "parent"]
    assert res.alternatives["corr_score_all"].isna().all()
    assert any(n.kind == "no_baseline" for n in res.notices)
    assert "Starting points" not in res.narrative(ctx)
    with pytest.raises(SchemeError, match="clusters the baseline, but there is none"):
        regroup(SIX, gappy, 2025, [kmeans(2)], seed=1)


def test_narrative_sentences_follow_the_results(sichuan_run):
    from assesskit.analysis.grouping import grouping_context

    text = sichuan_run.narrative(grouping_context("sichuan-39", ak.datasets.load("sichuan-39")))
    a = sichuan_run.alternatives.set_index("alternative")
    most = a.loc[sichuan_run.names[1:], "units_changing_fate"].idxmax()
    assert f"`{most}` changes the fate of {a.loc[most, 'units_changing_fate']} of 39" in text
    # Sichuan's official praise shares: 3/6 = 50% (阿坝州) the highest, 3/10 = 30% the lowest
    assert "50% of 川西北高原地区·阿坝州 (3 of 6) but 30% of 秦巴山区 (3 of 10)" in text
    assert "15/39 = 38%" in text
    assert "synthetic" in text and "census" in text
