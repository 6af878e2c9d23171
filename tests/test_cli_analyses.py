"""End-to-end tests of ``assesskit compare`` and ``assesskit uncertainty``: run the command,
read its CSV files and charts back, and check them against numbers computed independently
(the pure weighting methods on the node's matrix, hand-counted design sizes)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from report_helpers import FORMULA_NAME, hostile_inputs

import assesskit as ak
from assesskit import weights as W
from assesskit.cli import main

PNG = b"\x89PNG\r\n\x1a\n"
TASK = ["gdp_per_capita", "fiscal_self_sufficiency", "urban_income", "rural_income",
        "lifted_income_growth", "urbanization_rate", "sewage_garbage_rate",
        "sanitary_toilet_rate", "new_enterprise_share", "water_source_quality"]


def read(path):
    return pd.read_csv(path, encoding="utf-8-sig", dtype={"unit": str}, keep_default_na=False)


@pytest.fixture(scope="module")
def sichuan():
    return ak.datasets.load("sichuan-39")


# ------------------------------------------------------------------------------------ compare
@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    out = tmp_path_factory.mktemp("compare") / "out"
    code = main(["compare", "--scheme", "sichuan-39", "--period", "2025", "--node", "task",
                 "--methods", "equal", "entropy", "--no-progress", "--out", str(out)])
    assert code == 0
    return out


def test_compare_writes_every_table_and_a_chart(compared):
    names = sorted(p.name for p in compared.iterdir())
    assert names == ["bod.csv", "correlations.csv", "effective.csv", "methods.csv",
                     "outcome_changes.csv", "rank_shifts.csv", "summary.txt", "weights.csv",
                     "weights.png"]
    assert (compared / "weights.png").read_bytes()[:8] == PNG
    assert (compared / "weights.csv").read_bytes()[:3] == b"\xef\xbb\xbf"  # UTF-8 with BOM
    methods = read(compared / "methods.csv")
    assert methods["method"].tolist() == ["equal", "entropy"]
    assert methods["status"].tolist() == ["applied", "applied"]
    assert "units left out for missing values: 511922" in methods["detail"].iloc[1]


def test_compare_weights_read_back_match_the_method_on_the_node_matrix(compared, sichuan):
    weights = read(compared / "weights.csv")
    entropy = weights[weights["scheme"] == "entropy"].set_index("node")["weight"]
    # independently: the entropy method on the task matrix of the complete units, times the
    # task part's official share of 0.9
    X = W.node_matrix("sichuan-39", sichuan, 2025, node="task").dropna()
    expected = 0.9 * W.entropy(X)
    np.testing.assert_allclose(entropy[TASK], expected[TASK], rtol=1e-5)
    for scheme, part in weights.groupby("scheme"):
        assert part["weight"].sum() == pytest.approx(1.0, abs=1e-5), scheme
    equal = weights[weights["scheme"] == "equal"].set_index("node")["weight"]
    np.testing.assert_allclose(equal[TASK], 0.09, rtol=1e-5)   # 0.9 / 10


def test_compare_bod_scores_read_back(compared, sichuan):
    bod = read(compared / "bod.csv")
    assert set(bod["bounds"]) == {"none", "scaled"}
    scaled = bod[bod["bounds"] == "scaled"].set_index("unit")["score"]
    # ten task indicators: the scaled bounds are the 5–20% of the literature
    X = W.node_matrix("sichuan-39", sichuan, 2025, node="task").dropna()
    expected = W.bod(X, (0.05, 0.2)).scores
    assert len(scaled) == 38 and "511922" not in scaled.index   # the unit with a gap
    np.testing.assert_allclose(scaled[expected.index], expected, rtol=1e-5)


def test_compare_summary_names_the_lists_as_the_scheme_does(compared):
    text = (compared / "summary.txt").read_text(encoding="utf-8")
    assert "Findings:" in text and "Self-interest." in text
    changes = read(compared / "outcome_changes.csv")
    if changes.empty:
        assert "No unit enters or leaves a list (通报表扬/约谈)" in text
    else:
        assert set(changes["label"]) <= {"通报表扬", "约谈"}
        for name in changes["name"]:
            assert name in text


@pytest.mark.parametrize("argv", [
    ["--scheme", "jincheng-1plus4", "--period", "2024", "--level", "county"],
    ["--scheme", "sichuan-39", "--period", "2023", "--node", "total"],
    ["--scheme", "dingxi", "--node", "economy"],
], ids=["jincheng-county", "sichuan-2023-total", "dingxi-economy"])
def test_compare_the_cases_of_issue_15_no_longer_fail(argv, tmp_path, capsys):
    assert main(["compare", *argv, "--methods", "entropy", "pca", "--no-progress",
                 "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr()
    assert printed.err == ""
    methods = read(tmp_path / "methods.csv")
    assert methods["status"].tolist() == ["applied", "applied"]
    bod = read(tmp_path / "bod.csv")
    assert ((bod["score"] >= 0) & (bod["score"] <= 1 + 1e-9)).all()
    if "dingxi" in argv:
        assert "shifted so that the lowest value is 0" in printed.out
    if "total" in argv:   # two children: share bounds 25%–100%
        assert "25.0%–100.0% of a unit's score" in printed.out


def test_compare_skips_a_method_that_cannot_apply_with_the_reason(tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    (data / "units.csv").write_text("unit,name,level,group\nu1,甲,county,G\nu2,乙,county,G\n"
                                    "u3,丙,county,G\nu4,丁,county,G\n", encoding="utf-8")
    (data / "indicators.csv").write_text("indicator,name,direction\na,a,higher\nb,b,higher\n"
                                         "flat,flat,higher\n", encoding="utf-8")
    rows = [f"u{i},2025,{k},{v}" for k, vs in {"a": [1, 2, 3, 4], "b": [4, 1, 3, 2],
                                               "flat": [5, 5, 5, 5]}.items()
            for i, v in enumerate(vs, 1)]
    (data / "values.csv").write_text("unit,period,indicator,value\n" + "\n".join(rows) + "\n",
                                     encoding="utf-8")
    scheme = tmp_path / "s.yaml"
    scheme.write_text("name: four\ndefaults: {scoring: {method: value}}\nlevels:\n  county:\n"
                      "    units: {level: county}\n    tree: {a: {weight: 0.4}, b: {weight: 0.4},"
                      " flat: {weight: 0.2}}\n", encoding="utf-8")
    out = tmp_path / "out"
    assert main(["compare", "--scheme", str(scheme), "--data", str(data), "--period", "2025",
                 "--methods", "std", "pca", "--no-progress", "--out", str(out)]) == 0
    printed = capsys.readouterr()
    assert printed.err == ""   # std's warning about the constant indicator is a note, not stderr
    assert "pca is skipped" in printed.out
    methods = read(out / "methods.csv")
    assert methods["status"].tolist() == ["applied", "skipped"]
    assert "flat" in methods["detail"].iloc[1]
    assert "same value for every unit" in methods["detail"].iloc[0]
    # std by hand: min–max scaled a and b have equal spread, flat none -> 0.5, 0.5, 0
    weights = read(out / "weights.csv")
    std = weights[weights["scheme"] == "std"].set_index("node")["weight"]
    np.testing.assert_allclose(std[["a", "b", "flat"]], [0.5, 0.5, 0.0], atol=1e-6)


def test_compare_escapes_formulas_in_names(tmp_path):
    data, scheme = hostile_inputs(tmp_path)
    out = tmp_path / "out"
    assert main(["compare", "--scheme", str(scheme), "--data", str(data), "--period", "2025",
                 "--methods", "entropy", "--no-progress", "--out", str(out)]) == 0
    shifts = read(out / "rank_shifts.csv")
    assert "'" + FORMULA_NAME in set(shifts["name"])
    assert FORMULA_NAME not in set(shifts["name"])


# ------------------------------------------------------------------------------------ uncertainty
def test_uncertainty_with_factors_as_options(tmp_path, capsys):
    out = tmp_path / "unc"
    code = main(["uncertainty", "--scheme", "sichuan-39", "--period", "2025",
                 "--factor", "weights:0.2", "--factor", "normalisation:minmax,zscore",
                 "--factor", "quota:0.5,1,1.5", "--n", "16", "--seed", "5", "--n-boot", "20",
                 "--no-progress", "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr()
    assert printed.err == ""
    assert sorted(p.name for p in out.iterdir()) == [
        "draws.csv", "factors.csv", "ranks.csv", "ranks.png", "sobol.csv", "sobol.png",
        "summary.txt"]
    for png in ("ranks.png", "sobol.png"):
        assert (out / png).read_bytes()[:8] == PNG
    factors = read(out / "factors.csv")
    assert factors["factor"].tolist() == ["weights", "normalisation", "quota"]
    assert factors["options"].iloc[0] == "each weight × U(0.8, 1.2), re-normalised"
    # 16 base rows, 3 factors: 16 × (3 + 2) = 80 runs
    draws = read(out / "draws.csv")
    assert len(draws) == 80 and set(draws["quota"].astype(float)) <= {0.5, 1.0, 1.5}
    ranks = read(out / "ranks.csv")
    assert len(ranks) == 39 and list(ranks.columns[5:7]) == ["% 通报表扬", "% 约谈"]
    assert ranks[["% 通报表扬", "% 约谈"]].apply(lambda c: c.between(0, 100)).all().all()
    assert ((ranks["q05"] <= ranks["median_rank"]) & (ranks["median_rank"] <= ranks["q95"])).all()
    sobol = read(out / "sobol.csv")
    assert {"readable", "reading"} <= set(sobol.columns)
    # 16 base rows cannot be read: the flag, the file and the printed warning agree
    flagged = sobol[(sobol["readable"].astype(str) == "False")
                    & sobol["output"].isin(["outcome_changes", "mean_abs_rank_shift"])]
    assert len(flagged) and "The sample is too small to read the Sobol' indices" in printed.out
    summary = (out / "summary.txt").read_text(encoding="utf-8")
    assert "seed=5" in summary and "80 runs" in summary


def test_uncertainty_with_a_yaml_file_and_its_errors(tmp_path, capsys):
    spec = tmp_path / "factors.yaml"
    spec.write_text("n: 8\nseed: 3\nfactors:\n  - {kind: weights, spread: 0.25}\n"
                    "  - {kind: aggregation, options: [arithmetic, geometric]}\n",
                    encoding="utf-8")
    assert main(["uncertainty", "--scheme", "dingxi", "--factors", str(spec), "--n-boot", "10",
                 "--no-progress", "--out", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    assert "32 runs (n = 8, seed 3) of 2 design choices: weights, aggregation" in out
    assert "集体约谈" in out and "summoned" not in out
    bad = tmp_path / "bad.yaml"
    bad.write_text("factors: []\nruns: 5\n", encoding="utf-8")
    assert main(["uncertainty", "--factors", str(bad), "--no-progress"]) == 1
    assert "unknown key(s) ['runs']" in capsys.readouterr().err
    assert main(["uncertainty", "--factors", str(spec), "--factor", "weights",
                 "--no-progress"]) == 1
    assert "not both" in capsys.readouterr().err
    assert main(["uncertainty", "--factor", "quota:half", "--no-progress"]) == 1
    assert "the options of quota are numbers" in capsys.readouterr().err


def test_help_has_examples(capsys):
    for name, example in (("compare", "assesskit compare --scheme"),
                          ("uncertainty", "factors.yaml")):
        assert main([name, "--help"]) == 0
        assert example in capsys.readouterr().out
