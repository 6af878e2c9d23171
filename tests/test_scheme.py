"""Scheme files: safe YAML loading, errors that name the key AND the YAML line, and logged variants
made with ``with_weights``.

Expected line numbers are found by searching the YAML text written in the test for the line that
holds the mistake (independent of the loader's own bookkeeping).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_engine import make_dataset, scores_of, units_in

from assesskit import DataError, SchemeError, evaluate, load_scheme
from assesskit.scheme.model import SCORING_METHODS, builtin_schemes

BASE = """\
name: yaml-test
frequency: annual
levels:
  county:
    tree:
      econ:
        label: 经济发展
        weight: 0.6
        children:
          gdp: {weight: 0.5, scoring: {method: value}}
          income: {weight: 0.5, scoring: {method: value}}
      resp:
        weight: 0.4
        missing: error
        children:
          rating: {weight: 1, scoring: {method: value}}
    ranking:
      group_by: group
    consequences:
      praised:
        top: {g: 1}
"""
VALUES = {"2024": {"a": {"gdp": 80, "income": 40, "rating": 90},
                   "b": {"gdp": 60, "income": 70, "rating": 50},
                   "c": {"gdp": 0, "income": 100, "rating": 70}}}


def line_of(text: str, marker: str) -> int:
    """1-based line of the only line of ``text`` containing ``marker``."""
    hits = [i + 1 for i, line in enumerate(text.splitlines()) if marker in line]
    assert len(hits) == 1, f"marker {marker!r} is on lines {hits}"
    return hits[0]


def write(tmp_path, text: str, name: str = "scheme.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def dataset(values=VALUES):
    return make_dataset(values, units_in("g", "abc"))


def assert_located(err, key: str, line: int, path=None):
    """The error names the key and the line (in the attributes and in the message)."""
    assert err.key == key
    assert err.line == line
    assert f"line {line}" in str(err) and repr(key) in str(err)
    if path is not None:
        assert str(path) in str(err)


# ---------------------------------------------------------------------- loading
def test_yaml_scheme_evaluates_by_hand(tmp_path):
    # a: econ = 0.5*80 + 0.5*40 = 60, resp = 90 → 0.6*60 + 0.4*90 = 36 + 36 = 72
    # b: econ 65, resp 50 → 39 + 20 = 59;  c: econ 50, resp 70 → 30 + 28 = 58
    scheme = load_scheme(write(tmp_path, BASE))
    ev = evaluate(scheme, dataset(), 2024)
    assert scores_of(ev) == pytest.approx({"a": 72, "b": 59, "c": 58})
    assert ev.scores.set_index("unit").loc["a", "outcome"] == "praised"
    # every key's line is known: econ's weight is on the line that says "weight: 0.6"
    assert scheme.lines["levels.county.tree.econ.weight"] == line_of(BASE, "weight: 0.6")
    assert scheme.lines["levels.county.tree.econ.children.gdp"] == line_of(BASE, "gdp:")


def test_builtin_scheme_lines_match_the_file():
    assert "sichuan-39" in builtin_schemes()
    scheme = load_scheme("sichuan-39")
    lines = Path(scheme.source).read_text(encoding="utf-8").splitlines()
    # the first "weight: 0.9" of the file is the county task weight (county and task come first)
    first = next(i + 1 for i, ln in enumerate(lines) if ln.strip() == "weight: 0.9")
    assert scheme.lines["levels.county.tree.task.weight"] == first
    assert scheme.weights("county")["task"] == 0.9


def test_builtin_scheme_error_names_its_file_and_line(tmp_path):
    # Sichuan county: responsibility weight 0.1 → 0.2 makes the county parts sum to 1.1
    text = Path(load_scheme("sichuan-39").source).read_text(encoding="utf-8")
    first_resp = text.index("        weight: 0.1\n")
    broken = text[:first_resp] + "        weight: 0.2\n" + text[first_resp + len("        weight: 0.1\n"):]
    path = write(tmp_path, broken, "sichuan-broken.yaml")
    with pytest.raises(SchemeError, match=r"sum to 1\.1, not 1 \(task=0\.9, responsibility=0\.2\)") as err:
        load_scheme(path)
    tree_line = next(i + 1 for i, ln in enumerate(broken.splitlines()) if ln == "    tree:")
    assert_located(err.value, "levels.county.tree", tree_line, path)


def test_python_tags_are_refused_and_never_run(tmp_path):
    marker = tmp_path / "pwned"
    text = BASE.replace("name: yaml-test", f'name: !!python/object/apply:os.system ["touch {marker}"]')
    with pytest.raises(SchemeError, match=r"line 1: malformed YAML: could not determine a constructor"
                                          r".*never run") as err:
        load_scheme(write(tmp_path, text))
    assert err.value.line == 1
    assert not marker.exists()


# ---------------------------------------------------------------------- errors with key and line
def test_weights_not_summing_to_one(tmp_path):
    text = BASE.replace("income: {weight: 0.5", "income: {weight: 0.4")
    with pytest.raises(SchemeError, match=r"children of 'econ' sum to 0\.9, not 1 \(gdp=0\.5, income=0\.4\)"
                                          r".*normalise_weights: true") as err:
        load_scheme(write(tmp_path, text))
    # the error points at the node's own line
    assert_located(err.value, "levels.county.tree.econ", line_of(text, "econ:"))


def test_normalise_weights_accepts_relative_weights(tmp_path):
    # the same weights declared relative: econ = (0.5*80 + 0.4*40)/0.9 = 56/0.9 = 62.222 for a
    # a = 0.6*62.222 + 0.4*90 = 37.333 + 36 = 73.333
    text = BASE.replace("income: {weight: 0.5", "income: {weight: 0.4").replace(
        "        weight: 0.6\n", "        weight: 0.6\n        normalise_weights: true\n")
    ev = evaluate(load_scheme(write(tmp_path, text)), dataset(), 2024)
    assert scores_of(ev)["a"] == pytest.approx(0.6 * 56 / 0.9 + 36)


def test_unknown_indicator_code(tmp_path):
    text = BASE.replace("gdp: {weight: 0.5,", "gdp: {weight: 0.5, indicator: gdp_pc,")
    path = write(tmp_path, text)
    with pytest.raises(SchemeError, match="unknown indicator code 'gdp_pc'") as err:
        evaluate(load_scheme(path), dataset(), 2024)
    assert_located(err.value, "levels.county.tree.econ.children.gdp.indicator",
                   line_of(text, "indicator: gdp_pc"), path)


def test_quota_larger_than_its_group(tmp_path):
    text = BASE.replace("top: {g: 1}", "top: {g: 5}")
    with pytest.raises(SchemeError, match=r"quota 5 of group 'g' is larger than the group \(3 units\)") as err:
        evaluate(load_scheme(write(tmp_path, text)), dataset(), 2024)
    assert_located(err.value, "levels.county.consequences.praised.top.g", line_of(text, "top: {g: 5}"))


def test_geometric_mean_over_zero(tmp_path):
    # c's gdp is 0 (value scoring → score 0): a geometric mean under econ is refused
    text = BASE.replace("        weight: 0.6\n", "        weight: 0.6\n        aggregate: geometric\n")
    with pytest.raises(SchemeError, match=r"geometric mean under 'econ' meets a score of 0 for unit c") as err:
        evaluate(load_scheme(write(tmp_path, text)), dataset(), 2024)
    assert_located(err.value, "levels.county.tree.econ.aggregate", line_of(text, "aggregate: geometric"))


def test_missing_data_under_error_policy(tmp_path):
    # b did not report its rating; resp says missing: error → names unit, node, file and line
    values = {"2024": {**VALUES["2024"], "b": {"gdp": 60, "income": 70}}}
    path = write(tmp_path, BASE)
    with pytest.raises(DataError, match=r"unit b \(b\) has no value for 'rating' in period 2024") as err:
        evaluate(load_scheme(path), dataset(values), 2024)
    assert f"{path}, line {line_of(BASE, 'missing: error')}" in str(err.value)
    assert len(err.value.problems) == 1


def test_malformed_yaml(tmp_path):
    text = BASE.replace("top: {g: 1}", "top: {g: 1")  # unclosed flow mapping
    with pytest.raises(SchemeError, match="malformed YAML") as err:
        load_scheme(write(tmp_path, text))
    # PyYAML notices at the end of the document (the line after the last one)
    assert err.value.line == len(text.splitlines()) + 1
    text = BASE.replace("        weight: 0.4\n", "        weight: 0.4\n         missing: zero\n")
    with pytest.raises(SchemeError, match="malformed YAML: mapping values are not allowed here") as err:
        load_scheme(write(tmp_path, text))
    assert err.value.line == line_of(text, "missing: zero")


def test_duplicate_key(tmp_path):
    text = BASE.replace("        weight: 0.4\n", "        weight: 0.4\n        weight: 0.3\n")
    with pytest.raises(SchemeError, match="duplicate key 'weight'; each key may appear once") as err:
        load_scheme(write(tmp_path, text))
    assert err.value.line == line_of(text, "weight: 0.3")


def test_unknown_scoring_method(tmp_path):
    text = BASE.replace("rating: {weight: 1, scoring: {method: value}}",
                        "rating: {weight: 1, scoring: {method: ratings}}")
    with pytest.raises(SchemeError, match=r"unknown scoring method 'ratings'; use one of") as err:
        load_scheme(write(tmp_path, text))
    assert_located(err.value, "levels.county.tree.resp.children.rating.scoring.method",
                   line_of(text, "method: ratings"))
    for method in ("minmax", "goalposts", "level_and_change", "passfail"):
        assert method in str(err.value) and method in SCORING_METHODS


def test_unknown_scoring_parameter(tmp_path):
    text = BASE.replace("gdp: {weight: 0.5, scoring: {method: value}}",
                        "gdp: {weight: 0.5, scoring: {method: minmax, range: [60, 100], within: county}}")
    with pytest.raises(SchemeError, match="within must be one of") as err:
        load_scheme(write(tmp_path, text))
    assert err.value.line == line_of(text, "within: county")


def test_unknown_node_key(tmp_path):
    text = BASE.replace("        label: 经济发展\n", "        label: 经济发展\n        wieght: 0.6\n")
    with pytest.raises(SchemeError, match=r"unknown key\(s\) \['wieght'\]; a node takes") as err:
        load_scheme(write(tmp_path, text))
    assert_located(err.value, "levels.county.tree.econ.wieght", line_of(text, "wieght"))


@pytest.mark.parametrize(("change", "message", "key"), [
    (("frequency: annual", "frequency: weekly"), "frequency must be one of \\['annual', 'quarterly', 'monthly'\\]",
     "frequency"),
    (("        weight: 0.4\n", "        weight: -0.4\n"), "weight must be >= 0, not -0.4",
     "levels.county.tree.resp.weight"),
    (("        weight: 0.4\n", ""), "every node needs a weight", "levels.county.tree.resp.weight"),
    (("        missing: error", "        missing: drop"), "missing must be one of",
     "levels.county.tree.resp.missing"),
    (("rating: {weight: 1, scoring: {method: value}}",
      "rating: {weight: 1, scoring: {method: bands, cuts: [90, 60], scores: [100, 60]}}"),
     "bands need one more score than cuts", "levels.county.tree.resp.children.rating.scoring.scores"),
    (("rating: {weight: 1, scoring: {method: value}}",
      "rating: {weight: 1, scoring: {method: passfail, threshold: 1, on_fail: warn}}"),
     "on_fail must be one of \\['zero', 'veto'\\]", "levels.county.tree.resp.children.rating.scoring.on_fail"),
    (("rating: {weight: 1, scoring: {method: value}}",
      "rating: {weight: 1, scoring: {method: goalposts, max: 100}}"),
     "scoring method 'goalposts' needs 'min:'", "levels.county.tree.resp.children.rating.scoring.min"),
    (("rating: {weight: 1, scoring: {method: value}}",
      "rating: {weight: 1, scoring: {method: minmax, range: [100, 60]}}"),
     "range must be \\[low, high\\] with low < high", "levels.county.tree.resp.children.rating.scoring.range"),
    (("rating: {weight: 1, scoring: {method: value}}",
      "rating: {weight: 1, rollup: {from: town}}"),
     "refers to level 'town', which the scheme does not assess",
     "levels.county.tree.resp.children.rating.rollup.from"),
    (("rating: {weight: 1, scoring: {method: value}}",
      "rating: {weight: 1, scoring: {method: growth, change: ratio}}"),
     "change must be one of \\['growth', 'difference'\\]", "levels.county.tree.resp.children.rating.scoring.change"),
])
def test_other_scheme_errors_name_key_and_line(tmp_path, change, message, key):
    old, new = change
    assert old in BASE
    text = BASE.replace(old, new)
    with pytest.raises(SchemeError, match=message) as err:
        load_scheme(write(tmp_path, text))
    assert err.value.key == key
    # the line of the key itself, or of the nearest key written (a key left out: its node)
    assert err.value.line is not None and f"line {err.value.line}" in str(err.value)
    written = key.rsplit(".", 1)[-1]
    if f"{written}:" in text and text.count(f"{written}:") == 1:
        assert err.value.line == line_of(text, f"{written}:")


@pytest.mark.parametrize(("change", "message", "key", "marker"), [
    # a typo in a level section must not silently drop a rule; `marker` is on the offending line
    (("    ranking:\n", "    rankng:\n"), r"unknown key\(s\) \['rankng'\] in a level",
     "levels.county.rankng", "rankng:"),
    (("        top: {g: 1}", "        tops: {g: 1}"), r"unknown key\(s\) \['tops'\] in a consequence",
     "levels.county.consequences.praised.tops", "tops:"),
    (("frequency: annual", "frequncy: quarterly"), r"unknown key\(s\) \['frequncy'\] in a scheme",
     "frequncy", "frequncy"),
    (("      group_by: group", "      group_by: group\n      ties: {method: min, at_quota: drop}"),
     "ties.at_quota must be one of \\['include', 'exclude'\\]", "levels.county.ranking.ties.at_quota", "at_quota: drop"),
    (("    ranking:\n", "    deductions:\n      accidents: {cap: 5}\n    ranking:\n"),
     "a deduction needs points:", "levels.county.deductions.accidents.points", "accidents: {cap: 5}"),
    (("    ranking:\n", "    deductions:\n      accidents: {points: 2, per: decrease}\n    ranking:\n"),
     "per must be one of \\['unit', 'increase'\\]", "levels.county.deductions.accidents.per", "per: decrease"),
    (("    ranking:\n", "    coefficient: {indicator: difficulty, bands: [[80, 1.1], [0, 1.0]]}\n"
                        "    ranking:\n"),
     "coefficient bands must be in increasing order", "levels.county.coefficient.bands", "bands: [[80"),
    (("    ranking:\n", "    grades: {by: rank, bands: [[90, A]]}\n    ranking:\n"),
     "grades.by must be one of \\['score', 'share'\\]", "levels.county.grades.by", "by: rank"),
    (("    ranking:\n", "    rules:\n      - {name: adjust, when: {last: 1}}\n    ranking:\n"),
     r"unknown key\(s\) \['last'\] in when", "levels.county.rules[0].when.last", "when: {last"),
])
def test_level_sections_are_checked(tmp_path, change, message, key, marker):
    old, new = change
    assert old in BASE
    text = BASE.replace(old, new)
    with pytest.raises(SchemeError, match=message) as err:
        load_scheme(write(tmp_path, text))
    assert_located(err.value, key, line_of(text, marker))


def test_target_indicator_unknown(tmp_path):
    text = BASE.replace("gdp: {weight: 0.5, scoring: {method: value}}",
                        "gdp: {weight: 0.5, scoring: {method: target, target_indicator: gdp_plan}}")
    with pytest.raises(SchemeError, match="unknown indicator code 'gdp_plan'") as err:
        evaluate(load_scheme(write(tmp_path, text)), dataset(), 2024)
    assert err.value.key == "levels.county.tree.econ.children.gdp.scoring.target_indicator"
    assert err.value.line == line_of(text, "gdp_plan")


def test_levels_rolling_up_from_each_other():
    tree = {"x": {"weight": 1, "rollup": {"from": "prefecture"}}}
    with pytest.raises(SchemeError, match="cycle"):
        load_scheme({"levels": {"county": {"tree": tree},
                                "prefecture": {"tree": {"y": {"weight": 1, "rollup": {"from": "county"}}}}}})


def test_unknown_scheme_name():
    with pytest.raises(SchemeError, match="no scheme file 'sichuan-40' and no built-in scheme"):
        load_scheme("sichuan-40")


# ---------------------------------------------------------------------- with_weights
def test_with_weights_returns_a_logged_copy(tmp_path):
    scheme = load_scheme(write(tmp_path, BASE))
    variant = scheme.with_weights({"gdp": 0.7, "income": 0.3}, note="growth first")
    # the copy has the new weights, the original is unchanged
    assert variant.weights("county")["gdp"] == 0.7 and variant.weights("county")["income"] == 0.3
    assert scheme.weights("county")["gdp"] == 0.5
    assert scheme.spec["levels"]["county"]["tree"]["econ"]["children"]["gdp"]["weight"] == 0.5
    assert scheme.log == []
    assert variant.log == [{"change": "with_weights", "level": "county", "note": "growth first",
                            "weights": [{"node": "gdp", "old": 0.5, "new": 0.7},
                                        {"node": "income", "old": 0.5, "new": 0.3}]}]
    # a: econ = 0.7*80 + 0.3*40 = 56 + 12 = 68 → 0.6*68 + 36 = 76.8 (published weights: 72)
    ev = evaluate(variant, dataset(), 2024)
    assert scores_of(ev)["a"] == pytest.approx(76.8)
    assert ev.log[0]["step"] == "input" and ev.log[0]["scheme_changes"] == variant.log
    assert scores_of(evaluate(scheme, dataset(), 2024))["a"] == pytest.approx(72)
    # changes accumulate in the log of further copies
    again = variant.with_weights({"econ": 0.5, "resp": 0.5})
    assert len(again.log) == 2 and len(variant.log) == 1


def test_with_weights_invalid_set_raises(tmp_path):
    scheme = load_scheme(write(tmp_path, BASE))
    with pytest.raises(SchemeError, match=r"children of 'econ' sum to 1\.2") as err:
        scheme.with_weights({"gdp": 0.7})  # income stays 0.5
    assert err.value.line == line_of(BASE, "econ:")  # the node's own line
    with pytest.raises(SchemeError, match=r"no level of scheme 'yaml-test' has all the nodes \['roads'\]"):
        scheme.with_weights({"roads": 0.5})
    with pytest.raises(SchemeError, match="unknown node 'roads' in level 'county'"):
        scheme.with_weights({"roads": 0.5}, level="county")
    assert scheme.weights("county")["gdp"] == 0.5


def test_without_nodes_rescales_the_siblings_and_logs():
    spec = {"name": "t", "levels": {"county": {"tree": {
        "a": {"weight": 0.5}, "b": {"weight": 0.3}, "c": {"weight": 0.2}}}}}
    scheme = load_scheme(spec)
    reduced = scheme.without_nodes(["b"], note="redundant")
    # worked by hand: a and c keep their ratio 5:2 and sum to 1
    assert reduced.weights("county") == pytest.approx({"a": 5 / 7, "c": 2 / 7})
    assert reduced.log[-1]["change"] == "without_nodes"
    assert reduced.log[-1]["removed"] == [{"node": "b", "parent": "total", "weight": 0.3}]
    assert scheme.weights("county") == {"a": 0.5, "b": 0.3, "c": 0.2}  # the original is unchanged
    with pytest.raises(SchemeError, match="nodes"):
        scheme.without_nodes(["nope"])
    with pytest.raises(SchemeError, match="only child"):
        load_scheme({"name": "t", "levels": {"county": {"tree": {
            "g": {"weight": 1, "children": {"x": {"weight": 1}}}}}}}).without_nodes(["x"])


def test_without_nodes_rescales_overrides_and_protects_shared_nodes():
    # declared a=0.5, b=0.3, c=0.2; unit U overrides a=0.2, b=0.6 (c declared 0.2).
    # Removing b: declared a, c scale by 1/0.7 -> 5/7, 2/7. U's siblings summed 1 before; after,
    # c is 2/7 and a (overridden) scales so that a + c = 1: a = 5/7.
    spec = {"name": "t", "levels": {"county": {
        "tree": {"a": {"weight": 0.5}, "b": {"weight": 0.3}, "c": {"weight": 0.2}},
        "overrides": {"U": {"weights": {"a": 0.2, "b": 0.6}}}}}}
    reduced = load_scheme(spec).without_nodes(["b"])
    ov = reduced.spec["levels"]["county"]["overrides"]["U"]["weights"]
    assert ov == pytest.approx({"a": 5 / 7})
    shared = {"name": "t", "levels": {
        "county": {"tree": {"x": {"weight": 0.5}, "y": {"weight": 0.5}}},
        "department": {"tree": {"sx": {"weight": 1, "shared": {
            "from": "county", "node": "x", "lead": ["D1"], "lead_share": 1, "related_share": 0,
            "scoring": {"method": "value"}}}}}}}
    with pytest.raises(SchemeError, match="level 'department' shares it"):
        load_scheme(shared).without_nodes(["x"], level="county")
