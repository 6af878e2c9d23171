"""Text from data shown safely: HTML, Markdown, charts, spreadsheet cells, file names."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from assesskit.errors import AssessKitError
from assesskit.report import layout, render
from assesskit.report.safe import (
    chart_text,
    formula_safe,
    formula_safe_frame,
    html_text,
    md_text,
    safe_join,
    slug,
)


def test_html_text_escapes_markup_and_quotes():
    assert html_text("<script>alert(1)</script>") == "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert html_text('a"b\'c&') == "a&quot;b&#x27;c&amp;"
    assert html_text(float("nan")) == ""


def test_md_text_keeps_a_table_row_whole_and_shows_html_as_text():
    text = md_text("a|b\n<b>c</b>*d*")
    assert "\n" not in text
    assert text == r"a\|b &lt;b&gt;c&lt;/b&gt;\*d\*"
    row = f"| {md_text('x|y')} | 2 |"
    assert row.replace("\\|", "").count("|") == 3  # the escaped pipe is not a cell border
    assert md_text("1. first") == r"1\. first"  # not a numbered list
    assert md_text("# x") == r"\# x"  # not a heading
    assert md_text("84.18") == "84.18"


def test_markdown_and_table_escape_every_value():
    md = render.markdown("**{name}** is praised", name="<img src=x onerror=alert(1)>")
    assert "<img" not in md.data
    frame = pd.DataFrame({"name": ["<script>alert(1)</script>"], "score": [1.5]})
    html = render.table(frame, [("name", "名称 name"), ("score", "score")],
                        links={"name": pd.Series(['x.html" onclick="alert(1)'])}).data
    assert "<script>" not in html
    assert 'onclick="' not in html  # the quote in the link target is escaped
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_chart_text_escapes_mathtext():
    assert chart_text("$x$") == r"\$x\$"


@pytest.mark.parametrize("cell", ["=1+1", "+1", "-1+2", "@SUM(A1)", "\t=1", "\r=1"])
def test_formula_cells_are_quoted(cell):
    assert formula_safe(cell) == "'" + cell


def test_numbers_and_plain_text_are_unchanged():
    assert formula_safe(-2.5) == -2.5
    assert formula_safe("营山县") == "营山县"
    frame = formula_safe_frame(pd.DataFrame({"name": ["=x", "y"], "points": [-2.0, 1.0]}))
    assert frame["name"].tolist() == ["'=x", "y"]
    assert frame["points"].tolist() == [-2.0, 1.0]


def test_slug_keeps_distinct_ids_distinct():
    assert slug("511781") == "511781"
    assert slug("C_1") == "C_1"
    assert slug("C/1") != slug("C_1")
    assert slug("C/1").startswith("C_1~")
    assert "/" not in slug("../../x") and not slug("../../x").startswith(".")
    assert "/" not in slug("/etc/passwd")
    assert slug("秦巴山区") == "秦巴山区"


def test_safe_join_refuses_to_leave_the_root(tmp_path):
    assert safe_join(tmp_path, "a", "b.html") == (tmp_path / "a" / "b.html").resolve()
    for bad in ("../x", "/etc/x"):
        with pytest.raises(AssessKitError, match="outside the report folder"):
            safe_join(tmp_path, bad)


def test_relative_links_between_pages():
    unit = layout.unit_path("2025", "county", "C/1")
    assert unit == f"2025/units/county/{slug('C/1')}.html"
    assert layout.href(unit, layout.overview_path("2025")) == "../../overview.html"
    assert layout.href("2025/overview.html", layout.group_path("2025", "county", "秦巴山区")) == \
        "groups/county/%E7%A7%A6%E5%B7%B4%E5%B1%B1%E5%8C%BA.html"
    assert Path(layout.group_path("2025", "county", "../x")).parts[-1].startswith("_")


# the source document by its title: tests/test_report_source.py


def test_a_chart_keeps_its_title_as_alternative_text():
    """nbconvert's lab template drops an image's alt text and writes "No description has been
    provided for this image"; the page must say what the chart is, its title, escaped."""
    import matplotlib.pyplot as plt
    import nbformat
    from IPython.core.formatters import DisplayFormatter

    from assesskit.report.html import notebook_to_html
    from assesskit.report.plotting import use_cjk_font

    use_cjk_font()
    fig, ax = plt.subplots()
    ax.set_title('秦巴山区 · 2025 "得分" <scores>')
    data, metadata = DisplayFormatter().format(render.figure(fig))
    plt.close(fig)
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("chart")
    cell.outputs = [nbformat.v4.new_output("display_data", data={"image/png": data["image/png"]},
                                           metadata=metadata)]
    nb.cells = [cell]
    page = notebook_to_html(nb, "t")
    from html.parser import HTMLParser

    class Images(HTMLParser):
        alts: list = []

        def handle_starttag(self, tag, attrs):
            if tag == "img":
                self.alts.append(dict(attrs).get("alt"))

    Images().feed(page)
    assert Images.alts == ['秦巴山区 · 2025 "得分" <scores>']
    assert "<scores>" not in page
    assert "No description has been provided" not in page
