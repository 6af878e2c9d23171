"""Property tests of the engine through the public API (issue 14), with hypothesis.

Small random panels (3–8 counties, 1–4 indicators, whole-number values 0–1000, one pool or two
regional groups) and schemes (min–max scoring onto [0, 100] or [60, 100], random relative
weights, a top and a bottom quota) are built with ``ak.Dataset.from_frames`` and
``ak.load_scheme(dict)`` and evaluated with ``ak.evaluate``. The properties hold for any correct
engine, whatever its implementation; they guard the engine rewrite:

* raising one unit's value on a higher-is-better indicator never lowers its score or worsens
  its rank (min–max scores are non-decreasing in the unit's own value and non-increasing in
  everyone else's);
* the order of the rows of the units and values tables changes nothing;
* adding a constant to every value of a min–max indicator changes nothing, within
  ``SHIFT_TOLERANCE`` points (the engine computes ``(x - min) / (max - min)``, whose rounding
  error grows with the size of the values, not with the shift);
* scores are finite or the evaluation is refused, and the decision kernel never gives a NaN
  total a consequence (praise, summons ...);
* finite values, however extreme (±1e308), give finite scores or a clear error.

Runs are derandomised (the same examples on every run, no example database on disk), so the
suite is deterministic.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import assesskit as ak
from assesskit.engine.consequences import LevelDecisions
from assesskit.errors import AssessKitError

#: Points by which scores may differ after every value of a min–max indicator is shifted.
SHIFT_TOLERANCE = 1e-6

SETTINGS = settings(max_examples=40, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])


@st.composite
def panels(draw, quarterly: bool = False, extreme: bool = False):
    """(units, indicators, values, scheme dict) of a small random assessment.

    ``quarterly``: four quarters combined with random weights (possibly all zero);
    ``extreme``: some values replaced by ±1e308 (finite, but their span overflows).
    """
    n = draw(st.integers(3, 8))
    k = draw(st.integers(1, 4))
    grouped = n >= 6 and draw(st.booleans())
    directions = ["higher"] + draw(st.lists(st.sampled_from(["higher", "lower"]),
                                            min_size=k - 1, max_size=k - 1))
    weights = draw(st.lists(st.integers(1, 5), min_size=k, max_size=k))
    low = draw(st.sampled_from([0, 60]))
    units = pd.DataFrame({
        "unit": [f"u{i}" for i in range(n)],
        "name": [f"县{i}" for i in range(n)],
        "level": "county",
        "group": (["甲"] * (n // 2) + ["乙"] * (n - n // 2)) if grouped else "",
    })
    codes = [f"x{j}" for j in range(k)]
    indicators = pd.DataFrame({"indicator": codes, "direction": directions})
    periods = ["2024Q1", "2024Q2", "2024Q3", "2024Q4"] if quarterly else ["2024"]
    numbers = draw(st.lists(st.integers(0, 1000), min_size=n * k * len(periods),
                            max_size=n * k * len(periods)))
    values = pd.DataFrame(
        [{"unit": u, "period": p, "indicator": c}
         for p in periods for u in units["unit"] for c in codes])
    values["value"] = np.asarray(numbers, dtype=float)
    if extreme:
        cells = draw(st.lists(st.integers(0, len(values) - 1), min_size=1, max_size=3))
        signs = draw(st.lists(st.sampled_from([-1.0, 1.0]), min_size=len(cells),
                              max_size=len(cells)))
        values.loc[cells, "value"] = np.asarray(signs) * 1e308
    scheme = {
        "name": "property",
        "defaults": {"scoring": {"method": "minmax", "within": "group" if grouped else "pool",
                                 "range": [low, 100]},
                     "missing": "renormalise"},
        "levels": {"county": {
            "tree": {c: {"weight": w} for c, w in zip(codes, weights, strict=True)},
            "normalise_weights": True,
            # ties at a quota boundary get no consequence (otherwise all-tied groups overlap)
            "ranking": {"ties": {"at_quota": "exclude"},
                        **({"group_by": "group"} if grouped else {})},
            "consequences": {"praised": {"label": "通报表扬", "top": 1},
                             "summoned": {"label": "约谈", "bottom": 1}},
        }},
    }
    if quarterly:
        scheme["frequency"] = "quarterly"
        scheme["combine"] = {"weights": draw(st.lists(st.integers(0, 2), min_size=4,
                                                      max_size=4))}
    return units, indicators, values, scheme


def _evaluate(units, indicators, values, scheme, period="2024"):
    data = ak.Dataset.from_frames(units, indicators, values, name="random")
    return ak.evaluate(ak.load_scheme(scheme), data, period)


def _by_unit(ev) -> pd.DataFrame:
    rank = "group_rank" if "group_rank" in ev.scores else "rank"
    table = ev.scores.set_index("unit")[["score", rank, "outcome"]].sort_index()
    return table.rename(columns={rank: "rank"})


@SETTINGS
@given(panels(), st.data())
def test_raising_a_value_on_a_positive_indicator_never_hurts(panel, data):
    units, indicators, values, scheme = panel
    unit = data.draw(st.sampled_from(list(units["unit"])), label="unit")
    raise_by = data.draw(st.integers(1, 500), label="raise_by")
    before = _by_unit(_evaluate(units, indicators, values, scheme))
    raised = values.copy()
    # x0 is higher-is-better in every panel
    raised.loc[(raised["unit"] == unit) & (raised["indicator"] == "x0"), "value"] += raise_by
    after = _by_unit(_evaluate(units, indicators, raised, scheme))
    assert after.loc[unit, "score"] >= before.loc[unit, "score"] - 1e-9
    assert after.loc[unit, "rank"] <= before.loc[unit, "rank"]


@SETTINGS
@given(panels(), st.randoms(use_true_random=False))
def test_the_order_of_the_input_rows_changes_nothing(panel, rnd):
    units, indicators, values, scheme = panel
    before = _by_unit(_evaluate(units, indicators, values, scheme))
    unit_order = list(range(len(units)))
    value_order = list(range(len(values)))
    rnd.shuffle(unit_order)
    rnd.shuffle(value_order)
    after = _by_unit(_evaluate(units.iloc[unit_order], indicators,
                               values.iloc[value_order], scheme))
    pd.testing.assert_frame_equal(after, before, check_exact=False, rtol=0, atol=1e-9)


@SETTINGS
@given(panels(), st.integers(-10**6, 10**6).filter(lambda c: c != 0))
def test_adding_a_constant_to_a_minmax_indicator_changes_nothing(panel, shift):
    units, indicators, values, scheme = panel
    before = _by_unit(_evaluate(units, indicators, values, scheme))
    shifted = values.copy()
    shifted.loc[shifted["indicator"] == "x0", "value"] += shift
    after = _by_unit(_evaluate(units, indicators, shifted, scheme))
    np.testing.assert_allclose(after["score"], before["score"], rtol=0, atol=SHIFT_TOLERANCE)
    assert after["rank"].tolist() == before["rank"].tolist()
    assert after["outcome"].tolist() == before["outcome"].tolist()


@SETTINGS
@given(panels(quarterly=True))
def test_scores_are_finite_or_the_evaluation_is_refused(panel):
    # combine.weights may sum to 0 (every score 0/0 before the engine refused such weights)
    units, indicators, values, scheme = panel
    try:
        ev = _evaluate(units, indicators, values, scheme, period="2024")
    except AssessKitError:
        return  # refused with a clear error: nothing was decided
    assert np.isfinite(ev.scores["score"].to_numpy(dtype=float)).all(), ev.scores


def _decisions(n: int, bottom: bool = True):
    """The compiled quota rules of a pooled level with a top-1 (and bottom-1) list."""
    consequences = {"praised": {"label": "通报表扬", "top": 1}}
    if bottom:
        consequences["summoned"] = {"label": "约谈", "bottom": 1}
    scheme = ak.load_scheme({"name": "nan", "levels": {"county": {
        "tree": {"x0": {"weight": 1, "scoring": {"method": "value"}}},
        "ranking": {"ties": {"at_quota": "exclude"}}, "consequences": consequences}}})
    return LevelDecisions(scheme.levels["county"], [f"u{i}" for i in range(n)], None, None,
                          node_index=lambda nid: 0)


@pytest.mark.parametrize("display", [True, False])
def test_a_nan_total_never_gets_a_consequence_by_hand(display):
    # the decision kernel itself (no evaluation gives a NaN total any more): draw 0 praises
    # u0 (90) and summons u3 (70); draw 1 leaves u0 (NaN) out: praises u1 (60), summons u3 (40)
    dec = _decisions(4)
    total = np.array([[90.0, np.nan, 80.0, 70.0], [np.nan, 60.0, 50.0, 40.0]])
    out = dec.decide(total, [], np.zeros(4, bool), display=display).outcome
    praised, summoned = 1 << dec.keys.index("praised"), 1 << dec.keys.index("summoned")
    assert out.tolist() == [[praised, 0, 0, summoned], [0, praised, 0, summoned]]


@SETTINGS
@given(st.lists(st.one_of(st.integers(0, 100).map(float), st.just(np.nan)), min_size=2,
                max_size=12))
def test_a_nan_total_never_gets_a_consequence(totals):
    dec = _decisions(len(totals), bottom=False)  # (a lone finite unit would be top and bottom)
    total = np.array([totals])
    out = dec.decide(total, [], np.zeros(len(totals), bool), display=False).outcome[0]
    nan = np.isnan(total[0])
    assert (out[nan] == 0).all()
    finite = total[0][~nan]
    praised = 1 << dec.keys.index("praised")
    got = np.flatnonzero(out & praised)
    if len(finite) and (finite == finite.max()).sum() == 1:  # a single best: praised alone
        assert got.tolist() == [int(np.flatnonzero(total[0] == finite.max())[0])]
    else:  # none, or tied at the quota's edge (at_quota: exclude)
        assert len(got) == 0


@SETTINGS
@given(panels(extreme=True))
def test_extreme_values_give_finite_scores_or_a_clear_error(panel):
    units, indicators, values, scheme = panel
    try:
        ev = _evaluate(units, indicators, values, scheme)
    except AssessKitError:
        return
    assert np.isfinite(ev.scores["score"].to_numpy(dtype=float)).all(), ev.scores
    # and no indicator with a finite value was scored NaN (and then left out as "missing")
    leaves = ev.contributions[ev.contributions["kind"] == "leaf"]
    finite_value = np.isfinite(leaves["raw_value"].to_numpy(dtype=float))
    scores = leaves["score"].to_numpy(dtype=float)[finite_value]
    assert np.isfinite(scores).all(), leaves[finite_value][~np.isfinite(scores)]
