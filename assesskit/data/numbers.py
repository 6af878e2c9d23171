"""Numbers written as people write them: "85.3%", "1,234", full-width digits, "—" for missing."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..errors import Notice, Problem

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
    percent: bool = False,
) -> tuple[pd.Series, list[Problem]] | tuple[pd.Series, list[Problem], np.ndarray]:
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
    percent : bool
        Also return which cells were written with a percent sign (default False), found
        while parsing at no extra cost; see :func:`percent_scale_notices`.

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
    with_percent : numpy.ndarray of bool
        Only with ``percent=True``: the cells whose number carries a percent sign.

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
        problems = _non_finite_problems(out, series, file, column, first_row)
        return (out, problems, np.zeros(len(out), dtype=bool)) if percent else (out, problems)
    else:
        text = series.astype("string").str.strip()

    # Fast path: plain numbers.
    number = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    todo = np.isnan(number) & text.notna().to_numpy()
    with_percent = np.zeros(len(number), dtype=bool)
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
        with_percent[np.flatnonzero(todo)] = ok & parts["pct"].notna().to_numpy()
    else:
        bad_positions = np.array([], dtype=int)

    out = pd.Series(number, index=series.index, dtype=float)
    raw = series.to_numpy(dtype=object)
    problems = [
        Problem(_BAD_NUMBER, file, first_row + int(i), column, raw[i]) for i in bad_positions
    ]
    problems.extend(_non_finite_problems(out, series, file, column, first_row))
    problems.sort(key=lambda p: p.row)
    return (out, problems, with_percent) if percent else (out, problems)


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




# ---------------------------------------------------------------------- how cells were written
#: An indicator mixes scales when the cells written without a percent sign are typically (median
#: of the absolute values) at least this many times smaller than those written with one, or
#: larger: 0.14 beside 14% is a fraction meant as 14 %.
PERCENT_SCALE_RATIO = 20.0


def _rows_text(rows: Sequence[int], limit: int = 10) -> str:
    shown = ", ".join(str(int(r)) for r in rows[:limit])
    more = f" and {len(rows) - limit} more" if len(rows) > limit else ""
    return f"row{'s' if len(rows) > 1 else ''} {shown}{more}"


def written_with_percent(series: pd.Series) -> np.ndarray:
    """Boolean array: the cell's text carries a percent sign (``%`` or full-width ``％``)."""
    if pd.api.types.is_numeric_dtype(series.dtype):
        return np.zeros(len(series), dtype=bool)
    text = series.astype("string")
    return text.str.contains("[%％]", regex=True).fillna(False).to_numpy(dtype=bool)


def missing_marker_notice(
    cells: pd.Series, numbers: pd.Series, rows: Sequence[int], file: str | None
) -> Notice | None:
    """A notice listing the cells read as missing because of a marker such as "N/A" or "—".

    Parameters
    ----------
    cells : pandas.Series
        The cells as written (text).
    numbers : pandas.Series
        The result of :func:`parse_numeric` on ``cells`` (same positions).
    rows : sequence of int
        Row in the file of each cell.
    file : str, optional
        The file, for the notice's ``where``.

    Returns
    -------
    Notice or None
        ``kind="missing_markers"``, listing each marker with its count and rows; ``None`` if no
        cell was a marker. Empty cells are missing too but are not listed (they are the plain way
        to write a value that was not reported).
    """
    if pd.api.types.is_numeric_dtype(cells.dtype) or len(cells) == 0:
        return None
    missing = np.flatnonzero(numbers.isna().to_numpy())  # few cells: look only at those
    if len(missing) == 0:
        return None
    text = (cells.iloc[missing].astype("string").str.normalize("NFKC").str.translate(_MINUS)
            .str.strip())
    marker = ((text.fillna("") != "").to_numpy()
              & text.str.upper().isin(MISSING_MARKERS).fillna(False).to_numpy(dtype=bool))
    if not marker.any():
        return None
    rows = np.asarray(rows)[missing]
    found = pd.DataFrame({"marker": text.to_numpy(dtype=object)[marker], "row": rows[marker]})
    parts = [f"{m!r} ×{len(g)} ({_rows_text(sorted(set(g['row'])))})"
             for m, g in found.groupby("marker", sort=True)]
    return Notice(
        "missing_markers",
        f"{int(marker.sum())} cell(s) read as missing values (not reported): "
        + "; ".join(parts)
        + ". A scheme's missing-value policy decides what follows; if a figure exists, write it",
        file,
    )


def percent_scale_notices(
    cells: pd.Series,
    numbers: pd.Series,
    indicator: pd.Series,
    rows: Sequence[int],
    file: str | None,
    with_percent: np.ndarray | None = None,
) -> list[Notice]:
    """Notices for indicators whose cells mix a percent scale and a fraction scale.

    Parameters
    ----------
    cells : pandas.Series
        The cells as written (text; a workbook cell formatted as a percentage is written
        ``"14%"`` by the reader).
    numbers : pandas.Series
        Parsed values (percentage points for cells with a percent sign).
    indicator : pandas.Series
        Indicator code of each cell.
    rows : sequence of int
        Row in the file of each cell.
    file : str, optional
        The file, for the notices' ``where``.
    with_percent : numpy.ndarray of bool, optional
        Which cells carry a percent sign, as returned by ``parse_numeric(..., percent=True)``;
        default: found with :func:`written_with_percent`.

    Returns
    -------
    list of Notice
        One ``kind="percent_scale_mixed"`` notice per indicator whose cells written with a percent
        sign and cells written without differ in typical size (median of absolute non-zero
        values) by a factor of :data:`PERCENT_SCALE_RATIO` or more, naming the rows of the
        smaller-scale cells. The values are kept as written.

    Notes
    -----
    ``"14%"`` is read as 14 (percentage points, see :func:`parse_numeric`), so a column that
    mixes ``"14%"`` and ``0.14`` holds numbers 100 times apart that mean the same thing. Cells
    written as ``"7.5%"`` beside ``6.8`` (the same scale) are not reported.
    """
    pct = written_with_percent(cells) if with_percent is None else with_percent
    if not pct.any() or pct.all():
        return []
    x = numbers.to_numpy(dtype=float)
    usable = np.isfinite(x) & (x != 0)
    frame = pd.DataFrame({"indicator": indicator.to_numpy(dtype=object), "pct": pct,
                          "size": np.abs(x), "row": np.asarray(rows)})[usable]
    medians = frame.groupby(["indicator", "pct"], sort=True)["size"].median().unstack("pct")
    if True not in medians.columns or False not in medians.columns:
        return []
    ratio = medians[True] / medians[False]
    out = []
    for code, r in ratio.items():
        if not np.isfinite(r) or 1 / PERCENT_SCALE_RATIO < r < PERCENT_SCALE_RATIO:
            continue
        small_is_plain = r >= PERCENT_SCALE_RATIO
        sel = frame[(frame["indicator"] == code) & (frame["pct"] == (not small_is_plain))]
        written = "without a percent sign" if small_is_plain else "with a percent sign"
        other = "with" if small_is_plain else "without"
        out.append(Notice(
            "percent_scale_mixed",
            f"indicator {code!r} mixes scales: cells {written} are typically "
            f"{max(r, 1 / r):.0f} times smaller than those {other} one (median "
            f"{medians.loc[code, not small_is_plain]:g} against "
            f"{medians.loc[code, small_is_plain]:g}; '14%' is read as 14, so 0.14 beside it is "
            f"probably a fraction meant as 14%): {_rows_text(sorted(sel['row']))}. The values "
            "are kept as written; write every cell of the indicator on one scale",
            file,
        ))
    return out
