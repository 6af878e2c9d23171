"""Sobol' indices carry a flag when the sample is too small to read them.

The rule (assesskit.analysis.sensitivity.readability): an estimate outside [-0.05, 1.05] or an
interval wider than 0.3 cannot be read. The tables below are written by hand so that each row
sits on one side of one threshold.
"""

from __future__ import annotations

import pandas as pd
import pytest

import assesskit as ak
from assesskit.analysis.sensitivity import READABLE_SLACK, READABLE_WIDTH, readability
from assesskit.analysis.uncertainty import uncertainty, vary_normalisation, vary_weights


def table(rows):
    cols = ["output", "factor", "S1", "S1_lo", "S1_hi", "ST", "ST_lo", "ST_hi", "variance"]
    return pd.DataFrame(rows, columns=cols)


def test_each_threshold_by_hand():
    t = table([
        ("y", "fine", 0.40, 0.30, 0.55, 0.50, 0.40, 0.65, 1.0),       # widths 0.25, 0.25
        ("y", "wide", 0.40, 0.20, 0.55, 0.50, 0.40, 0.65, 1.0),       # S1 width 0.35 > 0.3
        ("y", "edge", 0.40, 0.30, 0.55, 1.05, 0.90, 1.10, 1.0),       # 1.05 = 1 + slack: ok
        ("y", "over", 0.40, 0.30, 0.55, 1.18, 1.10, 1.30, 1.0),       # the 118%
        ("y", "negative", -0.06, -0.10, 0.0, 0.0, 0.0, 0.0, 1.0),     # below -0.05
        ("k", "constant", 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0),         # constant output: 0 by def.
    ])
    out = readability(t)
    assert out["readable"].tolist() == [True, False, True, False, False, True]
    assert out["reading"].tolist() == [
        "", "S1 interval 0.2–0.55 is wider than 0.3", "", "ST 1.18 is above 1",
        "S1 -0.06 is below 0", ""]
    assert out.attrs["unreadable"] == ["y"]
    assert out.attrs["warning"].startswith("The sample is too small to read the Sobol' indices "
                                           "of y: some estimates lie outside [0, 1]")
    assert (READABLE_WIDTH, READABLE_SLACK) == (0.3, 0.05)
    # looser thresholds accept what the defaults refuse
    loose = readability(t, max_width=0.4, slack=0.2)
    assert loose["readable"].tolist() == [True, True, True, True, True, True]
    assert loose.attrs["warning"] == "" and loose.attrs["unreadable"] == []


def test_the_warning_speaks_of_the_summary_outputs_only():
    t = table([("mean_abs_rank_shift", "w", 0.5, 0.4, 0.6, 0.6, 0.5, 0.7, 1.0),
               ("outcome_changes", "w", 0.5, 0.4, 0.6, 0.6, 0.5, 0.7, 1.0),
               ("511922", "w", 0.5, 0.0, 0.9, 0.6, 0.1, 1.0, 0.1)])
    out = readability(t)
    assert out.attrs["unreadable"] == ["511922"] and out.attrs["warning"] == ""


@pytest.fixture(scope="module")
def sichuan():
    return ak.datasets.load("sichuan-39")


def test_uncertainty_sobol_carries_the_flags(sichuan):
    factors = [vary_weights(0.25), vary_normalisation(["minmax", "zscore"])]
    small = uncertainty("sichuan-39", sichuan, 2025, factors=factors, n=8, seed=3)
    idx = small.sobol(["mean_abs_rank_shift"], n_boot=100, seed=1)
    assert {"readable", "reading"} <= set(idx.columns)
    # 8 base rows cannot pin a share of variance down to 0.3
    assert not idx["readable"].all()
    assert "mean_abs_rank_shift" in idx.attrs["warning"]
    assert "(n = 8 base rows)" in idx.attrs["warning"]
    # every unreadable row says why, every readable row says nothing
    assert (idx["reading"] != "").tolist() == (~idx["readable"]).tolist()
