"""HTML of a report set: executed notebooks as self-contained pages, and the index page.

:func:`notebook_to_html` exports an executed notebook with nbconvert's ``lab`` template minus
every script (the ``assesskit_report`` template beside this module): code hidden, images
embedded, styles inline, so a page opens offline and runs nothing. :func:`index_page` lists every
page of a report set with its status.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path

from .layout import href
from .safe import html_text

TEMPLATE_DIR = Path(__file__).with_name("templates")
TEMPLATE_NAME = "assesskit_report"


def notebook_to_html(nb, title: str) -> str:
    """An executed notebook as one self-contained HTML page with the code hidden.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        The executed notebook.
    title : str
        The page's ``<title>`` (escaped by nbconvert).

    Returns
    -------
    str
        The HTML: outputs and Markdown cells only, no input cells or prompts, PNG charts embedded
        as data URIs, no ``<script>`` element.
    """
    body, _ = _exporter().from_notebook_node(nb, resources={"metadata": {"name": title}})
    return body


@functools.cache
def _exporter():
    """One exporter per process: building it (templates, CSS) costs more than an export."""
    from nbconvert import HTMLExporter

    return HTMLExporter(extra_template_basedirs=[str(TEMPLATE_DIR)], template_name=TEMPLATE_NAME,
                        exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)


INDEX_STYLE = """
body{font-family:"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:24px;max-width:1100px}
table{border-collapse:collapse;font-size:14px;margin-bottom:18px}
th,td{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f3f3f3}.failed{background:#fbe3d6}.ok{color:#1b6e1b}
.banner{border:2px solid #D55E00;background:#fff4ec;padding:8px 12px;margin:8px 0}
code{font-size:12px}
"""


def index_page(*, title: str, source: str, data_note: str, pages: Sequence[dict],
               files: Sequence[tuple[str, str]], removed: Sequence[str],
               here: str = "index.html") -> str:
    """The index of a report set: every page by period with its status, the tables, removals.

    Parameters
    ----------
    title : str
        The scheme's title.
    source : str
        The source document by its title.
    data_note : str
        What the data are (synthetic or real), shown as a banner.
    pages : sequence of dict
        Manifest entries: ``period``, ``kind``, ``title``, ``path``, ``status`` (``ok``,
        ``failed``, or ``pending``: not rendered yet, the run was interrupted), ``error``.
    files : sequence of (label, path)
        Workbooks and CSV files to link.
    removed : sequence of str
        Paths of pages removed because their unit is no longer in the data.

    Returns
    -------
    str
        A complete HTML document; every text is escaped.
    """
    kinds = {"overview": "总览 overview", "group": "分组 group", "unit": "单位 unit"}
    failed = [p for p in pages if p["status"] == "failed"]
    pending = [p for p in pages if p["status"] == "pending"]
    out = ["<!DOCTYPE html>", '<html lang="zh-CN"><head><meta charset="utf-8">',
           f"<title>{html_text(title)}</title><style>{INDEX_STYLE}</style></head><body>",
           f"<h1>{html_text(title)}</h1>",
           f"<p>来源文件 Source document: {html_text(source)}</p>",
           f'<div class="banner">{html_text(data_note)}</div>',
           f"<p>{len(pages)} pages: {len(pages) - len(failed) - len(pending)} ready, "
           f"{len(failed)} failed"
           + (f", {len(pending)} not rendered yet (the run was interrupted: run the same "
              "command again to finish)" if pending else "") + ".</p>"]
    if failed:
        out.append("<h2>失败 Failed pages</h2><table><tr><th>page</th><th>error</th></tr>")
        out += [f'<tr class="failed"><td>{html_text(p["title"])} ({html_text(p["period"])})</td>'
                f"<td><code>{html_text(p.get('error', ''))}</code></td></tr>" for p in failed]
        out.append("</table>")
    if files:
        out.append("<h2>表格 Tables</h2><ul>")
        out += [f'<li><a href="{html_text(href(here, path))}">{html_text(label)}</a></li>'
                for label, path in files]
        out.append("</ul>")
    for period in dict.fromkeys(p["period"] for p in pages):
        out.append(f"<h2>{html_text(period)}</h2><table><tr><th>页面 page</th><th>类型 kind</th>"
                   "<th>状态 status</th></tr>")
        for p in (p for p in pages if p["period"] == period):
            name = html_text(p["title"])
            if p["status"] == "ok":
                name = f'<a href="{html_text(href(here, p["path"]))}">{name}</a>'
            if p["status"] == "failed":
                status = f"failed: <code>{html_text(p.get('error', ''))}</code>"
            elif p["status"] == "pending":
                status = "pending: not rendered yet"
            else:
                status = f'<span class="ok">{html_text(p["status"])}</span>'

            cls = ' class="failed"' if p["status"] == "failed" else ""
            out.append(f"<tr{cls}><td>{name}</td><td>{html_text(kinds.get(p['kind'], p['kind']))}"
                       f"</td><td>{status}</td></tr>")
        out.append("</table>")
    if removed:
        out.append("<h2>已删除 Pages removed (unit no longer in the data)</h2><ul>")
        out += [f"<li>{html_text(r)}</li>" for r in removed]
        out.append("</ul>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"
