"""Tests of assesskit.analysis.uncertainty: Monte Carlo over a scheme's design choices, vectorised.

The strongest check is the engine itself: every run rebuilt as a scheme and evaluated by
``evaluate`` must give the outcomes the vectorised engine stored, and the same scores to
rounding. Expected probabilities in the tiny case are worked out by hand from the raw ratings;
quota rules by hand from the group sizes; Sobol' indices of factor groups against SALib and the
analytic Ishigami decomposition.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import assesskit as ak
from assesskit import sensitivity as sens
from assesskit.analysis.uncertainty import (
    SchemeFactor,
    default_factors,
    factor_from_spec,
    uncertainty,
)
from assesskit.analysis.uncertainty import vary_aggregation as aggregation
from assesskit.analysis.uncertainty import vary_grouping as grouping
from assesskit.analysis.uncertainty import vary_missing as missing
from assesskit.analysis.uncertainty import vary_normalisation as normalisation
from assesskit.analysis.uncertainty import vary_quota as quota
from assesskit.analysis.uncertainty import vary_weights as weights
from assesskit.engine.consequences import apportion
from assesskit.engine.ranking import Groups, id_order, rank, ranks_within, score_keys
from assesskit.errors import DataError, SchemeError


@pytest.fixture(scope="module")
def sichuan():
    return ak.datasets.load("sichuan-39")


@pytest.fixture(scope="module")
def all_kinds(sichuan):
    """Sichuan with one factor of every kind (4 base rows x 8 blocks = 32 runs)."""
    factors = [
        weights(0.25),
        normalisation(["minmax", "zscore", {"method": "minmax", "range": [50, 100],
                                            "within": "pool"}]),
        aggregation(["arithmetic", "geometric", "harmonic"]),
        missing(["renormalise", "impute_group_mean"]),
        grouping(["official", "pool", "parent"]),
        quota([0.5, 1.0, 1.5]),
    ]
    return uncertainty("sichuan-39", sichuan, 2025, factors=factors, n=4, seed=1)


def tiny_dataset():
    """Three counties, one group, two ratings (scored as given, 0-100).

    ====  ==  ==   arithmetic  minimum  geometric
    unit  a   b    (w = 1/2)
    X     100 20   60          20       sqrt(2000) = 44.72
    Y     50  50   50          50       50
    Z     30  40   35          30       sqrt(1200) = 34.64
    ====  ==  ==
    """
    units = pd.DataFrame({"unit": ["X", "Y", "Z"], "name": ["甲县", "乙县", "丙县"],
                          "name_en": ["X", "Y", "Z"], "level": "county", "group": "G"})
    indicators = pd.DataFrame({"indicator": ["a", "b"], "name": ["甲指标", "乙指标"],
                               "name_en": ["A", "B"], "unit_of_measure": "分",
                               "direction": "higher"})
    values = pd.DataFrame({"unit": ["X", "X", "Y", "Y", "Z", "Z"], "period": "2025",
                           "indicator": ["a", "b"] * 3, "value": [100, 20, 50, 50, 30, 40]})
    return ak.Dataset.from_frames(units, indicators, values, name="tiny",
                                  provenance="hand-made test data")


TINY_SCHEME = {
    "name": "tiny",
    "levels": {"county": {
        "units": {"level": "county"},
        "tree": {"a": {"weight": 0.5, "scoring": {"method": "value"}},
                 "b": {"weight": 0.5, "scoring": {"method": "value"}}},
        "ranking": {"group_by": "group", "ties": {"method": "min", "decimals": 6}},
        "consequences": {"praised": {"label": "通报表扬", "top": 1},
                         "summoned": {"label": "约谈", "bottom": 1}},
    }},
}


# ------------------------------------------------------------------------------ by hand


def test_tiny_case_probabilities_and_ranks_by_hand():
    data = tiny_dataset()
    agg = aggregation(["arithmetic", "minimum", "geometric"], probs=[0.5, 0.3, 0.2])
    res = uncertainty(TINY_SCHEME, data, 2025, factors=[agg, weights(0.1)], n=400, seed=2)
    runs = len(res.draws)
    assert runs == 400 * 4  # n (g + 2) with two factor groups
    share = res.draws["aggregation"].value_counts(normalize=True)
    arith, minimum, geo = share["arithmetic"], share["minimum"], share["geometric"]
    # By hand (table of tiny_dataset): arithmetic -> X 60 > Y 50 > Z 35 (X praised, Z summoned);
    # minimum -> Y 50 > Z 30 > X 20 (Y praised, X summoned); geometric -> Y 50 > X 44.7 > Z 34.6
    # (Y praised, Z summoned). Weights within ±10% never reorder: X's arithmetic mean is at least
    # (0.9*100 + 1.1*20) / 2 = 56 > 50, its geometric mean at most
    # exp((1.1 ln 100 + 0.9 ln 20) / 2) = 47.0 < 50 and at least 41.3 > Z's at most 35.1.
    r = res.ranks.set_index("unit")
    assert r.loc["X", "p_praised"] == pytest.approx(arith, abs=1e-12)
    assert r.loc["X", "p_summoned"] == pytest.approx(minimum, abs=1e-12)
    assert r.loc["Y", "p_praised"] == pytest.approx(minimum + geo, abs=1e-12)
    assert r.loc["Y", "p_summoned"] == 0
    assert r.loc["Z", "p_summoned"] == pytest.approx(arith + geo, abs=1e-12)
    assert r.loc["Z", "p_praised"] == 0
    # The options are drawn with their probabilities (inverse CDF): 1600 runs, 3 sd ~ 0.04.
    assert arith == pytest.approx(0.5, abs=0.05) and minimum == pytest.approx(0.3, abs=0.05)
    # Ranks of X: 1 (arithmetic), 3 (minimum), 2 (geometric). Official: arithmetic.
    assert r.loc["X", "nominal_rank"] == 1 and r.loc["X", "nominal_outcome"] == "praised"
    assert r.loc["X", "mean_rank"] == pytest.approx(arith * 1 + geo * 2 + minimum * 3)
    assert r.loc["X", "q05"] == 1 and r.loc["X", "q95"] == 3
    assert r.loc["X", "median_rank"] == (1 if arith >= 0.5 else 2)
    # Y is 2nd under arithmetic and 1st otherwise; Z 3rd, 2nd (minimum), 3rd.
    assert r.loc["Y", "mean_rank"] == pytest.approx(arith * 2 + (1 - arith) * 1)
    assert r.loc["Z", "mean_rank"] == pytest.approx(3 * (arith + geo) + 2 * minimum)
    # Mean absolute rank shift of a run: arithmetic 0; minimum |3-1|+|1-2|+|2-3| = 4 -> 4/3;
    # geometric |2-1|+|1-2|+0 = 2 -> 2/3.
    agg_of_run = res.draws["aggregation"].to_numpy()
    expected_shift = np.select([agg_of_run == "arithmetic", agg_of_run == "minimum"],
                               [0.0, 4 / 3], 2 / 3)
    np.testing.assert_allclose(res.rank_shift, expected_shift, atol=1e-12)

    # Sobol': the weights change no rank and no outcome: exactly zero. The aggregation carries
    # all the variance of every output (it is the only factor that matters): S1 = ST = 1 up to
    # sampling error.
    ind = res.sobol(n_boot=50)
    w = ind[ind["factor"] == "weights"]
    assert (w[["S1", "S1_lo", "S1_hi", "ST", "ST_lo", "ST_hi"]].to_numpy() == 0).all()
    a = ind[(ind["factor"] == "aggregation") & (ind["variance"] > 0)]
    assert len(a) == 5  # the two summaries and the three units
    # switching the aggregation gives y_AB = y_B (the weights do not matter), so the total
    # index is mean((y_A - y_B)^2) / (2 V), 1 in expectation; the first-order index too.
    assert ((a["ST"] > 0.9) & (a["ST"] < 1.1)).all()
    assert ((a["S1"] > 0.85) & (a["S1"] < 1.15)).all()


def test_factor_that_changes_nothing_gets_exactly_zero():
    # Every leaf of the tiny scheme is an absolute rating: the normalisation factor replaces
    # only relative rules (min-max, z-score, percentile), so it cannot change anything.
    res = uncertainty(TINY_SCHEME, tiny_dataset(), 2025,
                      factors=[normalisation(["minmax", "zscore", "percentile"]),
                               aggregation(["arithmetic", "minimum"])], n=256, seed=5)
    ind = res.sobol(n_boot=30)
    dummy = ind[ind["factor"] == "normalisation"]
    assert len(dummy) == 2 + 3
    assert (dummy[["S1", "S1_lo", "S1_hi", "ST", "ST_lo", "ST_hi"]].to_numpy() == 0).all()
    assert (ind.loc[ind["factor"] == "aggregation", "ST"] > 0.85).all()


def test_nominal_design_reproduces_the_official_outcome(sichuan):
    res = uncertainty("sichuan-39", sichuan, 2025, factors=[weights(0.0)], n=8, seed=1)
    official = ak.evaluate("sichuan-39", sichuan, 2025).scores
    official = official[official["level"] == "county"].reset_index(drop=True)
    r = res.ranks
    pd.testing.assert_series_equal(r["unit"], official["unit"])
    np.testing.assert_array_equal(r["p_praised"], (official["outcome"] == "praised") * 1.0)
    np.testing.assert_array_equal(r["p_summoned"], (official["outcome"] == "summoned") * 1.0)
    for col in ("median_rank", "q05", "q95", "mean_rank"):
        np.testing.assert_array_equal(r[col], official["group_rank"].to_numpy(float))
    assert (res.rank_shift == 0).all()
    assert (res.outputs()["outcome_changes"] == 0).all()
    assert r["p_praised"].sum() == 15 and r["p_summoned"].sum() == 5  # 3+4+3+5 and 1+1+1+2


# ------------------------------------------------------------------------------ the engine


def _official_ranks(ev, scheme) -> np.ndarray:
    """Ranks within the official groups from the engine's own scores and tie-break node."""
    table = ev.scores[ev.scores["level"] == "county"].reset_index(drop=True)
    lr = ev.level_results["county"]
    ties = scheme.levels["county"].ranking["ties"]
    ids = [nd.id for nd in lr.nodes]
    tb = pd.DataFrame({nid: lr.score[:, ids.index(nid)] for nid in ties["break_by"]})
    return rank(table["score"], table["group"], ties, tb, ids=table["unit"]).to_numpy()


def test_every_kind_of_run_rebuilds_to_the_engine_result(sichuan, all_kinds):
    res = all_kinds
    official = ak.load_scheme("sichuan-39")
    seen = {c: set() for c in ("normalisation", "aggregation", "missing", "grouping", "quota")}
    for run in range(len(res.draws)):
        scheme = res.rebuild(run)
        assert scheme.log[-1]["change"] == "uncertainty_run" and scheme.log[-1]["run"] == run
        ev = ak.evaluate(scheme, sichuan, 2025)
        table = ev.scores[ev.scores["level"] == "county"].reset_index(drop=True)
        mine = res.run(run)
        np.testing.assert_array_equal(table["outcome"].astype(str), res.outcome_keys(run))
        np.testing.assert_array_equal(mine["outcome"], res.outcome_keys(run))
        np.testing.assert_allclose(mine["score"], table["score"], rtol=0, atol=1e-9)
        np.testing.assert_array_equal(mine["official_group_rank"], _official_ranks(ev, official))
        for c in seen:
            seen[c].add(str(res.draws.loc[run, c]))
    # the runs cover every option of every factor (seed chosen for that)
    assert [len(seen[c]) for c in seen] == [3, 3, 2, 3, 3], seen


@pytest.mark.parametrize("name, data, period, factors", [
    ("sichuan-39", "sichuan-39", 2025,
     [weights(concentration=20), missing(["renormalise", "zero", "impute_group_mean"]),
      aggregation(["arithmetic", "harmonic", "minimum"])]),
    ("dingxi", "dingxi", 2024,  # quarterly: four sub-periods combined; deductions
     [weights(0.3), normalisation(["minmax", "percentile"]), quota([1, 2])]),
    ("jincheng-1plus4", "jincheng", 2025,  # overrides, applies_to, grades, coefficients
     [weights(0.3), normalisation(["minmax", "zscore"])]),
])
def test_other_schemes_rebuild_to_the_engine_result(name, data, period, factors):
    data = ak.datasets.load(data)
    res = uncertainty(name, data, period, factors=factors, n=2, seed=3)
    for run in range(0, len(res.draws), 2):
        ev = ak.evaluate(res.rebuild(run), data, period)
        table = ev.scores[ev.scores["level"] == res.level].reset_index(drop=True)
        np.testing.assert_array_equal(table["outcome"].astype(str), res.outcome_keys(run))
        np.testing.assert_allclose(res.run(run)["score"], table["score"], rtol=0, atol=1e-9)


def ties_dataset():
    """Ten counties in two groups of five; ratings a, b (scored as given) and a pass/fail c.

    ====  =====  ===  ===  ===  =====================================================
    unit  group  a    b    c    equal weights
    A     G1     80   80   60   80 (on the 优秀 threshold)
    B     G1     90   70   60   80 (tied with A at equal weights)
    C     G1     70   70   60   70
    D     G1     60   60   60   60 (on the 良好 threshold)
    E     G1     100  100  10   vetoed (c < 50): score 0, never praised, summoned
    F     G2     50   50   60   50 }
    G     G2     50   50   60   50 } identical: tied for the two praise places
    H     G2     50   50   60   50 }
    I     G2     30   30   60   30 } identical: tied at the bottom
    J     G2     30   30   60   30 }
    ====  =====  ===  ===  ===  =====================================================
    """
    ids = list("ABCDEFGHIJ")
    units = pd.DataFrame({"unit": ids, "name": [f"{u}县" for u in ids], "name_en": ids,
                          "level": "county", "group": ["G1"] * 5 + ["G2"] * 5})
    indicators = pd.DataFrame({"indicator": ["a", "b", "c"], "name": ["甲", "乙", "丙"],
                               "name_en": ["A", "B", "C"], "unit_of_measure": "分",
                               "direction": "higher"})
    table = {"a": [80, 90, 70, 60, 100, 50, 50, 50, 30, 30],
             "b": [80, 70, 70, 60, 100, 50, 50, 50, 30, 30],
             "c": [60, 60, 60, 60, 10, 60, 60, 60, 60, 60]}
    values = pd.DataFrame([{"unit": u, "period": "2025", "indicator": k, "value": v[i]}
                           for k, v in table.items() for i, u in enumerate(ids)])
    return ak.Dataset.from_frames(units, indicators, values, name="ties",
                                  provenance="hand-made test data")


@pytest.mark.parametrize("at_quota", ["include", "exclude"])
@pytest.mark.parametrize("method", ["min", "average", "dense", "first"])
def test_ties_vetoes_and_grades_follow_the_engine(method, at_quota):
    scheme = {
        "name": "ties",
        "levels": {"county": {
            "units": {"level": "county"},
            "tree": {"a": {"weight": 0.5, "scoring": {"method": "value"}},
                     "b": {"weight": 0.5, "scoring": {"method": "value"}},
                     "c": {"weight": 0.0, "scoring": {"method": "passfail", "threshold": 50,
                                                      "on_fail": "veto"}}},
            "ranking": {"group_by": "group",
                        "ties": {"method": method, "decimals": 1, "break_by": ["a"],
                                 "at_quota": at_quota}},
            "grades": {"by": "score", "bands": [[80, "优秀"], [60, "良好"], [0, "一般"]]},
            "consequences": {"veto": {"score": 0},
                             "praised": {"label": "通报表扬", "top": 2},
                             "summoned": {"label": "约谈", "bottom": 1},
                             "reminded": {"label": "提醒谈话", "grades": ["一般"]}},
        }},
    }
    data = ties_dataset()
    res = uncertainty(scheme, data, 2025, n=3,  seed=1, summoned=["summoned", "reminded"],
                      factors=[weights(0.2, nodes=["a", "b"]),
                               aggregation(["arithmetic", "minimum"])])
    nominal = res.ranks["nominal_outcome"].tolist()
    # By hand, official design (units A..J). Grades: A, B 优秀 (80 reaches the threshold); C, D
    # 良好 (D's 60 reaches 良好); E vetoed: the lowest grade 一般, score 0; F..J 一般 (50, 30).
    # Every unit graded 一般 is reminded, whatever else it gets. G1: A and B tie at 80 for the
    # two praise places: both in, in every mode (no overfill); E (score 0) is summoned.
    # G2: F, G, H tie at 50 for two praise places, I and J at 30 for one summons. Ties at a
    # quota are all in ("include"), all out ("exclude": the last place is dropped), or broken by
    # unit id ("first": F, G praised; of I and J, J is ranked last and summoned).
    g1 = ["praised", "praised", "", "", "summoned+reminded"]
    expected = {
        "include": g1 + ["praised+reminded"] * 3 + ["summoned+reminded"] * 2,
        "exclude": g1 + ["reminded"] * 5,
        "first": g1 + ["praised+reminded"] * 2 + ["reminded"] * 2 + ["summoned+reminded"],
    }
    assert nominal == expected["first" if method == "first" else at_quota]
    for run in range(len(res.draws)):
        ev = ak.evaluate(res.rebuild(run), data, 2025)
        table = ev.scores[ev.scores["level"] == "county"].reset_index(drop=True)
        np.testing.assert_array_equal(table["outcome"].astype(str), res.outcome_keys(run),
                                      err_msg=f"run {run}: {res.params(run)}")


def test_pooled_runs_normalise_across_all_units(sichuan, all_kinds):
    # Independent of the vectorised engine: in a pooled run's rebuilt scheme, min-max leaves
    # compare all 39 counties, so exactly one county tops each leaf; officially one per group.
    res = all_kinds
    draws = res.draws
    pooled = draws.index[(draws["grouping"] == "pool") & (draws["normalisation"] == "minmax")]
    grouped = draws.index[(draws["grouping"] == "official") & (draws["normalisation"] == "minmax")]
    assert len(pooled) and len(grouped)
    for run, tops in ((pooled[0], 1), (grouped[0], 3)):
        contrib = ak.evaluate(res.rebuild(run), sichuan, 2025).contributions
        leaf = contrib[(contrib["node"] == "gdp_per_capita") & (contrib["level"] == "county")]
        assert (leaf["score"] == 100).sum() == tops
        assert leaf["score"].min() == 60


def test_quota_rules_by_hand(sichuan, all_kinds):
    # Largest remainder: 15 praise places for groups of 10, 11 and 18 counties:
    # 15*10/39 = 3.846, 15*11/39 = 4.231, 15*18/39 = 6.923 -> floors 3, 4, 6 (13 places), the
    # 2 left go to the largest remainders .923 and .846.
    sizes = pd.Series({"秦巴山区": 10, "大小凉山彝区": 11, "川西北高原地区": 18})
    assert apportion(15, sizes) == {"秦巴山区": 4, "大小凉山彝区": 4, "川西北高原地区": 7}
    # Tie in the remainders and the sizes: the group that sorts first gets the place.
    assert apportion(3, pd.Series({"a": 5, "b": 5})) == {"a": 2, "b": 1}

    res = all_kinds
    for run in res.draws.index:
        params = res.params(run)
        consequences = res.rebuild(run).spec["levels"]["county"]["consequences"]
        scale, group = params["quota"]["praised"], params["grouping"]
        top, bottom = consequences["praised"]["top"], consequences["summoned"]["bottom"]
        if group == "official":
            # each (sub)group's quota times the multiplier, rounded half up:
            # 3, 4, {3, 5} -> x0.5: 2, 2, {2, 3}; x1.5: 5, 6, {5, 8}
            expected = {0.5: (2, 2, 2, 3), 1.0: (3, 4, 3, 5), 1.5: (5, 6, 5, 8)}[scale]
            assert (top["秦巴山区"], top["大小凉山彝区"], top["川西北高原地区"]["阿坝州"],
                    top["川西北高原地区"]["甘孜州"]) == expected
            assert bottom == {"秦巴山区": 1, "大小凉山彝区": 1,
                              "川西北高原地区": {"阿坝州": 1, "甘孜州": 2}}
        elif group == "pool":
            # 15 x multiplier rounded half up (7.5 -> 8, 22.5 -> 23); 5 summoned
            assert top == {0.5: 8, 1.0: 15, 1.5: 23}[scale] and bottom == 5
        else:
            assert sum(top.values()) == {0.5: 8, 1.0: 15, 1.5: 23}[scale]
            assert sum(bottom.values()) == 5

    # Doubling the praise quotas of the plateau (18 counties): 2 x (3 + 5) praised + 1 + 2
    # summoned = 19 > 18.
    with pytest.raises(SchemeError, match="川西北高原地区' add up to 19, more than its 18 units"):
        uncertainty("sichuan-39", sichuan, 2025, factors=[quota([1.0, 2.0])], n=2, seed=1)


# ------------------------------------------------------------------------------ mechanics


def test_same_seed_gives_identical_results_and_the_seed_is_recorded(sichuan):
    factors = [weights(0.25), normalisation(), grouping()]
    one = uncertainty("sichuan-39", sichuan, 2025, factors=factors, n=16, seed=3)
    two = uncertainty("sichuan-39", sichuan, 2025, factors=factors, n=16, seed=3,
                      chunk_size=7)
    assert one.ranks.equals(two.ranks) and one.draws.equals(two.draws)
    np.testing.assert_array_equal(one.outcomes, two.outcomes)
    np.testing.assert_array_equal(one.rank_shift, two.rank_shift)
    assert one.sobol(n_boot=20).equals(one.sobol(n_boot=20))
    spec = one.spec
    assert spec["seed"] == 3 and spec["n"] == 16 and spec["runs"] == 16 * 5
    assert [f["kind"] for f in spec["factors"]] == ["weights", "normalisation", "grouping"]
    rebuilt = uncertainty("sichuan-39", sichuan, 2025, factors=spec["factors"], n=spec["n"],
                          seed=spec["seed"])
    assert rebuilt.ranks.equals(one.ranks)
    other = uncertainty("sichuan-39", sichuan, 2025, factors=factors, n=16, seed=4)
    assert not other.draws.equals(one.draws)


def test_dask_local_cluster_gives_identical_results(sichuan):
    distributed = pytest.importorskip("dask.distributed")
    factors = [weights(0.25), normalisation(), missing(["renormalise", "impute_group_mean"])]
    local = uncertainty("sichuan-39", sichuan, 2025, factors=factors, n=16, seed=8,
                        chunk_size=20)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as client:
        remote = uncertainty("sichuan-39", sichuan, 2025, factors=factors, n=16, seed=8,
                             chunk_size=20, client=client)
    assert remote.ranks.equals(local.ranks) and remote.draws.equals(local.draws)
    np.testing.assert_array_equal(remote.outcomes, local.outcomes)
    np.testing.assert_array_equal(remote.rank_shift, local.rank_shift)


def _reference_ranks(keys: list, groups: np.ndarray, ids: np.ndarray, method: str):
    """Ranks by definition, one unit at a time (independent of the vectorised kernel).

    Rank of a unit = 1 + members of its group with strictly better keys (min), the mean of the
    positions its tie spans (average), 1 + distinct better keys (dense), or its position when
    ties are ordered by unit id (first). From the bottom: 1 + members strictly worse (ties share
    the worse place), or the strict reverse order under first.
    """
    n = len(ids)
    key = [tuple(k[i] for k in keys) for i in range(n)]
    top, bottom = np.empty(n), np.empty(n)
    for i in range(n):
        mates = [j for j in range(n) if groups[j] == groups[i]]
        better = [j for j in mates if key[j] > key[i]]
        tied = [j for j in mates if key[j] == key[i]]
        worse = [j for j in mates if key[j] < key[i]]
        if method == "first":
            before = len(better) + sum(ids[j] < ids[i] for j in tied)
            top[i] = before + 1
            bottom[i] = len(mates) - before
            continue
        if method == "min":
            top[i] = len(better) + 1
        elif method == "average":
            top[i] = len(better) + (len(tied) + 1) / 2
        else:
            top[i] = len({key[j] for j in better}) + 1
        bottom[i] = len(worse) + 1
    return top, bottom


@pytest.mark.parametrize("method", ["min", "average", "dense", "first"])
@pytest.mark.parametrize("wide", [False, True], ids=["packed", "lexsort"])
def test_vectorised_ranks_equal_the_definition(method, wide):
    rng = np.random.default_rng(0)
    n, d = 17, 25
    ids = np.array([f"u{rng.integers(100):02d}{i}" for i in range(n)], dtype=object)
    groups = rng.choice(["a", "b", "c"], n)
    score = rng.integers(0, 5, (d, n)) / 2.0  # many ties
    tie = rng.integers(0, 3, (d, n)) * 1.0
    keys = [score_keys(score, 2), score_keys(tie, 2)]
    if wide:  # more than 62 bits: the lexicographic path
        keys = [k * 10**9 + (k > 200) * 10**17 for k in keys]
        keys[0][0, 0] = -10**17
    ranks, _, from_bottom = ranks_within(keys, Groups.from_labels(groups), method, id_order(ids),
                                         places=True)
    for r in range(d):
        top, bottom = _reference_ranks([k[r] for k in keys], groups, ids, method)
        np.testing.assert_array_equal(ranks[r], top)
        np.testing.assert_array_equal(from_bottom[r], bottom)


def test_rank_quantiles_are_the_inverted_cdf_of_every_run(sichuan):
    res = uncertainty("sichuan-39", sichuan, 2025,
                      factors=[weights(0.4), aggregation(["arithmetic", "geometric"])],
                      n=12, seed=9)
    ranks = np.stack([res.run(i)["official_group_rank"].to_numpy()
                      for i in range(len(res.draws))])
    for col, q in (("q05", 0.05), ("median_rank", 0.5), ("q95", 0.95)):
        np.testing.assert_array_equal(res.ranks[col],
                                      np.quantile(ranks, q, axis=0, method="inverted_cdf"))
    np.testing.assert_allclose(res.ranks["mean_rank"], ranks.mean(axis=0))
    nominal = res.ranks["nominal_rank"].to_numpy()
    np.testing.assert_allclose(res.rank_shift, np.abs(ranks - nominal).mean(axis=1))


def test_dirichlet_weights_centre_on_the_official_shares(sichuan):
    c = 40.0
    res = uncertainty("sichuan-39", sichuan, 2025, factors=[weights(concentration=c)],
                      n=1500, seed=4)
    a = res.draws[res.draws["block"] == "A"]  # independent draws
    # task / responsibility: official shares 0.9 / 0.1; multiplier = drawn share / official
    task, resp = 0.9 * a["weights:task"], 0.1 * a["weights:responsibility"]
    np.testing.assert_allclose(task + resp, 1.0, atol=1e-12)
    # Dirichlet(c w): mean w, variance w (1 - w) / (c + 1) = 0.09 / 41 (sd 0.0469)
    assert task.mean() == pytest.approx(0.9, abs=3 * 0.0469 / np.sqrt(1500))
    assert task.var() == pytest.approx(0.09 / 41, rel=0.15)
    # ten equal task indicators: each share 1/10 on average
    cols = [c for c in a.columns if c.startswith("weights:") and c not in
            ("weights:task", "weights:responsibility") and not c.startswith("weights:resp_")]
    shares = a[cols] / 10
    np.testing.assert_allclose(shares.sum(axis=1), 1.0, atol=1e-12)
    assert shares.mean().between(0.09, 0.11).all()


def test_grouped_sobol_indices_equal_salib_and_the_analytic_values():
    from SALib.analyze import sobol as salib_sobol
    from SALib.sample import sobol as salib_sample

    # Ishigami with x1 and x3 in one group: the group's first-order index is
    # (V1 + V3 + V13) / V = (V1 + V13) / V = 0.5576 and, as x2 does not interact with the group,
    # so is its total index; x2: 0.4424 (see test_sensitivity.ishigami_indices).
    a, b = 7.0, 0.1
    v = a**2 / 8 + b * np.pi**4 / 5 + b**2 * np.pi**8 / 18 + 0.5
    v1 = 0.5 * (1 + b * np.pi**4 / 5) ** 2
    v13 = b**2 * np.pi**8 * (1 / 18 - 1 / 50)
    expected = np.array([(v1 + v13) / v, a**2 / 8 / v])

    def ishigami(x):
        return np.sin(x[:, 0]) + a * np.sin(x[:, 1]) ** 2 + b * x[:, 2] ** 4 * np.sin(x[:, 0])

    factors = [sens.uniform(f"x{i}", -np.pi, np.pi) for i in (1, 2, 3)]
    groups = ["g13", "x2", "g13"]
    problem = {"num_vars": 3, "names": ["x1", "x2", "x3"], "bounds": [[-np.pi, np.pi]] * 3,
               "groups": groups}
    n = 1024
    x_salib = salib_sample.sample(problem, n, calc_second_order=False, seed=3)
    # SALib interleaves per base row: A, AB_g13, AB_x2, B
    design = sens.SampleDesign(factors, A=x_salib[0::4], B=x_salib[3::4], groups=groups)
    assert design.group_names == ["g13", "x2"] and design.n_runs == 4 * n
    ours = design.matrix().reshape(4, n, 3)[[0, 2, 3, 1]].transpose(1, 0, 2).reshape(-1, 3)
    np.testing.assert_array_equal(ours, x_salib)
    ref = salib_sobol.analyze(problem, ishigami(x_salib), calc_second_order=False,
                              num_resamples=100, seed=5)
    res = sens.analyse(design, ishigami(design.matrix()), n_boot=100, ci="normal", seed=5)
    assert res["factor"].tolist() == ["g13", "x2"]
    np.testing.assert_allclose(res["S1"], ref["S1"], atol=1e-10)
    np.testing.assert_allclose(res["ST"], ref["ST"], atol=1e-10)
    np.testing.assert_allclose(res["S1"], expected, atol=0.06)
    np.testing.assert_allclose(res["ST"], expected, atol=0.06)
    # a sampled grouped design records its groups and rebuilds from its spec
    d = sens.sample(factors, 8, seed=1, groups=groups)
    spec = d.spec()
    again = sens.sample(spec["factors"], spec["n"], seed=spec["seed"], groups=spec["groups"])
    np.testing.assert_array_equal(again.matrix(), d.matrix())
    assert d.runs()["switched"].tolist() == [""] * 16 + ["g13"] * 8 + ["x2"] * 8


def test_outputs_and_sobol_table(all_kinds):
    res = all_kinds
    y = res.outputs()
    assert list(y.columns[:2]) == ["mean_abs_rank_shift", "outcome_changes"]
    assert list(y.columns[2:]) == res.ranks["unit"].tolist()
    assert set(np.unique(y.iloc[:, 2:].to_numpy())) <= {-1.0, 0.0, 1.0}
    # a unit's outcome output is +1 in exactly the runs where it is praised
    praised_runs = (y.iloc[:, 2:] == 1).mean().to_numpy()
    np.testing.assert_allclose(praised_runs, res.ranks["p_praised"])
    ind = res.sobol(["mean_abs_rank_shift", "513232"], n_boot=10)
    assert ind["factor"].tolist() == ["normalisation", "grouping", "missing", "aggregation",
                                      "quota", "weights"] * 2
    assert ind["name"].tolist()[-1] == "若尔盖县"
    with pytest.raises(DataError, match="unknown output"):
        res.sobol(["nope"])


# ------------------------------------------------------------------------------ errors


def test_bad_factor_definitions_are_reported():
    with pytest.raises(SchemeError, match=r"spread must be a number in \[0, 1\)"):
        weights(1.5)
    with pytest.raises(SchemeError, match="unknown normalisation preset 'rank'"):
        normalisation(["minmax", "rank"])
    with pytest.raises(SchemeError, match="relative method"):
        normalisation([{"method": "goalposts", "min": 0, "max": 1}])
    with pytest.raises(SchemeError, match="unknown option"):
        aggregation(["arithmetic", "median"])
    with pytest.raises(SchemeError, match="options must be distinct"):
        quota([1, 1.0])
    with pytest.raises(SchemeError, match="unknown factor kind"):
        factor_from_spec({"kind": "colour"})
    assert factor_from_spec("grouping") == grouping()
    assert factor_from_spec({"kind": "weights", "concentration": 10}) == weights(concentration=10)
    assert SchemeFactor("quota", "q", options=(1, 2)).to_dict() == {
        "kind": "quota", "name": "q", "options": [1, 2]}


def test_impossible_designs_are_reported_before_any_run(sichuan):
    with pytest.raises(SchemeError, match="names \\['nope'\\]"):
        uncertainty("sichuan-39", sichuan, 2025, factors=[weights(nodes=["nope"])], n=2, seed=1)
    with pytest.raises(SchemeError, match="not a column of the units table"):
        uncertainty("sichuan-39", sichuan, 2025, factors=[grouping(["official", "city"])],
                    n=2, seed=1)
    with pytest.raises(DataError, match="has no subgroup"):  # blank outside the plateau
        uncertainty("sichuan-39", sichuan, 2025, factors=[grouping(["official", "subgroup"])],
                    n=2, seed=1)
    # percentile gives the worst county 0, which a geometric mean cannot take
    with pytest.raises(SchemeError, match="normalisation=percentile.*aggregation=geometric"):
        uncertainty("sichuan-39", sichuan, 2025,
                    factors=[normalisation(["minmax", "percentile"]), aggregation()], n=2, seed=1)
    # one new-enterprise share is missing in 2025: the policy 'error' cannot be drawn
    with pytest.raises(DataError, match="new_enterprise_share.*policy 'error'"):
        uncertainty("sichuan-39", sichuan, 2025, factors=[missing(["renormalise", "error"])],
                    n=2, seed=1)
    with pytest.raises(SchemeError, match="two quota factors"):
        uncertainty("sichuan-39", sichuan, 2025, factors=[quota(), quota(name="q2")],
                    n=2, seed=1)


def test_default_factors_fit_the_scheme_and_the_data(sichuan):
    # Sichuan 2025: relative (min-max) leaves, three regional groups, one value missing
    # (new_enterprise_share of 511922): every kind but quota.
    kinds = [f.kind for f in default_factors("sichuan-39", sichuan, 2025)]
    assert kinds == ["weights", "normalisation", "aggregation", "grouping", "missing"]
    # 2024 has no gap (the documented gaps are in 2023 and 2025): no missing-value factor
    factors, reasons = default_factors("sichuan-39", sichuan, 2024, with_reasons=True)
    assert "missing" not in [f.kind for f in factors]
    assert any(r.startswith("no missing-value factor") for r in reasons)
    # the tiny scheme: absolute ratings, one group, no gap: no normalisation, no missing, and no
    # grouping (its three counties are all in group G: pooling them changes nothing)
    tiny, reasons = default_factors(TINY_SCHEME, tiny_dataset(), 2025, with_reasons=True)
    assert [f.kind for f in tiny] == ["weights", "aggregation"]
    assert ("no grouping factor: the units of the level form 1 group by group, so pooling "
            "changes nothing") in reasons


BUILTIN_CASES = [("sichuan-39", "sichuan-39", 2025), ("jincheng-1plus4", "jincheng", 2025),
                 ("dingxi", "dingxi", 2024), ("undp-hdi", "hdr-2023", 2022)]


@pytest.mark.slow
@pytest.mark.parametrize("name, data, period", BUILTIN_CASES)
def test_every_builtin_scheme_rebuilds_every_factor_kind_exactly(name, data, period):
    """One engine: for every built-in scheme, at least 50 runs drawing every factor kind that
    applies are rebuilt as schemes, and evaluate() gives the run's outcomes and ranks exactly
    and its scores to 1e-9 (the batch sums weights in another order)."""
    data = ak.datasets.load(data)
    scheme = ak.load_scheme(name)
    level = next((lv for lv in scheme.spec["levels"]
                  if any(isinstance(b, dict) and ("top" in b or "bottom" in b)
                         for b in scheme.levels[lv].consequences.values())),
                 next(iter(scheme.levels)))
    spec = scheme.levels[level]
    factors = [weights(0.3), aggregation(["arithmetic", "harmonic", "minimum"]),
               missing(["renormalise", "zero", "impute_group_mean"])]
    relative = any(nd.scoring.get("then", nd.scoring).get("method") in ("minmax", "zscore",
                                                                       "percentile")
                   for nd in spec.root.walk() if nd.kind == "leaf")
    if relative:
        factors.append(normalisation(["minmax", "zscore", "percentile"]))
    if spec.ranking.get("group_by"):
        factors.append(grouping(["official", "pool"]))
    if any(isinstance(b, dict) and b.get("top") is not None for b in spec.consequences.values()):
        factors.append(quota([0.5, 1.0]))
    n = -(-50 // (len(factors) + 2))  # base rows for at least 50 runs
    res = uncertainty(scheme, data, period, factors=factors, n=n, seed=11, level=level)
    assert len(res.draws) >= 50
    ties = spec.ranking.get("ties", {}) or {}
    gb = spec.ranking.get("group_by")
    for run in range(len(res.draws)):
        ev = ak.evaluate(res.rebuild(run), data, period)
        table = ev.scores[ev.scores["level"] == level].reset_index(drop=True)
        mine = res.run(run)
        np.testing.assert_array_equal(table["outcome"].astype(str), res.outcome_keys(run))
        np.testing.assert_allclose(mine["score"], table["score"], rtol=0, atol=1e-9)
        # ranks within the OFFICIAL groups, recomputed from the rebuilt run's own scores
        lr = ev.level_results[level]
        ids = [nd.id for nd in lr.nodes]
        tb = pd.DataFrame({nid: lr.score[:, ids.index(nid)] for nid in ties.get("break_by", [])})
        official = rank(table["score"], table[gb] if gb else None, ties, tb, ids=table["unit"])
        np.testing.assert_array_equal(mine["official_group_rank"].to_numpy(float),
                                      official.to_numpy())
