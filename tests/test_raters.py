"""Tests of the reliability analysis (assesskit.analysis.raters).

Agreement statistics are checked against published worked examples with their printed numbers
(Shrout & Fleiss 1979; Krippendorff 2011; Siegel 1956) and a tie-corrected Kendall's W worked by
hand; leniency against the synthetic generator's known truth; grade sensitivity against an
independent recomputation."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import assesskit as ak
from assesskit import datasets
from assesskit.analysis import raters as A
from assesskit.data.model import Dataset
from assesskit.engine.ratings import bootstrap_weights, panel_sizes, redraw_masks, review_scores
from assesskit.engine.review import review_result

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def data():
    return datasets.load("yingshan")


@pytest.fixture(scope="module")
def review(data):
    return review_result(ak.evaluate("yingshan-first-secretaries", data, 2015))


@pytest.fixture(scope="module")
def result(review, data):
    return A.analyse(review, data, n_draws=300, seed=11)


# ------------------------------------------------------------------ published examples
def test_icc_shrout_fleiss_1979_table():
    # Shrout & Fleiss (1979), Table 2: 6 targets × 4 judges; Table 4 prints ICC(2,1) = .29 and
    # ICC(2,4) = .62.
    x = np.array([[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9],
                  [6, 2, 4, 7]])
    t = A.icc_forms(pd.DataFrame(x)).set_index("form")["value"]
    assert t["ICC(2,1)"] == pytest.approx(0.29, abs=0.005)
    assert t["ICC(2,k)"] == pytest.approx(0.62, abs=0.005)


def test_krippendorff_2011_reliability_data():
    # Krippendorff (2011) "Computing Krippendorff's alpha-reliability", section C: 4 observers,
    # 12 units with missing values; printed α_nominal = .743, α_interval = .849.
    nan = np.nan
    d = pd.DataFrame([[1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
                      [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
                      [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
                      [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan]])
    import krippendorff

    assert krippendorff.alpha(reliability_data=d.to_numpy(),
                              level_of_measurement="nominal") == pytest.approx(0.743, abs=5e-4)
    assert krippendorff.alpha(reliability_data=d.to_numpy(),
                              level_of_measurement="interval") == pytest.approx(0.849, abs=5e-4)
    # the ordinal alpha our analysis uses, against an independent coincidence-matrix computation
    assert A.ordinal_alpha(d, [1, 2, 3, 4, 5]) == pytest.approx(_ordinal_alpha_by_hand(d),
                                                                abs=1e-9)
    assert A.ordinal_alpha(d, [1, 2, 3, 4, 5]) == pytest.approx(0.815, abs=5e-4)


def _ordinal_alpha_by_hand(d: pd.DataFrame) -> float:
    """Krippendorff's coincidence matrix and ordinal metric δ²(c,k) = (Σ_{g=c..k} n_g − (n_c +
    n_k)/2)², written out from the definition (Krippendorff 2011, sections C and E)."""
    values = sorted(set(d.stack().dropna()))
    idx = {v: i for i, v in enumerate(values)}
    o = np.zeros((len(values), len(values)))
    for col in d.columns:
        v = d[col].dropna().tolist()
        m = len(v)
        if m < 2:
            continue
        for a in range(m):
            for b in range(m):
                if a != b:
                    o[idx[v[a]], idx[v[b]]] += 1 / (m - 1)
    n_c = o.sum(axis=1)
    n = n_c.sum()
    delta = np.zeros_like(o)
    for c in range(len(values)):
        for k in range(len(values)):
            lo, hi = min(c, k), max(c, k)
            delta[c, k] = (n_c[lo:hi + 1].sum() - (n_c[c] + n_c[k]) / 2) ** 2
    d_o = (o * delta).sum()
    d_e = (np.outer(n_c, n_c) * delta).sum() / (n - 1)
    return 1 - d_o / d_e


def test_kendall_w_siegel_example_and_ties_by_hand():
    # Siegel (1956), p. 234: 3 executives rank 6 applicants; printed W = .16.
    # By hand: rank sums 8, 14, 11, 11, 11, 8; S = 25.5; W = 12·25.5 / (9·(216 − 6)) = 0.1619.
    ranks = pd.DataFrame([[1, 6, 3, 2, 5, 4], [1, 5, 6, 4, 2, 3], [6, 3, 2, 5, 4, 1]])
    w, _ = A.kendall_w(-ranks)          # rank 1 is the best: negate so that higher is better
    assert w == pytest.approx(0.16, abs=0.005)
    assert w == pytest.approx(306 / 1890, abs=1e-9)
    # Ties, by hand: rank sums 4.5, 5, 8.5, 12, S = 36.5, Σ T = 6 + 6 = 12,
    # W = 12·36.5 / (9·60 − 3·12) = 438 / 504 = 0.869048.
    tied = pd.DataFrame([[1, 2, 2, 3], [1, 1, 2, 3], [2, 1, 3, 4]])
    assert A.kendall_w(tied)[0] == pytest.approx(438 / 504, abs=1e-9)


# ------------------------------------------------------------------ the review's reliability
def test_agreement_tables(result, review):
    a = result.agreement
    alpha = a[a["statistic"] == "krippendorff_alpha"]
    assert sorted(alpha["aspect"]) == sorted(review.sheets.aspects)
    assert alpha["value"].between(0, 1).all()
    w = a[a["statistic"] == "kendall_w"]
    assert set(w["session"]) == set(review.panel.session_names)
    assert w["value"].between(0, 1).all()
    # W uses only complete raters: the team (6) and the leaders of the session; never peers
    plen = w[w["session"] == "plenary"]
    assert (plen["raters"] <= 6 + 20).all()
    i = result.icc
    assert set(i["form"]) == {"ICC(2,1)", "ICC(2,k)"}
    # the mean of k raters is more reliable than one rater
    wide = i.pivot(index="session", columns="form", values="value")
    assert (wide["ICC(2,k)"] > wide["ICC(2,1)"]).all()


def test_leniency_recovers_the_generators_truth(result):
    truth = pd.read_csv(ROOT / "data" / "yingshan" / "truth_raters.csv")
    m = result.raters.merge(truth[["rater", "leniency_points"]], on="rater")
    # Groups: the estimate is within 3 standard errors of the known value (the SEs, 0.4–0.5
    # points, come from about 1,600 sheets; a 3-SE miss has probability 0.003 per group).
    g = m.groupby("rater_group").agg(est=("leniency", "first"), truth=("leniency_points", "mean"))
    groups = result.groups.set_index("rater_group")
    for key in ("township_leaders", "peers"):
        est, se = groups.loc[key, "leniency"], groups.loc[key, "se"]
        assert abs(est - g.loc[key, "truth"]) < 3 * se, key
    assert groups.loc["peers", "leniency"] > groups.loc["township_leaders", "leniency"] > 0
    # Raters: with 80 non-reference raters, 95% intervals should cover the truth for about 76;
    # fewer than 68 (85%) would be 4 binomial standard deviations short.
    others = m[m["rater_group"] != "team"]
    covered = (others["ci_low"] <= others["leniency_points"]) & (
        others["leniency_points"] <= others["ci_high"])
    assert covered.mean() >= 0.85


def test_group_removal_recomputed_by_hand(result, review):
    spec = review.spec
    # without the team, a secretary's score is 0.5·leaders + 0.5·peers (0.3 / 0.6 each)
    t = review.scores.set_index("unit")
    rm = result.removal[result.removal["removed"] == "team"].set_index("unit")
    by_hand = 0.5 * t["mean_township_leaders"] + 0.5 * t["mean_peers"]
    assert np.allclose(rm["score_without"], by_hand.loc[rm.index])
    bands = spec.grades
    expect = [next(lab for cut, lab in bands if s >= cut) for s in by_hand.loc[rm.index]]
    assert rm["grade_without"].tolist() == expect
    assert rm["changed"].tolist() == (rm["grade"] != rm["grade_without"]).tolist()


def test_bootstrap_is_seeded_and_exact_when_raters_agree(review, data):
    a = A.grade_bootstrap(review, data, n_draws=120, seed=5)
    b = A.grade_bootstrap(review, data, n_draws=120, seed=5)
    pd.testing.assert_frame_equal(a, b)
    probs = a.filter(like="p_").drop(columns="p_change")
    assert np.allclose(probs.sum(axis=1), 1)
    assert a["p_change"].between(0, 1).all()
    # Dummy check: if every sheet of a group equals the group mean, re-drawing raters or
    # reporters cannot move any score, so no grade ever changes.
    s = review.sheets
    means = review.scores[[f"mean_{g}" for g in s.groups]].to_numpy()
    flat = np.where(review.usable, means[:, s.rater_group], np.nan)
    dummy = replace(review, sheet_points=flat)
    z = A.grade_bootstrap(dummy, data, n_draws=60, seed=1)
    assert (z["p_change"] == 0).all()


def test_bootstrap_counts_match_the_draws_over_chunks(review, data):
    n = A.CHUNK + 7                        # two chunks of unequal size
    out = A.grade_bootstrap(review, data, n_draws=n, seed=2, redraw_reporters=False)
    counts = out.filter(like="p_").drop(columns="p_change") * n
    assert np.allclose(counts, np.round(counts))


# ------------------------------------------------------------------ bootstrap worked by hand
# One secretary S1, rated by two members of the assessment team (the only rater group, weight 1)
# on one aspect: T1 较好 = 80, T2 好 = 100. Observed score (80 + 100) / 2 = 90. Grades: 优秀 from
# 90, else 称职. The scheme's bands are inclusive (docs/scheme-format.md, Grades: "score ≥
# threshold; 92.00 is 优秀"), so the observed grade is 优秀.
# A bootstrap draw takes 2 sheets with replacement from {80, 100}: (80, 80), (80, 100),
# (100, 80), (100, 100), each with probability 1/4 -> means 80, 90, 90, 100.
# P(score ≥ 90) = 3/4 (it would be 1/4 if the cut were strict), so p_优秀 = 3/4 and
# p_change = P(称职) = 1/4. With S1 the only secretary and k = 1, the plenary re-draw always
# draws S1 and the team attends every session: the same 2 sheets in every draw.
# Percentiles: a quarter of the draws are 80 and a quarter 100, far more than 5%, so the 5th
# percentile is 80 and the 95th is 100 exactly.
ONE_RATEE = {"name": "one-ratee", "levels": {"secretary": {
    "units": {"level": "official"},
    "review": {"draw": {"k": 1, "seed": 0, "session_by": "group"},
               "points": {"好": 100, "较好": 80}, "aspects": {"overall": 1.0},
               "rater_groups": {"team": {"label": "考核组", "weight": 1.0, "attends": "all"}}},
    "grades": {"by": "score", "bands": [[90, "优秀"], [0, "称职"]]}}}}


@pytest.fixture(scope="module")
def one_ratee():
    units = pd.DataFrame([("C", "县", "county", "", "", ""),
                          ("D1", "单位D1", "department", "C", "dept", ""),
                          ("S1", "第一书记S1", "official", "C", "A", "D1")],
                         columns=["unit", "name", "level", "parent", "group", "sending_unit"])
    indicators = pd.DataFrame({"indicator": ["x"], "name": ["x"], "direction": ["higher"]})
    values = pd.DataFrame({"unit": ["C"], "period": ["2015"], "indicator": ["x"], "value": [1.0]})
    ratings = pd.DataFrame([("S1", "2015", "T1", "team", "overall", "较好", ""),
                            ("S1", "2015", "T2", "team", "overall", "好", "")],
                           columns=["unit", "period", "rater", "rater_group", "aspect", "grade",
                                    "rater_unit"])
    data = Dataset.from_frames(units, indicators, values, ratings=ratings, name="one-ratee")
    return review_result(ak.evaluate(ak.load_scheme(ONE_RATEE), data, 2015)), data


@pytest.mark.parametrize("redraw_reporters", [False, True])
def test_bootstrap_of_two_sheets_by_hand_with_an_inclusive_cut(one_ratee, redraw_reporters):
    review, data = one_ratee
    assert review.scores["score"].tolist() == [90.0]
    assert review.scores["grade"].tolist() == ["优秀"]        # 90 reaches the cut at 90
    n = 20_000
    out = A.grade_bootstrap(review, data, n_draws=n, seed=7,
                            redraw_reporters=redraw_reporters).iloc[0]
    # binomial standard error sqrt(3/4 · 1/4 / 20000) = 0.0031; 0.015 is about 5 of them, and
    # far from the 1/4 a strict cut would give
    assert out["p_优秀"] == pytest.approx(0.75, abs=0.015)
    assert out["p_change"] == pytest.approx(0.25, abs=0.015)
    assert out["p_称职"] == out["p_change"]
    assert out["score_p05"] == 80.0 and out["score_p95"] == 100.0


def test_bootstrap_redraw_same_seed_same_result_other_seed_differs(one_ratee, review, data):
    small, small_data = one_ratee
    a = A.grade_bootstrap(small, small_data, n_draws=2000, seed=1)
    pd.testing.assert_frame_equal(a, A.grade_bootstrap(small, small_data, n_draws=2000, seed=1))
    b = A.grade_bootstrap(small, small_data, n_draws=2000, seed=2)
    assert a["p_优秀"].iloc[0] != b["p_优秀"].iloc[0]
    # the Yingshan review with the plenary re-drawn in every draw
    x = A.grade_bootstrap(review, data, n_draws=100, seed=3)
    pd.testing.assert_frame_equal(x, A.grade_bootstrap(review, data, n_draws=100, seed=3))
    y = A.grade_bootstrap(review, data, n_draws=100, seed=4)
    assert not x["p_change"].equals(y["p_change"])
    assert not x["score_p05"].equals(y["score_p05"])
    # re-drawing who reports changes the draws (panel sizes differ), not only the raters
    z = A.grade_bootstrap(review, data, n_draws=100, seed=3, redraw_reporters=False)
    assert not x["score_p95"].equals(z["score_p95"])


def _all_draws(review, data, n_draws, seed):
    """Every bootstrap score, kept in memory: the documented streams (block j of 50 draws from
    default_rng([seed, j])) through the engine's kernels, one block at a time."""
    s = review.sheets
    gw = np.array([g["weight"] for g in review.spec.rater_groups.values()])
    n = len(s.ratees)
    out = []
    for j, first in enumerate(range(0, n_draws, 50)):
        rng = np.random.default_rng([seed, j])
        b = min(50, n_draws - first)
        masks = redraw_masks(n, review.spec.draw_k, b, rng)
        size = panel_sizes(s, review.panel, review.usable, review.spec, data, masks)
        w = bootstrap_weights(review.usable, s.rater_group, size, rng)
        out.append(review_scores(review.sheet_points, review.usable, s.rater_group, gw, w)[0])
    return np.concatenate(out)


@pytest.mark.parametrize("bins, keep", [(2048, 2048), (4, 8)])
def test_bootstrap_percentiles_exact_and_independent_of_the_chunk(review, data, monkeypatch,
                                                                  bins, keep):
    # (2048, 2048): 230 draws are kept at once. (4, 8): tiny bins force the search through
    # several passes of splitting bins before it keeps a handful of scores.
    monkeypatch.setattr(A, "HIST_BINS", bins)
    monkeypatch.setattr(A, "KEEP_MOST", keep)
    n = 230                                     # 4 full blocks of 50 and one of 30
    a = A.grade_bootstrap(review, data, n_draws=n, seed=9, chunk_size=50)
    b = A.grade_bootstrap(review, data, n_draws=n, seed=9, chunk_size=150)
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    full = _all_draws(review, data, n, 9)
    assert full.shape == (n, len(review.scores))
    np.testing.assert_array_equal(a["score_p05"], np.percentile(full, 5, axis=0))
    np.testing.assert_array_equal(a["score_p95"], np.percentile(full, 95, axis=0))
    # the grade counts are the same draws graded by the bands (inclusive thresholds)
    cuts = [c for c, _ in review.spec.grades]
    best = (full >= cuts[0]).mean(axis=0)
    np.testing.assert_allclose(a[f"p_{review.spec.grades[0][1]}"], best, rtol=0, atol=1e-12)


def test_bootstrap_percentiles_of_a_ratee_whose_score_cannot_move(one_ratee):
    # Both sheets 90 (set by hand): every draw scores 90, and the search stops on a bin holding
    # a single value, however many draws it holds.
    review, data = one_ratee
    flat = replace(review, sheet_points=np.array([[90.0, 90.0]]))
    out = A.grade_bootstrap(flat, data, n_draws=3000, seed=1).iloc[0]
    assert (out["score_p05"], out["score_p95"], out["p_change"]) == (90.0, 90.0, 0.0)


def test_result_object(result, review):
    text = result.summary()
    assert "seed 11" in text and str(review.spec.draw_seed) in text
    assert "L07" in text                   # the identical rater is shown where users look
    frame = result.to_frame()
    assert len(frame) == len(review.scores)
    assert {"grade", "p_change", "grade_without_peers"} <= set(frame.columns)
    md = A.narrative(result)
    assert "synthetic" in md and f"{result.n_draws} bootstrap draws" in md


def test_repr_html_escapes_names_from_data(result):
    evil = replace(result.review, scores=result.review.scores.assign(
        name=lambda t: t["name"].where(t["unit"] != "YS01", "<script>x</script>")))
    html_text = replace(result, review=evil)._repr_html_()
    assert "<script>" not in html_text and "&lt;script&gt;" in html_text


def test_markdown_escaping():
    from assesskit.escape import md_text

    assert md_text("a*b_<c>") == "a\\*b\\_&lt;c&gt;"


def test_plot_has_chinese_labels(result):
    import matplotlib

    matplotlib.use("Agg")
    ax = result.plot()
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert any("考核组成员" in t for t in labels)
    assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
    import matplotlib.pyplot as plt

    plt.close(ax.figure)
