"""Tests of the synthetic Yingshan and Jiange datasets (assesskit.data.synthetic_review).

Byte-identical regeneration; the structure the issue asks for (about 60 secretaries in about 20
townships, each with a sending unit; about 30 townships); the planted irregularities, counted
from the CSV files with plain pandas; and the built-in scheme's draw matching the data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import assesskit as ak
from assesskit import datasets
from assesskit.data.synthetic_review import (
    DRAW_SEED,
    IDENTICAL_RATER,
    JIANGE_FAILURES,
    K_DRAWN,
    SELF_RATERS,
    WEAK_SECRETARY,
    main,
)

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
FILES = {"yingshan": ["dataset.yaml", "units.csv", "indicators.csv", "values.csv",
                      "ratings.csv", "truth_raters.csv"],
         "jiange": ["dataset.yaml", "units.csv", "indicators.csv", "values.csv"]}


def test_regenerates_byte_identical(tmp_path):
    main(["--out", str(tmp_path)])
    for name, files in FILES.items():
        for f in files:
            assert (tmp_path / name / f).read_bytes() == (DATA / name / f).read_bytes(), (name, f)
        assert sorted(p.name for p in (tmp_path / name).iterdir()) == sorted(files)


def test_yingshan_structure():
    ds = datasets.load("yingshan")
    u = ds.units
    sec = u[u["level"] == "official"]
    assert len(sec) == 60 and (u["level"] == "town").sum() == 20
    assert (sec["sending_unit"] != "").all()
    assert set(sec["sending_unit"]) <= set(u.loc[u["level"] == "department", "unit"])
    assert set(sec["parent"]) == set(u.loc[u["level"] == "town", "unit"])
    assert u.set_index("unit").loc["511322", "name"] == "营山县"    # the real county
    assert ds.rating_scale == ("好", "较好", "一般", "差")
    # known true performance per secretary, standardised apart from the weak one
    theta = sec["latent_performance"].astype(float)
    assert theta.min() == pytest.approx(-2.8)
    assert sec.set_index("unit").loc[WEAK_SECRETARY, "sending_unit"] == "YD05"


def test_yingshan_ratings_and_planted_irregularities():
    r = pd.read_csv(DATA / "yingshan" / "ratings.csv", dtype=str, keep_default_na=False)
    assert set(r["grade"]) == {"好", "较好", "一般", "差"}
    assert r["aspect"].nunique() == 8
    assert set(r["rater_group"]) == {"team", "township_leaders", "peers"}
    selfs = r[r["rater"] == r["unit"]]
    assert sorted(set(selfs["rater"])) == sorted(SELF_RATERS)
    assert (selfs["grade"] == "好").all()
    one = r[r["rater"] == IDENTICAL_RATER]
    assert set(one["grade"]) == {"较好"} and one["unit"].nunique() >= 2
    sheets = r.groupby(["unit", "rater"]).size()
    assert (sheets == 7).sum() == 1 and set(sheets) == {7, 8}   # one sheet lacks an aspect


def test_yingshan_truth_file():
    t = pd.read_csv(DATA / "yingshan" / "truth_raters.csv")
    assert len(t) == 6 + 20 + 60
    lam = t.groupby("rater_group")["group_leniency"].first()
    assert lam["team"] == 0 and lam["peers"] > lam["township_leaders"] > 0
    assert np.allclose(t["leniency"], t["group_leniency"] + t["rater_leniency"], atol=2e-4)


def test_builtin_scheme_draw_matches_the_data():
    meta = yaml.safe_load((DATA / "yingshan" / "dataset.yaml").read_text(encoding="utf-8"))
    review = ak.load_scheme("yingshan-first-secretaries").levels["secretary"].review
    assert review.draw_seed == meta["review_draw"]["seed"] == DRAW_SEED
    assert review.draw_k == meta["review_draw"]["k"] == K_DRAWN


def test_jiange_failures_by_construction():
    ds = datasets.load("jiange")
    assert (ds.units["level"] == "town").sum() == 30
    w = ds.wide(2016)
    assert w.loc["JG03", "fulltime_staff"] == 0 and w.loc["JG07", "office_staff"] == 2
    assert w.loc["JG11", "months_studied"] == 10 and w.loc["JG14", "months_recorded"] == 11
    assert w.loc["JG25", "odd_months_covered"] == 5
    ok = [u for u in w.index if u not in JIANGE_FAILURES]
    assert (w.loc[ok, "months_studied"] == 12).all()
    assert (w.loc[ok, ["households_met_midyear", "households_met_yearend"]] == 100).all().all()
    assert (w.loc[ok, "agri_funds_share_poor"] >= 50).all()
    # annual counts agree with the monthly rows
    v = ds.values[ds.values["period"].str.contains("-")]
    monthly = v.pivot_table(index="unit", columns="indicator", values="value", aggfunc="sum")
    assert np.allclose(monthly["supervision_visits"], w.loc[monthly.index, "supervision_visits"])
    assert np.allclose(monthly["study_sessions"], w.loc[monthly.index, "study_sessions"])
