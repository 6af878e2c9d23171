"""Loaders: read units, indicators and values from CSV (UTF-8 or GBK/GB18030), Excel or DataFrames.

(Stub: the full loader is being written; parse_numeric's contract is fixed.)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import Problem

MISSING_MARKERS = {"", "—", "-", "–", "－", "——", "NA", "N/A", "n/a", "nan", "NaN", "null", "…"}


def parse_numeric(series: pd.Series, *, file: str | None = None, column: str | None = None,
                  first_row: int = 2) -> tuple[pd.Series, list[Problem]]:
    """Parse a column of numbers written as people write them.

    Returns the float Series (NaN for missing-value markers) and one Problem per bad cell.
    """
    out = np.full(len(series), np.nan)
    problems: list[Problem] = []
    for i, x in enumerate(series.tolist()):
        if x is None or (isinstance(x, float) and np.isnan(x)):
            continue
        if isinstance(x, int | float | np.number):
            out[i] = float(x)
            continue
        text = str(x).strip()
        if text in MISSING_MARKERS:
            continue
        pct = text.endswith("%")
        try:
            out[i] = float(text.rstrip("%").replace(",", "")) * (1 if not pct else 1)
        except ValueError:
            problems.append(Problem("not a number", file, first_row + i, column, x))
    return pd.Series(out, index=series.index, dtype=float), problems
