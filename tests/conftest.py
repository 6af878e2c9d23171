"""Shared fixtures: an isolated matplotlib state and a small hand-made county dataset."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")  # tests never open windows, whatever MPLBACKEND says


@pytest.fixture
def mpl_rc(monkeypatch):
    """matplotlib rcParams and SOURCE_DATE_EPOCH restored after the test.

    ``assesskit.report.plotting.use_cjk_font`` changes both; this keeps tests independent of order.
    """
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    with matplotlib.rc_context():
        yield matplotlib.rcParams


@pytest.fixture
def county_dataset():
    """Seven counties in the three Sichuan regional groups, two periods, three indicators.

    Values are small whole numbers chosen by hand so tests can name the extremes by eye:

    ==========  ==============  ======  ======  ==========
    unit        group           gdp_pc  toilet  sewage_gap
    ==========  ==============  ======  ======  ==========
    若尔盖县     川西北高原地区    30      80      5
    阿坝县       川西北高原地区    20      (NaN)   9
    马边彝族自治县 大小凉山彝区    25      70      7
    布拖县       大小凉山彝区      35      60      3
    万源市       秦巴山区          40      90      2
    营山县       秦巴山区          45      85      4
    仪陇县       秦巴山区          50      95      6
    ==========  ==============  ======  ======  ==========

    (period 2025; period 2024 has every value minus 1). ``sewage_gap`` is lower-is-better.
    A fourth indicator, ``pref_projects``, has ``level`` prefecture and no values.
    """
    from assesskit import Dataset

    units = pd.DataFrame({
        "unit": ["513232", "513231", "511133", "513429", "511781", "511322", "511324"],
        "name": ["若尔盖县", "阿坝县", "马边彝族自治县", "布拖县", "万源市", "营山县", "仪陇县"],
        "name_en": ["Zoige", "Aba", "Mabian", "Butuo", "Wanyuan", "Yingshan", "Yilong"],
        "level": "county",
        "group": ["川西北高原地区"] * 2 + ["大小凉山彝区"] * 2 + ["秦巴山区"] * 3,
    })
    indicators = pd.DataFrame({
        "indicator": ["gdp_pc", "toilet", "sewage_gap"],
        "name": ["人均地区生产总值", "农村卫生厕所普及率", "污水处理缺口"],
        "name_en": ["GDP per capita", "Rural sanitary toilet coverage", "Sewage treatment gap"],
        "unit_of_measure": ["千元/人", "%", "百分点"],
        "direction": ["higher", "higher", "lower"],
        "level": ["county", "", "county"],
    })
    # An indicator of the prefectures (no county values): never plotted for counties by default.
    indicators.loc[3] = ["pref_projects", "组织实施市域内帮扶项目", "Prefecture projects", "分",
                         "higher", "prefecture"]
    table = pd.DataFrame(
        {"gdp_pc": [30, 20, 25, 35, 40, 45, 50],
         "toilet": [80, np.nan, 70, 60, 90, 85, 95],
         "sewage_gap": [5, 9, 7, 3, 2, 4, 6]},
        index=units["unit"],
    )
    long = table.stack(future_stack=True).rename("value").reset_index()
    long.columns = ["unit", "indicator", "value"]
    values = pd.concat([long.assign(period="2025"),
                        long.assign(period="2024", value=long["value"] - 1)])
    return Dataset.from_frames(units, indicators, values, name="toy-counties",
                               provenance="Hand-made test data; not real.")


@pytest.fixture(scope="session")
def hostile_report(tmp_path_factory):
    """A small report set (2025, group 秦巴山区) of the hostile Sichuan copy (report_helpers):
    ``(run, out, data_dir, scheme_file)``. Shared by the batch and browser tests."""
    from report_helpers import hostile_inputs

    from assesskit.report.batch import make_report

    root = tmp_path_factory.mktemp("hostile")
    data, scheme = hostile_inputs(root)
    out = root / "out" / "nested"
    run = make_report(str(scheme), str(data), "2025", out, jobs=2, groups=["秦巴山区"],
                      progress=False)
    return run, out, data, scheme
