"""Where each page of a report set lives, and the relative links between pages.

A report set for one scheme is a folder (``OUT/<scheme>/``)::

    index.html                         every page with its status
    manifest.json                      inputs, hashes, seeds, each page's parameters and status
    results-<period>.xlsx              ranked tables by group, for reading in Excel
    <period>/overview.html             the annual overview (annual-report.ipynb)
    <period>/groups/<level>/<group>.html   one regional group (annual-report.ipynb, group=...)
    <period>/units/<level>/<unit>.html     one unit (unit-report.ipynb)
    <period>/csv/scores.csv ...        the tables as CSV (UTF-8 with BOM)

Every folder and file name made from data goes through :func:`~assesskit.report.safe.slug`, so
ids such as ``C/1`` and ``C_1`` get different files and no name leaves the folder. Links are
relative, so the folder can be copied or zipped and opened anywhere.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from urllib.parse import quote

from .safe import slug

ANNUAL_NOTEBOOK = "annual-report.ipynb"
UNIT_NOTEBOOK = "unit-report.ipynb"


def overview_path(period: str) -> str:
    """Path of a period's overview page, relative to the report folder."""
    return f"{slug(period)}/overview.html"


def group_path(period: str, level: str, group: str) -> str:
    """Path of the page of one group of one level."""
    return f"{slug(period)}/groups/{slug(level)}/{slug(group)}.html"


def unit_path(period: str, level: str, unit: str) -> str:
    """Path of the page of one unit."""
    return f"{slug(period)}/units/{slug(level)}/{slug(unit)}.html"


def href(from_path: str, to_path: str) -> str:
    """A relative, percent-encoded link from the page at ``from_path`` to ``to_path``.

    Examples
    --------
    >>> href("2025/units/county/511781.html", "2025/overview.html")
    '../../overview.html'
    """
    rel = posixpath.relpath(to_path, posixpath.dirname(from_path) or ".")
    return quote(rel, safe="/~.-_")


@dataclass(frozen=True)
class Page:
    """One page of a report set: which notebook renders it, with which parameters, and where.

    Attributes
    ----------
    kind : str
        ``overview``, ``group`` or ``unit``.
    period : str
    level, group, unit : str or None
        What the page shows (``level`` and ``group`` for a group page, ``level`` and ``unit`` for
        a unit page).
    title : str
        Shown in the index (a unit's or group's name).
    """

    kind: str
    period: str
    level: str | None = None
    group: str | None = None
    unit: str | None = None
    title: str = field(default="", compare=False)

    @property
    def id(self) -> str:
        """Stable identifier (the manifest's key): kind, period and what the page shows."""
        parts = [self.kind, self.period, self.level, self.group, self.unit]
        return "/".join("" if p is None else str(p) for p in parts)

    @property
    def path(self) -> str:
        """Output HTML path relative to the report folder."""
        if self.kind == "overview":
            return overview_path(self.period)
        if self.kind == "group":
            return group_path(self.period, self.level, self.group)
        return unit_path(self.period, self.level, self.unit)

    @property
    def notebook(self) -> str:
        """File name of the notebook template in ``notebooks/``."""
        return UNIT_NOTEBOOK if self.kind == "unit" else ANNUAL_NOTEBOOK

    def parameters(self, scheme: str, dataset: str, **extra) -> dict:
        """The papermill parameters of this page."""
        params = {"scheme": scheme, "dataset": dataset, "period": self.period}
        if self.kind == "unit":
            params.update(level=self.level, unit=self.unit)
        else:
            params.update(level=self.level, group=self.group)
        params.update(extra)
        return params
