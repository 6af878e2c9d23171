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

Interim status
--------------
The scheme layer does not parse the ``review:``, ``musts:`` and ``linked:`` keys yet (proposed in
``docs/drafts/review-and-constraints.md``). Until it does, :func:`review_spec` and
:func:`musts_spec` check those blocks here (raising :class:`~assesskit.errors.SchemeError` with
the key) and :func:`grade_by_threshold` holds the minimal grade-by-threshold rule for arrays
with a draws axis; the engine's own grade rule should take it over.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from ..data.model import Dataset, normalise_period
from ..data.ratings import draw_reporters  # the draw is part of the data's procedure
from ..errors import DataError, Notice, Problem, SchemeError
from .scoring import passfail

__all__ = [
    "ATTENDS",
    "MISSING_SHEET_POLICIES",
    "Panel",
    "ReviewResult",
    "ReviewSpec",
    "Sheets",
    "MustsSpec",
    "bootstrap_weights",
    "check_grade_bands",
    "check_musts",
    "draw_reporters",
    "evaluate_musts",
    "evaluate_review",
    "grade_by_threshold",
    "identical_raters",
    "linked_deductions",
    "linked_units",
    "cap_grades",
    "musts_spec",
    "redraw_masks",
    "review_panel",
    "review_scores",
    "review_spec",
    "scheme_path",
    "sheet_points",
    "sheets_from_ratings",
]

#: Which sessions a rater group attends (rates): ``all`` every session; ``plenary_and_own`` the
#: plenary and the session of the group of the rater's own unit (a township leader); ``own`` only
#: the session the rater's own unit reported in (a fellow secretary).
ATTENDS = ("all", "plenary_and_own", "own")

#: What happens when an expected rating sheet is absent, or a sheet lacks an aspect:
#: ``renormalise`` — the mean is taken over the sheets (aspects) present, and a rater group with
#: no sheet at all for a ratee is left out with the other group weights re-normalised; ``error``
#: — a :class:`DataError` listing every missing sheet.
MISSING_SHEET_POLICIES = ("renormalise", "error")

PLENARY = "plenary"


# ============================================================================ specification
@dataclass(frozen=True)
class ReviewSpec:
    """A rater-based review, as plain data (the ``review:`` block of a level plus its grades).

    Attributes
    ----------
    level : str
        Dataset level of the rated units (``official``).
    points : dict
        Grade -> points, best grade first (``{好: 100, 较好: 80, 一般: 60, 差: 40}``).
    aspects : dict
        Aspect code -> ``{label, weight}``.
    rater_groups : dict
        Group key -> ``{label, weight, attends}``.
    draw_k, draw_seed : int
        Number of reporters drawn for the plenary and the seed of the draw.
    session_by : str
        Units column whose value names a non-drawn ratee's group session.
    exclude_self : bool
        Leave out a rater's rating of their own unit (a secretary rating themself).
    missing_sheet : str
        One of :data:`MISSING_SHEET_POLICIES`.
    identical_raters : str
        ``flag`` (list raters who give everyone the same grade) or ``exclude`` (also leave them
        out of the scores).
    grades : list of (float, str)
        Grade bands ``[[threshold, label], ...]`` best first, by score.
    link : dict
        ``{column, level, when, bar_awards, cap_grade, deduct, cap}`` of the consequence on a
        linked unit, or empty.
    source : str
        File the spec came from, for messages.
    """

    level: str
    points: dict
    aspects: dict
    rater_groups: dict
    draw_k: int
    draw_seed: int
    session_by: str = "group"
    exclude_self: bool = True
    missing_sheet: str = "renormalise"
    identical_raters: str = "flag"
    grades: list = field(default_factory=list)
    link: dict = field(default_factory=dict)
    source: str | None = None
    key: str = "review"

    @property
    def score_range(self) -> tuple[float, float]:
        """Lowest and highest score a ratee can get: the points of the worst and best grade."""
        p = list(self.points.values())
        return float(min(p)), float(max(p))


def _need(body: Mapping, name: str, key: str, source, kind=None):
    if name not in body:
        raise SchemeError(f"missing key {name!r}", key=f"{key}.{name}", source=source)
    value = body[name]
    if kind is not None and not isinstance(value, kind):
        raise SchemeError(f"{name!r} must be a {kind.__name__ if isinstance(kind, type) else kind}",
                          key=f"{key}.{name}", source=source)
    return value


def _number(value, key: str, source, *, positive=False, integer=False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SchemeError(f"must be a number, not {value!r}", key=key, source=source)
    if integer and int(value) != value:
        raise SchemeError(f"must be a whole number, not {value!r}", key=key, source=source)
    if positive and value <= 0:
        raise SchemeError(f"must be positive, not {value!r}", key=key, source=source)
    if value < 0:
        raise SchemeError(f"must not be negative, not {value!r}", key=key, source=source)
    return value


def scheme_path(scheme: str | Path) -> Path:
    """A scheme file: a path, or a name looked up in the built-in schemes, then in the drafts.

    Interim: the draft schemes of rater-based reviews and musts live in ``docs/drafts/`` of a
    source checkout until the scheme layer can load them as built-ins.

    Raises
    ------
    SchemeError
        If no such file exists (the places searched are named).
    """
    path = Path(scheme)
    if path.is_file():
        return path
    name = path.name if path.suffix == ".yaml" else f"{path.name}.yaml"
    package = Path(__file__).resolve().parents[1]
    places = [package / "scheme" / "builtin" / name, package.parent / "docs" / "drafts" / name]
    for place in places:
        if place.is_file():
            return place
    raise SchemeError(f"no scheme file {str(scheme)!r}; looked for a path and for {name} among "
                      "the built-in schemes and docs/drafts")


def review_spec(scheme: Mapping | str | Path, level: str | None = None) -> ReviewSpec:
    """Read and check the ``review:`` block of a level of a scheme (interim parser).

    Parameters
    ----------
    scheme : mapping, str or Path
        A scheme as a dict, the path of a YAML file (read with :func:`yaml.safe_load`) or a
        scheme name (:func:`scheme_path`).
    level : str, optional
        The level holding ``review:``; default the first level that has one.

    Returns
    -------
    ReviewSpec

    Raises
    ------
    SchemeError
        Naming the key: a missing or malformed key, an unknown ``attends`` or policy, weights
        that do not sum to 1, points that do not decrease, and grade bands that leave a grade
        empty by construction (see :func:`check_grade_bands`).
    """
    source = None
    if isinstance(scheme, str | Path):
        path = scheme_path(scheme)
        source = path.name
        try:
            scheme = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise SchemeError(f"malformed YAML: {exc}", source=source) from None
    levels = scheme.get("levels") or {}
    if level is None:
        level = next((k for k, v in levels.items() if isinstance(v, Mapping) and "review" in v),
                     None)
        if level is None:
            raise SchemeError("no level has a 'review:' block", key="levels", source=source)
    lv = levels.get(level)
    if not isinstance(lv, Mapping) or "review" not in lv:
        raise SchemeError(f"level {level!r} has no 'review:' block", key=f"levels.{level}",
                          source=source)
    key = f"levels.{level}.review"
    body = lv["review"]
    known = {"draw", "points", "aspects", "rater_groups", "exclude_self", "missing_sheet",
             "identical_raters", "note"}
    unknown = sorted(set(body) - known)
    if unknown:
        raise SchemeError(f"unknown key(s) {unknown}; a review takes {sorted(known)}",
                          key=f"{key}.{unknown[0]}", source=source)

    draw = _need(body, "draw", key, source, Mapping)
    k = int(_number(_need(draw, "k", f"{key}.draw", source), f"{key}.draw.k", source,
                    positive=True, integer=True))
    seed = int(_number(_need(draw, "seed", f"{key}.draw", source), f"{key}.draw.seed", source,
                       integer=True))
    session_by = str(draw.get("session_by", "group"))

    points = _need(body, "points", key, source, Mapping)
    if len(points) < 2:
        raise SchemeError("give points for at least two grades", key=f"{key}.points",
                          source=source)
    pts = [_number(v, f"{key}.points.{g}", source) for g, v in points.items()]
    if any(a <= b for a, b in zip(pts, pts[1:], strict=False)):
        raise SchemeError("points per grade must decrease, best grade first "
                          f"(got {dict(points)})", key=f"{key}.points", source=source)

    aspects = {}
    for code, a in _need(body, "aspects", key, source, Mapping).items():
        a = a if isinstance(a, Mapping) else {"weight": a}
        w = _number(a.get("weight", 1), f"{key}.aspects.{code}.weight", source)
        aspects[str(code)] = {"label": str(a.get("label", code)), "weight": float(w)}
    _weights_sum(aspects, f"{key}.aspects", source)

    groups = {}
    for g, body_g in _need(body, "rater_groups", key, source, Mapping).items():
        if not isinstance(body_g, Mapping):
            raise SchemeError("a rater group is a mapping {label, weight, attends}",
                              key=f"{key}.rater_groups.{g}", source=source)
        attends = body_g.get("attends", "all")
        if attends not in ATTENDS:
            raise SchemeError(f"attends must be one of {', '.join(ATTENDS)}, not {attends!r}",
                              key=f"{key}.rater_groups.{g}.attends", source=source)
        w = _number(_need(body_g, "weight", f"{key}.rater_groups.{g}", source),
                    f"{key}.rater_groups.{g}.weight", source)
        groups[str(g)] = {"label": str(body_g.get("label", g)), "weight": float(w),
                          "attends": attends}
    _weights_sum(groups, f"{key}.rater_groups", source)

    missing = body.get("missing_sheet", "renormalise")
    if missing not in MISSING_SHEET_POLICIES:
        raise SchemeError(f"missing_sheet must be one of {', '.join(MISSING_SHEET_POLICIES)}, "
                          f"not {missing!r}", key=f"{key}.missing_sheet", source=source)
    identical = body.get("identical_raters", "flag")
    if identical not in ("flag", "exclude"):
        raise SchemeError(f"identical_raters must be flag or exclude, not {identical!r}",
                          key=f"{key}.identical_raters", source=source)

    spec = ReviewSpec(level=str((lv.get("units") or {}).get("level", level)), points=dict(points),
                      aspects=aspects, rater_groups=groups, draw_k=k, draw_seed=seed,
                      session_by=session_by, exclude_self=bool(body.get("exclude_self", True)),
                      missing_sheet=missing, identical_raters=identical, source=source, key=key)
    grades = lv.get("grades")
    if grades:
        gkey = f"levels.{level}.grades"
        if grades.get("by", "score") != "score":
            raise SchemeError("a review grades by score thresholds (by: score)", key=f"{gkey}.by",
                              source=source)
        bands = [(float(_number(b[0], f"{gkey}.bands", source)), str(b[1]))
                 for b in _need(grades, "bands", gkey, source, list)]
        check_grade_bands(bands, *spec.score_range, key=f"{gkey}.bands", source=source)
        spec = _replace(spec, grades=bands)
    link = lv.get("linked")
    if link:
        spec = _replace(spec, link=dict(link))
    return spec


def _replace(spec: ReviewSpec, **changes) -> ReviewSpec:
    from dataclasses import replace

    return replace(spec, **changes)


def _weights_sum(parts: Mapping, key: str, source) -> None:
    total = sum(p["weight"] for p in parts.values())
    if abs(total - 1.0) > 1e-6:
        detail = ", ".join(f"{k}={p['weight']:g}" for k, p in parts.items())
        raise SchemeError(f"weights sum to {total:g}, not 1 ({detail}); fix the weights",
                          key=key, source=source)


# ============================================================================ grades
def check_grade_bands(bands: Sequence, lo: float, hi: float, *, key: str = "grades.bands",
                      source: str | None = None) -> None:
    """Refuse grade thresholds that leave a grade empty by construction.

    Parameters
    ----------
    bands : sequence of (threshold, label)
        Best grade first; the last band is the catch-all (its threshold is not used).
    lo, hi : float
        The lowest and highest score possible (points of the worst and best grade).
    key, source : str
        Where the bands are written, for the message.

    Raises
    ------
    SchemeError
        If thresholds do not strictly decrease, or a grade's score interval misses
        ``[lo, hi]``: the best grade needs ``t_0 <= hi``; grade ``j`` covers ``[t_j, t_{j-1})``
        and needs ``t_j <= hi`` and ``t_{j-1} > lo``; the last grade covers scores below
        ``t_{m-2}`` and needs ``t_{m-2} > lo``.

    Examples
    --------
    >>> check_grade_bands([(90, "优秀"), (75, "称职"), (60, "基本称职"), (0, "不称职")], 40, 100)
    >>> check_grade_bands([(90, "优秀"), (75, "称职"), (30, "基本称职"), (0, "不称职")], 40, 100)
    Traceback (most recent call last):
    ...
    assesskit.errors.SchemeError: key 'grades.bands': grade '不称职' can never be given: ...
    """
    if len(bands) < 2:
        raise SchemeError("give at least two grades", key=key, source=source)
    cuts = [float(b[0]) for b in bands]
    labels = [b[1] for b in bands]
    for a, b in zip(cuts[:-1], cuts[1:-1], strict=False):
        if a <= b:
            raise SchemeError(f"grade thresholds must decrease, best grade first (got {cuts})",
                              key=key, source=source)
    why = None
    if cuts[0] > hi:
        why = (labels[0], f"its threshold {cuts[0]:g} is above the highest possible score "
                          f"{hi:g}")
    for j in range(1, len(cuts) - 1):
        if why is None and cuts[j - 1] <= lo:
            why = (labels[j], f"the grade above it already covers every score down to the "
                              f"lowest possible score {lo:g} (threshold {cuts[j - 1]:g})")
    if why is None and cuts[-2] <= lo:
        why = (labels[-1], f"the threshold of {labels[-2]!r} ({cuts[-2]:g}) is at or below the "
                           f"lowest possible score {lo:g}, so no score falls below it")
    if why is not None:
        raise SchemeError(f"grade {why[0]!r} can never be given: {why[1]}; the scores run from "
                          f"{lo:g} to {hi:g}. Move the threshold inside that range",
                          key=key, source=source)


def grade_by_threshold(scores, bands: Sequence) -> np.ndarray:
    """Grade index of every score (0 = best band), vectorised over any leading axes.

    Parameters
    ----------
    scores : array_like
        Scores, any shape (``(draws, ratees)``).
    bands : sequence of (threshold, label)
        Best first; a score equal to a threshold reaches that grade; the last band catches every
        score below the others (as the engine's ``grades: {by: score}``).

    Returns
    -------
    ndarray of int
        Same shape as ``scores``: the band index; NaN scores get ``-1``.

    Notes
    -----
    ``index = #{j < m-1 : score < t_j}`` — the number of thresholds (all but the last band's)
    the score does not reach.

    Examples
    --------
    >>> grade_by_threshold([95, 90, 89.9, 10], [(90, "A"), (75, "B"), (0, "C")]).tolist()
    [0, 0, 1, 2]
    """
    x = np.asarray(scores, dtype=float)
    cuts = np.asarray([b[0] for b in bands[:-1]], dtype=float)
    idx = (x[..., None] < cuts).sum(axis=-1)
    return np.where(np.isfinite(x), idx, -1)


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


def sheets_from_ratings(data: Dataset, spec: ReviewSpec, period) -> Sheets:
    """Arrays of the rating sheets of one period, every rating checked against the spec.

    Parameters
    ----------
    data : Dataset
        With a ``ratings`` table.
    spec : ReviewSpec
    period : int or str

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
    ratees = units.loc[units["level"] == spec.level, "unit"].to_numpy(dtype=object)
    grades = list(spec.points)
    groups = list(spec.rater_groups)
    aspects = list(spec.aspects)
    problems = []
    checks = [("grade", grades, f"grade outside the scheme's scale {' / '.join(grades)} "
                                f"({spec.key}.points); write one of these grades"),
              ("aspect", aspects, f"unknown aspect; the scheme rates {', '.join(aspects)} "
                                  f"({spec.key}.aspects)"),
              ("rater_group", groups, f"unknown rater group; the scheme has "
                                      f"{', '.join(groups)} ({spec.key}.rater_groups)"),
              ("unit", list(ratees), f"the rated unit is not a unit of level {spec.level!r}, the "
                                     "level the review grades")]
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
                                f"review uses for group sessions ({spec.key}.draw.session_by)",
                                file=ufile, row=1))
    drawn = draw_reporters(sheets.ratees, spec.draw_k, spec.draw_seed, key=f"{spec.key}.draw.k",
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
                              where=sheets.file))

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
                                  where=sheets.file))
        if part:
            notices.append(Notice("incomplete_sheet_renormalised",
                                  f"{len(part)} sheet(s) lack an aspect; their score is the "
                                  f"weighted mean over the aspects rated: {', '.join(part)}",
                                  where=sheets.file))
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
        (``mean_<group>``), grade, sheets (number counted).
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


def evaluate_review(spec: ReviewSpec, data: Dataset, period) -> ReviewResult:
    """Run a rater-based review: draw, sessions, checks, sheet points, scores and grades.

    Parameters
    ----------
    spec : ReviewSpec
        From :func:`review_spec`.
    data : Dataset
        With units (ratees of ``spec.level`` and their ``session_by`` column) and ratings.
    period : int or str

    Returns
    -------
    ReviewResult

    Raises
    ------
    DataError
        Every check of :func:`sheets_from_ratings` and :func:`review_panel`.
    """
    sheets = sheets_from_ratings(data, spec, period)
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
                              f"aspect the same grade, {action}: {who}", where=sheets.file))
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
    if spec.grades:
        idx = grade_by_threshold(score, spec.grades)
        labels = np.asarray([b[1] for b in spec.grades], dtype=object)
        table["grade"] = np.where(idx >= 0, labels[np.maximum(idx, 0)], "")
    missing_groups = np.isnan(means) & np.isfinite(score)[:, None]
    if missing_groups.any():
        notices.append(Notice("rater_group_missing",
                              f"{int(missing_groups.any(axis=1).sum())} ratee(s) have no sheet "
                              "from some rater group; that group is left out of their score and "
                              "the other group weights re-normalised", where=sheets.file))
    names = units.loc[panel.drawn, "name"].tolist()
    log = [{"step": "draw", "level": spec.level, "period": sheets.period, "k": spec.draw_k,
            "seed": spec.draw_seed, "method": "numpy default_rng(seed).choice over sorted ids",
            "drawn": list(panel.drawn), "names": names},
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


def cap_grades(grade_index, capped, cap_index: int) -> np.ndarray:
    """Grade indices no better than ``cap_index`` where ``capped`` (0 = best grade).

    ``new = max(index, cap_index)`` on capped units, unchanged elsewhere: a leadership team whose
    secretary was graded 不称职 cannot be graded 好 (capped at 较好, index 1).

    Examples
    --------
    >>> cap_grades([0, 2, 0], [True, True, False], 1).tolist()
    [1, 2, 0]
    """
    g = np.asarray(grade_index)
    return np.where(np.asarray(capped, dtype=bool), np.maximum(g, cap_index), g)


# ============================================================================ musts (硬约束)
@dataclass(frozen=True)
class MustsSpec:
    """Pass/fail constraints of a level (``musts:``).

    Attributes
    ----------
    musts : dict
        Must key -> ``{label, on_fail: {veto: true} or {deduct: points}, checks: [...]}``; each
        check ``{indicator, at_least or at_most, label}``.
    missing : str
        ``error`` (a missing value stops the evaluation) or ``fail`` (it fails the check).
    """

    musts: dict
    missing: str = "error"
    source: str | None = None
    key: str = "musts"

    @property
    def checks(self) -> pd.DataFrame:
        """One row per check: must, must_label, check (number within the must), indicator,
        op (``>=``/``<=``), threshold, label, veto, deduct."""
        rows = []
        for m, body in self.musts.items():
            for j, c in enumerate(body["checks"]):
                op = ">=" if "at_least" in c else "<="
                rows.append({"must": m, "must_label": body["label"], "check": j + 1,
                             "indicator": c["indicator"], "op": op,
                             "threshold": float(c.get("at_least", c.get("at_most"))),
                             "label": c.get("label", c["indicator"]),
                             "veto": bool(body["on_fail"].get("veto", False)),
                             "deduct": float(body["on_fail"].get("deduct", 0.0))})
        return pd.DataFrame(rows)


def musts_spec(scheme: Mapping | str | Path, level: str | None = None) -> MustsSpec:
    """Read and check the ``musts:`` block of a level (interim parser, see the module notes).

    Raises
    ------
    SchemeError
        A must without checks or ``on_fail``, a check without exactly one of ``at_least`` /
        ``at_most``, a non-numeric threshold, an ``on_fail`` other than ``{veto: true}`` or
        ``{deduct: points}``.
    """
    source = None
    if isinstance(scheme, str | Path):
        path = scheme_path(scheme)
        source = path.name
        scheme = yaml.safe_load(path.read_text(encoding="utf-8"))
    levels = scheme.get("levels") or {}
    if level is None:
        level = next((k for k, v in levels.items() if isinstance(v, Mapping) and "musts" in v),
                     None)
    if level is None or "musts" not in (levels.get(level) or {}):
        raise SchemeError("no level has a 'musts:' block", key="levels", source=source)
    key = f"levels.{level}.musts"
    block = dict(levels[level]["musts"])
    missing = block.pop("missing", "error")
    if missing not in ("error", "fail"):
        raise SchemeError(f"missing must be error or fail, not {missing!r}", key=f"{key}.missing",
                          source=source)
    musts = {}
    for m, body in block.items():
        mk = f"{key}.{m}"
        if not isinstance(body, Mapping):
            raise SchemeError("a must is a mapping {label, checks, on_fail}", key=mk,
                              source=source)
        checks = _need(body, "checks", mk, source, list)
        if not checks:
            raise SchemeError("a must needs at least one check", key=f"{mk}.checks",
                              source=source)
        for j, c in enumerate(checks):
            ck = f"{mk}.checks[{j}]"
            if not isinstance(c, Mapping) or "indicator" not in c:
                raise SchemeError("a check is {indicator, at_least or at_most, label}", key=ck,
                                  source=source)
            if ("at_least" in c) == ("at_most" in c):
                raise SchemeError("give exactly one of at_least / at_most", key=ck,
                                  source=source)
            t = c.get("at_least", c.get("at_most"))
            if isinstance(t, bool) or not isinstance(t, int | float):
                raise SchemeError(f"the threshold must be a number, not {t!r}", key=ck,
                                  source=source)
        on_fail = _need(body, "on_fail", mk, source, Mapping)
        if not (on_fail.get("veto") is True and len(on_fail) == 1) and not (
                set(on_fail) == {"deduct"} and isinstance(on_fail["deduct"], int | float)
                and on_fail["deduct"] > 0):
            raise SchemeError("on_fail must be {veto: true} or {deduct: <points>}",
                              key=f"{mk}.on_fail", source=source)
        musts[str(m)] = {"label": str(body.get("label", m)), "checks": list(checks),
                         "on_fail": dict(on_fail)}
    return MustsSpec(musts=musts, missing=missing, source=source, key=key)


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


def evaluate_musts(spec: MustsSpec, data: Dataset, period, level: str,
                   base_scores=None) -> dict:
    """Check every must of every unit of a level, with the veto or deductions they carry.

    Parameters
    ----------
    spec : MustsSpec
    data : Dataset
    period : int or str
    level : str
        Dataset level of the units checked.
    base_scores : array_like, shape (..., units), optional
        Scores of a scored scheme to combine with: a failed must vetoes (score 0) or deducts its
        points from them.

    Returns
    -------
    dict
        ``units`` (ids), ``checks`` (tidy: unit, name, must, must_label, check, label, indicator,
        value, op, threshold, passed), ``musts`` (unit, name, must, must_label, passed,
        consequence), ``deduction`` and ``vetoed`` per unit, and ``scores`` (the combined score,
        if ``base_scores`` was given: ``0`` if vetoed, else ``max(0, base − Σ deductions)``).

    Raises
    ------
    DataError
        Under ``missing: error``, every unit and indicator without a value, naming the values
        file.
    """
    p = normalise_period(period)
    checks = spec.checks
    units = data.level_units(level)
    ids = units["unit"].to_numpy(dtype=object)
    wide = data.wide(p, units=ids, indicators=sorted(set(checks["indicator"])))
    vals = wide[checks["indicator"]].to_numpy(dtype=float)               # (units, checks)
    vfile = data.sources.get("values", "values")
    if spec.missing == "error" and np.isnan(vals).any():
        probs = [Problem(f"unit {ids[i]} has no value for {checks['indicator'][j]!r} in period "
                         f"{p}, which must {checks['must'][j]!r} checks ({spec.key}.missing is "
                         "'error'); supply it or set missing: fail", vfile, column="value")
                 for i, j in zip(*np.nonzero(np.isnan(vals)), strict=True)]
        raise DataError(probs, title="values missing for the musts")
    must_keys = list(spec.musts)
    midx = pd.Index(must_keys).get_indexer(checks["must"])
    passed, must_ok = check_musts(vals, checks["op"], checks["threshold"].to_numpy(), midx,
                                  len(must_keys))
    per_must = checks.drop_duplicates("must").set_index("must").loc[must_keys]
    veto_m = per_must["veto"].to_numpy()
    ded_m = per_must["deduct"].to_numpy()
    deduction = (~must_ok).astype(float) @ ded_m
    vetoed = ((~must_ok) & veto_m[None, :]).any(axis=-1)
    n_u, n_c = vals.shape
    names = units["name"].to_numpy(dtype=object)
    check_table = pd.DataFrame({
        "unit": np.repeat(ids, n_c), "name": np.repeat(names, n_c),
        "must": np.tile(checks["must"].to_numpy(dtype=object), n_u),
        "must_label": np.tile(checks["must_label"].to_numpy(dtype=object), n_u),
        "check": np.tile(checks["check"].to_numpy(), n_u),
        "label": np.tile(checks["label"].to_numpy(dtype=object), n_u),
        "indicator": np.tile(checks["indicator"].to_numpy(dtype=object), n_u),
        "value": vals.ravel(), "op": np.tile(checks["op"].to_numpy(dtype=object), n_u),
        "threshold": np.tile(checks["threshold"].to_numpy(), n_u), "passed": passed.ravel()})
    consequence = np.asarray(["veto 一票否决" if v else f"deduct {d:g} points"
                              for v, d in zip(veto_m, ded_m, strict=True)], dtype=object)
    must_table = pd.DataFrame({
        "unit": np.repeat(ids, len(must_keys)), "name": np.repeat(names, len(must_keys)),
        "must": np.tile(np.asarray(must_keys, dtype=object), n_u),
        "must_label": np.tile(per_must["must_label"].to_numpy(dtype=object), n_u),
        "passed": must_ok.ravel(),
        "consequence": np.where(must_ok.ravel(), "", np.tile(consequence, n_u))})
    out = {"units": ids, "checks": check_table, "musts": must_table, "deduction": deduction,
           "vetoed": vetoed}
    if base_scores is not None:
        base = np.asarray(base_scores, dtype=float)
        out["scores"] = np.where(vetoed, 0.0, np.maximum(0.0, base - deduction))
    return out


def explain_musts(result: dict, unit: str) -> str:
    """Text naming each failed must of a unit, the value and the threshold of each failed check.

    Examples
    --------
    ``必须专人专职 (staffing) failed: 专职工作人员 fulltime_staff = 3 (must be <= 2) → deduct 5 points``
    """
    c = result["checks"]
    c = c[(c["unit"] == unit) & ~c["passed"]]
    m = result["musts"]
    m = m[(m["unit"] == unit) & ~m["passed"]].set_index("must")
    if c.empty:
        return f"{unit}: every must passed"
    lines = []
    for must, part in c.groupby("must", sort=False):
        detail = "; ".join(f"{r.label} {r.indicator} = {_fmt(r.value)} (must be {r.op} "
                           f"{_fmt(r.threshold)})" for r in part.itertuples())
        lines.append(f"{part['must_label'].iloc[0]} ({must}) failed: {detail} → "
                     f"{m.loc[must, 'consequence']}")
    return "\n".join(lines)


def _fmt(x: float) -> str:
    return "missing" if not np.isfinite(x) else (f"{x:g}")
