"""HTML and Markdown for the report notebooks: escaped tables with links, banners, headers.

Every function returns an :class:`IPython.display.HTML` or :class:`IPython.display.Markdown`
object, so a notebook cell ends with the call and the page shows it. Every string taken from
data or from the scheme goes through :func:`~assesskit.report.safe.html_text` or
:func:`~assesskit.report.safe.md_text` here and nowhere else.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import pandas as pd
from IPython.display import HTML, Image, Markdown

from . import layout
from .safe import html_text, is_missing, md_text

STYLE = """<style>
.ak-table{border-collapse:collapse;font-size:13px;margin:6px 0 14px}
.ak-table th,.ak-table td{border:1px solid #ddd;padding:3px 7px;text-align:left!important;vertical-align:middle!important}
.ak-table th{background:#f3f3f3}
.ak-table td.num{text-align:right!important;font-variant-numeric:tabular-nums}
.ak-table tr.top td{background:#dbeaf7}
.ak-table tr.bottom td{background:#fbe3d6}
.ak-table tr.self td{font-weight:bold;outline:2px solid #E69F00}
.ak-banner{border:2px solid #D55E00;background:#fff4ec;padding:8px 12px;margin:8px 0}
.ak-banner.real{border-color:#0072B2;background:#eef5fb}
.ak-nav{font-size:13px;margin:4px 0 10px}
.ak-light{display:inline-block;padding:0 6px;border-radius:3px;color:#000}
.ak-light.green{background:#9fd89f}.ak-light.yellow{background:#ffe680}
.ak-light.red{background:#f4a0a0}.ak-light.no-data{background:#ddd}
.ak-placeholder{border:2px dashed #999;padding:8px 12px;color:#444;background:#fafafa}
</style>"""


def style() -> HTML:
    """The page's CSS (tables, outcome colours, banners); show it once at the top of a page."""
    return HTML(STYLE)


def link(text: object, target: str | None) -> str:
    """``<a href=...>text</a>`` with the text escaped (plain escaped text without a target)."""
    if not target:
        return html_text(text)
    return f'<a href="{html_text(target)}">{html_text(text)}</a>'


def table(frame: pd.DataFrame, columns: Sequence[tuple[str, str]], *,
          links: dict[str, pd.Series] | None = None,
          formats: dict[str, Callable[[object], str]] | None = None,
          row_class: pd.Series | None = None, caption: str | None = None) -> HTML:
    """An HTML table of ``frame`` with every cell escaped.

    Parameters
    ----------
    frame : DataFrame
    columns : sequence of (column, header)
        Columns to show and their headers (e.g. ``("group_rank", "组内排名 group rank")``).
    links : dict, optional
        Column -> Series of link targets aligned with ``frame`` (None or "" for no link).
    formats : dict, optional
        Column -> function turning a value into text (default: numbers with 2 decimals, a
        missing value as an em dash).
    row_class : Series, optional
        A CSS class per row: ``top`` (blue, e.g. praised), ``bottom`` (orange, e.g. summoned),
        ``self`` (the page's own unit).
    caption : str, optional
    """
    links = links or {}
    formats = formats or {}
    head = "".join(f"<th>{html_text(h)}</th>" for _, h in columns)
    body = []
    for i, (_, row) in enumerate(frame.iterrows()):
        cells = []
        for col, _ in columns:
            value = row[col]
            fmt = formats.get(col)
            numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
            if fmt is not None:
                text = html_text(fmt(value))
            elif is_missing(value):
                text = "—"
            elif isinstance(value, float):
                text = f"{value:.2f}"
            else:
                text = html_text(value)
            target = links[col].iloc[i] if col in links else None
            if target:
                text = f'<a href="{html_text(target)}">{text}</a>'
            cells.append(f'<td class="num">{text}</td>' if numeric else f"<td>{text}</td>")
        cls = "" if row_class is None else str(row_class.iloc[i] or "")
        body.append(f'<tr class="{html_text(cls)}">' + "".join(cells) + "</tr>")
    cap = f"<caption>{html_text(caption)}</caption>" if caption else ""
    return HTML(f'<table class="ak-table">{cap}<thead><tr>{head}</tr></thead>'
                f"<tbody>{''.join(body)}</tbody></table>")


def markdown(template: str, **values: object) -> Markdown:
    """Markdown from a template whose ``{name}`` fields are filled with escaped text.

    The template is the notebook's own text; every value is passed through
    :func:`~assesskit.report.safe.md_text`, so a unit named ``<script>...`` or ``a|b`` is shown
    as written.

    Examples
    --------
    >>> markdown("**{name}** is praised", name="<b>x</b>").data
    '**&lt;b&gt;x&lt;/b&gt;** is praised'
    """
    return Markdown(template.format(**{k: md_text(v) for k, v in values.items()}))


def bullet_list(items: Sequence[str]) -> Markdown:
    """A Markdown bullet list of already-escaped items."""
    return Markdown("\n".join(f"- {item}" for item in items) if items else "")


_FILE_NAME = re.compile(r"(?:seed\s+)?\S+\.(txt|pdf|docx?|html?|ya?ml)\b:?", re.IGNORECASE)


def source_document(scheme) -> str:
    """The document a scheme comes from, by its title, never a file name.

    With ``source:`` as a mapping: the ``title`` (in 《》 when it is Chinese), then in brackets
    the publisher, date, author and where it was reported (``via``); a document without a title
    is described by its ``note``. With the one-line form: the title in 《》 when the line gives
    one (with what follows it, e.g. "as reported by 四川在线, 2024-04-23"), else the line without
    file names. Never the scheme's own title: that names the scheme, not its source.

    Examples
    --------
    >>> import assesskit as ak
    >>> source_document(ak.load_scheme("jincheng-1plus4"))
    '《山西晋城：构建“1+4”考核体系 激发高质量发展“新动能”》 (中新网山西, 2023-06-06)'
    """
    document = getattr(scheme, "source_document", None) or {}
    if "text" in document:  # the one-line form
        source = document["text"]
        found = re.search(r"《[^》]+》", source)
        if found:
            rest = _FILE_NAME.sub("", source[found.end():]).strip(" ,;:")
            return found.group(0) + (f" ({rest})" if rest else "")
        return _FILE_NAME.sub("", source).strip(" ,;:") or "(source not given)"
    if not document:
        return "(source not given)"
    title = document.get("title", "")
    if title and re.search(r"[\u4e00-\u9fff]", title) and not title.startswith("《"):
        title = f"《{title}》"
    details = [document[k] for k in ("publisher", "date", "author") if document.get(k)]
    if document.get("via"):
        details.append(f"as reported by {document['via']}")
    if title and document.get("note"):
        details.append(document["note"])
    head = title or document["note"]
    return head + (f" ({', '.join(details)})" if details else "")


def data_banner(context) -> HTML:
    """A banner saying whether the values are synthetic, real or mixed, with the provenance."""
    kind = context.kind
    provenance = " ".join(str(context.data.provenance).split())
    synthetic_part = ""
    match = re.search(r"SYNTHETIC:(.*?)(?:DOCUMENTED GAPS|Regenerate with|$)", provenance)
    if match:
        synthetic_part = match.group(1).strip()
    if kind == "synthetic":
        head = ("合成数据 SYNTHETIC DATA: the values in this report are generated by seeded code "
                "for illustration; they are not official statistics of any unit.")
    elif kind == "mixed":
        head = "部分合成 MIXED DATA: some values in this report are synthetic (see the provenance)."
    else:
        head = "Real data: the values come from the published sources named in the provenance."
    detail = synthetic_part or provenance[:600]
    cls = "ak-banner" if kind != "real" else "ak-banner real"
    return HTML(f'<div class="{cls}"><b>{html_text(head)}</b><br>'
                f'<small>Dataset {html_text(context.data.name)}: {html_text(detail)}</small></div>')


def navigation(here: str, items: Sequence[tuple[str, str | None]]) -> HTML:
    """A line of links from the page at ``here`` (a path in the report folder): each item is
    (text, target path or None)."""
    parts = [link(text, layout.href(here, target) if target else None) for text, target in items]
    return HTML('<div class="ak-nav">' + " › ".join(parts) + "</div>")


def light_table(frame: pd.DataFrame, value_columns: Sequence[str],
                links: pd.Series | None = None,
                indicator_names: dict[str, str] | None = None) -> HTML:
    """A traffic-light table: name, indicator, then one coloured cell per period.

    ``indicator_names`` maps an indicator code to its name: the name is shown, the code after
    it in small type.
    """
    names = indicator_names or {}
    head = "".join(f"<th>{html_text(h)}</th>" for h in ["单位 unit", "指标 indicator",
                                                        *value_columns])
    rows = []
    for i, (_, row) in enumerate(frame.iterrows()):
        name = link(row["name"], links.iloc[i] if links is not None else None)
        cells = "".join(
            f'<td><span class="ak-light {html_text(str(row[c]).replace(" ", "-"))}">'
            f"{html_text(row[c])}</span></td>" for c in value_columns)
        code = row["indicator"]
        label = names.get(code)
        indicator = (f"{html_text(label)} <small>({html_text(code)})</small>"
                     if label and label != code else html_text(code))
        rows.append(f"<tr><td>{name}</td><td>{indicator}</td>{cells}</tr>")
    return HTML(f'<table class="ak-table"><thead><tr>{head}</tr></thead>'
                f"<tbody>{''.join(rows)}</tbody></table>")


def figure(fig, dpi: int = 100) -> Image:
    """A matplotlib figure as a PNG image for the page, whatever the kernel's backend.

    The figure's title becomes the image's alternative text.

    The PNG carries no date (matplotlib's PNG writer stamps none; the ``Software`` key is
    dropped), so the same figure gives the same bytes.
    """
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", pad_inches=0.15,
                metadata={"Software": None})
    title = fig.get_suptitle()
    if not title and fig.axes:
        title = fig.axes[0].get_title()
    return Image(data=buffer.getvalue(), format="png", alt=" ".join(title.split()) or "chart")
