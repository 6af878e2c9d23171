"""Show text taken from data safely: in HTML, Markdown, charts, spreadsheets and file names.

Everything a report shows that comes from a dataset or a scheme (unit names, group names,
labels, assumptions) passes through one of these functions:

========================  ==================================================================
where it is shown         what can go wrong, and what the function does
========================  ==================================================================
HTML                      ``<script>`` runs: :func:`html_text` escapes ``& < > " '``
Markdown                  raw HTML passes through Markdown, ``|`` and a newline break a
                          table row, ``*_[]`` change the text: :func:`md_text` escapes them
matplotlib labels         ``$...$`` is parsed as mathtext: :func:`chart_text` escapes ``$``
Excel and CSV cells       a cell starting with ``= + - @`` (or a tab / carriage return) runs
                          as a formula (CSV injection): :func:`formula_safe` prefixes ``'``
file names                ``C/1`` becomes a folder, ``../x`` climbs out of the report
                          folder: :func:`slug` keeps safe characters and adds a hash of the
                          original when it had to change anything; :func:`safe_join` refuses
                          any path that would leave its root
========================  ==================================================================

References
----------
OWASP, "CSV Injection", https://owasp.org/www-community/attacks/CSV_Injection (the leading
characters and the single-quote prefix).
"""

from __future__ import annotations

import hashlib
import html
import math
import re
from pathlib import Path

import pandas as pd

from ..errors import AssessKitError

#: Characters kept in a file name; anything else is replaced by ``_`` (then a hash is added).
_UNSAFE_NAME = re.compile(r"[^\w.\-]+", re.UNICODE)
#: Markdown characters that change the meaning of text anywhere (escaped with a backslash).
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")
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


def md_text(value: object) -> str:
    """Text for a Markdown sentence or table cell, shown exactly as written.

    HTML is escaped first (Markdown passes raw HTML through), then every Markdown special
    character gets a backslash, ``|`` included, and line breaks become spaces so that a name
    cannot end a table row.

    Examples
    --------
    >>> md_text("a|b\\n<i>c</i>")
    'a\\\\|b &lt;i&gt;c&lt;/i&gt;'
    """
    if is_missing(value):
        return ""
    text = " ".join(str(value).splitlines())
    text = _MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))
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


def short_hash(text: str, length: int = 10) -> str:
    """First ``length`` hex digits of the SHA-256 of ``text`` (UTF-8)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


def slug(value: object) -> str:
    """A file or folder name for an id taken from data, distinct for distinct ids.

    Word characters (Chinese included), ``.`` and ``-`` are kept. If anything had to change
    (another character, a leading dot, an empty id), the result ends with ``~`` and a hash of the
    original id; ``~`` never survives in an unchanged name, so a changed name can never equal an
    unchanged one: ``C/1`` gives ``C_1~<hash>`` and ``C_1`` stays ``C_1``.

    Examples
    --------
    >>> slug("511781")
    '511781'
    >>> slug("C/1") != slug("C_1")
    True
    >>> slug("../../x")
    '_._.._x~9cdf6a5010'

    """
    text = str(value)
    cleaned = _UNSAFE_NAME.sub("_", text)
    if cleaned.startswith("."):
        cleaned = "_" + cleaned[1:]
    cleaned = cleaned[:80]
    if cleaned == text and text:
        return text
    return f"{cleaned}~{short_hash(text)}"


def safe_join(root: str | Path, *parts: str) -> Path:
    """``root / parts`` after checking that the result stays inside ``root``.

    Raises
    ------
    AssessKitError
        If the path would leave ``root`` (an absolute part, ``..``); the message names both.
    """
    base = Path(root).resolve()
    path = base.joinpath(*parts).resolve()
    if path != base and base not in path.parents:
        raise AssessKitError(f"refusing to write {path}: it is outside the report folder {base}")
    return path
