"""Numbers written as people write them: "85.3%", "1,234", full-width digits, "—" for missing."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ..errors import Problem

#: Cell texts that mean "not reported" (compared after stripping spaces, NFKC normalisation and
#: upper-casing). Dashes and ellipses are how Chinese statistical tables mark a missing figure;
#: "/" marks "not applicable".
MISSING_MARKERS = frozenset(
    {"", "-", "--", "—", "——", "–", "––", "−", "...", "…", "……", "/",
     "NA", "N/A", "#N/A", "NAN", "NULL", "NONE"}
)

# A number after normalisation: optional sign, digits with or without thousands separators
# grouped by three, optional decimals, optional exponent, optional trailing percent sign.
_NUMBER = re.compile(
    r"^(?P<num>[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?(?:[eE][+-]?\d+)?)\s*(?P<pct>%)?$"
)
# Minus signs NFKC leaves alone: U+2212 MINUS SIGN; U+FE63 and U+FF0D become "-" under NFKC.
_MINUS = str.maketrans({"\u2212": "-"})
_BAD_NUMBER = (
    "not a number; write digits such as 85.3, 85.3%, 1,234 or -5, or leave the cell empty "
    "(or '—') if the value was not reported"
)


# ---------------------------------------------------------------------- numbers
def parse_numeric(
    series: pd.Series,
    *,
    file: str | None = None,
    column: str | None = None,
    first_row: int = 2,
) -> tuple[pd.Series, list[Problem]]:
    """Parse a column of numbers written as people write them (数值解析).

    Parameters
    ----------
    series : pandas.Series
        Cells as read from a file: numbers, or text such as ``"85.3"``, ``"85.3%"``, ``"1,234"``,
        ``"1，234"`` (full-width comma), ``"１２３．４"`` (full-width digits and point),
        ``"－5"`` or ``"−5"`` (full-width or Unicode minus), with surrounding spaces allowed.
    file, column : str, optional
        File and column name, used to place each problem.
    first_row : int
        Row number, as a person counts it in the file, of the first element of ``series``
        (default 2: the header is row 1).

    Returns
    -------
    values : pandas.Series of float
        Same index as ``series``; ``NaN`` where the cell is empty or a missing-value marker
        (see :data:`MISSING_MARKERS`: "—", "-", "–", "——", "…", "/", "NA", "N/A", ...) and
        where the cell could not be read.
    problems : list of Problem
        One per cell that is neither a number nor a missing-value marker, with
        ``row = first_row + position``, ``column`` and the cell's text. Non-finite numbers
        (``inf``, ``1e400``) are problems too.

    Notes
    -----
    A percent sign is dropped and the number is kept **in percentage points**: ``"85.3%"`` gives
    ``85.3``, not ``0.853``. Indicator tables state rates as percentages, and a column that
    mixes ``"85.3%"`` and ``"85.3"`` means the same quantity in both cells; the indicator's
    ``unit_of_measure`` says ``%``.

    Thousands separators are accepted only in groups of three (``"1,234,567"``); ``"1,5"``
    (a decimal comma) is reported, not guessed.

    The work is vectorised: plain numbers are converted in one :func:`pandas.to_numeric` pass;
    only the cells that fail it (percentages, separators, full-width characters, markers,
    mistakes) go through the slower text normalisation.

    Examples
    --------
    >>> values, problems = parse_numeric(pd.Series(["85.3%", "1,234", "１２３．４", "—", "x"]),
    ...                                  file="values.csv", column="value")
    >>> values.tolist()[:3], bool(np.isnan(values.iloc[3])), str(problems[0])
    ([85.3, 1234.0, 123.4], True, "values.csv, row 6, column 'value', value 'x': not a number; \
write digits such as 85.3, 85.3%, 1,234 or -5, or leave the cell empty (or '—') if the value was \
not reported")
    """
    if pd.api.types.is_bool_dtype(series.dtype):
        text = series.astype("string")  # True/False are not numbers: report them below
    elif pd.api.types.is_numeric_dtype(series.dtype):
        out = series.astype(float)
        return out, _non_finite_problems(out, series, file, column, first_row)
    else:
        text = series.astype("string").str.strip()

    # Fast path: plain numbers.
    number = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    todo = np.isnan(number) & text.notna().to_numpy()
    if todo.any():
        rest = text[todo]
        norm = rest.str.normalize("NFKC").str.translate(_MINUS).str.strip()
        missing = norm.str.upper().isin(MISSING_MARKERS).to_numpy()
        parts = norm.str.extract(_NUMBER)
        ok = parts["num"].notna().to_numpy() & (parts["num"].str.contains(r"\d", regex=True)
                                                 .fillna(False).to_numpy(dtype=bool))
        digits = parts["num"].str.replace(",", "", regex=False)
        parsed = pd.to_numeric(digits, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        filled = np.where(ok & ~missing, parsed, np.nan)
        number[np.flatnonzero(todo)] = filled
        bad_positions = np.flatnonzero(todo)[~ok & ~missing]
    else:
        bad_positions = np.array([], dtype=int)

    out = pd.Series(number, index=series.index, dtype=float)
    raw = series.to_numpy(dtype=object)
    problems = [
        Problem(_BAD_NUMBER, file, first_row + int(i), column, raw[i]) for i in bad_positions
    ]
    problems.extend(_non_finite_problems(out, series, file, column, first_row))
    problems.sort(key=lambda p: p.row)
    return out, problems


def _non_finite_problems(
    numbers: pd.Series, raw: pd.Series, file: str | None, column: str | None, first_row: int
) -> list[Problem]:
    bad = np.flatnonzero(np.isinf(numbers.to_numpy(dtype=float)))
    cells = raw.to_numpy(dtype=object)
    return [
        Problem("not a finite number; write the value itself", file, first_row + int(i), column,
                cells[i])
        for i in bad
    ]


