"""Narrative computed from results (assesskit.report.narrative) and the check that a text names
only what its scheme has.

Expected sentences are written from numbers worked out by hand in the comments.
"""

from __future__ import annotations

import nbformat
import numpy as np
import pandas as pd
import pytest
from notebook_tools import narrative_text

import assesskit as ak
from assesskit.analysis.sensitivity import readability
from assesskit.report import narrative as N


@pytest.fixture(scope="module")
def dingxi():
    return ak.datasets.load("dingxi")


@pytest.fixture(scope="module")
def sichuan():
    return ak.datasets.load("sichuan-39")


# ------------------------------------------------------------------------- the foreign-name check
def test_the_issue_sentences_fail_the_check_on_dingxi(dingxi):
    # what uncertainty.ipynb printed on dingxi before (issue 15): a deliberately wrong narrative
    wrong = ("# How fragile are the lists? Uncertainty and sensitivity of the Sichuan ranking\n"
             "The counties are ranked within three regional groups (秦巴山区 ...); 1 of them "
             "keep the outcome summoned (约谈) in every run.")
    assert N.foreign_names(wrong, "dingxi", dingxi) == ["sichuan", "summoned", "秦巴山区", "约谈"]
    right = "1 county is on the list 集体约谈 (talked) in every run; 2 are 通报表扬 (praised)."
    assert N.foreign_names(right, "dingxi", dingxi) == []


def test_own_names_are_masked_before_foreign_ones_are_searched(sichuan, dingxi):
    # 集体约谈 (dingxi's own label) contains sichuan's 约谈: it is not a foreign name in dingxi
    assert N.foreign_names("集体约谈", "dingxi", dingxi) == []
    assert N.foreign_names("约谈", "dingxi", dingxi) == ["约谈"]
    # sichuan has praised and summoned; jincheng's keys are foreign to it
    assert N.foreign_names("praised, summoned; preferred and reminded", "sichuan-39",
                           sichuan) == ["preferred", "reminded"]
    # a short upper-case group code matches only as written and as a whole word
    hdr_codes = "as SALib said, the ECA"
    assert N.foreign_names(hdr_codes, "sichuan-39", sichuan) == ["ECA"]
    # Markdown escapes are undone before the search
    assert N.foreign_names(r"\*\*summoned\*\*", "dingxi", dingxi) == ["summoned"]


def _tiny(name, group, key, label):
    units = pd.DataFrame({"unit": ["a", "b"], "name": ["甲", "乙"], "level": "county",
                          "group": [group, group + "2"]})
    indicators = pd.DataFrame({"indicator": ["x"], "name": ["x"], "direction": "higher"})
    values = pd.DataFrame({"unit": ["a", "b"], "period": "2025", "indicator": "x",
                           "value": [1.0, 2.0]})
    data = ak.Dataset.from_frames(units, indicators, values, name=name, provenance=f"{name}: "
                                  "a test dataset quoting 南区 in its provenance")
    scheme = ak.load_scheme({
        "name": name, "defaults": {"scoring": {"method": "value"}},
        "assumptions": [{"id": "a", "text": "Groups as in the warned districts of 南区."}],
        "levels": {"county": {"units": {"level": "county"}, "tree": {"x": {"weight": 1}},
                              "ranking": {"group_by": "group"},
                              "consequences": {key: {"label": label, "top": 1}}}}})
    return scheme, data


def test_foreign_names_of_given_schemes_and_quoted_text():
    north, north_data = _tiny("north-1", "北区", "praised", "表扬")
    south, south_data = _tiny("south-1", "南区", "warned", "警示")
    others = [(south, south_data)]
    assert N.vocabulary(south, south_data).checked == {"南区", "南区2", "warned", "警示", "south"}
    text = "In 南区 one county is warned (警示); the South scheme differs."
    assert N.foreign_names(text, north, north_data, others) == ["south", "warned", "南区", "警示"]
    # text quoted from the scheme file or the dataset's provenance is not narrative
    quoted = "Groups as in the warned districts of 南区. 北区 is praised."
    assert N.foreign_names(quoted, north, north_data, others) == []
    assert N.foreign_names("北区 is praised (表扬).", north, north_data, others) == []


def test_the_matrix_reads_the_prose_of_an_executed_notebook(dingxi):
    # an executed notebook with one wrong sentence in printed Markdown, one in a fixed cell, one
    # in standard output, and a table whose column names are not prose
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("Who is summoned?"),
        nbformat.v4.new_code_cell("x", outputs=[
            nbformat.v4.new_output("display_data", data={"text/markdown": "秦巴山区 leads.",
                                                         "text/plain": "<Markdown>"}),
            nbformat.v4.new_output("stream", name="stdout", text="Sichuan again\n"),
            nbformat.v4.new_output("execute_result", data={
                "text/plain": "p_summoned", "text/html": "<table>p_summoned</table>"},
                execution_count=1)]),
    ]
    found = [(cell, N.foreign_names(text, "dingxi", dingxi)) for cell, text in narrative_text(nb)]
    assert found == [(0, ["summoned"]), (1, ["秦巴山区"]), (1, ["sichuan"])]
    texts = [t for _, t in narrative_text(nb)]
    assert texts == ["Who is summoned?", "秦巴山区 leads.", "Sichuan again\n"]
    assert "p_summoned" not in " ".join(texts)


def test_does_not_apply_names_the_scheme_and_the_reason():
    md = N.does_not_apply("undp-hdi", "hdr-2023", "no level has a <top> quota.").data
    assert md.startswith(N.NOT_APPLICABLE + " to scheme undp-hdi with dataset hdr-2023: ")
    assert "&lt;top&gt;" in md   # escaped
    # an error: its last line, without the path of the scheme file
    err = ak.SchemeError("/x/y/s.yaml, line 3; key 'levels': no level has a quota\n")
    md = N.does_not_apply("s", "d", err).data
    assert md.endswith(": key 'levels': no level has a quota The cells below are skipped.")


# ------------------------------------------------------------------------- explore-data
def test_explore_sentences_on_the_toy_counties(county_dataset):
    ds = county_dataset
    codes = ["gdp_pc", "toilet", "sewage_gap"]
    assert N.explore_groups(ds, "county").data.startswith(
        "The 7 units of level county fall into 3 groups: 川西北高原地区 (2), 大小凉山彝区 (2), "
        "秦巴山区 (3). The smallest group has 2, the largest 3")
    assert N.explore_directions(ds, codes).data.startswith(
        "Lower is better for 1 indicator: 污水处理缺口; for them the best unit is the one with "
        "the lowest value. Higher is better for the other 2.")
    text, gaps = N.explore_gaps(ds, "county", "2025")
    assert gaps[["unit", "indicator"]].values.tolist() == [["513231", "toilet"]]
    assert text.data.startswith("1 value of level county is not reported for 2025: "
                                "农村卫生厕所普及率 (阿坝县).")
    findings = N.explore_findings(ds, "2025", "county", codes).data
    # η² = SS_between / SS_total, by hand:
    #   toilet: values 80 | 70 60 | 90 85 95, mean 80, group means 80, 65, 90:
    #     SS_b = 2·15² + 3·10² = 750, SS_t = 0 + 100 + 400 + 100 + 25 + 225 = 850 -> 88%
    #   gdp_pc: 30 20 | 25 35 | 40 45 50, mean 35: SS_b = 2·10² + 2·5² + 3·10² = 550,
    #     SS_t = 700 -> 79%
    #   sewage_gap: 5 9 | 7 3 | 2 4 6, mean 36/7: SS_b = 10.857, SS_t = 34.857 -> 31%
    assert ("The groups differ most on 农村卫生厕所普及率 (the groups explain 88% of its "
            "variance) and least on 污水处理缺口 (31%).") in findings
    # only 秦巴山区 has 3 units, each best value held once: no ties; no group of 4: no outliers
    assert "No indicator has half the units of a group tied at its best value." in findings
    assert "No value lies beyond 1.5 × the interquartile range" in findings
    assert "**Gaps.** 1 value not reported in 2025." in findings


def test_explore_without_groups_says_so_and_the_period_of_a_quarterly_dataset(dingxi):
    text = N.explore_groups(dingxi, "county").data
    assert text.startswith("The 7 units of level county are not divided into groups (the group "
                           "column holds only county, a level name)")
    assert N.explore_period(dingxi, "county") == "2025Q4"
    assert N.explore_period(dingxi, "county", "2024") == "2024Q4"
    counts = dingxi.indicators.loc[dingxi.indicators["direction"] == "lower", "indicator"]
    findings = N.explore_findings(dingxi, "2025Q4", "county", list(counts)).data
    assert "Between groups" not in findings   # one group: nothing to compare
    assert N.explore_directions(dingxi, list(counts)).data.startswith(
        f"Lower is better for {len(counts)} indicators:")


# ------------------------------------------------------------------------- Sobol' findings
def test_sobol_findings_read_only_what_can_be_read():
    cols = ["output", "factor", "S1", "S1_lo", "S1_hi", "ST", "ST_lo", "ST_hi", "variance"]
    table = pd.DataFrame([
        ("outcome_changes", "grouping", 0.47, 0.35, 0.60, 0.64, 0.50, 0.80, 20.0),
        ("outcome_changes", "weights", 0.00, -0.02, 0.02, 0.01, 0.01, 0.02, 20.0),
        ("mean_abs_rank_shift", "weights", 0.45, 0.32, 0.58, 1.18, 1.00, 1.40, 0.01),
        ("mean_abs_rank_shift", "grouping", 0.40, 0.30, 0.50, 0.50, 0.45, 0.55, 0.01),
    ], columns=cols)
    text = N.sobol_findings(readability(table, max_width=0.31)).data
    assert ("The number of names that change on the lists depends most on `grouping`: total "
            "index 0.64 (95% interval 0.50–0.80), alone 0.47; next comes `weights` (0.01).") \
        in text
    assert "(total index below 0.05 with its whole interval): `weights`." in text
    # 1.18 is not a share of variance: the warning comes first and the finding is withheld
    assert text.startswith("- **Warning.** The sample is too small to read the Sobol' indices "
                           "of mean\\_abs\\_rank\\_shift")
    assert ("For the mean change of rank within the groups the largest total index is that of "
            "`weights`, but it cannot be read with this sample (ST 1.18 is above 1") in text
    quiet = table.assign(variance=0.0)
    assert "No run changes the number of names" in N.sobol_findings(readability(quiet)).data


# ------------------------------------------------------------------------- uncertainty outcomes
def test_outcome_counts_follow_the_scheme_labels_on_dingxi(dingxi):
    res = ak.uncertainty("dingxi", dingxi, 2025, n=16, seed=3)
    ranks = res.ranks
    text = N.uncertainty_outcomes(res).data
    # counted here from the table, independently of the narrative
    talked = ranks["nominal_outcome"] == "talked"
    sure = int((talked & (ranks["p_summoned"] == 1)).sum())
    assert f"**集体约谈**: {int(talked.sum())} unit officially; {sure} of them in every run" in text
    praised = ranks["nominal_outcome"] == "praised"
    assert (f"**通报表扬**: {int(praised.sum())} units officially; "
            f"{int((praised & (ranks['p_praised'] == 1)).sum())} of them in every run") in text
    assert N.foreign_names(text, "dingxi", dingxi) == []
    table = N.outcome_table(res)
    assert list(table.columns[5:7]) == ["% 通报表扬", "% 集体约谈"]
    np.testing.assert_allclose(table["% 集体约谈"].sum(), 100 * ranks["p_summoned"].sum(),
                               atol=0.5)
