"""The ratings table of a dataset: who rated whom, on which aspect, with which grade.

A *rating* is one cell of a rating sheet (测评表) of a rater-based review such as Yingshan's
"双述双评" of village first secretaries (第一书记): a rater of a rater group gives a rated unit a
grade (好 / 较好 / 一般 / 差) on one aspect in one period. The table is long, one row per rating:

``unit``
    the rated unit (a unit id of the units table, e.g. a first secretary of level ``official``);
``period``
    the period of the review (``"2015"``);
``rater``
    the rater's id (free text: a member of the assessment team, a township leader, or — for a
    fellow secretary — the secretary's own unit id);
``rater_group``
    the rater group (e.g. ``team``, ``township_leaders``, ``peers``); a scheme gives each group a
    weight;
``aspect``
    the aspect code (e.g. ``overall``); a scheme gives each aspect a weight;
``grade``
    the grade as written on the sheet (``好``);
``rater_unit`` (optional)
    the unit the rater belongs to: the township of a township leader, the secretary's own id for
    a fellow secretary, empty for the assessment team. It is how the self-rating rule and the
    sessions of a review find a rater's place.

What is checked here (every problem with its file, row and column, all at once): required
columns, empty cells, periods, unknown rated units and rater units, grades outside the
dataset's declared ``rating_scale`` (``dataset.yaml``), duplicate ratings, and — for rated units
of level ``official`` — a sending unit (派出单位, units column ``sending_unit``) that exists.
What needs a scheme (the grade scale of the scheme, who was drawn to report, the rater groups
and aspects it knows) is checked by :mod:`assesskit.engine.ratings`, with the same precision.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..errors import DataError, Problem

RATING_COLUMNS = ["unit", "period", "rater", "rater_group", "aspect", "grade", "rater_unit"]
REQUIRED_RATING_COLUMNS = ["unit", "period", "rater", "rater_group", "aspect", "grade"]

#: Units column naming the unit that sent a person (第一书记的派出单位); a consequence of the
#: person's grade can reach it.
SENDING_UNIT = "sending_unit"


def _text(series: pd.Series) -> pd.Series:
    def one(x: object) -> str:
        if x is None or x is pd.NA or (isinstance(x, float) and np.isnan(x)):
            return ""
        if isinstance(x, float) and x.is_integer():
            return str(int(x))
        return str(x).strip()

    return series.map(one).astype(object)


def normalise_ratings(ratings: pd.DataFrame, file: str, normalise_period) -> tuple[pd.DataFrame,
                                                                                   list[Problem]]:
    """Text columns stripped, periods canonical, the optional ``rater_unit`` added if absent.

    Parameters
    ----------
    ratings : DataFrame
        The table as read (every cell text).
    file : str
        File name for error messages.
    normalise_period : callable
        :func:`assesskit.data.model.normalise_period`.

    Returns
    -------
    (DataFrame, list of Problem)
        The table (row ``i`` is row ``i + 2`` of the file) and the problems found: missing
        columns (then the table is returned as given) and unreadable periods.
    """
    missing = [c for c in REQUIRED_RATING_COLUMNS if c not in ratings.columns]
    if missing:
        return ratings, [Problem(
            f"missing required column(s) {', '.join(map(repr, missing))} in the ratings table "
            f"(found: {', '.join(map(str, ratings.columns))}); a ratings table has the columns "
            f"{', '.join(REQUIRED_RATING_COLUMNS)} and optionally rater_unit", file=file)]
    r = ratings.copy().reset_index(drop=True)
    for c in RATING_COLUMNS:
        r[c] = _text(r[c]) if c in r.columns else ""
    problems: list[Problem] = []
    canonical = {}
    for p in pd.unique(r["period"]):
        try:
            canonical[p] = normalise_period(p)
        except ValueError as exc:
            canonical[p] = p
            if p != "":
                for i in np.flatnonzero((r["period"] == p).to_numpy()):
                    problems.append(Problem(str(exc), file, int(i) + 2, "period", p))
    r["period"] = r["period"].map(canonical).astype(object)
    others = [c for c in r.columns if c not in RATING_COLUMNS]
    return r[RATING_COLUMNS + others], problems


def ratings_problems(
    ratings: pd.DataFrame,
    units: pd.DataFrame,
    *,
    file: str = "ratings",
    units_file: str = "units",
    scale: Sequence[str] = (),
) -> list[Problem]:
    """Every problem of a ratings table against the units table (empty list if none).

    Parameters
    ----------
    ratings : DataFrame
        Normalised by :func:`normalise_ratings`.
    units : DataFrame
        The dataset's units table.
    file, units_file : str
        File names for the messages.
    scale : sequence of str
        The grades a sheet may hold (``dataset.yaml`` key ``rating_scale``); empty: not checked
        here (the scheme's points per grade are checked by the engine).

    Returns
    -------
    list of Problem
    """
    out: list[Problem] = []
    r = ratings.reset_index(drop=True)
    for c in REQUIRED_RATING_COLUMNS:
        for i in np.flatnonzero((r[c] == "").to_numpy()):
            out.append(Problem(f"empty cell; every rating needs its {c}", file, int(i) + 2, c))
    ids = set(units["unit"])
    bad = ~r["unit"].isin(ids).to_numpy() & (r["unit"] != "").to_numpy()
    for i in np.flatnonzero(bad):
        out.append(Problem("unknown rated unit; it is not in the units table (add the person "
                           "to the units table or correct the id)", file, int(i) + 2, "unit",
                           r["unit"][i]))
    bad = ~r["rater_unit"].isin(ids).to_numpy() & (r["rater_unit"] != "").to_numpy()
    for i in np.flatnonzero(bad):
        out.append(Problem("unknown rater unit; it is not in the units table (give the "
                           "township of a township leader, the secretary's own id for a fellow "
                           "secretary, or leave it empty)", file, int(i) + 2, "rater_unit",
                           r["rater_unit"][i]))
    if scale:
        bad = ~r["grade"].isin(list(scale)).to_numpy() & (r["grade"] != "").to_numpy()
        for i in np.flatnonzero(bad):
            out.append(Problem(f"grade outside the rating scale {' / '.join(scale)} declared in "
                               "dataset.yaml (rating_scale); write one of these grades",
                               file, int(i) + 2, "grade", r["grade"][i]))
    dup = r.duplicated(["unit", "period", "rater", "aspect"], keep="first").to_numpy()
    for i in np.flatnonzero(dup):
        out.append(Problem(f"duplicate rating: rater {r['rater'][i]!r} already rated unit "
                           f"{r['unit'][i]!r} on aspect {r['aspect'][i]!r} in period "
                           f"{r['period'][i]!r}; keep one", file, int(i) + 2))
    out.extend(sending_unit_problems(units, set(r["unit"]), units_file))
    return out


def sending_unit_problems(units: pd.DataFrame, rated: set[str], units_file: str) -> list[Problem]:
    """A rated person (level ``official``) without a sending unit, or with an unknown one."""
    u = units.reset_index(drop=True)
    people = (u["level"] == "official").to_numpy() & u["unit"].isin(rated).to_numpy()
    if not people.any():
        return []
    if SENDING_UNIT not in u.columns:
        return [Problem(f"the units table has no column {SENDING_UNIT!r}, but it lists rated "
                        "persons (level official); add the column and give each person the unit "
                        "that sent them (派出单位)", units_file, 1)]
    out = []
    sending = _text(u[SENDING_UNIT])
    for i in np.flatnonzero(people & (sending == "").to_numpy()):
        out.append(Problem(f"{u['unit'][i]} ({u['name'][i]}) is rated but has no sending unit "
                           "(派出单位); fill in the id of the unit that sent them", units_file,
                           int(i) + 2, SENDING_UNIT))
    ids = set(u["unit"])
    for i in np.flatnonzero(people & (sending != "").to_numpy() & ~sending.isin(ids).to_numpy()):
        out.append(Problem("unknown sending unit; it is not in the units table (add the sending "
                           "unit as a unit of its own, e.g. level department)", units_file,
                           int(i) + 2, SENDING_UNIT, sending[i]))
    return out


def draw_reporters(ids: Sequence[str], k: int, seed: int, *, key: str = "review.draw.k",
                   file: str | None = None) -> list[str]:
    """The ``k`` ratees drawn to report at the plenary (随机抽取), reproducible from the seed.

    Parameters
    ----------
    ids : sequence of str
        Ids of every ratee; the draw is over them **sorted**, so the order of a file does not
        change who is drawn.
    k : int
        How many are drawn.
    seed : int
        Seed of :func:`numpy.random.default_rng`.
    key : str
        Where ``k`` is written (the scheme file, line and key), for the error message.
    file : str
        The file listing the ratees (the units table), for the error message.

    Returns
    -------
    list of str
        The drawn ids in the order drawn.

    Raises
    ------
    DataError
        If ``k`` is larger than the number of ratees.

    Notes
    -----
    ``default_rng(seed).choice(n, size=k, replace=False)`` over the sorted ids (numpy's
    documented, stable algorithm for a given numpy version).

    Examples
    --------
    >>> draw_reporters(["c", "a", "b"], 2, seed=1) == draw_reporters(["a", "b", "c"], 2, seed=1)
    True
    """
    pool = sorted(map(str, ids))
    if k > len(pool):
        raise DataError(Problem(f"the draw asks for {k} reporters ({key}) but the units table "
                                f"lists only {len(pool)} units to rate; lower k in the scheme or "
                                "add the missing units", file=file, value=k))
    picked = np.random.default_rng(seed).choice(len(pool), size=k, replace=False)
    return [pool[i] for i in picked]
