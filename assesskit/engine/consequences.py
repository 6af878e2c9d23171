"""Quotas, grades, consequences and rules over several periods: the one implementation.

A scheme's consequences (奖惩) are of three kinds, all applied here as array operations over a
leading draws axis (``evaluate`` is one draw; the analyses stream many):

*quota* (``top: 3`` / ``bottom: 1``, per group, or per subgroup as on Sichuan's plateau)
    A top quota takes the units whose *place* — 1 + the eligible members of the quota's group
    ranked strictly better — is within the quota; vetoed units are not eligible and the next unit
    takes the place. A bottom quota takes the units whose place from the bottom — 1 + the members
    ranked strictly worse — is within the quota. Ties share a place (so a tie at the boundary can
    overfill a quota: ``ties.at_quota: exclude`` leaves out the units tied at the last place);
    under ``ties.method: first`` there are no ties. Places count positions whatever tie method
    the ranks *show* (dense ranks 1, 2, 2, 3 must not stretch a top-3 quota to four units).
    The tie-break nodes (``ties.break_by``) decide at the bottom as at the top.
*grade* (``grades: [一般, 较差]``)
    Every unit whose grade is listed receives the consequence, whatever other consequence it has
    (a county can be top-ranked and graded 一般: both are recorded).
*veto* (一票否决)
    See :mod:`assesskit.engine.level`: the total is replaced and the unit gets the lowest grade and
    no top-quota place.

A unit whose total is missing (NaN) never receives a consequence. Quota consequences of the same
level may not overlap: a unit that would be both praised and summoned is an error naming the
group (the quotas are larger than the group, or ties at both boundaries meet).

Outcomes are bit masks: bit ``c`` of a unit's outcome is set when it receives consequence ``c``
(in the scheme's order), so one small integer per unit and draw holds every consequence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import SchemeError
from .ranking import Groups, ranks_within

QUOTA_SIDES = ("top", "bottom")


# ---------------------------------------------------------------------- quota tables
@dataclass(frozen=True)
class QuotaRow:
    """One quota: consequence ``key`` takes ``n`` units from the ``side`` of a (sub)group."""

    key: str
    side: str
    group: str
    subgroup: str | None
    n: int


def quota_rows(key: str, side: str, raw, groups: pd.Series | None,
               subgroups: pd.Series | None, where: str, n: int) -> list[QuotaRow]:
    """Resolve a scheme's quota (``top:`` or ``bottom:``) on the units being ranked.

    Parameters
    ----------
    key, side : str
        Consequence key and ``"top"`` or ``"bottom"``.
    raw : int or dict
        As written in the scheme: a whole number for every group, or ``{group: n}`` or
        ``{group: {subgroup: n}}`` (``"*"`` is the pool when the level has no groups).
    groups, subgroups : pandas.Series or None
        Group and subgroup label of each unit (None: no groups / no subgroups).
    where : str
        Key path of the quota, for errors.
    n : int
        Number of units.

    Returns
    -------
    list of QuotaRow

    Raises
    ------
    SchemeError
        A group or subgroup that no unit belongs to, a quota larger than its group, a
        subgroup quota without subgroups.
    """
    labels = sorted(groups.astype(str).unique()) if groups is not None else [""]
    if isinstance(raw, bool) or not isinstance(raw, int | dict):
        raise SchemeError(f"a quota is a whole number of units (e.g. 3) or a mapping group -> "
                          f"whole number, not {raw!r}", key=where)
    if isinstance(raw, int):
        raw = {g: raw for g in labels}
    rows = []
    for group, n in raw.items():
        group = "" if group == "*" else str(group)
        if group not in labels:
            raise SchemeError(f"quota for group {group!r}, but no assessed unit is in that group "
                              f"(groups: {labels})", key=f"{where}.{group}")
        members = (groups.astype(str) == group).to_numpy() if groups is not None \
            else np.ones(n, bool)
        if isinstance(n, dict):
            if subgroups is None:
                raise SchemeError(f"quota for the subgroups of {group!r} needs ranking.subgroup_by "
                                  "(the units column holding the subgroups, e.g. subgroup)",
                                  key=f"{where}.{group}")
            for sub, m in n.items():
                size = int((members & (subgroups.astype(str) == str(sub)).to_numpy()).sum())
                if size == 0:
                    raise SchemeError(f"quota for subgroup {sub!r} of {group!r}, which has no unit",
                                      key=f"{where}.{group}.{sub}")
                _check_quota(m, size, f"subgroup {sub!r} of {group!r}", f"{where}.{group}.{sub}")
                rows.append(QuotaRow(key, side, group, str(sub), int(m)))
        else:
            size = int(members.sum())
            _check_quota(n, size, f"group {group!r}", f"{where}.{group}")
            rows.append(QuotaRow(key, side, group, None, int(n)))
    return rows


def _check_quota(n, size: int, what: str, where: str) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise SchemeError(f"the quota of {what} must be a whole number of units (0, 1, 2 ...), "
                          f"not {n!r}", key=where)
    if n > size:
        raise SchemeError(f"the quota {n} of {what} is larger than the {what.split()[0]} "
                          f"({size} units)", key=where)


def apportion(total: int, sizes: pd.Series) -> dict[str, int]:
    """Largest-remainder (Hamilton) apportionment of ``total`` places to groups of ``sizes``.

    Each group gets ``floor(total * n_g / N)``; the places left go to the largest remainders,
    ties to the larger group, then to the group that sorts first.

    Examples
    --------
    >>> apportion(15, pd.Series({"a": 10, "b": 11, "c": 18}))
    {'a': 4, 'b': 4, 'c': 7}
    """
    exact = total * sizes.to_numpy(dtype=float) / sizes.sum()
    seats = np.floor(exact).astype(int)
    left = total - int(seats.sum())
    order = sorted(range(len(sizes)), key=lambda i: (-(exact[i] - seats[i]), -sizes.iloc[i], i))
    for i in order[:left]:
        seats[i] += 1
    return {str(g): int(s) for g, s in zip(sizes.index, seats, strict=True)}


def scale_quota(raw, factor: float):
    """A quota spec (number, or mapping to numbers) multiplied and rounded half up."""
    if isinstance(raw, dict):
        return {g: scale_quota(v, factor) for g, v in raw.items()}
    return int(math.floor(factor * raw + 0.5))


# ---------------------------------------------------------------------- compiled quotas
@dataclass
class QuotaSide:
    """One consequence side resolved on the units: which row each unit is in, and the quotas.

    ``rows`` (n,) is the quota row of each unit (-1: no quota applies to it), ``quota``
    (n_rows,) the places, ``row_groups`` the rows as comparison groups (units outside every
    row in a group of their own).
    """

    consequence: int
    key: str
    side: str
    table: list  # of QuotaRow
    rows: np.ndarray
    quota: np.ndarray
    row_groups: Groups

    @classmethod
    def build(cls, consequence: int, table: list, groups: pd.Series | None,
              subgroups: pd.Series | None, n: int) -> QuotaSide:
        rows = np.full(n, -1, np.int64)
        g = groups.astype(str).to_numpy() if groups is not None else np.full(n, "")
        s = subgroups.astype(str).to_numpy() if subgroups is not None else None
        for r, row in enumerate(table):
            inside = g == row.group
            if row.subgroup is not None:
                inside &= s == row.subgroup
            rows[inside] = r
        quota = np.array([row.n for row in table], np.int64)
        return cls(consequence, table[0].key, table[0].side, table, rows, quota,
                   Groups(np.where(rows >= 0, rows, len(table)),
                          tuple(range(len(table) + 1))))

    def same_as(self, groups: Groups) -> bool:
        """Whether the quota rows are exactly the comparison groups (no unit outside a row)."""
        if (self.rows < 0).any() or len(self.table) != groups.n_groups:
            return False
        return Groups(self.rows, tuple(range(len(self.table)))).same_partition(groups)

    def with_quota(self, quota) -> QuotaSide:
        """The same rows with other quotas (a quota multiplier)."""
        return QuotaSide(self.consequence, self.key, self.side, self.table, self.rows,
                         np.asarray(quota, np.int64), self.row_groups)


def check_overlap(sides: list[QuotaSide], groups: Groups, subgroups: Groups | None,
                  where: str) -> None:
    """Quotas of one group (and of one subgroup) may not add up to more than its units."""
    for grouping, what in ((groups, "group"), (subgroups, "subgroup")):
        if grouping is None:
            continue
        need = np.zeros(grouping.n_groups, np.int64)
        for side in sides:
            for r, row in enumerate(side.table):
                if what == "subgroup" and row.subgroup is None:
                    continue
                members = np.flatnonzero(side.rows == r)
                if len(members):
                    need[grouping.codes[members[0]]] += side.quota[r]
        over = np.flatnonzero(need > grouping.sizes)
        if len(over):
            code = over[0]
            raise SchemeError(f"the quotas of {what} {grouping.labels[code]!r} add up to "
                              f"{int(need[code])}, more than its {int(grouping.sizes[code])} "
                              "units; a unit cannot be both praised and summoned", key=where)


def quota_places(keys: list[np.ndarray], side: QuotaSide, eligible: np.ndarray,
                 tie_method: str, unit_order: np.ndarray) -> np.ndarray:
    """Place (d, n) of each unit within its quota row, counted from the quota's side.

    ``keys`` are the ranking keys (total, then tie-break nodes); units not ``eligible``
    (vetoed, for a top quota; a missing total) are not counted and get no place (``inf``).
    """
    strict = "first" if tie_method == "first" else "min"
    n = side.rows.shape[0]
    codes = np.where(eligible & (side.rows >= 0), side.rows, len(side.table))
    rows = Groups(codes, tuple(range(len(side.table) + 1)))
    if side.side == "top":
        place = ranks_within(keys, rows, strict, unit_order)
    else:
        place = ranks_within(keys, rows, strict, unit_order, bottom=True)[1]
    return np.where((codes < len(side.table))[None, :], place, np.inf) if n else place


def select(place: np.ndarray, side: QuotaSide, exclude_at_quota: bool) -> np.ndarray:
    """Units (d, n) a quota takes, from their places; ``at_quota: exclude`` drops the units
    tied at the last place when ties overfill a row."""
    member = side.rows >= 0
    limit = np.where(member, side.quota[np.maximum(side.rows, 0)], 0)
    chosen = member[None, :] & (place <= limit[None, :]) & (limit[None, :] > 0)
    if not exclude_at_quota or not chosen.any():
        return chosen
    d, _ = chosen.shape
    r = len(side.quota)
    cell = np.arange(d)[:, None] * r + np.maximum(side.rows, 0)[None, :]
    count = np.bincount(cell[chosen], minlength=d * r)
    last = np.full(d * r, -np.inf)
    np.maximum.at(last, cell[chosen], place[chosen])
    over = count > np.tile(side.quota, d)
    return chosen & ~(over[cell] & (place == last[cell]))


# ---------------------------------------------------------------------- grades
@dataclass(frozen=True)
class GradeRule:
    """Grades (等次) by score thresholds or by the share of the group ranked at or above.

    ``labels`` best first; ``cuts`` the threshold of each label (scores, decreasing) or the
    cumulative share of the group (increasing). The last label is a catch-all.
    """

    by: str
    labels: tuple
    cuts: np.ndarray

    @classmethod
    def from_spec(cls, grades: dict) -> GradeRule:
        bands = grades["bands"]
        return cls(grades.get("by", "score"), tuple(str(b[1]) for b in bands),
                   np.asarray([b[0] for b in bands], float))

    def index(self, total: np.ndarray, rank: np.ndarray, group_size: np.ndarray,
              vetoed: np.ndarray) -> np.ndarray:
        """Grade number (d, n) of each unit (0 = best; -1 where the total is missing).

        By score, a score equal to a threshold reaches that grade. By share, a unit ranked
        ``r`` of ``n`` is in the top ``r / n`` of its group and gets the first grade whose
        cumulative share is at least that. Vetoed units get the last grade.
        """
        last = len(self.labels) - 1
        if self.by == "score":
            idx = np.searchsorted(-self.cuts, -np.nan_to_num(total, nan=-np.inf), side="left")
        else:
            frac = rank / group_size[None, :]
            idx = np.searchsorted(self.cuts, frac - 1e-12, side="left")
        idx = np.where(np.broadcast_to(vetoed, np.shape(total)), last, np.minimum(idx, last))
        return np.where(np.isfinite(total), idx, -1)

    def score_index(self, total: np.ndarray, vetoed=False) -> np.ndarray:
        """Grade numbers of scores (any shape, e.g. (draws, n)) under a by-score rule.

        The same rule as :meth:`index` without ranks (grades by score need none): used by the
        bootstrap of a rater-based review, which grades many draws of scores at once.

        Examples
        --------
        >>> rule = GradeRule("score", ("优秀", "称职", "不称职"), np.array([90.0, 70.0, 0.0]))
        >>> rule.score_index(np.array([[95, 90, 89.9, 10]])).tolist()
        [[0, 0, 1, 2]]
        """
        if self.by != "score":
            raise SchemeError("grades by share need the ranks of the units (use index)",
                              key="grades.by")
        return self.index(np.asarray(total, float), None, None, vetoed)

    @staticmethod
    def capped(index: np.ndarray, cap: np.ndarray) -> np.ndarray:
        """Grade numbers no better than ``cap`` (per unit; 0 = no cap, the best grade allowed).

        ``max(index, cap)`` where a grade was given (``index >= 0``): a sending unit whose first
        secretary was graded 不称职 cannot be graded 好 (cap 1: 较好 at best).

        Examples
        --------
        >>> GradeRule.capped(np.array([[0, 2, 0, -1]]), np.array([1, 1, 0, 1])).tolist()
        [[1, 2, 0, -1]]
        """
        return np.where(index >= 0, np.maximum(index, cap), index)


# ---------------------------------------------------------------------- several periods
def streaks(condition: np.ndarray) -> np.ndarray:
    """Length of the run of consecutive periods in which ``condition`` holds, ending at each.

    Parameters
    ----------
    condition : ndarray of bool, shape (periods, ...)
        Periods in order along the first axis.

    Returns
    -------
    ndarray of int, same shape.

    Examples
    --------
    >>> streaks(np.array([True, True, False, True])).tolist()
    [1, 2, 0, 1]
    """
    condition = np.asarray(condition, bool)
    p = np.arange(condition.shape[0]).reshape((-1,) + (1,) * (condition.ndim - 1))
    last_break = np.maximum.accumulate(np.where(condition, -1, p), axis=0)
    return np.where(condition, p - last_break, 0)


# ---------------------------------------------------------------------- a level's decisions
class Decisions:
    """Ranks, grades and consequences of a batch of draws (arrays of shape (d, n)).

    ``sorted`` (a :class:`~assesskit.engine.ranking.SortedRanks` of the group ranking) is set
    when the decisions were taken in sorted order; ``group_rank`` is then scattered back to the
    units only when asked for.
    """

    def __init__(self, rank, group_rank, subgroup_rank, grade, outcome, sorted=None):
        self._rank, self._group_rank = rank, group_rank
        self.subgroup_rank, self.grade, self.outcome, self.sorted = (subgroup_rank, grade,
                                                                      outcome, sorted)

    @property
    def group_rank(self) -> np.ndarray:
        """Rank within the group (1 = best)."""
        if self._group_rank is None:
            self._group_rank = self.sorted.scatter(self.sorted.ranked)
        return self._group_rank

    @property
    def rank(self) -> np.ndarray:
        """Rank within the level (the group rank when the level has no groups)."""
        return self.group_rank if self._rank is None else self._rank


class LevelDecisions:
    """The ranking, quota, grade and consequence rules of one level, compiled once.

    Built from a level's spec (its ``ranking``, ``consequences`` and ``grades``) and the units
    with their comparison groups; :meth:`decide` applies them to the totals of any number of
    draws. ``evaluate`` and every analysis use this one implementation.

    Parameters
    ----------
    spec : LevelSpec
        The level (or a variant of it: other groups, other quotas).
    ids : sequence of str
        Unit ids, in the order of the totals.
    groups, subgroups : pandas.Series or None
        Group and subgroup label of each unit (None: none).
    node_index : callable
        Node id -> column in the node scores (for ``ties.break_by``).
    grade_cap : ndarray of int, shape (n,), optional
        The best grade number each unit can get (0: no cap), from a consequence on a linked
        unit of another level (:mod:`assesskit.engine.review`).
    """

    def __init__(self, spec, ids, groups: pd.Series | None, subgroups: pd.Series | None,
                 node_index, grade_cap: np.ndarray | None = None):
        from .ranking import SCORE_DECIMALS, id_order

        self.spec = spec
        n = len(ids)
        self.n = n
        ties = spec.ranking.get("ties", {}) or {}
        self.tie_method = ties.get("method", "min")
        self.decimals = int(ties.get("decimals", SCORE_DECIMALS))
        self.break_by = [node_index(nid) for nid in ties.get("break_by", []) or []]
        self.exclude_at_quota = ties.get("at_quota", "include") == "exclude"
        self.unit_order = id_order(ids)
        self.groups_labels = groups
        self.groups = Groups.from_labels(groups) if groups is not None else Groups.pooled(n)
        self.pooled = Groups.pooled(n)
        self.has_groups = groups is not None
        if subgroups is not None:
            blank = subgroups.astype(str).str.strip() == ""
            self.has_subgroup = ~blank.to_numpy()
            labels = subgroups.astype(str)
            if groups is not None:
                labels = groups.astype(str) + "\x1f" + labels
            self.subgroups = Groups.from_labels(labels)
        else:
            self.has_subgroup = None
            self.subgroups = None
        self.keys = [k for k, b in spec.consequences.items() if k != "veto" and isinstance(b, dict)]
        self.labels = [str(spec.consequences[k].get("label", k)) for k in self.keys]
        where = f"levels.{spec.level}.consequences"
        self.sides: list[QuotaSide] = []
        for c, key in enumerate(self.keys):
            body = spec.consequences[key]
            for side in QUOTA_SIDES:
                if body.get(side) is None:
                    continue
                table = quota_rows(key, side, body[side], groups, subgroups,
                                   f"{where}.{key}.{side}", n)
                if table:
                    self.sides.append(QuotaSide.build(c, table, groups, subgroups, n))
        check_overlap(self.sides, self.groups, self.subgroups, where)
        self.grade_rule = GradeRule.from_spec(spec.grades) if spec.grades else None
        self.grade_cap = grade_cap if grade_cap is not None and np.any(grade_cap) else None
        self.grade_consequences = {}
        for c, key in enumerate(self.keys):
            wanted = spec.consequences[key].get("grades")
            if wanted is not None:
                wanted = wanted if isinstance(wanted, list) else [wanted]
                self.grade_consequences[c] = np.array(
                    [lab in [str(w) for w in wanted] for lab in self.grade_rule.labels])
        self.bits = np.uint8 if len(self.keys) <= 8 else np.uint16 if len(self.keys) <= 16 \
            else np.uint32

    def _sortable(self, finite: np.ndarray, vetoed: np.ndarray) -> bool:
        """Whether the quotas can be chosen in sorted order: every total present, no veto,
        every quota on whole groups, no ties dropped at a quota boundary."""
        if getattr(self, "_same_rows", None) is None:
            self._same_rows = all(s.same_as(self.groups) for s in self.sides)
            self._limits = {id(s): _limits(s, self.groups) for s in self.sides} \
                if self._same_rows else {}
        return (self._same_rows and not self.exclude_at_quota and bool(finite.all())
                and not np.any(vetoed))

    def _decide_sorted(self, total, tiebreak, keys, vetoed, run_offset) -> Decisions:
        """:meth:`decide` for analyses, in sorted order: the group ranking is sorted once and
        each quota takes the places within its group's run; only the consequence bits (one
        byte per unit) are put back at the units' positions."""
        from .ranking import sorted_ranks

        s = sorted_ranks(keys, self.groups, self.tie_method, self.unit_order)
        d, n = total.shape
        chosen_any = np.zeros((d, n), bool)
        out_sorted = np.zeros((d, n), self.bits)
        for side in self.sides:
            place = s.top if side.side == "top" else s.bottom
            limit = self._limits[id(side)]
            chosen = (place <= limit[None, :]) & (limit[None, :] > 0)
            clash = chosen & chosen_any
            if clash.any():  # let the general path name the unit
                return self.decide(total, tiebreak, vetoed, run_offset, display=True)
            chosen_any |= chosen
            out_sorted[chosen] |= self.bits(1 << side.consequence)
        outcome = s.scatter(out_sorted, dtype=self.bits)
        grade, group_rank = None, None
        if self.grade_rule is not None:
            group_rank = s.scatter(s.ranked)
            grade = self.grade_rule.index(total, group_rank, self.groups.unit_size, vetoed)
            if self.grade_cap is not None:  # a linked consequence caps the grade
                grade = self.grade_rule.capped(grade, self.grade_cap)
            for c, mask in self.grade_consequences.items():
                hit = (grade >= 0) & mask[np.maximum(grade, 0)]
                outcome |= np.where(hit, self.bits(1 << c), self.bits(0))
        return Decisions(None, group_rank, None, grade, outcome, sorted=s)

    def ranking_keys(self, total: np.ndarray, tiebreak: list[np.ndarray]) -> list[np.ndarray]:
        """Integer ranking keys: the total, then the tie-break node scores."""
        from .ranking import score_keys

        return [score_keys(total, self.decimals)] + [score_keys(t, self.decimals) for t in tiebreak]

    def decide(self, total: np.ndarray, tiebreak: list[np.ndarray], vetoed: np.ndarray,
               run_offset: int = 0, display: bool = True) -> Decisions:
        """Ranks, grades and consequences of totals (d, n).

        Parameters
        ----------
        total : ndarray (d, n)
        tiebreak : list of ndarray (d, n)
            Scores of the ``ties.break_by`` nodes, in order.
        vetoed : ndarray of bool (n,) or (d, n)
        run_offset : int
            Number of the first draw (for messages).
        display : bool
            Also compute the ranks only shown to people (over the whole level, within subgroups);
            an analysis that needs outcomes and group ranks only passes False.
        """
        total = np.atleast_2d(total)
        d, n = total.shape
        keys = self.ranking_keys(total, tiebreak)
        finite = np.isfinite(total)
        if not display and self._sortable(finite, vetoed):
            return self._decide_sorted(total, tiebreak, keys, np.broadcast_to(vetoed, (d, n)),
                                       run_offset)
        rank = ranks_within(keys, self.pooled, self.tie_method, self.unit_order) \
            if display and self.has_groups else None
        # the group ranks and, from the same sort, the places that quotas on whole groups use
        group_rank, top_place, bottom_place = ranks_within(
            keys, self.groups, self.tie_method, self.unit_order, places=True)
        if rank is None:
            rank = group_rank
        sub_rank = None
        if display and self.subgroups is not None:
            sub_rank = ranks_within(keys, self.subgroups, self.tie_method, self.unit_order)
            sub_rank = np.where(self.has_subgroup[None, :], sub_rank, np.nan)
        vetoed = np.broadcast_to(vetoed, (d, n))
        grade = None
        if self.grade_rule is not None:
            grade = self.grade_rule.index(total, group_rank, self.groups.unit_size, vetoed)
            if self.grade_cap is not None:  # a linked consequence caps the grade
                grade = self.grade_rule.capped(grade, self.grade_cap)
        outcome = np.zeros((d, n), self.bits)
        quota_taken = np.zeros((d, n), bool)
        quota_key = np.full((d, n), -1, np.int64)
        all_finite = bool(finite.all())
        for side in self.sides:
            eligible = finite & (~vetoed if side.side == "top" else True)
            if all_finite and side.same_as(self.groups) and (side.side == "bottom"
                                                             or not vetoed.any()):
                place = top_place if side.side == "top" else bottom_place
                place = np.where((side.rows >= 0)[None, :], place, np.inf)
            else:
                place = _places(keys, side, eligible, self.tie_method, self.unit_order)
            chosen = select(place, side, self.exclude_at_quota)
            clash = chosen & quota_taken & (quota_key != side.consequence)
            if clash.any():
                r, i = np.argwhere(clash)[0]
                other = self.keys[quota_key[r, i]]
                run = f"run {run_offset + r}: " if d > 1 or run_offset else ""
                raise SchemeError(
                    f"{run}unit {i} falls under two consequences ({other!r} and {side.key!r}); "
                    "the quotas of its group overlap (ties at both boundaries, or quotas larger "
                    "than the group); choose smaller quotas",
                    key=f"levels.{self.spec.level}.consequences.{side.key}.{side.side}")
            quota_taken |= chosen
            quota_key = np.where(chosen, side.consequence, quota_key)
            outcome |= np.where(chosen, self.bits(1 << side.consequence), self.bits(0))
        for r in (rank, group_rank) + ((sub_rank,) if sub_rank is not None else ()):
            r[~finite] = np.nan
        for c, mask in self.grade_consequences.items():
            hit = (grade >= 0) & mask[np.maximum(grade, 0)]
            outcome |= np.where(hit, self.bits(1 << c), self.bits(0))
        outcome = np.where(finite, outcome, self.bits(0))
        return Decisions(rank, group_rank, sub_rank, grade, outcome)


def _limits(side: QuotaSide, groups: Groups) -> np.ndarray:
    """The quota at each position of an array sorted by group (the rows are the groups)."""
    row_of_group = np.empty(groups.n_groups, np.int64)
    row_of_group[groups.codes] = side.rows
    return np.repeat(side.quota[row_of_group], groups.sizes)


def _places(keys, side: QuotaSide, eligible: np.ndarray, tie_method: str,
            unit_order: np.ndarray) -> np.ndarray:
    """Places of units (d, n) within their quota rows (see :func:`quota_places`); eligibility
    may differ per draw."""
    d = eligible.shape[0]
    if (eligible == eligible[0]).all():
        return quota_places(keys, side, eligible[0], tie_method, unit_order)
    return np.concatenate([quota_places([k[r:r + 1] for k in keys], side, eligible[r],
                                        tie_method, unit_order) for r in range(d)])


# ---------------------------------------------------------------------- which level, which lists
def quota_level(scheme) -> str:
    """The level an analysis of lists looks at by default: the first level, in the scheme's
    order, with a top or bottom quota (the first level when none has one)."""
    for level in scheme.spec["levels"]:
        if any(isinstance(b, dict) and ("top" in b or "bottom" in b)
               for b in scheme.levels[level].consequences.values()):
            return level
    return next(iter(scheme.spec["levels"]))


def praised_and_summoned(spec, praised=None, summoned=None) -> tuple[list, list]:
    """The consequence keys an analysis counts as praised and as summoned.

    Default: the consequences given by ``top:`` quotas, and those given by ``bottom:`` quotas.

    Raises
    ------
    SchemeError
        A key the level does not have, or one counted as both.
    """
    keys = [k for k, b in spec.consequences.items() if k != "veto" and isinstance(b, dict)]
    if praised is None:
        praised = [k for k in keys if spec.consequences[k].get("top") is not None]
    if summoned is None:
        summoned = [k for k in keys if spec.consequences[k].get("bottom") is not None]
    praised = [praised] if isinstance(praised, str) else list(praised)
    summoned = [summoned] if isinstance(summoned, str) else list(summoned)
    unknown = [k for k in [*praised, *summoned] if k not in keys]
    if unknown:
        raise SchemeError(f"praised/summoned name consequence(s) {unknown} that level "
                          f"{spec.level!r} does not have; consequences: {keys}",
                          key=f"levels.{spec.level}.consequences")
    both = sorted(set(praised) & set(summoned))
    if both:
        raise SchemeError(f"consequence(s) {both} cannot count as both praised and summoned",
                          key=f"levels.{spec.level}.consequences")
    return praised, summoned
