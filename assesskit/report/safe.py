"""Safe names for the report layer: the escaping functions, plus safe file names.

The escaping of text shown in HTML, Markdown, charts and spreadsheet cells lives once, in
:mod:`assesskit.escape`; it is re-exported here so the report modules import from one place.
This module adds what only the report layer needs: file names taken from data. ``C/1`` would
become a folder and ``../x`` would climb out of the report folder: :func:`slug` keeps safe
characters and adds a hash of the original when it had to change anything; :func:`safe_join`
refuses any path that would leave its root.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from ..errors import AssessKitError
from ..escape import (  # noqa: F401 - the report layer's one place for escaping
    FORMULA_START,
    chart_text,
    formula_safe,
    formula_safe_frame,
    html_text,
    is_missing,
    md_text,
)

#: Characters kept in a file name; anything else is replaced by ``_`` (then a hash is added).
_UNSAFE_NAME = re.compile(r"[^\w.\-]+", re.UNICODE)
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
