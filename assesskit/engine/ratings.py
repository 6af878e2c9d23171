"""Rater-based reviews and pass/fail constraints: the kernels (评议打分, 抽签述职, 硬约束).

Yingshan's "双述双评" (seed 002) grades village first secretaries (第一书记) from rating sheets:
the chair draws ``k`` secretaries at random to report at the plenary (大会述职), the others report
in groups (分组述职); three rater groups — the assessment team (考核组成员), the township leaders in
charge (乡镇分管领导) and the other secretaries who reported (参加述职的其他第一书记) — give every
reporter a grade (好 / 较好 / 一般 / 差) on each of 8 aspects. This module turns such sheets into
scores and grades, and checks Jiange's "five musts" (五个必须) as pass/fail constraints.

Every function is a pure array kernel. Scores are computed over a leading **draws** axis: a
bootstrap (of raters within groups, and of who is drawn to report) is an array of rater weights
``W`` of shape ``(draws, ratees, raters)`` and one call scores every draw. There is no Python loop
over units, raters or draws; the only loops run over the (three) rater groups or the (five)
musts.

Sessions of a review
--------------------
A ratee reports at the ``plenary`` if drawn, otherwise in the session of their group (the units
column ``session_by``, default ``group``: Yingshan's 片区). Who rates whom follows from each rater
group's ``attends`` (see :data:`ATTENDS`): the assessment team rates every session, a township
leader the plenary and the session of their own township's group, a fellow secretary only the
session they reported in. A rating outside these sessions is an error naming the file row
("a rater rating someone not in the draw").

Specs
-----
The ``review:`` and ``musts:`` blocks of a scheme are parsed and checked once, at load, by the
scheme layer (:mod:`assesskit.scheme.review`: :class:`ReviewSpec`, :class:`MustsSpec`); these
kernels take the parsed specs. Grades are given by the engine's one grade rule
(:class:`~assesskit.engine.consequences.GradeRule`); :mod:`assesskit.engine.review` wires the
kernels into :func:`~assesskit.engine.evaluation.evaluate`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..data.model import Dataset, normalise_period
from ..data.ratings import draw_reporters  # the draw is part of the data's procedure
from ..errors import DataError, Notice, Problem
from ..scheme.review import ATTENDS, MISSING_SHEET_POLICIES, PLENARY, MustsSpec, ReviewSpec
from .consequences import GradeRule
from .scoring import passfail

__all__ = [
    "ATTENDS",
    "MISSING_SHEET_POLICIES",
    "MustResults",
    "MustsSpec",
    "Panel",
    "ReviewResult",
    "ReviewSpec",
    "Sheets",
    "bootstrap_weights",
    "check_musts",
    "draw_reporters",
    "evaluate_musts",
    "evaluate_review",
    "explain_musts",
    "grade_rule",
    "identical_raters",
    "linked_deductions",
    "linked_units",
    "panel_sizes",
    "redraw_masks",
    "review_panel",
    "review_scores",
    "sheet_points",
    "sheets_from_ratings",
]


def grade_rule(spec: ReviewSpec) -> GradeRule | None:
    """The engine's grade rule of a review's bands on its scores (0–100), or None.

    The bands apply to a unit's total, ``score × max_points / 100``; on the review score their
    thresholds are ``t × 100 / max_points`` (the same grades).
    """
    if not spec.grades:
        return None
    scale = 100.0 / spec.max_points
    return GradeRule.from_spec({"by": "score",
                                "bands": [[t * scale, label] for t, label in spec.grades]})


# ============================================================================ the draw
def redraw_masks(n: int, k: int, n_draws: int, rng: np.random.Generator) -> np.ndarray:
    """Boolean masks ``(draws, n)`` of ``k`` ratees drawn without replacement in every draw.

    The ``k`` smallest of ``n`` independent uniforms per draw are a uniform random subset.
    """
    u = rng.random((n_draws, n))
    kth = np.partition(u, k - 1, axis=1)[:, k - 1:k] if k > 0 else np.full((n_draws, 1), -1.0)
    return u <= kth


# ============================================================================ sheets
@dataclass
class Sheets:
    """Rating sheets of one period as arrays.

    Attributes
    ----------
    period : str
    ratees : ndarray of str, shape (n,)
        The rated units, in the order of the units table.
    raters : ndarray of str, shape (R,)
        Every rater, in order of first appearance in the file.
    rater_group : ndarray of int, shape (R,)
        Index of each rater's group in ``groups``.
    groups : list of str
        Rater group keys, in the order of the spec.
    rater_unit : ndarray of str, shape (R,)
        The unit each rater belongs to ("" for none).
    aspects : list of str
        Aspect codes, in the order of the spec.
    grade : ndarray of int, shape (n, R, A)
        Index of the grade in ``grade_labels`` (0 = best) or -1 where no rating was given.
    points : ndarray of float, shape (n, R, A)
        Points of the grade, NaN where no rating was given.
    rows : ndarray of int, shape (n, R, A)
        Row of the ratings file holding each rating (0 where none).
    file : str
    grade_labels : list of str
        The grades, best first.
    """

    period: str
    ratees: np.ndarray
    raters: np.ndarray
    rater_group: np.ndarray
    groups: list
    rater_unit: np.ndarray
    aspects: list
    grade: np.ndarray
    points: np.ndarray
    rows: np.ndarray
    file: str
    grade_labels: list = field(default_factory=list)

    @property
    def has_sheet(self) -> np.ndarray:
        """``(n, R)``: the rater handed in a sheet for the ratee (at least one aspect rated)."""
        return (self.grade >= 0).any(axis=-1)

    def first_row(self) -> np.ndarray:
        """``(n, R)``: the first file row of each sheet (0 if none)."""
        r = np.where(self.rows > 0, self.rows, np.iinfo(np.int64).max)
        first = r.min(axis=-1)
        return np.where(first == np.iinfo(np.int64).max, 0, first)


def sheets_from_ratings(data: Dataset, spec: ReviewSpec, period,
                        ratees: Sequence[str] | None = None) -> Sheets:
    """Arrays of the rating sheets of one period, every rating checked against the spec.

    Parameters
    ----------
    data : Dataset
        With a ``ratings`` table.
    spec : ReviewSpec
    period : int or str
    ratees : sequence of str, optional
        The rated units, in order (the units the scheme level assesses); default every unit of
        the dataset level ``spec.level``, in the order of the units table.

    Returns
    -------
    Sheets

    Raises
    ------
    DataError
        Listing every bad rating with file, row and column: a grade outside the scheme's scale
        (``points``), an unknown aspect or rater group, a rated unit that is not of the reviewed
        level, a rater in two groups, or no rating at all in the period.
    """
    file = data.sources.get("ratings", "ratings")
    if data.ratings is None:
        raise DataError(Problem(f"dataset {data.name!r} has no ratings table; add ratings.csv "
                                "and name it in dataset.yaml (files: {ratings: ratings.csv})"))
    p = normalise_period(period)
    r = data.ratings.reset_index(drop=True)
    rows = np.arange(len(r)) + 2
    sel = (r["period"] == p).to_numpy()
    if not sel.any():
        raise DataError(Problem(f"no rating for period {p}; periods present: "
                                f"{', '.join(sorted(set(r['period'])))}", file=file))
    r, rows = r[sel].reset_index(drop=True), rows[sel]
    units = data.units
    if ratees is None:
        ratees = units.loc[units["level"] == spec.level, "unit"]
    ratees = np.asarray(list(ratees), dtype=object)
    grades = list(spec.points)
    groups = list(spec.rater_groups)
    aspects = list(spec.aspects)
    problems = []
    checks = [("grade", grades, f"grade outside the scheme's scale {' / '.join(grades)} "
                                f"({spec.where('points')}); write one of these grades"),
              ("aspect", aspects, f"unknown aspect; the scheme rates {', '.join(aspects)} "
                                  f"({spec.where('aspects')})"),
              ("rater_group", groups, f"unknown rater group; the scheme has "
                                      f"{', '.join(groups)} ({spec.where('rater_groups')})"),
              ("unit", list(ratees), f"the rated unit is not one the review grades (units of level "
                                     f"{spec.level!r} the scheme level selects)")]
    for col, known, msg in checks:
        bad = ~r[col].isin(known).to_numpy()
        for i in np.flatnonzero(bad):
            problems.append(Problem(msg, file, int(rows[i]), col, r[col][i]))
    both = r.groupby("rater")[["rater_group", "rater_unit"]].nunique()
    for rater in both.index[(both > 1).any(axis=1)]:
        i = int(np.flatnonzero((r["rater"] == rater).to_numpy())[0])
        problems.append(Problem(f"rater {rater!r} appears with more than one rater group or "
                                "rater unit; a rater belongs to one group and one unit",
                                file, int(rows[i]), "rater_group", r["rater_group"][i]))
    if problems:
        raise DataError(problems, title=f"the ratings of period {p} do not fit the review")

    raters = pd.unique(r["rater"])
    first = r.drop_duplicates("rater").set_index("rater")
    ri = pd.Index(ratees).get_indexer(r["unit"])
    rj = pd.Index(raters).get_indexer(r["rater"])
    ra = pd.Index(aspects).get_indexer(r["aspect"])
    gi = pd.Index(grades).get_indexer(r["grade"])
    shape = (len(ratees), len(raters), len(aspects))
    grade = np.full(shape, -1, dtype=np.int64)
    grade[ri, rj, ra] = gi
    row = np.zeros(shape, dtype=np.int64)
    row[ri, rj, ra] = rows
    pts = np.asarray(list(spec.points.values()), dtype=float)
    points = np.where(grade >= 0, pts[np.maximum(grade, 0)], np.nan)
    return Sheets(period=p, ratees=ratees, raters=np.asarray(raters, dtype=object),
                  rater_group=pd.Index(groups).get_indexer(first.loc[raters, "rater_group"]),
                  groups=groups,
                  rater_unit=first.loc[raters, "rater_unit"].to_numpy(dtype=object),
                  aspects=aspects, grade=grade, points=points, rows=row, file=file,
                  grade_labels=grades)


# ============================================================================ panels
@dataclass
class Panel:
    """Who reported where and who was expected to rate whom.

    Attributes
    ----------
    drawn : list of str
        Ratees drawn to report at the plenary, in the order drawn.
    session : ndarray of str, shape (n,)
        ``"plenary"`` or the ratee's group session.
    expected : ndarray of bool, shape (n, R)
        Rater r attends ratee i's session and is not i (self-ratings excluded).
    self_rating : ndarray of bool, shape (n, R)
        Rater r is ratee i (the rater's unit is the ratee).
    rater_sessions : ndarray of bool, shape (S, R)
        Sessions (``session_names``) each rater attends.
    session_names : list of str
    notices : list of Notice
    """

    drawn: list
    session: np.ndarray
    expected: np.ndarray
    self_rating: np.ndarray
    rater_sessions: np.ndarray
    session_names: list
    notices: list


def review_panel(sheets: Sheets, data: Dataset, spec: ReviewSpec) -> Panel:
    """Draw the plenary reporters, place every ratee in a session and check who rated whom.

    Parameters
    ----------
    sheets : Sheets
    data : Dataset
        Units table: the ``session_by`` column of ratees and rater units.
    spec : ReviewSpec

    Returns
    -------
    Panel

    Raises
    ------
    DataError
        If the draw is larger than the number of ratees, or a sheet rates a ratee of a session
        the rater did not attend (e.g. a fellow secretary drawn for the plenary rating a
        secretary who was not drawn), or — under ``missing_sheet: error`` — an expected sheet is
        absent or incomplete. Each names the ratings file, row and column.
    """
    units = data.units.set_index("unit")
    ufile = data.sources.get("units", "units")
    if spec.session_by not in units.columns:
        raise DataError(Problem(f"the units table has no column {spec.session_by!r}, which the "
                                f"review uses for group sessions ({spec.where('draw.session_by')})",
                                file=ufile, row=1))
    drawn = draw_reporters(sheets.ratees, spec.draw_k, spec.draw_seed, key=spec.where("draw.k"),
                           file=ufile)
    is_drawn = np.isin(sheets.ratees, drawn)
    own_group = units.loc[sheets.ratees, spec.session_by].astype(str).to_numpy(dtype=object)
    session = np.where(is_drawn, PLENARY, own_group).astype(object)
    names = [PLENARY, *sorted(set(own_group))]

    # Sessions of each rater's own unit: a drawn secretary's is the plenary.
    ru = sheets.rater_unit
    known = np.isin(ru, units.index.to_numpy())
    unit_group = np.where(known, units[spec.session_by].reindex(ru).astype(str).to_numpy(), "")
    rater_drawn = np.isin(ru, drawn)
    own_session = np.where(rater_drawn, PLENARY, unit_group)
    attends = np.array([spec.rater_groups[g]["attends"] for g in sheets.groups],
                       dtype=object)[sheets.rater_group]
    sess = np.asarray(names, dtype=object)[:, None]
    rater_sessions = ((attends == "all")[None, :]
                      | ((attends == "plenary_and_own") & ((sess == PLENARY) | (sess == unit_group)))
                      | ((attends == "own") & (sess == own_session)))
    s_idx = pd.Index(names).get_indexer(session)
    attend = rater_sessions[s_idx, :]                                    # (n, R)
    self_rating = ru[None, :] == sheets.ratees[:, None]
    expected = attend & ~self_rating if spec.exclude_self else attend.copy()

    has = sheets.has_sheet
    first = sheets.first_row()
    problems, notices = [], []
    outside = has & ~attend & ~self_rating
    for i, j in zip(*np.nonzero(outside), strict=True):
        rs = "the plenary" if own_session[j] == PLENARY else f"session {own_session[j]!r}"
        where = ("reported at the plenary (drawn)" if session[i] == PLENARY
                 else f"was not drawn and reported in session {session[i]!r}")
        problems.append(Problem(
            f"rater {sheets.raters[j]!r} ({sheets.groups[sheets.rater_group[j]]}, attends "
            f"{spec.rater_groups[sheets.groups[sheets.rater_group[j]]]['attends']}: {rs}) rated "
            f"{sheets.ratees[i]!r}, who {where}; draw of {spec.draw_k} with seed "
            f"{spec.draw_seed}: {', '.join(drawn)}. A rater rates only the sessions they attend; "
            "correct the rater, the rated unit or the draw", sheets.file, int(first[i, j]),
            "unit", sheets.ratees[i]))
    if problems:
        raise DataError(problems, title="ratings of someone outside the rater's session")
    if spec.exclude_self and (has & self_rating).any():
        pairs = [f"{sheets.raters[j]} (row {first[i, j]})" for i, j in
                 zip(*np.nonzero(has & self_rating), strict=True)]
        notices.append(Notice("self_rating_excluded",
                              f"{len(pairs)} self-rating sheet(s) left out by the rule that a "
                              f"rater does not rate themself: {', '.join(pairs)}",
                              where=_file_name(sheets.file)))

    missing = expected & ~has
    partial = expected & has & (sheets.grade < 0).any(axis=-1)
    if missing.any() or partial.any():
        listed = [f"{sheets.raters[j]} → {sheets.ratees[i]}" for i, j in
                  zip(*np.nonzero(missing), strict=True)]
        part = [f"{sheets.raters[j]} → {sheets.ratees[i]} (row {first[i, j]})" for i, j in
                zip(*np.nonzero(partial), strict=True)]
        if spec.missing_sheet == "error":
            problems = [Problem(f"missing rating sheet: rater {m.split(' → ')[0]!r} attended the "
                                f"session of {m.split(' → ')[1]!r} but gave no rating; the "
                                "review's missing_sheet policy is 'error' (supply the sheet or "
                                "choose renormalise)", sheets.file, column="rater")
                        for m in listed]
            problems += [Problem(f"incomplete rating sheet {m}: an aspect is not rated; the "
                                 "missing_sheet policy is 'error'", sheets.file, column="aspect")
                         for m in part]
            raise DataError(problems, title="rating sheets missing")
        if listed:
            notices.append(Notice("missing_sheet_renormalised",
                                  f"{len(listed)} expected rating sheet(s) absent, left out (mean "
                                  f"over the sheets present): {', '.join(listed)}",
                                  where=_file_name(sheets.file)))
        if part:
            notices.append(Notice("incomplete_sheet_renormalised",
                                  f"{len(part)} sheet(s) lack an aspect; their score is the "
                                  f"weighted mean over the aspects rated: {', '.join(part)}",
                                  where=_file_name(sheets.file)))
    return Panel(drawn=drawn, session=session, expected=expected, self_rating=self_rating,
                 rater_sessions=rater_sessions, session_names=names, notices=notices)


# ============================================================================ scores
def sheet_points(points, aspect_weights) -> np.ndarray:
    """Points of each sheet: the weighted mean of its aspects' points over the aspects rated.

    Parameters
    ----------
    points : array_like, shape (..., A)
        Points per aspect, NaN where not rated.
    aspect_weights : array_like, shape (A,)

    Returns
    -------
    ndarray, shape (...)
        ``Σ_a w_a x_a / Σ_a w_a`` over rated aspects; NaN for a sheet with no rating.

    Examples
    --------
    >>> sheet_points([[100, 80, np.nan]], [0.5, 0.25, 0.25]).round(4).tolist()
    [93.3333]
    """
    x = np.asarray(points, dtype=float)
    w = np.asarray(aspect_weights, dtype=float)
    ok = np.isfinite(x)
    num = np.where(ok, x, 0.0) @ w
    den = ok.astype(float) @ w
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / den, np.nan)


def review_scores(sheet, usable, rater_group, group_weights, weights=None):
    """Score of every ratee: the weighted mean over rater groups of each group's mean sheet.

    Parameters
    ----------
    sheet : array_like, shape (n, R)
        Points of each sheet (:func:`sheet_points`), NaN where absent.
    usable : array_like of bool, shape (n, R)
        The sheet counts (expected, present, rater not excluded).
    rater_group : array_like of int, shape (R,)
        Group index of each rater.
    group_weights : array_like, shape (G,)
        Weight of each rater group (sum 1).
    weights : array_like, optional
        Rater weights broadcastable to ``(draws, n, R)``: ``(R,)``, ``(draws, R)`` (one weight
        per rater in each draw) or ``(draws, n, R)`` (bootstrap counts per ratee). Default 1.

    Returns
    -------
    scores : ndarray, shape (draws, n) — or (n,) without draws
        ``S_i = Σ_g v_g m_ig / Σ_g v_g [D_ig > 0]`` with the group mean
        ``m_ig = Σ_{r∈g} W_ir x_ir / D_ig`` and ``D_ig = Σ_{r∈g} W_ir u_ir``: a group with no
        usable sheet for a ratee is left out and the other group weights re-normalised. NaN if
        no group has a sheet.
    group_means : ndarray, shape (draws, n, G) — or (n, G)
        ``m_ig`` (NaN where ``D_ig = 0``).

    Examples
    --------
    Two raters in group 0 (100 and 60), one in group 1 (80), weights 0.5/0.5:
    ``0.5·80 + 0.5·80 = 80``.

    >>> s, m = review_scores([[100, 60, 80]], [[1, 1, 1]], [0, 0, 1], [0.5, 0.5])
    >>> float(s[0]), m[0].tolist()
    (80.0, [80.0, 80.0])
    """
    x = np.asarray(sheet, dtype=float)
    u = np.asarray(usable, dtype=bool) & np.isfinite(x)
    g = np.asarray(rater_group)
    v = np.asarray(group_weights, dtype=float)
    onehot = (g[:, None] == np.arange(len(v))[None, :]).astype(float)     # (R, G)
    xu = np.where(u, x, 0.0)
    if weights is None:
        num = (u * xu) @ onehot
        den = u.astype(float) @ onehot
    else:
        w = np.asarray(weights, dtype=float)
        if w.ndim == 2 and w.shape[-1] == x.shape[1] and w.shape[0] != x.shape[0]:
            w = w[:, None, :]                                             # (draws, 1, R)
        num = np.einsum("...ir,ir,rg->...ig", w, xu, onehot)
        den = np.einsum("...ir,ir,rg->...ig", w, u.astype(float), onehot)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(den > 0, num / den, np.nan)
        have = den > 0
        total = np.where(have, means, 0.0) @ v
        wsum = have.astype(float) @ v
        scores = np.where(wsum > 0, total / wsum, np.nan)
    return scores, means


def identical_raters(sheets: Sheets, usable) -> pd.DataFrame:
    """Raters who gave every ratee and aspect the same grade (flagged as uninformative).

    Parameters
    ----------
    sheets : Sheets
    usable : array_like of bool, shape (n, R)

    Returns
    -------
    DataFrame
        rater, rater_group, rater_unit, ratees (number of sheets), ratings, grade (the one grade
        given); only raters with at least two sheets and one distinct grade.
    """
    g = np.where(np.asarray(usable)[..., None], sheets.grade, -1)
    rated = g >= 0
    n_ratings = rated.sum(axis=(0, 2))
    big = np.iinfo(np.int64).max
    gmin = np.where(rated, g, big).min(axis=(0, 2))
    gmax = np.where(rated, g, -1).max(axis=(0, 2))
    n_sheets = rated.any(axis=2).sum(axis=0)
    hit = (n_sheets >= 2) & (gmin == gmax)
    labels = np.asarray(sheets.grade_labels, dtype=object)
    out = pd.DataFrame({
        "rater": sheets.raters[hit],
        "rater_group": np.asarray(sheets.groups, dtype=object)[sheets.rater_group[hit]],
        "rater_unit": sheets.rater_unit[hit],
        "ratees": n_sheets[hit],
        "ratings": n_ratings[hit],
        "grade_index": gmin[hit],
    })
    if len(labels):
        out["grade"] = labels[out["grade_index"]]
    return out.reset_index(drop=True)


def bootstrap_weights(usable, rater_group, panel_size, rng: np.random.Generator) -> np.ndarray:
    """Bootstrap counts of each rater for each ratee: raters resampled within groups.

    Parameters
    ----------
    usable : array_like of bool, shape (n, R)
        The sheets that can be drawn for each ratee.
    rater_group : array_like of int, shape (R,)
    panel_size : array_like of int, shape (draws, n, G)
        How many raters of each group rate each ratee in each draw (the observed number for a
        pure rater bootstrap; the size of the re-drawn session's panel for a re-draw of
        reporters, see :func:`panel_sizes`).
    rng : numpy.random.Generator

    Returns
    -------
    ndarray of float, shape (draws, n, R)
        ``W[b, i, r]``: how many times rater r's sheet on ratee i is counted in draw b — a
        multinomial draw of ``panel_size[b, i, g]`` sheets, with replacement and equal
        probability, from ratee i's usable sheets of group g. Zero where a group has no usable
        sheet for the ratee (that group is then left out, as a missing group).

    Notes
    -----
    Raters are resampled independently for each ratee (not jointly across ratees), which is
    exact for the marginal distribution of each ratee's score and grade under threshold grades.
    """
    u = np.asarray(usable, dtype=bool)
    g = np.asarray(rater_group)
    size = np.asarray(panel_size)
    n, r = u.shape
    out = np.zeros((size.shape[0], n, r))
    for k in range(size.shape[-1]):          # the rater groups (three), not units or draws
        mask = u & (g == k)[None, :]
        count = mask.sum(axis=1, keepdims=True)
        p = np.where(count > 0, mask / np.maximum(count, 1), 1.0 / r)
        nk = np.where(count[:, 0] > 0, size[..., k], 0)
        out += rng.multinomial(nk, p)
    return out


def panel_sizes(sheets: Sheets, panel: Panel, usable, spec: ReviewSpec, data: Dataset,
                drawn_masks=None) -> np.ndarray:
    """Number of raters of each group who rate each ratee, as observed or under re-draws.

    Parameters
    ----------
    sheets, panel, spec, data
        As returned by :func:`sheets_from_ratings` and :func:`review_panel`.
    usable : array_like of bool, shape (n, R)
    drawn_masks : array_like of bool, shape (draws, n), optional
        Re-drawn plenary reporters (:func:`redraw_masks`); default: the observed draw only.

    Returns
    -------
    ndarray of int, shape (draws, n, G)
        Observed: the number of usable sheets of each group. Re-drawn: for groups attending
        ``all`` the observed number; ``plenary_and_own``: the number of raters of the group who
        rated in the plenary (drawn) or in the ratee's group session (not drawn);
        ``own``: ``k - 1`` at the plenary, else the number of not-drawn ratees of the ratee's
        group minus one.
    """
    u = np.asarray(usable, dtype=bool)
    G = len(sheets.groups)
    onehot = (sheets.rater_group[:, None] == np.arange(G)[None, :])
    observed = u.astype(int) @ onehot.astype(int)                          # (n, G)
    if drawn_masks is None:
        return observed[None]
    d = np.asarray(drawn_masks, dtype=bool)
    units = data.units.set_index("unit")
    group_of = units.loc[sheets.ratees, spec.session_by].astype(str).to_numpy()
    gnames, gcode = np.unique(group_of, return_inverse=True)
    # raters of each group seen rating in each session (plenary + group sessions)
    s_idx = pd.Index(panel.session_names).get_indexer(panel.session)
    sess_onehot = (s_idx[:, None] == np.arange(len(panel.session_names))[None, :]).astype(int)
    seen = (sess_onehot.T @ u.astype(int)) > 0                              # (S, R)
    per_session = seen.astype(int) @ onehot.astype(int)                     # (S, G)
    plenary = per_session[0]
    own_session = per_session[pd.Index(panel.session_names).get_indexer(gnames)][gcode]  # (n, G)
    cl_onehot = (gcode[:, None] == np.arange(len(gnames))[None, :]).astype(int)
    not_drawn = cl_onehot.sum(axis=0)[None, :] - d.astype(int) @ cl_onehot  # (draws, C)
    k = int(d[0].sum())
    out = np.broadcast_to(observed, (d.shape[0], *observed.shape)).copy()
    for j, gk in enumerate(sheets.groups):   # the rater groups (three)
        attends = spec.rater_groups[gk]["attends"]
        if attends == "plenary_and_own":
            out[..., j] = np.where(d, plenary[j], own_session[None, :, j])
        elif attends == "own":
            out[..., j] = np.where(d, k - 1, not_drawn[:, gcode] - 1)
    return np.maximum(out, 0)


# ============================================================================ the whole review
@dataclass
class ReviewResult:
    """Scores, grades and every decision of a rater-based review for one period.

    Attributes
    ----------
    spec : ReviewSpec
    sheets : Sheets
    panel : Panel
    usable : ndarray of bool, shape (n, R)
        Sheets that count (expected, present, rater not excluded).
    sheet_points : ndarray, shape (n, R)
    scores : DataFrame
        One row per ratee: unit, name, session, drawn, score, one column per rater group
        (``mean_<group>``), sheets (number counted), grade (the grade of the review score by
        the engine's :class:`~assesskit.engine.consequences.GradeRule`; in an evaluation, musts
        or linked consequences reaching the level can change the final grade in ``ev.scores``).
    flagged : DataFrame
        Raters who rated everyone identically (:func:`identical_raters`).
    notices : list of Notice
        Every policy decision (self-ratings excluded, missing sheets, identical raters).
    log : list of dict
        The draw (seed, k, drawn ids and names), the weights, points and policies used.
    """

    spec: ReviewSpec
    sheets: Sheets
    panel: Panel
    usable: np.ndarray
    sheet_points: np.ndarray
    scores: pd.DataFrame
    flagged: pd.DataFrame
    notices: list
    log: list


def evaluate_review(spec: ReviewSpec, data: Dataset, period,
                    ratees: Sequence[str] | None = None) -> ReviewResult:
    """Run a rater-based review: draw, sessions, checks, sheet points, scores and grades.

    Parameters
    ----------
    spec : ReviewSpec
        A level's ``review`` (``scheme.levels[level].review``, parsed at load).
    data : Dataset
        With units (ratees of ``spec.level`` and their ``session_by`` column) and ratings.
    period : int or str
    ratees : sequence of str, optional
        The rated units in order (default: every unit of the dataset level ``spec.level``).

    Returns
    -------
    ReviewResult

    Raises
    ------
    DataError
        Every check of :func:`sheets_from_ratings` and :func:`review_panel`.
    """
    sheets = sheets_from_ratings(data, spec, period, ratees)
    panel = review_panel(sheets, data, spec)
    usable = panel.expected & sheets.has_sheet
    notices = list(panel.notices)
    flagged = identical_raters(sheets, usable)
    if len(flagged):
        who = ", ".join(f"{r.rater} ({r.rater_group}: all {r.grade}, {r.ratees} sheets)"
                        for r in flagged.itertuples())
        action = ("left out of the scores" if spec.identical_raters == "exclude"
                  else "kept in the scores (identical_raters: flag)")
        notices.append(Notice("identical_rater", f"{len(flagged)} rater(s) gave every ratee and "
                              f"aspect the same grade, {action}: {who}", where=_file_name(sheets.file)))
        if spec.identical_raters == "exclude":
            usable = usable & ~np.isin(sheets.raters, flagged["rater"].to_numpy())[None, :]
    aw = np.array([a["weight"] for a in spec.aspects.values()])
    pts = sheet_points(sheets.points, aw)
    gw = np.array([g["weight"] for g in spec.rater_groups.values()])
    score, means = review_scores(pts, usable, sheets.rater_group, gw)
    units = data.units.set_index("unit")
    table = pd.DataFrame({
        "unit": sheets.ratees,
        "name": units.loc[sheets.ratees, "name"].to_numpy(dtype=object),
        "session": panel.session,
        "drawn": np.isin(sheets.ratees, panel.drawn),
        "score": score,
    })
    for j, gk in enumerate(sheets.groups):
        table[f"mean_{gk}"] = means[:, j]
    table["sheets"] = usable.sum(axis=1)
    rule = grade_rule(spec)
    if rule is not None:
        idx = rule.score_index(score)
        labels = np.asarray(rule.labels, dtype=object)
        table["grade"] = np.where(idx >= 0, labels[np.maximum(idx, 0)], "")
    missing_groups = np.isnan(means) & np.isfinite(score)[:, None]
    if missing_groups.any():
        who = [f"{sheets.ratees[i]} (no {sheets.groups[j]})"
               for i, j in zip(*np.nonzero(missing_groups), strict=True)]
        notices.append(Notice("rater_group_missing",
                              f"{len(who)} ratee(s) have no sheet from a rater group; that group "
                              "is left out of their score and the other group weights "
                              f"re-normalised: {', '.join(who)}", where=_file_name(sheets.file)))
    names = units.loc[panel.drawn, "name"].tolist()
    log = [{"step": "draw", "level": spec.level, "period": sheets.period, "k": spec.draw_k,
            "seed": spec.draw_seed, "method": "numpy default_rng(seed).choice(n, k, "
            "replace=False) over the sorted ids of the n rated units",
            "n": len(sheets.ratees), "drawn": list(panel.drawn), "names": names},
           {"step": "review", "points": dict(spec.points),
            "aspect_weights": {k: a["weight"] for k, a in spec.aspects.items()},
            "rater_group_weights": {k: g["weight"] for k, g in spec.rater_groups.items()},
            "exclude_self": spec.exclude_self, "missing_sheet": spec.missing_sheet,
            "identical_raters": spec.identical_raters, "grades": [list(b) for b in spec.grades]}]
    log += [{"step": "notice", "kind": n.kind, "message": n.message} for n in notices]
    return ReviewResult(spec=spec, sheets=sheets, panel=panel, usable=usable, sheet_points=pts,
                        scores=table, flagged=flagged, notices=notices, log=log)


# ============================================================================ linked units
def linked_units(data: Dataset, ratees: Sequence[str], column: str = "sending_unit",
                 level: str | None = None) -> np.ndarray:
    """The unit each ratee is linked to (a first secretary's sending unit 派出单位).

    Parameters
    ----------
    data : Dataset
    ratees : sequence of str
    column : str
        Units column holding the linked unit's id.
    level : str, optional
        The linked unit must be of this level (the level whose scheme the consequence reaches).

    Returns
    -------
    ndarray of str, shape (n,)

    Raises
    ------
    DataError
        Naming the units file, row and column of every ratee without a linked unit, with an
        unknown one, or with one of another level.
    """
    u = data.units.reset_index(drop=True)
    ufile = data.sources.get("units", "units")
    if column not in u.columns:
        raise DataError(Problem(f"the units table has no column {column!r}; the consequence on "
                                "a linked unit needs it (the unit that sent each person)",
                                file=ufile, row=1))
    pos = pd.Index(u["unit"]).get_indexer(list(ratees))
    linked = u[column].fillna("").astype(str).str.strip().to_numpy(dtype=object)[pos]
    lv = dict(zip(u["unit"], u["level"], strict=True))
    problems = []
    for p, target in zip(pos, linked, strict=True):
        if target == "":
            problems.append(Problem(f"{u['unit'][p]} ({u['name'][p]}) has no {column}; fill in "
                                    "the id of the unit that sent them", ufile, int(p) + 2,
                                    column))
        elif target not in lv:
            problems.append(Problem("unknown unit; it is not in the units table", ufile,
                                    int(p) + 2, column, target))
        elif level is not None and lv[target] != level:
            problems.append(Problem(f"the linked unit is of level {lv[target]!r}, not {level!r}",
                                    ufile, int(p) + 2, column, target))
    if problems:
        raise DataError(problems, title=f"linked units ({column}) missing or unknown")
    return linked


def linked_deductions(triggered, linked, targets, points: float, cap: float | None = None):
    """Points deducted from each linked unit: ``points`` per triggering ratee, capped.

    Parameters
    ----------
    triggered : array_like of bool, shape (..., n)
        Ratees whose grade triggers the consequence (e.g. 不称职), any leading draws axes.
    linked : array_like of str, shape (n,)
        The linked unit of each ratee (:func:`linked_units`).
    targets : sequence of str, shape (m,)
        The units of the linked level, in their order.
    points : float
        Points deducted per triggering ratee.
    cap : float, optional
        At most this many points per linked unit.

    Returns
    -------
    cases : ndarray of int, shape (..., m)
        Number of triggering ratees per linked unit.
    deduction : ndarray of float, shape (..., m)
        ``min(cap, points × cases)``.

    Examples
    --------
    >>> c, d = linked_deductions([True, True, False], ["D1", "D1", "D2"], ["D1", "D2", "D3"], 2)
    >>> c.tolist(), d.tolist()
    ([2, 0, 0], [4.0, 0.0, 0.0])
    """
    t = np.asarray(triggered, dtype=bool)
    idx = pd.Index(list(targets)).get_indexer(list(linked))
    onehot = (idx[:, None] == np.arange(len(targets))[None, :]).astype(int)
    cases = t.astype(int) @ onehot
    ded = points * cases.astype(float)
    if cap is not None:
        ded = np.minimum(ded, cap)
    return cases, ded


# ============================================================================ musts (硬约束)
def check_musts(values, op, threshold, must_index, n_musts: int):
    """Pass/fail of every check and every must, vectorised over leading axes.

    Parameters
    ----------
    values : array_like, shape (..., units, checks)
        The value each check reads (NaN if not reported).
    op : sequence of str, shape (checks,)
        ``>=`` (at least) or ``<=`` (at most).
    threshold : array_like, shape (checks,)
    must_index : array_like of int, shape (checks,)
        The must each check belongs to.
    n_musts : int

    Returns
    -------
    check_passed : ndarray of bool, shape (..., units, checks)
        From the engine's ``passfail`` rule (score 100): ``x >= t`` or ``x <= t``. A missing
        value fails.
    must_passed : ndarray of bool, shape (..., units, musts)
        A must passes when all its checks pass.

    Examples
    --------
    Full-time staff 1–2 as two checks of one must: 3 staff fails the ``<= 2`` check.

    >>> c, m = check_musts([[3.0, 3.0]], [">=", "<="], [1, 2], [0, 0], 1)
    >>> c.tolist(), m.tolist()
    ([[True, False]], [[False]])
    """
    x = np.asarray(values, dtype=float)
    t = np.asarray(threshold, dtype=float)
    lower = np.asarray([o == "<=" for o in op])
    score = np.where(lower, passfail(x, t, "lower"), passfail(x, t, "higher"))
    passed = score == 100.0
    idx = np.asarray(must_index)
    onehot = (idx[:, None] == np.arange(n_musts)[None, :]).astype(int)   # (checks, musts)
    failed = (~passed).astype(int) @ onehot
    return passed, failed == 0


@dataclass
class MustResults:
    """The musts of a level checked on its units.

    Attributes
    ----------
    checks : DataFrame
        One row per unit and check: unit, name, must, must_label, check (number within the
        must), label, indicator, value, op, threshold, passed.
    musts : DataFrame
        One row per unit and must: unit, name, must, must_label, passed, consequence (empty if
        passed), detail (the failed checks with value and threshold, see :func:`explain_musts`).
    deduction : ndarray, shape (n,)
        Points deducted from each unit: the sum of ``deduct`` over its failed musts.
    vetoed : ndarray of bool, shape (n,)
        A failed must with ``on_fail: {veto: true}``.
    """

    checks: pd.DataFrame
    musts: pd.DataFrame
    deduction: np.ndarray
    vetoed: np.ndarray

    def failed(self, unit: str) -> pd.DataFrame:
        """The musts a unit failed (rows of :attr:`musts`)."""
        m = self.musts
        return m[(m["unit"] == unit) & ~m["passed"]]


def evaluate_musts(spec: MustsSpec, values, ids: Sequence[str],
                   names: Sequence[str] | None = None) -> MustResults:
    """Check every must of every unit: pass/fail, the deductions and the vetoes they carry.

    Parameters
    ----------
    spec : MustsSpec
        A level's ``musts`` (parsed at load).
    values : array_like, shape (units, checks)
        The value each check reads for each unit, in the order of ``spec.checks`` (NaN where not
        reported: the check fails; the engine has applied ``musts.missing`` before).
    ids, names : sequence of str
        Unit ids and names.

    Returns
    -------
    MustResults

    Notes
    -----
    A check passes by the engine's ``passfail`` rule (:func:`check_musts`); a must passes when
    all its checks pass. A unit's deduction is ``Σ_m deduct_m [must m failed]``; it is vetoed
    when a failed must has ``veto``. How they enter the total is the engine's (``(base −
    deductions) × coefficient``, the veto score where vetoed; see
    :func:`assesskit.engine.review.level_adjustments`).

    Examples
    --------
    >>> from assesskit.scheme.review import Must, MustCheck, MustsSpec
    >>> c = (MustCheck("staff", 1, "staff", ">=", 1, "at least 1", "k"),
    ...      MustCheck("staff", 2, "staff", "<=", 2, "at most 2", "k"))
    >>> spec = MustsSpec({"staff": Must("staff", "专人专职", c, False, 5.0, "k")})
    >>> r = evaluate_musts(spec, [[1, 1], [3, 3]], ["A", "B"])
    >>> r.deduction.tolist(), r.vetoed.tolist()
    ([0.0, 5.0], [False, False])
    """
    checks = spec.checks
    musts = list(spec.musts.values())
    x = np.asarray(values, dtype=float)
    n_u, n_c = x.shape
    ids = np.asarray(list(ids), dtype=object)
    names = ids if names is None else np.asarray(list(names), dtype=object)
    keys = [m.key for m in musts]
    midx = pd.Index(keys).get_indexer([c.must for c in checks])
    passed, must_ok = check_musts(x, [c.op for c in checks], [c.threshold for c in checks], midx,
                                  len(musts))
    veto_m = np.array([m.veto for m in musts])
    ded_m = np.array([m.deduct for m in musts], dtype=float)
    deduction = (~must_ok).astype(float) @ ded_m
    vetoed = ((~must_ok) & veto_m[None, :]).any(axis=-1)
    label_of = {m.key: m.label for m in musts}
    check_table = pd.DataFrame({
        "unit": np.repeat(ids, n_c), "name": np.repeat(names, n_c),
        "must": np.tile(np.asarray([c.must for c in checks], dtype=object), n_u),
        "must_label": np.tile(np.asarray([label_of[c.must] for c in checks], dtype=object), n_u),
        "check": np.tile(np.asarray([c.number for c in checks]), n_u),
        "label": np.tile(np.asarray([c.label for c in checks], dtype=object), n_u),
        "indicator": np.tile(np.asarray([c.indicator for c in checks], dtype=object), n_u),
        "value": x.ravel(), "op": np.tile(np.asarray([c.op for c in checks], dtype=object), n_u),
        "threshold": np.tile(np.asarray([c.threshold for c in checks], dtype=float), n_u),
        "passed": passed.ravel()})
    # the failed checks of each (unit, must), as people read them: label, value, threshold
    failed = check_table[~check_table["passed"]]
    text = (failed["label"] + " " + failed["indicator"] + " = " + failed["value"].map(_fmt)
            + " (must be " + failed["op"] + " " + failed["threshold"].map(_fmt) + ")")
    detail = text.groupby([failed["unit"], failed["must"]], sort=False).agg("; ".join)
    consequence = np.asarray([m.consequence for m in musts], dtype=object)
    must_table = pd.DataFrame({
        "unit": np.repeat(ids, len(musts)), "name": np.repeat(names, len(musts)),
        "must": np.tile(np.asarray(keys, dtype=object), n_u),
        "must_label": np.tile(np.asarray([m.label for m in musts], dtype=object), n_u),
        "passed": must_ok.ravel(),
        "consequence": np.where(must_ok.ravel(), "", np.tile(consequence, n_u))})
    index = pd.MultiIndex.from_frame(must_table[["unit", "must"]])
    must_table["detail"] = detail.reindex(index).fillna("").to_numpy(dtype=object)
    return MustResults(check_table, must_table, deduction, vetoed)


def explain_musts(result: MustResults, unit: str) -> str:
    """Text naming each failed must of a unit, the value and the threshold of each failed check.

    Examples
    --------
    ``必须专人专职 (staffing) failed: 脱贫攻坚办公室3—5人（下限） office_staff = 2 (must be >= 3)
    → deduct 5 points``
    """
    failed = result.failed(unit)
    if failed.empty:
        return f"{unit}: every must passed"
    return "\n".join(f"{r.must_label} ({r.must}) failed: {r.detail} → {r.consequence}"
                     for r in failed.itertuples())


def _file_name(path: str) -> str:
    """A file's name without the folders (notices end up in reports: no machine's paths)."""
    return str(path).replace("\\", "/").rsplit("/", 1)[-1]


def _fmt(x: float) -> str:
    return "missing" if not np.isfinite(x) else f"{x:g}"
