"""Linked consequences across scheme files (issue 10, "a consequence that reaches another unit").

Scheme A (``review.yaml``) grades four first secretaries from rating sheets — the tiny review of
``test_review.py``, worked out by hand there: S1 89.8 优秀, S2 67.5 基本称职, S3 84 称职, S4 44.5
不称职. Its rule ``penalty`` names scheme B (``units.yaml``) and its level ``sending``; B's level
lists the rule in ``linked_from:``. B scores the sending units D1 95 and D2 93 (value rule),
graded 好 >= 90, 较好 >= 80, 一般 below; 好 is commended.

By hand: S4 (不称职) was sent by D2 → D2 loses 2 points (93 − 2 = 91, which would be 好), its grade
is capped at 较好 (so it is not commended), it is publicly criticised and its principal barred
from awards. D1 sent S1 and S2, neither 不称职: 95, 好, commended, no linked consequence.
With S4 sent by D1 instead: D1 95 − 2 = 93 capped at 较好; D2 93, 好, untouched.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import yaml
from test_review import SCHEME, tiny_data

import assesskit as ak
from assesskit.analysis.uncertainty import vary_weights
from assesskit.engine.batch import LevelBatch
from assesskit.errors import DataError, SchemeError

EFFECTS = {"criticism": {"label": "对选派单位通报批评"},
           "bar_awards": {"label": "取消选派单位主要负责人当年评先评优资格"},
           "cap_grade": {"best": "较好", "label": "领导班子不得评为好"},
           "deduct": {"points": 2, "cap": 6, "label": "扣减目标考核分"}}


def scheme_a() -> dict:
    spec = copy.deepcopy(SCHEME)
    secretary = spec["levels"]["secretary"]
    secretary["linked"] = {"penalty": {
        "when": {"grades": ["不称职"]}, "via": "sending_unit", "scheme": "units.yaml",
        "level": "sending", "effects": copy.deepcopy(EFFECTS)}}
    return {"name": "tiny-review", "frequency": "annual", "levels": {"secretary": secretary}}


def scheme_b() -> dict:
    sending = copy.deepcopy(SCHEME["levels"]["sending"])
    sending["linked_from"] = [{"scheme": "review.yaml", "rule": "penalty"}]
    return {"name": "tiny-units", "frequency": "annual", "levels": {"sending": sending}}


def write(folder: Path, a: dict | None = None, b: dict | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, spec in (("review.yaml", a or scheme_a()), ("units.yaml", b or scheme_b())):
        (folder / name).write_text(yaml.safe_dump(spec, allow_unicode=True, sort_keys=False),
                                   encoding="utf-8")
    return folder / "units.yaml"


def line_of(path: Path, text: str) -> int:
    return next(i for i, t in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                if text in t)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return write(tmp_path_factory.mktemp("linked")).parent


@pytest.fixture(scope="module")
def ev_b(folder):
    return ak.evaluate(ak.load_scheme(folder / "units.yaml"), tiny_data(), 2015)


def test_incompetent_secretary_reaches_the_sending_unit_in_another_scheme(ev_b):
    s = ev_b.scores.set_index("unit")
    assert list(s.index) == ["D1", "D2"]  # only B's units: A's secretaries are not in B
    assert s.loc["D2", "score"] == pytest.approx(91.0) and s.loc["D2", "deductions"] == -2.0
    assert s.loc["D2", "grade"] == "较好" and s.loc["D2", "outcome"] == ""
    assert "对选派单位通报批评" in s.loc["D2", "linked_outcomes"]
    assert "取消选派单位主要负责人当年评先评优资格" in s.loc["D2", "linked_outcomes"]
    linked = ev_b.consequences[ev_b.consequences["kind"] == "linked"]
    assert sorted(linked["consequence"]) == ["penalty.bar_awards", "penalty.cap_grade",
                                             "penalty.criticism", "penalty.deduct"]
    assert set(linked["unit"]) == {"D2"}
    assert (linked["because"] == "S4 (第一书记S4) graded 不称职 in level 'secretary' of scheme "
                                 "'tiny-review'").all()
    flags = ev_b.level_results["sending"].adjustments.linked
    assert set(flags["scheme"]) == {"tiny-review"} and set(flags["source"]) == {"secretary"}


def test_a_unit_without_an_incompetent_secretary_is_not_reached(ev_b):
    d1 = ev_b.scores.set_index("unit").loc["D1"]
    assert d1["score"] == 95.0 and d1["deductions"] == 0 and d1["grade"] == "好"
    assert d1["outcome"] == "commended" and d1["linked_outcomes"] == ""
    assert "linked" not in ev_b.explain("D1").text
    # S4 sent by D1 instead: D1 93, capped at 较好; D2 93 and 好, untouched
    ev = ak.evaluate(ev_b.scheme, tiny_data(sending={"S4": "D1"}), 2015)
    s = ev.scores.set_index("unit")
    assert (s.loc["D1", "score"], s.loc["D1", "grade"]) == (pytest.approx(93.0), "较好")
    assert (s.loc["D2", "score"], s.loc["D2", "grade"]) == (pytest.approx(93.0), "好")
    assert s.loc["D2", "linked_outcomes"] == "" and s.loc["D2", "outcome"] == "commended"


def test_explain_summary_and_log_name_the_source_scheme_and_unit(ev_b):
    text = ev_b.explain("D2").text
    assert ("linked (flag): 取消选派单位主要负责人当年评先评优资格 — because S4 (第一书记S4) graded "
            "不称职 in level 'secretary' of scheme 'tiny-review'") in text
    assert "linked: -2.00 points — 扣减目标考核分: S4 (第一书记S4) graded 不称职" in text
    summary = ev_b.summary()
    assert ("linked consequence penalty from level 'secretary' of scheme 'tiny-review', "
            "evaluated on the same data and period: 单位D2 (D2) ← S4 (第一书记S4) graded 不称职"
            ) in summary
    source = next(e for e in ev_b.log if e["step"] == "linked_scheme")
    assert (source["scheme"], source["rules"], source["period"]) == ("tiny-review", ["penalty"],
                                                                    "2015")
    entry = next(e for e in ev_b.log if e["step"] == "linked")
    assert entry["scheme"] == "tiny-review" and entry["reached"] == {"D2": ["S4 (第一书记S4)"]}
    # A's own evaluation, as given to B
    a = ev_b.linked_evaluations["review.yaml"]
    assert a.scores.set_index("unit").loc["S4", "grade"] == "不称职"


def test_the_source_scheme_alone_grades_its_units_and_says_where_the_link_goes(folder):
    ev = ak.evaluate(ak.load_scheme(folder / "review.yaml"), tiny_data(), 2015)
    assert set(ev.scores["level"]) == {"secretary"} and "linked_outcomes" not in ev.scores
    assert ("linked consequence penalty (graded 不称职) reaches level 'sending' of scheme "
            "'units.yaml': applied when that scheme is evaluated") in ev.summary()
    assert not [n for n in ev.notices if n.kind == "linked_not_applied"]


def test_a_copy_of_the_source_not_listed_by_the_target_gets_a_notice(folder, tmp_path):
    copy_path = folder / "review-variant.yaml"
    copy_path.write_text((folder / "review.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    ev = ak.evaluate(ak.load_scheme(copy_path), tiny_data(), 2015)
    notice = next(n for n in ev.notices if n.kind == "linked_not_applied")
    assert "does not list this scheme file in linked_from:" in notice.message
    assert "linked_from: [{scheme: review-variant.yaml, rule: penalty}]" in notice.message
    assert "not applied by any evaluation" in ev.summary()


def test_cycle_across_scheme_files_is_a_located_error(tmp_path):
    a, b = scheme_a(), scheme_b()
    b["levels"]["sending"]["linked"] = {"back": {
        "when": {"grades": ["一般"]}, "via": "parent", "scheme": "review.yaml",
        "level": "secretary", "effects": {"note_it": {"label": "通报"}}}}
    a["levels"]["secretary"]["linked_from"] = [{"scheme": "units.yaml", "rule": "back"}]
    path = write(tmp_path, a, b)
    with pytest.raises(SchemeError, match=r"form a cycle: units\.yaml → review\.yaml → "
                                          r"units\.yaml") as err:
        ak.load_scheme(path)
    assert Path(err.value.source).name == "review.yaml"
    assert err.value.key == "levels.secretary.linked_from[0].scheme"
    assert err.value.line == line_of(tmp_path / "review.yaml", "linked_from:") + 1


def test_unknown_rule_scheme_and_level_are_located_errors(tmp_path):
    b = scheme_b()
    b["levels"]["sending"]["linked_from"] = [{"scheme": "review.yaml", "rule": "nope"}]
    path = write(tmp_path / "rule", b=b)
    with pytest.raises(SchemeError, match=r"no linked consequence 'nope'; its linked "
                                          r"consequences: \['penalty'\]") as err:
        ak.load_scheme(path)
    assert (Path(err.value.source).name, err.value.key) == ("units.yaml",
                                                            "levels.sending.linked_from[0].rule")
    assert err.value.line == line_of(path, "rule: nope")

    b["levels"]["sending"]["linked_from"] = [{"scheme": "missing.yaml", "rule": "penalty"}]
    path = write(tmp_path / "scheme", b=b)
    with pytest.raises(SchemeError, match="no scheme 'missing.yaml'") as err:
        ak.load_scheme(path)
    assert err.value.key == "levels.sending.linked_from[0].scheme"

    a = scheme_a()
    a["levels"]["secretary"]["linked"]["penalty"]["level"] = "nowhere"
    path = write(tmp_path / "level", a=a)
    with pytest.raises(SchemeError, match=r"level 'nowhere' of scheme 'units.yaml'") as err:
        ak.load_scheme(path)
    assert (Path(err.value.source).name, err.value.key) == (
        "review.yaml", "levels.secretary.linked.penalty.level")

    a = scheme_a()  # the cap names a grade B's level does not have
    a["levels"]["secretary"]["linked"]["penalty"]["effects"]["cap_grade"]["best"] = "优"
    path = write(tmp_path / "cap", a=a)
    with pytest.raises(SchemeError, match="must be a grade of level 'sending'") as err:
        ak.load_scheme(path)
    assert (Path(err.value.source).name, err.value.key) == ("units.yaml",
                                                            "levels.sending.linked_from[0].rule")


def test_unknown_unit_reached_is_a_located_data_error(folder):
    # S4's sending unit is a township: B's level (departments) does not assess it; S4 is the
    # 9th unit of units.csv (C, TA, TB, D1, D2, S1..S4), row 10 after the header
    with pytest.raises(DataError) as err:
        ak.evaluate(ak.load_scheme(folder / "units.yaml"), tiny_data(sending={"S4": "TA"}),
                    2015)
    p = err.value.problems[0]
    assert (p.file, p.row, p.column, p.value) == ("units.csv", 10, "sending_unit", "TA")
    assert "of level 'town', not 'department'" in p.message


def test_monte_carlo_on_the_target_keeps_the_source_fixed_and_says_so(folder):
    scheme = ak.load_scheme(folder / "units.yaml")
    data = tiny_data()
    batch = LevelBatch(scheme, data, "2015", "sending")
    run = batch.run(np.zeros((1, 5), int))
    np.testing.assert_allclose(run.total[0], [95.0, 91.0])  # D2's 2 points stay deducted
    assert run.outcome[0].tolist() == [1, 0]  # commended (好) follows the capped grade
    res = ak.uncertainty(scheme, data, 2015, n=8, seed=1, factors=[vary_weights(0.25)])
    assert ("fixed input: the linked consequence 'penalty' comes from the nominal result of "
            "level 'secretary' of scheme 'tiny-review' for 2015") in res.summary()
    # one leaf: weights cannot move the scores, so every run is the nominal result
    ranks = res.ranks.set_index("unit")
    assert ranks.loc["D2", "nominal_score"] == pytest.approx(91.0)
    assert ranks.loc["D2", "median_rank"] == 2 and ranks.loc["D1", "median_rank"] == 1


def test_builtin_sending_units_scheme_monte_carlo_states_the_review_is_fixed():
    data = ak.datasets.load("yingshan")
    res = ak.uncertainty("yingshan-sending-units", data, 2015, n=8, seed=3,
                         factors=[vary_weights(0.25)])
    assert ("nominal result of level 'secretary' of scheme 'yingshan-first-secretaries'"
            in res.summary())


def test_linked_consequences_of_the_source_are_found_in_the_target(folder):
    from assesskit.engine.review import linked_consequences

    ev = ak.evaluate(ak.load_scheme(folder / "review.yaml"), tiny_data(), 2015)
    rows = linked_consequences(ev, tiny_data())
    assert set(rows["unit"]) == {"D2"} and set(rows["scheme"]) == {"tiny-units"}
    assert len(rows) == 4 and set(rows["level_label"]) == {"sending"}
