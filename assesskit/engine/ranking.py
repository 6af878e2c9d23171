"""Ranking within groups (组内排名): the one implementation, over a leading draws axis.

A scheme ranks units (1 = best) within comparison groups. Scores are compared at a precision
of ``ties.decimals`` decimals (default 6): they are turned into integer *keys*
``rint(score * 10**decimals)``, so that 80.004 and 80.001 tie at 2 decimals. Equal totals are
separated by the scores of the ``ties.break_by`` nodes, in order (higher first), and what is
still equal is ranked by ``ties.method``:

``min``
    equal keys share the better rank: 1, 2, 2, 4 (the default; 并列取高);
``average``
    the mean of the ranks they span: 1, 2.5, 2.5, 4;
``dense``
    no gap after a tie: 1, 2, 2, 3;
``first``
    no shared rank: ties are ordered by unit id.

Every function works on arrays of shape ``(draws, units)``; :func:`evaluate` is the case of one
draw and the uncertainty analysis streams thousands through the same code. :func:`rank` is the
public helper for a pandas column.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

TIE_METHODS = ("min", "average", "dense", "first")
SCORE_DECIMALS = 6  # scores equal to this many decimals are ties unless the scheme says otherwise


@dataclass(frozen=True)
class Groups:
    """A partition of ``n`` units into groups, laid out for sorting by group.

    Parameters
    ----------
    codes : ndarray of int, shape (n,)
        Group number of each unit, ``0 .. n_groups - 1``.
    labels : tuple of str
        Label of each group number.

    Attributes
    ----------
    sizes : ndarray, shape (n_groups,)
    start, end : ndarray, shape (n,)
        In an array sorted by group, the first and one-past-last position of the group that
        occupies each position.
    unit_size : ndarray, shape (n,)
        Size of each unit's group.
    """

    codes: np.ndarray
    labels: tuple

    @classmethod
    def from_labels(cls, labels) -> Groups:
        """Groups from one label per unit (compared as text; groups sorted by label)."""
        text = np.asarray(labels, dtype=object).astype(str)
        names, codes = np.unique(text, return_inverse=True)
        return cls(codes.astype(np.int64).reshape(-1), tuple(names.tolist()))

    @classmethod
    def pooled(cls, n: int) -> Groups:
        """One group holding all ``n`` units."""
        return cls(np.zeros(n, np.int64), ("",))

    @property
    def n(self) -> int:
        return len(self.codes)

    @property
    def n_groups(self) -> int:
        return len(self.labels)

    @cached_property
    def sizes(self) -> np.ndarray:
        return np.bincount(self.codes, minlength=self.n_groups)

    @cached_property
    def unit_size(self) -> np.ndarray:
        return self.sizes[self.codes]

    @cached_property
    def start(self) -> np.ndarray:
        sizes = self.sizes
        return np.repeat(np.concatenate([[0], np.cumsum(sizes)[:-1]]), sizes)

    @cached_property
    def end(self) -> np.ndarray:
        sizes = self.sizes
        return np.repeat(np.cumsum(sizes), sizes)

    def same_partition(self, other: Groups) -> bool:
        """Whether both put the same units together (labels aside)."""
        pairs = np.unique(np.stack([self.codes, other.codes]), axis=1).shape[1]
        return pairs == self.n_groups == other.n_groups


def score_keys(scores: np.ndarray, decimals: int = SCORE_DECIMALS) -> np.ndarray:
    """Integer keys of scores at the ranking precision: ``rint(score * 10**decimals)``.

    Missing scores (NaN) get a key below every other (they rank last; the engine never gives
    them a consequence).
    """
    y = np.rint(np.asarray(scores, dtype=float) * 10.0 ** int(decimals))
    bad = ~np.isfinite(y)
    if bad.any():
        low = np.min(y[~bad]) if (~bad).any() else 0.0
        y = np.where(bad, low - 1.0, y)
    return y.astype(np.int64)


def id_order(ids) -> np.ndarray:
    """Position of each unit when the unit ids are sorted as text (the order of ``first``)."""
    text = np.asarray(ids, dtype=object).astype(str)
    out = np.empty(len(text), np.int64)
    out[np.argsort(text, kind="stable")] = np.arange(len(text))
    return out


def _sorted_runs(keys: list[np.ndarray], groups: Groups, by_id: np.ndarray | None):
    """Sort each draw by (group, keys descending[, unit id]); return the order and run starts.

    Returns ``order`` (d, n): unit at each sorted position, and ``new`` (d, n): the position
    starts a new run of equal (group, keys). One sort per call: the group code, the keys and the unit are packed into one integer when
    they fit in 62 bits (int32 when they fit in 31); otherwise a lexicographic sort.
    """
    d, n = keys[0].shape
    comps = []
    for k in keys:
        lo, hi = int(k.min()), int(k.max())
        comps.append((hi - k, hi - lo + 1))  # descending: the best key becomes 0
    key_bits = math.log2(max(groups.n_groups, 1)) + sum(math.log2(r) for _, r in comps)
    index_bits = max(1, math.ceil(math.log2(max(n, 2))))
    if key_bits + index_bits < 62:
        dtype = np.int32 if key_bits + index_bits < 31 else np.int64
        packed = np.broadcast_to(groups.codes.astype(dtype), (d, n)).copy()
        for c, r in comps:
            packed *= dtype(r)
            packed += c.astype(dtype, copy=False)
        low = by_id if by_id is not None else np.arange(n)
        packed <<= dtype(index_bits)
        packed |= low.astype(dtype)
        packed.sort(axis=1)
        order = packed & dtype((1 << index_bits) - 1)
        if by_id is not None:
            order = np.argsort(by_id)[order]
        head = packed >> dtype(index_bits)
        new = np.ones((d, n), bool)
        new[:, 1:] = head[:, 1:] != head[:, :-1]
        return order.astype(np.intp), new
    lex = [np.broadcast_to(by_id, (d, n))] if by_id is not None else []
    lex += [c for c, _ in reversed(comps)] + [np.broadcast_to(groups.codes, (d, n))]
    order = np.lexsort(lex, axis=-1)
    new = np.zeros((d, n), bool)
    new[:, 0] = True
    for i, arr in enumerate(lex):
        if by_id is not None and i == 0:
            continue  # the unit id never separates a run of equal keys
        srt = np.take_along_axis(np.asarray(arr), order, axis=1)
        new[:, 1:] |= srt[:, 1:] != srt[:, :-1]
    return order, new


class SortedRanks:
    """Draws × units sorted by group and key, with the ranks and places in that order.

    Built by :func:`sorted_ranks`. ``order[r, p]`` is the unit at sorted position ``p`` of draw
    ``r``; ``ranked``, ``top`` and ``bottom`` hold, in sorted order, the rank shown (tie
    method), the place from the top and the place from the bottom (ties share the better /
    worse place; strict under ``first``). Work that only needs counts per unit (histograms,
    sums) or a selection per group can stay in sorted order; :meth:`scatter` puts a sorted
    array back at the units' positions.
    """

    def __init__(self, order, new, groups: Groups, method: str):
        self.order, self.new, self.groups, self.method = order, new, groups, method
        d, n = order.shape
        self.shape = (d, n)
        self.idx = np.int32 if n < 2**31 - 1 else np.int64  # half the traffic of int64
        self.pos = np.arange(n, dtype=self.idx)
        self.start = groups.start.astype(self.idx)
        self._flat = None
        self._run_start = None
        self._run_end = None

    @property
    def flat(self) -> np.ndarray:
        """Flat index (into a (d, n) array) of each sorted entry."""
        if self._flat is None:
            d, n = self.shape
            self._flat = (self.order + (np.arange(d) * n)[:, None]).ravel()
        return self._flat

    def _starts(self):
        if self._run_start is None:
            self._run_start = np.maximum.accumulate(np.where(self.new, self.pos, self.idx(0)),
                                                    axis=1)
        return self._run_start

    def _ends(self):  # last position of each run of equal keys
        if self._run_end is None:
            d, n = self.shape
            last = np.ones((d, n), bool)
            last[:, :-1] = self.new[:, 1:]
            self._run_end = np.minimum.accumulate(
                np.where(last, self.pos, self.idx(n))[:, ::-1], axis=1)[:, ::-1]
        return self._run_end

    @property
    def top(self) -> np.ndarray:
        """Place from the top in sorted order: 1 + members ranked strictly better."""
        if self.method == "first":  # the same in every draw
            return np.broadcast_to(self.pos - self.start + 1, self.shape)
        return self._starts() - self.start + 1

    @property
    def bottom(self) -> np.ndarray:
        """Place from the bottom in sorted order: 1 + members ranked strictly worse."""
        end = self.groups.end.astype(self.idx)
        if self.method == "first":
            return np.broadcast_to(end - self.pos, self.shape)
        return end - self._ends()

    @property
    def ranked(self) -> np.ndarray:
        """The rank shown, in sorted order (``min``, ``average``, ``dense`` or ``first``)."""
        if self.method in ("min", "first"):
            return self.top
        if self.method == "average":
            return (self._starts() + self._ends()) / 2.0 - self.start + 1
        cs = np.cumsum(self.new, axis=1, dtype=self.idx)  # dense: distinct keys before
        return cs - cs[:, self.groups.start] + 1

    def scatter(self, values: np.ndarray, dtype=float) -> np.ndarray:
        """Values (d, n) given in sorted order, put back at the units' positions."""
        out = np.empty(self.shape[0] * self.shape[1], dtype=dtype)
        out[self.flat] = np.broadcast_to(values, self.shape).ravel()
        return out.reshape(self.shape)


def sorted_ranks(keys, groups: Groups, method: str = "min", unit_order=None) -> SortedRanks:
    """Sort draws × units by group and keys (higher first) once: see :class:`SortedRanks`.

    Parameters as :func:`ranks_within`.
    """
    if method not in TIE_METHODS:
        raise ValueError(f"tie method must be one of {TIE_METHODS}, not {method!r}")
    keys = [np.atleast_2d(np.asarray(k, dtype=np.int64)) for k in
            (keys if isinstance(keys, list | tuple) else [keys])]
    d = max(k.shape[0] for k in keys)
    keys = [np.broadcast_to(k, (d, k.shape[1])) for k in keys]
    n = keys[0].shape[1]
    by_id = None
    if method == "first":
        by_id = np.arange(n) if unit_order is None else np.asarray(unit_order, np.int64)
    order, new = _sorted_runs(keys, groups, by_id)
    return SortedRanks(order, new, groups, method)


def ranks_within(keys, groups: Groups, method: str = "min", unit_order=None,
                 bottom: bool = False, places: bool = False):
    """Ranks (1 = best) within groups, for draws × units, higher keys first.

    Parameters
    ----------
    keys : ndarray or list of ndarray, each of shape (d, n) or (n,)
        Integer keys, most significant first (the rounded total, then the ``break_by`` nodes;
        see :func:`score_keys`).
    groups : Groups
        The comparison groups.
    method : {"min", "average", "dense", "first"}
        Tie rule (see the module notes).
    unit_order : ndarray of int, shape (n,), optional
        Order of the units for ``first`` (the caller passes ``id_order(unit_ids)``; default the
        positions).
    bottom : bool
        Also return the place of each unit counted from the bottom: ``1 +`` the number of group
        members ranked strictly worse (ties share the worse place), or the strict reverse order
        under ``first``. This is how bottom quotas count.
    places : bool
        Return ``(ranks, top places, bottom places)``: the top place is ``1 +`` the number of
        members ranked strictly better (ties share the better place, whatever ``method`` shows),
        or the strict order under ``first``. This is how top quotas count.

    Returns
    -------
    ndarray (d, n) of float, or a tuple of them.

    Examples
    --------
    >>> g = Groups.pooled(4)
    >>> ranks_within(np.array([90, 80, 80, 70]), g, "min").tolist()
    [[1.0, 2.0, 2.0, 4.0]]
    >>> ranks_within(np.array([90, 80, 80, 70]), g, "average").tolist()
    [[1.0, 2.5, 2.5, 4.0]]
    >>> [p.tolist() for p in ranks_within(np.array([90, 80, 80, 70]), g, "dense", places=True)]
    [[[1.0, 2.0, 2.0, 3.0]], [[1.0, 2.0, 2.0, 4.0]], [[4.0, 2.0, 2.0, 1.0]]]
    """
    s = sorted_ranks(keys, groups, method, unit_order)
    out = s.scatter(s.ranked)
    if not (bottom or places):
        return out
    below = s.scatter(s.bottom)
    if places:
        top = out if method in ("min", "first") else s.scatter(s.top)
        return out, top, below
    return out, below


def rank(scores: pd.Series, groups: pd.Series | None = None, ties: dict | None = None,
         tiebreak: pd.DataFrame | None = None, ids: pd.Series | None = None) -> pd.Series:
    """Rank a score column (1 = best) with a scheme's tie rule: the public ranking helper.

    Parameters
    ----------
    scores : pandas.Series
        Scores (higher is better).
    groups : pandas.Series, optional
        Comparison group of each row (default: rank all rows together).
    ties : dict, optional
        The scheme's ``ranking.ties`` (``method``, ``decimals``, ``break_by``); e.g.
        ``scheme.levels["county"].ranking.get("ties", {})``.
    tiebreak : pandas.DataFrame, optional
        Columns named by ``ties["break_by"]``, aligned with ``scores``.
    ids : pandas.Series, optional
        Unit ids that order ties under ``method: first`` (default the index as text).

    Returns
    -------
    pandas.Series of float, same index as ``scores``.

    Examples
    --------
    >>> rank(pd.Series([90, 80.004, 80.001, 70]), ties={"decimals": 2}).tolist()
    [1.0, 2.0, 2.0, 4.0]
    >>> rank(pd.Series([3, 1, 2, 5]), pd.Series(["a", "a", "b", "b"])).tolist()
    [1.0, 2.0, 2.0, 1.0]
    """
    ties = dict(ties or {})
    decimals = int(ties.get("decimals", SCORE_DECIMALS))
    keys = [score_keys(scores.to_numpy(dtype=float), decimals)]
    for node in ties.get("break_by") or []:
        if tiebreak is None or node not in tiebreak.columns:
            raise KeyError(f"ties.break_by names {node!r}: pass its scores in tiebreak")
        keys.append(score_keys(tiebreak[node].to_numpy(dtype=float), decimals))
    grouping = Groups.pooled(len(scores)) if groups is None else Groups.from_labels(groups)
    unit_ids = scores.index.astype(str) if ids is None else ids.astype(str)
    out = ranks_within(keys, grouping, ties.get("method", "min"), id_order(unit_ids))[0]
    return pd.Series(out, index=scores.index, name="rank")
