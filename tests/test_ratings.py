"""Tests of the kernels of rater-based reviews and pass/fail constraints
(assesskit.engine.ratings) and of the ratings table of the data model. Every expected number is
worked out by hand below or recomputed from the CSV files with plain pandas, never taken from the
kernel's own output. The wiring into ``evaluate`` is tested in tests/test_review.py."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import assesskit as ak
from assesskit import datasets
from assesskit.data.io import load_dataset
from assesskit.data.model import Dataset
from assesskit.data.synthetic_review import DRAW_SEED, K_DRAWN, WEAK_SECRETARY
from assesskit.engine import ratings as R
from assesskit.engine.consequences import GradeRule
from assesskit.errors import DataError, SchemeError
from assesskit.scheme.review import empty_grade

ROOT = Path(__file__).resolve().parents[1]
BUILTIN = ROOT / "assesskit" / "scheme" / "builtin"
YS_SCHEME = BUILTIN / "yingshan-first-secretaries.yaml"
JG_SCHEME = BUILTIN / "jiange-five-musts.yaml"


@pytest.fixture(scope="module")
def spec() -> R.ReviewSpec:
    return ak.load_scheme("yingshan-first-secretaries").levels["secretary"].review


@pytest.fixture(scope="module")
def yingshan() -> Dataset:
    return datasets.load("yingshan")


@pytest.fixture(scope="module")
def review(spec, yingshan) -> R.ReviewResult:
    return R.evaluate_review(spec, yingshan, 2015)


def copy_yingshan(tmp_path: Path) -> Path:
    out = tmp_path / "yingshan"
    shutil.copytree(ROOT / "data" / "yingshan", out)
    return out


# ------------------------------------------------------------------ small kernels, by hand
def test_sheet_points_renormalises_over_rated_aspects():
    # (0.5·100 + 0.25·80) / 0.75 = 93.333...; no rating at all -> NaN
    out = R.sheet_points([[100, 80, np.nan], [np.nan] * 3], [0.5, 0.25, 0.25])
    assert out[0] == pytest.approx(70 / 0.75)
    assert np.isnan(out[1])


def test_review_scores_group_means_missing_group_and_weights():
    # raters r1, r2 in group 0; r3, r4 in group 1; group weights 0.6 / 0.4
    x = np.array([[100, 60, 80, np.nan],        # A: means 80 / 80 -> 80
                  [80, np.nan, np.nan, 40],     # B: means 80 / 40 -> 0.6·80 + 0.4·40 = 64
                  [100, np.nan, np.nan, np.nan]])  # C: group 1 missing -> 100 (renormalised)
    usable = np.isfinite(x)
    s, m = R.review_scores(x, usable, [0, 0, 1, 1], [0.6, 0.4])
    assert s.tolist() == pytest.approx([80, 64, 100])
    assert np.isnan(m[2, 1])
    # one draw in which r1 counts twice and r2 not at all: A's group-0 mean is 100
    s2, _ = R.review_scores(x, usable, [0, 0, 1, 1], [0.6, 0.4], weights=[[2, 0, 1, 1]])
    assert s2.shape == (1, 3)
    assert s2[0].tolist() == pytest.approx([0.6 * 100 + 0.4 * 80, 64, 100])


def test_grades_by_the_engines_rule_and_bands_that_leave_a_grade_empty(spec):
    rule = R.grade_rule(spec)
    assert rule.labels == ("优秀", "称职", "基本称职", "不称职")
    assert rule.score_index(np.array([[100, 90, 89.99, 70, 60, 59.9, 40]])).tolist() == [
        [0, 0, 1, 1, 2, 3, 3]]
    bands = [(90, "优秀"), (70, "称职"), (60, "基本称职"), (0, "不称职")]
    assert empty_grade(bands, 40, 100) is None
    # scores run from 40 to 100: with 基本称职 at 30, nobody can be 不称职
    assert empty_grade([(90, "优秀"), (70, "称职"), (30, "基本称职"), (0, "不称职")],
                       40, 100)[0] == "不称职"
    assert "above the highest" in empty_grade([(101, "优秀"), (70, "称职"), (0, "不称职")],
                                              40, 100)[1]
    assert "already covers" in empty_grade([(90, "优秀"), (40, "称职"), (20, "基本称职"),
                                            (0, "不称职")], 40, 100)[1]


def test_grade_threshold_error_names_the_key_and_line(tmp_path):
    text = YS_SCHEME.read_text(encoding="utf-8").replace("[60, 基本称职]", "[30, 基本称职]")
    path = tmp_path / "s.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SchemeError) as err:
        ak.load_scheme(path)
    assert err.value.key == "levels.secretary.grades.bands"
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "bands: [[90, 优秀]" in t)
    assert err.value.line == line
    assert "不称职" in str(err.value) and "s.yaml" in str(err.value)


def test_draw_is_reproducible_order_free_and_checked():
    ids = [f"S{i:02d}" for i in range(60)]
    a = R.draw_reporters(ids, 15, seed=7)
    assert a == R.draw_reporters(ids[::-1], 15, seed=7)
    assert len(set(a)) == 15 and set(a) <= set(ids)
    assert a != R.draw_reporters(ids, 15, seed=8)
    # numpy's documented algorithm for the seed, by hand
    picked = np.random.default_rng(7).choice(60, size=15, replace=False)
    assert a == [sorted(ids)[i] for i in picked]
    with pytest.raises(DataError, match="16 reporters.*only 15 units"):
        R.draw_reporters(ids[:15], 16, seed=1, key="levels.secretary.review.draw.k")


def test_redraw_masks_have_k_per_draw():
    m = R.redraw_masks(60, 15, 500, np.random.default_rng(1))
    assert m.shape == (500, 60) and (m.sum(axis=1) == 15).all()
    # every ratee is drawn with probability 15/60 (binomial sd over 500 draws ~ 0.019)
    assert abs(m.mean() - 0.25) < 1e-12
    assert np.abs(m.mean(axis=0) - 0.25).max() < 0.1


def test_bootstrap_weights_follow_panel_sizes():
    usable = np.array([[1, 1, 1, 0], [1, 0, 0, 1]], dtype=bool)
    size = np.array([[[2, 1], [3, 5]]] * 400)        # (draws, ratees, groups)
    w = R.bootstrap_weights(usable, [0, 0, 1, 1], size, np.random.default_rng(3))
    assert w.shape == (400, 2, 4)
    assert (w[:, 0, :2].sum(axis=1) == 2).all() and (w[:, 0, 2:].sum(axis=1) == 1).all()
    assert (w[:, 1, :2].sum(axis=1) == 3).all() and (w[:, 1, 2:].sum(axis=1) == 5).all()
    assert (w[~np.broadcast_to(usable, w.shape)] == 0).all()    # never an unusable sheet


def test_linked_deductions_and_grade_cap():
    cases, ded = R.linked_deductions([[True, True, False, True]], ["D1", "D1", "D2", "D3"],
                                     ["D1", "D2", "D3"], points=2, cap=3)
    assert cases.tolist() == [[2, 0, 1]]
    assert ded.tolist() == [[3.0, 0.0, 2.0]]            # 2 × 2 = 4 capped at 3
    # capped at grade 1 (较好) for the first three units, not the fourth
    assert GradeRule.capped(np.array([0, 1, 3, 0]), np.array([1, 1, 1, 0])).tolist() == [
        1, 1, 3, 0]


def test_check_musts_by_hand():
    # checks: staff >= 1, staff <= 2 (must 0); share >= 50 (must 1)
    values = np.array([[1, 1, 50.0], [3, 3, 49.9], [np.nan, np.nan, 60]])
    passed, ok = R.check_musts(values, [">=", "<=", ">="], [1, 2, 50], [0, 0, 1], 2)
    assert passed.tolist() == [[True, True, True], [True, False, False],
                               [False, False, True]]
    assert ok.tolist() == [[True, True], [False, False], [False, True]]


# ------------------------------------------------------------------ the Yingshan review
def test_review_spec_reads_the_builtin_scheme(spec):
    assert spec.draw_k == K_DRAWN and spec.draw_seed == DRAW_SEED
    assert list(spec.points) == ["好", "较好", "一般", "差"]
    assert spec.score_range == (40.0, 100.0)
    assert sum(a["weight"] for a in spec.aspects.values()) == pytest.approx(1)
    linked = ak.load_scheme("yingshan-first-secretaries").levels["secretary"].linked
    assert linked["sending_unit_penalty"].via == "sending_unit"


def test_draw_and_sessions_in_the_log(review, yingshan):
    sec = yingshan.units[yingshan.units["level"] == "official"]["unit"]
    assert review.panel.drawn == R.draw_reporters(sec, K_DRAWN, DRAW_SEED)
    draw = review.log[0]
    assert draw["step"] == "draw" and draw["seed"] == DRAW_SEED
    assert draw["drawn"] == review.panel.drawn and len(draw["names"]) == K_DRAWN
    t = review.scores.set_index("unit")
    assert (t.loc[review.panel.drawn, "session"] == "plenary").all()
    assert t["drawn"].sum() == K_DRAWN


def test_scores_recomputed_with_pandas_from_the_csv(review, spec):
    """Independent path: weighted aspect means per sheet, group means, group weights."""
    r = pd.read_csv(ROOT / "data" / "yingshan" / "ratings.csv", dtype=str)
    r["points"] = r["grade"].map(spec.points).astype(float)
    r["w"] = r["aspect"].map({k: a["weight"] for k, a in spec.aspects.items()})
    r = r[r["rater"] != r["unit"]]                           # the self-rating rule
    r["wp"] = r["w"] * r["points"]
    sheet = r.groupby(["unit", "rater", "rater_group"])[["wp", "w"]].sum()
    sheet = (sheet["wp"] / sheet["w"]).rename("p").reset_index()
    group = sheet.groupby(["unit", "rater_group"])["p"].mean().unstack()
    gw = pd.Series({k: g["weight"] for k, g in spec.rater_groups.items()})
    expected = (group[gw.index] * gw).sum(axis=1)
    got = review.scores.set_index("unit")["score"]
    assert np.allclose(got.loc[expected.index], expected)
    # the weak secretary by construction is graded 不称职
    assert review.scores.set_index("unit").loc[WEAK_SECRETARY, "grade"] == "不称职"


def test_notices_for_policy_decisions(review):
    kinds = {n.kind for n in review.notices}
    assert {"self_rating_excluded", "missing_sheet_renormalised",
            "incomplete_sheet_renormalised", "identical_rater"} <= kinds
    assert review.flagged["rater"].tolist() == ["L07"]
    assert review.flagged["grade"].tolist() == ["较好"]


def test_identical_rater_can_be_excluded(review, spec, yingshan):
    from dataclasses import replace

    ex = R.evaluate_review(replace(spec, identical_raters="exclude"), yingshan, 2015)
    j = list(ex.sheets.raters).index("L07")
    assert not ex.usable[:, j].any() and review.usable[:, j].any()


def test_rating_outside_the_schemes_scale(tmp_path, spec):
    folder = copy_yingshan(tmp_path)
    r = pd.read_csv(folder / "ratings.csv", dtype=str, keep_default_na=False)
    r.loc[9, "grade"] = "优"
    r.to_csv(folder / "ratings.csv", index=False)
    # the dataset declares its rating_scale: the loader already refuses it
    with pytest.raises(DataError) as err:
        load_dataset(folder)
    p = err.value.problems[0]
    assert (p.row, p.column, p.value) == (11, "grade", "优") and p.file.endswith("ratings.csv")
    # without a declared scale, the engine refuses it against the scheme's points
    yaml_text = (folder / "dataset.yaml").read_text(encoding="utf-8")
    (folder / "dataset.yaml").write_text(
        "\n".join(ln for ln in yaml_text.splitlines() if not ln.startswith("rating_scale")),
        encoding="utf-8")
    ds = load_dataset(folder)
    with pytest.raises(DataError) as err:
        R.evaluate_review(spec, ds, 2015)
    p = err.value.problems[0]
    assert (p.row, p.column, p.value) == (11, "grade", "优") and "好 / 较好 / 一般 / 差" in p.message


def test_rater_rating_someone_not_in_the_draw(tmp_path, spec, review):
    folder = copy_yingshan(tmp_path)
    r = pd.read_csv(folder / "ratings.csv", dtype=str, keep_default_na=False)
    drawn = review.panel.drawn
    peer = drawn[0]
    outsider = next(u for u in review.scores["unit"] if u not in drawn)
    row = {"unit": outsider, "period": "2015", "rater": peer, "rater_group": "peers",
           "aspect": "overall", "grade": "好", "rater_unit": peer}
    r = pd.concat([r, pd.DataFrame([row])], ignore_index=True)
    r.to_csv(folder / "ratings.csv", index=False)
    with pytest.raises(DataError) as err:
        R.evaluate_review(spec, load_dataset(folder), 2015)
    p = err.value.problems[0]
    assert p.row == len(r) + 1 and p.column == "unit" and p.value == outsider
    assert f"rater {peer!r}" in p.message and "was not drawn" in p.message
    assert str(DRAW_SEED) in p.message


def test_secretary_without_a_sending_unit(tmp_path):
    folder = copy_yingshan(tmp_path)
    u = pd.read_csv(folder / "units.csv", dtype=str, keep_default_na=False)
    i = int(np.flatnonzero(u["unit"] == "YS05")[0])
    u.loc[i, "sending_unit"] = ""
    j = int(np.flatnonzero(u["unit"] == "YS06")[0])
    u.loc[j, "sending_unit"] = "YD99"
    u.to_csv(folder / "units.csv", index=False)
    with pytest.raises(DataError) as err:
        load_dataset(folder)
    found = {(p.row, p.column, p.value) for p in err.value.problems}
    assert (i + 2, "sending_unit", None) in found
    assert (j + 2, "sending_unit", "YD99") in found
    assert all(p.file.endswith("units.csv") for p in err.value.problems)


def test_unknown_rated_unit_in_ratings(tmp_path):
    folder = copy_yingshan(tmp_path)
    r = pd.read_csv(folder / "ratings.csv", dtype=str, keep_default_na=False)
    r.loc[0, "unit"] = "YS99"
    r.to_csv(folder / "ratings.csv", index=False)
    with pytest.raises(DataError) as err:
        load_dataset(folder)
    p = err.value.problems[0]
    assert (p.row, p.column, p.value) == (2, "unit", "YS99")


def test_draw_larger_than_the_number_of_secretaries(tmp_path, yingshan):
    text = YS_SCHEME.read_text(encoding="utf-8").replace("draw: {k: 15,", "draw: {k: 61,")
    path = tmp_path / "s.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataError) as err:
        ak.evaluate(ak.load_scheme(path), yingshan, 2015)
    p = err.value.problems[0]
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "draw: {k: 61," in t)
    assert p.value == 61 and p.file.endswith("units.csv")
    assert "only 60 units" in p.message
    assert f"s.yaml, line {line}, key 'levels.secretary.review.draw.k'" in p.message


def test_missing_sheet_error_policy(spec, yingshan):
    from dataclasses import replace

    with pytest.raises(DataError, match="missing rating sheet: rater 'YS22'"):
        R.evaluate_review(replace(spec, missing_sheet="error"), yingshan, 2015)


def test_ratings_folder_without_dataset_yaml(tmp_path):
    folder = copy_yingshan(tmp_path)
    (folder / "dataset.yaml").unlink()
    ds = load_dataset(folder)
    assert ds.ratings is not None and len(ds.ratings) == len(datasets.load("yingshan").ratings)


def test_ratings_table_missing_columns():
    units = pd.DataFrame({"unit": ["A"], "level": ["official"], "sending_unit": ["A"]})
    ind = pd.DataFrame({"indicator": ["x"]})
    vals = pd.DataFrame({"unit": ["A"], "period": ["2015"], "indicator": ["x"], "value": ["1"]})
    with pytest.raises(DataError, match="missing required column.*'grade'"):
        Dataset.from_frames(units, ind, vals, ratings=pd.DataFrame({"unit": ["A"]}))


# ------------------------------------------------------------------ the linked consequence
def test_incompetent_secretary_reaches_the_sending_unit(review, yingshan):
    linked = R.linked_units(yingshan, review.scores["unit"], "sending_unit", level="department")
    depts = yingshan.level_units("department")["unit"].tolist()
    bad = (review.scores["grade"] == "不称职").to_numpy()
    cases, ded = R.linked_deductions(bad, linked, depts, points=2, cap=6)
    by_hand = (review.scores[bad].merge(yingshan.units[["unit", "sending_unit"]], on="unit")
               ["sending_unit"].value_counts())
    got = pd.Series(cases, index=depts)
    assert got[got > 0].sort_index().to_dict() == by_hand.sort_index().to_dict()
    assert ded[depts.index("YD05")] == 2.0 * by_hand["YD05"]
    # the leadership team of a sending unit with a 不称职 secretary cannot be graded 好 (0)
    capped = GradeRule.capped(np.zeros(len(depts), dtype=int), np.where(cases > 0, 1, 0))
    assert (capped[cases > 0] == 1).all() and (capped[cases == 0] == 0).all()


def test_linked_unit_missing(tmp_path, yingshan):
    units = yingshan.units.copy()
    units.loc[units["unit"] == "YS05", "sending_unit"] = ""
    ds = Dataset(yingshan.name, units, yingshan.indicators, yingshan.values,
                 sources={"units": "units.csv"})
    with pytest.raises(DataError) as err:
        R.linked_units(ds, ["YS04", "YS05"], "sending_unit")
    p = err.value.problems[0]
    row = int(np.flatnonzero(units["unit"] == "YS05")[0]) + 2
    assert (p.file, p.row, p.column) == ("units.csv", row, "sending_unit")


# ------------------------------------------------------------------ Jiange five musts
@pytest.fixture(scope="module")
def musts():
    ev = ak.evaluate("jiange-five-musts", datasets.load("jiange"), 2016)
    return ev.level_results["town"].adjustments.musts


def test_failures_by_construction(musts):
    m = musts.musts
    failed = sorted(zip(m.loc[~m["passed"], "unit"], m.loc[~m["passed"], "must"], strict=True))
    assert failed == [("JG03", "staffing"), ("JG07", "staffing"), ("JG11", "monthly_study"),
                      ("JG14", "monthly_study"), ("JG18", "households_met"),
                      ("JG21", "funds"), ("JG25", "supervision"), ("JG28", "monthly_study"),
                      ("JG28", "staffing")]


def test_deductions_and_veto_of_the_musts(musts):
    units = list(musts.musts["unit"].unique())
    ded = dict(zip(units, musts.deduction, strict=True))
    assert ded["JG28"] == 10.0                      # two musts × 5 points
    assert ded["JG03"] == 5.0 and ded["JG01"] == 0.0
    assert ded["JG21"] == 0.0                       # 整合资金 vetoes, deducts nothing
    assert dict(zip(units, musts.vetoed, strict=True))["JG21"]
    assert musts.vetoed.sum() == 1


def test_evaluate_musts_kernel_by_hand():
    from assesskit.scheme.review import Must, MustCheck, MustsSpec

    checks = (MustCheck("staff", 1, "staff", ">=", 1, "至少1人", "k"),
              MustCheck("staff", 2, "staff", "<=", 2, "至多2人", "k"),
              MustCheck("funds", 1, "share", ">=", 50, "不低于50%", "k"))
    spec = MustsSpec({"staff": Must("staff", "专人专职", checks[:2], False, 5.0, "k"),
                      "funds": Must("funds", "整合资金", checks[2:], True, 0.0, "k")})
    res = R.evaluate_musts(spec, [[1, 1, 50], [3, 3, 60], [2, 2, 49.5]], ["A", "B", "C"])
    assert res.deduction.tolist() == [0.0, 5.0, 0.0]
    assert res.vetoed.tolist() == [False, False, True]
    assert R.explain_musts(res, "B") == ("专人专职 (staff) failed: 至多2人 staff = 3 (must be "
                                         "<= 2) → deduct 5 points")
    assert "share = 49.5 (must be >= 50) → veto" in R.explain_musts(res, "C")
    assert R.explain_musts(res, "A") == "A: every must passed"


def test_explain_names_must_value_and_threshold(musts):
    text = R.explain_musts(musts, "JG07")
    assert "必须专人专职 (staffing) failed" in text
    assert "office_staff = 2 (must be >= 3)" in text and "deduct 5 points" in text
    assert "veto" in R.explain_musts(musts, "JG21") and "42" in R.explain_musts(musts, "JG21")
    assert R.explain_musts(musts, "JG01") == "JG01: every must passed"


def test_musts_errors_name_key_and_line(tmp_path):
    text = JG_SCHEME.read_text(encoding="utf-8").replace(
        "{indicator: office_staff, at_most: 5,", "{indicator: office_staff, at_most: five,")
    path = tmp_path / "m.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SchemeError) as err:
        ak.load_scheme(path)
    assert err.value.key == "levels.town.musts.staffing.checks[5].at_most"
    assert err.value.line == next(i for i, t in enumerate(text.splitlines(), 1)
                                  if "at_most: five" in t)
    bad = JG_SCHEME.read_text(encoding="utf-8").replace("on_fail: {veto: true}",
                                                        "on_fail: {veto: maybe}")
    path.write_text(bad, encoding="utf-8")
    with pytest.raises(SchemeError, match="veto: true") as err:
        ak.load_scheme(path)
    assert err.value.key == "levels.town.musts.funds.on_fail"
    assert err.value.line == next(i for i, t in enumerate(bad.splitlines(), 1)
                                  if "veto: maybe" in t)
