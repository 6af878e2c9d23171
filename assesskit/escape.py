"""Text taken from data, made safe wherever it is shown: HTML, Markdown, charts, spreadsheets.

A base module (like :mod:`assesskit.errors`): every layer that shows a name from a dataset or a
scheme — a result object's HTML, an analysis's Markdown narrative, a chart label, a CSV cell —
escapes it with one of these functions. :mod:`assesskit.report.safe` adds safe file names.

========================  ==================================================================
where it is shown         what can go wrong, and what the function does
========================  ==================================================================
HTML                      ``<script>`` runs: :func:`html_text` escapes ``& < > " '``
Markdown                  raw HTML passes through Markdown, ``|`` and a newline break a
                          table row, ``*_[]`` change the text: :func:`md_text` escapes them
matplotlib labels         ``$...$`` is parsed as mathtext: :func:`chart_text` escapes ``$``
Excel and CSV cells       a cell starting with ``= + - @`` (or a tab / carriage return) runs
                          as a formula (CSV injection): :func:`formula_safe` prefixes ``'``
========================  ==================================================================

References
----------
OWASP, "CSV Injection", https://owasp.org/www-community/attacks/CSV_Injection (the leading
characters and the single-quote prefix).
"""

from __future__ import annotations

import html
import math
import re

import pandas as pd

#: Markdown characters that change the meaning of text anywhere (escaped with a backslash).
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~$])")  # $ too: notebooks render it as maths
#: ... and at the start of a line (a heading, a list item, a quote).
_MD_LINE_START = re.compile(r"^(\s*)([#+\-=])")
_MD_ORDERED = re.compile(r"^(\s*\d+)([.)])(?=\s|$)")
#: First characters that make a spreadsheet cell a formula (OWASP).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def is_missing(value: object) -> bool:
    """True for None, NaN and pandas' NA (not for an empty string)."""
    if value is None or value is pd.NA:
        return True
    return isinstance(value, float) and math.isnan(value)


def html_text(value: object) -> str:
    """Text for HTML: every ``& < > " '`` escaped, a missing value as an empty string.

    Examples
    --------
    >>> html_text("<script>alert(1)</script>")
    '&lt;script&gt;alert(1)&lt;/script&gt;'
    """
    return "" if is_missing(value) else html.escape(str(value), quote=True)


def md_text(value: object, inline: bool = False) -> str:
    r"""Text for a Markdown sentence or table cell, shown exactly as written.

    HTML is escaped first (Markdown passes raw HTML through), then every Markdown special
    character gets a backslash, ``|`` included, and line breaks become spaces so that a name
    cannot end a table row. Unless ``inline`` (the text sits inside a sentence, never at the
    start of a line), a leading ``#``, ``+``, ``-``, ``=`` or ``1.`` is escaped too, so that it
    does not start a heading or a list.

    Examples
    --------
    >>> md_text("a|b\n<i>c</i>")
    'a\\|b &lt;i&gt;c&lt;/i&gt;'
    >>> md_text("+10.69 万元"), md_text("+10.69 万元", inline=True)
    ('\\+10.69 万元', '+10.69 万元')
    """
    if is_missing(value):
        return ""
    text = " ".join(str(value).splitlines())
    text = _MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))
    if inline:
        return text
    text = _MD_LINE_START.sub(r"\1\\\2", text)
    return _MD_ORDERED.sub(r"\1\\\2", text)


def chart_text(value: object) -> str:
    """Text for a matplotlib label: ``$`` escaped so that it is never parsed as mathtext."""
    return "" if is_missing(value) else str(value).replace("$", r"\$")


def formula_safe(value: object) -> object:
    """A spreadsheet cell that cannot run as a formula.

    Text starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading
    single quote (OWASP's advice for CSV injection); numbers and other text are returned
    unchanged.

    Examples
    --------
    >>> formula_safe("=HYPERLINK(\\"http://x\\")")
    '\\'=HYPERLINK("http://x")'
    >>> formula_safe(-2.5)
    -2.5
    """
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def formula_safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with :func:`formula_safe` applied to every text cell (and to the
    column names); numeric columns are unchanged."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(formula_safe)
    out.columns = [formula_safe(str(c)) for c in out.columns]
    return out


