"""Tests of assesskit.report.plotting: Chinese glyphs render, files are deterministic, plots are labelled."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import matplotlib
import pytest
from matplotlib import font_manager
from matplotlib.figure import Figure

from assesskit import Dataset
from assesskit.errors import DataError
from assesskit.report.plotting import (
    BEST_COLOUR,
    WORST_COLOUR,
    cjk_font_path,
    plot_indicators_by_group,
    save_figure,
    use_cjk_font,
)

# The 39 counties of the Sichuan scheme (see /work/shared/data/sichuan/sichuan_39_counties.csv),
# their prefectures and the three regional groups: every name a report must be able to draw.
COUNTIES_39 = (
    "万源市 营山县 仪陇县 青川县 剑阁县 苍溪县 恩阳区 通江县 南江县 平昌县 "
    "金川县 黑水县 壤塘县 阿坝县 若尔盖县 红原县 道孚县 炉霍县 甘孜县 新龙县 德格县 白玉县 石渠县 "
    "色达县 理塘县 巴塘县 稻城县 得荣县 马边彝族自治县 盐源县 普格县 布拖县 金阳县 昭觉县 喜德县 "
    "越西县 甘洛县 美姑县 雷波县"
).split()
PREFECTURES = ["达州市", "南充市", "广元市", "巴中市", "阿坝藏族羌族自治州", "甘孜藏族自治州",
               "乐山市", "凉山彝族自治州"]
GROUPS = ["秦巴山区", "大小凉山彝区", "川西北高原地区"]

GLYPH_WARNING = r"Glyph \d+ .* missing from font\(s\)"


def _names_figure() -> Figure:
    """A figure drawing every county, prefecture and group name, plus the plots' symbols."""
    fig = Figure(figsize=(8, 10))
    ax = fig.add_subplot()
    for i, name in enumerate([*COUNTIES_39, *PREFECTURES, *GROUPS]):
        ax.text(i % 3 / 3, i // 3 / 17, name)
    ax.set_title("四川省39个欠发达县域 ↑ ↓ −1.5 (n=39, 未报告 0)")
    ax.set_xlabel("区域分组 regional group")
    ax.set_ylabel("千元/人 (thousand yuan per person)")
    return fig


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=50)
    return buf.getvalue()


def test_county_names_render_without_missing_glyphs(mpl_rc):
    assert len(COUNTIES_39) == 39
    assert use_cjk_font() == "Noto Sans CJK SC"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _png(_names_figure())
    assert [str(w.message) for w in caught] == []


def test_missing_glyphs_are_errors_without_the_cjk_font(mpl_rc):
    # Proves the test above can fail: with matplotlib's default DejaVu Sans the Chinese glyphs
    # are missing, and the project's pytest setting filterwarnings=error turns matplotlib's
    # UserWarning into an exception (no catch_warnings here: this is the configured filter).
    matplotlib.rcdefaults()
    mpl_rc["font.family"] = ["DejaVu Sans"]
    with pytest.raises(UserWarning, match=GLYPH_WARNING + " DejaVu Sans"):
        _png(_names_figure())


def test_resolved_font_file_is_the_bundled_noto_cjk(mpl_rc):
    use_cjk_font()
    expected = cjk_font_path()
    assert expected.name == "NotoSansCJKsc-Regular.otf"
    assert expected.parent.parent.name == "mplfonts"
    found = font_manager.findfont(font_manager.FontProperties(family=["sans-serif"]),
                                  fallback_to_default=False)
    assert Path(found) == expected
    # The font a title is actually drawn with, not only the family default.
    title = _names_figure().axes[0].title
    assert Path(font_manager.findfont(title.get_fontproperties())) == expected


def test_use_cjk_font_is_idempotent_and_sets_rc(mpl_rc):
    first = use_cjk_font()
    entries = [f for f in font_manager.fontManager.ttflist if Path(f.fname) == cjk_font_path()]
    sans = list(mpl_rc["font.sans-serif"])
    assert use_cjk_font() == first
    again = [f for f in font_manager.fontManager.ttflist if Path(f.fname) == cjk_font_path()]
    assert len(again) == len(entries) > 0  # registered once, not once per call
    assert list(mpl_rc["font.sans-serif"]) == sans
    assert sans[0] == first and sans.count(first) == 1
    assert mpl_rc["font.family"] == ["sans-serif"]
    assert mpl_rc["axes.unicode_minus"] is False
    assert mpl_rc["svg.hashsalt"] == "assesskit"


def _svg(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="svg")
    return buf.getvalue()


def test_saved_files_are_byte_identical(mpl_rc, county_dataset, tmp_path):
    # Same input -> same bytes: two figures built from the same data, saved separately. (A
    # figure's first draw can differ from its second: constrained layout settles on redraw.)
    use_cjk_font()

    def fig():
        return plot_indicators_by_group(county_dataset, 2025)

    assert _svg(fig()) == _svg(fig())  # plain savefig: fixed hash salt, SOURCE_DATE_EPOCH date
    assert _png(fig()) == _png(fig())
    a = save_figure(fig(), tmp_path / "a.svg")
    b = save_figure(fig(), tmp_path / "b.svg")
    assert a.read_bytes() == b.read_bytes()
    assert b"<dc:date>" not in a.read_bytes()  # save_figure writes no date at all
    pdf_a = save_figure(fig(), tmp_path / "a.pdf").read_bytes()
    assert pdf_a == save_figure(fig(), tmp_path / "b.pdf").read_bytes()
    assert b"CreationDate" not in pdf_a


def test_svg_differs_between_saves_without_the_settings(mpl_rc, county_dataset):
    # Proves the check above can fail: matplotlib's defaults salt SVG ids with a random UUID.
    use_cjk_font()
    mpl_rc["svg.hashsalt"] = None
    first = _svg(plot_indicators_by_group(county_dataset, 2025))
    assert first != _svg(plot_indicators_by_group(county_dataset, 2025))


def _panels(fig: Figure) -> dict[str, matplotlib.axes.Axes]:
    return {ax.get_title().splitlines()[1]: ax for ax in fig.axes}


def _labelled(ax) -> dict[str, str]:
    """County name -> 'best' / 'worst' from the colours of the annotations on a panel."""
    colours = {matplotlib.colors.to_hex(BEST_COLOUR): "best",
               matplotlib.colors.to_hex(WORST_COLOUR): "worst"}
    return {t.get_text(): colours[matplotlib.colors.to_hex(t.get_color())] for t in ax.texts}


def test_plot_indicators_by_group_labels_and_extremes(mpl_rc, county_dataset):
    use_cjk_font()
    fig = plot_indicators_by_group(county_dataset, "2025", ncols=2)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 3  # 2 x 2 grid, the unused fourth panel removed
    assert "2025" in fig.get_suptitle() and "toy-counties" in fig.get_suptitle()
    panels = _panels(fig)
    assert list(panels) == ["GDP per capita", "Rural sanitary toilet coverage",
                            "Sewage treatment gap"]
    for ax, unit in zip(panels.values(), ["千元/人", "%", "百分点"], strict=True):
        assert ax.get_title().splitlines()[0] in {"人均地区生产总值", "农村卫生厕所普及率", "污水处理缺口"}
        assert ax.get_ylabel().startswith(unit)
        assert ax.get_xlabel() == "分组 comparison group"
        assert [t.get_text().split("\n")[0] for t in ax.get_xticklabels()] == [
            "川西北高原地区", "大小凉山彝区", "秦巴山区"]  # order of the units table

    # Extremes worked out by hand from the fixture's table (higher is better except sewage_gap).
    assert _labelled(panels["GDP per capita"]) == {
        "若尔盖县": "best", "阿坝县": "worst",        # 30 > 20
        "布拖县": "best", "马边彝族自治县": "worst",   # 35 > 25
        "仪陇县": "best", "万源市": "worst",          # 50 > 45 > 40
    }
    assert _labelled(panels["Rural sanitary toilet coverage"]) == {
        "若尔盖县": "best",                            # the only value reported in its group
        "马边彝族自治县": "best", "布拖县": "worst",   # 70 > 60
        "仪陇县": "best", "营山县": "worst",          # 95 > 90 > 85
    }
    assert _labelled(panels["Sewage treatment gap"]) == {  # lower is better
        "若尔盖县": "best", "阿坝县": "worst",        # 5 < 9
        "布拖县": "best", "马边彝族自治县": "worst",   # 3 < 7
        "万源市": "best", "仪陇县": "worst",          # 2 < 4 < 6
    }
    assert "lower is better" in panels["Sewage treatment gap"].get_ylabel()
    # The missing value of 阿坝县 is counted, not dropped silently.
    ticks = [t.get_text() for t in panels["Rural sanitary toilet coverage"].get_xticklabels()]
    assert ticks[0] == "川西北高原地区\n(n=2, 未报告 1)"
    assert ticks[2] == "秦巴山区\n(n=3)"
    # Every reported value is a dot (7 counties, one missing: 6), and the 5 extremes are drawn
    # again in colour (the group with a single value has one extreme, not two).
    dots = sum(len(c.get_offsets()) for c in panels["Rural sanitary toilet coverage"].collections)
    assert dots == 6 + 5
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _png(fig)
    assert [str(w.message) for w in caught] == []


def test_plot_indicators_by_group_subset_in_given_order(mpl_rc, county_dataset):
    use_cjk_font()
    fig = plot_indicators_by_group(county_dataset, 2024, indicators=["sewage_gap", "gdp_pc"])
    assert list(_panels(fig)) == ["Sewage treatment gap", "GDP per capita"]
    assert "2024" in fig.get_suptitle()


def test_indicator_without_values_is_shown_empty_not_dropped(mpl_rc, county_dataset):
    # pref_projects applies to prefectures (so the default leaves it out, see the test above),
    # but asked for explicitly it gets a panel saying that nothing is reported.
    use_cjk_font()
    fig = plot_indicators_by_group(county_dataset, 2025, indicators=["pref_projects"])
    (ax,) = fig.axes
    assert [t.get_text() for t in ax.texts] == ["no values reported for 2025"]
    assert [t.get_text() for t in ax.get_xticklabels()] == [
        "川西北高原地区\n(n=2, 未报告 2)", "大小凉山彝区\n(n=2, 未报告 2)", "秦巴山区\n(n=3, 未报告 3)"]
    assert ax.get_ylabel().startswith("分")
    _png(fig)  # renders; a missing glyph would be an error here (filterwarnings=error)


def test_plot_indicators_by_group_bad_input(county_dataset):
    with pytest.raises(DataError, match=r"period '2019' is not in dataset 'toy-counties'; "
                                        r"periods present: 2024, 2025"):
        plot_indicators_by_group(county_dataset, 2019)
    with pytest.raises(DataError) as info:
        plot_indicators_by_group(county_dataset, 2025, indicators=["gdp_pc", "nope", "zzz"])
    assert [p.value for p in info.value.problems] == ["nope", "zzz"]
    assert "gdp_pc, toilet, sewage_gap, pref_projects" in str(info.value)
    with pytest.raises(DataError, match="no unit of level 'town'"):
        plot_indicators_by_group(county_dataset, 2025, level="town")


def test_ties_at_an_extreme_are_counted(mpl_rc, county_dataset):
    # 秦巴山区: 万源市 and 营山县 set to 85 tie at the bottom (仪陇县 95 stays best).
    # 大小凉山彝区: both counties set to 60, all equal: one best label, no worst.
    values = county_dataset.values.copy()
    toilet_2025 = (values["indicator"] == "toilet") & (values["period"] == "2025")
    values.loc[toilet_2025 & values["unit"].isin(["511781", "511322"]), "value"] = 85.0
    values.loc[toilet_2025 & values["unit"].isin(["511133", "513429"]), "value"] = 60.0
    ds = Dataset.from_frames(county_dataset.units, county_dataset.indicators, values, name="ties")
    use_cjk_font()
    (ax,) = plot_indicators_by_group(ds, 2025, indicators=["toilet"]).axes
    assert _labelled(ax) == {"若尔盖县": "best", "马边彝族自治县等2个并列": "best",
                             "仪陇县": "best", "万源市等2个并列": "worst"}
    # 6 reported dots + coloured extremes: 1 (若尔盖县) + 2 (tied 大小凉山) + 1 + 2 (秦巴山区).
    assert sum(len(c.get_offsets()) for c in ax.collections) == 6 + 1 + 2 + 1 + 2


def test_result_objects_plot_with_titles_and_labels():
    import assesskit as ak

    data = ak.datasets.load("sichuan-39")
    ev = ak.evaluate("sichuan-39", data, 2025)
    fig = ev.plot()
    assert "scores by group" in fig._suptitle.get_text()
    assert all(ax.get_xlabel() for ax in fig.axes if ax.get_visible())
    periods = ak.evaluate_periods("sichuan-39", data, [2024, 2025])
    fig = periods.plot()
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert len(axes) == 3 and all("rank" in ax.get_ylabel() for ax in axes)
    assert "2024–2025" in fig._suptitle.get_text()
    assert "<script>" not in ev._repr_html_()
